/* Stage timing of a run (tessera/run.h): each stage's wall-clock seconds and
 * the process peak RSS when it ended, in the order the stages ran. The
 * report prints them; the log shows them at INFO as they finish. */
#include <stdio.h>
#include <string.h>

#include "common/common_internal.h"
#include "run/run_internal.h"

double tsr_run_clock(void) { return tsr__now(); }

double tsr_linkage_elapsed(const tsr_linkage *L) { return tsr__now() - L->t_start; }

int tsr__run_stage(tsr_linkage *L, const char *name, double t0, tsr_error *err) {
  if (L->nstages == L->cap_stages) {
    uint32_t cap = L->cap_stages ? 2 * L->cap_stages : 16;
    tsr_stage_time *s = tsr__realloc(L->stages, sizeof *s * cap);
    if (!s) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    L->stages = s;
    L->cap_stages = cap;
  }
  tsr_stage_time *t = &L->stages[L->nstages++];
  memset(t, 0, sizeof *t);
  snprintf(t->name, sizeof t->name, "%s", name);
  t->seconds = tsr__now() - t0;
  t->peak_rss_bytes = tsr__peak_rss();
  TSR_LOG_I("%s: %.2f s", name, t->seconds);
  return 0;
}

int tsr_linkage_add_stage(tsr_linkage *L, const char *name, double t0) { return tsr__run_stage(L, name, t0, NULL); }

uint32_t tsr_linkage_nstages(const tsr_linkage *L) { return L->nstages; }

const tsr_stage_time *tsr_linkage_stage(const tsr_linkage *L, uint32_t i) {
  return i < L->nstages ? &L->stages[i] : NULL;
}
