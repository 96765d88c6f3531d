/* RFC 4180 tokenizer and the segment helpers for parallel parsing; see csv.h
 * for the design. Everything here is a pure function of its arguments, so
 * any number of threads can call it on one shared buffer. */
#include "ingest/csv.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline int is_blank(const tsr__csv_dialect *d, char c) { return (c == ' ' || c == '\t') && c != d->delim; }

/* First '\n' at or after i, or len. */
static size_t line_end(const char *buf, size_t i, size_t len) {
  const char *nl = i < len ? memchr(buf + i, '\n', len - i) : NULL;
  return nl ? (size_t)(nl - buf) : len;
}

/* Counts '\n' in buf[a, b). */
static uint32_t count_nl(const char *buf, size_t a, size_t b) {
  uint32_t n = 0;
  for (const char *p = buf + a, *e = buf + b; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++) n++;
  return n;
}

/* Ends a failed record at the end of the physical line holding `from`, so
 * the next record starts on the next line. */
static tsr__csv_status fail_at_line(const char *buf, size_t len, size_t from, tsr__csv_record *rec,
                                    tsr__csv_status st) {
  size_t e = line_end(buf, from, len);
  rec->end = e < len ? e + 1 : len;
  rec->lines = count_nl(buf, rec->start, rec->end);
  return st;
}

tsr__csv_status tsr__csv_next(const tsr__csv_dialect *d, const char *buf, size_t len, size_t pos, int eof,
                              char *scratch, tsr__csv_record *rec);

/* The runaway-quote probe (csv.h): does the line starting at `from` parse,
 * on its own, as one complete record of d->expect_fields fields? 1 yes, 0 no,
 * -1 cannot tell yet (the line runs past the buffer end). The probe dialect
 * has expect_fields 0, so probes never nest. */
static int probe_line(const tsr__csv_dialect *d, const char *buf, size_t len, int eof, size_t from, char *scratch) {
  size_t e = line_end(buf, from, len);
  if (e >= len && !eof) return -1;
  size_t stop = e < len ? e + 1 : len;
  if (stop - from <= 2 && (stop == from || buf[from] == '\n' || buf[from] == '\r')) return 0; /* blank */
  tsr__csv_dialect pd = *d;
  pd.expect_fields = 0;
  pd.max_fields = 0; /* count fields, store none */
  tsr__csv_field unused;
  tsr__csv_record pr;
  pr.f = &unused;
  tsr__csv_status st = tsr__csv_next(&pd, buf, stop, from, 1, scratch, &pr);
  return st == TSR__CSV_OK && pr.end == stop && pr.nf == d->expect_fields;
}

/* The exact RFC 4180 state machine, byte by byte. */
static tsr__csv_status csv_next_slow(const tsr__csv_dialect *d, const char *buf, size_t len, size_t pos, int eof,
                                     char *scratch, tsr__csv_record *rec) {
  const char delim = d->delim, quote = d->quote;
  size_t i = pos;
  size_t sp = 0; /* scratch used */
  uint32_t nf = 0;
  int probed = !d->expect_fields; /* the runaway-quote check runs at most once */
  rec->start = pos;
  rec->bad_field = 0;
  rec->lines = 0;
  for (;;) {
    /* --- one field starts at i --- */
    if (d->trim)
      while (i < len && is_blank(d, buf[i])) i++;
    tsr__csv_field fld = {buf + i, 0, 0};
    if (quote && i < len && buf[i] == quote) {
      size_t j = i + 1, start = j;
      char *w = NULL; /* non-NULL once an escape forced a copy */
      for (;;) {
        const char *q = memchr(buf + j, quote, len - j);
        if (!probed) {
          size_t upto = q ? (size_t)(q - buf) : len;
          const char *nl = memchr(buf + j, '\n', upto - j);
          if (nl) {
            /* the quoted field crosses the end of the record's first line */
            size_t from = (size_t)(nl - buf) + 1;
            size_t e = line_end(buf, from, len);
            size_t stop = e < len ? e + 1 : len;
            /* a record that long is overlong whatever the probe says */
            int pr = stop - pos > d->max_record ? 0 : probe_line(d, buf, len, eof, from, scratch + (from - pos));
            if (pr < 0) return TSR__CSV_NEED_MORE;
            probed = 1;
            if (pr > 0) {
              rec->bad_field = nf + 1;
              return fail_at_line(buf, len, pos, rec, TSR__CSV_UNTERMINATED);
            }
          }
        }
        if (!q) {
          if (!eof && len - pos <= d->max_record) return TSR__CSV_NEED_MORE;
          rec->bad_field = nf + 1;
          return fail_at_line(buf, len, pos, rec, eof ? TSR__CSV_UNTERMINATED : TSR__CSV_OVERLONG);
        }
        size_t k = (size_t)(q - buf);
        if (memchr(buf + j, '\0', k - j)) {
          rec->bad_field = nf + 1;
          return fail_at_line(buf, len, j, rec, TSR__CSV_NUL);
        }
        if (k + 1 >= len && !eof) return TSR__CSV_NEED_MORE; /* can't tell "" from end yet */
        if (k + 1 < len && buf[k + 1] == quote) {        /* escaped quote */
          if (!w) {
            w = scratch + sp;
            memcpy(w, buf + start, k - start);
            w += k - start;
          } else {
            memcpy(w, buf + j, k - j);
            w += k - j;
          }
          *w++ = quote;
          j = k + 2;
          continue;
        }
        /* closing quote */
        if (w) {
          memcpy(w, buf + j, k - j);
          w += k - j;
          fld.p = scratch + sp;
          fld.len = (uint32_t)(w - (scratch + sp));
          sp += fld.len;
        } else {
          fld.p = buf + start;
          fld.len = (uint32_t)(k - start);
        }
        fld.quoted = 1;
        i = k + 1;
        break;
      }
      if (d->trim)
        while (i < len && is_blank(d, buf[i])) i++;
      if (i < len && buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n') i++;
      if (i < len && buf[i] != delim && buf[i] != '\n') {
        rec->bad_field = nf + 1;
        return fail_at_line(buf, len, i, rec, TSR__CSV_STRAY_QUOTE);
      }
      if (i >= len && i - pos > d->max_record) {
        rec->bad_field = nf + 1;
        return fail_at_line(buf, len, pos, rec, TSR__CSV_OVERLONG);
      }
    } else {
      size_t j = i;
      while (j < len) {
        char c = buf[j];
        if (c == delim || c == '\n') break;
        if (c == quote && quote) {
          rec->bad_field = nf + 1;
          return fail_at_line(buf, len, j, rec, TSR__CSV_STRAY_QUOTE);
        }
        if (c == '\0') {
          rec->bad_field = nf + 1;
          return fail_at_line(buf, len, j, rec, TSR__CSV_NUL);
        }
        j++;
      }
      if (j - pos > d->max_record) {
        rec->bad_field = nf + 1;
        return fail_at_line(buf, len, pos, rec, TSR__CSV_OVERLONG);
      }
      if (j >= len && !eof) return TSR__CSV_NEED_MORE;
      size_t e = j;
      if (e > i && buf[e - 1] == '\r' && j < len && buf[j] == '\n') e--;
      if (d->trim)
        while (e > i && is_blank(d, buf[e - 1])) e--;
      fld.len = (uint32_t)(e - i);
      i = j;
    }
    if (nf < d->max_fields) rec->f[nf] = fld;
    nf++;
    /* --- after the field: a delimiter, the end of the record, or the end --- */
    if (i >= len) { /* eof without a final newline */
      if (!eof) return TSR__CSV_NEED_MORE;
      rec->end = len;
      break;
    }
    if (buf[i] == '\n') {
      rec->end = i + 1;
      break;
    }
    i++; /* delimiter */
    if (i >= len) {
      if (!eof) return TSR__CSV_NEED_MORE;
      /* "a,b," at EOF: a last, empty field */
      if (nf < d->max_fields) rec->f[nf] = (tsr__csv_field){buf + len, 0, 0};
      nf++;
      rec->end = len;
      break;
    }
  }
  rec->nf = nf;
  rec->lines = count_nl(buf, pos, rec->end);
  if (rec->end - pos > d->max_record) return TSR__CSV_OVERLONG;
  return TSR__CSV_OK;
}

#if defined(__SSE2__)
/* Fast path for the common record: no quotes, no NUL, not near the buffer
 * end. Finds delimiters and the newline sixteen bytes at a time; anything
 * unusual hands the whole record to the exact state machine. Returns 1 when
 * it produced the record. */
static int csv_next_fast(const tsr__csv_dialect *d, const char *buf, size_t len, size_t pos, tsr__csv_record *rec) {
  const __m128i vd = _mm_set1_epi8(d->delim), vn = _mm_set1_epi8('\n'), vz = _mm_setzero_si128();
  const __m128i vq = _mm_set1_epi8(d->quote ? d->quote : '\n');
  size_t i = pos, fs = pos;
  uint32_t nf = 0;
  const uint32_t maxf = d->max_fields;
  const size_t limit = pos + d->max_record < len ? pos + d->max_record : len;
  while (i + 16 <= limit) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(buf + i));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, vd), _mm_cmpeq_epi8(v, vn)),
                               _mm_or_si128(_mm_cmpeq_epi8(v, vq), _mm_cmpeq_epi8(v, vz)));
    unsigned m = (unsigned)_mm_movemask_epi8(hit);
    while (m) {
      size_t j = i + (size_t)__builtin_ctz(m);
      char c = buf[j];
      if (c == d->delim) {
        if (nf < maxf) rec->f[nf] = (tsr__csv_field){buf + fs, (uint32_t)(j - fs), 0};
        nf++;
        fs = j + 1;
      } else if (c == '\n') {
        size_t e = j;
        if (e > fs && buf[e - 1] == '\r') e--;
        if (nf < maxf) rec->f[nf] = (tsr__csv_field){buf + fs, (uint32_t)(e - fs), 0};
        nf++;
        rec->nf = nf;
        rec->start = pos;
        rec->end = j + 1;
        rec->lines = 1;
        rec->bad_field = 0;
        if (d->trim) {
          uint32_t stored = nf < maxf ? nf : maxf;
          for (uint32_t k = 0; k < stored; k++) {
            tsr__csv_field *f = &rec->f[k];
            while (f->len && is_blank(d, f->p[0])) {
              f->p++;
              f->len--;
            }
            while (f->len && is_blank(d, f->p[f->len - 1])) f->len--;
          }
        }
        return 1;
      } else {
        return 0; /* a quote or a NUL: the exact parser decides */
      }
      m &= m - 1;
    }
    i += 16;
  }
  return 0;
}
#endif

tsr__csv_status tsr__csv_next(const tsr__csv_dialect *d, const char *buf, size_t len, size_t pos, int eof,
                              char *scratch, tsr__csv_record *rec) {
#if defined(__SSE2__)
  if (csv_next_fast(d, buf, len, pos, rec)) return TSR__CSV_OK;
#endif
  return csv_next_slow(d, buf, len, pos, eof, scratch, rec);
}

void tsr__csv_scan(const tsr__csv_dialect *d, const char *buf, size_t a, size_t b, uint8_t *parity,
                   uint64_t *newlines) {
  uint64_t q = 0, nl = 0;
  const char quote = d->quote;
  size_t i = a;
#if defined(__SSE2__)
  /* per-byte counters (cmpeq gives -1, so subtract), folded with SAD before
   * they can overflow: no POPCNT needed on baseline x86-64 */
  const __m128i vq = _mm_set1_epi8(quote), vn = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
  while (i + 16 <= b) {
    __m128i cq = zero, cn = zero;
    size_t stop = i + 16 * 255 < b ? i + 16 * 255 : b;
    for (; i + 16 <= stop; i += 16) {
      __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(buf + i));
      cq = _mm_sub_epi8(cq, _mm_cmpeq_epi8(v, vq));
      cn = _mm_sub_epi8(cn, _mm_cmpeq_epi8(v, vn));
    }
    __m128i sq = _mm_sad_epu8(cq, zero), sn = _mm_sad_epu8(cn, zero);
    q += (uint64_t)_mm_cvtsi128_si32(sq) + (uint64_t)_mm_cvtsi128_si32(_mm_srli_si128(sq, 8));
    nl += (uint64_t)_mm_cvtsi128_si32(sn) + (uint64_t)_mm_cvtsi128_si32(_mm_srli_si128(sn, 8));
  }
#endif
  for (; i < b; i++) {
    q += buf[i] == quote;
    nl += buf[i] == '\n';
  }
  *parity = quote ? (uint8_t)(q & 1u) : 0;
  *newlines = nl;
}

size_t tsr__csv_first_record(const tsr__csv_dialect *d, const char *buf, size_t a, size_t len, uint8_t in_quote,
                             uint64_t *newlines) {
  uint64_t nl = 0;
  const char quote = d->quote;
  for (size_t i = a; i < len; i++) {
    char c = buf[i];
    if (quote && c == quote)
      in_quote ^= 1u;
    else if (c == '\n') {
      nl++;
      if (!in_quote) {
        *newlines = nl;
        return i + 1;
      }
    }
  }
  *newlines = nl;
  return len;
}
