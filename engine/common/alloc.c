/* The engine's allocation hooks. Today they forward to the C allocator, which
 * the tessera binary backs with jemalloc; keeping one choke point lets a host
 * or a memory limit intercept every allocation later. */
#include <stdlib.h>

#include "common/common_internal.h"

void *tsr__malloc(size_t n) { return malloc(n ? n : 1); }
void *tsr__calloc(size_t count, size_t size) { return calloc(count ? count : 1, size ? size : 1); }
void *tsr__realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }
void tsr__free(void *p) { free(p); }
