/* Tessera common public API: export macro, error codes with detail records,
 * logging levels, and small value types shared by every stage.
 *
 * Error model: every fallible function returns 0 (TSR_OK) or a negative
 * TSR_E* code. Functions that read user input also fill a tsr_error detail
 * record (file, line, column, message) when the caller passes one; the CLI
 * prints it as "file:line:col: error: message". */
#ifndef TSR_COMMON_H
#define TSR_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "tessera/version.h"

#if defined(TSR_BUILDING_LIBRARY)
#define TSR_API __attribute__((visibility("default")))
#else
#define TSR_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, description). Values are fixed forever: add, never renumber. */
#define TSR_ERROR_LIST(X)                                   \
  X(OK, 0, "success")                                       \
  X(EINVAL, -1, "invalid argument")                         \
  X(ENOMEM, -2, "out of memory")                            \
  X(EIO, -3, "input/output error")                          \
  X(EPARSE, -4, "malformed input")                          \
  X(ECONFIG, -5, "invalid configuration")                   \
  X(ELIMIT, -6, "limit exceeded")                           \
  X(EUSAGE, -7, "command-line usage error")                 \
  X(EINTERNAL, -8, "internal error")                        \
  X(EREJECTS, -9, "too many rejected rows")

enum tsr_errcode {
#define TSR__ERR_ENUM(name, value, desc) TSR_##name = value,
  TSR_ERROR_LIST(TSR__ERR_ENUM)
#undef TSR__ERR_ENUM
};

/* Human description of a code, e.g. "malformed input". Never NULL. */
TSR_API const char *tsr_strerror(int code);
/* Symbolic name of a code, e.g. "TSR_EPARSE". Never NULL. */
TSR_API const char *tsr_err_name(int code);

/* Detail of the last error from user input. line and column are 1-based;
 * 0 means "not applicable". Plain value type: copy freely. */
typedef struct tsr_error {
  int code;
  uint64_t line;
  uint32_t column;
  char file[512];
  char msg[512];
} tsr_error;

/* Resets e to "no error". NULL allowed (no-op). */
TSR_API void tsr_error_clear(tsr_error *e);
/* Records an error and returns code, so callers can `return tsr_error_set(...)`.
 * e may be NULL (then only the code is returned). file may be NULL. */
TSR_API int tsr_error_set(tsr_error *e, int code, const char *file, uint64_t line, uint32_t column,
                          const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Formats "file:line:col: message" (parts that are unknown are left out) into
 * buf, always NUL-terminated. Returns the length written. */
TSR_API size_t tsr_error_format(const tsr_error *e, char *buf, size_t bufsize);

/* Logging goes to stderr. Default level TSR_LOG_INFO; --quiet sets WARN. */
typedef enum tsr_log_level {
  TSR_LOG_ERROR = 0,
  TSR_LOG_WARN = 1,
  TSR_LOG_INFO = 2,
  TSR_LOG_DEBUG = 3
} tsr_log_level;
TSR_API void tsr_log_set_level(tsr_log_level level);
TSR_API tsr_log_level tsr_log_get_level(void);

/* Memory limit for the engine's own allocations (record stores, keys,
 * blocks, clusters, output buffers; not the private buffers of zstd or
 * jansson, thread stacks or mapped input files). What is counted is what the
 * engine asked for, not the allocator's size class, and capacity reserved
 * ahead counts only once the engine commits to writing it.
 * 0 = none (the default). An allocation that would take the count past the
 * limit fails, so tsr_memory_peak() <= the limit always, and a request that
 * reaches the limit exactly succeeds. The stage returns TSR_ENOMEM, and
 * tsr_memory_refused() is then nonzero (the size refused). Set it before a
 * run starts. Thread-safe. */
TSR_API void tsr_memory_limit_set(uint64_t bytes);
TSR_API uint64_t tsr_memory_limit(void);
/* Bytes the engine holds now, and the most it has held. */
TSR_API uint64_t tsr_memory_in_use(void);
TSR_API uint64_t tsr_memory_peak(void);
/* Size of the last allocation refused by the limit, or 0; and the bytes in
 * use when it was refused (never more than the limit). */
TSR_API uint64_t tsr_memory_refused(void);
TSR_API uint64_t tsr_memory_refused_at(void);

/* Library version string, e.g. "0.1.0". */
TSR_API const char *tsr_version(void);

/* A borrowed byte range; the owner is stated by whoever returns it. */
typedef struct tsr_view {
  const char *ptr;
  uint32_t len;
} tsr_view;

/* NHS number check (DOMAIN.md): 10 digits, not all equal, modulus-11 check
 * digit. Returns 1 when valid, 0 otherwise. Pure; thread-safe. */
TSR_API int tsr_nhs_valid(uint64_t nhs);
/* Check digit for the first 9 digits d[0..8] (each 0-9): 0-9, or 10 when no
 * valid number has this prefix. */
TSR_API int tsr_nhs_check_digit(const uint8_t d[9]);

#ifdef __cplusplus
}
#endif
#endif
