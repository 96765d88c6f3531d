/* Evaluate a run against ground truth (include/tessera/evaluate.h).
 *
 * DESIGN
 *   Truth is read with the ingest stage itself (a generated source config:
 *   source as a code, record_id as text, patient_id as a local id), so it gets
 *   the same validation and error messages as any input. Records are joined
 *   on XXH3(source, record_id): row i of the links first tries row i of the
 *   truth (both list records in source and file order when the truth comes
 *   from the generator), then an open-addressing table from key to row. The
 *   (predicted, true) contingency cells are counted in a second table. Every
 *   measure is a sum over cells, so nothing is sorted. The tables grow with
 *   the distinct keys and hold 12 bytes a slot.
 *
 *   Who is judged against what: precision judges the rows the run wrote (a
 *   link row whose record is not in the truth cannot be judged and is left
 *   out); recall judges against EVERY truth record. A truth record missing
 *   from the links (rejected at ingest, say) is a record the run failed to
 *   link, so its true pairs count as missed and, for B-cubed, it stands as a
 *   singleton. True cluster sizes are therefore counted over the whole truth
 *   (nfull), not over the records both files share (ntrue). When no record is
 *   in both files nothing can be judged, and that is an error, not 1.0. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/common_internal.h"
#include "evaluate/evaluate_internal.h"
#include "tessera/config.h"
#include "tessera/evaluate.h"
#include "tessera/ingest.h"
#include "tessera/parquet.h"

static inline int bits_for(uint64_t v) {
  int b = 1;
  while (b < 64 && (v >> b)) b++;
  return b;
}

static inline uint64_t pairs_of(uint64_t n) { return tsr__eval_pairs_of(n); }

int tsr_evaluate(const char *links_parquet, const char *truth_csv, int threads, tsr_eval *o, tsr_error *err) {
  memset(o, 0, sizeof *o);
  tsr_error_clear(err);
  double t0 = tsr__now();
  tsr_pq_reader *rd = NULL;
  tsr_pq_column csrc = {0}, cid = {0}, cpid = {0};
  tsr_store *truth = NULL;
  tsr__emap recs = {0}, tids = {0}, cells = {0};
  uint32_t *npred = NULL, *ntrue = NULL, *nfull = NULL, *pcells = NULL, *tcells = NULL, *ttid = NULL;
  uint64_t *tkey = NULL, *pairs = NULL;
  uint8_t *used = NULL;
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
  if (nl == 0) {
    rc = tsr_error_set(err, TSR_EPARSE, links_parquet, 0, 0, "the links file has no rows: nothing to score");
    goto done;
  }
  if ((rc = tsr__eval_read_truth(truth_csv, threads, &truth, err)) != 0) goto done;
  const uint64_t nt = tsr_store_rows(truth);
  o->records_truth = nt;
  const tsr_column *ts = tsr_store_field(truth, "source"), *tp = tsr_store_field(truth, "patient_id");
  /* truth: each row's key and dense true cluster id; a table from key to
   * row finds records that are not in the same position in both files */
  tkey = tsr__malloc(sizeof *tkey * (nt + 1));
  ttid = tsr__malloc(sizeof *ttid * (nt + 1));
  used = tsr__calloc(nt + 1, 1);
  if (!tkey || !ttid || !used) goto oom;
  if (tsr__emap_alloc(&tids, 1u << 16)) goto oom;
  for (uint64_t r = 0; r < nt; r++) {
    uint32_t sid = ts->code16 ? ts->code16[r] : ts->code32[r];
    const char *sp = ts->dict + ts->dict_off[sid - 1];
    size_t sl = ts->dict_off[sid] - ts->dict_off[sid - 1];
    tsr_view id = tsr_store_id(truth, r);
    int fresh;
    uint64_t tslot = tsr__emap_slot(&tids, tp->hash[r], &fresh);
    if (tslot == UINT64_MAX) goto oom;
    if (fresh) tids.v[tslot] = (uint32_t)(tids.n - 1);
    ttid[r] = tids.v[tslot];
    tkey[r] = tsr__eval_rec_key(sp, sl, id.ptr, id.len);
  }
  /* a record twice in the truth: sorted keys side by side (then the table
   * finds its line) */
  {
    uint64_t *a = tsr__malloc(sizeof *a * (nt + 1)), *b = tsr__malloc(sizeof *b * (nt + 1)), *sorted = NULL;
    if (a && b) {
      memcpy(a, tkey, sizeof *a * nt);
      sorted = tsr__eval_radix_sort(a, b, nt, 64);
    }
    int dup = 0;
    for (uint64_t i = 1; sorted && i < nt && !dup; i++) dup = sorted[i] == sorted[i - 1];
    tsr__free(a);
    tsr__free(b);
    if (!sorted) goto oom;
    if (dup) {
      int64_t d = tsr__emap_build_rows(&recs, tkey, nt);
      if (d == -2) goto oom;
      uint64_t r = d >= 0 ? (uint64_t)d : 0;
      uint32_t sid = ts->code16 ? ts->code16[r] : ts->code32[r];
      tsr_view id = tsr_store_id(truth, r);
      rc = tsr_error_set(err, TSR_EPARSE, truth_csv, r + 2, 0, "record (%.*s, %.*s) appears twice in the truth",
                         (int)(ts->dict_off[sid] - ts->dict_off[sid - 1]), ts->dict + ts->dict_off[sid - 1],
                         (int)id.len, id.ptr);
      goto done;
    }
  }
  o->clusters_true = tids.n;
  uint64_t maxp = 0;
  for (uint64_t i = 0; i < nl; i++) {
    if (!cpid.valid[i] || cpid.values.i64[i] < 1 || cpid.values.i64[i] > (int64_t)UINT32_MAX) {
      rc = tsr_error_set(err, TSR_EPARSE, links_parquet, 0, 0,
                         "row %llu: patient_id is missing or outside 1 .. 4294967295", (unsigned long long)i + 1);
      goto done;
    }
    if ((uint64_t)cpid.values.i64[i] > maxp) maxp = (uint64_t)cpid.values.i64[i];
  }
  npred = tsr__calloc(maxp + 1, sizeof *npred);
  pcells = tsr__calloc(maxp + 1, sizeof *pcells);
  ntrue = tsr__calloc(tids.n + 1, sizeof *ntrue);
  nfull = tsr__calloc(tids.n + 1, sizeof *nfull);
  tcells = tsr__calloc(tids.n + 1, sizeof *tcells);
  pairs = tsr__malloc(sizeof *pairs * (nl + 1));
  if (!npred || !pcells || !ntrue || !nfull || !tcells || !pairs) goto oom;
  for (uint64_t r = 0; r < nt; r++) nfull[ttid[r]]++;
  uint64_t np = 0;
  for (uint64_t i = 0; i < nl; i++) {
    tsr_view s = csrc.values.str[i], id = cid.values.str[i];
    uint64_t key = tsr__eval_rec_key(s.ptr ? s.ptr : "", s.len, id.ptr ? id.ptr : "", id.len), row;
    if (i < nt && tkey[i] == key) {
      row = i; /* the usual case: both files list the records in the same order */
    } else {
      if (!recs.k && tsr__emap_build_rows(&recs, tkey, nt) == -2) goto oom;
      uint64_t slot = tsr__emap_find(&recs, key);
      if (slot == UINT64_MAX) {
        o->links_not_in_truth++;
        continue;
      }
      row = recs.v[slot];
    }
    if (used[row]) {
      rc = tsr_error_set(err, TSR_EPARSE, links_parquet, 0, 0, "record (%.*s, %.*s) appears twice", (int)s.len, s.ptr,
                         (int)id.len, id.ptr);
      goto done;
    }
    used[row] = 1;
    uint64_t p = (uint64_t)cpid.values.i64[i];
    npred[p]++;
    ntrue[ttid[row]]++;
    pairs[np++] = p << 32 | ttid[row];
  }
  o->records_scored = np;
  if (np == 0) {
    rc = tsr_error_set(err, TSR_EPARSE, links_parquet, 0, 0,
                       "no record is in both files: none of the %llu link rows has a (source, record_id) of the "
                       "%llu rows of %s, so nothing can be scored (are they from the same data?)",
                       (unsigned long long)nl, (unsigned long long)nt, truth_csv);
    goto done;
  }
  /* contingency cells: runs of equal (predicted, true) in sorted order */
  uint64_t *tmp = tsr__malloc(sizeof *tmp * (np + 1));
  uint64_t *sorted = tmp ? tsr__eval_radix_sort(pairs, tmp, np, 32 + bits_for(maxp)) : NULL;
  if (!sorted) {
    tsr__free(tmp);
    goto oom;
  }
  double bp = 0, br = 0;
  for (uint64_t i = 0; i < np;) {
    uint64_t j = i + 1;
    while (j < np && sorted[j] == sorted[i]) j++;
    uint64_t p = sorted[i] >> 32, t = sorted[i] & 0xffffffffu, n = j - i;
    pcells[p]++;
    tcells[t]++;
    o->pairs_correct += pairs_of(n);
    if (n == npred[p] && n == nfull[t]) o->clusters_exact++;
    bp += (double)n * (double)n / (double)npred[p];
    br += (double)n * (double)n / (double)nfull[t];
    i = j;
  }
  tsr__free(tmp);
  o->truth_not_in_links = nt - o->records_scored;
  for (uint64_t p = 1; p <= maxp; p++) {
    if (!npred[p]) continue;
    o->clusters_predicted++;
    o->pairs_predicted += pairs_of(npred[p]);
    o->predicted_clusters_merged += pcells[p] > 1;
  }
  /* recall's denominators run over every truth record: a true cluster with
   * members missing from the links keeps its full size, and a missing member
   * is a B-cubed singleton (it is found with itself only) */
  for (uint64_t t = 0; t < tids.n; t++) {
    o->pairs_true += pairs_of(nfull[t]);
    o->pairs_true_missing += pairs_of(nfull[t]) - pairs_of(ntrue[t]);
    o->true_clusters_split += tcells[t] + (nfull[t] - ntrue[t]) > 1;
    br += (double)(nfull[t] - ntrue[t]) / (double)nfull[t];
  }
  o->precision = o->pairs_predicted ? (double)o->pairs_correct / (double)o->pairs_predicted : 1.0;
  o->recall = o->pairs_true ? (double)o->pairs_correct / (double)o->pairs_true : 1.0;
  o->f1 = o->precision + o->recall > 0 ? 2 * o->precision * o->recall / (o->precision + o->recall) : 0.0;
  o->cluster_precision = o->clusters_predicted ? (double)o->clusters_exact / (double)o->clusters_predicted : 1.0;
  o->clusters_true = tids.n;
  o->cluster_recall = tids.n ? (double)o->clusters_exact / (double)tids.n : 1.0;
  o->bcubed_precision = bp / (double)o->records_scored;
  o->bcubed_recall = nt ? br / (double)nt : 1.0;
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
  tsr__emap_free(&recs);
  tsr__emap_free(&tids);
  tsr__emap_free(&cells);
  tsr__free(tkey);
  tsr__free(pairs);
  tsr__free(ttid);
  tsr__free(used);
  tsr__free(npred);
  tsr__free(ntrue);
  tsr__free(nfull);
  tsr__free(pcells);
  tsr__free(tcells);
  return rc;
}
