/* The NHS number check digit (modulus 11, DOMAIN.md), the one
 * implementation: tsr_nhs_check_digit / tsr_nhs_valid (nhs.c) and ingest's
 * standardiser (ingest/fields.c) both use it. Inline, because ingest calls it
 * once per value on tens of millions of rows. */
#ifndef TSR_COMMON_NHS_H
#define TSR_COMMON_NHS_H

#include <stdint.h>

/* Weighted sum of the first nine digits (weights 10 down to 2). */
static inline unsigned tsr__nhs_sum(const uint8_t d[9]) {
  unsigned sum = 0;
  for (unsigned i = 0; i < 9; i++) sum += d[i] * (10u - i);
  return sum;
}

/* The check digit for a weighted sum: 0..9, or 10 when no valid number has
 * these first nine digits. */
static inline unsigned tsr__nhs_check_of_sum(unsigned sum) {
  unsigned check = 11u - sum % 11u;
  return check == 11u ? 0u : check;
}

/* 1 if ten digits d[0..9] form a valid NHS number: the check digit matches
 * (10 never does) and the digits are not all the same. */
static inline int tsr__nhs_digits_valid(const uint8_t d[10], unsigned sum) {
  unsigned same = 1;
  for (unsigned i = 1; i < 10; i++) same &= d[i] == d[0];
  unsigned check = tsr__nhs_check_of_sum(sum);
  return !same && check != 10u && check == d[9];
}

#endif
