/* Internals of the run stage: the linkage result's layout, shared by run.c
 * (the driver), facts.c (per-patient facts) and stages.c (timing). Only
 * engine/run/ includes this header, and only engine/run/ includes the block
 * and cluster stages' internal headers. */
#ifndef TSR_RUN_INTERNAL_H
#define TSR_RUN_INTERNAL_H

#include "tessera/run.h"

#include "model/model.h"

struct tsr__recset;

/* --- the probabilistic stage (prob.c) ------------------------------------------- */
#define TSR__PROB_MAX_RULES 64 /* blocking and training rules each */
#define TSR__PROB_OVER 20      /* oversize clusters reported */
#define TSR__PROB_DEGEN 32
#define TSR__PROB_FALL 6

typedef struct tsr__prob_opts {
  const char *model_path; /* NULL: train in the run */
  double threshold;       /* > 0: overrides the config's */
  int no_precollapse;     /* score every pair (tests compare the two) */
} tsr__prob_opts;

typedef struct tsr__prob {
  tsr__model md;
  int loaded;
  char model_path[1024];
  uint64_t u_pairs_loaded;
  int threads;
  double threshold, threshold_weight, floor_weight, pairs_scope;
  /* u */
  tsr__u_result ures;
  double u_seconds;
  /* training */
  uint64_t rule_all_pairs[TSR__PROB_MAX_RULES]; /* exact, or estimated from the sample */
  double rule_sample[TSR__PROB_MAX_RULES];      /* share of records a rule trained on */
  uint64_t rule_train_pairs[TSR__PROB_MAX_RULES]; /* pairs it trained on */
  uint64_t train_pairs;
  double train_seconds, em_seconds;
  tsr__em_result em[TSR__PROB_MAX_RULES];
  uint32_t em_rule[TSR__PROB_MAX_RULES], n_em;
  uint32_t untrained, em_iterations;
  double em_matches, lambda_em, lambda_rules;
  tsr__level_ref degenerate[TSR__PROB_DEGEN];
  uint32_t n_degenerate;
  uint64_t tf_values[TSR__MODEL_MAX_K];
  int tf_on[TSR__MODEL_MAX_K];
  /* scoring */
  uint64_t rule_pairs[TSR__PROB_MAX_RULES], rule_capped[TSR__PROB_MAX_RULES];
  uint64_t pairs_candidates, pairs_scored, pairs_precollapsed, pairs_same_cluster, pairs_two_clusters;
  uint64_t pairs_above;
  double score_seconds, seconds;
  uint64_t level_pairs[TSR__MODEL_MAX_K][TSR__MODEL_MAX_L];
  uint64_t hist[256 * 16]; /* S (weight without the prior) in 1/16-bit bins from -128 bits */
  /* pairs at or above the floor, sorted by (a, b) */
  uint64_t np;
  uint32_t *pa, *pb, *ppat;
  uint16_t *prule;
  double *pw;
  uint8_t *plinked;
  /* clusters */
  uint64_t c_accepted, c_redundant, c_vetoed, c_one_to_one, c_kept_apart, c_split, records_linked;
  double *rec_w; /* per gid: the weight of the strongest accepted edge of a record the stage linked; NaN */
  uint32_t n_over, over_root[TSR__PROB_OVER], over_size[TSR__PROB_OVER];
  uint64_t over_edge[TSR__PROB_OVER];
  /* waterfall */
  uint64_t fall[TSR__PROB_FALL];
  uint32_t n_fall;
  double fall_tf[TSR__PROB_FALL][TSR__MODEL_MAX_K];
} tsr__prob;

/* Scores the blocking rules' pairs and links what the steps left: unions
 * into parent, sets L->step (nrules + 1) of records it linked, fills L->prob. */
int tsr__run_prob(tsr_linkage *L, const struct tsr__recset *rs, uint32_t *parent, const tsr__prob_opts *po,
                  tsr_error *err);
void tsr__prob_free(tsr__prob *P);

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
  tsr__prob *prob;  /* NULL: no probabilistic stage */
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
