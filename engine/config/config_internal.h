/* Internal interface between the files of engine/config/: the owner of a
 * parsed config, the table of root sections, and the few functions one
 * section file lends another (field lookup, rule parts, presets).
 *
 * DESIGN
 *   config.c   the one entry point; root keys come from k_sections below
 *   cfg_json.c key checks, typed getters, key paths (cfg_json.h)
 *   source.c   "sources": columns, kinds, date formats, event dates
 *   link.c     "link": mode, rules, key parts, which key functions apply
 *              to which field kinds
 *   prob.c     "probabilistic": comparisons, their levels and options,
 *              blocking and training rules, model options
 *   output.c   "output"
 *   presets.c  the named rule sets and tsr_config_use_preset
 *
 *   A new section (comparisons, model, episodes, extracts) is one new file
 *   with a parse function and a defaults function, and one row in the
 *   section table in config.c. Sections are parsed in table order, so a
 *   section may read the ones above it (link reads sources). */
#ifndef TSR_CONFIG_INTERNAL_H
#define TSR_CONFIG_INTERNAL_H

#include <jansson.h>

#include "common/arena.h"
#include "config/cfg_json.h"
#include "tessera/config.h"

/* What tsr_config_parse allocates: the public struct first, so a
 * tsr_config * is also a cfg_owner *. */
typedef struct tsr__cfg_owner {
  tsr_config pub;
  tsr__arena arena;
} tsr__cfg_owner;

/* A root section. parse gets the section's JSON value (present only);
 * defaults (may be NULL) runs before parse, and alone when the key is
 * absent. A missing required section is an error. */
typedef struct tsr__cfg_section {
  const char *name;
  int (*parse)(tsr__cfg_ctx *c, const json_t *v, const char *base_dir, tsr_config *cfg);
  void (*defaults)(tsr_config *cfg);
  int required;
} tsr__cfg_section;

/* --- source.c --- */
int tsr__cfg_parse_sources(tsr__cfg_ctx *c, const json_t *v, const char *base_dir, tsr_config *cfg);
/* The column of source s mapped to `field`, or NULL. */
const tsr_column_cfg *tsr__cfg_source_field(const tsr_source_cfg *s, const char *field);

/* --- link.c --- */
int tsr__cfg_parse_link(tsr__cfg_ctx *c, const json_t *v, const char *base_dir, tsr_config *cfg);
/* Resets the link section to its defaults (which depend on the sources). */
void tsr__cfg_link_defaults(tsr_config *cfg);
/* "soundex(family_name)" or "family_name" -> part; the kind is filled in by
 * tsr__cfg_check_rule. */
int tsr__cfg_parse_part(tsr__cfg_ctx *c, const char *path, const char *text, tsr_key_part *part);
/* Checks a rule's parts against the sources in its mask and fills in their
 * kinds. With auto_mask, narrows the mask to the sources that have every
 * field instead of failing (presets); returns 1 when the rule can then run
 * nowhere. */
int tsr__cfg_check_rule(tsr__cfg_ctx *c, const char *path, const tsr_config *cfg, tsr_rule_cfg *r, int auto_mask);
/* One rule object ({"name", "fields", "sources"}, plus "merge" when step:
 * a deterministic step rather than a blocking rule) at path into *r,
 * checked against the sources (tsr__cfg_check_rule); the mask defaults to
 * cfg->link.source_mask. */
int tsr__cfg_parse_rule(tsr__cfg_ctx *c, const char *path, const json_t *v, tsr_config *cfg, int step,
                        tsr_rule_cfg *r);

/* --- prob.c --- */
/* "probabilistic": comparisons, blocking and training rules, model and
 * clustering options. Parsed after "link" (its rules' source masks and
 * max_block_size default from it). */
int tsr__cfg_parse_prob(tsr__cfg_ctx *c, const json_t *v, const char *base_dir, tsr_config *cfg);
/* Resets the probabilistic section to its defaults (present = 0, no
 * comparisons or rules); reads cfg->link, so it runs after link's. */
void tsr__cfg_prob_defaults(tsr_config *cfg);

/* --- episodes.c --- */
/* "episodes": the hospital source, its field roles, the GP source's
 * registration fields and the CIPS rule. Parsed after "sources". */
int tsr__cfg_parse_episodes(tsr__cfg_ctx *c, const json_t *v, const char *base_dir, tsr_config *cfg);
void tsr__cfg_episodes_defaults(tsr_config *cfg);

/* --- output.c --- */
int tsr__cfg_parse_output(tsr__cfg_ctx *c, const json_t *v, const char *base_dir, tsr_config *cfg);
void tsr__cfg_output_defaults(tsr_config *cfg);

/* --- presets.c --- */
/* Replaces cfg->link.rules with the named preset, fitted to the sources in
 * cfg->link.source_mask; path labels errors ("link.rules", "--rules"). */
int tsr__cfg_build_preset(tsr__cfg_ctx *c, const char *path, tsr_config *cfg, const char *name);

#endif
