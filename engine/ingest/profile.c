/* Per-source profile of a store, for `tessera inspect`: completeness and
 * invalid counts per field, the most frequent values (to spot skew such as
 * communal postcodes or placeholder dates), rejects, memory and time. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/rng.h"
#include "ingest/store_internal.h"

/* value key -> (count, first row), open addressing */
typedef struct {
  uint64_t key, count, row;
} cnt_t;

typedef struct {
  cnt_t *t;
  uint64_t mask, n;
} cmap;

/* Distinct values tracked per column. Beyond it, values already tracked are
 * still counted but new ones are not: the top values stay exact for columns
 * with fewer distinct values (codes, names, postcodes, dates) and memory and
 * time stay bounded for id columns, where every value is unique anyway. */
#define PROFILE_MAX_DISTINCT (1u << 20)

static int cmap_add(cmap *m, uint64_t key, uint64_t row) {
  if (m->n >= PROFILE_MAX_DISTINCT && m->t) {
    uint64_t j = tsr__mix64(key) & m->mask;
    while (m->t[j].count && m->t[j].key != key) j = (j + 1) & m->mask;
    if (m->t[j].count) m->t[j].count++;
    return 0;
  }
  if ((m->n + 1) * 2 > m->mask + 1) {
    uint64_t size = m->mask ? (m->mask + 1) * 2 : 1024;
    cnt_t *t = tsr__calloc((size_t)size, sizeof *t);
    if (!t) return -1;
    for (uint64_t i = 0; m->t && i <= m->mask; i++) {
      if (!m->t[i].count) continue;
      uint64_t j = tsr__mix64(m->t[i].key) & (size - 1);
      while (t[j].count) j = (j + 1) & (size - 1);
      t[j] = m->t[i];
    }
    tsr__free(m->t);
    m->t = t;
    m->mask = size - 1;
  }
  /* mix all bits: packed postcodes have zero low bytes */
  uint64_t j = tsr__mix64(key) & m->mask;
  while (m->t[j].count && m->t[j].key != key) j = (j + 1) & m->mask;
  if (!m->t[j].count) {
    m->t[j].key = key;
    m->t[j].row = row;
    m->n++;
  }
  m->t[j].count++;
  return 0;
}

static int cnt_cmp(const void *a, const void *b) {
  const cnt_t *x = a, *y = b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row; /* ties: first seen first, so output is stable */
}

static int is_missing(const tsr_column *c, uint64_t r) {
  switch (c->kind) {
  case TSR_KIND_NHS_NUMBER:
  case TSR_KIND_POSTCODE:
    return c->u64[r] == 0;
  case TSR_KIND_DATE:
    return c->i32[r] == TSR_DATE_NONE;
  case TSR_KIND_INTEGER:
    return c->i64[r] == TSR_INT_NONE;
  case TSR_KIND_SEX:
    return 0;
  case TSR_KIND_CODE:
    return (c->code16 ? c->code16[r] : c->code32[r]) == 0;
  default:
    return c->str_off[r + 1] == c->str_off[r];
  }
}

static uint64_t value_key(const tsr_column *c, uint64_t r) {
  switch (c->kind) {
  case TSR_KIND_NHS_NUMBER:
  case TSR_KIND_POSTCODE:
    return c->u64[r];
  case TSR_KIND_DATE:
    return (uint64_t)(uint32_t)c->i32[r];
  case TSR_KIND_INTEGER:
    return (uint64_t)c->i64[r];
  case TSR_KIND_SEX:
    return c->u8[r];
  case TSR_KIND_CODE:
    return c->code16 ? c->code16[r] : c->code32[r];
  default:
    if (c->hash) return c->hash[r];
    /* text has no stored hash: a cheap one for counting */
    uint64_t h = 1469598103934665603ull;
    for (uint32_t i = c->str_off[r]; i < c->str_off[r + 1]; i++) h = (h ^ (uint8_t)c->str[i]) * 1099511628211ull;
    return h;
  }
}

/* Top n values of column c into out (caller frees); returns the count.
 * *capped says whether the distinct-value cap was reached. */
static size_t top_values(const tsr_store *s, const tsr_column *c, size_t n, cnt_t **out, int *capped) {
  cmap m = {0};
  *out = NULL;
  for (uint64_t r = 0; r < s->n; r++)
    if (!is_missing(c, r) && cmap_add(&m, value_key(c, r), r)) {
      tsr__free(m.t);
      return 0;
    }
  *capped = m.n >= PROFILE_MAX_DISTINCT;
  size_t k = 0;
  for (uint64_t i = 0; m.t && i <= m.mask; i++)
    if (m.t[i].count) m.t[k++] = m.t[i];
  qsort(m.t, k, sizeof *m.t, cnt_cmp);
  *out = m.t;
  return k < n ? k : n;
}

/* A real rounded to 1/scale: figures, not floating-point noise (with 12
 * significant digits on output, 0.3 prints as 0.3). */
static json_t *json_round(double v, double scale) { return json_real(floor(v * scale + 0.5) / scale); }

int tsr_store_profile(const tsr_store *s, const tsr_ingest_stats *st, int json, int top_n, FILE *f) {
  if (top_n < 0) top_n = 0;
  json_t *root = json ? json_object() : NULL;
  json_t *fields = json ? json_array() : NULL;
  if (json) {
    json_object_set_new(root, "source", json_string(s->source));
    json_object_set_new(root, "rows_read", json_integer((json_int_t)st->rows_read));
    json_object_set_new(root, "rows_stored", json_integer((json_int_t)st->rows_stored));
    json_object_set_new(root, "rows_rejected", json_integer((json_int_t)st->rows_rejected));
    json_t *rj = json_object();
    for (int r = 0; r < TSR_REJECT_COUNT; r++)
      json_object_set_new(rj, tsr_reject_name((tsr_reject_reason)r), json_integer((json_int_t)st->rejects[r]));
    json_object_set_new(root, "rejects", rj);
    json_object_set_new(root, "bytes_file", json_integer((json_int_t)st->bytes_file));
    json_object_set_new(root, "bytes_csv", json_integer((json_int_t)st->bytes_read));
    json_object_set_new(root, "store_bytes", json_integer((json_int_t)tsr_store_bytes(s)));
    json_object_set_new(root, "fixed_bytes_per_row", json_round(tsr_store_fixed_bytes_per_row(s), 1e3));
    json_t *sec = json_object();
    json_object_set_new(sec, "read", json_round(st->seconds_read, 1e6));
    json_object_set_new(sec, "parse", json_round(st->seconds_parse, 1e6));
    json_object_set_new(sec, "merge", json_round(st->seconds_merge, 1e6));
    json_object_set_new(sec, "total", json_round(st->seconds_total, 1e6));
    json_object_set_new(root, "seconds", sec);
  } else {
    fprintf(f, "source %s: %llu rows read, %llu stored, %llu rejected\n", s->source,
            (unsigned long long)st->rows_read, (unsigned long long)st->rows_stored,
            (unsigned long long)st->rows_rejected);
    for (int r = 0; r < TSR_REJECT_COUNT; r++)
      if (st->rejects[r])
        fprintf(f, "  rejected %-20s %llu\n", tsr_reject_name((tsr_reject_reason)r),
                (unsigned long long)st->rejects[r]);
    fprintf(f, "  file %.1f MB (%.1f MB of CSV); time %.2fs: read %.2fs, parse %.2fs, merge %.2fs\n",
            (double)st->bytes_file / 1e6, (double)st->bytes_read / 1e6, st->seconds_total, st->seconds_read,
            st->seconds_parse, st->seconds_merge);
    fprintf(f, "  store %.1f MB, %.1f bytes/row in fixed-width columns\n", (double)tsr_store_bytes(s) / 1e6,
            tsr_store_fixed_bytes_per_row(s));
    fprintf(f, "  %-22s %-12s %9s %9s %9s  top values\n", "field", "kind", "complete", "missing", "invalid");
  }
  for (uint32_t i = 0; i < s->ncols; i++) {
    const tsr_column *c = &s->cols[i].pub;
    double complete = s->n ? 1.0 - (double)c->n_missing / (double)s->n : 0.0;
    cnt_t *top = NULL;
    int capped = 0;
    size_t nt = top_n ? top_values(s, c, (size_t)top_n, &top, &capped) : 0;
    if (json) {
      json_t *o = json_object();
      json_object_set_new(o, "column", json_string(c->column));
      json_object_set_new(o, "field", json_string(c->field));
      json_object_set_new(o, "kind", json_string(tsr_field_kind_name(c->kind)));
      json_object_set_new(o, "complete", json_round(complete, 1e6));
      json_object_set_new(o, "missing", json_integer((json_int_t)c->n_missing));
      json_object_set_new(o, "invalid", json_integer((json_int_t)c->n_invalid));
      json_object_set_new(o, "pseudo", json_integer((json_int_t)c->n_pseudo));
      if (c->kind == TSR_KIND_DATE) {
        json_object_set_new(o, "below_min", json_integer((json_int_t)c->n_below_min));
        json_object_set_new(o, "above_max", json_integer((json_int_t)c->n_above_max));
      }
      json_t *ex = json_array();
      for (uint32_t k = 0; k < c->n_examples; k++) {
        json_t *e = json_object();
        json_object_set_new(e, "line", json_integer((json_int_t)c->examples[k].line));
        json_object_set_new(e, "value", json_string(c->examples[k].value));
        json_array_append_new(ex, e);
      }
      json_object_set_new(o, "invalid_examples", ex);
      json_t *arr = json_array();
      for (size_t k = 0; k < nt; k++) {
        char v[128];
        tsr_column_text(c, top[k].row, v, sizeof v);
        json_t *e = json_object();
        json_object_set_new(e, "value", json_string(v));
        json_object_set_new(e, "count", json_integer((json_int_t)top[k].count));
        json_array_append_new(arr, e);
      }
      json_object_set_new(o, "top", arr);
      json_object_set_new(o, "top_exact", json_boolean(!capped));
      json_array_append_new(fields, o);
    } else {
      fprintf(f, "  %-22s %-12s %8.2f%% %9llu %9llu  ", c->field, tsr_field_kind_name(c->kind), complete * 100.0,
              (unsigned long long)c->n_missing, (unsigned long long)c->n_invalid);
      for (size_t k = 0; k < nt; k++) {
        char v[64];
        tsr_column_text(c, top[k].row, v, sizeof v);
        fprintf(f, "%s%s (%llu)", k ? ", " : "", v, (unsigned long long)top[k].count);
      }
      if (capped) fprintf(f, "%s[over %u distinct: counts among the first]", nt ? " " : "", PROFILE_MAX_DISTINCT);
      if (c->n_pseudo) fprintf(f, "%s[%llu pseudo-postcodes]", nt ? "; " : "", (unsigned long long)c->n_pseudo);
      fputc('\n', f);
      if (c->n_examples) {
        fprintf(f, "  %-22s invalid, e.g.", "");
        for (uint32_t k = 0; k < c->n_examples; k++)
          fprintf(f, "%s line %llu: \"%s\"", k ? "," : "", (unsigned long long)c->examples[k].line,
                  c->examples[k].value);
        fputc('\n', f);
      }
    }
    tsr__free(top);
  }
  if (json) {
    json_object_set_new(root, "fields", fields);
    /* 12 significant digits: 0.3, not 0.30000000000000004 */
    json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    fputc('\n', f);
    json_decref(root);
  }
  return ferror(f) ? TSR_EIO : 0;
}

/* --- field quality warning ------------------------------------------------------------ */
static void ymd_text(int32_t days, char out[16]) {
  int y, m, d;
  tsr__ymd_from_days(days, &y, &m, &d);
  snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
}

int tsr_ingest_field_warning(const tsr_source_cfg *src, const tsr_store *s, const char *field, char *buf,
                             size_t cap) {
  if (cap) buf[0] = '\0';
  const tsr_column *c = s && field ? tsr_store_field(s, field) : NULL;
  uint64_t rows = s ? s->n : 0;
  if (!c || rows == 0 || c->n_missing * 2 <= rows || !cap) return 0;
  const tsr_column_cfg *cc = NULL;
  for (uint32_t i = 0; src && i < src->n_columns && !cc; i++)
    if (strcmp(src->columns[i].column, c->column) == 0) cc = &src->columns[i];
  uint64_t invalid = c->n_invalid, pseudo = c->n_pseudo, empty = c->n_missing - invalid - pseudo;
  char cause[256] = "";
  if (invalid >= empty && invalid >= pseudo) {
    switch (c->kind) {
    case TSR_KIND_DATE: {
      char lo[16] = "?", hi[16] = "?";
      if (cc) {
        ymd_text(cc->min_date, lo);
        ymd_text(cc->max_date, hi);
      }
      if (c->n_below_min * 2 >= invalid)
        snprintf(cause, sizeof cause, "%llu are dates before %s, outside %s..%s: set `min`",
                 (unsigned long long)c->n_below_min, lo, lo, hi);
      else if (c->n_above_max * 2 >= invalid)
        snprintf(cause, sizeof cause, "%llu are dates after %s, outside %s..%s: set `max`",
                 (unsigned long long)c->n_above_max, hi, lo, hi);
      else {
        char fm[128] = "";
        for (uint32_t k = 0; cc && k < cc->n_formats; k++) {
          if (k) strncat(fm, " or ", sizeof fm - strlen(fm) - 1);
          strncat(fm, cc->formats[k].text, sizeof fm - strlen(fm) - 1);
        }
        snprintf(cause, sizeof cause, "they are not real dates in the format %s: set `format`", fm[0] ? fm : "?");
      }
      break;
    }
    case TSR_KIND_NHS_NUMBER:
      snprintf(cause, sizeof cause, "they are not valid NHS numbers (10 digits with a modulus-11 check digit)");
      break;
    case TSR_KIND_POSTCODE: snprintf(cause, sizeof cause, "they are not UK postcodes"); break;
    case TSR_KIND_SEX: snprintf(cause, sizeof cause, "they are not sex codes (1/M, 2/F, 9/U, 0/X)"); break;
    case TSR_KIND_INTEGER: snprintf(cause, sizeof cause, "they are not whole numbers"); break;
    case TSR_KIND_GIVEN_NAME:
    case TSR_KIND_FAMILY_NAME: snprintf(cause, sizeof cause, "no letters are left after standardising"); break;
    default: snprintf(cause, sizeof cause, "check the column's kind"); break;
    }
  } else if (pseudo >= empty) {
    snprintf(cause, sizeof cause, "they are ZZ99 pseudo-postcodes (no fixed address)");
  } else {
    snprintf(cause, sizeof cause, "they are empty or null tokens: check that column %s holds %s", c->column,
             c->field);
  }
  int n = snprintf(buf, cap, "field %s of source %s is mostly missing or invalid: %llu of %llu rows (%llu invalid, "
                             "%llu empty%s); %s",
                   c->field, s->source, (unsigned long long)c->n_missing, (unsigned long long)rows,
                   (unsigned long long)invalid, (unsigned long long)empty, pseudo ? ", some pseudo-postcodes" : "",
                   cause);
  for (uint32_t k = 0; k < c->n_examples && n > 0 && (size_t)n < cap; k++)
    n += snprintf(buf + n, cap - (size_t)n, "%s line %llu: \"%s\"", k ? "," : "; e.g.",
                  (unsigned long long)c->examples[k].line, c->examples[k].value);
  return 1;
}
