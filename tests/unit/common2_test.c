/* Unit tests for the shared helpers of engine/common/ that every stage leans
 * on: the one CSV escaper (RFC 4180 quoting and the spreadsheet-injection
 * rule, defect 10), buffer growth, the thread-count rule ("0 means all
 * cores"), temporary output files (names, clean-up when a commit fails), the
 * arena's block accounting, and the edges of the RNG's integer ranges. The
 * golden values of the RNG and the NHS check live in common_test.c. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/common_internal.h"
#include "common/rng.h"
#include "test_util.h"

/* --- the CSV escaper ------------------------------------------------------------ */

/* One field escaped, as a C string. */
static const char *esc(const char *s, size_t n, char delim, int flags) {
  static char out[256];
  tsr__buf b;
  tsr__buf_init(&b, 0);
  tsr__buf_csv_field(&b, s, n, delim, flags);
  cr_assert(!b.oom);
  cr_assert_lt(b.len, sizeof out);
  if (b.len) memcpy(out, b.p, b.len); /* an empty field leaves the buffer unallocated */
  out[b.len] = '\0';
  tsr__buf_free(&b);
  return out;
}
#define ESC(lit, delim, flags) esc(lit, sizeof lit - 1, delim, flags)

Test(csv_field, rfc4180_quoting) {
  cr_expect_str_eq(ESC("plain", ',', TSR__CSV_PLAIN), "plain");
  cr_expect_str_eq(ESC("", ',', TSR__CSV_PLAIN), "");
  cr_expect_str_eq(ESC("a,b", ',', TSR__CSV_PLAIN), "\"a,b\"");
  cr_expect_str_eq(ESC("say \"hi\"", ',', TSR__CSV_PLAIN), "\"say \"\"hi\"\"\"");
  cr_expect_str_eq(ESC("\"", ',', TSR__CSV_PLAIN), "\"\"\"\"");
  cr_expect_str_eq(ESC("two\nlines", ',', TSR__CSV_PLAIN), "\"two\nlines\"");
  /* a bare CR ends a row for many readers: it is quoted too (the copy of
   * the escaper in the old link_run.c missed it) */
  cr_expect_str_eq(ESC("cr\rhere", ',', TSR__CSV_PLAIN), "\"cr\rhere\"");
  cr_expect_str_eq(ESC("x\r", ',', TSR__CSV_PLAIN), "\"x\r\"");
}

Test(csv_field, the_delimiter_is_the_callers) {
  /* with ';' or TAB as the delimiter, that byte forces quotes and a comma
   * does not */
  cr_expect_str_eq(ESC("a;b", ';', TSR__CSV_PLAIN), "\"a;b\"");
  cr_expect_str_eq(ESC("a,b", ';', TSR__CSV_PLAIN), "a,b");
  cr_expect_str_eq(ESC("a\tb", '\t', TSR__CSV_PLAIN), "\"a\tb\"");
  cr_expect_str_eq(ESC("a,b", '\t', TSR__CSV_PLAIN), "a,b");
}

Test(csv_field, spreadsheet_injection_rule) {
  /* every leading character of the rule, unquoted and quoted */
  static const struct {
    const char *in, *plain, *people;
  } cases[] = {
      {"=1+2", "=1+2", "'=1+2"},
      {"+44 1", "+44 1", "'+44 1"},
      {"-1", "-1", "'-1"},
      {"@SUM(A1)", "@SUM(A1)", "'@SUM(A1)"},
      {"\tx", "\tx", "'\tx"},
      {"=HYPERLINK(\"u\")", "\"=HYPERLINK(\"\"u\"\")\"", "\"'=HYPERLINK(\"\"u\"\")\""},
      {"@a,b", "\"@a,b\"", "\"'@a,b\""},
      {"\t,", "\"\t,\"", "\"'\t,\""},
      /* a leading CR forces the quotes and the apostrophe */
      {"\rcmd", "\"\rcmd\"", "\"'\rcmd\""},
      /* only the first character counts */
      {"a=b", "a=b", "a=b"},
      {"1-2", "1-2", "1-2"},
      {" =x", " =x", " =x"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t n = strlen(cases[i].in);
    cr_expect_str_eq(esc(cases[i].in, n, ',', TSR__CSV_PLAIN), cases[i].plain, "case %zu plain", i);
    cr_expect_str_eq(esc(cases[i].in, n, ',', TSR__CSV_PEOPLE), cases[i].people, "case %zu people", i);
  }
  cr_expect_str_eq(ESC("", ',', TSR__CSV_PEOPLE), "", "an empty field stays empty");
  cr_expect(tsr__csv_is_formula("\r", 1));
  cr_expect(tsr__csv_is_formula("\t", 1));
  cr_expect(!tsr__csv_is_formula("=", 0));
}

Test(buf, one_large_append_grows_enough) {
  tsr__buf b;
  tsr__buf_init(&b, 0);
  tsr__buf_putc(&b, 'x');
  static char big[20000];
  memset(big, 'y', sizeof big);
  tsr__buf_put(&b, big, sizeof big); /* more than twice the first block */
  cr_assert(!b.oom);
  cr_expect_eq(b.len, sizeof big + 1);
  cr_expect_geq(b.cap, b.len, "capacity %zu for %zu bytes", b.cap, b.len);
  cr_expect_eq(b.p[0], 'x');
  cr_expect_eq(b.p[sizeof big], 'y');
  tsr__buf_free(&b);
}

/* --- threads ------------------------------------------------------------------------- */

Test(threads, zero_means_all_cores) {
  /* Criterion runs this in its own child: OpenMP never starts in the runner */
  omp_set_num_threads(3);
  cr_expect_eq(tsr__threads(0), 3, "0 threads is every core OpenMP offers");
  cr_expect_eq(tsr__threads(-1), 3);
  cr_expect_eq(tsr__threads(1), 1);
  cr_expect_eq(tsr__threads(5), 5, "an explicit count is kept, even above the cores");
}

/* --- temporary output files -------------------------------------------------------- */

Test(outfile, every_temporary_name_is_well_formed) {
  char *dir = tsr_test_tmpdir("c2");
  cr_assert_not_null(dir);
  /* 6 letters from 62; a letter outside the alphabet (or its NUL) would
   * show within a few thousand names */
  for (int i = 0; i < 3000; i++) {
    char p[1100];
    tsr_error err;
    cr_assert_eq(tsr__tmp_name(p, sizeof p, dir, "links.csv", &err), 0);
    const char *leaf = strrchr(p, '/') + 1;
    cr_assert_eq(strlen(leaf), strlen(".links.csv.XXXXXX.tmp"), "%s", leaf);
    cr_assert_eq(strncmp(leaf, ".links.csv.", 11), 0, "%s", leaf);
    for (int k = 11; k < 17; k++) {
      char c = leaf[k];
      cr_assert((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'), "%s", leaf);
    }
    cr_assert(tsr__is_tmp_name(leaf), "%s", leaf);
  }
  /* a name in a sub-folder keeps its folder: DIR/sub/.name.XXXXXX.tmp */
  char p[1100];
  cr_assert_eq(tsr__tmp_name(p, sizeof p, "/d", "sub/x.csv", NULL), 0);
  cr_expect_eq(strncmp(p, "/d/sub/.x.csv.", 14), 0, "%s", p);
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

Test(outfile, a_failed_commit_leaves_no_temporary_file) {
  char *dir = tsr_test_tmpdir("c2");
  cr_assert_not_null(dir);
  /* the final name is a non-empty folder: rename() fails */
  char sub[600], inner[700];
  snprintf(sub, sizeof sub, "%s/out.csv", dir);
  cr_assert_eq(mkdir(sub, 0700), 0);
  snprintf(inner, sizeof inner, "%s/keep", sub);
  FILE *f = fopen(inner, "w");
  cr_assert_not_null(f);
  fclose(f);
  tsr__outfile o;
  tsr_error err;
  cr_assert_eq(tsr__outfile_open(&o, dir, "out.csv", &err), 0, "%s", err.msg);
  cr_assert_eq(tsr__outfile_write(&o, "data\n", 5, &err), 0);
  cr_assert_eq(count_entries(dir), 2, "the folder and the temporary file");
  cr_expect_eq(tsr__outfile_commit(&o, &err), TSR_EIO);
  cr_expect(strstr(err.msg, "cannot rename into place") != NULL, "%s", err.msg);
  cr_expect_eq(count_entries(dir), 1, "the temporary file is removed");
  cr_expect_eq(o.fd, -1);
}

/* tsr__write_file writes every byte, under the final name only; tsr__dir_names
 * lists a folder sorted bytewise, with or without a filter. */
static int not_dot(const char *name) { return name[0] != '.'; }

Test(outfile, write_file_and_sorted_folder_names) {
  char *dir = tsr_test_tmpdir("c2");
  cr_assert_not_null(dir);
  tsr_error err;
  static const char body[] = "{\"a\": 1}\n";
  cr_assert_eq(tsr__write_file(dir, "b.json", body, sizeof body - 1, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr__write_file(dir, "A.txt", "", 0, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr__write_file(dir, ".hidden", "x", 1, &err), 0, "%s", err.msg);
  char path[700], got[64];
  snprintf(path, sizeof path, "%s/b.json", dir);
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f);
  size_t n = fread(got, 1, sizeof got, f);
  fclose(f);
  cr_expect_eq(n, sizeof body - 1, "every byte, the final newline too");
  cr_expect_eq(memcmp(got, body, sizeof body - 1), 0);
  tsr__dir_name *names;
  size_t cnt;
  cr_assert_eq(tsr__dir_names(dir, NULL, &names, &cnt, &err), 0, "%s", err.msg);
  cr_assert_eq(cnt, 3, "no temporary file is left, '.' and '..' are not listed");
  cr_expect_str_eq(names[0], ".hidden");
  cr_expect_str_eq(names[1], "A.txt");
  cr_expect_str_eq(names[2], "b.json");
  tsr__free(names);
  cr_assert_eq(tsr__dir_names(dir, not_dot, &names, &cnt, &err), 0, "%s", err.msg);
  cr_assert_eq(cnt, 2);
  cr_expect_str_eq(names[0], "A.txt");
  tsr__free(names);
  cr_expect_eq(tsr__dir_names("/nonexistent_tsr_dir", NULL, &names, &cnt, &err), TSR_EIO);
  cr_expect_null(names);
}

/* --- arena --------------------------------------------------------------------------- */

Test(arena, blocks_are_used_to_the_last_byte) {
  tsr__arena a;
  tsr__arena_init(&a, 4096);
  /* the first block is exactly the block size; allocations that add up to
   * it (alignment 1) all fit */
  for (int i = 0; i < 4; i++) cr_assert_not_null(tsr__arena_alloc(&a, 1024, 1));
  cr_expect_eq(tsr__arena_bytes(&a), 4096u, "four 1 KiB pieces fill one 4 KiB block");
  cr_assert_not_null(tsr__arena_alloc(&a, 1, 1));
  cr_expect_eq(tsr__arena_bytes(&a), 8192u, "the next byte takes a new block");
  tsr__arena_reset(&a);
  cr_expect_eq(tsr__arena_bytes(&a), 4096u, "reset keeps one block");
  tsr__arena_free(&a);
}

Test(arena, default_block_is_one_mib) {
  tsr__arena a;
  tsr__arena_init(&a, 0);
  cr_expect_eq(tsr__arena_bytes(&a), 0u, "nothing reserved before the first allocation");
  cr_assert_not_null(tsr__arena_alloc(&a, 8, 8));
  cr_expect_eq(tsr__arena_bytes(&a), (size_t)1 << 20);
  /* an allocation larger than a block gets a block of its own */
  cr_assert_not_null(tsr__arena_alloc(&a, (size_t)3 << 20, 64));
  cr_expect_eq(tsr__arena_bytes(&a), ((size_t)1 << 20) + ((size_t)3 << 20) + 64);
  tsr__arena_free(&a);
}

/* --- RNG ranges ---------------------------------------------------------------------- */

Test(rng, range_reaches_both_ends) {
  tsr__rng r;
  tsr__rng_init(&r, 11, 3, 5);
  int seen[5] = {0};
  for (int i = 0; i < 3000; i++) {
    int64_t v = tsr__rng_range(&r, -2, 2);
    cr_assert(v >= -2 && v <= 2, "%lld", (long long)v);
    seen[v + 2]++;
  }
  for (int k = 0; k < 5; k++) cr_expect_gt(seen[k], 450, "value %d drawn %d times of 3000", k - 2, seen[k]);
  cr_expect_eq(tsr__rng_range(&r, 7, 7), 7, "a one-value range");
  for (int i = 0; i < 1000; i++) cr_assert_lt(tsr__rng_below(&r, 1), 1u);
}
