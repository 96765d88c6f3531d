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
  cr_expect_eq(e.pairs_true_missing, 0);
  cr_expect_eq(e.clusters_predicted, 2);
  cr_expect_eq(e.clusters_true, 3); /* {7} is a true cluster too, missed */
  cr_expect_eq(e.clusters_exact, 0);
  cr_expect_eq(e.true_clusters_split, 1);
  cr_expect_eq(e.predicted_clusters_merged, 1);
  cr_expect_float_eq(e.bcubed_precision, (2.0 + 1.0 / 3 + 4.0 / 3) / 5, 1e-12);
  /* recall over all six truth records: 7 is missing, so it stands alone
   * (1/1) */
  cr_expect_float_eq(e.bcubed_recall, (4.0 / 3 + 1.0 / 3 + 2.0 + 1.0) / 6, 1e-12);
  cr_expect_float_eq(e.cluster_recall, 0.0, 1e-12);
}

/* Worked by hand, and lopsided so that precision and recall differ (a
 * symmetric example cannot tell a B-cubed recall that divides by the
 * predicted cluster's size from the right one):
 *   truth {a,b,c} {d}; predicted {a,b,c,d}
 *   pairwise: predicted 6, true 3, correct 3 -> precision 1/2, recall 1
 *   B-cubed precision: a,b,c 3/4 each, d 1/4 -> (9/4 + 1/4) / 4 = 5/8
 *   B-cubed recall:    a,b,c 3/3 each, d 1/1 -> 1
 *   clusters: 1 predicted, 2 true, 0 exact, 1 merged, 0 split */
Test(evaluate, lopsided_example_precision_differs_from_recall) {
  char *dir = tsr_test_tmpdir("eval");
  static const char *const ids[] = {"a", "b", "c", "d"};
  static const int64_t pids[] = {5, 5, 5, 5};
  write_links(dir, ids, pids, 4);
  write_text(dir, "truth.csv", "source,record_id,patient_id\ns,a,X\ns,b,X\ns,c,X\ns,d,Y\n");
  tsr_eval e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "truth.csv", 1, &e, &err), 0, "%s", err.msg);
  cr_expect_eq(e.pairs_predicted, 6);
  cr_expect_eq(e.pairs_true, 3);
  cr_expect_eq(e.pairs_correct, 3);
  cr_expect_float_eq(e.precision, 0.5, 1e-12);
  cr_expect_float_eq(e.recall, 1.0, 1e-12);
  cr_expect_float_eq(e.f1, 2.0 / 3, 1e-12);
  cr_expect_float_eq(e.bcubed_precision, 5.0 / 8, 1e-12);
  cr_expect_float_eq(e.bcubed_recall, 1.0, 1e-12);
  cr_expect_eq(e.clusters_predicted, 1);
  cr_expect_eq(e.clusters_true, 2);
  cr_expect_eq(e.clusters_exact, 0);
  cr_expect_eq(e.predicted_clusters_merged, 1);
  cr_expect_eq(e.true_clusters_split, 0);
}

/* The mirror image: truth {a,b,c,d}; predicted {a,b,c} {d}.
 *   pairwise: predicted 3, true 6, correct 3 -> precision 1, recall 1/2
 *   B-cubed precision 1; recall (3 * 3/4 + 1/4) / 4 = 5/8 */
Test(evaluate, lopsided_example_mirror) {
  char *dir = tsr_test_tmpdir("eval");
  static const char *const ids[] = {"a", "b", "c", "d"};
  static const int64_t pids[] = {5, 5, 5, 6};
  write_links(dir, ids, pids, 4);
  write_text(dir, "truth.csv", "source,record_id,patient_id\ns,a,X\ns,b,X\ns,c,X\ns,d,X\n");
  tsr_eval e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "truth.csv", 1, &e, &err), 0, "%s", err.msg);
  cr_expect_float_eq(e.precision, 1.0, 1e-12);
  cr_expect_float_eq(e.recall, 0.5, 1e-12);
  cr_expect_float_eq(e.bcubed_precision, 1.0, 1e-12);
  cr_expect_float_eq(e.bcubed_recall, 5.0 / 8, 1e-12);
  cr_expect_eq(e.true_clusters_split, 1);
  cr_expect_eq(e.predicted_clusters_merged, 0);
}

/* Defect 8: a truth record missing from the links (rejected at ingest, say)
 * is a missed record. truth {a,b,c,d} {e,f}; the links hold only a, b (one
 * cluster) and e: c, d and f are missing.
 *   true pairs over every truth record: 6 + 1 = 7; correct: (a,b) = 1
 *   recall 1/7 (the old figure, over the scored records only, was 1/1)
 *   pairs lost with the missing records: 7 - 1 (a,b) - 0 (e) = 6
 *   B-cubed recall over 6 records: a,b 2/4 each, c,d 1/4 each, e,f 1/2 each
 *     = (1/2 + 1/2 + 1/4 + 1/4 + 1/2 + 1/2) / 6 = 5/12 */
Test(evaluate, truth_missing_from_links_counts_as_missed) {
  char *dir = tsr_test_tmpdir("eval");
  static const char *const ids[] = {"a", "b", "e"};
  static const int64_t pids[] = {1, 1, 2};
  write_links(dir, ids, pids, 3);
  write_text(dir, "truth.csv", "source,record_id,patient_id\ns,a,X\ns,b,X\ns,c,X\ns,d,X\ns,e,Y\ns,f,Y\n");
  tsr_eval e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "truth.csv", 1, &e, &err), 0, "%s", err.msg);
  cr_expect_eq(e.records_scored, 3);
  cr_expect_eq(e.truth_not_in_links, 3);
  cr_expect_eq(e.pairs_true, 7);
  cr_expect_eq(e.pairs_correct, 1);
  cr_expect_eq(e.pairs_true_missing, 6);
  cr_expect_float_eq(e.precision, 1.0, 1e-12);
  cr_expect_float_eq(e.recall, 1.0 / 7, 1e-12);
  cr_expect_float_eq(e.bcubed_recall, 5.0 / 12, 1e-12);
  cr_expect_eq(e.clusters_true, 2);
  cr_expect_eq(e.clusters_exact, 0, "a true cluster with a missing member is not matched exactly");
  cr_expect_eq(e.true_clusters_split, 2);
  cr_expect_float_eq(e.cluster_recall, 0.0, 1e-12);
}

/* Defect 8: when no record is in both files, nothing is scored: an error,
 * never a perfect 1.0. */
Test(evaluate, nothing_scored_is_an_error) {
  char *dir = tsr_test_tmpdir("eval");
  static const char *const ids[] = {"p", "q"};
  static const int64_t pids[] = {1, 1};
  write_links(dir, ids, pids, 2);
  write_text(dir, "truth.csv", "source,record_id,patient_id\ns,a,X\ns,b,X\n");
  tsr_eval e;
  tsr_error err;
  cr_expect_eq(eval_in(dir, "truth.csv", 1, &e, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "nothing can be scored") != NULL, "%s", err.msg);
  cr_expect(strstr(err.file, "links.parquet") != NULL, "%s", err.file);
  /* a links file with no rows at all */
  char *d2 = tsr_test_tmpdir("eval");
  write_links(d2, ids, pids, 0);
  write_text(d2, "truth.csv", "source,record_id,patient_id\ns,a,X\ns,b,X\n");
  cr_expect_eq(eval_in(d2, "truth.csv", 1, &e, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "no rows") != NULL, "%s", err.msg);
}

/* Defect 9: a bad truth row is named by file, line and reason, and no
 * rejects.csv appears (evaluate never wrote one). */
Test(evaluate, short_truth_row_names_file_line_and_reason) {
  char *dir = tsr_test_tmpdir("eval");
  static const char *const ids[] = {"a", "b"};
  static const int64_t pids[] = {1, 1};
  write_links(dir, ids, pids, 2);
  write_text(dir, "short.csv", "source,record_id,patient_id\ns,a,X\ns,b,X\ns,c\ns,d,X\n");
  tsr_eval e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "short.csv", 1, &e, &err), TSR_EPARSE);
  cr_expect(strstr(err.file, "short.csv") != NULL, "%s", err.file);
  cr_expect_eq(err.line, 4, "line %llu", (unsigned long long)err.line);
  cr_expect(strstr(err.msg, "field_count") != NULL, "%s", err.msg);
  cr_expect(strstr(err.msg, "rejects.csv") == NULL, "names a file it never writes: %s", err.msg);
  cr_expect(strstr(err.msg, "1 of 4") != NULL, "%s", err.msg);
  char p[700];
  snprintf(p, sizeof p, "%s/rejects.csv", dir);
  FILE *f = fopen(p, "r");
  cr_expect_null(f, "evaluate wrote %s", p);
  if (f) fclose(f);
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
