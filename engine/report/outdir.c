/* The output folder guard (report.h, "outdir.c"): a run changes its folder
 * only when it succeeds, never mixes its files with another run's, and
 * leaves no temporary file behind on any error path. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common_internal.h"
#include "report/report.h"

#define STAGE_PREFIX ".tessera-run."

/* Every name a run may write (manifest.json included). */
static const char *const run_files[] = {"links.parquet", "patients.parquet", "links.csv",   "patients.csv",
                                        "report.json",   "report.html",      "rejects.csv", "manifest.json",
                                        "pairs.parquet", "model.json",       "episodes.parquet", "spells.parquet",
                                        "cips.parquet",  "registrations.parquet"};
#define N_RUN_FILES (sizeof run_files / sizeof run_files[0])

int tsr__is_run_file(const char *name) {
  for (size_t i = 0; i < N_RUN_FILES; i++)
    if (strcmp(name, run_files[i]) == 0) return 1;
  return 0;
}

static int is_stage_name(const char *name) { return strncmp(name, STAGE_PREFIX, strlen(STAGE_PREFIX)) == 0; }

/* A temporary file of one of a run's outputs (this version's
 * .NAME.XXXXXX.tmp or earlier versions' NAME.PID.tmp). Other temporary-
 * looking names are not ours, so --overwrite never deletes them. */
static int is_run_tmp(const char *name) {
  if (!tsr__is_tmp_name(name)) return 0;
  char base[256];
  size_t n = strlen(name);
  if (n >= sizeof base) return 0;
  const char *end = name + n - 4; /* ".tmp" */
  const char *dot = end - 1;
  while (dot > name && *dot != '.') dot--; /* the dot before XXXXXX or PID */
  const char *start = name[0] == '.' && name + 1 < dot ? name + 1 : name;
  if (dot <= start) return 0;
  memcpy(base, start, (size_t)(dot - start));
  base[dot - start] = '\0';
  return tsr__is_run_file(base);
}

/* A leftover of a run: an output name, a temporary file or a staging folder. */
static int is_leftover(const char *name) { return tsr__is_run_file(name) || is_run_tmp(name) || is_stage_name(name); }

/* Removes the plain files (and symlinks) in a folder, then the folder. Only
 * one level: staging folders hold nothing else. */
static void remove_flat_dir(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    char p[2200];
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      if (tsr__path_join(p, sizeof p, path, e->d_name) == 0) unlink(p);
    }
    closedir(d);
  }
  rmdir(path);
}

/* Lists up to `max` leftover names of dir into a comma-separated text;
 * returns how many there are in all. */
static size_t scan_leftovers(const char *dir, char *list, size_t cap) {
  DIR *d = opendir(dir);
  size_t n = 0, len = 0;
  list[0] = '\0';
  if (!d) return 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!is_leftover(e->d_name)) continue;
    if (n < 6) {
      int w = snprintf(list + len, cap - len, "%s%s", n ? ", " : "", e->d_name);
      if (w > 0 && (size_t)w < cap - len) len += (size_t)w;
    }
    n++;
  }
  closedir(d);
  if (n > 6 && len + 8 < cap) snprintf(list + len, cap - len, ", ...");
  return n;
}

/* The topmost folder of path that does not exist yet, into out ("" when
 * path exists). */
static void first_missing(const char *path, char *out, size_t cap) {
  out[0] = '\0';
  char tmp[1024];
  size_t len = strlen(path);
  if (len >= sizeof tmp) return;
  memcpy(tmp, path, len + 1);
  for (size_t i = 1; i <= len; i++) {
    if (tmp[i] != '/' && tmp[i] != '\0') continue;
    char c = tmp[i];
    tmp[i] = '\0';
    struct stat st;
    if (lstat(tmp, &st) != 0 && errno == ENOENT) {
      snprintf(out, cap, "%s", tmp);
      return;
    }
    tmp[i] = c;
  }
}

int tsr__outdir_open(tsr__outdir *o, const char *dir, int overwrite, tsr_error *err) {
  memset(o, 0, sizeof *o);
  o->overwrite = overwrite;
  size_t len = strlen(dir);
  while (len > 1 && dir[len - 1] == '/') len--;
  if (len == 0 || len >= sizeof o->dir) return tsr_error_set(err, TSR_EINVAL, dir, 0, 0, "bad output folder path");
  memcpy(o->dir, dir, len);
  o->dir[len] = '\0';
  struct stat st;
  if (stat(o->dir, &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return tsr_error_set(err, TSR_EIO, o->dir, 0, 0, "not a folder");
    char list[400];
    size_t n = scan_leftovers(o->dir, list, sizeof list);
    if (n && !overwrite)
      return tsr_error_set(err, TSR_EINVAL, o->dir, 0, 0,
                           "the output folder holds another run's files (%s); pass --overwrite to replace that "
                           "run, or choose another folder",
                           list);
  } else {
    first_missing(o->dir, o->created, sizeof o->created);
  }
  int rc = tsr__mkdirs(o->dir, err);
  if (rc) {
    tsr__outdir_abort(o);
    return rc;
  }
  if (tsr__path_join(o->stage, sizeof o->stage, o->dir, STAGE_PREFIX "XXXXXX")) {
    tsr__outdir_abort(o);
    return tsr_error_set(err, TSR_ELIMIT, o->dir, 0, 0, "output path too long");
  }
  if (!mkdtemp(o->stage)) {
    int e = errno;
    tsr__outdir_abort(o);
    return tsr_error_set(err, TSR_EIO, o->dir, 0, 0, "cannot create a staging folder: %s", strerror(e));
  }
  o->staged = 1;
  return 0;
}

/* Removes one leftover of the old run by name (a staging folder of a killed
 * run, or a file). Names come from a folder listing or the old manifest, so
 * anything holding a '/' or naming the folder itself is ignored. */
static void remove_old(const tsr__outdir *o, const char *name) {
  if (!name[0] || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return;
  char p[2200];
  if (tsr__path_join(p, sizeof p, o->dir, name)) return;
  if (strcmp(p, o->stage) == 0) return;
  struct stat st;
  if (lstat(p, &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    if (is_stage_name(name)) remove_flat_dir(p);
  } else {
    unlink(p);
  }
}

/* --overwrite: removes the old run (its manifest first, so that a folder is
 * never described by a manifest that no longer fits it). */
static void remove_old_run(const tsr__outdir *o) {
  char mpath[1100];
  if (tsr__path_join(mpath, sizeof mpath, o->dir, "manifest.json") == 0) {
    json_t *m = json_load_file(mpath, 0, NULL);
    unlink(mpath);
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(m, "files"), i, f) {
      const char *nm = json_string_value(json_object_get(f, "name"));
      if (nm) remove_old(o, nm);
    }
    json_decref(m);
  }
  tsr__dir_name *names;
  size_t n;
  if (tsr__dir_names(o->dir, is_leftover, &names, &n, NULL)) return;
  for (size_t i = 0; i < n; i++) remove_old(o, names[i]);
  tsr__free(names);
}

int tsr__outdir_commit(tsr__outdir *o, tsr_error *err) {
  if (!o->staged) return tsr_error_set(err, TSR_EINTERNAL, o->dir, 0, 0, "no staging folder");
  /* the new files, sorted, manifest.json last */
  tsr__dir_name *names;
  size_t n;
  int rc = tsr__dir_names(o->stage, NULL, &names, &n, err);
  if (rc) return rc;
  if (o->overwrite) remove_old_run(o);
  int has_manifest = 0;
  for (size_t i = 0; i <= n && !rc; i++) {
    const char *nm;
    if (i < n) {
      nm = names[i];
      if (strcmp(nm, "manifest.json") == 0) {
        has_manifest = 1;
        continue;
      }
    } else {
      if (!has_manifest) break;
      nm = "manifest.json";
    }
    char from[2200], to[1300];
    if (tsr__path_join(from, sizeof from, o->stage, nm) || tsr__path_join(to, sizeof to, o->dir, nm)) {
      rc = tsr_error_set(err, TSR_ELIMIT, nm, 0, 0, "output path too long");
    } else if (rename(from, to) != 0) {
      rc = tsr_error_set(err, TSR_EIO, to, 0, 0, "cannot move into place: %s", strerror(errno));
    }
  }
  tsr__free(names);
  if (rc) return rc; /* the caller aborts: the rest of the staging folder goes */
  rmdir(o->stage);
  o->staged = 0;
  o->created[0] = '\0'; /* the folder is the run's now */
  return 0;
}

void tsr__outdir_abort(tsr__outdir *o) {
  if (o->staged) {
    remove_flat_dir(o->stage);
    o->staged = 0;
  }
  if (!o->created[0]) return;
  /* rmdir from the run folder up to the topmost folder the run created;
   * rmdir refuses anything that is not empty */
  char p[1024];
  snprintf(p, sizeof p, "%s", o->dir);
  size_t top = strlen(o->created);
  for (;;) {
    if (rmdir(p) != 0) break;
    if (strlen(p) <= top) break;
    char *slash = strrchr(p, '/');
    if (!slash || slash == p) break;
    *slash = '\0';
    while (slash > p + 1 && slash[-1] == '/') *--slash = '\0';
  }
  o->created[0] = '\0';
}
