/* Model stage: the Fellegi-Sunter model core. Comparison levels packed into
 * agreement patterns, match weights and probabilities, per-pattern counts,
 * EM for m and the prior over those counts (fastLink style, per blocking
 * rule with the rule's own comparisons left out), u from value frequencies
 * and from random record pairs, the degenerate-fit check and term-frequency
 * adjustments. Internal API (tsr__*); the config, CLI and pipeline build on
 * it. docs/design/model.md explains the maths and the test tolerances.
 *
 * DESIGN
 *   A comparison k has L_k levels (2 <= L_k <= 16): 0 = null (either side
 *   missing), then most to least similar, `else` last. A pattern packs the
 *   levels of all K comparisons (K <= 16) into one uint32_t with a width of
 *   ceil(log2 L_k) bits per comparison (at least 1), comparison 0 lowest:
 *
 *     bit 31                                          bit 0
 *     [ unused | gamma_{K-1} | ... | gamma_1 | gamma_0 ]
 *                 bits[K-1]           bits[1]   bits[0]
 *
 *   Eight comparisons of up to 16 levels fit (8 x 4 bits); so do sixteen of
 *   up to 4 levels. A model whose widths add up to more than 32 bits is
 *   refused with TSR_ELIMIT at tsr__model_init (no silent truncation).
 *
 *   Weights are quantised to multiples of 2^-32 bit (TSR__WQ), far below
 *   any meaningful difference. Sums of such values below 2^20 in magnitude
 *   are exact in a double, so a pair weight is the same number whatever
 *   order or grouping sums it: the per-pattern table (groups of
 *   comparisons), a SIMD loop and the plain loop in comparison order all
 *   agree bit for bit, at any thread count. */
#ifndef TSR_MODEL_H
#define TSR_MODEL_H

#include <stdint.h>

#include "tessera/common.h"

#define TSR__MODEL_MAX_K 16 /* comparisons */
#define TSR__MODEL_MAX_L 16 /* levels per comparison, null included */
#define TSR__W_MAX 60.0     /* |weight| cap in bits (u or m of 0 would be infinite) */
#define TSR__WQ 0x1p-32     /* weight quantum */

typedef struct tsr__model {
  uint32_t k;                           /* comparisons */
  uint8_t nlev[TSR__MODEL_MAX_K];       /* L_k, null level included */
  uint8_t shift[TSR__MODEL_MAX_K];      /* packing: first bit of comparison k */
  uint8_t bits[TSR__MODEL_MAX_K];       /* packing: width of comparison k */
  double m[TSR__MODEL_MAX_K][TSR__MODEL_MAX_L]; /* P(level | match); [k][0] unused (0) */
  double u[TSR__MODEL_MAX_K][TSR__MODEL_MAX_L]; /* P(level | non-match); [k][0] unused (0) */
  double w[TSR__MODEL_MAX_K][TSR__MODEL_MAX_L]; /* log2(m/u), quantised; [k][0] = 0 */
  double lambda;                        /* P(match) over all pairs in scope */
  double prior;                         /* log2(lambda / (1 - lambda)), quantised */
} tsr__model;

/* A (comparison, level) reference, e.g. a level that failed a check. */
typedef struct tsr__level_ref {
  uint8_t k, level;
} tsr__level_ref;

/* --- model, packing, weights --------------------------------------------------- */

/* Zeroes md and sets k comparisons with nlev[k] levels each (null included,
 * 2..16) and their packing. m and u start at 0, lambda at 0.5.
 * Returns 0, TSR_EINVAL (k of 0 or above 16, a level count out of range) or
 * TSR_ELIMIT (the packed widths pass 32 bits); err says which. */
int tsr__model_init(tsr__model *md, uint32_t k, const uint8_t *nlev, tsr_error *err);

/* Strong-prior starting m for EM: per comparison, the first agreement level
 * gets `first` (e.g. 0.95 for an exact NHS number, 0.9 by default) and the
 * other non-null levels share 1 - first equally. */
void tsr__model_prior_m(tsr__model *md, uint32_t k, double first);

static inline uint32_t tsr__pattern_level(const tsr__model *md, uint32_t pattern, uint32_t k) {
  return (pattern >> md->shift[k]) & ((1u << md->bits[k]) - 1u);
}
/* Packs levels[0..K-1] (each < nlev[k]) into a pattern. */
static inline uint32_t tsr__pattern_pack(const tsr__model *md, const uint8_t *levels) {
  uint32_t p = 0;
  for (uint32_t k = 0; k < md->k; k++) p |= (uint32_t)levels[k] << md->shift[k];
  return p;
}

/* Rounds a weight to the quantum and clamps it to +-TSR__W_MAX. */
double tsr__wq(double w);

/* Fills w from m and u (w = log2(m/u), clamped and quantised; null levels
 * 0; m = 0 gives -TSR__W_MAX, u = 0 gives +TSR__W_MAX) and prior from
 * lambda (clamped to [1e-15, 1 - 1e-15]). Call after changing m, u or lambda. */
void tsr__model_weights(tsr__model *md);

/* Pair weight W = prior + sum_k w_k(gamma_k), comparisons in order; exact
 * (see DESIGN), so any summation order gives these bits. */
double tsr__model_score(const tsr__model *md, uint32_t pattern);

/* Match probability 2^W / (1 + 2^W), computed as 1 / (1 + 2^-W). */
double tsr__match_prob(double weight);

/* Per-pattern weight table for prediction: comparisons in groups of at most
 * TSR__WT_GROUP_BITS packed bits, a table of partial sums per group, so a
 * pattern's weight is prior + one lookup per group (3 for 8 comparisons of
 * 4 bits) and equals tsr__model_score bit for bit. Level codes that do not
 * exist (>= nlev) hold NAN. Read-only after build: share across threads. */
#define TSR__WT_GROUP_BITS 12
typedef struct tsr__wtable {
  uint32_t ngroups;
  uint8_t shift[TSR__MODEL_MAX_K], bits[TSR__MODEL_MAX_K];
  double prior;
  double *t[TSR__MODEL_MAX_K]; /* t[g][code], 2^bits[g] entries */
} tsr__wtable;
int tsr__wtable_build(const tsr__model *md, tsr__wtable *wt);
static inline double tsr__wtable_score(const tsr__wtable *wt, uint32_t pattern) {
  double s = wt->prior;
  for (uint32_t g = 0; g < wt->ngroups; g++) s += wt->t[g][(pattern >> wt->shift[g]) & ((1u << wt->bits[g]) - 1u)];
  return s;
}
void tsr__wtable_free(tsr__wtable *wt); /* zeroed or NULL allowed */

/* --- pattern counts ------------------------------------------------------------ */

/* Pattern -> count, open addressing (linear probing, power-of-two
 * capacity, at most half full); a slot with count 0 is empty. Arrays only:
 * no allocation per pattern. One table per thread; merge them with
 * tsr__pcount_merge. */
typedef struct tsr__pcount {
  uint32_t *pat;
  uint64_t *cnt;
  uint32_t cap, n;
} tsr__pcount;
int tsr__pcount_init(tsr__pcount *t, uint32_t expect); /* 0 or TSR_ENOMEM */
/* Adds n (> 0) pairs of pattern p. 0 or TSR_ENOMEM (growth failed; the
 * table is unchanged). */
int tsr__pcount_add(tsr__pcount *t, uint32_t p, uint64_t n);
uint64_t tsr__pcount_get(const tsr__pcount *t, uint32_t p);
void tsr__pcount_free(tsr__pcount *t); /* zeroed allowed */

/* Distinct patterns sorted ascending with their counts: the input of EM. */
typedef struct tsr__patterns {
  uint32_t n;
  uint32_t *pat;
  uint64_t *cnt;
  uint64_t total; /* sum of cnt */
} tsr__patterns;
/* Merges nparts tables (any order, any split) into out, sorted by pattern:
 * the same bytes for any number of threads. NULL parts are skipped. */
int tsr__pcount_merge(const tsr__pcount *const *parts, uint32_t nparts, tsr__patterns *out);
void tsr__patterns_free(tsr__patterns *p); /* zeroed allowed */

/* --- EM ---------------------------------------------------------------------- */

typedef struct tsr__em_opts {
  uint32_t max_iter; /* iteration cap; default 500 */
  double tol;        /* stop when max |delta m| and |delta lambda| < tol; default 1e-7 */
  double pseudo;     /* pseudo-count per non-null level in the M-step; default 0.5 */
  double lambda0;    /* starting lambda over the rule's pairs; default 0.1 */
  uint32_t exclude;  /* bit k: comparison k is left out (the rule fixes it) */
} tsr__em_opts;
void tsr__em_opts_init(tsr__em_opts *o);

typedef struct tsr__em_result {
  uint32_t iterations; /* E+M rounds run */
  int converged;       /* 1 when tol was reached before the cap */
  double *loglik;      /* iterations values: log-likelihood (natural log)
                          of the counts under the model each E-step used */
  double lambda;       /* over the rule's pairs */
  double matches;      /* expected matches: sum n_p g_p */
  double mden[TSR__MODEL_MAX_K]; /* sum n_p g_p [gamma_k != 0]: the weight of
                                    this rule's m for comparison k */
  double m[TSR__MODEL_MAX_K][TSR__MODEL_MAX_L]; /* fitted (excluded: start m) */
} tsr__em_result;
void tsr__em_result_free(tsr__em_result *r); /* frees loglik; zeroed allowed */

/* EM over pattern counts with u (md->u) fixed, starting m from md->m.
 * Deterministic: patterns in sorted order, sums in that order, one thread
 * (the table is small). md is not changed. Returns 0, TSR_EINVAL (no pairs,
 * a u of 0 on a level the counts use) or TSR_ENOMEM. */
int tsr__em_fit(const tsr__model *md, const tsr__patterns *p, const tsr__em_opts *o, tsr__em_result *r,
                tsr_error *err);

/* Training over several blocking rules. p[r] counts ALL candidate pairs of
 * rule r (not first-rule-wins: a later rule's pairs must not be selected
 * to disagree on an earlier rule's comparisons, or its m would be biased);
 * exclude[r] masks the comparisons rule r fixes. Each comparison's m is the
 * mean of the fits of the rules that did not leave it out, weighted by mden
 * (the expected matches in which it is not null): pooling their sufficient
 * statistics. A comparison every rule leaves out keeps its start m and is
 * flagged in untrained.
 * lambda: first[r] (may be NULL, or hold NULLs) counts rule r's pairs under
 * first-rule-wins emission, the pairs prediction will score. The matches
 * found are sum over r of one E-step of rule r's own fit (its m, its lambda,
 * its comparisons left out) over first[r]; without first[r], rule r's fitted
 * matches over p[r] (right only when the rules' pair sets are disjoint).
 * lambda = matches / pairs_scope. (Under the u of random pairs, an E-step
 * with the blocked comparisons included would call most blocked pairs
 * matches: they agree on the key far more often than u says.)
 * md->m, md->lambda and the weights are set; res[r] (nrules entries, may be
 * NULL) receives each rule's fit (free each with tsr__em_result_free). */
typedef struct tsr__train_out {
  uint32_t untrained;  /* bit k: no rule trained comparison k */
  double matches;      /* expected matches among the candidate pairs */
  uint32_t iterations; /* sum over the fits */
} tsr__train_out;
int tsr__em_train_rules(tsr__model *md, const tsr__patterns *const *p, const uint32_t *exclude, uint32_t nrules,
                        const tsr__patterns *const *first, double pairs_scope, const tsr__em_opts *o, tsr__em_result *res,
                        tsr__train_out *out, tsr_error *err);

/* lambda over all pairs in scope from expected matches; and from
 * deterministic links with an assumed recall (links / recall / scope).
 * Report both; tsr__lambda_conservative takes the smaller. */
double tsr__lambda_scope(double matches, double pairs_scope);
double tsr__lambda_from_links(double links, double recall, double pairs_scope);
static inline double tsr__lambda_conservative(double a, double b) { return a < b ? a : b; }

/* --- degenerate fit ------------------------------------------------------------ */

/* Every agreement level (1 .. nlev-2: not null, not else) must have m > u.
 * Writes up to cap offending (k, level) in comparison, level order to out
 * (NULL allowed when cap is 0) and returns how many there are in all. */
uint32_t tsr__model_degenerate(const tsr__model *md, tsr__level_ref *out, uint32_t cap);

/* --- u ------------------------------------------------------------------------- */

/* u of an exact level from value frequencies (non-missing values only, so
 * it is P(agree | both present, non-match) like every u here).
 * dedupe (and link_and_dedupe over the union): sum f(f-1) / (N(N-1)).
 * link: values aligned by index, sum fa fb / (NA NB). 0 when N < 2 / a
 * side is empty. */
double tsr__u_exact_dedupe(const uint64_t *f, uint64_t nvalues);
double tsr__u_exact_link(const uint64_t *fa, const uint64_t *fb, uint64_t nvalues);

/* The levels of one pair (a, b): levels[k] for every comparison, the very
 * code prediction uses. Called from several threads at once. Returns 0 or
 * a negative TSR_E* code, which stops the sample. */
typedef int (*tsr__pair_levels_fn)(void *ctx, uint64_t a, uint64_t b, uint8_t *levels);

typedef struct tsr__u_opts {
  uint64_t seed;
  uint64_t na, nb;      /* link: a in [0, na), b in [0, nb); dedupe: nb = 0, a != b in [0, na) */
  uint64_t min_obs;     /* C: stop once every counted level has this many; default 100 */
  uint64_t max_pairs;   /* cap; default 10^7 */
  uint64_t chunk;       /* pairs per unit of work; default 65536 */
  uint16_t skip[TSR__MODEL_MAX_K]; /* bit l: level l of k is not needed to stop
                                      (null is never needed) */
  int threads;          /* 0 = all cores */
} tsr__u_opts;
void tsr__u_opts_init(tsr__u_opts *o);

/* Pair i of the sample: a pure function of (seed, i). */
void tsr__u_pair(const tsr__u_opts *o, uint64_t i, uint64_t *a, uint64_t *b);

typedef struct tsr__u_result {
  uint64_t pairs; /* pairs drawn (a whole number of chunks, or the cap) */
  uint64_t count[TSR__MODEL_MAX_K][TSR__MODEL_MAX_L];
  int enough;     /* 1 when every counted level reached min_obs */
} tsr__u_result;

/* Draws pairs chunk by chunk (chunks in parallel, counted per chunk) and
 * stops after the first chunk, in chunk order, at which every level not in
 * skip has min_obs observations, or at max_pairs: the same pairs and counts
 * at any thread count. Sets md->u[k][l] = count / non-null count for every
 * level (l >= 1; 0 when a comparison was never non-null). */
int tsr__u_sample(tsr__model *md, const tsr__u_opts *o, tsr__pair_levels_fn fn, void *ctx, tsr__u_result *res,
                  tsr_error *err);

/* Puts a frequency-based exact u at `level` of comparison k and rescales
 * the other non-null levels so they sum to 1 - u_exact. */
void tsr__u_set_exact(tsr__model *md, uint32_t k, uint32_t level, double u_exact);

/* --- term frequency -------------------------------------------------------------- */

/* Adjustment for an exact agreement on a value seen f times among n
 * records: weight * log2(u_level / max(f / n, tf_min)), quantised. Added
 * to the level's weight: negative for values commoner than average. */
double tsr__tf_adjust(double u_level, uint64_t f, uint64_t n, double tf_min, double weight);

#endif
