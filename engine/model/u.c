/* u, the level probabilities among non-matches: exact levels from value
 * frequencies (no sampling: exact and cheap), the other levels from random
 * record pairs drawn with a counter-based RNG.
 *
 * DESIGN (sampling)
 *   Pair i is a pure function of (seed, i): a = h(seed, 0, i) mod na, and b
 *   drawn the same way from stream 1 (dedupe: from na - 1 values, skipping
 *   a, so a != b). Pairs are drawn directly, never as all pairs within a
 *   record sample, so they are independent. Work goes in chunks of
 *   `chunk` pairs; a round runs up to 64 chunks in parallel, each with its
 *   own counts, then the counts are added in chunk order and the stop rule
 *   (every level not skipped has min_obs observations) is checked after
 *   each chunk. The first chunk that satisfies it ends the sample and later
 *   chunks of the round are dropped, so the pairs and counts are the same
 *   at any thread count. */
#include <string.h>

#include "common/common_internal.h"
#include "common/rng.h"
#include "model/model.h"

double tsr__u_exact_dedupe(const uint64_t *f, uint64_t nvalues) {
  double n = 0.0, s = 0.0;
  for (uint64_t v = 0; v < nvalues; v++) {
    n += (double)f[v];
    s += (double)f[v] * ((double)f[v] - 1.0);
  }
  return n >= 2.0 ? s / (n * (n - 1.0)) : 0.0;
}

double tsr__u_exact_link(const uint64_t *fa, const uint64_t *fb, uint64_t nvalues) {
  double na = 0.0, nb = 0.0, s = 0.0;
  for (uint64_t v = 0; v < nvalues; v++) {
    na += (double)fa[v];
    nb += (double)fb[v];
    s += (double)fa[v] * (double)fb[v];
  }
  return na > 0.0 && nb > 0.0 ? s / (na * nb) : 0.0;
}

void tsr__u_opts_init(tsr__u_opts *o) {
  memset(o, 0, sizeof *o);
  o->min_obs = 100;
  o->max_pairs = 10000000;
  o->chunk = 65536;
}

void tsr__u_pair(const tsr__u_opts *o, uint64_t i, uint64_t *a, uint64_t *b) {
  tsr__rng r;
  tsr__rng_init(&r, o->seed, 0x75, i);
  *a = tsr__rng_below(&r, o->na);
  if (o->nb) {
    *b = tsr__rng_below(&r, o->nb);
  } else {
    uint64_t x = tsr__rng_below(&r, o->na - 1);
    *b = x >= *a ? x + 1 : x;
  }
}

typedef uint64_t counts_t[TSR__MODEL_MAX_K][TSR__MODEL_MAX_L];

static int enough(const tsr__model *md, const tsr__u_opts *o, const counts_t c) {
  for (uint32_t k = 0; k < md->k; k++)
    for (uint32_t l = 1; l < md->nlev[k]; l++)
      if (!(o->skip[k] >> l & 1) && c[k][l] < o->min_obs) return 0;
  return 1;
}

#define ROUND_CHUNKS 64

int tsr__u_sample(tsr__model *md, const tsr__u_opts *o, tsr__pair_levels_fn fn, void *ctx, tsr__u_result *res,
                  tsr_error *err) {
  memset(res, 0, sizeof *res);
  TSR_RETURN_IF(o->nb ? o->na == 0 : o->na < 2, err, TSR_EINVAL, "u sampling needs two records to pair");
  TSR_RETURN_IF(!o->chunk || !o->max_pairs, err, TSR_EINVAL, "u sampling needs a chunk size and a cap above 0");
  counts_t *part = tsr__malloc(ROUND_CHUNKS * sizeof *part);
  TSR_RETURN_IF(!part, err, TSR_ENOMEM, "u sampling: no memory for the per-chunk counts");
  int threads = tsr__threads(o->threads);
  uint64_t next = 0; /* first pair of the round */
  int rc = 0, done = 0;
  while (!done && next < o->max_pairs) {
    uint64_t left = o->max_pairs - next;
    uint64_t nch = (left + o->chunk - 1) / o->chunk;
    int nc = nch > ROUND_CHUNKS ? ROUND_CHUNKS : (int)nch;
    memset(part, 0, (size_t)nc * sizeof *part);
    int fail = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int c = 0; c < nc; c++) {
      uint64_t lo = next + (uint64_t)c * o->chunk, hi = lo + o->chunk;
      if (hi > o->max_pairs) hi = o->max_pairs;
      uint8_t lev[TSR__MODEL_MAX_K];
      for (uint64_t i = lo; i < hi; i++) {
        uint64_t a, b;
        tsr__u_pair(o, i, &a, &b);
        int e = fn(ctx, a, b, lev);
        if (e < 0) {
#pragma omp atomic write
          fail = e;
          break;
        }
        for (uint32_t k = 0; k < md->k && !e; k++)
          if (lev[k] >= md->nlev[k]) e = TSR_EINTERNAL; /* a level the model does not have */
        if (e < 0) {
#pragma omp atomic write
          fail = e;
          break;
        }
        for (uint32_t k = 0; k < md->k; k++) part[c][k][lev[k]]++;
      }
    }
    if (fail < 0) {
      rc = tsr_error_set(err, fail, NULL, 0, 0, "u sampling: the level function failed (%s)", tsr_strerror(fail));
      break;
    }
    for (int c = 0; c < nc && !done; c++) {
      for (uint32_t k = 0; k < md->k; k++)
        for (uint32_t l = 0; l < md->nlev[k]; l++) res->count[k][l] += part[c][k][l];
      uint64_t hi = next + (uint64_t)(c + 1) * o->chunk;
      res->pairs = hi < o->max_pairs ? hi : o->max_pairs;
      done = enough(md, o, (const uint64_t(*)[TSR__MODEL_MAX_L])res->count);
    }
    next += (uint64_t)nc * o->chunk;
  }
  tsr__free(part);
  if (rc < 0) return rc;
  res->enough = done;
  for (uint32_t k = 0; k < md->k; k++) {
    uint64_t nn = 0;
    for (uint32_t l = 1; l < md->nlev[k]; l++) nn += res->count[k][l];
    md->u[k][0] = 0.0;
    for (uint32_t l = 1; l < md->nlev[k]; l++) md->u[k][l] = nn ? (double)res->count[k][l] / (double)nn : 0.0;
  }
  return 0;
}

void tsr__u_set_exact(tsr__model *md, uint32_t k, uint32_t level, double u_exact) {
  double rest = 0.0;
  for (uint32_t l = 1; l < md->nlev[k]; l++)
    if (l != level) rest += md->u[k][l];
  double scale = rest > 0.0 ? (1.0 - u_exact) / rest : 0.0;
  for (uint32_t l = 1; l < md->nlev[k]; l++)
    if (l != level) md->u[k][l] *= scale;
  md->u[k][level] = u_exact;
}
