/* tessera inspect --blocking: pair counts per rule (include/tessera/block.h),
 * counted from the pair batches the block stage hands over, the hand-off the
 * compare stage takes. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "common/common_internal.h"
#include "tessera/block.h"

/* Pairs per (thread, rule): each thread counts into its own row, so the
 * consumer needs no lock (the batch thread rules, block.h). */
typedef struct pair_count {
  uint32_t nrules;
  uint64_t *n; /* threads x nrules */
} pair_count;

static void count_batch(void *ctx, int thread, const tsr__pair_batch *batch) {
  pair_count *pc = ctx;
  uint64_t *row = pc->n + (size_t)thread * pc->nrules;
  /* pairs of one rule come in runs: count a run in a register */
  uint32_t i = 0;
  while (i < batch->n) {
    const uint16_t r = batch->rule[i];
    uint32_t j = i + 1;
    while (j < batch->n && batch->rule[j] == r) j++;
    row[r] += j - i;
    i = j;
  }
}

int tsr_blocking_profile(const tsr_config *cfg, const tsr_store *const *stores, int threads, int json, FILE *f,
                         tsr_error *err) {
  const tsr_link_cfg *l = &cfg->link;
  if (!l->present || !l->n_rules)
    return tsr_error_set(err, TSR_ECONFIG, cfg->path, 0, 0, "link: no rules to profile (add a \"link\" section)");
  tsr__recset rs;
  tsr__recset_init(&rs, stores, cfg->n_sources);
  threads = tsr__threads(threads);
  tsr__rule_pairs *rp = tsr__calloc(l->n_rules, sizeof *rp);
  pair_count pc = {l->n_rules, tsr__calloc((size_t)threads * l->n_rules, sizeof(uint64_t))};
  if (!rp || !pc.n) {
    tsr__free(rp);
    tsr__free(pc.n);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  }
  double t0 = tsr__now();
  int rc = tsr__block_pairs(&rs, l->rules, l->n_rules, l->mode, l->source_mask, l->max_block_size, count_batch, &pc,
                            rp, threads, err);
  double secs = tsr__now() - t0;
  for (uint32_t k = 0; !rc && k < l->n_rules; k++) {
    uint64_t n = 0;
    for (int t = 0; t < threads; t++) n += pc.n[(size_t)t * l->n_rules + k];
    if (n != rp[k].pairs)
      rc = tsr_error_set(err, TSR_EINTERNAL, NULL, 0, 0, "rule %s: %llu pairs in batches, %llu counted",
                         l->rules[k].name, (unsigned long long)n, (unsigned long long)rp[k].pairs);
  }
  tsr__free(pc.n);
  if (rc) {
    tsr__free(rp);
    return rc;
  }
  uint64_t cum = 0;
  json_t *arr = json_array();
  if (!json)
    fprintf(f, "\nblocking (%s, max block %u): pairs each rule would emit, first rule only\n%-16s %12s %12s %14s %14s %16s %10s  %s\n",
            tsr_link_mode_name(l->mode), l->max_block_size, "rule", "eligible", "blocks", "pairs", "earlier", "cumulative",
            "capped", "largest block");
  for (uint32_t k = 0; k < l->n_rules; k++) {
    const tsr__rule_pairs *o = &rp[k];
    cum += o->pairs;
    char key[400] = "";
    if (o->max_block) tsr__key_text(&rs, &l->rules[k], o->max_block_first, key, sizeof key);
    if (json) {
      json_t *e = json_object();
      json_object_set_new(e, "rule", json_string(l->rules[k].name));
      json_object_set_new(e, "eligible_records", json_integer((json_int_t)o->eligible));
      json_object_set_new(e, "blocks", json_integer((json_int_t)o->blocks));
      json_object_set_new(e, "pairs", json_integer((json_int_t)o->pairs));
      json_object_set_new(e, "pairs_earlier_rules", json_integer((json_int_t)o->earlier));
      json_object_set_new(e, "pairs_cumulative", json_integer((json_int_t)cum));
      json_object_set_new(e, "capped_blocks", json_integer((json_int_t)o->capped_blocks));
      json_object_set_new(e, "capped_pairs", json_integer((json_int_t)o->capped_pairs));
      json_object_set_new(e, "largest_block", json_integer((json_int_t)o->max_block));
      json_object_set_new(e, "largest_block_key", json_string(key));
      json_array_append_new(arr, e);
    } else {
      fprintf(f, "%-16s %12llu %12llu %14llu %14llu %16llu %10llu  %llu: %s\n", l->rules[k].name,
              (unsigned long long)o->eligible, (unsigned long long)o->blocks, (unsigned long long)o->pairs,
              (unsigned long long)o->earlier, (unsigned long long)cum, (unsigned long long)o->capped_blocks,
              (unsigned long long)o->max_block, key);
    }
  }
  if (json) {
    char *s = json_dumps(arr, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    if (s) fputs(s, f);
    free(s);
  } else {
    fprintf(f, "(%.2f s)\n", secs);
  }
  json_decref(arr);
  tsr__free(rp);
  return 0;
}
