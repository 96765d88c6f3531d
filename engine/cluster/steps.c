/* Deterministic step-down linkage (steps.h). */
#include "cluster/steps.h"

#include <omp.h>
#include <string.h>

#include "cluster/cluster.h"
#include "common/common_internal.h"

/* Allowed pairs among source counts c[0..ns): cross-source pairs if the
 * mode allows them, plus within-source pairs if it allows those. */
static uint64_t allowed_pairs(tsr_link_mode mode, const uint32_t *c, uint32_t ns) {
  uint64_t tot = 0, sq = 0, within = 0;
  for (uint32_t s = 0; s < ns; s++) {
    tot += c[s];
    sq += (uint64_t)c[s] * c[s];
    within += (uint64_t)c[s] * (c[s] ? c[s] - 1 : 0) / 2;
  }
  return (tsr__mode_allows(mode, 0) ? (tot * tot - sq) / 2 : 0) + (tsr__mode_allows(mode, 1) ? within : 0);
}

/* Whether a member of a block of sz records, same of them (itself
 * included) from its own source, has an allowed partner in the block. */
static inline int has_partner(tsr_link_mode mode, uint64_t sz, uint32_t same) {
  return (sz > same && tsr__mode_allows(mode, 0)) || (same > 1 && tsr__mode_allows(mode, 1));
}

static void top_insert(tsr__top_block *top, uint32_t *n, uint64_t size, uint32_t first, uint8_t capped) {
  /* kept sorted: size descending, then first ascending */
  uint32_t i = *n;
  if (i == TSR_TOP_BLOCKS) {
    const tsr__top_block *last = &top[i - 1];
    if (size < last->size || (size == last->size && first > last->first)) return;
    i--;
  } else {
    (*n)++;
  }
  while (i > 0 && (top[i - 1].size < size || (top[i - 1].size == size && top[i - 1].first > first))) {
    top[i] = top[i - 1];
    i--;
  }
  top[i] = (tsr__top_block){size, first, capped};
}

typedef struct local_stats {
  uint64_t capped_blocks, capped_records, ambiguous_blocks, ambiguous_records, pairs, linked_total, merged_blocks;
  uint64_t vetoed_blocks;
  uint64_t linked[TSR_MAX_SOURCES];
  tsr__top_block top[TSR_TOP_BLOCKS];
  uint32_t n_top;
} local_stats;

static int run_step(const tsr__recset *rs, const tsr_link_cfg *l, uint32_t k, uint64_t *keys, uint32_t *parent,
                    uint8_t *rule_of, tsr__step_stats *st, int threads, tsr_error *err) {
  const tsr_rule_cfg *r = &l->rules[k];
  const uint8_t tag = (uint8_t)(k + 1);
  const uint32_t ns = rs->nsrc;
  double t0 = tsr__now();
  /* sources outside the run take no part; one_to_one: matched records leave the pool */
  TSR_FORWARD_IF_ERROR(tsr__rule_keys(rs, r, l->source_mask, l->one_to_one ? rule_of : NULL, keys, threads, err));
  double t1 = tsr__now();
  tsr__blocks b;
  TSR_FORWARD_IF_ERROR(tsr__group(keys, rs->total, threads, &b, err));
  double t2 = tsr__now();
  st->eligible = b.eligible;
  st->blocks = b.n;
  st->partitions = b.partitions;
  st->threads = (uint32_t)threads;
  local_stats *ls = tsr__calloc((size_t)threads, sizeof *ls);
  if (!ls) {
    tsr__blocks_free(&b);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  }
  const uint64_t cap = l->max_block_size;
  const int64_t nb = (int64_t)b.n;
  const uint64_t *nhs[TSR_MAX_SOURCES] = {0}; /* valid NHS numbers per source, for the veto */
  for (uint32_t s = 0; l->nhs_veto && s < ns; s++) {
    const tsr_column *c = tsr_store_kind(rs->stores[s], TSR_KIND_NHS_NUMBER);
    nhs[s] = c ? c->u64 : NULL;
  }
  uint8_t *merge = r->merge && !l->one_to_one ? tsr__calloc((size_t)nb + 1, 1) : NULL;
  if (r->merge && !l->one_to_one && !merge) {
    tsr__free(ls);
    tsr__blocks_free(&b);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  }
  /* phase 1: decide from the start-of-step state; mark newly matched */
#pragma omp parallel num_threads(threads)
  {
    local_stats *me = &ls[omp_get_thread_num()];
    uint32_t call[TSR_MAX_SOURCES], cmatched[TSR_MAX_SOURCES];
#pragma omp for schedule(dynamic, 256)
    for (int64_t bi = 0; bi < nb; bi++) {
      const uint32_t *m = b.members + b.start[bi];
      const uint64_t sz = b.start[bi + 1] - b.start[bi];
      if (sz > cap) {
        me->capped_blocks++;
        me->capped_records += sz;
        top_insert(me->top, &me->n_top, sz, m[0], 1);
        continue;
      }
      top_insert(me->top, &me->n_top, sz, m[0], 0);
      memset(call, 0, sizeof call[0] * ns);
      memset(cmatched, 0, sizeof cmatched[0] * ns);
      uint32_t root = UINT32_MAX, nunmatched = 0;
      int ambiguous = 0, vetoed = 0;
      uint64_t nhs0 = 0;
      for (uint64_t i = 0; i < sz; i++) {
        uint32_t s = tsr__recset_src(rs, m[i]);
        call[s]++;
        if (nhs[s]) {
          uint64_t v = nhs[s][m[i] - rs->base[s]];
          if (v && nhs0 && v != nhs0) vetoed = 1;
          if (v) nhs0 = v;
        }
        if (rule_of[m[i]]) {
          cmatched[s]++;
          uint32_t rt = tsr__uf_find(parent, m[i]);
          if (root == UINT32_MAX)
            root = rt;
          else if (rt != root)
            ambiguous = 1;
        } else {
          nunmatched++;
        }
      }
      if (!nunmatched && !(merge && ambiguous)) continue;
      if (vetoed) { /* two different valid NHS numbers: these are not one patient */
        me->vetoed_blocks++;
        continue;
      }
      if (l->one_to_one) {
        /* matched records were excluded; exactly one of each source links */
        uint32_t nonzero = 0, ones = 0;
        for (uint32_t s = 0; s < ns; s++) {
          nonzero += call[s] > 0;
          ones += call[s] == 1;
        }
        if (nonzero < 2) continue;
        if (sz != 2 || ones != 2) {
          me->ambiguous_blocks++;
          me->ambiguous_records += sz;
          continue;
        }
        for (uint64_t i = 0; i < sz; i++) {
          rule_of[m[i]] = tag;
          me->linked[tsr__recset_src(rs, m[i])]++;
          me->linked_total++;
        }
        me->pairs++;
        continue;
      }
      if (ambiguous && !merge) {
        me->ambiguous_blocks++;
        me->ambiguous_records += nunmatched;
        continue;
      }
      if (ambiguous) { /* merge: the clusters join, with the block's unmatched records */
        merge[bi] = 1;
        me->merged_blocks++;
      }
      uint64_t newly = 0;
      for (uint64_t i = 0; i < sz; i++) {
        if (rule_of[m[i]]) continue;
        uint32_t s = tsr__recset_src(rs, m[i]);
        if (!has_partner(l->mode, sz, call[s])) continue;
        rule_of[m[i]] = tag;
        me->linked[s]++;
        newly++;
      }
      if (!newly) continue;
      me->linked_total += newly;
      me->pairs += allowed_pairs(l->mode, call, ns) - allowed_pairs(l->mode, cmatched, ns);
    }
  }
  /* phase 2: unions. Newly matched records join each other and the block's
   * (single) earlier cluster. */
#pragma omp parallel for num_threads(threads) schedule(dynamic, 256)
  for (int64_t bi = 0; bi < nb; bi++) {
    const uint32_t *m = b.members + b.start[bi];
    const uint64_t sz = b.start[bi + 1] - b.start[bi];
    if (sz > cap) continue;
    if (merge && merge[bi]) {
      /* every member with an allowed partner in the block joins one cluster */
      uint32_t call[TSR_MAX_SOURCES] = {0}, first = UINT32_MAX;
      for (uint64_t i = 0; i < sz; i++) call[tsr__recset_src(rs, m[i])]++;
      for (uint64_t i = 0; i < sz; i++) {
        if (!rule_of[m[i]] || !has_partner(l->mode, sz, call[tsr__recset_src(rs, m[i])])) continue;
        if (first == UINT32_MAX)
          first = m[i];
        else
          tsr__uf_union(parent, first, m[i]);
      }
      continue;
    }
    uint32_t anchor = UINT32_MAX, old = UINT32_MAX;
    for (uint64_t i = 0; i < sz; i++) {
      uint8_t t = rule_of[m[i]];
      if (t == tag) {
        if (anchor == UINT32_MAX)
          anchor = m[i];
        else
          tsr__uf_union(parent, anchor, m[i]);
      } else if (t && old == UINT32_MAX) {
        old = m[i];
      }
    }
    if (anchor != UINT32_MAX && old != UINT32_MAX && !l->one_to_one) tsr__uf_union(parent, anchor, old);
  }
  for (int t = 0; t < threads; t++) {
    st->capped_blocks += ls[t].capped_blocks;
    st->capped_records += ls[t].capped_records;
    st->ambiguous_blocks += ls[t].ambiguous_blocks;
    st->ambiguous_records += ls[t].ambiguous_records;
    st->pairs += ls[t].pairs;
    st->linked_total += ls[t].linked_total;
    st->merged_blocks += ls[t].merged_blocks;
    st->vetoed_blocks += ls[t].vetoed_blocks;
    for (uint32_t s = 0; s < ns; s++) st->linked[s] += ls[t].linked[s];
    for (uint32_t i = 0; i < ls[t].n_top; i++)
      top_insert(st->top, &st->n_top, ls[t].top[i].size, ls[t].top[i].first, ls[t].top[i].capped);
  }
  tsr__free(ls);
  tsr__free(merge);
  tsr__blocks_free(&b);
  double t3 = tsr__now();
  st->seconds_keys = t1 - t0;
  st->seconds_group = t2 - t1;
  st->seconds_link = t3 - t2;
  return 0;
}

int tsr__run_steps(const tsr__recset *rs, const tsr_link_cfg *l, uint32_t *parent, uint8_t *rule_of,
                   tsr__step_stats *stats, int threads, tsr_error *err) {
  if (l->n_rules > 254) return tsr_error_set(err, TSR_ECONFIG, NULL, 0, 0, "at most 254 deterministic rules");
  if (rs->total >= UINT32_MAX) return tsr_error_set(err, TSR_ELIMIT, NULL, 0, 0, "more than 4,294,967,294 records");
  threads = tsr__threads(threads);
  uint64_t *keys = tsr__malloc(sizeof *keys * (rs->total ? rs->total : 1));
  if (!keys) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory for %llu keys", (unsigned long long)rs->total);
  int rc = 0;
  for (uint32_t k = 0; k < l->n_rules && !rc; k++) {
    memset(&stats[k], 0, sizeof stats[k]);
    rc = run_step(rs, l, k, keys, parent, rule_of, &stats[k], threads, err);
  }
  tsr__free(keys);
  return rc;
}
