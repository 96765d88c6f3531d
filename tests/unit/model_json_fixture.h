/* A hand-built probabilistic config (one comparison of every kind, some
 * levels switched off, non-default options) and a model for it, shared by
 * the model JSON unit tests, its fuzz harness and the Splink interop case.
 * Built by hand so these tests do not depend on the config parser. */
#ifndef TSR_MODEL_JSON_FIXTURE_H
#define TSR_MODEL_JSON_FIXTURE_H

#include <math.h>
#include <string.h>

#include "model/model.h"
#include "tessera/config.h"

#define MJ_K 9
#define MJ_ALL(kind) (mj_all_bits(kind))

static inline uint32_t mj_all_bits(tsr_cmp_kind kind) {
  uint32_t n = 0;
  tsr_cmp_level_names(kind, &n);
  return (1u << n) - 1u;
}

typedef struct mj_fixture {
  tsr_config cfg;
  tsr_source_cfg src[2];
  tsr_cmp_cfg cmp[MJ_K];
  tsr_rule_cfg rules[3];
} mj_fixture;

static inline void mj_cmp_defaults(tsr_cmp_cfg *c, const char *name, tsr_cmp_kind kind, const char *field) {
  memset(c, 0, sizeof *c);
  c->name = (char *)name;
  c->kind = kind;
  c->field = (char *)field;
  c->enabled = mj_all_bits(kind);
  c->jw1 = 0.92, c->jw2 = 0.88;
  c->dl1 = 1, c->dl2 = 2;
  c->phonetic = 3;
  c->swap_jw = 0.92;
  c->within_days = 30, c->within_years = 1;
  c->m_start = 0.9;
}

static inline void mj_part(tsr_key_part *p, const char *text, const char *field, tsr_key_fn fn, tsr_field_kind kind) {
  p->text = (char *)text, p->field = (char *)field, p->fn = fn, p->kind = kind;
}

/* Sources gp and hes, link mode; nine comparisons:
 *   0 given     name      given_name; part off; jw 0.9/0.85; dl 1/3; tf
 *   1 names     full_name given_name, family_name; swap 0.95; only Soundex
 *   2 dob       date_of_birth; jan1 off; within 10 days, 2 years
 *   3 postcode  postcode; area off; tf
 *   4 nhs       nhs_number
 *   5 sex       sex
 *   6 practice  code; tf
 *   7 lopatid   local_id, scope provider
 *   8 suburb    text; jw2 and dl2 off */
static inline void mj_fixture_init(mj_fixture *f) {
  memset(f, 0, sizeof *f);
  f->src[0].name = (char *)"gp";
  f->src[1].name = (char *)"hes";
  f->cfg.sources = f->src;
  f->cfg.n_sources = 2;
  f->cfg.link.present = 1;
  f->cfg.link.mode = TSR_MODE_LINK;
  f->cfg.link.source_mask = 3;
  tsr_cmp_cfg *c = f->cmp;
  mj_cmp_defaults(&c[0], "given", TSR_CMP_NAME, "given_name");
  c[0].enabled &= ~(1u << 9); /* part */
  c[0].jw1 = 0.9, c[0].jw2 = 0.85, c[0].dl2 = 3, c[0].tf = 1;
  mj_cmp_defaults(&c[1], "names", TSR_CMP_FULL_NAME, "given_name");
  c[1].field2 = (char *)"family_name";
  c[1].swap_jw = 0.95, c[1].phonetic = 1;
  mj_cmp_defaults(&c[2], "dob", TSR_CMP_DOB, "dob");
  c[2].enabled &= ~(1u << 6); /* jan1 */
  c[2].within_days = 10, c[2].within_years = 2;
  mj_cmp_defaults(&c[3], "postcode", TSR_CMP_POSTCODE, "postcode");
  c[3].enabled &= ~(1u << 4); /* area */
  c[3].tf = 1;
  mj_cmp_defaults(&c[4], "nhs", TSR_CMP_NHS, "nhs_number");
  mj_cmp_defaults(&c[5], "sex", TSR_CMP_SEX, "sex");
  mj_cmp_defaults(&c[6], "practice", TSR_CMP_CODE, "practice");
  c[6].tf = 1;
  mj_cmp_defaults(&c[7], "lopatid", TSR_CMP_LOCAL_ID, "local_patient_id");
  c[7].field2 = (char *)"provider";
  mj_cmp_defaults(&c[8], "suburb", TSR_CMP_TEXT, "suburb");
  c[8].enabled &= ~((1u << 4) | (1u << 6)); /* jw2, dl2 */
  tsr_prob_cfg *pc = &f->cfg.prob;
  pc->present = 1;
  pc->cmp = f->cmp;
  pc->n_cmp = MJ_K;
  pc->tf_min = 1e-4;
  pc->seed = 42;
  /* blocking: nhs_number; family_name + year(dob); soundex(family_name) + sector(postcode), gp and hes */
  f->rules[0].name = (char *)"nhs";
  mj_part(&f->rules[0].parts[0], "nhs_number", "nhs_number", TSR_KEYFN_VALUE, TSR_KIND_NHS_NUMBER);
  f->rules[0].n_parts = 1;
  f->rules[0].source_mask = 3;
  f->rules[1].name = (char *)"family_year";
  mj_part(&f->rules[1].parts[0], "family_name", "family_name", TSR_KEYFN_VALUE, TSR_KIND_FAMILY_NAME);
  mj_part(&f->rules[1].parts[1], "year(dob)", "dob", TSR_KEYFN_YEAR, TSR_KIND_DATE);
  f->rules[1].n_parts = 2;
  f->rules[1].source_mask = 3;
  f->rules[2].name = (char *)"sdx_sector";
  mj_part(&f->rules[2].parts[0], "soundex(family_name)", "family_name", TSR_KEYFN_SOUNDEX, TSR_KIND_FAMILY_NAME);
  mj_part(&f->rules[2].parts[1], "sector(postcode)", "postcode", TSR_KEYFN_SECTOR, TSR_KIND_POSTCODE);
  f->rules[2].n_parts = 2;
  f->rules[2].source_mask = 1; /* gp only: the export restricts source_dataset */
  pc->blocking = f->rules;
  pc->n_blocking = 3;
}

/* A model for the fixture: per comparison, the enabled non-null levels get
 * m falling (the first 1 - sum of the rest) and u rising, with values that
 * are not binary fractions (0.1, 0.7...), so the round trip is tested on
 * doubles that print with 17 digits. */
static inline int mj_model(const tsr_prob_cfg *pc, tsr__model *md) {
  uint8_t nlev[TSR__MODEL_MAX_K];
  for (uint32_t k = 0; k < pc->n_cmp; k++) {
    uint32_t n = 0;
    tsr_cmp_level_names(pc->cmp[k].kind, &n);
    nlev[k] = (uint8_t)n;
  }
  int rc = tsr__model_init(md, pc->n_cmp, nlev, NULL);
  if (rc) return rc;
  for (uint32_t k = 0; k < pc->n_cmp; k++) {
    uint32_t on[TSR__MODEL_MAX_L], n = 0;
    for (uint32_t l = 1; l < md->nlev[k]; l++)
      if (pc->cmp[k].enabled & (1u << l)) on[n++] = l;
    double ms = 0.0, us = 0.0;
    for (uint32_t i = 1; i < n; i++) {
      md->m[k][on[i]] = 0.1 / (double)(i + k + 1);
      md->u[k][on[i - 1]] = 0.3 / (double)(n - i + k + 2);
      ms += md->m[k][on[i]];
      us += md->u[k][on[i - 1]];
    }
    md->m[k][on[0]] = 1.0 - ms;
    md->u[k][on[n - 1]] = 1.0 - us;
  }
  md->lambda = 0.0001234;
  tsr__model_weights(md);
  return 0;
}

#endif
