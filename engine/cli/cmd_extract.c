/* tessera extract: one research extract of a finished run under one
 * data-sharing agreement (include/tessera/extract.h, docs/extract.md). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "tessera/extract.h"

void tsr__cli_extract_help(void) {
  printf("Usage: tessera extract --run DIR --agreement FILE --out EXTRACT [--register FILE] [options]\n\n"
         "Writes a research extract of the linked run in DIR under the data-sharing\n"
         "agreement FILE (docs/agreement.md) and appends the release to the release\n"
         "register FILE (docs/register.md). The run's files, its config and its input\n"
         "files must be unchanged since the run (their SHA-256 is checked against\n"
         "DIR/manifest.json); the sources are read again to apply the opt-out lists.\n"
         "Opt-outs apply to linked patients: a patient is removed when any of their\n"
         "records carries a listed NHS number. Tables are keyed by a pseudonym under\n"
         "the agreement's own key (tessera keygen) and hold only generalised fields.\n"
         "EXTRACT gets the tables (Parquet), aggregate_<name>.csv with small-number\n"
         "suppression, extract_manifest.json and summary.md; it is written in full\n"
         "and renamed into place, after the register entry is appended.\n\n"
         "Options:\n"
         "  --run DIR          the `tessera link` output folder\n"
         "  --agreement FILE   the data-sharing agreement (JSON)\n"
         "  --out EXTRACT      the extract folder to create\n"
         "  --register FILE    the release register to append to (created if missing;\n"
         "                     default: release_register.jsonl beside EXTRACT)\n"
         "  --overwrite        replace an existing EXTRACT folder\n"
         "  --truth DIR        generated data's folder: measure how many records of truly\n"
         "                     opted-out patients reach the extract (summary's method note)\n");
}

int tsr__cli_extract(int argc, char **argv) {
  const char *cmd = "extract";
  tsr__cli_common c = {0, 0};
  tsr_extract_opts o;
  tsr_extract_opts_init(&o);
  int rc = 0;
  for (int i = 1; i < argc && !rc; i++) {
    const char *a = argv[i], *v = NULL;
    int handled;
    rc = tsr__cli_common_opt(cmd, argc, argv, &i, &c, &handled);
    if (rc || handled) continue;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      tsr__cli_extract_help();
      return 0;
    } else if (strcmp(a, "--overwrite") == 0) {
      o.overwrite = 1;
    } else if (tsr__cli_is_opt(a, "--run") || tsr__cli_is_opt(a, "--agreement") || tsr__cli_is_opt(a, "--out") ||
               tsr__cli_is_opt(a, "--register") || tsr__cli_is_opt(a, "--truth")) {
      const char *name = tsr__cli_is_opt(a, "--run") ? "--run"
                         : tsr__cli_is_opt(a, "--agreement") ? "--agreement"
                         : tsr__cli_is_opt(a, "--out") ? "--out"
                         : tsr__cli_is_opt(a, "--register") ? "--register"
                                                           : "--truth";
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, name))) {
        rc = TSR_CLI_USAGE;
      } else if (!*v) {
        rc = tsr__cli_usage_error(cmd, "%s needs a value", name);
      } else if (strcmp(name, "--run") == 0) {
        o.run_dir = v;
      } else if (strcmp(name, "--agreement") == 0) {
        o.agreement = v;
      } else if (strcmp(name, "--out") == 0) {
        o.out_dir = v;
      } else if (strcmp(name, "--register") == 0) {
        o.register_path = v;
      } else {
        o.truth_dir = v;
      }
    } else {
      rc = tsr__cli_usage_error(cmd, "unknown option '%s'", a);
    }
  }
  if (rc) return rc;
  if (!o.run_dir) return tsr__cli_usage_error(cmd, "--run DIR is required");
  if (!o.agreement) return tsr__cli_usage_error(cmd, "--agreement FILE is required");
  if (!o.out_dir) return tsr__cli_usage_error(cmd, "--out EXTRACT is required");
  /* every release is registered: by default in the register beside the
   * extract folder, which extracts made into one folder share */
  char regbuf[4096];
  if (!o.register_path) {
    const char *slash = strrchr(o.out_dir, '/');
    size_t dl = slash ? (size_t)(slash - o.out_dir) : 0;
    if (slash && dl == 0) dl = 1; /* "/x" */
    snprintf(regbuf, sizeof regbuf, "%.*s%srelease_register.jsonl", (int)dl, slash ? o.out_dir : "",
             slash && dl > 1 ? "/" : "");
    o.register_path = regbuf;
  }
  o.threads = c.threads;
  o.argc = argc;
  o.argv = (const char *const *)argv;
  tsr_error err;
  tsr_error_clear(&err);
  tsr_extract_summary s;
  int r = tsr_extract_run(&o, &s, &err);
  if (r) return tsr__cli_fail(&err, r);
  if (!c.quiet)
    fprintf(stderr,
            "tessera extract: release %s: %llu patients, %llu rows; opt-outs removed %llu patients (%llu records); "
            "in %.2f s\nextract: %s (register: %s)\n",
            s.release_id, (unsigned long long)s.patients, (unsigned long long)s.rows,
            (unsigned long long)s.optout_patients, (unsigned long long)s.optout_records, s.seconds, o.out_dir,
            o.register_path);
  return 0;
}
