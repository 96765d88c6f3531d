/* Evaluate: scores a run's links.parquet against ground truth (a CSV with
 * columns source, record_id, patient_id, as `tessera generate` writes
 * truth.csv). Records are matched on (source, record_id). The threshold
 * sweep (tsr_evaluate_sweep, below) scores a probabilistic run's
 * pairs.parquet against the same truth.
 *
 * Pairwise measures count pairs of records placed in one cluster:
 * precision = true pairs found / pairs predicted, recall = true pairs found /
 * true pairs. Cluster measures: exact matches (a predicted cluster equal to a
 * true one), splits and merges, and B-cubed precision and recall.
 *
 * Precision judges the link rows whose record is in the truth (others cannot
 * be judged). Recall judges against every truth record: a truth record
 * missing from the links (rejected at ingest, say) is a record the run did
 * not link, so its true pairs count as missed, its true cluster is not an
 * exact match, and for B-cubed it stands alone. */
#ifndef TSR_EVALUATE_H
#define TSR_EVALUATE_H

#include "tessera/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tsr_eval {
  uint64_t records_links;     /* rows in links.parquet */
  uint64_t records_truth;     /* rows in truth */
  uint64_t records_scored;    /* rows in both */
  uint64_t links_not_in_truth;  /* link rows left out: cannot be judged */
  uint64_t truth_not_in_links;  /* truth records missing from the links: missed */
  uint64_t pairs_predicted, pairs_true, pairs_correct;
  uint64_t pairs_true_missing;  /* true pairs with a record missing from the links */
  double precision, recall, f1;
  uint64_t clusters_predicted, clusters_true, clusters_exact; /* clusters_true: all of the truth's */
  uint64_t true_clusters_split;      /* true clusters spread over 2+ predicted ones */
  uint64_t predicted_clusters_merged; /* predicted clusters holding 2+ true ones */
  double cluster_precision, cluster_recall; /* exact / predicted, exact / true */
  double bcubed_precision, bcubed_recall;
  double seconds;
} tsr_eval;

/* Reads both files and fills *out. threads: 0 = all cores. Returns 0,
 * TSR_EIO, TSR_EPARSE (a malformed file, a truth row that cannot be read,
 * a record twice, or no record in both files so that nothing can be scored;
 * err names the file and, for the truth, the line), TSR_ENOMEM. */
TSR_API int tsr_evaluate(const char *links_parquet, const char *truth_csv, int threads, tsr_eval *out,
                         tsr_error *err);


/* --- Threshold sweep over pairs.parquet ---------------------------------------
 * Pairwise precision, recall and F1 of a probabilistic run's scored pairs
 * (DIR/pairs.parquet: source_a, id_a, source_b, id_b, match_weight,
 * match_probability; other columns are ignored) at a grid of match
 * probability thresholds, and the threshold of the best F1.
 *
 * At threshold t a pair is predicted when its match_weight >= log2(t / (1 -
 * t)) (the weight keeps its order where probabilities round to 1.0). Pairs
 * are judged as listed: they are not closed transitively into clusters, so
 * these figures are for the pair scores, not for the run's links.
 *
 * The file holds only the pairs at or above the run's floor. A true pair
 * that is not in the file counts as a false negative at every threshold:
 * recall's denominator is every true pair of the truth (as tsr_evaluate
 * counts them, over every truth record), within the run's sources (when
 * given) and mode: link counts the true pairs across sources only, dedupe
 * those within a source, both all.
 * A pair with a record that is not in the truth cannot be judged and is left
 * out (pairs_not_in_truth); so is a pair outside the mode
 * (pairs_outside_mode: a within-source pair of a link run).
 *
 * With no pair judged (an empty file, or no pair with both records in the
 * truth) nothing can be scored: TSR_EPARSE, as in tsr_evaluate. */
typedef enum tsr_sweep_mode {
  TSR_SWEEP_BOTH = 0,  /* link_and_dedupe: every true pair */
  TSR_SWEEP_LINK = 1,  /* true pairs across sources */
  TSR_SWEEP_DEDUPE = 2 /* true pairs within a source */
} tsr_sweep_mode;

/* "link_and_dedupe", "link", "dedupe" (the config's names). Never NULL. */
TSR_API const char *tsr_sweep_mode_name(tsr_sweep_mode m);
/* The mode named s (as above); 0 or TSR_EINVAL. */
TSR_API int tsr_sweep_mode_parse(const char *s, tsr_sweep_mode *out);

typedef struct tsr_sweep_opts {
  int threads;                /* truth ingest threads; 0 = all cores (default) */
  tsr_sweep_mode mode;        /* default TSR_SWEEP_BOTH */
  const double *thresholds;   /* probabilities in (0, 1), ascending; NULL = the grid below */
  size_t nthresholds;
  double pairs_floor;         /* the run's floor when known, else 0 (default): grid
                                 thresholds below it are left out (their counts
                                 would be the floor's) */
  double at;                  /* one more threshold (e.g. the run's) reported as
                                 `at`; outside (0, 1) = none (default -1) */
  const char *const *sources; /* the run's sources, by name; NULL (default) = every
                                 source of the truth. Truth records of other
                                 sources are left out: their true pairs are not
                                 counted, and a pair with one is not in the truth */
  size_t nsources;
} tsr_sweep_opts;

/* The default grid: 0.01, 0.05, 0.1, 0.2, ..., 0.9, 0.95, 0.99, 0.999, 0.9999. */
#define TSR_SWEEP_GRID_N 15
TSR_API const double *tsr_sweep_grid(void);

TSR_API void tsr_sweep_opts_init(tsr_sweep_opts *o);

typedef struct tsr_sweep_point {
  double threshold;     /* match probability */
  double match_weight;  /* the weight it stands for: log2(t / (1 - t)) */
  uint64_t predicted;   /* judged pairs at or above it */
  uint64_t true_positives;
  double precision;     /* true_positives / predicted; 1 when nothing is predicted */
  double recall;        /* true_positives / true_pairs */
  double f1;            /* 2PR / (P + R); 0 when both are 0 */
} tsr_sweep_point;

typedef struct tsr_sweep {
  char *pairs_file, *truth;     /* copies of the paths */
  tsr_sweep_mode mode;
  double pairs_floor;           /* from the options; 0 = unknown */
  uint64_t records_truth;       /* rows of the truth */
  uint64_t records_other_sources; /* truth rows left out: not of opts.sources */
  uint64_t true_pairs;          /* recall's denominator (mode applied) */
  uint64_t pairs_in_file;       /* rows of the pairs file */
  uint64_t pairs_judged;        /* both records in the truth, within the mode */
  uint64_t pairs_not_in_truth;  /* left out: a record is not in the truth */
  uint64_t pairs_outside_mode;  /* left out: not a pair the mode compares */
  uint64_t true_pairs_in_file;  /* judged pairs that are true, at any weight */
  double min_probability, max_probability; /* over the judged pairs */
  tsr_sweep_point *points;      /* one per threshold kept, ascending */
  size_t npoints;
  /* The best F1 over every distinct weight in the file (ties: the higher
   * threshold); threshold and match_weight are those of the lowest pair
   * predicted there. */
  tsr_sweep_point best;
  int has_at;                   /* opts.at was given */
  tsr_sweep_point at;
  double seconds;
} tsr_sweep;

/* Reads both files and fills *out (free with tsr_sweep_free, also after a
 * failure). opts NULL = defaults. Returns 0; TSR_EIO; TSR_EPARSE (a missing
 * or mistyped column, a null or NaN score, a pair listed twice or of a record
 * with itself, a bad truth row, nothing judged: err names the file and, for
 * a row of the pairs, its 1-based number); TSR_EINVAL (bad options);
 * TSR_ENOMEM. */
TSR_API int tsr_evaluate_sweep(const char *pairs_parquet, const char *truth_csv, const tsr_sweep_opts *opts,
                               tsr_sweep *out, tsr_error *err);
TSR_API void tsr_sweep_free(tsr_sweep *s);

/* Writes DIR/sweep.json (the figures, docs/config.md "tessera evaluate") and
 * DIR/sweep.html (a self-contained chart of precision, recall and F1 against
 * the threshold: inline SVG, no scripts), each under a temporary name first.
 * Returns 0, TSR_EIO, TSR_ENOMEM. */
TSR_API int tsr_sweep_write(const tsr_sweep *s, const char *dir, tsr_error *err);

/* --- Episodes: spells and CIPS against truth ----------------------------------
 * Scores a run's episodes.parquet (source, record_id, spell_id, cips_id;
 * other columns are ignored) against a spells truth CSV with columns epikey,
 * spell_id, cips_id (as `tessera generate` writes truth_spells.csv).
 * Episodes are matched on record_id = epikey (the truth has no source
 * column; a record_id twice in the file is an error). Each of the two
 * partitions, provider spells and CIPS, is scored like tsr_evaluate's
 * clusters: pairs of episodes in one spell, exact spells, splits and merges.
 *
 * Unfinished episodes: the file marks one with a null spell_id and cips_id,
 * the truth with an empty spell_id and cips_id (one empty and the other set
 * is an error in either file). The generator writes only finished episodes
 * (epistat 3), so its truth has a spell on every row. An episode that has no
 * spell on either side is left out of both (left_out). One unfinished in the
 * file but in a true spell is missed: its true pairs are lost, its true spell
 * is not an exact match and it is a piece of that spell of its own (split).
 * One in a predicted spell with no true spell (no_true_spell) makes that
 * spell's pairs with it false, the spell not exact, and it is a piece of the
 * predicted spell of its own (merged).
 *
 * As in tsr_evaluate, a file row not in the truth cannot be judged and is
 * left out (not_in_truth); a truth row missing from the file is a missed
 * episode (truth_not_in_file). With no file row in the truth nothing can be
 * scored: TSR_EPARSE. */
typedef struct tsr_eval_partition {
  uint64_t pairs_predicted, pairs_true, pairs_correct;
  double precision, recall, f1;  /* pairwise; 1 when the denominator is 0 */
  uint64_t predicted;            /* predicted spells with an episode judged */
  uint64_t true_n;               /* true spells of the whole truth */
  uint64_t exact;                /* predicted spells whose episode set equals a true spell's */
  double exact_share;            /* exact / true_n (1 when there is none) */
  uint64_t split;                /* true spells spread over 2+ predicted spells (a missed episode: a piece) */
  uint64_t merged;               /* predicted spells holding 2+ true spells (an episode of none: a piece) */
} tsr_eval_partition;

typedef struct tsr_eval_episodes {
  uint64_t records_file;        /* rows of episodes.parquet */
  uint64_t records_truth;       /* rows of the truth */
  uint64_t records_scored;      /* file rows found in the truth (including left_out) */
  uint64_t not_in_truth;        /* file rows left out: cannot be judged */
  uint64_t truth_not_in_file;   /* truth rows missing from the file: missed */
  uint64_t unfinished_file;     /* file rows with a null spell_id */
  uint64_t unfinished_truth;    /* truth rows with an empty spell_id */
  uint64_t left_out;            /* scored rows with no spell on either side */
  uint64_t missed;              /* scored rows unfinished in the file, in a true spell */
  uint64_t no_true_spell;       /* scored rows in a predicted spell, with no true spell */
  tsr_eval_partition spells, cips;
  double seconds;
} tsr_eval_episodes;

/* Reads both files and fills *out (nothing to free). threads: truth ingest
 * threads, 0 = all cores. Returns 0; TSR_EIO; TSR_EPARSE (a missing or
 * mistyped column, an id below 1, spell_id and cips_id not null together, a
 * spell in two CIPS (in the truth, or among the file's rows found in it), a
 * record_id twice, a bad truth row or an epikey twice, nothing scored: err
 * names the file and, for the truth, the line; for the file, the 1-based
 * row); TSR_ENOMEM. */
TSR_API int tsr_evaluate_episodes(const char *episodes_parquet, const char *truth_spells_csv, int threads,
                                  tsr_eval_episodes *out, tsr_error *err);

#ifdef __cplusplus
}
#endif
#endif
