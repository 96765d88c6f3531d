/* Synthetic GP + hospital (HES-like) data with ground truth.
 *
 * tsr_generate() writes, into opts->out_dir:
 *   gp.csv, hes_apc.csv                  the two sources, with realistic errors
 *   truth.csv                            source, record_id, patient_id per row
 *   truth_spells.csv                     epikey, spell_id, cips_id
 *   truth_patients.csv                   each patient's true demographics
 *   optouts_type1.csv, optouts_ndoo.csv  NHS numbers of objecting patients
 *   link.json                            a run configuration for these files
 *   generate_summary.json                counts and realised error rates
 * Every file is written under a temporary name and renamed when complete.
 *
 * Determinism: the output is a pure function of (patients, seed, period,
 * parameters); the thread count changes only the speed. Memory does not grow
 * with the number of patients: work streams through in fixed-size chunks.
 *
 * Parameters (rates, means, shares) are named like "err.hes.nhs_missing";
 * tsr_gen_param_* enumerate them with their defaults and meaning. */
#ifndef TSR_GENERATE_H
#define TSR_GENERATE_H

#include "tessera/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_GEN_MAX_PARAMS 64

typedef struct tsr_gen_opts {
  uint64_t patients;       /* required, 1 .. 90,000,000 */
  uint64_t seed;           /* default 1 */
  const char *out_dir;     /* required; created if missing */
  int threads;             /* 0 = all available cores */
  int32_t period_start;    /* data period, days since 1970; default 2015-04-01 */
  int32_t period_end;      /* default 2025-03-31 (also the reference "today") */
  char scenario[32];       /* name of the scenario the params came from */
  double param[TSR_GEN_MAX_PARAMS]; /* indexed as tsr_gen_param_*; use tsr_gen_opts_set */
} tsr_gen_opts;

/* Fills defaults: the "default" scenario, seed 1, all cores. */
TSR_API void tsr_gen_opts_init(tsr_gen_opts *o);
/* Resets every parameter to the named scenario's values: "default", "clean"
 * (no errors) or "hard" (more errors, few NHS numbers). TSR_EINVAL with a
 * message listing the scenarios if the name is unknown. */
TSR_API int tsr_gen_opts_scenario(tsr_gen_opts *o, const char *name, tsr_error *err);
/* Sets one parameter by name from text, e.g. ("err.hes.nhs_missing", "0.1").
 * Rates must lie in [0, 1]; TSR_EINVAL names the key and the expectation. */
TSR_API int tsr_gen_opts_set(tsr_gen_opts *o, const char *key, const char *value, tsr_error *err);

/* Parameter catalogue, for help text and documentation. */
TSR_API size_t tsr_gen_param_count(void);
/* Returns 0 and fills the out-pointers (each may be NULL), or TSR_EINVAL. */
TSR_API int tsr_gen_param_info(size_t i, const char **key, const char **desc, double *default_value,
                               int *is_error_rate);

/* What a run produced. Arrays are indexed by parameter index; for error-rate
 * parameters, events[i] of eligible[i] records received that corruption, so
 * the realised rate is events[i] / eligible[i]. */
typedef struct tsr_gen_summary {
  uint64_t patients, gp_rows, hes_rows, spells, cips, households, communal_patients, twins;
  uint64_t optout_type1, optout_ndoo;
  uint64_t bytes_written;
  double seconds;
  uint64_t events[TSR_GEN_MAX_PARAMS];
  uint64_t eligible[TSR_GEN_MAX_PARAMS];
} tsr_gen_summary;

/* Runs the generator. summary may be NULL. Returns 0 or a TSR_E* code with
 * err filled. Uses up to opts->threads OpenMP threads; call from one thread. */
TSR_API int tsr_generate(const tsr_gen_opts *opts, tsr_gen_summary *summary, tsr_error *err);

#ifdef __cplusplus
}
#endif
#endif
