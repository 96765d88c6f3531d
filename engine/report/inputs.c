/* The SHA-256 of a run's input files (inputs.h), on one background thread.
 *
 * DESIGN
 *   The hash is sequential per file, so it cannot be split across the
 *   ingest's threads; one extra thread reads each file once more while the
 *   run works (the page cache usually still holds it). At 10M patients that
 *   is 4.3 GB at about 0.8 GB/s with OpenSSL's SHA-256 on this machine, well
 *   inside the run's ingest and linking time. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_internal.h"
#include "report/inputs.h"
#include "report/report.h"

struct tsr__input_hasher {
  pthread_t thread;
  int started, joined;
  tsr__input_hash *list;
  size_t n;
  int rc;
  tsr_error err;
};

static void *run(void *arg) {
  tsr__input_hasher *h = arg;
  for (size_t i = 0; i < h->n && !h->rc; i++)
    h->rc = tsr__sha256_file(h->list[i].path, h->list[i].sha256, &h->list[i].bytes, &h->err);
  return NULL;
}

int tsr__inputs_hash_start(const tsr_config *cfg, tsr__input_hasher **out, tsr_error *err) {
  *out = NULL;
  tsr__input_hasher *h = tsr__calloc(1, sizeof *h);
  if (!h || !(h->list = tsr__calloc(cfg->n_sources ? cfg->n_sources : 1, sizeof *h->list))) {
    tsr__free(h);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  }
  h->n = cfg->n_sources;
  for (size_t i = 0; i < h->n; i++) {
    h->list[i].source = cfg->sources[i].name;
    /* absolute, so the manifest means the same file from any folder */
    char *rp = realpath(cfg->sources[i].path, NULL);
    h->list[i].path = rp ? rp : cfg->sources[i].path;
    h->list[i].owned = rp != NULL;
  }
  if (pthread_create(&h->thread, NULL, run, h) != 0) {
    run(h); /* no thread: hash here */
    h->joined = 1;
  }
  h->started = 1;
  *out = h;
  return 0;
}

int tsr__inputs_hash_join(tsr__input_hasher *h, const tsr__input_hash **list, size_t *n, tsr_error *err) {
  if (!h->joined) {
    pthread_join(h->thread, NULL);
    h->joined = 1;
  }
  if (h->rc) {
    if (err) *err = h->err;
    return h->rc;
  }
  *list = h->list;
  *n = h->n;
  return 0;
}

void tsr__inputs_hash_free(tsr__input_hasher *h) {
  if (!h) return;
  if (h->started && !h->joined) pthread_join(h->thread, NULL);
  for (size_t i = 0; i < h->n; i++)
    if (h->list[i].owned) free((void *)h->list[i].path);
  tsr__free(h->list);
  tsr__free(h);
}
