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
