/* Agreement-pattern counts: an open-addressing table per thread, merged
 * into one array sorted by pattern, the only input EM reads. A million pairs
 * hold a few hundred distinct patterns, so the tables stay in cache.
 *
 * DESIGN
 *   slot i: pat[i], cnt[i]; cnt 0 marks an empty slot (every stored count
 *   is > 0), so pattern 0 (all null) needs no sentinel. Linear probing from
 *   mix64(pattern); the table doubles before it is half full. Counts are
 *   integers, so the merge's sums do not depend on the order of the parts;
 *   sorting by pattern fixes the order of everything after. */
#include <stdlib.h>
#include <string.h>

#include "common/common_internal.h"
#include "common/rng.h"
#include "model/model.h"

static int alloc_slots(tsr__pcount *t, uint32_t cap) {
  t->pat = tsr__malloc((size_t)cap * sizeof *t->pat);
  t->cnt = tsr__calloc(cap, sizeof *t->cnt);
  if (!t->pat || !t->cnt) {
    tsr__free(t->pat);
    tsr__free(t->cnt);
    t->pat = NULL;
    t->cnt = NULL;
    return TSR_ENOMEM;
  }
  t->cap = cap;
  t->n = 0;
  return 0;
}

int tsr__pcount_init(tsr__pcount *t, uint32_t expect) {
  memset(t, 0, sizeof *t);
  uint32_t cap = 64;
  while (cap < 2u * expect && cap < (1u << 31)) cap <<= 1;
  return alloc_slots(t, cap);
}

static inline uint32_t slot_of(const tsr__pcount *t, uint32_t p) {
  return (uint32_t)tsr__mix64(p) & (t->cap - 1u);
}

static void put(tsr__pcount *t, uint32_t p, uint64_t n) {
  uint32_t i = slot_of(t, p);
  while (t->cnt[i] && t->pat[i] != p) i = (i + 1u) & (t->cap - 1u);
  if (!t->cnt[i]) {
    t->pat[i] = p;
    t->n++;
  }
  t->cnt[i] += n;
}

static int grow(tsr__pcount *t) {
  tsr__pcount old = *t;
  if (old.cap >= (1u << 31)) return TSR_ENOMEM;
  if (alloc_slots(t, old.cap * 2u) < 0) {
    *t = old;
    return TSR_ENOMEM;
  }
  for (uint32_t i = 0; i < old.cap; i++)
    if (old.cnt[i]) put(t, old.pat[i], old.cnt[i]);
  tsr__free(old.pat);
  tsr__free(old.cnt);
  return 0;
}

int tsr__pcount_add(tsr__pcount *t, uint32_t p, uint64_t n) {
  if (!n) return 0;
  if (2u * (t->n + 1u) > t->cap && tsr__pcount_get(t, p) == 0) TSR_FORWARD_IF_ERROR(grow(t));
  put(t, p, n);
  return 0;
}

uint64_t tsr__pcount_get(const tsr__pcount *t, uint32_t p) {
  if (!t->cap) return 0;
  uint32_t i = slot_of(t, p);
  while (t->cnt[i]) {
    if (t->pat[i] == p) return t->cnt[i];
    i = (i + 1u) & (t->cap - 1u);
  }
  return 0;
}

void tsr__pcount_free(tsr__pcount *t) {
  if (!t) return;
  tsr__free(t->pat);
  tsr__free(t->cnt);
  memset(t, 0, sizeof *t);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

int tsr__pcount_merge(const tsr__pcount *const *parts, uint32_t nparts, tsr__patterns *out) {
  memset(out, 0, sizeof *out);
  uint32_t expect = 0;
  for (uint32_t i = 0; i < nparts; i++)
    if (parts[i]) expect += parts[i]->n;
  tsr__pcount all;
  TSR_FORWARD_IF_ERROR(tsr__pcount_init(&all, expect));
  for (uint32_t i = 0; i < nparts; i++) {
    const tsr__pcount *t = parts[i];
    if (!t) continue;
    for (uint32_t s = 0; s < t->cap; s++)
      if (t->cnt[s]) {
        int rc = tsr__pcount_add(&all, t->pat[s], t->cnt[s]);
        if (rc < 0) {
          tsr__pcount_free(&all);
          return rc;
        }
      }
  }
  out->pat = tsr__malloc(((size_t)all.n + 1) * sizeof *out->pat);
  out->cnt = tsr__malloc(((size_t)all.n + 1) * sizeof *out->cnt);
  if (!out->pat || !out->cnt) {
    tsr__pcount_free(&all);
    tsr__patterns_free(out);
    return TSR_ENOMEM;
  }
  uint32_t n = 0;
  for (uint32_t s = 0; s < all.cap; s++)
    if (all.cnt[s]) out->pat[n++] = all.pat[s];
  qsort(out->pat, n, sizeof *out->pat, cmp_u32);
  for (uint32_t i = 0; i < n; i++) {
    out->cnt[i] = tsr__pcount_get(&all, out->pat[i]);
    out->total += out->cnt[i];
  }
  out->n = n;
  tsr__pcount_free(&all);
  return 0;
}

void tsr__patterns_free(tsr__patterns *p) {
  if (!p) return;
  tsr__free(p->pat);
  tsr__free(p->cnt);
  memset(p, 0, sizeof *p);
}
