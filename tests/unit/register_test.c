/* Unit tests of the release register (engine/extract/register.h): a clean
 * register verifies and its lines hash as docs/register.md says (checked
 * with an independent recomputation and a pinned head); every kind of
 * tampering fails naming the first bad entry; a damaged register is never
 * extended; 8 forked processes appending at once leave 200 entries that
 * verify; the quarterly report takes both edges of the quarter, escapes CSV
 * and HTML, and refuses a register that does not verify. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common_internal.h"
#include "common/date.h"
#include "extract/register.h"
#include "test_util.h"

/* --- helpers ---------------------------------------------------------------- */

/* 2026-07-01T00:00:00Z, and a whole UTC time from its parts. */
static int64_t utc(int y, int m, int d, int hh, int mm, int ss) {
  return (int64_t)tsr__days_from_ymd(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
}

static json_t *fields_for(const char *ref, int i) {
  json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s,s], s:{s:[s,s]}, s:I, s:I, s:{s:b, s:I, s:I, s:I, s:I},"
                        " s:[{s:s, s:s}], s:s, s:s}",
                        "reference", ref, "recipient", "University of Leeds", "purpose", "Hip fracture outcomes",
                        "legal_basis", "section_251", "data_category", "pseudonymised", "datasets", "hes_apc", "gp",
                        "fields", "hes_apc", "admidate", "diag_01", "patients", (json_int_t)(100 + i), "rows",
                        (json_int_t)(1000 + i), "opt_outs", "applied", 1, "type1_patients", (json_int_t)3,
                        "type1_records", (json_int_t)11, "national_patients", (json_int_t)2, "national_records",
                        (json_int_t)7, "files", "name", "hes_apc.parquet", "sha256",
                        "1111111111111111111111111111111111111111111111111111111111111111", "run_manifest_sha256",
                        "2222222222222222222222222222222222222222222222222222222222222222", "tessera_version", "0.1.0");
  cr_assert_not_null(f);
  return f;
}

/* A register path in a new scratch folder (each call its own string). */
static char *reg_path(const char *tag) {
  char *d = tsr_test_tmpdir(tag);
  cr_assert_not_null(d);
  char *p = malloc(300);
  snprintf(p, 300, "%s/release_register.jsonl", d);
  return p;
}

/* Appends n entries of DARS-NIC-000001, an hour apart from t0. */
static void append_n(const char *path, int n, int64_t t0) {
  for (int i = 1; i <= n; i++) {
    json_t *f = fields_for("DARS-NIC-000001", i);
    char id[TSR__RELEASE_ID_CAP];
    tsr_error err;
    tsr_error_clear(&err);
    int rc = tsr__register_append_at(path, f, t0 + (i - 1) * 3600, id, sizeof id, &err);
    json_decref(f);
    cr_assert_eq(rc, 0, "append %d: %s", i, err.msg);
  }
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
  b[n] = '\0';
  fclose(f);
  if (len) *len = (size_t)n;
  return b;
}

static void spit(const char *path, const char *s, size_t n) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  cr_assert_eq(fwrite(s, 1, n, f), n);
  fclose(f);
}

/* The register's lines (without newlines); lines[i] is line i+1. */
typedef struct {
  char *l[64];
  int n;
} lines_t;
static lines_t read_lines(const char *path) {
  lines_t L = {{0}, 0};
  char *b = slurp(path, NULL);
  char *save = NULL;
  for (char *t = strtok_r(b, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) L.l[L.n++] = strdup(t);
  free(b);
  return L;
}
static void write_lines(const char *path, const lines_t *L) {
  FILE *f = fopen(path, "wb");
  for (int i = 0; i < L->n; i++) fprintf(f, "%s\n", L->l[i]);
  fclose(f);
}

/* Verifies and expects TSR_EPARSE at line `line` with each needle in the message. */
static void expect_bad(const char *path, uint64_t line, const char *n1, const char *n2) {
  tsr_error err;
  tsr_error_clear(&err);
  uint64_t n = 99;
  int rc = tsr__register_verify(path, &n, &err);
  cr_assert_eq(rc, TSR_EPARSE, "rc %d: %s", rc, err.msg);
  cr_expect_eq(err.line, line, "line %llu, expected %llu: %s", (unsigned long long)err.line,
               (unsigned long long)line, err.msg);
  cr_expect_str_eq(err.file, path);
  if (n1) cr_expect(strstr(err.msg, n1) != NULL, "'%s' not in: %s", n1, err.msg);
  if (n2) cr_expect(strstr(err.msg, n2) != NULL, "'%s' not in: %s", n2, err.msg);
}

/* SHA-256 hex of the line with its "sha256" member taken out: the hash
 * recomputed without the register's code, as docs/register.md tells a reader. */
static void line_hash(const char *line, char hex[65], char stored[65]) {
  const char *seq = strstr(line, ",\"seq\":"); /* the entry's own sha256 sorts right after seq */
  cr_assert_not_null(seq);
  const char *k = strstr(seq, ",\"sha256\":\"");
  cr_assert_not_null(k);
  memcpy(stored, k + 11, 64);
  stored[64] = '\0';
  size_t cut = 11 + 64 + 1;
  size_t n = strlen(line);
  char *body = malloc(n);
  size_t pre = (size_t)(k - line);
  memcpy(body, line, pre);
  memcpy(body + pre, k + cut, n - pre - cut);
  unsigned char h[32];
  crypto_hash_sha256(h, (const unsigned char *)body, n - cut);
  free(body);
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", h[i]);
}

/* Rewrites line i (0-based) after changing it with fn, re-hashed as the
 * register would: an edit that keeps the entry self-consistent. */
static void rehash_line(lines_t *L, int i, void (*fn)(json_t *)) {
  json_t *e = json_loads(L->l[i], 0, NULL);
  cr_assert_not_null(e);
  fn(e);
  json_object_del(e, "sha256");
  char *body = json_dumps(e, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
  unsigned char h[32];
  char hex[65];
  crypto_hash_sha256(h, (const unsigned char *)body, strlen(body));
  for (int k = 0; k < 32; k++) snprintf(hex + 2 * k, 3, "%02x", h[k]);
  free(body);
  json_object_set_new(e, "sha256", json_string(hex));
  free(L->l[i]);
  L->l[i] = json_dumps(e, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
  json_decref(e);
}

static const int64_t T0 = 1782864000; /* 2026-07-01T00:00:00Z */

/* --- a clean register ---------------------------------------------------------- */

Test(register, clean_verifies_and_hashes_as_documented) {
  cr_assert_eq(utc(2026, 7, 1, 0, 0, 0), T0);
  const char *p = reg_path("reg");
  append_n(p, 5, T0);
  uint64_t n = 0;
  char head[65];
  tsr_error err;
  tsr_error_clear(&err);
  cr_assert_eq(tsr__register_verify_head(p, &n, head, &err), 0, "%s", err.msg);
  cr_assert_eq(n, 5);
  lines_t L = read_lines(p);
  cr_assert_eq(L.n, 5);
  char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";
  for (int i = 0; i < 5; i++) {
    char want[65], stored[65], needle[200];
    line_hash(L.l[i], want, stored);
    cr_expect_str_eq(stored, want, "line %d", i + 1);
    snprintf(needle, sizeof needle, "\"prev_sha256\":\"%s\"", prev);
    cr_expect(strstr(L.l[i], needle) != NULL, "line %d chain", i + 1);
    snprintf(needle, sizeof needle, "\"release_id\":\"DARS-NIC-000001-%06d\",\"rows\":%d,\"run_manifest_sha256\"", i + 1,
             1001 + i);
    cr_expect(strstr(L.l[i], needle) != NULL, "line %d: %s", i + 1, L.l[i]);
    snprintf(needle, sizeof needle, "\"seq\":%d,\"sha256\"", i + 1);
    cr_expect(strstr(L.l[i], needle) != NULL, "line %d seq", i + 1);
    memcpy(prev, stored, 65);
  }
  cr_expect_str_eq(head, prev);
  cr_expect(strstr(L.l[0], "\"time\":\"2026-07-01T00:00:00Z\"") != NULL);
  cr_expect(strstr(L.l[4], "\"time\":\"2026-07-01T04:00:00Z\"") != NULL);
  static const char first[] = "{\"data_category\":\"pseudonymised\",\"datasets\":[\"hes_apc\",\"gp\"],";
  cr_expect(strncmp(L.l[0], first, sizeof first - 1) == 0, "%s", L.l[0]);
  /* pinned: any change to the serialisation or the hash input shows here */
  cr_expect_str_eq(head, "53ae1f61635a8e96d12ad49a4a3e6a946ed703cf005e02abb49b3052de830ab0");
}

Test(register, empty_and_missing) {
  const char *p = reg_path("reg");
  spit(p, "", 0);
  uint64_t n = 7;
  char head[65];
  cr_assert_eq(tsr__register_verify_head(p, &n, head, NULL), 0);
  cr_expect_eq(n, 0);
  cr_expect_str_eq(head, "0000000000000000000000000000000000000000000000000000000000000000");
  tsr_error err;
  tsr_error_clear(&err);
  cr_expect_eq(tsr__register_verify("/nonexistent/register.jsonl", &n, &err), TSR_EIO);
  cr_expect(strstr(err.file, "/nonexistent/register.jsonl") != NULL);
}

Test(register, new_file_mode_0644) {
  umask(0);
  const char *p = reg_path("reg");
  append_n(p, 1, T0);
  struct stat sb;
  cr_assert_eq(stat(p, &sb), 0);
  cr_expect_eq(sb.st_mode & 07777, 0644, "mode %o", sb.st_mode & 07777);
}

Test(register, release_ids_per_reference) {
  const char *p = reg_path("reg");
  char id[TSR__RELEASE_ID_CAP];
  json_t *a = fields_for("DARS-NIC-000001", 1), *b = fields_for("DARS-NIC-000777", 2);
  cr_assert_eq(tsr__register_append_at(p, a, T0, id, sizeof id, NULL), 0);
  cr_expect_str_eq(id, "DARS-NIC-000001-000001");
  cr_assert_eq(tsr__register_append_at(p, b, T0, id, sizeof id, NULL), 0);
  cr_expect_str_eq(id, "DARS-NIC-000777-000002"); /* seq counts the register, not the agreement */
  /* a reference too long for the caller's buffer: refused, nothing written */
  char small[20];
  tsr_error err;
  tsr_error_clear(&err);
  cr_expect_eq(tsr__register_append_at(p, a, T0, small, sizeof small, &err), TSR_ELIMIT);
  uint64_t n;
  cr_assert_eq(tsr__register_verify(p, &n, NULL), 0);
  cr_expect_eq(n, 2);
  json_decref(a);
  json_decref(b);
}

Test(register, caller_fields_checked) {
  const char *p = reg_path("reg");
  char id[TSR__RELEASE_ID_CAP];
  tsr_error err;
  static const char *const own[] = {"seq", "release_id", "time", "prev_sha256", "sha256"};
  for (size_t k = 0; k < 5; k++) {
    json_t *f = fields_for("DARS-NIC-000001", 1);
    json_object_set_new(f, own[k], json_string("x"));
    tsr_error_clear(&err);
    cr_expect_eq(tsr__register_append_at(p, f, T0, id, sizeof id, &err), TSR_EINVAL, "%s", own[k]);
    cr_expect(strstr(err.msg, own[k]) != NULL, "%s", err.msg);
    json_decref(f);
  }
  json_t *f = fields_for("DARS-NIC-000001", 1);
  json_object_del(f, "reference");
  cr_expect_eq(tsr__register_append_at(p, f, T0, id, sizeof id, &err), TSR_EINVAL);
  json_object_set_new(f, "reference", json_string(""));
  cr_expect_eq(tsr__register_append_at(p, f, T0, id, sizeof id, &err), TSR_EINVAL);
  json_object_set_new(f, "reference", json_string("DARS\n1"));
  cr_expect_eq(tsr__register_append_at(p, f, T0, id, sizeof id, &err), TSR_EINVAL);
  json_object_set_new(f, "reference", json_string("DARS-NIC-000001"));
  json_object_set_new(json_object_get(f, "opt_outs"), "share", json_real(0.25));
  tsr_error_clear(&err);
  cr_expect_eq(tsr__register_append_at(p, f, T0, id, sizeof id, &err), TSR_EINVAL);
  cr_expect(strstr(err.msg, "\"opt_outs\" holds a real number") != NULL, "%s", err.msg);
  cr_expect_eq(tsr__register_append_at(p, json_array(), T0, id, sizeof id, &err), TSR_EINVAL);
  json_decref(f);
  cr_expect_eq(access(p, F_OK), -1, "nothing refused may create the register");
}

/* --- tampering ------------------------------------------------------------------- */

Test(tamper, edit_a_field_value) {
  const char *p = reg_path("reg");
  append_n(p, 5, T0);
  lines_t L = read_lines(p);
  char *k = strstr(L.l[2], "\"patients\":103");
  cr_assert_not_null(k);
  k[13] = '4';
  write_lines(p, &L);
  expect_bad(p, 3, "seq 3, release_id DARS-NIC-000001-000003", "sha256 does not match");
}

/* Whitespace between tokens breaks the canonical form (each line must be
 * exactly the canonical serialisation); whitespace inside a string is data
 * and breaks the hash. Both are tampering. */
Test(tamper, whitespace_between_tokens) {
  const char *p = reg_path("reg");
  append_n(p, 5, T0);
  lines_t L = read_lines(p);
  char *k = strstr(L.l[1], "\"patients\":");
  cr_assert_not_null(k);
  char buf[4096];
  size_t pre = (size_t)(k - L.l[1]) + 11;
  snprintf(buf, sizeof buf, "%.*s %s", (int)pre, L.l[1], L.l[1] + pre);
  free(L.l[1]);
  L.l[1] = strdup(buf);
  write_lines(p, &L);
  expect_bad(p, 2, "release_id DARS-NIC-000001-000002", "not in canonical form");
}

Test(tamper, whitespace_inside_a_value) {
  const char *p = reg_path("reg");
  append_n(p, 5, T0);
  lines_t L = read_lines(p);
  char *k = strstr(L.l[1], "Hip fracture");
  cr_assert_not_null(k);
  char buf[4096];
  size_t pre = (size_t)(k - L.l[1]) + 3;
  snprintf(buf, sizeof buf, "%.*s %s", (int)pre, L.l[1], L.l[1] + pre);
  free(L.l[1]);
  L.l[1] = strdup(buf);
  write_lines(p, &L);
  expect_bad(p, 2, "release_id DARS-NIC-000001-000002", "sha256 does not match");
}

Test(tamper, trailing_space_and_crlf) {
  const char *p = reg_path("reg");
  append_n(p, 3, T0);
  size_t n;
  char *b = slurp(p, &n);
  char *nl = strchr(b, '\n');
  char *c = malloc(n + 2);
  size_t pre = (size_t)(nl - b);
  memcpy(c, b, pre);
  c[pre] = '\r';
  memcpy(c + pre + 1, nl, n - pre);
  spit(p, c, n + 1);
  expect_bad(p, 1, "release_id DARS-NIC-000001-000001", "not in canonical form");
  free(b);
  free(c);
}

Test(tamper, delete_a_middle_line) {
  const char *p = reg_path("reg");
  append_n(p, 5, T0);
  lines_t L = read_lines(p);
  for (int i = 2; i < 4; i++) L.l[i] = L.l[i + 1];
  L.n = 4;
  write_lines(p, &L);
  expect_bad(p, 3, "seq 4, release_id DARS-NIC-000001-000004", "seq 4 on line 3 (after release_id DARS-NIC-000001-000002): an entry before it was deleted");
}

Test(tamper, delete_the_first_line) {
  const char *p = reg_path("reg");
  append_n(p, 5, T0);
  lines_t L = read_lines(p);
  for (int i = 0; i < 4; i++) L.l[i] = L.l[i + 1];
  L.n = 4;
  write_lines(p, &L);
  expect_bad(p, 1, "release_id DARS-NIC-000001-000002", "seq 2 on line 1 (the first entry)");
}

Test(tamper, delete_the_last_line_is_caught_by_the_head) {
  /* dropping whole entries from the end leaves a valid shorter chain: only
   * the published head (and count) tell; verify prints both */
  const char *p = reg_path("reg");
  append_n(p, 5, T0);
  char head5[65], head4[65];
  uint64_t n;
  cr_assert_eq(tsr__register_verify_head(p, &n, head5, NULL), 0);
  lines_t L = read_lines(p);
  L.n = 4;
  write_lines(p, &L);
  cr_assert_eq(tsr__register_verify_head(p, &n, head4, NULL), 0);
  cr_expect_eq(n, 4);
  cr_expect_str_neq(head4, head5);
}

Test(tamper, insert_a_copied_line) {
  const char *p = reg_path("reg");
  append_n(p, 5, T0);
  lines_t L = read_lines(p);
  L.l[5] = L.l[4];
  L.l[4] = L.l[1]; /* a copy of line 2 put before line 5 */
  L.n = 6;
  write_lines(p, &L);
  expect_bad(p, 5, "seq 2, release_id DARS-NIC-000001-000002", "an entry was inserted before it");
}

Test(tamper, duplicate_the_last_line) {
  const char *p = reg_path("reg");
  append_n(p, 3, T0);
  lines_t L = read_lines(p);
  L.l[3] = L.l[2];
  L.n = 4;
  write_lines(p, &L);
  expect_bad(p, 4, "seq 3, release_id DARS-NIC-000001-000003", "seq 3 on line 4");
}

Test(tamper, swap_two_lines) {
  const char *p = reg_path("reg");
  append_n(p, 5, T0);
  lines_t L = read_lines(p);
  char *t = L.l[1];
  L.l[1] = L.l[3];
  L.l[3] = t;
  write_lines(p, &L);
  expect_bad(p, 2, "seq 4, release_id DARS-NIC-000001-000004", "reordered");
}

Test(tamper, swap_adjacent_lines) {
  const char *p = reg_path("reg");
  append_n(p, 5, T0);
  lines_t L = read_lines(p);
  char *t = L.l[3];
  L.l[3] = L.l[4];
  L.l[4] = t;
  write_lines(p, &L);
  expect_bad(p, 4, "seq 5, release_id DARS-NIC-000001-000005", "reordered");
}

Test(tamper, truncate_the_last_line) {
  const char *p = reg_path("reg");
  append_n(p, 5, T0);
  size_t n;
  char *b = slurp(p, &n);
  spit(p, b, n - 40);
  expect_bad(p, 5, "expected seq 5, after release_id DARS-NIC-000001-000004", "no final newline and is not a whole JSON object");
  free(b);
}

Test(tamper, missing_final_newline_only) {
  const char *p = reg_path("reg");
  append_n(p, 5, T0);
  size_t n;
  char *b = slurp(p, &n);
  spit(p, b, n - 1);
  expect_bad(p, 5, "seq 5, release_id DARS-NIC-000001-000005", "the last line has no final newline:");
  free(b);
}

Test(tamper, append_garbage) {
  const char *p = reg_path("reg");
  append_n(p, 5, T0);
  FILE *f = fopen(p, "ab");
  fputs("hello\n", f);
  fclose(f);
  expect_bad(p, 6, "expected seq 6, after release_id DARS-NIC-000001-000005", "not JSON");
}

Test(tamper, blank_line) {
  const char *p = reg_path("reg");
  append_n(p, 3, T0);
  FILE *f = fopen(p, "ab");
  fputs("\n", f);
  fclose(f);
  expect_bad(p, 4, "expected seq 4", "an empty line");
}

static void edit_patients(json_t *e) { json_object_set_new(e, "patients", json_integer(5)); }
static void edit_reference(json_t *e) { json_object_set_new(e, "reference", json_string("DARS-NIC-999999")); }
static void edit_time(json_t *e) { json_object_set_new(e, "time", json_string("2026-02-30T00:00:00Z")); }
static void drop_time(json_t *e) { json_object_del(e, "time"); }
static void leap_second(json_t *e) { json_object_set_new(e, "time", json_string("2026-06-30T23:59:60Z")); }
static void hour_24(json_t *e) { json_object_set_new(e, "time", json_string("2026-06-30T24:00:00Z")); }
static void nonzero_prev(json_t *e) {
  json_object_set_new(e, "prev_sha256", json_string("1111111111111111111111111111111111111111111111111111111111111111"));
}
static void edit_seq(json_t *e) { json_object_set_new(e, "seq", json_integer(2)); }

Test(tamper, edited_and_rehashed_breaks_the_next_link) {
  const char *p = reg_path("reg");
  append_n(p, 5, T0);
  lines_t L = read_lines(p);
  rehash_line(&L, 2, edit_patients);
  write_lines(p, &L);
  expect_bad(p, 4, "release_id DARS-NIC-000001-000004",
             "prev_sha256 does not match the sha256 of line 3 (release_id DARS-NIC-000001-000003)");
}

Test(tamper, rehashed_first_entry_with_a_new_reference) {
  const char *p = reg_path("reg");
  append_n(p, 3, T0);
  lines_t L = read_lines(p);
  rehash_line(&L, 0, edit_reference);
  write_lines(p, &L);
  expect_bad(p, 1, "release_id DARS-NIC-000001-000001", "release_id is not reference-seq (expected DARS-NIC-999999-000001)");
}

Test(tamper, rehashed_bad_time_and_missing_key) {
  const char *p = reg_path("reg");
  append_n(p, 3, T0);
  lines_t L = read_lines(p);
  rehash_line(&L, 1, edit_time);
  write_lines(p, &L);
  expect_bad(p, 2, "release_id DARS-NIC-000001-000002", "\"time\" is '2026-02-30T00:00:00Z'");
  L = read_lines(p);
  rehash_line(&L, 1, drop_time);
  write_lines(p, &L);
  expect_bad(p, 2, "release_id DARS-NIC-000001-000002", "no \"time\"");
}

Test(tamper, rehashed_times_out_of_range) {
  const char *p = reg_path("reg");
  append_n(p, 2, T0);
  lines_t L = read_lines(p);
  rehash_line(&L, 1, leap_second);
  write_lines(p, &L);
  expect_bad(p, 2, "release_id DARS-NIC-000001-000002", "\"time\" is '2026-06-30T23:59:60Z'");
  L = read_lines(p);
  rehash_line(&L, 1, hour_24);
  write_lines(p, &L);
  expect_bad(p, 2, "release_id DARS-NIC-000001-000002", "\"time\" is '2026-06-30T24:00:00Z'");
}

Test(tamper, rehashed_first_entry_with_a_predecessor) {
  /* the first entries removed and the new first one re-hashed onto nothing */
  const char *p = reg_path("reg");
  append_n(p, 2, T0);
  lines_t L = read_lines(p);
  rehash_line(&L, 0, nonzero_prev);
  write_lines(p, &L);
  expect_bad(p, 1, "release_id DARS-NIC-000001-000001", "prev_sha256 of the first entry is not 64 zeros");
}

Test(tamper, rehashed_seq) {
  const char *p = reg_path("reg");
  append_n(p, 3, T0);
  lines_t L = read_lines(p);
  rehash_line(&L, 2, edit_seq); /* line 3 claims seq 2 */
  write_lines(p, &L);
  expect_bad(p, 3, "seq 2, release_id DARS-NIC-000001-000003", "seq 2 on line 3");
}

Test(tamper, damaged_register_is_never_extended) {
  const char *p = reg_path("reg");
  append_n(p, 4, T0);
  lines_t L = read_lines(p);
  char *k = strstr(L.l[1], "\"rows\":1002");
  cr_assert_not_null(k);
  k[10] = '9';
  write_lines(p, &L);
  size_t n0, n1;
  char *before = slurp(p, &n0);
  json_t *f = fields_for("DARS-NIC-000001", 9);
  char id[TSR__RELEASE_ID_CAP];
  tsr_error err;
  tsr_error_clear(&err);
  cr_assert_eq(tsr__register_append_at(p, f, T0, id, sizeof id, &err), TSR_EPARSE);
  cr_expect_eq(err.line, 2);
  cr_expect(strstr(err.msg, "release_id DARS-NIC-000001-000002") && strstr(err.msg, "nothing appended"), "%s", err.msg);
  char *after = slurp(p, &n1);
  cr_expect(n0 == n1 && memcmp(before, after, n0) == 0, "the register changed");
  /* a cut-short last line refuses appends too */
  const char *q = reg_path("reg3");
  append_n(q, 2, T0);
  char *b = slurp(q, &n0);
  spit(q, b, n0 - 1);
  tsr_error_clear(&err);
  cr_expect_eq(tsr__register_append_at(q, f, T0, id, sizeof id, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "no final newline") != NULL, "%s", err.msg);
  json_decref(f);
  free(before);
  free(after);
  free(b);
}

/* --- concurrent appends ---------------------------------------------------------- */

Test(register, concurrent_forked_appenders) {
  const char *p = reg_path("reg");
  enum { PROCS = 8, EACH = 25 };
  pid_t pid[PROCS];
  for (int k = 0; k < PROCS; k++) {
    pid[k] = fork();
    cr_assert_neq(pid[k], -1);
    if (pid[k] == 0) {
      char ref[32];
      snprintf(ref, sizeof ref, "DARS-NIC-00000%d", k);
      for (int i = 0; i < EACH; i++) {
        json_t *f = fields_for(ref, i);
        char id[TSR__RELEASE_ID_CAP];
        if (tsr__register_append(p, f, id, sizeof id, NULL)) _exit(1);
        json_decref(f);
      }
      _exit(0);
    }
  }
  for (int k = 0; k < PROCS; k++) {
    int st = 0;
    cr_assert_eq(waitpid(pid[k], &st, 0), pid[k]);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "appender %d failed", k);
  }
  uint64_t n = 0;
  tsr_error err;
  tsr_error_clear(&err);
  cr_assert_eq(tsr__register_verify(p, &n, &err), 0, "%s", err.msg);
  cr_expect_eq(n, PROCS * EACH);
  /* each process's 25 entries all landed */
  char *b = slurp(p, NULL);
  int per[PROCS] = {0};
  for (char *s = strstr(b, "\"reference\":\"DARS-NIC-00000"); s; s = strstr(s + 1, "\"reference\":\"DARS-NIC-00000"))
    per[s[27] - '0']++;
  for (int k = 0; k < PROCS; k++) cr_expect_eq(per[k], EACH, "process %d: %d entries", k, per[k]);
  free(b);
}

/* --- the quarterly report ---------------------------------------------------------- */

struct qcase {
  char q[12]; /* inline: the parameters are copied into the test process */
  int ok, year, quarter;
};
ParameterizedTestParameters(quarter, parse) {
  static struct qcase c[] = {{"2026Q3", 1, 2026, 3}, {"2026Q1", 1, 2026, 1}, {"1970Q4", 1, 1970, 4},
                             {"2026Q0", 0, 0, 0},    {"2026Q5", 0, 0, 0},    {"2026q3", 0, 0, 0},
                             {"26Q3", 0, 0, 0},      {"2026Q3 ", 0, 0, 0},   {"1969Q4", 0, 0, 0},
                             {"", 0, 0, 0},          {"2026-Q3", 0, 0, 0},   {"20a6Q3", 0, 0, 0}};
  return cr_make_param_array(struct qcase, c, sizeof c / sizeof *c);
}
ParameterizedTest(struct qcase *c, quarter, parse) {
  int y = -1, q = -1;
  tsr_error err;
  tsr_error_clear(&err);
  int rc = tsr__register_quarter_parse(c->q, &y, &q, &err);
  if (c->ok) {
    cr_expect_eq(rc, 0, "%s", c->q);
    cr_expect_eq(y, c->year);
    cr_expect_eq(q, c->quarter);
  } else {
    cr_expect_eq(rc, TSR_EINVAL, "'%s' accepted", c->q);
    cr_expect(strstr(err.msg, "expected YYYYQ1 to YYYYQ4") != NULL, "%s", err.msg);
  }
}

static void append_one(const char *p, json_t *f, int64_t t) {
  char id[TSR__RELEASE_ID_CAP];
  tsr_error err;
  tsr_error_clear(&err);
  cr_assert_eq(tsr__register_append_at(p, f, t, id, sizeof id, &err), 0, "%s", err.msg);
  json_decref(f);
}

/* 1 when the CSV has a row for release id `id`. */
static int csv_has_id(const char *csv, const char *id) {
  char needle[64];
  snprintf(needle, sizeof needle, "\n%s,", id);
  return strstr(csv, needle) != NULL;
}

Test(report, quarter_edges) {
  const char *p = reg_path("reg");
  append_one(p, fields_for("A", 1), utc(2026, 6, 30, 23, 59, 59)); /* Q2 */
  append_one(p, fields_for("A", 2), utc(2026, 7, 1, 0, 0, 0));     /* Q3 */
  append_one(p, fields_for("A", 3), utc(2026, 9, 30, 23, 59, 59)); /* Q3 */
  append_one(p, fields_for("A", 4), utc(2026, 10, 1, 0, 0, 0));    /* Q4 */
  append_one(p, fields_for("A", 5), utc(2025, 8, 1, 0, 0, 0));     /* Q3 of another year */
  char *dir = tsr_test_tmpdir("regout");
  char out[300], csvp[400];
  snprintf(out, sizeof out, "%s/pub", dir); /* created by the report */
  uint64_t inq = 0, n = 0;
  tsr_error err;
  tsr_error_clear(&err);
  cr_assert_eq(tsr__register_report_n(p, "2026Q3", out, &inq, &n, &err), 0, "%s", err.msg);
  cr_expect_eq(inq, 2);
  cr_expect_eq(n, 5);
  snprintf(csvp, sizeof csvp, "%s/release_register_2026Q3.csv", out);
  char *csv = slurp(csvp, NULL);
  cr_expect(!csv_has_id(csv, "A-000001"), "2026-06-30T23:59:59Z is in Q2");
  cr_expect(csv_has_id(csv, "A-000002"), "2026-07-01T00:00:00Z is in Q3");
  cr_expect(csv_has_id(csv, "A-000003"), "2026-09-30T23:59:59Z is in Q3");
  cr_expect(!csv_has_id(csv, "A-000004"), "2026-10-01T00:00:00Z is in Q4");
  cr_expect(!csv_has_id(csv, "A-000005"), "2025 is another year");
  cr_expect(strstr(csv, "\nA-000002,2026-07-01,A,") != NULL, "%s", csv);
  free(csv);
  cr_assert_eq(tsr__register_report_n(p, "2026Q2", out, &inq, &n, NULL), 0);
  cr_expect_eq(inq, 1);
  snprintf(csvp, sizeof csvp, "%s/release_register_2026Q2.csv", out);
  csv = slurp(csvp, NULL);
  cr_expect(csv_has_id(csv, "A-000001") && !csv_has_id(csv, "A-000002"));
  free(csv);
  cr_assert_eq(tsr__register_report_n(p, "2026Q4", out, &inq, &n, NULL), 0);
  cr_expect_eq(inq, 1);
  /* an empty quarter: a header and a page saying so */
  cr_assert_eq(tsr__register_report_n(p, "2027Q1", out, &inq, &n, NULL), 0);
  cr_expect_eq(inq, 0);
  snprintf(csvp, sizeof csvp, "%s/release_register_2027Q1.html", out);
  char *html = slurp(csvp, NULL);
  cr_expect(strstr(html, "No releases in this quarter.") != NULL);
  free(html);
  /* no temporary file left behind */
  snprintf(csvp, sizeof csvp, "ls -A %s | grep -c tmp >/dev/null", out);
  cr_expect_neq(system(csvp), 0, "a temporary file is left in %s", out);
}

Test(report, csv_and_html_content) {
  const char *p = reg_path("reg");
  json_t *f = fields_for("DARS-NIC-000001", 1);
  json_object_set_new(f, "recipient", json_string("Smith, \"Jones\" & <script>alert(1)</script>"));
  json_object_set_new(f, "purpose", json_string("=HYPERLINK(\"http://x\")"));
  append_one(p, f, T0 + 5);
  f = fields_for("DARS-NIC-000002", 2);
  json_object_set_new(json_object_get(f, "opt_outs"), "applied", json_false());
  json_object_set_new(f, "legal_basis", json_string("consent"));
  append_one(p, f, T0 + 86400 * 40);
  f = fields_for("DARS-NIC-000003", 3);
  json_object_del(f, "opt_outs");
  json_object_del(f, "rows");
  append_one(p, f, T0 + 86400 * 91);
  char *dir = tsr_test_tmpdir("regout");
  tsr_error err;
  tsr_error_clear(&err);
  cr_assert_eq(tsr__register_report(p, "2026Q3", dir, &err), 0, "%s", err.msg);
  char path[400];
  snprintf(path, sizeof path, "%s/release_register_2026Q3.csv", dir);
  char *csv = slurp(path, NULL);
  cr_expect_str_eq(csv,
                   "release_id,release_date,reference,recipient,purpose,legal_basis,data_category,datasets,"
                   "opt_outs_applied,patients,rows\n"
                   "DARS-NIC-000001-000001,2026-07-01,DARS-NIC-000001,\"Smith, \"\"Jones\"\" & "
                   "<script>alert(1)</script>\",\"'=HYPERLINK(\"\"http://x\"\")\",section_251,pseudonymised,"
                   "hes_apc; gp,\"yes (type 1: 3 patients, 11 records; national: 2 patients, 7 records)\",101,1001\n"
                   "DARS-NIC-000002-000002,2026-08-10,DARS-NIC-000002,University of Leeds,Hip fracture outcomes,"
                   "consent,pseudonymised,hes_apc; gp,no,102,1002\n"
                   "DARS-NIC-000003-000003,2026-09-30,DARS-NIC-000003,University of Leeds,Hip fracture outcomes,"
                   "section_251,pseudonymised,hes_apc; gp,not recorded,103,\n");
  free(csv);
  snprintf(path, sizeof path, "%s/release_register_2026Q3.html", dir);
  char *html = slurp(path, NULL);
  char head[65], line[200];
  uint64_t n;
  cr_assert_eq(tsr__register_verify_head(p, &n, head, NULL), 0);
  snprintf(line, sizeof line, "register verified: 3 entries, head sha256 %s", head);
  cr_expect(strstr(html, line) != NULL, "no '%s'", line);
  cr_expect(strstr(html, "Smith, &quot;Jones&quot; &amp; &lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
  cr_expect(strstr(html, "<script") == NULL, "unescaped script");
  cr_expect(strstr(html, " src=") == NULL && strstr(html, "<link") == NULL, "not self-contained");
  cr_expect(strstr(html, "<style>") != NULL);
  cr_expect(strstr(html, "<th>Opt-outs applied</th>") != NULL);
  cr_expect(strstr(html, "<td>yes (type 1: 3 patients, 11 records; national: 2 patients, 7 records)</td>") != NULL);
  cr_expect(strstr(html, "<td class=\"n\">101</td><td class=\"n\">1001</td></tr>") != NULL);
  cr_expect(strstr(html, "from 2026-07-01 to 2026-09-30 (UTC): 3.") != NULL);
  free(html);
}

Test(report, refuses_a_register_that_does_not_verify) {
  const char *p = reg_path("reg");
  append_n(p, 3, T0);
  lines_t L = read_lines(p);
  char *t = L.l[0];
  L.l[0] = L.l[1];
  L.l[1] = t;
  write_lines(p, &L);
  char *dir = tsr_test_tmpdir("regout");
  tsr_error err;
  tsr_error_clear(&err);
  cr_assert_eq(tsr__register_report(p, "2026Q3", dir, &err), TSR_EPARSE);
  cr_expect_eq(err.line, 1);
  cr_expect(strstr(err.msg, "no report is written") != NULL, "%s", err.msg);
  char path[400];
  snprintf(path, sizeof path, "%s/release_register_2026Q3.csv", dir);
  cr_expect_eq(access(path, F_OK), -1);
  snprintf(path, sizeof path, "%s/release_register_2026Q3.html", dir);
  cr_expect_eq(access(path, F_OK), -1);
  cr_expect_eq(tsr__register_report(p, "2026Q9", dir, &err), TSR_EINVAL);
}
