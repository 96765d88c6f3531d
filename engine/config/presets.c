/* The named rule sets of DOMAIN.md ("hesid", "cprd_hes", "names"), usable
 * as "link": {"rules": "<name>"} or with `--rules <name>`. Each step runs on
 * the sources that have all of its fields; a step no source can run is
 * dropped. */
#include <string.h>

#include "common/common_internal.h"
#include "config/config_internal.h"

typedef struct preset_step {
  const char *name;
  const char *parts[TSR_MAX_KEY_PARTS];
  int merge;
} preset_step;
typedef struct preset {
  const char *name;
  const preset_step *steps;
  uint32_t n;
} preset;

/* DOMAIN.md: the HES patient identifier's three steps. */
static const preset_step k_hesid[] = {
    {"hesid_1", {"sex", "dob", "nhs_number"}, 0},
    {"hesid_2", {"sex", "dob", "postcode", "provider", "local_patient_id"}, 0},
    {"hesid_3", {"sex", "dob", "postcode"}, 0},
};
/* DOMAIN.md: CPRD-HES style ranks, from most to least specific. */
static const preset_step k_cprd[] = {
    {"cprd_1", {"nhs_number", "sex", "dob", "postcode"}, 0},
    {"cprd_2", {"nhs_number", "sex", "dob"}, 1},
    {"cprd_3", {"nhs_number", "dob", "postcode"}, 1},
    {"cprd_4", {"nhs_number", "dob"}, 1},
    {"cprd_5", {"nhs_number", "postcode"}, 1},
    {"cprd_6", {"nhs_number", "sex", "year(dob)"}, 1},
    {"cprd_7", {"nhs_number", "sex"}, 1},
    {"cprd_8", {"nhs_number"}, 1},
};
/* DOMAIN.md: the name-based steps used to link school records. */
static const preset_step k_names[] = {
    {"names_1", {"given_name", "family_name", "dob", "sex", "postcode"}, 0},
    {"names_2", {"soundex(given_name)", "soundex(family_name)", "dob", "sex", "postcode"}, 0},
    {"names_3", {"initial(given_name)", "first3(family_name)", "dob", "sex", "postcode"}, 0},
    {"names_4", {"initial(given_name)", "first3(family_name)", "dob", "sex"}, 0},
    {"names_5", {"given_name", "family_name", "dob"}, 0},
    {"names_6", {"given_name", "family_name", "year_month(dob)"}, 0},
};
static const preset k_presets[] = {
    {"hesid", k_hesid, sizeof k_hesid / sizeof k_hesid[0]},
    {"cprd_hes", k_cprd, sizeof k_cprd / sizeof k_cprd[0]},
    {"names", k_names, sizeof k_names / sizeof k_names[0]},
};
static const char *const k_preset_names[] = {"hesid", "cprd_hes", "names", NULL};

const char *const *tsr_config_presets(void) { return k_preset_names; }

int tsr__cfg_build_preset(tsr__cfg_ctx *c, const char *path, tsr_config *cfg, const char *name) {
  const preset *pr = NULL;
  for (size_t i = 0; i < sizeof k_presets / sizeof k_presets[0]; i++)
    if (strcmp(k_presets[i].name, name) == 0) pr = &k_presets[i];
  if (!pr) return tsr__cfg_fail(c, path, "unknown preset \"%s\" (expected hesid, cprd_hes or names)", name);
  tsr_link_cfg *l = &cfg->link;
  if (!(l->rules = tsr__cfg_alloc(c, sizeof(tsr_rule_cfg) * pr->n))) return TSR_ENOMEM;
  if (!(l->preset = tsr__cfg_strdup(c, name))) return TSR_ENOMEM;
  l->n_rules = 0;
  for (uint32_t i = 0; i < pr->n; i++) {
    tsr_rule_cfg *r = &l->rules[l->n_rules];
    memset(r, 0, sizeof *r);
    if (!(r->name = tsr__cfg_strdup(c, pr->steps[i].name))) return TSR_ENOMEM;
    r->merge = pr->steps[i].merge;
    for (const char *const *p = pr->steps[i].parts; *p && r->n_parts < TSR_MAX_KEY_PARTS; p++)
      TSR_FORWARD_IF_ERROR(tsr__cfg_parse_part(c, path, *p, &r->parts[r->n_parts++]));
    r->source_mask = l->source_mask;
    int rc = tsr__cfg_check_rule(c, path, cfg, r, 1);
    if (rc < 0) return rc;
    if (rc == 0) l->n_rules++;
  }
  if (l->n_rules == 0)
    return tsr__cfg_fail(c, path, "preset \"%s\": no step can run, the sources lack the fields it needs", name);
  return 0;
}

int tsr_config_use_preset(tsr_config *cfg, const char *preset_name, tsr_error *err) {
  tsr__cfg_owner *o = (tsr__cfg_owner *)cfg;
  tsr__cfg_ctx c = {cfg->path, err, &o->arena};
  /* without a "link" section: link every source with every other and
   * within each; the "output" section stays as configured */
  if (!cfg->link.present) {
    tsr__cfg_link_defaults(cfg);
    cfg->link.present = 1;
    if (cfg->n_sources >= 2) cfg->link.mode = TSR_MODE_BOTH;
  }
  return tsr__cfg_build_preset(&c, "--rules", cfg, preset_name);
}
