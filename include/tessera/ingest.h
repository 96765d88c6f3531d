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

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_DATE_NONE INT32_MIN /* a missing date */
#define TSR_INT_NONE INT64_MIN  /* a missing integer */

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

/* One source's records, column by column. Opaque; read through tsr_column. */
typedef struct tsr_store tsr_store;

/* Ingests src into a new store. On success *out owns the store. Fails with
 * TSR_EREJECTS when rejects exceed src->max_reject_share of rows (the rejects
 * are still written), TSR_EPARSE for file-level problems (empty file, a
 * configured column missing from the header: err names file, line, column),
 * TSR_EIO, TSR_ENOMEM. stats may be NULL. */
TSR_API int tsr_ingest_source(const tsr_source_cfg *src, const tsr_ingest_opts *opts, tsr_store **out,
                              tsr_ingest_stats *stats, tsr_error *err);
TSR_API void tsr_store_free(tsr_store *s);

TSR_API uint64_t tsr_store_rows(const tsr_store *s);
/* Bytes held by the store (all arrays, strings and dictionaries). */
TSR_API size_t tsr_store_bytes(const tsr_store *s);
/* Bytes per row of fixed-width arrays only (no string bytes). */
TSR_API double tsr_store_fixed_bytes_per_row(const tsr_store *s);
TSR_API const char *tsr_store_source(const tsr_store *s);
/* A 64-bit digest of every stored value, in row order: equal stores have
 * equal digests (used to check that thread count never changes the result). */
TSR_API uint64_t tsr_store_digest(const tsr_store *s);

/* A read-only view of one column. Arrays have tsr_store_rows() entries
 * (str_off has rows + 1). Which arrays are set depends on the kind:
 *   nhs_number     u64 (0 = missing)
 *   postcode       u64 packed: characters without the space, left-aligned,
 *                  big-endian (0 = missing; ZZ99 counts as missing, n_pseudo)
 *   date           i32 days since 1970 (TSR_DATE_NONE = missing)
 *   sex            u8: 0 not known (or missing), 1 male, 2 female, 9 not specified
 *   integer        i64 (TSR_INT_NONE = missing)
 *   given_name,    str/str_off: standardised (ASCII upper, single spaces);
 *   family_name    hash: XXH3-64 of it (0 = missing); soundex (packed, see
 *                  tsr_soundex_text), nysiis (packed)
 *   local_id       str/str_off as read (trimmed); hash as above
 *   text           str/str_off as read (trimmed)
 *   code           ids: code16 or code32 (one is set), 1-based into the
 *                  dictionary dict/dict_off (0 = missing)
 * invalid: bitmap, bit i set when row i held a value that failed validation
 * (it is then stored as missing). */
typedef struct tsr_column {
  const char *column;
  const char *field;
  tsr_field_kind kind;
  const uint64_t *u64;
  const int32_t *i32;
  const int64_t *i64;
  const uint8_t *u8;
  const char *str;
  const uint32_t *str_off;
  const uint64_t *hash;
  const uint16_t *soundex;
  const uint32_t *nysiis;
  const uint16_t *code16;
  const uint32_t *code32;
  const char *dict;
  const uint32_t *dict_off; /* dict_n + 1 entries: id k is dict[dict_off[k-1] .. dict_off[k]) */
  uint32_t dict_n;
  const uint8_t *invalid;
  uint64_t n_missing, n_invalid, n_pseudo;
} tsr_column;

TSR_API uint32_t tsr_store_ncols(const tsr_store *s);
/* Column i (0-based, config order), or NULL. */
TSR_API const tsr_column *tsr_store_col(const tsr_store *s, uint32_t i);
/* Column by canonical field name, or NULL. */
TSR_API const tsr_column *tsr_store_field(const tsr_store *s, const char *field);
/* The source's own record id of row r (a view into the store). */
TSR_API tsr_view tsr_store_id(const tsr_store *s, uint64_t r);
/* Any value as display text into buf (empty for missing); returns length. */
TSR_API size_t tsr_column_text(const tsr_column *c, uint64_t r, char *buf, size_t cap);
/* Packed postcode helpers: display text ("LS1 4AP", returns the length, 0
 * for missing), the district ("LS1") and the sector ("LS1 4") in the same
 * packed layout. */
TSR_API size_t tsr_postcode_text(uint64_t packed, char out[9]);
TSR_API uint64_t tsr_postcode_district(uint64_t packed);
TSR_API uint64_t tsr_postcode_sector(uint64_t packed);
/* "S530" from a packed Soundex, "SNAT" ... from a packed NYSIIS. */
TSR_API void tsr_soundex_text(uint16_t code, char out[5]);
TSR_API void tsr_nysiis_text(uint32_t code, char out[7]);

/* Per-source profile for `tessera inspect`: rows, rejects by reason,
 * completeness and invalid counts per field, top values, memory and time.
 * Writes human text, or JSON when json is set, to f. */
TSR_API int tsr_store_profile(const tsr_store *s, const tsr_ingest_stats *st, int json, int top_n, FILE *f);

#ifdef __cplusplus
}
#endif
#endif
