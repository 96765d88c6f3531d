/* Unit tests for the threshold sweep of tessera evaluate --pairs
 * (tsr_evaluate_sweep): exact counts on a hand-made pairs.parquet on both
 * sides of a pair's weight, the best F1, the mode's true pairs, the floor,
 * the files it writes, and the errors for bad input. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tessera/evaluate.h"
#include "tessera/parquet.h"
#include "test_util.h"

typedef struct prow {
  const char *sa, *ia, *sb, *ib;
  double p; /* match probability; the weight is log2(p / (1 - p)) */
} prow;

static double w_of(double p) { return log2(p / (1 - p)); }

/* Writes dir/name with PLAN9's pairs.parquet columns (source_a, id_a,
 * source_b, id_b, rule, gamma_dob, match_weight, match_probability, linked),
 * leaving out the column named skip (NULL: none). A weight of NAN in wts (when
 * given) overrides the row's; null_w makes row null_w - 1's weight null. */
static void write_pairs_ex(const char *dir, const char *name, const prow *r, size_t n, const char *skip,
                           const double *wts, size_t null_w) {
  tsr_pq_column_def all[] = {
      {"source_a", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO}, {"id_a", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
      {"source_b", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO}, {"id_b", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
      {"rule", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},     {"gamma_dob", TSR_PQ_INT32, 0, TSR_PQ_ENC_AUTO},
      {"match_weight", TSR_PQ_DOUBLE, 1, TSR_PQ_ENC_AUTO}, {"match_probability", TSR_PQ_DOUBLE, 0, TSR_PQ_ENC_AUTO},
      {"linked", TSR_PQ_BOOL, 0, TSR_PQ_ENC_PLAIN}};
  static tsr_view sa[32], ia[32], sb[32], ib[32], rule[32];
  static int32_t gam[32];
  static double w[32], p[32];
  static uint8_t linked[32], wvalid[32];
  cr_assert(n <= 32);
  for (size_t i = 0; i < n; i++) {
    sa[i] = (tsr_view){r[i].sa, (uint32_t)strlen(r[i].sa)};
    ia[i] = (tsr_view){r[i].ia, (uint32_t)strlen(r[i].ia)};
    sb[i] = (tsr_view){r[i].sb, (uint32_t)strlen(r[i].sb)};
    ib[i] = (tsr_view){r[i].ib, (uint32_t)strlen(r[i].ib)};
    rule[i] = (tsr_view){"dob", 3};
    gam[i] = 1;
    p[i] = r[i].p;
    w[i] = wts ? wts[i] : w_of(r[i].p);
    linked[i] = r[i].p >= 0.95;
    wvalid[i] = i + 1 != null_w;
  }
  const void *vals[] = {sa, ia, sb, ib, rule, gam, w, p, linked};
  tsr_pq_column_def defs[9];
  tsr_pq_col cols[9];
  size_t k = 0;
  for (size_t c = 0; c < 9; c++) {
    if (skip && strcmp(all[c].name, skip) == 0) continue;
    defs[k] = all[c];
    cols[k] = (tsr_pq_col){vals[c], c == 6 ? wvalid : NULL};
    k++;
  }
  tsr_pq_writer *wr;
  tsr_error err;
  cr_assert_eq(tsr_pq_open(&wr, dir, name, defs, k, NULL, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_pq_write(wr, cols, n, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_pq_close(wr, &err), 0, "%s", err.msg);
}

static void write_pairs(const char *dir, const prow *r, size_t n) {
  write_pairs_ex(dir, "pairs.parquet", r, n, NULL, NULL, 0);
}

static void write_text(const char *dir, const char *name, const char *text) {
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
}

/* truth: A {gp 1, hes 1}; B {gp 2, hes 2, hes 3}; C {gp 3}; D {hes 4}.
 * True pairs: gp1-hes1, gp2-hes2, gp2-hes3 (across sources) and hes2-hes3
 * (within hes): 4 in all, 3 in link mode, 1 in dedupe mode. */
static const char TRUTH[] = "source,record_id,patient_id\ngp,1,A\ngp,2,B\ngp,3,C\nhes,1,A\nhes,2,B\nhes,3,B\n"
                            "hes,4,D\n";

/* Six pairs, three of them true; the fourth true pair (hes2-hes3) is not in
 * the file. */
static const prow SIX[] = {
    {"gp", "1", "hes", "1", 0.99}, /* true */
    {"gp", "2", "hes", "2", 0.9},  /* true */
    {"gp", "2", "hes", "3", 0.5},  /* true, weight exactly 0 */
    {"gp", "3", "hes", "4", 0.7},  /* false */
    {"gp", "1", "hes", "2", 0.3},  /* false */
    {"gp", "3", "hes", "1", 0.02}, /* false */
};

static int sweep_in(const char *dir, const tsr_sweep_opts *o, tsr_sweep *s, tsr_error *err) {
  char pp[600], tp[600];
  snprintf(pp, sizeof pp, "%s/pairs.parquet", dir);
  snprintf(tp, sizeof tp, "%s/truth.csv", dir);
  return tsr_evaluate_sweep(pp, tp, o, s, err);
}

static char *six_dir(void) {
  char *dir = tsr_test_tmpdir("sweep");
  cr_assert_not_null(dir);
  write_pairs(dir, SIX, 6);
  write_text(dir, "truth.csv", TRUTH);
  return dir;
}

static void expect_point(const tsr_sweep_point *p, double t, uint64_t pred, uint64_t tp, double prec, double rec) {
  cr_expect_float_eq(p->threshold, t, 1e-15, "threshold %g", p->threshold);
  cr_expect_float_eq(p->match_weight, w_of(t), 1e-12, "at %g: weight %g", t, p->match_weight);
  cr_expect_eq(p->predicted, pred, "at %g: predicted %llu, expected %llu", t, (unsigned long long)p->predicted,
               (unsigned long long)pred);
  cr_expect_eq(p->true_positives, tp, "at %g: true positives %llu, expected %llu", t,
               (unsigned long long)p->true_positives, (unsigned long long)tp);
  cr_expect_float_eq(p->precision, prec, 1e-12, "at %g: precision %g, expected %g", t, p->precision, prec);
  cr_expect_float_eq(p->recall, rec, 1e-12, "at %g: recall %g, expected %g", t, p->recall, rec);
  double f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
  cr_expect_float_eq(p->f1, f1, 1e-12, "at %g: f1 %g, expected %g", t, p->f1, f1);
}

/* Both sides of the true pair at 0.5 (0.45, exactly 0.5, 0.55) and of the
 * false pair at 0.7 (0.65, 0.75). */
Test(sweep, exact_counts_on_both_sides_of_a_pair) {
  char *dir = six_dir();
  static const double th[] = {0.45, 0.5, 0.55, 0.65, 0.75};
  tsr_sweep_opts o;
  tsr_sweep_opts_init(&o);
  o.thresholds = th;
  o.nthresholds = 5;
  o.threads = 1;
  tsr_sweep s;
  tsr_error err;
  cr_assert_eq(sweep_in(dir, &o, &s, &err), 0, "%s", err.msg);
  cr_expect_eq(s.records_truth, 7);
  cr_expect_eq(s.true_pairs, 4);
  cr_expect_eq(s.pairs_in_file, 6);
  cr_expect_eq(s.pairs_judged, 6);
  cr_expect_eq(s.true_pairs_in_file, 3);
  cr_expect_eq(s.pairs_not_in_truth, 0);
  cr_expect_eq(s.pairs_outside_mode, 0);
  cr_expect_float_eq(s.min_probability, 0.02, 1e-15);
  cr_expect_float_eq(s.max_probability, 0.99, 1e-15);
  cr_assert_eq(s.npoints, 5);
  expect_point(&s.points[0], 0.45, 4, 3, 0.75, 0.75);
  expect_point(&s.points[1], 0.5, 4, 3, 0.75, 0.75); /* a pair exactly at the threshold is predicted */
  expect_point(&s.points[2], 0.55, 3, 2, 2.0 / 3, 0.5);
  expect_point(&s.points[3], 0.65, 3, 2, 2.0 / 3, 0.5);
  expect_point(&s.points[4], 0.75, 2, 2, 1.0, 0.5);
  cr_expect_eq(s.has_at, 0);
  tsr_sweep_free(&s);
}

/* The boundaries, by weight: 1/1 (F1 .4), 2/2 (.667), 3/2 (.571), 4/3 (.75),
 * 5/3 (.667), 6/3 (.6): the best is at the pair of 0.5, weight 0. */
Test(sweep, best_f1_is_exact) {
  char *dir = six_dir();
  tsr_sweep s;
  tsr_error err;
  cr_assert_eq(sweep_in(dir, NULL, &s, &err), 0, "%s", err.msg);
  cr_expect_float_eq(s.best.threshold, 0.5, 1e-15);
  cr_expect_float_eq(s.best.match_weight, 0.0, 1e-15);
  cr_expect_eq(s.best.predicted, 4);
  cr_expect_eq(s.best.true_positives, 3);
  cr_expect_float_eq(s.best.f1, 0.75, 1e-12);
  tsr_sweep_free(&s);
}

/* The default grid: 15 thresholds, each pinned. */
Test(sweep, default_grid) {
  char *dir = six_dir();
  tsr_sweep s;
  tsr_error err;
  cr_assert_eq(sweep_in(dir, NULL, &s, &err), 0, "%s", err.msg);
  cr_assert_eq(s.npoints, TSR_SWEEP_GRID_N);
  const double *g = tsr_sweep_grid();
  static const uint64_t pred[TSR_SWEEP_GRID_N] = {6, 5, 5, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0};
  static const uint64_t tp[TSR_SWEEP_GRID_N] = {3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 0, 0};
  static const double want_g[TSR_SWEEP_GRID_N] = {0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
                                                  0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999};
  for (int i = 0; i < TSR_SWEEP_GRID_N; i++) {
    cr_expect_float_eq(g[i], want_g[i], 1e-15);
    expect_point(&s.points[i], want_g[i], pred[i], tp[i], pred[i] ? (double)tp[i] / (double)pred[i] : 1.0,
                 (double)tp[i] / 4.0);
  }
  tsr_sweep_free(&s);
}

/* link mode: only the three true pairs across sources count, so recall is 1
 * at 0.5; dedupe: every pair of the file is across sources, so nothing can
 * be judged. */
Test(sweep, mode_sets_the_true_pairs) {
  char *dir = six_dir();
  static const double th[] = {0.5};
  tsr_sweep_opts o;
  tsr_sweep_opts_init(&o);
  o.thresholds = th;
  o.nthresholds = 1;
  o.mode = TSR_SWEEP_LINK;
  tsr_sweep s;
  tsr_error err;
  cr_assert_eq(sweep_in(dir, &o, &s, &err), 0, "%s", err.msg);
  cr_expect_eq(s.true_pairs, 3);
  expect_point(&s.points[0], 0.5, 4, 3, 0.75, 1.0);
  tsr_sweep_free(&s);
  o.mode = TSR_SWEEP_DEDUPE;
  cr_expect_eq(sweep_in(dir, &o, &s, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "6 are outside mode dedupe"), "%s", err.msg);
  tsr_sweep_free(&s);

  /* a within-source pair (the missing hes2-hes3) and the same file in each mode */
  prow seven[7];
  memcpy(seven, SIX, sizeof SIX);
  seven[6] = (prow){"hes", "3", "hes", "2", 0.6};
  write_pairs(dir, seven, 7);
  o.mode = TSR_SWEEP_DEDUPE;
  cr_assert_eq(sweep_in(dir, &o, &s, &err), 0, "%s", err.msg);
  cr_expect_eq(s.true_pairs, 1);
  cr_expect_eq(s.pairs_judged, 1);
  cr_expect_eq(s.pairs_outside_mode, 6);
  expect_point(&s.points[0], 0.5, 1, 1, 1.0, 1.0);
  tsr_sweep_free(&s);
  o.mode = TSR_SWEEP_LINK;
  cr_assert_eq(sweep_in(dir, &o, &s, &err), 0, "%s", err.msg);
  cr_expect_eq(s.pairs_outside_mode, 1);
  expect_point(&s.points[0], 0.5, 4, 3, 0.75, 1.0);
  tsr_sweep_free(&s);
  o.mode = TSR_SWEEP_BOTH;
  cr_assert_eq(sweep_in(dir, &o, &s, &err), 0, "%s", err.msg);
  cr_expect_eq(s.true_pairs, 4);
  cr_expect_eq(s.true_pairs_in_file, 4);
  expect_point(&s.points[0], 0.5, 5, 4, 0.8, 1.0);
  tsr_sweep_free(&s);
}

/* The true pairs are counted over the whole truth, with more than one
 * cluster and source sizes per cluster: cluster {a,b,c in s; d,e in t}:
 * all 10, within 3 + 1 = 4, across 6. */
Test(sweep, true_pairs_per_mode_on_a_larger_cluster) {
  char *dir = tsr_test_tmpdir("sweep");
  write_text(dir, "truth.csv",
             "source,record_id,patient_id\ns,a,X\nt,d,X\ns,b,X\nt,e,X\ns,c,X\ns,z,Y\nt,z,Y\nt,y,Z\n");
  static const prow one[] = {{"s", "a", "t", "d", 0.9}, {"s", "a", "s", "b", 0.9}};
  write_pairs(dir, one, 2);
  static const tsr_sweep_mode modes[] = {TSR_SWEEP_BOTH, TSR_SWEEP_LINK, TSR_SWEEP_DEDUPE};
  static const uint64_t want[] = {10 + 1, 6 + 1, 4};
  for (int m = 0; m < 3; m++) {
    tsr_sweep_opts o;
    tsr_sweep_opts_init(&o);
    o.mode = modes[m];
    tsr_sweep s;
    tsr_error err;
    cr_assert_eq(sweep_in(dir, &o, &s, &err), 0, "%s", err.msg);
    cr_expect_eq(s.true_pairs, want[m], "mode %s: %llu true pairs, expected %llu", tsr_sweep_mode_name(modes[m]),
                 (unsigned long long)s.true_pairs, (unsigned long long)want[m]);
    tsr_sweep_free(&s);
  }
}

/* Equal weights are one step: a threshold cannot split them, so the best F1
 * is not the 1.0 that cutting between the tied pairs would give. */
Test(sweep, ties_are_one_step) {
  char *dir = tsr_test_tmpdir("sweep");
  write_text(dir, "truth.csv", "source,record_id,patient_id\ns,1,A\ns,2,A\ns,3,B\ns,4,B\ns,5,C\n");
  static const prow r[] = {{"s", "1", "s", "2", 0.97}, {"s", "3", "s", "4", 0.8}, {"s", "1", "s", "5", 0.8}};
  write_pairs(dir, r, 3);
  tsr_sweep s;
  tsr_error err;
  cr_assert_eq(sweep_in(dir, NULL, &s, &err), 0, "%s", err.msg);
  cr_expect_eq(s.best.predicted, 3);
  cr_expect_eq(s.best.true_positives, 2);
  cr_expect_float_eq(s.best.f1, 0.8, 1e-12);
  cr_expect_float_eq(s.best.threshold, 0.8, 1e-15);
  tsr_sweep_free(&s);
}

/* Equal F1 at two weights (1 of 1 predicted and 2 of 4, with 2 true pairs:
 * both 2/3): the higher threshold wins. */
Test(sweep, best_f1_ties_take_the_higher_threshold) {
  char *dir = tsr_test_tmpdir("sweep");
  write_text(dir, "truth.csv", "source,record_id,patient_id\ns,1,A\ns,2,A\ns,3,B\ns,4,B\ns,5,C\ns,6,D\n");
  static const prow r[] = {
      {"s", "1", "s", "2", 0.97}, {"s", "1", "s", "5", 0.9}, {"s", "1", "s", "6", 0.8}, {"s", "3", "s", "4", 0.6}};
  write_pairs(dir, r, 4);
  tsr_sweep s;
  tsr_error err;
  cr_assert_eq(sweep_in(dir, NULL, &s, &err), 0, "%s", err.msg);
  cr_expect_eq(s.best.predicted, 1);
  cr_expect_float_eq(s.best.threshold, 0.97, 1e-15);
  cr_expect_float_eq(s.best.f1, 2.0 / 3, 1e-12);
  tsr_sweep_free(&s);
}

/* The weight orders the pairs, not the probability: probabilities that
 * round to 1 keep their weights' order. */
Test(sweep, weight_orders_where_probability_saturates) {
  char *dir = tsr_test_tmpdir("sweep");
  write_text(dir, "truth.csv", "source,record_id,patient_id\ns,1,A\ns,2,A\ns,3,B\ns,4,C\n");
  static const prow r[] = {{"s", "1", "s", "2", 1.0}, {"s", "3", "s", "4", 1.0}};
  static const double w[] = {80.0, 60.0};
  write_pairs_ex(dir, "pairs.parquet", r, 2, NULL, w, 0);
  tsr_sweep s;
  tsr_error err;
  cr_assert_eq(sweep_in(dir, NULL, &s, &err), 0, "%s", err.msg);
  cr_expect_float_eq(s.best.match_weight, 80.0, 1e-12);
  cr_expect_eq(s.best.predicted, 1);
  cr_expect_float_eq(s.best.f1, 1.0, 1e-12);
  cr_expect_eq(s.points[TSR_SWEEP_GRID_N - 1].predicted, 2); /* both above 0.9999 */
  tsr_sweep_free(&s);
}

/* The floor: grid thresholds below it are left out (0.1 itself is kept);
 * the run's threshold is reported as `at`. */
Test(sweep, floor_and_run_threshold) {
  char *dir = six_dir();
  tsr_sweep_opts o;
  tsr_sweep_opts_init(&o);
  o.pairs_floor = 0.1;
  o.at = 0.6;
  tsr_sweep s;
  tsr_error err;
  cr_assert_eq(sweep_in(dir, &o, &s, &err), 0, "%s", err.msg);
  cr_assert_eq(s.npoints, TSR_SWEEP_GRID_N - 2);
  cr_expect_float_eq(s.points[0].threshold, 0.1, 1e-15);
  cr_expect_eq(s.has_at, 1);
  expect_point(&s.at, 0.6, 3, 2, 2.0 / 3, 0.5);
  tsr_sweep_free(&s);
  o.pairs_floor = 0.1000001;
  cr_assert_eq(sweep_in(dir, &o, &s, &err), 0, "%s", err.msg);
  cr_expect_float_eq(s.points[0].threshold, 0.2, 1e-15);
  tsr_sweep_free(&s);
}

/* The run's sources: a truth source the run did not use adds no true pairs
 * (cluster A grows from 2 to 3 records with ons 1: 2 more pairs without the
 * option), and a pair with its record is not in the truth. */
Test(sweep, run_sources_limit_the_truth) {
  char *dir = six_dir();
  char truth[400];
  snprintf(truth, sizeof truth, "%sons,1,A\n", TRUTH);
  write_text(dir, "truth.csv", truth);
  prow seven[7];
  memcpy(seven, SIX, sizeof SIX);
  seven[6] = (prow){"gp", "1", "ons", "1", 0.99};
  write_pairs(dir, seven, 7);
  static const double th[] = {0.5};
  static const char *const run_sources[] = {"hes", "gp", "xyz"};
  tsr_sweep_opts o;
  tsr_sweep_opts_init(&o);
  o.thresholds = th;
  o.nthresholds = 1;
  tsr_sweep s;
  tsr_error err;
  cr_assert_eq(sweep_in(dir, &o, &s, &err), 0, "%s", err.msg);
  cr_expect_eq(s.true_pairs, 6);
  cr_expect_eq(s.records_other_sources, 0);
  expect_point(&s.points[0], 0.5, 5, 4, 0.8, 4.0 / 6);
  tsr_sweep_free(&s);
  o.sources = run_sources;
  o.nsources = 3;
  cr_assert_eq(sweep_in(dir, &o, &s, &err), 0, "%s", err.msg);
  cr_expect_eq(s.true_pairs, 4);
  cr_expect_eq(s.records_truth, 8);
  cr_expect_eq(s.records_other_sources, 1);
  cr_expect_eq(s.pairs_not_in_truth, 1);
  expect_point(&s.points[0], 0.5, 4, 3, 0.75, 0.75);
  tsr_sweep_free(&s);
  o.nsources = 1; /* hes alone: no pair has both records in the run's truth */
  cr_expect_eq(sweep_in(dir, &o, &s, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "no pair is in the truth"), "%s", err.msg);
  tsr_sweep_free(&s);
}

/* A pair with a record outside the truth is left out and counted. */
Test(sweep, pairs_not_in_truth_are_left_out) {
  char *dir = six_dir();
  prow seven[7];
  memcpy(seven, SIX, sizeof SIX);
  seven[6] = (prow){"gp", "99", "hes", "1", 0.99};
  write_pairs(dir, seven, 7);
  static const double th[] = {0.5};
  tsr_sweep_opts o;
  tsr_sweep_opts_init(&o);
  o.thresholds = th;
  o.nthresholds = 1;
  tsr_sweep s;
  tsr_error err;
  cr_assert_eq(sweep_in(dir, &o, &s, &err), 0, "%s", err.msg);
  cr_expect_eq(s.pairs_in_file, 7);
  cr_expect_eq(s.pairs_not_in_truth, 1);
  cr_expect_eq(s.pairs_judged, 6);
  expect_point(&s.points[0], 0.5, 4, 3, 0.75, 0.75);
  tsr_sweep_free(&s);
}

/* sweep.json has the documented keys and figures; sweep.html is a chart with
 * no scripts. */
Test(sweep, writes_json_and_html) {
  char *dir = six_dir();
  tsr_sweep_opts o;
  tsr_sweep_opts_init(&o);
  o.at = 0.95;
  tsr_sweep s;
  tsr_error err;
  cr_assert_eq(sweep_in(dir, &o, &s, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_sweep_write(&s, dir, &err), 0, "%s", err.msg);
  tsr_sweep_free(&s);
  char p[600];
  snprintf(p, sizeof p, "%s/sweep.json", dir);
  json_error_t je;
  json_t *j = json_load_file(p, 0, &je);
  cr_assert_not_null(j, "%s", je.text);
  cr_expect(strstr(json_string_value(json_object_get(j, "pairs_file")), "pairs.parquet"));
  cr_expect(strstr(json_string_value(json_object_get(j, "truth")), "truth.csv"));
  cr_expect(strstr(json_string_value(json_object_get(j, "description")), "not closed transitively"));
  cr_expect_str_eq(json_string_value(json_object_get(j, "mode")), "link_and_dedupe");
  cr_expect_eq(json_integer_value(json_object_get(j, "true_pairs")), 4);
  cr_expect_eq(json_integer_value(json_object_get(j, "pairs_in_file")), 6);
  cr_expect(json_is_null(json_object_get(j, "pairs_floor")));
  json_t *sw = json_object_get(j, "sweep");
  cr_assert_eq(json_array_size(sw), TSR_SWEEP_GRID_N);
  json_t *p6 = json_array_get(sw, 6);
  cr_expect_float_eq(json_number_value(json_object_get(p6, "threshold")), 0.5, 1e-12);
  cr_expect_float_eq(json_number_value(json_object_get(p6, "match_weight")), 0.0, 1e-12);
  cr_expect_eq(json_integer_value(json_object_get(p6, "predicted")), 4);
  cr_expect_eq(json_integer_value(json_object_get(p6, "true_positives")), 3);
  cr_expect_float_eq(json_number_value(json_object_get(p6, "precision")), 0.75, 1e-9);
  cr_expect_float_eq(json_number_value(json_object_get(p6, "recall")), 0.75, 1e-9);
  cr_expect_float_eq(json_number_value(json_object_get(p6, "f1")), 0.75, 1e-9);
  json_t *best = json_object_get(j, "best");
  cr_expect_float_eq(json_number_value(json_object_get(best, "f1")), 0.75, 1e-9);
  cr_expect_eq(json_integer_value(json_object_get(json_object_get(j, "at"), "predicted")), 1);
  json_decref(j);
  snprintf(p, sizeof p, "%s/sweep.html", dir);
  FILE *f = fopen(p, "r");
  cr_assert_not_null(f);
  static char html[1 << 16];
  size_t n = fread(html, 1, sizeof html - 1, f);
  fclose(f);
  html[n] = 0;
  cr_expect(strstr(html, "<svg"));
  cr_expect(strstr(html, "<polyline class=\"p\""));
  cr_expect(strstr(html, "<polyline class=\"r\""));
  cr_expect(strstr(html, "<polyline class=\"f\""));
  cr_expect(strstr(html, "best F1 0.7500 at 0.5"));
  cr_expect(strstr(html, "run threshold 0.95"));
  cr_expect_null(strstr(html, "<script"));
  cr_expect_null(strstr(html, "http"));
}

/* --- errors ------------------------------------------------------------------ */

static void expect_error(const char *dir, int code, const char *needle) {
  tsr_sweep s;
  tsr_error err;
  int rc = sweep_in(dir, NULL, &s, &err);
  cr_expect_eq(rc, code, "rc %d (%s), expected %d", rc, err.msg, code);
  cr_expect(strstr(err.msg, needle), "'%s' lacks '%s'", err.msg, needle);
  tsr_sweep_free(&s);
}

Test(sweep, error_missing_file) {
  char *dir = tsr_test_tmpdir("sweep");
  write_text(dir, "truth.csv", TRUTH);
  tsr_sweep s;
  tsr_error err;
  cr_expect_neq(sweep_in(dir, NULL, &s, &err), 0);
  cr_expect(strstr(err.file, "pairs.parquet") || strstr(err.msg, "pairs.parquet"), "%s / %s", err.file, err.msg);
  tsr_sweep_free(&s);
}

Test(sweep, error_missing_or_mistyped_column) {
  static const char *const need[] = {"source_a", "id_a", "source_b", "id_b", "match_weight", "match_probability"};
  for (int i = 0; i < 6; i++) {
    char *dir = tsr_test_tmpdir("sweep");
    write_text(dir, "truth.csv", TRUTH);
    write_pairs_ex(dir, "pairs.parquet", SIX, 6, need[i], NULL, 0);
    char needle[80];
    snprintf(needle, sizeof needle, "\"%s\", found none", need[i]);
    expect_error(dir, TSR_EPARSE, needle);
  }
  /* a links file is not a pairs file */
  char *dir = tsr_test_tmpdir("sweep");
  write_text(dir, "truth.csv", TRUTH);
  tsr_pq_column_def d[] = {{"source_a", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO}, {"id_a", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
                           {"source_b", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO}, {"id_b", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
                           {"match_weight", TSR_PQ_INT64, 0, TSR_PQ_ENC_AUTO},
                           {"match_probability", TSR_PQ_DOUBLE, 0, TSR_PQ_ENC_AUTO}};
  tsr_view v[1] = {{"1", 1}};
  int64_t wi[1] = {3};
  double pr[1] = {0.5};
  tsr_pq_col c[6] = {{v, NULL}, {v, NULL}, {v, NULL}, {v, NULL}, {wi, NULL}, {pr, NULL}};
  tsr_pq_writer *w;
  tsr_error err;
  cr_assert_eq(tsr_pq_open(&w, dir, "pairs.parquet", d, 6, NULL, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_pq_write(w, c, 1, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr_pq_close(w, &err), 0, "%s", err.msg);
  expect_error(dir, TSR_EPARSE, "expected a DOUBLE column \"match_weight\", found INT64");
}

/* Nothing in the file overlaps the truth: a failure, not a perfect score. */
Test(sweep, error_no_overlap) {
  char *dir = tsr_test_tmpdir("sweep");
  write_text(dir, "truth.csv", TRUTH);
  static const prow r[] = {{"gp", "91", "hes", "1", 0.9}, {"gp", "1", "hes", "92", 0.9}, {"x", "1", "hes", "1", 0.9}};
  write_pairs(dir, r, 3);
  expect_error(dir, TSR_EPARSE, "no pair is in the truth: none of the 3 pairs");
  write_pairs(dir, r, 0);
  expect_error(dir, TSR_EPARSE, "no rows");
}

Test(sweep, error_same_pair_twice) {
  char *dir = six_dir();
  prow seven[7];
  memcpy(seven, SIX, sizeof SIX);
  seven[6] = (prow){"hes", "4", "gp", "3", 0.1}; /* row 4 the other way round */
  write_pairs(dir, seven, 7);
  expect_error(dir, TSR_EPARSE, "rows 4 and 7 are the same pair (gp, 3) - (hes, 4)");
}

Test(sweep, error_record_with_itself) {
  char *dir = six_dir();
  prow seven[7];
  memcpy(seven, SIX, sizeof SIX);
  seven[6] = (prow){"hes", "4", "hes", "4", 0.1};
  write_pairs(dir, seven, 7);
  expect_error(dir, TSR_EPARSE, "row 7 pairs record (hes, 4) with itself");
}

Test(sweep, error_bad_scores) {
  char *dir = six_dir();
  write_pairs_ex(dir, "pairs.parquet", SIX, 6, NULL, NULL, 3);
  expect_error(dir, TSR_EPARSE, "row 3: match_weight is null");
  double w[6] = {1, 2, 3, NAN, 5, 6};
  write_pairs_ex(dir, "pairs.parquet", SIX, 6, NULL, w, 0);
  expect_error(dir, TSR_EPARSE, "row 4: match_weight is NaN");
  prow bad[6];
  memcpy(bad, SIX, sizeof SIX);
  bad[5].p = 1.5;
  write_pairs_ex(dir, "pairs.parquet", bad, 6, NULL, w, 0);
  expect_error(dir, TSR_EPARSE, "row 4: match_weight is NaN"); /* the first bad row is named */
  w[3] = 4;
  write_pairs_ex(dir, "pairs.parquet", bad, 6, NULL, w, 0);
  expect_error(dir, TSR_EPARSE, "row 6: match_probability is outside [0, 1]");
}

Test(sweep, error_bad_truth_row_is_named) {
  char *dir = six_dir();
  write_text(dir, "truth.csv", "source,record_id,patient_id\ngp,1,A\ngp,1\n");
  expect_error(dir, TSR_EPARSE, "truth row rejected");
  write_text(dir, "truth.csv", "source,record_id,patient_id\ngp,1,A\nhes,1,A\ngp,1,B\n");
  expect_error(dir, TSR_EPARSE, "record (gp, 1) appears twice in the truth");
}

Test(sweep, error_bad_options) {
  char *dir = six_dir();
  tsr_sweep_opts o;
  tsr_sweep_opts_init(&o);
  static const double desc[] = {0.5, 0.4}, one[] = {1.0}, zero[] = {0.0};
  const double *sets[] = {desc, one, zero};
  const size_t ns[] = {2, 1, 1};
  for (int i = 0; i < 3; i++) {
    o.thresholds = sets[i];
    o.nthresholds = ns[i];
    tsr_sweep s;
    tsr_error err;
    cr_expect_eq(sweep_in(dir, &o, &s, &err), TSR_EINVAL, "set %d", i);
    tsr_sweep_free(&s);
  }
  tsr_sweep_mode m;
  cr_expect_eq(tsr_sweep_mode_parse("link", &m), 0);
  cr_expect_eq(m, TSR_SWEEP_LINK);
  cr_expect_eq(tsr_sweep_mode_parse("dedupe", &m), 0);
  cr_expect_eq(m, TSR_SWEEP_DEDUPE);
  cr_expect_eq(tsr_sweep_mode_parse("link_and_dedupe", &m), 0);
  cr_expect_eq(m, TSR_SWEEP_BOTH);
  cr_expect_eq(tsr_sweep_mode_parse("both", &m), TSR_EINVAL);
}
