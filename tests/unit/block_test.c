/* Unit tests for the block stage: grouping against a naive reference, pair
 * batches against a brute-force reference (first-rule-only emission, modes,
 * caps, batch boundaries, the batch thread rules, 1 and 2 threads), threads
 * 0 = all cores, the mode-allows rule, and the norm() key function. */
#include <criterion/criterion.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "common/rng.h"
#include "link_fixture.h"

/* --- grouping and pairs ----------------------------------------------------- */

Test(block, group_matches_naive_reference) {
  const uint64_t n = 50000;
  uint64_t *keys = malloc(sizeof *keys * n);
  tsr__rng rng;
  tsr__rng_init(&rng, 3, 0, 0);
  for (uint64_t i = 0; i < n; i++) {
    uint64_t v = tsr__rng_below(&rng, 20000);
    keys[i] = v == 0 ? 0 : tsr__mix64(v); /* some missing keys */
  }
  tsr__blocks b1, b2;
  tsr_error err;
  cr_assert_eq(tsr__group(keys, n, 1, &b1, &err), 0);
  cr_assert_eq(tsr__group(keys, n, 2, &b2, &err), 0);
  cr_expect_eq(b1.n, b2.n);
  cr_expect(memcmp(b1.start, b2.start, sizeof *b1.start * (b1.n + 1)) == 0);
  cr_expect(memcmp(b1.members, b2.members, sizeof *b1.members * b1.start[b1.n]) == 0);
  /* reference: every record with a key shared by another record is in
   * exactly one block, with exactly those records, in ascending order */
  uint32_t *seen = calloc(n, sizeof *seen);
  uint64_t members = 0;
  for (uint64_t bi = 0; bi < b1.n; bi++) {
    uint64_t s = b1.start[bi], e = b1.start[bi + 1];
    cr_assert(e - s >= 2);
    for (uint64_t i = s; i < e; i++) {
      uint32_t g = b1.members[i];
      cr_assert_eq(keys[g], b1.key[bi]);
      cr_assert_eq(seen[g], 0, "record %u in two blocks", g);
      seen[g] = 1;
      if (i > s) cr_assert(b1.members[i - 1] < g);
      members++;
    }
  }
  uint64_t expect = 0;
  for (uint64_t i = 0; i < n; i++) {
    if (!keys[i]) continue;
    uint64_t c = 0;
    for (uint64_t j = 0; j < n && c < 2; j++) c += keys[j] == keys[i];
    if (c >= 2) {
      expect++;
      cr_assert(seen[i], "record %llu shares its key but is in no block", (unsigned long long)i);
    }
  }
  cr_expect_eq(members, expect);
  free(seen);
  free(keys);
  tsr__blocks_free(&b1);
  tsr__blocks_free(&b2);
}

/* A batch consumer that keeps every pair, per thread (no lock: the batch
 * thread rules), and checks the rules it relies on. */
#define SINK_THREADS 8

typedef struct pair_sink {
  uint64_t *pairs[SINK_THREADS]; /* a << 40 | b << 16 | rule, gids below 2^24 */
  uint64_t n[SINK_THREADS], cap;
  int busy[SINK_THREADS];
  uint64_t batches, full_batches;
  int bad_thread, overlap, bad_size, bad_order, max_team;
} pair_sink;

static void sink_init(pair_sink *s, uint64_t cap) {
  memset(s, 0, sizeof *s);
  s->cap = cap;
  for (int t = 0; t < SINK_THREADS; t++) s->pairs[t] = malloc(sizeof(uint64_t) * cap);
}

static void sink_free(pair_sink *s) {
  for (int t = 0; t < SINK_THREADS; t++) free(s->pairs[t]);
}

static void collect(void *ctx, int thread, const tsr__pair_batch *batch) {
  pair_sink *s = ctx;
  if (thread < 0 || thread >= SINK_THREADS || thread != omp_get_thread_num()) {
    __atomic_store_n(&s->bad_thread, 1, __ATOMIC_RELAXED);
    return;
  }
  if (__atomic_exchange_n(&s->busy[thread], 1, __ATOMIC_ACQ_REL)) __atomic_store_n(&s->overlap, 1, __ATOMIC_RELAXED);
  int team = omp_get_num_threads();
  int seen = __atomic_load_n(&s->max_team, __ATOMIC_RELAXED);
  while (team > seen && !__atomic_compare_exchange_n(&s->max_team, &seen, team, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  if (batch->n == 0 || batch->n > TSR__PAIR_BATCH_CAP) __atomic_store_n(&s->bad_size, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&s->batches, 1, __ATOMIC_RELAXED);
  if (batch->n == TSR__PAIR_BATCH_CAP) __atomic_add_fetch(&s->full_batches, 1, __ATOMIC_RELAXED);
  for (uint32_t i = 0; i < batch->n; i++) {
    if (batch->a[i] >= batch->b[i]) __atomic_store_n(&s->bad_order, 1, __ATOMIC_RELAXED);
    if (s->n[thread] < s->cap)
      s->pairs[thread][s->n[thread]++] = (uint64_t)batch->a[i] << 40 | (uint64_t)batch->b[i] << 16 | batch->rule[i];
  }
  __atomic_store_n(&s->busy[thread], 0, __ATOMIC_RELEASE);
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Every thread's pairs in one sorted array; *n gets the count. */
static uint64_t *sink_sorted(const pair_sink *s, uint64_t *n) {
  uint64_t tot = 0;
  for (int t = 0; t < SINK_THREADS; t++) tot += s->n[t];
  uint64_t *all = malloc(sizeof *all * (tot ? tot : 1)), at = 0;
  for (int t = 0; t < SINK_THREADS; t++) {
    memcpy(all + at, s->pairs[t], sizeof *all * s->n[t]);
    at += s->n[t];
  }
  qsort(all, tot, sizeof *all, cmp_u64);
  *n = tot;
  return all;
}

static void sink_expect_sound(const pair_sink *s) {
  cr_expect_eq(s->bad_thread, 0, "thread number out of range or not the calling OpenMP thread");
  cr_expect_eq(s->overlap, 0, "two calls with one thread number overlapped");
  cr_expect_eq(s->bad_size, 0, "a batch held 0 or more than TSR__PAIR_BATCH_CAP pairs");
  cr_expect_eq(s->bad_order, 0, "a pair with a >= b");
}

Test(block, overlapping_rules_emit_no_duplicate_pairs) {
  char *gp = calloc(1, 1 << 20), *hes = calloc(1, 1 << 20);
  strcpy(gp, GP_HDR);
  strcpy(hes, HES_HDR);
  tsr__rng rng;
  tsr__rng_init(&rng, 11, 0, 0);
  static const char *const fam[] = {"SMITH", "SMYTH", "JONES", "BROWN"};
  for (int i = 0; i < 400; i++) {
    char line[160];
    snprintf(line, sizeof line, "g%d,,19%02d-01-0%d,1,LS1 4AP,A,%s\n", i, (int)tsr__rng_below(&rng, 4) + 80,
             (int)tsr__rng_below(&rng, 3) + 1, fam[tsr__rng_below(&rng, 4)]);
    strcat(gp, line);
    snprintf(line, sizeof line, "h%d,,19%02d-01-0%d,1,LS1 4AP,RX1,L1\n", i, (int)tsr__rng_below(&rng, 4) + 80,
             (int)tsr__rng_below(&rng, 3) + 1);
    strcat(hes, line);
  }
  fixture fx;
  load(&fx, gp, hes,
       "{\"mode\": \"link_and_dedupe\", \"rules\": ["
       "{\"name\": \"dob\", \"fields\": [\"dob\"]},"
       "{\"name\": \"year\", \"fields\": [\"year(dob)\"]},"
       "{\"name\": \"pc_sex\", \"fields\": [\"postcode\", \"sex\"]}]}");
  pair_sink sink;
  sink_init(&sink, 400000);
  tsr__rule_pairs rp[3];
  tsr_error err;
  const tsr_link_cfg *l = &fx.cfg->link;
  cr_assert_eq(tsr__block_pairs(&fx.rs, l->rules, 3, l->mode, l->source_mask, 1000000, collect, &sink, rp, 2, &err),
               0);
  sink_expect_sound(&sink);
  uint64_t got;
  uint64_t *pairs = sink_sorted(&sink, &got);
  for (uint64_t i = 1; i < got; i++)
    cr_assert_neq(pairs[i] >> 16, pairs[i - 1] >> 16, "duplicate pair");
  /* every record pair shares the postcode and sex, so the union is all pairs */
  uint64_t n = fx.rs.total;
  cr_expect_eq(got, n * (n - 1) / 2);
  cr_expect_eq(rp[0].pairs + rp[1].pairs + rp[2].pairs, got);
  cr_expect_gt(sink.full_batches, 1, "batch boundaries crossed");
  cr_expect_gt(rp[1].earlier, 0, "the year rule overlaps the dob rule");
  /* the cap skips blocks and counts them */
  cr_assert_eq(tsr__block_pairs(&fx.rs, l->rules, 3, l->mode, l->source_mask, 100, NULL, NULL, rp, 1, &err), 0);
  cr_expect_eq(rp[2].capped_blocks, 1);
  cr_expect_eq(rp[2].capped_pairs, n * (n - 1) / 2);
  cr_expect_eq(rp[2].pairs, 0);
  free(pairs);
  sink_free(&sink);
  unload(&fx);
  free(gp);
  free(hes);
}

/* Random records over few values, so rules overlap and blocks vary from 2
 * records to a few hundred. */
static void random_sources(char **gp, char **hes, int n, uint64_t seed) {
  *gp = calloc(1, 1 << 20);
  *hes = calloc(1, 1 << 20);
  strcpy(*gp, GP_HDR);
  strcpy(*hes, HES_HDR);
  tsr__rng rng;
  tsr__rng_init(&rng, seed, 0, 0);
  static const char *const fam[] = {"SMITH", "SMYTH", "JONES", "BROWN", ""};
  char *at_g = *gp + strlen(*gp), *at_h = *hes + strlen(*hes);
  for (int i = 0; i < n; i++) {
    at_g += sprintf(at_g, "g%d,,19%02d-0%d-0%d,%d,LS%d 4AP,A,%s\n", i, (int)tsr__rng_below(&rng, 6) + 80,
                    (int)tsr__rng_below(&rng, 3) + 1, (int)tsr__rng_below(&rng, 4) + 1, (int)tsr__rng_below(&rng, 2) + 1,
                    (int)tsr__rng_below(&rng, 4) + 1, fam[tsr__rng_below(&rng, 5)]);
    at_h += sprintf(at_h, "h%d,,19%02d-0%d-0%d,%d,LS%d 4AP,RX1,L%d\n", i, (int)tsr__rng_below(&rng, 6) + 80,
                    (int)tsr__rng_below(&rng, 3) + 1, (int)tsr__rng_below(&rng, 4) + 1,
                    (int)tsr__rng_below(&rng, 2) + 1, (int)tsr__rng_below(&rng, 4) + 1, (int)tsr__rng_below(&rng, 9));
  }
}

/* The pairs of a rule list by brute force over every record pair: a pair
 * belongs to the first rule whose keys agree, if the mode allows it and that
 * rule's block is not over the cap. Sorted, encoded as the sink does. */
static uint64_t *naive_pairs(const fixture *fx, uint64_t max_block, uint64_t *count) {
  const tsr_link_cfg *l = &fx->cfg->link;
  const uint64_t n = fx->rs.total;
  uint64_t **keys = calloc(l->n_rules, sizeof *keys), **size = calloc(l->n_rules, sizeof *size);
  tsr_error err;
  for (uint32_t k = 0; k < l->n_rules; k++) {
    keys[k] = malloc(sizeof(uint64_t) * n);
    size[k] = calloc(n, sizeof(uint64_t));
    cr_assert_eq(tsr__rule_keys(&fx->rs, &l->rules[k], l->source_mask, NULL, keys[k], 1, &err), 0);
    for (uint64_t i = 0; i < n; i++)
      for (uint64_t j = 0; j < n; j++) size[k][i] += keys[k][i] && keys[k][i] == keys[k][j];
  }
  uint64_t cap = n * (n - 1) / 2, m = 0;
  uint64_t *out = malloc(sizeof *out * cap);
  for (uint64_t a = 0; a < n; a++)
    for (uint64_t b = a + 1; b < n; b++) {
      uint32_t k = 0;
      while (k < l->n_rules && !(keys[k][a] && keys[k][a] == keys[k][b])) k++;
      if (k == l->n_rules || size[k][a] > max_block) continue;
      int same = tsr__recset_src(&fx->rs, a) == tsr__recset_src(&fx->rs, b);
      if (l->mode == TSR_MODE_LINK && same) continue;
      if (l->mode == TSR_MODE_DEDUPE && !same) continue;
      out[m++] = a << 40 | b << 16 | k;
    }
  for (uint32_t k = 0; k < l->n_rules; k++) {
    free(keys[k]);
    free(size[k]);
  }
  free(keys);
  free(size);
  *count = m;
  return out; /* generated in (a, b) order: already sorted */
}

Test(block, batches_give_the_naive_pair_set) {
  static const char *const modes[] = {"link_and_dedupe", "link", "dedupe"};
  char *gp, *hes;
  random_sources(&gp, &hes, 1000, 5);
  for (int mi = 0; mi < 3; mi++) {
    char link[1024];
    snprintf(link, sizeof link,
             "{\"mode\": \"%s\", \"max_block_size\": 300, \"rules\": ["
             "{\"name\": \"dob\", \"fields\": [\"dob\"]},"
             "{\"name\": \"ym_sex\", \"fields\": [\"year_month(dob)\", \"sex\"]},"
             "{\"name\": \"pc_sex\", \"fields\": [\"postcode\", \"sex\"]},"
             "{\"name\": \"pc\", \"fields\": [\"postcode\"]},"
             "{\"name\": \"fam\", \"fields\": [\"family_name\"], \"sources\": [\"gp\"]}]}",
             modes[mi]);
    fixture fx;
    load(&fx, gp, hes, link);
    const tsr_link_cfg *l = &fx.cfg->link;
    cr_assert_eq(l->n_rules, 5);
    uint64_t want_n;
    uint64_t *want = naive_pairs(&fx, 300, &want_n);
    cr_assert_gt(want_n, 3 * TSR__PAIR_BATCH_CAP, "%s: %llu pairs, enough to cross batch boundaries", modes[mi],
                 (unsigned long long)want_n);
    for (int threads = 1; threads <= 2; threads++) {
      pair_sink sink;
      sink_init(&sink, want_n + 1);
      tsr__rule_pairs rp[5];
      tsr_error err;
      cr_assert_eq(tsr__block_pairs(&fx.rs, l->rules, 5, l->mode, l->source_mask, 300, collect, &sink, rp, threads, &err),
                   0, "%s", err.msg);
      sink_expect_sound(&sink);
      cr_expect_gt(sink.full_batches, 2, "%s, %d threads: batch boundaries crossed", modes[mi], threads);
      uint64_t got_n;
      uint64_t *got = sink_sorted(&sink, &got_n);
      cr_expect_eq(got_n, want_n, "%s, %d threads: %llu pairs, naive %llu", modes[mi], threads,
                   (unsigned long long)got_n, (unsigned long long)want_n);
      uint64_t per_rule[5] = {0}, emitted = 0;
      for (uint64_t i = 0; i < got_n; i++) per_rule[got[i] & 0xffff]++;
      for (uint32_t k = 0; k < 5; k++) {
        cr_expect_eq(rp[k].pairs, per_rule[k], "rule %u: counted %llu, in batches %llu", k,
                     (unsigned long long)rp[k].pairs, (unsigned long long)per_rule[k]);
        emitted += rp[k].pairs;
      }
      cr_expect_eq(emitted, got_n);
      cr_expect_eq(rp[3].capped_blocks, 4, "the postcode blocks are over the cap");
      if (l->mode == TSR_MODE_LINK)
        cr_expect_eq(rp[4].pairs, 0, "a rule on one source has no cross-source pairs");
      else
        cr_expect_gt(rp[4].pairs, 0);
      for (uint64_t i = 0; i < got_n && i < want_n; i++)
        cr_assert_eq(got[i], want[i], "%s, %d threads: pair %llu differs (rule or records)", modes[mi], threads,
                     (unsigned long long)i);
      free(got);
      sink_free(&sink);
    }
    free(want);
    unload(&fx);
  }
  free(gp);
  free(hes);
}

Test(block, pairs_threads_zero_means_all_cores) {
  omp_set_num_threads(2);
  char *gp, *hes;
  random_sources(&gp, &hes, 200, 9);
  fixture fx;
  load(&fx, gp, hes, "{\"mode\": \"link_and_dedupe\", \"rules\": [{\"name\": \"pc\", \"fields\": [\"postcode\"]}]}");
  const tsr_link_cfg *l = &fx.cfg->link;
  pair_sink sink;
  sink_init(&sink, 100000);
  tsr__rule_pairs rp[1];
  tsr_error err;
  cr_assert_eq(tsr__block_pairs(&fx.rs, l->rules, 1, l->mode, l->source_mask, 100000, collect, &sink, rp, 0, &err), 0);
  sink_expect_sound(&sink);
  cr_expect_eq(sink.max_team, 2, "threads 0 must run on all cores (2 here), ran on %d", sink.max_team);
  sink_free(&sink);
  unload(&fx);
  free(gp);
  free(hes);
}

Test(block, mode_allows) {
  cr_expect(tsr__mode_allows(TSR_MODE_LINK, 0));
  cr_expect(!tsr__mode_allows(TSR_MODE_LINK, 1));
  cr_expect(!tsr__mode_allows(TSR_MODE_DEDUPE, 0));
  cr_expect(tsr__mode_allows(TSR_MODE_DEDUPE, 1));
  cr_expect(tsr__mode_allows(TSR_MODE_BOTH, 0));
  cr_expect(tsr__mode_allows(TSR_MODE_BOTH, 1));
}

/* --- norm() --------------------------------------------------------------- */

static uint64_t nkey(const char *s) { return tsr__norm_key(s, strlen(s)); }

Test(norm, folds_case_punctuation_and_spaces) {
  char out[64];
  cr_expect_eq(tsr__norm_text("St. Albans", 10, out, sizeof out), 9);
  cr_expect_str_eq(out, "ST ALBANS");
  tsr__norm_text(" st  albans ", 12, out, sizeof out);
  cr_expect_str_eq(out, "ST ALBANS");
  tsr__norm_text("o'neil-smith,\tJR.", 17, out, sizeof out);
  cr_expect_str_eq(out, "O NEIL SMITH JR");
  tsr__norm_text("z\xc3\xbcrich 8001", 12, out, sizeof out);
  cr_expect_str_eq(out, "Z\xc3\xbcRICH 8001", "non-ASCII bytes are kept as they are");
  cr_expect_eq(tsr__norm_text("abc", 3, out, 3), 2, "cap 3: two bytes and the NUL");
  cr_expect_str_eq(out, "AB");
  uint64_t k = nkey("St. Albans");
  cr_expect_neq(k, 0);
  cr_expect_eq(nkey("ST ALBANS"), k);
  cr_expect_eq(nkey(" st  albans "), k);
  cr_expect_eq(nkey("ST-ALBANS"), k);
  cr_expect_neq(nkey("STALBANS"), k, "a word break is kept");
  cr_expect_neq(nkey("ST ALBANS 2"), k);
  cr_expect_eq(nkey(""), 0);
  cr_expect_eq(nkey("..."), 0);
  cr_expect_eq(nkey(" - , "), 0);
  cr_expect_neq(nkey("z\xc3\xbcrich"), nkey("Z\xc3\x9cRICH"), "non-ASCII letters are not case-folded");
  cr_expect_eq(nkey("z\xc3\xbcrich"), nkey("Z\xc3\xbcRICH"));
}

/* Reference normaliser, written plainly. */
static size_t ref_norm(const char *s, size_t n, char *out) {
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    int keep = c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!keep) {
      if (len && out[len - 1] != ' ') out[len++] = ' ';
      continue;
    }
    out[len++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
  }
  while (len && out[len - 1] == ' ') len--;
  return len;
}

Test(norm, long_texts_agree_with_a_reference) {
  /* texts far longer than the key's 256-byte chunks: the key of a text is the
   * key of its normal form, and texts with different normal forms differ */
  static const char alphabet[] = "aZ9 .,-\t\xc3\xa9xQ";
  tsr__rng rng;
  tsr__rng_init(&rng, 21, 0, 0);
  char *raw = malloc(3000), *norm = malloc(3001), *got = malloc(3001);
  for (int trial = 0; trial < 300; trial++) {
    size_t n = (size_t)tsr__rng_below(&rng, 2000);
    for (size_t i = 0; i < n; i++) raw[i] = alphabet[tsr__rng_below(&rng, sizeof alphabet - 1)];
    size_t nl = ref_norm(raw, n, norm);
    norm[nl] = '\0';
    cr_assert_eq(tsr__norm_text(raw, n, got, 3001), nl, "trial %d", trial);
    cr_assert_str_eq(got, norm, "trial %d", trial);
    uint64_t k = tsr__norm_key(raw, n);
    cr_assert_eq(k, tsr__norm_key(norm, nl), "trial %d: key of the raw text and of its normal form", trial);
    if (!nl) {
      cr_assert_eq(k, 0);
      continue;
    }
    cr_assert_neq(k, 0);
    /* one more leading punctuation byte shifts every raw offset: same key */
    raw[n] = '.';
    memmove(raw + 1, raw, n);
    raw[0] = '(';
    cr_assert_eq(tsr__norm_key(raw, n + 1), k, "trial %d: shifted", trial);
    /* one changed letter, at the ends and on every side of the key's
     * 256-byte chunk boundaries: another key */
    for (size_t i = 0; i < nl; i++) {
      size_t r = i % 256;
      if (norm[i] == ' ' || !(i < 2 || i + 1 == nl || r < 2 || r > 253)) continue;
      char was = norm[i];
      norm[i] = was == 'Q' ? 'Z' : 'Q';
      cr_assert_neq(tsr__norm_key(norm, nl), k, "trial %d: changed at %zu", trial, i);
      norm[i] = was;
    }
  }
  /* a space as the last byte of a chunk, then a letter: the letter counts */
  memset(raw, 'A', 255);
  memcpy(raw + 255, " B", 2);
  uint64_t kb = tsr__norm_key(raw, 257);
  raw[256] = 'C';
  cr_expect_neq(tsr__norm_key(raw, 257), kb, "the byte after a chunk-ending space");
  free(raw);
  free(norm);
  free(got);
}

Test(norm, rule_keys_on_text_local_id_and_code) {
  /* city is text, ward the same values as a code (dictionary): norm() keys
   * agree across them; the local id is normalised the same way */
  const char *gp = "id,city,lpi,ward\n"
                   "g0,St. Albans,ab-1,St. Albans\n"
                   "g1,ST ALBANS,AB 1,ST ALBANS\n"
                   "g2,\" st  albans \",ab1,\" st  albans \"\n"
                   "g3,,x,\n"
                   "g4,...,..,...\n";
  const char *hes = "id,city,lpi,ward\n"
                    "h0,st albans,AB.1,st albans\n"
                    "h1,Leeds,ab1,Leeds\n";
  const char *cfg =
      "{\"sources\": ["
      "{\"name\": \"gp\", \"path\": \"gp.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"text\"},"
      " \"city\": {\"kind\": \"text\"}, \"lpi\": {\"field\": \"local_patient_id\", \"kind\": \"local_id\"},"
      " \"ward\": {\"kind\": \"code\"}}},"
      "{\"name\": \"hes\", \"path\": \"hes.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"text\"},"
      " \"city\": {\"kind\": \"text\"}, \"lpi\": {\"field\": \"local_patient_id\", \"kind\": \"local_id\"},"
      " \"ward\": {\"kind\": \"code\"}}}],"
      " \"link\": {\"mode\": \"link_and_dedupe\", \"rules\": ["
      "{\"name\": \"city\", \"fields\": [\"norm(city)\"]},"
      "{\"name\": \"lpi\", \"fields\": [\"norm(local_patient_id)\"]},"
      "{\"name\": \"ward\", \"fields\": [\"norm(ward)\"]}]}}";
  fixture fx;
  load_cfg(&fx, gp, hes, cfg);
  const tsr_link_cfg *l = &fx.cfg->link;
  uint64_t keys[7];
  tsr_error err;
  cr_assert_eq(tsr__rule_keys(&fx.rs, &l->rules[0], l->source_mask, NULL, keys, 1, &err), 0, "%s", err.msg);
  cr_expect_neq(keys[0], 0);
  cr_expect_eq(keys[1], keys[0]);
  cr_expect_eq(keys[2], keys[0]);
  cr_expect_eq(keys[3], 0, "missing: no key");
  cr_expect_eq(keys[4], 0, "nothing left after normalising: no key");
  cr_expect_eq(keys[5], keys[0]);
  cr_expect(keys[6] != 0 && keys[6] != keys[0]);
  uint64_t wk[7];
  cr_assert_eq(tsr__rule_keys(&fx.rs, &l->rules[2], l->source_mask, NULL, wk, 1, &err), 0, "%s", err.msg);
  for (int g = 0; g < 7; g++)
    cr_expect_eq(wk[g], keys[g], "gid %d: a code column is normalised through its dictionary text", g);
  uint64_t lk[7];
  cr_assert_eq(tsr__rule_keys(&fx.rs, &l->rules[1], l->source_mask, NULL, lk, 2, &err), 0, "%s", err.msg);
  cr_expect_neq(lk[0], 0);
  cr_expect_eq(lk[1], lk[0], "AB 1 = ab-1");
  cr_expect_neq(lk[2], lk[0], "ab1 has no word break");
  cr_expect_eq(lk[4], 0);
  cr_expect_eq(lk[5], lk[0]);
  cr_expect_eq(lk[6], lk[2]);
  char text[128];
  tsr__key_text(&fx.rs, &l->rules[0], 2, text, sizeof text);
  cr_expect_str_eq(text, "norm(city)=ST ALBANS");
  tsr__key_text(&fx.rs, &l->rules[2], 1, text, sizeof text);
  cr_expect_str_eq(text, "norm(ward)=ST ALBANS");
  /* the pairs: g0, g1, g2, h0 agree on the city */
  pair_sink sink;
  sink_init(&sink, 100);
  tsr__rule_pairs rp[3];
  cr_assert_eq(tsr__block_pairs(&fx.rs, l->rules, 3, l->mode, l->source_mask, 100, collect, &sink, rp, 1, &err), 0);
  cr_expect_eq(rp[0].pairs, 6);
  cr_expect_eq(rp[0].max_block, 4);
  cr_expect_eq(rp[2].pairs, 0, "ward agrees exactly where city does: all pairs came from rule 1");
  cr_expect_eq(rp[2].earlier, 6);
  sink_free(&sink);
  unload(&fx);
}

/* max_block is the largest block still paired: a block of exactly that many
 * records gives its pairs, one more record and it is skipped and counted. */
Test(block, a_block_of_exactly_max_block_records_is_paired) {
  fixture fx;
  load(&fx,
       GP_HDR "g0,,1980-03-03,2,LS1 4AP,A,B\n"
              "g1,,1981-03-03,2,LS1 4AP,C,D\n"
              "g2,,1982-03-03,2,LS1 4AP,E,F\n",
       HES_HDR "h0,,1983-03-03,2,LS1 4AP,RX1,L1\n",
       "{\"mode\": \"link_and_dedupe\", \"rules\": [{\"name\": \"pc\", \"fields\": [\"postcode\"]}]}");
  const tsr_link_cfg *l = &fx.cfg->link;
  tsr__rule_pairs rp[1];
  tsr_error err;
  cr_assert_eq(tsr__block_pairs(&fx.rs, l->rules, 1, l->mode, l->source_mask, 4, NULL, NULL, rp, 1, &err), 0, "%s",
               err.msg);
  cr_expect_eq(rp[0].blocks, 1);
  cr_expect_eq(rp[0].max_block, 4);
  cr_expect_eq(rp[0].pairs, 6, "4 records at max_block 4: all 6 pairs");
  cr_expect_eq(rp[0].capped_blocks, 0);
  cr_expect_eq(rp[0].capped_pairs, 0);
  cr_assert_eq(tsr__block_pairs(&fx.rs, l->rules, 1, l->mode, l->source_mask, 3, NULL, NULL, rp, 1, &err), 0, "%s",
               err.msg);
  cr_expect_eq(rp[0].pairs, 0, "4 records at max_block 3: skipped");
  cr_expect_eq(rp[0].capped_blocks, 1);
  cr_expect_eq(rp[0].capped_pairs, 6);
  unload(&fx);
}

/* A skipped block counts the pairs its mode would have compared: 3 gp and
 * 1 hes records give 3 cross-source pairs (link), 3 within gp (dedupe), 6 in
 * all (link_and_dedupe); 2 gp and 1 hes give 2, 1 and 3. */
Test(block, capped_pairs_follow_the_mode) {
  static const struct {
    const char *mode;
  } cases[] = {{"link"}, {"dedupe"}, {"link_and_dedupe"}};
  static const struct {
    const char *gp;
    uint64_t link, dedupe;
  } layouts[] = {
      {GP_HDR "g0,,1980-03-03,2,LS1 4AP,A,B\ng1,,1981-03-03,2,LS1 4AP,C,D\ng2,,1982-03-03,2,LS1 4AP,E,F\n", 3, 3},
      {GP_HDR "g0,,1980-03-03,2,LS1 4AP,A,B\ng1,,1981-03-03,2,LS1 4AP,C,D\n", 2, 1},
  };
  for (size_t li = 0; li < sizeof layouts / sizeof layouts[0]; li++) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      char link[200];
      snprintf(link, sizeof link, "{\"mode\": \"%s\", \"rules\": [{\"name\": \"pc\", \"fields\": [\"postcode\"]}]}",
               cases[i].mode);
      fixture fx;
      load(&fx, layouts[li].gp, HES_HDR "h0,,1983-03-03,2,LS1 4AP,RX1,L1\n", link);
      const tsr_link_cfg *l = &fx.cfg->link;
      tsr__rule_pairs rp[1];
      tsr_error err;
      cr_assert_eq(tsr__block_pairs(&fx.rs, l->rules, 1, l->mode, l->source_mask, 1, NULL, NULL, rp, 1, &err), 0,
                   "%s", err.msg);
      uint64_t n = fx.rs.total, want = i == 0 ? layouts[li].link : i == 1 ? layouts[li].dedupe : n * (n - 1) / 2;
      cr_expect_eq(rp[0].capped_blocks, 1, "%s", cases[i].mode);
      cr_expect_eq(rp[0].capped_pairs, want, "%s, layout %zu: %llu capped pairs", cases[i].mode, li,
                   (unsigned long long)rp[0].capped_pairs);
      unload(&fx);
    }
  }
}

/* Sources outside the run (run_mask) get no keys, even when the rule names
 * them: here the run holds gp only. */
Test(block, sources_outside_the_run_get_no_keys) {
  fixture fx;
  load(&fx, GP_HDR "g0,,1980-03-03,2,LS1 4AP,A,B\n" "g1,,1981-03-03,2,LS1 4AP,C,D\n",
       HES_HDR "h0,,1983-03-03,2,LS1 4AP,RX1,L1\n",
       "{\"mode\": \"link_and_dedupe\", \"rules\": [{\"name\": \"pc\", \"fields\": [\"postcode\"]}]}");
  const tsr_link_cfg *l = &fx.cfg->link;
  uint64_t keys[3];
  tsr_error err;
  cr_assert_eq(tsr__rule_keys(&fx.rs, &l->rules[0], 3, NULL, keys, 1, &err), 0, "%s", err.msg);
  cr_expect(keys[0] != 0 && keys[1] == keys[0] && keys[2] == keys[0], "both sources in the run: one key");
  cr_assert_eq(tsr__rule_keys(&fx.rs, &l->rules[0], 1, NULL, keys, 1, &err), 0, "%s", err.msg);
  cr_expect(keys[0] != 0 && keys[1] == keys[0]);
  cr_expect_eq(keys[2], 0, "hes is outside the run: no key");
  cr_assert_eq(tsr__rule_keys(&fx.rs, &l->rules[0], 2, NULL, keys, 1, &err), 0, "%s", err.msg);
  cr_expect(keys[0] == 0 && keys[1] == 0 && keys[2] != 0, "gp outside the run");
  unload(&fx);
}
