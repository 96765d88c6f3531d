/* The engine's allocation hooks: every engine allocation goes through here
 * (the tessera binary backs them with jemalloc). They keep a count of the
 * bytes in use, its peak, and enforce an optional limit, so a run that would
 * outgrow the machine fails with a clear error instead of meeting the OOM
 * killer.
 *
 * DESIGN
 *   Sizes come from malloc_usable_size, so frees need no header. The counter
 *   is one relaxed atomic: allocations are per array or batch, never per
 *   record, so it is never contended. A refused allocation returns NULL (the
 *   caller's TSR_ENOMEM path) and is remembered for tsr_memory_limit_hit.
 *   Third-party libraries' own buffers (zstd, jansson) are not counted. */
#include <malloc.h>
#include <stdlib.h>

#include "common/common_internal.h"

static uint64_t g_limit, g_in_use, g_peak, g_refused, g_refused_at;

static int take(size_t n) {
  uint64_t now = __atomic_add_fetch(&g_in_use, n, __ATOMIC_RELAXED);
  uint64_t lim = __atomic_load_n(&g_limit, __ATOMIC_RELAXED);
  if (lim && now > lim) {
    now = __atomic_sub_fetch(&g_in_use, n, __ATOMIC_RELAXED);
    __atomic_store_n(&g_refused_at, now, __ATOMIC_RELAXED);
    __atomic_store_n(&g_refused, (uint64_t)n, __ATOMIC_RELAXED);
    return -1;
  }
  uint64_t pk = __atomic_load_n(&g_peak, __ATOMIC_RELAXED);
  while (now > pk && !__atomic_compare_exchange_n(&g_peak, &pk, now, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return 0;
}

static void give(size_t n) { __atomic_sub_fetch(&g_in_use, n, __ATOMIC_RELAXED); }

void *tsr__malloc(size_t n) {
  if (take(n ? n : 1)) return NULL;
  void *p = malloc(n ? n : 1);
  give(n ? n : 1);
  if (p) (void)take(malloc_usable_size(p)); /* the real size; never refused after the fact */
  return p;
}

void *tsr__calloc(size_t count, size_t size) {
  if (count && size > SIZE_MAX / count) return NULL;
  size_t n = count * size;
  if (n == 0) n = 1;
  if (take(n)) return NULL;
  void *p = calloc(count ? count : 1, size ? size : 1);
  give(n);
  if (p) (void)take(malloc_usable_size(p));
  return p;
}

void *tsr__realloc(void *p, size_t n) {
  size_t old = p ? malloc_usable_size(p) : 0;
  if (n > old && take(n - old)) return NULL;
  void *q = realloc(p, n ? n : 1);
  if (n > old) give(n - old);
  if (!q) return NULL;
  give(old);
  (void)take(malloc_usable_size(q));
  return q;
}

void tsr__free(void *p) {
  if (!p) return;
  give(malloc_usable_size(p));
  free(p);
}

void tsr_memory_limit_set(uint64_t bytes) { __atomic_store_n(&g_limit, bytes, __ATOMIC_RELAXED); }
uint64_t tsr_memory_limit(void) { return __atomic_load_n(&g_limit, __ATOMIC_RELAXED); }
uint64_t tsr_memory_in_use(void) { return __atomic_load_n(&g_in_use, __ATOMIC_RELAXED); }
uint64_t tsr_memory_peak(void) { return __atomic_load_n(&g_peak, __ATOMIC_RELAXED); }
uint64_t tsr_memory_refused(void) { return __atomic_load_n(&g_refused, __ATOMIC_RELAXED); }
uint64_t tsr_memory_refused_at(void) { return __atomic_load_n(&g_refused_at, __ATOMIC_RELAXED); }
