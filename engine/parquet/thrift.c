/* Thrift compact protocol encoder and bounds-checked decoder for Parquet
 * metadata; see thrift.h for the wire layout and the error model. */
#include "parquet/thrift.h"

#include <string.h>

size_t tsr__varint_put(uint8_t *out, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80u) {
    out[n++] = (uint8_t)(v | 0x80u);
    v >>= 7;
  }
  out[n++] = (uint8_t)v;
  return n;
}

int tsr__varint_get(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  const uint8_t *q = *p;
  uint64_t x = 0;
  for (unsigned shift = 0; shift < 70; shift += 7) {
    if (q >= end) return -1;
    uint8_t c = *q++;
    if (shift == 63 && (c & 0x7Eu)) return -1; /* more than 64 bits */
    x |= (uint64_t)(c & 0x7Fu) << shift;
    if (!(c & 0x80u)) {
      *p = q;
      *v = x;
      return 0;
    }
  }
  return -1;
}

/* --- Encoder ------------------------------------------------------------------ */
static void put_varint(tsr__tw *w, uint64_t v) {
  uint8_t t[10];
  tsr__buf_put(w->b, t, tsr__varint_put(t, v));
}

void tsr__tw_begin(tsr__tw *w, tsr__buf *b) {
  w->b = b;
  w->depth = 0;
  w->last[0] = 0;
}

void tsr__tw_end(tsr__tw *w) { tsr__buf_putc(w->b, 0); }

void tsr__tw_field(tsr__tw *w, int16_t id, uint8_t type) {
  int delta = id - w->last[w->depth];
  if (delta > 0 && delta <= 15) {
    tsr__buf_putc(w->b, (char)(uint8_t)((delta << 4) | type));
  } else {
    tsr__buf_putc(w->b, (char)type);
    put_varint(w, tsr__zigzag64(id));
  }
  w->last[w->depth] = id;
}

void tsr__tw_i32(tsr__tw *w, int16_t id, int32_t v) {
  tsr__tw_field(w, id, TSR__CT_I32);
  put_varint(w, tsr__zigzag64(v));
}

void tsr__tw_i64(tsr__tw *w, int16_t id, int64_t v) {
  tsr__tw_field(w, id, TSR__CT_I64);
  put_varint(w, tsr__zigzag64(v));
}

void tsr__tw_i16(tsr__tw *w, int16_t id, int16_t v) {
  tsr__tw_field(w, id, TSR__CT_I16);
  put_varint(w, tsr__zigzag64(v));
}

void tsr__tw_bool(tsr__tw *w, int16_t id, int v) { tsr__tw_field(w, id, v ? TSR__CT_TRUE : TSR__CT_FALSE); }

void tsr__tw_bin(tsr__tw *w, int16_t id, const void *p, size_t n) {
  tsr__tw_field(w, id, TSR__CT_BINARY);
  tsr__tw_elem_bin(w, p, n);
}

void tsr__tw_str(tsr__tw *w, int16_t id, const char *s) { tsr__tw_bin(w, id, s, strlen(s)); }

static void push(tsr__tw *w) {
  /* Our own metadata nests at most 4 deep; a deeper push is a programming
   * error, and clamping keeps the output well-formed enough to be caught. */
  if (w->depth + 1 < TSR__THRIFT_MAX_DEPTH) w->depth++;
  w->last[w->depth] = 0;
}

void tsr__tw_struct_begin(tsr__tw *w, int16_t id) {
  tsr__tw_field(w, id, TSR__CT_STRUCT);
  push(w);
}

void tsr__tw_struct_end(tsr__tw *w) {
  tsr__buf_putc(w->b, 0);
  if (w->depth > 0) w->depth--;
}

void tsr__tw_list_begin(tsr__tw *w, int16_t id, uint8_t elem_type, uint32_t n) {
  tsr__tw_field(w, id, TSR__CT_LIST);
  if (n < 15) {
    tsr__buf_putc(w->b, (char)(uint8_t)((n << 4) | elem_type));
  } else {
    tsr__buf_putc(w->b, (char)(uint8_t)(0xF0u | elem_type));
    put_varint(w, n);
  }
}

void tsr__tw_elem_i32(tsr__tw *w, int32_t v) { put_varint(w, tsr__zigzag64(v)); }

void tsr__tw_elem_bin(tsr__tw *w, const void *p, size_t n) {
  put_varint(w, n);
  tsr__buf_put(w->b, p, n);
}

void tsr__tw_elem_str(tsr__tw *w, const char *s) { tsr__tw_elem_bin(w, s, strlen(s)); }

void tsr__tw_elem_struct_begin(tsr__tw *w) { push(w); }

/* --- Decoder ------------------------------------------------------------------ */
void tsr__tr_init(tsr__tr *r, const void *p, size_t n) {
  r->p = p;
  r->end = r->p + n;
  r->err = 0;
  r->depth = 0;
}

static uint64_t get_varint(tsr__tr *r) {
  uint64_t v = 0;
  if (r->err) return 0;
  if (tsr__varint_get(&r->p, r->end, &v)) {
    r->err = 1;
    return 0;
  }
  return v;
}

int tsr__tr_field(tsr__tr *r, int16_t *last, int16_t *id, uint8_t *type) {
  if (r->err) return 0;
  if (r->p >= r->end) {
    r->err = 1;
    return 0;
  }
  uint8_t c = *r->p++;
  if (c == 0) return 0;
  uint8_t t = c & 0x0Fu;
  int delta = c >> 4;
  int64_t fid;
  if (delta) {
    fid = (int64_t)*last + delta;
  } else {
    fid = tsr__unzigzag64(get_varint(r));
  }
  if (r->err || fid < INT16_MIN || fid > INT16_MAX || t == TSR__CT_STOP || t > TSR__CT_STRUCT) {
    r->err = 1;
    return 0;
  }
  *id = (int16_t)fid;
  *last = (int16_t)fid;
  *type = t;
  return 1;
}

int32_t tsr__tr_i32(tsr__tr *r) {
  int64_t v = tsr__unzigzag64(get_varint(r));
  if (v < INT32_MIN || v > INT32_MAX) {
    r->err = 1;
    return 0;
  }
  return (int32_t)v;
}

int64_t tsr__tr_i64(tsr__tr *r) { return tsr__unzigzag64(get_varint(r)); }

int tsr__tr_bool(tsr__tr *r, uint8_t type) {
  if (type == TSR__CT_TRUE) return 1;
  if (type != TSR__CT_FALSE) r->err = 1;
  return 0;
}

const uint8_t *tsr__tr_bin(tsr__tr *r, uint32_t *n) {
  uint64_t len = get_varint(r);
  *n = 0;
  if (r->err) return NULL;
  if (len > (uint64_t)(r->end - r->p)) {
    r->err = 1;
    return NULL;
  }
  const uint8_t *p = r->p;
  r->p += len;
  *n = (uint32_t)len;
  return p;
}

uint32_t tsr__tr_list(tsr__tr *r, uint8_t *elem_type) {
  *elem_type = 0;
  if (r->err) return 0;
  if (r->p >= r->end) {
    r->err = 1;
    return 0;
  }
  uint8_t c = *r->p++;
  uint64_t n = c >> 4;
  if (n == 15) n = get_varint(r);
  *elem_type = c & 0x0Fu;
  if (r->err || n > (uint64_t)(r->end - r->p) || *elem_type == TSR__CT_STOP || *elem_type > TSR__CT_STRUCT) {
    r->err = 1;
    return 0;
  }
  return (uint32_t)n;
}

int tsr__tr_want(tsr__tr *r, uint8_t type, uint8_t want) {
  if (type != want) r->err = 1;
  return !r->err;
}

static void skip_bytes(tsr__tr *r, size_t n) {
  if (r->err) return;
  if (n > (size_t)(r->end - r->p)) {
    r->err = 1;
    return;
  }
  r->p += n;
}

void tsr__tr_skip(tsr__tr *r, uint8_t type) {
  if (r->err) return;
  if (++r->depth > TSR__THRIFT_MAX_DEPTH) {
    r->err = 1;
    return;
  }
  switch (type) {
  case TSR__CT_TRUE:
  case TSR__CT_FALSE:
    break; /* a bool field carries its value in the header */
  case TSR__CT_BYTE:
    skip_bytes(r, 1);
    break;
  case TSR__CT_I16:
  case TSR__CT_I32:
  case TSR__CT_I64:
    (void)get_varint(r);
    break;
  case TSR__CT_DOUBLE:
    skip_bytes(r, 8);
    break;
  case TSR__CT_BINARY: {
    uint32_t n;
    (void)tsr__tr_bin(r, &n);
    break;
  }
  case TSR__CT_LIST:
  case TSR__CT_SET: {
    uint8_t et;
    uint32_t n = tsr__tr_list(r, &et);
    for (uint32_t i = 0; i < n && !r->err; i++) {
      /* bools inside containers take one byte each */
      if (et == TSR__CT_TRUE || et == TSR__CT_FALSE)
        skip_bytes(r, 1);
      else
        tsr__tr_skip(r, et);
    }
    break;
  }
  case TSR__CT_MAP: {
    uint64_t n = get_varint(r);
    if (r->err || n == 0) break;
    if (r->p >= r->end || n > (uint64_t)(r->end - r->p)) {
      r->err = 1;
      break;
    }
    uint8_t kv = *r->p++;
    uint8_t kt = kv >> 4, vt = kv & 0x0Fu;
    if (kt == TSR__CT_STOP || vt == TSR__CT_STOP || kt > TSR__CT_STRUCT || vt > TSR__CT_STRUCT) {
      r->err = 1;
      break;
    }
    for (uint64_t i = 0; i < n && !r->err; i++) {
      if (kt == TSR__CT_TRUE || kt == TSR__CT_FALSE)
        skip_bytes(r, 1);
      else
        tsr__tr_skip(r, kt);
      if (vt == TSR__CT_TRUE || vt == TSR__CT_FALSE)
        skip_bytes(r, 1);
      else
        tsr__tr_skip(r, vt);
    }
    break;
  }
  case TSR__CT_STRUCT: {
    int16_t last = 0, id;
    uint8_t t;
    while (tsr__tr_field(r, &last, &id, &t)) tsr__tr_skip(r, t);
    break;
  }
  default:
    r->err = 1;
  }
  r->depth--;
}
