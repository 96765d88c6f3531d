/* The truth side of evaluate (evaluate_internal.h): reading the truth CSV
 * through the ingest stage, the record key, a key -> row table and a radix
 * sort, shared by the links measures (evaluate.c) and the threshold sweep
 * (sweep.c). Moved here unchanged from evaluate.c. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "common/common_internal.h"
#include "evaluate/evaluate_internal.h"
#include "tessera/config.h"
#include "tessera/ingest.h"

int tsr__emap_alloc(tsr__emap *m, uint64_t cap) {
  m->k = tsr__calloc(cap, sizeof *m->k);
  m->v = tsr__calloc(cap, sizeof *m->v);
  m->mask = cap - 1;
  m->n = 0;
  return m->k && m->v ? 0 : TSR_ENOMEM;
}
void tsr__emap_free(tsr__emap *m) {
  tsr__free(m->k);
  tsr__free(m->v);
  m->k = NULL;
  m->v = NULL;
}
static inline uint64_t map_home(uint64_t key) { return (key * 0x9E3779B97F4A7C15ull) >> 17; }
static int map_grow(tsr__emap *m) {
  tsr__emap g;
  if (tsr__emap_alloc(&g, (m->mask + 1) * 2)) {
    tsr__emap_free(&g);
    return TSR_ENOMEM;
  }
  for (uint64_t i = 0; i <= m->mask; i++) {
    if (!m->k[i]) continue;
    uint64_t h = map_home(m->k[i]);
    while (g.k[h & g.mask]) h++;
    g.k[h & g.mask] = m->k[i];
    g.v[h & g.mask] = m->v[i];
  }
  g.n = m->n;
  tsr__emap_free(m);
  *m = g;
  return 0;
}
uint64_t tsr__emap_slot(tsr__emap *m, uint64_t key, int *fresh) {
  if (4 * (m->n + 1) > 3 * (m->mask + 1) && map_grow(m)) return UINT64_MAX;
  for (uint64_t h = map_home(key);; h++) {
    uint64_t i = h & m->mask;
    if (m->k[i] == key) {
      *fresh = 0;
      return i;
    }
    if (!m->k[i]) {
      m->k[i] = key;
      m->n++;
      *fresh = 1;
      return i;
    }
  }
}
uint64_t tsr__emap_find(const tsr__emap *m, uint64_t key) {
  for (uint64_t h = map_home(key);; h++) {
    uint64_t i = h & m->mask;
    if (m->k[i] == key) return i;
    if (!m->k[i]) return UINT64_MAX;
  }
}

/* The table from record key to truth row, built only when the files'
 * orders differ or to name a duplicate. Returns -1 when every key went in,
 * the row of the second copy of a duplicate key, or -2 when out of memory. */
int64_t tsr__emap_build_rows(tsr__emap *m, const uint64_t *tkey, uint64_t nt) {
  uint64_t cap = 16;
  while (cap * 3 < nt * 4 + 4) cap <<= 1;
  if (tsr__emap_alloc(m, cap)) return -2;
  for (uint64_t r = 0; r < nt; r++) {
    int fresh;
    uint64_t slot = tsr__emap_slot(m, tkey[r], &fresh);
    if (slot == UINT64_MAX) return -2;
    if (!fresh) return (int64_t)r;
    m->v[slot] = (uint32_t)r;
  }
  return -1;
}

uint64_t tsr__eval_rec_key(const char *src, size_t sl, const char *id, size_t il) {
  uint64_t h = XXH3_64bits_withSeed(id, il, XXH3_64bits(src, sl));
  return h ? h : 1;
}

/* LSD radix sort of n keys below 2^bits, 16 bits a pass; tmp has n entries.
 * Returns the array holding the sorted keys (a or tmp). */
uint64_t *tsr__eval_radix_sort(uint64_t *a, uint64_t *tmp, uint64_t n, int bits) {
  static const uint32_t R = 1u << 16;
  uint64_t *cnt = tsr__malloc(sizeof *cnt * R);
  if (!cnt) return NULL;
  for (int shift = 0; shift < bits; shift += 16) {
    memset(cnt, 0, sizeof *cnt * R);
    for (uint64_t i = 0; i < n; i++) cnt[(a[i] >> shift) & (R - 1)]++;
    uint64_t sum = 0;
    for (uint32_t d = 0; d < R; d++) {
      uint64_t c = cnt[d];
      cnt[d] = sum;
      sum += c;
    }
    for (uint64_t i = 0; i < n; i++) tmp[cnt[(a[i] >> shift) & (R - 1)]++] = a[i];
    uint64_t *t = a;
    a = tmp;
    tmp = t;
  }
  tsr__free(cnt);
  return a;
}

/* Copies CSV field k (0-based) of the line at p into out (quotes undone).
 * Returns 0, or -1 when the line has fewer fields. */
static int csv_field(const char *p, int k, char *out, size_t cap) {
  for (int f = 0;; f++) {
    size_t n = 0;
    int q = *p == '"';
    if (q) p++;
    for (; *p; p++) {
      if (q && *p == '"' && p[1] == '"') p++;
      else if (q && *p == '"') {
        q = 0;
        continue;
      } else if (!q && (*p == ',' || *p == '\n' || *p == '\r')) break;
      if (f == k && n + 1 < cap) out[n++] = *p;
    }
    if (f == k) {
      out[n] = 0;
      return 0;
    }
    if (*p != ',') return -1;
    p++;
  }
}

/* The truth failed the no-rejects rule: ingest it again with a rejects sink
 * in a private scratch folder, and turn the first rejected row into the
 * error (file, line, column, reason, detail). The scratch folder is removed;
 * nothing is written next to the user's files. */
static int name_first_reject(const tsr_source_cfg *src, const tsr_ingest_opts *io0, const tsr_ingest_stats *st,
                             tsr_error *err) {
  const char *tmp = getenv("TMPDIR");
  char dir[4096], path[4200], line[2048];
  snprintf(dir, sizeof dir, "%s/tessera-eval-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  int found = 0;
  unsigned long long ln = 0, col = 0;
  char reason[64] = "", detail[400] = "";
  if (mkdtemp(dir)) {
    tsr_ingest_opts io = *io0;
    tsr_rejects *rj = NULL;
    tsr_error e2;
    tsr_store *s = NULL;
    if (tsr_rejects_open(dir, &rj, &e2) == 0) {
      io.rejects = rj;
      io.enforce_reject_limit = 0;
      (void)tsr_ingest_source(src, &io, &s, NULL, &e2);
      tsr_store_free(s);
      (void)tsr_rejects_close(rj, &e2);
    }
    snprintf(path, sizeof path, "%s/rejects.csv", dir);
    FILE *f = fopen(path, "rb");
    if (f) {
      char f1[32], f2[32];
      /* header, then the first rejected row: source,line,column,reason,detail,raw */
      if (fgets(line, sizeof line, f) && fgets(line, sizeof line, f) && !csv_field(line, 1, f1, sizeof f1) &&
          !csv_field(line, 2, f2, sizeof f2) && !csv_field(line, 3, reason, sizeof reason)) {
        /* a people-facing CSV may prefix a cell with ' (spreadsheet rule) */
        const char *a = f1[0] == '\'' ? f1 + 1 : f1, *b = f2[0] == '\'' ? f2 + 1 : f2;
        ln = strtoull(a, NULL, 10);
        col = strtoull(b, NULL, 10);
        if (csv_field(line, 4, detail, sizeof detail)) detail[0] = 0;
        found = ln > 0;
      }
      fclose(f);
    }
    unlink(path);
    rmdir(dir);
  }
  if (!found)
    return tsr_error_set(err, TSR_EPARSE, src->path, 0, 0,
                         "%llu of %llu truth rows cannot be read; the truth must have no bad rows",
                         (unsigned long long)st->rows_rejected, (unsigned long long)st->rows_read);
  return tsr_error_set(err, TSR_EPARSE, src->path, ln, (uint32_t)col,
                       "truth row rejected (%s%s%s); the truth must have no bad rows, and %llu of %llu are bad", reason,
                       detail[0] ? ": " : "", detail, (unsigned long long)st->rows_rejected,
                       (unsigned long long)st->rows_read);
}

/* Ingests the one source of the generated config cfgj (consumed) with no
 * bad row allowed. */
static int read_clean(json_t *cfgj, const char *truth_csv, int threads, int ids_may_repeat, tsr_store **out,
                      tsr_error *err) {
  char *text = cfgj ? json_dumps(cfgj, 0) : NULL;
  json_decref(cfgj);
  if (!text) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  tsr_config *cfg = NULL;
  int rc = tsr_config_parse(text, strlen(text), truth_csv, "", &cfg, err);
  free(text);
  if (rc) return rc;
  tsr_ingest_opts io;
  tsr_ingest_opts_init(&io);
  io.threads = threads;
  io.enforce_reject_limit = 1;
  io.ids_may_repeat = ids_may_repeat;
  cfg->sources[0].max_reject_share = 0.0; /* truth must be clean */
  tsr_ingest_stats st;
  memset(&st, 0, sizeof st);
  rc = tsr_ingest_source(&cfg->sources[0], &io, out, &st, err);
  if (rc == TSR_EREJECTS) rc = name_first_reject(&cfg->sources[0], &io, &st, err);
  tsr_config_free(cfg);
  return rc;
}


int tsr__eval_read_truth(const char *truth_csv, int threads, tsr_store **out, tsr_error *err) {
  json_t *cfgj = json_pack("{s:i, s:[{s:s, s:s, s:s, s:{s:{s:s, s:b}, s:{s:s}, s:{s:s, s:b}}}]}", "version", 1,
                           "sources", "name", "truth", "path", truth_csv, "id", "record_id", "columns", "source",
                           "kind", "code", "required", 1, "record_id", "kind", "text", "patient_id", "kind",
                           "local_id", "required", 1);
  /* truth ids are unique per (source, record_id), not per record_id */
  return read_clean(cfgj, truth_csv, threads, 1, out, err);
}

int tsr__eval_read_truth_spells(const char *truth_csv, int threads, tsr_store **out, tsr_error *err) {
  /* spell_id and cips_id may be empty: an episode with no true spell */
  json_t *cfgj =
      json_pack("{s:i, s:[{s:s, s:s, s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}}}]}", "version", 1, "sources", "name",
                "truth_spells", "path", truth_csv, "id", "epikey", "columns", "epikey", "kind", "text", "spell_id",
                "kind", "local_id", "cips_id", "kind", "local_id");
  /* an epikey twice is an error naming both lines */
  return read_clean(cfgj, truth_csv, threads, 0, out, err);
}
