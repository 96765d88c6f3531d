/* Unit tests for the model stage: weights and probabilities against hand
 * values, packing limits, the weight table against the plain sum, pattern
 * counts merged from 1 or 4 tables in any order, EM recovering a known
 * model from simulated counts (missing values included), leave-out training
 * and the lambda conversion, the degenerate fit of a rule that fixes a
 * comparison, pseudo-counts, u from frequencies and from random pairs
 * (stable across seeds and thread counts), and term-frequency ordering. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "model/model.h"

/* --- weights, packing ------------------------------------------------------------- */

static void hand_model(tsr__model *md) {
  uint8_t nlev[2] = {3, 4};
  cr_assert_eq(tsr__model_init(md, 2, nlev, NULL), 0);
  md->m[0][1] = 0.8, md->m[0][2] = 0.2;
  md->u[0][1] = 0.2, md->u[0][2] = 0.8;
  md->m[1][1] = 0.5, md->m[1][2] = 0.25, md->m[1][3] = 0.25;
  md->u[1][1] = 0.125, md->u[1][2] = 0.125, md->u[1][3] = 0.75;
  md->lambda = 0.2;
  tsr__model_weights(md);
}

Test(model, weights_and_probabilities_by_hand) {
  tsr__model md;
  hand_model(&md);
  cr_expect_eq(md.shift[0], 0);
  cr_expect_eq(md.bits[0], 2);
  cr_expect_eq(md.shift[1], 2);
  cr_expect_eq(md.bits[1], 2);
  cr_expect_eq(md.prior, -2.0); /* log2(0.2 / 0.8) */
  cr_expect_eq(md.w[0][0], 0.0);
  cr_expect_eq(md.w[0][1], 2.0);
  cr_expect_eq(md.w[0][2], -2.0);
  cr_expect_eq(md.w[1][1], 2.0);
  cr_expect_eq(md.w[1][2], 1.0);
  cr_expect(fabs(md.w[1][3] - log2(1.0 / 3.0)) < 1e-9);
  uint8_t lv[2] = {1, 2};
  uint32_t p = tsr__pattern_pack(&md, lv);
  cr_expect_eq(p, 9u); /* 1 | 2 << 2 */
  cr_expect_eq(tsr__pattern_level(&md, p, 0), 1u);
  cr_expect_eq(tsr__pattern_level(&md, p, 1), 2u);
  cr_expect_eq(tsr__model_score(&md, p), 1.0); /* -2 + 2 + 1 */
  cr_expect(fabs(tsr__match_prob(1.0) - 2.0 / 3.0) < 1e-15);
  lv[0] = 0, lv[1] = 1; /* null weighs 0 */
  cr_expect_eq(tsr__model_score(&md, tsr__pattern_pack(&md, lv)), 0.0);
  cr_expect_eq(tsr__match_prob(0.0), 0.5);
  lv[0] = 2, lv[1] = 3; /* -2 - 2 + log2(1/3): 2^W = 1/48, p = 1/49 */
  double W = tsr__model_score(&md, tsr__pattern_pack(&md, lv));
  cr_expect(fabs(W - (-4.0 + log2(1.0 / 3.0))) < 1e-9);
  cr_expect(fabs(tsr__match_prob(W) - 1.0 / 49.0) < 1e-12, "p = %.15f", tsr__match_prob(W));
  /* m = 0 and u = 0 are clamped, never infinite */
  md.m[0][1] = 0.0, md.u[1][1] = 0.0;
  tsr__model_weights(&md);
  cr_expect_eq(md.w[0][1], -TSR__W_MAX);
  cr_expect_eq(md.w[1][1], TSR__W_MAX);
}

Test(model, packing_limits) {
  tsr__model md;
  tsr_error err;
  uint8_t nlev[17];
  memset(nlev, 16, sizeof nlev);
  cr_expect_eq(tsr__model_init(&md, 8, nlev, &err), 0); /* 8 x 4 bits */
  cr_expect_eq(md.shift[7], 28);
  cr_expect_eq(tsr__model_init(&md, 9, nlev, &err), TSR_ELIMIT);
  cr_expect(strstr(err.msg, "32 bits") != NULL, "%s", err.msg);
  memset(nlev, 4, sizeof nlev);
  cr_expect_eq(tsr__model_init(&md, 16, nlev, &err), 0); /* 16 x 2 bits */
  cr_expect_eq(tsr__model_init(&md, 17, nlev, &err), TSR_EINVAL);
  cr_expect_eq(tsr__model_init(&md, 0, nlev, &err), TSR_EINVAL);
  nlev[0] = 2, nlev[1] = 5, nlev[2] = 9, nlev[3] = 17;
  cr_expect_eq(tsr__model_init(&md, 3, nlev, &err), 0);
  cr_expect_eq(md.bits[0], 1); /* 2 levels: 1 bit */
  cr_expect_eq(md.bits[1], 3); /* 5 levels: 3 bits */
  cr_expect_eq(md.bits[2], 4); /* 9 levels: 4 bits */
  cr_expect_eq(md.shift[2], 4);
  cr_expect_eq(tsr__model_init(&md, 4, nlev, &err), TSR_EINVAL); /* 17 levels */
  nlev[0] = 1;
  cr_expect_eq(tsr__model_init(&md, 1, nlev, &err), TSR_EINVAL);
}

static void random_model(tsr__model *md, uint32_t K, const uint8_t *nlev, uint64_t seed) {
  cr_assert_eq(tsr__model_init(md, K, nlev, NULL), 0);
  tsr__rng r;
  tsr__rng_init(&r, seed, 1, 0);
  for (uint32_t k = 0; k < K; k++)
    for (uint32_t l = 1; l < nlev[k]; l++) {
      md->m[k][l] = 0.001 + tsr__rng_unit(&r);
      md->u[k][l] = 0.001 + tsr__rng_unit(&r);
    }
  md->lambda = 0.0123;
  tsr__model_weights(md);
}

Test(model, weight_table_equals_the_plain_sum) {
  uint8_t nlev[8] = {16, 5, 3, 9, 2, 16, 7, 4};
  tsr__model md;
  random_model(&md, 8, nlev, 5);
  tsr__wtable wt;
  cr_assert_eq(tsr__wtable_build(&md, &wt), 0);
  cr_expect_geq(wt.ngroups, 2u);
  tsr__rng r;
  tsr__rng_init(&r, 9, 2, 0);
  for (int i = 0; i < 200000; i++) {
    uint8_t lv[8];
    for (int k = 0; k < 8; k++) lv[k] = (uint8_t)tsr__rng_below(&r, nlev[k]);
    uint32_t p = tsr__pattern_pack(&md, lv);
    double a = tsr__model_score(&md, p), b = tsr__wtable_score(&wt, p);
    /* and the reverse order: quantised weights sum exactly */
    double c = 0.0;
    for (int k = 7; k >= 0; k--) c += md.w[k][lv[k]];
    c += md.prior;
    cr_assert(a == b && a == c, "pattern %08x: %.17g %.17g %.17g", p, a, b, c);
  }
  tsr__wtable_free(&wt);
}

/* --- pattern counts ----------------------------------------------------------------- */

Test(model, pattern_counts_merge_is_order_free) {
  enum { N = 300000 };
  tsr__pcount one, four[4];
  cr_assert_eq(tsr__pcount_init(&one, 0), 0);
  for (int t = 0; t < 4; t++) cr_assert_eq(tsr__pcount_init(&four[t], 0), 0);
  tsr__rng r;
  tsr__rng_init(&r, 11, 0, 0);
  uint64_t n0 = 0;
  for (uint32_t i = 0; i < N; i++) {
    uint32_t p = (uint32_t)tsr__rng_below(&r, 3000) * 2654435761u; /* pattern 0 included */
    if (i % 7 == 0) p = 0;
    n0 += p == 0;
    cr_assert_eq(tsr__pcount_add(&one, p, 1), 0);
    cr_assert_eq(tsr__pcount_add(&four[(i * 2654435761u) >> 30], p, 1), 0);
  }
  cr_expect_geq(one.n, 2900u);
  cr_expect_eq(tsr__pcount_get(&one, 0), n0);
  const tsr__pcount *a[1] = {&one}, *b[4] = {&four[0], &four[1], &four[2], &four[3]},
                    *c[5] = {&four[3], NULL, &four[1], &four[0], &four[2]};
  tsr__patterns pa, pb, pc;
  cr_assert_eq(tsr__pcount_merge(a, 1, &pa), 0);
  cr_assert_eq(tsr__pcount_merge(b, 4, &pb), 0);
  cr_assert_eq(tsr__pcount_merge(c, 5, &pc), 0);
  cr_expect_eq(pa.total, (uint64_t)N);
  cr_assert_eq(pa.n, one.n);
  cr_assert_eq(pb.n, pa.n);
  cr_assert_eq(pc.n, pa.n);
  cr_expect(memcmp(pa.pat, pb.pat, pa.n * sizeof *pa.pat) == 0);
  cr_expect(memcmp(pa.cnt, pb.cnt, pa.n * sizeof *pa.cnt) == 0);
  cr_expect(memcmp(pa.pat, pc.pat, pa.n * sizeof *pa.pat) == 0);
  cr_expect(memcmp(pa.cnt, pc.cnt, pa.n * sizeof *pa.cnt) == 0);
  for (uint32_t i = 1; i < pa.n; i++) cr_assert(pa.pat[i - 1] < pa.pat[i]);
  for (uint32_t i = 0; i < pa.n; i++) cr_assert_eq(pa.cnt[i], tsr__pcount_get(&one, pa.pat[i]));
  cr_expect_eq(pa.pat[0], 0u);
  cr_expect_eq(pa.cnt[0], n0);
  tsr__patterns_free(&pa);
  tsr__patterns_free(&pb);
  tsr__patterns_free(&pc);
  tsr__pcount_free(&one);
  for (int t = 0; t < 4; t++) tsr__pcount_free(&four[t]);
}

/* --- EM on a known model ----------------------------------------------------------- */

/* name (exact, JW high, JW low, else), dob (exact, partial, else),
 * postcode (full, district, else), sex (exact, else); null = 0. */
static const uint8_t T_NLEV[4] = {5, 4, 4, 3};
static const double T_M[4][5] = {
    {0, 0.85, 0.08, 0.05, 0.02}, {0, 0.90, 0.06, 0.04}, {0, 0.75, 0.15, 0.10}, {0, 0.98, 0.02}};
static const double T_U[4][5] = {
    {0, 0.005, 0.01, 0.04, 0.945}, {0, 0.002, 0.018, 0.98}, {0, 0.001, 0.02, 0.979}, {0, 0.5, 0.5}};
static const double T_MISS[4] = {0.10, 0.05, 0.20, 0.02};

static uint8_t draw(tsr__rng *r, const double *p, uint32_t L) {
  double x = tsr__rng_unit(r), c = 0.0;
  for (uint32_t l = 1; l + 1 < L; l++) {
    c += p[l];
    if (x < c) return (uint8_t)l;
  }
  return (uint8_t)(L - 1);
}

static void true_model(tsr__model *md) {
  cr_assert_eq(tsr__model_init(md, 4, T_NLEV, NULL), 0);
  for (uint32_t k = 0; k < 4; k++)
    for (uint32_t l = 1; l < T_NLEV[k]; l++) md->u[k][l] = T_U[k][l];
  for (uint32_t k = 0; k < 4; k++) tsr__model_prior_m(md, k, 0.9);
}

/* n pairs, matches with probability lam; fix >= 0: that comparison is
 * forced to level 1 (a rule blocking on it); unless >= 0: pairs at level 1
 * there are dropped (an earlier rule emitted them: first rule wins), so the
 * same seed gives a subset of the pairs without unless. Counted into t. */
static void simulate(tsr__pcount *t, uint64_t n, double lam, int fix, int unless, uint64_t seed, uint64_t *matches) {
  tsr__rng r;
  tsr__rng_init(&r, seed, 3, 0);
  tsr__model md;
  true_model(&md);
  for (uint64_t i = 0; i < n; i++) {
    int match = tsr__rng_chance(&r, lam);
    uint8_t lv[4];
    for (int k = 0; k < 4; k++) {
      if (k == fix) {
        lv[k] = 1;
      } else if (tsr__rng_chance(&r, T_MISS[k])) {
        lv[k] = 0;
      } else {
        lv[k] = draw(&r, match ? T_M[k] : T_U[k], T_NLEV[k]);
      }
    }
    if (unless >= 0 && lv[unless] == 1) continue;
    if (matches) *matches += (uint64_t)match;
    cr_assert_eq(tsr__pcount_add(t, tsr__pattern_pack(&md, lv), 1), 0);
  }
}

static void counts_of(tsr__patterns *p, uint64_t n, double lam, int fix, int unless, uint64_t seed, uint64_t *matches) {
  tsr__pcount t;
  cr_assert_eq(tsr__pcount_init(&t, 256), 0);
  simulate(&t, n, lam, fix, unless, seed, matches);
  const tsr__pcount *parts[1] = {&t};
  cr_assert_eq(tsr__pcount_merge(parts, 1, p), 0);
  tsr__pcount_free(&t);
}

/* Tolerances: 10^6 pairs, lambda 0.05 (50,000 matches): |m - m_true| < 0.01
 * on every level, |lambda - 0.05| < 0.002; the sampling sd of m is <= 0.0025. */
Test(model, em_recovers_a_known_model_with_missing_values) {
  tsr__patterns p;
  uint64_t matches = 0;
  counts_of(&p, 1000000, 0.05, -1, -1, 1, &matches);
  cr_expect_lt(p.n, 1000u);
  tsr__model md;
  true_model(&md);
  tsr__em_opts o;
  tsr__em_opts_init(&o);
  tsr__em_result r;
  tsr_error err;
  cr_assert_eq(tsr__em_fit(&md, &p, &o, &r, &err), 0, "%s", err.msg);
  cr_expect(r.converged);
  cr_expect_lt(r.iterations, o.max_iter);
  cr_expect(fabs(r.lambda - 0.05) < 0.002, "lambda %f", r.lambda);
  cr_expect(fabs(r.matches - (double)matches) < 0.04 * (double)matches, "matches %f vs %llu", r.matches,
            (unsigned long long)matches);
  double worst = 0.0;
  for (uint32_t k = 0; k < 4; k++)
    for (uint32_t l = 1; l < T_NLEV[k]; l++) {
      double d = fabs(r.m[k][l] - T_M[k][l]);
      if (d > worst) worst = d;
      cr_expect(d < 0.01, "m[%u][%u] = %f, true %f", k, l, r.m[k][l], T_M[k][l]);
    }
  cr_log_info("EM: %u iterations, worst |m - m_true| %.5f, lambda %.5f", r.iterations, worst, r.lambda);
  /* the log-likelihood rises from the start to the end */
  cr_expect_gt(r.loglik[r.iterations - 1], r.loglik[0]);
  for (uint32_t i = 1; i < r.iterations; i++) cr_expect_geq(r.loglik[i], r.loglik[i - 1] - 1e-6 * fabs(r.loglik[i]));
  /* the same counts give the same bits */
  tsr__em_result r2;
  cr_assert_eq(tsr__em_fit(&md, &p, &o, &r2, &err), 0);
  cr_expect_eq(r2.iterations, r.iterations);
  cr_expect(memcmp(r.m, r2.m, sizeof r.m) == 0);
  cr_expect_eq(r2.lambda, r.lambda);
  /* the fitted model passes the degenerate check */
  memcpy(md.m, r.m, sizeof md.m);
  md.lambda = r.lambda;
  tsr__model_weights(&md);
  cr_expect_eq(tsr__model_degenerate(&md, NULL, 0), 0u);
  tsr__em_result_free(&r);
  tsr__em_result_free(&r2);
  tsr__patterns_free(&p);
}

Test(model, em_is_the_same_from_1_or_4_tables) {
  /* 4 per-thread tables filled with disjoint slices, merged in two orders */
  tsr__pcount t1, t4[4];
  cr_assert_eq(tsr__pcount_init(&t1, 0), 0);
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(tsr__pcount_init(&t4[i], 0), 0);
    simulate(&t4[i], 50000, 0.05, -1, -1, 100 + (uint64_t)i, NULL);
    simulate(&t1, 50000, 0.05, -1, -1, 100 + (uint64_t)i, NULL);
  }
  const tsr__pcount *a[1] = {&t1}, *b[4] = {&t4[2], &t4[0], &t4[3], &t4[1]};
  tsr__patterns pa, pb;
  cr_assert_eq(tsr__pcount_merge(a, 1, &pa), 0);
  cr_assert_eq(tsr__pcount_merge(b, 4, &pb), 0);
  tsr__model md;
  true_model(&md);
  tsr__em_opts o;
  tsr__em_opts_init(&o);
  tsr__em_result ra, rb;
  cr_assert_eq(tsr__em_fit(&md, &pa, &o, &ra, NULL), 0);
  cr_assert_eq(tsr__em_fit(&md, &pb, &o, &rb, NULL), 0);
  cr_expect_eq(ra.iterations, rb.iterations);
  cr_expect(memcmp(ra.m, rb.m, sizeof ra.m) == 0);
  cr_expect(memcmp(ra.loglik, rb.loglik, ra.iterations * sizeof *ra.loglik) == 0);
  cr_expect_eq(ra.lambda, rb.lambda);
  tsr__em_result_free(&ra);
  tsr__em_result_free(&rb);
  tsr__patterns_free(&pa);
  tsr__patterns_free(&pb);
  tsr__pcount_free(&t1);
  for (int i = 0; i < 4; i++) tsr__pcount_free(&t4[i]);
}

Test(model, pseudo_count_keeps_an_unseen_level_above_zero) {
  /* no pair ever shows name level 3 (JW low) */
  tsr__model md;
  true_model(&md);
  tsr__pcount t;
  cr_assert_eq(tsr__pcount_init(&t, 0), 0);
  uint8_t lv[4] = {1, 1, 1, 1};
  cr_assert_eq(tsr__pcount_add(&t, tsr__pattern_pack(&md, lv), 500), 0);
  lv[0] = 4, lv[1] = 3, lv[2] = 3, lv[3] = 2;
  cr_assert_eq(tsr__pcount_add(&t, tsr__pattern_pack(&md, lv), 50000), 0);
  lv[0] = 2;
  cr_assert_eq(tsr__pcount_add(&t, tsr__pattern_pack(&md, lv), 400), 0);
  const tsr__pcount *parts[1] = {&t};
  tsr__patterns p;
  cr_assert_eq(tsr__pcount_merge(parts, 1, &p), 0);
  tsr__em_opts o;
  tsr__em_opts_init(&o);
  tsr__em_result r;
  cr_assert_eq(tsr__em_fit(&md, &p, &o, &r, NULL), 0);
  cr_expect_gt(r.m[0][3], 0.0);
  /* alpha / (sum n g + alpha (L - 1)): about 0.5 / 500 */
  cr_expect(r.m[0][3] > 1e-4 && r.m[0][3] < 2e-3, "m = %g", r.m[0][3]);
  o.pseudo = 0.0; /* without it the level dies */
  tsr__em_result r0;
  cr_assert_eq(tsr__em_fit(&md, &p, &o, &r0, NULL), 0);
  cr_expect_eq(r0.m[0][3], 0.0);
  tsr__em_result_free(&r);
  tsr__em_result_free(&r0);
  tsr__patterns_free(&p);
  tsr__pcount_free(&t);
}

/* --- leave-out training and the degenerate fit ------------------------------------ */

/* Rule A blocks on dob (comparison 1) and supplies 90% of the pairs; rule B
 * blocks on postcode (comparison 2). Training A with dob included lets EM
 * learn the block: every pair is dob-exact, so m(dob partial) falls to the
 * pseudo-count, below u. Leaving dob out of A (B trains it) fixes that. */
Test(model, degenerate_fit_is_flagged_and_leave_out_fixes_it) {
  tsr__patterns pa, pb, pall;
  uint64_t ma = 0, mb = 0;
  counts_of(&pa, 900000, 0.02, 1, -1, 21, &ma);
  counts_of(&pb, 100000, 0.10, 2, -1, 22, &mb);
  tsr__em_opts o;
  tsr__em_opts_init(&o);
  tsr_error err;

  /* the block learned: rule A alone, nothing left out */
  tsr__model bad;
  true_model(&bad);
  tsr__em_result rb;
  cr_assert_eq(tsr__em_fit(&bad, &pa, &o, &rb, &err), 0, "%s", err.msg);
  memcpy(bad.m, rb.m, sizeof bad.m);
  bad.lambda = rb.lambda;
  tsr__model_weights(&bad);
  tsr__level_ref off[8];
  uint32_t n = tsr__model_degenerate(&bad, off, 8);
  cr_expect_geq(n, 1u);
  int dob_partial = 0;
  for (uint32_t i = 0; i < n && i < 8; i++) dob_partial |= off[i].k == 1 && off[i].level == 2;
  cr_expect(dob_partial, "m(dob partial) %g vs u %g not flagged", bad.m[1][2], bad.u[1][2]);
  tsr__em_result_free(&rb);

  /* the union of both rules' pairs (first rule wins, A 90%) as one training
   * set with nothing left out: the block is learned as well */
  {
    tsr__pcount t;
    cr_assert_eq(tsr__pcount_init(&t, 0), 0);
    simulate(&t, 900000, 0.02, 1, -1, 21, NULL);
    simulate(&t, 100000, 0.10, 2, 1, 22, NULL);
    const tsr__pcount *parts[1] = {&t};
    tsr__patterns pu;
    cr_assert_eq(tsr__pcount_merge(parts, 1, &pu), 0);
    tsr__pcount_free(&t);
    tsr__model un;
    true_model(&un);
    tsr__em_result ru;
    cr_assert_eq(tsr__em_fit(&un, &pu, &o, &ru, &err), 0, "%s", err.msg);
    memcpy(un.m, ru.m, sizeof un.m);
    uint32_t nu = tsr__model_degenerate(&un, off, 8);
    /* about 2.8% of these pairs are matches; EM calls nearly all of them
     * matches (measured: lambda 1, dob partial m 0.002 < u 0.018 and
     * postcode district m 0.0198 < u 0.02) */
    cr_expect_gt(ru.lambda, 0.5, "lambda %g", ru.lambda);
    cr_expect_geq(nu, 1u);
    cr_expect(nu >= 1 && off[0].k == 1 && off[0].level == 2, "first flagged (%u, %u)", off[0].k, off[0].level);
    tsr__em_result_free(&ru);
    tsr__patterns_free(&pu);
  }

  /* leave-out training over both rules */
  tsr__model md;
  true_model(&md);
  const tsr__patterns *rules[2] = {&pa, &pb};
  uint32_t excl[2] = {1u << 1, 1u << 2};
  /* first rule wins: B's pairs that agree on dob were A's */
  uint64_t mb_first = 0;
  counts_of(&pall, 100000, 0.10, 2, 1, 22, &mb_first);
  const tsr__patterns *first[2] = {&pa, &pall};
  tsr__em_result res[2];
  tsr__train_out out;
  double scope = 1e9;
  cr_assert_eq(tsr__em_train_rules(&md, rules, excl, 2, first, scope, &o, res, &out, &err), 0, "%s", err.msg);
  cr_expect_eq(out.untrained, 0u);
  n = tsr__model_degenerate(&md, off, 8);
  cr_expect_eq(n, 0u);
  for (uint32_t i = 0; i < n && i < 8; i++)
    cr_log_error("flagged (%u, %u): m %g u %g", off[i].k, off[i].level, md.m[off[i].k][off[i].level],
                 md.u[off[i].k][off[i].level]);
  for (uint32_t k = 0; k < 4; k++)
    for (uint32_t l = 1; l < T_NLEV[k]; l++)
      cr_expect(fabs(md.m[k][l] - T_M[k][l]) < 0.02, "m[%u][%u] = %f, true %f", k, l, md.m[k][l], T_M[k][l]);
  /* dob's m comes from rule B only, postcode's from A only */
  cr_expect(fabs(md.m[1][2] - res[1].m[1][2]) < 1e-15);
  cr_expect(fabs(md.m[2][1] - res[0].m[2][1]) < 1e-15);
  /* sex: the mden-weighted mean of both */
  double want = (res[0].mden[3] * res[0].m[3][1] + res[1].mden[3] * res[1].m[3][1]) / (res[0].mden[3] + res[1].mden[3]);
  cr_expect(fabs(md.m[3][1] - want) < 1e-15);
  /* lambda: the matches among the pairs emitted (first rule wins) / pairs
   * in scope: all of A's matches and B's that are not dob-exact */
  double found = (double)ma + (double)mb_first;
  cr_expect(fabs(out.matches - found) < 0.03 * found, "matches %f vs %f", out.matches, found);
  cr_expect_eq(md.lambda, out.matches / scope);
  cr_expect(fabs(md.prior - log2(md.lambda / (1 - md.lambda))) < 1e-9);
  cr_log_info("leave-out: matches %.1f (simulated about %.1f), lambda %.3g, iterations %u", out.matches, found,
              md.lambda, out.iterations);
  for (int r = 0; r < 2; r++) tsr__em_result_free(&res[r]);

  /* every rule leaving a comparison out: it keeps its start m, flagged */
  tsr__model md2;
  true_model(&md2);
  uint32_t both[2] = {1u << 1 | 1u << 3, 1u << 2 | 1u << 3};
  cr_assert_eq(tsr__em_train_rules(&md2, rules, both, 2, NULL, scope, &o, NULL, &out, &err), 0);
  cr_expect_eq(out.untrained, 1u << 3);
  cr_expect_eq(md2.m[3][1], 0.9); /* the start m (prior) */
  tsr__patterns_free(&pa);
  tsr__patterns_free(&pb);
  tsr__patterns_free(&pall);
}

Test(model, degenerate_check_edges) {
  tsr__model md;
  hand_model(&md);
  /* comparison 0: levels 1 (agreement) and 2 (else); 1: levels 1, 2 agree */
  cr_expect_eq(tsr__model_degenerate(&md, NULL, 0), 0u);
  md.m[1][2] = md.u[1][2]; /* m == u fails: agreement must have m > u */
  md.m[0][2] = 0.0;        /* else is never checked */
  tsr__level_ref off[4];
  cr_expect_eq(tsr__model_degenerate(&md, off, 4), 1u);
  cr_expect_eq(off[0].k, 1);
  cr_expect_eq(off[0].level, 2);
  md.m[0][1] = 0.1999; /* just below u = 0.2 */
  cr_expect_eq(tsr__model_degenerate(&md, off, 1), 2u); /* counts all, writes cap */
  cr_expect_eq(off[0].k, 0);
  cr_expect_eq(off[0].level, 1);
  md.m[0][1] = 0.2001, md.m[1][2] = 0.1251;
  cr_expect_eq(tsr__model_degenerate(&md, off, 4), 0u);
}

Test(model, lambda_conversions) {
  cr_expect_eq(tsr__lambda_scope(5000.0, 1e8), 5e-5);
  cr_expect_eq(tsr__lambda_scope(5000.0, 0.0), 0.0);
  cr_expect_eq(tsr__lambda_from_links(4000.0, 0.8, 1e8), 5e-5);
  cr_expect_eq(tsr__lambda_conservative(5e-5, 4e-5), 4e-5);
  cr_expect_eq(tsr__lambda_conservative(3e-5, 4e-5), 3e-5);
}

/* --- u ---------------------------------------------------------------------------- */

Test(model, u_exact_from_frequencies) {
  /* dedupe: values with 3, 1, 2 records: (6 + 0 + 2) / (6 * 5) */
  uint64_t f[3] = {3, 1, 2};
  cr_expect(fabs(tsr__u_exact_dedupe(f, 3) - 8.0 / 30.0) < 1e-15);
  uint64_t one[1] = {1};
  cr_expect_eq(tsr__u_exact_dedupe(one, 1), 0.0);
  /* link: A = {3, 1, 0}, B = {1, 2, 5}: (3 + 2 + 0) / (4 * 8) */
  uint64_t fa[3] = {3, 1, 0}, fb[3] = {1, 2, 5};
  cr_expect(fabs(tsr__u_exact_link(fa, fb, 3) - 5.0 / 32.0) < 1e-15);
  uint64_t z[3] = {0, 0, 0};
  cr_expect_eq(tsr__u_exact_link(fa, z, 3), 0.0);
  /* u_set_exact: the others rescaled to 1 - u_exact */
  tsr__model md;
  hand_model(&md);
  tsr__u_set_exact(&md, 1, 1, 0.5); /* others 0.125, 0.75 -> x 0.5 / 0.875 */
  cr_expect_eq(md.u[1][1], 0.5);
  cr_expect(fabs(md.u[1][2] + md.u[1][3] - 0.5) < 1e-15);
  cr_expect(fabs(md.u[1][2] / md.u[1][3] - 0.125 / 0.75) < 1e-12);
}

/* Synthetic records: record i has value v(i) = h(i) mod 100 (missing when
 * h(i) mod 50 == 0). Levels: 1 equal, 2 |va - vb| <= 2, 3 else. With v
 * uniform on 0..99: u1 = 1/100, u2 = (4*100 - 2 - 4) / 100^2 = 0.0394. */
static int toy_levels(void *ctx, uint64_t a, uint64_t b, uint8_t *lv) {
  (void)ctx;
  uint64_t ha = tsr__mix64(a + 77), hb = tsr__mix64(b + 77);
  if (ha % 50 == 0 || hb % 50 == 0) {
    lv[0] = 0;
  } else {
    int64_t va = (int64_t)(ha >> 20) % 100, vb = (int64_t)(hb >> 20) % 100;
    int64_t d = va > vb ? va - vb : vb - va;
    lv[0] = d == 0 ? 1 : d <= 2 ? 2 : 3;
  }
  lv[1] = (uint8_t)(1 + ((ha ^ hb) & 1)); /* sex-like: 1/2 and 1/2 */
  return 0;
}

static void toy_model(tsr__model *md) {
  uint8_t nlev[2] = {4, 3};
  cr_assert_eq(tsr__model_init(md, 2, nlev, NULL), 0);
}

/* Tolerance: each of 3 seeds within 0.1 of u in relative terms of the
 * analytic u (u1 = 0.01 from >= 2000 observations: sd 2.2%), and within
 * 0.1 relative of each other. */
Test(model, u_sample_is_stable_across_seeds_and_threads) {
  double u1[3], u2[3];
  for (int s = 0; s < 3; s++) {
    tsr__model md;
    toy_model(&md);
    tsr__u_opts o;
    tsr__u_opts_init(&o);
    o.seed = 1000 + (uint64_t)s;
    o.na = 100000;
    o.min_obs = 2000;
    o.chunk = 4096;
    o.threads = 2;
    tsr__u_result r;
    tsr_error err;
    cr_assert_eq(tsr__u_sample(&md, &o, toy_levels, NULL, &r, &err), 0, "%s", err.msg);
    cr_expect(r.enough);
    cr_expect_eq(r.pairs % o.chunk, 0u);
    cr_expect_geq(r.count[0][1], 2000u);
    /* stopped at the first chunk that had enough */
    cr_expect_lt(r.count[0][1] - 2000u, 100u);
    u1[s] = md.u[0][1];
    u2[s] = md.u[0][2];
    cr_expect(fabs(u1[s] / 0.01 - 1) < 0.1, "seed %d: u1 %f", s, u1[s]);
    cr_expect(fabs(u2[s] / 0.0394 - 1) < 0.1, "seed %d: u2 %f", s, u2[s]);
    cr_expect(fabs(md.u[1][1] - 0.5) < 0.02);
    /* 1 thread: the same pairs, the same counts */
    tsr__model m1;
    toy_model(&m1);
    o.threads = 1;
    tsr__u_result r1;
    cr_assert_eq(tsr__u_sample(&m1, &o, toy_levels, NULL, &r1, &err), 0);
    cr_expect_eq(r1.pairs, r.pairs);
    cr_expect(memcmp(r1.count, r.count, sizeof r.count) == 0);
    cr_expect(memcmp(m1.u, md.u, sizeof md.u) == 0);
    cr_log_info("u seed %d: %llu pairs, u1 %.5f u2 %.5f", s, (unsigned long long)r.pairs, u1[s], u2[s]);
  }
  for (int a = 0; a < 3; a++)
    for (int b = a + 1; b < 3; b++) {
      cr_expect(fabs(u1[a] / u1[b] - 1) < 0.1);
      cr_expect(fabs(u2[a] / u2[b] - 1) < 0.1);
    }
}

static int count_calls(void *ctx, uint64_t a, uint64_t b, uint8_t *lv) {
  (void)ctx;
  cr_assert_neq(a, b); /* dedupe never pairs a record with itself */
  lv[0] = (a + b) % 3 == 0 ? 1 : 3;
  lv[1] = 1;
  return 0;
}

static int failing(void *ctx, uint64_t a, uint64_t b, uint8_t *lv) {
  (void)ctx, (void)a, (void)b;
  lv[0] = 1, lv[1] = 1;
  return TSR_EIO;
}

static int bad_level(void *ctx, uint64_t a, uint64_t b, uint8_t *lv) {
  (void)ctx, (void)a, (void)b;
  lv[0] = 4, lv[1] = 1; /* comparison 0 has levels 0..3 */
  return 0;
}

Test(model, u_sample_cap_skip_and_errors) {
  tsr__model md;
  toy_model(&md);
  tsr__u_opts o;
  tsr__u_opts_init(&o);
  o.na = 10; /* dedupe over 10 records */
  o.min_obs = 500;
  o.max_pairs = 10000;
  o.chunk = 3000;
  tsr__u_result r;
  tsr_error err;
  /* level 2 is never seen: only the cap stops it */
  cr_assert_eq(tsr__u_sample(&md, &o, count_calls, NULL, &r, &err), 0);
  cr_expect_eq(r.pairs, 10000u);
  cr_expect_eq(r.enough, 0);
  cr_expect_eq(r.count[0][1] + r.count[0][3], 10000u);
  cr_expect_eq(md.u[0][2], 0.0);
  /* skipping levels 2 of 0 and 2 of 1: stops after the first chunk */
  o.skip[0] = 1u << 2;
  o.skip[1] = 1u << 2;
  cr_assert_eq(tsr__u_sample(&md, &o, count_calls, NULL, &r, &err), 0);
  cr_expect_eq(r.pairs, 3000u);
  cr_expect_eq(r.enough, 1);
  cr_expect_eq(tsr__u_sample(&md, &o, failing, NULL, &r, &err), TSR_EIO);
  cr_expect_eq(tsr__u_sample(&md, &o, bad_level, NULL, &r, &err), TSR_EINTERNAL);
  o.na = 1;
  cr_expect_eq(tsr__u_sample(&md, &o, count_calls, NULL, &r, &err), TSR_EINVAL);
  /* link mode: a from na, b from nb */
  o.na = 3, o.nb = 5;
  for (uint64_t i = 0; i < 1000; i++) {
    uint64_t a, b;
    tsr__u_pair(&o, i, &a, &b);
    cr_assert_lt(a, 3u);
    cr_assert_lt(b, 5u);
  }
}

/* --- term frequency ------------------------------------------------------------------ */

Test(model, tf_common_names_weigh_less_than_rare_ones) {
  /* 1,000,000 records; SMITH 12,000 times, ZAPHOD twice; level u 0.002 */
  const uint64_t N = 1000000;
  double smith = tsr__tf_adjust(0.002, 12000, N, 1e-6, 1.0);
  double zaphod = tsr__tf_adjust(0.002, 2, N, 1e-6, 1.0);
  double average = tsr__tf_adjust(0.002, 2000, N, 1e-6, 1.0);
  cr_expect(smith < 0.0 && zaphod > 0.0, "%f %f", smith, zaphod);
  cr_expect_lt(smith, zaphod);
  cr_expect(fabs(smith - log2(0.002 / 0.012)) < 1e-9);
  cr_expect(fabs(zaphod - log2(0.002 / 2e-6)) < 1e-9);
  cr_expect_eq(average, 0.0); /* a value exactly as common as the level's average */
  /* tf_min caps the rare side: 2 / 10^6 < 1e-5 */
  cr_expect(fabs(tsr__tf_adjust(0.002, 2, N, 1e-5, 1.0) - log2(0.002 / 1e-5)) < 1e-9);
  /* the weight scales it */
  cr_expect(fabs(tsr__tf_adjust(0.002, 12000, N, 1e-6, 0.5) - 0.5 * smith) < 1e-9);
  cr_expect_eq(tsr__tf_adjust(0.002, 12000, N, 1e-6, 0.0), 0.0);
}

Test(model, em_refuses_bad_input) {
  tsr__model md;
  true_model(&md);
  tsr__em_opts o;
  tsr__em_opts_init(&o);
  tsr__em_result r;
  tsr_error err;
  tsr__patterns empty = {0};
  cr_expect_eq(tsr__em_fit(&md, &empty, &o, &r, &err), TSR_EINVAL);
  cr_expect(strstr(err.msg, "no pairs") != NULL, "%s", err.msg);
  tsr__pcount t;
  cr_assert_eq(tsr__pcount_init(&t, 0), 0);
  uint8_t lv[4] = {1, 1, 1, 1};
  cr_assert_eq(tsr__pcount_add(&t, tsr__pattern_pack(&md, lv), 10), 0);
  cr_assert_eq(tsr__pcount_add(&t, 15u << md.shift[3], 10), 0); /* sex level 15 of 3 */
  const tsr__pcount *parts[1] = {&t};
  tsr__patterns p;
  cr_assert_eq(tsr__pcount_merge(parts, 1, &p), 0);
  cr_expect_eq(tsr__em_fit(&md, &p, &o, &r, &err), TSR_EINVAL);
  cr_expect(strstr(err.msg, "comparison 3") != NULL, "%s", err.msg);
  tsr__patterns_free(&p);
  tsr__pcount_free(&t);
  /* u = 0 on a level the pairs show */
  cr_assert_eq(tsr__pcount_init(&t, 0), 0);
  cr_assert_eq(tsr__pcount_add(&t, tsr__pattern_pack(&md, lv), 10), 0);
  cr_assert_eq(tsr__pcount_merge(parts, 1, &p), 0);
  md.u[2][1] = 0.0;
  cr_expect_eq(tsr__em_fit(&md, &p, &o, &r, &err), TSR_EINVAL);
  cr_expect(strstr(err.msg, "u = 0") != NULL, "%s", err.msg);
  o.exclude = 1u << 2; /* left out: its u does not matter */
  cr_expect_eq(tsr__em_fit(&md, &p, &o, &r, &err), 0);
  cr_expect_eq(r.m[2][1], md.m[2][1]); /* an excluded comparison keeps its m */
  cr_expect_eq(r.mden[2], 0.0);
  tsr__em_result_free(&r);
  tsr__patterns_free(&p);
  tsr__pcount_free(&t);
}

Test(model, strong_prior_m) {
  uint8_t nlev[3] = {2, 3, 6};
  tsr__model md;
  cr_assert_eq(tsr__model_init(&md, 3, nlev, NULL), 0);
  cr_expect_eq(md.lambda, 0.5);
  tsr__model_prior_m(&md, 0, 0.95);
  tsr__model_prior_m(&md, 1, 0.95);
  tsr__model_prior_m(&md, 2, 0.9);
  cr_expect_eq(md.m[0][1], 1.0); /* one non-null level takes it all */
  cr_expect_eq(md.m[1][1], 0.95);
  cr_expect(fabs(md.m[1][2] - 0.05) < 1e-15);
  cr_expect_eq(md.m[2][1], 0.9);
  for (int l = 2; l < 6; l++) cr_expect(fabs(md.m[2][l] - 0.025) < 1e-15);
  cr_expect_eq(md.m[2][0], 0.0);
}
