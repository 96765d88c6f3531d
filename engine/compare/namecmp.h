/* Name comparisons for the compare stage: one name field (given or family)
 * to a level, a given-and-family pair to a combined level that knows the two
 * swapped, and a per-thread memo of levels keyed by the pair of value hashes,
 * since names are dictionary-like (2M records hold perhaps 30k distinct
 * surnames). Values arrive as the record store holds them (tessera/store.h):
 * standardised (ASCII upper case, single spaces, apostrophes removed,
 * hyphens turned into spaces), with their XXH3-64 hash and packed Soundex and
 * NYSIIS codes, which the caller passes in (never recomputed here). The
 * comparisons are pure functions, thread-safe, with no allocation; a memo
 * belongs to one thread. docs/design/compare.md has the level tables.
 *
 * DESIGN
 *   As in fieldcmp.h: levels are tried in enum order and the first that
 *   holds wins; 0 is null (either side missing, i.e. empty); `enabled` is a
 *   bit mask of level codes (TSR__LEVEL_BIT); `else` always holds. Every
 *   level is symmetric: level(a, b) == level(b, a).
 *   The costly levels share work: Jaro-Winkler is skipped when the lengths
 *   alone cannot reach the lower JW threshold (tsr__jw_upper_bound), and one
 *   bounded Damerau-Levenshtein call (bound = the larger DL threshold)
 *   decides both DL levels.
 *   The memo is 2-way set associative, fixed size, no allocation after
 *   create:
 *
 *       lo = min(ha, hb), hi = max(ha, hb)        (a,b) and (b,a) share a slot
 *       set = (lo * K1 ^ hi * K2) >> (64 - 13)    8192 sets x 2 ways
 *       set: [ {lo, hi, level} way 0 (newest) | {lo, hi, level} way 1 ]
 *
 *   A miss computes the level, moves way 0 to way 1 and writes way 0. The key
 *   is both full hashes, so a hit is exact as long as distinct values have
 *   distinct hashes, the assumption the store's hash already makes. A pair
 *   of equal hashes (the same value) is not stored: the direct path answers
 *   it with one memcmp. */
#ifndef TSR_COMPARE_NAMECMP_H
#define TSR_COMPARE_NAMECMP_H

#include <stddef.h>
#include <stdint.h>

#include "compare/fieldcmp.h"

/* One stored name value. len 0 (s may then be NULL) is missing. hash is the
 * store's XXH3-64 of the bytes (0 = missing; only the memo reads it);
 * soundex and nysiis are the stored packed codes (0 = none). */
typedef struct tsr__name_val {
  const char *s;
  size_t len;
  uint64_t hash;
  uint16_t soundex;
  uint32_t nysiis;
} tsr__name_val;

/* --- one name field ---------------------------------------------------------------
 * TSR__NAME_EXACT     the same bytes
 * TSR__NAME_EXACT_STD equal once spaces, hyphens and apostrophes are ignored
 *                     (O'NEILL / ONEILL, SMITH-JONES / SMITH JONES / SMITHJONES)
 * TSR__NAME_JW1       Jaro-Winkler >= jw1 (default 0.92)
 * TSR__NAME_JW2       Jaro-Winkler >= jw2 (default 0.88)
 * TSR__NAME_DL1       Damerau-Levenshtein <= dl1 (default 1)
 * TSR__NAME_DL2       Damerau-Levenshtein <= dl2 (default 2)
 * TSR__NAME_PHONETIC  equal Soundex or equal NYSIIS codes (non-zero; which
 *                     codes count: opts.phonetic)
 * TSR__NAME_INITIAL   one side is a single letter, the other's first letter
 * TSR__NAME_PART      a part (tsr__name_part) of at least 2 letters of one
 *                     side equals a part of the other, one side having two
 *                     or more parts (SMITH JONES / JONES)
 * TSR__NAME_ELSE */
typedef enum tsr__name_level {
  TSR__NAME_NULL = 0,
  TSR__NAME_EXACT,
  TSR__NAME_EXACT_STD,
  TSR__NAME_JW1,
  TSR__NAME_JW2,
  TSR__NAME_DL1,
  TSR__NAME_DL2,
  TSR__NAME_PHONETIC,
  TSR__NAME_INITIAL,
  TSR__NAME_PART,
  TSR__NAME_ELSE,
  TSR__NAME_NLEVELS
} tsr__name_level;

#define TSR__PHON_SOUNDEX 1u
#define TSR__PHON_NYSIIS 2u

typedef struct tsr__name_opts {
  uint32_t enabled;  /* level bits; default all */
  double jw1, jw2;   /* defaults 0.92, 0.88; jw1 >= jw2 expected */
  uint32_t dl1, dl2; /* defaults 1, 2; dl1 <= dl2 expected */
  uint32_t phonetic; /* TSR__PHON_* bits; default both */
} tsr__name_opts;

void tsr__name_opts_init(tsr__name_opts *o);

/* The level of a against b. a, b, o not NULL. */
tsr__name_level tsr__cmp_name(const tsr__name_val *a, const tsr__name_val *b, const tsr__name_opts *o);

/* The predicates (both values present). */
int tsr__name_eq_std(const char *a, size_t la, const char *b, size_t lb);
int tsr__name_initial(const char *a, size_t la, const char *b, size_t lb);
int tsr__name_part_eq(const char *a, size_t la, const char *b, size_t lb);
/* exact after standardisation, or Jaro-Winkler >= t (the swapped test) */
int tsr__name_close(const char *a, size_t la, const char *b, size_t lb, double t);

/* --- given and family together ----------------------------------------------------
 * Each field is first compared on its own (tsr__cmp_name with the field's
 * options); "agrees" means a level from EXACT to `agree_worst` (default
 * PHONETIC) that is enabled.
 * TSR__FULL_EXACT       both fields EXACT or EXACT_STD
 * TSR__FULL_SWAPPED     given_a ~ family_b and family_a ~ given_b, where ~ is
 *                       tsr__name_close at swap_jw (all four present)
 * TSR__FULL_BOTH        both fields agree
 * TSR__FULL_FAMILY      the family names agree, the given names do not (or
 *                       one is missing)
 * TSR__FULL_GIVEN       the given names agree, the family names do not (or
 *                       one is missing)
 * TSR__FULL_ELSE
 * Null when both fields are null (one side has neither name, or each field
 * is missing on one side): no evidence at all. A field missing on one side
 * counts as not agreeing, so FAMILY / GIVEN take the other field's evidence. */
typedef enum tsr__full_level {
  TSR__FULL_NULL = 0,
  TSR__FULL_EXACT,
  TSR__FULL_SWAPPED,
  TSR__FULL_BOTH,
  TSR__FULL_FAMILY,
  TSR__FULL_GIVEN,
  TSR__FULL_ELSE,
  TSR__FULL_NLEVELS
} tsr__full_level;

typedef struct tsr__full_opts {
  uint32_t enabled;          /* TSR__FULL_* level bits; default all */
  tsr__name_opts given;      /* per-field options; defaults as tsr__name_opts_init */
  tsr__name_opts family;
  tsr__name_level agree_worst; /* default TSR__NAME_PHONETIC */
  double swap_jw;              /* the swapped test's JW threshold; default 0.92 */
} tsr__full_opts;

void tsr__full_opts_init(tsr__full_opts *o);

typedef struct tsr__name_memo tsr__name_memo;

/* The options of the swapped test as a one-field comparison: only EXACT,
 * EXACT_STD and JW1 (at swap_jw) on, so "close" is a level <= JW1. A memo
 * created with them answers the cross pairs (given_a, family_b). */
void tsr__full_swap_opts(const tsr__full_opts *o, tsr__name_opts *out);

/* The combined level. mg, mf, ms: memos for the given field, the family field
 * and the cross pairs (created with o->given, o->family and
 * tsr__full_swap_opts(o)), each NULL to compute directly. */
tsr__full_level tsr__cmp_fullname(const tsr__name_val *given_a, const tsr__name_val *family_a,
                                  const tsr__name_val *given_b, const tsr__name_val *family_b,
                                  const tsr__full_opts *o, tsr__name_memo *mg, tsr__name_memo *mf,
                                  tsr__name_memo *ms);

/* --- the memo ---------------------------------------------------------------------
 * One per thread and per comparison (it stores levels of the options it was
 * created with; a copy is kept). 8192 sets x 2 ways of 24 bytes: 384 KiB,
 * from tsr__malloc once. Returns 0 or TSR_ENOMEM. Free NULL is allowed. */
#define TSR__NAME_MEMO_BITS 13u
int tsr__name_memo_create(const tsr__name_opts *o, tsr__name_memo **out);
void tsr__name_memo_free(tsr__name_memo *m);
/* Empties the table and the counters. */
void tsr__name_memo_clear(tsr__name_memo *m);
/* tsr__cmp_name(a, b, options of m), answered from the table when the pair
 * of hashes is there. Null and equal-hash pairs bypass the table. */
tsr__name_level tsr__cmp_name_memo(tsr__name_memo *m, const tsr__name_val *a, const tsr__name_val *b);
/* Lookups answered from the table and lookups computed (bypasses count in
 * neither). */
void tsr__name_memo_stats(const tsr__name_memo *m, uint64_t *hits, uint64_t *misses);


/* --- free text (city, street, email, ids) ------------------------------------------
 * Levels of a text comparison, most similar first. exact: the bytes as
 * stored; exact_norm: equal after tsr__norm_text (case, punctuation and
 * spaces folded); jw1/jw2: Jaro-Winkler of the normalised texts >= o->jw1 /
 * o->jw2; dl1/dl2: Damerau-Levenshtein of the normalised texts <= o->dl1 /
 * o->dl2. Levels not in o->enabled are skipped. Symmetric: the arguments
 * are put in one order before any floating-point work. Texts longer than
 * TSR__TEXT_MAX bytes compare their first TSR__TEXT_MAX normalised bytes
 * beyond the exact levels. */
typedef enum tsr__text_level {
  TSR__TEXT_NULL = 0,
  TSR__TEXT_EXACT,
  TSR__TEXT_EXACT_NORM,
  TSR__TEXT_JW1,
  TSR__TEXT_JW2,
  TSR__TEXT_DL1,
  TSR__TEXT_DL2,
  TSR__TEXT_ELSE,
  TSR__TEXT_NLEVELS
} tsr__text_level;
#define TSR__TEXT_MAX 255
tsr__text_level tsr__cmp_text(const char *a, size_t la, const char *b, size_t lb, const tsr__name_opts *o);

#endif
