/* The one place where the run configuration's JSON becomes typed structs.
 *
 * DESIGN
 *   Each JSON object is checked against the list of keys it may hold before
 *   any value is read, so an unknown or misspelt key is an error that names
 *   its path ("sources[0].colums: unknown key ..."). Values are read by small
 *   typed getters that report "<path>: expected ..., got ...". Everything the
 *   result owns is allocated from one arena, freed with the config. */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/common_internal.h"
#include "common/date.h"
#include "tessera/config.h"

typedef struct cfg_owner {
  tsr_config pub; /* first: the public pointer is this struct */
  tsr__arena arena;
} cfg_owner;

typedef struct {
  const char *file;
  tsr_error *err;
  tsr__arena *arena;
} ctx_t;

static const char *const k_kind_names[TSR_KIND_COUNT] = {
#define TSR__FK_NAME(id, name) name,
    TSR_FIELD_KIND_LIST(TSR__FK_NAME)
#undef TSR__FK_NAME
};

const char *tsr_field_kind_name(tsr_field_kind k) {
  return (unsigned)k < TSR_KIND_COUNT ? k_kind_names[k] : "unknown";
}

static int cfg_fail(ctx_t *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cfg_fail(ctx_t *c, const char *path, const char *fmt, ...) {
  char msg[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return tsr_error_set(c->err, TSR_ECONFIG, c->file, 0, 0, "%s: %s", path[0] ? path : "(top level)", msg);
}

static const char *json_type_name(const json_t *v) {
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

/* Key paths are labels for messages: truncating a very long one is fine. */
static void sub_path(char *out, size_t n, const char *path, const char *key) {
  if (snprintf(out, n, "%s%s%s", path, path[0] ? "." : "", key) >= (int)n) out[n - 1] = '\0';
}

/* Rejects keys outside `allowed` (NULL-terminated). */
static int check_keys(ctx_t *c, const json_t *obj, const char *path, const char *const *allowed) {
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
      char p[300];
      sub_path(p, sizeof p, path, key);
      return cfg_fail(c, p, "unknown key (expected one of: %s)", list);
    }
  }
  return 0;
}

static char *dup_str(ctx_t *c, const char *s) {
  char *p = tsr__arena_strndup(c->arena, s, strlen(s));
  if (!p) tsr_error_set(c->err, TSR_ENOMEM, c->file, 0, 0, "out of memory");
  return p;
}

/* Optional string member: *out untouched when absent. */
static int get_str(ctx_t *c, const json_t *obj, const char *path, const char *key, int required, const char **out) {
  json_t *v = json_object_get(obj, key);
  char p[300];
  sub_path(p, sizeof p, path, key);
  if (!v) return required ? cfg_fail(c, p, "required key is missing") : 0;
  if (!json_is_string(v)) return cfg_fail(c, p, "expected a string, got %s", json_type_name(v));
  *out = json_string_value(v);
  return 0;
}

static int get_bool(ctx_t *c, const json_t *obj, const char *path, const char *key, int *out) {
  json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  char p[300];
  sub_path(p, sizeof p, path, key);
  if (!json_is_boolean(v)) return cfg_fail(c, p, "expected true or false, got %s", json_type_name(v));
  *out = json_is_true(v);
  return 0;
}

static int get_share(ctx_t *c, const json_t *obj, const char *path, const char *key, double *out) {
  json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  char p[300];
  sub_path(p, sizeof p, path, key);
  if (!json_is_number(v)) return cfg_fail(c, p, "expected a number in [0, 1], got %s", json_type_name(v));
  double d = json_number_value(v);
  if (!(d >= 0.0 && d <= 1.0)) return cfg_fail(c, p, "expected a number in [0, 1], got %g", d);
  *out = d;
  return 0;
}

static int get_char(ctx_t *c, const json_t *obj, const char *path, const char *key, int allow_empty, char *out) {
  const char *s = NULL;
  TSR_FORWARD_IF_ERROR(get_str(c, obj, path, key, 0, &s));
  if (!s) return 0;
  char p[300];
  sub_path(p, sizeof p, path, key);
  size_t n = strlen(s);
  if (n == 0 && allow_empty) {
    *out = '\0';
    return 0;
  }
  if (n != 1 || s[0] == '\n' || s[0] == '\r' || (unsigned char)s[0] >= 0x80)
    return cfg_fail(c, p, "expected a single ASCII character%s, got \"%s\"", allow_empty ? " or \"\"" : "", s);
  *out = s[0];
  return 0;
}

/* "YYYY-MM-DD" style layouts: YYYY, YY, MM, DD and punctuation. */
static int compile_date_format(ctx_t *c, const char *path, const char *s, tsr_date_format *f) {
  memset(f, 0, sizeof *f);
  if (strlen(s) >= sizeof f->text) return cfg_fail(c, path, "date format \"%s\" is too long", s);
  snprintf(f->text, sizeof f->text, "%s", s);
  int y = 0, m = 0, d = 0;
  for (const char *p = s; *p;) {
    if (f->n == 8) return cfg_fail(c, path, "date format \"%s\" has too many parts", s);
    if (strncmp(p, "YYYY", 4) == 0) {
      f->part[f->n++] = 'Y';
      y++;
      p += 4;
    } else if (strncmp(p, "YY", 2) == 0) {
      f->part[f->n++] = 'y';
      y++;
      p += 2;
    } else if (strncmp(p, "MM", 2) == 0) {
      f->part[f->n++] = 'M';
      m++;
      p += 2;
    } else if (strncmp(p, "DD", 2) == 0) {
      f->part[f->n++] = 'D';
      d++;
      p += 2;
    } else if (ispunct((unsigned char)*p) || *p == ' ') {
      f->part[f->n++] = (uint8_t)*p++;
    } else {
      return cfg_fail(c, path,
                      "date format \"%s\": expected YYYY, YY, MM, DD and separators such as - / . (e.g. \"DD/MM/YYYY\")",
                      s);
    }
  }
  if (y != 1 || m != 1 || d != 1)
    return cfg_fail(c, path, "date format \"%s\" must hold the year, month and day once each", s);
  return 0;
}

static int parse_iso_date(const char *s, int32_t *out) {
  int y, m, d;
  char tail;
  if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || !tsr__ymd_valid(y, m, d)) return -1;
  *out = tsr__days_from_ymd(y, m, d);
  return 0;
}

static int parse_kind(const char *s, tsr_field_kind *k) {
  for (int i = 0; i < TSR_KIND_COUNT; i++)
    if (strcmp(s, k_kind_names[i]) == 0) {
      *k = (tsr_field_kind)i;
      return 0;
    }
  return -1;
}

static int parse_column(ctx_t *c, const char *path, const char *name, const json_t *v, tsr_column_cfg *col) {
  static const char *const keys[] = {"field", "kind", "format", "required", "min", "max", NULL};
  if (!json_is_object(v)) return cfg_fail(c, path, "expected an object such as {\"kind\": \"date\"}, got %s", json_type_name(v));
  TSR_FORWARD_IF_ERROR(check_keys(c, v, path, keys));
  memset(col, 0, sizeof *col);
  if (!name[0]) return cfg_fail(c, path, "column name is empty");
  if (!(col->column = dup_str(c, name))) return TSR_ENOMEM;
  const char *field = name, *kind = NULL;
  TSR_FORWARD_IF_ERROR(get_str(c, v, path, "field", 0, &field));
  if (!field[0]) return cfg_fail(c, path, "field name is empty");
  if (!(col->field = dup_str(c, field))) return TSR_ENOMEM;
  TSR_FORWARD_IF_ERROR(get_str(c, v, path, "kind", 1, &kind));
  char p[300];
  sub_path(p, sizeof p, path, "kind");
  if (parse_kind(kind, &col->kind))
    return cfg_fail(c, p,
                    "unknown kind \"%s\" (expected one of: nhs_number, given_name, family_name, date, sex, postcode, "
                    "local_id, code, text, integer)",
                    kind);
  TSR_FORWARD_IF_ERROR(get_bool(c, v, path, "required", &col->required));
  json_t *fmt = json_object_get(v, "format");
  json_t *mn = json_object_get(v, "min"), *mx = json_object_get(v, "max");
  if (col->kind != TSR_KIND_DATE) {
    if (fmt) return cfg_fail(c, path, "\"format\" applies to dates only (kind is %s)", kind);
    if (mn || mx) return cfg_fail(c, path, "\"min\"/\"max\" apply to dates only (kind is %s)", kind);
    return 0;
  }
  sub_path(p, sizeof p, path, "format");
  if (!fmt) {
    TSR_FORWARD_IF_ERROR(compile_date_format(c, p, "YYYY-MM-DD", &col->formats[0]));
    col->n_formats = 1;
  } else if (json_is_string(fmt)) {
    TSR_FORWARD_IF_ERROR(compile_date_format(c, p, json_string_value(fmt), &col->formats[0]));
    col->n_formats = 1;
  } else if (json_is_array(fmt) && json_array_size(fmt) >= 1 && json_array_size(fmt) <= TSR_MAX_DATE_FORMATS) {
    for (size_t i = 0; i < json_array_size(fmt); i++) {
      json_t *e = json_array_get(fmt, i);
      char pi[320];
      (void)!snprintf(pi, sizeof pi, "%s[%zu]", p, i);
      if (!json_is_string(e)) return cfg_fail(c, pi, "expected a date format string, got %s", json_type_name(e));
      TSR_FORWARD_IF_ERROR(compile_date_format(c, pi, json_string_value(e), &col->formats[i]));
    }
    col->n_formats = (uint8_t)json_array_size(fmt);
  } else {
    return cfg_fail(c, p, "expected a date format such as \"DD/MM/YYYY\", or a list of 1 to %d of them",
                    TSR_MAX_DATE_FORMATS);
  }
  /* DOMAIN.md: no date of birth before 1895; the upper end defaults far out
   * and is set per column to the end of the data period */
  col->min_date = tsr__days_from_ymd(1895, 1, 1);
  col->max_date = tsr__days_from_ymd(2100, 12, 31);
  const char *s = NULL;
  TSR_FORWARD_IF_ERROR(get_str(c, v, path, "min", 0, &s));
  sub_path(p, sizeof p, path, "min");
  if (s && parse_iso_date(s, &col->min_date)) return cfg_fail(c, p, "expected a date as \"YYYY-MM-DD\", got \"%s\"", s);
  s = NULL;
  TSR_FORWARD_IF_ERROR(get_str(c, v, path, "max", 0, &s));
  sub_path(p, sizeof p, path, "max");
  if (s && parse_iso_date(s, &col->max_date)) return cfg_fail(c, p, "expected a date as \"YYYY-MM-DD\", got \"%s\"", s);
  if (col->min_date > col->max_date) return cfg_fail(c, path, "\"min\" is after \"max\"");
  return 0;
}

static int valid_name(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return 0;
  return 1;
}

static int parse_source(ctx_t *c, const char *path, const json_t *v, const char *base_dir, tsr_source_cfg *s) {
  static const char *const keys[] = {"name",   "path",    "delimiter", "quote", "header", "trim", "null_tokens",
                                     "id",     "columns", "max_reject_share", NULL};
  if (!json_is_object(v)) return cfg_fail(c, path, "expected an object, got %s", json_type_name(v));
  TSR_FORWARD_IF_ERROR(check_keys(c, v, path, keys));
  memset(s, 0, sizeof *s);
  s->delimiter = ',';
  s->quote = '"';
  s->header = 1;
  s->trim = 1;
  s->max_reject_share = 0.01;
  const char *name = NULL, *file = NULL, *id = NULL;
  char p[300];
  TSR_FORWARD_IF_ERROR(get_str(c, v, path, "name", 1, &name));
  sub_path(p, sizeof p, path, "name");
  if (!valid_name(name)) return cfg_fail(c, p, "expected letters, digits, '_' or '-', got \"%s\"", name);
  if (!(s->name = dup_str(c, name))) return TSR_ENOMEM;
  TSR_FORWARD_IF_ERROR(get_str(c, v, path, "path", 1, &file));
  sub_path(p, sizeof p, path, "path");
  if (!file[0]) return cfg_fail(c, p, "path is empty");
  char full[2048];
  if (file[0] == '/' || !base_dir || !base_dir[0])
    snprintf(full, sizeof full, "%s", file);
  else
    snprintf(full, sizeof full, "%s/%s", base_dir, file);
  if (!(s->path = dup_str(c, full))) return TSR_ENOMEM;
  TSR_FORWARD_IF_ERROR(get_char(c, v, path, "delimiter", 0, &s->delimiter));
  TSR_FORWARD_IF_ERROR(get_char(c, v, path, "quote", 1, &s->quote));
  if (s->quote && s->quote == s->delimiter) return cfg_fail(c, path, "quote and delimiter must differ");
  TSR_FORWARD_IF_ERROR(get_bool(c, v, path, "header", &s->header));
  TSR_FORWARD_IF_ERROR(get_bool(c, v, path, "trim", &s->trim));
  TSR_FORWARD_IF_ERROR(get_share(c, v, path, "max_reject_share", &s->max_reject_share));
  json_t *nt = json_object_get(v, "null_tokens");
  sub_path(p, sizeof p, path, "null_tokens");
  if (nt) {
    if (!json_is_array(nt)) return cfg_fail(c, p, "expected a list of strings, got %s", json_type_name(nt));
    s->n_null_tokens = (uint32_t)json_array_size(nt);
    s->null_tokens = tsr__arena_alloc(c->arena, sizeof(char *) * (s->n_null_tokens + 1), 8);
    if (!s->null_tokens) return tsr_error_set(c->err, TSR_ENOMEM, c->file, 0, 0, "out of memory");
    for (uint32_t i = 0; i < s->n_null_tokens; i++) {
      json_t *e = json_array_get(nt, i);
      char pi[320];
      (void)!snprintf(pi, sizeof pi, "%s[%u]", p, i);
      if (!json_is_string(e)) return cfg_fail(c, pi, "expected a string, got %s", json_type_name(e));
      if (!(s->null_tokens[i] = dup_str(c, json_string_value(e)))) return TSR_ENOMEM;
    }
  } else {
    s->n_null_tokens = 1;
    s->null_tokens = tsr__arena_alloc(c->arena, sizeof(char *), 8);
    if (!s->null_tokens || !(s->null_tokens[0] = dup_str(c, ""))) return TSR_ENOMEM;
  }
  json_t *cols = json_object_get(v, "columns");
  sub_path(p, sizeof p, path, "columns");
  if (!cols) return cfg_fail(c, p, "required key is missing");
  if (!json_is_object(cols) || json_object_size(cols) == 0)
    return cfg_fail(c, p, "expected an object mapping column names to {\"kind\": ...}, got %s",
                    json_is_object(cols) ? "an empty object" : json_type_name(cols));
  s->n_columns = (uint32_t)json_object_size(cols);
  s->columns = tsr__arena_alloc(c->arena, sizeof(tsr_column_cfg) * s->n_columns, 8);
  if (!s->columns) return tsr_error_set(c->err, TSR_ENOMEM, c->file, 0, 0, "out of memory");
  const char *key;
  json_t *cv;
  uint32_t i = 0;
  json_object_foreach(cols, key, cv) {
    char pc[400];
    (void)!snprintf(pc, sizeof pc, "%s.%s", p, key);
    TSR_FORWARD_IF_ERROR(parse_column(c, pc, key, cv, &s->columns[i]));
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(s->columns[j].field, s->columns[i].field) == 0)
        return cfg_fail(c, pc, "field \"%s\" is already mapped from column \"%s\"", s->columns[i].field,
                        s->columns[j].column);
    if (!s->header) {
      char *end;
      long pos = strtol(key, &end, 10);
      if (*end || pos < 1 || pos > 100000)
        return cfg_fail(c, pc, "with \"header\": false, columns are named by position (\"1\", \"2\", ...)");
    }
    i++;
  }
  TSR_FORWARD_IF_ERROR(get_str(c, v, path, "id", 1, &id));
  sub_path(p, sizeof p, path, "id");
  int found = 0;
  for (uint32_t k = 0; k < s->n_columns; k++)
    if (strcmp(s->columns[k].column, id) == 0) {
      found = 1;
      s->columns[k].required = 1; /* a row without its id cannot be reported */
    }
  if (!found) return cfg_fail(c, p, "id column \"%s\" is not listed in \"columns\"", id);
  if (!(s->id_column = dup_str(c, id))) return TSR_ENOMEM;
  return 0;
}

static int parse_root(ctx_t *c, const json_t *root, const char *base_dir, tsr_config *cfg) {
  static const char *const keys[] = {"version", "sources", NULL};
  if (!json_is_object(root)) return cfg_fail(c, "", "expected a JSON object, got %s", json_type_name(root));
  TSR_FORWARD_IF_ERROR(check_keys(c, root, "", keys));
  json_t *ver = json_object_get(root, "version");
  if (ver && (!json_is_integer(ver) || json_integer_value(ver) != 1))
    return cfg_fail(c, "version", "expected 1 (the only version so far)");
  json_t *src = json_object_get(root, "sources");
  if (!src) return cfg_fail(c, "sources", "required key is missing");
  if (!json_is_array(src) || json_array_size(src) == 0)
    return cfg_fail(c, "sources", "expected a non-empty list of sources, got %s",
                    json_is_array(src) ? "an empty list" : json_type_name(src));
  cfg->n_sources = (uint32_t)json_array_size(src);
  cfg->sources = tsr__arena_alloc(c->arena, sizeof(tsr_source_cfg) * cfg->n_sources, 8);
  if (!cfg->sources) return tsr_error_set(c->err, TSR_ENOMEM, c->file, 0, 0, "out of memory");
  for (uint32_t i = 0; i < cfg->n_sources; i++) {
    char p[64];
    snprintf(p, sizeof p, "sources[%u]", i);
    TSR_FORWARD_IF_ERROR(parse_source(c, p, json_array_get(src, i), base_dir, &cfg->sources[i]));
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(cfg->sources[j].name, cfg->sources[i].name) == 0)
        return cfg_fail(c, p, "source name \"%s\" is used twice", cfg->sources[i].name);
  }
  return 0;
}

int tsr_config_parse(const char *text, size_t len, const char *name, const char *base_dir, tsr_config **out,
                     tsr_error *err) {
  *out = NULL;
  tsr_error_clear(err);
  const char *label = name ? name : "<config>";
  json_error_t je;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return tsr_error_set(err, TSR_ECONFIG, label, je.line > 0 ? (uint64_t)je.line : 0,
                         je.column > 0 ? (uint32_t)je.column : 0, "invalid JSON: %s", je.text);
  cfg_owner *o = tsr__calloc(1, sizeof *o);
  if (!o) {
    json_decref(root);
    return tsr_error_set(err, TSR_ENOMEM, label, 0, 0, "out of memory");
  }
  tsr__arena_init(&o->arena, 16384);
  ctx_t c = {label, err, &o->arena};
  int rc = 0;
  if (!(o->pub.path = dup_str(&c, label)) || !(o->pub.base_dir = dup_str(&c, base_dir ? base_dir : "")))
    rc = TSR_ENOMEM;
  if (!rc) rc = parse_root(&c, root, base_dir, &o->pub);
  json_decref(root);
  if (rc) {
    tsr_config_free(&o->pub);
    return rc;
  }
  *out = &o->pub;
  return 0;
}

int tsr_config_load(const char *path, tsr_config **out, tsr_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot open config file");
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? cap * 2 : 65536;
      if (cap > ((size_t)64 << 20)) {
        fclose(f);
        tsr__free(buf);
        return tsr_error_set(err, TSR_ELIMIT, path, 0, 0, "config file is larger than 64 MiB");
      }
      char *nb = tsr__realloc(buf, cap);
      if (!nb) {
        fclose(f);
        tsr__free(buf);
        return tsr_error_set(err, TSR_ENOMEM, path, 0, 0, "out of memory");
      }
      buf = nb;
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    tsr__free(buf);
    return tsr_error_set(err, TSR_EIO, path, 0, 0, "read error");
  }
  /* the folder of the config file resolves relative source paths */
  char dir[2048];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  else
    snprintf(dir, sizeof dir, ".");
  if (slash == dir) snprintf(dir, sizeof dir, "/");
  int rc = tsr_config_parse(buf, n, path, dir, out, err);
  tsr__free(buf);
  return rc;
}

void tsr_config_free(tsr_config *c) {
  if (!c) return;
  cfg_owner *o = (cfg_owner *)c;
  tsr__arena_free(&o->arena);
  tsr__free(o);
}

int tsr_config_source_index(const tsr_config *c, const char *name) {
  for (uint32_t i = 0; i < c->n_sources; i++)
    if (strcmp(c->sources[i].name, name) == 0) return (int)i;
  return -1;
}
