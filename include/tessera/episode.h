/* Episodes: hospital episodes grouped into provider spells and continuous
 * inpatient spells (CIPS), and GP registrations merged into periods, all on
 * the LINKED patients of a run (tessera/run.h), never on raw NHS numbers.
 * The rules are DOMAIN.md's "Hospital episodes, spells and continuous
 * inpatient spells"; the config's "episodes" section (tessera/config.h)
 * names the fields. Outputs: episodes.parquet, spells.parquet,
 * cips.parquet and registrations.parquet (docs/config.md, "tessera link"), byte-identical
 * for any thread count.
 *
 * Ownership and threads: a tsr_episodes reads the linkage it was built from
 * (which must outlive it) and is read-only once built; one thread at a time
 * writes it out. */
#ifndef TSR_EPISODE_H
#define TSR_EPISODE_H

#include <stdint.h>

#include "tessera/common.h"
#include "tessera/run.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Counts report.json's "episodes" object carries. */
typedef struct tsr_episode_stats {
  uint64_t episodes;            /* rows of the hospital source */
  uint64_t finished, unfinished;
  uint64_t spells, cips, registrations;
  uint64_t multi_episode_spells;
  uint64_t overlapping_spells;       /* a patient's spell admitted before an earlier spell's discharge */
  uint64_t episodes_after_death;     /* finished episodes starting after an in-hospital death (dismeth 4) */
  uint64_t admidate_disagrees;       /* episodes whose admission date differs from their spell's */
  uint64_t spells_without_practice;  /* no registration period covers the admission date (GP data given) */
  uint64_t registration_overlaps;    /* patients registered at two practices at once */
  uint64_t registration_gaps;        /* gaps between a patient's registration periods */
  uint64_t registrations_skipped;    /* GP rows without practice or start date */
  double seconds;
} tsr_episode_stats;

typedef struct tsr_episodes tsr_episodes;

/* Builds episodes from L per L's config (cfg->episodes.present must hold;
 * TSR_ECONFIG otherwise). threads 0 = the linkage's thread count. Returns 0
 * or TSR_ENOMEM / TSR_ECONFIG with err set; *out owns the result. */
TSR_API int tsr_episodes_build(const tsr_linkage *L, int threads, tsr_episodes **out, tsr_error *err);
/* NULL allowed. */
TSR_API void tsr_episodes_free(tsr_episodes *E);
TSR_API const tsr_episode_stats *tsr_episodes_stats(const tsr_episodes *E);
/* Writes the four Parquet files into dir (output options from the config). */
TSR_API int tsr_episodes_write(const tsr_episodes *E, const char *dir, tsr_error *err);
struct json_t;
/* report.json's "episodes" object, new reference. */
TSR_API int tsr_episodes_json(const tsr_episodes *E, struct json_t **out, tsr_error *err);

#ifdef __cplusplus
}
#endif
#endif
