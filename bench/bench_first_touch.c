/* What first-touch memory costs on this machine: fill a fresh anonymous
 * mapping, the same mapping again (pages now present), a fresh mapping
 * prefaulted with MADV_POPULATE_WRITE, and one asking for transparent huge
 * pages (MADV_HUGEPAGE). The record store is written into
 * fresh memory, so this bounds what ingest can save.
 * usage: bench_first_touch [MB=256] [runs=3]   (CSV on stdout) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  size_t mb = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 256;
  int runs = argc > 2 ? atoi(argv[2]) : 3;
  size_t n = mb << 20;
  printf("bench,mb,run,fresh_s,touched_s,populated_s,hugepage_s,fresh_ms_per_mb\n");
  for (int r = 0; r < runs; r++) {
    char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *q = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *h = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || q == MAP_FAILED || h == MAP_FAILED) return 1;
    double t0 = now();
    memset(p, 1, n);
    double t1 = now();
    memset(p, 2, n);
    double t2 = now();
#ifdef MADV_POPULATE_WRITE
    madvise(q, n, MADV_POPULATE_WRITE);
#endif
    memset(q, 3, n);
    double t3 = now();
    madvise(h, n, MADV_HUGEPAGE);
    memset(h, 4, n);
    double t4 = now();
    printf("first_touch,%zu,%d,%.4f,%.4f,%.4f,%.4f,%.3f\n", mb, r, t1 - t0, t2 - t1, t3 - t2, t4 - t3,
           (t1 - t0) * 1e3 / (double)mb);
    if (p[n - 1] != 2 || q[n / 2] != 3 || h[0] != 4) return 1;
    munmap(h, n);
    munmap(p, n);
    munmap(q, n);
  }
  return 0;
}
