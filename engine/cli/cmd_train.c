/* tessera train: estimate a probabilistic model (lambda, u, m) from the
 * config's sources and save it as model JSON (docs/model-json.md),
 * for `tessera link --model FILE`. It runs the same stages link runs (the
 * deterministic steps feed lambda in a hybrid run), in memory, and writes
 * nothing but the model. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "tessera/config.h"
#include "tessera/run.h"

void tsr__cli_train_help(void) {
  printf("Usage: tessera train --config FILE --out MODEL.json [options]\n\n"
         "Estimates the Fellegi-Sunter model of the config's \"probabilistic\" section\n"
         "without labels: u from random record pairs, m and lambda by EM over the\n"
         "training rules' pairs (each rule leaves out the comparisons it fixes). Prints\n"
         "a summary and writes the model (written under a temporary name, then\n"
         "renamed). `tessera link --config FILE --model MODEL.json` then links with it.\n\n"
         "Options:\n"
         "  --config FILE     run configuration (JSON) with a \"probabilistic\" section\n"
         "  --out FILE        the model file to write\n"
         "  --splink FILE     also write the model as a Splink 4 settings JSON\n"
         "                    (comparison levels with DuckDB SQL, m and u; docs/model-json.md)\n"
         "  --threads N       worker threads (default: all cores)\n"
         "  --quiet, -q       warnings and errors only on stderr\n");
}

static void summary(const json_t *p) {
  printf("lambda %.6g (prior weight %.2f), u from %lld random pairs, EM %lld iterations over %lld training pairs\n",
         json_number_value(json_object_get(p, "lambda")), json_number_value(json_object_get(p, "prior_weight")),
         (long long)json_integer_value(json_object_get(p, "u_pairs")),
         (long long)json_integer_value(json_object_get(p, "em_iterations")),
         (long long)json_integer_value(json_object_get(p, "train_pairs")));
  printf("%-18s %-18s %10s %10s %8s\n", "comparison", "level", "m", "u", "weight");
  size_t i, j;
  json_t *c, *l;
  json_array_foreach(json_object_get(p, "comparisons"), i, c) {
    json_array_foreach(json_object_get(c, "levels"), j, l) {
      printf("%-18s %-18s %10.4g %10.4g %8.2f\n", j ? "" : json_string_value(json_object_get(c, "name")),
             json_string_value(json_object_get(l, "name")), json_number_value(json_object_get(l, "m")),
             json_number_value(json_object_get(l, "u")), json_number_value(json_object_get(l, "weight")));
    }
  }
  size_t nd = json_array_size(json_object_get(p, "degenerate"));
  if (nd) printf("%zu degenerate level(s): see the warnings above\n", nd);
}

int tsr__cli_train(int argc, char **argv) {
  const char *cmd = "train";
  tsr__cli_common c = {0, 0};
  const char *config = NULL, *out = NULL, *splink = NULL;
  int rc = 0;
  for (int i = 1; i < argc && !rc; i++) {
    const char *a = argv[i], *v;
    int handled;
    rc = tsr__cli_common_opt(cmd, argc, argv, &i, &c, &handled);
    if (rc || handled) continue;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      tsr__cli_train_help();
      return 0;
    } else if (tsr__cli_is_opt(a, "--config")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--config"))) rc = TSR_CLI_USAGE;
      else config = v;
    } else if (tsr__cli_is_opt(a, "--splink")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--splink"))) rc = TSR_CLI_USAGE;
      else splink = v;
    } else if (tsr__cli_is_opt(a, "--out")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--out"))) rc = TSR_CLI_USAGE;
      else out = v;
    } else {
      rc = tsr__cli_usage_error(cmd, "unknown option '%s'", a);
    }
  }
  if (rc) return rc;
  if (!config) return tsr__cli_usage_error(cmd, "--config FILE is required");
  if (!out) return tsr__cli_usage_error(cmd, "--out FILE is required");
  tsr_error err;
  tsr_config *cfg = NULL;
  int r = tsr_config_load(config, &cfg, &err);
  if (r) return tsr__cli_fail(&err, r);
  if (!cfg->prob.present) {
    tsr_config_free(cfg);
    return tsr__cli_usage_error(cmd, "%s has no \"probabilistic\" section: nothing to train", config);
  }
  tsr_run_opts ro;
  tsr_run_opts_init(&ro);
  ro.threads = c.threads;
  tsr_linkage *L = NULL;
  r = tsr_run_linkage(cfg, &ro, &L, &err);
  json_t *p = NULL;
  if (!r) r = tsr_linkage_prob_json(L, &p, &err);
  if (!r) r = tsr_linkage_model_save(L, out, &err);
  if (!r && splink) r = tsr_linkage_splink_save(L, splink, &err);
  if (!r && !c.quiet) {
    summary(p);
    printf("model: %s%s%s\n", out, splink ? ", Splink settings: " : "", splink ? splink : "");
  }
  json_decref(p);
  tsr_linkage_free(L);
  tsr_config_free(cfg);
  return r ? tsr__cli_fail(&err, r) : 0;
}
