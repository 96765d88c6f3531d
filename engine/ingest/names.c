/* Name standardisation and phonetic codes; see names.h. ASCII input (nearly
 * all of it) never reaches utf8proc; other text is decoded code point by
 * code point, and each is decomposed with marks stripped (NFKD). */
#include "ingest/names.h"

#include <string.h>
#include <utf8proc.h>

/* Letters that carry no decomposition to a Latin base letter. */
static const char *special_letter(utf8proc_int32_t cp) {
  switch (cp) {
  case 0x0141: case 0x0142: return "L"; /* Ł ł */
  case 0x00D8: case 0x00F8: return "O"; /* Ø ø */
  case 0x0110: case 0x0111: case 0x00D0: case 0x00F0: return "D"; /* Đ đ Ð ð */
  case 0x00DF: case 0x1E9E: return "SS"; /* ß ẞ */
  case 0x00C6: case 0x00E6: return "AE";
  case 0x0152: case 0x0153: return "OE";
  case 0x00DE: case 0x00FE: return "TH";
  case 0x0131: return "I"; /* dotless i */
  case 0x0126: case 0x0127: return "H"; /* Ħ ħ */
  case 0x0166: case 0x0167: return "T"; /* Ŧ ŧ */
  case 0x014A: case 0x014B: return "NG";
  default: return NULL;
  }
}

static int is_apostrophe(utf8proc_int32_t cp) {
  return cp == '\'' || cp == '`' || cp == 0x2019 || cp == 0x2018 || cp == 0x02BC || cp == 0x00B4;
}

typedef struct {
  char *out;
  size_t cap, n;
  int space; /* a separator is pending */
} emit_t;

static void emit_letter(emit_t *e, char c) {
  if (e->space && e->n) {
    if (e->n + 1 < e->cap) e->out[e->n++] = ' ';
  }
  e->space = 0;
  if (e->n + 1 < e->cap) e->out[e->n++] = c;
}

static int finish(emit_t *e) {
  if (e->cap) e->out[e->n < e->cap ? e->n : e->cap - 1] = '\0';
  return (int)e->n;
}

static void ascii_char(emit_t *e, unsigned char c) {
  if (c >= 'a' && c <= 'z')
    emit_letter(e, (char)(c - 32));
  else if (c >= 'A' && c <= 'Z')
    emit_letter(e, (char)c);
  else if (c == '\'' || c == '`')
    ; /* O'Brien -> OBRIEN */
  else if (c >= '0' && c <= '9')
    ; /* digits are not part of a name */
  else
    e->space = 1; /* hyphen, dot, comma, white space ... */
}

int tsr__name_standardise(const char *in, size_t len, char *out, size_t cap) {
  emit_t e = {out, cap, 0, 0};
  size_t i = 0;
  while (i < len) {
    unsigned char c = (unsigned char)in[i];
    if (c < 0x80) {
      ascii_char(&e, c);
      i++;
      continue;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)in + i, (utf8proc_ssize_t)(len - i), &cp);
    if (n <= 0) return -1;
    i += (size_t)n;
    if (is_apostrophe(cp)) continue;
    const char *sp = special_letter(cp);
    if (sp) {
      for (; *sp; sp++) emit_letter(&e, *sp);
      continue;
    }
    utf8proc_int32_t d[16];
    int bound = 0;
    utf8proc_ssize_t m = utf8proc_decompose_char(
        cp, d, 16, (utf8proc_option_t)(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_STRIPMARK), &bound);
    int letters = 0;
    for (utf8proc_ssize_t k = 0; k < m && k < 16; k++) {
      if (d[k] < 0x80 && ((d[k] >= 'A' && d[k] <= 'Z') || (d[k] >= 'a' && d[k] <= 'z'))) {
        ascii_char(&e, (unsigned char)d[k]);
        letters++;
      }
    }
    if (letters) continue;
    utf8proc_category_t cat = utf8proc_category(cp);
    if (cat >= UTF8PROC_CATEGORY_ZS && cat <= UTF8PROC_CATEGORY_ZP) e.space = 1; /* white space */
    else if (cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO) e.space = 1; /* punctuation */
    /* other letters (no Latin form), symbols, marks: dropped */
  }
  return finish(&e);
}

/* --- Soundex ------------------------------------------------------------------ */
static int sdx_code(char c) {
  switch (c) {
  case 'B': case 'F': case 'P': case 'V': return 1;
  case 'C': case 'G': case 'J': case 'K': case 'Q': case 'S': case 'X': case 'Z': return 2;
  case 'D': case 'T': return 3;
  case 'L': return 4;
  case 'M': case 'N': return 5;
  case 'R': return 6;
  case 'H': case 'W': return -1; /* ignored: they do not separate equal codes */
  default: return 0;             /* vowels and Y separate equal codes */
  }
}

uint16_t tsr__soundex(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && (s[i] < 'A' || s[i] > 'Z')) i++;
  if (i == n) return 0;
  char first = s[i++];
  int prev = sdx_code(first), digits[3] = {0, 0, 0}, nd = 0;
  for (; i < n && nd < 3; i++) {
    char c = s[i];
    if (c < 'A' || c > 'Z') continue; /* spaces of multi-part names */
    int code = sdx_code(c);
    if (code < 0) continue;
    if (code == 0) {
      prev = 0;
      continue;
    }
    if (code != prev) digits[nd++] = code;
    prev = code;
  }
  return (uint16_t)(((unsigned)(first - 'A' + 1) << 9) | ((unsigned)digits[0] << 6) | ((unsigned)digits[1] << 3) |
                    (unsigned)digits[2]);
}

void tsr__soundex_str(uint16_t code, char out[5]) {
  if (!code) {
    out[0] = '\0';
    return;
  }
  out[0] = (char)('A' + (code >> 9) - 1);
  out[1] = (char)('0' + ((code >> 6) & 7));
  out[2] = (char)('0' + ((code >> 3) & 7));
  out[3] = (char)('0' + (code & 7));
  out[4] = '\0';
}

/* --- NYSIIS (original) -------------------------------------------------------------- */
static int vowel(char c) { return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U'; }

uint32_t tsr__nysiis(const char *s, size_t n) {
  char w[72];
  size_t len = 0;
  for (size_t i = 0; i < n && len < sizeof w - 4; i++)
    if (s[i] >= 'A' && s[i] <= 'Z') w[len++] = s[i];
  if (len == 0) return 0;
  w[len] = '\0';
  /* prefixes */
  if (len >= 3 && memcmp(w, "MAC", 3) == 0) memcpy(w, "MCC", 3);
  else if (len >= 2 && memcmp(w, "KN", 2) == 0) memcpy(w, "NN", 2);
  else if (w[0] == 'K') w[0] = 'C';
  else if (len >= 2 && (memcmp(w, "PH", 2) == 0 || memcmp(w, "PF", 2) == 0)) memcpy(w, "FF", 2);
  else if (len >= 3 && memcmp(w, "SCH", 3) == 0) memcpy(w, "SSS", 3);
  /* suffixes */
  if (len >= 2) {
    const char *t = w + len - 2;
    if (memcmp(t, "EE", 2) == 0 || memcmp(t, "IE", 2) == 0) {
      w[len - 2] = 'Y';
      len--;
    } else if (memcmp(t, "DT", 2) == 0 || memcmp(t, "RT", 2) == 0 || memcmp(t, "RD", 2) == 0 ||
               memcmp(t, "NT", 2) == 0 || memcmp(t, "ND", 2) == 0) {
      w[len - 2] = 'D';
      len--;
    }
  }
  char key[72];
  size_t k = 0;
  key[k++] = w[0];
  for (size_t i = 1; i < len; i++) {
    char c = w[i], next = i + 1 < len ? w[i + 1] : '\0';
    if (c == 'E' && next == 'V') {
      w[i + 1] = 'F';
      c = 'A';
    } else if (vowel(c)) {
      c = 'A';
    } else if (c == 'Q') {
      c = 'G';
    } else if (c == 'Z') {
      c = 'S';
    } else if (c == 'M') {
      c = 'N';
    } else if (c == 'K') {
      c = next == 'N' ? 'N' : 'C';
    } else if (c == 'S' && next == 'C' && i + 2 < len && w[i + 2] == 'H') {
      w[i + 1] = 'S';
      w[i + 2] = 'S';
    } else if (c == 'P' && next == 'H') {
      c = 'F';
      w[i + 1] = 'F';
    } else if (c == 'H') {
      if (!vowel(w[i - 1]) || (next && !vowel(next)) || !next) c = w[i - 1];
    } else if (c == 'W') {
      if (vowel(w[i - 1])) c = w[i - 1];
    }
    w[i] = c;
    if (c != key[k - 1]) key[k++] = c;
  }
  if (k > 1 && key[k - 1] == 'S') k--;
  if (k > 1 && key[k - 2] == 'A' && key[k - 1] == 'Y') {
    key[k - 2] = 'Y';
    k--;
  }
  if (k > 1 && key[k - 1] == 'A') k--;
  if (k > 6) k = 6;
  uint32_t v = 0;
  for (size_t i = 0; i < 6; i++) v = (v << 5) | (i < k ? (uint32_t)(key[i] - 'A' + 1) : 0u);
  return v;
}

void tsr__nysiis_str(uint32_t code, char out[7]) {
  size_t k = 0;
  for (int i = 5; i >= 0; i--) {
    uint32_t c = (code >> (5 * i)) & 31u;
    if (c) out[k++] = (char)('A' + c - 1);
  }
  out[k] = '\0';
}

/* --- parts ---------------------------------------------------------------------------- */
uint32_t tsr__name_parts(const char *s, size_t len) {
  uint32_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (s[i] != ' ' && (i == 0 || s[i - 1] == ' ')) n++;
  return n;
}

int tsr__name_part(const char *s, size_t len, uint32_t idx, uint32_t *off, uint32_t *plen) {
  uint32_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == ' ' || (i > 0 && s[i - 1] != ' ')) continue;
    if (n++ == idx) {
      size_t e = i;
      while (e < len && s[e] != ' ') e++;
      *off = (uint32_t)i;
      *plen = (uint32_t)(e - i);
      return 0;
    }
  }
  return -1;
}
