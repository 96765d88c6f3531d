/* Arena allocator: bump allocation from chained blocks, freed all at once.
 * Stages and batches own arenas; nothing allocated from one is freed alone.
 *
 * DESIGN
 *   arena -> [block 2 | used ....... free] -> [block 1 | full] -> NULL
 * A request that does not fit starts a new block of max(block_size, request).
 * reset() keeps the first block's memory for reuse and frees the rest.
 * Not thread-safe: one arena per thread or per batch. */
#ifndef TSR_ARENA_H
#define TSR_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct tsr__arena_block tsr__arena_block;
typedef struct tsr__arena {
  tsr__arena_block *head;
  size_t block_size;
  size_t bytes_reserved; /* sum of block capacities */
} tsr__arena;

/* block_size 0 means 1 MiB. Never fails (allocation happens lazily). */
void tsr__arena_init(tsr__arena *a, size_t block_size);
/* Returns memory aligned to `align` (a power of two <= 64), or NULL on OOM. */
void *tsr__arena_alloc(tsr__arena *a, size_t n, size_t align);
/* Copies n bytes and NUL-terminates; NULL on OOM. */
char *tsr__arena_strndup(tsr__arena *a, const char *s, size_t n);
/* Drops everything allocated; keeps one block for reuse. */
void tsr__arena_reset(tsr__arena *a);
void tsr__arena_free(tsr__arena *a);
/* Bytes reserved from the system (capacity, not use). */
size_t tsr__arena_bytes(const tsr__arena *a);

#endif
