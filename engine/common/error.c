/* Error codes, error detail records, version string and logging. The code
 * table comes from the single X-macro list in tessera/common.h. */
#include <stdio.h>
#include <string.h>

#include "common/common_internal.h"

const char *tsr_strerror(int code) {
  switch (code) {
#define TSR__ERR_DESC(name, value, desc) \
  case value:                            \
    return desc;
    TSR_ERROR_LIST(TSR__ERR_DESC)
#undef TSR__ERR_DESC
  default:
    return "unknown error";
  }
}

const char *tsr_err_name(int code) {
  switch (code) {
#define TSR__ERR_NAME(name, value, desc) \
  case value:                            \
    return "TSR_" #name;
    TSR_ERROR_LIST(TSR__ERR_NAME)
#undef TSR__ERR_NAME
  default:
    return "TSR_EUNKNOWN";
  }
}

void tsr_error_clear(tsr_error *e) {
  if (!e) return;
  memset(e, 0, sizeof *e);
}

int tsr_error_set(tsr_error *e, int code, const char *file, uint64_t line, uint32_t column,
                  const char *fmt, ...) {
  if (!e) return code;
  e->code = code;
  e->line = line;
  e->column = column;
  e->file[0] = '\0';
  if (file) snprintf(e->file, sizeof e->file, "%s", file);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return code;
}

size_t tsr_error_format(const tsr_error *e, char *buf, size_t bufsize) {
  if (!buf || bufsize == 0) return 0;
  buf[0] = '\0';
  if (!e) return 0;
  int n = 0;
  if (e->file[0] && e->line && e->column)
    n = snprintf(buf, bufsize, "%s:%llu:%u: %s", e->file, (unsigned long long)e->line, e->column, e->msg);
  else if (e->file[0] && e->line)
    n = snprintf(buf, bufsize, "%s:%llu: %s", e->file, (unsigned long long)e->line, e->msg);
  else if (e->file[0])
    n = snprintf(buf, bufsize, "%s: %s", e->file, e->msg);
  else
    n = snprintf(buf, bufsize, "%s", e->msg[0] ? e->msg : tsr_strerror(e->code));
  if (n < 0) return 0;
  return (size_t)n < bufsize ? (size_t)n : bufsize - 1;
}

const char *tsr_version(void) { return TSR_VERSION_STRING; }

static tsr_log_level g_level = TSR_LOG_INFO;

void tsr_log_set_level(tsr_log_level level) { g_level = level; }
tsr_log_level tsr_log_get_level(void) { return g_level; }

void tsr__log(tsr_log_level level, const char *fmt, ...) {
  if (level > g_level) return;
  static const char *const tag[] = {"error", "warning", "info", "debug"};
  char line[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  /* One fputs per line keeps lines whole when several threads log. */
  char out[2100];
  snprintf(out, sizeof out, "tessera: %s: %s\n", tag[level], line);
  fputs(out, stderr);
}
