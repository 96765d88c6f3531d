/* The model file: model JSON save and load (checked against the config's
 * comparisons) and the Splink 4 settings export (model_json.h;
 * docs/model-json.md documents both formats). */
#include "model/model_json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/common_internal.h"

#define DUMP_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))

/* --- which options a kind has ------------------------------------------------------ */
enum {
  OPT_JW = 1u << 0,      /* jaro_winkler [jw1, jw2] */
  OPT_DL = 1u << 1,      /* damerau_levenshtein [dl1, dl2] */
  OPT_PHON = 1u << 2,    /* phonetic [...] */
  OPT_SWAP = 1u << 3,    /* swap_jaro_winkler */
  OPT_DAYS = 1u << 4,    /* within_days */
  OPT_YEARS = 1u << 5,   /* within_years */
  OPT_TF = 1u << 6,      /* tf (+ tf_min when on) */
  OPT_SCOPE = 1u << 7,   /* scope (local_id; absent when NULL) */
  OPT_FIELDS2 = 1u << 8, /* fields holds two fields (full_name) */
};

static unsigned kind_opts(tsr_cmp_kind k) {
  switch (k) {
  case TSR_CMP_NAME: return OPT_JW | OPT_DL | OPT_PHON | OPT_TF;
  case TSR_CMP_FULL_NAME: return OPT_JW | OPT_DL | OPT_PHON | OPT_SWAP | OPT_TF | OPT_FIELDS2;
  case TSR_CMP_DOB: return OPT_DAYS | OPT_YEARS;
  case TSR_CMP_POSTCODE:
  case TSR_CMP_CODE: return OPT_TF;
  case TSR_CMP_TEXT: return OPT_JW | OPT_DL | OPT_TF;
  case TSR_CMP_LOCAL_ID: return OPT_SCOPE;
  default: return 0;
  }
}

static const char *const k_phon_names[] = {"soundex", "nysiis"};
#define N_PHON 2u

/* --- save -------------------------------------------------------------------------- */

/* Sets o[key] = v (v stolen); 1 on success, 0 when v is NULL or set failed. */
static int put(json_t *o, const char *key, json_t *v) { return v && json_object_set_new(o, key, v) == 0; }
static int push(json_t *a, json_t *v) { return v && json_array_append_new(a, v) == 0; }

static json_t *cmp_to_json(const tsr_cmp_cfg *c, const tsr__model *md, uint32_t k, double tf_min) {
  unsigned opt = kind_opts(c->kind);
  uint32_t nl = 0;
  const char *const *names = tsr_cmp_level_names(c->kind, &nl);
  json_t *o = json_object();
  int ok = o != NULL;
  ok = ok && put(o, "name", json_string(c->name));
  ok = ok && put(o, "kind", json_string(tsr_cmp_kind_name(c->kind)));
  json_t *f = json_array();
  ok = ok && put(o, "fields", f) && push(f, json_string(c->field));
  if (opt & OPT_FIELDS2) ok = ok && push(f, json_string(c->field2));
  if ((opt & OPT_SCOPE) && c->field2) ok = ok && put(o, "scope", json_string(c->field2));
  json_t *lv = json_array();
  ok = ok && put(o, "levels", lv);
  for (uint32_t l = 1; ok && l < nl; l++) {
    if (!(c->enabled & (1u << l))) continue;
    json_t *e = json_object();
    ok = put(e, "name", json_string(names[l])) && put(e, "m", json_real(md->m[k][l])) &&
         put(e, "u", json_real(md->u[k][l])) && put(e, "weight", json_real(md->w[k][l]));
    ok = push(lv, e) && ok;
  }
  if (opt & OPT_JW) {
    json_t *a = json_array();
    ok = ok && put(o, "jaro_winkler", a) && push(a, json_real(c->jw1)) && push(a, json_real(c->jw2));
  }
  if (opt & OPT_DL) {
    json_t *a = json_array();
    ok = ok && put(o, "damerau_levenshtein", a) && push(a, json_integer(c->dl1)) && push(a, json_integer(c->dl2));
  }
  if (opt & OPT_PHON) {
    json_t *a = json_array();
    ok = ok && put(o, "phonetic", a);
    for (uint32_t b = 0; ok && b < N_PHON; b++)
      if (c->phonetic & (1u << b)) ok = push(a, json_string(k_phon_names[b]));
  }
  if (opt & OPT_SWAP) ok = ok && put(o, "swap_jaro_winkler", json_real(c->swap_jw));
  if (opt & OPT_DAYS) ok = ok && put(o, "within_days", json_integer(c->within_days));
  if (opt & OPT_YEARS) ok = ok && put(o, "within_years", json_integer(c->within_years));
  if (opt & OPT_TF) {
    ok = ok && put(o, "tf", json_boolean(c->tf));
    if (c->tf) ok = ok && put(o, "tf_min", json_real(tf_min));
  }
  if (!ok) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static int finite_model(const tsr__model *md) {
  for (uint32_t k = 0; k < md->k; k++)
    for (uint32_t l = 0; l < md->nlev[k]; l++)
      if (!isfinite(md->m[k][l]) || !isfinite(md->u[k][l]) || !isfinite(md->w[k][l])) return 0;
  return isfinite(md->lambda) && isfinite(md->prior);
}

int tsr__model_to_json(const tsr_prob_cfg *pc, const tsr__model *md, const tsr__model_info *info, json_t **out,
                       tsr_error *err) {
  *out = NULL;
  static const tsr__model_info zero;
  if (!info) info = &zero;
  TSR_RETURN_IF(pc->n_cmp != md->k, err, TSR_EINVAL, "the model has %u comparisons, the config %u", md->k,
                pc->n_cmp);
  for (uint32_t k = 0; k < md->k; k++) {
    uint32_t nl = 0;
    TSR_RETURN_IF(!tsr_cmp_level_names(pc->cmp[k].kind, &nl) || nl != md->nlev[k], err, TSR_EINVAL,
                  "comparison %u (%s): the model has %u levels, its kind %u", k, pc->cmp[k].name, md->nlev[k], nl);
  }
  TSR_RETURN_IF(!finite_model(md) || !isfinite(info->lambda_em) || !isfinite(info->lambda_rules) ||
                    !isfinite(pc->tf_min),
                err, TSR_EINVAL, "the model holds a value that is not a finite number");
  TSR_RETURN_IF(info->seed > INT64_MAX || info->u_pairs > INT64_MAX || info->train_pairs > INT64_MAX, err,
                TSR_EINVAL, "a training count or the seed is above 2^63 - 1, which the model file cannot hold");
  json_t *root = json_object(), *tr = json_object(), *cs = json_array();
  int ok = root != NULL;
  ok = ok && put(root, "format", json_string(TSR__MODEL_FORMAT));
  ok = ok && put(root, "version", json_integer(TSR__MODEL_VERSION));
  ok = ok && put(root, "tessera_version", json_string(tsr_version()));
  ok = ok && put(root, "lambda", json_real(md->lambda));
  ok = ok && put(root, "prior_weight", json_real(md->prior));
  if (ok) {
    ok = put(root, "training", tr);
    tr = NULL;
  }
  if (ok) {
    json_t *t = json_object_get(root, "training");
    ok = put(t, "seed", json_integer((json_int_t)info->seed)) &&
         put(t, "u_pairs", json_integer((json_int_t)info->u_pairs)) &&
         put(t, "train_pairs", json_integer((json_int_t)info->train_pairs)) &&
         put(t, "em_iterations", json_integer(info->em_iterations)) &&
         put(t, "lambda_em", json_real(info->lambda_em)) && put(t, "lambda_rules", json_real(info->lambda_rules));
  }
  if (ok) {
    ok = put(root, "comparisons", cs);
    cs = NULL;
  }
  json_t *arr = ok ? json_object_get(root, "comparisons") : NULL;
  for (uint32_t k = 0; ok && k < md->k; k++) ok = push(arr, cmp_to_json(&pc->cmp[k], md, k, pc->tf_min));
  json_decref(tr);
  json_decref(cs);
  if (!ok) {
    json_decref(root);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  }
  *out = root;
  return 0;
}

/* json_dumps of root with a final newline; NULL on OOM. */
static char *dump_nl(const json_t *root) {
  char *text = json_dumps(root, DUMP_FLAGS);
  if (!text) return NULL;
  size_t n = strlen(text);
  char *t = realloc(text, n + 2); /* jansson's text comes from malloc */
  if (!t) {
    free(text);
    return NULL;
  }
  t[n] = '\n';
  t[n + 1] = '\0';
  return t;
}

int tsr__model_to_text(const tsr_prob_cfg *pc, const tsr__model *md, const tsr__model_info *info, char **text,
                       tsr_error *err) {
  *text = NULL;
  json_t *root;
  TSR_FORWARD_IF_ERROR(tsr__model_to_json(pc, md, info, &root, err));
  *text = dump_nl(root);
  json_decref(root);
  return *text ? 0 : tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
}

/* Writes text to path: a temporary name in path's folder (O_EXCL, random
 * letters: tsr__write_file), then a rename. */
static int write_path(const char *path, const char *text, tsr_error *err) {
  char dir[1024], name[256];
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, sizeof dir, ".");
    TSR_RETURN_IF(strlen(path) >= sizeof name || !path[0], err, TSR_EINVAL, "%s: bad file name", path);
    snprintf(name, sizeof name, "%s", path);
  } else {
    size_t dl = (size_t)(slash - path);
    TSR_RETURN_IF(dl >= sizeof dir || strlen(slash + 1) >= sizeof name || !slash[1], err, TSR_EINVAL,
                  "%s: bad file name", path);
    memcpy(dir, path, dl);
    dir[dl] = '\0';
    if (dl == 0) snprintf(dir, sizeof dir, "/");
    snprintf(name, sizeof name, "%s", slash + 1);
  }
  return tsr__write_file(dir, name, text, strlen(text), err);
}

int tsr__model_save(const char *path, const tsr_prob_cfg *pc, const tsr__model *md, const tsr__model_info *info,
                    tsr_error *err) {
  char *text;
  TSR_FORWARD_IF_ERROR(tsr__model_to_text(pc, md, info, &text, err));
  int rc = write_path(path, text, err);
  free(text);
  return rc;
}

/* --- load -------------------------------------------------------------------------- */

typedef struct pctx {
  const char *name; /* file label */
  tsr_error *err;
} pctx;

static int fail(pctx *c, int code, const char *path, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(pctx *c, int code, const char *path, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return tsr_error_set(c->err, code, c->name, 0, 0, "%s: %s", path[0] ? path : "(top level)", msg);
}

static const char *type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

static void path_key(char *out, size_t n, const char *path, const char *key) {
  if (snprintf(out, n, "%s%s%s", path, path[0] ? "." : "", key) >= (int)n) out[n - 1] = '\0';
}
static void path_idx(char *out, size_t n, const char *path, size_t i) {
  if (snprintf(out, n, "%s[%zu]", path, i) >= (int)n) out[n - 1] = '\0';
}
#define PATH_MAX_ 256

static int check_keys(pctx *c, json_t *obj, const char *path, const char *const *allowed) {
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    int ok = 0;
    for (const char *const *a = allowed; *a; a++) ok |= strcmp(*a, key) == 0;
    if (ok) continue;
    char list[300] = "", p[PATH_MAX_];
    for (const char *const *a = allowed; *a; a++) {
      strncat(list, *a, sizeof list - strlen(list) - 1);
      if (a[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    path_key(p, sizeof p, path, key);
    return fail(c, TSR_EPARSE, p, "unknown key (expected one of: %s)", list);
  }
  return 0;
}

/* obj[key], required; fails naming the path and `what` when it is missing. */
static int need(pctx *c, json_t *obj, const char *path, const char *key, const char *what, json_t **v,
                char *p /* PATH_MAX_ */) {
  path_key(p, PATH_MAX_, path, key);
  *v = json_object_get(obj, key);
  if (!*v) return fail(c, TSR_EPARSE, p, "missing (expected %s)", what);
  return 0;
}

static int get_string(pctx *c, json_t *obj, const char *path, const char *key, const char **out) {
  char p[PATH_MAX_];
  json_t *v;
  TSR_FORWARD_IF_ERROR(need(c, obj, path, key, "a string", &v, p));
  if (!json_is_string(v)) return fail(c, TSR_EPARSE, p, "expected a string, got %s", type_name(v));
  *out = json_string_value(v);
  return 0;
}

static int get_number(pctx *c, json_t *obj, const char *path, const char *key, double lo, double hi,
                      const char *what, double *out) {
  char p[PATH_MAX_];
  json_t *v;
  TSR_FORWARD_IF_ERROR(need(c, obj, path, key, what, &v, p));
  double d = json_is_number(v) ? json_number_value(v) : NAN;
  if (!(d >= lo && d <= hi)) {
    if (json_is_number(v)) return fail(c, TSR_EPARSE, p, "expected %s, got %.17g", what, d);
    return fail(c, TSR_EPARSE, p, "expected %s, got %s", what, type_name(v));
  }
  *out = d;
  return 0;
}

static int get_int(pctx *c, json_t *obj, const char *path, const char *key, json_int_t lo, json_int_t hi,
                   const char *what, json_int_t *out) {
  char p[PATH_MAX_];
  json_t *v;
  TSR_FORWARD_IF_ERROR(need(c, obj, path, key, what, &v, p));
  if (!json_is_integer(v)) return fail(c, TSR_EPARSE, p, "expected %s, got %s", what, type_name(v));
  json_int_t i = json_integer_value(v);
  if (i < lo || i > hi) return fail(c, TSR_EPARSE, p, "expected %s, got %lld", what, (long long)i);
  *out = i;
  return 0;
}

static int get_bool(pctx *c, json_t *obj, const char *path, const char *key, int *out) {
  char p[PATH_MAX_];
  json_t *v;
  TSR_FORWARD_IF_ERROR(need(c, obj, path, key, "true or false", &v, p));
  if (!json_is_boolean(v)) return fail(c, TSR_EPARSE, p, "expected true or false, got %s", type_name(v));
  *out = json_is_true(v);
  return 0;
}

/* An array of exactly n elements. */
static int get_array(pctx *c, json_t *obj, const char *path, const char *key, size_t n, const char *what,
                     json_t **out, char *p) {
  json_t *v;
  TSR_FORWARD_IF_ERROR(need(c, obj, path, key, what, &v, p));
  if (!json_is_array(v) || (n && json_array_size(v) != n))
    return fail(c, TSR_EPARSE, p, "expected %s, got %s%s", what, type_name(v),
                json_is_array(v) ? " of another length" : "");
  *out = v;
  return 0;
}

static int parse_training(pctx *c, json_t *root, tsr__model_info *info) {
  static const char *const keys[] = {"seed", "u_pairs", "train_pairs", "em_iterations", "lambda_em", "lambda_rules",
                                     NULL};
  char p[PATH_MAX_];
  json_t *t;
  TSR_FORWARD_IF_ERROR(need(c, root, "", "training", "an object", &t, p));
  if (!json_is_object(t)) return fail(c, TSR_EPARSE, p, "expected an object, got %s", type_name(t));
  TSR_FORWARD_IF_ERROR(check_keys(c, t, "training", keys));
  json_int_t i;
  const char *nn = "an integer >= 0";
  TSR_FORWARD_IF_ERROR(get_int(c, t, "training", "seed", 0, INT64_MAX, nn, &i));
  info->seed = (uint64_t)i;
  TSR_FORWARD_IF_ERROR(get_int(c, t, "training", "u_pairs", 0, INT64_MAX, nn, &i));
  info->u_pairs = (uint64_t)i;
  TSR_FORWARD_IF_ERROR(get_int(c, t, "training", "train_pairs", 0, INT64_MAX, nn, &i));
  info->train_pairs = (uint64_t)i;
  TSR_FORWARD_IF_ERROR(get_int(c, t, "training", "em_iterations", 0, UINT32_MAX, "an integer in [0, 4294967295]", &i));
  info->em_iterations = (uint32_t)i;
  TSR_FORWARD_IF_ERROR(get_number(c, t, "training", "lambda_em", 0.0, 1.0, "a number in [0, 1]", &info->lambda_em));
  TSR_FORWARD_IF_ERROR(
      get_number(c, t, "training", "lambda_rules", 0.0, 1.0, "a number in [0, 1]", &info->lambda_rules));
  return 0;
}

/* The per-level weights the file states, checked after the model is built. */
typedef struct file_levels {
  uint32_t n;
  uint8_t level[TSR__MODEL_MAX_L];
  double m[TSR__MODEL_MAX_L], u[TSR__MODEL_MAX_L], w[TSR__MODEL_MAX_L];
} file_levels;

static int parse_levels(pctx *c, json_t *cmp, const char *path, const tsr_cmp_cfg *cc, file_levels *fl) {
  static const char *const keys[] = {"name", "m", "u", "weight", NULL};
  char p[PATH_MAX_], lp[PATH_MAX_];
  json_t *arr;
  TSR_FORWARD_IF_ERROR(get_array(c, cmp, path, "levels", 0, "an array of levels", &arr, p));
  uint32_t nl = 0;
  const char *const *names = tsr_cmp_level_names(cc->kind, &nl);
  if (json_array_size(arr) > nl - 1)
    return fail(c, TSR_EPARSE, p, "%zu levels, more than the %u of kind %s", json_array_size(arr), nl - 1,
                tsr_cmp_kind_name(cc->kind));
  memset(fl, 0, sizeof *fl);
  uint32_t mask = 1u, prev = 0; /* null is implicit */
  double sm = 0.0, su = 0.0;
  for (size_t j = 0; j < json_array_size(arr); j++) {
    json_t *e = json_array_get(arr, j);
    path_idx(lp, sizeof lp, p, j);
    if (!json_is_object(e)) return fail(c, TSR_EPARSE, lp, "expected an object, got %s", type_name(e));
    TSR_FORWARD_IF_ERROR(check_keys(c, e, lp, keys));
    const char *ln;
    TSR_FORWARD_IF_ERROR(get_string(c, e, lp, "name", &ln));
    uint32_t l = 1;
    while (l < nl && strcmp(names[l], ln) != 0) l++;
    if (l == nl) {
      char list[300] = "";
      for (uint32_t x = 1; x < nl; x++) {
        strncat(list, names[x], sizeof list - strlen(list) - 1);
        if (x + 1 < nl) strncat(list, ", ", sizeof list - strlen(list) - 1);
      }
      char np[PATH_MAX_];
      path_key(np, sizeof np, lp, "name");
      return fail(c, TSR_EPARSE, np, "unknown level \"%s\" of kind %s (expected one of: %s)", ln,
                  tsr_cmp_kind_name(cc->kind), list);
    }
    if (l <= prev) {
      char np[PATH_MAX_];
      path_key(np, sizeof np, lp, "name");
      return fail(c, TSR_EPARSE, np, "level \"%s\" %s: levels are listed once each, in level order", ln,
                  l == prev ? "is listed twice" : "comes after a later level");
    }
    prev = l;
    mask |= 1u << l;
    fl->level[fl->n] = (uint8_t)l;
    TSR_FORWARD_IF_ERROR(get_number(c, e, lp, "m", 0.0, 1.0, "a number in [0, 1]", &fl->m[fl->n]));
    TSR_FORWARD_IF_ERROR(get_number(c, e, lp, "u", 0.0, 1.0, "a number in [0, 1]", &fl->u[fl->n]));
    TSR_FORWARD_IF_ERROR(get_number(c, e, lp, "weight", -TSR__W_MAX, TSR__W_MAX, "a number in [-60, 60] (bits)",
                                    &fl->w[fl->n]));
    sm += fl->m[fl->n];
    su += fl->u[fl->n];
    fl->n++;
  }
  uint32_t want = (cc->enabled | 1u | (1u << (nl - 1))) & ((nl < 32 ? (1u << nl) : 0u) - 1u);
  if (mask != want) {
    uint32_t l = 1;
    while (((mask ^ want) >> l & 1u) == 0) l++;
    return fail(c, TSR_ECONFIG, p, "level \"%s\" is %s the config but %s the model", names[l],
                want >> l & 1u ? "enabled in" : "off in", want >> l & 1u ? "missing from" : "listed in");
  }
  if (fabs(sm - 1.0) > TSR__MODEL_SUM_TOL)
    return fail(c, TSR_EPARSE, p, "m of the levels sums to %.17g, not 1 (within %g)", sm, TSR__MODEL_SUM_TOL);
  if (fabs(su - 1.0) > TSR__MODEL_SUM_TOL)
    return fail(c, TSR_EPARSE, p, "u of the levels sums to %.17g, not 1 (within %g)", su, TSR__MODEL_SUM_TOL);
  return 0;
}

/* An option of the file that must equal the config's. */
static int differs(pctx *c, const char *path, const char *key, const char *file_v, const char *cfg_v) {
  char p[PATH_MAX_];
  path_key(p, sizeof p, path, key);
  return fail(c, TSR_ECONFIG, p, "the model has %s, the config %s", file_v, cfg_v);
}

static int parse_options(pctx *c, json_t *o, const char *path, const tsr_cmp_cfg *cc, double tf_min) {
  unsigned opt = kind_opts(cc->kind);
  char p[PATH_MAX_], a[64], b[64];
  json_t *arr;
  if (opt & OPT_JW) {
    TSR_FORWARD_IF_ERROR(get_array(c, o, path, "jaro_winkler", 2, "an array of 2 numbers", &arr, p));
    double t[2];
    for (size_t i = 0; i < 2; i++) {
      json_t *v = json_array_get(arr, i);
      t[i] = json_is_number(v) ? json_number_value(v) : NAN;
      if (!(t[i] >= 0.0 && t[i] <= 1.0))
        return fail(c, TSR_EPARSE, p, "expected an array of 2 numbers in [0, 1]; item %zu is not", i);
    }
    if (t[0] != cc->jw1 || t[1] != cc->jw2) {
      snprintf(a, sizeof a, "[%.17g, %.17g]", t[0], t[1]);
      snprintf(b, sizeof b, "[%.17g, %.17g]", cc->jw1, cc->jw2);
      return differs(c, path, "jaro_winkler", a, b);
    }
  }
  if (opt & OPT_DL) {
    TSR_FORWARD_IF_ERROR(get_array(c, o, path, "damerau_levenshtein", 2, "an array of 2 integers", &arr, p));
    json_int_t t[2];
    for (size_t i = 0; i < 2; i++) {
      json_t *v = json_array_get(arr, i);
      if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000)
        return fail(c, TSR_EPARSE, p, "expected an array of 2 integers in [0, 1000]; item %zu is not", i);
      t[i] = json_integer_value(v);
    }
    if (t[0] != (json_int_t)cc->dl1 || t[1] != (json_int_t)cc->dl2) {
      snprintf(a, sizeof a, "[%lld, %lld]", (long long)t[0], (long long)t[1]);
      snprintf(b, sizeof b, "[%u, %u]", cc->dl1, cc->dl2);
      return differs(c, path, "damerau_levenshtein", a, b);
    }
  }
  if (opt & OPT_PHON) {
    TSR_FORWARD_IF_ERROR(get_array(c, o, path, "phonetic", 0, "an array of \"soundex\", \"nysiis\"", &arr, p));
    uint32_t bits = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
      const char *s = json_string_value(json_array_get(arr, i));
      uint32_t x = N_PHON;
      for (uint32_t q = 0; s && q < N_PHON; q++)
        if (strcmp(s, k_phon_names[q]) == 0) x = q;
      if (x == N_PHON || (bits >> x & 1u))
        return fail(c, TSR_EPARSE, p, "item %zu: expected \"soundex\" or \"nysiis\", each once", i);
      bits |= 1u << x;
    }
    if (bits != cc->phonetic) {
      snprintf(a, sizeof a, "codes 0x%x", bits);
      snprintf(b, sizeof b, "codes 0x%x (bit 0 Soundex, bit 1 NYSIIS)", cc->phonetic);
      return differs(c, path, "phonetic", a, b);
    }
  }
  if (opt & OPT_SWAP) {
    double s;
    TSR_FORWARD_IF_ERROR(get_number(c, o, path, "swap_jaro_winkler", 0.0, 1.0, "a number in [0, 1]", &s));
    if (s != cc->swap_jw) {
      snprintf(a, sizeof a, "%.17g", s);
      snprintf(b, sizeof b, "%.17g", cc->swap_jw);
      return differs(c, path, "swap_jaro_winkler", a, b);
    }
  }
  json_int_t i;
  if (opt & OPT_DAYS) {
    TSR_FORWARD_IF_ERROR(get_int(c, o, path, "within_days", 0, INT32_MAX, "an integer >= 0", &i));
    if (i != cc->within_days) {
      snprintf(a, sizeof a, "%lld", (long long)i);
      snprintf(b, sizeof b, "%d", cc->within_days);
      return differs(c, path, "within_days", a, b);
    }
  }
  if (opt & OPT_YEARS) {
    TSR_FORWARD_IF_ERROR(get_int(c, o, path, "within_years", 0, INT32_MAX, "an integer >= 0", &i));
    if (i != cc->within_years) {
      snprintf(a, sizeof a, "%lld", (long long)i);
      snprintf(b, sizeof b, "%d", cc->within_years);
      return differs(c, path, "within_years", a, b);
    }
  }
  if (opt & OPT_TF) {
    int tf = 0;
    TSR_FORWARD_IF_ERROR(get_bool(c, o, path, "tf", &tf));
    if (tf != (cc->tf != 0)) return differs(c, path, "tf", tf ? "true" : "false", cc->tf ? "true" : "false");
    if (tf) {
      double m;
      TSR_FORWARD_IF_ERROR(get_number(c, o, path, "tf_min", 0.0, 1.0, "a number in [0, 1]", &m));
      if (m != tf_min) {
        snprintf(a, sizeof a, "%.17g", m);
        snprintf(b, sizeof b, "%.17g", tf_min);
        return differs(c, path, "tf_min", a, b);
      }
    } else if (json_object_get(o, "tf_min")) {
      path_key(p, sizeof p, path, "tf_min");
      return fail(c, TSR_EPARSE, p, "only allowed with \"tf\": true");
    }
  }
  return 0;
}

static int parse_cmp(pctx *c, json_t *o, const char *path, const tsr_cmp_cfg *cc, double tf_min,
                     file_levels *fl) {
  static const char *const keys[] = {"name",  "kind", "fields", "scope", "levels", "jaro_winkler",
                                     "damerau_levenshtein", "phonetic", "swap_jaro_winkler", "within_days",
                                     "within_years", "tf", "tf_min", NULL};
  char p[PATH_MAX_];
  if (!json_is_object(o)) return fail(c, TSR_EPARSE, path, "expected an object, got %s", type_name(o));
  TSR_FORWARD_IF_ERROR(check_keys(c, o, path, keys));
  const char *name, *kind;
  TSR_FORWARD_IF_ERROR(get_string(c, o, path, "name", &name));
  TSR_FORWARD_IF_ERROR(get_string(c, o, path, "kind", &kind));
  int k = 0;
  while (k < TSR_CMP_KIND_COUNT && strcmp(tsr_cmp_kind_name((tsr_cmp_kind)k), kind) != 0) k++;
  if (k == TSR_CMP_KIND_COUNT) {
    path_key(p, sizeof p, path, "kind");
    return fail(c, TSR_EPARSE, p, "unknown comparison kind \"%s\"", kind);
  }
  if (strcmp(name, cc->name) != 0) {
    char a[300];
    snprintf(a, sizeof a, "\"%s\"", name);
    char b[300];
    snprintf(b, sizeof b, "\"%s\"", cc->name);
    return differs(c, path, "name", a, b);
  }
  if ((tsr_cmp_kind)k != cc->kind) return differs(c, path, "kind", kind, tsr_cmp_kind_name(cc->kind));
  /* options that do not belong to this kind */
  static const struct {
    const char *key;
    unsigned opt;
  } owned[] = {{"scope", OPT_SCOPE},         {"jaro_winkler", OPT_JW},    {"damerau_levenshtein", OPT_DL},
               {"phonetic", OPT_PHON},       {"swap_jaro_winkler", OPT_SWAP}, {"within_days", OPT_DAYS},
               {"within_years", OPT_YEARS},  {"tf", OPT_TF},              {"tf_min", OPT_TF}};
  unsigned opt = kind_opts(cc->kind);
  for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
    if (!(opt & owned[i].opt) && json_object_get(o, owned[i].key)) {
      path_key(p, sizeof p, path, owned[i].key);
      return fail(c, TSR_EPARSE, p, "does not apply to a comparison of kind %s", kind);
    }
  /* fields */
  size_t nf = opt & OPT_FIELDS2 ? 2 : 1;
  json_t *arr;
  TSR_FORWARD_IF_ERROR(get_array(c, o, path, "fields", 0, "an array of field names", &arr, p));
  for (size_t i = 0; i < json_array_size(arr); i++)
    if (!json_is_string(json_array_get(arr, i))) {
      char ip[PATH_MAX_];
      path_idx(ip, sizeof ip, p, i);
      return fail(c, TSR_EPARSE, ip, "expected a string, got %s", type_name(json_array_get(arr, i)));
    }
  const char *cf[2] = {cc->field, cc->field2};
  if (json_array_size(arr) != nf) {
    char a[32], b[32];
    snprintf(a, sizeof a, "%zu fields", json_array_size(arr));
    snprintf(b, sizeof b, "%zu", nf);
    return differs(c, path, "fields", a, b);
  }
  for (size_t i = 0; i < nf; i++) {
    const char *s = json_string_value(json_array_get(arr, i));
    if (!cf[i] || strcmp(s, cf[i]) != 0) {
      char a[300], b[300], ip[PATH_MAX_];
      snprintf(a, sizeof a, "\"%s\"", s);
      snprintf(b, sizeof b, "\"%s\"", cf[i] ? cf[i] : "");
      path_idx(ip, sizeof ip, "fields", i);
      return differs(c, path, ip, a, b);
    }
  }
  if (opt & OPT_SCOPE) {
    json_t *s = json_object_get(o, "scope");
    path_key(p, sizeof p, path, "scope");
    if (s && !json_is_string(s)) return fail(c, TSR_EPARSE, p, "expected a string, got %s", type_name(s));
    const char *fs = s ? json_string_value(s) : NULL;
    if ((fs == NULL) != (cc->field2 == NULL) || (fs && strcmp(fs, cc->field2) != 0)) {
      char a[300], b[300];
      snprintf(a, sizeof a, fs ? "\"%s\"" : "%s", fs ? fs : "no scope");
      snprintf(b, sizeof b, cc->field2 ? "\"%s\"" : "%s", cc->field2 ? cc->field2 : "no scope");
      return differs(c, path, "scope", a, b);
    }
  }
  TSR_FORWARD_IF_ERROR(parse_levels(c, o, path, cc, fl));
  return parse_options(c, o, path, cc, tf_min);
}

static int parse_root(pctx *c, json_t *root, const tsr_prob_cfg *pc, tsr__model *md, tsr__model_info *info) {
  static const char *const keys[] = {"format", "version", "tessera_version", "lambda", "prior_weight", "training",
                                     "comparisons", NULL};
  char p[PATH_MAX_];
  if (!json_is_object(root)) return fail(c, TSR_EPARSE, "", "expected an object, got %s", type_name(root));
  TSR_FORWARD_IF_ERROR(check_keys(c, root, "", keys));
  const char *s;
  TSR_FORWARD_IF_ERROR(get_string(c, root, "", "format", &s));
  if (strcmp(s, TSR__MODEL_FORMAT) != 0)
    return fail(c, TSR_EPARSE, "format", "expected \"%s\", got \"%s\": not a tessera model file", TSR__MODEL_FORMAT, s);
  json_int_t ver;
  TSR_FORWARD_IF_ERROR(get_int(c, root, "", "version", 1, INT32_MAX, "an integer >= 1", &ver));
  if (ver != TSR__MODEL_VERSION)
    return fail(c, TSR_EPARSE, "version", "model format version %lld; this tessera reads version %d", (long long)ver,
                TSR__MODEL_VERSION);
  TSR_FORWARD_IF_ERROR(get_string(c, root, "", "tessera_version", &s));
  double lambda, prior;
  TSR_FORWARD_IF_ERROR(get_number(c, root, "", "lambda", 0.0, 1.0, "a number in [0, 1]", &lambda));
  TSR_FORWARD_IF_ERROR(
      get_number(c, root, "", "prior_weight", -TSR__W_MAX, TSR__W_MAX, "a number in [-60, 60] (bits)", &prior));
  TSR_FORWARD_IF_ERROR(parse_training(c, root, info));
  json_t *cs;
  TSR_FORWARD_IF_ERROR(get_array(c, root, "", "comparisons", 0, "an array of comparisons", &cs, p));
  if (json_array_size(cs) != pc->n_cmp)
    return fail(c, TSR_ECONFIG, "comparisons", "the model has %zu comparisons, the config %u", json_array_size(cs),
                pc->n_cmp);
  if (pc->n_cmp == 0 || pc->n_cmp > TSR__MODEL_MAX_K)
    return fail(c, TSR_ECONFIG, "comparisons", "the config has %u comparisons; a model needs 1 to %d", pc->n_cmp,
                TSR__MODEL_MAX_K);
  file_levels fl[TSR__MODEL_MAX_K];
  uint8_t nlev[TSR__MODEL_MAX_K];
  for (uint32_t k = 0; k < pc->n_cmp; k++) {
    char cp[PATH_MAX_];
    path_idx(cp, sizeof cp, "comparisons", k);
    uint32_t nl = 0;
    if (!tsr_cmp_level_names(pc->cmp[k].kind, &nl))
      return fail(c, TSR_EINVAL, cp, "the config's comparison has an unknown kind");
    nlev[k] = (uint8_t)nl;
    TSR_FORWARD_IF_ERROR(parse_cmp(c, json_array_get(cs, k), cp, &pc->cmp[k], pc->tf_min, &fl[k]));
  }
  tsr_error ie;
  int rc = tsr__model_init(md, pc->n_cmp, nlev, &ie);
  if (rc) return fail(c, TSR_ECONFIG, "comparisons", "%s", ie.msg);
  for (uint32_t k = 0; k < pc->n_cmp; k++)
    for (uint32_t j = 0; j < fl[k].n; j++) {
      md->m[k][fl[k].level[j]] = fl[k].m[j];
      md->u[k][fl[k].level[j]] = fl[k].u[j];
    }
  md->lambda = lambda;
  tsr__model_weights(md);
  for (uint32_t k = 0; k < pc->n_cmp; k++)
    for (uint32_t j = 0; j < fl[k].n; j++) {
      double w = md->w[k][fl[k].level[j]];
      if (fabs(w - fl[k].w[j]) > TSR__MODEL_WEIGHT_TOL) {
        char wp[PATH_MAX_];
        snprintf(wp, sizeof wp, "comparisons[%u].levels[%u].weight", k, j);
        return fail(c, TSR_EPARSE, wp,
                    "the file says %.17g but log2(m/u) of its m and u is %.17g: the file was edited inconsistently",
                    fl[k].w[j], w);
      }
    }
  if (fabs(md->prior - prior) > TSR__MODEL_WEIGHT_TOL)
    return fail(c, TSR_EPARSE, "prior_weight",
                "the file says %.17g but log2(lambda / (1 - lambda)) of its lambda is %.17g: the file was edited "
                "inconsistently",
                prior, md->prior);
  return 0;
}

int tsr__model_parse(const char *text, size_t len, const char *name, const tsr_prob_cfg *pc, tsr__model *md,
                     tsr__model_info *info, tsr_error *err) {
  tsr__model_info tmp;
  if (!info) info = &tmp;
  memset(info, 0, sizeof *info);
  memset(md, 0, sizeof *md);
  pctx c = {name ? name : "model", err};
  json_error_t je;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return tsr_error_set(err, TSR_EPARSE, c.name, (uint64_t)(je.line > 0 ? je.line : 0),
                         (uint32_t)(je.column > 0 ? je.column : 0), "invalid JSON: %s", je.text);
  int rc = parse_root(&c, root, pc, md, info);
  json_decref(root);
  if (rc) {
    memset(md, 0, sizeof *md);
    memset(info, 0, sizeof *info);
  }
  return rc;
}

int tsr__model_load(const char *path, const tsr_prob_cfg *pc, tsr__model *md, tsr__model_info *info,
                    tsr_error *err) {
  memset(md, 0, sizeof *md);
  FILE *f = fopen(path, "rb");
  if (!f) return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot open the model: %s", strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = tsr__malloc(cap);
  int rc = 0;
  while (buf) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    if (cap >= (64u << 20)) {
      rc = tsr_error_set(err, TSR_ELIMIT, path, 0, 0, "the model file is larger than 64 MiB: not a model");
      break;
    }
    char *nb = tsr__realloc(buf, cap * 2);
    if (!nb) {
      tsr__free(buf);
      buf = NULL;
      break;
    }
    buf = nb;
    cap *= 2;
  }
  if (!buf) rc = tsr_error_set(err, TSR_ENOMEM, path, 0, 0, "out of memory");
  else if (!rc && ferror(f)) rc = tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot read the model: %s", strerror(errno));
  fclose(f);
  if (!rc) rc = tsr__model_parse(buf, n, path, pc, md, info, err);
  tsr__free(buf);
  return rc;
}

/* --- Splink export ----------------------------------------------------------------- */

/* DESIGN (Splink)
 *   Splink compares the columns "<field>_l" and "<field>_r" of its pair
 *   table; each level's sql_condition is one WHEN branch of a CASE, tried
 *   in order, so tessera's "first enabled level wins" carries over as it
 *   is. Null first (is_null_level), then the enabled levels, ELSE last.
 *   The SQL assumes the input already holds tessera's standardised values
 *   (names upper case, postcodes "LS1 4AB", dates as DATE, NHS numbers as
 *   10-digit text). Where DuckDB has no function for a level the SQL is the
 *   closest honest rendering, listed in docs/model-json.md. */

static void bprintf(tsr__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(tsr__buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n <= 0 || tsr__buf_reserve(b, (size_t)n + 1)) return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* The shortest %g that reads back as d. */
static void fmt_num(char *out, size_t n, double d) {
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(out, n, "%.*g", prec, d);
    if (strtod(out, NULL) == d) return;
  }
}

/* A column of Splink's pair table: "<field>_<side>" (quotes doubled). */
static void col(tsr__buf *b, const char *field, char side) {
  tsr__buf_putc(b, '"');
  for (const char *s = field; *s; s++) {
    if (*s == '"') tsr__buf_putc(b, '"');
    tsr__buf_putc(b, *s);
  }
  bprintf(b, "_%c\"", side);
}
/* A blocking rule's column: l."field" / r."field". */
static void bcol(tsr__buf *b, const char *field, char side) {
  bprintf(b, "%c.\"", side);
  for (const char *s = field; *s; s++) {
    if (*s == '"') tsr__buf_putc(b, '"');
    tsr__buf_putc(b, *s);
  }
  tsr__buf_putc(b, '"');
}

typedef void (*colfn)(tsr__buf *b, const char *field, char side);

/* American Soundex in DuckDB SQL, the same code as tsr__soundex: letters
 * only; H and W dropped (they do not separate equal codes), vowels and Y
 * separate; runs of one code collapsed; the first letter's own code
 * swallows a run after it; three digits, zero padded; NULL when the value
 * has no letter. */
static void sql_soundex(tsr__buf *b, colfn cf, const char *field, char side) {
#define LETTERS(b) (bprintf(b, "regexp_replace(upper("), cf(b, field, side), bprintf(b, "), '[^A-Z]', '', 'g')"))
  bprintf(b, "nullif(substr(");
  LETTERS(b);
  bprintf(b, ", 1, 1) || rpad(substr(replace(substr(");
  for (int d = 6; d >= 0; d--) bprintf(b, "regexp_replace(");
  bprintf(b, "translate(substr(");
  LETTERS(b);
  bprintf(b, ", 1, 1), 'AEIOUYBFPVCGJKQSXZDTLMNRHW', '00000011112222222233455699') || translate(substr(");
  LETTERS(b);
  bprintf(b, ", 2), 'AEIOUYBFPVCGJKQSXZDTLMNRHW', '000000111122222222334556')");
  for (int d = 0; d <= 6; d++) bprintf(b, ", '%d+', '%d', 'g')", d, d);
  bprintf(b, ", 2), '0', ''), 1, 3), 3, '0'), '000')");
#undef LETTERS
}

/* Name standardised for exact_std: spaces, hyphens and apostrophes dropped. */
static void sql_std(tsr__buf *b, colfn cf, const char *f, char side) {
  bprintf(b, "regexp_replace(");
  cf(b, f, side);
  bprintf(b, ", '[ ''-]', '', 'g')");
}
/* Text normalised (text exact_norm, key norm): upper case, runs of
 * anything but letters and digits one space, trimmed. */
static void sql_norm(tsr__buf *b, colfn cf, const char *f, char side) {
  bprintf(b, "trim(regexp_replace(upper(");
  cf(b, f, side);
  bprintf(b, "), '[^A-Z0-9]+', ' ', 'g'))");
}

static void eq(tsr__buf *b, const char *f) {
  col(b, f, 'l');
  bprintf(b, " = ");
  col(b, f, 'r');
}
static void fn2(tsr__buf *b, const char *fn, const char *f, const char *op, const char *num) {
  bprintf(b, "%s(", fn);
  col(b, f, 'l');
  bprintf(b, ", ");
  col(b, f, 'r');
  bprintf(b, ") %s %s", op, num);
}
static void null_of(tsr__buf *b, const char *f) {
  col(b, f, 'l');
  bprintf(b, " IS NULL OR ");
  col(b, f, 'r');
  bprintf(b, " IS NULL");
}
/* A name field "agrees" (full_name): equal after exact_std, JW >= jw2 or
 * DL <= dl2 (the phonetic test is left out of the full name's SQL: see the
 * docs). */
static void name_agree(tsr__buf *b, const tsr_cmp_cfg *c, const char *f) {
  char j2[32];
  fmt_num(j2, sizeof j2, c->jw2);
  bprintf(b, "(");
  sql_std(b, col, f, 'l');
  bprintf(b, " = ");
  sql_std(b, col, f, 'r');
  bprintf(b, " OR ");
  fn2(b, "jaro_winkler_similarity", f, ">=", j2);
  bprintf(b, " OR ");
  char d2[16];
  snprintf(d2, sizeof d2, "%u", c->dl2);
  fn2(b, "damerau_levenshtein", f, "<=", d2);
  bprintf(b, ")");
}
/* date parts */
static void dpart(tsr__buf *b, const char *fn, const char *f, char side) {
  bprintf(b, "%s(", fn);
  col(b, f, side);
  bprintf(b, ")");
}
static void dpart_eq(tsr__buf *b, const char *fl, const char *fr, const char *f) {
  dpart(b, fl, f, 'l');
  bprintf(b, " = ");
  dpart(b, fr, f, 'r');
}
/* A valid NHS number in SQL: 10 digits, not all the same, modulus 11. */
static void sql_nhs_valid(tsr__buf *b, const char *f, char side) {
  bprintf(b, "(regexp_full_match(");
  col(b, f, side);
  bprintf(b, ", '[0-9]{10}') AND ");
  col(b, f, side);
  bprintf(b, " <> repeat(substr(");
  col(b, f, side);
  bprintf(b, ", 1, 1), 10) AND (11 - (");
  for (int i = 1; i <= 9; i++) {
    bprintf(b, "%sCAST(substr(", i > 1 ? " + " : "");
    col(b, f, side);
    bprintf(b, ", %d, 1) AS INTEGER) * %d", i, 11 - i);
  }
  bprintf(b, ") %% 11) %% 11 = CAST(substr(");
  col(b, f, side);
  bprintf(b, ", 10, 1) AS INTEGER))");
}

/* The sql_condition of level l of comparison c. */
static void level_sql(tsr__buf *b, const tsr_cmp_cfg *c, uint32_t l, const char *lname) {
  const char *f = c->field, *f2 = c->field2;
  char j1[32], j2[32], num[32];
  fmt_num(j1, sizeof j1, c->jw1);
  fmt_num(j2, sizeof j2, c->jw2);
  if (strcmp(lname, "null") == 0) {
    if (c->kind == TSR_CMP_FULL_NAME) {
      bprintf(b, "(");
      null_of(b, f);
      bprintf(b, ") AND (");
      null_of(b, f2);
      bprintf(b, ")");
    } else if (c->kind == TSR_CMP_LOCAL_ID && f2) {
      null_of(b, f);
      bprintf(b, " OR ");
      null_of(b, f2);
      bprintf(b, " OR ");
      col(b, f2, 'l');
      bprintf(b, " <> ");
      col(b, f2, 'r');
    } else {
      null_of(b, f);
    }
    return;
  }
  (void)l;
  switch (c->kind) {
  case TSR_CMP_NAME:
  case TSR_CMP_TEXT:
    if (!strcmp(lname, "exact")) eq(b, f);
    else if (!strcmp(lname, "exact_std") || !strcmp(lname, "exact_norm")) {
      colfn cf = col;
      void (*g)(tsr__buf *, colfn, const char *, char) = c->kind == TSR_CMP_NAME ? sql_std : sql_norm;
      g(b, cf, f, 'l');
      bprintf(b, " = ");
      g(b, cf, f, 'r');
    } else if (!strcmp(lname, "jw1")) fn2(b, "jaro_winkler_similarity", f, ">=", j1);
    else if (!strcmp(lname, "jw2")) fn2(b, "jaro_winkler_similarity", f, ">=", j2);
    else if (!strcmp(lname, "dl1") || !strcmp(lname, "dl2")) {
      snprintf(num, sizeof num, "%u", lname[2] == '1' ? c->dl1 : c->dl2);
      fn2(b, "damerau_levenshtein", f, "<=", num);
    } else if (!strcmp(lname, "phonetic")) {
      sql_soundex(b, col, f, 'l');
      bprintf(b, " = ");
      sql_soundex(b, col, f, 'r');
    } else if (!strcmp(lname, "initial")) {
      bprintf(b, "(length(");
      col(b, f, 'l');
      bprintf(b, ") = 1 AND ");
      col(b, f, 'l');
      bprintf(b, " = substr(");
      col(b, f, 'r');
      bprintf(b, ", 1, 1)) OR (length(");
      col(b, f, 'r');
      bprintf(b, ") = 1 AND ");
      col(b, f, 'r');
      bprintf(b, " = substr(");
      col(b, f, 'l');
      bprintf(b, ", 1, 1))");
    } else if (!strcmp(lname, "part")) {
      bprintf(b, "(len(string_split_regex(");
      col(b, f, 'l');
      bprintf(b, ", '[ -]+')) > 1 OR len(string_split_regex(");
      col(b, f, 'r');
      bprintf(b, ", '[ -]+')) > 1) AND list_has_any(list_filter(string_split_regex(");
      col(b, f, 'l');
      bprintf(b, ", '[ -]+'), p -> length(p) >= 2), string_split_regex(");
      col(b, f, 'r');
      bprintf(b, ", '[ -]+'))");
    }
    break;
  case TSR_CMP_FULL_NAME:
    if (!strcmp(lname, "exact")) {
      sql_std(b, col, f, 'l');
      bprintf(b, " = ");
      sql_std(b, col, f, 'r');
      bprintf(b, " AND ");
      sql_std(b, col, f2, 'l');
      bprintf(b, " = ");
      sql_std(b, col, f2, 'r');
    } else if (!strcmp(lname, "swapped")) {
      fmt_num(num, sizeof num, c->swap_jw);
      for (int half = 0; half < 2; half++) { /* given_l ~ family_r, then family_l ~ given_r */
        const char *x = half ? f2 : f, *y = half ? f : f2;
        bprintf(b, "%s(", half ? " AND " : "");
        sql_std(b, col, x, 'l');
        bprintf(b, " = ");
        sql_std(b, col, y, 'r');
        bprintf(b, " OR jaro_winkler_similarity(");
        col(b, x, 'l');
        bprintf(b, ", ");
        col(b, y, 'r');
        bprintf(b, ") >= %s)", num);
      }
    } else if (!strcmp(lname, "both")) {
      name_agree(b, c, f);
      bprintf(b, " AND ");
      name_agree(b, c, f2);
    } else if (!strcmp(lname, "family")) name_agree(b, c, f2);
    else if (!strcmp(lname, "given")) name_agree(b, c, f);
    break;
  case TSR_CMP_DOB:
    if (!strcmp(lname, "exact")) eq(b, f);
    else if (!strcmp(lname, "day_month_swapped")) {
      dpart_eq(b, "year", "year", f);
      bprintf(b, " AND ");
      dpart_eq(b, "month", "day", f);
      bprintf(b, " AND ");
      dpart_eq(b, "day", "month", f);
    } else if (!strcmp(lname, "one_digit")) {
      bprintf(b, "hamming(strftime(");
      col(b, f, 'l');
      bprintf(b, ", '%%Y%%m%%d'), strftime(");
      col(b, f, 'r');
      bprintf(b, ", '%%Y%%m%%d')) = 1");
    } else if (!strcmp(lname, "same_year_month")) {
      dpart_eq(b, "year", "year", f);
      bprintf(b, " AND ");
      dpart_eq(b, "month", "month", f);
    } else if (!strcmp(lname, "within_days")) {
      bprintf(b, "abs(datediff('day', ");
      col(b, f, 'l');
      bprintf(b, ", ");
      col(b, f, 'r');
      bprintf(b, ")) <= %d", c->within_days);
    } else if (!strcmp(lname, "jan1")) {
      bprintf(b, "(month(");
      col(b, f, 'l');
      bprintf(b, ") = 1 AND day(");
      col(b, f, 'l');
      bprintf(b, ") = 1 OR month(");
      col(b, f, 'r');
      bprintf(b, ") = 1 AND day(");
      col(b, f, 'r');
      bprintf(b, ") = 1) AND ");
      dpart_eq(b, "year", "year", f);
    } else if (!strcmp(lname, "within_years")) {
      bprintf(b, "abs(year(");
      col(b, f, 'l');
      bprintf(b, ") - year(");
      col(b, f, 'r');
      bprintf(b, ")) <= %d", c->within_years);
    }
    break;
  case TSR_CMP_POSTCODE:
    if (!strcmp(lname, "full")) eq(b, f);
    else if (!strcmp(lname, "sector")) {
      bprintf(b, "substr(");
      col(b, f, 'l');
      bprintf(b, ", 1, length(");
      col(b, f, 'l');
      bprintf(b, ") - 2) = substr(");
      col(b, f, 'r');
      bprintf(b, ", 1, length(");
      col(b, f, 'r');
      bprintf(b, ") - 2)");
    } else if (!strcmp(lname, "district")) {
      bprintf(b, "split_part(");
      col(b, f, 'l');
      bprintf(b, ", ' ', 1) = split_part(");
      col(b, f, 'r');
      bprintf(b, ", ' ', 1)");
    } else if (!strcmp(lname, "area")) {
      bprintf(b, "regexp_extract(");
      col(b, f, 'l');
      bprintf(b, ", '^[A-Z]+') = regexp_extract(");
      col(b, f, 'r');
      bprintf(b, ", '^[A-Z]+')");
    }
    break;
  case TSR_CMP_NHS:
    if (!strcmp(lname, "equal")) {
      eq(b, f);
      bprintf(b, " AND ");
      sql_nhs_valid(b, f, 'l');
    } else if (!strcmp(lname, "near")) {
      bprintf(b, "hamming(");
      col(b, f, 'l');
      bprintf(b, ", ");
      col(b, f, 'r');
      bprintf(b, ") = 1 OR (hamming(");
      col(b, f, 'l');
      bprintf(b, ", ");
      col(b, f, 'r');
      bprintf(b, ") = 2 AND list_sort(string_split(");
      col(b, f, 'l');
      bprintf(b, ", '')) = list_sort(string_split(");
      col(b, f, 'r');
      bprintf(b, ", ''))) OR ");
      eq(b, f);
    } else if (!strcmp(lname, "different")) {
      sql_nhs_valid(b, f, 'l');
      bprintf(b, " AND ");
      sql_nhs_valid(b, f, 'r');
    }
    break;
  case TSR_CMP_SEX:
  case TSR_CMP_CODE:
  case TSR_CMP_LOCAL_ID:
    eq(b, f);
    break;
  default: break;
  }
}

static const char *level_label(const tsr_cmp_cfg *c, const char *lname, char *buf, size_t n) {
  if (!strcmp(lname, "jw1") || !strcmp(lname, "jw2")) {
    char t[32];
    fmt_num(t, sizeof t, lname[2] == '1' ? c->jw1 : c->jw2);
    snprintf(buf, n, "Jaro-Winkler >= %s", t);
  } else if (!strcmp(lname, "dl1") || !strcmp(lname, "dl2")) {
    snprintf(buf, n, "Damerau-Levenshtein <= %u", lname[2] == '1' ? c->dl1 : c->dl2);
  } else if (!strcmp(lname, "within_days")) {
    snprintf(buf, n, "within %d days", c->within_days);
  } else if (!strcmp(lname, "within_years")) {
    snprintf(buf, n, "within %d years", c->within_years);
  } else if (!strcmp(lname, "phonetic")) {
    snprintf(buf, n, "phonetic (Soundex%s)", c->phonetic & 2u ? "; tessera also counts NYSIIS" : "");
  } else {
    snprintf(buf, n, "%s", lname);
  }
  return buf;
}

/* The SQL of one key part of a blocking rule, one side. */
static void key_sql(tsr__buf *b, const tsr_key_part *kp, char side) {
  const char *f = kp->field;
  switch (kp->fn) {
  case TSR_KEYFN_SOUNDEX: sql_soundex(b, bcol, f, side); break;
  case TSR_KEYFN_YEAR:
    bprintf(b, "year(");
    bcol(b, f, side);
    bprintf(b, ")");
    break;
  case TSR_KEYFN_YEAR_MONTH:
    bprintf(b, "date_trunc('month', ");
    bcol(b, f, side);
    bprintf(b, ")");
    break;
  case TSR_KEYFN_DISTRICT:
    bprintf(b, "split_part(");
    bcol(b, f, side);
    bprintf(b, ", ' ', 1)");
    break;
  case TSR_KEYFN_SECTOR:
    bprintf(b, "substr(");
    bcol(b, f, side);
    bprintf(b, ", 1, length(");
    bcol(b, f, side);
    bprintf(b, ") - 2)");
    break;
  case TSR_KEYFN_INITIAL:
  case TSR_KEYFN_FIRST3:
    bprintf(b, "substr(");
    bcol(b, f, side);
    bprintf(b, ", 1, %d)", kp->fn == TSR_KEYFN_INITIAL ? 1 : 3);
    break;
  case TSR_KEYFN_NORM: sql_norm(b, bcol, f, side); break;
  case TSR_KEYFN_NYSIIS: /* no NYSIIS in DuckDB: the raw value, a stricter key (docs/model-json.md) */
  default: bcol(b, f, side); break;
  }
}

static void sql_quote(tsr__buf *b, const char *s) {
  tsr__buf_putc(b, '\'');
  for (; *s; s++) {
    if (*s == '\'') tsr__buf_putc(b, '\'');
    tsr__buf_putc(b, *s);
  }
  tsr__buf_putc(b, '\'');
}

static void rule_sql(tsr__buf *b, const tsr_config *cfg, const tsr_rule_cfg *r) {
  for (uint32_t i = 0; i < r->n_parts; i++) {
    if (i) bprintf(b, " AND ");
    key_sql(b, &r->parts[i], 'l');
    bprintf(b, " = ");
    key_sql(b, &r->parts[i], 'r');
  }
  /* a rule for some sources only: both records from those sources */
  uint64_t all = cfg->n_sources >= 64 ? ~0ull : (1ull << cfg->n_sources) - 1u;
  uint64_t in = r->source_mask & all & cfg->link.source_mask;
  if (cfg->n_sources > 1 && in != (all & cfg->link.source_mask)) {
    for (int side = 0; side < 2; side++) {
      bprintf(b, " AND %c.\"source_dataset\" IN (", side ? 'r' : 'l');
      int first = 1;
      for (uint32_t s = 0; s < cfg->n_sources; s++)
        if (in >> s & 1u) {
          if (!first) bprintf(b, ", ");
          sql_quote(b, cfg->sources[s].name);
          first = 0;
        }
      bprintf(b, ")");
    }
  }
}

/* json string from the buffer; NULL on OOM. */
static json_t *buf_str(tsr__buf *b) {
  if (b->oom) return NULL;
  return json_stringn(b->p ? b->p : "", b->len);
}

int tsr__model_splink_json(const tsr_config *cfg, const tsr__model *md, json_t **out, tsr_error *err) {
  *out = NULL;
  const tsr_prob_cfg *pc = &cfg->prob;
  TSR_RETURN_IF(pc->n_cmp != md->k, err, TSR_EINVAL, "the model has %u comparisons, the config %u", md->k,
                pc->n_cmp);
  TSR_RETURN_IF(!finite_model(md), err, TSR_EINVAL, "the model holds a value that is not a finite number");
  const char *lt = cfg->link.mode == TSR_MODE_LINK     ? "link_only"
                   : cfg->link.mode == TSR_MODE_DEDUPE ? "dedupe_only"
                                                       : "link_and_dedupe";
  tsr__buf b;
  tsr__buf_init(&b, 4096);
  json_t *root = json_object();
  int ok = root != NULL;
  ok = ok && put(root, "link_type", json_string(lt));
  ok = ok && put(root, "unique_id_column_name", json_string("unique_id"));
  if (cfg->link.mode != TSR_MODE_DEDUPE) ok = ok && put(root, "source_dataset_column_name", json_string("source_dataset"));
  ok = ok && put(root, "probability_two_random_records_match", json_real(md->lambda));
  json_t *br = json_array();
  ok = ok && put(root, "blocking_rules_to_generate_predictions", br);
  for (uint32_t i = 0; ok && i < pc->n_blocking; i++) {
    b.len = 0;
    rule_sql(&b, cfg, &pc->blocking[i]);
    ok = push(br, buf_str(&b));
  }
  json_t *cs = json_array();
  ok = ok && put(root, "comparisons", cs);
  for (uint32_t k = 0; ok && k < pc->n_cmp; k++) {
    const tsr_cmp_cfg *c = &pc->cmp[k];
    uint32_t nl = 0;
    const char *const *names = tsr_cmp_level_names(c->kind, &nl);
    if (!names || nl != md->nlev[k]) {
      json_decref(root);
      tsr__buf_free(&b);
      return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "comparison %u (%s): the model has %u levels, its kind %u",
                           k, c->name, md->nlev[k], nl);
    }
    json_t *co = json_object(), *lv = json_array();
    char desc[300];
    if (c->kind == TSR_CMP_FULL_NAME)
      snprintf(desc, sizeof desc, "tessera %s: %s, %s", tsr_cmp_kind_name(c->kind), c->field, c->field2);
    else if (c->kind == TSR_CMP_LOCAL_ID && c->field2)
      snprintf(desc, sizeof desc, "tessera %s: %s within the same %s", tsr_cmp_kind_name(c->kind), c->field,
               c->field2);
    else
      snprintf(desc, sizeof desc, "tessera %s: %s", tsr_cmp_kind_name(c->kind), c->field);
    ok = push(cs, co) && put(co, "output_column_name", json_string(c->name)) &&
         put(co, "comparison_description", json_string(desc)) && put(co, "comparison_levels", lv);
    for (uint32_t l = 0; ok && l < nl; l++) {
      if (l > 0 && !(c->enabled & (1u << l))) continue;
      json_t *e = json_object();
      ok = push(lv, e);
      b.len = 0;
      int last = l + 1 == nl;
      if (last) bprintf(&b, "ELSE");
      else level_sql(&b, c, l, names[l]);
      char lab[96];
      ok = ok && put(e, "sql_condition", buf_str(&b)) &&
           put(e, "label_for_charts", json_string(level_label(c, names[l], lab, sizeof lab)));
      if (l == 0) {
        ok = ok && put(e, "is_null_level", json_true());
        continue;
      }
      ok = ok && put(e, "m_probability", json_real(md->m[k][l])) && put(e, "u_probability", json_real(md->u[k][l]));
      int exact = l == 1 && (c->kind == TSR_CMP_NAME || c->kind == TSR_CMP_FULL_NAME || c->kind == TSR_CMP_TEXT ||
                             c->kind == TSR_CMP_POSTCODE || c->kind == TSR_CMP_CODE);
      if (c->tf && exact) {
        const char *tcol = c->kind == TSR_CMP_FULL_NAME ? c->field2 : c->field;
        ok = ok && put(e, "tf_adjustment_column", json_string(tcol)) &&
             put(e, "tf_adjustment_weight", json_real(1.0)) && put(e, "tf_minimum_u_value", json_real(pc->tf_min));
      }
    }
  }
  ok = ok && put(root, "retain_matching_columns", json_true());
  ok = ok && put(root, "retain_intermediate_calculation_columns", json_false());
  ok = ok && put(root, "sql_dialect", json_string("duckdb"));
  tsr__buf_free(&b);
  if (!ok) {
    json_decref(root);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  }
  *out = root;
  return 0;
}

int tsr__model_splink(const char *path, const tsr_config *cfg, const tsr__model *md, tsr_error *err) {
  json_t *root;
  TSR_FORWARD_IF_ERROR(tsr__model_splink_json(cfg, md, &root, err));
  char *text = dump_nl(root);
  json_decref(root);
  if (!text) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  int rc = write_path(path, text, err);
  free(text);
  return rc;
}
