/* tessera evaluate: pairwise and cluster measures of a run's links against
 * ground truth, printed as JSON (include/tessera/evaluate.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "tessera/evaluate.h"

void tsr__cli_evaluate_help(void) {
  printf("Usage: tessera evaluate --links DIR/links.parquet --truth truth.csv [options]\n\n"
         "Scores a run against ground truth (columns source, record_id, patient_id,\n"
         "as `tessera generate` writes truth.csv) and prints JSON: pairwise\n"
         "precision, recall and F1 over pairs of records in one cluster, and\n"
         "cluster measures (exact matches, splits, merges, B-cubed).\n"
         "Recall counts every truth record: one missing from the links (rejected\n"
         "at ingest, say) is a missed record. It fails when no record is in both.\n\n"
         "Options:\n"
         "  --links FILE      links.parquet from `tessera link`\n"
         "  --truth FILE      ground truth CSV\n"
         "  --min-precision X exit with status 1 when pairwise precision is below X\n"
         "  --min-recall X    exit with status 1 when pairwise recall is below X\n"
         "  --threads N       worker threads (default: all cores)\n"
         "  --quiet, -q       warnings and errors only on stderr\n");
}

int tsr__cli_evaluate(int argc, char **argv) {
  const char *cmd = "evaluate";
  tsr__cli_common c = {0, 0};
  const char *links = NULL, *truth = NULL;
  double min_precision = -1, min_recall = -1;
  int rc = 0;
  for (int i = 1; i < argc && !rc; i++) {
    const char *a = argv[i], *v;
    int handled;
    rc = tsr__cli_common_opt(cmd, argc, argv, &i, &c, &handled);
    if (rc || handled) continue;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      tsr__cli_evaluate_help();
      return 0;
    } else if (tsr__cli_is_opt(a, "--links")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--links"))) rc = TSR_CLI_USAGE;
      else links = v;
    } else if (tsr__cli_is_opt(a, "--truth")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--truth"))) rc = TSR_CLI_USAGE;
      else truth = v;
    } else if (tsr__cli_is_opt(a, "--min-precision") || tsr__cli_is_opt(a, "--min-recall")) {
      const int is_recall = tsr__cli_is_opt(a, "--min-recall");
      const char *opt = is_recall ? "--min-recall" : "--min-precision";
      double *dst = is_recall ? &min_recall : &min_precision;
      char *end;
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, opt))) rc = TSR_CLI_USAGE;
      else {
        *dst = strtod(v, &end);
        if (!*v || *end || !(*dst >= 0 && *dst <= 1))
          rc = tsr__cli_usage_error(cmd, "%s: expected a number in [0, 1], got '%s'", opt, v);
      }
    } else {
      rc = tsr__cli_usage_error(cmd, "unknown option '%s'", a);
    }
  }
  if (rc) return rc;
  if (!links) return tsr__cli_usage_error(cmd, "--links FILE is required");
  if (!truth) return tsr__cli_usage_error(cmd, "--truth FILE is required");
  tsr_error err;
  tsr_eval e;
  int r = tsr_evaluate(links, truth, c.threads, &e, &err);
  if (r) return tsr__cli_fail(&err, r);
  json_t *o = json_pack(
      "{s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:f, s:f, s:f, s:I, s:I, s:I, s:I}, "
      "s:{s:I, s:I, s:I, s:f, s:f, s:I, s:I, s:f, s:f}, s:f}",
      "links", links, "truth", truth, "records", "links", (json_int_t)e.records_links, "truth",
      (json_int_t)e.records_truth, "scored", (json_int_t)e.records_scored, "links_not_in_truth",
      (json_int_t)e.links_not_in_truth, "truth_not_in_links", (json_int_t)e.truth_not_in_links, "pairwise",
      "precision", e.precision, "recall", e.recall, "f1", e.f1, "pairs_predicted", (json_int_t)e.pairs_predicted,
      "pairs_true", (json_int_t)e.pairs_true, "pairs_correct", (json_int_t)e.pairs_correct, "pairs_true_missing",
      (json_int_t)e.pairs_true_missing, "clusters",
      "predicted", (json_int_t)e.clusters_predicted, "true", (json_int_t)e.clusters_true, "exact",
      (json_int_t)e.clusters_exact, "precision", e.cluster_precision, "recall", e.cluster_recall, "true_split",
      (json_int_t)e.true_clusters_split, "predicted_merged", (json_int_t)e.predicted_clusters_merged,
      "bcubed_precision", e.bcubed_precision, "bcubed_recall", e.bcubed_recall, "seconds", e.seconds);
  char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
  if (s) printf("%s\n", s);
  free(s);
  json_decref(o);
  /* warnings go out even under -q: they change what the figures mean */
  if (e.truth_not_in_links)
    fprintf(stderr,
            "tessera evaluate: warning: %llu of %llu truth records are missing from the links; they count as missed "
            "records (%llu of %llu true pairs are lost with them)\n",
            (unsigned long long)e.truth_not_in_links, (unsigned long long)e.records_truth,
            (unsigned long long)e.pairs_true_missing, (unsigned long long)e.pairs_true);
  if (e.links_not_in_truth)
    fprintf(stderr,
            "tessera evaluate: warning: %llu of %llu link rows are not in the truth; they are left out of precision\n",
            (unsigned long long)e.links_not_in_truth, (unsigned long long)e.records_links);
  int fail = 0;
  if (min_precision >= 0 && e.precision < min_precision) {
    fprintf(stderr, "tessera evaluate: pairwise precision %.6f is below --min-precision %.6f\n", e.precision,
            min_precision);
    fail = 1;
  }
  if (min_recall >= 0 && e.recall < min_recall) {
    fprintf(stderr, "tessera evaluate: pairwise recall %.6f is below --min-recall %.6f\n", e.recall, min_recall);
    fail = 1;
  }
  return fail ? TSR_CLI_FAIL : 0;
}
