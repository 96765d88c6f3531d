/* Transitional: link_run.c and report_html.c still include this header until
 * they move to engine/run/ and engine/report/ (issue 8). The Parquet
 * internals now live in parquet/parquet_internal.h. Delete this file when
 * nothing includes it. */
#ifndef TSR_OUTPUT_INTERNAL_H
#define TSR_OUTPUT_INTERNAL_H

#include "parquet/parquet_internal.h"

/* Writes DIR/report.html from the report.json document (link_run.c). */
struct json_t;
int tsr__report_html(const struct json_t *root, const char *dir, tsr_error *err);

#endif
