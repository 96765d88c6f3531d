/* Unit tests for the run-configuration parser (engine/config/): reading the
 * file (BOM, errors with their reason), date formats with a time part, key
 * paths in the errors of every section and every typed getter, presets and
 * which key functions accept which field kinds. The link-rule error table
 * lives in link_test.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tessera/config.h"
#include "test_util.h"

/* One source "gp" whose columns are given by the first %s; the second %s
 * adds root keys (", \"link\": {...}"). */
#define CFG_FMT                                                                                       \
  "{\"sources\": [{\"name\": \"gp\", \"path\": \"gp.csv\", \"id\": \"id\", \"columns\": " \
  "{\"id\": {\"kind\": \"local_id\"}, \"dob\": {\"kind\": \"date\"}%s}}]%s}"

/* Two sources: the second one has no columns but its id. */
#define CFG2_FMT                                                                                           \
  "{\"sources\": [{\"name\": \"gp\", \"path\": \"gp.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": " \
  "\"local_id\"}, \"nhs\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"}, \"dob\": {\"kind\": "      \
  "\"date\"}, \"sex\": {\"kind\": \"sex\"}, \"pc\": {\"field\": \"postcode\", \"kind\": \"postcode\"}, "      \
  "\"gn\": {\"field\": \"given_name\", \"kind\": \"given_name\"}, \"fn\": {\"field\": \"family_name\", "     \
  "\"kind\": \"family_name\"}}}, {\"name\": \"hes\", \"path\": \"/data/hes.csv\", \"id\": \"key\", "         \
  "\"columns\": {\"key\": {\"kind\": \"local_id\"}, \"nhs\": {\"field\": \"nhs_number\", \"kind\": "         \
  "\"nhs_number\"}, \"dob\": {\"kind\": \"date\"}, \"sex\": {\"kind\": \"sex\"}, \"pc\": {\"field\": "      \
  "\"postcode\", \"kind\": \"postcode\"}, \"procode\": {\"field\": \"provider\", \"kind\": \"code\"}, "     \
  "\"lopatid\": {\"field\": \"local_patient_id\", \"kind\": \"local_id\"}}}]%s}"

/* Parses text; returns the code, the message in msg (empty on success) and
 * the config in *out (NULL on failure; the caller frees it). */
static int parse_text(const char *text, size_t len, tsr_config **out, char *msg, size_t cap) {
  tsr_error err;
  *out = NULL;
  int rc = tsr_config_parse(text, len, "run.json", "/base", out, &err);
  snprintf(msg, cap, "%s", rc ? err.msg : "");
  if (rc) cr_assert_null(*out);
  return rc;
}

static int parse1(const char *columns, const char *root, tsr_config **out, char *msg, size_t cap) {
  char text[8192];
  snprintf(text, sizeof text, CFG_FMT, columns, root);
  return parse_text(text, strlen(text), out, msg, cap);
}

static int parse2(const char *root, tsr_config **out, char *msg, size_t cap) {
  char text[8192];
  snprintf(text, sizeof text, CFG2_FMT, root);
  return parse_text(text, strlen(text), out, msg, cap);
}

/* --- reading the file ------------------------------------------------------ */

Test(config, bom_is_skipped) {
  char text[4096] = "\xEF\xBB\xBF";
  snprintf(text + 3, sizeof text - 3, CFG_FMT, "", "");
  tsr_config *c = NULL;
  char msg[600];
  cr_assert_eq(parse_text(text, strlen(text), &c, msg, sizeof msg), 0, "%s", msg);
  cr_expect_eq(c->n_sources, 1);
  cr_expect_str_eq(c->sources[0].path, "/base/gp.csv");
  tsr_config_free(c);
  /* only a leading BOM is skipped: one inside the text is still an error */
  snprintf(text, sizeof text, " \xEF\xBB\xBF{}");
  cr_expect_eq(parse_text(text, strlen(text), &c, msg, sizeof msg), TSR_ECONFIG);
  cr_expect(strstr(msg, "invalid JSON") != NULL, "%s", msg);
  /* a BOM and nothing else is an empty document, not a config */
  cr_expect_eq(parse_text("\xEF\xBB\xBF", 3, &c, msg, sizeof msg), TSR_ECONFIG);
}

Test(config, bom_in_a_file_is_skipped) {
  char *dir = tsr_test_tmpdir("cfg");
  cr_assert_not_null(dir);
  char path[512], text[4096] = "\xEF\xBB\xBF";
  snprintf(text + 3, sizeof text - 3, CFG_FMT, "", "");
  snprintf(path, sizeof path, "%s/run.json", dir);
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
  tsr_config *c = NULL;
  tsr_error err;
  cr_assert_eq(tsr_config_load(path, &c, &err), 0, "%s", err.msg);
  char want[600];
  snprintf(want, sizeof want, "%s/gp.csv", dir);
  cr_expect_str_eq(c->sources[0].path, want, "relative to the config's folder");
  tsr_config_free(c);
}

Test(config, open_errors_give_the_reason) {
  tsr_config *c = (tsr_config *)1;
  tsr_error err;
  cr_assert_eq(tsr_config_load("/nonexistent_tsr_dir/run.json", &c, &err), TSR_EIO);
  cr_expect_null(c);
  cr_expect_str_eq(err.msg, "cannot open config file: No such file or directory");
  cr_expect_str_eq(err.file, "/nonexistent_tsr_dir/run.json");
  /* a folder opens on Linux but cannot be read */
  char *dir = tsr_test_tmpdir("cfg");
  cr_assert_not_null(dir);
  cr_assert_lt(tsr_config_load(dir, &c, &err), 0);
  cr_expect(strstr(err.msg, "Is a directory") != NULL, "got \"%s\"", err.msg);
}

/* --- date formats ------------------------------------------------------------ */

static void date_formats(const char *format_json, tsr_config **c, char *msg, size_t cap, int *rc) {
  char cols[512];
  snprintf(cols, sizeof cols, ", \"seen\": {\"kind\": \"date\", \"format\": %s}", format_json);
  *rc = parse1(cols, "", c, msg, cap);
}

Test(config, date_format_with_a_time_part_compiles_to_the_date_layout) {
  static const struct {
    const char *format;
    const char *parts; /* the date layout: Y, y, M, D and literals */
  } ok[] = {
      {"YYYY-MM-DD HH:MM:SS", "Y-M-D"},
      {"YYYY-MM-DD HH:MM", "Y-M-D"},
      {"YYYY-MM-DD HH", "Y-M-D"},
      {"YYYY-MM-DDTHH:MM:SS", "Y-M-D"},
      {"YYYY-MM-DDTHH:MM:SSZ", "Y-M-D"},
      {"YYYY-MM-DDTHH:MM:SS.SSS", "Y-M-D"},
      {"YYYY-MM-DDTHH:MM:SS.SSSZ", "Y-M-D"},
      {"YYYY-MM-DDTHH:MM:SS,SSSSSS+HH:MM", "Y-M-D"},
      {"YYYY-MM-DDTHH:MM:SS-HHMM", "Y-M-D"},
      {"YYYY-MM-DD HH:MM:SS+HH", "Y-M-D"},
      {"YYYY-MM-DD hh:mm:ss", "Y-M-D"},
      {"DD/MM/YYYY HH:MM", "D/M/Y"},
      {"DD.MM.YY HH:MM:SS", "D.M.y"},
      {"YYYYMMDDTHHMMSS", "YMD"},
      {"YYYYMMDD HHMMSS.SSSSSSSSS", "YMD"},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char fj[128], msg[600];
    snprintf(fj, sizeof fj, "\"%s\"", ok[i].format);
    tsr_config *c = NULL;
    int rc;
    date_formats(fj, &c, msg, sizeof msg, &rc);
    cr_expect_eq(rc, 0, "case %zu (%s): %s", i, ok[i].format, msg);
    if (rc) continue;
    const tsr_date_format *f = &c->sources[0].columns[2].formats[0];
    cr_expect_str_eq(f->text, ok[i].format);
    cr_expect_eq(f->has_time, 1, "case %zu", i);
    cr_expect_eq(f->n, strlen(ok[i].parts), "case %zu (%s): %u parts", i, ok[i].format, f->n);
    for (size_t k = 0; k < strlen(ok[i].parts) && k < f->n; k++)
      cr_expect_eq(f->part[k], (uint8_t)ok[i].parts[k], "case %zu part %zu", i, k);
    tsr_config_free(c);
  }
}

Test(config, date_format_without_time_is_unchanged) {
  tsr_config *c = NULL;
  char msg[600];
  int rc;
  date_formats("[\"DD/MM/YYYY\", \"YYYY-MM-DD\", \"DD MM YY\"]", &c, msg, sizeof msg, &rc);
  cr_assert_eq(rc, 0, "%s", msg);
  const tsr_column_cfg *col = &c->sources[0].columns[2];
  cr_assert_eq(col->n_formats, 3);
  static const char *const want[] = {"D/M/Y", "Y-M-D", "D M y"};
  for (int i = 0; i < 3; i++) {
    cr_expect_eq(col->formats[i].has_time, 0);
    cr_expect_eq(col->formats[i].n, 5);
    for (int k = 0; k < 5; k++) cr_expect_eq(col->formats[i].part[k], (uint8_t)want[i][k], "format %d part %d", i, k);
  }
  /* the default */
  cr_expect_eq(c->sources[0].columns[1].n_formats, 1);
  cr_expect_str_eq(c->sources[0].columns[1].formats[0].text, "YYYY-MM-DD");
  cr_expect_eq(c->sources[0].columns[1].formats[0].has_time, 0);
  tsr_config_free(c);
}

Test(config, date_format_with_a_bad_time_part_is_refused) {
  static const struct {
    const char *format, *want;
  } bad[] = {
      {"YYYY-MM-DD HH:MM:SS junk", "expected a time part such as"},
      {"YYYY-MM-DD HH:SS", "expected a time part such as"},
      {"YYYY-MM-DD HH:MM:SS.", "expected a time part such as"},
      {"YYYY-MM-DDTHH:MM:SS+", "expected a time part such as"},
      {"YYYY-MM-DD HH:MM:SS.SSSSSSSSSS", "expected a time part such as"}, /* 10 fraction digits */
      {"YYYY-MM-DD H:MM", "expected a time part such as"},
      {"YYYY-MM-DD HH:MM:SS HH", "expected a time part such as"},
      {"HH:MM DD/MM/YYYY", "expected YYYY, YY, MM, DD and separators"}, /* time first: not a date layout */
      {"YYYY-MM HH:MM", "expected YYYY, YY, MM, DD and separators"},     /* no day yet: H is not a part */
      {"YYYY-MM-DDTHH:MM:SS.SSSSSS+HH:MM:SS", "expected a time part such as"},
      {"YYYY-MM-DD HH:MM:SS.SSSSSSSSS+HH:MM (local time zone)", "is too long"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char fj[128], msg[600];
    snprintf(fj, sizeof fj, "\"%s\"", bad[i].format);
    tsr_config *c = NULL;
    int rc;
    date_formats(fj, &c, msg, sizeof msg, &rc);
    cr_expect_eq(rc, TSR_ECONFIG, "case %zu (%s) should fail", i, bad[i].format);
    cr_expect(strstr(msg, "sources[0].columns.seen.format: date format") == msg, "case %zu: %s", i, msg);
    cr_expect(strstr(msg, bad[i].want) != NULL, "case %zu: got \"%s\", want \"%s\"", i, msg, bad[i].want);
  }
  /* in a list, the error names the entry */
  tsr_config *c = NULL;
  char msg[600];
  int rc;
  date_formats("[\"YYYY-MM-DD\", \"YYYY-MM-DD HH:MM:SS junk\"]", &c, msg, sizeof msg, &rc);
  cr_expect_eq(rc, TSR_ECONFIG);
  cr_expect(strstr(msg, "sources[0].columns.seen.format[1]: date format") == msg, "%s", msg);
}

/* --- unknown keys and typed getters carry their path ------------------------ */

typedef struct err_case {
  const char *columns, *root, *want;
} err_case;

static void expect_errors(const err_case *cases, size_t n) {
  for (size_t i = 0; i < n; i++) {
    tsr_config *c = NULL;
    char msg[600];
    int rc = parse1(cases[i].columns, cases[i].root, &c, msg, sizeof msg);
    cr_expect_eq(rc, TSR_ECONFIG, "case %zu should fail", i);
    cr_expect_str_eq(msg, cases[i].want, "case %zu", i);
    tsr_config_free(c);
  }
}

Test(config, unknown_keys_name_their_path_in_every_section) {
  static const err_case cases[] = {
      {"", ", \"linkk\": {}", "linkk: unknown key (expected one of: version, sources, link, probabilistic, episodes, output)"},
      {", \"x\": {\"kind\": \"text\", \"fromat\": 1}", "",
       "sources[0].columns.x.fromat: unknown key (expected one of: field, kind, format, required, min, max)"},
      {"", ", \"output\": {\"zstd\": 3}", "output.zstd: unknown key (expected one of: csv, row_group_rows, zstd_level, match_rates_by)"},
      {"", ", \"link\": {\"mode\": \"dedupe\", \"rules\": \"hesid\", \"max_block\": 5}",
       "link.max_block: unknown key (expected one of: mode, sources, rules, max_block_size, one_to_one, "
       "max_cluster_size, nhs_veto)"},
      {"", ", \"link\": {\"mode\": \"dedupe\", \"rules\": [{\"name\": \"a\", \"feilds\": [\"dob\"]}]}",
       "link.rules[0].feilds: unknown key (expected one of: name, fields, sources, merge)"},
  };
  expect_errors(cases, sizeof cases / sizeof cases[0]);
  /* a source-level key, in the second source */
  char text[4096];
  snprintf(text, sizeof text,
           "{\"sources\": [{\"name\": \"a\", \"path\": \"a.csv\", \"id\": \"i\", \"columns\": {\"i\": {\"kind\": "
           "\"text\"}}}, {\"name\": \"b\", \"path\": \"b.csv\", \"id\": \"i\", \"colums\": {}}]}");
  tsr_config *c = NULL;
  char msg[600];
  cr_expect_eq(parse_text(text, strlen(text), &c, msg, sizeof msg), TSR_ECONFIG);
  cr_expect_str_eq(msg,
                   "sources[1].colums: unknown key (expected one of: name, path, delimiter, quote, header, trim, "
                   "null_tokens, id, columns, max_reject_share, event_dates, origin)");
}

Test(config, typed_getter_errors_carry_the_path) {
  static const err_case cases[] = {
      /* string */
      {", \"x\": {\"kind\": 3}", "", "sources[0].columns.x.kind: expected a string, got an integer"},
      {", \"x\": {\"field\": \"y\"}", "", "sources[0].columns.x.kind: required key is missing"},
      /* bool */
      {", \"x\": {\"kind\": \"text\", \"required\": \"yes\"}", "",
       "sources[0].columns.x.required: expected true or false, got a string"},
      {"", ", \"output\": {\"csv\": 1}", "output.csv: expected true or false, got an integer"},
      /* uint with range, both edges */
      {"", ", \"output\": {\"zstd_level\": 20}", "output.zstd_level: expected an integer from 0 to 19"},
      {"", ", \"output\": {\"zstd_level\": -1}", "output.zstd_level: expected an integer from 0 to 19"},
      {"", ", \"output\": {\"row_group_rows\": 1023}", "output.row_group_rows: expected an integer from 1024 to 1073741824"},
      {"", ", \"output\": {\"row_group_rows\": 1024.0}", "output.row_group_rows: expected an integer from 1024 to 1073741824"},
      {"", ", \"link\": {\"mode\": \"dedupe\", \"rules\": \"hesid\", \"max_block_size\": 1}",
       "link.max_block_size: expected an integer from 2 to 100000000"},
      /* dates */
      {", \"x\": {\"kind\": \"date\", \"min\": \"1990-02-30\"}", "",
       "sources[0].columns.x.min: expected a date as \"YYYY-MM-DD\", got \"1990-02-30\""},
      {", \"x\": {\"kind\": \"date\", \"format\": 7}", "",
       "sources[0].columns.x.format: expected a date format such as \"DD/MM/YYYY\", or a list of 1 to 4 of them"},
      {", \"x\": {\"kind\": \"text\", \"format\": \"DD/MM/YYYY\"}", "",
       "sources[0].columns.x: \"format\" applies to dates only (kind is text)"},
      /* root */
      {"", ", \"version\": 2", "version: expected 1 (the only version so far)"},
  };
  expect_errors(cases, sizeof cases / sizeof cases[0]);
  /* share and single character live on the source object */
  static const struct {
    const char *key, *want;
  } src[] = {
      {"\"max_reject_share\": 1.001", "sources[0].max_reject_share: expected a number in [0, 1], got 1.001"},
      {"\"max_reject_share\": -0.01", "sources[0].max_reject_share: expected a number in [0, 1], got -0.01"},
      {"\"max_reject_share\": \"0.1\"", "sources[0].max_reject_share: expected a number in [0, 1], got a string"},
      {"\"delimiter\": \"ab\"", "sources[0].delimiter: expected a single ASCII character, got \"ab\""},
      {"\"delimiter\": \"\"", "sources[0].delimiter: expected a single ASCII character, got \"\""},
      {"\"quote\": \"\\n\"", "sources[0].quote: expected a single ASCII character or \"\", got \"\n\""},
      {"\"header\": null", "sources[0].header: expected true or false, got null"},
      {"\"name\": \"g p\"", "sources[0].name: expected letters, digits, '_' or '-', got \"g p\""},
      {"\"null_tokens\": [\"\", 0]", "sources[0].null_tokens[1]: expected a string, got an integer"},
      {"\"event_dates\": [\"id\"]", "sources[0].event_dates[0]: field \"id\" is a local_id, expected a date"},
  };
  for (size_t i = 0; i < sizeof src / sizeof src[0]; i++) {
    char text[4096];
    snprintf(text, sizeof text,
             "{\"sources\": [{\"name\": \"gp\", \"path\": \"gp.csv\", \"id\": \"id\", %s, \"columns\": {\"id\": "
             "{\"kind\": \"local_id\"}}}]}",
             src[i].key);
    /* "name" twice would be a duplicate key: replace the name instead */
    if (strncmp(src[i].key, "\"name\"", 6) == 0)
      snprintf(text, sizeof text,
               "{\"sources\": [{%s, \"path\": \"gp.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": "
               "\"local_id\"}}}]}",
               src[i].key);
    tsr_config *c = NULL;
    char msg[600];
    cr_expect_eq(parse_text(text, strlen(text), &c, msg, sizeof msg), TSR_ECONFIG, "case %zu should fail", i);
    cr_expect_str_eq(msg, src[i].want, "case %zu", i);
  }
}

Test(config, defaults) {
  tsr_config *c = NULL;
  char msg[600];
  cr_assert_eq(parse1("", "", &c, msg, sizeof msg), 0, "%s", msg);
  const tsr_source_cfg *s = &c->sources[0];
  cr_expect_eq(s->delimiter, ',');
  cr_expect_eq(s->quote, '"');
  cr_expect_eq(s->header, 1);
  cr_expect_eq(s->trim, 1);
  cr_expect_eq(s->max_reject_share, 0.01);
  cr_expect_eq(s->n_null_tokens, 1);
  cr_expect_str_eq(s->null_tokens[0], "");
  cr_expect_eq(s->columns[0].required, 1, "the id column is always required");
  cr_expect_eq(s->n_event_dates, 0, "dob is not an event date");
  cr_expect_eq(c->link.present, 0);
  cr_expect_eq(c->link.mode, TSR_MODE_DEDUPE);
  cr_expect_eq(c->link.source_mask, 1u);
  cr_expect_eq(c->link.max_block_size, 1000);
  cr_expect_eq(c->link.max_cluster_size, 500);
  cr_expect_eq(c->output.csv, 0);
  cr_expect_eq(c->output.row_group_rows, 1048576u);
  cr_expect_eq(c->output.zstd_level, 1);
  tsr_config_free(c);
  /* the edges of the ranges are accepted */
  static const char two[] = "{\"sources\": [{\"name\": \"a\", \"path\": \"a\", \"id\": \"i\", \"max_reject_share\": 1, "
                          "\"columns\": {\"i\": {\"kind\": \"text\"}}}, {\"name\": \"b\", \"path\": \"b\", \"id\": \"i\", "
                          "\"max_reject_share\": 0.0, \"columns\": {\"i\": {\"kind\": \"text\"}}}]}";
  cr_assert_eq(parse_text(two, strlen(two), &c, msg, sizeof msg), 0, "%s", msg);
  cr_expect_eq(c->sources[0].max_reject_share, 1.0);
  cr_expect_eq(c->sources[1].max_reject_share, 0.0);
  cr_expect_eq(c->link.mode, TSR_MODE_LINK, "two sources: link by default");
  cr_expect_eq(c->link.source_mask, 3u);
  tsr_config_free(c);
  cr_assert_eq(parse1("", ", \"version\": 1, \"output\": {\"zstd_level\": 19, \"row_group_rows\": 1024}", &c, msg, sizeof msg), 0,
               "%s", msg);
  cr_expect_eq(c->output.zstd_level, 19);
  cr_expect_eq(c->output.row_group_rows, 1024u);
  tsr_config_free(c);
}

/* --- presets ------------------------------------------------------------------ */

Test(config, presets_parse) {
  const char *const *names = tsr_config_presets();
  static const struct {
    const char *name;
    uint32_t n_rules;
    const char *first, *last;
  } want[] = {{"hesid", 3, "hesid_1", "hesid_3"}, {"cprd_hes", 8, "cprd_1", "cprd_8"}, {"names", 6, "names_1", "names_6"}};
  for (size_t i = 0; i < 3; i++) {
    cr_assert_not_null(names[i]);
    cr_assert_str_eq(names[i], want[i].name);
    char root[200], msg[600];
    snprintf(root, sizeof root, ", \"link\": {\"mode\": \"link\", \"rules\": \"%s\"}", names[i]);
    tsr_config *c = NULL;
    cr_assert_eq(parse2(root, &c, msg, sizeof msg), 0, "%s: %s", names[i], msg);
    cr_expect_str_eq(c->link.preset, want[i].name);
    cr_expect_eq(c->link.n_rules, want[i].n_rules, "%s: %u rules", names[i], c->link.n_rules);
    cr_expect_str_eq(c->link.rules[0].name, want[i].first);
    cr_expect_str_eq(c->link.rules[c->link.n_rules - 1].name, want[i].last);
    tsr_config_free(c);
  }
  cr_expect_null(names[3]);
  /* a preset runs only on the sources taking part */
  {
    tsr_config *c = NULL;
    char msg[600];
    cr_assert_eq(parse2(", \"link\": {\"sources\": [\"hes\"], \"mode\": \"dedupe\", \"rules\": \"hesid\"}", &c, msg,
                        sizeof msg),
                 0, "%s", msg);
    cr_assert_eq(c->link.n_rules, 3);
    for (uint32_t i = 0; i < 3; i++) cr_expect_eq(c->link.rules[i].source_mask, 2u, "rule %u", i);
    tsr_config_free(c);
  }
  /* hesid_2 needs provider and local_patient_id: hes only; the names steps
   * need names: gp only */
  tsr_config *c = NULL;
  char msg[600];
  cr_assert_eq(parse2(", \"link\": {\"mode\": \"link_and_dedupe\", \"rules\": \"hesid\"}", &c, msg, sizeof msg), 0,
               "%s", msg);
  cr_expect_eq(c->link.rules[0].source_mask, 3u);
  cr_expect_eq(c->link.rules[1].source_mask, 2u);
  cr_expect_eq(c->link.rules[1].parts[3].kind, TSR_KIND_CODE);
  cr_expect_eq(c->link.rules[1].parts[4].kind, TSR_KIND_LOCAL_ID);
  cr_assert_eq(tsr_config_use_preset(c, "names", NULL), 0);
  cr_expect_eq(c->link.rules[0].source_mask, 1u);
  cr_expect_str_eq(c->link.rules[1].parts[0].text, "soundex(given_name)");
  cr_expect_eq(c->link.rules[1].parts[0].fn, TSR_KEYFN_SOUNDEX);
  tsr_error err;
  cr_expect_eq(tsr_config_use_preset(c, "hes_id", &err), TSR_ECONFIG);
  cr_expect_str_eq(err.msg, "--rules: unknown preset \"hes_id\" (expected hesid, cprd_hes or names)");
  tsr_config_free(c);
  /* a source set no step fits */
  cr_assert_eq(parse1("", "", &c, msg, sizeof msg), 0, "%s", msg);
  cr_expect_eq(tsr_config_use_preset(c, "cprd_hes", &err), TSR_ECONFIG);
  cr_expect_str_eq(err.msg, "--rules: preset \"cprd_hes\": no step can run, the sources lack the fields it needs");
  tsr_config_free(c);
}

/* --rules without a "link" section links every source with every other and
 * within each, and keeps the "output" section as configured (it used to be
 * reset to its defaults). */
Test(config, preset_without_link_keeps_the_output_section) {
  tsr_config *c = NULL;
  char msg[600];
  cr_assert_eq(parse2(", \"output\": {\"csv\": true, \"zstd_level\": 7, \"row_group_rows\": 4096}", &c, msg, sizeof msg),
               0, "%s", msg);
  cr_assert_eq(tsr_config_use_preset(c, "hesid", NULL), 0);
  cr_expect_eq(c->link.present, 1);
  cr_expect_eq(c->link.mode, TSR_MODE_BOTH);
  cr_expect_eq(c->link.n_rules, 3);
  cr_expect_eq(c->output.csv, 1);
  cr_expect_eq(c->output.zstd_level, 7);
  cr_expect_eq(c->output.row_group_rows, 4096u);
  tsr_config_free(c);
}

Test(config, match_rates_by_names_code_fields) {
  tsr_config *c = NULL;
  char msg[600];
  cr_assert_eq(parse2(", \"output\": {\"match_rates_by\": [\"provider\"]}", &c, msg, sizeof msg), 0, "%s", msg);
  cr_expect_eq(c->output.match_rates_set, 1);
  cr_assert_eq(c->output.n_match_rates_by, 1u);
  cr_expect_str_eq(c->output.match_rates_by[0], "provider");
  tsr_config_free(c);
  c = NULL;
  cr_assert_eq(parse2(", \"output\": {\"match_rates_by\": []}", &c, msg, sizeof msg), 0, "%s", msg);
  cr_expect_eq(c->output.match_rates_set, 1);
  cr_expect_eq(c->output.n_match_rates_by, 0u);
  tsr_config_free(c);
  c = NULL;
  cr_assert_eq(parse2("", &c, msg, sizeof msg), 0, "%s", msg);
  cr_expect_eq(c->output.match_rates_set, 0);
  tsr_config_free(c);
  c = NULL;
  cr_expect_neq(parse2(", \"output\": {\"match_rates_by\": [\"provider\", \"nope\"]}", &c, msg, sizeof msg), 0);
  cr_expect(strstr(msg, "output.match_rates_by[1]") && strstr(msg, "unknown field"), "%s", msg);
  cr_expect_neq(parse2(", \"output\": {\"match_rates_by\": [\"dob\"]}", &c, msg, sizeof msg), 0);
  cr_expect(strstr(msg, "output.match_rates_by[0]") && strstr(msg, "not a code"), "%s", msg);
  cr_expect_neq(parse2(", \"output\": {\"match_rates_by\": \"provider\"}", &c, msg, sizeof msg), 0);
  cr_expect(strstr(msg, "output.match_rates_by") != NULL, "%s", msg);
}

/* --- norm() and the kinds each key function accepts ---------------------------- */

Test(config, norm_is_accepted_for_text_local_id_and_code) {
  tsr_config *c = NULL;
  char msg[600];
  cr_assert_eq(parse1(", \"city\": {\"kind\": \"text\"}, \"practice\": {\"kind\": \"code\"}",
                      ", \"link\": {\"rules\": [{\"name\": \"r\", \"fields\": [\"norm(city)\", \"norm(id)\", "
                      "\"norm(practice)\", \"dob\"]}]}",
                      &c, msg, sizeof msg),
               0, "%s", msg);
  const tsr_rule_cfg *r = &c->link.rules[0];
  cr_assert_eq(r->n_parts, 4);
  cr_expect_eq(r->parts[0].fn, TSR_KEYFN_NORM);
  cr_expect_str_eq(r->parts[0].field, "city");
  cr_expect_str_eq(r->parts[0].text, "norm(city)");
  cr_expect_eq(r->parts[0].kind, TSR_KIND_TEXT);
  cr_expect_eq(r->parts[1].kind, TSR_KIND_LOCAL_ID);
  cr_expect_eq(r->parts[2].kind, TSR_KIND_CODE);
  cr_expect_str_eq(tsr_key_fn_name(TSR_KEYFN_NORM), "norm");
  tsr_config_free(c);
}

Test(config, norm_is_refused_for_dates_and_names) {
  static const err_case cases[] = {
      {"", ", \"link\": {\"rules\": [{\"name\": \"r\", \"fields\": [\"norm(dob)\"]}]}",
       "link.rules[0].fields[0]: norm() does not apply to field \"dob\" (a date)"},
      {", \"gn\": {\"field\": \"given_name\", \"kind\": \"given_name\"}",
       ", \"link\": {\"rules\": [{\"name\": \"r\", \"fields\": [\"dob\", \"norm(given_name)\"]}]}",
       "link.rules[0].fields[1]: norm() does not apply to field \"given_name\" (a given_name)"},
      /* free text itself is still not a key */
      {", \"city\": {\"kind\": \"text\"}", ", \"link\": {\"rules\": [{\"name\": \"r\", \"fields\": [\"city\"]}]}",
       "link.rules[0].fields[0]: field \"city\" is free text; it cannot be part of an exact rule"},
      /* the list of functions names norm */
      {"", ", \"link\": {\"rules\": [{\"name\": \"r\", \"fields\": [\"normal(dob)\"]}]}",
       "link.rules[0].fields[0]: unknown function in \"normal(dob)\" (expected soundex, nysiis, year, year_month, "
       "district, sector, initial, first3 or norm)"},
  };
  expect_errors(cases, sizeof cases / sizeof cases[0]);
}

/* --- edges: every window and list of the parser, tested from both sides ------ */

/* One source with header false and the given columns. */
static int parse_positional(const char *columns, tsr_config **c, char *msg, size_t cap) {
  char text[2048];
  snprintf(text, sizeof text,
           "{\"sources\": [{\"name\": \"gp\", \"path\": \"gp.csv\", \"header\": false, \"id\": \"1\", \"columns\": "
           "{\"1\": {\"kind\": \"local_id\"}%s}}]}",
           columns);
  return parse_text(text, strlen(text), c, msg, cap);
}

Test(config_edges, date_window_defaults_and_edges) {
  tsr_config *c = NULL;
  char msg[600];
  /* DOMAIN.md: no date before 1895; the upper end defaults far out */
  cr_assert_eq(parse1("", "", &c, msg, sizeof msg), 0, "%s", msg);
  const tsr_column_cfg *dob = &c->sources[0].columns[1];
  cr_assert_str_eq(dob->field, "dob");
  cr_expect_eq(dob->min_date, -27393, "1895-01-01");
  cr_expect_eq(dob->max_date, 47846, "2100-12-31");
  cr_expect_eq(dob->n_formats, 1);
  cr_expect_str_eq(dob->formats[0].text, "YYYY-MM-DD");
  tsr_config_free(c);
  /* a one-day window is a window */
  cr_assert_eq(parse1(", \"x\": {\"kind\": \"date\", \"min\": \"2000-01-01\", \"max\": \"2000-01-01\"}", "", &c, msg,
                      sizeof msg),
               0, "%s", msg);
  cr_expect_eq(c->sources[0].columns[2].min_date, 10957);
  cr_expect_eq(c->sources[0].columns[2].max_date, 10957);
  tsr_config_free(c);
  static const err_case cases[] = {
      {", \"x\": {\"kind\": \"date\", \"min\": \"2000-01-02\", \"max\": \"2000-01-01\"}", "",
       "sources[0].columns.x: \"min\" is after \"max\""},
      /* exactly YYYY-MM-DD: no short fields, no trailing text */
      {", \"x\": {\"kind\": \"date\", \"min\": \"1990-1-01\"}", "",
       "sources[0].columns.x.min: expected a date as \"YYYY-MM-DD\", got \"1990-1-01\""},
      {", \"x\": {\"kind\": \"date\", \"max\": \"1990-01-1\"}", "",
       "sources[0].columns.x.max: expected a date as \"YYYY-MM-DD\", got \"1990-01-1\""},
      {", \"x\": {\"kind\": \"date\", \"max\": \"1990-01-01Z\"}", "",
       "sources[0].columns.x.max: expected a date as \"YYYY-MM-DD\", got \"1990-01-01Z\""},
      /* min and max belong to dates, each on its own */
      {", \"x\": {\"kind\": \"text\", \"max\": \"2000-01-01\"}", "",
       "sources[0].columns.x: \"min\"/\"max\" apply to dates only (kind is text)"},
      {", \"x\": {\"kind\": \"code\", \"min\": \"2000-01-01\"}", "",
       "sources[0].columns.x: \"min\"/\"max\" apply to dates only (kind is code)"},
  };
  expect_errors(cases, sizeof cases / sizeof cases[0]);
}

Test(config_edges, date_format_needs_each_part_once) {
  static const char *const bad[] = {"YYYY-MM", "MM/DD", "YYYY-DD", "YYYY-MM-DD-DD", "DD/MM/YYYY/YY", "YYYY-MM-MM-DD"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char fj[64], msg[600];
    snprintf(fj, sizeof fj, "\"%s\"", bad[i]);
    tsr_config *c = NULL;
    int rc;
    date_formats(fj, &c, msg, sizeof msg, &rc);
    cr_expect_eq(rc, TSR_ECONFIG, "%s should fail", bad[i]);
    cr_expect(strstr(msg, "must hold the year, month and day once each") != NULL, "%s: %s", bad[i], msg);
  }
  /* a zone letter in either case, like every other letter of a time part */
  static const char *const zones[] = {"YYYY-MM-DDTHH:MM:SSz", "YYYY-MM-DDthh:mm:ssZ", "YYYY-MM-DD hh:mmz"};
  for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
    char fj[64], msg[600];
    snprintf(fj, sizeof fj, "\"%s\"", zones[i]);
    tsr_config *c = NULL;
    int rc;
    date_formats(fj, &c, msg, sizeof msg, &rc);
    if (i == 1) {
      /* a lower-case 't' is a separator, not the ISO 8601 time marker */
      cr_expect_eq(rc, TSR_ECONFIG, "%s", zones[i]);
      continue;
    }
    cr_expect_eq(rc, 0, "%s: %s", zones[i], msg);
    if (!rc) cr_expect_eq(c->sources[0].columns[2].formats[0].has_time, 1);
    tsr_config_free(c);
  }
}

Test(config_edges, single_characters_and_names) {
  /* CR and LF end rows: neither is a delimiter or a quote */
  static const struct {
    const char *key, *want;
  } bad[] = {
      {"\"delimiter\": \"\\r\"", "sources[0].delimiter: expected a single ASCII character, got \"\r\""},
      {"\"quote\": \"\\r\"", "sources[0].quote: expected a single ASCII character or \"\", got \"\r\""},
      {"\"delimiter\": \"\\n\"", "sources[0].delimiter: expected a single ASCII character, got \"\n\""},
      {"\"delimiter\": \"\\u00e9\"", "sources[0].delimiter: expected a single ASCII character, got \"\xc3\xa9\""},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[1024], msg[600];
    snprintf(text, sizeof text,
             "{\"sources\": [{\"name\": \"gp\", \"path\": \"gp.csv\", \"id\": \"id\", %s, \"columns\": {\"id\": "
             "{\"kind\": \"local_id\"}}}]}",
             bad[i].key);
    tsr_config *c = NULL;
    cr_expect_eq(parse_text(text, strlen(text), &c, msg, sizeof msg), TSR_ECONFIG, "case %zu", i);
    cr_expect_str_eq(msg, bad[i].want, "case %zu", i);
  }
  /* letters, digits, '_' and '-' in source, field and rule names */
  static const char ok[] =
      "{\"sources\": [{\"name\": \"gp-2_b\", \"path\": \"gp.csv\", \"delimiter\": \"\\t\", \"quote\": \"\", "
      "\"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"local_id\"}, \"d\": {\"field\": \"date-of_birth\", "
      "\"kind\": \"date\"}}}], \"link\": {\"rules\": [{\"name\": \"by-dob_1\", \"fields\": [\"date-of_birth\", "
      "\"year(date-of_birth)\"]}]}}";
  tsr_config *c = NULL;
  char msg[600];
  cr_assert_eq(parse_text(ok, strlen(ok), &c, msg, sizeof msg), 0, "%s", msg);
  cr_expect_str_eq(c->sources[0].name, "gp-2_b");
  cr_expect_eq(c->sources[0].delimiter, '\t');
  cr_expect_eq(c->sources[0].quote, '\0');
  cr_expect_str_eq(c->link.rules[0].name, "by-dob_1");
  cr_expect_str_eq(c->link.rules[0].parts[1].field, "date-of_birth");
  cr_expect_eq(c->link.rules[0].parts[1].fn, TSR_KEYFN_YEAR);
  tsr_config_free(c);
}

Test(config_edges, columns_by_position_and_duplicates) {
  tsr_config *c = NULL;
  char msg[600];
  cr_assert_eq(parse_positional(", \"2\": {\"kind\": \"text\"}, \"100000\": {\"kind\": \"code\"}", &c, msg, sizeof msg),
               0, "%s", msg);
  cr_expect_eq(c->sources[0].n_columns, 3);
  tsr_config_free(c);
  static const char *const bad[] = {"0", "100001", "-1", "2x", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char cols[128], want[200];
    snprintf(cols, sizeof cols, ", \"%s\": {\"kind\": \"text\"}", bad[i]);
    int rc = parse_positional(cols, &c, msg, sizeof msg);
    cr_expect_eq(rc, TSR_ECONFIG, "column \"%s\"", bad[i]);
    if (!bad[i][0]) continue; /* an empty name has its own message */
    snprintf(want, sizeof want,
             "sources[0].columns.%s: with \"header\": false, columns are named by position (\"1\", \"2\", ...)", bad[i]);
    cr_expect_str_eq(msg, want);
  }
  /* a field mapped twice, from the very next column and from one further on */
  static const err_case dup[] = {
      {", \"x\": {\"kind\": \"text\"}, \"y\": {\"field\": \"x\", \"kind\": \"text\"}", "",
       "sources[0].columns.y: field \"x\" is already mapped from column \"x\""},
      {", \"d2\": {\"field\": \"dob\", \"kind\": \"date\"}", "",
       "sources[0].columns.d2: field \"dob\" is already mapped from column \"dob\""},
      {", \"x\": {\"kind\": \"text\"}, \"z\": {\"kind\": \"text\"}, \"y\": {\"field\": \"id\", \"kind\": \"text\"}", "",
       "sources[0].columns.y: field \"id\" is already mapped from column \"id\""},
  };
  expect_errors(dup, sizeof dup / sizeof dup[0]);
}

Test(config_edges, key_functions_and_their_kinds) {
  tsr_config *c = NULL;
  char msg[600];
  /* initial() and first3() take local ids as well as names */
  cr_assert_eq(parse1("", ", \"link\": {\"rules\": [{\"name\": \"r\", \"fields\": [\"first3(id)\", \"initial(id)\", "
                          "\"dob\"]}]}",
                      &c, msg, sizeof msg),
               0, "%s", msg);
  cr_expect_eq(c->link.rules[0].parts[0].fn, TSR_KEYFN_FIRST3);
  cr_expect_eq(c->link.rules[0].parts[1].fn, TSR_KEYFN_INITIAL);
  cr_expect_eq(c->link.rules[0].parts[1].kind, TSR_KIND_LOCAL_ID);
  tsr_config_free(c);
  static const err_case cases[] = {
      {"", ", \"link\": {\"rules\": [{\"name\": \"r\", \"fields\": [\"first3(dob)\"]}]}",
       "link.rules[0].fields[0]: first3() does not apply to field \"dob\" (a date)"},
      {"", ", \"link\": {\"rules\": [{\"name\": \"r\", \"fields\": [\"year(id)\"]}]}",
       "link.rules[0].fields[0]: year() does not apply to field \"id\" (a local_id)"},
      /* a function needs a field inside its brackets */
      {"", ", \"link\": {\"rules\": [{\"name\": \"r\", \"fields\": [\"year()\"]}]}",
       "link.rules[0].fields[0]: expected fn(field), got \"year()\""},
      {"", ", \"link\": {\"rules\": [{\"name\": \"r\", \"fields\": [\"year(dob\"]}]}",
       "link.rules[0].fields[0]: expected fn(field), got \"year(dob\""},
      {"", ", \"link\": {\"rules\": [{\"name\": \"r\", \"fields\": [\"year( )\"]}]}",
       "link.rules[0].fields[0]: expected a field name inside \"year( )\""},
  };
  expect_errors(cases, sizeof cases / sizeof cases[0]);
}

/* Three sources with nhs_number and dob each; %s adds the link section. */
static int parse3(const char *link, tsr_config **c, char *msg, size_t cap) {
  char text[4096];
  snprintf(text, sizeof text,
           "{\"sources\": ["
           "{\"name\": \"a\", \"path\": \"a.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"local_id\"}, "
           "\"nhs_number\": {\"kind\": \"nhs_number\"}}},"
           "{\"name\": \"b\", \"path\": \"b.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"local_id\"}, "
           "\"nhs_number\": {\"kind\": \"nhs_number\"}}},"
           "{\"name\": \"c\", \"path\": \"c.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"local_id\"}, "
           "\"nhs_number\": {\"kind\": \"nhs_number\"}}}], \"link\": %s}",
           link);
  return parse_text(text, strlen(text), c, msg, cap);
}

Test(config_edges, one_to_one_needs_exactly_two_sources) {
  tsr_config *c = NULL;
  char msg[600];
  cr_expect_eq(parse3("{\"mode\": \"link\", \"one_to_one\": true, \"rules\": [{\"name\": \"n\", \"fields\": "
                      "[\"nhs_number\"]}]}",
                      &c, msg, sizeof msg),
               TSR_ECONFIG);
  cr_expect_str_eq(msg, "link.one_to_one: one-to-one needs \"mode\": \"link\" with exactly two sources");
  /* two of the three taking part is fine */
  cr_assert_eq(parse3("{\"mode\": \"link\", \"sources\": [\"a\", \"c\"], \"one_to_one\": true, \"rules\": [{\"name\": "
                      "\"n\", \"fields\": [\"nhs_number\"]}]}",
                      &c, msg, sizeof msg),
               0, "%s", msg);
  cr_expect_eq(c->link.one_to_one, 1);
  cr_expect_eq(c->link.source_mask, 5u);
  cr_expect_eq(c->link.rules[0].source_mask, 5u);
  tsr_config_free(c);
  /* three sources link by default; --rules without a link section links
   * all of them with each other and within each */
  cr_assert_eq(parse3("{\"rules\": [{\"name\": \"n\", \"fields\": [\"nhs_number\"]}]}", &c, msg, sizeof msg), 0, "%s",
               msg);
  cr_expect_eq(c->link.mode, TSR_MODE_LINK);
  cr_expect_eq(c->link.source_mask, 7u);
  tsr_config_free(c);
}

/* The preset table of docs/config.md ("Presets"), step by step. */
Test(config_edges, presets_match_the_documented_steps) {
  static const struct {
    const char *preset, *steps[8];
    const char *merge; /* one flag per step */
  } want[] = {
      {"hesid",
       {"sex,dob,nhs_number", "sex,dob,postcode,provider,local_patient_id", "sex,dob,postcode"},
       "000"},
      {"cprd_hes",
       {"nhs_number,sex,dob,postcode", "nhs_number,sex,dob", "nhs_number,dob,postcode", "nhs_number,dob",
        "nhs_number,postcode", "nhs_number,sex,year(dob)", "nhs_number,sex", "nhs_number"},
       "01111111"},
      {"names",
       {"given_name,family_name,dob,sex,postcode",
        "soundex(given_name),soundex(family_name),dob,sex,postcode",
        "initial(given_name),first3(family_name),dob,sex,postcode", "initial(given_name),first3(family_name),dob,sex",
        "given_name,family_name,dob", "given_name,family_name,year_month(dob)"},
       "000000"},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char root[200], msg[600];
    snprintf(root, sizeof root, ", \"link\": {\"mode\": \"link_and_dedupe\", \"rules\": \"%s\"}", want[i].preset);
    tsr_config *c = NULL;
    cr_assert_eq(parse2(root, &c, msg, sizeof msg), 0, "%s: %s", want[i].preset, msg);
    cr_assert_eq(c->link.n_rules, strlen(want[i].merge), "%s", want[i].preset);
    for (uint32_t k = 0; k < c->link.n_rules; k++) {
      const tsr_rule_cfg *r = &c->link.rules[k];
      char got[256] = "";
      for (uint8_t p = 0; p < r->n_parts; p++) {
        if (p) strcat(got, ",");
        strcat(got, r->parts[p].text);
      }
      cr_expect_str_eq(got, want[i].steps[k], "%s step %u", want[i].preset, k + 1);
      cr_expect_eq(r->merge, want[i].merge[k] == '1', "%s step %u: merge", want[i].preset, k + 1);
    }
    tsr_config_free(c);
  }
}

Test(config, source_origin) {
  static const struct {
    const char *extra;
    int rc;
    tsr_source_origin want;
  } cases[] = {{"", 0, TSR_ORIGIN_UNSET},
               {", \"origin\": \"gp\"", 0, TSR_ORIGIN_GP},
               {", \"origin\": \"hospital\"", 0, TSR_ORIGIN_HOSPITAL},
               {", \"origin\": \"other\"", 0, TSR_ORIGIN_OTHER},
               {", \"origin\": \"GP\"", TSR_ECONFIG, TSR_ORIGIN_UNSET},
               {", \"origin\": 1", TSR_ECONFIG, TSR_ORIGIN_UNSET}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char text[1024], msg[600];
    snprintf(text, sizeof text,
             "{\"sources\": [{\"name\": \"a\", \"path\": \"a.csv\", \"id\": \"i\", \"columns\": {\"i\": "
             "{\"kind\": \"text\"}}%s}]}",
             cases[k].extra);
    tsr_config *c = NULL;
    cr_assert_eq(parse_text(text, strlen(text), &c, msg, sizeof msg), cases[k].rc, "%s: %s", cases[k].extra, msg);
    if (!cases[k].rc) {
      cr_expect_eq(c->sources[0].origin, cases[k].want, "%s", cases[k].extra);
      tsr_config_free(c);
    } else {
      cr_expect(strstr(msg, "sources[0].origin"), "%s", msg);
    }
  }
}
