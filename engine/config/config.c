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

static const tsr_column_cfg *source_field(const tsr_source_cfg *s, const char *field) {
  for (uint32_t k = 0; k < s->n_columns; k++)
    if (strcmp(s->columns[k].field, field) == 0) return &s->columns[k];
  return NULL;
}

/* "event_dates": date fields whose values say when a record was seen. */
static int parse_event_dates(ctx_t *c, const char *path, const json_t *v, tsr_source_cfg *s) {
  char p[300];
  sub_path(p, sizeof p, path, "event_dates");
  json_t *ed = json_object_get(v, "event_dates");
  uint32_t n = 0;
  if (ed) {
    if (!json_is_array(ed)) return cfg_fail(c, p, "expected a list of date fields, got %s", json_type_name(ed));
    n = (uint32_t)json_array_size(ed);
  } else {
    for (uint32_t k = 0; k < s->n_columns; k++)
      if (s->columns[k].kind == TSR_KIND_DATE && strcmp(s->columns[k].field, "dob") != 0) n++;
  }
  s->event_dates = tsr__arena_alloc(c->arena, sizeof(char *) * (n + 1), 8);
  if (!s->event_dates) return tsr_error_set(c->err, TSR_ENOMEM, c->file, 0, 0, "out of memory");
  if (ed) {
    for (uint32_t i = 0; i < n; i++) {
      json_t *e = json_array_get(ed, i);
      char pi[320];
      (void)!snprintf(pi, sizeof pi, "%s[%u]", p, i);
      if (!json_is_string(e)) return cfg_fail(c, pi, "expected a field name, got %s", json_type_name(e));
      const tsr_column_cfg *col = source_field(s, json_string_value(e));
      if (!col) return cfg_fail(c, pi, "source \"%s\" has no field \"%s\"", s->name, json_string_value(e));
      if (col->kind != TSR_KIND_DATE)
        return cfg_fail(c, pi, "field \"%s\" is a %s, expected a date", col->field, tsr_field_kind_name(col->kind));
      s->event_dates[i] = col->field;
    }
  } else {
    uint32_t i = 0;
    for (uint32_t k = 0; k < s->n_columns; k++)
      if (s->columns[k].kind == TSR_KIND_DATE && strcmp(s->columns[k].field, "dob") != 0)
        s->event_dates[i++] = s->columns[k].field;
  }
  s->n_event_dates = n;
  return 0;
}

static int parse_source(ctx_t *c, const char *path, const json_t *v, const char *base_dir, tsr_source_cfg *s) {
  static const char *const keys[] = {"name",   "path",    "delimiter", "quote", "header", "trim", "null_tokens",
                                     "id",     "columns", "max_reject_share", "event_dates", NULL};
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
  return parse_event_dates(c, path, v, s);
}

/* --- Link section: rules, presets, mode ------------------------------------ */

static const char *const k_fn_names[TSR_KEYFN_COUNT] = {
#define TSR__KF_NAME(id, name, desc) name,
    TSR_KEY_FN_LIST(TSR__KF_NAME)
#undef TSR__KF_NAME
};

const char *tsr_key_fn_name(tsr_key_fn f) { return (unsigned)f < TSR_KEYFN_COUNT ? k_fn_names[f] : "unknown"; }

const char *tsr_link_mode_name(tsr_link_mode m) {
  switch (m) {
  case TSR_MODE_LINK:
    return "link";
  case TSR_MODE_DEDUPE:
    return "dedupe";
  case TSR_MODE_BOTH:
    return "link_and_dedupe";
  }
  return "unknown";
}

/* Which field kinds each derivation accepts. */
static int fn_accepts(tsr_key_fn fn, tsr_field_kind k) {
  switch (fn) {
  case TSR_KEYFN_VALUE:
    return k != TSR_KIND_TEXT;
  case TSR_KEYFN_SOUNDEX:
  case TSR_KEYFN_NYSIIS:
    return k == TSR_KIND_GIVEN_NAME || k == TSR_KIND_FAMILY_NAME;
  case TSR_KEYFN_YEAR:
  case TSR_KEYFN_YEAR_MONTH:
    return k == TSR_KIND_DATE;
  case TSR_KEYFN_DISTRICT:
  case TSR_KEYFN_SECTOR:
    return k == TSR_KIND_POSTCODE;
  case TSR_KEYFN_INITIAL:
  case TSR_KEYFN_FIRST3:
    return k == TSR_KIND_GIVEN_NAME || k == TSR_KIND_FAMILY_NAME || k == TSR_KIND_LOCAL_ID;
  case TSR_KEYFN_NORM:
    return k == TSR_KIND_TEXT || k == TSR_KIND_LOCAL_ID || k == TSR_KIND_CODE;
  default:
    return 0;
  }
}

/* "soundex(family_name)" or "family_name" -> part (kind filled in later). */
static int parse_part(ctx_t *c, const char *path, const char *text, tsr_key_part *part) {
  memset(part, 0, sizeof *part);
  if (!(part->text = dup_str(c, text))) return TSR_ENOMEM;
  const char *open = strchr(text, '(');
  if (!open) {
    part->fn = TSR_KEYFN_VALUE;
    if (!valid_name(text)) return cfg_fail(c, path, "expected a field name or fn(field), got \"%s\"", text);
    return (part->field = dup_str(c, text)) ? 0 : TSR_ENOMEM;
  }
  size_t fl = (size_t)(open - text), tl = strlen(text);
  if (tl < fl + 3 || text[tl - 1] != ')')
    return cfg_fail(c, path, "expected fn(field), got \"%s\"", text);
  int found = 0;
  for (int f = 1; f < TSR_KEYFN_COUNT; f++)
    if (strlen(k_fn_names[f]) == fl && strncmp(text, k_fn_names[f], fl) == 0) {
      part->fn = (tsr_key_fn)f;
      found = 1;
    }
  if (!found)
    return cfg_fail(c, path,
                    "unknown function in \"%s\" (expected soundex, nysiis, year, year_month, district, sector, "
                    "initial or first3)",
                    text);
  part->field = tsr__arena_strndup(c->arena, open + 1, tl - fl - 2);
  if (!part->field) return TSR_ENOMEM;
  if (!valid_name(part->field)) return cfg_fail(c, path, "expected a field name inside \"%s\"", text);
  return 0;
}

/* Checks a rule's parts against the sources in its mask; fills kinds. With
 * auto_mask, narrows the mask to the sources that have every field instead
 * of failing (presets). Returns 1 when the rule can run nowhere (auto_mask). */
static int check_rule(ctx_t *c, const char *path, const tsr_config *cfg, tsr_rule_cfg *r, int auto_mask) {
  for (uint8_t i = 0; i < r->n_parts; i++) {
    tsr_key_part *pt = &r->parts[i];
    char pp[340];
    (void)!snprintf(pp, sizeof pp, "%s.fields[%u]", path, i);
    int seen = 0;
    for (uint32_t si = 0; si < cfg->n_sources; si++) {
      if (!(r->source_mask >> si & 1)) continue;
      const tsr_column_cfg *col = source_field(&cfg->sources[si], pt->field);
      if (!col) {
        if (auto_mask) {
          r->source_mask &= ~(1ull << si);
          continue;
        }
        int anywhere = 0;
        for (uint32_t sj = 0; sj < cfg->n_sources; sj++) anywhere |= source_field(&cfg->sources[sj], pt->field) != NULL;
        if (!anywhere) return cfg_fail(c, pp, "unknown field \"%s\": no source maps a column to it", pt->field);
        return cfg_fail(c, pp,
                        "source \"%s\" has no field \"%s\" (map a column to it, or restrict the rule with "
                        "\"sources\")",
                        cfg->sources[si].name, pt->field);
      }
      if (seen && col->kind != pt->kind)
        return cfg_fail(c, pp, "field \"%s\" is a %s in one source and a %s in another", pt->field,
                        tsr_field_kind_name(pt->kind), tsr_field_kind_name(col->kind));
      pt->kind = col->kind;
      seen = 1;
    }
    if (seen && !fn_accepts(pt->fn, pt->kind)) {
      if (pt->fn == TSR_KEYFN_VALUE)
        return cfg_fail(c, pp, "field \"%s\" is free text; it cannot be part of an exact rule", pt->field);
      return cfg_fail(c, pp, "%s() does not apply to field \"%s\" (a %s)", k_fn_names[pt->fn], pt->field,
                      tsr_field_kind_name(pt->kind));
    }
  }
  if (r->source_mask == 0) {
    if (auto_mask) return 1;
    return cfg_fail(c, path, "the rule applies to no source");
  }
  return 0;
}

typedef struct preset_step {
  const char *name;
  const char *parts[TSR_MAX_KEY_PARTS];
  int merge;
} preset_step;
typedef struct preset {
  const char *name;
  const preset_step *steps;
  uint32_t n;
} preset;

/* DOMAIN.md: the HES patient identifier's three steps. */
static const preset_step k_hesid[] = {
    {"hesid_1", {"sex", "dob", "nhs_number"}, 0},
    {"hesid_2", {"sex", "dob", "postcode", "provider", "local_patient_id"}, 0},
    {"hesid_3", {"sex", "dob", "postcode"}, 0},
};
/* DOMAIN.md: CPRD-HES style ranks, from most to least specific. */
static const preset_step k_cprd[] = {
    {"cprd_1", {"nhs_number", "sex", "dob", "postcode"}, 0},
    {"cprd_2", {"nhs_number", "sex", "dob"}, 1},
    {"cprd_3", {"nhs_number", "dob", "postcode"}, 1},
    {"cprd_4", {"nhs_number", "dob"}, 1},
    {"cprd_5", {"nhs_number", "postcode"}, 1},
    {"cprd_6", {"nhs_number", "sex", "year(dob)"}, 1},
    {"cprd_7", {"nhs_number", "sex"}, 1},
    {"cprd_8", {"nhs_number"}, 1},
};
/* DOMAIN.md: the name-based steps used to link school records. */
static const preset_step k_names[] = {
    {"names_1", {"given_name", "family_name", "dob", "sex", "postcode"}, 0},
    {"names_2", {"soundex(given_name)", "soundex(family_name)", "dob", "sex", "postcode"}, 0},
    {"names_3", {"initial(given_name)", "first3(family_name)", "dob", "sex", "postcode"}, 0},
    {"names_4", {"initial(given_name)", "first3(family_name)", "dob", "sex"}, 0},
    {"names_5", {"given_name", "family_name", "dob"}, 0},
    {"names_6", {"given_name", "family_name", "year_month(dob)"}, 0},
};
static const preset k_presets[] = {
    {"hesid", k_hesid, sizeof k_hesid / sizeof k_hesid[0]},
    {"cprd_hes", k_cprd, sizeof k_cprd / sizeof k_cprd[0]},
    {"names", k_names, sizeof k_names / sizeof k_names[0]},
};
static const char *const k_preset_names[] = {"hesid", "cprd_hes", "names", NULL};

const char *const *tsr_config_presets(void) { return k_preset_names; }

static int build_preset(ctx_t *c, const char *path, tsr_config *cfg, const char *name) {
  const preset *pr = NULL;
  for (size_t i = 0; i < sizeof k_presets / sizeof k_presets[0]; i++)
    if (strcmp(k_presets[i].name, name) == 0) pr = &k_presets[i];
  if (!pr) return cfg_fail(c, path, "unknown preset \"%s\" (expected hesid, cprd_hes or names)", name);
  tsr_link_cfg *l = &cfg->link;
  l->rules = tsr__arena_alloc(c->arena, sizeof(tsr_rule_cfg) * pr->n, 8);
  if (!l->rules) return tsr_error_set(c->err, TSR_ENOMEM, c->file, 0, 0, "out of memory");
  if (!(l->preset = dup_str(c, name))) return TSR_ENOMEM;
  l->n_rules = 0;
  for (uint32_t i = 0; i < pr->n; i++) {
    tsr_rule_cfg *r = &l->rules[l->n_rules];
    memset(r, 0, sizeof *r);
    if (!(r->name = dup_str(c, pr->steps[i].name))) return TSR_ENOMEM;
    r->merge = pr->steps[i].merge;
    for (const char *const *p = pr->steps[i].parts; *p && r->n_parts < TSR_MAX_KEY_PARTS; p++)
      TSR_FORWARD_IF_ERROR(parse_part(c, path, *p, &r->parts[r->n_parts++]));
    r->source_mask = l->source_mask;
    int rc = check_rule(c, path, cfg, r, 1);
    if (rc < 0) return rc;
    if (rc == 0) l->n_rules++;
  }
  if (l->n_rules == 0)
    return cfg_fail(c, path, "preset \"%s\": no step can run, the sources lack the fields it needs", name);
  return 0;
}

static int parse_sources_list(ctx_t *c, const char *path, const json_t *v, const tsr_config *cfg, uint64_t *mask) {
  if (!json_is_array(v) || json_array_size(v) == 0)
    return cfg_fail(c, path, "expected a non-empty list of source names, got %s", json_type_name(v));
  *mask = 0;
  for (size_t i = 0; i < json_array_size(v); i++) {
    json_t *e = json_array_get(v, i);
    char pi[340];
    (void)!snprintf(pi, sizeof pi, "%s[%zu]", path, i);
    if (!json_is_string(e)) return cfg_fail(c, pi, "expected a source name, got %s", json_type_name(e));
    int si = tsr_config_source_index(cfg, json_string_value(e));
    if (si < 0) return cfg_fail(c, pi, "no source is named \"%s\"", json_string_value(e));
    *mask |= 1ull << si;
  }
  return 0;
}

static int parse_rule(ctx_t *c, const char *path, const json_t *v, tsr_config *cfg, tsr_rule_cfg *r) {
  static const char *const keys[] = {"name", "fields", "sources", "merge", NULL};
  if (!json_is_object(v))
    return cfg_fail(c, path, "expected an object such as {\"name\": \"nhs\", \"fields\": [\"nhs_number\"]}, got %s",
                    json_type_name(v));
  TSR_FORWARD_IF_ERROR(check_keys(c, v, path, keys));
  memset(r, 0, sizeof *r);
  const char *name = NULL;
  TSR_FORWARD_IF_ERROR(get_str(c, v, path, "name", 1, &name));
  char p[340];
  sub_path(p, sizeof p, path, "name");
  if (!valid_name(name)) return cfg_fail(c, p, "expected letters, digits, '_' or '-', got \"%s\"", name);
  if (!(r->name = dup_str(c, name))) return TSR_ENOMEM;
  json_t *f = json_object_get(v, "fields");
  sub_path(p, sizeof p, path, "fields");
  if (!f) return cfg_fail(c, p, "required key is missing");
  if (!json_is_array(f) || json_array_size(f) == 0 || json_array_size(f) > TSR_MAX_KEY_PARTS)
    return cfg_fail(c, p, "expected a list of 1 to %d fields, got %s", TSR_MAX_KEY_PARTS, json_type_name(f));
  for (size_t i = 0; i < json_array_size(f); i++) {
    json_t *e = json_array_get(f, i);
    char pi[400];
    (void)!snprintf(pi, sizeof pi, "%s[%zu]", p, i);
    if (!json_is_string(e)) return cfg_fail(c, pi, "expected a field such as \"dob\" or \"year(dob)\", got %s", json_type_name(e));
    TSR_FORWARD_IF_ERROR(parse_part(c, pi, json_string_value(e), &r->parts[r->n_parts++]));
  }
  r->source_mask = cfg->link.source_mask;
  TSR_FORWARD_IF_ERROR(get_bool(c, v, path, "merge", &r->merge));
  json_t *srcs = json_object_get(v, "sources");
  if (srcs) {
    sub_path(p, sizeof p, path, "sources");
    TSR_FORWARD_IF_ERROR(parse_sources_list(c, p, srcs, cfg, &r->source_mask));
    if (r->source_mask & ~cfg->link.source_mask)
      return cfg_fail(c, p, "lists a source that does not take part in linking (see link.sources)");
  }
  return check_rule(c, path, cfg, r, 0);
}

static int get_uint(ctx_t *c, const json_t *obj, const char *path, const char *key, uint64_t lo, uint64_t hi,
                    uint64_t *out) {
  json_t *v = json_object_get(obj, key);
  if (!v) return 0;
  char p[300];
  sub_path(p, sizeof p, path, key);
  if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo || (uint64_t)json_integer_value(v) > hi)
    return cfg_fail(c, p, "expected an integer from %llu to %llu", (unsigned long long)lo, (unsigned long long)hi);
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

static int parse_link(ctx_t *c, const json_t *v, tsr_config *cfg) {
  static const char *const keys[] = {"mode",       "sources",          "rules",    "max_block_size",
                                     "one_to_one", "max_cluster_size", "nhs_veto", NULL};
  const char *path = "link";
  tsr_link_cfg *l = &cfg->link;
  if (!json_is_object(v)) return cfg_fail(c, path, "expected an object, got %s", json_type_name(v));
  TSR_FORWARD_IF_ERROR(check_keys(c, v, path, keys));
  l->present = 1;
  json_t *srcs = json_object_get(v, "sources");
  if (srcs) TSR_FORWARD_IF_ERROR(parse_sources_list(c, "link.sources", srcs, cfg, &l->source_mask));
  uint32_t nsrc = (uint32_t)__builtin_popcountll(l->source_mask);
  const char *mode = NULL;
  TSR_FORWARD_IF_ERROR(get_str(c, v, path, "mode", 0, &mode));
  if (mode) {
    if (strcmp(mode, "link") == 0)
      l->mode = TSR_MODE_LINK;
    else if (strcmp(mode, "dedupe") == 0)
      l->mode = TSR_MODE_DEDUPE;
    else if (strcmp(mode, "link_and_dedupe") == 0)
      l->mode = TSR_MODE_BOTH;
    else
      return cfg_fail(c, "link.mode", "expected \"link\", \"dedupe\" or \"link_and_dedupe\", got \"%s\"", mode);
  }
  if (l->mode != TSR_MODE_DEDUPE && nsrc < 2)
    return cfg_fail(c, "link.mode", "\"%s\" needs two or more sources; use \"dedupe\" for one",
                    tsr_link_mode_name(l->mode));
  uint64_t u = l->max_block_size;
  TSR_FORWARD_IF_ERROR(get_uint(c, v, path, "max_block_size", 2, 100000000, &u));
  l->max_block_size = (uint32_t)u;
  u = l->max_cluster_size;
  TSR_FORWARD_IF_ERROR(get_uint(c, v, path, "max_cluster_size", 2, 100000000, &u));
  l->max_cluster_size = (uint32_t)u;
  TSR_FORWARD_IF_ERROR(get_bool(c, v, path, "one_to_one", &l->one_to_one));
  TSR_FORWARD_IF_ERROR(get_bool(c, v, path, "nhs_veto", &l->nhs_veto));
  if (l->one_to_one && (l->mode != TSR_MODE_LINK || nsrc != 2))
    return cfg_fail(c, "link.one_to_one", "one-to-one needs \"mode\": \"link\" with exactly two sources");
  json_t *rules = json_object_get(v, "rules");
  if (!rules) return cfg_fail(c, "link.rules", "required key is missing (a preset name or a list of rules)");
  if (json_is_string(rules)) return build_preset(c, "link.rules", cfg, json_string_value(rules));
  if (!json_is_array(rules) || json_array_size(rules) == 0)
    return cfg_fail(c, "link.rules", "expected a preset name (hesid, cprd_hes, names) or a non-empty list of rules");
  l->n_rules = (uint32_t)json_array_size(rules);
  l->rules = tsr__arena_alloc(c->arena, sizeof(tsr_rule_cfg) * l->n_rules, 8);
  if (!l->rules) return tsr_error_set(c->err, TSR_ENOMEM, c->file, 0, 0, "out of memory");
  for (uint32_t i = 0; i < l->n_rules; i++) {
    char p[64];
    snprintf(p, sizeof p, "link.rules[%u]", i);
    TSR_FORWARD_IF_ERROR(parse_rule(c, p, json_array_get(rules, i), cfg, &l->rules[i]));
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(l->rules[j].name, l->rules[i].name) == 0)
        return cfg_fail(c, p, "rule name \"%s\" is used twice", l->rules[i].name);
  }
  return 0;
}

static int parse_output(ctx_t *c, const json_t *v, tsr_config *cfg) {
  static const char *const keys[] = {"csv", "row_group_rows", "zstd_level", NULL};
  if (!json_is_object(v)) return cfg_fail(c, "output", "expected an object, got %s", json_type_name(v));
  TSR_FORWARD_IF_ERROR(check_keys(c, v, "output", keys));
  TSR_FORWARD_IF_ERROR(get_bool(c, v, "output", "csv", &cfg->output.csv));
  TSR_FORWARD_IF_ERROR(get_uint(c, v, "output", "row_group_rows", 1024, (uint64_t)1 << 30, &cfg->output.row_group_rows));
  uint64_t z = (uint64_t)cfg->output.zstd_level;
  TSR_FORWARD_IF_ERROR(get_uint(c, v, "output", "zstd_level", 0, 19, &z));
  cfg->output.zstd_level = (int)z;
  return 0;
}

static void link_defaults(tsr_config *cfg) {
  tsr_link_cfg *l = &cfg->link;
  memset(l, 0, sizeof *l);
  l->source_mask = cfg->n_sources >= 64 ? ~0ull : (1ull << cfg->n_sources) - 1;
  l->mode = cfg->n_sources >= 2 ? TSR_MODE_LINK : TSR_MODE_DEDUPE;
  l->max_block_size = 1000;
  l->max_cluster_size = 500;
  cfg->output.csv = 0;
  cfg->output.row_group_rows = 1048576;
  cfg->output.zstd_level = 1;
}

int tsr_config_use_preset(tsr_config *cfg, const char *preset_name, tsr_error *err) {
  cfg_owner *o = (cfg_owner *)cfg;
  ctx_t c = {cfg->path, err, &o->arena};
  if (!cfg->link.present) {
    link_defaults(cfg);
    cfg->link.present = 1;
    if (cfg->n_sources >= 2) cfg->link.mode = TSR_MODE_BOTH;
  }
  return build_preset(&c, "--rules", cfg, preset_name);
}

static int parse_root(ctx_t *c, const json_t *root, const char *base_dir, tsr_config *cfg) {
  static const char *const keys[] = {"version", "sources", "link", "output", NULL};
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
  if (cfg->n_sources > TSR_MAX_SOURCES) return cfg_fail(c, "sources", "at most %d sources", TSR_MAX_SOURCES);
  link_defaults(cfg);
  json_t *out = json_object_get(root, "output");
  if (out) TSR_FORWARD_IF_ERROR(parse_output(c, out, cfg));
  json_t *link = json_object_get(root, "link");
  if (link) TSR_FORWARD_IF_ERROR(parse_link(c, link, cfg));
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
