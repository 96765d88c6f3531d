/* The "probabilistic" section of the run config: the comparisons (what each
 * compares, which agreement levels it uses, their options), the blocking
 * rules that give the candidate pairs, EM's training rules, and the
 * options of the model and of the clustering (tessera/config.h,
 * tsr_prob_cfg). Documented in docs/config.md ("The probabilistic
 * section").
 *
 * DESIGN
 *   A comparison object is read in three steps. Its kind comes first, since
 *   it decides everything else. Then the option keys, each checked against
 *   the kinds it applies to (k_opts), so "within_days" on a name comparison
 *   is an error instead of being ignored. Then its field(s): each must be in
 *   a source taking part, with one field kind in every source that has it,
 *   and that kind must fit the comparison kind (field_fits). Checks over the
 *   whole list follow: unique names, at most TSR_MAX_COMPARISONS, and the
 *   width of a packed agreement pattern (each comparison takes
 *   ceil(log2 levels) bits of a uint32_t, engine/model/model.h; a model
 *   refuses more than 32, and the config says so first, with the key).
 *   Rules reuse link.c's parser (tsr__cfg_parse_rule) without "merge".
 *   Without "training", prob.training points at the blocking rules: the
 *   same array, not a copy (the config is read-only once parsed). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/common_internal.h"
#include "config/config_internal.h"

#define KB(id) (1u << TSR_CMP_##id)
#define ALL_KINDS ((1u << TSR_CMP_KIND_COUNT) - 1u)
#define MAX_RULES 64
#define NAME_MAX_LEN 64

void tsr__cfg_prob_defaults(tsr_config *cfg) {
  tsr_prob_cfg *p = &cfg->prob;
  memset(p, 0, sizeof *p);
  p->threshold = 0.95;
  p->pairs_floor = 0.01;
  p->seed = 42;
  p->u_max_pairs = 3000000;
  p->u_min_obs = 100;
  p->train_max_pairs = 2000000;
  p->em_max_iter = 500;
  p->em_tol = 1e-7;
  p->assumed_recall = 0.0;
  p->tf_min = 1e-4;
  p->max_block_size = cfg->link.max_block_size;
  p->join_clusters = 1;
  p->split_clusters = 0;
}

/* The options of a comparison and the kinds each applies to; "name",
 * "kind", "levels" and "m_start" apply to every kind. */
static const struct {
  const char *key;
  uint32_t kinds;
} k_opts[] = {
    {"field", ALL_KINDS & ~KB(FULL_NAME)},
    {"fields", KB(FULL_NAME)},
    {"tf", KB(NAME) | KB(FULL_NAME) | KB(POSTCODE) | KB(TEXT) | KB(CODE)},
    {"jaro_winkler", KB(NAME) | KB(TEXT)},
    {"damerau_levenshtein", KB(NAME) | KB(TEXT)},
    {"phonetic", KB(NAME)},
    {"swap_jaro_winkler", KB(FULL_NAME)},
    {"within_days", KB(DOB)},
    {"within_years", KB(DOB)},
    {"scope", KB(LOCAL_ID)},
};
#define N_OPTS (sizeof k_opts / sizeof k_opts[0])

/* "a, b and c" (last " and ") over the names of the kinds in mask. */
static void kind_list(uint32_t mask, const char *last, char *out, size_t cap) {
  uint32_t n = (uint32_t)__builtin_popcount(mask), i = 0;
  out[0] = '\0';
  for (uint32_t k = 0; k < TSR_CMP_KIND_COUNT; k++) {
    if (!(mask >> k & 1)) continue;
    size_t l = strlen(out);
    snprintf(out + l, cap - l, "%s%s", i == 0 ? "" : i + 1 == n ? last : ", ", tsr_cmp_kind_name((tsr_cmp_kind)k));
    i++;
  }
}

/* The field kinds a comparison kind compares (second: full_name's second
 * field), as a bit mask over tsr_field_kind, and in words. */
static uint32_t field_fits(tsr_cmp_kind k, int second, const char **words) {
#define FB(id) (1u << TSR_KIND_##id)
  switch (k) {
  case TSR_CMP_NAME:
    *words = "a given_name or family_name field";
    return FB(GIVEN_NAME) | FB(FAMILY_NAME);
  case TSR_CMP_FULL_NAME:
    *words = "a given_name field first, then a family_name field";
    return second ? FB(FAMILY_NAME) : FB(GIVEN_NAME);
  case TSR_CMP_DOB:
    *words = "a date field";
    return FB(DATE);
  case TSR_CMP_POSTCODE:
    *words = "a postcode field";
    return FB(POSTCODE);
  case TSR_CMP_NHS:
    *words = "an nhs_number field";
    return FB(NHS_NUMBER);
  case TSR_CMP_SEX:
    *words = "a sex field";
    return FB(SEX);
  case TSR_CMP_CODE:
    *words = "a code field";
    return FB(CODE);
  case TSR_CMP_LOCAL_ID:
    *words = "a local_id field";
    return FB(LOCAL_ID);
  case TSR_CMP_TEXT:
    *words = "a text, local_id, given_name or family_name field";
    return FB(TEXT) | FB(LOCAL_ID) | FB(GIVEN_NAME) | FB(FAMILY_NAME);
  default:
    *words = "nothing";
    return 0;
  }
#undef FB
}

/* v at path p as a number in lo..hi; lo_in / hi_in include the ends. */
static int num_in(tsr__cfg_ctx *c, const char *p, const json_t *v, double lo, int lo_in, double hi, int hi_in,
                  double *out) {
  char range[64];
  snprintf(range, sizeof range, "%c%g, %g%c", lo_in ? '[' : '(', lo, hi, hi_in ? ']' : ')');
  if (!json_is_number(v)) return tsr__cfg_fail(c, p, "expected a number in %s, got %s", range, tsr__cfg_type_name(v));
  double d = json_number_value(v);
  if (!(lo_in ? d >= lo : d > lo) || !(hi_in ? d <= hi : d < hi))
    return tsr__cfg_fail(c, p, "expected a number in %s, got %g", range, d);
  *out = d;
  return 0;
}

/* obj[key] through num_in; *out untouched when the key is absent. */
static int get_num(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *key, double lo, int lo_in,
                   double hi, int hi_in, double *out) {
  const json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, key);
  return num_in(c, p, v, lo, lo_in, hi, hi_in, out);
}

/* obj[key], an integer in [lo, hi], into a uint32_t. */
static int get_u32(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *key, uint32_t lo, uint32_t hi,
                   uint32_t *out) {
  uint64_t u = *out;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_uint(c, obj, path, key, lo, hi, &u));
  *out = (uint32_t)u;
  return 0;
}

/* A comparison name: 1 to NAME_MAX_LEN letters, digits and '_' (it becomes
 * the pairs.parquet column gamma_<name>, and a SQL name in the Splink
 * export). */
static int valid_cmp_name(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > NAME_MAX_LEN) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_')) return 0;
  return 1;
}

/* The kind of `field` in the sources taking part, for the key at path;
 * *have gets the sources that have it. Fails when none has it or two
 * disagree on its kind. */
static int field_kind(tsr__cfg_ctx *c, const char *path, const tsr_config *cfg, const char *field, tsr_field_kind *kind,
                      uint64_t *have) {
  *have = 0;
  int anywhere = 0;
  for (uint32_t si = 0; si < cfg->n_sources; si++) {
    const tsr_column_cfg *col = tsr__cfg_source_field(&cfg->sources[si], field);
    if (!col) continue;
    anywhere = 1;
    if (!(cfg->link.source_mask >> si & 1)) continue;
    if (*have && col->kind != *kind)
      return tsr__cfg_fail(c, path, "field \"%s\" is a %s in one source and a %s in another", field,
                           tsr_field_kind_name(*kind), tsr_field_kind_name(col->kind));
    *kind = col->kind;
    *have |= 1ull << si;
  }
  if (!anywhere) return tsr__cfg_fail(c, path, "unknown field \"%s\": no source maps a column to it", field);
  if (!*have)
    return tsr__cfg_fail(c, path, "field \"%s\" is only in sources that do not take part (see link.sources)", field);
  return 0;
}

/* The string at path p (a compared field) resolved, checked against the
 * comparison kind, and copied into *out. */
static int cmp_field(tsr__cfg_ctx *c, const char *p, const json_t *v, const tsr_config *cfg, tsr_cmp_kind kind,
                     int second, char **out, uint64_t *have) {
  if (!json_is_string(v)) return tsr__cfg_fail(c, p, "expected a field name, got %s", tsr__cfg_type_name(v));
  const char *f = json_string_value(v);
  if (!tsr__cfg_valid_name(f)) return tsr__cfg_fail(c, p, "expected a field name, got \"%s\"", f);
  tsr_field_kind fk = TSR_KIND_TEXT;
  TSR_FORWARD_IF_ERROR(field_kind(c, p, cfg, f, &fk, have));
  const char *words;
  if (!(field_fits(kind, second, &words) >> fk & 1))
    return tsr__cfg_fail(c, p, "field \"%s\" is a %s; kind %s compares %s", f, tsr_field_kind_name(fk),
                         tsr_cmp_kind_name(kind), words);
  return (*out = tsr__cfg_strdup(c, f)) ? 0 : TSR_ENOMEM;
}

/* "levels": the enabled levels by name; null and else are implicit. */
static int parse_levels(tsr__cfg_ctx *c, const char *path, const json_t *v, tsr_cmp_kind kind, uint32_t *enabled) {
  uint32_t n = 0;
  const char *const *names = tsr_cmp_level_names(kind, &n);
  char list[400] = "";
  for (uint32_t l = 1; l + 1 < n; l++) {
    size_t len = strlen(list);
    snprintf(list + len, sizeof list - len, "%s%s", l > 1 ? ", " : "", names[l]);
  }
  if (!json_is_array(v) || json_array_size(v) == 0)
    return tsr__cfg_fail(c, path, "expected a non-empty list of level names of kind %s (%s), got %s",
                         tsr_cmp_kind_name(kind), list, json_is_array(v) ? "[]" : tsr__cfg_type_name(v));
  uint32_t bits = 1u | 1u << (n - 1);
  for (size_t i = 0; i < json_array_size(v); i++) {
    const json_t *e = json_array_get(v, i);
    char p[TSR__CFG_PATH_MAX];
    tsr__cfg_path_index(p, sizeof p, path, i);
    if (!json_is_string(e)) return tsr__cfg_fail(c, p, "expected a level name, got %s", tsr__cfg_type_name(e));
    const char *s = json_string_value(e);
    uint32_t l = 0;
    while (l < n && strcmp(names[l], s) != 0) l++;
    if (l == 0 || l + 1 == n)
      return tsr__cfg_fail(c, p, "\"%s\" is implicit and may not be listed (every comparison has null and else)", s);
    if (l == n)
      return tsr__cfg_fail(c, p, "\"%s\" is not a level of kind %s; expected one of %s", s, tsr_cmp_kind_name(kind),
                           list);
    if (bits >> l & 1) return tsr__cfg_fail(c, p, "\"%s\" is listed twice", s);
    bits |= 1u << l;
  }
  *enabled = bits;
  return 0;
}

/* "jaro_winkler": [t1, t2], each in (0, 1], t1 >= t2. */
static int parse_jw(tsr__cfg_ctx *c, const char *path, const json_t *v, double *t1, double *t2) {
  if (!json_is_array(v) || json_array_size(v) != 2)
    return tsr__cfg_fail(c, path, "expected [t1, t2], two numbers in (0, 1] with t1 >= t2, got %s",
                         tsr__cfg_type_name(v));
  double t[2];
  for (size_t i = 0; i < 2; i++) {
    char p[TSR__CFG_PATH_MAX];
    tsr__cfg_path_index(p, sizeof p, path, i);
    TSR_FORWARD_IF_ERROR(num_in(c, p, json_array_get(v, i), 0.0, 0, 1.0, 1, &t[i]));
  }
  if (t[0] < t[1]) return tsr__cfg_fail(c, path, "t1 %g is below t2 %g (expected t1 >= t2)", t[0], t[1]);
  *t1 = t[0];
  *t2 = t[1];
  return 0;
}

/* "damerau_levenshtein": [d1, d2], integers 1 to 8, d1 <= d2. */
static int parse_dl(tsr__cfg_ctx *c, const char *path, const json_t *v, uint32_t *d1, uint32_t *d2) {
  if (!json_is_array(v) || json_array_size(v) != 2)
    return tsr__cfg_fail(c, path, "expected [d1, d2], two integers from 1 to 8 with d1 <= d2, got %s",
                         tsr__cfg_type_name(v));
  json_int_t d[2];
  for (size_t i = 0; i < 2; i++) {
    char p[TSR__CFG_PATH_MAX];
    tsr__cfg_path_index(p, sizeof p, path, i);
    const json_t *e = json_array_get(v, i);
    if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > 8)
      return tsr__cfg_fail(c, p, "expected an integer from 1 to 8");
    d[i] = json_integer_value(e);
  }
  if (d[0] > d[1])
    return tsr__cfg_fail(c, path, "d1 %lld is above d2 %lld (expected d1 <= d2)", (long long)d[0], (long long)d[1]);
  *d1 = (uint32_t)d[0];
  *d2 = (uint32_t)d[1];
  return 0;
}

/* "phonetic": a non-empty list of "soundex" and "nysiis" -> bit 0, bit 1. */
static int parse_phonetic(tsr__cfg_ctx *c, const char *path, const json_t *v, uint32_t *out) {
  if (!json_is_array(v) || json_array_size(v) == 0)
    return tsr__cfg_fail(c, path,
                         "expected a non-empty list of \"soundex\" and \"nysiis\" (leave \"phonetic\" out of "
                         "\"levels\" to drop the level), got %s",
                         json_is_array(v) ? "[]" : tsr__cfg_type_name(v));
  uint32_t bits = 0;
  for (size_t i = 0; i < json_array_size(v); i++) {
    const json_t *e = json_array_get(v, i);
    char p[TSR__CFG_PATH_MAX];
    tsr__cfg_path_index(p, sizeof p, path, i);
    const char *s = json_is_string(e) ? json_string_value(e) : "";
    uint32_t b = strcmp(s, "soundex") == 0 ? 1u : strcmp(s, "nysiis") == 0 ? 2u : 0u;
    if (!b) {
      if (!json_is_string(e))
        return tsr__cfg_fail(c, p, "expected \"soundex\" or \"nysiis\", got %s", tsr__cfg_type_name(e));
      return tsr__cfg_fail(c, p, "expected \"soundex\" or \"nysiis\", got \"%s\"", s);
    }
    if (bits & b) return tsr__cfg_fail(c, p, "\"%s\" is listed twice", s);
    bits |= b;
  }
  *out = bits;
  return 0;
}

static void cmp_defaults(tsr_cmp_cfg *m, tsr_cmp_kind kind) {
  uint32_t n = 0;
  (void)tsr_cmp_level_names(kind, &n);
  memset(m, 0, sizeof *m);
  m->kind = kind;
  m->enabled = n >= 32 ? ~0u : (1u << n) - 1u;
  m->jw1 = 0.92;
  m->jw2 = 0.88;
  m->dl1 = 1;
  m->dl2 = 2;
  m->phonetic = 3;
  m->swap_jw = 0.92;
  m->within_days = 30;
  m->within_years = 1;
  m->tf = 0;
  m->m_start = 0.9;
}

static int parse_cmp(tsr__cfg_ctx *c, const char *path, const json_t *v, const tsr_config *cfg, tsr_cmp_cfg *m) {
  static const char *const keys[] = {"name",
                                     "kind",
                                     "field",
                                     "fields",
                                     "levels",
                                     "tf",
                                     "jaro_winkler",
                                     "damerau_levenshtein",
                                     "phonetic",
                                     "swap_jaro_winkler",
                                     "within_days",
                                     "within_years",
                                     "scope",
                                     "m_start",
                                     NULL};
  char p[TSR__CFG_PATH_MAX];
  if (!json_is_object(v))
    return tsr__cfg_fail(c, path,
                         "expected an object such as {\"name\": \"dob\", \"kind\": \"date_of_birth\", \"field\": "
                         "\"dob\"}, got %s",
                         tsr__cfg_type_name(v));
  TSR_FORWARD_IF_ERROR(tsr__cfg_check_keys(c, v, path, keys));
  /* 1. the kind */
  const char *ks = NULL;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, v, path, "kind", 1, &ks));
  uint32_t kind = 0;
  while (kind < TSR_CMP_KIND_COUNT && strcmp(tsr_cmp_kind_name((tsr_cmp_kind)kind), ks) != 0) kind++;
  if (kind == TSR_CMP_KIND_COUNT) {
    char all[200];
    kind_list(ALL_KINDS, " or ", all, sizeof all);
    tsr__cfg_path(p, sizeof p, path, "kind");
    return tsr__cfg_fail(c, p, "unknown comparison kind \"%s\" (expected %s)", ks, all);
  }
  cmp_defaults(m, (tsr_cmp_kind)kind);
  /* 2. the options, each on the kinds it applies to */
  for (size_t i = 0; i < N_OPTS; i++) {
    if (!json_object_get(v, k_opts[i].key) || (k_opts[i].kinds >> kind & 1)) continue;
    tsr__cfg_path(p, sizeof p, path, k_opts[i].key);
    if (kind == TSR_CMP_FULL_NAME && strcmp(k_opts[i].key, "field") == 0)
      return tsr__cfg_fail(c, p, "kind full_name takes \"fields\": [given-name field, family-name field]");
    if (strcmp(k_opts[i].key, "fields") == 0)
      return tsr__cfg_fail(c, p, "kind %s takes one \"field\" (\"fields\" is for full_name)", ks);
    char kinds[200];
    kind_list(k_opts[i].kinds, " and ", kinds, sizeof kinds);
    return tsr__cfg_fail(c, p, "does not apply to kind %s (only to %s)", ks, kinds);
  }
  const json_t *o;
  if ((o = json_object_get(v, "levels"))) {
    tsr__cfg_path(p, sizeof p, path, "levels");
    TSR_FORWARD_IF_ERROR(parse_levels(c, p, o, m->kind, &m->enabled));
  }
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_bool(c, v, path, "tf", &m->tf));
  /* every kind tf applies to has its exact level at index 1 */
  if (m->tf && !(m->enabled >> 1 & 1)) {
    tsr__cfg_path(p, sizeof p, path, "tf");
    return tsr__cfg_fail(c, p, "adjusts the \"%s\" level, which \"levels\" leaves out",
                         tsr_cmp_level_names(m->kind, NULL)[1]);
  }
  if ((o = json_object_get(v, "jaro_winkler"))) {
    tsr__cfg_path(p, sizeof p, path, "jaro_winkler");
    TSR_FORWARD_IF_ERROR(parse_jw(c, p, o, &m->jw1, &m->jw2));
  }
  if ((o = json_object_get(v, "damerau_levenshtein"))) {
    tsr__cfg_path(p, sizeof p, path, "damerau_levenshtein");
    TSR_FORWARD_IF_ERROR(parse_dl(c, p, o, &m->dl1, &m->dl2));
  }
  if ((o = json_object_get(v, "phonetic"))) {
    tsr__cfg_path(p, sizeof p, path, "phonetic");
    TSR_FORWARD_IF_ERROR(parse_phonetic(c, p, o, &m->phonetic));
  }
  TSR_FORWARD_IF_ERROR(get_num(c, v, path, "swap_jaro_winkler", 0.0, 0, 1.0, 1, &m->swap_jw));
  uint32_t u = (uint32_t)m->within_days;
  TSR_FORWARD_IF_ERROR(get_u32(c, v, path, "within_days", 0, 36525, &u));
  m->within_days = (int32_t)u;
  u = (uint32_t)m->within_years;
  TSR_FORWARD_IF_ERROR(get_u32(c, v, path, "within_years", 1, 150, &u));
  m->within_years = (int32_t)u;
  TSR_FORWARD_IF_ERROR(get_num(c, v, path, "m_start", 0.0, 0, 1.0, 0, &m->m_start));
  /* 3. the field(s) */
  uint64_t have = 0;
  if (m->kind == TSR_CMP_FULL_NAME) {
    const json_t *f = json_object_get(v, "fields");
    tsr__cfg_path(p, sizeof p, path, "fields");
    if (!f) return tsr__cfg_fail(c, p, "required key is missing ([given-name field, family-name field])");
    if (!json_is_array(f) || json_array_size(f) != 2)
      return tsr__cfg_fail(c, p, "expected [given-name field, family-name field], got %s", tsr__cfg_type_name(f));
    uint64_t have2 = 0;
    char pi[TSR__CFG_PATH_MAX];
    tsr__cfg_path_index(pi, sizeof pi, p, 0);
    TSR_FORWARD_IF_ERROR(cmp_field(c, pi, json_array_get(f, 0), cfg, m->kind, 0, &m->field, &have));
    tsr__cfg_path_index(pi, sizeof pi, p, 1);
    TSR_FORWARD_IF_ERROR(cmp_field(c, pi, json_array_get(f, 1), cfg, m->kind, 1, &m->field2, &have2));
  } else {
    const json_t *f = json_object_get(v, "field");
    tsr__cfg_path(p, sizeof p, path, "field");
    if (!f) return tsr__cfg_fail(c, p, "required key is missing");
    TSR_FORWARD_IF_ERROR(cmp_field(c, p, f, cfg, m->kind, 0, &m->field, &have));
  }
  const char *scope = NULL;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, v, path, "scope", 0, &scope));
  if (scope) {
    tsr__cfg_path(p, sizeof p, path, "scope");
    if (!tsr__cfg_valid_name(scope)) return tsr__cfg_fail(c, p, "expected a field name, got \"%s\"", scope);
    tsr_field_kind sk = TSR_KIND_TEXT;
    uint64_t shave = 0;
    TSR_FORWARD_IF_ERROR(field_kind(c, p, cfg, scope, &sk, &shave));
    if (sk != TSR_KIND_CODE)
      return tsr__cfg_fail(c, p, "field \"%s\" is a %s; a scope must be a code field (such as a provider code)", scope,
                           tsr_field_kind_name(sk));
    /* a source with the id but no scope would compare nothing: say so */
    uint64_t miss = have & ~shave;
    if (miss)
      return tsr__cfg_fail(c, p, "source \"%s\" has field \"%s\" but no scope field \"%s\"",
                           cfg->sources[__builtin_ctzll(miss)].name, m->field, scope);
    if (!(m->field2 = tsr__cfg_strdup(c, scope))) return TSR_ENOMEM;
  }
  /* the name, by default the field's */
  const char *name = NULL;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, v, path, "name", 0, &name));
  if (name) {
    tsr__cfg_path(p, sizeof p, path, "name");
    if (!valid_cmp_name(name))
      return tsr__cfg_fail(c, p, "expected 1 to %d letters, digits or '_', got \"%s\"", NAME_MAX_LEN, name);
  } else {
    name = m->kind == TSR_CMP_FULL_NAME ? "full_name" : m->field;
    if (!valid_cmp_name(name))
      return tsr__cfg_fail(c, path,
                           "the name defaults to the field, \"%s\", which is not a comparison name (1 to %d "
                           "letters, digits or '_'); give a \"name\"",
                           name, NAME_MAX_LEN);
  }
  return (m->name = tsr__cfg_strdup(c, name)) ? 0 : TSR_ENOMEM;
}

/* Bits of a packed pattern a kind takes: ceil(log2 levels), at least 1
 * (engine/model/model.h). */
static uint32_t kind_bits(tsr_cmp_kind k) {
  uint32_t n = 0, b = 1;
  (void)tsr_cmp_level_names(k, &n);
  while ((1u << b) < n) b++;
  return b;
}

static int parse_cmps(tsr__cfg_ctx *c, const json_t *v, const tsr_config *cfg, tsr_prob_cfg *pc) {
  const char *path = "probabilistic.comparisons";
  if (!v) return tsr__cfg_fail(c, path, "required key is missing (a list of 1 to %d comparisons)", TSR_MAX_COMPARISONS);
  if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > TSR_MAX_COMPARISONS) {
    char got[32];
    snprintf(got, sizeof got, "%zu", json_array_size(v));
    return tsr__cfg_fail(c, path, "expected a list of 1 to %d comparisons, got %s", TSR_MAX_COMPARISONS,
                         json_is_array(v) ? got : tsr__cfg_type_name(v));
  }
  pc->n_cmp = (uint32_t)json_array_size(v);
  if (!(pc->cmp = tsr__cfg_alloc(c, sizeof(tsr_cmp_cfg) * pc->n_cmp))) return TSR_ENOMEM;
  uint32_t bits = 0;
  for (uint32_t i = 0; i < pc->n_cmp; i++) {
    char p[TSR__CFG_PATH_MAX];
    tsr__cfg_path_index(p, sizeof p, path, i);
    TSR_FORWARD_IF_ERROR(parse_cmp(c, p, json_array_get(v, i), cfg, &pc->cmp[i]));
    for (uint32_t j = 0; j < i; j++) {
      if (strcmp(pc->cmp[j].name, pc->cmp[i].name) == 0)
        return tsr__cfg_fail(c, p,
                             "comparison name \"%s\" is used twice (also comparisons[%u]; a name defaults to "
                             "the field)",
                             pc->cmp[i].name, j);
      /* names become column names (gamma_<name>), which SQL reads
       * without regard to case */
      if (strcasecmp(pc->cmp[j].name, pc->cmp[i].name) == 0)
        return tsr__cfg_fail(c, p,
                             "comparison name \"%s\" differs only in case from comparisons[%u] \"%s\" (names "
                             "become column names, which SQL compares without case)",
                             pc->cmp[i].name, j, pc->cmp[j].name);
    }
    bits += kind_bits(pc->cmp[i].kind);
  }
  if (bits > 32) {
    char per[300] = "";
    for (uint32_t k = 0; k < TSR_CMP_KIND_COUNT; k++) {
      size_t l = strlen(per);
      snprintf(per + l, sizeof per - l, "%s%s %u", k ? ", " : "", tsr_cmp_kind_name((tsr_cmp_kind)k),
               kind_bits((tsr_cmp_kind)k));
    }
    return tsr__cfg_fail(c, path,
                         "the comparisons need %u bits of agreement pattern and a pattern holds 32 (bits per "
                         "comparison: %s)",
                         bits, per);
  }
  return 0;
}

/* "blocking" / "training": a non-empty list of rules with unique names. */
static int parse_rules(tsr__cfg_ctx *c, const char *path, const json_t *v, tsr_config *cfg, tsr_rule_cfg **out,
                       uint32_t *n) {
  if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > MAX_RULES) {
    char got[32];
    snprintf(got, sizeof got, "%zu", json_array_size(v));
    return tsr__cfg_fail(c, path,
                         "expected a list of 1 to %d rules such as {\"name\": \"dob\", \"fields\": [\"dob\"]}, got %s",
                         MAX_RULES, json_is_array(v) ? got : tsr__cfg_type_name(v));
  }
  uint32_t nr = (uint32_t)json_array_size(v);
  tsr_rule_cfg *r = tsr__cfg_alloc(c, sizeof(tsr_rule_cfg) * nr);
  if (!r) return TSR_ENOMEM;
  for (uint32_t i = 0; i < nr; i++) {
    char p[TSR__CFG_PATH_MAX];
    tsr__cfg_path_index(p, sizeof p, path, i);
    TSR_FORWARD_IF_ERROR(tsr__cfg_parse_rule(c, p, json_array_get(v, i), cfg, 0, &r[i]));
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(r[j].name, r[i].name) == 0) return tsr__cfg_fail(c, p, "rule name \"%s\" is used twice", r[i].name);
  }
  *out = r;
  *n = nr;
  return 0;
}

int tsr__cfg_parse_prob(tsr__cfg_ctx *c, const json_t *v, const char *base_dir, tsr_config *cfg) {
  static const char *const keys[] = {"comparisons",
                                     "blocking",
                                     "training",
                                     "threshold",
                                     "pairs_floor",
                                     "u",
                                     "em",
                                     "seed",
                                     "train_max_pairs",
                                     "assumed_recall",
                                     "tf_min",
                                     "max_block_size",
                                     "join_clusters",
                                     "split_clusters",
                                     NULL};
  static const char *const u_keys[] = {"max_pairs", "min_observations", NULL};
  static const char *const em_keys[] = {"max_iterations", "tolerance", NULL};
  (void)base_dir;
  const char *path = "probabilistic";
  tsr_prob_cfg *pc = &cfg->prob;
  if (!json_is_object(v)) return tsr__cfg_fail(c, path, "expected an object, got %s", tsr__cfg_type_name(v));
  TSR_FORWARD_IF_ERROR(tsr__cfg_check_keys(c, v, path, keys));
  pc->present = 1;
  TSR_FORWARD_IF_ERROR(parse_cmps(c, json_object_get(v, "comparisons"), cfg, pc));
  const json_t *b = json_object_get(v, "blocking");
  if (!b) return tsr__cfg_fail(c, "probabilistic.blocking", "required key is missing (a list of rules)");
  TSR_FORWARD_IF_ERROR(parse_rules(c, "probabilistic.blocking", b, cfg, &pc->blocking, &pc->n_blocking));
  const json_t *t = json_object_get(v, "training");
  if (t) {
    TSR_FORWARD_IF_ERROR(parse_rules(c, "probabilistic.training", t, cfg, &pc->training, &pc->n_training));
  } else {
    pc->training = pc->blocking;
    pc->n_training = pc->n_blocking;
  }
  TSR_FORWARD_IF_ERROR(get_num(c, v, path, "threshold", 0.0, 0, 1.0, 0, &pc->threshold));
  TSR_FORWARD_IF_ERROR(get_num(c, v, path, "pairs_floor", 0.0, 0, 1.0, 0, &pc->pairs_floor));
  if (pc->pairs_floor > pc->threshold)
    return tsr__cfg_fail(c, "probabilistic.pairs_floor",
                         "%g is above the threshold %g (pairs.parquet would leave out linked pairs)", pc->pairs_floor,
                         pc->threshold);
  const json_t *o;
  if ((o = json_object_get(v, "u"))) {
    if (!json_is_object(o))
      return tsr__cfg_fail(c, "probabilistic.u", "expected an object, got %s", tsr__cfg_type_name(o));
    TSR_FORWARD_IF_ERROR(tsr__cfg_check_keys(c, o, "probabilistic.u", u_keys));
    TSR_FORWARD_IF_ERROR(
        tsr__cfg_get_uint(c, o, "probabilistic.u", "max_pairs", 1, 1000000000000ull, &pc->u_max_pairs));
    TSR_FORWARD_IF_ERROR(
        tsr__cfg_get_uint(c, o, "probabilistic.u", "min_observations", 1, 1000000000ull, &pc->u_min_obs));
  }
  if ((o = json_object_get(v, "em"))) {
    if (!json_is_object(o))
      return tsr__cfg_fail(c, "probabilistic.em", "expected an object, got %s", tsr__cfg_type_name(o));
    TSR_FORWARD_IF_ERROR(tsr__cfg_check_keys(c, o, "probabilistic.em", em_keys));
    TSR_FORWARD_IF_ERROR(get_u32(c, o, "probabilistic.em", "max_iterations", 1, 1000000, &pc->em_max_iter));
    TSR_FORWARD_IF_ERROR(get_num(c, o, "probabilistic.em", "tolerance", 0.0, 0, 1.0, 0, &pc->em_tol));
  }
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_uint(c, v, path, "seed", 0, (uint64_t)INT64_MAX, &pc->seed));
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_uint(c, v, path, "train_max_pairs", 1, 1000000000000ull, &pc->train_max_pairs));
  TSR_FORWARD_IF_ERROR(get_num(c, v, path, "assumed_recall", 0.0, 1, 1.0, 1, &pc->assumed_recall));
  TSR_FORWARD_IF_ERROR(get_num(c, v, path, "tf_min", 0.0, 0, 1.0, 0, &pc->tf_min));
  TSR_FORWARD_IF_ERROR(get_u32(c, v, path, "max_block_size", 2, 100000000, &pc->max_block_size));
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_bool(c, v, path, "join_clusters", &pc->join_clusters));
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_bool(c, v, path, "split_clusters", &pc->split_clusters));
  return 0;
}
