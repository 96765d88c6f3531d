/* The deterministic link run: ingest -> block/steps -> cluster -> output
 * (include/tessera/link.h).
 *
 * DESIGN
 *   Every array is indexed by global record id (gid, sources in config
 *   order) or by patient id - 1, and filled in parallel with each thread
 *   owning whole ranges or using atomic min/max/add, whose results do not
 *   depend on order. Output files are then streamed in fixed-size batches in
 *   gid (links) or patient (patients) order, so the bytes are the same at
 *   any thread count. */
#include <jansson.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "cluster/cluster.h"
#include "cluster/steps.h"
#include "common/buf.h"
#include "common/common_internal.h"
#include "common/date.h"
#include "output/output_internal.h"
#include "tessera/ingest.h"
#include "tessera/link.h"
#include "tessera/parquet.h"

#define BATCH 65536

typedef struct run {
  const tsr_config *cfg;
  const char *dir;
  int threads;
  uint32_t ns;
  tsr_store **stores;
  tsr_ingest_stats *ist;
  tsr__recset rs;
  uint32_t *parent;
  uint8_t *rule_of;
  int64_t *pid;
  uint64_t npat;
  /* per patient */
  uint32_t *pcount; /* npat * ns */
  uint32_t *psize;
  int32_t *pfirst, *plast;
  uint64_t *nhs_min, *nhs_max;
  tsr__step_stats *steps;
  json_t *stages;
  tsr_error *err;
} run;

static void stage_done(run *R, const char *name, double t0) {
  json_t *o = json_object();
  json_object_set_new(o, "stage", json_string(name));
  json_object_set_new(o, "seconds", json_real(tsr__now() - t0));
  json_object_set_new(o, "peak_rss_bytes", json_integer((json_int_t)tsr__peak_rss()));
  json_array_append_new(R->stages, o);
  TSR_LOG_I("%s: %.2f s", name, tsr__now() - t0);
}

/* Atomic min and max: the result does not depend on the order of updates. */
#define TSR__ATOMIC_EXTREME(name, type, better)                                                         \
  static inline void name(type *p, type v) {                                                            \
    type cur = __atomic_load_n(p, __ATOMIC_RELAXED);                                                     \
    while (v better cur && !__atomic_compare_exchange_n(p, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) { \
    }                                                                                                    \
  }
TSR__ATOMIC_EXTREME(atomic_min_i32, int32_t, <)
TSR__ATOMIC_EXTREME(atomic_max_i32, int32_t, >)
TSR__ATOMIC_EXTREME(atomic_min_u64, uint64_t, <)
TSR__ATOMIC_EXTREME(atomic_max_u64, uint64_t, >)

/* Per-patient counts, event-date range and NHS number range. */
static int patient_facts(run *R) {
  const uint32_t ns = R->ns;
  uint64_t np = R->npat;
  R->pcount = tsr__calloc(np * ns + 1, sizeof *R->pcount);
  R->psize = tsr__calloc(np + 1, sizeof *R->psize);
  R->pfirst = tsr__malloc(sizeof *R->pfirst * (np + 1));
  R->plast = tsr__malloc(sizeof *R->plast * (np + 1));
  R->nhs_min = tsr__malloc(sizeof *R->nhs_min * (np + 1));
  R->nhs_max = tsr__calloc(np + 1, sizeof *R->nhs_max);
  if (!R->pcount || !R->psize || !R->pfirst || !R->plast || !R->nhs_min || !R->nhs_max)
    return tsr_error_set(R->err, TSR_ENOMEM, NULL, 0, 0, "out of memory for %llu patients", (unsigned long long)np);
  for (uint64_t p = 0; p < np; p++) {
    R->pfirst[p] = INT32_MAX;
    R->plast[p] = INT32_MIN;
    R->nhs_min[p] = UINT64_MAX;
  }
  for (uint32_t s = 0; s < ns; s++) {
    const tsr_store *st = R->stores[s];
    const tsr_source_cfg *sc = &R->cfg->sources[s];
    const tsr_column *ev[16];
    uint32_t nev = 0;
    for (uint32_t e = 0; e < sc->n_event_dates && nev < 16; e++) {
      const tsr_column *c = tsr_store_field(st, sc->event_dates[e]);
      if (c) ev[nev++] = c;
    }
    const tsr_column *nhs = NULL;
    for (uint32_t c = 0; c < tsr_store_ncols(st); c++)
      if (tsr_store_col(st, c)->kind == TSR_KIND_NHS_NUMBER) nhs = tsr_store_col(st, c);
    const uint64_t base = R->rs.base[s];
    const int64_t n = (int64_t)tsr_store_rows(st);
#pragma omp parallel for num_threads(R->threads) schedule(static)
    for (int64_t r = 0; r < n; r++) {
      uint64_t p = (uint64_t)R->pid[base + (uint64_t)r] - 1;
      __atomic_fetch_add(&R->pcount[p * ns + s], 1, __ATOMIC_RELAXED);
      __atomic_fetch_add(&R->psize[p], 1, __ATOMIC_RELAXED);
      for (uint32_t e = 0; e < nev; e++) {
        int32_t d = ev[e]->i32[r];
        if (d == TSR_DATE_NONE) continue;
        atomic_min_i32(&R->pfirst[p], d);
        atomic_max_i32(&R->plast[p], d);
      }
      if (nhs && nhs->u64[r]) {
        atomic_min_u64(&R->nhs_min[p], nhs->u64[r]);
        atomic_max_u64(&R->nhs_max[p], nhs->u64[r]);
      }
    }
  }
  return 0;
}

static int source_has_other(const run *R, uint64_t p, uint32_t s) {
  for (uint32_t t = 0; t < R->ns; t++)
    if (t != s && R->pcount[p * R->ns + t]) return 1;
  return 0;
}

/* Records of source s whose patient also has records of another source. */
static uint64_t cross_linked(const run *R, uint32_t s, uint64_t *linked) {
  uint64_t n = tsr_store_rows(R->stores[s]), base = R->rs.base[s], cross = 0, lk = 0;
#pragma omp parallel for num_threads(R->threads) schedule(static) reduction(+ : cross, lk)
  for (int64_t r = 0; r < (int64_t)n; r++) {
    uint64_t p = (uint64_t)R->pid[base + (uint64_t)r] - 1;
    lk += R->psize[p] > 1;
    cross += (uint64_t)source_has_other(R, p, s);
  }
  *linked = lk;
  return cross;
}

/* --- links ------------------------------------------------------------------ */

static int write_links(run *R, tsr_pq_options *po) {
  static const tsr_pq_column_def defs[] = {
      {"source", TSR_PQ_STRING, 0, TSR_PQ_ENC_DICT},     {"record_id", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
      {"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_AUTO},  {"rule", TSR_PQ_STRING, 1, TSR_PQ_ENC_DICT},
      {"match_weight", TSR_PQ_DOUBLE, 1, TSR_PQ_ENC_AUTO}, {"linked", TSR_PQ_BOOL, 0, TSR_PQ_ENC_PLAIN},
  };
  tsr_pq_writer *w = NULL;
  TSR_FORWARD_IF_ERROR(tsr_pq_open(&w, R->dir, "links.parquet", defs, 6, po, R->err));
  tsr__outfile csv;
  int want_csv = R->cfg->output.csv, rc = 0;
  if (want_csv && (rc = tsr__outfile_open(&csv, R->dir, "links.csv", R->err)) != 0) {
    tsr_pq_abort(w);
    return rc;
  }
  tsr__buf cb;
  tsr__buf_init(&cb, want_csv ? (1u << 20) : 16);
  if (want_csv) tsr__buf_puts(&cb, "source,record_id,patient_id,rule,match_weight,linked\n");
  tsr_view rule_names[256];
  for (uint32_t k = 0; k < R->cfg->link.n_rules && k < 256; k++)
    rule_names[k] = (tsr_view){R->cfg->link.rules[k].name, (uint32_t)strlen(R->cfg->link.rules[k].name)};
  tsr_view *vsrc = tsr__malloc(sizeof *vsrc * BATCH), *vid = tsr__malloc(sizeof *vid * BATCH),
           *vrule = tsr__malloc(sizeof *vrule * BATCH);
  int64_t *vpid = tsr__malloc(sizeof *vpid * BATCH);
  double *vw = tsr__calloc(BATCH, sizeof *vw);
  uint8_t *rvalid = tsr__malloc(BATCH), *wvalid = tsr__calloc(BATCH, 1), *vlinked = tsr__malloc(BATCH);
  if (!vsrc || !vid || !vrule || !vpid || !vw || !rvalid || !wvalid || !vlinked)
    rc = tsr_error_set(R->err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  for (uint32_t s = 0; s < R->ns && !rc; s++) {
    const tsr_store *st = R->stores[s];
    const char *sname = R->cfg->sources[s].name;
    tsr_view sv = {sname, (uint32_t)strlen(sname)};
    uint64_t n = tsr_store_rows(st), base = R->rs.base[s];
    for (uint64_t b0 = 0; b0 < n && !rc; b0 += BATCH) {
      size_t m = (size_t)(n - b0 < BATCH ? n - b0 : BATCH);
#pragma omp parallel for num_threads(R->threads) schedule(static)
      for (int64_t ii = 0; ii < (int64_t)m; ii++) {
        size_t i = (size_t)ii;
        uint64_t g = base + b0 + i;
        vsrc[i] = sv;
        vid[i] = tsr_store_id(st, b0 + i);
        vpid[i] = R->pid[g];
        uint8_t t = R->rule_of[g];
        rvalid[i] = t != 0;
        vrule[i] = t ? rule_names[t - 1] : (tsr_view){"", 0};
        vlinked[i] = R->psize[R->pid[g] - 1] > 1;
      }
      for (size_t i = 0; i < m && want_csv; i++) {
        tsr__buf_put(&cb, sv.ptr, sv.len);
        tsr__buf_putc(&cb, ',');
        /* record ids are CSV text as read; quote when they need it */
        int q = memchr(vid[i].ptr, ',', vid[i].len) || memchr(vid[i].ptr, '"', vid[i].len) ||
                memchr(vid[i].ptr, '\n', vid[i].len);
        if (q) {
          tsr__buf_putc(&cb, '"');
          for (uint32_t k = 0; k < vid[i].len; k++) {
            if (vid[i].ptr[k] == '"') tsr__buf_putc(&cb, '"');
            tsr__buf_putc(&cb, vid[i].ptr[k]);
          }
          tsr__buf_putc(&cb, '"');
        } else {
          tsr__buf_put(&cb, vid[i].ptr, vid[i].len);
        }
        tsr__buf_putc(&cb, ',');
        tsr__buf_u64(&cb, (uint64_t)vpid[i]);
        tsr__buf_putc(&cb, ',');
        tsr__buf_put(&cb, vrule[i].ptr, vrule[i].len);
        tsr__buf_puts(&cb, vlinked[i] ? ",,true\n" : ",,false\n");
      }
      tsr_pq_col cols[6] = {{vsrc, NULL}, {vid, NULL}, {vpid, NULL}, {vrule, rvalid}, {vw, wvalid}, {vlinked, NULL}};
      rc = tsr_pq_write(w, cols, m, R->err);
      if (!rc && want_csv && cb.len) {
        rc = tsr__outfile_write(&csv, cb.p, cb.len, R->err);
        cb.len = 0;
      }
    }
  }
  tsr__free(vsrc);
  tsr__free(vid);
  tsr__free(vrule);
  tsr__free(vpid);
  tsr__free(vw);
  tsr__free(rvalid);
  tsr__free(wvalid);
  tsr__free(vlinked);
  if (!rc && want_csv && cb.len) rc = tsr__outfile_write(&csv, cb.p, cb.len, R->err);
  tsr__buf_free(&cb);
  if (rc) {
    tsr_pq_abort(w);
    if (want_csv) tsr__outfile_abort(&csv);
    return rc;
  }
  rc = tsr_pq_close(w, R->err);
  if (want_csv) {
    if (!rc)
      rc = tsr__outfile_commit(&csv, R->err);
    else
      tsr__outfile_abort(&csv);
  }
  return rc;
}

/* --- patients --------------------------------------------------------------- */

static int write_patients(run *R, tsr_pq_options *po) {
  const uint32_t ns = R->ns, nc = 4 + ns;
  tsr_pq_column_def *defs = tsr__calloc(nc, sizeof *defs);
  char(*names)[96] = tsr__calloc(ns, sizeof *names);
  int64_t *cols64 = tsr__malloc(sizeof *cols64 * BATCH * (2 + ns));
  int32_t *vfirst = tsr__malloc(sizeof *vfirst * BATCH), *vlast = tsr__malloc(sizeof *vlast * BATCH);
  uint8_t *dvalid = tsr__malloc(BATCH);
  tsr_pq_col *cols = tsr__calloc(nc, sizeof *cols);
  int rc = 0;
  tsr__buf cb;
  tsr__buf_init(&cb, R->cfg->output.csv ? (1u << 20) : 16);
  tsr__outfile csv;
  int csv_open = 0;
  tsr_pq_writer *w = NULL;
  if (!defs || !names || !cols64 || !vfirst || !vlast || !dvalid || !cols) {
    rc = tsr_error_set(R->err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    goto done;
  }
  defs[0] = (tsr_pq_column_def){"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN};
  defs[1] = (tsr_pq_column_def){"n_records", TSR_PQ_INT64, 0, TSR_PQ_ENC_AUTO};
  for (uint32_t s = 0; s < ns; s++) {
    snprintf(names[s], sizeof names[s], "n_%s", R->cfg->sources[s].name);
    defs[2 + s] = (tsr_pq_column_def){names[s], TSR_PQ_INT64, 0, TSR_PQ_ENC_AUTO};
  }
  defs[2 + ns] = (tsr_pq_column_def){"first_seen", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO};
  defs[3 + ns] = (tsr_pq_column_def){"last_seen", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO};
  if ((rc = tsr_pq_open(&w, R->dir, "patients.parquet", defs, nc, po, R->err)) != 0) goto done;
  if (R->cfg->output.csv) {
    if ((rc = tsr__outfile_open(&csv, R->dir, "patients.csv", R->err)) != 0) goto done;
    csv_open = 1;
    tsr__buf_puts(&cb, "patient_id,n_records");
    for (uint32_t s = 0; s < ns; s++) {
      tsr__buf_putc(&cb, ',');
      tsr__buf_puts(&cb, names[s]);
    }
    tsr__buf_puts(&cb, ",first_seen,last_seen\n");
  }
  for (uint64_t p0 = 0; p0 < R->npat && !rc; p0 += BATCH) {
    size_t m = (size_t)(R->npat - p0 < BATCH ? R->npat - p0 : BATCH);
    for (uint32_t c = 0; c < 2 + ns; c++) cols[c] = (tsr_pq_col){cols64 + (size_t)c * BATCH, NULL};
    for (size_t i = 0; i < m; i++) {
      uint64_t p = p0 + i;
      cols64[i] = (int64_t)p + 1;
      cols64[BATCH + i] = R->psize[p];
      for (uint32_t s = 0; s < ns; s++) cols64[(size_t)(2 + s) * BATCH + i] = R->pcount[p * ns + s];
      dvalid[i] = R->pfirst[p] != INT32_MAX;
      vfirst[i] = dvalid[i] ? R->pfirst[p] : 0;
      vlast[i] = dvalid[i] ? R->plast[p] : 0;
      if (csv_open) {
        for (uint32_t c = 0; c < 2 + ns; c++) {
          if (c) tsr__buf_putc(&cb, ',');
          tsr__buf_u64(&cb, (uint64_t)cols64[(size_t)c * BATCH + i]);
        }
        if (dvalid[i]) {
          int y, mo, d;
          char t[32];
          tsr__ymd_from_days(vfirst[i], &y, &mo, &d);
          int n1 = snprintf(t, sizeof t, ",%04d-%02d-%02d", y, mo, d);
          tsr__buf_put(&cb, t, (size_t)n1);
          tsr__ymd_from_days(vlast[i], &y, &mo, &d);
          n1 = snprintf(t, sizeof t, ",%04d-%02d-%02d", y, mo, d);
          tsr__buf_put(&cb, t, (size_t)n1);
        } else {
          tsr__buf_puts(&cb, ",,");
        }
        tsr__buf_putc(&cb, '\n');
      }
    }
    cols[2 + ns] = (tsr_pq_col){vfirst, dvalid};
    cols[3 + ns] = (tsr_pq_col){vlast, dvalid};
    rc = tsr_pq_write(w, cols, m, R->err);
    if (!rc && csv_open && cb.len) {
      rc = tsr__outfile_write(&csv, cb.p, cb.len, R->err);
      cb.len = 0;
    }
  }
  if (!rc) {
    rc = tsr_pq_close(w, R->err);
    w = NULL;
  }
  if (!rc && csv_open) {
    rc = tsr__outfile_commit(&csv, R->err);
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

/* --- report ----------------------------------------------------------------- */

static json_t *rule_json(const run *R, uint32_t k) {
  const tsr_rule_cfg *r = &R->cfg->link.rules[k];
  const tsr__step_stats *st = &R->steps[k];
  json_t *o = json_object();
  json_object_set_new(o, "rule", json_string(r->name));
  json_t *f = json_array();
  for (uint8_t i = 0; i < r->n_parts; i++) json_array_append_new(f, json_string(r->parts[i].text));
  json_object_set_new(o, "fields", f);
  json_t *srcs = json_array();
  for (uint32_t s = 0; s < R->ns; s++)
    if (r->source_mask >> s & 1) json_array_append_new(srcs, json_string(R->cfg->sources[s].name));
  json_object_set_new(o, "sources", srcs);
  json_object_set_new(o, "eligible_records", json_integer((json_int_t)st->eligible));
  json_object_set_new(o, "blocks", json_integer((json_int_t)st->blocks));
  json_object_set_new(o, "partitions", json_integer((json_int_t)st->partitions));
  json_object_set_new(o, "pairs_linked", json_integer((json_int_t)st->pairs));
  json_object_set_new(o, "records_linked", json_integer((json_int_t)st->linked_total));
  json_t *per = json_object();
  for (uint32_t s = 0; s < R->ns; s++)
    json_object_set_new(per, R->cfg->sources[s].name, json_integer((json_int_t)st->linked[s]));
  json_object_set_new(o, "records_linked_by_source", per);
  json_object_set_new(o, "ambiguous_blocks", json_integer((json_int_t)st->ambiguous_blocks));
  json_object_set_new(o, "ambiguous_records", json_integer((json_int_t)st->ambiguous_records));
  json_object_set_new(o, "merge", json_boolean(r->merge));
  json_object_set_new(o, "merged_blocks", json_integer((json_int_t)st->merged_blocks));
  json_object_set_new(o, "vetoed_blocks", json_integer((json_int_t)st->vetoed_blocks));
  json_object_set_new(o, "capped_blocks", json_integer((json_int_t)st->capped_blocks));
  json_object_set_new(o, "capped_records", json_integer((json_int_t)st->capped_records));
  json_t *top = json_array();
  for (uint32_t i = 0; i < st->n_top; i++) {
    char key[512];
    tsr__key_text(&R->rs, r, st->top[i].first, key, sizeof key);
    json_t *b = json_object();
    json_object_set_new(b, "records", json_integer((json_int_t)st->top[i].size));
    json_object_set_new(b, "capped", json_boolean(st->top[i].capped));
    json_object_set_new(b, "key", json_string(key));
    json_array_append_new(top, b);
  }
  json_object_set_new(o, "largest_blocks", top);
  json_t *sec = json_object();
  json_object_set_new(sec, "keys", json_real(st->seconds_keys));
  json_object_set_new(sec, "partition_and_group", json_real(st->seconds_group));
  json_object_set_new(sec, "link", json_real(st->seconds_link));
  json_object_set_new(o, "seconds", sec);
  return o;
}

/* Match rate by the values of a code field (provider, practice): records,
 * records linked to another source, and the share. Sorted by records. */
typedef struct rate_row {
  uint64_t n, linked;
  uint32_t id;
} rate_row;
static int rate_cmp(const void *a, const void *b) {
  const rate_row *x = a, *y = b;
  if (x->n != y->n) return x->n > y->n ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static json_t *match_rates(const run *R, uint32_t s, const tsr_column *c) {
  uint32_t nd = c->dict_n;
  rate_row *rows = tsr__calloc((size_t)nd + 1, sizeof *rows);
  if (!rows) return json_null();
  uint64_t n = tsr_store_rows(R->stores[s]), base = R->rs.base[s];
  for (uint64_t r = 0; r < n; r++) {
    uint32_t id = c->code16 ? c->code16[r] : c->code32[r];
    rows[id].n++;
    rows[id].linked += (uint64_t)source_has_other(R, (uint64_t)R->pid[base + r] - 1, s);
  }
  for (uint32_t i = 0; i <= nd; i++) rows[i].id = i;
  qsort(rows, (size_t)nd + 1, sizeof *rows, rate_cmp);
  json_t *a = json_array();
  for (uint32_t i = 0; i <= nd; i++) {
    if (!rows[i].n) continue;
    json_t *o = json_object();
    uint32_t id = rows[i].id;
    if (id)
      json_object_set_new(o, "value", json_stringn(c->dict + c->dict_off[id - 1], c->dict_off[id] - c->dict_off[id - 1]));
    else
      json_object_set_new(o, "value", json_null());
    json_object_set_new(o, "records", json_integer((json_int_t)rows[i].n));
    json_object_set_new(o, "linked_to_other_source", json_integer((json_int_t)rows[i].linked));
    json_object_set_new(o, "match_rate", json_real((double)rows[i].linked / (double)rows[i].n));
    json_array_append_new(a, o);
  }
  tsr__free(rows);
  return a;
}

static int write_report(run *R, double t_start) {
  const tsr_config *cfg = R->cfg;
  double t_report = tsr__now();
  json_t *root = json_object();
  json_object_set_new(root, "tessera_version", json_string(tsr_version()));
  json_object_set_new(root, "config", json_string(cfg->path));
  json_object_set_new(root, "mode", json_string(tsr_link_mode_name(cfg->link.mode)));
  json_object_set_new(root, "preset", cfg->link.preset ? json_string(cfg->link.preset) : json_null());
  json_object_set_new(root, "one_to_one", json_boolean(cfg->link.one_to_one));
  json_object_set_new(root, "nhs_veto", json_boolean(cfg->link.nhs_veto));
  json_object_set_new(root, "max_block_size", json_integer(cfg->link.max_block_size));
  /* sources */
  json_t *srcs = json_array();
  uint64_t tot_linked = 0;
  for (uint32_t s = 0; s < R->ns; s++) {
    const tsr_ingest_stats *is = &R->ist[s];
    json_t *o = json_object();
    json_object_set_new(o, "source", json_string(cfg->sources[s].name));
    json_object_set_new(o, "rows_read", json_integer((json_int_t)is->rows_read));
    json_object_set_new(o, "rows_stored", json_integer((json_int_t)is->rows_stored));
    json_object_set_new(o, "rows_rejected", json_integer((json_int_t)is->rows_rejected));
    uint64_t lk = 0, n = tsr_store_rows(R->stores[s]), cross = cross_linked(R, s, &lk);
    tot_linked += lk;
    json_object_set_new(o, "records_linked", json_integer((json_int_t)lk));
    json_object_set_new(o, "records_unlinked", json_integer((json_int_t)(n - lk)));
    json_object_set_new(o, "linked_to_other_source", json_integer((json_int_t)cross));
    json_object_set_new(o, "match_rate", json_real(n ? (double)cross / (double)n : 0.0));
    json_t *mr = json_object();
    for (uint32_t c = 0; c < tsr_store_ncols(R->stores[s]); c++) {
      const tsr_column *col = tsr_store_col(R->stores[s], c);
      if (col->kind == TSR_KIND_CODE && (strcmp(col->field, "provider") == 0 || strcmp(col->field, "practice") == 0))
        json_object_set_new(mr, col->field, match_rates(R, s, col));
    }
    json_object_set_new(o, "match_rates_by", mr);
    json_array_append_new(srcs, o);
  }
  json_object_set_new(root, "sources", srcs);
  json_t *rules = json_array();
  uint64_t cum = 0;
  for (uint32_t k = 0; k < cfg->link.n_rules; k++) {
    json_t *rj = rule_json(R, k);
    cum += R->steps[k].linked_total;
    json_object_set_new(rj, "records_linked_cumulative", json_integer((json_int_t)cum));
    json_array_append_new(rules, rj);
  }
  json_object_set_new(root, "rules", rules);
  /* clusters */
  json_t *cl = json_object();
  json_object_set_new(cl, "patients", json_integer((json_int_t)R->npat));
  json_object_set_new(cl, "records_linked", json_integer((json_int_t)tot_linked));
  static const uint32_t edges[] = {1, 2, 3, 6, 11, 51, 101, UINT32_MAX};
  static const char *const labels[] = {"1", "2", "3-5", "6-10", "11-50", "51-100", "101+"};
  uint64_t hist[7] = {0}, oversized = 0, conflicts = 0;
  uint64_t big_p[10] = {0}, big_n[10] = {0};
  uint32_t nbig = 0;
  json_t *conf_ex = json_array();
  for (uint64_t p = 0; p < R->npat; p++) {
    uint32_t sz = R->psize[p];
    for (int b = 0; b < 7; b++)
      if (sz >= edges[b] && sz < edges[b + 1]) hist[b]++;
    if (sz > cfg->link.max_cluster_size) oversized++;
    if (R->nhs_max[p] && R->nhs_min[p] != R->nhs_max[p]) {
      if (conflicts < 20) {
        json_t *e = json_object();
        char a[24], b2[24];
        snprintf(a, sizeof a, "%010llu", (unsigned long long)R->nhs_min[p]);
        snprintf(b2, sizeof b2, "%010llu", (unsigned long long)R->nhs_max[p]);
        json_object_set_new(e, "patient_id", json_integer((json_int_t)p + 1));
        json_object_set_new(e, "records", json_integer(sz));
        json_object_set_new(e, "nhs_numbers", json_pack("[s,s]", a, b2));
        json_array_append_new(conf_ex, e);
      }
      conflicts++;
    }
    /* top 10 by size, ties to the smaller id */
    if (nbig < 10 || sz > big_n[nbig - 1]) {
      uint32_t i = nbig < 10 ? nbig++ : 9;
      while (i > 0 && big_n[i - 1] < sz) {
        big_n[i] = big_n[i - 1];
        big_p[i] = big_p[i - 1];
        i--;
      }
      big_n[i] = sz;
      big_p[i] = p + 1;
    }
  }
  json_t *h = json_object();
  for (int b = 0; b < 7; b++) json_object_set_new(h, labels[b], json_integer((json_int_t)hist[b]));
  json_object_set_new(cl, "size_histogram", h);
  json_t *bj = json_array();
  for (uint32_t i = 0; i < nbig; i++) {
    json_t *e = json_object();
    json_object_set_new(e, "patient_id", json_integer((json_int_t)big_p[i]));
    json_object_set_new(e, "records", json_integer((json_int_t)big_n[i]));
    json_array_append_new(bj, e);
  }
  json_object_set_new(cl, "largest", bj);
  json_object_set_new(cl, "max_cluster_size", json_integer(cfg->link.max_cluster_size));
  json_object_set_new(cl, "oversized", json_integer((json_int_t)oversized));
  json_object_set_new(cl, "nhs_conflicts", json_integer((json_int_t)conflicts));
  json_object_set_new(cl, "nhs_conflict_examples", conf_ex);
  json_object_set_new(root, "clusters", cl);
  stage_done(R, "report", t_report);
  json_object_set_new(root, "stages", json_incref(R->stages));
  json_object_set_new(root, "seconds_total", json_real(tsr__now() - t_start));
  json_object_set_new(root, "peak_rss_bytes", json_integer((json_int_t)tsr__peak_rss()));
  json_object_set_new(root, "engine_peak_bytes", json_integer((json_int_t)tsr_memory_peak()));
  json_object_set_new(root, "memory_limit_bytes", json_integer((json_int_t)tsr_memory_limit()));
  json_object_set_new(root, "threads", json_integer(R->threads));
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
  int hrc = tsr__report_html(root, R->dir, R->err);
  json_decref(root);
  if (hrc) {
    free(text);
    return hrc;
  }
  if (!text) return tsr_error_set(R->err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  tsr__outfile f;
  int rc = tsr__outfile_open(&f, R->dir, "report.json", R->err);
  if (!rc) rc = tsr__outfile_write(&f, text, strlen(text), R->err);
  if (!rc) rc = tsr__outfile_write(&f, "\n", 1, R->err);
  if (!rc)
    rc = tsr__outfile_commit(&f, R->err);
  else
    tsr__outfile_abort(&f);
  free(text);
  return rc;
}

int tsr_link_run(const tsr_config *cfg, const tsr_link_opts *opts, tsr_link_summary *summary, tsr_error *err) {
  tsr_error_clear(err);
  if (!cfg->link.present || cfg->link.n_rules == 0)
    return tsr_error_set(err, TSR_ECONFIG, cfg->path, 0, 0,
                         "link: the config has no \"link\" section with rules (add one, or pass --rules hesid)");
  double t_start = tsr__now();
  run R;
  memset(&R, 0, sizeof R);
  R.cfg = cfg;
  R.dir = opts->out_dir;
  R.threads = opts->threads > 0 ? opts->threads : omp_get_max_threads();
  R.ns = cfg->n_sources;
  R.err = err;
  R.stages = json_array();
  int rc = tsr__mkdirs(R.dir, err);
  if (rc) return rc;
  R.stores = tsr__calloc(R.ns, sizeof *R.stores);
  R.ist = tsr__calloc(R.ns, sizeof *R.ist);
  R.steps = tsr__calloc(cfg->link.n_rules, sizeof *R.steps);
  tsr_rejects *rj = NULL;
  if (!R.stores || !R.ist || !R.steps) {
    rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    goto done;
  }
  /* ingest */
  if ((rc = tsr_rejects_open(R.dir, &rj, err)) != 0) goto done;
  tsr_ingest_opts io;
  tsr_ingest_opts_init(&io);
  io.threads = R.threads;
  io.rejects = rj;
  for (uint32_t s = 0; s < R.ns; s++) {
    double t0 = tsr__now();
    if ((rc = tsr_ingest_source(&cfg->sources[s], &io, &R.stores[s], &R.ist[s], err)) != 0) goto done;
    char label[128];
    snprintf(label, sizeof label, "ingest %s", cfg->sources[s].name);
    stage_done(&R, label, t0);
  }
  rc = tsr_rejects_close(rj, err);
  rj = NULL;
  if (rc) goto done;
  tsr__recset_init(&R.rs, (const tsr_store *const *)R.stores, R.ns);
  if (R.rs.total >= UINT32_MAX) {
    rc = tsr_error_set(err, TSR_ELIMIT, NULL, 0, 0, "more than 4,294,967,294 records in one run");
    goto done;
  }
  /* link */
  double t0 = tsr__now();
  uint64_t N = R.rs.total;
  R.parent = tsr__malloc(sizeof *R.parent * (N + 1));
  R.rule_of = tsr__calloc(N + 1, 1);
  R.pid = tsr__malloc(sizeof *R.pid * (N + 1));
  if (!R.parent || !R.rule_of || !R.pid) {
    rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory for %llu records", (unsigned long long)N);
    goto done;
  }
  tsr__uf_init(R.parent, N, R.threads);
  if ((rc = tsr__run_steps(&R.rs, &cfg->link, R.parent, R.rule_of, R.steps, R.threads, err)) != 0) goto done;
  for (uint32_t k = 0; k < cfg->link.n_rules; k++)
    TSR_LOG_I("rule %s: %llu records linked (%llu blocks, %llu ambiguous, %llu capped)", cfg->link.rules[k].name,
              (unsigned long long)R.steps[k].linked_total, (unsigned long long)R.steps[k].blocks,
              (unsigned long long)R.steps[k].ambiguous_blocks, (unsigned long long)R.steps[k].capped_blocks);
  stage_done(&R, "block and link", t0);
  t0 = tsr__now();
  R.npat = tsr__uf_label(R.parent, N, R.pid, R.threads);
  if ((rc = patient_facts(&R)) != 0) goto done;
  stage_done(&R, "cluster", t0);
  t0 = tsr__now();
  tsr_pq_options po;
  tsr_pq_options_init(&po);
  po.row_group_rows = cfg->output.row_group_rows;
  po.zstd_level = cfg->output.zstd_level;
  po.threads = R.threads;
  if ((rc = write_links(&R, &po)) != 0) goto done;
  if ((rc = write_patients(&R, &po)) != 0) goto done;
  stage_done(&R, "output", t0);
  if ((rc = write_report(&R, t_start)) != 0) goto done;
  if (summary) {
    memset(summary, 0, sizeof *summary);
    summary->records = N;
    for (uint32_t s = 0; s < R.ns; s++) summary->rejected += R.ist[s].rows_rejected;
    for (uint64_t p = 0; p < R.npat; p++)
      if (R.psize[p] > 1) summary->linked += R.psize[p];
    summary->patients = R.npat;
    summary->seconds = tsr__now() - t_start;
    summary->peak_rss = tsr__peak_rss();
  }
done:
  if (rj) tsr_rejects_close(rj, NULL);
  if (R.stores)
    for (uint32_t s = 0; s < R.ns; s++) tsr_store_free(R.stores[s]);
  tsr__free(R.stores);
  tsr__free(R.ist);
  tsr__free(R.steps);
  tsr__free(R.parent);
  tsr__free(R.rule_of);
  tsr__free(R.pid);
  tsr__free(R.pcount);
  tsr__free(R.psize);
  tsr__free(R.pfirst);
  tsr__free(R.plast);
  tsr__free(R.nhs_min);
  tsr__free(R.nhs_max);
  json_decref(R.stages);
  return rc;
}
