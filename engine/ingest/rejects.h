/* The rejects sink: rejects.csv, one row per rejected input row, written by
 * ingest in file order (see docs/config.md). Parse segments format their
 * rows into their own buffers with tsr__reject_line; the ordered merge
 * appends the buffers with tsr__rejects_append, so the file is the same for
 * any thread count.
 *
 * Cells are written with the one CSV escaper (common/buf.h) under the
 * spreadsheet-injection rule (TSR__CSV_PEOPLE): people open this file, and a
 * raw row such as =cmd|' /C calc'!A0 must show as text, not run. Control
 * bytes and invalid UTF-8 are shown as \xNN, so the file is clean UTF-8. */
#ifndef TSR_INGEST_REJECTS_H
#define TSR_INGEST_REJECTS_H

#include "common/buf.h"
#include "common/common_internal.h"
#include "tessera/ingest.h"

/* Longest raw row kept in rejects.csv, in bytes. */
#define TSR__REJECT_RAW_MAX 200

struct tsr_rejects {
  tsr__outfile f;
  uint64_t count;
};

/* Appends one rejects.csv row to b: source, line, column, reason, detail and
 * the raw row (without its line terminator, cut to TSR__REJECT_RAW_MAX). */
void tsr__reject_line(tsr__buf *b, const char *source, uint64_t line, uint32_t column, const char *reason,
                      const char *detail, const char *raw, size_t rawlen);

/* Writes `len` bytes of ready-made rows (`rows` of them) to the sink. */
int tsr__rejects_append(tsr_rejects *rj, const char *text, size_t len, uint64_t rows, tsr_error *err);

#endif
