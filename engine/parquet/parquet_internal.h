/* Internals shared by the Parquet writer (writer.c), the reader
 * (reader.c) and their tests: format constants from parquet.thrift and
 * the RLE/bit-packed hybrid coder used for definition levels and dictionary
 * indices.
 *
 * DESIGN (RLE/bit-packed hybrid, as Parquet defines it)
 *   run      := varint(count << 1)        value in ceil(bit_width / 8) bytes, LE
 *   literal  := varint(groups << 1 | 1)   groups * 8 values, bit-packed LSB first
 * The encoder emits a run for every stretch of >= 8 equal values that starts
 * on a multiple of 8 after the previous literal, literals otherwise (at most
 * 63 groups each, so every header is one byte as older readers expect), and
 * pads the last literal group with zeros. */
#ifndef TSR_PARQUET_INTERNAL_H
#define TSR_PARQUET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "tessera/parquet.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Parquet coder assumes a little-endian host"
#endif

/* parquet.thrift enums (the values we write or recognise). */
enum {
  TSR__PQT_BOOLEAN = 0,
  TSR__PQT_INT32 = 1,
  TSR__PQT_INT64 = 2,
  TSR__PQT_INT96 = 3,
  TSR__PQT_FLOAT = 4,
  TSR__PQT_DOUBLE = 5,
  TSR__PQT_BYTE_ARRAY = 6,
  TSR__PQT_FIXED_LEN_BYTE_ARRAY = 7
};
enum { TSR__PQCT_UTF8 = 0, TSR__PQCT_DATE = 6, TSR__PQCT_INT_32 = 17, TSR__PQCT_INT_64 = 18 };
enum { TSR__PQR_REQUIRED = 0, TSR__PQR_OPTIONAL = 1, TSR__PQR_REPEATED = 2 };
enum {
  TSR__PQE_PLAIN = 0,
  TSR__PQE_PLAIN_DICTIONARY = 2,
  TSR__PQE_RLE = 3,
  TSR__PQE_BIT_PACKED = 4,
  TSR__PQE_RLE_DICTIONARY = 8
};
enum { TSR__PQC_UNCOMPRESSED = 0, TSR__PQC_ZSTD = 6 };
enum { TSR__PQP_DATA_PAGE = 0, TSR__PQP_INDEX_PAGE = 1, TSR__PQP_DICTIONARY_PAGE = 2, TSR__PQP_DATA_PAGE_V2 = 3 };
/* LogicalType union members. */
enum { TSR__PQL_STRING = 1, TSR__PQL_DATE = 6, TSR__PQL_INTEGER = 10 };

/* Bits needed for values 0..max (0 for max == 0). */
static inline int tsr__bit_width(uint32_t max) { return max ? 32 - __builtin_clz(max) : 0; }

/* Appends the hybrid encoding of vals[0..n) (each < 2^bit_width, bit_width
 * 0..32) to out. Allocation failure is sticky in out->oom. */
void tsr__rle_encode(tsr__buf *out, const uint32_t *vals, size_t n, int bit_width);
/* Same, for 0/1 bytes (definition levels of an OPTIONAL column; bit width 1). */
void tsr__rle_encode_bits(tsr__buf *out, const uint8_t *bits, size_t n);

/* Decodes exactly n values of bit_width (0..32) from [p, p + len) into out.
 * Returns the bytes consumed, or -1 when the input ends early or is
 * malformed. Extra values of the last literal group are ignored. */
long tsr__rle_decode(const uint8_t *p, size_t len, int bit_width, uint32_t *out, size_t n);

/* Bytes of one fixed-width value of type t (BOOL 1, INT32/DATE 4,
 * INT64/DOUBLE 8); 0 for strings. Shared by the writer and the reader. */
static inline uint32_t tsr__pq_fixed_width(tsr_pq_type t) {
  switch (t) {
  case TSR_PQ_BOOL:
    return 1;
  case TSR_PQ_INT32:
  case TSR_PQ_DATE:
    return 4;
  case TSR_PQ_INT64:
  case TSR_PQ_DOUBLE:
    return 8;
  default:
    return 0;
  }
}

#endif
