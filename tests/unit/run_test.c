/* Unit tests for the run stage and the run folder: the linkage result
 * (patient ids, deciding steps, per-patient facts) pinned on a hand-worked
 * fixture, the same result at 1 and 2 threads, and the output-folder
 * defects of issue 8: a failed run leaves the folder as it found it (5), a
 * folder holding another run is refused unless overwrite, which replaces
 * the whole set and writes manifest.json (6), and temporary files that
 * cannot be redirected by a planted symlink and honour the umask (11). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common_internal.h"
#include "tessera/link.h"
#include "tessera/run.h"
#include "test_util.h"

/* valid NHS numbers (modulus 11) */
#define NA "9434765919"
#define NB "4010232137"
#define NC "4505577104"
#define ND "4000000020"

static void write_file(const char *dir, const char *name, const char *data) {
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  cr_assert_not_null(f, "%s", p);
  fputs(data, f);
  fclose(f);
}

static char *snapshot(const char *dir);

/* A file's content; a folder's snapshot (below); NULL when missing. */
static char *slurp(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return NULL;
  if (S_ISDIR(st.st_mode)) {
    char *inner = snapshot(path);
    char *r = malloc(strlen(inner) + 16);
    sprintf(r, "(folder)\n%s", inner);
    free(inner);
    return r;
  }
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  size_t got = fread(b, 1, (size_t)n, f);
  b[got] = '\0';
  fclose(f);
  return b;
}

static int exists(const char *dir, const char *name) {
  char p[700];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  struct stat st;
  return lstat(p, &st) == 0;
}

/* --- fixture ------------------------------------------------------------------
 * gids: gp rows 0..3, then hes rows 4..7.
 *   step 1 (nhs):        g0 h0 h1 (NA), g1 h2 (NB)
 *   step 2 (dob + pc):   g3 h3 (different NHS numbers: a conflict)
 *   g2 stays alone.
 * patients (numbered by smallest gid): 1 = {g0,h0,h1}, 2 = {g1,h2}, 3 = {g2},
 * 4 = {g3,h3}. */
static const char *GP = "id,nhs,dob,pc,given,reg\n"
                        "g0," NA ",1980-01-02,LS1 4AP,ANN,2010-05-01\n"
                        "g1," NB ",1975-03-04,M1 1AA,BEN,2012-01-01\n"
                        "g2,,1990-01-01,B1 1AA,CAT,\n"
                        "g3," NC ",2000-01-01,S1 2BB,DAN,2019-02-02\n";
static const char *HES = "id,nhs,dob,pc,provider,admidate\n"
                         "h0," NA ",1980-01-02,LS1 4AP,RXX,2015-06-07\n"
                         "h1," NA ",1980-01-02,LS1 4AP,RYY,2009-01-01\n"
                         "h2," NB ",1975-03-04,M1 1AA,RXX,\n"
                         "h3," ND ",2000-01-01,S1 2BB,RYY,2020-01-01\n";

#define CFG_FMT                                                                                                      \
  "{\"sources\": ["                                                                                                  \
  "{\"name\": \"gp\", \"path\": \"gp.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"text\"},"             \
  " \"nhs\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"}, \"dob\": {\"kind\": \"date\"},"                 \
  " \"pc\": {\"field\": \"postcode\", \"kind\": \"postcode\"}, \"given\": {\"field\": \"given_name\", \"kind\": "    \
  "\"given_name\"}, \"reg\": {\"kind\": \"date\"}}},"                                                                 \
  "{\"name\": \"hes\", \"path\": \"%s\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"text\"},"               \
  " \"nhs\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"}, \"dob\": {\"kind\": \"date\"},"                 \
  " \"pc\": {\"field\": \"postcode\", \"kind\": \"postcode\"}, \"provider\": {\"kind\": \"code\"},"                  \
  " \"admidate\": {\"kind\": \"date\"}%s}}],"                                                                         \
  " \"link\": {\"mode\": \"link_and_dedupe\", \"rules\": [{\"name\": \"nhs\", \"fields\": [\"nhs_number\"]},"        \
  " {\"name\": \"dob_pc\", \"fields\": [\"dob\", \"postcode\"]}]}, \"output\": {\"csv\": %s}}"

/* Writes the fixture into a new folder; returns the config path. The hes
 * file and an extra hes column can be swapped to make a run fail. */
static char *fixture_cfg(const char *hes_name, const char *hes_data, const char *extra_col, int csv) {
  char *dir = tsr_test_tmpdir("run");
  cr_assert_not_null(dir);
  write_file(dir, "gp.csv", GP);
  write_file(dir, hes_name, hes_data);
  char cfg[4096];
  snprintf(cfg, sizeof cfg, CFG_FMT, hes_name, extra_col, csv ? "true" : "false");
  write_file(dir, "run.json", cfg);
  char *p = malloc(700);
  snprintf(p, 700, "%s/run.json", dir);
  return p;
}

static tsr_config *load_cfg(const char *path) {
  tsr_config *cfg = NULL;
  tsr_error err;
  int rc = tsr_config_load(path, &cfg, &err);
  cr_assert_eq(rc, 0, "config: %s", err.msg);
  return cfg;
}

/* memory_limit: after loading the config, allow only 64 KiB more. */
static int link_into_limited(const char *cfg_path, const char *out, int overwrite, int memory_limit, tsr_error *err) {
  tsr_config *cfg = load_cfg(cfg_path);
  if (memory_limit) tsr_memory_limit_set(tsr_memory_in_use() + 65536);
  tsr_link_opts o;
  tsr_link_opts_init(&o);
  o.threads = 1;
  o.out_dir = out;
  o.overwrite = overwrite;
  static const char *const argv[] = {"tessera", "link", "--test"};
  o.argc = 3;
  o.argv = argv;
  int rc = tsr_link_run(cfg, &o, NULL, err);
  tsr_memory_limit_set(0);
  tsr_config_free(cfg);
  return rc;
}

static int link_into(const char *cfg_path, const char *out, int overwrite, tsr_error *err) {
  return link_into_limited(cfg_path, out, overwrite, 0, err);
}

/* --- the linkage result ------------------------------------------------------- */

Test(run, linkage_result_on_a_hand_worked_fixture) {
  char *cp = fixture_cfg("hes.csv", HES, "", 0);
  tsr_config *cfg = load_cfg(cp);
  tsr_run_opts ro;
  tsr_run_opts_init(&ro);
  ro.threads = 2;
  tsr_linkage *L = NULL;
  tsr_error err;
  int rc = tsr_run_linkage(cfg, &ro, &L, &err);
  cr_assert_eq(rc, 0, "%s", err.msg);
  cr_assert_eq(tsr_linkage_records(L), 8);
  cr_assert_eq(tsr_linkage_nsources(L), 2);
  cr_expect_str_eq(tsr_linkage_source_name(L, 1), "hes");
  cr_expect_eq(tsr_linkage_source_base(L, 1), 4);
  cr_expect_eq(tsr_linkage_source_base(L, 2), 8);
  cr_expect_eq(tsr_linkage_source_of(L, 3), 0);
  cr_expect_eq(tsr_linkage_source_of(L, 4), 1);
  cr_expect_eq(tsr_linkage_threads(L), 2);
  cr_expect_eq(tsr_linkage_nrules(L), 2);
  cr_expect_str_eq(tsr_linkage_rule_name(L, 1), "nhs");
  cr_expect_str_eq(tsr_linkage_rule_name(L, 2), "dob_pc");
  cr_expect_null(tsr_linkage_rule_name(L, 0));
  cr_expect_null(tsr_linkage_rule_name(L, 3));
  cr_expect_null(tsr_linkage_weights(L), "deterministic steps carry no weight");
  static const int64_t want_pid[8] = {1, 2, 3, 4, 1, 1, 2, 4};
  static const uint8_t want_step[8] = {1, 1, 0, 2, 1, 1, 1, 2};
  const int64_t *pid = tsr_linkage_patient_ids(L);
  const uint8_t *step = tsr_linkage_steps(L);
  for (int g = 0; g < 8; g++) {
    cr_expect_eq(pid[g], want_pid[g], "gid %d: patient %lld", g, (long long)pid[g]);
    cr_expect_eq(step[g], want_step[g], "gid %d: step %d", g, step[g]);
  }
  cr_assert_eq(tsr_linkage_patients(L), 4);
  cr_expect_eq(tsr_linkage_records_linked(L), 7);
  const tsr_patient_facts *F = tsr_linkage_facts(L);
  cr_assert_eq(F->n, 4);
  cr_assert_eq(F->nsrc, 2);
  static const uint32_t want_rec[4] = {3, 2, 1, 2}, want_by[8] = {1, 2, 1, 1, 1, 0, 1, 1};
  for (int p = 0; p < 4; p++) cr_expect_eq(F->records[p], want_rec[p], "patient %d", p + 1);
  for (int i = 0; i < 8; i++) cr_expect_eq(F->by_source[i], want_by[i], "by_source[%d]", i);
  /* event dates: gp reg, hes admidate (dob is never an event date) */
  cr_expect_eq(F->first_seen[0], 14245); /* 2009-01-01 */
  cr_expect_eq(F->last_seen[0], 16593);  /* 2015-06-07 */
  cr_expect_eq(F->first_seen[1], 15340); /* 2012-01-01 */
  cr_expect_eq(F->last_seen[1], 15340);
  cr_expect_eq(F->first_seen[2], TSR_DATE_NONE);
  cr_expect_eq(F->last_seen[2], TSR_DATE_NONE);
  cr_expect_eq(F->first_seen[3], 17929); /* 2019-02-02 */
  cr_expect_eq(F->last_seen[3], 18262);  /* 2020-01-01 */
  cr_expect_eq(F->nhs_min[0], 9434765919ull);
  cr_expect_eq(F->nhs_max[0], 9434765919ull);
  cr_expect_eq(F->nhs_min[2], 0);
  cr_expect_eq(F->nhs_max[2], 0);
  cr_expect_eq(F->nhs_min[3], 4000000020ull, "a conflict shows as two ends");
  cr_expect_eq(F->nhs_max[3], 4505577104ull);
  cr_expect(tsr_patient_nhs_conflict(F, 3));
  cr_expect(!tsr_patient_nhs_conflict(F, 0));
  cr_expect(!tsr_patient_nhs_conflict(F, 2), "no NHS number is no conflict");
  const tsr_rule_stats *r1 = tsr_linkage_rule_stats(L, 1), *r2 = tsr_linkage_rule_stats(L, 2);
  cr_assert_not_null(r1);
  cr_expect_eq(r1->records_linked, 5);
  cr_expect_eq(r1->records_linked_by_source[0], 2);
  cr_expect_eq(r1->records_linked_by_source[1], 3);
  cr_expect_eq(r1->eligible, 7);
  cr_expect_eq(r2->records_linked, 2);
  cr_expect_gt(r1->n_top, 0);
  cr_expect_eq(r1->top[0].records, 3);
  cr_expect_str_eq(r1->top[0].key, "nhs_number=" NA);
  cr_expect_null(tsr_linkage_rule_stats(L, 3));
  /* stages so far: ingest per source, block and link, cluster */
  cr_assert_eq(tsr_linkage_nstages(L), 4);
  cr_expect_str_eq(tsr_linkage_stage(L, 0)->name, "ingest gp");
  cr_expect_str_eq(tsr_linkage_stage(L, 3)->name, "cluster");
  cr_expect_eq(tsr_linkage_add_stage(L, "later", tsr_run_clock()), 0);
  cr_expect_eq(tsr_linkage_nstages(L), 5);
  cr_expect_null(tsr_linkage_stage(L, 5));
  tsr_linkage_free(L);
  tsr_linkage_free(NULL);
  tsr_config_free(cfg);
  free(cp);
}

Test(run, same_result_at_one_and_two_threads) {
  char *cp = fixture_cfg("hes.csv", HES, "", 0);
  tsr_config *cfg = load_cfg(cp);
  tsr_linkage *L[2];
  tsr_error err;
  for (int t = 0; t < 2; t++) {
    tsr_run_opts ro;
    tsr_run_opts_init(&ro);
    ro.threads = t + 1;
    cr_assert_eq(tsr_run_linkage(cfg, &ro, &L[t], &err), 0, "%s", err.msg);
  }
  uint64_t n = tsr_linkage_records(L[0]);
  cr_assert_eq(memcmp(tsr_linkage_patient_ids(L[0]), tsr_linkage_patient_ids(L[1]), n * sizeof(int64_t)), 0);
  cr_assert_eq(memcmp(tsr_linkage_steps(L[0]), tsr_linkage_steps(L[1]), n), 0);
  const tsr_patient_facts *a = tsr_linkage_facts(L[0]), *b = tsr_linkage_facts(L[1]);
  cr_assert_eq(memcmp(a->first_seen, b->first_seen, a->n * sizeof(int32_t)), 0);
  cr_assert_eq(memcmp(a->nhs_max, b->nhs_max, a->n * sizeof(uint64_t)), 0);
  tsr_linkage_free(L[0]);
  tsr_linkage_free(L[1]);
  tsr_config_free(cfg);
  free(cp);
}

Test(run, no_rules_is_a_config_error) {
  char *cp = fixture_cfg("hes.csv", HES, "", 0);
  tsr_config *cfg = load_cfg(cp);
  cfg->link.n_rules = 0;
  tsr_linkage *L = (tsr_linkage *)1;
  tsr_error err;
  cr_expect_eq(tsr_run_linkage(cfg, NULL, &L, &err), TSR_ECONFIG);
  cr_expect_null(L);
  cfg->link.n_rules = 2;
  tsr_config_free(cfg);
  free(cp);
}

/* --- defect 5: a failed run leaves the folder as it found it -------------------- */

static int cmp_str(const void *a, const void *b) { return strcmp(a, b); }

/* Every entry of a folder (hidden ones too) with its content, as one text. */
static char *snapshot(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return strdup("(no folder)");
  char names[64][256];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < 64)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) snprintf(names[n++], 256, "%s", e->d_name);
  closedir(d);
  qsort(names, (size_t)n, 256, cmp_str);
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap);
  out[0] = '\0';
  for (int i = 0; i < n; i++) {
    char p[700];
    snprintf(p, sizeof p, "%.400s/%.255s", dir, names[i]);
    char *c = slurp(p);
    const char *body = c ? c : "(not a file)";
    size_t need = strlen(names[i]) + strlen(body) + 8;
    while (len + need >= cap) out = realloc(out, cap *= 2);
    len += (size_t)sprintf(out + len, "== %s\n%s\n", names[i], body);
    free(c);
  }
  return out;
}

/* Arrays, not pointers: Criterion runs each parameter in a new process. */
typedef struct fail_case {
  char name[32];     /* what goes wrong */
  char hes_name[16]; /* hes file name */
  char hes_data[128]; /* "" with no_data: the fixture's hes data */
  int no_data;
  char extra_col[48]; /* extra hes column config */
  int memory_limit;      /* set a tiny memory limit */
  int code;              /* the expected error */
} fail_case;

static fail_case fail_cases[] = {
    {"missing column", "hes.csv", "", 1, ", \"zzz\": {\"kind\": \"text\"}", 0, TSR_EPARSE},
    {"empty file", "hes.csv", "", 0, "", 0, TSR_EPARSE},
    {"rejects over the limit", "hes.csv", "id,nhs,dob,pc,provider,admidate\nh0,1,2\nh1," NA ",1980-01-02,LS1 4AP,RXX,\n",
     0, "", 0, TSR_EREJECTS},
    {"memory limit", "hes.csv", "", 1, "", 1, 0},
    {"missing file", "nothere.csv", "", 1, "", 0, 0},
};

ParameterizedTestParameters(run_folder, failed_run_leaves_folder_as_found) {
  return cr_make_param_array(fail_case, fail_cases, sizeof fail_cases / sizeof fail_cases[0]);
}

ParameterizedTest(fail_case *fc, run_folder, failed_run_leaves_folder_as_found) {
  /* a good run first, with the CSV copies */
  char *good = fixture_cfg("hes.csv", HES, "", 1);
  char *out = tsr_test_tmpdir("runout");
  cr_assert_not_null(out);
  tsr_error err;
  cr_assert_eq(link_into(good, out, 0, &err), 0, "%s", err.msg);
  cr_assert(exists(out, "rejects.csv") && exists(out, "links.csv") && exists(out, "manifest.json"));
  /* as if the earlier run had rejected a row: a header-only rejects.csv
   * written by the failed run must show */
  write_file(out, "rejects.csv", "source,line,column,reason,detail,raw\nhes,9,2,too_few_fields,,\"h9\"\n");
  char *before = snapshot(out);
  char *bad = fixture_cfg(fc->hes_name, fc->no_data ? HES : fc->hes_data, fc->extra_col, 0);
  if (strcmp(fc->hes_name, "hes.csv") != 0) {
    /* the configured file is missing */
    char p[700];
    snprintf(p, sizeof p, "%s", bad);
    char *slash = strrchr(p, '/');
    strcpy(slash + 1, fc->hes_name);
    unlink(p);
  }
  int rc = link_into_limited(bad, out, 1, fc->memory_limit, &err);
  cr_assert_neq(rc, 0, "%s: the run should fail", fc->name);
  if (fc->code) cr_expect_eq(rc, fc->code, "%s: %s", fc->name, err.msg);
  char *after = snapshot(out);
  cr_expect_str_eq(after, before, "%s: the folder changed", fc->name);
  /* and into a folder the run creates: it is gone again */
  char fresh[700];
  snprintf(fresh, sizeof fresh, "%s/new/deeper", out);
  rc = link_into_limited(bad, fresh, 0, fc->memory_limit, &err);
  cr_assert_neq(rc, 0);
  cr_expect(!exists(out, "new"), "%s: the folder the failed run created is still there", fc->name);
  char *again = snapshot(out);
  cr_expect_str_eq(again, before);
  free(before);
  free(after);
  free(again);
  free(good);
  free(bad);
}

Test(run_folder, rejects_over_limit_says_where_to_see_them) {
  char *bad = fixture_cfg("hes.csv", "id,nhs,dob,pc,provider,admidate\nh0,1,2\nh1," NA ",1980-01-02,LS1 4AP,RXX,\n",
                          "", 0);
  char *out = tsr_test_tmpdir("runout");
  char dir[700];
  snprintf(dir, sizeof dir, "%s/r", out);
  tsr_error err;
  cr_assert_eq(link_into(bad, dir, 0, &err), TSR_EREJECTS);
  cr_expect(strstr(err.msg, "nothing was written to") != NULL, "%s", err.msg);
  cr_expect(strstr(err.msg, "--rejects DIR") != NULL, "%s", err.msg);
  cr_expect(strstr(err.msg, "are in rejects.csv") == NULL, "%s", err.msg);
  cr_expect(!exists(out, "r"));
  free(bad);
}

/* --- defect 6: another run's files --------------------------------------------------- */

static const char *const leftovers[] = {"links.csv",        "manifest.json",          "report.json",
                                        "links.parquet.4242.tmp", ".rejects.csv.Ab3dE9.tmp", ".tessera-run.x1Y2z3",
                                        "links.parquet",    "patients.parquet",       "patients.csv",
                                        "report.html",      "rejects.csv"};

Test(run_folder, refuses_a_folder_holding_another_run) {
  char *cp = fixture_cfg("hes.csv", HES, "", 0);
  for (size_t i = 0; i < sizeof leftovers / sizeof leftovers[0]; i++) {
    char *out = tsr_test_tmpdir("runout");
    if (leftovers[i][1] == 't') {
      char p[700];
      snprintf(p, sizeof p, "%s/%s", out, leftovers[i]);
      cr_assert_eq(mkdir(p, 0700), 0);
    } else {
      write_file(out, leftovers[i], "old\n");
    }
    char *before = snapshot(out);
    tsr_error err;
    int rc = link_into(cp, out, 0, &err);
    cr_expect_eq(rc, TSR_EINVAL, "%s: not refused", leftovers[i]);
    cr_expect(strstr(err.msg, leftovers[i]) != NULL && strstr(err.msg, "--overwrite") != NULL, "%s", err.msg);
    char *after = snapshot(out);
    cr_expect_str_eq(after, before);
    free(before);
    free(after);
  }
  /* a folder with only unrelated files is fine, and they stay (temporary-
   * looking names that are not a run's output's included) */
  char *out = tsr_test_tmpdir("runout");
  write_file(out, "notes.txt", "mine\n");
  write_file(out, "notes.txt.123.tmp", "mine\n");
  write_file(out, ".notes.txt.AbCdEf.tmp", "mine\n");
  tsr_error err;
  cr_expect_eq(link_into(cp, out, 0, &err), 0, "%s", err.msg);
  cr_expect(exists(out, "notes.txt") && exists(out, "links.parquet"));
  cr_expect(exists(out, "notes.txt.123.tmp") && exists(out, ".notes.txt.AbCdEf.tmp"));
  /* and --overwrite leaves them too */
  cr_expect_eq(link_into(cp, out, 1, &err), 0, "%s", err.msg);
  cr_expect(exists(out, "notes.txt.123.tmp") && exists(out, ".notes.txt.AbCdEf.tmp") && exists(out, "notes.txt"));
  free(cp);
}

static void sha256_hex(const char *path, char hex[65]) {
  char *c = slurp(path);
  cr_assert_not_null(c, "%s", path);
  struct stat st;
  stat(path, &st);
  unsigned char h[32];
  crypto_hash_sha256(h, (const unsigned char *)c, (unsigned long long)st.st_size);
  sodium_bin2hex(hex, 65, h, 32);
  free(c);
}

Test(run_folder, overwrite_replaces_the_whole_set) {
  char *with_csv = fixture_cfg("hes.csv", HES, "", 1);
  char *no_csv = fixture_cfg("hes.csv", HES, "", 0);
  char *out = tsr_test_tmpdir("runout");
  tsr_error err;
  cr_assert_eq(link_into(with_csv, out, 0, &err), 0, "%s", err.msg);
  cr_assert(exists(out, "links.csv") && exists(out, "patients.csv"));
  /* an old manifest names an extra file; stale temporary files of killed runs */
  char mp[700];
  snprintf(mp, sizeof mp, "%s/manifest.json", out);
  json_t *m = json_load_file(mp, 0, NULL);
  cr_assert_not_null(m);
  json_array_append_new(json_object_get(m, "files"), json_pack("{s:s}", "name", "spells.parquet"));
  json_array_append_new(json_object_get(m, "files"), json_pack("{s:s}", "name", "../escape.txt"));
  cr_assert_eq(json_dump_file(m, mp, 0), 0);
  json_decref(m);
  write_file(out, "spells.parquet", "old\n");
  write_file(out, "links.parquet.4242.tmp", "stale\n");
  write_file(out, ".report.json.Zz9Yy8.tmp", "stale\n");
  write_file(out, "notes.txt", "mine\n");
  char stale_stage[700];
  snprintf(stale_stage, sizeof stale_stage, "%s/.tessera-run.AbCdEf", out);
  cr_assert_eq(mkdir(stale_stage, 0700), 0);
  write_file(stale_stage, "links.parquet", "half\n");
  cr_assert_eq(link_into(no_csv, out, 0, &err), TSR_EINVAL, "refused without overwrite");
  cr_assert_eq(link_into(no_csv, out, 1, &err), 0, "%s", err.msg);
  /* exactly the new set, plus the file that is not ours */
  DIR *d = opendir(out);
  struct dirent *e;
  char seen[1024] = "";
  int n = 0;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    strcat(seen, e->d_name);
    strcat(seen, " ");
    n++;
  }
  closedir(d);
  static const char *const want[] = {"links.parquet", "patients.parquet", "report.json", "report.html",
                                     "rejects.csv",   "manifest.json",    "notes.txt"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) cr_expect(exists(out, want[i]), "%s missing: %s", want[i], seen);
  cr_expect_eq(n, 7, "left over: %s", seen);
  /* the manifest: every file of the run with its SHA-256, the config, the command */
  m = json_load_file(mp, 0, NULL);
  cr_assert_not_null(m);
  json_t *files = json_object_get(m, "files");
  cr_assert_eq(json_array_size(files), 5, "the run's files, the manifest itself not included");
  size_t i;
  json_t *f;
  json_array_foreach(files, i, f) {
    const char *nm = json_string_value(json_object_get(f, "name"));
    char p[700], hex[65];
    snprintf(p, sizeof p, "%s/%s", out, nm);
    sha256_hex(p, hex);
    cr_expect_str_eq(json_string_value(json_object_get(f, "sha256")), hex, "%s", nm);
    struct stat st;
    stat(p, &st);
    cr_expect_eq(json_integer_value(json_object_get(f, "bytes")), st.st_size);
  }
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(files, 0), "name")), "links.parquet");
  for (size_t k = 1; k < json_array_size(files); k++)
    cr_expect_lt(strcmp(json_string_value(json_object_get(json_array_get(files, k - 1), "name")),
                        json_string_value(json_object_get(json_array_get(files, k), "name"))),
                 0, "manifest files in name order");
  char chex[65];
  sha256_hex(no_csv, chex);
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(m, "config"), "sha256")), chex);
  cr_expect_str_eq(json_string_value(json_object_get(json_object_get(m, "config"), "path")), no_csv);
  cr_expect_str_eq(json_string_value(json_object_get(m, "tessera_version")), tsr_version());
  cr_expect_str_eq(json_string_value(json_array_get(json_object_get(m, "command"), 2)), "--test");
  json_decref(m);
  free(with_csv);
  free(no_csv);
}

/* --- defect 11: temporary files ------------------------------------------------------ */

Test(outfile, planted_symlink_at_the_old_predictable_name) {
  char *dir = tsr_test_tmpdir("outf");
  write_file(dir, "target.txt", "secret\n");
  char target[600], link[700];
  snprintf(target, sizeof target, "%s/target.txt", dir);
  /* earlier versions wrote NAME.PID.tmp with O_TRUNC, following symlinks */
  snprintf(link, sizeof link, "%s/out.csv.%ld.tmp", dir, (long)getpid());
  cr_assert_eq(symlink(target, link), 0);
  tsr__outfile f;
  tsr_error err;
  cr_assert_eq(tsr__outfile_open(&f, dir, "out.csv", &err), 0, "%s", err.msg);
  cr_assert_eq(tsr__outfile_write(&f, "new\n", 4, &err), 0);
  cr_assert_eq(tsr__outfile_commit(&f, &err), 0, "%s", err.msg);
  char *t = slurp(target);
  cr_expect_str_eq(t, "secret\n", "the symlink's target was written");
  free(t);
  char p[700];
  snprintf(p, sizeof p, "%s/out.csv", dir);
  t = slurp(p);
  cr_expect_str_eq(t, "new\n");
  free(t);
  struct stat st;
  cr_expect_eq(lstat(p, &st), 0);
  cr_expect(S_ISREG(st.st_mode), "out.csv must be a plain file");
}

Test(outfile, names_are_unpredictable_and_never_follow_a_symlink) {
  char *dir = tsr_test_tmpdir("outf");
  write_file(dir, "target.txt", "secret\n");
  char target[600];
  snprintf(target, sizeof target, "%s/target.txt", dir);
  tsr__outfile a, b;
  tsr_error err;
  cr_assert_eq(tsr__outfile_open(&a, dir, "x.csv", &err), 0);
  cr_assert_eq(tsr__outfile_open(&b, dir, "x.csv", &err), 0);
  cr_expect_str_neq(a.tmp, b.tmp);
  const char *leaf = strrchr(a.tmp, '/') + 1;
  cr_expect_eq(strlen(leaf), strlen(".x.csv.") + TSR__TMP_LETTERS + strlen(".tmp"), "%s", leaf);
  cr_expect_eq(strncmp(leaf, ".x.csv.", 7), 0, "%s", leaf);
  cr_expect(tsr__is_tmp_name(leaf), "%s", leaf);
  tsr__outfile_abort(&a);
  tsr__outfile_abort(&b);
  cr_expect(!exists(dir, leaf), "abort removes the temporary file");
  /* a guessed name with a symlink on it (to a file, and dangling) is refused */
  char guess[700], dangling[700];
  snprintf(guess, sizeof guess, "%s/.x.csv.AAAAAA.tmp", dir);
  snprintf(dangling, sizeof dangling, "%s/.x.csv.BBBBBB.tmp", dir);
  cr_assert_eq(symlink(target, guess), 0);
  cr_assert_eq(symlink("/nonexistent/tsr_planted", dangling), 0);
  cr_expect_eq(tsr__create_new(guess), -EEXIST);
  cr_expect_eq(tsr__create_new(dangling), -EEXIST);
  char *t = slurp(target);
  cr_expect_str_eq(t, "secret\n");
  free(t);
  struct stat st;
  cr_expect_neq(stat("/nonexistent/tsr_planted", &st), 0);
  /* what counts as ours */
  cr_expect(tsr__is_tmp_name("links.parquet.123.tmp"));
  cr_expect(tsr__is_tmp_name(".links.parquet.a1B2c3.tmp"));
  cr_expect(!tsr__is_tmp_name("links.parquet"));
  cr_expect(!tsr__is_tmp_name("notes.tmp"));
  cr_expect(!tsr__is_tmp_name(".tmp"));
  cr_expect(!tsr__is_tmp_name(".x.a1B2c.tmp"), "five letters");
}

Test(outfile, files_honour_the_umask) {
  char *dir = tsr_test_tmpdir("outf");
  static const mode_t masks[] = {022, 027, 077, 0};
  for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
    mode_t old = umask(masks[i]);
    char name[32];
    snprintf(name, sizeof name, "m%zu.csv", i);
    tsr__outfile f;
    tsr_error err;
    cr_assert_eq(tsr__outfile_open(&f, dir, name, &err), 0);
    cr_assert_eq(tsr__outfile_commit(&f, &err), 0);
    umask(old);
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_expect_eq(st.st_mode & 0777, 0666 & ~masks[i], "umask %03o: mode %03o", masks[i], st.st_mode & 0777);
  }
}

/* --- the CSV copies follow the spreadsheet-injection rule (defect 10) ---------------- */

Test(run_folder, csv_copies_are_spreadsheet_safe) {
  const char *hes = "id,nhs,dob,pc,provider,admidate\n"
                    "\"=cmd|' /C calc'!A0\"," NA ",1980-01-02,LS1 4AP,RXX,2015-06-07\n"
                    "\"@x,\"\"y\"\"\r\"," NB ",1975-03-04,M1 1AA,RXX,\n"
                    "-1," NC ",2000-01-01,S1 2BB,RYY,2020-01-01\n";
  char *cp = fixture_cfg("hes.csv", hes, "", 1);
  char *out = tsr_test_tmpdir("runout");
  tsr_error err;
  cr_assert_eq(link_into(cp, out, 0, &err), 0, "%s", err.msg);
  char p[700];
  snprintf(p, sizeof p, "%s/links.csv", out);
  char *c = slurp(p);
  cr_assert_not_null(c);
  cr_expect(strstr(c, "\nhes,'=cmd|' /C calc'!A0,1,nhs,,true\n") != NULL, "%s", c);
  cr_expect(strstr(c, "\nhes,\"'@x,\"\"y\"\"\r\",2,nhs,,true\n") != NULL, "%s", c);
  cr_expect(strstr(c, "\nhes,'-1,4,nhs,,true\n") != NULL, "%s", c);
  cr_expect(strstr(c, "\ngp,g2,3,,,false\n") != NULL, "%s", c);
  free(c);
  snprintf(p, sizeof p, "%s/patients.csv", out);
  c = slurp(p);
  static const char head[] = "patient_id,n_records,n_gp,n_hes,first_seen,last_seen\n1,2,1,1,2010-05-01,2015-06-07\n";
  cr_expect_eq(strncmp(c, head, sizeof head - 1), 0, "%s", c);
  free(c);
  free(cp);
}

/* --- facts at their edges ------------------------------------------------------
 * A second fixture: every source has two event dates; some fall before 1970
 * (negative day numbers) and some are missing; one cluster mixes a missing
 * NHS number with a present one (no conflict). */
static const char *GP2 = "id,nhs,dob,pc,reg,dereg\n"
                         "a1," NA ",1940-01-02,LS1 4AP,1960-05-01,1965-01-01\n"
                         "a2,,1940-01-02,LS1 4AP,1962-01-01,\n"
                         "a3," NB ",1950-03-04,M1 1AA,,\n";
static const char *HES2 = "id,nhs,dob,pc,admidate,disdate\n"
                          "b1,,1950-03-04,M1 1AA,,1969-12-31\n"
                          "b2," NC ",1960-01-01,S1 2BB,2001-01-01,2001-02-03\n";
#define CFG2_FMT                                                                                              \
  "{\"sources\": ["                                                                                           \
  "{\"name\": \"gp\", \"path\": \"gp.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"text\"},"      \
  " \"nhs\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"}, \"dob\": {\"kind\": \"date\"},"          \
  " \"pc\": {\"field\": \"postcode\", \"kind\": \"postcode\"}, \"reg\": {\"kind\": \"date\"},"                \
  " \"dereg\": {\"kind\": \"date\"}}},"                                                                       \
  "{\"name\": \"hes\", \"path\": \"hes.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"text\"},"    \
  " \"nhs\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"}, \"dob\": {\"kind\": \"date\"},"          \
  " \"pc\": {\"field\": \"postcode\", \"kind\": \"postcode\"}, \"admidate\": {\"kind\": \"date\"},"           \
  " \"disdate\": {\"kind\": \"date\"}}}],"                                                                     \
  " \"link\": {\"mode\": \"link_and_dedupe\", \"rules\": [{\"name\": \"dob_pc\", \"fields\": [\"dob\", "      \
  "\"postcode\"]}]}}"

Test(run, facts_use_every_event_date_and_ignore_missing_values) {
  char *dir = tsr_test_tmpdir("run");
  cr_assert_not_null(dir);
  write_file(dir, "gp.csv", GP2);
  write_file(dir, "hes.csv", HES2);
  write_file(dir, "run.json", CFG2_FMT);
  char cp[600];
  snprintf(cp, sizeof cp, "%s/run.json", dir);
  tsr_config *cfg = load_cfg(cp);
  cr_assert_eq(cfg->sources[0].n_event_dates, 2);
  cr_assert_eq(cfg->sources[1].n_event_dates, 2);
  tsr_linkage *L = NULL;
  tsr_error err;
  cr_assert_eq(tsr_run_linkage(cfg, NULL, &L, &err), 0, "%s", err.msg);
  /* patients: 1 = {a1, a2}, 2 = {a3, b1}, 3 = {b2} */
  static const int64_t want_pid[5] = {1, 1, 2, 2, 3};
  for (int g = 0; g < 5; g++) cr_expect_eq(tsr_linkage_patient_ids(L)[g], want_pid[g], "gid %d", g);
  const tsr_patient_facts *F = tsr_linkage_facts(L);
  cr_assert_eq(F->n, 3);
  /* patient 1: reg 1960-05-01 .. dereg 1965-01-01, all before 1970 */
  cr_expect_eq(F->first_seen[0], -3532, "1960-05-01: %d", F->first_seen[0]);
  cr_expect_eq(F->last_seen[0], -1826, "1965-01-01, the second event date: %d", F->last_seen[0]);
  /* patient 2: only b1's disdate 1969-12-31 */
  cr_expect_eq(F->first_seen[1], -1);
  cr_expect_eq(F->last_seen[1], -1);
  /* patient 3: admidate and disdate */
  cr_expect_eq(F->first_seen[2], 11323); /* 2001-01-01 */
  cr_expect_eq(F->last_seen[2], 11356);  /* 2001-02-03 */
  /* a record without an NHS number is no conflict: the ends are the one number */
  cr_expect_eq(F->nhs_min[0], 9434765919ull);
  cr_expect_eq(F->nhs_max[0], 9434765919ull);
  cr_expect_eq(F->nhs_min[1], 4010232137ull);
  cr_expect(!tsr_patient_nhs_conflict(F, 0));
  cr_expect(!tsr_patient_nhs_conflict(F, 1));
  /* with no options the run uses every core OpenMP offers */
  cr_expect_eq(tsr_linkage_threads(L), omp_get_max_threads());
  tsr_linkage_free(L);
  tsr_config_free(cfg);
}

Test(run, zero_threads_means_all_cores) {
  omp_set_num_threads(3); /* in Criterion's child process */
  char *cp = fixture_cfg("hes.csv", HES, "", 0);
  tsr_config *cfg = load_cfg(cp);
  tsr_run_opts ro;
  tsr_run_opts_init(&ro);
  cr_expect_eq(ro.threads, 0);
  tsr_linkage *L = NULL;
  tsr_error err;
  cr_assert_eq(tsr_run_linkage(cfg, &ro, &L, &err), 0, "%s", err.msg);
  cr_expect_eq(tsr_linkage_threads(L), 3);
  tsr_linkage_free(L);
  tsr_config_free(cfg);
  free(cp);
}

Test(run, stage_times_are_durations) {
  char *cp = fixture_cfg("hes.csv", HES, "", 0);
  tsr_config *cfg = load_cfg(cp);
  tsr_linkage *L = NULL;
  tsr_error err;
  cr_assert_eq(tsr_run_linkage(cfg, NULL, &L, &err), 0, "%s", err.msg);
  double total = tsr_linkage_elapsed(L), sum = 0;
  cr_assert_eq(tsr_linkage_nstages(L), 4);
  for (uint32_t i = 0; i < 4; i++) {
    const tsr_stage_time *t = tsr_linkage_stage(L, i);
    cr_expect(t->seconds >= 0.0 && t->seconds <= total, "%s: %g s of %g", t->name, t->seconds, total);
    cr_expect_gt(t->peak_rss_bytes, 0u, "%s", t->name);
    sum += t->seconds;
  }
  cr_expect_leq(sum, total + 1e-6, "the stages do not overlap");
  double t0 = tsr_run_clock();
  cr_assert_eq(tsr_linkage_add_stage(L, "later", t0), 0);
  const tsr_stage_time *t = tsr_linkage_stage(L, 4);
  cr_expect_str_eq(t->name, "later");
  cr_expect(t->seconds >= 0.0 && t->seconds < 1.0, "%g", t->seconds);
  tsr_linkage_free(L);
  tsr_config_free(cfg);
  free(cp);
}

/* --- the link run's summary and report.json on the fixture ------------------------ */

static json_t *load_json(const char *dir, const char *name) {
  char p[700];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  json_error_t je;
  json_t *j = json_load_file(p, 0, &je);
  cr_assert_not_null(j, "%s: %s", name, je.text);
  return j;
}

#define JI(obj, key) json_integer_value(json_object_get((obj), (key)))

Test(run_folder, summary_and_report_figures) {
  const char *hes = "id,nhs,dob,pc,provider,admidate\n"
                    "h0," NA ",1980-01-02,LS1 4AP,R&D,2015-06-07\n"
                    "h1," NA ",1980-01-02,LS1 4AP,<zz>,2009-01-01\n"
                    "h2," NB ",1975-03-04,M1 1AA,R&D,\n"
                    "h3," ND ",2000-01-01,S1 2BB,<zz>,2020-01-01\n";
  char *cp = fixture_cfg("hes.csv", hes, "", 1);
  tsr_config *cfg = load_cfg(cp);
  cfg->link.max_cluster_size = 2; /* the cluster of 3 is oversized, those of 2 are not */
  char *out = tsr_test_tmpdir("runout");
  tsr_link_opts o;
  tsr_link_opts_init(&o);
  o.threads = 1;
  o.out_dir = out;
  tsr_link_summary sum;
  tsr_error err;
  cr_assert_eq(tsr_link_run(cfg, &o, &sum, &err), 0, "%s", err.msg);
  cr_expect_eq(sum.records, 8);
  cr_expect_eq(sum.linked, 7);
  cr_expect_eq(sum.patients, 4);
  cr_expect_eq(sum.rejected, 0);
  cr_expect_gt(sum.peak_rss, 0u);
  tsr_config_free(cfg);

  json_t *r = load_json(out, "report.json");
  json_t *src = json_object_get(r, "sources");
  cr_assert_eq(json_array_size(src), 2);
  json_t *gp = json_array_get(src, 0), *hs = json_array_get(src, 1);
  /* gp: g0, g1, g3 are in clusters of two or more and all have hes records */
  cr_expect_eq(JI(gp, "rows_stored"), 4);
  cr_expect_eq(JI(gp, "records_linked"), 3);
  cr_expect_eq(JI(gp, "records_unlinked"), 1);
  cr_expect_eq(JI(gp, "linked_to_other_source"), 3);
  cr_expect_eq(JI(hs, "records_linked"), 4);
  cr_expect_eq(JI(hs, "records_unlinked"), 0);
  cr_expect_eq(JI(hs, "linked_to_other_source"), 4);
  /* without output.match_rates_by every code field gets a table: hes's
   * provider; gp has no code field. Rows by records, then value order. */
  cr_expect_eq(json_object_size(json_object_get(gp, "match_rates_by")), 0);
  json_t *prov = json_object_get(json_object_get(hs, "match_rates_by"), "provider");
  cr_assert_eq(json_array_size(prov), 2, "provider rates");
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(prov, 0), "value")), "R&D");
  cr_expect_eq(JI(json_array_get(prov, 0), "records"), 2);
  cr_expect_eq(JI(json_array_get(prov, 0), "linked_to_other_source"), 2);
  cr_expect_str_eq(json_string_value(json_object_get(json_array_get(prov, 1), "value")), "<zz>");
  /* clusters: sizes 3, 2, 1, 2 */
  json_t *cl = json_object_get(r, "clusters");
  cr_expect_eq(JI(cl, "patients"), 4);
  cr_expect_eq(JI(cl, "records_linked"), 7);
  json_t *h = json_object_get(cl, "size_histogram");
  static const char *const bins[] = {"1", "2", "3-5", "6-10", "11-50", "51-100", "101+"};
  static const int want_h[] = {1, 2, 1, 0, 0, 0, 0};
  for (int b = 0; b < 7; b++) cr_expect_eq(JI(h, bins[b]), want_h[b], "bin %s", bins[b]);
  json_t *big = json_object_get(cl, "largest");
  static const int want_big[4][2] = {{1, 3}, {2, 2}, {4, 2}, {3, 1}}; /* ties: the smaller id first */
  cr_assert_eq(json_array_size(big), 4);
  for (int i = 0; i < 4; i++) {
    cr_expect_eq(JI(json_array_get(big, (size_t)i), "patient_id"), want_big[i][0], "largest[%d]", i);
    cr_expect_eq(JI(json_array_get(big, (size_t)i), "records"), want_big[i][1], "largest[%d]", i);
  }
  cr_expect_eq(JI(cl, "max_cluster_size"), 2);
  cr_expect_eq(JI(cl, "oversized"), 1, "only the cluster above 2 records");
  cr_expect_eq(JI(cl, "nhs_conflicts"), 1);
  json_t *ex = json_array_get(json_object_get(cl, "nhs_conflict_examples"), 0);
  cr_expect_eq(JI(ex, "patient_id"), 4);
  cr_expect_str_eq(json_string_value(json_array_get(json_object_get(ex, "nhs_numbers"), 0)), ND);
  /* rules: records linked per rule and cumulatively */
  json_t *rules = json_object_get(r, "rules");
  cr_expect_eq(JI(json_array_get(rules, 0), "records_linked"), 5);
  cr_expect_eq(JI(json_array_get(rules, 1), "records_linked_cumulative"), 7);
  json_decref(r);

  /* report.html shows the code values escaped */
  char p[700];
  snprintf(p, sizeof p, "%s/report.html", out);
  char *html = slurp(p);
  cr_assert_not_null(html);
  cr_expect(strstr(html, "R&amp;D") != NULL, "R&D escaped");
  cr_expect(strstr(html, "&lt;zz&gt;") != NULL, "<zz> escaped");
  cr_expect(strstr(html, "R&D") == NULL && strstr(html, "<zz>") == NULL, "a raw value in report.html");
  free(html);

  /* patients.csv in full: patient 3 has no event date, so both cells are empty */
  snprintf(p, sizeof p, "%s/patients.csv", out);
  char *c = slurp(p);
  cr_expect_str_eq(c, "patient_id,n_records,n_gp,n_hes,first_seen,last_seen\n"
                      "1,3,1,2,2009-01-01,2015-06-07\n"
                      "2,2,1,1,2012-01-01,2012-01-01\n"
                      "3,1,1,0,,\n"
                      "4,2,1,1,2019-02-02,2020-01-01\n");
  free(c);
  free(cp);
}

/* A failed run removes the folders it created and nothing above them, even
 * an empty folder of the user's. */
Test(run_folder, failed_run_keeps_an_empty_parent_it_did_not_create) {
  char *bad = fixture_cfg("hes.csv", "", "", 0); /* an empty hes file: the run fails */
  char *base = tsr_test_tmpdir("runout");
  char parent[600], out[700];
  snprintf(parent, sizeof parent, "%s/mine", base);
  cr_assert_eq(mkdir(parent, 0700), 0);
  snprintf(out, sizeof out, "%s/new/deeper", parent);
  tsr_error err;
  cr_assert_neq(link_into(bad, out, 0, &err), 0);
  cr_expect(!exists(parent, "new"), "the created folders are removed");
  struct stat st;
  cr_expect_eq(stat(parent, &st), 0, "the user's empty folder stays");
  /* the same with the run folder itself given as the empty folder */
  cr_assert_neq(link_into(bad, parent, 0, &err), 0);
  cr_expect_eq(stat(parent, &st), 0, "an existing empty run folder stays");
  free(bad);
}

/* --- the probabilistic stage ---------------------------------------------------------- */

#include "tessera/generate.h"

/* Generated data (2,000 patients), probabilistic alone (the link rules
 * emptied), run with and without pre-collapse: the same pairs, patterns
 * and weights, and pre-collapse saved some scoring. */
static tsr_linkage *prob_run(const char *dir, int no_precollapse, int threads) {
  char path[512];
  snprintf(path, sizeof path, "%s/link.json", dir);
  tsr_config *cfg = NULL;
  tsr_error err;
  cr_assert_eq(tsr_config_load(path, &cfg, &err), 0, "%s", err.msg);
  cfg->link.n_rules = 0;
  tsr_run_opts o;
  tsr_run_opts_init(&o);
  o.threads = threads;
  o.no_precollapse = no_precollapse;
  tsr_linkage *L = NULL;
  cr_assert_eq(tsr_run_linkage(cfg, &o, &L, &err), 0, "%s", err.msg);
  return L; /* cfg is left to the process: the linkage reads it */
}

Test(run_prob, precollapse_changes_nothing_but_the_work) {
  char dir[] = "/tmp/tsr_prob_XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  tsr_gen_opts go;
  tsr_gen_opts_init(&go);
  go.patients = 2000;
  go.seed = 11;
  go.out_dir = dir;
  go.threads = 1;
  tsr_error err;
  cr_assert_eq(tsr_generate(&go, NULL, &err), 0, "%s", err.msg);
  /* one thread: the memo sees the batches in one order, so its hits are fixed */
  tsr_linkage *A = prob_run(dir, 0, 1), *B = prob_run(dir, 1, 2);
  tsr_pairs_view a, b;
  tsr_linkage_pairs(A, &a);
  tsr_linkage_pairs(B, &b);
  cr_assert_gt(a.n, 100);
  cr_assert_eq(a.n, b.n);
  for (uint64_t i = 0; i < a.n; i++) {
    cr_assert(a.a[i] == b.a[i] && a.b[i] == b.b[i] && a.pattern[i] == b.pattern[i] && a.weight[i] == b.weight[i] &&
                  a.linked[i] == b.linked[i],
              "pair %llu differs", (unsigned long long)i);
  }
  json_t *ja = NULL, *jb = NULL;
  cr_assert_eq(tsr_linkage_prob_json(A, &ja, &err), 0);
  cr_assert_eq(tsr_linkage_prob_json(B, &jb, &err), 0);
  json_int_t ca = json_integer_value(json_object_get(ja, "pairs_precollapsed"));
  json_int_t cb = json_integer_value(json_object_get(jb, "pairs_precollapsed"));
  cr_expect_eq(ca, 20); /* seeded data, one thread: the memo's hits are fixed */
  cr_expect_eq(cb, 0);
  cr_expect_eq(json_integer_value(json_object_get(ja, "pairs_scored")) + ca,
               json_integer_value(json_object_get(jb, "pairs_scored")));
  /* the records the stage linked carry a weight; the others none */
  const uint8_t *st = tsr_linkage_steps(A);
  const double *w = tsr_linkage_weights(A);
  uint32_t pstep = tsr_linkage_nrules(A) + 1;
  cr_assert_str_eq(tsr_linkage_rule_name(A, pstep), "probabilistic");
  uint64_t nw = 0;
  for (uint64_t g = 0; g < tsr_linkage_records(A); g++) {
    cr_assert_eq(st[g] == pstep, !isnan(w[g]), "record %llu", (unsigned long long)g);
    nw += st[g] == pstep;
  }
  cr_expect_gt(nw, 1000);
  json_decref(ja);
  json_decref(jb);
  tsr_linkage_free(A);
  tsr_linkage_free(B);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_expect_eq(system(cmd), 0);
}
