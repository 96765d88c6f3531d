/* The "sources" section of the run config: one entry per input file, its
 * CSV dialect, its columns with their kinds, date layouts and validity
 * windows, and its event dates. The format is documented in docs/config.md.
 *
 * DESIGN
 *   A date format compiles to a layout of at most 8 parts that the ingest
 *   date parser walks: 'Y' (4 digits), 'y' (2), 'M', 'D', or a literal byte.
 *   A trailing time part (" HH:MM:SS", "THH:MM:SS.SSSZ", ...) is checked
 *   here and then dropped: a date field holds days, so the layout keeps the
 *   date and the format records has_time; ingest accepts and ignores a
 *   valid time after the date. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_internal.h"
#include "common/date.h"
#include "config/config_internal.h"

static const char *const k_kind_names[TSR_KIND_COUNT] = {
#define TSR__FK_NAME(id, name) name,
    TSR_FIELD_KIND_LIST(TSR__FK_NAME)
#undef TSR__FK_NAME
};

const char *tsr_field_kind_name(tsr_field_kind k) {
  return (unsigned)k < TSR_KIND_COUNT ? k_kind_names[k] : "unknown";
}

/* Two copies of letter `l` in either case ("HH", "mm"). */
static int pair(const char *t, char l) {
  return toupper((unsigned char)t[0]) == l && toupper((unsigned char)t[1]) == l;
}

/* [:]XX where XX is the letter l twice; returns the bytes taken, 0 if none. */
static size_t field2(const char *t, char l) {
  if (t[0] == ':' && pair(t + 1, l)) return 3;
  return pair(t, l) ? 2 : 0;
}

/* The time part after a complete date layout, starting at its separator:
 *   (' ' | 'T') HH [[:]MM [[:]SS [(.|,)S...]]] [Z | (+|-|±)HH[[:]MM]]
 * Letters in either case. 0 if `t` is all of one, else -1. */
static int time_part(const char *t) {
  if (*t != ' ' && *t != 'T') return -1;
  t++;
  if (!pair(t, 'H')) return -1;
  t += 2;
  size_t k = field2(t, 'M');
  if (k) {
    t += k;
    if ((k = field2(t, 'S'))) {
      t += k;
      if ((*t == '.' || *t == ',') && toupper((unsigned char)t[1]) == 'S') {
        t++;
        for (int i = 0; toupper((unsigned char)*t) == 'S'; i++, t++)
          if (i == 9) return -1;
      }
    }
  }
  if (*t == 'Z' || *t == 'z') {
    t++;
  } else if (*t == '+' || *t == '-' || strncmp(t, "\xc2\xb1", 2) == 0) { /* ± */
    t += *t == '+' || *t == '-' ? 1 : 2;
    if (!pair(t, 'H')) return -1;
    t += 2;
    t += field2(t, 'M');
  }
  return *t ? -1 : 0;
}

/* "YYYY-MM-DD" style layouts: YYYY, YY, MM, DD and punctuation, then an
 * optional time part. */
static int compile_date_format(tsr__cfg_ctx *c, const char *path, const char *s, tsr_date_format *f) {
  memset(f, 0, sizeof *f);
  if (strlen(s) >= sizeof f->text) return tsr__cfg_fail(c, path, "date format \"%s\" is too long", s);
  snprintf(f->text, sizeof f->text, "%s", s);
  int y = 0, m = 0, d = 0;
  for (const char *p = s; *p;) {
    if ((*p == ' ' || *p == 'T') && toupper((unsigned char)p[1]) == 'H' && y && m && d) {
      if (time_part(p))
        return tsr__cfg_fail(c, path,
                             "date format \"%s\": expected a time part such as \" HH:MM:SS\", \" HH:MM\", "
                             "\"THH:MM:SS.SSS\", \"THH:MM:SSZ\" or \"THH:MM:SS+HH:MM\" after the date",
                             s);
      f->has_time = 1;
      break;
    }
    if (f->n == 8) return tsr__cfg_fail(c, path, "date format \"%s\" has too many parts", s);
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
      return tsr__cfg_fail(
          c, path, "date format \"%s\": expected YYYY, YY, MM, DD and separators such as - / . (e.g. \"DD/MM/YYYY\")",
          s);
    }
  }
  if (y != 1 || m != 1 || d != 1)
    return tsr__cfg_fail(c, path, "date format \"%s\" must hold the year, month and day once each", s);
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

static int parse_column(tsr__cfg_ctx *c, const char *path, const char *name, const json_t *v, tsr_column_cfg *col) {
  static const char *const keys[] = {"field", "kind", "format", "required", "min", "max", NULL};
  if (!json_is_object(v))
    return tsr__cfg_fail(c, path, "expected an object such as {\"kind\": \"date\"}, got %s", tsr__cfg_type_name(v));
  TSR_FORWARD_IF_ERROR(tsr__cfg_check_keys(c, v, path, keys));
  memset(col, 0, sizeof *col);
  if (!name[0]) return tsr__cfg_fail(c, path, "column name is empty");
  if (!(col->column = tsr__cfg_strdup(c, name))) return TSR_ENOMEM;
  const char *field = name, *kind = NULL;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, v, path, "field", 0, &field));
  if (!field[0]) return tsr__cfg_fail(c, path, "field name is empty");
  if (!(col->field = tsr__cfg_strdup(c, field))) return TSR_ENOMEM;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, v, path, "kind", 1, &kind));
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, "kind");
  if (parse_kind(kind, &col->kind))
    return tsr__cfg_fail(c, p,
                         "unknown kind \"%s\" (expected one of: nhs_number, given_name, family_name, date, sex, "
                         "postcode, local_id, code, text, integer)",
                         kind);
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_bool(c, v, path, "required", &col->required));
  json_t *fmt = json_object_get(v, "format");
  json_t *mn = json_object_get(v, "min"), *mx = json_object_get(v, "max");
  if (col->kind != TSR_KIND_DATE) {
    if (fmt) return tsr__cfg_fail(c, path, "\"format\" applies to dates only (kind is %s)", kind);
    if (mn || mx) return tsr__cfg_fail(c, path, "\"min\"/\"max\" apply to dates only (kind is %s)", kind);
    return 0;
  }
  tsr__cfg_path(p, sizeof p, path, "format");
  if (!fmt) {
    TSR_FORWARD_IF_ERROR(compile_date_format(c, p, "YYYY-MM-DD", &col->formats[0]));
    col->n_formats = 1;
  } else if (json_is_string(fmt)) {
    TSR_FORWARD_IF_ERROR(compile_date_format(c, p, json_string_value(fmt), &col->formats[0]));
    col->n_formats = 1;
  } else if (json_is_array(fmt) && json_array_size(fmt) >= 1 && json_array_size(fmt) <= TSR_MAX_DATE_FORMATS) {
    for (size_t i = 0; i < json_array_size(fmt); i++) {
      json_t *e = json_array_get(fmt, i);
      char pi[TSR__CFG_PATH_MAX];
      tsr__cfg_path_index(pi, sizeof pi, p, i);
      if (!json_is_string(e))
        return tsr__cfg_fail(c, pi, "expected a date format string, got %s", tsr__cfg_type_name(e));
      TSR_FORWARD_IF_ERROR(compile_date_format(c, pi, json_string_value(e), &col->formats[i]));
    }
    col->n_formats = (uint8_t)json_array_size(fmt);
  } else {
    return tsr__cfg_fail(c, p, "expected a date format such as \"DD/MM/YYYY\", or a list of 1 to %d of them",
                         TSR_MAX_DATE_FORMATS);
  }
  /* DOMAIN.md: no date of birth before 1895; the upper end defaults far out
   * and is set per column to the end of the data period */
  col->min_date = tsr__days_from_ymd(1895, 1, 1);
  col->max_date = tsr__days_from_ymd(2100, 12, 31);
  const char *s = NULL;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, v, path, "min", 0, &s));
  tsr__cfg_path(p, sizeof p, path, "min");
  if (s && parse_iso_date(s, &col->min_date))
    return tsr__cfg_fail(c, p, "expected a date as \"YYYY-MM-DD\", got \"%s\"", s);
  s = NULL;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, v, path, "max", 0, &s));
  tsr__cfg_path(p, sizeof p, path, "max");
  if (s && parse_iso_date(s, &col->max_date))
    return tsr__cfg_fail(c, p, "expected a date as \"YYYY-MM-DD\", got \"%s\"", s);
  if (col->min_date > col->max_date) return tsr__cfg_fail(c, path, "\"min\" is after \"max\"");
  return 0;
}

const tsr_column_cfg *tsr__cfg_source_field(const tsr_source_cfg *s, const char *field) {
  for (uint32_t k = 0; k < s->n_columns; k++)
    if (strcmp(s->columns[k].field, field) == 0) return &s->columns[k];
  return NULL;
}

/* "event_dates": date fields whose values say when a record was seen. */
static int parse_event_dates(tsr__cfg_ctx *c, const char *path, const json_t *v, tsr_source_cfg *s) {
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, "event_dates");
  json_t *ed = json_object_get(v, "event_dates");
  uint32_t n = 0;
  if (ed) {
    if (!json_is_array(ed))
      return tsr__cfg_fail(c, p, "expected a list of date fields, got %s", tsr__cfg_type_name(ed));
    n = (uint32_t)json_array_size(ed);
  } else {
    for (uint32_t k = 0; k < s->n_columns; k++)
      if (s->columns[k].kind == TSR_KIND_DATE && strcmp(s->columns[k].field, "dob") != 0) n++;
  }
  if (!(s->event_dates = tsr__cfg_alloc(c, sizeof(char *) * (n + 1)))) return TSR_ENOMEM;
  if (ed) {
    for (uint32_t i = 0; i < n; i++) {
      json_t *e = json_array_get(ed, i);
      char pi[TSR__CFG_PATH_MAX];
      tsr__cfg_path_index(pi, sizeof pi, p, i);
      if (!json_is_string(e)) return tsr__cfg_fail(c, pi, "expected a field name, got %s", tsr__cfg_type_name(e));
      const tsr_column_cfg *col = tsr__cfg_source_field(s, json_string_value(e));
      if (!col) return tsr__cfg_fail(c, pi, "source \"%s\" has no field \"%s\"", s->name, json_string_value(e));
      if (col->kind != TSR_KIND_DATE)
        return tsr__cfg_fail(c, pi, "field \"%s\" is a %s, expected a date", col->field,
                             tsr_field_kind_name(col->kind));
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

static int parse_null_tokens(tsr__cfg_ctx *c, const char *path, const json_t *v, tsr_source_cfg *s) {
  json_t *nt = json_object_get(v, "null_tokens");
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, "null_tokens");
  if (!nt) {
    s->n_null_tokens = 1;
    if (!(s->null_tokens = tsr__cfg_alloc(c, sizeof(char *))) || !(s->null_tokens[0] = tsr__cfg_strdup(c, "")))
      return TSR_ENOMEM;
    return 0;
  }
  if (!json_is_array(nt)) return tsr__cfg_fail(c, p, "expected a list of strings, got %s", tsr__cfg_type_name(nt));
  s->n_null_tokens = (uint32_t)json_array_size(nt);
  if (!(s->null_tokens = tsr__cfg_alloc(c, sizeof(char *) * (s->n_null_tokens + 1)))) return TSR_ENOMEM;
  for (uint32_t i = 0; i < s->n_null_tokens; i++) {
    json_t *e = json_array_get(nt, i);
    char pi[TSR__CFG_PATH_MAX];
    tsr__cfg_path_index(pi, sizeof pi, p, i);
    if (!json_is_string(e)) return tsr__cfg_fail(c, pi, "expected a string, got %s", tsr__cfg_type_name(e));
    if (!(s->null_tokens[i] = tsr__cfg_strdup(c, json_string_value(e)))) return TSR_ENOMEM;
  }
  return 0;
}

static int parse_columns(tsr__cfg_ctx *c, const char *path, const json_t *v, tsr_source_cfg *s) {
  json_t *cols = json_object_get(v, "columns");
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, "columns");
  if (!cols) return tsr__cfg_fail(c, p, "required key is missing");
  if (!json_is_object(cols) || json_object_size(cols) == 0)
    return tsr__cfg_fail(c, p, "expected an object mapping column names to {\"kind\": ...}, got %s",
                         json_is_object(cols) ? "an empty object" : tsr__cfg_type_name(cols));
  s->n_columns = (uint32_t)json_object_size(cols);
  if (!(s->columns = tsr__cfg_alloc(c, sizeof(tsr_column_cfg) * s->n_columns))) return TSR_ENOMEM;
  const char *key;
  json_t *cv;
  uint32_t i = 0;
  json_object_foreach(cols, key, cv) {
    char pc[TSR__CFG_PATH_MAX];
    tsr__cfg_path(pc, sizeof pc, p, key);
    TSR_FORWARD_IF_ERROR(parse_column(c, pc, key, cv, &s->columns[i]));
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(s->columns[j].field, s->columns[i].field) == 0)
        return tsr__cfg_fail(c, pc, "field \"%s\" is already mapped from column \"%s\"", s->columns[i].field,
                             s->columns[j].column);
    if (!s->header) {
      char *end;
      long pos = strtol(key, &end, 10);
      if (*end || pos < 1 || pos > 100000)
        return tsr__cfg_fail(c, pc, "with \"header\": false, columns are named by position (\"1\", \"2\", ...)");
    }
    i++;
  }
  return 0;
}

static int parse_source(tsr__cfg_ctx *c, const char *path, const json_t *v, const char *base_dir, tsr_source_cfg *s) {
  static const char *const keys[] = {"name", "path",    "delimiter",        "quote",       "header", "trim",
                                     "null_tokens", "id", "columns", "max_reject_share", "event_dates", "origin",
                                     NULL};
  if (!json_is_object(v)) return tsr__cfg_fail(c, path, "expected an object, got %s", tsr__cfg_type_name(v));
  TSR_FORWARD_IF_ERROR(tsr__cfg_check_keys(c, v, path, keys));
  memset(s, 0, sizeof *s);
  s->delimiter = ',';
  s->quote = '"';
  s->header = 1;
  s->trim = 1;
  s->max_reject_share = 0.01;
  const char *name = NULL, *file = NULL, *id = NULL;
  char p[TSR__CFG_PATH_MAX];
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, v, path, "name", 1, &name));
  tsr__cfg_path(p, sizeof p, path, "name");
  if (!tsr__cfg_valid_name(name)) return tsr__cfg_fail(c, p, "expected letters, digits, '_' or '-', got \"%s\"", name);
  if (!(s->name = tsr__cfg_strdup(c, name))) return TSR_ENOMEM;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, v, path, "path", 1, &file));
  tsr__cfg_path(p, sizeof p, path, "path");
  if (!file[0]) return tsr__cfg_fail(c, p, "path is empty");
  char full[2048];
  if (file[0] == '/' || !base_dir || !base_dir[0])
    snprintf(full, sizeof full, "%s", file);
  else
    snprintf(full, sizeof full, "%s/%s", base_dir, file);
  if (!(s->path = tsr__cfg_strdup(c, full))) return TSR_ENOMEM;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_char(c, v, path, "delimiter", 0, &s->delimiter));
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_char(c, v, path, "quote", 1, &s->quote));
  if (s->quote && s->quote == s->delimiter) return tsr__cfg_fail(c, path, "quote and delimiter must differ");
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_bool(c, v, path, "header", &s->header));
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_bool(c, v, path, "trim", &s->trim));
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_share(c, v, path, "max_reject_share", &s->max_reject_share));
  const char *origin = NULL;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, v, path, "origin", 0, &origin));
  if (origin) {
    tsr__cfg_path(p, sizeof p, path, "origin");
    if (strcmp(origin, "gp") == 0)
      s->origin = TSR_ORIGIN_GP;
    else if (strcmp(origin, "hospital") == 0)
      s->origin = TSR_ORIGIN_HOSPITAL;
    else if (strcmp(origin, "other") == 0)
      s->origin = TSR_ORIGIN_OTHER;
    else
      return tsr__cfg_fail(c, p, "expected \"gp\", \"hospital\" or \"other\", got \"%s\"", origin);
  }
  TSR_FORWARD_IF_ERROR(parse_null_tokens(c, path, v, s));
  TSR_FORWARD_IF_ERROR(parse_columns(c, path, v, s));
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, v, path, "id", 1, &id));
  tsr__cfg_path(p, sizeof p, path, "id");
  int found = 0;
  for (uint32_t k = 0; k < s->n_columns; k++)
    if (strcmp(s->columns[k].column, id) == 0) {
      found = 1;
      s->columns[k].required = 1; /* a row without its id cannot be reported */
    }
  if (!found) return tsr__cfg_fail(c, p, "id column \"%s\" is not listed in \"columns\"", id);
  if (!(s->id_column = tsr__cfg_strdup(c, id))) return TSR_ENOMEM;
  return parse_event_dates(c, path, v, s);
}

int tsr__cfg_parse_sources(tsr__cfg_ctx *c, const json_t *v, const char *base_dir, tsr_config *cfg) {
  if (!json_is_array(v) || json_array_size(v) == 0)
    return tsr__cfg_fail(c, "sources", "expected a non-empty list of sources, got %s",
                         json_is_array(v) ? "an empty list" : tsr__cfg_type_name(v));
  cfg->n_sources = (uint32_t)json_array_size(v);
  if (!(cfg->sources = tsr__cfg_alloc(c, sizeof(tsr_source_cfg) * cfg->n_sources))) return TSR_ENOMEM;
  for (uint32_t i = 0; i < cfg->n_sources; i++) {
    char p[64];
    snprintf(p, sizeof p, "sources[%u]", i);
    TSR_FORWARD_IF_ERROR(parse_source(c, p, json_array_get(v, i), base_dir, &cfg->sources[i]));
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(cfg->sources[j].name, cfg->sources[i].name) == 0)
        return tsr__cfg_fail(c, p, "source name \"%s\" is used twice", cfg->sources[i].name);
  }
  if (cfg->n_sources > TSR_MAX_SOURCES) return tsr__cfg_fail(c, "sources", "at most %d sources", TSR_MAX_SOURCES);
  return 0;
}
