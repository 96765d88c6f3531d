/* Ingest: reads one configured source (CSV, CSV.gz or CSV.zst) in parallel,
 * validates and standardises every field by its kind, and builds a columnar
 * record store. Rows that cannot be used go to a rejects sink with their
 * line, column and reason; rows read = rows stored + rows rejected.
 *
 * Thread rules: tsr_ingest_source uses up to opts->threads OpenMP threads;
 * call it from one thread. A finished tsr_store is read-only and may be read
 * from any number of threads. */
#ifndef TSR_INGEST_H
#define TSR_INGEST_H

#include <stdio.h>

#include "tessera/common.h"
#include "tessera/config.h"
#include "tessera/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why a row was rejected. X(id, name, description) */
#define TSR_REJECT_LIST(X)                                                         \
  X(FIELD_COUNT, "field_count", "wrong number of fields")                          \
  X(INVALID_UTF8, "invalid_utf8", "invalid UTF-8")                                 \
  X(UNTERMINATED_QUOTE, "unterminated_quote", "quoted field never closes")         \
  X(STRAY_QUOTE, "stray_quote", "quote inside an unquoted field or after a closing quote") \
  X(NUL_BYTE, "nul_byte", "NUL byte in the row")                                   \
  X(OVERLONG, "overlong_record", "record longer than the limit")                   \
  X(REQUIRED_MISSING, "required_missing", "a required field is missing")           \
  X(REQUIRED_INVALID, "required_invalid", "a required field is invalid")

typedef enum tsr_reject_reason {
#define TSR__RJ_ENUM(id, name, desc) TSR_REJECT_##id,
  TSR_REJECT_LIST(TSR__RJ_ENUM)
#undef TSR__RJ_ENUM
  TSR_REJECT_COUNT
} tsr_reject_reason;

TSR_API const char *tsr_reject_name(tsr_reject_reason r);

/* Where rejected rows go: `rejects.csv` in a folder, with the columns
 * source, line, column, reason, detail, raw (the row, truncated to 200 bytes).
 * Written under a temporary name; tsr_rejects_close renames it into place. */
typedef struct tsr_rejects tsr_rejects;
TSR_API int tsr_rejects_open(const char *dir, tsr_rejects **out, tsr_error *err);
/* Commits the file. Frees rj (NULL allowed). */
TSR_API int tsr_rejects_close(tsr_rejects *rj, tsr_error *err);
TSR_API uint64_t tsr_rejects_count(const tsr_rejects *rj);

typedef struct tsr_ingest_opts {
  int threads;             /* 0 = all cores */
  size_t segment_bytes;    /* parse unit; default 4 MiB */
  size_t max_record_bytes; /* longer rows are rejected; default 1 MiB */
  tsr_rejects *rejects;    /* NULL: count rejects without writing them */
  int enforce_reject_limit; /* default 1: fail above the source's max_reject_share */
  int ids_may_repeat;       /* default 0: two rows with one record id are an error (TSR_EPARSE naming
                               the id and both lines). 1 for files whose id is unique only with
                               another column, such as evaluate's truth file (source, record_id) */
} tsr_ingest_opts;

TSR_API void tsr_ingest_opts_init(tsr_ingest_opts *o);

typedef struct tsr_ingest_stats {
  uint64_t rows_read, rows_stored, rows_rejected;
  uint64_t rejects[TSR_REJECT_COUNT];
  uint64_t bytes_read;   /* bytes of CSV text (after decompression) */
  uint64_t bytes_file;   /* bytes of the file on disk */
  double seconds_read;   /* reading and decompressing */
  double seconds_parse;  /* parsing and standardising (parallel) */
  double seconds_merge;  /* merging per-thread buffers into the store */
  double seconds_total;
} tsr_ingest_stats;

/* Ingests src into a new store. On success *out owns the store. Fails with
 * TSR_EREJECTS when rejects exceed src->max_reject_share of rows (the rejects
 * are still written), TSR_EPARSE for file-level problems (empty file, a
 * configured column missing from the header, a header name used twice, a
 * record id used twice: err names file, line, column), TSR_EIO (including a
 * truncated .gz or .zst file), TSR_ENOMEM. stats may be NULL. */
TSR_API int tsr_ingest_source(const tsr_source_cfg *src, const tsr_ingest_opts *opts, tsr_store **out,
                              tsr_ingest_stats *stats, tsr_error *err);

/* Per-source profile for `tessera inspect`: rows, rejects by reason,
 * completeness and invalid counts per field, top values, memory and time.
 * Writes human text, or JSON when json is set, to f. */
TSR_API int tsr_store_profile(const tsr_store *s, const tsr_ingest_stats *st, int json, int top_n, FILE *f);

/* Field quality, for the run driver's warning "field X of source S is
 * mostly missing or invalid" (printed also under -q). When more than half of
 * the store's rows hold no usable value in `field` (canonical field name:
 * empty, a null token, invalid, or a pseudo-postcode), writes one line to
 * buf (cap bytes, always NUL-terminated) and returns 1: the counts, the
 * likely cause and up to three example invalid values with their lines, e.g.
 *   field dob of source gp is mostly missing or invalid: 39175 of 50578 rows
 *   (39175 invalid, 0 empty); 39175 are dates before 1895-01-01, outside
 *   1895-01-01..2025-12-31: set `min`; e.g. line 2: "1888-03-04", ...
 * Otherwise returns 0 with buf "". src is the source's config (for date
 * windows and formats; NULL allowed: the cause is then less precise). A
 * field the store does not have returns 0. Reads a finished store only:
 * any thread. */
TSR_API int tsr_ingest_field_warning(const tsr_source_cfg *src, const tsr_store *store, const char *field,
                                     char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
