/* Writes the Parquet interop cases into the folder given as argv[1]; the
 * DuckDB script tests/interop/parquet_interop.mjs then checks every file.
 * Values are simple functions of the row number, so the script recomputes
 * what it expects instead of reading a copy:
 *   nulls.parquet     every type, OPTIONAL, with nulls (1000 rows)
 *   empty.parquet     every type, 0 rows
 *   multi_rg.parquet  250000 rows in row groups of 50000
 *   dict_plain.parquet  forced DICT, forced PLAIN and AUTO columns
 *   unicode.parquet   non-ASCII and empty strings, uncompressed */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/parquet.h"

static int fail(const char *what, const tsr_error *e) {
  char buf[1200];
  tsr_error_format(e, buf, sizeof buf);
  fprintf(stderr, "pq_cases: %s: %s\n", what, buf);
  return 1;
}

static int write_file(const char *dir, const char *name, const tsr_pq_column_def *defs, size_t ncols,
                      const tsr_pq_col *cols, size_t nrows, const tsr_pq_options *o) {
  tsr_pq_writer *w = NULL;
  tsr_error err;
  tsr_error_clear(&err);
  if (tsr_pq_open(&w, dir, name, defs, ncols, o, &err)) return fail(name, &err);
  /* several batches of uneven size, as a streaming caller would send them */
  size_t at = 0, batch = 777;
  while (at < nrows) {
    size_t k = nrows - at < batch ? nrows - at : batch;
    tsr_pq_col part[8];
    for (size_t c = 0; c < ncols; c++) {
      size_t esz = defs[c].type == TSR_PQ_BOOL ? 1
                   : defs[c].type == TSR_PQ_STRING ? sizeof(tsr_view)
                   : (defs[c].type == TSR_PQ_INT64 || defs[c].type == TSR_PQ_DOUBLE) ? 8 : 4;
      part[c].values = (const char *)cols[c].values + at * esz;
      part[c].valid = cols[c].valid ? cols[c].valid + at : NULL;
    }
    if (tsr_pq_write(w, part, k, &err)) {
      tsr_pq_abort(w);
      return fail(name, &err);
    }
    at += k;
    batch = batch * 3 + 1;
  }
  if (tsr_pq_close(w, &err)) return fail(name, &err);
  return 0;
}

static const tsr_pq_column_def g_all[6] = {
    {"b", TSR_PQ_BOOL, 1, TSR_PQ_ENC_AUTO},   {"i32", TSR_PQ_INT32, 1, TSR_PQ_ENC_AUTO},
    {"i64", TSR_PQ_INT64, 1, TSR_PQ_ENC_AUTO}, {"f64", TSR_PQ_DOUBLE, 1, TSR_PQ_ENC_AUTO},
    {"s", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO},  {"d", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO}};

static int case_nulls(const char *dir, size_t n, const char *name) {
  uint8_t *b = calloc(n + 1, 1), *valid = calloc(6 * (n + 1), 1);
  int32_t *i32 = calloc(n + 1, 4), *d = calloc(n + 1, 4);
  int64_t *i64 = calloc(n + 1, 8);
  double *f64 = calloc(n + 1, 8);
  tsr_view *s = calloc(n + 1, sizeof *s);
  char *text = calloc(n + 1, 16);
  if (!b || !valid || !i32 || !d || !i64 || !f64 || !s || !text) return 1;
  for (size_t i = 0; i < n; i++) {
    b[i] = i % 3 == 0;
    i32[i] = (int32_t)i - 500;
    i64[i] = (int64_t)i * 1000000007;
    f64[i] = (double)i * 0.5;
    int len = snprintf(text + i * 16, 16, "s%zu", i);
    s[i].ptr = text + i * 16;
    s[i].len = (uint32_t)len;
    d[i] = 18000 + (int32_t)i;
    valid[0 * (n + 1) + i] = i % 5 != 0;
    valid[1 * (n + 1) + i] = i % 7 != 0;
    valid[2 * (n + 1) + i] = i % 4 != 1;
    valid[3 * (n + 1) + i] = i % 6 != 2;
    valid[4 * (n + 1) + i] = i % 9 != 0;
    valid[5 * (n + 1) + i] = i % 8 != 3;
  }
  tsr_pq_col cols[6] = {{b, valid}, {i32, valid + (n + 1)}, {i64, valid + 2 * (n + 1)},
                        {f64, valid + 3 * (n + 1)}, {s, valid + 4 * (n + 1)}, {d, valid + 5 * (n + 1)}};
  int rc = write_file(dir, name, g_all, 6, cols, n, NULL);
  free(b), free(valid), free(i32), free(d), free(i64), free(f64), free(s), free(text);
  return rc;
}

static int case_multi_rg(const char *dir) {
  size_t n = 250000;
  int64_t *id = malloc(n * 8);
  int32_t *grp = malloc(n * 4);
  double *val = malloc(n * 8);
  if (!id || !grp || !val) return 1;
  for (size_t i = 0; i < n; i++) {
    id[i] = (int64_t)i;
    grp[i] = (int32_t)(i % 100);
    val[i] = (double)(i % 1000) / 8.0;
  }
  tsr_pq_column_def defs[3] = {{"id", TSR_PQ_INT64, 0, TSR_PQ_ENC_AUTO},
                               {"grp", TSR_PQ_INT32, 0, TSR_PQ_ENC_AUTO},
                               {"val", TSR_PQ_DOUBLE, 0, TSR_PQ_ENC_AUTO}};
  tsr_pq_col cols[3] = {{id, NULL}, {grp, NULL}, {val, NULL}};
  tsr_pq_options o;
  tsr_pq_options_init(&o);
  o.row_group_rows = 50000;
  o.page_bytes = 64 * 1024;
  int rc = write_file(dir, "multi_rg.parquet", defs, 3, cols, n, &o);
  free(id), free(grp), free(val);
  return rc;
}

static int case_dict_plain(const char *dir) {
  size_t n = 20000;
  tsr_view *s = malloc(n * sizeof *s);
  int64_t *few = malloc(n * 8), *uniq = malloc(n * 8);
  static const char *const cats[10] = {"cat0", "cat1", "cat2", "cat3", "cat4",
                                       "cat5", "cat6", "cat7", "cat8", "cat9"};
  if (!s || !few || !uniq) return 1;
  for (size_t i = 0; i < n; i++) {
    s[i].ptr = cats[i % 10];
    s[i].len = 4;
    few[i] = (int64_t)(i % 4) * 10;
    uniq[i] = (int64_t)i * 3;
  }
  tsr_pq_column_def defs[4] = {{"dict_s", TSR_PQ_STRING, 0, TSR_PQ_ENC_DICT},
                               {"plain_s", TSR_PQ_STRING, 0, TSR_PQ_ENC_PLAIN},
                               {"auto_few", TSR_PQ_INT64, 0, TSR_PQ_ENC_AUTO},
                               {"auto_uniq", TSR_PQ_INT64, 0, TSR_PQ_ENC_AUTO}};
  tsr_pq_col cols[4] = {{s, NULL}, {s, NULL}, {few, NULL}, {uniq, NULL}};
  int rc = write_file(dir, "dict_plain.parquet", defs, 4, cols, n, NULL);
  free(s), free(few), free(uniq);
  return rc;
}

static int case_unicode(const char *dir) {
  static const char *const words[] = {"Zoë", "Ōkubo", "Łódź", "北京", "\xF0\x9F\x98\x80\xF0\x9F\x8E\x89", "", "plain"};
  enum { N = 8 };
  tsr_view s[N];
  int32_t row[N];
  uint8_t valid[N];
  for (int i = 0; i < N; i++) {
    const char *w = i < 7 ? words[i] : "";
    s[i].ptr = w;
    s[i].len = (uint32_t)strlen(w);
    row[i] = i;
    valid[i] = i < 7; /* the last row is null, unlike the empty string before it */
  }
  tsr_pq_column_def defs[2] = {{"row", TSR_PQ_INT32, 0, TSR_PQ_ENC_PLAIN}, {"s", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO}};
  tsr_pq_col cols[2] = {{row, NULL}, {s, valid}};
  tsr_pq_options o;
  tsr_pq_options_init(&o);
  o.zstd_level = 0;
  return write_file(dir, "unicode.parquet", defs, 2, cols, N, &o);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: pq_cases FOLDER\n");
    return 2;
  }
  const char *dir = argv[1];
  int rc = case_nulls(dir, 1000, "nulls.parquet");
  rc |= case_nulls(dir, 0, "empty.parquet");
  rc |= case_multi_rg(dir);
  rc |= case_dict_plain(dir);
  rc |= case_unicode(dir);
  if (!rc) printf("pq_cases: wrote 5 files to %s\n", dir);
  return rc ? 1 : 0;
}
