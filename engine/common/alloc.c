/* The engine's allocation hooks: every engine allocation goes through here
 * (the tessera binary backs them with jemalloc). They keep a count of the
 * bytes in use, its peak, and enforce an optional limit, so a run that would
 * outgrow the machine fails with a clear error instead of meeting the OOM
 * killer.
 *
 * DESIGN
 *   Each block carries a 16-byte header with the bytes the counter holds for
 *   it, as redis zmalloc does where malloc_size is missing:
 *
 *     malloc'd:  [ counted | capacity ][ payload ........................ ]
 *                 ^ header (16 bytes)   ^ the pointer callers get (16-aligned)
 *
 *   What is counted is what the engine asked for, never the allocator's size
 *   class (jemalloc rounds a 268 MB request up to 320 MB, pages that are
 *   never touched). Because a block gives back exactly what it took, the
 *   counter cannot drift or wrap: the old scheme counted
 *   malloc_usable_size after the fact, and when that late count was refused
 *   by the limit, the block stayed uncounted but its free was still
 *   subtracted (defect 7: "18446744073.689 GB were in use").
 *
 *   The limit is checked before the allocation, with a compare-and-swap on
 *   one relaxed atomic, so the counter never passes the limit even for a
 *   moment: peak <= limit always, and a request that would bring the count
 *   to exactly the limit succeeds while one byte more is refused.
 *   Allocations are per array or batch, never per record, so the atomic is
 *   never contended. A refused allocation returns NULL (the caller's
 *   TSR_ENOMEM path) and is remembered for tsr_memory_refused().
 *
 *   Capacity reserved ahead and filled gradually (a column presized for a
 *   whole file, a read buffer that a mapped file never uses) holds no memory
 *   until it is written. tsr__mem_reserve() sizes such a block without
 *   counting the new capacity, and tsr__mem_commit() counts it up to the
 *   bytes about to be written, under the same limit. Plain tsr__malloc and
 *   friends count the whole request at once.
 *
 *   Third-party libraries' own buffers (zstd, jansson), thread stacks and
 *   mapped input files are not counted. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_internal.h"

typedef struct hdr {
  alignas(16) uint64_t counted; /* bytes the counter holds for this block */
  uint64_t cap;                 /* payload bytes the block can hold */
} hdr_t;
_Static_assert(sizeof(hdr_t) == 16, "the header keeps malloc's 16-byte alignment");

static uint64_t g_limit, g_in_use, g_peak, g_refused, g_refused_at;

static hdr_t *hdr_of(const void *p) { return (hdr_t *)(uintptr_t)((const char *)p - sizeof(hdr_t)); }

/* Counts n more bytes, or refuses (returns -1, counting nothing) when that
 * would pass the limit. */
static int take(uint64_t n) {
  uint64_t lim = __atomic_load_n(&g_limit, __ATOMIC_RELAXED);
  uint64_t cur = __atomic_load_n(&g_in_use, __ATOMIC_RELAXED), now;
  do {
    now = cur + n;
    if (lim && (now > lim || now < cur)) {
      __atomic_store_n(&g_refused_at, cur, __ATOMIC_RELAXED);
      __atomic_store_n(&g_refused, n, __ATOMIC_RELAXED);
      return -1;
    }
  } while (!__atomic_compare_exchange_n(&g_in_use, &cur, now, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  uint64_t pk = __atomic_load_n(&g_peak, __ATOMIC_RELAXED);
  while (now > pk && !__atomic_compare_exchange_n(&g_peak, &pk, now, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return 0;
}

static void give(uint64_t n) { __atomic_sub_fetch(&g_in_use, n, __ATOMIC_RELAXED); }

void *tsr__malloc(size_t n) {
  if (n > SIZE_MAX - sizeof(hdr_t)) return NULL;
  if (take(n)) return NULL;
  hdr_t *h = malloc(sizeof *h + n);
  if (!h) {
    give(n);
    return NULL;
  }
  h->counted = h->cap = n;
  return h + 1;
}

void *tsr__calloc(size_t count, size_t size) {
  if (count && size > SIZE_MAX / count) return NULL;
  size_t n = count * size;
  if (n > SIZE_MAX - sizeof(hdr_t)) return NULL;
  if (take(n)) return NULL;
  hdr_t *h = calloc(1, sizeof *h + n);
  if (!h) {
    give(n);
    return NULL;
  }
  h->counted = h->cap = n;
  return h + 1;
}

/* Resizes p (NULL: a new block) to n payload bytes; the counter holds
 * `counted` bytes for the result. On failure p is untouched. */
static void *resize(void *p, size_t n, uint64_t counted) {
  if (n > SIZE_MAX - sizeof(hdr_t)) return NULL;
  uint64_t old = p ? hdr_of(p)->counted : 0;
  if (counted > old && take(counted - old)) return NULL;
  hdr_t *q = realloc(p ? hdr_of(p) : NULL, sizeof *q + n);
  if (!q) {
    if (counted > old) give(counted - old);
    return NULL;
  }
  if (counted < old) give(old - counted);
  q->counted = counted;
  q->cap = n;
  return q + 1;
}

void *tsr__realloc(void *p, size_t n) { return resize(p, n, n); }

void tsr__free(void *p) {
  if (!p) return;
  hdr_t *h = hdr_of(p);
  give(h->counted);
  free(h);
}

/* Resizes p (NULL: a new block) to hold cap bytes without counting the new
 * capacity: the counter keeps what was committed, capped at cap. Returns
 * NULL (p untouched) when the allocator fails. Free with tsr__free. */
void *tsr__mem_reserve(void *p, size_t cap) {
  uint64_t counted = p ? hdr_of(p)->counted : 0;
  return resize(p, cap, counted < cap ? counted : cap);
}

/* Counts the first `bytes` of block p as held, before the caller writes
 * them; bytes beyond the block's capacity are a programmer error. Returns 0,
 * or TSR_ENOMEM (nothing counted, tsr_memory_refused() set) when that would
 * pass the limit. Committing less than is already counted is a no-op. */
int tsr__mem_commit(void *p, size_t bytes) {
  hdr_t *h = hdr_of(p);
  if (bytes > h->cap) bytes = (size_t)h->cap;
  if (bytes <= h->counted) return 0;
  if (take(bytes - h->counted)) return TSR_ENOMEM;
  h->counted = bytes;
  return 0;
}

/* Bytes the counter holds for block p (0 for NULL). */
size_t tsr__mem_counted(const void *p) { return p ? (size_t)hdr_of(p)->counted : 0; }

void tsr_memory_limit_set(uint64_t bytes) { __atomic_store_n(&g_limit, bytes, __ATOMIC_RELAXED); }
uint64_t tsr_memory_limit(void) { return __atomic_load_n(&g_limit, __ATOMIC_RELAXED); }
uint64_t tsr_memory_in_use(void) { return __atomic_load_n(&g_in_use, __ATOMIC_RELAXED); }
uint64_t tsr_memory_peak(void) { return __atomic_load_n(&g_peak, __ATOMIC_RELAXED); }
uint64_t tsr_memory_refused(void) { return __atomic_load_n(&g_refused, __ATOMIC_RELAXED); }
uint64_t tsr_memory_refused_at(void) { return __atomic_load_n(&g_refused_at, __ATOMIC_RELAXED); }
