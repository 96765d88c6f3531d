/* The pipeline driver (tessera/run.h): ingest -> block/steps -> cluster ->
 * per-patient facts, producing the linkage result that every later stage
 * reads.
 *
 * DESIGN
 *   The driver is the only place that sees the block and cluster stages'
 *   internals (the record set, union-find, step statistics). It turns what
 *   they leave behind into the public result before handing it on:
 *
 *     stores ──► recset ──► steps ──► parent[] ──► label ──► pid[], step[]
 *                              │                               │
 *                              └─► tsr_rule_stats (keys as     └─► facts.c
 *                                  text, from the recset)
 *
 *   parent[] is freed as soon as the patients are numbered. Every array is
 *   indexed by gid or patient id - 1 and filled so that the result does not
 *   depend on the thread count. */
#include <stdio.h>
#include <string.h>

#include "block/block.h"
#include "cluster/cluster.h"
#include "cluster/steps.h"
#include "common/common_internal.h"
#include "run/run_internal.h"

void tsr_run_opts_init(tsr_run_opts *o) { memset(o, 0, sizeof *o); }

/* The block/cluster step statistics as the public rule stats; block keys
 * become text while the record set is at hand. */
static void rule_stats(tsr_rule_stats *out, const tsr__step_stats *st, const tsr__recset *rs, const tsr_rule_cfg *r,
                       uint32_t ns) {
  memset(out, 0, sizeof *out);
  out->eligible = st->eligible;
  out->blocks = st->blocks;
  out->partitions = st->partitions;
  out->pairs_linked = st->pairs;
  out->records_linked = st->linked_total;
  for (uint32_t s = 0; s < ns && s < TSR_MAX_SOURCES; s++) out->records_linked_by_source[s] = st->linked[s];
  out->ambiguous_blocks = st->ambiguous_blocks;
  out->ambiguous_records = st->ambiguous_records;
  out->merged_blocks = st->merged_blocks;
  out->vetoed_blocks = st->vetoed_blocks;
  out->capped_blocks = st->capped_blocks;
  out->capped_records = st->capped_records;
  uint32_t nt = st->n_top < TSR_RULE_TOP_BLOCKS ? st->n_top : TSR_RULE_TOP_BLOCKS;
  for (uint32_t i = 0; i < nt; i++) {
    out->top[i].records = st->top[i].size;
    out->top[i].capped = st->top[i].capped;
    tsr__key_text(rs, r, st->top[i].first, out->top[i].key, sizeof out->top[i].key);
  }
  out->n_top = nt;
  out->seconds_keys = st->seconds_keys;
  out->seconds_group = st->seconds_group;
  out->seconds_link = st->seconds_link;
}

/* Warns (also under --quiet) about every field a rule of the run uses that
 * is mostly missing or invalid in source s: a rule on it would link almost
 * nothing, and the likely cause (a date window, a format) is in the text. */
static void warn_fields(const tsr_linkage *L, uint32_t s) {
  const tsr_link_cfg *lc = &L->cfg->link;
  const char *seen[TSR_MAX_KEY_PARTS * 32];
  uint32_t nseen = 0;
  for (uint32_t k = 0; k < lc->n_rules; k++) {
    const tsr_rule_cfg *r = &lc->rules[k];
    if (!(r->source_mask >> s & 1)) continue;
    for (uint32_t i = 0; i < r->n_parts; i++) {
      const char *f = r->parts[i].field;
      int dup = 0;
      for (uint32_t j = 0; j < nseen && !dup; j++) dup = strcmp(seen[j], f) == 0;
      if (dup) continue;
      if (nseen < sizeof seen / sizeof seen[0]) seen[nseen++] = f;
      char msg[1024];
      if (tsr_ingest_field_warning(&L->cfg->sources[s], L->stores[s], f, msg, sizeof msg))
        TSR_LOG_W("%s (rule %s uses it)", msg, r->name);
    }
  }
}

static int ingest_all(tsr_linkage *L, const tsr_run_opts *opts, tsr_error *err) {
  tsr_ingest_opts io;
  tsr_ingest_opts_init(&io);
  io.threads = L->threads;
  io.rejects = opts->rejects;
  for (uint32_t s = 0; s < L->ns; s++) {
    double t0 = tsr__now();
    TSR_FORWARD_IF_ERROR(tsr_ingest_source(&L->cfg->sources[s], &io, &L->stores[s], &L->ist[s], err));
    warn_fields(L, s);
    char label[160];
    snprintf(label, sizeof label, "ingest %s", L->cfg->sources[s].name);
    TSR_FORWARD_IF_ERROR(tsr__run_stage(L, label, t0, err));
  }
  return 0;
}

/* Steps, the probabilistic stage and clusters: fills L->pid, L->step,
 * L->rules, L->prob and the patient count. */
static int link_and_cluster(tsr_linkage *L, const tsr_run_opts *opts, tsr_error *err) {
  const tsr_link_cfg *lc = &L->cfg->link;
  tsr__recset rs;
  tsr__recset_init(&rs, (const tsr_store *const *)L->stores, L->ns);
  if (rs.total >= UINT32_MAX)
    return tsr_error_set(err, TSR_ELIMIT, NULL, 0, 0, "more than 4,294,967,294 records in one run");
  for (uint32_t s = 0; s <= L->ns; s++) L->base[s] = rs.base[s];
  const uint64_t N = rs.total;
  L->nrec = N;
  double t0 = tsr__now();
  uint32_t *parent = tsr__malloc(sizeof *parent * (N + 1));
  tsr__step_stats *steps = tsr__calloc(lc->n_rules, sizeof *steps);
  L->step = tsr__calloc(N + 1, 1);
  L->pid = tsr__malloc(sizeof *L->pid * (N + 1));
  int rc = 0;
  if (!parent || !steps || !L->step || !L->pid) {
    rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory for %llu records", (unsigned long long)N);
    goto done;
  }
  tsr__uf_init(parent, N, L->threads);
  if ((rc = tsr__run_steps(&rs, lc, parent, L->step, steps, L->threads, err)) != 0) goto done;
  for (uint32_t k = 0; k < lc->n_rules; k++) {
    TSR_LOG_I("rule %s: %llu records linked (%llu blocks, %llu ambiguous, %llu capped)", lc->rules[k].name,
              (unsigned long long)steps[k].linked_total, (unsigned long long)steps[k].blocks,
              (unsigned long long)steps[k].ambiguous_blocks, (unsigned long long)steps[k].capped_blocks);
    rule_stats(&L->rules[k], &steps[k], &rs, &lc->rules[k], L->ns);
  }
  if ((rc = tsr__run_stage(L, "block and link", t0, err)) != 0) goto done;
  if (L->cfg->prob.present) {
    t0 = tsr__now();
    tsr__prob_opts po = {opts->model, opts->threshold, opts->no_precollapse};
    if ((rc = tsr__run_prob(L, &rs, parent, &po, err)) != 0) goto done;
    if ((rc = tsr__run_stage(L, "probabilistic", t0, err)) != 0) goto done;
  }
  t0 = tsr__now();
  L->facts.n = tsr__uf_label(parent, N, L->pid, L->threads);
  tsr__free(parent);
  parent = NULL;
  if ((rc = tsr__run_facts(L, err)) != 0) goto done;
  rc = tsr__run_stage(L, "cluster", t0, err);
done:
  tsr__free(parent);
  tsr__free(steps);
  return rc;
}

int tsr_run_linkage(const tsr_config *cfg, const tsr_run_opts *opts, tsr_linkage **out, tsr_error *err) {
  tsr_error_clear(err);
  *out = NULL;
  if ((!cfg->link.present || cfg->link.n_rules == 0) && !cfg->prob.present)
    return tsr_error_set(err, TSR_ECONFIG, cfg->path, 0, 0,
                         "link: the config has neither a \"link\" section with rules nor a \"probabilistic\" section (add one, "
                         "or pass --rules hesid)");
  if (cfg->prob.present && (cfg->prob.n_blocking > TSR__PROB_MAX_RULES || cfg->prob.n_training > TSR__PROB_MAX_RULES))
    return tsr_error_set(err, TSR_ELIMIT, cfg->path, 0, 0, "probabilistic: more than %d blocking or training rules",
                         TSR__PROB_MAX_RULES);
  if (cfg->n_sources > TSR_MAX_SOURCES)
    return tsr_error_set(err, TSR_ELIMIT, cfg->path, 0, 0, "more than %d sources", TSR_MAX_SOURCES);
  tsr_run_opts dflt;
  if (!opts) {
    tsr_run_opts_init(&dflt);
    opts = &dflt;
  }
  tsr_linkage *L = tsr__calloc(1, sizeof *L);
  if (!L) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  L->t_start = tsr__now();
  L->cfg = cfg;
  L->threads = tsr__threads(opts->threads);
  L->ns = cfg->n_sources;
  L->nrules = cfg->link.n_rules;
  L->stores = tsr__calloc(L->ns + 1, sizeof *L->stores);
  L->ist = tsr__calloc(L->ns + 1, sizeof *L->ist);
  L->rules = tsr__calloc(L->nrules, sizeof *L->rules);
  int rc = 0;
  if (!L->stores || !L->ist || !L->rules)
    rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  if (!rc) rc = ingest_all(L, opts, err);
  if (!rc) rc = link_and_cluster(L, opts, err);
  if (rc) {
    tsr_linkage_free(L);
    return rc;
  }
  *out = L;
  return 0;
}

void tsr_linkage_free(tsr_linkage *L) {
  if (!L) return;
  if (L->stores)
    for (uint32_t s = 0; s < L->ns; s++) tsr_store_free(L->stores[s]);
  tsr__free(L->stores);
  tsr__free(L->ist);
  tsr__free(L->rules);
  tsr__free(L->pid);
  tsr__free(L->step);
  tsr__free(L->precords);
  tsr__free(L->pby_source);
  tsr__free(L->pfirst);
  tsr__free(L->plast);
  tsr__free(L->nhs_min);
  tsr__free(L->nhs_max);
  tsr__free(L->stages);
  tsr__prob_free(L->prob);
  tsr__free(L);
}

/* --- accessors ---------------------------------------------------------------- */
const tsr_config *tsr_linkage_config(const tsr_linkage *L) { return L->cfg; }
uint32_t tsr_linkage_nsources(const tsr_linkage *L) { return L->ns; }
const char *tsr_linkage_source_name(const tsr_linkage *L, uint32_t s) {
  return s < L->ns ? L->cfg->sources[s].name : NULL;
}
const tsr_store *tsr_linkage_store(const tsr_linkage *L, uint32_t s) { return s < L->ns ? L->stores[s] : NULL; }
const tsr_ingest_stats *tsr_linkage_ingest_stats(const tsr_linkage *L, uint32_t s) {
  return s < L->ns ? &L->ist[s] : NULL;
}
uint64_t tsr_linkage_source_base(const tsr_linkage *L, uint32_t s) { return L->base[s <= L->ns ? s : L->ns]; }
uint32_t tsr_linkage_source_of(const tsr_linkage *L, uint64_t gid) {
  uint32_t s = 0;
  while (s + 1 < L->ns && gid >= L->base[s + 1]) s++;
  return s;
}
int tsr_linkage_threads(const tsr_linkage *L) { return L->threads; }
uint64_t tsr_linkage_records(const tsr_linkage *L) { return L->nrec; }
const int64_t *tsr_linkage_patient_ids(const tsr_linkage *L) { return L->pid; }
const uint8_t *tsr_linkage_steps(const tsr_linkage *L) { return L->step; }
const double *tsr_linkage_weights(const tsr_linkage *L) { return L->prob ? L->prob->rec_w : NULL; }
uint32_t tsr_linkage_nrules(const tsr_linkage *L) { return L->nrules; }
const char *tsr_linkage_rule_name(const tsr_linkage *L, uint32_t k) {
  if (L->prob && k == L->nrules + 1) return "probabilistic";
  return k >= 1 && k <= L->nrules ? L->cfg->link.rules[k - 1].name : NULL;
}
const tsr_rule_stats *tsr_linkage_rule_stats(const tsr_linkage *L, uint32_t k) {
  return k >= 1 && k <= L->nrules ? &L->rules[k - 1] : NULL;
}
uint64_t tsr_linkage_patients(const tsr_linkage *L) { return L->facts.n; }
const tsr_patient_facts *tsr_linkage_facts(const tsr_linkage *L) { return &L->facts; }
uint64_t tsr_linkage_records_linked(const tsr_linkage *L) { return L->linked; }
