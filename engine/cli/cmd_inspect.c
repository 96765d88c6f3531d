/* tessera inspect: ingest every source of a run configuration and print a
 * profile of each (rows, rejects by reason, completeness, invalid values,
 * top values, memory and time), as text or JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "tessera/block.h"
#include "tessera/config.h"
#include "tessera/ingest.h"

void tsr__cli_inspect_help(void) {
  printf("Usage: tessera inspect --config FILE [options]\n\n"
         "Ingests each source of the run configuration and prints its profile: rows,\n"
         "rejects by reason, per-field completeness and invalid counts, the most\n"
         "frequent values, memory used and time per stage.\n\n"
         "Options:\n"
         "  --config FILE     run configuration (JSON)\n"
         "  --json            print JSON instead of text\n"
         "  --top N           top values per field (default 5)\n"
         "  --blocking        also count the pairs each rule of the link section would\n"
         "                    emit (first rule only), cumulatively, with the largest blocks;\n"
         "                    without link rules, the probabilistic section's blocking rules\n"
         "  --rejects DIR     also write rejected rows to DIR/rejects.csv\n"
         "  --threads N       worker threads (default: all cores)\n"
         "  --quiet, -q       warnings and errors only on stderr\n");
}

int tsr__cli_inspect(int argc, char **argv) {
  const char *cmd = "inspect";
  tsr__cli_common c = {0, 0};
  const char *config = NULL, *rejects_dir = NULL;
  int json = 0, rc = 0, blocking = 0;
  uint64_t top = 5;
  for (int i = 1; i < argc && !rc; i++) {
    const char *a = argv[i], *v;
    int handled;
    rc = tsr__cli_common_opt(cmd, argc, argv, &i, &c, &handled);
    if (rc || handled) continue;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      tsr__cli_inspect_help();
      return 0;
    } else if (strcmp(a, "--json") == 0) {
      json = 1;
    } else if (strcmp(a, "--blocking") == 0) {
      blocking = 1;
    } else if (tsr__cli_is_opt(a, "--config")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--config"))) rc = TSR_CLI_USAGE;
      else config = v;
    } else if (tsr__cli_is_opt(a, "--top")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--top"))) rc = TSR_CLI_USAGE;
      else rc = tsr__cli_parse_u64(cmd, "--top", v, 0, 1000, &top);
    } else if (tsr__cli_is_opt(a, "--rejects")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--rejects"))) rc = TSR_CLI_USAGE;
      else rejects_dir = v;
    } else {
      rc = tsr__cli_usage_error(cmd, "unknown option '%s'", a);
    }
  }
  if (rc) return rc;
  if (!config) return tsr__cli_usage_error(cmd, "--config FILE is required");
  tsr_error err;
  tsr_config *cfg = NULL;
  int r = tsr_config_load(config, &cfg, &err);
  if (r) return tsr__cli_fail(&err, r);
  tsr_rejects *rj = NULL;
  if (rejects_dir && (r = tsr_rejects_open(rejects_dir, &rj, &err)) != 0) {
    tsr_config_free(cfg);
    return tsr__cli_fail(&err, r);
  }
  tsr_ingest_opts io;
  tsr_ingest_opts_init(&io);
  io.threads = c.threads;
  io.rejects = rj;
  io.enforce_reject_limit = 0; /* inspect reports, it does not judge */
  if (json) {
    /* the path goes through the JSON encoder: it may hold quotes or backslashes */
    json_t *path = json_string(config);
    char *enc = path ? json_dumps(path, JSON_ENCODE_ANY) : NULL;
    printf("{\"config\": %s, \"sources\": [\n", enc ? enc : "null");
    free(enc);
    json_decref(path);
  }
  int status = 0;
  if (blocking && cfg->link.n_rules == 0 && cfg->prob.present) {
    /* a probabilistic run alone: its blocking rules are the ones that make pairs */
    cfg->link.rules = cfg->prob.blocking;
    cfg->link.n_rules = cfg->prob.n_blocking;
  }
  if (blocking && (!cfg->link.present || cfg->link.n_rules == 0)) {
    tsr_config_free(cfg);
    if (rj) tsr_rejects_close(rj, NULL);
    return tsr__cli_usage_error(cmd, "--blocking needs a \"link\" section with rules (or a probabilistic section) in %s",
                                config);
  }
  tsr_store **stores = calloc(cfg->n_sources, sizeof *stores);
  if (!stores) {
    tsr_config_free(cfg);
    return TSR_CLI_FAIL;
  }
  for (uint32_t s = 0; s < cfg->n_sources && !status; s++) {
    tsr_store *store = NULL;
    tsr_ingest_stats st;
    r = tsr_ingest_source(&cfg->sources[s], &io, &store, &st, &err);
    if (r) {
      status = tsr__cli_fail(&err, r);
      break;
    }
    if (json && s) printf(",\n");
    tsr_store_profile(store, &st, json, (int)top, stdout);
    if (!json && s + 1 < cfg->n_sources) printf("\n");
    if ((double)st.rows_rejected > cfg->sources[s].max_reject_share * (double)st.rows_read)
      fprintf(stderr, "tessera: warning: source %s: %llu of %llu rows rejected, above max_reject_share (%.2f%%): a link run would stop\n",
              cfg->sources[s].name, (unsigned long long)st.rows_rejected, (unsigned long long)st.rows_read,
              cfg->sources[s].max_reject_share * 100.0);
    if (blocking)
      stores[s] = store;
    else
      tsr_store_free(store);
  }
  if (blocking && !status) {
    if (json) printf("], \"blocking\": ");
    fflush(stdout);
    r = tsr_blocking_profile(cfg, (const tsr_store *const *)stores, c.threads, json, stdout, &err);
    if (r) status = tsr__cli_fail(&err, r);
    if (json && !status) printf("}\n");
  } else if (json && !status) {
    printf("]}\n");
  }
  for (uint32_t s = 0; s < cfg->n_sources; s++) tsr_store_free(stores[s]);
  free(stores);
  if (rj) {
    r = tsr_rejects_close(rj, &err);
    if (r && !status) status = tsr__cli_fail(&err, r);
  }
  tsr_config_free(cfg);
  return status;
}
