/* The truth file, its record keys and the small tools evaluate.c and
 * sweep.c share (truth.c). Internal to engine/evaluate. */
#ifndef TSR_EVALUATE_INTERNAL_H
#define TSR_EVALUATE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tessera/common.h"
#include "tessera/store.h"

/* u64 key (never 0) -> u32 value, open addressing, linear probing; grows
 * at load 3/4, so its size follows the distinct keys, not the rows. */
typedef struct tsr__emap {
  uint64_t *k;
  uint32_t *v;
  uint64_t mask, n;
} tsr__emap;

/* cap: a power of two. 0 or TSR_ENOMEM (free the map either way). */
int tsr__emap_alloc(tsr__emap *m, uint64_t cap);
/* Frees the arrays; a zeroed map is fine. */
void tsr__emap_free(tsr__emap *m);
/* Slot of key, inserted if new (*fresh = 1); UINT64_MAX when out of memory. */
uint64_t tsr__emap_slot(tsr__emap *m, uint64_t key, int *fresh);
/* Slot of key, or UINT64_MAX when absent. */
uint64_t tsr__emap_find(const tsr__emap *m, uint64_t key);
/* The table from record key to truth row (nt keys in tkey; m empty). Returns
 * -1 when every key went in, the row of the second copy of a duplicate key,
 * or -2 when out of memory. */
int64_t tsr__emap_build_rows(tsr__emap *m, const uint64_t *tkey, uint64_t nt);

/* The join key of a record: XXH3 of (source, record id), never 0. */
uint64_t tsr__eval_rec_key(const char *src, size_t sl, const char *id, size_t il);

/* LSD radix sort of n keys below 2^bits, 16 bits a pass; tmp has n entries.
 * Returns the array holding the sorted keys (a or tmp), NULL when out of
 * memory. */
uint64_t *tsr__eval_radix_sort(uint64_t *a, uint64_t *tmp, uint64_t n, int bits);

/* Reads a truth CSV (source, record_id, patient_id) with the ingest stage
 * into *out (the caller frees it with tsr_store_free). Every row must be
 * good: the first bad one is named by file, line, column and reason
 * (TSR_EPARSE). Also TSR_EIO, TSR_ENOMEM. */
int tsr__eval_read_truth(const char *truth_csv, int threads, tsr_store **out, tsr_error *err);

/* Reads a spells truth CSV (epikey, spell_id, cips_id, as `tessera generate`
 * writes truth_spells.csv) the same way: record id epikey (unique: a repeat
 * is an error naming both lines), spell_id and cips_id as local ids that may
 * be empty (hash 0). */
int tsr__eval_read_truth_spells(const char *truth_csv, int threads, tsr_store **out, tsr_error *err);

/* The pairs of n records. */
static inline uint64_t tsr__eval_pairs_of(uint64_t n) { return n * (n ? n - 1 : 0) / 2; }

#endif
