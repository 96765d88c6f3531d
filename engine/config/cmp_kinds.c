/* The comparison kinds of the probabilistic section and the names of their
 * levels (tessera/config.h): the one list config "levels", model JSON,
 * pairs.parquet and the report all use. The level order is the compare
 * stage's enums' order; engine/compare/score.c asserts the counts, and
 * tests/unit/test_score.c the order. */
#include "tessera/config.h"

static const char *const k_cmp_kind_names[TSR_CMP_KIND_COUNT] = {
#define TSR__CK_NAME(id, name) name,
    TSR_CMP_KIND_LIST(TSR__CK_NAME)
#undef TSR__CK_NAME
};

const char *tsr_cmp_kind_name(tsr_cmp_kind k) {
  return (unsigned)k < TSR_CMP_KIND_COUNT ? k_cmp_kind_names[k] : "?";
}

static const char *const k_name_levels[] = {"null", "exact", "exact_std", "jw1", "jw2", "dl1", "dl2",
                                            "phonetic", "initial", "part", "else"};
static const char *const k_full_levels[] = {"null", "exact", "swapped", "both", "family", "given", "else"};
static const char *const k_dob_levels[] = {"null", "exact", "day_month_swapped", "one_digit", "same_year_month",
                                           "within_days", "jan1", "within_years", "else"};
static const char *const k_pc_levels[] = {"null", "full", "sector", "district", "area", "else"};
static const char *const k_nhs_levels[] = {"null", "equal", "near", "different", "else"};
static const char *const k_exact_levels[] = {"null", "equal", "else"};
static const char *const k_text_levels[] = {"null", "exact", "exact_norm", "jw1", "jw2", "dl1", "dl2", "else"};

#define N_OF(a) (uint32_t)(sizeof a / sizeof a[0])

const char *const *tsr_cmp_level_names(tsr_cmp_kind k, uint32_t *n) {
  const char *const *t = NULL;
  uint32_t c = 0;
  switch (k) {
  case TSR_CMP_NAME: t = k_name_levels, c = N_OF(k_name_levels); break;
  case TSR_CMP_FULL_NAME: t = k_full_levels, c = N_OF(k_full_levels); break;
  case TSR_CMP_DOB: t = k_dob_levels, c = N_OF(k_dob_levels); break;
  case TSR_CMP_POSTCODE: t = k_pc_levels, c = N_OF(k_pc_levels); break;
  case TSR_CMP_NHS: t = k_nhs_levels, c = N_OF(k_nhs_levels); break;
  case TSR_CMP_SEX:
  case TSR_CMP_CODE:
  case TSR_CMP_LOCAL_ID: t = k_exact_levels, c = N_OF(k_exact_levels); break;
  case TSR_CMP_TEXT: t = k_text_levels, c = N_OF(k_text_levels); break;
  default: break;
  }
  if (n) *n = c;
  return t;
}
