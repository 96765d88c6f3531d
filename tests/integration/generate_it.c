/* End to end: run `tessera generate` for 50k patients, then check the files
 * against each other and against the configured rates:
 *   - truth covers every row of both sources exactly once;
 *   - truth_spells covers every episode, and spells look like spells;
 *   - realised error rates (from the generator's own counters, and measured
 *     independently from the files against truth_patients.csv) are within
 *     statistical tolerance of the configured ones;
 *   - the hard negatives exist (twins, communal establishments).
 * The binary comes from TSR_BIN (set by ctest). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common_internal.h"
#include "test_util.h"

#define MAXF 32

/* Splits one CSV line (RFC 4180 quotes, no embedded newlines) in place. */
static int split_csv(char *line, char **f) {
  int n = 0;
  char *p = line;
  for (;;) {
    if (n == MAXF) return n;
    if (*p == '"') {
      char *w = ++p;
      f[n++] = w;
      for (;;) {
        if (*p == '"' && p[1] == '"') {
          *w++ = '"';
          p += 2;
        } else if (*p == '"') {
          p++;
          break;
        } else if (!*p) {
          break;
        } else {
          *w++ = *p++;
        }
      }
      *w = '\0';
      if (*p == ',') {
        p++;
        continue;
      }
      return n;
    }
    f[n++] = p;
    char *c = strchr(p, ',');
    if (!c) {
      char *nl = strchr(p, '\n');
      if (nl) *nl = '\0';
      return n;
    }
    *c = '\0';
    p = c + 1;
  }
}

typedef struct {
  FILE *f;
  char *line;
  size_t cap;
  char *fld[MAXF];
  int nf;
} csv_t;

static void csv_open(csv_t *c, const char *dir, const char *name, int expect_fields) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  c->f = fopen(path, "r");
  cr_assert_not_null(c->f, "cannot open %s", path);
  c->line = NULL;
  c->cap = 0;
  cr_assert(getline(&c->line, &c->cap, c->f) > 0, "%s has no header", name);
  c->nf = split_csv(c->line, c->fld);
  cr_assert_eq(c->nf, expect_fields, "%s header has %d fields", name, c->nf);
}

static int csv_next(csv_t *c) {
  if (getline(&c->line, &c->cap, c->f) <= 0) return 0;
  c->nf = split_csv(c->line, c->fld);
  return 1;
}

static void csv_close(csv_t *c) {
  fclose(c->f);
  free(c->line);
}

static char *g_dir;
static int g_ready = 0;

static int run(const char *const argv[]) {
  pid_t pid = fork();
  if (pid == 0) {
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void setup_data(void) {
  if (g_ready) return;
  const char *bin = getenv("TSR_BIN");
  cr_assert_not_null(bin, "TSR_BIN not set");
  g_dir = tsr_test_tmpdir("it_gen");
  cr_assert_not_null(g_dir);
  const char *argv[] = {bin, "generate", "--patients", "50000", "--seed", "2024", "--out", g_dir,
                        "--threads", "2", "--quiet", NULL};
  cr_assert_eq(run(argv), 0, "tessera generate failed");
  g_ready = 1;
}

/* |realised - configured| within 5 binomial standard errors, plus slack for
 * rates that the generator can only approximate. */
static void expect_rate(const char *what, uint64_t events, uint64_t n, double p, double slack) {
  cr_assert_gt(n, 0u, "%s: nothing eligible", what);
  double r = (double)events / (double)n;
  double se = sqrt(p * (1 - p) / (double)n);
  cr_expect(fabs(r - p) <= 5 * se + slack, "%s: realised %.5f vs configured %.5f (n=%llu)", what, r, p,
            (unsigned long long)n);
}

Test(generate_it, counters_match_configured_rates, .timeout = 600) {
  setup_data();
  char path[512];
  snprintf(path, sizeof path, "%s/generate_summary.json", g_dir);
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  cr_assert_not_null(root, "summary: %s", je.text);
  json_t *errs = json_object_get(root, "errors");
  cr_assert(json_is_object(errs));
  const char *key;
  json_t *v;
  int checked = 0;
  json_object_foreach(errs, key, v) {
    double conf = json_number_value(json_object_get(v, "configured"));
    json_int_t ev = json_integer_value(json_object_get(v, "events"));
    json_int_t el = json_integer_value(json_object_get(v, "eligible"));
    if (el < 500) continue; /* too few chances to say anything */
    expect_rate(key, (uint64_t)ev, (uint64_t)el, conf, 0.0005);
    checked++;
  }
  cr_expect_geq(checked, 18, "only %d error rates had enough eligible rows", checked);
  cr_expect_eq(json_integer_value(json_object_get(root, "patients")), 50000);
  json_decref(root);
}

/* record id -> patient, as a sorted array for lookup */
typedef struct {
  uint64_t id, patient;
} idmap;

static int cmp_idmap(const void *a, const void *b) {
  uint64_t x = ((const idmap *)a)->id, y = ((const idmap *)b)->id;
  return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static uint64_t lookup(const idmap *m, size_t n, uint64_t id) {
  idmap key = {id, 0};
  const idmap *h = bsearch(&key, m, n, sizeof *m, cmp_idmap);
  return h ? h->patient : 0;
}

typedef struct {
  uint64_t nhs;
  char dob[11];
  char sex;
} truth_pat;

static truth_pat *load_patients(size_t *n) {
  csv_t c;
  csv_open(&c, g_dir, "truth_patients.csv", 14);
  truth_pat *tp = calloc(50001, sizeof *tp);
  size_t k = 0;
  while (csv_next(&c)) {
    uint64_t pid = strtoull(c.fld[0], NULL, 10);
    cr_assert(pid >= 1 && pid <= 50000);
    tp[pid].nhs = strtoull(c.fld[1], NULL, 10);
    snprintf(tp[pid].dob, sizeof tp[pid].dob, "%s", c.fld[6]);
    tp[pid].sex = c.fld[7][0];
    k++;
  }
  csv_close(&c);
  *n = k;
  return tp;
}

static uint64_t parse_nhs(const char *s) {
  uint64_t v = 0;
  int digits = 0;
  for (; *s; s++)
    if (*s >= '0' && *s <= '9') {
      v = v * 10 + (uint64_t)(*s - '0');
      digits++;
    }
  return digits == 10 ? v : 0;
}

Test(generate_it, truth_covers_every_row_and_rates_hold_in_files, .timeout = 600) {
  setup_data();
  size_t npat;
  truth_pat *tp = load_patients(&npat);
  cr_assert_eq(npat, 50000u, "truth_patients has every patient");

  /* truth.csv */
  csv_t c;
  csv_open(&c, g_dir, "truth.csv", 3);
  size_t cap = 400000, ngp = 0, nhes = 0;
  idmap *gp = malloc(cap * sizeof *gp), *hes = malloc(cap * sizeof *hes);
  while (csv_next(&c)) {
    cr_assert_eq(c.nf, 3);
    idmap e = {strtoull(c.fld[1], NULL, 10), strtoull(c.fld[2], NULL, 10)};
    cr_assert(e.patient >= 1 && e.patient <= 50000);
    if (strcmp(c.fld[0], "gp") == 0) {
      cr_assert_lt(ngp, cap);
      gp[ngp++] = e;
    } else {
      cr_assert_str_eq(c.fld[0], "hes");
      cr_assert_lt(nhes, cap);
      hes[nhes++] = e;
    }
  }
  csv_close(&c);
  qsort(gp, ngp, sizeof *gp, cmp_idmap);
  qsort(hes, nhes, sizeof *hes, cmp_idmap);
  for (size_t i = 1; i < ngp; i++) cr_assert_neq(gp[i].id, gp[i - 1].id, "duplicate gp id in truth");
  for (size_t i = 1; i < nhes; i++) cr_assert_neq(hes[i].id, hes[i - 1].id, "duplicate hes id in truth");

  /* gp.csv: every row in truth; NHS and DOB rates measured against truth */
  csv_open(&c, g_dir, "gp.csv", 11);
  size_t rows = 0, nhs_missing = 0, nhs_present = 0, nhs_bad = 0, dob_wrong = 0, sex_unknown = 0, sex_wrong = 0;
  char *seen_pat = calloc(50001, 1);
  while (csv_next(&c)) {
    cr_assert_eq(c.nf, 11, "gp.csv row %zu has %d fields", rows + 2, c.nf);
    uint64_t pid = lookup(gp, ngp, strtoull(c.fld[0], NULL, 10));
    cr_assert_neq(pid, 0u, "gp row %s not in truth", c.fld[0]);
    seen_pat[pid] = 1;
    rows++;
    uint64_t nhs = parse_nhs(c.fld[1]);
    if (!c.fld[1][0])
      nhs_missing++;
    else {
      nhs_present++;
      if (!tsr_nhs_valid(nhs)) nhs_bad++;
      else cr_expect_eq(nhs, tp[pid].nhs, "a valid GP NHS number is the patient's own");
    }
    /* dd/mm/yyyy vs yyyy-mm-dd */
    char iso[11] = "";
    if (strlen(c.fld[4]) == 10)
      snprintf(iso, sizeof iso, "%.4s-%.2s-%.2s", c.fld[4] + 6, c.fld[4] + 3, c.fld[4]);
    if (strcmp(iso, tp[pid].dob) != 0) dob_wrong++;
    if (c.fld[5][0] != 'M' && c.fld[5][0] != 'F') sex_unknown++;
    /* a known sex is the patient's own: M is 1 and F is 2 in truth */
    else if ((c.fld[5][0] == 'M' ? '1' : '2') != tp[pid].sex) sex_wrong++;
  }
  csv_close(&c);
  cr_expect_eq(rows, ngp, "gp.csv rows == truth gp rows");
  size_t registered = 0;
  for (int i = 1; i <= 50000; i++) registered += (size_t)seen_pat[i];
  cr_expect_eq(registered, 50000u, "every patient has at least one GP registration");
  cr_expect_gt(rows, 50000u + 5000u, "some patients re-registered after moving");
  expect_rate("gp nhs missing (files)", nhs_missing, rows, 0.005, 0.0005);
  expect_rate("gp nhs invalid (files)", nhs_bad, nhs_present, 0.002, 0.0005);
  /* dob wrong = missing + jan1 + swap(when it changes) + digit */
  double p_dob = 0.001 + 0.001 + 0.003 * 0.35 + 0.003;
  expect_rate("gp dob differs from truth (files)", dob_wrong, rows, p_dob, 0.002);
  expect_rate("gp sex not known (files)", sex_unknown, rows, 0.002, 0.0005);
  cr_expect_eq(sex_wrong, 0u, "%zu gp rows show the other sex", sex_wrong);

  /* hes_apc.csv */
  csv_open(&c, g_dir, "hes_apc.csv", 22);
  rows = 0;
  nhs_missing = nhs_present = nhs_bad = 0;
  size_t zz99 = 0, named = 0, hes_sex_wrong = 0;
  uint32_t *eps = calloc(50001, sizeof *eps);
  while (csv_next(&c)) {
    cr_assert_eq(c.nf, 22, "hes row %zu has %d fields", rows + 2, c.nf);
    uint64_t pid = lookup(hes, nhes, strtoull(c.fld[0], NULL, 10));
    cr_assert_neq(pid, 0u, "hes row %s not in truth", c.fld[0]);
    eps[pid]++;
    rows++;
    uint64_t nhs = parse_nhs(c.fld[1]);
    if (!c.fld[1][0])
      nhs_missing++;
    else {
      nhs_present++;
      if (!tsr_nhs_valid(nhs)) nhs_bad++;
    }
    if (c.fld[3][0] != '0' && c.fld[3][0] != '9') hes_sex_wrong += c.fld[3][0] != tp[pid].sex;
    if (strncmp(c.fld[4], "ZZ99", 4) == 0 || strncmp(c.fld[4], "zz99", 4) == 0) zz99++;
    if (c.fld[20][0] || c.fld[21][0]) named++;
    cr_assert_str_eq(c.fld[12], "3", "episodes are finished");
    cr_assert(strcmp(c.fld[8], c.fld[9]) <= 0, "epistart <= epiend");
  }
  csv_close(&c);
  cr_expect_eq(rows, nhes, "hes rows == truth hes rows");
  expect_rate("hes nhs missing (files)", nhs_missing, rows, 0.02, 0.0005);
  expect_rate("hes nhs invalid (files)", nhs_bad, nhs_present, 0.004, 0.0005);
  expect_rate("hes zz99 (files)", zz99, rows, 0.005 * 0.99, 0.001);
  cr_expect_eq(hes_sex_wrong, 0u, "%zu hes rows show the other sex", hes_sex_wrong);
  cr_expect(named > rows / 5 && named < rows * 4 / 5, "named providers carry names on %zu of %zu rows", named, rows);

  /* skew: mean ~2 episodes, many with none, a few with dozens */
  size_t none = 0, most = 0;
  for (int i = 1; i <= 50000; i++) {
    none += eps[i] == 0;
    if (eps[i] > most) most = eps[i];
  }
  double mean = (double)rows / 50000.0;
  cr_expect(mean > 1.6 && mean < 2.4, "mean episodes per patient %.3f", mean);
  cr_expect(none > 50000 * 0.4 && none < 50000 * 0.75, "%zu patients have no episode", none);
  cr_expect_geq(most, 24u, "the busiest patient has %zu episodes", most);

  /* truth_spells: one row per episode; multi-episode spells and CIPS exist */
  csv_open(&c, g_dir, "truth_spells.csv", 3);
  size_t srows = 0, multi_ep = 0, spell_starts = 0, cips_multi = 0;
  uint64_t *later = malloc(nhes * sizeof *later); /* spell ids of non-first episodes */
  while (csv_next(&c)) {
    uint64_t epikey = strtoull(c.fld[0], NULL, 10), spell = strtoull(c.fld[1], NULL, 10),
             cips = strtoull(c.fld[2], NULL, 10);
    cr_assert_neq(lookup(hes, nhes, epikey), 0u);
    cr_assert_eq(lookup(hes, nhes, spell), lookup(hes, nhes, epikey), "a spell belongs to one patient");
    cr_assert_eq(lookup(hes, nhes, cips), lookup(hes, nhes, epikey), "a CIPS belongs to one patient");
    if (epikey == spell) spell_starts++;
    else later[multi_ep++] = spell;
    if (spell == epikey && cips != spell) cips_multi++;
    srows++;
  }
  csv_close(&c);
  cr_expect_eq(srows, nhes, "truth_spells covers every episode");
  cr_expect_gt(cips_multi, 100u, "transfers create continuous inpatient spells (%zu)", cips_multi);
  qsort(later, multi_ep, sizeof *later, cmp_u64);
  size_t multi_spells = 0;
  for (size_t i = 0; i < multi_ep; i++) multi_spells += i == 0 || later[i] != later[i - 1];
  double share = (double)multi_spells / (double)spell_starts;
  cr_expect(share > 0.11 && share < 0.17, "%.4f of spells have several episodes (DOMAIN.md: about 14%%)", share);
  free(later);
  free(gp);
  free(hes);
  free(tp);
  free(seen_pat);
  free(eps);
}

Test(generate_it, hard_negatives_and_optouts, .timeout = 600) {
  setup_data();
  csv_t c;
  csv_open(&c, g_dir, "truth_patients.csv", 14);
  size_t n = 0, twins = 0, communal = 0, t1 = 0, nd = 0, care = 0;
  /* twins: consecutive twin rows share DOB and surname */
  char prev_dob[16] = "", prev_name[128] = "";
  int prev_twin = 0;
  size_t twin_pairs_ok = 0;
  while (csv_next(&c)) {
    n++;
    int twin = c.fld[10][0] == '1';
    if (twin) {
      twins++;
      if (prev_twin && strcmp(prev_dob, c.fld[6]) == 0 && strcmp(prev_name, c.fld[3]) == 0) twin_pairs_ok++;
    }
    prev_twin = twin;
    snprintf(prev_dob, sizeof prev_dob, "%s", c.fld[6]);
    snprintf(prev_name, sizeof prev_name, "%s", c.fld[3]);
    if (strcmp(c.fld[9], "household") != 0) communal++;
    if (strcmp(c.fld[9], "care_home") == 0) care++;
    t1 += c.fld[11][0] == '1';
    nd += c.fld[12][0] == '1';
  }
  csv_close(&c);
  cr_expect_eq(n, 50000u);
  cr_expect_gt(twins, 100u, "twins: %zu", twins);
  cr_expect_geq(twin_pairs_ok * 2, twins * 9 / 10, "twin pairs share DOB and surname");
  cr_expect(communal > 50000 * 0.005 && communal < 50000 * 0.04, "communal residents %zu", communal);
  cr_expect_gt(care, 0u);
  expect_rate("type 1 opt-outs", t1, n, 0.03, 0.0);
  expect_rate("national opt-outs", nd, n, 0.05, 0.0);
  /* the opt-out files list exactly those patients */
  size_t lines = 0;
  csv_open(&c, g_dir, "optouts_ndoo.csv", 1);
  while (csv_next(&c)) {
    cr_assert(tsr_nhs_valid(strtoull(c.fld[0], NULL, 10)));
    lines++;
  }
  csv_close(&c);
  cr_expect_eq(lines, nd);
}

Test(generate_it, clean_scenario_has_no_errors, .timeout = 300) {
  const char *bin = getenv("TSR_BIN");
  char *dir = tsr_test_tmpdir("it_clean");
  cr_assert_not_null(dir);
  const char *argv[] = {bin, "generate", "--patients", "5000", "--scenario", "clean", "--out", dir, "--quiet", NULL};
  cr_assert_eq(run(argv), 0);
  csv_t c;
  csv_open(&c, dir, "hes_apc.csv", 22);
  size_t rows = 0;
  while (csv_next(&c)) {
    rows++;
    cr_assert(c.fld[1][0], "clean data always has an NHS number");
    cr_assert(tsr_nhs_valid(parse_nhs(c.fld[1])), "clean NHS numbers are valid");
    cr_assert(c.fld[2][0] && c.fld[4][0], "clean data has dob and postcode");
    cr_assert(strncmp(c.fld[4], "ZZ99", 4) != 0);
  }
  csv_close(&c);
  cr_expect_gt(rows, 5000u);
}
