/* tsr_extract_run (tessera/extract.h): one release of one run under one
 * data-sharing agreement.
 *
 * DESIGN
 *   manifest.json ──► config (SHA-256 checked) ──► inputs (SHA-256 checked)
 *        │                                              │
 *        ▼                                              ▼
 *   run files (SHA-256 checked)               sources re-ingested
 *        │                                              │
 *        └──────► links.parquet: patient id of every record
 *                             │
 *   catalogue ─► agreement ─► opt-outs (any linked record listed) ─► cohort
 *                             │
 *                 pseudonyms (HMAC-SHA256, stable key) ─► pseudonym order
 *                             │
 *     tables ─► k-anonymity (generalise or refuse) ─► aggregates (suppressed)
 *                             │
 *   extract_manifest.json, summary.md ─► register append ─► folder committed
 *
 *   The stable key of a patient is "nhs:" and the NHS number held most
 *   often by the patient's records (ties: the smallest); a patient with no
 *   NHS number gets "rec:<source>:<record id>" of the first record in source
 *   order then record id order (docs/pseudonyms.md). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <xxhash.h>

#include "common/buf.h"
#include "common/common_internal.h"
#include "common/date.h"
#include "extract/extract_internal.h"
#include "extract/pseudo.h"
#include "extract/register.h"
#include "report/inputs.h"
#include "report/report.h"
#include "tessera/ingest.h"
#include "tessera/version.h"

void tsr_extract_opts_init(tsr_extract_opts *o) { memset(o, 0, sizeof *o); }

/* --- A set of 64-bit keys ----------------------------------------------------------- */
typedef struct u64set {
  uint64_t *t;
  size_t cap, n;
} u64set;

static int set_add(u64set *s, uint64_t k) {
  if ((s->n + 1) * 2 > s->cap) {
    size_t nc = s->cap ? s->cap * 2 : 1024;
    uint64_t *nt = tsr__calloc(nc, sizeof *nt);
    if (!nt) return -1;
    for (size_t i = 0; i < s->cap; i++)
      if (s->t[i]) {
        size_t h = (size_t)XXH3_64bits(&s->t[i], 8) & (nc - 1);
        while (nt[h]) h = (h + 1) & (nc - 1);
        nt[h] = s->t[i];
      }
    tsr__free(s->t);
    s->t = nt;
    s->cap = nc;
  }
  size_t h = (size_t)XXH3_64bits(&k, 8) & (s->cap - 1);
  while (s->t[h]) {
    if (s->t[h] == k) return 0;
    h = (h + 1) & (s->cap - 1);
  }
  s->t[h] = k;
  s->n++;
  return 0;
}

static int set_has(const u64set *s, uint64_t k) {
  if (!s->cap || !k) return 0;
  size_t h = (size_t)XXH3_64bits(&k, 8) & (s->cap - 1);
  while (s->t[h]) {
    if (s->t[h] == k) return 1;
    h = (h + 1) & (s->cap - 1);
  }
  return 0;
}

/* --- Opt-out lists ------------------------------------------------------------------ */
/* A CSV with a header; the column "nhs_number" (or the only column) holds
 * NHS numbers (spaces allowed: "943 476 5919"). Every row must hold a valid
 * one: a list that cannot be read exactly is an error, never a partial
 * opt-out. */
static int load_list(const char *path, u64set *set, uint64_t *count, tsr_error *err) {
  FILE *f = fopen(path, "r");
  if (!f) return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot open the opt-out list: %s", strerror(errno));
  char line[4096];
  uint64_t ln = 0;
  int col = -1, ncols = 0, rc = 0;
  while (fgets(line, sizeof line, f)) {
    ln++;
    size_t len = strlen(line);
    if (len == sizeof line - 1 && line[len - 1] != '\n') {
      rc = tsr_error_set(err, TSR_EPARSE, path, ln, 1, "line longer than %zu bytes", sizeof line - 2);
      break;
    }
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    char *p = line;
    if (ln == 1 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB && (unsigned char)p[2] == 0xBF) p += 3;
    if (ln == 1) {
      int k = 0;
      for (char *tok = p;; k++) {
        char *comma = strchr(tok, ',');
        size_t tl = comma ? (size_t)(comma - tok) : strlen(tok);
        while (tl && (tok[tl - 1] == ' ' || tok[tl - 1] == '"')) tl--;
        while (tl && (*tok == ' ' || *tok == '"')) tok++, tl--;
        if (tl == 10 && strncasecmp(tok, "nhs_number", 10) == 0) col = k;
        /* a first line holding a number is data, not a header: refuse it rather
         * than skip an opted-out patient */
        size_t digits = 0;
        for (size_t q = 0; q < tl; q++) digits += tok[q] >= '0' && tok[q] <= '9';
        if (digits >= 10) {
          rc = tsr_error_set(err, TSR_EPARSE, path, 1, (uint32_t)(tok - line) + 1,
                             "expected a header line naming the column nhs_number, got a number: the first line "
                             "of an opt-out list is its header");
          break;
        }
        if (!comma) break;
        tok = comma + 1;
      }
      if (rc) break;
      ncols = k + 1;
      if (col < 0 && ncols == 1) col = 0;
      if (col < 0) {
        rc = tsr_error_set(err, TSR_EPARSE, path, 1, 1,
                           "expected a header with a column named nhs_number (or a single column)");
        break;
      }
      continue;
    }
    if (len == 0) continue;
    char *tok = p;
    uint32_t c0 = 1;
    for (int k = 0; k < col; k++) {
      char *comma = strchr(tok, ',');
      if (!comma) {
        tok = NULL;
        break;
      }
      tok = comma + 1;
    }
    if (!tok) {
      rc = tsr_error_set(err, TSR_EPARSE, path, ln, 1, "expected %d columns", ncols);
      break;
    }
    c0 = (uint32_t)(tok - line) + 1;
    uint8_t d[10];
    int nd = 0, bad = 0;
    for (char *q = tok; *q && *q != ','; q++) {
      if (*q >= '0' && *q <= '9') {
        if (nd < 10) d[nd] = (uint8_t)(*q - '0');
        nd++;
      } else if (*q != ' ' && *q != '"') {
        bad = 1;
      }
    }
    uint64_t v = 0;
    for (int i = 0; i < 10 && i < nd; i++) v = v * 10 + d[i];
    if (bad || nd != 10 || !tsr_nhs_valid(v)) {
      rc = tsr_error_set(err, TSR_EPARSE, path, ln, c0,
                         "expected a valid NHS number (10 digits, modulus 11 check digit) in column nhs_number");
      break;
    }
    if (set_add(set, v)) {
      rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
      break;
    }
    (*count)++;
  }
  if (!rc && ferror(f)) rc = tsr_error_set(err, TSR_EIO, path, 0, 0, "read failed");
  if (!rc && ln == 0) rc = tsr_error_set(err, TSR_EPARSE, path, 1, 1, "empty file: expected a header line");
  fclose(f);
  return rc;
}

int tsr__x_optout_list_count(const char *path, uint64_t *count, tsr_error *err) {
  u64set set = {0};
  *count = 0;
  int rc = load_list(path, &set, count, err);
  tsr__free(set.t);
  return rc;
}

/* --- The run ------------------------------------------------------------------------- */
static const char *manifest_file_sha(const json_t *m, const char *name) {
  json_t *files = json_object_get(m, "files");
  size_t i;
  json_t *f;
  json_array_foreach(files, i, f) {
    const char *n = json_string_value(json_object_get(f, "name"));
    if (n && strcmp(n, name) == 0) return json_string_value(json_object_get(f, "sha256"));
  }
  return NULL;
}

/* Checks run file `name` against the manifest; 1 when the run has it. */
static int run_file(tsr__x *X, const char *name, int required, tsr_error *err, int *rc) {
  const char *want = manifest_file_sha(X->manifest, name);
  if (!want) {
    if (required)
      *rc = tsr_error_set(err, TSR_EPARSE, X->o->run_dir, 0, 0, "the run has no %s (manifest.json does not list it)",
                          name);
    return 0;
  }
  char p[2048], hex[65];
  snprintf(p, sizeof p, "%s/%s", X->o->run_dir, name);
  if ((*rc = tsr__sha256_file(p, hex, NULL, err)) != 0) return 0;
  if (strcmp(hex, want) != 0) {
    *rc = tsr_error_set(err, TSR_EPARSE, p, 0, 0,
                        "changed since the run: its SHA-256 is %.16s..., manifest.json says %.16s...; refusing to "
                        "release from a run whose files changed",
                        hex, want);
    return 0;
  }
  return 1;
}

static int load_run(tsr__x *X, tsr_error *err) {
  char p[2048];
  snprintf(p, sizeof p, "%s/manifest.json", X->o->run_dir);
  json_error_t je;
  X->manifest = json_load_file(p, JSON_REJECT_DUPLICATES, &je);
  if (!X->manifest)
    return tsr_error_set(err, TSR_EPARSE, p, (uint64_t)(je.line > 0 ? je.line : 0),
                         (uint32_t)(je.column > 0 ? je.column : 0), "not a run folder's manifest: %s", je.text);
  TSR_FORWARD_IF_ERROR(tsr__sha256_file(p, X->run_manifest_sha, NULL, err));
  json_t *c = json_object_get(X->manifest, "config");
  const char *cpath = json_string_value(json_object_get(c, "path"));
  const char *csha = json_string_value(json_object_get(c, "sha256"));
  if (!cpath || !csha) return tsr_error_set(err, TSR_EPARSE, p, 0, 0, "config.path and config.sha256 are missing");
  json_t *inputs = json_object_get(X->manifest, "inputs");
  if (!json_is_array(inputs))
    return tsr_error_set(err, TSR_EPARSE, p, 0, 0,
                         "the manifest records no input SHA-256 (a run of an older tessera): link again to release "
                         "from it");
  char hex[65];
  int rc = tsr__sha256_file(cpath, hex, NULL, err);
  if (rc) return rc;
  if (strcmp(hex, csha) != 0)
    return tsr_error_set(err, TSR_EPARSE, cpath, 0, 0,
                         "the run's config changed since the run (SHA-256 %.16s..., manifest.json says %.16s...)", hex,
                         csha);
  return tsr_config_load(cpath, &X->cfg, err);
}

static int is_event(const tsr_source_cfg *sc, const char *field) {
  for (uint32_t e = 0; e < sc->n_event_dates; e++)
    if (strcmp(sc->event_dates[e], field) == 0) return 1;
  return 0;
}

/* The columns an extract needs of a source: its id (and every required
 * column, so the same rows are kept or rejected as in the run), NHS numbers
 * (opt-outs, pseudonyms), event dates (cohort, windows, age bands), the
 * patient-level fields when the agreement uses them, and the fields asked
 * for from the source's own table. Names and free text are not re-read. */
static int needed(const tsr__x *X, uint32_t s, const tsr_column_cfg *c) {
  const tsr_source_cfg *sc = &X->cfg->sources[s];
  if (c->required || strcmp(c->column, sc->id_column) == 0 || c->kind == TSR_KIND_NHS_NUMBER) return 1;
  if (c->kind == TSR_KIND_DATE && is_event(sc, c->field) && X->want_event_dates) return 1;
  if (X->want_patient_fields &&
      (c->kind == TSR_KIND_SEX || c->kind == TSR_KIND_POSTCODE || (c->kind == TSR_KIND_DATE && !is_event(sc, c->field))))
    return 1;
  const tsr__agreement *A = X->A;
  for (size_t i = 0; i < A->ntables; i++) {
    if (A->tables[i].table != s) continue; /* source tables come first in the catalogue, in source order */
    for (size_t f = 0; f < A->tables[i].nfields; f++)
      if (strcmp(X->tab[s].f[A->tables[i].fields[f].field].name, c->field) == 0) return 1;
  }
  for (size_t i = 0; i < A->naggs; i++) {
    if (A->aggs[i].table != s) continue;
    for (size_t d = 0; d <= A->aggs[i].nrows; d++) {
      const tsr__dim *dm = d < A->aggs[i].nrows ? &A->aggs[i].rows[d] : &A->aggs[i].column;
      if (strcmp(X->tab[s].f[dm->field].name, c->field) == 0) return 1;
    }
  }
  return 0;
}

/* Re-ingests the sources (the columns the agreement needs) while another
 * thread checks the inputs' SHA-256 against the run's manifest, then
 * attaches each record to its patient. Nothing is released from data that
 * failed the check: the comparison ends this step. */
static int load_sources(tsr__x *X, tsr_error *err) {
  int rc = 0;
  if (!run_file(X, "links.parquet", 1, err, &rc)) return rc;
  X->ns = X->cfg->n_sources;
  X->src = tsr__calloc(X->ns, sizeof *X->src);
  TSR_RETURN_IF(!X->src, err, TSR_ENOMEM, "out of memory");
  tsr__input_hasher *ih = NULL;
  TSR_FORWARD_IF_ERROR(tsr__inputs_hash_start(X->cfg, &ih, err));
  for (uint32_t s = 0; s < X->ns && !rc; s++) {
    tsr__xsrc *S = &X->src[s];
    S->cfg = &X->cfg->sources[s];
    S->gp = S->cfg->origin == TSR_ORIGIN_GP;
    tsr_source_cfg sub = *S->cfg;
    tsr_column_cfg *cols = tsr__malloc((S->cfg->n_columns ? S->cfg->n_columns : 1) * sizeof *cols);
    char **ev = tsr__malloc((S->cfg->n_event_dates ? S->cfg->n_event_dates : 1) * sizeof *ev);
    if (!cols || !ev) {
      tsr__free(cols);
      tsr__free(ev);
      rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
      break;
    }
    sub.n_columns = 0;
    for (uint32_t c = 0; c < S->cfg->n_columns; c++)
      if (needed(X, s, &S->cfg->columns[c])) cols[sub.n_columns++] = S->cfg->columns[c];
    sub.columns = cols;
    sub.event_dates = ev;
    sub.n_event_dates = 0;
    for (uint32_t e = 0; e < S->cfg->n_event_dates; e++) ev[sub.n_event_dates++] = S->cfg->event_dates[e];
    tsr_ingest_opts io;
    tsr_ingest_opts_init(&io);
    io.threads = X->threads;
    io.enforce_reject_limit = 0;
    rc = tsr_ingest_source(&sub, &io, &S->store, NULL, err);
    tsr__free(cols);
    tsr__free(ev);
    if (rc) break;
    S->nhs = tsr_store_kind(S->store, TSR_KIND_NHS_NUMBER);
    S->ev = tsr__calloc(S->cfg->n_event_dates + 1, sizeof *S->ev);
    if (!S->ev) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    for (uint32_t e = 0; e < S->cfg->n_event_dates && !rc; e++)
      for (uint32_t c = 0; c < tsr_store_ncols(S->store); c++)
        if (strcmp(tsr_store_col(S->store, c)->field, S->cfg->event_dates[e]) == 0) S->ev[S->nev++] = (int)c;
  }
  const tsr__input_hash *got = NULL;
  size_t ngot = 0;
  int hrc = tsr__inputs_hash_join(ih, &got, &ngot, rc ? NULL : err);
  if (!rc) rc = hrc;
  json_t *inputs = json_object_get(X->manifest, "inputs");
  for (size_t k = 0; k < ngot && !rc; k++) {
    const char *want = NULL;
    size_t i;
    json_t *f;
    json_array_foreach(inputs, i, f) {
      const char *nm = json_string_value(json_object_get(f, "source"));
      if (nm && strcmp(nm, got[k].source) == 0) want = json_string_value(json_object_get(f, "sha256"));
    }
    if (!want)
      rc = tsr_error_set(err, TSR_EPARSE, X->o->run_dir, 0, 0, "manifest.json's inputs list no source \"%s\"",
                         got[k].source);
    else if (strcmp(want, got[k].sha256) != 0)
      rc = tsr_error_set(err, TSR_EPARSE, got[k].path, 0, 0,
                         "input changed since the run (SHA-256 %.16s..., the run read %.16s...): refusing to release "
                         "from it",
                         got[k].sha256, want);
  }
  tsr__inputs_hash_free(ih);
  if (rc) return rc;
  /* links.parquet lists every stored record, source by source in row order.
   * With the inputs, the config and the run's files unchanged (all checked),
   * the counts confirm the match: each source's records as re-read against
   * report.json's rows_stored, and their sum against the file's rows. */
  char p[2048];
  rc = 0;
  if (!run_file(X, "report.json", 1, err, &rc)) return rc;
  snprintf(p, sizeof p, "%s/report.json", X->o->run_dir);
  json_error_t je;
  json_t *rep = json_load_file(p, 0, &je);
  if (!rep) return tsr_error_set(err, TSR_EPARSE, p, (uint64_t)(je.line > 0 ? je.line : 0), 0, "%s", je.text);
  for (uint32_t s = 0; s < X->ns && !rc; s++) {
    json_t *srcs = json_object_get(rep, "sources"), *e;
    size_t i;
    int64_t stored = -1;
    json_array_foreach(srcs, i, e) {
      const char *nm = json_string_value(json_object_get(e, "source"));
      if (nm && strcmp(nm, X->src[s].cfg->name) == 0) stored = json_integer_value(json_object_get(e, "rows_stored"));
    }
    if (stored != (int64_t)tsr_store_rows(X->src[s].store))
      rc = tsr_error_set(err, TSR_EPARSE, p, 0, 0,
                         "source %s: %llu records as re-read, the run stored %lld: the run and its inputs disagree",
                         X->src[s].cfg->name, (unsigned long long)tsr_store_rows(X->src[s].store), (long long)stored);
  }
  json_decref(rep);
  if (rc) return rc;
  snprintf(p, sizeof p, "%s/links.parquet", X->o->run_dir);
  tsr_pq_reader *rd = NULL;
  TSR_FORWARD_IF_ERROR(tsr_pq_reader_open(p, NULL, &rd, err));
  tsr_pq_column cp;
  memset(&cp, 0, sizeof cp);
  rc = tsr_pq_read_column_by_name(rd, "patient_id", &cp, err);
  uint64_t at = 0;
  for (uint32_t s = 0; s < X->ns && !rc; s++) {
    tsr__xsrc *S = &X->src[s];
    uint64_t n = tsr_store_rows(S->store);
    if (!(S->pid = tsr__malloc((n ? n : 1) * sizeof *S->pid))) {
      rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
      break;
    }
    for (uint64_t r = 0; r < n && !rc; r++, at++) {
      if (at >= cp.nrows || !cp.valid[at] || cp.values.i64[at] < 1) {
        rc = tsr_error_set(err, TSR_EPARSE, p, at + 1, 0,
                           "links.parquet row %llu is not record %llu of source %s as re-read: the run and its "
                           "inputs disagree",
                           (unsigned long long)at + 1, (unsigned long long)r + 1, S->cfg->name);
        break;
      }
      S->pid[r] = cp.values.i64[at];
      if ((uint64_t)S->pid[r] > X->P) X->P = (uint64_t)S->pid[r];
    }
  }
  if (!rc && at != cp.nrows)
    rc = tsr_error_set(err, TSR_EPARSE, p, 0, 0, "links.parquet has %llu rows, the sources %llu records",
                       (unsigned long long)cp.nrows, (unsigned long long)at);
  tsr_pq_column_free(&cp);
  tsr_pq_reader_free(rd);
  if (rc) return rc;
  /* records by patient (counting sort, sources then rows: a stable order) */
  X->roff = tsr__calloc(X->P + 2, sizeof *X->roff);
  X->rec = tsr__malloc((at ? at : 1) * sizeof *X->rec);
  X->flag = tsr__calloc(X->P + 1, 1);
  TSR_RETURN_IF(!X->roff || !X->rec || !X->flag, err, TSR_ENOMEM, "out of memory");
  for (uint32_t s = 0; s < X->ns; s++)
    for (uint64_t r = 0; r < tsr_store_rows(X->src[s].store); r++) X->roff[X->src[s].pid[r] + 1]++;
  for (uint64_t q = 1; q <= X->P + 1; q++) X->roff[q] += X->roff[q - 1];
  for (uint32_t s = 0; s < X->ns; s++)
    for (uint64_t r = 0; r < tsr_store_rows(X->src[s].store); r++) {
      uint64_t q = (uint64_t)X->src[s].pid[r];
      X->rec[X->roff[q]++] = ((uint64_t)s << 40) | r;
      if (!X->src[s].gp) X->flag[q] |= TSR__PF_HAS_NON_GP;
    }
  for (uint64_t q = X->P + 1; q > 0; q--) X->roff[q] = X->roff[q - 1];
  X->roff[0] = 0;
  /* bind the catalogue's source fields to the store's columns */
  for (size_t i = 0; i < X->ntab; i++) {
    tsr__xtab *t = &X->tab[i];
    if (t->kind != TSR__TK_SOURCE) continue;
    const tsr__xsrc *S = &X->src[t->src];
    t->nrows = tsr_store_rows(S->store);
    t->pid = S->pid;
    for (size_t f = 0; f < t->nf; f++) t->f[f].sc = tsr_store_field(S->store, t->f[f].name);
  }
  return 0;
}

/* --- Catalogue ------------------------------------------------------------------------ */

static void classify(const tsr_source_cfg *sc, const tsr_column_cfg *c, tsr__xfield *cf, tsr__vtype *vt) {
  cf->name = c->field;
  cf->what = NULL;
  *vt = TSR__VT_STR;
  switch (c->kind) {
    case TSR_KIND_NHS_NUMBER:
      cf->kind = TSR__XK_IDENTIFIER;
      cf->what = "an NHS number";
      break;
    case TSR_KIND_GIVEN_NAME:
    case TSR_KIND_FAMILY_NAME:
      cf->kind = TSR__XK_IDENTIFIER;
      cf->what = "a name";
      break;
    case TSR_KIND_LOCAL_ID:
      cf->kind = TSR__XK_IDENTIFIER;
      cf->what = "a local patient identifier";
      break;
    case TSR_KIND_TEXT:
      cf->kind = TSR__XK_IDENTIFIER;
      cf->what = strcmp(c->column, sc->id_column) == 0 ? "a record id" : "free text (such as an address)";
      break;
    case TSR_KIND_DATE:
      *vt = TSR__VT_DATE;
      cf->kind = is_event(sc, c->field) ? TSR__XK_EVENT_DATE : TSR__XK_BIRTH_DATE;
      break;
    case TSR_KIND_POSTCODE:
      *vt = TSR__VT_PC;
      cf->kind = TSR__XK_POSTCODE;
      break;
    case TSR_KIND_SEX:
      *vt = TSR__VT_SEX;
      cf->kind = TSR__XK_PLAIN;
      break;
    case TSR_KIND_INTEGER:
      *vt = TSR__VT_I64;
      cf->kind = TSR__XK_PLAIN;
      break;
    default:
      cf->kind = TSR__XK_PLAIN;
      break;
  }
  /* the id column is an identifier whatever its kind */
  if (strcmp(c->column, sc->id_column) == 0) {
    cf->kind = TSR__XK_IDENTIFIER;
    cf->what = "a record id";
  }
}

typedef struct pqdef {
  const char *name;
  tsr__xkind xk;
  tsr__vtype vt;
} pqdef;

static const pqdef k_spells[] = {{"provider", TSR__XK_PLAIN, TSR__VT_STR},  {"admidate", TSR__XK_EVENT_DATE, TSR__VT_DATE},
                                 {"disdate", TSR__XK_EVENT_DATE, TSR__VT_DATE}, {"admimeth", TSR__XK_PLAIN, TSR__VT_STR},
                                 {"admisorc", TSR__XK_PLAIN, TSR__VT_STR},  {"disdest", TSR__XK_PLAIN, TSR__VT_STR},
                                 {"dismeth", TSR__XK_PLAIN, TSR__VT_STR},   {"episodes", TSR__XK_PLAIN, TSR__VT_I64},
                                 {"los", TSR__XK_PLAIN, TSR__VT_I64},       {"diag", TSR__XK_PLAIN, TSR__VT_STR},
                                 {"practice", TSR__XK_PLAIN, TSR__VT_STR}};
static const pqdef k_cips[] = {{"admidate", TSR__XK_EVENT_DATE, TSR__VT_DATE},
                               {"disdate", TSR__XK_EVENT_DATE, TSR__VT_DATE},
                               {"spells", TSR__XK_PLAIN, TSR__VT_I64},
                               {"providers", TSR__XK_PLAIN, TSR__VT_I64},
                               {"los", TSR__XK_PLAIN, TSR__VT_I64}};
static const pqdef k_regs[] = {{"practice", TSR__XK_PLAIN, TSR__VT_STR},
                               {"start", TSR__XK_EVENT_DATE, TSR__VT_DATE},
                               {"end", TSR__XK_EVENT_DATE, TSR__VT_DATE}};

static int add_pq_table(tsr__x *X, const char *name, const char *file, tsr__tkind kind, const pqdef *d, size_t nd,
                        tsr_error *err) {
  int rc = 0;
  if (!run_file(X, file, 0, err, &rc)) return rc;
  tsr__xtab *t = &X->tab[X->ntab++];
  snprintf(t->name, sizeof t->name, "%s", name);
  t->kind = kind;
  t->file = file;
  t->nf = nd;
  t->f = tsr__calloc(nd, sizeof *t->f);
  t->cf = tsr__calloc(nd, sizeof *t->cf);
  TSR_RETURN_IF(!t->f || !t->cf, err, TSR_ENOMEM, "out of memory");
  t->ev = -1;
  t->ev2 = -1;
  for (size_t i = 0; i < nd; i++) {
    if (d[i].xk == TSR__XK_EVENT_DATE && t->ev < 0) t->ev = (int)i; /* admidate, start */
    if (kind == TSR__TK_REGS && strcmp(d[i].name, "end") == 0) t->ev2 = (int)i;
    t->f[i].name = d[i].name;
    t->f[i].vt = d[i].vt;
    t->cf[i] = (tsr__xfield){d[i].name, d[i].xk, NULL};
  }
  t->gp_derived = kind == TSR__TK_REGS;
  return 0;
}

static int build_catalog(tsr__x *X, tsr_error *err) {
  X->tab = tsr__calloc(X->cfg->n_sources + 4, sizeof *X->tab);
  TSR_RETURN_IF(!X->tab, err, TSR_ENOMEM, "out of memory");
  /* patients: birth dates, sex and postcodes across the sources, by field */
  const char *pnames[64];
  tsr__xkind pk[64];
  tsr__vtype pv[64];
  int np = 0;
  for (uint32_t s = 0; s < X->cfg->n_sources; s++) {
    const tsr_source_cfg *sc = &X->cfg->sources[s];
    tsr__xtab *t = &X->tab[X->ntab++];
    snprintf(t->name, sizeof t->name, "%s", sc->name);
    t->kind = TSR__TK_SOURCE;
    t->src = s;
    t->nf = sc->n_columns;
    t->f = tsr__calloc(t->nf ? t->nf : 1, sizeof *t->f);
    t->cf = tsr__calloc(t->nf ? t->nf : 1, sizeof *t->cf);
    TSR_RETURN_IF(!t->f || !t->cf, err, TSR_ENOMEM, "out of memory");
    t->gp_derived = sc->origin == TSR_ORIGIN_GP;
    t->ev = -1;
    t->ev2 = -1;
    for (size_t i = 0; i < t->nf; i++) {
      const tsr_column_cfg *c = &sc->columns[i];
      t->f[i].name = c->field;
      classify(sc, c, &t->cf[i], &t->f[i].vt);
      int patient_level = t->cf[i].kind == TSR__XK_BIRTH_DATE || t->cf[i].kind == TSR__XK_POSTCODE ||
                          (c->kind == TSR_KIND_SEX);
      if (!patient_level) continue;
      int seen = 0;
      for (int k = 0; k < np; k++) seen |= strcmp(pnames[k], c->field) == 0;
      if (!seen && np < 64) {
        pnames[np] = c->field;
        pk[np] = t->cf[i].kind;
        pv[np] = t->f[i].vt;
        np++;
      }
    }
  }
  tsr__xtab *t = &X->tab[X->ntab++];
  snprintf(t->name, sizeof t->name, "patients");
  t->kind = TSR__TK_PATIENTS;
  t->nf = (size_t)np;
  t->f = tsr__calloc(np ? (size_t)np : 1, sizeof *t->f);
  t->cf = tsr__calloc(np ? (size_t)np : 1, sizeof *t->cf);
  TSR_RETURN_IF(!t->f || !t->cf, err, TSR_ENOMEM, "out of memory");
  t->nrows = X->P + 1;
  t->ev = -1;
  t->ev2 = -1;
  X->npf = np;
  X->dob_pf = -1;
  for (int k = 0; k < np; k++) {
    t->f[k].name = pnames[k];
    t->f[k].vt = pv[k];
    t->f[k].pf = k;
    t->cf[k] = (tsr__xfield){pnames[k], pk[k], NULL};
    if (pk[k] == TSR__XK_BIRTH_DATE && X->dob_pf < 0) X->dob_pf = k;
  }
  TSR_FORWARD_IF_ERROR(add_pq_table(X, "spells", "spells.parquet", TSR__TK_SPELLS, k_spells,
                                    sizeof k_spells / sizeof k_spells[0], err));
  TSR_FORWARD_IF_ERROR(
      add_pq_table(X, "cips", "cips.parquet", TSR__TK_CIPS, k_cips, sizeof k_cips / sizeof k_cips[0], err));
  TSR_FORWARD_IF_ERROR(add_pq_table(X, "registrations", "registrations.parquet", TSR__TK_REGS, k_regs,
                                    sizeof k_regs / sizeof k_regs[0], err));
  X->ctab = tsr__calloc(X->ntab, sizeof *X->ctab);
  TSR_RETURN_IF(!X->ctab, err, TSR_ENOMEM, "out of memory");
  for (size_t i = 0; i < X->ntab; i++) X->ctab[i] = (tsr__xtable){X->tab[i].name, X->tab[i].cf, X->tab[i].nf};
  X->cat = (tsr__xcatalog){X->ctab, X->ntab};
  return 0;
}

/* Reads the run file of a table (SPELLS, CIPS, REGS) and groups its rows by
 * patient; the files list a patient's rows together, in patient order. */
int tsr__x_load_pq(tsr__x *X, tsr__xtab *t, tsr_error *err) {
  if (t->rd) return 0;
  char p[2048];
  snprintf(p, sizeof p, "%s/%s", X->o->run_dir, t->file);
  TSR_FORWARD_IF_ERROR(tsr_pq_reader_open(p, NULL, &t->rd, err));
  tsr_pq_column pc;
  memset(&pc, 0, sizeof pc);
  int rc = tsr_pq_read_column_by_name(t->rd, "patient_id", &pc, err);
  if (rc) return rc;
  /* the fields the agreement uses (released, counted, or filtering), each
   * read by its own reader so the columns decode in parallel */
  const tsr__agreement *A = X->A;
  size_t ti = (size_t)(t - X->tab);
  int use[64] = {0};
  for (size_t i = 0; i < A->ntables; i++)
    for (size_t f = 0; A->tables[i].table == ti && f < A->tables[i].nfields; f++) use[A->tables[i].fields[f].field] = 1;
  for (size_t i = 0; i < A->naggs; i++)
    for (size_t d = 0; A->aggs[i].table == ti && d <= A->aggs[i].nrows; d++)
      use[d < A->aggs[i].nrows ? A->aggs[i].rows[d].field : A->aggs[i].column.field] = 1;
  if (t->ev >= 0) use[t->ev] = 1;
  if (t->ev2 >= 0) use[t->ev2] = 1;
  for (size_t i = 0; i < t->nf; i++)
    if (t->kind == TSR__TK_SPELLS && strcmp(t->f[i].name, "diag") == 0 && A->ndiag) use[i] = 1;
  long nf = (long)t->nf;
  int failed = 0;
  tsr_error ferr;
  tsr_error_clear(&ferr);
#pragma omp parallel for schedule(dynamic, 1) num_threads(X->threads) reduction(| : failed)
  for (long i = 0; i < nf; i++) {
    if (!use[i]) continue;
    tsr_error e;
    int r = tsr_pq_reader_open(p, NULL, &t->f[i].rd, &e);
    if (!r) r = tsr_pq_read_column_by_name(t->f[i].rd, t->f[i].name, &t->f[i].pq, &e);
    t->f[i].loaded = !r;
    if (r) {
      failed = 1;
#pragma omp critical(tsr_x_load_err)
      if (!ferr.code) ferr = e, ferr.code = r;
    }
  }
  if (failed) {
    tsr_pq_column_free(&pc);
    if (err) *err = ferr;
    return ferr.code ? ferr.code : TSR_EPARSE;
  }
  t->nrows = pc.nrows;
  t->off = tsr__calloc(X->P + 2, sizeof *t->off);
  int64_t *pid = tsr__malloc((pc.nrows ? pc.nrows : 1) * sizeof *pid);
  if (!t->off || !pid) {
    tsr__free(pid);
    tsr_pq_column_free(&pc);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  }
  for (uint64_t r = 0; r < pc.nrows && !rc; r++) {
    int64_t q = pc.valid[r] ? pc.values.i64[r] : 0;
    if (q < 1 || (uint64_t)q > X->P || (r && q < pid[r - 1]))
      rc = tsr_error_set(err, TSR_EPARSE, p, r + 1, 0, "patient_id out of range or out of order");
    else
      pid[r] = q, t->off[q + 1]++;
  }
  tsr_pq_column_free(&pc);
  t->pid = pid;
  for (uint64_t q = 1; q <= X->P + 1; q++) t->off[q] += t->off[q - 1];
  return rc;
}

/* --- Patients: values, opt-outs, cohort, pseudonyms --------------------------------------- */
static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* The most frequent of n values (ties: the smallest); sorts v. */
static int64_t mode_of(int64_t *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_i64);
  int64_t best = v[0];
  size_t bc = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && v[j] == v[i]) j++;
    if (j - i > bc) bc = j - i, best = v[i];
    i = j;
  }
  return best;
}

static int record_value(const tsr__x *X, uint64_t rec, int k, tsr__vtype vt, int64_t *out) {
  const tsr_column *c = X->src[rec >> 40].pcol[k];
  uint64_t r = rec & ((UINT64_C(1) << 40) - 1);
  if (!c) return 0;
  switch (vt) {
    case TSR__VT_DATE:
      if (!c->i32 || c->i32[r] == TSR_DATE_NONE) return 0;
      *out = c->i32[r];
      return 1;
    case TSR__VT_SEX:
      if (!c->u8 || c->u8[r] == 0) return 0;
      *out = c->u8[r];
      return 1;
    case TSR__VT_PC:
      if (!c->u64 || c->u64[r] == 0) return 0;
      *out = (int64_t)c->u64[r];
      return 1;
    default:
      return 0;
  }
}

static int patient_values(tsr__x *X, tsr_error *err) {
  if (!X->want_patient_fields) return 0;
  const tsr__xtab *pt = NULL;
  for (size_t i = 0; i < X->ntab; i++)
    if (X->tab[i].kind == TSR__TK_PATIENTS) pt = &X->tab[i];
  X->pval = tsr__calloc((size_t)X->npf + 1, sizeof *X->pval);
  TSR_RETURN_IF(!X->pval, err, TSR_ENOMEM, "out of memory");
  for (uint32_t s = 0; s < X->ns; s++) {
    X->src[s].pcol = tsr__calloc((size_t)X->npf + 1, sizeof *X->src[s].pcol);
    TSR_RETURN_IF(!X->src[s].pcol, err, TSR_ENOMEM, "out of memory");
    for (int k = 0; k < X->npf; k++) X->src[s].pcol[k] = tsr_store_field(X->src[s].store, pt->f[k].name);
  }
  for (int k = 0; k < X->npf; k++) {
    X->pval[k] = tsr__malloc((X->P + 1) * sizeof **X->pval);
    TSR_RETURN_IF(!X->pval[k], err, TSR_ENOMEM, "out of memory");
  }
  int oom = 0;
  int64_t sP = (int64_t)X->P;
#pragma omp parallel num_threads(X->threads) reduction(| : oom)
  {
    size_t cap = 64;
    int64_t *buf = tsr__malloc(cap * sizeof *buf);
    if (!buf) oom = 1;
#pragma omp for schedule(dynamic, 4096)
    for (int64_t q = 0; q <= sP; q++) {
      if (oom) continue;
      uint64_t a = X->roff[q], b = X->roff[q + 1];
      if (b - a > cap) {
        size_t nc = cap;
        while (nc < b - a) nc *= 2;
        int64_t *nb = tsr__realloc(buf, nc * sizeof *nb);
        if (!nb) {
          oom = 1;
          continue;
        }
        buf = nb;
        cap = nc;
      }
      int t1 = (X->flag[q] & TSR__PF_TYPE1) != 0;
      for (int k = 0; k < X->npf; k++) {
        size_t n = 0;
        for (uint64_t j = a; j < b; j++) {
          if (t1 && X->src[X->rec[j] >> 40].gp) continue; /* a type 1 patient's GP records say nothing */
          int64_t v;
          if (record_value(X, X->rec[j], k, pt->f[k].vt, &v)) buf[n++] = v;
        }
        X->pval[k][q] = n ? mode_of(buf, n) : INT64_MIN;
      }
    }
    tsr__free(buf);
  }
  TSR_RETURN_IF(oom, err, TSR_ENOMEM, "out of memory");
  return 0;
}

static int optouts(tsr__x *X, tsr_error *err) {
  const tsr__agreement *A = X->A;
  u64set t1 = {0}, nat = {0};
  uint64_t n1 = 0, nn = 0;
  int rc = 0;
  for (size_t k = 0; k < A->n_type1 + A->n_national && !rc; k++) {
    int is_t1 = k < A->n_type1;
    const char *path = is_t1 ? A->optout_type1[k] : A->optout_national[k - A->n_type1];
    uint64_t before = is_t1 ? n1 : nn;
    rc = load_list(path, is_t1 ? &t1 : &nat, is_t1 ? &n1 : &nn, err);
    /* an empty list is allowed (nobody objected) but never silent */
    if (!rc && (is_t1 ? n1 : nn) == before)
      TSR_LOG_W("opt-out list %s holds no NHS number: no patient is removed by it", path);
  }
  X->t1_listed = n1;
  X->nat_listed = nn;
  int any_gp = 0;
  for (uint32_t s = 0; s < X->ns; s++) any_gp |= X->src[s].gp;
  if (!rc && A->n_type1 && !any_gp)
    rc = tsr_error_set(err, TSR_ECONFIG, X->cfg->path, 0, 0,
                       "type 1 opt-outs remove GP-derived records, but no source of the run's config says "
                       "\"origin\": \"gp\" (sources[].origin)");
  X->apply_national = !tsr__legal_basis_exempt(A->legal_basis);
  /* a patient is opted out when ANY record linked to them holds a listed number */
  for (uint32_t s = 0; s < X->ns && !rc; s++) {
    const tsr__xsrc *S = &X->src[s];
    if (!S->nhs) continue;
    int64_t n = (int64_t)tsr_store_rows(S->store);
    uint8_t *flag = X->flag;
#pragma omp parallel for num_threads(X->threads) schedule(static)
    for (int64_t r = 0; r < n; r++) {
      uint64_t v = S->nhs->u64[r];
      if (!v) continue;
      uint8_t b = (uint8_t)((set_has(&t1, v) ? TSR__PF_TYPE1 : 0) | (set_has(&nat, v) ? TSR__PF_NATIONAL : 0));
      if (b) {
#pragma omp atomic update
        flag[S->pid[r]] |= b;
      }
    }
  }
  tsr__free(t1.t);
  tsr__free(nat.t);
  return rc;
}

static int age_at(int32_t dob, int32_t ev) {
  int y1, m1, d1, y2, m2, d2;
  tsr__ymd_from_days(dob, &y1, &m1, &d1);
  tsr__ymd_from_days(ev, &y2, &m2, &d2);
  int a = y2 - y1;
  if (m2 < m1 || (m2 == m1 && d2 < d1)) a--;
  return a;
}

static int prefix_ok(const tsr__agreement *A, tsr_view diag) {
  if (!A->ndiag) return 1;
  if (!diag.len) return 0;
  for (size_t i = 0; i < A->ndiag; i++) {
    size_t l = strlen(A->diag_prefixes[i]);
    if (diag.len < l) continue;
    size_t k = 0;
    while (k < l && (diag.ptr[k] & ~0x20) == (A->diag_prefixes[i][k] & ~0x20)) k++;
    if (k == l) return 1;
  }
  return 0;
}

static int event_ok(const tsr__x *X, int32_t ev, int64_t p) {
  const tsr__agreement *A = X->A;
  if (A->from != TSR_DATE_NONE || A->to != TSR_DATE_NONE) {
    if (ev == TSR_DATE_NONE) return 0;
    if (A->from != TSR_DATE_NONE && ev < A->from) return 0;
    if (A->to != TSR_DATE_NONE && ev > A->to) return 0;
  }
  if (A->age_min >= 0 || A->age_max >= 0) {
    int64_t dob = X->dob_pf >= 0 ? X->pval[X->dob_pf][p] : INT64_MIN;
    if (dob == INT64_MIN || ev == TSR_DATE_NONE) return 0;
    int a = age_at((int32_t)dob, ev);
    if (A->age_min >= 0 && a < A->age_min) return 0;
    if (A->age_max >= 0 && a > A->age_max) return 0;
  }
  return 1;
}

static int cohort(tsr__x *X, tsr_error *err) {
  const tsr__agreement *A = X->A;
  int has_cohort = A->ndiag || A->from != TSR_DATE_NONE || A->to != TSR_DATE_NONE || A->age_min >= 0 ||
                   A->age_max >= 0;
  if ((A->age_min >= 0 || A->age_max >= 0) && X->dob_pf < 0)
    return tsr_error_set(err, TSR_ECONFIG, NULL, 0, 0, "cohort: an age needs a date of birth, and no source has one");
  tsr__xtab *sp = NULL;
  for (size_t i = 0; i < X->ntab; i++)
    if (X->tab[i].kind == TSR__TK_SPELLS) sp = &X->tab[i];
  if (A->ndiag && !sp)
    return tsr_error_set(err, TSR_ECONFIG, NULL, 0, 0,
                         "cohort.diag_prefixes selects patients by their spells, and the run built none (its config "
                         "has no \"episodes\" section)");
  if (has_cohort && sp) TSR_FORWARD_IF_ERROR(tsr__x_load_pq(X, sp, err));
  size_t fdiag = 0;
  if (sp)
    for (size_t i = 0; i < sp->nf; i++)
      if (strcmp(sp->f[i].name, "diag") == 0) fdiag = i;
  for (uint64_t q = 1; q <= X->P; q++) {
    uint8_t f = X->flag[q];
    if (X->roff[q + 1] == X->roff[q]) continue; /* no records: not a patient */
    int in = 1;
    if (X->apply_national && (f & TSR__PF_NATIONAL)) in = 0;
    /* a type 1 patient known only from GP records has nothing left to release */
    if (in && (f & TSR__PF_TYPE1) && !(f & TSR__PF_HAS_NON_GP)) in = 0, X->gp_only_t1++;
    if (in && has_cohort) {
      int ok = 0;
      if (sp) {
        for (uint64_t r = sp->off[q]; r < sp->off[q + 1] && !ok; r++) {
          tsr__xval v;
          tsr__x_value(X, sp, fdiag, r, &v);
          ok = prefix_ok(A, v.present ? v.s : (tsr_view){NULL, 0}) && event_ok(X, tsr__x_event(X, sp, r), (int64_t)q);
        }
      } else {
        for (uint64_t j = X->roff[q]; j < X->roff[q + 1] && !ok; j++) {
          const tsr__xsrc *S = &X->src[X->rec[j] >> 40];
          if ((f & TSR__PF_TYPE1) && S->gp) continue;
          uint64_t r = X->rec[j] & ((UINT64_C(1) << 40) - 1);
          for (int e = 0; e < S->nev && !ok; e++)
            ok = event_ok(X, tsr_store_col(S->store, (uint32_t)S->ev[e])->i32[r], (int64_t)q);
        }
      }
      if (!ok) {
        in = 0;
        X->cohort_out++;
      }
    }
    if (in) X->flag[q] |= TSR__PF_IN | TSR__PF_COHORT;
  }
  /* what each list removed: patients, and records */
  for (uint64_t q = 1; q <= X->P; q++) {
    uint8_t f = X->flag[q];
    uint64_t a = X->roff[q], b = X->roff[q + 1];
    if (X->apply_national && (f & TSR__PF_NATIONAL)) {
      X->nat_patients++;
      X->nat_records += b - a;
    } else if (f & TSR__PF_TYPE1) {
      X->t1_patients++;
      for (uint64_t j = a; j < b; j++) X->t1_records += X->src[X->rec[j] >> 40].gp != 0;
    }
  }
  return 0;
}

typedef struct pkey {
  uint64_t k;
  uint32_t p;
} pkey;

static int pseudonyms(tsr__x *X, const tsr__key *key, tsr_error *err) {
  uint64_t n = 0;
  for (uint64_t q = 1; q <= X->P; q++) n += (X->flag[q] & TSR__PF_IN) != 0;
  uint32_t *pat = tsr__malloc((n ? n : 1) * sizeof *pat);
  tsr_view *msg = tsr__malloc((n ? n : 1) * sizeof *msg);
  char *text = tsr__malloc((n ? n : 1) * 96);
  unsigned char *mac = tsr__malloc((n ? n : 1) * 32);
  X->pseud = tsr__calloc(X->P + 1, 16);
  int rc = 0;
  if (!pat || !msg || !text || !mac || !X->pseud) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  uint64_t k = 0;
  for (uint64_t q = 1; q <= X->P && !rc; q++)
    if (X->flag[q] & TSR__PF_IN) pat[k++] = (uint32_t)q;
  int64_t sn = rc ? 0 : (int64_t)n;
#pragma omp parallel for num_threads(X->threads) schedule(dynamic, 4096)
  for (int64_t i = 0; i < sn; i++) {
    uint64_t q = pat[i];
    char *t = text + (uint64_t)i * 96;
    /* the NHS number held most often by the patient's records */
    uint64_t best = 0, bc = 0;
    for (uint64_t j = X->roff[q]; j < X->roff[q + 1]; j++) {
      const tsr__xsrc *S = &X->src[X->rec[j] >> 40];
      if (!S->nhs) continue;
      uint64_t v = S->nhs->u64[X->rec[j] & ((UINT64_C(1) << 40) - 1)];
      if (!v) continue;
      uint64_t c = 0;
      for (uint64_t i2 = X->roff[q]; i2 < X->roff[q + 1]; i2++) {
        const tsr__xsrc *S2 = &X->src[X->rec[i2] >> 40];
        if (S2->nhs && S2->nhs->u64[X->rec[i2] & ((UINT64_C(1) << 40) - 1)] == v) c++;
      }
      if (c > bc || (c == bc && v < best)) best = v, bc = c;
    }
    int len;
    if (best) {
      len = snprintf(t, 96, "nhs:%010llu", (unsigned long long)best);
    } else {
      /* no NHS number: the first record by source, then record id */
      uint64_t first = X->rec[X->roff[q]];
      for (uint64_t j = X->roff[q] + 1; j < X->roff[q + 1]; j++) {
        uint64_t r = X->rec[j];
        if ((r >> 40) != (first >> 40)) continue;
        tsr_view a = tsr_store_id(X->src[r >> 40].store, r & ((UINT64_C(1) << 40) - 1));
        tsr_view b = tsr_store_id(X->src[first >> 40].store, first & ((UINT64_C(1) << 40) - 1));
        uint32_t m = a.len < b.len ? a.len : b.len;
        int c = memcmp(a.ptr, b.ptr, m);
        if (c < 0 || (c == 0 && a.len < b.len)) first = r;
      }
      tsr_view id = tsr_store_id(X->src[first >> 40].store, first & ((UINT64_C(1) << 40) - 1));
      len = snprintf(t, 96, "rec:%s:%.*s", X->src[first >> 40].cfg->name, (int)(id.len > 80 ? 80 : id.len), id.ptr);
    }
    msg[i] = (tsr_view){t, (uint32_t)(len < 96 ? len : 95)};
  }
  if (!rc) rc = tsr__pseudo_hmac(key, msg, n, mac, X->threads, err);
  for (uint64_t i = 0; i < n && !rc; i++) memcpy(X->pseud + (size_t)pat[i] * 16, mac + i * 32, 16);
  /* included patients in pseudonym order: LSD radix on the first 8 bytes
   * (stable, so equal prefixes keep patient order) */
  pkey *a = rc ? NULL : tsr__malloc((n ? n : 1) * sizeof *a), *b = rc ? NULL : tsr__malloc((n ? n : 1) * sizeof *b);
  if (!rc && (!a || !b)) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  if (!rc) {
    for (uint64_t i = 0; i < n; i++) {
      const unsigned char *m = X->pseud + (size_t)pat[i] * 16;
      uint64_t v = 0;
      for (int j = 0; j < 8; j++) v = v << 8 | m[j];
      a[i] = (pkey){v, pat[i]};
    }
    for (int sh = 0; sh < 64; sh += 8) {
      uint64_t cnt[257] = {0};
      for (uint64_t i = 0; i < n; i++) cnt[((a[i].k >> sh) & 255) + 1]++;
      for (int d = 1; d <= 256; d++) cnt[d] += cnt[d - 1];
      for (uint64_t i = 0; i < n; i++) b[cnt[(a[i].k >> sh) & 255]++] = a[i];
      pkey *tmp = a;
      a = b;
      b = tmp;
    }
    X->order = tsr__malloc((n ? n : 1) * sizeof *X->order);
    if (!X->order) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    for (uint64_t i = 0; i < n && !rc; i++) X->order[i] = a[i].p;
    X->norder = n;
  }
  if (text) sodium_memzero(text, (n ? n : 1) * 96); /* the stable keys hold NHS numbers */
  tsr__free(a);
  tsr__free(b);
  tsr__free(pat);
  tsr__free(msg);
  tsr__free(text);
  tsr__free(mac);
  return rc;
}

/* --- Truth audit: what linking first buys -------------------------------------------- */
/* With the generator's truth (truth.csv: source, record_id, patient_id;
 * truth_patients.csv: patient_id, ..., type1_optout, ndoo_optout): of the
 * records of truly opted-out patients, how many does this extract keep (its
 * patient is released; for type 1, a GP record of a released patient), and
 * how many would the record-level approach keep (drop only rows whose own
 * NHS number is listed)? Every source record is counted whether or not the
 * agreement's tables hold its fields: a kept record is one whose patient's
 * data may be released. */
typedef struct audit {
  uint64_t nat_records, nat_kept, nat_kept_rowlevel;
  uint64_t t1_records, t1_kept, t1_kept_rowlevel;
} audit;

/* 1 with the line in buf, 0 at the end, -1 for a line longer than buf (a
 * truth file is never cut silently). */
static int read_line(FILE *f, char *buf, size_t cap) {
  if (!fgets(buf, (int)cap, f)) return 0;
  size_t n = strlen(buf);
  if (n == cap - 1 && buf[n - 1] != '\n' && !feof(f)) return -1;
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
  return 1;
}

static int truth_audit(tsr__x *X, audit *au, tsr_error *err) {
  memset(au, 0, sizeof *au);
  char p[2048], line[4096];
  snprintf(p, sizeof p, "%s/truth_patients.csv", X->o->truth_dir);
  FILE *f = fopen(p, "r");
  if (!f) return tsr_error_set(err, TSR_EIO, p, 0, 0, "cannot open: %s", strerror(errno));
  int c_t1 = -1, c_nd = -1;
  uint8_t *opt = NULL;
  size_t cap = 0;
  int rc = 0;
  uint64_t ln = 0;
  int got;
  while (!rc && (got = read_line(f, line, sizeof line)) != 0) {
    ln++;
    if (got < 0) {
      rc = tsr_error_set(err, TSR_EPARSE, p, ln, 1, "line longer than %zu bytes", sizeof line - 2);
      break;
    }
    char *tok[64];
    int nt = 0;
    for (char *s = line; nt < 64;) {
      tok[nt++] = s;
      char *c = strchr(s, ',');
      if (!c) break;
      *c = '\0';
      s = c + 1;
    }
    if (ln == 1) {
      for (int k = 0; k < nt; k++) {
        if (strcmp(tok[k], "type1_optout") == 0) c_t1 = k;
        if (strcmp(tok[k], "ndoo_optout") == 0) c_nd = k;
      }
      if (c_t1 < 0 || c_nd < 0 || strcmp(tok[0], "patient_id") != 0)
        rc = tsr_error_set(err, TSR_EPARSE, p, 1, 1, "expected patient_id, ..., type1_optout, ndoo_optout");
      continue;
    }
    if (nt <= (c_t1 > c_nd ? c_t1 : c_nd)) {
      rc = tsr_error_set(err, TSR_EPARSE, p, ln, 1, "too few columns");
      break;
    }
    uint64_t id = strtoull(tok[0], NULL, 10);
    if (id >= cap) {
      size_t nc = cap ? cap : 1 << 16;
      while (nc <= id) nc *= 2;
      uint8_t *no = tsr__realloc(opt, nc);
      if (!no) {
        rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
        break;
      }
      memset(no + cap, 0, nc - cap);
      opt = no;
      cap = nc;
    }
    opt[id] = (uint8_t)((tok[c_t1][0] == '1' ? 1 : 0) | (tok[c_nd][0] == '1' ? 2 : 0));
  }
  fclose(f);
  if (rc) {
    tsr__free(opt);
    return rc;
  }
  /* the record-level approach: rows whose own number is listed */
  u64set t1 = {0}, nat = {0};
  uint64_t n1 = 0, nn = 0;
  for (size_t i = 0; i < X->A->n_type1 && !rc; i++) rc = load_list(X->A->optout_type1[i], &t1, &n1, err);
  for (size_t i = 0; i < X->A->n_national && !rc; i++) rc = load_list(X->A->optout_national[i], &nat, &nn, err);
  snprintf(p, sizeof p, "%s/truth.csv", X->o->truth_dir);
  f = rc ? NULL : fopen(p, "r");
  if (!rc && !f) rc = tsr_error_set(err, TSR_EIO, p, 0, 0, "cannot open: %s", strerror(errno));
  /* record ids of each source, in a hash of (source, id) -> row */
  ln = 0;
  typedef struct ent {
    uint64_t h;
    uint64_t rec;
  } ent;
  uint64_t nrec = X->roff[X->P + 1];
  size_t hcap = 1;
  while (hcap < 2 * nrec + 2) hcap *= 2;
  ent *ht = rc ? NULL : tsr__calloc(hcap, sizeof *ht);
  if (!rc && !ht) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  for (uint32_t s = 0; s < X->ns && !rc; s++)
    for (uint64_t r = 0; r < tsr_store_rows(X->src[s].store); r++) {
      tsr_view id = tsr_store_id(X->src[s].store, r);
      uint64_t h = XXH3_64bits_withSeed(id.ptr, id.len, s + 1) | 1;
      size_t k = (size_t)h & (hcap - 1);
      while (ht[k].h) k = (k + 1) & (hcap - 1);
      ht[k] = (ent){h, ((uint64_t)s << 40) | r};
    }
  while (!rc && (got = read_line(f, line, sizeof line)) != 0) {
    ln++;
    if (got < 0) {
      rc = tsr_error_set(err, TSR_EPARSE, p, ln, 1, "line longer than %zu bytes", sizeof line - 2);
      break;
    }
    if (ln == 1) continue;
    char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
    if (!c2) {
      rc = tsr_error_set(err, TSR_EPARSE, p, ln, 1, "expected source,record_id,patient_id");
      break;
    }
    *c1 = *c2 = '\0';
    int s = tsr_config_source_index(X->cfg, line);
    if (s < 0) continue;
    uint64_t tp = strtoull(c2 + 1, NULL, 10);
    uint8_t o = tp < cap ? opt[tp] : 0;
    if (!o) continue;
    size_t idl = strlen(c1 + 1);
    uint64_t h = XXH3_64bits_withSeed(c1 + 1, idl, (uint64_t)s + 1) | 1;
    size_t k = (size_t)h & (hcap - 1);
    uint64_t rec = UINT64_MAX;
    while (ht[k].h) {
      if (ht[k].h == h && (ht[k].rec >> 40) == (uint64_t)s) {
        tsr_view id = tsr_store_id(X->src[s].store, ht[k].rec & ((UINT64_C(1) << 40) - 1));
        if (id.len == idl && memcmp(id.ptr, c1 + 1, idl) == 0) {
          rec = ht[k].rec;
          break;
        }
      }
      k = (k + 1) & (hcap - 1);
    }
    if (rec == UINT64_MAX) continue; /* rejected at ingest: not in any release */
    const tsr__xsrc *S = &X->src[rec >> 40];
    uint64_t r = rec & ((UINT64_C(1) << 40) - 1);
    int64_t q = S->pid[r];
    uint64_t nhs = S->nhs ? S->nhs->u64[r] : 0;
    int released = (X->flag[q] & TSR__PF_IN) != 0;
    if ((o & 2) && X->apply_national) {
      au->nat_records++;
      au->nat_kept += (uint64_t)released;
      au->nat_kept_rowlevel += !set_has(&nat, nhs);
    }
    if ((o & 1) && S->gp) {
      au->t1_records++;
      au->t1_kept += (uint64_t)(released && !(X->flag[q] & TSR__PF_TYPE1));
      au->t1_kept_rowlevel += !set_has(&t1, nhs);
    }
  }
  if (f) fclose(f);
  tsr__free(ht);
  tsr__free(opt);
  tsr__free(t1.t);
  tsr__free(nat.t);
  return rc;
}

/* --- Output --------------------------------------------------------------------------- */
static int is_listed(const char *name) { return name[0] != '.'; }

static void share_text(char *out, size_t cap, uint64_t a, uint64_t b) {
  if (b)
    snprintf(out, cap, "%.4f%%", 100.0 * (double)a / (double)b);
  else
    snprintf(out, cap, "n/a");
}

static int write_summary(tsr__x *X, const char *dir, const char *release_id, uint64_t patients, uint64_t rows,
                         const audit *au, int have_audit, tsr_error *err) {
  const tsr__agreement *A = X->A;
  tsr__buf b;
  tsr__buf_init(&b, 1 << 14);
  char t[512];
  snprintf(t, sizeof t, "# Research extract under %s\n\nRelease id: %s\n\n", A->reference, release_id);
  tsr__buf_puts(&b, t);
  snprintf(t, sizeof t, "- **Agreement:** %s, for %s\n- **Purpose:** ", A->reference, A->recipient);
  tsr__buf_puts(&b, t);
  tsr__buf_puts(&b, A->purpose);
  snprintf(t, sizeof t, "\n- **Legal basis:** %s; **data category:** %s\n", tsr__legal_basis_name(A->legal_basis),
           tsr__data_category_name(A->category));
  tsr__buf_puts(&b, t);
  snprintf(t, sizeof t, "- **Released:** %llu patients, %llu rows in record-level tables, %zu aggregate tables\n",
           (unsigned long long)patients, (unsigned long long)rows, A->naggs);
  tsr__buf_puts(&b, t);
  tsr__buf_puts(&b, "\n## Opt-outs\n\n");
  snprintf(t, sizeof t,
           "- National data opt-out: %s. Removed %llu patients (%llu records).\n",
           X->apply_national ? "applied" : "not applied (the legal basis is exempt)",
           (unsigned long long)X->nat_patients, (unsigned long long)X->nat_records);
  tsr__buf_puts(&b, t);
  snprintf(t, sizeof t, "- Type 1 objections: applied to GP-derived data. Removed the GP records of %llu patients (%llu records); %llu of them had only GP records and are not released at all.\n",
           (unsigned long long)X->t1_patients, (unsigned long long)X->t1_records, (unsigned long long)X->gp_only_t1);
  tsr__buf_puts(&b, t);
  tsr__buf_puts(&b,
                "\nThe counts say how many, never which. A patient is opted out when any record linked to them "
                "carries a listed NHS number, including patients whose other records have no NHS number.\n");
  if (X->kanon_json) {
    json_t *k = X->kanon_json;
    char pct[32];
    share_text(pct, sizeof pct, (uint64_t)json_integer_value(json_object_get(k, "records_below_k")),
               (uint64_t)json_integer_value(json_object_get(k, "records")));
    snprintf(t, sizeof t,
             "\n## k-anonymity\n\nOn the %s table, quasi-identifiers as released: %lld records in %lld classes; "
             "smallest class %lld; records in classes below k = %lld: %s",
             json_string_value(json_object_get(k, "table")),
             (long long)json_integer_value(json_object_get(k, "records")),
             (long long)json_integer_value(json_object_get(k, "classes")),
             (long long)json_integer_value(json_object_get(k, "smallest_class")),
             (long long)json_integer_value(json_object_get(k, "k")), pct);
    tsr__buf_puts(&b, t);
    size_t ng = json_array_size(json_object_get(k, "generalised"));
    snprintf(t, sizeof t, ". %zu further generalisation step(s) were needed for min_k %lld.\n",
             ng, (long long)json_integer_value(json_object_get(k, "min_k")));
    tsr__buf_puts(&b, t);
  }
  tsr__buf_puts(&b,
                "\n## Method note\n\nRecords were linked into patients first (`tessera link`), and opt-outs were "
                "applied to patients, not rows. Tables are keyed by a pseudonym: HMAC-SHA256 of the patient's NHS "
                "number (or, without one, of a record id) under this agreement's own key, so pseudonyms from two "
                "agreements cannot be joined. Rows are in pseudonym order. Aggregate counts of 1-7 are shown as `*`, "
                "others rounded to the nearest 5, with secondary suppression so that no `*` can be recovered from "
                "the totals; the grand total is exact.\n");
  if (have_audit) {
    char a1[32], a2[32], b1[32], b2[32];
    share_text(a1, sizeof a1, au->nat_kept, au->nat_records);
    share_text(a2, sizeof a2, au->nat_kept_rowlevel, au->nat_records);
    share_text(b1, sizeof b1, au->t1_kept, au->t1_records);
    share_text(b2, sizeof b2, au->t1_kept_rowlevel, au->t1_records);
    snprintf(t, sizeof t,
             "\nMeasured against the generator's truth: of %llu records of truly nationally opted-out patients, "
             "%llu (%s) reach this extract (linkage missed them), against %llu (%s) when only rows carrying a "
             "listed NHS number are dropped. ",
             (unsigned long long)au->nat_records, (unsigned long long)au->nat_kept, a1,
             (unsigned long long)au->nat_kept_rowlevel, a2);
    tsr__buf_puts(&b, t);
    snprintf(t, sizeof t,
             "Of %llu GP records of truly type 1 opted-out patients, %llu (%s) reach it, against %llu (%s) "
             "row by row.\n",
             (unsigned long long)au->t1_records, (unsigned long long)au->t1_kept, b1,
             (unsigned long long)au->t1_kept_rowlevel, b2);
    tsr__buf_puts(&b, t);
  }
  int rc = b.oom ? tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory")
                 : tsr__write_file(dir, "summary.md", b.p, b.len, err);
  tsr__buf_free(&b);
  return rc;
}

static void x_free(tsr__x *X) {
  for (uint32_t s = 0; X->src && s < X->ns; s++) {
    tsr_store_free(X->src[s].store);
    tsr__free(X->src[s].pid);
    tsr__free(X->src[s].ev);
    tsr__free((void *)X->src[s].pcol);
  }
  tsr__free(X->src);
  for (size_t i = 0; X->tab && i < X->ntab; i++) {
    tsr__xtab *t = &X->tab[i];
    for (size_t f = 0; f < t->nf && t->f; f++) {
      if (t->f[f].loaded) tsr_pq_column_free(&t->f[f].pq);
      tsr_pq_reader_free(t->f[f].rd);
    }
    tsr__free(t->f);
    tsr__free(t->cf);
    tsr__free(t->off);
    if (t->kind != TSR__TK_SOURCE) tsr__free((void *)t->pid);
    tsr_pq_reader_free(t->rd);
  }
  tsr__free(X->tab);
  tsr__free(X->ctab);
  for (int k = 0; X->pval && k < X->npf; k++) tsr__free(X->pval[k]);
  tsr__free(X->pval);
  tsr__free(X->roff);
  tsr__free(X->rec);
  tsr__free(X->flag);
  tsr__free(X->pseud);
  tsr__free(X->order);
  tsr__agreement_free(X->A);
  tsr_config_free(X->cfg);
  json_decref(X->manifest);
  json_decref(X->tables_json);
  json_decref(X->kanon_json);
  json_decref(X->aggs_json);
}

/* Removes a flat folder (the stage, or a replaced extract). */
static void remove_dir(const char *dir) {
  tsr__dir_name *names;
  size_t n;
  if (tsr__dir_names(dir, NULL, &names, &n, NULL) == 0) {
    for (size_t i = 0; i < n; i++) {
      char p[2200];
      snprintf(p, sizeof p, "%s/%s", dir, names[i]);
      unlink(p);
    }
    tsr__free(names);
  }
  rmdir(dir);
}

int tsr_extract_run(const tsr_extract_opts *o, tsr_extract_summary *sum, tsr_error *err) {
  tsr_error_clear(err);
  double t0 = tsr__now();
  TSR_RETURN_IF(!o || !o->run_dir || !o->agreement || !o->out_dir || !o->register_path, err, TSR_EINVAL,
                "extract: --run, --agreement, --out and --register are required");
  struct stat st;
  if (stat(o->out_dir, &st) == 0 && !o->overwrite)
    return tsr_error_set(err, TSR_EIO, o->out_dir, 0, 0, "already exists: pass --overwrite to replace it");
  tsr__x X;
  memset(&X, 0, sizeof X);
  X.o = o;
  X.threads = tsr__threads(o->threads);
  X.tables_json = json_object();
  X.aggs_json = json_object();
  tsr__key *key = NULL;
  char stage[2200] = "";
  json_t *stages = json_array();
  double ts = tsr__now();
#define STAGE(name)                                                              \
  do {                                                                           \
    json_t *st_ = json_object();                                                 \
    json_object_set_new(st_, "stage", json_string(name));                        \
    json_object_set_new(st_, "milliseconds", json_integer((json_int_t)((tsr__now() - ts) * 1000))); \
    json_array_append_new(stages, st_);                                          \
    ts = tsr__now();                                                             \
  } while (0)
  int rc = load_run(&X, err);
  if (!rc) rc = build_catalog(&X, err);
  if (!rc) rc = tsr__agreement_load(o->agreement, &X.cat, &X.A, err);
  if (!rc) {
    /* patient-level values are needed for the patients table, an age filter
     * or age bands */
    const tsr__agreement *A = X.A;
    X.want_patient_fields = A->age_min >= 0 || A->age_max >= 0;
    /* event dates: for the cohort and its window, ages, and source tables */
    X.want_event_dates = A->from != TSR_DATE_NONE || A->to != TSR_DATE_NONE || A->age_min >= 0 ||
                         A->age_max >= 0 || A->ndiag;
    for (size_t i = 0; i < A->ntables; i++) {
      X.want_patient_fields |= X.tab[A->tables[i].table].kind == TSR__TK_PATIENTS;
      for (size_t f = 0; f < A->tables[i].nfields; f++) X.want_patient_fields |= A->tables[i].fields[f].gen == TSR__GEN_AGE_BAND;
    }
    for (size_t i = 0; i < A->naggs; i++) X.want_patient_fields |= X.tab[A->aggs[i].table].kind == TSR__TK_PATIENTS;
    X.want_event_dates |= X.want_patient_fields; /* age bands of the patients table: at the last event */
  }
  if (!rc) STAGE("run, config, agreement");
  if (!rc) rc = load_sources(&X, err);
  if (!rc) STAGE("sources re-read, inputs checked, links");
  if (!rc && X.A->category == TSR__CAT_ANONYMISED && X.A->ntables)
    rc = tsr_error_set(err, TSR_ECONFIG, o->agreement, 0, 0,
                       "tables: an anonymised release holds aggregate tables only; record-level tables need "
                       "\"data_category\": \"pseudonymised\"");
  if (!rc) rc = tsr__key_load(X.A->key_file, &key, err);
  if (!rc) rc = optouts(&X, err);
  if (!rc) STAGE("opt-outs");
  if (!rc) rc = patient_values(&X, err);
  if (!rc) STAGE("patient values");
  if (!rc) {
    /* age bands of the patients table: at the cohort's end, else at the last event in the data */
    X.ref_date = X.A->to;
    if (X.ref_date == TSR_DATE_NONE) {
      int32_t mx = TSR_DATE_NONE;
      for (uint32_t s = 0; s < X.ns; s++)
        for (int e = 0; e < X.src[s].nev; e++) {
          const int32_t *d = tsr_store_col(X.src[s].store, (uint32_t)X.src[s].ev[e])->i32;
          for (uint64_t r = 0; r < tsr_store_rows(X.src[s].store); r++)
            if (d[r] != TSR_DATE_NONE && (mx == TSR_DATE_NONE || d[r] > mx)) mx = d[r];
        }
      X.ref_date = mx;
    }
  }
  if (!rc) rc = cohort(&X, err);
  if (!rc) STAGE("cohort");
  if (!rc) rc = pseudonyms(&X, key, err);
  if (!rc) STAGE("pseudonyms");
  tsr__key_free(key);
  key = NULL;
  if (!rc) {
    /* the stage: a hidden sibling of the extract folder, renamed into place at the end */
    char parent[2048];
    snprintf(parent, sizeof parent, "%s", o->out_dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent)
      *slash = '\0';
    else
      snprintf(parent, sizeof parent, "%s", slash == parent ? "/" : ".");
    snprintf(stage, sizeof stage, "%s/.tessera-extract.XXXXXX", parent);
    if (!mkdtemp(stage)) {
      rc = tsr_error_set(err, TSR_EIO, stage, 0, 0, "cannot create the staging folder: %s", strerror(errno));
      stage[0] = '\0';
    }
  }
  uint64_t rows = 0;
  if (!rc) rc = tsr__x_kanon(&X, err);
  if (!rc) STAGE("k-anonymity");
  if (!rc) rc = tsr__x_write_tables(&X, stage, &rows, err);
  if (!rc) STAGE("tables");
  if (!rc) rc = tsr__x_aggregates(&X, stage, err);
  if (!rc) STAGE("aggregates");
  audit au;
  memset(&au, 0, sizeof au);
  if (!rc && o->truth_dir) rc = truth_audit(&X, &au, err);
  char release_id[TSR__RELEASE_ID_CAP] = "";
  json_t *man = NULL, *reg = NULL;
  if (!rc) {
    /* the release id is the register's: known once appended; the summary and
     * manifest name the agreement and are sealed into the register entry */
    rc = write_summary(&X, stage, "assigned by the release register (extract_manifest.json)", X.norder, rows, &au, o->truth_dir != NULL, err);
  }
  if (!rc) {
    man = json_object();
    json_object_set_new(man, "tessera_version", json_string(tsr_version()));
    json_t *ag = json_object();
    char hex[65];
    static const char dg[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) hex[2 * i] = dg[X.A->sha256[i] >> 4], hex[2 * i + 1] = dg[X.A->sha256[i] & 15];
    hex[64] = '\0';
    json_object_set_new(ag, "reference", json_string(X.A->reference));
    json_object_set_new(ag, "sha256", json_string(hex));
    json_object_set_new(ag, "recipient", json_string(X.A->recipient));
    json_object_set_new(ag, "purpose", json_string(X.A->purpose));
    json_object_set_new(ag, "legal_basis", json_string(tsr__legal_basis_name(X.A->legal_basis)));
    json_object_set_new(ag, "data_category", json_string(tsr__data_category_name(X.A->category)));
    json_object_set_new(man, "agreement", ag);
    json_t *run = json_object();
    json_object_set_new(run, "folder", json_string(o->run_dir));
    json_object_set_new(run, "manifest_sha256", json_string(X.run_manifest_sha));
    json_object_set_new(man, "run", run);
    json_object_set_new(man, "patients", json_integer((json_int_t)X.norder));
    json_object_set_new(man, "rows", json_integer((json_int_t)rows));
    json_t *op = json_object();
    json_object_set_new(op, "national_applied", json_boolean(X.apply_national));
    json_object_set_new(op, "national_lists", json_integer((json_int_t)X.A->n_national));
    json_object_set_new(op, "national_numbers_listed", json_integer((json_int_t)X.nat_listed));
    json_object_set_new(op, "national_patients", json_integer((json_int_t)X.nat_patients));
    json_object_set_new(op, "national_records", json_integer((json_int_t)X.nat_records));
    json_object_set_new(op, "type1_applied", json_boolean(1));
    json_object_set_new(op, "type1_lists", json_integer((json_int_t)X.A->n_type1));
    json_object_set_new(op, "type1_numbers_listed", json_integer((json_int_t)X.t1_listed));
    json_object_set_new(op, "type1_patients", json_integer((json_int_t)X.t1_patients));
    json_object_set_new(op, "type1_records", json_integer((json_int_t)X.t1_records));
    json_object_set_new(op, "type1_patients_with_only_gp_records", json_integer((json_int_t)X.gp_only_t1));
    json_object_set_new(man, "opt_outs", op);
    json_object_set_new(man, "cohort_excluded_patients", json_integer((json_int_t)X.cohort_out));
    json_object_set_new(man, "tables", json_incref(X.tables_json));
    json_object_set_new(man, "aggregates", json_incref(X.aggs_json));
    if (X.kanon_json) json_object_set_new(man, "k_anonymity", json_incref(X.kanon_json));
    if (o->truth_dir) {
      json_t *a = json_object();
      json_object_set_new(a, "national_records", json_integer((json_int_t)au.nat_records));
      json_object_set_new(a, "national_kept_linked", json_integer((json_int_t)au.nat_kept));
      json_object_set_new(a, "national_kept_row_level", json_integer((json_int_t)au.nat_kept_rowlevel));
      json_object_set_new(a, "type1_gp_records", json_integer((json_int_t)au.t1_records));
      json_object_set_new(a, "type1_kept_linked", json_integer((json_int_t)au.t1_kept));
      json_object_set_new(a, "type1_kept_row_level", json_integer((json_int_t)au.t1_kept_rowlevel));
      json_object_set_new(man, "truth_audit", a);
    }
    json_object_set_new(man, "stages", stages);
    stages = NULL;
    json_t *files = tsr__files_json(stage, is_listed, err, &rc);
    if (!rc) json_object_set_new(man, "files", files);
    /* the register entry: what was released, to whom, and the files' digests */
    if (!rc) {
      reg = json_object();
      json_object_set_new(reg, "reference", json_string(X.A->reference));
      json_object_set_new(reg, "recipient", json_string(X.A->recipient));
      json_object_set_new(reg, "purpose", json_string(X.A->purpose));
      json_object_set_new(reg, "legal_basis", json_string(tsr__legal_basis_name(X.A->legal_basis)));
      json_object_set_new(reg, "data_category", json_string(tsr__data_category_name(X.A->category)));
      json_object_set_new(reg, "agreement_sha256", json_string(hex));
      json_t *ds = json_array(), *fl = json_object();
      const char *tn;
      json_t *tv;
      json_object_foreach(X.tables_json, tn, tv) {
        json_array_append_new(ds, json_string(tn));
        json_object_set(fl, tn, json_object_get(tv, "fields"));
      }
      json_object_foreach(X.aggs_json, tn, tv) {
        char nm[200];
        snprintf(nm, sizeof nm, "aggregate:%s", tn);
        json_array_append_new(ds, json_string(nm));
      }
      json_object_set_new(reg, "datasets", ds);
      json_object_set_new(reg, "fields", fl);
      json_object_set_new(reg, "patients", json_integer((json_int_t)X.norder));
      json_object_set_new(reg, "rows", json_integer((json_int_t)rows));
      json_t *ro = json_object();
      json_object_set_new(ro, "applied", json_true());
      json_object_set_new(ro, "national_applied", json_boolean(X.apply_national));
      json_object_set_new(ro, "type1_patients", json_integer((json_int_t)X.t1_patients));
      json_object_set_new(ro, "type1_records", json_integer((json_int_t)X.t1_records));
      json_object_set_new(ro, "national_patients", json_integer((json_int_t)X.nat_patients));
      json_object_set_new(ro, "national_records", json_integer((json_int_t)X.nat_records));
      json_object_set_new(reg, "opt_outs", ro);
      json_t *rf = json_array();
      size_t i;
      json_t *f;
      json_array_foreach(files, i, f) {
        json_t *e = json_object();
        json_object_set(e, "name", json_object_get(f, "name"));
        json_object_set(e, "sha256", json_object_get(f, "sha256"));
        json_array_append_new(rf, e);
      }
      json_object_set_new(reg, "files", rf);
      json_object_set_new(reg, "run_manifest_sha256", json_string(X.run_manifest_sha));
      json_object_set_new(reg, "tessera_version", json_string(tsr_version()));
    }
  }
  /* register first: a release that is not in the register must not exist */
  if (!rc) rc = tsr__register_append(o->register_path, reg, release_id, sizeof release_id, err);
  if (!rc) {
    json_object_set_new(man, "release_id", json_string(release_id));
    if (!rc) rc = tsr__write_json(stage, "extract_manifest.json", man, JSON_INDENT(2) | JSON_PRESERVE_ORDER, err);
  }
  if (!rc) {
    char old[2300] = "";
    if (stat(o->out_dir, &st) == 0) {
      snprintf(old, sizeof old, "%s.replaced.XXXXXX", stage);
      if (!mkdtemp(old) || rmdir(old) != 0 || rename(o->out_dir, old) != 0) {
        rc = tsr_error_set(err, TSR_EIO, o->out_dir, 0, 0,
                           "cannot move the earlier extract aside: %s (the release %s is registered; its files are in "
                           "%s)",
                           strerror(errno), release_id, stage);
        stage[0] = '\0';
      }
    }
    if (!rc && rename(stage, o->out_dir) != 0) {
      rc = tsr_error_set(err, TSR_EIO, o->out_dir, 0, 0,
                         "cannot rename the extract into place: %s (the release %s is registered; its files are in %s)",
                         strerror(errno), release_id, stage);
      stage[0] = '\0';
    } else if (!rc) {
      stage[0] = '\0';
      if (old[0]) remove_dir(old);
    }
  }
  if (stage[0]) remove_dir(stage);
  if (!rc && sum) {
    memset(sum, 0, sizeof *sum);
    snprintf(sum->release_id, sizeof sum->release_id, "%s", release_id);
    sum->patients = X.norder;
    sum->rows = rows;
    sum->optout_patients = X.nat_patients + X.t1_patients;
    sum->optout_records = X.nat_records + X.t1_records;
    sum->seconds = tsr__now() - t0;
  }
  json_decref(man);
  json_decref(reg);
  json_decref(stages);
#undef STAGE
  tsr__key_free(key);
  x_free(&X);
  return rc;
}
