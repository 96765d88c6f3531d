/* Option parsing for the tessera command's subcommands: usage errors, failure
 * messages (with the memory-limit explanation), whole numbers, the options
 * every command takes (--threads, --quiet, --memory-limit) and the
 * "--name VALUE" / "--name=VALUE" forms. main.c dispatches to the cmd_*.c
 * files; they and main.c call these helpers, and these helpers call neither,
 * so the CLI has no circle. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "tessera/common.h"

int tsr__cli_usage_error(const char *cmd, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "tessera%s%s: error: %s\n", cmd ? " " : "", cmd ? cmd : "", msg);
  fprintf(stderr, "Try 'tessera help%s%s'.\n", cmd ? " " : "", cmd ? cmd : "");
  return TSR_CLI_USAGE;
}

int tsr__cli_fail(const tsr_error *err, int rc) {
  char buf[1600];
  if (err && err->msg[0])
    tsr_error_format(err, buf, sizeof buf);
  else
    snprintf(buf, sizeof buf, "%s", tsr_strerror(rc));
  fprintf(stderr, "tessera: error: %s\n", buf);
  if (tsr_memory_refused())
    fprintf(stderr,
            "tessera: error: the memory limit of %.2f GB (--memory-limit) was reached: %.3f GB were in use when "
            "%.3f MB more was asked for. Raise the limit, or run fewer records at once.\n",
            (double)tsr_memory_limit() / 1e9, (double)tsr_memory_refused_at() / 1e9, (double)tsr_memory_refused() / 1e6);
  return TSR_CLI_FAIL;
}

int tsr__cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (!s || !*s) return tsr__cli_usage_error(cmd, "%s needs a value", opt);
  if (s[0] == '-')
    return tsr__cli_usage_error(cmd, "%s: expected a whole number from %llu to %llu, got '%s'", opt,
                                (unsigned long long)lo, (unsigned long long)hi, s);
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || end == s || v < lo || v > hi)
    return tsr__cli_usage_error(cmd, "%s: expected a whole number from %llu to %llu, got '%s'", opt,
                                (unsigned long long)lo, (unsigned long long)hi, s);
  *out = v;
  return 0;
}

int tsr__cli_common_opt(const char *cmd, int argc, char **argv, int *i, tsr__cli_common *c, int *handled) {
  const char *a = argv[*i];
  *handled = 1;
  if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
    c->quiet = 1;
    tsr_log_set_level(TSR_LOG_WARN);
    return 0;
  }
  if (strcmp(a, "--threads") == 0 || strncmp(a, "--threads=", 10) == 0) {
    const char *v = a[9] == '=' ? a + 10 : (*i + 1 < argc ? argv[++*i] : NULL);
    uint64_t t;
    int rc = tsr__cli_parse_u64(cmd, "--threads", v, 1, 4096, &t);
    if (rc) return rc;
    c->threads = (int)t;
    return 0;
  }
  if (strcmp(a, "--memory-limit") == 0 || strncmp(a, "--memory-limit=", 15) == 0) {
    const char *v = a[14] == '=' ? a + 15 : (*i + 1 < argc ? argv[++*i] : NULL);
    if (!v || !*v) return tsr__cli_usage_error(cmd, "--memory-limit needs a size such as 12G or 500M");
    char *end;
    double x = strtod(v, &end);
    double mult = 1;
    if (*end == 'k' || *end == 'K') mult = 1e3, end++;
    else if (*end == 'm' || *end == 'M') mult = 1e6, end++;
    else if (*end == 'g' || *end == 'G') mult = 1e9, end++;
    else if (*end == 't' || *end == 'T') mult = 1e12, end++;
    if (*end == 'B' || *end == 'b') end++;
    if (*end || !(x > 0) || x * mult < 1e6 || x * mult > 1e15)
      return tsr__cli_usage_error(cmd, "--memory-limit: expected a size from 1M to 1000T such as 12G or 500M, got '%s'", v);
    tsr_memory_limit_set((uint64_t)(x * mult));
    return 0;
  }
  *handled = 0;
  return 0;
}

/* Value of "--name VALUE" or "--name=VALUE"; NULL (and a usage error
 * printed) when it is missing. */
const char *tsr__cli_value(const char *cmd, int argc, char **argv, int *i, const char *name) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (a[n] == '=') return a + n + 1;
  if (*i + 1 >= argc) {
    tsr__cli_usage_error(cmd, "%s needs a value", name);
    return NULL;
  }
  return argv[++*i];
}

int tsr__cli_is_opt(const char *a, const char *name) {
  size_t n = strlen(name);
  return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

int tsr__cli_parse_prob(const char *cmd, const char *opt, const char *s, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v > 0.0 && v < 1.0))
    return tsr__cli_usage_error(cmd, "%s: expected a probability between 0 and 1 (exclusive), got '%s'", opt, s);
  *out = v;
  return 0;
}
