/* Shared pieces of the tessera command's subcommands.
 *
 * DESIGN
 *   Calls go one way, so the CLI has no circle:
 *
 *     main.c ──> cmd_generate.c, cmd_inspect.c, cmd_link.c, cmd_evaluate.c
 *        │                  │
 *        └───────┬──────────┘
 *                v
 *             args.c  (option parsing and error printing; calls neither)
 */
#ifndef TSR_CLI_H
#define TSR_CLI_H

#include <stdarg.h>
#include <stdint.h>

#include "tessera/common.h"

enum { TSR_CLI_OK = 0, TSR_CLI_FAIL = 1, TSR_CLI_USAGE = 2 };

typedef struct tsr__cli_common {
  int threads; /* 0 = default */
  int quiet;
} tsr__cli_common;

/* Option parsing (args.c). */

/* Prints "tessera CMD: error: ..." and a hint; returns TSR_CLI_USAGE. */
int tsr__cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the error detail; returns TSR_CLI_FAIL. */
int tsr__cli_fail(const tsr_error *err, int rc);
int tsr__cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/* Handles --threads/--quiet at argv[*i]; *handled says whether it did. */
int tsr__cli_common_opt(const char *cmd, int argc, char **argv, int *i, tsr__cli_common *c, int *handled);
const char *tsr__cli_value(const char *cmd, int argc, char **argv, int *i, const char *name);
int tsr__cli_is_opt(const char *a, const char *name);

/* Subcommands (cmd_*.c), called only by main.c. */
int tsr__cli_generate(int argc, char **argv);
void tsr__cli_generate_help(void);
int tsr__cli_inspect(int argc, char **argv);
void tsr__cli_inspect_help(void);
int tsr__cli_link(int argc, char **argv);
void tsr__cli_link_help(void);
int tsr__cli_train(int argc, char **argv);
void tsr__cli_train_help(void);
/* A match probability in (0, 1) from an option's text: 0, or TSR_CLI_USAGE. */
int tsr__cli_parse_prob(const char *cmd, const char *opt, const char *s, double *out);
int tsr__cli_evaluate(int argc, char **argv);
void tsr__cli_evaluate_help(void);
int tsr__cli_extract(int argc, char **argv);
void tsr__cli_extract_help(void);
int tsr__cli_keygen(int argc, char **argv);
void tsr__cli_keygen_help(void);
int tsr__cli_register(int argc, char **argv);
void tsr__cli_register_help(void);

#endif
