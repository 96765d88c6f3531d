/* libFuzzer harness for the agreement loader (tsr__agreement_parse) against a
 * fixed small catalogue shaped like the generated data's: any bytes must give
 * an agreement or a TSR_ECONFIG error with a message and no agreement, never
 * a crash or a leak. An agreement that loads must keep the loader's promises:
 * every index inside the catalogue, no identifier anywhere, each
 * generalisation allowed for its field's kind, every dimension fitting its
 * field, quasi-identifiers released fields of one table, k >= 2, ordered
 * windows, and the digest the SHA-256 of the bytes. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "extract/agreement.h"
#include "tessera/store.h"

static const tsr__xfield k_patients[] = {
    {"nhs_number", TSR__XK_IDENTIFIER, "an NHS number"},
    {"dob", TSR__XK_BIRTH_DATE, NULL},
    {"sex", TSR__XK_PLAIN, NULL},
    {"postcode", TSR__XK_POSTCODE, NULL},
};
static const tsr__xfield k_spells[] = {
    {"provider", TSR__XK_PLAIN, NULL}, {"admidate", TSR__XK_EVENT_DATE, NULL}, {"disdate", TSR__XK_EVENT_DATE, NULL},
    {"los", TSR__XK_PLAIN, NULL},      {"diag", TSR__XK_PLAIN, NULL},          {"practice", TSR__XK_PLAIN, NULL},
    {"epikey", TSR__XK_IDENTIFIER, "a record id"},
};
static const tsr__xtable k_tables[] = {{"patients", k_patients, 4}, {"spells", k_spells, 7}};
static const tsr__xcatalog k_cat = {k_tables, 2};

static const tsr__xfield *field(uint32_t t, uint32_t f) {
  if (t >= k_cat.ntables || f >= k_cat.tables[t].nfields) abort();
  return &k_cat.tables[t].fields[f];
}

static int gen_fits(tsr__xkind k, tsr__gen g) {
  switch (k) {
  case TSR__XK_PLAIN:
    return g == TSR__GEN_KEEP;
  case TSR__XK_EVENT_DATE:
    return g == TSR__GEN_KEEP || g == TSR__GEN_MONTH;
  case TSR__XK_BIRTH_DATE:
    return g == TSR__GEN_YEAR || g == TSR__GEN_YEAR_MONTH || g == TSR__GEN_AGE_BAND;
  case TSR__XK_POSTCODE:
    return g == TSR__GEN_SECTOR || g == TSR__GEN_DISTRICT || g == TSR__GEN_AREA;
  default:
    return 0;
  }
}

static void check_dim(uint32_t t, const tsr__dim *d) {
  tsr__xkind k = field(t, d->field)->kind;
  if (k == TSR__XK_IDENTIFIER) abort();
  switch (d->fn) {
  case TSR__DIM_VALUE:
    if (k == TSR__XK_BIRTH_DATE || k == TSR__XK_POSTCODE) abort();
    break;
  case TSR__DIM_YEAR:
  case TSR__DIM_MONTH:
    if (k != TSR__XK_EVENT_DATE && k != TSR__XK_BIRTH_DATE) abort();
    break;
  case TSR__DIM_CHAPTER:
    if (k != TSR__XK_PLAIN) abort();
    break;
  default:
    abort();
  }
}

static void check(const tsr__agreement *a, const uint8_t *data, size_t size) {
  if (!a->reference[0] || !a->recipient[0] || !a->purpose[0] || !a->key_file[0]) abort();
  if ((unsigned)a->legal_basis > TSR__LB_ANONYMISED_ICO || (unsigned)a->category > TSR__CAT_ANONYMISED) abort();
  for (size_t i = 0; i < a->n_type1; i++)
    if (!a->optout_type1[i][0]) abort();
  for (size_t i = 0; i < a->n_national; i++)
    if (!a->optout_national[i][0]) abort();
  for (size_t i = 0; i < a->ndiag; i++) {
    size_t n = strlen(a->diag_prefixes[i]);
    if (n < 1 || n > 7 || strspn(a->diag_prefixes[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != n) abort();
  }
  if (a->from != TSR_DATE_NONE && a->to != TSR_DATE_NONE && a->from > a->to) abort();
  if (a->age_min >= 0 && a->age_max >= 0 && a->age_min > a->age_max) abort();
  if (a->age_min < -1 || a->age_max < -1) abort();
  if (!a->ntables && !a->naggs) abort();
  for (size_t i = 0; i < a->ntables; i++) {
    const tsr__xtable_sel *s = &a->tables[i];
    if (!s->nfields) abort();
    for (size_t j = 0; j < i; j++)
      if (a->tables[j].table == s->table) abort();
    for (size_t j = 0; j < s->nfields; j++)
      if (!gen_fits(field(s->table, s->fields[j].field)->kind, s->fields[j].gen)) abort();
  }
  if (a->k < 2 || a->min_k == 1 || (a->on_fail_generalise && !a->min_k)) abort();
  for (size_t i = 0; i < a->nqi; i++) {
    if (a->qi[i].fn != TSR__DIM_VALUE) abort();
    int in = 0;
    for (size_t t = 0; t < a->ntables; t++)
      if (a->tables[t].table == a->qi_table)
        for (size_t j = 0; j < a->tables[t].nfields; j++)
          if (a->tables[t].fields[j].field == a->qi[i].field) in = 1;
    if (!in) abort();
  }
  for (size_t i = 0; i < a->naggs; i++) {
    const tsr__aggregate *g = &a->aggs[i];
    size_t n = strlen(g->name);
    if (n < 1 || n > 64 || g->nrows < 1 || g->nrows > 3) abort();
    for (size_t j = 0; j < i; j++)
      if (strcmp(a->aggs[j].name, g->name) == 0) abort();
    for (size_t r = 0; r < g->nrows; r++) check_dim(g->table, &g->rows[r]);
    check_dim(g->table, &g->column);
  }
  unsigned char d[32];
  crypto_hash_sha256(d, data, size);
  if (memcmp(d, a->sha256, 32) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tsr__agreement *a = (tsr__agreement *)&k_cat; /* must come back NULL on failure */
  tsr_error err;
  tsr_error_clear(&err);
  int rc = tsr__agreement_parse((const char *)data, size, "fuzz.json", "/base", &k_cat, &a, &err);
  if (rc != 0) {
    if ((rc != TSR_ECONFIG && rc != TSR_ENOMEM) || !err.msg[0] || a) abort();
    return 0;
  }
  check(a, data, size);
  tsr__agreement_free(a);
  return 0;
}
