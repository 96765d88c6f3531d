/* RFC 4180 record tokenizer over an in-memory buffer, plus the helpers that
 * let a buffer be cut into segments parsed in parallel.
 *
 * DESIGN
 *   buffer:  [seg 0 ........ | seg 1 ........ | seg 2 ........ ]
 *   pass 1 (parallel):  quotes and newlines per segment
 *   prefix:             quote state at each segment start = XOR of the
 *                       parities before it (RFC 4180: every quote toggles,
 *                       an escaped "" toggles twice)
 *   pass 2 (parallel):  from its start state, each segment skips to the first
 *                       newline outside quotes: its first record starts after
 *   pass 3 (parallel):  tsr__csv_next() from there, context-aware; a segment
 *                       parses every record that starts before the next
 *                       segment's first record, running past its end if a
 *                       record does
 *   seams:              segment k must stop exactly where segment k+1
 *                       started; a stray quote breaks the parity argument and
 *                       the seam check catches it, and the caller re-parses
 *                       sequentially. Speculation is never trusted unchecked.
 *
 * Field views point into the buffer, except quoted fields holding "" escapes,
 * which are unescaped into the caller's scratch space. */
#ifndef TSR_INGEST_CSV_H
#define TSR_INGEST_CSV_H

#include <stddef.h>
#include <stdint.h>

typedef struct tsr__csv_dialect {
  char delim;
  char quote; /* 0: no quoting */
  int trim;   /* trim spaces/tabs around unquoted fields and outside quotes */
  uint32_t max_fields; /* fields beyond this are counted in nf, not stored */
  size_t max_record; /* longer records are rejected as overlong */
  uint32_t expect_fields; /* fields per record (0: unknown, as for the header);
                             enables the runaway-quote check below */
} tsr__csv_dialect;

/* Outcome of reading one record. */
typedef enum tsr__csv_status {
  TSR__CSV_OK = 0,
  TSR__CSV_NEED_MORE,     /* the record runs past the buffer end (not at EOF) */
  TSR__CSV_UNTERMINATED,  /* a quoted field never closes before EOF */
  TSR__CSV_STRAY_QUOTE,   /* a quote inside an unquoted field, or text after a closing quote */
  TSR__CSV_NUL,           /* a NUL byte in the record */
  TSR__CSV_OVERLONG,      /* longer than max_record bytes */
  TSR__CSV_FIELD_COUNT    /* never returned by the tokenizer: ingest's label for
                             a well-formed record with the wrong field count */
} tsr__csv_status;

typedef struct tsr__csv_field {
  const char *p;
  uint32_t len;
  uint8_t quoted;
} tsr__csv_field;

typedef struct tsr__csv_record {
  tsr__csv_field *f; /* caller-provided, max_fields entries */
  uint32_t nf;
  uint32_t bad_field; /* 1-based field where a problem was found, 0 if none */
  size_t start, end;  /* byte range of the record incl. its terminator */
  uint32_t lines;     /* newlines inside the record incl. the terminator */
} tsr__csv_record;

/* Parses the record starting at buf[pos]. eof says whether buf[len] is the
 * end of the input. scratch (at least len - pos bytes) receives unescaped
 * quoted fields. On a problem other than NEED_MORE, rec->end is where the
 * next record starts.
 *
 * Runaway quotes: a quoted field may run across a line end only while the
 * line after the record's first line does NOT parse, on its own, as one
 * complete record of expect_fields fields. When it does, the quote that
 * opened on the first line is taken as unterminated: TSR__CSV_UNTERMINATED,
 * and rec->end is the end of the first line, so one bad quote costs one row
 * and the next line is read normally. The check looks at that one following
 * line only, and only once per record, so legitimate multi-line fields
 * (whose continuation lines hold the closing quote and so do not parse as
 * records) are kept, and the answer never depends on where a buffer ends. */
tsr__csv_status tsr__csv_next(const tsr__csv_dialect *d, const char *buf, size_t len, size_t pos, int eof,
                              char *scratch, tsr__csv_record *rec);

/* Pass 1: quote count parity (0/1) and newline count of buf[a, b). */
void tsr__csv_scan(const tsr__csv_dialect *d, const char *buf, size_t a, size_t b, uint8_t *parity,
                   uint64_t *newlines);

/* Pass 2: given the quote state at buf[a], the position just after the first
 * newline outside quotes at or after a (<= len), or len if there is none.
 * *newlines counts the newlines skipped. */
size_t tsr__csv_first_record(const tsr__csv_dialect *d, const char *buf, size_t a, size_t len, uint8_t in_quote,
                             uint64_t *newlines);

#endif
