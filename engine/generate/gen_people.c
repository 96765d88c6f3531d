/* The generator's population: a chunk's households (families with twins,
 * couples, flatmates) and its residents of communal establishments, each
 * household with its address history and GP practice per address epoch, and
 * each patient's own attributes. Everything is drawn from the chunk's and the
 * patient's RNG streams, so a chunk is a pure function of (seed, chunk). The
 * age and household-size tables are documented in docs/generator.md. */
#include <math.h>
#include <string.h>

#include "generate/gen_internal.h"

/* ONS mid-year estimates, England and Wales, % by 5-year band, 0-4 .. 90+. */
static const double k_age_band[19] = {5.6, 6.0, 6.0, 5.6, 6.0, 6.5, 6.8, 6.6, 6.3, 6.3,
                                      6.9, 6.8, 5.9, 5.1, 5.1, 3.7, 2.6, 1.6, 0.9};
/* ONS families and households: % of households by size 1..6. */
static const double k_hh_size[6] = {29.0, 35.0, 15.0, 13.0, 5.0, 3.0};

void tsr__gen_people_init(tsr__gen_ctx *g) {
  const tsr_gen_opts *o = g->o;
  double s = 0, sa = 0;
  for (int i = 0; i < 19; i++) s += k_age_band[i];
  double acc = 0;
  for (int i = 0; i < 19; i++) {
    acc += k_age_band[i] / s;
    g->age_cdf[i] = acc;
  }
  /* adults: bands from 15-19 on (ages under 18 are redrawn) */
  for (int i = 3; i < 19; i++) sa += k_age_band[i];
  acc = 0;
  for (int i = 0; i < 19; i++) {
    acc += i >= 3 ? k_age_band[i] / sa : 0.0;
    g->adult_cdf[i] = acc;
  }
  double hs = 0;
  for (int i = 0; i < 6; i++) hs += k_hh_size[i];
  acc = 0;
  for (int i = 0; i < 6; i++) {
    acc += k_hh_size[i] / hs;
    g->hh_cdf[i] = acc;
  }
  /* about 60 residents per establishment (care homes average ~30-40,
   * halls and prisons hold hundreds) */
  double residents = TSR__GEN_P(g, POP_COMMUNAL) * (double)o->patients;
  g->n_establishments = residents / 60.0 < 1.0 ? 1u : (uint32_t)(residents / 60.0);
}

static uint32_t draw_cdf(const double *cdf, uint32_t n, tsr__rng *r) {
  double u = tsr__rng_unit(r);
  for (uint32_t i = 0; i < n; i++)
    if (u < cdf[i]) return i;
  return n - 1;
}

/* Age in whole years drawn from the band table (uniform within a band). */
static int draw_age(const double *cdf, tsr__rng *r) {
  uint32_t b = draw_cdf(cdf, 19, r);
  int lo = (int)b * 5, hi = b == 18 ? 99 : lo + 4;
  return (int)tsr__rng_range(r, lo, hi);
}

static int draw_adult_age(const tsr__gen_ctx *g, tsr__rng *r) {
  int a;
  do a = draw_age(g->adult_cdf, r);
  while (a < 18);
  return a;
}

static int32_t dob_for_age(const tsr__gen_ctx *g, int age, tsr__rng *r) {
  /* born between (age+1) years and age years before the reference date */
  int32_t end = g->o->period_end;
  int32_t hi = end - (int32_t)(age * 365.2425), lo = hi - 364;
  int32_t d = (int32_t)tsr__rng_range(r, lo, hi);
  return d > end ? end : d;
}

/* --- addresses --------------------------------------------------------------- */
static const char k_unit_letters[] = "ABDEFGHJLNPQRSTUWXYZ"; /* Royal Mail inward-code letters */

static void draw_addr_in_area(const tsr__gen_ctx *g, tsr__rng *r, tsr__gen_addr *a, uint16_t area) {
  const tsr__area *ar = &g->t->areas[area];
  a->area = area;
  a->district = (uint8_t)tsr__rng_range(r, 1, ar->districts);
  a->sector = (uint8_t)tsr__rng_below(r, 10);
  a->unit[0] = k_unit_letters[tsr__rng_below(r, 20)];
  a->unit[1] = k_unit_letters[tsr__rng_below(r, 20)];
  a->street = (uint16_t)tsr__rng_below(r, g->t->n_streets);
  /* house numbers: most streets are short */
  a->number = (uint16_t)(1 + (int)(-30.0 * log(1.0 - tsr__rng_unit(r) * 0.999)));
  a->flat = tsr__rng_chance(r, 0.15) ? (uint16_t)tsr__rng_range(r, 1, 40) : 0;
  a->communal = TSR__K_ORDINARY;
  a->communal_idx = 0;
}

static uint32_t practice_for(const tsr__gen_ctx *g, const tsr__gen_addr *a, tsr__rng *r) {
  const tsr__area *ar = &g->t->areas[a->area];
  /* practices are laid out along the districts; pick one of the two nearest */
  uint32_t k = ((uint32_t)(a->district - 1u) * ar->n_practices) / ar->districts;
  if (ar->n_practices > 1 && tsr__rng_chance(r, 0.5)) k = (k + 1) % ar->n_practices;
  return ar->first_practice + k;
}

static void build_history(const tsr__gen_ctx *g, tsr__rng *r, tsr__gen_hh *h, const tsr__gen_addr *first) {
  h->n = 1;
  h->start[0] = INT32_MIN / 2;
  h->a[0] = *first;
  h->practice[0] = practice_for(g, first, r);
  if (first->communal != TSR__K_ORDINARY) return;
  uint32_t moves = tsr__rng_poisson(r, TSR__GEN_P(g, POP_MOVES));
  if (moves > TSR__GEN_MAX_EPOCHS - 1) moves = TSR__GEN_MAX_EPOCHS - 1;
  int32_t ps = g->o->period_start, pe = g->o->period_end;
  int32_t d[TSR__GEN_MAX_EPOCHS];
  for (uint32_t i = 0; i < moves; i++) d[i] = (int32_t)tsr__rng_range(r, ps, pe);
  for (uint32_t i = 1; i < moves; i++) /* insertion sort, n <= 7 */
    for (uint32_t j = i; j > 0 && d[j - 1] > d[j]; j--) {
      int32_t x = d[j];
      d[j] = d[j - 1];
      d[j - 1] = x;
    }
  for (uint32_t i = 0; i < moves; i++) {
    if (d[i] <= h->start[h->n - 1]) continue; /* two moves on one day: one move */
    uint8_t k = h->n;
    const tsr__gen_addr *prev = &h->a[k - 1];
    int local = tsr__rng_chance(r, TSR__GEN_P(g, POP_LOCAL_MOVE));
    uint16_t area = local ? prev->area : (uint16_t)tsr__alias_draw(&g->t->a_area, r);
    draw_addr_in_area(g, r, &h->a[k], area);
    h->start[k] = d[i];
    h->practice[k] = local && tsr__rng_chance(r, TSR__GEN_P(g, POP_KEEP_PRACTICE)) ? h->practice[k - 1]
                                                                                  : practice_for(g, &h->a[k], r);
    h->n++;
  }
#ifndef NDEBUG
  assert(h->n >= 1 && h->n <= TSR__GEN_MAX_EPOCHS);
  for (int e = 1; e < h->n; e++) assert(h->start[e - 1] < h->start[e]); /* epochs in date order */
#endif
}

/* --- households ---------------------------------------------------------------- */
static uint32_t draw_given(const tsr__gen_ctx *g, tsr__rng *r, uint8_t sex) {
  return tsr__alias_draw(sex == 1 ? &g->t->a_male : &g->t->a_female, r);
}

static void new_patient(const tsr__gen_ctx *g, tsr__gen_worker *w, uint64_t pid, uint16_t hh, uint8_t sex,
                        int32_t dob, uint32_t surname, uint8_t kind, tsr__rng *r) {
  assert(w->n_pat < TSR__GEN_CHUNK);
  tsr__gen_pat *p = &w->pat[w->n_pat++];
  memset(p, 0, sizeof *p);
  p->pid = pid;
  p->nhs = tsr__nhs_for_patient(g->o->seed, pid, g->o->patients);
  p->dob = dob;
  p->dob_swapped = tsr__dob_swap(dob);
  p->sex = sex;
  p->given = draw_given(g, r, sex);
  p->surname = p->maiden = surname;
  p->surname_change = TSR_DATE_MISSING;
  p->death = TSR_DATE_MISSING;
  p->hh = hh;
  p->kind = kind;
}

/* Siblings get distinct given names (a real family rarely repeats one). */
static void distinct_given(const tsr__gen_ctx *g, tsr__gen_worker *w, uint32_t first, tsr__rng *r) {
  tsr__gen_pat *p = &w->pat[w->n_pat - 1];
  for (int tries = 0; tries < 8; tries++) {
    int clash = 0;
    for (uint32_t i = first; i + 1 < w->n_pat; i++)
      if (w->pat[i].sex == p->sex && w->pat[i].given == p->given) clash = 1;
    if (!clash) return;
    p->given = draw_given(g, r, p->sex);
  }
}

/* Communal establishments form a pool shared by the whole run: establishment
 * e's kind and address come from its own counter, so residents placed in it
 * from different chunks share one postcode and address line, and a large
 * care home or prison builds up the way it does in real data. */
static uint8_t establishment_kind(const tsr__gen_ctx *g, uint32_t e, tsr__gen_addr *a) {
  tsr__rng r;
  tsr__rng_init(&r, g->o->seed, TSR__S_TABLES, ((uint64_t)1 << 40) + e);
  double u = tsr__rng_unit(&r);
  uint8_t kind = u < 0.6 ? TSR__K_CARE_HOME : u < 0.85 ? TSR__K_HALL : TSR__K_PRISON;
  if (a) {
    draw_addr_in_area(g, &r, a, (uint16_t)tsr__alias_draw(&g->t->a_area, &r));
    a->communal = kind;
    a->flat = 0;
    a->communal_idx = (uint16_t)tsr__rng_below(&r, kind == TSR__K_CARE_HOME ? g->t->n_care_homes
                                                   : kind == TSR__K_HALL    ? g->t->n_halls
                                                                            : g->t->n_prisons);
  }
  return kind;
}

void tsr__gen_communal_group(const tsr__gen_ctx *g, tsr__gen_worker *w, uint64_t first_pid, uint32_t size,
                             tsr__rng *r) {
  assert(w->n_hh < TSR__GEN_CHUNK);
  uint16_t hh = (uint16_t)w->n_hh++;
  uint32_t e = (uint32_t)tsr__rng_below(r, g->n_establishments);
  tsr__gen_addr home;
  uint8_t kind = establishment_kind(g, e, &home);
  for (uint32_t i = 0; i < size; i++) {
    uint8_t sex;
    int age;
    if (kind == TSR__K_CARE_HOME) {
      sex = tsr__rng_chance(r, 0.3) ? 1 : 2;
      age = (int)tsr__rng_range(r, 72, 101);
    } else if (kind == TSR__K_PRISON) {
      sex = tsr__rng_chance(r, 0.95) ? 1 : 2;
      age = (int)tsr__rng_range(r, 18, 65);
    } else {
      sex = tsr__rng_chance(r, 0.5) ? 1 : 2;
      age = (int)tsr__rng_range(r, 18, 23);
    }
    new_patient(g, w, first_pid + i, hh, sex, dob_for_age(g, age, r), tsr__alias_draw(&g->t->a_surname, r), kind,
                r);
  }
  w->n_communal += size;
  build_history(g, r, &w->hh[hh], &home);
}

void tsr__gen_household(const tsr__gen_ctx *g, tsr__gen_worker *w, uint64_t first_pid, uint32_t room, tsr__rng *r) {
  assert(w->n_hh < TSR__GEN_CHUNK);
  uint16_t hh = (uint16_t)w->n_hh++;
  uint32_t first = w->n_pat;
  tsr__gen_addr home;
  draw_addr_in_area(g, r, &home, (uint16_t)tsr__alias_draw(&g->t->a_area, r));
  w->n_households++;
  uint32_t size = draw_cdf(g->hh_cdf, 6, r) + 1;
  if (size > room) size = room;
  uint32_t family = tsr__alias_draw(&g->t->a_surname, r);
  uint8_t head_sex = tsr__rng_chance(r, TSR__GEN_P(g, POP_MALE)) ? 1 : 2;
  double kind_u = tsr__rng_unit(r);
  int couple = size >= 2 && (size == 2 ? kind_u < 0.55 : kind_u < 0.8);
  int flatmates = size == 2 && kind_u >= 0.85;
  int nkids = (int)size - 1 - couple;
  int head_age = nkids > 0 && !flatmates ? (int)tsr__rng_range(r, 22, 55) : draw_adult_age(g, r);
  new_patient(g, w, first_pid, hh, head_sex, dob_for_age(g, head_age, r), family, TSR__K_ORDINARY, r);
  if (couple) {
    uint8_t sex = tsr__rng_chance(r, 0.96) ? (uint8_t)(3 - head_sex) : head_sex;
    int age = head_age + (int)lround(tsr__rng_normal(r) * 3.0);
    if (age < 18) age = 18;
    int same_name = tsr__rng_chance(r, 0.75);
    uint32_t sn = same_name ? family : tsr__alias_draw(&g->t->a_surname, r);
    new_patient(g, w, first_pid + 1, hh, sex, dob_for_age(g, age, r), sn, TSR__K_ORDINARY, r);
    tsr__gen_pat *p = &w->pat[w->n_pat - 1];
    int age_end = tsr__gen_age_at(p->dob, g->o->period_end);
    /* a partner who shares the family name may have taken it during the
     * period: earlier records then carry the birth surname */
    if (same_name && sex == 2 && age_end >= 20 && age_end <= 45 &&
        tsr__rng_chance(r, TSR__GEN_P(g, POP_SURNAME_CHANGE))) {
      p->maiden = tsr__alias_draw(&g->t->a_surname, r);
      if (p->maiden != family) {
        int32_t lo = g->o->period_start, adult = p->dob + 18 * 365;
        if (adult > lo) lo = adult;
        p->surname_change = lo < g->o->period_end ? (int32_t)tsr__rng_range(r, lo, g->o->period_end) : lo;
      } else {
        p->maiden = family;
      }
    }
  } else if (flatmates) {
    new_patient(g, w, first_pid + 1, hh, tsr__rng_chance(r, TSR__GEN_P(g, POP_MALE)) ? 1 : 2,
                dob_for_age(g, draw_adult_age(g, r), r), tsr__alias_draw(&g->t->a_surname, r), TSR__K_ORDINARY, r);
    nkids = 0;
  }
  int max_child = head_age - 18 < 24 ? head_age - 18 : 24;
  if (max_child < 0) max_child = 0;
  for (int k = 0; k < nkids; k++) {
    uint64_t pid = first_pid + (w->n_pat - first);
    int age = (int)tsr__rng_range(r, 0, max_child);
    uint8_t sex = tsr__rng_chance(r, TSR__GEN_P(g, POP_MALE)) ? 1 : 2;
    int32_t dob = dob_for_age(g, age, r);
    new_patient(g, w, pid, hh, sex, dob, family, TSR__K_ORDINARY, r);
    distinct_given(g, w, first, r);
    if (k + 1 < nkids && tsr__rng_chance(r, TSR__GEN_P(g, POP_TWIN))) {
      /* twins: same birthday, surname and address; often the same sex */
      w->pat[w->n_pat - 1].twin = 1;
      uint8_t sex2 = tsr__rng_chance(r, 0.65) ? sex : (uint8_t)(3 - sex);
      new_patient(g, w, pid + 1, hh, sex2, dob, family, TSR__K_ORDINARY, r);
      distinct_given(g, w, first, r);
      w->pat[w->n_pat - 1].twin = 1;
      w->n_twins += 2;
      k++;
    }
  }
  build_history(g, r, &w->hh[hh], &home);
}

/* --- per-patient attributes drawn from the patient's own stream ----------------- */
void tsr__gen_patient_attrs(const tsr__gen_ctx *g, tsr__gen_pat *p) {
  tsr__rng r;
  tsr__rng_init(&r, g->o->seed, TSR__S_PATIENT, p->pid);
  p->type1 = (uint8_t)tsr__rng_chance(&r, TSR__GEN_P(g, OPT_TYPE1));
  p->ndoo = (uint8_t)tsr__rng_chance(&r, TSR__GEN_P(g, OPT_NDOO));
  p->regular = (uint8_t)(p->kind == TSR__K_ORDINARY && tsr__rng_chance(&r, TSR__GEN_P(g, POP_REGULAR)));
  /* first registration with the current practice chain */
  int32_t y1990 = tsr__days_from_ymd(1990, 1, 1);
  if (p->dob >= y1990)
    p->reg0 = p->dob + (int32_t)tsr__rng_range(&r, 7, 90);
  else
    p->reg0 = (int32_t)tsr__rng_range(&r, y1990, g->o->period_start - 1);
}
