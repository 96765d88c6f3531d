/* The SHA-256 of a run's input files, taken on a background thread while the
 * run ingests them (inputs.c), for manifest.json's "inputs": `tessera
 * extract` re-reads the sources only after checking them against it. */
#ifndef TSR_REPORT_INPUTS_H
#define TSR_REPORT_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "tessera/common.h"
#include "tessera/config.h"

typedef struct tsr__input_hash {
  const char *source; /* borrowed from the config */
  const char *path;   /* absolute when it could be resolved */
  int owned;
  uint64_t bytes;
  char sha256[65];
} tsr__input_hash;

typedef struct tsr__input_hasher tsr__input_hasher;

/* Starts hashing every source file of cfg (which must outlive the hasher). */
int tsr__inputs_hash_start(const tsr_config *cfg, tsr__input_hasher **out, tsr_error *err);
/* Waits for the thread; returns its first error. *list points into h. */
int tsr__inputs_hash_join(tsr__input_hasher *h, const tsr__input_hash **list, size_t *n, tsr_error *err);
/* Joins if needed and frees. NULL allowed. */
void tsr__inputs_hash_free(tsr__input_hasher *h);

/* The files of dir that keep() accepts, as [{name, bytes, sha256}]
 * (manifest.c; extracts list theirs the same way). NULL and *rc set on an
 * error. */
struct json_t;
struct json_t *tsr__files_json(const char *dir, int (*keep)(const char *name), tsr_error *err, int *rc);

/* manifest.json with an "inputs" array (inputs NULL: none). */
int tsr__manifest_write_inputs(const char *dir, const char *config_path, const char *config_sha256,
                               const tsr__input_hash *inputs, size_t ninputs, int argc, const char *const *argv,
                               tsr_error *err);

#endif
