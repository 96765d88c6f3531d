/* Evaluate: scores a run's links.parquet against ground truth (a CSV with
 * columns source, record_id, patient_id, as `tessera generate` writes
 * truth.csv). Records are matched on (source, record_id).
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

#ifdef __cplusplus
}
#endif
#endif
