/* tessera keygen: writes a new random pseudonym key for one data-sharing
 * agreement (engine/extract/pseudo.h, docs/pseudonyms.md). The key itself
 * is never printed; only the file's name is. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "extract/pseudo.h"

/* Also in cli.h once main.c dispatches keygen; repeated here so this file
 * builds before that patch lands. */
int tsr__cli_keygen(int argc, char **argv);
void tsr__cli_keygen_help(void);

void tsr__cli_keygen_help(void) {
  printf("Usage: tessera keygen --out FILE\n\n"
         "Writes a new random key for the pseudonyms of one data-sharing agreement:\n"
         "32 bytes from the system's CSPRNG as 64 hexadecimal digits and a newline,\n"
         "in a new file of mode 0600 (owner read and write only, whatever the\n"
         "umask). An existing FILE is never overwritten: the pseudonyms made with a\n"
         "key can only be made again with that key. Use one key per agreement, so\n"
         "extracts for different agreements cannot be joined on their pseudonyms.\n"
         "`tessera extract` refuses a key file that group or others may use.\n"
         "Keep the key inside the safe haven, never with an extract; see\n"
         "docs/pseudonyms.md.\n\n"
         "Options:\n"
         "  --out FILE    the key file to create\n"
         "  --quiet, -q   print nothing on success\n");
}

int tsr__cli_keygen(int argc, char **argv) {
  const char *cmd = "keygen";
  tsr__cli_common c = {0, 0};
  const char *out = NULL;
  int rc = 0;
  for (int i = 1; i < argc && !rc; i++) {
    const char *a = argv[i], *v;
    int handled;
    rc = tsr__cli_common_opt(cmd, argc, argv, &i, &c, &handled);
    if (rc || handled) continue;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      tsr__cli_keygen_help();
      return 0;
    } else if (tsr__cli_is_opt(a, "--out")) {
      if (!(v = tsr__cli_value(cmd, argc, argv, &i, "--out"))) rc = TSR_CLI_USAGE;
      else if (!*v) rc = tsr__cli_usage_error(cmd, "--out needs a file name");
      else out = v;
    } else {
      rc = tsr__cli_usage_error(cmd, "unknown option '%s'", a);
    }
  }
  if (rc) return rc;
  if (!out) return tsr__cli_usage_error(cmd, "--out FILE is required");
  tsr_error err;
  tsr_error_clear(&err);
  int r = tsr__key_generate(out, &err);
  if (r) return tsr__cli_fail(&err, r);
  if (!c.quiet) fprintf(stderr, "tessera keygen: wrote a new key to %s (mode 0600)\n", out);
  return 0;
}
