/* Unit tests for the link section of the config: errors that name the key
 * path, and presets fitted to the sources. (The block and cluster stages
 * have block_test.c and cluster_test.c.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "link_fixture.h"
#include "tessera/config.h"

/* --- config ------------------------------------------------------------------ */

static int cfg_error(const char *link_json, char *msg, size_t cap) {
  char text[4096];
  snprintf(text, sizeof text, K_CFG_FMT, link_json);
  tsr_config *c = NULL;
  tsr_error err;
  int rc = tsr_config_parse(text, strlen(text), "run.json", "/tmp", &c, &err);
  snprintf(msg, cap, "%s", rc ? err.msg : "");
  tsr_config_free(c);
  return rc;
}

Test(config, link_errors_name_the_key_path) {
  static const struct {
    const char *json, *want;
  } cases[] = {
      {"{\"rules\": [{\"name\": \"a\", \"fields\": [\"nhs\"]}]}", "link.rules[0].fields[0]: unknown field \"nhs\""},
      {"{\"rules\": [{\"name\": \"a\", \"fields\": [\"dob\", \"provider\"]}]}",
       "link.rules[0].fields[1]: source \"gp\" has no field \"provider\""},
      {"{\"rules\": [{\"name\": \"a\", \"fields\": [\"soundex(dob)\"]}]}",
       "link.rules[0].fields[0]: soundex() does not apply to field \"dob\""},
      {"{\"rules\": [{\"name\": \"a\", \"fields\": [\"metaphone(family_name)\"]}]}", "unknown function"},
      {"{\"rules\": \"hesidd\"}", "link.rules: unknown preset \"hesidd\""},
      {"{\"rules\": [{\"name\": \"a\", \"fields\": [\"dob\"], \"sources\": [\"gpp\"]}]}",
       "link.rules[0].sources[0]: no source is named \"gpp\""},
      {"{\"mode\": \"merge\", \"rules\": \"hesid\"}", "link.mode: expected"},
      {"{\"rules\": \"hesid\", \"max_block\": 5}", "link.max_block: unknown key"},
      {"{\"mode\": \"link_and_dedupe\", \"one_to_one\": true, \"rules\": \"hesid\"}", "link.one_to_one"},
      {"{\"rules\": [{\"name\": \"a\", \"fields\": [\"dob\"]}, {\"name\": \"a\", \"fields\": [\"sex\"]}]}",
       "link.rules[1]: rule name \"a\" is used twice"},
      {"{}", "link.rules: required key is missing"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char msg[600];
    int rc = cfg_error(cases[i].json, msg, sizeof msg);
    cr_expect_eq(rc, TSR_ECONFIG, "case %zu should fail", i);
    cr_expect(strstr(msg, cases[i].want) != NULL, "case %zu: got \"%s\", want \"%s\"", i, msg, cases[i].want);
  }
}

Test(config, presets_fit_the_sources) {
  char text[4096];
  snprintf(text, sizeof text, K_CFG_FMT, "{\"mode\": \"link_and_dedupe\", \"rules\": \"hesid\"}");
  tsr_config *c = NULL;
  tsr_error err;
  cr_assert_eq(tsr_config_parse(text, strlen(text), "run.json", "/tmp", &c, &err), 0, "%s", err.msg);
  cr_assert_eq(c->link.n_rules, 3);
  cr_expect_str_eq(c->link.rules[1].name, "hesid_2");
  cr_expect_eq(c->link.rules[1].source_mask, 2u, "hesid_2 needs provider and local id: hospital only");
  cr_expect_eq(c->link.rules[0].source_mask, 3u);
  cr_assert_eq(tsr_config_use_preset(c, "cprd_hes", &err), 0);
  cr_expect_eq(c->link.n_rules, 8);
  cr_expect_str_eq(c->link.rules[5].parts[2].text, "year(dob)");
  cr_assert_eq(tsr_config_use_preset(c, "names", &err), 0);
  cr_expect_eq(c->link.n_rules, 6);
  cr_expect_eq(c->link.rules[0].source_mask, 1u, "hes has no names here");
  cr_expect_eq(tsr_config_use_preset(c, "nope", &err), TSR_ECONFIG);
  tsr_config_free(c);
}
