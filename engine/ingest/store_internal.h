/* Internals of the record store: column buffers that grow by appending rows,
 * used both for one parse segment's output and for the final store, so that
 * merging a segment is a bulk append of one column into another.
 *
 * DESIGN (one column, by kind)
 *   fixed   u64 | i32 | i64 | u8            one value per row
 *   string  str bytes + str_off[rows+1]     names, local ids, text
 *           hash (u64), soundex (u16), nysiis (u32) for names/local ids
 *   code    ids (u32 while building, u16 after finalize when they fit)
 *           + a dictionary of distinct values, ids in first-seen order
 *   invalid one byte per row while building, a bitmap after finalize
 * Appending a segment into the store rebases string offsets and remaps code
 * ids; because segments are appended in file order and dictionaries number
 * values in first-seen order, the result is the same for any segmentation. */
#ifndef TSR_INGEST_STORE_INTERNAL_H
#define TSR_INGEST_STORE_INTERNAL_H

#include "common/buf.h"
#include "common/common_internal.h"
#include "tessera/ingest.h"

/* Interning table: string -> 1-based id, in insertion order. */
typedef struct tsr__dict {
  uint32_t *slots; /* 0 = empty, else id */
  uint32_t mask;
  uint32_t n;
  uint32_t cap; /* entries allocated in off/hashes */
  tsr__buf bytes;
  uint32_t *off; /* n + 1 */
  uint64_t *hashes;
} tsr__dict;

void tsr__dict_init(tsr__dict *d);
void tsr__dict_free(tsr__dict *d);
void tsr__dict_clear(tsr__dict *d);
/* Id of s (inserted if new); 0 on out of memory. */
uint32_t tsr__dict_intern(tsr__dict *d, const char *s, uint32_t len, uint64_t hash);

typedef struct tsr__val {
  uint64_t u64, hash;
  int64_t i64;
  int32_t i32;
  uint32_t len, nysiis;
  uint16_t soundex;
  uint8_t u8;
  uint8_t invalid;
  const char *s;
} tsr__val;

typedef struct tsr__col {
  tsr_column pub;
  tsr_field_kind kind;
  int hashed; /* names and local ids */
  uint64_t n, cap;
  uint64_t *u64, *hash;
  int64_t *i64;
  int32_t *i32;
  uint8_t *u8, *invalid;
  uint16_t *soundex, *code16;
  uint32_t *nysiis, *code32, *str_off;
  tsr__buf str;
  tsr__dict dict;
  uint64_t n_missing, n_invalid, n_pseudo;
  uint64_t n_below_min, n_above_max;
  uint32_t n_ex; /* examples of invalid values, in file order */
  tsr_invalid_example ex[TSR_INVALID_EXAMPLES];
  int finalized;
} tsr__col;

/* Keeps value p[0..n) of the row at `line` as an example, while fewer than
 * TSR_INVALID_EXAMPLES are kept (rows come in file order). */
static inline void tsr__col_example(tsr__col *c, const char *p, size_t n, uint64_t line) {
  if (c->n_ex >= TSR_INVALID_EXAMPLES) return;
  tsr_invalid_example *e = &c->ex[c->n_ex++];
  e->line = line;
  if (n >= sizeof e->value) n = sizeof e->value - 1;
  for (size_t i = 0; i < n; i++) e->value[i] = p[i];
  e->value[n] = '\0';
}

void tsr__col_init(tsr__col *c, tsr_field_kind kind);
void tsr__col_free(tsr__col *c);
/* Forgets all rows, keeps the memory (for reuse by the next batch). */
void tsr__col_clear(tsr__col *c);
/* Room for `more` rows; 0 or TSR_ENOMEM. */
int tsr__col_grow(tsr__col *c, uint64_t more);
static inline int tsr__col_reserve(tsr__col *c, uint64_t more) {
  return c->n + more <= c->cap ? 0 : tsr__col_grow(c, more);
}
/* Appends one value (room must be reserved; strings are copied). 0 or
 * TSR_ENOMEM (string growth or dictionary). */
int tsr__col_push(tsr__col *c, const tsr__val *v);
/* Appends all rows of src (same kind) to dst. */
int tsr__col_append(tsr__col *dst, const tsr__col *src);
/* Shrinks arrays to size, narrows code ids, turns invalid flags into a
 * bitmap and points the public view at the arrays. */
int tsr__col_finalize(tsr__col *c);
size_t tsr__col_bytes(const tsr__col *c);
size_t tsr__col_fixed_bytes(const tsr__col *c);

struct tsr_store {
  char *source;
  char *names; /* owned copies of column and field names */
  uint64_t n;
  uint32_t ncols;
  int id_col;
  tsr__col *cols;
};

tsr_store *tsr__store_new(const tsr_source_cfg *src);

#endif
