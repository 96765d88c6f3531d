/* The data-sharing agreement of a research extract: who receives what, on
 * which legal basis, with which fields generalised how, which opt-out lists
 * apply, which cohort, which k-anonymity check and which aggregate tables.
 * This module only reads and checks the agreement file (docs/agreement.md);
 * the extract driver (extract.c) acts on it. Internal to the engine.
 *
 * DESIGN
 *   The loader knows no table or field name. The caller describes what an
 *   extract could hold as a catalogue (tables of fields, each with a kind),
 *   and the agreement refers to it by index:
 *
 *     catalogue  tables[1] = "spells" -> fields[3] = {"admidate", EVENT_DATE}
 *     agreement  tables[0] = {table 1, fields[0] = {field 3, GEN_MONTH}}
 *
 *   The kind decides which generalisations are allowed; an IDENTIFIER field
 *   can never be released, in a table, a k-anonymity check or an aggregate.
 *   Every string and array of a loaded agreement lives in one arena owned
 *   by it, so tsr__agreement_free releases everything at once. Errors are
 *   TSR_ECONFIG (TSR_EIO reading the file) naming the file and the key path,
 *   for example "tables.hes.fields.newnhsno: an NHS number is an identifier
 *   and can never be a field of an extract". */
#ifndef TSR_EXTRACT_AGREEMENT_H
#define TSR_EXTRACT_AGREEMENT_H

#include <stddef.h>
#include <stdint.h>

#include "tessera/common.h"

/* "consent", "section_251", "legal_requirement", "anonymised_ico": the
 * closed list of legal bases. */
typedef enum { TSR__LB_CONSENT, TSR__LB_SECTION_251, TSR__LB_LEGAL_REQUIREMENT, TSR__LB_ANONYMISED_ICO } tsr__legal_basis;
/* "pseudonymised", "anonymised". */
typedef enum { TSR__CAT_PSEUDONYMISED, TSR__CAT_ANONYMISED } tsr__data_category;

/* 1 for consent, legal_requirement and anonymised_ico: the national data
 * opt-out does not apply to releases on these bases (DOMAIN.md "Opt-outs").
 * Type 1 objections apply whatever the basis. */
int tsr__legal_basis_exempt(tsr__legal_basis b);
/* The JSON spelling ("section_251", ...); "?" for a value outside the enum. */
const char *tsr__legal_basis_name(tsr__legal_basis b);
const char *tsr__data_category_name(tsr__data_category c);

/* The catalogue: what tables and fields an extract could hold, built by the
 * caller from the run. The loader keeps pointers into it only while
 * parsing; the agreement holds indexes. */
typedef enum {
  TSR__XK_PLAIN,      /* codes, integers, sex, counts: "keep" only */
  TSR__XK_EVENT_DATE, /* "keep" or "month" */
  TSR__XK_BIRTH_DATE, /* "year", "year_month" or "age_band" (5-year band at the row's event): never kept whole */
  TSR__XK_POSTCODE,   /* "sector", "district" or "area": never kept whole */
  TSR__XK_IDENTIFIER  /* never: names, NHS numbers, local patient ids, record ids, addresses, free text */
} tsr__xkind;
typedef struct {
  const char *name;
  tsr__xkind kind;
  const char *what; /* for messages, "an NHS number"; NULL: a phrase from the kind */
} tsr__xfield;
typedef struct {
  const char *name;
  const tsr__xfield *fields;
  size_t nfields;
} tsr__xtable;
typedef struct {
  const tsr__xtable *tables;
  size_t ntables;
} tsr__xcatalog;

/* "keep", "month", "year", "year_month", "age_band", "sector", "district",
 * "area". */
typedef enum {
  TSR__GEN_KEEP,
  TSR__GEN_MONTH,
  TSR__GEN_YEAR,
  TSR__GEN_YEAR_MONTH,
  TSR__GEN_AGE_BAND,
  TSR__GEN_SECTOR,
  TSR__GEN_DISTRICT,
  TSR__GEN_AREA
} tsr__gen;
const char *tsr__gen_name(tsr__gen g);

typedef struct {
  uint32_t field; /* index in the catalogue table's fields */
  tsr__gen gen;
} tsr__xsel;
typedef struct {
  uint32_t table; /* index in the catalogue */
  tsr__xsel *fields;
  size_t nfields; /* >= 1, in the agreement's order */
} tsr__xtable_sel;

/* A dimension "field" (VALUE) or "field:year" / "field:month" (an event or
 * birth date reduced to "YYYY" / "YYYY-MM") or "field:chapter" (the ICD-10
 * chapter of a plain code field). */
typedef enum { TSR__DIM_VALUE, TSR__DIM_YEAR, TSR__DIM_MONTH, TSR__DIM_CHAPTER } tsr__dim_fn;
const char *tsr__dim_fn_name(tsr__dim_fn f); /* "value", "year", "month", "chapter" */
typedef struct {
  uint32_t field; /* index in the catalogue table's fields */
  tsr__dim_fn fn;
} tsr__dim;
typedef struct {
  char *name;     /* [A-Za-z0-9_]{1,64}, unique: the output file is aggregates/<name>.csv */
  uint32_t table; /* catalogue table it counts */
  tsr__dim *rows;
  size_t nrows;       /* 1..3 dimensions, their tuple is the row key */
  tsr__dim column;    /* the column key */
  int count_patients; /* "count": "rows" (default, 0) or "patients" (1: distinct pseudonyms) */
} tsr__aggregate;

typedef struct tsr__agreement {
  char *reference, *recipient, *purpose; /* non-empty; reference printable ASCII, e.g. DARS-NIC-000001 */
  tsr__legal_basis legal_basis;
  tsr__data_category category;
  char *key_file; /* resolved against the agreement file's folder */
  /* "opt_outs": {"type1": [paths], "national": [paths]}, resolved likewise;
   * both keys required, either list may be empty */
  char **optout_type1;
  size_t n_type1;
  char **optout_national;
  size_t n_national;
  /* "cohort" (optional; absent = every patient): */
  char **diag_prefixes; /* upper-cased, [A-Z0-9]{1,7}; ndiag 0 = any diagnosis */
  size_t ndiag;
  int32_t from, to;         /* event date range, inclusive, days since 1970 (TSR_DATE_NONE = open) */
  int32_t age_min, age_max; /* age at event in whole years, -1 = open */
  tsr__xtable_sel *tables;  /* "tables": {"<table>": {"fields": {"<field>": "<gen>"}}} */
  size_t ntables;
  /* "k_anonymity" (optional; nqi 0 when absent): quasi-identifiers, all
   * fields of table qi_table that the extract releases; fn is always VALUE
   * (the class is formed on the released, generalised value) */
  tsr__dim *qi;
  uint32_t qi_table;
  size_t nqi;
  uint32_t k;             /* default 5, >= 2 */
  uint32_t min_k;         /* 0 = report only, else >= 2 */
  int on_fail_generalise; /* "on_fail": "refuse" (default, 0) or "generalise" (1) */
  tsr__aggregate *aggs;   /* "aggregates": [...] */
  size_t naggs;
  unsigned char sha256[32]; /* SHA-256 of the file's bytes: the agreement digest */
} tsr__agreement;

/* Reads and checks the agreement file at path against cat. On success *out
 * is a new agreement (free with tsr__agreement_free); on failure *out is
 * NULL and err says why (TSR_EIO, TSR_ELIMIT over 16 MiB, TSR_ECONFIG,
 * TSR_ENOMEM). Relative paths in the file resolve against its folder. */
int tsr__agreement_load(const char *path, const tsr__xcatalog *cat, tsr__agreement **out, tsr_error *err);
/* The same from bytes: name labels errors (NULL: "<agreement>"), base_dir
 * resolves relative paths (NULL or "": left as written). The digest is of
 * exactly json[0..len). Thread-safe for distinct outputs. */
int tsr__agreement_parse(const char *json, size_t len, const char *name, const char *base_dir,
                         const tsr__xcatalog *cat, tsr__agreement **out, tsr_error *err);
/* NULL allowed. */
void tsr__agreement_free(tsr__agreement *a);

#endif
