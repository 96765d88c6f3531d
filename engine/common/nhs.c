/* NHS number validation (modulus 11, DOMAIN.md). */
#include "common/common_internal.h"

int tsr_nhs_check_digit(const uint8_t d[9]) {
  unsigned sum = 0;
  for (unsigned i = 0; i < 9; i++) sum += d[i] * (10u - i);
  unsigned check = 11u - (sum % 11u);
  if (check == 11u) check = 0;
  return (int)check; /* 10 means: no valid number has this prefix */
}

int tsr_nhs_valid(uint64_t nhs) {
  if (nhs > 9999999999ull) return 0;
  uint8_t d[10];
  for (int i = 9; i >= 0; i--) {
    d[i] = (uint8_t)(nhs % 10u);
    nhs /= 10u;
  }
  int same = 1;
  for (int i = 1; i < 10; i++) same &= d[i] == d[0];
  if (same) return 0;
  int c = tsr_nhs_check_digit(d);
  return c != 10 && c == d[9];
}
