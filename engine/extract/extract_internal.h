/* Internal state of one extract (extract.c drives; xtables.c writes the
 * tables, measures k-anonymity and builds the aggregates).
 *
 * DESIGN
 *   The catalogue of an extract is built from the run: one table per source
 *   (its configured fields, classed by kind: names, NHS numbers, local ids,
 *   text and record ids are identifiers; dates outside the source's
 *   event_dates are birth dates; postcodes; the rest plain), "patients"
 *   (birth dates, sex and postcode per patient: the most frequent value
 *   over the patient's records), and "spells", "cips" and "registrations"
 *   when the run built episodes. Every table is keyed by the pseudonym and
 *   ordered by it (so row order carries nothing across agreements). */
#ifndef TSR_EXTRACT_INTERNAL_H
#define TSR_EXTRACT_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "extract/agreement.h"
#include "tessera/config.h"
#include "tessera/extract.h"
#include "tessera/parquet.h"
#include "tessera/store.h"

typedef enum { TSR__TK_SOURCE, TSR__TK_PATIENTS, TSR__TK_SPELLS, TSR__TK_CIPS, TSR__TK_REGS } tsr__tkind;
typedef enum { TSR__VT_STR, TSR__VT_I64, TSR__VT_DATE, TSR__VT_SEX, TSR__VT_PC } tsr__vtype;

/* A quasi-identifier left out of the release altogether: the last step of
 * generalising for k-anonymity (the column is written, all null). */
#define TSR__GEN_WITHHELD ((tsr__gen)99)
const char *tsr__x_gen_name(tsr__gen g);

typedef struct tsr__xval {
  int present;
  int64_t i;   /* I64, DATE (days), SEX, PC (packed) */
  tsr_view s;  /* STR */
} tsr__xval;

typedef struct tsr__xfld {
  const char *name;
  tsr__vtype vt;
  const tsr_column *sc; /* SOURCE: the store column */
  int pf;               /* PATIENTS: index of the per-patient value array */
  tsr_pq_column pq;     /* SPELLS, CIPS, REGS: the column read from the run's file */
  tsr_pq_reader *rd;    /* its reader (the column's strings live in it) */
  int loaded;
} tsr__xfld;

typedef struct tsr__xtab {
  char name[64];
  tsr__tkind kind;
  uint32_t src;           /* SOURCE: source index */
  tsr__xfld *f;           /* nf fields, in catalogue order */
  tsr__xfield *cf;        /* the catalogue's view of them */
  size_t nf;
  uint64_t nrows;         /* base rows (PATIENTS: npatients + 1, row = patient id) */
  const int64_t *pid;     /* patient id of a base row (not PATIENTS) */
  uint64_t *off;          /* SPELLS, CIPS, REGS: [npatients + 2] rows of patient p are off[p] .. off[p+1] - 1 */
  int gp_derived;         /* a type 1 opt-out removes its rows */
  int ev;                 /* field holding the row's event date (-1: none; SOURCE: first event date set) */
  int ev2;                /* REGS: the end date (an open end = still registered) */
  const char *file;       /* run file it reads (SPELLS, CIPS, REGS) */
  tsr_pq_reader *rd;
} tsr__xtab;

typedef struct tsr__xsrc {
  const tsr_source_cfg *cfg;
  tsr_store *store;
  int64_t *pid;           /* [rows] patient id from links.parquet */
  const tsr_column *nhs;  /* NHS number column, or NULL */
  int gp;
  int *ev;                /* event-date columns (store column indexes), nev of them */
  int nev;
  const tsr_column **pcol; /* the patients table's fields in this source (NULL: not here) */
} tsr__xsrc;

typedef struct tsr__x {
  const tsr_extract_opts *o;
  int threads;
  tsr_config *cfg;
  char run_manifest_sha[65];
  json_t *manifest;
  tsr__xsrc *src;
  uint32_t ns;
  uint64_t P;             /* patient ids 1..P */
  /* records by patient, over every source: (source << 40) | row */
  uint64_t *roff, *rec;
  /* per patient */
  uint8_t *flag;          /* TSR__PF_* */
  unsigned char *pseud;   /* [P + 1][16] */
  uint32_t *order;        /* included patients in pseudonym order */
  uint64_t norder;
  int64_t **pval;         /* PATIENTS field values [npf][P + 1] (INT64_MIN = missing) */
  int npf;
  int32_t ref_date;       /* age bands of the patients table: age at this date */
  int dob_pf;             /* the patients field holding the date of birth (-1: none) */
  tsr__xtab *tab;
  size_t ntab;
  tsr__xcatalog cat;
  tsr__xtable *ctab;
  tsr__agreement *A;
  int apply_national;
  int want_patient_fields;
  int want_event_dates;
  /* counts */
  uint64_t t1_patients, t1_records, nat_patients, nat_records, cohort_out, gp_only_t1;
  uint64_t t1_listed, nat_listed; /* NHS numbers read from the lists (duplicates counted) */
  json_t *tables_json;    /* what was written, per table */
  json_t *kanon_json, *aggs_json;
  tsr_error *err;
} tsr__x;

enum { TSR__PF_TYPE1 = 1, TSR__PF_NATIONAL = 2, TSR__PF_COHORT = 4, TSR__PF_IN = 8, TSR__PF_HAS_NON_GP = 16 };

/* extract.c: reads one opt-out list (for the fuzz target): the valid NHS
 * numbers it holds, or an error naming the line and column */
int tsr__x_optout_list_count(const char *path, uint64_t *count, tsr_error *err);
/* extract.c: reads a table's run file (spells, cips, registrations) */
int tsr__x_load_pq(tsr__x *X, tsr__xtab *t, tsr_error *err);

/* xtables.c */
int tsr__x_value(const tsr__x *X, const tsr__xtab *t, size_t f, uint64_t row, tsr__xval *v);
int32_t tsr__x_event(const tsr__x *X, const tsr__xtab *t, uint64_t row);
int tsr__x_row_in(const tsr__x *X, const tsr__xtab *t, uint64_t row, int64_t p);
/* The generalised value as text into buf (cap >= 64); 0 when missing. */
int tsr__x_gen_text(const tsr__x *X, const tsr__xtab *t, size_t f, tsr__gen g, uint64_t row, int64_t p, char *buf,
                    size_t cap, size_t *len);
int tsr__x_write_tables(tsr__x *X, const char *dir, uint64_t *rows_total, tsr_error *err);
int tsr__x_kanon(tsr__x *X, tsr_error *err);
int tsr__x_aggregates(tsr__x *X, const char *dir, tsr_error *err);

#endif
