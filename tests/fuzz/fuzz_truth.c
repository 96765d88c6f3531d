/* libFuzzer harness for the truth reader of `tessera evaluate`. The input is
 * a whole truth CSV; it is scored against a fixed links.parquet (written once
 * into a scratch folder) through the public tsr_evaluate, so the path under
 * test is the real one: ingest of the truth, the duplicate check, the join on
 * (source, record_id) and every measure. A failure must be TSR_EPARSE (or
 * TSR_EREJECTS/TSR_ELIMIT/TSR_EIO) naming a file; a success must be
 * self-consistent (counts reconcile, every score in [0, 1], something
 * scored). ASan/UBSan catch the rest. */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tessera/evaluate.h"
#include "tessera/parquet.h"

static char g_dir[256], g_links[300], g_truth[300];

/* links: sources gp and hes, record ids 1..6, two patients plus singletons */
static void setup(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(g_dir, sizeof g_dir, "%s/fuzz_truth_XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(g_dir)) abort();
  snprintf(g_links, sizeof g_links, "%s/links.parquet", g_dir);
  snprintf(g_truth, sizeof g_truth, "%s/truth.csv", g_dir);
  enum { N = 12 };
  static const char *const src[N] = {"gp", "gp", "gp", "gp", "gp", "gp", "hes", "hes", "hes", "hes", "hes", "hes"};
  static const char *const id[N] = {"1", "2", "3", "4", "5", "6", "1", "2", "3", "4", "5", "6"};
  static const int64_t pid[N] = {1, 1, 2, 3, 3, 4, 1, 5, 2, 3, 6, 7};
  tsr_view s[N], r[N];
  for (int i = 0; i < N; i++) {
    s[i] = (tsr_view){src[i], (uint32_t)strlen(src[i])};
    r[i] = (tsr_view){id[i], (uint32_t)strlen(id[i])};
  }
  tsr_pq_column_def defs[3] = {{"source", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
                               {"record_id", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
                               {"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_AUTO}};
  tsr_pq_col cols[3] = {{s, NULL}, {r, NULL}, {pid, NULL}};
  tsr_pq_writer *w = NULL;
  if (tsr_pq_open(&w, g_dir, "links.parquet", defs, 3, NULL, NULL) || tsr_pq_write(w, cols, N, NULL) ||
      tsr_pq_close(w, NULL))
    abort();
}

static void cleanup(void) {
  unlink(g_links);
  unlink(g_truth);
  rmdir(g_dir);
}

static int unit(double x) { return x >= 0.0 && x <= 1.0 + 1e-12 && !isnan(x); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_dir[0]) {
    setup();
    atexit(cleanup);
  }
  FILE *f = fopen(g_truth, "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  tsr_eval e;
  tsr_error err;
  tsr_error_clear(&err);
  int rc = tsr_evaluate(g_links, g_truth, 1, &e, &err);
  if (rc) {
    if (rc != TSR_EPARSE && rc != TSR_EREJECTS && rc != TSR_ELIMIT && rc != TSR_EIO) abort();
    if (!err.msg[0] || !err.file[0]) abort(); /* every error names its file */
    /* evaluate never writes a rejects.csv, so it may not send anyone to one
     * (unless the message echoes those bytes from the input) */
    if (strstr(err.msg, "rejects.csv") && !memmem(data, size, "rejects.csv", 11)) abort();
    return 0;
  }
  if (e.records_links != 12 || e.records_scored == 0) abort();
  if (e.records_scored + e.links_not_in_truth != e.records_links) abort();
  if (e.records_scored + e.truth_not_in_links != e.records_truth) abort();
  if (e.pairs_correct > e.pairs_predicted || e.pairs_correct > e.pairs_true) abort();
  if (e.pairs_true_missing > e.pairs_true) abort();
  if (e.clusters_exact > e.clusters_predicted || e.clusters_exact > e.clusters_true) abort();
  if (!unit(e.precision) || !unit(e.recall) || !unit(e.f1) || !unit(e.cluster_precision) ||
      !unit(e.cluster_recall) || !unit(e.bcubed_precision) || !unit(e.bcubed_recall))
    abort();
  return 0;
}
