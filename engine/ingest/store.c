/* The columnar record store and its column buffers; see store_internal.h for
 * the layout. Also the public read accessors, the digest and size reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL /* short keys: inlined XXH3 beats a call into the shared library */
#include <xxhash.h>

#include "common/date.h"
#include "ingest/fields.h"
#include "ingest/names.h"
#include "ingest/store_internal.h"

/* --- dictionary ------------------------------------------------------------- */
void tsr__dict_init(tsr__dict *d) {
  memset(d, 0, sizeof *d);
  tsr__buf_init(&d->bytes, 0);
}

void tsr__dict_free(tsr__dict *d) {
  tsr__free(d->slots);
  tsr__free(d->off);
  tsr__free(d->hashes);
  tsr__buf_free(&d->bytes);
  memset(d, 0, sizeof *d);
}

void tsr__dict_clear(tsr__dict *d) {
  if (d->slots) memset(d->slots, 0, sizeof(uint32_t) * ((size_t)d->mask + 1));
  d->n = 0;
  d->bytes.len = 0;
  if (d->off) d->off[0] = 0;
}

static int dict_grow_table(tsr__dict *d) {
  uint32_t size = d->mask ? (d->mask + 1) * 2 : 64;
  uint32_t *slots = tsr__calloc(size, sizeof *slots);
  if (!slots) return -1;
  for (uint32_t id = 1; id <= d->n; id++) {
    uint32_t i = (uint32_t)d->hashes[id - 1] & (size - 1);
    while (slots[i]) i = (i + 1) & (size - 1);
    slots[i] = id;
  }
  tsr__free(d->slots);
  d->slots = slots;
  d->mask = size - 1;
  return 0;
}

uint32_t tsr__dict_intern(tsr__dict *d, const char *s, uint32_t len, uint64_t hash) {
  if (!d->slots || (d->n + 1) * 4 > (d->mask + 1) * 3)
    if (dict_grow_table(d)) return 0;
  uint32_t i = (uint32_t)hash & d->mask;
  for (;;) {
    uint32_t id = d->slots[i];
    if (!id) break;
    if (d->hashes[id - 1] == hash && d->off[id] - d->off[id - 1] == len &&
        memcmp(d->bytes.p + d->off[id - 1], s, len) == 0)
      return id;
    i = (i + 1) & d->mask;
  }
  if (d->n + 1 >= d->cap) {
    uint32_t cap = d->cap ? d->cap * 2 : 64;
    uint32_t *off = tsr__realloc(d->off, sizeof(uint32_t) * (cap + 1));
    if (!off) return 0;
    d->off = off;
    uint64_t *h = tsr__realloc(d->hashes, sizeof(uint64_t) * cap);
    if (!h) return 0;
    d->hashes = h;
    if (d->cap == 0) d->off[0] = 0;
    d->cap = cap;
  }
  tsr__buf_put(&d->bytes, s, len);
  if (d->bytes.oom) return 0;
  d->hashes[d->n] = hash;
  d->n++;
  d->off[d->n] = (uint32_t)d->bytes.len;
  d->slots[i] = d->n;
  return d->n;
}

/* --- columns ------------------------------------------------------------------ */
static int kind_hashed(tsr_field_kind k) {
  return k == TSR_KIND_GIVEN_NAME || k == TSR_KIND_FAMILY_NAME || k == TSR_KIND_LOCAL_ID;
}
static int kind_name(tsr_field_kind k) { return k == TSR_KIND_GIVEN_NAME || k == TSR_KIND_FAMILY_NAME; }

void tsr__col_init(tsr__col *c, tsr_field_kind kind) {
  memset(c, 0, sizeof *c);
  c->kind = kind;
  c->hashed = kind_hashed(kind);
  tsr__buf_init(&c->str, 0);
  tsr__dict_init(&c->dict);
}

void tsr__col_free(tsr__col *c) {
  tsr__free(c->u64);
  tsr__free(c->hash);
  tsr__free(c->i64);
  tsr__free(c->i32);
  tsr__free(c->u8);
  tsr__free(c->invalid);
  tsr__free(c->soundex);
  tsr__free(c->code16);
  tsr__free(c->nysiis);
  tsr__free(c->code32);
  tsr__free(c->str_off);
  tsr__buf_free(&c->str);
  tsr__dict_free(&c->dict);
  memset(c, 0, sizeof *c);
}

void tsr__col_clear(tsr__col *c) {
  c->n = 0;
  c->str.len = 0;
  if (c->str_off) c->str_off[0] = 0;
  tsr__dict_clear(&c->dict);
  c->n_missing = c->n_invalid = c->n_pseudo = 0;
  c->n_below_min = c->n_above_max = 0;
  c->n_ex = 0;
}

#define GROW(field, type)                                                      \
  do {                                                                         \
    type *np_ = tsr__mem_reserve(c->field, sizeof(type) * (size_t)(cap + 1)); \
    if (!np_) return TSR_ENOMEM;                                               \
    c->field = np_;                                                            \
  } while (0)

/* counts the rows about to be written; capacity ahead of them holds no
 * memory until it is written, so the memory limit does not count it */
#define COMMIT(field, type)                                                               \
  do {                                                                                    \
    if (c->field && tsr__mem_commit(c->field, sizeof(type) * (size_t)(c->n + more + 1))) \
      return TSR_ENOMEM;                                                                  \
  } while (0)

int tsr__col_grow(tsr__col *c, uint64_t more) {
  if (c->n + more > c->cap) {
    uint64_t cap = c->cap ? c->cap : 1024;
    while (cap < c->n + more) cap *= 2;
    GROW(invalid, uint8_t);
    switch (c->kind) {
    case TSR_KIND_NHS_NUMBER:
    case TSR_KIND_POSTCODE:
      GROW(u64, uint64_t);
      break;
    case TSR_KIND_DATE:
      GROW(i32, int32_t);
      break;
    case TSR_KIND_INTEGER:
      GROW(i64, int64_t);
      break;
    case TSR_KIND_SEX:
      GROW(u8, uint8_t);
      break;
    case TSR_KIND_CODE:
      GROW(code32, uint32_t);
      break;
    default: /* strings */
      GROW(str_off, uint32_t);
      if (c->cap == 0) c->str_off[0] = 0;
      if (c->hashed) GROW(hash, uint64_t);
      if (kind_name(c->kind)) {
        GROW(soundex, uint16_t);
        GROW(nysiis, uint32_t);
      }
      break;
    }
    c->cap = cap;
  }
  COMMIT(invalid, uint8_t);
  COMMIT(u64, uint64_t);
  COMMIT(i32, int32_t);
  COMMIT(i64, int64_t);
  COMMIT(u8, uint8_t);
  COMMIT(code32, uint32_t);
  COMMIT(str_off, uint32_t);
  COMMIT(hash, uint64_t);
  COMMIT(soundex, uint16_t);
  COMMIT(nysiis, uint32_t);
  return 0;
}

int tsr__col_push(tsr__col *c, const tsr__val *v) {
  uint64_t i = c->n;
  c->invalid[i] = v->invalid;
  switch (c->kind) {
  case TSR_KIND_NHS_NUMBER:
  case TSR_KIND_POSTCODE:
    c->u64[i] = v->u64;
    break;
  case TSR_KIND_DATE:
    c->i32[i] = v->i32;
    break;
  case TSR_KIND_INTEGER:
    c->i64[i] = v->i64;
    break;
  case TSR_KIND_SEX:
    c->u8[i] = v->u8;
    break;
  case TSR_KIND_CODE: {
    uint32_t id = 0;
    if (v->len) {
      id = tsr__dict_intern(&c->dict, v->s, v->len, v->hash);
      if (!id) return TSR_ENOMEM;
    }
    c->code32[i] = id;
    break;
  }
  default:
    if (c->str.len + v->len > UINT32_MAX) return TSR_ELIMIT;
    tsr__buf_put(&c->str, v->s, v->len);
    if (c->str.oom) return TSR_ENOMEM;
    c->str_off[i + 1] = (uint32_t)c->str.len;
    if (c->hashed) c->hash[i] = v->hash;
    if (kind_name(c->kind)) {
      c->soundex[i] = v->soundex;
      c->nysiis[i] = v->nysiis;
    }
    break;
  }
  c->n = i + 1;
  return 0;
}

int tsr__col_append(tsr__col *d, const tsr__col *s) {
  if (s->n == 0) return 0;
  TSR_FORWARD_IF_ERROR(tsr__col_reserve(d, s->n));
  uint64_t base = d->n, n = s->n;
  memcpy(d->invalid + base, s->invalid, n);
  switch (d->kind) {
  case TSR_KIND_NHS_NUMBER:
  case TSR_KIND_POSTCODE:
    memcpy(d->u64 + base, s->u64, n * sizeof *d->u64);
    break;
  case TSR_KIND_DATE:
    memcpy(d->i32 + base, s->i32, n * sizeof *d->i32);
    break;
  case TSR_KIND_INTEGER:
    memcpy(d->i64 + base, s->i64, n * sizeof *d->i64);
    break;
  case TSR_KIND_SEX:
    memcpy(d->u8 + base, s->u8, n);
    break;
  case TSR_KIND_CODE: {
    /* local ids -> store ids, in the segment's first-seen order */
    uint32_t *map = tsr__malloc(sizeof(uint32_t) * ((size_t)s->dict.n + 1));
    if (!map) return TSR_ENOMEM;
    map[0] = 0;
    for (uint32_t k = 1; k <= s->dict.n; k++) {
      map[k] = tsr__dict_intern(&d->dict, s->dict.bytes.p + s->dict.off[k - 1], s->dict.off[k] - s->dict.off[k - 1],
                                s->dict.hashes[k - 1]);
      if (!map[k]) {
        tsr__free(map);
        return TSR_ENOMEM;
      }
    }
    for (uint64_t r = 0; r < n; r++) d->code32[base + r] = map[s->code32[r]];
    tsr__free(map);
    break;
  }
  default: {
    size_t sbase = d->str.len;
    if (sbase + s->str.len > UINT32_MAX) return TSR_ELIMIT;
    tsr__buf_put(&d->str, s->str.p, s->str.len);
    if (d->str.oom) return TSR_ENOMEM;
    for (uint64_t r = 0; r < n; r++) d->str_off[base + r + 1] = (uint32_t)(sbase + s->str_off[r + 1]);
    if (d->hashed) memcpy(d->hash + base, s->hash, n * sizeof *d->hash);
    if (kind_name(d->kind)) {
      memcpy(d->soundex + base, s->soundex, n * sizeof *d->soundex);
      memcpy(d->nysiis + base, s->nysiis, n * sizeof *d->nysiis);
    }
    break;
  }
  }
  d->n += n;
  d->n_missing += s->n_missing;
  d->n_invalid += s->n_invalid;
  d->n_pseudo += s->n_pseudo;
  d->n_below_min += s->n_below_min;
  d->n_above_max += s->n_above_max;
  /* segments arrive in file order: the first examples overall are kept */
  for (uint32_t i = 0; i < s->n_ex && d->n_ex < TSR_INVALID_EXAMPLES; i++) d->ex[d->n_ex++] = s->ex[i];
  return 0;
}

#define SHRINK(field, type)                                                           \
  do {                                                                                \
    if (c->field) {                                                                   \
      type *np_ = tsr__realloc(c->field, sizeof(type) * (size_t)(rows ? rows : 1)); \
      if (np_) c->field = np_;                                                        \
    }                                                                                 \
  } while (0)

int tsr__col_finalize(tsr__col *c) {
  uint64_t rows = c->n;
  /* invalid flags -> bitmap */
  uint8_t *bits = tsr__calloc((size_t)((rows + 7) / 8) + 1, 1);
  if (!bits) return TSR_ENOMEM;
  for (uint64_t r = 0; r < rows; r++)
    if (c->invalid && c->invalid[r]) bits[r >> 3] |= (uint8_t)(1u << (r & 7));
  tsr__free(c->invalid);
  c->invalid = bits;
  SHRINK(u64, uint64_t);
  SHRINK(hash, uint64_t);
  SHRINK(i64, int64_t);
  SHRINK(i32, int32_t);
  SHRINK(u8, uint8_t);
  SHRINK(soundex, uint16_t);
  SHRINK(nysiis, uint32_t);
  if (c->str_off) {
    uint32_t *np = tsr__realloc(c->str_off, sizeof(uint32_t) * (size_t)(rows + 1));
    if (np) c->str_off = np;
  }
  if (c->str.p && c->str.len) {
    char *np = tsr__realloc(c->str.p, c->str.len);
    if (np) {
      c->str.p = np;
      c->str.cap = c->str.len;
    }
  }
  if (c->kind == TSR_KIND_CODE) {
    if (c->dict.n < 65535u) { /* narrow: most code columns have few values */
      c->code16 = tsr__malloc(sizeof(uint16_t) * (size_t)(rows ? rows : 1));
      if (!c->code16) return TSR_ENOMEM;
      for (uint64_t r = 0; r < rows; r++) c->code16[r] = (uint16_t)c->code32[r];
      tsr__free(c->code32);
      c->code32 = NULL;
    } else {
      SHRINK(code32, uint32_t);
    }
    /* the lookup table is not needed once the store is read-only */
    tsr__free(c->dict.slots);
    c->dict.slots = NULL;
    c->dict.mask = 0;
  }
  c->cap = rows;
  tsr_column *p = &c->pub;
  p->kind = c->kind;
  p->u64 = c->u64;
  p->i32 = c->i32;
  p->i64 = c->i64;
  p->u8 = c->u8;
  p->str = c->str.p ? c->str.p : "";
  p->str_off = c->str_off;
  p->hash = c->hash;
  p->soundex = c->soundex;
  p->nysiis = c->nysiis;
  p->code16 = c->code16;
  p->code32 = c->code32;
  p->dict = c->dict.bytes.p ? c->dict.bytes.p : "";
  p->dict_off = c->dict.off;
  p->dict_n = c->dict.n;
  p->invalid = c->invalid;
  p->n_missing = c->n_missing;
  p->n_invalid = c->n_invalid;
  p->n_pseudo = c->n_pseudo;
  p->n_below_min = c->n_below_min;
  p->n_above_max = c->n_above_max;
  p->n_examples = c->n_ex;
  memcpy(p->examples, c->ex, sizeof p->examples);
  c->finalized = 1;
  return 0;
}

size_t tsr__col_fixed_bytes(const tsr__col *c) {
  size_t per = 0;
  switch (c->kind) {
  case TSR_KIND_NHS_NUMBER:
  case TSR_KIND_POSTCODE:
    per = 8;
    break;
  case TSR_KIND_DATE:
    per = 4;
    break;
  case TSR_KIND_INTEGER:
    per = 8;
    break;
  case TSR_KIND_SEX:
    per = 1;
    break;
  case TSR_KIND_CODE:
    per = c->code16 ? 2 : 4;
    break;
  default:
    per = 4u + (c->hashed ? 8u : 0u) + (kind_name(c->kind) ? 6u : 0u);
    break;
  }
  return per * (size_t)c->n + (size_t)((c->n + 7) / 8);
}

size_t tsr__col_bytes(const tsr__col *c) {
  size_t b = tsr__col_fixed_bytes(c) + c->str.cap;
  if (c->kind == TSR_KIND_CODE)
    b += c->dict.bytes.cap + sizeof(uint32_t) * ((size_t)c->dict.cap + 1) + sizeof(uint64_t) * c->dict.cap;
  return b;
}

/* --- store ------------------------------------------------------------------------ */
tsr_store *tsr__store_new(const tsr_source_cfg *src) {
  tsr_store *s = tsr__calloc(1, sizeof *s);
  if (!s) return NULL;
  /* the store outlives the config: it keeps its own copies of the names */
  size_t nb = strlen(src->name) + 1;
  for (uint32_t i = 0; i < src->n_columns; i++)
    nb += strlen(src->columns[i].column) + strlen(src->columns[i].field) + 2;
  s->names = tsr__malloc(nb);
  s->cols = tsr__calloc(src->n_columns ? src->n_columns : 1, sizeof *s->cols);
  if (!s->names || !s->cols) {
    tsr_store_free(s);
    return NULL;
  }
  char *w = s->names;
  s->source = w;
  w = stpcpy(w, src->name) + 1;
  s->ncols = src->n_columns;
  s->id_col = -1;
  for (uint32_t i = 0; i < s->ncols; i++) {
    tsr__col_init(&s->cols[i], src->columns[i].kind);
    s->cols[i].pub.column = w;
    w = stpcpy(w, src->columns[i].column) + 1;
    s->cols[i].pub.field = w;
    w = stpcpy(w, src->columns[i].field) + 1;
    if (strcmp(src->columns[i].column, src->id_column) == 0) s->id_col = (int)i;
  }
  return s;
}

void tsr_store_free(tsr_store *s) {
  if (!s) return;
  for (uint32_t i = 0; s->cols && i < s->ncols; i++) tsr__col_free(&s->cols[i]);
  tsr__free(s->cols);
  tsr__free(s->names);
  tsr__free(s);
}

uint64_t tsr_store_rows(const tsr_store *s) { return s->n; }
const char *tsr_store_source(const tsr_store *s) { return s->source; }
uint32_t tsr_store_ncols(const tsr_store *s) { return s->ncols; }

const tsr_column *tsr_store_col(const tsr_store *s, uint32_t i) { return i < s->ncols ? &s->cols[i].pub : NULL; }

const tsr_column *tsr_store_field(const tsr_store *s, const char *field) {
  for (uint32_t i = 0; i < s->ncols; i++)
    if (strcmp(s->cols[i].pub.field, field) == 0) return &s->cols[i].pub;
  return NULL;
}

const tsr_column *tsr_store_kind(const tsr_store *s, tsr_field_kind kind) {
  for (uint32_t i = 0; i < s->ncols; i++)
    if (s->cols[i].pub.kind == kind) return &s->cols[i].pub;
  return NULL;
}

size_t tsr_store_bytes(const tsr_store *s) {
  size_t b = sizeof *s + sizeof(tsr__col) * s->ncols;
  for (uint32_t i = 0; i < s->ncols; i++) b += tsr__col_bytes(&s->cols[i]);
  return b;
}

double tsr_store_fixed_bytes_per_row(const tsr_store *s) {
  if (!s->n) return 0.0;
  size_t b = 0;
  for (uint32_t i = 0; i < s->ncols; i++) b += tsr__col_fixed_bytes(&s->cols[i]);
  return (double)b / (double)s->n;
}

tsr_view tsr_store_id(const tsr_store *s, uint64_t r) {
  static char buf[1] = {0};
  tsr_view v = {buf, 0};
  if (s->id_col < 0 || r >= s->n) return v;
  const tsr__col *c = &s->cols[s->id_col];
  if (c->str_off) {
    v.ptr = c->str.p + c->str_off[r];
    v.len = c->str_off[r + 1] - c->str_off[r];
  } else if (c->kind == TSR_KIND_CODE) {
    uint32_t id = c->code16 ? c->code16[r] : c->code32[r];
    if (id) {
      v.ptr = c->dict.bytes.p + c->dict.off[id - 1];
      v.len = c->dict.off[id] - c->dict.off[id - 1];
    }
  }
  return v;
}

void tsr_soundex_text(uint16_t code, char out[5]) { tsr__soundex_str(code, out); }
void tsr_nysiis_text(uint32_t code, char out[7]) { tsr__nysiis_str(code, out); }

static size_t put(char *buf, size_t cap, const char *s, size_t n) {
  if (cap == 0) return 0;
  if (n >= cap) n = cap - 1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  return n;
}

size_t tsr_column_text(const tsr_column *c, uint64_t r, char *buf, size_t cap) {
  char t[48];
  switch (c->kind) {
  case TSR_KIND_NHS_NUMBER:
    if (!c->u64[r]) return put(buf, cap, "", 0);
    return put(buf, cap, t, (size_t)snprintf(t, sizeof t, "%010llu", (unsigned long long)c->u64[r]));
  case TSR_KIND_POSTCODE:
    return put(buf, cap, t, tsr__postcode_text(c->u64[r], t));
  case TSR_KIND_DATE: {
    if (c->i32[r] == TSR_DATE_NONE) return put(buf, cap, "", 0);
    int y, m, d;
    tsr__ymd_from_days(c->i32[r], &y, &m, &d);
    return put(buf, cap, t, (size_t)snprintf(t, sizeof t, "%04d-%02d-%02d", y, m, d));
  }
  case TSR_KIND_INTEGER:
    if (c->i64[r] == TSR_INT_NONE) return put(buf, cap, "", 0);
    return put(buf, cap, t, (size_t)snprintf(t, sizeof t, "%lld", (long long)c->i64[r]));
  case TSR_KIND_SEX:
    return put(buf, cap, t, (size_t)snprintf(t, sizeof t, "%u", (unsigned)c->u8[r]));
  case TSR_KIND_CODE: {
    uint32_t id = c->code16 ? c->code16[r] : c->code32[r];
    if (!id) return put(buf, cap, "", 0);
    return put(buf, cap, c->dict + c->dict_off[id - 1], c->dict_off[id] - c->dict_off[id - 1]);
  }
  default:
    return put(buf, cap, c->str + c->str_off[r], c->str_off[r + 1] - c->str_off[r]);
  }
}

uint64_t tsr_store_digest(const tsr_store *s) {
  XXH3_state_t *st = XXH3_createState();
  if (!st) return 0;
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, &s->n, sizeof s->n);
  for (uint32_t i = 0; i < s->ncols; i++) {
    const tsr__col *c = &s->cols[i];
    size_t n = (size_t)c->n;
#define DIG(p, bytes) \
  if (p) XXH3_64bits_update(st, p, bytes)
    DIG(c->u64, n * 8);
    DIG(c->hash, n * 8);
    DIG(c->i64, n * 8);
    DIG(c->i32, n * 4);
    DIG(c->u8, n);
    DIG(c->soundex, n * 2);
    DIG(c->nysiis, n * 4);
    DIG(c->code16, n * 2);
    DIG(c->code32, n * 4);
    DIG(c->str_off, (n + 1) * 4);
    DIG(c->str.p, c->str.len);
    DIG(c->dict.bytes.p, c->dict.bytes.len);
    DIG(c->invalid, (n + 7) / 8);
#undef DIG
  }
  uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}
