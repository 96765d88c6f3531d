/* libFuzzer harness for the CSV reader. Three leading bytes pick the setup,
 * the rest is the file:
 *   byte 0  dialect: bits 0-1 delimiter, 2 no quoting, 3 trim, 4 no header;
 *           bits 5-6 encoding: 0/3 plain, 1 gzip, 2 zstd; bit 7 cut the
 *           compressed file short
 *   byte 1  kinds of columns b and c (of the ten kinds)
 *   byte 2  kind of column d (low nibble), bit 4 date layout, bit 5 record
 *           ids may repeat
 * It checks the tokenizer's invariants on the raw buffer, then ingests the
 * file through the whole pipeline twice - one thread with large segments,
 * two threads with tiny ones - and requires identical stores and results,
 * reconciled counts, and that a compressed file cut short is always an
 * error (never a shorter file read in silence). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "ingest/csv.h"
#include "tessera/config.h"
#include "tessera/ingest.h"

static char g_path[3][64];

static void check_tokenizer(const tsr__csv_dialect *d, const char *buf, size_t len) {
  tsr__csv_field f[17];
  char *scratch = malloc(len + 1);
  tsr__csv_record rec;
  rec.f = f;
  size_t pos = 0;
  while (pos < len) {
    tsr__csv_status st = tsr__csv_next(d, buf, len, pos, 1, scratch, &rec);
    if (st == TSR__CSV_NEED_MORE) abort(); /* never at EOF */
    if (rec.end <= pos || rec.end > len) abort();
    /* an unterminated quote costs its first line only */
    if (st == TSR__CSV_UNTERMINATED) {
      const char *nl = memchr(buf + pos, '\n', len - pos);
      if (rec.end != (nl ? (size_t)(nl - buf) + 1 : len)) abort();
    }
    if (st == TSR__CSV_OK) {
      for (uint32_t i = 0; i < rec.nf && i < d->max_fields; i++) {
        const char *p = f[i].p;
        int in_buf = p >= buf && p + f[i].len <= buf + len;
        int in_scr = p >= scratch && p + f[i].len <= scratch + len + 1;
        if (!in_buf && !in_scr) abort();
      }
    }
    pos = rec.end;
  }
  free(scratch);
}

static uint64_t ingest(const tsr_source_cfg *src, int threads, size_t seg, int ids_may_repeat, uint64_t *read,
                       uint64_t *stored, uint64_t *rejected, int *rc) {
  tsr_ingest_opts o;
  tsr_ingest_opts_init(&o);
  o.threads = threads;
  o.segment_bytes = seg;
  o.max_record_bytes = 2048;
  o.enforce_reject_limit = 0;
  o.ids_may_repeat = ids_may_repeat;
  tsr_store *s = NULL;
  tsr_ingest_stats st;
  tsr_error err;
  *rc = tsr_ingest_source(src, &o, &s, &st, &err);
  if (*rc) return 0;
  *read = st.rows_read;
  *stored = st.rows_stored;
  *rejected = st.rows_rejected;
  if (st.rows_read != st.rows_stored + st.rows_rejected) abort();
  if (tsr_store_rows(s) != st.rows_stored) abort();
  for (uint32_t i = 0; i < tsr_store_ncols(s); i++) {
    const tsr_column *c = tsr_store_col(s, i);
    if (c->n_examples > TSR_INVALID_EXAMPLES || c->n_examples > c->n_invalid) abort();
    if (c->n_invalid + c->n_pseudo > c->n_missing || c->n_missing > st.rows_stored) abort();
    for (uint32_t k = 1; k < c->n_examples; k++)
      if (c->examples[k].line <= c->examples[k - 1].line) abort();
    char w[512];
    tsr_ingest_field_warning(src, s, c->field, w, sizeof w);
  }
  uint64_t d = tsr_store_digest(s);
  tsr_store_free(s);
  return d;
}

/* Writes text to path, compressed by enc (1 gzip, 2 zstd); cut drops that
 * many bytes from the end of the compressed file. Returns 0 on success. */
static int write_encoded(const char *path, const char *text, size_t len, int enc, size_t cut) {
  size_t cap = len + len / 8 + 4096;
  unsigned char *z = malloc(cap);
  size_t zn = 0;
  if (enc == 1) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    zs.next_in = (Bytef *)(uintptr_t)text;
    zs.avail_in = (uInt)len;
    zs.next_out = z;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) abort();
    zn = cap - zs.avail_out;
    deflateEnd(&zs);
  } else {
    zn = ZSTD_compress(z, cap, text, len, 1);
    if (ZSTD_isError(zn)) abort();
  }
  if (cut >= zn) cut = zn - 1; /* a strict, non-empty prefix */
  FILE *f = fopen(path, "wb");
  if (!f) {
    free(z);
    return -1;
  }
  fwrite(z, 1, zn - cut, f);
  fclose(f);
  free(z);
  return 0;
}

static const char *const k_kinds[10] = {"nhs_number", "given_name", "family_name", "date",    "sex",
                                        "postcode",   "local_id",   "code",        "text",    "integer"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  uint8_t mode = data[0], k1 = data[1], k2 = data[2];
  const char *buf = (const char *)data + 3;
  size_t len = size - 3;
  static const char delims[4] = {',', '|', '\t', ';'};
  tsr__csv_dialect d = {delims[mode & 3], (mode & 4) ? '\0' : '"', (mode >> 3) & 1, 16, 1024, 0};
  check_tokenizer(&d, buf, len);
  d.expect_fields = 4; /* the runaway-quote check, as ingest sets it */
  check_tokenizer(&d, buf, len);

  int enc = (mode >> 5) & 3;
  if (enc == 3) enc = 0;
  size_t cut = (mode & 0x80) && enc ? 1 + (size_t)(k2 >> 6) * 7 : 0;
  if (!g_path[0][0])
    for (int e = 0; e < 3; e++)
      snprintf(g_path[e], sizeof g_path[e], "/dev/shm/tsr_fuzz_%d.csv%s", (int)getpid(),
               e == 1 ? ".gz" : e == 2 ? ".zst" : "");
  const char *path = g_path[enc];
  if (enc) {
    if (write_encoded(path, buf, len, enc, cut)) return 0;
  } else {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(buf, 1, len, f);
    fclose(f);
  }
  const int noh = (mode >> 4) & 1;
  char cfg[2048];
  snprintf(cfg, sizeof cfg,
           "{\"sources\": [{\"name\": \"f\", \"path\": \"%s\", \"delimiter\": \"%s\", \"quote\": \"%s\", "
           "\"trim\": %s, \"header\": %s, \"null_tokens\": [\"\", \"NULL\"], \"id\": \"%s\", \"columns\": {"
           "\"%s\": {\"kind\": \"local_id\"}, \"%s\": {\"kind\": \"%s\"%s}, \"%s\": {\"kind\": \"%s\"%s}, "
           "\"%s\": {\"kind\": \"%s\"%s}}}]}",
           path, (mode & 3) == 2 ? "\\t" : (char[]){delims[mode & 3], 0}, (mode & 4) ? "" : "\\\"",
           (mode >> 3) & 1 ? "true" : "false", noh ? "false" : "true", noh ? "1" : "a", noh ? "1" : "a",
           noh ? "2" : "b", k_kinds[k1 % 10], k1 % 10 == 3 ? ", \"format\": \"DD/MM/YYYY\"" : "", noh ? "3" : "c",
           k_kinds[(k1 / 10) % 10], (k1 / 10) % 10 == 3 ? ", \"format\": [\"YYYY-MM-DD\", \"DD/MM/YY\"]" : "",
           noh ? "4" : "d", k_kinds[k2 % 10],
           k2 % 10 == 3 ? ((k2 & 16) ? ", \"format\": \"YYYYMMDD\", \"min\": \"1990-01-01\"" : ", \"max\": \"2000-12-31\"")
                        : "");
  tsr_config *c = NULL;
  tsr_error err;
  if (tsr_config_parse(cfg, strlen(cfg), "fuzz.json", "/", &c, &err)) abort(); /* our own config must parse */
  int may_repeat = (k2 >> 5) & 1;
  uint64_t r1 = 0, s1 = 0, j1 = 0, r2 = 0, s2 = 0, j2 = 0;
  int rc1, rc2;
  uint64_t d1 = ingest(&c->sources[0], 1, 1 << 20, may_repeat, &r1, &s1, &j1, &rc1);
  uint64_t d2 = ingest(&c->sources[0], 2, 4096, may_repeat, &r2, &s2, &j2, &rc2);
  if (rc1 != rc2) abort();
  if (!rc1 && (d1 != d2 || r1 != r2 || s1 != s2 || j1 != j2)) abort();
  if (cut && rc1 != TSR_EIO) abort(); /* a cut compressed file is never read as a shorter one */
  tsr_config_free(c);
  return 0;
}
