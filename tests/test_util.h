/* Small helpers shared by the C tests: scratch folders that are removed
 * when the test process ends. */
#ifndef TSR_TEST_UTIL_H
#define TSR_TEST_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tsr_test_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Removes a folder tree; quiet on errors. */
static inline void tsr_test_rmtree(const char *dir) { nftw(dir, tsr_test_rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

#define TSR_TEST_MAX_DIRS 32
static char *tsr_test_dirs[TSR_TEST_MAX_DIRS];
static int tsr_test_ndirs;

static void tsr_test_cleanup(void) {
  for (int i = 0; i < tsr_test_ndirs; i++) {
    tsr_test_rmtree(tsr_test_dirs[i]);
    free(tsr_test_dirs[i]);
  }
  tsr_test_ndirs = 0;
}

/* A new folder under /tmp, removed at exit. The caller must not free it. */
static inline char *tsr_test_tmpdir(const char *tag) {
  char *d = malloc(256);
  if (!d) return NULL;
  snprintf(d, 256, "/tmp/tsr_%s_XXXXXX", tag);
  if (!mkdtemp(d)) {
    free(d);
    return NULL;
  }
  if (tsr_test_ndirs == 0) atexit(tsr_test_cleanup);
  if (tsr_test_ndirs < TSR_TEST_MAX_DIRS) tsr_test_dirs[tsr_test_ndirs++] = d;
  return d;
}

#endif
