/* Unit tests for the agreement loader (engine/extract/agreement.c): a full
 * agreement parsed field by field, the defaults, the shipped example
 * (docs/examples/agreement.json) against a catalogue like the generated
 * data's, path resolution, the digest (SHA-256 of the very bytes, BOM
 * included), and every refusal with its key path, as a table of mutations
 * of the full agreement. The catalogue is the test's own. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/date.h"
#include "extract/agreement.h"
#include "tessera/store.h"

/* ---- the test catalogue ---------------------------------------------------- */

enum { P_NHS, P_NAME, P_DOB, P_SEX, P_POSTCODE, P_N };
static const tsr__xfield k_patients[] = {
    {"nhs_number", TSR__XK_IDENTIFIER, "an NHS number"},
    {"given_name", TSR__XK_IDENTIFIER, "a name"},
    {"dob", TSR__XK_BIRTH_DATE, NULL},
    {"sex", TSR__XK_PLAIN, NULL},
    {"postcode", TSR__XK_POSTCODE, NULL},
};
enum { S_ID, S_PROVIDER, S_ADMIDATE, S_DISDATE, S_LOS, S_DIAG, S_PRACTICE, S_NEWNHSNO, S_N };
static const tsr__xfield k_spells[] = {
    {"spell_id", TSR__XK_IDENTIFIER, "a record id"},
    {"provider", TSR__XK_PLAIN, NULL},
    {"admidate", TSR__XK_EVENT_DATE, NULL},
    {"disdate", TSR__XK_EVENT_DATE, NULL},
    {"los", TSR__XK_PLAIN, NULL},
    {"diag", TSR__XK_PLAIN, NULL},
    {"practice", TSR__XK_PLAIN, NULL},
    {"newnhsno", TSR__XK_IDENTIFIER, "an NHS number"},
};
static const tsr__xfield k_gp[] = {
    {"practice", TSR__XK_PLAIN, NULL},
    {"regdate", TSR__XK_EVENT_DATE, NULL},
    {"dob", TSR__XK_BIRTH_DATE, "a GP date of birth"},
};
enum { T_PATIENTS, T_SPELLS, T_GP };
static const tsr__xtable k_tables[] = {
    {"patients", k_patients, P_N},
    {"spells", k_spells, S_N},
    {"gp", k_gp, 3},
};
static const tsr__xcatalog k_cat = {k_tables, 3};

/* Every key set away from its default. */
static const char *const k_full =
    "{\n"
    "  \"version\": 1,\n"
    "  \"reference\": \"DARS-NIC-000042\",\n"
    "  \"recipient\": \"Univ\\u00e9rsity of X\",\n"
    "  \"purpose\": \"Length of stay\",\n"
    "  \"legal_basis\": \"legal_requirement\",\n"
    "  \"data_category\": \"anonymised\",\n"
    "  \"key_file\": \"keys/a.key\",\n"
    "  \"opt_outs\": {\"type1\": [\"t1a.csv\", \"/abs/t1b.csv\"], \"national\": [\"nd.csv\"]},\n"
    "  \"cohort\": {\"diag_prefixes\": [\"i21\", \"C5\"], \"from\": \"2019-04-01\", \"to\": \"2024-03-31\",\n"
    "             \"age_min\": 18, \"age_max\": 90},\n"
    "  \"tables\": {\n"
    "    \"spells\": {\"fields\": {\"provider\": \"keep\", \"admidate\": \"month\", \"disdate\": \"keep\",\n"
    "                            \"los\": \"keep\", \"diag\": \"keep\", \"practice\": \"keep\"}},\n"
    "    \"patients\": {\"fields\": {\"dob\": \"age_band\", \"sex\": \"keep\", \"postcode\": \"sector\"}}\n"
    "  },\n"
    "  \"k_anonymity\": {\"quasi_identifiers\": [\"patients.postcode\", \"patients.dob\", \"patients.sex\"],\n"
    "                  \"k\": 11, \"min_k\": 3, \"on_fail\": \"generalise\"},\n"
    "  \"aggregates\": [\n"
    "    {\"name\": \"by_provider\", \"table\": \"spells\", \"rows\": [\"provider\", \"admidate:year\"],\n"
    "     \"column\": \"diag:chapter\"},\n"
    "    {\"name\": \"Pat_2\", \"table\": \"patients\", \"rows\": [\"sex\", \"dob:month\", \"dob:year\"],\n"
    "     \"column\": \"sex:chapter\", \"count\": \"patients\"}\n"
    "  ]\n"
    "}\n";

static int parse(const char *text, tsr__agreement **a, tsr_error *err) {
  return tsr__agreement_parse(text, strlen(text), "agr.json", "/base", &k_cat, a, err);
}

/* ---- the full agreement ------------------------------------------------------ */

Test(agreement, full_agreement_every_field) {
  tsr__agreement *a;
  tsr_error err;
  int rc = parse(k_full, &a, &err);
  cr_assert_eq(rc, 0, "%s", err.msg);
  cr_assert_str_eq(a->reference, "DARS-NIC-000042");
  cr_assert_str_eq(a->recipient, "Univ\xc3\xa9rsity of X");
  cr_assert_str_eq(a->purpose, "Length of stay");
  cr_assert_eq(a->legal_basis, TSR__LB_LEGAL_REQUIREMENT);
  cr_assert_eq(a->category, TSR__CAT_ANONYMISED);
  cr_assert_str_eq(a->key_file, "/base/keys/a.key");
  cr_assert_eq(a->n_type1, 2);
  cr_assert_str_eq(a->optout_type1[0], "/base/t1a.csv");
  cr_assert_str_eq(a->optout_type1[1], "/abs/t1b.csv");
  cr_assert_eq(a->n_national, 1);
  cr_assert_str_eq(a->optout_national[0], "/base/nd.csv");
  cr_assert_eq(a->ndiag, 2);
  cr_assert_str_eq(a->diag_prefixes[0], "I21");
  cr_assert_str_eq(a->diag_prefixes[1], "C5");
  cr_assert_eq(a->from, tsr__days_from_ymd(2019, 4, 1));
  cr_assert_eq(a->to, tsr__days_from_ymd(2024, 3, 31));
  cr_assert_eq(a->from, 17987); /* pinned: days since 1970 */
  cr_assert_eq(a->age_min, 18);
  cr_assert_eq(a->age_max, 90);
  /* tables in the agreement's order */
  cr_assert_eq(a->ntables, 2);
  cr_assert_eq(a->tables[0].table, T_SPELLS);
  cr_assert_eq(a->tables[0].nfields, 6);
  const uint32_t sf[] = {S_PROVIDER, S_ADMIDATE, S_DISDATE, S_LOS, S_DIAG, S_PRACTICE};
  const tsr__gen sg[] = {TSR__GEN_KEEP, TSR__GEN_MONTH, TSR__GEN_KEEP, TSR__GEN_KEEP, TSR__GEN_KEEP, TSR__GEN_KEEP};
  for (size_t i = 0; i < 6; i++) {
    cr_assert_eq(a->tables[0].fields[i].field, sf[i], "spells field %zu", i);
    cr_assert_eq(a->tables[0].fields[i].gen, sg[i], "spells gen %zu", i);
  }
  cr_assert_eq(a->tables[1].table, T_PATIENTS);
  cr_assert_eq(a->tables[1].nfields, 3);
  cr_assert_eq(a->tables[1].fields[0].field, P_DOB);
  cr_assert_eq(a->tables[1].fields[0].gen, TSR__GEN_AGE_BAND);
  cr_assert_eq(a->tables[1].fields[1].field, P_SEX);
  cr_assert_eq(a->tables[1].fields[1].gen, TSR__GEN_KEEP);
  cr_assert_eq(a->tables[1].fields[2].field, P_POSTCODE);
  cr_assert_eq(a->tables[1].fields[2].gen, TSR__GEN_SECTOR);
  /* k-anonymity */
  cr_assert_eq(a->qi_table, T_PATIENTS);
  cr_assert_eq(a->nqi, 3);
  cr_assert_eq(a->qi[0].field, P_POSTCODE);
  cr_assert_eq(a->qi[1].field, P_DOB);
  cr_assert_eq(a->qi[2].field, P_SEX);
  for (size_t i = 0; i < 3; i++) cr_assert_eq(a->qi[i].fn, TSR__DIM_VALUE);
  cr_assert_eq(a->k, 11);
  cr_assert_eq(a->min_k, 3);
  cr_assert_eq(a->on_fail_generalise, 1);
  /* aggregates */
  cr_assert_eq(a->naggs, 2);
  tsr__aggregate *g = &a->aggs[0];
  cr_assert_str_eq(g->name, "by_provider");
  cr_assert_eq(g->table, T_SPELLS);
  cr_assert_eq(g->nrows, 2);
  cr_assert_eq(g->rows[0].field, S_PROVIDER);
  cr_assert_eq(g->rows[0].fn, TSR__DIM_VALUE);
  cr_assert_eq(g->rows[1].field, S_ADMIDATE);
  cr_assert_eq(g->rows[1].fn, TSR__DIM_YEAR);
  cr_assert_eq(g->column.field, S_DIAG);
  cr_assert_eq(g->column.fn, TSR__DIM_CHAPTER);
  cr_assert_eq(g->count_patients, 0);
  g = &a->aggs[1];
  cr_assert_str_eq(g->name, "Pat_2");
  cr_assert_eq(g->table, T_PATIENTS);
  cr_assert_eq(g->nrows, 3);
  cr_assert_eq(g->rows[0].field, P_SEX);
  cr_assert_eq(g->rows[0].fn, TSR__DIM_VALUE);
  cr_assert_eq(g->rows[1].field, P_DOB);
  cr_assert_eq(g->rows[1].fn, TSR__DIM_MONTH);
  cr_assert_eq(g->rows[2].field, P_DOB);
  cr_assert_eq(g->rows[2].fn, TSR__DIM_YEAR);
  cr_assert_eq(g->column.field, P_SEX);
  cr_assert_eq(g->column.fn, TSR__DIM_CHAPTER);
  cr_assert_eq(g->count_patients, 1);
  tsr__agreement_free(a);
}

/* The smallest agreement: every optional key at its default. */
Test(agreement, defaults) {
  const char *t = "{\"version\": 1, \"reference\": \"R-1\", \"recipient\": \"r\", \"purpose\": \"p\", "
                  "\"legal_basis\": \"consent\", \"data_category\": \"pseudonymised\", \"key_file\": \"k\", "
                  "\"opt_outs\": {\"type1\": [], \"national\": []}, "
                  "\"tables\": {\"gp\": {\"fields\": {\"regdate\": \"keep\"}}}}";
  tsr__agreement *a;
  tsr_error err;
  cr_assert_eq(tsr__agreement_parse(t, strlen(t), NULL, NULL, &k_cat, &a, &err), 0, "%s", err.msg);
  cr_assert_eq(a->legal_basis, TSR__LB_CONSENT);
  cr_assert_eq(a->category, TSR__CAT_PSEUDONYMISED);
  cr_assert_str_eq(a->key_file, "k"); /* no base dir: as written */
  cr_assert_eq(a->n_type1, 0);
  cr_assert_eq(a->n_national, 0);
  cr_assert_eq(a->ndiag, 0);
  cr_assert_eq(a->from, TSR_DATE_NONE);
  cr_assert_eq(a->to, TSR_DATE_NONE);
  cr_assert_eq(a->age_min, -1);
  cr_assert_eq(a->age_max, -1);
  cr_assert_eq(a->ntables, 1);
  cr_assert_eq(a->tables[0].table, T_GP);
  cr_assert_eq(a->tables[0].fields[0].field, 1);
  cr_assert_eq(a->nqi, 0);
  cr_assert_eq(a->k, 5);
  cr_assert_eq(a->min_k, 0);
  cr_assert_eq(a->on_fail_generalise, 0);
  cr_assert_eq(a->naggs, 0);
  tsr__agreement_free(a);
  tsr__agreement_free(NULL);
}

/* Both edges of the windows: dates, ages, k, min_k, row dimensions. */
Test(agreement, window_edges) {
  static const struct {
    const char *cohort, *kanon, *rows;
  } ok[] = {
      {"\"from\": \"1800-01-01\", \"to\": \"2200-12-31\"", "\"k\": 2", "[\"provider\"]"},
      {"\"from\": \"2020-02-29\", \"to\": \"2020-02-29\", \"age_min\": 0, \"age_max\": 0",
       "\"k\": 1000000, \"min_k\": 2", "[\"provider\", \"los\", \"disdate:month\"]"},
      {"\"age_min\": 150, \"age_max\": 150", "\"min_k\": 1000000", "[\"provider\"]"},
      {"\"age_min\": 40", "\"min_k\": 0", "[\"provider\"]"},
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char t[2048];
    snprintf(t, sizeof t,
             "{\"version\": 1, \"reference\": \"R\", \"recipient\": \"r\", \"purpose\": \"p\", \"legal_basis\": "
             "\"consent\", \"data_category\": \"anonymised\", \"key_file\": \"k\", \"opt_outs\": {\"type1\": [], "
             "\"national\": []}, \"cohort\": {%s}, \"tables\": {\"patients\": {\"fields\": {\"sex\": \"keep\"}}}, "
             "\"k_anonymity\": {\"quasi_identifiers\": [\"patients.sex\"], %s}, \"aggregates\": [{\"name\": \"a\", "
             "\"table\": \"spells\", \"rows\": %s, \"column\": \"admidate:year\"}]}",
             ok[i].cohort, ok[i].kanon, ok[i].rows);
    tsr__agreement *a;
    tsr_error err;
    cr_assert_eq(parse(t, &a, &err), 0, "case %zu: %s", i, err.msg);
    tsr__agreement_free(a);
  }
}

Test(agreement, legal_bases) {
  cr_assert_eq(tsr__legal_basis_exempt(TSR__LB_CONSENT), 1);
  cr_assert_eq(tsr__legal_basis_exempt(TSR__LB_SECTION_251), 0);
  cr_assert_eq(tsr__legal_basis_exempt(TSR__LB_LEGAL_REQUIREMENT), 1);
  cr_assert_eq(tsr__legal_basis_exempt(TSR__LB_ANONYMISED_ICO), 1);
  cr_assert_str_eq(tsr__legal_basis_name(TSR__LB_SECTION_251), "section_251");
  cr_assert_str_eq(tsr__legal_basis_name(TSR__LB_ANONYMISED_ICO), "anonymised_ico");
  cr_assert_str_eq(tsr__data_category_name(TSR__CAT_PSEUDONYMISED), "pseudonymised");
  cr_assert_str_eq(tsr__data_category_name(TSR__CAT_ANONYMISED), "anonymised");
  cr_assert_str_eq(tsr__gen_name(TSR__GEN_YEAR_MONTH), "year_month");
  cr_assert_str_eq(tsr__gen_name(TSR__GEN_AREA), "area");
  cr_assert_str_eq(tsr__dim_fn_name(TSR__DIM_CHAPTER), "chapter");
}

/* ---- digest and files ----------------------------------------------------------- */

Test(agreement, digest_is_sha256_of_the_bytes) {
  /* with a byte order mark: parsed without it, digested with it */
  size_t n = strlen(k_full);
  char *b = malloc(n + 3);
  memcpy(b, "\xEF\xBB\xBF", 3);
  memcpy(b + 3, k_full, n);
  unsigned char want[32];
  tsr__agreement *a, *a2;
  tsr_error err;
  cr_assert_eq(tsr__agreement_parse(b, n + 3, "bom.json", NULL, &k_cat, &a, &err), 0, "%s", err.msg);
  crypto_hash_sha256(want, (const unsigned char *)b, n + 3);
  cr_assert_eq(memcmp(a->sha256, want, 32), 0);
  /* one more blank changes the digest, not the meaning */
  cr_assert_eq(tsr__agreement_parse(b + 3, n - 1, "nobom.json", NULL, &k_cat, &a2, &err), 0, "%s", err.msg);
  crypto_hash_sha256(want, (const unsigned char *)b + 3, n - 1);
  cr_assert_eq(memcmp(a2->sha256, want, 32), 0);
  cr_assert_neq(memcmp(a->sha256, a2->sha256, 32), 0);
  tsr__agreement_free(a);
  tsr__agreement_free(a2);
  free(b);
}

static char g_dir[256];
static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "%s", path);
  fputs(text, f);
  fclose(f);
}

Test(agreement, load_resolves_paths_against_its_folder) {
  snprintf(g_dir, sizeof g_dir, "/tmp/agreement_test_XXXXXX");
  cr_assert_not_null(mkdtemp(g_dir));
  char sub[300], path[400];
  snprintf(sub, sizeof sub, "%s/sub", g_dir);
  cr_assert_eq(mkdir(sub, 0700), 0);
  snprintf(path, sizeof path, "%s/a.json", sub);
  write_file(path, k_full);
  tsr__agreement *a;
  tsr_error err;
  cr_assert_eq(tsr__agreement_load(path, &k_cat, &a, &err), 0, "%s", err.msg);
  char want[500];
  snprintf(want, sizeof want, "%s/keys/a.key", sub);
  cr_assert_str_eq(a->key_file, want);
  snprintf(want, sizeof want, "%s/nd.csv", sub);
  cr_assert_str_eq(a->optout_national[0], want);
  cr_assert_str_eq(a->optout_type1[1], "/abs/t1b.csv");
  unsigned char d[32];
  crypto_hash_sha256(d, (const unsigned char *)k_full, strlen(k_full));
  cr_assert_eq(memcmp(a->sha256, d, 32), 0);
  tsr__agreement_free(a);
  /* errors name the file */
  write_file(path, "{\"version\": 1, \"refrence\": 1}");
  cr_assert_eq(tsr__agreement_load(path, &k_cat, &a, &err), TSR_ECONFIG);
  cr_assert_null(a);
  cr_assert_str_eq(err.file, path);
  cr_assert(strstr(err.msg, "refrence: unknown key (did you mean \"reference\"?)"), "%s", err.msg);
  unlink(path);
  cr_assert_eq(tsr__agreement_load(path, &k_cat, &a, &err), TSR_EIO);
  cr_assert(strstr(err.msg, "cannot open the agreement"), "%s", err.msg);
  rmdir(sub);
  rmdir(g_dir);
}

/* The shipped example loads against a catalogue shaped like the generated
 * data's (the integrator's real catalogue may hold more). */
Test(agreement, shipped_example_loads) {
  const char *src = getenv("TSR_SOURCE_DIR");
  cr_assert_not_null(src, "TSR_SOURCE_DIR is not set");
  char path[1024];
  snprintf(path, sizeof path, "%s/docs/examples/agreement.json", src);
  tsr__agreement *a;
  tsr_error err;
  cr_assert_eq(tsr__agreement_load(path, &k_cat, &a, &err), 0, "%s: %s", err.file, err.msg);
  char want[1100];
  snprintf(want, sizeof want, "%s/docs/examples/agreement.key", src);
  cr_assert_str_eq(a->key_file, want);
  cr_assert_eq(a->legal_basis, TSR__LB_SECTION_251);
  cr_assert_eq(a->n_type1, 1);
  cr_assert_eq(a->n_national, 1);
  cr_assert(strstr(a->optout_type1[0], "/optouts_type1.csv"));
  cr_assert(strstr(a->optout_national[0], "/optouts_ndoo.csv"));
  cr_assert_eq(a->ntables, 2);
  cr_assert_eq(a->tables[0].table, T_PATIENTS);
  cr_assert_eq(a->tables[0].fields[0].gen, TSR__GEN_YEAR);
  cr_assert_eq(a->tables[0].fields[2].gen, TSR__GEN_DISTRICT);
  cr_assert_eq(a->tables[1].table, T_SPELLS);
  cr_assert_eq(a->tables[1].nfields, 6);
  cr_assert_eq(a->nqi, 3);
  cr_assert_eq(a->naggs, 1);
  cr_assert_eq(a->aggs[0].rows[1].fn, TSR__DIM_YEAR);
  cr_assert_eq(a->aggs[0].column.fn, TSR__DIM_CHAPTER);
  tsr__agreement_free(a);
}

/* ---- refusals ------------------------------------------------------------------------ */

/* Sets (or with value NULL deletes) the key at a dotted path with [i]
 * indexes in the tree, e.g. "aggregates[0].rows[1]". */
static void set_path(json_t *root, const char *path, const char *value) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", path);
  json_t *cur = root;
  char *p = buf;
  for (;;) {
    char *end = p + strcspn(p, ".[");
    char sep = *end;
    *end = '\0';
    char *key = p;
    long idx = -1;
    if (!key[0] && sep == '\0') break;
    /* key may be followed by [i] */
    char *next = end + 1;
    if (sep == '[') {
      idx = strtol(next, &next, 10);
      cr_assert_eq(*next, ']');
      next++;
      sep = *next;
      if (sep) next++;
    }
    json_t *child = key[0] ? json_object_get(cur, key) : cur;
    int last = sep == '\0';
    if (idx >= 0) {
      cr_assert(json_is_array(child), "%s", path);
      if (last) {
        if (value)
          json_array_set_new(child, (size_t)idx, json_loads(value, JSON_DECODE_ANY, NULL));
        else
          json_array_remove(child, (size_t)idx);
        return;
      }
      cur = json_array_get(child, (size_t)idx);
    } else {
      if (last) {
        if (value) {
          json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
          cr_assert_not_null(v, "bad test value %s", value);
          json_object_set_new(cur, key, v);
        } else
          json_object_del(cur, key);
        return;
      }
      cur = child;
    }
    cr_assert_not_null(cur, "no %s in the full agreement", path);
    p = next;
  }
}

/* Strings held inline: Criterion may hand the case to another process, where
 * pointers into this one mean nothing. value "" deletes the key. */
typedef struct {
  char path[48], value[80], want[240];
} bad_case;

ParameterizedTestParameters(agreement, refusals) {
  static bad_case cases[] = {
      /* structure and keys */
      {"refrence", "\"x\"", "refrence: unknown key (did you mean \"reference\"?); expected one of: \"version\""},
      {"tables.patients.feilds", "{}", "tables.patients.feilds: unknown key (did you mean \"fields\"?)"},
      {"cohort.age_mni", "3", "cohort.age_mni: unknown key (did you mean \"age_min\"?)"},
      {"k_anonymity.kk", "3", "k_anonymity.kk: unknown key (did you mean \"k\"?)"},
      {"aggregates[0].colum", "\"x\"", "aggregates[0].colum: unknown key (did you mean \"column\"?)"},
      {"opt_outs.type2", "[]", "opt_outs.type2: unknown key (did you mean \"type1\"?); expected one of: \"type1\", \"national\""},
      {"version", "", "version: required key is missing"},
      {"version", "2", "version: expected 1"},
      {"version", "\"1\"", "version: expected 1"},
      /* types */
      {"recipient", "5", "recipient: expected a string, got an integer"},
      {"tables", "[]", "tables: expected an object of tables, got an array"},
      {"tables.patients", "\"dob\"", "tables.patients: expected an object {\"fields\": {...}}, got a string"},
      {"tables.patients.fields.sex", "true", "tables.patients.fields.sex: expected a string, got a boolean"},
      {"opt_outs", "[]", "opt_outs: expected an object, got an array"},
      {"opt_outs.type1", "\"a.csv\"", "opt_outs.type1: expected an array of file paths, got a string"},
      {"opt_outs.national[0]", "7", "opt_outs.national[0]: expected a string, got an integer"},
      {"cohort", "1", "cohort: expected an object, got an integer"},
      {"cohort.age_min", "18.5", "cohort.age_min: expected an age in whole years from 0 to 150"},
      {"k_anonymity.quasi_identifiers", "\"patients.sex\"",
       "k_anonymity.quasi_identifiers: expected an array of \"table.field\" strings, got a string"},
      {"aggregates", "{}", "aggregates: expected an array of aggregate tables, got an object"},
      {"aggregates[0].rows", "\"provider\"", "aggregates[0].rows: expected an array of 1 to 3 dimensions, got a string"},
      {"aggregates[0].rows[0]", "3", "aggregates[0].rows[0]: expected a dimension string"},
      /* required and empty text */
      {"reference", "\"\"", "reference: is empty"},
      {"reference", "\"  \"", "reference: is empty"},
      {"recipient", "\"\"", "recipient: is empty"},
      {"purpose", "\"\\t\"", "purpose: is empty"},
      {"purpose", "", "purpose: required key is missing"},
      {"reference", "\"DARS\\u00e9\"", "reference: expected printable ASCII"},
      {"reference", "\"DARS-NIC-00000000000000000000000000000000000000000000000000000000001\"",
       "reference: is 68 bytes long, more than the 64 allowed"},
      {"purpose", "\"a\\nb\"", "purpose: holds a control character (byte 2)"},
      {"key_file", "", "key_file: required key is missing"},
      {"key_file", "\"\"", "key_file: is empty"},
      {"opt_outs", "", "opt_outs: required key is missing"},
      {"opt_outs.national", "", "opt_outs.national: required key is missing"},
      {"opt_outs.type1[1]", "\"\"", "opt_outs.type1[1]: is empty"},
      /* closed lists */
      {"legal_basis", "\"s251\"",
       "legal_basis: unknown legal basis \"s251\"; expected one of: \"consent\", \"section_251\", "
       "\"legal_requirement\", \"anonymised_ico\""},
      {"legal_basis", "\"section251\"", "legal_basis: unknown legal basis \"section251\" (did you mean \"section_251\"?)"},
      {"legal_basis", "", "legal_basis: required key is missing"},
      {"data_category", "\"identifiable\"",
       "data_category: unknown data category \"identifiable\"; expected one of: \"pseudonymised\", \"anonymised\""},
      {"data_category", "", "data_category: required key is missing"},
      /* identifiers and generalisations */
      {"tables.patients.fields.nhs_number", "\"keep\"",
       "tables.patients.fields.nhs_number: an NHS number is an identifier and can never be a field of an extract"},
      {"tables.patients.fields.given_name", "\"year\"",
       "tables.patients.fields.given_name: a name is an identifier and can never be a field of an extract"},
      {"tables.spells.fields.spell_id", "\"keep\"",
       "tables.spells.fields.spell_id: a record id is an identifier and can never be a field of an extract"},
      {"tables.patients.fields.dob", "\"keep\"",
       "tables.patients.fields.dob: a date of birth is never released whole: use one of \"year\", \"year_month\", "
       "\"age_band\""},
      {"tables.patients.fields.postcode", "\"keep\"",
       "tables.patients.fields.postcode: a postcode is never released whole: use one of \"sector\", \"district\", "
       "\"area\""},
      {"tables.patients.fields.dob", "\"month\"",
       "tables.patients.fields.dob: \"month\" does not fit a date of birth: use \"year\", "
       "\"year_month\", \"age_band\""},
      {"tables.patients.fields.postcode", "\"year\"", "tables.patients.fields.postcode: \"year\" does not fit a postcode"},
      {"tables.spells.fields.admidate", "\"year\"",
       "tables.spells.fields.admidate: \"year\" does not fit an event date: use \"keep\", \"month\""},
      {"tables.spells.fields.los", "\"month\"", "tables.spells.fields.los: \"month\" does not fit a plain field: use \"keep\""},
      {"tables.patients.fields.postcode", "\"distrct\"",
       "tables.patients.fields.postcode: unknown generalisation \"distrct\" (did you mean \"district\"?)"},
      {"tables.patients.fields.postcod", "\"district\"",
       "tables.patients.fields.postcod: no field \"postcod\" in table \"patients\" (did you mean \"postcode\"?)"},
      {"tables.hes", "{\"fields\": {\"x\": \"keep\"}}",
       "tables.hes: no table \"hes\" in this run; the tables are: \"patients\", \"spells\", \"gp\""},
      {"tables.patients.fields", "{}", "tables.patients.fields: no field listed"},
      {"tables.patients.fields", "", "tables.patients.fields: required key is missing"},
      {"tables", "{}", "tables: an empty object releases no table"},
      /* cohort */
      {"cohort.from", "\"2024-04-01\"", "cohort.from: 2024-04-01 is after cohort.to 2024-03-31: the date range is empty"},
      {"cohort.to", "\"2019-03-31\"", "cohort.from: 2019-04-01 is after cohort.to 2019-03-31"},
      {"cohort.age_min", "91", "cohort.age_min: 91 is above cohort.age_max 90: the age range is empty"},
      {"cohort.age_max", "17", "cohort.age_min: 18 is above cohort.age_max 17"},
      {"cohort.age_max", "151", "cohort.age_max: expected an age in whole years from 0 to 150"},
      {"cohort.age_min", "-1", "cohort.age_min: expected an age in whole years from 0 to 150"},
      {"cohort.to", "\"2023-02-29\"", "cohort.to: expected a date \"YYYY-MM-DD\" from 1800 to 2200, got \"2023-02-29\""},
      {"cohort.to", "\"2023-1-01\"", "cohort.to: expected a date \"YYYY-MM-DD\""},
      {"cohort.to", "\"2023-13-01\"", "cohort.to: expected a date \"YYYY-MM-DD\""},
      {"cohort.from", "\"01/04/2019\"", "cohort.from: expected a date \"YYYY-MM-DD\""},
      {"cohort.from", "\"2019-04-01T00:00\"", "cohort.from: expected a date \"YYYY-MM-DD\""},
      {"cohort.from", "\"1799-12-31\"", "cohort.from: expected a date \"YYYY-MM-DD\" from 1800 to 2200"},
      {"cohort.to", "\"2201-01-01\"", "cohort.to: expected a date \"YYYY-MM-DD\" from 1800 to 2200"},
      {"cohort.from", "20190401", "cohort.from: expected a date \"YYYY-MM-DD\", got an integer"},
      {"cohort.diag_prefixes[0]", "\"I21.4\"", "cohort.diag_prefixes[0]: expected a diagnosis code prefix of 1 to 7"},
      {"cohort.diag_prefixes[0]", "\"\"", "cohort.diag_prefixes[0]: expected a diagnosis code prefix"},
      {"cohort.diag_prefixes[0]", "\"I2100000\"", "cohort.diag_prefixes[0]: expected a diagnosis code prefix"},
      {"cohort.diag_prefixes[1]", "\"I21\"", "cohort.diag_prefixes[1]: \"I21\" is listed twice (also at [0])"},
      {"cohort.diag_prefixes", "[]", "cohort.diag_prefixes: an empty list selects nobody"},
      /* k-anonymity */
      {"k_anonymity.k", "1", "k_anonymity.k: expected an integer from 2 to 1000000"},
      {"k_anonymity.k", "1000001", "k_anonymity.k: expected an integer from 2 to 1000000"},
      {"k_anonymity.min_k", "1", "k_anonymity.min_k: expected 0 (report only) or an integer from 2 to 1000000"},
      {"k_anonymity.min_k", "-1", "k_anonymity.min_k: expected 0 (report only)"},
      {"k_anonymity.min_k", "0", "k_anonymity.on_fail: has no effect without k_anonymity.min_k"},
      {"k_anonymity.on_fail", "\"generalize\"",
       "k_anonymity.on_fail: unknown action \"generalize\" (did you mean \"generalise\"?); expected one of: "
       "\"refuse\", \"generalise\""},
      {"k_anonymity.quasi_identifiers[1]", "\"spells.provider\"",
       "k_anonymity.quasi_identifiers[1]: quasi-identifiers must all come from one table: \"spells.provider\" is not "
       "in \"patients\""},
      {"k_anonymity.quasi_identifiers[0]", "\"gp.dob\"", "k_anonymity.quasi_identifiers[0]: gp.dob is not released"},
      {"k_anonymity.quasi_identifiers[0]", "\"patients.nhs_number\"",
       "k_anonymity.quasi_identifiers[0]: patients.nhs_number is not released (not in tables.patients.fields)"},
      {"k_anonymity.quasi_identifiers[0]", "\"sex\"",
       "k_anonymity.quasi_identifiers[0]: expected \"table.field\", for example \"patients.sex\", got \"sex\""},
      {"k_anonymity.quasi_identifiers[0]", "\"patients.\"", "k_anonymity.quasi_identifiers[0]: expected \"table.field\""},
      {"k_anonymity.quasi_identifiers[0]", "\"patient.sex\"",
       "k_anonymity.quasi_identifiers[0]: no table \"patient\" in this run (did you mean \"patients\"?)"},
      {"k_anonymity.quasi_identifiers[0]", "\"patients.sexx\"",
       "k_anonymity.quasi_identifiers[0]: no field \"sexx\" in table \"patients\" (did you mean \"sex\"?)"},
      {"k_anonymity.quasi_identifiers[0]", "\"patients.sex\"", "k_anonymity.quasi_identifiers[2]: \"patients.sex\" is "
                                                              "listed twice"},
      {"k_anonymity.quasi_identifiers", "[]", "k_anonymity.quasi_identifiers: is empty"},
      {"k_anonymity.quasi_identifiers", "", "k_anonymity.quasi_identifiers: required key is missing"},
      /* aggregates */
      {"aggregates[0].rows[0]", "\"nosuch\"", "aggregates[0].rows[0]: no field \"nosuch\" in table \"spells\""},
      {"aggregates[0].rows[0]", "\"provder\"",
       "aggregates[0].rows[0]: no field \"provder\" in table \"spells\" (did you mean \"provider\"?)"},
      {"aggregates[0].rows[1]", "\"los:year\"",
       "aggregates[0].rows[1]: \":year\" needs an event date or a date of birth, and \"los\" is a plain field"},
      {"aggregates[0].rows[1]", "\"provider:month\"", "aggregates[0].rows[1]: \":month\" needs an event date"},
      {"aggregates[0].column", "\"admidate:chapter\"",
       "aggregates[0].column: \":chapter\" needs a plain code field (a diagnosis), and \"admidate\" is an event date"},
      {"aggregates[0].column", "\"diag:chaptr\"",
       "aggregates[0].column: unknown function \"chaptr\" after ':' (did you mean \"chapter\"?)"},
      {"aggregates[0].column", "\"diag:\"", "aggregates[0].column: unknown function \"\" after ':'"},
      {"aggregates[0].column", "\":year\"", "aggregates[0].column: expected \"field\" or \"field:year|month|chapter\""},
      {"aggregates[0].rows[0]", "\"newnhsno\"",
       "aggregates[0].rows[0]: an NHS number is an identifier and can never be a dimension of an aggregate"},
      {"aggregates[0].rows[0]", "\"spell_id:year\"", "aggregates[0].rows[0]: a record id is an identifier"},
      {"aggregates[1].rows[0]", "\"dob\"",
       "aggregates[1].rows[0]: a date of birth is never shown whole: use \"dob:year\" or \"dob:month\""},
      {"aggregates[1].rows[0]", "\"postcode\"", "aggregates[1].rows[0]: a postcode is never shown whole"},
      {"aggregates[1].rows[0]", "\"postcode:year\"", "aggregates[1].rows[0]: \":year\" needs an event date or a date "
                                                    "of birth, and \"postcode\" is a postcode"},
      {"aggregates[1].column", "\"dob:chapter\"", "aggregates[1].column: \":chapter\" needs a plain code field"},
      {"aggregates[0].table", "\"spell\"", "aggregates[0].table: no table \"spell\" in this run (did you mean "
                                          "\"spells\"?)"},
      {"aggregates[0].table", "\"patients\"", "aggregates[0].rows[0]: no field \"provider\" in table \"patients\""},
      {"aggregates[0].rows", "[]", "aggregates[0].rows: expected 1 to 3 dimensions, got 0"},
      {"aggregates[0].rows", "[\"provider\", \"los\", \"diag\", \"practice\"]",
       "aggregates[0].rows: expected 1 to 3 dimensions, got 4"},
      {"aggregates[0].rows[1]", "\"provider\"", "aggregates[0].rows[1]: the same dimension as aggregates[0].rows[0]"},
      {"aggregates[0].column", "\"admidate:year\"",
       "aggregates[0].column: the same dimension as aggregates[0].rows[1]"},
      {"aggregates[0].column", "", "aggregates[0].column: required key is missing"},
      {"aggregates[0].name", "\"Pat_2\"", "aggregates[1].name: \"Pat_2\" is already the name of aggregates[0]"},
      {"aggregates[0].name", "\"by-provider\"", "aggregates[0].name: expected 1 to 64 letters, digits or '_'"},
      {"aggregates[0].name", "\"\"", "aggregates[0].name: expected 1 to 64 letters"},
      {"aggregates[0].name", "", "aggregates[0].name: required key is missing"},
      {"aggregates[0].count", "\"people\"",
       "aggregates[0].count: unknown count \"people\"; expected one of: \"rows\", \"patients\""},
      {"aggregates[0]", "[]", "aggregates[0]: expected an object, got an array"},
      {"aggregates", "[]", "aggregates: an empty list asks for nothing"},
  };
  return cr_make_param_array(bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(bad_case *c, agreement, refusals) {
  json_t *root = json_loads(k_full, 0, NULL);
  cr_assert_not_null(root);
  const char *value = c->value[0] ? c->value : NULL;
  set_path(root, c->path, value);
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  tsr__agreement *a = (tsr__agreement *)1;
  tsr_error err;
  int rc = parse(text, &a, &err);
  free(text);
  cr_assert_eq(rc, TSR_ECONFIG, "%s=%s: rc %d (%s)", c->path, value ? value : "(deleted)", rc, err.msg);
  cr_assert_null(a);
  cr_assert_str_eq(err.file, "agr.json");
  cr_assert(strncmp(err.msg, c->want, strlen(c->want)) == 0, "%s=%s:\n got  %s\n want %s", c->path,
            value ? value : "(deleted)", err.msg, c->want);
}

/* Refusals that need the raw text: duplicates, bad JSON, nothing released. */
Test(agreement, raw_refusals) {
  tsr__agreement *a;
  tsr_error err;
  const char *dup = "{\"version\": 1,\n \"version\": 1}";
  cr_assert_eq(parse(dup, &a, &err), TSR_ECONFIG);
  cr_assert(strstr(err.msg, "invalid JSON: duplicate object key"), "%s", err.msg);
  cr_assert_eq(err.line, 2);
  /* a duplicate deep inside, in the full agreement */
  char buf[8192];
  const char *at = strstr(k_full, "\"sex\": \"keep\"");
  cr_assert_not_null(at);
  snprintf(buf, sizeof buf, "%.*s\"sex\": \"keep\", %s", (int)(at - k_full), k_full, at);
  cr_assert_eq(parse(buf, &a, &err), TSR_ECONFIG);
  cr_assert(strstr(err.msg, "duplicate object key"), "%s", err.msg);
  cr_assert_eq(err.line, 15, "%s", err.msg);
  cr_assert_eq(parse("{\"version\": 1,", &a, &err), TSR_ECONFIG);
  cr_assert(strstr(err.msg, "invalid JSON"), "%s", err.msg);
  cr_assert_eq(parse("[1]", &a, &err), TSR_ECONFIG);
  cr_assert_str_eq(err.msg, "(top level): expected a JSON object, got an array");
  const char *none = "{\"version\": 1, \"reference\": \"R\", \"recipient\": \"r\", \"purpose\": \"p\", "
                     "\"legal_basis\": \"consent\", \"data_category\": \"anonymised\", \"key_file\": \"k\", "
                     "\"opt_outs\": {\"type1\": [], \"national\": []}}";
  cr_assert_eq(parse(none, &a, &err), TSR_ECONFIG);
  cr_assert_str_eq(err.msg, "tables: the agreement releases nothing: list \"tables\" or \"aggregates\"");
  cr_assert_null(a);
}
