/* The generator's parameter catalogue: defaults, scenarios, and setting a
 * parameter by name. Everything comes from the TSR_GEN_PARAMS list. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "generate/gen_internal.h"

_Static_assert(TSR__GP_COUNT <= TSR_GEN_MAX_PARAMS, "raise TSR_GEN_MAX_PARAMS");

typedef struct {
  const char *key;
  int kind;
  double def, hard;
  const char *desc;
} param_def;

static const param_def k_params[TSR__GP_COUNT] = {
#define TSR__GP_DEF(id, key, kind, def, hard, desc) {key, TSR__PK_##kind, def, hard, desc},
    TSR_GEN_PARAMS(TSR__GP_DEF)
#undef TSR__GP_DEF
};

void tsr_gen_opts_init(tsr_gen_opts *o) {
  memset(o, 0, sizeof *o);
  o->seed = 1;
  o->threads = 0;
  o->period_start = tsr__days_from_ymd(2015, 4, 1);
  o->period_end = tsr__days_from_ymd(2025, 3, 31);
  (void)tsr_gen_opts_scenario(o, "default", NULL);
}

int tsr_gen_opts_scenario(tsr_gen_opts *o, const char *name, tsr_error *err) {
  int which;
  if (strcmp(name, "default") == 0)
    which = 0;
  else if (strcmp(name, "clean") == 0)
    which = 1;
  else if (strcmp(name, "hard") == 0)
    which = 2;
  else
    return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0,
                         "unknown scenario '%s' (expected one of: default, clean, hard)", name);
  for (int i = 0; i < TSR__GP_COUNT; i++) {
    const param_def *p = &k_params[i];
    o->param[i] = which == 2 ? p->hard : (which == 1 && p->kind == TSR__PK_E) ? 0.0 : p->def;
  }
  snprintf(o->scenario, sizeof o->scenario, "%s", name);
  return 0;
}

size_t tsr_gen_param_count(void) { return TSR__GP_COUNT; }

int tsr_gen_param_info(size_t i, const char **key, const char **desc, double *default_value,
                       int *is_error_rate) {
  if (i >= TSR__GP_COUNT) return TSR_EINVAL;
  if (key) *key = k_params[i].key;
  if (desc) *desc = k_params[i].desc;
  if (default_value) *default_value = k_params[i].def;
  if (is_error_rate) *is_error_rate = k_params[i].kind == TSR__PK_E;
  return 0;
}

/* Parameters that are not shares in [0, 1]. */
static int is_unbounded(int i) {
  return i == TSR__GP_POP_MOVES || i == TSR__GP_HES_MEAN || i == TSR__GP_HES_SHAPE;
}

int tsr_gen_opts_set(tsr_gen_opts *o, const char *key, const char *value, tsr_error *err) {
  for (int i = 0; i < TSR__GP_COUNT; i++) {
    if (strcmp(k_params[i].key, key) != 0) continue;
    char *end = NULL;
    errno = 0;
    double v = strtod(value, &end);
    if (errno || end == value || *end != '\0' || !isfinite(v))
      return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "parameter %s: expected a number, got '%s'", key, value);
    if (is_unbounded(i)) {
      if (v < 0.0 || v > 1000.0 || (i == TSR__GP_HES_SHAPE && v <= 0.0))
        return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "parameter %s: expected a number in %s, got '%s'", key,
                             i == TSR__GP_HES_SHAPE ? "(0, 1000]" : "[0, 1000]", value);
    } else if (v < 0.0 || v > 1.0) {
      return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "parameter %s: expected a share in [0, 1], got '%s'", key,
                           value);
    }
    o->param[i] = v;
    return 0;
  }
  return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0,
                       "unknown generator parameter '%s' (tessera generate --list-params shows them)", key);
}
