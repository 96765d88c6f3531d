/* Unit tests for the "probabilistic" section of the run config
 * (engine/config/prob.c): the full example of docs/config.md parsed field by
 * field, every default, the table of field kinds each comparison kind
 * compares, the kinds each option applies to, both edges of every range,
 * and each error with its key path. Also: the generator's link.json parses
 * into the documented comparisons and blocking rules. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tessera/config.h"
#include "tessera/generate.h"
#include "test_util.h"

/* Three sources: gp and hes take part, x does not. "mixed" is a code in gp
 * and text in hes; "pid2" is a local id in both, but only hes has the
 * provider. The first %s adds keys to "link", the second is the body of
 * "probabilistic". */
#define PROB_FMT                                                                                                   \
  "{\"sources\": ["                                                                                                \
  "{\"name\": \"gp\", \"path\": \"gp.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"local_id\"}, "      \
  "\"nhs\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"}, \"gn\": {\"field\": \"given_name\", \"kind\": " \
  "\"given_name\"}, \"fn\": {\"field\": \"family_name\", \"kind\": \"family_name\"}, \"dob\": {\"kind\": "         \
  "\"date\"}, \"sex\": {\"kind\": \"sex\"}, \"pc\": {\"field\": \"postcode\", \"kind\": \"postcode\"}, "           \
  "\"practice\": {\"kind\": \"code\"}, \"city\": {\"kind\": \"text\"}, \"pid2\": {\"kind\": \"local_id\"}, "       \
  "\"mixed\": {\"kind\": \"code\"}, \"seen\": {\"kind\": \"date\"}, \"town\": {\"field\": \"post-town\", "         \
  "\"kind\": \"text\"}}},"                                                                                         \
  "{\"name\": \"hes\", \"path\": \"hes.csv\", \"id\": \"key\", \"columns\": {\"key\": {\"kind\": \"local_id\"}, "  \
  "\"nhs\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"}, \"gn\": {\"field\": \"given_name\", \"kind\": " \
  "\"given_name\"}, \"fn\": {\"field\": \"family_name\", \"kind\": \"family_name\"}, \"dob\": {\"kind\": "         \
  "\"date\"}, \"sex\": {\"kind\": \"sex\"}, \"pc\": {\"field\": \"postcode\", \"kind\": \"postcode\"}, "           \
  "\"procode\": {\"field\": \"provider\", \"kind\": \"code\"}, \"lopatid\": {\"field\": \"local_patient_id\", "    \
  "\"kind\": \"local_id\"}, \"city\": {\"kind\": \"text\"}, \"pid2\": {\"kind\": \"local_id\"}, \"mixed\": "       \
  "{\"kind\": \"text\"}}},"                                                                                        \
  "{\"name\": \"x\", \"path\": \"x.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"local_id\"}, "        \
  "\"xonly\": {\"kind\": \"text\"}}}], "                                                                           \
  "\"link\": {\"mode\": \"link_and_dedupe\", \"sources\": [\"gp\", \"hes\"], \"rules\": \"hesid\"%s}, "            \
  "\"probabilistic\": {%s}}"

#define BLK "\"blocking\": [{\"name\": \"b\", \"fields\": [\"dob\"]}]"
#define CMP "\"comparisons\": [{\"kind\": \"date_of_birth\", \"field\": \"dob\"}]"
/* a body with one comparison c (an object) and the blocking rule */
#define ONE(c) "\"comparisons\": [" c "], " BLK

static int parse_prob(const char *link_extra, const char *body, tsr_config **out, char *msg, size_t cap) {
  char text[16384];
  snprintf(text, sizeof text, PROB_FMT, link_extra, body);
  tsr_error err;
  *out = NULL;
  int rc = tsr_config_parse(text, strlen(text), "run.json", "/base", out, &err);
  snprintf(msg, cap, "%s", rc ? err.msg : "");
  if (rc) cr_assert_null(*out);
  return rc;
}

typedef struct prob_case {
  const char *body, *want;
} prob_case;

static void expect_prob_errors(const prob_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    tsr_config *c = NULL;
    char msg[700];
    int rc = parse_prob("", cases[i].body, &c, msg, sizeof msg);
    cr_expect_eq(rc, TSR_ECONFIG, "case %zu should fail: %s", i, cases[i].body);
    cr_expect_str_eq(msg, cases[i].want, "case %zu", i);
    tsr_config_free(c);
  }
}

static void expect_prob_ok(const char *body, tsr_config **c) {
  char msg[700];
  int rc = parse_prob("", body, c, msg, sizeof msg);
  cr_assert_eq(rc, 0, "%s: %s", body, msg);
}

/* --- what parses ------------------------------------------------------------------ */

/* The example of docs/config.md ("The probabilistic section"). */
Test(config_prob, the_documented_example_parses_field_by_field) {
  static const char body[] =
      "\"comparisons\": ["
      "{\"name\": \"given_name\", \"kind\": \"name\", \"field\": \"given_name\", \"tf\": true, "
      "\"levels\": [\"exact\", \"exact_std\", \"jw1\", \"jw2\", \"dl1\", \"dl2\", \"phonetic\", \"initial\", "
      "\"part\"], "
      "\"jaro_winkler\": [0.94, 0.9], \"damerau_levenshtein\": [1, 3], \"phonetic\": [\"nysiis\"], \"m_start\": 0.8},"
      "{\"name\": \"names\", \"kind\": \"full_name\", \"fields\": [\"given_name\", \"family_name\"], "
      "\"swap_jaro_winkler\": 0.9},"
      "{\"name\": \"dob\", \"kind\": \"date_of_birth\", \"field\": \"dob\", \"within_days\": 14, \"within_years\": 2, "
      "\"levels\": [\"exact\", \"within_days\"]},"
      "{\"name\": \"postcode\", \"kind\": \"postcode\", \"field\": \"postcode\", \"tf\": true},"
      "{\"name\": \"nhs\", \"kind\": \"nhs_number\", \"field\": \"nhs_number\"},"
      "{\"kind\": \"sex\", \"field\": \"sex\"},"
      "{\"name\": \"lopatid\", \"kind\": \"local_id\", \"field\": \"local_patient_id\", \"scope\": \"provider\"},"
      "{\"name\": \"suburb\", \"kind\": \"text\", \"field\": \"city\", \"jaro_winkler\": [0.9, 0.85]},"
      "{\"name\": \"practice\", \"kind\": \"code\", \"field\": \"practice\", \"tf\": true}],"
      "\"blocking\": [{\"name\": \"dob\", \"fields\": [\"dob\"]}, {\"name\": \"nhs\", \"fields\": [\"nhs_number\"], "
      "\"sources\": [\"hes\"]}],"
      "\"training\": [{\"name\": \"names\", \"fields\": [\"soundex(family_name)\", \"year(dob)\"]}],"
      "\"threshold\": 0.9, \"pairs_floor\": 0.05, \"u\": {\"max_pairs\": 5000000, \"min_observations\": 50},"
      "\"em\": {\"max_iterations\": 100, \"tolerance\": 1e-6}, \"seed\": 7, \"train_max_pairs\": 1000000,"
      "\"assumed_recall\": 0.9, \"tf_min\": 0.001, \"max_block_size\": 500, \"join_clusters\": false, "
      "\"split_clusters\": true";
  tsr_config *c = NULL;
  expect_prob_ok(body, &c);
  const tsr_prob_cfg *p = &c->prob;
  cr_expect_eq(p->present, 1);
  cr_assert_eq(p->n_cmp, 9);
  const tsr_cmp_cfg *k = p->cmp;
  /* name: every level listed is every level */
  cr_expect_str_eq(k[0].name, "given_name");
  cr_expect_eq(k[0].kind, TSR_CMP_NAME);
  cr_expect_str_eq(k[0].field, "given_name");
  cr_expect_null(k[0].field2);
  cr_expect_eq(k[0].enabled, 0x7ffu);
  cr_expect_eq(k[0].tf, 1);
  cr_expect_eq(k[0].jw1, 0.94);
  cr_expect_eq(k[0].jw2, 0.9);
  cr_expect_eq(k[0].dl1, 1);
  cr_expect_eq(k[0].dl2, 3);
  cr_expect_eq(k[0].phonetic, 2u, "nysiis only");
  cr_expect_eq(k[0].m_start, 0.8);
  /* full name: both fields, the swap threshold, all 7 levels */
  cr_expect_str_eq(k[1].name, "names");
  cr_expect_eq(k[1].kind, TSR_CMP_FULL_NAME);
  cr_expect_str_eq(k[1].field, "given_name");
  cr_expect_str_eq(k[1].field2, "family_name");
  cr_expect_eq(k[1].swap_jw, 0.9);
  cr_expect_eq(k[1].enabled, 0x7fu);
  cr_expect_eq(k[1].tf, 0);
  /* date of birth: exact (1) and within_days (5), with null (0) and else (8) */
  cr_expect_eq(k[2].kind, TSR_CMP_DOB);
  cr_expect_eq(k[2].enabled, 0x123u, "enabled 0x%x", k[2].enabled);
  cr_expect_eq(k[2].within_days, 14);
  cr_expect_eq(k[2].within_years, 2);
  cr_expect_eq(k[3].kind, TSR_CMP_POSTCODE);
  cr_expect_eq(k[3].enabled, 0x3fu);
  cr_expect_eq(k[3].tf, 1);
  cr_expect_eq(k[4].kind, TSR_CMP_NHS);
  cr_expect_eq(k[4].enabled, 0x1fu);
  /* the name defaults to the field */
  cr_expect_str_eq(k[5].name, "sex");
  cr_expect_eq(k[5].kind, TSR_CMP_SEX);
  cr_expect_eq(k[5].enabled, 0x7u);
  /* local id: the scope is field2 */
  cr_expect_eq(k[6].kind, TSR_CMP_LOCAL_ID);
  cr_expect_str_eq(k[6].field, "local_patient_id");
  cr_expect_str_eq(k[6].field2, "provider");
  cr_expect_eq(k[7].kind, TSR_CMP_TEXT);
  cr_expect_str_eq(k[7].field, "city");
  cr_expect_eq(k[7].jw1, 0.9);
  cr_expect_eq(k[7].jw2, 0.85);
  cr_expect_eq(k[7].enabled, 0xffu);
  cr_expect_eq(k[8].kind, TSR_CMP_CODE);
  cr_expect_eq(k[8].tf, 1);
  /* rules */
  cr_assert_eq(p->n_blocking, 2);
  cr_expect_str_eq(p->blocking[0].name, "dob");
  cr_expect_eq(p->blocking[0].source_mask, 3u, "the sources taking part, not x");
  cr_expect_eq(p->blocking[0].merge, 0);
  cr_expect_eq(p->blocking[1].source_mask, 2u);
  cr_assert_eq(p->n_training, 1);
  cr_expect(p->training != p->blocking);
  cr_expect_str_eq(p->training[0].name, "names");
  cr_expect_eq(p->training[0].parts[0].fn, TSR_KEYFN_SOUNDEX);
  cr_expect_eq(p->training[0].parts[1].fn, TSR_KEYFN_YEAR);
  cr_expect_eq(p->training[0].parts[1].kind, TSR_KIND_DATE);
  /* the rest */
  cr_expect_eq(p->threshold, 0.9);
  cr_expect_eq(p->pairs_floor, 0.05);
  cr_expect_eq(p->u_max_pairs, 5000000u);
  cr_expect_eq(p->u_min_obs, 50u);
  cr_expect_eq(p->em_max_iter, 100u);
  cr_expect_eq(p->em_tol, 1e-6);
  cr_expect_eq(p->seed, 7u);
  cr_expect_eq(p->train_max_pairs, 1000000u);
  cr_expect_eq(p->assumed_recall, 0.9);
  cr_expect_eq(p->tf_min, 0.001);
  cr_expect_eq(p->max_block_size, 500u);
  cr_expect_eq(p->join_clusters, 0);
  cr_expect_eq(p->split_clusters, 1);
  tsr_config_free(c);
}

Test(config_prob, defaults) {
  /* no section */
  tsr_config *c = NULL;
  char msg[700];
  char text[4096];
  snprintf(text, sizeof text,
           "{\"sources\": [{\"name\": \"gp\", \"path\": \"gp.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": "
           "\"local_id\"}}}]}");
  tsr_error err;
  cr_assert_eq(tsr_config_parse(text, strlen(text), "run.json", "/base", &c, &err), 0, "%s", err.msg);
  cr_expect_eq(c->prob.present, 0);
  cr_expect_eq(c->prob.n_cmp, 0);
  cr_expect_null(c->prob.cmp);
  cr_expect_eq(c->prob.n_blocking, 0);
  cr_expect_eq(c->prob.threshold, 0.95);
  cr_expect_eq(c->prob.max_block_size, 1000u);
  tsr_config_free(c);
  /* a minimal section: every default of docs/config.md */
  cr_assert_eq(parse_prob("", CMP ", " BLK, &c, msg, sizeof msg), 0, "%s", msg);
  const tsr_prob_cfg *p = &c->prob;
  cr_expect_eq(p->present, 1);
  cr_expect_eq(p->threshold, 0.95);
  cr_expect_eq(p->pairs_floor, 0.01);
  cr_expect_eq(p->seed, 42u);
  cr_expect_eq(p->u_max_pairs, 3000000u);
  cr_expect_eq(p->u_min_obs, 100u);
  cr_expect_eq(p->train_max_pairs, 2000000u);
  cr_expect_eq(p->em_max_iter, 500u);
  cr_expect_eq(p->em_tol, 1e-7);
  cr_expect_eq(p->assumed_recall, 0.0);
  cr_expect_eq(p->tf_min, 1e-4);
  cr_expect_eq(p->max_block_size, 1000u);
  cr_expect_eq(p->join_clusters, 1);
  cr_expect_eq(p->split_clusters, 0);
  /* without "training", the blocking rules train: the same array */
  cr_expect_eq(p->n_training, 1);
  cr_expect(p->training == p->blocking);
  /* a comparison's defaults */
  const tsr_cmp_cfg *k = &p->cmp[0];
  cr_expect_str_eq(k->name, "dob");
  cr_expect_eq(k->enabled, 0x1ffu, "all 9 levels");
  cr_expect_eq(k->jw1, 0.92);
  cr_expect_eq(k->jw2, 0.88);
  cr_expect_eq(k->dl1, 1);
  cr_expect_eq(k->dl2, 2);
  cr_expect_eq(k->phonetic, 3u);
  cr_expect_eq(k->swap_jw, 0.92);
  cr_expect_eq(k->within_days, 30);
  cr_expect_eq(k->within_years, 1);
  cr_expect_eq(k->tf, 0);
  cr_expect_eq(k->m_start, 0.9);
  cr_expect_null(k->field2);
  tsr_config_free(c);
  /* max_block_size follows link's, and can be set on its own */
  cr_assert_eq(parse_prob(", \"max_block_size\": 777", CMP ", " BLK, &c, msg, sizeof msg), 0, "%s", msg);
  cr_expect_eq(c->link.max_block_size, 777u);
  cr_expect_eq(c->prob.max_block_size, 777u);
  tsr_config_free(c);
  cr_assert_eq(parse_prob(", \"max_block_size\": 777", CMP ", " BLK ", \"max_block_size\": 2", &c, msg, sizeof msg), 0,
               "%s", msg);
  cr_expect_eq(c->link.max_block_size, 777u);
  cr_expect_eq(c->prob.max_block_size, 2u);
  tsr_config_free(c);
  /* the full name's name defaults to "full_name" */
  expect_prob_ok(ONE("{\"kind\": \"full_name\", \"fields\": [\"given_name\", \"family_name\"]}"), &c);
  cr_expect_str_eq(c->prob.cmp[0].name, "full_name");
  tsr_config_free(c);
}

/* The table of docs/config.md: which field kinds each comparison kind
 * compares. Rows: comparison kinds but full_name; columns: one field of
 * each kind. */
Test(config_prob, field_kinds_each_comparison_kind_compares) {
  static const char *const fields[] = {"given_name", "family_name", "dob",  "postcode", "nhs_number",
                                       "sex",        "practice",    "city", "pid2"};
  static const struct {
    const char *kind;
    const char *fits; /* one flag per field above */
  } rows[] = {
      {"name", "110000000"}, {"date_of_birth", "001000000"}, {"postcode", "000100000"}, {"nhs_number", "000010000"},
      {"sex", "000001000"},  {"code", "000000100"},          {"local_id", "000000001"}, {"text", "110000011"},
  };
  static const char *const fkind[] = {"given_name", "family_name", "date", "postcode", "nhs_number",
                                      "sex",        "code",        "text", "local_id"};
  static const char *const words[] = {"a given_name or family_name field",
                                      "a date field",
                                      "a postcode field",
                                      "an nhs_number field",
                                      "a sex field",
                                      "a code field",
                                      "a local_id field",
                                      "a text, local_id, given_name or family_name field"};
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
      char body[512], msg[700], want[400];
      snprintf(body, sizeof body, "\"comparisons\": [{\"kind\": \"%s\", \"field\": \"%s\"}], " BLK, rows[r].kind,
               fields[f]);
      tsr_config *c = NULL;
      int rc = parse_prob("", body, &c, msg, sizeof msg);
      if (rows[r].fits[f] == '1') {
        cr_expect_eq(rc, 0, "%s on %s: %s", rows[r].kind, fields[f], msg);
        if (!rc) cr_expect_str_eq(c->prob.cmp[0].field, fields[f]);
        tsr_config_free(c);
        continue;
      }
      snprintf(want, sizeof want, "probabilistic.comparisons[0].field: field \"%s\" is a %s; kind %s compares %s",
               fields[f], fkind[f], rows[r].kind, words[r]);
      cr_expect_eq(rc, TSR_ECONFIG, "%s on %s should fail", rows[r].kind, fields[f]);
      cr_expect_str_eq(msg, want);
    }
  /* full_name: given then family, nothing else */
  tsr_config *c = NULL;
  expect_prob_ok(ONE("{\"kind\": \"full_name\", \"fields\": [\"given_name\", \"family_name\"]}"), &c);
  tsr_config_free(c);
  static const prob_case bad[] = {
      {ONE("{\"kind\": \"full_name\", \"fields\": [\"family_name\", \"given_name\"]}"),
       "probabilistic.comparisons[0].fields[0]: field \"family_name\" is a family_name; kind full_name compares a "
       "given_name field first, then a family_name field"},
      {ONE("{\"kind\": \"full_name\", \"fields\": [\"given_name\", \"given_name\"]}"),
       "probabilistic.comparisons[0].fields[1]: field \"given_name\" is a given_name; kind full_name compares a "
       "given_name field first, then a family_name field"},
      {ONE("{\"kind\": \"full_name\", \"fields\": [\"given_name\"]}"),
       "probabilistic.comparisons[0].fields: expected [given-name field, family-name field], got an array"},
      {ONE("{\"kind\": \"full_name\"}"),
       "probabilistic.comparisons[0].fields: required key is missing ([given-name field, family-name field])"},
      {ONE("{\"kind\": \"full_name\", \"field\": \"given_name\"}"),
       "probabilistic.comparisons[0].field: kind full_name takes \"fields\": [given-name field, family-name field]"},
      {ONE("{\"kind\": \"name\", \"fields\": [\"given_name\"]}"),
       "probabilistic.comparisons[0].fields: kind name takes one \"field\" (\"fields\" is for full_name)"},
      {ONE("{\"kind\": \"name\"}"), "probabilistic.comparisons[0].field: required key is missing"},
      {ONE("{\"kind\": \"name\", \"field\": 3}"),
       "probabilistic.comparisons[0].field: expected a field name, got an integer"},
  };
  expect_prob_errors(bad, sizeof bad / sizeof bad[0]);
}

Test(config_prob, fields_must_be_in_a_source_taking_part) {
  static const prob_case bad[] = {
      {ONE("{\"kind\": \"text\", \"field\": \"nope\"}"),
       "probabilistic.comparisons[0].field: unknown field \"nope\": no source maps a column to it"},
      {ONE("{\"kind\": \"text\", \"field\": \"xonly\"}"),
       "probabilistic.comparisons[0].field: field \"xonly\" is only in sources that do not take part (see "
       "link.sources)"},
      {ONE("{\"kind\": \"text\", \"field\": \"mixed\"}"),
       "probabilistic.comparisons[0].field: field \"mixed\" is a code in one source and a text in another"},
      {ONE("{\"kind\": \"full_name\", \"fields\": [\"given_name\", \"surname\"]}"),
       "probabilistic.comparisons[0].fields[1]: unknown field \"surname\": no source maps a column to it"},
  };
  expect_prob_errors(bad, sizeof bad / sizeof bad[0]);
  /* a field only one source has is fine (the other's pairs are null) */
  tsr_config *c = NULL;
  expect_prob_ok(ONE("{\"kind\": \"code\", \"field\": \"provider\"}"), &c);
  tsr_config_free(c);
}

Test(config_prob, levels_are_named_by_kind) {
  tsr_config *c = NULL;
  /* a subset, in any order; null and else always on */
  expect_prob_ok(ONE("{\"kind\": \"postcode\", \"field\": \"postcode\", \"levels\": [\"district\", \"full\"]}"), &c);
  cr_expect_eq(c->prob.cmp[0].enabled, 0x2bu, "null, full, district, else: 0x%x", c->prob.cmp[0].enabled);
  tsr_config_free(c);
  expect_prob_ok(ONE("{\"kind\": \"sex\", \"field\": \"sex\", \"levels\": [\"equal\"]}"), &c);
  cr_expect_eq(c->prob.cmp[0].enabled, 0x7u);
  tsr_config_free(c);
  static const prob_case bad[] = {
      {"\"comparisons\": [{\"kind\": \"name\", \"field\": \"given_name\"}, {\"kind\": \"name\", \"field\": "
       "\"family_name\"}, {\"kind\": \"date_of_birth\", \"field\": \"dob\", \"levels\": [\"exact\", "
       "\"sector\"]}], " BLK,
       "probabilistic.comparisons[2].levels[1]: \"sector\" is not a level of kind date_of_birth; expected one of "
       "exact, "
       "day_month_swapped, one_digit, same_year_month, within_days, jan1, within_years"},
      {ONE("{\"kind\": \"sex\", \"field\": \"sex\", \"levels\": [\"exact\"]}"),
       "probabilistic.comparisons[0].levels[0]: \"exact\" is not a level of kind sex; expected one of equal"},
      {ONE("{\"kind\": \"text\", \"field\": \"city\", \"levels\": [\"phonetic\"]}"),
       "probabilistic.comparisons[0].levels[0]: \"phonetic\" is not a level of kind text; expected one of exact, "
       "exact_norm, jw1, jw2, dl1, dl2"},
      {ONE("{\"kind\": \"name\", \"field\": \"given_name\", \"levels\": [\"exact\", \"null\"]}"),
       "probabilistic.comparisons[0].levels[1]: \"null\" is implicit and may not be listed (every comparison has null "
       "and else)"},
      {ONE("{\"kind\": \"name\", \"field\": \"given_name\", \"levels\": [\"else\"]}"),
       "probabilistic.comparisons[0].levels[0]: \"else\" is implicit and may not be listed (every comparison has null "
       "and else)"},
      {ONE("{\"kind\": \"name\", \"field\": \"given_name\", \"levels\": [\"exact\", \"jw1\", \"exact\"]}"),
       "probabilistic.comparisons[0].levels[2]: \"exact\" is listed twice"},
      {ONE("{\"kind\": \"sex\", \"field\": \"sex\", \"levels\": []}"),
       "probabilistic.comparisons[0].levels: expected a non-empty list of level names of kind sex (equal), got []"},
      {ONE("{\"kind\": \"sex\", \"field\": \"sex\", \"levels\": \"equal\"}"),
       "probabilistic.comparisons[0].levels: expected a non-empty list of level names of kind sex (equal), got a "
       "string"},
      {ONE("{\"kind\": \"sex\", \"field\": \"sex\", \"levels\": [1]}"),
       "probabilistic.comparisons[0].levels[0]: expected a level name, got an integer"},
  };
  expect_prob_errors(bad, sizeof bad / sizeof bad[0]);
}

Test(config_prob, kinds) {
  static const prob_case bad[] = {
      {ONE("{\"kind\": \"nam\", \"field\": \"given_name\"}"),
       "probabilistic.comparisons[0].kind: unknown comparison kind \"nam\" (expected name, full_name, date_of_birth, "
       "postcode, nhs_number, sex, code, local_id or text)"},
      {ONE("{\"field\": \"given_name\"}"), "probabilistic.comparisons[0].kind: required key is missing"},
      {ONE("{\"kind\": 1, \"field\": \"given_name\"}"),
       "probabilistic.comparisons[0].kind: expected a string, got an integer"},
      {"\"comparisons\": [\"dob\"], " BLK,
       "probabilistic.comparisons[0]: expected an object such as {\"name\": \"dob\", \"kind\": \"date_of_birth\", "
       "\"field\": \"dob\"}, got a string"},
  };
  expect_prob_errors(bad, sizeof bad / sizeof bad[0]);
}

/* Each option on the kinds it applies to (accepted) and on one it does not. */
Test(config_prob, options_apply_to_their_kinds) {
  static const struct {
    const char *cmp, *want;
  } bad[] = {
      {"{\"kind\": \"date_of_birth\", \"field\": \"dob\", \"tf\": true}",
       "probabilistic.comparisons[0].tf: does not apply to kind date_of_birth (only to name, full_name, postcode, "
       "code and text)"},
      {"{\"kind\": \"sex\", \"field\": \"sex\", \"tf\": false}",
       "probabilistic.comparisons[0].tf: does not apply to kind sex (only to name, full_name, postcode, code and "
       "text)"},
      {"{\"kind\": \"nhs_number\", \"field\": \"nhs_number\", \"tf\": true}",
       "probabilistic.comparisons[0].tf: does not apply to kind nhs_number (only to name, full_name, postcode, code "
       "and text)"},
      {"{\"kind\": \"local_id\", \"field\": \"pid2\", \"tf\": true}",
       "probabilistic.comparisons[0].tf: does not apply to kind local_id (only to name, full_name, postcode, code "
       "and text)"},
      {"{\"kind\": \"sex\", \"field\": \"sex\", \"jaro_winkler\": [0.9, 0.8]}",
       "probabilistic.comparisons[0].jaro_winkler: does not apply to kind sex (only to name and text)"},
      {"{\"kind\": \"full_name\", \"fields\": [\"given_name\", \"family_name\"], \"damerau_levenshtein\": [1, 2]}",
       "probabilistic.comparisons[0].damerau_levenshtein: does not apply to kind full_name (only to name and text)"},
      {"{\"kind\": \"text\", \"field\": \"city\", \"phonetic\": [\"soundex\"]}",
       "probabilistic.comparisons[0].phonetic: does not apply to kind text (only to name)"},
      {"{\"kind\": \"name\", \"field\": \"given_name\", \"swap_jaro_winkler\": 0.9}",
       "probabilistic.comparisons[0].swap_jaro_winkler: does not apply to kind name (only to full_name)"},
      {"{\"kind\": \"name\", \"field\": \"given_name\", \"within_days\": 3}",
       "probabilistic.comparisons[0].within_days: does not apply to kind name (only to date_of_birth)"},
      {"{\"kind\": \"postcode\", \"field\": \"postcode\", \"within_years\": 3}",
       "probabilistic.comparisons[0].within_years: does not apply to kind postcode (only to date_of_birth)"},
      {"{\"kind\": \"code\", \"field\": \"provider\", \"scope\": \"provider\"}",
       "probabilistic.comparisons[0].scope: does not apply to kind code (only to local_id)"},
      {"{\"kind\": \"text\", \"field\": \"local_patient_id\", \"scope\": \"provider\"}",
       "probabilistic.comparisons[0].scope: does not apply to kind text (only to local_id)"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char body[1024];
    snprintf(body, sizeof body, "\"comparisons\": [%s], " BLK, bad[i].cmp);
    prob_case pc = {body, bad[i].want};
    expect_prob_errors(&pc, 1);
  }
  /* tf on each of its five kinds */
  static const char *const tf_ok[] = {
      "{\"kind\": \"name\", \"field\": \"family_name\", \"tf\": true}",
      "{\"kind\": \"full_name\", \"fields\": [\"given_name\", \"family_name\"], \"tf\": true}",
      "{\"kind\": \"postcode\", \"field\": \"postcode\", \"tf\": true}",
      "{\"kind\": \"text\", \"field\": \"city\", \"tf\": true}",
      "{\"kind\": \"code\", \"field\": \"practice\", \"tf\": true}",
  };
  for (size_t i = 0; i < sizeof tf_ok / sizeof tf_ok[0]; i++) {
    char body[1024];
    snprintf(body, sizeof body, "\"comparisons\": [%s], " BLK, tf_ok[i]);
    tsr_config *c = NULL;
    expect_prob_ok(body, &c);
    cr_expect_eq(c->prob.cmp[0].tf, 1, "%s", tf_ok[i]);
    tsr_config_free(c);
  }
  /* tf adjusts the exact level: it needs it */
  static const prob_case bad_tf[] = {
      {ONE("{\"kind\": \"postcode\", \"field\": \"postcode\", \"tf\": true, \"levels\": [\"sector\"]}"),
       "probabilistic.comparisons[0].tf: adjusts the \"full\" level, which \"levels\" leaves out"},
      {ONE("{\"kind\": \"name\", \"field\": \"given_name\", \"tf\": true, \"levels\": [\"exact_std\", \"jw1\"]}"),
       "probabilistic.comparisons[0].tf: adjusts the \"exact\" level, which \"levels\" leaves out"},
      {ONE("{\"kind\": \"code\", \"field\": \"practice\", \"tf\": 1}"),
       "probabilistic.comparisons[0].tf: expected true or false, got an integer"},
  };
  expect_prob_errors(bad_tf, sizeof bad_tf / sizeof bad_tf[0]);
  tsr_config *c = NULL;
  expect_prob_ok(ONE("{\"kind\": \"postcode\", \"field\": \"postcode\", \"tf\": false, \"levels\": [\"sector\"]}"), &c);
  tsr_config_free(c);
}

/* Both edges of every window, from both sides. */
Test(config_prob, thresholds_and_their_edges) {
  static const prob_case bad[] = {
      /* threshold and pairs_floor in (0, 1) */
      {CMP ", " BLK ", \"threshold\": 0", "probabilistic.threshold: expected a number in (0, 1), got 0"},
      {CMP ", " BLK ", \"threshold\": 1", "probabilistic.threshold: expected a number in (0, 1), got 1"},
      {CMP ", " BLK ", \"threshold\": \"0.9\"", "probabilistic.threshold: expected a number in (0, 1), got a string"},
      {CMP ", " BLK ", \"pairs_floor\": 0.0", "probabilistic.pairs_floor: expected a number in (0, 1), got 0"},
      {CMP ", " BLK ", \"pairs_floor\": 1.0", "probabilistic.pairs_floor: expected a number in (0, 1), got 1"},
      {CMP ", " BLK ", \"threshold\": 0.5, \"pairs_floor\": 0.6",
       "probabilistic.pairs_floor: 0.6 is above the threshold 0.5 (pairs.parquet would leave out linked pairs)"},
      /* jaro_winkler in (0, 1], t1 >= t2 */
      {ONE("{\"kind\": \"name\", \"field\": \"given_name\", \"jaro_winkler\": [0.88, 0.92]}"),
       "probabilistic.comparisons[0].jaro_winkler: t1 0.88 is below t2 0.92 (expected t1 >= t2)"},
      {ONE("{\"kind\": \"name\", \"field\": \"given_name\", \"jaro_winkler\": [0.9, 0]}"),
       "probabilistic.comparisons[0].jaro_winkler[1]: expected a number in (0, 1], got 0"},
      {ONE("{\"kind\": \"text\", \"field\": \"city\", \"jaro_winkler\": [1.01, 0.5]}"),
       "probabilistic.comparisons[0].jaro_winkler[0]: expected a number in (0, 1], got 1.01"},
      {ONE("{\"kind\": \"text\", \"field\": \"city\", \"jaro_winkler\": [0.9]}"),
       "probabilistic.comparisons[0].jaro_winkler: expected [t1, t2], two numbers in (0, 1] with t1 >= t2, got an "
       "array"},
      {ONE("{\"kind\": \"text\", \"field\": \"city\", \"jaro_winkler\": 0.9}"),
       "probabilistic.comparisons[0].jaro_winkler: expected [t1, t2], two numbers in (0, 1] with t1 >= t2, got a "
       "number"},
      /* damerau_levenshtein 1..8, d1 <= d2 */
      {ONE("{\"kind\": \"name\", \"field\": \"given_name\", \"damerau_levenshtein\": [0, 2]}"),
       "probabilistic.comparisons[0].damerau_levenshtein[0]: expected an integer from 1 to 8"},
      {ONE("{\"kind\": \"name\", \"field\": \"given_name\", \"damerau_levenshtein\": [2, 9]}"),
       "probabilistic.comparisons[0].damerau_levenshtein[1]: expected an integer from 1 to 8"},
      {ONE("{\"kind\": \"name\", \"field\": \"given_name\", \"damerau_levenshtein\": [1.5, 2]}"),
       "probabilistic.comparisons[0].damerau_levenshtein[0]: expected an integer from 1 to 8"},
      {ONE("{\"kind\": \"name\", \"field\": \"given_name\", \"damerau_levenshtein\": [3, 2]}"),
       "probabilistic.comparisons[0].damerau_levenshtein: d1 3 is above d2 2 (expected d1 <= d2)"},
      {ONE("{\"kind\": \"name\", \"field\": \"given_name\", \"damerau_levenshtein\": [1, 2, 3]}"),
       "probabilistic.comparisons[0].damerau_levenshtein: expected [d1, d2], two integers from 1 to 8 with d1 <= "
       "d2, got an array"},
      /* date windows */
      {ONE("{\"kind\": \"date_of_birth\", \"field\": \"dob\", \"within_days\": -1}"),
       "probabilistic.comparisons[0].within_days: expected an integer from 0 to 36525"},
      {ONE("{\"kind\": \"date_of_birth\", \"field\": \"dob\", \"within_days\": 36526}"),
       "probabilistic.comparisons[0].within_days: expected an integer from 0 to 36525"},
      {ONE("{\"kind\": \"date_of_birth\", \"field\": \"dob\", \"within_years\": 0}"),
       "probabilistic.comparisons[0].within_years: expected an integer from 1 to 150"},
      {ONE("{\"kind\": \"date_of_birth\", \"field\": \"dob\", \"within_years\": 151}"),
       "probabilistic.comparisons[0].within_years: expected an integer from 1 to 150"},
      /* the other numbers of a comparison */
      {ONE("{\"kind\": \"full_name\", \"fields\": [\"given_name\", \"family_name\"], \"swap_jaro_winkler\": 0}"),
       "probabilistic.comparisons[0].swap_jaro_winkler: expected a number in (0, 1], got 0"},
      {ONE("{\"kind\": \"full_name\", \"fields\": [\"given_name\", \"family_name\"], \"swap_jaro_winkler\": 1.5}"),
       "probabilistic.comparisons[0].swap_jaro_winkler: expected a number in (0, 1], got 1.5"},
      {ONE("{\"kind\": \"sex\", \"field\": \"sex\", \"m_start\": 1}"),
       "probabilistic.comparisons[0].m_start: expected a number in (0, 1), got 1"},
      {ONE("{\"kind\": \"sex\", \"field\": \"sex\", \"m_start\": 0}"),
       "probabilistic.comparisons[0].m_start: expected a number in (0, 1), got 0"},
      {ONE("{\"kind\": \"name\", \"field\": \"given_name\", \"phonetic\": []}"),
       "probabilistic.comparisons[0].phonetic: expected a non-empty list of \"soundex\" and \"nysiis\" (leave "
       "\"phonetic\" out of \"levels\" to drop the level), got []"},
      {ONE("{\"kind\": \"name\", \"field\": \"given_name\", \"phonetic\": [\"metaphone\"]}"),
       "probabilistic.comparisons[0].phonetic[0]: expected \"soundex\" or \"nysiis\", got \"metaphone\""},
      {ONE("{\"kind\": \"name\", \"field\": \"given_name\", \"phonetic\": [\"nysiis\", \"nysiis\"]}"),
       "probabilistic.comparisons[0].phonetic[1]: \"nysiis\" is listed twice"},
      /* section numbers */
      {CMP ", " BLK ", \"assumed_recall\": 1.01",
       "probabilistic.assumed_recall: expected a number in [0, 1], got 1.01"},
      {CMP ", " BLK ", \"assumed_recall\": -0.01",
       "probabilistic.assumed_recall: expected a number in [0, 1], got -0.01"},
      {CMP ", " BLK ", \"tf_min\": 0", "probabilistic.tf_min: expected a number in (0, 1), got 0"},
      {CMP ", " BLK ", \"tf_min\": 1", "probabilistic.tf_min: expected a number in (0, 1), got 1"},
      {CMP ", " BLK ", \"u\": {\"max_pairs\": 0}",
       "probabilistic.u.max_pairs: expected an integer from 1 to 1000000000000"},
      {CMP ", " BLK ", \"u\": {\"min_observations\": 0}",
       "probabilistic.u.min_observations: expected an integer from 1 to 1000000000"},
      {CMP ", " BLK ", \"u\": 5", "probabilistic.u: expected an object, got an integer"},
      {CMP ", " BLK ", \"em\": {\"max_iterations\": 0}",
       "probabilistic.em.max_iterations: expected an integer from 1 to 1000000"},
      {CMP ", " BLK ", \"em\": {\"tolerance\": 0}", "probabilistic.em.tolerance: expected a number in (0, 1), got 0"},
      {CMP ", " BLK ", \"em\": []", "probabilistic.em: expected an object, got an array"},
      {CMP ", " BLK ", \"seed\": -1", "probabilistic.seed: expected an integer from 0 to 9223372036854775807"},
      {CMP ", " BLK ", \"train_max_pairs\": 0",
       "probabilistic.train_max_pairs: expected an integer from 1 to 1000000000000"},
      {CMP ", " BLK ", \"max_block_size\": 1", "probabilistic.max_block_size: expected an integer from 2 to 100000000"},
      {CMP ", " BLK ", \"join_clusters\": 1", "probabilistic.join_clusters: expected true or false, got an integer"},
      {CMP ", " BLK ", \"split_clusters\": \"no\"",
       "probabilistic.split_clusters: expected true or false, got a string"},
  };
  expect_prob_errors(bad, sizeof bad / sizeof bad[0]);
  /* the edges that are inside */
  tsr_config *c = NULL;
  expect_prob_ok(
      "\"comparisons\": [{\"kind\": \"name\", \"field\": \"given_name\", \"jaro_winkler\": [1, 1], "
      "\"damerau_levenshtein\": [8, 8], \"m_start\": 0.999999},"
      "{\"kind\": \"text\", \"field\": \"city\", \"jaro_winkler\": [0.000001, 0.000001], "
      "\"damerau_levenshtein\": [1, 1]},"
      "{\"kind\": \"date_of_birth\", \"field\": \"dob\", \"within_days\": 0, \"within_years\": 1},"
      "{\"name\": \"dob2\", \"kind\": \"date_of_birth\", \"field\": \"dob\", \"within_days\": 36525, "
      "\"within_years\": 150},"
      "{\"kind\": \"full_name\", \"fields\": [\"given_name\", \"family_name\"], \"swap_jaro_winkler\": 1}], " BLK
      ", \"threshold\": 0.999999, \"pairs_floor\": 0.999999, \"assumed_recall\": 1, \"tf_min\": 0.000001, "
      "\"u\": {\"max_pairs\": 1, \"min_observations\": 1}, \"em\": {\"max_iterations\": 1, "
      "\"tolerance\": 0.5}, \"seed\": 0, \"train_max_pairs\": 1, \"max_block_size\": 100000000",
      &c);
  const tsr_prob_cfg *p = &c->prob;
  cr_expect_eq(p->cmp[0].jw1, 1.0);
  cr_expect_eq(p->cmp[0].jw2, 1.0);
  cr_expect_eq(p->cmp[0].dl1, 8);
  cr_expect_eq(p->cmp[0].dl2, 8);
  cr_expect_eq(p->cmp[0].m_start, 0.999999);
  cr_expect_eq(p->cmp[1].jw2, 0.000001);
  cr_expect_eq(p->cmp[1].dl2, 1);
  cr_expect_eq(p->cmp[2].within_days, 0);
  cr_expect_eq(p->cmp[2].within_years, 1);
  cr_expect_eq(p->cmp[3].within_days, 36525);
  cr_expect_eq(p->cmp[3].within_years, 150);
  cr_expect_eq(p->cmp[4].swap_jw, 1.0);
  cr_expect_eq(p->threshold, 0.999999);
  cr_expect_eq(p->pairs_floor, 0.999999, "a floor equal to the threshold");
  cr_expect_eq(p->assumed_recall, 1.0);
  cr_expect_eq(p->u_max_pairs, 1u);
  cr_expect_eq(p->u_min_obs, 1u);
  cr_expect_eq(p->em_max_iter, 1u);
  cr_expect_eq(p->seed, 0u);
  cr_expect_eq(p->train_max_pairs, 1u);
  cr_expect_eq(p->max_block_size, 100000000u);
  tsr_config_free(c);
  expect_prob_ok(CMP ", " BLK
                     ", \"threshold\": 0.000001, \"pairs_floor\": 0.000001, \"assumed_recall\": 0, "
                     "\"tf_min\": 0.999999, \"seed\": 9223372036854775807",
                 &c);
  cr_expect_eq(c->prob.threshold, 0.000001);
  cr_expect_eq(c->prob.tf_min, 0.999999);
  cr_expect_eq(c->prob.seed, 9223372036854775807ull);
  tsr_config_free(c);
}

Test(config_prob, names_counts_and_pattern_width) {
  static const prob_case bad[] = {
      {"\"comparisons\": [{\"kind\": \"sex\", \"field\": \"sex\"}, {\"kind\": \"sex\", \"field\": \"sex\"}], " BLK,
       "probabilistic.comparisons[1]: comparison name \"sex\" is used twice (also comparisons[0]; a name defaults to "
       "the field)"},
      {"\"comparisons\": [{\"kind\": \"sex\", \"field\": \"sex\"}, {\"name\": \"s\", \"kind\": \"sex\", \"field\": "
       "\"sex\"}, {\"name\": \"sex\", \"kind\": \"code\", \"field\": \"practice\"}], " BLK,
       "probabilistic.comparisons[2]: comparison name \"sex\" is used twice (also comparisons[0]; a name defaults to "
       "the field)"},
      {"\"comparisons\": [{\"kind\": \"sex\", \"field\": \"sex\"}, {\"name\": \"Sex\", \"kind\": \"code\", "
       "\"field\": \"practice\"}], " BLK,
       "probabilistic.comparisons[1]: comparison name \"Sex\" differs only in case from comparisons[0] \"sex\" (names "
       "become column names, which SQL compares without case)"},
      {ONE("{\"name\": \"a-b\", \"kind\": \"sex\", \"field\": \"sex\"}"),
       "probabilistic.comparisons[0].name: expected 1 to 64 letters, digits or '_', got \"a-b\""},
      {ONE("{\"name\": \"\", \"kind\": \"sex\", \"field\": \"sex\"}"),
       "probabilistic.comparisons[0].name: expected 1 to 64 letters, digits or '_', got \"\""},
      {ONE("{\"name\": \"a2345678901234567890123456789012345678901234567890123456789012345\", \"kind\": \"sex\", "
           "\"field\": \"sex\"}"),
       "probabilistic.comparisons[0].name: expected 1 to 64 letters, digits or '_', got "
       "\"a2345678901234567890123456789012345678901234567890123456789012345\""},
      {ONE("{\"kind\": \"text\", \"field\": \"post-town\"}"),
       "probabilistic.comparisons[0]: the name defaults to the field, \"post-town\", which is not a comparison name "
       "(1 to 64 letters, digits or '_'); give a \"name\""},
      {BLK, "probabilistic.comparisons: required key is missing (a list of 1 to 16 comparisons)"},
      {"\"comparisons\": [], " BLK, "probabilistic.comparisons: expected a list of 1 to 16 comparisons, got 0"},
      {"\"comparisons\": {}, " BLK, "probabilistic.comparisons: expected a list of 1 to 16 comparisons, got an object"},
  };
  expect_prob_errors(bad, sizeof bad / sizeof bad[0]);
  tsr_config *c = NULL;
  expect_prob_ok(
      ONE("{\"name\": \"a234567890123456789012345678901234567890123456789012345678901234\", \"kind\": \"sex\", "
          "\"field\": \"sex\"}"),
      &c);
  tsr_config_free(c);
  expect_prob_ok(ONE("{\"name\": \"post_town\", \"kind\": \"text\", \"field\": \"post-town\"}"), &c);
  cr_expect_str_eq(c->prob.cmp[0].field, "post-town");
  tsr_config_free(c);
  /* 16 sex comparisons (2 bits each) fill the 32 bits; a 17th is too many */
  char body[8192] = "\"comparisons\": [";
  for (int i = 0; i < 17; i++) {
    size_t l = strlen(body);
    snprintf(body + l, sizeof body - l, "%s{\"name\": \"s%d\", \"kind\": \"sex\", \"field\": \"sex\"}", i ? ", " : "",
             i);
  }
  char b16[8192];
  snprintf(b16, sizeof b16, "%.*s], " BLK, (int)(strstr(body, ", {\"name\": \"s16\"") - body), body);
  expect_prob_ok(b16, &c);
  cr_expect_eq(c->prob.n_cmp, 16);
  tsr_config_free(c);
  strcat(body, "], " BLK);
  prob_case many = {body, "probabilistic.comparisons: expected a list of 1 to 16 comparisons, got 17"};
  expect_prob_errors(&many, 1);
  /* names take 4 bits: 8 fit, 9 need 36 */
  char names[4096] = "\"comparisons\": [";
  for (int i = 0; i < 9; i++) {
    size_t l = strlen(names);
    snprintf(names + l, sizeof names - l, "%s{\"name\": \"n%d\", \"kind\": \"name\", \"field\": \"given_name\"}",
             i ? ", " : "", i);
  }
  char n8[4096];
  snprintf(n8, sizeof n8, "%.*s], " BLK, (int)(strstr(names, ", {\"name\": \"n8\"") - names), names);
  expect_prob_ok(n8, &c);
  cr_expect_eq(c->prob.n_cmp, 8);
  tsr_config_free(c);
  strcat(names, "], " BLK);
  prob_case wide = {
      names,
      "probabilistic.comparisons: the comparisons need 36 bits of agreement pattern and a pattern holds 32 "
      "(bits per comparison: name 4, full_name 3, date_of_birth 4, postcode 3, nhs_number 3, sex 2, "
      "code 2, local_id 2, text 3)"};
  expect_prob_errors(&wide, 1);
}

Test(config_prob, scope) {
  tsr_config *c = NULL;
  expect_prob_ok(ONE("{\"kind\": \"local_id\", \"field\": \"local_patient_id\", \"scope\": \"provider\"}"), &c);
  cr_expect_str_eq(c->prob.cmp[0].name, "local_patient_id");
  cr_expect_str_eq(c->prob.cmp[0].field2, "provider");
  tsr_config_free(c);
  /* without a scope, field2 stays NULL */
  expect_prob_ok(ONE("{\"kind\": \"local_id\", \"field\": \"pid2\"}"), &c);
  cr_expect_null(c->prob.cmp[0].field2);
  tsr_config_free(c);
  static const prob_case bad[] = {
      {ONE("{\"kind\": \"local_id\", \"field\": \"local_patient_id\", \"scope\": \"dob\"}"),
       "probabilistic.comparisons[0].scope: field \"dob\" is a date; a scope must be a code field (such as a provider "
       "code)"},
      {ONE("{\"kind\": \"local_id\", \"field\": \"local_patient_id\", \"scope\": \"city\"}"),
       "probabilistic.comparisons[0].scope: field \"city\" is a text; a scope must be a code field (such as a "
       "provider code)"},
      {ONE("{\"kind\": \"local_id\", \"field\": \"local_patient_id\", \"scope\": \"trust\"}"),
       "probabilistic.comparisons[0].scope: unknown field \"trust\": no source maps a column to it"},
      {ONE("{\"kind\": \"local_id\", \"field\": \"pid2\", \"scope\": \"provider\"}"),
       "probabilistic.comparisons[0].scope: source \"gp\" has field \"pid2\" but no scope field \"provider\""},
      {ONE("{\"kind\": \"local_id\", \"field\": \"pid2\", \"scope\": 1}"),
       "probabilistic.comparisons[0].scope: expected a string, got an integer"},
  };
  expect_prob_errors(bad, sizeof bad / sizeof bad[0]);
}

Test(config_prob, blocking_and_training_rules) {
  tsr_config *c = NULL;
  /* the same key parts and functions as link rules */
  expect_prob_ok(CMP
                 ", \"blocking\": [{\"name\": \"a\", \"fields\": [\"soundex(given_name)\", \"year_month(dob)\"]}, "
                 "{\"name\": \"b\", \"fields\": [\"sector(postcode)\", \"sex\"], \"sources\": [\"gp\"]}]",
                 &c);
  cr_assert_eq(c->prob.n_blocking, 2);
  cr_expect_eq(c->prob.blocking[0].parts[0].fn, TSR_KEYFN_SOUNDEX);
  cr_expect_eq(c->prob.blocking[0].parts[0].kind, TSR_KIND_GIVEN_NAME);
  cr_expect_eq(c->prob.blocking[0].parts[1].fn, TSR_KEYFN_YEAR_MONTH);
  cr_expect_eq(c->prob.blocking[1].parts[0].fn, TSR_KEYFN_SECTOR);
  cr_expect_eq(c->prob.blocking[1].source_mask, 1u);
  cr_expect_eq(c->prob.n_training, 2);
  cr_expect(c->prob.training == c->prob.blocking);
  tsr_config_free(c);
  static const prob_case bad[] = {
      {CMP, "probabilistic.blocking: required key is missing (a list of rules)"},
      {CMP ", \"blocking\": []",
       "probabilistic.blocking: expected a list of 1 to 64 rules such as {\"name\": \"dob\", \"fields\": [\"dob\"]}, "
       "got 0"},
      {CMP ", \"blocking\": {\"name\": \"b\"}",
       "probabilistic.blocking: expected a list of 1 to 64 rules such as {\"name\": \"dob\", \"fields\": [\"dob\"]}, "
       "got an object"},
      {CMP ", \"blocking\": [{\"name\": \"b\", \"fields\": [\"nope\"]}]",
       "probabilistic.blocking[0].fields[0]: unknown field \"nope\": no source maps a column to it"},
      {CMP ", \"blocking\": [{\"name\": \"b\", \"fields\": [\"provider\"]}]",
       "probabilistic.blocking[0].fields[0]: source \"gp\" has no field \"provider\" (map a column to it, or "
       "restrict the rule with \"sources\")"},
      {CMP ", \"blocking\": [{\"name\": \"b\", \"fields\": [\"dob\"], \"sources\": [\"x\"]}]",
       "probabilistic.blocking[0].sources: lists a source that does not take part in linking (see link.sources)"},
      {CMP ", \"blocking\": [{\"name\": \"b\", \"fields\": [\"dob\"]}, {\"name\": \"b\", \"fields\": [\"sex\"]}]",
       "probabilistic.blocking[1]: rule name \"b\" is used twice"},
      {CMP ", \"blocking\": [{\"name\": \"b\", \"fields\": [\"dob\"], \"merge\": true}]",
       "probabilistic.blocking[0].merge: unknown key (expected one of: name, fields, sources)"},
      {CMP ", " BLK ", \"training\": []",
       "probabilistic.training: expected a list of 1 to 64 rules such as {\"name\": \"dob\", \"fields\": [\"dob\"]}, "
       "got 0"},
      {CMP ", " BLK ", \"training\": [{\"name\": \"t\", \"fields\": [\"year(sex)\"]}]",
       "probabilistic.training[0].fields[0]: year() does not apply to field \"sex\" (a sex)"},
      {CMP ", " BLK
           ", \"training\": [{\"name\": \"t\", \"fields\": [\"sex\"]}, {\"name\": \"t\", \"fields\": [\"dob\"]}]",
       "probabilistic.training[1]: rule name \"t\" is used twice"},
  };
  expect_prob_errors(bad, sizeof bad / sizeof bad[0]);
  /* 64 rules are allowed, 65 are not */
  char body[16384] = CMP ", \"blocking\": [";
  for (int i = 0; i < 65; i++) {
    size_t l = strlen(body);
    snprintf(body + l, sizeof body - l, "%s{\"name\": \"r%d\", \"fields\": [\"dob\"]}", i ? ", " : "", i);
  }
  char b64[16384];
  snprintf(b64, sizeof b64, "%.*s]", (int)(strstr(body, ", {\"name\": \"r64\"") - body), body);
  expect_prob_ok(b64, &c);
  cr_expect_eq(c->prob.n_blocking, 64);
  tsr_config_free(c);
  strcat(body, "]");
  prob_case many = {body,
                    "probabilistic.blocking: expected a list of 1 to 64 rules such as {\"name\": \"dob\", \"fields\": "
                    "[\"dob\"]}, got 65"};
  expect_prob_errors(&many, 1);
}

Test(config_prob, unknown_keys_name_their_path) {
  static const prob_case bad[] = {
      {CMP ", " BLK ", \"treshold\": 0.9",
       "probabilistic.treshold: unknown key (expected one of: comparisons, blocking, training, threshold, "
       "pairs_floor, u, em, seed, train_max_pairs, assumed_recall, tf_min, max_block_size, join_clusters, "
       "split_clusters)"},
      {ONE("{\"kind\": \"sex\", \"feild\": \"sex\"}"),
       "probabilistic.comparisons[0].feild: unknown key (expected one of: name, kind, field, fields, levels, tf, "
       "jaro_winkler, damerau_levenshtein, phonetic, swap_jaro_winkler, within_days, within_years, scope, m_start)"},
      {CMP ", " BLK ", \"u\": {\"pairs\": 5}",
       "probabilistic.u.pairs: unknown key (expected one of: max_pairs, min_observations)"},
      {CMP ", " BLK ", \"em\": {\"iterations\": 5}",
       "probabilistic.em.iterations: unknown key (expected one of: max_iterations, tolerance)"},
  };
  expect_prob_errors(bad, sizeof bad / sizeof bad[0]);
  /* the section itself, and the root's list of keys */
  char text[4096], msg[700];
  tsr_config *c = NULL;
  tsr_error err;
  snprintf(text, sizeof text,
           "{\"sources\": [{\"name\": \"gp\", \"path\": \"gp.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": "
           "\"local_id\"}}}], \"probabilistic\": []}");
  cr_expect_eq(tsr_config_parse(text, strlen(text), "run.json", "/base", &c, &err), TSR_ECONFIG);
  cr_expect_str_eq(err.msg, "probabilistic: expected an object, got an array");
  snprintf(text, sizeof text,
           "{\"sources\": [{\"name\": \"gp\", \"path\": \"gp.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": "
           "\"local_id\"}}}], \"probabilistc\": {}}");
  cr_expect_eq(tsr_config_parse(text, strlen(text), "run.json", "/base", &c, &err), TSR_ECONFIG);
  snprintf(msg, sizeof msg, "%s", err.msg);
  cr_expect_str_eq(msg, "probabilistc: unknown key (expected one of: version, sources, link, probabilistic, episodes, output)");
}

/* The generator's link.json: hesid, then the probabilistic section of
 * docs/config.md Example 1. */
Test(config_prob, generated_link_json_parses, .timeout = 60) {
  char *dir = tsr_test_tmpdir("cfgprob");
  cr_assert_not_null(dir);
  tsr_gen_opts o;
  tsr_gen_opts_init(&o);
  o.patients = 50;
  o.threads = 1;
  o.out_dir = dir;
  tsr_error err;
  cr_assert_eq(tsr_generate(&o, NULL, &err), 0, "%s", err.msg);
  char path[512];
  snprintf(path, sizeof path, "%s/link.json", dir);
  tsr_config *c = NULL;
  cr_assert_eq(tsr_config_load(path, &c, &err), 0, "%s", err.msg);
  cr_expect_str_eq(c->link.preset, "hesid");
  const tsr_prob_cfg *p = &c->prob;
  cr_assert_eq(p->present, 1);
  static const struct {
    const char *name, *field, *field2;
    tsr_cmp_kind kind;
    int tf;
  } want[] = {
      {"given_name", "given_name", NULL, TSR_CMP_NAME, 1},
      {"family_name", "family_name", NULL, TSR_CMP_NAME, 1},
      {"dob", "dob", NULL, TSR_CMP_DOB, 0},
      {"postcode", "postcode", NULL, TSR_CMP_POSTCODE, 1},
      {"nhs_number", "nhs_number", NULL, TSR_CMP_NHS, 0},
      {"sex", "sex", NULL, TSR_CMP_SEX, 0},
      {"lopatid", "local_patient_id", "provider", TSR_CMP_LOCAL_ID, 0},
  };
  cr_assert_eq(p->n_cmp, sizeof want / sizeof want[0]);
  for (uint32_t i = 0; i < p->n_cmp; i++) {
    cr_expect_str_eq(p->cmp[i].name, want[i].name);
    cr_expect_str_eq(p->cmp[i].field, want[i].field);
    if (want[i].field2)
      cr_expect_str_eq(p->cmp[i].field2, want[i].field2);
    else
      cr_expect_null(p->cmp[i].field2);
    cr_expect_eq(p->cmp[i].kind, want[i].kind, "comparison %u", i);
    cr_expect_eq(p->cmp[i].tf, want[i].tf, "comparison %u", i);
  }
  static const char *const rules[] = {"nhs_number",
                                      "dob,soundex(family_name)",
                                      "dob,district(postcode)",
                                      "postcode,year(dob)",
                                      "nysiis(given_name),nysiis(family_name),year(dob),sex",
                                      "provider,local_patient_id"};
  cr_assert_eq(p->n_blocking, 6);
  for (uint32_t i = 0; i < 6; i++) {
    char got[256] = "";
    for (uint8_t k = 0; k < p->blocking[i].n_parts; k++) {
      if (k) strcat(got, ",");
      strcat(got, p->blocking[i].parts[k].text);
    }
    cr_expect_str_eq(got, rules[i], "rule %u", i);
    cr_expect_eq(p->blocking[i].source_mask, i == 5 ? 2u : 3u, "rule %u", i);
  }
  cr_assert_eq(p->n_training, 3);
  cr_expect_str_eq(p->training[2].name, "postcode_family");
  cr_expect_eq(p->threshold, 0.95);
  cr_expect_eq(p->pairs_floor, 0.01);
  cr_expect_eq(p->max_block_size, 1000u);
  tsr_config_free(c);
}
