/* The generator's two JSON files: generate_summary.json (counts, the
 * parameters used, and each error's configured and realised rate) and
 * link.json, a ready-made run configuration for the generated gp.csv and
 * hes_apc.csv whose date-of-birth limit is the end of the data period.
 * link.json runs the hesid steps, then the probabilistic stage over seven
 * comparisons. Its five blocking rules, measured with `tessera inspect
 * --blocking` on 100,000 generated patients, emit 8.3 candidate pairs per
 * record (default scenario) and 8.8 (hard scenario); 99.5% of the hard
 * scenario's true pairs fall in one component of the true pairs they
 * emit, 99.99% of the default's (docs/config.md, "The probabilistic
 * section"). Its "episodes" section maps the spell rules' roles to the
 * generated fields, so the run also builds spells, CIPS and registration
 * periods (docs/config.md, "episodes"). */
#include <stdio.h>
#include <string.h>

#include "generate/gen_internal.h"

static const char k_link_json[] =
    "{\n"
    "  \"version\": 1,\n"
    "  \"sources\": [\n"
    "    {\n"
    "      \"name\": \"gp\",\n"
    "      \"path\": \"gp.csv\",\n"
    "      \"delimiter\": \",\",\n"
    "      \"quote\": \"\\\"\",\n"
    "      \"header\": true,\n"
    "      \"trim\": true,\n"
    "      \"null_tokens\": [\"\"],\n"
    "      \"id\": \"record_id\",\n"
    "      \"columns\": {\n"
    "        \"record_id\": {\"kind\": \"text\"},\n"
    "        \"nhs_number\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"},\n"
    "        \"given_name\": {\"field\": \"given_name\", \"kind\": \"given_name\"},\n"
    "        \"family_name\": {\"field\": \"family_name\", \"kind\": \"family_name\"},\n"
    "        \"date_of_birth\": {\"field\": \"dob\", \"kind\": \"date\", \"format\": \"DD/MM/YYYY\", \"max\": \"@END@\"},\n"
    "        \"sex\": {\"field\": \"sex\", \"kind\": \"sex\"},\n"
    "        \"postcode\": {\"field\": \"postcode\", \"kind\": \"postcode\"},\n"
    "        \"address_line1\": {\"field\": \"address\", \"kind\": \"text\"},\n"
    "        \"practice_code\": {\"field\": \"practice\", \"kind\": \"code\"},\n"
    "        \"registration_date\": {\"field\": \"registration_date\", \"kind\": \"date\", \"format\": \"DD/MM/YYYY\"},\n"
    "        \"deregistration_date\": {\"field\": \"deregistration_date\", \"kind\": \"date\", \"format\": \"DD/MM/YYYY\"}\n"
    "      },\n"
    "      \"event_dates\": [\"registration_date\", \"deregistration_date\"],\n"
    "      \"origin\": \"gp\"\n"
    "    },\n"
    "    {\n"
    "      \"name\": \"hes\",\n"
    "      \"path\": \"hes_apc.csv\",\n"
    "      \"delimiter\": \",\",\n"
    "      \"quote\": \"\\\"\",\n"
    "      \"header\": true,\n"
    "      \"trim\": true,\n"
    "      \"null_tokens\": [\"\"],\n"
    "      \"id\": \"epikey\",\n"
    "      \"columns\": {\n"
    "        \"epikey\": {\"kind\": \"text\"},\n"
    "        \"newnhsno\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"},\n"
    "        \"dob\": {\"field\": \"dob\", \"kind\": \"date\", \"format\": \"YYYY-MM-DD\", \"max\": \"@END@\"},\n"
    "        \"sex\": {\"field\": \"sex\", \"kind\": \"sex\"},\n"
    "        \"homeadd\": {\"field\": \"postcode\", \"kind\": \"postcode\"},\n"
    "        \"procode\": {\"field\": \"provider\", \"kind\": \"code\"},\n"
    "        \"lopatid\": {\"field\": \"local_patient_id\", \"kind\": \"local_id\"},\n"
    "        \"admidate\": {\"field\": \"admidate\", \"kind\": \"date\", \"format\": \"YYYY-MM-DD\"},\n"
    "        \"epistart\": {\"field\": \"epistart\", \"kind\": \"date\", \"format\": \"YYYY-MM-DD\"},\n"
    "        \"epiend\": {\"field\": \"epiend\", \"kind\": \"date\", \"format\": \"YYYY-MM-DD\"},\n"
    "        \"disdate\": {\"field\": \"disdate\", \"kind\": \"date\", \"format\": \"YYYY-MM-DD\"},\n"
    "        \"epiorder\": {\"field\": \"epiorder\", \"kind\": \"integer\"},\n"
    "        \"epistat\": {\"field\": \"epistat\", \"kind\": \"code\"},\n"
    "        \"admimeth\": {\"field\": \"admimeth\", \"kind\": \"code\"},\n"
    "        \"admisorc\": {\"field\": \"admisorc\", \"kind\": \"code\"},\n"
    "        \"disdest\": {\"field\": \"disdest\", \"kind\": \"code\"},\n"
    "        \"dismeth\": {\"field\": \"dismeth\", \"kind\": \"code\"},\n"
    "        \"classpat\": {\"field\": \"classpat\", \"kind\": \"code\"},\n"
    "        \"diag_4_01\": {\"field\": \"diag_4_01\", \"kind\": \"code\"},\n"
    "        \"opertn_4_01\": {\"field\": \"opertn_4_01\", \"kind\": \"code\"},\n"
    "        \"given_name\": {\"field\": \"given_name\", \"kind\": \"given_name\"},\n"
    "        \"family_name\": {\"field\": \"family_name\", \"kind\": \"family_name\"}\n"
    "      },\n"
    "      \"event_dates\": [\"admidate\", \"epistart\", \"epiend\", \"disdate\"],\n"
    "      \"origin\": \"hospital\"\n"
    "    }\n"
    "  ],\n"
    "  \"link\": {\n"
    "    \"mode\": \"link_and_dedupe\",\n"
    "    \"rules\": \"hesid\",\n"
    "    \"max_block_size\": 1000,\n"
    "    \"max_cluster_size\": 500\n"
    "  },\n"
    "  \"probabilistic\": {\n"
    "    \"comparisons\": [\n"
    "      {\"name\": \"given_name\", \"kind\": \"name\", \"field\": \"given_name\", \"tf\": true},\n"
    "      {\"name\": \"family_name\", \"kind\": \"name\", \"field\": \"family_name\", \"tf\": true},\n"
    "      {\"name\": \"dob\", \"kind\": \"date_of_birth\", \"field\": \"dob\"},\n"
    "      {\"name\": \"postcode\", \"kind\": \"postcode\", \"field\": \"postcode\", \"tf\": true},\n"
    "      {\"name\": \"nhs_number\", \"kind\": \"nhs_number\", \"field\": \"nhs_number\"},\n"
    "      {\"name\": \"sex\", \"kind\": \"sex\", \"field\": \"sex\"},\n"
    "      {\"name\": \"lopatid\", \"kind\": \"local_id\", \"field\": \"local_patient_id\", \"scope\": \"provider\"}\n"
    "    ],\n"
    "    \"blocking\": [\n"
    "      {\"name\": \"nhs\", \"fields\": [\"nhs_number\"]},\n"
    "      {\"name\": \"dob_family\", \"fields\": [\"dob\", \"soundex(family_name)\"]},\n"
    "      {\"name\": \"dob_district\", \"fields\": [\"dob\", \"district(postcode)\"]},\n"
    "      {\"name\": \"postcode_year\", \"fields\": [\"postcode\", \"year(dob)\"]},\n"
    "      {\"name\": \"names_year\", \"fields\": [\"nysiis(given_name)\", \"nysiis(family_name)\", \"year(dob)\", \"sex\"]},\n"
    "      {\"name\": \"provider_lopatid\", \"fields\": [\"provider\", \"local_patient_id\"], \"sources\": [\"hes\"]}\n"
    "    ],\n"
    "    \"training\": [\n"
    "      {\"name\": \"dob_district\", \"fields\": [\"dob\", \"district(postcode)\"]},\n"
    "      {\"name\": \"names_year\", \"fields\": [\"nysiis(given_name)\", \"nysiis(family_name)\", \"year(dob)\", \"sex\"]},\n"
    "      {\"name\": \"postcode_family\", \"fields\": [\"postcode\", \"soundex(family_name)\"]}\n"
    "    ],\n"
    "    \"threshold\": 0.95,\n"
    "    \"pairs_floor\": 0.01\n"
    "  },\n"
    "  \"episodes\": {\n"
    "    \"source\": \"hes\",\n"
    "    \"roles\": {\"provider\": \"provider\", \"admission_date\": \"admidate\", \"episode_start\": \"epistart\",\n"
    "              \"episode_end\": \"epiend\", \"discharge_date\": \"disdate\", \"episode_order\": \"epiorder\",\n"
    "              \"episode_status\": \"epistat\", \"admission_method\": \"admimeth\", \"admission_source\": \"admisorc\",\n"
    "              \"discharge_destination\": \"disdest\", \"discharge_method\": \"dismeth\", \"patient_class\": \"classpat\",\n"
    "              \"primary_diagnosis\": \"diag_4_01\"},\n"
    "    \"gp\": {\"source\": \"gp\", \"practice\": \"practice\", \"registration_start\": \"registration_date\",\n"
    "           \"registration_end\": \"deregistration_date\"},\n"
    "    \"cips\": \"ukhsa\"\n"
    "  },\n"
    "  \"output\": {\"csv\": false, \"row_group_rows\": 1048576, \"zstd_level\": 1,\n"
    "             \"match_rates_by\": [\"provider\", \"practice\"]}\n"
    "}\n";

/* Writes b as the file dir/name (temporary name, then renamed). */
static int write_whole(const char *dir, const char *name, const tsr__buf *b, tsr_error *err) {
  if (b->oom) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  return tsr__write_file(dir, name, b->p, b->len, err);
}

int tsr__gen_write_summary(const tsr_gen_opts *o, const tsr_gen_summary *s, tsr_error *err) {
  tsr__buf b;
  tsr__buf_init(&b, 8192);
  char line[512];
  snprintf(line, sizeof line,
           "{\n  \"generator\": \"tessera %s\",\n  \"scenario\": \"%s\",\n  \"seed\": %llu,\n  \"patients\": %llu,\n"
           "  \"households\": %llu,\n  \"communal_patients\": %llu,\n  \"twins\": %llu,\n"
           "  \"gp_rows\": %llu,\n  \"hes_rows\": %llu,\n  \"spells\": %llu,\n  \"cips\": %llu,\n"
           "  \"optout_type1\": %llu,\n  \"optout_ndoo\": %llu,\n",
           TSR_VERSION_STRING, o->scenario, (unsigned long long)o->seed, (unsigned long long)s->patients,
           (unsigned long long)s->households, (unsigned long long)s->communal_patients,
           (unsigned long long)s->twins, (unsigned long long)s->gp_rows, (unsigned long long)s->hes_rows,
           (unsigned long long)s->spells, (unsigned long long)s->cips, (unsigned long long)s->optout_type1,
           (unsigned long long)s->optout_ndoo);
  tsr__buf_puts(&b, line);
  tsr__buf_puts(&b, "  \"params\": {\n");
  for (size_t i = 0; i < tsr_gen_param_count(); i++) {
    const char *key;
    tsr_gen_param_info(i, &key, NULL, NULL, NULL);
    snprintf(line, sizeof line, "    \"%s\": %.6g%s\n", key, o->param[i], i + 1 < tsr_gen_param_count() ? "," : "");
    tsr__buf_puts(&b, line);
  }
  tsr__buf_puts(&b, "  },\n  \"errors\": {\n");
  int first = 1;
  for (size_t i = 0; i < tsr_gen_param_count(); i++) {
    const char *key;
    int is_err;
    tsr_gen_param_info(i, &key, NULL, NULL, &is_err);
    if (!is_err) continue;
    assert(s->events[i] <= s->eligible[i]);
    double rate = s->eligible[i] ? (double)s->events[i] / (double)s->eligible[i] : 0.0;
    snprintf(line, sizeof line,
             "%s    \"%s\": {\"configured\": %.6g, \"events\": %llu, \"eligible\": %llu, \"realised\": %.6g}",
             first ? "" : ",\n", key, o->param[i], (unsigned long long)s->events[i],
             (unsigned long long)s->eligible[i], rate);
    tsr__buf_puts(&b, line);
    first = 0;
  }
  tsr__buf_puts(&b, "\n  }\n}\n");
  int rc = write_whole(o->out_dir, "generate_summary.json", &b, err);
  tsr__buf_free(&b);
  return rc;
}

int tsr__gen_write_link_json(const tsr_gen_opts *o, tsr_error *err) {
  /* link.json: dates of birth are valid up to the end of the data period */
  tsr__buf lj;
  tsr__buf_init(&lj, sizeof k_link_json + 64);
  char end[16];
  int ey, em, ed;
  tsr__ymd_from_days(o->period_end, &ey, &em, &ed);
  snprintf(end, sizeof end, "%04d-%02d-%02d", ey, em, ed);
  for (const char *p = k_link_json; *p;) {
    const char *hit = strstr(p, "@END@");
    size_t n = hit ? (size_t)(hit - p) : strlen(p);
    tsr__buf_put(&lj, p, n);
    if (!hit) break;
    tsr__buf_puts(&lj, end);
    p = hit + 5;
  }
  int rc = write_whole(o->out_dir, "link.json", &lj, err);
  tsr__buf_free(&lj);
  return rc;
}
