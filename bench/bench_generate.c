/* Generator benchmark: records/s at 1 and 2 threads (or the thread counts
 * given), one warm-up and N timed runs each, CSV on stdout. The row counts
 * of every run must agree (same seed), which also checks the work happened.
 *
 * usage: bench_generate [--patients N] [--runs R] [--threads 1,2] [--out DIR] */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common_internal.h"
#include "tessera/generate.h"

/* Empties the output folder and flushes dirty pages, so each run writes
 * fresh files instead of paying for the previous run's unlink/writeback. */
static void clear_out(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  sync();
}

int main(int argc, char **argv) {
  uint64_t patients = 1000000;
  int runs = 3;
  const char *threads_arg = "1,2";
  const char *out = "/tmp/tsr_bench_generate";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--patients") == 0) patients = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--runs") == 0) runs = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--threads") == 0) threads_arg = argv[i + 1];
    else if (strcmp(argv[i], "--out") == 0) out = argv[i + 1];
    else {
      fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  tsr_log_set_level(TSR_LOG_WARN);
  printf("bench,threads,patients,run,seconds,records,records_per_s,mb_per_s\n");
  uint64_t expect_records = 0;
  char tl[64];
  snprintf(tl, sizeof tl, "%s", threads_arg);
  for (char *tok = strtok(tl, ","); tok; tok = strtok(NULL, ",")) {
    int t = atoi(tok);
    for (int r = -1; r < runs; r++) { /* r = -1 is the warm-up */
      tsr_gen_opts o;
      tsr_gen_opts_init(&o);
      o.patients = patients;
      o.seed = 1;
      o.threads = t;
      o.out_dir = out;
      clear_out(out);
      tsr_gen_summary s;
      tsr_error err;
      int rc = tsr_generate(&o, &s, &err);
      if (rc) {
        fprintf(stderr, "generate failed: %s\n", err.msg);
        return 1;
      }
      uint64_t recs = s.gp_rows + s.hes_rows;
      if (expect_records && recs != expect_records) {
        fprintf(stderr, "record count changed between runs: %llu vs %llu\n", (unsigned long long)recs,
                (unsigned long long)expect_records);
        return 1;
      }
      expect_records = recs;
      if (r < 0) continue;
      printf("generate,%d,%llu,%d,%.3f,%llu,%.0f,%.1f\n", t, (unsigned long long)patients, r, s.seconds,
             (unsigned long long)recs, (double)recs / s.seconds, (double)s.bytes_written / s.seconds / 1e6);
      fflush(stdout);
    }
  }
  return 0;
}
