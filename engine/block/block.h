/* Block stage: exact-agreement keys per record, radix partitioning and
 * per-partition hash tables that gather records sharing a key into blocks.
 *
 * Records of all sources are numbered globally: gid = base[source] + row,
 * sources in config order. A rule's key is a 64-bit XXH3 of its parts'
 * values; 0 means "not eligible" (a part is missing or invalid, the source
 * is outside the rule, or the caller excluded the record).
 *
 * DESIGN (one rule)
 *   1. keys: one u64 per record, in parallel over fixed row ranges.
 *   2. partition: P = 2^b partitions by the key's top bits. Each thread
 *      histograms its own contiguous range of gids; prefix sums over
 *      (partition, thread) give every thread its own write cursors, so the
 *      scatter is lock-free and keeps gid order inside each partition.
 *   3. group: each partition (owned by one thread) is small enough for an
 *      L2-resident open-addressing table keyed by the key; blocks are
 *      numbered in first-seen order inside their partition, partitions in
 *      order. The result is therefore identical for any thread count.
 * Keys are 64-bit hashes: two different values collide with probability
 * about K^2 / 2^65 for K distinct keys (below 1e-4 at 30M keys); blocking on
 * a collision only offers an extra pair. */
#ifndef TSR_BLOCK_H
#define TSR_BLOCK_H

#include <stdint.h>

#include "tessera/config.h"
#include "tessera/ingest.h"

typedef struct tsr__recset {
  uint32_t nsrc;
  const tsr_store *const *stores; /* nsrc, in config order */
  uint64_t base[TSR_MAX_SOURCES + 1];
  uint64_t total;
} tsr__recset;

void tsr__recset_init(tsr__recset *rs, const tsr_store *const *stores, uint32_t nsrc);
static inline uint32_t tsr__recset_src(const tsr__recset *rs, uint64_t gid) {
  uint32_t s = 0;
  while (gid >= rs->base[s + 1]) s++;
  return s;
}

/* Keys of rule r for every record into keys[total]. exclude (NULL = none):
 * records with exclude[gid] != 0 get key 0. */
int tsr__rule_keys(const tsr__recset *rs, const tsr_rule_cfg *r, const uint8_t *exclude, uint64_t *keys, int threads,
                   tsr_error *err);

/* Blocks of two or more records. members holds gids, block b is
 * members[start[b] .. start[b+1]), in ascending gid order. */
typedef struct tsr__blocks {
  uint64_t n;        /* blocks */
  uint64_t *start;   /* n + 1 */
  uint32_t *members; /* start[n] */
  uint64_t *key;     /* n */
  uint64_t eligible; /* records with a key */
  uint32_t partitions;
} tsr__blocks;

int tsr__group(const uint64_t *keys, uint64_t n, int threads, tsr__blocks *out, tsr_error *err);
void tsr__blocks_free(tsr__blocks *b);

/* Candidate pairs of a list of blocking rules. A pair is emitted by the
 * first rule it satisfies only: rule k skips a pair whose keys agree on an
 * earlier rule (both keys valid and equal), so overlapping rules need no
 * global de-duplication set. Pairs follow mode (cross-source for link,
 * within a source for dedupe, any for link_and_dedupe), with a < b. Blocks
 * over max_block records are skipped and counted. fn (may be NULL: count
 * only) is called from many threads at once, with the OpenMP thread number;
 * the order of calls is not fixed, the set of pairs is. */
typedef void (*tsr__pair_fn)(void *ctx, int thread, uint32_t rule, uint32_t a, uint32_t b);

typedef struct tsr__rule_pairs {
  uint64_t pairs;          /* emitted by this rule */
  uint64_t earlier;        /* pairs in its blocks already emitted by an earlier rule */
  uint64_t blocks, eligible;
  uint64_t capped_blocks, capped_pairs;
  uint64_t max_block;
  uint32_t max_block_first; /* smallest gid of the largest block */
} tsr__rule_pairs;

int tsr__block_pairs(const tsr__recset *rs, const tsr_rule_cfg *rules, uint32_t nrules, tsr_link_mode mode,
                     uint64_t source_mask, uint64_t max_block, tsr__pair_fn fn, void *ctx, tsr__rule_pairs *out,
                     int threads, tsr_error *err);

/* A rule's key parts as display text for the record gid ("1 | 1990-01-02 |
 * LS1 4AP"), into buf; returns length. */
size_t tsr__key_text(const tsr__recset *rs, const tsr_rule_cfg *r, uint64_t gid, char *buf, size_t cap);

#endif
