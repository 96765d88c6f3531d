/* Model-core micro-benchmark (engine/model): scoring agreement patterns with
 * the per-pattern weight table against the plain loop over comparisons,
 * counting patterns into a table, and one EM fit over the counts. The model
 * is the default shape: 8 comparisons of 6 levels (null, 4
 * agreement levels, else), so patterns take 24 bits. Patterns are drawn from
 * a pool of distinct patterns with skewed frequencies, as candidate pairs
 * give them. One warm-up and N timed runs each; every run must give the same
 * checksum, so the work cannot be optimised away. CSV on stdout, one core.
 *
 * usage: bench_model [--patterns N] [--distinct D] [--runs R] [--seed S] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_internal.h"
#include "common/rng.h"
#include "model/model.h"

#define K 8
#define L 6

static double now(void) { return tsr__now(); }

static uint32_t random_pattern(const tsr__model *md, tsr__rng *r) {
  uint8_t lv[K];
  for (uint32_t k = 0; k < K; k++) {
    /* mostly "else", then agreement levels, some nulls */
    double x = tsr__rng_unit(r);
    lv[k] = (uint8_t)(x < 0.05 ? 0 : x < 0.55 ? L - 1 : 1 + tsr__rng_below(r, L - 2));
  }
  return tsr__pattern_pack(md, lv);
}

int main(int argc, char **argv) {
  uint64_t n = 20000000, distinct = 2000, runs = 3, seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    uint64_t v = strtoull(argv[i + 1], NULL, 10);
    if (strcmp(argv[i], "--patterns") == 0) n = v;
    else if (strcmp(argv[i], "--distinct") == 0) distinct = v;
    else if (strcmp(argv[i], "--runs") == 0) runs = v;
    else if (strcmp(argv[i], "--seed") == 0) seed = v;
    else {
      fprintf(stderr, "usage: bench_model [--patterns N] [--distinct D] [--runs R] [--seed S]\n");
      return 2;
    }
  }
  if (!n || !distinct || !runs) return 2;
  tsr__model md;
  uint8_t nlev[K];
  for (int k = 0; k < K; k++) nlev[k] = L;
  tsr_error err;
  if (tsr__model_init(&md, K, nlev, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  for (uint32_t k = 0; k < K; k++) {
    tsr__model_prior_m(&md, k, 0.9);
    md.u[k][1] = 0.001;
    md.u[k][2] = 0.01;
    md.u[k][3] = 0.02;
    md.u[k][4] = 0.05;
    md.u[k][5] = 0.919;
  }
  md.lambda = 0.001;
  tsr__model_weights(&md);
  tsr__wtable wt;
  if (tsr__wtable_build(&md, &wt)) return 1;

  /* the pool, then n draws from it with Zipf-like weights (index^-1) */
  tsr__rng r;
  tsr__rng_init(&r, seed, 0, 0);
  uint32_t *pool = malloc(sizeof *pool * distinct), *pat = malloc(sizeof *pat * n);
  double *cum = malloc(sizeof *cum * distinct);
  if (!pool || !pat || !cum) return 1;
  double c = 0;
  for (uint64_t i = 0; i < distinct; i++) {
    pool[i] = random_pattern(&md, &r);
    c += 1.0 / (double)(i + 1);
    cum[i] = c;
  }
  for (uint64_t i = 0; i < n; i++) {
    double x = tsr__rng_unit(&r) * c;
    uint64_t lo = 0, hi = distinct - 1;
    while (lo < hi) {
      uint64_t mid = (lo + hi) / 2;
      if (cum[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    pat[i] = pool[lo];
  }

  printf("bench,run,seconds,items,items_per_s,checksum\n");
  double ref_table = 0, ref_loop = 0;
  uint64_t ref_count = 0;
  for (uint64_t run = 0; run <= runs; run++) { /* run 0 is the warm-up */
    double t0 = now(), s = 0;
    for (uint64_t i = 0; i < n; i++) s += tsr__wtable_score(&wt, pat[i]);
    double t1 = now();
    if (run == 0) ref_table = s;
    else if (s != ref_table) return fprintf(stderr, "weight table: checksum changed\n"), 1;
    if (run) printf("wtable_score,%llu,%.4f,%llu,%.0f,%.6f\n", (unsigned long long)run, t1 - t0,
                    (unsigned long long)n, (double)n / (t1 - t0), s);
    t0 = now();
    s = 0;
    for (uint64_t i = 0; i < n; i++) s += tsr__model_score(&md, pat[i]);
    t1 = now();
    if (run == 0) ref_loop = s;
    else if (s != ref_loop) return fprintf(stderr, "model score: checksum changed\n"), 1;
    if (s != ref_table) return fprintf(stderr, "weight table and loop disagree\n"), 1;
    if (run) printf("model_score_loop,%llu,%.4f,%llu,%.0f,%.6f\n", (unsigned long long)run, t1 - t0,
                    (unsigned long long)n, (double)n / (t1 - t0), s);
    tsr__pcount pc;
    if (tsr__pcount_init(&pc, 1024)) return 1;
    t0 = now();
    for (uint64_t i = 0; i < n; i++)
      if (tsr__pcount_add(&pc, pat[i], 1)) return 1;
    t1 = now();
    if (run == 0) ref_count = pc.n;
    else if (pc.n != ref_count) return fprintf(stderr, "pattern count: distinct patterns changed\n"), 1;
    if (run) printf("pcount_add,%llu,%.4f,%llu,%.0f,%u\n", (unsigned long long)run, t1 - t0, (unsigned long long)n,
                    (double)n / (t1 - t0), pc.n);
    const tsr__pcount *parts[1] = {&pc};
    tsr__patterns pt;
    memset(&pt, 0, sizeof pt);
    if (tsr__pcount_merge(parts, 1, &pt)) return 1;
    tsr__em_opts eo;
    tsr__em_opts_init(&eo);
    tsr__em_result er;
    memset(&er, 0, sizeof er);
    t0 = now();
    if (tsr__em_fit(&md, &pt, &eo, &er, &err)) return fprintf(stderr, "em: %s\n", err.msg), 1;
    t1 = now();
    if (run)
      printf("em_fit_per_iteration,%llu,%.7f,%u,%.0f,%.6f\n", (unsigned long long)run,
             (t1 - t0) / (er.iterations ? er.iterations : 1), pt.n, (double)er.iterations / (t1 - t0), er.lambda);
    tsr__em_result_free(&er);
    tsr__patterns_free(&pt);
    tsr__pcount_free(&pc);
  }
  tsr__wtable_free(&wt);
  free(pool);
  free(pat);
  free(cum);
  return 0;
}
