/* The extract's contents (extract_internal.h): values of the catalogue's
 * fields, generalisation, the record-level tables in pseudonym order, the
 * k-anonymity measure (and further generalisation when the agreement asks
 * for it) and the aggregate tables with small-number suppression.
 *
 * DESIGN
 *   Rows are visited patient by patient in pseudonym order (X->order), each
 *   patient's rows in their run order. A row is released when its patient
 *   is in the extract, it is not GP-derived data of a patient with a type 1
 *   opt-out, and its event date lies in the agreement's window (a
 *   registration period: when it overlaps the window). Generalised values
 *   are written as text ("2021-06", "65-69", "LS16"), except a year (INT32)
 *   and kept dates (DATE), integers (INT64) and sex codes (INT32). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "common/buf.h"
#include "common/common_internal.h"
#include "common/date.h"
#include "extract/extract_internal.h"
#include "extract/sdc.h"

#define BATCH 16384
#define SLOT 48
#define ROWMASK ((UINT64_C(1) << 40) - 1)

int tsr__x_value(const tsr__x *X, const tsr__xtab *t, size_t f, uint64_t row, tsr__xval *v) {
  const tsr__xfld *F = &t->f[f];
  memset(v, 0, sizeof *v);
  if (t->kind == TSR__TK_PATIENTS) {
    int64_t x = X->pval[F->pf][row];
    v->present = x != INT64_MIN;
    v->i = x;
    return v->present;
  }
  if (t->kind == TSR__TK_SOURCE) {
    const tsr_column *c = F->sc;
    switch (F->vt) {
      case TSR__VT_DATE:
        v->present = c->i32[row] != TSR_DATE_NONE;
        v->i = c->i32[row];
        break;
      case TSR__VT_SEX:
        v->present = c->u8[row] != 0;
        v->i = c->u8[row];
        break;
      case TSR__VT_PC:
        v->present = c->u64[row] != 0;
        v->i = (int64_t)c->u64[row];
        break;
      case TSR__VT_I64:
        v->present = c->i64[row] != TSR_INT_NONE;
        v->i = c->i64[row];
        break;
      case TSR__VT_STR:
        if (c->code16 || c->code32) {
          uint32_t id = c->code16 ? c->code16[row] : c->code32[row];
          if (id) {
            v->present = 1;
            v->s = (tsr_view){c->dict + c->dict_off[id - 1], c->dict_off[id] - c->dict_off[id - 1]};
          }
        } else if (c->str) {
          v->s = (tsr_view){c->str + c->str_off[row], c->str_off[row + 1] - c->str_off[row]};
          v->present = v->s.len > 0;
        }
        break;
    }
    return v->present;
  }
  const tsr_pq_column *c = &F->pq;
  if (!F->loaded || row >= c->nrows || !c->valid[row]) return 0;
  v->present = 1;
  switch (c->type) {
    case TSR_PQ_STRING:
      v->s = c->values.str[row];
      break;
    case TSR_PQ_DATE:
    case TSR_PQ_INT32:
      v->i = c->values.i32[row];
      break;
    case TSR_PQ_INT64:
      v->i = c->values.i64[row];
      break;
    default:
      v->present = 0;
  }
  return v->present;
}

int32_t tsr__x_event(const tsr__x *X, const tsr__xtab *t, uint64_t row) {
  if (t->kind == TSR__TK_PATIENTS) return X->ref_date;
  if (t->kind == TSR__TK_SOURCE) {
    const tsr__xsrc *S = &X->src[t->src];
    for (int e = 0; e < S->nev; e++) {
      int32_t d = tsr_store_col(S->store, (uint32_t)S->ev[e])->i32[row];
      if (d != TSR_DATE_NONE) return d;
    }
    return TSR_DATE_NONE;
  }
  tsr__xval v;
  if (t->ev < 0 || !tsr__x_value(X, t, (size_t)t->ev, row, &v)) return TSR_DATE_NONE;
  return (int32_t)v.i;
}

int tsr__x_row_in(const tsr__x *X, const tsr__xtab *t, uint64_t row, int64_t p) {
  uint8_t f = X->flag[p];
  if (!(f & TSR__PF_IN)) return 0;
  if (t->gp_derived && (f & TSR__PF_TYPE1)) return 0;
  const tsr__agreement *A = X->A;
  if (t->kind == TSR__TK_PATIENTS || (A->from == TSR_DATE_NONE && A->to == TSR_DATE_NONE)) return 1;
  int32_t ev = tsr__x_event(X, t, row);
  if (ev == TSR_DATE_NONE) return 0;
  if (t->kind == TSR__TK_REGS) { /* a period [start, end) overlapping the window */
    tsr__xval e;
    int32_t end = tsr__x_value(X, t, (size_t)t->ev2, row, &e) ? (int32_t)e.i : INT32_MAX;
    if (A->to != TSR_DATE_NONE && ev > A->to) return 0;
    if (A->from != TSR_DATE_NONE && end <= A->from) return 0;
    return 1;
  }
  if (A->from != TSR_DATE_NONE && ev < A->from) return 0;
  if (A->to != TSR_DATE_NONE && ev > A->to) return 0;
  return 1;
}

static int age_years(int32_t dob, int32_t ev) {
  int y1, m1, d1, y2, m2, d2;
  tsr__ymd_from_days(dob, &y1, &m1, &d1);
  tsr__ymd_from_days(ev, &y2, &m2, &d2);
  int a = y2 - y1;
  if (m2 < m1 || (m2 == m1 && d2 < d1)) a--;
  return a;
}

/* A postcode's sector ("LS16 5"), district ("LS16") or area ("LS") from its
 * packed form (the characters without the space, left-aligned, big-endian;
 * the inward code is the last three). */
static size_t pc_text(uint64_t packed, tsr__gen g, char *buf) {
  char c[8];
  size_t n = 0;
  for (size_t i = 0; i < 8; i++) {
    char ch = (char)((packed >> (8 * (7 - i))) & 0xFFu);
    if (!ch) break;
    c[n++] = ch;
  }
  if (n < 5) {
    buf[0] = '\0';
    return 0;
  }
  size_t out = n - 3, k = 0;
  if (g == TSR__GEN_AREA) {
    while (k < out && c[k] >= 'A' && c[k] <= 'Z') buf[k] = c[k], k++;
  } else {
    for (; k < out; k++) buf[k] = c[k];
    if (g == TSR__GEN_SECTOR) buf[k++] = ' ', buf[k++] = c[out];
  }
  buf[k] = '\0';
  return k;
}

const char *tsr__x_gen_name(tsr__gen g) { return g == TSR__GEN_WITHHELD ? "withheld" : tsr__gen_name(g); }

int tsr__x_gen_text(const tsr__x *X, const tsr__xtab *t, size_t f, tsr__gen g, uint64_t row, int64_t p, char *buf,
                    size_t cap, size_t *len) {
  tsr__xval v;
  *len = 0;
  buf[0] = '\0';
  if (g == TSR__GEN_WITHHELD || !tsr__x_value(X, t, f, row, &v)) return 0;
  int n = 0, y, m, d;
  switch (t->f[f].vt) {
    case TSR__VT_DATE:
      tsr__ymd_from_days((int32_t)v.i, &y, &m, &d);
      if (g == TSR__GEN_YEAR)
        n = snprintf(buf, cap, "%04d", y);
      else if (g == TSR__GEN_MONTH || g == TSR__GEN_YEAR_MONTH)
        n = snprintf(buf, cap, "%04d-%02d", y, m);
      else if (g == TSR__GEN_AGE_BAND) {
        int32_t ev = tsr__x_event(X, t, row);
        if (t->kind == TSR__TK_PATIENTS) ev = X->ref_date;
        (void)p;
        if (ev == TSR_DATE_NONE) return 0;
        int a = age_years((int32_t)v.i, ev);
        if (a < 0) return 0;
        n = a >= 90 ? snprintf(buf, cap, "90+") : snprintf(buf, cap, "%d-%d", a / 5 * 5, a / 5 * 5 + 4);
      } else
        n = snprintf(buf, cap, "%04d-%02d-%02d", y, m, d);
      break;
    case TSR__VT_PC:
      n = (int)pc_text((uint64_t)v.i, g, buf);
      break;
    case TSR__VT_SEX:
    case TSR__VT_I64:
      n = snprintf(buf, cap, "%lld", (long long)v.i);
      break;
    case TSR__VT_STR:
      n = (int)(v.s.len < cap - 1 ? v.s.len : cap - 1);
      memcpy(buf, v.s.ptr, (size_t)n);
      buf[n] = '\0';
      break;
  }
  if (n < 0) n = 0;
  *len = (size_t)n < cap ? (size_t)n : cap - 1;
  return 1;
}

/* Rows of table t for patient p, visited in order through cb. */
typedef int (*row_cb)(tsr__x *X, const tsr__xtab *t, uint64_t row, int64_t p, void *ctx);

static int visit(tsr__x *X, const tsr__xtab *t, row_cb cb, void *ctx) {
  for (uint64_t i = 0; i < X->norder; i++) {
    int64_t p = X->order[i];
    int rc = 0;
    if (t->kind == TSR__TK_PATIENTS) {
      if (tsr__x_row_in(X, t, (uint64_t)p, p)) rc = cb(X, t, (uint64_t)p, p, ctx);
    } else if (t->kind == TSR__TK_SOURCE) {
      for (uint64_t j = X->roff[p]; j < X->roff[p + 1] && !rc; j++)
        if ((X->rec[j] >> 40) == t->src && tsr__x_row_in(X, t, X->rec[j] & ROWMASK, p))
          rc = cb(X, t, X->rec[j] & ROWMASK, p, ctx);
    } else {
      for (uint64_t r = t->off[p]; r < t->off[p + 1] && !rc; r++)
        if (tsr__x_row_in(X, t, r, p)) rc = cb(X, t, r, p, ctx);
    }
    if (rc) return rc;
  }
  return 0;
}

/* --- Tables ------------------------------------------------------------------------------ */
/* A table is written in chunks of CHUNK rows, column by column: the rows of
 * a chunk (in pseudonym order, so scattered over the run's arrays) are listed
 * first, then each column gathers its values in one tight loop, the columns
 * in parallel. Gathering row by row instead was the extract's largest cost
 * (a cache miss per field of every row). */
#define CHUNK ((size_t)1 << 18)

static tsr_pq_type out_type(tsr__vtype vt, tsr__gen g) {
  if (g == TSR__GEN_YEAR) return TSR_PQ_INT32;
  if (g == TSR__GEN_WITHHELD) return TSR_PQ_STRING;
  if (g != TSR__GEN_KEEP) return TSR_PQ_STRING;
  switch (vt) {
    case TSR__VT_DATE:
      return TSR_PQ_DATE;
    case TSR__VT_I64:
      return TSR_PQ_INT64;
    case TSR__VT_SEX:
      return TSR_PQ_INT32;
    default:
      return TSR_PQ_STRING;
  }
}

/* The rows of table t to release, in pseudonym order. */
static int table_rows(tsr__x *X, const tsr__xtab *t, uint64_t **rows_out, uint32_t **pats_out, uint64_t *n_out) {
  uint64_t n = 0, cap = 1 << 16;
  uint64_t *rows = tsr__malloc(cap * sizeof *rows);
  uint32_t *pats = tsr__malloc(cap * sizeof *pats);
  if (!rows || !pats) goto oom;
  for (uint64_t i = 0; i < X->norder; i++) {
    int64_t p = X->order[i];
    uint64_t a, b;
    if (t->kind == TSR__TK_PATIENTS)
      a = (uint64_t)p, b = a + 1;
    else if (t->kind == TSR__TK_SOURCE)
      a = X->roff[p], b = X->roff[p + 1];
    else
      a = t->off[p], b = t->off[p + 1];
    for (uint64_t j = a; j < b; j++) {
      uint64_t r = j;
      if (t->kind == TSR__TK_SOURCE) {
        if ((X->rec[j] >> 40) != t->src) continue;
        r = X->rec[j] & ROWMASK;
      }
      if (!tsr__x_row_in(X, t, r, p)) continue;
      if (n == cap) {
        cap *= 2;
        uint64_t *nr = tsr__realloc(rows, cap * sizeof *rows);
        if (!nr) goto oom;
        rows = nr;
        uint32_t *np = tsr__realloc(pats, cap * sizeof *pats);
        if (!np) goto oom;
        pats = np;
      }
      rows[n] = r;
      pats[n++] = (uint32_t)p;
    }
  }
  *rows_out = rows;
  *pats_out = pats;
  *n_out = n;
  return 0;
oom:
  tsr__free(rows);
  tsr__free(pats);
  return TSR_ENOMEM;
}

static inline void put2(char *o, int v) {
  o[0] = (char)('0' + v / 10);
  o[1] = (char)('0' + v % 10);
}

/* Fills column c (0 = pseudonym) of m rows. slot: m * SLOT bytes for text. */
static void fill_col(const tsr__x *X, const tsr__xtab *t, const tsr__xsel *fs, tsr_pq_type type, const uint64_t *rows,
                     const uint32_t *pats, size_t m, void *vals, uint8_t *valid, char *slot) {
  static const char hx[] = "0123456789abcdef";
  if (!fs) {
    tsr_view *v = vals;
    for (size_t k = 0; k < m; k++) {
      char *s0 = slot + k * SLOT;
      const unsigned char *ps = X->pseud + (size_t)pats[k] * 16;
      for (int i = 0; i < 16; i++) s0[2 * i] = hx[ps[i] >> 4], s0[2 * i + 1] = hx[ps[i] & 15];
      v[k] = (tsr_view){s0, 32};
    }
    return;
  }
  int practice_t1 = t->kind == TSR__TK_SPELLS && strcmp(t->f[fs->field].name, "practice") == 0;
  /* the rows are scattered (pseudonym order): fetch a few rows ahead so the
   * cache misses overlap */
  const tsr__xfld *F = &t->f[fs->field];
  const void *pv = NULL, *pvalid = NULL;
  size_t pw = 0;
  if (t->kind != TSR__TK_SOURCE && t->kind != TSR__TK_PATIENTS && F->loaded) {
    pv = F->pq.values.any;
    pvalid = F->pq.valid;
    pw = F->pq.type == TSR_PQ_STRING ? sizeof(tsr_view) : F->pq.type == TSR_PQ_INT64 ? 8 : 4;
  } else if (t->kind == TSR__TK_SOURCE && F->sc) {
    const tsr_column *sc = F->sc;
    pv = sc->i32 ? (const void *)sc->i32 : sc->u64 ? (const void *)sc->u64 : sc->i64 ? (const void *)sc->i64
         : sc->u8 ? (const void *)sc->u8 : sc->code16 ? (const void *)sc->code16 : (const void *)sc->code32;
    pw = sc->i32 ? 4 : sc->u64 || sc->i64 ? 8 : sc->u8 ? 1 : sc->code16 ? 2 : 4;
  }
  /* run-file columns kept or reduced to the month: typed loops, no
   * per-value dispatch */
  if (t->kind != TSR__TK_SOURCE && t->kind != TSR__TK_PATIENTS && F->loaded && !practice_t1 &&
      (fs->gen == TSR__GEN_KEEP || (fs->gen == TSR__GEN_MONTH && F->pq.type == TSR_PQ_DATE))) {
    const tsr_pq_column *pc = &F->pq;
    for (size_t k = 0; k < m; k++) {
      if (k + 12 < m) {
        __builtin_prefetch((const char *)pv + rows[k + 12] * pw);
        __builtin_prefetch(pc->valid + rows[k + 12]);
      }
      uint64_t r = rows[k];
      int present = r < pc->nrows && pc->valid[r];
      valid[k] = (uint8_t)present;
      if (type == TSR_PQ_STRING && fs->gen == TSR__GEN_KEEP) {
        ((tsr_view *)vals)[k] = present ? pc->values.str[r] : (tsr_view){NULL, 0};
      } else if (type == TSR_PQ_STRING) { /* a date's month */
        tsr_view *sv = vals;
        if (!present) {
          sv[k] = (tsr_view){NULL, 0};
          continue;
        }
        int y, mo, d;
        tsr__ymd_from_days(pc->values.i32[r], &y, &mo, &d);
        char *sl = slot + k * SLOT;
        if (y < 0 || y > 9999) {
          size_t len = (size_t)snprintf(sl, SLOT, "%d-%02d", y, mo);
          sv[k] = (tsr_view){sl, (uint32_t)(len < SLOT ? len : SLOT - 1)};
          continue;
        }
        put2(sl, y / 100);
        put2(sl + 2, y % 100);
        sl[4] = '-';
        put2(sl + 5, mo);
        sv[k] = (tsr_view){sl, 7};
      } else if (type == TSR_PQ_INT64) {
        ((int64_t *)vals)[k] = present ? (pc->type == TSR_PQ_INT64 ? pc->values.i64[r] : pc->values.i32[r]) : 0;
      } else { /* DATE, INT32 */
        ((int32_t *)vals)[k] = present ? (pc->type == TSR_PQ_INT64 ? (int32_t)pc->values.i64[r] : pc->values.i32[r]) : 0;
      }
    }
    return;
  }
  for (size_t k = 0; k < m; k++) {
    if (pv && k + 12 < m) {
      __builtin_prefetch((const char *)pv + rows[k + 12] * pw);
      if (pvalid) __builtin_prefetch((const char *)pvalid + rows[k + 12]);
    }
    tsr__xval v;
    int present = fs->gen != TSR__GEN_WITHHELD && tsr__x_value(X, t, fs->field, rows[k], &v);
    /* a type 1 patient's practice at admission comes from GP data */
    if (present && practice_t1 && (X->flag[pats[k]] & TSR__PF_TYPE1)) present = 0;
    valid[k] = (uint8_t)present;
    switch (type) {
      case TSR_PQ_DATE:
        ((int32_t *)vals)[k] = present ? (int32_t)v.i : 0;
        break;
      case TSR_PQ_INT64:
        ((int64_t *)vals)[k] = present ? v.i : 0;
        break;
      case TSR_PQ_INT32:
        if (present && fs->gen == TSR__GEN_YEAR) {
          int y, mo, d;
          tsr__ymd_from_days((int32_t)v.i, &y, &mo, &d);
          ((int32_t *)vals)[k] = y;
        } else {
          ((int32_t *)vals)[k] = present ? (int32_t)v.i : 0;
        }
        break;
      default: {
        tsr_view *sv = vals;
        if (!present) {
          sv[k] = (tsr_view){NULL, 0};
          break;
        }
        if (fs->gen == TSR__GEN_KEEP && t->f[fs->field].vt == TSR__VT_STR) {
          sv[k] = v.s;
          break;
        }
        char *sl = slot + k * SLOT;
        if (t->f[fs->field].vt == TSR__VT_DATE && (fs->gen == TSR__GEN_MONTH || fs->gen == TSR__GEN_YEAR_MONTH)) {
          int y, mo, d;
          tsr__ymd_from_days((int32_t)v.i, &y, &mo, &d);
          if (y >= 0 && y <= 9999) {
            put2(sl, y / 100);
            put2(sl + 2, y % 100);
            sl[4] = '-';
            put2(sl + 5, mo);
            sv[k] = (tsr_view){sl, 7};
            break;
          }
        }
        size_t len = 0;
        present = tsr__x_gen_text(X, t, fs->field, fs->gen, rows[k], pats[k], sl, SLOT, &len);
        valid[k] = (uint8_t)present;
        sv[k] = (tsr_view){present ? sl : NULL, (uint32_t)len};
      }
    }
  }
}

static int load_for(tsr__x *X, tsr__xtab *t, tsr_error *err);

int tsr__x_write_tables(tsr__x *X, const char *dir, uint64_t *rows_total, tsr_error *err) {
  const tsr__agreement *A = X->A;
  *rows_total = 0;
  for (size_t i = 0; i < A->ntables; i++) {
    const tsr__xtable_sel *sel = &A->tables[i];
    tsr__xtab *t = &X->tab[sel->table];
    TSR_FORWARD_IF_ERROR(load_for(X, t, err));
    size_t ncol = 1 + sel->nfields;
    if (ncol > 70) return tsr_error_set(err, TSR_ELIMIT, NULL, 0, 0, "tables.%s: more than 69 fields", t->name);
    tsr_pq_column_def defs[70];
    char names[70][96];
    tsr_pq_type type[70];
    defs[0] = (tsr_pq_column_def){"pseudonym", TSR_PQ_STRING, 0, TSR_PQ_ENC_PLAIN};
    type[0] = TSR_PQ_STRING;
    json_t *fl = json_array();
    for (size_t c = 1; c < ncol; c++) {
      const tsr__xsel *fs = &sel->fields[c - 1];
      const char *fn = t->f[fs->field].name;
      if (fs->gen == TSR__GEN_KEEP)
        snprintf(names[c], sizeof names[c], "%s", fn);
      else
        snprintf(names[c], sizeof names[c], "%s_%s", fn, tsr__x_gen_name(fs->gen));
      type[c] = out_type(t->f[fs->field].vt, fs->gen);
      defs[c] = (tsr_pq_column_def){names[c], type[c], 1, TSR_PQ_ENC_AUTO};
      json_array_append_new(fl, json_string(names[c]));
    }
    char fname[128];
    snprintf(fname, sizeof fname, "%s.parquet", t->name);
    uint64_t *rows = NULL, n = 0;
    uint32_t *pats = NULL;
    int rc = table_rows(X, t, &rows, &pats, &n);
    if (rc) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    void *vals[70] = {NULL};
    uint8_t *valid[70] = {NULL};
    char *slots = rc ? NULL : tsr__malloc(ncol * CHUNK * SLOT);
    if (!rc && !slots) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    for (size_t c = 0; c < ncol && !rc; c++) {
      size_t w = type[c] == TSR_PQ_STRING ? sizeof(tsr_view) : type[c] == TSR_PQ_INT64 ? 8 : 4;
      vals[c] = tsr__malloc(w * CHUNK);
      valid[c] = tsr__malloc(CHUNK);
      if (!vals[c] || !valid[c]) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    }
    tsr_pq_options po;
    tsr_pq_options_init(&po);
    po.threads = X->threads;
    tsr_pq_writer *w = NULL;
    if (!rc) rc = tsr_pq_open(&w, dir, fname, defs, ncol, &po, err);
    long nc = (long)ncol;
    for (uint64_t c0 = 0; c0 < n && !rc; c0 += CHUNK) {
      size_t m = (size_t)(n - c0 < CHUNK ? n - c0 : CHUNK);
#pragma omp parallel for schedule(dynamic, 1) num_threads(X->threads)
      for (long c = 0; c < nc; c++)
        fill_col(X, t, c ? &sel->fields[c - 1] : NULL, type[c], rows + c0, pats + c0, m, vals[c], valid[c],
                 slots + (size_t)c * CHUNK * SLOT);
      tsr_pq_col cols[70];
      for (size_t c = 0; c < ncol; c++) cols[c] = (tsr_pq_col){vals[c], c ? valid[c] : NULL};
      rc = tsr_pq_write(w, cols, m, err);
    }
    if (w) {
      if (rc)
        tsr_pq_abort(w);
      else
        rc = tsr_pq_close(w, err);
    }
    for (size_t c = 0; c < ncol; c++) {
      tsr__free(vals[c]);
      tsr__free(valid[c]);
    }
    tsr__free(slots);
    tsr__free(rows);
    tsr__free(pats);
    if (rc) {
      json_decref(fl);
      return rc;
    }
    json_t *o = json_object();
    json_object_set_new(o, "file", json_string(fname));
    json_object_set_new(o, "rows", json_integer((json_int_t)n));
    json_object_set_new(o, "fields", fl);
    json_object_set_new(X->tables_json, t->name, o);
    *rows_total += n;
  }
  return 0;
}

static int load_for(tsr__x *X, tsr__xtab *t, tsr_error *err) {
  if (t->kind == TSR__TK_SOURCE || t->kind == TSR__TK_PATIENTS || t->rd) return 0;
  return tsr__x_load_pq(X, t, err);
}

/* --- k-anonymity ------------------------------------------------------------------------- */
typedef struct kctx {
  size_t q;
  const tsr__xsel **fs;
  uint64_t **codes;
  uint64_t n;
} kctx;

static int kanon_row(tsr__x *X, const tsr__xtab *t, uint64_t row, int64_t p, void *ctx) {
  kctx *K = ctx;
  char buf[SLOT];
  for (size_t c = 0; c < K->q; c++) {
    size_t len;
    uint64_t h = 0;
    if (tsr__x_gen_text(X, t, K->fs[c]->field, K->fs[c]->gen, row, p, buf, sizeof buf, &len))
      h = XXH3_64bits(buf, len) | 1; /* 0 stays "missing" */
    K->codes[c][K->n] = h;
  }
  K->n++;
  return 0;
}

static int count_row(tsr__x *X, const tsr__xtab *t, uint64_t row, int64_t p, void *ctx) {
  (void)X, (void)t, (void)row, (void)p;
  (*(uint64_t *)ctx)++;
  return 0;
}

/* The next coarser generalisation of a quasi-identifier, or KEEP for none. */
static tsr__gen coarser(tsr__xkind k, tsr__gen g) {
  if (g == TSR__GEN_WITHHELD) return TSR__GEN_KEEP; /* nothing coarser */
  if (k == TSR__XK_BIRTH_DATE)
    return g == TSR__GEN_YEAR_MONTH ? TSR__GEN_YEAR : g == TSR__GEN_YEAR ? TSR__GEN_AGE_BAND : TSR__GEN_WITHHELD;
  if (k == TSR__XK_POSTCODE)
    return g == TSR__GEN_SECTOR ? TSR__GEN_DISTRICT : g == TSR__GEN_DISTRICT ? TSR__GEN_AREA : TSR__GEN_WITHHELD;
  if (k == TSR__XK_EVENT_DATE) return g == TSR__GEN_KEEP ? TSR__GEN_MONTH : TSR__GEN_WITHHELD;
  return TSR__GEN_WITHHELD;
}

static uint64_t distinct(const uint64_t *v, uint64_t n) {
  uint64_t *c = tsr__malloc((n ? n : 1) * sizeof *c);
  if (!c) return 0;
  memcpy(c, v, n * sizeof *c);
  uint64_t d = 0;
  /* small insertion-free count: sort then count runs */
  for (uint64_t gap = n / 2; gap > 0; gap /= 2) /* shell sort: no comparator callbacks */
    for (uint64_t i = gap; i < n; i++) {
      uint64_t x = c[i], j = i;
      while (j >= gap && c[j - gap] > x) c[j] = c[j - gap], j -= gap;
      c[j] = x;
    }
  for (uint64_t i = 0; i < n; i++) d += i == 0 || c[i] != c[i - 1];
  tsr__free(c);
  return d;
}

int tsr__x_kanon(tsr__x *X, tsr_error *err) {
  tsr__agreement *A = X->A;
  if (!A->nqi) return 0;
  tsr__xtab *t = &X->tab[A->qi_table];
  TSR_FORWARD_IF_ERROR(load_for(X, t, err));
  tsr__xtable_sel *sel = NULL;
  for (size_t i = 0; i < A->ntables; i++)
    if (A->tables[i].table == A->qi_table) sel = &A->tables[i];
  TSR_RETURN_IF(!sel, err, TSR_ECONFIG, "k_anonymity: the quasi-identifiers' table is not released");
  kctx K;
  memset(&K, 0, sizeof K);
  K.q = A->nqi;
  uint64_t n = 0;
  TSR_FORWARD_IF_ERROR(visit(X, t, count_row, &n));
  K.fs = tsr__calloc(K.q, sizeof *K.fs);
  K.codes = tsr__calloc(K.q, sizeof *K.codes);
  int rc = (!K.fs || !K.codes) ? tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory") : 0;
  for (size_t c = 0; c < K.q && !rc; c++) {
    for (size_t j = 0; j < sel->nfields; j++)
      if (sel->fields[j].field == A->qi[c].field) K.fs[c] = &sel->fields[j];
    K.codes[c] = tsr__malloc((n ? n : 1) * sizeof **K.codes);
    if (!K.fs[c] || !K.codes[c]) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "k_anonymity: bad quasi-identifier");
  }
  json_t *steps = json_array();
  tsr__kanon res;
  memset(&res, 0, sizeof res);
  uint64_t first_smallest = 0;
  double first_share = 0;
  int first = 1;
  while (!rc) {
    K.n = 0;
    rc = visit(X, t, kanon_row, &K);
    if (!rc) rc = tsr__kanon_measure((const uint64_t *const *)K.codes, K.q, K.n, A->k, X->threads, &res, err);
    if (rc) break;
    if (first) first_smallest = res.smallest, first_share = res.share_below_k, first = 0;
    if (!A->min_k || res.smallest >= A->min_k || res.records == 0) break;
    if (!A->on_fail_generalise) {
      rc = tsr_error_set(err, TSR_EINVAL, A->reference, 0, 0,
                         "k-anonymity: the smallest equivalence class of %s has %llu records, below min_k %u (%.2f%% "
                         "of records in classes below k %u); the agreement says refuse, so nothing was released",
                         t->name, (unsigned long long)res.smallest, A->min_k, 100.0 * res.share_below_k, A->k);
      break;
    }
    /* coarsen the quasi-identifier with the most distinct values that can go further */
    /* every quasi-identifier is taken to its coarsest value before any is
     * withheld; among the candidates, the one with the most distinct values */
    size_t best = K.q;
    uint64_t bd = 0;
    for (int pass = 0; pass < 2 && best == K.q; pass++)
      for (size_t c = 0; c < K.q; c++) {
        tsr__gen nx = coarser(t->cf[K.fs[c]->field].kind, K.fs[c]->gen);
        if (nx == TSR__GEN_KEEP || (pass == 0 && nx == TSR__GEN_WITHHELD)) continue;
        uint64_t d = distinct(K.codes[c], K.n);
        if (best == K.q || d > bd) best = c, bd = d;
      }
    if (best == K.q) {
      rc = tsr_error_set(err, TSR_EINVAL, A->reference, 0, 0,
                         "k-anonymity: the smallest equivalence class of %s has %llu records, below min_k %u, with "
                         "every quasi-identifier at its coarsest; nothing was released",
                         t->name, (unsigned long long)res.smallest, A->min_k);
      break;
    }
    tsr__xsel *fs = (tsr__xsel *)K.fs[best];
    tsr__gen to = coarser(t->cf[fs->field].kind, fs->gen);
    json_t *s = json_object();
    json_object_set_new(s, "field", json_string(t->f[fs->field].name));
    json_object_set_new(s, "from", json_string(tsr__x_gen_name(fs->gen)));
    json_object_set_new(s, "to", json_string(tsr__x_gen_name(to)));
    json_object_set_new(s, "smallest_before", json_integer((json_int_t)res.smallest));
    json_array_append_new(steps, s);
    fs->gen = to;
  }
  if (!rc) {
    json_t *o = json_object();
    json_object_set_new(o, "table", json_string(t->name));
    json_t *qi = json_array();
    for (size_t c = 0; c < K.q; c++) {
      char nm[128];
      snprintf(nm, sizeof nm, "%s:%s", t->f[K.fs[c]->field].name, tsr__x_gen_name(K.fs[c]->gen));
      json_array_append_new(qi, json_string(nm));
    }
    json_object_set_new(o, "quasi_identifiers", qi);
    json_object_set_new(o, "k", json_integer(A->k));
    json_object_set_new(o, "min_k", json_integer(A->min_k));
    json_object_set_new(o, "records", json_integer((json_int_t)res.records));
    json_object_set_new(o, "classes", json_integer((json_int_t)res.classes));
    json_object_set_new(o, "smallest_class", json_integer((json_int_t)res.smallest));
    json_object_set_new(o, "records_below_k", json_integer((json_int_t)res.records_below_k));
    /* shares as text: the register refuses reals (not portable) */
    char sh[32];
    snprintf(sh, sizeof sh, "%.6f", res.share_below_k);
    json_object_set_new(o, "share_below_k", json_string(sh));
    json_object_set_new(o, "smallest_class_as_asked", json_integer((json_int_t)first_smallest));
    snprintf(sh, sizeof sh, "%.6f", first_share);
    json_object_set_new(o, "share_below_k_as_asked", json_string(sh));
    json_object_set_new(o, "generalised", steps);
    X->kanon_json = o;
  } else {
    json_decref(steps);
  }
  for (size_t c = 0; c < K.q && K.codes; c++) tsr__free(K.codes[c]);
  tsr__free(K.codes);
  tsr__free(K.fs);
  return rc;
}

/* --- Aggregates -------------------------------------------------------------------------- */
typedef struct kmap {
  uint64_t *h;    /* key hash, 0 = empty slot */
  uint32_t *idx;  /* slot -> key index */
  size_t cap, n;
  tsr__buf text;  /* keys, NUL-separated */
  uint64_t *off;  /* key index -> offset in text */
  size_t ocap;
} kmap;

static int kmap_get(kmap *m, const char *key, size_t len, int add, uint32_t *out) {
  uint64_t h = XXH3_64bits(key, len) | 1;
  if (add && (m->n + 1) * 2 > m->cap) {
    size_t nc = m->cap ? m->cap * 2 : 256;
    uint64_t *nh = tsr__calloc(nc, sizeof *nh);
    uint32_t *ni = tsr__calloc(nc, sizeof *ni);
    if (!nh || !ni) {
      tsr__free(nh);
      tsr__free(ni);
      return -1;
    }
    for (size_t i = 0; i < m->cap; i++)
      if (m->h[i]) {
        size_t s = (size_t)m->h[i] & (nc - 1);
        while (nh[s]) s = (s + 1) & (nc - 1);
        nh[s] = m->h[i];
        ni[s] = m->idx[i];
      }
    tsr__free(m->h);
    tsr__free(m->idx);
    m->h = nh;
    m->idx = ni;
    m->cap = nc;
  }
  if (!m->cap) return 0;
  size_t s = (size_t)h & (m->cap - 1);
  while (m->h[s]) {
    if (m->h[s] == h) {
      *out = m->idx[s];
      return 1;
    }
    s = (s + 1) & (m->cap - 1);
  }
  if (!add) return 0;
  if (m->n + 1 > m->ocap) {
    size_t oc = m->ocap ? m->ocap * 2 : 256;
    uint64_t *no = tsr__realloc(m->off, oc * sizeof *no);
    if (!no) return -1;
    m->off = no;
    m->ocap = oc;
  }
  m->off[m->n] = m->text.len;
  tsr__buf_put(&m->text, key, len);
  tsr__buf_putc(&m->text, '\0');
  if (m->text.oom) return -1;
  m->h[s] = h;
  m->idx[s] = (uint32_t)m->n;
  *out = (uint32_t)m->n++;
  return 1;
}

static void kmap_free(kmap *m) {
  tsr__free(m->h);
  tsr__free(m->idx);
  tsr__free(m->off);
  tsr__buf_free(&m->text);
}

typedef struct actx {
  const tsr__aggregate *ag;
  kmap rows, cols;
  int pass;
  uint64_t *cells;
  uint32_t *last; /* last patient counted per cell (count_patients) */
} actx;

static size_t dim_text(tsr__x *X, const tsr__xtab *t, const tsr__dim *d, uint64_t row, int64_t p, char *buf) {
  size_t len = 0;
  tsr__gen g = d->fn == TSR__DIM_YEAR ? TSR__GEN_YEAR : d->fn == TSR__DIM_MONTH ? TSR__GEN_MONTH : TSR__GEN_KEEP;
  if (t->f[d->field].vt == TSR__VT_PC && g == TSR__GEN_KEEP) g = TSR__GEN_DISTRICT; /* never a full postcode */
  if (!tsr__x_gen_text(X, t, d->field, g, row, p, buf, SLOT, &len)) {
    memcpy(buf, "(missing)", 10);
    return 9;
  }
  if (d->fn == TSR__DIM_CHAPTER) {
    const char *ch = tsr__icd10_chapter(buf, len);
    snprintf(buf, SLOT, "%s", ch ? ch : "(not a code)");
    return strlen(buf);
  }
  return len;
}

static int agg_row(tsr__x *X, const tsr__xtab *t, uint64_t row, int64_t p, void *ctx) {
  actx *C = ctx;
  char key[4 * SLOT + 8], buf[SLOT];
  size_t kl = 0;
  for (size_t d = 0; d < C->ag->nrows; d++) {
    size_t l = dim_text(X, t, &C->ag->rows[d], row, p, buf);
    if (d) key[kl++] = '\x1f';
    memcpy(key + kl, buf, l);
    kl += l;
  }
  size_t cl = dim_text(X, t, &C->ag->column, row, p, buf);
  uint32_t ri = 0, ci = 0;
  if (C->pass == 0) {
    if (kmap_get(&C->rows, key, kl, 1, &ri) < 0 || kmap_get(&C->cols, buf, cl, 1, &ci) < 0) return TSR_ENOMEM;
    return 0;
  }
  kmap_get(&C->rows, key, kl, 0, &ri);
  kmap_get(&C->cols, buf, cl, 0, &ci);
  size_t cell = (size_t)ri * C->cols.n + ci;
  if (C->last) {
    if (C->last[cell] == (uint32_t)p) return 0;
    C->last[cell] = (uint32_t)p;
  }
  C->cells[cell]++;
  return 0;
}

typedef struct sref {
  const char *s;
  uint32_t i;
} sref;

static int cmp_sref(const void *a, const void *b) {
  return strcmp(((const sref *)a)->s, ((const sref *)b)->s);
}

static sref *sorted_keys(const kmap *m) {
  sref *r = tsr__malloc((m->n ? m->n : 1) * sizeof *r);
  if (!r) return NULL;
  for (size_t i = 0; i < m->n; i++) r[i] = (sref){m->text.p + m->off[i], (uint32_t)i};
  qsort(r, m->n, sizeof *r, cmp_sref);
  return r;
}

static void put_shown(tsr__buf *b, int64_t v) {
  if (v < 0)
    tsr__buf_putc(b, '*');
  else
    tsr__buf_u64(b, (uint64_t)v);
}

static void put_dim_name(tsr__buf *b, const tsr__xtab *t, const tsr__dim *d) {
  tsr__buf_puts(b, t->f[d->field].name);
  if (d->fn != TSR__DIM_VALUE) {
    tsr__buf_putc(b, '_');
    tsr__buf_puts(b, tsr__dim_fn_name(d->fn));
  }
}

int tsr__x_aggregates(tsr__x *X, const char *dir, tsr_error *err) {
  const tsr__agreement *A = X->A;
  for (size_t a = 0; a < A->naggs; a++) {
    const tsr__aggregate *ag = &A->aggs[a];
    tsr__xtab *t = &X->tab[ag->table];
    TSR_FORWARD_IF_ERROR(load_for(X, t, err));
    actx C;
    memset(&C, 0, sizeof C);
    C.ag = ag;
    tsr__buf_init(&C.rows.text, 4096);
    tsr__buf_init(&C.cols.text, 4096);
    int rc = visit(X, t, agg_row, &C);
    size_t nr = C.rows.n, nc = C.cols.n;
    if (!rc && nr * nc > ((size_t)1 << 28))
      rc = tsr_error_set(err, TSR_ELIMIT, NULL, 0, 0, "aggregates[%zu]: %zu x %zu cells is too many", a, nr, nc);
    if (!rc) {
      C.cells = tsr__calloc(nr * nc + 1, sizeof *C.cells);
      if (ag->count_patients) {
        C.last = tsr__malloc((nr * nc + 1) * sizeof *C.last);
        if (C.last) memset(C.last, 0, (nr * nc + 1) * sizeof *C.last);
      }
      if (!C.cells || (ag->count_patients && !C.last)) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    }
    C.pass = 1;
    if (!rc) rc = visit(X, t, agg_row, &C);
    sref *rk = rc ? NULL : sorted_keys(&C.rows), *ck = rc ? NULL : sorted_keys(&C.cols);
    tsr__sdc_table T;
    memset(&T, 0, sizeof T);
    tsr__sdc_shown S;
    memset(&S, 0, sizeof S);
    if (!rc && (!rk || !ck)) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    if (!rc) {
      T.nr = nr;
      T.nc = nc;
      T.cells = tsr__malloc((nr * nc + 1) * sizeof *T.cells);
      T.row_tot = tsr__malloc((nr + 1) * sizeof *T.row_tot);
      T.col_tot = tsr__malloc((nc + 1) * sizeof *T.col_tot);
      if (!T.cells || !T.row_tot || !T.col_tot) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    }
    if (!rc) {
      for (size_t i = 0; i < nr; i++)
        for (size_t j = 0; j < nc; j++) T.cells[i * nc + j] = C.cells[(size_t)rk[i].i * nc + ck[j].i];
      /* totals are the sums of the cells (with "count": "patients", a patient
       * counted in two cells of a row counts twice in its total), so that
       * suppression can rely on every line adding up */
      rc = tsr__sdc_fill_totals(&T, err);
    }
    if (!rc) rc = tsr__sdc_suppress(&T, &S, err);
    if (!rc) {
      tsr__buf b;
      tsr__buf_init(&b, 1 << 16);
      for (size_t d = 0; d < ag->nrows; d++) {
        put_dim_name(&b, t, &ag->rows[d]);
        tsr__buf_putc(&b, ',');
      }
      for (size_t j = 0; j < nc; j++) {
        tsr__buf_csv_field(&b, ck[j].s, strlen(ck[j].s), ',', 1);
        tsr__buf_putc(&b, ',');
      }
      tsr__buf_puts(&b, "total\n");
      for (size_t i = 0; i < nr; i++) {
        const char *s = rk[i].s;
        for (size_t d = 0; d < ag->nrows; d++) {
          const char *e = strchr(s, '\x1f');
          size_t l = e ? (size_t)(e - s) : strlen(s);
          tsr__buf_csv_field(&b, s, l, ',', 1);
          tsr__buf_putc(&b, ',');
          s = e ? e + 1 : s + l;
        }
        for (size_t j = 0; j < nc; j++) {
          put_shown(&b, S.cells[i * nc + j]);
          tsr__buf_putc(&b, ',');
        }
        put_shown(&b, S.row_tot[i]);
        tsr__buf_putc(&b, '\n');
      }
      tsr__buf_puts(&b, "total");
      for (size_t d = 1; d < ag->nrows; d++) tsr__buf_putc(&b, ',');
      for (size_t j = 0; j < nc; j++) {
        tsr__buf_putc(&b, ',');
        put_shown(&b, S.col_tot[j]);
      }
      tsr__buf_putc(&b, ',');
      put_shown(&b, S.grand);
      tsr__buf_putc(&b, '\n');
      char fname[128];
      snprintf(fname, sizeof fname, "aggregate_%s.csv", ag->name);
      rc = b.oom ? tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory")
                 : tsr__write_file(dir, fname, b.p, b.len, err);
      tsr__buf_free(&b);
      if (!rc) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(fname));
        json_object_set_new(o, "table", json_string(t->name));
        json_object_set_new(o, "count", json_string(ag->count_patients ? "patients" : "rows"));
        json_object_set_new(o, "rows", json_integer((json_int_t)nr));
        json_object_set_new(o, "columns", json_integer((json_int_t)nc));
        json_object_set_new(o, "primary_suppressed", json_integer((json_int_t)S.primary));
        json_object_set_new(o, "secondary_suppressed", json_integer((json_int_t)S.secondary));
        json_object_set_new(X->aggs_json, ag->name, o);
      }
    }
    tsr__sdc_shown_free(&S);
    tsr__free(T.cells);
    tsr__free(T.row_tot);
    tsr__free(T.col_tot);
    tsr__free(rk);
    tsr__free(ck);
    tsr__free(C.cells);
    tsr__free(C.last);
    kmap_free(&C.rows);
    kmap_free(&C.cols);
    if (rc) return rc;
  }
  return 0;
}
