/* libFuzzer harness for the run-configuration parser: any bytes must give a
 * config or a TSR_ECONFIG error with a message, never a crash or a leak. */
#include <stdlib.h>
#include <string.h>

#include "tessera/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tsr_config *c = NULL;
  tsr_error err;
  int rc = tsr_config_parse((const char *)data, size, "fuzz.json", "/base", &c, &err);
  if (rc == 0) {
    if (!c || c->n_sources == 0) abort();
    for (uint32_t i = 0; i < c->n_sources; i++) {
      const tsr_source_cfg *s = &c->sources[i];
      if (!s->path || !s->name || s->n_columns == 0) abort();
      /* a compiled date layout holds the date only: 3 to 8 parts, with or
       * without a time part after it */
      for (uint32_t k = 0; k < s->n_columns; k++) {
        const tsr_column_cfg *col = &s->columns[k];
        if (col->kind != TSR_KIND_DATE) continue;
        if (col->n_formats < 1 || col->n_formats > TSR_MAX_DATE_FORMATS) abort();
        for (uint8_t f = 0; f < col->n_formats; f++)
          if (col->formats[f].n < 3 || col->formats[f].n > 8 || col->formats[f].has_time > 1) abort();
      }
    }
    tsr_config_free(c);
  } else {
    if (c || !err.msg[0] || rc != TSR_ECONFIG) abort();
  }
  return 0;
}
