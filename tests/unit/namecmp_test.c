/* Unit tests for the name comparisons (engine/compare/namecmp.h): a table of
 * name pairs with their expected level covering every level, both edges of
 * each Jaro-Winkler threshold (pairs whose score is exactly 0.92 and 0.88 as
 * doubles, and the nearest below each, found with tsr__jaro_winkler over the
 * surname list), the Damerau-Levenshtein edges, null handling, the enabled
 * mask (switching a level off lets the next one win), the options, swapped
 * given and family names, double-barrelled parts, initials, symmetry of every
 * level on seeded random names, and the memo equal to the direct computation
 * on 100k seeded random pairs. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>
#include <xxhash.h>

#include "common/rng.h"
#include "compare/namecmp.h"
#include "compare/strsim.h"
#include "ingest/names.h"

/* A value as the store holds it: hash and codes from the bytes. */
static tsr__name_val V(const char *s) {
  size_t n = strlen(s);
  tsr__name_val v = {s, n, n ? XXH3_64bits(s, n) : 0, tsr__soundex(s, n), tsr__nysiis(s, n)};
  return v;
}

static tsr__name_level lvl(const char *a, const char *b, const tsr__name_opts *o) {
  tsr__name_val x = V(a), y = V(b);
  return tsr__cmp_name(&x, &y, o);
}

static double jw(const char *a, const char *b) { return tsr__jaro_winkler(a, strlen(a), b, strlen(b)); }

typedef struct name_case {
  const char *a, *b;
  tsr__name_level want;
} name_case;

/* Default options: every level on, 0.92 / 0.88, DL 1 / 2, both codes. */
static const name_case cases[] = {
    {"", "SMITH", TSR__NAME_NULL},
    {"SMITH", "", TSR__NAME_NULL},
    {"", "", TSR__NAME_NULL},
    {"SMITH", "SMITH", TSR__NAME_EXACT},
    {"J", "J", TSR__NAME_EXACT},
    {"O'NEILL", "ONEILL", TSR__NAME_EXACT_STD},
    {"SMITH-JONES", "SMITH JONES", TSR__NAME_EXACT_STD},
    {"SMITHJONES", "SMITH JONES", TSR__NAME_EXACT_STD},
    {"MC DONALD", "MCDONALD", TSR__NAME_EXACT_STD},
    {"D'ARCY-SMITH", "DARCY SMITH", TSR__NAME_EXACT_STD},
    {"LEWIS", "LEWIN", TSR__NAME_JW1},               /* JW exactly 0.92 */
    {"JOHN", "JON", TSR__NAME_JW1},                  /* 0.933 */
    {"PEARSON", "PATERSON", TSR__NAME_JW2},          /* 0.9196, just under 0.92 */
    {"ABCDEFGHIJ", "ACBDEFGHIJXY", TSR__NAME_JW2},   /* 0.91999999999999993 */
    {"WHITE", "WAITE", TSR__NAME_JW2},               /* exactly 0.88 */
    {"SMITH", "SMYTH", TSR__NAME_JW2},               /* 0.893 */
    {"JOHN", "JOHNSTONE", TSR__NAME_JW2},            /* 0.889: the length bound (< 0.92) must not skip it */
    {"DAVIES", "DANIELS", TSR__NAME_DL2},            /* JW 0.8794 just under 0.88; DL 2 */
    {"HALL", "BALL", TSR__NAME_DL1},                 /* JW 0.833; DL 1 */
    {"LI", "IL", TSR__NAME_DL1},                     /* a transposition: DL 1 (Levenshtein 2) */
    {"JONES", "JAMES", TSR__NAME_DL2},               /* JW 0.76; DL 2 */
    {"SMITH", "SCHMIDT", TSR__NAME_PHONETIC},        /* Soundex S530 both; DL 4 */
    {"WILLIAMS", "WHELAN", TSR__NAME_PHONETIC},      /* NYSIIS WALAN both; Soundex differs */
    {"J", "JONES", TSR__NAME_INITIAL},
    {"JONES", "J", TSR__NAME_INITIAL},
    {"J", "K", TSR__NAME_DL1},
    {"J", "KAY", TSR__NAME_ELSE},
    {"A", "BA", TSR__NAME_DL1},                      /* one edit beats "initial" */
    {"SMITH", "SPENCER SMITH", TSR__NAME_PART},
    {"SPENCER SMITH", "SMITH", TSR__NAME_PART},
    {"BROWN SMITH", "SMITH TAYLOR", TSR__NAME_PART},
    {"J SMITH", "J BROWN", TSR__NAME_ELSE},          /* one-letter parts do not count */
    {"SMITH", "BROWN", TSR__NAME_ELSE},
    {"SMITH", "TAYLOR", TSR__NAME_ELSE},
};

Test(namecmp, table) {
  tsr__name_opts o;
  tsr__name_opts_init(&o);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const name_case *c = &cases[i];
    cr_expect_eq(lvl(c->a, c->b, &o), c->want, "%s / %s: level %d, want %d", c->a, c->b, lvl(c->a, c->b, &o),
                 c->want);
    cr_expect_eq(lvl(c->b, c->a, &o), c->want, "%s / %s reversed", c->b, c->a);
  }
}

/* The pairs the table leans on really sit where it says. */
Test(namecmp, threshold_edges_are_exact) {
  cr_assert(jw("LEWIS", "LEWIN") == 0.92);
  cr_assert(jw("WHITE", "WAITE") == 0.88);
  cr_assert(jw("PEARSON", "PATERSON") < 0.92 && jw("PEARSON", "PATERSON") > 0.9196);
  cr_assert(jw("ABCDEFGHIJ", "ACBDEFGHIJXY") < 0.92 && jw("ABCDEFGHIJ", "ACBDEFGHIJXY") > 0.92 - 1e-15);
  cr_assert(jw("DAVIES", "DANIELS") < 0.88 && jw("DAVIES", "DANIELS") > 0.8793);
  cr_assert_eq(tsr__dl("JONES", 5, "JAMES", 5), 2);
  cr_assert(tsr__jw_upper_bound(4, 9) < 0.92 && jw("JOHN", "JOHNSTONE") >= 0.88);
}

/* Raising or lowering a threshold moves the edge pairs across it. */
Test(namecmp, thresholds_configurable) {
  tsr__name_opts o;
  tsr__name_opts_init(&o);
  o.jw1 = nextafter(0.92, 1.0);
  cr_expect_eq(lvl("LEWIS", "LEWIN", &o), TSR__NAME_JW2);
  o.jw1 = 0.9196;
  cr_expect_eq(lvl("PEARSON", "PATERSON", &o), TSR__NAME_JW1);
  tsr__name_opts_init(&o);
  o.jw2 = nextafter(0.88, 1.0);
  cr_expect_eq(lvl("WHITE", "WAITE", &o), TSR__NAME_DL1);
  o.jw2 = 0.8793;
  cr_expect_eq(lvl("DAVIES", "DANIELS", &o), TSR__NAME_JW2);
  tsr__name_opts_init(&o);
  o.dl1 = 2;
  o.dl2 = 3;
  cr_expect_eq(lvl("JONES", "JAMES", &o), TSR__NAME_DL1);
  cr_expect_eq(lvl("JONES", "JUNG", &o), TSR__NAME_DL2); /* DL 3 */
  tsr__name_opts_init(&o);
  o.dl1 = 0;
  cr_expect_eq(lvl("HALL", "BALL", &o), TSR__NAME_DL2);
  tsr__name_opts_init(&o);
  o.phonetic = TSR__PHON_NYSIIS;
  cr_expect_eq(lvl("SMITH", "SCHMIDT", &o), TSR__NAME_ELSE);
  cr_expect_eq(lvl("WILLIAMS", "WHELAN", &o), TSR__NAME_PHONETIC);
  o.phonetic = TSR__PHON_SOUNDEX;
  cr_expect_eq(lvl("SMITH", "SCHMIDT", &o), TSR__NAME_PHONETIC);
  cr_expect_eq(lvl("WILLIAMS", "WHELAN", &o), TSR__NAME_ELSE);
  o.phonetic = 0;
  cr_expect_eq(lvl("SMITH", "SCHMIDT", &o), TSR__NAME_ELSE);
}

/* Codes of 0 (none stored) never agree phonetically. */
Test(namecmp, zero_codes_never_agree) {
  tsr__name_opts o;
  tsr__name_opts_init(&o);
  tsr__name_val a = V("AEIOU"), b = V("XYZWQ");
  a.soundex = b.soundex = 0;
  a.nysiis = b.nysiis = 0;
  cr_expect_eq(tsr__cmp_name(&a, &b, &o), TSR__NAME_ELSE);
  a.soundex = b.soundex = 7;
  cr_expect_eq(tsr__cmp_name(&a, &b, &o), TSR__NAME_PHONETIC);
  a.soundex = b.soundex = 0;
  a.nysiis = b.nysiis = 9;
  cr_expect_eq(tsr__cmp_name(&a, &b, &o), TSR__NAME_PHONETIC);
}

/* Switching a level off lets the next level that holds win. */
Test(namecmp, enabled_mask) {
  tsr__name_opts o;
  tsr__name_opts_init(&o);
  uint32_t all = o.enabled;
  o.enabled = all & ~TSR__LEVEL_BIT(TSR__NAME_EXACT);
  cr_expect_eq(lvl("SMITH", "SMITH", &o), TSR__NAME_EXACT_STD);
  o.enabled = all & ~TSR__LEVEL_BIT(TSR__NAME_EXACT_STD);
  cr_expect_eq(lvl("O'NEILL", "ONEILL", &o), TSR__NAME_JW1);
  o.enabled = all & ~TSR__LEVEL_BIT(TSR__NAME_JW1);
  cr_expect_eq(lvl("LEWIS", "LEWIN", &o), TSR__NAME_JW2);
  cr_expect_eq(lvl("WHITE", "WAITE", &o), TSR__NAME_JW2);
  o.enabled = all & ~TSR__LEVEL_BIT(TSR__NAME_JW2);
  cr_expect_eq(lvl("LEWIS", "LEWIN", &o), TSR__NAME_JW1);
  cr_expect_eq(lvl("WHITE", "WAITE", &o), TSR__NAME_DL1);
  cr_expect_eq(lvl("PEARSON", "PATERSON", &o), TSR__NAME_DL2);
  o.enabled = all & ~(TSR__LEVEL_BIT(TSR__NAME_JW1) | TSR__LEVEL_BIT(TSR__NAME_JW2));
  cr_expect_eq(lvl("LEWIS", "LEWIN", &o), TSR__NAME_DL1);
  o.enabled = all & ~TSR__LEVEL_BIT(TSR__NAME_DL1);
  cr_expect_eq(lvl("HALL", "BALL", &o), TSR__NAME_DL2);
  o.enabled = all & ~TSR__LEVEL_BIT(TSR__NAME_DL2);
  cr_expect_eq(lvl("JONES", "JAMES", &o), TSR__NAME_PHONETIC);
  cr_expect_eq(lvl("HALL", "BALL", &o), TSR__NAME_DL1);
  o.enabled = all & ~(TSR__LEVEL_BIT(TSR__NAME_DL1) | TSR__LEVEL_BIT(TSR__NAME_DL2));
  cr_expect_eq(lvl("HALL", "BALL", &o), TSR__NAME_ELSE);
  o.enabled = all & ~TSR__LEVEL_BIT(TSR__NAME_PHONETIC);
  cr_expect_eq(lvl("SMITH", "SCHMIDT", &o), TSR__NAME_ELSE);
  o.enabled = all & ~TSR__LEVEL_BIT(TSR__NAME_INITIAL);
  cr_expect_eq(lvl("J", "JONES", &o), TSR__NAME_ELSE);
  o.enabled = all & ~TSR__LEVEL_BIT(TSR__NAME_PART);
  cr_expect_eq(lvl("SMITH", "SPENCER SMITH", &o), TSR__NAME_ELSE);
  o.enabled = TSR__LEVEL_BIT(TSR__NAME_PART);
  cr_expect_eq(lvl("SMITH", "SMITH", &o), TSR__NAME_ELSE); /* single parts: not this level */
  o.enabled = 0;
  cr_expect_eq(lvl("SMITH", "SMITH", &o), TSR__NAME_ELSE);
  cr_expect_eq(lvl("SMITH", "", &o), TSR__NAME_NULL);
}

Test(namecmp, predicates) {
  cr_expect(tsr__name_eq_std("O'NEILL", 7, "ONEILL", 6));
  cr_expect(tsr__name_eq_std("-A B'", 5, "AB", 2));
  cr_expect(tsr__name_eq_std("' -", 3, "", 0));
  cr_expect(!tsr__name_eq_std("AB", 2, "ABC", 3));
  cr_expect(!tsr__name_eq_std("ABC", 3, "AB", 2));
  cr_expect(!tsr__name_eq_std("A.B", 3, "AB", 2)); /* only space, hyphen, apostrophe */
  cr_expect(tsr__name_initial("J", 1, "JO", 2));
  cr_expect(!tsr__name_initial("JO", 2, "JA", 2));
  cr_expect(!tsr__name_initial("", 0, "J", 1));
  cr_expect(tsr__name_part_eq("A BC", 4, "BC", 2));
  cr_expect(!tsr__name_part_eq("A BC", 4, "A", 1));
  cr_expect(!tsr__name_part_eq("BCD", 3, "BC", 2));
  cr_expect(!tsr__name_part_eq("BC DE", 5, "BCD E", 5));
  cr_expect(tsr__name_part_eq("XX YY ZZ", 8, "QQ ZZ", 5));
  cr_expect(tsr__name_close("SMITH", 5, "SMITH", 5, 0.92));
  cr_expect(tsr__name_close("LEWIS", 5, "LEWIN", 5, 0.92));
  cr_expect(!tsr__name_close("LEWIS", 5, "LEWIN", 5, nextafter(0.92, 1.0)));
  cr_expect(!tsr__name_close("", 0, "", 0, 0.5));
}

/* --- given and family ---------------------------------------------------------------- */

static tsr__full_level full(const char *ga, const char *fa, const char *gb, const char *fb, const tsr__full_opts *o) {
  tsr__name_val x = V(ga), y = V(fa), z = V(gb), w = V(fb);
  tsr__full_level l = tsr__cmp_fullname(&x, &y, &z, &w, o, NULL, NULL, NULL);
  cr_expect_eq(tsr__cmp_fullname(&z, &w, &x, &y, o, NULL, NULL, NULL), l, "fullname not symmetric: %s %s / %s %s", ga,
               fa, gb, fb);
  return l;
}

Test(namecmp, fullname_levels) {
  tsr__full_opts o;
  tsr__full_opts_init(&o);
  cr_expect_eq(full("JOHN", "SMITH", "JOHN", "SMITH", &o), TSR__FULL_EXACT);
  cr_expect_eq(full("JOHN", "SMITH-JONES", "JOHN", "SMITH JONES", &o), TSR__FULL_EXACT);
  cr_expect_eq(full("JOHN", "SMITH", "SMITH", "JOHN", &o), TSR__FULL_SWAPPED);
  cr_expect_eq(full("JON", "SMITH", "SMITH", "JOHN", &o), TSR__FULL_SWAPPED);   /* JW 0.933 */
  cr_expect_eq(full("JOHN", "LEWIS", "LEWIN", "JOHN", &o), TSR__FULL_SWAPPED);  /* JW exactly 0.92 */
  cr_expect_eq(full("JOHN", "SMITH", "SMYTH", "JOHN", &o), TSR__FULL_ELSE);     /* JW 0.893 < 0.92 */
  cr_expect_eq(full("JON", "SMYTH", "JOHN", "SMITH", &o), TSR__FULL_BOTH);
  cr_expect_eq(full("JOHN", "SMITH", "J", "SMITH", &o), TSR__FULL_FAMILY);      /* initial is below agree_worst */
  cr_expect_eq(full("PETER", "SMITH", "JOHN", "SMITH", &o), TSR__FULL_FAMILY);
  cr_expect_eq(full("JOHN", "SMITH", "JOHN", "TAYLOR", &o), TSR__FULL_GIVEN);
  cr_expect_eq(full("PETER", "SMITH", "JOHN", "TAYLOR", &o), TSR__FULL_ELSE);
  /* missing values */
  cr_expect_eq(full("", "", "JOHN", "SMITH", &o), TSR__FULL_NULL);
  cr_expect_eq(full("JOHN", "", "", "SMITH", &o), TSR__FULL_NULL);
  cr_expect_eq(full("", "SMITH", "JOHN", "SMITH", &o), TSR__FULL_FAMILY);
  cr_expect_eq(full("JOHN", "", "JOHN", "SMITH", &o), TSR__FULL_GIVEN);
  cr_expect_eq(full("", "SMITH", "SMITH", "", &o), TSR__FULL_NULL);
  cr_expect_eq(full("JOHN", "SMITH", "SMITH", "", &o), TSR__FULL_ELSE); /* no swap without all four */
  /* agree_worst */
  o.agree_worst = TSR__NAME_INITIAL;
  cr_expect_eq(full("JOHN", "SMITH", "J", "SMITH", &o), TSR__FULL_BOTH);
  o.agree_worst = TSR__NAME_JW2;
  cr_expect_eq(full("JOHN", "JONES", "JOHN", "JAMES", &o), TSR__FULL_GIVEN); /* DL2 does not agree */
  tsr__full_opts_init(&o);
  cr_expect_eq(full("JOHN", "JONES", "JOHN", "JAMES", &o), TSR__FULL_BOTH);
  /* the swap threshold */
  o.swap_jw = nextafter(0.92, 1.0);
  cr_expect_eq(full("JOHN", "LEWIS", "LEWIN", "JOHN", &o), TSR__FULL_ELSE);
  o.swap_jw = 0.89;
  cr_expect_eq(full("JOHN", "SMITH", "SMYTH", "JOHN", &o), TSR__FULL_SWAPPED);
}

Test(namecmp, fullname_enabled_mask) {
  tsr__full_opts o;
  tsr__full_opts_init(&o);
  uint32_t all = o.enabled;
  o.enabled = all & ~TSR__LEVEL_BIT(TSR__FULL_EXACT);
  cr_expect_eq(full("JOHN", "SMITH", "JOHN", "SMITH", &o), TSR__FULL_BOTH);
  o.enabled = all & ~TSR__LEVEL_BIT(TSR__FULL_SWAPPED);
  cr_expect_eq(full("JOHN", "SMITH", "SMITH", "JOHN", &o), TSR__FULL_ELSE);
  o.enabled = all & ~TSR__LEVEL_BIT(TSR__FULL_BOTH);
  cr_expect_eq(full("JON", "SMYTH", "JOHN", "SMITH", &o), TSR__FULL_FAMILY);
  o.enabled = all & ~(TSR__LEVEL_BIT(TSR__FULL_BOTH) | TSR__LEVEL_BIT(TSR__FULL_FAMILY));
  cr_expect_eq(full("JON", "SMYTH", "JOHN", "SMITH", &o), TSR__FULL_GIVEN);
  o.enabled = all & ~TSR__LEVEL_BIT(TSR__FULL_FAMILY);
  cr_expect_eq(full("PETER", "SMITH", "JOHN", "SMITH", &o), TSR__FULL_ELSE);
  o.enabled = all & ~TSR__LEVEL_BIT(TSR__FULL_GIVEN);
  cr_expect_eq(full("JOHN", "SMITH", "JOHN", "TAYLOR", &o), TSR__FULL_ELSE);
  /* the field options reach the fields */
  tsr__full_opts_init(&o);
  o.family.enabled &= ~TSR__LEVEL_BIT(TSR__NAME_PHONETIC);
  cr_expect_eq(full("JOHN", "SMITH", "JOHN", "SCHMIDT", &o), TSR__FULL_GIVEN);
  tsr__full_opts_init(&o);
  o.given.enabled &= ~TSR__LEVEL_BIT(TSR__NAME_PHONETIC);
  cr_expect_eq(full("JOHN", "SMITH", "JOHN", "SCHMIDT", &o), TSR__FULL_BOTH);
}

/* --- random names: symmetry, memo --------------------------------------------------- */

/* A pool of name-like values over a small alphabet (so every level turns up),
 * some with spaces, hyphens, apostrophes and single letters. */
#define POOL 1500
static char pool[POOL][24];

static void make_pool(uint64_t seed) {
  static const char alpha[] = "AEINORSTLJ";
  tsr__rng r;
  tsr__rng_init(&r, seed, 0, 0);
  for (int i = 0; i < POOL; i++) {
    char *s = pool[i];
    if (i > 0 && tsr__rng_below(&r, 3) == 0) { /* a near copy of an earlier value */
      const char *src = pool[tsr__rng_below(&r, (uint64_t)i)];
      size_t n = strlen(src);
      memcpy(s, src, n + 1);
      if (n > 1 && n < 22) {
        size_t k = (size_t)tsr__rng_below(&r, n - 1);
        switch (tsr__rng_below(&r, 4)) {
        case 0: s[k] = alpha[tsr__rng_below(&r, 10)]; break;
        case 1: { char t = s[k]; s[k] = s[k + 1]; s[k + 1] = t; } break;
        case 2: memmove(s + k, s + k + 1, n - k); break;
        default: memmove(s + k + 1, s + k, n - k + 1); s[k] = "- '"[tsr__rng_below(&r, 3)]; break;
        }
      }
      continue;
    }
    size_t n = 1 + (size_t)tsr__rng_below(&r, 10);
    for (size_t k = 0; k < n; k++) s[k] = alpha[tsr__rng_below(&r, 10)];
    if (n > 4 && tsr__rng_below(&r, 5) == 0) s[1 + tsr__rng_below(&r, n - 2)] = ' ';
    s[n] = 0;
  }
}

Test(namecmp, symmetric_every_level) {
  make_pool(11);
  tsr__name_opts o;
  tsr__name_opts_init(&o);
  uint32_t masks[] = {~(uint32_t)0, ~TSR__LEVEL_BIT(TSR__NAME_EXACT_STD), ~TSR__LEVEL_BIT(TSR__NAME_JW1),
                      TSR__LEVEL_BIT(TSR__NAME_INITIAL) | TSR__LEVEL_BIT(TSR__NAME_PART),
                      TSR__LEVEL_BIT(TSR__NAME_DL1) | TSR__LEVEL_BIT(TSR__NAME_DL2)};
  int seen[TSR__NAME_NLEVELS] = {0};
  tsr__rng r;
  tsr__rng_init(&r, 12, 0, 0);
  for (int i = 0; i < 60000; i++) {
    o.enabled = masks[i % 5];
    const char *a = pool[tsr__rng_below(&r, POOL)], *b = pool[tsr__rng_below(&r, POOL)];
    tsr__name_level x = lvl(a, b, &o), y = lvl(b, a, &o);
    cr_assert_eq(x, y, "not symmetric: '%s' / '%s' %d %d", a, b, x, y);
    seen[x]++;
  }
  for (int l = TSR__NAME_EXACT; l < TSR__NAME_NLEVELS; l++) cr_expect_gt(seen[l], 0, "level %d never seen", l);
}

Test(namecmp, memo_equals_direct) {
  make_pool(21);
  tsr__name_opts o;
  tsr__name_opts_init(&o);
  tsr__name_memo *m = NULL, *m2 = NULL;
  cr_assert_eq(tsr__name_memo_create(&o, &m), 0);
  tsr__name_opts o2 = o;
  o2.enabled &= ~(TSR__LEVEL_BIT(TSR__NAME_JW1) | TSR__LEVEL_BIT(TSR__NAME_DL1));
  o2.jw2 = 0.8;
  cr_assert_eq(tsr__name_memo_create(&o2, &m2), 0);
  tsr__rng r;
  tsr__rng_init(&r, 22, 0, 0);
  uint64_t counted = 0;
  int diff_opts = 0;
  for (int i = 0; i < 100000; i++) {
    /* skewed draws, as names are: half the pairs from the first 100 values */
    uint64_t span = tsr__rng_below(&r, 2) ? 100 : POOL;
    tsr__name_val a = V(pool[tsr__rng_below(&r, span)]), b = V(pool[tsr__rng_below(&r, span)]);
    if (i % 97 == 0) a = V("");
    tsr__name_level d = tsr__cmp_name(&a, &b, &o);
    cr_assert_eq(tsr__cmp_name_memo(m, &a, &b), d, "memo: '%s' / '%s'", a.s, b.s);
    cr_assert_eq(tsr__cmp_name_memo(m, &b, &a), d, "memo reversed: '%s' / '%s'", b.s, a.s);
    tsr__name_level d2 = tsr__cmp_name(&a, &b, &o2);
    cr_assert_eq(tsr__cmp_name_memo(m2, &a, &b), d2);
    diff_opts += d2 != d;
    if (a.len && b.len && a.hash != b.hash) counted += 2;
  }
  uint64_t hits, misses;
  tsr__name_memo_stats(m, &hits, &misses);
  cr_expect_eq(hits + misses, counted);
  cr_expect_geq(hits, counted / 2); /* every reversed lookup hits */
  cr_expect_gt(misses, 10000);      /* and the table is small enough to evict */
  cr_expect_gt(diff_opts, 1000);    /* the two memos really hold different levels */
  tsr__name_memo_clear(m);
  tsr__name_memo_stats(m, &hits, &misses);
  cr_expect_eq(hits + misses, 0);
  tsr__name_val a = V("LEWIS"), b = V("LEWIN");
  cr_expect_eq(tsr__cmp_name_memo(m, &a, &b), TSR__NAME_JW1);
  cr_expect_eq(tsr__cmp_name_memo(m, &b, &a), TSR__NAME_JW1);
  tsr__name_memo_stats(m, &hits, &misses);
  cr_expect(hits == 1 && misses == 1);
  tsr__name_memo_free(m);
  tsr__name_memo_free(m2);
  tsr__name_memo_free(NULL);
}

/* The memoised full-name comparison equals the direct one. */
Test(namecmp, fullname_memo_equals_direct) {
  make_pool(31);
  tsr__full_opts o;
  tsr__full_opts_init(&o);
  o.swap_jw = 0.85; /* a looser swap, so near swaps turn up in the pool */
  tsr__name_opts so;
  tsr__full_swap_opts(&o, &so);
  tsr__name_memo *mg = NULL, *mf = NULL, *ms = NULL;
  cr_assert_eq(tsr__name_memo_create(&o.given, &mg), 0);
  cr_assert_eq(tsr__name_memo_create(&o.family, &mf), 0);
  cr_assert_eq(tsr__name_memo_create(&so, &ms), 0);
  tsr__rng r;
  tsr__rng_init(&r, 32, 0, 0);
  int seen[TSR__FULL_NLEVELS] = {0};
  for (int i = 0; i < 30000; i++) {
    tsr__name_val g[2], f[2];
    for (int k = 0; k < 2; k++) {
      g[k] = V(pool[tsr__rng_below(&r, 200)]);
      f[k] = V(pool[tsr__rng_below(&r, 200)]);
    }
    if (i % 3 == 0) { /* a swap, sometimes */
      g[1] = f[0];
      f[1] = g[0];
    }
    tsr__full_level d = tsr__cmp_fullname(&g[0], &f[0], &g[1], &f[1], &o, NULL, NULL, NULL);
    cr_assert_eq(tsr__cmp_fullname(&g[0], &f[0], &g[1], &f[1], &o, mg, mf, ms), d);
    cr_assert_eq(tsr__cmp_fullname(&g[1], &f[1], &g[0], &f[0], &o, mg, mf, ms), d);
    cr_assert_eq(tsr__cmp_fullname(&g[1], &f[1], &g[0], &f[0], &o, NULL, NULL, ms), d);
    /* the swap memo's answer is tsr__name_close's */
    tsr__name_level sl = tsr__cmp_name_memo(ms, &g[0], &f[1]);
    cr_assert_eq(sl != TSR__NAME_NULL && sl <= TSR__NAME_JW1, tsr__name_close(g[0].s, g[0].len, f[1].s, f[1].len, 0.85));
    seen[d]++;
  }
  for (int l = TSR__FULL_EXACT; l < TSR__FULL_NLEVELS; l++) cr_expect_gt(seen[l], 0, "level %d never seen", l);
  tsr__name_memo_free(mg);
  tsr__name_memo_free(mf);
  tsr__name_memo_free(ms);
}

/* --- free text ------------------------------------------------------------------------ */

static tsr__text_level txt(const char *a, const char *b, const tsr__name_opts *o) {
  return tsr__cmp_text(a, strlen(a), b, strlen(b), o);
}

Test(namecmp, text_levels) {
  tsr__name_opts o;
  tsr__name_opts_init(&o);
  cr_assert_eq(txt("", "x", &o), TSR__TEXT_NULL);
  cr_assert_eq(txt("kellerberrin", "kellerberrin", &o), TSR__TEXT_EXACT);
  cr_assert_eq(txt("Forbes  Street", "forbes street.", &o), TSR__TEXT_EXACT_NORM);
  /* JW("MARTHA","MARHTA") = 0.9611 (Winkler 1990) */
  cr_assert_eq(txt("martha", "marhta", &o), TSR__TEXT_JW1);
  /* JW("DIXON","DICKSONX") = 0.8133: below 0.88; DL = 4 */
  cr_assert_eq(txt("dixon", "dicksonx", &o), TSR__TEXT_ELSE);
  cr_assert_eq(txt("7535316", "7535361", &o), TSR__TEXT_JW1); /* JW 0.9714 */
  o.enabled &= ~(TSR__LEVEL_BIT(TSR__TEXT_JW1) | TSR__LEVEL_BIT(TSR__TEXT_JW2)); /* an id: edits, not JW */
  cr_assert_eq(txt("7535316", "7535361", &o), TSR__TEXT_DL1); /* one transposition */
  cr_assert_eq(txt("7535316", "7585361", &o), TSR__TEXT_DL2);
  cr_assert_eq(txt("7535316", "1234567", &o), TSR__TEXT_ELSE);
  o.enabled &= ~TSR__LEVEL_BIT(TSR__TEXT_EXACT_NORM);
  cr_assert_eq(txt("ABC ROAD", "abc road", &o), TSR__TEXT_DL1); /* equal once folded: distance 0 */
  o.enabled |= TSR__LEVEL_BIT(TSR__TEXT_JW1);
  cr_assert_eq(txt("ABC ROAD", "abc road", &o), TSR__TEXT_JW1); /* JW 1 */
  cr_assert_eq(txt("!!", "abc", &o), TSR__TEXT_ELSE);
}

Test(namecmp, text_symmetric) {
  tsr__name_opts o;
  tsr__name_opts_init(&o);
  const char *v[] = {"forbes street", "forbes st", "milne cove", "mline cove", "wintersloe", "wintrsloe", "12", "21",
                     "a", "b c", "beaconsfield upper", "beaconsfield"};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    for (size_t j = 0; j < sizeof v / sizeof v[0]; j++) cr_assert_eq(txt(v[i], v[j], &o), txt(v[j], v[i], &o), "%s|%s", v[i], v[j]);
}
