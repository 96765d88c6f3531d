/* manifest.json (report.h, "manifest.c"): the run's files with their sizes
 * and SHA-256 (libsodium crypto_hash_sha256), the config's path and SHA-256,
 * the version and the command line, so anyone can check later that a run
 * folder is whole and which command made it. Files are listed by name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common_internal.h"
#include "report/report.h"
#include "tessera/version.h"

int tsr__sha256_file(const char *path, char hex[65], uint64_t *bytes, tsr_error *err) {
  if (sodium_init() < 0) return tsr_error_set(err, TSR_EINTERNAL, NULL, 0, 0, "libsodium failed to initialise");
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
  enum { CHUNK = 1 << 20 };
  unsigned char *buf = tsr__malloc(CHUNK);
  if (!buf) {
    close(fd);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  }
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  uint64_t total = 0;
  int rc = 0;
  for (;;) {
    ssize_t r = read(fd, buf, CHUNK);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = tsr_error_set(err, TSR_EIO, path, 0, 0, "read failed: %s", strerror(errno));
      break;
    }
    if (r == 0) break;
    crypto_hash_sha256_update(&st, buf, (unsigned long long)r);
    total += (uint64_t)r;
  }
  close(fd);
  tsr__free(buf);
  if (rc) return rc;
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, h);
  sodium_bin2hex(hex, 65, h, sizeof h);
  if (bytes) *bytes = total;
  return 0;
}

/* The run's files: temporary names start with '.', and the manifest does not
 * list itself. */
static int is_listed(const char *name) { return name[0] != '.' && strcmp(name, "manifest.json") != 0; }

int tsr__manifest_write(const char *dir, const char *config_path, const char *config_sha256, int argc,
                        const char *const *argv, tsr_error *err) {
  tsr__dir_name *names;
  size_t n;
  int rc = tsr__dir_names(dir, is_listed, &names, &n, err);
  if (rc) return rc;
  json_t *root = json_object();
  json_object_set_new(root, "tessera_version", json_string(tsr_version()));
  json_t *cmd = json_array();
  for (int i = 0; i < argc && argv; i++) json_array_append_new(cmd, json_string(argv[i] ? argv[i] : ""));
  json_object_set_new(root, "command", cmd);
  json_t *c = json_object();
  json_object_set_new(c, "path", config_path ? json_string(config_path) : json_null());
  json_object_set_new(c, "sha256", config_sha256 ? json_string(config_sha256) : json_null());
  json_object_set_new(root, "config", c);
  json_t *files = json_array();
  for (size_t i = 0; i < n && !rc; i++) {
    char p[1400], hex[65];
    uint64_t bytes = 0;
    if (tsr__path_join(p, sizeof p, dir, names[i])) {
      rc = tsr_error_set(err, TSR_ELIMIT, names[i], 0, 0, "path too long");
      break;
    }
    if ((rc = tsr__sha256_file(p, hex, &bytes, err)) != 0) break;
    json_t *f = json_object();
    json_object_set_new(f, "name", json_string(names[i]));
    json_object_set_new(f, "bytes", json_integer((json_int_t)bytes));
    json_object_set_new(f, "sha256", json_string(hex));
    json_array_append_new(files, f);
  }
  json_object_set_new(root, "files", files);
  tsr__free(names);
  if (!rc) rc = tsr__write_json(dir, "manifest.json", root, JSON_INDENT(2) | JSON_PRESERVE_ORDER, err);
  json_decref(root);
  return rc;
}
