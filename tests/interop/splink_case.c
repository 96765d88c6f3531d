/* Writes the Splink interop case into DIR: model.json and splink.json (the
 * Splink 4 export) of the model JSON fixture (tests/unit/
 * model_json_fixture.h; the given name with Soundex only and every level on,
 * the date of birth with every level on), and pairs.json: value pairs with
 * the level tessera's own comparison functions give them, for
 * splink_interop.mjs to check the export's SQL against in DuckDB.
 *   splink_case DIR */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/model_json_fixture.h"
#include "common/date.h"
#include "compare/fieldcmp.h"
#include "compare/namecmp.h"
#include "ingest/names.h"
#include "model/model_json.h"

static const char *k_names[] = {"JOHN",     "JON",      "JOHNNY",    "JONATHAN", "SMITH",     "SMYTH",
                                "SMITHE",   "SCHMIDT",  "ROBERT",    "RUPERT",   "RUBIN",     "ASHCRAFT",
                                "ASHCROFT", "TYMCZAK",  "TAMSAK",    "PFISTER",  "PFEISTER",  "HONEYMAN",
                                "J",        "JO",       "SMITH JONES", "JONES",  "MARTHA",    "MARHTA",
                                "LEE",      "LI",       "LEIGH",     "MACDONALD", "MCDONALD", "O NEILL",
                                "ONEILL",   "CATHERINE", "KATHERINE", "KATHRYN", "ANNE MARIE", "MARIE",
                                "AMY",      "MAY",      "S",         "WASHINGTON", "WHITE",   "WAITE",
                                "LEWIS",    "LEWIN",    "GUTIERREZ", "GUTTIEREZ", "BH",       "BHW",
                                "ASKRAFT",  "J SMITH",  "J BROWN",   "HW",       "WH",        "SCHMITT"};
#define N_NAMES (sizeof k_names / sizeof k_names[0])

static const int k_dates[][3] = {{1980, 3, 7},  {1980, 7, 3},   {1980, 3, 8},  {1980, 3, 17}, {1981, 3, 7},
                                 {1980, 1, 1},  {1980, 4, 7},   {1982, 3, 7},  {1983, 3, 7},  {1990, 12, 25},
                                 {1980, 3, 27}, {1980, 2, 28},  {1979, 12, 31}, {1980, 1, 31}, {2000, 2, 29},
                                 {1980, 12, 3}, {1890, 3, 7},   {1980, 3, 1}};
#define N_DATES (sizeof k_dates / sizeof k_dates[0])

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: splink_case DIR\n");
    return 2;
  }
  mj_fixture f;
  mj_fixture_init(&f);
  tsr_cmp_cfg *given = &f.cmp[0], *dob = &f.cmp[2];
  given->phonetic = TSR__PHON_SOUNDEX; /* DuckDB has no NYSIIS: the export says Soundex only */
  given->enabled = mj_all_bits(TSR_CMP_NAME);
  dob->enabled = mj_all_bits(TSR_CMP_DOB);
  tsr__model md;
  if (mj_model(&f.cfg.prob, &md)) return 1;
  char p[1024];
  tsr_error err;
  snprintf(p, sizeof p, "%s/model.json", argv[1]);
  if (tsr__model_save(p, &f.cfg.prob, &md, NULL, &err)) goto fail;
  snprintf(p, sizeof p, "%s/splink.json", argv[1]);
  if (tsr__model_splink(p, &f.cfg, &md, &err)) goto fail;

  uint32_t nl;
  json_t *root = json_object(), *a;
  /* names: every ordered pair, tessera's level by name */
  const char *const *ln = tsr_cmp_level_names(TSR_CMP_NAME, &nl);
  tsr__name_opts no;
  tsr__name_opts_init(&no);
  no.enabled = given->enabled, no.jw1 = given->jw1, no.jw2 = given->jw2, no.dl1 = given->dl1, no.dl2 = given->dl2;
  no.phonetic = given->phonetic;
  json_object_set_new(root, "given", a = json_array());
  for (size_t i = 0; i < N_NAMES; i++)
    for (size_t j = 0; j < N_NAMES; j++) {
      tsr__name_val x = {k_names[i], strlen(k_names[i]), 1, 0, 0}, y = {k_names[j], strlen(k_names[j]), 2, 0, 0};
      x.soundex = tsr__soundex(x.s, x.len), y.soundex = tsr__soundex(y.s, y.len);
      x.nysiis = tsr__nysiis(x.s, x.len), y.nysiis = tsr__nysiis(y.s, y.len);
      tsr__name_level l = tsr__cmp_name(&x, &y, &no);
      json_array_append_new(a, json_pack("[s,s,s]", x.s, y.s, ln[l]));
    }
  /* full names (given, family): tessera's combined level; the SQL is close, not exact (docs/model-json.md) */
  static const char *k_full[][2] = {{"JOHN", "SMITH"},   {"SMITH", "JOHN"},    {"JON", "SMYTH"},     {"JOHN", "JONES"},
                                    {"MARY", "SMITH"},   {"JOHN", NULL},       {NULL, "SMITH"},      {"O NEILL", "ANN"},
                                    {"ANN", "ONEILL"},   {"ROBERT", "BROWN"},  {"RUPERT", "BROWNE"}, {"J", "SMITH"},
                                    {"CATHERINE", "LEE"}, {"KATHERINE", "LI"}, {"LEE", "CATHERINE"}, {"AMY", "MAY"},
                                    {"MAY", "AMY"},      {"SMITH JONES", "JOHN"}};
  const tsr_cmp_cfg *fc = &f.cmp[1];
  tsr__full_opts fo;
  tsr__full_opts_init(&fo);
  fo.enabled = fc->enabled, fo.swap_jw = fc->swap_jw;
  fo.given.jw1 = fo.family.jw1 = fc->jw1, fo.given.jw2 = fo.family.jw2 = fc->jw2;
  fo.given.dl1 = fo.family.dl1 = fc->dl1, fo.given.dl2 = fo.family.dl2 = fc->dl2;
  fo.given.phonetic = fo.family.phonetic = fc->phonetic;
  ln = tsr_cmp_level_names(TSR_CMP_FULL_NAME, &nl);
  json_object_set_new(root, "names", a = json_array());
  size_t nfull = sizeof k_full / sizeof k_full[0];
  for (size_t i = 0; i < nfull; i++)
    for (size_t j = 0; j < nfull; j++) {
      tsr__name_val v[4];
      const char *s4[4] = {k_full[i][0], k_full[i][1], k_full[j][0], k_full[j][1]};
      for (int q = 0; q < 4; q++) {
        size_t len = s4[q] ? strlen(s4[q]) : 0;
        v[q] = (tsr__name_val){s4[q], len, len ? (uint64_t)q + 1 : 0, tsr__soundex(s4[q] ? s4[q] : "", len),
                               tsr__nysiis(s4[q] ? s4[q] : "", len)};
      }
      tsr__full_level l = tsr__cmp_fullname(&v[0], &v[1], &v[2], &v[3], &fo, NULL, NULL, NULL);
      json_array_append_new(a, json_pack("[s?,s?,s?,s?,s]", s4[0], s4[1], s4[2], s4[3], ln[l]));
    }
  /* soundex codes, for the blocking rule's SQL */
  json_object_set_new(root, "soundex", a = json_array());
  for (size_t i = 0; i < N_NAMES; i++) {
    char s[5];
    tsr__soundex_str(tsr__soundex(k_names[i], strlen(k_names[i])), s);
    json_array_append_new(a, json_pack("[s,s]", k_names[i], s));
  }
  /* dates of birth */
  ln = tsr_cmp_level_names(TSR_CMP_DOB, &nl);
  tsr__dob_opts dop;
  tsr__dob_opts_init(&dop);
  dop.enabled = dob->enabled, dop.within_days = dob->within_days, dop.within_years = dob->within_years;
  json_object_set_new(root, "dob", a = json_array());
  for (size_t i = 0; i < N_DATES; i++)
    for (size_t j = 0; j < N_DATES; j++) {
      int32_t x = tsr__days_from_ymd(k_dates[i][0], k_dates[i][1], k_dates[i][2]);
      int32_t y = tsr__days_from_ymd(k_dates[j][0], k_dates[j][1], k_dates[j][2]);
      char sx[16], sy[16];
      snprintf(sx, sizeof sx, "%04d-%02d-%02d", k_dates[i][0], k_dates[i][1], k_dates[i][2]);
      snprintf(sy, sizeof sy, "%04d-%02d-%02d", k_dates[j][0], k_dates[j][1], k_dates[j][2]);
      json_array_append_new(a, json_pack("[s,s,s]", sx, sy, ln[tsr__cmp_dob(x, y, &dop)]));
    }
  /* NHS numbers: valid ones, a swap, one digit off, an invalid one equal to itself */
  ln = tsr_cmp_level_names(TSR_CMP_NHS, &nl);
  static const uint64_t nhs[] = {9434765919ull, 9434765870ull, 4010232137ull, 9434756919ull, 9434765918ull,
                                 4444444444ull, 1234567890ull, 1234567881ull, 9434765911ull, 4010232173ull};
  json_object_set_new(root, "nhs", a = json_array());
  for (size_t i = 0; i < sizeof nhs / sizeof nhs[0]; i++)
    for (size_t j = 0; j < sizeof nhs / sizeof nhs[0]; j++) {
      char sx[16], sy[16];
      snprintf(sx, sizeof sx, "%010llu", (unsigned long long)nhs[i]);
      snprintf(sy, sizeof sy, "%010llu", (unsigned long long)nhs[j]);
      json_array_append_new(a, json_pack("[s,s,s,b,b]", sx, sy, ln[tsr__cmp_nhs(nhs[i], nhs[j], ~0u)],
                                         tsr_nhs_valid(nhs[i]), tsr_nhs_valid(nhs[j])));
    }
  snprintf(p, sizeof p, "%s/pairs.json", argv[1]);
  if (json_dump_file(root, p, JSON_INDENT(1))) {
    fprintf(stderr, "cannot write %s\n", p);
    return 1;
  }
  json_decref(root);
  return 0;
fail:
  fprintf(stderr, "%s: %s\n", err.file, err.msg);
  return 1;
}
