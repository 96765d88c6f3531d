/* Unit tests for engine/parquet: Thrift compact protocol, the RLE/bit-packed
 * hybrid, Parquet writer -> reader round trips for every type, encoding
 * choices, determinism across thread counts, and the reader's handling of
 * truncated, corrupted and unsupported files. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "parquet/parquet_internal.h"
#include "parquet/thrift.h"
#include "tessera/parquet.h"
#include "test_util.h"

/* --- helpers --------------------------------------------------------------------- */
static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  cr_assert(f, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)len + 1);
  cr_assert(fread(b, 1, (size_t)len, f) == (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return b;
}

static void path_of(char *out, size_t n, const char *dir, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

/* A table of every type with nulls, deterministic from the row number. */
enum { NCOLS = 6 };
static const char *const g_words[] = {"", "Zoë", "Ōkubo", "Łódź", "北京", "\xF0\x9F\x98\x80 emoji", "plain", "a"};

typedef struct table {
  size_t n;
  uint8_t *b;
  int32_t *i32, *date;
  int64_t *i64;
  double *f64;
  tsr_view *str;
  uint8_t *valid[NCOLS];
  char **owned;
} table;

static void table_make(table *t, size_t n, size_t distinct_strings, int nulls) {
  memset(t, 0, sizeof *t);
  t->n = n;
  t->b = calloc(n + 1, 1);
  t->i32 = calloc(n + 1, 4);
  t->date = calloc(n + 1, 4);
  t->i64 = calloc(n + 1, 8);
  t->f64 = calloc(n + 1, 8);
  t->str = calloc(n + 1, sizeof(tsr_view));
  t->owned = calloc(n + 1, sizeof(char *));
  for (int c = 0; c < NCOLS; c++) t->valid[c] = malloc(n + 1);
  for (size_t i = 0; i < n; i++) {
    t->b[i] = (uint8_t)(i % 3 == 0);
    t->i32[i] = (int32_t)(i * 7919u % 100003u) - 50000;
    t->date[i] = (int32_t)(i % 20000) - 3000;
    t->i64[i] = (int64_t)i * 1000003 - ((int64_t)1 << 40);
    t->f64[i] = (double)i * 0.25 - 100.0;
    size_t k = distinct_strings ? i % distinct_strings : i;
    if (k < 8) {
      t->str[i].ptr = g_words[k];
      t->str[i].len = (uint32_t)strlen(g_words[k]);
    } else {
      char buf[96];
      int len = snprintf(buf, sizeof buf, "name-%zu-Ł", k);
      if (k % 97 == 0) len = snprintf(buf, sizeof buf, "%080zu", k); /* longer than the stats limit */
      t->owned[i] = malloc((size_t)len + 1);
      memcpy(t->owned[i], buf, (size_t)len + 1);
      t->str[i].ptr = t->owned[i];
      t->str[i].len = (uint32_t)len;
    }
    for (int c = 0; c < NCOLS; c++) t->valid[c][i] = nulls ? (uint8_t)((i * 31 + (size_t)c * 7) % 11 != 0) : 1;
  }
}

static void table_free(table *t) {
  for (size_t i = 0; i < t->n; i++) free(t->owned[i]);
  free(t->owned);
  free(t->b);
  free(t->i32);
  free(t->date);
  free(t->i64);
  free(t->f64);
  free(t->str);
  for (int c = 0; c < NCOLS; c++) free(t->valid[c]);
}

static void defs_make(tsr_pq_column_def *d, int nullable, tsr_pq_encoding enc) {
  static const char *const names[NCOLS] = {"flag", "i32", "i64", "score", "name", "dob"};
  static const tsr_pq_type types[NCOLS] = {TSR_PQ_BOOL, TSR_PQ_INT32, TSR_PQ_INT64, TSR_PQ_DOUBLE, TSR_PQ_STRING,
                                           TSR_PQ_DATE};
  for (int c = 0; c < NCOLS; c++) {
    d[c].name = names[c];
    d[c].type = types[c];
    d[c].nullable = nullable;
    d[c].encoding = enc;
  }
}

/* Writes rows [0, n) of t in batches of `batch` rows. */
static int write_table(const char *dir, const char *name, const table *t, int nullable, tsr_pq_encoding enc,
                       const tsr_pq_options *o, size_t batch) {
  tsr_pq_column_def d[NCOLS];
  defs_make(d, nullable, enc);
  tsr_pq_writer *w = NULL;
  tsr_error err;
  int rc = tsr_pq_open(&w, dir, name, d, NCOLS, o, &err);
  cr_assert_eq(rc, 0, "open: %s", err.msg);
  for (size_t at = 0; at < t->n || (t->n == 0 && at == 0); at += batch) {
    size_t k = t->n - at < batch ? t->n - at : batch;
    const void *vals[NCOLS] = {t->b + at, t->i32 + at, t->i64 + at, t->f64 + at, t->str + at, t->date + at};
    tsr_pq_col cols[NCOLS];
    for (int c = 0; c < NCOLS; c++) {
      cols[c].values = vals[c];
      cols[c].valid = nullable ? t->valid[c] + at : NULL;
    }
    rc = tsr_pq_write(w, cols, k, &err);
    cr_assert_eq(rc, 0, "write: %s", err.msg);
    if (t->n == 0) break;
  }
  rc = tsr_pq_close(w, &err);
  cr_assert_eq(rc, 0, "close: %s", err.msg);
  return rc;
}

static void check_table(const char *path, const table *t, int nullable) {
  tsr_pq_reader *r = NULL;
  tsr_error err;
  int rc = tsr_pq_reader_open(path, NULL, &r, &err);
  cr_assert_eq(rc, 0, "reader open: %s: %s", err.file, err.msg);
  cr_assert_eq(tsr_pq_reader_rows(r), t->n);
  cr_assert_eq(tsr_pq_reader_ncols(r), NCOLS);
  tsr_pq_column_def d[NCOLS];
  defs_make(d, nullable, TSR_PQ_ENC_AUTO);
  for (size_t c = 0; c < NCOLS; c++) {
    cr_assert_str_eq(tsr_pq_reader_col_name(r, c), d[c].name);
    cr_assert_eq(tsr_pq_reader_col_type(r, c), d[c].type);
    cr_assert_eq(tsr_pq_reader_col_nullable(r, c), nullable);
    tsr_pq_column col;
    rc = tsr_pq_read_column(r, c, &col, &err);
    cr_assert_eq(rc, 0, "read %s: %s", d[c].name, err.msg);
    cr_assert_eq(col.nrows, t->n);
    cr_assert_eq(col.type, d[c].type);
    uint64_t nulls = 0;
    for (size_t i = 0; i < t->n; i++) {
      int present = nullable ? t->valid[c][i] : 1;
      cr_assert_eq(col.valid[i], present, "col %s row %zu validity", d[c].name, i);
      nulls += !present;
      if (!present) continue;
      switch (c) {
      case 0: cr_assert_eq(col.values.b[i], t->b[i], "bool row %zu", i); break;
      case 1: cr_assert_eq(col.values.i32[i], t->i32[i], "i32 row %zu", i); break;
      case 2: cr_assert_eq(col.values.i64[i], t->i64[i], "i64 row %zu", i); break;
      case 3: cr_assert_eq(col.values.f64[i], t->f64[i], "f64 row %zu", i); break;
      case 4:
        cr_assert_eq(col.values.str[i].len, t->str[i].len, "str len row %zu", i);
        cr_assert(t->str[i].len == 0 || memcmp(col.values.str[i].ptr, t->str[i].ptr, t->str[i].len) == 0,
                  "str row %zu", i);
        break;
      case 5: cr_assert_eq(col.values.i32[i], t->date[i], "date row %zu", i); break;
      }
    }
    cr_assert_eq(col.null_count, nulls);
    tsr_pq_column_free(&col);
  }
  tsr_pq_reader_free(r);
}

/* --- Thrift --------------------------------------------------------------------------- */
typedef struct {
  uint64_t v;
  size_t len;
} varint_case;

ParameterizedTestParameters(thrift, varint) {
  static varint_case cases[] = {{0, 1},          {1, 1},           {127, 1},         {128, 2},
                                {300, 2},        {16383, 2},       {16384, 3},       {(1ull << 32), 5},
                                {(1ull << 63), 10}, {UINT64_MAX, 10}};
  return cr_make_param_array(varint_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(varint_case *c, thrift, varint) {
  uint8_t b[10];
  size_t n = tsr__varint_put(b, c->v);
  cr_assert_eq(n, c->len);
  const uint8_t *p = b;
  uint64_t v = 0;
  cr_assert_eq(tsr__varint_get(&p, b + n, &v), 0);
  cr_assert_eq(v, c->v);
  cr_assert_eq(p, b + n);
  p = b;
  cr_assert_eq(tsr__varint_get(&p, b + n - 1, &v), -1, "truncated varint must fail");
}

Test(thrift, varint_golden_and_overlong) {
  uint8_t b[10];
  cr_assert_eq(tsr__varint_put(b, 300), 2);
  cr_assert_eq(b[0], 0xAC);
  cr_assert_eq(b[1], 0x02);
  uint8_t bad[11];
  memset(bad, 0x80, sizeof bad);
  const uint8_t *p = bad;
  uint64_t v;
  cr_assert_eq(tsr__varint_get(&p, bad + 11, &v), -1);
}

Test(thrift, zigzag) {
  cr_assert_eq(tsr__zigzag64(0), 0u);
  cr_assert_eq(tsr__zigzag64(-1), 1u);
  cr_assert_eq(tsr__zigzag64(1), 2u);
  cr_assert_eq(tsr__zigzag64(-2), 3u);
  cr_assert_eq(tsr__zigzag64(2147483647), 4294967294u);
  cr_assert_eq(tsr__zigzag64(-2147483648LL), 4294967295u);
  int64_t vals[] = {0, 1, -1, 63, -64, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
    cr_assert_eq(tsr__unzigzag64(tsr__zigzag64(vals[i])), vals[i]);
}

Test(thrift, struct_round_trip) {
  tsr__buf b;
  tsr__buf_init(&b, 0);
  tsr__tw w;
  tsr__tw_begin(&w, &b);
  tsr__tw_i32(&w, 1, -5);
  tsr__tw_i64(&w, 2, (int64_t)1 << 40);
  tsr__tw_bool(&w, 3, 1);
  tsr__tw_bool(&w, 4, 0);
  tsr__tw_str(&w, 5, "héllo");
  tsr__tw_struct_begin(&w, 6);
  tsr__tw_i32(&w, 1, 7);
  tsr__tw_struct_end(&w);
  tsr__tw_list_begin(&w, 7, TSR__CT_I32, 20);
  for (int i = 0; i < 20; i++) tsr__tw_elem_i32(&w, i - 10);
  tsr__tw_i32(&w, 40, 99); /* delta > 15: long field header */
  tsr__tw_i32(&w, 41, 100);
  tsr__tw_end(&w);
  cr_assert(!b.oom);
  cr_assert_eq((uint8_t)b.p[0], 0x15, "field 1, delta 1, type i32");

  tsr__tr r;
  tsr__tr_init(&r, b.p, b.len);
  int16_t last = 0, id;
  uint8_t ty;
  int seen = 0;
  while (tsr__tr_field(&r, &last, &id, &ty)) {
    switch (id) {
    case 1: cr_assert_eq(tsr__tr_i32(&r), -5); break;
    case 2: cr_assert_eq(tsr__tr_i64(&r), (int64_t)1 << 40); break;
    case 3: cr_assert_eq(tsr__tr_bool(&r, ty), 1); break;
    case 4: cr_assert_eq(tsr__tr_bool(&r, ty), 0); break;
    case 5: {
      uint32_t n;
      const uint8_t *p = tsr__tr_bin(&r, &n);
      cr_assert_eq(n, strlen("héllo"));
      cr_assert(memcmp(p, "héllo", n) == 0);
      break;
    }
    case 6: tsr__tr_skip(&r, ty); break; /* unknown nested struct is skipped */
    case 7: {
      uint8_t et;
      uint32_t n = tsr__tr_list(&r, &et);
      cr_assert_eq(n, 20);
      cr_assert_eq(et, TSR__CT_I32);
      for (int i = 0; i < 20; i++) cr_assert_eq(tsr__tr_i32(&r), i - 10);
      break;
    }
    case 40: cr_assert_eq(tsr__tr_i32(&r), 99); break;
    case 41: cr_assert_eq(tsr__tr_i32(&r), 100); break;
    default: cr_assert_fail("unexpected field %d", id);
    }
    seen++;
  }
  cr_assert_eq(r.err, 0);
  cr_assert_eq(seen, 9);
  cr_assert_eq(tsr__tr_used(&r, b.p), b.len);

  /* every truncation is an error, never a crash */
  for (size_t cut = 0; cut < b.len; cut++) {
    tsr__tr_init(&r, b.p, cut);
    tsr__tr_skip(&r, TSR__CT_STRUCT);
    cr_assert(r.err, "truncated at %zu must fail", cut);
  }
  tsr__buf_free(&b);
}

Test(thrift, skip_depth_is_limited) {
  uint8_t deep[200];
  for (size_t i = 0; i < sizeof deep; i++) deep[i] = 0x1C; /* field 1, struct, nested forever */
  tsr__tr r;
  tsr__tr_init(&r, deep, sizeof deep);
  tsr__tr_skip(&r, TSR__CT_STRUCT);
  cr_assert(r.err);
}

/* --- RLE / bit-packed hybrid -------------------------------------------------------------- */
static void rle_round_trip(const uint32_t *v, size_t n, int bw) {
  tsr__buf b;
  tsr__buf_init(&b, 0);
  tsr__rle_encode(&b, v, n, bw);
  cr_assert(!b.oom);
  uint32_t *out = calloc(n + 1, sizeof *out);
  long used = tsr__rle_decode((const uint8_t *)b.p, b.len, bw, out, n);
  cr_assert_eq(used, (long)b.len, "bw %d n %zu: consumed %ld of %zu", bw, n, used, b.len);
  for (size_t i = 0; i < n; i++) cr_assert_eq(out[i], v[i], "bw %d n %zu i %zu", bw, n, i);
  if (n > 0) cr_assert_eq(tsr__rle_decode((const uint8_t *)b.p, b.len > 0 ? b.len - 1 : 0, bw, out, n), -1);
  free(out);
  tsr__buf_free(&b);
}

ParameterizedTestParameters(rle, widths) {
  static int w[21];
  for (int i = 0; i <= 20; i++) w[i] = i;
  return cr_make_param_array(int, w, 21);
}

ParameterizedTest(int *bwp, rle, widths) {
  int bw = *bwp;
  uint32_t mask = bw ? (uint32_t)((1ull << bw) - 1) : 0;
  size_t sizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 504, 505, 1000, 5003};
  uint32_t *v = malloc(6000 * sizeof *v);
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    size_t n = sizes[s];
    /* pure literals */
    for (size_t i = 0; i < n; i++) v[i] = (uint32_t)(i * 2654435761u) & mask;
    rle_round_trip(v, n, bw);
    /* pure run */
    for (size_t i = 0; i < n; i++) v[i] = mask;
    rle_round_trip(v, n, bw);
    /* runs of varied length, some not aligned to 8, between literals */
    for (size_t i = 0; i < n; i++) v[i] = ((i / 13) % 3 == 0 ? (uint32_t)(i / 13) : (uint32_t)(i * 7)) & mask;
    rle_round_trip(v, n, bw);
  }
  free(v);
}

Test(rle, bits_and_golden) {
  uint8_t bits[100];
  for (int i = 0; i < 100; i++) bits[i] = (uint8_t)(i < 50 ? 1 : (i % 2));
  tsr__buf b;
  tsr__buf_init(&b, 0);
  tsr__rle_encode_bits(&b, bits, 100);
  uint32_t out[100];
  cr_assert(tsr__rle_decode((const uint8_t *)b.p, b.len, 1, out, 100) > 0);
  for (int i = 0; i < 100; i++) cr_assert_eq(out[i], bits[i]);
  /* a run of 50 ones is the first thing written: header 50 << 1, value 1 */
  cr_assert_eq((uint8_t)b.p[0], 100);
  cr_assert_eq((uint8_t)b.p[1], 1);
  tsr__buf_free(&b);
  /* a value wider than the bit width is rejected */
  uint8_t bad[] = {0x10, 0x05};
  cr_assert_eq(tsr__rle_decode(bad, 2, 2, out, 8), -1);
}

/* --- Writer and reader --------------------------------------------------------------------- */
Test(parquet, round_trip_every_type_with_nulls) {
  char *dir = tsr_test_tmpdir("pq");
  table t;
  table_make(&t, 3000, 0, 1);
  write_table(dir, "t.parquet", &t, 1, TSR_PQ_ENC_AUTO, NULL, 3000);
  char p[512];
  path_of(p, sizeof p, dir, "t.parquet");
  check_table(p, &t, 1);
  table_free(&t);
}

Test(parquet, round_trip_required_uncompressed) {
  char *dir = tsr_test_tmpdir("pq");
  table t;
  table_make(&t, 2500, 0, 0);
  tsr_pq_options o;
  tsr_pq_options_init(&o);
  o.zstd_level = 0;
  write_table(dir, "t.parquet", &t, 0, TSR_PQ_ENC_AUTO, &o, 777);
  char p[512];
  path_of(p, sizeof p, dir, "t.parquet");
  check_table(p, &t, 0);
  table_free(&t);
}

Test(parquet, zero_rows) {
  char *dir = tsr_test_tmpdir("pq");
  table t;
  table_make(&t, 0, 0, 1);
  write_table(dir, "e.parquet", &t, 1, TSR_PQ_ENC_AUTO, NULL, 1);
  char p[512];
  path_of(p, sizeof p, dir, "e.parquet");
  check_table(p, &t, 1);
  tsr_pq_reader *r;
  cr_assert_eq(tsr_pq_reader_open(p, NULL, &r, NULL), 0);
  cr_assert_eq(tsr_pq_reader_row_groups(r), 0);
  tsr_pq_reader_free(r);
  table_free(&t);
}

Test(parquet, many_row_groups_and_pages) {
  char *dir = tsr_test_tmpdir("pq");
  table t;
  table_make(&t, 10007, 50, 1);
  tsr_pq_options o;
  tsr_pq_options_init(&o);
  o.row_group_rows = 1000;
  o.page_bytes = 1024; /* several pages per chunk */
  write_table(dir, "m.parquet", &t, 1, TSR_PQ_ENC_AUTO, &o, 333);
  char p[512];
  path_of(p, sizeof p, dir, "m.parquet");
  check_table(p, &t, 1);
  tsr_pq_reader *r;
  cr_assert_eq(tsr_pq_reader_open(p, NULL, &r, NULL), 0);
  cr_assert_eq(tsr_pq_reader_row_groups(r), 11);
  tsr_pq_reader_free(r);
  table_free(&t);
}

static void write_one(const char *dir, const char *name, tsr_pq_encoding enc, const table *t) {
  tsr_pq_options o;
  tsr_pq_options_init(&o);
  o.row_group_rows = 4000;
  write_table(dir, name, t, 1, enc, &o, 4096);
}

static int same_file(const char *dir, const char *a, const char *b) {
  char pa[512], pb[512];
  path_of(pa, sizeof pa, dir, a);
  path_of(pb, sizeof pb, dir, b);
  size_t na, nb;
  uint8_t *x = slurp(pa, &na), *y = slurp(pb, &nb);
  int same = na == nb && memcmp(x, y, na) == 0;
  free(x);
  free(y);
  return same;
}

Test(parquet, dict_plain_and_auto_choices) {
  char *dir = tsr_test_tmpdir("pq");
  char p[512];
  /* few distinct values: AUTO must pick the dictionary */
  table few;
  table_make(&few, 9000, 20, 1);
  for (size_t i = 0; i < few.n; i++) {
    few.i32[i] %= 7;
    few.i64[i] = (int64_t)(i % 5);
    few.f64[i] = (double)(i % 3);
    few.date[i] %= 11;
  }
  write_one(dir, "few_auto.parquet", TSR_PQ_ENC_AUTO, &few);
  write_one(dir, "few_dict.parquet", TSR_PQ_ENC_DICT, &few);
  write_one(dir, "few_plain.parquet", TSR_PQ_ENC_PLAIN, &few);
  cr_assert(same_file(dir, "few_auto.parquet", "few_dict.parquet"), "AUTO should choose DICT");
  cr_assert(!same_file(dir, "few_auto.parquet", "few_plain.parquet"));
  const char *names[] = {"few_auto.parquet", "few_dict.parquet", "few_plain.parquet"};
  for (int k = 0; k < 3; k++) {
    path_of(p, sizeof p, dir, names[k]);
    check_table(p, &few, 1);
  }
  /* all distinct: AUTO must pick PLAIN; forced DICT still round-trips */
  table many;
  table_make(&many, 9000, 0, 1);
  write_one(dir, "many_auto.parquet", TSR_PQ_ENC_AUTO, &many);
  write_one(dir, "many_dict.parquet", TSR_PQ_ENC_DICT, &many);
  write_one(dir, "many_plain.parquet", TSR_PQ_ENC_PLAIN, &many);
  cr_assert(same_file(dir, "many_auto.parquet", "many_plain.parquet"), "AUTO should choose PLAIN");
  cr_assert(!same_file(dir, "many_auto.parquet", "many_dict.parquet"));
  const char *names2[] = {"many_auto.parquet", "many_dict.parquet", "many_plain.parquet"};
  for (int k = 0; k < 3; k++) {
    path_of(p, sizeof p, dir, names2[k]);
    check_table(p, &many, 1);
  }
  table_free(&few);
  table_free(&many);
}

Test(parquet, unicode_empty_and_all_null) {
  char *dir = tsr_test_tmpdir("pq");
  const char *s[] = {"Zoë", "Ōkubo", "Łódź", "北京", "\xF0\x9F\x98\x80", "", "x"};
  tsr_view v[7];
  uint8_t valid[7] = {1, 1, 1, 1, 1, 1, 0};
  for (int i = 0; i < 7; i++) v[i] = (tsr_view){s[i], (uint32_t)strlen(s[i])};
  int64_t nums[7] = {0};
  uint8_t none[7] = {0};
  tsr_pq_column_def d[2] = {{"s", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO}, {"n", TSR_PQ_INT64, 1, TSR_PQ_ENC_DICT}};
  tsr_pq_writer *w;
  tsr_error err;
  cr_assert_eq(tsr_pq_open(&w, dir, "u.parquet", d, 2, NULL, &err), 0);
  tsr_pq_col cols[2] = {{v, valid}, {nums, none}};
  cr_assert_eq(tsr_pq_write(w, cols, 7, &err), 0);
  cr_assert_eq(tsr_pq_close(w, &err), 0, "%s", err.msg);
  char p[512];
  path_of(p, sizeof p, dir, "u.parquet");
  tsr_pq_reader *r;
  cr_assert_eq(tsr_pq_reader_open(p, NULL, &r, &err), 0, "%s", err.msg);
  tsr_pq_column c;
  cr_assert_eq(tsr_pq_read_column_by_name(r, "s", &c, &err), 0, "%s", err.msg);
  for (int i = 0; i < 6; i++) {
    cr_assert_eq(c.values.str[i].len, strlen(s[i]));
    cr_assert(memcmp(c.values.str[i].ptr ? c.values.str[i].ptr : "", s[i], strlen(s[i])) == 0);
  }
  cr_assert_eq(c.valid[6], 0);
  cr_assert_eq(c.null_count, 1);
  tsr_pq_column_free(&c);
  cr_assert_eq(tsr_pq_read_column_by_name(r, "n", &c, &err), 0, "%s", err.msg);
  cr_assert_eq(c.null_count, 7);
  tsr_pq_column_free(&c);
  cr_assert_eq(tsr_pq_read_column_by_name(r, "nope", &c, &err), TSR_EINVAL);
  tsr_pq_reader_free(r);
}

Test(parquet, footer_metadata_and_options) {
  char *dir = tsr_test_tmpdir("pq");
  tsr_pq_kv kv[2] = {{"tessera.run", "abc"}, {"empty", NULL}};
  tsr_pq_options o;
  tsr_pq_options_init(&o);
  o.kv = kv;
  o.nkv = 2;
  o.created_by = "tessera test";
  tsr_pq_column_def d = {"x", TSR_PQ_INT32, 0, TSR_PQ_ENC_AUTO};
  tsr_pq_writer *w;
  cr_assert_eq(tsr_pq_open(&w, dir, "k.parquet", &d, 1, &o, NULL), 0);
  int32_t x[3] = {1, 2, 3};
  tsr_pq_col c = {x, NULL};
  cr_assert_eq(tsr_pq_write(w, &c, 3, NULL), 0);
  cr_assert_eq(tsr_pq_writer_rows(w), 3);
  cr_assert(tsr_pq_writer_bytes(w) > 0);
  cr_assert_eq(tsr_pq_close(w, NULL), 0);
  char p[512];
  path_of(p, sizeof p, dir, "k.parquet");
  tsr_pq_reader *r;
  cr_assert_eq(tsr_pq_reader_open(p, NULL, &r, NULL), 0);
  cr_assert_str_eq(tsr_pq_reader_created_by(r), "tessera test");
  cr_assert_str_eq(tsr_pq_reader_kv(r, "tessera.run"), "abc");
  cr_assert_null(tsr_pq_reader_kv(r, "empty"));
  cr_assert_null(tsr_pq_reader_kv(r, "missing"));
  cr_assert_eq(tsr_pq_reader_find(r, "x"), 0);
  cr_assert_eq(tsr_pq_reader_find(r, "y"), -1);
  tsr_pq_reader_free(r);
}

Test(parquet, writer_rejects_bad_input) {
  char *dir = tsr_test_tmpdir("pq");
  tsr_error err;
  tsr_pq_writer *w;
  tsr_pq_column_def dup[2] = {{"a", TSR_PQ_INT32, 0, 0}, {"a", TSR_PQ_INT64, 0, 0}};
  cr_assert_eq(tsr_pq_open(&w, dir, "x.parquet", dup, 2, NULL, &err), TSR_EINVAL);
  tsr_pq_column_def d = {"a", TSR_PQ_INT32, 0, TSR_PQ_ENC_AUTO};
  cr_assert_eq(tsr_pq_open(&w, dir, "x.parquet", &d, 1, NULL, &err), 0);
  int32_t v[2] = {1, 2};
  uint8_t valid[2] = {1, 0};
  tsr_pq_col c = {v, valid};
  cr_assert_eq(tsr_pq_write(w, &c, 2, &err), TSR_EINVAL, "null in a required column");
  cr_assert(strstr(err.msg, "required"));
  c.valid = NULL;
  cr_assert_eq(tsr_pq_write(w, &c, 2, &err), 0, "writer stays usable after a rejected batch");
  tsr_pq_abort(w);
  char p[512];
  path_of(p, sizeof p, dir, "x.parquet");
  struct stat st;
  cr_assert_neq(stat(p, &st), 0, "aborted file must not exist");
}

Test(parquet, deterministic_across_thread_counts) {
  char *dir = tsr_test_tmpdir("pq");
  table t;
  table_make(&t, 30000, 100, 1);
  tsr_pq_options o;
  tsr_pq_options_init(&o);
  o.row_group_rows = 8192;
  o.page_bytes = 4096;
  omp_set_num_threads(1);
  write_table(dir, "t1.parquet", &t, 1, TSR_PQ_ENC_AUTO, &o, 5000);
  omp_set_num_threads(2);
  write_table(dir, "t2.parquet", &t, 1, TSR_PQ_ENC_AUTO, &o, 1234);
  cr_assert(same_file(dir, "t1.parquet", "t2.parquet"), "thread count or batch size changed the bytes");
  table_free(&t);
}


/* --- Footer facts, read straight from the Thrift (the reader does not expose
 * statistics) ------------------------------------------------------------------------------- */
typedef struct chunk_meta {
  int found, has_dict_page, enc_dict, has_stats, has_min, has_max;
  int64_t null_count;
  uint8_t min[256], max[256];
  uint32_t min_len, max_len;
} chunk_meta;

static void meta_stats(tsr__tr *r, chunk_meta *m) {
  int16_t last = 0, id;
  uint8_t ty;
  m->has_stats = 1;
  while (tsr__tr_field(r, &last, &id, &ty)) {
    uint32_t len;
    const uint8_t *p;
    if (id == 3 && ty == TSR__CT_I64) m->null_count = tsr__tr_i64(r);
    else if ((id == 5 || id == 6) && ty == TSR__CT_BINARY && (p = tsr__tr_bin(r, &len)) != NULL) {
      cr_assert(len <= sizeof m->min);
      memcpy(id == 5 ? m->max : m->min, p, len);
      *(id == 5 ? &m->max_len : &m->min_len) = len;
      *(id == 5 ? &m->has_max : &m->has_min) = 1;
    } else tsr__tr_skip(r, ty);
  }
}
static void meta_column(tsr__tr *r, chunk_meta *m) {
  int16_t last = 0, id;
  uint8_t ty, et;
  while (tsr__tr_field(r, &last, &id, &ty)) {
    if (id == 2 && ty == TSR__CT_LIST) {
      uint32_t k = tsr__tr_list(r, &et);
      for (uint32_t i = 0; i < k; i++) m->enc_dict |= tsr__tr_i32(r) == TSR__PQE_RLE_DICTIONARY;
    } else if (id == 11) {
      m->has_dict_page = 1;
      tsr__tr_skip(r, ty);
    } else if (id == 12 && ty == TSR__CT_STRUCT) meta_stats(r, m);
    else tsr__tr_skip(r, ty);
  }
}
/* The footer facts of column chunk (rg, col) of the Parquet file in b. */
static chunk_meta footer_chunk(const uint8_t *b, size_t n, size_t rg, size_t col) {
  chunk_meta m;
  memset(&m, 0, sizeof m);
  uint32_t flen;
  cr_assert(n >= 12);
  memcpy(&flen, b + n - 8, 4);
  cr_assert(flen <= n - 12);
  tsr__tr r;
  tsr__tr_init(&r, b + n - 8 - flen, flen);
  int16_t last = 0, id;
  uint8_t ty, et;
  while (tsr__tr_field(&r, &last, &id, &ty)) {
    if (id != 4 || ty != TSR__CT_LIST) {
      tsr__tr_skip(&r, ty);
      continue;
    }
    uint32_t ng = tsr__tr_list(&r, &et);
    for (uint32_t g = 0; g < ng; g++) {
      int16_t l2 = 0, id2;
      uint8_t ty2;
      while (tsr__tr_field(&r, &l2, &id2, &ty2)) {
        if (id2 != 1 || ty2 != TSR__CT_LIST) {
          tsr__tr_skip(&r, ty2);
          continue;
        }
        uint32_t nc = tsr__tr_list(&r, &et);
        for (uint32_t c = 0; c < nc; c++) {
          int16_t l3 = 0, id3;
          uint8_t ty3;
          while (tsr__tr_field(&r, &l3, &id3, &ty3)) {
            if (id3 == 3 && ty3 == TSR__CT_STRUCT && g == rg && c == col) {
              meta_column(&r, &m);
              m.found = 1;
            } else tsr__tr_skip(&r, ty3);
          }
        }
      }
    }
  }
  cr_assert_eq(r.err, 0, "footer walk failed");
  cr_assert(m.found, "no chunk (%zu, %zu) in the footer", rg, col);
  return m;
}
static chunk_meta file_chunk(const char *dir, const char *name, size_t rg, size_t col) {
  char p[512];
  path_of(p, sizeof p, dir, name);
  size_t n;
  uint8_t *b = slurp(p, &n);
  chunk_meta m = footer_chunk(b, n, rg, col);
  free(b);
  return m;
}

/* Row x's value of column c is below row y's (strings: bytewise, shorter
 * first on a common prefix, as Parquet orders BYTE_ARRAY). */
static int less_at(const table *t, size_t c, size_t x, size_t y) {
  switch (c) {
  case 0: return t->b[x] < t->b[y];
  case 1: return t->i32[x] < t->i32[y];
  case 2: return t->i64[x] < t->i64[y];
  case 3: return t->f64[x] < t->f64[y];
  case 5: return t->date[x] < t->date[y];
  default: {
    uint32_t a = t->str[x].len, b = t->str[y].len;
    int r = memcmp(t->str[x].ptr, t->str[y].ptr, a < b ? a : b);
    return r < 0 || (r == 0 && a < b);
  }
  }
}

/* Every chunk's min, max and null count against a scan of the values: a
 * writer that swapped min and max, or counted nulls wrong, fails here and not
 * only in the Node interop tests. */
Test(parquet, statistics_match_the_values) {
  char *dir = tsr_test_tmpdir("pq");
  table t;
  table_make(&t, 1000, 0, 1);
  tsr_pq_options o;
  tsr_pq_options_init(&o);
  o.row_group_rows = 300;
  write_table(dir, "st.parquet", &t, 1, TSR_PQ_ENC_AUTO, &o, 1000);
  char p[512];
  path_of(p, sizeof p, dir, "st.parquet");
  size_t n;
  uint8_t *b = slurp(p, &n);
  int checked_str = 0;
  for (size_t g = 0; g * 300 < t.n; g++) {
    size_t r0 = g * 300, r1 = r0 + 300 < t.n ? r0 + 300 : t.n;
    for (size_t c = 0; c < NCOLS; c++) {
      chunk_meta m = footer_chunk(b, n, g, c);
      int64_t nulls = 0;
      size_t lo = SIZE_MAX, hi = SIZE_MAX; /* rows of the min and max */
      for (size_t i = r0; i < r1; i++) {
        if (!t.valid[c][i]) {
          nulls++;
          continue;
        }
        if (lo == SIZE_MAX) lo = hi = i;
        if (less_at(&t, c, i, lo)) lo = i;
        if (less_at(&t, c, hi, i)) hi = i;
      }
      cr_assert(m.has_stats);
      cr_assert_eq(m.null_count, nulls, "rg %zu col %zu null_count", g, c);
      cr_assert(lo != SIZE_MAX);
      const void *vlo, *vhi;
      uint32_t w;
      switch (c) {
      case 0: vlo = &t.b[lo]; vhi = &t.b[hi]; w = 1; break;
      case 1: vlo = &t.i32[lo]; vhi = &t.i32[hi]; w = 4; break;
      case 2: vlo = &t.i64[lo]; vhi = &t.i64[hi]; w = 8; break;
      case 3: vlo = &t.f64[lo]; vhi = &t.f64[hi]; w = 8; break;
      case 5: vlo = &t.date[lo]; vhi = &t.date[hi]; w = 4; break;
      default: vlo = t.str[lo].ptr; vhi = t.str[hi].ptr; w = 0; break;
      }
      if (c == 4 && (t.str[lo].len > 64 || t.str[hi].len > 64)) {
        cr_assert(!m.has_min && !m.has_max, "rg %zu: over-long string bounds are left out", g);
        continue;
      }
      uint32_t wl = w ? w : t.str[lo].len, wh = w ? w : t.str[hi].len;
      checked_str += c == 4;
      cr_assert(m.has_min && m.has_max, "rg %zu col %zu: min/max missing", g, c);
      cr_assert_eq(m.min_len, wl, "rg %zu col %zu min length", g, c);
      cr_assert_eq(m.max_len, wh, "rg %zu col %zu max length", g, c);
      cr_assert(memcmp(m.min, vlo, wl) == 0, "rg %zu col %zu: min is not the smallest value", g, c);
      cr_assert(memcmp(m.max, vhi, wh) == 0, "rg %zu col %zu: max is not the largest value", g, c);
    }
  }
  cr_assert(checked_str > 0, "no string chunk had its bounds checked");
  free(b);
  table_free(&t);
}

/* The 1 MiB dictionary cap of AUTO (writer.c PQ_AUTO_DICT_BYTES), both edges:
 * 20,000 distinct strings, each twice (so the entry limit, half the values,
 * is never the reason). Dictionary bytes are 4 + length per entry:
 *   length 48: 20,000 * 52 = 1,040,000 <= 1,048,576 -> dictionary
 *   length 49: 20,000 * 53 = 1,060,000 >  1,048,576 -> PLAIN
 * Both read back value for value. */
static void dict_cap_case(const char *dir, const char *name, int len, int expect_dict) {
  enum { DISTINCT = 20000, ROWS = 2 * DISTINCT };
  char *bytes = malloc((size_t)ROWS * 64);
  tsr_view *v = malloc(sizeof *v * ROWS);
  for (int i = 0; i < ROWS; i++) {
    char *s = bytes + (size_t)i * 64;
    snprintf(s, 64, "%0*d", len, i % DISTINCT);
    v[i] = (tsr_view){s, (uint32_t)len};
  }
  tsr_pq_column_def d = {"s", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO};
  tsr_pq_writer *w;
  tsr_error err;
  cr_assert_eq(tsr_pq_open(&w, dir, name, &d, 1, NULL, &err), 0, "%s", err.msg);
  tsr_pq_col col = {v, NULL};
  cr_assert_eq(tsr_pq_write(w, &col, ROWS, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_pq_close(w, &err), 0, "%s", err.msg);
  chunk_meta m = file_chunk(dir, name, 0, 0);
  cr_assert_eq(m.has_dict_page, expect_dict, "%s: dictionary page", name);
  cr_assert_eq(m.enc_dict, expect_dict, "%s: RLE_DICTIONARY in the encodings", name);
  char p[512];
  path_of(p, sizeof p, dir, name);
  tsr_pq_reader *r;
  cr_assert_eq(tsr_pq_reader_open(p, NULL, &r, &err), 0, "%s", err.msg);
  tsr_pq_column c;
  cr_assert_eq(tsr_pq_read_column(r, 0, &c, &err), 0, "%s", err.msg);
  cr_assert_eq(c.nrows, ROWS);
  for (int i = 0; i < ROWS; i++)
    cr_assert(c.values.str[i].len == (uint32_t)len && memcmp(c.values.str[i].ptr, v[i].ptr, (size_t)len) == 0,
              "%s row %d", name, i);
  tsr_pq_column_free(&c);
  tsr_pq_reader_free(r);
  free(v);
  free(bytes);
}

Test(parquet, auto_dictionary_byte_cap_both_edges) {
  char *dir = tsr_test_tmpdir("pq");
  dict_cap_case(dir, "under.parquet", 48, 1);
  dict_cap_case(dir, "over.parquet", 49, 0);
}

/* String bounds up to 64 bytes go into the statistics (writer.c
 * PQ_STAT_MAX), longer ones are left out: both edges, for the max and for the
 * min. */
static chunk_meta str_bounds_case(const char *dir, const char *name, int lo_len, int hi_len) {
  char lo[80], hi[80];
  memset(lo, 'a', (size_t)lo_len);
  memset(hi, 'z', (size_t)hi_len);
  tsr_view v[3] = {{hi, (uint32_t)hi_len}, {"m", 1}, {lo, (uint32_t)lo_len}};
  tsr_pq_column_def d = {"s", TSR_PQ_STRING, 0, TSR_PQ_ENC_PLAIN};
  tsr_pq_writer *w;
  tsr_error err;
  cr_assert_eq(tsr_pq_open(&w, dir, name, &d, 1, NULL, &err), 0, "%s", err.msg);
  tsr_pq_col col = {v, NULL};
  cr_assert_eq(tsr_pq_write(w, &col, 3, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_pq_close(w, &err), 0, "%s", err.msg);
  return file_chunk(dir, name, 0, 0);
}

Test(parquet, string_statistics_bound_at_64_bytes_both_edges) {
  char *dir = tsr_test_tmpdir("pq");
  chunk_meta m = str_bounds_case(dir, "hi64.parquet", 1, 64);
  cr_assert(m.has_min && m.has_max, "a 64-byte max is kept");
  cr_expect_eq(m.max_len, 64u);
  cr_expect(m.max[0] == 'z' && m.max[63] == 'z');
  cr_expect_eq(m.min_len, 1u);
  cr_expect_eq(m.min[0], 'a');
  m = str_bounds_case(dir, "lo64.parquet", 64, 1);
  cr_assert(m.has_min && m.has_max, "a 64-byte min is kept");
  cr_expect_eq(m.min_len, 64u);
  cr_expect_eq(m.max_len, 1u);
  m = str_bounds_case(dir, "hi65.parquet", 1, 65);
  cr_expect(!m.has_min && !m.has_max, "a 65-byte max leaves the bounds out");
  cr_expect_eq(m.null_count, 0);
  m = str_bounds_case(dir, "lo65.parquet", 65, 1);
  cr_expect(!m.has_min && !m.has_max, "a 65-byte min leaves the bounds out");
}

/* --- Reader robustness ------------------------------------------------------------------------ */
static uint8_t *small_file(size_t *n, int zstd) {
  char *dir = tsr_test_tmpdir("pq");
  table t;
  table_make(&t, 300, 10, 1);
  tsr_pq_options o;
  tsr_pq_options_init(&o);
  o.zstd_level = zstd;
  o.row_group_rows = 128;
  write_table(dir, "s.parquet", &t, 1, TSR_PQ_ENC_AUTO, &o, 300);
  table_free(&t);
  char p[512];
  path_of(p, sizeof p, dir, "s.parquet");
  return slurp(p, n);
}

/* Opens buf and reads every column; returns the first error code. */
static int read_all(const uint8_t *buf, size_t n) {
  tsr_pq_reader *r;
  tsr_error err;
  int rc = tsr_pq_reader_open_mem(buf, n, "mem.parquet", NULL, &r, &err);
  if (rc) {
    cr_assert_str_eq(err.file, "mem.parquet", "errors name the file");
    return rc;
  }
  for (size_t c = 0; c < tsr_pq_reader_ncols(r) && !rc; c++) {
    tsr_pq_column col;
    rc = tsr_pq_read_column(r, c, &col, &err);
    if (rc) cr_assert_str_eq(err.file, "mem.parquet");
    tsr_pq_column_free(&col);
  }
  tsr_pq_reader_free(r);
  return rc;
}

Test(reader, rejects_truncated_files) {
  size_t n;
  uint8_t *b = small_file(&n, 1);
  cr_assert_eq(read_all(b, n), 0);
  for (size_t cut = 0; cut < n; cut++) {
    uint8_t *c = malloc(cut + 1);
    memcpy(c, b, cut);
    cr_assert_eq(read_all(c, cut), TSR_EPARSE, "truncated to %zu bytes", cut);
    free(c);
  }
  /* the footer of a truncated file re-attached to its data: chunks run past
   * the data now, into the footer or beyond the end */
  uint32_t flen;
  memcpy(&flen, b + n - 8, 4);
  size_t data_end = n - 8 - flen;
  cr_assert(flen > 0 && data_end > 4 && data_end < n);
  for (size_t cut = 4; cut < data_end; cut++) {
    size_t m = cut + (n - data_end);
    uint8_t *c = malloc(m);
    memcpy(c, b, cut);
    memcpy(c + cut, b + data_end, n - data_end);
    cr_assert_eq(read_all(c, m), TSR_EPARSE, "data cut to %zu of %zu bytes, footer kept", cut, data_end);
    free(c);
  }
  free(b);
}

Test(reader, survives_every_single_byte_corruption) {
  for (int z = 0; z <= 1; z++) {
    size_t n;
    uint8_t *b = small_file(&n, z);
    uint8_t *c = malloc(n);
    for (size_t i = 0; i < n; i++) {
      static const uint8_t flips[] = {0x01, 0x80, 0xFF};
      for (size_t f = 0; f < 3; f++) {
        memcpy(c, b, n);
        c[i] ^= flips[f];
        int rc = read_all(c, n);
        cr_assert(rc == 0 || rc == TSR_EPARSE || rc == TSR_ELIMIT, "byte %zu flip %x: rc %d", i, flips[f], rc);
      }
    }
    free(c);
    free(b);
  }
}

Test(reader, rejects_bad_magic_and_footer_length) {
  size_t n;
  uint8_t *b = small_file(&n, 1);
  b[0] = 'X';
  cr_assert_eq(read_all(b, n), TSR_EPARSE);
  b[0] = 'P';
  uint32_t big = (uint32_t)n;
  memcpy(b + n - 8, &big, 4);
  cr_assert_eq(read_all(b, n), TSR_EPARSE);
  cr_assert_eq(read_all((const uint8_t *)"PAR1PAR1", 8), TSR_EPARSE);
  free(b);
  tsr_pq_reader *r;
  tsr_error err;
  cr_assert_eq(tsr_pq_reader_open("/nonexistent/x.parquet", NULL, &r, &err), TSR_EIO);
}

Test(reader, max_rows_limit) {
  size_t n;
  uint8_t *b = small_file(&n, 1);
  tsr_pq_reader_opts o;
  tsr_pq_reader_opts_init(&o);
  o.max_rows = 100;
  tsr_pq_reader *r;
  tsr_error err;
  cr_assert_eq(tsr_pq_reader_open_mem(b, n, "m", &o, &r, &err), TSR_ELIMIT);
  free(b);
}

/* Hand-built footers for what the writer never produces. */
/* Criterion may run each case in a fresh process: no pointers in params. */
typedef struct {
  char what[16];
  int nested, repeated, codec, phys;
  char expect[16];
} footer_case;

static size_t build_file(uint8_t *out, const footer_case *fc) {
  tsr__buf b;
  tsr__buf_init(&b, 0);
  tsr__buf_put(&b, "PAR1", 4);
  /* one tiny uncompressed data page of 1 INT32 value so ranges are valid */
  size_t data_off = b.len;
  tsr__buf_put(&b, "\0\0\0\0", 4);
  size_t meta_at = b.len;
  tsr__tw w;
  tsr__tw_begin(&w, &b);
  tsr__tw_i32(&w, 1, 1);
  tsr__tw_list_begin(&w, 2, TSR__CT_STRUCT, fc->nested ? 3 : 2);
  tsr__tw_elem_struct_begin(&w);
  tsr__tw_str(&w, 4, "schema");
  tsr__tw_i32(&w, 5, 1);
  tsr__tw_struct_end(&w);
  if (fc->nested) {
    tsr__tw_elem_struct_begin(&w);
    tsr__tw_i32(&w, 3, 1);
    tsr__tw_str(&w, 4, "group");
    tsr__tw_i32(&w, 5, 1);
    tsr__tw_struct_end(&w);
  }
  tsr__tw_elem_struct_begin(&w);
  tsr__tw_i32(&w, 1, fc->phys);
  tsr__tw_i32(&w, 3, fc->repeated ? 2 : 0);
  tsr__tw_str(&w, 4, "x");
  tsr__tw_struct_end(&w);
  tsr__tw_i64(&w, 3, 1);
  tsr__tw_list_begin(&w, 4, TSR__CT_STRUCT, 1);
  tsr__tw_elem_struct_begin(&w);
  tsr__tw_list_begin(&w, 1, TSR__CT_STRUCT, 1);
  tsr__tw_elem_struct_begin(&w);
  tsr__tw_i64(&w, 2, (int64_t)data_off);
  tsr__tw_struct_begin(&w, 3);
  tsr__tw_i32(&w, 1, fc->phys);
  tsr__tw_list_begin(&w, 2, TSR__CT_I32, 1);
  tsr__tw_elem_i32(&w, 0);
  tsr__tw_list_begin(&w, 3, TSR__CT_BINARY, 1);
  tsr__tw_elem_str(&w, "x");
  tsr__tw_i32(&w, 4, fc->codec);
  tsr__tw_i64(&w, 5, 1);
  tsr__tw_i64(&w, 6, 4);
  tsr__tw_i64(&w, 7, 4);
  tsr__tw_i64(&w, 9, (int64_t)data_off);
  tsr__tw_struct_end(&w);
  tsr__tw_struct_end(&w);
  tsr__tw_i64(&w, 2, 4);
  tsr__tw_i64(&w, 3, 1);
  tsr__tw_struct_end(&w);
  tsr__tw_end(&w);
  uint32_t len = (uint32_t)(b.len - meta_at);
  tsr__buf_put(&b, &len, 4);
  tsr__buf_put(&b, "PAR1", 4);
  memcpy(out, b.p, b.len);
  size_t n = b.len;
  tsr__buf_free(&b);
  return n;
}

ParameterizedTestParameters(reader, unsupported) {
  static footer_case cases[] = {
      {"snappy", 0, 0, 1, TSR__PQT_INT32, "SNAPPY"},
      {"gzip", 0, 0, 2, TSR__PQT_INT32, "GZIP"},
      {"nested", 1, 0, 0, TSR__PQT_INT32, "nested"},
      {"repeated", 0, 1, 0, TSR__PQT_INT32, "REPEATED"},
      {"float", 0, 0, 0, TSR__PQT_FLOAT, "FLOAT"},
      {"int96", 0, 0, 0, TSR__PQT_INT96, "INT96"},
  };
  return cr_make_param_array(footer_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(footer_case *fc, reader, unsupported) {
  uint8_t buf[1024];
  size_t n = build_file(buf, fc);
  tsr_pq_reader *r;
  tsr_error err;
  int rc = tsr_pq_reader_open_mem(buf, n, "hand.parquet", NULL, &r, &err);
  cr_assert_eq(rc, TSR_EPARSE, "%s", fc->what);
  cr_assert(strstr(err.msg, fc->expect), "%s: message '%s' should mention %s", fc->what, err.msg, fc->expect);
  cr_assert_str_eq(err.file, "hand.parquet");
}

Test(reader, hand_built_plain_file_reads) {
  footer_case ok = {"ok", 0, 0, 0, TSR__PQT_INT32, ""};
  uint8_t buf[1024];
  size_t n = build_file(buf, &ok);
  tsr_pq_reader *r;
  tsr_error err;
  /* the 4 data bytes are not a page header, so reading the column fails
   * cleanly even though the footer is fine */
  cr_assert_eq(tsr_pq_reader_open_mem(buf, n, "hand.parquet", NULL, &r, &err), 0, "%s", err.msg);
  tsr_pq_column c;
  cr_assert_eq(tsr_pq_read_column(r, 0, &c, &err), TSR_EPARSE);
  tsr_pq_reader_free(r);
}

Test(parquet, double_stats_and_special_values) {
  char *dir = tsr_test_tmpdir("pq");
  double v[6] = {NAN, -0.0, 0.0, INFINITY, -INFINITY, 1.5};
  tsr_pq_column_def d = {"d", TSR_PQ_DOUBLE, 0, TSR_PQ_ENC_PLAIN};
  tsr_pq_writer *w;
  cr_assert_eq(tsr_pq_open(&w, dir, "d.parquet", &d, 1, NULL, NULL), 0);
  tsr_pq_col c = {v, NULL};
  cr_assert_eq(tsr_pq_write(w, &c, 6, NULL), 0);
  cr_assert_eq(tsr_pq_close(w, NULL), 0);
  char p[512];
  path_of(p, sizeof p, dir, "d.parquet");
  tsr_pq_reader *r;
  cr_assert_eq(tsr_pq_reader_open(p, NULL, &r, NULL), 0);
  tsr_pq_column col;
  cr_assert_eq(tsr_pq_read_column(r, 0, &col, NULL), 0);
  cr_assert(isnan(col.values.f64[0]));
  cr_assert(signbit(col.values.f64[1]));
  for (int i = 1; i < 6; i++) cr_assert(memcmp(&col.values.f64[i], &v[i], 8) == 0);
  tsr_pq_column_free(&col);
  tsr_pq_reader_free(r);
  /* statistics: NaN is left out of the order; the bounds are the infinities */
  chunk_meta m = file_chunk(dir, "d.parquet", 0, 0);
  double lo, hi;
  cr_assert(m.has_min && m.has_max && m.min_len == 8 && m.max_len == 8);
  memcpy(&lo, m.min, 8);
  memcpy(&hi, m.max, 8);
  cr_assert(isinf(lo) && lo < 0, "min %g", lo);
  cr_assert(isinf(hi) && hi > 0, "max %g", hi);
  cr_assert_eq(m.null_count, 0);
  /* zeros only: the spec's -0.0 minimum and +0.0 maximum, whichever zero
   * the data holds; NaN alone: no bounds at all */
  static const double zs[2][3] = {{0.0, NAN, 0.0}, {-0.0, -0.0, NAN}};
  for (int k = 0; k < 2; k++) {
    char name[32];
    snprintf(name, sizeof name, "z%d.parquet", k);
    cr_assert_eq(tsr_pq_open(&w, dir, name, &d, 1, NULL, NULL), 0);
    tsr_pq_col cz = {zs[k], NULL};
    cr_assert_eq(tsr_pq_write(w, &cz, 3, NULL), 0);
    cr_assert_eq(tsr_pq_close(w, NULL), 0);
    m = file_chunk(dir, name, 0, 0);
    memcpy(&lo, m.min, 8);
    memcpy(&hi, m.max, 8);
    cr_assert(lo == 0.0 && signbit(lo), "%s: min must be -0.0", name);
    cr_assert(hi == 0.0 && !signbit(hi), "%s: max must be +0.0", name);
  }
  static const double nans[2] = {NAN, NAN};
  cr_assert_eq(tsr_pq_open(&w, dir, "nan.parquet", &d, 1, NULL, NULL), 0);
  tsr_pq_col cn = {nans, NULL};
  cr_assert_eq(tsr_pq_write(w, &cn, 2, NULL), 0);
  cr_assert_eq(tsr_pq_close(w, NULL), 0);
  m = file_chunk(dir, "nan.parquet", 0, 0);
  cr_assert(m.has_stats && !m.has_min && !m.has_max, "NaN only: no bounds");
}

/* A coded string column (tsr_pq_set_codes) writes the same bytes as the same
 * strings given as views: dictionary order, AUTO's choice (few distinct ->
 * dictionary, many distinct -> PLAIN, the byte cap), statistics, nulls, and
 * several row groups. */
static void coded_case(const char *dir, tsr_pq_encoding enc, uint32_t distinct, uint32_t len, int nullable) {
  enum { ROWS = 30000 };
  char *bytes = malloc((size_t)distinct * 64);
  tsr_view *dict = malloc(sizeof *dict * distinct);
  for (uint32_t i = 0; i < distinct; i++) {
    /* text order differs from code order, so min/max come from the texts */
    snprintf(bytes + (size_t)i * 64, 64, "%0*u", (int)len, (i * 7919u) % 100000u);
    dict[i] = (tsr_view){bytes + (size_t)i * 64, len};
  }
  uint32_t *code = malloc(sizeof *code * ROWS);
  tsr_view *view = malloc(sizeof *view * ROWS);
  uint8_t *valid = malloc(ROWS);
  uint64_t s = 12345;
  for (int i = 0; i < ROWS; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    code[i] = (uint32_t)((s >> 33) % distinct) + 1;
    valid[i] = 1;
    if (nullable && (s >> 20) % 5 == 0) {
      code[i] = 0;
      valid[i] = 0;
    }
    view[i] = code[i] ? dict[code[i] - 1] : (tsr_view){NULL, 0};
  }
  tsr_pq_column_def d = {"s", TSR_PQ_STRING, nullable, enc};
  tsr_pq_options o;
  tsr_pq_options_init(&o);
  o.row_group_rows = 7000;
  o.page_bytes = 4096;
  tsr_error err;
  tsr_pq_writer *w;
  cr_assert_eq(tsr_pq_open(&w, dir, "views.parquet", &d, 1, &o, &err), 0, "%s", err.msg);
  for (int r0 = 0; r0 < ROWS; r0 += 4999) {
    size_t m = (size_t)(ROWS - r0 < 4999 ? ROWS - r0 : 4999);
    tsr_pq_col c = {view + r0, nullable ? valid + r0 : NULL};
    cr_assert_eq(tsr_pq_write(w, &c, m, &err), 0, "%s", err.msg);
  }
  cr_assert_eq(tsr_pq_close(w, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_pq_open(&w, dir, "codes.parquet", &d, 1, &o, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_pq_set_codes(w, 0, dict, distinct, &err), 0, "%s", err.msg);
  for (int r0 = 0; r0 < ROWS; r0 += 4999) {
    size_t m = (size_t)(ROWS - r0 < 4999 ? ROWS - r0 : 4999);
    tsr_pq_col c = {code + r0, NULL}; /* code 0 is the null */
    cr_assert_eq(tsr_pq_write(w, &c, m, &err), 0, "%s", err.msg);
  }
  cr_assert_eq(tsr_pq_close(w, &err), 0, "%s", err.msg);
  cr_assert(same_file(dir, "views.parquet", "codes.parquet"), "enc %d distinct %u len %u nullable %d", (int)enc,
            distinct, len, nullable);
  free(bytes);
  free(dict);
  free(code);
  free(view);
  free(valid);
}

Test(parquet, coded_strings_write_the_same_file_as_views) {
  char *dir = tsr_test_tmpdir("pq");
  coded_case(dir, TSR_PQ_ENC_AUTO, 40, 5, 1);    /* dictionary */
  coded_case(dir, TSR_PQ_ENC_AUTO, 20000, 6, 0); /* too many distinct: PLAIN */
  coded_case(dir, TSR_PQ_ENC_AUTO, 3400, 60, 1); /* about half distinct: fallback to PLAIN part-way */
  coded_case(dir, TSR_PQ_ENC_DICT, 20000, 6, 1);
  coded_case(dir, TSR_PQ_ENC_PLAIN, 40, 5, 1);
}

Test(parquet, coded_strings_reject_bad_codes) {
  char *dir = tsr_test_tmpdir("pq");
  tsr_view dict[2] = {{"a", 1}, {"b", 1}};
  tsr_pq_column_def d[2] = {{"s", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO}, {"n", TSR_PQ_INT32, 0, TSR_PQ_ENC_AUTO}};
  tsr_error err;
  tsr_pq_writer *w;
  cr_assert_eq(tsr_pq_open(&w, dir, "bad.parquet", d, 2, NULL, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_pq_set_codes(w, 1, dict, 2, &err), TSR_EINVAL, "an INT32 column takes no codes");
  cr_assert_eq(tsr_pq_set_codes(w, 0, dict, 2, &err), 0, "%s", err.msg);
  uint32_t code[3] = {1, 3, 2};
  int32_t n[3] = {1, 2, 3};
  tsr_pq_col c[2] = {{code, NULL}, {n, NULL}};
  cr_assert_eq(tsr_pq_write(w, c, 3, &err), TSR_EINVAL);
  cr_assert(strstr(err.msg, "past its 2 dictionary entries"), "%s", err.msg);
  code[1] = 0;
  cr_assert_eq(tsr_pq_write(w, c, 3, &err), TSR_EINVAL, "code 0 is a null in a required column");
  cr_assert(strstr(err.msg, "null in required column 's'"), "%s", err.msg);
  code[1] = 2;
  cr_assert_eq(tsr_pq_write(w, c, 3, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_pq_set_codes(w, 0, dict, 2, &err), TSR_EINVAL, "codes after rows");
  cr_assert_eq(tsr_pq_close(w, &err), 0, "%s", err.msg);
}
