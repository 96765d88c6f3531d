/* The Tessera half of the scoring peer (bench/score_peer.sh): the batch
 * scorer (compare/score.h) plus summed match weights (model.h, tsr__wtable)
 * over the candidate pairs of a generated GP + hospital data set, timed at
 * each thread count, and the same pairs, their levels and weights and the
 * records' compared fields written as CSV so that DuckDB
 * (bench/score_peer.mjs) can score the same pairs in SQL and the two be
 * compared pair by pair.
 *
 * The comparisons, the blocking rules and the data are those of
 * bench/bench_score.c (8 comparisons: given, family, full name with the
 * swapped level, date of birth, postcode, sex, NHS number, local id within
 * the provider; rules dob, postcode + sex, soundex(family_name) + year(dob)),
 * all levels on, default options. The model is fixed, not trained: m and u
 * per level from the tables below (hand-chosen, each column sums to 1,
 * lambda 1e-4), weights log2(m/u) quantised as the engine quantises them.
 *
 * Timed: blocking plus scoring plus the pair's weight (tsr__wtable_score)
 * summed per thread, wall time, one warm-up then N runs per thread count;
 * the scoring alone is also timed inside the consumer (CPU-seconds summed
 * over threads). Blocking stays inside Tessera's figure, while DuckDB is
 * given the pairs ready-made: the comparison leans towards DuckDB.
 *
 * Output in OUT: records.csv (gid and the compared fields: standardised
 * names, stored Soundex / NYSIIS codes, ISO date, postcode text, raw sex,
 * NHS number as 10 digits with its validity, local id and provider text),
 * pairs.csv (a, b, the 8 levels, the weight printed with 17 digits, which
 * reads back as the same double), model.json (level names, m, u, weights,
 * prior) and tessera.json (the timings). CSV-like lines on stdout.
 *
 * usage: bench_score_dump --data DIR --out OUT [--threads 1,2] [--runs 3]
 *                         [--dump 0|1]
 *   DIR holds link.json from `tessera generate`; the program writes
 *   DIR/bench_score_dump.json (the same sources, the benchmark's rules). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "common/buf.h"
#include "common/common_internal.h"
#include "common/date.h"
#include "compare/score.h"
#include "model/model.h"
#include "tessera/config.h"
#include "tessera/ingest.h"
#include "bench_config.h"

#define MAXT 64
#define MAXRUNS 32
#define RULES                                                                                  \
  "[{\"name\": \"dob\", \"fields\": [\"dob\"]},"                                               \
  " {\"name\": \"postcode_sex\", \"fields\": [\"postcode\", \"sex\"]},"                        \
  " {\"name\": \"soundex_year\", \"fields\": [\"soundex(family_name)\", \"year(dob)\"]}]"
#define LAMBDA 1e-4

enum { C_GIVEN, C_FAMILY, C_FULL, C_DOB, C_PC, C_SEX, C_NHS, C_LPI, NCMP };
static const char *k_names[NCMP] = {"given", "family", "full", "dob", "postcode", "sex", "nhs", "local_id"};

/* m and u per level, null (index 0) excluded; each row sums to 1. */
static const double k_name_m[] = {.88, .01, .04, .01, .02, .005, .01, .005, .005, .015};
static const double k_name_u[] = {.01, .0005, .005, .008, .003, .01, .02, .004, .0015, .938};
static const double k_full_m[] = {.85, .01, .06, .04, .03, .01};
static const double k_full_u[] = {.0001, .00005, .002, .01, .02, .96785};
static const double k_dob_m[] = {.9, .01, .03, .01, .01, .005, .02, .015};
static const double k_dob_u[] = {.0003, .00001, .0006, .003, .0002, .0005, .03, .96539};
static const double k_pc_m[] = {.8, .05, .05, .05, .05};
static const double k_pc_u[] = {.0002, .002, .01, .05, .9378};
static const double k_nhs_m[] = {.97, .01, .01, .01};
static const double k_nhs_u[] = {.0001, .0001, .9, .0998};
static const double k_sex_m[] = {.98, .02};
static const double k_sex_u[] = {.5, .5};
static const double k_lpi_m[] = {.9, .1};
static const double k_lpi_u[] = {.001, .999};

typedef struct per_thread {
  tsr__score_thread *ts;
  uint64_t pairs, above, sum;
  double wsum, seconds;
  uint32_t pat[TSR__PAIR_BATCH_CAP];
  char pad[64];
} per_thread;

typedef struct ctx {
  const tsr__scorer *sc;
  const tsr__model *md;
  const tsr__wtable *wt;
  per_thread *t[MAXT];
  FILE *dump; /* pairs.csv while dumping (one thread), else NULL */
  tsr__buf buf;
} ctx;

static inline uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

static void put_weight(tsr__buf *b, double w) {
  char t[40];
  int n = snprintf(t, sizeof t, "%.17g", w);
  tsr__buf_put(b, t, (size_t)n);
}

/* The timed consumer: patterns, then each pair's weight, summed per thread.
 * While dumping (one thread, untimed) every pair is also written out. */
static void score(void *vc, int thread, const tsr__pair_batch *b) {
  ctx *c = vc;
  per_thread *t = c->t[thread];
  double t0 = tsr__now();
  tsr__score_batch(c->sc, t->ts, b, t->pat);
  double ws = 0;
  uint64_t above = 0;
  for (uint32_t i = 0; i < b->n; i++) {
    double w = tsr__wtable_score(c->wt, t->pat[i]);
    ws += w;
    above += w >= 0.0;
  }
  t->seconds += tsr__now() - t0;
  uint64_t s = 0;
  for (uint32_t i = 0; i < b->n; i++)
    s += mix(((uint64_t)b->a[i] << 32 | b->b[i]) ^ ((uint64_t)t->pat[i] * 0x9E3779B97F4A7C15ULL));
  t->sum += s;
  t->wsum += ws;
  t->above += above;
  t->pairs += b->n;
  if (!c->dump) return;
  tsr__buf *o = &c->buf;
  for (uint32_t i = 0; i < b->n; i++) {
    tsr__buf_u64(o, b->a[i]);
    tsr__buf_putc(o, ',');
    tsr__buf_u64(o, b->b[i]);
    for (uint32_t k = 0; k < NCMP; k++) {
      tsr__buf_putc(o, ',');
      tsr__buf_u64(o, tsr__pattern_level(c->md, t->pat[i], k));
    }
    tsr__buf_putc(o, ',');
    put_weight(o, tsr__wtable_score(c->wt, t->pat[i]));
    tsr__buf_putc(o, '\n');
  }
  if (o->len > (1u << 20)) {
    fwrite(o->p, 1, o->len, c->dump);
    o->len = 0;
  }
}


static void csv_str(tsr__buf *b, const tsr_column *c, uint64_t r) {
  if (!c) return;
  uint32_t o = c->str_off[r];
  tsr__buf_csv_field(b, c->str + o, c->str_off[r + 1] - o, ',', TSR__CSV_PLAIN);
}

static void csv_code(tsr__buf *b, const tsr_column *c, uint64_t r) {
  if (!c) return;
  uint32_t id = c->code16 ? c->code16[r] : c->code32[r];
  if (id) tsr__buf_csv_field(b, c->dict + c->dict_off[id - 1], c->dict_off[id] - c->dict_off[id - 1], ',', TSR__CSV_PLAIN);
}

/* records.csv: one line per record, gid order. Empty = missing. */
static int write_records(const char *path, const tsr__recset *rs) {
  FILE *f = fopen(path, "wb");
  if (!f) return fprintf(stderr, "cannot write %s\n", path), -1;
  tsr__buf b;
  tsr__buf_init(&b, 1 << 21);
  tsr__buf_puts(&b, "gid,given,family,given_sdx,given_nys,family_sdx,family_nys,dob,postcode,sex,nhs,nhs_valid,"
                    "local_id,provider\n");
  for (uint32_t s = 0; s < rs->nsrc; s++) {
    const tsr_store *st = rs->stores[s];
    const tsr_column *gn = tsr_store_field(st, "given_name"), *fn = tsr_store_field(st, "family_name");
    const tsr_column *dob = tsr_store_field(st, "dob"), *pc = tsr_store_field(st, "postcode");
    const tsr_column *sex = tsr_store_field(st, "sex"), *nhs = tsr_store_field(st, "nhs_number");
    const tsr_column *lpi = tsr_store_field(st, "local_patient_id"), *prov = tsr_store_field(st, "provider");
    const uint64_t rows = tsr_store_rows(st);
    for (uint64_t r = 0; r < rows; r++) {
      char t[16];
      tsr__buf_u64(&b, rs->base[s] + r);
      tsr__buf_putc(&b, ',');
      csv_str(&b, gn, r);
      tsr__buf_putc(&b, ',');
      csv_str(&b, fn, r);
      const tsr_column *nc[2] = {gn, fn};
      for (int j = 0; j < 2; j++) {
        tsr__buf_putc(&b, ',');
        if (nc[j] && nc[j]->soundex[r]) tsr_soundex_text(nc[j]->soundex[r], t), tsr__buf_puts(&b, t);
        tsr__buf_putc(&b, ',');
        if (nc[j] && nc[j]->nysiis[r]) tsr_nysiis_text(nc[j]->nysiis[r], t), tsr__buf_puts(&b, t);
      }
      tsr__buf_putc(&b, ',');
      if (dob && dob->i32[r] != TSR_DATE_NONE) {
        int y, m, d;
        tsr__ymd_from_days(dob->i32[r], &y, &m, &d);
        snprintf(t, sizeof t, "%04d-%02d-%02d", y, m, d);
        tsr__buf_puts(&b, t);
      }
      tsr__buf_putc(&b, ',');
      if (pc && pc->u64[r]) tsr__buf_put(&b, t, tsr_postcode_text(pc->u64[r], t));
      tsr__buf_putc(&b, ',');
      if (sex) tsr__buf_u64(&b, sex->u8[r]);
      tsr__buf_putc(&b, ',');
      if (nhs && nhs->u64[r]) tsr__buf_u64w(&b, nhs->u64[r], 10);
      tsr__buf_putc(&b, ',');
      if (nhs && nhs->u64[r]) tsr__buf_putc(&b, tsr_nhs_valid(nhs->u64[r]) ? '1' : '0');
      tsr__buf_putc(&b, ',');
      csv_str(&b, lpi, r);
      tsr__buf_putc(&b, ',');
      csv_code(&b, prov, r);
      tsr__buf_putc(&b, '\n');
      if (b.len > (1u << 20)) fwrite(b.p, 1, b.len, f), b.len = 0;
    }
  }
  fwrite(b.p, 1, b.len, f);
  int bad = b.oom;
  tsr__buf_free(&b);
  if (fclose(f) || bad) return fprintf(stderr, "cannot write %s\n", path), -1;
  return 0;
}

static const char *const k_levels[NCMP][12] = {
    {"null", "exact", "exact_std", "jw1", "jw2", "dl1", "dl2", "phonetic", "initial", "part", "else"},
    {"null", "exact", "exact_std", "jw1", "jw2", "dl1", "dl2", "phonetic", "initial", "part", "else"},
    {"null", "exact", "swapped", "both", "family", "given", "else"},
    {"null", "exact", "dm_swap", "one_digit", "same_ym", "within_days", "jan1", "within_years", "else"},
    {"null", "full", "sector", "district", "area", "else"},
    {"null", "equal", "else"},
    {"null", "equal", "near", "different", "else"},
    {"null", "equal", "else"},
};

static int write_model(const char *path, const tsr__model *md) {
  FILE *f = fopen(path, "wb");
  if (!f) return fprintf(stderr, "cannot write %s\n", path), -1;
  fprintf(f, "{\"lambda\": %.17g, \"prior\": %.17g, \"comparisons\": [\n", md->lambda, md->prior);
  for (uint32_t k = 0; k < NCMP; k++) {
    fprintf(f, "  {\"name\": \"%s\", \"levels\": [", k_names[k]);
    for (uint32_t l = 0; l < md->nlev[k]; l++)
      fprintf(f, "%s{\"name\": \"%s\", \"m\": %.17g, \"u\": %.17g, \"weight\": %.17g}", l ? ", " : "",
              k_levels[k][l], md->m[k][l], md->u[k][l], md->w[k][l]);
    fprintf(f, "]}%s\n", k + 1 < NCMP ? "," : "");
  }
  fprintf(f, "]}\n");
  return fclose(f) ? -1 : 0;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void set_mu(tsr__model *md, uint32_t k, const double *m, const double *u, size_t n) {
  if (n + 1 != md->nlev[k]) fprintf(stderr, "comparison %u: %zu m/u for %u levels\n", k, n, md->nlev[k]), abort();
  for (size_t l = 0; l < n; l++) md->m[k][l + 1] = m[l], md->u[k][l + 1] = u[l];
}

int main(int argc, char **argv) {
  const char *dir = NULL, *out = NULL, *threads_arg = "1,2";
  int runs = 3, dump = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--data") == 0) dir = argv[i + 1];
    else if (strcmp(argv[i], "--out") == 0) out = argv[i + 1];
    else if (strcmp(argv[i], "--threads") == 0) threads_arg = argv[i + 1];
    else if (strcmp(argv[i], "--runs") == 0) runs = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--dump") == 0) dump = atoi(argv[i + 1]);
    else return fprintf(stderr, "unknown option %s\n", argv[i]), 2;
  }
  if (!dir || !out || runs < 1 || runs > MAXRUNS)
    return fprintf(stderr, "usage: bench_score_dump --data DIR --out OUT [--threads 1,2] [--runs 3] [--dump 0|1]\n"),
           2;
  tsr_log_set_level(TSR_LOG_WARN);
  char cfgpath[1100], path[1200];
  if (bench_write_config(dir, "bench_score_dump.json", RULES, cfgpath, sizeof cfgpath)) return 1;
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

  uint8_t nlev[NCMP];
  for (uint32_t k = 0; k < NCMP; k++) nlev[k] = (uint8_t)tsr__cmp_nlevels(sp[k].kind);
  tsr__model md;
  if (tsr__model_init(&md, NCMP, nlev, &err)) return fprintf(stderr, "%s\n", err.msg), 1;
#define SET(k, m, u) set_mu(&md, k, m, u, sizeof m / sizeof m[0])
  SET(C_GIVEN, k_name_m, k_name_u);
  SET(C_FAMILY, k_name_m, k_name_u);
  SET(C_FULL, k_full_m, k_full_u);
  SET(C_DOB, k_dob_m, k_dob_u);
  SET(C_PC, k_pc_m, k_pc_u);
  SET(C_SEX, k_sex_m, k_sex_u);
  SET(C_NHS, k_nhs_m, k_nhs_u);
  SET(C_LPI, k_lpi_m, k_lpi_u);
#undef SET
  md.lambda = LAMBDA;
  tsr__model_weights(&md);
  tsr__wtable wt;
  if (tsr__wtable_build(&md, &wt)) return fprintf(stderr, "out of memory\n"), 1;
  tsr__scorer sc;
  if (tsr__scorer_init(&sc, &rs, sp, NCMP, md.shift, md.bits, &err)) return fprintf(stderr, "%s\n", err.msg), 1;

  const tsr_link_cfg *l = &cfg->link;
  tsr__rule_pairs rp[8];
  if (dump) { /* one thread, untimed: the pairs with their levels and weights, the records, the model */
    snprintf(path, sizeof path, "%s/model.json", out);
    if (write_model(path, &md)) return 1;
    snprintf(path, sizeof path, "%s/records.csv", out);
    double d0 = tsr__now();
    if (write_records(path, &rs)) return 1;
    ctx c = {.sc = &sc, .md = &md, .wt = &wt};
    snprintf(path, sizeof path, "%s/pairs.csv", out);
    c.dump = fopen(path, "wb");
    if (!c.dump) return fprintf(stderr, "cannot write %s\n", path), 1;
    tsr__buf_init(&c.buf, 1 << 21);
    tsr__buf_puts(&c.buf, "a,b");
    for (uint32_t k = 0; k < NCMP; k++) tsr__buf_puts(&c.buf, ",t_"), tsr__buf_puts(&c.buf, k_names[k]);
    tsr__buf_puts(&c.buf, ",t_weight\n");
    c.t[0] = calloc(1, sizeof(per_thread));
    if (!c.t[0] || tsr__score_thread_create(&sc, &c.t[0]->ts)) abort();
    if (tsr__block_pairs(&rs, l->rules, l->n_rules, l->mode, l->source_mask, l->max_block_size, score, &c, rp, 1,
                         &err))
      return fprintf(stderr, "%s\n", err.msg), 1;
    fwrite(c.buf.p, 1, c.buf.len, c.dump);
    if (fclose(c.dump) || c.buf.oom) return fprintf(stderr, "cannot write %s\n", path), 1;
    tsr__buf_free(&c.buf);
    printf("# dump: %llu pairs to %s in %.1f s\n", (unsigned long long)c.t[0]->pairs, path, tsr__now() - d0);
    tsr__score_thread_free(c.t[0]->ts);
    free(c.t[0]);
  }

  snprintf(path, sizeof path, "%s/tessera.json", out);
  FILE *js = fopen(path, "wb");
  if (!js) return fprintf(stderr, "cannot write %s\n", path), 1;
  fprintf(js, "{\"records\": %llu, \"runs\": %d, \"threads\": [", (unsigned long long)rs.total, runs);
  printf("bench,threads,run,pairs,seconds,pairs_per_s,score_cpu_s,sum_weight,above_0,checksum\n");
  uint64_t ref_sum = 0, ref_pairs = 0, ref_above = 0;
  int ref_set = 0, bad = 0, first = 1;
  for (const char *p = threads_arg; *p;) {
    int req = atoi(p);
    int nt = tsr__threads(req);
    if (nt > MAXT) nt = MAXT;
    double wall[MAXRUNS], cpu[MAXRUNS];
    uint64_t pairs = 0, above = 0, sum = 0;
    double wsum = 0;
    for (int run = 0; run <= runs; run++) { /* run 0: warm-up */
      ctx c = {.sc = &sc, .md = &md, .wt = &wt};
      for (int t = 0; t < nt; t++) {
        c.t[t] = calloc(1, sizeof(per_thread));
        if (!c.t[t] || tsr__score_thread_create(&sc, &c.t[t]->ts)) abort();
      }
      double s0 = tsr__now();
      if (tsr__block_pairs(&rs, l->rules, l->n_rules, l->mode, l->source_mask, l->max_block_size, score, &c, rp, req,
                           &err))
        return fprintf(stderr, "%s\n", err.msg), 1;
      double secs = tsr__now() - s0, cs = 0;
      pairs = above = sum = 0;
      wsum = 0;
      for (int t = 0; t < nt; t++) {
        pairs += c.t[t]->pairs, above += c.t[t]->above, sum += c.t[t]->sum;
        wsum += c.t[t]->wsum, cs += c.t[t]->seconds;
        tsr__score_thread_free(c.t[t]->ts);
        free(c.t[t]);
      }
      if (!ref_set) ref_sum = sum, ref_pairs = pairs, ref_above = above, ref_set = 1;
      else if (sum != ref_sum || pairs != ref_pairs || above != ref_above)
        fprintf(stderr, "threads %d run %d: checksum, pairs or pairs above 0 differ\n", nt, run), bad = 1;
      if (run == 0) continue;
      wall[run - 1] = secs;
      cpu[run - 1] = cs;
      printf("score_peer_tessera,%d,%d,%llu,%.3f,%.0f,%.3f,%.6f,%llu,%016llx\n", nt, run, (unsigned long long)pairs,
             secs, (double)pairs / secs, cs, wsum, (unsigned long long)above, (unsigned long long)sum);
    }
    fprintf(js, "%s\n  {\"threads\": %d, \"pairs\": %llu, \"above_0\": %llu, \"sum_weight\": %.17g, \"wall\": [",
            first ? "" : ",", nt, (unsigned long long)pairs, (unsigned long long)above, wsum);
    first = 0;
    for (int r = 0; r < runs; r++) fprintf(js, "%s%.4f", r ? ", " : "", wall[r]);
    fprintf(js, "], \"score_cpu\": [");
    for (int r = 0; r < runs; r++) fprintf(js, "%s%.4f", r ? ", " : "", cpu[r]);
    double mw = median(wall, runs), mc = median(cpu, runs);
    fprintf(js, "], \"wall_median\": %.4f, \"score_cpu_median\": %.4f, \"checksum\": \"%016llx\"}", mw, mc,
            (unsigned long long)sum);
    printf("# threads %d: %llu pairs, median %.3f s block + score + weight: %.2fM pairs/s, %.2fM per thread; "
           "scoring alone %.2fM pairs/s per CPU-s\n",
           nt, (unsigned long long)pairs, mw, (double)pairs / mw / 1e6, (double)pairs / mw / 1e6 / nt,
           (double)pairs / mc / 1e6);
    p = strchr(p, ',');
    if (!p) break;
    p++;
  }
  fprintf(js, "\n]}\n");
  if (fclose(js)) return fprintf(stderr, "cannot write %s\n", path), 1;
  tsr__scorer_free(&sc);
  tsr__wtable_free(&wt);
  for (uint32_t s = 0; s < cfg->n_sources; s++) tsr_store_free(stores[s]);
  tsr_config_free(cfg);
  return bad;
}
