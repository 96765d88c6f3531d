/* Corruption operators for synthetic records: typos of five kinds, date of
 * birth errors, NHS number mistyping, and the unique NHS number per patient.
 * They edit ASCII letters only, so multi-byte UTF-8 names stay valid. */
#include <string.h>

#include "common/date.h"
#include "generate/gen_internal.h"

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static char to_lower(char c) { return is_upper(c) ? (char)(c + 32) : c; }
static char with_case(char c, int upper) { return upper && c >= 'a' && c <= 'z' ? (char)(c - 32) : c; }

/* Picks a random index in [0,len) with is_alpha(s[i]); -1 if none. Scans from
 * a random start so the choice is uniform enough without a second buffer. */
static int pick_letter(const char *s, uint32_t len, tsr__rng *r) {
  if (len == 0) return -1;
  uint32_t start = (uint32_t)tsr__rng_below(r, len);
  for (uint32_t k = 0; k < len; k++) {
    uint32_t i = (start + k) % len;
    if (is_alpha(s[i])) return (int)i;
  }
  return -1;
}

int tsr__typo_insert(char *s, uint32_t *len, uint32_t cap, tsr__rng *r) {
  uint32_t n = *len;
  if (n == 0 || n + 1 >= cap) return 0;
  /* insert before a non-continuation byte, or at the end */
  uint32_t pos = (uint32_t)tsr__rng_below(r, n + 1u);
  while (pos < n && ((unsigned char)s[pos] & 0xC0u) == 0x80u) pos++;
  int up = is_upper(s[pos < n ? pos : n - 1]) || (pos > 0 && is_upper(s[pos - 1]));
  char c = with_case((char)('a' + tsr__rng_below(r, 26)), up);
  memmove(s + pos + 1, s + pos, n - pos);
  s[pos] = c;
  *len = n + 1;
  s[*len] = '\0';
  return 1;
}

int tsr__typo_delete(char *s, uint32_t *len, tsr__rng *r) {
  uint32_t n = *len;
  if (n < 2) return 0;
  int i = pick_letter(s, n, r);
  if (i < 0) return 0;
  memmove(s + i, s + i + 1, n - (uint32_t)i - 1u);
  *len = n - 1;
  s[*len] = '\0';
  return 1;
}

int tsr__typo_substitute(char *s, uint32_t len, tsr__rng *r) {
  int i = pick_letter(s, len, r);
  if (i < 0) return 0;
  char old = to_lower(s[i]);
  char c = (char)('a' + tsr__rng_below(r, 25));
  if (c >= old) c++; /* 25 choices, skipping the old letter */
  s[i] = with_case(c, is_upper(s[i]));
  return 1;
}

int tsr__typo_transpose(char *s, uint32_t len, tsr__rng *r) {
  if (len < 2) return 0;
  uint32_t start = (uint32_t)tsr__rng_below(r, len - 1u);
  for (uint32_t k = 0; k < len - 1u; k++) {
    uint32_t i = (start + k) % (len - 1u);
    if (is_alpha(s[i]) && is_alpha(s[i + 1]) && to_lower(s[i]) != to_lower(s[i + 1])) {
      int u0 = is_upper(s[i]), u1 = is_upper(s[i + 1]);
      char a = to_lower(s[i]), b = to_lower(s[i + 1]);
      s[i] = with_case(b, u0); /* keep the case pattern, move the letters */
      s[i + 1] = with_case(a, u1);
      return 1;
    }
  }
  return 0;
}

/* UK QWERTY letter rows; the row below is offset half a key to the right. */
static const char *const k_rows[3] = {"qwertyuiop", "asdfghjkl", "zxcvbnm"};

static int key_pos(char c, int *row, int *col) {
  c = to_lower(c);
  for (int rr = 0; rr < 3; rr++)
    for (int cc = 0; k_rows[rr][cc]; cc++)
      if (k_rows[rr][cc] == c) {
        *row = rr;
        *col = cc;
        return 1;
      }
  return 0;
}

/* Neighbours of (row, col): same row +-1; row above at col, col+1; row below
 * at col-1, col. Writes up to 6 letters into out, returns the count. */
static int key_neighbours(int row, int col, char out[6]) {
  static const int d[6][2] = {{0, -1}, {0, 1}, {-1, 0}, {-1, 1}, {1, -1}, {1, 0}};
  int n = 0;
  for (int k = 0; k < 6; k++) {
    int rr = row + d[k][0], cc = col + d[k][1];
    if (rr < 0 || rr > 2 || cc < 0) continue;
    if (cc >= (int)strlen(k_rows[rr])) continue;
    out[n++] = k_rows[rr][cc];
  }
  return n;
}

int tsr__keyboard_adjacent(char a, char b) {
  int ra, ca;
  if (!key_pos(a, &ra, &ca) || !is_alpha(b)) return 0;
  char nb[6];
  int n = key_neighbours(ra, ca, nb);
  for (int k = 0; k < n; k++)
    if (nb[k] == to_lower(b)) return 1;
  return 0;
}

int tsr__typo_keyboard(char *s, uint32_t len, tsr__rng *r) {
  int i = pick_letter(s, len, r);
  if (i < 0) return 0;
  int row, col;
  if (!key_pos(s[i], &row, &col)) return 0;
  char nb[6];
  int n = key_neighbours(row, col, nb);
  s[i] = with_case(nb[tsr__rng_below(r, (uint64_t)n)], is_upper(s[i]));
  return 1;
}

int tsr__typo_any(char *s, uint32_t *len, uint32_t cap, tsr__rng *r) {
  switch (tsr__rng_below(r, 5)) {
  case 0:
    return tsr__typo_insert(s, len, cap, r);
  case 1:
    return tsr__typo_delete(s, len, r);
  case 2:
    return tsr__typo_substitute(s, *len, r);
  case 3:
    return tsr__typo_transpose(s, *len, r);
  default:
    return tsr__typo_keyboard(s, *len, r);
  }
}

int32_t tsr__dob_swap(int32_t days) {
  int y, m, d;
  tsr__ymd_from_days(days, &y, &m, &d);
  if (d > 12 || d == m) return days;
  return tsr__days_from_ymd(y, d, m);
}

int32_t tsr__dob_jan1(int32_t days) {
  int y, m, d;
  tsr__ymd_from_days(days, &y, &m, &d);
  return tsr__days_from_ymd(y, 1, 1);
}

int32_t tsr__dob_digit(int32_t days, tsr__rng *r) {
  int y, m, d;
  tsr__ymd_from_days(days, &y, &m, &d);
  /* digits of YYYYMMDD; century digits are left alone (a 1 -> 2 century slip
   * is a different error class and would leave the valid window) */
  for (int attempt = 0; attempt < 16; attempt++) {
    int dig[8] = {y / 1000, y / 100 % 10, y / 10 % 10, y % 10, m / 10, m % 10, d / 10, d % 10};
    int pos = 2 + (int)tsr__rng_below(r, 6);
    int nv = (int)tsr__rng_below(r, 9);
    if (nv >= dig[pos]) nv++;
    dig[pos] = nv;
    int ny = dig[0] * 1000 + dig[1] * 100 + dig[2] * 10 + dig[3];
    int nm = dig[4] * 10 + dig[5], nd = dig[6] * 10 + dig[7];
    if (!tsr__ymd_valid(ny, nm, nd)) continue;
    int32_t out = tsr__days_from_ymd(ny, nm, nd);
    if (out != days) return out;
  }
  return days;
}

uint64_t tsr__nhs_mistype(uint64_t nhs, tsr__rng *r) {
  uint8_t dg[10];
  for (int attempt = 0; attempt < 32; attempt++) {
    uint64_t v = nhs;
    for (int i = 9; i >= 0; i--) {
      dg[i] = (uint8_t)(v % 10u);
      v /= 10u;
    }
    if (tsr__rng_chance(r, 0.7)) {
      int pos = (int)tsr__rng_below(r, 10);
      uint8_t nv = (uint8_t)tsr__rng_below(r, 9);
      if (nv >= dg[pos]) nv++;
      dg[pos] = nv;
    } else {
      int pos = (int)tsr__rng_below(r, 9);
      if (dg[pos] == dg[pos + 1]) continue;
      uint8_t t = dg[pos];
      dg[pos] = dg[pos + 1];
      dg[pos + 1] = t;
    }
    uint64_t out = 0;
    for (int i = 0; i < 10; i++) out = out * 10u + dg[i];
    if (dg[0] != 0 && !tsr_nhs_valid(out)) return out;
  }
  /* unreachable in practice: modulus 11 catches every single substitution */
  return nhs + 1u;
}

/* Balanced Feistel permutation on 2k bits, cycle-walked into [0, domain). */
static uint64_t feistel(uint64_t seed, uint64_t x, int k) {
  uint64_t mask = ((uint64_t)1 << k) - 1u;
  uint64_t L = x >> k, R = x & mask;
  for (uint64_t round = 0; round < 4; round++) {
    uint64_t F = tsr__hash3(seed, TSR__S_NHS, (round << 40) ^ R) & mask;
    uint64_t nl = R;
    R = L ^ F;
    L = nl;
  }
  return (L << k) | R;
}

uint64_t tsr__nhs_for_patient(uint64_t seed, uint64_t i, uint64_t npatients) {
  /* Real numbers in England start 4..7; we use 4xxxxxxxx..6xxxxxxxx (30M
   * prefixes) and widen to 1..9 for larger populations. */
  uint64_t domain = npatients <= 30000000u ? 30000000u : 90000000u;
  uint64_t base = npatients <= 30000000u ? 40000000u : 10000000u;
  int k = 1;
  while (((uint64_t)1 << (2 * k)) < domain) k++;
  uint64_t x = i;
  do x = feistel(seed, x, k);
  while (x >= domain);
  uint64_t prefix8 = base + x;
  uint8_t d[9];
  uint64_t v = prefix8;
  for (int j = 7; j >= 0; j--) {
    d[j] = (uint8_t)(v % 10u);
    v /= 10u;
  }
  tsr__rng r;
  tsr__rng_init(&r, seed, TSR__S_NHS, i);
  d[8] = (uint8_t)tsr__rng_below(&r, 10);
  /* exactly one value of the 9th digit gives check 10, and at most one gives
   * an all-same-digit number, so three tries always find a valid number */
  for (;;) {
    int c = tsr_nhs_check_digit(d);
    uint64_t nhs = (prefix8 * 10u + d[8]) * 10u + (uint64_t)(c == 10 ? 0 : c);
    if (c != 10 && tsr_nhs_valid(nhs)) return nhs;
    d[8] = (uint8_t)((d[8] + 1u) % 10u);
  }
}
