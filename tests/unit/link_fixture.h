/* Shared fixture of the block, cluster and link-config unit tests: two small
 * sources (gp, hes) written to a fresh directory, loaded under a link
 * section, ingested on one thread. gids: gp rows first (0..), then hes rows.
 * Helpers are static inline so a test file may use some of them. */
#ifndef TSR_TEST_LINK_FIXTURE_H
#define TSR_TEST_LINK_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "tessera/config.h"
#include "tessera/ingest.h"
#include "test_util.h"

static inline void write_file(const char *dir, const char *name, const char *data) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  cr_assert_not_null(f);
  fputs(data, f);
  fclose(f);
}

/* --- fixtures: two small sources ------------------------------------------ */

#define GP_HDR "id,nhs,dob,sex,pc,given,family\n"
#define HES_HDR "id,nhs,dob,sex,pc,provider,lpi\n"

#define K_CFG_FMT \
    "{\"sources\": [" \
    "{\"name\": \"gp\", \"path\": \"gp.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"text\"}," \
    " \"nhs\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"}, \"dob\": {\"kind\": \"date\"}," \
    " \"sex\": {\"kind\": \"sex\"}, \"pc\": {\"field\": \"postcode\", \"kind\": \"postcode\"}," \
    " \"given\": {\"field\": \"given_name\", \"kind\": \"given_name\"}," \
    " \"family\": {\"field\": \"family_name\", \"kind\": \"family_name\"}}}," \
    "{\"name\": \"hes\", \"path\": \"hes.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"text\"}," \
    " \"nhs\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"}, \"dob\": {\"kind\": \"date\"}," \
    " \"sex\": {\"kind\": \"sex\"}, \"pc\": {\"field\": \"postcode\", \"kind\": \"postcode\"}," \
    " \"provider\": {\"kind\": \"code\"}, \"lpi\": {\"field\": \"local_patient_id\", \"kind\": \"local_id\"}}}]," \
    " \"link\": %s}"

typedef struct fixture {
  tsr_config *cfg;
  tsr_store *stores[2];
  tsr__recset rs;
} fixture;

/* Two sources from gp.csv and hes.csv under the config text cfg. */
static inline void load_cfg(fixture *fx, const char *gp, const char *hes, const char *cfg) {
  char *dir = tsr_test_tmpdir("link");
  cr_assert_not_null(dir);
  write_file(dir, "gp.csv", gp);
  write_file(dir, "hes.csv", hes);
  write_file(dir, "run.json", cfg);
  char path[600];
  snprintf(path, sizeof path, "%s/run.json", dir);
  tsr_error err;
  int rc = tsr_config_load(path, &fx->cfg, &err);
  cr_assert_eq(rc, 0, "config: %s", err.msg);
  tsr_ingest_opts io;
  tsr_ingest_opts_init(&io);
  io.threads = 1;
  for (int s = 0; s < 2; s++) {
    rc = tsr_ingest_source(&fx->cfg->sources[s], &io, &fx->stores[s], NULL, &err);
    cr_assert_eq(rc, 0, "ingest: %s", err.msg);
  }
  tsr__recset_init(&fx->rs, (const tsr_store *const *)fx->stores, 2);
}

static inline void load(fixture *fx, const char *gp, const char *hes, const char *link_json) {
  char cfg[4096];
  snprintf(cfg, sizeof cfg, K_CFG_FMT, link_json);
  load_cfg(fx, gp, hes, cfg);
}

static inline void unload(fixture *fx) {
  for (int s = 0; s < 2; s++) tsr_store_free(fx->stores[s]);
  tsr_config_free(fx->cfg);
}

/* valid NHS numbers */
#define NA "9434765919"
#define NB "4010232137"
#define NC "4505577104"

#endif
