/* The probabilistic stage of a run: Fellegi-Sunter scoring of the candidate
 * pairs of the blocking rules, after the deterministic steps (hybrid), and
 * the clusters its links make. Reads the "probabilistic" config section
 * (tessera/config.h tsr_prob_cfg); docs/design/probabilistic.md has the
 * walk-through and the measured figures.
 *
 * DESIGN
 *   specs     config comparisons -> compare specs (columns per source)
 *   u         random record pairs, seeded (model/u.c), levels smoothed
 *   train     per training rule, a seeded sample of ALL its pairs, counted
 *             by agreement pattern (per thread, merged sorted), then EM with
 *             the rule's own comparisons left out (model/em.c)
 *   tf        per comparison with tf: each record's value frequency (the
 *             block stage's grouping, so no new hash table) -> a per-record
 *             adjustment of the exact level, quantised to 2^-16 bit
 *   score     blocking rules, first-rule-wins, per-thread batches:
 *               drop pairs inside one deterministic cluster (and, without
 *               join_clusters, pairs of two deterministic clusters);
 *               pre-collapse: every record has a signature of its compared
 *               values; records identical on all of them (a patient's
 *               hospital episodes) share one. A pair with such a record on
 *               either side takes the pattern of the last pair with the
 *               same two signatures (per-thread table): (episode 2, GP
 *               record) reuses (episode 1, GP record); the rest go to
 *               tsr__score_batch;
 *               S = sum of level weights + tf, in comparison order;
 *               patterns counted per emitting rule (lambda), levels and a
 *               weight histogram counted, pairs with S above a bound kept
 *   lambda    EM's expected matches over the scored pairs (or
 *             deterministic links / assumed recall), prior = log2(l/(1-l))
 *   pairs     W = prior + S >= floor, radix-sorted by (a, b)
 *   cluster   edges W >= threshold, heaviest first (ties by (a, b)), one
 *             thread: union-find on top of the steps' clusters, refusing an
 *             edge that would join two different valid NHS numbers (veto),
 *             two sources' records twice (one_to_one), two deterministic
 *             clusters (join_clusters off), or pass max_cluster_size
 *             (split_clusters): Kruskal's order, so a refused edge is
 *             always weaker than every edge that shaped the clusters
 *   Every count is a sum of per-thread counts, every list is sorted before
 *   use, so the result does not depend on the thread count. */
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "block/block.h"
#include "cluster/cluster.h"
#include "common/common_internal.h"
#include "compare/score.h"
#include "model/model.h"
#include "model/model_json.h"
#include "run/run_internal.h"

#define HIST_RES 16     /* weight histogram bins per bit */
#define HIST_LO (-128)  /* bits */
#define HIST_N (256 * HIST_RES)
#define MEMO_BITS 12    /* pre-collapse table per thread */
#define WATERFALL TSR__PROB_FALL

/* --- small helpers ------------------------------------------------------------------ */

static uint32_t cmp_fields_mask(const tsr_prob_cfg *pc, const tsr_rule_cfg *r) {
  uint32_t m = 0;
  for (uint32_t k = 0; k < pc->n_cmp; k++)
    for (uint32_t i = 0; i < r->n_parts; i++) {
      const char *f = r->parts[i].field;
      if (strcmp(f, pc->cmp[k].field) == 0 || (pc->cmp[k].field2 && strcmp(f, pc->cmp[k].field2) == 0))
        m |= 1u << k;
    }
  return m;
}

static double qf16(double x) { return nearbyint(x * 65536.0) / 65536.0; }

/* LSD radix sort of keys[n] carrying idx[n] (16-bit digits); tmp arrays of n. */
static void radix_sort(uint64_t *keys, uint32_t *idx, uint64_t *tk, uint32_t *ti, uint64_t n, int digits) {
  uint64_t *cnt = tsr__calloc(65536, sizeof *cnt);
  if (!cnt) return; /* caller checked memory before; a failed calloc leaves the order unsorted */
  for (int d = 0; d < digits; d++) {
    const int sh = 16 * d;
    memset(cnt, 0, 65536 * sizeof *cnt);
    for (uint64_t i = 0; i < n; i++) cnt[(keys[i] >> sh) & 0xffff]++;
    uint64_t s = 0;
    for (uint32_t j = 0; j < 65536; j++) {
      uint64_t c = cnt[j];
      cnt[j] = s;
      s += c;
    }
    for (uint64_t i = 0; i < n; i++) {
      uint64_t p = cnt[(keys[i] >> sh) & 0xffff]++;
      tk[p] = keys[i];
      ti[p] = idx[i];
    }
    memcpy(keys, tk, n * sizeof *keys);
    memcpy(idx, ti, n * sizeof *idx);
  }
  tsr__free(cnt);
}

/* --- the per-record inputs: signatures and tf values ------------------------------- */

static uint64_t value_hash(const tsr__scorer *sc, uint32_t k, uint32_t s, uint32_t r, uint64_t h) {
  const tsr__cmp_spec *sp = &sc->cmp[k];
  const tsr_column *cols[2] = {sp->col[s], sp->col2[s]};
  for (int j = 0; j < 2; j++) {
    const tsr_column *c = cols[j];
    if (!c) {
      h = XXH3_64bits_withSeed("", 0, h ^ 0x9e3779b97f4a7c15ull);
      continue;
    }
    switch (c->kind) {
    case TSR_KIND_GIVEN_NAME:
    case TSR_KIND_FAMILY_NAME:
    case TSR_KIND_LOCAL_ID:
    case TSR_KIND_TEXT: {
      uint32_t o = c->str_off[r];
      h = XXH3_64bits_withSeed(c->str + o, c->str_off[r + 1] - o, h);
      break;
    }
    case TSR_KIND_DATE: h = XXH3_64bits_withSeed(&c->i32[r], 4, h); break;
    case TSR_KIND_POSTCODE:
    case TSR_KIND_NHS_NUMBER: h = XXH3_64bits_withSeed(&c->u64[r], 8, h); break;
    case TSR_KIND_SEX: h = XXH3_64bits_withSeed(&c->u8[r], 1, h); break;
    case TSR_KIND_CODE: {
      uint32_t id = c->code16 ? c->code16[r] : c->code32[r];
      h = XXH3_64bits_withSeed(&id, 4, h);
      break;
    }
    default: break;
    }
  }
  return h;
}

/* The value a tf comparison's exact level agrees on, as a non-zero hash (0:
 * missing). */
static uint64_t tf_value(const tsr__scorer *sc, uint32_t k, uint32_t s, uint32_t r) {
  const tsr__cmp_spec *sp = &sc->cmp[k];
  const tsr_column *c = sp->col[s];
  if (!c) return 0;
  uint64_t v = 0;
  switch (sp->kind) {
  case TSR__CMP_NAME: v = c->hash ? c->hash[r] : 0; break;
  case TSR__CMP_FULLNAME: {
    const tsr_column *f = sp->col2[s];
    uint64_t g = c->hash ? c->hash[r] : 0, h = f && f->hash ? f->hash[r] : 0;
    if (!g || !h) return 0;
    uint64_t two[2] = {g, h};
    v = XXH3_64bits(two, sizeof two);
    break;
  }
  case TSR__CMP_POSTCODE: v = c->u64[r]; break;
  case TSR__CMP_TEXT: {
    uint32_t o = c->str_off[r], n = c->str_off[r + 1] - o;
    v = n ? XXH3_64bits(c->str + o, n) : 0;
    break;
  }
  case TSR__CMP_CODE: {
    uint32_t id = c->code16 ? c->code16[r] : c->code32[r];
    if (!id) return 0;
    v = XXH3_64bits(c->dict + c->dict_off[id - 1], c->dict_off[id] - c->dict_off[id - 1]);
    break;
  }
  default: return 0;
  }
  return v ? v : 1;
}

/* --- the stage's state ---------------------------------------------------------------- */

typedef struct pthread_st {
  tsr__score_thread *st;
  tsr__pair_batch *sub, *misses;
  uint32_t *pat, *pat2, *miss;
  uint8_t *hit;
  tsr__pcount *pc; /* per rule */
  uint64_t lev[TSR__MODEL_MAX_K][TSR__MODEL_MAX_L];
  uint64_t *hist;
  /* kept pairs */
  uint32_t *ka, *kb, *kpat;
  uint16_t *krule;
  double *ks;
  uint64_t kn, kcap;
  /* pre-collapse memo */
  uint64_t *mk1, *mk2;
  uint32_t *mpat;
  uint64_t scored, collapsed, same_cluster, two_clusters;
  int rc;
} pthread_st;

typedef struct stage {
  tsr_linkage *L;
  const tsr_prob_cfg *pc;
  const tsr__recset *rs;
  tsr__scorer sc;
  tsr__wtable wt; /* prior 0 */
  uint32_t *parent;
  const uint8_t *step;
  uint64_t *sig;       /* per gid; 0 = not collapsible */
  float *tfadj[TSR__MODEL_MAX_K];
  double s_min;        /* keep pairs with S >= s_min */
  int training;
  int nthreads;
  uint32_t nrule_slots;
  pthread_st *th;
} stage;

static int kept_push(pthread_st *t, uint32_t a, uint32_t b, uint16_t rule, uint32_t pat, double s) {
  if (t->kn == t->kcap) {
    uint64_t nc = t->kcap ? t->kcap * 2 : 65536;
    uint32_t *na = tsr__realloc(t->ka, nc * 4), *nb = na ? tsr__realloc(t->kb, nc * 4) : NULL;
    if (na) t->ka = na;
    if (nb) t->kb = nb;
    uint32_t *np = nb ? tsr__realloc(t->kpat, nc * 4) : NULL;
    if (np) t->kpat = np;
    uint16_t *nr = np ? tsr__realloc(t->krule, nc * 2) : NULL;
    if (nr) t->krule = nr;
    double *ns = nr ? tsr__realloc(t->ks, nc * 8) : NULL;
    if (!ns) return TSR_ENOMEM;
    t->ks = ns;
    t->kcap = nc;
  }
  t->ka[t->kn] = a, t->kb[t->kn] = b, t->krule[t->kn] = rule, t->kpat[t->kn] = pat, t->ks[t->kn] = s;
  t->kn++;
  return 0;
}

static inline double pair_s(const stage *S, uint32_t pat, uint32_t a, uint32_t b) {
  double s = tsr__wtable_score(&S->wt, pat);
  for (uint32_t k = 0; k < S->sc.k; k++) {
    const float *t = S->tfadj[k];
    if (t && ((pat >> S->sc.shift[k]) & ((1u << S->sc.bits[k]) - 1u)) == 1u) {
      (void)b;
      s += (double)t[a];
    }
  }
  return s;
}

static void on_batch(void *ctx, int thread, const tsr__pair_batch *b) {
  stage *S = ctx;
  pthread_st *t = &S->th[thread];
  if (t->rc) return;
  tsr__pair_batch *sub = t->sub;
  const uint32_t n = b->n;
  sub->n = 0;
  /* which pairs need scoring */
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t a = b->a[i], c = b->b[i];
    if (!S->training) {
      /* the roots of pairs a few ahead: the loads below are random over
       * all records (at 10M patients most candidates end here) */
      if (i + 16 < n) {
        __builtin_prefetch(&S->parent[b->a[i + 16]]);
        __builtin_prefetch(&S->parent[b->b[i + 16]]);
      }
      /* parent[] is flat while scoring (score_all): one load a record */
      if (S->parent[a] == S->parent[c]) {
        t->same_cluster++;
        continue;
      }
      if (!S->pc->join_clusters && S->step[a] && S->step[c]) {
        t->two_clusters++;
        continue;
      }
    }
    sub->a[sub->n] = a;
    sub->b[sub->n] = c;
    sub->rule[sub->n] = b->rule[i];
    sub->n++;
  }
  if (!sub->n) return;
  /* pre-collapse: look up pairs of two collapsible records */
  const uint32_t mmask = (1u << MEMO_BITS) - 1u;
  uint32_t m = sub->n;
  uint8_t *hit = t->hit;
  uint32_t hitn = 0;
  if (!S->training && S->sig) {
    for (uint32_t i = 0; i < m; i++) {
      hit[i] = 0;
      uint64_t x = S->sig[sub->a[i]], y = S->sig[sub->b[i]];
      if (!x || !y || !((x | y) & 1)) continue;
      if (x > y) {
        uint64_t z = x;
        x = y;
        y = z;
      }
      uint32_t slot = (uint32_t)((x * 0x9e3779b97f4a7c15ull ^ y) >> (64 - MEMO_BITS)) & mmask;
      if (t->mk1[slot] == x && t->mk2[slot] == y) {
        t->pat[i] = t->mpat[slot];
        hit[i] = 1;
        hitn++;
      }
    }
  } else {
    memset(hit, 0, m);
  }
  /* score the misses: a compacted copy when some pairs were found in the memo */
  uint32_t nm = 0;
  if (hitn == m) {
    nm = 0;
  } else if (hitn == 0) {
    tsr__score_batch(&S->sc, t->st, sub, t->pat);
    nm = m;
  } else {
    tsr__pair_batch *mb = t->misses;
    for (uint32_t i = 0; i < m; i++)
      if (!hit[i]) {
        t->miss[nm] = i;
        mb->a[nm] = sub->a[i], mb->b[nm] = sub->b[i], mb->rule[nm] = sub->rule[i];
        nm++;
      }
    mb->n = nm;
    tsr__score_batch(&S->sc, t->st, mb, t->pat2);
    for (uint32_t j = 0; j < nm; j++) t->pat[t->miss[j]] = t->pat2[j];
  }
  t->scored += nm;
  t->collapsed += m - nm;
  for (uint32_t i = 0; i < m; i++) {
    const uint32_t pat = t->pat[i];
    if (!hit[i] && !S->training && S->sig) {
      uint64_t x = S->sig[sub->a[i]], y = S->sig[sub->b[i]];
      if (x && y && ((x | y) & 1)) {
        if (x > y) {
          uint64_t z = x;
          x = y;
          y = z;
        }
        uint32_t slot = (uint32_t)((x * 0x9e3779b97f4a7c15ull ^ y) >> (64 - MEMO_BITS)) & mmask;
        t->mk1[slot] = x, t->mk2[slot] = y, t->mpat[slot] = pat;
      }
    }
    if (tsr__pcount_add(&t->pc[sub->rule[i]], pat, 1) != 0) {
      t->rc = TSR_ENOMEM;
      return;
    }
    if (S->training) continue;
    for (uint32_t k = 0; k < S->sc.k; k++) t->lev[k][(pat >> S->sc.shift[k]) & ((1u << S->sc.bits[k]) - 1u)]++;
    const double s = pair_s(S, pat, sub->a[i], sub->b[i]);
    double hb = floor((s - HIST_LO) * HIST_RES);
    int64_t h = hb < 0 ? 0 : hb >= HIST_N ? HIST_N - 1 : (int64_t)hb;
    t->hist[h]++;
    if (s >= S->s_min && kept_push(t, sub->a[i], sub->b[i], sub->rule[i], pat, s) != 0) {
      t->rc = TSR_ENOMEM;
      return;
    }
  }
}

static void threads_free(stage *S) {
  if (!S->th) return;
  for (int i = 0; i < S->nthreads; i++) {
    pthread_st *t = &S->th[i];
    tsr__score_thread_free(t->st);
    tsr__free(t->sub);
    tsr__free(t->misses);
    tsr__free(t->pat);
    tsr__free(t->pat2);
    tsr__free(t->miss);
    tsr__free(t->hit);
    if (t->pc)
      for (uint32_t r = 0; r < S->nrule_slots; r++) tsr__pcount_free(&t->pc[r]);
    tsr__free(t->pc);
    tsr__free(t->hist);
    tsr__free(t->ka);
    tsr__free(t->kb);
    tsr__free(t->kpat);
    tsr__free(t->krule);
    tsr__free(t->ks);
    tsr__free(t->mk1);
    tsr__free(t->mk2);
    tsr__free(t->mpat);
  }
  tsr__free(S->th);
  S->th = NULL;
}

static int threads_make(stage *S, uint32_t nrules, tsr_error *err) {
  threads_free(S);
  S->nrule_slots = nrules;
  S->th = tsr__calloc((size_t)S->nthreads, sizeof *S->th);
  if (!S->th) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  for (int i = 0; i < S->nthreads; i++) {
    pthread_st *t = &S->th[i];
    t->sub = tsr__malloc(sizeof *t->sub);
    t->misses = tsr__malloc(sizeof *t->misses);
    t->pat = tsr__malloc(sizeof(uint32_t) * TSR__PAIR_BATCH_CAP);
    t->pat2 = tsr__malloc(sizeof(uint32_t) * TSR__PAIR_BATCH_CAP);
    t->miss = tsr__malloc(sizeof(uint32_t) * TSR__PAIR_BATCH_CAP);
    t->hit = tsr__malloc(TSR__PAIR_BATCH_CAP);
    t->pc = tsr__calloc(nrules, sizeof *t->pc);
    t->hist = tsr__calloc(HIST_N, sizeof *t->hist);
    t->mk1 = tsr__calloc((size_t)1 << MEMO_BITS, 8);
    t->mk2 = tsr__calloc((size_t)1 << MEMO_BITS, 8);
    t->mpat = tsr__calloc((size_t)1 << MEMO_BITS, 4);
    int bad = !t->sub || !t->misses || !t->pat || !t->pat2 || !t->miss || !t->hit || !t->pc || !t->hist || !t->mk1 ||
              !t->mk2 || !t->mpat;
    for (uint32_t r = 0; r < nrules && !bad; r++) bad = tsr__pcount_init(&t->pc[r], 1024) != 0;
    if (!bad) bad = tsr__score_thread_create(&S->sc, &t->st) != 0;
    if (bad) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  }
  return 0;
}

/* Merges every thread's counts of rule r into out. */
static int merge_counts(stage *S, uint32_t r, tsr__patterns *out, tsr_error *err) {
  const tsr__pcount **parts = tsr__malloc(sizeof *parts * (size_t)S->nthreads);
  if (!parts) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  uint32_t np = 0;
  for (int i = 0; i < S->nthreads; i++) parts[np++] = &S->th[i].pc[r];
  int rc = tsr__pcount_merge(parts, np, out);
  tsr__free(parts);
  if (rc) return tsr_error_set(err, rc, NULL, 0, 0, "out of memory merging pattern counts");
  return 0;
}

/* --- u ---------------------------------------------------------------------------------- */

typedef struct u_ctx {
  stage *S;
  uint64_t off_a, off_b;
  tsr__score_thread **st;
} u_ctx;

static int u_levels(void *ctx, uint64_t a, uint64_t b, uint8_t *levels) {
  u_ctx *u = ctx;
  int t = omp_get_thread_num();
  tsr__score_pair(&u->S->sc, u->st[t], a + u->off_a, b + u->off_b, levels);
  return 0;
}

static int estimate_u(stage *S, tsr__prob *P, tsr_error *err) {
  const tsr_config *cfg = S->L->cfg;
  const tsr__recset *rs = S->rs;
  tsr__u_opts uo;
  tsr__u_opts_init(&uo);
  uo.seed = S->pc->seed;
  uo.max_pairs = S->pc->u_max_pairs;
  uo.min_obs = S->pc->u_min_obs;
  uo.threads = S->nthreads;
  u_ctx uc = {S, 0, 0, NULL};
  /* link with two sources taking part: one from each; otherwise any two records */
  int srcs[2], ns = 0;
  for (uint32_t s = 0; s < rs->nsrc; s++)
    if (cfg->link.source_mask >> s & 1) {
      if (ns < 2) srcs[ns] = (int)s;
      ns++;
    }
  if (cfg->link.mode == TSR_MODE_LINK && ns == 2) {
    uc.off_a = rs->base[srcs[0]];
    uc.off_b = rs->base[srcs[1]];
    uo.na = rs->base[srcs[0] + 1] - rs->base[srcs[0]];
    uo.nb = rs->base[srcs[1] + 1] - rs->base[srcs[1]];
  } else {
    uo.na = rs->total;
    uo.nb = 0;
  }
  if (uo.na < 2 && uo.nb == 0) return tsr_error_set(err, TSR_ECONFIG, cfg->path, 0, 0, "probabilistic: fewer than two records");
  for (uint32_t k = 0; k < S->sc.k; k++) {
    const tsr_cmp_cfg *cc = &S->pc->cmp[k];
    uint16_t skip = (uint16_t)~cc->enabled;
    if (cc->kind == TSR_CMP_NHS) skip |= 1u << TSR__NHS_NEAR; /* two valid numbers are never near */
    skip |= 1u; /* null */
    uo.skip[k] = skip;
  }
  uc.st = tsr__calloc((size_t)S->nthreads, sizeof *uc.st);
  if (!uc.st) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  int rc = 0;
  for (int i = 0; i < S->nthreads && !rc; i++)
    if (tsr__score_thread_create(&S->sc, &uc.st[i]) != 0) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  double t0 = tsr__now();
  if (!rc) rc = tsr__u_sample(&P->md, &uo, u_levels, &uc, &P->ures, err);
  for (int i = 0; i < S->nthreads; i++) tsr__score_thread_free(uc.st[i]);
  tsr__free(uc.st);
  if (rc) return rc;
  P->u_seconds = tsr__now() - t0;
  /* Laplace smoothing over the enabled non-null levels: a level the sample
   * never met gets a small u, not 0 (a weight of +60 bits) */
  for (uint32_t k = 0; k < S->sc.k; k++) {
    const uint32_t en = S->pc->cmp[k].enabled;
    uint64_t nn = 0, ne = 0;
    for (uint32_t l = 1; l < P->md.nlev[k]; l++)
      if (en >> l & 1) nn += P->ures.count[k][l], ne++;
    for (uint32_t l = 1; l < P->md.nlev[k]; l++)
      P->md.u[k][l] = (en >> l & 1) ? ((double)P->ures.count[k][l] + 1.0) / ((double)nn + (double)ne) : 0.0;
  }
  return 0;
}

/* --- tf and signatures ----------------------------------------------------------------- */

/* counts[g] = how many records share keys[g] (0 where keys[g] == 0);
 * returns the records with a key in *n. */
static int value_counts(const uint64_t *keys, uint64_t N, int threads, uint32_t *counts, uint64_t *n, tsr_error *err) {
  tsr__blocks bl;
  memset(&bl, 0, sizeof bl);
  TSR_FORWARD_IF_ERROR(tsr__group(keys, N, threads, &bl, err));
  for (uint64_t g = 0; g < N; g++) counts[g] = keys[g] ? 1u : 0u;
  for (uint64_t b = 0; b < bl.n; b++) {
    uint64_t sz = bl.start[b + 1] - bl.start[b];
    for (uint64_t i = bl.start[b]; i < bl.start[b + 1]; i++) counts[bl.members[i]] = (uint32_t)(sz > UINT32_MAX ? UINT32_MAX : sz);
  }
  *n = bl.eligible;
  tsr__blocks_free(&bl);
  return 0;
}

static int build_inputs(stage *S, tsr__prob *P, int precollapse, tsr_error *err) {
  const tsr__recset *rs = S->rs;
  const uint64_t N = rs->total;
  const uint64_t smask = S->L->cfg->link.source_mask;
  uint64_t *keys = tsr__malloc(sizeof *keys * (N + 1));
  uint32_t *cnt = tsr__malloc(sizeof *cnt * (N + 1));
  if (!keys || !cnt) {
    tsr__free(keys);
    tsr__free(cnt);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory for %llu records", (unsigned long long)N);
  }
  int rc = 0;
  for (uint32_t k = 0; k < S->sc.k && !rc; k++) {
    if (!S->pc->cmp[k].tf) continue;
    const tsr__cmp_kind kind = S->sc.cmp[k].kind;
    if (kind != TSR__CMP_NAME && kind != TSR__CMP_FULLNAME && kind != TSR__CMP_POSTCODE && kind != TSR__CMP_TEXT &&
        kind != TSR__CMP_CODE)
      continue;
#pragma omp parallel for num_threads(S->nthreads) schedule(static)
    for (int64_t gi = 0; gi < (int64_t)N; gi++) {
      uint64_t g = (uint64_t)gi;
      uint32_t s = tsr__recset_src(rs, g);
      keys[g] = (smask >> s & 1) ? tf_value(&S->sc, k, s, (uint32_t)(g - rs->base[s])) : 0;
    }
    uint64_t n = 0;
    if ((rc = value_counts(keys, N, S->nthreads, cnt, &n, err)) != 0) break;
    float *t = tsr__malloc(sizeof *t * (N + 1));
    if (!t) {
      rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
      break;
    }
    const double u1 = P->md.u[k][1], tf_min = S->pc->tf_min;
#pragma omp parallel for num_threads(S->nthreads) schedule(static)
    for (int64_t g = 0; g < (int64_t)N; g++)
      t[g] = cnt[g] ? (float)qf16(tsr__tf_adjust(u1, cnt[g], n, tf_min, 1.0)) : 0.0f;
    S->tfadj[k] = t;
    P->tf_values[k] = n;
  }
  if (!rc && precollapse) {
#pragma omp parallel for num_threads(S->nthreads) schedule(static)
    for (int64_t gi = 0; gi < (int64_t)N; gi++) {
      uint64_t g = (uint64_t)gi;
      uint32_t s = tsr__recset_src(rs, g), r = (uint32_t)(g - rs->base[s]);
      uint64_t h = XXH3_64bits(&s, sizeof s);
      for (uint32_t k = 0; k < S->sc.k; k++) h = value_hash(&S->sc, k, s, r, h);
      keys[g] = (smask >> s & 1) ? (h ? h : 1) : 0;
    }
    uint64_t n = 0;
    rc = value_counts(keys, N, S->nthreads, cnt, &n, err);
    if (!rc) {
      /* bit 0: the record has twins (another record with the same
       * signature); a pair is looked up only when one side has */
      for (uint64_t g = 0; g < N; g++)
        if (keys[g]) keys[g] = cnt[g] >= 2 ? keys[g] | 1u : (keys[g] & ~(uint64_t)1) | 2u;
      S->sig = keys;
      keys = NULL;
    }
  }
  tsr__free(keys);
  tsr__free(cnt);
  return rc;
}

/* --- training ----------------------------------------------------------------------------- */

/* Marks out[g] = 1 for records outside a seeded sample of about q of them. */
static void record_sample(const stage *S, double q, uint8_t *out) {
  const uint64_t thr = q >= 1.0 ? UINT64_MAX : (uint64_t)(q * 18446744073709551616.0);
  const int64_t N = (int64_t)S->rs->total;
  const uint64_t seed = S->pc->seed ^ 0x5851f42d4c957f2dull;
#pragma omp parallel for num_threads(S->nthreads) schedule(static)
  for (int64_t g = 0; g < N; g++) {
    uint64_t x = (uint64_t)g;
    out[g] = XXH3_64bits_withSeed(&x, sizeof x, seed) >= thr;
  }
}

/* Training pairs of each rule: ALL its pairs (not first-rule-wins) among a
 * seeded sample of records. A rule's pairs among a share q of the records
 * are about q^2 of its pairs, so a probe at q0 = 1/8 estimates the total
 * and q = sqrt(train_max_pairs / total) gives about train_max_pairs
 * without enumerating the rest (at 10M patients a rule has 10^8 pairs,
 * most of them one patient's episodes). Small data (a probe under 4096
 * pairs) train on every pair. Sampling records, not pairs, keeps whole
 * blocks' structure and costs only the pairs kept. */
static int train(stage *S, tsr__prob *P, tsr__patterns *pr, uint32_t *excl, tsr_error *err) {
  const tsr_prob_cfg *pc = S->pc;
  const tsr_link_cfg *lc = &S->L->cfg->link;
  double t0 = tsr__now();
  S->training = 1;
  const double q0 = 0.125;
  uint8_t *probe = tsr__malloc(S->rs->total + 1), *samp = tsr__malloc(S->rs->total + 1);
  if (!probe || !samp) {
    tsr__free(probe);
    tsr__free(samp);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  }
  record_sample(S, q0, probe);
  int rc = 0;
  for (uint32_t r = 0; r < pc->n_training && !rc; r++) {
    const tsr_rule_cfg *rule = &pc->training[r];
    excl[r] = cmp_fields_mask(pc, rule);
    tsr__rule_pairs rp;
    rc = tsr__block_pairs_ex(S->rs, rule, 1, lc->mode, lc->source_mask, probe, pc->max_block_size, NULL, NULL, &rp,
                             S->nthreads, err);
    if (rc) break;
    double q = 1.0;
    if (rp.pairs >= 4096) {
      const double est = (double)rp.pairs / (q0 * q0);
      q = sqrt((double)pc->train_max_pairs / est);
    }
    if (q < 1.0) record_sample(S, q, samp);
    if ((rc = threads_make(S, 1, err)) != 0) break;
    rc = tsr__block_pairs_ex(S->rs, rule, 1, lc->mode, lc->source_mask, q < 1.0 ? samp : NULL, pc->max_block_size,
                             on_batch, S, &rp, S->nthreads, err);
    if (rc) break;
    P->rule_all_pairs[r] = q < 1.0 ? (uint64_t)((double)rp.pairs / (q * q)) : rp.pairs;
    P->rule_sample[r] = q < 1.0 ? q : 1.0;
    for (int i = 0; i < S->nthreads && !rc; i++)
      if (S->th[i].rc) rc = tsr_error_set(err, S->th[i].rc, NULL, 0, 0, "out of memory counting patterns");
    if (!rc) rc = merge_counts(S, 0, &pr[r], err);
    if (!rc) P->train_pairs += pr[r].total, P->rule_train_pairs[r] = pr[r].total;
  }
  tsr__free(probe);
  tsr__free(samp);
  threads_free(S);
  S->training = 0;
  P->train_seconds = tsr__now() - t0;
  return rc;
}

/* EM over nrules rules' pattern counts pr (excl: each rule's fixed
 * comparisons). training: sets m (and the unseen levels' u) and keeps the
 * fits for the report; otherwise (the lambda pass over the scored pairs,
 * first = pr) only md->lambda is taken, m and u stay. */
static int em_all(stage *S, tsr__prob *P, const tsr__patterns *pr, const uint32_t *excl, uint32_t nrules,
                  const tsr__patterns *first, double scope, int training, tsr_error *err) {
  const tsr_prob_cfg *pc = S->pc;
  tsr__em_opts eo;
  tsr__em_opts_init(&eo);
  eo.max_iter = pc->em_max_iter;
  eo.tol = pc->em_tol;
  const tsr__patterns *pp[TSR__PROB_MAX_RULES], *ff[TSR__PROB_MAX_RULES];
  uint32_t n = nrules < TSR__PROB_MAX_RULES ? nrules : TSR__PROB_MAX_RULES;
  for (uint32_t r = 0; r < n; r++) {
    pp[r] = pr[r].n ? &pr[r] : NULL;
    ff[r] = first && first[r].n ? &first[r] : NULL;
  }
  /* training rules without pairs are skipped */
  const tsr__patterns *pq[TSR__PROB_MAX_RULES], *fq[TSR__PROB_MAX_RULES];
  uint32_t xq[TSR__PROB_MAX_RULES], nq = 0, map[TSR__PROB_MAX_RULES];
  for (uint32_t r = 0; r < n; r++)
    if (pp[r]) {
      pq[nq] = pp[r], fq[nq] = ff[r], xq[nq] = excl[r], map[nq] = r;
      nq++;
    }
  if (!nq && !training) return 0; /* nothing scored: lambda stays the training's */
  if (!nq) return tsr_error_set(err, TSR_ECONFIG, S->L->cfg->path, 0, 0, "probabilistic.training: no rule found any pair to train on");
  const tsr__model keep = P->md;
  /* start m: strong prior per comparison */
  for (uint32_t k = 0; k < S->sc.k; k++) {
    tsr__model_prior_m(&P->md, k, pc->cmp[k].m_start);
    const uint32_t en = pc->cmp[k].enabled;
    double sum = 0;
    for (uint32_t l = 1; l < P->md.nlev[k]; l++) {
      if (!(en >> l & 1)) P->md.m[k][l] = 0;
      sum += P->md.m[k][l];
    }
    for (uint32_t l = 1; l < P->md.nlev[k]; l++) P->md.m[k][l] = sum > 0 ? P->md.m[k][l] / sum : 0;
  }
  tsr__em_result res[TSR__PROB_MAX_RULES];
  memset(res, 0, sizeof res);
  tsr__train_out to;
  double t0 = tsr__now();
  int rc = tsr__em_train_rules(&P->md, pq, xq, nq, first ? fq : NULL, scope, &eo, res, &to, err);
  P->em_seconds += tsr__now() - t0;
  if (rc || !training) {
    for (uint32_t i = 0; i < nq; i++) tsr__em_result_free(&res[i]);
    if (!rc) {
      const double lambda = P->md.lambda;
      P->md = keep;
      P->md.lambda = lambda;
      tsr__model_weights(&P->md);
    }
    return rc;
  }
  /* disabled levels: m 0, the others renormalised (EM's pseudo-count gave them a share) */
  for (uint32_t k = 0; k < S->sc.k; k++) {
    const uint32_t en = pc->cmp[k].enabled;
    double sum = 0;
    for (uint32_t l = 1; l < P->md.nlev[k]; l++) {
      if (!(en >> l & 1)) P->md.m[k][l] = 0;
      sum += P->md.m[k][l];
    }
    for (uint32_t l = 1; l < P->md.nlev[k]; l++) P->md.m[k][l] = sum > 0 ? P->md.m[k][l] / sum : 0;
  }
  /* a level neither sample met (no random pair, under one expected match)
   * carries no evidence: u = m, weight 0, instead of a ratio of two
   * pseudo-counts; u renormalised over the comparison's levels */
  for (uint32_t k = 0; k < S->sc.k; k++) {
    const uint32_t en = pc->cmp[k].enabled;
    int changed = 0;
    for (uint32_t l = 1; l < P->md.nlev[k]; l++)
      if ((en >> l & 1) && P->ures.count[k][l] == 0 && P->md.m[k][l] * to.matches < 1.0 && !P->loaded) {
        P->md.u[k][l] = P->md.m[k][l];
        changed = 1;
      }
    if (!changed) continue;
    double su = 0;
    for (uint32_t l = 1; l < P->md.nlev[k]; l++) su += P->md.u[k][l];
    for (uint32_t l = 1; l < P->md.nlev[k]; l++) P->md.u[k][l] /= su;
  }
  tsr__model_weights(&P->md);
  P->untrained = to.untrained;
  P->em_iterations = to.iterations;
  P->em_matches = to.matches;
  /* keep the per-rule fits for the report (the last call's) */
  for (uint32_t i = 0; i < P->n_em; i++) tsr__em_result_free(&P->em[i]);
  for (uint32_t i = 0; i < nq; i++) {
    P->em[i] = res[i];
    P->em_rule[i] = map[i];
  }
  P->n_em = nq;
  return 0;
}

/* --- scoring ------------------------------------------------------------------------------- */

static double pairs_scope(const tsr_config *cfg, const tsr__recset *rs) {
  double n[TSR_MAX_SOURCES], tot = 0;
  for (uint32_t s = 0; s < rs->nsrc; s++) {
    n[s] = (cfg->link.source_mask >> s & 1) ? (double)(rs->base[s + 1] - rs->base[s]) : 0;
    tot += n[s];
  }
  double same = 0;
  for (uint32_t s = 0; s < rs->nsrc; s++) same += n[s] * (n[s] - 1) / 2;
  double all = tot * (tot - 1) / 2;
  switch (cfg->link.mode) {
  case TSR_MODE_LINK: return all - same;
  case TSR_MODE_DEDUPE: return same;
  default: return all;
  }
}

static int score_all(stage *S, tsr__prob *P, tsr__patterns *first, tsr_error *err) {
  const tsr_prob_cfg *pc = S->pc;
  const tsr_link_cfg *lc = &S->L->cfg->link;
  TSR_FORWARD_IF_ERROR(threads_make(S, pc->n_blocking, err));
  double t0 = tsr__now();
  /* flatten the steps' union-find: parent[g] = g's root for every record,
   * so a pair's same-cluster test is two loads (roots never move here) */
  const int64_t N = (int64_t)S->rs->total;
#pragma omp parallel for num_threads(S->nthreads) schedule(static)
  for (int64_t g = 0; g < N; g++) S->parent[g] = tsr__uf_find(S->parent, (uint32_t)g);
  tsr__rule_pairs *rp = tsr__calloc(pc->n_blocking, sizeof *rp);
  if (!rp) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  int rc = tsr__block_pairs(S->rs, pc->blocking, pc->n_blocking, lc->mode, lc->source_mask, pc->max_block_size,
                            on_batch, S, rp, S->nthreads, err);
  P->score_seconds = tsr__now() - t0;
  for (uint32_t r = 0; r < pc->n_blocking && !rc; r++) {
    P->rule_pairs[r] = rp[r].pairs;
    P->rule_capped[r] = rp[r].capped_pairs;
    P->pairs_candidates += rp[r].pairs;
  }
  tsr__free(rp);
  if (rc) return rc;
  for (int i = 0; i < S->nthreads; i++) {
    pthread_st *t = &S->th[i];
    if (t->rc) return tsr_error_set(err, t->rc, NULL, 0, 0, "out of memory keeping scored pairs");
    P->pairs_scored += t->scored;
    P->pairs_precollapsed += t->collapsed;
    P->pairs_same_cluster += t->same_cluster;
    P->pairs_two_clusters += t->two_clusters;
    for (uint32_t k = 0; k < S->sc.k; k++)
      for (uint32_t l = 0; l < TSR__MODEL_MAX_L; l++) P->level_pairs[k][l] += t->lev[k][l];
    for (uint32_t h = 0; h < HIST_N; h++) P->hist[h] += t->hist[h];
  }
  for (uint32_t r = 0; r < pc->n_blocking; r++) TSR_FORWARD_IF_ERROR(merge_counts(S, r, &first[r], err));
  return 0;
}

/* Gathers the kept pairs with W >= floor into P, sorted by (a, b). */
static int gather_pairs(stage *S, tsr__prob *P, tsr_error *err) {
  uint64_t n = 0;
  for (int i = 0; i < S->nthreads; i++) n += S->th[i].kn;
  const double floor_s = P->floor_weight - P->md.prior;
  uint64_t *key = tsr__malloc(sizeof *key * (n + 1)), *tk = tsr__malloc(sizeof *tk * (n + 1));
  uint32_t *idx = tsr__malloc(sizeof *idx * (n + 1)), *ti = tsr__malloc(sizeof *ti * (n + 1));
  uint32_t *from = tsr__malloc(sizeof *from * (size_t)(S->nthreads + 1));
  int rc = 0;
  if (!key || !tk || !idx || !ti || !from || n >= UINT32_MAX)
    rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory for %llu pairs", (unsigned long long)n);
  uint64_t m = 0;
  if (!rc) {
    /* global index = thread offset + position */
    uint64_t off = 0;
    for (int i = 0; i < S->nthreads; i++) {
      pthread_st *t = &S->th[i];
      for (uint64_t j = 0; j < t->kn; j++)
        if (t->ks[j] >= floor_s) {
          key[m] = (uint64_t)t->ka[j] << 32 | t->kb[j];
          idx[m] = (uint32_t)(off + j);
          m++;
        }
      from[i] = (uint32_t)off;
      off += t->kn;
    }
    from[S->nthreads] = (uint32_t)off;
    radix_sort(key, idx, tk, ti, m, 4);
    P->np = m;
    P->pa = tsr__malloc(sizeof *P->pa * (m + 1));
    P->pb = tsr__malloc(sizeof *P->pb * (m + 1));
    P->ppat = tsr__malloc(sizeof *P->ppat * (m + 1));
    P->prule = tsr__malloc(sizeof *P->prule * (m + 1));
    P->pw = tsr__malloc(sizeof *P->pw * (m + 1));
    P->plinked = tsr__calloc(m + 1, 1);
    if (!P->pa || !P->pb || !P->ppat || !P->prule || !P->pw || !P->plinked)
      rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory for %llu pairs", (unsigned long long)m);
    for (uint64_t i = 0; i < m && !rc; i++) {
      uint32_t g = idx[i];
      int th = 0;
      while (g >= from[th + 1]) th++;
      const pthread_st *t = &S->th[th];
      uint64_t j = g - from[th];
      P->pa[i] = t->ka[j], P->pb[i] = t->kb[j], P->ppat[i] = t->kpat[j], P->prule[i] = t->krule[j];
      P->pw[i] = P->md.prior + t->ks[j];
    }
  }
  tsr__free(key);
  tsr__free(tk);
  tsr__free(idx);
  tsr__free(ti);
  tsr__free(from);
  return rc;
}

/* --- clustering ------------------------------------------------------------------------------ */

#define NHS_CONFLICT UINT64_MAX

static int cluster(stage *S, tsr__prob *P, tsr_error *err) {
  tsr_linkage *L = S->L;
  const tsr__recset *rs = S->rs;
  const uint64_t N = rs->total;
  const tsr_link_cfg *lc = &L->cfg->link;
  uint64_t ne = 0;
  for (uint64_t i = 0; i < P->np; i++) ne += P->pw[i] >= P->threshold_weight;
  uint64_t *key = tsr__malloc(sizeof *key * (ne + 1)), *tk = tsr__malloc(sizeof *tk * (ne + 1));
  uint32_t *idx = tsr__malloc(sizeof *idx * (ne + 1)), *ti = tsr__malloc(sizeof *ti * (ne + 1));
  uint64_t *nhs = tsr__calloc(N + 1, sizeof *nhs);
  uint32_t *size = tsr__malloc(sizeof *size * (N + 1));
  uint8_t *det = tsr__calloc(N + 1, 1);
  uint64_t *smask = lc->one_to_one ? tsr__calloc(N + 1, sizeof *smask) : NULL;
  int rc = 0;
  if (!key || !tk || !idx || !ti || !nhs || !size || !det || (lc->one_to_one && !smask)) {
    rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory clustering %llu edges", (unsigned long long)ne);
    goto done;
  }
  {
    /* edge order: weight descending (the quantised weight's bits, order-preserving for
       doubles of one sign handled by the flip), then (a, b) ascending */
    uint64_t m = 0;
    for (uint64_t i = 0; i < P->np; i++) {
      if (!(P->pw[i] >= P->threshold_weight)) continue;
      idx[m] = (uint32_t)i;
      m++;
    }
    /* pairs are in (a, b) order already; a stable sort on weight keeps it */
    for (uint64_t i = 0; i < m; i++) {
      uint64_t bits;
      double w = P->pw[idx[i]];
      memcpy(&bits, &w, 8);
      bits = (bits >> 63) ? ~bits : bits | 0x8000000000000000ull; /* ascending total order */
      key[i] = ~bits;                                                /* descending */
    }
    radix_sort(key, idx, tk, ti, m, 4);
    /* per root state */
    /* parent[] is flat here (score_all): parent[g] is g's root */
    memset(size, 0, sizeof *size * N);
    for (uint64_t g = 0; g < N; g++) size[S->parent[g]]++;
    for (uint32_t s = 0; s < rs->nsrc; s++) {
      const tsr_column *c = tsr_store_kind(rs->stores[s], TSR_KIND_NHS_NUMBER);
      for (uint64_t g = rs->base[s]; g < rs->base[s + 1]; g++) {
        const uint32_t r = S->parent[g];
        if (size[r] > 1) det[r] = 1;
        if (smask) smask[r] |= (uint64_t)1 << s;
        const uint64_t v = c ? c->u64[g - rs->base[s]] : 0;
        if (!v || !tsr_nhs_valid(v)) continue;
        if (!nhs[r]) nhs[r] = v;
        else if (nhs[r] != v) nhs[r] = NHS_CONFLICT;
      }
    }
    const uint32_t maxc = lc->max_cluster_size;
    for (uint64_t e = 0; e < m; e++) {
      const uint64_t i = idx[e];
      uint32_t x = tsr__uf_find(S->parent, P->pa[i]), y = tsr__uf_find(S->parent, P->pb[i]);
      if (x == y) {
        P->c_redundant++;
        P->plinked[i] = 1;
        continue;
      }
      if (nhs[x] && nhs[y] && (nhs[x] != nhs[y] || nhs[x] == NHS_CONFLICT)) {
        P->c_vetoed++;
        continue;
      }
      if (smask && (smask[x] & smask[y])) {
        P->c_one_to_one++;
        continue;
      }
      if (!S->pc->join_clusters && det[x] && det[y]) {
        P->c_kept_apart++;
        continue;
      }
      if (S->pc->split_clusters && maxc && (uint64_t)size[x] + size[y] > maxc) {
        P->c_split++;
        continue;
      }
      tsr__uf_union(S->parent, x, y);
      uint32_t r = tsr__uf_find(S->parent, x), o = r == x ? y : x;
      size[r] = size[x] + size[y];
      nhs[r] = nhs[x] ? nhs[x] : nhs[y];
      det[r] = det[x] | det[y];
      if (smask) smask[r] = smask[x] | smask[y];
      (void)o;
      P->c_accepted++;
      P->plinked[i] = 1;
      for (int j = 0; j < 2; j++) {
        uint32_t g = j ? P->pb[i] : P->pa[i];
        if (!L->step[g]) L->step[g] = (uint8_t)(L->nrules + 1);
        if (L->step[g] == L->nrules + 1 && (isnan(P->rec_w[g]) || P->pw[i] > P->rec_w[g])) P->rec_w[g] = P->pw[i];
      }
    }
    for (uint64_t g = 0; g < N; g++)
      if (L->step[g] == L->nrules + 1) P->records_linked++;
    /* oversize clusters and their weakest accepted edges */
    if (maxc) {
      for (uint64_t e = 0; e < m; e++) {
        const uint64_t i = idx[e];
        if (!P->plinked[i]) continue;
        uint32_t r = tsr__uf_find(S->parent, P->pa[i]);
        if (size[r] <= maxc) continue;
        /* edges come heaviest first: the last one seen is the weakest */
        uint32_t o = 0;
        while (o < P->n_over && P->over_root[o] != r) o++;
        if (o == P->n_over) {
          if (P->n_over == TSR__PROB_OVER) continue;
          P->n_over++;
          P->over_root[o] = r;
          P->over_size[o] = size[r];
        }
        P->over_edge[o] = i;
      }
    }
  }
done:
  tsr__free(key);
  tsr__free(tk);
  tsr__free(idx);
  tsr__free(ti);
  tsr__free(nhs);
  tsr__free(size);
  tsr__free(det);
  tsr__free(smask);
  return rc;
}

/* --- the stage ------------------------------------------------------------------------------- */

void tsr__prob_free(tsr__prob *P) {
  if (!P) return;
  for (uint32_t i = 0; i < P->n_em; i++) tsr__em_result_free(&P->em[i]);
  tsr__free(P->pa);
  tsr__free(P->pb);
  tsr__free(P->ppat);
  tsr__free(P->prule);
  tsr__free(P->pw);
  tsr__free(P->plinked);
  tsr__free(P->rec_w);
  tsr__free(P);
}

static int specs_from_config(const tsr_prob_cfg *pc, const tsr__recset *rs, tsr__cmp_spec *sp) {
  for (uint32_t k = 0; k < pc->n_cmp; k++) {
    const tsr_cmp_cfg *c = &pc->cmp[k];
    tsr__cmp_spec *s = &sp[k];
    tsr__cmp_spec_init(s, (tsr__cmp_kind)c->kind);
    tsr__cmp_spec_fields(s, rs, c->field, c->field2);
    s->name.enabled = c->enabled;
    s->name.jw1 = c->jw1, s->name.jw2 = c->jw2, s->name.dl1 = c->dl1, s->name.dl2 = c->dl2;
    s->name.phonetic = c->phonetic;
    s->full.enabled = c->enabled;
    s->full.swap_jw = c->swap_jw;
    s->full.given.jw1 = s->full.family.jw1 = c->jw1;
    s->full.given.jw2 = s->full.family.jw2 = c->jw2;
    s->full.given.dl1 = s->full.family.dl1 = c->dl1;
    s->full.given.dl2 = s->full.family.dl2 = c->dl2;
    s->full.given.phonetic = s->full.family.phonetic = c->phonetic;
    s->dob.enabled = c->enabled;
    s->dob.within_days = c->within_days;
    s->dob.within_years = c->within_years;
    s->enabled = c->enabled;
  }
  return 0;
}

int tsr__run_prob(tsr_linkage *L, const tsr__recset *rs, uint32_t *parent, const tsr__prob_opts *po, tsr_error *err) {
  const tsr_prob_cfg *pc = &L->cfg->prob;
  tsr__prob *P = tsr__calloc(1, sizeof *P);
  if (!P) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  L->prob = P;
  stage S;
  memset(&S, 0, sizeof S);
  S.L = L, S.pc = pc, S.rs = rs, S.parent = parent, S.step = L->step;
  S.nthreads = tsr__threads(L->threads);
  const uint64_t N = rs->total;
  P->threads = S.nthreads;
  P->threshold = po && po->threshold > 0 ? po->threshold : pc->threshold;
  P->threshold_weight = tsr__wq(log2(P->threshold / (1.0 - P->threshold)));
  P->floor_weight = tsr__wq(log2(pc->pairs_floor / (1.0 - pc->pairs_floor)));
  if (P->floor_weight > P->threshold_weight) P->floor_weight = P->threshold_weight;
  double t_all = tsr__now();
  tsr__cmp_spec sp[TSR__SCORE_MAX_K];
  uint8_t nlev[TSR__MODEL_MAX_K];
  specs_from_config(pc, rs, sp);
  for (uint32_t k = 0; k < pc->n_cmp; k++) nlev[k] = (uint8_t)tsr__cmp_nlevels(sp[k].kind);
  tsr__patterns *pr = tsr__calloc(pc->n_training + 1, sizeof *pr);
  tsr__patterns *first = tsr__calloc(pc->n_blocking + 1, sizeof *first);
  uint32_t *excl = tsr__calloc(pc->n_training + 1, sizeof *excl);
  P->rec_w = tsr__malloc(sizeof *P->rec_w * (N + 1));
  int rc = 0;
  if (!pr || !first || !excl || !P->rec_w) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  if (!rc) {
    for (uint64_t g = 0; g < N; g++) P->rec_w[g] = NAN;
    rc = tsr__model_init(&P->md, pc->n_cmp, nlev, err);
  }
  if (!rc) rc = tsr__scorer_init(&S.sc, rs, sp, pc->n_cmp, P->md.shift, P->md.bits, err);
  const double scope = pairs_scope(L->cfg, rs);
  P->pairs_scope = scope;
  if (!rc && po && po->model_path) {
    tsr__model_info info;
    memset(&info, 0, sizeof info);
    rc = tsr__model_load(po->model_path, pc, &P->md, &info, err);
    P->loaded = 1;
    snprintf(P->model_path, sizeof P->model_path, "%s", po->model_path);
    P->u_pairs_loaded = info.u_pairs;
    P->lambda_em = info.lambda_em;
    P->lambda_rules = info.lambda_rules;
  }
  if (!rc && !P->loaded) rc = estimate_u(&S, P, err);
  if (!rc && !P->loaded) {
    rc = train(&S, P, pr, excl, err);
    if (!rc) rc = em_all(&S, P, pr, excl, pc->n_training, NULL, scope, 1, err);
    P->lambda_em = P->md.lambda;
  }
  /* tf adjustments read the final u (training may move it), so a loaded
   * model gives the same weights as the run that trained it */
  if (!rc) rc = build_inputs(&S, P, !(po && po->no_precollapse), err);
  if (!rc) {
    /* score with the prior left out: S >= s_min keeps every pair that can reach the floor */
    tsr__model m0 = P->md;
    m0.lambda = 0.5;
    tsr__model_weights(&m0);
    rc = tsr__wtable_build(&m0, &S.wt);
    uint64_t cand_upper = 0;
    for (uint32_t r = 0; r < pc->n_training; r++) cand_upper += P->rule_all_pairs[r];
    double lam_hi = P->loaded ? P->md.lambda : (double)(cand_upper ? cand_upper : 1) / scope;
    if (lam_hi > P->md.lambda) lam_hi = lam_hi < 0.5 ? lam_hi : 0.5;
    if (lam_hi < P->md.lambda) lam_hi = P->md.lambda;
    S.s_min = P->floor_weight - log2(lam_hi / (1.0 - lam_hi)) - 1.0;
  }
  if (!rc) rc = score_all(&S, P, first, err);
  if (!rc && !P->loaded) {
    /* lambda: EM's expected matches among the pairs scored (each blocking
     * rule's first-rule-wins pairs, its own comparisons left out), m and u
     * unchanged; or the deterministic links / assumed recall */
    uint32_t bexcl[TSR__PROB_MAX_RULES];
    for (uint32_t r = 0; r < pc->n_blocking && r < TSR__PROB_MAX_RULES; r++) bexcl[r] = cmp_fields_mask(pc, &pc->blocking[r]);
    rc = em_all(&S, P, first, bexcl, pc->n_blocking, first, scope, 0, err);
    P->lambda_em = P->md.lambda;
    if (!rc && pc->assumed_recall > 0) {
      uint64_t links = 0;
      for (uint32_t k = 0; k < L->nrules; k++) links += L->rules[k].pairs_linked;
      P->lambda_rules = tsr__lambda_from_links((double)links, pc->assumed_recall, scope);
      P->md.lambda = P->lambda_rules;
      tsr__model_weights(&P->md);
    }
  }
  if (!rc) {
    /* The check of PROBABILISTIC.md ("EM fits which block"): u >= m on a
     * comparison's strongest agreement level (its first enabled one). A
     * weaker level (within a year, two edits) may rightly have u > m: true
     * matches rarely differ that way while random pairs often do, so it
     * is evidence against a match, not a sign of a bad fit; those stay in
     * the report's levels. Levels the config turned off (m = u = 0) are
     * never checked. */
    tsr__level_ref all[TSR__MODEL_MAX_K * TSR__MODEL_MAX_L];
    uint32_t nall = tsr__model_degenerate(&P->md, all, TSR__MODEL_MAX_K * TSR__MODEL_MAX_L);
    P->n_degenerate = 0;
    for (uint32_t i = 0; i < nall; i++) {
      const uint32_t en = pc->cmp[all[i].k].enabled;
      uint32_t top = 1;
      while (top < P->md.nlev[all[i].k] && !(en >> top & 1)) top++;
      if (all[i].level == top && P->n_degenerate < TSR__PROB_DEGEN) P->degenerate[P->n_degenerate++] = all[i];
    }
    for (uint32_t i = 0; i < P->n_degenerate && i < TSR__PROB_DEGEN; i++) {
      uint32_t nn;
      const char *const *ln = tsr_cmp_level_names(pc->cmp[P->degenerate[i].k].kind, &nn);
      TSR_LOG_W("probabilistic: comparison %s, level %s: u (%.3g) >= m (%.3g): the model learned the blocking "
                "rule, not the match; train with rules that do not fix this comparison",
                pc->cmp[P->degenerate[i].k].name, ln[P->degenerate[i].level],
                P->md.u[P->degenerate[i].k][P->degenerate[i].level], P->md.m[P->degenerate[i].k][P->degenerate[i].level]);
    }
    for (uint32_t k = 0; k < pc->n_cmp; k++)
      if (P->untrained >> k & 1)
        TSR_LOG_W("probabilistic: comparison %s: every training rule fixes it, so EM left its m at the start value",
                  pc->cmp[k].name);
  }
  if (!rc) rc = gather_pairs(&S, P, err);
  if (!rc) rc = cluster(&S, P, err);
  if (!rc) {
    for (uint64_t i = 0; i < P->np; i++) P->pairs_above += P->pw[i] >= P->threshold_weight;
    /* the waterfall: the pairs nearest the threshold, by |W - t| then (a, b) */
    for (uint64_t i = 0; i < P->np; i++) {
      double d = fabs(P->pw[i] - P->threshold_weight);
      uint32_t j = P->n_fall;
      if (j < WATERFALL) P->n_fall++;
      else if (d >= fabs(P->pw[P->fall[WATERFALL - 1]] - P->threshold_weight)) continue;
      else j = WATERFALL - 1;
      while (j > 0 && fabs(P->pw[P->fall[j - 1]] - P->threshold_weight) > d) {
        P->fall[j] = P->fall[j - 1];
        j--;
      }
      P->fall[j] = i;
    }
    for (uint32_t k = 0; k < pc->n_cmp; k++) P->tf_on[k] = S.tfadj[k] != NULL;
    /* keep the tf adjustments of the waterfall pairs */
    for (uint32_t f = 0; f < P->n_fall; f++)
      for (uint32_t k = 0; k < pc->n_cmp; k++)
        P->fall_tf[f][k] = S.tfadj[k] && tsr__pattern_level(&P->md, P->ppat[P->fall[f]], k) == 1
                               ? (double)S.tfadj[k][P->pa[P->fall[f]]]
                               : 0.0;
    P->seconds = tsr__now() - t_all;
    TSR_LOG_I("probabilistic: %llu pairs scored (%llu pre-collapsed) in %.2f s, %llu above the threshold, %llu "
              "records linked",
              (unsigned long long)P->pairs_scored, (unsigned long long)P->pairs_precollapsed, P->score_seconds,
              (unsigned long long)P->pairs_above, (unsigned long long)P->records_linked);
  }
  threads_free(&S);
  tsr__scorer_free(&S.sc);
  tsr__wtable_free(&S.wt);
  tsr__free(S.sig);
  for (uint32_t k = 0; k < TSR__MODEL_MAX_K; k++) tsr__free(S.tfadj[k]);
  for (uint32_t r = 0; pr && r < pc->n_training; r++) tsr__patterns_free(&pr[r]);
  for (uint32_t r = 0; first && r < pc->n_blocking; r++) tsr__patterns_free(&first[r]);
  tsr__free(pr);
  tsr__free(first);
  tsr__free(excl);
  return rc;
}
