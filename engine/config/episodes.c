/* The "episodes" section of the run config: which source holds hospital
 * episodes, which of its fields plays each role of the spell rules
 * (DOMAIN.md), the GP source's practice and registration fields, and the
 * CIPS rule. Nothing is found by name: every role is mapped here, and each
 * mapped field must exist in its source with the kind the role needs.
 * Documented in docs/config.md. */
#include <stdio.h>
#include <string.h>

#include "common/common_internal.h"
#include "config/config_internal.h"

const char *tsr_cips_rule_name(tsr_cips_rule r) { return r == TSR_CIPS_HEALTH_FOUNDATION ? "health_foundation" : "ukhsa"; }

void tsr__cfg_episodes_defaults(tsr_config *cfg) {
  memset(&cfg->episodes, 0, sizeof cfg->episodes);
  cfg->episodes.source = -1;
  cfg->episodes.gp_source = -1;
  cfg->episodes.cips = TSR_CIPS_UKHSA;
}

/* obj[key] names a field of source si with kind `kind`; the copy goes to *out. */
static int get_field(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *key, const tsr_config *cfg,
                     int si, tsr_field_kind kind, char **out) {
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, key);
  const char *name = NULL;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, obj, path, key, 1, &name));
  const tsr_column_cfg *col = tsr__cfg_source_field(&cfg->sources[si], name);
  if (!col) return tsr__cfg_fail(c, p, "source \"%s\" has no field \"%s\"", cfg->sources[si].name, name);
  if (col->kind != kind)
    return tsr__cfg_fail(c, p, "field \"%s\" is of kind %s; this role needs a field of kind %s", name,
                         tsr_field_kind_name(col->kind), tsr_field_kind_name(kind));
  if (!(*out = tsr__cfg_strdup(c, name))) return TSR_ENOMEM;
  return 0;
}

static int get_source(tsr__cfg_ctx *c, const json_t *obj, const char *path, const tsr_config *cfg, int *out) {
  const char *name = NULL;
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, "source");
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, obj, path, "source", 1, &name));
  int si = tsr_config_source_index(cfg, name);
  if (si < 0) return tsr__cfg_fail(c, p, "no source is named \"%s\"", name);
  *out = si;
  return 0;
}

static int parse_gp(tsr__cfg_ctx *c, const json_t *v, tsr_config *cfg) {
  static const char *const keys[] = {"source", "practice", "registration_start", "registration_end", NULL};
  tsr_episodes_cfg *e = &cfg->episodes;
  if (!json_is_object(v)) return tsr__cfg_fail(c, "episodes.gp", "expected an object, got %s", tsr__cfg_type_name(v));
  TSR_FORWARD_IF_ERROR(tsr__cfg_check_keys(c, v, "episodes.gp", keys));
  TSR_FORWARD_IF_ERROR(get_source(c, v, "episodes.gp", cfg, &e->gp_source));
  TSR_FORWARD_IF_ERROR(get_field(c, v, "episodes.gp", "practice", cfg, e->gp_source, TSR_KIND_CODE, &e->practice));
  TSR_FORWARD_IF_ERROR(
      get_field(c, v, "episodes.gp", "registration_start", cfg, e->gp_source, TSR_KIND_DATE, &e->reg_start));
  TSR_FORWARD_IF_ERROR(
      get_field(c, v, "episodes.gp", "registration_end", cfg, e->gp_source, TSR_KIND_DATE, &e->reg_end));
  e->gp_present = 1;
  return 0;
}

int tsr__cfg_parse_episodes(tsr__cfg_ctx *c, const json_t *v, const char *base_dir, tsr_config *cfg) {
  static const char *const keys[] = {"source", "roles", "gp", "cips", NULL};
  static const char *const role_keys[] = {
#define TSR__EPR_KEY(id, key, kind) key,
      TSR_EP_ROLE_LIST(TSR__EPR_KEY)
#undef TSR__EPR_KEY
          NULL};
  static const tsr_field_kind role_kind[] = {
#define TSR__EPR_KIND(id, key, kind) kind,
      TSR_EP_ROLE_LIST(TSR__EPR_KIND)
#undef TSR__EPR_KIND
  };
  (void)base_dir;
  tsr_episodes_cfg *e = &cfg->episodes;
  if (!json_is_object(v)) return tsr__cfg_fail(c, "episodes", "expected an object, got %s", tsr__cfg_type_name(v));
  TSR_FORWARD_IF_ERROR(tsr__cfg_check_keys(c, v, "episodes", keys));
  TSR_FORWARD_IF_ERROR(get_source(c, v, "episodes", cfg, &e->source));
  const json_t *roles = json_object_get(v, "roles");
  if (!roles) return tsr__cfg_fail(c, "episodes.roles", "required key is missing");
  if (!json_is_object(roles))
    return tsr__cfg_fail(c, "episodes.roles", "expected an object, got %s", tsr__cfg_type_name(roles));
  TSR_FORWARD_IF_ERROR(tsr__cfg_check_keys(c, roles, "episodes.roles", role_keys));
  for (int r = 0; r < TSR_EP_ROLE_COUNT; r++)
    TSR_FORWARD_IF_ERROR(get_field(c, roles, "episodes.roles", role_keys[r], cfg, e->source, role_kind[r], &e->role[r]));
  const char *cips = NULL;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, v, "episodes", "cips", 0, &cips));
  if (cips) {
    if (strcmp(cips, "ukhsa") == 0)
      e->cips = TSR_CIPS_UKHSA;
    else if (strcmp(cips, "health_foundation") == 0)
      e->cips = TSR_CIPS_HEALTH_FOUNDATION;
    else
      return tsr__cfg_fail(c, "episodes.cips", "expected \"ukhsa\" or \"health_foundation\", got \"%s\"", cips);
  }
  const json_t *gp = json_object_get(v, "gp");
  if (gp) TSR_FORWARD_IF_ERROR(parse_gp(c, gp, cfg));
  e->present = 1;
  return 0;
}
