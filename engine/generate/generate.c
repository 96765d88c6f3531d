/* Synthetic GP registrations and hospital episodes with ground truth.
 *
 * DESIGN
 *   patients are numbered 0..N-1 and cut into chunks of CHUNK patients.
 *   A chunk is a pure function of (seed, chunk index, parameters):
 *
 *     chunk c ──► households (family / twins / communal) ──► address history
 *            └──► patients ──► hospital history (CIPS > spells > episodes)
 *                          └──► GP registrations (one per practice period)
 *            rows are corrupted per row (own RNG stream), staged, shuffled
 *            within the chunk, then formatted with ids = c*10^6 + position
 *
 *   threads: #pragma omp for ordered over chunks; each thread fills its own
 *   buffers, and the ordered section appends them to the files in chunk
 *   order. So the bytes never depend on the thread count, and memory is
 *   a few chunks' worth whatever N is.
 *
 *   Every record is generated from the patient's true state "as at" the
 *   record's date (address epoch, surname before/after marriage), and then
 *   corrupted; each corruption is counted with the number of records that
 *   could have received it, so realised rates can be checked. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "common/buf.h"
#include "common/date.h"
#include "generate/gen_internal.h"

#define CHUNK 4096u
#define ID_STRIDE 1000000u /* ids are chunk * ID_STRIDE + position + 1 */
#define MAX_EPOCHS 8
#define MAX_CIPS 120
#define MAX_EPISODES_PER_PATIENT 200
#define NAME_CAP 96

/* --- population facts (docs/generator.md gives sources) -------------------- */
/* ONS mid-year estimates, England and Wales, % by 5-year band, 0-4 .. 90+. */
static const double k_age_band[19] = {5.6, 6.0, 6.0, 5.6, 6.0, 6.5, 6.8, 6.6, 6.3, 6.3,
                                      6.9, 6.8, 5.9, 5.1, 5.1, 3.7, 2.6, 1.6, 0.9};
/* ONS families and households: % of households by size 1..6. */
static const double k_hh_size[6] = {29.0, 35.0, 15.0, 13.0, 5.0, 3.0};
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

enum { K_ORDINARY = 0, K_CARE_HOME = 1, K_PRISON = 2, K_HALL = 3 };
static const char *const k_kind_name[4] = {"household", "care_home", "prison", "student_hall"};

typedef struct {
  uint16_t area;
  uint8_t district, sector;
  char unit[2];
  uint16_t street;
  uint16_t number;
  uint16_t flat;    /* 0 = not a flat */
  uint8_t communal; /* K_* */
  uint16_t communal_idx;
} addr_t;

typedef struct {
  uint8_t n;
  int32_t start[MAX_EPOCHS]; /* start[0] is "long ago" */
  addr_t a[MAX_EPOCHS];
  uint32_t practice[MAX_EPOCHS];
} hh_t;

typedef struct {
  uint64_t pid, nhs;
  int32_t dob, dob_swapped, surname_change, reg0, death;
  uint32_t given, surname, maiden;
  uint16_t hh;
  uint8_t sex, kind, twin, regular, type1, ndoo;
} pat_t;

/* Row staging: rows are formatted without their id, then emitted in a
 * shuffled order with the id in front. */
typedef struct {
  tsr__buf text;
  uint32_t *off; /* n+1 offsets */
  uint32_t *pat; /* patient index within the chunk */
  uint32_t *spell; /* HES only: spell index within the chunk */
  uint32_t n, cap;
} stage_t;

typedef struct {
  const tsr_gen_opts *o;
  const tsr__gen_tables *t;
  double age_cdf[19];
  double adult_cdf[19]; /* bands 18+ only (band 3 partially) */
  double hh_cdf[6];
  uint32_t n_establishments; /* communal establishment pool size */
  double cips_lambda; /* mean CIPS per patient before the age factor */
  double p_multi;     /* chance an ordinary (classpat 1) spell has several episodes */
  /* formatted dates for every day in [date_lo, date_hi]: formatting is the
   * hot path, and corrupted dates stay within 1900-2100 */
  int32_t date_lo, date_hi;
  char (*iso)[10];
  char (*uk)[10];
} gen_ctx;

typedef struct {
  pat_t pat[CHUNK];
  hh_t hh[CHUNK];
  uint32_t n_pat, n_hh;
  stage_t gp, hes;
  uint32_t *spell_first; /* first episode row of each spell */
  uint32_t *spell_cips;  /* CIPS (as its first spell) of each spell */
  uint32_t n_spells, cap_spells;
  uint32_t *perm, *pos, cap_perm;
  tsr__buf out_gp, out_hes, out_truth, out_spells, out_tpat, out_opt1, out_opt2;
  uint64_t file_off[7];
  uint64_t events[TSR_GEN_MAX_PARAMS], eligible[TSR_GEN_MAX_PARAMS];
  uint64_t n_gp, n_hes, n_spells_total, n_cips, n_households, n_communal, n_twins, n_opt1, n_opt2;
  int oom;
} worker_t;

#define P(ctx, id) ((ctx)->o->param[TSR__GP_##id])

/* The chunk's output buffers, in file order (F_GP ... F_OPT2). */
static tsr__buf *w_out(worker_t *w, int i) {
  tsr__buf *outs[7] = {&w->out_gp, &w->out_hes, &w->out_truth, &w->out_spells, &w->out_tpat, &w->out_opt1, &w->out_opt2};
  return outs[i];
}

/* Counts one chance at a corruption and draws whether it happens. */
static int corrupt(worker_t *w, const gen_ctx *g, tsr__rng *r, int id) {
  w->eligible[id]++;
  if (!tsr__rng_chance(r, g->o->param[id])) return 0;
  w->events[id]++;
  return 1;
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

static int draw_adult_age(const gen_ctx *g, tsr__rng *r) {
  int a;
  do a = draw_age(g->adult_cdf, r);
  while (a < 18);
  return a;
}

static int32_t dob_for_age(const gen_ctx *g, int age, tsr__rng *r) {
  /* born between (age+1) years and age years before the reference date */
  int32_t end = g->o->period_end;
  int32_t hi = end - (int32_t)(age * 365.2425), lo = hi - 364;
  int32_t d = (int32_t)tsr__rng_range(r, lo, hi);
  return d > end ? end : d;
}

static int age_at(int32_t dob, int32_t when) { return (int)((when - dob) / 365.2425); }

/* --- addresses --------------------------------------------------------------- */
static const char k_unit_letters[] = "ABDEFGHJLNPQRSTUWXYZ"; /* Royal Mail inward-code letters */

static void draw_addr_in_area(const gen_ctx *g, tsr__rng *r, addr_t *a, uint16_t area) {
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
  a->communal = K_ORDINARY;
  a->communal_idx = 0;
}

static uint32_t practice_for(const gen_ctx *g, const addr_t *a, tsr__rng *r) {
  const tsr__area *ar = &g->t->areas[a->area];
  /* practices are laid out along the districts; pick one of the two nearest */
  uint32_t k = ((uint32_t)(a->district - 1u) * ar->n_practices) / ar->districts;
  if (ar->n_practices > 1 && tsr__rng_chance(r, 0.5)) k = (k + 1) % ar->n_practices;
  return ar->first_practice + k;
}

static void build_history(const gen_ctx *g, tsr__rng *r, hh_t *h, const addr_t *first) {
  h->n = 1;
  h->start[0] = INT32_MIN / 2;
  h->a[0] = *first;
  h->practice[0] = practice_for(g, first, r);
  if (first->communal != K_ORDINARY) return;
  uint32_t moves = tsr__rng_poisson(r, P(g, POP_MOVES));
  if (moves > MAX_EPOCHS - 1) moves = MAX_EPOCHS - 1;
  int32_t ps = g->o->period_start, pe = g->o->period_end;
  int32_t d[MAX_EPOCHS];
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
    const addr_t *prev = &h->a[k - 1];
    int local = tsr__rng_chance(r, P(g, POP_LOCAL_MOVE));
    uint16_t area = local ? prev->area : (uint16_t)tsr__alias_draw(&g->t->a_area, r);
    draw_addr_in_area(g, r, &h->a[k], area);
    h->start[k] = d[i];
    h->practice[k] = local && tsr__rng_chance(r, P(g, POP_KEEP_PRACTICE)) ? h->practice[k - 1]
                                                                            : practice_for(g, &h->a[k], r);
    h->n++;
  }
}

static int epoch_at(const hh_t *h, int32_t day) {
  int e = 0;
  while (e + 1 < h->n && h->start[e + 1] <= day) e++;
  return e;
}

/* --- households ---------------------------------------------------------------- */
static uint32_t draw_given(const gen_ctx *g, tsr__rng *r, uint8_t sex) {
  return tsr__alias_draw(sex == 1 ? &g->t->a_male : &g->t->a_female, r);
}

static void new_patient(const gen_ctx *g, worker_t *w, uint64_t pid, uint16_t hh, uint8_t sex, int32_t dob,
                        uint32_t surname, uint8_t kind, tsr__rng *r) {
  pat_t *p = &w->pat[w->n_pat++];
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
static void distinct_given(const gen_ctx *g, worker_t *w, uint32_t first, tsr__rng *r) {
  pat_t *p = &w->pat[w->n_pat - 1];
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
static uint8_t establishment_kind(const gen_ctx *g, uint32_t e, addr_t *a) {
  tsr__rng r;
  tsr__rng_init(&r, g->o->seed, TSR__S_TABLES, ((uint64_t)1 << 40) + e);
  double u = tsr__rng_unit(&r);
  uint8_t kind = u < 0.6 ? K_CARE_HOME : u < 0.85 ? K_HALL : K_PRISON;
  if (a) {
    draw_addr_in_area(g, &r, a, (uint16_t)tsr__alias_draw(&g->t->a_area, &r));
    a->communal = kind;
    a->flat = 0;
    a->communal_idx = (uint16_t)tsr__rng_below(&r, kind == K_CARE_HOME ? g->t->n_care_homes
                                                   : kind == K_HALL    ? g->t->n_halls
                                                                       : g->t->n_prisons);
  }
  return kind;
}

static void make_communal_group(const gen_ctx *g, worker_t *w, uint64_t first_pid, uint32_t size, tsr__rng *r) {
  uint16_t hh = (uint16_t)w->n_hh++;
  uint32_t e = (uint32_t)tsr__rng_below(r, g->n_establishments);
  addr_t home;
  uint8_t kind = establishment_kind(g, e, &home);
  for (uint32_t i = 0; i < size; i++) {
    uint8_t sex;
    int age;
    if (kind == K_CARE_HOME) {
      sex = tsr__rng_chance(r, 0.3) ? 1 : 2;
      age = (int)tsr__rng_range(r, 72, 101);
    } else if (kind == K_PRISON) {
      sex = tsr__rng_chance(r, 0.95) ? 1 : 2;
      age = (int)tsr__rng_range(r, 18, 65);
    } else {
      sex = tsr__rng_chance(r, 0.5) ? 1 : 2;
      age = (int)tsr__rng_range(r, 18, 23);
    }
    new_patient(g, w, first_pid + i, hh, sex, dob_for_age(g, age, r), tsr__alias_draw(&g->t->a_surname, r), kind, r);
  }
  w->n_communal += size;
  build_history(g, r, &w->hh[hh], &home);
}

static void make_household(const gen_ctx *g, worker_t *w, uint64_t first_pid, uint32_t room, tsr__rng *r) {
  uint16_t hh = (uint16_t)w->n_hh++;
  uint32_t first = w->n_pat;
  addr_t home;
  draw_addr_in_area(g, r, &home, (uint16_t)tsr__alias_draw(&g->t->a_area, r));
  w->n_households++;
  uint32_t size = draw_cdf(g->hh_cdf, 6, r) + 1;
  if (size > room) size = room;
  uint32_t family = tsr__alias_draw(&g->t->a_surname, r);
  uint8_t head_sex = tsr__rng_chance(r, P(g, POP_MALE)) ? 1 : 2;
  double kind_u = tsr__rng_unit(r);
  int couple = size >= 2 && (size == 2 ? kind_u < 0.55 : kind_u < 0.8);
  int flatmates = size == 2 && kind_u >= 0.85;
  int nkids = (int)size - 1 - couple;
  int head_age = nkids > 0 && !flatmates ? (int)tsr__rng_range(r, 22, 55) : draw_adult_age(g, r);
  new_patient(g, w, first_pid, hh, head_sex, dob_for_age(g, head_age, r), family, K_ORDINARY, r);
  if (couple) {
    uint8_t sex = tsr__rng_chance(r, 0.96) ? (uint8_t)(3 - head_sex) : head_sex;
    int age = head_age + (int)lround(tsr__rng_normal(r) * 3.0);
    if (age < 18) age = 18;
    int same_name = tsr__rng_chance(r, 0.75);
    uint32_t sn = same_name ? family : tsr__alias_draw(&g->t->a_surname, r);
    new_patient(g, w, first_pid + 1, hh, sex, dob_for_age(g, age, r), sn, K_ORDINARY, r);
    pat_t *p = &w->pat[w->n_pat - 1];
    int age_end = age_at(p->dob, g->o->period_end);
    /* a partner who shares the family name may have taken it during the
     * period: earlier records then carry the birth surname */
    if (same_name && sex == 2 && age_end >= 20 && age_end <= 45 && tsr__rng_chance(r, P(g, POP_SURNAME_CHANGE))) {
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
    new_patient(g, w, first_pid + 1, hh, tsr__rng_chance(r, P(g, POP_MALE)) ? 1 : 2,
                dob_for_age(g, draw_adult_age(g, r), r), tsr__alias_draw(&g->t->a_surname, r), K_ORDINARY, r);
    nkids = 0;
  }
  int max_child = head_age - 18 < 24 ? head_age - 18 : 24;
  if (max_child < 0) max_child = 0;
  for (int k = 0; k < nkids; k++) {
    uint64_t pid = first_pid + (w->n_pat - first);
    int age = (int)tsr__rng_range(r, 0, max_child);
    uint8_t sex = tsr__rng_chance(r, P(g, POP_MALE)) ? 1 : 2;
    int32_t dob = dob_for_age(g, age, r);
    new_patient(g, w, pid, hh, sex, dob, family, K_ORDINARY, r);
    distinct_given(g, w, first, r);
    if (k + 1 < nkids && tsr__rng_chance(r, P(g, POP_TWIN))) {
      /* twins: same birthday, surname and address; often the same sex */
      w->pat[w->n_pat - 1].twin = 1;
      uint8_t sex2 = tsr__rng_chance(r, 0.65) ? sex : (uint8_t)(3 - sex);
      new_patient(g, w, pid + 1, hh, sex2, dob, family, K_ORDINARY, r);
      distinct_given(g, w, first, r);
      w->pat[w->n_pat - 1].twin = 1;
      w->n_twins += 2;
      k++;
    }
  }
  build_history(g, r, &w->hh[hh], &home);
}

/* --- per-patient attributes drawn from the patient's own stream ----------------- */
static void patient_attrs(const gen_ctx *g, pat_t *p) {
  tsr__rng r;
  tsr__rng_init(&r, g->o->seed, TSR__S_PATIENT, p->pid);
  p->type1 = (uint8_t)tsr__rng_chance(&r, P(g, OPT_TYPE1));
  p->ndoo = (uint8_t)tsr__rng_chance(&r, P(g, OPT_NDOO));
  p->regular = (uint8_t)(p->kind == K_ORDINARY && tsr__rng_chance(&r, P(g, POP_REGULAR)));
  /* first registration with the current practice chain */
  int32_t y1990 = tsr__days_from_ymd(1990, 1, 1);
  if (p->dob >= y1990)
    p->reg0 = p->dob + (int32_t)tsr__rng_range(&r, 7, 90);
  else
    p->reg0 = (int32_t)tsr__rng_range(&r, y1990, g->o->period_start - 1);
}

/* --- formatting helpers --------------------------------------------------------------- */
/* "YYYY-MM-DD" (iso) or "DD/MM/YYYY" into out (11 bytes, NUL-terminated). */
static void fmt_date(int32_t days, int uk, char *out) {
  int y, m, d;
  tsr__ymd_from_days(days, &y, &m, &d);
  if (uk)
    snprintf(out, 11, "%02u/%02u/%04u", (unsigned)d % 100u, (unsigned)m % 100u, (unsigned)y % 10000u);
  else
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
}

/* Dates are the hot path of formatting: looked up in the run's table. */
static void put_date(const gen_ctx *g, tsr__buf *b, int32_t days, int uk) {
  if (days == TSR_DATE_MISSING) return;
  if (days >= g->date_lo && days <= g->date_hi) {
    tsr__buf_put(b, (uk ? g->uk : g->iso)[days - g->date_lo], 10);
    return;
  }
  char t[11];
  fmt_date(days, uk, t);
  tsr__buf_put(b, t, 10);
}
#define put_date_iso(g, b, days) put_date(g, b, days, 0)
#define put_date_uk(g, b, days) put_date(g, b, days, 1)

static void put_nhs(tsr__buf *b, uint64_t nhs, int spaced) {
  char d[10];
  for (int i = 9; i >= 0; i--) {
    d[i] = (char)('0' + nhs % 10u);
    nhs /= 10u;
  }
  if (!spaced) {
    tsr__buf_put(b, d, 10);
    return;
  }
  tsr__buf_put(b, d, 3);
  tsr__buf_putc(b, ' ');
  tsr__buf_put(b, d + 3, 3);
  tsr__buf_putc(b, ' ');
  tsr__buf_put(b, d + 6, 4);
}

/* Postcode text into out (>= 9 bytes); returns its length. */
static uint32_t fmt_postcode(const gen_ctx *g, const addr_t *a, char *out, int nospace) {
  const tsr__area *ar = &g->t->areas[a->area];
  uint32_t n = 0;
  memcpy(out, ar->code, ar->code_len);
  n = ar->code_len;
  if (a->district >= 10) out[n++] = (char)('0' + a->district / 10);
  out[n++] = (char)('0' + a->district % 10);
  if (!nospace) out[n++] = ' ';
  out[n++] = (char)('0' + a->sector);
  out[n++] = a->unit[0];
  out[n++] = a->unit[1];
  return n;
}

static void lower_ascii(char *s, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] + 32);
}

static void upper_ascii_if_ascii(char *s, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if ((unsigned char)s[i] >= 0x80) return; /* leave non-ASCII names as written */
  for (uint32_t i = 0; i < n; i++)
    if (s[i] >= 'a' && s[i] <= 'z') s[i] = (char)(s[i] - 32);
}

/* Observed demographics of one record, after corruption. */
typedef struct {
  uint64_t nhs; /* 0 = missing */
  int nhs_spaced;
  char given[NAME_CAP], family[NAME_CAP];
  uint32_t given_len, family_len;
  int32_t dob;
  uint8_t sex; /* 1, 2, 0 = not known, 9 = not specified */
  char postcode[12];
  uint32_t postcode_len;
  const addr_t *addr; /* true address as recorded (may be stale) */
} demog_t;

enum { SRC_GP = 0, SRC_HES = 1 };

static void name_copy(char *dst, uint32_t *len, const char *s, size_t n) {
  if (n > NAME_CAP - 2) n = NAME_CAP - 2;
  memcpy(dst, s, n);
  dst[n] = '\0';
  *len = (uint32_t)n;
}

static void observe(const gen_ctx *g, worker_t *w, const pat_t *p, int32_t when, int src, int named, tsr__rng *r,
                    demog_t *o) {
  const tsr__gen_tables *t = g->t;
  const hh_t *h = &w->hh[p->hh];
  /* NHS number */
  o->nhs = p->nhs;
  o->nhs_spaced = 0;
  if (corrupt(w, g, r, src == SRC_GP ? TSR__GP_E_GP_NHS_MISSING : TSR__GP_E_HES_NHS_MISSING)) {
    o->nhs = 0;
  } else {
    if (corrupt(w, g, r, src == SRC_GP ? TSR__GP_E_GP_NHS_INVALID : TSR__GP_E_HES_NHS_INVALID))
      o->nhs = tsr__nhs_mistype(o->nhs, r);
    o->nhs_spaced = tsr__rng_chance(r, P(g, F_NHS_SPACED));
  }
  /* names */
  o->given_len = o->family_len = 0;
  o->given[0] = o->family[0] = '\0';
  if (named) {
    int lower = tsr__rng_chance(r, P(g, F_LOWERCASE));
    const tsr__name *gn = &(p->sex == 1 ? t->male : t->female)[p->given];
    if (!corrupt(w, g, r, TSR__GP_E_GIVEN_MISSING)) {
      const char *s = gn->s;
      if (gn->nick_count > 0 && corrupt(w, g, r, TSR__GP_E_NICKNAME))
        s = t->nicks[gn->nick_first + (int)tsr__rng_below(r, gn->nick_count)];
      name_copy(o->given, &o->given_len, s, s == gn->s ? gn->len : strlen(s));
      if (corrupt(w, g, r, src == SRC_GP ? TSR__GP_E_GP_TYPO : TSR__GP_E_HES_TYPO))
        tsr__typo_any(o->given, &o->given_len, NAME_CAP, r);
      if (src == SRC_HES) upper_ascii_if_ascii(o->given, o->given_len);
      if (lower) lower_ascii(o->given, o->given_len);
    }
    if (!corrupt(w, g, r, TSR__GP_E_FAMILY_MISSING)) {
      uint32_t sn = p->surname;
      if (p->surname_change != TSR_DATE_MISSING) {
        if (when < p->surname_change)
          sn = p->maiden;
        else if (corrupt(w, g, r, TSR__GP_E_STALE_SURNAME))
          sn = p->maiden;
      }
      name_copy(o->family, &o->family_len, t->surnames[sn].s, t->surnames[sn].len);
      if (corrupt(w, g, r, src == SRC_GP ? TSR__GP_E_GP_TYPO : TSR__GP_E_HES_TYPO))
        tsr__typo_any(o->family, &o->family_len, NAME_CAP, r);
      if (src == SRC_HES) upper_ascii_if_ascii(o->family, o->family_len);
      if (lower) lower_ascii(o->family, o->family_len);
    }
  }
  /* date of birth: one error class at most */
  o->dob = p->dob;
  if (corrupt(w, g, r, TSR__GP_E_DOB_MISSING))
    o->dob = TSR_DATE_MISSING;
  else if (corrupt(w, g, r, TSR__GP_E_DOB_JAN1))
    o->dob = tsr__dob_jan1(p->dob);
  else if (p->dob_swapped != p->dob && corrupt(w, g, r, TSR__GP_E_DOB_SWAP))
    o->dob = p->dob_swapped;
  else if (corrupt(w, g, r, TSR__GP_E_DOB_DIGIT))
    o->dob = tsr__dob_digit(p->dob, r);
  /* sex */
  o->sex = p->sex;
  if (corrupt(w, g, r, TSR__GP_E_SEX_UNKNOWN)) o->sex = tsr__rng_chance(r, 0.5) ? 0 : 9;
  /* address as at the record's date; a recent move may not have reached it */
  int e = epoch_at(h, when);
  if (e > 0 && when - h->start[e] < 365 && corrupt(w, g, r, TSR__GP_E_STALE_POSTCODE)) e--;
  o->addr = &h->a[e];
  o->postcode_len = 0;
  if (corrupt(w, g, r, src == SRC_GP ? TSR__GP_E_GP_POSTCODE_MISSING : TSR__GP_E_HES_POSTCODE_MISSING)) {
    o->addr = NULL;
  } else if (src == SRC_HES && corrupt(w, g, r, TSR__GP_E_HES_ZZ99)) {
    static const char *const zz[3] = {"ZZ99 3VZ", "ZZ99 3WZ", "ZZ99 3CZ"};
    const char *z = zz[tsr__rng_below(r, 3)];
    memcpy(o->postcode, z, 8);
    o->postcode_len = 8;
    o->addr = NULL;
  } else {
    o->postcode_len = fmt_postcode(g, o->addr, o->postcode, tsr__rng_chance(r, P(g, F_POSTCODE_NOSPACE)));
    if (tsr__rng_chance(r, P(g, F_LOWERCASE))) lower_ascii(o->postcode, o->postcode_len);
  }
}

/* --- staging ------------------------------------------------------------------------- */
/* Resizes *p to n entries; 0, or -1 with *p unchanged. */
static int resize_u32(uint32_t **p, size_t n) {
  uint32_t *q = tsr__realloc(*p, sizeof **p * n);
  if (!q) return -1;
  *p = q;
  return 0;
}

static int stage_begin_row(stage_t *s, uint32_t pat, uint32_t spell) {
  if (s->n + 1 >= s->cap) {
    uint32_t cap = s->cap ? s->cap * 2 : 16384;
    if (resize_u32(&s->off, (size_t)cap + 1) || resize_u32(&s->pat, cap) || resize_u32(&s->spell, cap)) return -1;
    s->cap = cap;
  }
  s->off[s->n] = (uint32_t)s->text.len;
  s->pat[s->n] = pat;
  s->spell[s->n] = spell;
  return 0;
}

static void stage_end_row(stage_t *s) {
  s->n++;
  s->off[s->n] = (uint32_t)s->text.len;
}

static void stage_reset(stage_t *s) {
  s->n = 0;
  s->text.len = 0;
  if (s->off) s->off[0] = 0;
}

static void put_name_field(tsr__buf *b, const char *s, uint32_t n) { tsr__buf_put(b, s, n); }

static void put_address(const gen_ctx *g, tsr__buf *b, const addr_t *a) {
  if (!a) return;
  if (a->communal != K_ORDINARY) {
    const char *nm = a->communal == K_CARE_HOME ? g->t->care_homes[a->communal_idx]
                     : a->communal == K_HALL    ? g->t->halls[a->communal_idx]
                                                : g->t->prisons[a->communal_idx];
    tsr__buf_puts(b, nm);
    return;
  }
  if (a->flat) {
    /* "Flat 3, 12 High Street" needs quoting: a real RFC 4180 case */
    tsr__buf_puts(b, "\"Flat ");
    tsr__buf_u64(b, a->flat);
    tsr__buf_puts(b, ", ");
    tsr__buf_u64(b, a->number);
    tsr__buf_putc(b, ' ');
    tsr__buf_puts(b, g->t->streets[a->street]);
    tsr__buf_putc(b, '"');
    return;
  }
  tsr__buf_u64(b, a->number);
  tsr__buf_putc(b, ' ');
  tsr__buf_puts(b, g->t->streets[a->street]);
}

/* --- GP registrations ------------------------------------------------------------------ */
static void gp_rows(const gen_ctx *g, worker_t *w, uint32_t pi) {
  const pat_t *p = &w->pat[pi];
  const hh_t *h = &w->hh[p->hh];
  tsr__rng r;
  tsr__rng_init(&r, g->o->seed, TSR__S_GPROW, p->pid);
  /* registration periods: a new one starts at each epoch whose practice
   * differs; epochs before the first registration are skipped */
  int e0 = epoch_at(h, p->reg0);
  int32_t reg = p->reg0;
  for (int e = e0; e < h->n;) {
    int f = e + 1;
    while (f < h->n && h->practice[f] == h->practice[e]) f++;
    int32_t dereg = TSR_DATE_MISSING;
    int32_t next_reg = TSR_DATE_MISSING;
    if (f < h->n) {
      next_reg = h->start[f] + (int32_t)tsr__rng_range(&r, 0, 45);
      if (next_reg <= reg) next_reg = reg + 1;
      if (next_reg > g->o->period_end) {
        /* moved, but not yet registered elsewhere by the extract date:
         * still on this practice's list */
        next_reg = TSR_DATE_MISSING;
        f = h->n;
      } else {
        dereg = next_reg;
      }
    }
    if (p->death != TSR_DATE_MISSING && (dereg == TSR_DATE_MISSING || dereg > p->death)) {
      dereg = p->death + (int32_t)tsr__rng_range(&r, 1, 30);
      if (dereg > g->o->period_end) dereg = TSR_DATE_MISSING; /* the death has not reached the list yet */
      f = h->n; /* no later registrations */
    }
    int32_t as_at = dereg != TSR_DATE_MISSING ? dereg - 1 : g->o->period_end;
    demog_t o;
    observe(g, w, p, as_at, SRC_GP, 1, &r, &o);
    stage_t *s = &w->gp;
    if (stage_begin_row(s, pi, 0)) {
      w->oom = 1;
      return;
    }
    tsr__buf *b = &s->text;
    tsr__buf_putc(b, ',');
    if (o.nhs) put_nhs(b, o.nhs, o.nhs_spaced);
    tsr__buf_putc(b, ',');
    put_name_field(b, o.given, o.given_len);
    tsr__buf_putc(b, ',');
    put_name_field(b, o.family, o.family_len);
    tsr__buf_putc(b, ',');
    put_date_uk(g, b, o.dob);
    tsr__buf_putc(b, ',');
    if (o.sex == 1 || o.sex == 2) tsr__buf_putc(b, o.sex == 1 ? 'M' : 'F');
    else if (o.sex == 9) tsr__buf_putc(b, 'U'); /* not known (0) is left empty */
    tsr__buf_putc(b, ',');
    tsr__buf_put(b, o.postcode, o.postcode_len);
    tsr__buf_putc(b, ',');
    /* the street address goes with the postcode recorded; a missing postcode
     * keeps the true street line */
    put_address(g, b, o.addr ? o.addr : &h->a[epoch_at(h, as_at)]);
    tsr__buf_putc(b, ',');
    tsr__buf_put(b, g->t->practice_code[h->practice[e]], 6);
    tsr__buf_putc(b, ',');
    put_date_uk(g, b, reg);
    tsr__buf_putc(b, ',');
    put_date_uk(g, b, dereg);
    tsr__buf_putc(b, '\n');
    stage_end_row(s);
    if (dereg == TSR_DATE_MISSING || f >= h->n) break;
    reg = next_reg;
    e = f;
  }
}

/* --- hospital episodes ------------------------------------------------------------------ */
typedef struct {
  int32_t admi, disch;
  uint32_t provider;
  uint8_t classpat, n_eps, transfer_out, transfer_in, died;
  const char *admimeth;
  uint8_t admisorc, disdest;
} spell_plan;

static uint32_t local_provider(const gen_ctx *g, const addr_t *a, tsr__rng *r) {
  const tsr__area *ar = &g->t->areas[a->area];
  return ar->first_provider + (uint32_t)tsr__rng_below(r, ar->n_providers);
}

static int spell_add(worker_t *w, uint32_t first_row, uint32_t cips_first) {
  if (w->n_spells == w->cap_spells) {
    uint32_t cap = w->cap_spells ? w->cap_spells * 2 : 16384;
    if (resize_u32(&w->spell_first, cap) || resize_u32(&w->spell_cips, cap)) return -1;
    w->cap_spells = cap;
  }
  w->spell_first[w->n_spells] = first_row;
  w->spell_cips[w->n_spells] = cips_first;
  w->n_spells++;
  return 0;
}

static void emit_spell(const gen_ctx *g, worker_t *w, uint32_t pi, const spell_plan *sp, uint32_t cips_first,
                       uint64_t *lopatid_key, tsr__rng *r, int *n_eps_left) {
  const pat_t *p = &w->pat[pi];
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
    demog_t o;
    observe(g, w, p, bound[k], SRC_HES, named, r, &o);
    int32_t admidate = sp->admi;
    if (k > 0 && corrupt(w, g, r, TSR__GP_E_ADMIDATE)) admidate += (int32_t)tsr__rng_range(r, 1, 30);
    int lopatid_missing = corrupt(w, g, r, TSR__GP_E_LOPATID_MISSING);
    stage_t *s = &w->hes;
    if (stage_begin_row(s, pi, spell)) {
      w->oom = 1;
      return;
    }
    tsr__buf *b = &s->text;
    tsr__buf_putc(b, ',');
    if (o.nhs) put_nhs(b, o.nhs, o.nhs_spaced);
    tsr__buf_putc(b, ',');
    put_date_iso(g, b, o.dob);
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
    put_date_iso(g, b, admidate);
    tsr__buf_putc(b, ',');
    put_date_iso(g, b, bound[k]);
    tsr__buf_putc(b, ',');
    put_date_iso(g, b, bound[k + 1]);
    tsr__buf_putc(b, ',');
    if (last) put_date_iso(g, b, sp->disch);
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
    const tsr__code *dx = sp->classpat == 3 ? &g->t->icd[g->t->icd_chemo] : &g->t->icd[tsr__alias_draw(&g->t->a_icd, r)];
    tsr__buf_put(b, dx->s, dx->len);
    tsr__buf_putc(b, ',');
    if (sp->classpat == 2 || tsr__rng_chance(r, 0.45)) {
      const tsr__code *op = &g->t->opcs[tsr__alias_draw(&g->t->a_opcs, r)];
      tsr__buf_put(b, op->s, op->len);
    } else {
      tsr__buf_putc(b, '-');
    }
    tsr__buf_putc(b, ',');
    if (named) put_name_field(b, o.given, o.given_len);
    tsr__buf_putc(b, ',');
    if (named) put_name_field(b, o.family, o.family_len);
    tsr__buf_putc(b, '\n');
    stage_end_row(s);
  }
  w->n_spells_total++;
}

static int32_t draw_los(const gen_ctx *g, tsr__rng *r, int emergency, int age) {
  (void)g;
  double mean = emergency ? 3.0 + age / 15.0 : 2.5;
  return (int32_t)(-mean * log(1.0 - tsr__rng_unit(r) * 0.999));
}

static const char *draw_admimeth(tsr__rng *r, int emergency, const pat_t *p, int32_t when, int *maternity) {
  *maternity = 0;
  if (emergency) {
    static const char *const em[] = {"21", "21", "21", "21", "21", "22", "23", "24", "28", "2A", "2D"};
    return em[tsr__rng_below(r, sizeof em / sizeof em[0])];
  }
  int age = age_at(p->dob, when);
  if (p->sex == 2 && age >= 18 && age <= 44 && tsr__rng_chance(r, 0.15)) {
    *maternity = 1;
    return tsr__rng_chance(r, 0.5) ? "31" : "32";
  }
  static const char *const el[] = {"11", "11", "12", "13"};
  return el[tsr__rng_below(r, 4)];
}

static void hes_rows(const gen_ctx *g, worker_t *w, uint32_t pi) {
  pat_t *p = &w->pat[pi];
  const hh_t *h = &w->hh[p->hh];
  tsr__rng r;
  tsr__rng_init(&r, g->o->seed, TSR__S_HESPLAN, p->pid);
  int32_t start = p->dob > g->o->period_start ? p->dob : g->o->period_start;
  int32_t end = g->o->period_end;
  if (start > end) return;
  int age_mid = age_at(p->dob, start + (end - start) / 2);
  double exposure = (double)(end - start + 1) / (double)(end - g->o->period_start + 1);
  int eps_left = MAX_EPISODES_PER_PATIENT;
  uint64_t lopatid = 0;
  if (p->regular) {
    /* a course of regular day admissions (chemotherapy, dialysis ...) */
    int n = (int)tsr__rng_range(&r, 12, 60);
    int32_t d = (int32_t)tsr__rng_range(&r, start, end);
    uint32_t prov = local_provider(g, &h->a[epoch_at(h, d)], &r);
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
      g->cips_lambda * age_factor(age_mid) * exposure * tsr__rng_gamma(&r, P(g, HES_SHAPE)) / P(g, HES_SHAPE);
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
    int age = age_at(p->dob, admi);
    const addr_t *home = &h->a[epoch_at(h, admi)];
    int emergency = tsr__rng_chance(&r, P(g, HES_EMERGENCY));
    int maternity;
    spell_plan sp;
    memset(&sp, 0, sizeof sp);
    sp.admi = admi;
    sp.admimeth = draw_admimeth(&r, emergency, p, admi, &maternity);
    sp.provider = tsr__rng_chance(&r, P(g, HES_OOA)) ? (uint32_t)tsr__rng_below(&r, g->t->n_providers)
                                                     : local_provider(g, home, &r);
    sp.classpat = (!emergency && !maternity && tsr__rng_chance(&r, P(g, HES_DAYCASE))) ? 2 : 1;
    int32_t los = sp.classpat == 2 ? 0 : draw_los(g, &r, emergency, age);
    sp.disch = admi + los;
    sp.admisorc = home->communal == K_CARE_HOME ? 54 : home->communal == K_PRISON ? 39 : 19;
    sp.disdest = sp.admisorc;
    sp.n_eps = 1;
    if (sp.classpat == 1 && tsr__rng_chance(&r, g->p_multi)) sp.n_eps = (uint8_t)(2 + tsr__rng_poisson(&r, 0.5));
    if (sp.n_eps > 8) sp.n_eps = 8;
    sp.transfer_out = (uint8_t)(sp.classpat == 1 && tsr__rng_chance(&r, P(g, HES_TRANSFER)) && g->t->n_providers > 1);
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
      tp.disdest = (uint8_t)(home->communal == K_CARE_HOME ? 54 : 19);
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

/* --- one chunk ---------------------------------------------------------------------- */
static void put_truth_patient(const gen_ctx *g, worker_t *w, const pat_t *p, uint64_t hh_id) {
  tsr__buf *b = &w->out_tpat;
  const tsr__gen_tables *t = g->t;
  tsr__buf_u64(b, p->pid + 1);
  tsr__buf_putc(b, ',');
  put_nhs(b, p->nhs, 0);
  tsr__buf_putc(b, ',');
  tsr__buf_puts(b, (p->sex == 1 ? t->male : t->female)[p->given].s);
  tsr__buf_putc(b, ',');
  tsr__buf_puts(b, t->surnames[p->maiden].s);
  tsr__buf_putc(b, ',');
  if (p->surname_change != TSR_DATE_MISSING) tsr__buf_puts(b, t->surnames[p->surname].s);
  tsr__buf_putc(b, ',');
  put_date_iso(g, b, p->surname_change);
  tsr__buf_putc(b, ',');
  put_date_iso(g, b, p->dob);
  tsr__buf_putc(b, ',');
  tsr__buf_putc(b, (char)('0' + p->sex));
  tsr__buf_putc(b, ',');
  tsr__buf_u64(b, hh_id);
  tsr__buf_putc(b, ',');
  tsr__buf_puts(b, k_kind_name[p->kind]);
  tsr__buf_putc(b, ',');
  tsr__buf_putc(b, (char)('0' + p->twin));
  tsr__buf_putc(b, ',');
  tsr__buf_putc(b, (char)('0' + p->type1));
  tsr__buf_putc(b, ',');
  tsr__buf_putc(b, (char)('0' + p->ndoo));
  tsr__buf_putc(b, ',');
  put_date_iso(g, b, p->death);
  tsr__buf_putc(b, '\n');
}

/* Writes the staged rows of s in a shuffled order with ids in front; returns
 * the position of each staged row in w->pos. */
static void emit_shuffled(const gen_ctx *g, worker_t *w, stage_t *s, uint64_t chunk, uint64_t stream_tag,
                          tsr__buf *out, const char *src) {
  if (s->n > w->cap_perm) {
    uint32_t cap = s->n * 2;
    if (resize_u32(&w->perm, cap) || resize_u32(&w->pos, cap)) {
      w->oom = 1;
      return;
    }
    w->cap_perm = cap;
  }
  for (uint32_t i = 0; i < s->n; i++) w->perm[i] = i;
  tsr__rng r;
  tsr__rng_init(&r, g->o->seed, TSR__S_SHUFFLE, (chunk << 1) | stream_tag);
  for (uint32_t i = s->n; i > 1; i--) {
    uint32_t j = (uint32_t)tsr__rng_below(&r, i);
    uint32_t x = w->perm[i - 1];
    w->perm[i - 1] = w->perm[j];
    w->perm[j] = x;
  }
  /* one reservation, then unchecked copies: this loop touches every row */
  size_t src_len = strlen(src);
  if (tsr__buf_reserve(out, s->text.len + (size_t)s->n * 24u) ||
      tsr__buf_reserve(&w->out_truth, (size_t)s->n * (src_len + 48u))) {
    w->oom = 1;
    return;
  }
  char *op = out->p + out->len, *tp = w->out_truth.p + w->out_truth.len;
  for (uint32_t k = 0; k < s->n; k++) {
    uint32_t i = w->perm[k];
    w->pos[i] = k;
    char id[24];
    size_t idn = tsr__fmt_u64(id, chunk * ID_STRIDE + k + 1);
    memcpy(op, id, idn);
    op += idn;
    uint32_t rl = s->off[i + 1] - s->off[i];
    memcpy(op, s->text.p + s->off[i], rl);
    op += rl;
    memcpy(tp, src, src_len);
    tp += src_len;
    memcpy(tp, id, idn);
    tp += idn;
    *tp++ = ',';
    tp += tsr__fmt_u64(tp, w->pat[s->pat[i]].pid + 1);
    *tp++ = '\n';
  }
  out->len = (size_t)(op - out->p);
  w->out_truth.len = (size_t)(tp - w->out_truth.p);
}

static void gen_chunk(const gen_ctx *g, worker_t *w, uint64_t c) {
  uint64_t first = c * CHUNK, end = first + CHUNK;
  if (end > g->o->patients) end = g->o->patients;
  w->n_pat = w->n_hh = w->n_spells = 0;
  stage_reset(&w->gp);
  stage_reset(&w->hes);
  tsr__buf *outs[7] = {&w->out_gp, &w->out_hes, &w->out_truth, &w->out_spells, &w->out_tpat, &w->out_opt1, &w->out_opt2};
  for (int i = 0; i < 7; i++) outs[i]->len = 0;

  tsr__rng r;
  tsr__rng_init(&r, g->o->seed, TSR__S_CHUNK, c);
  /* the chunk's quota of communal residents (randomised rounding keeps the
   * share exact on average), in groups placed in pool establishments */
  double want = P(g, POP_COMMUNAL) * (double)(end - first);
  uint32_t quota = (uint32_t)want + (tsr__rng_unit(&r) < want - floor(want) ? 1u : 0u);
  while (w->n_pat < quota) {
    uint32_t size = (uint32_t)tsr__rng_range(&r, 5, 40);
    if (size > quota - w->n_pat) size = quota - w->n_pat;
    make_communal_group(g, w, first + w->n_pat, size, &r);
  }
  while (first + w->n_pat < end) make_household(g, w, first + w->n_pat, (uint32_t)(end - first - w->n_pat), &r);
  for (uint32_t i = 0; i < w->n_pat; i++) {
    pat_t *p = &w->pat[i];
    patient_attrs(g, p);
    hes_rows(g, w, i); /* first: an in-hospital death ends the GP registration */
    gp_rows(g, w, i);
    put_truth_patient(g, w, p, c * CHUNK + p->hh + 1);
    if (p->type1) {
      put_nhs(&w->out_opt1, p->nhs, 0);
      tsr__buf_putc(&w->out_opt1, '\n');
      w->n_opt1++;
    }
    if (p->ndoo) {
      put_nhs(&w->out_opt2, p->nhs, 0);
      tsr__buf_putc(&w->out_opt2, '\n');
      w->n_opt2++;
    }
  }
  if (w->oom) return;
  emit_shuffled(g, w, &w->gp, c, 0, &w->out_gp, "gp,");
  emit_shuffled(g, w, &w->hes, c, 1, &w->out_hes, "hes,");
  if (w->oom) return;
  /* spells: spell_id is the epikey of the spell's first episode, cips_id the
   * spell_id of the CIPS's first spell */
  for (uint32_t k = 0; k < w->hes.n; k++) {
    uint32_t i = w->perm[k];
    uint32_t sp = w->hes.spell[i];
    uint64_t spell_id = c * ID_STRIDE + w->pos[w->spell_first[sp]] + 1;
    uint64_t cips_id = c * ID_STRIDE + w->pos[w->spell_first[w->spell_cips[sp]]] + 1;
    tsr__buf_u64(&w->out_spells, c * ID_STRIDE + k + 1);
    tsr__buf_putc(&w->out_spells, ',');
    tsr__buf_u64(&w->out_spells, spell_id);
    tsr__buf_putc(&w->out_spells, ',');
    tsr__buf_u64(&w->out_spells, cips_id);
    tsr__buf_putc(&w->out_spells, '\n');
  }
  w->n_gp += w->gp.n;
  w->n_hes += w->hes.n;
  for (int i = 0; i < 7; i++)
    if (outs[i]->oom) w->oom = 1;
}

/* --- files -------------------------------------------------------------------------- */
enum { F_GP, F_HES, F_TRUTH, F_SPELLS, F_TPAT, F_OPT1, F_OPT2, F_COUNT };
static const char *const k_file[F_COUNT] = {"gp.csv", "hes_apc.csv", "truth.csv", "truth_spells.csv",
                                            "truth_patients.csv", "optouts_type1.csv", "optouts_ndoo.csv"};
static const char *const k_header[F_COUNT] = {
    "record_id,nhs_number,given_name,family_name,date_of_birth,sex,postcode,address_line1,practice_code,"
    "registration_date,deregistration_date\n",
    "epikey,newnhsno,dob,sex,homeadd,procode,lopatid,admidate,epistart,epiend,disdate,epiorder,epistat,admimeth,"
    "admisorc,disdest,dismeth,classpat,diag_4_01,opertn_4_01,given_name,family_name\n",
    "source,record_id,patient_id\n",
    "epikey,spell_id,cips_id\n",
    "patient_id,nhs_number,given_name,birth_family_name,later_family_name,surname_change_date,date_of_birth,sex,"
    "household_id,residence,twin,type1_optout,ndoo_optout,death_date\n",
    "nhs_number\n",
    "nhs_number\n"};

static const char k_link_json[] =
    "{\n"
    "  \"version\": 1,\n"
    "  \"sources\": [\n"
    "    {\n"
    "      \"name\": \"gp\",\n"
    "      \"path\": \"gp.csv\",\n"
    "      \"delimiter\": \",\",\n"
    "      \"quote\": \"\\\"\",\n"
    "      \"header\": true,\n"
    "      \"trim\": true,\n"
    "      \"null_tokens\": [\"\"],\n"
    "      \"id\": \"record_id\",\n"
    "      \"columns\": {\n"
    "        \"record_id\": {\"kind\": \"text\"},\n"
    "        \"nhs_number\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"},\n"
    "        \"given_name\": {\"field\": \"given_name\", \"kind\": \"given_name\"},\n"
    "        \"family_name\": {\"field\": \"family_name\", \"kind\": \"family_name\"},\n"
    "        \"date_of_birth\": {\"field\": \"dob\", \"kind\": \"date\", \"format\": \"DD/MM/YYYY\", \"max\": \"@END@\"},\n"
    "        \"sex\": {\"field\": \"sex\", \"kind\": \"sex\"},\n"
    "        \"postcode\": {\"field\": \"postcode\", \"kind\": \"postcode\"},\n"
    "        \"address_line1\": {\"field\": \"address\", \"kind\": \"text\"},\n"
    "        \"practice_code\": {\"field\": \"practice\", \"kind\": \"code\"},\n"
    "        \"registration_date\": {\"field\": \"registration_date\", \"kind\": \"date\", \"format\": \"DD/MM/YYYY\"},\n"
    "        \"deregistration_date\": {\"field\": \"deregistration_date\", \"kind\": \"date\", \"format\": \"DD/MM/YYYY\"}\n"
    "      },\n"
    "      \"event_dates\": [\"registration_date\", \"deregistration_date\"]\n"
    "    },\n"
    "    {\n"
    "      \"name\": \"hes\",\n"
    "      \"path\": \"hes_apc.csv\",\n"
    "      \"delimiter\": \",\",\n"
    "      \"quote\": \"\\\"\",\n"
    "      \"header\": true,\n"
    "      \"trim\": true,\n"
    "      \"null_tokens\": [\"\"],\n"
    "      \"id\": \"epikey\",\n"
    "      \"columns\": {\n"
    "        \"epikey\": {\"kind\": \"text\"},\n"
    "        \"newnhsno\": {\"field\": \"nhs_number\", \"kind\": \"nhs_number\"},\n"
    "        \"dob\": {\"field\": \"dob\", \"kind\": \"date\", \"format\": \"YYYY-MM-DD\", \"max\": \"@END@\"},\n"
    "        \"sex\": {\"field\": \"sex\", \"kind\": \"sex\"},\n"
    "        \"homeadd\": {\"field\": \"postcode\", \"kind\": \"postcode\"},\n"
    "        \"procode\": {\"field\": \"provider\", \"kind\": \"code\"},\n"
    "        \"lopatid\": {\"field\": \"local_patient_id\", \"kind\": \"local_id\"},\n"
    "        \"admidate\": {\"field\": \"admidate\", \"kind\": \"date\", \"format\": \"YYYY-MM-DD\"},\n"
    "        \"epistart\": {\"field\": \"epistart\", \"kind\": \"date\", \"format\": \"YYYY-MM-DD\"},\n"
    "        \"epiend\": {\"field\": \"epiend\", \"kind\": \"date\", \"format\": \"YYYY-MM-DD\"},\n"
    "        \"disdate\": {\"field\": \"disdate\", \"kind\": \"date\", \"format\": \"YYYY-MM-DD\"},\n"
    "        \"epiorder\": {\"field\": \"epiorder\", \"kind\": \"integer\"},\n"
    "        \"epistat\": {\"field\": \"epistat\", \"kind\": \"code\"},\n"
    "        \"admimeth\": {\"field\": \"admimeth\", \"kind\": \"code\"},\n"
    "        \"admisorc\": {\"field\": \"admisorc\", \"kind\": \"code\"},\n"
    "        \"disdest\": {\"field\": \"disdest\", \"kind\": \"code\"},\n"
    "        \"dismeth\": {\"field\": \"dismeth\", \"kind\": \"code\"},\n"
    "        \"classpat\": {\"field\": \"classpat\", \"kind\": \"code\"},\n"
    "        \"diag_4_01\": {\"field\": \"diag_4_01\", \"kind\": \"code\"},\n"
    "        \"opertn_4_01\": {\"field\": \"opertn_4_01\", \"kind\": \"code\"},\n"
    "        \"given_name\": {\"field\": \"given_name\", \"kind\": \"given_name\"},\n"
    "        \"family_name\": {\"field\": \"family_name\", \"kind\": \"family_name\"}\n"
    "      },\n"
    "      \"event_dates\": [\"admidate\", \"epistart\", \"epiend\", \"disdate\"]\n"
    "    }\n"
    "  ],\n"
    "  \"link\": {\n"
    "    \"mode\": \"link_and_dedupe\",\n"
    "    \"rules\": \"hesid\",\n"
    "    \"max_block_size\": 1000,\n"
    "    \"max_cluster_size\": 500\n"
    "  },\n"
    "  \"output\": {\"csv\": false, \"row_group_rows\": 1048576, \"zstd_level\": 1}\n"
    "}\n";

static void ctx_init(gen_ctx *g, const tsr_gen_opts *o, const tsr__gen_tables *t) {
  g->o = o;
  g->t = t;
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
  double residents = P(g, POP_COMMUNAL) * (double)o->patients;
  g->n_establishments = residents / 60.0 < 1.0 ? 1u : (uint32_t)(residents / 60.0);
  /* only ordinary admissions (classpat 1) hold several episodes, so the
   * per-ordinary-spell chance is scaled up to give the configured share */
  double ordinary = P(g, HES_EMERGENCY) + (1.0 - P(g, HES_EMERGENCY)) * (1.0 - P(g, HES_DAYCASE));
  g->p_multi = ordinary > 0 ? P(g, HES_MULTI) / ordinary : 0.0;
  if (g->p_multi > 1.0) g->p_multi = 1.0;
}

static int ctx_dates(gen_ctx *g) {
  g->date_lo = tsr__days_from_ymd(1900, 1, 1);
  g->date_hi = tsr__days_from_ymd(2100, 12, 31);
  size_t n = (size_t)(g->date_hi - g->date_lo + 1);
  g->iso = tsr__malloc(n * sizeof *g->iso);
  g->uk = tsr__malloc(n * sizeof *g->uk);
  if (!g->iso || !g->uk) return TSR_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    char t[11];
    fmt_date(g->date_lo + (int32_t)i, 0, t);
    memcpy(g->iso[i], t, 10);
    fmt_date(g->date_lo + (int32_t)i, 1, t);
    memcpy(g->uk[i], t, 10);
  }
  return 0;
}

static void worker_free(worker_t *w) {
  tsr__buf_free(&w->gp.text);
  tsr__buf_free(&w->hes.text);
  tsr__free(w->gp.off);
  tsr__free(w->gp.pat);
  tsr__free(w->gp.spell);
  tsr__free(w->hes.off);
  tsr__free(w->hes.pat);
  tsr__free(w->hes.spell);
  tsr__free(w->spell_first);
  tsr__free(w->spell_cips);
  tsr__free(w->perm);
  tsr__free(w->pos);
  tsr__buf *outs[7] = {&w->out_gp, &w->out_hes, &w->out_truth, &w->out_spells, &w->out_tpat, &w->out_opt1, &w->out_opt2};
  for (int i = 0; i < 7; i++) tsr__buf_free(outs[i]);
  tsr__free(w);
}

/* Admission rate per patient, calibrated so that episodes per patient come
 * out at the configured mean: simulate a few chunks of households (fixed
 * counters outside the patient range, so it is deterministic) and average
 * the age factor times the share of the period each person was alive. */
static int ctx_calibrate(gen_ctx *g) {
  worker_t *w = tsr__calloc(1, sizeof *w);
  if (!w) return TSR_ENOMEM;
  double sum = 0;
  uint64_t n = 0;
  int32_t ps = g->o->period_start, pe = g->o->period_end;
  for (uint64_t k = 0; k < 4; k++) {
    w->n_pat = w->n_hh = 0;
    tsr__rng r;
    tsr__rng_init(&r, g->o->seed, TSR__S_CHUNK, ((uint64_t)1 << 62) + k);
    while (w->n_pat < CHUNK) make_household(g, w, 0, CHUNK - w->n_pat, &r);
    for (uint32_t i = 0; i < w->n_pat; i++) {
      const pat_t *p = &w->pat[i];
      int32_t start = p->dob > ps ? p->dob : ps;
      if (start > pe) continue;
      double exposure = (double)(pe - start + 1) / (double)(pe - ps + 1);
      sum += age_factor(age_at(p->dob, start + (pe - start) / 2)) * exposure;
      n++;
    }
  }
  tsr__free(w);
  double mean_af = n ? sum / (double)n : 1.0;
  double ordinary = P(g, HES_EMERGENCY) + (1.0 - P(g, HES_EMERGENCY)) * (1.0 - P(g, HES_DAYCASE));
  double eps_per_cips = (1.0 + P(g, HES_MULTI) * 1.5) * (1.0 + P(g, HES_TRANSFER) * ordinary);
  /* a regular attender has ~36 day admissions, fewer when the course runs
   * past the end of the period (about half start too late to finish) */
  double regular = P(g, POP_REGULAR) * 30.0;
  double target = P(g, HES_MEAN) - regular;
  g->cips_lambda = target > 0 && mean_af > 0 ? target / eps_per_cips / mean_af : 0.0;
  return 0;
}

static int write_summary(const tsr_gen_opts *o, const tsr_gen_summary *s, tsr_error *err) {
  tsr__buf b;
  tsr__buf_init(&b, 8192);
  char line[512];
  snprintf(line, sizeof line,
           "{\n  \"generator\": \"tessera %s\",\n  \"scenario\": \"%s\",\n  \"seed\": %llu,\n  \"patients\": %llu,\n"
           "  \"households\": %llu,\n  \"communal_patients\": %llu,\n  \"twins\": %llu,\n"
           "  \"gp_rows\": %llu,\n  \"hes_rows\": %llu,\n  \"spells\": %llu,\n  \"cips\": %llu,\n"
           "  \"optout_type1\": %llu,\n  \"optout_ndoo\": %llu,\n",
           TSR_VERSION_STRING, o->scenario, (unsigned long long)o->seed, (unsigned long long)s->patients,
           (unsigned long long)s->households, (unsigned long long)s->communal_patients,
           (unsigned long long)s->twins, (unsigned long long)s->gp_rows, (unsigned long long)s->hes_rows,
           (unsigned long long)s->spells, (unsigned long long)s->cips, (unsigned long long)s->optout_type1,
           (unsigned long long)s->optout_ndoo);
  tsr__buf_puts(&b, line);
  tsr__buf_puts(&b, "  \"params\": {\n");
  for (size_t i = 0; i < tsr_gen_param_count(); i++) {
    const char *key;
    tsr_gen_param_info(i, &key, NULL, NULL, NULL);
    snprintf(line, sizeof line, "    \"%s\": %.6g%s\n", key, o->param[i], i + 1 < tsr_gen_param_count() ? "," : "");
    tsr__buf_puts(&b, line);
  }
  tsr__buf_puts(&b, "  },\n  \"errors\": {\n");
  int first = 1;
  for (size_t i = 0; i < tsr_gen_param_count(); i++) {
    const char *key;
    int is_err;
    tsr_gen_param_info(i, &key, NULL, NULL, &is_err);
    if (!is_err) continue;
    double rate = s->eligible[i] ? (double)s->events[i] / (double)s->eligible[i] : 0.0;
    snprintf(line, sizeof line, "%s    \"%s\": {\"configured\": %.6g, \"events\": %llu, \"eligible\": %llu, \"realised\": %.6g}",
             first ? "" : ",\n", key, o->param[i], (unsigned long long)s->events[i],
             (unsigned long long)s->eligible[i], rate);
    tsr__buf_puts(&b, line);
    first = 0;
  }
  tsr__buf_puts(&b, "\n  }\n}\n");
  tsr__outfile f;
  int rc = b.oom ? tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory") : 0;
  if (!rc) rc = tsr__outfile_open(&f, o->out_dir, "generate_summary.json", err);
  if (!rc) {
    rc = tsr__outfile_write(&f, b.p, b.len, err);
    if (!rc)
      rc = tsr__outfile_commit(&f, err);
    else
      tsr__outfile_abort(&f);
  }
  /* link.json: dates of birth are valid up to the end of the data period */
  tsr__buf lj;
  tsr__buf_init(&lj, sizeof k_link_json + 64);
  char end[16];
  int ey, em, ed;
  tsr__ymd_from_days(o->period_end, &ey, &em, &ed);
  snprintf(end, sizeof end, "%04d-%02d-%02d", ey, em, ed);
  for (const char *p = k_link_json; *p;) {
    const char *hit = strstr(p, "@END@");
    size_t n = hit ? (size_t)(hit - p) : strlen(p);
    tsr__buf_put(&lj, p, n);
    if (!hit) break;
    tsr__buf_puts(&lj, end);
    p = hit + 5;
  }
  if (!rc && lj.oom) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  if (!rc) rc = tsr__outfile_open(&f, o->out_dir, "link.json", err);
  if (!rc) {
    rc = tsr__outfile_write(&f, lj.p, lj.len, err);
    if (!rc)
      rc = tsr__outfile_commit(&f, err);
    else
      tsr__outfile_abort(&f);
  }
  tsr__buf_free(&b);
  tsr__buf_free(&lj);
  return rc;
}

int tsr_generate(const tsr_gen_opts *o, tsr_gen_summary *summary, tsr_error *err) {
  tsr_error_clear(err);
  if (!o || !o->out_dir || !o->out_dir[0]) return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "no output folder given");
  if (o->patients < 1 || o->patients > 90000000u)
    return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "patients must be between 1 and 90,000,000 (got %llu)",
                         (unsigned long long)o->patients);
  if (o->period_end <= o->period_start)
    return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "data period end must be after its start");
  if (o->threads < 0) return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "threads must be >= 0");
  double t0 = tsr__now();
  TSR_FORWARD_IF_ERROR(tsr__mkdirs(o->out_dir, err));
  tsr__gen_tables tables;
  TSR_FORWARD_IF_ERROR(tsr__gen_tables_load(&tables, o->seed, o->param[TSR__GP_HES_NAMED], err));
  gen_ctx g;
  memset(&g, 0, sizeof g);
  ctx_init(&g, o, &tables);
  int rc = ctx_dates(&g);
  if (!rc) rc = ctx_calibrate(&g);
  if (rc) tsr_error_set(err, rc, NULL, 0, 0, "out of memory preparing the generator");

  tsr__outfile files[F_COUNT];
  for (int i = 0; i < F_COUNT; i++) files[i].fd = -1;
  for (int i = 0; i < F_COUNT && !rc; i++) {
    rc = tsr__outfile_open(&files[i], o->out_dir, k_file[i], err);
    if (!rc) rc = tsr__outfile_write(&files[i], k_header[i], strlen(k_header[i]), err);
  }
  tsr_gen_summary sum;
  memset(&sum, 0, sizeof sum);
  uint64_t nchunks = (o->patients + CHUNK - 1) / CHUNK;
  int threads = o->threads > 0 ? o->threads : omp_get_max_threads();
  int failed = rc != 0;
  uint64_t bytes = 0;
  tsr__progress prog;
  tsr__progress_start(&prog, "generate", o->patients);

#pragma omp parallel num_threads(threads) if (!failed)
  {
    worker_t *w = tsr__calloc(1, sizeof *w);
    if (!w) {
#pragma omp atomic write
      failed = 1;
    } else {
      tsr__buf_init(&w->gp.text, (size_t)1 << 20);
      tsr__buf_init(&w->hes.text, (size_t)2 << 20);
      tsr__buf *outs[7] = {&w->out_gp, &w->out_hes, &w->out_truth, &w->out_spells, &w->out_tpat, &w->out_opt1, &w->out_opt2};
      for (int i = 0; i < 7; i++) tsr__buf_init(outs[i], (size_t)1 << 20);
    }
#pragma omp for ordered schedule(dynamic, 1)
    for (uint64_t c = 0; c < nchunks; c++) {
      int f;
#pragma omp atomic read
      f = failed;
      if (w && !f) gen_chunk(&g, w, c);
#pragma omp ordered
      {
        int bad;
#pragma omp atomic read
        bad = failed;
        if (w && !bad && w->oom) {
          bad = 1;
          tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory generating chunk %llu", (unsigned long long)c);
        }
        if (w && !bad) {
          /* only the file offsets are taken in order; the copying into the
           * files happens below, in parallel */
          for (int i = 0; i < F_COUNT; i++) {
            w->file_off[i] = tsr__outfile_reserve(&files[i], w_out(w, i)->len);
            bytes += w_out(w, i)->len;
          }
          uint64_t done = (c + 1) * CHUNK;
          tsr__progress_update(&prog, done > o->patients ? o->patients : done);
        }
        if (bad) {
#pragma omp atomic write
          failed = 1;
        }
      }
      int f2;
#pragma omp atomic read
      f2 = failed;
      if (w && !f2) {
        tsr_error werr;
        for (int i = 0; i < F_COUNT; i++) {
          if (tsr__outfile_pwrite(&files[i], w_out(w, i)->p, w_out(w, i)->len, w->file_off[i], &werr) != 0) {
#pragma omp critical(tsr_gen_err)
            {
              if (!failed && err) *err = werr;
#pragma omp atomic write
              failed = 1;
            }
            break;
          }
        }
      }
    }
    if (w) {
#pragma omp critical(tsr_gen_merge)
      {
        for (int i = 0; i < TSR_GEN_MAX_PARAMS; i++) {
          sum.events[i] += w->events[i];
          sum.eligible[i] += w->eligible[i];
        }
        sum.gp_rows += w->n_gp;
        sum.hes_rows += w->n_hes;
        sum.spells += w->n_spells_total;
        sum.cips += w->n_cips;
        sum.households += w->n_households;
        sum.communal_patients += w->n_communal;
        sum.twins += w->n_twins;
        sum.optout_type1 += w->n_opt1;
        sum.optout_ndoo += w->n_opt2;
      }
      worker_free(w);
    }
  }
  tsr__progress_finish(&prog);
  if (failed && !rc) rc = err && err->code ? err->code : TSR_ENOMEM;
  for (int i = 0; i < F_COUNT; i++) {
    if (!rc)
      rc = tsr__outfile_commit(&files[i], err);
    else
      tsr__outfile_abort(&files[i]);
  }
  sum.patients = o->patients;
  sum.bytes_written = bytes;
  sum.seconds = tsr__now() - t0;
  if (!rc) rc = write_summary(o, &sum, err);
  tsr__gen_tables_free(&tables);
  tsr__free(g.iso);
  tsr__free(g.uk);
  if (summary) *summary = sum;
  return rc;
}
