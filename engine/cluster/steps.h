/* Deterministic step-down linkage over the block stage's machinery.
 *
 * SEMANTICS (docs/design/linking.md)
 *   Rules run in order. At step k every record whose step-k key is valid
 *   takes part; records are "matched" once a step has linked them.
 *   In a block (records agreeing on the key):
 *     - records already matched are targets only: a matched record is never
 *       re-resolved, and two matched clusters are never merged;
 *     - if the block's matched records belong to two or more clusters, the
 *       block is ambiguous and nothing in it links at this step;
 *     - otherwise each unmatched record that has an allowed partner in the
 *       block (another source in link mode, the same source in dedupe mode,
 *       anyone in link_and_dedupe) joins the block's cluster, or with the
 *       other unmatched records forms a new one; it is matched at step k.
 *   A rule with merge set instead joins such clusters: every record of the
 *   block with an allowed partner ends in one cluster (for rules strong
 *   enough to overrule earlier ones, e.g. the same NHS number).
 *   With one_to_one (link mode, two sources), matched records leave the
 *   pool, and a block links only when it holds exactly one unmatched record
 *   of each source.
 *   With nhs_veto, a block holding two different valid NHS numbers links
 *   nothing. Blocks larger than max_block_size are skipped and reported.
 * Every decision reads the state at the start of the step and unions run
 * after all decisions, so the result does not depend on the thread count. */
#ifndef TSR_CLUSTER_STEPS_H
#define TSR_CLUSTER_STEPS_H

#include "block/block.h"

#define TSR_TOP_BLOCKS 10

typedef struct tsr__top_block {
  uint64_t size;
  uint32_t first; /* smallest gid in the block */
  uint8_t capped;
} tsr__top_block;

typedef struct tsr__step_stats {
  uint64_t eligible;         /* records with a valid key */
  uint64_t blocks;           /* blocks of two or more records */
  uint64_t capped_blocks, capped_records;
  uint64_t ambiguous_blocks, ambiguous_records; /* unmatched records left by ambiguity */
  uint64_t merged_blocks;    /* merge rules: blocks that joined two or more earlier clusters */
  uint64_t vetoed_blocks;    /* nhs_veto: blocks left alone for holding two valid NHS numbers */
  uint64_t pairs;            /* allowed record pairs newly linked at this step */
  uint64_t linked[TSR_MAX_SOURCES]; /* records matched at this step, per source */
  uint64_t linked_total;
  uint32_t partitions;
  uint32_t threads;          /* worker threads the step ran on */
  tsr__top_block top[TSR_TOP_BLOCKS];
  uint32_t n_top;
  double seconds_keys, seconds_group, seconds_link;
} tsr__step_stats;

/* Runs every rule of l in order. parent (rs->total entries) must be
 * initialised; rule_of[gid] is 0 or the 1-based step that matched the
 * record, and is updated. stats has l->n_rules entries. threads: 0 = all
 * cores. */
int tsr__run_steps(const tsr__recset *rs, const tsr_link_cfg *l, uint32_t *parent, uint8_t *rule_of,
                   tsr__step_stats *stats, int threads, tsr_error *err);

#endif
