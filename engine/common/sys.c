/* Operating-system helpers: time, peak memory, folders, atomic output files
 * under unpredictable temporary names, and the stderr progress bar. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/common_internal.h"

double tsr__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint64_t tsr__peak_rss(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (uint64_t)ru.ru_maxrss * 1024u; /* Linux reports KiB */
}

int tsr__path_join(char *out, size_t n, const char *dir, const char *name) {
  int w = (dir && dir[0] && name[0] != '/') ? snprintf(out, n, "%s/%s", dir, name) : snprintf(out, n, "%s", name);
  if (w < 0 || (size_t)w >= n) return TSR_ELIMIT;
  return 0;
}

int tsr__mkdirs(const char *path, tsr_error *err) {
  char tmp[1024];
  size_t len = strlen(path);
  if (len == 0 || len >= sizeof tmp) return tsr_error_set(err, TSR_EINVAL, path, 0, 0, "bad folder path");
  memcpy(tmp, path, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (tmp[i] == '/' || tmp[i] == '\0') {
      char c = tmp[i];
      tmp[i] = '\0';
      if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
        return tsr_error_set(err, TSR_EIO, tmp, 0, 0, "cannot create folder: %s", strerror(errno));
      tmp[i] = c;
    }
  }
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
    return tsr_error_set(err, TSR_EIO, path, 0, 0, "not a folder");
  if (access(path, W_OK) != 0)
    return tsr_error_set(err, TSR_EIO, path, 0, 0, "folder is not writable: %s", strerror(errno));
  return 0;
}

/* Random name letters from libsodium's CSPRNG, so a temporary name cannot be
 * guessed in advance (defect 11: a predictable name let a planted symlink
 * redirect the write). */
static const char tmp_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

int tsr__create_new(const char *path) {
  /* O_EXCL: never an existing file, and never through a symlink, dangling or
   * not; O_NOFOLLOW says the same for systems that bend O_EXCL. Mode 0666 is
   * narrowed by the umask, as for any new file. */
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  return fd >= 0 ? fd : -errno;
}

int tsr__tmp_name(char *out, size_t n, const char *dir, const char *name, tsr_error *err) {
  if (sodium_init() < 0) return tsr_error_set(err, TSR_EINTERNAL, NULL, 0, 0, "libsodium failed to initialise");
  unsigned char rnd[TSR__TMP_LETTERS];
  randombytes_buf(rnd, sizeof rnd);
  char letters[TSR__TMP_LETTERS + 1];
  for (size_t i = 0; i < TSR__TMP_LETTERS; i++) letters[i] = tmp_alphabet[rnd[i] % (sizeof tmp_alphabet - 1)];
  letters[TSR__TMP_LETTERS] = '\0';
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  char leaf[512];
  int w = snprintf(leaf, sizeof leaf, "%.*s.%s.%s.tmp", (int)(base - name), name, base, letters);
  if (w < 0 || (size_t)w >= sizeof leaf || tsr__path_join(out, n, dir, leaf))
    return tsr_error_set(err, TSR_ELIMIT, name, 0, 0, "output path too long");
  return 0;
}

int tsr__is_tmp_name(const char *name) {
  size_t n = strlen(name);
  if (n < 5 || strcmp(name + n - 4, ".tmp") != 0) return 0;
  const char *end = name + n - 4; /* the dot before "tmp" */
  /* .<name>.XXXXXX.tmp (this version) */
  if (name[0] == '.' && (size_t)(end - name) > TSR__TMP_LETTERS + 2 && end[-TSR__TMP_LETTERS - 1] == '.') {
    int ok = 1;
    for (const char *p = end - TSR__TMP_LETTERS; p < end && ok; p++) ok = strchr(tmp_alphabet, *p) != NULL && *p;
    if (ok) return 1;
  }
  /* <name>.<pid>.tmp (earlier versions) */
  const char *p = end;
  while (p > name && p[-1] >= '0' && p[-1] <= '9') p--;
  return p < end && p > name + 1 && p[-1] == '.';
}

int tsr__outfile_open(tsr__outfile *f, const char *dir, const char *name, tsr_error *err) {
  memset(f, 0, sizeof *f);
  f->fd = -1;
  if (tsr__path_join(f->path, sizeof f->path, dir, name))
    return tsr_error_set(err, TSR_ELIMIT, name, 0, 0, "output path too long");
  for (int attempt = 0; attempt < 100; attempt++) {
    TSR_FORWARD_IF_ERROR(tsr__tmp_name(f->tmp, sizeof f->tmp, dir, name, err));
    int fd = tsr__create_new(f->tmp);
    if (fd >= 0) {
      f->fd = fd;
      return 0;
    }
    if (fd != -EEXIST) return tsr_error_set(err, TSR_EIO, f->tmp, 0, 0, "cannot create file: %s", strerror(-fd));
  }
  return tsr_error_set(err, TSR_EIO, f->path, 0, 0, "cannot create a temporary file next to it: every name tried exists");
}

int tsr__outfile_pwrite(tsr__outfile *f, const void *data, size_t n, uint64_t off, tsr_error *err) {
  const char *p = data;
  while (n > 0) {
    ssize_t w = pwrite(f->fd, p, n, (off_t)off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return tsr_error_set(err, TSR_EIO, f->tmp, 0, 0, "write failed: %s", w < 0 ? strerror(errno) : "no progress");
    p += w;
    n -= (size_t)w;
    off += (uint64_t)w;
  }
  return 0;
}

int tsr__outfile_write(tsr__outfile *f, const void *data, size_t n, tsr_error *err) {
  return tsr__outfile_pwrite(f, data, n, tsr__outfile_reserve(f, n), err);
}

int tsr__outfile_commit(tsr__outfile *f, tsr_error *err) {
  int fd = f->fd;
  f->fd = -1;
  if (fd < 0) return tsr_error_set(err, TSR_EINTERNAL, f->path, 0, 0, "file not open");
  if (close(fd) != 0) {
    int e = errno;
    unlink(f->tmp);
    return tsr_error_set(err, TSR_EIO, f->tmp, 0, 0, "write failed: %s", strerror(e));
  }
  if (rename(f->tmp, f->path) != 0) {
    int e = errno;
    unlink(f->tmp);
    return tsr_error_set(err, TSR_EIO, f->path, 0, 0, "cannot rename into place: %s", strerror(e));
  }
  return 0;
}

void tsr__outfile_abort(tsr__outfile *f) {
  if (f->fd >= 0) {
    close(f->fd);
    f->fd = -1;
    unlink(f->tmp);
  }
}

/* --- progress bar ------------------------------------------------------------ */
void tsr__progress_start(tsr__progress *p, const char *label, uint64_t total) {
  p->label = label;
  p->total = total ? total : 1;
  p->done = 0;
  p->t0 = tsr__now();
  p->last_draw = 0;
  p->active = tsr_log_get_level() >= TSR_LOG_INFO && isatty(STDERR_FILENO);
}

static void progress_draw(tsr__progress *p, double now) {
  double frac = (double)p->done / (double)p->total;
  if (frac > 1.0) frac = 1.0;
  int width = 30, fill = (int)(frac * width);
  char bar[32];
  for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
  bar[width] = '\0';
  double el = now - p->t0;
  double eta = frac > 0.0 ? el / frac - el : 0.0;
  fprintf(stderr, "\r%-10s [%s] %5.1f%%  %6.1fs  eta %5.1fs ", p->label, bar, frac * 100.0, el, eta);
  fflush(stderr);
}

void tsr__progress_update(tsr__progress *p, uint64_t done) {
  p->done = done;
  if (!p->active) return;
  double now = tsr__now();
  if (now - p->last_draw < 0.1) return;
  p->last_draw = now;
  progress_draw(p, now);
}

void tsr__progress_finish(tsr__progress *p) {
  if (!p->active) return;
  p->done = p->total;
  progress_draw(p, tsr__now());
  fputc('\n', stderr);
  p->active = false;
}

int tsr__write_file(const char *dir, const char *name, const void *data, size_t n, tsr_error *err) {
  tsr__outfile f;
  int rc = tsr__outfile_open(&f, dir, name, err);
  if (rc) return rc;
  rc = tsr__outfile_write(&f, data, n, err);
  if (rc) {
    tsr__outfile_abort(&f);
    return rc;
  }
  return tsr__outfile_commit(&f, err);
}

static int cmp_dir_name(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

int tsr__dir_names(const char *dir, int (*keep)(const char *name), tsr__dir_name **names, size_t *n, tsr_error *err) {
  *names = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) return tsr_error_set(err, TSR_EIO, dir, 0, 0, "cannot read folder: %s", strerror(errno));
  tsr__dir_name *v = NULL;
  size_t cnt = 0, cap = 0;
  int rc = 0;
  struct dirent *e;
  /* collect first: removing while reading a folder may skip entries */
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (keep && !keep(e->d_name)) continue;
    if (cnt == cap) {
      size_t nc = cap ? 2 * cap : 16;
      tsr__dir_name *nv = tsr__realloc(v, sizeof *v * nc);
      if (!nv) {
        rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
        break;
      }
      v = nv;
      cap = nc;
    }
    snprintf(v[cnt++], sizeof v[0], "%s", e->d_name);
  }
  closedir(d);
  if (rc) {
    tsr__free(v);
    return rc;
  }
  if (cnt) qsort(v, cnt, sizeof *v, cmp_dir_name);
  *names = v;
  *n = cnt;
  return 0;
}
