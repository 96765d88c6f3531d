/* Statistical disclosure control for research extracts: small-number
 * suppression of 2-D aggregate tables (primary and secondary), k-anonymity
 * measurement over quasi-identifier codes, and the ICD-10 chapter of a
 * diagnosis code (the "diag:chapter" dimension of an aggregate). The rules
 * are DOMAIN.md's "Disclosure control and pseudonymisation"; the algorithm,
 * its guarantees and its limits are in docs/design/disclosure.md.
 * Internal to the engine (not part of the public API). */
#ifndef TSR_EXTRACT_SDC_H
#define TSR_EXTRACT_SDC_H

#include <stddef.h>
#include <stdint.h>

#include "tessera/common.h"

/* Largest count a table may hold (cells, totals, grand total): sums and the
 * rounding never overflow below it. */
#define TSR__SDC_MAX_COUNT (UINT64_C(1) << 62)

/* A 2-D count table: nr rows x nc columns of counts (row-major, nr*nc),
 * its row totals (nr), column totals (nc) and grand total. The caller owns
 * every array; tsr__sdc_suppress only reads them. nr or nc may be 0 (an
 * empty table: nothing to suppress). */
typedef struct {
  uint64_t *cells, *row_tot, *col_tot, grand;
  size_t nr, nc;
} tsr__sdc_table;

/* The published table. -1 means suppressed ("*"); any other value is shown
 * as it is. Arrays are allocated by tsr__sdc_suppress (never NULL on
 * success, even for an empty table) and freed by tsr__sdc_shown_free.
 *   primary:   entries suppressed because their count is 1..7;
 *   secondary: entries suppressed so that nothing is recoverable;
 *   secondary_zeros: how many of the secondary ones are true zeros (a last
 *              resort, see disclosure.md "Suppressed zeros"). */
typedef struct {
  int64_t *cells, *row_tot, *col_tot;
  int64_t grand;
  uint64_t primary, secondary, secondary_zeros;
} tsr__sdc_shown;

/* Fills t->row_tot, t->col_tot and t->grand from t->cells (the arrays must
 * be allocated by the caller). Returns 0, or TSR_ELIMIT when a sum would
 * pass TSR__SDC_MAX_COUNT. */
int tsr__sdc_fill_totals(tsr__sdc_table *t, tsr_error *err);

/* Small-number suppression of t into *out (overwritten; free with
 * tsr__sdc_shown_free, also after a failure).
 *
 * Rules (docs/design/disclosure.md):
 *  - the grand total is national: shown exactly, never suppressed. So is
 *    any entry that equals it by the table's shape alone (the row total of
 *    a one-row table, the column total of a one-column table, the cell of
 *    a 1x1 table);
 *  - primary: every other entry (cell, row total, column total) with a
 *    count of 1..7 is suppressed;
 *  - shown entries are rounded to the nearest 5 (tsr__sdc_round5), 0 stays 0;
 *  - secondary: more entries are suppressed until no suppressed entry can be
 *    derived from the others by any linear combination of the row and
 *    column equations (totals row and column included), even with the exact
 *    true values of every shown entry. In particular no row or column holds
 *    exactly one suppressed entry. A solution always exists.
 * Deterministic: the result depends only on t.
 * Returns 0; TSR_EINVAL when a total does not equal the sum of its line or
 * a count passes TSR__SDC_MAX_COUNT (err says which, by row and column);
 * TSR_ENOMEM; TSR_ELIMIT when nr*nc overflows. Single-threaded; reentrant. */
int tsr__sdc_suppress(const tsr__sdc_table *t, tsr__sdc_shown *out, tsr_error *err);

/* Frees the arrays of s and zeroes it. NULL allowed. */
void tsr__sdc_shown_free(tsr__sdc_shown *s);

/* n rounded to the nearest multiple of 5. Integers never fall halfway, so
 * there is no tie rule: remainders 1, 2 round down and 3, 4 round up
 * (8 -> 10, 12 -> 10, 13 -> 15); 0 -> 0. Note 1, 2 -> 0 and 3..7 -> 5: that is
 * why 1..7 are suppressed rather than rounded. n must be <= TSR__SDC_MAX_COUNT. */
int64_t tsr__sdc_round5(uint64_t n);

/* k-anonymity of n records over q quasi-identifiers.
 * cols: q column arrays, cols[c][i] the code of record i in column c (any
 * 64-bit code: a dictionary index, a year, a packed value...). Two records
 * are in one equivalence class when all q codes are equal (q == 0: every
 * record is in one class).
 *   classes:         number of equivalence classes;
 *   smallest:        size of the smallest class (0 when n == 0);
 *   records_below_k: records in classes of size < k (k 0 or 1: none);
 *   records:         n;
 *   share_below_k:   records_below_k / n (0 when n == 0).
 * threads: 0 means every core (tsr__threads). The result does not depend on
 * the thread count. Returns 0, TSR_ENOMEM, or TSR_ELIMIT when n >= 2^32. */
typedef struct {
  uint64_t classes, smallest, records_below_k, records;
  double share_below_k;
} tsr__kanon;
int tsr__kanon_measure(const uint64_t *const *cols, size_t q, size_t n, uint32_t k, int threads,
                       tsr__kanon *out, tsr_error *err);

/* ICD-10 chapter ("I".."XXII", a static string) of a diagnosis code: a
 * letter, two digits, then optionally a dot and/or one or two more letters
 * or digits ("S72", "S720", "S72.0", "s72.0x", "S7200"; 3..5 characters
 * without the dot; lower case accepted). NULL when code is not such a code
 * or its category is in no chapter (D49, D90-D99, E91-E99, H96-H99). */
const char *tsr__icd10_chapter(const char *code, size_t len);

#endif
