/* EM for m and lambda over agreement-pattern counts (fastLink style), and
 * training over several blocking rules with each rule's own comparisons
 * left out.
 *
 * DESIGN
 *   The counts table has a few thousand rows at most, so one iteration is
 *   microseconds and runs on one thread, patterns in ascending order: the
 *   result is a pure function of the sorted counts. Per pattern p (count n):
 *     a = log lambda + sum_k log m_k(g_kp),  b = log(1 - lambda) + sum_k log u_k(g_kp)
 *   over the comparisons that are not null and not left out (null drops out
 *   of both products: missing at random). g_p = exp(a - LL_p) with
 *   LL_p = log(e^a + e^b), taken in logs so 16 small factors never
 *   underflow. M-step with a pseudo-count alpha on every non-null level:
 *     m_kl = (sum_p n g [g_kp = l] + alpha) / (sum_p n g [g_kp != 0] + alpha (L_k - 1))
 *   so a level no match ever shows keeps m > 0 and can recover (Splink #161).
 *   lambda = sum n g / sum n. u never changes. Stop when the largest change
 *   of any m and of lambda is below tol, or at max_iter. */
#include <math.h>
#include <string.h>

#include "common/common_internal.h"
#include "model/model.h"

void tsr__em_opts_init(tsr__em_opts *o) {
  memset(o, 0, sizeof *o);
  o->max_iter = 500;
  o->tol = 1e-7;
  o->pseudo = 0.5;
  o->lambda0 = 0.1;
}

void tsr__em_result_free(tsr__em_result *r) {
  if (!r) return;
  tsr__free(r->loglik);
  r->loglik = NULL;
}

/* One E-step over p with m (levels of the comparisons in use) and lam: adds
 * sum n g [gamma_k = l] into s (when s is not NULL), returns sum n g and the
 * log-likelihood in *ll. Patterns in their sorted order. */
static double estep(const tsr__model *md, const double (*m)[TSR__MODEL_MAX_L], double lam, uint32_t use,
                    const tsr__patterns *p, double (*s)[TSR__MODEL_MAX_L], double *ll) {
  const uint32_t K = md->k;
  double lu[TSR__MODEL_MAX_K][TSR__MODEL_MAX_L], lm[TSR__MODEL_MAX_K][TSR__MODEL_MAX_L];
  for (uint32_t k = 0; k < K; k++)
    for (uint32_t l = 1; l < md->nlev[k]; l++) {
      lu[k][l] = md->u[k][l] > 0.0 ? log(md->u[k][l]) : 0.0;
      lm[k][l] = m[k][l] > 0.0 ? log(m[k][l]) : -1e300;
    }
  double sg = 0.0, sll = 0.0, loglam = log(lam), log1lam = log1p(-lam);
  for (uint32_t i = 0; i < p->n; i++) {
    uint32_t pat = p->pat[i];
    double a = loglam, b = log1lam;
    for (uint32_t k = 0; k < K; k++) {
      uint32_t l = tsr__pattern_level(md, pat, k);
      if (!l || !(use >> k & 1)) continue;
      a += lm[k][l];
      b += lu[k][l];
    }
    double hi = a > b ? a : b;
    double llp = hi + log1p(exp(-fabs(a - b)));
    double n = (double)p->cnt[i], ng = n * exp(a - llp);
    sll += n * llp;
    sg += ng;
    if (!s) continue;
    for (uint32_t k = 0; k < K; k++) {
      uint32_t l = tsr__pattern_level(md, pat, k);
      if (l && (use >> k & 1)) s[k][l] += ng;
    }
  }
  *ll = sll;
  return sg;
}

/* Checks the counts fit the model: levels in range, u > 0 where used. */
static int check_counts(const tsr__model *md, const tsr__patterns *p, uint32_t use, tsr_error *err) {
  for (uint32_t i = 0; i < p->n; i++)
    for (uint32_t k = 0; k < md->k; k++) {
      uint32_t l = tsr__pattern_level(md, p->pat[i], k);
      TSR_RETURN_IF(l >= md->nlev[k], err, TSR_EINVAL, "pattern %08x has level %u in comparison %u of %u levels",
                    p->pat[i], l, k, md->nlev[k]);
      TSR_RETURN_IF((use >> k & 1) && l && !(md->u[k][l] > 0.0), err, TSR_EINVAL,
                    "comparison %u level %u has u = 0 but pairs show it", k, l);
    }
  return 0;
}

static uint32_t use_mask(const tsr__model *md, uint32_t exclude) {
  uint32_t use = 0;
  for (uint32_t k = 0; k < md->k; k++)
    if (!(exclude >> k & 1)) use |= 1u << k;
  return use;
}

int tsr__em_fit(const tsr__model *md, const tsr__patterns *p, const tsr__em_opts *o, tsr__em_result *r,
                tsr_error *err) {
  memset(r, 0, sizeof *r);
  const uint32_t K = md->k;
  TSR_RETURN_IF(!p->n || !p->total, err, TSR_EINVAL, "EM has no pairs to learn from");
  TSR_RETURN_IF(!o->max_iter, err, TSR_EINVAL, "EM needs at least one iteration");
  uint32_t use = use_mask(md, o->exclude); /* comparisons EM fits */
  TSR_FORWARD_IF_ERROR(check_counts(md, p, use, err));
  r->loglik = tsr__malloc((size_t)o->max_iter * sizeof *r->loglik);
  TSR_RETURN_IF(!r->loglik, err, TSR_ENOMEM, "EM: no memory for the log-likelihood trace");
  memcpy(r->m, md->m, sizeof r->m);
  double lam = o->lambda0 > 0.0 && o->lambda0 < 1.0 ? o->lambda0 : 0.1;
  for (uint32_t it = 0; it < o->max_iter; it++) {
    double s[TSR__MODEL_MAX_K][TSR__MODEL_MAX_L] = {{0}}, ll;
    double sg = estep(md, (const double(*)[TSR__MODEL_MAX_L])r->m, lam, use, p, s, &ll);
    r->loglik[it] = ll;
    r->iterations = it + 1;
    double change = 0.0;
    for (uint32_t k = 0; k < K; k++) {
      if (!(use >> k & 1)) continue;
      uint32_t L = md->nlev[k];
      double seen = 0.0;
      for (uint32_t l = 1; l < L; l++) seen += s[k][l];
      r->mden[k] = seen;
      double den = seen + o->pseudo * (double)(L - 1);
      for (uint32_t l = 1; l < L; l++) {
        double m = den > 0.0 ? (s[k][l] + o->pseudo) / den : r->m[k][l];
        double d = fabs(m - r->m[k][l]);
        if (d > change) change = d;
        r->m[k][l] = m;
      }
    }
    double nl = sg / (double)p->total;
    if (fabs(nl - lam) > change) change = fabs(nl - lam);
    lam = nl;
    if (lam < 1e-15) lam = 1e-15;
    if (lam > 1.0 - 1e-15) lam = 1.0 - 1e-15;
    r->matches = sg;
    if (change < o->tol) {
      r->converged = 1;
      break;
    }
  }
  r->lambda = lam;
  return 0;
}

int tsr__em_train_rules(tsr__model *md, const tsr__patterns *const *p, const uint32_t *exclude, uint32_t nrules,
                        const tsr__patterns *const *first, double pairs_scope, const tsr__em_opts *o, tsr__em_result *res,
                        tsr__train_out *out, tsr_error *err) {
  memset(out, 0, sizeof *out);
  TSR_RETURN_IF(!nrules, err, TSR_EINVAL, "training needs at least one blocking rule");
  if (res) memset(res, 0, (size_t)nrules * sizeof *res);
  double num[TSR__MODEL_MAX_K][TSR__MODEL_MAX_L] = {{0}}, wsum[TSR__MODEL_MAX_K] = {0};
  int rc = 0;
  for (uint32_t r = 0; r < nrules && rc == 0; r++) {
    tsr__em_opts ro = *o;
    ro.exclude = o->exclude | exclude[r];
    tsr__em_result one, *fit = res ? &res[r] : &one;
    rc = tsr__em_fit(md, p[r], &ro, fit, err);
    if (rc < 0) {
      if (!res) tsr__em_result_free(&one);
      break;
    }
    if (first && first[r]) {
      rc = check_counts(md, first[r], use_mask(md, ro.exclude), err);
      double ll;
      if (rc == 0)
        out->matches += estep(md, (const double(*)[TSR__MODEL_MAX_L])fit->m, fit->lambda, use_mask(md, ro.exclude),
                              first[r], NULL, &ll);
    } else {
      out->matches += fit->matches;
    }
    out->iterations += fit->iterations;
    for (uint32_t k = 0; k < md->k; k++) {
      if (ro.exclude >> k & 1) continue;
      wsum[k] += fit->mden[k];
      for (uint32_t l = 1; l < md->nlev[k]; l++) num[k][l] += fit->mden[k] * fit->m[k][l];
    }
    if (!res) tsr__em_result_free(&one);
  }
  if (rc < 0) {
    if (res)
      for (uint32_t r = 0; r < nrules; r++) tsr__em_result_free(&res[r]);
    return rc;
  }
  for (uint32_t k = 0; k < md->k; k++) {
    if (!(wsum[k] > 0.0)) {
      out->untrained |= 1u << k;
      continue;
    }
    for (uint32_t l = 1; l < md->nlev[k]; l++) md->m[k][l] = num[k][l] / wsum[k];
  }
  md->lambda = tsr__lambda_scope(out->matches, pairs_scope);
  tsr__model_weights(md);
  return 0;
}
