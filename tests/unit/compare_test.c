/* Unit tests for the compare stage's foundation (engine/compare/): string
 * similarity (Jaro, Jaro-Winkler, Levenshtein, Damerau-Levenshtein) against
 * published values and against DuckDB 1.5.6 (the values a Splink user sees,
 * computed with @duckdb/node-api and pinned here), properties on seeded random
 * strings (symmetry, bounds, identity, the bit-parallel forms equal to the
 * scalar references for every pair of lengths 0..70, so the 64-byte edge is
 * crossed, bounded forms equal to clamped unbounded ones), and the level
 * tables of the date, postcode and NHS-number comparisons with both edges of
 * every window. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/rng.h"
#include "compare/fieldcmp.h"
#include "compare/strsim.h"
#include "ingest/fields.h"
#include "tessera/common.h"
#include "tessera/store.h"

#define S(x) x, strlen(x)

static double jw(const char *a, const char *b) { return tsr__jaro_winkler(S(a), S(b)); }
static double jaro(const char *a, const char *b) { return tsr__jaro(S(a), S(b)); }
static size_t lev(const char *a, const char *b) { return tsr__lev(S(a), S(b)); }
static size_t dl(const char *a, const char *b) { return tsr__dl(S(a), S(b)); }

/* --- published values --------------------------------------------------------------- */

/* Winkler (1990) and the textbook examples, to the three decimals published. */
Test(strsim, winkler_published) {
  cr_expect_float_eq(jaro("MARTHA", "MARHTA"), 0.944, 0.0005);
  cr_expect_float_eq(jw("MARTHA", "MARHTA"), 0.961, 0.0005);
  cr_expect_float_eq(jaro("DWAYNE", "DUANE"), 0.822, 0.0005);
  cr_expect_float_eq(jw("DWAYNE", "DUANE"), 0.840, 0.0005);
  cr_expect_float_eq(jaro("DIXON", "DICKSONX"), 0.767, 0.0005);
  cr_expect_float_eq(jw("DIXON", "DICKSONX"), 0.813, 0.0005);
  cr_expect_float_eq(jaro("CRATE", "TRACE"), 0.733, 0.0005);
}

Test(strsim, levenshtein_published) {
  cr_expect_eq(lev("kitten", "sitting"), 3);
  cr_expect_eq(lev("sitting", "kitten"), 3);
  cr_expect_eq(lev("flaw", "lawn"), 2);
  cr_expect_eq(lev("", "abc"), 3);
  cr_expect_eq(lev("abc", ""), 3);
  cr_expect_eq(lev("", ""), 0);
  cr_expect_eq(lev("Saturday", "Sunday"), 3);
}

/* True Damerau-Levenshtein (as DuckDB's damerau_levenshtein), not the
 * optimal string alignment distance: CA -> AC -> ABC is 2 edits, which OSA
 * cannot do (it may not edit between the transposed pair: 3). */
Test(strsim, damerau_true_not_osa) {
  cr_expect_eq(dl("CA", "ABC"), 2);
  cr_expect_eq(dl("ABC", "CA"), 2);
  cr_expect_eq(dl("ab", "ba"), 1);
  cr_expect_eq(dl("abcdef", "badcfe"), 3);
  cr_expect_eq(dl("MARTHA", "MARHTA"), 1);
  cr_expect_eq(dl("a cat", "an act"), 2);
  cr_expect_eq(dl("", "abc"), 3);
  cr_expect_eq(dl("abc", ""), 3);
  cr_expect_eq(dl("", ""), 0);
  cr_expect_eq(tsr__dl_bounded(S("CA"), S("ABC"), 2), 2);
  cr_expect_eq(tsr__dl_bounded(S("CA"), S("ABC"), 1), 2);
  cr_expect_eq(tsr__dl_bounded(S("ab"), S("ba"), 1), 1);
  cr_expect_eq(tsr__dl_bounded(S("ab"), S("ba"), 0), 1);
}

/* Winkler's boost applies above Jaro 0.7 only, the prefix counts up to 4. */
Test(strsim, winkler_conventions) {
  /* Jaro 2/3 < 0.7: no boost although the first byte agrees */
  cr_expect_eq(jw("AB", "AC"), jaro("AB", "AC"));
  /* a 6-byte common prefix is worth as much as a 4-byte one */
  cr_expect_float_eq(jw("ABCDEFXY", "ABCDEFZW"), 0.9, 1e-15);
  cr_expect_float_eq(jw("ABCDXY", "ABCDZW"), 7.0 / 9.0 + 0.4 * (2.0 / 9.0), 1e-15);
  /* Jaro (0.5 + 0.6 + 1) / 3 rounds to 0.70000000000000007, just above the
   * threshold, as in DuckDB: boosted to 0.79 */
  cr_expect_float_eq(jw("ABCXXX", "ABCYY"), 0.79, 1e-15);
  /* empty on either side scores 0 (DuckDB's convention) */
  cr_expect_eq(jw("", ""), 0.0);
  cr_expect_eq(jw("A", ""), 0.0);
  cr_expect_eq(jw("", "A"), 0.0);
  cr_expect_eq(jw("A", "A"), 1.0);
  /* the window is max/2 - 1: AB vs BA has window 0, so no match */
  cr_expect_eq(jaro("AB", "BA"), 0.0);
  /* window 1 for length 4: every byte of BADC is in reach */
  cr_expect_float_eq(jaro("ABCD", "BADC"), 5.0 / 6.0, 1e-15);
}

/* DuckDB 1.5.6 on the same pairs: jaro_similarity, jaro_winkler_similarity,
 * levenshtein, damerau_levenshtein (17 significant digits). */
typedef struct duck_row {
  const char *a, *b;
  double j, jw;
  size_t lev, dl;
} duck_row;
static const duck_row duck[] = {
  {"MARTHA", "MARHTA", 0.94444444444444453, 0.96111111111111114, 2, 1},
  {"DWAYNE", "DUANE", 0.82222222222222230, 0.84000000000000008, 2, 2},
  {"DIXON", "DICKSONX", 0.76666666666666661, 0.81333333333333324, 4, 4},
  {"JONES", "JOHNSON", 0.79047619047619044, 0.83238095238095233, 4, 4},
  {"SMITH", "SMYTH", 0.86666666666666670, 0.89333333333333331, 1, 1},
  {"SMITH", "SCHMIDT", 0.70714285714285718, 0.73642857142857143, 4, 4},
  {"WILLIAMS", "WILLIAMSON", 0.93333333333333324, 0.95999999999999996, 2, 2},
  {"CATHERINE", "KATHERINE", 0.92592592592592593, 0.92592592592592593, 1, 1},
  {"CATHERINE", "KATHRYN", 0.75661375661375663, 0.75661375661375663, 4, 4},
  {"JOHN", "JON", 0.91666666666666663, 0.93333333333333335, 1, 1},
  {"JOHN", "JONATHAN", 0.75000000000000000, 0.80000000000000004, 4, 4},
  {"MCDONALD", "MACDONALD", 0.96296296296296291, 0.96666666666666656, 1, 1},
  {"OBRIEN", "O BRIEN", 0.95238095238095244, 0.95714285714285718, 1, 1},
  {"SARAH", "SARA", 0.93333333333333324, 0.95999999999999996, 1, 1},
  {"STEPHEN", "STEVEN", 0.84920634920634919, 0.89444444444444449, 2, 2},
  {"ELIZABETH", "ELISABETH", 0.92592592592592593, 0.94814814814814818, 1, 1},
  {"MOHAMMED", "MUHAMMAD", 0.83333333333333337, 0.85000000000000009, 2, 2},
  {"THOMPSON", "THOMSON", 0.95833333333333337, 0.97499999999999998, 1, 1},
  {"ANNE", "ANN", 0.91666666666666663, 0.94166666666666665, 1, 1},
  {"GEOFFREY", "JEFFREY", 0.86904761904761907, 0.86904761904761907, 2, 2},
  {"BROWN", "BRAUN", 0.73333333333333339, 0.78666666666666674, 2, 2},
  {"ABRAHAMS", "ABRAMS", 0.91666666666666663, 0.94999999999999996, 2, 2},
  {"HARRIS", "HARRISON", 0.91666666666666663, 0.94999999999999996, 2, 2},
  {"ZHANG", "ZANG", 0.93333333333333324, 0.93999999999999995, 1, 1},
  {"NGUYEN", "NGUYN", 0.94444444444444453, 0.96666666666666667, 1, 1},
  {"SMITH-JONES", "JONES", 0.43030303030303035, 0.43030303030303035, 6, 6},
  {"ALEXANDER", "ALEXANDRA", 0.92592592592592593, 0.95555555555555560, 2, 2},
  {"CHRISTOPHER", "KRISTOFER", 0.80471380471380483, 0.80471380471380483, 4, 4},
  {"JEAN", "JANE", 0.83333333333333337, 0.85000000000000009, 2, 2},
  {"CA", "ABC", 0.0000000000000000, 0.0000000000000000, 3, 2},
  {"AB", "BA", 0.0000000000000000, 0.0000000000000000, 2, 1},
  {"ABCXXX", "ABCYY", 0.70000000000000007, 0.79000000000000004, 3, 3},
  {"PHILIP", "PHILLIPS", 0.91666666666666663, 0.94999999999999996, 2, 2},
  {"LOUISE", "LEWIS", 0.70000000000000007, 0.73000000000000009, 3, 3},
  {"A", "A", 1.0000000000000000, 1.0000000000000000, 0, 0},
  {"A", "B", 0.0000000000000000, 0.0000000000000000, 1, 1},
  {"ABC", "XYZ", 0.0000000000000000, 0.0000000000000000, 3, 3},
};

Test(strsim, duckdb_table) {
  for (size_t k = 0; k < sizeof duck / sizeof duck[0]; k++) {
    const duck_row *r = &duck[k];
    cr_expect_float_eq(jaro(r->a, r->b), r->j, 1e-15, "jaro %s %s", r->a, r->b);
    cr_expect_float_eq(jw(r->a, r->b), r->jw, 1e-15, "jw %s %s", r->a, r->b);
    cr_expect_float_eq(jw(r->b, r->a), r->jw, 1e-15, "jw %s %s", r->b, r->a);
    cr_expect_eq(lev(r->a, r->b), r->lev, "lev %s %s", r->a, r->b);
    cr_expect_eq(dl(r->a, r->b), r->dl, "dl %s %s", r->a, r->b);
    cr_expect_eq(dl(r->b, r->a), r->dl, "dl %s %s", r->b, r->a);
  }
}

/* --- properties on seeded random strings ---------------------------------------- */

/* A random string of length n over the first `alpha` upper-case letters. */
static void rnd(tsr__rng *g, char *s, size_t n, unsigned alpha) {
  for (size_t i = 0; i < n; i++) s[i] = (char)('A' + tsr__rng_below(g, alpha));
  s[n] = '\0';
}

/* Text-book optimal string alignment, to show the Damerau distance is the
 * other one (never larger; smaller on some pairs). */
static size_t osa(const char *a, size_t la, const char *b, size_t lb) {
  size_t w = lb + 1, *d = malloc((la + 1) * w * sizeof *d);
  cr_assert(d);
  for (size_t i = 0; i <= la; i++) d[i * w] = i;
  for (size_t j = 0; j <= lb; j++) d[j] = j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      size_t c = a[i - 1] != b[j - 1], v = d[(i - 1) * w + j - 1] + c;
      if (d[(i - 1) * w + j] + 1 < v) v = d[(i - 1) * w + j] + 1;
      if (d[i * w + j - 1] + 1 < v) v = d[i * w + j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[(i - 2) * w + j - 2] + 1 < v)
        v = d[(i - 2) * w + j - 2] + 1;
      d[i * w + j] = v;
    }
  size_t r = d[la * w + lb];
  free(d);
  return r;
}

/* Every pair of lengths 0..70 (both sides), over a 3- and a 12-letter
 * alphabet: bit-parallel == scalar exactly, and the bounded forms. */
Test(strsim, bit_parallel_equals_scalar_all_lengths) {
  tsr__rng g;
  tsr__rng_init(&g, 42, 1, 0);
  char a[80], b[80];
  for (size_t la = 0; la <= 70; la++)
    for (size_t lb = 0; lb <= 70; lb++)
      for (unsigned alpha = 3; alpha <= 12; alpha += 9) {
        rnd(&g, a, la, alpha);
        rnd(&g, b, lb, alpha);
        double j1 = tsr__jaro(a, la, b, lb), j0 = tsr__jaro_scalar(a, la, b, lb);
        cr_assert_eq(j1, j0, "jaro %zu %zu: %.17g vs %.17g", la, lb, j1, j0);
        double w1 = tsr__jaro_winkler(a, la, b, lb), w0 = tsr__jaro_winkler_scalar(a, la, b, lb);
        cr_assert_eq(w1, w0, "jw %zu %zu", la, lb);
        if (la <= 64) {
          tsr__pm64 pm;
          tsr__pm_init(&pm, a, la);
          cr_assert_eq(tsr__jaro_winkler_pm(&pm, b, lb), w0, "jw_pm %zu %zu", la, lb);
        }
        size_t l1 = tsr__lev(a, la, b, lb), l0 = tsr__lev_scalar(a, la, b, lb);
        cr_assert_eq(l1, l0, "lev %zu %zu: %zu vs %zu", la, lb, l1, l0);
        cr_assert_eq(tsr__lev(b, lb, a, la), l0, "lev symmetric %zu %zu", la, lb);
        size_t d = tsr__dl(a, la, b, lb);
        cr_assert_leq(d, l0);
        cr_assert_leq(d, osa(a, la, b, lb));
        cr_assert_geq(d, la > lb ? la - lb : lb - la);
        cr_assert_eq(tsr__dl(b, lb, a, la), d, "dl symmetric %zu %zu", la, lb);
        for (size_t max = 0; max <= 6; max++) {
          size_t want_l = l0 <= max ? l0 : max + 1, want_d = d <= max ? d : max + 1;
          cr_assert_eq(tsr__lev_bounded(a, la, b, lb, max), want_l, "lev_bounded %zu %zu %zu", la, lb, max);
          cr_assert_eq(tsr__dl_bounded(a, la, b, lb, max), want_d, "dl_bounded %zu %zu %zu", la, lb, max);
        }
        size_t big = l0 + (size_t)tsr__rng_below(&g, 8);
        cr_assert_eq(tsr__lev_bounded(a, la, b, lb, big), l0);
        cr_assert_eq(tsr__dl_bounded(a, la, b, lb, big), d);
      }
}

/* Near pairs (a few edits of one string), where the similarities are high
 * and the bounds bite: symmetry, [0, 1], identity, the length bound. */
Test(strsim, properties_near_pairs) {
  tsr__rng g;
  tsr__rng_init(&g, 7, 2, 0);
  char a[80], b[80];
  size_t osa_larger = 0;
  for (int it = 0; it < 20000; it++) {
    size_t la = (size_t)tsr__rng_range(&g, 1, 70);
    rnd(&g, a, la, 6);
    memcpy(b, a, la + 1);
    size_t lb = la;
    int edits = (int)tsr__rng_below(&g, 4);
    for (int e = 0; e < edits; e++) {
      size_t p = lb ? (size_t)tsr__rng_below(&g, lb) : 0;
      switch (tsr__rng_below(&g, 4)) {
      case 0: if (lb) b[p] = (char)('A' + tsr__rng_below(&g, 6)); break;
      case 1: if (lb < 75) { memmove(b + p + 1, b + p, lb - p + 1); b[p] = 'Z'; lb++; } break;
      case 2: if (lb > 1) { memmove(b + p, b + p + 1, lb - p); lb--; } break;
      default: if (p + 1 < lb) { char t = b[p]; b[p] = b[p + 1]; b[p + 1] = t; } break;
      }
    }
    double x = tsr__jaro_winkler(a, la, b, lb), y = tsr__jaro_winkler(b, lb, a, la);
    cr_assert_eq(x, y, "jw symmetric: %s %s", a, b);
    cr_assert_eq(tsr__jaro(a, la, b, lb), tsr__jaro(b, lb, a, la));
    cr_assert(x >= 0.0 && x <= 1.0);
    cr_assert_leq(x, tsr__jw_upper_bound(la, lb), "bound %s %s", a, b);
    cr_assert_eq(tsr__jaro_winkler(a, la, a, la), 1.0);
    cr_assert_eq(tsr__jaro(b, lb, b, lb), 1.0);
    cr_assert_eq(tsr__lev(a, la, a, la), 0);
    cr_assert_eq(tsr__dl(a, la, a, la), 0);
    size_t d = tsr__dl(a, la, b, lb);
    cr_assert_leq(d, (size_t)edits, "dl %s %s", a, b); /* never more than the edits made */
    osa_larger += osa(a, la, b, lb) > d;
  }
  (void)osa_larger;
}

/* True Damerau-Levenshtein is a metric (OSA is not): the triangle holds. */
Test(strsim, damerau_triangle) {
  tsr__rng g;
  tsr__rng_init(&g, 9, 3, 0);
  char a[16], b[16], c[16];
  for (int it = 0; it < 20000; it++) {
    size_t la = (size_t)tsr__rng_below(&g, 7), lb = (size_t)tsr__rng_below(&g, 7), lc = (size_t)tsr__rng_below(&g, 7);
    rnd(&g, a, la, 3);
    rnd(&g, b, lb, 3);
    rnd(&g, c, lc, 3);
    cr_assert_leq(tsr__dl(a, la, c, lc), tsr__dl(a, la, b, lb) + tsr__dl(b, lb, c, lc), "%s %s %s", a, b, c);
  }
  /* and OSA breaks it where the true distance does not: CA, AC, ABC */
  cr_expect_eq(osa(S("CA"), S("ABC")), 3);
  cr_expect_eq(osa(S("CA"), S("AC")) + osa(S("AC"), S("ABC")), 2);
}

/* The length bound: tight (reached by a prefix of the longer string) and
 * above every score on random strings of those lengths. */
Test(strsim, jw_upper_bound) {
  cr_expect_eq(tsr__jw_upper_bound(0, 5), 0.0);
  cr_expect_eq(tsr__jw_upper_bound(5, 0), 0.0);
  /* a prefix reaches it: JONES vs JONESXXXXX */
  cr_expect_float_eq(tsr__jw_upper_bound(5, 10), jw("JONES", "JONESXXXXX"), 1e-11);
  cr_expect_geq(tsr__jw_upper_bound(5, 10), jw("JONES", "JONESXXXXX"));
  cr_expect_float_eq(tsr__jw_upper_bound(4, 4), 1.0, 1e-11);
  /* (2 + 3/10) / 3 = 0.7667 > 0.7: boosted by 4 * 0.1 */
  cr_expect_float_eq(tsr__jw_upper_bound(3, 10), 0.76666666666666667 + 0.3 * (1 - 0.76666666666666667), 1e-11);
  /* (2 + 1/10) / 3 = 0.7 exactly in decimals: the bound is the same float
   * computation as a real score, so it agrees with one at the edge */
  cr_expect_float_eq(tsr__jw_upper_bound(1, 10), jw("A", "AXXXXXXXXX"), 1e-11);
  cr_expect_float_eq(tsr__jw_upper_bound(10, 1), tsr__jw_upper_bound(1, 10), 0);
  /* strings 1 vs 20: (2 + 0.05) / 3 = 0.683 < 0.7, no boost possible */
  cr_expect_float_eq(tsr__jw_upper_bound(1, 20), 2.05 / 3, 1e-11);
  tsr__rng g;
  tsr__rng_init(&g, 11, 4, 0);
  char a[80], b[80];
  for (int it = 0; it < 20000; it++) {
    size_t la = (size_t)tsr__rng_below(&g, 20), lb = (size_t)tsr__rng_below(&g, 20);
    rnd(&g, a, la, 2);
    memcpy(b, a, la < lb ? la : lb); /* a shared prefix, so the score is high */
    rnd(&g, b + (la < lb ? la : lb), lb - (la < lb ? la : lb), 2);
    cr_assert_leq(tsr__jaro_winkler(a, la, b, lb), tsr__jw_upper_bound(la, lb));
  }
}

/* Bytes above 127 index the masks as unsigned; a long string goes scalar. */
Test(strsim, high_bytes_and_long) {
  cr_expect_eq(jw("\xC3\xA9" "COLE", "\xC3\xA9" "COLE"), 1.0);
  cr_expect_eq(lev("\xFF\x80", "\x80\xFF"), 2);
  cr_expect_eq(dl("\xFF\x80", "\x80\xFF"), 1);
  char a[301], b[301];
  memset(a, 'A', 300);
  memset(b, 'A', 300);
  a[300] = b[300] = '\0';
  b[150] = 'B';
  b[10] = 'C';
  cr_expect_eq(lev(a, b), 2);
  cr_expect_eq(dl(a, b), 2);
  cr_expect_eq(tsr__lev_bounded(S(a), S(b), 1), 2);
  cr_expect_eq(tsr__dl_bounded(S(a), S(b), 1), 2);
  cr_expect_float_eq(jaro(a, b), (298.0 / 300.0 + 298.0 / 300.0 + 1.0) / 3.0, 1e-12); /* 298 matches, in order */
  /* the 64/65 edge of the pattern */
  char p[66], q[66];
  memset(p, 'A', 65);
  memset(q, 'A', 65);
  p[65] = q[65] = '\0';
  q[64] = 'B';
  cr_expect_eq(tsr__lev(p, 64, q, 65), 1);
  cr_expect_eq(tsr__lev(p, 65, q, 65), 1);
  cr_expect_eq(tsr__lev(p, 64, q, 64), 0);
  cr_expect_eq(tsr__jaro(p, 64, q, 64), 1.0);
}

/* --- dates of birth -------------------------------------------------------------------- */

static int32_t D(int y, int m, int d) { return tsr__days_from_ymd(y, m, d); }

static tsr__dob_level dob(int32_t a, int32_t b) {
  tsr__dob_opts o;
  tsr__dob_opts_init(&o);
  tsr__dob_level l = tsr__cmp_dob(a, b, &o);
  cr_assert_eq(tsr__cmp_dob(b, a, &o), l, "dob level not symmetric");
  return l;
}

Test(compare_dob, levels_and_edges) {
  cr_expect_eq(dob(TSR_DATE_NONE, D(1990, 3, 7)), TSR__DOB_NULL);
  cr_expect_eq(dob(TSR_DATE_NONE, TSR_DATE_NONE), TSR__DOB_NULL);
  cr_expect_eq(dob(D(1990, 3, 7), D(1990, 3, 7)), TSR__DOB_EXACT);
  /* day and month transposed, same year only */
  cr_expect_eq(dob(D(1990, 3, 7), D(1990, 7, 3)), TSR__DOB_DM_SWAP);
  cr_expect_eq(dob(D(1990, 3, 12), D(1990, 12, 3)), TSR__DOB_DM_SWAP);
  cr_expect_eq(dob(D(1990, 3, 7), D(1991, 7, 3)), TSR__DOB_WITHIN_YEARS);
  /* one digit of YYYYMMDD: year, month, day tens, day units */
  cr_expect_eq(dob(D(1990, 3, 7), D(1980, 3, 7)), TSR__DOB_ONE_DIGIT);
  cr_expect_eq(dob(D(1990, 3, 7), D(1990, 8, 7)), TSR__DOB_ONE_DIGIT);
  cr_expect_eq(dob(D(1990, 3, 17), D(1990, 3, 7)), TSR__DOB_ONE_DIGIT);
  cr_expect_eq(dob(D(1990, 3, 1), D(1990, 3, 31)), TSR__DOB_ONE_DIGIT);
  cr_expect_eq(dob(D(1990, 3, 7), D(1990, 3, 8)), TSR__DOB_ONE_DIGIT);
  cr_expect_eq(dob(D(1890, 3, 7), D(1990, 3, 7)), TSR__DOB_ONE_DIGIT);
  cr_expect_eq(dob(D(2090, 3, 7), D(1990, 3, 7)), TSR__DOB_ELSE); /* 20 vs 19: two digits */
  /* two digits: same year and month */
  cr_expect_eq(dob(D(1990, 3, 2), D(1990, 3, 31)), TSR__DOB_SAME_YM);
  cr_expect_eq(dob(D(1990, 3, 7), D(1990, 3, 18)), TSR__DOB_SAME_YM);
  /* within 30 days: 30 is in, 31 is out */
  cr_expect_eq(dob(D(1990, 3, 31), D(1990, 4, 30)), TSR__DOB_WITHIN_DAYS);
  cr_expect_eq(dob(D(1990, 3, 31), D(1990, 5, 1)), TSR__DOB_WITHIN_YEARS);
  cr_expect_eq(dob(D(1989, 12, 25), D(1990, 1, 23)), TSR__DOB_WITHIN_DAYS);
  /* 1 January on one side, same year */
  cr_expect_eq(dob(D(1990, 1, 1), D(1990, 6, 15)), TSR__DOB_JAN1);
  cr_expect_eq(dob(D(1990, 1, 1), D(1990, 12, 31)), TSR__DOB_JAN1);
  cr_expect_eq(dob(D(1990, 1, 1), D(1991, 6, 15)), TSR__DOB_WITHIN_YEARS);
  cr_expect_eq(dob(D(1990, 1, 1), D(1990, 1, 20)), TSR__DOB_SAME_YM);
  /* within 1 year (calendar years): 1 in, 2 out */
  cr_expect_eq(dob(D(1990, 6, 15), D(1991, 12, 20)), TSR__DOB_WITHIN_YEARS);
  cr_expect_eq(dob(D(1990, 6, 15), D(1992, 1, 20)), TSR__DOB_ELSE);
  cr_expect_eq(dob(D(1990, 12, 31), D(1992, 1, 1)), TSR__DOB_ELSE);
  cr_expect_eq(dob(D(1950, 6, 15), D(1990, 8, 20)), TSR__DOB_ELSE);
}

Test(compare_dob, options) {
  tsr__dob_opts o;
  tsr__dob_opts_init(&o);
  cr_expect_eq(o.within_days, 30);
  cr_expect_eq(o.within_years, 1);
  o.enabled &= ~TSR__LEVEL_BIT(TSR__DOB_ONE_DIGIT);
  cr_expect_eq(tsr__cmp_dob(D(1990, 3, 17), D(1990, 3, 7), &o), TSR__DOB_SAME_YM);
  cr_expect_eq(tsr__cmp_dob(D(1980, 3, 7), D(1990, 3, 7), &o), TSR__DOB_ELSE);
  o.enabled &= ~TSR__LEVEL_BIT(TSR__DOB_SAME_YM);
  cr_expect_eq(tsr__cmp_dob(D(1990, 3, 17), D(1990, 3, 7), &o), TSR__DOB_WITHIN_DAYS);
  o.within_days = 9;
  cr_expect_eq(tsr__cmp_dob(D(1990, 3, 17), D(1990, 3, 7), &o), TSR__DOB_WITHIN_YEARS);
  o.within_days = 10;
  cr_expect_eq(tsr__cmp_dob(D(1990, 3, 17), D(1990, 3, 7), &o), TSR__DOB_WITHIN_DAYS);
  o.within_years = 3;
  cr_expect_eq(tsr__cmp_dob(D(1990, 6, 15), D(1993, 1, 20), &o), TSR__DOB_WITHIN_YEARS);
  cr_expect_eq(tsr__cmp_dob(D(1990, 6, 15), D(1994, 1, 20), &o), TSR__DOB_ELSE);
  o.within_years = 0;
  cr_expect_eq(tsr__cmp_dob(D(1990, 6, 15), D(1990, 9, 20), &o), TSR__DOB_WITHIN_YEARS);
  o.enabled = TSR__LEVEL_BIT(TSR__DOB_EXACT);
  cr_expect_eq(tsr__cmp_dob(D(1990, 3, 7), D(1990, 7, 3), &o), TSR__DOB_ELSE);
  cr_expect_eq(tsr__cmp_dob(D(1990, 3, 7), D(1990, 3, 7), &o), TSR__DOB_EXACT);
  cr_expect_eq(tsr__cmp_dob(D(1990, 3, 7), TSR_DATE_NONE, &o), TSR__DOB_NULL);
}

Test(compare_dob, predicates) {
  cr_expect(!tsr__dob_dm_swapped(D(1990, 3, 3), D(1990, 3, 3)));
  cr_expect(!tsr__dob_one_digit(D(1990, 3, 7), D(1990, 3, 7)));
  cr_expect(!tsr__dob_one_digit(D(1990, 3, 7), D(1991, 3, 8)));
  cr_expect(tsr__dob_jan1_one_side(D(2001, 5, 5), D(2001, 1, 1)));
  cr_expect(!tsr__dob_jan1_one_side(D(2001, 1, 1), D(2001, 1, 1)));
  cr_expect(tsr__dob_within_years(D(2001, 1, 1), D(2000, 12, 31), 1));
  cr_expect(!tsr__dob_within_years(D(2001, 1, 1), D(2000, 12, 31), 0));
}

/* --- postcodes ---------------------------------------------------------------------------- */

static uint64_t P(const char *s) {
  uint64_t v;
  cr_assert_eq(tsr__std_postcode(s, strlen(s), &v), TSR__V_OK, "%s", s);
  return v;
}

static tsr__pc_level pc(const char *a, const char *b) {
  tsr__pc_level l = tsr__cmp_postcode(P(a), P(b), ~0u);
  cr_assert_eq(tsr__cmp_postcode(P(b), P(a), ~0u), l);
  return l;
}

Test(compare_postcode, levels_and_edges) {
  cr_expect_eq(tsr__cmp_postcode(0, P("LS1 4AP"), ~0u), TSR__PC_NULL);
  cr_expect_eq(tsr__cmp_postcode(P("LS1 4AP"), 0, ~0u), TSR__PC_NULL);
  cr_expect_eq(pc("LS1 4AP", "LS14AP"), TSR__PC_FULL);
  cr_expect_eq(pc("LS1 4AP", "LS1 4AQ"), TSR__PC_SECTOR);
  cr_expect_eq(pc("LS1 4AP", "LS1 4ZZ"), TSR__PC_SECTOR);
  cr_expect_eq(pc("LS1 4AP", "LS1 5AP"), TSR__PC_DISTRICT);
  cr_expect_eq(pc("LS1 4AP", "LS2 4AP"), TSR__PC_AREA);
  cr_expect_eq(pc("LS1 4AP", "LS11 4AP"), TSR__PC_AREA); /* LS1 is not LS11 */
  cr_expect_eq(pc("B1 1AA", "B11 1AA"), TSR__PC_AREA);
  cr_expect_eq(pc("M1 1AA", "ME1 1AA"), TSR__PC_ELSE); /* area M is not ME */
  cr_expect_eq(pc("W1A 1AA", "W1B 1AA"), TSR__PC_AREA);
  cr_expect_eq(pc("W1A 1AA", "W1A 2AA"), TSR__PC_DISTRICT);
  cr_expect_eq(pc("LS1 4AP", "M1 4AP"), TSR__PC_ELSE);
  cr_expect_eq(tsr__postcode_area(P("LS1 4AP")), (uint64_t)'L' << 56 | (uint64_t)'S' << 48);
  cr_expect_eq(tsr__postcode_area(P("B11 1AA")), (uint64_t)'B' << 56);
  cr_expect_eq(tsr__cmp_postcode(P("LS1 4AP"), P("LS1 4AQ"), TSR__LEVEL_BIT(TSR__PC_FULL) | TSR__LEVEL_BIT(TSR__PC_AREA)),
               TSR__PC_AREA);
  cr_expect_eq(tsr__cmp_postcode(P("LS1 4AP"), P("LS1 4AQ"), TSR__LEVEL_BIT(TSR__PC_FULL)), TSR__PC_ELSE);
}

/* --- NHS numbers ------------------------------------------------------------------------- */

/* A valid number from nine digits (tries the next until the check exists). */
static uint64_t valid_nhs(uint64_t first9) {
  for (;; first9++) {
    uint8_t d[9];
    uint64_t x = first9;
    for (int i = 8; i >= 0; i--, x /= 10) d[i] = (uint8_t)(x % 10);
    int c = tsr_nhs_check_digit(d);
    uint64_t v = first9 * 10 + (uint64_t)c;
    if (c != 10 && tsr_nhs_valid(v)) return v;
  }
}

Test(compare_nhs, levels) {
  const uint64_t a = 9434765919ull, b = 4010232137ull; /* published valid examples */
  cr_assert(tsr_nhs_valid(a) && tsr_nhs_valid(b));
  cr_expect_eq(tsr__cmp_nhs(0, a, ~0u), TSR__NHS_NULL);
  cr_expect_eq(tsr__cmp_nhs(a, 0, ~0u), TSR__NHS_NULL);
  cr_expect_eq(tsr__cmp_nhs(a, a, ~0u), TSR__NHS_EQUAL);
  cr_expect_eq(tsr__cmp_nhs(a, b, ~0u), TSR__NHS_DIFFERENT);
  cr_expect_eq(tsr__cmp_nhs(a, 9434765918ull, ~0u), TSR__NHS_NEAR);  /* last digit */
  cr_expect_eq(tsr__cmp_nhs(a, 4934765919ull, ~0u), TSR__NHS_NEAR);  /* first two swapped */
  cr_expect_eq(tsr__cmp_nhs(a, 9434765991ull, ~0u), TSR__NHS_NEAR);  /* last two swapped */
  cr_expect_eq(tsr__cmp_nhs(a, 1434765999ull, ~0u), TSR__NHS_NEAR);  /* first and last swapped */
  cr_expect_eq(tsr__cmp_nhs(4934765919ull, a, ~0u), TSR__NHS_NEAR);
  cr_expect_eq(tsr__cmp_nhs(a, 9434765928ull, ~0u), TSR__NHS_ELSE);  /* two digits */
  cr_expect_eq(tsr__cmp_nhs(a, 3944765919ull, ~0u), TSR__NHS_ELSE);  /* a rotation, not a swap */
  cr_expect_eq(tsr__cmp_nhs(a, 4394765919ull, ~0u), TSR__NHS_DIFFERENT); /* the other rotation is valid */
  cr_expect_eq(tsr__cmp_nhs(9434765918ull, 9434765918ull, ~0u), TSR__NHS_NEAR); /* equal, invalid */
  cr_expect_eq(tsr__cmp_nhs(a, 19434765919ull, ~0u), TSR__NHS_ELSE); /* 11 digits */
  cr_expect_eq(tsr__cmp_nhs(a, a, TSR__LEVEL_BIT(TSR__NHS_DIFFERENT)), TSR__NHS_ELSE);
  cr_expect_eq(tsr__cmp_nhs(a, 9434765918ull, TSR__LEVEL_BIT(TSR__NHS_DIFFERENT)), TSR__NHS_ELSE);
  cr_expect(tsr__nhs_near(123, 132));
  cr_expect(!tsr__nhs_near(123, 123));
  cr_expect(tsr__nhs_near(123, 321)); /* 0000000123: a swap of two places */
  cr_expect(!tsr__nhs_near(123, 312)); /* a rotation of three */
  cr_expect(tsr__nhs_near(123, 1123));
}

/* Modulus 11 catches every single-digit error and every swap: two valid
 * numbers are never near (so NEAR only sees unvalidated numbers). */
Test(compare_nhs, valid_never_near) {
  tsr__rng g;
  tsr__rng_init(&g, 5, 6, 0);
  for (int it = 0; it < 3000; it++) {
    uint64_t v = valid_nhs(100000000 + tsr__rng_below(&g, 899999999));
    uint64_t pw = 1;
    for (int i = 0; i < 10; i++, pw *= 10) {
      unsigned di = (unsigned)(v / pw % 10);
      for (unsigned x = 0; x < 10; x++) {
        if (x == di) continue;
        uint64_t w = v - di * pw + x * pw;
        cr_assert(!tsr_nhs_valid(w) || w < 1000000000ull, "%llu -> %llu", (unsigned long long)v, (unsigned long long)w);
        cr_assert_eq(tsr__cmp_nhs(v, w, ~0u), w ? TSR__NHS_NEAR : TSR__NHS_NULL);
      }
    }
  }
}
