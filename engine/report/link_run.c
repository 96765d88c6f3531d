/* The link command's run (tessera/link.h): the linkage result from the run
 * stage, written into a staging folder (tables, report, manifest) that is
 * committed into the output folder only when everything succeeded.
 *
 * DESIGN
 *     outdir open ──► rejects sink ──► tsr_run_linkage ──► tsr_run_write
 *     (refuse, stage)  (in the stage)   (ingest..cluster)   (tables, report)
 *                                                                 │
 *     summary ◄── outdir commit ◄── manifest.json (SHA-256 of the stage)
 *   Any error on the way: outdir abort (the stage and any folder the run
 *   created are removed), so a failed run leaves the folder as it found it. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_internal.h"
#include "report/inputs.h"
#include "report/report.h"
#include "tessera/episode.h"
#include "tessera/ingest.h"
#include "tessera/link.h"

void tsr_link_opts_init(tsr_link_opts *o) { memset(o, 0, sizeof *o); }

int tsr_run_write(tsr_linkage *L, const char *dir, tsr_error *err) {
  const tsr_config *cfg = tsr_linkage_config(L);
  double t0 = tsr__now();
  TSR_FORWARD_IF_ERROR(tsr__write_links(L, dir, cfg->output.csv, err));
  TSR_FORWARD_IF_ERROR(tsr__write_patients(L, dir, cfg->output.csv, err));
  if (cfg->prob.present) {
    TSR_FORWARD_IF_ERROR(tsr__write_pairs(L, dir, err));
    char *text = NULL;
    TSR_FORWARD_IF_ERROR(tsr_linkage_model_text(L, &text, err));
    int rc = tsr__write_file(dir, "model.json", text, strlen(text), err);
    free(text);
    TSR_FORWARD_IF_ERROR(rc);
  }
  if (tsr_linkage_add_stage(L, "output", t0)) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  /* Episodes: spells, CIPS and registration periods on the linked patients
   * (tessera/episode.h), when the config has an "episodes" section. */
  tsr_episodes *E = NULL;
  if (cfg->episodes.present) {
    /* two stages: building spells, CIPS and periods, then writing the four
     * files (like "output" for the linkage's own tables) */
    double t1 = tsr__now();
    TSR_FORWARD_IF_ERROR(tsr_episodes_build(L, 0, &E, err));
    int rc = tsr_linkage_add_stage(L, "episodes", t1) ? tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory") : 0;
    double t2 = tsr__now();
    if (!rc) rc = tsr_episodes_write(E, dir, err);
    if (!rc && tsr_linkage_add_stage(L, "episodes output", t2))
      rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    if (rc) {
      tsr_episodes_free(E);
      return rc;
    }
  }
  /* Match-rate fields: output.match_rates_by, or every code field of a
   * source when the key is absent (docs/config.md, "output"). */
  tsr__rate_fields rf = {cfg->output.match_rates_set, (const char *const *)cfg->output.match_rates_by,
                         cfg->output.n_match_rates_by};
  int rc = tsr__report_write_ep(L, &rf, E, cfg->output.redact, dir, err);
  tsr_episodes_free(E);
  return rc;
}

/* The rejects-limit error of ingest points at rejects.csv, which a failed
 * run no longer leaves behind: say where the rows can be seen instead. */
static void rejects_hint(tsr_error *err, const tsr_config *cfg, const char *dir) {
  if (!err) return;
  char *p = strstr(err->msg, "; the rows and reasons are in rejects.csv");
  if (p) *p = '\0';
  size_t len = strlen(err->msg);
  snprintf(err->msg + len, sizeof err->msg - len,
           "; nothing was written to %s (`tessera inspect --config %s --rejects DIR` writes the rows and reasons "
           "to DIR/rejects.csv)",
           dir, cfg->path ? cfg->path : "FILE");
}

int tsr_link_run(const tsr_config *cfg, const tsr_link_opts *opts, tsr_link_summary *summary, tsr_error *err) {
  tsr_error_clear(err);
  double t_start = tsr__now();
  /* the config as it was when the run started */
  char cfg_hex[65];
  int have_hex = cfg->path && tsr__sha256_file(cfg->path, cfg_hex, NULL, NULL) == 0;
  tsr__outdir od;
  TSR_FORWARD_IF_ERROR(tsr__outdir_open(&od, opts->out_dir, opts->overwrite, err));
  tsr_rejects *rj = NULL;
  tsr_linkage *L = NULL;
  /* the inputs' SHA-256 for the manifest, while the run reads them */
  tsr__input_hasher *ih = NULL;
  int rc = tsr__inputs_hash_start(cfg, &ih, err);
  if (!rc) rc = tsr_rejects_open(od.stage, &rj, err);
  if (!rc) {
    tsr_run_opts ro;
    tsr_run_opts_init(&ro);
    ro.threads = opts->threads;
    ro.rejects = rj;
    ro.model = opts->model;
    ro.threshold = opts->threshold;
    rc = tsr_run_linkage(cfg, &ro, &L, err);
    if (rc == TSR_EREJECTS) rejects_hint(err, cfg, od.dir);
  }
  if (rj) {
    int rc2 = tsr_rejects_close(rj, rc ? NULL : err);
    if (!rc) rc = rc2;
  }
  if (!rc) rc = tsr_run_write(L, od.stage, err);
  const tsr__input_hash *inputs = NULL;
  size_t ninputs = 0;
  if (!rc) rc = tsr__inputs_hash_join(ih, &inputs, &ninputs, err);
  char *cfg_abs = cfg->path ? realpath(cfg->path, NULL) : NULL; /* the manifest holds absolute paths */
  if (!rc)
    rc = tsr__manifest_write_inputs(od.stage, cfg_abs ? cfg_abs : cfg->path, have_hex ? cfg_hex : NULL, inputs,
                                    ninputs, opts->argc, opts->argv, err);
  free(cfg_abs);
  tsr__inputs_hash_free(ih);
  if (!rc) rc = tsr__outdir_commit(&od, err);
  if (rc) {
    tsr__outdir_abort(&od);
    tsr_linkage_free(L);
    return rc;
  }
  if (summary) {
    memset(summary, 0, sizeof *summary);
    summary->records = tsr_linkage_records(L);
    for (uint32_t s = 0; s < tsr_linkage_nsources(L); s++) summary->rejected += tsr_linkage_ingest_stats(L, s)->rows_rejected;
    summary->linked = tsr_linkage_records_linked(L);
    summary->patients = tsr_linkage_patients(L);
    summary->seconds = tsr__now() - t_start;
    summary->peak_rss = tsr__peak_rss();
  }
  tsr_linkage_free(L);
  return 0;
}
