/* Growable byte buffer with fast, printf-free appends for hot output paths
 * (CSV writers format tens of millions of rows). One buffer per thread. */
#ifndef TSR_BUF_H
#define TSR_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct tsr__buf {
  char *p;
  size_t len;
  size_t cap;
  int oom; /* sticky: set when a grow failed; appends then do nothing */
} tsr__buf;

void tsr__buf_init(tsr__buf *b, size_t cap);
void tsr__buf_free(tsr__buf *b);
/* Makes room for n more bytes; 0 or -1 (and b->oom set). */
int tsr__buf_grow(tsr__buf *b, size_t n);

static inline int tsr__buf_reserve(tsr__buf *b, size_t n) {
  return b->len + n <= b->cap ? 0 : tsr__buf_grow(b, n);
}
static inline void tsr__buf_put(tsr__buf *b, const void *s, size_t n) {
  if (n == 0 || tsr__buf_reserve(b, n)) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
}
static inline void tsr__buf_putc(tsr__buf *b, char c) {
  if (tsr__buf_reserve(b, 1)) return;
  b->p[b->len++] = c;
}
static inline void tsr__buf_puts(tsr__buf *b, const char *s) { tsr__buf_put(b, s, strlen(s)); }

/* Decimal digits of v into out (at least 20 bytes, no NUL); returns the count. */
static inline size_t tsr__fmt_u64(char *out, uint64_t v) {
  char t[24];
  int i = 24;
  do {
    t[--i] = (char)('0' + v % 10u);
    v /= 10u;
  } while (v);
  memcpy(out, t + i, (size_t)(24 - i));
  return (size_t)(24 - i);
}

/* Decimal unsigned. */
static inline void tsr__buf_u64(tsr__buf *b, uint64_t v) {
  char t[24];
  tsr__buf_put(b, t, tsr__fmt_u64(t, v));
}
/* Zero-padded to `width` digits (v must fit). */
static inline void tsr__buf_u64w(tsr__buf *b, uint64_t v, int width) {
  char t[24];
  for (int i = width - 1; i >= 0; i--) {
    t[i] = (char)('0' + v % 10u);
    v /= 10u;
  }
  tsr__buf_put(b, t, (size_t)width);
}

/* --- CSV fields ---------------------------------------------------------------
 * The one CSV escaper (RFC 4180): the field is quoted when it holds the
 * delimiter, a quote, CR or LF, and quotes are doubled. With TSR__CSV_PEOPLE
 * the spreadsheet-injection rule applies as well: a field that starts with
 * '=', '+', '-', '@', TAB or CR gets a leading apostrophe, so a spreadsheet
 * shows it as text instead of running it as a formula. Use TSR__CSV_PEOPLE
 * for every CSV meant to be opened by a person (rejects.csv, CSV copies of
 * outputs); docs/config.md says which files do. */
enum { TSR__CSV_PLAIN = 0, TSR__CSV_PEOPLE = 1 };
/* 1 when the field needs the apostrophe under TSR__CSV_PEOPLE. */
static inline int tsr__csv_is_formula(const char *s, size_t n) {
  return n > 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r');
}
void tsr__buf_csv_field(tsr__buf *b, const char *s, size_t n, char delim, int flags);

#endif
