/* String-similarity micro-benchmark: Jaro-Winkler and bounded Levenshtein and
 * Damerau-Levenshtein on realistic name pairs, pairs per second on one core.
 * The pairs come from datasets/names (surnames and given names, drawn by
 * their weights): a third identical, a third the same name with one to two
 * typing errors (substitution, insertion, deletion, adjacent swap), a third
 * two unrelated names, as candidate pairs from blocking look. One warm-up and
 * N timed runs per function; every run must give the same checksum (so the
 * work cannot be optimised away; the unbounded sums equal DuckDB's). CSV on stdout. --pairs-out writes the pairs
 * as CSV for bench/strsim_duckdb.mjs, which times DuckDB on the same pairs.
 *
 * usage: bench_strsim [--names DIR] [--pairs N] [--runs R] [--seed S] [--pairs-out FILE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_internal.h"
#include "common/rng.h"
#include "compare/strsim.h"

typedef struct names {
  char (*s)[32];
  double *cum; /* cumulative weights */
  size_t n;
} names;

static int load(names *t, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return -1;
  }
  char line[256];
  size_t cap = 4096;
  t->s = malloc(cap * sizeof *t->s);
  t->cum = malloc(cap * sizeof *t->cum);
  t->n = 0;
  double total = 0;
  if (!fgets(line, sizeof line, f) || !t->s || !t->cum) { /* the header */
    fclose(f);
    return -1;
  }
  while (fgets(line, sizeof line, f) && t->n < cap) {
    char *comma = strchr(line, ',');
    if (!comma) continue;
    *comma = '\0';
    size_t k = 0;
    for (char *p = line; *p && k < 31; p++) { /* standardised: upper case letters, spaces, hyphens */
      char c = *p;
      if (c >= 'a' && c <= 'z') c = (char)(c - 32);
      if ((c >= 'A' && c <= 'Z') || c == ' ' || c == '-' || c == '\'') t->s[t->n][k++] = c;
    }
    t->s[t->n][k] = '\0';
    total += atof(comma + 1);
    t->cum[t->n++] = total;
  }
  fclose(f);
  return t->n ? 0 : -1;
}

static const char *draw(const names *t, tsr__rng *g) {
  double x = tsr__rng_unit(g) * t->cum[t->n - 1];
  size_t lo = 0, hi = t->n - 1;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (t->cum[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return t->s[lo];
}

typedef struct pairset {
  char (*a)[40], (*b)[40];
  uint8_t *la, *lb;
  size_t n;
} pairset;

static void typo(char *s, tsr__rng *g) {
  size_t n = strlen(s);
  if (n < 2) return;
  size_t p = (size_t)tsr__rng_below(g, n);
  switch (tsr__rng_below(g, 4)) {
  case 0: s[p] = (char)('A' + tsr__rng_below(g, 26)); break;
  case 1:
    if (n < 38) {
      memmove(s + p + 1, s + p, n - p + 1);
      s[p] = (char)('A' + tsr__rng_below(g, 26));
    }
    break;
  case 2: memmove(s + p, s + p + 1, n - p); break;
  default:
    if (p + 1 < n) {
      char c = s[p];
      s[p] = s[p + 1];
      s[p + 1] = c;
    }
  }
}

int main(int argc, char **argv) {
  const char *dir = "datasets/names", *out = NULL;
  size_t npairs = 1000000;
  int runs = 5;
  uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--names") == 0) dir = argv[i + 1];
    else if (strcmp(argv[i], "--pairs") == 0) npairs = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--runs") == 0) runs = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--pairs-out") == 0) out = argv[i + 1];
    else {
      fprintf(stderr, "usage: bench_strsim [--names DIR] [--pairs N] [--runs R] [--seed S] [--pairs-out FILE]\n");
      return 2;
    }
  }
  names sur, giv;
  char path[1024];
  snprintf(path, sizeof path, "%s/surnames.csv", dir);
  if (load(&sur, path)) return 1;
  snprintf(path, sizeof path, "%s/given_female.csv", dir);
  if (load(&giv, path)) return 1;

  pairset P = {malloc(npairs * sizeof *P.a), malloc(npairs * sizeof *P.b), malloc(npairs), malloc(npairs), npairs};
  tsr__rng g;
  tsr__rng_init(&g, seed, 0x5753, 0);
  for (size_t i = 0; i < npairs; i++) {
    const names *t = tsr__rng_chance(&g, 0.5) ? &sur : &giv;
    snprintf(P.a[i], sizeof P.a[i], "%s", draw(t, &g));
    uint64_t kind = tsr__rng_below(&g, 3);
    if (kind == 2) snprintf(P.b[i], sizeof P.b[i], "%s", draw(t, &g));
    else {
      memcpy(P.b[i], P.a[i], sizeof P.a[i]);
      if (kind == 1) {
        typo(P.b[i], &g);
        if (tsr__rng_chance(&g, 0.3)) typo(P.b[i], &g);
      }
    }
    P.la[i] = (uint8_t)strlen(P.a[i]);
    P.lb[i] = (uint8_t)strlen(P.b[i]);
  }
  if (out) {
    FILE *f = fopen(out, "w");
    if (!f) return 1;
    fprintf(f, "a,b\n");
    for (size_t i = 0; i < npairs; i++) fprintf(f, "\"%s\",\"%s\"\n", P.a[i], P.b[i]);
    fclose(f);
  }

  printf("bench,pairs,run,seconds,pairs_per_s,checksum\n");
  static const char *fn[] = {"jaro_winkler", "jaro_winkler_scalar", "jw_ge_0.88_with_bound", "lev_bounded_2",
                             "lev_unbounded", "dl_bounded_2", "dl_unbounded"};
  for (size_t k = 0; k < sizeof fn / sizeof fn[0]; k++) {
    double first = -1;
    for (int r = -1; r < runs; r++) {
      double t0 = tsr__now(), sum = 0;
      for (size_t i = 0; i < npairs; i++) {
        const char *a = P.a[i], *b = P.b[i];
        size_t la = P.la[i], lb = P.lb[i];
        switch (k) {
        case 0: sum += tsr__jaro_winkler(a, la, b, lb); break;
        case 1: sum += tsr__jaro_winkler_scalar(a, la, b, lb); break;
        case 2: /* a comparison level: skip pairs whose lengths cannot reach it */
          sum += tsr__jw_upper_bound(la, lb) >= 0.88 && tsr__jaro_winkler(a, la, b, lb) >= 0.88;
          break;
        case 3: sum += (double)tsr__lev_bounded(a, la, b, lb, 2); break;
        case 4: sum += (double)tsr__lev(a, la, b, lb); break;
        case 5: sum += (double)tsr__dl_bounded(a, la, b, lb, 2); break;
        default: sum += (double)tsr__dl(a, la, b, lb); break;
        }
      }
      double dt = tsr__now() - t0;
      if (r < 0) {
        first = sum;
        continue;
      }
      if (sum != first) {
        fprintf(stderr, "%s: checksum changed between runs\n", fn[k]);
        return 1;
      }
      printf("%s,%zu,%d,%.4f,%.0f,%.6f\n", fn[k], npairs, r, dt, (double)npairs / dt, sum);
    }
  }
  free(P.a);
  free(P.b);
  free(P.la);
  free(P.lb);
  free(sur.s);
  free(sur.cum);
  free(giv.s);
  free(giv.cum);
  return 0;
}
