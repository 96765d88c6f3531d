/* The config parser's small JSON helper: key checks, typed getters and key
 * paths. Every section file reads its JSON through these, so each error
 * names the key path ("sources[1].columns.dob.format: expected ...") in the
 * same words, and an unknown key is always an error. Internal to
 * engine/config/.
 *
 * DESIGN
 *   A tsr__cfg_ctx travels through one parse: the label of the file for
 *   error messages, the caller's error record, and the arena that owns every
 *   string and array of the resulting tsr_config. Getters leave *out
 *   untouched when the key is absent, so callers set the default first and
 *   read the key over it. Every failing getter returns a negative TSR_E*
 *   code with err already filled in. */
#ifndef TSR_CFG_JSON_H
#define TSR_CFG_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "tessera/common.h"

/* Key paths are labels for messages; a longer one is truncated. */
#define TSR__CFG_PATH_MAX 400

typedef struct tsr__cfg_ctx {
  const char *file;   /* label for errors: the config file's path or name */
  tsr_error *err;     /* may be NULL */
  tsr__arena *arena;  /* owns everything the parsed config points to */
} tsr__cfg_ctx;

/* Records "<path>: <message>" (path "" reads "(top level)") as TSR_ECONFIG
 * and returns TSR_ECONFIG. */
int tsr__cfg_fail(tsr__cfg_ctx *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Records "out of memory" and returns TSR_ENOMEM. */
int tsr__cfg_nomem(tsr__cfg_ctx *c);

/* "an object", "a string", ... for "expected X, got <type>" messages. */
const char *tsr__cfg_type_name(const json_t *v);

/* out = path + "." + key (just key at the top level). */
void tsr__cfg_path(char *out, size_t n, const char *path, const char *key);
/* out = path + "[i]". */
void tsr__cfg_path_index(char *out, size_t n, const char *path, size_t i);

/* Fails on the first key of obj outside `allowed` (NULL-terminated), naming
 * its full path and the keys that are allowed. */
int tsr__cfg_check_keys(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *const *allowed);

/* Copies s into the config's arena; NULL (with err set) on OOM. */
char *tsr__cfg_strdup(tsr__cfg_ctx *c, const char *s);
/* n uninitialised bytes from the arena, 8-aligned; NULL (with err set) on
 * OOM. */
void *tsr__cfg_alloc(tsr__cfg_ctx *c, size_t n);

/* Typed getters for obj[key]; path is obj's own path. *out is untouched when
 * the key is absent (get_str fails instead when `required`). The string
 * returned by get_str belongs to the JSON tree: copy it to keep it. */
int tsr__cfg_get_str(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *key, int required,
                     const char **out);
int tsr__cfg_get_bool(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *key, int *out);
/* An integer in [lo, hi]. */
int tsr__cfg_get_uint(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *key, uint64_t lo,
                      uint64_t hi, uint64_t *out);
/* A number in [0, 1]. */
int tsr__cfg_get_share(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *key, double *out);
/* A single ASCII character other than CR/LF; with allow_empty, "" gives '\0'. */
int tsr__cfg_get_char(tsr__cfg_ctx *c, const json_t *obj, const char *path, const char *key, int allow_empty,
                      char *out);

/* 1 if s is a non-empty name of letters, digits, '_' and '-'. */
int tsr__cfg_valid_name(const char *s);

#endif
