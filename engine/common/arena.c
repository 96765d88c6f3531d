/* Arena allocator; see arena.h for the design. */
#include "common/arena.h"

#include <string.h>

#include "common/common_internal.h"

struct tsr__arena_block {
  tsr__arena_block *next;
  size_t cap;
  size_t used;
  /* payload follows, 64-byte aligned */
};

#define TSR__BLOCK_HDR ((sizeof(tsr__arena_block) + 63u) & ~(size_t)63u)

void tsr__arena_init(tsr__arena *a, size_t block_size) {
  a->head = NULL;
  a->block_size = block_size ? block_size : ((size_t)1 << 20);
  a->bytes_reserved = 0;
}

void *tsr__arena_alloc(tsr__arena *a, size_t n, size_t align) {
  if (align == 0) align = 1;
  tsr__arena_block *b = a->head;
  if (b) {
    /* align the address, not the offset: the payload is only malloc-aligned */
    uintptr_t base = (uintptr_t)((char *)b + TSR__BLOCK_HDR);
    size_t off = (size_t)(((base + b->used + align - 1) & ~(uintptr_t)(align - 1)) - base);
    if (off <= b->cap && n <= b->cap - off) {
      b->used = off + n;
      return (char *)b + TSR__BLOCK_HDR + off;
    }
  }
  size_t cap = a->block_size;
  if (n + align > cap) cap = n + align;
  tsr__arena_block *nb = tsr__malloc(TSR__BLOCK_HDR + cap + 64);
  if (!nb) return NULL;
  nb->cap = cap;
  nb->used = 0;
  nb->next = a->head;
  a->head = nb;
  a->bytes_reserved += cap;
  /* The payload starts 64-byte aligned relative to the block; malloc gives
   * at least 16, so align relative to the real address. */
  uintptr_t base = (uintptr_t)((char *)nb + TSR__BLOCK_HDR);
  size_t off = (size_t)(((base + align - 1) & ~(uintptr_t)(align - 1)) - base);
  nb->used = off + n;
  return (char *)nb + TSR__BLOCK_HDR + off;
}

char *tsr__arena_strndup(tsr__arena *a, const char *s, size_t n) {
  char *p = tsr__arena_alloc(a, n + 1, 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

void tsr__arena_reset(tsr__arena *a) {
  tsr__arena_block *b = a->head;
  if (!b) return;
  /* keep the oldest block (the tail): usually the base-sized one */
  tsr__arena_block *keep = b;
  while (keep->next) keep = keep->next;
  while (b != keep) {
    tsr__arena_block *n = b->next;
    a->bytes_reserved -= b->cap;
    tsr__free(b);
    b = n;
  }
  keep->used = 0;
  keep->next = NULL;
  a->head = keep;
}

void tsr__arena_free(tsr__arena *a) {
  tsr__arena_block *b = a->head;
  while (b) {
    tsr__arena_block *n = b->next;
    tsr__free(b);
    b = n;
  }
  a->head = NULL;
  a->bytes_reserved = 0;
}

size_t tsr__arena_bytes(const tsr__arena *a) { return a->bytes_reserved; }
