/* The tessera command: a thin layer over libtessera. main() only dispatches
 * to one subcommand (cmd_*.c); option parsing and error printing live in
 * args.c. Errors print as "tessera: error: ..." with file:line:col where
 * known, and the exit status is 0 (success), 1 (the work failed) or 2 (the
 * command line was wrong). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "tessera/common.h"

/* OpenMP wait policy.
 *
 * DESIGN
 *   libgomp's default lets a thread that reaches a barrier first spin for up
 *   to 300,000 rounds before it sleeps. On a machine whose cores are busy
 *   with other work, the thread it waits for is often not running, so the
 *   spinning burns the time slice that thread needs. Linking 1,000 rows at
 *   --threads 2 with both cores loaded (bench/omp_wait.sh, 20 runs): 0.03 s
 *   to 1.16 s, median 0.17; with the passive policy 0.01 s to 0.07 s, median
 *   0.014. On an idle machine the 1M-patient link at --threads 2 takes the
 *   same time with either policy (stage medians within 3% over six runs of
 *   each: bench/omp_idle.sh, docs/benchmarks.md).
 *
 *   libgomp reads its environment once, in its own constructor, which runs
 *   before main(), so setenv() in main() is too late. The executable's
 *   .preinit_array runs before libgomp's constructor, but libc's own
 *   constructor then resets environ to the process's original array, so
 *   an entry added there is lost (tried). What works: when the user set
 *   neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT, a subcommand re-executes
 *   the binary once (/proc/self/exe, same argv and pid) with
 *   OMP_WAIT_POLICY=passive set; the second start sees it set and runs on.
 *   A user's own setting is kept, and --threads 1 (or a one-core machine)
 *   needs no exec. If the exec fails (no /proc), the run goes on with
 *   libgomp's default. The exec costs one more process start: 1.4 ms on
 *   the test machine (2.1 ms for a start without it). Linking libgomp
 *   statically would let a constructor with a priority set the variable
 *   before libgomp reads it, with no exec; that is a build change
 *   (CMakeLists.txt), not made here. */
static void wait_policy_passive(int argc, char **argv) {
  if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
  /* one thread never waits at a barrier: no need to pay for the exec */
  if (sysconf(_SC_NPROCESSORS_ONLN) == 1) return;
  for (int i = 2; i < argc; i++)
    if ((strcmp(argv[i], "--threads") == 0 && i + 1 < argc && strcmp(argv[i + 1], "1") == 0) ||
        strcmp(argv[i], "--threads=1") == 0)
      return;
  if (setenv("OMP_WAIT_POLICY", "passive", 1)) return;
  execv("/proc/self/exe", argv);
}

static void print_help(void) {
  printf("tessera %s - high-throughput record linkage for GP and hospital data\n\n"
         "Usage: tessera <command> [options]\n\n"
         "Commands:\n"
         "  generate   write a synthetic GP + hospital data set with ground truth\n"
         "  inspect    ingest a run configuration's sources and profile them\n"
         "  link       link the sources into patients; write Parquet and a report\n"
         "  train      estimate a probabilistic model (lambda, u, m) and save it as JSON\n"
         "  evaluate   score a run's links against ground truth\n"
         "  extract    write a research extract of a run under a data-sharing agreement\n"
         "  keygen     write a new random pseudonym key (mode 0600) for one agreement\n"
         "  register   verify a release register, or write its quarterly report\n"
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
    if (argc >= 3 && strcmp(argv[2], "train") == 0) {
      tsr__cli_train_help();
      return 0;
    }
    if (argc >= 3 && strcmp(argv[2], "evaluate") == 0) {
      tsr__cli_evaluate_help();
      return 0;
    }
    if (argc >= 3 && strcmp(argv[2], "extract") == 0) {
      tsr__cli_extract_help();
      return 0;
    }
    if (argc >= 3 && strcmp(argv[2], "keygen") == 0) {
      tsr__cli_keygen_help();
      return 0;
    }
    if (argc >= 3 && strcmp(argv[2], "register") == 0) {
      tsr__cli_register_help();
      return 0;
    }
    if (argc >= 3) return tsr__cli_usage_error(NULL, "no help for unknown command '%s'", argv[2]);
    print_help();
    return 0;
  }
  if (strcmp(cmd, "generate") == 0 || strcmp(cmd, "inspect") == 0 || strcmp(cmd, "link") == 0 ||
      strcmp(cmd, "evaluate") == 0 || strcmp(cmd, "train") == 0)
    wait_policy_passive(argc, argv);
  if (strcmp(cmd, "generate") == 0) return tsr__cli_generate(argc - 1, argv + 1);
  if (strcmp(cmd, "inspect") == 0) return tsr__cli_inspect(argc - 1, argv + 1);
  if (strcmp(cmd, "link") == 0) return tsr__cli_link(argc - 1, argv + 1);
  if (strcmp(cmd, "train") == 0) return tsr__cli_train(argc - 1, argv + 1);
  if (strcmp(cmd, "evaluate") == 0) return tsr__cli_evaluate(argc - 1, argv + 1);
  if (strcmp(cmd, "extract") == 0) return tsr__cli_extract(argc - 1, argv + 1);
  if (strcmp(cmd, "keygen") == 0) return tsr__cli_keygen(argc - 1, argv + 1);
  if (strcmp(cmd, "register") == 0) return tsr__cli_register(argc - 1, argv + 1);
  return tsr__cli_usage_error(NULL, "unknown command '%s'", cmd);
}
