/* Unit tests for the model file (model/model_json.h): save -> load -> save
 * byte-identical (in memory and through files), the exact text of a small
 * model, every load error (shape, ranges, sums, unknown keys, a model that
 * does not fit the config, weights edited inconsistently) with its key path,
 * and the Splink export's structure and pinned SQL. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_internal.h"
#include "model/model_json.h"
#include "model_json_fixture.h"
#include "test_util.h"

#define DUMP (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))

static mj_fixture F;
static tsr__model MD;
static const tsr__model_info INFO = {.seed = 42, .u_pairs = 1000000, .train_pairs = 123456, .em_iterations = 57,
                                     .lambda_em = 0.00012345678901234, .lambda_rules = 0.1};

static char *valid_text(void) {
  mj_fixture_init(&F);
  cr_assert_eq(mj_model(&F.cfg.prob, &MD), 0);
  char *t = NULL;
  tsr_error err;
  cr_assert_eq(tsr__model_to_text(&F.cfg.prob, &MD, &INFO, &t, &err), 0, "%s", err.msg);
  return t;
}

static json_t *valid_doc(void) {
  char *t = valid_text();
  json_t *d = json_loads(t, 0, NULL);
  free(t);
  cr_assert(d);
  return d;
}

/* The node at a path like "comparisons[1].levels[2]" ("" = root). */
static json_t *jp(json_t *root, const char *path) {
  json_t *v = root;
  char buf[256];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *tok = strtok(buf, "."); tok && v; tok = strtok(NULL, ".")) {
    char *br = strchr(tok, '[');
    if (br) *br = '\0';
    if (*tok) v = json_object_get(v, tok);
    while (br && v) {
      v = json_array_get(v, strtoul(br + 1, NULL, 10));
      br = strchr(br + 1, '[');
    }
  }
  cr_assert(v, "no node at %s", path);
  return v;
}

static int parse_doc(json_t *doc, tsr__model *md, tsr_error *err) {
  char *t = json_dumps(doc, DUMP);
  cr_assert(t);
  int rc = tsr__model_parse(t, strlen(t), "model.json", &F.cfg.prob, md, NULL, err);
  free(t);
  return rc;
}

/* Parses doc (consumed) and expects code with msg in the message. */
static void expect_err(json_t *doc, int code, const char *msg) {
  tsr__model md;
  tsr_error err;
  tsr_error_clear(&err);
  int rc = parse_doc(doc, &md, &err);
  json_decref(doc);
  cr_assert_eq(rc, code, "rc %d (%s), wanted %d for \"%s\"", rc, err.msg, code, msg);
  cr_assert(strstr(err.msg, msg), "message \"%s\" lacks \"%s\"", err.msg, msg);
  cr_assert_str_eq(err.file, "model.json");
  cr_assert_eq(md.k, 0u, "a failed load leaves the model zeroed");
}

static void expect_ok(json_t *doc) {
  tsr__model md;
  tsr_error err;
  tsr_error_clear(&err);
  int rc = parse_doc(doc, &md, &err);
  json_decref(doc);
  cr_assert_eq(rc, 0, "%s", err.msg);
}

/* --- round trip ------------------------------------------------------------------------ */

Test(model_json, round_trip_in_memory_is_byte_identical) {
  char *t1 = valid_text();
  tsr__model md;
  tsr__model_info info;
  tsr_error err;
  cr_assert_eq(tsr__model_parse(t1, strlen(t1), "model.json", &F.cfg.prob, &md, &info, &err), 0, "%s", err.msg);
  cr_assert_eq(md.k, MJ_K);
  for (uint32_t k = 0; k < MJ_K; k++) {
    cr_assert_eq(md.nlev[k], MD.nlev[k]);
    cr_assert_eq(md.shift[k], MD.shift[k]);
    for (uint32_t l = 0; l < md.nlev[k]; l++) {
      cr_assert_eq(md.m[k][l], MD.m[k][l], "m[%u][%u]", k, l);
      cr_assert_eq(md.u[k][l], MD.u[k][l], "u[%u][%u]", k, l);
      cr_assert_eq(md.w[k][l], MD.w[k][l], "w[%u][%u]", k, l);
    }
  }
  cr_assert_eq(md.lambda, MD.lambda);
  cr_assert_eq(md.prior, MD.prior);
  cr_assert_eq(info.seed, INFO.seed);
  cr_assert_eq(info.u_pairs, INFO.u_pairs);
  cr_assert_eq(info.train_pairs, INFO.train_pairs);
  cr_assert_eq(info.em_iterations, INFO.em_iterations);
  cr_assert_eq(info.lambda_em, INFO.lambda_em);
  cr_assert_eq(info.lambda_rules, INFO.lambda_rules);
  char *t2 = NULL;
  cr_assert_eq(tsr__model_to_text(&F.cfg.prob, &md, &info, &t2, &err), 0);
  cr_assert_str_eq(t2, t1);
  free(t1);
  free(t2);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  cr_assert(f, "%s", path);
  char *b = calloc(1, 1 << 20);
  size_t n = fread(b, 1, (1 << 20) - 1, f);
  fclose(f);
  b[n] = '\0';
  return b;
}

Test(model_json, save_load_save_files_identical) {
  char *t = valid_text();
  const char *dir = tsr_test_tmpdir("mjson");
  char p1[512], p2[512];
  snprintf(p1, sizeof p1, "%s/model.json", dir);
  snprintf(p2, sizeof p2, "%s/again.json", dir);
  tsr_error err;
  cr_assert_eq(tsr__model_save(p1, &F.cfg.prob, &MD, &INFO, &err), 0, "%s", err.msg);
  tsr__model md;
  tsr__model_info info;
  cr_assert_eq(tsr__model_load(p1, &F.cfg.prob, &md, &info, &err), 0, "%s", err.msg);
  cr_assert_eq(tsr__model_save(p2, &F.cfg.prob, &md, &info, &err), 0, "%s", err.msg);
  char *a = slurp(p1), *b = slurp(p2);
  cr_assert_str_eq(a, t, "the file holds what to_text gives");
  cr_assert_str_eq(a, b);
  /* no temporary file left behind, and saving over an existing model replaces it */
  cr_assert_eq(tsr__model_save(p1, &F.cfg.prob, &md, &info, &err), 0, "%s", err.msg);
  tsr__dir_name *names;
  size_t n;
  cr_assert_eq(tsr__dir_names(dir, NULL, &names, &n, &err), 0);
  cr_assert_eq(n, 2u);
  cr_assert_str_eq(names[0], "again.json");
  cr_assert_str_eq(names[1], "model.json");
  tsr__free(names);
  free(a);
  free(b);
  free(t);
}

Test(model_json, load_errors_name_the_file) {
  mj_fixture_init(&F);
  tsr__model md;
  tsr_error err;
  cr_assert_eq(tsr__model_load("/nonexistent/m.json", &F.cfg.prob, &md, NULL, &err), TSR_EIO);
  cr_assert_str_eq(err.file, "/nonexistent/m.json");
  cr_assert(strstr(err.msg, "cannot open"), "%s", err.msg);
  const char *dir = tsr_test_tmpdir("mjson");
  char p[512];
  snprintf(p, sizeof p, "%s/bad.json", dir);
  FILE *f = fopen(p, "w");
  fputs("{\n  \"format\": \"tessera-model\",\n  x\n}\n", f);
  fclose(f);
  cr_assert_eq(tsr__model_load(p, &F.cfg.prob, &md, NULL, &err), TSR_EPARSE);
  cr_assert_str_eq(err.file, p);
  cr_assert_eq(err.line, 3u);
  cr_assert(strstr(err.msg, "invalid JSON"), "%s", err.msg);
}

/* The whole text of a one-comparison model: the format itself is pinned. */
Test(model_json, exact_text_of_a_small_model) {
  tsr_cmp_cfg c;
  mj_cmp_defaults(&c, "sex", TSR_CMP_SEX, "sex");
  tsr_prob_cfg pc = {.present = 1, .cmp = &c, .n_cmp = 1, .tf_min = 1e-4};
  tsr__model md;
  uint8_t nl = 3;
  cr_assert_eq(tsr__model_init(&md, 1, &nl, NULL), 0);
  md.m[0][1] = 0.96875, md.m[0][2] = 0.03125;
  md.u[0][1] = 0.5, md.u[0][2] = 0.5;
  md.lambda = 0.2;
  tsr__model_weights(&md);
  tsr__model_info info = {.seed = 7, .u_pairs = 100, .train_pairs = 50, .em_iterations = 3, .lambda_em = 0.25,
                          .lambda_rules = 0};
  char *t;
  tsr_error err;
  cr_assert_eq(tsr__model_to_text(&pc, &md, &info, &t, &err), 0);
  char want[2048];
  snprintf(want, sizeof want,
           "{\n  \"format\": \"tessera-model\",\n  \"version\": 1,\n  \"tessera_version\": \"%s\",\n"
           "  \"lambda\": 0.20000000000000001,\n  \"prior_weight\": -2.0,\n"
           "  \"training\": {\n    \"seed\": 7,\n    \"u_pairs\": 100,\n    \"train_pairs\": 50,\n"
           "    \"em_iterations\": 3,\n    \"lambda_em\": 0.25,\n    \"lambda_rules\": 0.0\n  },\n"
           "  \"comparisons\": [\n    {\n      \"name\": \"sex\",\n      \"kind\": \"sex\",\n"
           "      \"fields\": [\n        \"sex\"\n      ],\n      \"levels\": [\n"
           "        {\n          \"name\": \"equal\",\n          \"m\": 0.96875,\n          \"u\": 0.5,\n"
           "          \"weight\": 0.95419631036929786\n        },\n" /* log2(1.9375) on the 2^-32 grid */
           "        {\n          \"name\": \"else\",\n          \"m\": 0.03125,\n          \"u\": 0.5,\n"
           "          \"weight\": -4.0\n        }\n      ]\n    }\n  ]\n}\n",
           tsr_version());
  cr_assert_str_eq(t, want);
  free(t);
}

/* --- shape errors ---------------------------------------------------------------------- */

Test(model_json, syntax_error_has_line_and_column) {
  mj_fixture_init(&F);
  tsr__model md;
  tsr_error err;
  const char *t = "{\"format\": \"tessera-model\",\n \"version\": 1,,}";
  cr_assert_eq(tsr__model_parse(t, strlen(t), "model.json", &F.cfg.prob, &md, NULL, &err), TSR_EPARSE);
  cr_assert_eq(err.line, 2u);
  cr_assert_gt(err.column, 0u);
  const char *dup = "{\"format\": \"tessera-model\", \"format\": \"tessera-model\"}";
  cr_assert_eq(tsr__model_parse(dup, strlen(dup), "model.json", &F.cfg.prob, &md, NULL, &err), TSR_EPARSE);
  cr_assert(strstr(err.msg, "duplicate"), "%s", err.msg);
  cr_assert_eq(tsr__model_parse("[]", 2, "model.json", &F.cfg.prob, &md, NULL, &err), TSR_EPARSE);
  cr_assert(strstr(err.msg, "(top level): expected an object, got an array"), "%s", err.msg);
}

Test(model_json, top_level_keys) {
  json_t *d = valid_doc();
  json_object_set_new(d, "comment", json_string("x"));
  expect_err(d, TSR_EPARSE, "comment: unknown key (expected one of: format, version,");
  d = valid_doc();
  json_object_set_new(d, "format", json_string("splink"));
  expect_err(d, TSR_EPARSE, "format: expected \"tessera-model\", got \"splink\"");
  d = valid_doc();
  json_object_set_new(d, "version", json_integer(2));
  expect_err(d, TSR_EPARSE, "version: model format version 2; this tessera reads version 1");
  d = valid_doc();
  json_object_set_new(d, "version", json_string("1"));
  expect_err(d, TSR_EPARSE, "version: expected an integer >= 1, got a string");
  d = valid_doc();
  json_object_del(d, "tessera_version");
  expect_err(d, TSR_EPARSE, "tessera_version: missing (expected a string)");
  d = valid_doc();
  json_object_set_new(d, "lambda", json_real(1.5));
  expect_err(d, TSR_EPARSE, "lambda: expected a number in [0, 1], got 1.5");
  d = valid_doc();
  json_object_set_new(d, "lambda", json_real(-1e-300));
  expect_err(d, TSR_EPARSE, "lambda: expected a number in [0, 1]");
  d = valid_doc();
  json_object_del(d, "comparisons");
  expect_err(d, TSR_EPARSE, "comparisons: missing (expected an array of comparisons)");
  d = valid_doc();
  json_object_set_new(d, "comparisons", json_object());
  expect_err(d, TSR_EPARSE, "comparisons: expected an array of comparisons, got an object");
}

Test(model_json, training_keys) {
  json_t *d = valid_doc();
  json_object_set_new(jp(d, "training"), "seed", json_integer(-1));
  expect_err(d, TSR_EPARSE, "training.seed: expected an integer >= 0, got -1");
  d = valid_doc();
  json_object_set_new(jp(d, "training"), "em_iterations", json_integer(4294967296LL));
  expect_err(d, TSR_EPARSE, "training.em_iterations: expected an integer in [0, 4294967295]");
  d = valid_doc();
  json_object_set_new(jp(d, "training"), "em_iterations", json_integer(4294967295LL));
  expect_ok(d);
  d = valid_doc();
  json_object_set_new(jp(d, "training"), "extra", json_true());
  expect_err(d, TSR_EPARSE, "training.extra: unknown key");
  d = valid_doc();
  json_object_del(jp(d, "training"), "lambda_rules");
  expect_err(d, TSR_EPARSE, "training.lambda_rules: missing");
  d = valid_doc();
  json_object_set_new(d, "training", json_array());
  expect_err(d, TSR_EPARSE, "training: expected an object, got an array");
}

Test(model_json, comparison_keys) {
  json_t *d = valid_doc();
  json_object_set_new(jp(d, "comparisons[2]"), "colour", json_true());
  expect_err(d, TSR_EPARSE, "comparisons[2].colour: unknown key");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[0]"), "within_days", json_integer(3));
  expect_err(d, TSR_EPARSE, "comparisons[0].within_days: does not apply to a comparison of kind name");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[4]"), "tf", json_false());
  expect_err(d, TSR_EPARSE, "comparisons[4].tf: does not apply to a comparison of kind nhs_number");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[5]"), "scope", json_string("provider"));
  expect_err(d, TSR_EPARSE, "comparisons[5].scope: does not apply");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[3]"), "kind", json_string("zipcode"));
  expect_err(d, TSR_EPARSE, "comparisons[3].kind: unknown comparison kind \"zipcode\"");
  d = valid_doc();
  json_object_set_new(d, "comparisons", json_pack("[i]", 1));
  json_array_extend(jp(d, "comparisons"), json_pack("[iiiiiiii]", 1, 2, 3, 4, 5, 6, 7, 8));
  expect_err(d, TSR_EPARSE, "comparisons[0]: expected an object, got an integer");
  d = valid_doc();
  json_array_set_new(jp(d, "comparisons[1].fields"), 1, json_integer(3));
  expect_err(d, TSR_EPARSE, "comparisons[1].fields[1]: expected a string, got an integer");
  d = valid_doc();
  json_object_del(jp(d, "comparisons[8]"), "tf");
  expect_err(d, TSR_EPARSE, "comparisons[8].tf: missing");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[8]"), "tf_min", json_real(0.01));
  expect_err(d, TSR_EPARSE, "comparisons[8].tf_min: only allowed with \"tf\": true");
}

/* --- levels --------------------------------------------------------------------------- */

Test(model_json, level_values) {
  json_t *d = valid_doc();
  json_object_set_new(jp(d, "comparisons[1].levels[2]"), "m", json_real(1.5));
  expect_err(d, TSR_EPARSE, "comparisons[1].levels[2].m: expected a number in [0, 1], got 1.5");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[1].levels[2]"), "u", json_string("0.5"));
  expect_err(d, TSR_EPARSE, "comparisons[1].levels[2].u: expected a number in [0, 1], got a string");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[1].levels[2]"), "weight", json_real(61.0));
  expect_err(d, TSR_EPARSE, "comparisons[1].levels[2].weight: expected a number in [-60, 60] (bits)");
  d = valid_doc();
  json_object_del(jp(d, "comparisons[1].levels[0]"), "weight");
  expect_err(d, TSR_EPARSE, "comparisons[1].levels[0].weight: missing");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[1].levels[0]"), "tf", json_real(1));
  expect_err(d, TSR_EPARSE, "comparisons[1].levels[0].tf: unknown key");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[2].levels[1]"), "name", json_string("jan2"));
  expect_err(d, TSR_EPARSE,
             "comparisons[2].levels[1].name: unknown level \"jan2\" of kind date_of_birth (expected one of: exact, "
             "day_month_swapped");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[2].levels[1]"), "name", json_string("exact"));
  expect_err(d, TSR_EPARSE, "comparisons[2].levels[1].name: level \"exact\" is listed twice");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[2].levels[0]"), "name", json_string("one_digit"));
  expect_err(d, TSR_EPARSE, "comparisons[2].levels[1].name: level \"day_month_swapped\" comes after a later level");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[2].levels[0]"), "name", json_string("null"));
  expect_err(d, TSR_EPARSE, "unknown level \"null\"");
}

/* m + d at level j of comparison k, the weight kept consistent. */
static void bump(json_t *d, uint32_t k, uint32_t j, const char *which, double delta) {
  char p[64];
  snprintf(p, sizeof p, "comparisons[%u].levels[%u]", k, j);
  json_t *lv = jp(d, p);
  double m = json_number_value(json_object_get(lv, "m")), u = json_number_value(json_object_get(lv, "u"));
  if (which[0] == 'm') m += delta;
  else u += delta;
  json_object_set_new(lv, which, json_real(which[0] == 'm' ? m : u));
  json_object_set_new(lv, "weight", json_real(tsr__wq(log2(m / u))));
}

Test(model_json, level_sums) {
  json_t *d = valid_doc();
  bump(d, 3, 0, "m", 2e-6);
  expect_err(d, TSR_EPARSE, "comparisons[3].levels: m of the levels sums to 1.00000");
  d = valid_doc();
  bump(d, 3, 0, "m", -2e-6);
  expect_err(d, TSR_EPARSE, "comparisons[3].levels: m of the levels sums to 0.99999");
  d = valid_doc();
  bump(d, 3, 0, "m", 0.9e-6);
  expect_ok(d);
  d = valid_doc();
  bump(d, 3, 0, "m", -0.9e-6);
  expect_ok(d);
  d = valid_doc();
  bump(d, 5, 1, "u", 2e-6);
  expect_err(d, TSR_EPARSE, "comparisons[5].levels: u of the levels sums to 1.00000");
  d = valid_doc();
  bump(d, 5, 1, "u", 0.9e-6);
  expect_ok(d);
}

Test(model_json, weights_must_match_m_and_u) {
  json_t *d = valid_doc();
  json_t *lv = jp(d, "comparisons[6].levels[0]");
  double w = json_number_value(json_object_get(lv, "weight"));
  json_object_set_new(lv, "weight", json_real(w + 2e-9));
  expect_err(d, TSR_EPARSE,
             "comparisons[6].levels[0].weight: the file says");
  d = valid_doc();
  lv = jp(d, "comparisons[6].levels[0]");
  json_object_set_new(lv, "weight", json_real(w + 0.9e-9));
  expect_ok(d);
  d = valid_doc();
  lv = jp(d, "comparisons[6].levels[0]");
  json_object_set_new(lv, "weight", json_real(w - 2e-9));
  expect_err(d, TSR_EPARSE, "the file was edited inconsistently");
  /* m swapped between two levels without new weights: sums still 1 */
  d = valid_doc();
  json_t *a = jp(d, "comparisons[4].levels[0]"), *b = jp(d, "comparisons[4].levels[1]");
  json_t *ma = json_deep_copy(json_object_get(a, "m"));
  json_object_set(a, "m", json_object_get(b, "m"));
  json_object_set_new(b, "m", ma);
  expect_err(d, TSR_EPARSE, "comparisons[4].levels[0].weight: the file says");
  /* the prior */
  d = valid_doc();
  double pw = json_number_value(json_object_get(d, "prior_weight"));
  json_object_set_new(d, "prior_weight", json_real(pw + 2e-9));
  expect_err(d, TSR_EPARSE, "prior_weight: the file says");
  d = valid_doc();
  json_object_set_new(d, "lambda", json_real(0.5));
  expect_err(d, TSR_EPARSE, "prior_weight: the file says");
  d = valid_doc();
  json_object_set_new(d, "prior_weight", json_real(pw + 0.9e-9));
  expect_ok(d);
}

/* m = 0 or u = 0 give the clamped weights, and read back. */
Test(model_json, clamped_weights_round_trip) {
  char *t = valid_text();
  free(t);
  MD.m[5][1] = 1.0, MD.m[5][2] = 0.0; /* sex: else never in matches */
  MD.u[5][1] = 0.0, MD.u[5][2] = 1.0;
  tsr__model_weights(&MD);
  cr_assert_eq(MD.w[5][1], TSR__W_MAX);
  cr_assert_eq(MD.w[5][2], -TSR__W_MAX);
  tsr_error err;
  cr_assert_eq(tsr__model_to_text(&F.cfg.prob, &MD, NULL, &t, &err), 0);
  tsr__model md;
  cr_assert_eq(tsr__model_parse(t, strlen(t), "model.json", &F.cfg.prob, &md, NULL, &err), 0, "%s", err.msg);
  cr_assert_eq(md.w[5][1], TSR__W_MAX);
  cr_assert_eq(md.w[5][2], -TSR__W_MAX);
  free(t);
}

/* --- a model for other comparisons ----------------------------------------------------------- */

Test(model_json, config_mismatch_names_first_difference) {
  json_t *d = valid_doc();
  json_array_remove(jp(d, "comparisons"), 8);
  expect_err(d, TSR_ECONFIG, "comparisons: the model has 8 comparisons, the config 9");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[0]"), "name", json_string("forename"));
  expect_err(d, TSR_ECONFIG, "comparisons[0].name: the model has \"forename\", the config \"given\"");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[5]"), "kind", json_string("code"));
  expect_err(d, TSR_ECONFIG, "comparisons[5].kind: the model has code, the config sex");
  d = valid_doc();
  json_array_set_new(jp(d, "comparisons[1].fields"), 1, json_string("surname"));
  expect_err(d, TSR_ECONFIG, "comparisons[1].fields[1]: the model has \"surname\", the config \"family_name\"");
  d = valid_doc();
  json_array_remove(jp(d, "comparisons[1].fields"), 1);
  expect_err(d, TSR_ECONFIG, "comparisons[1].fields: the model has 1 fields, the config 2");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[7]"), "scope", json_string("practice"));
  expect_err(d, TSR_ECONFIG, "comparisons[7].scope: the model has \"practice\", the config \"provider\"");
  d = valid_doc();
  json_object_del(jp(d, "comparisons[7]"), "scope");
  expect_err(d, TSR_ECONFIG, "comparisons[7].scope: the model has no scope, the config \"provider\"");
  /* the same comparison without a scope in the config loads a scoped model's text? no: */
  mj_fixture_init(&F);
  F.cmp[7].field2 = NULL;
  char *t = NULL;
  tsr_error err;
  cr_assert_eq(mj_model(&F.cfg.prob, &MD), 0);
  cr_assert_eq(tsr__model_to_text(&F.cfg.prob, &MD, NULL, &t, &err), 0);
  cr_assert(!strstr(t, "\"scope\""), "no scope key without a scope");
  free(t);
}

Test(model_json, config_mismatch_levels) {
  json_t *d = valid_doc();
  /* given: part is off in the config; add it to the model (before else) */
  json_t *lv = jp(d, "comparisons[0].levels");
  size_t n = json_array_size(lv);
  json_array_insert_new(lv, n - 1, json_pack("{s:s,s:f,s:f,s:f}", "name", "part", "m", 0.0, "u", 0.0, "weight",
                                             -60.0));
  expect_err(d, TSR_ECONFIG, "comparisons[0].levels: level \"part\" is off in the config but listed in the model");
  d = valid_doc();
  json_array_remove(jp(d, "comparisons[2].levels"), 1); /* dob: day_month_swapped */
  expect_err(d, TSR_ECONFIG,
             "comparisons[2].levels: level \"day_month_swapped\" is enabled in the config but missing from the model");
  /* else may not be left out either */
  d = valid_doc();
  lv = jp(d, "comparisons[5].levels");
  json_array_remove(lv, json_array_size(lv) - 1);
  expect_err(d, TSR_ECONFIG, "level \"else\" is enabled in the config but missing from the model");
}

Test(model_json, config_mismatch_options) {
  struct {
    const char *path, *key;
    json_t *v;
    const char *msg;
  } cases[] = {
      {"comparisons[0]", "jaro_winkler", json_pack("[f,f]", 0.92, 0.85),
       "comparisons[0].jaro_winkler: the model has [0.92000000000000004, 0.84999999999999998], the config [0.90000000000000002, 0.84999999999999998]"},
      {"comparisons[0]", "jaro_winkler", json_pack("[f,f]", 0.9, 0.88),
       "comparisons[0].jaro_winkler: the model has [0.90000000000000002, 0.88], the config [0.90000000000000002, 0.84999999999999998]"},
      {"comparisons[0]", "damerau_levenshtein", json_pack("[i,i]", 0, 3),
       "comparisons[0].damerau_levenshtein: the model has [0, 3], the config [1, 3]"},
      {"comparisons[0]", "damerau_levenshtein", json_pack("[i,i]", 1, 2),
       "comparisons[0].damerau_levenshtein: the model has [1, 2], the config [1, 3]"},
      {"comparisons[1]", "phonetic", json_pack("[s,s]", "soundex", "nysiis"),
       "comparisons[1].phonetic: the model has codes 0x3, the config codes 0x1"},
      {"comparisons[1]", "swap_jaro_winkler", json_real(0.92), "comparisons[1].swap_jaro_winkler: the model has 0.92"},
      {"comparisons[2]", "within_days", json_integer(30), "comparisons[2].within_days: the model has 30, the config 10"},
      {"comparisons[2]", "within_years", json_integer(1), "comparisons[2].within_years: the model has 1, the config 2"},
      {"comparisons[3]", "tf", json_false(), "comparisons[3].tf: the model has false, the config true"},
      {"comparisons[3]", "tf_min", json_real(0.001), "comparisons[3].tf_min: the model has 0.001"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    json_t *d = valid_doc();
    json_object_set_new(jp(d, cases[i].path), cases[i].key, cases[i].v);
    if (!strcmp(cases[i].key, "tf")) json_object_del(jp(d, cases[i].path), "tf_min");
    expect_err(d, TSR_ECONFIG, cases[i].msg);
  }
  /* malformed options are parse errors */
  json_t *d = valid_doc();
  json_object_set_new(jp(d, "comparisons[0]"), "jaro_winkler", json_pack("[f]", 0.9));
  expect_err(d, TSR_EPARSE, "comparisons[0].jaro_winkler: expected an array of 2 numbers");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[0]"), "jaro_winkler", json_pack("[f,f]", 0.9, 1.5));
  expect_err(d, TSR_EPARSE, "comparisons[0].jaro_winkler: expected an array of 2 numbers in [0, 1]; item 1 is not");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[0]"), "damerau_levenshtein", json_pack("[i,f]", 1, 3.0));
  expect_err(d, TSR_EPARSE, "comparisons[0].damerau_levenshtein: expected an array of 2 integers");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[1]"), "phonetic", json_pack("[s,s]", "soundex", "soundex"));
  expect_err(d, TSR_EPARSE, "comparisons[1].phonetic: item 1: expected \"soundex\" or \"nysiis\", each once");
  d = valid_doc();
  json_object_set_new(jp(d, "comparisons[1]"), "phonetic", json_pack("[s]", "metaphone"));
  expect_err(d, TSR_EPARSE, "comparisons[1].phonetic: item 0: expected");
}

/* tsr__model_to_json refuses what it cannot write */
Test(model_json, save_refuses_bad_models) {
  char *t = valid_text();
  free(t);
  tsr_error err;
  json_t *o;
  F.cfg.prob.n_cmp = 8;
  cr_assert_eq(tsr__model_to_json(&F.cfg.prob, &MD, NULL, &o, &err), TSR_EINVAL);
  cr_assert(strstr(err.msg, "the model has 9 comparisons, the config 8"), "%s", err.msg);
  F.cfg.prob.n_cmp = 9;
  MD.m[2][1] = NAN;
  cr_assert_eq(tsr__model_to_json(&F.cfg.prob, &MD, NULL, &o, &err), TSR_EINVAL);
  MD.m[2][1] = 0.5;
  tsr__model_info info = {.seed = (uint64_t)INT64_MAX + 1u};
  cr_assert_eq(tsr__model_to_json(&F.cfg.prob, &MD, &info, &o, &err), TSR_EINVAL);
  F.cmp[3].kind = TSR_CMP_SEX;
  cr_assert_eq(tsr__model_to_json(&F.cfg.prob, &MD, NULL, &o, &err), TSR_EINVAL);
  cr_assert(strstr(err.msg, "comparison 3 (postcode): the model has 6 levels, its kind 3"), "%s", err.msg);
}

/* --- Splink export ------------------------------------------------------------------------- */

static json_t *splink(void) {
  char *t = valid_text();
  free(t);
  json_t *o;
  tsr_error err;
  cr_assert_eq(tsr__model_splink_json(&F.cfg, &MD, &o, &err), 0, "%s", err.msg);
  return o;
}

Test(model_json, splink_structure) {
  json_t *s = splink();
  cr_assert_str_eq(json_string_value(jp(s, "link_type")), "link_only");
  cr_assert_str_eq(json_string_value(jp(s, "unique_id_column_name")), "unique_id");
  cr_assert_str_eq(json_string_value(jp(s, "source_dataset_column_name")), "source_dataset");
  cr_assert_str_eq(json_string_value(jp(s, "sql_dialect")), "duckdb");
  cr_assert_eq(json_real_value(jp(s, "probability_two_random_records_match")), MD.lambda);
  json_t *cs = jp(s, "comparisons");
  cr_assert_eq(json_array_size(cs), MJ_K);
  for (uint32_t k = 0; k < MJ_K; k++) {
    json_t *c = json_array_get(cs, k);
    cr_assert_str_eq(json_string_value(json_object_get(c, "output_column_name")), F.cmp[k].name);
    json_t *lv = json_object_get(c, "comparison_levels");
    uint32_t nl = 0, on = 0;
    const char *const *names = tsr_cmp_level_names(F.cmp[k].kind, &nl);
    for (uint32_t l = 0; l < nl; l++) on += (F.cmp[k].enabled >> l) & 1u;
    cr_assert_eq(json_array_size(lv), on, "comparison %u: null + enabled levels", k);
    json_t *null = json_array_get(lv, 0);
    cr_assert(json_is_true(json_object_get(null, "is_null_level")));
    cr_assert_null(json_object_get(null, "m_probability"));
    json_t *last = json_array_get(lv, json_array_size(lv) - 1);
    cr_assert_str_eq(json_string_value(json_object_get(last, "sql_condition")), "ELSE");
    size_t j = 1;
    for (uint32_t l = 1; l < nl; l++) {
      if (!(F.cmp[k].enabled >> l & 1u)) continue;
      json_t *e = json_array_get(lv, j++);
      cr_assert_null(json_object_get(e, "is_null_level"));
      cr_assert_eq(json_real_value(json_object_get(e, "m_probability")), MD.m[k][l]);
      cr_assert_eq(json_real_value(json_object_get(e, "u_probability")), MD.u[k][l]);
      const char *sql = json_string_value(json_object_get(e, "sql_condition"));
      cr_assert(sql && sql[0], "comparison %u level %s has SQL", k, names[l]);
      int tf = json_object_get(e, "tf_adjustment_column") != NULL;
      cr_assert_eq(tf, F.cmp[k].tf && l == 1, "tf column on the exact level of a tf comparison only (%u, %u)", k, l);
    }
  }
  cr_assert_str_eq(json_string_value(jp(s, "comparisons[0].comparison_levels[1].tf_adjustment_column")), "given_name");
  json_decref(s);
}

Test(model_json, splink_pinned_sql) {
  json_t *s = splink();
  cr_assert_str_eq(json_string_value(jp(s, "comparisons[0].comparison_levels[0].sql_condition")),
                   "\"given_name_l\" IS NULL OR \"given_name_r\" IS NULL");
  cr_assert_str_eq(json_string_value(jp(s, "comparisons[0].comparison_levels[1].sql_condition")),
                   "\"given_name_l\" = \"given_name_r\"");
  cr_assert_str_eq(json_string_value(jp(s, "comparisons[0].comparison_levels[3].sql_condition")),
                   "jaro_winkler_similarity(\"given_name_l\", \"given_name_r\") >= 0.9");
  cr_assert_str_eq(json_string_value(jp(s, "comparisons[0].comparison_levels[4].sql_condition")),
                   "jaro_winkler_similarity(\"given_name_l\", \"given_name_r\") >= 0.85");
  cr_assert_str_eq(json_string_value(jp(s, "comparisons[0].comparison_levels[6].sql_condition")),
                   "damerau_levenshtein(\"given_name_l\", \"given_name_r\") <= 3");
  cr_assert_str_eq(json_string_value(jp(s, "comparisons[0].comparison_levels[6].label_for_charts")),
                   "Damerau-Levenshtein <= 3");
  cr_assert_str_eq(json_string_value(jp(s, "comparisons[2].comparison_levels[5].sql_condition")),
                   "abs(datediff('day', \"dob_l\", \"dob_r\")) <= 10");
  cr_assert_str_eq(json_string_value(jp(s, "comparisons[2].comparison_levels[6].sql_condition")),
                   "abs(year(\"dob_l\") - year(\"dob_r\")) <= 2");
  cr_assert_str_eq(json_string_value(jp(s, "comparisons[7].comparison_levels[0].sql_condition")),
                   "\"local_patient_id_l\" IS NULL OR \"local_patient_id_r\" IS NULL OR \"provider_l\" IS NULL OR "
                   "\"provider_r\" IS NULL OR \"provider_l\" <> \"provider_r\"");
  cr_assert_str_eq(json_string_value(jp(s, "comparisons[1].comparison_levels[2].sql_condition")),
                   "(regexp_replace(\"given_name_l\", '[ ''-]', '', 'g') = regexp_replace(\"family_name_r\", '[ ''-]', "
                   "'', 'g') OR jaro_winkler_similarity(\"given_name_l\", \"family_name_r\") >= 0.95) AND "
                   "(regexp_replace(\"family_name_l\", '[ ''-]', '', 'g') = regexp_replace(\"given_name_r\", '[ ''-]', "
                   "'', 'g') OR jaro_winkler_similarity(\"family_name_l\", \"given_name_r\") >= 0.95)");
  json_t *br = jp(s, "blocking_rules_to_generate_predictions");
  cr_assert_eq(json_array_size(br), 3u);
  cr_assert_str_eq(json_string_value(json_array_get(br, 0)), "l.\"nhs_number\" = r.\"nhs_number\"");
  cr_assert_str_eq(json_string_value(json_array_get(br, 1)),
                   "l.\"family_name\" = r.\"family_name\" AND year(l.\"dob\") = year(r.\"dob\")");
  const char *r2 = json_string_value(json_array_get(br, 2));
  cr_assert(strstr(r2, "nullif(substr(regexp_replace(upper(l.\"family_name\"), '[^A-Z]', '', 'g'), 1, 1) || "),
            "%s", r2);
  cr_assert(strstr(r2, " AND substr(l.\"postcode\", 1, length(l.\"postcode\") - 2) = substr(r.\"postcode\", 1, "
                       "length(r.\"postcode\") - 2) AND l.\"source_dataset\" IN ('gp') AND r.\"source_dataset\" IN ('gp')"),
            "%s", r2);
  json_decref(s);
}

Test(model_json, splink_link_types) {
  char *t = valid_text();
  free(t);
  const char *want[] = {"link_only", "dedupe_only", "link_and_dedupe"};
  tsr_link_mode modes[] = {TSR_MODE_LINK, TSR_MODE_DEDUPE, TSR_MODE_BOTH};
  for (int i = 0; i < 3; i++) {
    F.cfg.link.mode = modes[i];
    json_t *o;
    tsr_error err;
    cr_assert_eq(tsr__model_splink_json(&F.cfg, &MD, &o, &err), 0);
    cr_assert_str_eq(json_string_value(json_object_get(o, "link_type")), want[i]);
    cr_assert_eq(json_object_get(o, "source_dataset_column_name") != NULL, modes[i] != TSR_MODE_DEDUPE);
    json_decref(o);
  }
  /* the file */
  const char *dir = tsr_test_tmpdir("mjson");
  char p[512];
  snprintf(p, sizeof p, "%s/splink.json", dir);
  tsr_error err;
  cr_assert_eq(tsr__model_splink(p, &F.cfg, &MD, &err), 0, "%s", err.msg);
  char *txt = slurp(p);
  json_t *o = json_loads(txt, 0, NULL);
  cr_assert(o);
  cr_assert_str_eq(json_string_value(json_object_get(o, "link_type")), "link_and_dedupe");
  json_decref(o);
  free(txt);
}
