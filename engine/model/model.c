/* The model itself: level packing, match weights and probabilities, the
 * per-pattern weight table, the degenerate-fit check, the conversions of
 * lambda and term-frequency adjustments. EM is in em.c, u in u.c, pattern
 * counts in pcount.c. */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "common/common_internal.h"
#include "model/model.h"

int tsr__model_init(tsr__model *md, uint32_t k, const uint8_t *nlev, tsr_error *err) {
  memset(md, 0, sizeof *md);
  TSR_RETURN_IF(k == 0 || k > TSR__MODEL_MAX_K, err, TSR_EINVAL, "a model needs 1 to %d comparisons, not %u",
                TSR__MODEL_MAX_K, k);
  uint32_t shift = 0;
  for (uint32_t i = 0; i < k; i++) {
    TSR_RETURN_IF(nlev[i] < 2 || nlev[i] > TSR__MODEL_MAX_L, err, TSR_EINVAL,
                  "comparison %u has %u levels; it needs 2 to %d, null included", i, nlev[i], TSR__MODEL_MAX_L);
    uint32_t b = 1;
    while ((1u << b) < nlev[i]) b++;
    TSR_RETURN_IF(shift + b > 32, err, TSR_ELIMIT,
                  "the comparisons' levels need more than 32 bits to pack (comparison %u starts at bit %u and needs %u)",
                  i, shift, b);
    md->nlev[i] = nlev[i];
    md->shift[i] = (uint8_t)shift;
    md->bits[i] = (uint8_t)b;
    shift += b;
  }
  md->k = k;
  md->lambda = 0.5;
  return 0;
}

void tsr__model_prior_m(tsr__model *md, uint32_t k, double first) {
  uint32_t L = md->nlev[k];
  md->m[k][0] = 0.0;
  if (L == 2) {
    md->m[k][1] = 1.0;
    return;
  }
  md->m[k][1] = first;
  for (uint32_t l = 2; l < L; l++) md->m[k][l] = (1.0 - first) / (double)(L - 2);
}

double tsr__wq(double w) {
  if (!(w < TSR__W_MAX)) w = isnan(w) ? 0.0 : TSR__W_MAX;
  if (w < -TSR__W_MAX) w = -TSR__W_MAX;
  return ldexp(nearbyint(ldexp(w, 32)), -32);
}

void tsr__model_weights(tsr__model *md) {
  for (uint32_t k = 0; k < md->k; k++) {
    md->w[k][0] = 0.0;
    for (uint32_t l = 1; l < md->nlev[k]; l++) {
      double m = md->m[k][l], u = md->u[k][l];
      md->w[k][l] = m <= 0.0 ? -TSR__W_MAX : u <= 0.0 ? TSR__W_MAX : tsr__wq(log2(m / u));
    }
  }
  double lam = md->lambda;
  if (lam < 1e-15) lam = 1e-15;
  if (lam > 1.0 - 1e-15) lam = 1.0 - 1e-15;
  md->prior = tsr__wq(log2(lam / (1.0 - lam)));
}

double tsr__model_score(const tsr__model *md, uint32_t pattern) {
  double s = md->prior;
  for (uint32_t k = 0; k < md->k; k++) {
    uint32_t l = tsr__pattern_level(md, pattern, k);
    assert(l < md->nlev[k]);
    s += md->w[k][l];
  }
  return s;
}

double tsr__match_prob(double weight) { return 1.0 / (1.0 + exp2(-weight)); }

/* DESIGN (weight table)
 *   Comparisons are taken greedily into groups of at most
 *   TSR__WT_GROUP_BITS packed bits (a comparison never straddles two
 *   groups). Group g's table holds, for every code of its bits, the sum of
 *   its comparisons' weights; exactness of quantised sums makes
 *   prior + sum of the groups equal tsr__model_score. */
int tsr__wtable_build(const tsr__model *md, tsr__wtable *wt) {
  memset(wt, 0, sizeof *wt);
  wt->prior = md->prior;
  uint32_t k = 0;
  while (k < md->k) {
    uint32_t g = wt->ngroups, first = k, bits = md->bits[k];
    k++;
    while (k < md->k && bits + md->bits[k] <= TSR__WT_GROUP_BITS) bits += md->bits[k++];
    wt->shift[g] = md->shift[first];
    wt->bits[g] = (uint8_t)bits;
    size_t n = (size_t)1 << bits;
    double *t = tsr__malloc(n * sizeof *t);
    if (!t) {
      tsr__wtable_free(wt);
      return TSR_ENOMEM;
    }
    wt->t[g] = t;
    wt->ngroups++;
    for (size_t code = 0; code < n; code++) {
      double s = 0.0;
      for (uint32_t c = first; c < k; c++) {
        uint32_t l = (uint32_t)(code >> (md->shift[c] - md->shift[first])) & ((1u << md->bits[c]) - 1u);
        s += l < md->nlev[c] ? md->w[c][l] : NAN;
      }
      t[code] = s;
    }
  }
  return 0;
}

void tsr__wtable_free(tsr__wtable *wt) {
  if (!wt) return;
  for (uint32_t g = 0; g < wt->ngroups; g++) tsr__free(wt->t[g]);
  memset(wt, 0, sizeof *wt);
}

uint32_t tsr__model_degenerate(const tsr__model *md, tsr__level_ref *out, uint32_t cap) {
  uint32_t n = 0;
  for (uint32_t k = 0; k < md->k; k++)
    for (uint32_t l = 1; l + 1 < md->nlev[k]; l++) {
      if (md->m[k][l] > md->u[k][l]) continue;
      if (n < cap) out[n] = (tsr__level_ref){(uint8_t)k, (uint8_t)l};
      n++;
    }
  return n;
}

double tsr__lambda_scope(double matches, double pairs_scope) {
  return pairs_scope > 0.0 ? matches / pairs_scope : 0.0;
}

double tsr__lambda_from_links(double links, double recall, double pairs_scope) {
  return pairs_scope > 0.0 && recall > 0.0 ? links / recall / pairs_scope : 0.0;
}

double tsr__tf_adjust(double u_level, uint64_t f, uint64_t n, double tf_min, double weight) {
  double uv = n ? (double)f / (double)n : 1.0;
  if (uv < tf_min) uv = tf_min;
  if (!(uv > 0.0) || !(u_level > 0.0)) return 0.0;
  return tsr__wq(weight * log2(u_level / uv));
}
