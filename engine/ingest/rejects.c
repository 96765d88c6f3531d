/* The rejects sink (rejects.h): rejects.csv under a temporary name until
 * tsr_rejects_close commits it, and the formatting of its rows. */
#include "ingest/rejects.h"

#include <string.h>

#include "ingest/fields.h"

int tsr_rejects_open(const char *dir, tsr_rejects **out, tsr_error *err) {
  *out = NULL;
  tsr_rejects *rj = tsr__calloc(1, sizeof *rj);
  if (!rj) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  int rc = tsr__mkdirs(dir, err);
  if (!rc) rc = tsr__outfile_open(&rj->f, dir, "rejects.csv", err);
  static const char hdr[] = "source,line,column,reason,detail,raw\n";
  if (!rc) rc = tsr__outfile_write(&rj->f, hdr, sizeof hdr - 1, err);
  if (rc) {
    tsr__outfile_abort(&rj->f);
    tsr__free(rj);
    return rc;
  }
  *out = rj;
  return 0;
}

int tsr_rejects_close(tsr_rejects *rj, tsr_error *err) {
  if (!rj) return 0;
  int rc = tsr__outfile_commit(&rj->f, err);
  tsr__free(rj);
  return rc;
}

uint64_t tsr_rejects_count(const tsr_rejects *rj) { return rj ? rj->count : 0; }

int tsr__rejects_append(tsr_rejects *rj, const char *text, size_t len, uint64_t rows, tsr_error *err) {
  int rc = len ? tsr__outfile_write(&rj->f, text, len, err) : 0;
  if (!rc) rj->count += rows;
  return rc;
}

/* Copies s[0..n) to out (room for 4n bytes) with control bytes (but tab) and
 * invalid UTF-8 written as \xNN; returns the length. */
static size_t printable(const char *s, size_t n, char *out) {
  static const char hex[] = "0123456789ABCDEF";
  size_t i = 0, k = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    size_t clen = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (c >= 0x80 && (i + clen > n || !tsr__utf8_valid(s + i, clen))) clen = 0;
    if ((c < 0x20 && c != '\t') || c == 0x7F || clen == 0) {
      out[k++] = '\\';
      out[k++] = 'x';
      out[k++] = hex[c >> 4];
      out[k++] = hex[c & 15];
      i++;
    } else {
      memcpy(out + k, s + i, clen);
      k += clen;
      i += clen;
    }
  }
  return k;
}

static void cell(tsr__buf *b, const char *s, size_t n) {
  char tmp[4 * 256];
  if (n > 256) n = 256;
  tsr__buf_csv_field(b, tmp, printable(s, n, tmp), ',', TSR__CSV_PEOPLE);
}

void tsr__reject_line(tsr__buf *b, const char *source, uint64_t line, uint32_t column, const char *reason,
                      const char *detail, const char *raw, size_t rawlen) {
  cell(b, source, strlen(source));
  tsr__buf_putc(b, ',');
  tsr__buf_u64(b, line);
  tsr__buf_putc(b, ',');
  tsr__buf_u64(b, column);
  tsr__buf_putc(b, ',');
  cell(b, reason, strlen(reason));
  tsr__buf_putc(b, ',');
  cell(b, detail, strlen(detail));
  tsr__buf_putc(b, ',');
  while (rawlen && (raw[rawlen - 1] == '\n' || raw[rawlen - 1] == '\r')) rawlen--;
  cell(b, raw, rawlen > TSR__REJECT_RAW_MAX ? TSR__REJECT_RAW_MAX : rawlen);
  tsr__buf_putc(b, '\n');
}
