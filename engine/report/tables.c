/* The run folder's tables from the linkage result: links (one row per input
 * record) and patients (one row per cluster), as Parquet and, when asked, as
 * CSV copies for people (tessera/link.h).
 *
 * DESIGN
 *   Rows are gathered into fixed-size batches (BATCH rows) in gid order
 *   (links) or patient order (patients); a batch's columns are filled in
 *   parallel, each thread owning a range of rows, and then handed to the
 *   Parquet writer and appended to the CSV text in row order, so the bytes
 *   are the same at any thread count. CSV text cells (source, record id,
 *   rule) go through the one escaper with the spreadsheet-injection rule
 *   (TSR__CSV_PEOPLE); numbers and dates are written as they are. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/common_internal.h"
#include "common/date.h"
#include "report/report.h"
#include "tessera/parquet.h"

#define BATCH 65536

static void pq_opts(const tsr_linkage *L, tsr_pq_options *po) {
  const tsr_config *cfg = tsr_linkage_config(L);
  tsr_pq_options_init(po);
  po->row_group_rows = cfg->output.row_group_rows;
  po->zstd_level = cfg->output.zstd_level;
  po->threads = tsr_linkage_threads(L);
}

static int csv_flush(tsr__outfile *f, tsr__buf *b, tsr_error *err) {
  if (b->oom) return tsr_error_set(err, TSR_ENOMEM, f->path, 0, 0, "out of memory");
  int rc = b->len ? tsr__outfile_write(f, b->p, b->len, err) : 0;
  b->len = 0;
  return rc;
}

/* --- links ------------------------------------------------------------------ */

int tsr__write_links(const tsr_linkage *L, const char *dir, int want_csv, tsr_error *err) {
  static const tsr_pq_column_def defs[] = {
      {"source", TSR_PQ_STRING, 0, TSR_PQ_ENC_DICT},     {"record_id", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
      {"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_AUTO},  {"rule", TSR_PQ_STRING, 1, TSR_PQ_ENC_DICT},
      {"match_weight", TSR_PQ_DOUBLE, 1, TSR_PQ_ENC_AUTO}, {"linked", TSR_PQ_BOOL, 0, TSR_PQ_ENC_PLAIN},
  };
  const int threads = tsr_linkage_threads(L);
  const uint32_t ns = tsr_linkage_nsources(L), nrules = tsr_linkage_nrules(L);
  const int64_t *pid = tsr_linkage_patient_ids(L);
  const uint8_t *step = tsr_linkage_steps(L);
  const double *weight = tsr_linkage_weights(L);
  const uint32_t *psize = tsr_linkage_facts(L)->records;
  tsr_pq_options po;
  pq_opts(L, &po);
  tsr_pq_writer *w = NULL;
  TSR_FORWARD_IF_ERROR(tsr_pq_open(&w, dir, "links.parquet", defs, 6, &po, err));
  tsr__outfile csv;
  int csv_open = 0, rc = 0;
  if (want_csv) {
    if ((rc = tsr__outfile_open(&csv, dir, "links.csv", err)) != 0) {
      tsr_pq_abort(w);
      return rc;
    }
    csv_open = 1;
  }
  tsr__buf cb;
  tsr__buf_init(&cb, want_csv ? (1u << 20) : 16);
  if (want_csv) tsr__buf_puts(&cb, "source,record_id,patient_id,rule,match_weight,linked\n");
  tsr_view *rule_names = tsr__malloc(sizeof *rule_names * (nrules + 2u));
  tsr_view *vsrc = tsr__malloc(sizeof *vsrc * BATCH), *vid = tsr__malloc(sizeof *vid * BATCH),
           *vrule = tsr__malloc(sizeof *vrule * BATCH);
  int64_t *vpid = tsr__malloc(sizeof *vpid * BATCH);
  double *vw = tsr__calloc(BATCH, sizeof *vw);
  uint8_t *rvalid = tsr__malloc(BATCH), *wvalid = tsr__calloc(BATCH, 1), *vlinked = tsr__malloc(BATCH);
  if (!rule_names || !vsrc || !vid || !vrule || !vpid || !vw || !rvalid || !wvalid || !vlinked)
    rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  for (uint32_t k = 1; k <= nrules + 1 && !rc; k++) {
    const char *nm = tsr_linkage_rule_name(L, k);
    if (!nm) nm = "";
    rule_names[k - 1] = (tsr_view){nm, (uint32_t)strlen(nm)};
  }
  for (uint32_t s = 0; s < ns && !rc; s++) {
    const tsr_store *st = tsr_linkage_store(L, s);
    const char *sname = tsr_linkage_source_name(L, s);
    tsr_view sv = {sname, (uint32_t)strlen(sname)};
    uint64_t n = tsr_store_rows(st), base = tsr_linkage_source_base(L, s);
    for (uint64_t b0 = 0; b0 < n && !rc; b0 += BATCH) {
      size_t m = (size_t)(n - b0 < BATCH ? n - b0 : BATCH);
#pragma omp parallel for num_threads(threads) schedule(static)
      for (int64_t ii = 0; ii < (int64_t)m; ii++) {
        size_t i = (size_t)ii;
        uint64_t g = base + b0 + i;
        vsrc[i] = sv;
        vid[i] = tsr_store_id(st, b0 + i);
        vpid[i] = pid[g];
        uint8_t t = step[g];
        rvalid[i] = t != 0;
        vrule[i] = t ? rule_names[t - 1] : (tsr_view){"", 0};
        vlinked[i] = psize[pid[g] - 1] > 1;
        if (weight) {
          wvalid[i] = (uint8_t)!isnan(weight[g]);
          vw[i] = wvalid[i] ? weight[g] : 0.0;
        }
      }
      for (size_t i = 0; i < m && want_csv; i++) {
        tsr__buf_csv_field(&cb, sv.ptr, sv.len, ',', TSR__CSV_PEOPLE);
        tsr__buf_putc(&cb, ',');
        tsr__buf_csv_field(&cb, vid[i].ptr, vid[i].len, ',', TSR__CSV_PEOPLE);
        tsr__buf_putc(&cb, ',');
        tsr__buf_u64(&cb, (uint64_t)vpid[i]);
        tsr__buf_putc(&cb, ',');
        tsr__buf_csv_field(&cb, vrule[i].ptr, vrule[i].len, ',', TSR__CSV_PEOPLE);
        tsr__buf_putc(&cb, ',');
        if (wvalid[i]) {
          char t[40];
          int k = snprintf(t, sizeof t, "%.17g", vw[i]);
          tsr__buf_put(&cb, t, (size_t)k);
        }
        tsr__buf_puts(&cb, vlinked[i] ? ",true\n" : ",false\n");
      }
      tsr_pq_col cols[6] = {{vsrc, NULL}, {vid, NULL}, {vpid, NULL}, {vrule, rvalid}, {vw, wvalid}, {vlinked, NULL}};
      rc = tsr_pq_write(w, cols, m, err);
      if (!rc && want_csv) rc = csv_flush(&csv, &cb, err);
    }
  }
  if (!rc && want_csv) rc = csv_flush(&csv, &cb, err);
  if (!rc) {
    rc = tsr_pq_close(w, err);
    w = NULL;
  }
  if (!rc && csv_open) {
    rc = tsr__outfile_commit(&csv, err);
    csv_open = 0;
  }
  if (w) tsr_pq_abort(w);
  if (csv_open) tsr__outfile_abort(&csv);
  tsr__buf_free(&cb);
  tsr__free(rule_names);
  tsr__free(vsrc);
  tsr__free(vid);
  tsr__free(vrule);
  tsr__free(vpid);
  tsr__free(vw);
  tsr__free(rvalid);
  tsr__free(wvalid);
  tsr__free(vlinked);
  return rc;
}

/* --- patients --------------------------------------------------------------- */

static void put_date(tsr__buf *b, int32_t days) {
  int y, mo, d;
  char t[32];
  tsr__ymd_from_days(days, &y, &mo, &d);
  int n = snprintf(t, sizeof t, ",%04d-%02d-%02d", y, mo, d);
  tsr__buf_put(b, t, (size_t)n);
}

int tsr__write_patients(const tsr_linkage *L, const char *dir, int want_csv, tsr_error *err) {
  const tsr_patient_facts *F = tsr_linkage_facts(L);
  const uint32_t ns = tsr_linkage_nsources(L), nc = 4 + ns;
  const uint64_t np = F->n;
  tsr_pq_options po;
  pq_opts(L, &po);
  tsr_pq_column_def *defs = tsr__calloc(nc, sizeof *defs);
  char(*names)[96] = tsr__calloc(ns + 1u, sizeof *names);
  int64_t *cols64 = tsr__malloc(sizeof *cols64 * BATCH * (2 + ns));
  int32_t *vfirst = tsr__malloc(sizeof *vfirst * BATCH), *vlast = tsr__malloc(sizeof *vlast * BATCH);
  uint8_t *dvalid = tsr__malloc(BATCH);
  tsr_pq_col *cols = tsr__calloc(nc, sizeof *cols);
  int rc = 0;
  tsr__buf cb;
  tsr__buf_init(&cb, want_csv ? (1u << 20) : 16);
  tsr__outfile csv;
  int csv_open = 0;
  tsr_pq_writer *w = NULL;
  if (!defs || !names || !cols64 || !vfirst || !vlast || !dvalid || !cols) {
    rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    goto done;
  }
  defs[0] = (tsr_pq_column_def){"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN};
  defs[1] = (tsr_pq_column_def){"n_records", TSR_PQ_INT64, 0, TSR_PQ_ENC_AUTO};
  for (uint32_t s = 0; s < ns; s++) {
    snprintf(names[s], sizeof names[s], "n_%s", tsr_linkage_source_name(L, s));
    defs[2 + s] = (tsr_pq_column_def){names[s], TSR_PQ_INT64, 0, TSR_PQ_ENC_AUTO};
  }
  defs[2 + ns] = (tsr_pq_column_def){"first_seen", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO};
  defs[3 + ns] = (tsr_pq_column_def){"last_seen", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO};
  if ((rc = tsr_pq_open(&w, dir, "patients.parquet", defs, nc, &po, err)) != 0) goto done;
  if (want_csv) {
    if ((rc = tsr__outfile_open(&csv, dir, "patients.csv", err)) != 0) goto done;
    csv_open = 1;
    tsr__buf_puts(&cb, "patient_id,n_records");
    for (uint32_t s = 0; s < ns; s++) {
      tsr__buf_putc(&cb, ',');
      tsr__buf_csv_field(&cb, names[s], strlen(names[s]), ',', TSR__CSV_PEOPLE);
    }
    tsr__buf_puts(&cb, ",first_seen,last_seen\n");
  }
  for (uint64_t p0 = 0; p0 < np && !rc; p0 += BATCH) {
    size_t m = (size_t)(np - p0 < BATCH ? np - p0 : BATCH);
    for (uint32_t c = 0; c < 2 + ns; c++) cols[c] = (tsr_pq_col){cols64 + (size_t)c * BATCH, NULL};
    for (size_t i = 0; i < m; i++) {
      uint64_t p = p0 + i;
      cols64[i] = (int64_t)p + 1;
      cols64[BATCH + i] = F->records[p];
      for (uint32_t s = 0; s < ns; s++) cols64[(size_t)(2 + s) * BATCH + i] = F->by_source[p * ns + s];
      dvalid[i] = F->first_seen[p] != TSR_DATE_NONE;
      vfirst[i] = dvalid[i] ? F->first_seen[p] : 0;
      vlast[i] = dvalid[i] ? F->last_seen[p] : 0;
      if (csv_open) {
        for (uint32_t c = 0; c < 2 + ns; c++) {
          if (c) tsr__buf_putc(&cb, ',');
          tsr__buf_u64(&cb, (uint64_t)cols64[(size_t)c * BATCH + i]);
        }
        if (dvalid[i]) {
          put_date(&cb, vfirst[i]);
          put_date(&cb, vlast[i]);
        } else {
          tsr__buf_puts(&cb, ",,");
        }
        tsr__buf_putc(&cb, '\n');
      }
    }
    cols[2 + ns] = (tsr_pq_col){vfirst, dvalid};
    cols[3 + ns] = (tsr_pq_col){vlast, dvalid};
    rc = tsr_pq_write(w, cols, m, err);
    if (!rc && csv_open) rc = csv_flush(&csv, &cb, err);
  }
  if (!rc) {
    rc = tsr_pq_close(w, err);
    w = NULL;
  }
  if (!rc && csv_open) {
    rc = csv_flush(&csv, &cb, err);
    if (!rc) rc = tsr__outfile_commit(&csv, err);
    else tsr__outfile_abort(&csv);
    csv_open = 0;
  }
done:
  if (w) tsr_pq_abort(w);
  if (csv_open) tsr__outfile_abort(&csv);
  tsr__buf_free(&cb);
  tsr__free(defs);
  tsr__free(names);
  tsr__free(cols64);
  tsr__free(vfirst);
  tsr__free(vlast);
  tsr__free(dvalid);
  tsr__free(cols);
  return rc;
}

/* --- pairs -------------------------------------------------------------------- */

int tsr__write_pairs(const tsr_linkage *L, const char *dir, tsr_error *err) {
  const tsr_config *cfg = tsr_linkage_config(L);
  tsr_pairs_view pv;
  tsr_linkage_pairs(L, &pv);
  const uint32_t K = pv.ncmp;
  const uint32_t ncol = 5 + K + 3;
  tsr_pq_column_def defs[5 + TSR_MAX_COMPARISONS + 3];
  char names[TSR_MAX_COMPARISONS][80];
  static const char *const lead[5] = {"source_a", "id_a", "source_b", "id_b", "rule"};
  for (uint32_t c = 0; c < 5; c++) defs[c] = (tsr_pq_column_def){lead[c], TSR_PQ_STRING, 0, c == 1 || c == 3 ? TSR_PQ_ENC_AUTO : TSR_PQ_ENC_DICT};
  for (uint32_t k = 0; k < K; k++) {
    snprintf(names[k], sizeof names[k], "gamma_%s", cfg->prob.cmp[k].name);
    defs[5 + k] = (tsr_pq_column_def){names[k], TSR_PQ_INT32, 0, TSR_PQ_ENC_AUTO};
  }
  defs[5 + K] = (tsr_pq_column_def){"match_weight", TSR_PQ_DOUBLE, 0, TSR_PQ_ENC_AUTO};
  defs[6 + K] = (tsr_pq_column_def){"match_probability", TSR_PQ_DOUBLE, 0, TSR_PQ_ENC_AUTO};
  defs[7 + K] = (tsr_pq_column_def){"linked", TSR_PQ_BOOL, 0, TSR_PQ_ENC_PLAIN};
  tsr_pq_options po;
  pq_opts(L, &po);
  tsr_pq_writer *w = NULL;
  TSR_FORWARD_IF_ERROR(tsr_pq_open(&w, dir, "pairs.parquet", defs, ncol, &po, err));
  const uint32_t ns = tsr_linkage_nsources(L);
  tsr_view sv[TSR_MAX_SOURCES];
  for (uint32_t s = 0; s < ns; s++) {
    const char *nm = tsr_linkage_source_name(L, s);
    sv[s] = (tsr_view){nm, (uint32_t)strlen(nm)};
  }
  tsr_view *rv = tsr__malloc(sizeof *rv * (cfg->prob.n_blocking + 1u));
  tsr_view *v[4];
  for (int j = 0; j < 4; j++) v[j] = tsr__malloc(sizeof(tsr_view) * BATCH);
  tsr_view *vr = tsr__malloc(sizeof(tsr_view) * BATCH);
  int32_t *g = tsr__malloc(sizeof(int32_t) * BATCH * (K ? K : 1));
  double *vw = tsr__malloc(sizeof(double) * BATCH), *vp = tsr__malloc(sizeof(double) * BATCH);
  uint8_t *vl = tsr__malloc(BATCH);
  int rc = 0;
  if (!rv || !v[0] || !v[1] || !v[2] || !v[3] || !vr || !g || !vw || !vp || !vl)
    rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  for (uint32_t r = 0; r < cfg->prob.n_blocking && !rc; r++)
    rv[r] = (tsr_view){cfg->prob.blocking[r].name, (uint32_t)strlen(cfg->prob.blocking[r].name)};
  for (uint64_t b0 = 0; b0 < pv.n && !rc; b0 += BATCH) {
    size_t m = (size_t)(pv.n - b0 < BATCH ? pv.n - b0 : BATCH);
    for (size_t i = 0; i < m; i++) {
      uint64_t p = b0 + i;
      uint32_t sa = tsr_linkage_source_of(L, pv.a[p]), sb = tsr_linkage_source_of(L, pv.b[p]);
      v[0][i] = sv[sa];
      v[1][i] = tsr_store_id(tsr_linkage_store(L, sa), pv.a[p] - tsr_linkage_source_base(L, sa));
      v[2][i] = sv[sb];
      v[3][i] = tsr_store_id(tsr_linkage_store(L, sb), pv.b[p] - tsr_linkage_source_base(L, sb));
      vr[i] = rv[pv.rule[p]];
      for (uint32_t k = 0; k < K; k++) g[(size_t)k * BATCH + i] = (int32_t)tsr_linkage_pair_level(L, pv.pattern[p], k);
      vw[i] = pv.weight[p];
      vp[i] = tsr_match_probability(pv.weight[p]);
      vl[i] = pv.linked[p];
    }
    tsr_pq_col cols[5 + TSR_MAX_COMPARISONS + 3];
    for (int j = 0; j < 4; j++) cols[j] = (tsr_pq_col){v[j], NULL};
    cols[4] = (tsr_pq_col){vr, NULL};
    for (uint32_t k = 0; k < K; k++) cols[5 + k] = (tsr_pq_col){g + (size_t)k * BATCH, NULL};
    cols[5 + K] = (tsr_pq_col){vw, NULL};
    cols[6 + K] = (tsr_pq_col){vp, NULL};
    cols[7 + K] = (tsr_pq_col){vl, NULL};
    rc = tsr_pq_write(w, cols, m, err);
  }
  if (!rc) {
    rc = tsr_pq_close(w, err);
    w = NULL;
  }
  if (w) tsr_pq_abort(w);
  tsr__free(rv);
  for (int j = 0; j < 4; j++) tsr__free(v[j]);
  tsr__free(vr);
  tsr__free(g);
  tsr__free(vw);
  tsr__free(vp);
  tsr__free(vl);
  return rc;
}
