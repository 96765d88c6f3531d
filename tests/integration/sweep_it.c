/* tessera evaluate --pairs end to end: the binary (TSR_BIN) on a hand-made
 * pairs.parquet (written with the engine's Parquet writer, as no run writes
 * one yet): the table it prints, sweep.json and sweep.html where they
 * belong, report.json's mode, floor and threshold, --mode and --threshold,
 * the --min-precision / --min-recall gate on both sides of its figure, and
 * the exit status and message of each bad input. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tessera/parquet.h"
#include "test_util.h"

static void write_text(const char *dir, const char *name, const char *text) {
  char p[1400];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

static char *slurp(const char *dir, const char *name) {
  static char buf[1 << 17];
  char p[1400];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  buf[0] = 0;
  FILE *f = fopen(p, "r");
  if (!f) return buf;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return buf;
}

/* The unit test's fixture (tests/unit/sweep_test.c): 4 true pairs (3 across
 * sources, 1 within hes), six pairs in the file, three of them true. */
static void fixture(const char *dir, int with_weight) {
  write_text(dir, "truth.csv",
             "source,record_id,patient_id\ngp,1,A\ngp,2,B\ngp,3,C\nhes,1,A\nhes,2,B\nhes,3,B\nhes,4,D\n");
  static const char *sa[] = {"gp", "gp", "gp", "gp", "gp", "gp"}, *ia[] = {"1", "2", "2", "3", "1", "3"};
  static const char *sb[] = {"hes", "hes", "hes", "hes", "hes", "hes"}, *ib[] = {"1", "2", "3", "4", "2", "1"};
  static const double p[] = {0.99, 0.9, 0.5, 0.7, 0.3, 0.02};
  tsr_view vsa[6], via[6], vsb[6], vib[6];
  double w[6];
  for (int i = 0; i < 6; i++) {
    vsa[i] = (tsr_view){sa[i], (uint32_t)strlen(sa[i])};
    via[i] = (tsr_view){ia[i], 1};
    vsb[i] = (tsr_view){sb[i], 3};
    vib[i] = (tsr_view){ib[i], 1};
    w[i] = log2(p[i] / (1 - p[i]));
  }
  tsr_pq_column_def d[] = {{"source_a", TSR_PQ_STRING, 0, TSR_PQ_ENC_DICT},
                           {"id_a", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
                           {"source_b", TSR_PQ_STRING, 0, TSR_PQ_ENC_DICT},
                           {"id_b", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
                           {"match_probability", TSR_PQ_DOUBLE, 0, TSR_PQ_ENC_AUTO},
                           {"match_weight", TSR_PQ_DOUBLE, 0, TSR_PQ_ENC_AUTO}};
  tsr_pq_col c[] = {{vsa, NULL}, {via, NULL}, {vsb, NULL}, {vib, NULL}, {p, NULL}, {w, NULL}};
  tsr_pq_writer *wr;
  tsr_error err;
  cr_assert_eq(tsr_pq_open(&wr, dir, "pairs.parquet", d, with_weight ? 6 : 5, NULL, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_pq_write(wr, c, 6, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_pq_close(wr, &err), 0, "%s", err.msg);
}

/* Runs `tessera evaluate ARGS` in dir with stdout and stderr to dir/out and
 * dir/err; returns the exit status. */
static int run(const char *dir, const char *args) {
  const char *bin = getenv("TSR_BIN");
  cr_assert_not_null(bin, "TSR_BIN not set");
  char cmd[2000];
  snprintf(cmd, sizeof cmd, "cd '%s' && '%s' evaluate %s > out 2> err", dir, bin, args);
  int st = system(cmd);
  cr_assert(WIFEXITED(st), "%s did not exit", cmd);
  return WEXITSTATUS(st);
}

static json_t *load_json(const char *dir, const char *name) {
  char p[1400];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  json_error_t je;
  json_t *j = json_load_file(p, 0, &je);
  cr_assert_not_null(j, "%s: %s", p, je.text);
  return j;
}

static char *setup(void) {
  char *dir = tsr_test_tmpdir("sweep_it");
  cr_assert_not_null(dir);
  char p[1400];
  snprintf(p, sizeof p, "%s/run", dir);
  cr_assert_eq(mkdir(p, 0755), 0);
  fixture(p, 1);
  return dir;
}

Test(sweep_cli, table_json_and_chart_beside_the_pairs) {
  char *dir = setup();
  cr_assert_eq(run(dir, "--pairs run/pairs.parquet --truth run/truth.csv"), 0, "%s", slurp(dir, "err"));
  const char *out = slurp(dir, "out");
  cr_expect(strstr(out, "4 true pairs, 6 of 6 pairs judged, 3 of them true"), "%s", out);
  cr_expect(strstr(out, "best F1          0.5    0.000           4           3  0.750000  0.750000  0.750000"),
            "%s", out);
  cr_expect(strstr(out, "\n                 0.6    0.585           3           2  0.666667  0.500000  0.571429\n"),
            "%s", out);
  char rd[600];
  snprintf(rd, sizeof rd, "%s/run", dir);
  json_t *j = load_json(rd, "sweep.json");
  cr_expect_eq(json_integer_value(json_object_get(j, "true_pairs")), 4);
  cr_expect_eq(json_array_size(json_object_get(j, "sweep")), 15);
  cr_expect(json_is_null(json_object_get(j, "at")));
  json_decref(j);
  cr_expect(strstr(slurp(rd, "sweep.html"), "<svg"));
  cr_expect(strstr(slurp(dir, "err"), "wrote run/sweep.json and run/sweep.html"), "%s", slurp(dir, "err"));
  /* --out elsewhere; -q keeps stderr quiet but the table on stdout */
  cr_assert_eq(run(dir, "--pairs=run/pairs.parquet --truth=run/truth.csv --out . -q"), 0, "%s", slurp(dir, "err"));
  cr_expect(strstr(slurp(dir, "sweep.json"), "\"pairs_in_file\": 6"));
  cr_expect(strstr(slurp(dir, "out"), "best F1"));
  cr_expect_str_eq(slurp(dir, "err"), "");
}

/* report.json beside the pairs: its mode (link: 3 true pairs), floor (0.1:
 * 13 grid points) and threshold (0.6, reported as `at`); --mode and
 * --threshold win over it. */
Test(sweep_cli, run_facts_from_report_json) {
  char *dir = setup();
  char rd[600];
  snprintf(rd, sizeof rd, "%s/run", dir);
  write_text(rd, "report.json",
             "{\"mode\": \"link\", \"sources\": [{\"source\": \"gp\", \"rows_read\": 3}, {\"source\": \"hes\"}], "
             "\"probabilistic\": {\"threshold\": 0.6, \"pairs_floor\": 0.1}}");
  write_text(rd, "truth.csv",
             "source,record_id,patient_id\ngp,1,A\ngp,2,B\ngp,3,C\nhes,1,A\nhes,2,B\nhes,3,B\nhes,4,D\nons,1,A\n");
  cr_assert_eq(run(dir, "--pairs run/pairs.parquet --truth run/truth.csv"), 0, "%s", slurp(dir, "err"));
  cr_expect(strstr(slurp(dir, "err"), "from run/report.json: mode link sources gp, hes pairs_floor 0.1 threshold 0.6"),
            "%s", slurp(dir, "err"));
  cr_expect(strstr(slurp(dir, "err"), "warning: 1 of 8 truth records are of sources the run did not use"), "%s",
            slurp(dir, "err"));
  json_t *j = load_json(rd, "sweep.json");
  cr_expect_str_eq(json_string_value(json_object_get(j, "mode")), "link");
  cr_expect_eq(json_integer_value(json_object_get(j, "true_pairs")), 3); /* without ons 1: gp1-hes1 only in A */
  cr_expect_eq(json_integer_value(json_object_get(j, "records_other_sources")), 1);
  cr_expect_float_eq(json_number_value(json_object_get(j, "pairs_floor")), 0.1, 1e-12);
  cr_expect_eq(json_array_size(json_object_get(j, "sweep")), 13);
  json_t *at = json_object_get(j, "at");
  cr_expect_float_eq(json_number_value(json_object_get(at, "threshold")), 0.6, 1e-12);
  cr_expect_eq(json_integer_value(json_object_get(at, "predicted")), 3);
  cr_expect_float_eq(json_number_value(json_object_get(at, "recall")), 2.0 / 3, 1e-9);
  json_decref(j);
  cr_expect(strstr(slurp(dir, "out"), "run              0.6    0.585           3           2  0.666667  0.666667  0.666667"),
            "%s", slurp(dir, "out"));

  cr_assert_eq(run(dir, "--pairs run/pairs.parquet --truth run/truth.csv --mode link_and_dedupe --threshold 0.75"),
               0, "%s", slurp(dir, "err"));
  j = load_json(rd, "sweep.json");
  cr_expect_eq(json_integer_value(json_object_get(j, "true_pairs")), 4);
  cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "at"), "predicted")), 2);
  json_decref(j);
  cr_expect(strstr(slurp(dir, "err"), "(--mode wins)"));
  cr_expect(strstr(slurp(dir, "err"), "(--threshold wins)"));

  /* a report.json that is not a run report is an error, not ignored */
  write_text(rd, "report.json", "{\"mode\": ");
  cr_expect_eq(run(dir, "--pairs run/pairs.parquet --truth run/truth.csv"), 1);
  cr_expect(strstr(slurp(dir, "err"), "run/report.json:1:"), "%s", slurp(dir, "err"));
}

/* The gate: at the best F1 (P = R = 0.75) without a run threshold, at the
 * run's threshold (0.6: P 0.667, R 0.5) with one; each side of the figure. */
Test(sweep_cli, min_precision_and_recall_gate) {
  char *dir = setup();
  const char *base = "--pairs run/pairs.parquet --truth run/truth.csv";
  char a[600];
  snprintf(a, sizeof a, "%s --min-precision 0.75 --min-recall 0.75", base);
  cr_expect_eq(run(dir, a), 0, "%s", slurp(dir, "err"));
  snprintf(a, sizeof a, "%s --min-precision 0.7501", base);
  cr_expect_eq(run(dir, a), 1);
  cr_expect(strstr(slurp(dir, "err"),
                   "pairwise precision 0.750000 at the best F1's threshold 0.5 is below --min-precision 0.750100"),
            "%s", slurp(dir, "err"));
  snprintf(a, sizeof a, "%s --min-recall 0.7501", base);
  cr_expect_eq(run(dir, a), 1);
  cr_expect(strstr(slurp(dir, "err"), "pairwise recall 0.750000 at the best F1's threshold 0.5 is below --min-recall"),
            "%s", slurp(dir, "err"));
  snprintf(a, sizeof a, "%s --threshold 0.6 --min-precision 0.66 --min-recall 0.5", base);
  cr_expect_eq(run(dir, a), 0, "%s", slurp(dir, "err"));
  snprintf(a, sizeof a, "%s --threshold 0.6 --min-recall 0.5001", base);
  cr_expect_eq(run(dir, a), 1);
  cr_expect(strstr(slurp(dir, "err"), "recall 0.500000 at the run's threshold 0.6 is below --min-recall"), "%s",
            slurp(dir, "err"));
  snprintf(a, sizeof a, "%s --threshold 0.6 --min-precision 0.67", base);
  cr_expect_eq(run(dir, a), 1);
  cr_expect(strstr(slurp(dir, "err"), "precision 0.666667 at the run's threshold 0.6"), "%s", slurp(dir, "err"));
}

Test(sweep_cli, bad_input_fails_clearly) {
  char *dir = setup();
  cr_expect_eq(run(dir, "--pairs run/nope.parquet --truth run/truth.csv"), 1);
  cr_expect(strstr(slurp(dir, "err"), "run/nope.parquet"), "%s", slurp(dir, "err"));
  char rd[600];
  snprintf(rd, sizeof rd, "%s/bad", dir);
  cr_assert_eq(mkdir(rd, 0755), 0);
  fixture(rd, 0); /* no match_weight column */
  cr_expect_eq(run(dir, "--pairs bad/pairs.parquet --truth bad/truth.csv"), 1);
  cr_expect(strstr(slurp(dir, "err"), "expected a DOUBLE column \"match_weight\""), "%s", slurp(dir, "err"));
  write_text(dir, "other.csv", "source,record_id,patient_id\ngp,x1,A\nhes,x1,A\n");
  cr_expect_eq(run(dir, "--pairs run/pairs.parquet --truth other.csv"), 1);
  cr_expect(strstr(slurp(dir, "err"), "nothing can be scored"), "%s", slurp(dir, "err"));
  cr_expect_eq(run(dir, "--pairs run/pairs.parquet --truth run/truth.csv --mode dedupe"), 1);
  cr_expect(strstr(slurp(dir, "err"), "6 are outside mode dedupe"), "%s", slurp(dir, "err"));
  /* usage errors: exit 2 */
  cr_expect_eq(run(dir, "--pairs run/pairs.parquet --links run/pairs.parquet --truth run/truth.csv"), 2);
  cr_expect_eq(run(dir, "--pairs run/pairs.parquet --truth run/truth.csv --mode both"), 2);
  cr_expect(strstr(slurp(dir, "err"), "--mode: expected link, dedupe or link_and_dedupe, got 'both'"), "%s",
            slurp(dir, "err"));
  cr_expect_eq(run(dir, "--pairs run/pairs.parquet --truth run/truth.csv --threshold 1"), 2);
  cr_expect_eq(run(dir, "--links run/pairs.parquet --truth run/truth.csv --threshold 0.5"), 2);
  cr_expect(strstr(slurp(dir, "err"), "--threshold goes with --pairs only"), "%s", slurp(dir, "err"));
  cr_expect_eq(run(dir, "--truth run/truth.csv"), 2);
}
