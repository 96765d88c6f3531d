/* Unit tests for single-value standardisers: the NHS number check digit
 * (golden values, check digits 0 and 10, and a property test that ingest's
 * standardiser agrees with tsr_nhs_valid and with an independent reference),
 * and dates (both edges of the validity window, two-digit years, time parts
 * after the date). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "common/date.h"
#include "ingest/fields.h"
#include "tessera/common.h"
#include "tessera/config.h"

/* The modulus-11 rule written out again from DOMAIN.md, independently of the
 * engine's, so that a bug in the one shared implementation shows. */
static int ref_valid(uint64_t v) {
  int d[10];
  for (int i = 9; i >= 0; i--) {
    d[i] = (int)(v % 10);
    v /= 10;
  }
  int sum = 0, same = 1;
  for (int i = 0; i < 9; i++) sum += d[i] * (10 - i);
  for (int i = 1; i < 10; i++) same = same && d[i] == d[0];
  int r = 11 - sum % 11;
  if (r == 11) r = 0;
  if (r == 10 || same) return 0;
  return r == d[9];
}

static int std_ok(uint64_t v) {
  char t[16];
  snprintf(t, sizeof t, "%010llu", (unsigned long long)v);
  uint64_t out;
  int r = tsr__std_nhs(t, 10, &out);
  cr_assert(r == TSR__V_OK || r == TSR__V_INVALID);
  if (r == TSR__V_OK) cr_assert_eq(out, v);
  return r == TSR__V_OK;
}

Test(nhs, golden_values) {
  cr_expect(tsr_nhs_valid(9434765919ull)); /* the NHS Digital example */
  cr_expect(tsr_nhs_valid(4000000020ull), "check digit 0 (sum 44, 11 - 0 = 11 -> 0)");
  cr_expect(std_ok(4000000020ull));
  cr_expect(!tsr_nhs_valid(4000000021ull));
  cr_expect(!std_ok(4000000021ull));
  cr_expect(!tsr_nhs_valid(9434765918ull));
  cr_expect(!tsr_nhs_valid(1111111111ull), "all one digit");
  cr_expect(!std_ok(1111111111ull));
  cr_expect(!tsr_nhs_valid(10000000000ull), "eleven digits");
  uint64_t out;
  cr_expect_eq(tsr__std_nhs("943 476 5919", 12, &out), TSR__V_OK);
  cr_expect_eq(out, 9434765919ull);
  cr_expect_eq(tsr__std_nhs("943-476-5919", 12, &out), TSR__V_OK);
  cr_expect_eq(tsr__std_nhs("94347659190", 11, &out), TSR__V_INVALID);
  cr_expect_eq(tsr__std_nhs("943476591", 9, &out), TSR__V_INVALID);
  cr_expect_eq(tsr__std_nhs("  ", 2, &out), TSR__V_MISSING);
}

/* A prefix whose check digit would be 10: no last digit makes it valid. */
Test(nhs, check_digit_ten_is_never_valid) {
  /* 1,0,0,0,0,0,0,1,0: sum 10 + 3 = 13, 13 % 11 = 2, 11 - 2 = 9; search instead */
  uint8_t d[9] = {0};
  uint64_t prefix = 0;
  int found = 0;
  for (uint64_t p = 100000000; p < 100001000 && !found; p++) {
    uint64_t q = p;
    for (int i = 8; i >= 0; i--) {
      d[i] = (uint8_t)(q % 10);
      q /= 10;
    }
    if (tsr_nhs_check_digit(d) == 10) {
      prefix = p;
      found = 1;
    }
  }
  cr_assert(found);
  for (uint64_t last = 0; last < 10; last++) {
    uint64_t v = prefix * 10 + last;
    cr_expect(!tsr_nhs_valid(v), "%llu", (unsigned long long)v);
    cr_expect(!std_ok(v), "%llu", (unsigned long long)v);
    cr_expect(!ref_valid(v));
  }
}

/* Property: on many random ten-digit numbers (and their valid neighbours),
 * the standardiser, tsr_nhs_valid and the reference agree. */
Test(nhs, standardiser_agrees_with_tsr_nhs_valid) {
  uint64_t x = 0x9E3779B97F4A7C15ull, valid = 0;
  for (int i = 0; i < 400000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    uint64_t v = x % 10000000000ull;
    if (i & 1) { /* make half of them valid, when the prefix allows */
      uint8_t d[9];
      uint64_t q = v / 10;
      for (int k = 8; k >= 0; k--) {
        d[k] = (uint8_t)(q % 10);
        q /= 10;
      }
      int c = tsr_nhs_check_digit(d);
      if (c < 10) v = v / 10 * 10 + (uint64_t)c;
    }
    int a = tsr_nhs_valid(v), b = std_ok(v), r = ref_valid(v);
    cr_assert_eq(a, r, "tsr_nhs_valid(%010llu) = %d, reference %d", (unsigned long long)v, a, r);
    cr_assert_eq(b, r, "std_nhs(%010llu) = %d, reference %d", (unsigned long long)v, b, r);
    valid += (uint64_t)r;
  }
  cr_expect_gt(valid, 150000u, "enough valid numbers to test the accept side");
}

/* --- dates --------------------------------------------------------------------------------- */
static tsr_date_format fmt(const char *text) {
  tsr_date_format f;
  memset(&f, 0, sizeof f);
  snprintf(f.text, sizeof f.text, "%s", text);
  for (const char *p = text; *p;) {
    if (strncmp(p, "YYYY", 4) == 0) f.part[f.n++] = 'Y', p += 4;
    else if (strncmp(p, "YY", 2) == 0) f.part[f.n++] = 'y', p += 2;
    else if (strncmp(p, "MM", 2) == 0) f.part[f.n++] = 'M', p += 2;
    else if (strncmp(p, "DD", 2) == 0) f.part[f.n++] = 'D', p += 2;
    else f.part[f.n++] = (uint8_t)*p++;
  }
  return f;
}

static int date(const char *s, const char *layout, int32_t min, int32_t max, int32_t *out) {
  tsr_date_format f = fmt(layout);
  return tsr__std_date(s, strlen(s), &f, 1, min, max, out);
}

Test(dates, both_edges_of_the_window) {
  int32_t lo = tsr__days_from_ymd(1895, 1, 1), hi = tsr__days_from_ymd(2025, 12, 31), v;
  cr_expect_eq(date("1895-01-01", "YYYY-MM-DD", lo, hi, &v), TSR__V_OK, "min is inside");
  cr_expect_eq(v, lo);
  cr_expect_eq(date("1894-12-31", "YYYY-MM-DD", lo, hi, &v), TSR__V_INVALID, "the day before min is outside");
  cr_expect_eq(date("2025-12-31", "YYYY-MM-DD", lo, hi, &v), TSR__V_OK, "max is inside");
  cr_expect_eq(v, hi);
  cr_expect_eq(date("2026-01-01", "YYYY-MM-DD", lo, hi, &v), TSR__V_INVALID, "the day after max is outside");
  /* the general parser (not the fixed 10-byte path) too */
  cr_expect_eq(date("18950101", "YYYYMMDD", lo, hi, &v), TSR__V_OK);
  cr_expect_eq(date("18941231", "YYYYMMDD", lo, hi, &v), TSR__V_INVALID);
  cr_expect_eq(date("20251231", "YYYYMMDD", lo, hi, &v), TSR__V_OK);
  cr_expect_eq(date("20260101", "YYYYMMDD", lo, hi, &v), TSR__V_INVALID);
  cr_expect_eq(date("31/02/2000", "DD/MM/YYYY", lo, hi, &v), TSR__V_INVALID, "not a real date");
  cr_expect_eq(date("29/02/2000", "DD/MM/YYYY", lo, hi, &v), TSR__V_OK, "leap day");
  cr_expect_eq(date("29/02/1900", "DD/MM/YYYY", lo, hi, &v), TSR__V_INVALID, "1900 is no leap year");
}

Test(dates, two_digit_years_take_the_latest_century_in_the_window) {
  int32_t lo = tsr__days_from_ymd(1895, 1, 1), hi = tsr__days_from_ymd(2025, 3, 31), v;
  int y, m, d;
  cr_expect_eq(date("06/05/94", "DD/MM/YY", lo, hi, &v), TSR__V_OK);
  tsr__ymd_from_days(v, &y, &m, &d);
  cr_expect(y == 1994 && m == 5 && d == 6, "%d-%d-%d", y, m, d);
  cr_expect_eq(date("31/03/25", "DD/MM/YY", lo, hi, &v), TSR__V_OK);
  tsr__ymd_from_days(v, &y, &m, &d);
  cr_expect_eq(y, 2025, "max edge: 2025");
  cr_expect_eq(date("01/04/25", "DD/MM/YY", lo, hi, &v), TSR__V_OK);
  tsr__ymd_from_days(v, &y, &m, &d);
  cr_expect_eq(y, 1925, "a day past max: the century before");
  cr_expect_eq(date("01/01/95", "DD/MM/YY", lo, hi, &v), TSR__V_OK);
  tsr__ymd_from_days(v, &y, &m, &d);
  cr_expect_eq(y, 1995);
  /* a window of one century: 1994 fits, 1894 does not */
  int32_t lo2 = tsr__days_from_ymd(1900, 1, 1), hi2 = tsr__days_from_ymd(1999, 12, 31);
  cr_expect_eq(date("31/12/99", "DD/MM/YY", lo2, hi2, &v), TSR__V_OK);
  cr_expect_eq(v, hi2);
  cr_expect_eq(date("01/01/00", "DD/MM/YY", lo2, hi2, &v), TSR__V_OK);
  cr_expect_eq(v, lo2);
  int32_t lo3 = tsr__days_from_ymd(1950, 1, 1), hi3 = tsr__days_from_ymd(1999, 12, 31);
  cr_expect_eq(date("01/01/30", "DD/MM/YY", lo3, hi3, &v), TSR__V_INVALID, "1930 and 2030 both outside");
  /* a day that exists in no century is invalid, not carried into March */
  cr_expect_eq(date("31/02/90", "DD/MM/YY", lo, hi, &v), TSR__V_INVALID, "31 February");
  cr_expect_eq(date("29/02/01", "DD/MM/YY", lo, hi, &v), TSR__V_INVALID, "2001 and 1901 are no leap years");
  cr_expect_eq(date("29/02/00", "DD/MM/YY", lo, hi, &v), TSR__V_OK, "2000 is a leap year");
  cr_expect_eq(v, tsr__days_from_ymd(2000, 2, 29));
}

Test(dates, a_time_part_is_accepted_and_ignored) {
  int32_t lo = tsr__days_from_ymd(1895, 1, 1), hi = tsr__days_from_ymd(2025, 12, 31), v;
  int32_t want = tsr__days_from_ymd(1994, 5, 6);
  const char *iso[] = {"1994-05-06 00:00:00", "1994-05-06T00:00:00Z", "1994-05-06T23:59:59.123456",
                       "1994-05-06 12:30",    "1994-05-06T10:00:00+01:00", "1994-05-06T10:00:00-0500",
                       "1994-05-06 00:00:00.000 ", "1994-05-06t00:00:00z"};
  for (size_t i = 0; i < sizeof iso / sizeof *iso; i++) {
    cr_expect_eq(date(iso[i], "YYYY-MM-DD", lo, hi, &v), TSR__V_OK, "%s", iso[i]);
    cr_expect_eq(v, want, "%s", iso[i]);
  }
  cr_expect_eq(date("06/05/1994 00:00:00", "DD/MM/YYYY", lo, hi, &v), TSR__V_OK);
  cr_expect_eq(v, want);
  cr_expect_eq(date("06 05 1994 13:45", "DD MM YYYY", lo, hi, &v), TSR__V_OK);
  cr_expect_eq(v, want);
  cr_expect_eq(date("060594 00:00", "DDMMYY", lo, hi, &v), TSR__V_OK);
  cr_expect_eq(v, want);
  /* not times: still invalid */
  cr_expect_eq(date("1994-05-06 banana", "YYYY-MM-DD", lo, hi, &v), TSR__V_INVALID);
  cr_expect_eq(date("1994-05-06 25:00", "YYYY-MM-DD", lo, hi, &v), TSR__V_INVALID);
  cr_expect_eq(date("1994-05-06 00:00:00 extra", "YYYY-MM-DD", lo, hi, &v), TSR__V_INVALID);
  cr_expect_eq(date("1994-05-0600:00", "YYYY-MM-DD", lo, hi, &v), TSR__V_INVALID);
  /* the window still applies to the date */
  cr_expect_eq(date("2026-01-01T00:00:00Z", "YYYY-MM-DD", lo, hi, &v), TSR__V_INVALID);
}

/* Postcode lengths, both edges: five characters (A9 9AA, the shortest
 * format) and seven (AA9A 9AA, the longest) are valid; four and eight are
 * not. */
Test(postcode, shortest_and_longest_formats) {
  uint64_t p;
  char t[9];
  cr_assert_eq(tsr__std_postcode("M1 1AE", 6, &p), TSR__V_OK, "A9 9AA");
  cr_expect_eq(tsr__postcode_text(p, t), 6u);
  cr_expect_str_eq(t, "M1 1AE");
  cr_assert_eq(tsr__std_postcode("m11ae", 5, &p), TSR__V_OK, "A9 9AA without the space, lower case");
  tsr__postcode_text(p, t);
  cr_expect_str_eq(t, "M1 1AE");
  cr_expect_eq(tsr__postcode_district(p) >> 48, ((uint64_t)'M' << 8) | '1', "district M1");
  cr_assert_eq(tsr__std_postcode("EC1A 1BB", 8, &p), TSR__V_OK, "AA9A 9AA");
  cr_expect_eq(tsr__postcode_text(p, t), 8u);
  cr_expect_str_eq(t, "EC1A 1BB");
  cr_expect_eq(tsr__std_postcode("M1 1", 4, &p), TSR__V_INVALID, "four characters");
  cr_expect_eq(tsr__std_postcode("M11A", 4, &p), TSR__V_INVALID);
  cr_expect_eq(tsr__std_postcode("EC1A 1BBX", 9, &p), TSR__V_INVALID, "eight characters");
  cr_expect_eq(tsr__std_postcode("", 0, &p), TSR__V_MISSING);
}

/* Integers: both ends of int64, and values past them (which must not wrap). */
Test(integer, int64_range_both_edges) {
  int64_t v;
  cr_expect_eq(tsr__std_integer("9223372036854775807", 19, &v), TSR__V_OK);
  cr_expect_eq(v, INT64_MAX);
  cr_expect_eq(tsr__std_integer("-9223372036854775808", 20, &v), TSR__V_OK);
  cr_expect_eq(v, INT64_MIN);
  cr_expect_eq(tsr__std_integer("9223372036854775808", 19, &v), TSR__V_INVALID, "INT64_MAX + 1");
  cr_expect_eq(tsr__std_integer("-9223372036854775809", 20, &v), TSR__V_INVALID, "INT64_MIN - 1");
  cr_expect_eq(tsr__std_integer("18446744073709551616", 20, &v), TSR__V_INVALID, "2^64 (wraps to 0)");
  cr_expect_eq(tsr__std_integer("18446744073709551617", 20, &v), TSR__V_INVALID, "2^64 + 1 (wraps to 1)");
  cr_expect_eq(tsr__std_integer("99999999999999999999", 20, &v), TSR__V_INVALID);
  cr_expect_eq(tsr__std_integer("+42", 3, &v), TSR__V_OK);
  cr_expect_eq(v, 42);
  cr_expect_eq(tsr__std_integer("-", 1, &v), TSR__V_INVALID);
  cr_expect_eq(tsr__std_integer("", 0, &v), TSR__V_MISSING);
}
