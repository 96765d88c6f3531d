/* The run configuration's one entry point: tsr_config_load reads the file,
 * tsr_config_parse turns its JSON into the typed structs of
 * tessera/config.h, tsr_config_free releases them.
 *
 * DESIGN
 *   Each JSON object is checked against the list of keys it may hold before
 *   any value is read, so an unknown or misspelt key is an error that names
 *   its path ("sources[0].colums: unknown key ..."). Values are read by the
 *   typed getters of cfg_json.h that report "<path>: expected ..., got ...".
 *   The root is driven by k_sections: one row per top-level key, each with
 *   its parse and defaults functions in a file of its own (source.c,
 *   link.c, prob.c, output.c); a new section is one file and one row.
 *   Everything the result owns is allocated from one arena, freed with the
 *   config.
 *
 *     text --BOM skipped--> jansson tree --k_sections, in order--> tsr_config
 *                               version, sources, link, probabilistic, output */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_internal.h"
#include "config/config_internal.h"

static int parse_version(tsr__cfg_ctx *c, const json_t *v, const char *base_dir, tsr_config *cfg) {
  (void)base_dir;
  (void)cfg;
  if (!json_is_integer(v) || json_integer_value(v) != 1)
    return tsr__cfg_fail(c, "version", "expected 1 (the only version so far)");
  return 0;
}

/* The root keys, in the order they are parsed: a section may read the ones
 * above it (link reads sources; probabilistic reads sources and link). */
static const tsr__cfg_section k_sections[] = {
    {"version", parse_version, NULL, 0},
    {"sources", tsr__cfg_parse_sources, NULL, 1},
    {"link", tsr__cfg_parse_link, tsr__cfg_link_defaults, 0},
    {"probabilistic", tsr__cfg_parse_prob, tsr__cfg_prob_defaults, 0},
    {"episodes", tsr__cfg_parse_episodes, tsr__cfg_episodes_defaults, 0},
    {"output", tsr__cfg_parse_output, tsr__cfg_output_defaults, 0},
};
#define N_SECTIONS (sizeof k_sections / sizeof k_sections[0])

static int parse_root(tsr__cfg_ctx *c, const json_t *root, const char *base_dir, tsr_config *cfg) {
  const char *keys[N_SECTIONS + 1];
  for (size_t i = 0; i < N_SECTIONS; i++) keys[i] = k_sections[i].name;
  keys[N_SECTIONS] = NULL;
  if (!json_is_object(root)) return tsr__cfg_fail(c, "", "expected a JSON object, got %s", tsr__cfg_type_name(root));
  TSR_FORWARD_IF_ERROR(tsr__cfg_check_keys(c, root, "", keys));
  for (size_t i = 0; i < N_SECTIONS; i++) {
    const tsr__cfg_section *sec = &k_sections[i];
    json_t *v = json_object_get(root, sec->name);
    if (sec->defaults) sec->defaults(cfg);
    if (v)
      TSR_FORWARD_IF_ERROR(sec->parse(c, v, base_dir, cfg));
    else if (sec->required)
      return tsr__cfg_fail(c, sec->name, "required key is missing");
  }
  if (cfg->link.present && cfg->link.n_rules == 0 && !cfg->prob.present)
    return tsr__cfg_fail(c, "link.rules", "an empty list of rules links nothing: list rules, name a preset, or add a "
                                          "\"probabilistic\" section");
  return 0;
}

int tsr_config_parse(const char *text, size_t len, const char *name, const char *base_dir, tsr_config **out,
                     tsr_error *err) {
  *out = NULL;
  tsr_error_clear(err);
  const char *label = name ? name : "<config>";
  /* a UTF-8 byte order mark, as some editors write, is not JSON: skip it as
   * the CSV reader does */
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
    text += 3;
    len -= 3;
  }
  json_error_t je;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return tsr_error_set(err, TSR_ECONFIG, label, je.line > 0 ? (uint64_t)je.line : 0,
                         je.column > 0 ? (uint32_t)je.column : 0, "invalid JSON: %s", je.text);
  tsr__cfg_owner *o = tsr__calloc(1, sizeof *o);
  if (!o) {
    json_decref(root);
    return tsr_error_set(err, TSR_ENOMEM, label, 0, 0, "out of memory");
  }
  tsr__arena_init(&o->arena, 16384);
  tsr__cfg_ctx c = {label, err, &o->arena};
  int rc = 0;
  if (!(o->pub.path = tsr__cfg_strdup(&c, label)) || !(o->pub.base_dir = tsr__cfg_strdup(&c, base_dir ? base_dir : "")))
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
  if (!f) return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot open config file: %s", strerror(errno));
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
  int bad = ferror(f) ? (errno ? errno : EIO) : 0;
  fclose(f);
  if (bad) {
    tsr__free(buf);
    return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot read config file: %s", strerror(bad));
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
  tsr__cfg_owner *o = (tsr__cfg_owner *)c;
  tsr__arena_free(&o->arena);
  tsr__free(o);
}

int tsr_config_source_index(const tsr_config *c, const char *name) {
  for (uint32_t i = 0; i < c->n_sources; i++)
    if (strcmp(c->sources[i].name, name) == 0) return (int)i;
  return -1;
}
