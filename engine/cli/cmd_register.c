/* tessera register: checks a release register's hash chain (verify) and
 * writes its quarterly publication (report) as CSV and one HTML page
 * (engine/extract/register.h; docs/register.md). Entries are appended only
 * by tessera extract, never by hand. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/common_internal.h"
#include "extract/register.h"

/* Declared in cli.h once main.c dispatches `register`; repeated here so this
 * file builds on its own until then (a repeated declaration is harmless). */
int tsr__cli_register(int argc, char **argv);
void tsr__cli_register_help(void);

void tsr__cli_register_help(void) {
  printf("Usage: tessera register verify --register FILE\n"
         "       tessera register report --register FILE --quarter YYYYQn --out DIR\n\n"
         "The release register is the append-only, hash-chained record of every\n"
         "research extract released (tessera extract --register FILE appends to it).\n\n"
         "verify checks every entry: each line is one canonical JSON object ending in\n"
         "a newline, its sha256 matches its content, seq counts 1, 2, 3... by line,\n"
         "release_id is the agreement reference and seq, and prev_sha256 is the\n"
         "previous entry's sha256. It prints the number of entries and the head\n"
         "sha256 (the last entry's), which should match the one last published.\n"
         "Any change, deletion, insertion or reordering exits with status 1 naming\n"
         "the first bad entry by line, seq and release_id.\n\n"
         "report writes DIR/release_register_YYYYQn.csv and .html, the quarterly\n"
         "publication: every release in the quarter (UTC) with its date, agreement\n"
         "reference, recipient, purpose, legal basis, data category, datasets,\n"
         "opt-outs applied, patients and rows. A register that does not verify is\n"
         "refused.\n\n"
         "Options:\n"
         "  --register FILE   the release register (JSON lines)\n"
         "  --quarter YYYYQn  report: the quarter, e.g. 2026Q3 (July to September)\n"
         "  --out DIR         report: folder for the two files (created if missing)\n"
         "  --quiet, -q       warnings and errors only on stderr\n"
         "Exit status: 0 done, 1 the register does not verify (or a file error),\n"
         "2 usage error.\n");
}

int tsr__cli_register(int argc, char **argv) {
  const char *cmd = "register";
  if (argc < 2) return tsr__cli_usage_error(cmd, "expected a subcommand: verify or report");
  const char *sub = argv[1];
  if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
    tsr__cli_register_help();
    return 0;
  }
  int is_verify = strcmp(sub, "verify") == 0, is_report = strcmp(sub, "report") == 0;
  if (!is_verify && !is_report)
    return tsr__cli_usage_error(cmd, "unknown subcommand '%s': expected verify or report", sub);
  tsr__cli_common c = {0, 0};
  const char *reg = NULL, *quarter = NULL, *out = NULL;
  int rc = 0;
  for (int i = 2; i < argc && !rc; i++) {
    const char *a = argv[i], *v;
    int handled;
    rc = tsr__cli_common_opt(cmd, argc, argv, &i, &c, &handled);
    if (rc || handled) continue;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      tsr__cli_register_help();
      return 0;
    } else if (tsr__cli_is_opt(a, "--register")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--register"))) rc = TSR_CLI_USAGE;
      else reg = v;
    } else if (is_report && tsr__cli_is_opt(a, "--quarter")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--quarter"))) rc = TSR_CLI_USAGE;
      else quarter = v;
    } else if (is_report && tsr__cli_is_opt(a, "--out")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--out"))) rc = TSR_CLI_USAGE;
      else out = v;
    } else {
      rc = tsr__cli_usage_error(cmd, "unknown option '%s' for register %s", a, sub);
    }
  }
  if (rc) return rc;
  if (!reg || !*reg) return tsr__cli_usage_error(cmd, "register %s needs --register FILE", sub);
  tsr_error err;
  tsr_error_clear(&err);
  uint64_t n = 0;
  if (is_verify) {
    char head[65];
    int r = tsr__register_verify_head(reg, &n, head, &err);
    if (r) return tsr__cli_fail(&err, r);
    printf("register %s verified: %llu entries, head sha256 %s\n", reg, (unsigned long long)n, head);
    return 0;
  }
  if (!quarter || !*quarter) return tsr__cli_usage_error(cmd, "register report needs --quarter YYYYQn (e.g. 2026Q3)");
  int year, q;
  if (tsr__register_quarter_parse(quarter, &year, &q, &err)) return tsr__cli_usage_error(cmd, "--quarter: %s", err.msg);
  if (!out || !*out) return tsr__cli_usage_error(cmd, "register report needs --out DIR");
  uint64_t inq = 0;
  int r = tsr__register_report_n(reg, quarter, out, &inq, &n, &err);
  if (r) return tsr__cli_fail(&err, r);
  if (!c.quiet)
    fprintf(stderr, "tessera register: %llu of %llu releases in %s; wrote %s/release_register_%s.csv and .html\n",
            (unsigned long long)inq, (unsigned long long)n, quarter, out, quarter);
  return 0;
}
