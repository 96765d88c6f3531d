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
    for (uint32_t i = 0; i < c->n_sources; i++)
      if (!c->sources[i].path || !c->sources[i].name || c->sources[i].n_columns == 0) abort();
    tsr_config_free(c);
  } else {
    if (c || !err.msg[0] || rc != TSR_ECONFIG) abort();
  }
  return 0;
}
