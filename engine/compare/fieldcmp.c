/* Date, postcode and NHS-number comparisons: level cascades on stored values
 * (fieldcmp.h). Each level is one predicate; the cascade tries them in
 * enum order. */
#include "compare/fieldcmp.h"

#include "common/date.h"
#include "tessera/store.h"

/* --- dates ----------------------------------------------------------------------- */

typedef struct ymd {
  int y, m, d;
} ymd;

static ymd ymd_of(int32_t days) {
  ymd r;
  tsr__ymd_from_days(days, &r.y, &r.m, &r.d);
  return r;
}

int tsr__dob_dm_swapped(int32_t a, int32_t b) {
  ymd x = ymd_of(a), y = ymd_of(b);
  return a != b && x.y == y.y && x.d == y.m && x.m == y.d;
}

int tsr__dob_one_digit(int32_t a, int32_t b) {
  ymd x = ymd_of(a), y = ymd_of(b);
  long u = (long)x.y * 10000 + x.m * 100 + x.d, v = (long)y.y * 10000 + y.m * 100 + y.d;
  if (u < 0 || v < 0) return 0;
  int diff = 0;
  for (int k = 0; k < 8; k++, u /= 10, v /= 10) diff += u % 10 != v % 10;
  return diff == 1 && u == v; /* years above 9999 differ beyond the 8 digits */
}

int tsr__dob_same_ym(int32_t a, int32_t b) {
  ymd x = ymd_of(a), y = ymd_of(b);
  return x.y == y.y && x.m == y.m;
}

int tsr__dob_jan1_one_side(int32_t a, int32_t b) {
  ymd x = ymd_of(a), y = ymd_of(b);
  int ja = x.m == 1 && x.d == 1, jb = y.m == 1 && y.d == 1;
  return x.y == y.y && ja != jb;
}

int tsr__dob_within_years(int32_t a, int32_t b, int32_t years) {
  ymd x = ymd_of(a), y = ymd_of(b);
  int d = x.y > y.y ? x.y - y.y : y.y - x.y;
  return d <= years;
}

void tsr__dob_opts_init(tsr__dob_opts *o) {
  o->enabled = ~(uint32_t)0;
  o->within_days = 30;
  o->within_years = 1;
}

tsr__dob_level tsr__cmp_dob(int32_t a, int32_t b, const tsr__dob_opts *o) {
  if (a == TSR_DATE_NONE || b == TSR_DATE_NONE) return TSR__DOB_NULL;
  uint32_t on = o->enabled;
#define ON(l) (on & TSR__LEVEL_BIT(l))
  if (ON(TSR__DOB_EXACT) && a == b) return TSR__DOB_EXACT;
  if (ON(TSR__DOB_DM_SWAP) && tsr__dob_dm_swapped(a, b)) return TSR__DOB_DM_SWAP;
  if (ON(TSR__DOB_ONE_DIGIT) && tsr__dob_one_digit(a, b)) return TSR__DOB_ONE_DIGIT;
  if (ON(TSR__DOB_SAME_YM) && tsr__dob_same_ym(a, b)) return TSR__DOB_SAME_YM;
  int64_t gap = (int64_t)a - (int64_t)b;
  if (gap < 0) gap = -gap;
  if (ON(TSR__DOB_WITHIN_DAYS) && gap <= o->within_days) return TSR__DOB_WITHIN_DAYS;
  if (ON(TSR__DOB_JAN1) && tsr__dob_jan1_one_side(a, b)) return TSR__DOB_JAN1;
  if (ON(TSR__DOB_WITHIN_YEARS) && tsr__dob_within_years(a, b, o->within_years)) return TSR__DOB_WITHIN_YEARS;
#undef ON
  return TSR__DOB_ELSE;
}

/* --- postcodes ---------------------------------------------------------------------- */

uint64_t tsr__postcode_area(uint64_t packed) {
  uint64_t out = 0;
  for (int k = 0; k < 8; k++) {
    unsigned c = (unsigned)(packed >> (8 * (7 - k))) & 0xFFu;
    if (c < 'A' || c > 'Z') break;
    out |= (uint64_t)c << (8 * (7 - k));
  }
  return out;
}

tsr__pc_level tsr__cmp_postcode(uint64_t a, uint64_t b, uint32_t enabled) {
  if (a == 0 || b == 0) return TSR__PC_NULL;
  if ((enabled & TSR__LEVEL_BIT(TSR__PC_FULL)) && a == b) return TSR__PC_FULL;
  if ((enabled & TSR__LEVEL_BIT(TSR__PC_SECTOR)) && tsr_postcode_sector(a) == tsr_postcode_sector(b))
    return TSR__PC_SECTOR;
  if ((enabled & TSR__LEVEL_BIT(TSR__PC_DISTRICT)) && tsr_postcode_district(a) == tsr_postcode_district(b))
    return TSR__PC_DISTRICT;
  if ((enabled & TSR__LEVEL_BIT(TSR__PC_AREA)) && tsr__postcode_area(a) == tsr__postcode_area(b))
    return TSR__PC_AREA;
  return TSR__PC_ELSE;
}

/* --- NHS numbers -------------------------------------------------------------------- */

int tsr__nhs_near(uint64_t a, uint64_t b) {
  if (a > 9999999999ull || b > 9999999999ull || a == b) return 0;
  unsigned char x[10], y[10];
  for (int i = 9; i >= 0; i--, a /= 10, b /= 10) {
    x[i] = (unsigned char)(a % 10);
    y[i] = (unsigned char)(b % 10);
  }
  int pos[3], n = 0;
  for (int i = 0; i < 10 && n < 3; i++)
    if (x[i] != y[i]) pos[n++] = i;
  if (n == 1) return 1;
  return n == 2 && x[pos[0]] == y[pos[1]] && x[pos[1]] == y[pos[0]];
}

tsr__nhs_level tsr__cmp_nhs(uint64_t a, uint64_t b, uint32_t enabled) {
  if (a == 0 || b == 0) return TSR__NHS_NULL;
  int va = tsr_nhs_valid(a), vb = tsr_nhs_valid(b);
  if ((enabled & TSR__LEVEL_BIT(TSR__NHS_EQUAL)) && a == b && va) return TSR__NHS_EQUAL;
  if ((enabled & TSR__LEVEL_BIT(TSR__NHS_NEAR)) && (a == b || tsr__nhs_near(a, b))) return TSR__NHS_NEAR;
  if ((enabled & TSR__LEVEL_BIT(TSR__NHS_DIFFERENT)) && va && vb && a != b) return TSR__NHS_DIFFERENT;
  return TSR__NHS_ELSE;
}
