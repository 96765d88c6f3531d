/* The scoring benchmarks' run config: DIR/link.json (as `tessera generate`
 * wrote it) with "rules": "hesid" replaced by the benchmark's own blocking
 * rules, written as DIR/NAME. Shared by bench_score.c and bench_score_dump.c,
 * so both score the same candidate pairs. */
#ifndef TSR_BENCH_CONFIG_H
#define TSR_BENCH_CONFIG_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *bench_slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
    free(s);
    s = NULL;
  }
  if (s) s[n] = 0;
  fclose(f);
  return s;
}

/* 0, or -1 with the reason on stderr; out receives the written path. */
static int bench_write_config(const char *dir, const char *name, const char *rules, char *out, size_t cap) {
  char in[1024];
  snprintf(in, sizeof in, "%s/link.json", dir);
  char *s = bench_slurp(in);
  if (!s) return fprintf(stderr, "cannot read %s\n", in), -1;
  const char *key = "\"rules\": \"hesid\"";
  char *p = strstr(s, key);
  if (!p) return fprintf(stderr, "%s: no %s\n", in, key), free(s), -1;
  snprintf(out, cap, "%s/%s", dir, name);
  FILE *f = fopen(out, "wb");
  if (!f) return fprintf(stderr, "cannot write %s\n", out), free(s), -1;
  fwrite(s, 1, (size_t)(p - s), f);
  fprintf(f, "\"rules\": %s", rules);
  fputs(p + strlen(key), f);
  int bad = fclose(f) != 0;
  free(s);
  return bad ? (fprintf(stderr, "cannot write %s\n", out), -1) : 0;
}

#endif
