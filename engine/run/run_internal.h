/* Internals of the run stage: the linkage result's layout, shared by run.c
 * (the driver), facts.c (per-patient facts) and stages.c (timing). Only
 * engine/run/ includes this header, and only engine/run/ includes the block
 * and cluster stages' internal headers. */
#ifndef TSR_RUN_INTERNAL_H
#define TSR_RUN_INTERNAL_H

#include "tessera/run.h"

struct tsr_linkage {
  const tsr_config *cfg;
  int threads;
  uint32_t ns;
  tsr_store **stores;      /* ns */
  tsr_ingest_stats *ist;   /* ns */
  uint64_t base[TSR_MAX_SOURCES + 1];
  uint64_t nrec;
  int64_t *pid;            /* nrec */
  uint8_t *step;           /* nrec */
  tsr_rule_stats *rules;   /* cfg->link.n_rules */
  uint32_t nrules;
  /* per patient */
  tsr_patient_facts facts;
  uint32_t *precords, *pby_source;
  int32_t *pfirst, *plast;
  uint64_t *nhs_min, *nhs_max;
  uint64_t linked; /* records in clusters of two or more */
  /* timing */
  double t_start;
  tsr_stage_time *stages;
  uint32_t nstages, cap_stages;
};

/* Fills the per-patient facts of L from its stores and patient ids. */
int tsr__run_facts(tsr_linkage *L, tsr_error *err);
/* Records a stage that began at t0 and logs it at INFO. */
int tsr__run_stage(tsr_linkage *L, const char *name, double t0, tsr_error *err);

#endif
