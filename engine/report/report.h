/* Internals of the report stage: the run folder's tables (links, patients;
 * Parquet and CSV copies), report.json and report.html, the output-folder
 * guard (refuse, stage, commit) and manifest.json. Everything here reads
 * the linkage result through tessera/run.h only. */
#ifndef TSR_REPORT_H
#define TSR_REPORT_H

#include "tessera/common.h"
#include "tessera/episode.h"
#include "tessera/run.h"

struct json_t;

/* --- tables.c --------------------------------------------------------------------
 * DIR/links.parquet and DIR/patients.parquet, and with csv set their CSV
 * copies links.csv and patients.csv (spreadsheet-safe text: TSR__CSV_PEOPLE). */
int tsr__write_links(const tsr_linkage *L, const char *dir, int csv, tsr_error *err);
int tsr__write_patients(const tsr_linkage *L, const char *dir, int csv, tsr_error *err);
/* DIR/pairs.parquet: the probabilistic stage's pairs at or above the floor
 * (tsr_linkage_pairs), one row per pair in (a, b) order. */
int tsr__write_pairs(const tsr_linkage *L, const char *dir, tsr_error *err);

/* --- report.c --------------------------------------------------------------------- */
/* Which code fields get "match_rates_by" tables: the listed field names when
 * set (an empty list gives none), else every code-kind field of a source. */
typedef struct tsr__rate_fields {
  int set;
  const char *const *names;
  uint32_t n;
} tsr__rate_fields;
/* Builds report.json's document, records the "report" stage in L, and
 * writes DIR/report.json and DIR/report.html. The document opens with
 * "identifiable" (true) and "notice" (tsr__report_notice_identifiable). */
int tsr__report_write(tsr_linkage *L, const tsr__rate_fields *rates, const char *dir, tsr_error *err);
/* The same with report.json's "episodes" object of E (NULL: none); with
 * redact, both files without record values (tsr__report_redact),
 * "identifiable" false and tsr__report_notice_redacted. */
int tsr__report_write_ep(tsr_linkage *L, const tsr__rate_fields *rates, const tsr_episodes *E, int redact,
                         const char *dir, tsr_error *err);
/* Replaces in place every string of a report document that is not a name
 * from the config or the engine (report.c, DESIGN) by tsr__report_redacted. */
void tsr__report_redact(struct json_t *root);
extern const char tsr__report_redacted[];             /* "[redacted]" */
extern const char tsr__report_notice_identifiable[]; /* report.json "notice" of a run without --redact */
extern const char tsr__report_notice_redacted[];     /* ... and with it */

/* --- report_html.c ---------------------------------------------------------------- */
/* Writes DIR/report.html from the report.json document. */
int tsr__report_html(const struct json_t *root, const char *dir, tsr_error *err);
/* Writes root as DIR/NAME (json_dumps flags), with a final newline, in one go. */
int tsr__write_json(const char *dir, const char *name, const struct json_t *root, size_t flags, tsr_error *err);

/* --- report_html_prob.c -------------------------------------------------------------
 * The probabilistic sections of report.html, appended to b from report.json's
 * "probabilistic" object (report_html.c calls it only when the object is
 * there, and puts tsr__html_prob_css in the page's head then). The page's
 * HTML escaper and formatter (report_html.c) are shared with it. */
struct tsr__buf;
void tsr__report_html_prob(struct tsr__buf *b, const struct json_t *prob);
extern const char tsr__html_prob_css[];
void tsr__html_esc(struct tsr__buf *b, const char *s);
void tsr__html_printf(struct tsr__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --- outdir.c ----------------------------------------------------------------------
 * The output folder of a run, changed only by a run that succeeds.
 *
 * DESIGN
 *   open    refuse a folder holding another run's files (manifest.json, any
 *           name in TSR__RUN_FILES, temporary files or a staging folder of a
 *           killed run) unless overwrite; create the folder if missing
 *           (remembering the topmost folder created); make the staging
 *           folder DIR/.tessera-run.XXXXXX (mkdtemp: random name, mode 0700)
 *   write   every file of the run goes into the staging folder
 *   commit  (overwrite) remove the old manifest, then every file of the old
 *           run: its manifest's list, TSR__RUN_FILES and stale temporary
 *           files; move the new files in, manifest.json last; remove the
 *           staging folder
 *   abort   remove the staging folder and every folder the run created,
 *           leaving the folder as it was found */
typedef struct tsr__outdir {
  char dir[1024];
  char stage[1100];
  char created[1024]; /* topmost folder this run created; "" if none */
  int overwrite;
  int staged; /* the staging folder exists */
} tsr__outdir;
int tsr__outdir_open(tsr__outdir *o, const char *dir, int overwrite, tsr_error *err);
int tsr__outdir_commit(tsr__outdir *o, tsr_error *err);
/* Safe to call after a failed open or a commit (does nothing then). */
void tsr__outdir_abort(tsr__outdir *o);
/* 1 when a file name is one of a run's output names (manifest included). */
int tsr__is_run_file(const char *name);

/* --- manifest.c --------------------------------------------------------------------
 * DIR/manifest.json: every file in DIR (the staging folder) with its size
 * and SHA-256, the config's path and SHA-256 (config_sha256: 64 hex digits,
 * or NULL when unknown), the version and the command line. */
int tsr__manifest_write(const char *dir, const char *config_path, const char *config_sha256, int argc,
                        const char *const *argv, tsr_error *err);
/* SHA-256 of a file as 64 hex digits plus NUL into hex; *bytes gets its size. */
int tsr__sha256_file(const char *path, char hex[65], uint64_t *bytes, tsr_error *err);

#endif
