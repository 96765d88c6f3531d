/* Hospital episodes: a patient's admissions over the data period, drawn
 * from an age- and propensity-scaled rate, grouped as continuous inpatient
 * spells (CIPS) of one or more provider spells (a transfer starts a new
 * spell at another provider) of one or more consultant episodes, plus the
 * courses of regular day attenders. Episodes are staged in w->hes as
 * hes_apc.csv rows, with each spell's first row and CIPS kept for
 * truth_spells.csv. The admission rate is calibrated once per run so that
 * episodes per patient come out at the configured mean. */
#include <math.h>
#include <string.h>

#include "generate/gen_internal.h"

#define MAX_CIPS 120
#define MAX_EPISODES_PER_PATIENT 200

/* relative hospital admission rate by age band (HES admissions per head) */
static double age_factor(int age) {
  if (age < 1) return 1.6;
  if (age < 5) return 0.5;
  if (age < 15) return 0.3;
  if (age < 25) return 0.5;
  if (age < 45) return 0.7;
  if (age < 65) return 1.0;
  if (age < 75) return 1.8;
  if (age < 85) return 2.8;
  return 3.5;
}

void tsr__gen_hes_init(tsr__gen_ctx *g) {
  /* only ordinary admissions (classpat 1) hold several episodes, so the
   * per-ordinary-spell chance is scaled up to give the configured share */
  double ordinary =
      TSR__GEN_P(g, HES_EMERGENCY) + (1.0 - TSR__GEN_P(g, HES_EMERGENCY)) * (1.0 - TSR__GEN_P(g, HES_DAYCASE));
  g->p_multi = ordinary > 0 ? TSR__GEN_P(g, HES_MULTI) / ordinary : 0.0;
  if (g->p_multi > 1.0) g->p_multi = 1.0;
}

/* --- hospital episodes ------------------------------------------------------------------ */
typedef struct {
  int32_t admi, disch;
  uint32_t provider;
  uint8_t classpat, n_eps, transfer_out, transfer_in, died;
  const char *admimeth;
  uint8_t admisorc, disdest;
} spell_plan;

static uint32_t local_provider(const tsr__gen_ctx *g, const tsr__gen_addr *a, tsr__rng *r) {
  const tsr__area *ar = &g->t->areas[a->area];
  return ar->first_provider + (uint32_t)tsr__rng_below(r, ar->n_providers);
}

static int spell_add(tsr__gen_worker *w, uint32_t first_row, uint32_t cips_first) {
  if (w->n_spells == w->cap_spells) {
    uint32_t cap = w->cap_spells ? w->cap_spells * 2 : 16384;
    if (tsr__gen_resize_u32(&w->spell_first, cap) || tsr__gen_resize_u32(&w->spell_cips, cap)) return -1;
    w->cap_spells = cap;
  }
  assert(cips_first <= w->n_spells); /* a CIPS starts at its own or an earlier spell */
  w->spell_first[w->n_spells] = first_row;
  w->spell_cips[w->n_spells] = cips_first;
  w->n_spells++;
  return 0;
}

static void emit_spell(const tsr__gen_ctx *g, tsr__gen_worker *w, uint32_t pi, const spell_plan *sp,
                       uint32_t cips_first, uint64_t *lopatid_key, tsr__rng *r, int *n_eps_left) {
  const tsr__gen_pat *p = &w->pat[pi];
  uint32_t spell = w->n_spells;
  if (spell_add(w, w->hes.n, cips_first)) {
    w->oom = 1;
    return;
  }
  int named = g->t->provider_named[sp->provider];
  /* episode boundaries: consultants hand over inside the stay */
  int n = sp->n_eps;
  if (n > *n_eps_left) n = *n_eps_left > 0 ? *n_eps_left : 1;
  *n_eps_left -= n;
  int32_t bound[16];
  assert(n >= 1 && n < 16 && sp->disch >= sp->admi);
  bound[0] = sp->admi;
  for (int k = 1; k < n; k++) {
    int32_t lo = bound[k - 1], hi = sp->disch;
    bound[k] = lo + (int32_t)tsr__rng_below(r, (uint64_t)(hi - lo) + 1u);
  }
  bound[n] = sp->disch;
  /* the local patient id is stable per (patient, provider) */
  tsr__rng lr;
  tsr__rng_init(&lr, g->o->seed, TSR__S_LOPATID, (p->pid << 10) ^ sp->provider);
  *lopatid_key = tsr__rng_below(&lr, 100000000u);
  for (int k = 0; k < n; k++) {
    int last = k == n - 1;
    tsr__gen_demog o;
    tsr__gen_observe(g, w, p, bound[k], TSR__SRC_HES, named, r, &o);
    int32_t admidate = sp->admi;
    if (k > 0 && tsr__gen_corrupt(w, g, r, TSR__GP_E_ADMIDATE)) admidate += (int32_t)tsr__rng_range(r, 1, 30);
    int lopatid_missing = tsr__gen_corrupt(w, g, r, TSR__GP_E_LOPATID_MISSING);
    tsr__gen_stage *s = &w->hes;
    if (tsr__gen_stage_begin_row(s, pi, spell)) {
      w->oom = 1;
      return;
    }
    tsr__buf *b = &s->text;
    tsr__buf_putc(b, ',');
    if (o.nhs) tsr__gen_put_nhs(b, o.nhs, o.nhs_spaced);
    tsr__buf_putc(b, ',');
    tsr__gen_put_date_iso(g, b, o.dob);
    tsr__buf_putc(b, ',');
    tsr__buf_putc(b, (char)('0' + o.sex));
    tsr__buf_putc(b, ',');
    tsr__buf_put(b, o.postcode, o.postcode_len);
    tsr__buf_putc(b, ',');
    tsr__buf_put(b, g->t->provider_code[sp->provider], 3);
    tsr__buf_putc(b, ',');
    if (!lopatid_missing) {
      tsr__buf_putc(b, 'K');
      tsr__buf_u64w(b, *lopatid_key, 8);
    }
    tsr__buf_putc(b, ',');
    tsr__gen_put_date_iso(g, b, admidate);
    tsr__buf_putc(b, ',');
    tsr__gen_put_date_iso(g, b, bound[k]);
    tsr__buf_putc(b, ',');
    tsr__gen_put_date_iso(g, b, bound[k + 1]);
    tsr__buf_putc(b, ',');
    if (last) tsr__gen_put_date_iso(g, b, sp->disch);
    tsr__buf_putc(b, ',');
    tsr__buf_u64w(b, (uint64_t)(k + 1), 2);
    tsr__buf_puts(b, ",3,");
    tsr__buf_puts(b, sp->admimeth);
    tsr__buf_putc(b, ',');
    tsr__buf_u64w(b, sp->admisorc, 2);
    tsr__buf_putc(b, ',');
    tsr__buf_u64w(b, last ? sp->disdest : 98u, 2);
    tsr__buf_putc(b, ',');
    tsr__buf_putc(b, last ? (sp->died ? '4' : '1') : '8');
    tsr__buf_putc(b, ',');
    tsr__buf_putc(b, (char)('0' + sp->classpat));
    tsr__buf_putc(b, ',');
    const tsr__code *dx =
        sp->classpat == 3 ? &g->t->icd[g->t->icd_chemo] : &g->t->icd[tsr__alias_draw(&g->t->a_icd, r)];
    tsr__buf_put(b, dx->s, dx->len);
    tsr__buf_putc(b, ',');
    if (sp->classpat == 2 || tsr__rng_chance(r, 0.45)) {
      const tsr__code *op = &g->t->opcs[tsr__alias_draw(&g->t->a_opcs, r)];
      tsr__buf_put(b, op->s, op->len);
    } else {
      tsr__buf_putc(b, '-');
    }
    tsr__buf_putc(b, ',');
    if (named) tsr__buf_put(b, o.given, o.given_len);
    tsr__buf_putc(b, ',');
    if (named) tsr__buf_put(b, o.family, o.family_len);
    tsr__buf_putc(b, '\n');
    tsr__gen_stage_end_row(s);
  }
  w->n_spells_total++;
}

static int32_t draw_los(const tsr__gen_ctx *g, tsr__rng *r, int emergency, int age) {
  (void)g;
  double mean = emergency ? 3.0 + age / 15.0 : 2.5;
  return (int32_t)(-mean * log(1.0 - tsr__rng_unit(r) * 0.999));
}

static const char *draw_admimeth(tsr__rng *r, int emergency, const tsr__gen_pat *p, int32_t when, int *maternity) {
  *maternity = 0;
  if (emergency) {
    static const char *const em[] = {"21", "21", "21", "21", "21", "22", "23", "24", "28", "2A", "2D"};
    return em[tsr__rng_below(r, sizeof em / sizeof em[0])];
  }
  int age = tsr__gen_age_at(p->dob, when);
  if (p->sex == 2 && age >= 18 && age <= 44 && tsr__rng_chance(r, 0.15)) {
    *maternity = 1;
    return tsr__rng_chance(r, 0.5) ? "31" : "32";
  }
  static const char *const el[] = {"11", "11", "12", "13"};
  return el[tsr__rng_below(r, 4)];
}

void tsr__gen_hes_rows(const tsr__gen_ctx *g, tsr__gen_worker *w, uint32_t pi) {
  tsr__gen_pat *p = &w->pat[pi];
  const tsr__gen_hh *h = &w->hh[p->hh];
  tsr__rng r;
  tsr__rng_init(&r, g->o->seed, TSR__S_HESPLAN, p->pid);
  int32_t start = p->dob > g->o->period_start ? p->dob : g->o->period_start;
  int32_t end = g->o->period_end;
  if (start > end) return;
  int age_mid = tsr__gen_age_at(p->dob, start + (end - start) / 2);
  double exposure = (double)(end - start + 1) / (double)(end - g->o->period_start + 1);
  int eps_left = MAX_EPISODES_PER_PATIENT;
  uint64_t lopatid = 0;
  if (p->regular) {
    /* a course of regular day admissions (chemotherapy, dialysis ...) */
    int n = (int)tsr__rng_range(&r, 12, 60);
    int32_t d = (int32_t)tsr__rng_range(&r, start, end);
    uint32_t prov = local_provider(g, &h->a[tsr__gen_epoch_at(h, d)], &r);
    for (int k = 0; k < n && d <= end; k++) {
      spell_plan sp = {d, d, prov, 3, 1, 0, 0, 0, "13", 19, 19};
      uint32_t cips = w->n_spells;
      emit_spell(g, w, pi, &sp, cips, &lopatid, &r, &eps_left);
      w->n_cips++;
      d += (int32_t)tsr__rng_range(&r, 7, 21);
    }
    return;
  }
  double lambda =
      g->cips_lambda * age_factor(age_mid) * exposure * tsr__rng_gamma(&r, TSR__GEN_P(g, HES_SHAPE)) /
      TSR__GEN_P(g, HES_SHAPE);
  uint32_t n_cips = tsr__rng_poisson(&r, lambda);
  if (n_cips > MAX_CIPS) n_cips = MAX_CIPS;
  if (n_cips == 0) return;
  int32_t dates[MAX_CIPS];
  for (uint32_t i = 0; i < n_cips; i++) dates[i] = (int32_t)tsr__rng_range(&r, start, end);
  for (uint32_t i = 1; i < n_cips; i++)
    for (uint32_t j = i; j > 0 && dates[j - 1] > dates[j]; j--) {
      int32_t x = dates[j];
      dates[j] = dates[j - 1];
      dates[j - 1] = x;
    }
  int32_t free_from = start; /* next admission may not start before this */
  for (uint32_t c = 0; c < n_cips && eps_left > 0; c++) {
    int32_t admi = dates[c] > free_from ? dates[c] : free_from;
    if (admi > end) break;
    int age = tsr__gen_age_at(p->dob, admi);
    const tsr__gen_addr *home = &h->a[tsr__gen_epoch_at(h, admi)];
    int emergency = tsr__rng_chance(&r, TSR__GEN_P(g, HES_EMERGENCY));
    int maternity;
    spell_plan sp;
    memset(&sp, 0, sizeof sp);
    sp.admi = admi;
    sp.admimeth = draw_admimeth(&r, emergency, p, admi, &maternity);
    sp.provider = tsr__rng_chance(&r, TSR__GEN_P(g, HES_OOA)) ? (uint32_t)tsr__rng_below(&r, g->t->n_providers)
                                                     : local_provider(g, home, &r);
    sp.classpat = (!emergency && !maternity && tsr__rng_chance(&r, TSR__GEN_P(g, HES_DAYCASE))) ? 2 : 1;
    int32_t los = sp.classpat == 2 ? 0 : draw_los(g, &r, emergency, age);
    sp.disch = admi + los;
    sp.admisorc = home->communal == TSR__K_CARE_HOME ? 54 : home->communal == TSR__K_PRISON ? 39 : 19;
    sp.disdest = sp.admisorc;
    sp.n_eps = 1;
    if (sp.classpat == 1 && tsr__rng_chance(&r, g->p_multi)) sp.n_eps = (uint8_t)(2 + tsr__rng_poisson(&r, 0.5));
    if (sp.n_eps > 8) sp.n_eps = 8;
    sp.transfer_out =
        (uint8_t)(sp.classpat == 1 && tsr__rng_chance(&r, TSR__GEN_P(g, HES_TRANSFER)) && g->t->n_providers > 1);
    sp.died = (uint8_t)(!sp.transfer_out && emergency && age >= 75 && tsr__rng_chance(&r, 0.04));
    if (sp.transfer_out) {
      /* a transferred patient stays at least a night first, so the two spells
       * never tie on dates and the CIPS order is unambiguous */
      if (sp.disch == sp.admi) sp.disch++;
      static const uint8_t tdest[] = {51, 51, 51, 51, 49, 50, 52, 53};
      sp.disdest = tdest[tsr__rng_below(&r, sizeof tdest)];
    }
    if (sp.died) sp.disdest = 79;
    uint32_t cips_first = w->n_spells;
    emit_spell(g, w, pi, &sp, cips_first, &lopatid, &r, &eps_left);
    w->n_cips++;
    int32_t last_disch = sp.disch;
    if (sp.transfer_out && eps_left > 0) {
      /* the receiving provider admits within 0-2 days, carrying transfer codes */
      spell_plan tp = sp;
      uint32_t to;
      do to = (uint32_t)tsr__rng_below(&r, g->t->n_providers);
      while (to == sp.provider);
      /* prefer a provider in the same area when there is one */
      const tsr__area *ar = &g->t->areas[g->t->provider_area[sp.provider]];
      if (ar->n_providers > 1 && tsr__rng_chance(&r, 0.7)) {
        to = ar->first_provider + (uint32_t)tsr__rng_below(&r, ar->n_providers);
        if (to == sp.provider) to = ar->first_provider + (to - ar->first_provider + 1) % ar->n_providers;
      }
      static const int32_t gap[] = {0, 0, 0, 0, 1, 1, 2};
      tp.admi = sp.disch + gap[tsr__rng_below(&r, 7)];
      tp.provider = to;
      tp.classpat = 1;
      tp.admimeth = tsr__rng_chance(&r, 0.8) ? "81" : "2B";
      static const uint8_t tsrc[] = {51, 51, 51, 51, 49, 50, 52, 53};
      tp.admisorc = tsrc[tsr__rng_below(&r, sizeof tsrc)];
      tp.disch = tp.admi + draw_los(g, &r, 1, age);
      tp.disdest = (uint8_t)(home->communal == TSR__K_CARE_HOME ? 54 : 19);
      tp.transfer_out = 0;
      tp.died = (uint8_t)(age >= 75 && tsr__rng_chance(&r, 0.04));
      if (tp.died) tp.disdest = 79;
      tp.n_eps = (uint8_t)(tsr__rng_chance(&r, g->p_multi) ? 2 + tsr__rng_poisson(&r, 0.5) : 1);
      if (tp.n_eps > 8) tp.n_eps = 8;
      emit_spell(g, w, pi, &tp, cips_first, &lopatid, &r, &eps_left);
      last_disch = tp.disch;
      sp.died = tp.died;
    }
    if (sp.died) {
      p->death = last_disch;
      break;
    }
    /* a new, unrelated admission starts at least a day after discharge, so
     * it can never look like the same spell */
    free_from = last_disch + 1;
  }
}

/* Admission rate per patient, calibrated so that episodes per patient come
 * out at the configured mean: simulate a few chunks of households (fixed
 * counters outside the patient range, so it is deterministic) and average
 * the age factor times the share of the period each person was alive. */
int tsr__gen_hes_calibrate(tsr__gen_ctx *g) {
  tsr__gen_worker *w = tsr__calloc(1, sizeof *w);
  if (!w) return TSR_ENOMEM;
  double sum = 0;
  uint64_t n = 0;
  int32_t ps = g->o->period_start, pe = g->o->period_end;
  for (uint64_t k = 0; k < 4; k++) {
    w->n_pat = w->n_hh = 0;
    tsr__rng r;
    tsr__rng_init(&r, g->o->seed, TSR__S_CHUNK, ((uint64_t)1 << 62) + k);
    while (w->n_pat < TSR__GEN_CHUNK) tsr__gen_household(g, w, 0, TSR__GEN_CHUNK - w->n_pat, &r);
    for (uint32_t i = 0; i < w->n_pat; i++) {
      const tsr__gen_pat *p = &w->pat[i];
      int32_t start = p->dob > ps ? p->dob : ps;
      if (start > pe) continue;
      double exposure = (double)(pe - start + 1) / (double)(pe - ps + 1);
      sum += age_factor(tsr__gen_age_at(p->dob, start + (pe - start) / 2)) * exposure;
      n++;
    }
  }
  tsr__free(w);
  double mean_af = n ? sum / (double)n : 1.0;
  double ordinary =
      TSR__GEN_P(g, HES_EMERGENCY) + (1.0 - TSR__GEN_P(g, HES_EMERGENCY)) * (1.0 - TSR__GEN_P(g, HES_DAYCASE));
  double eps_per_cips = (1.0 + TSR__GEN_P(g, HES_MULTI) * 1.5) * (1.0 + TSR__GEN_P(g, HES_TRANSFER) * ordinary);
  /* a regular attender has ~36 day admissions, fewer when the course runs
   * past the end of the period (about half start too late to finish) */
  double regular = TSR__GEN_P(g, POP_REGULAR) * 30.0;
  double target = TSR__GEN_P(g, HES_MEAN) - regular;
  g->cips_lambda = target > 0 && mean_af > 0 ? target / eps_per_cips / mean_af : 0.0;
  return 0;
}
