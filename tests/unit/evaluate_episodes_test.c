/* Unit tests for tessera evaluate --episodes (tsr_evaluate_episodes): spells
 * and CIPS measures on a hand-worked episodes.parquet (written with the
 * engine's Parquet writer, in the PLAN10 schema) against a hand-made
 * truth_spells.csv, the bad-input errors, and the CLI's JSON and gates. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tessera/evaluate.h"
#include "tessera/parquet.h"
#include "test_util.h"

/* One episode row; spell 0 = null (not finished). cips -1: cips null even
 * though spell is set (a malformed file). */
typedef struct ep {
  const char *id;
  int64_t spell, cips;
} ep;

/* Writes dir/episodes.parquet with the columns of PLAN10 (patient_id and
 * spell_order made up; finished follows spell_id). with_cips 0 leaves the
 * cips_id column out. */
static void write_episodes(const char *dir, const ep *e, size_t n, int with_cips) {
  tsr_pq_column_def defs[] = {{"source", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
                              {"record_id", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
                              {"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_AUTO},
                              {"spell_id", TSR_PQ_INT64, 1, TSR_PQ_ENC_AUTO},
                              {"spell_order", TSR_PQ_INT32, 1, TSR_PQ_ENC_AUTO},
                              {"finished", TSR_PQ_BOOL, 0, TSR_PQ_ENC_AUTO},
                              {"cips_id", TSR_PQ_INT64, 1, TSR_PQ_ENC_AUTO}};
  tsr_view src[32], id[32];
  int64_t pid[32], sp[32], ci[32];
  int32_t ord[32];
  uint8_t fin[32], vsp[32], vci[32];
  cr_assert(n <= 32);
  for (size_t i = 0; i < n; i++) {
    src[i] = (tsr_view){"hes", 3};
    id[i] = (tsr_view){e[i].id, (uint32_t)strlen(e[i].id)};
    pid[i] = 1;
    sp[i] = e[i].spell;
    ci[i] = e[i].cips > 0 ? e[i].cips : 0;
    ord[i] = 1;
    vsp[i] = e[i].spell != 0;
    vci[i] = e[i].cips != 0 && e[i].cips != -1;
    fin[i] = vsp[i];
  }
  tsr_pq_writer *w;
  tsr_error err;
  const size_t nc = with_cips ? 7 : 6;
  cr_assert_eq(tsr_pq_open(&w, dir, "episodes.parquet", defs, nc, NULL, &err), 0, "%s", err.msg);
  tsr_pq_col cols[7] = {{src, NULL}, {id, NULL}, {pid, NULL}, {sp, vsp}, {ord, vsp}, {fin, NULL}, {ci, vci}};
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

static int eval_in(const char *dir, const char *truth, tsr_eval_episodes *e, tsr_error *err) {
  char ep_path[600], tp[600];
  snprintf(ep_path, sizeof ep_path, "%s/episodes.parquet", dir);
  snprintf(tp, sizeof tp, "%s/%s", dir, truth);
  return tsr_evaluate_episodes(ep_path, tp, 1, e, err);
}

/* The worked example (see the comments of the tests below).
 * truth: spells S1{e1,e2} S3{e3} S4{e4,e5} S6{e6,e9} S8{e8} S11{e11}
 *        S13{e13,e14}; CIPS C1{e1,e2,e3} C4{e4,e5} C6{e6,e9} C8{e8} C11{e11}
 *        C13{e13,e14}; e7 and e10 have no spell (unfinished).
 * file:  spells 101{e1,e2} 102{e3} 103{e4} 104{e5,e6} 105{e10,e11} 106{e12}
 *        107{e13}; CIPS 201{e1,e2,e3} 204{e4,e5,e6} 205{e10,e11} 206{e12}
 *        207{e13}; e7, e8, e14 unfinished; e9 missing; e12 not in truth.
 *        After e8 the rows are no longer in the truth's order. */
static const ep k_file[] = {{"e1", 101, 201},  {"e2", 101, 201}, {"e3", 102, 201},  {"e4", 103, 204},
                            {"e5", 104, 204},  {"e6", 104, 204}, {"e7", 0, 0},      {"e8", 0, 0},
                            {"e10", 105, 205}, {"e11", 105, 205}, {"e12", 106, 206}, {"e13", 107, 207},
                            {"e14", 0, 0}};
static const char *const k_truth = "epikey,spell_id,cips_id\n"
                                   "e1,1,1\ne2,1,1\ne3,3,1\ne4,4,4\ne5,4,4\ne6,6,6\ne7,,\ne8,8,8\ne9,6,6\n"
                                   "e10,,\ne11,11,11\ne13,13,13\ne14,13,13\n";

static char *worked_dir(void) {
  char *dir = tsr_test_tmpdir("evep");
  cr_assert_not_null(dir);
  write_episodes(dir, k_file, sizeof k_file / sizeof k_file[0], 1);
  write_text(dir, "truth_spells.csv", k_truth);
  return dir;
}

Test(evaluate_episodes, records_and_unfinished) {
  char *dir = worked_dir();
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "truth_spells.csv", &e, &err), 0, "%s", err.msg);
  cr_expect_eq(e.records_file, 13);
  cr_expect_eq(e.records_truth, 13);
  cr_expect_eq(e.records_scored, 12);   /* all but e12 */
  cr_expect_eq(e.not_in_truth, 1);      /* e12 */
  cr_expect_eq(e.truth_not_in_file, 1); /* e9 */
  cr_expect_eq(e.unfinished_file, 3);   /* e7 e8 e14 */
  cr_expect_eq(e.unfinished_truth, 2);  /* e7 e10 */
  cr_expect_eq(e.left_out, 1);          /* e7: no spell on either side */
  cr_expect_eq(e.missed, 2);            /* e8 e14: unfinished here, in a true spell */
  cr_expect_eq(e.no_true_spell, 1);     /* e10 */
}

Test(evaluate_episodes, spells_hand_worked) {
  char *dir = worked_dir();
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "truth_spells.csv", &e, &err), 0, "%s", err.msg);
  const tsr_eval_partition *s = &e.spells;
  /* predicted pairs: 101 (1), 104 (1), 105 (1); 106 is not judged */
  cr_expect_eq(s->pairs_predicted, 3);
  /* true pairs over the whole truth: S1, S4, S6 (e9 missing), S13 (e14 missed) */
  cr_expect_eq(s->pairs_true, 4);
  cr_expect_eq(s->pairs_correct, 1); /* e1-e2 */
  cr_expect_float_eq(s->precision, 1.0 / 3, 1e-12);
  cr_expect_float_eq(s->recall, 1.0 / 4, 1e-12);
  cr_expect_float_eq(s->f1, 2.0 / 7, 1e-12);
  cr_expect_eq(s->predicted, 6); /* 101 .. 105, 107 */
  cr_expect_eq(s->true_n, 7);
  /* 101 = S1 and 102 = S3; 107 = {e13} is not S13 (e14 is missed) */
  cr_expect_eq(s->exact, 2);
  cr_expect_float_eq(s->exact_share, 2.0 / 7, 1e-12);
  /* S4 over 103 and 104; S6 in 104 and missing e9; S13 in 107 and missed e14 */
  cr_expect_eq(s->split, 3);
  /* 104 holds S4 and S6; 105 holds S11 and e10 of no true spell */
  cr_expect_eq(s->merged, 2);
}

Test(evaluate_episodes, cips_hand_worked) {
  char *dir = worked_dir();
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "truth_spells.csv", &e, &err), 0, "%s", err.msg);
  const tsr_eval_partition *c = &e.cips;
  cr_expect_eq(c->pairs_predicted, 7); /* 201 (3), 204 (3), 205 (1) */
  cr_expect_eq(c->pairs_true, 6);      /* C1 (3), C4, C6, C13 */
  cr_expect_eq(c->pairs_correct, 4);   /* C1's 3 in 201, e4-e5 in 204 */
  cr_expect_float_eq(c->precision, 4.0 / 7, 1e-12);
  cr_expect_float_eq(c->recall, 4.0 / 6, 1e-12);
  cr_expect_float_eq(c->f1, 2 * (4.0 / 7) * (4.0 / 6) / (4.0 / 7 + 4.0 / 6), 1e-12);
  cr_expect_eq(c->predicted, 4); /* 201, 204, 205, 207 */
  cr_expect_eq(c->true_n, 6);
  cr_expect_eq(c->exact, 1); /* 201 = C1, across two provider spells */
  cr_expect_float_eq(c->exact_share, 1.0 / 6, 1e-12);
  cr_expect_eq(c->split, 2);  /* C6 (e9 missing), C13 (e14 missed); C4 is whole in 204 */
  cr_expect_eq(c->merged, 2); /* 204 (C4 + C6), 205 (C11 + e10) */
}

/* Ids numbered from 1 (as the episode stage writes them) index arrays
 * directly; large ones go through a table: the figures are the same. */
Test(evaluate_episodes, small_and_large_ids_agree) {
  char *dir = worked_dir();
  tsr_eval_episodes big, small;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "truth_spells.csv", &big, &err), 0, "%s", err.msg);
  ep f[sizeof k_file / sizeof k_file[0]];
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
    f[i] = k_file[i];
    if (f[i].spell) {
      f[i].spell -= 100;
      f[i].cips -= 200;
    }
  }
  write_episodes(dir, f, sizeof f / sizeof f[0], 1);
  cr_assert_eq(eval_in(dir, "truth_spells.csv", &small, &err), 0, "%s", err.msg);
  big.seconds = small.seconds = 0;
  cr_expect(memcmp(&big, &small, sizeof big) == 0);
  cr_expect_eq(small.spells.exact, 2);
  cr_expect_eq(small.spells.predicted, 6);
  cr_expect_eq(small.cips.merged, 2);
}

/* Everything right, with unfinished episodes on both sides left out: 1.0
 * everywhere, nothing split or merged, and the left-out ones are not a
 * spell of either side. */
Test(evaluate_episodes, perfect_with_unfinished_left_out) {
  char *dir = tsr_test_tmpdir("evep");
  static const ep f[] = {{"1", 7, 9}, {"2", 7, 9}, {"3", 0, 0}, {"4", 8, 9}, {"5", 3, 3}, {"6", 0, 0}};
  write_episodes(dir, f, 6, 1);
  write_text(dir, "t.csv", "epikey,spell_id,cips_id\n1,1,1\n2,1,1\n3,,\n4,4,1\n5,5,5\n6,,\n");
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "t.csv", &e, &err), 0, "%s", err.msg);
  cr_expect_eq(e.left_out, 2);
  cr_expect_eq(e.missed, 0);
  cr_expect_eq(e.spells.true_n, 3);
  cr_expect_eq(e.spells.predicted, 3);
  cr_expect_eq(e.spells.exact, 3);
  cr_expect_eq(e.spells.pairs_true, 1);
  cr_expect_eq(e.spells.pairs_correct, 1);
  cr_expect_float_eq(e.spells.precision, 1.0, 1e-12);
  cr_expect_float_eq(e.spells.recall, 1.0, 1e-12);
  cr_expect_float_eq(e.spells.exact_share, 1.0, 1e-12);
  cr_expect_eq(e.spells.split + e.spells.merged, 0);
  cr_expect_eq(e.cips.true_n, 2);
  cr_expect_eq(e.cips.exact, 2);
  cr_expect_eq(e.cips.pairs_true, 3);
  cr_expect_eq(e.cips.pairs_correct, 3);
  cr_expect_eq(e.cips.split + e.cips.merged, 0);
}

/* An unfinished episode of the truth put in a spell of its own: the spell
 * is not exact and has no true pair, but nothing is merged or split. */
Test(evaluate_episodes, spell_where_truth_has_none) {
  char *dir = tsr_test_tmpdir("evep");
  static const ep f[] = {{"1", 1, 1}, {"2", 2, 2}};
  write_episodes(dir, f, 2, 1);
  write_text(dir, "t.csv", "epikey,spell_id,cips_id\n1,1,1\n2,,\n");
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "t.csv", &e, &err), 0, "%s", err.msg);
  cr_expect_eq(e.no_true_spell, 1);
  cr_expect_eq(e.spells.predicted, 2);
  cr_expect_eq(e.spells.true_n, 1);
  cr_expect_eq(e.spells.exact, 1);
  cr_expect_eq(e.spells.merged, 0);
  cr_expect_eq(e.spells.split, 0);
}

/* --- errors ------------------------------------------------------------------ */

Test(evaluate_episodes, nothing_overlaps) {
  char *dir = worked_dir();
  write_text(dir, "other.csv", "epikey,spell_id,cips_id\nx1,1,1\nx2,1,1\n");
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "other.csv", &e, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "no episode is in both files") != NULL, "%s", err.msg);
  cr_expect(strstr(err.file, "episodes.parquet") != NULL, "%s", err.file);
}

Test(evaluate_episodes, not_an_episodes_file) {
  char *dir = tsr_test_tmpdir("evep");
  write_episodes(dir, k_file, 3, 0); /* no cips_id column */
  write_text(dir, "t.csv", k_truth);
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "t.csv", &e, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "\"cips_id\"") != NULL, "%s", err.msg);
}

Test(evaluate_episodes, truth_spell_without_cips) {
  char *dir = worked_dir();
  write_text(dir, "t.csv", "epikey,spell_id,cips_id\ne1,1,1\ne2,1,\n");
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "t.csv", &e, &err), TSR_EPARSE);
  cr_expect_eq(err.line, 3);
  cr_expect_eq(err.column, 3);
  cr_expect(strstr(err.msg, "cips_id is empty") != NULL, "%s", err.msg);
  write_text(dir, "t.csv", "spell_id,epikey,cips_id\n1,e1,1\n,e2,4\n");
  cr_assert_eq(eval_in(dir, "t.csv", &e, &err), TSR_EPARSE);
  cr_expect_eq(err.line, 3);
  cr_expect_eq(err.column, 1);
  cr_expect(strstr(err.msg, "spell_id is empty") != NULL, "%s", err.msg);
}

Test(evaluate_episodes, truth_epikey_twice) {
  char *dir = worked_dir();
  write_text(dir, "t.csv", "epikey,spell_id,cips_id\ne1,1,1\ne2,1,1\ne1,3,3\n");
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "t.csv", &e, &err), TSR_EPARSE);
  cr_expect(strstr(err.file, "t.csv") != NULL, "%s", err.file);
  cr_expect_eq(err.line, 4, "%s", err.msg);
}

Test(evaluate_episodes, truth_without_spell_column) {
  char *dir = worked_dir();
  write_text(dir, "t.csv", "epikey,cips_id\ne1,1\n");
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "t.csv", &e, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "spell_id") != NULL, "%s", err.msg);
}

Test(evaluate_episodes, file_cips_null_alone) {
  char *dir = tsr_test_tmpdir("evep");
  static const ep f[] = {{"e1", 1, 1}, {"e2", 1, -1}};
  write_episodes(dir, f, 2, 1);
  write_text(dir, "t.csv", k_truth);
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "t.csv", &e, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "row 2: cips_id is null but spell_id is not") != NULL, "%s", err.msg);
}

Test(evaluate_episodes, file_id_below_one) {
  char *dir = tsr_test_tmpdir("evep");
  static const ep f[] = {{"e1", 1, 1}, {"e2", -4, 1}};
  write_episodes(dir, f, 2, 1);
  write_text(dir, "t.csv", k_truth);
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "t.csv", &e, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "row 2: spell_id -4 is below 1") != NULL, "%s", err.msg);
}

Test(evaluate_episodes, truth_spell_in_two_cips) {
  char *dir = worked_dir();
  write_text(dir, "t.csv", "epikey,spell_id,cips_id\ne1,1,1\ne2,2,2\ne3,1,2\n");
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "t.csv", &e, &err), TSR_EPARSE);
  cr_expect_eq(err.line, 4);
  cr_expect_eq(err.column, 3);
  cr_expect(strstr(err.msg, "epikey e3: its spell is in another CIPS") != NULL, "%s", err.msg);
}

Test(evaluate_episodes, file_spell_in_two_cips) {
  char *dir = tsr_test_tmpdir("evep");
  static const ep f[] = {{"e1", 5, 1}, {"e2", 6, 1}, {"e3", 5, 2}};
  write_episodes(dir, f, 3, 1);
  write_text(dir, "t.csv", k_truth);
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "t.csv", &e, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "row 3: spell_id 5 is in cips_id 2 here and in another CIPS") != NULL, "%s", err.msg);
}

Test(evaluate_episodes, file_record_twice) {
  char *dir = tsr_test_tmpdir("evep");
  static const ep f[] = {{"e1", 1, 1}, {"e2", 1, 1}, {"e1", 2, 2}};
  write_episodes(dir, f, 3, 1);
  write_text(dir, "t.csv", k_truth);
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "t.csv", &e, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "row 3: record_id e1 appears twice") != NULL, "%s", err.msg);
}

Test(evaluate_episodes, empty_file) {
  char *dir = tsr_test_tmpdir("evep");
  write_episodes(dir, k_file, 0, 1);
  write_text(dir, "t.csv", k_truth);
  tsr_eval_episodes e;
  tsr_error err;
  cr_assert_eq(eval_in(dir, "t.csv", &e, &err), TSR_EPARSE);
  cr_expect(strstr(err.msg, "no rows") != NULL, "%s", err.msg);
}

/* --- the CLI ------------------------------------------------------------------- */

/* Runs `tessera evaluate ARGS` in dir, stdout and stderr to dir/out and
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

static char *slurp(const char *dir, const char *name) {
  static char buf[1 << 16];
  char p[700];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "rb");
  cr_assert_not_null(f, "%s", p);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return buf;
}

Test(evaluate_episodes_cli, json_and_gates) {
  char *dir = worked_dir();
  cr_assert_eq(run(dir, "--episodes episodes.parquet --truth-spells truth_spells.csv"), 0, "%s", slurp(dir, "err"));
  json_error_t je;
  json_t *j = json_loads(slurp(dir, "out"), 0, &je);
  cr_assert_not_null(j, "%s", je.text);
  json_t *s = json_object_get(j, "spells"), *c = json_object_get(j, "cips"), *r = json_object_get(j, "records");
  cr_expect_eq(json_integer_value(json_object_get(s, "exact")), 2);
  cr_expect_eq(json_integer_value(json_object_get(s, "true")), 7);
  cr_expect_eq(json_integer_value(json_object_get(s, "split")), 3);
  cr_expect_eq(json_integer_value(json_object_get(s, "merged")), 2);
  cr_expect_eq(json_integer_value(json_object_get(c, "pairs_correct")), 4);
  cr_expect_eq(json_integer_value(json_object_get(r, "left_out")), 1);
  cr_expect_eq(json_integer_value(json_object_get(r, "missed")), 2);
  cr_expect_str_eq(json_string_value(json_object_get(j, "episodes")), "episodes.parquet");
  json_decref(j);
  cr_expect(strstr(slurp(dir, "err"), "1 of 13 episodes are not in the truth"), "%s", slurp(dir, "err"));
  /* the gates: spells precision 1/3, recall 1/4, exact 2/7; CIPS exact 1/6 */
  cr_expect_eq(run(dir, "--episodes episodes.parquet --truth-spells truth_spells.csv --min-precision 0.33"), 0);
  cr_expect_eq(run(dir, "--episodes episodes.parquet --truth-spells truth_spells.csv --min-precision 0.34"), 1);
  cr_expect(strstr(slurp(dir, "err"), "below --min-precision"), "%s", slurp(dir, "err"));
  cr_expect_eq(run(dir, "--episodes episodes.parquet --truth-spells truth_spells.csv --min-recall 0.25"), 0);
  cr_expect_eq(run(dir, "--episodes episodes.parquet --truth-spells truth_spells.csv --min-recall 0.26"), 1);
  cr_expect_eq(run(dir, "--episodes episodes.parquet --truth-spells truth_spells.csv --min-exact 0.28"), 0);
  cr_expect_eq(run(dir, "--episodes episodes.parquet --truth-spells truth_spells.csv --min-exact 0.29"), 1);
  cr_expect(strstr(slurp(dir, "err"), "exact spell share 0.285714 is below --min-exact"), "%s", slurp(dir, "err"));
  cr_expect_eq(run(dir, "--episodes episodes.parquet --truth-spells truth_spells.csv --min-exact-cips 0.16"), 0);
  cr_expect_eq(run(dir, "--episodes episodes.parquet --truth-spells truth_spells.csv --min-exact-cips 0.17"), 1);
}

Test(evaluate_episodes_cli, usage_and_failures) {
  char *dir = worked_dir();
  cr_expect_eq(run(dir, "--episodes episodes.parquet --links x --truth-spells truth_spells.csv"), 2);
  cr_expect(strstr(slurp(dir, "err"), "--episodes goes without --links and --pairs"), "%s", slurp(dir, "err"));
  cr_expect_eq(run(dir, "--episodes episodes.parquet --pairs x --truth-spells truth_spells.csv"), 2);
  cr_expect_eq(run(dir, "--episodes episodes.parquet"), 2);
  cr_expect(strstr(slurp(dir, "err"), "--truth-spells FILE is required"), "%s", slurp(dir, "err"));
  cr_expect_eq(run(dir, "--links x --truth y --truth-spells truth_spells.csv"), 2);
  cr_expect_eq(run(dir, "--links x --truth y --min-exact 0.5"), 2);
  write_text(dir, "other.csv", "epikey,spell_id,cips_id\nx1,1,1\n");
  cr_expect_eq(run(dir, "--episodes episodes.parquet --truth-spells other.csv"), 1);
  cr_expect(strstr(slurp(dir, "err"), "no episode is in both files"), "%s", slurp(dir, "err"));
}
