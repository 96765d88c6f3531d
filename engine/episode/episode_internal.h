/* Internal interface of the episode stage: the columnar input the spell and
 * CIPS rules read (so unit tests can hand-build cases without a linkage),
 * the per-code flags, and the result arrays the writer reads.
 *
 * DESIGN
 *   core.c    tsr__ep_run: finished episodes counting-sorted by patient,
 *             then per patient (in parallel, disjoint slots): sort, spells,
 *             spell order, CIPS, registration periods, practice at admission
 *   episode.c store columns -> tsr__ep_input (code text -> flags, code ranks),
 *             the public API, Parquet writers, report JSON
 *
 *   Patients are cut into fixed chunks; a first pass counts each chunk's
 *   spells, CIPS and periods, a prefix sum gives each chunk its place, and
 *   a second pass rebuilds each patient's spells and writes them there, so
 *   every thread count gives the same arrays. */
#ifndef TSR_EPISODE_INTERNAL_H
#define TSR_EPISODE_INTERNAL_H

#include <stdint.h>

#include "tessera/config.h"
#include "tessera/episode.h"

/* Flags of one episode, from its code values (compared as text). */
enum {
  TSR__EPF_FINISHED = 1 << 0,   /* episode status "3" */
  TSR__EPF_CONT = 1 << 1,       /* discharge method 8 or 9: still in hospital */
  TSR__EPF_DIED = 1 << 2,       /* discharge method 4 */
  TSR__EPF_REGULAR = 1 << 3,    /* patient class 3 or 4 */
  TSR__EPF_U_DEST = 1 << 4,     /* ukhsa: discharge destination 49-53 or 84 */
  TSR__EPF_U_SRC = 1 << 5,      /* ukhsa: admission source 49-53 or 87 */
  TSR__EPF_H_DEST = 1 << 6,     /* health_foundation: discharge destination 51-53 */
  TSR__EPF_H_SRC = 1 << 7,      /* health_foundation: admission source 51-53 */
  TSR__EPF_TRANSFER = 1 << 8    /* admission method 2B or 81 */
};

/* The flags a code value `text` (len bytes) of role gives. */
uint16_t tsr__ep_code_flags(tsr_ep_role role, const char *text, uint32_t len);

typedef struct tsr__ep_input {
  uint64_t n;               /* episodes */
  uint64_t npatients;       /* patient ids are 1..npatients */
  const int64_t *pid;       /* [n] */
  const uint32_t *provider; /* [n] rank of the provider text (0 = missing) */
  const int32_t *admidate, *epistart, *epiend, *disdate; /* [n] TSR_DATE_NONE = missing */
  const int64_t *epiorder;  /* [n] TSR_INT_NONE = missing */
  const uint16_t *flags;    /* [n] TSR__EPF_* */
  const struct tsr_store *keys; /* the episodes' store: the episode key (record id) breaks ties after
                                   start, end and order (DOMAIN.md), numerically when both keys are
                                   digits; NULL: the row order does (hand-made test inputs) */
  /* GP registrations (ngp = 0 without GP data) */
  uint64_t ngp;
  const int64_t *gp_pid;
  const uint32_t *gp_practice; /* rank of the practice text (0 = missing: skipped) */
  const int32_t *gp_start, *gp_end;
  int have_gp;
  tsr_cips_rule cips;
  int threads;
} tsr__ep_input;

#define TSR__EP_NONE UINT32_MAX

/* The result, kept compact (every byte of it is first-touched memory, which
 * is what the stage spends most of its time on): what can be derived from
 * the input is derived by the accessors below instead of stored. */
typedef struct tsr__ep_result {
  tsr__ep_input in;             /* the input (arrays borrowed: they must outlive the result) */
  /* per episode row */
  uint32_t *ep_spell;           /* spell_id (spell index + 1); 0 = not finished */
  uint32_t *ep_order;           /* order in the spell, from 1; 0 = not finished */
  /* per spell, spell_id - 1: a patient's spells are contiguous, in id order */
  uint64_t nspells;
  uint32_t *sp_first, *sp_last; /* episode rows */
  uint32_t *sp_cips;            /* CIPS index (cips_id - 1) */
  uint32_t *sp_episodes;
  uint32_t *sp_reg;             /* registration period (index) at admission, TSR__EP_NONE */
  /* per CIPS, cips_id - 1: its spells are ci_first[c] .. ci_first[c + 1] - 1 */
  uint64_t ncips;
  uint32_t *ci_first;           /* [ncips + 1] */
  int32_t *ci_disdate;
  uint32_t *ci_providers;
  /* per registration period */
  uint64_t nregs;
  uint32_t *rg_row;             /* a GP row of the period (its patient and practice) */
  int32_t *rg_start, *rg_end;   /* end TSR_DATE_NONE = open */
  tsr_episode_stats st;
} tsr__ep_result;

static inline int64_t tsr__ep_spell_id(const tsr__ep_result *R, uint64_t row) { return R->ep_spell[row]; }
static inline int64_t tsr__ep_cips_id(const tsr__ep_result *R, uint64_t row) {
  return R->ep_spell[row] ? (int64_t)R->sp_cips[R->ep_spell[row] - 1] + 1 : 0;
}
static inline int32_t tsr__ep_spell_order(const tsr__ep_result *R, uint64_t row) { return (int32_t)R->ep_order[row]; }
static inline int64_t tsr__ep_sp_patient(const tsr__ep_result *R, uint64_t s) { return R->in.pid[R->sp_first[s]]; }
/* the spell's cips_id (1-based) */
static inline int64_t tsr__ep_sp_cips(const tsr__ep_result *R, uint64_t s) { return (int64_t)R->sp_cips[s] + 1; }
static inline int64_t tsr__ep_ci_patient(const tsr__ep_result *R, uint64_t c) {
  return R->in.pid[R->sp_first[R->ci_first[c]]];
}
static inline int32_t tsr__ep_ci_admidate(const tsr__ep_result *R, uint64_t c) {
  return R->in.admidate[R->sp_first[R->ci_first[c]]];
}
static inline int32_t tsr__ep_ci_spells(const tsr__ep_result *R, uint64_t c) {
  return (int32_t)(R->ci_first[c + 1] - R->ci_first[c]);
}
static inline int64_t tsr__ep_rg_patient(const tsr__ep_result *R, uint64_t g) { return R->in.gp_pid[R->rg_row[g]]; }
static inline uint32_t tsr__ep_rg_practice(const tsr__ep_result *R, uint64_t g) {
  return R->in.gp_practice[R->rg_row[g]];
}

/* Runs the rules. Returns 0, TSR_ENOMEM or TSR_ELIMIT (4G finished
 * episodes or more); *res must be freed with
 * tsr__ep_result_free (also after a failure). */
int tsr__ep_run(const tsr__ep_input *in, tsr__ep_result *res);
void tsr__ep_result_free(tsr__ep_result *res);

#endif
