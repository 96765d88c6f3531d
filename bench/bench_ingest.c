/* Ingest benchmark: MB/s and rows/s per source of a run configuration, at
 * each thread count given, one warm-up and N timed runs, CSV on stdout. Every
 * run must produce the same store digest (checks the work and determinism).
 *
 * usage: bench_ingest --config FILE [--threads 1,2] [--runs N] [--segment-kb K] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_internal.h"
#include "tessera/config.h"
#include "tessera/ingest.h"

int main(int argc, char **argv) {
  const char *config = NULL, *threads_arg = "1,2";
  int runs = 3;
  size_t segment_kb = 0; /* 0 = the default */
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--config") == 0) config = argv[i + 1];
    else if (strcmp(argv[i], "--segment-kb") == 0) segment_kb = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--threads") == 0) threads_arg = argv[i + 1];
    else if (strcmp(argv[i], "--runs") == 0) runs = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (!config) {
    fprintf(stderr, "usage: bench_ingest --config FILE [--threads 1,2] [--runs N]\n");
    return 2;
  }
  tsr_log_set_level(TSR_LOG_WARN);
  tsr_config *cfg;
  tsr_error err;
  if (tsr_config_load(config, &cfg, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  printf("bench,source,threads,run,seconds,rows,mb,mb_per_s,rows_per_s,store_mb,fixed_bytes_per_row\n");
  for (uint32_t s = 0; s < cfg->n_sources; s++) {
    uint64_t digest = 0;
    char tl[64];
    snprintf(tl, sizeof tl, "%s", threads_arg);
    for (char *tok = strtok(tl, ","); tok; tok = strtok(NULL, ",")) {
      int t = atoi(tok);
      for (int r = -1; r < runs; r++) {
        tsr_ingest_opts o;
        tsr_ingest_opts_init(&o);
        o.threads = t;
        if (segment_kb) o.segment_bytes = segment_kb << 10;
        tsr_store *store;
        tsr_ingest_stats st;
        if (tsr_ingest_source(&cfg->sources[s], &o, &store, &st, &err)) {
          fprintf(stderr, "%s: %s\n", cfg->sources[s].name, err.msg);
          return 1;
        }
        uint64_t d = tsr_store_digest(store);
        if (digest && d != digest) {
          fprintf(stderr, "store digest changed between runs\n");
          return 1;
        }
        digest = d;
        if (r >= 0)
          printf("ingest,%s,%d,%d,%.3f,%llu,%.1f,%.1f,%.0f,%.1f,%.1f\n", cfg->sources[s].name, t, r, st.seconds_total,
                 (unsigned long long)st.rows_read, (double)st.bytes_read / 1e6,
                 (double)st.bytes_read / 1e6 / st.seconds_total, (double)st.rows_read / st.seconds_total,
                 (double)tsr_store_bytes(store) / 1e6, tsr_store_fixed_bytes_per_row(store));
        fflush(stdout);
        tsr_store_free(store);
      }
    }
  }
  tsr_config_free(cfg);
  return 0;
}
