/* The release register: an append-only, hash-chained record of every
 * research extract released, one JSON object per line, and its quarterly
 * publication (CSV and one self-contained HTML page). docs/register.md
 * describes the format for anyone checking a register without Tessera.
 *
 * DESIGN
 *   line i (1-based) of the file, each ending in "\n":
 *
 *     {"data_category":..,"prev_sha256":"<sha256 of line i-1>","reference":"DARS-NIC-000001",
 *      "release_id":"DARS-NIC-000001-00000i","seq":i,"sha256":"<own>","time":"2026-07-01T09:30:00Z",...}
 *
 *   - every line is exactly json_dumps(entry, JSON_SORT_KEYS | JSON_COMPACT
 *     | JSON_ENSURE_ASCII): one canonical spelling, so any byte changed,
 *     whitespace included, is caught;
 *   - sha256 = SHA-256 (hex, lower case) of that same serialisation of the
 *     entry without its "sha256" key;
 *   - prev_sha256 = the previous line's sha256; 64 zeros on line 1;
 *   - seq = the line number; release_id = reference "-" seq (6 digits).
 *
 *   append: open (O_APPEND, created 0644) -> flock(LOCK_EX) -> read and
 *   verify the whole file -> build entry seq n+1 on the last sha256 ->
 *   one write() -> fsync -> unlock. A damaged register is never extended.
 *   verify and report read under flock(LOCK_SH), so they never see half an
 *   append. flock serialises processes on one machine; see docs/register.md
 *   for network file systems.
 *
 * Thread rules: every function may be called from any thread or process at
 * once; the file lock orders appends. */
#ifndef TSR_EXTRACT_REGISTER_H
#define TSR_EXTRACT_REGISTER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tessera/common.h"

/* Capacity a caller should give for a release id (longer references are
 * refused with TSR_ELIMIT before anything is written). */
#define TSR__RELEASE_ID_CAP 64

/* Appends one entry to the register at path (created, mode 0644 & ~umask,
 * when missing). fields: the caller's JSON object (reference, recipient,
 * purpose, legal_basis, data_category, datasets[], fields{table:[..]},
 * patients, rows, opt_outs{applied, type1_patients, type1_records,
 * national_patients, national_records}, files[{name, sha256}],
 * run_manifest_sha256, tessera_version); it is copied, never changed.
 * "reference" is required (a non-empty printable ASCII string); the keys
 * seq, release_id, time, prev_sha256 and sha256 belong to the register and
 * are refused, and so are real numbers anywhere (their text is not portable
 * between JSON libraries; use integers or strings). The register adds
 * seq, release_id, time (UTC, "2026-07-01T09:30:00Z"), prev_sha256 and
 * sha256. release_id (out, cap >= TSR__RELEASE_ID_CAP) receives the new
 * release id. Returns 0; TSR_EINVAL (bad fields), TSR_ELIMIT (release id
 * longer than cap), TSR_EPARSE (the register does not verify: nothing is
 * appended, err names the first bad entry), TSR_EIO, TSR_ENOMEM. */
int tsr__register_append(const char *path, const json_t *fields, char *release_id, size_t cap, tsr_error *err);
/* The same at a given time (seconds since 1970, UTC): for tests. */
int tsr__register_append_at(const char *path, const json_t *fields, int64_t unix_time, char *release_id,
                            size_t cap, tsr_error *err);

/* Checks every line (see DESIGN). 0 when all verify, with *entries the
 * count (entries may be NULL). Otherwise TSR_EPARSE with err naming the
 * register, the line and the first bad entry (seq and release_id when the
 * line parses) and what is wrong; TSR_EIO when the file cannot be read.
 * An empty file is a register of 0 entries. */
int tsr__register_verify(const char *path, uint64_t *entries, tsr_error *err);
/* The same, also giving the head: the last entry's sha256 (64 zeros for an
 * empty register), which publications quote so that a rewritten chain can
 * be told from the published one. head may be NULL. */
int tsr__register_verify_head(const char *path, uint64_t *entries, char head[65], tsr_error *err);

/* 0 when quarter is "YYYYQ1".."YYYYQ4" (year 1970-9999), setting *year and
 * *q; else TSR_EINVAL with err saying what was expected. */
int tsr__register_quarter_parse(const char *quarter, int *year, int *q, tsr_error *err);

/* The quarterly publication: the entries whose time falls in the quarter
 * (e.g. "2026Q3": 2026-07-01T00:00:00Z to 2026-09-30T23:59:59Z), in
 * register order, written as OUT_DIR/release_register_<quarter>.csv and
 * .html (both staged under temporary names, then renamed; OUT_DIR created
 * when missing). Columns: release id, release date, agreement reference,
 * recipient, purpose, legal basis, data category, datasets, opt-outs
 * applied (yes/no with counts), patients, rows. A register that does not
 * verify is refused (TSR_EPARSE, nothing written). *releases (NULL allowed)
 * receives the number of entries in the quarter. */
int tsr__register_report(const char *path, const char *quarter, const char *out_dir, tsr_error *err);
int tsr__register_report_n(const char *path, const char *quarter, const char *out_dir, uint64_t *releases,
                           uint64_t *entries, tsr_error *err);

#endif
