/* Run: the pipeline driver and the linkage result it hands forward.
 *
 * tsr_run_linkage ingests every source of a run configuration, applies the
 * link rules and clusters the records into patients. What it produces, a
 * tsr_linkage, is the one thing the stages after it read: the run folder's
 * tables and report (tessera/link.h), evaluate, and later episodes and
 * extracts. None of them needs the block or cluster stages' internals.
 *
 * DESIGN
 *   Records have a global id (gid): sources in config order, rows in file
 *   order within each, so source s holds gids
 *   [tsr_linkage_source_base(L, s), tsr_linkage_source_base(L, s + 1)).
 *
 *     per record (gid)       patient id   deciding step   match weight
 *                            int64 1..P   u8 0 / 1..R     double (NULL array
 *                                                         while every step is
 *                                                         deterministic)
 *     per patient (pid - 1)  records, records per source, first/last seen,
 *                            smallest/largest valid NHS number
 *
 *   Patient ids number the clusters by their smallest gid (1, 2, ...), so
 *   they depend only on which records are linked, never on thread count.
 *
 * Ownership and threads: a tsr_linkage owns its stores and arrays; the
 * config passed to tsr_run_linkage must outlive it. A finished linkage is
 * read-only (except tsr_linkage_add_stage, which one thread calls) and may be
 * read from any number of threads. */
#ifndef TSR_RUN_H
#define TSR_RUN_H

#include <stdint.h>

#include "tessera/common.h"
#include "tessera/config.h"
#include "tessera/ingest.h"
#include "tessera/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tsr_run_opts {
  int threads;          /* 0 = all cores (the default) */
  tsr_rejects *rejects; /* where ingest writes rejected rows; NULL (default) counts them only */
  const char *model;    /* probabilistic: a model file (tessera train) instead of training in the run */
  double threshold;     /* probabilistic: > 0 overrides the config's match-probability threshold */
  int no_precollapse;   /* probabilistic: score every pair, even of records identical on every compared
                           field (for tests and benchmarks; the result is the same) */
} tsr_run_opts;

TSR_API void tsr_run_opts_init(tsr_run_opts *o);

/* The result of a link run. Opaque; read through the accessors below. */
typedef struct tsr_linkage tsr_linkage;

/* Ingests, links and clusters. cfg must have a link section with rules (or
 * a preset applied with tsr_config_use_preset); opts may be NULL (defaults).
 * On success *out owns a new linkage (free with tsr_linkage_free). Returns 0
 * or a TSR_E* code with err filled (ingest's errors, TSR_ECONFIG without
 * rules, TSR_ELIMIT above 4,294,967,294 records, TSR_ENOMEM). */
TSR_API int tsr_run_linkage(const tsr_config *cfg, const tsr_run_opts *opts, tsr_linkage **out, tsr_error *err);
/* NULL allowed. */
TSR_API void tsr_linkage_free(tsr_linkage *L);

/* --- sources and stores ------------------------------------------------------ */
TSR_API const tsr_config *tsr_linkage_config(const tsr_linkage *L);
TSR_API uint32_t tsr_linkage_nsources(const tsr_linkage *L);
TSR_API const char *tsr_linkage_source_name(const tsr_linkage *L, uint32_t s);
TSR_API const tsr_store *tsr_linkage_store(const tsr_linkage *L, uint32_t s);
TSR_API const tsr_ingest_stats *tsr_linkage_ingest_stats(const tsr_linkage *L, uint32_t s);
/* First gid of source s; s == nsources gives tsr_linkage_records(L). */
TSR_API uint64_t tsr_linkage_source_base(const tsr_linkage *L, uint32_t s);
/* The source holding gid (gid < records). */
TSR_API uint32_t tsr_linkage_source_of(const tsr_linkage *L, uint64_t gid);
/* The resolved worker thread count the run used (never 0). */
TSR_API int tsr_linkage_threads(const tsr_linkage *L);

/* --- per record --------------------------------------------------------------- */
TSR_API uint64_t tsr_linkage_records(const tsr_linkage *L);
/* [records] patient ids, 1..tsr_linkage_patients(L). */
TSR_API const int64_t *tsr_linkage_patient_ids(const tsr_linkage *L);
/* [records] deciding step: 0 = not linked by any step, else the 1-based rule
 * (tsr_linkage_rule_name) that matched the record; tsr_linkage_nrules + 1
 * ("probabilistic") for a record the probabilistic stage linked. */
TSR_API const uint8_t *tsr_linkage_steps(const tsr_linkage *L);
/* [records] match weights: for a record the probabilistic stage linked, the
 * weight of its strongest accepted edge; NaN where a record has none. NULL
 * when the run had no probabilistic stage. */
TSR_API const double *tsr_linkage_weights(const tsr_linkage *L);

/* --- probabilistic stage -------------------------------------------------------- */
/* The scored pairs at or above the config's pairs_floor, sorted by (a, b):
 * gids a < b, the 0-based blocking rule (cfg->prob.blocking), the agreement
 * pattern (levels: tsr_linkage_pair_level), the match weight (log2 Bayes
 * factor with the prior and tf adjustments) and whether the clustering
 * accepted the pair as a link. All NULL / 0 without a probabilistic stage. */
typedef struct tsr_pairs_view {
  uint64_t n;
  const uint32_t *a, *b;
  const uint16_t *rule;
  const uint32_t *pattern;
  const double *weight;
  const uint8_t *linked;
  uint32_t ncmp; /* comparisons (cfg->prob.cmp) */
} tsr_pairs_view;
TSR_API void tsr_linkage_pairs(const tsr_linkage *L, tsr_pairs_view *out);
/* Level of comparison k (0-based) in a pattern. */
TSR_API uint32_t tsr_linkage_pair_level(const tsr_linkage *L, uint32_t pattern, uint32_t k);
/* Match probability of a weight: 1 / (1 + 2^-w). */
TSR_API double tsr_match_probability(double weight);
struct json_t;
/* report.json's "probabilistic" object (docs/config.md, "tessera link"), new reference;
 * *out = NULL without a probabilistic stage. */
TSR_API int tsr_linkage_prob_json(const tsr_linkage *L, struct json_t **out, tsr_error *err);
/* The model the run used, as model JSON (docs/config.md, "tessera link"): saved to path
 * (temporary name, then renamed), or as text in *text (free with free()). */
TSR_API int tsr_linkage_model_save(const tsr_linkage *L, const char *path, tsr_error *err);
TSR_API int tsr_linkage_model_text(const tsr_linkage *L, char **text, tsr_error *err);
/* The model as a Splink 4 settings JSON (docs/model-json.md), saved to path. */
TSR_API int tsr_linkage_splink_save(const tsr_linkage *L, const char *path, tsr_error *err);

/* --- rules -------------------------------------------------------------------- */
TSR_API uint32_t tsr_linkage_nrules(const tsr_linkage *L);
/* Name of rule k, 1-based as in tsr_linkage_steps (NULL when out of range);
 * k = tsr_linkage_nrules + 1 is "probabilistic" when the run had that stage. */
TSR_API const char *tsr_linkage_rule_name(const tsr_linkage *L, uint32_t k);

#define TSR_RULE_TOP_BLOCKS 10
typedef struct tsr_rule_block {
  uint64_t records; /* records in the block */
  int capped;       /* skipped for exceeding max_block_size */
  char key[512];    /* the key as text, e.g. "nhs_number=4000000020" */
} tsr_rule_block;

/* What one deterministic step did (the report's "rules" entries). */
typedef struct tsr_rule_stats {
  uint64_t eligible;         /* records with a valid key */
  uint64_t blocks;           /* blocks of two or more records */
  uint64_t partitions;
  uint64_t pairs_linked;     /* allowed record pairs newly linked */
  uint64_t records_linked;   /* records matched at this step */
  uint64_t records_linked_by_source[TSR_MAX_SOURCES];
  uint64_t ambiguous_blocks, ambiguous_records;
  uint64_t merged_blocks, vetoed_blocks, capped_blocks, capped_records;
  uint32_t n_top; /* largest blocks, largest first */
  tsr_rule_block top[TSR_RULE_TOP_BLOCKS];
  double seconds_keys, seconds_group, seconds_link;
} tsr_rule_stats;
/* Stats of rule k (1-based), or NULL. */
TSR_API const tsr_rule_stats *tsr_linkage_rule_stats(const tsr_linkage *L, uint32_t k);

/* --- per patient ------------------------------------------------------------------
 * Struct of arrays indexed by patient id - 1. */
typedef struct tsr_patient_facts {
  uint64_t n;                /* patients (clusters, singletons included) */
  uint32_t nsrc;
  const uint32_t *records;   /* [n] records in the cluster */
  const uint32_t *by_source; /* [n * nsrc] records of source s at p * nsrc + s */
  const int32_t *first_seen; /* [n] earliest event date, days since 1970; TSR_DATE_NONE when none */
  const int32_t *last_seen;  /* [n] latest event date; TSR_DATE_NONE when none */
  const uint64_t *nhs_min;   /* [n] smallest valid NHS number; 0 when none */
  const uint64_t *nhs_max;   /* [n] largest; nhs_min != nhs_max means a conflict */
} tsr_patient_facts;
/* 1 when patient p (0-based: patient id - 1) holds two different valid NHS
 * numbers. */
static inline int tsr_patient_nhs_conflict(const tsr_patient_facts *F, uint64_t p) {
  return F->nhs_max[p] != 0 && F->nhs_min[p] != F->nhs_max[p];
}
TSR_API uint64_t tsr_linkage_patients(const tsr_linkage *L);
TSR_API const tsr_patient_facts *tsr_linkage_facts(const tsr_linkage *L);
/* Records in clusters of two or more. */
TSR_API uint64_t tsr_linkage_records_linked(const tsr_linkage *L);

/* --- stage timing ----------------------------------------------------------------- */
typedef struct tsr_stage_time {
  char name[128];          /* "ingest gp", "block and link", "cluster", ... */
  double seconds;
  uint64_t peak_rss_bytes; /* process peak RSS when the stage ended */
} tsr_stage_time;
TSR_API uint32_t tsr_linkage_nstages(const tsr_linkage *L);
TSR_API const tsr_stage_time *tsr_linkage_stage(const tsr_linkage *L, uint32_t i);
/* Records a later stage (output, report, ...) that started at t0 (seconds of
 * the same monotonic clock as tsr_linkage_elapsed) and ends now. Returns 0 or
 * TSR_ENOMEM. One thread at a time. */
TSR_API int tsr_linkage_add_stage(tsr_linkage *L, const char *name, double t0);
/* Seconds on a monotonic clock: now, and since tsr_run_linkage began. */
TSR_API double tsr_run_clock(void);
TSR_API double tsr_linkage_elapsed(const tsr_linkage *L);

#ifdef __cplusplus
}
#endif
#endif
