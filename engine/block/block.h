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

/* Whether mode allows a pair of two records, from the same source or from
 * two different ones: link wants cross-source pairs, dedupe within-source
 * pairs, link_and_dedupe any. The one statement of this rule: pair emission
 * (block.c) and the step-down linker (steps.c) both ask it. */
static inline int tsr__mode_allows(tsr_link_mode mode, int same_source) {
  return mode == TSR_MODE_LINK ? !same_source : mode == TSR_MODE_DEDUPE ? same_source : 1;
}

/* Keys of rule r for every record into keys[total]. A record gets key 0
 * when its source is outside the rule (r->source_mask) or outside the run
 * (run_mask: sources taking part, bit s for source s), when exclude is set
 * and exclude[gid] != 0, or when a part is missing. threads: 0 = all cores. */
int tsr__rule_keys(const tsr__recset *rs, const tsr_rule_cfg *r, uint64_t run_mask, const uint8_t *exclude,
                   uint64_t *keys, int threads, tsr_error *err);

/* The norm() key function's text: ASCII letters upper-cased, every other
 * ASCII byte that is not a digit folded to a space, bytes >= 0x80 kept,
 * runs of spaces folded to one, trimmed. Writes at most cap - 1 bytes and a
 * terminating NUL into out (cap >= 1); returns the length written. */
size_t tsr__norm_text(const char *s, size_t n, char *out, size_t cap);
/* The norm() key of s[0..n): a non-zero 64-bit hash of the whole
 * normalised text (no length limit, no allocation), or 0 when it is empty. */
uint64_t tsr__norm_key(const char *s, size_t n);

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

/* threads: 0 = all cores. */
int tsr__group(const uint64_t *keys, uint64_t n, int threads, tsr__blocks *out, tsr_error *err);
void tsr__blocks_free(tsr__blocks *b);

/* Candidate pairs of a list of blocking rules, handed over in batches.
 *
 * A pair is emitted by the first rule it satisfies only: rule k skips a pair
 * whose keys agree on an earlier rule (both keys valid and equal), so
 * overlapping rules need no global de-duplication set. Pairs follow mode
 * (tsr__mode_allows), with a < b (global record ids). Blocks over max_block
 * records are skipped and counted (their pairs are not offered by a later
 * rule either).
 *
 * BATCH HAND-OFF (docs/design/linking.md)
 *   Each worker thread fills its own batch, struct of arrays:
 *
 *     a[0..n)     u32  first record (gid), a[i] < b[i]
 *     b[0..n)     u32  second record (gid)
 *     rule[0..n)  u16  0-based index of the rule that emitted the pair
 *
 *   and hands it to fn when it is full (TSR__PAIR_BATCH_CAP pairs), and once
 *   more, partial, when the thread's share of a rule's blocks is done.
 *   Thread rules for fn:
 *     - fn runs on the worker threads, many at once, with the worker's
 *       number thread in [0, tsr__threads(threads)). Calls with the same
 *       thread number never overlap, so per-thread state indexed by it needs
 *       no lock; anything shared needs one (or atomics).
 *     - the batch belongs to the block stage: read-only, valid only during
 *       the call; copy what must outlive it. fn must not call back into the
 *       block stage.
 *     - every batch holds 1..TSR__PAIR_BATCH_CAP pairs. Which batch a pair
 *       travels in, and the order of batches, depend on thread timing; the
 *       set of pairs does not. A consumer whose result must not depend on
 *       the thread count must not depend on that order either.
 *   fn may be NULL: count only. */
#define TSR__PAIR_BATCH_CAP 8192 /* 80 KiB a batch: a, b and rule stay in L2 while a consumer scores them */

typedef struct tsr__pair_batch {
  uint32_t n; /* pairs held, 1..TSR__PAIR_BATCH_CAP */
  uint32_t a[TSR__PAIR_BATCH_CAP];
  uint32_t b[TSR__PAIR_BATCH_CAP];
  uint16_t rule[TSR__PAIR_BATCH_CAP];
} tsr__pair_batch;

typedef void (*tsr__pair_batch_fn)(void *ctx, int thread, const tsr__pair_batch *batch);

typedef struct tsr__rule_pairs {
  uint64_t pairs;          /* emitted by this rule */
  uint64_t earlier;        /* pairs in its blocks already emitted by an earlier rule */
  uint64_t blocks, eligible;
  uint64_t capped_blocks, capped_pairs; /* blocks over max_block, skipped; the pairs in them the mode allows */
  uint64_t max_block;
  uint32_t max_block_first; /* smallest gid of the largest block */
} tsr__rule_pairs;

/* rules: nrules (at most 65,535) rules; source_mask: the sources taking
 * part; out: nrules entries, filled. threads: 0 = all cores. Returns 0 or a
 * negative TSR_E* code (err filled). */
int tsr__block_pairs(const tsr__recset *rs, const tsr_rule_cfg *rules, uint32_t nrules, tsr_link_mode mode,
                     uint64_t source_mask, uint64_t max_block, tsr__pair_batch_fn fn, void *ctx,
                     tsr__rule_pairs *out, int threads, tsr_error *err);

/* The same with exclude (may be NULL): records with exclude[gid] != 0 take
 * part in no rule (a seeded record sample, for training). */
int tsr__block_pairs_ex(const tsr__recset *rs, const tsr_rule_cfg *rules, uint32_t nrules, tsr_link_mode mode,
                        uint64_t source_mask, const uint8_t *exclude, uint64_t max_block, tsr__pair_batch_fn fn,
                        void *ctx, tsr__rule_pairs *out, int threads, tsr_error *err);

/* A rule's key parts as display text for the record gid ("1 | 1990-01-02 |
 * LS1 4AP"), each as its key function sees it (norm() shows the normalised
 * text), into buf; returns length. */
size_t tsr__key_text(const tsr__recset *rs, const tsr_rule_cfg *r, uint64_t gid, char *buf, size_t cap);

#endif
