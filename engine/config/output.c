/* The "output" section of the run config: which files a run writes besides
 * the Parquet pair, and how the Parquet is laid out. Documented in
 * docs/config.md. */
#include "common/common_internal.h"
#include "config/config_internal.h"

void tsr__cfg_output_defaults(tsr_config *cfg) {
  cfg->output.csv = 0;
  cfg->output.row_group_rows = 1048576;
  cfg->output.zstd_level = 1;
}

int tsr__cfg_parse_output(tsr__cfg_ctx *c, const json_t *v, const char *base_dir, tsr_config *cfg) {
  static const char *const keys[] = {"csv", "row_group_rows", "zstd_level", NULL};
  (void)base_dir;
  if (!json_is_object(v)) return tsr__cfg_fail(c, "output", "expected an object, got %s", tsr__cfg_type_name(v));
  TSR_FORWARD_IF_ERROR(tsr__cfg_check_keys(c, v, "output", keys));
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_bool(c, v, "output", "csv", &cfg->output.csv));
  TSR_FORWARD_IF_ERROR(
      tsr__cfg_get_uint(c, v, "output", "row_group_rows", 1024, (uint64_t)1 << 30, &cfg->output.row_group_rows));
  uint64_t z = (uint64_t)cfg->output.zstd_level;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_uint(c, v, "output", "zstd_level", 0, 19, &z));
  cfg->output.zstd_level = (int)z;
  return 0;
}
