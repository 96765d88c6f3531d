/* Field comparisons for the compare stage: dates of birth, postcodes and NHS
 * numbers, as pure functions on the values the record store holds
 * (tessera/store.h): dates as i32 days since 1970 (TSR_DATE_NONE missing),
 * postcodes packed in a u64 (0 missing), NHS numbers as u64 (0 missing).
 * Each returns a small level code, 0 for null (either side missing), then from
 * the most to the least similar, `else` last. Thread-safe, no allocation.
 *
 * DESIGN
 *   A comparison's levels are tried in the order of its enum and the first
 *   that holds wins (levels are exclusive, as the model needs). A config may
 *   switch levels off: `enabled` is a bit mask of level codes (bit k for
 *   level k); a level that is off is skipped, and `else` always holds. The
 *   single predicates are exported as well, so the model can explain a level
 *   and the tests can hold each edge. */
#ifndef TSR_COMPARE_FIELDCMP_H
#define TSR_COMPARE_FIELDCMP_H

#include <stdint.h>

#define TSR__LEVEL_BIT(l) ((uint32_t)1 << (l))

/* --- dates of birth --------------------------------------------------------------
 * TSR__DOB_EXACT        the same day
 * TSR__DOB_DM_SWAP      day and month transposed, same year (03/07 vs 07/03)
 * TSR__DOB_ONE_DIGIT    the YYYYMMDD digits differ in exactly one place
 * TSR__DOB_SAME_YM      same year and month
 * TSR__DOB_WITHIN_DAYS  at most within_days days apart
 * TSR__DOB_JAN1         one side is 1 January of the other's year (the
 *                       placeholder when only the year was known)
 * TSR__DOB_WITHIN_YEARS calendar years at most within_years apart
 * TSR__DOB_ELSE */
typedef enum tsr__dob_level {
  TSR__DOB_NULL = 0,
  TSR__DOB_EXACT,
  TSR__DOB_DM_SWAP,
  TSR__DOB_ONE_DIGIT,
  TSR__DOB_SAME_YM,
  TSR__DOB_WITHIN_DAYS,
  TSR__DOB_JAN1,
  TSR__DOB_WITHIN_YEARS,
  TSR__DOB_ELSE,
  TSR__DOB_NLEVELS
} tsr__dob_level;

typedef struct tsr__dob_opts {
  uint32_t enabled;      /* level bits; default all */
  int32_t within_days;   /* default 30 */
  int32_t within_years;  /* default 1 */
} tsr__dob_opts;

void tsr__dob_opts_init(tsr__dob_opts *o);
tsr__dob_level tsr__cmp_dob(int32_t a, int32_t b, const tsr__dob_opts *o);

/* The predicates (both dates present). */
int tsr__dob_dm_swapped(int32_t a, int32_t b);
int tsr__dob_one_digit(int32_t a, int32_t b);
int tsr__dob_same_ym(int32_t a, int32_t b);
int tsr__dob_jan1_one_side(int32_t a, int32_t b);
int tsr__dob_within_years(int32_t a, int32_t b, int32_t years);

/* --- postcodes --------------------------------------------------------------------
 * TSR__PC_FULL      the whole postcode
 * TSR__PC_SECTOR    outward code and the inward digit ("LS1 4")
 * TSR__PC_DISTRICT  the outward code ("LS1")
 * TSR__PC_AREA      the leading letters ("LS")
 * TSR__PC_ELSE */
typedef enum tsr__pc_level {
  TSR__PC_NULL = 0,
  TSR__PC_FULL,
  TSR__PC_SECTOR,
  TSR__PC_DISTRICT,
  TSR__PC_AREA,
  TSR__PC_ELSE,
  TSR__PC_NLEVELS
} tsr__pc_level;

/* The area ("LS", "B") of a packed postcode, in the same packed layout. */
uint64_t tsr__postcode_area(uint64_t packed);
/* enabled: level bits (all: ~0u). */
tsr__pc_level tsr__cmp_postcode(uint64_t a, uint64_t b, uint32_t enabled);

/* --- NHS numbers ------------------------------------------------------------------
 * TSR__NHS_EQUAL      equal and valid
 * TSR__NHS_NEAR       one digit different, or two digits swapped (any two
 *                     places), or equal but failing the check digit. Two
 *                     VALID numbers are never near: modulus 11 with weights
 *                     10..2 detects every single substitution and every
 *                     transposition, so this level only sees numbers kept
 *                     without validation.
 * TSR__NHS_DIFFERENT  both valid and different: a strong disagreement
 * TSR__NHS_ELSE       different, at least one invalid, not near */
typedef enum tsr__nhs_level {
  TSR__NHS_NULL = 0,
  TSR__NHS_EQUAL,
  TSR__NHS_NEAR,
  TSR__NHS_DIFFERENT,
  TSR__NHS_ELSE,
  TSR__NHS_NLEVELS
} tsr__nhs_level;

tsr__nhs_level tsr__cmp_nhs(uint64_t a, uint64_t b, uint32_t enabled);
/* 1 if the ten-digit forms differ in one place or by one swap of two digits. */
int tsr__nhs_near(uint64_t a, uint64_t b);

#endif
