/* Growable byte buffer; see buf.h. */
#include "common/buf.h"

#include "common/common_internal.h"

void tsr__buf_init(tsr__buf *b, size_t cap) {
  b->len = 0;
  b->oom = 0;
  b->cap = 0;
  b->p = NULL;
  if (cap) {
    b->p = tsr__malloc(cap);
    if (b->p)
      b->cap = cap;
    else
      b->oom = 1;
  }
}

void tsr__buf_free(tsr__buf *b) {
  tsr__free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

int tsr__buf_grow(tsr__buf *b, size_t n) {
  if (b->oom) return -1;
  size_t need = b->len + n;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < need) cap *= 2;
  char *p = tsr__realloc(b->p, cap);
  if (!p) {
    b->oom = 1;
    return -1;
  }
  b->p = p;
  b->cap = cap;
  return 0;
}

void tsr__buf_csv_field(tsr__buf *b, const char *s, size_t n, char delim, int flags) {
  int formula = (flags & TSR__CSV_PEOPLE) && tsr__csv_is_formula(s, n);
  int quote = 0;
  for (size_t i = 0; i < n && !quote; i++)
    quote = s[i] == delim || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
  if (!quote) {
    if (formula) tsr__buf_putc(b, '\'');
    tsr__buf_put(b, s, n);
    return;
  }
  tsr__buf_putc(b, '"');
  if (formula) tsr__buf_putc(b, '\'');
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') tsr__buf_putc(b, '"');
    tsr__buf_putc(b, s[i]);
  }
  tsr__buf_putc(b, '"');
}
