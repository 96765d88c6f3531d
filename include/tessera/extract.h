/* Research extracts (docs/extract.md): one finished run, one data-sharing
 * agreement (docs/agreement.md), one release. `tessera extract` is a thin
 * layer over tsr_extract_run.
 *
 * What a release guarantees, by construction:
 *   - no identifier leaves: the agreement cannot name one (its loader
 *     refuses names, NHS numbers, full postcodes, full dates of birth, local
 *     ids, record ids and addresses), and tables are keyed by a per-agreement
 *     pseudonym (HMAC-SHA256 with the agreement's key) in pseudonym order;
 *   - opt-outs are applied to patients after linkage: a patient is opted out
 *     when any record linked to them carries a listed NHS number;
 *   - every release is appended to the hash-chained release register before
 *     the extract folder appears. */
#ifndef TSR_EXTRACT_H
#define TSR_EXTRACT_H

#include <stdint.h>

#include "tessera/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tsr_extract_opts {
  const char *run_dir;       /* a finished `tessera link` folder (manifest.json) */
  const char *agreement;     /* agreement JSON */
  const char *out_dir;       /* the extract folder (staged, then renamed into place) */
  const char *register_path; /* the release register (JSON lines), appended to; required here (the
                                command's default is release_register.jsonl beside out_dir) */
  const char *truth_dir;     /* optional: generated data's folder (truth.csv, truth_patients.csv): measures how
                                many records of truly opted-out patients reach the extract, against the
                                record-level approach, for the summary's method note */
  int threads;               /* 0 = all cores */
  int overwrite;             /* replace an earlier extract in out_dir */
  int argc;                  /* the command line, for the manifest */
  const char *const *argv;
} tsr_extract_opts;

TSR_API void tsr_extract_opts_init(tsr_extract_opts *o);

typedef struct tsr_extract_summary {
  char release_id[64];
  uint64_t patients;      /* patients released */
  uint64_t rows;          /* rows over every record-level table */
  uint64_t optout_patients, optout_records; /* removed by the opt-out lists (both kinds) */
  double seconds;
} tsr_extract_summary;

/* Checks the run (manifest, config and input SHA-256), loads the agreement,
 * applies opt-outs and the cohort, pseudonymises, generalises, measures
 * k-anonymity, suppresses small numbers in the aggregates, writes the
 * extract and registers the release. A failure leaves out_dir and the
 * register as they were (the register is appended only once every file is
 * written). */
TSR_API int tsr_extract_run(const tsr_extract_opts *o, tsr_extract_summary *s, tsr_error *err);

#ifdef __cplusplus
}
#endif
#endif
