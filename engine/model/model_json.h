/* Model stage: the trained model as a file. tsr__model_save writes the
 * model JSON ("tessera-model", version 1, docs/model-json.md): the
 * comparisons as the config has them (options resolved), each enabled
 * level's m, u and weight, lambda and the prior. tsr__model_load reads it
 * back for a config and refuses a model trained for other comparisons.
 * tsr__model_splink exports the model as a Splink 4 settings JSON (DuckDB
 * SQL), so Splink users can open it in their tools.
 *
 * DESIGN
 *   Doubles are written with 17 significant digits, so every m, u and
 *   weight reads back as the very same double and save -> load -> save is
 *   byte-identical. Keys are written in a fixed order. Loading checks the
 *   shape of every key (unknown keys are errors), then that the model fits
 *   the config (first difference named), then recomputes the weights from
 *   m and u and requires the file's weights to agree within 1e-9, so a hand
 *   edit of m that forgot the weight (or the other way) is caught.
 *   Errors: TSR_EPARSE for a malformed model file, TSR_ECONFIG for a model
 *   that does not fit the config, TSR_EIO for files; the message names the
 *   file and the key path ("model.json: comparisons[1].levels[2].m:
 *   expected a number in [0, 1]"). All functions are thread-safe (no shared
 *   state). */
#ifndef TSR_MODEL_JSON_H
#define TSR_MODEL_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "tessera/common.h"
#include "tessera/config.h"

#define TSR__MODEL_FORMAT "tessera-model"
#define TSR__MODEL_VERSION 1
#define TSR__MODEL_SUM_TOL 1e-6    /* m (and u) of a comparison's levels sum to 1 within this */
#define TSR__MODEL_WEIGHT_TOL 1e-9 /* file weights equal log2(m/u) within this */

typedef struct tsr__model_info { /* training facts saved with a model; zero = unknown */
  uint64_t seed, u_pairs, train_pairs;
  uint32_t em_iterations;
  double lambda_em, lambda_rules;
} tsr__model_info;

/* The model as a JSON document (a new reference in *out, owned by the
 * caller: json_decref). pc gives the comparisons (pc->n_cmp == md->k);
 * info may be NULL (all zero). Returns 0, TSR_EINVAL (pc and md disagree,
 * a value that JSON cannot hold: NaN, a seed above 2^63 - 1) or TSR_ENOMEM. */
int tsr__model_to_json(const tsr_prob_cfg *pc, const tsr__model *md, const tsr__model_info *info, json_t **out,
                       tsr_error *err);
/* The document's text exactly as tsr__model_save writes it (final newline
 * included), in *text (free with free(): jansson's allocator). */
int tsr__model_to_text(const tsr_prob_cfg *pc, const tsr__model *md, const tsr__model_info *info, char **text,
                       tsr_error *err);
/* Writes the document to path under a temporary name and renames it into
 * place. 0 or a negative TSR_E* code (err names the path). */
int tsr__model_save(const char *path, const tsr_prob_cfg *pc, const tsr__model *md, const tsr__model_info *info,
                    tsr_error *err);

/* Loads a model for the config's comparisons: the comparisons must match pc
 * (count, names, kinds, fields, levels, options) or it is an error naming
 * the key path; fills md (tsr__model_init + m, u, lambda, weights). info
 * may be NULL. On error md is zeroed. */
int tsr__model_load(const char *path, const tsr_prob_cfg *pc, tsr__model *md, tsr__model_info *info,
                    tsr_error *err);
/* The same from text in memory (len bytes, no NUL needed); name labels
 * errors. Used by tests and the fuzzer. */
int tsr__model_parse(const char *text, size_t len, const char *name, const tsr_prob_cfg *pc, tsr__model *md,
                     tsr__model_info *info, tsr_error *err);

/* Splink 4 settings JSON (link_type, comparisons with comparison_levels:
 * sql_condition in DuckDB dialect, label_for_charts, m_probability,
 * u_probability, is_null_level; probability_two_random_records_match,
 * blocking_rules_to_generate_predictions, unique_id_column_name). Levels
 * DuckDB cannot express exactly get the closest SQL (docs/model-json.md
 * lists them). tsr__model_splink_json builds the document (new reference
 * in *out); tsr__model_splink writes it to path. */
int tsr__model_splink_json(const tsr_config *cfg, const tsr__model *md, json_t **out, tsr_error *err);
int tsr__model_splink(const char *path, const tsr_config *cfg, const tsr__model *md, tsr_error *err);

#endif
