/* Internals of the synthetic data generator: the parameter catalogue, the
 * frequency tables, and the corruption operators (exposed for unit tests). */
#ifndef TSR_GEN_INTERNAL_H
#define TSR_GEN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/common_internal.h"
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

#endif
