/* The config parser's JSON helper: key checks, typed getters and key paths
 * (see cfg_json.h). The wording of every "expected ..., got ..." message of
 * the config lives here, so all sections speak alike. */
#include "config/cfg_json.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/common_internal.h"

int tsr__cfg_fail(tsr__cfg_ctx *c, const char *path, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return tsr_error_set(c->err, TSR_ECONFIG, c->file, 0, 0, "%s: %s", path[0] ? path : "(top level)", msg);
}

int tsr__cfg_nomem(tsr__cfg_ctx *c) { return tsr_error_set(c->err, TSR_ENOMEM, c->file, 0, 0, "out of memory"); }

const char *tsr__cfg_type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return "an object";
  case JSON_ARRAY:
    return "an array";
  case JSON_STRING:
    return "a string";
  case JSON_INTEGER:
    return "an integer";
  case JSON_REAL:
    return "a number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "a boolean";
  default:
    return "null";
  }
}

void tsr__cfg_path(char *out, size_t n, const char *path, const char *key) {
  if (snprintf(out, n, "%s%s%s", path, path[0] ? "." : "", key) >= (int)n) out[n - 1] = '\0';
}

void tsr__cfg_path_index(char *out, size_t n, const char *path, size_t i) {
  if (snprintf(out, n, "%s[%zu]", path, i) >= (int)n) out[n - 1] = '\0';
}

int tsr__cfg_check_keys(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *const *allowed) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    int ok = 0;
    for (const char *const *a = allowed; *a; a++)
      if (strcmp(*a, key) == 0) ok = 1;
    if (!ok) {
      char list[300] = "";
      for (const char *const *a = allowed; *a; a++) {
        strncat(list, *a, sizeof list - strlen(list) - 1);
        if (a[1]) strncat(list, ", ", sizeof list - strlen(list) - 1);
      }
      char p[TSR__CFG_PATH_MAX];
      tsr__cfg_path(p, sizeof p, path, key);
      return tsr__cfg_fail(c, p, "unknown key (expected one of: %s)", list);
    }
  }
  return 0;
}

char *tsr__cfg_strdup(tsr__cfg_ctx *c, const char *s) {
  char *p = tsr__arena_strndup(c->arena, s, strlen(s));
  if (!p) tsr__cfg_nomem(c);
  return p;
}

void *tsr__cfg_alloc(tsr__cfg_ctx *c, size_t n) {
  void *p = tsr__arena_alloc(c->arena, n, 8);
  if (!p) tsr__cfg_nomem(c);
  return p;
}

int tsr__cfg_get_str(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *key, int required,
                     const char **out) {
  json_t *v = json_object_get(obj, key);
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, key);
  if (!v) return required ? tsr__cfg_fail(c, p, "required key is missing") : 0;
  if (!json_is_string(v)) return tsr__cfg_fail(c, p, "expected a string, got %s", tsr__cfg_type_name(v));
  *out = json_string_value(v);
  return 0;
}

int tsr__cfg_get_bool(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *key, int *out) {
  json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, key);
  if (!json_is_boolean(v)) return tsr__cfg_fail(c, p, "expected true or false, got %s", tsr__cfg_type_name(v));
  *out = json_is_true(v);
  return 0;
}

int tsr__cfg_get_uint(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *key, uint64_t lo,
                      uint64_t hi, uint64_t *out) {
  json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, key);
  if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo || (uint64_t)json_integer_value(v) > hi)
    return tsr__cfg_fail(c, p, "expected an integer from %llu to %llu", (unsigned long long)lo,
                         (unsigned long long)hi);
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

int tsr__cfg_get_share(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *key, double *out) {
  json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, key);
  if (!json_is_number(v)) return tsr__cfg_fail(c, p, "expected a number in [0, 1], got %s", tsr__cfg_type_name(v));
  double d = json_number_value(v);
  if (!(d >= 0.0 && d <= 1.0)) return tsr__cfg_fail(c, p, "expected a number in [0, 1], got %g", d);
  *out = d;
  return 0;
}

int tsr__cfg_get_char(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *key, int allow_empty,
                      char *out) {
  const char *s = NULL;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, obj, path, key, 0, &s));
  if (!s) return 0;
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, key);
  size_t n = strlen(s);
  if (n == 0 && allow_empty) {
    *out = '\0';
    return 0;
  }
  if (n != 1 || s[0] == '\n' || s[0] == '\r' || (unsigned char)s[0] >= 0x80)
    return tsr__cfg_fail(c, p, "expected a single ASCII character%s, got \"%s\"", allow_empty ? " or \"\"" : "", s);
  *out = s[0];
  return 0;
}

int tsr__cfg_valid_name(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return 0;
  return 1;
}
