/* libFuzzer harness for the Parquet reader. The input is the whole file: it
 * is opened from memory (with a small row cap, so inputs that claim huge row
 * counts fail fast instead of allocating), then every column is read. Any
 * failure must be a clean TSR_EPARSE or TSR_ELIMIT naming the file; a
 * successful read must be self-consistent. ASan/UBSan catch the rest. */
#include <stdlib.h>
#include <string.h>

#include "tessera/parquet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tsr_pq_reader_opts o;
  tsr_pq_reader_opts_init(&o);
  o.max_rows = 1u << 16;
  tsr_pq_reader *r = NULL;
  tsr_error err;
  tsr_error_clear(&err);
  int rc = tsr_pq_reader_open_mem(data, size, "fuzz.parquet", &o, &r, &err);
  if (rc) {
    if ((rc != TSR_EPARSE && rc != TSR_ELIMIT) || strcmp(err.file, "fuzz.parquet") != 0) abort();
    return 0;
  }
  uint64_t rows = tsr_pq_reader_rows(r);
  for (size_t c = 0; c < tsr_pq_reader_ncols(r); c++) {
    if (!tsr_pq_reader_col_name(r, c)) abort();
    if (tsr_pq_reader_find(r, tsr_pq_reader_col_name(r, c)) < 0) abort();
    tsr_pq_column col;
    rc = tsr_pq_read_column(r, c, &col, &err);
    if (rc) {
      if (rc != TSR_EPARSE || col.values.any || col.valid) abort();
      continue;
    }
    if (col.nrows != rows || col.type != tsr_pq_reader_col_type(r, c)) abort();
    uint64_t nulls = 0;
    for (uint64_t i = 0; i < rows; i++) {
      if (col.valid[i] > 1) abort();
      nulls += !col.valid[i];
      if (col.type == TSR_PQ_BOOL && col.values.b[i] > 1) abort();
      if (col.type == TSR_PQ_STRING && col.values.str[i].len) {
        /* touch every byte so ASan checks the view */
        volatile char sink = 0;
        for (uint32_t k = 0; k < col.values.str[i].len; k++) sink ^= col.values.str[i].ptr[k];
        (void)sink;
      }
    }
    if (nulls != col.null_count) abort();
    if (!tsr_pq_reader_col_nullable(r, c) && nulls) abort();
    tsr_pq_column_free(&col);
  }
  tsr_pq_reader_free(r);
  return 0;
}
