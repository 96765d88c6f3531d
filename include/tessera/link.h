/* Link: the whole deterministic run and its folder. tsr_link_run ingests
 * every source of a run configuration, applies the ordered exact rules
 * (step-down, see docs/design/linking.md) and clusters the links into
 * patients (tsr_run_linkage, tessera/run.h), then writes the run folder
 * (tsr_run_write):
 *   links.parquet     one row per input record: source, record_id,
 *                     patient_id, rule (NULL when unlinked), match_weight
 *                     (NULL for deterministic links), linked
 *   patients.parquet  patient_id, n_records, n_<source> per source,
 *                     first_seen, last_seen (event dates)
 *   report.json       counts per rule and source, match rates by the values
 *                     of code fields, largest blocks, cluster checks, time
 *                     and peak memory per stage
 *   report.html       the same for people: one self-contained page with
 *                     inline SVG charts
 *   rejects.csv       rows that could not be used
 *   links.csv, patients.csv when output.csv is set (spreadsheet-safe text)
 *   manifest.json     every file above with its SHA-256, the config's
 *                     SHA-256, the version and the command line
 * The folder changes only when the whole run succeeds: files are written
 * into a staging folder inside it and moved into place at the end; a failed
 * run leaves the folder as it found it (and removes it if the run created
 * it). A folder holding another run's files is refused unless overwrite is
 * set; then the old run's files are all replaced or removed.
 * The output is byte-identical for any thread count. */
#ifndef TSR_LINK_H
#define TSR_LINK_H

#include "tessera/common.h"
#include "tessera/config.h"
#include "tessera/run.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tsr_link_opts {
  int threads;              /* 0 = all cores (default) */
  const char *out_dir;      /* created if missing */
  int overwrite;            /* replace another run's files in out_dir; default 0 (refuse) */
  int argc;                 /* the command line, recorded in manifest.json; default 0 */
  const char *const *argv;
  const char *model;        /* probabilistic: a model file to use instead of training (tessera train) */
  double threshold;         /* probabilistic: > 0 overrides the config's threshold */
  const char *model_out;    /* probabilistic: also save the model the run used here (NULL: not) */
} tsr_link_opts;

TSR_API void tsr_link_opts_init(tsr_link_opts *o);

typedef struct tsr_link_summary {
  uint64_t records;  /* rows stored, all sources */
  uint64_t rejected; /* rows rejected */
  uint64_t linked;   /* records in a cluster of two or more */
  uint64_t patients; /* clusters, singletons included */
  double seconds;
  uint64_t peak_rss;
} tsr_link_summary;

/* Runs the link into opts->out_dir. cfg must have a link section (or a
 * preset applied with tsr_config_use_preset). summary may be NULL. Returns 0
 * or a TSR_E* code with err filled; TSR_EINVAL names the folder when it
 * holds another run's files and overwrite is not set. */
TSR_API int tsr_link_run(const tsr_config *cfg, const tsr_link_opts *opts, tsr_link_summary *summary,
                         tsr_error *err);

/* Writes a linkage's tables and report into dir (which must exist):
 * links.parquet, patients.parquet, their CSV copies when the config's
 * output.csv is set, report.json and report.html. Adds the "output" and
 * "report" stages to L. Each file appears under its name only when complete;
 * on error the files written so far stay (tsr_link_run writes into a staging
 * folder and discards it). */
TSR_API int tsr_run_write(tsr_linkage *L, const char *dir, tsr_error *err);

#ifdef __cplusplus
}
#endif
#endif
