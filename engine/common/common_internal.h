/* Internal helpers shared by every stage: allocation hooks, error macros,
 * logging, progress and small utilities. Not part of the public API. */
#ifndef TSR_COMMON_INTERNAL_H
#define TSR_COMMON_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tessera/common.h"

/* --- Allocation -------------------------------------------------------------
 * Every engine allocation goes through these, so a host can swap allocators
 * and a run can account for its memory. They return NULL on failure; callers
 * turn that into TSR_ENOMEM. */
void *tsr__malloc(size_t n);
void *tsr__calloc(size_t count, size_t size);
void *tsr__realloc(void *p, size_t n);
void tsr__free(void *p);
/* Capacity filled gradually: tsr__mem_reserve resizes p (NULL: a new block)
 * to cap bytes without counting the new capacity against the memory limit;
 * tsr__mem_commit(p, bytes) counts the first `bytes` before the caller writes
 * them (0, or TSR_ENOMEM when that would pass the limit). Free with
 * tsr__free. tsr__mem_counted gives the bytes counted for p. Never mix these
 * blocks (or any tsr__malloc block) with the C library's free/realloc. */
void *tsr__mem_reserve(void *p, size_t cap);
int tsr__mem_commit(void *p, size_t bytes);
size_t tsr__mem_counted(const void *p);

/* --- Error plumbing ---------------------------------------------------------
 * The happy path reads straight: each macro returns from the function. */
#define TSR_RETURN_IF(cond, errp, code, ...)                                  \
  do {                                                                        \
    if (cond) return tsr_error_set((errp), (code), NULL, 0, 0, __VA_ARGS__);  \
  } while (0)
#define TSR_FORWARD_IF_ERROR(expr)                                            \
  do {                                                                        \
    int tsr__rc_ = (expr);                                                    \
    if (tsr__rc_ < 0) return tsr__rc_;                                        \
  } while (0)

/* --- Logging (stderr) -------------------------------------------------------- */
void tsr__log(tsr_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define TSR_LOG_E(...) tsr__log(TSR_LOG_ERROR, __VA_ARGS__)
#define TSR_LOG_W(...) tsr__log(TSR_LOG_WARN, __VA_ARGS__)
#define TSR_LOG_I(...) tsr__log(TSR_LOG_INFO, __VA_ARGS__)
#define TSR_LOG_D(...) tsr__log(TSR_LOG_DEBUG, __VA_ARGS__)

/* --- Progress bar -------------------------------------------------------------
 * Drawn on stderr only when stderr is a TTY and the log level is INFO or
 * more verbose. Single-threaded use: call update from one thread only. */
typedef struct tsr__progress {
  const char *label;
  uint64_t total;
  uint64_t done;
  double t0;
  double last_draw;
  bool active;
} tsr__progress;
void tsr__progress_start(tsr__progress *p, const char *label, uint64_t total);
void tsr__progress_update(tsr__progress *p, uint64_t done);
void tsr__progress_finish(tsr__progress *p);

/* --- Threads ------------------------------------------------------------------
 * The one rule for a thread count: requested > 0 is taken as it is; 0 (or
 * less) means every core OpenMP may use (omp_get_max_threads, which honours
 * OMP_NUM_THREADS). Every stage resolves its count through this. */
int tsr__threads(int requested);

/* Monotonic wall-clock seconds. */
double tsr__now(void);
/* Peak resident set size of this process in bytes (0 if unknown). */
uint64_t tsr__peak_rss(void);

/* --- Files ----------------------------------------------------------------------- */
/* mkdir -p; returns 0 or TSR_EIO with err naming the path. */
int tsr__mkdirs(const char *path, tsr_error *err);
/* Joins dir and name into out (size n). Returns TSR_ELIMIT if too long. */
int tsr__path_join(char *out, size_t n, const char *dir, const char *name);

/* Output file written under a temporary name and renamed into place only by
 * tsr__outfile_commit, so readers never see a half-written file.
 * tsr__outfile_write appends (one thread); tsr__outfile_pwrite writes at an
 * offset the caller reserved, so several threads can fill disjoint ranges of
 * one file at once (reserve with tsr__outfile_reserve, from one thread). */
typedef struct tsr__outfile {
  int fd; /* -1 when closed */
  uint64_t size; /* bytes appended or reserved so far */
  char path[1024];
  char tmp[1100];
} tsr__outfile;
/* Opens DIR/.NAME.XXXXXX.tmp, a new file (never an existing one, never
 * through a symlink) whose six letters are random, mode 0666 & ~umask. */
int tsr__outfile_open(tsr__outfile *f, const char *dir, const char *name, tsr_error *err);
int tsr__outfile_write(tsr__outfile *f, const void *data, size_t n, tsr_error *err);
static inline uint64_t tsr__outfile_reserve(tsr__outfile *f, size_t n) {
  uint64_t off = f->size;
  f->size += n;
  return off;
}
int tsr__outfile_pwrite(tsr__outfile *f, const void *data, size_t n, uint64_t off, tsr_error *err);
int tsr__outfile_commit(tsr__outfile *f, tsr_error *err);
/* Closes and deletes the temporary file; safe on a closed or zeroed file. */
void tsr__outfile_abort(tsr__outfile *f);

/* Writes data as DIR/NAME in one go (temporary name, then rename). */
int tsr__write_file(const char *dir, const char *name, const void *data, size_t n, tsr_error *err);

/* The names in folder dir for which keep(name) is true (keep NULL: every
 * name but "." and ".."), sorted bytewise, into *names (free with
 * tsr__free; NULL when there are none). Returns 0 or TSR_EIO / TSR_ENOMEM. */
typedef char tsr__dir_name[256];
int tsr__dir_names(const char *dir, int (*keep)(const char *name), tsr__dir_name **names, size_t *n, tsr_error *err);

/* Temporary names: DIR/.NAME.XXXXXX.tmp with TSR__TMP_LETTERS random
 * letters (A-Z, a-z, 0-9) from libsodium's CSPRNG. */
#define TSR__TMP_LETTERS 6
int tsr__tmp_name(char *out, size_t n, const char *dir, const char *name, tsr_error *err);
/* Creates path as a new file for writing: O_CREAT | O_EXCL | O_NOFOLLOW, mode
 * 0666 & ~umask. Returns the descriptor, or -errno (-EEXIST when anything,
 * a symlink included, is already there). */
int tsr__create_new(const char *path);
/* 1 when a file name (no folder) looks like a temporary file of ours: this
 * version's .NAME.XXXXXX.tmp or earlier versions' NAME.PID.tmp. */
int tsr__is_tmp_name(const char *name);

#endif
