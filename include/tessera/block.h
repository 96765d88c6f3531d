/* Blocking profile: what a configuration's exact rules would compare,
 * before any run (`tessera inspect --blocking`). */
#ifndef TSR_BLOCK_PUBLIC_H
#define TSR_BLOCK_PUBLIC_H

#include <stdio.h>

#include "tessera/config.h"
#include "tessera/ingest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* For each rule of cfg->link, in order: records with a key, blocks, the
 * largest block and its key values, the pairs it emits (a pair counts only
 * for the first rule it satisfies), pairs already emitted by earlier rules,
 * the cumulative total, and blocks over max_block_size. stores holds one
 * store per source, in config order. threads: worker threads, 0 = all
 * cores. Writes text, or a JSON array when json is set, to f. Returns 0 or a
 * negative TSR_E* code (err filled). */
TSR_API int tsr_blocking_profile(const tsr_config *cfg, const tsr_store *const *stores, int threads, int json, FILE *f,
                                 tsr_error *err);

#ifdef __cplusplus
}
#endif
#endif
