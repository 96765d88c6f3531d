/* NHS number validation (modulus 11, DOMAIN.md); the rule itself is in
 * nhs.h, shared with ingest's standardiser. */
#include "common/nhs.h"

#include "common/common_internal.h"

int tsr_nhs_check_digit(const uint8_t d[9]) { return (int)tsr__nhs_check_of_sum(tsr__nhs_sum(d)); }

int tsr_nhs_valid(uint64_t nhs) {
  if (nhs > 9999999999ull) return 0;
  uint8_t d[10];
  for (int i = 9; i >= 0; i--) {
    d[i] = (uint8_t)(nhs % 10u);
    nhs /= 10u;
  }
  return tsr__nhs_digits_valid(d, tsr__nhs_sum(d));
}
