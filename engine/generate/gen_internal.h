/* Internals of the synthetic data generator, shared by its files: the
 * parameter catalogue, the frequency tables, the corruption operators
 * (exposed for unit tests), and the chunk model -- the types of one chunk's
 * patients, households and staged rows, the per-thread worker, and the entry
 * points by which the driver (generate.c) calls the population, GP, hospital
 * and output files. The chunk model's DESIGN note is in generate.c. */
#ifndef TSR_GEN_INTERNAL_H
#define TSR_GEN_INTERNAL_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/common_internal.h"
#include "common/date.h"
#include "common/rng.h"
#include "tessera/generate.h"

/* Parameter kinds: P = population/structure, E = error rate (zero in the
 * "clean" scenario, counted as events), F = formatting variation (legal but
 * untidy input, kept in "clean"). */
enum { TSR__PK_P = 0, TSR__PK_E = 1, TSR__PK_F = 2 };

/* X(ID, key, kind, default, hard, description). Sources for the defaults are
 * in docs/generator.md. Rates are per record unless stated. */
#define TSR_GEN_PARAMS(X)                                                                                   \
  X(POP_MALE, "pop.male_share", P, 0.49, 0.49, "share of patients who are male")                          \
  X(POP_TWIN, "pop.twin_rate", P, 0.015, 0.03, "share of children in a family born as a twin pair")        \
  X(POP_COMMUNAL, "pop.communal_share", P, 0.017, 0.03,                                                    \
    "share of patients living in communal establishments (care homes, prisons, halls)")                    \
  X(POP_MOVES, "pop.moves_mean", P, 0.9, 1.5, "mean household moves during the data period")               \
  X(POP_LOCAL_MOVE, "pop.local_move", P, 0.7, 0.6, "share of moves within the same postcode area")         \
  X(POP_KEEP_PRACTICE, "pop.move_keeps_practice", P, 0.35, 0.35,                                           \
    "share of local moves after which the patient stays with the same GP practice")                        \
  X(POP_SURNAME_CHANGE, "pop.surname_change", P, 0.25, 0.35,                                               \
    "share of partnered women aged 20-45 who take a new surname during the period")                        \
  X(POP_REGULAR, "pop.regular_attender", P, 0.003, 0.003,                                                  \
    "share of patients who are regular day attenders (dozens of day admissions)")                          \
  X(HES_MEAN, "hes.mean_episodes", P, 2.0, 2.0, "mean hospital episodes per patient")                      \
  X(HES_SHAPE, "hes.dispersion_shape", P, 0.35, 0.35,                                                      \
    "gamma shape of per-patient admission propensity (smaller = more skew)")                               \
  X(HES_MULTI, "hes.multi_episode_spell", P, 0.14, 0.14, "share of spells with more than one episode")     \
  X(HES_TRANSFER, "hes.transfer", P, 0.03, 0.05, "share of spells ending in a transfer to another provider") \
  X(HES_NAMED, "hes.named_providers", P, 0.5, 0.3, "share of providers whose feed carries patient names")   \
  X(HES_OOA, "hes.out_of_area", P, 0.08, 0.15, "share of admissions to a provider outside the home area")   \
  X(HES_DAYCASE, "hes.day_case", P, 0.7, 0.7, "share of elective spells that are day cases")              \
  X(HES_EMERGENCY, "hes.emergency", P, 0.4, 0.4, "share of spells that are emergency admissions")           \
  X(OPT_TYPE1, "optout.type1", P, 0.03, 0.03, "share of patients with a type 1 objection")                  \
  X(OPT_NDOO, "optout.ndoo", P, 0.05, 0.05, "share of patients with a national data opt-out")               \
  X(E_GP_NHS_MISSING, "err.gp.nhs_missing", E, 0.005, 0.3, "GP rows with no NHS number")                   \
  X(E_HES_NHS_MISSING, "err.hes.nhs_missing", E, 0.02, 0.6, "hospital rows with no NHS number")             \
  X(E_GP_NHS_INVALID, "err.gp.nhs_invalid", E, 0.002, 0.01,                                                \
    "GP rows whose NHS number is mistyped (fails the check digit), of rows with one")                      \
  X(E_HES_NHS_INVALID, "err.hes.nhs_invalid", E, 0.004, 0.02,                                              \
    "hospital rows whose NHS number is mistyped, of rows with one")                                        \
  X(E_GP_TYPO, "err.gp.name_typo", E, 0.01, 0.04, "GP name fields with a typo")                            \
  X(E_HES_TYPO, "err.hes.name_typo", E, 0.02, 0.06, "hospital name fields with a typo")                    \
  X(E_NICKNAME, "err.nickname", E, 0.05, 0.15, "given names recorded as a nickname, of names that have one") \
  X(E_DOB_MISSING, "err.dob_missing", E, 0.001, 0.005, "rows with no date of birth")                       \
  X(E_DOB_JAN1, "err.dob_jan1", E, 0.001, 0.004, "dates of birth recorded as 1 January of the right year")  \
  X(E_DOB_SWAP, "err.dob_swap", E, 0.003, 0.01, "dates of birth with day and month swapped, of those where it changes the date") \
  X(E_DOB_DIGIT, "err.dob_digit", E, 0.003, 0.01, "dates of birth with one digit wrong")                    \
  X(E_SEX_UNKNOWN, "err.sex_unknown", E, 0.002, 0.01, "rows with sex not known/not specified")             \
  X(E_STALE_POSTCODE, "err.stale_postcode", E, 0.3, 0.5,                                                   \
    "rows dated within a year after a move that still carry the old postcode")                             \
  X(E_STALE_SURNAME, "err.stale_surname", E, 0.2, 0.4,                                                     \
    "rows dated after a surname change that still carry the old surname")                                  \
  X(E_GP_POSTCODE_MISSING, "err.gp.postcode_missing", E, 0.003, 0.02, "GP rows with no postcode")          \
  X(E_HES_POSTCODE_MISSING, "err.hes.postcode_missing", E, 0.01, 0.04, "hospital rows with no postcode")    \
  X(E_HES_ZZ99, "err.hes.zz99", E, 0.005, 0.02,                                                            \
    "hospital rows with a ZZ99 pseudo-postcode (no fixed abode, not known), of rows with a postcode")       \
  X(E_GIVEN_MISSING, "err.given_missing", E, 0.003, 0.01, "name-carrying rows with no given name")          \
  X(E_FAMILY_MISSING, "err.family_missing", E, 0.001, 0.005, "name-carrying rows with no family name")      \
  X(E_LOPATID_MISSING, "err.hes.lopatid_missing", E, 0.01, 0.05, "hospital rows with no local patient id")  \
  X(E_ADMIDATE, "err.hes.admidate_mismatch", E, 0.01, 0.03,                                                \
    "later episodes of a multi-episode spell whose admission date disagrees with the spell's")             \
  X(F_NHS_SPACED, "fmt.nhs_spaced", F, 0.1, 0.2, "NHS numbers written with spaces (3-3-4)")                \
  X(F_POSTCODE_NOSPACE, "fmt.postcode_nospace", F, 0.05, 0.15, "postcodes written without the space")      \
  X(F_LOWERCASE, "fmt.lowercase", F, 0.03, 0.1, "names and postcodes written in lower case")

enum tsr__gen_param_id {
#define TSR__GP_ENUM(id, key, kind, def, hard, desc) TSR__GP_##id,
  TSR_GEN_PARAMS(TSR__GP_ENUM)
#undef TSR__GP_ENUM
  TSR__GP_COUNT
};

/* RNG streams: one per independent use, so changing how one part draws never
 * shifts another part's numbers. */
enum {
  TSR__S_CHUNK = 1, /* household structure of a chunk */
  TSR__S_PATIENT,   /* a patient's own attributes */
  TSR__S_HOUSEHOLD, /* household address history */
  TSR__S_GPROW,     /* per-GP-row corruption */
  TSR__S_HESPLAN,   /* a patient's hospital history */
  TSR__S_HESROW,    /* per-episode corruption */
  TSR__S_SHUFFLE,   /* row order within a chunk */
  TSR__S_NHS,       /* NHS number permutation */
  TSR__S_TABLES,    /* provider/practice synthesis */
  TSR__S_LOPATID
};

/* --- Frequency tables ------------------------------------------------------
 * Vose alias tables give O(1) weighted draws. */
typedef struct tsr__alias {
  uint32_t n;
  float *prob;
  uint32_t *alias;
} tsr__alias;

typedef struct tsr__name {
  const char *s;
  uint16_t len;
  int16_t nick_first; /* index into nick table, -1 if none */
  uint8_t nick_count;
} tsr__name;

typedef struct tsr__area {
  const char *code;
  uint8_t code_len;
  char region;
  uint16_t districts;
  uint32_t first_practice, n_practices;
  uint32_t first_provider, n_providers;
} tsr__area;

typedef struct tsr__code {
  const char *s;
  uint8_t len;
} tsr__code;

typedef struct tsr__gen_tables {
  tsr__arena arena;
  tsr__name *surnames, *male, *female;
  uint32_t n_surnames, n_male, n_female;
  uint32_t n_rare_surnames; /* synthetic rare names appended to surnames */
  tsr__alias a_surname, a_male, a_female;
  const char **nicks; /* nickname strings, grouped by formal name */
  uint32_t n_nicks;
  tsr__area *areas;
  uint32_t n_areas;
  tsr__alias a_area;
  const char **streets;
  uint32_t n_streets;
  const char **care_homes, **prisons, **halls;
  uint32_t n_care_homes, n_prisons, n_halls;
  tsr__code *icd, *opcs;
  uint32_t n_icd, n_opcs;
  uint32_t icd_chemo; /* Z511, the diagnosis of regular day attenders (row 0 if absent) */
  tsr__alias a_icd, a_opcs;
  /* synthesised organisations */
  char (*practice_code)[8]; /* "A81001" */
  uint32_t *practice_area;
  uint16_t *practice_district;
  uint32_t n_practices;
  char (*provider_code)[4]; /* "RX4" */
  uint32_t *provider_area;
  uint8_t *provider_named;
  uint32_t n_providers;
} tsr__gen_tables;

int tsr__gen_tables_load(tsr__gen_tables *t, uint64_t seed, double named_share, tsr_error *err);
void tsr__gen_tables_free(tsr__gen_tables *t);
uint32_t tsr__alias_draw(const tsr__alias *a, tsr__rng *r);

/* --- Corruption operators ---------------------------------------------------
 * Each edits s (length *len, capacity cap) in place and returns 1 if it
 * changed the text, 0 if the text gave it nothing to work on. Only ASCII
 * letters are edited, so UTF-8 sequences are never split. */
int tsr__typo_insert(char *s, uint32_t *len, uint32_t cap, tsr__rng *r);
int tsr__typo_delete(char *s, uint32_t *len, tsr__rng *r);
int tsr__typo_substitute(char *s, uint32_t len, tsr__rng *r);
int tsr__typo_transpose(char *s, uint32_t len, tsr__rng *r);
int tsr__typo_keyboard(char *s, uint32_t len, tsr__rng *r);
/* One of the five, chosen at random. */
int tsr__typo_any(char *s, uint32_t *len, uint32_t cap, tsr__rng *r);
/* 1 if a and b are neighbouring keys on a UK QWERTY keyboard (case-blind). */
int tsr__keyboard_adjacent(char a, char b);
/* Date corruptions; return the corrupted day number (or the input when the
 * operator does not apply: swap needs day <= 12 and day != month). */
int32_t tsr__dob_swap(int32_t days);
int32_t tsr__dob_digit(int32_t days, tsr__rng *r);
int32_t tsr__dob_jan1(int32_t days);
/* Mistypes an NHS number so it fails the check digit: a changed digit or a
 * transposition of two adjacent different digits. */
uint64_t tsr__nhs_mistype(uint64_t nhs, tsr__rng *r);
/* The i-th patient's NHS number: unique, valid, a keyed permutation of i. */
uint64_t tsr__nhs_for_patient(uint64_t seed, uint64_t i, uint64_t npatients);

/* --- The chunk model ----------------------------------------------------------
 * Shared by gen_people.c (households), gen_record.c (observed records and
 * staging), gen_gp.c, gen_hes.c, gen_chunk.c (one chunk's output) and the
 * driver generate.c. */
#define TSR__GEN_CHUNK 4096u
#define TSR__GEN_ID_STRIDE 1000000u /* ids are chunk * ID_STRIDE + position + 1 */
#define TSR__GEN_MAX_EPOCHS 8
#define TSR__GEN_NAME_CAP 96

/* A parameter's value: TSR__GEN_P(g, POP_MOVES). */
#define TSR__GEN_P(ctx, id) ((ctx)->o->param[TSR__GP_##id])

/* Residence kinds; truth_patients.csv names them (gen_chunk.c). */
enum { TSR__K_ORDINARY = 0, TSR__K_CARE_HOME = 1, TSR__K_PRISON = 2, TSR__K_HALL = 3 };
/* The source a record is observed for. */
enum { TSR__SRC_GP = 0, TSR__SRC_HES = 1 };
/* The chunk's output buffers, in file order. */
enum { TSR__F_GP, TSR__F_HES, TSR__F_TRUTH, TSR__F_SPELLS, TSR__F_TPAT, TSR__F_OPT1, TSR__F_OPT2, TSR__F_COUNT };

typedef struct {
  uint16_t area;
  uint8_t district, sector;
  char unit[2];
  uint16_t street;
  uint16_t number;
  uint16_t flat;    /* 0 = not a flat */
  uint8_t communal; /* TSR__K_* */
  uint16_t communal_idx;
} tsr__gen_addr;

/* A household's address history: epoch e runs from start[e] to start[e+1]. */
typedef struct {
  uint8_t n;
  int32_t start[TSR__GEN_MAX_EPOCHS]; /* start[0] is "long ago" */
  tsr__gen_addr a[TSR__GEN_MAX_EPOCHS];
  uint32_t practice[TSR__GEN_MAX_EPOCHS];
} tsr__gen_hh;

typedef struct {
  uint64_t pid, nhs;
  int32_t dob, dob_swapped, surname_change, reg0, death;
  uint32_t given, surname, maiden;
  uint16_t hh;
  uint8_t sex, kind, twin, regular, type1, ndoo;
} tsr__gen_pat;

/* Row staging: rows are formatted without their id, then emitted in a
 * shuffled order with the id in front. */
typedef struct {
  tsr__buf text;
  uint32_t *off;   /* n+1 offsets */
  uint32_t *pat;   /* patient index within the chunk */
  uint32_t *spell; /* HES only: spell index within the chunk */
  uint32_t n, cap;
} tsr__gen_stage;

/* Read-only state of a run, shared by all threads. */
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
} tsr__gen_ctx;

/* One thread's state: the chunk being built, its staged rows and output
 * buffers, and the thread's running counts. */
typedef struct {
  tsr__gen_pat pat[TSR__GEN_CHUNK];
  tsr__gen_hh hh[TSR__GEN_CHUNK];
  uint32_t n_pat, n_hh;
  tsr__gen_stage gp, hes;
  uint32_t *spell_first; /* first episode row of each spell */
  uint32_t *spell_cips;  /* CIPS (as its first spell) of each spell */
  uint32_t n_spells, cap_spells;
  uint32_t *perm, *pos, cap_perm;
  tsr__buf out_gp, out_hes, out_truth, out_spells, out_tpat, out_opt1, out_opt2;
  uint64_t file_off[TSR__F_COUNT];
  uint64_t events[TSR_GEN_MAX_PARAMS], eligible[TSR_GEN_MAX_PARAMS];
  uint64_t n_gp, n_hes, n_spells_total, n_cips, n_households, n_communal, n_twins, n_opt1, n_opt2;
  int oom;
} tsr__gen_worker;

/* Observed demographics of one record, after corruption. */
typedef struct {
  uint64_t nhs; /* 0 = missing */
  int nhs_spaced;
  char given[TSR__GEN_NAME_CAP], family[TSR__GEN_NAME_CAP];
  uint32_t given_len, family_len;
  int32_t dob;
  uint8_t sex; /* 1, 2, 0 = not known, 9 = not specified */
  char postcode[12];
  uint32_t postcode_len;
  const tsr__gen_addr *addr; /* true address as recorded (may be stale) */
} tsr__gen_demog;

/* The chunk's output buffer of file i (TSR__F_*). */
static inline tsr__buf *tsr__gen_out(tsr__gen_worker *w, int i) {
  tsr__buf *outs[TSR__F_COUNT] = {&w->out_gp,     &w->out_hes,  &w->out_truth, &w->out_spells,
                                  &w->out_tpat,   &w->out_opt1, &w->out_opt2};
  assert(i >= 0 && i < TSR__F_COUNT);
  return outs[i];
}

/* Counts one chance at a corruption and draws whether it happens. */
static inline int tsr__gen_corrupt(tsr__gen_worker *w, const tsr__gen_ctx *g, tsr__rng *r, int id) {
  assert(id >= 0 && id < TSR__GP_COUNT);
  w->eligible[id]++;
  if (!tsr__rng_chance(r, g->o->param[id])) return 0;
  w->events[id]++;
  return 1;
}

static inline int tsr__gen_age_at(int32_t dob, int32_t when) { return (int)((when - dob) / 365.2425); }

/* The address epoch a household is in on a given day. */
static inline int tsr__gen_epoch_at(const tsr__gen_hh *h, int32_t day) {
  assert(h->n >= 1 && h->n <= TSR__GEN_MAX_EPOCHS);
  int e = 0;
  while (e + 1 < h->n && h->start[e + 1] <= day) e++;
  return e;
}

/* gen_people.c: population and households. */
/* Fills the population part of g (age and household-size tables, the size of
 * the communal establishment pool). */
void tsr__gen_people_init(tsr__gen_ctx *g);
/* Appends one ordinary household of at most `room` people (ids from
 * first_pid) to w, with its address history. */
void tsr__gen_household(const tsr__gen_ctx *g, tsr__gen_worker *w, uint64_t first_pid, uint32_t room, tsr__rng *r);
/* Appends `size` residents of one communal establishment to w. */
void tsr__gen_communal_group(const tsr__gen_ctx *g, tsr__gen_worker *w, uint64_t first_pid, uint32_t size,
                             tsr__rng *r);
/* Draws a patient's own attributes (opt-outs, regular attender, first
 * registration) from the patient's stream. */
void tsr__gen_patient_attrs(const tsr__gen_ctx *g, tsr__gen_pat *p);

/* gen_record.c: formatting, observed records, staging. */
/* "YYYY-MM-DD" (uk = 0) or "DD/MM/YYYY" into out (11 bytes, NUL-terminated). */
void tsr__gen_fmt_date(int32_t days, int uk, char *out);
/* Patient p as a record dated `when` of source src (TSR__SRC_*) shows it,
 * after corruption; named = 0 leaves the names empty. */
void tsr__gen_observe(const tsr__gen_ctx *g, tsr__gen_worker *w, const tsr__gen_pat *p, int32_t when, int src,
                      int named, tsr__rng *r, tsr__gen_demog *o);
/* Resizes *p to n entries; 0, or -1 with *p unchanged. */
int tsr__gen_resize_u32(uint32_t **p, size_t n);

/* Dates are the hot path of formatting: looked up in the run's table. */
static inline void tsr__gen_put_date(const tsr__gen_ctx *g, tsr__buf *b, int32_t days, int uk) {
  if (days == TSR_DATE_MISSING) return;
  if (days >= g->date_lo && days <= g->date_hi) {
    tsr__buf_put(b, (uk ? g->uk : g->iso)[days - g->date_lo], 10);
    return;
  }
  char t[11];
  tsr__gen_fmt_date(days, uk, t);
  tsr__buf_put(b, t, 10);
}
#define tsr__gen_put_date_iso(g, b, days) tsr__gen_put_date(g, b, days, 0)
#define tsr__gen_put_date_uk(g, b, days) tsr__gen_put_date(g, b, days, 1)

/* Ten digits, or 3-3-4 with spaces. */
static inline void tsr__gen_put_nhs(tsr__buf *b, uint64_t nhs, int spaced) {
  assert(nhs < 10000000000ull);
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

/* Starts a staged row of patient pat (and spell); -1 when out of memory. */
static inline int tsr__gen_stage_begin_row(tsr__gen_stage *s, uint32_t pat, uint32_t spell) {
  if (s->n + 1 >= s->cap) {
    uint32_t cap = s->cap ? s->cap * 2 : 16384;
    if (tsr__gen_resize_u32(&s->off, (size_t)cap + 1) || tsr__gen_resize_u32(&s->pat, cap) ||
        tsr__gen_resize_u32(&s->spell, cap))
      return -1;
    s->cap = cap;
  }
  assert(s->text.len <= UINT32_MAX); /* offsets are 32-bit: a chunk's text stays far below 4 GiB */
  s->off[s->n] = (uint32_t)s->text.len;
  s->pat[s->n] = pat;
  s->spell[s->n] = spell;
  return 0;
}

static inline void tsr__gen_stage_end_row(tsr__gen_stage *s) {
  assert(s->n < s->cap && s->text.len >= s->off[s->n]);
  s->n++;
  s->off[s->n] = (uint32_t)s->text.len;
}

static inline void tsr__gen_stage_reset(tsr__gen_stage *s) {
  s->n = 0;
  s->text.len = 0;
  if (s->off) s->off[0] = 0;
}

/* gen_gp.c: a patient's GP registrations, staged in w->gp. */
void tsr__gen_gp_rows(const tsr__gen_ctx *g, tsr__gen_worker *w, uint32_t pi);

/* gen_hes.c: hospital episodes and spells. */
/* Fills the hospital part of g that needs no calibration (p_multi). */
void tsr__gen_hes_init(tsr__gen_ctx *g);
/* Sets g->cips_lambda so that episodes per patient come out at the
 * configured mean; 0 or TSR_ENOMEM. Needs tsr__gen_people_init first. */
int tsr__gen_hes_calibrate(tsr__gen_ctx *g);
/* A patient's hospital history, staged in w->hes with its spells. May set
 * the patient's death date, so it runs before tsr__gen_gp_rows. */
void tsr__gen_hes_rows(const tsr__gen_ctx *g, tsr__gen_worker *w, uint32_t pi);

/* gen_chunk.c: one chunk, from households to the seven output buffers. */
void tsr__gen_chunk(const tsr__gen_ctx *g, tsr__gen_worker *w, uint64_t c);

/* gen_json.c: generate_summary.json, then link.json, into o->out_dir. */
int tsr__gen_write_summary(const tsr_gen_opts *o, const tsr_gen_summary *s, tsr_error *err);
int tsr__gen_write_link_json(const tsr_gen_opts *o, tsr_error *err);

#endif
