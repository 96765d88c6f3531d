/* Parquet writer for flat tables: buffers rows column by column, encodes a
 * row group every row_group_rows rows (PLAIN or dictionary data pages V1,
 * RLE definition levels, one ZSTD frame per page) and writes the Thrift
 * footer on close. Also the RLE/bit-packed hybrid encoder. The subset of the
 * format is described in docs/design/parquet.md.
 *
 * DESIGN
 *   file   := "PAR1" rowgroup* footer len:u32le "PAR1"
 *   rowgroup := chunk(col 0) chunk(col 1) ...            (column order)
 *   chunk  := [dict page] data page+                      (each page: Thrift
 *             PageHeader, then the body, ZSTD-compressed or not)
 *   body   := [u32le len, RLE def levels (OPTIONAL only)] values
 *   values := PLAIN | bit_width:u8 RLE-hybrid(dictionary indices)
 * Sink/Combine/Finalize: tsr_pq_write appends into per-column buffers (dense
 * non-null values, one validity byte per row, strings as offsets + bytes).
 * A full row group is encoded with one column per OpenMP thread, each column
 * into its own chunk buffer with offsets relative to the chunk; then one
 * thread appends the chunks in column order and makes the offsets absolute.
 * Nothing a column produces depends on which thread encoded it, so the bytes
 * are the same for any thread count. Footer facts (offsets, sizes, stats)
 * are kept per chunk and serialised at close. */
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>

#include "common/buf.h"
#include "common/common_internal.h"
#include "parquet/parquet_internal.h"
#include "parquet/thrift.h"
#include "tessera/parquet.h"

#define PQ_MAX_STRING ((uint32_t)1 << 30)
#define PQ_MAX_RG_ROWS ((uint64_t)1 << 30)
#define PQ_MAX_PAGE_ROWS ((size_t)1 << 24)
#define PQ_AUTO_DICT_BYTES ((size_t)1 << 20)
#define PQ_FORCED_DICT_BYTES ((size_t)256 << 20)
#define PQ_STAT_MAX 64 /* longer string min/max are left out of the statistics */

/* --- RLE / bit-packed hybrid encoder ------------------------------------------ */
static inline uint32_t rle_get(const void *v, int bytes, size_t i) {
  return bytes ? ((const uint8_t *)v)[i] : ((const uint32_t *)v)[i];
}

static void rle_put_varint(tsr__buf *out, uint64_t v) {
  uint8_t t[10];
  tsr__buf_put(out, t, tsr__varint_put(t, v));
}

/* Bit-packs vals[from, to) as literal groups; the last group of the stream
 * is padded with zeros. Callers keep (to - from) a multiple of 8 except at the
 * end of the stream. */
static void rle_literal(tsr__buf *out, const void *v, int bytes, size_t from, size_t to, int bw) {
  while (from < to) {
    size_t cnt = to - from;
    if (cnt > 504) cnt = 504; /* 63 groups: one-byte header */
    size_t groups = (cnt + 7) / 8;
    rle_put_varint(out, ((uint64_t)groups << 1) | 1u);
    size_t nbytes = groups * (size_t)bw;
    if (tsr__buf_reserve(out, nbytes)) return;
    uint8_t *o = (uint8_t *)out->p + out->len;
    uint64_t acc = 0;
    int nbits = 0;
    for (size_t k = 0; k < groups * 8; k++) {
      uint32_t x = from + k < from + cnt ? rle_get(v, bytes, from + k) : 0;
      acc |= (uint64_t)x << nbits;
      nbits += bw;
      while (nbits >= 8) {
        *o++ = (uint8_t)acc;
        acc >>= 8;
        nbits -= 8;
      }
    }
    out->len += nbytes;
    from += cnt;
  }
}

static void rle_run(tsr__buf *out, uint32_t x, size_t count, int bw) {
  rle_put_varint(out, (uint64_t)count << 1);
  for (int b = 0; b < (bw + 7) / 8; b++) tsr__buf_putc(out, (char)(uint8_t)(x >> (8 * b)));
}

static void rle_encode(tsr__buf *out, const void *v, int bytes, size_t n, int bw) {
  size_t lit = 0, i = 0;
  while (i < n) {
    uint32_t x = rle_get(v, bytes, i);
    size_t j = i + 1;
    while (j < n && rle_get(v, bytes, j) == x) j++;
    size_t run = j - i;
    if (run >= 8) {
      /* Literals must end on a group boundary: lend them the head of the run. */
      size_t pad = (8 - (i - lit) % 8) % 8;
      if (run - pad >= 8) {
        rle_literal(out, v, bytes, lit, i + pad, bw);
        rle_run(out, x, j - i - pad, bw);
        lit = j;
      }
    }
    i = j;
  }
  rle_literal(out, v, bytes, lit, n, bw);
}

void tsr__rle_encode(tsr__buf *out, const uint32_t *vals, size_t n, int bit_width) {
  rle_encode(out, vals, 0, n, bit_width);
}

void tsr__rle_encode_bits(tsr__buf *out, const uint8_t *bits, size_t n) { rle_encode(out, bits, 1, n, 1); }

/* --- Writer state ------------------------------------------------------------- */
typedef struct pq_stats {
  uint64_t null_count;
  int has_minmax;
  uint8_t min_len, max_len;
  uint8_t min[PQ_STAT_MAX], max[PQ_STAT_MAX];
} pq_stats;

/* Footer facts of one written column chunk. */
typedef struct pq_chunk {
  uint64_t start, data_off, dict_off; /* absolute; relative while encoding */
  uint64_t unc, comp;                 /* page headers included */
  uint64_t num_values;
  int dict;
  pq_stats st;
} pq_chunk;

typedef struct pq_col {
  char *name;
  tsr_pq_type type;
  int nullable;
  tsr_pq_encoding enc;
  uint32_t width; /* bytes per fixed-width value; 0 for strings, 4 for coded strings */
  const tsr_view *gdict; /* coded strings: the caller's table (vals hold uint32 codes, 1-based) */
  uint32_t gdict_n;
  uint32_t *gmap; /* [gdict_n + 1] code -> row group dictionary entry + 1, 0 = unseen */
  /* the row group being buffered */
  uint8_t *valid; /* one byte per row (OPTIONAL only) */
  size_t valid_cap;
  uint8_t *vals; /* dense non-null fixed-width values */
  size_t vals_cap;
  uint64_t *soff; /* strings: nn + 1 offsets into sbytes */
  size_t soff_cap;
  tsr__buf sbytes;
  size_t nn; /* non-null values buffered */
  /* encoding scratch, reused across row groups */
  tsr__buf chunk, page, hdr, zbuf;
  uint32_t *idx; /* dictionary index per non-null value */
  size_t idx_cap;
  uint32_t *dfirst; /* dictionary entry -> dense value index of first occurrence */
  uint64_t *dhash;
  size_t dcap, ndict, dict_bytes;
  uint32_t *table; /* open addressing: entry + 1, 0 = empty */
  size_t tcap;
  ZSTD_CCtx *cctx;
  pq_chunk cur;
  int rc;
} pq_col;

struct tsr_pq_writer {
  tsr__outfile f;
  pq_col *cols;
  size_t ncols;
  uint64_t rg_max;
  uint32_t page_bytes;
  int zlevel;
  int threads;
  char *created_by;
  char **kv; /* nkv keys then nkv values */
  size_t nkv;
  size_t rg_n; /* rows buffered */
  uint64_t total_rows;
  pq_chunk *chunks; /* nrg * ncols */
  size_t chunks_cap;
  uint64_t *rg_rows;
  size_t nrg, rg_cap;
  int failed;
};

static const char *const g_type_names[] = {"BOOL", "INT32", "INT64", "DOUBLE", "STRING", "DATE"};

const char *tsr_pq_type_name(tsr_pq_type t) {
  return (unsigned)t < sizeof g_type_names / sizeof g_type_names[0] ? g_type_names[t] : "UNKNOWN";
}

void tsr_pq_options_init(tsr_pq_options *o) {
  memset(o, 0, sizeof *o);
  o->row_group_rows = (uint64_t)1 << 20;
  o->page_bytes = (uint32_t)1 << 20;
  o->zstd_level = 1;
}

static int physical_type(tsr_pq_type t) {
  switch (t) {
  case TSR_PQ_BOOL:
    return TSR__PQT_BOOLEAN;
  case TSR_PQ_INT32:
  case TSR_PQ_DATE:
    return TSR__PQT_INT32;
  case TSR_PQ_INT64:
    return TSR__PQT_INT64;
  case TSR_PQ_DOUBLE:
    return TSR__PQT_DOUBLE;
  default:
    return TSR__PQT_BYTE_ARRAY;
  }
}

static char *dupstr(const char *s) {
  size_t n = strlen(s);
  char *d = tsr__malloc(n + 1);
  if (d) memcpy(d, s, n + 1);
  return d;
}

/* Grows the array at *pp (elements of size sz) to hold at least need
 * elements. The pointer is moved with memcpy so any element type may be
 * passed without breaking aliasing rules. */
static int grow(void *pp, size_t *cap, size_t need, size_t sz) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 1024;
  while (c < need) c *= 2;
  void *old;
  memcpy(&old, pp, sizeof old);
  void *n = tsr__realloc(old, c * sz);
  if (!n) return -1;
  memcpy(pp, &n, sizeof n);
  *cap = c;
  return 0;
}

static void col_free(pq_col *c) {
  tsr__free(c->name);
  tsr__free(c->valid);
  tsr__free(c->vals);
  tsr__free(c->soff);
  tsr__buf_free(&c->sbytes);
  tsr__buf_free(&c->chunk);
  tsr__buf_free(&c->page);
  tsr__buf_free(&c->hdr);
  tsr__buf_free(&c->zbuf);
  tsr__free(c->idx);
  tsr__free(c->dfirst);
  tsr__free(c->dhash);
  tsr__free(c->table);
  tsr__free(c->gmap);
  if (c->cctx) ZSTD_freeCCtx(c->cctx);
}

static void writer_free(tsr_pq_writer *w) {
  if (!w) return;
  for (size_t c = 0; c < w->ncols; c++) col_free(&w->cols[c]);
  tsr__free(w->cols);
  tsr__free(w->created_by);
  if (w->kv)
    for (size_t i = 0; i < 2 * w->nkv; i++) tsr__free(w->kv[i]);
  tsr__free(w->kv);
  tsr__free(w->chunks);
  tsr__free(w->rg_rows);
  tsr__free(w);
}

int tsr_pq_open(tsr_pq_writer **out, const char *dir, const char *filename, const tsr_pq_column_def *cols,
                size_t ncols, const tsr_pq_options *opt, tsr_error *err) {
  TSR_RETURN_IF(!out || !filename || !cols || ncols == 0, err, TSR_EINVAL, "parquet: no file name or no columns");
  *out = NULL;
  TSR_RETURN_IF(ncols > 32767, err, TSR_ELIMIT, "parquet: too many columns (%zu)", ncols);
  tsr_pq_options o;
  if (opt)
    o = *opt;
  else
    tsr_pq_options_init(&o);
  for (size_t c = 0; c < ncols; c++) {
    const tsr_pq_column_def *d = &cols[c];
    if (!d->name || !d->name[0])
      return tsr_error_set(err, TSR_EINVAL, filename, 0, 0, "parquet: column %zu has no name", c);
    if ((unsigned)d->type > TSR_PQ_DATE || (unsigned)d->encoding > TSR_PQ_ENC_DICT)
      return tsr_error_set(err, TSR_EINVAL, filename, 0, 0, "parquet: column '%s' has a bad type or encoding",
                           d->name);
    for (size_t k = 0; k < c; k++)
      if (strcmp(cols[k].name, d->name) == 0)
        return tsr_error_set(err, TSR_EINVAL, filename, 0, 0, "parquet: duplicate column name '%s'", d->name);
  }
  for (size_t i = 0; i < o.nkv; i++)
    if (!o.kv || !o.kv[i].key)
      return tsr_error_set(err, TSR_EINVAL, filename, 0, 0, "parquet: key_value_metadata entry %zu has no key", i);
  if (o.zstd_level < 0 || o.zstd_level > ZSTD_maxCLevel())
    return tsr_error_set(err, TSR_EINVAL, filename, 0, 0, "parquet: zstd_level %d out of range", o.zstd_level);

  tsr_pq_writer *w = tsr__calloc(1, sizeof *w);
  if (!w) return tsr_error_set(err, TSR_ENOMEM, filename, 0, 0, "out of memory");
  w->f.fd = -1;
  w->rg_max = o.row_group_rows ? o.row_group_rows : (uint64_t)1 << 20;
  if (w->rg_max > PQ_MAX_RG_ROWS) w->rg_max = PQ_MAX_RG_ROWS;
  w->page_bytes = o.page_bytes ? o.page_bytes : (uint32_t)1 << 20;
  if (w->page_bytes < 1024) w->page_bytes = 1024;
  if (w->page_bytes > (uint32_t)256 << 20) w->page_bytes = (uint32_t)256 << 20;
  w->zlevel = o.zstd_level;
  w->threads = o.threads;
  char dflt[64];
  snprintf(dflt, sizeof dflt, "tessera version %s", tsr_version());
  w->created_by = dupstr(o.created_by ? o.created_by : dflt);
  w->cols = tsr__calloc(ncols, sizeof *w->cols);
  int oom = !w->created_by || !w->cols;
  if (!oom) w->ncols = ncols;
  if (!oom && o.nkv) {
    w->kv = tsr__calloc(2 * o.nkv, sizeof *w->kv);
    oom = !w->kv;
    if (!oom) {
      w->nkv = o.nkv;
      for (size_t i = 0; i < o.nkv && !oom; i++) {
        w->kv[i] = dupstr(o.kv[i].key);
        w->kv[o.nkv + i] = o.kv[i].value ? dupstr(o.kv[i].value) : NULL;
        oom = !w->kv[i] || (o.kv[i].value && !w->kv[o.nkv + i]);
      }
    }
  }
  for (size_t c = 0; c < w->ncols && !oom; c++) {
    pq_col *pc = &w->cols[c];
    pc->name = dupstr(cols[c].name);
    pc->type = cols[c].type;
    pc->nullable = cols[c].nullable != 0;
    pc->enc = cols[c].encoding;
    pc->width = tsr__pq_fixed_width(pc->type);
    oom = !pc->name;
    if (!oom && pc->type == TSR_PQ_STRING) {
      oom = grow(&pc->soff, &pc->soff_cap, 1, sizeof *pc->soff) != 0;
      if (!oom) pc->soff[0] = 0;
    }
  }
  if (oom) {
    writer_free(w);
    return tsr_error_set(err, TSR_ENOMEM, filename, 0, 0, "out of memory");
  }
  int rc = tsr__outfile_open(&w->f, dir, filename, err);
  if (!rc) rc = tsr__outfile_write(&w->f, "PAR1", 4, err);
  if (rc) {
    tsr__outfile_abort(&w->f);
    writer_free(w);
    return rc;
  }
  *out = w;
  return 0;
}

/* --- Buffering ---------------------------------------------------------------- */
static int col_append(pq_col *c, const tsr_pq_col *in, size_t off, size_t n, size_t rg_n) {
  const uint8_t *valid = in->valid ? in->valid + off : NULL;
  if (c->gdict) {
    const uint32_t *code = (const uint32_t *)in->values + off;
    if (grow(&c->vals, &c->vals_cap, c->nn + n, 4)) return -1;
    if (c->nullable && grow(&c->valid, &c->valid_cap, rg_n + n, 1)) return -1;
    uint32_t *dst = (uint32_t *)(void *)c->vals + c->nn;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      int present = code[i] != 0 && (!valid || valid[i]);
      if (c->nullable) c->valid[rg_n + i] = (uint8_t)present;
      if (present) dst[k++] = code[i];
    }
    c->nn += k;
    return 0;
  }
  if (c->nullable) {
    if (grow(&c->valid, &c->valid_cap, rg_n + n, 1)) return -1;
    for (size_t i = 0; i < n; i++) c->valid[rg_n + i] = valid ? (valid[i] != 0) : 1;
  }
  if (c->type == TSR_PQ_STRING) {
    const tsr_view *sv = (const tsr_view *)in->values + off;
    size_t bytes = 0, cnt = 0;
    for (size_t i = 0; i < n; i++)
      if (!valid || valid[i]) {
        bytes += sv[i].len;
        cnt++;
      }
    if (grow(&c->soff, &c->soff_cap, c->nn + cnt + 1, sizeof *c->soff)) return -1;
    if (tsr__buf_reserve(&c->sbytes, bytes)) return -1;
    for (size_t i = 0; i < n; i++) {
      if (valid && !valid[i]) continue;
      if (sv[i].len) memcpy(c->sbytes.p + c->sbytes.len, sv[i].ptr, sv[i].len);
      c->sbytes.len += sv[i].len;
      c->soff[++c->nn] = c->sbytes.len;
    }
    return 0;
  }
  if (grow(&c->vals, &c->vals_cap, c->nn + n, c->width)) return -1;
  const uint8_t *src = (const uint8_t *)in->values + off * c->width;
  uint8_t *dst = c->vals + c->nn * c->width;
  if (c->type == TSR_PQ_BOOL) {
    for (size_t i = 0; i < n; i++)
      if (!valid || valid[i]) *dst++ = src[i] != 0;
  } else if (!valid) {
    memcpy(dst, src, n * c->width);
    dst += n * c->width;
  } else {
    for (size_t i = 0; i < n; i++)
      if (valid[i]) {
        memcpy(dst, src + i * c->width, c->width);
        dst += c->width;
      }
  }
  c->nn = (size_t)(dst - c->vals) / c->width;
  return 0;
}

/* --- Values ---------------------------------------------------------------- */
static inline const uint8_t *val_ptr(const pq_col *c, size_t v, size_t *len) {
  if (c->gdict) {
    const tsr_view *e = &c->gdict[((const uint32_t *)(const void *)c->vals)[v] - 1];
    *len = e->len;
    return (const uint8_t *)e->ptr;
  }
  if (c->type == TSR_PQ_STRING) {
    *len = (size_t)(c->soff[v + 1] - c->soff[v]);
    return (const uint8_t *)c->sbytes.p + c->soff[v];
  }
  *len = c->width;
  return c->vals + v * c->width;
}

/* --- Statistics ---------------------------------------------------------------- */
static void stat_set(uint8_t *dst, uint8_t *len, const void *src, size_t n) {
  memcpy(dst, src, n);
  *len = (uint8_t)n;
}

static inline int str_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  size_t m = an < bn ? an : bn;
  /* short strings (ids, codes) differ early: no call to memcmp */
  size_t i = 0;
  while (i < m && i < 16 && a[i] == b[i]) i++;
  if (i < m && i < 16) return a[i] < b[i] ? -1 : 1;
  int r = m > i ? memcmp(a + i, b + i, m - i) : 0;
  if (r) return r;
  return an < bn ? -1 : an > bn;
}

/* dict: the row group's dictionary is built (c->dfirst holds each entry's
 * first value), so a string column's min and max are found among its
 * entries instead of among every value. */
static void compute_stats(pq_col *c, size_t rows, pq_stats *st, int dict) {
  memset(st, 0, sizeof *st);
  st->null_count = rows - c->nn;
  if (c->nn == 0) return;
  size_t n = c->nn;
  switch (c->type) {
  case TSR_PQ_BOOL: {
    uint8_t lo = 1, hi = 0;
    for (size_t i = 0; i < n; i++) {
      lo &= c->vals[i];
      hi |= c->vals[i];
    }
    stat_set(st->min, &st->min_len, &lo, 1);
    stat_set(st->max, &st->max_len, &hi, 1);
    break;
  }
  case TSR_PQ_INT32:
  case TSR_PQ_DATE: {
    const int32_t *v = (const int32_t *)(const void *)c->vals;
    int32_t lo = v[0], hi = v[0];
    for (size_t i = 1; i < n; i++) {
      lo = v[i] < lo ? v[i] : lo;
      hi = v[i] > hi ? v[i] : hi;
    }
    stat_set(st->min, &st->min_len, &lo, 4);
    stat_set(st->max, &st->max_len, &hi, 4);
    break;
  }
  case TSR_PQ_INT64: {
    const int64_t *v = (const int64_t *)(const void *)c->vals;
    int64_t lo = v[0], hi = v[0];
    for (size_t i = 1; i < n; i++) {
      lo = v[i] < lo ? v[i] : lo;
      hi = v[i] > hi ? v[i] : hi;
    }
    stat_set(st->min, &st->min_len, &lo, 8);
    stat_set(st->max, &st->max_len, &hi, 8);
    break;
  }
  case TSR_PQ_DOUBLE: {
    const double *v = (const double *)(const void *)c->vals;
    int any = 0;
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
      double x = v[i];
      if (x != x) continue; /* NaN has no place in an order */
      if (!any || x < lo) lo = x;
      if (!any || x > hi) hi = x;
      any = 1;
    }
    if (!any) return;
    /* The spec asks for -0.0 as a zero minimum and +0.0 as a zero maximum. */
    if (lo == 0.0) lo = -0.0;
    if (hi == 0.0) hi = 0.0;
    stat_set(st->min, &st->min_len, &lo, 8);
    stat_set(st->max, &st->max_len, &hi, 8);
    break;
  }
  case TSR_PQ_STRING: {
    size_t m = dict ? c->ndict : n;
    size_t lo_len, hi_len;
    const uint8_t *lo = val_ptr(c, dict ? c->dfirst[0] : 0, &lo_len), *hi = lo;
    hi_len = lo_len;
    for (size_t i = 1; i < m; i++) {
      size_t len;
      const uint8_t *p = val_ptr(c, dict ? c->dfirst[i] : i, &len);
      if (str_cmp(p, len, lo, lo_len) < 0) {
        lo = p;
        lo_len = len;
      } else if (str_cmp(p, len, hi, hi_len) > 0) {
        hi = p;
        hi_len = len;
      }
    }
    if (lo_len > PQ_STAT_MAX || hi_len > PQ_STAT_MAX) return;
    if (lo_len) stat_set(st->min, &st->min_len, lo, lo_len);
    if (hi_len) stat_set(st->max, &st->max_len, hi, hi_len);
    break;
  }
  }
  st->has_minmax = 1;
}

/* --- Dictionary ------------------------------------------------------------------ */
static int table_rehash(pq_col *c, size_t cap) {
  uint32_t *t = tsr__calloc(cap, sizeof *t);
  if (!t) return -1;
  size_t mask = cap - 1;
  for (size_t e = 0; e < c->ndict; e++) {
    size_t s = (size_t)c->dhash[e] & mask;
    while (t[s]) s = (s + 1) & mask;
    t[s] = (uint32_t)(e + 1);
  }
  tsr__free(c->table);
  c->table = t;
  c->tcap = cap;
  return 0;
}

/* Builds the dictionary of the buffered values and the index of each value.
 * Returns 1 when built, 0 when it went past the limits (use PLAIN), -1 on OOM. */
static int build_dict_coded(pq_col *c, size_t max_entries, size_t max_bytes) {
  size_t n = c->nn;
  const uint32_t *code = (const uint32_t *)(const void *)c->vals;
  if (!c->gmap && !(c->gmap = tsr__calloc((size_t)c->gdict_n + 1, sizeof *c->gmap))) return -1;
  int rc = 1;
  for (size_t v = 0; v < n; v++) {
    uint32_t g = code[v];
    if (c->gmap[g]) {
      c->idx[v] = c->gmap[g] - 1;
      continue;
    }
    size_t len = c->gdict[g - 1].len;
    if (c->ndict + 1 > max_entries || (c->dict_bytes += len + 4) > max_bytes) {
      rc = 0;
      break;
    }
    if (c->ndict + 1 > c->dcap) {
      size_t cap_h = c->dcap, cap_f = c->dcap;
      if (grow(&c->dhash, &cap_h, c->ndict + 1, sizeof *c->dhash) ||
          grow(&c->dfirst, &cap_f, c->ndict + 1, sizeof *c->dfirst)) {
        rc = -1;
        break;
      }
      c->dcap = cap_f;
    }
    c->dfirst[c->ndict] = (uint32_t)v;
    c->idx[v] = (uint32_t)c->ndict;
    c->gmap[g] = (uint32_t)(++c->ndict);
  }
  for (size_t e = 0; e < c->ndict; e++) c->gmap[code[c->dfirst[e]]] = 0;
  return rc;
}

/* Fixed-width values: loaded as integers, hashed inline (a call to XXH3 and
 * to memcmp per 4- or 8-byte value cost more than the rest of the loop). */
static inline uint64_t fw_load(const pq_col *c, size_t v) {
  if (c->width == 8) {
    uint64_t x;
    memcpy(&x, c->vals + v * 8, 8);
    return x;
  }
  uint32_t x;
  memcpy(&x, c->vals + v * 4, 4);
  return x;
}

static inline uint64_t fw_hash(uint64_t x) {
  x ^= x >> 33;
  x *= UINT64_C(0xff51afd7ed558ccd);
  x ^= x >> 33;
  x *= UINT64_C(0xc4ceb9fe1a85ec53);
  x ^= x >> 33;
  return x;
}

static int build_dict_fixed(pq_col *c, size_t max_entries, size_t max_bytes) {
  size_t n = c->nn;
  if (c->tcap == 0 && table_rehash(c, 1024)) return -1;
  memset(c->table, 0, c->tcap * sizeof *c->table);
  size_t mask = c->tcap - 1;
  for (size_t v = 0; v < n; v++) {
    uint64_t x = fw_load(c, v), h = fw_hash(x);
    size_t s = (size_t)h & mask;
    uint32_t e;
    while ((e = c->table[s]) != 0 && fw_load(c, c->dfirst[e - 1]) != x) s = (s + 1) & mask;
    if (e) {
      c->idx[v] = e - 1;
      continue;
    }
    if (c->ndict + 1 > max_entries) return 0;
    c->dict_bytes += c->width;
    if (c->dict_bytes > max_bytes) return 0;
    if (c->ndict + 1 > c->dcap) {
      size_t cap_h = c->dcap, cap_f = c->dcap;
      if (grow(&c->dhash, &cap_h, c->ndict + 1, sizeof *c->dhash)) return -1;
      if (grow(&c->dfirst, &cap_f, c->ndict + 1, sizeof *c->dfirst)) return -1;
      c->dcap = cap_f;
    }
    c->dfirst[c->ndict] = (uint32_t)v;
    c->dhash[c->ndict] = h;
    c->idx[v] = (uint32_t)c->ndict;
    c->table[s] = (uint32_t)(++c->ndict);
    if (c->ndict * 2 > c->tcap) {
      if (table_rehash(c, c->tcap * 2)) return -1;
      mask = c->tcap - 1;
    }
  }
  return 1;
}

static int build_dict(pq_col *c, size_t max_entries, size_t max_bytes) {
  size_t n = c->nn;
  c->ndict = 0;
  c->dict_bytes = 0;
  if (grow(&c->idx, &c->idx_cap, n, sizeof *c->idx)) return -1;
  if (c->gdict) return build_dict_coded(c, max_entries, max_bytes);
  if (c->type != TSR_PQ_STRING && (c->width == 4 || c->width == 8)) return build_dict_fixed(c, max_entries, max_bytes);
  if (c->tcap == 0 && table_rehash(c, 1024)) return -1;
  memset(c->table, 0, c->tcap * sizeof *c->table);
  size_t mask = c->tcap - 1;
  for (size_t v = 0; v < n; v++) {
    size_t len;
    const uint8_t *p = val_ptr(c, v, &len);
    uint64_t h = XXH3_64bits(p, len);
    size_t s = (size_t)h & mask;
    for (;;) {
      uint32_t e = c->table[s];
      if (e == 0) break;
      size_t elen;
      const uint8_t *ep = val_ptr(c, c->dfirst[e - 1], &elen);
      if (c->dhash[e - 1] == h && elen == len && memcmp(ep, p, len) == 0) break;
      s = (s + 1) & mask;
    }
    if (c->table[s]) {
      c->idx[v] = c->table[s] - 1;
      continue;
    }
    if (c->ndict + 1 > max_entries) return 0;
    c->dict_bytes += len + (c->type == TSR_PQ_STRING ? 4 : 0);
    if (c->dict_bytes > max_bytes) return 0;
    if (c->ndict + 1 > c->dcap) {
      size_t cap_h = c->dcap, cap_f = c->dcap;
      if (grow(&c->dhash, &cap_h, c->ndict + 1, sizeof *c->dhash)) return -1;
      if (grow(&c->dfirst, &cap_f, c->ndict + 1, sizeof *c->dfirst)) return -1;
      c->dcap = cap_f;
    }
    c->dfirst[c->ndict] = (uint32_t)v;
    c->dhash[c->ndict] = h;
    c->idx[v] = (uint32_t)c->ndict;
    c->table[s] = (uint32_t)(++c->ndict);
    if (c->ndict * 2 > c->tcap) {
      if (table_rehash(c, c->tcap * 2)) return -1;
      mask = c->tcap - 1;
    }
  }
  return 1;
}

/* --- Pages ---------------------------------------------------------------------- */
static void put_plain(tsr__buf *b, const pq_col *c, size_t v0, size_t v1) {
  if (c->type == TSR_PQ_BOOL) {
    size_t n = v1 - v0, nb = (n + 7) / 8;
    if (tsr__buf_reserve(b, nb)) return;
    uint8_t *o = (uint8_t *)b->p + b->len;
    memset(o, 0, nb);
    for (size_t i = 0; i < n; i++) o[i >> 3] |= (uint8_t)((unsigned)c->vals[v0 + i] << (i & 7u));
    b->len += nb;
  } else if (c->type == TSR_PQ_STRING) {
    for (size_t v = v0; v < v1; v++) {
      size_t len;
      const uint8_t *p = val_ptr(c, v, &len);
      uint32_t l = (uint32_t)len;
      tsr__buf_put(b, &l, 4);
      tsr__buf_put(b, p, len);
    }
  } else {
    tsr__buf_put(b, c->vals + v0 * c->width, (v1 - v0) * c->width);
  }
}

/* Compresses c->page if asked, then appends header and body to c->chunk. */
static int emit_page(const tsr_pq_writer *w, pq_col *c, int page_type, size_t num_values, int encoding) {
  if (c->page.oom) return TSR_ENOMEM;
  const char *body = c->page.p;
  size_t unc = c->page.len, comp = unc;
  if (w->zlevel > 0) {
    if (!c->cctx) c->cctx = ZSTD_createCCtx();
    if (!c->cctx) return TSR_ENOMEM;
    c->zbuf.len = 0;
    if (tsr__buf_reserve(&c->zbuf, ZSTD_compressBound(unc))) return TSR_ENOMEM;
    size_t z = ZSTD_compressCCtx(c->cctx, c->zbuf.p, c->zbuf.cap, c->page.p, unc, w->zlevel);
    if (ZSTD_isError(z)) return TSR_EINTERNAL;
    body = c->zbuf.p;
    comp = z;
  }
  if (unc > INT32_MAX || comp > INT32_MAX || num_values > INT32_MAX) return TSR_ELIMIT;
  tsr__tw t;
  c->hdr.len = 0;
  tsr__tw_begin(&t, &c->hdr);
  tsr__tw_i32(&t, 1, page_type);
  tsr__tw_i32(&t, 2, (int32_t)unc);
  tsr__tw_i32(&t, 3, (int32_t)comp);
  if (page_type == TSR__PQP_DATA_PAGE) {
    tsr__tw_struct_begin(&t, 5);
    tsr__tw_i32(&t, 1, (int32_t)num_values);
    tsr__tw_i32(&t, 2, encoding);
    tsr__tw_i32(&t, 3, TSR__PQE_RLE);
    tsr__tw_i32(&t, 4, TSR__PQE_RLE);
    tsr__tw_struct_end(&t);
  } else {
    tsr__tw_struct_begin(&t, 7);
    tsr__tw_i32(&t, 1, (int32_t)num_values);
    tsr__tw_i32(&t, 2, encoding);
    tsr__tw_struct_end(&t);
  }
  tsr__tw_end(&t);
  tsr__buf_put(&c->chunk, c->hdr.p, c->hdr.len);
  tsr__buf_put(&c->chunk, body, comp);
  if (c->hdr.oom || c->chunk.oom) return TSR_ENOMEM;
  c->cur.unc += c->hdr.len + unc;
  c->cur.comp += c->hdr.len + comp;
  return 0;
}

/* Encodes the buffered row group of one column into c->chunk and c->cur
 * (offsets relative to the chunk). Runs on any thread; touches only c. */
static int encode_chunk(const tsr_pq_writer *w, pq_col *c, size_t rows) {
  memset(&c->cur, 0, sizeof c->cur);
  c->chunk.len = 0;
  c->cur.num_values = rows;
  int dict = 0;
  if (c->type != TSR_PQ_BOOL && c->nn > 0 && c->enc != TSR_PQ_ENC_PLAIN) {
    int auto_ = c->enc == TSR_PQ_ENC_AUTO;
    dict = build_dict(c, auto_ ? c->nn / 2 : c->nn, auto_ ? PQ_AUTO_DICT_BYTES : PQ_FORCED_DICT_BYTES);
    if (dict < 0) return TSR_ENOMEM;
  }
  compute_stats(c, rows, &c->cur.st, dict);
  int bw = 0;
  if (dict) {
    c->cur.dict = 1;
    c->cur.dict_off = 0;
    c->page.len = 0;
    for (size_t e = 0; e < c->ndict; e++) put_plain(&c->page, c, c->dfirst[e], c->dfirst[e] + 1);
    TSR_FORWARD_IF_ERROR(emit_page(w, c, TSR__PQP_DICTIONARY_PAGE, c->ndict, TSR__PQE_PLAIN));
    bw = tsr__bit_width((uint32_t)(c->ndict - 1));
  }
  c->cur.data_off = c->chunk.len;
  /* Page cut by an estimate of encoded bits, so each page is about page_bytes. */
  uint64_t limit = (uint64_t)w->page_bytes * 8u;
  uint64_t fixed_bits = dict ? (uint64_t)(bw ? bw : 1) : (c->type == TSR_PQ_BOOL ? 1u : 8u * c->width);
  size_t r = 0, v = 0;
  while (r < rows) {
    size_t r1 = r, v1 = v;
    uint64_t bits = 0;
    while (r1 < rows && bits < limit && r1 - r < PQ_MAX_PAGE_ROWS) {
      int present = !c->nullable || c->valid[r1];
      bits += (uint64_t)c->nullable;
      if (present) {
        if (c->type == TSR_PQ_STRING && !dict) {
          size_t len;
          (void)val_ptr(c, v1, &len);
          bits += 32u + 8u * (uint64_t)len;
        }
        else
          bits += fixed_bits;
        v1++;
      }
      r1++;
    }
    c->page.len = 0;
    if (c->nullable) {
      size_t at = c->page.len;
      uint32_t zero = 0;
      tsr__buf_put(&c->page, &zero, 4);
      tsr__rle_encode_bits(&c->page, c->valid + r, r1 - r);
      if (c->page.oom) return TSR_ENOMEM;
      uint32_t len = (uint32_t)(c->page.len - at - 4);
      memcpy(c->page.p + at, &len, 4);
    }
    if (dict) {
      tsr__buf_putc(&c->page, (char)bw);
      tsr__rle_encode(&c->page, c->idx + v, v1 - v, bw);
    } else {
      put_plain(&c->page, c, v, v1);
    }
    TSR_FORWARD_IF_ERROR(
        emit_page(w, c, TSR__PQP_DATA_PAGE, r1 - r, dict ? TSR__PQE_RLE_DICTIONARY : TSR__PQE_PLAIN));
    r = r1;
    v = v1;
  }
  return 0;
}

static int flush_row_group(tsr_pq_writer *w, tsr_error *err) {
  size_t rows = w->rg_n;
  if (rows == 0) return 0;
  long n = (long)w->ncols;
  int nt = tsr__threads(w->threads);
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt) if (n > 1 && rows >= 4096)
  for (long c = 0; c < n; c++) w->cols[c].rc = encode_chunk(w, &w->cols[c], rows);
  for (size_t c = 0; c < w->ncols; c++)
    if (w->cols[c].rc)
      return tsr_error_set(err, w->cols[c].rc, w->f.path, 0, 0, "parquet: cannot encode column '%s': %s",
                           w->cols[c].name, tsr_strerror(w->cols[c].rc));
  if (grow(&w->chunks, &w->chunks_cap, (w->nrg + 1) * w->ncols, sizeof *w->chunks) ||
      grow(&w->rg_rows, &w->rg_cap, w->nrg + 1, sizeof *w->rg_rows))
    return tsr_error_set(err, TSR_ENOMEM, w->f.path, 0, 0, "out of memory");
  for (size_t c = 0; c < w->ncols; c++) {
    pq_col *pc = &w->cols[c];
    pq_chunk *ch = &w->chunks[w->nrg * w->ncols + c];
    *ch = pc->cur;
    ch->start = w->f.size;
    ch->data_off += ch->start;
    ch->dict_off = ch->dict ? ch->start : 0;
    TSR_FORWARD_IF_ERROR(tsr__outfile_write(&w->f, pc->chunk.p, pc->chunk.len, err));
    pc->nn = 0;
    pc->sbytes.len = 0;
  }
  w->rg_rows[w->nrg++] = rows;
  w->rg_n = 0;
  return 0;
}

int tsr_pq_set_codes(tsr_pq_writer *w, size_t col, const tsr_view *dict, uint32_t dict_n, tsr_error *err) {
  TSR_RETURN_IF(!w || col >= w->ncols || (dict_n && !dict), err, TSR_EINVAL, "parquet: no such column or no codes");
  pq_col *pc = &w->cols[col];
  if (pc->type != TSR_PQ_STRING || w->total_rows || w->failed)
    return tsr_error_set(err, TSR_EINVAL, w->f.path, 0, 0,
                         "parquet: column '%s' cannot take codes (not a string, or rows already written)", pc->name);
  for (uint32_t k = 0; k < dict_n; k++)
    if (dict[k].len > PQ_MAX_STRING || (dict[k].len && !dict[k].ptr))
      return tsr_error_set(err, TSR_ELIMIT, w->f.path, 0, 0,
                           "parquet: dictionary entry %u of column '%s' is over 1 GiB or has no bytes", k + 1,
                           pc->name);
  static const tsr_view none = {NULL, 0};
  pc->gdict = dict_n ? dict : &none; /* non-NULL marks the column coded */
  pc->gdict_n = dict_n;
  pc->width = 4;
  return 0;
}

int tsr_pq_write(tsr_pq_writer *w, const tsr_pq_col *cols, size_t nrows, tsr_error *err) {
  TSR_RETURN_IF(!w, err, TSR_EINVAL, "parquet: no writer");
  if (w->failed) return tsr_error_set(err, TSR_EINVAL, w->f.path, 0, 0, "parquet: writer failed earlier");
  if (nrows == 0) return 0;
  if (!cols) return tsr_error_set(err, TSR_EINVAL, w->f.path, 0, 0, "parquet: no columns given");
  /* Check the whole batch first, so a rejected batch leaves the writer usable. */
  for (size_t c = 0; c < w->ncols; c++) {
    const pq_col *pc = &w->cols[c];
    const uint8_t *valid = cols[c].valid;
    if (!cols[c].values)
      return tsr_error_set(err, TSR_EINVAL, w->f.path, 0, 0, "parquet: column '%s' has no values", pc->name);
    if (valid && !pc->nullable)
      for (size_t i = 0; i < nrows; i++)
        if (!valid[i])
          return tsr_error_set(err, TSR_EINVAL, w->f.path, 0, 0,
                               "parquet: null in required column '%s' (row %llu)", pc->name,
                               (unsigned long long)(w->total_rows + i));
    if (pc->gdict) {
      const uint32_t *code = cols[c].values;
      for (size_t i = 0; i < nrows; i++) {
        if (valid && !valid[i]) continue;
        if (code[i] > pc->gdict_n)
          return tsr_error_set(err, TSR_EINVAL, w->f.path, 0, 0,
                               "parquet: code %u in column '%s' (row %llu) is past its %u dictionary entries",
                               code[i], pc->name, (unsigned long long)(w->total_rows + i), pc->gdict_n);
        if (code[i] == 0 && !pc->nullable)
          return tsr_error_set(err, TSR_EINVAL, w->f.path, 0, 0,
                               "parquet: null in required column '%s' (row %llu)", pc->name,
                               (unsigned long long)(w->total_rows + i));
      }
    } else if (pc->type == TSR_PQ_STRING) {
      const tsr_view *sv = cols[c].values;
      for (size_t i = 0; i < nrows; i++)
        if ((!valid || valid[i]) && (sv[i].len > PQ_MAX_STRING || (sv[i].len && !sv[i].ptr)))
          return tsr_error_set(err, TSR_ELIMIT, w->f.path, 0, 0,
                               "parquet: string in column '%s' (row %llu) is over 1 GiB or has no bytes",
                               pc->name, (unsigned long long)(w->total_rows + i));
    }
  }
  size_t done = 0;
  while (done < nrows) {
    size_t take = nrows - done;
    if (take > w->rg_max - w->rg_n) take = (size_t)(w->rg_max - w->rg_n);
    for (size_t c = 0; c < w->ncols; c++)
      if (col_append(&w->cols[c], &cols[c], done, take, w->rg_n)) {
        w->failed = 1;
        return tsr_error_set(err, TSR_ENOMEM, w->f.path, 0, 0, "out of memory");
      }
    w->rg_n += take;
    w->total_rows += take;
    done += take;
    if (w->rg_n == w->rg_max) {
      int rc = flush_row_group(w, err);
      if (rc) {
        w->failed = 1;
        return rc;
      }
    }
  }
  return 0;
}

uint64_t tsr_pq_writer_rows(const tsr_pq_writer *w) { return w ? w->total_rows : 0; }

size_t tsr_pq_writer_bytes(const tsr_pq_writer *w) {
  if (!w) return 0;
  size_t b = sizeof *w + w->ncols * sizeof *w->cols + w->chunks_cap * sizeof *w->chunks;
  for (size_t i = 0; i < w->ncols; i++) {
    const pq_col *c = &w->cols[i];
    b += c->valid_cap + c->vals_cap * c->width + c->soff_cap * sizeof *c->soff + c->sbytes.cap + c->chunk.cap +
         c->page.cap + c->hdr.cap + c->zbuf.cap + c->idx_cap * 4 + c->dcap * 12 + c->tcap * 4 +
         (c->gmap ? ((size_t)c->gdict_n + 1) * 4 : 0);
  }
  return b;
}

/* --- Footer -------------------------------------------------------------------- */
static void put_schema(tsr__tw *t, const tsr_pq_writer *w) {
  tsr__tw_list_begin(t, 2, TSR__CT_STRUCT, (uint32_t)w->ncols + 1);
  tsr__tw_elem_struct_begin(t);
  tsr__tw_str(t, 4, "schema");
  tsr__tw_i32(t, 5, (int32_t)w->ncols);
  tsr__tw_struct_end(t);
  for (size_t c = 0; c < w->ncols; c++) {
    const pq_col *pc = &w->cols[c];
    tsr__tw_elem_struct_begin(t);
    tsr__tw_i32(t, 1, physical_type(pc->type));
    tsr__tw_i32(t, 3, pc->nullable ? TSR__PQR_OPTIONAL : TSR__PQR_REQUIRED);
    tsr__tw_str(t, 4, pc->name);
    if (pc->type == TSR_PQ_STRING || pc->type == TSR_PQ_DATE) {
      int str = pc->type == TSR_PQ_STRING;
      tsr__tw_i32(t, 6, str ? TSR__PQCT_UTF8 : TSR__PQCT_DATE);
      tsr__tw_struct_begin(t, 10); /* LogicalType union */
      tsr__tw_struct_begin(t, str ? TSR__PQL_STRING : TSR__PQL_DATE);
      tsr__tw_struct_end(t);
      tsr__tw_struct_end(t);
    }
    tsr__tw_struct_end(t);
  }
}

static void put_chunk(tsr__tw *t, const pq_col *pc, const pq_chunk *ch, int zstd) {
  tsr__tw_elem_struct_begin(t);
  tsr__tw_i64(t, 2, (int64_t)ch->start); /* file_offset: where the chunk starts */
  tsr__tw_struct_begin(t, 3);           /* ColumnMetaData */
  tsr__tw_i32(t, 1, physical_type(pc->type));
  tsr__tw_list_begin(t, 2, TSR__CT_I32, ch->dict ? 3u : 2u);
  tsr__tw_elem_i32(t, TSR__PQE_PLAIN);
  tsr__tw_elem_i32(t, TSR__PQE_RLE);
  if (ch->dict) tsr__tw_elem_i32(t, TSR__PQE_RLE_DICTIONARY);
  tsr__tw_list_begin(t, 3, TSR__CT_BINARY, 1);
  tsr__tw_elem_str(t, pc->name);
  tsr__tw_i32(t, 4, zstd ? TSR__PQC_ZSTD : TSR__PQC_UNCOMPRESSED);
  tsr__tw_i64(t, 5, (int64_t)ch->num_values);
  tsr__tw_i64(t, 6, (int64_t)ch->unc);
  tsr__tw_i64(t, 7, (int64_t)ch->comp);
  tsr__tw_i64(t, 9, (int64_t)ch->data_off);
  if (ch->dict) tsr__tw_i64(t, 11, (int64_t)ch->dict_off);
  tsr__tw_struct_begin(t, 12); /* Statistics */
  tsr__tw_i64(t, 3, (int64_t)ch->st.null_count);
  if (ch->st.has_minmax) {
    tsr__tw_bin(t, 5, ch->st.max, ch->st.max_len);
    tsr__tw_bin(t, 6, ch->st.min, ch->st.min_len);
  }
  tsr__tw_struct_end(t);
  tsr__tw_struct_end(t);
  tsr__tw_struct_end(t);
}

static int write_footer(tsr_pq_writer *w, tsr_error *err) {
  tsr__buf b;
  tsr__buf_init(&b, 4096);
  tsr__tw t;
  tsr__tw_begin(&t, &b);
  tsr__tw_i32(&t, 1, 1);
  put_schema(&t, w);
  tsr__tw_i64(&t, 3, (int64_t)w->total_rows);
  tsr__tw_list_begin(&t, 4, TSR__CT_STRUCT, (uint32_t)w->nrg);
  for (size_t g = 0; g < w->nrg; g++) {
    const pq_chunk *chs = &w->chunks[g * w->ncols];
    uint64_t unc = 0, comp = 0;
    tsr__tw_elem_struct_begin(&t);
    tsr__tw_list_begin(&t, 1, TSR__CT_STRUCT, (uint32_t)w->ncols);
    for (size_t c = 0; c < w->ncols; c++) {
      put_chunk(&t, &w->cols[c], &chs[c], w->zlevel > 0);
      unc += chs[c].unc;
      comp += chs[c].comp;
    }
    tsr__tw_i64(&t, 2, (int64_t)unc);
    tsr__tw_i64(&t, 3, (int64_t)w->rg_rows[g]);
    tsr__tw_i64(&t, 5, (int64_t)chs[0].start);
    tsr__tw_i64(&t, 6, (int64_t)comp);
    if (g <= (size_t)INT16_MAX) tsr__tw_i16(&t, 7, (int16_t)g);
    tsr__tw_struct_end(&t);
  }
  if (w->nkv) {
    tsr__tw_list_begin(&t, 5, TSR__CT_STRUCT, (uint32_t)w->nkv);
    for (size_t i = 0; i < w->nkv; i++) {
      tsr__tw_elem_struct_begin(&t);
      tsr__tw_str(&t, 1, w->kv[i]);
      if (w->kv[w->nkv + i]) tsr__tw_str(&t, 2, w->kv[w->nkv + i]);
      tsr__tw_struct_end(&t);
    }
  }
  tsr__tw_str(&t, 6, w->created_by);
  /* column_orders: TYPE_ORDER for every leaf, so readers trust min_value/max_value */
  tsr__tw_list_begin(&t, 7, TSR__CT_STRUCT, (uint32_t)w->ncols);
  for (size_t c = 0; c < w->ncols; c++) {
    tsr__tw_elem_struct_begin(&t);
    tsr__tw_struct_begin(&t, 1);
    tsr__tw_struct_end(&t);
    tsr__tw_struct_end(&t);
  }
  tsr__tw_end(&t);
  int rc = 0;
  if (b.oom) {
    rc = tsr_error_set(err, TSR_ENOMEM, w->f.path, 0, 0, "out of memory");
  } else if (b.len > UINT32_MAX) {
    rc = tsr_error_set(err, TSR_ELIMIT, w->f.path, 0, 0, "parquet: footer over 4 GiB");
  } else {
    uint32_t len = (uint32_t)b.len;
    tsr__buf_put(&b, &len, 4);
    tsr__buf_put(&b, "PAR1", 4);
    rc = b.oom ? tsr_error_set(err, TSR_ENOMEM, w->f.path, 0, 0, "out of memory")
               : tsr__outfile_write(&w->f, b.p, b.len, err);
  }
  tsr__buf_free(&b);
  return rc;
}

int tsr_pq_close(tsr_pq_writer *w, tsr_error *err) {
  TSR_RETURN_IF(!w, err, TSR_EINVAL, "parquet: no writer");
  int rc = w->failed ? tsr_error_set(err, TSR_EINVAL, w->f.path, 0, 0, "parquet: writer failed earlier") : 0;
  if (!rc) rc = flush_row_group(w, err);
  if (!rc) rc = write_footer(w, err);
  if (!rc) rc = tsr__outfile_commit(&w->f, err);
  if (rc) tsr__outfile_abort(&w->f);
  writer_free(w);
  return rc;
}

void tsr_pq_abort(tsr_pq_writer *w) {
  if (!w) return;
  tsr__outfile_abort(&w->f);
  writer_free(w);
}
