/* Evaluate a run against ground truth (include/tessera/evaluate.h).
 *
 * DESIGN
 *   Truth is read with the ingest stage itself (a generated source config:
 *   source as a code, record_id as text, patient_id as a local id), so it gets
 *   the same validation and error messages as any input. Records are joined
 *   on XXH3(source, record_id) through an open-addressing table; the
 *   (predicted, true) contingency cells are counted in a second table. Every
 *   measure is a sum over cells, so nothing is sorted. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "common/common_internal.h"
#include "tessera/config.h"
#include "tessera/evaluate.h"
#include "tessera/ingest.h"
#include "tessera/parquet.h"

/* u64 key (never 0) -> u64 value, open addressing, linear probing. */
typedef struct map {
  uint64_t *k, *v;
  uint64_t mask, n;
} map;

static int map_init(map *m, uint64_t expect) {
  uint64_t cap = 16;
  while (cap < expect * 2) cap <<= 1;
  m->k = tsr__calloc(cap, sizeof *m->k);
  m->v = tsr__calloc(cap, sizeof *m->v);
  m->mask = cap - 1;
  m->n = 0;
  return m->k && m->v ? 0 : TSR_ENOMEM;
}
static void map_free(map *m) {
  tsr__free(m->k);
  tsr__free(m->v);
}
/* Slot of key; *fresh says whether it was inserted. The map never fills:
 * callers size it for every key they insert. */
static uint64_t map_slot(map *m, uint64_t key, int *fresh) {
  uint64_t h = (key * 0x9E3779B97F4A7C15ull) >> 17;
  for (;; h++) {
    uint64_t i = h & m->mask;
    if (m->k[i] == key) {
      *fresh = 0;
      return i;
    }
    if (!m->k[i]) {
      m->k[i] = key;
      m->n++;
      *fresh = 1;
      return i;
    }
  }
}
static uint64_t rec_key(const char *src, size_t sl, const char *id, size_t il) {
  uint64_t h = XXH3_64bits_withSeed(id, il, XXH3_64bits(src, sl));
  return h ? h : 1;
}

static inline uint64_t pairs_of(uint64_t n) { return n * (n ? n - 1 : 0) / 2; }

static int read_truth(const char *truth_csv, int threads, tsr_store **out, tsr_error *err) {
  json_t *cfgj = json_pack("{s:i, s:[{s:s, s:s, s:s, s:{s:{s:s, s:b}, s:{s:s}, s:{s:s, s:b}}}]}", "version", 1,
                           "sources", "name", "truth", "path", truth_csv, "id", "record_id", "columns", "source",
                           "kind", "code", "required", 1, "record_id", "kind", "text", "patient_id", "kind",
                           "local_id", "required", 1);
  char *text = cfgj ? json_dumps(cfgj, 0) : NULL;
  json_decref(cfgj);
  if (!text) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  tsr_config *cfg = NULL;
  int rc = tsr_config_parse(text, strlen(text), truth_csv, "", &cfg, err);
  free(text);
  if (rc) return rc;
  tsr_ingest_opts io;
  tsr_ingest_opts_init(&io);
  io.threads = threads;
  io.enforce_reject_limit = 1;
  cfg->sources[0].max_reject_share = 0.0; /* truth must be clean */
  rc = tsr_ingest_source(&cfg->sources[0], &io, out, NULL, err);
  tsr_config_free(cfg);
  return rc;
}

int tsr_evaluate(const char *links_parquet, const char *truth_csv, int threads, tsr_eval *o, tsr_error *err) {
  memset(o, 0, sizeof *o);
  tsr_error_clear(err);
  double t0 = tsr__now();
  tsr_pq_reader *rd = NULL;
  tsr_pq_column csrc = {0}, cid = {0}, cpid = {0};
  tsr_store *truth = NULL;
  map recs = {0}, tids = {0}, cells = {0};
  uint64_t *npred = NULL, *ntrue = NULL, *pcells = NULL, *tcells = NULL;
  int rc = tsr_pq_reader_open(links_parquet, NULL, &rd, err);
  if (rc) goto done;
  static const char *const need[] = {"source", "record_id", "patient_id"};
  static const tsr_pq_type need_t[] = {TSR_PQ_STRING, TSR_PQ_STRING, TSR_PQ_INT64};
  for (int i = 0; i < 3; i++) {
    long c = tsr_pq_reader_find(rd, need[i]);
    if (c < 0 || tsr_pq_reader_col_type(rd, (size_t)c) != need_t[i]) {
      rc = tsr_error_set(err, TSR_EPARSE, links_parquet, 0, 0, "expected a %s column \"%s\" (is this a links file?)",
                         tsr_pq_type_name(need_t[i]), need[i]);
      goto done;
    }
  }
  if ((rc = tsr_pq_read_column_by_name(rd, "source", &csrc, err)) != 0) goto done;
  if ((rc = tsr_pq_read_column_by_name(rd, "record_id", &cid, err)) != 0) goto done;
  if ((rc = tsr_pq_read_column_by_name(rd, "patient_id", &cpid, err)) != 0) goto done;
  const uint64_t nl = tsr_pq_reader_rows(rd);
  o->records_links = nl;
  if ((rc = read_truth(truth_csv, threads, &truth, err)) != 0) goto done;
  const uint64_t nt = tsr_store_rows(truth);
  o->records_truth = nt;
  const tsr_column *ts = tsr_store_field(truth, "source"), *tp = tsr_store_field(truth, "patient_id");
  /* truth: record -> dense true cluster id */
  if (map_init(&recs, nt) || map_init(&tids, nt)) goto oom;
  for (uint64_t r = 0; r < nt; r++) {
    uint32_t sid = ts->code16 ? ts->code16[r] : ts->code32[r];
    const char *sp = ts->dict + ts->dict_off[sid - 1];
    size_t sl = ts->dict_off[sid] - ts->dict_off[sid - 1];
    tsr_view id = tsr_store_id(truth, r);
    int fresh;
    uint64_t th = tp->hash[r], tslot = map_slot(&tids, th, &fresh);
    if (fresh) tids.v[tslot] = tids.n - 1;
    uint64_t slot = map_slot(&recs, rec_key(sp, sl, id.ptr, id.len), &fresh);
    if (!fresh) {
      rc = tsr_error_set(err, TSR_EPARSE, truth_csv, r + 2, 0, "record (%.*s, %.*s) appears twice in the truth",
                         (int)sl, sp, (int)id.len, id.ptr);
      goto done;
    }
    recs.v[slot] = tids.v[tslot] + 1; /* 0 = already used by a links row */
  }
  o->clusters_true = tids.n;
  uint64_t maxp = 0;
  for (uint64_t i = 0; i < nl; i++) {
    if (!cpid.valid[i] || cpid.values.i64[i] < 1) {
      rc = tsr_error_set(err, TSR_EPARSE, links_parquet, 0, 0, "row %llu: patient_id is missing or not positive",
                         (unsigned long long)i + 1);
      goto done;
    }
    if ((uint64_t)cpid.values.i64[i] > maxp) maxp = (uint64_t)cpid.values.i64[i];
  }
  npred = tsr__calloc(maxp + 1, sizeof *npred);
  pcells = tsr__calloc(maxp + 1, sizeof *pcells);
  ntrue = tsr__calloc(tids.n + 1, sizeof *ntrue);
  tcells = tsr__calloc(tids.n + 1, sizeof *tcells);
  if (!npred || !pcells || !ntrue || !tcells || map_init(&cells, nl < nt ? nl : nt)) goto oom;
  for (uint64_t i = 0; i < nl; i++) {
    tsr_view s = csrc.values.str[i], id = cid.values.str[i];
    uint64_t v;
    int found = 0;
    uint64_t key = rec_key(s.ptr ? s.ptr : "", s.len, id.ptr ? id.ptr : "", id.len);
    uint64_t h = (key * 0x9E3779B97F4A7C15ull) >> 17, slot = 0;
    for (;; h++) {
      slot = h & recs.mask;
      if (recs.k[slot] == key) {
        found = 1;
        break;
      }
      if (!recs.k[slot]) break;
    }
    if (!found || !(v = recs.v[slot])) {
      if (found) {
        rc = tsr_error_set(err, TSR_EPARSE, links_parquet, 0, 0, "record (%.*s, %.*s) appears twice", (int)s.len,
                           s.ptr, (int)id.len, id.ptr);
        goto done;
      }
      o->links_not_in_truth++;
      continue;
    }
    recs.v[slot] = 0;
    uint64_t tid = v - 1, p = (uint64_t)cpid.values.i64[i];
    npred[p]++;
    ntrue[tid]++;
    int fresh;
    uint64_t cs = map_slot(&cells, p << 32 | tid, &fresh);
    cells.v[cs]++;
    if (fresh) {
      pcells[p]++;
      tcells[tid]++;
    }
    o->records_scored++;
  }
  o->truth_not_in_links = nt - o->records_scored;
  /* sums over cells and margins */
  double bp = 0, br = 0;
  for (uint64_t i = 0; i <= cells.mask; i++) {
    if (!cells.k[i]) continue;
    uint64_t p = cells.k[i] >> 32, t = cells.k[i] & 0xffffffffu, n = cells.v[i];
    o->pairs_correct += pairs_of(n);
    if (n == npred[p] && n == ntrue[t]) o->clusters_exact++;
    bp += (double)n * (double)n / (double)npred[p];
    br += (double)n * (double)n / (double)ntrue[t];
  }
  for (uint64_t p = 1; p <= maxp; p++) {
    if (!npred[p]) continue;
    o->clusters_predicted++;
    o->pairs_predicted += pairs_of(npred[p]);
    o->predicted_clusters_merged += pcells[p] > 1;
  }
  for (uint64_t t = 0; t < tids.n; t++) {
    if (!ntrue[t]) continue;
    o->pairs_true += pairs_of(ntrue[t]);
    o->true_clusters_split += tcells[t] > 1;
  }
  o->precision = o->pairs_predicted ? (double)o->pairs_correct / (double)o->pairs_predicted : 1.0;
  o->recall = o->pairs_true ? (double)o->pairs_correct / (double)o->pairs_true : 1.0;
  o->f1 = o->precision + o->recall > 0 ? 2 * o->precision * o->recall / (o->precision + o->recall) : 0.0;
  o->cluster_precision = o->clusters_predicted ? (double)o->clusters_exact / (double)o->clusters_predicted : 1.0;
  uint64_t true_scored = 0;
  for (uint64_t t = 0; t < tids.n; t++) true_scored += ntrue[t] > 0;
  o->clusters_true = true_scored;
  o->cluster_recall = true_scored ? (double)o->clusters_exact / (double)true_scored : 1.0;
  o->bcubed_precision = o->records_scored ? bp / (double)o->records_scored : 1.0;
  o->bcubed_recall = o->records_scored ? br / (double)o->records_scored : 1.0;
  o->seconds = tsr__now() - t0;
  goto done;
oom:
  rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
done:
  tsr_pq_column_free(&csrc);
  tsr_pq_column_free(&cid);
  tsr_pq_column_free(&cpid);
  tsr_pq_reader_free(rd);
  tsr_store_free(truth);
  map_free(&recs);
  map_free(&tids);
  map_free(&cells);
  tsr__free(npred);
  tsr__free(ntrue);
  tsr__free(pcells);
  tsr__free(tcells);
  return rc;
}
