/* Parquet output: a writer for flat tables (one required or optional leaf
 * per column, no nesting) and a reader for the files it writes, so tessera
 * can read its own outputs back (`tessera evaluate` reads links.parquet).
 * docs/design/parquet.md lists the subset of the format we write.
 *
 * Writer thread rules: one writer is used from one thread at a time. Encoding
 * a row group may use OpenMP threads internally (one column per thread); the
 * file bytes are identical for any thread count.
 * Reader thread rules: one reader is used from one thread at a time; separate
 * readers of the same file are independent. */
#ifndef TSR_PARQUET_H
#define TSR_PARQUET_H

#include <stddef.h>
#include <stdint.h>

#include "tessera/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Column types and their Parquet mapping:
 *   BOOL    BOOLEAN                           values: uint8_t (0 or 1)
 *   INT32   INT32                             values: int32_t
 *   INT64   INT64                             values: int64_t
 *   DOUBLE  DOUBLE                            values: double
 *   STRING  BYTE_ARRAY, UTF8 / STRING         values: tsr_view
 *   DATE    INT32, DATE (days since 1970-01-01) values: int32_t */
typedef enum tsr_pq_type {
  TSR_PQ_BOOL = 0,
  TSR_PQ_INT32 = 1,
  TSR_PQ_INT64 = 2,
  TSR_PQ_DOUBLE = 3,
  TSR_PQ_STRING = 4,
  TSR_PQ_DATE = 5
} tsr_pq_type;

/* "BOOL", "INT32", ... Never NULL. */
TSR_API const char *tsr_pq_type_name(tsr_pq_type t);

/* Value encoding of a column. AUTO uses a dictionary in a row group when it
 * pays (distinct values at most half the non-null values and the plain
 * dictionary at most 1 MiB), PLAIN otherwise. DICT always uses a dictionary
 * unless it would exceed 256 MiB, then falls back to PLAIN for that row
 * group. BOOL columns are always PLAIN (bit-packed). */
typedef enum tsr_pq_encoding { TSR_PQ_ENC_AUTO = 0, TSR_PQ_ENC_PLAIN = 1, TSR_PQ_ENC_DICT = 2 } tsr_pq_encoding;

typedef struct tsr_pq_column_def {
  const char *name;   /* UTF-8, non-empty; copied by tsr_pq_open */
  tsr_pq_type type;
  int nullable;       /* 0: REQUIRED (a null is an error), 1: OPTIONAL */
  tsr_pq_encoding encoding;
} tsr_pq_column_def;

/* One key/value pair for the file footer's key_value_metadata. */
typedef struct tsr_pq_kv {
  const char *key;
  const char *value;
} tsr_pq_kv;

typedef struct tsr_pq_options {
  uint64_t row_group_rows; /* rows per row group; default 1 << 20 */
  uint32_t page_bytes;     /* target uncompressed page size; default 1 MiB (clamped to 1 KiB .. 256 MiB) */
  int zstd_level;          /* default 1; 0 = UNCOMPRESSED; 1..19 ZSTD, one frame per page */
  const char *created_by;  /* default "tessera version X.Y.Z"; copied */
  const tsr_pq_kv *kv;     /* optional footer metadata, copied; default none */
  size_t nkv;
  int threads;             /* threads encoding the columns of a row group; 0 = OpenMP's default */
} tsr_pq_options;

/* Fills o with the defaults above. */
TSR_API void tsr_pq_options_init(tsr_pq_options *o);

/* One column of a batch of rows passed to tsr_pq_write. values points to
 * nrows entries of the column's value type (see tsr_pq_type); entries of null
 * rows are ignored. valid has one byte per row, nonzero = present; NULL means
 * every row is present (for a coded column: every row whose code is not 0).
 * Borrowed for the call only. */
typedef struct tsr_pq_col {
  const void *values;
  const uint8_t *valid;
} tsr_pq_col;

typedef struct tsr_pq_writer tsr_pq_writer;

/* Starts dir/filename, written under a temporary name until tsr_pq_close
 * renames it into place. cols (ncols >= 1, names unique) and opt (NULL =
 * defaults) are copied. On success *w owns the writer; it must end with
 * tsr_pq_close or tsr_pq_abort. Returns 0, TSR_EINVAL (bad definitions, err
 * says which), TSR_EIO, TSR_ELIMIT or TSR_ENOMEM. */
TSR_API int tsr_pq_open(tsr_pq_writer **w, const char *dir, const char *filename, const tsr_pq_column_def *cols,
                        size_t ncols, const tsr_pq_options *opt, tsr_error *err);

/* Makes column col (a STRING column, before the first tsr_pq_write) a coded
 * column: its values are then uint32_t codes into dict (dict_n strings, code
 * c meaning dict[c - 1], code 0 a null), not tsr_view. dict is borrowed until
 * tsr_pq_close/abort. The file is the same as for the same strings given as
 * views; the writer only skips copying, hashing and comparing each value's
 * bytes (a row group's dictionary is built from the codes, its statistics
 * from the dictionary's entries). Returns 0, TSR_EINVAL (not a string
 * column, rows already written) or TSR_ELIMIT (an entry over 1 GiB). */
TSR_API int tsr_pq_set_codes(tsr_pq_writer *w, size_t col, const tsr_view *dict, uint32_t dict_n, tsr_error *err);

/* Appends nrows rows given column by column (cols has ncols entries in
 * definition order). Any batch size; values (strings too) are copied into the
 * writer's buffers, and a row group is encoded and written every
 * row_group_rows rows. Returns 0, TSR_EINVAL (a null in a required column, a
 * NULL values pointer), TSR_ELIMIT (a string over 1 GiB), TSR_EIO or
 * TSR_ENOMEM. After an error the writer only accepts tsr_pq_abort. */
TSR_API int tsr_pq_write(tsr_pq_writer *w, const tsr_pq_col *cols, size_t nrows, tsr_error *err);

/* Rows accepted so far. */
TSR_API uint64_t tsr_pq_writer_rows(const tsr_pq_writer *w);
/* Bytes the writer holds (buffered row group, scratch, footer metadata). */
TSR_API size_t tsr_pq_writer_bytes(const tsr_pq_writer *w);

/* Writes the last row group and the footer, renames the file into place and
 * frees w (also on failure, when the temporary file is removed). NULL is
 * allowed (returns TSR_EINVAL). */
TSR_API int tsr_pq_close(tsr_pq_writer *w, tsr_error *err);

/* Removes the temporary file and frees w. NULL allowed. */
TSR_API void tsr_pq_abort(tsr_pq_writer *w);

/* --- Reader ------------------------------------------------------------------
 * Reads flat files of BOOLEAN, INT32 (optionally DATE), INT64, DOUBLE and
 * BYTE_ARRAY (optionally UTF8) columns, REQUIRED or OPTIONAL, with PLAIN or
 * dictionary (RLE_DICTIONARY / PLAIN_DICTIONARY) data pages V1, RLE
 * definition levels, UNCOMPRESSED or ZSTD pages, any number of row groups and
 * pages: everything tsr_pq_write produces. Anything else (other codecs,
 * nested or repeated fields, other physical types, data pages V2) fails with
 * TSR_EPARSE and an err message naming the file and what was found. Every
 * length and offset is checked; malformed files fail with TSR_EPARSE. */
typedef struct tsr_pq_reader tsr_pq_reader;

typedef struct tsr_pq_reader_opts {
  /* Most rows a file may claim. Encodings can describe many rows in few
   * bytes, so this bounds the memory a hostile file can make us allocate.
   * 0 (default) = 262144 rows per file byte, at least 2^24 and at most 2^40. */
  uint64_t max_rows;
} tsr_pq_reader_opts;

TSR_API void tsr_pq_reader_opts_init(tsr_pq_reader_opts *o);

/* Opens path (memory-mapped) and parses and validates its footer and schema.
 * opts NULL = defaults. On success *out owns the reader. Returns 0, TSR_EIO,
 * TSR_EPARSE, TSR_ELIMIT (more rows than opts->max_rows) or TSR_ENOMEM. */
TSR_API int tsr_pq_reader_open(const char *path, const tsr_pq_reader_opts *opts, tsr_pq_reader **out,
                               tsr_error *err);
/* The same over a memory buffer the caller keeps alive and unchanged until
 * tsr_pq_reader_free. name is used in error messages (NULL = "<memory>"). */
TSR_API int tsr_pq_reader_open_mem(const void *data, size_t size, const char *name, const tsr_pq_reader_opts *opts,
                                   tsr_pq_reader **out, tsr_error *err);
/* Frees the reader, its string buffers (every tsr_view it returned) and the
 * mapping. NULL allowed. */
TSR_API void tsr_pq_reader_free(tsr_pq_reader *r);

TSR_API uint64_t tsr_pq_reader_rows(const tsr_pq_reader *r);
TSR_API size_t tsr_pq_reader_ncols(const tsr_pq_reader *r);
TSR_API size_t tsr_pq_reader_row_groups(const tsr_pq_reader *r);
/* Column i's name (NUL-terminated, owned by the reader), or NULL when i is out
 * of range. */
TSR_API const char *tsr_pq_reader_col_name(const tsr_pq_reader *r, size_t i);
/* Column i's type; TSR_PQ_BOOL when i is out of range. */
TSR_API tsr_pq_type tsr_pq_reader_col_type(const tsr_pq_reader *r, size_t i);
/* 1 when column i is OPTIONAL. */
TSR_API int tsr_pq_reader_col_nullable(const tsr_pq_reader *r, size_t i);
/* Index of the column named name, or -1. */
TSR_API long tsr_pq_reader_find(const tsr_pq_reader *r, const char *name);
/* The footer's created_by ("" when absent) and key_value_metadata value for
 * key (NULL when absent); owned by the reader. */
TSR_API const char *tsr_pq_reader_created_by(const tsr_pq_reader *r);
TSR_API const char *tsr_pq_reader_kv(const tsr_pq_reader *r, const char *key);

/* A whole column. values.any and valid are allocated by the read and freed by
 * tsr_pq_column_free; both have nrows entries (NULL when nrows is 0). valid[i]
 * is 1 when row i holds a value, 0 for null; values of null rows are zero
 * (strings: {NULL, 0}). String bytes belong to the reader: the views stay
 * valid until tsr_pq_reader_free. */
typedef struct tsr_pq_column {
  tsr_pq_type type;
  uint64_t nrows;
  uint64_t null_count;
  union {
    void *any;
    uint8_t *b;     /* BOOL */
    int32_t *i32;   /* INT32, DATE */
    int64_t *i64;   /* INT64 */
    double *f64;    /* DOUBLE */
    tsr_view *str;  /* STRING */
  } values;
  uint8_t *valid;
} tsr_pq_column;

/* Decodes column i of every row group into *out (overwritten; free it with
 * tsr_pq_column_free). Returns 0, TSR_EINVAL (i out of range), TSR_EPARSE,
 * TSR_ENOMEM. On failure *out is left empty. */
TSR_API int tsr_pq_read_column(tsr_pq_reader *r, size_t i, tsr_pq_column *out, tsr_error *err);
/* The same by name; TSR_EINVAL when no column has that name. */
TSR_API int tsr_pq_read_column_by_name(tsr_pq_reader *r, const char *name, tsr_pq_column *out, tsr_error *err);
/* Frees the arrays of c and empties it. NULL allowed. */
TSR_API void tsr_pq_column_free(tsr_pq_column *c);

#ifdef __cplusplus
}
#endif
#endif
