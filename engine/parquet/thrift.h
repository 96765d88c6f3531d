/* Thrift compact protocol: the small subset Parquet metadata needs, written
 * from the protocol spec. The encoder appends to a tsr__buf; the decoder is a
 * bounds-checked cursor over untrusted bytes (file footers and page headers
 * of files we did not necessarily write). Also home of the varint/zigzag
 * helpers shared with the RLE/bit-packed hybrid coder in writer.c.
 *
 * DESIGN
 *   field header  [delta:4 | type:4]            when 1 <= id - last <= 15
 *                 [0 | type:4] zigzag-varint(id) otherwise
 *   bool field    the value lives in the type nibble (1 true, 2 false)
 *   i16/i32/i64   zigzag then ULEB128 varint
 *   binary        varint length, then the bytes
 *   list          [n:4 | elem:4] when n < 15, else [0xF | elem] varint(n)
 *   struct        fields ..., then a stop byte 0; field ids restart at 0
 * Decoder errors are sticky: after the first problem r->err is set, every
 * read returns zero values and tsr__tr_field reports the stop, so parse loops
 * end by themselves and the caller checks r->err once. */
#ifndef TSR_OUTPUT_THRIFT_H
#define TSR_OUTPUT_THRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Compact protocol type ids. */
enum {
  TSR__CT_STOP = 0,
  TSR__CT_TRUE = 1,
  TSR__CT_FALSE = 2,
  TSR__CT_BYTE = 3,
  TSR__CT_I16 = 4,
  TSR__CT_I32 = 5,
  TSR__CT_I64 = 6,
  TSR__CT_DOUBLE = 7,
  TSR__CT_BINARY = 8,
  TSR__CT_LIST = 9,
  TSR__CT_SET = 10,
  TSR__CT_MAP = 11,
  TSR__CT_STRUCT = 12
};

#define TSR__THRIFT_MAX_DEPTH 32

/* --- Varints ---------------------------------------------------------------- */
static inline uint64_t tsr__zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t tsr__unzigzag64(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1u); }
/* Writes v as ULEB128 into out (at least 10 bytes); returns the byte count. */
size_t tsr__varint_put(uint8_t *out, uint64_t v);
/* Reads a ULEB128 from [*p, end) into *v and advances *p. Returns 0, or -1 when
 * the input ends early or the varint is longer than 10 bytes. */
int tsr__varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* --- Encoder ------------------------------------------------------------------ */
typedef struct tsr__tw {
  tsr__buf *b;
  int depth;
  int16_t last[TSR__THRIFT_MAX_DEPTH];
} tsr__tw;

/* Starts a top-level struct appended to b. Allocation failures are sticky in
 * b->oom; check it after tsr__tw_end. */
void tsr__tw_begin(tsr__tw *w, tsr__buf *b);
/* Ends the top-level struct (writes its stop byte). */
void tsr__tw_end(tsr__tw *w);
void tsr__tw_field(tsr__tw *w, int16_t id, uint8_t type);
void tsr__tw_i32(tsr__tw *w, int16_t id, int32_t v);
void tsr__tw_i64(tsr__tw *w, int16_t id, int64_t v);
void tsr__tw_i16(tsr__tw *w, int16_t id, int16_t v);
void tsr__tw_bool(tsr__tw *w, int16_t id, int v);
void tsr__tw_bin(tsr__tw *w, int16_t id, const void *p, size_t n);
void tsr__tw_str(tsr__tw *w, int16_t id, const char *s);
/* A struct-typed field; close with tsr__tw_struct_end. */
void tsr__tw_struct_begin(tsr__tw *w, int16_t id);
void tsr__tw_struct_end(tsr__tw *w);
/* A list-typed field header of n elements; then write exactly n elements. */
void tsr__tw_list_begin(tsr__tw *w, int16_t id, uint8_t elem_type, uint32_t n);
void tsr__tw_elem_i32(tsr__tw *w, int32_t v);
void tsr__tw_elem_bin(tsr__tw *w, const void *p, size_t n);
void tsr__tw_elem_str(tsr__tw *w, const char *s);
/* A struct element of a list; close with tsr__tw_struct_end. */
void tsr__tw_elem_struct_begin(tsr__tw *w);

/* --- Decoder ------------------------------------------------------------------ */
typedef struct tsr__tr {
  const uint8_t *p, *end;
  int err;   /* sticky; nonzero after the first malformed read */
  int depth; /* nesting of skipped values */
} tsr__tr;

void tsr__tr_init(tsr__tr *r, const void *p, size_t n);
/* Next field header of the current struct, given the previous id in *last
 * (start each struct with *last = 0). Returns 1 and sets *id and *type, or 0
 * at the stop byte or after an error. */
int tsr__tr_field(tsr__tr *r, int16_t *last, int16_t *id, uint8_t *type);
/* Typed reads; a value out of range for the type sets r->err. */
int32_t tsr__tr_i32(tsr__tr *r);
int64_t tsr__tr_i64(tsr__tr *r);
/* The value of a bool field from its header type; other types set r->err. */
int tsr__tr_bool(tsr__tr *r, uint8_t type);
/* Binary/string: returns a pointer into the input and sets *n (NULL on error). */
const uint8_t *tsr__tr_bin(tsr__tr *r, uint32_t *n);
/* List or set header: returns the element count (each element takes at least
 * one byte, so a count larger than the remaining input is an error) and sets
 * *elem_type. */
uint32_t tsr__tr_list(tsr__tr *r, uint8_t *elem_type);
/* Skips one value of the given type, nested values included (depth-limited). */
void tsr__tr_skip(tsr__tr *r, uint8_t type);
/* Sets r->err unless type == want; returns !r->err for use in conditions. */
int tsr__tr_want(tsr__tr *r, uint8_t type, uint8_t want);
/* Bytes consumed since start. */
static inline size_t tsr__tr_used(const tsr__tr *r, const void *start) {
  return (size_t)(r->p - (const uint8_t *)start);
}

#endif
