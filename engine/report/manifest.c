/* manifest.json (report.h, "manifest.c"): the run's files with their sizes
 * and SHA-256 (OpenSSL's SHA-256, which uses the CPU's SHA extensions), the
 * config's path and SHA-256, the input files' paths, sizes and SHA-256
 * (inputs.h: `tessera extract` refuses a run whose inputs changed), the
 * version and the command line, so anyone can check later that a run folder
 * is whole and which command made it. Files are listed by name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common_internal.h"
#include "report/inputs.h"
#include "report/report.h"
#include "tessera/version.h"

int tsr__sha256_file(const char *path, char hex[65], uint64_t *bytes, tsr_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
  enum { CHUNK = 1 << 20 };
  unsigned char *buf = tsr__malloc(CHUNK);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!buf || !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    close(fd);
    tsr__free(buf);
    EVP_MD_CTX_free(ctx);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory (SHA-256)");
  }
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
    if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1) {
      rc = tsr_error_set(err, TSR_EINTERNAL, path, 0, 0, "SHA-256 failed");
      break;
    }
    total += (uint64_t)r;
  }
  close(fd);
  tsr__free(buf);
  unsigned char h[EVP_MAX_MD_SIZE];
  unsigned int hl = 0;
  if (!rc && (EVP_DigestFinal_ex(ctx, h, &hl) != 1 || hl != 32))
    rc = tsr_error_set(err, TSR_EINTERNAL, path, 0, 0, "SHA-256 failed");
  EVP_MD_CTX_free(ctx);
  if (rc) return rc;
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    hex[2 * i] = digits[h[i] >> 4];
    hex[2 * i + 1] = digits[h[i] & 15];
  }
  hex[64] = '\0';
  if (bytes) *bytes = total;
  return 0;
}

/* [{name, bytes, sha256}] of the named files of dir; NULL and *rc set on an
 * error. */
static json_t *files_of(const char *dir, const tsr__dir_name *names, size_t n, tsr_error *err, int *rc) {
  json_t *files = json_array();
  for (size_t i = 0; i < n && !*rc; i++) {
    char p[1400], hex[65];
    uint64_t bytes = 0;
    if (tsr__path_join(p, sizeof p, dir, names[i])) {
      *rc = tsr_error_set(err, TSR_ELIMIT, names[i], 0, 0, "path too long");
      break;
    }
    if ((*rc = tsr__sha256_file(p, hex, &bytes, err)) != 0) break;
    json_t *f = json_object();
    json_object_set_new(f, "name", json_string(names[i]));
    json_object_set_new(f, "bytes", json_integer((json_int_t)bytes));
    json_object_set_new(f, "sha256", json_string(hex));
    json_array_append_new(files, f);
  }
  if (*rc) {
    json_decref(files);
    return NULL;
  }
  return files;
}

json_t *tsr__files_json(const char *dir, int (*keep)(const char *name), tsr_error *err, int *rc) {
  tsr__dir_name *names;
  size_t n;
  if ((*rc = tsr__dir_names(dir, keep, &names, &n, err)) != 0) return NULL;
  json_t *files = files_of(dir, names, n, err, rc);
  tsr__free(names);
  return files;
}

/* The run's files: temporary names start with '.', and the manifest does not
 * list itself. */
static int is_listed(const char *name) { return name[0] != '.' && strcmp(name, "manifest.json") != 0; }

int tsr__manifest_write(const char *dir, const char *config_path, const char *config_sha256, int argc,
                        const char *const *argv, tsr_error *err) {
  return tsr__manifest_write_inputs(dir, config_path, config_sha256, NULL, 0, argc, argv, err);
}

int tsr__manifest_write_inputs(const char *dir, const char *config_path, const char *config_sha256,
                               const tsr__input_hash *inputs, size_t ninputs, int argc, const char *const *argv,
                               tsr_error *err) {
  int rc = 0;
  json_t *files = tsr__files_json(dir, is_listed, err, &rc);
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
  if (inputs) {
    json_t *in = json_array();
    for (size_t i = 0; i < ninputs; i++) {
      json_t *f = json_object();
      json_object_set_new(f, "source", json_string(inputs[i].source));
      json_object_set_new(f, "path", json_string(inputs[i].path));
      json_object_set_new(f, "bytes", json_integer((json_int_t)inputs[i].bytes));
      json_object_set_new(f, "sha256", json_string(inputs[i].sha256));
      json_array_append_new(in, f);
    }
    json_object_set_new(root, "inputs", in);
  }
  json_object_set_new(root, "files", files);
  rc = tsr__write_json(dir, "manifest.json", root, JSON_INDENT(2) | JSON_PRESERVE_ORDER, err);
  json_decref(root);
  return rc;
}
