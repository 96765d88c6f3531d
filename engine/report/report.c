/* report.json: what a run did, from the linkage result (tessera/run.h):
 * rows per source, records linked per rule, match rates by source and by the
 * values of code fields, cluster checks (sizes, oversized clusters, NHS
 * number conflicts), and time and memory per stage. report_html.c renders
 * the same document for people.
 *
 * Which fields get match-rate tables is the config's choice
 * (tsr__rate_fields); by default every code-kind field of a source, so no
 * field name is built in.
 *
 * DESIGN (identifiable values)
 *   The document holds values taken from records: largest-block keys (a
 *   date of birth, a postcode), NHS numbers of conflicting clusters, record
 *   ids of example pairs, the values of code fields. It opens with
 *   "identifiable" and "notice" saying so. With redact, one pass over the
 *   finished document (redact_walk) replaces every string by "[redacted]"
 *   unless its key is on a short list of keys whose strings are names from
 *   the config or the engine (source, rule, field, comparison and level
 *   names, stage, mode, paths of the config and model). The list says what
 *   may stay, not what must go, so a string some later section adds from a
 *   record is redacted until someone puts its key on the list. Numbers,
 *   booleans, nulls and object keys (field names, source names, fixed labels)
 *   are kept: counts, rates and model parameters are not record values. */
#include <assert.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_internal.h"
#include "report/report.h"
#include "tessera/config.h"
#include "tessera/link.h"
#include "tessera/version.h"

/* --- identifiable values --------------------------------------------------------- */

const char tsr__report_redacted[] = "[redacted]";
const char tsr__report_notice_identifiable[] =
    "This report holds identifying values (block keys such as dates of birth and postcodes, NHS numbers) and must "
    "not leave the safe haven; run with --redact for a shareable report.";
const char tsr__report_notice_redacted[] =
    "This report is redacted (tessera link --redact): every value taken from a record (block keys, NHS numbers, "
    "record ids, values of code fields) is replaced by \"[redacted]\"; counts, rates and model parameters are kept.";

/* Keys whose string values (and the strings of their arrays) are names from
 * the config or the engine, never from a record. Sorted for bsearch. */
static const char *const k_keep[] = {
    "cips_rule",  "comparison", "config", "fields", "kind",     "left_out", "level",          "mode",   "model",
    "model_path", "name",       "notice", "preset", "rule",     "source",   "source_a",       "source_b",
    "sources",    "stage",      "tessera_version",
};
static int keep_cmp(const void *k, const void *e) { return strcmp(k, *(const char *const *)e); }

/* 1 when s is the name of a level of some comparison kind: a level label that
 * is anything else (one built from a value) is redacted. */
static int is_level_name(const char *s) {
  for (int k = 0; k < TSR_CMP_KIND_COUNT; k++) {
    uint32_t n = 0;
    const char *const *names = tsr_cmp_level_names((tsr_cmp_kind)k, &n);
    for (uint32_t i = 0; names && i < n; i++)
      if (strcmp(names[i], s) == 0) return 1;
  }
  return 0;
}

/* The string s under key (outer: the key of the array or object holding it). */
static int keep_string(const char *key, const char *outer, const char *s) {
  if (!key || !bsearch(key, k_keep, sizeof k_keep / sizeof k_keep[0], sizeof k_keep[0], keep_cmp)) return 0;
  if (strcmp(key, "level") == 0 || (strcmp(key, "name") == 0 && outer && strcmp(outer, "levels") == 0))
    return is_level_name(s);
  return 1;
}

/* Replaces, in place, every string of v not kept by keep_string. key: the
 * object key v sits under (for an array's elements, the array's key); outer:
 * the key one level further out. */
static void redact_walk(json_t *v, const char *key, const char *outer) {
  if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
      if (json_is_string(x)) {
        if (!keep_string(k, key, json_string_value(x))) json_string_set(x, tsr__report_redacted);
      } else {
        redact_walk(x, k, key);
      }
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      if (json_is_string(x)) {
        if (!keep_string(key, outer, json_string_value(x))) json_string_set(x, tsr__report_redacted);
      } else {
        redact_walk(x, key, outer);
      }
    }
  }
}

void tsr__report_redact(json_t *root) {
  for (size_t i = 1; i < sizeof k_keep / sizeof k_keep[0]; i++) assert(strcmp(k_keep[i - 1], k_keep[i]) < 0);
  redact_walk(root, NULL, NULL);
}

/* 1 when patient p has records of a source other than s. */
static int has_other(const tsr_patient_facts *F, uint64_t p, uint32_t s) {
  for (uint32_t t = 0; t < F->nsrc; t++)
    if (t != s && F->by_source[p * F->nsrc + t]) return 1;
  return 0;
}

/* Records of source s whose patient also has records of another source;
 * *linked gets those in any cluster of two or more. */
static uint64_t cross_linked(const tsr_linkage *L, uint32_t s, uint64_t *linked) {
  const tsr_patient_facts *F = tsr_linkage_facts(L);
  const int64_t *pid = tsr_linkage_patient_ids(L);
  uint64_t n = tsr_store_rows(tsr_linkage_store(L, s)), base = tsr_linkage_source_base(L, s), cross = 0, lk = 0;
#pragma omp parallel for num_threads(tsr_linkage_threads(L)) schedule(static) reduction(+ : cross, lk)
  for (int64_t r = 0; r < (int64_t)n; r++) {
    uint64_t p = (uint64_t)pid[base + (uint64_t)r] - 1;
    lk += F->records[p] > 1;
    cross += (uint64_t)has_other(F, p, s);
  }
  *linked = lk;
  return cross;
}

static json_t *rule_json(const tsr_linkage *L, uint32_t k) {
  const tsr_config *cfg = tsr_linkage_config(L);
  const tsr_rule_cfg *r = &cfg->link.rules[k - 1];
  const tsr_rule_stats *st = tsr_linkage_rule_stats(L, k);
  const uint32_t ns = tsr_linkage_nsources(L);
  json_t *o = json_object();
  json_object_set_new(o, "rule", json_string(r->name));
  json_t *f = json_array();
  for (uint8_t i = 0; i < r->n_parts; i++) json_array_append_new(f, json_string(r->parts[i].text));
  json_object_set_new(o, "fields", f);
  json_t *srcs = json_array();
  for (uint32_t s = 0; s < ns; s++)
    if (r->source_mask >> s & 1) json_array_append_new(srcs, json_string(tsr_linkage_source_name(L, s)));
  json_object_set_new(o, "sources", srcs);
  json_object_set_new(o, "eligible_records", json_integer((json_int_t)st->eligible));
  json_object_set_new(o, "blocks", json_integer((json_int_t)st->blocks));
  json_object_set_new(o, "partitions", json_integer((json_int_t)st->partitions));
  json_object_set_new(o, "pairs_linked", json_integer((json_int_t)st->pairs_linked));
  json_object_set_new(o, "records_linked", json_integer((json_int_t)st->records_linked));
  json_t *per = json_object();
  for (uint32_t s = 0; s < ns; s++)
    json_object_set_new(per, tsr_linkage_source_name(L, s), json_integer((json_int_t)st->records_linked_by_source[s]));
  json_object_set_new(o, "records_linked_by_source", per);
  json_object_set_new(o, "ambiguous_blocks", json_integer((json_int_t)st->ambiguous_blocks));
  json_object_set_new(o, "ambiguous_records", json_integer((json_int_t)st->ambiguous_records));
  json_object_set_new(o, "merge", json_boolean(r->merge));
  json_object_set_new(o, "merged_blocks", json_integer((json_int_t)st->merged_blocks));
  json_object_set_new(o, "vetoed_blocks", json_integer((json_int_t)st->vetoed_blocks));
  json_object_set_new(o, "capped_blocks", json_integer((json_int_t)st->capped_blocks));
  json_object_set_new(o, "capped_records", json_integer((json_int_t)st->capped_records));
  json_t *top = json_array();
  for (uint32_t i = 0; i < st->n_top; i++) {
    json_t *b = json_object();
    json_object_set_new(b, "records", json_integer((json_int_t)st->top[i].records));
    json_object_set_new(b, "capped", json_boolean(st->top[i].capped));
    json_object_set_new(b, "key", json_string(st->top[i].key));
    json_array_append_new(top, b);
  }
  json_object_set_new(o, "largest_blocks", top);
  json_t *sec = json_object();
  json_object_set_new(sec, "keys", json_real(st->seconds_keys));
  json_object_set_new(sec, "partition_and_group", json_real(st->seconds_group));
  json_object_set_new(sec, "link", json_real(st->seconds_link));
  json_object_set_new(o, "seconds", sec);
  return o;
}

/* Match rate by the values of a code field: records, records linked to
 * another source, and the share. Sorted by records, then dictionary order. */
typedef struct rate_row {
  uint64_t n, linked;
  uint32_t id;
} rate_row;
static int rate_cmp(const void *a, const void *b) {
  const rate_row *x = a, *y = b;
  if (x->n != y->n) return x->n > y->n ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static json_t *match_rates(const tsr_linkage *L, uint32_t s, const tsr_column *c) {
  const tsr_patient_facts *F = tsr_linkage_facts(L);
  const int64_t *pid = tsr_linkage_patient_ids(L);
  uint32_t nd = c->dict_n;
  rate_row *rows = tsr__calloc((size_t)nd + 1, sizeof *rows);
  if (!rows) return NULL;
  uint64_t n = tsr_store_rows(tsr_linkage_store(L, s)), base = tsr_linkage_source_base(L, s);
  for (uint64_t r = 0; r < n; r++) {
    uint32_t id = c->code16 ? c->code16[r] : c->code32[r];
    rows[id].n++;
    rows[id].linked += (uint64_t)has_other(F, (uint64_t)pid[base + r] - 1, s);
  }
  for (uint32_t i = 0; i <= nd; i++) rows[i].id = i;
  qsort(rows, (size_t)nd + 1, sizeof *rows, rate_cmp);
  json_t *a = json_array();
  for (uint32_t i = 0; i <= nd; i++) {
    if (!rows[i].n) continue;
    json_t *o = json_object();
    uint32_t id = rows[i].id;
    if (id)
      json_object_set_new(o, "value", json_stringn(c->dict + c->dict_off[id - 1], c->dict_off[id] - c->dict_off[id - 1]));
    else
      json_object_set_new(o, "value", json_null());
    json_object_set_new(o, "records", json_integer((json_int_t)rows[i].n));
    json_object_set_new(o, "linked_to_other_source", json_integer((json_int_t)rows[i].linked));
    json_object_set_new(o, "match_rate", json_real((double)rows[i].linked / (double)rows[i].n));
    json_array_append_new(a, o);
  }
  tsr__free(rows);
  return a;
}

static int wants_rates(const tsr__rate_fields *rf, const tsr_column *col) {
  if (col->kind != TSR_KIND_CODE) return 0;
  if (!rf || !rf->set) return 1;
  for (uint32_t i = 0; i < rf->n; i++)
    if (strcmp(rf->names[i], col->field) == 0) return 1;
  return 0;
}

static json_t *sources_json(const tsr_linkage *L, const tsr__rate_fields *rf, uint64_t *tot_linked, int *oom) {
  json_t *srcs = json_array();
  for (uint32_t s = 0; s < tsr_linkage_nsources(L); s++) {
    const tsr_ingest_stats *is = tsr_linkage_ingest_stats(L, s);
    const tsr_store *st = tsr_linkage_store(L, s);
    json_t *o = json_object();
    json_object_set_new(o, "source", json_string(tsr_linkage_source_name(L, s)));
    json_object_set_new(o, "rows_read", json_integer((json_int_t)is->rows_read));
    json_object_set_new(o, "rows_stored", json_integer((json_int_t)is->rows_stored));
    json_object_set_new(o, "rows_rejected", json_integer((json_int_t)is->rows_rejected));
    uint64_t lk = 0, n = tsr_store_rows(st), cross = cross_linked(L, s, &lk);
    *tot_linked += lk;
    json_object_set_new(o, "records_linked", json_integer((json_int_t)lk));
    json_object_set_new(o, "records_unlinked", json_integer((json_int_t)(n - lk)));
    json_object_set_new(o, "linked_to_other_source", json_integer((json_int_t)cross));
    json_object_set_new(o, "match_rate", json_real(n ? (double)cross / (double)n : 0.0));
    json_t *mr = json_object();
    for (uint32_t c = 0; c < tsr_store_ncols(st); c++) {
      const tsr_column *col = tsr_store_col(st, c);
      if (!wants_rates(rf, col)) continue;
      json_t *rates = match_rates(L, s, col);
      if (!rates) *oom = 1;
      else json_object_set_new(mr, col->field, rates);
    }
    json_object_set_new(o, "match_rates_by", mr);
    json_array_append_new(srcs, o);
  }
  return srcs;
}

static json_t *clusters_json(const tsr_linkage *L, uint64_t tot_linked) {
  const tsr_config *cfg = tsr_linkage_config(L);
  const tsr_patient_facts *F = tsr_linkage_facts(L);
  json_t *cl = json_object();
  json_object_set_new(cl, "patients", json_integer((json_int_t)F->n));
  json_object_set_new(cl, "records_linked", json_integer((json_int_t)tot_linked));
  static const uint32_t edges[] = {1, 2, 3, 6, 11, 51, 101, UINT32_MAX};
  static const char *const labels[] = {"1", "2", "3-5", "6-10", "11-50", "51-100", "101+"};
  uint64_t hist[7] = {0}, oversized = 0, conflicts = 0;
  uint64_t big_p[10] = {0}, big_n[10] = {0};
  uint32_t nbig = 0;
  json_t *conf_ex = json_array();
  for (uint64_t p = 0; p < F->n; p++) {
    uint32_t sz = F->records[p];
    for (int b = 0; b < 7; b++)
      if (sz >= edges[b] && sz < edges[b + 1]) hist[b]++;
    if (sz > cfg->link.max_cluster_size) oversized++;
    if (tsr_patient_nhs_conflict(F, p)) {
      if (conflicts < 20) {
        json_t *e = json_object();
        char a[24], b2[24];
        snprintf(a, sizeof a, "%010llu", (unsigned long long)F->nhs_min[p]);
        snprintf(b2, sizeof b2, "%010llu", (unsigned long long)F->nhs_max[p]);
        json_object_set_new(e, "patient_id", json_integer((json_int_t)p + 1));
        json_object_set_new(e, "records", json_integer(sz));
        json_object_set_new(e, "nhs_numbers", json_pack("[s,s]", a, b2));
        json_array_append_new(conf_ex, e);
      }
      conflicts++;
    }
    /* top 10 by size, ties to the smaller id */
    if (nbig < 10 || sz > big_n[nbig - 1]) {
      uint32_t i = nbig < 10 ? nbig++ : 9;
      while (i > 0 && big_n[i - 1] < sz) {
        big_n[i] = big_n[i - 1];
        big_p[i] = big_p[i - 1];
        i--;
      }
      big_n[i] = sz;
      big_p[i] = p + 1;
    }
  }
  json_t *h = json_object();
  for (int b = 0; b < 7; b++) json_object_set_new(h, labels[b], json_integer((json_int_t)hist[b]));
  json_object_set_new(cl, "size_histogram", h);
  json_t *bj = json_array();
  for (uint32_t i = 0; i < nbig; i++) {
    json_t *e = json_object();
    json_object_set_new(e, "patient_id", json_integer((json_int_t)big_p[i]));
    json_object_set_new(e, "records", json_integer((json_int_t)big_n[i]));
    json_array_append_new(bj, e);
  }
  json_object_set_new(cl, "largest", bj);
  json_object_set_new(cl, "max_cluster_size", json_integer(cfg->link.max_cluster_size));
  json_object_set_new(cl, "oversized", json_integer((json_int_t)oversized));
  json_object_set_new(cl, "nhs_conflicts", json_integer((json_int_t)conflicts));
  json_object_set_new(cl, "nhs_conflict_examples", conf_ex);
  return cl;
}

static json_t *stages_json(const tsr_linkage *L) {
  json_t *a = json_array();
  for (uint32_t i = 0; i < tsr_linkage_nstages(L); i++) {
    const tsr_stage_time *t = tsr_linkage_stage(L, i);
    json_t *o = json_object();
    json_object_set_new(o, "stage", json_string(t->name));
    json_object_set_new(o, "seconds", json_real(t->seconds));
    json_object_set_new(o, "peak_rss_bytes", json_integer((json_int_t)t->peak_rss_bytes));
    json_array_append_new(a, o);
  }
  return a;
}

int tsr__report_write(tsr_linkage *L, const tsr__rate_fields *rf, const char *dir, tsr_error *err) {
  return tsr__report_write_ep(L, rf, NULL, 0, dir, err);
}

int tsr__report_write_ep(tsr_linkage *L, const tsr__rate_fields *rf, const tsr_episodes *E, int redact,
                         const char *dir, tsr_error *err) {
  const tsr_config *cfg = tsr_linkage_config(L);
  double t_report = tsr__now();
  json_t *root = json_object();
  /* first, so that no one reads past it */
  json_object_set_new(root, "identifiable", json_boolean(!redact));
  json_object_set_new(root, "notice",
                      json_string(redact ? tsr__report_notice_redacted : tsr__report_notice_identifiable));
  json_object_set_new(root, "tessera_version", json_string(tsr_version()));
  json_object_set_new(root, "config", json_string(cfg->path));
  json_object_set_new(root, "mode", json_string(tsr_link_mode_name(cfg->link.mode)));
  json_object_set_new(root, "preset", cfg->link.preset ? json_string(cfg->link.preset) : json_null());
  json_object_set_new(root, "one_to_one", json_boolean(cfg->link.one_to_one));
  json_object_set_new(root, "nhs_veto", json_boolean(cfg->link.nhs_veto));
  json_object_set_new(root, "max_block_size", json_integer(cfg->link.max_block_size));
  uint64_t tot_linked = 0;
  int oom = 0;
  json_object_set_new(root, "sources", sources_json(L, rf, &tot_linked, &oom));
  json_t *rules = json_array();
  uint64_t cum = 0;
  for (uint32_t k = 1; k <= tsr_linkage_nrules(L); k++) {
    json_t *rj = rule_json(L, k);
    cum += tsr_linkage_rule_stats(L, k)->records_linked;
    json_object_set_new(rj, "records_linked_cumulative", json_integer((json_int_t)cum));
    json_array_append_new(rules, rj);
  }
  json_object_set_new(root, "rules", rules);
  json_object_set_new(root, "clusters", clusters_json(L, tot_linked));
  int rc = oom ? tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory") : 0;
  json_t *prob = NULL;
  if (!rc) rc = tsr_linkage_prob_json(L, &prob, err);
  if (prob) json_object_set_new(root, "probabilistic", prob);
  json_t *ep = NULL;
  if (!rc && E) rc = tsr_episodes_json(E, &ep, err);
  if (ep) json_object_set_new(root, "episodes", ep);
  if (!rc && tsr_linkage_add_stage(L, "report", t_report)) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  json_object_set_new(root, "stages", stages_json(L));
  json_object_set_new(root, "seconds_total", json_real(tsr_linkage_elapsed(L)));
  json_object_set_new(root, "peak_rss_bytes", json_integer((json_int_t)tsr__peak_rss()));
  json_object_set_new(root, "engine_peak_bytes", json_integer((json_int_t)tsr_memory_peak()));
  json_object_set_new(root, "memory_limit_bytes", json_integer((json_int_t)tsr_memory_limit()));
  json_object_set_new(root, "threads", json_integer(tsr_linkage_threads(L)));
  if (redact) tsr__report_redact(root);
  if (!rc) rc = tsr__write_json(dir, "report.json", root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6), err);
  if (!rc) rc = tsr__report_html(root, dir, err);
  json_decref(root);
  return rc;
}

int tsr__write_json(const char *dir, const char *name, const json_t *root, size_t flags, tsr_error *err) {
  char *text = json_dumps(root, flags);
  if (!text) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  size_t n = strlen(text);
  char *t = realloc(text, n + 2); /* jansson's text comes from malloc */
  if (!t) {
    free(text);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  }
  t[n] = '\n';
  int rc = tsr__write_file(dir, name, t, n + 1, err);
  free(t);
  return rc;
}
