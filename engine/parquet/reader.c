/* Parquet reader for the flat files tsr_pq_write produces (and other writers'
 * files that stay inside the same subset), plus the RLE/bit-packed hybrid
 * decoder. Input is untrusted: `tessera evaluate` reads files a user points
 * it at, and tests/fuzz/fuzz_parquet.c throws arbitrary bytes at it.
 *
 * DESIGN
 *   open:  map file -> check "PAR1" at both ends -> footer length -> parse
 *          FileMetaData (thrift.h cursor; every list count is checked against
 *          the bytes left, so allocations stay proportional to the footer)
 *          -> validate schema, row groups and chunk byte ranges once.
 *   read:  per row group: walk the chunk's pages inside [start, start + size)
 *          -> decompress -> def levels into valid[] -> values decoded densely
 *          (PLAIN, or dictionary indices gathered from the decoded dictionary)
 *          -> scattered to the rows that are present.
 * Memory: output arrays are sized by row counts, which a tiny file can claim
 * in the billions (RLE runs make that legitimate), so the file's row count is
 * capped by tsr_pq_reader_opts.max_rows. A decompressed page is capped by
 * ZSTD's best possible ratio for its compressed size. String views point into
 * the mapping (uncompressed pages) or into pages kept in the reader's arena. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "common/arena.h"
#include "common/common_internal.h"
#include "parquet/parquet_internal.h"
#include "parquet/thrift.h"
#include "tessera/parquet.h"

/* ZSTD cannot expand more than this (an RLE block: 4 bytes -> 128 KiB). */
#define RD_ZSTD_MAX_RATIO 32768u

/* --- RLE / bit-packed hybrid decoder ----------------------------------------- */
long tsr__rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out, size_t n) {
  if (bw < 0 || bw > 32) return -1;
  const uint8_t *q = p, *end = p + len;
  size_t vbytes = (size_t)(bw + 7) / 8;
  uint64_t mask = bw == 32 ? 0xFFFFFFFFu : (((uint64_t)1 << bw) - 1);
  size_t k = 0;
  while (k < n) {
    uint64_t h;
    if (tsr__varint_get(&q, end, &h)) return -1;
    uint64_t cnt = h >> 1;
    if (h & 1u) {
      uint64_t groups = cnt;
      if (bw && groups > (uint64_t)(end - q) / (uint64_t)bw) return -1;
      size_t want = n - k;
      size_t take = groups >= (want + 7) / 8 ? want : (size_t)groups * 8;
      uint64_t acc = 0;
      int nbits = 0;
      const uint8_t *b = q;
      for (size_t i = 0; i < take; i++) {
        while (nbits < bw) {
          acc |= (uint64_t)*b++ << nbits;
          nbits += 8;
        }
        out[k + i] = (uint32_t)(acc & mask);
        acc >>= bw;
        nbits -= bw;
      }
      q += (size_t)groups * (size_t)bw;
      k += take;
    } else {
      if (vbytes > (size_t)(end - q)) return -1;
      uint64_t x = 0;
      for (size_t b = 0; b < vbytes; b++) x |= (uint64_t)q[b] << (8 * b);
      q += vbytes;
      if (x > mask) return -1;
      size_t take = cnt < (uint64_t)(n - k) ? (size_t)cnt : n - k;
      for (size_t i = 0; i < take; i++) out[k + i] = (uint32_t)x;
      k += take;
    }
  }
  return (long)(q - p);
}

/* --- Parsed footer ------------------------------------------------------------ */
typedef struct rd_chunk {
  int has_meta, has_file_path, has_dict_off;
  int32_t type, codec;
  uint32_t npath, path0_len;
  const uint8_t *path0;
  int64_t num_values, total_comp, data_off, dict_off;
} rd_chunk;

typedef struct rd_rg {
  int64_t num_rows;
  int has_rows;
  uint32_t nchunks;
  rd_chunk *chunks;
} rd_rg;

typedef struct rd_schema {
  int has_type, has_rep, has_children, has_converted, has_name;
  int32_t type, repetition, num_children, converted;
  int logical;           /* LogicalType union member, 0 = none */
  int int_bits, int_signed; /* LogicalType INTEGER */
  const uint8_t *name;
  uint32_t name_len;
} rd_schema;

typedef struct rd_col {
  char *name;
  tsr_pq_type type;
  int nullable;
  int32_t phys;
} rd_col;

struct tsr_pq_reader {
  const uint8_t *data;
  size_t size;
  void *map;
  size_t map_len;
  char name[512];
  uint64_t max_rows;
  uint64_t data_end; /* first byte of the footer */
  int has_version, has_rows;
  int64_t num_rows;
  rd_schema *schema;
  uint32_t nschema;
  rd_rg *rgs;
  uint32_t nrg;
  uint32_t nkv;
  char **kv; /* nkv keys then nkv values (values may be NULL) */
  const char *created_by;
  size_t ncols;
  rd_col *cols;
  tsr__arena arena; /* names, kv, string pages */
  ZSTD_DCtx *dctx;
  uint8_t *scratch; /* decompressed page (non-string columns) */
  size_t scratch_cap;
  uint32_t *iscratch; /* levels / dictionary indices */
  size_t iscratch_cap;
  uint8_t *dense; /* values of one page, before scattering */
  size_t dense_cap;
};

#define RD_FAIL(r, err, ...) tsr_error_set((err), TSR_EPARSE, (r)->name, 0, 0, __VA_ARGS__)

static const char *codec_name(int32_t c) {
  static const char *const n[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
  return c >= 0 && c < 8 ? n[c] : "unknown";
}

static const char *phys_name(int32_t t) {
  static const char *const n[] = {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY",
                                  "FIXED_LEN_BYTE_ARRAY"};
  return t >= 0 && t < 8 ? n[t] : "unknown";
}

/* --- Footer parsing ---------------------------------------------------------------- */
static void parse_int_type(tsr__tr *t, rd_schema *e) {
  int16_t last = 0, id;
  uint8_t ty;
  while (tsr__tr_field(t, &last, &id, &ty)) {
    if (id == 1 && ty == TSR__CT_BYTE && t->p < t->end)
      e->int_bits = (int8_t)*t->p++;
    else if (id == 2 && (ty == TSR__CT_TRUE || ty == TSR__CT_FALSE))
      e->int_signed = tsr__tr_bool(t, ty);
    else
      tsr__tr_skip(t, ty);
  }
}

static void parse_logical(tsr__tr *t, rd_schema *e) {
  int16_t last = 0, id;
  uint8_t ty;
  while (tsr__tr_field(t, &last, &id, &ty)) {
    if (ty == TSR__CT_STRUCT && !e->logical) {
      e->logical = id > 0 ? id : -1;
      if (id == TSR__PQL_INTEGER) {
        parse_int_type(t, e);
        continue;
      }
    }
    tsr__tr_skip(t, ty);
  }
}

static void parse_schema_el(tsr__tr *t, rd_schema *e) {
  int16_t last = 0, id;
  uint8_t ty;
  while (tsr__tr_field(t, &last, &id, &ty)) {
    switch (id) {
    case 1:
      if (tsr__tr_want(t, ty, TSR__CT_I32)) e->type = tsr__tr_i32(t), e->has_type = 1;
      break;
    case 3:
      if (tsr__tr_want(t, ty, TSR__CT_I32)) e->repetition = tsr__tr_i32(t), e->has_rep = 1;
      break;
    case 4:
      if (tsr__tr_want(t, ty, TSR__CT_BINARY)) e->name = tsr__tr_bin(t, &e->name_len), e->has_name = 1;
      break;
    case 5:
      if (tsr__tr_want(t, ty, TSR__CT_I32)) e->num_children = tsr__tr_i32(t), e->has_children = 1;
      break;
    case 6:
      if (tsr__tr_want(t, ty, TSR__CT_I32)) e->converted = tsr__tr_i32(t), e->has_converted = 1;
      break;
    case 10:
      if (tsr__tr_want(t, ty, TSR__CT_STRUCT)) parse_logical(t, e);
      break;
    default:
      tsr__tr_skip(t, ty);
    }
  }
}

static void parse_col_meta(tsr__tr *t, rd_chunk *c) {
  int16_t last = 0, id;
  uint8_t ty;
  c->has_meta = 1;
  while (tsr__tr_field(t, &last, &id, &ty)) {
    switch (id) {
    case 1:
      if (tsr__tr_want(t, ty, TSR__CT_I32)) c->type = tsr__tr_i32(t);
      break;
    case 3: {
      if (!tsr__tr_want(t, ty, TSR__CT_LIST)) break;
      uint8_t et;
      uint32_t n = tsr__tr_list(t, &et);
      if (n && !tsr__tr_want(t, et, TSR__CT_BINARY)) break;
      c->npath = n;
      for (uint32_t i = 0; i < n && !t->err; i++) {
        uint32_t len;
        const uint8_t *p = tsr__tr_bin(t, &len);
        if (i == 0) c->path0 = p, c->path0_len = len;
      }
      break;
    }
    case 4:
      if (tsr__tr_want(t, ty, TSR__CT_I32)) c->codec = tsr__tr_i32(t);
      break;
    case 5:
      if (tsr__tr_want(t, ty, TSR__CT_I64)) c->num_values = tsr__tr_i64(t);
      break;
    case 7:
      if (tsr__tr_want(t, ty, TSR__CT_I64)) c->total_comp = tsr__tr_i64(t);
      break;
    case 9:
      if (tsr__tr_want(t, ty, TSR__CT_I64)) c->data_off = tsr__tr_i64(t);
      break;
    case 11:
      if (tsr__tr_want(t, ty, TSR__CT_I64)) c->dict_off = tsr__tr_i64(t), c->has_dict_off = 1;
      break;
    default:
      tsr__tr_skip(t, ty);
    }
  }
}

static void parse_chunk(tsr__tr *t, rd_chunk *c) {
  int16_t last = 0, id;
  uint8_t ty;
  while (tsr__tr_field(t, &last, &id, &ty)) {
    if (id == 1) {
      c->has_file_path = 1;
      tsr__tr_skip(t, ty);
    } else if (id == 3 && !c->has_meta) {
      if (tsr__tr_want(t, ty, TSR__CT_STRUCT)) parse_col_meta(t, c);
    } else {
      tsr__tr_skip(t, ty);
    }
  }
}

static void parse_rg(tsr__tr *t, rd_rg *g) {
  int16_t last = 0, id;
  uint8_t ty;
  while (tsr__tr_field(t, &last, &id, &ty)) {
    if (id == 1 && !g->chunks) {
      if (!tsr__tr_want(t, ty, TSR__CT_LIST)) break;
      uint8_t et;
      uint32_t n = tsr__tr_list(t, &et);
      if (n && !tsr__tr_want(t, et, TSR__CT_STRUCT)) break;
      g->chunks = tsr__calloc(n, sizeof *g->chunks);
      if (!g->chunks) {
        t->err = 2; /* out of memory */
        break;
      }
      g->nchunks = n;
      for (uint32_t i = 0; i < n && !t->err; i++) parse_chunk(t, &g->chunks[i]);
    } else if (id == 3) {
      if (tsr__tr_want(t, ty, TSR__CT_I64)) g->num_rows = tsr__tr_i64(t), g->has_rows = 1;
    } else {
      tsr__tr_skip(t, ty);
    }
  }
}

static char *arena_str(tsr_pq_reader *r, const uint8_t *p, uint32_t n) {
  return tsr__arena_strndup(&r->arena, (const char *)p, n);
}

static void parse_kv(tsr__tr *t, tsr_pq_reader *r) {
  uint8_t et;
  uint32_t n = tsr__tr_list(t, &et);
  if (n && !tsr__tr_want(t, et, TSR__CT_STRUCT)) return;
  char **kv = tsr__arena_alloc(&r->arena, (size_t)n * 2 * sizeof *kv + 1, 8);
  if (!kv) {
    t->err = 2;
    return;
  }
  memset(kv, 0, (size_t)n * 2 * sizeof *kv);
  for (uint32_t i = 0; i < n && !t->err; i++) {
    int16_t last = 0, id;
    uint8_t ty;
    while (tsr__tr_field(t, &last, &id, &ty)) {
      if ((id == 1 || id == 2) && ty == TSR__CT_BINARY) {
        uint32_t len;
        const uint8_t *p = tsr__tr_bin(t, &len);
        if (t->err) break;
        char *s = arena_str(r, p, len);
        if (!s) {
          t->err = 2;
          break;
        }
        kv[id == 1 ? i : n + i] = s;
      } else {
        tsr__tr_skip(t, ty);
      }
    }
    if (!t->err && !kv[i]) t->err = 1; /* key is required */
  }
  r->kv = kv;
  r->nkv = n;
}

static void parse_file_meta(tsr__tr *t, tsr_pq_reader *r) {
  int16_t last = 0, id;
  uint8_t ty;
  while (tsr__tr_field(t, &last, &id, &ty)) {
    switch (id) {
    case 1:
      if (tsr__tr_want(t, ty, TSR__CT_I32)) (void)tsr__tr_i32(t), r->has_version = 1;
      break;
    case 2: {
      if (r->schema || !tsr__tr_want(t, ty, TSR__CT_LIST)) {
        t->err = 1;
        break;
      }
      uint8_t et;
      uint32_t n = tsr__tr_list(t, &et);
      if (n && !tsr__tr_want(t, et, TSR__CT_STRUCT)) break;
      r->schema = tsr__calloc(n, sizeof *r->schema);
      if (!r->schema) {
        t->err = 2;
        break;
      }
      r->nschema = n;
      for (uint32_t i = 0; i < n && !t->err; i++) parse_schema_el(t, &r->schema[i]);
      break;
    }
    case 3:
      if (tsr__tr_want(t, ty, TSR__CT_I64)) r->num_rows = tsr__tr_i64(t), r->has_rows = 1;
      break;
    case 4: {
      if (r->rgs || !tsr__tr_want(t, ty, TSR__CT_LIST)) {
        t->err = 1;
        break;
      }
      uint8_t et;
      uint32_t n = tsr__tr_list(t, &et);
      if (n && !tsr__tr_want(t, et, TSR__CT_STRUCT)) break;
      r->rgs = tsr__calloc(n, sizeof *r->rgs);
      if (!r->rgs) {
        t->err = 2;
        break;
      }
      r->nrg = n;
      for (uint32_t i = 0; i < n && !t->err; i++) parse_rg(t, &r->rgs[i]);
      break;
    }
    case 5:
      if (r->kv || !tsr__tr_want(t, ty, TSR__CT_LIST)) {
        t->err = 1;
        break;
      }
      parse_kv(t, r);
      break;
    case 6:
      if (tsr__tr_want(t, ty, TSR__CT_BINARY)) {
        uint32_t len;
        const uint8_t *p = tsr__tr_bin(t, &len);
        if (!t->err && !(r->created_by = arena_str(r, p, len))) t->err = 2;
      }
      break;
    default:
      tsr__tr_skip(t, ty);
    }
  }
}

/* --- Validation ------------------------------------------------------------------------ */
static int map_type(tsr_pq_reader *r, const rd_schema *e, const char *name, tsr_pq_type *out, tsr_error *err) {
  int cv = e->has_converted ? e->converted : -1, lg = e->logical;
  switch (e->type) {
  case TSR__PQT_BOOLEAN:
    if (cv < 0 && lg == 0) return *out = TSR_PQ_BOOL, 0;
    break;
  case TSR__PQT_INT32:
    if ((cv < 0 || cv == TSR__PQCT_DATE) && (lg == 0 || lg == TSR__PQL_DATE) && (cv >= 0 || lg != 0))
      return *out = TSR_PQ_DATE, 0;
    if ((cv < 0 || cv == TSR__PQCT_INT_32) &&
        (lg == 0 || (lg == TSR__PQL_INTEGER && e->int_bits == 32 && e->int_signed)))
      return *out = TSR_PQ_INT32, 0;
    break;
  case TSR__PQT_INT64:
    if ((cv < 0 || cv == TSR__PQCT_INT_64) &&
        (lg == 0 || (lg == TSR__PQL_INTEGER && e->int_bits == 64 && e->int_signed)))
      return *out = TSR_PQ_INT64, 0;
    break;
  case TSR__PQT_DOUBLE:
    if (cv < 0 && lg == 0) return *out = TSR_PQ_DOUBLE, 0;
    break;
  case TSR__PQT_BYTE_ARRAY:
    if ((cv < 0 || cv == TSR__PQCT_UTF8) && (lg == 0 || lg == TSR__PQL_STRING)) return *out = TSR_PQ_STRING, 0;
    break;
  default:
    return RD_FAIL(r, err, "column '%s' has physical type %s (%d), which is not supported", name,
                   phys_name(e->type), e->type);
  }
  return RD_FAIL(r, err, "column '%s' (%s) has an unsupported annotation (converted type %d, logical type %d)",
                 name, phys_name(e->type), cv, lg);
}

static int validate(tsr_pq_reader *r, tsr_error *err) {
  if (!r->has_version || !r->has_rows || !r->schema || !r->rgs)
    return RD_FAIL(r, err, "footer lacks a required field (version, schema, num_rows or row_groups)");
  if (r->nschema < 1) return RD_FAIL(r, err, "empty schema");
  const rd_schema *root = &r->schema[0];
  r->ncols = r->nschema - 1;
  if (!root->has_children || root->num_children < 0 || (uint32_t)root->num_children != r->nschema - 1)
    return RD_FAIL(r, err, "nested schema (root has %d children for %u schema elements): only flat files are "
                   "supported", root->num_children, r->nschema);
  r->cols = tsr__calloc(r->ncols ? r->ncols : 1, sizeof *r->cols);
  if (!r->cols) return tsr_error_set(err, TSR_ENOMEM, r->name, 0, 0, "out of memory");
  for (size_t i = 0; i < r->ncols; i++) {
    const rd_schema *e = &r->schema[i + 1];
    rd_col *c = &r->cols[i];
    if (!e->has_name) return RD_FAIL(r, err, "schema element %zu has no name", i + 1);
    c->name = arena_str(r, e->name, e->name_len);
    if (!c->name) return tsr_error_set(err, TSR_ENOMEM, r->name, 0, 0, "out of memory");
    if (e->has_children && e->num_children != 0)
      return RD_FAIL(r, err, "nested schema (group '%s'): only flat files are supported", c->name);
    if (!e->has_type) return RD_FAIL(r, err, "column '%s' has no physical type", c->name);
    if (!e->has_rep || (e->repetition != TSR__PQR_REQUIRED && e->repetition != TSR__PQR_OPTIONAL))
      return RD_FAIL(r, err, "column '%s' is %s: only REQUIRED and OPTIONAL fields are supported", c->name,
                     e->has_rep && e->repetition == TSR__PQR_REPEATED ? "REPEATED" : "without a valid repetition");
    TSR_FORWARD_IF_ERROR(map_type(r, e, c->name, &c->type, err));
    c->nullable = e->repetition == TSR__PQR_OPTIONAL;
    c->phys = e->type;
  }
  if (r->num_rows < 0) return RD_FAIL(r, err, "negative row count");
  if ((uint64_t)r->num_rows > r->max_rows)
    return tsr_error_set(err, TSR_ELIMIT, r->name, 0, 0, "file claims %lld rows, more than the limit of %llu",
                         (long long)r->num_rows, (unsigned long long)r->max_rows);
  uint64_t sum = 0;
  for (uint32_t g = 0; g < r->nrg; g++) {
    const rd_rg *rg = &r->rgs[g];
    if (!rg->has_rows || rg->num_rows < 0 || (uint64_t)rg->num_rows > (uint64_t)r->num_rows - sum)
      return RD_FAIL(r, err, "row group %u has a bad row count", g);
    sum += (uint64_t)rg->num_rows;
    if (rg->nchunks != r->ncols)
      return RD_FAIL(r, err, "row group %u has %u column chunks for %zu columns", g, rg->nchunks, r->ncols);
    for (size_t i = 0; i < r->ncols; i++) {
      const rd_chunk *ch = &rg->chunks[i];
      const rd_col *c = &r->cols[i];
      if (!ch->has_meta) return RD_FAIL(r, err, "row group %u, column '%s': no column metadata (encrypted?)", g, c->name);
      if (ch->has_file_path)
        return RD_FAIL(r, err, "row group %u, column '%s': data in another file is not supported", g, c->name);
      if (ch->type != c->phys)
        return RD_FAIL(r, err, "row group %u, column '%s': chunk type %s differs from the schema's %s", g, c->name,
                       phys_name(ch->type), phys_name(c->phys));
      if (ch->npath != 1 || ch->path0_len != strlen(c->name) || memcmp(ch->path0, c->name, ch->path0_len) != 0)
        return RD_FAIL(r, err, "row group %u, column '%s': path_in_schema does not match", g, c->name);
      if (ch->codec != TSR__PQC_UNCOMPRESSED && ch->codec != TSR__PQC_ZSTD)
        return RD_FAIL(r, err, "row group %u, column '%s': codec %s (%d) is not supported (only UNCOMPRESSED "
                       "and ZSTD)", g, c->name, codec_name(ch->codec), ch->codec);
      if (ch->num_values != rg->num_rows)
        return RD_FAIL(r, err, "row group %u, column '%s': %lld values for %lld rows", g, c->name,
                       (long long)ch->num_values, (long long)rg->num_rows);
      int64_t start = ch->has_dict_off && ch->dict_off > 0 ? ch->dict_off : ch->data_off;
      if (start < 4 || ch->data_off < start || ch->total_comp < 0 || (uint64_t)start > r->data_end ||
          (uint64_t)ch->total_comp > r->data_end - (uint64_t)start ||
          (uint64_t)ch->data_off >= (uint64_t)start + (uint64_t)ch->total_comp + (rg->num_rows == 0))
        return RD_FAIL(r, err, "row group %u, column '%s': byte range is outside the file", g, c->name);
    }
  }
  if (sum != (uint64_t)r->num_rows)
    return RD_FAIL(r, err, "row groups hold %llu rows but the footer says %lld", (unsigned long long)sum,
                   (long long)r->num_rows);
  return 0;
}

/* --- Open / close ------------------------------------------------------------------- */
void tsr_pq_reader_opts_init(tsr_pq_reader_opts *o) { memset(o, 0, sizeof *o); }

static int reader_init(tsr_pq_reader *r, const tsr_pq_reader_opts *opts, tsr_error *err) {
  if (r->size < 12 || memcmp(r->data, "PAR1", 4) != 0 || memcmp(r->data + r->size - 4, "PAR1", 4) != 0)
    return RD_FAIL(r, err, "not a Parquet file (no PAR1 magic at both ends)");
  uint32_t meta_len;
  memcpy(&meta_len, r->data + r->size - 8, 4);
  if (meta_len > r->size - 12) return RD_FAIL(r, err, "footer length %u does not fit in the file", meta_len);
  r->data_end = r->size - 8 - meta_len;
  uint64_t maxr = opts && opts->max_rows ? opts->max_rows : 0;
  if (!maxr) {
    maxr = (uint64_t)r->size << 18;
    if (maxr < ((uint64_t)1 << 24)) maxr = (uint64_t)1 << 24;
    if (maxr > ((uint64_t)1 << 40)) maxr = (uint64_t)1 << 40;
  }
  r->max_rows = maxr;
  tsr__tr t;
  tsr__tr_init(&t, r->data + r->data_end, meta_len);
  parse_file_meta(&t, r);
  if (t.err == 2) return tsr_error_set(err, TSR_ENOMEM, r->name, 0, 0, "out of memory");
  if (t.err) return RD_FAIL(r, err, "malformed footer (Thrift metadata) near byte %llu",
                            (unsigned long long)(r->data_end + tsr__tr_used(&t, r->data + r->data_end)));
  if (!r->created_by) r->created_by = "";
  return validate(r, err);
}

static tsr_pq_reader *reader_new(const char *name) {
  tsr_pq_reader *r = tsr__calloc(1, sizeof *r);
  if (!r) return NULL;
  snprintf(r->name, sizeof r->name, "%s", name ? name : "<memory>");
  tsr__arena_init(&r->arena, 64 * 1024);
  return r;
}

int tsr_pq_reader_open_mem(const void *data, size_t size, const char *name, const tsr_pq_reader_opts *opts,
                           tsr_pq_reader **out, tsr_error *err) {
  TSR_RETURN_IF(!out || (!data && size), err, TSR_EINVAL, "parquet: no buffer");
  *out = NULL;
  tsr_pq_reader *r = reader_new(name);
  if (!r) return tsr_error_set(err, TSR_ENOMEM, name, 0, 0, "out of memory");
  r->data = data;
  r->size = size;
  int rc = reader_init(r, opts, err);
  if (rc) {
    tsr_pq_reader_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

int tsr_pq_reader_open(const char *path, const tsr_pq_reader_opts *opts, tsr_pq_reader **out, tsr_error *err) {
  TSR_RETURN_IF(!out || !path, err, TSR_EINVAL, "parquet: no path");
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return tsr_error_set(err, TSR_EIO, path, 0, 0, "not a regular file");
  }
  tsr_pq_reader *r = reader_new(path);
  if (!r) {
    close(fd);
    return tsr_error_set(err, TSR_ENOMEM, path, 0, 0, "out of memory");
  }
  r->size = (size_t)st.st_size;
  if (r->size >= 12) {
    void *m = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      int e = errno;
      close(fd);
      tsr_pq_reader_free(r);
      return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot map: %s", strerror(e));
    }
    r->map = m;
    r->map_len = r->size;
    r->data = m;
  } else {
    r->data = (const uint8_t *)"";
  }
  close(fd);
  int rc = reader_init(r, opts, err);
  if (rc) {
    tsr_pq_reader_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

void tsr_pq_reader_free(tsr_pq_reader *r) {
  if (!r) return;
  if (r->map) munmap(r->map, r->map_len);
  if (r->rgs)
    for (uint32_t g = 0; g < r->nrg; g++) tsr__free(r->rgs[g].chunks);
  tsr__free(r->rgs);
  tsr__free(r->schema);
  tsr__free(r->cols);
  tsr__arena_free(&r->arena);
  if (r->dctx) ZSTD_freeDCtx(r->dctx);
  tsr__free(r->scratch);
  tsr__free(r->iscratch);
  tsr__free(r->dense);
  tsr__free(r);
}

uint64_t tsr_pq_reader_rows(const tsr_pq_reader *r) { return r ? (uint64_t)r->num_rows : 0; }
size_t tsr_pq_reader_ncols(const tsr_pq_reader *r) { return r ? r->ncols : 0; }
size_t tsr_pq_reader_row_groups(const tsr_pq_reader *r) { return r ? r->nrg : 0; }
const char *tsr_pq_reader_col_name(const tsr_pq_reader *r, size_t i) {
  return r && i < r->ncols ? r->cols[i].name : NULL;
}
tsr_pq_type tsr_pq_reader_col_type(const tsr_pq_reader *r, size_t i) {
  return r && i < r->ncols ? r->cols[i].type : TSR_PQ_BOOL;
}
int tsr_pq_reader_col_nullable(const tsr_pq_reader *r, size_t i) {
  return r && i < r->ncols ? r->cols[i].nullable : 0;
}
long tsr_pq_reader_find(const tsr_pq_reader *r, const char *name) {
  if (!r || !name) return -1;
  for (size_t i = 0; i < r->ncols; i++)
    if (strcmp(r->cols[i].name, name) == 0) return (long)i;
  return -1;
}
const char *tsr_pq_reader_created_by(const tsr_pq_reader *r) { return r ? r->created_by : ""; }
const char *tsr_pq_reader_kv(const tsr_pq_reader *r, const char *key) {
  if (!r || !key) return NULL;
  for (uint32_t i = 0; i < r->nkv; i++)
    if (strcmp(r->kv[i], key) == 0) return r->kv[r->nkv + i];
  return NULL;
}

/* --- Column decoding ---------------------------------------------------------------- */
static size_t elem_size(tsr_pq_type t) {
  uint32_t w = tsr__pq_fixed_width(t);
  return w ? w : sizeof(tsr_view);
}

static int ensure(void *pp, size_t *cap, size_t need) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 4096;
  while (c < need) c *= 2;
  void *old;
  memcpy(&old, pp, sizeof old);
  void *n = tsr__realloc(old, c);
  if (!n) return -1;
  memcpy(pp, &n, sizeof n);
  *cap = c;
  return 0;
}

/* Decodes n PLAIN values of type t from [p, p + len) densely into dst.
 * Returns 0 or -1 when the bytes run out. */
static int decode_plain(tsr_pq_type t, const uint8_t *p, size_t len, size_t n, uint8_t *dst) {
  if (t == TSR_PQ_BOOL) {
    if ((n + 7) / 8 > len) return -1;
    for (size_t i = 0; i < n; i++) dst[i] = (uint8_t)(((unsigned)p[i >> 3] >> (i & 7u)) & 1u);
    return 0;
  }
  if (t == TSR_PQ_STRING) {
    tsr_view *v = (tsr_view *)(void *)dst;
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
      uint32_t l;
      if (len - off < 4) return -1;
      memcpy(&l, p + off, 4);
      off += 4;
      if (l > len - off) return -1;
      v[i].ptr = l ? (const char *)p + off : NULL;
      v[i].len = l;
      off += l;
    }
    return 0;
  }
  size_t w = elem_size(t);
  if (n > len / w) return -1;
  memcpy(dst, p, n * w);
  return 0;
}

typedef struct rd_dict {
  uint8_t *vals; /* ndict entries of elem_size */
  size_t n;
  int have;
} rd_dict;

/* Decompresses a page body into a buffer that lives as long as needed:
 * string pages must outlive the read (views point into them), others go to
 * the reusable scratch, unless keep_fixed (a dictionary of fixed values that
 * must survive the data pages; the caller frees *owned). */
static int page_body(tsr_pq_reader *r, const rd_chunk *ch, int is_string, int keep, const uint8_t *src,
                     size_t comp, size_t unc, const uint8_t **body, uint8_t **owned, const char *cname,
                     tsr_error *err) {
  *owned = NULL;
  if (ch->codec == TSR__PQC_UNCOMPRESSED) {
    if (comp != unc)
      return RD_FAIL(r, err, "column '%s': uncompressed page with sizes %zu and %zu", cname, comp, unc);
    *body = src;
    return 0;
  }
  if (unc > (uint64_t)comp * RD_ZSTD_MAX_RATIO + 65536u)
    return RD_FAIL(r, err, "column '%s': page claims %zu bytes from %zu compressed bytes", cname, unc, comp);
  uint8_t *dst;
  if (is_string) {
    dst = tsr__arena_alloc(&r->arena, unc ? unc : 1, 1);
  } else if (keep) {
    dst = tsr__malloc(unc ? unc : 1);
    *owned = dst;
  } else {
    if (ensure(&r->scratch, &r->scratch_cap, unc ? unc : 1)) dst = NULL;
    else dst = r->scratch;
  }
  if (!dst) return tsr_error_set(err, TSR_ENOMEM, r->name, 0, 0, "out of memory");
  if (!r->dctx && !(r->dctx = ZSTD_createDCtx())) return tsr_error_set(err, TSR_ENOMEM, r->name, 0, 0, "out of memory");
  size_t got = ZSTD_decompressDCtx(r->dctx, dst, unc, src, comp);
  if (ZSTD_isError(got) || got != unc) {
    tsr__free(*owned);
    *owned = NULL;
    return RD_FAIL(r, err, "column '%s': ZSTD page does not decompress to %zu bytes: %s", cname, unc,
                   ZSTD_isError(got) ? ZSTD_getErrorName(got) : "size differs");
  }
  *body = dst;
  return 0;
}

typedef struct rd_page_hdr {
  int32_t type, unc, comp;
  int has_data, has_dict, has_v2;
  int32_t nv, enc, def_enc, dict_n, dict_enc;
} rd_page_hdr;

static void parse_page_sub(tsr__tr *t, int32_t *a, int32_t *b, int32_t *c) {
  int16_t last = 0, id;
  uint8_t ty;
  while (tsr__tr_field(t, &last, &id, &ty)) {
    int32_t *dst = id == 1 ? a : id == 2 ? b : id == 3 ? c : NULL;
    if (dst && ty == TSR__CT_I32)
      *dst = tsr__tr_i32(t);
    else
      tsr__tr_skip(t, ty);
  }
}

static void parse_page_hdr(tsr__tr *t, rd_page_hdr *h) {
  int16_t last = 0, id;
  uint8_t ty;
  int seen = 0;
  memset(h, 0, sizeof *h);
  h->type = h->unc = h->comp = -1;
  while (tsr__tr_field(t, &last, &id, &ty)) {
    if (id >= 1 && id <= 3 && ty == TSR__CT_I32) {
      int32_t v = tsr__tr_i32(t);
      if (id == 1) h->type = v;
      if (id == 2) h->unc = v;
      if (id == 3) h->comp = v;
      seen |= 1 << id;
    } else if (id == 5 && ty == TSR__CT_STRUCT && !h->has_data) {
      int32_t rep = 0;
      h->nv = -1;
      h->enc = h->def_enc = -1;
      h->has_data = 1;
      /* fields 1-3; rep level encoding (4) does not matter for flat columns */
      int16_t l2 = 0, id2;
      uint8_t ty2;
      while (tsr__tr_field(t, &l2, &id2, &ty2)) {
        if (id2 >= 1 && id2 <= 4 && ty2 == TSR__CT_I32) {
          int32_t v = tsr__tr_i32(t);
          if (id2 == 1) h->nv = v;
          if (id2 == 2) h->enc = v;
          if (id2 == 3) h->def_enc = v;
          if (id2 == 4) rep = v;
        } else {
          tsr__tr_skip(t, ty2);
        }
      }
      (void)rep;
    } else if (id == 7 && ty == TSR__CT_STRUCT && !h->has_dict) {
      int32_t unused = 0;
      h->dict_n = h->dict_enc = -1;
      h->has_dict = 1;
      parse_page_sub(t, &h->dict_n, &h->dict_enc, &unused);
    } else {
      if (id == 8) h->has_v2 = 1;
      tsr__tr_skip(t, ty);
    }
  }
  if (seen != 0xE) t->err = 1;
}

/* Decodes one column chunk (rows [row0, row0 + rows) of the output). */
static int read_chunk(tsr_pq_reader *r, size_t ci, const rd_chunk *ch, uint64_t row0, uint64_t rows,
                      tsr_pq_column *out, tsr_error *err) {
  const rd_col *col = &r->cols[ci];
  const char *cn = col->name;
  size_t esz = elem_size(col->type);
  int is_str = col->type == TSR_PQ_STRING;
  uint64_t start = ch->has_dict_off && ch->dict_off > 0 ? (uint64_t)ch->dict_off : (uint64_t)ch->data_off;
  uint64_t pos = start, end = start + (uint64_t)ch->total_comp;
  rd_dict dict = {NULL, 0, 0};
  uint8_t *dict_owned = NULL;
  uint64_t done = 0;
  int rc = 0;
  uint8_t *ovals = (uint8_t *)out->values.any + row0 * esz;
  uint8_t *ovalid = out->valid + row0;
  while (done < rows && !rc) {
    if (pos >= end) {
      rc = RD_FAIL(r, err, "column '%s': chunk ends after %llu of %llu rows", cn, (unsigned long long)done,
                   (unsigned long long)rows);
      break;
    }
    tsr__tr t;
    tsr__tr_init(&t, r->data + pos, (size_t)(end - pos));
    rd_page_hdr h;
    parse_page_hdr(&t, &h);
    if (t.err || h.unc < 0 || h.comp < 0) {
      rc = RD_FAIL(r, err, "column '%s': malformed page header at byte %llu", cn, (unsigned long long)pos);
      break;
    }
    pos += tsr__tr_used(&t, r->data + pos);
    if ((uint64_t)h.comp > end - pos) {
      rc = RD_FAIL(r, err, "column '%s': page at byte %llu runs past its chunk", cn, (unsigned long long)pos);
      break;
    }
    const uint8_t *src = r->data + pos;
    pos += (uint64_t)h.comp;
    const uint8_t *body;
    uint8_t *owned = NULL;
    size_t unc = (size_t)h.unc;

    if (h.type == TSR__PQP_DICTIONARY_PAGE) {
      if (!h.has_dict || dict.have || done > 0) {
        rc = RD_FAIL(r, err, "column '%s': unexpected dictionary page", cn);
        break;
      }
      if (h.dict_enc != TSR__PQE_PLAIN && h.dict_enc != TSR__PQE_PLAIN_DICTIONARY) {
        rc = RD_FAIL(r, err, "column '%s': dictionary page encoding %d is not supported", cn, h.dict_enc);
        break;
      }
      if (h.dict_n < 0 || (size_t)h.dict_n > unc * 8u + 8u) {
        rc = RD_FAIL(r, err, "column '%s': dictionary of %d entries in %zu bytes", cn, h.dict_n, unc);
        break;
      }
      rc = page_body(r, ch, is_str, 1, src, (size_t)h.comp, unc, &body, &dict_owned, cn, err);
      if (rc) break;
      dict.n = (size_t)h.dict_n;
      dict.vals = tsr__malloc(dict.n * esz + 1);
      if (!dict.vals) {
        rc = tsr_error_set(err, TSR_ENOMEM, r->name, 0, 0, "out of memory");
        break;
      }
      if (decode_plain(col->type, body, unc, dict.n, dict.vals)) {
        rc = RD_FAIL(r, err, "column '%s': dictionary page is shorter than its %zu entries", cn, dict.n);
        break;
      }
      dict.have = 1;
      continue;
    }
    if (h.type == TSR__PQP_DATA_PAGE_V2 || h.has_v2) {
      rc = RD_FAIL(r, err, "column '%s': data page V2 is not supported", cn);
      break;
    }
    if (h.type != TSR__PQP_DATA_PAGE || !h.has_data) {
      rc = RD_FAIL(r, err, "column '%s': page type %d is not supported", cn, h.type);
      break;
    }
    if (h.nv < 0 || (uint64_t)h.nv > rows - done) {
      rc = RD_FAIL(r, err, "column '%s': data page of %d values overruns the row group", cn, h.nv);
      break;
    }
    int is_dict = h.enc == TSR__PQE_RLE_DICTIONARY || h.enc == TSR__PQE_PLAIN_DICTIONARY;
    if (h.enc != TSR__PQE_PLAIN && !is_dict) {
      rc = RD_FAIL(r, err, "column '%s': data page encoding %d is not supported (only PLAIN and dictionary)", cn,
                   h.enc);
      break;
    }
    if (col->nullable && h.def_enc != TSR__PQE_RLE) {
      rc = RD_FAIL(r, err, "column '%s': definition level encoding %d is not supported (only RLE)", cn, h.def_enc);
      break;
    }
    /* plain string pages must outlive the read: views point into them */
    rc = page_body(r, ch, is_str && !is_dict, 0, src, (size_t)h.comp, unc, &body, &owned, cn, err);
    if (rc) break;
    size_t nv = (size_t)h.nv, nn = nv, off = 0;
    uint8_t *valid = ovalid + done;
    if (ensure(&r->iscratch, &r->iscratch_cap, (nv ? nv : 1) * sizeof(uint32_t))) {
      rc = tsr_error_set(err, TSR_ENOMEM, r->name, 0, 0, "out of memory");
      break;
    }
    if (col->nullable) {
      uint32_t dl;
      if (unc < 4) {
        rc = RD_FAIL(r, err, "column '%s': page too short for definition levels", cn);
        break;
      }
      memcpy(&dl, body, 4);
      if (dl > unc - 4 || tsr__rle_decode(body + 4, dl, 1, r->iscratch, nv) < 0) {
        rc = RD_FAIL(r, err, "column '%s': malformed definition levels", cn);
        break;
      }
      off = 4 + (size_t)dl;
      nn = 0;
      for (size_t i = 0; i < nv; i++) {
        valid[i] = (uint8_t)r->iscratch[i];
        nn += r->iscratch[i];
      }
    } else {
      memset(valid, 1, nv);
    }
    if (ensure(&r->dense, &r->dense_cap, (nn ? nn : 1) * esz)) {
      rc = tsr_error_set(err, TSR_ENOMEM, r->name, 0, 0, "out of memory");
      break;
    }
    const uint8_t *vp = body + off;
    size_t vlen = unc - off;
    if (!is_dict) {
      if (decode_plain(col->type, vp, vlen, nn, r->dense)) {
        rc = RD_FAIL(r, err, "column '%s': PLAIN values end early", cn);
        break;
      }
    } else {
      if (!dict.have) {
        rc = RD_FAIL(r, err, "column '%s': dictionary-encoded page without a dictionary", cn);
        break;
      }
      if (nn > 0) {
        int bw = vlen ? vp[0] : -1;
        if (bw < 0 || bw > 32 || tsr__rle_decode(vp + 1, vlen - 1, bw, r->iscratch, nn) < 0) {
          rc = RD_FAIL(r, err, "column '%s': malformed dictionary indices", cn);
          break;
        }
        for (size_t i = 0; i < nn && !rc; i++) {
          uint32_t ix = r->iscratch[i];
          if (ix >= dict.n)
            rc = RD_FAIL(r, err, "column '%s': dictionary index %u out of %zu entries", cn, ix, dict.n);
          else
            memcpy(r->dense + i * esz, dict.vals + (size_t)ix * esz, esz);
        }
        if (rc) break;
      }
    }
    uint8_t *dst = ovals + done * esz;
    if (nn == nv) {
      memcpy(dst, r->dense, nv * esz);
    } else {
      const uint8_t *s = r->dense;
      for (size_t i = 0; i < nv; i++) {
        if (valid[i]) {
          memcpy(dst + i * esz, s, esz);
          s += esz;
        }
      }
    }
    done += nv;
  }
  tsr__free(dict.vals);
  tsr__free(dict_owned);
  return rc;
}

void tsr_pq_column_free(tsr_pq_column *c) {
  if (!c) return;
  tsr__free(c->values.any);
  tsr__free(c->valid);
  memset(c, 0, sizeof *c);
}

int tsr_pq_read_column(tsr_pq_reader *r, size_t i, tsr_pq_column *out, tsr_error *err) {
  TSR_RETURN_IF(!out, err, TSR_EINVAL, "parquet: no output column");
  memset(out, 0, sizeof *out);
  TSR_RETURN_IF(!r || i >= r->ncols, err, TSR_EINVAL, "parquet: column %zu out of range", i);
  const rd_col *col = &r->cols[i];
  uint64_t n = (uint64_t)r->num_rows;
  size_t esz = elem_size(col->type);
  out->type = col->type;
  if (n > 0) {
    if (n > SIZE_MAX / esz) return tsr_error_set(err, TSR_ENOMEM, r->name, 0, 0, "out of memory");
    out->values.any = tsr__calloc((size_t)n, esz);
    out->valid = tsr__calloc((size_t)n, 1);
    if (!out->values.any || !out->valid) {
      tsr_pq_column_free(out);
      return tsr_error_set(err, TSR_ENOMEM, r->name, 0, 0, "out of memory");
    }
  }
  uint64_t row = 0;
  for (uint32_t g = 0; g < r->nrg; g++) {
    uint64_t rows = (uint64_t)r->rgs[g].num_rows;
    int rc = rows ? read_chunk(r, i, &r->rgs[g].chunks[i], row, rows, out, err) : 0;
    if (rc) {
      tsr_pq_column_free(out);
      return rc;
    }
    row += rows;
  }
  out->nrows = n;
  uint64_t nulls = 0;
  for (uint64_t k = 0; k < n; k++) nulls += !out->valid[k];
  out->null_count = nulls;
  return 0;
}

int tsr_pq_read_column_by_name(tsr_pq_reader *r, const char *name, tsr_pq_column *out, tsr_error *err) {
  TSR_RETURN_IF(!out, err, TSR_EINVAL, "parquet: no output column");
  memset(out, 0, sizeof *out);
  long i = tsr_pq_reader_find(r, name);
  if (i < 0)
    return tsr_error_set(err, TSR_EINVAL, r ? r->name : NULL, 0, 0, "no column named '%s'", name ? name : "(null)");
  return tsr_pq_read_column(r, (size_t)i, out, err);
}
