/* Per-patient facts of a linkage (tessera/run.h): records per patient and per
 * source, the event-date range (first/last seen) and the range of valid NHS
 * numbers, whose ends differ when a cluster holds a conflict.
 *
 * DESIGN
 *   One pass per source over its records, in parallel. Counts use atomic
 *   adds and the ranges atomic min/max, whose results do not depend on the
 *   order of updates, so the facts are the same at any thread count. The
 *   sentinels used while folding (INT32_MAX, UINT64_MAX) are then turned into
 *   the public "none" values (TSR_DATE_NONE, 0). */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "common/common_internal.h"
#include "run/run_internal.h"

#define TSR__MAX_EVENT_DATES 16

/* Atomic min and max: the result does not depend on the order of updates. */
#define TSR__ATOMIC_EXTREME(name, type, better)                                                              \
  static inline void name(type *p, type v) {                                                                 \
    type cur = __atomic_load_n(p, __ATOMIC_RELAXED);                                                          \
    while (v better cur && !__atomic_compare_exchange_n(p, &cur, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) { \
    }                                                                                                         \
  }
TSR__ATOMIC_EXTREME(atomic_min_i32, int32_t, <)
TSR__ATOMIC_EXTREME(atomic_max_i32, int32_t, >)
TSR__ATOMIC_EXTREME(atomic_min_u64, uint64_t, <)
TSR__ATOMIC_EXTREME(atomic_max_u64, uint64_t, >)

int tsr__run_facts(tsr_linkage *L, tsr_error *err) {
  const uint32_t ns = L->ns;
  const uint64_t np = L->facts.n;
  L->pby_source = tsr__calloc(np * ns + 1, sizeof *L->pby_source);
  L->precords = tsr__calloc(np + 1, sizeof *L->precords);
  L->pfirst = tsr__malloc(sizeof *L->pfirst * (np + 1));
  L->plast = tsr__malloc(sizeof *L->plast * (np + 1));
  L->nhs_min = tsr__malloc(sizeof *L->nhs_min * (np + 1));
  L->nhs_max = tsr__calloc(np + 1, sizeof *L->nhs_max);
  if (!L->pby_source || !L->precords || !L->pfirst || !L->plast || !L->nhs_min || !L->nhs_max)
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory for %llu patients", (unsigned long long)np);
#pragma omp parallel for num_threads(L->threads) schedule(static)
  for (int64_t p = 0; p < (int64_t)np; p++) {
    L->pfirst[p] = INT32_MAX;
    L->plast[p] = INT32_MIN;
    L->nhs_min[p] = UINT64_MAX;
  }
  for (uint32_t s = 0; s < ns; s++) {
    const tsr_store *st = L->stores[s];
    const tsr_source_cfg *sc = &L->cfg->sources[s];
    const tsr_column *ev[TSR__MAX_EVENT_DATES];
    uint32_t nev = 0;
    for (uint32_t e = 0; e < sc->n_event_dates && nev < TSR__MAX_EVENT_DATES; e++) {
      const tsr_column *c = tsr_store_field(st, sc->event_dates[e]);
      if (c) ev[nev++] = c;
    }
    const tsr_column *nhs = tsr_store_kind(st, TSR_KIND_NHS_NUMBER);
    const uint64_t base = L->base[s];
    const int64_t n = (int64_t)tsr_store_rows(st);
#pragma omp parallel for num_threads(L->threads) schedule(static)
    for (int64_t r = 0; r < n; r++) {
      uint64_t p = (uint64_t)L->pid[base + (uint64_t)r] - 1;
      __atomic_fetch_add(&L->pby_source[p * ns + s], 1, __ATOMIC_RELAXED);
      __atomic_fetch_add(&L->precords[p], 1, __ATOMIC_RELAXED);
      for (uint32_t e = 0; e < nev; e++) {
        int32_t d = ev[e]->i32[r];
        if (d == TSR_DATE_NONE) continue;
        atomic_min_i32(&L->pfirst[p], d);
        atomic_max_i32(&L->plast[p], d);
      }
      if (nhs && nhs->u64[r]) {
        atomic_min_u64(&L->nhs_min[p], nhs->u64[r]);
        atomic_max_u64(&L->nhs_max[p], nhs->u64[r]);
      }
    }
  }
  uint64_t linked = 0, total = 0;
#pragma omp parallel for num_threads(L->threads) schedule(static) reduction(+ : linked, total)
  for (int64_t p = 0; p < (int64_t)np; p++) {
    assert(L->precords[p] > 0 && "every patient id names a cluster with records");
    if (L->pfirst[p] == INT32_MAX) L->pfirst[p] = L->plast[p] = TSR_DATE_NONE;
    if (L->nhs_min[p] == UINT64_MAX) L->nhs_min[p] = 0;
    if (L->precords[p] > 1) linked += L->precords[p];
    total += L->precords[p];
  }
  assert(total == L->nrec && "every record counted once");
  (void)total;
  L->linked = linked;
  L->facts.nsrc = ns;
  L->facts.records = L->precords;
  L->facts.by_source = L->pby_source;
  L->facts.first_seen = L->pfirst;
  L->facts.last_seen = L->plast;
  L->facts.nhs_min = L->nhs_min;
  L->facts.nhs_max = L->nhs_max;
  return 0;
}
