/* The ingest reader: one CSV file as a stream of text, whatever its
 * encoding on disk. Plain files are memory-mapped, so a batch is a window of
 * the mapping (no copy); .gz is read through zlib (multi-member files in
 * full) and .zst/.zstd through the zstd streaming decoder. A compressed file
 * that ends inside a gzip member or a zstd frame is an error naming the file
 * and saying "truncated": never a shorter file read in silence.
 *
 * One reader per file, used from one thread. */
#ifndef TSR_INGEST_READER_H
#define TSR_INGEST_READER_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>
#include <zstd.h>

#include "tessera/common.h"

enum { TSR__READ_PLAIN, TSR__READ_GZIP, TSR__READ_ZSTD };

typedef struct tsr__reader {
  int kind, fd;
  const char *map; /* plain files are mapped: batches are windows, no copy */
  size_t map_len, map_pos, released;
  gzFile gz;
  ZSTD_DCtx *zd;
  char *zin;
  size_t zin_len, zin_pos, zin_cap;
  int zeof;
  size_t zhint;   /* the decoder's last return: 0 when the frames so far are complete */
  uint64_t zread; /* compressed bytes read from the file (zstd) */
  uint64_t file_bytes;
  const char *path; /* borrowed: must outlive the reader */
} tsr__reader;

/* Opens path, choosing the decoder by extension (.gz; .zst, .zstd; else
 * plain). 0 or a negative TSR_E* code with err naming the file; on error
 * nothing needs closing. */
int tsr__reader_open(tsr__reader *r, const char *path, tsr_error *err);
/* Reads up to n bytes of text (not for mapped files: use r->map). Returns
 * the count (0 at the end) or a negative TSR_E* code: TSR_EIO for a read
 * error, corrupt data, or a truncated compressed file. */
int64_t tsr__reader_read(tsr__reader *r, char *dst, size_t n, tsr_error *err);
/* How far into the file on disk reading has got, for progress. */
uint64_t tsr__reader_file_pos(const tsr__reader *r, uint64_t text_bytes);
/* Releases mapped pages below `upto` from this process (they stay in the page
 * cache), so RSS does not grow with the file. */
void tsr__reader_release(tsr__reader *r, size_t upto);
/* Closes and zeroes r (safe on a zeroed reader with fd -1). */
void tsr__reader_close(tsr__reader *r);

#endif
