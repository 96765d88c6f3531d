/* tessera generate: synthetic GP + hospital data with ground truth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "tessera/generate.h"

void tsr__cli_generate_help(void) {
  printf("Usage: tessera generate --patients N --out DIR [options]\n\n"
         "Writes gp.csv, hes_apc.csv, truth.csv, truth_spells.csv, truth_patients.csv,\n"
         "optouts_type1.csv, optouts_ndoo.csv, link.json and generate_summary.json.\n"
         "The same seed gives byte-identical files for any thread count.\n\n"
         "Options:\n"
         "  --patients N        number of patients (1 .. 90000000)\n"
         "  --out DIR           output folder (created if missing)\n"
         "  --seed S            random seed (default 1)\n"
         "  --scenario NAME     default | clean (no errors) | hard (more errors, few NHS numbers)\n"
         "  --set KEY=VALUE     override one parameter (repeatable); see --list-params\n"
         "  --list-params       list every parameter with its default and meaning\n"
         "  --threads N         worker threads (default: all cores)\n"
         "  --quiet, -q         no progress bar or summary\n");
}

static void list_params(void) {
  printf("%-30s %-9s %s\n", "parameter", "default", "meaning");
  for (size_t i = 0; i < tsr_gen_param_count(); i++) {
    const char *key, *desc;
    double def;
    tsr_gen_param_info(i, &key, &desc, &def, NULL);
    printf("%-30s %-9g %s\n", key, def, desc);
  }
}

static void print_summary(const tsr_gen_opts *o, const tsr_gen_summary *s) {
  double recs = (double)(s->gp_rows + s->hes_rows);
  printf("generated %llu patients (scenario %s, seed %llu) in %.2fs: %.2fM records/s\n",
         (unsigned long long)s->patients, o->scenario, (unsigned long long)o->seed, s->seconds,
         s->seconds > 0 ? recs / s->seconds / 1e6 : 0.0);
  printf("  gp.csv         %12llu rows\n", (unsigned long long)s->gp_rows);
  printf("  hes_apc.csv    %12llu rows  (%llu spells, %llu continuous inpatient spells)\n",
         (unsigned long long)s->hes_rows, (unsigned long long)s->spells, (unsigned long long)s->cips);
  printf("  households %llu, communal residents %llu, twins %llu\n", (unsigned long long)s->households,
         (unsigned long long)s->communal_patients, (unsigned long long)s->twins);
  printf("  opt-outs: type 1 %llu, national %llu\n", (unsigned long long)s->optout_type1,
         (unsigned long long)s->optout_ndoo);
  printf("  error rates realised (configured):\n");
  for (size_t i = 0; i < tsr_gen_param_count(); i++) {
    const char *key;
    int is_err;
    tsr_gen_param_info(i, &key, NULL, NULL, &is_err);
    if (!is_err) continue;
    double r = s->eligible[i] ? (double)s->events[i] / (double)s->eligible[i] : 0.0;
    printf("    %-28s %8.4f%%  (%.4f%%)  %llu of %llu\n", key, r * 100.0, o->param[i] * 100.0,
           (unsigned long long)s->events[i], (unsigned long long)s->eligible[i]);
  }
  printf("  output: %s\n", o->out_dir);
}

int tsr__cli_generate(int argc, char **argv) {
  const char *cmd = "generate";
  tsr_gen_opts o;
  tsr_gen_opts_init(&o);
  tsr__cli_common c = {0, 0};
  int have_n = 0;
  /* --scenario resets every parameter, so --set values apply after it */
  const char *scenario = "default";
  const char **sets = calloc((size_t)argc, sizeof *sets);
  int nsets = 0, rc = 0;
  if (!sets) return TSR_CLI_FAIL;
  for (int i = 1; i < argc && !rc; i++) {
    const char *a = argv[i];
    int handled;
    rc = tsr__cli_common_opt(cmd, argc, argv, &i, &c, &handled);
    if (rc || handled) continue;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      tsr__cli_generate_help();
      free(sets);
      return 0;
    }
    if (strcmp(a, "--list-params") == 0) {
      list_params();
      free(sets);
      return 0;
    }
    const char *v;
    if (tsr__cli_is_opt(a, "--patients")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--patients"))) rc = TSR_CLI_USAGE;
      else rc = tsr__cli_parse_u64(cmd, "--patients", v, 1, 90000000u, &o.patients);
      have_n = 1;
    } else if (tsr__cli_is_opt(a, "--seed")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--seed"))) rc = TSR_CLI_USAGE;
      else rc = tsr__cli_parse_u64(cmd, "--seed", v, 0, UINT64_MAX, &o.seed);
    } else if (tsr__cli_is_opt(a, "--out")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--out"))) rc = TSR_CLI_USAGE;
      else if (!*v) rc = tsr__cli_usage_error(cmd, "--out needs a folder name");
      else o.out_dir = v;
    } else if (tsr__cli_is_opt(a, "--scenario")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--scenario"))) rc = TSR_CLI_USAGE;
      else scenario = v;
    } else if (tsr__cli_is_opt(a, "--set")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--set"))) rc = TSR_CLI_USAGE;
      else if (!strchr(v, '=')) rc = tsr__cli_usage_error(cmd, "--set expects KEY=VALUE, got '%s'", v);
      else sets[nsets++] = v;
    } else {
      rc = tsr__cli_usage_error(cmd, "unknown option '%s'", a);
    }
  }
  tsr_error err;
  tsr_error_clear(&err);
  if (!rc && tsr_gen_opts_scenario(&o, scenario, &err)) rc = tsr__cli_usage_error(cmd, "%s", err.msg);
  for (int k = 0; k < nsets && !rc; k++) {
    char key[128];
    const char *eq = strchr(sets[k], '=');
    size_t kl = (size_t)(eq - sets[k]);
    if (kl >= sizeof key) kl = sizeof key - 1;
    memcpy(key, sets[k], kl);
    key[kl] = '\0';
    if (tsr_gen_opts_set(&o, key, eq + 1, &err)) rc = tsr__cli_usage_error(cmd, "%s", err.msg);
  }
  free(sets);
  if (rc) return rc;
  if (!have_n) return tsr__cli_usage_error(cmd, "--patients N is required");
  if (!o.out_dir) return tsr__cli_usage_error(cmd, "--out DIR is required");
  o.threads = c.threads;
  tsr_gen_summary s;
  int r = tsr_generate(&o, &s, &err);
  if (r) return tsr__cli_fail(&err, r);
  if (!c.quiet) print_summary(&o, &s);
  return 0;
}
