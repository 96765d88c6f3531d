/* Field standardisers; see fields.h. These run once per value on tens of
 * millions of rows, so each is a single pass with no allocation. */
#include "ingest/fields.h"

#include <string.h>

#include "common/date.h"
#include "common/nhs.h"
#include "tessera/common.h"
#include "tessera/ingest.h"

int tsr__std_nhs(const char *s, size_t n, uint64_t *out) {
  uint64_t v = 0;
  unsigned digits = 0;
  uint8_t d[10];
  *out = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c >= '0' && c <= '9') {
      if (digits == 10) return TSR__V_INVALID;
      d[digits] = (uint8_t)(c - '0');
      v = v * 10u + d[digits];
      digits++;
    } else if (c != ' ' && c != '-') {
      return TSR__V_INVALID;
    }
  }
  if (digits == 0) return TSR__V_MISSING;
  if (digits != 10 || !tsr__nhs_digits_valid(d, tsr__nhs_sum(d))) return TSR__V_INVALID;
  *out = v;
  return TSR__V_OK;
}

static int parse_with(const char *s, size_t n, const tsr_date_format *f, int *y, int *m, int *d) {
  size_t i = 0;
  for (uint8_t k = 0; k < f->n; k++) {
    uint8_t part = f->part[k];
    int width = part == 'Y' ? 4 : (part == 'y' || part == 'M' || part == 'D') ? 2 : 0;
    if (width) {
      if (i + (size_t)width > n) return -1;
      int v = 0;
      for (int w = 0; w < width; w++) {
        char c = s[i + (size_t)w];
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
      }
      i += (size_t)width;
      if (part == 'Y') *y = v;
      else if (part == 'y') *y = v; /* two-digit years are resolved by the caller */
      else if (part == 'M') *m = v;
      else *d = v;
    } else {
      if (i >= n || (uint8_t)s[i] != part) return -1;
      i++;
    }
  }
  return i == n ? 0 : -1;
}

static inline int dig2(const char *p) {
  unsigned a = (unsigned)(p[0] - '0'), b = (unsigned)(p[1] - '0');
  return a < 10 && b < 10 ? (int)(a * 10 + b) : -1;
}

/* The two layouts nearly every feed uses, without the general loop. */
static int parse_fixed(const char *s, size_t n, const tsr_date_format *f, int *y, int *m, int *d) {
  if (n != 10 || f->n != 5) return 1; /* not applicable: use the general parser */
  if (f->part[0] == 'Y' && f->part[2] == 'M' && f->part[4] == 'D') { /* YYYY?MM?DD */
    if ((uint8_t)s[4] != f->part[1] || (uint8_t)s[7] != f->part[3]) return -1;
    int hi = dig2(s), lo = dig2(s + 2);
    *m = dig2(s + 5);
    *d = dig2(s + 8);
    if (hi < 0 || lo < 0) return -1;
    *y = hi * 100 + lo;
    return *m < 0 || *d < 0 ? -1 : 0;
  }
  if (f->part[0] == 'D' && f->part[2] == 'M' && f->part[4] == 'Y') { /* DD?MM?YYYY */
    if ((uint8_t)s[2] != f->part[1] || (uint8_t)s[5] != f->part[3]) return -1;
    *d = dig2(s);
    *m = dig2(s + 3);
    int hi = dig2(s + 6), lo = dig2(s + 8);
    if (hi < 0 || lo < 0) return -1;
    *y = hi * 100 + lo;
    return *m < 0 || *d < 0 ? -1 : 0;
  }
  return 1;
}

static int digits_at(const char *s, size_t n, size_t i, size_t w, int *v) {
  if (i + w > n) return 0;
  int x = 0;
  for (size_t k = 0; k < w; k++) {
    if (s[i + k] < '0' || s[i + k] > '9') return 0;
    x = x * 10 + (s[i + k] - '0');
  }
  *v = x;
  return 1;
}

/* 1 if s[0..n) is a time of day as exports write it: HH:MM, optional :SS and
 * a fraction (.fff or ,fff), then optional Z or an offset (+HH, +HHMM,
 * +HH:MM), then optional spaces. */
static int is_time(const char *s, size_t n) {
  int h, m, sec;
  if (!digits_at(s, n, 0, 2, &h) || n < 5 || s[2] != ':' || !digits_at(s, n, 3, 2, &m) || h > 24 || m > 59)
    return 0;
  size_t i = 5;
  if (i < n && s[i] == ':') {
    if (!digits_at(s, n, i + 1, 2, &sec) || sec > 60) return 0;
    i += 3;
    if (i < n && (s[i] == '.' || s[i] == ',')) {
      size_t j = ++i;
      while (i < n && s[i] >= '0' && s[i] <= '9') i++;
      if (i == j) return 0;
    }
  }
  if (i < n && (s[i] == 'Z' || s[i] == 'z')) i++;
  else if (i < n && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!digits_at(s, n, i + 1, 2, &oh) || oh > 14) return 0;
    i += 3;
    if (i < n && s[i] == ':') i++;
    if (digits_at(s, n, i, 2, &om)) i += 2;
  }
  while (i < n && s[i] == ' ') i++;
  return i == n;
}

/* Length of the date part of a value that may carry a time part after it
 * ("1994-05-06 00:00:00", "1994-05-06T00:00:00Z"): dates are dates, so a time
 * of day is accepted and ignored whatever the configured layout. */
static size_t date_part(const char *s, size_t n) {
  for (size_t i = 6; i + 5 < n; i++)
    if ((s[i] == ' ' || s[i] == 'T' || s[i] == 't') && is_time(s + i + 1, n - i - 1)) {
      while (i > 0 && s[i - 1] == ' ') i--;
      return i;
    }
  return n;
}

int tsr__std_date(const char *s, size_t n, const tsr_date_format *f, uint32_t nf, int32_t min, int32_t max,
                  int32_t *out) {
  *out = TSR_DATE_MISSING;
  if (n == 0) return TSR__V_MISSING;
  if (n >= 12) n = date_part(s, n); /* the shortest date and time, "YYMMDD HH:MM", has 12 bytes */
  for (uint32_t k = 0; k < nf; k++) {
    int y = 0, m = 0, d = 0;
    int fx = parse_fixed(s, n, &f[k], &y, &m, &d);
    if (fx < 0) continue;
    if (fx > 0 && parse_with(s, n, &f[k], &y, &m, &d)) continue;
    int two_digit = 0;
    for (uint8_t p = 0; p < f[k].n; p++) two_digit |= f[k].part[p] == 'y';
    if (two_digit) {
      /* the century that puts the date inside the window, latest first */
      int found = 0;
      for (int c = 2000; c >= 1800 && !found; c -= 100) {
        if (!tsr__ymd_valid(c + y, m, d)) continue;
        int32_t v = tsr__days_from_ymd(c + y, m, d);
        if (v >= min && v <= max) {
          *out = v;
          found = 1;
        }
      }
      if (found) return TSR__V_OK;
      return TSR__V_INVALID;
    }
    if (!tsr__ymd_valid(y, m, d)) return TSR__V_INVALID; /* 31/02: the layout matched, the date is not real */
    int32_t v = tsr__days_from_ymd(y, m, d);
    if (v < min || v > max) return TSR__V_INVALID;
    *out = v;
    return TSR__V_OK;
  }
  return TSR__V_INVALID;
}

static int ieq(const char *s, size_t n, const char *word) {
  size_t w = strlen(word);
  if (n != w) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c >= 'a' && c <= 'z') c = (char)(c - 32);
    if (c != word[i]) return 0;
  }
  return 1;
}

int tsr__std_sex(const char *s, size_t n, uint8_t *out) {
  *out = 0;
  if (n == 0) return TSR__V_MISSING;
  if (ieq(s, n, "1") || ieq(s, n, "M") || ieq(s, n, "MALE")) {
    *out = 1;
    return TSR__V_OK;
  }
  if (ieq(s, n, "2") || ieq(s, n, "F") || ieq(s, n, "FEMALE")) {
    *out = 2;
    return TSR__V_OK;
  }
  if (ieq(s, n, "9") || ieq(s, n, "U") || ieq(s, n, "I") || ieq(s, n, "UNKNOWN") || ieq(s, n, "INDETERMINATE") ||
      ieq(s, n, "NOT SPECIFIED")) {
    *out = 9;
    return TSR__V_OK;
  }
  if (ieq(s, n, "0") || ieq(s, n, "X") || ieq(s, n, "N") || ieq(s, n, "NOT KNOWN")) {
    *out = 0;
    return TSR__V_OK;
  }
  return TSR__V_INVALID;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return c >= 'A' && c <= 'Z'; }

int tsr__std_postcode(const char *s, size_t n, uint64_t *out) {
  char t[8];
  size_t k = 0;
  *out = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == ' ' || c == '\t') continue;
    if (c >= 'a' && c <= 'z') c = (char)(c - 32);
    if (!is_digit(c) && !is_alpha(c)) return TSR__V_INVALID;
    if (k == 7) return TSR__V_INVALID;
    t[k++] = c;
  }
  if (k == 0) return TSR__V_MISSING;
  if (k < 5) return TSR__V_INVALID;
  /* inward code: digit letter letter */
  if (!is_digit(t[k - 3]) || !is_alpha(t[k - 2]) || !is_alpha(t[k - 1])) return TSR__V_INVALID;
  size_t ol = k - 3; /* outward code length, 2..4 */
  const char *o = t;
  int ok = 0;
  if (ol == 3 && memcmp(o, "GIR", 3) == 0 && memcmp(t + 3, "0AA", 3) == 0) ok = 1;
  else if (ol == 2) ok = is_alpha(o[0]) && is_digit(o[1]);                                          /* A9 */
  else if (ol == 3) ok = is_alpha(o[0]) && ((is_digit(o[1]) && (is_digit(o[2]) || is_alpha(o[2]))) || /* A99 A9A */
                                            (is_alpha(o[1]) && is_digit(o[2])));                    /* AA9 */
  else if (ol == 4) ok = is_alpha(o[0]) && is_alpha(o[1]) && is_digit(o[2]) && (is_digit(o[3]) || is_alpha(o[3]));
  if (!ok) return TSR__V_INVALID;
  if (ol == 4 && memcmp(o, "ZZ99", 4) == 0) return TSR__V_PSEUDO;
  uint64_t v = 0;
  for (size_t i = 0; i < 8; i++) v = (v << 8) | (i < k ? (uint8_t)t[i] : 0u);
  *out = v;
  return TSR__V_OK;
}

static size_t packed_len(uint64_t p) {
  size_t n = 0;
  while (n < 8 && ((p >> (8 * (7 - n))) & 0xFFu)) n++;
  return n;
}

size_t tsr__postcode_text(uint64_t packed, char out[9]) {
  size_t n = packed_len(packed);
  if (n < 5) {
    out[0] = '\0';
    return 0;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == n - 3) out[k++] = ' ';
    out[k++] = (char)((packed >> (8 * (7 - i))) & 0xFFu);
  }
  out[k] = '\0';
  return k;
}

static uint64_t keep_prefix(uint64_t p, size_t chars) {
  if (chars == 0) return 0;
  return p & (~(uint64_t)0 << (8 * (8 - chars)));
}

uint64_t tsr__postcode_district(uint64_t packed) {
  size_t n = packed_len(packed);
  return n < 5 ? 0 : keep_prefix(packed, n - 3);
}

uint64_t tsr__postcode_sector(uint64_t packed) {
  size_t n = packed_len(packed);
  return n < 5 ? 0 : keep_prefix(packed, n - 2);
}

int tsr__std_integer(const char *s, size_t n, int64_t *out) {
  *out = 0;
  if (n == 0) return TSR__V_MISSING;
  size_t i = 0;
  int neg = 0;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i = 1;
  }
  if (i == n) return TSR__V_INVALID;
  uint64_t v = 0;
  for (; i < n; i++) {
    if (!is_digit(s[i])) return TSR__V_INVALID;
    uint64_t d = (uint64_t)(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10u) return TSR__V_INVALID;
    v = v * 10u + d;
  }
  if (neg ? v > (uint64_t)INT64_MAX + 1u : v > (uint64_t)INT64_MAX) return TSR__V_INVALID;
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return TSR__V_OK;
}

int tsr__utf8_valid(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    /* ASCII runs eight bytes at a time */
    while (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t need;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      cp = c & 0x07u;
    } else {
      return 0; /* continuation byte, overlong lead C0/C1, or > F4 */
    }
    if (n - i - 1 < need) return 0; /* truncated sequence */
    for (size_t k = 1; k <= need; k++) {
      if ((s[i + k] & 0xC0u) != 0x80u) return 0;
      cp = (cp << 6) | (s[i + k] & 0x3Fu);
    }
    if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += need + 1;
  }
  return 1;
}

size_t tsr_postcode_text(uint64_t packed, char out[9]) { return tsr__postcode_text(packed, out); }
uint64_t tsr_postcode_district(uint64_t packed) { return tsr__postcode_district(packed); }
uint64_t tsr_postcode_sector(uint64_t packed) { return tsr__postcode_sector(packed); }
