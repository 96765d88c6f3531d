/* The tessera command: a thin layer over libtessera. main() only dispatches
 * to one subcommand (cmd_*.c); option parsing and error printing live in
 * args.c. Errors print as "tessera: error: ..." with file:line:col where
 * known, and the exit status is 0 (success), 1 (the work failed) or 2 (the
 * command line was wrong). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "tessera/common.h"

static void print_help(void) {
  printf("tessera %s - high-throughput record linkage for GP and hospital data\n\n"
         "Usage: tessera <command> [options]\n\n"
         "Commands:\n"
         "  generate   write a synthetic GP + hospital data set with ground truth\n"
         "  inspect    ingest a run configuration's sources and profile them\n"
         "  link       link the sources into patients; write Parquet and a report\n"
         "  evaluate   score a run's links against ground truth\n"
         "  help       show help for a command: tessera help generate\n\n"
         "Options for every command:\n"
         "  --threads N   worker threads (default: all cores)\n"
         "  --memory-limit SIZE  fail with a clear error instead of using more than SIZE\n"
         "                (e.g. 12G, 500M) for the engine's data\n"
         "  --quiet, -q   only warnings and errors on stderr; no progress bar\n"
         "  --help, -h    help for the command\n"
         "  --version     print the version\n",
         tsr_version());
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_help();
    return TSR_CLI_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("tessera %s\n", tsr_version());
    return 0;
  }
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    if (argc >= 3 && strcmp(argv[2], "generate") == 0) {
      tsr__cli_generate_help();
      return 0;
    }
    if (argc >= 3 && strcmp(argv[2], "inspect") == 0) {
      tsr__cli_inspect_help();
      return 0;
    }
    if (argc >= 3 && strcmp(argv[2], "link") == 0) {
      tsr__cli_link_help();
      return 0;
    }
    if (argc >= 3 && strcmp(argv[2], "evaluate") == 0) {
      tsr__cli_evaluate_help();
      return 0;
    }
    if (argc >= 3) return tsr__cli_usage_error(NULL, "no help for unknown command '%s'", argv[2]);
    print_help();
    return 0;
  }
  if (strcmp(cmd, "generate") == 0) return tsr__cli_generate(argc - 1, argv + 1);
  if (strcmp(cmd, "inspect") == 0) return tsr__cli_inspect(argc - 1, argv + 1);
  if (strcmp(cmd, "link") == 0) return tsr__cli_link(argc - 1, argv + 1);
  if (strcmp(cmd, "evaluate") == 0) return tsr__cli_evaluate(argc - 1, argv + 1);
  return tsr__cli_usage_error(NULL, "unknown command '%s'", cmd);
}
