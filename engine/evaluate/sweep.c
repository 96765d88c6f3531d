/* Threshold sweep of a probabilistic run's pairs.parquet against ground truth
 * (include/tessera/evaluate.h, tsr_evaluate_sweep).
 *
 * DESIGN
 *   The truth is read as tsr_evaluate reads it (truth.c). Each truth row gets
 *   its record key, a dense true cluster id and its source's code; a table
 *   from key to row finds the pairs' records (and refuses a record twice).
 *   Rows of sources the run did not use (opts.sources) stay in the table, so
 *   a duplicate is still named, but are left out of everything else.
 *   True pairs are counted per (cluster, source) run of the rows sorted on
 *   cluster << 32 | source, so the mode can keep the pairs across sources
 *   (all minus within), within them, or all.
 *
 *   The pairs file is read a side at a time (source_a and id_a, then the b
 *   side, then the scores), each side turned into truth rows at once, so at
 *   most two string columns are held. Each judged pair keeps its truth rows
 *   (for the duplicate check, which names the records), its weight, its
 *   probability and whether it is true. The judged pairs are then sorted on
 *   weight, descending, by an LSD radix sort of the weight's order-preserving
 *   64-bit image (stable, so ties keep file order and the result does not
 *   depend on anything but the file):
 *
 *       sorted weight   w0 >= w1 >= w2 >= ... >= w(n-1)
 *       cum_tp          0, t0, t0+t1, ...                 (n + 1 entries)
 *
 *   The pairs predicted at threshold t are a prefix (weight >= log2(t/(1-t)),
 *   found by binary search), so every point is O(log n) and the best F1 is
 *   one pass over the boundaries between distinct weights. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/common_internal.h"
#include "evaluate/evaluate_internal.h"
#include "tessera/evaluate.h"
#include "tessera/parquet.h"

static const double GRID[TSR_SWEEP_GRID_N] = {0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
                                              0.7,  0.8,  0.9, 0.95, 0.99, 0.999, 0.9999};

const double *tsr_sweep_grid(void) { return GRID; }

const char *tsr_sweep_mode_name(tsr_sweep_mode m) {
  switch (m) {
  case TSR_SWEEP_LINK:
    return "link";
  case TSR_SWEEP_DEDUPE:
    return "dedupe";
  default:
    return "link_and_dedupe";
  }
}

int tsr_sweep_mode_parse(const char *s, tsr_sweep_mode *out) {
  static const tsr_sweep_mode all[] = {TSR_SWEEP_BOTH, TSR_SWEEP_LINK, TSR_SWEEP_DEDUPE};
  for (int i = 0; s && i < 3; i++)
    if (strcmp(s, tsr_sweep_mode_name(all[i])) == 0) {
      *out = all[i];
      return 0;
    }
  return TSR_EINVAL;
}

void tsr_sweep_opts_init(tsr_sweep_opts *o) {
  memset(o, 0, sizeof *o);
  o->mode = TSR_SWEEP_BOTH;
  o->at = -1;
}

void tsr_sweep_free(tsr_sweep *s) {
  if (!s) return;
  tsr__free(s->pairs_file);
  tsr__free(s->truth);
  tsr__free(s->points);
  memset(s, 0, sizeof *s);
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = tsr__malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* The weight a probability threshold stands for (Splink's
 * prob_to_match_weight, the same expression). */
static double weight_of(double p) { return log2(p / (1.0 - p)); }

/* Order-preserving image of a double, complemented so that ascending keys
 * are descending weights. */
static uint64_t desc_key(double w) {
  uint64_t u;
  memcpy(&u, &w, sizeof u);
  u = (u >> 63) ? ~u : u | (1ull << 63);
  return ~u;
}

/* desc_key undone. */
static double key_weight(uint64_t k) {
  uint64_t u = ~k;
  u = (u >> 63) ? u & ~(1ull << 63) : ~u;
  double w;
  memcpy(&w, &u, sizeof w);
  return w;
}

/* Stable LSD radix sort of (key, idx) on the key, 16 bits a pass; the
 * sorted keys and indexes end in *key_out and *idx_out (key or ktmp, idx or
 * itmp). */
static int sort_by_key(uint64_t *key, uint32_t *idx, uint64_t *ktmp, uint32_t *itmp, uint64_t n, uint64_t **key_out,
                       uint32_t **idx_out) {
  enum { R = 1 << 16 };
  uint64_t *cnt = tsr__malloc(sizeof *cnt * R);
  if (!cnt) return TSR_ENOMEM;
  for (int shift = 0; shift < 64; shift += 16) {
    memset(cnt, 0, sizeof *cnt * R);
    for (uint64_t i = 0; i < n; i++) cnt[(key[i] >> shift) & (R - 1)]++;
    if (cnt[(key[0] >> shift) & (R - 1)] == n) continue; /* one digit value: the pass changes nothing */
    uint64_t sum = 0;
    for (uint32_t d = 0; d < R; d++) {
      uint64_t c = cnt[d];
      cnt[d] = sum;
      sum += c;
    }
    for (uint64_t i = 0; i < n; i++) {
      uint64_t at = cnt[(key[i] >> shift) & (R - 1)]++;
      ktmp[at] = key[i];
      itmp[at] = idx[i];
    }
    uint64_t *kt = key;
    key = ktmp;
    ktmp = kt;
    uint32_t *it = idx;
    idx = itmp;
    itmp = it;
  }
  tsr__free(cnt);
  *key_out = key;
  *idx_out = idx;
  return 0;
}

static void fill_point(tsr_sweep_point *p, double threshold, double weight, uint64_t predicted, uint64_t tp,
                       uint64_t true_pairs) {
  p->threshold = threshold;
  p->match_weight = weight;
  p->predicted = predicted;
  p->true_positives = tp;
  /* the conventions of tsr_evaluate: nothing predicted is precision 1, no
   * true pair is recall 1 */
  p->precision = predicted ? (double)tp / (double)predicted : 1.0;
  p->recall = true_pairs ? (double)tp / (double)true_pairs : 1.0;
  p->f1 = p->precision + p->recall > 0 ? 2 * p->precision * p->recall / (p->precision + p->recall) : 0.0;
}

/* 1 when the mode does not compare a pair of records of the same source
 * (same = 1) or of two sources (same = 0). */
static int outside_mode(tsr_sweep_mode m, int same) {
  return (m == TSR_SWEEP_LINK && same) || (m == TSR_SWEEP_DEDUPE && !same);
}

/* Judged pairs with weight >= w: the first index of sw (descending) below w. */
static uint64_t count_at_least(const double *sw, uint64_t n, double w) {
  uint64_t lo = 0, hi = n;
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    if (sw[mid] >= w) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* "(source, id)" of truth row r, for messages. */
static void rec_name(const tsr_store *truth, uint64_t r, char *out, size_t cap) {
  const tsr_column *ts = tsr_store_field(truth, "source");
  uint32_t sid = ts->code16 ? ts->code16[r] : ts->code32[r];
  tsr_view id = tsr_store_id(truth, r);
  snprintf(out, cap, "(%.*s, %.*s)", (int)(ts->dict_off[sid] - ts->dict_off[sid - 1]), ts->dict + ts->dict_off[sid - 1],
           (int)id.len, id.ptr);
}

/* One side of every pair as truth rows (UINT32_MAX: not in the truth). */
static int read_side(tsr_pq_reader *rd, const char *path, const char *scol, const char *icol, const tsr__emap *recs,
                     uint32_t *row, tsr_error *err) {
  tsr_pq_column cs = {0}, ci = {0};
  int rc = tsr_pq_read_column_by_name(rd, scol, &cs, err);
  if (!rc) rc = tsr_pq_read_column_by_name(rd, icol, &ci, err);
  for (uint64_t i = 0; !rc && i < cs.nrows; i++) {
    if (!cs.valid[i] || !ci.valid[i]) {
      rc = tsr_error_set(err, TSR_EPARSE, path, 0, 0, "row %llu: %s is null; every pair needs both records",
                         (unsigned long long)i + 1, cs.valid[i] ? icol : scol);
      break;
    }
    tsr_view s = cs.values.str[i], id = ci.values.str[i];
    uint64_t slot = tsr__emap_find(recs, tsr__eval_rec_key(s.ptr ? s.ptr : "", s.len, id.ptr ? id.ptr : "", id.len));
    row[i] = slot == UINT64_MAX ? UINT32_MAX : recs->v[slot];
  }
  tsr_pq_column_free(&cs);
  tsr_pq_column_free(&ci);
  return rc;
}

static int check_opts(const tsr_sweep_opts *o, tsr_error *err) {
  for (size_t i = 0; i < o->nthresholds; i++)
    if (!(o->thresholds[i] > 0 && o->thresholds[i] < 1) || (i && !(o->thresholds[i] > o->thresholds[i - 1])))
      return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0,
                           "threshold %zu (%g): thresholds must be probabilities in (0, 1), ascending", i + 1,
                           o->thresholds[i]);
  if (o->thresholds == NULL && o->nthresholds)
    return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "thresholds is NULL but nthresholds is %zu", o->nthresholds);
  if (!(o->pairs_floor >= 0 && o->pairs_floor < 1))
    return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "pairs_floor %g is outside [0, 1)", o->pairs_floor);
  if (o->mode != TSR_SWEEP_BOTH && o->mode != TSR_SWEEP_LINK && o->mode != TSR_SWEEP_DEDUPE)
    return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "unknown mode %d", (int)o->mode);
  return 0;
}

int tsr_evaluate_sweep(const char *pairs_parquet, const char *truth_csv, const tsr_sweep_opts *opts, tsr_sweep *o,
                       tsr_error *err) {
  memset(o, 0, sizeof *o);
  tsr_error_clear(err);
  tsr_sweep_opts dflt;
  if (!opts) {
    tsr_sweep_opts_init(&dflt);
    opts = &dflt;
  }
  int rc = check_opts(opts, err);
  if (rc) return rc;
  const double t0 = tsr__now();
  const double *grid = opts->thresholds ? opts->thresholds : GRID;
  const size_t ngrid = opts->thresholds ? opts->nthresholds : TSR_SWEEP_GRID_N;
  tsr_pq_reader *rd = NULL;
  tsr_pq_column cw = {0}, cp = {0};
  tsr_store *truth = NULL;
  tsr__emap recs = {0}, tids = {0};
  uint64_t *tkey = NULL, *ck = NULL, *ctmp = NULL, *pk = NULL, *ptmp = NULL, *wk = NULL, *wtmp = NULL, *cum = NULL;
  uint32_t *ttid = NULL, *tsid = NULL, *ra = NULL, *rb = NULL, *jrow = NULL, *widx = NULL, *witmp = NULL;
  double *sw = NULL;
  uint8_t *jtrue = NULL, *use = NULL;

  o->mode = opts->mode;
  o->pairs_floor = opts->pairs_floor;
  o->pairs_file = dup_str(pairs_parquet);
  o->truth = dup_str(truth_csv);
  if (!o->pairs_file || !o->truth) goto oom;

  if ((rc = tsr_pq_reader_open(pairs_parquet, NULL, &rd, err)) != 0) goto done;
  static const char *const need[] = {"source_a", "id_a", "source_b", "id_b", "match_weight", "match_probability"};
  static const tsr_pq_type need_t[] = {TSR_PQ_STRING, TSR_PQ_STRING, TSR_PQ_STRING,
                                       TSR_PQ_STRING, TSR_PQ_DOUBLE, TSR_PQ_DOUBLE};
  for (int i = 0; i < 6; i++) {
    long c = tsr_pq_reader_find(rd, need[i]);
    if (c < 0) {
      rc = tsr_error_set(err, TSR_EPARSE, pairs_parquet, 0, 0,
                         "expected a %s column \"%s\", found none (is this a pairs file of a probabilistic run?)",
                         tsr_pq_type_name(need_t[i]), need[i]);
      goto done;
    }
    if (tsr_pq_reader_col_type(rd, (size_t)c) != need_t[i]) {
      rc = tsr_error_set(err, TSR_EPARSE, pairs_parquet, 0, 0, "expected a %s column \"%s\", found %s",
                         tsr_pq_type_name(need_t[i]), need[i],
                         tsr_pq_type_name(tsr_pq_reader_col_type(rd, (size_t)c)));
      goto done;
    }
  }
  const uint64_t np = tsr_pq_reader_rows(rd);
  o->pairs_in_file = np;
  if (np >= UINT32_MAX) {
    rc = tsr_error_set(err, TSR_ELIMIT, pairs_parquet, 0, 0, "the file has %llu pairs; the sweep takes at most %u",
                       (unsigned long long)np, UINT32_MAX - 1);
    goto done;
  }

  /* truth: key, dense true cluster and source code per row */
  if ((rc = tsr__eval_read_truth(truth_csv, opts->threads, &truth, err)) != 0) goto done;
  const uint64_t nt = tsr_store_rows(truth);
  o->records_truth = nt;
  if (nt >= UINT32_MAX) {
    rc = tsr_error_set(err, TSR_ELIMIT, truth_csv, 0, 0, "the truth has %llu rows; the sweep takes at most %u",
                       (unsigned long long)nt, UINT32_MAX - 1);
    goto done;
  }
  const tsr_column *ts = tsr_store_field(truth, "source"), *tp = tsr_store_field(truth, "patient_id");
  /* the run's sources among the truth's (by dictionary id) */
  use = tsr__calloc(ts->dict_n + 1, 1);
  if (!use) goto oom;
  for (uint32_t k = 1; k <= ts->dict_n; k++) {
    const char *nm = ts->dict + ts->dict_off[k - 1];
    const size_t nl = ts->dict_off[k] - ts->dict_off[k - 1];
    use[k] = opts->sources == NULL;
    for (size_t i = 0; i < opts->nsources && !use[k]; i++)
      use[k] = strlen(opts->sources[i]) == nl && memcmp(opts->sources[i], nm, nl) == 0;
  }
  tkey = tsr__malloc(sizeof *tkey * (nt + 1));
  ttid = tsr__malloc(sizeof *ttid * (nt + 1));
  tsid = tsr__malloc(sizeof *tsid * (nt + 1));
  if (!tkey || !ttid || !tsid || tsr__emap_alloc(&tids, 1u << 16)) goto oom;
  for (uint64_t r = 0; r < nt; r++) {
    uint32_t sid = ts->code16 ? ts->code16[r] : ts->code32[r];
    tsr_view id = tsr_store_id(truth, r);
    int fresh;
    uint64_t slot = tsr__emap_slot(&tids, tp->hash[r], &fresh);
    if (slot == UINT64_MAX) goto oom;
    if (fresh) tids.v[slot] = (uint32_t)(tids.n - 1);
    ttid[r] = tids.v[slot];
    tsid[r] = sid;
    tkey[r] = tsr__eval_rec_key(ts->dict + ts->dict_off[sid - 1], ts->dict_off[sid] - ts->dict_off[sid - 1], id.ptr,
                                id.len);
  }
  {
    int64_t d = tsr__emap_build_rows(&recs, tkey, nt);
    if (d == -2) goto oom;
    if (d >= 0) {
      char nm[300];
      rec_name(truth, (uint64_t)d, nm, sizeof nm);
      rc = tsr_error_set(err, TSR_EPARSE, truth_csv, (uint64_t)d + 2, 0, "record %s appears twice in the truth", nm);
      goto done;
    }
  }
  /* true pairs: runs of (cluster, source) */
  ck = tsr__malloc(sizeof *ck * (nt + 1));
  ctmp = tsr__malloc(sizeof *ctmp * (nt + 1));
  if (!ck || !ctmp) goto oom;
  uint64_t nu = 0; /* the rows of the run's sources */
  for (uint64_t r = 0; r < nt; r++)
    if (use[tsid[r]]) ck[nu++] = (uint64_t)ttid[r] << 32 | tsid[r];
  o->records_other_sources = nt - nu;
  uint64_t *cs = tsr__eval_radix_sort(ck, ctmp, nu, 64);
  if (!cs) goto oom;
  uint64_t all = 0, within = 0;
  for (uint64_t i = 0; i < nu;) {
    uint64_t j = i;
    while (j < nu && cs[j] >> 32 == cs[i] >> 32) {
      uint64_t k = j;
      while (k < nu && cs[k] == cs[j]) k++;
      within += tsr__eval_pairs_of(k - j);
      j = k;
    }
    all += tsr__eval_pairs_of(j - i);
    i = j;
  }
  o->true_pairs = opts->mode == TSR_SWEEP_LINK ? all - within : opts->mode == TSR_SWEEP_DEDUPE ? within : all;
  tsr__free(ck);
  tsr__free(ctmp);
  ck = ctmp = NULL;

  /* the pairs, a side at a time */
  ra = tsr__malloc(sizeof *ra * (np + 1));
  rb = tsr__malloc(sizeof *rb * (np + 1));
  if (!ra || !rb) goto oom;
  if ((rc = read_side(rd, pairs_parquet, "source_a", "id_a", &recs, ra, err)) != 0) goto done;
  if ((rc = read_side(rd, pairs_parquet, "source_b", "id_b", &recs, rb, err)) != 0) goto done;
  for (uint64_t i = 0; i < np; i++) { /* a record of another source is not in the run's truth */
    if (ra[i] != UINT32_MAX && !use[tsid[ra[i]]]) ra[i] = UINT32_MAX;
    if (rb[i] != UINT32_MAX && !use[tsid[rb[i]]]) rb[i] = UINT32_MAX;
  }
  if ((rc = tsr_pq_read_column_by_name(rd, "match_weight", &cw, err)) != 0) goto done;
  if ((rc = tsr_pq_read_column_by_name(rd, "match_probability", &cp, err)) != 0) goto done;
  uint64_t nj = 0;
  for (uint64_t i = 0; i < np; i++) {
    if (!cw.valid[i] || isnan(cw.values.f64[i])) {
      rc = tsr_error_set(err, TSR_EPARSE, pairs_parquet, 0, 0, "row %llu: match_weight is %s; expected a number",
                         (unsigned long long)i + 1, cw.valid[i] ? "NaN" : "null");
      goto done;
    }
    if (!cp.valid[i] || !(cp.values.f64[i] >= 0 && cp.values.f64[i] <= 1)) {
      rc = tsr_error_set(err, TSR_EPARSE, pairs_parquet, 0, 0,
                         "row %llu: match_probability is %s; expected a number in [0, 1]", (unsigned long long)i + 1,
                         cp.valid[i] ? "outside [0, 1]" : "null");
      goto done;
    }
    if (ra[i] == UINT32_MAX || rb[i] == UINT32_MAX) {
      o->pairs_not_in_truth++;
      continue;
    }
    if (ra[i] == rb[i]) {
      char nm[300];
      rec_name(truth, ra[i], nm, sizeof nm);
      rc = tsr_error_set(err, TSR_EPARSE, pairs_parquet, 0, 0, "row %llu pairs record %s with itself",
                         (unsigned long long)i + 1, nm);
      goto done;
    }
    if (outside_mode(opts->mode, tsid[ra[i]] == tsid[rb[i]])) {
      o->pairs_outside_mode++;
      continue;
    }
    nj++;
  }
  o->pairs_judged = nj;
  if (nj == 0) {
    if (np == 0)
      rc = tsr_error_set(err, TSR_EPARSE, pairs_parquet, 0, 0, "the pairs file has no rows: nothing to score");
    else if (o->pairs_not_in_truth == np)
      rc = tsr_error_set(err, TSR_EPARSE, pairs_parquet, 0, 0,
                         "no pair is in the truth: none of the %llu pairs has both records among the %llu rows of "
                         "%s, so nothing can be scored (are they from the same data?)",
                         (unsigned long long)np, (unsigned long long)nt, truth_csv);
    else
      rc = tsr_error_set(err, TSR_EPARSE, pairs_parquet, 0, 0,
                         "no pair can be judged: of the %llu pairs, %llu have a record that is not in %s and %llu "
                         "are outside mode %s, so nothing can be scored",
                         (unsigned long long)np, (unsigned long long)o->pairs_not_in_truth, truth_csv,
                         (unsigned long long)o->pairs_outside_mode, tsr_sweep_mode_name(opts->mode));
    goto done;
  }

  /* judged pairs: truth rows (for the duplicate check), file row, weight */
  pk = tsr__malloc(sizeof *pk * nj);
  ptmp = tsr__malloc(sizeof *ptmp * nj);
  jrow = tsr__malloc(sizeof *jrow * nj);
  wk = tsr__malloc(sizeof *wk * nj);
  wtmp = tsr__malloc(sizeof *wtmp * nj);
  widx = tsr__malloc(sizeof *widx * nj);
  witmp = tsr__malloc(sizeof *witmp * nj);
  jtrue = tsr__malloc(nj);
  if (!pk || !ptmp || !jrow || !wk || !wtmp || !widx || !witmp || !jtrue) goto oom;
  double pmin = 1, pmax = 0;
  for (uint64_t i = 0, j = 0; i < np; i++) {
    if (ra[i] == UINT32_MAX || rb[i] == UINT32_MAX) continue;
    if (outside_mode(opts->mode, tsid[ra[i]] == tsid[rb[i]])) continue;
    uint32_t lo = ra[i] < rb[i] ? ra[i] : rb[i], hi = ra[i] ^ rb[i] ^ lo;
    pk[j] = (uint64_t)lo << 32 | hi;
    jrow[j] = (uint32_t)i;
    wk[j] = desc_key(cw.values.f64[i]);
    widx[j] = (uint32_t)j;
    jtrue[j] = ttid[ra[i]] == ttid[rb[i]];
    o->true_pairs_in_file += jtrue[j];
    if (cp.values.f64[i] < pmin) pmin = cp.values.f64[i];
    if (cp.values.f64[i] > pmax) pmax = cp.values.f64[i];
    j++;
  }
  o->min_probability = pmin;
  o->max_probability = pmax;
  {
    uint64_t *sorted = tsr__eval_radix_sort(pk, ptmp, nj, 64);
    if (!sorted) goto oom;
    for (uint64_t i = 1; i < nj; i++) {
      if (sorted[i] != sorted[i - 1]) continue;
      uint64_t first = UINT64_MAX, second = 0;
      for (uint64_t j = 0; j < nj; j++) {
        uint32_t lo = ra[jrow[j]] < rb[jrow[j]] ? ra[jrow[j]] : rb[jrow[j]];
        uint32_t hi = ra[jrow[j]] ^ rb[jrow[j]] ^ lo;
        if (((uint64_t)lo << 32 | hi) != sorted[i]) continue;
        if (first == UINT64_MAX) first = jrow[j];
        else {
          second = jrow[j];
          break;
        }
      }
      char n1[300], n2[300];
      rec_name(truth, sorted[i] >> 32, n1, sizeof n1);
      rec_name(truth, sorted[i] & 0xffffffffu, n2, sizeof n2);
      rc = tsr_error_set(err, TSR_EPARSE, pairs_parquet, 0, 0, "rows %llu and %llu are the same pair %s - %s",
                         (unsigned long long)first + 1, (unsigned long long)second + 1, n1, n2);
      goto done;
    }
  }
  if (o->true_pairs_in_file > o->true_pairs) { /* cannot happen: each judged true pair is one of the truth's */
    rc = tsr_error_set(err, TSR_EINTERNAL, pairs_parquet, 0, 0, "%llu true pairs in the file, %llu in the truth",
                       (unsigned long long)o->true_pairs_in_file, (unsigned long long)o->true_pairs);
    goto done;
  }
  /* the judged pairs by weight, descending; the prefix sums of true pairs */
  {
    uint32_t *order;
    uint64_t *skey;
    if ((rc = sort_by_key(wk, widx, wtmp, witmp, nj, &skey, &order)) != 0) goto oom;
    sw = tsr__malloc(sizeof *sw * nj);
    cum = tsr__malloc(sizeof *cum * (nj + 1));
    if (!sw || !cum) goto oom;
    /* the weights come back from the sorted keys, so this pass reads the
     * file's columns only at the best F1's candidates */
    cum[0] = 0;
    for (uint64_t i = 0; i < nj; i++) {
      sw[i] = key_weight(skey[i]);
      cum[i + 1] = cum[i] + jtrue[order[i]];
      assert(i == 0 || sw[i] <= sw[i - 1]);
    }
    double best_f1 = -1;
    for (uint64_t i = 0; i < nj; i++) {
      /* a boundary: the last pair of a run of equal weights */
      if (i + 1 < nj && sw[i + 1] == sw[i]) continue;
      tsr_sweep_point pt;
      fill_point(&pt, 0, sw[i], i + 1, cum[i + 1], o->true_pairs);
      if (pt.f1 > best_f1) {
        best_f1 = pt.f1;
        pt.threshold = cp.values.f64[jrow[order[i]]];
        o->best = pt;
      }
    }
  }
  o->points = tsr__calloc(ngrid + 1, sizeof *o->points);
  if (!o->points) goto oom;
  for (size_t g = 0; g < ngrid; g++) {
    if (grid[g] < opts->pairs_floor) continue; /* the file cannot tell: pairs below the floor are not in it */
    const double w = weight_of(grid[g]);
    const uint64_t n = count_at_least(sw, nj, w);
    fill_point(&o->points[o->npoints++], grid[g], w, n, cum[n], o->true_pairs);
  }
  if (opts->at > 0 && opts->at < 1) {
    const double w = weight_of(opts->at);
    const uint64_t n = count_at_least(sw, nj, w);
    fill_point(&o->at, opts->at, w, n, cum[n], o->true_pairs);
    o->has_at = 1;
  }
  o->seconds = tsr__now() - t0;
  goto done;
oom:
  rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
done:
  tsr_pq_column_free(&cw);
  tsr_pq_column_free(&cp);
  tsr_pq_reader_free(rd);
  tsr_store_free(truth);
  tsr__emap_free(&recs);
  tsr__emap_free(&tids);
  tsr__free(tkey);
  tsr__free(ttid);
  tsr__free(tsid);
  tsr__free(ck);
  tsr__free(ctmp);
  tsr__free(ra);
  tsr__free(rb);
  tsr__free(pk);
  tsr__free(ptmp);
  tsr__free(jrow);
  tsr__free(wk);
  tsr__free(wtmp);
  tsr__free(widx);
  tsr__free(witmp);
  tsr__free(jtrue);
  tsr__free(use);
  tsr__free(sw);
  tsr__free(cum);
  return rc;
}
