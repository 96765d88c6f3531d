/* The probabilistic stage's result as others read it (tessera/run.h): the
 * pairs view, level decoding, and report.json's "probabilistic" object
 * (docs/config.md lists its keys). Everything here reads L->prob, which
 * prob.c filled; nothing is computed again. */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "common/common_internal.h"
#include "model/model_json.h"
#include "run/run_internal.h"

void tsr_linkage_pairs(const tsr_linkage *L, tsr_pairs_view *out) {
  memset(out, 0, sizeof *out);
  const tsr__prob *P = L->prob;
  if (!P) return;
  out->n = P->np;
  out->a = P->pa, out->b = P->pb, out->rule = P->prule, out->pattern = P->ppat, out->weight = P->pw;
  out->linked = P->plinked;
  out->ncmp = P->md.k;
}

uint32_t tsr_linkage_pair_level(const tsr_linkage *L, uint32_t pattern, uint32_t k) {
  if (!L->prob || k >= L->prob->md.k) return 0;
  return tsr__pattern_level(&L->prob->md, pattern, k);
}

double tsr_match_probability(double weight) { return tsr__match_prob(weight); }

static json_t *real(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *pair_ids(const tsr_linkage *L, uint32_t a, uint32_t b, json_t *o) {
  const uint32_t g[2] = {a, b};
  static const char *const ks[2][2] = {{"source_a", "id_a"}, {"source_b", "id_b"}};
  for (int j = 0; j < 2; j++) {
    uint32_t s = tsr_linkage_source_of(L, g[j]);
    tsr_view id = tsr_store_id(tsr_linkage_store(L, s), g[j] - tsr_linkage_source_base(L, s));
    json_object_set_new(o, ks[j][0], json_string(tsr_linkage_source_name(L, s)));
    json_object_set_new(o, ks[j][1], json_stringn(id.ptr, id.len));
  }
  return o;
}

static json_t *fields_of(const tsr_cmp_cfg *c) {
  json_t *a = json_array();
  json_array_append_new(a, json_string(c->field));
  if (c->field2) json_array_append_new(a, json_string(c->field2));
  return a;
}

int tsr_linkage_prob_json(const tsr_linkage *L, json_t **out, tsr_error *err) {
  *out = NULL;
  const tsr__prob *P = L->prob;
  if (!P) return 0;
  const tsr_prob_cfg *pc = &L->cfg->prob;
  const tsr__model *md = &P->md;
  json_t *o = json_object();
  if (!o) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  json_object_set_new(o, "model", json_string(P->loaded ? "loaded" : "trained"));
  json_object_set_new(o, "model_path", P->loaded ? json_string(P->model_path) : json_null());
  json_object_set_new(o, "threshold", json_real(P->threshold));
  json_object_set_new(o, "threshold_weight", json_real(P->threshold_weight));
  json_object_set_new(o, "pairs_floor", json_real(pc->pairs_floor));
  json_object_set_new(o, "threads", json_integer(P->threads));
  json_object_set_new(o, "pairs_candidates", json_integer((json_int_t)P->pairs_candidates));
  json_object_set_new(o, "pairs_same_cluster", json_integer((json_int_t)P->pairs_same_cluster));
  json_object_set_new(o, "pairs_two_clusters", json_integer((json_int_t)P->pairs_two_clusters));
  json_object_set_new(o, "pairs_scored", json_integer((json_int_t)P->pairs_scored));
  json_object_set_new(o, "pairs_precollapsed", json_integer((json_int_t)P->pairs_precollapsed));
  json_object_set_new(o, "score_seconds", json_real(P->score_seconds));
  double per = P->score_seconds > 0 && P->threads > 0
                   ? (double)(P->pairs_scored + P->pairs_precollapsed) / P->score_seconds / P->threads
                   : 0.0;
  json_object_set_new(o, "pairs_per_second_per_thread", json_real(per));
  double cper = P->score_seconds > 0 && P->threads > 0 ? (double)P->pairs_candidates / P->score_seconds / P->threads : 0.0;
  json_object_set_new(o, "candidates_per_second_per_thread", json_real(cper));
  json_object_set_new(o, "pairs_written", json_integer((json_int_t)P->np));
  json_object_set_new(o, "pairs_above_threshold", json_integer((json_int_t)P->pairs_above));
  json_object_set_new(o, "u_pairs", json_integer((json_int_t)(P->loaded ? P->u_pairs_loaded : P->ures.pairs)));
  json_object_set_new(o, "u_seconds", json_real(P->u_seconds));
  json_object_set_new(o, "u_enough", json_boolean(P->ures.enough));
  json_object_set_new(o, "em_iterations", json_integer(P->em_iterations));
  json_object_set_new(o, "em_seconds", json_real(P->em_seconds));
  json_object_set_new(o, "train_pairs", json_integer((json_int_t)P->train_pairs));
  json_object_set_new(o, "train_seconds", json_real(P->train_seconds));
  json_t *em = json_array();
  for (uint32_t i = 0; i < P->n_em; i++) {
    const tsr__em_result *r = &P->em[i];
    const uint32_t ri = P->em_rule[i];
    json_t *e = json_object();
    json_object_set_new(e, "rule", json_string(pc->training[ri].name));
    json_object_set_new(e, "pairs_all", json_integer((json_int_t)P->rule_all_pairs[ri]));
    json_object_set_new(e, "record_sample", json_real(P->rule_sample[ri]));
    json_object_set_new(e, "pairs", json_integer((json_int_t)P->rule_train_pairs[ri]));
    json_object_set_new(e, "iterations", json_integer(r->iterations));
    json_object_set_new(e, "converged", json_boolean(r->converged));
    json_object_set_new(e, "lambda", real(r->lambda));
    json_t *lo = json_array();
    for (uint32_t k = 0; k < md->k; k++) {
      int fixed = 0;
      for (uint32_t p = 0; p < pc->training[ri].n_parts; p++) {
        const char *f = pc->training[ri].parts[p].field;
        fixed |= strcmp(f, pc->cmp[k].field) == 0 || (pc->cmp[k].field2 && strcmp(f, pc->cmp[k].field2) == 0);
      }
      if (fixed) json_array_append_new(lo, json_string(pc->cmp[k].name));
    }
    json_object_set_new(e, "left_out", lo);
    json_t *ll = json_array();
    for (uint32_t it = 0; it < r->iterations && r->loglik; it++) json_array_append_new(ll, real(r->loglik[it]));
    json_object_set_new(e, "loglik", ll);
    json_array_append_new(em, e);
  }
  json_object_set_new(o, "em", em);
  json_object_set_new(o, "lambda", json_real(md->lambda));
  json_object_set_new(o, "lambda_em", P->loaded ? json_null() : real(P->lambda_em));
  json_object_set_new(o, "lambda_rules", P->lambda_rules > 0 ? json_real(P->lambda_rules) : json_null());
  json_object_set_new(o, "prior_weight", json_real(md->prior));
  json_t *cs = json_array();
  for (uint32_t k = 0; k < md->k; k++) {
    const tsr_cmp_cfg *c = &pc->cmp[k];
    json_t *co = json_object();
    json_object_set_new(co, "name", json_string(c->name));
    json_object_set_new(co, "kind", json_string(tsr_cmp_kind_name(c->kind)));
    json_object_set_new(co, "fields", fields_of(c));
    json_object_set_new(co, "tf", json_boolean(P->tf_on[k]));
    json_object_set_new(co, "trained", json_boolean(!(P->untrained >> k & 1)));
    uint32_t nn;
    const char *const *ln = tsr_cmp_level_names(c->kind, &nn);
    json_t *lv = json_array();
    for (uint32_t l = 1; l < md->nlev[k] && l < nn; l++) {
      if (!(c->enabled >> l & 1)) continue;
      json_t *x = json_object();
      json_object_set_new(x, "name", json_string(ln[l]));
      json_object_set_new(x, "m", json_real(md->m[k][l]));
      json_object_set_new(x, "u", json_real(md->u[k][l]));
      json_object_set_new(x, "weight", json_real(md->w[k][l]));
      json_object_set_new(x, "pairs", json_integer((json_int_t)P->level_pairs[k][l]));
      json_array_append_new(lv, x);
    }
    json_object_set_new(co, "levels", lv);
    json_object_set_new(co, "null_pairs", json_integer((json_int_t)P->level_pairs[k][0]));
    json_array_append_new(cs, co);
  }
  json_object_set_new(o, "comparisons", cs);
  json_t *dg = json_array();
  for (uint32_t i = 0; i < P->n_degenerate && i < TSR__PROB_DEGEN; i++) {
    const tsr__level_ref *d = &P->degenerate[i];
    uint32_t nn;
    const char *const *ln = tsr_cmp_level_names(pc->cmp[d->k].kind, &nn);
    json_t *x = json_object();
    json_object_set_new(x, "comparison", json_string(pc->cmp[d->k].name));
    json_object_set_new(x, "level", json_string(d->level < nn ? ln[d->level] : "?"));
    json_object_set_new(x, "m", json_real(md->m[d->k][d->level]));
    json_object_set_new(x, "u", json_real(md->u[d->k][d->level]));
    json_array_append_new(dg, x);
  }
  json_object_set_new(o, "degenerate", dg);
  /* the histogram of W = prior + S, in 1-bit bins over the range that holds pairs */
  {
    const int res = 16, lo_bits = -128;
    const int nb = (int)(sizeof P->hist / sizeof P->hist[0]);
    int first = -1, last = -1;
    for (int h = 0; h < nb; h++)
      if (P->hist[h]) {
        if (first < 0) first = h;
        last = h;
      }
    json_t *hg = json_object();
    json_t *counts = json_array();
    double lo = 0;
    if (first >= 0) {
      double wlo = floor(lo_bits + (double)first / res + md->prior), whi = floor(lo_bits + (double)last / res + md->prior);
      int nbins = (int)(whi - wlo) + 1;
      uint64_t *c = tsr__calloc((size_t)nbins, sizeof *c);
      if (c) {
        for (int h = first; h <= last; h++) {
          double w = lo_bits + (double)h / res + md->prior;
          int bi = (int)(floor(w) - wlo);
          if (bi < 0) bi = 0;
          if (bi >= nbins) bi = nbins - 1;
          c[bi] += P->hist[h];
        }
        for (int i = 0; i < nbins; i++) json_array_append_new(counts, json_integer((json_int_t)c[i]));
        tsr__free(c);
      }
      lo = wlo;
    }
    json_object_set_new(hg, "lo", json_real(lo));
    json_object_set_new(hg, "width", json_real(1.0));
    json_object_set_new(hg, "counts", counts);
    json_object_set_new(o, "weight_histogram", hg);
  }
  json_t *wf = json_array();
  for (uint32_t f = 0; f < P->n_fall; f++) {
    const uint64_t i = P->fall[f];
    json_t *x = pair_ids(L, P->pa[i], P->pb[i], json_object());
    json_object_set_new(x, "weight", json_real(P->pw[i]));
    json_object_set_new(x, "probability", json_real(tsr__match_prob(P->pw[i])));
    json_object_set_new(x, "prior", json_real(md->prior));
    json_t *terms = json_array();
    for (uint32_t k = 0; k < md->k; k++) {
      uint32_t l = tsr__pattern_level(md, P->ppat[i], k), nn;
      const char *const *ln = tsr_cmp_level_names(pc->cmp[k].kind, &nn);
      json_t *t = json_object();
      json_object_set_new(t, "comparison", json_string(pc->cmp[k].name));
      json_object_set_new(t, "level", json_string(l < nn ? ln[l] : "?"));
      json_object_set_new(t, "weight", json_real(md->w[k][l]));
      json_object_set_new(t, "tf", json_real(P->fall_tf[f][k]));
      json_array_append_new(terms, t);
    }
    json_object_set_new(x, "terms", terms);
    json_array_append_new(wf, x);
  }
  json_object_set_new(o, "waterfall", wf);
  json_t *cl = json_object();
  json_object_set_new(cl, "edges", json_integer((json_int_t)P->pairs_above));
  json_object_set_new(cl, "accepted", json_integer((json_int_t)P->c_accepted));
  json_object_set_new(cl, "redundant", json_integer((json_int_t)P->c_redundant));
  json_object_set_new(cl, "vetoed_nhs", json_integer((json_int_t)P->c_vetoed));
  json_object_set_new(cl, "one_to_one", json_integer((json_int_t)P->c_one_to_one));
  json_object_set_new(cl, "kept_apart", json_integer((json_int_t)P->c_kept_apart));
  json_object_set_new(cl, "split", json_integer((json_int_t)P->c_split));
  json_object_set_new(cl, "records_linked", json_integer((json_int_t)P->records_linked));
  json_t *ov = json_array();
  const int64_t *pid = L->pid;
  for (uint32_t i = 0; i < P->n_over; i++) {
    const uint64_t e = P->over_edge[i];
    json_t *x = json_object();
    json_object_set_new(x, "patient_id", pid ? json_integer(pid[P->over_root[i]]) : json_null());
    json_object_set_new(x, "records", json_integer(P->over_size[i]));
    json_object_set_new(x, "weakest_weight", json_real(P->pw[e]));
    json_object_set_new(x, "weakest", pair_ids(L, P->pa[e], P->pb[e], json_object()));
    json_array_append_new(ov, x);
  }
  json_object_set_new(cl, "oversize", ov);
  json_object_set_new(o, "clusters", cl);
  json_t *br = json_array();
  for (uint32_t r = 0; r < pc->n_blocking; r++) {
    json_t *x = json_object();
    json_object_set_new(x, "rule", json_string(pc->blocking[r].name));
    json_object_set_new(x, "pairs", json_integer((json_int_t)P->rule_pairs[r]));
    json_object_set_new(x, "capped_pairs", json_integer((json_int_t)P->rule_capped[r]));
    json_array_append_new(br, x);
  }
  json_object_set_new(o, "blocking", br);
  *out = o;
  return 0;
}

static void model_info(const tsr__prob *P, const tsr_prob_cfg *pc, tsr__model_info *info) {
  memset(info, 0, sizeof *info);
  info->seed = pc->seed;
  info->u_pairs = P->loaded ? P->u_pairs_loaded : P->ures.pairs;
  info->train_pairs = P->train_pairs;
  info->em_iterations = P->em_iterations;
  info->lambda_em = P->lambda_em;
  info->lambda_rules = P->lambda_rules;
}

int tsr_linkage_model_save(const tsr_linkage *L, const char *path, tsr_error *err) {
  if (!L->prob) return tsr_error_set(err, TSR_EINVAL, path, 0, 0, "the run had no probabilistic stage: no model to save");
  tsr__model_info info;
  model_info(L->prob, &L->cfg->prob, &info);
  return tsr__model_save(path, &L->cfg->prob, &L->prob->md, &info, err);
}

int tsr_linkage_model_text(const tsr_linkage *L, char **text, tsr_error *err) {
  if (!L->prob) return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "the run had no probabilistic stage");
  tsr__model_info info;
  model_info(L->prob, &L->cfg->prob, &info);
  return tsr__model_to_text(&L->cfg->prob, &L->prob->md, &info, text, err);
}

int tsr_linkage_splink_save(const tsr_linkage *L, const char *path, tsr_error *err) {
  if (!L->prob) return tsr_error_set(err, TSR_EINVAL, path, 0, 0, "the run had no probabilistic stage: no model to export");
  return tsr__model_splink(path, L->cfg, &L->prob->md, err);
}
