/* The "link" section of the run config: the link mode, the sources taking
 * part, the deterministic rules and their key parts, and the one table of
 * which key functions apply to which field kinds. Presets are in
 * presets.c. The format is documented in docs/config.md. */
#include <stdio.h>
#include <string.h>

#include "common/common_internal.h"
#include "config/config_internal.h"

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

/* Which field kinds each key function accepts. Free text is not a key by
 * itself (case and spacing would decide); norm() gives it a key form. */
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

int tsr__cfg_parse_part(tsr__cfg_ctx *c, const char *path, const char *text, tsr_key_part *part) {
  memset(part, 0, sizeof *part);
  if (!(part->text = tsr__cfg_strdup(c, text))) return TSR_ENOMEM;
  const char *open = strchr(text, '(');
  if (!open) {
    part->fn = TSR_KEYFN_VALUE;
    if (!tsr__cfg_valid_name(text))
      return tsr__cfg_fail(c, path, "expected a field name or fn(field), got \"%s\"", text);
    return (part->field = tsr__cfg_strdup(c, text)) ? 0 : TSR_ENOMEM;
  }
  size_t fl = (size_t)(open - text), tl = strlen(text);
  if (tl < fl + 3 || text[tl - 1] != ')') return tsr__cfg_fail(c, path, "expected fn(field), got \"%s\"", text);
  int found = 0;
  for (int f = 1; f < TSR_KEYFN_COUNT; f++)
    if (strlen(k_fn_names[f]) == fl && strncmp(text, k_fn_names[f], fl) == 0) {
      part->fn = (tsr_key_fn)f;
      found = 1;
    }
  if (!found)
    return tsr__cfg_fail(c, path,
                         "unknown function in \"%s\" (expected soundex, nysiis, year, year_month, district, sector, "
                         "initial, first3 or norm)",
                         text);
  part->field = tsr__arena_strndup(c->arena, open + 1, tl - fl - 2);
  if (!part->field) return tsr__cfg_nomem(c);
  if (!tsr__cfg_valid_name(part->field)) return tsr__cfg_fail(c, path, "expected a field name inside \"%s\"", text);
  return 0;
}

int tsr__cfg_check_rule(tsr__cfg_ctx *c, const char *path, const tsr_config *cfg, tsr_rule_cfg *r, int auto_mask) {
  for (uint8_t i = 0; i < r->n_parts; i++) {
    tsr_key_part *pt = &r->parts[i];
    char pp[TSR__CFG_PATH_MAX];
    (void)!snprintf(pp, sizeof pp, "%s.fields[%u]", path, i);
    int seen = 0;
    for (uint32_t si = 0; si < cfg->n_sources; si++) {
      if (!(r->source_mask >> si & 1)) continue;
      const tsr_column_cfg *col = tsr__cfg_source_field(&cfg->sources[si], pt->field);
      if (!col) {
        if (auto_mask) {
          r->source_mask &= ~(1ull << si);
          continue;
        }
        int anywhere = 0;
        for (uint32_t sj = 0; sj < cfg->n_sources; sj++)
          anywhere |= tsr__cfg_source_field(&cfg->sources[sj], pt->field) != NULL;
        if (!anywhere) return tsr__cfg_fail(c, pp, "unknown field \"%s\": no source maps a column to it", pt->field);
        return tsr__cfg_fail(c, pp,
                             "source \"%s\" has no field \"%s\" (map a column to it, or restrict the rule with "
                             "\"sources\")",
                             cfg->sources[si].name, pt->field);
      }
      if (seen && col->kind != pt->kind)
        return tsr__cfg_fail(c, pp, "field \"%s\" is a %s in one source and a %s in another", pt->field,
                             tsr_field_kind_name(pt->kind), tsr_field_kind_name(col->kind));
      pt->kind = col->kind;
      seen = 1;
    }
    if (seen && !fn_accepts(pt->fn, pt->kind)) {
      if (pt->fn == TSR_KEYFN_VALUE)
        return tsr__cfg_fail(c, pp, "field \"%s\" is free text; it cannot be part of an exact rule", pt->field);
      return tsr__cfg_fail(c, pp, "%s() does not apply to field \"%s\" (a %s)", k_fn_names[pt->fn], pt->field,
                           tsr_field_kind_name(pt->kind));
    }
  }
  if (r->source_mask == 0) {
    if (auto_mask) return 1;
    return tsr__cfg_fail(c, path, "the rule applies to no source");
  }
  return 0;
}

/* A list of source names -> bit mask over cfg->sources. */
static int parse_sources_list(tsr__cfg_ctx *c, const char *path, const json_t *v, const tsr_config *cfg,
                              uint64_t *mask) {
  if (!json_is_array(v) || json_array_size(v) == 0)
    return tsr__cfg_fail(c, path, "expected a non-empty list of source names, got %s", tsr__cfg_type_name(v));
  *mask = 0;
  for (size_t i = 0; i < json_array_size(v); i++) {
    json_t *e = json_array_get(v, i);
    char pi[TSR__CFG_PATH_MAX];
    tsr__cfg_path_index(pi, sizeof pi, path, i);
    if (!json_is_string(e)) return tsr__cfg_fail(c, pi, "expected a source name, got %s", tsr__cfg_type_name(e));
    int si = tsr_config_source_index(cfg, json_string_value(e));
    if (si < 0) return tsr__cfg_fail(c, pi, "no source is named \"%s\"", json_string_value(e));
    *mask |= 1ull << si;
  }
  return 0;
}

int tsr__cfg_parse_rule(tsr__cfg_ctx *c, const char *path, const json_t *v, tsr_config *cfg, int step,
                        tsr_rule_cfg *r) {
  static const char *const step_keys[] = {"name", "fields", "sources", "merge", NULL};
  static const char *const block_keys[] = {"name", "fields", "sources", NULL};
  const char *const *keys = step ? step_keys : block_keys;
  if (!json_is_object(v))
    return tsr__cfg_fail(c, path,
                         "expected an object such as {\"name\": \"nhs\", \"fields\": [\"nhs_number\"]}, got %s",
                         tsr__cfg_type_name(v));
  TSR_FORWARD_IF_ERROR(tsr__cfg_check_keys(c, v, path, keys));
  memset(r, 0, sizeof *r);
  const char *name = NULL;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, v, path, "name", 1, &name));
  char p[TSR__CFG_PATH_MAX];
  tsr__cfg_path(p, sizeof p, path, "name");
  if (!tsr__cfg_valid_name(name)) return tsr__cfg_fail(c, p, "expected letters, digits, '_' or '-', got \"%s\"", name);
  if (!(r->name = tsr__cfg_strdup(c, name))) return TSR_ENOMEM;
  json_t *f = json_object_get(v, "fields");
  tsr__cfg_path(p, sizeof p, path, "fields");
  if (!f) return tsr__cfg_fail(c, p, "required key is missing");
  if (!json_is_array(f) || json_array_size(f) == 0 || json_array_size(f) > TSR_MAX_KEY_PARTS)
    return tsr__cfg_fail(c, p, "expected a list of 1 to %d fields, got %s", TSR_MAX_KEY_PARTS, tsr__cfg_type_name(f));
  for (size_t i = 0; i < json_array_size(f); i++) {
    json_t *e = json_array_get(f, i);
    char pi[TSR__CFG_PATH_MAX];
    tsr__cfg_path_index(pi, sizeof pi, p, i);
    if (!json_is_string(e))
      return tsr__cfg_fail(c, pi, "expected a field such as \"dob\" or \"year(dob)\", got %s", tsr__cfg_type_name(e));
    TSR_FORWARD_IF_ERROR(tsr__cfg_parse_part(c, pi, json_string_value(e), &r->parts[r->n_parts++]));
  }
  r->source_mask = cfg->link.source_mask;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_bool(c, v, path, "merge", &r->merge));
  json_t *srcs = json_object_get(v, "sources");
  if (srcs) {
    tsr__cfg_path(p, sizeof p, path, "sources");
    TSR_FORWARD_IF_ERROR(parse_sources_list(c, p, srcs, cfg, &r->source_mask));
    if (r->source_mask & ~cfg->link.source_mask)
      return tsr__cfg_fail(c, p, "lists a source that does not take part in linking (see link.sources)");
  }
  return tsr__cfg_check_rule(c, path, cfg, r, 0);
}

void tsr__cfg_link_defaults(tsr_config *cfg) {
  tsr_link_cfg *l = &cfg->link;
  memset(l, 0, sizeof *l);
  l->source_mask = cfg->n_sources >= 64 ? ~0ull : (1ull << cfg->n_sources) - 1;
  l->mode = cfg->n_sources >= 2 ? TSR_MODE_LINK : TSR_MODE_DEDUPE;
  l->max_block_size = 1000;
  l->max_cluster_size = 500;
}

int tsr__cfg_parse_link(tsr__cfg_ctx *c, const json_t *v, const char *base_dir, tsr_config *cfg) {
  static const char *const keys[] = {"mode",       "sources",          "rules",    "max_block_size",
                                     "one_to_one", "max_cluster_size", "nhs_veto", NULL};
  (void)base_dir;
  const char *path = "link";
  tsr_link_cfg *l = &cfg->link;
  if (!json_is_object(v)) return tsr__cfg_fail(c, path, "expected an object, got %s", tsr__cfg_type_name(v));
  TSR_FORWARD_IF_ERROR(tsr__cfg_check_keys(c, v, path, keys));
  l->present = 1;
  json_t *srcs = json_object_get(v, "sources");
  if (srcs) TSR_FORWARD_IF_ERROR(parse_sources_list(c, "link.sources", srcs, cfg, &l->source_mask));
  uint32_t nsrc = (uint32_t)__builtin_popcountll(l->source_mask);
  const char *mode = NULL;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_str(c, v, path, "mode", 0, &mode));
  if (mode) {
    if (strcmp(mode, "link") == 0)
      l->mode = TSR_MODE_LINK;
    else if (strcmp(mode, "dedupe") == 0)
      l->mode = TSR_MODE_DEDUPE;
    else if (strcmp(mode, "link_and_dedupe") == 0)
      l->mode = TSR_MODE_BOTH;
    else
      return tsr__cfg_fail(c, "link.mode", "expected \"link\", \"dedupe\" or \"link_and_dedupe\", got \"%s\"", mode);
  }
  if (l->mode != TSR_MODE_DEDUPE && nsrc < 2)
    return tsr__cfg_fail(c, "link.mode", "\"%s\" needs two or more sources; use \"dedupe\" for one",
                         tsr_link_mode_name(l->mode));
  uint64_t u = l->max_block_size;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_uint(c, v, path, "max_block_size", 2, 100000000, &u));
  l->max_block_size = (uint32_t)u;
  u = l->max_cluster_size;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_uint(c, v, path, "max_cluster_size", 2, 100000000, &u));
  l->max_cluster_size = (uint32_t)u;
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_bool(c, v, path, "one_to_one", &l->one_to_one));
  TSR_FORWARD_IF_ERROR(tsr__cfg_get_bool(c, v, path, "nhs_veto", &l->nhs_veto));
  if (l->one_to_one && (l->mode != TSR_MODE_LINK || nsrc != 2))
    return tsr__cfg_fail(c, "link.one_to_one", "one-to-one needs \"mode\": \"link\" with exactly two sources");
  json_t *rules = json_object_get(v, "rules");
  if (!rules) return tsr__cfg_fail(c, "link.rules", "required key is missing (a preset name or a list of rules)");
  if (json_is_string(rules)) return tsr__cfg_build_preset(c, "link.rules", cfg, json_string_value(rules));
  if (!json_is_array(rules))
    return tsr__cfg_fail(c, "link.rules",
                         "expected a preset name (hesid, cprd_hes, names) or a list of rules (empty: no deterministic "
                         "steps, with a probabilistic section)");
  l->n_rules = (uint32_t)json_array_size(rules);
  if (!(l->rules = tsr__cfg_alloc(c, sizeof(tsr_rule_cfg) * (l->n_rules ? l->n_rules : 1)))) return TSR_ENOMEM;
  for (uint32_t i = 0; i < l->n_rules; i++) {
    char p[64];
    snprintf(p, sizeof p, "link.rules[%u]", i);
    TSR_FORWARD_IF_ERROR(tsr__cfg_parse_rule(c, p, json_array_get(rules, i), cfg, 1, &l->rules[i]));
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(l->rules[j].name, l->rules[i].name) == 0)
        return tsr__cfg_fail(c, p, "rule name \"%s\" is used twice", l->rules[i].name);
  }
  return 0;
}
