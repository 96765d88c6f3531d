/* The "output" section of the run config: which files a run writes besides
 * the Parquet pair, and how the Parquet is laid out. Documented in
 * docs/config.md. */
#include <stdio.h>

#include "common/common_internal.h"
#include "config/config_internal.h"

void tsr__cfg_output_defaults(tsr_config *cfg) {
  cfg->output.csv = 0;
  cfg->output.row_group_rows = 1048576;
  cfg->output.zstd_level = 1;
  cfg->output.match_rates_by = NULL;
  cfg->output.n_match_rates_by = 0;
  cfg->output.match_rates_set = 0;
}

/* "match_rates_by": names of code fields (in any source) whose values get a
 * table of match rates in report.json and report.html. */
static int parse_rates_by(tsr__cfg_ctx *c, const json_t *v, tsr_config *cfg) {
  const json_t *a = json_object_get(v, "match_rates_by");
  if (!a) return 0;
  if (!json_is_array(a))
    return tsr__cfg_fail(c, "output.match_rates_by", "expected an array of field names, got %s",
                         tsr__cfg_type_name(a));
  size_t n = json_array_size(a);
  cfg->output.match_rates_set = 1;
  if (n == 0) return 0;
  cfg->output.match_rates_by = tsr__cfg_alloc(c, sizeof(char *) * n);
  if (!cfg->output.match_rates_by) return TSR_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    char path[64];
    snprintf(path, sizeof path, "output.match_rates_by[%zu]", i);
    const json_t *e = json_array_get(a, i);
    if (!json_is_string(e)) return tsr__cfg_fail(c, path, "expected a field name, got %s", tsr__cfg_type_name(e));
    const char *name = json_string_value(e);
    int found = 0, code = 0;
    for (uint32_t s = 0; s < cfg->n_sources; s++) {
      const tsr_column_cfg *col = tsr__cfg_source_field(&cfg->sources[s], name);
      if (col) {
        found = 1;
        code |= col->kind == TSR_KIND_CODE;
      }
    }
    if (!found) return tsr__cfg_fail(c, path, "unknown field \"%s\": no source has it", name);
    if (!code) return tsr__cfg_fail(c, path, "field \"%s\" is not a code field (match rates go by code values)", name);
    if (!(cfg->output.match_rates_by[i] = tsr__cfg_strdup(c, name))) return TSR_ENOMEM;
  }
  cfg->output.n_match_rates_by = (uint32_t)n;
  return 0;
}

int tsr__cfg_parse_output(tsr__cfg_ctx *c, const json_t *v, const char *base_dir, tsr_config *cfg) {
  static const char *const keys[] = {"csv", "row_group_rows", "zstd_level", "match_rates_by", NULL};
  (void)base_dir;
  if (!json_is_object(v)) return tsr__cfg_fail(c, "output", "expected an object, got %s", tsr__cfg_type_name(v));
  TSR_FORWARD_IF_ERROR(tsr__cfg_check_keys(c, v, "output", keys));
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_bool(c, v, "output", "csv", &cfg->output.csv));
  TSR_FORWARD_IF_ERROR(
      tsr__cfg_get_uint(c, v, "output", "row_group_rows", 1024, (uint64_t)1 << 30, &cfg->output.row_group_rows));
  uint64_t z = (uint64_t)cfg->output.zstd_level;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_uint(c, v, "output", "zstd_level", 0, 19, &z));
  cfg->output.zstd_level = (int)z;
  return parse_rates_by(c, v, cfg);
}
