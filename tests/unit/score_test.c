/* Unit tests for the batch scorer (compare/score.h): every comparison kind's
 * level on hand-made pairs of two small stores (levels worked out by hand in
 * the comments), null handling, the packing (default and caller-given, as
 * the model's), init errors, and the same patterns from tsr__block_pairs
 * batches at 1 and 2 threads as from pair-at-a-time scoring. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "compare/score.h"
#include "link_fixture.h"

/* gp and hes name their columns differently and in another order, so every
 * comparison must read each source's own column. */
#define S_GP_HDR "id,nhs,dob,sex,pc,forename,surname,lpi,prov\n"
#define S_HES_HDR "id,given,family,nhs,dob,sex,pc,provider,lpi\n"

static const char *k_gp = S_GP_HDR
    "g0," NA ",1980-03-07,M,LS1 4AP,JOHN,SMITH,L1,RR8\n"
    "g1,,,,,,,,\n"
    "g2," NB ",1975-01-01,F,M1 1AA,MARTHA,JONES,L2,RR8\n"
    "g3," NC ",1990-12-25,F,B15 2TT,AMY,ALI,L3,RX1\n"
    "g4,,1990-01-01,9,LS1 4AP,J,SMITH JONES,L4,\n"
    "g5," NA ",1990-06-15,M,LS1 4AP,O'NEILL,SMITH-JONES,L5,RR8\n";

static const char *k_hes = S_HES_HDR
    "h0,JOHN,SMITH," NA ",1980-03-07,M,LS1 4AP,RR8,L1\n"
    "h1,SMITH,JOHN," NB ",1980-07-03,F,LS1 4ZZ,RX1,L1\n"
    "h2,,,,,,,,\n"
    "h3,MARHTA,JONES SMITH,,1975-02-01,F,M1 2BB,RR8,L9\n"
    "h4,MAY,ILA," NC ",1990-12-01,F,B15 2TT,RX1,L3\n"
    "h5,JOHN,JONES,,1991-09-20,M,LS6 2XX,RR8,L5\n"
    "h6,ONEILL,SMITHJONES," NA ",1990-06-15,M,LS1 4AP,RR8,L5\n"
    "h7,ANNE,BROWN," NC ",1991-01-10,F,B15 2TT,RX1,L3\n";

#define GP(i) ((uint64_t)(i))
#define HES(i) ((uint64_t)(6 + (i)))

#define S_CFG                                                                                                      \
  "{\"sources\": ["                                                                                                \
  "{\"name\": \"gp\", \"path\": \"gp.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"text\"},"          \
  " \"nhs\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"}, \"dob\": {\"kind\": \"date\"},"               \
  " \"sex\": {\"kind\": \"sex\"}, \"pc\": {\"field\": \"postcode\", \"kind\": \"postcode\"},"                     \
  " \"forename\": {\"field\": \"given_name\", \"kind\": \"given_name\"},"                                         \
  " \"surname\": {\"field\": \"family_name\", \"kind\": \"family_name\"},"                                        \
  " \"lpi\": {\"field\": \"local_patient_id\", \"kind\": \"local_id\"},"                                          \
  " \"prov\": {\"field\": \"provider\", \"kind\": \"code\"}}},"                                                   \
  "{\"name\": \"hes\", \"path\": \"hes.csv\", \"id\": \"id\", \"columns\": {\"id\": {\"kind\": \"text\"},"        \
  " \"given\": {\"field\": \"given_name\", \"kind\": \"given_name\"},"                                            \
  " \"family\": {\"field\": \"family_name\", \"kind\": \"family_name\"},"                                         \
  " \"nhs\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"}, \"dob\": {\"kind\": \"date\"},"               \
  " \"sex\": {\"kind\": \"sex\"}, \"pc\": {\"field\": \"postcode\", \"kind\": \"postcode\"},"                     \
  " \"provider\": {\"kind\": \"code\"}, \"lpi\": {\"field\": \"local_patient_id\", \"kind\": \"local_id\"}}}],"   \
  " \"link\": {\"mode\": \"link_and_dedupe\", \"rules\": [{\"name\": \"sex\", \"fields\": [\"sex\"]},"            \
  " {\"name\": \"pc\", \"fields\": [\"postcode\"]}, {\"name\": \"prov\", \"fields\": [\"provider\"]}]}}"

enum { C_GIVEN, C_FAMILY, C_FULL, C_DOB, C_PC, C_SEX, C_NHS, C_LPI, C_PROV, NCMP };

static void specs_all(const tsr__recset *rs, tsr__cmp_spec *sp) {
  tsr__cmp_spec_init(&sp[C_GIVEN], TSR__CMP_NAME);
  tsr__cmp_spec_fields(&sp[C_GIVEN], rs, "given_name", NULL);
  tsr__cmp_spec_init(&sp[C_FAMILY], TSR__CMP_NAME);
  tsr__cmp_spec_fields(&sp[C_FAMILY], rs, "family_name", NULL);
  tsr__cmp_spec_init(&sp[C_FULL], TSR__CMP_FULLNAME);
  tsr__cmp_spec_fields(&sp[C_FULL], rs, "given_name", "family_name");
  tsr__cmp_spec_init(&sp[C_DOB], TSR__CMP_DOB);
  tsr__cmp_spec_fields(&sp[C_DOB], rs, "dob", NULL);
  tsr__cmp_spec_init(&sp[C_PC], TSR__CMP_POSTCODE);
  tsr__cmp_spec_fields(&sp[C_PC], rs, "postcode", NULL);
  tsr__cmp_spec_init(&sp[C_SEX], TSR__CMP_SEX);
  tsr__cmp_spec_fields(&sp[C_SEX], rs, "sex", NULL);
  tsr__cmp_spec_init(&sp[C_NHS], TSR__CMP_NHS);
  tsr__cmp_spec_fields(&sp[C_NHS], rs, "nhs_number", NULL);
  tsr__cmp_spec_init(&sp[C_LPI], TSR__CMP_LOCAL_ID);
  tsr__cmp_spec_fields(&sp[C_LPI], rs, "local_patient_id", "provider");
  tsr__cmp_spec_init(&sp[C_PROV], TSR__CMP_CODE);
  tsr__cmp_spec_fields(&sp[C_PROV], rs, "provider", NULL);
}

typedef struct env {
  fixture fx;
  tsr__cmp_spec sp[NCMP];
  tsr__scorer sc;
  tsr__score_thread *ts;
} env;

static void env_open(env *e, const uint8_t *shift, const uint8_t *bits) {
  load_cfg(&e->fx, k_gp, k_hes, S_CFG);
  specs_all(&e->fx.rs, e->sp);
  tsr_error err;
  int rc = tsr__scorer_init(&e->sc, &e->fx.rs, e->sp, NCMP, shift, bits, &err);
  cr_assert_eq(rc, 0, "scorer: %s", err.msg);
  cr_assert_eq(tsr__score_thread_create(&e->sc, &e->ts), 0);
}

static void env_close(env *e) {
  tsr__score_thread_free(e->ts);
  tsr__scorer_free(&e->sc);
  unload(&e->fx);
}

static void expect_levels(env *e, uint64_t a, uint64_t b, const uint8_t *want) {
  uint8_t got[NCMP], rev[NCMP];
  tsr__score_pair(&e->sc, e->ts, a, b, got);
  tsr__score_pair(&e->sc, e->ts, b, a, rev);
  for (int k = 0; k < NCMP; k++) {
    cr_expect_eq(got[k], want[k], "pair (%llu, %llu) comparison %d: level %u, expected %u", (unsigned long long)a,
                 (unsigned long long)b, k, got[k], want[k]);
    cr_expect_eq(rev[k], got[k], "pair (%llu, %llu) comparison %d not symmetric", (unsigned long long)a,
                 (unsigned long long)b, k);
  }
}

/*                     given            family           full                dob                   pc                 sex                  nhs                  lpi                  prov */
Test(score, levels_by_hand) {
  env e;
  env_open(&e, NULL, NULL);
  /* g0-h0: every field equal */
  expect_levels(&e, GP(0), HES(0),
                (uint8_t[]){TSR__NAME_EXACT, TSR__NAME_EXACT, TSR__FULL_EXACT, TSR__DOB_EXACT, TSR__PC_FULL,
                            TSR__EXACT_EQUAL, TSR__NHS_EQUAL, TSR__EXACT_EQUAL, TSR__EXACT_EQUAL});
  /* g0-h1: JOHN SMITH / SMITH JOHN swapped (each field alone: JW 0.48, no
   * phonetic or part match), 07/03 vs 03/07, LS1 4AP / LS1 4ZZ sector, M/F,
   * two valid different NHS numbers, L1 under RR8 vs RX1 (other provider:
   * null), RR8/RX1 */
  expect_levels(&e, GP(0), HES(1),
                (uint8_t[]){TSR__NAME_ELSE, TSR__NAME_ELSE, TSR__FULL_SWAPPED, TSR__DOB_DM_SWAP, TSR__PC_SECTOR,
                            TSR__EXACT_ELSE, TSR__NHS_DIFFERENT, TSR__EXACT_NULL, TSR__EXACT_ELSE});
  /* g2-h3: MARTHA/MARHTA JW 0.961; JONES / JONES SMITH jaro (1 + 5/11 + 1)/3
   * = 0.818, JW 0.818 + 0.4 x 0.182 = 0.891 (JW2); both agree; 19750101 /
   * 19750201 one digit; M1 1AA / M1 2BB district; F/F; NHS missing on h3;
   * L2 / L9 under the same provider RR8 */
  expect_levels(&e, GP(2), HES(3),
                (uint8_t[]){TSR__NAME_JW1, TSR__NAME_JW2, TSR__FULL_BOTH, TSR__DOB_ONE_DIGIT, TSR__PC_DISTRICT,
                            TSR__EXACT_EQUAL, TSR__NHS_NULL, TSR__EXACT_ELSE, TSR__EXACT_EQUAL});
  /* g3-h4: AMY/MAY (match window 0: jaro 0.556, one transposition: DL1);
   * ALI/ILA (jaro 0.556, DL 2, Soundex A400 / I400); both agree (DL levels
   * are above PHONETIC); 1990-12-25 / 1990-12-01 same year and month (two
   * digits differ); same postcode, sex, NHS number, local id and provider */
  expect_levels(&e, GP(3), HES(4),
                (uint8_t[]){TSR__NAME_DL1, TSR__NAME_DL2, TSR__FULL_BOTH, TSR__DOB_SAME_YM, TSR__PC_FULL,
                            TSR__EXACT_EQUAL, TSR__NHS_EQUAL, TSR__EXACT_EQUAL, TSR__EXACT_EQUAL});
  /* g4-h5: J / JOHN initial (JW 0.775, DL 3, J000 / J500); SMITH JONES /
   * JONES a part (JW 0.43); given at INITIAL does not agree, family at PART
   * neither, not swapped: else; 1990-01-01 / 1991-09-20 within a year (Jan 1
   * but of another year); LS1 / LS6 area; sex 9 (not specified) is null; no
   * NHS number on either; g4 has no provider: local id null; provider null */
  expect_levels(&e, GP(4), HES(5),
                (uint8_t[]){TSR__NAME_INITIAL, TSR__NAME_PART, TSR__FULL_ELSE, TSR__DOB_WITHIN_YEARS, TSR__PC_AREA,
                            TSR__EXACT_NULL, TSR__NHS_NULL, TSR__EXACT_NULL, TSR__EXACT_NULL});
  /* g5-h6: O'NEILL is stored ONEILL: exact; SMITH-JONES (stored SMITH JONES)
   * / SMITHJONES exact after standardisation; full EXACT takes both */
  expect_levels(&e, GP(5), HES(6),
                (uint8_t[]){TSR__NAME_EXACT, TSR__NAME_EXACT_STD, TSR__FULL_EXACT, TSR__DOB_EXACT, TSR__PC_FULL,
                            TSR__EXACT_EQUAL, TSR__NHS_EQUAL, TSR__EXACT_EQUAL, TSR__EXACT_EQUAL});
  /* g4-h4: 1990-01-01 / 1990-12-01: Jan 1 placeholder; postcodes else */
  expect_levels(&e, GP(4), HES(4),
                (uint8_t[]){TSR__NAME_ELSE, TSR__NAME_ELSE, TSR__FULL_ELSE, TSR__DOB_JAN1, TSR__PC_ELSE,
                            TSR__EXACT_NULL, TSR__NHS_NULL, TSR__EXACT_NULL, TSR__EXACT_NULL});
  /* dob edges: 1990-12-25 / 1991-01-10 16 days; 1980 / 1990 else */
  uint8_t lv[NCMP];
  tsr__score_pair(&e.sc, e.ts, GP(3), HES(7), lv);
  cr_expect_eq(lv[C_DOB], TSR__DOB_WITHIN_DAYS);
  tsr__score_pair(&e.sc, e.ts, GP(0), HES(4), lv);
  cr_expect_eq(lv[C_DOB], TSR__DOB_ELSE);
  /* within a source (dedupe pairs): g0 / g5 share NHS number and postcode */
  tsr__score_pair(&e.sc, e.ts, GP(0), GP(5), lv);
  cr_expect_eq(lv[C_NHS], TSR__NHS_EQUAL);
  cr_expect_eq(lv[C_PC], TSR__PC_FULL);
  cr_expect_eq(lv[C_GIVEN], TSR__NAME_ELSE);
  env_close(&e);
}

Test(score, missing_on_either_side_is_null) {
  env e;
  env_open(&e, NULL, NULL);
  const uint8_t zero[NCMP] = {0};
  /* g1 and h2 hold nothing: every comparison is null against any record,
   * on either side */
  for (uint64_t g = 0; g < 6; g++) expect_levels(&e, GP(g), HES(2), zero);
  for (uint64_t h = 0; h < 8; h++) expect_levels(&e, GP(1), HES(h), zero);
  expect_levels(&e, GP(1), HES(2), zero);
  expect_levels(&e, HES(2), HES(0), zero);
  env_close(&e);
}

Test(score, source_without_the_field_is_null) {
  fixture fx;
  load_cfg(&fx, k_gp, k_hes, S_CFG);
  tsr__cmp_spec sp;
  tsr__cmp_spec_init(&sp, TSR__CMP_DOB);
  tsr__cmp_spec_fields(&sp, &fx.rs, "dob", NULL);
  sp.col[1] = NULL; /* as if hes had no date of birth */
  tsr__scorer sc;
  tsr_error err;
  cr_assert_eq(tsr__scorer_init(&sc, &fx.rs, &sp, 1, NULL, NULL, &err), 0, "%s", err.msg);
  tsr__score_thread *ts;
  cr_assert_eq(tsr__score_thread_create(&sc, &ts), 0);
  uint8_t lv[1];
  tsr__score_pair(&sc, ts, GP(0), HES(0), lv);
  cr_expect_eq(lv[0], 0);
  tsr__score_pair(&sc, ts, GP(0), GP(0), lv);
  cr_expect_eq(lv[0], TSR__DOB_EXACT);
  tsr__score_thread_free(ts);
  tsr__scorer_free(&sc);
  unload(&fx);
}

Test(score, default_packing_is_the_models) {
  env e;
  env_open(&e, NULL, NULL);
  /* widths ceil(log2 L): 4 4 3 4 3 2 3 2 2, comparison 0 lowest */
  const uint8_t want_bits[NCMP] = {4, 4, 3, 4, 3, 2, 3, 2, 2};
  uint32_t sh = 0;
  for (int k = 0; k < NCMP; k++) {
    cr_expect_eq(e.sc.bits[k], want_bits[k], "comparison %d", k);
    cr_expect_eq(e.sc.shift[k], sh, "comparison %d", k);
    cr_expect_eq(e.sc.nlev[k], tsr__cmp_nlevels(e.sp[k].kind));
    sh += want_bits[k];
  }
  uint8_t lv[NCMP];
  tsr__score_pair(&e.sc, e.ts, GP(0), HES(1), lv);
  /* 10,10,2,2,2,2,3,0,2 packed by hand */
  uint32_t want = 10u | 10u << 4 | 2u << 8 | 2u << 11 | 2u << 15 | 2u << 18 | 3u << 20 | 0u << 23 | 2u << 25;
  cr_expect_eq(tsr__score_pack(&e.sc, lv), want, "0x%x", tsr__score_pack(&e.sc, lv));
  env_close(&e);
}

Test(score, caller_packing) {
  /* the default widths in reversed order: comparison 8 lowest, 0 highest */
  const uint8_t w[NCMP] = {4, 4, 3, 4, 3, 2, 3, 2, 2};
  uint8_t shift[NCMP], bits[NCMP];
  uint32_t at = 0;
  for (int k = NCMP - 1; k >= 0; k--) shift[k] = (uint8_t)at, bits[k] = w[k], at += w[k];
  env e;
  env_open(&e, shift, bits);
  uint8_t lv[NCMP];
  tsr__score_pair(&e.sc, e.ts, GP(0), HES(1), lv);
  /* 10,10,2,2,2,2,3,0,2 at bits 23,19,16,12,9,7,4,2,0 */
  cr_expect_eq(tsr__score_pack(&e.sc, lv), 0x5522532u, "0x%x", tsr__score_pack(&e.sc, lv));
  env_close(&e);
}

Test(score, init_errors) {
  fixture fx;
  load_cfg(&fx, k_gp, k_hes, S_CFG);
  tsr__cmp_spec sp[NCMP];
  specs_all(&fx.rs, sp);
  tsr__scorer sc;
  tsr_error err;
  uint8_t shift[2] = {0, 4}, bits[2] = {3, 4};
  /* 3 bits cannot hold a name's 11 levels */
  cr_expect_eq(tsr__scorer_init(&sc, &fx.rs, sp, 2, shift, bits, &err), TSR_EINVAL);
  cr_expect(strstr(err.msg, "comparison 0") != NULL, "%s", err.msg);
  /* 4 bits at 0 and 4 bits at 3 overlap */
  bits[0] = 4, shift[1] = 3;
  cr_expect_eq(tsr__scorer_init(&sc, &fx.rs, sp, 2, shift, bits, &err), TSR_EINVAL);
  cr_expect(strstr(err.msg, "overlap") != NULL, "%s", err.msg);
  /* bits 28..31 fit, 29..32 do not */
  shift[1] = 28;
  cr_expect_eq(tsr__scorer_init(&sc, &fx.rs, sp, 2, shift, bits, &err), 0, "%s", err.msg);
  tsr__scorer_free(&sc);
  shift[1] = 29;
  cr_expect_eq(tsr__scorer_init(&sc, &fx.rs, sp, 2, shift, bits, &err), TSR_EINVAL);
  /* a date column under a name comparison */
  sp[0].col[1] = sp[C_DOB].col[1];
  cr_expect_eq(tsr__scorer_init(&sc, &fx.rs, sp, 1, NULL, NULL, &err), TSR_EINVAL);
  cr_expect(strstr(err.msg, "\"hes\"") != NULL, "%s", err.msg);
  cr_expect_eq(tsr__scorer_init(&sc, &fx.rs, sp, 0, NULL, NULL, &err), TSR_EINVAL);
  unload(&fx);
}

/* --- batches through the block stage ----------------------------------------- */

#define MAXP 256
typedef struct trip {
  uint32_t a, b, pat;
} trip;

typedef struct sink {
  const tsr__scorer *sc;
  tsr__score_thread *ts[2];
  trip out[2][MAXP];
  uint32_t n[2];
} sink;

static void consume(void *ctx, int thread, const tsr__pair_batch *b) {
  sink *s = ctx;
  uint32_t *pat = malloc(sizeof(uint32_t) * b->n);
  tsr__score_batch(s->sc, s->ts[thread], b, pat);
  for (uint32_t i = 0; i < b->n; i++) {
    cr_assert_lt(s->n[thread], MAXP);
    s->out[thread][s->n[thread]++] = (trip){b->a[i], b->b[i], pat[i]};
  }
  free(pat);
}

static int trip_cmp(const void *x, const void *y) {
  const trip *p = x, *q = y;
  if (p->a != q->a) return p->a < q->a ? -1 : 1;
  return p->b < q->b ? -1 : p->b > q->b;
}

static uint32_t run_blocked(env *e, int threads, trip *all) {
  sink *s = calloc(1, sizeof *s);
  s->sc = &e->sc;
  for (int t = 0; t < 2; t++) cr_assert_eq(tsr__score_thread_create(&e->sc, &s->ts[t]), 0);
  const tsr_link_cfg *l = &e->fx.cfg->link;
  tsr__rule_pairs rp[3];
  tsr_error err;
  cr_assert_eq(tsr__block_pairs(&e->fx.rs, l->rules, 3, l->mode, l->source_mask, 1000, consume, s, rp, threads, &err),
               0, "%s", err.msg);
  uint32_t n = 0;
  for (int t = 0; t < 2; t++) {
    memcpy(all + n, s->out[t], sizeof(trip) * s->n[t]);
    n += s->n[t];
    tsr__score_thread_free(s->ts[t]);
  }
  free(s);
  qsort(all, n, sizeof *all, trip_cmp);
  return n;
}

Test(score, batches_match_pairs_at_1_and_2_threads) {
  env e;
  env_open(&e, NULL, NULL);
  trip *t1 = calloc(2 * MAXP, sizeof *t1), *t2 = calloc(2 * MAXP, sizeof *t2);
  uint32_t n1 = run_blocked(&e, 1, t1), n2 = run_blocked(&e, 2, t2);
  /* 14 records; blocks on sex (M: g0 g5 h0 h5 h6; F: g2 g3 h1 h3 h4 h7;
   * 9: g4), then postcode, then provider: at least the 10 + 15 sex pairs */
  cr_assert_geq(n1, 25);
  cr_assert_eq(n1, n2);
  cr_expect(memcmp(t1, t2, sizeof(trip) * n1) == 0);
  uint32_t swapped = 0;
  for (uint32_t i = 0; i < n1; i++) {
    uint8_t lv[NCMP];
    tsr__score_pair(&e.sc, e.ts, t1[i].a, t1[i].b, lv);
    cr_expect_eq(t1[i].pat, tsr__score_pack(&e.sc, lv), "pair (%u, %u)", t1[i].a, t1[i].b);
    swapped += t1[i].a == GP(0) && t1[i].b == HES(1);
  }
  /* g0-h1 (M/F, postcodes differ) meet only in the provider rule? no:
   * RR8 / RX1 differ too: they are not a candidate pair */
  cr_expect_eq(swapped, 0);
  free(t1);
  free(t2);
  env_close(&e);
}

Test(score, codes_compare_text_not_dictionary_ids) {
  /* gp meets RR8 first, hes RX1 first: a code's id differs between the two
   * dictionaries, its text does not */
  fixture fx;
  load_cfg(&fx,
           S_GP_HDR "g0,,,,,,,L1,RR8\n"
                    "g1,,,,,,,L1,RX1\n",
           S_HES_HDR "h0,,,,,,,RX1,L1\n"
                     "h1,,,,,,,RR8,L1\n",
           S_CFG);
  tsr__cmp_spec sp[2];
  tsr__cmp_spec_init(&sp[0], TSR__CMP_CODE);
  tsr__cmp_spec_fields(&sp[0], &fx.rs, "provider", NULL);
  tsr__cmp_spec_init(&sp[1], TSR__CMP_LOCAL_ID);
  tsr__cmp_spec_fields(&sp[1], &fx.rs, "local_patient_id", "provider");
  tsr__scorer sc;
  tsr_error err;
  cr_assert_eq(tsr__scorer_init(&sc, &fx.rs, sp, 2, NULL, NULL, &err), 0, "%s", err.msg);
  tsr__score_thread *ts;
  cr_assert_eq(tsr__score_thread_create(&sc, &ts), 0);
  uint8_t lv[2];
  tsr__score_pair(&sc, ts, 0, 3, lv); /* RR8 / RR8 */
  cr_expect_eq(lv[0], TSR__EXACT_EQUAL);
  cr_expect_eq(lv[1], TSR__EXACT_EQUAL);
  tsr__score_pair(&sc, ts, 0, 2, lv); /* RR8 / RX1: L1 under another provider */
  cr_expect_eq(lv[0], TSR__EXACT_ELSE);
  cr_expect_eq(lv[1], TSR__EXACT_NULL);
  tsr__score_pair(&sc, ts, 1, 2, lv); /* RX1 / RX1 */
  cr_expect_eq(lv[0], TSR__EXACT_EQUAL);
  cr_expect_eq(lv[1], TSR__EXACT_EQUAL);
  tsr__score_thread_free(ts);
  tsr__scorer_free(&sc);
  unload(&fx);
}

/* Every pair of the 14 records (both orders of source, within sources too)
 * in one hand-built batch: the batch loop (with its NHS fast path) against
 * pair-at-a-time scoring, under the default options and with NHS levels
 * switched off. */
Test(score, batch_equals_pairs_all_pairs_and_options) {
  env e;
  env_open(&e, NULL, NULL);
  tsr__pair_batch *b = calloc(1, sizeof *b);
  uint32_t *pat = calloc(TSR__PAIR_BATCH_CAP, sizeof *pat);
  for (uint32_t x = 0; x < 14; x++)
    for (uint32_t y = 0; y < 14; y++) b->a[b->n] = x, b->b[b->n] = y, b->n++;
  const uint32_t all = ~0u;
  const uint32_t masks[4] = {all, all & ~TSR__LEVEL_BIT(TSR__NHS_DIFFERENT), all & ~TSR__LEVEL_BIT(TSR__NHS_EQUAL),
                             all & ~TSR__LEVEL_BIT(TSR__NHS_EQUAL) & ~TSR__LEVEL_BIT(TSR__NHS_NEAR)};
  for (int m = 0; m < 4; m++) {
    tsr__scorer sc;
    tsr__score_thread *ts;
    tsr_error err;
    e.sp[C_NHS].enabled = masks[m];
    cr_assert_eq(tsr__scorer_init(&sc, &e.fx.rs, e.sp, NCMP, NULL, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(tsr__score_thread_create(&sc, &ts), 0);
    tsr__score_batch(&sc, ts, b, pat);
    uint32_t equal = 0, diff = 0;
    for (uint32_t i = 0; i < b->n; i++) {
      uint8_t lv[NCMP];
      tsr__score_pair(&sc, ts, b->a[i], b->b[i], lv);
      cr_expect_eq(pat[i], tsr__score_pack(&sc, lv), "mask %d pair (%u, %u)", m, b->a[i], b->b[i]);
      equal += lv[C_NHS] == TSR__NHS_EQUAL, diff += lv[C_NHS] == TSR__NHS_DIFFERENT;
    }
    /* NHS numbers: gp NA NB NC NA, hes NA NB NC NA NC: 9 records with one
     * (NA 4, NB 2, NC 3): 16 + 4 + 9 = 29 ordered equal pairs (the diagonal
     * included), 81 - 29 = 52 different; without EQUAL, equal pairs fall to
     * NEAR (equal values) or, without NEAR too, to ELSE */
    cr_expect_eq(equal, m == 0 || m == 1 ? 29u : 0u, "mask %d", m);
    cr_expect_eq(diff, m == 1 ? 0u : 9u * 9u - 29u, "mask %d", m);
    tsr__score_thread_free(ts);
    tsr__scorer_free(&sc);
  }
  free(pat);
  free(b);
  env_close(&e);
}

/* A full name borrows a NAME comparison's memo only under the same options:
 * a given-name comparison with only EXACT on must not answer the full
 * name's given field. */
Test(score, full_name_borrows_memo_only_with_same_options) {
  fixture fx;
  load_cfg(&fx, k_gp, k_hes, S_CFG);
  tsr__cmp_spec sp[3];
  tsr__cmp_spec_init(&sp[0], TSR__CMP_NAME);
  tsr__cmp_spec_fields(&sp[0], &fx.rs, "given_name", NULL);
  sp[0].name.enabled = TSR__LEVEL_BIT(TSR__NAME_EXACT);
  tsr__cmp_spec_init(&sp[1], TSR__CMP_FULLNAME);
  tsr__cmp_spec_fields(&sp[1], &fx.rs, "given_name", "family_name");
  tsr__cmp_spec_init(&sp[2], TSR__CMP_NAME); /* same options as the full name's family: borrowed */
  tsr__cmp_spec_fields(&sp[2], &fx.rs, "family_name", NULL);
  tsr__scorer sc;
  tsr_error err;
  cr_assert_eq(tsr__scorer_init(&sc, &fx.rs, sp, 3, NULL, NULL, &err), 0, "%s", err.msg);
  tsr__score_thread *ts;
  cr_assert_eq(tsr__score_thread_create(&sc, &ts), 0);
  uint8_t lv[3];
  for (int round = 0; round < 2; round++) { /* the second round reads the memos */
    tsr__score_pair(&sc, ts, GP(2), HES(3), lv); /* MARTHA/MARHTA, JONES/JONES SMITH */
    cr_expect_eq(lv[0], TSR__NAME_ELSE);
    cr_expect_eq(lv[1], TSR__FULL_BOTH);
    cr_expect_eq(lv[2], TSR__NAME_JW2);
  }
  uint64_t h, m;
  tsr__score_thread_stats(ts, 2, &h, &m); /* family: NAME and FULLNAME share it */
  cr_expect_eq(h + m, 4);
  cr_expect_eq(m, 1);
  /* full: its own given memo and the cross memo, one lookup each a round
   * (MARTHA / JONES SMITH is not close: the second cross pair is not asked) */
  tsr__score_thread_stats(ts, 1, &h, &m);
  cr_expect_eq(h + m, 4, "%llu", (unsigned long long)(h + m));
  cr_expect_eq(m, 2);
  tsr__score_thread_free(ts);
  tsr__scorer_free(&sc);
  unload(&fx);
}
