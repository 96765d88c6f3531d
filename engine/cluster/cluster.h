/* Cluster stage: a lock-free union-find over global record ids, and the
 * patient ids derived from it.
 *
 * DESIGN
 *   parent[] holds one u32 per record. union(a, b) finds both roots and
 *   hangs the larger root under the smaller with a compare-and-swap,
 *   retrying if another thread moved either root first; find() halves paths
 *   as it goes (a benign race: any ancestor is a valid parent). Because a
 *   root only ever points at a smaller id, every cluster's root is its
 *   smallest member, whatever order the unions ran in. Patient ids number
 *   the roots in ascending order (1, 2, ...), so they depend only on which
 *   records are connected, never on thread timing. */
#ifndef TSR_CLUSTER_H
#define TSR_CLUSTER_H

#include <stdint.h>

#include "tessera/common.h"

/* parent[i] = i for i < n, in parallel. threads: 0 = all cores. */
void tsr__uf_init(uint32_t *parent, uint64_t n, int threads);

static inline uint32_t tsr__uf_find(uint32_t *parent, uint32_t x) {
  for (;;) {
    uint32_t p = __atomic_load_n(&parent[x], __ATOMIC_RELAXED);
    if (p == x) return x;
    uint32_t gp = __atomic_load_n(&parent[p], __ATOMIC_RELAXED);
    if (gp != p) __atomic_compare_exchange_n(&parent[x], &p, gp, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    x = gp;
  }
}

/* Joins the clusters of a and b; safe from many threads at once. Returns 1
 * when two clusters were merged, 0 when they were already one. */
static inline int tsr__uf_union(uint32_t *parent, uint32_t a, uint32_t b) {
  for (;;) {
    a = tsr__uf_find(parent, a);
    b = tsr__uf_find(parent, b);
    if (a == b) return 0;
    if (a > b) {
      uint32_t t = a;
      a = b;
      b = t;
    }
    uint32_t expect = b;
    if (__atomic_compare_exchange_n(&parent[b], &expect, a, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) return 1;
  }
}

/* Flattens parent[] so parent[i] is i's root (its cluster's smallest
 * member), then numbers clusters: pid[i] = 1 + rank of the root among all
 * roots. Returns the number of clusters. pid may alias nothing else.
 * threads: 0 = all cores. */
uint64_t tsr__uf_label(uint32_t *parent, uint64_t n, int64_t *pid, int threads);

#endif
