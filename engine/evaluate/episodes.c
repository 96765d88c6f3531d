/* Evaluate a run's hospital episodes against the spells truth: pairwise
 * precision and recall, exact matches, splits and merges of provider spells
 * and of continuous inpatient spells (include/tessera/evaluate.h,
 * tsr_evaluate_episodes).
 *
 * DESIGN
 *   The truth (epikey, spell_id, cips_id) is read with the ingest stage like
 *   the links truth (truth.c), so a bad row is named by line and column.
 *   Episodes are joined on XXH3("", record_id): row i of the file first tries
 *   row i of the truth (the generator lists both in hes_apc.csv order), then a
 *   key -> row table. Spell ids of both sides are made dense (u32) through
 *   key tables, and each partition is scored from its contingency cells
 *   (predicted, true), counted as runs of one radix-sorted u64 key, as
 *   evaluate.c does for patients:
 *
 *     episode -> (p, t)      p: predicted spell, t: true spell or NONE
 *     cells   = runs of p<<32|t (t != NONE)   -> pairs_correct, exact
 *     pieces of t = cells of t + its missed episodes           -> split
 *     pieces of p = cells of p + its episodes of no true spell  -> merged
 *
 *   True spell sizes run over the whole truth (nfull), so an episode the
 *   file lacks or left unfinished is a missed one, never a smaller truth. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "common/common_internal.h"
#include "evaluate/evaluate_internal.h"
#include "tessera/evaluate.h"
#include "tessera/parquet.h"
#include "tessera/store.h"

#define NONE UINT32_MAX

static inline int bits_for(uint64_t v) {
  int b = 1;
  while (b < 64 && (v >> b)) b++;
  return b;
}

/* Dense id of key (never 0) in m, a fresh one when new; NONE when out of
 * memory (and *oom set). */
static uint32_t dense_id(tsr__emap *m, uint64_t key, int *oom) {
  int fresh;
  uint64_t slot = tsr__emap_slot(m, key, &fresh);
  if (slot == UINT64_MAX) {
    *oom = 1;
    return NONE;
  }
  if (fresh) m->v[slot] = (uint32_t)(m->n - 1);
  return m->v[slot];
}

/* A table for up to n keys that never grows (load at most 3/4). */
static int emap_for(tsr__emap *m, uint64_t n) {
  uint64_t cap = 16;
  while (cap * 3 < n * 4 + 4) cap <<= 1;
  return tsr__emap_alloc(m, cap);
}

/* Scores one partition. The n entries of (pid, tid) are the judged episodes
 * with a predicted spell (tid NONE: no true spell); nfull[t] (ntid entries)
 * the true spell sizes over the whole truth; npid the predicted ids. pid is
 * overwritten. 0 or TSR_ENOMEM. */
static int score_partition(uint32_t *pid, const uint32_t *tid, uint64_t n, uint32_t npid, const uint32_t *nfull,
                           uint32_t ntid, tsr_eval_partition *o) {
  uint32_t *npred = tsr__calloc((size_t)npid + 1, sizeof *npred);
  uint32_t *pieces_p = tsr__calloc((size_t)npid + 1, sizeof *pieces_p);
  uint32_t *nmatched = tsr__calloc((size_t)ntid + 1, sizeof *nmatched);
  uint32_t *pieces_t = tsr__calloc((size_t)ntid + 1, sizeof *pieces_t);
  uint64_t *cells = tsr__malloc(sizeof *cells * (n + 1)), *tmp = tsr__malloc(sizeof *tmp * (n + 1));
  int rc = TSR_ENOMEM;
  if (!npred || !pieces_p || !nmatched || !pieces_t || !cells || !tmp) goto done;
  uint64_t nc = 0;
  for (uint64_t i = 0; i < n; i++) {
    assert(pid[i] < npid && (tid[i] == NONE || tid[i] < ntid));
    npred[pid[i]]++;
    if (tid[i] == NONE) {
      pieces_p[pid[i]]++; /* an episode of no true spell: a piece of its own */
      continue;
    }
    nmatched[tid[i]]++;
    cells[nc++] = (uint64_t)pid[i] << 32 | tid[i];
  }
  uint64_t *sorted = tsr__eval_radix_sort(cells, tmp, nc, 32 + bits_for(npid));
  if (!sorted) goto done;
  for (uint64_t i = 0; i < nc;) {
    uint64_t j = i + 1;
    while (j < nc && sorted[j] == sorted[i]) j++;
    uint32_t p = (uint32_t)(sorted[i] >> 32), t = (uint32_t)(sorted[i] & 0xffffffffu);
    uint64_t k = j - i;
    pieces_p[p]++;
    pieces_t[t]++;
    o->pairs_correct += tsr__eval_pairs_of(k);
    if (k == npred[p] && k == nfull[t]) o->exact++;
    i = j;
  }
  for (uint32_t p = 0; p < npid; p++) {
    if (!npred[p]) continue;
    o->predicted++;
    o->pairs_predicted += tsr__eval_pairs_of(npred[p]);
    o->merged += pieces_p[p] > 1;
  }
  for (uint32_t t = 0; t < ntid; t++) {
    assert(nmatched[t] <= nfull[t]);
    o->pairs_true += tsr__eval_pairs_of(nfull[t]);
    /* a missed episode (unfinished in the file, or not in it) is a piece */
    o->split += pieces_t[t] + (nfull[t] - nmatched[t]) > 1;
  }
  o->true_n = ntid;
  o->precision = o->pairs_predicted ? (double)o->pairs_correct / (double)o->pairs_predicted : 1.0;
  o->recall = o->pairs_true ? (double)o->pairs_correct / (double)o->pairs_true : 1.0;
  o->f1 = o->precision + o->recall > 0 ? 2 * o->precision * o->recall / (o->precision + o->recall) : 0.0;
  o->exact_share = ntid ? (double)o->exact / (double)ntid : 1.0;
  rc = 0;
done:
  tsr__free(npred);
  tsr__free(pieces_p);
  tsr__free(nmatched);
  tsr__free(pieces_t);
  tsr__free(cells);
  tsr__free(tmp);
  return rc;
}

/* The 1-based CSV column of name in the header of path, or 0. Only for
 * error messages. */
static uint32_t header_column(const char *path, const char *name) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  char line[4096];
  uint32_t col = 0;
  if (fgets(line, sizeof line, f)) {
    const size_t nl = strlen(name);
    char *p = line;
    for (uint32_t c = 1;; c++) {
      size_t k = strcspn(p, ",\r\n");
      size_t a = 0, b = k;
      while (a < b && (p[a] == '"' || p[a] == ' ')) a++;
      while (b > a && (p[b - 1] == '"' || p[b - 1] == ' ')) b--;
      if (b - a == nl && memcmp(p + a, name, nl) == 0) {
        col = c;
        break;
      }
      if (p[k] != ',') break;
      p += k + 1;
    }
  }
  fclose(f);
  return col;
}

int tsr_evaluate_episodes(const char *episodes_parquet, const char *truth_csv, int threads, tsr_eval_episodes *o,
                          tsr_error *err) {
  memset(o, 0, sizeof *o);
  tsr_error_clear(err);
  double t0 = tsr__now();
  tsr_pq_reader *rd = NULL;
  tsr_pq_column cid = {0}, csp = {0}, cci = {0};
  tsr_store *truth = NULL;
  tsr__emap recs = {0}, tsp = {0}, tci = {0}, psp = {0}, pci = {0};
  uint64_t *tkey = NULL;
  uint32_t *tspell = NULL, *tcips = NULL, *nfull_s = NULL, *nfull_c = NULL;
  uint32_t *p_s = NULL, *p_c = NULL, *t_s = NULL, *t_c = NULL, *cips_of = NULL;
  uint8_t *used = NULL;
  int oom = 0;
  uint64_t max_s = 0, max_c = 0;
  int rc = tsr_pq_reader_open(episodes_parquet, NULL, &rd, err);
  if (rc) goto done;
  static const char *const need[] = {"source", "record_id", "spell_id", "cips_id"};
  static const tsr_pq_type need_t[] = {TSR_PQ_STRING, TSR_PQ_STRING, TSR_PQ_INT64, TSR_PQ_INT64};
  for (int i = 0; i < 4; i++) {
    long c = tsr_pq_reader_find(rd, need[i]);
    if (c < 0 || tsr_pq_reader_col_type(rd, (size_t)c) != need_t[i]) {
      rc = tsr_error_set(err, TSR_EPARSE, episodes_parquet, 0, 0,
                         "expected a %s column \"%s\" (is this an episodes file?)", tsr_pq_type_name(need_t[i]),
                         need[i]);
      goto done;
    }
  }
  if ((rc = tsr_pq_read_column_by_name(rd, "record_id", &cid, err)) != 0) goto done;
  if ((rc = tsr_pq_read_column_by_name(rd, "spell_id", &csp, err)) != 0) goto done;
  if ((rc = tsr_pq_read_column_by_name(rd, "cips_id", &cci, err)) != 0) goto done;
  const uint64_t ne = tsr_pq_reader_rows(rd);
  o->records_file = ne;
  if (ne == 0) {
    rc = tsr_error_set(err, TSR_EPARSE, episodes_parquet, 0, 0, "the episodes file has no rows: nothing to score");
    goto done;
  }
  if (ne >= NONE) {
    rc = tsr_error_set(err, TSR_EPARSE, episodes_parquet, 0, 0, "more than %u episodes", NONE - 1);
    goto done;
  }
  for (uint64_t i = 0; i < ne; i++) {
    if (!cid.valid[i]) {
      rc = tsr_error_set(err, TSR_EPARSE, episodes_parquet, 0, 0, "row %llu: record_id is null",
                         (unsigned long long)i + 1);
      goto done;
    }
    if (csp.valid[i] != cci.valid[i]) {
      rc = tsr_error_set(err, TSR_EPARSE, episodes_parquet, 0, 0,
                         "row %llu: %s is null but %s is not; an unfinished episode has neither, a finished one both",
                         (unsigned long long)i + 1, csp.valid[i] ? "cips_id" : "spell_id",
                         csp.valid[i] ? "spell_id" : "cips_id");
      goto done;
    }
    if (csp.valid[i] && (csp.values.i64[i] < 1 || cci.values.i64[i] < 1)) {
      rc = tsr_error_set(err, TSR_EPARSE, episodes_parquet, 0, 0, "row %llu: %s %lld is below 1",
                         (unsigned long long)i + 1, csp.values.i64[i] < 1 ? "spell_id" : "cips_id",
                         (long long)(csp.values.i64[i] < 1 ? csp.values.i64[i] : cci.values.i64[i]));
      goto done;
    }
    o->unfinished_file += !csp.valid[i];
    if (csp.valid[i] && (uint64_t)csp.values.i64[i] > max_s) max_s = (uint64_t)csp.values.i64[i];
    if (cci.valid[i] && (uint64_t)cci.values.i64[i] > max_c) max_c = (uint64_t)cci.values.i64[i];
  }
  /* ids numbered 1..n, as the episode stage writes them, index arrays
   * directly; others go through a table */
  const int direct_s = max_s <= 2 * ne + 16 && max_s < NONE, direct_c = max_c <= 2 * ne + 16 && max_c < NONE;
  if ((rc = tsr__eval_read_truth_spells(truth_csv, threads, &truth, err)) != 0) goto done;
  const uint64_t nt = tsr_store_rows(truth);
  o->records_truth = nt;
  if (nt >= NONE) {
    rc = tsr_error_set(err, TSR_EPARSE, truth_csv, 0, 0, "more than %u truth rows", NONE - 1);
    goto done;
  }
  const tsr_column *ts = tsr_store_field(truth, "spell_id"), *tc = tsr_store_field(truth, "cips_id");
  assert(ts && tc && ts->hash && tc->hash);
  tkey = tsr__malloc(sizeof *tkey * (nt + 1));
  tspell = tsr__malloc(sizeof *tspell * (nt + 1));
  tcips = tsr__malloc(sizeof *tcips * (nt + 1));
  used = tsr__calloc(nt + 1, 1);
  if (!tkey || !tspell || !tcips || !used) goto oom;
  if (emap_for(&tsp, nt) || emap_for(&tci, nt)) goto oom;
  for (uint64_t r = 0; r < nt; r++) {
    const uint64_t hs = ts->hash[r], hc = tc->hash[r];
    if (!hs != !hc) {
      const char *miss = hs ? "cips_id" : "spell_id";
      rc = tsr_error_set(err, TSR_EPARSE, truth_csv, r + 2, header_column(truth_csv, miss),
                         "%s is empty but %s is not; an episode with no true spell has neither, others both", miss,
                         hs ? "spell_id" : "cips_id");
      goto done;
    }
    tsr_view id = tsr_store_id(truth, r);
    tkey[r] = tsr__eval_rec_key("", 0, id.ptr, id.len);
    if (!hs) {
      tspell[r] = tcips[r] = NONE;
      o->unfinished_truth++;
      continue;
    }
    tspell[r] = dense_id(&tsp, hs, &oom);
    tcips[r] = dense_id(&tci, hc, &oom);
    if (oom) goto oom;
  }
  const uint32_t nts = (uint32_t)tsp.n, ntc = (uint32_t)tci.n;
  /* a spell lies in one CIPS, on both sides: else the file or the truth is
   * broken, and no figure would mean anything */
  const uint64_t npid_s = direct_s ? max_s : ne; /* predicted spell ids below this */
  cips_of = tsr__malloc(sizeof *cips_of * ((nts > npid_s ? nts : npid_s) + 1));
  if (!cips_of) goto oom;
  memset(cips_of, 0xff, sizeof *cips_of * nts);
  for (uint64_t r = 0; r < nt; r++) {
    if (tspell[r] == NONE) continue;
    if (cips_of[tspell[r]] == NONE) cips_of[tspell[r]] = tcips[r];
    else if (cips_of[tspell[r]] != tcips[r]) {
      tsr_view id = tsr_store_id(truth, r);
      rc = tsr_error_set(err, TSR_EPARSE, truth_csv, r + 2, header_column(truth_csv, "cips_id"),
                         "epikey %.*s: its spell is in another CIPS on an earlier line; a spell lies in one CIPS",
                         (int)id.len, id.ptr);
      goto done;
    }
  }
  memset(cips_of, 0xff, sizeof *cips_of * npid_s); /* now by predicted spell */
  nfull_s = tsr__calloc((size_t)nts + 1, sizeof *nfull_s);
  nfull_c = tsr__calloc((size_t)ntc + 1, sizeof *nfull_c);
  p_s = tsr__malloc(sizeof *p_s * (ne + 1));
  p_c = tsr__malloc(sizeof *p_c * (ne + 1));
  t_s = tsr__malloc(sizeof *t_s * (ne + 1));
  t_c = tsr__malloc(sizeof *t_c * (ne + 1));
  if (!nfull_s || !nfull_c || !p_s || !p_c || !t_s || !t_c) goto oom;
  for (uint64_t r = 0; r < nt; r++) {
    if (tspell[r] == NONE) continue;
    nfull_s[tspell[r]]++;
    nfull_c[tcips[r]]++;
  }
  if ((!direct_s && emap_for(&psp, ne)) || (!direct_c && emap_for(&pci, ne))) goto oom;
  uint64_t n = 0; /* judged episodes with a predicted spell */
  for (uint64_t i = 0; i < ne; i++) {
    tsr_view id = cid.values.str[i];
    uint64_t key = tsr__eval_rec_key("", 0, id.ptr ? id.ptr : "", id.len), row;
    if (i < nt && tkey[i] == key) {
      row = i; /* the usual case: both files list the episodes in the same order */
    } else {
      if (!recs.k) {
        int64_t d = tsr__emap_build_rows(&recs, tkey, nt);
        if (d == -2) goto oom;
        assert(d == -1); /* ingest refused a repeated epikey */
      }
      uint64_t slot = tsr__emap_find(&recs, key);
      if (slot == UINT64_MAX) {
        o->not_in_truth++;
        continue;
      }
      row = recs.v[slot];
    }
    if (used[row]) {
      rc = tsr_error_set(err, TSR_EPARSE, episodes_parquet, 0, 0, "row %llu: record_id %.*s appears twice",
                         (unsigned long long)i + 1, (int)id.len, id.ptr);
      goto done;
    }
    used[row] = 1;
    o->records_scored++;
    if (!csp.valid[i]) {
      if (tspell[row] == NONE) o->left_out++;
      else o->missed++;
      continue;
    }
    o->no_true_spell += tspell[row] == NONE;
    p_s[n] = direct_s ? (uint32_t)(csp.values.i64[i] - 1) : dense_id(&psp, (uint64_t)csp.values.i64[i], &oom);
    p_c[n] = direct_c ? (uint32_t)(cci.values.i64[i] - 1) : dense_id(&pci, (uint64_t)cci.values.i64[i], &oom);
    if (oom) goto oom;
    if (cips_of[p_s[n]] == NONE) cips_of[p_s[n]] = p_c[n];
    else if (cips_of[p_s[n]] != p_c[n]) {
      rc = tsr_error_set(err, TSR_EPARSE, episodes_parquet, 0, 0,
                         "row %llu: spell_id %lld is in cips_id %lld here and in another CIPS on an earlier row; a "
                         "spell lies in one CIPS",
                         (unsigned long long)i + 1, (long long)csp.values.i64[i], (long long)cci.values.i64[i]);
      goto done;
    }
    t_s[n] = tspell[row];
    t_c[n] = tcips[row];
    n++;
  }
  if (o->records_scored == 0) {
    rc = tsr_error_set(err, TSR_EPARSE, episodes_parquet, 0, 0,
                       "no episode is in both files: none of the %llu rows has a record_id that is an epikey of the "
                       "%llu rows of %s, so nothing can be scored (are they from the same data?)",
                       (unsigned long long)ne, (unsigned long long)nt, truth_csv);
    goto done;
  }
  o->truth_not_in_file = nt - o->records_scored;
  if (score_partition(p_s, t_s, n, (uint32_t)(direct_s ? max_s : psp.n), nfull_s, nts, &o->spells) ||
      score_partition(p_c, t_c, n, (uint32_t)(direct_c ? max_c : pci.n), nfull_c, ntc, &o->cips))
    goto oom;
  o->seconds = tsr__now() - t0;
  goto done;
oom:
  rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
done:
  tsr_pq_column_free(&cid);
  tsr_pq_column_free(&csp);
  tsr_pq_column_free(&cci);
  tsr_pq_reader_free(rd);
  tsr_store_free(truth);
  tsr__emap_free(&recs);
  tsr__emap_free(&tsp);
  tsr__emap_free(&tci);
  tsr__emap_free(&psp);
  tsr__emap_free(&pci);
  tsr__free(tkey);
  tsr__free(tspell);
  tsr__free(tcips);
  tsr__free(nfull_s);
  tsr__free(nfull_c);
  tsr__free(p_s);
  tsr__free(p_c);
  tsr__free(t_s);
  tsr__free(t_c);
  tsr__free(cips_of);
  tsr__free(used);
  return rc;
}
