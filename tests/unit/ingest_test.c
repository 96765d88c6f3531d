/* Unit tests for ingest: the malformed-input table (each case with its
 * expected error or reject reason and line), field standardisation through
 * the whole pipeline, config errors naming their key path, compressed input,
 * and identical stores for 1 and 2 threads (also when a stray quote forces
 * the sequential fallback). */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dlfcn.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "common/date.h"
#include "ingest/csv.h"
#include "ingest/fields.h"
#include "tessera/config.h"
#include "tessera/generate.h"
#include "tessera/ingest.h"
#include "test_util.h"

static char *mktmp(void) {
  char *d = tsr_test_tmpdir("ingest");
  cr_assert_not_null(d);
  return d;
}

static void write_file(const char *dir, const char *name, const char *data, size_t n) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  cr_assert_not_null(f);
  fwrite(data, 1, n, f);
  fclose(f);
}

static char *slurp(const char *dir, const char *name) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = calloc(1, (size_t)n + 1);
  size_t got = fread(b, 1, (size_t)n, f);
  b[got] = '\0';
  fclose(f);
  return b;
}

/* A two-column source: id (local_id) and name (family_name), plus extras. */
static const char *k_cfg_basic =
    "{\"sources\": [{\"name\": \"s\", \"path\": \"in.csv\", \"id\": \"id\", \"columns\": {"
    "\"id\": {\"kind\": \"local_id\"}, \"name\": {\"kind\": \"family_name\"}}}]}";

/* Criterion runs each parameter in a re-executed child, so the table holds
 * its text inline: pointers into static data would not survive. */
typedef struct {
  char label[48];
  char csv[96];
  size_t csv_len;
  size_t max_record;
  int want_rc;        /* 0 or a TSR_E* code */
  char want_msg[80];  /* substring of the error, for want_rc != 0 */
  uint64_t stored, rejected;
  char reason[24];    /* expected reason of the reject ("" for none) */
  uint64_t line;      /* its line */
} bad_case;

#define S(x) x, sizeof(x) - 1

ParameterizedTestParameters(ingest, malformed) {
  static bad_case cases[] = {
      {"unterminated quote at EOF", S("id,name\n1,smith\n2,\"jones\n"), 0, 0, "", 1, 1, "unterminated_quote", 3},
      {"stray quote in unquoted field", S("id,name\n1,sm\"ith\n2,jones\n"), 0, 0, "", 1, 1, "stray_quote", 2},
      {"text after a closing quote", S("id,name\n1,\"smith\"x\n2,jones\n"), 0, 0, "", 1, 1, "stray_quote", 2},
      {"ragged: too many fields", S("id,name\n1,smith,extra\n2,jones\n"), 0, 0, "", 1, 1, "field_count", 2},
      {"ragged: too few fields", S("id,name\n1,smith\n2\n"), 0, 0, "", 1, 1, "field_count", 3},
      {"empty file", S(""), 0, TSR_EPARSE, "empty", 0, 0, "", 0},
      {"only blank lines", S("\n\r\n  \n"), 0, TSR_EPARSE, "empty", 0, 0, "", 0},
      {"header only", S("id,name\n"), 0, 0, "", 0, 0, "", 0},
      {"header only without newline", S("id,name"), 0, 0, "", 0, 0, "", 0},
      {"BOM and CRLF", S("\xEF\xBB\xBFid,name\r\n1,smith\r\n2,\"jo\r\nnes\"\r\n"), 0, 0, "", 2, 0, "", 0},
      {"NUL byte", S("id,name\n1,sm\0ith\n2,jones\n"), 0, 0, "", 1, 1, "nul_byte", 2},
      {"NUL byte in a quoted field", S("id,name\n1,\"sm\0ith\"\n2,jones\n"), 0, 0, "", 1, 1, "nul_byte", 2},
      {"invalid UTF-8", S("id,name\n1,sm\xff\xfeith\n2,jones\n"), 0, 0, "", 1, 1, "invalid_utf8", 2},
      {"overlong UTF-8 encoding", S("id,name\n1,\xc0\xaf\n2,jones\n"), 0, 0, "", 1, 1, "invalid_utf8", 2},
      {"missing required id", S("id,name\n,smith\n2,jones\n"), 0, 0, "", 1, 1, "required_missing", 2},
      {"quoted newline keeps line numbers", S("id,name\n1,\"a\nb\nc\"\n2,x,y\n"), 0, 0, "", 1, 1, "field_count", 5},
      {"missing header column", S("id,surname\n1,smith\n"), 0, TSR_EPARSE, "\"name\" is not in the header", 0, 0,
       "", 0},
      {"duplicate header column", S("id,name,name\n1,a,b\n"), 0, TSR_EPARSE, "appears twice", 0, 0, "", 0},
      {"duplicate unconfigured column", S("id,name,x,y,x\n1,a,b,c,d\n"), 0, TSR_EPARSE, "\"x\" appears twice in the header (fields 3 and 5)", 0, 0, "", 0},
      {"duplicate column last in name order", S("id,zz,name,zz\n1,a,b,c\n"), 0, TSR_EPARSE, "\"zz\" appears twice in the header (fields 2 and 4)", 0, 0, "", 0},
      {"a line holding only \"\" is a row", S("id,name\n1,a\n\"\"\n2,b\n"), 0, 0, "", 2, 1, "field_count", 3},
      {"unnamed columns are not names", S("id,name,,\n1,a,,\n"), 0, 0, "", 1, 0, "", 0},
      {"no header: the first row is not echoed", S("1,4474035879,secret\n"), 0, TSR_EPARSE, "(3 fields); if the file has no header", 0, 0, "", 0},
      {"a typo is named", S("id,nmae\n1,a\n"), 0, TSR_EPARSE, "did you mean \"nmae\" (field 2)", 0, 0, "", 0},
      {"blank lines are not rows", S("id,name\n\n1,smith\n\n2,jones\n"), 0, 0, "", 2, 0, "", 0},
      {"escaped quotes and delimiters", S("id,name\n1,\"o\"\"brien, jr\"\n"), 0, 0, "", 1, 0, "", 0},
      {"last row without newline", S("id,name\n1,smith\n2,jones"), 0, 0, "", 2, 0, "", 0},
  };
  return cr_make_param_array(bad_case, cases, sizeof cases / sizeof cases[0]);
}

static int ingest_text(const char *cfg_json, const char *csv, size_t n, size_t max_record, int threads,
                       tsr_store **store, tsr_ingest_stats *st, char **rejects, tsr_error *err) {
  char *dir = mktmp();
  write_file(dir, "in.csv", csv, n);
  tsr_config *cfg = NULL;
  int rc = tsr_config_parse(cfg_json, strlen(cfg_json), "test.json", dir, &cfg, err);
  cr_assert_eq(rc, 0, "config: %s", err->msg);
  tsr_rejects *rj;
  cr_assert_eq(tsr_rejects_open(dir, &rj, err), 0);
  tsr_ingest_opts o;
  tsr_ingest_opts_init(&o);
  o.threads = threads;
  o.rejects = rj;
  o.enforce_reject_limit = 0;
  if (max_record) o.max_record_bytes = max_record;
  *store = NULL;
  rc = tsr_ingest_source(&cfg->sources[0], &o, store, st, err);
  if (rc == 0) /* the sink counts rows, as the stats do */
    cr_expect_eq(tsr_rejects_count(rj), st->rows_rejected, "rejects sink count %llu",
                 (unsigned long long)tsr_rejects_count(rj));
  tsr_error e2;
  cr_assert_eq(tsr_rejects_close(rj, &e2), 0);
  *rejects = slurp(dir, "rejects.csv");
  tsr_config_free(cfg);
  return rc;
}

ParameterizedTest(bad_case *c, ingest, malformed) {
  size_t n = c->csv_len;
  tsr_store *s;
  tsr_ingest_stats st;
  char *rej;
  tsr_error err;
  int rc = ingest_text(k_cfg_basic, c->csv, n, c->max_record, 1, &s, &st, &rej, &err);
  cr_assert_eq(rc, c->want_rc, "%s: rc %d (%s)", c->label, rc, err.msg);
  if (rc) {
    cr_expect(strstr(err.msg, c->want_msg), "%s: message '%s' lacks '%s'", c->label, err.msg, c->want_msg);
    cr_expect(strstr(err.file, "in.csv"), "%s: the error names the file", c->label);
    free(rej);
    return;
  }
  cr_expect_eq(st.rows_stored, c->stored, "%s: stored %llu", c->label, (unsigned long long)st.rows_stored);
  cr_expect_eq(st.rows_rejected, c->rejected, "%s: rejected %llu", c->label, (unsigned long long)st.rows_rejected);
  cr_expect_eq(st.rows_read, st.rows_stored + st.rows_rejected, "%s: counts reconcile", c->label);
  cr_expect_eq(tsr_store_rows(s), c->stored);
  if (c->reason[0]) {
    char want[128];
    snprintf(want, sizeof want, "\ns,%llu,", (unsigned long long)c->line);
    char *hit = strstr(rej, want);
    cr_expect_not_null(hit, "%s: no reject at line %llu in:\n%s", c->label, (unsigned long long)c->line, rej);
    if (hit) cr_expect(strstr(hit, c->reason) != NULL, "%s: reason should be %s:\n%s", c->label, c->reason, rej);
  }
  tsr_store_free(s);
  free(rej);
}

Test(ingest, overlong_record) {
  char *csv = malloc(10000);
  strcpy(csv, "id,name\n1,");
  memset(csv + strlen(csv), 'a', 5000);
  strcpy(csv + 10 + 5000, "\n2,jones\n");
  tsr_store *s;
  tsr_ingest_stats st;
  char *rej;
  tsr_error err;
  cr_assert_eq(ingest_text(k_cfg_basic, csv, strlen(csv), 1024, 1, &s, &st, &rej, &err), 0, "%s", err.msg);
  cr_expect_eq(st.rows_stored, 1);
  cr_expect_eq(st.rejects[TSR_REJECT_OVERLONG], 1);
  cr_expect(strstr(rej, "s,2,") && strstr(rej, "overlong_record"), "%s", rej);
  tsr_store_free(s);
  free(rej);
  free(csv);
}

/* max_record_bytes is the longest record allowed, its line end included:
 * at 1024, a 1024-byte record is stored and a 1025-byte one rejected; the
 * last record, without a line end, is held to the same 1024. */
Test(ingest, overlong_record_both_edges) {
  char *csv = malloc(4096);
  size_t n = (size_t)sprintf(csv, "id,name\n1,");
  memset(csv + n, 'a', 1021), n += 1021, csv[n++] = '\n'; /* 2 + 1021 + 1 = 1024 */
  n += (size_t)sprintf(csv + n, "2,");
  memset(csv + n, 'b', 1022), n += 1022, csv[n++] = '\n'; /* 1025 */
  n += (size_t)sprintf(csv + n, "3,");
  memset(csv + n, 'c', 1022), n += 1022; /* 1024, at the end of the file */
  tsr_store *s;
  tsr_ingest_stats st;
  char *rej;
  tsr_error err;
  cr_assert_eq(ingest_text(k_cfg_basic, csv, n, 1024, 1, &s, &st, &rej, &err), 0, "%s", err.msg);
  cr_expect_eq(st.rows_stored, 2, "the two 1024-byte records are stored");
  cr_expect_eq(st.rejects[TSR_REJECT_OVERLONG], 1);
  cr_expect(strstr(rej, "\ns,3,") && strstr(rej, "overlong_record"), "the 1025-byte record (line 3):\n%.300s", rej);
  tsr_store_free(s);
  free(rej);
  free(csv);
}

/* Without a header, columns are named by position, 1 up to the last. */
Test(ingest, no_header_columns_by_position_up_to_the_last) {
  const char *cfgj = "{\"sources\": [{\"name\": \"s\", \"path\": \"in.csv\", \"header\": false, \"id\": \"1\", "
                     "\"columns\": {\"1\": {\"kind\": \"local_id\"}, \"3\": {\"kind\": \"family_name\"}}}]}";
  const char *csv = "1,x,smith\n2,y,jones\n";
  tsr_store *s;
  tsr_ingest_stats st;
  char *rej;
  tsr_error err;
  cr_assert_eq(ingest_text(cfgj, csv, strlen(csv), 0, 1, &s, &st, &rej, &err), 0, "%s", err.msg);
  cr_expect_eq(st.rows_stored, 2, "the first row is data");
  const tsr_column *fam = tsr_store_kind(s, TSR_KIND_FAMILY_NAME);
  cr_assert_not_null(fam);
  char t[64];
  tsr_column_text(fam, 1, t, sizeof t);
  cr_expect_str_eq(t, "JONES", "column 3 is the last field");
  tsr_store_free(s);
  free(rej);
  const char *four = "{\"sources\": [{\"name\": \"s\", \"path\": \"in.csv\", \"header\": false, \"id\": \"1\", "
                     "\"columns\": {\"1\": {\"kind\": \"local_id\"}, \"4\": {\"kind\": \"family_name\"}}}]}";
  cr_assert_eq(ingest_text(four, csv, strlen(csv), 0, 1, &s, &st, &rej, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "column 4 is configured, but the first row has only 3 fields") != NULL, "%s", err.msg);
  free(rej);
}

Test(ingest, names_survive_quoting_and_crlf) {
  const char *csv = "\xEF\xBB\xBFid,name\r\n1,\"o'brien, \"\"jr\"\"\"\r\n2,\"jo\r\nnes\"\r\n3,Zo\xc3\xab\r\n";
  tsr_store *s;
  tsr_ingest_stats st;
  char *rej;
  tsr_error err;
  cr_assert_eq(ingest_text(k_cfg_basic, csv, strlen(csv), 0, 1, &s, &st, &rej, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_store_rows(s), 3);
  const tsr_column *name = tsr_store_field(s, "name");
  char v[64];
  tsr_column_text(name, 0, v, sizeof v);
  cr_expect_str_eq(v, "OBRIEN JR");
  tsr_column_text(name, 1, v, sizeof v);
  cr_expect_str_eq(v, "JO NES");
  tsr_column_text(name, 2, v, sizeof v);
  cr_expect_str_eq(v, "ZOE");
  tsr_view id = tsr_store_id(s, 0);
  cr_expect(id.len == 1 && id.ptr[0] == '1', "the BOM does not hide the first column");
  tsr_store_free(s);
  free(rej);
}

/* --- field kinds through the whole pipeline -------------------------------------- */
static const char *k_cfg_kinds =
    "{\"sources\": [{\"name\": \"s\", \"path\": \"in.csv\", \"id\": \"id\", \"columns\": {"
    "\"id\": {\"kind\": \"local_id\"},"
    "\"nhs\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"},"
    "\"dob\": {\"kind\": \"date\", \"format\": [\"DD/MM/YYYY\", \"YYYY-MM-DD\"], \"max\": \"2025-03-31\"},"
    "\"sex\": {\"kind\": \"sex\"},"
    "\"pc\": {\"field\": \"postcode\", \"kind\": \"postcode\"},"
    "\"n\": {\"kind\": \"integer\"},"
    "\"code\": {\"kind\": \"code\"}}}]}";

Test(ingest, field_kinds) {
  const char *csv = "id,nhs,dob,sex,pc,n,code\n"
                    "1,4010232137,31/01/2000,M,ls14ap,7,A\n"       /* valid; lowercase postcode, no space */
                    "2,401 023 2137,2000-01-31,f,SW1A 1AA,-3,B\n"  /* spaced NHS, second date format */
                    "3,4010232138,31/02/2020,Q,ZZ99 3VZ,x,A\n"     /* bad check digit, 31 Feb, ZZ99, bad int */
                    "4,1111111111,01/01/1890,9,LS1,,\n"            /* all same digit, before 1895, bad postcode */
                    "5,123456789,01/01/2030,2,GIR 0AA,99999999999,C\n"; /* 9 digits, after max */
  tsr_store *s;
  tsr_ingest_stats st;
  char *rej;
  tsr_error err;
  cr_assert_eq(ingest_text(k_cfg_kinds, csv, strlen(csv), 0, 1, &s, &st, &rej, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_store_rows(s), 5, "invalid values are kept as missing, not rejected");
  const tsr_column *nhs = tsr_store_field(s, "nhs_number"), *dob = tsr_store_field(s, "dob"),
                   *sex = tsr_store_field(s, "sex"), *pc = tsr_store_field(s, "postcode"),
                   *n = tsr_store_field(s, "n"), *code = tsr_store_field(s, "code");
  cr_expect_eq(nhs->u64[0], 4010232137ull);
  cr_expect_eq(nhs->u64[1], 4010232137ull);
  for (int r = 2; r < 5; r++) cr_expect_eq(nhs->u64[r], 0u, "row %d NHS is missing", r + 1);
  cr_expect_eq(nhs->n_invalid, 3u);
  cr_expect(nhs->invalid[0] & (1u << 2), "bad check digit is flagged");
  cr_expect_eq(dob->i32[0], tsr__days_from_ymd(2000, 1, 31));
  cr_expect_eq(dob->i32[1], dob->i32[0]);
  cr_expect_eq(dob->i32[2], TSR_DATE_NONE, "31 February is not a date");
  cr_expect_eq(dob->i32[3], TSR_DATE_NONE, "before 1895");
  cr_expect_eq(dob->i32[4], TSR_DATE_NONE, "after the window");
  cr_expect_eq(dob->n_invalid, 3u);
  cr_expect_eq(sex->u8[0], 1);
  cr_expect_eq(sex->u8[1], 2);
  cr_expect_eq(sex->u8[3], 9);
  cr_expect_eq(sex->n_invalid, 1u);
  char t[16];
  tsr_column_text(pc, 0, t, sizeof t);
  cr_expect_str_eq(t, "LS1 4AP");
  tsr_column_text(pc, 1, t, sizeof t);
  cr_expect_str_eq(t, "SW1A 1AA");
  cr_expect_eq(pc->u64[2], 0u, "ZZ99 is missing for matching");
  cr_expect_eq(pc->n_pseudo, 1u);
  cr_expect_eq(pc->u64[3], 0u);
  tsr_column_text(pc, 4, t, sizeof t);
  cr_expect_str_eq(t, "GIR 0AA");
  cr_expect_eq(n->i64[0], 7);
  cr_expect_eq(n->i64[1], -3);
  cr_expect_eq(n->i64[2], TSR_INT_NONE);
  cr_expect_eq(n->i64[4], 99999999999ll);
  cr_expect_eq(code->dict_n, 3u, "codes A, B, C");
  cr_expect_eq(code->code16[0], code->code16[2], "same code, same id");
  cr_expect_eq(code->code16[3], 0u, "empty code is missing");
  tsr_store_free(s);
  free(rej);
}

Test(fields, postcode_parts) {
  uint64_t p;
  cr_assert_eq(tsr__std_postcode("sw1a1aa", 7, &p), 0);
  char t[9];
  cr_expect_eq(tsr__postcode_text(p, t), 8u);
  cr_expect_str_eq(t, "SW1A 1AA");
  uint64_t sector = tsr__postcode_sector(p), district = tsr__postcode_district(p);
  /* packed: the characters without the space, left-aligned, big-endian */
  uint64_t want_sector = (uint64_t)'S' << 56 | (uint64_t)'W' << 48 | (uint64_t)'1' << 40 | (uint64_t)'A' << 32 |
                         (uint64_t)'1' << 24;
  cr_expect_eq(sector, want_sector, "sector SW1A 1: %016llx", (unsigned long long)sector);
  cr_expect_eq(district, want_sector & ~((uint64_t)0xFF << 24), "district SW1A");
  cr_expect_neq(sector, district);
  uint64_t q;
  cr_assert_eq(tsr__std_postcode("SW1A 1BB", 8, &q), 0);
  cr_expect_eq(tsr__postcode_sector(q), sector, "same sector");
  cr_assert_eq(tsr__std_postcode("SW1A 2AA", 8, &q), 0);
  cr_expect_neq(tsr__postcode_sector(q), sector);
  cr_expect_eq(tsr__postcode_district(q), district);
  cr_expect_eq(tsr__std_postcode("1AB 2CD", 7, &q), TSR__V_INVALID);
  cr_expect_eq(tsr__std_postcode("LS1 4A", 6, &q), TSR__V_INVALID);
}

/* --- config errors name their key path ----------------------------------------------- */
typedef struct {
  char json[240];
  char want[64];
} cfg_case;

ParameterizedTestParameters(config, errors) {
  static cfg_case cases[] = {
      {"{\"sources\": [], \"blockin\": {}}", "blockin: unknown key"},
      {"{\"sources\": []}", "sources: expected a non-empty list"},
      {"{\"version\": 2, \"sources\": [1]}", "version: expected 1"},
      {"{\"sources\": [{\"name\": \"a\", \"id\": \"x\", \"columns\": {\"x\": {\"kind\": \"text\"}}}]}",
       "sources[0].path: required key is missing"},
      {"{\"sources\": [{\"name\": \"a\", \"path\": \"p\", \"id\": \"x\", \"colums\": {}}]}",
       "sources[0].colums: unknown key"},
      {"{\"sources\": [{\"name\": \"a\", \"path\": \"p\", \"id\": \"x\", \"columns\": {\"x\": {\"kind\": \"txt\"}}}]}",
       "sources[0].columns.x.kind: unknown kind \"txt\""},
      {"{\"sources\": [{\"name\": \"a\", \"path\": \"p\", \"id\": \"x\", \"columns\": {\"x\": {\"kind\": \"text\"}, "
       "\"dob\": {\"kind\": \"date\", \"format\": \"DD/MM/YYY\"}}}]}",
       "sources[0].columns.dob.format"},
      {"{\"sources\": [{\"name\": \"a\", \"path\": \"p\", \"id\": \"x\", \"columns\": {\"x\": {\"kind\": \"text\", "
       "\"format\": \"YYYY\"}}}]}",
       "sources[0].columns.x: \"format\" applies to dates only"},
      {"{\"sources\": [{\"name\": \"a\", \"path\": \"p\", \"id\": \"y\", \"columns\": {\"x\": {\"kind\": \"text\"}}}]}",
       "sources[0].id: id column \"y\" is not listed"},
      {"{\"sources\": [{\"name\": \"a\", \"path\": \"p\", \"delimiter\": \"ab\", \"id\": \"x\", \"columns\": {\"x\": "
       "{\"kind\": \"text\"}}}]}",
       "sources[0].delimiter: expected a single ASCII character"},
      {"{\"sources\": [{\"name\": \"a\", \"path\": \"p\", \"max_reject_share\": 2, \"id\": \"x\", \"columns\": {\"x\": "
       "{\"kind\": \"text\"}}}]}",
       "sources[0].max_reject_share: expected a number in [0, 1]"},
      {"{\"sources\": [{\"name\": \"a\", \"path\": \"p\", \"id\": \"x\", \"columns\": {\"x\": {\"kind\": \"text\"}}},"
       "{\"name\": \"a\", \"path\": \"q\", \"id\": \"x\", \"columns\": {\"x\": {\"kind\": \"text\"}}}]}",
       "sources[1]: source name \"a\" is used twice"},
      {"{\"sources\": [{\"name\": \"a\", \"path\": \"p\", \"id\": \"x\", \"columns\": {\"x\": {\"kind\": \"text\"}, "
       "\"y\": {\"field\": \"x\", \"kind\": \"code\"}}}]}",
       "sources[0].columns.y: field \"x\" is already mapped"},
      {"{\"sources\": [{\"name\": \"a\", \"path\": \"p\", \"header\": \"yes\", \"id\": \"x\", \"columns\": {\"x\": "
       "{\"kind\": \"text\"}}}]}",
       "sources[0].header: expected true or false"},
      {"{\"sources\": [{\"name\": \"a\", \"path\": \"p\", \"id\": \"x\", \"columns\": {\"x\": {\"kind\": \"date\", "
       "\"min\": \"2020-02-30\"}}}]}",
       "sources[0].columns.x.min: expected a date"},
      {"{\"sources\": [\n  {\"name\": \"a\",,}\n]}", "invalid JSON"},
      {"{\"sources\": [{\"name\": \"a\", \"name\": \"b\"}]}", "invalid JSON"},
  };
  return cr_make_param_array(cfg_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(cfg_case *c, config, errors) {
  tsr_config *cfg = NULL;
  tsr_error err;
  int rc = tsr_config_parse(c->json, strlen(c->json), "run.json", "/tmp", &cfg, &err);
  cr_assert_eq(rc, TSR_ECONFIG, "expected a config error for %s", c->json);
  cr_expect(strstr(err.msg, c->want), "message '%s' lacks '%s'", err.msg, c->want);
  cr_expect_str_eq(err.file, "run.json");
  cr_assert_null(cfg);
}

Test(config, syntax_error_has_line_and_column) {
  const char *j = "{\"sources\": [\n  {\"name\": \"a\",,}\n]}";
  tsr_config *cfg;
  tsr_error err;
  cr_assert_eq(tsr_config_parse(j, strlen(j), "run.json", "/tmp", &cfg, &err), TSR_ECONFIG);
  cr_expect_eq(err.line, 2u);
  cr_expect_gt(err.column, 0u);
}

Test(config, paths_resolve_against_the_config_folder) {
  const char *j = "{\"sources\": [{\"name\": \"a\", \"path\": \"data/x.csv\", \"id\": \"x\", \"columns\": {\"x\": "
                  "{\"kind\": \"text\"}}}, {\"name\": \"b\", \"path\": \"/abs/y.csv\", \"id\": \"x\", \"columns\": "
                  "{\"x\": {\"kind\": \"text\"}}}]}";
  tsr_config *cfg;
  tsr_error err;
  cr_assert_eq(tsr_config_parse(j, strlen(j), "run.json", "/srv/run", &cfg, &err), 0, "%s", err.msg);
  cr_expect_str_eq(cfg->sources[0].path, "/srv/run/data/x.csv");
  cr_expect_str_eq(cfg->sources[1].path, "/abs/y.csv");
  cr_expect_eq(cfg->sources[0].delimiter, ',');
  cr_expect_eq(cfg->sources[0].max_reject_share, 0.01);
  cr_expect_eq(tsr_config_source_index(cfg, "b"), 1);
  tsr_config_free(cfg);
}

/* --- compressed input, determinism ---------------------------------------------------- */
static char *g_gen_dir;

static void gen_data(void) {
  g_gen_dir = mktmp();
  tsr_gen_opts o;
  tsr_gen_opts_init(&o);
  o.patients = 6000;
  o.seed = 5;
  o.threads = 1;
  o.out_dir = g_gen_dir;
  tsr_error err;
  cr_assert_eq(tsr_generate(&o, NULL, &err), 0, "%s", err.msg);
}

static uint64_t ingest_digest(const char *cfg_path, int src, int threads, size_t seg, uint64_t *rows,
                              uint64_t *rejected) {
  tsr_config *cfg;
  tsr_error err;
  cr_assert_eq(tsr_config_load(cfg_path, &cfg, &err), 0, "%s", err.msg);
  tsr_ingest_opts o;
  tsr_ingest_opts_init(&o);
  o.threads = threads;
  o.segment_bytes = seg;
  o.enforce_reject_limit = 0;
  tsr_store *s;
  tsr_ingest_stats st;
  cr_assert_eq(tsr_ingest_source(&cfg->sources[src], &o, &s, &st, &err), 0, "%s", err.msg);
  uint64_t d = tsr_store_digest(s);
  *rows = tsr_store_rows(s);
  if (rejected) *rejected = st.rows_rejected;
  tsr_store_free(s);
  tsr_config_free(cfg);
  return d;
}

Test(ingest, same_store_for_1_and_2_threads, .timeout = 120) {
  gen_data();
  char cfg[512];
  snprintf(cfg, sizeof cfg, "%s/link.json", g_gen_dir);
  for (int src = 0; src < 2; src++) {
    uint64_t r1, r2, r3;
    uint64_t d1 = ingest_digest(cfg, src, 1, 1 << 20, &r1, NULL);
    uint64_t d2 = ingest_digest(cfg, src, 2, 64 << 10, &r2, NULL); /* many segments */
    uint64_t d3 = ingest_digest(cfg, src, 2, 4096, &r3, NULL);     /* tiny segments */
    cr_expect_gt(r1, 5000u);
    cr_expect_eq(r1, r2);
    cr_expect_eq(r1, r3);
    cr_expect_eq(d1, d2, "source %d: 1 vs 2 threads", src);
    cr_expect_eq(d1, d3, "source %d: tiny segments", src);
  }
}

Test(ingest, stray_quote_forces_sequential_fallback_with_same_result, .timeout = 60) {
  /* a stray quote early on flips the quote parity of everything after it:
   * the seam check must catch it and the result must equal 1 thread's */
  char *dir = mktmp();
  size_t cap = 4 << 20, n = 0;
  char *csv = malloc(cap);
  n += (size_t)sprintf(csv + n, "id,name\n1,o\"brien\n");
  for (int i = 2; i < 60000; i++) n += (size_t)sprintf(csv + n, "%d,\"name %d, x\"\n", i, i % 97);
  write_file(dir, "in.csv", csv, n);
  char cfgp[512];
  snprintf(cfgp, sizeof cfgp, "%s/c.json", dir);
  write_file(dir, "c.json", k_cfg_basic, strlen(k_cfg_basic));
  uint64_t r1, r2, j1, j2;
  uint64_t d1 = ingest_digest(cfgp, 0, 1, 1 << 20, &r1, &j1);
  uint64_t d2 = ingest_digest(cfgp, 0, 2, 8192, &r2, &j2);
  cr_expect_eq(j1, 1u, "one stray-quote reject");
  cr_expect_eq(r1, 59998u - 0u);
  cr_expect_eq(r1, r2);
  cr_expect_eq(j1, j2);
  cr_expect_eq(d1, d2);
  free(csv);
}

static void compress_copy(const char *dir, const char *name, int zstd) {
  char *data = slurp(dir, name);
  size_t n = strlen(data);
  char out[600];
  snprintf(out, sizeof out, "%s/%s%s", dir, name, zstd ? ".zst" : ".gz");
  if (zstd) {
    size_t cap = ZSTD_compressBound(n);
    void *z = malloc(cap);
    size_t zn = ZSTD_compress(z, cap, data, n, 3);
    cr_assert(!ZSTD_isError(zn));
    FILE *f = fopen(out, "wb");
    fwrite(z, 1, zn, f);
    fclose(f);
    free(z);
  } else {
    gzFile g = gzopen(out, "wb");
    gzwrite(g, data, (unsigned)n);
    gzclose(g);
  }
  free(data);
}

/* With a stray quote early on, the quote parity guessed for later segments
 * is inverted, and a segment's first "record" can start inside a quoted field
 * that holds a line end: the segment before it then parses past that start.
 * The seam check must re-parse, and the result equal 1 thread's. */
Test(ingest, a_segment_start_inside_a_multiline_field_is_reparsed, .timeout = 60) {
  char *dir = mktmp();
  size_t cap = 2 << 20, n = 0;
  char *csv = malloc(cap);
  n += (size_t)sprintf(csv + n, "id,name\n1,o\"brien\n");
  for (int i = 2; i < 20000; i++) n += (size_t)sprintf(csv + n, "%d,\"name\n%d\"\n", i, i % 97);
  write_file(dir, "in.csv", csv, n);
  char cfgp[512];
  snprintf(cfgp, sizeof cfgp, "%s/c.json", dir);
  write_file(dir, "c.json", k_cfg_basic, strlen(k_cfg_basic));
  uint64_t r1, r2, j1, j2;
  uint64_t d1 = ingest_digest(cfgp, 0, 1, 1 << 20, &r1, &j1);
  uint64_t d2 = ingest_digest(cfgp, 0, 2, 4096, &r2, &j2);
  cr_expect_eq(j1, 1u, "one stray-quote reject");
  cr_expect_eq(r1, 19998u);
  cr_expect_eq(r2, r1);
  cr_expect_eq(j2, j1);
  cr_expect_eq(d2, d1);
  free(csv);
}

Test(ingest, gzip_and_zstd_match_plain, .timeout = 120) {
  gen_data();
  compress_copy(g_gen_dir, "gp.csv", 0);
  compress_copy(g_gen_dir, "gp.csv", 1);
  const char *variants[3] = {"gp.csv", "gp.csv.gz", "gp.csv.zst"};
  uint64_t digest[3], rows[3];
  for (int v = 0; v < 3; v++) {
    char cfg[4096], path[600];
    snprintf(cfg, sizeof cfg,
             "{\"sources\": [{\"name\": \"gp\", \"path\": \"%s\", \"id\": \"record_id\", \"columns\": {"
             "\"record_id\": {\"kind\": \"local_id\"}, \"nhs_number\": {\"kind\": \"nhs_number\"},"
             "\"family_name\": {\"kind\": \"family_name\"}, \"date_of_birth\": {\"kind\": \"date\", \"format\": "
             "\"DD/MM/YYYY\"}, \"postcode\": {\"kind\": \"postcode\"}, \"address_line1\": {\"kind\": \"text\"}}}]}",
             variants[v]);
    snprintf(path, sizeof path, "c%d.json", v);
    write_file(g_gen_dir, path, cfg, strlen(cfg));
    char full[700];
    snprintf(full, sizeof full, "%s/%s", g_gen_dir, path);
    digest[v] = ingest_digest(full, 0, 2, 64 << 10, &rows[v], NULL);
  }
  cr_expect_gt(rows[0], 6000u);
  cr_expect_eq(rows[0], rows[1]);
  cr_expect_eq(rows[0], rows[2]);
  cr_expect_eq(digest[0], digest[1], "gzip");
  cr_expect_eq(digest[0], digest[2], "zstd");
}

Test(ingest, generated_data_has_no_rejects, .timeout = 120) {
  gen_data();
  char cfg[512];
  snprintf(cfg, sizeof cfg, "%s/link.json", g_gen_dir);
  for (int src = 0; src < 2; src++) {
    uint64_t rows, rej;
    ingest_digest(cfg, src, 2, 1 << 20, &rows, &rej);
    cr_expect_eq(rej, 0u, "source %d: generated rows are all usable", src);
    cr_expect_gt(rows, 5000u);
  }
}

Test(ingest, reject_limit_stops_the_run) {
  const char *csv = "id,name\n1,a\n2,b,c\n3,c\n";
  char *dir = mktmp();
  write_file(dir, "in.csv", csv, strlen(csv));
  tsr_config *cfg;
  tsr_error err;
  cr_assert_eq(tsr_config_parse(k_cfg_basic, strlen(k_cfg_basic), "t.json", dir, &cfg, &err), 0);
  tsr_ingest_opts o;
  tsr_ingest_opts_init(&o);
  o.threads = 1;
  tsr_store *s = NULL;
  tsr_ingest_stats st;
  cr_expect_eq(tsr_ingest_source(&cfg->sources[0], &o, &s, &st, &err), TSR_EREJECTS);
  cr_expect(strstr(err.msg, "1 of 3 rows rejected"), "%s", err.msg);
  cr_expect_null(s);
  cfg->sources[0].max_reject_share = 0.5;
  cr_expect_eq(tsr_ingest_source(&cfg->sources[0], &o, &s, &st, &err), 0);
  tsr_store_free(s);
  tsr_config_free(cfg);
}

/* max_reject_share is the largest share allowed: 1 of 4 rows passes at 0.25
 * and fails just below it. */
Test(ingest, reject_limit_both_edges) {
  const char *csv = "id,name\n1,a\n2,b,c\n3,c\n4,d\n";
  char *dir = mktmp();
  write_file(dir, "in.csv", csv, strlen(csv));
  tsr_config *cfg;
  tsr_error err;
  cr_assert_eq(tsr_config_parse(k_cfg_basic, strlen(k_cfg_basic), "t.json", dir, &cfg, &err), 0);
  tsr_ingest_opts o;
  tsr_ingest_opts_init(&o);
  o.threads = 1;
  tsr_store *s = NULL;
  tsr_ingest_stats st;
  cfg->sources[0].max_reject_share = 0.25;
  cr_expect_eq(tsr_ingest_source(&cfg->sources[0], &o, &s, &st, &err), 0, "1 of 4 at 0.25: %s", err.msg);
  cr_expect_eq(st.rows_rejected, 1u);
  cr_expect_eq(st.rows_read, 4u);
  tsr_store_free(s);
  s = NULL;
  cfg->sources[0].max_reject_share = 0.24;
  cr_expect_eq(tsr_ingest_source(&cfg->sources[0], &o, &s, &st, &err), TSR_EREJECTS);
  cr_expect(strstr(err.msg, "1 of 4 rows rejected"), "%s", err.msg);
  cr_expect_null(s);
  tsr_config_free(cfg);
}

/* Control bytes in a rejected row are written as \xNN (DEL too), never raw. */
Test(ingest, rejects_csv_escapes_control_bytes) {
  const char *csv = "id,name\n1,a\x7f" "b,extra\n2,c\x01" "d,extra\n3,e\n";
  tsr_store *s;
  tsr_ingest_stats st;
  char *rej;
  tsr_error err;
  cr_assert_eq(ingest_text(k_cfg_basic, csv, strlen(csv), 0, 1, &s, &st, &rej, &err), 0, "%s", err.msg);
  cr_expect_eq(st.rows_rejected, 2u);
  cr_expect(strstr(rej, "1,a\\x7Fb,extra") != NULL, "DEL as \\x7F:\n%s", rej);
  cr_expect(strstr(rej, "2,c\\x01d,extra") != NULL, "0x01 as \\x01:\n%s", rej);
  cr_expect(strchr(rej, 0x7f) == NULL && strchr(rej, 0x01) == NULL, "no raw control byte");
  tsr_store_free(s);
  free(rej);
}

/* --- defect regressions ------------------------------------------------------------------ */
static const char *k_gp_cols =
    "\"record_id\": {\"kind\": \"local_id\"}, \"nhs_number\": {\"kind\": \"nhs_number\"},"
    "\"given_name\": {\"kind\": \"given_name\"}, \"family_name\": {\"kind\": \"family_name\"},"
    "\"date_of_birth\": {\"kind\": \"date\", \"format\": \"DD/MM/YYYY\"}, \"postcode\": {\"kind\": \"postcode\"},"
    "\"address_line1\": {\"kind\": \"text\"}";

/* Writes a config for one GP-like source at dir/name and returns its path. */
static char *gp_config(const char *dir, const char *csv_name, const char *extra) {
  char cfg[4096];
  snprintf(cfg, sizeof cfg,
           "{\"sources\": [{\"name\": \"gp\", \"path\": \"%s\", \"id\": \"record_id\"%s, \"columns\": {%s}}]}",
           csv_name, extra ? extra : "", k_gp_cols);
  char name[128];
  snprintf(name, sizeof name, "%s.json", csv_name);
  write_file(dir, name, cfg, strlen(cfg));
  char *p = malloc(700);
  snprintf(p, 700, "%s/%s", dir, name);
  return p;
}

/* Ingests source 0 of cfg_path with its rejects in dir; returns the rc. */
static int ingest_cfg(const char *cfg_path, const char *dir, int threads, size_t seg, tsr_ingest_stats *st,
                      uint64_t *digest, char **rejects, tsr_error *err) {
  tsr_config *cfg;
  cr_assert_eq(tsr_config_load(cfg_path, &cfg, err), 0, "%s", err->msg);
  tsr_rejects *rj;
  tsr_error e2;
  cr_assert_eq(tsr_rejects_open(dir, &rj, &e2), 0);
  tsr_ingest_opts o;
  tsr_ingest_opts_init(&o);
  o.threads = threads;
  if (seg) o.segment_bytes = seg;
  o.enforce_reject_limit = 0;
  o.rejects = rj;
  tsr_store *s = NULL;
  int rc = tsr_ingest_source(&cfg->sources[0], &o, &s, st, err);
  if (rc == 0 && st) /* the sink counts rows, as the stats do */
    cr_expect_eq(tsr_rejects_count(rj), st->rows_rejected, "rejects sink count %llu",
                 (unsigned long long)tsr_rejects_count(rj));
  if (digest) *digest = s ? tsr_store_digest(s) : 0;
  cr_assert_eq(tsr_rejects_close(rj, &e2), 0);
  if (rejects) *rejects = slurp(dir, "rejects.csv");
  tsr_store_free(s);
  tsr_config_free(cfg);
  return rc;
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

/* The header and n data rows of the generated gp.csv, starting at the first
 * data row that makes line 6 one without quotes of its own (so that a quote
 * added there runs on into later lines). */
static char *gp_head(size_t rows, size_t *len) {
  gen_data();
  char *all = slurp(g_gen_dir, "gp.csv");
  cr_assert_not_null(all);
  char *body = strchr(all, '\n') + 1, *start = body;
  for (;;) {
    char *l6 = start;
    for (int i = 0; i < 4; i++) l6 = strchr(l6, '\n') + 1;
    char *e = strchr(l6, '\n');
    if (!memchr(l6, '"', (size_t)(e - l6))) break;
    start = strchr(start, '\n') + 1;
  }
  char *p = start;
  for (size_t i = 0; i < rows && p; i++) {
    p = strchr(p, '\n');
    if (p) p++;
  }
  cr_assert_not_null(p);
  size_t hl = (size_t)(body - all), bl = (size_t)(p - start);
  char *out = malloc(hl + bl + 1);
  memcpy(out, all, hl);
  memcpy(out + hl, start, bl);
  out[hl + bl] = '\0';
  *len = hl + bl;
  free(all);
  return out;
}

/* Defect 1: a `"` before the given name on line 6 swallowed every line up to
 * the next quote in the file (quoted addresses), counted as one row. */
Test(defects, unterminated_quote_costs_one_row, .timeout = 120) {
  size_t n;
  char *csv = gp_head(1000, &n);
  /* line 6 = the 5th data row; given_name is its third field */
  char *line = csv;
  for (int i = 1; i < 6; i++) line = strchr(line, '\n') + 1;
  char *f3 = strchr(strchr(line, ',') + 1, ',') + 1;
  char *bad = malloc(n + 2);
  size_t off = (size_t)(f3 - csv);
  memcpy(bad, csv, off);
  bad[off] = '"';
  memcpy(bad + off + 1, csv + off, n - off + 1);
  cr_assert(strstr(bad + off, "\"Flat") != NULL, "the file must hold later quotes for the old bug to show");
  char *dir = mktmp();
  write_file(dir, "gpq.csv", bad, n + 1);
  char *cfg = gp_config(dir, "gpq.csv", NULL);
  uint64_t d0 = 0;
  struct {
    int threads;
    size_t seg;
  } runs[3] = {{1, 0}, {2, 0}, {2, 4096}};
  for (int r = 0; r < 3; r++) {
    tsr_ingest_stats st;
    tsr_error err;
    uint64_t d;
    char *rej;
    cr_assert_eq(ingest_cfg(cfg, dir, runs[r].threads, runs[r].seg, &st, &d, &rej, &err), 0, "%s", err.msg);
    cr_expect_eq(st.rows_read, 1000u, "run %d: rows read %llu", r, (unsigned long long)st.rows_read);
    cr_expect_eq(st.rows_stored, 999u, "run %d: stored %llu", r, (unsigned long long)st.rows_stored);
    cr_expect_eq(st.rows_rejected, 1u, "run %d", r);
    cr_expect_eq(st.rejects[TSR_REJECT_UNTERMINATED_QUOTE], 1u, "run %d", r);
    cr_expect(strstr(rej, "\ngp,6,3,unterminated_quote,") != NULL, "run %d:\n%s", r, rej);
    cr_expect_eq(count_lines(rej), 2u, "header and one reject");
    if (r == 0) d0 = d;
    cr_expect_eq(d, d0, "run %d: same store", r);
    free(rej);
  }
  free(cfg);
  free(bad);
  free(csv);
}

/* A runaway quote whose closing partner happens to make a well-formed record
 * (here a stray quote at the end of line 4) must not swallow line 3 either:
 * before the fix, lines 2-4 became one valid row with a three-line name. */
Test(defects, runaway_quote_closed_into_a_well_formed_record) {
  const char *csv = "id,name\n1,\"smith\n2,jones\n3\"\n4,green\n";
  tsr_store *s;
  tsr_ingest_stats st;
  char *rej;
  tsr_error err;
  cr_assert_eq(ingest_text(k_cfg_basic, csv, strlen(csv), 0, 1, &s, &st, &rej, &err), 0, "%s", err.msg);
  cr_expect_eq(st.rows_read, 4u);
  cr_expect_eq(st.rows_stored, 2u, "lines 3 and 5");
  cr_expect_eq(st.rows_rejected, 2u, "line 2 (unterminated) and line 4 (stray)");
  cr_expect(strstr(rej, "\ns,2,2,unterminated_quote,") != NULL, "%s", rej);
  cr_expect(strstr(rej, "\ns,4,") != NULL, "%s", rej);
  tsr_store_free(s);
  free(rej);
}

/* A legitimate multi-line field in a malformed row costs its lines one by one,
 * each counted; never a silent loss. */
Test(defects, malformed_multiline_row_rejected_at_its_first_line) {
  const char *csv = "id,name\n1,\"a\nb\",x\n2,jones\n";
  tsr_store *s;
  tsr_ingest_stats st;
  char *rej;
  tsr_error err;
  cr_assert_eq(ingest_text(k_cfg_basic, csv, strlen(csv), 0, 1, &s, &st, &rej, &err), 0, "%s", err.msg);
  cr_expect_eq(st.rows_stored, 1u);
  cr_expect_eq(st.rows_read, st.rows_stored + st.rows_rejected);
  cr_expect_eq(st.rows_rejected, 2u, "line 2 and line 3");
  cr_expect(strstr(rej, "\ns,2,2,unterminated_quote,") != NULL, "%s", rej);
  cr_expect(strstr(rej, "\ns,3,") != NULL, "%s", rej);
  tsr_store_free(s);
  free(rej);
}

/* Writes rows 1..n of the basic two-column source as CSV text. */
static char *basic_rows(int n, size_t *len) {
  char *b = malloc((size_t)n * 32 + 16);
  size_t k = (size_t)sprintf(b, "id,name\n");
  for (int i = 1; i <= n; i++) k += (size_t)sprintf(b + k, "%d,name%d\n", i, i % 50);
  *len = k;
  return b;
}

static int ingest_bytes(const char *name, const void *data, size_t n, tsr_ingest_stats *st, tsr_error *err) {
  char *dir = mktmp();
  write_file(dir, name, data, n);
  char cfgj[512];
  snprintf(cfgj, sizeof cfgj,
           "{\"sources\": [{\"name\": \"s\", \"path\": \"%s\", \"id\": \"id\", \"columns\": {"
           "\"id\": {\"kind\": \"local_id\"}, \"name\": {\"kind\": \"family_name\"}}}]}",
           name);
  tsr_config *cfg;
  cr_assert_eq(tsr_config_parse(cfgj, strlen(cfgj), "t.json", dir, &cfg, err), 0);
  tsr_ingest_opts o;
  tsr_ingest_opts_init(&o);
  o.threads = 1;
  tsr_store *s = NULL;
  int rc = tsr_ingest_source(&cfg->sources[0], &o, &s, st, err);
  tsr_store_free(s);
  tsr_config_free(cfg);
  return rc;
}

/* gzip text in one member, with a full flush half way; *flush_at is the
 * compressed size at the flush point. */
static unsigned char *gzip_text(const char *text, size_t n, size_t *zn, size_t *flush_at) {
  size_t cap = n + 4096;
  unsigned char *z = malloc(cap);
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  cr_assert_eq(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = (Bytef *)(uintptr_t)text;
  zs.avail_in = (uInt)(n / 2);
  zs.next_out = z;
  zs.avail_out = (uInt)cap;
  cr_assert_eq(deflate(&zs, Z_FULL_FLUSH), Z_OK);
  *flush_at = cap - zs.avail_out;
  zs.avail_in = (uInt)(n - n / 2);
  cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
  *zn = cap - zs.avail_out;
  deflateEnd(&zs);
  return z;
}

/* Defect 3: a .csv.gz cut at a flush point was read as a shorter file. */
Test(defects, truncated_gzip_is_an_error) {
  size_t n, zn, at;
  char *text = basic_rows(20000, &n);
  unsigned char *z = gzip_text(text, n, &zn, &at);
  tsr_ingest_stats st;
  tsr_error err;
  cr_expect_eq(ingest_bytes("in.csv.gz", z, zn, &st, &err), 0, "the whole file reads: %s", err.msg);
  cr_expect_eq(st.rows_stored, 20000u);
  int rc = ingest_bytes("in.csv.gz", z, at, &st, &err);
  cr_expect_eq(rc, TSR_EIO, "cut at the flush point: rc %d", rc);
  cr_expect(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
  cr_expect(strstr(err.file, "in.csv.gz") != NULL, "%s", err.file);
  rc = ingest_bytes("in.csv.gz", z, zn - 4, &st, &err); /* the size field of the trailer missing */
  cr_expect_eq(rc, TSR_EIO);
  cr_expect(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
  rc = ingest_bytes("in.csv.gz", z, 12, &st, &err); /* inside the header: not "empty" */
  cr_expect_eq(rc, TSR_EIO);
  cr_expect(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
  for (size_t cut = 1; cut < 10; cut++) { /* shorter than the 10-byte header, even the first byte alone */
    rc = ingest_bytes("in.csv.gz", z, cut, &st, &err);
    cr_expect_eq(rc, TSR_EIO, "cut at %zu: rc %d", cut, rc);
    cr_expect(strstr(err.msg, "truncated") != NULL, "cut at %zu: %s", cut, err.msg);
  }
  free(z);
  free(text);
}

Test(defects, multi_member_gzip_reads_every_member) {
  size_t n, zn1, zn2, at;
  char *text = basic_rows(3000, &n);
  char *cut = strchr(text + n / 2, '\n') + 1; /* two members, split at a line */
  size_t n1 = (size_t)(cut - text);
  unsigned char *z1 = gzip_text(text, n1, &zn1, &at), *z2 = gzip_text(cut, n - n1, &zn2, &at);
  unsigned char *both = malloc(zn1 + zn2);
  memcpy(both, z1, zn1);
  memcpy(both + zn1, z2, zn2);
  tsr_ingest_stats st;
  tsr_error err;
  cr_expect_eq(ingest_bytes("in.csv.gz", both, zn1 + zn2, &st, &err), 0, "%s", err.msg);
  cr_expect_eq(st.rows_stored, 3000u);
  cr_expect_eq(ingest_bytes("in.csv.gz", both, zn1 + zn2 / 2, &st, &err), TSR_EIO, "second member cut");
  cr_expect(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
  free(both);
  free(z1);
  free(z2);
  free(text);
}

/* Defect 4: a .csv.zst whose last frame is cut short was read as a shorter
 * (or an "empty") file. */
Test(defects, truncated_zstd_is_an_error) {
  size_t n;
  char *text = basic_rows(40000, &n);
  /* two frames, so a cut inside the second leaves a complete first one */
  size_t n1 = (size_t)(strchr(text + n / 2, '\n') + 1 - text);
  size_t cap = ZSTD_compressBound(n) + 64;
  unsigned char *z = malloc(cap);
  size_t a = ZSTD_compress(z, cap, text, n1, 3);
  cr_assert(!ZSTD_isError(a));
  size_t b = ZSTD_compress(z + a, cap - a, text + n1, n - n1, 3);
  cr_assert(!ZSTD_isError(b));
  tsr_ingest_stats st;
  tsr_error err;
  cr_expect_eq(ingest_bytes("in.csv.zst", z, a + b, &st, &err), 0, "%s", err.msg);
  cr_expect_eq(st.rows_stored, 40000u);
  size_t cuts[3] = {a + b / 2, a + b - 1, 20};
  for (int i = 0; i < 3; i++) {
    int rc = ingest_bytes("in.csv.zst", z, cuts[i], &st, &err);
    cr_expect_eq(rc, TSR_EIO, "cut at %zu: rc %d", cuts[i], rc);
    cr_expect(strstr(err.msg, "truncated") != NULL, "cut at %zu: %s", cuts[i], err.msg);
    cr_expect(strstr(err.msg, "empty") == NULL, "%s", err.msg);
    cr_expect(strstr(err.file, "in.csv.zst") != NULL);
  }
  free(z);
  free(text);
}

/* Smaller defect: the "column not in the header" error listed the whole first
 * line, a data row when the file has no header. */
Test(defects, header_error_does_not_echo_a_data_row) {
  const char *csv = "1,4474035879,Diane,Secretname\n";
  tsr_store *s;
  tsr_ingest_stats st;
  char *rej;
  tsr_error err;
  cr_assert_eq(ingest_text(k_cfg_basic, csv, strlen(csv), 0, 1, &s, &st, &rej, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "Secretname") == NULL && strstr(err.msg, "4474035879") == NULL, "%s", err.msg);
  cr_expect(strstr(err.msg, "\"id\" is not in the header") != NULL, "%s", err.msg);
  cr_expect_eq(err.line, 1u);
  free(rej);
}

/* Defect 2: two rows of one source with the same record id were accepted. */
Test(defects, duplicate_record_id_is_an_error_naming_both_lines) {
  tsr_store *s;
  tsr_ingest_stats st;
  char *rej;
  tsr_error err;
  const char *dup = "id,name\n1,a\n2,\"b\nc\"\n\n1,d\n3,e\n";
  cr_assert_eq(ingest_text(k_cfg_basic, dup, strlen(dup), 0, 1, &s, &st, &rej, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "record id \"1\"") != NULL, "%s", err.msg);
  cr_expect(strstr(err.msg, "at lines 2 and 6") != NULL, "%s", err.msg);
  cr_expect_eq(err.line, 6u);
  cr_expect_eq(err.column, 1u);
  cr_expect(strstr(err.file, "in.csv") != NULL);
  free(rej);
  /* side by side in an otherwise increasing file: the in-order pass must see it */
  const char *adjacent = "id,name\n1,a\n2,b\n2,c\n3,d\n";
  cr_assert_eq(ingest_text(k_cfg_basic, adjacent, strlen(adjacent), 0, 1, &s, &st, &rej, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "record id \"2\"") != NULL && strstr(err.msg, "at lines 3 and 4") != NULL, "%s",
            err.msg);
  free(rej);
  const char *unsorted = "id,name\n3,a\n1,b\n10,c\n2,d\n";
  cr_assert_eq(ingest_text(k_cfg_basic, unsorted, strlen(unsorted), 0, 1, &s, &st, &rej, &err), 0, "%s", err.msg);
  cr_expect_eq(st.rows_stored, 4u);
  tsr_store_free(s);
  free(rej);
}

Test(defects, duplicate_record_id_found_at_any_thread_count, .timeout = 60) {
  size_t cap = 2 << 20, n = 0;
  char *csv = malloc(cap);
  n += (size_t)sprintf(csv + n, "id,name\n");
  for (int i = 1; i <= 60000; i++) n += (size_t)sprintf(csv + n, "%d,\"name %d\"\n", i == 50000 ? 7 : i, i % 97);
  char *dir = mktmp();
  write_file(dir, "in.csv", csv, n);
  const char *cj = "{\"sources\": [{\"name\": \"s\", \"path\": \"in.csv\", \"id\": \"id\", \"columns\": {"
                   "\"id\": {\"kind\": \"integer\"}, \"name\": {\"kind\": \"family_name\"}}}]}";
  write_file(dir, "c.json", cj, strlen(cj));
  char cfgp[600];
  snprintf(cfgp, sizeof cfgp, "%s/c.json", dir);
  for (int t = 1; t <= 2; t++) {
    tsr_ingest_stats st;
    tsr_error err;
    cr_expect_eq(ingest_cfg(cfgp, dir, t, t == 2 ? 8192 : 0, &st, NULL, NULL, &err), TSR_EPARSE);
    cr_expect(strstr(err.msg, "record id \"7\" (column id) appears twice, at lines 8 and 50001") != NULL, "%s",
              err.msg);
  }
  free(csv);
}

/* Counts reconcile under parallel ingest with many segments: rows read =
 * stored + rejected, and rejects.csv holds exactly one row per reject, in line
 * order, from every segment (not just the first). */
Test(ingest, parallel_ingest_reconciles_with_rejects_csv, .timeout = 120) {
  gen_data();
  char *all = slurp(g_gen_dir, "gp.csv");
  size_t n = strlen(all);
  char *bad = malloc(n * 2 + 1024);
  size_t k = 0, line = 0, corrupted = 0;
  uint64_t want_lines[4096];
  for (char *p = all; *p;) {
    char *e = strchr(p, '\n');
    size_t l = e ? (size_t)(e - p) + 1 : strlen(p);
    line++;
    memcpy(bad + k, p, l);
    k += l;
    if (line > 1 && line % 97 == 0 && e) { /* an extra field on every 97th line */
      k--;
      memcpy(bad + k, ",extra\n", 7);
      k += 7;
      want_lines[corrupted++] = line;
    }
    p += l;
  }
  cr_assert_gt(corrupted, 40u);
  char *dir = mktmp();
  write_file(dir, "gpbad.csv", bad, k);
  char *cfg = gp_config(dir, "gpbad.csv", NULL);
  uint64_t d1 = 0;
  for (int t = 1; t <= 2; t++) {
    tsr_ingest_stats st;
    tsr_error err;
    char *rej;
    uint64_t d;
    cr_assert_eq(ingest_cfg(cfg, dir, t, t == 2 ? 16 << 10 : 0, &st, &d, &rej, &err), 0, "%s", err.msg);
    cr_expect_eq(st.rows_read, line - 1);
    cr_expect_eq(st.rows_read, st.rows_stored + st.rows_rejected);
    cr_expect_eq(st.rows_rejected, corrupted);
    cr_expect_eq(st.rejects[TSR_REJECT_FIELD_COUNT], corrupted);
    cr_expect_eq(count_lines(rej), corrupted + 1, "threads %d: one rejects.csv row per reject", t);
    /* every corrupted line, in order */
    char *p = strchr(rej, '\n') + 1;
    for (size_t i = 0; i < corrupted && p && *p; i++) {
      cr_expect_eq(strtoull(p + 3, NULL, 10), want_lines[i], "reject %zu", i);
      p = strchr(p, '\n');
      if (p) p++;
    }
    if (t == 1) d1 = d;
    cr_expect_eq(d, d1);
    free(rej);
  }
  free(cfg);
  free(bad);
  free(all);
}

/* Defect 10: rejects.csv is opened by people in spreadsheets; a raw row that
 * starts like a formula must be shown as text (a leading apostrophe). */
Test(defects, rejects_csv_defuses_formulas) {
  const char *csv = "id,name\n=cmd|' /C calc'!A0\n@SUM(A1),x,y\n2,\"jo\"nes\n-1+1\n";
  tsr_store *s;
  tsr_ingest_stats st;
  char *rej;
  tsr_error err;
  cr_assert_eq(ingest_text(k_cfg_basic, csv, strlen(csv), 0, 1, &s, &st, &rej, &err), 0, "%s", err.msg);
  cr_expect_eq(st.rows_rejected, 4u);
  cr_expect(strstr(rej, "\ns,2,0,field_count,\"expected 2 fields, found 1\",'=cmd|' /C calc'!A0\n") != NULL, "%s",
            rej);
  cr_expect(strstr(rej, "\ns,3,0,field_count,\"expected 2 fields, found 3\",\"'@SUM(A1),x,y\"\n") != NULL, "%s", rej);
  cr_expect(strstr(rej, ",\"2,\"\"jo\"\"nes\"\n") != NULL, "quotes doubled: %s", rej);
  cr_expect(strstr(rej, ",'-1+1\n") != NULL, "%s", rej);
  tsr_store_free(s);
  free(rej);
}

/* Field quality: counts, the likely cause, and examples with their lines, the
 * same at any thread count. */
static const char *k_cfg_dob =
    "{\"sources\": [{\"name\": \"h\", \"path\": \"in.csv\", \"id\": \"id\", \"columns\": {"
    "\"id\": {\"kind\": \"local_id\"}, \"dob\": {\"kind\": \"date\", \"format\": \"YYYY-MM-DD\", \"max\": "
    "\"2025-12-31\"}, \"nhs\": {\"kind\": \"nhs_number\"}}}]}";

Test(quality, mostly_invalid_dates_warn_with_cause_and_examples) {
  size_t cap = 1 << 20, n = 0;
  char *csv = malloc(cap);
  n += (size_t)sprintf(csv + n, "id,dob,nhs\n");
  for (int i = 1; i <= 5000; i++) {
    /* 3 in 4 before 1895; every 50th not a date at all */
    const char *dob = i % 50 == 0 ? "06/05/1994" : i % 4 ? "1850-01-02" : "1994-05-06";
    n += (size_t)sprintf(csv + n, "%d,%s,%s\n", i, dob, i % 2 ? "9434765919" : "");
  }
  char *dir = mktmp();
  write_file(dir, "in.csv", csv, n);
  write_file(dir, "c.json", k_cfg_dob, strlen(k_cfg_dob));
  char cfgp[600];
  snprintf(cfgp, sizeof cfgp, "%s/c.json", dir);
  for (int t = 1; t <= 2; t++) {
    tsr_config *cfg;
    tsr_error err;
    cr_assert_eq(tsr_config_load(cfgp, &cfg, &err), 0, "%s", err.msg);
    tsr_ingest_opts o;
    tsr_ingest_opts_init(&o);
    o.threads = t;
    o.segment_bytes = 4096;
    tsr_store *s;
    tsr_ingest_stats st;
    cr_assert_eq(tsr_ingest_source(&cfg->sources[0], &o, &s, &st, &err), 0, "%s", err.msg);
    const tsr_column *c = tsr_store_field(s, "dob");
    /* 100 rows (every 50th) in another layout; of the other 4900, the 3700 with i % 4 != 0 are too old */
    cr_expect_eq(c->n_invalid, 3800u, "threads %d", t);
    cr_expect_eq(c->n_below_min, 3700u);
    cr_expect_eq(c->n_examples, 3u);
    cr_expect_eq(c->examples[0].line, 2u);
    cr_expect_str_eq(c->examples[0].value, "1850-01-02");
    cr_expect_eq(c->examples[1].line, 3u);
    cr_expect_eq(c->examples[2].line, 4u);
    char w[512];
    cr_expect_eq(tsr_ingest_field_warning(&cfg->sources[0], s, "dob", w, sizeof w), 1);
    cr_expect(strstr(w, "field dob of source h is mostly missing or invalid: 3800 of 5000 rows (3800 invalid, 0 "
                        "empty); 3700 are dates before 1895-01-01, outside 1895-01-01..2025-12-31: set `min`; e.g. "
                        "line 2: \"1850-01-02\", line 3: \"1850-01-02\", line 4: \"1850-01-02\"") != NULL,
              "%s", w);
    cr_expect_eq(tsr_ingest_field_warning(&cfg->sources[0], s, "nhs", w, sizeof w), 0, "half missing is not most");
    cr_expect_str_eq(w, "");
    cr_expect_eq(tsr_ingest_field_warning(&cfg->sources[0], s, "id", w, sizeof w), 0);
    cr_expect_eq(tsr_ingest_field_warning(&cfg->sources[0], s, "nope", w, sizeof w), 0);
    /* inspect shows the examples, in text and JSON */
    char path[700];
    snprintf(path, sizeof path, "%s/profile.txt", dir);
    FILE *f = fopen(path, "w");
    cr_assert_eq(tsr_store_profile(s, &st, 0, 3, f), 0);
    fclose(f);
    char *txt = slurp(dir, "profile.txt");
    cr_expect(strstr(txt, "invalid, e.g. line 2: \"1850-01-02\", line 3: \"1850-01-02\", line 4: \"1850-01-02\"") !=
                  NULL,
              "%s", txt);
    free(txt);
    f = fopen(path, "w");
    cr_assert_eq(tsr_store_profile(s, &st, 1, 3, f), 0);
    fclose(f);
    txt = slurp(dir, "profile.txt");
    cr_expect(strstr(txt, "\"invalid_examples\": [\n        {\n          \"line\": 2,\n          \"value\": "
                          "\"1850-01-02\"") != NULL,
              "%s", txt);
    cr_expect(strstr(txt, "\"below_min\": 3700") != NULL);
    cr_expect(strstr(txt, "0000000") == NULL, "reals printed sanely");
    free(txt);
    tsr_store_free(s);
    tsr_config_free(cfg);
  }
  free(csv);
}

Test(quality, mostly_empty_and_wrong_format) {
  const char *csv = "id,dob,nhs\n1,06/05/1994,\n2,07/05/1994,\n3,1994-05-06,\n";
  tsr_store *s;
  tsr_ingest_stats st;
  char *rej;
  tsr_error err;
  cr_assert_eq(ingest_text(k_cfg_dob, csv, strlen(csv), 0, 1, &s, &st, &rej, &err), 0, "%s", err.msg);
  char w[512];
  tsr_config *cfg;
  cr_assert_eq(tsr_config_parse(k_cfg_dob, strlen(k_cfg_dob), "t.json", "/tmp", &cfg, &err), 0);
  cr_expect_eq(tsr_ingest_field_warning(&cfg->sources[0], s, "dob", w, sizeof w), 1);
  cr_expect(strstr(w, "2 of 3 rows (2 invalid, 0 empty); they are not real dates in the format YYYY-MM-DD: set "
                      "`format`; e.g. line 2: \"06/05/1994\", line 3: \"07/05/1994\"") != NULL,
            "%s", w);
  cr_expect_eq(tsr_ingest_field_warning(&cfg->sources[0], s, "nhs", w, sizeof w), 1);
  cr_expect(strstr(w, "3 of 3 rows (0 invalid, 3 empty); they are empty or null tokens: check that column nhs "
                      "holds nhs") != NULL,
            "%s", w);
  tsr_config_free(cfg);
  tsr_store_free(s);
  free(rej);
}

/* inspect --json printed 1 - 7/10 as 0.30000000000000004 */
Test(quality, profile_json_prints_reals_sanely) {
  const char *csv = "id,name\n1,a\n2,b\n3,c\n4,\n5,\n6,\n7,\n8,\n9,\n10,\n";
  tsr_store *s;
  tsr_ingest_stats st;
  char *rej;
  tsr_error err;
  cr_assert_eq(ingest_text(k_cfg_basic, csv, strlen(csv), 0, 1, &s, &st, &rej, &err), 0, "%s", err.msg);
  char *dir = mktmp();
  char path[600];
  snprintf(path, sizeof path, "%s/p.json", dir);
  FILE *f = fopen(path, "w");
  cr_assert_eq(tsr_store_profile(s, &st, 1, 2, f), 0);
  fclose(f);
  char *txt = slurp(dir, "p.json");
  cr_expect(strstr(txt, "\"complete\": 0.3,") != NULL, "%s", txt);
  cr_expect(strstr(txt, "0.30000000000000004") == NULL);
  free(txt);
  tsr_store_free(s);
  free(rej);
}

/* --- threads 0 means all cores, in ingest too -------------------------------------------
 * The team a parallel region asks for is not visible in the store (which is
 * the same for any thread count, by design), so this file wraps libgomp's
 * entry point: GCC compiles every "omp parallel" to a GOMP_parallel call
 * with the team size it wants, and the static library's calls resolve to
 * this definition first, which records the size and runs the real one. */
static unsigned g_team_max;
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags) {
  static void (*real)(void (*)(void *), void *, unsigned, unsigned);
  if (!real) {
    void *sym = dlsym(RTLD_NEXT, "GOMP_parallel");
    cr_assert_not_null(sym, "libgomp's GOMP_parallel not found");
    memcpy(&real, &sym, sizeof real);
  }
  if (num_threads > g_team_max) g_team_max = num_threads;
  real(fn, data, num_threads, flags);
}

Test(ingest, threads_zero_means_all_cores) {
  omp_set_num_threads(2);
  size_t n;
  char *text = basic_rows(5000, &n);
  /* 1 first: a runtime that never calls GOMP_parallel (clang's libomp) shows
   * no team sizes, and the test cannot tell anything there */
  static const int order[3] = {1, 0, 2};
  for (int k = 0; k < 3; k++) {
    int threads = order[k];
    char *dir = mktmp();
    write_file(dir, "in.csv", text, n);
    tsr_config *cfg;
    tsr_error err;
    cr_assert_eq(tsr_config_parse(k_cfg_basic, strlen(k_cfg_basic), "t.json", dir, &cfg, &err), 0, "%s", err.msg);
    tsr_ingest_opts o;
    tsr_ingest_opts_init(&o);
    o.threads = threads;
    o.segment_bytes = 4096; /* several segments: the cut and parse regions run in parallel too */
    tsr_store *s = NULL;
    tsr_ingest_stats st;
    g_team_max = 0;
    cr_assert_eq(tsr_ingest_source(&cfg->sources[0], &o, &s, &st, &err), 0, "%s", err.msg);
    cr_expect_eq(st.rows_stored, 5000u);
    if (threads == 1 && g_team_max == 0) {
      tsr_store_free(s);
      tsr_config_free(cfg);
      free(text);
      cr_skip_test("the OpenMP runtime does not go through GOMP_parallel: team sizes are not observable");
    }
    cr_expect_eq(g_team_max, threads ? (unsigned)threads : 2u, "threads %d: teams of up to %u threads", threads,
                 g_team_max);
    tsr_store_free(s);
    tsr_config_free(cfg);
  }
  free(text);
}
