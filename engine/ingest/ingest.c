/* Ingest of one source: the batch loop that turns a CSV file into a
 * columnar store, with parallel parsing of large batches, per-field
 * standardisation and rejects. The file itself comes through reader.h
 * (plain, mmap, gzip, zstd); rejected rows go to rejects.h's sink.
 *
 * DESIGN: tsr_ingest_source runs these phases, each a function below
 *
 *   begin ─► fill ─► header (first batch) ─► cut ─► parse ─► merge ─► advance ─┐
 *              ▲                                                               │
 *              └──────────────────────── not at EOF ───────────────────────────┘
 *                                                                  EOF ─► finish
 *
 *   fill     reader ─► batch buffer [carry | new bytes ..............] (plain
 *            files: a window of the mapping instead)
 *   header   BOM, empty file, header names (duplicates are a file error)
 *   cut      segments; csv.h's passes find each one's first true record start
 *   parse    each segment parses its records in parallel into its own column
 *            buffers; seam check ─(mismatch: a stray quote)─► sequential re-parse
 *   merge    segments in file order into the store, rejects into rejects.csv,
 *            row line numbers into the run
 *   advance  the unfinished last record is carried into the next batch
 *   finish   finalise columns, check record ids are unique, the reject limit
 *
 *   Sink / Combine / Finalize: segments are the per-thread sinks, merge the
 *   combine, finish the single-threaded end. The store is identical for any
 *   thread count (tested with its digest). */
/* posix_memalign and stpcpy-era POSIX names, hence the default feature set */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL /* short keys: inlined XXH3 beats a call into the shared library */
#include <xxhash.h>

#include "common/date.h"
#include "common/rng.h"
#include "ingest/csv.h"
#include "ingest/fields.h"
#include "ingest/names.h"
#include "ingest/reader.h"
#include "ingest/rejects.h"
#include "ingest/store_internal.h"

#define MAX_COLUMNS 4096
/* internal: run_finish found a repeated record id (never returned to callers) */
#define TSR__DUPLICATE_ID (-100000)
#define NAME_CAP 256

static const char *const k_reject_names[TSR_REJECT_COUNT] = {
#define TSR__RJ_NAME(id, name, desc) name,
    TSR_REJECT_LIST(TSR__RJ_NAME)
#undef TSR__RJ_NAME
};

const char *tsr_reject_name(tsr_reject_reason r) {
  return (unsigned)r < TSR_REJECT_COUNT ? k_reject_names[r] : "unknown";
}

void tsr_ingest_opts_init(tsr_ingest_opts *o) {
  memset(o, 0, sizeof *o);
  o->segment_bytes = (size_t)4 << 20;
  o->max_record_bytes = (size_t)1 << 20;
  o->enforce_reject_limit = 1;
}


/* --- per-segment state --------------------------------------------------------------- */
#define VEC 1024

/* Codes are short and few: up to 7 bytes pack into a 64-bit key (with the
 * length in the top byte, so keys are unique), and a direct-mapped cache
 * maps it to the segment's dictionary id without hashing text. */
#define CCACHE 1024
typedef struct {
  uint64_t key; /* 0 = empty */
  uint32_t id;
} ccache_t;


/* Names repeat: a few thousand distinct values cover most rows. A small
 * direct-mapped cache per name column maps the raw bytes (compared in full,
 * not trusted to the hash) to the standardised name and its hash and codes. */
#define NCACHE 2048
#define NCACHE_RAW 24
typedef struct {
  uint64_t raw_hash, hash;
  uint32_t nysiis;
  uint16_t soundex;
  uint8_t raw_len, std_len; /* raw_len 0 = empty slot */
  char raw[NCACHE_RAW];
  char std[NCACHE_RAW + 8];
} ncache_t;

typedef struct {
  uint64_t line;
  uint32_t column;
  tsr_reject_reason why;
  size_t raw_start, raw_end;
  char detail[200];
} pend_t;

/* Each segment is written by one thread, with per-record counters: aligned
 * to cache lines so neighbouring segments never share one. (Measured: no
 * clear change on this 2-core VM; it matters more with many threads.) */
typedef struct {
  _Alignas(64) tsr__col *cols;
  tsr__buf rejects; /* ready-made rejects.csv lines */
  uint64_t rej[TSR_REJECT_COUNT];
  uint64_t rows_read, rows_stored;
  size_t start, stop;
  uint64_t line0;     /* line number of the segment's first record */
  uint64_t lines;     /* newlines consumed */
  int need_more;      /* stopped at an unfinished record */
  char *scratch;
  size_t scratch_cap;
  char *names; /* NAME_CAP per column */
  size_t scratch_used;
  /* the current vector */
  tsr__csv_field *mat; /* VEC x nfields */
  uint64_t *vline;
  size_t *vspan; /* raw start, end per row */
  uint32_t *alive;
  uint32_t vn, nalive;
  pend_t *pend; /* rejects waiting to be written in line order */
  uint32_t npend;
  ncache_t **ncache; /* per column: NCACHE entries for name columns, else NULL */
  ccache_t **ccache; /* per column: CCACHE entries for code columns, else NULL */
  uint64_t *rline;   /* line of each stored row (rows_stored entries) */
  uint64_t rline_cap;
  int oom;
} seg_t;

typedef struct {
  const tsr_source_cfg *src;
  tsr__csv_dialect d;
  uint32_t nfields;  /* fields per row, from the header (or first row) */
  int32_t *map;      /* config column -> file field index */
  uint32_t ncols;
  int keep_lines;    /* keep the line of every stored row (seg_t.rline) */
} ictx_t;

static int seg_init(seg_t *s, const ictx_t *x, size_t scratch_cap) {
  memset(s, 0, sizeof *s);
  s->cols = tsr__calloc(x->ncols ? x->ncols : 1, sizeof *s->cols);
  s->names = tsr__malloc((size_t)NAME_CAP * (x->ncols ? x->ncols : 1));
  /* room for a vector's worth of unescaped quoted text plus one record */
  s->scratch_cap = scratch_cap * 2;
  s->scratch = tsr__mem_reserve(NULL, s->scratch_cap); /* counted as records use it */
  s->mat = tsr__malloc(sizeof(tsr__csv_field) * VEC * x->d.max_fields);
  s->vline = tsr__malloc(sizeof(uint64_t) * VEC);
  s->vspan = tsr__malloc(sizeof(size_t) * 2 * VEC);
  s->alive = tsr__malloc(sizeof(uint32_t) * VEC);
  s->pend = tsr__malloc(sizeof(pend_t) * (2 * VEC + 2)); /* tokenizer rejects + required-field rejects */
  s->ncache = tsr__calloc(x->ncols ? x->ncols : 1, sizeof *s->ncache);
  s->ccache = tsr__calloc(x->ncols ? x->ncols : 1, sizeof *s->ccache);
  if (!s->ncache || !s->ccache) return TSR_ENOMEM;
  for (uint32_t i = 0; i < x->ncols; i++) {
    tsr_field_kind k = x->src->columns[i].kind;
    if ((k == TSR_KIND_GIVEN_NAME || k == TSR_KIND_FAMILY_NAME) &&
        !(s->ncache[i] = tsr__calloc(NCACHE, sizeof(ncache_t))))
      return TSR_ENOMEM;
    if (k == TSR_KIND_CODE && !(s->ccache[i] = tsr__calloc(CCACHE, sizeof(ccache_t)))) return TSR_ENOMEM;
  }
  tsr__buf_init(&s->rejects, 0);
  if (!s->cols || !s->names || !s->scratch || !s->mat || !s->vline || !s->vspan ||
      !s->alive || !s->pend)
    return TSR_ENOMEM;
  for (uint32_t i = 0; i < x->ncols; i++) tsr__col_init(&s->cols[i], x->src->columns[i].kind);
  return 0;
}

static void seg_free(seg_t *s, uint32_t ncols) {
  if (s->cols)
    for (uint32_t i = 0; i < ncols; i++) tsr__col_free(&s->cols[i]);
  tsr__free(s->cols);
  tsr__free(s->names);
  tsr__free(s->scratch);
  tsr__free(s->mat);
  tsr__free(s->vline);
  tsr__free(s->vspan);
  tsr__free(s->alive);
  tsr__free(s->pend);
  for (uint32_t i = 0; i < ncols; i++) {
    if (s->ncache) tsr__free(s->ncache[i]);
    if (s->ccache) tsr__free(s->ccache[i]);
  }
  tsr__free(s->ncache);
  tsr__free(s->ccache);
  tsr__free(s->rline);
  tsr__buf_free(&s->rejects);
}

static void seg_reset(seg_t *s, uint32_t ncols) {
  for (uint32_t i = 0; i < ncols; i++) tsr__col_clear(&s->cols[i]);
  /* code ids are per batch (the segment dictionary is cleared) */
  for (uint32_t i = 0; s->ccache && i < ncols; i++)
    if (s->ccache[i]) memset(s->ccache[i], 0, sizeof(ccache_t) * CCACHE);
  s->rejects.len = 0;
  memset(s->rej, 0, sizeof s->rej);
  s->rows_read = s->rows_stored = s->lines = 0;
  s->need_more = 0;
}

static void add_reject(const ictx_t *x, seg_t *s, uint64_t line, uint32_t column, tsr_reject_reason why,
                       const char *detail, const char *raw, size_t rawlen) {
  s->rej[why]++;
  tsr__reject_line(&s->rejects, x->src->name, line, column, k_reject_names[why], detail, raw, rawlen);
  if (s->rejects.oom) s->oom = 1;
}

static int is_null_token(const tsr_source_cfg *src, const char *p, uint32_t n) {
  for (uint32_t i = 0; i < src->n_null_tokens; i++) {
    const char *t = src->null_tokens[i];
    if (t[0] == '\0' ? n == 0 : (strncmp(t, p, n) == 0 && t[n] == '\0')) return 1;
  }
  return 0;
}

static uint64_t hash_str(const char *s, size_t n) {
  uint64_t h = XXH3_64bits(s, n);
  return h ? h : 1; /* 0 means missing */
}

/* Standardises one field into v. Returns TSR__V_*. */
static int standardise(const tsr_column_cfg *cc, const char *p, uint32_t n, char *namebuf, tsr__val *v) {
  memset(v, 0, sizeof *v);
  switch (cc->kind) {
  case TSR_KIND_NHS_NUMBER:
    return tsr__std_nhs(p, n, &v->u64);
  case TSR_KIND_DATE:
    return tsr__std_date(p, n, cc->formats, cc->n_formats, cc->min_date, cc->max_date, &v->i32);
  case TSR_KIND_SEX:
    return tsr__std_sex(p, n, &v->u8);
  case TSR_KIND_POSTCODE:
    return tsr__std_postcode(p, n, &v->u64);
  case TSR_KIND_INTEGER: {
    int r = tsr__std_integer(p, n, &v->i64);
    if (r != TSR__V_OK) v->i64 = TSR_INT_NONE;
    return r;
  }
  case TSR_KIND_GIVEN_NAME:
  case TSR_KIND_FAMILY_NAME: {
    if (n == 0) return TSR__V_MISSING;
    int len = tsr__name_standardise(p, n, namebuf, NAME_CAP);
    if (len <= 0) return TSR__V_INVALID; /* nothing left of a non-empty value */
    v->s = namebuf;
    v->len = (uint32_t)len;
    v->hash = hash_str(namebuf, (size_t)len);
    v->soundex = tsr__soundex(namebuf, (size_t)len);
    v->nysiis = tsr__nysiis(namebuf, (size_t)len);
    return TSR__V_OK;
  }
  case TSR_KIND_LOCAL_ID:
  case TSR_KIND_CODE:
    if (n == 0) return TSR__V_MISSING;
    v->s = p;
    v->len = n;
    v->hash = hash_str(p, n);
    return TSR__V_OK;
  default: /* text */
    if (n == 0) return TSR__V_MISSING;
    v->s = p;
    v->len = n;
    return TSR__V_OK;
  }
}

/* --- vectors: tokenize a batch of rows, then standardise column by column ---
 * A vector holds up to VEC rows as a field matrix (row-major views into the
 * buffer). Required columns are checked first, rejected rows dropped, then
 * every column is standardised in one tight loop per kind: no per-value
 * dispatch, and each loop touches one output column. Rejects of a vector are
 * written in line order. */
static void pend_reject(seg_t *s, uint64_t line, uint32_t column, tsr_reject_reason why, const char *detail,
                        size_t raw_start, size_t raw_end) {
  pend_t *p = &s->pend[s->npend++];
  p->line = line;
  p->column = column;
  p->why = why;
  p->raw_start = raw_start;
  p->raw_end = raw_end;
  snprintf(p->detail, sizeof p->detail, "%s", detail);
}

static int pend_cmp(const void *a, const void *b) {
  const pend_t *x = a, *y = b;
  return x->line < y->line ? -1 : x->line > y->line;
}

static void flush_rejects(const ictx_t *x, seg_t *s, const char *buf) {
  if (s->npend > 1) qsort(s->pend, s->npend, sizeof *s->pend, pend_cmp);
  for (uint32_t i = 0; i < s->npend; i++) {
    pend_t *p = &s->pend[i];
    add_reject(x, s, p->line, p->column, p->why, p->detail, buf + p->raw_start, p->raw_end - p->raw_start);
  }
  s->npend = 0;
}

/* rows of the matrix are max_fields wide: the tokenizer writes into them directly */
#define FIELD(s, x, r, c) (&(s)->mat[(size_t)(r) * (x)->d.max_fields + (uint32_t)(x)->map[c]])

static void note_bad(tsr__col *col, tsr__val *v, int r, tsr_field_kind kind) {
  memset(v, 0, sizeof *v);
  if (kind == TSR_KIND_DATE) v->i32 = TSR_DATE_NONE;
  if (kind == TSR_KIND_INTEGER) v->i64 = TSR_INT_NONE;
  v->invalid = (uint8_t)(r == TSR__V_INVALID);
  if (r == TSR__V_INVALID) col->n_invalid++;
  else if (r == TSR__V_PSEUDO) col->n_pseudo++;
  col->n_missing++;
}

/* An invalid value: kept as an example while the column has few, and for
 * dates, told apart when only the window refused it (the likely cause that
 * tsr_ingest_field_warning names). Runs on invalid values only. */
static void note_invalid(const tsr_column_cfg *cc, tsr__col *col, const tsr__csv_field *f, uint64_t line) {
  tsr__col_example(col, f->p, f->len, line);
  if (cc->kind != TSR_KIND_DATE) return;
  int32_t d;
  if (tsr__std_date(f->p, f->len, cc->formats, cc->n_formats, INT32_MIN + 1, INT32_MAX, &d) != TSR__V_OK) return;
  if (d < cc->min_date) col->n_below_min++;
  else if (d > cc->max_date) col->n_above_max++;
}

/* Standardises column c for the vector's surviving rows into its buffer. */
static int column_pass(const ictx_t *x, seg_t *s, uint32_t c) {
  const tsr_source_cfg *src = x->src;
  const tsr_column_cfg *cc = &src->columns[c];
  tsr__col *col = &s->cols[c];
  uint32_t n = s->nalive;
  if (tsr__col_reserve(col, n)) return TSR_ENOMEM;
  const int only_empty_null = src->n_null_tokens == 1 && src->null_tokens[0][0] == '\0';
  uint64_t base = col->n;
  switch (cc->kind) {
  case TSR_KIND_NHS_NUMBER:
  case TSR_KIND_POSTCODE:
  case TSR_KIND_DATE:
  case TSR_KIND_SEX:
  case TSR_KIND_INTEGER:
    for (uint32_t k = 0; k < n; k++) {
      const tsr__csv_field *f = FIELD(s, x, s->alive[k], c);
      uint64_t i = base + k;
      int r;
      if (f->len == 0 || (!only_empty_null && is_null_token(src, f->p, f->len))) r = TSR__V_MISSING;
      else if (cc->kind == TSR_KIND_NHS_NUMBER) r = tsr__std_nhs(f->p, f->len, &col->u64[i]);
      else if (cc->kind == TSR_KIND_POSTCODE) r = tsr__std_postcode(f->p, f->len, &col->u64[i]);
      else if (cc->kind == TSR_KIND_DATE)
        r = tsr__std_date(f->p, f->len, cc->formats, cc->n_formats, cc->min_date, cc->max_date, &col->i32[i]);
      else if (cc->kind == TSR_KIND_SEX) r = tsr__std_sex(f->p, f->len, &col->u8[i]);
      else r = tsr__std_integer(f->p, f->len, &col->i64[i]);
      col->invalid[i] = 0;
      if (r != TSR__V_OK) {
        tsr__val v;
        note_bad(col, &v, r, cc->kind);
        if (r == TSR__V_INVALID) note_invalid(cc, col, f, s->vline[s->alive[k]]);
        col->invalid[i] = v.invalid;
        if (col->u64 && (cc->kind == TSR_KIND_NHS_NUMBER || cc->kind == TSR_KIND_POSTCODE)) col->u64[i] = 0;
        if (cc->kind == TSR_KIND_DATE) col->i32[i] = TSR_DATE_NONE;
        if (cc->kind == TSR_KIND_SEX) col->u8[i] = 0;
        if (cc->kind == TSR_KIND_INTEGER) col->i64[i] = TSR_INT_NONE;
      }
    }
    col->n = base + n;
    return 0;
  default:
    break;
  }
  char *nb = s->names + (size_t)c * NAME_CAP;
  if (cc->kind == TSR_KIND_GIVEN_NAME || cc->kind == TSR_KIND_FAMILY_NAME) {
    ncache_t *cache = s->ncache[c];
    for (uint32_t k = 0; k < n; k++) {
      const tsr__csv_field *f = FIELD(s, x, s->alive[k], c);
      tsr__val v;
      int r;
      if (f->len == 0 || (!only_empty_null && is_null_token(src, f->p, f->len))) {
        r = TSR__V_MISSING;
      } else if (f->len <= NCACHE_RAW) {
        uint64_t h = XXH3_64bits(f->p, f->len);
        ncache_t *e = &cache[h & (NCACHE - 1)];
        if (!(e->raw_len == f->len && e->raw_hash == h && memcmp(e->raw, f->p, f->len) == 0)) {
          r = standardise(cc, f->p, f->len, nb, &v);
          e->raw_len = 0;
          if (r == TSR__V_OK && v.len <= sizeof e->std) {
            e->raw_hash = h;
            e->raw_len = (uint8_t)f->len;
            memcpy(e->raw, f->p, f->len);
            e->std_len = (uint8_t)v.len;
            memcpy(e->std, v.s, v.len);
            e->hash = v.hash;
            e->soundex = v.soundex;
            e->nysiis = v.nysiis;
          }
        } else {
          memset(&v, 0, sizeof v);
          v.s = e->std;
          v.len = e->std_len;
          v.hash = e->hash;
          v.soundex = e->soundex;
          v.nysiis = e->nysiis;
          r = TSR__V_OK;
        }
      } else {
        r = standardise(cc, f->p, f->len, nb, &v);
      }
      if (r != TSR__V_OK) note_bad(col, &v, r, cc->kind);
      if (r == TSR__V_INVALID) note_invalid(cc, col, f, s->vline[s->alive[k]]);
      int rc = tsr__col_push(col, &v);
      if (rc) return rc;
    }
    return 0;
  }
  if (cc->kind == TSR_KIND_CODE) {
    ccache_t *cache = s->ccache[c];
    for (uint32_t k = 0; k < n; k++) {
      const tsr__csv_field *f = FIELD(s, x, s->alive[k], c);
      uint64_t i = base + k;
      col->invalid[i] = 0;
      if (f->len == 0 || (!only_empty_null && is_null_token(src, f->p, f->len))) {
        col->code32[i] = 0;
        col->n_missing++;
        continue;
      }
      if (f->len <= 7) {
        uint64_t key = (uint64_t)f->len << 56;
        for (uint32_t b = 0; b < f->len; b++) key |= (uint64_t)(uint8_t)f->p[b] << (8 * b);
        ccache_t *e = &cache[(key * 0x9E3779B97F4A7C15ull) >> (64 - 10)];
        if (e->key != key) {
          e->key = key;
          e->id = tsr__dict_intern(&col->dict, f->p, f->len, hash_str(f->p, f->len));
          if (!e->id) return TSR_ENOMEM;
        }
        col->code32[i] = e->id;
      } else {
        uint32_t id = tsr__dict_intern(&col->dict, f->p, f->len, hash_str(f->p, f->len));
        if (!id) return TSR_ENOMEM;
        col->code32[i] = id;
      }
    }
    col->n = base + n;
    return 0;
  }
  /* other strings: push one by one (they append variable-length data) */
  for (uint32_t k = 0; k < n; k++) {
    const tsr__csv_field *f = FIELD(s, x, s->alive[k], c);
    tsr__val v;
    int r = (f->len == 0 || (!only_empty_null && is_null_token(src, f->p, f->len))) ? TSR__V_MISSING
                                                                                 : standardise(cc, f->p, f->len, nb, &v);
    if (r != TSR__V_OK) note_bad(col, &v, r, cc->kind);
    if (r == TSR__V_INVALID) note_invalid(cc, col, f, s->vline[s->alive[k]]);
    int rc = tsr__col_push(col, &v);
    if (rc) return rc;
  }
  return 0;
}

static void flush_vector(const ictx_t *x, seg_t *s, const char *buf) {
  const tsr_source_cfg *src = x->src;
  uint32_t n = s->vn;
  s->nalive = 0;
  for (uint32_t r = 0; r < n; r++) s->alive[s->nalive++] = r;
  /* required columns first: a row failing one is rejected before any
   * column stores anything for it */
  for (uint32_t c = 0; c < x->ncols && s->nalive; c++) {
    const tsr_column_cfg *cc = &src->columns[c];
    if (!cc->required) continue;
    uint32_t keep = 0;
    for (uint32_t k = 0; k < s->nalive; k++) {
      uint32_t r = s->alive[k];
      const tsr__csv_field *f = FIELD(s, x, r, c);
      tsr__val v;
      int st = is_null_token(src, f->p, f->len) ? TSR__V_MISSING
                                                : standardise(cc, f->p, f->len, s->names + (size_t)c * NAME_CAP, &v);
      if (st == TSR__V_OK) {
        s->alive[keep++] = r;
        continue;
      }
      char detail[200];
      snprintf(detail, sizeof detail, "%s: required %s is %s", cc->column, tsr_field_kind_name(cc->kind),
               st == TSR__V_MISSING ? "missing" : st == TSR__V_PSEUDO ? "a pseudo-postcode" : "invalid");
      pend_reject(s, s->vline[r], (uint32_t)x->map[c] + 1,
                  st == TSR__V_MISSING ? TSR_REJECT_REQUIRED_MISSING : TSR_REJECT_REQUIRED_INVALID, detail,
                  s->vspan[2 * r], s->vspan[2 * r + 1]);
    }
    s->nalive = keep;
  }
  for (uint32_t c = 0; c < x->ncols && !s->oom; c++)
    if (column_pass(x, s, c)) s->oom = 1;
  /* the line of every stored row, for errors that name a row by line */
  if (x->keep_lines && s->rows_stored + s->nalive > s->rline_cap) {
    uint64_t cap = s->rline_cap ? s->rline_cap * 2 : VEC * 4;
    while (cap < s->rows_stored + s->nalive) cap *= 2;
    uint64_t *p = tsr__realloc(s->rline, (size_t)cap * sizeof *p);
    if (!p) s->oom = 1;
    else {
      s->rline = p;
      s->rline_cap = cap;
    }
  }
  if (x->keep_lines && !s->oom)
    for (uint32_t k = 0; k < s->nalive; k++) s->rline[s->rows_stored + k] = s->vline[s->alive[k]];
  s->rows_stored += s->nalive;
  s->vn = 0;
  flush_rejects(x, s, buf);
}

/* Tokenizes one record into the vector, or queues its reject. */
/* A row rejected before its fields are read never costs more than its first
 * physical line: a record spans lines only through a quoted field holding a
 * line end, and when such a record is malformed, the quote that opened on its
 * first line is the likely culprit. The row is rejected at its start line
 * (unterminated_quote, with the problem found in the detail) and the caller
 * resumes on the next line, so the lines the quote swallowed are read as the
 * records they are. */
static int cut_to_first_line(const char *buf, tsr__csv_record *rec) {
  if (rec->lines <= 1) return 0;
  const char *nl = memchr(buf + rec->start, '\n', rec->end - rec->start);
  if (!nl || (size_t)(nl - buf) + 1 >= rec->end) return 0;
  rec->end = (size_t)(nl - buf) + 1;
  rec->lines = 1;
  return 1;
}

static void take_record(const ictx_t *x, seg_t *s, const char *buf, tsr__csv_status st, tsr__csv_record *rec,
                        uint64_t line) {
  s->rows_read++;
  const char *raw = buf + rec->start;
  size_t rawlen = rec->end - rec->start;
  char detail[160];
  if (st == TSR__CSV_OK && rec->lines > 1 && (rec->nf != x->nfields || !tsr__utf8_valid(raw, rawlen))) {
    st = TSR__CSV_FIELD_COUNT; /* malformed multi-line record: handled below */
    rec->bad_field = 0;
    for (uint32_t i = 0; i < rec->nf && i < x->d.max_fields && !rec->bad_field; i++)
      if (rec->f[i].quoted && memchr(rec->f[i].p, '\n', rec->f[i].len)) rec->bad_field = i + 1;
  }
  if (st != TSR__CSV_OK && cut_to_first_line(buf, rec)) {
    const char *what = st == TSR__CSV_STRAY_QUOTE ? "a stray quote"
                       : st == TSR__CSV_NUL       ? "a NUL byte"
                       : st == TSR__CSV_OVERLONG  ? "an overlong record"
                       : st == TSR__CSV_FIELD_COUNT ? "the wrong number of fields or invalid UTF-8"
                                                    : "no closing quote";
    snprintf(detail, sizeof detail,
             "quoted field %u runs past the end of the line and the row it makes has %s; rejected at its first line",
             rec->bad_field, what);
    pend_reject(s, line, rec->bad_field, TSR_REJECT_UNTERMINATED_QUOTE, detail, rec->start, rec->end);
    return;
  }
  if (st != TSR__CSV_OK) {
    tsr_reject_reason why = st == TSR__CSV_UNTERMINATED ? TSR_REJECT_UNTERMINATED_QUOTE
                            : st == TSR__CSV_STRAY_QUOTE ? TSR_REJECT_STRAY_QUOTE
                            : st == TSR__CSV_NUL         ? TSR_REJECT_NUL_BYTE
                                                         : TSR_REJECT_OVERLONG;
    if (why == TSR_REJECT_OVERLONG)
      snprintf(detail, sizeof detail, "record longer than %zu bytes (or an unterminated quote)", x->d.max_record);
    else
      snprintf(detail, sizeof detail, "%s in field %u", tsr_reject_name(why), rec->bad_field);
    pend_reject(s, line, rec->bad_field, why, detail, rec->start, rec->end);
    return;
  }
  if (!tsr__utf8_valid(raw, rawlen)) {
    uint32_t bad = 0;
    for (uint32_t i = 0; i < rec->nf && i < x->d.max_fields && !bad; i++)
      if (!tsr__utf8_valid(rec->f[i].p, rec->f[i].len)) bad = i + 1;
    snprintf(detail, sizeof detail, "field %u is not valid UTF-8", bad);
    pend_reject(s, line, bad, TSR_REJECT_INVALID_UTF8, detail, rec->start, rec->end);
    return;
  }
  if (rec->nf != x->nfields) {
    snprintf(detail, sizeof detail, "expected %u fields, found %u", x->nfields, rec->nf);
    pend_reject(s, line, 0, TSR_REJECT_FIELD_COUNT, detail, rec->start, rec->end);
    return;
  }
  uint32_t r = s->vn++; /* the fields are already in row r of the matrix */
  s->vline[r] = line;
  s->vspan[2 * r] = rec->start;
  s->vspan[2 * r + 1] = rec->end;
}

/* Parses records starting at s->start while they start before `end`. */
static void parse_segment(const ictx_t *x, seg_t *s, const char *buf, size_t len, size_t end, int eof) {
  size_t pos = s->start;
  uint64_t line = s->line0;
  tsr__csv_record rec;
  s->vn = 0;
  s->npend = 0;
  while (pos < end && !s->oom) {
    /* quoted fields may be unescaped into scratch: the vector must not
     * outlive the scratch space it points into */
    if (s->vn == VEC || s->scratch_used + x->d.max_record > s->scratch_cap || s->npend >= VEC)
      flush_vector(x, s, buf), s->scratch_used = 0;
    rec.f = &s->mat[(size_t)s->vn * x->d.max_fields];
    tsr__csv_status st = tsr__csv_next(&x->d, buf, len, pos, eof, s->scratch + s->scratch_used, &rec);
    if (st == TSR__CSV_NEED_MORE) {
      s->need_more = 1;
      break;
    }
    /* a blank line is not a record */
    if (!(st == TSR__CSV_OK && rec.nf == 1 && rec.f[0].len == 0 && !rec.f[0].quoted)) {
      take_record(x, s, buf, st, &rec, line);
      /* keep unescaped text: advance past what this record used */
      for (uint32_t i = 0; st == TSR__CSV_OK && i < rec.nf && i < x->d.max_fields; i++) {
        const char *p = rec.f[i].p;
        if (p >= s->scratch && p < s->scratch + s->scratch_cap) {
          size_t e = (size_t)(p - s->scratch) + rec.f[i].len;
          if (e > s->scratch_used) s->scratch_used = e;
        }
      }
      if (tsr__mem_commit(s->scratch, s->scratch_used)) s->oom = 1;
    }
    line += rec.lines;
    s->lines += rec.lines;
    pos = rec.end;
  }
  if (!s->oom) flush_vector(x, s, buf);
  s->scratch_used = 0;
  s->stop = pos;
}

/* --- header ------------------------------------------------------------------------------ */
/* Edit distance of a and b (case-blind; a swap of neighbours is one edit),
 * for names up to 64 bytes. */
static uint32_t edit_distance(const char *a, size_t na, const char *b, size_t nb) {
  if (na > 64 || nb > 64) return 99;
  uint8_t d[65][65];
  for (size_t i = 0; i <= na; i++) d[i][0] = (uint8_t)i;
  for (size_t j = 0; j <= nb; j++) d[0][j] = (uint8_t)j;
  for (size_t i = 1; i <= na; i++)
    for (size_t j = 1; j <= nb; j++) {
      int ne = (a[i - 1] | 32) != (b[j - 1] | 32);
      uint32_t best = d[i - 1][j - 1] + (uint32_t)ne;
      if (d[i - 1][j] + 1u < best) best = d[i - 1][j] + 1u;
      if (d[i][j - 1] + 1u < best) best = d[i][j - 1] + 1u;
      if (i > 1 && j > 1 && ne && (a[i - 1] | 32) == (b[j - 2] | 32) && (a[i - 2] | 32) == (b[j - 1] | 32) &&
          d[i - 2][j - 2] + 1u < best)
        best = d[i - 2][j - 2] + 1u;
      d[i][j] = (uint8_t)best;
    }
  return d[na][nb];
}

/* 1-based header field whose name is within a typo of want (at most one edit
 * per four characters, at least one), or 0. */
static uint32_t close_name(const tsr__csv_field *f, uint32_t nf, const char *want) {
  size_t wl = strlen(want);
  uint32_t limit = wl >= 8 ? (uint32_t)(wl / 4) : 1, best = 0, bestd = limit + 1;
  for (uint32_t i = 0; i < nf; i++) {
    uint32_t d = edit_distance(f[i].p, f[i].len, want, wl);
    if (d < bestd) {
      bestd = d;
      best = i + 1;
    }
  }
  return best;
}

static int name_cmp(const void *a, const void *b) {
  const tsr__csv_field *x = *(const tsr__csv_field *const *)a, *y = *(const tsr__csv_field *const *)b;
  uint32_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->p, y->p, n);
  if (c) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x < y ? -1 : x > y; /* equal names: in field order */
}

/* Any name given to two header fields is a file error (configured or not):
 * which of the two a later config change would read is otherwise a guess.
 * Unnamed (empty) fields are not names. */
static int header_duplicates(const tsr_source_cfg *src, tsr__csv_field *f, uint32_t nf, tsr_error *err) {
  const tsr__csv_field **by = tsr__malloc(sizeof *by * (nf ? nf : 1));
  if (!by) return tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
  uint32_t n = 0;
  for (uint32_t i = 0; i < nf; i++)
    if (f[i].len) by[n++] = &f[i];
  qsort(by, n, sizeof *by, name_cmp);
  int rc = 0;
  for (uint32_t i = 0; i + 1 < n && !rc; i++)
    if (by[i]->len == by[i + 1]->len && memcmp(by[i]->p, by[i + 1]->p, by[i]->len) == 0) {
      uint32_t a = (uint32_t)(by[i] - f) + 1, b = (uint32_t)(by[i + 1] - f) + 1;
      rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, b, "column \"%.*s\" appears twice in the header (fields %u and %u)",
                         (int)(by[i]->len > 100 ? 100 : by[i]->len), by[i]->p, a, b);
    }
  tsr__free(by);
  return rc;
}

static int read_header(ictx_t *x, const char *buf, size_t len, size_t pos, int eof, size_t *end, uint32_t *lines,
                       char *scratch, tsr_error *err) {
  const tsr_source_cfg *src = x->src;
  tsr__csv_field *f = tsr__malloc(sizeof(tsr__csv_field) * (MAX_COLUMNS + 1));
  if (!f) return tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
  tsr__csv_dialect d = x->d;
  d.max_fields = MAX_COLUMNS;
  tsr__csv_record rec;
  rec.f = f;
  tsr__csv_status st = tsr__csv_next(&d, buf, len, pos, eof, scratch, &rec);
  int rc = 0;
  if (st == TSR__CSV_NEED_MORE)
    rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, 0, "the first line is longer than the read buffer");
  else if (st != TSR__CSV_OK)
    rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, rec.bad_field, "cannot parse the %s: %s",
                       src->header ? "header" : "first row",
                       st == TSR__CSV_STRAY_QUOTE ? "stray quote" : st == TSR__CSV_NUL ? "NUL byte"
                       : st == TSR__CSV_UNTERMINATED ? "unterminated quote" : "line too long");
  else if (rec.nf > MAX_COLUMNS)
    rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, 0, "more than %d columns", MAX_COLUMNS);
  if (rc) {
    tsr__free(f);
    return rc;
  }
  x->nfields = rec.nf;
  for (uint32_t c = 0; c < x->ncols && !rc; c++) {
    const char *want = src->columns[c].column;
    x->map[c] = -1;
    if (!src->header) {
      long p = strtol(want, NULL, 10);
      if (p >= 1 && (uint32_t)p <= rec.nf) x->map[c] = (int32_t)(p - 1);
      if (x->map[c] < 0)
        rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, 0,
                           "column %s is configured, but the first row has only %u fields", want, rec.nf);
      continue;
    }
    for (uint32_t i = 0; i < rec.nf; i++) {
      const char *h = f[i].p;
      uint32_t hl = f[i].len;
      if (i == 0 && hl >= 3 && memcmp(h, "\xEF\xBB\xBF", 3) == 0) {
        h += 3;
        hl -= 3;
      }
      if (hl == strlen(want) && memcmp(h, want, hl) == 0) {
        if (x->map[c] >= 0) {
          rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, i + 1,
                             "column \"%s\" appears twice in the header (fields %d and %u)", want, x->map[c] + 1, i + 1);
          break;
        }
        x->map[c] = (int32_t)i;
      }
    }
    if (!rc && x->map[c] < 0) {
      /* the first line is not echoed: without a real header it is a data
       * row. Only a header name within a typo of the configured one is. */
      uint32_t near = close_name(f, rec.nf, want);
      if (near)
        rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, near,
                           "configured column \"%s\" is not in the header; did you mean \"%.*s\" (field %u)?", want,
                           (int)f[near - 1].len, f[near - 1].p, near);
      else
        rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, 0,
                           "configured column \"%s\" is not in the header (%u fields); if the file has no header "
                           "line, set \"header\": false and name columns by position",
                           want, rec.nf);
    }
  }
  if (!rc && src->header) rc = header_duplicates(src, f, rec.nf, err);
  tsr__free(f);
  if (rc) return rc;
  *end = src->header ? rec.end : pos; /* without a header the first row is data */
  *lines = src->header ? rec.lines : 0;
  return 0;
}

/* --- record ids ----------------------------------------------------------------------------- */
/* A record id as a comparable key: bytes for string and code columns, else
 * the stored number. 0 when the row has no id. */
typedef struct {
  const char *p;
  uint32_t len;
  uint64_t num;
} idkey_t;

static int id_key(const tsr_column *c, uint64_t r, idkey_t *k) {
  k->p = NULL;
  k->len = 0;
  k->num = 0;
  if (c->str_off) {
    k->p = c->str + c->str_off[r];
    k->len = c->str_off[r + 1] - c->str_off[r];
    return k->len > 0;
  }
  switch (c->kind) {
  case TSR_KIND_CODE: k->num = c->code16 ? c->code16[r] : c->code32[r]; return k->num != 0;
  case TSR_KIND_NHS_NUMBER:
  case TSR_KIND_POSTCODE: k->num = c->u64[r]; return k->num != 0;
  case TSR_KIND_INTEGER: k->num = (uint64_t)c->i64[r] ^ (1ull << 63); return c->i64[r] != TSR_INT_NONE;
  case TSR_KIND_DATE: k->num = (uint64_t)(uint32_t)c->i32[r] ^ (1u << 31); return c->i32[r] != TSR_DATE_NONE;
  default: k->num = c->u8 ? c->u8[r] : 0; return 1;
  }
}

/* Total order on keys: numbers by value; strings by length, then bytes.
 * Any total order will do: a strictly increasing run has no repeats. */
static int id_cmp(const idkey_t *a, const idkey_t *b) {
  if (!a->p) return a->num < b->num ? -1 : a->num > b->num;
  if (a->len != b->len) return a->len < b->len ? -1 : 1;
  return memcmp(a->p, b->p, a->len);
}

static int id_eq(const idkey_t *a, const idkey_t *b) {
  return a->p ? a->len == b->len && memcmp(a->p, b->p, a->len) == 0 : a->num == b->num;
}

/* 1 if the ids of rows [a, b) strictly increase (rows without an id are
 * skipped), comparing row a with the last id before it too. */
static int ids_increase(const tsr_column *c, uint64_t a, uint64_t b) {
  idkey_t prev, cur;
  int have = 0;
  for (uint64_t r = a; r-- > 0 && !have;) have = id_key(c, r, &prev); /* the last id before a */
  if (c->str_off) { /* the usual case, without the per-row dispatch */
    const char *s = c->str;
    const uint32_t *o = c->str_off;
    for (uint64_t r = a; r < b; r++) {
      uint32_t len = o[r + 1] - o[r];
      if (!len) continue;
      if (have && (prev.len > len || (prev.len == len && memcmp(prev.p, s + o[r], len) >= 0))) return 0;
      prev.p = s + o[r];
      prev.len = len;
      have = 1;
    }
    return 1;
  }
  for (uint64_t r = a; r < b; r++) {
    if (!id_key(c, r, &cur)) continue;
    if (have && id_cmp(&prev, &cur) >= 0) return 0;
    prev = cur;
    have = 1;
  }
  return 1;
}

/* Record ids must be unique within a source: two rows with one id make every
 * later stage guess which is meant (links.csv would hold both, and evaluate
 * refuses it). Most extracts number rows in order, so one pass (in parallel
 * chunks) proves most files clean; only when the ids do not strictly
 * increase does a hash table of row numbers look for the first repeat.
 * Returns 1 with the rows of the first repeat (*first < *second), 0 when
 * there is none, or a negative TSR_E* code. */
static int find_duplicate_id(const tsr_store *store, int threads, uint64_t *first, uint64_t *second) {
  if (store->id_col < 0 || store->n < 2) return 0;
  const tsr_column *c = &store->cols[store->id_col].pub;
  uint64_t n = store->n;
  int chunks = n < 65536 ? 1 : threads, sorted = 1;
#pragma omp parallel for num_threads(chunks) schedule(static) reduction(&& : sorted) if (chunks > 1)
  for (int k = 0; k < chunks; k++) sorted = ids_increase(c, n * (uint64_t)k / (uint64_t)chunks,
                                                         n * (uint64_t)(k + 1) / (uint64_t)chunks) && sorted;
  if (sorted) return 0;
  if (n >= UINT32_MAX) return 0; /* beyond the table's row numbers; not reachable in practice */
  uint64_t size = 16;
  while (size < n * 2) size <<= 1;
  uint32_t *slot = tsr__calloc((size_t)size, sizeof *slot);
  if (!slot) return TSR_ENOMEM;
  int found = 0;
  idkey_t cur, other;
  for (uint64_t r = 0; r < n && !found; r++) {
    if (!id_key(c, r, &cur)) continue;
    uint64_t h = cur.p ? XXH3_64bits(cur.p, cur.len) : tsr__mix64(cur.num);
    for (uint64_t j = h & (size - 1);; j = (j + 1) & (size - 1)) {
      if (!slot[j]) {
        slot[j] = (uint32_t)r + 1;
        break;
      }
      id_key(c, slot[j] - 1, &other);
      if (id_eq(&other, &cur)) {
        *first = slot[j] - 1;
        *second = r;
        found = 1;
        break;
      }
    }
  }
  tsr__free(slot);
  return found;
}

/* --- the driver ---------------------------------------------------------------------------- */
/* One call of tsr_ingest_source: options, the parse context, the batch
 * buffer and its segments, the reader, the store being built, and counts. */
typedef struct {
  const tsr_source_cfg *src;
  tsr_ingest_opts opts;
  int threads;
  tsr_error *err;
  ictx_t x;
  uint32_t nseg_max;
  size_t batch_cap;
  char *heap, *buf; /* buf: heap, or a window of the mapped file */
  size_t len;       /* bytes in buf */
  int eof, first, segs_ready, presized, reader_ok;
  seg_t *segs;      /* nseg_max + 1: the extra one takes the sequential re-parse */
  uint8_t *parity;
  uint64_t *nl;
  size_t *bnd;
  uint64_t line_base;   /* line number at the batch's first unparsed byte */
  uint64_t *rlines;     /* line of every stored row, when x.keep_lines */
  uint64_t rlines_cap;
  uint32_t id_field;    /* 1-based file field of the id column (0: none) */
  uint64_t dup_first, dup_second; /* rows of a repeated record id */
  char dup_text[104];             /* and the id as text */
  tsr_store *store;
  tsr__reader rd;
  tsr__progress prog;
  tsr_ingest_stats st;
} run_t;

/* begin: options, buffers, the empty store and the open reader. */
static int run_begin(run_t *r, const tsr_source_cfg *src, const tsr_ingest_opts *opts_in, tsr_error *err) {
  memset(r, 0, sizeof *r);
  r->src = src;
  r->err = err;
  r->rd.fd = -1;
  r->first = 1;
  r->line_base = 1;
  if (opts_in)
    r->opts = *opts_in;
  else
    tsr_ingest_opts_init(&r->opts);
  if (r->opts.segment_bytes < 4096) r->opts.segment_bytes = 4096;
  if (r->opts.max_record_bytes < 1024) r->opts.max_record_bytes = 1024;
  r->threads = tsr__threads(r->opts.threads);
  ictx_t *x = &r->x;
  x->src = src;
  x->ncols = src->n_columns;
  x->d.delim = src->delimiter;
  x->d.quote = src->quote;
  x->d.trim = src->trim;
  x->d.max_record = r->opts.max_record_bytes;
  x->map = tsr__calloc(x->ncols ? x->ncols : 1, sizeof *x->map);
  r->nseg_max = (uint32_t)(r->threads < 2 ? 4 : r->threads * 2);
  r->batch_cap = r->opts.segment_bytes * r->nseg_max;
  if (r->batch_cap < 4 * r->opts.max_record_bytes) r->batch_cap = 4 * r->opts.max_record_bytes;
  r->heap = r->buf = tsr__mem_reserve(NULL, r->batch_cap + 1); /* counted below if read into */
  if (posix_memalign((void **)&r->segs, 64, sizeof *r->segs * (r->nseg_max + 1)) == 0)
    memset(r->segs, 0, sizeof *r->segs * (r->nseg_max + 1));
  else
    r->segs = NULL;
  r->parity = tsr__calloc(r->nseg_max + 1, 1);
  r->nl = tsr__calloc(r->nseg_max + 1, sizeof *r->nl);
  r->bnd = tsr__calloc(r->nseg_max + 2, sizeof *r->bnd);
  r->store = tsr__store_new(src);
  int rc = 0;
  if (!x->map || !r->heap || !r->segs || !r->parity || !r->nl || !r->bnd || !r->store)
    rc = tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
  if (!rc) {
    rc = tsr__reader_open(&r->rd, src->path, err);
    r->reader_ok = rc == 0;
  }
  /* a mapped file is parsed in place: the read buffer is never touched */
  if (!rc && !r->rd.map && tsr__mem_commit(r->heap, r->batch_cap + 1))
    rc = tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
  tsr__progress_start(&r->prog, src->name, r->rd.file_bytes ? r->rd.file_bytes : 1);
  return rc;
}

/* fill: the next batch, a window of the mapping or read into the buffer
 * after the carried bytes. */
static int phase_fill(run_t *r) {
  double tr = tsr__now();
  tsr__reader *rd = &r->rd;
  if (rd->map) {
    r->buf = (char *)(uintptr_t)(rd->map + rd->map_pos);
    r->len = rd->map_len - rd->map_pos < r->batch_cap ? rd->map_len - rd->map_pos : r->batch_cap;
    r->eof = rd->map_pos + r->len == rd->map_len;
    r->st.bytes_read = rd->map_pos + r->len;
  }
  while (!rd->map && r->len < r->batch_cap && !r->eof) {
    int64_t got = tsr__reader_read(rd, r->buf + r->len, r->batch_cap - r->len, r->err);
    if (got < 0) return (int)got;
    if (got == 0) r->eof = 1;
    r->len += (size_t)got;
    r->st.bytes_read += (uint64_t)got;
  }
  r->st.seconds_read += tsr__now() - tr;
  return 0;
}

/* header (first batch only): byte order mark, the empty-file check, the
 * header (or the first row's width), and the segments sized for it. *pos0
 * becomes the first data byte. */
static int phase_header(run_t *r, size_t *pos0) {
  const tsr_source_cfg *src = r->src;
  const char *buf = r->buf;
  size_t len = r->len;
  if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) *pos0 = 3; /* UTF-8 byte order mark */
  size_t k = *pos0;
  while (k < len && (buf[k] == '\n' || buf[k] == '\r' || buf[k] == ' ' || buf[k] == '\t')) k++;
  if (k == len)
    return tsr_error_set(r->err, TSR_EPARSE, src->path, 1, 1, "the file is empty: expected %s",
                         src->header ? "a header line naming the columns" : "data rows");
  char *scratch = tsr__malloc(len + 1);
  if (!scratch) return tsr_error_set(r->err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
  size_t hend = 0;
  uint32_t hlines = 0;
  int rc = read_header(&r->x, buf, len, *pos0, r->eof, &hend, &hlines, scratch, r->err);
  tsr__free(scratch);
  if (rc) return rc;
  *pos0 = hend;
  r->line_base += hlines;
  r->x.d.max_fields = r->x.nfields + 1;
  r->x.d.expect_fields = r->x.nfields;
  for (uint32_t c = 0; c < r->x.ncols; c++)
    if (strcmp(src->columns[c].column, src->id_column) == 0 && r->x.map[c] >= 0)
      r->id_field = (uint32_t)r->x.map[c] + 1;
  r->segs_ready = 1;
  for (uint32_t s = 0; s <= r->nseg_max; s++)
    if (seg_init(&r->segs[s], &r->x, r->opts.max_record_bytes + 16))
      return tsr_error_set(r->err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
  return 0;
}

/* cut: the batch into up to nseg_max segments, and each segment's first true
 * record start from the quote parity before it (csv.h). Returns how many
 * segments have trustworthy starts ("used"); *nseg is how many were cut. */
static uint32_t phase_cut(run_t *r, size_t pos0, uint32_t *nseg_out) {
  const ictx_t *x = &r->x;
  seg_t *segs = r->segs;
  size_t *bnd = r->bnd, len = r->len;
  const char *buf = r->buf;
  double tc = tsr__now();
  size_t span = len - pos0;
  uint32_t nseg = (uint32_t)(span / r->opts.segment_bytes);
  if (nseg < 1) nseg = 1;
  if (nseg > r->nseg_max) nseg = r->nseg_max;
  for (uint32_t k = 0; k <= nseg; k++) bnd[k] = pos0 + (size_t)((double)span * k / nseg);
  bnd[nseg] = len;
#pragma omp parallel for num_threads(r->threads) schedule(static) if (nseg > 1)
  for (uint32_t k = 0; k < nseg; k++) tsr__csv_scan(&x->d, buf, bnd[k], bnd[k + 1], &r->parity[k], &r->nl[k]);
  uint8_t inq = 0;
  uint64_t lines_before = 0;
  for (uint32_t k = 0; k < nseg; k++) {
    seg_t *s = &segs[k];
    seg_reset(s, x->ncols);
    s->start = bnd[k];
    s->line0 = r->line_base + lines_before; /* at the nominal start; fixed below */
    s->need_more = inq;                     /* borrowed to carry the quote state */
    inq ^= r->parity[k];
    lines_before += r->nl[k];
  }
#pragma omp parallel for num_threads(r->threads) schedule(static) if (nseg > 1)
  for (uint32_t k = 1; k < nseg; k++) {
    seg_t *s = &segs[k];
    uint64_t skipped;
    s->start = tsr__csv_first_record(&x->d, buf, bnd[k], len, (uint8_t)s->need_more, &skipped);
    s->line0 += skipped;
  }
  segs[0].start = pos0;
  *nseg_out = nseg;
  r->st.seconds_parse += tsr__now() - tc;
  /* starts must not go backwards; if they do, speculation already failed */
  for (uint32_t k = 1; k < nseg; k++)
    if (segs[k].start < segs[k - 1].start) return k;
  return nseg;
}

/* parse: every segment in parallel, then the seam check; from the first
 * seam that does not meet, the rest is re-parsed sequentially. Returns the
 * number of segments holding the batch's records, in file order. */
static uint32_t phase_parse(run_t *r, uint32_t nseg, uint32_t used) {
  const ictx_t *x = &r->x;
  seg_t *segs = r->segs;
  double tp = tsr__now();
#pragma omp parallel for num_threads(r->threads) schedule(dynamic, 1) if (used > 1)
  for (uint32_t k = 0; k < used; k++) {
    seg_t *s = &segs[k];
    s->need_more = 0;
    size_t end = k + 1 < used ? segs[k + 1].start : r->len;
    parse_segment(x, s, r->buf, r->len, end, r->eof);
  }
  /* seams: segment k must have stopped where k+1 began */
  uint32_t good = used;
  for (uint32_t k = 0; k + 1 < used; k++)
    if (segs[k].stop != segs[k + 1].start || segs[k].need_more) {
      good = k + 1;
      break;
    }
  if (good < nseg) {
    seg_t *s = &segs[good], *prev = &segs[good - 1];
    seg_reset(s, x->ncols);
    s->start = prev->stop;
    s->line0 = prev->line0 + prev->lines;
    parse_segment(x, s, r->buf, r->len, r->len, r->eof);
    used = good + 1;
  }
  r->st.seconds_parse += tsr__now() - tp;
  return used;
}

/* Appends n row lines to the run's line array. */
static int push_lines(run_t *r, const uint64_t *lines, uint64_t n) {
  uint64_t have = r->st.rows_stored;
  if (have + n > r->rlines_cap) {
    uint64_t cap = r->rlines_cap ? r->rlines_cap * 2 : 1 << 16;
    while (cap < have + n) cap *= 2;
    uint64_t *p = tsr__realloc(r->rlines, (size_t)cap * sizeof *p);
    if (!p) return TSR_ENOMEM;
    r->rlines = p;
    r->rlines_cap = cap;
  }
  memcpy(r->rlines + have, lines, (size_t)n * sizeof *lines);
  return 0;
}

/* merge: segments into the store in file order (columns in parallel, each
 * taking the segments in order), rejects into the sink, counts and row lines
 * into the run; after the first batch of a plain file, the store is sized
 * for the whole file. */
static int phase_merge(run_t *r, uint32_t used) {
  const tsr_source_cfg *src = r->src;
  seg_t *segs = r->segs;
  tsr_store *store = r->store;
  double tm = tsr__now();
  int rc = 0;
  for (uint32_t k = 0; k < used && !rc; k++)
    if (segs[k].oom) rc = tsr_error_set(r->err, TSR_ENOMEM, src->path, 0, 0, "out of memory while parsing");
  int merge_rc = 0;
  if (!rc) {
#pragma omp parallel for num_threads(r->threads) schedule(dynamic, 1)
    for (uint32_t c = 0; c < r->x.ncols; c++) {
      for (uint32_t k = 0; k < used; k++) {
        int e = tsr__col_append(&store->cols[c], &segs[k].cols[c]);
        if (e) {
#pragma omp critical(tsr_ingest_merge)
          if (!merge_rc) merge_rc = e == TSR_ELIMIT ? -(int)c - 1000 : e;
          break;
        }
      }
    }
  }
  if (merge_rc <= -1000)
    rc = tsr_error_set(r->err, TSR_ELIMIT, src->path, 0, 0, "column %s holds more than 4 GiB of text",
                       src->columns[-merge_rc - 1000].column);
  else if (merge_rc)
    rc = tsr_error_set(r->err, TSR_ENOMEM, src->path, 0, 0, "out of memory building the store");
  for (uint32_t k = 0; k < used && !rc; k++) {
    seg_t *s = &segs[k];
    uint64_t nrej = 0;
    for (int why = 0; why < TSR_REJECT_COUNT; why++) {
      r->st.rejects[why] += s->rej[why];
      nrej += s->rej[why];
    }
    if (r->opts.rejects) rc = tsr__rejects_append(r->opts.rejects, s->rejects.p, s->rejects.len, nrej, r->err);
    if (!rc && s->rows_stored && r->x.keep_lines && push_lines(r, s->rline, s->rows_stored))
      rc = tsr_error_set(r->err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
    r->st.rows_read += s->rows_read;
    r->st.rows_stored += s->rows_stored;
    r->st.rows_rejected += nrej;
  }
  tsr__reader *rd = &r->rd;
  if (!rc && !r->presized && rd->kind == TSR__READ_PLAIN && rd->file_bytes > r->st.bytes_read &&
      r->st.rows_read > 0) {
    r->presized = 1;
    double ratio = (double)rd->file_bytes / (double)(r->st.bytes_read - (r->len - segs[used - 1].stop));
    for (uint32_t c = 0; c < r->x.ncols; c++) {
      tsr__col *col = &store->cols[c];
      uint64_t want = (uint64_t)((double)col->n * ratio * 1.02) + 1024;
      if (want > col->n && tsr__col_reserve(col, want - col->n) == 0 && col->str_off)
        tsr__buf_reserve(&col->str, (size_t)((double)col->str.len * ratio * 1.02) - col->str.len + 4096);
    }
  }
  r->st.seconds_merge += tsr__now() - tm;
  return rc;
}

/* advance: progress, then the next batch starts at the unfinished last
 * record (carried to the buffer's start, or the mapping window moved).
 * Returns 1 at the end of the file. */
static int phase_advance(run_t *r, uint32_t used) {
  tsr__reader *rd = &r->rd;
  seg_t *last = &r->segs[used - 1];
  size_t stop = last->stop;
  tsr__progress_update(&r->prog, tsr__reader_file_pos(rd, r->st.bytes_read) + (rd->map ? stop : 0));
  r->line_base = last->line0 + last->lines;
  if (r->eof) return 1; /* at EOF the tokenizer never asks for more: everything parsed */
  if (rd->map) {
    rd->map_pos += stop;
    tsr__reader_release(rd, rd->map_pos);
    return 0;
  }
  memmove(r->buf, r->buf + stop, r->len - stop);
  r->len -= stop;
  return 0;
}

/* finish: release the batch machinery; on success finalise the store, check
 * record ids and the reject limit. */
static int run_finish(run_t *r, int rc, double t0, tsr_store **out, tsr_ingest_stats *stats_out) {
  const tsr_source_cfg *src = r->src;
  tsr_ingest_stats *st = &r->st;
  tsr__progress_finish(&r->prog);
  st->bytes_file = r->rd.file_bytes;
  if (r->reader_ok) tsr__reader_close(&r->rd);
  if (r->segs_ready)
    for (uint32_t k = 0; k <= r->nseg_max; k++) seg_free(&r->segs[k], r->x.ncols);
  free(r->segs); /* posix_memalign: the C allocator, not the engine hooks */
  tsr__free(r->heap);
  tsr__free(r->parity);
  tsr__free(r->nl);
  tsr__free(r->bnd);
  tsr__free(r->x.map);
  tsr_store *store = r->store;
  if (!rc) {
    double tf = tsr__now();
    for (uint32_t c = 0; c < store->ncols && !rc; c++)
      if (tsr__col_finalize(&store->cols[c])) rc = tsr_error_set(r->err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
    store->n = st->rows_stored;
    if (!rc && !r->opts.ids_may_repeat) {
      int dup = find_duplicate_id(store, r->threads, &r->dup_first, &r->dup_second);
      if (dup < 0) rc = tsr_error_set(r->err, dup, src->path, 0, 0, "out of memory checking record ids");
      if (dup > 0) rc = TSR__DUPLICATE_ID; /* the caller names the lines */
    }
    st->seconds_merge += tsr__now() - tf;
  }
  if (!rc && r->opts.enforce_reject_limit && st->rows_read > 0 &&
      (double)st->rows_rejected > src->max_reject_share * (double)st->rows_read) {
    rc = tsr_error_set(r->err, TSR_EREJECTS, src->path, 0, 0,
                       "%llu of %llu rows rejected (%.2f%%), more than max_reject_share allows (%.2f%%); the rows "
                       "and reasons are in rejects.csv",
                       (unsigned long long)st->rows_rejected, (unsigned long long)st->rows_read,
                       100.0 * (double)st->rows_rejected / (double)st->rows_read, 100.0 * src->max_reject_share);
  }
  st->seconds_total = tsr__now() - t0;
  if (stats_out) *stats_out = *st;
  if (rc == TSR__DUPLICATE_ID) {
    const tsr_column *c = &store->cols[store->id_col].pub;
    tsr_column_text(c, r->dup_second, r->dup_text, sizeof r->dup_text);
  }
  if (rc) {
    tsr_store_free(store);
    return rc;
  }
  *out = store;
  return 0;
}

/* The phases, once. With keep_lines the line of every stored row is kept
 * in r->rlines (the caller frees it). */
static int ingest_run(run_t *r, const tsr_source_cfg *src, const tsr_ingest_opts *opts, int keep_lines,
                      tsr_store **out, tsr_ingest_stats *stats, tsr_error *err) {
  *out = NULL;
  double t0 = tsr__now();
  int rc = run_begin(r, src, opts, err);
  r->x.keep_lines = keep_lines;
  while (!rc) {
    rc = phase_fill(r);
    if (rc) break;
    size_t pos0 = 0;
    if (r->first) {
      r->first = 0;
      rc = phase_header(r, &pos0);
      if (rc) break;
    }
    if (pos0 >= r->len && r->eof) break;
    uint32_t nseg;
    uint32_t used = phase_cut(r, pos0, &nseg);
    used = phase_parse(r, nseg, used);
    rc = phase_merge(r, used);
    if (rc || phase_advance(r, used)) break;
  }
  return run_finish(r, rc, t0, out, stats);
}

/* A repeated record id: rows are known, lines are not (keeping a line per
 * row costs time on every run, so it is paid only here): a second pass over
 * the file, keeping lines and nothing else, names them. */
static int duplicate_id_error(const run_t *first, const tsr_source_cfg *src, const tsr_ingest_opts *opts,
                              tsr_error *err) {
  uint64_t a = first->dup_first, b = first->dup_second, la = 0, lb = 0;
  char text[sizeof first->dup_text];
  memcpy(text, first->dup_text, sizeof text);
  uint32_t field = first->id_field;
  tsr_ingest_opts o = opts ? *opts : (tsr_ingest_opts){0};
  if (!opts) tsr_ingest_opts_init(&o);
  o.rejects = NULL;
  o.enforce_reject_limit = 0;
  o.ids_may_repeat = 1;
  run_t *r = tsr__malloc(sizeof *r);
  tsr_store *s = NULL;
  tsr_error e2;
  if (r && ingest_run(r, src, &o, 1, &s, NULL, &e2) == 0 && r->rlines && b < tsr_store_rows(s)) {
    la = r->rlines[a];
    lb = r->rlines[b];
  }
  if (r) tsr__free(r->rlines);
  tsr_store_free(s);
  tsr__free(r);
  return tsr_error_set(err, TSR_EPARSE, src->path, lb, field,
                       "record id \"%s\" (column %s) appears twice, at lines %llu and %llu; record ids must be "
                       "unique within a source",
                       text, src->id_column, (unsigned long long)la, (unsigned long long)lb);
}

int tsr_ingest_source(const tsr_source_cfg *src, const tsr_ingest_opts *opts, tsr_store **out,
                      tsr_ingest_stats *stats, tsr_error *err) {
  *out = NULL;
  tsr_error_clear(err);
  run_t *r = tsr__malloc(sizeof *r);
  if (!r) return tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
  int rc = ingest_run(r, src, opts, 0, out, stats, err);
  if (rc == TSR__DUPLICATE_ID) rc = duplicate_id_error(r, src, opts, err);
  tsr__free(r->rlines);
  tsr__free(r);
  return rc;
}
