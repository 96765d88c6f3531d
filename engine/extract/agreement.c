/* The agreement loader (agreement.h): reads a data-sharing agreement's JSON
 * against the caller's catalogue of releasable tables and fields, refusing
 * anything that is not exactly right with TSR_ECONFIG naming the file and
 * the key path. docs/agreement.md documents the format.
 *
 * DESIGN
 *   One pass over the tree, top-level keys in a fixed order (tables before
 *   k_anonymity, which may only name released fields). Messages go through
 *   config/cfg_json.h so they read like the run config's; unknown keys and
 *   names (tables, fields, generalisations, ...) are answered with the
 *   nearest valid spelling by edit distance. Everything the agreement points
 *   to is allocated from one arena in the owner that wraps it. */
#include "extract/agreement.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/arena.h"
#include "common/common_internal.h"
#include "common/date.h"
#include "config/cfg_json.h"
#include "tessera/store.h"

#define MAX_FILE_BYTES ((size_t)16 << 20)
#define MAX_REFERENCE 64
#define MAX_TEXT 2000
#define MAX_PATH_LEN 4000
#define MAX_AGG_NAME 64
#define MAX_K 1000000u
#define MAX_AGE 150
#define MIN_YEAR 1800
#define MAX_YEAR 2200

typedef struct {
  tsr__agreement pub; /* first: the public pointer is the owner's */
  tsr__arena arena;
} owner;

typedef struct {
  tsr__cfg_ctx c;
  const tsr__xcatalog *cat;
  const char *base_dir;
  tsr__agreement *a;
} actx;

/* ---- names ---------------------------------------------------------------- */

static const char *const k_lb_names[] = {"consent", "section_251", "legal_requirement", "anonymised_ico"};
static const char *const k_cat_names[] = {"pseudonymised", "anonymised"};
static const char *const k_gen_names[] = {"keep",     "month",    "year", "year_month", "age_band",
                                          "sector", "district", "area"};
static const char *const k_fn_names[] = {"value", "year", "month", "chapter"};
#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

int tsr__legal_basis_exempt(tsr__legal_basis b) {
  return b == TSR__LB_CONSENT || b == TSR__LB_LEGAL_REQUIREMENT || b == TSR__LB_ANONYMISED_ICO;
}
const char *tsr__legal_basis_name(tsr__legal_basis b) {
  return (unsigned)b < NELEM(k_lb_names) ? k_lb_names[b] : "?";
}
const char *tsr__data_category_name(tsr__data_category c) {
  return (unsigned)c < NELEM(k_cat_names) ? k_cat_names[c] : "?";
}
const char *tsr__gen_name(tsr__gen g) { return (unsigned)g < NELEM(k_gen_names) ? k_gen_names[g] : "?"; }
const char *tsr__dim_fn_name(tsr__dim_fn f) { return (unsigned)f < NELEM(k_fn_names) ? k_fn_names[f] : "?"; }

/* Generalisations each kind allows, as bit masks over tsr__gen. */
#define GB(g) (1u << (g))
static unsigned kind_gens(tsr__xkind k) {
  switch (k) {
  case TSR__XK_PLAIN:
    return GB(TSR__GEN_KEEP);
  case TSR__XK_EVENT_DATE:
    return GB(TSR__GEN_KEEP) | GB(TSR__GEN_MONTH);
  case TSR__XK_BIRTH_DATE:
    return GB(TSR__GEN_YEAR) | GB(TSR__GEN_YEAR_MONTH) | GB(TSR__GEN_AGE_BAND);
  case TSR__XK_POSTCODE:
    return GB(TSR__GEN_SECTOR) | GB(TSR__GEN_DISTRICT) | GB(TSR__GEN_AREA);
  default:
    return 0;
  }
}

static const char *kind_phrase(tsr__xkind k) {
  switch (k) {
  case TSR__XK_PLAIN:
    return "a plain field";
  case TSR__XK_EVENT_DATE:
    return "an event date";
  case TSR__XK_BIRTH_DATE:
    return "a date of birth";
  case TSR__XK_POSTCODE:
    return "a postcode";
  default:
    return "an identifier";
  }
}

static const char *field_what(const tsr__xfield *f) { return f->what && f->what[0] ? f->what : kind_phrase(f->kind); }

/* ---- nearest spelling ------------------------------------------------------ */

/* Levenshtein distance, case-insensitive, of strings cut at 63 bytes. */
static size_t edit_distance(const char *a, const char *b) {
  size_t na = strnlen(a, 63), nb = strnlen(b, 63);
  size_t row[64];
  for (size_t j = 0; j <= nb; j++) row[j] = j;
  for (size_t i = 1; i <= na; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= nb; j++) {
      size_t up = row[j];
      int ca = a[i - 1], cb = b[j - 1];
      if (ca >= 'A' && ca <= 'Z') ca += 'a' - 'A';
      if (cb >= 'A' && cb <= 'Z') cb += 'a' - 'A';
      size_t best = diag + (ca != cb);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[nb];
}

/* The candidates are n records of `stride` bytes whose first member is a
 * `const char *` name (tsr__xtable, tsr__xfield, or a plain string array).
 * Writes ` (did you mean "x"?)` for the nearest name within a third of its
 * length (at least 2 edits), else "". */
static const char *cand_name(const void *base, size_t stride, size_t i) {
  return *(const char *const *)(const void *)((const char *)base + i * stride);
}
static void suggest(char *out, size_t n, const char *s, const void *base, size_t stride, size_t count) {
  out[0] = '\0';
  size_t best = SIZE_MAX, bi = 0;
  for (size_t i = 0; i < count; i++) {
    size_t d = edit_distance(s, cand_name(base, stride, i));
    if (d < best) best = d, bi = i;
  }
  if (best == SIZE_MAX) return;
  size_t len = strlen(cand_name(base, stride, bi));
  size_t limit = len / 3 > 2 ? len / 3 : 2;
  if (best > 0 && best <= limit) snprintf(out, n, " (did you mean \"%s\"?)", cand_name(base, stride, bi));
}
static void list_names(char *out, size_t n, const void *base, size_t stride, size_t count) {
  out[0] = '\0';
  for (size_t i = 0; i < count; i++) {
    size_t used = strlen(out);
    snprintf(out + used, n - used, "%s\"%s\"", i ? ", " : "", cand_name(base, stride, i));
  }
}

/* ---- generic checks -------------------------------------------------------- */

/* n zeroed bytes from the agreement's arena (arena memory is not zeroed). */
static void *zalloc(actx *x, size_t n) {
  void *p = tsr__cfg_alloc(&x->c, n);
  if (p) memset(p, 0, n);
  return p;
}

static int check_keys(actx *x, const json_t *obj, const char *path, const char *const *allowed, size_t nallowed) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    int ok = 0;
    for (size_t i = 0; i < nallowed; i++)
      if (strcmp(allowed[i], key) == 0) ok = 1;
    if (!ok) {
      char p[TSR__CFG_PATH_MAX], hint[120], list[300];
      tsr__cfg_path(p, sizeof p, path, key);
      suggest(hint, sizeof hint, key, allowed, sizeof *allowed, nallowed);
      list_names(list, sizeof list, allowed, sizeof *allowed, nallowed);
      return tsr__cfg_fail(&x->c, p, "unknown key%s; expected one of: %s", hint, list);
    }
  }
  return 0;
}

static int want_type(actx *x, const json_t *v, const char *path, json_type t, const char *what) {
  if (json_typeof(v) != t) return tsr__cfg_fail(&x->c, path, "expected %s, got %s", what, tsr__cfg_type_name(v));
  return 0;
}

/* A string value at path: non-empty once blanks are trimmed, no control
 * characters, at most maxlen bytes; ascii: printable ASCII only. Copied into
 * the arena. */
static int take_text(actx *x, const json_t *v, const char *path, size_t maxlen, int ascii, char **out) {
  TSR_FORWARD_IF_ERROR(want_type(x, v, path, JSON_STRING, "a string"));
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  size_t lo = 0, hi = n;
  while (lo < hi && (s[lo] == ' ' || s[lo] == '\t')) lo++;
  while (hi > lo && (s[hi - 1] == ' ' || s[hi - 1] == '\t')) hi--;
  if (lo == hi) return tsr__cfg_fail(&x->c, path, "is empty");
  if (n > maxlen) return tsr__cfg_fail(&x->c, path, "is %zu bytes long, more than the %zu allowed", n, maxlen);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch < 0x20 || ch == 0x7f)
      return tsr__cfg_fail(&x->c, path, "holds a control character (byte %zu): write it on one line", i + 1);
    if (ascii && ch >= 0x80)
      return tsr__cfg_fail(&x->c, path, "expected printable ASCII, got a non-ASCII character at byte %zu", i + 1);
  }
  if (!(*out = tsr__cfg_strdup(&x->c, s))) return TSR_ENOMEM;
  return 0;
}

static int req_text(actx *x, const json_t *obj, const char *path, const char *key, size_t maxlen, int ascii,
                    char **out) {
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, key);
  json_t *v = json_object_get(obj, key);
  if (!v) return tsr__cfg_fail(&x->c, p, "required key is missing");
  return take_text(x, v, p, maxlen, ascii, out);
}

/* A string that must be one of names[0..n): its index in *out. */
static int take_enum(actx *x, const json_t *v, const char *path, const char *const *names, size_t n, const char *what,
                     int *out) {
  TSR_FORWARD_IF_ERROR(want_type(x, v, path, JSON_STRING, "a string"));
  const char *s = json_string_value(v);
  for (size_t i = 0; i < n; i++)
    if (strcmp(s, names[i]) == 0) {
      *out = (int)i;
      return 0;
    }
  char hint[120], list[300];
  suggest(hint, sizeof hint, s, names, sizeof *names, n);
  list_names(list, sizeof list, names, sizeof *names, n);
  return tsr__cfg_fail(&x->c, path, "unknown %s \"%.80s\"%s; expected one of: %s", what, s, hint, list);
}

/* A path string, resolved against the agreement's folder. */
static int take_path(actx *x, const json_t *v, const char *path, char **out) {
  char *s;
  TSR_FORWARD_IF_ERROR(take_text(x, v, path, MAX_PATH_LEN, 0, &s));
  if (s[0] == '/' || !x->base_dir || !x->base_dir[0]) {
    *out = s;
    return 0;
  }
  size_t nb = strlen(x->base_dir), ns = strlen(s);
  char *full = zalloc(x, nb + 1 + ns + 1);
  if (!full) return TSR_ENOMEM;
  memcpy(full, x->base_dir, nb);
  if (x->base_dir[nb - 1] != '/') full[nb++] = '/';
  memcpy(full + nb, s, ns + 1);
  *out = full;
  return 0;
}

/* "YYYY-MM-DD", a real date in MIN_YEAR..MAX_YEAR: days since 1970. */
static int take_date(actx *x, const json_t *v, const char *path, int32_t *out) {
  TSR_FORWARD_IF_ERROR(want_type(x, v, path, JSON_STRING, "a date \"YYYY-MM-DD\""));
  const char *s = json_string_value(v);
  int ok = json_string_length(v) == 10 && s[4] == '-' && s[7] == '-';
  for (int i = 0; ok && i < 10; i++)
    if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) ok = 0;
  int y = 0, m = 0, d = 0;
  if (ok) {
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    ok = y >= MIN_YEAR && y <= MAX_YEAR && tsr__ymd_valid(y, m, d);
  }
  if (!ok)
    return tsr__cfg_fail(&x->c, path, "expected a date \"YYYY-MM-DD\" from %d to %d, got \"%.40s\"", MIN_YEAR, MAX_YEAR,
                         s);
  *out = tsr__days_from_ymd(y, m, d);
  return 0;
}

/* ---- catalogue look-ups ----------------------------------------------------- */

static int find_table(actx *x, const char *path, const char *name, size_t len, uint32_t *out) {
  for (size_t i = 0; i < x->cat->ntables; i++)
    if (strlen(x->cat->tables[i].name) == len && memcmp(x->cat->tables[i].name, name, len) == 0) {
      *out = (uint32_t)i;
      return 0;
    }
  char nm[80], hint[120], list[300];
  snprintf(nm, sizeof nm, "%.*s", (int)(len < 70 ? len : 70), name);
  suggest(hint, sizeof hint, nm, x->cat->tables, sizeof *x->cat->tables, x->cat->ntables);
  list_names(list, sizeof list, x->cat->tables, sizeof *x->cat->tables, x->cat->ntables);
  return tsr__cfg_fail(&x->c, path, "no table \"%s\" in this run%s; the tables are: %s", nm, hint, list);
}

static int find_field(actx *x, const char *path, uint32_t t, const char *name, size_t len, uint32_t *out) {
  const tsr__xtable *tb = &x->cat->tables[t];
  for (size_t i = 0; i < tb->nfields; i++)
    if (strlen(tb->fields[i].name) == len && memcmp(tb->fields[i].name, name, len) == 0) {
      *out = (uint32_t)i;
      return 0;
    }
  char nm[80], hint[120], list[300];
  snprintf(nm, sizeof nm, "%.*s", (int)(len < 70 ? len : 70), name);
  suggest(hint, sizeof hint, nm, tb->fields, sizeof *tb->fields, tb->nfields);
  list_names(list, sizeof list, tb->fields, sizeof *tb->fields, tb->nfields);
  return tsr__cfg_fail(&x->c, path, "no field \"%s\" in table \"%s\"%s; its fields are: %s", nm, tb->name, hint, list);
}

/* ---- sections ----------------------------------------------------------------- */

static int parse_version(actx *x, const json_t *root) {
  json_t *v = json_object_get(root, "version");
  if (!v) return tsr__cfg_fail(&x->c, "version", "required key is missing (write \"version\": 1)");
  if (!json_is_integer(v) || json_integer_value(v) != 1)
    return tsr__cfg_fail(&x->c, "version", "expected 1 (the only version so far)");
  return 0;
}

static int parse_path_list(actx *x, const json_t *obj, const char *path, const char *key, char ***out, size_t *n) {
  char p[TSR__CFG_PATH_MAX], pi[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, key);
  json_t *v = json_object_get(obj, key);
  if (!v)
    return tsr__cfg_fail(&x->c, p, "required key is missing (a list of opt-out files; [] when there are none)");
  TSR_FORWARD_IF_ERROR(want_type(x, v, p, JSON_ARRAY, "an array of file paths"));
  *n = json_array_size(v);
  if (!*n) return 0;
  if (!(*out = zalloc(x, *n * sizeof **out))) return TSR_ENOMEM;
  for (size_t i = 0; i < *n; i++) {
    tsr__cfg_path_index(pi, sizeof pi, p, i);
    TSR_FORWARD_IF_ERROR(take_path(x, json_array_get(v, i), pi, &(*out)[i]));
  }
  return 0;
}

static int parse_opt_outs(actx *x, const json_t *root) {
  json_t *v = json_object_get(root, "opt_outs");
  if (!v)
    return tsr__cfg_fail(&x->c, "opt_outs", "required key is missing: write {\"type1\": [files], \"national\": [files]} "
                                            "(empty lists when there are none)");
  TSR_FORWARD_IF_ERROR(want_type(x, v, "opt_outs", JSON_OBJECT, "an object"));
  static const char *const keys[] = {"type1", "national"};
  TSR_FORWARD_IF_ERROR(check_keys(x, v, "opt_outs", keys, NELEM(keys)));
  tsr__agreement *a = x->a;
  TSR_FORWARD_IF_ERROR(parse_path_list(x, v, "opt_outs", "type1", &a->optout_type1, &a->n_type1));
  return parse_path_list(x, v, "opt_outs", "national", &a->optout_national, &a->n_national);
}

static int parse_age(actx *x, const json_t *obj, const char *key, int32_t *out) {
  json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, "cohort", key);
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > MAX_AGE)
    return tsr__cfg_fail(&x->c, p, "expected an age in whole years from 0 to %d", MAX_AGE);
  *out = (int32_t)json_integer_value(v);
  return 0;
}

static int parse_cohort(actx *x, const json_t *root) {
  tsr__agreement *a = x->a;
  json_t *v = json_object_get(root, "cohort");
  if (!v) return 0;
  TSR_FORWARD_IF_ERROR(want_type(x, v, "cohort", JSON_OBJECT, "an object"));
  static const char *const keys[] = {"diag_prefixes", "from", "to", "age_min", "age_max"};
  TSR_FORWARD_IF_ERROR(check_keys(x, v, "cohort", keys, NELEM(keys)));
  char p[TSR__CFG_PATH_MAX];
  json_t *d = json_object_get(v, "diag_prefixes");
  if (d) {
    TSR_FORWARD_IF_ERROR(want_type(x, d, "cohort.diag_prefixes", JSON_ARRAY, "an array of diagnosis code prefixes"));
    a->ndiag = json_array_size(d);
    if (!a->ndiag)
      return tsr__cfg_fail(&x->c, "cohort.diag_prefixes",
                           "an empty list selects nobody: leave the key out to keep every diagnosis");
    if (!(a->diag_prefixes = zalloc(x, a->ndiag * sizeof *a->diag_prefixes))) return TSR_ENOMEM;
    for (size_t i = 0; i < a->ndiag; i++) {
      tsr__cfg_path_index(p, sizeof p, "cohort.diag_prefixes", i);
      json_t *e = json_array_get(d, i);
      TSR_FORWARD_IF_ERROR(want_type(x, e, p, JSON_STRING, "a string"));
      const char *s = json_string_value(e);
      size_t n = json_string_length(e);
      int ok = n >= 1 && n <= 7;
      char up[8] = {0};
      for (size_t j = 0; ok && j < n; j++) {
        char ch = s[j];
        if (ch >= 'a' && ch <= 'z') ch = (char)(ch - 'a' + 'A');
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))) ok = 0;
        up[j] = ch;
      }
      if (!ok)
        return tsr__cfg_fail(&x->c, p,
                             "expected a diagnosis code prefix of 1 to 7 letters and digits (\"I21\", no dot), got "
                             "\"%.40s\"",
                             s);
      for (size_t j = 0; j < i; j++)
        if (strcmp(a->diag_prefixes[j], up) == 0)
          return tsr__cfg_fail(&x->c, p, "\"%s\" is listed twice (also at [%zu])", up, j);
      if (!(a->diag_prefixes[i] = tsr__cfg_strdup(&x->c, up))) return TSR_ENOMEM;
    }
  }
  json_t *f = json_object_get(v, "from"), *t = json_object_get(v, "to");
  if (f) TSR_FORWARD_IF_ERROR(take_date(x, f, "cohort.from", &a->from));
  if (t) TSR_FORWARD_IF_ERROR(take_date(x, t, "cohort.to", &a->to));
  if (f && t && a->from > a->to)
    return tsr__cfg_fail(&x->c, "cohort.from", "%s is after cohort.to %s: the date range is empty",
                         json_string_value(f), json_string_value(t));
  TSR_FORWARD_IF_ERROR(parse_age(x, v, "age_min", &a->age_min));
  TSR_FORWARD_IF_ERROR(parse_age(x, v, "age_max", &a->age_max));
  if (a->age_min >= 0 && a->age_max >= 0 && a->age_min > a->age_max)
    return tsr__cfg_fail(&x->c, "cohort.age_min", "%d is above cohort.age_max %d: the age range is empty",
                         (int)a->age_min, (int)a->age_max);
  return 0;
}

/* Checks that generalisation g fits field f; path names the field's key. */
static int check_gen(actx *x, const char *path, const tsr__xfield *f, tsr__gen g) {
  if (f->kind == TSR__XK_IDENTIFIER)
    return tsr__cfg_fail(&x->c, path, "%s is an identifier and can never be a field of an extract", field_what(f));
  unsigned ok = kind_gens(f->kind);
  if (ok & GB(g)) return 0;
  char list[200] = "";
  for (unsigned i = 0; i < NELEM(k_gen_names); i++)
    if (ok & GB(i)) {
      size_t used = strlen(list);
      snprintf(list + used, sizeof list - used, "%s\"%s\"", used ? ", " : "", k_gen_names[i]);
    }
  if (g == TSR__GEN_KEEP && (f->kind == TSR__XK_BIRTH_DATE || f->kind == TSR__XK_POSTCODE))
    return tsr__cfg_fail(&x->c, path, "%s is never released whole: use one of %s", field_what(f), list);
  if (f->what && f->what[0])
    return tsr__cfg_fail(&x->c, path, "\"%s\" does not fit %s (%s): use %s", k_gen_names[g], f->what,
                         kind_phrase(f->kind), list);
  return tsr__cfg_fail(&x->c, path, "\"%s\" does not fit %s: use %s", k_gen_names[g], kind_phrase(f->kind), list);
}

static int parse_tables(actx *x, const json_t *root) {
  tsr__agreement *a = x->a;
  json_t *v = json_object_get(root, "tables");
  if (!v) return 0;
  TSR_FORWARD_IF_ERROR(want_type(x, v, "tables", JSON_OBJECT, "an object of tables"));
  size_t n = json_object_size(v);
  if (!n) return tsr__cfg_fail(&x->c, "tables", "an empty object releases no table: name one, or leave the key out");
  if (!(a->tables = zalloc(x, n * sizeof *a->tables))) return TSR_ENOMEM;
  const char *tname;
  json_t *tv;
  json_object_foreach(v, tname, tv) {
    char tp[TSR__CFG_PATH_MAX], fp[TSR__CFG_PATH_MAX], p[TSR__CFG_PATH_MAX];
    tsr__cfg_path(tp, sizeof tp, "tables", tname);
    tsr__xtable_sel *sel = &a->tables[a->ntables];
    TSR_FORWARD_IF_ERROR(find_table(x, tp, tname, strlen(tname), &sel->table));
    TSR_FORWARD_IF_ERROR(want_type(x, tv, tp, JSON_OBJECT, "an object {\"fields\": {...}}"));
    static const char *const keys[] = {"fields"};
    TSR_FORWARD_IF_ERROR(check_keys(x, tv, tp, keys, NELEM(keys)));
    tsr__cfg_path(fp, sizeof fp, tp, "fields");
    json_t *fv = json_object_get(tv, "fields");
    if (!fv) return tsr__cfg_fail(&x->c, fp, "required key is missing");
    TSR_FORWARD_IF_ERROR(want_type(x, fv, fp, JSON_OBJECT, "an object {\"<field>\": \"<generalisation>\"}"));
    size_t nf = json_object_size(fv);
    if (!nf) return tsr__cfg_fail(&x->c, fp, "no field listed: name the fields to release, or drop the table");
    if (!(sel->fields = zalloc(x, nf * sizeof *sel->fields))) return TSR_ENOMEM;
    const tsr__xtable *tb = &x->cat->tables[sel->table];
    const char *fname;
    json_t *gv;
    json_object_foreach(fv, fname, gv) {
      tsr__cfg_path(p, sizeof p, fp, fname);
      tsr__xsel *fs = &sel->fields[sel->nfields];
      TSR_FORWARD_IF_ERROR(find_field(x, p, sel->table, fname, strlen(fname), &fs->field));
      const tsr__xfield *f = &tb->fields[fs->field];
      if (f->kind == TSR__XK_IDENTIFIER) return check_gen(x, p, f, TSR__GEN_KEEP);
      int g = 0;
      TSR_FORWARD_IF_ERROR(take_enum(x, gv, p, k_gen_names, NELEM(k_gen_names), "generalisation", &g));
      fs->gen = (tsr__gen)g;
      TSR_FORWARD_IF_ERROR(check_gen(x, p, f, fs->gen));
      sel->nfields++;
    }
    a->ntables++;
  }
  return 0;
}

/* The agreement's selection of catalogue table t, or NULL when t is not released. */
static const tsr__xtable_sel *released(const tsr__agreement *a, uint32_t t) {
  for (size_t i = 0; i < a->ntables; i++)
    if (a->tables[i].table == t) return &a->tables[i];
  return NULL;
}

static int parse_k_anonymity(actx *x, const json_t *root) {
  tsr__agreement *a = x->a;
  json_t *v = json_object_get(root, "k_anonymity");
  if (!v) return 0;
  static const char *const P = "k_anonymity";
  TSR_FORWARD_IF_ERROR(want_type(x, v, P, JSON_OBJECT, "an object"));
  static const char *const keys[] = {"quasi_identifiers", "k", "min_k", "on_fail"};
  TSR_FORWARD_IF_ERROR(check_keys(x, v, P, keys, NELEM(keys)));
  json_t *q = json_object_get(v, "quasi_identifiers");
  if (!q) return tsr__cfg_fail(&x->c, "k_anonymity.quasi_identifiers", "required key is missing");
  TSR_FORWARD_IF_ERROR(want_type(x, q, "k_anonymity.quasi_identifiers", JSON_ARRAY,
                                 "an array of \"table.field\" strings"));
  size_t n = json_array_size(q);
  if (!n) return tsr__cfg_fail(&x->c, "k_anonymity.quasi_identifiers", "is empty: name at least one \"table.field\"");
  if (!(a->qi = zalloc(x, n * sizeof *a->qi))) return TSR_ENOMEM;
  char p[TSR__CFG_PATH_MAX];
  for (size_t i = 0; i < n; i++) {
    tsr__cfg_path_index(p, sizeof p, "k_anonymity.quasi_identifiers", i);
    json_t *e = json_array_get(q, i);
    TSR_FORWARD_IF_ERROR(want_type(x, e, p, JSON_STRING, "a \"table.field\" string"));
    const char *s = json_string_value(e);
    const char *dot = strchr(s, '.');
    if (!dot || dot == s || !dot[1])
      return tsr__cfg_fail(&x->c, p, "expected \"table.field\", for example \"patients.sex\", got \"%.80s\"", s);
    uint32_t t, fi;
    TSR_FORWARD_IF_ERROR(find_table(x, p, s, (size_t)(dot - s), &t));
    if (i > 0 && t != a->qi_table)
      return tsr__cfg_fail(&x->c, p,
                           "quasi-identifiers must all come from one table: \"%.80s\" is not in \"%s\" like "
                           "k_anonymity.quasi_identifiers[0]",
                           s, x->cat->tables[a->qi_table].name);
    a->qi_table = t;
    TSR_FORWARD_IF_ERROR(find_field(x, p, t, dot + 1, strlen(dot + 1), &fi));
    const tsr__xtable_sel *sel = released(a, t);
    int in = 0;
    for (size_t j = 0; sel && j < sel->nfields; j++)
      if (sel->fields[j].field == fi) in = 1;
    if (!in)
      return tsr__cfg_fail(&x->c, p,
                           "%s is not released (not in tables.%s.fields): k-anonymity is measured on the extract's "
                           "own fields",
                           s, x->cat->tables[t].name);
    for (size_t j = 0; j < i; j++)
      if (a->qi[j].field == fi) return tsr__cfg_fail(&x->c, p, "\"%s\" is listed twice", s);
    a->qi[i].field = fi;
    a->qi[i].fn = TSR__DIM_VALUE;
    a->nqi = i + 1;
  }
  uint64_t k = a->k;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_uint(&x->c, v, P, "k", 2, MAX_K, &k));
  a->k = (uint32_t)k;
  json_t *mk = json_object_get(v, "min_k");
  if (mk) {
    if (!json_is_integer(mk) || json_integer_value(mk) < 0 || json_integer_value(mk) > (json_int_t)MAX_K ||
        json_integer_value(mk) == 1)
      return tsr__cfg_fail(&x->c, "k_anonymity.min_k", "expected 0 (report only) or an integer from 2 to %u", MAX_K);
    a->min_k = (uint32_t)json_integer_value(mk);
  }
  json_t *of = json_object_get(v, "on_fail");
  if (of) {
    static const char *const modes[] = {"refuse", "generalise"};
    int m = 0;
    TSR_FORWARD_IF_ERROR(take_enum(x, of, "k_anonymity.on_fail", modes, NELEM(modes), "action", &m));
    if (a->min_k == 0)
      return tsr__cfg_fail(&x->c, "k_anonymity.on_fail",
                           "has no effect without k_anonymity.min_k: set min_k, or leave on_fail out");
    a->on_fail_generalise = m;
  }
  return 0;
}

/* One dimension "field" or "field:fn" of catalogue table t. */
static int parse_dim(actx *x, const json_t *e, const char *path, uint32_t t, tsr__dim *out) {
  TSR_FORWARD_IF_ERROR(want_type(x, e, path, JSON_STRING, "a dimension string \"field\" or \"field:fn\""));
  const char *s = json_string_value(e);
  const char *colon = strchr(s, ':');
  size_t flen = colon ? (size_t)(colon - s) : strlen(s);
  if (!flen) return tsr__cfg_fail(&x->c, path, "expected \"field\" or \"field:year|month|chapter\", got \"%.80s\"", s);
  TSR_FORWARD_IF_ERROR(find_field(x, path, t, s, flen, &out->field));
  out->fn = TSR__DIM_VALUE;
  if (colon) {
    static const char *const fns[] = {"year", "month", "chapter"};
    const char *fn = colon + 1;
    int i = -1;
    for (int j = 0; j < 3; j++)
      if (strcmp(fn, fns[j]) == 0) i = j;
    if (i < 0) {
      char hint[120];
      suggest(hint, sizeof hint, fn, fns, sizeof *fns, 3);
      return tsr__cfg_fail(&x->c, path, "unknown function \"%.40s\" after ':'%s; expected \"year\", \"month\" or "
                                        "\"chapter\"",
                           fn, hint);
    }
    out->fn = (tsr__dim_fn)(i + 1);
  }
  const tsr__xfield *f = &x->cat->tables[t].fields[out->field];
  int fl = (int)flen;
  if (f->kind == TSR__XK_IDENTIFIER)
    return tsr__cfg_fail(&x->c, path, "%s is an identifier and can never be a dimension of an aggregate",
                         field_what(f));
  switch (out->fn) {
  case TSR__DIM_VALUE:
    if (f->kind == TSR__XK_BIRTH_DATE)
      return tsr__cfg_fail(&x->c, path, "%s is never shown whole: use \"%.*s:year\" or \"%.*s:month\"", field_what(f),
                           fl, s, fl, s);
    if (f->kind == TSR__XK_POSTCODE)
      return tsr__cfg_fail(&x->c, path, "%s is never shown whole, and no aggregate function fits a postcode",
                           field_what(f));
    break;
  case TSR__DIM_YEAR:
  case TSR__DIM_MONTH:
    if (f->kind != TSR__XK_EVENT_DATE && f->kind != TSR__XK_BIRTH_DATE)
      return tsr__cfg_fail(&x->c, path, "\":%s\" needs an event date or a date of birth, and \"%.*s\" is %s",
                           tsr__dim_fn_name(out->fn), fl, s, field_what(f));
    break;
  case TSR__DIM_CHAPTER:
    if (f->kind != TSR__XK_PLAIN)
      return tsr__cfg_fail(&x->c, path, "\":chapter\" needs a plain code field (a diagnosis), and \"%.*s\" is %s", fl,
                           s, field_what(f));
    break;
  }
  return 0;
}

static int valid_agg_name(const char *s, size_t n) {
  if (n == 0 || n > MAX_AGG_NAME) return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) return 0;
  }
  return 1;
}

static int parse_aggregate(actx *x, const json_t *v, const char *path, size_t idx) {
  tsr__aggregate *g = &x->a->aggs[idx];
  TSR_FORWARD_IF_ERROR(want_type(x, v, path, JSON_OBJECT, "an object"));
  static const char *const keys[] = {"name", "table", "rows", "column", "count"};
  TSR_FORWARD_IF_ERROR(check_keys(x, v, path, keys, NELEM(keys)));
  char p[TSR__CFG_PATH_MAX], pi[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, "name");
  json_t *nv = json_object_get(v, "name");
  if (!nv) return tsr__cfg_fail(&x->c, p, "required key is missing");
  TSR_FORWARD_IF_ERROR(want_type(x, nv, p, JSON_STRING, "a string"));
  const char *name = json_string_value(nv);
  if (!valid_agg_name(name, json_string_length(nv)))
    return tsr__cfg_fail(&x->c, p, "expected 1 to %d letters, digits or '_' (it names aggregates/<name>.csv), got "
                                   "\"%.80s\"",
                         MAX_AGG_NAME, name);
  for (size_t j = 0; j < idx; j++)
    if (strcmp(x->a->aggs[j].name, name) == 0)
      return tsr__cfg_fail(&x->c, p, "\"%s\" is already the name of aggregates[%zu]", name, j);
  if (!(g->name = tsr__cfg_strdup(&x->c, name))) return TSR_ENOMEM;

  tsr__cfg_path(p, sizeof p, path, "table");
  json_t *tv = json_object_get(v, "table");
  if (!tv) return tsr__cfg_fail(&x->c, p, "required key is missing");
  TSR_FORWARD_IF_ERROR(want_type(x, tv, p, JSON_STRING, "a table name"));
  TSR_FORWARD_IF_ERROR(find_table(x, p, json_string_value(tv), json_string_length(tv), &g->table));

  tsr__cfg_path(p, sizeof p, path, "rows");
  json_t *rv = json_object_get(v, "rows");
  if (!rv) return tsr__cfg_fail(&x->c, p, "required key is missing");
  TSR_FORWARD_IF_ERROR(want_type(x, rv, p, JSON_ARRAY, "an array of 1 to 3 dimensions"));
  size_t nr = json_array_size(rv);
  if (nr < 1 || nr > 3) return tsr__cfg_fail(&x->c, p, "expected 1 to 3 dimensions, got %zu", nr);
  if (!(g->rows = zalloc(x, nr * sizeof *g->rows))) return TSR_ENOMEM;
  for (size_t i = 0; i < nr; i++) {
    tsr__cfg_path_index(pi, sizeof pi, p, i);
    TSR_FORWARD_IF_ERROR(parse_dim(x, json_array_get(rv, i), pi, g->table, &g->rows[i]));
    for (size_t j = 0; j < i; j++)
      if (g->rows[j].field == g->rows[i].field && g->rows[j].fn == g->rows[i].fn)
        return tsr__cfg_fail(&x->c, pi, "the same dimension as %s[%zu]", p, j);
    g->nrows = i + 1;
  }
  tsr__cfg_path(p, sizeof p, path, "column");
  json_t *cv = json_object_get(v, "column");
  if (!cv) return tsr__cfg_fail(&x->c, p, "required key is missing");
  TSR_FORWARD_IF_ERROR(parse_dim(x, cv, p, g->table, &g->column));
  for (size_t j = 0; j < nr; j++)
    if (g->rows[j].field == g->column.field && g->rows[j].fn == g->column.fn)
      return tsr__cfg_fail(&x->c, p, "the same dimension as %s.rows[%zu]", path, j);
  json_t *ct = json_object_get(v, "count");
  if (ct) {
    static const char *const counts[] = {"rows", "patients"};
    int m = 0;
    tsr__cfg_path(p, sizeof p, path, "count");
    TSR_FORWARD_IF_ERROR(take_enum(x, ct, p, counts, NELEM(counts), "count", &m));
    g->count_patients = m;
  }
  return 0;
}

static int parse_aggregates(actx *x, const json_t *root) {
  tsr__agreement *a = x->a;
  json_t *v = json_object_get(root, "aggregates");
  if (!v) return 0;
  TSR_FORWARD_IF_ERROR(want_type(x, v, "aggregates", JSON_ARRAY, "an array of aggregate tables"));
  size_t n = json_array_size(v);
  if (!n) return tsr__cfg_fail(&x->c, "aggregates", "an empty list asks for nothing: leave the key out");
  if (!(a->aggs = zalloc(x, n * sizeof *a->aggs))) return TSR_ENOMEM;
  char p[TSR__CFG_PATH_MAX];
  for (size_t i = 0; i < n; i++) {
    tsr__cfg_path_index(p, sizeof p, "aggregates", i);
    TSR_FORWARD_IF_ERROR(parse_aggregate(x, json_array_get(v, i), p, i));
    a->naggs = i + 1;
  }
  return 0;
}

static int parse_root(actx *x, const json_t *root) {
  tsr__agreement *a = x->a;
  if (!json_is_object(root))
    return tsr__cfg_fail(&x->c, "", "expected a JSON object, got %s", tsr__cfg_type_name(root));
  static const char *const keys[] = {"version", "reference", "recipient",   "purpose",     "legal_basis", "data_category",
                                     "key_file", "opt_outs", "cohort", "tables", "k_anonymity", "aggregates"};
  TSR_FORWARD_IF_ERROR(check_keys(x, root, "", keys, NELEM(keys)));
  TSR_FORWARD_IF_ERROR(parse_version(x, root));
  TSR_FORWARD_IF_ERROR(req_text(x, root, "", "reference", MAX_REFERENCE, 1, &a->reference));
  TSR_FORWARD_IF_ERROR(req_text(x, root, "", "recipient", MAX_TEXT, 0, &a->recipient));
  TSR_FORWARD_IF_ERROR(req_text(x, root, "", "purpose", MAX_TEXT, 0, &a->purpose));
  json_t *v = json_object_get(root, "legal_basis");
  if (!v) return tsr__cfg_fail(&x->c, "legal_basis", "required key is missing");
  int e = 0;
  TSR_FORWARD_IF_ERROR(take_enum(x, v, "legal_basis", k_lb_names, NELEM(k_lb_names), "legal basis", &e));
  a->legal_basis = (tsr__legal_basis)e;
  v = json_object_get(root, "data_category");
  if (!v) return tsr__cfg_fail(&x->c, "data_category", "required key is missing");
  TSR_FORWARD_IF_ERROR(take_enum(x, v, "data_category", k_cat_names, NELEM(k_cat_names), "data category", &e));
  a->category = (tsr__data_category)e;
  v = json_object_get(root, "key_file");
  if (!v)
    return tsr__cfg_fail(&x->c, "key_file",
                         "required key is missing: the pseudonym key of this agreement (make one with tessera keygen)");
  TSR_FORWARD_IF_ERROR(take_path(x, v, "key_file", &a->key_file));
  TSR_FORWARD_IF_ERROR(parse_opt_outs(x, root));
  TSR_FORWARD_IF_ERROR(parse_cohort(x, root));
  TSR_FORWARD_IF_ERROR(parse_tables(x, root));
  TSR_FORWARD_IF_ERROR(parse_k_anonymity(x, root));
  TSR_FORWARD_IF_ERROR(parse_aggregates(x, root));
  if (!a->ntables && !a->naggs)
    return tsr__cfg_fail(&x->c, "tables", "the agreement releases nothing: list \"tables\" or \"aggregates\"");
  return 0;
}

void tsr__agreement_free(tsr__agreement *a) {
  if (!a) return;
  owner *o = (owner *)(void *)a;
  tsr__arena_free(&o->arena);
  tsr__free(o);
}

int tsr__agreement_parse(const char *json, size_t len, const char *name, const char *base_dir,
                         const tsr__xcatalog *cat, tsr__agreement **out, tsr_error *err) {
  *out = NULL;
  tsr_error_clear(err);
  const char *label = name ? name : "<agreement>";
  if (sodium_init() < 0) return tsr_error_set(err, TSR_EINTERNAL, label, 0, 0, "libsodium failed to initialise");
  const char *text = json;
  size_t tlen = len;
  /* a UTF-8 byte order mark is skipped for parsing, as in the run config;
   * the digest covers the file's bytes as they are */
  if (tlen >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) text += 3, tlen -= 3;
  json_error_t je;
  json_t *root = json_loadb(text, tlen, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return tsr_error_set(err, TSR_ECONFIG, label, je.line > 0 ? (uint64_t)je.line : 0,
                         je.column > 0 ? (uint32_t)je.column : 0, "invalid JSON: %s", je.text);
  owner *o = tsr__calloc(1, sizeof *o);
  if (!o) {
    json_decref(root);
    return tsr_error_set(err, TSR_ENOMEM, label, 0, 0, "out of memory");
  }
  tsr__arena_init(&o->arena, 8192);
  tsr__agreement *a = &o->pub;
  a->from = a->to = TSR_DATE_NONE;
  a->age_min = a->age_max = -1;
  a->k = 5;
  actx x = {{label, err, &o->arena}, cat, base_dir, a};
  int rc = parse_root(&x, root);
  json_decref(root);
  if (rc) {
    tsr__agreement_free(a);
    return rc;
  }
  crypto_hash_sha256(a->sha256, (const unsigned char *)json, (unsigned long long)len);
  *out = a;
  return 0;
}

int tsr__agreement_load(const char *path, const tsr__xcatalog *cat, tsr__agreement **out, tsr_error *err) {
  *out = NULL;
  tsr_error_clear(err);
  FILE *f = fopen(path, "rb");
  if (!f) return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot open the agreement: %s", strerror(errno));
  size_t cap = 1 << 14, n = 0;
  char *buf = tsr__malloc(cap);
  int rc = 0;
  for (;;) {
    if (!buf) {
      rc = tsr_error_set(err, TSR_ENOMEM, path, 0, 0, "out of memory");
      break;
    }
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    if (cap >= MAX_FILE_BYTES) {
      rc = tsr_error_set(err, TSR_ELIMIT, path, 0, 0, "the agreement is larger than 16 MiB: not an agreement");
      break;
    }
    char *nb = tsr__realloc(buf, cap * 2);
    if (!nb) tsr__free(buf);
    buf = nb;
    cap *= 2;
  }
  if (!rc && ferror(f))
    rc = tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot read the agreement: %s", strerror(errno ? errno : EIO));
  fclose(f);
  if (!rc) {
    /* relative paths in the agreement resolve against its folder */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
      snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
      dir[1] = '\0';
    else
      *slash = '\0';
    rc = tsr__agreement_parse(buf, n, path, dir, cat, out, err);
  }
  tsr__free(buf);
  return rc;
}
