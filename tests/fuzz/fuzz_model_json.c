/* libFuzzer harness for the model JSON loader (tsr__model_parse) against the
 * fixture config of tests/unit/model_json_fixture.h (one comparison of every
 * kind): any bytes must give a model or a TSR_EPARSE / TSR_ECONFIG error
 * with a message and a zeroed model, never a crash or a leak. A model that
 * loads must save to text that loads again to the very same model. */
#include <stdlib.h>
#include <string.h>

#include "../unit/model_json_fixture.h"
#include "model/model_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mj_fixture f;
  static int ready;
  if (!ready) {
    mj_fixture_init(&f);
    ready = 1;
  }
  tsr__model md, md2;
  tsr__model_info info, info2;
  tsr_error err;
  tsr_error_clear(&err);
  int rc = tsr__model_parse((const char *)data, size, "fuzz.json", &f.cfg.prob, &md, &info, &err);
  if (rc != 0) {
    if ((rc != TSR_EPARSE && rc != TSR_ECONFIG) || !err.msg[0] || md.k != 0) abort();
    return 0;
  }
  if (md.k != MJ_K) abort();
  char *text = NULL;
  if (tsr__model_to_text(&f.cfg.prob, &md, &info, &text, &err) != 0) abort();
  if (tsr__model_parse(text, strlen(text), "again.json", &f.cfg.prob, &md2, &info2, &err) != 0) abort();
  if (memcmp(md.m, md2.m, sizeof md.m) || memcmp(md.u, md2.u, sizeof md.u) || memcmp(md.w, md2.w, sizeof md.w) ||
      md.lambda != md2.lambda || md.prior != md2.prior || memcmp(&info, &info2, sizeof info))
    abort();
  free(text);
  return 0;
}
