/* Batch-scorer benchmark (compare/score.h) on generated data: ingests a
 * `tessera generate` data set, blocks it with three rules through
 * tsr__block_pairs and scores every batch with the default GP + hospital
 * comparisons (given and family name, both with Jaro-Winkler levels, the
 * two together with the swapped test, date of birth, postcode, sex, NHS
 * number, local patient id within the provider: 8 comparisons, 26 bits).
 * Patterns are counted per thread (tsr__pcount) and merged; an
 * order-independent checksum of (a, b, pattern) must be the same at every
 * thread count and run, so the work cannot be optimised away.
 *
 * For each thread count: blocking alone (NULL consumer: counts only), blocking
 * with a consumer that only reads the batch, and blocking plus scoring; the
 * scoring time is also summed inside the consumer per thread (CPU-seconds
 * of scoring alone), which gives pairs/s per core of the scorer itself.
 * Name memos start cold in every run. CSV-like lines on stdout. With
 * --breakdown 1, each comparison is then scored alone (one thread, one run)
 * to show where the scoring time goes.
 *
 * usage: bench_score --data DIR [--threads 1,2] [--runs N] [--breakdown 1]
 *   DIR holds link.json from `tessera generate`; bench_score writes
 *   DIR/bench_score.json (the same sources, the benchmark's rules). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "common/common_internal.h"
#include "compare/score.h"
#include "model/model.h"
#include "tessera/config.h"
#include "tessera/ingest.h"
#include "bench_config.h"

#define MAXT 64
#define RULES                                                                                  \
  "[{\"name\": \"dob\", \"fields\": [\"dob\"]},"                                               \
  " {\"name\": \"postcode_sex\", \"fields\": [\"postcode\", \"sex\"]},"                        \
  " {\"name\": \"soundex_year\", \"fields\": [\"soundex(family_name)\", \"year(dob)\"]}]"

enum { C_GIVEN, C_FAMILY, C_FULL, C_DOB, C_PC, C_SEX, C_NHS, C_LPI, NCMP };
static const char *k_names[NCMP] = {"given", "family", "fullname", "dob", "postcode", "sex", "nhs", "local_id"};

typedef struct per_thread {
  tsr__score_thread *ts;
  tsr__pcount pc;
  uint64_t pairs, sum;
  double seconds;
  uint32_t pat[TSR__PAIR_BATCH_CAP];
  char pad[64];
} per_thread;

typedef struct ctx {
  const tsr__scorer *sc;
  per_thread *t[MAXT];
} ctx;

static inline uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

static void read_only(void *vc, int thread, const tsr__pair_batch *b) {
  ctx *c = vc;
  per_thread *t = c->t[thread];
  uint64_t s = 0;
  for (uint32_t i = 0; i < b->n; i++) s += (uint64_t)b->a[i] ^ ((uint64_t)b->b[i] << 32);
  t->sum += s;
  t->pairs += b->n;
}

static void score(void *vc, int thread, const tsr__pair_batch *b) {
  ctx *c = vc;
  per_thread *t = c->t[thread];
  double t0 = tsr__now();
  tsr__score_batch(c->sc, t->ts, b, t->pat);
  t->seconds += tsr__now() - t0;
  uint64_t s = 0;
  for (uint32_t i = 0; i < b->n; i++)
    s += mix(((uint64_t)b->a[i] << 32 | b->b[i]) ^ ((uint64_t)t->pat[i] * 0x9E3779B97F4A7C15ULL));
  /* consecutive pairs often share a pattern: count runs */
  for (uint32_t i = 0; i < b->n;) {
    uint32_t j = i + 1;
    while (j < b->n && t->pat[j] == t->pat[i]) j++;
    if (tsr__pcount_add(&t->pc, t->pat[i], j - i)) abort();
    i = j;
  }
  t->sum += s;
  t->pairs += b->n;
}


int main(int argc, char **argv) {
  const char *dir = NULL, *threads_arg = "1,2";
  int runs = 3, breakdown = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--data") == 0) dir = argv[i + 1];
    else if (strcmp(argv[i], "--threads") == 0) threads_arg = argv[i + 1];
    else if (strcmp(argv[i], "--runs") == 0) runs = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--breakdown") == 0) breakdown = atoi(argv[i + 1]);
    else return fprintf(stderr, "unknown option %s\n", argv[i]), 2;
  }
  if (!dir || runs < 1) return fprintf(stderr, "usage: bench_score --data DIR [--threads 1,2] [--runs N]\n"), 2;
  tsr_log_set_level(TSR_LOG_WARN);
  char cfgpath[1100];
  if (bench_write_config(dir, "bench_score.json", RULES, cfgpath, sizeof cfgpath)) return 1;
  tsr_config *cfg;
  tsr_error err;
  if (tsr_config_load(cfgpath, &cfg, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
  tsr_store *stores[TSR_MAX_SOURCES];
  tsr_ingest_opts io;
  tsr_ingest_opts_init(&io);
  io.threads = 2;
  double t0 = tsr__now();
  for (uint32_t s = 0; s < cfg->n_sources; s++)
    if (tsr_ingest_source(&cfg->sources[s], &io, &stores[s], NULL, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
  tsr__recset rs;
  tsr__recset_init(&rs, (const tsr_store *const *)stores, cfg->n_sources);
  printf("# ingest: %llu records in %.2f s\n", (unsigned long long)rs.total, tsr__now() - t0);

  tsr__cmp_spec sp[NCMP];
  tsr__cmp_spec_init(&sp[C_GIVEN], TSR__CMP_NAME);
  tsr__cmp_spec_fields(&sp[C_GIVEN], &rs, "given_name", NULL);
  tsr__cmp_spec_init(&sp[C_FAMILY], TSR__CMP_NAME);
  tsr__cmp_spec_fields(&sp[C_FAMILY], &rs, "family_name", NULL);
  tsr__cmp_spec_init(&sp[C_FULL], TSR__CMP_FULLNAME);
  tsr__cmp_spec_fields(&sp[C_FULL], &rs, "given_name", "family_name");
  tsr__cmp_spec_init(&sp[C_DOB], TSR__CMP_DOB);
  tsr__cmp_spec_fields(&sp[C_DOB], &rs, "dob", NULL);
  tsr__cmp_spec_init(&sp[C_PC], TSR__CMP_POSTCODE);
  tsr__cmp_spec_fields(&sp[C_PC], &rs, "postcode", NULL);
  tsr__cmp_spec_init(&sp[C_SEX], TSR__CMP_SEX);
  tsr__cmp_spec_fields(&sp[C_SEX], &rs, "sex", NULL);
  tsr__cmp_spec_init(&sp[C_NHS], TSR__CMP_NHS);
  tsr__cmp_spec_fields(&sp[C_NHS], &rs, "nhs_number", NULL);
  tsr__cmp_spec_init(&sp[C_LPI], TSR__CMP_LOCAL_ID);
  tsr__cmp_spec_fields(&sp[C_LPI], &rs, "local_patient_id", "provider");
  tsr__scorer sc;
  if (tsr__scorer_init(&sc, &rs, sp, NCMP, NULL, NULL, &err)) return fprintf(stderr, "%s\n", err.msg), 1;

  const tsr_link_cfg *l = &cfg->link;
  tsr__rule_pairs rp[8];
  printf("bench,threads,run,what,pairs,seconds,pairs_per_s,score_cpu_s,score_pairs_per_cpu_s,distinct_patterns,"
         "checksum\n");
  uint64_t ref_sum = 0, ref_pairs = 0;
  int ref_set = 0, bad = 0;
  for (const char *p = threads_arg; *p;) {
    int req = atoi(p);
    int nt = tsr__threads(req);
    if (nt > MAXT) nt = MAXT;
    double best[3] = {1e30, 1e30, 1e30}, best_cpu = 1e30;
    uint64_t hits[NCMP] = {0}, misses[NCMP] = {0}, pairs = 0, npat = 0, sum = 0;
    for (int run = 0; run <= runs; run++) { /* run 0: warm-up */
      for (int what = 0; what < 3; what++) {
        ctx c = {.sc = &sc};
        for (int t = 0; t < nt; t++) {
          c.t[t] = calloc(1, sizeof(per_thread));
          if (!c.t[t] || tsr__score_thread_create(&sc, &c.t[t]->ts) || tsr__pcount_init(&c.t[t]->pc, 1024)) abort();
        }
        tsr__pair_batch_fn fn = what == 0 ? NULL : what == 1 ? read_only : score;
        double s0 = tsr__now();
        if (tsr__block_pairs(&rs, l->rules, l->n_rules, l->mode, l->source_mask, l->max_block_size, fn, &c, rp, req,
                             &err))
          return fprintf(stderr, "%s\n", err.msg), 1;
        double secs = tsr__now() - s0;
        uint64_t np = 0, cs = 0;
        double cpu = 0;
        for (uint32_t r = 0; r < l->n_rules; r++) np += rp[r].pairs;
        const tsr__pcount *parts[MAXT];
        for (int t = 0; t < nt; t++) {
          cs += c.t[t]->sum;
          cpu += c.t[t]->seconds;
          parts[t] = &c.t[t]->pc;
        }
        tsr__patterns pats = {0};
        if (what == 2) {
          if (tsr__pcount_merge(parts, (uint32_t)nt, &pats)) abort();
          if (pats.total != np) fprintf(stderr, "pattern counts %llu != pairs %llu\n", (unsigned long long)pats.total,
                                        (unsigned long long)np), bad = 1;
          if (!ref_set) ref_sum = cs, ref_pairs = np, ref_set = 1;
          else if (cs != ref_sum || np != ref_pairs) fprintf(stderr, "checksum differs\n"), bad = 1;
        }
        if (run > 0) {
          if (secs < best[what]) best[what] = secs;
          if (what == 2 && cpu < best_cpu) best_cpu = cpu;
          printf("score,%d,%d,%s,%llu,%.3f,%.0f,%.3f,%.0f,%u,%016llx\n", nt, run,
                 what == 0 ? "block_null" : what == 1 ? "block_read" : "block_score", (unsigned long long)np, secs,
                 (double)np / secs, cpu, cpu > 0 ? (double)np / cpu : 0.0, pats.n, (unsigned long long)cs);
        }
        if (what == 2) {
          pairs = np, npat = pats.n, sum = cs;
          for (uint32_t k = 0; k < NCMP; k++) {
            hits[k] = misses[k] = 0;
            for (int t = 0; t < nt; t++) {
              uint64_t h, m;
              tsr__score_thread_stats(c.t[t]->ts, k, &h, &m);
              hits[k] += h, misses[k] += m;
            }
          }
        }
        tsr__patterns_free(&pats);
        for (int t = 0; t < nt; t++) {
          tsr__score_thread_free(c.t[t]->ts);
          tsr__pcount_free(&c.t[t]->pc);
          free(c.t[t]);
        }
      }
    }
    printf("# threads %d: %llu pairs (", nt, (unsigned long long)pairs);
    for (uint32_t r = 0; r < l->n_rules; r++)
      printf("%s%s %llu", r ? ", " : "", l->rules[r].name, (unsigned long long)rp[r].pairs);
    printf("), %llu distinct patterns, checksum %016llx\n", (unsigned long long)npat, (unsigned long long)sum);
    printf("# threads %d best: block alone %.3f s, block + read %.3f s, block + score %.3f s: %.2fM pairs/s "
           "(%.2fM pairs/s per thread)\n",
           nt, best[0], best[1], best[2], (double)pairs / best[2] / 1e6, (double)pairs / best[2] / 1e6 / nt);
    printf("# threads %d scoring alone: %.3f CPU-s, %.2fM pairs/s per core; share of block + score wall time: "
           "block %.0f%%, score %.0f%%\n",
           nt, best_cpu, (double)pairs / best_cpu / 1e6, 100.0 * best[1] / best[2],
           100.0 * (best[2] - best[1]) / best[2]);
    for (uint32_t k = 0; k < NCMP; k++)
      if (hits[k] + misses[k])
        printf("# threads %d memo %s: %llu lookups, hit rate %.4f\n", nt, k_names[k],
               (unsigned long long)(hits[k] + misses[k]), (double)hits[k] / (double)(hits[k] + misses[k]));
    p = strchr(p, ',');
    if (!p) break;
    p++;
  }
  tsr__scorer_free(&sc);
  for (uint32_t k = 0; breakdown && k < NCMP; k++) {
    tsr__scorer one;
    if (tsr__scorer_init(&one, &rs, &sp[k], 1, NULL, NULL, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
    ctx c = {.sc = &one};
    c.t[0] = calloc(1, sizeof(per_thread));
    if (!c.t[0] || tsr__score_thread_create(&one, &c.t[0]->ts) || tsr__pcount_init(&c.t[0]->pc, 64)) abort();
    if (tsr__block_pairs(&rs, l->rules, l->n_rules, l->mode, l->source_mask, l->max_block_size, score, &c, rp, 1,
                         &err))
      return fprintf(stderr, "%s\n", err.msg), 1;
    uint64_t h, m;
    tsr__score_thread_stats(c.t[0]->ts, 0, &h, &m);
    printf("# alone %-8s: %.3f CPU-s for %llu pairs, %.1f ns a pair, %llu memo misses\n", k_names[k],
           c.t[0]->seconds, (unsigned long long)c.t[0]->pairs, 1e9 * c.t[0]->seconds / (double)c.t[0]->pairs,
           (unsigned long long)m);
    tsr__score_thread_free(c.t[0]->ts);
    tsr__pcount_free(&c.t[0]->pc);
    free(c.t[0]);
    tsr__scorer_free(&one);
  }
  for (uint32_t s = 0; s < cfg->n_sources; s++) tsr_store_free(stores[s]);
  tsr_config_free(cfg);
  return bad;
}
