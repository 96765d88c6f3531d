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
 * (tsr_linkage_rule_name) that matched the record. */
TSR_API const uint8_t *tsr_linkage_steps(const tsr_linkage *L);
/* [records] match weights, NaN where a record has none; NULL when every
 * decision was deterministic (today always). */
TSR_API const double *tsr_linkage_weights(const tsr_linkage *L);

/* --- rules -------------------------------------------------------------------- */
TSR_API uint32_t tsr_linkage_nrules(const tsr_linkage *L);
/* Name of rule k, 1-based as in tsr_linkage_steps (NULL when out of range). */
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
