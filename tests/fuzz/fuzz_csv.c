/* libFuzzer harness for the CSV reader. The first byte picks the dialect
 * (delimiter, quote, trim, header); the rest is the file. It checks the
 * tokenizer's invariants on the raw buffer, then ingests the bytes through
 * the whole pipeline twice - one thread with large segments, two threads
 * with tiny ones - and requires identical stores and reconciled counts, so
 * the parallel speculation and its fallback are fuzzed too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/csv.h"
#include "tessera/config.h"
#include "tessera/ingest.h"

static char g_path[64];

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

static uint64_t ingest(const tsr_source_cfg *src, int threads, size_t seg, uint64_t *read, uint64_t *stored,
                       uint64_t *rejected, int *rc) {
  tsr_ingest_opts o;
  tsr_ingest_opts_init(&o);
  o.threads = threads;
  o.segment_bytes = seg;
  o.max_record_bytes = 2048;
  o.enforce_reject_limit = 0;
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
  uint64_t d = tsr_store_digest(s);
  tsr_store_free(s);
  return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0];
  const char *buf = (const char *)data + 1;
  size_t len = size - 1;
  static const char delims[4] = {',', '|', '\t', ';'};
  tsr__csv_dialect d = {delims[mode & 3], (mode & 4) ? '\0' : '"', (mode >> 3) & 1, 16, 1024};
  check_tokenizer(&d, buf, len);

  if (!g_path[0]) snprintf(g_path, sizeof g_path, "/dev/shm/tsr_fuzz_%d.csv", (int)getpid());
  FILE *f = fopen(g_path, "wb");
  if (!f) return 0;
  fwrite(buf, 1, len, f);
  fclose(f);
  char cfg[1024];
  snprintf(cfg, sizeof cfg,
           "{\"sources\": [{\"name\": \"f\", \"path\": \"%s\", \"delimiter\": \"%s\", \"quote\": \"%s\", "
           "\"trim\": %s, \"header\": %s, \"id\": \"%s\", \"columns\": {\"%s\": {\"kind\": \"local_id\"}, "
           "\"%s\": {\"kind\": \"family_name\"}, \"%s\": {\"kind\": \"date\", \"format\": \"DD/MM/YYYY\"}}}]}",
           g_path, (mode & 3) == 2 ? "\\t" : (char[]){delims[mode & 3], 0}, (mode & 4) ? "" : "\\\"",
           (mode >> 3) & 1 ? "true" : "false", (mode >> 4) & 1 ? "false" : "true",
           (mode >> 4) & 1 ? "1" : "a", (mode >> 4) & 1 ? "1" : "a", (mode >> 4) & 1 ? "2" : "b",
           (mode >> 4) & 1 ? "3" : "c");
  tsr_config *c = NULL;
  tsr_error err;
  if (tsr_config_parse(cfg, strlen(cfg), "fuzz.json", "/", &c, &err)) abort(); /* our own config must parse */
  uint64_t r1 = 0, s1 = 0, j1 = 0, r2 = 0, s2 = 0, j2 = 0;
  int rc1, rc2;
  uint64_t d1 = ingest(&c->sources[0], 1, 1 << 20, &r1, &s1, &j1, &rc1);
  uint64_t d2 = ingest(&c->sources[0], 2, 4096, &r2, &s2, &j2, &rc2);
  if (rc1 != rc2) abort();
  if (!rc1 && (d1 != d2 || r1 != r2 || s1 != s2 || j1 != j2)) abort();
  tsr_config_free(c);
  return 0;
}
