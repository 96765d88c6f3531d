/* Link: the whole deterministic run. Ingests every source of a run
 * configuration, applies the ordered exact rules (step-down, see
 * docs/design/linking.md), clusters the links into patients and writes the
 * run folder:
 *   links.parquet     one row per input record: source, record_id,
 *                     patient_id, rule (NULL when unlinked), match_weight
 *                     (NULL for deterministic links), linked
 *   patients.parquet  patient_id, n_records, n_<source> per source,
 *                     first_seen, last_seen (event dates)
 *   report.json       counts per rule and source, match rates by provider
 *                     and practice, largest blocks, cluster checks, time and
 *                     peak memory per stage
 *   report.html       the same for people: one self-contained page with
 *                     inline SVG charts
 *   rejects.csv       rows that could not be used
 *   links.csv, patients.csv when output.csv is set.
 * Every file is written under a temporary name and renamed when complete.
 * The output is byte-identical for any thread count. */
#ifndef TSR_LINK_H
#define TSR_LINK_H

#include "tessera/common.h"
#include "tessera/config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tsr_link_opts {
  int threads;         /* 0 = all cores */
  const char *out_dir; /* created if missing */
} tsr_link_opts;

typedef struct tsr_link_summary {
  uint64_t records;  /* rows stored, all sources */
  uint64_t rejected; /* rows rejected */
  uint64_t linked;   /* records in a cluster of two or more */
  uint64_t patients; /* clusters, singletons included */
  double seconds;
  uint64_t peak_rss;
} tsr_link_summary;

/* Runs the link. cfg must have a link section (or a preset applied with
 * tsr_config_use_preset). summary may be NULL. Returns 0 or a TSR_E* code
 * with err filled. */
TSR_API int tsr_link_run(const tsr_config *cfg, const tsr_link_opts *opts, tsr_link_summary *summary,
                         tsr_error *err);

#ifdef __cplusplus
}
#endif
#endif
