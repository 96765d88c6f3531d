/* The record store: one source's records, column by column (struct of
 * arrays), as ingest builds it (tessera/ingest.h) and every later stage reads
 * it. A finished store is read-only and may be read from any number of
 * threads at once; the pointers it hands out live as long as the store. */
#ifndef TSR_STORE_H
#define TSR_STORE_H

#include "tessera/common.h"
#include "tessera/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_DATE_NONE INT32_MIN /* a missing date */
#define TSR_INT_NONE INT64_MIN  /* a missing integer */

/* One source's records, column by column. Opaque; read through tsr_column. */
typedef struct tsr_store tsr_store;

/* Frees the store and everything it owns; NULL allowed. */
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

/* An invalid value kept as an example (tessera inspect shows them): the
 * value as read, cut to 47 bytes, and the line of its row. */
#define TSR_INVALID_EXAMPLES 3
typedef struct tsr_invalid_example {
  uint64_t line;
  char value[48];
} tsr_invalid_example;

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
  uint64_t n_missing, n_invalid, n_pseudo; /* n_missing counts invalid and pseudo values too */
  uint64_t n_below_min, n_above_max; /* dates: invalid only for lying outside [min, max] */
  /* the first invalid values in file order (the same for any thread count) */
  uint32_t n_examples;
  tsr_invalid_example examples[TSR_INVALID_EXAMPLES];
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

/* The first column of a kind (config order), or NULL: the one way to find,
 * for example, a source's NHS-number column. */
TSR_API const tsr_column *tsr_store_kind(const tsr_store *s, tsr_field_kind kind);

#ifdef __cplusplus
}
#endif
#endif
