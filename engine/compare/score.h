/* Batch scorer for the compare stage: turns the candidate-pair batches of the
 * block stage (block.h, tsr__pair_batch) into agreement patterns, one
 * uint32_t per pair with every comparison's level packed at a caller-given
 * place. The model packs its patterns the same way (model.h,
 * tsr__pattern_pack), but compare comes before model in the layering, so
 * the caller passes the packing as shift[] / bits[] arrays (a model's
 * md->shift and md->bits), or NULL for the model's default packing
 * (ceil(log2 L_k) bits, at least 1, comparison 0 lowest). docs/design/compare.md
 * ("The batch scorer") has the layout and the measured speed.
 *
 * DESIGN
 *   A comparison spec (tsr__cmp_spec) names a kind, the column(s) it reads in
 *   each source (resolved tsr_column pointers: sources map the same field to
 *   different columns; NULL where a source lacks the field, which makes every
 *   pair touching it null) and the options of the existing level functions
 *   (fieldcmp.h, namecmp.h). The scorer (tsr__scorer) is read-only after
 *   tsr__scorer_init and shared by all threads; each thread has its own
 *   tsr__score_thread (name memos, gid-to-row scratch).
 *   A batch is scored comparison by comparison (comparison-major):
 *
 *     1. gid -> (source, row) for a[] and b[] once, into the thread scratch
 *        (the recset's base array: gid = base[source] + row);
 *     2. patterns_out[i] = 0;
 *     3. for each comparison k: one loop over the pairs with the kind's
 *        switch outside it, patterns_out[i] |= level << shift[k].
 *
 *   so each loop touches one or two columns and its branches stay
 *   predictable. NHS numbers take a fast path with the same result as
 *   tsr__cmp_nhs: when both numbers are valid (a bit per row, found at
 *   init) the level is EQUAL or DIFFERENT without the digit-by-digit
 *   near test, since two valid numbers are never near (fieldcmp.h). A pattern depends only on the pair (and the scorer), never
 *   on the batch or thread: the memos answer exactly what the direct
 *   functions answer.
 *
 *   Levels: 0 is null (either side missing) for every kind. The exact kinds
 *   (sex, code, local id) have three levels: null, equal, else. Sex 0 (not
 *   known) and 9 (not specified) count as missing: they carry no evidence.
 *   Codes compare their dictionary text (a 64-bit hash of it per source,
 *   built at init), so two sources' dictionaries need not agree on ids. A
 *   local id may be scoped: with a scope column (e.g. the provider code)
 *   the comparison is null unless both records have the same scope value,
 *   since a local patient id means nothing across providers. */
#ifndef TSR_COMPARE_SCORE_H
#define TSR_COMPARE_SCORE_H

#include <stdint.h>

#include "block/block.h"
#include "compare/fieldcmp.h"
#include "compare/namecmp.h"
#include "tessera/common.h"
#include "tessera/store.h"

#define TSR__SCORE_MAX_K 16 /* comparisons, as TSR__MODEL_MAX_K */

typedef enum tsr__cmp_kind {
  TSR__CMP_NAME = 0, /* one name field: tsr__name_level (11 levels); col = the name column */
  TSR__CMP_FULLNAME, /* given and family: tsr__full_level (7); col = given, col2 = family */
  TSR__CMP_DOB,      /* tsr__dob_level (9); col = a date column */
  TSR__CMP_POSTCODE, /* tsr__pc_level (6) */
  TSR__CMP_NHS,      /* tsr__nhs_level (5) */
  TSR__CMP_SEX,      /* tsr__exact_level (3) */
  TSR__CMP_CODE,     /* tsr__exact_level (3); col = a code column */
  TSR__CMP_LOCAL_ID, /* tsr__exact_level (3); col = a local_id column, col2 = optional scope code column */
  TSR__CMP_TEXT,     /* tsr__text_level (8); col = a text, local_id or name column; options in name */
  TSR__CMP_NKINDS
} tsr__cmp_kind;

typedef enum tsr__exact_level {
  TSR__EXACT_NULL = 0,
  TSR__EXACT_EQUAL,
  TSR__EXACT_ELSE,
  TSR__EXACT_NLEVELS
} tsr__exact_level;

typedef struct tsr__cmp_spec {
  tsr__cmp_kind kind;
  /* per source, in recset (config) order; NULL: the source lacks the field */
  const tsr_column *col[TSR_MAX_SOURCES];
  const tsr_column *col2[TSR_MAX_SOURCES]; /* FULLNAME: family; LOCAL_ID: scope (code); else unused */
  tsr__name_opts name; /* NAME, TEXT */
  tsr__full_opts full; /* FULLNAME */
  tsr__dob_opts dob;   /* DOB */
  uint32_t enabled;    /* POSTCODE, NHS: level bits; default all (~0u) */
} tsr__cmp_spec;

/* Zeroes s (no columns) and sets kind and every option to its default. */
void tsr__cmp_spec_init(tsr__cmp_spec *s, tsr__cmp_kind kind);
/* Levels of a kind, null included (11, 7, 9, 6, 5, 3, 3, 3, 8). */
uint32_t tsr__cmp_nlevels(tsr__cmp_kind kind);
/* Fills col[] (and col2[] when field2 is not NULL) of s with each store's
 * column of that canonical field name (tsr_store_field; NULL where a store
 * lacks it). */
void tsr__cmp_spec_fields(tsr__cmp_spec *s, const tsr__recset *rs, const char *field, const char *field2);

typedef struct tsr__scorer {
  const tsr__recset *rs;
  uint32_t k;
  tsr__cmp_spec cmp[TSR__SCORE_MAX_K];
  uint8_t nlev[TSR__SCORE_MAX_K];
  uint8_t shift[TSR__SCORE_MAX_K], bits[TSR__SCORE_MAX_K];
  /* CODE (col) and LOCAL_ID scope (col2): per source, dictionary id -> a
   * non-zero 64-bit hash of the value's text ([0] = 0, missing); NULL
   * where there is no column */
  uint64_t *code_hash[TSR__SCORE_MAX_K][TSR_MAX_SOURCES];
  /* NHS: per source, bit r set when row r holds a valid number (the batch
   * loop's fast path); NULL where there is no column */
  uint64_t *nhs_ok[TSR__SCORE_MAX_K][TSR_MAX_SOURCES];
} tsr__scorer;

/* Copies k specs (1..TSR__SCORE_MAX_K) and the packing. shift, bits: k
 * entries each, or both NULL for the default packing. Returns 0,
 * TSR_EINVAL (k out of range, a column of the wrong kind, a comparison's
 * bits too few for its levels, fields overlapping or passing bit 32) or
 * TSR_ENOMEM; err says which comparison. rs must outlive the scorer. */
int tsr__scorer_init(tsr__scorer *sc, const tsr__recset *rs, const tsr__cmp_spec *specs, uint32_t k,
                     const uint8_t *shift, const uint8_t *bits, tsr_error *err);
void tsr__scorer_free(tsr__scorer *sc); /* zeroed allowed */

/* Per-thread state: one name memo per NAME comparison, three per FULLNAME
 * (given, family, the swapped cross pairs), and the batch scratch. A
 * FULLNAME's given (family) memo is the memo of a NAME comparison on the
 * same columns with the same options when there is one: the pair was just
 * looked up there, and the levels are the same. */
typedef struct tsr__score_thread tsr__score_thread;
int tsr__score_thread_create(const tsr__scorer *sc, tsr__score_thread **out); /* 0 or TSR_ENOMEM */
void tsr__score_thread_free(tsr__score_thread *ts);                              /* NULL allowed */
/* Memo lookups answered from the table and computed, over the memos
 * comparison k owns (both 0 for kinds without a memo; a FULLNAME's
 * borrowed memos count under the NAME comparison that owns them). */
void tsr__score_thread_stats(const tsr__score_thread *ts, uint32_t k, uint64_t *hits, uint64_t *misses);

/* The levels of one pair of gids (any order) into levels[sc->k]. */
void tsr__score_pair(const tsr__scorer *sc, tsr__score_thread *ts, uint64_t a, uint64_t b, uint8_t *levels);
/* Packs levels[sc->k] with the scorer's packing. */
uint32_t tsr__score_pack(const tsr__scorer *sc, const uint8_t *levels);
/* patterns_out[i] = the packed levels of pair (b->a[i], b->b[i]), for i in
 * [0, b->n). */
void tsr__score_batch(const tsr__scorer *sc, tsr__score_thread *ts, const tsr__pair_batch *b,
                      uint32_t *patterns_out);

#endif
