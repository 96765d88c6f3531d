/* Unit tests for the cluster stage: the step-down exclusion semantics,
 * merge rules, the NHS veto, link-mode partners, block caps, one-to-one
 * (one rule and across rules), threads 0 = all cores, the same result for any
 * thread count, and union-find against a reference on random graphs. */
#include <criterion/criterion.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "cluster/cluster.h"
#include "cluster/steps.h"
#include "common/rng.h"
#include "link_fixture.h"

/* Runs the configured steps; returns parent (flattened roots) and rule_of. */
static void run(fixture *fx, uint32_t **parent, uint8_t **rule_of, tsr__step_stats **st, int threads) {
  uint64_t n = fx->rs.total;
  *parent = malloc(sizeof **parent * n);
  *rule_of = calloc(n, 1);
  *st = calloc(fx->cfg->link.n_rules, sizeof **st);
  tsr__uf_init(*parent, n, threads);
  tsr_error err;
  int rc = tsr__run_steps(&fx->rs, &fx->cfg->link, *parent, *rule_of, *st, threads, &err);
  cr_assert_eq(rc, 0, "%s", err.msg);
  for (uint64_t i = 0; i < n; i++) (*parent)[i] = tsr__uf_find(*parent, (uint32_t)i);
}

/* Frees what run() returned, and the fixture. */
static void finish(fixture *fx, uint32_t *p, uint8_t *r, tsr__step_stats *st) {
  free(p);
  free(r);
  free(st);
  unload(fx);
}

Test(steps, exclusion_semantics) {
  fixture fx;
  const char *gp = GP_HDR
      "g0," NA ",1990-01-02,1,LS1 4AP,ANN,LEE\n"  /* gid 0: twin A */
      "g1," NB ",1990-01-02,1,LS1 4AP,BEN,LEE\n"  /* gid 1: twin B, same sex/dob/postcode */
      "g2," NC ",1970-05-05,2,M1 1AA,CAT,ROE\n";  /* gid 2 */
  const char *hes = HES_HDR
      "h0," NA ",1990-01-02,1,LS1 4AP,RX1,L1\n"   /* gid 3: step 1 with g0 */
      "h1," NB ",1990-01-02,1,LS1 4AP,RX1,L2\n"   /* gid 4: step 1 with g1 */
      "h2,,1990-01-02,1,LS1 4AP,RX1,L9\n"         /* gid 5: step 3 block holds both twins: ambiguous */
      "h3,,1970-05-05,2,M1 1AA,RX2,L3\n"          /* gid 6: step 3 joins g2 (unmatched until then) */
      "h4,,1970-05-05,2,M1 1AA,RX2,L3\n";         /* gid 7: step 2 with h3 (same provider + local id) */
  load(&fx, gp, hes, "{\"mode\": \"link_and_dedupe\", \"rules\": \"hesid\"}");
  uint32_t *p;
  uint8_t *r;
  tsr__step_stats *st;
  run(&fx, &p, &r, &st, 2);
  cr_expect_eq(r[0], 1);
  cr_expect_eq(r[3], 1);
  cr_expect_eq(p[3], p[0]);
  cr_expect_eq(p[4], p[1]);
  /* two clusters matched at step 1 agree at step 3 but are never merged */
  cr_expect_neq(p[0], p[1], "matched clusters must not merge at a later step");
  /* the unmatched record agreeing with both is ambiguous: left alone */
  cr_expect_eq(r[5], 0);
  cr_expect_eq(p[5], 5);
  cr_expect_eq(st[2].ambiguous_blocks, 1);
  /* h3 + h4 link at step 2 (within hes); g2 joins them at step 3 */
  cr_expect_eq(r[6], 2);
  cr_expect_eq(r[7], 2);
  cr_expect_eq(r[2], 3);
  cr_expect_eq(p[2], p[6]);
  cr_expect_eq(p[6], p[7]);
  cr_expect_eq(p[2], 2, "a cluster's root is its smallest member");
  finish(&fx, p, r, st);
}

Test(steps, merge_rules_join_earlier_clusters) {
  /* one patient whose records split at step 1 (postcode differs), joined by
   * a later same-NHS step only when it merges */
  const char *gp = GP_HDR "g0," NA ",1990-01-02,1,LS1 4AP,ANN,LEE\n"
                          "g1," NA ",1990-01-02,1,M1 1AA,ANN,LEE\n";
  const char *hes = HES_HDR "h0," NA ",1990-01-02,1,LS1 4AP,RX1,L1\n"
                            "h1," NA ",1990-01-02,1,M1 1AA,RX1,L1\n"
                            "h2," NB ",1990-01-02,1,LS1 4AP,RX1,L9\n"; /* another NHS number: never merged */
#define RULES_FMT                                                                          \
  "{\"mode\": \"link_and_dedupe\", \"rules\": ["                                          \
  "{\"name\": \"r1\", \"fields\": [\"nhs_number\", \"dob\", \"postcode\"]},"              \
  "{\"name\": \"r2\", \"fields\": [\"nhs_number\", \"dob\"]%s}]}"
  for (int merge = 0; merge < 2; merge++) {
    char link[512];
    snprintf(link, sizeof link, RULES_FMT, merge ? ", \"merge\": true" : "");
    fixture fx;
    load(&fx, gp, hes, link);
    uint32_t *p;
    uint8_t *r;
    tsr__step_stats *st;
    run(&fx, &p, &r, &st, 2);
    cr_expect_eq(r[0], 1);
    cr_expect_eq(r[1], 1);
    cr_expect_eq(p[0], p[2]);
    cr_expect_eq(p[1], p[3]);
    if (merge) {
      cr_expect_eq(p[0], p[1], "a merge rule joins the two step-1 clusters");
      cr_expect_eq(st[1].merged_blocks, 1);
    } else {
      cr_expect_neq(p[0], p[1], "without merge, earlier clusters stay apart");
      cr_expect_eq(st[1].merged_blocks, 0);
    }
    cr_expect_eq(p[4], 4, "a different NHS number never joins");
    finish(&fx, p, r, st);
  }
}

Test(steps, nhs_veto) {
  /* twin A has a single record (no partner at step 1); twin B has two. At
   * step 3 twin A's record would join B's cluster, unless vetoed */
  const char *gp = GP_HDR "g0," NA ",1990-01-02,1,LS1 4AP,ANN,LEE\n"
                          "g1," NB ",1990-01-02,1,LS1 4AP,BEN,LEE\n";
  const char *hes = HES_HDR "h0," NB ",1990-01-02,1,LS1 4AP,RX1,L1\n";
  for (int veto = 0; veto < 2; veto++) {
    fixture fx;
    load(&fx, gp, hes,
         veto ? "{\"mode\": \"link_and_dedupe\", \"nhs_veto\": true, \"rules\": \"hesid\"}"
              : "{\"mode\": \"link_and_dedupe\", \"rules\": \"hesid\"}");
    uint32_t *p;
    uint8_t *r;
    tsr__step_stats *st;
    run(&fx, &p, &r, &st, 1);
    cr_expect_eq(p[1], p[2]);
    if (veto) {
      cr_expect_eq(r[0], 0, "vetoed: twin A stays alone");
      cr_expect_eq(p[0], 0);
      cr_expect_neq(p[0], p[1]);
      cr_expect_eq(st[2].vetoed_blocks, 1);
    } else {
      cr_expect_eq(r[0], 3, "without the veto step 3 joins the twins");
      cr_expect_eq(p[0], p[1]);
    }
    finish(&fx, p, r, st);
  }
}

/* The veto reads every source's NHS numbers: here the conflict is only
 * between the GP record and the hospital one (the last source). */
Test(steps, nhs_veto_sees_every_source) {
  const char *gp = GP_HDR "g0," NA ",1990-01-02,1,LS1 4AP,ANN,LEE\n";
  const char *hes = HES_HDR "h0," NB ",1990-01-02,1,LS1 4AP,RX1,L1\n";
  for (int veto = 0; veto < 2; veto++) {
    fixture fx;
    load(&fx, gp, hes,
         veto ? "{\"mode\": \"link\", \"nhs_veto\": true, \"rules\": [{\"name\": \"dsp\", \"fields\": [\"dob\", "
                "\"sex\", \"postcode\"]}]}"
              : "{\"mode\": \"link\", \"rules\": [{\"name\": \"dsp\", \"fields\": [\"dob\", \"sex\", \"postcode\"]}]}");
    uint32_t *p;
    uint8_t *r;
    tsr__step_stats *st;
    run(&fx, &p, &r, &st, 1);
    if (veto) {
      cr_expect(r[0] == 0 && r[1] == 0, "vetoed: NHS %s (gp) and %s (hes) differ", NA, NB);
      cr_expect_neq(p[0], p[1]);
      cr_expect_eq(st[0].vetoed_blocks, 1);
    } else {
      cr_expect(r[0] == 1 && r[1] == 1);
      cr_expect_eq(p[0], p[1]);
      cr_expect_eq(st[0].vetoed_blocks, 0);
    }
    finish(&fx, p, r, st);
  }
}

Test(steps, link_mode_needs_another_source) {
  fixture fx;
  const char *gp = GP_HDR "g0," NC ",1970-05-05,2,M1 1AA,CAT,ROE\n";
  const char *hes = HES_HDR "h0," NA ",1990-01-02,1,LS1 4AP,RX1,L1\n"
                            "h1," NA ",1990-01-02,1,LS1 4AP,RX1,L1\n"
                            "h2," NC ",1970-05-05,2,M1 1AA,RX1,L5\n";
  load(&fx, gp, hes, "{\"mode\": \"link\", \"rules\": \"hesid\"}");
  uint32_t *p;
  uint8_t *r;
  tsr__step_stats *st;
  run(&fx, &p, &r, &st, 1);
  cr_expect_eq(r[1], 0, "two hospital records alone do not link in link mode");
  cr_expect_eq(r[2], 0);
  cr_expect_neq(p[1], p[2]);
  cr_expect_eq(p[3], p[0]);
  cr_expect_eq(st[0].pairs, 1);
  finish(&fx, p, r, st);
  load(&fx, gp, hes, "{\"mode\": \"link_and_dedupe\", \"rules\": \"hesid\"}");
  run(&fx, &p, &r, &st, 1);
  cr_expect_eq(p[1], p[2], "link_and_dedupe links within a source too");
  cr_expect_eq(r[1], 1);
  finish(&fx, p, r, st);
}

Test(steps, block_cap_skips_and_reports) {
  fixture fx;
  char gp[4096] = GP_HDR, hes[4096] = HES_HDR;
  for (int i = 0; i < 6; i++) {
    char line[128];
    snprintf(line, sizeof line, "g%d,,1980-03-03,2,ZZ1 1ZZ,X,Y\n", i);
    strcat(gp, line);
  }
  strcat(hes, "h0,,1980-03-03,2,ZZ1 1ZZ,RX1,L1\n");
  load(&fx, gp, hes,
       "{\"mode\": \"link\", \"max_block_size\": 5, \"rules\": [{\"name\": \"dsp\", \"fields\": [\"dob\", \"sex\", "
       "\"postcode\"]}]}");
  uint32_t *p;
  uint8_t *r;
  tsr__step_stats *st;
  run(&fx, &p, &r, &st, 2);
  cr_expect_eq(st[0].capped_blocks, 1);
  cr_expect_eq(st[0].capped_records, 7);
  cr_expect_eq(st[0].top[0].size, 7);
  cr_expect(st[0].top[0].capped);
  for (int i = 0; i < 7; i++) cr_expect_eq(r[i], 0, "records of a capped block stay unlinked");
  char key[256];
  tsr__key_text(&fx.rs, &fx.cfg->link.rules[0], st[0].top[0].first, key, sizeof key);
  cr_expect(strstr(key, "dob=1980-03-03") && strstr(key, "postcode=ZZ1 1ZZ"), "key text: %s", key);
  finish(&fx, p, r, st);
}

/* max_block_size is the largest block still linked: exactly that many
 * records link, one more and the block is capped. */
Test(steps, a_block_of_exactly_max_block_size_records_links) {
  char gp[4096] = GP_HDR, hes[4096] = HES_HDR;
  for (int i = 0; i < 6; i++) {
    char line[128];
    snprintf(line, sizeof line, "g%d,,1980-03-03,2,ZZ1 1ZZ,X,Y\n", i);
    strcat(gp, line);
  }
  strcat(hes, "h0,,1980-03-03,2,ZZ1 1ZZ,RX1,L1\n");
  for (int cap = 6; cap <= 7; cap++) {
    char link[256];
    snprintf(link, sizeof link,
             "{\"mode\": \"link\", \"max_block_size\": %d, \"rules\": [{\"name\": \"dsp\", \"fields\": [\"dob\", "
             "\"sex\", \"postcode\"]}]}",
             cap);
    fixture fx;
    load(&fx, gp, hes, link);
    uint32_t *p;
    uint8_t *r;
    tsr__step_stats *st;
    run(&fx, &p, &r, &st, 1);
    if (cap == 7) {
      cr_expect_eq(st[0].capped_blocks, 0, "a block of 7 at max_block_size 7 is linked");
      cr_expect_eq(st[0].linked_total, 7);
      for (int i = 0; i < 7; i++) cr_expect_eq(p[i], p[0]);
    } else {
      cr_expect_eq(st[0].capped_blocks, 1, "a block of 7 at max_block_size 6 is capped");
      cr_expect_eq(st[0].linked_total, 0);
    }
    finish(&fx, p, r, st);
  }
}

Test(steps, one_to_one) {
  fixture fx;
  const char *gp = GP_HDR "g0,,1990-01-02,1,LS1 4AP,A,B\n"
                          "g1,,1970-05-05,2,M1 1AA,C,D\n";
  const char *hes = HES_HDR "h0,,1990-01-02,1,LS1 4AP,RX1,L1\n"
                            "h1,,1990-01-02,1,LS1 4AP,RX1,L2\n"
                            "h2,,1970-05-05,2,M1 1AA,RX1,L3\n";
  load(&fx, gp, hes,
       "{\"mode\": \"link\", \"one_to_one\": true, \"rules\": [{\"name\": \"dsp\", \"fields\": [\"dob\", \"sex\", "
       "\"postcode\"]}]}");
  uint32_t *p;
  uint8_t *r;
  tsr__step_stats *st;
  run(&fx, &p, &r, &st, 1);
  cr_expect_eq(r[0], 0, "g0 has two candidates: not linked one-to-one");
  cr_expect_eq(r[2], 0);
  cr_expect_eq(r[3], 0);
  cr_expect_eq(r[1], 1);
  cr_expect_eq(r[4], 1);
  cr_expect_eq(p[4], p[1]);
  cr_expect_eq(st[0].ambiguous_blocks, 1);
  finish(&fx, p, r, st);
}

/* one_to_one: a block whose records all come from one source has no pair to
 * make; it is passed over, not counted as ambiguous. */
Test(steps, one_to_one_passes_over_a_block_from_one_source) {
  fixture fx;
  const char *gp = GP_HDR "g0,,1990-01-02,1,LS1 4AP,A,B\n"
                          "g1,,1990-01-02,1,LS1 4AP,C,D\n";
  const char *hes = HES_HDR "h0,,1970-05-05,2,M1 1AA,RX1,L1\n";
  load(&fx, gp, hes,
       "{\"mode\": \"link\", \"one_to_one\": true, \"rules\": [{\"name\": \"dsp\", \"fields\": [\"dob\", \"sex\", "
       "\"postcode\"]}]}");
  uint32_t *p;
  uint8_t *r;
  tsr__step_stats *st;
  run(&fx, &p, &r, &st, 1);
  cr_expect_eq(st[0].blocks, 1);
  cr_expect_eq(st[0].ambiguous_blocks, 0);
  cr_expect_eq(st[0].ambiguous_records, 0);
  cr_expect_eq(st[0].linked_total, 0);
  cr_expect(r[0] == 0 && r[1] == 0 && r[2] == 0);
  finish(&fx, p, r, st);
}

Test(steps, one_to_one_excludes_records_matched_by_an_earlier_rule) {
  /* step 1 (dob, sex, postcode) links g0-h0 and g2-h2. Step 2 (dob, sex)
   * would see g0, h0, g1, h1 in one block and g2, h2, h3 in another; with
   * the matched records out of the pool, g1-h1 is exactly one of each
   * source and links, and h3 is left alone instead of re-linking g2 */
  const char *gp = GP_HDR "g0,,1990-01-02,1,LS1 4AP,A,B\n"  /* gid 0 */
                          "g1,,1990-01-02,1,M1 1AA,C,D\n"   /* gid 1 */
                          "g2,,1970-05-05,2,B1 1AA,E,F\n";  /* gid 2 */
  const char *hes = HES_HDR "h0,,1990-01-02,1,LS1 4AP,RX1,L1\n" /* gid 3 */
                            "h1,,1990-01-02,1,B2 2BB,RX1,L2\n"  /* gid 4 */
                            "h2,,1970-05-05,2,B1 1AA,RX1,L3\n"  /* gid 5 */
                            "h3,,1970-05-05,2,B3 3CC,RX1,L4\n"; /* gid 6 */
  for (int threads = 1; threads <= 2; threads++) {
    fixture fx;
    load(&fx, gp, hes,
         "{\"mode\": \"link\", \"one_to_one\": true, \"rules\": ["
         "{\"name\": \"dsp\", \"fields\": [\"dob\", \"sex\", \"postcode\"]},"
         "{\"name\": \"ds\", \"fields\": [\"dob\", \"sex\"]}]}");
    uint32_t *p;
    uint8_t *r;
    tsr__step_stats *st;
    run(&fx, &p, &r, &st, threads);
    static const uint8_t want_rule[7] = {1, 2, 1, 1, 2, 1, 0};
    for (int g = 0; g < 7; g++) cr_expect_eq(r[g], want_rule[g], "gid %d: step %u, want %u", g, r[g], want_rule[g]);
    cr_expect_eq(p[3], p[0]);
    cr_expect_eq(p[4], p[1], "g1-h1: one of each source once the step-1 pair left the pool");
    cr_expect_eq(p[5], p[2]);
    cr_expect_neq(p[1], p[0], "one_to_one never joins a step-1 cluster");
    cr_expect_eq(p[6], 6, "h3 stays alone");
    cr_expect_eq(st[0].pairs, 2);
    cr_expect_eq(st[1].pairs, 1);
    cr_expect_eq(st[1].eligible, 3, "only the unmatched records take part at step 2");
    cr_expect_eq(st[1].ambiguous_blocks, 0);
    finish(&fx, p, r, st);
  }
}

Test(steps, threads_zero_means_all_cores) {
  omp_set_num_threads(2);
  fixture fx;
  load(&fx, GP_HDR "g0," NA ",1990-01-02,1,LS1 4AP,A,B\n", HES_HDR "h0," NA ",1990-01-02,1,LS1 4AP,RX1,L1\n",
       "{\"mode\": \"link\", \"rules\": \"hesid\"}");
  uint32_t *p;
  uint8_t *r;
  tsr__step_stats *st;
  run(&fx, &p, &r, &st, 0);
  for (uint32_t k = 0; k < fx.cfg->link.n_rules; k++) cr_expect_eq(st[k].threads, 2, "step %u: threads 0 ran on %u", k, st[k].threads);
  cr_expect_eq(p[1], p[0]);
  finish(&fx, p, r, st);
}

Test(steps, same_result_any_thread_count) {
  /* many records with overlapping keys across three steps */
  char *gp = calloc(1, 1 << 20), *hes = calloc(1, 1 << 20);
  strcpy(gp, GP_HDR);
  strcpy(hes, HES_HDR);
  tsr__rng rng;
  tsr__rng_init(&rng, 7, 1, 0);
  static const char *const nhs[] = {NA, NB, NC, ""};
  for (int i = 0; i < 3000; i++) {
    char line[160];
    int d = (int)tsr__rng_below(&rng, 20) + 1;
    snprintf(line, sizeof line, "g%d,%s,1990-01-%02d,%d,LS%d 4AP,A,B\n", i, nhs[tsr__rng_below(&rng, 4)], d,
             (int)tsr__rng_below(&rng, 2) + 1, (int)tsr__rng_below(&rng, 5) + 1);
    strcat(gp, line);
    snprintf(line, sizeof line, "h%d,%s,1990-01-%02d,%d,LS%d 4AP,RX%d,L%d\n", i, nhs[tsr__rng_below(&rng, 4)], d,
             (int)tsr__rng_below(&rng, 2) + 1, (int)tsr__rng_below(&rng, 5) + 1, (int)tsr__rng_below(&rng, 3),
             (int)tsr__rng_below(&rng, 50));
    strcat(hes, line);
  }
  fixture fx;
  load(&fx, gp, hes, "{\"mode\": \"link_and_dedupe\", \"max_block_size\": 100000, \"rules\": \"hesid\"}");
  uint32_t *p1, *p2;
  uint8_t *r1, *r2;
  tsr__step_stats *s1, *s2;
  run(&fx, &p1, &r1, &s1, 1);
  run(&fx, &p2, &r2, &s2, 2);
  cr_expect(memcmp(p1, p2, sizeof *p1 * fx.rs.total) == 0);
  cr_expect(memcmp(r1, r2, fx.rs.total) == 0);
  for (uint32_t k = 0; k < 3; k++) cr_expect_eq(s1[k].linked_total, s2[k].linked_total);
  free(p1);
  free(p2);
  free(r1);
  free(r2);
  free(s1);
  free(s2);
  unload(&fx);
  free(gp);
  free(hes);
}

/* --- union-find ------------------------------------------------------------- */

static uint32_t ref_find(uint32_t *p, uint32_t x) {
  while (p[x] != x) x = p[x];
  return x;
}

Test(uf, agrees_with_reference_on_random_graphs) {
  for (int trial = 0; trial < 8; trial++) {
    const uint32_t n = 20000 + (uint32_t)trial * 1000;
    const uint32_t m = n / 2 + (uint32_t)trial * 2000;
    uint32_t *ea = malloc(sizeof *ea * m), *eb = malloc(sizeof *eb * m);
    tsr__rng rng;
    tsr__rng_init(&rng, 99, (uint64_t)trial, 0);
    for (uint32_t i = 0; i < m; i++) {
      ea[i] = (uint32_t)tsr__rng_below(&rng, n);
      eb[i] = (uint32_t)tsr__rng_below(&rng, n);
    }
    uint32_t *ref = malloc(sizeof *ref * n), *par = malloc(sizeof *par * n);
    for (uint32_t i = 0; i < n; i++) ref[i] = i;
    for (uint32_t i = 0; i < m; i++) {
      uint32_t a = ref_find(ref, ea[i]), b = ref_find(ref, eb[i]);
      if (a != b) ref[a > b ? a : b] = a < b ? a : b;
    }
    tsr__uf_init(par, n, 2);
#pragma omp parallel for num_threads(2) schedule(dynamic, 64)
    for (int64_t i = 0; i < (int64_t)m; i++) tsr__uf_union(par, ea[i], eb[i]);
    int64_t *pid = malloc(sizeof *pid * n);
    uint64_t k = tsr__uf_label(par, n, pid, 2);
    uint64_t roots = 0;
    int64_t last = 0;
    for (uint32_t i = 0; i < n; i++) {
      uint32_t r = ref_find(ref, i);
      cr_assert_eq(par[i], r, "trial %d: record %u root %u, reference %u", trial, i, par[i], r);
      if (r == i) {
        roots++;
        cr_assert_eq(pid[i], last + 1, "patient ids number roots in order");
        last = pid[i];
      } else {
        cr_assert_eq(pid[i], pid[r]);
      }
    }
    cr_expect_eq(k, roots);
    free(ea);
    free(eb);
    free(ref);
    free(par);
    free(pid);
  }
}
