/* Unit tests for tessera evaluate: every measure on a hand-worked example,
 * and the errors for bad input. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tessera/evaluate.h"
#include "tessera/parquet.h"
#include "test_util.h"

static void write_links(const char *dir, const char *const *ids, const int64_t *pids, size_t n) {
  tsr_pq_column_def defs[] = {{"source", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
                              {"record_id", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
                              {"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_AUTO}};
  tsr_view src[16], id[16];
  for (size_t i = 0; i < n; i++) {
    src[i] = (tsr_view){"s", 1};
    id[i] = (tsr_view){ids[i], (uint32_t)strlen(ids[i])};
  }
  tsr_pq_writer *w;
  tsr_error err;
  cr_assert_eq(tsr_pq_open(&w, dir, "links.parquet", defs, 3, NULL, &err), 0, "%s", err.msg);
  tsr_pq_col cols[3] = {{src, NULL}, {id, NULL}, {pids, NULL}};
  cr_assert_eq(tsr_pq_write(w, cols, n, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_pq_close(w, &err), 0, "%s", err.msg);
}

static void write_text(const char *dir, const char *name, const char *text) {
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

/* Scores DIR/links.parquet against DIR/<truth>. */
static int eval_in(const char *dir, const char *truth, int threads, tsr_eval *e, tsr_error *err) {
  char lp[600], tp[600];
  snprintf(lp, sizeof lp, "%s/links.parquet", dir);
  snprintf(tp, sizeof tp, "%s/%s", dir, truth);
  return tsr_evaluate(lp, tp, threads, e, err);
}

Test(evaluate, hand_worked_example) {
  char *dir = tsr_test_tmpdir("eval");
  /* truth {1,2,3} {4,5} {7}; predicted {1,2} {3,4,5} {6}; 6 is not in the
   * truth and 7 is not in the links */
  static const char *const ids[] = {"1", "2", "3", "4", "5", "6"};
  static const int64_t pids[] = {10, 10, 20, 20, 20, 30};
  write_links(dir, ids, pids, 6);
  write_text(dir, "truth.csv", "source,record_id,patient_id\ns,1,A\ns,2,A\ns,3,A\ns,4,B\ns,5,B\ns,7,C\n");
  tsr_eval e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "truth.csv", 1, &e, &err), 0, "%s", err.msg);
  cr_expect_eq(e.records_links, 6);
  cr_expect_eq(e.records_truth, 6);
  cr_expect_eq(e.records_scored, 5);
  cr_expect_eq(e.links_not_in_truth, 1);
  cr_expect_eq(e.truth_not_in_links, 1);
  cr_expect_eq(e.pairs_true, 4);
  cr_expect_eq(e.pairs_predicted, 4);
  cr_expect_eq(e.pairs_correct, 2);
  cr_expect_float_eq(e.precision, 0.5, 1e-12);
  cr_expect_float_eq(e.recall, 0.5, 1e-12);
  cr_expect_float_eq(e.f1, 0.5, 1e-12);
  cr_expect_eq(e.clusters_predicted, 2);
  cr_expect_eq(e.clusters_true, 2);
  cr_expect_eq(e.clusters_exact, 0);
  cr_expect_eq(e.true_clusters_split, 1);
  cr_expect_eq(e.predicted_clusters_merged, 1);
  cr_expect_float_eq(e.bcubed_precision, (2.0 + 1.0 / 3 + 4.0 / 3) / 5, 1e-12);
  cr_expect_float_eq(e.bcubed_recall, (4.0 / 3 + 1.0 / 3 + 2.0) / 5, 1e-12);
}

Test(evaluate, perfect_links_score_one) {
  char *dir = tsr_test_tmpdir("eval");
  static const char *const ids[] = {"a", "b", "c", "d"};
  static const int64_t pids[] = {1, 1, 2, 3};
  write_links(dir, ids, pids, 4);
  write_text(dir, "truth.csv", "source,record_id,patient_id\ns,a,x\ns,b,x\ns,c,y\ns,d,z\n");
  tsr_eval e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "truth.csv", 2, &e, &err), 0, "%s", err.msg);
  cr_expect_float_eq(e.precision, 1.0, 1e-12);
  cr_expect_float_eq(e.recall, 1.0, 1e-12);
  cr_expect_eq(e.clusters_exact, 3);
  cr_expect_float_eq(e.cluster_precision, 1.0, 1e-12);
  cr_expect_float_eq(e.bcubed_recall, 1.0, 1e-12);
}

Test(evaluate, bad_inputs_name_the_file) {
  char *dir = tsr_test_tmpdir("eval");
  static const char *const ids[] = {"a", "a"};
  static const int64_t pids[] = {1, 2};
  write_links(dir, ids, pids, 2);
  write_text(dir, "truth.csv", "source,record_id,patient_id\ns,a,x\n");
  write_text(dir, "dup.csv", "source,record_id,patient_id\ns,b,x\ns,b,y\n");
  write_text(dir, "ragged.csv", "source,record_id,patient_id\ns,b\n");
  char lp[600], tp[600];
  snprintf(lp, sizeof lp, "%s/links.parquet", dir);
  tsr_eval e;
  tsr_error err;
  snprintf(tp, sizeof tp, "%s/truth.csv", dir);
  cr_expect_eq(tsr_evaluate(lp, tp, 1, &e, &err), TSR_EPARSE, "a record twice in the links");
  cr_expect(strstr(err.msg, "appears twice") != NULL, "%s", err.msg);
  snprintf(tp, sizeof tp, "%s/dup.csv", dir);
  cr_expect_eq(tsr_evaluate(lp, tp, 1, &e, &err), TSR_EPARSE);
  cr_expect(strstr(err.file, "dup.csv") && err.line == 3, "%s:%llu %s", err.file, (unsigned long long)err.line, err.msg);
  snprintf(tp, sizeof tp, "%s/ragged.csv", dir);
  cr_expect_neq(tsr_evaluate(lp, tp, 1, &e, &err), 0, "a ragged truth row is an error, not a silent drop");
  cr_expect_eq(tsr_evaluate(tp, tp, 1, &e, &err), TSR_EPARSE, "a CSV is not a links file");
  cr_expect(strstr(err.file, "ragged.csv") != NULL);
}

Test(evaluate, order_does_not_matter) {
  char *dir = tsr_test_tmpdir("eval");
  static const char *const ids[] = {"d", "c", "b", "a"};
  static const int64_t pids[] = {3, 2, 1, 1};
  write_links(dir, ids, pids, 4);
  write_text(dir, "truth.csv", "source,record_id,patient_id\ns,a,x\ns,b,x\ns,c,y\ns,d,y\n");
  tsr_eval e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "truth.csv", 1, &e, &err), 0, "%s", err.msg);
  cr_expect_eq(e.records_scored, 4);
  cr_expect_eq(e.pairs_correct, 1);
  cr_expect_eq(e.pairs_true, 2);
  cr_expect_eq(e.pairs_predicted, 1);
  cr_expect_eq(e.true_clusters_split, 1);
  cr_expect_eq(e.clusters_exact, 1);
}
