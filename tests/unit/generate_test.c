/* Unit tests for the generator: each corruption operator, NHS numbers per
 * patient, parameters and scenarios, and byte-identical output for 1 and 2
 * threads. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/date.h"
#include "generate/gen_internal.h"
#include "test_util.h"

static const char *const k_names[] = {"Smith", "O'Brien", "Zoë", "Smith-Jones", "Li", "MACDONALD", "Siobhán", "Ng"};
#define NNAMES (sizeof k_names / sizeof k_names[0])

/* Non-ASCII bytes must survive every operator untouched and in order. */
static void expect_same_non_ascii(const char *a, const char *b) {
  char x[64], y[64];
  size_t nx = 0, ny = 0;
  for (const char *p = a; *p; p++)
    if ((unsigned char)*p >= 0x80) x[nx++] = *p;
  for (const char *p = b; *p; p++)
    if ((unsigned char)*p >= 0x80) y[ny++] = *p;
  cr_assert_eq(nx, ny, "UTF-8 bytes changed: '%s' -> '%s'", a, b);
  cr_assert(memcmp(x, y, nx) == 0, "UTF-8 bytes changed: '%s' -> '%s'", a, b);
}

static int is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

Test(typo, insert_adds_one_letter) {
  for (uint64_t seed = 0; seed < 400; seed++) {
    const char *orig = k_names[seed % NNAMES];
    char s[64];
    strcpy(s, orig);
    uint32_t len = (uint32_t)strlen(s);
    tsr__rng r;
    tsr__rng_init(&r, seed, 0, 0);
    cr_assert_eq(tsr__typo_insert(s, &len, sizeof s, &r), 1);
    cr_assert_eq(len, strlen(orig) + 1);
    cr_assert_eq(strlen(s), len);
    /* deleting some single letter gives back the original */
    int ok = 0;
    for (uint32_t i = 0; i < len && !ok; i++) {
      if (!is_letter(s[i])) continue;
      char t[64];
      memcpy(t, s, i);
      strcpy(t + i, s + i + 1);
      ok = strcmp(t, orig) == 0;
    }
    cr_assert(ok, "'%s' -> '%s' is not a single insertion", orig, s);
    expect_same_non_ascii(orig, s);
  }
}

Test(typo, delete_removes_one_letter) {
  for (uint64_t seed = 0; seed < 400; seed++) {
    const char *orig = k_names[seed % NNAMES];
    char s[64];
    strcpy(s, orig);
    uint32_t len = (uint32_t)strlen(s);
    tsr__rng r;
    tsr__rng_init(&r, seed, 0, 1);
    cr_assert_eq(tsr__typo_delete(s, &len, &r), 1);
    cr_assert_eq(len, strlen(orig) - 1);
    int ok = 0;
    for (uint32_t i = 0; i <= len && !ok; i++) {
      char t[64];
      memcpy(t, s, i);
      t[i] = orig[i];
      strcpy(t + i + 1, s + i);
      ok = strcmp(t, orig) == 0 && is_letter(orig[i]);
    }
    cr_assert(ok, "'%s' -> '%s' is not a single deletion of a letter", orig, s);
    expect_same_non_ascii(orig, s);
  }
  char one[4] = "A";
  uint32_t n1 = 1;
  tsr__rng r;
  tsr__rng_init(&r, 1, 1, 1);
  cr_expect_eq(tsr__typo_delete(one, &n1, &r), 0, "a one-letter name is left alone");
}

static int count_diffs(const char *a, const char *b, size_t n, size_t *where) {
  int d = 0;
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i]) {
      d++;
      *where = i;
    }
  return d;
}

Test(typo, substitute_changes_one_letter_keeping_case) {
  for (uint64_t seed = 0; seed < 400; seed++) {
    const char *orig = k_names[seed % NNAMES];
    char s[64];
    strcpy(s, orig);
    uint32_t len = (uint32_t)strlen(s);
    tsr__rng r;
    tsr__rng_init(&r, seed, 0, 2);
    cr_assert_eq(tsr__typo_substitute(s, len, &r), 1);
    size_t at = 0;
    cr_assert_eq(count_diffs(orig, s, len, &at), 1, "'%s' -> '%s'", orig, s);
    cr_assert(is_letter(s[at]));
    cr_assert_eq(orig[at] >= 'A' && orig[at] <= 'Z', s[at] >= 'A' && s[at] <= 'Z', "case changed");
    expect_same_non_ascii(orig, s);
  }
}

Test(typo, transpose_swaps_two_adjacent_letters) {
  for (uint64_t seed = 0; seed < 400; seed++) {
    const char *orig = k_names[seed % NNAMES];
    char s[64];
    strcpy(s, orig);
    uint32_t len = (uint32_t)strlen(s);
    tsr__rng r;
    tsr__rng_init(&r, seed, 0, 3);
    cr_assert_eq(tsr__typo_transpose(s, len, &r), 1);
    int pairs = 0;
    for (uint32_t i = 0; i + 1 < len; i++) {
      if (orig[i] == s[i]) continue;
      /* first difference: the next position must hold the swapped letter */
      cr_assert((orig[i] | 32) == (s[i + 1] | 32) && (orig[i + 1] | 32) == (s[i] | 32), "'%s' -> '%s'", orig, s);
      cr_assert(strcmp(orig + i + 2, s + i + 2) == 0);
      pairs++;
      break;
    }
    cr_assert_eq(pairs, 1, "'%s' -> '%s'", orig, s);
    expect_same_non_ascii(orig, s);
  }
  char same[8] = "AAAA";
  tsr__rng r;
  tsr__rng_init(&r, 1, 1, 1);
  cr_expect_eq(tsr__typo_transpose(same, 4, &r), 0, "nothing to transpose in AAAA");
}

Test(typo, keyboard_uses_a_neighbouring_key) {
  for (uint64_t seed = 0; seed < 400; seed++) {
    const char *orig = k_names[seed % NNAMES];
    char s[64];
    strcpy(s, orig);
    uint32_t len = (uint32_t)strlen(s);
    tsr__rng r;
    tsr__rng_init(&r, seed, 0, 4);
    cr_assert_eq(tsr__typo_keyboard(s, len, &r), 1);
    size_t at = 0;
    cr_assert_eq(count_diffs(orig, s, len, &at), 1, "'%s' -> '%s'", orig, s);
    cr_assert(tsr__keyboard_adjacent(orig[at], s[at]), "'%c' -> '%c' are not neighbours", orig[at], s[at]);
    expect_same_non_ascii(orig, s);
  }
}

Test(typo, keyboard_adjacency_table) {
  const char *ns = "weadzx";
  for (const char *p = ns; *p; p++) cr_expect(tsr__keyboard_adjacent('s', *p), "s~%c", *p);
  cr_expect(tsr__keyboard_adjacent('S', 'D'));
  cr_expect(!tsr__keyboard_adjacent('s', 'p'));
  cr_expect(!tsr__keyboard_adjacent('s', 's'));
  cr_expect(!tsr__keyboard_adjacent('q', 'p'));
  cr_expect(tsr__keyboard_adjacent('p', 'l'));
  cr_expect(tsr__keyboard_adjacent('m', 'k'));
}

/* --- dates of birth -------------------------------------------------------------- */
Test(dob, swap_day_and_month) {
  int32_t d = tsr__days_from_ymd(2001, 3, 5);
  cr_expect_eq(tsr__dob_swap(d), tsr__days_from_ymd(2001, 5, 3));
  int32_t d13 = tsr__days_from_ymd(2001, 3, 13);
  cr_expect_eq(tsr__dob_swap(d13), d13, "day 13 cannot be a month");
  int32_t same = tsr__days_from_ymd(2001, 4, 4);
  cr_expect_eq(tsr__dob_swap(same), same);
}

Test(dob, one_digit_wrong) {
  for (uint64_t seed = 0; seed < 500; seed++) {
    tsr__rng r;
    tsr__rng_init(&r, seed, 1, 1);
    int32_t d = tsr__days_from_ymd(1930 + (int)(seed % 90), 1 + (int)(seed % 12), 1 + (int)(seed % 28));
    int32_t e = tsr__dob_digit(d, &r);
    cr_assert_neq(e, d);
    int y1, m1, d1, y2, m2, d2;
    tsr__ymd_from_days(d, &y1, &m1, &d1);
    tsr__ymd_from_days(e, &y2, &m2, &d2);
    char a[16], b[16];
    snprintf(a, sizeof a, "%04d%02d%02d", y1, m1, d1);
    snprintf(b, sizeof b, "%04d%02d%02d", y2, m2, d2);
    size_t at;
    cr_assert_eq(count_diffs(a, b, 8, &at), 1, "%s -> %s", a, b);
    cr_assert_geq(at, 2u, "century digits are never changed");
  }
}

Test(dob, january_first_placeholder) {
  cr_expect_eq(tsr__dob_jan1(tsr__days_from_ymd(1988, 7, 23)), tsr__days_from_ymd(1988, 1, 1));
}

/* --- NHS numbers ------------------------------------------------------------------ */
static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

Test(nhs, per_patient_numbers_valid_unique_deterministic) {
  const uint64_t n = 200000;
  uint64_t *v = malloc(n * sizeof *v);
  cr_assert_not_null(v);
  for (uint64_t i = 0; i < n; i++) {
    v[i] = tsr__nhs_for_patient(7, i, n);
    cr_assert(tsr_nhs_valid(v[i]), "%llu invalid", (unsigned long long)v[i]);
    cr_assert(v[i] >= 4000000000ull && v[i] < 7000000000ull);
  }
  cr_expect_eq(tsr__nhs_for_patient(7, 12345, n), v[12345]);
  cr_expect_neq(tsr__nhs_for_patient(8, 12345, n), v[12345], "the seed changes the numbers");
  qsort(v, n, sizeof *v, cmp_u64);
  for (uint64_t i = 1; i < n; i++) cr_assert_neq(v[i], v[i - 1], "duplicate NHS number");
  free(v);
}

Test(nhs, mistype_fails_the_check) {
  for (uint64_t i = 0; i < 5000; i++) {
    tsr__rng r;
    tsr__rng_init(&r, 1, 2, i);
    uint64_t good = tsr__nhs_for_patient(3, i, 100000);
    uint64_t bad = tsr__nhs_mistype(good, &r);
    cr_assert(!tsr_nhs_valid(bad), "%llu -> %llu still valid", (unsigned long long)good, (unsigned long long)bad);
    char a[16], b[16];
    snprintf(a, sizeof a, "%010llu", (unsigned long long)good);
    snprintf(b, sizeof b, "%010llu", (unsigned long long)bad);
    size_t at;
    int d = count_diffs(a, b, 10, &at);
    cr_assert(d == 1 || (d == 2 && at > 0 && a[at] == b[at - 1] && a[at - 1] == b[at]), "%s -> %s", a, b);
  }
}

/* --- parameters ---------------------------------------------------------------------- */
Test(params, scenarios_and_set) {
  tsr_gen_opts o;
  tsr_gen_opts_init(&o);
  tsr_error e;
  cr_expect_eq(o.param[TSR__GP_E_HES_NHS_MISSING], 0.02);
  cr_expect_eq(tsr_gen_opts_scenario(&o, "clean", &e), 0);
  for (size_t i = 0; i < tsr_gen_param_count(); i++) {
    int is_err;
    tsr_gen_param_info(i, NULL, NULL, NULL, &is_err);
    if (is_err) cr_expect_eq(o.param[i], 0.0);
  }
  cr_expect_gt(o.param[TSR__GP_OPT_NDOO], 0.0, "clean keeps population parameters");
  cr_expect_eq(tsr_gen_opts_scenario(&o, "hard", &e), 0);
  cr_expect_gt(o.param[TSR__GP_E_HES_NHS_MISSING], 0.3, "hard has few NHS numbers");
  cr_expect_eq(tsr_gen_opts_scenario(&o, "bogus", &e), TSR_EINVAL);
  cr_expect(strstr(e.msg, "bogus") && strstr(e.msg, "clean"), "%s", e.msg);
  cr_expect_eq(tsr_gen_opts_set(&o, "err.dob_swap", "0.5", &e), 0);
  cr_expect_eq(o.param[TSR__GP_E_DOB_SWAP], 0.5);
  cr_expect_eq(tsr_gen_opts_set(&o, "err.dob_swap", "1.5", &e), TSR_EINVAL);
  cr_expect_eq(tsr_gen_opts_set(&o, "err.dob_swap", "abc", &e), TSR_EINVAL);
  cr_expect_eq(tsr_gen_opts_set(&o, "no.such", "0.1", &e), TSR_EINVAL);
  cr_expect(strstr(e.msg, "no.such"), "%s", e.msg);
  cr_expect_eq(tsr_gen_opts_set(&o, "hes.mean_episodes", "3.5", &e), 0);
}

/* --- alias sampling -------------------------------------------------------------------- */
Test(tables, load_and_weighted_draws) {
  tsr__gen_tables t;
  tsr_error e;
  cr_assert_eq(tsr__gen_tables_load(&t, 1, 0.5, &e), 0, "%s", e.msg);
  cr_expect_gt(t.n_surnames, 1000u);
  cr_expect_gt(t.n_male, 150u);
  cr_expect_gt(t.n_female, 150u);
  cr_expect_gt(t.n_nicks, 100u);
  cr_expect_gt(t.n_areas, 100u);
  cr_expect_gt(t.n_practices, 1000u);
  cr_expect_gt(t.n_providers, 50u);
  /* the most common surname is drawn about as often as its weight says.
   * A name's probability under the alias table is its own column's keep
   * share plus the shares other columns alias to it, over n columns. */
  double *pr = calloc(t.n_surnames, sizeof *pr);
  cr_assert(pr);
  for (uint32_t i = 0; i < t.n_surnames; i++) {
    cr_assert_lt(t.a_surname.alias[i], t.n_surnames);
    pr[i] += t.a_surname.prob[i];
    pr[t.a_surname.alias[i]] += 1.0 - t.a_surname.prob[i];
  }
  uint32_t top = 0;
  double total = 0;
  for (uint32_t i = 0; i < t.n_surnames; i++) {
    total += pr[i];
    if (pr[i] > pr[top]) top = i;
  }
  cr_expect(fabs(total - t.n_surnames) < 1e-3 * t.n_surnames, "alias shares sum to %f of %u", total, t.n_surnames);
  cr_expect_eq(top, 0u, "the commonest surname is the table's first row");
  cr_expect_str_eq(t.surnames[top].s, "Smith");
  /* Its weight: Smith is 126,000 per 10 million in datasets/names, whose
   * 2,231 real names carry 4,614,240; each synthetic rare name carries
   * (10M - 4,614,240) / 60,000. The rare pool was meant to hold 60,000 names
   * (Smith at 1.26%), but its scrambled walk over the 61,200 syllable
   * combinations multiplies in 32 bits and wraps, so it meets only 38,560
   * distinct ones, 69 of them real names: 38,491 rare names, and Smith at
   * 1.56%. Pinned as it is, since changing it changes every generated file
   * (docs/generator.md says so too). */
  cr_expect_eq(t.n_rare_surnames, 38491u);
  cr_expect_eq(t.n_surnames, 2231u + 38491u);
  double rare_weight = (10000000.0 - 4614240.0) / 60000.0;
  double want_share = 126000.0 / (4614240.0 + t.n_rare_surnames * rare_weight);
  double share = pr[top] / t.n_surnames;
  cr_expect(fabs(share - want_share) < want_share * 1e-4, "Smith's share is %.7f, its weight says %.7f", share,
            want_share);
  free(pr);
  tsr__rng r;
  tsr__rng_init(&r, 5, 5, 5);
  uint32_t hits[8] = {0}, hits_top = 0;
  for (int i = 0; i < 400000; i++) {
    uint32_t k = tsr__alias_draw(&t.a_surname, &r);
    cr_assert_lt(k, t.n_surnames);
    if (k < 8) hits[k]++;
    hits_top += k == top;
  }
  /* 400,000 draws at p = 0.0156: mean 6246, sd 78; allow 5 sd */
  double want = 400000.0 * share;
  cr_expect(fabs((double)hits_top - want) < 5.0 * sqrt(want * (1.0 - share)), "Smith drawn %u times, expected %.0f",
            hits_top, want);
  /* the first rows of the table are the commonest names: expect skew */
  uint32_t tail = 0;
  tsr__rng_init(&r, 6, 6, 6);
  for (int i = 0; i < 100000; i++) tail += tsr__alias_draw(&t.a_surname, &r) >= t.n_surnames / 2;
  cr_expect_lt(tail, 50000u, "the bottom half of surnames should be drawn less than half the time");
  cr_expect_gt(hits[0], 400000u / t.n_surnames, "the commonest surname is drawn more than average");
  tsr__gen_tables_free(&t);
}

/* --- determinism across thread counts -------------------------------------------------------- */
static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *p = malloc((size_t)sz + 1);
  *n = p ? fread(p, 1, (size_t)sz, f) : 0;
  fclose(f);
  return p;
}

Test(generate, identical_for_1_and_2_threads, .timeout = 120) {
  char *d1 = tsr_test_tmpdir("gen_t1"), *d2 = tsr_test_tmpdir("gen_t2");
  cr_assert(d1 && d2);
  tsr_gen_opts o;
  tsr_gen_opts_init(&o);
  o.patients = 20000; /* 5 chunks, so threads really interleave */
  o.seed = 99;
  tsr_error e;
  tsr_gen_summary s1, s2;
  o.out_dir = d1;
  o.threads = 1;
  cr_assert_eq(tsr_generate(&o, &s1, &e), 0, "%s", e.msg);
  o.out_dir = d2;
  o.threads = 2;
  cr_assert_eq(tsr_generate(&o, &s2, &e), 0, "%s", e.msg);
  cr_expect_eq(s1.gp_rows, s2.gp_rows);
  cr_expect_eq(s1.hes_rows, s2.hes_rows);
  const char *files[] = {"gp.csv", "hes_apc.csv", "truth.csv", "truth_spells.csv", "truth_patients.csv",
                         "optouts_type1.csv", "optouts_ndoo.csv", "link.json"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char p1[256], p2[256];
    snprintf(p1, sizeof p1, "%s/%s", d1, files[i]);
    snprintf(p2, sizeof p2, "%s/%s", d2, files[i]);
    size_t n1 = 0, n2 = 0;
    char *a = slurp(p1, &n1), *b = slurp(p2, &n2);
    cr_assert(a && b, "missing %s", files[i]);
    cr_expect_gt(n1, 10u);
    cr_expect(n1 == n2 && memcmp(a, b, n1) == 0, "%s differs between 1 and 2 threads", files[i]);
    free(a);
    free(b);
  }
  /* no temporary files are left behind */
  DIR *dir = opendir(d2);
  struct dirent *de;
  while ((de = readdir(dir)))
    cr_expect(!strstr(de->d_name, ".tmp"), "left over %s", de->d_name);
  closedir(dir);
  /* a different seed gives different data */
  o.seed = 100;
  o.out_dir = d1;
  cr_assert_eq(tsr_generate(&o, &s1, &e), 0, "%s", e.msg);
  char p1[256], p2[256];
  snprintf(p1, sizeof p1, "%s/gp.csv", d1);
  snprintf(p2, sizeof p2, "%s/gp.csv", d2);
  size_t n1 = 0, n2 = 0;
  char *a = slurp(p1, &n1), *b = slurp(p2, &n2);
  cr_expect(n1 != n2 || memcmp(a, b, n1) != 0);
  free(a);
  free(b);
}

/* --- edges of the operators and parameters --------------------------------------- */

Test(dob, swap_needs_a_day_that_can_be_a_month) {
  /* day 12 is the last that can be a month; day 1 the first */
  cr_expect_eq(tsr__dob_swap(tsr__days_from_ymd(2001, 3, 12)), tsr__days_from_ymd(2001, 12, 3));
  cr_expect_eq(tsr__dob_swap(tsr__days_from_ymd(1999, 11, 1)), tsr__days_from_ymd(1999, 1, 11));
  cr_expect_eq(tsr__dob_swap(tsr__days_from_ymd(1999, 2, 28)), tsr__days_from_ymd(1999, 2, 28), "day 28 stays");
}

Test(typo, insert_reaches_every_position_including_the_end) {
  /* n + 1 places for an ASCII name of n letters: before each one, and after
   * the last */
  int at_end = 0, at_start = 0;
  for (uint64_t seed = 0; seed < 400; seed++) {
    char s[64] = "Smith";
    uint32_t len = 5;
    tsr__rng r;
    tsr__rng_init(&r, seed, 0, 5);
    cr_assert_eq(tsr__typo_insert(s, &len, sizeof s, &r), 1);
    at_end += strncmp(s, "Smith", 5) == 0;
    at_start += strcmp(s + 1, "Smith") == 0;
  }
  /* each place has probability 1/6: about 67 of 400 */
  cr_expect(at_end > 35 && at_end < 110, "%d insertions after the last letter", at_end);
  cr_expect(at_start > 35 && at_start < 110, "%d insertions before the first letter", at_start);
}

Test(params, defaults_of_the_options) {
  tsr_gen_opts o;
  tsr_gen_opts_init(&o);
  cr_expect_eq(o.seed, 1, "docs/generator.md: --seed defaults to 1");
  cr_expect_eq(o.threads, 0, "all cores");
  cr_expect_eq(o.period_start, tsr__days_from_ymd(2015, 4, 1));
  cr_expect_eq(o.period_end, tsr__days_from_ymd(2025, 3, 31));
  cr_expect_str_eq(o.scenario, "default");
}

Test(params, shares_and_numbers_at_their_edges) {
  tsr_gen_opts o;
  tsr_gen_opts_init(&o);
  tsr_error e;
  /* a share takes both ends of [0, 1] */
  cr_expect_eq(tsr_gen_opts_set(&o, "err.dob_swap", "1", &e), 0, "%s", e.msg);
  cr_expect_eq(o.param[TSR__GP_E_DOB_SWAP], 1.0);
  cr_expect_eq(tsr_gen_opts_set(&o, "err.dob_swap", "0", &e), 0, "%s", e.msg);
  cr_expect_eq(o.param[TSR__GP_E_DOB_SWAP], 0.0);
  cr_expect_eq(tsr_gen_opts_set(&o, "err.dob_swap", "1.000001", &e), TSR_EINVAL);
  cr_expect(strstr(e.msg, "expected a share in [0, 1]") != NULL, "%s", e.msg);
  cr_expect_eq(tsr_gen_opts_set(&o, "err.dob_swap", "-0.000001", &e), TSR_EINVAL);
  cr_expect_eq(o.param[TSR__GP_E_DOB_SWAP], 0.0, "a refused value changes nothing");
  /* counts and means take [0, 1000]; the gamma shape must be above 0 */
  cr_expect_eq(tsr_gen_opts_set(&o, "hes.mean_episodes", "0", &e), 0, "%s", e.msg);
  cr_expect_eq(tsr_gen_opts_set(&o, "hes.mean_episodes", "1000", &e), 0, "%s", e.msg);
  cr_expect_eq(tsr_gen_opts_set(&o, "hes.mean_episodes", "1000.5", &e), TSR_EINVAL);
  cr_expect_eq(tsr_gen_opts_set(&o, "hes.dispersion_shape", "0", &e), TSR_EINVAL);
  cr_expect(strstr(e.msg, "(0, 1000]") != NULL, "%s", e.msg);
  cr_expect_eq(tsr_gen_opts_set(&o, "hes.dispersion_shape", "0.001", &e), 0, "%s", e.msg);
  cr_expect_eq(o.param[TSR__GP_HES_SHAPE], 0.001);
  cr_expect_eq(tsr_gen_opts_set(&o, "hes.dispersion_shape", "inf", &e), TSR_EINVAL);
  cr_expect_eq(tsr_gen_opts_set(&o, "pop.moves_mean", "-1", &e), TSR_EINVAL);
}

static int cmp_u64b(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Ids of one file's rows (the first field), sorted. */
static uint64_t *file_ids(const char *dir, const char *name, size_t *n) {
  char p[300];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  size_t len = 0;
  char *text = slurp(p, &len);
  cr_assert_not_null(text, "%s", p);
  text[len] = '\0';
  size_t cap = 1024, k = 0;
  uint64_t *ids = malloc(cap * sizeof *ids);
  char *line = strchr(text, '\n') + 1; /* past the header */
  while (line && *line) {
    if (k == cap) ids = realloc(ids, (cap *= 2) * sizeof *ids);
    ids[k++] = strtoull(line, NULL, 10);
    line = strchr(line, '\n');
    if (line) line++;
  }
  free(text);
  qsort(ids, k, sizeof *ids, cmp_u64b);
  *n = k;
  return ids;
}

/* docs/generator.md: record ids are chunk x 1,000,000 + position + 1. */
Test(generate, record_ids_are_chunk_stride_plus_position_plus_one) {
  char *d = tsr_test_tmpdir("gen_ids");
  cr_assert_not_null(d);
  tsr_gen_opts o;
  tsr_gen_opts_init(&o);
  o.patients = 5000; /* two chunks: 4096 patients, then 904 */
  o.seed = 3;
  o.threads = 1;
  o.out_dir = d;
  tsr_error e;
  tsr_gen_summary s;
  cr_assert_eq(tsr_generate(&o, &s, &e), 0, "%s", e.msg);
  static const char *const files[] = {"gp.csv", "hes_apc.csv"};
  for (int f = 0; f < 2; f++) {
    size_t n = 0;
    uint64_t *ids = file_ids(d, files[f], &n);
    cr_assert_gt(n, 1000u);
    /* chunk 0 holds 1, 2, ..., k; chunk 1 holds 1000001, ..., 1000000 + m */
    size_t k = 0;
    while (k < n && ids[k] < 1000000u) k++;
    cr_assert(k > 0 && k < n, "%s: both chunks have rows", files[f]);
    for (size_t i = 0; i < k; i++) cr_assert_eq(ids[i], i + 1, "%s: id %llu", files[f], (unsigned long long)ids[i]);
    for (size_t i = k; i < n; i++)
      cr_assert_eq(ids[i], 1000000u + (i - k) + 1, "%s: id %llu", files[f], (unsigned long long)ids[i]);
    free(ids);
  }
}
