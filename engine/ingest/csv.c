/* RFC 4180 tokenizer and the segment helpers for parallel parsing; see csv.h
 * for the design. Everything here is a pure function of its arguments, so
 * any number of threads can call it on one shared buffer. */
#include "ingest/csv.h"

#include <string.h>

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
                              char *scratch, tsr__csv_record *rec) {
  const char delim = d->delim, quote = d->quote;
  size_t i = pos;
  size_t sp = 0; /* scratch used */
  uint32_t nf = 0;
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

void tsr__csv_scan(const tsr__csv_dialect *d, const char *buf, size_t a, size_t b, uint8_t *parity,
                   uint64_t *newlines) {
  uint64_t q = 0, nl = 0;
  const char quote = d->quote;
  for (size_t i = a; i < b; i++) {
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
