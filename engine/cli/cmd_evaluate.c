/* tessera evaluate: pairwise and cluster measures of a run's links against
 * ground truth, printed as JSON, or (--pairs) the threshold sweep of a
 * probabilistic run's scored pairs, written as sweep.json and sweep.html and
 * printed as a table, or (--episodes) spells and CIPS against the spells
 * truth (include/tessera/evaluate.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/common_internal.h"
#include "tessera/evaluate.h"

void tsr__cli_evaluate_help(void) {
  printf("Usage: tessera evaluate --links DIR/links.parquet --truth truth.csv [options]\n"
         "       tessera evaluate --pairs DIR/pairs.parquet --truth truth.csv [options]\n"
         "       tessera evaluate --episodes DIR/episodes.parquet --truth-spells truth_spells.csv [options]\n\n"
         "Scores a run against ground truth (columns source, record_id, patient_id,\n"
         "as `tessera generate` writes truth.csv) and prints JSON: pairwise\n"
         "precision, recall and F1 over pairs of records in one cluster, and\n"
         "cluster measures (exact matches, splits, merges, B-cubed).\n"
         "Recall counts every truth record: one missing from the links (rejected\n"
         "at ingest, say) is a missed record. It fails when no record is in both.\n\n"
         "With --pairs, a threshold sweep of a probabilistic run's scored pairs:\n"
         "pairwise precision, recall and F1 of the pairs as listed (not closed\n"
         "into clusters) at match probabilities 0.01 .. 0.9999, and the threshold\n"
         "of the best F1. A true pair missing from the file is a false negative at\n"
         "every threshold. Writes sweep.json and sweep.html (a chart) and prints a\n"
         "table. The run's mode, floor and threshold come from report.json beside\n"
         "the pairs file, when it is there.\n\n"
         "With --episodes, provider spells and continuous inpatient spells (CIPS)\n"
         "against a spells truth (columns epikey, spell_id, cips_id, as `tessera\n"
         "generate` writes truth_spells.csv), matched on record_id = epikey. Prints\n"
         "JSON: for spells and for CIPS, pairwise precision, recall and F1 over\n"
         "pairs of episodes in one spell, exact spell matches (count and share of\n"
         "true spells), split and merged spells. An episode with no spell on either\n"
         "side (unfinished; an empty spell_id in the truth) is left out; one left\n"
         "unfinished but in a true spell is missed. It fails when no episode is in\n"
         "the truth. --min-precision and --min-recall apply to the spells' pairwise\n"
         "figures; --min-exact and --min-exact-cips to the shares of exact matches.\n\n"
         "Options:\n"
         "  --links FILE      links.parquet from `tessera link`\n"
         "  --pairs FILE      pairs.parquet from a probabilistic `tessera link`\n"
         "  --episodes FILE   episodes.parquet from `tessera link` with an episodes section\n"
         "  --truth FILE      ground truth CSV\n"
         "  --truth-spells FILE  --episodes: spells truth CSV (epikey, spell_id, cips_id)\n"
         "  --min-precision X exit with status 1 when pairwise precision is below X\n"
         "                    (--pairs: at the run's threshold, else at the best F1)\n"
         "  --min-recall X    exit with status 1 when pairwise recall is below X (same;\n"
         "                    --episodes: of spells)\n"
         "  --min-exact X     --episodes: exit with status 1 when the share of true\n"
         "                    spells matched exactly is below X\n"
         "  --min-exact-cips X  --episodes: the same for CIPS\n"
         "  --mode M          --pairs: link, dedupe or link_and_dedupe: which true\n"
         "                    pairs count (default: report.json's, else link_and_dedupe)\n"
         "  --threshold P     --pairs: the run's threshold (default: report.json's)\n"
         "  --out DIR         --pairs: folder for sweep.json and sweep.html\n"
         "                    (default: the pairs file's folder)\n"
         "  --threads N       worker threads (default: all cores)\n"
         "  --quiet, -q       warnings and errors only on stderr\n");
}

/* The run's mode, floor and threshold from report.json beside the pairs
 * file. Absent file: nothing is set, 0. A file that is there must be a run
 * report: otherwise an error naming it. */
static int run_facts(const char *pairs, char *report, size_t cap, int *have_mode, tsr_sweep_mode *mode,
                     double *floor_p, double *threshold, json_t **sources) {
  const char *slash = strrchr(pairs, '/');
  int n = slash ? snprintf(report, cap, "%.*s/report.json", (int)(slash - pairs), pairs)
                : snprintf(report, cap, "report.json");
  if (n < 0 || (size_t)n >= cap) return 0;
  FILE *f = fopen(report, "rb");
  if (!f) return 0;
  fclose(f);
  json_error_t je;
  json_t *r = json_load_file(report, 0, &je);
  if (!r || !json_is_object(r)) {
    fprintf(stderr, "tessera evaluate: error: %s:%d:%d: not a run report (%s); use --mode and --threshold, or move "
                    "it away\n",
            report, je.line, je.column, r ? "not a JSON object" : je.text);
    json_decref(r);
    return TSR_CLI_FAIL;
  }
  const char *m = json_string_value(json_object_get(r, "mode"));
  if (m && tsr_sweep_mode_parse(m, mode) == 0) *have_mode = 1;
  json_t *prob = json_object_get(r, "probabilistic");
  json_t *fl = json_object_get(prob, "pairs_floor"), *th = json_object_get(prob, "threshold");
  if (json_is_number(fl)) *floor_p = json_number_value(fl);
  if (json_is_number(th)) *threshold = json_number_value(th);
  json_t *srcs = json_object_get(r, "sources");
  if (json_is_array(srcs) && json_array_size(srcs)) {
    *sources = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(srcs, i, e) {
      const char *nm = json_string_value(json_object_get(e, "source"));
      if (nm) json_array_append_new(*sources, json_string(nm));
    }
  }
  json_decref(r);
  return 0;
}

static void print_row(const char *label, const tsr_sweep_point *p) {
  printf("%-10s %9.6g %8.3f %11llu %11llu %9.6f %9.6f %9.6f\n", label, p->threshold, p->match_weight,
         (unsigned long long)p->predicted, (unsigned long long)p->true_positives, p->precision, p->recall, p->f1);
}

static int gate(const char *what, double v, double min, const char *opt, const char *where) {
  if (min < 0 || v >= min) return 0;
  fprintf(stderr, "tessera evaluate: pairwise %s %.6f at %s is below %s %.6f\n", what, v, where, opt, min);
  return 1;
}

static int evaluate_pairs(const char *pairs, const char *truth, const char *out_dir, const char *mode_opt,
                          double threshold, double min_precision, double min_recall, const tsr__cli_common *c) {
  const char *cmd = "evaluate";
  tsr_sweep_opts so;
  tsr_sweep_opts_init(&so);
  so.threads = c->threads;
  tsr_sweep_mode opt_mode = TSR_SWEEP_BOTH;
  if (mode_opt && tsr_sweep_mode_parse(mode_opt, &opt_mode))
    return tsr__cli_usage_error(cmd, "--mode: expected link, dedupe or link_and_dedupe, got '%s'", mode_opt);
  char report[4200] = "";
  int have_mode = 0;
  double floor_p = 0, run_t = -1;
  json_t *srcj = NULL;
  int r = run_facts(pairs, report, sizeof report, &have_mode, &so.mode, &floor_p, &run_t, &srcj);
  if (r) return r;
  const size_t nsrc = json_array_size(srcj);
  const char **srcs = nsrc ? calloc(nsrc, sizeof *srcs) : NULL;
  for (size_t i = 0; srcs && i < nsrc; i++) srcs[i] = json_string_value(json_array_get(srcj, i));
  so.sources = srcs;
  so.nsources = srcs ? nsrc : 0;
  if (!c->quiet && (have_mode || floor_p > 0 || run_t > 0 || srcs)) {
    fprintf(stderr, "tessera evaluate: from %s:", report);
    if (have_mode) fprintf(stderr, " mode %s%s", tsr_sweep_mode_name(so.mode), mode_opt ? " (--mode wins)" : "");
    for (size_t i = 0; srcs && i < nsrc; i++) fprintf(stderr, "%s%s", i ? ", " : " sources ", srcs[i]);
    if (floor_p > 0) fprintf(stderr, " pairs_floor %g", floor_p);
    if (run_t > 0) fprintf(stderr, " threshold %g%s", run_t, threshold >= 0 ? " (--threshold wins)" : "");
    fputc('\n', stderr);
  }
  if (mode_opt) so.mode = opt_mode;
  if (floor_p > 0 && floor_p < 1) so.pairs_floor = floor_p;
  if (threshold >= 0) run_t = threshold;
  so.at = run_t > 0 && run_t < 1 ? run_t : -1;
  char dir[4200];
  if (out_dir) snprintf(dir, sizeof dir, "%s", out_dir);
  else {
    const char *slash = strrchr(pairs, '/');
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - pairs + (slash == pairs)), pairs);
    else snprintf(dir, sizeof dir, ".");
  }
  tsr_error err;
  tsr_sweep s;
  int rc = tsr_evaluate_sweep(pairs, truth, &so, &s, &err);
  free(srcs);
  json_decref(srcj);
  if (!rc && out_dir) rc = tsr__mkdirs(dir, &err); /* --out DIR is created like link's */
  if (!rc) rc = tsr_sweep_write(&s, dir, &err);
  if (rc) {
    tsr_sweep_free(&s);
    return tsr__cli_fail(&err, rc);
  }
  printf("threshold sweep of %s (mode %s): %llu true pairs, %llu of %llu pairs judged, %llu of them true\n", pairs,
         tsr_sweep_mode_name(s.mode), (unsigned long long)s.true_pairs, (unsigned long long)s.pairs_judged,
         (unsigned long long)s.pairs_in_file, (unsigned long long)s.true_pairs_in_file);
  printf("%-10s %9s %8s %11s %11s %9s %9s %9s\n", "", "threshold", "weight", "predicted", "true_pos", "precision",
         "recall", "f1");
  for (size_t i = 0; i < s.npoints; i++) print_row("", &s.points[i]);
  print_row("best F1", &s.best);
  if (s.has_at) print_row("run", &s.at);
  fflush(stdout); /* the table before any warning, when both go to one place */
  if (!c->quiet) fprintf(stderr, "tessera evaluate: wrote %s/sweep.json and %s/sweep.html\n", dir, dir);
  /* warnings go out even under -q: they change what the figures mean */
  if (s.pairs_not_in_truth)
    fprintf(stderr,
            "tessera evaluate: warning: %llu of %llu pairs have a record that is not in the truth; they are left out\n",
            (unsigned long long)s.pairs_not_in_truth, (unsigned long long)s.pairs_in_file);
  if (s.records_other_sources)
    fprintf(stderr,
            "tessera evaluate: warning: %llu of %llu truth records are of sources the run did not use (%s); they "
            "are left out\n",
            (unsigned long long)s.records_other_sources, (unsigned long long)s.records_truth, report);
  if (s.pairs_outside_mode)
    fprintf(stderr, "tessera evaluate: warning: %llu of %llu pairs are outside mode %s; they are left out\n",
            (unsigned long long)s.pairs_outside_mode, (unsigned long long)s.pairs_in_file,
            tsr_sweep_mode_name(s.mode));
  const tsr_sweep_point *g = s.has_at ? &s.at : &s.best;
  char where[64];
  snprintf(where, sizeof where, "%s %.6g", s.has_at ? "the run's threshold" : "the best F1's threshold", g->threshold);
  int fail = gate("precision", g->precision, min_precision, "--min-precision", where);
  fail |= gate("recall", g->recall, min_recall, "--min-recall", where);
  tsr_sweep_free(&s);
  return fail ? TSR_CLI_FAIL : 0;
}

static json_t *partition_json(const tsr_eval_partition *p) {
  return json_pack("{s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I}", "precision", p->precision,
                   "recall", p->recall, "f1", p->f1, "pairs_predicted", (json_int_t)p->pairs_predicted, "pairs_true",
                   (json_int_t)p->pairs_true, "pairs_correct", (json_int_t)p->pairs_correct, "exact",
                   (json_int_t)p->exact, "true", (json_int_t)p->true_n, "predicted", (json_int_t)p->predicted,
                   "exact_share", p->exact_share, "split", (json_int_t)p->split, "merged", (json_int_t)p->merged);
}

static int evaluate_episodes(const char *episodes, const char *truth, double min_precision, double min_recall,
                             double min_exact, double min_exact_cips, const tsr__cli_common *c) {
  tsr_error err;
  tsr_eval_episodes e;
  int r = tsr_evaluate_episodes(episodes, truth, c->threads, &e, &err);
  if (r) return tsr__cli_fail(&err, r);
  json_t *o = json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:o, s:f}",
                        "episodes", episodes, "truth", truth, "records", "episodes", (json_int_t)e.records_file,
                        "truth", (json_int_t)e.records_truth, "scored", (json_int_t)e.records_scored, "not_in_truth",
                        (json_int_t)e.not_in_truth, "truth_not_in_episodes", (json_int_t)e.truth_not_in_file,
                        "unfinished", (json_int_t)e.unfinished_file, "truth_unfinished",
                        (json_int_t)e.unfinished_truth, "left_out", (json_int_t)e.left_out, "missed",
                        (json_int_t)e.missed, "no_true_spell", (json_int_t)e.no_true_spell, "spells",
                        partition_json(&e.spells), "cips", partition_json(&e.cips), "seconds", e.seconds);
  char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) : NULL;
  if (s) printf("%s\n", s);
  free(s);
  json_decref(o);
  if (!s) {
    fprintf(stderr, "tessera evaluate: error: out of memory\n");
    return TSR_CLI_FAIL;
  }
  fflush(stdout);
  /* warnings go out even under -q: they change what the figures mean */
  if (e.truth_not_in_file)
    fprintf(stderr,
            "tessera evaluate: warning: %llu of %llu truth episodes are missing from the episodes file; those in a "
            "true spell count as missed\n",
            (unsigned long long)e.truth_not_in_file, (unsigned long long)e.records_truth);
  if (e.not_in_truth)
    fprintf(stderr, "tessera evaluate: warning: %llu of %llu episodes are not in the truth; they are left out\n",
            (unsigned long long)e.not_in_truth, (unsigned long long)e.records_file);
  int fail = gate("precision", e.spells.precision, min_precision, "--min-precision", "spells");
  fail |= gate("recall", e.spells.recall, min_recall, "--min-recall", "spells");
  if (min_exact >= 0 && e.spells.exact_share < min_exact) {
    fprintf(stderr, "tessera evaluate: exact spell share %.6f is below --min-exact %.6f\n", e.spells.exact_share,
            min_exact);
    fail = 1;
  }
  if (min_exact_cips >= 0 && e.cips.exact_share < min_exact_cips) {
    fprintf(stderr, "tessera evaluate: exact CIPS share %.6f is below --min-exact-cips %.6f\n", e.cips.exact_share,
            min_exact_cips);
    fail = 1;
  }
  return fail ? TSR_CLI_FAIL : 0;
}

int tsr__cli_evaluate(int argc, char **argv) {
  const char *cmd = "evaluate";
  tsr__cli_common c = {0, 0};
  const char *links = NULL, *truth = NULL, *pairs = NULL, *out_dir = NULL, *mode = NULL, *episodes = NULL,
             *truth_spells = NULL;
  double min_precision = -1, min_recall = -1, threshold = -1, min_exact = -1, min_exact_cips = -1;
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
    } else if (tsr__cli_is_opt(a, "--pairs")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--pairs"))) rc = TSR_CLI_USAGE;
      else pairs = v;
    } else if (tsr__cli_is_opt(a, "--episodes")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--episodes"))) rc = TSR_CLI_USAGE;
      else episodes = v;
    } else if (tsr__cli_is_opt(a, "--truth-spells")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--truth-spells"))) rc = TSR_CLI_USAGE;
      else truth_spells = v;
    } else if (tsr__cli_is_opt(a, "--out")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--out"))) rc = TSR_CLI_USAGE;
      else out_dir = v;
    } else if (tsr__cli_is_opt(a, "--mode")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--mode"))) rc = TSR_CLI_USAGE;
      else mode = v;
    } else if (tsr__cli_is_opt(a, "--threshold")) {
      char *end;
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--threshold"))) rc = TSR_CLI_USAGE;
      else {
        threshold = strtod(v, &end);
        if (!*v || *end || !(threshold > 0 && threshold < 1))
          rc = tsr__cli_usage_error(cmd, "--threshold: expected a probability in (0, 1), got '%s'", v);
      }
    } else if (tsr__cli_is_opt(a, "--truth")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--truth"))) rc = TSR_CLI_USAGE;
      else truth = v;
    } else if (tsr__cli_is_opt(a, "--min-precision") || tsr__cli_is_opt(a, "--min-recall") ||
               tsr__cli_is_opt(a, "--min-exact") || tsr__cli_is_opt(a, "--min-exact-cips")) {
      static const char *const names[] = {"--min-precision", "--min-recall", "--min-exact", "--min-exact-cips"};
      double *const dsts[] = {&min_precision, &min_recall, &min_exact, &min_exact_cips};
      int k = 0;
      while (!tsr__cli_is_opt(a, names[k])) k++;
      const char *opt = names[k];
      double *dst = dsts[k];
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
  if (episodes) {
    if (links || pairs) return tsr__cli_usage_error(cmd, "--episodes goes without --links and --pairs (give one)");
    if (truth) return tsr__cli_usage_error(cmd, "--episodes takes --truth-spells FILE, not --truth");
    if (!truth_spells) return tsr__cli_usage_error(cmd, "--truth-spells FILE is required with --episodes");
    if (out_dir || mode || threshold >= 0)
      return tsr__cli_usage_error(cmd, "--%s goes with --pairs only", out_dir ? "out" : mode ? "mode" : "threshold");
    return evaluate_episodes(episodes, truth_spells, min_precision, min_recall, min_exact, min_exact_cips, &c);
  }
  if (truth_spells) return tsr__cli_usage_error(cmd, "--truth-spells goes with --episodes only");
  if (min_exact >= 0 || min_exact_cips >= 0)
    return tsr__cli_usage_error(cmd, "--%s goes with --episodes only", min_exact >= 0 ? "min-exact" : "min-exact-cips");
  if (links && pairs) return tsr__cli_usage_error(cmd, "--links and --pairs: give one (run evaluate once for each)");
  if (!links && !pairs) return tsr__cli_usage_error(cmd, "--links FILE (or --pairs FILE) is required");
  if (!truth) return tsr__cli_usage_error(cmd, "--truth FILE is required");
  if (pairs) return evaluate_pairs(pairs, truth, out_dir, mode, threshold, min_precision, min_recall, &c);
  if (out_dir || mode || threshold >= 0)
    return tsr__cli_usage_error(cmd, "--%s goes with --pairs only", out_dir ? "out" : mode ? "mode" : "threshold");
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
