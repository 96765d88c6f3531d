/* Lock-free union-find and deterministic cluster numbering (cluster.h). */
#include "cluster/cluster.h"

#include <omp.h>

#include "common/common_internal.h"

void tsr__uf_init(uint32_t *parent, uint64_t n, int threads) {
  threads = tsr__threads(threads);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < (int64_t)n; i++) parent[i] = (uint32_t)i;
}

uint64_t tsr__uf_label(uint32_t *parent, uint64_t n, int64_t *pid, int threads) {
  if (n == 0) return 0;
  threads = tsr__threads(threads);
  uint64_t chunks[257] = {0};
  int T = threads > 256 ? 256 : threads, used = 1;
  /* pass 1: roots (no unions run now, so find is exact); count roots per range */
#pragma omp parallel num_threads(T)
  {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    uint64_t lo = n * (uint64_t)t / (uint64_t)nt, hi = n * (uint64_t)(t + 1) / (uint64_t)nt, c = 0;
    for (uint64_t i = lo; i < hi; i++) {
      uint32_t r = tsr__uf_find(parent, (uint32_t)i);
      if (r == i) c++;
    }
    chunks[t + 1] = c;
#pragma omp barrier
#pragma omp single
    {
      for (int k = 1; k <= nt; k++) chunks[k] += chunks[k - 1];
      used = nt;
    }
    /* pass 2: number roots in order */
    int64_t next = (int64_t)chunks[t];
    for (uint64_t i = lo; i < hi; i++)
      if (parent[i] == i) pid[i] = ++next;
#pragma omp barrier
    /* pass 3: every record takes its root's number; roots precede members */
    for (uint64_t i = lo; i < hi; i++) {
      uint32_t r = tsr__uf_find(parent, (uint32_t)i);
      parent[i] = r;
      pid[i] = pid[r];
    }
  }
  return chunks[used];
}
