/* tessera link: ingest, deterministic step-down rules, clusters, Parquet
 * output and report.json (include/tessera/link.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "tessera/config.h"
#include "tessera/link.h"

void tsr__cli_link_help(void) {
  printf("Usage: tessera link --config FILE --out DIR [options]\n\n"
         "Links the sources of a run configuration into patients with its ordered\n"
         "deterministic rules and, when the config has a \"probabilistic\" section,\n"
         "Fellegi-Sunter scoring of what they left (trained in the run unless --model\n"
         "is given). Writes DIR/links.parquet, DIR/patients.parquet, DIR/report.json,\n"
         "DIR/report.html, DIR/rejects.csv, DIR/manifest.json and, with the\n"
         "probabilistic stage, DIR/pairs.parquet and DIR/model.json.\n"
         "DIR changes only when the run succeeds; a DIR holding another run's\n"
         "files is refused unless --overwrite is given.\n\n"
         "Options:\n"
         "  --config FILE     run configuration (JSON) with a \"link\" section\n"
         "  --out DIR         run folder (created if missing)\n"
         "  --rules PRESET    use a preset instead of the config's rules: hesid,\n"
         "                    cprd_hes or names (without a link section: link_and_dedupe);\n"
         "                    the deterministic preset alone (no probabilistic stage)\n"
         "  --model FILE      probabilistic: use this model (tessera train) instead of\n"
         "                    training one in the run\n"
         "  --threshold P     probabilistic: link pairs of match probability >= P\n"
         "                    (0 < P < 1; default: the config's, else 0.95)\n"
         "  --csv             also write links.csv and patients.csv\n"
         "  --redact          report.json and report.html without any value taken from a\n"
         "                    record (block keys, NHS numbers, record ids, code values),\n"
         "                    fit to leave the safe haven; the tables stay identifiable\n"
         "  --overwrite       replace the run already in DIR (all of its files)\n"
         "  --threads N       worker threads (default: all cores)\n"
         "  --quiet, -q       warnings and errors only on stderr\n");
}

int tsr__cli_link(int argc, char **argv) {
  const char *cmd = "link";
  tsr__cli_common c = {0, 0};
  const char *config = NULL, *out = NULL, *preset = NULL, *model = NULL;
  double threshold = 0;
  int rc = 0, csv = 0, overwrite = 0, redact = 0;
  for (int i = 1; i < argc && !rc; i++) {
    const char *a = argv[i], *v;
    int handled;
    rc = tsr__cli_common_opt(cmd, argc, argv, &i, &c, &handled);
    if (rc || handled) continue;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      tsr__cli_link_help();
      return 0;
    } else if (strcmp(a, "--csv") == 0) {
      csv = 1;
    } else if (strcmp(a, "--redact") == 0) {
      redact = 1;
    } else if (strcmp(a, "--overwrite") == 0) {
      overwrite = 1;
    } else if (tsr__cli_is_opt(a, "--config")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--config"))) rc = TSR_CLI_USAGE;
      else config = v;
    } else if (tsr__cli_is_opt(a, "--out")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--out"))) rc = TSR_CLI_USAGE;
      else out = v;
    } else if (tsr__cli_is_opt(a, "--model")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--model"))) rc = TSR_CLI_USAGE;
      else model = v;
    } else if (tsr__cli_is_opt(a, "--threshold")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--threshold"))) rc = TSR_CLI_USAGE;
      else rc = tsr__cli_parse_prob(cmd, "--threshold", v, &threshold);
    } else if (tsr__cli_is_opt(a, "--rules")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--rules"))) rc = TSR_CLI_USAGE;
      else preset = v;
    } else {
      rc = tsr__cli_usage_error(cmd, "unknown option '%s'", a);
    }
  }
  if (rc) return rc;
  if (!config) return tsr__cli_usage_error(cmd, "--config FILE is required");
  if (!out) return tsr__cli_usage_error(cmd, "--out DIR is required");
  tsr_error err;
  tsr_config *cfg = NULL;
  int r = tsr_config_load(config, &cfg, &err);
  if (r) return tsr__cli_fail(&err, r);
  if (preset && (r = tsr_config_use_preset(cfg, preset, &err)) != 0) {
    tsr_config_free(cfg);
    return tsr__cli_fail(&err, r);
  }
  if (preset) cfg->prob.present = 0; /* the preset alone */
  if ((model || threshold > 0) && !cfg->prob.present) {
    tsr_config_free(cfg);
    return tsr__cli_usage_error(cmd, "%s needs a config with a \"probabilistic\" section%s",
                                model ? "--model" : "--threshold", preset ? " (and no --rules PRESET)" : "");
  }
  if (csv) cfg->output.csv = 1;
  if (redact) cfg->output.redact = 1;
  /* the command line for manifest.json: "tessera" and this command's words */
  const char **words = malloc(sizeof *words * (size_t)(argc + 1));
  if (!words) {
    tsr_config_free(cfg);
    fprintf(stderr, "tessera: error: out of memory\n");
    return TSR_CLI_FAIL;
  }
  words[0] = "tessera";
  for (int i = 0; i < argc; i++) words[i + 1] = argv[i];
  tsr_link_opts lo;
  tsr_link_opts_init(&lo);
  lo.threads = c.threads;
  lo.out_dir = out;
  lo.overwrite = overwrite;
  lo.argc = argc + 1;
  lo.argv = words;
  lo.model = model;
  lo.threshold = threshold;
  tsr_link_summary s;
  r = tsr_link_run(cfg, &lo, &s, &err);
  const int cfg_prob = cfg->prob.present, cfg_ep = cfg->episodes.present;
  free(words);
  tsr_config_free(cfg);
  if (r) return tsr__cli_fail(&err, r);
  if (!c.quiet) {
    printf("linked %llu of %llu records into %llu patients (%llu rows rejected) in %.2f s, peak RSS %.1f MB\n",
           (unsigned long long)s.linked, (unsigned long long)s.records, (unsigned long long)s.patients,
           (unsigned long long)s.rejected, s.seconds, (double)s.peak_rss / 1e6);
    printf("output: %s/links.parquet, %s/patients.parquet, %s/report.json, %s/manifest.json%s%s%s\n", out, out, out,
           out, cfg_prob ? ", " : "", cfg_prob ? out : "", cfg_prob ? "/pairs.parquet" : "");
    if (cfg_ep)
      printf("episodes: %s/episodes.parquet, %s/spells.parquet, %s/cips.parquet, %s/registrations.parquet\n", out, out,
             out, out);
  }
  return 0;
}
