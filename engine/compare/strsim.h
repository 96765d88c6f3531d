/* String similarity for the compare stage: Jaro, Jaro-Winkler, Levenshtein
 * and (true, unrestricted) Damerau-Levenshtein on byte strings, with bounded
 * variants and a length-only upper bound for Jaro-Winkler, so a comparison can
 * skip work that cannot reach its lowest threshold. Names reach here
 * standardised (ASCII upper case), so bytes are characters. Pure functions:
 * no state, safe from any number of threads, and no allocation except in
 * tsr__dl / tsr__dl_bounded when the DP table passes 66 x 66 cells (both
 * strings longer than about 64 bytes: never a name). docs/design/compare.md has the conventions and the
 * measured speed.
 *
 * DESIGN
 *   Conventions follow DuckDB (jaro_similarity, jaro_winkler_similarity,
 *   levenshtein, damerau_levenshtein), which uses RapidFuzz's code, so a
 *   Splink user sees the same numbers in both tools:
 *     Jaro: match window max(la, lb) / 2 - 1 (at least 0); transpositions
 *       are half the matched characters out of order; a string empty on
 *       either side scores 0 (DuckDB: jaro('', '') = 0; callers treat empty
 *       values as missing anyway).
 *     Jaro-Winkler: common prefix up to 4 bytes, p = 0.1, applied only when
 *       Jaro > 0.7 (Winkler's boost threshold, as RapidFuzz and DuckDB).
 *     Damerau-Levenshtein: the true (unrestricted) distance, as DuckDB's
 *       damerau_levenshtein('CA', 'ABC') = 2 (optimal string alignment gives 3).
 *   Bit-parallel layout (Hyyro): the pattern string a (at most 64 bytes)
 *   becomes one 64-bit mask per byte value, bit i set where a[i] is that byte:
 *
 *       a = "MARTHA"   pm['A'] = 0b100010   pm['M'] = 0b000001
 *                       pm['R'] = 0b000100   pm['T'] = 0b001000 ...
 *
 *   Jaro walks b once: for b[j] the candidates are pm[b[j]] & window(j) &
 *   ~matched_a, where window(j) is the mask of a's positions within the match
 *   window of j (slid one bit per step); the lowest candidate is taken
 *   (x & -x), as the textbook's first-unmatched rule. Transpositions then pair
 *   the set bits of matched_a and matched_b in order. Levenshtein is Myers'
 *   algorithm in Hyyro's formulation: one column of the DP table as two bit
 *   vectors (VP, VN) updated with a few word operations per byte of b.
 *   Above 64 bytes on both sides the scalar textbook forms run instead. */
#ifndef TSR_COMPARE_STRSIM_H
#define TSR_COMPARE_STRSIM_H

#include <stddef.h>
#include <stdint.h>

/* Longer inputs are compared on their first TSR__STRSIM_MAX bytes (the
 * scalar paths keep their work space on the stack). */
#define TSR__STRSIM_MAX 1024u

/* A pattern's byte masks, for comparing one string against many: build once
 * with tsr__pm_init, then use tsr__jaro_winkler_pm. 2 KiB; one per thread. */
typedef struct tsr__pm64 {
  uint64_t m[256];
  const char *s;
  size_t len; /* at most 64 */
} tsr__pm64;

/* Fills p for s[0..len), len <= 64 (asserted). p keeps the pointer s. */
void tsr__pm_init(tsr__pm64 *p, const char *s, size_t len);

/* Jaro similarity in [0, 1]; 1 for equal non-empty strings, 0 when either is
 * empty. Bit-parallel when both are at most 64 bytes. */
double tsr__jaro(const char *a, size_t la, const char *b, size_t lb);
/* Jaro-Winkler similarity in [0, 1] (conventions above). */
double tsr__jaro_winkler(const char *a, size_t la, const char *b, size_t lb);
/* The same against a prepared pattern (p->s as a); lb of any length. */
double tsr__jaro_winkler_pm(const tsr__pm64 *p, const char *b, size_t lb);
/* The textbook (scalar) forms, for any length: the reference the tests hold
 * the bit-parallel forms to. */
double tsr__jaro_scalar(const char *a, size_t la, const char *b, size_t lb);
double tsr__jaro_winkler_scalar(const char *a, size_t la, const char *b, size_t lb);
/* The largest Jaro-Winkler any two strings of lengths la and lb can have
 * (all of the shorter matched, in order, and a full 4-byte prefix), so
 * tsr__jaro_winkler(a, la, b, lb) <= tsr__jw_upper_bound(la, lb) always. A
 * caller whose lowest threshold is above it knows the answer without looking
 * at the bytes. 0 when either length is 0. */
double tsr__jw_upper_bound(size_t la, size_t lb);

/* Levenshtein distance (unit costs). Bit-parallel when the shorter string is
 * at most 64 bytes. */
size_t tsr__lev(const char *a, size_t la, const char *b, size_t lb);
/* min(distance, max + 1), stopping as soon as the distance must exceed max
 * (the length difference alone, or the last row of the DP column so far
 * minus the bytes of b still to come). */
size_t tsr__lev_bounded(const char *a, size_t la, const char *b, size_t lb, size_t max);
/* The two-row dynamic programme, for any length (the tests' reference). */
size_t tsr__lev_scalar(const char *a, size_t la, const char *b, size_t lb);

/* True Damerau-Levenshtein distance (insertions, deletions, substitutions,
 * transpositions of adjacent characters, with edits allowed between the two
 * transposed characters: Lowrance and Wagner's algorithm). The table is on
 * the stack up to 66 x 66 cells, else from tsr__malloc; if that fails the
 * result is max(la, lb), an upper bound. */
size_t tsr__dl(const char *a, size_t la, const char *b, size_t lb);
/* min(distance, max + 1). Exits early on the length difference, on the
 * character-count bound (each edit but a transposition changes the byte
 * multiset by at most one on each side), and uses the bit-parallel
 * Levenshtein when it is 0 or 1 (then it equals the Damerau distance). */
size_t tsr__dl_bounded(const char *a, size_t la, const char *b, size_t lb, size_t max);

#endif
