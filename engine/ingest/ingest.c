/* Ingest of one source: reading (plain, gzip, zstd), parallel parsing of
 * large batches, per-field standardisation, rejects, and the merge into the
 * columnar store.
 *
 * DESIGN
 *   file ─► reader ─► batch buffer [carry | new bytes .................... ]
 *                         │ cut into segments; csv.h's three passes find
 *                         │ true record starts; each segment parses its
 *                         │ records in parallel into its own column buffers
 *                         ▼
 *                     seam check ─(mismatch: a stray quote)─► sequential re-parse
 *                         ▼
 *                     merge segments in file order into the store, rejects
 *                     into rejects.csv; the unfinished last record is
 *                     carried into the next batch
 *   Sink / Combine / Finalize: segments are the per-thread sinks, the ordered
 *   merge the combine, tsr__col_finalize the single-threaded finish. The
 *   store is identical for any thread count (tested with its digest). */
/* madvise(MADV_DONTNEED) is not in POSIX (posix_madvise's DONTNEED is a
 * no-op on Linux), hence the default feature set */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_INLINE_ALL /* short keys: inlined XXH3 beats a call into the shared library */
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include "common/date.h"
#include "common/rng.h"
#include "ingest/csv.h"
#include "ingest/fields.h"
#include "ingest/names.h"
#include "ingest/store_internal.h"

#define MAX_COLUMNS 4096
#define NAME_CAP 256
#define RAW_MAX 200

static const char *const k_reject_names[TSR_REJECT_COUNT] = {
#define TSR__RJ_NAME(id, name, desc) name,
    TSR_REJECT_LIST(TSR__RJ_NAME)
#undef TSR__RJ_NAME
};

const char *tsr_reject_name(tsr_reject_reason r) {
  return (unsigned)r < TSR_REJECT_COUNT ? k_reject_names[r] : "unknown";
}

void tsr_ingest_opts_init(tsr_ingest_opts *o) {
  memset(o, 0, sizeof *o);
  o->segment_bytes = (size_t)4 << 20;
  o->max_record_bytes = (size_t)1 << 20;
  o->enforce_reject_limit = 1;
}

/* --- rejects sink ------------------------------------------------------------ */
struct tsr_rejects {
  tsr__outfile f;
  uint64_t count;
};

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

/* CSV field with quotes doubled; control bytes and invalid UTF-8 shown as
 * \xNN so rejects.csv is always clean UTF-8 text. */
static void put_csv_escaped(tsr__buf *b, const char *s, size_t n) {
  tsr__buf_putc(b, '"');
  size_t i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    size_t clen = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (c >= 0x80 && (i + clen > n || !tsr__utf8_valid(s + i, clen))) clen = 0;
    if (c == '"') {
      tsr__buf_put(b, "\"\"", 2);
      i++;
    } else if ((c < 0x20 && c != '\t') || c == 0x7F || clen == 0) {
      static const char hex[] = "0123456789ABCDEF";
      char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
      tsr__buf_put(b, e, 4);
      i++;
    } else {
      tsr__buf_put(b, s + i, clen);
      i += clen;
    }
  }
  tsr__buf_putc(b, '"');
}

/* --- reader ---------------------------------------------------------------------- */
enum { R_PLAIN, R_GZIP, R_ZSTD };
typedef struct {
  int kind, fd;
  const char *map; /* plain files are mapped: batches are windows, no copy */
  size_t map_len, map_pos, released;
  gzFile gz;
  ZSTD_DCtx *zd;
  char *zin;
  size_t zin_len, zin_pos, zin_cap;
  int zeof;
  size_t zhint; /* the decoder's last return: 0 when the frames so far are complete */
  uint64_t zread; /* compressed bytes read from the file (zstd) */
  uint64_t file_bytes;
  const char *path;
} reader_t;

static int ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcmp(s + n - m, suf) == 0;
}

static int reader_open(reader_t *r, const char *path, tsr_error *err) {
  memset(r, 0, sizeof *r);
  r->fd = -1;
  r->path = path;
  r->kind = ends_with(path, ".gz") ? R_GZIP : (ends_with(path, ".zst") || ends_with(path, ".zstd")) ? R_ZSTD : R_PLAIN;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      close(fd);
      return tsr_error_set(err, TSR_EIO, path, 0, 0, "is a folder, expected a CSV file");
    }
    r->file_bytes = (uint64_t)st.st_size;
  }
  if (r->kind == R_GZIP) {
    r->gz = gzdopen(fd, "rb");
    if (!r->gz) {
      close(fd);
      return tsr_error_set(err, TSR_ENOMEM, path, 0, 0, "cannot start gzip decoder");
    }
    gzbuffer(r->gz, 1u << 20);
    return 0;
  }
  r->fd = fd;
  if (r->kind == R_PLAIN && r->file_bytes > 0) {
    void *m = mmap(NULL, (size_t)r->file_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m != MAP_FAILED) { /* else: fall back to read() */
      madvise(m, (size_t)r->file_bytes, MADV_SEQUENTIAL);
      r->map = m;
      r->map_len = (size_t)r->file_bytes;
    }
  }
  if (r->kind == R_ZSTD) {
    r->zd = ZSTD_createDCtx();
    r->zin_cap = ZSTD_DStreamInSize() * 16;
    r->zin = tsr__malloc(r->zin_cap);
    if (!r->zd || !r->zin) return tsr_error_set(err, TSR_ENOMEM, path, 0, 0, "cannot start zstd decoder");
  }
  return 0;
}

/* How far into the file on disk reading has got, for progress. */
static uint64_t reader_file_pos(reader_t *r, uint64_t text_bytes) {
  if (r->kind == R_GZIP) {
    long off = gzoffset(r->gz);
    return off > 0 ? (uint64_t)off : 0;
  }
  if (r->kind == R_ZSTD) return r->zread - (r->zin_len - r->zin_pos);
  return r->map ? r->map_pos : text_bytes;
}

/* Releases mapped pages below `upto` from this process (they stay in the
 * page cache), so RSS does not grow with the file. */
static void reader_release(reader_t *r, size_t upto) {
  if (!r->map) return;
  size_t page = (size_t)1 << 21, end = upto & ~(page - 1);
  if (end > r->released) {
    madvise((void *)(uintptr_t)(r->map + r->released), end - r->released, MADV_DONTNEED);
    r->released = end;
  }
}

static void reader_close(reader_t *r) {
  if (r->map) munmap((void *)(uintptr_t)r->map, r->map_len);
  if (r->gz) gzclose(r->gz);
  if (r->fd >= 0) close(r->fd);
  if (r->zd) ZSTD_freeDCtx(r->zd);
  tsr__free(r->zin);
  memset(r, 0, sizeof *r);
  r->fd = -1;
}

/* Reads up to n bytes; returns the count (0 = end) or a negative error. */
static int64_t reader_read(reader_t *r, char *dst, size_t n, tsr_error *err) {
  if (r->kind == R_PLAIN) {
    for (;;) {
      ssize_t got = read(r->fd, dst, n);
      if (got >= 0) return got;
      if (errno != EINTR) return tsr_error_set(err, TSR_EIO, r->path, 0, 0, "read failed: %s", strerror(errno));
    }
  }
  if (r->kind == R_GZIP) {
    unsigned want = n > (1u << 30) ? (1u << 30) : (unsigned)n;
    int got = gzread(r->gz, dst, want);
    int e = Z_OK;
    const char *m = got <= 0 ? gzerror(r->gz, &e) : NULL;
    /* gzread reads concatenated members itself; at the end of the input it
     * returns 0 and leaves Z_BUF_ERROR ("unexpected end of file") when the
     * last member has no trailer: the file was cut short */
    if (got == 0 && e == Z_BUF_ERROR)
      return tsr_error_set(err, TSR_EIO, r->path, 0, 0,
                           "the gzip file is truncated (%s): its last member has no trailer and CRC", m);
    if (got < 0) return tsr_error_set(err, TSR_EIO, r->path, 0, 0, "gzip data is corrupt: %s", m);
    return got;
  }
  ZSTD_outBuffer out = {dst, n, 0};
  while (out.pos < out.size) {
    if (r->zin_pos == r->zin_len && !r->zeof) {
      ssize_t got = read(r->fd, r->zin, r->zin_cap);
      if (got < 0) {
        if (errno == EINTR) continue;
        return tsr_error_set(err, TSR_EIO, r->path, 0, 0, "read failed: %s", strerror(errno));
      }
      if (got == 0) r->zeof = 1;
      r->zin_len = (size_t)got;
      r->zin_pos = 0;
      r->zread += (uint64_t)got;
    }
    /* called with no input too: the decoder may still hold output */
    ZSTD_inBuffer in = {r->zin, r->zin_len, r->zin_pos};
    size_t before = out.pos, in_before = in.pos;
    size_t rc = ZSTD_decompressStream(r->zd, &out, &in);
    r->zin_pos = in.pos;
    if (ZSTD_isError(rc))
      return tsr_error_set(err, TSR_EIO, r->path, 0, 0, "zstd data is corrupt: %s", ZSTD_getErrorName(rc));
    int progress = out.pos != before || in.pos != in_before;
    if (progress) r->zhint = rc; /* (an idle call after a frame asks for the next frame's header) */
    if (r->zeof && r->zin_pos == r->zin_len && !progress) break;
  }
  /* at the end of the input, a frame still waiting for bytes was cut short
   * (0 from the decoder means every frame so far is complete) */
  if (out.pos == 0 && r->zeof && r->zread > 0 && r->zhint != 0)
    return tsr_error_set(err, TSR_EIO, r->path, 0, 0,
                         "the zstd file is truncated: its last frame is incomplete (%llu compressed bytes read)",
                         (unsigned long long)r->zread);
  return (int64_t)out.pos;
}

/* --- per-segment state --------------------------------------------------------------- */
#define VEC 1024

/* Codes are short and few: up to 7 bytes pack into a 64-bit key (with the
 * length in the top byte, so keys are unique), and a direct-mapped cache
 * maps it to the segment's dictionary id without hashing text. */
#define CCACHE 1024
typedef struct {
  uint64_t key; /* 0 = empty */
  uint32_t id;
} ccache_t;


/* Names repeat: a few thousand distinct values cover most rows. A small
 * direct-mapped cache per name column maps the raw bytes (compared in full,
 * not trusted to the hash) to the standardised name and its hash and codes. */
#define NCACHE 2048
#define NCACHE_RAW 24
typedef struct {
  uint64_t raw_hash, hash;
  uint32_t nysiis;
  uint16_t soundex;
  uint8_t raw_len, std_len; /* raw_len 0 = empty slot */
  char raw[NCACHE_RAW];
  char std[NCACHE_RAW + 8];
} ncache_t;

typedef struct {
  uint64_t line;
  uint32_t column;
  tsr_reject_reason why;
  size_t raw_start, raw_end;
  char detail[200];
} pend_t;

/* Each segment is written by one thread, with per-record counters: aligned
 * to cache lines so neighbouring segments never share one. (Measured: no
 * clear change on this 2-core VM; it matters more with many threads.) */
typedef struct {
  _Alignas(64) tsr__col *cols;
  tsr__buf rejects; /* ready-made rejects.csv lines */
  uint64_t rej[TSR_REJECT_COUNT];
  uint64_t rows_read, rows_stored;
  size_t start, stop;
  uint64_t line0;     /* line number of the segment's first record */
  uint64_t lines;     /* newlines consumed */
  int need_more;      /* stopped at an unfinished record */
  char *scratch;
  size_t scratch_cap;
  char *names; /* NAME_CAP per column */
  size_t scratch_used;
  /* the current vector */
  tsr__csv_field *mat; /* VEC x nfields */
  uint64_t *vline;
  size_t *vspan; /* raw start, end per row */
  uint32_t *alive;
  uint32_t vn, nalive;
  pend_t *pend; /* rejects waiting to be written in line order */
  uint32_t npend;
  ncache_t **ncache; /* per column: NCACHE entries for name columns, else NULL */
  ccache_t **ccache; /* per column: CCACHE entries for code columns, else NULL */
  uint64_t *rline;   /* line of each stored row (rows_stored entries) */
  uint64_t rline_cap;
  int oom;
} seg_t;

typedef struct {
  const tsr_source_cfg *src;
  tsr__csv_dialect d;
  uint32_t nfields;  /* fields per row, from the header (or first row) */
  int32_t *map;      /* config column -> file field index */
  uint32_t ncols;
} ictx_t;

static int seg_init(seg_t *s, const ictx_t *x, size_t scratch_cap) {
  memset(s, 0, sizeof *s);
  s->cols = tsr__calloc(x->ncols ? x->ncols : 1, sizeof *s->cols);
  s->names = tsr__malloc((size_t)NAME_CAP * (x->ncols ? x->ncols : 1));
  /* room for a vector's worth of unescaped quoted text plus one record */
  s->scratch_cap = scratch_cap * 2;
  s->scratch = tsr__malloc(s->scratch_cap);
  s->mat = tsr__malloc(sizeof(tsr__csv_field) * VEC * x->d.max_fields);
  s->vline = tsr__malloc(sizeof(uint64_t) * VEC);
  s->vspan = tsr__malloc(sizeof(size_t) * 2 * VEC);
  s->alive = tsr__malloc(sizeof(uint32_t) * VEC);
  s->pend = tsr__malloc(sizeof(pend_t) * (2 * VEC + 2)); /* tokenizer rejects + required-field rejects */
  s->ncache = tsr__calloc(x->ncols ? x->ncols : 1, sizeof *s->ncache);
  s->ccache = tsr__calloc(x->ncols ? x->ncols : 1, sizeof *s->ccache);
  if (!s->ncache || !s->ccache) return TSR_ENOMEM;
  for (uint32_t i = 0; i < x->ncols; i++) {
    tsr_field_kind k = x->src->columns[i].kind;
    if ((k == TSR_KIND_GIVEN_NAME || k == TSR_KIND_FAMILY_NAME) &&
        !(s->ncache[i] = tsr__calloc(NCACHE, sizeof(ncache_t))))
      return TSR_ENOMEM;
    if (k == TSR_KIND_CODE && !(s->ccache[i] = tsr__calloc(CCACHE, sizeof(ccache_t)))) return TSR_ENOMEM;
  }
  tsr__buf_init(&s->rejects, 0);
  if (!s->cols || !s->names || !s->scratch || !s->mat || !s->vline || !s->vspan ||
      !s->alive || !s->pend)
    return TSR_ENOMEM;
  for (uint32_t i = 0; i < x->ncols; i++) tsr__col_init(&s->cols[i], x->src->columns[i].kind);
  return 0;
}

static void seg_free(seg_t *s, uint32_t ncols) {
  if (s->cols)
    for (uint32_t i = 0; i < ncols; i++) tsr__col_free(&s->cols[i]);
  tsr__free(s->cols);
  tsr__free(s->names);
  tsr__free(s->scratch);
  tsr__free(s->mat);
  tsr__free(s->vline);
  tsr__free(s->vspan);
  tsr__free(s->alive);
  tsr__free(s->pend);
  for (uint32_t i = 0; i < ncols; i++) {
    if (s->ncache) tsr__free(s->ncache[i]);
    if (s->ccache) tsr__free(s->ccache[i]);
  }
  tsr__free(s->ncache);
  tsr__free(s->ccache);
  tsr__free(s->rline);
  tsr__buf_free(&s->rejects);
}

static void seg_reset(seg_t *s, uint32_t ncols) {
  for (uint32_t i = 0; i < ncols; i++) tsr__col_clear(&s->cols[i]);
  /* code ids are per batch (the segment dictionary is cleared) */
  for (uint32_t i = 0; s->ccache && i < ncols; i++)
    if (s->ccache[i]) memset(s->ccache[i], 0, sizeof(ccache_t) * CCACHE);
  s->rejects.len = 0;
  memset(s->rej, 0, sizeof s->rej);
  s->rows_read = s->rows_stored = s->lines = 0;
  s->need_more = 0;
}

static void add_reject(const ictx_t *x, seg_t *s, uint64_t line, uint32_t column, tsr_reject_reason why,
                       const char *detail, const char *raw, size_t rawlen) {
  s->rej[why]++;
  tsr__buf *b = &s->rejects;
  tsr__buf_puts(b, x->src->name);
  tsr__buf_putc(b, ',');
  tsr__buf_u64(b, line);
  tsr__buf_putc(b, ',');
  tsr__buf_u64(b, column);
  tsr__buf_putc(b, ',');
  tsr__buf_puts(b, k_reject_names[why]);
  tsr__buf_putc(b, ',');
  put_csv_escaped(b, detail, strlen(detail));
  tsr__buf_putc(b, ',');
  /* the raw row without its line terminator, truncated */
  while (rawlen && (raw[rawlen - 1] == '\n' || raw[rawlen - 1] == '\r')) rawlen--;
  put_csv_escaped(b, raw, rawlen > RAW_MAX ? RAW_MAX : rawlen);
  tsr__buf_putc(b, '\n');
  if (b->oom) s->oom = 1;
}

static int is_null_token(const tsr_source_cfg *src, const char *p, uint32_t n) {
  for (uint32_t i = 0; i < src->n_null_tokens; i++) {
    const char *t = src->null_tokens[i];
    if (t[0] == '\0' ? n == 0 : (strncmp(t, p, n) == 0 && t[n] == '\0')) return 1;
  }
  return 0;
}

static uint64_t hash_str(const char *s, size_t n) {
  uint64_t h = XXH3_64bits(s, n);
  return h ? h : 1; /* 0 means missing */
}

/* Standardises one field into v. Returns TSR__V_*. */
static int standardise(const tsr_column_cfg *cc, const char *p, uint32_t n, char *namebuf, tsr__val *v) {
  memset(v, 0, sizeof *v);
  switch (cc->kind) {
  case TSR_KIND_NHS_NUMBER:
    return tsr__std_nhs(p, n, &v->u64);
  case TSR_KIND_DATE:
    return tsr__std_date(p, n, cc->formats, cc->n_formats, cc->min_date, cc->max_date, &v->i32);
  case TSR_KIND_SEX:
    return tsr__std_sex(p, n, &v->u8);
  case TSR_KIND_POSTCODE:
    return tsr__std_postcode(p, n, &v->u64);
  case TSR_KIND_INTEGER: {
    int r = tsr__std_integer(p, n, &v->i64);
    if (r != TSR__V_OK) v->i64 = TSR_INT_NONE;
    return r;
  }
  case TSR_KIND_GIVEN_NAME:
  case TSR_KIND_FAMILY_NAME: {
    if (n == 0) return TSR__V_MISSING;
    int len = tsr__name_standardise(p, n, namebuf, NAME_CAP);
    if (len <= 0) return TSR__V_INVALID; /* nothing left of a non-empty value */
    v->s = namebuf;
    v->len = (uint32_t)len;
    v->hash = hash_str(namebuf, (size_t)len);
    v->soundex = tsr__soundex(namebuf, (size_t)len);
    v->nysiis = tsr__nysiis(namebuf, (size_t)len);
    return TSR__V_OK;
  }
  case TSR_KIND_LOCAL_ID:
  case TSR_KIND_CODE:
    if (n == 0) return TSR__V_MISSING;
    v->s = p;
    v->len = n;
    v->hash = hash_str(p, n);
    return TSR__V_OK;
  default: /* text */
    if (n == 0) return TSR__V_MISSING;
    v->s = p;
    v->len = n;
    return TSR__V_OK;
  }
}

/* --- vectors: tokenize a batch of rows, then standardise column by column ---
 * A vector holds up to VEC rows as a field matrix (row-major views into the
 * buffer). Required columns are checked first, rejected rows dropped, then
 * every column is standardised in one tight loop per kind: no per-value
 * dispatch, and each loop touches one output column. Rejects of a vector are
 * written in line order. */
static void pend_reject(seg_t *s, uint64_t line, uint32_t column, tsr_reject_reason why, const char *detail,
                        size_t raw_start, size_t raw_end) {
  pend_t *p = &s->pend[s->npend++];
  p->line = line;
  p->column = column;
  p->why = why;
  p->raw_start = raw_start;
  p->raw_end = raw_end;
  snprintf(p->detail, sizeof p->detail, "%s", detail);
}

static int pend_cmp(const void *a, const void *b) {
  const pend_t *x = a, *y = b;
  return x->line < y->line ? -1 : x->line > y->line;
}

static void flush_rejects(const ictx_t *x, seg_t *s, const char *buf) {
  if (s->npend > 1) qsort(s->pend, s->npend, sizeof *s->pend, pend_cmp);
  for (uint32_t i = 0; i < s->npend; i++) {
    pend_t *p = &s->pend[i];
    add_reject(x, s, p->line, p->column, p->why, p->detail, buf + p->raw_start, p->raw_end - p->raw_start);
  }
  s->npend = 0;
}

/* rows of the matrix are max_fields wide: the tokenizer writes into them directly */
#define FIELD(s, x, r, c) (&(s)->mat[(size_t)(r) * (x)->d.max_fields + (uint32_t)(x)->map[c]])

static void note_bad(tsr__col *col, tsr__val *v, int r, tsr_field_kind kind) {
  memset(v, 0, sizeof *v);
  if (kind == TSR_KIND_DATE) v->i32 = TSR_DATE_NONE;
  if (kind == TSR_KIND_INTEGER) v->i64 = TSR_INT_NONE;
  v->invalid = (uint8_t)(r == TSR__V_INVALID);
  if (r == TSR__V_INVALID) col->n_invalid++;
  else if (r == TSR__V_PSEUDO) col->n_pseudo++;
  col->n_missing++;
}

/* Standardises column c for the vector's surviving rows into its buffer. */
static int column_pass(const ictx_t *x, seg_t *s, uint32_t c) {
  const tsr_source_cfg *src = x->src;
  const tsr_column_cfg *cc = &src->columns[c];
  tsr__col *col = &s->cols[c];
  uint32_t n = s->nalive;
  if (tsr__col_reserve(col, n)) return TSR_ENOMEM;
  const int only_empty_null = src->n_null_tokens == 1 && src->null_tokens[0][0] == '\0';
  uint64_t base = col->n;
  switch (cc->kind) {
  case TSR_KIND_NHS_NUMBER:
  case TSR_KIND_POSTCODE:
  case TSR_KIND_DATE:
  case TSR_KIND_SEX:
  case TSR_KIND_INTEGER:
    for (uint32_t k = 0; k < n; k++) {
      const tsr__csv_field *f = FIELD(s, x, s->alive[k], c);
      uint64_t i = base + k;
      int r;
      if (f->len == 0 || (!only_empty_null && is_null_token(src, f->p, f->len))) r = TSR__V_MISSING;
      else if (cc->kind == TSR_KIND_NHS_NUMBER) r = tsr__std_nhs(f->p, f->len, &col->u64[i]);
      else if (cc->kind == TSR_KIND_POSTCODE) r = tsr__std_postcode(f->p, f->len, &col->u64[i]);
      else if (cc->kind == TSR_KIND_DATE)
        r = tsr__std_date(f->p, f->len, cc->formats, cc->n_formats, cc->min_date, cc->max_date, &col->i32[i]);
      else if (cc->kind == TSR_KIND_SEX) r = tsr__std_sex(f->p, f->len, &col->u8[i]);
      else r = tsr__std_integer(f->p, f->len, &col->i64[i]);
      col->invalid[i] = 0;
      if (r != TSR__V_OK) {
        tsr__val v;
        note_bad(col, &v, r, cc->kind);
        col->invalid[i] = v.invalid;
        if (col->u64 && (cc->kind == TSR_KIND_NHS_NUMBER || cc->kind == TSR_KIND_POSTCODE)) col->u64[i] = 0;
        if (cc->kind == TSR_KIND_DATE) col->i32[i] = TSR_DATE_NONE;
        if (cc->kind == TSR_KIND_SEX) col->u8[i] = 0;
        if (cc->kind == TSR_KIND_INTEGER) col->i64[i] = TSR_INT_NONE;
      }
    }
    col->n = base + n;
    return 0;
  default:
    break;
  }
  char *nb = s->names + (size_t)c * NAME_CAP;
  if (cc->kind == TSR_KIND_GIVEN_NAME || cc->kind == TSR_KIND_FAMILY_NAME) {
    ncache_t *cache = s->ncache[c];
    for (uint32_t k = 0; k < n; k++) {
      const tsr__csv_field *f = FIELD(s, x, s->alive[k], c);
      tsr__val v;
      int r;
      if (f->len == 0 || (!only_empty_null && is_null_token(src, f->p, f->len))) {
        r = TSR__V_MISSING;
      } else if (f->len <= NCACHE_RAW) {
        uint64_t h = XXH3_64bits(f->p, f->len);
        ncache_t *e = &cache[h & (NCACHE - 1)];
        if (!(e->raw_len == f->len && e->raw_hash == h && memcmp(e->raw, f->p, f->len) == 0)) {
          r = standardise(cc, f->p, f->len, nb, &v);
          e->raw_len = 0;
          if (r == TSR__V_OK && v.len <= sizeof e->std) {
            e->raw_hash = h;
            e->raw_len = (uint8_t)f->len;
            memcpy(e->raw, f->p, f->len);
            e->std_len = (uint8_t)v.len;
            memcpy(e->std, v.s, v.len);
            e->hash = v.hash;
            e->soundex = v.soundex;
            e->nysiis = v.nysiis;
          }
        } else {
          memset(&v, 0, sizeof v);
          v.s = e->std;
          v.len = e->std_len;
          v.hash = e->hash;
          v.soundex = e->soundex;
          v.nysiis = e->nysiis;
          r = TSR__V_OK;
        }
      } else {
        r = standardise(cc, f->p, f->len, nb, &v);
      }
      if (r != TSR__V_OK) note_bad(col, &v, r, cc->kind);
      int rc = tsr__col_push(col, &v);
      if (rc) return rc;
    }
    return 0;
  }
  if (cc->kind == TSR_KIND_CODE) {
    ccache_t *cache = s->ccache[c];
    for (uint32_t k = 0; k < n; k++) {
      const tsr__csv_field *f = FIELD(s, x, s->alive[k], c);
      uint64_t i = base + k;
      col->invalid[i] = 0;
      if (f->len == 0 || (!only_empty_null && is_null_token(src, f->p, f->len))) {
        col->code32[i] = 0;
        col->n_missing++;
        continue;
      }
      if (f->len <= 7) {
        uint64_t key = (uint64_t)f->len << 56;
        for (uint32_t b = 0; b < f->len; b++) key |= (uint64_t)(uint8_t)f->p[b] << (8 * b);
        ccache_t *e = &cache[(key * 0x9E3779B97F4A7C15ull) >> (64 - 10)];
        if (e->key != key) {
          e->key = key;
          e->id = tsr__dict_intern(&col->dict, f->p, f->len, hash_str(f->p, f->len));
          if (!e->id) return TSR_ENOMEM;
        }
        col->code32[i] = e->id;
      } else {
        uint32_t id = tsr__dict_intern(&col->dict, f->p, f->len, hash_str(f->p, f->len));
        if (!id) return TSR_ENOMEM;
        col->code32[i] = id;
      }
    }
    col->n = base + n;
    return 0;
  }
  /* other strings: push one by one (they append variable-length data) */
  for (uint32_t k = 0; k < n; k++) {
    const tsr__csv_field *f = FIELD(s, x, s->alive[k], c);
    tsr__val v;
    int r = (f->len == 0 || (!only_empty_null && is_null_token(src, f->p, f->len))) ? TSR__V_MISSING
                                                                                 : standardise(cc, f->p, f->len, nb, &v);
    if (r != TSR__V_OK) note_bad(col, &v, r, cc->kind);
    int rc = tsr__col_push(col, &v);
    if (rc) return rc;
  }
  return 0;
}

static void flush_vector(const ictx_t *x, seg_t *s, const char *buf) {
  const tsr_source_cfg *src = x->src;
  uint32_t n = s->vn;
  s->nalive = 0;
  for (uint32_t r = 0; r < n; r++) s->alive[s->nalive++] = r;
  /* required columns first: a row failing one is rejected before any
   * column stores anything for it */
  for (uint32_t c = 0; c < x->ncols && s->nalive; c++) {
    const tsr_column_cfg *cc = &src->columns[c];
    if (!cc->required) continue;
    uint32_t keep = 0;
    for (uint32_t k = 0; k < s->nalive; k++) {
      uint32_t r = s->alive[k];
      const tsr__csv_field *f = FIELD(s, x, r, c);
      tsr__val v;
      int st = is_null_token(src, f->p, f->len) ? TSR__V_MISSING
                                                : standardise(cc, f->p, f->len, s->names + (size_t)c * NAME_CAP, &v);
      if (st == TSR__V_OK) {
        s->alive[keep++] = r;
        continue;
      }
      char detail[200];
      snprintf(detail, sizeof detail, "%s: required %s is %s", cc->column, tsr_field_kind_name(cc->kind),
               st == TSR__V_MISSING ? "missing" : st == TSR__V_PSEUDO ? "a pseudo-postcode" : "invalid");
      pend_reject(s, s->vline[r], (uint32_t)x->map[c] + 1,
                  st == TSR__V_MISSING ? TSR_REJECT_REQUIRED_MISSING : TSR_REJECT_REQUIRED_INVALID, detail,
                  s->vspan[2 * r], s->vspan[2 * r + 1]);
    }
    s->nalive = keep;
  }
  for (uint32_t c = 0; c < x->ncols && !s->oom; c++)
    if (column_pass(x, s, c)) s->oom = 1;
  /* the line of every stored row, for errors that name a row by line */
  if (s->rows_stored + s->nalive > s->rline_cap) {
    uint64_t cap = s->rline_cap ? s->rline_cap * 2 : VEC * 4;
    while (cap < s->rows_stored + s->nalive) cap *= 2;
    uint64_t *p = tsr__realloc(s->rline, (size_t)cap * sizeof *p);
    if (!p) s->oom = 1;
    else {
      s->rline = p;
      s->rline_cap = cap;
    }
  }
  if (!s->oom)
    for (uint32_t k = 0; k < s->nalive; k++) s->rline[s->rows_stored + k] = s->vline[s->alive[k]];
  s->rows_stored += s->nalive;
  s->vn = 0;
  flush_rejects(x, s, buf);
}

/* Tokenizes one record into the vector, or queues its reject. */
/* A row rejected before its fields are read never costs more than its first
 * physical line: a record spans lines only through a quoted field holding a
 * line end, and when such a record is malformed, the quote that opened on its
 * first line is the likely culprit. The row is rejected at its start line
 * (unterminated_quote, with the problem found in the detail) and the caller
 * resumes on the next line, so the lines the quote swallowed are read as the
 * records they are. */
static int cut_to_first_line(const char *buf, tsr__csv_record *rec) {
  if (rec->lines <= 1) return 0;
  const char *nl = memchr(buf + rec->start, '\n', rec->end - rec->start);
  if (!nl || (size_t)(nl - buf) + 1 >= rec->end) return 0;
  rec->end = (size_t)(nl - buf) + 1;
  rec->lines = 1;
  return 1;
}

static void take_record(const ictx_t *x, seg_t *s, const char *buf, tsr__csv_status st, tsr__csv_record *rec,
                        uint64_t line) {
  s->rows_read++;
  const char *raw = buf + rec->start;
  size_t rawlen = rec->end - rec->start;
  char detail[160];
  if (st == TSR__CSV_OK && rec->lines > 1 && (rec->nf != x->nfields || !tsr__utf8_valid(raw, rawlen))) {
    st = TSR__CSV_FIELD_COUNT; /* malformed multi-line record: handled below */
    rec->bad_field = 0;
    for (uint32_t i = 0; i < rec->nf && i < x->d.max_fields && !rec->bad_field; i++)
      if (rec->f[i].quoted && memchr(rec->f[i].p, '\n', rec->f[i].len)) rec->bad_field = i + 1;
  }
  if (st != TSR__CSV_OK && cut_to_first_line(buf, rec)) {
    const char *what = st == TSR__CSV_STRAY_QUOTE ? "a stray quote"
                       : st == TSR__CSV_NUL       ? "a NUL byte"
                       : st == TSR__CSV_OVERLONG  ? "an overlong record"
                       : st == TSR__CSV_FIELD_COUNT ? "the wrong number of fields or invalid UTF-8"
                                                    : "no closing quote";
    snprintf(detail, sizeof detail,
             "quoted field %u runs past the end of the line and the row it makes has %s; rejected at its first line",
             rec->bad_field, what);
    pend_reject(s, line, rec->bad_field, TSR_REJECT_UNTERMINATED_QUOTE, detail, rec->start, rec->end);
    return;
  }
  if (st != TSR__CSV_OK) {
    tsr_reject_reason why = st == TSR__CSV_UNTERMINATED ? TSR_REJECT_UNTERMINATED_QUOTE
                            : st == TSR__CSV_STRAY_QUOTE ? TSR_REJECT_STRAY_QUOTE
                            : st == TSR__CSV_NUL         ? TSR_REJECT_NUL_BYTE
                                                         : TSR_REJECT_OVERLONG;
    if (why == TSR_REJECT_OVERLONG)
      snprintf(detail, sizeof detail, "record longer than %zu bytes (or an unterminated quote)", x->d.max_record);
    else
      snprintf(detail, sizeof detail, "%s in field %u", tsr_reject_name(why), rec->bad_field);
    pend_reject(s, line, rec->bad_field, why, detail, rec->start, rec->end);
    return;
  }
  if (!tsr__utf8_valid(raw, rawlen)) {
    uint32_t bad = 0;
    for (uint32_t i = 0; i < rec->nf && i < x->d.max_fields && !bad; i++)
      if (!tsr__utf8_valid(rec->f[i].p, rec->f[i].len)) bad = i + 1;
    snprintf(detail, sizeof detail, "field %u is not valid UTF-8", bad);
    pend_reject(s, line, bad, TSR_REJECT_INVALID_UTF8, detail, rec->start, rec->end);
    return;
  }
  if (rec->nf != x->nfields) {
    snprintf(detail, sizeof detail, "expected %u fields, found %u", x->nfields, rec->nf);
    pend_reject(s, line, 0, TSR_REJECT_FIELD_COUNT, detail, rec->start, rec->end);
    return;
  }
  uint32_t r = s->vn++; /* the fields are already in row r of the matrix */
  s->vline[r] = line;
  s->vspan[2 * r] = rec->start;
  s->vspan[2 * r + 1] = rec->end;
}

/* Parses records starting at s->start while they start before `end`. */
static void parse_segment(const ictx_t *x, seg_t *s, const char *buf, size_t len, size_t end, int eof) {
  size_t pos = s->start;
  uint64_t line = s->line0;
  tsr__csv_record rec;
  s->vn = 0;
  s->npend = 0;
  while (pos < end && !s->oom) {
    /* quoted fields may be unescaped into scratch: the vector must not
     * outlive the scratch space it points into */
    if (s->vn == VEC || s->scratch_used + x->d.max_record > s->scratch_cap || s->npend >= VEC)
      flush_vector(x, s, buf), s->scratch_used = 0;
    rec.f = &s->mat[(size_t)s->vn * x->d.max_fields];
    tsr__csv_status st = tsr__csv_next(&x->d, buf, len, pos, eof, s->scratch + s->scratch_used, &rec);
    if (st == TSR__CSV_NEED_MORE) {
      s->need_more = 1;
      break;
    }
    /* a blank line is not a record */
    if (!(st == TSR__CSV_OK && rec.nf == 1 && rec.f[0].len == 0 && !rec.f[0].quoted)) {
      take_record(x, s, buf, st, &rec, line);
      /* keep unescaped text: advance past what this record used */
      for (uint32_t i = 0; st == TSR__CSV_OK && i < rec.nf && i < x->d.max_fields; i++) {
        const char *p = rec.f[i].p;
        if (p >= s->scratch && p < s->scratch + s->scratch_cap) {
          size_t e = (size_t)(p - s->scratch) + rec.f[i].len;
          if (e > s->scratch_used) s->scratch_used = e;
        }
      }
    }
    line += rec.lines;
    s->lines += rec.lines;
    pos = rec.end;
  }
  if (!s->oom) flush_vector(x, s, buf);
  s->scratch_used = 0;
  s->stop = pos;
}

/* --- header ------------------------------------------------------------------------------ */
/* Edit distance of a and b (case-blind; a swap of neighbours is one edit),
 * for names up to 64 bytes. */
static uint32_t edit_distance(const char *a, size_t na, const char *b, size_t nb) {
  if (na > 64 || nb > 64) return 99;
  uint8_t d[65][65];
  for (size_t i = 0; i <= na; i++) d[i][0] = (uint8_t)i;
  for (size_t j = 0; j <= nb; j++) d[0][j] = (uint8_t)j;
  for (size_t i = 1; i <= na; i++)
    for (size_t j = 1; j <= nb; j++) {
      int ne = (a[i - 1] | 32) != (b[j - 1] | 32);
      uint32_t best = d[i - 1][j - 1] + (uint32_t)ne;
      if (d[i - 1][j] + 1u < best) best = d[i - 1][j] + 1u;
      if (d[i][j - 1] + 1u < best) best = d[i][j - 1] + 1u;
      if (i > 1 && j > 1 && ne && (a[i - 1] | 32) == (b[j - 2] | 32) && (a[i - 2] | 32) == (b[j - 1] | 32) &&
          d[i - 2][j - 2] + 1u < best)
        best = d[i - 2][j - 2] + 1u;
      d[i][j] = (uint8_t)best;
    }
  return d[na][nb];
}

/* 1-based header field whose name is within a typo of want (at most one edit
 * per four characters, at least one), or 0. */
static uint32_t close_name(const tsr__csv_field *f, uint32_t nf, const char *want) {
  size_t wl = strlen(want);
  uint32_t limit = wl >= 8 ? (uint32_t)(wl / 4) : 1, best = 0, bestd = limit + 1;
  for (uint32_t i = 0; i < nf; i++) {
    uint32_t d = edit_distance(f[i].p, f[i].len, want, wl);
    if (d < bestd) {
      bestd = d;
      best = i + 1;
    }
  }
  return best;
}

static int name_cmp(const void *a, const void *b) {
  const tsr__csv_field *x = *(const tsr__csv_field *const *)a, *y = *(const tsr__csv_field *const *)b;
  uint32_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->p, y->p, n);
  if (c) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x < y ? -1 : x > y; /* equal names: in field order */
}

/* Any name given to two header fields is a file error (configured or not):
 * which of the two a later config change would read is otherwise a guess.
 * Unnamed (empty) fields are not names. */
static int header_duplicates(const tsr_source_cfg *src, tsr__csv_field *f, uint32_t nf, tsr_error *err) {
  const tsr__csv_field **by = tsr__malloc(sizeof *by * (nf ? nf : 1));
  if (!by) return tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
  uint32_t n = 0;
  for (uint32_t i = 0; i < nf; i++)
    if (f[i].len) by[n++] = &f[i];
  qsort(by, n, sizeof *by, name_cmp);
  int rc = 0;
  for (uint32_t i = 0; i + 1 < n && !rc; i++)
    if (by[i]->len == by[i + 1]->len && memcmp(by[i]->p, by[i + 1]->p, by[i]->len) == 0) {
      uint32_t a = (uint32_t)(by[i] - f) + 1, b = (uint32_t)(by[i + 1] - f) + 1;
      rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, b, "column \"%.*s\" appears twice in the header (fields %u and %u)",
                         (int)(by[i]->len > 100 ? 100 : by[i]->len), by[i]->p, a, b);
    }
  tsr__free(by);
  return rc;
}

static int read_header(ictx_t *x, const char *buf, size_t len, size_t pos, int eof, size_t *end, uint32_t *lines,
                       char *scratch, tsr_error *err) {
  const tsr_source_cfg *src = x->src;
  tsr__csv_field *f = tsr__malloc(sizeof(tsr__csv_field) * (MAX_COLUMNS + 1));
  if (!f) return tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
  tsr__csv_dialect d = x->d;
  d.max_fields = MAX_COLUMNS;
  tsr__csv_record rec;
  rec.f = f;
  tsr__csv_status st = tsr__csv_next(&d, buf, len, pos, eof, scratch, &rec);
  int rc = 0;
  if (st == TSR__CSV_NEED_MORE)
    rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, 0, "the first line is longer than the read buffer");
  else if (st != TSR__CSV_OK)
    rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, rec.bad_field, "cannot parse the %s: %s",
                       src->header ? "header" : "first row",
                       st == TSR__CSV_STRAY_QUOTE ? "stray quote" : st == TSR__CSV_NUL ? "NUL byte"
                       : st == TSR__CSV_UNTERMINATED ? "unterminated quote" : "line too long");
  else if (rec.nf > MAX_COLUMNS)
    rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, 0, "more than %d columns", MAX_COLUMNS);
  if (rc) {
    tsr__free(f);
    return rc;
  }
  x->nfields = rec.nf;
  for (uint32_t c = 0; c < x->ncols && !rc; c++) {
    const char *want = src->columns[c].column;
    x->map[c] = -1;
    if (!src->header) {
      long p = strtol(want, NULL, 10);
      if (p >= 1 && (uint32_t)p <= rec.nf) x->map[c] = (int32_t)(p - 1);
      if (x->map[c] < 0)
        rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, 0,
                           "column %s is configured, but the first row has only %u fields", want, rec.nf);
      continue;
    }
    for (uint32_t i = 0; i < rec.nf; i++) {
      const char *h = f[i].p;
      uint32_t hl = f[i].len;
      if (i == 0 && hl >= 3 && memcmp(h, "\xEF\xBB\xBF", 3) == 0) {
        h += 3;
        hl -= 3;
      }
      if (hl == strlen(want) && memcmp(h, want, hl) == 0) {
        if (x->map[c] >= 0) {
          rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, i + 1,
                             "column \"%s\" appears twice in the header (fields %d and %u)", want, x->map[c] + 1, i + 1);
          break;
        }
        x->map[c] = (int32_t)i;
      }
    }
    if (!rc && x->map[c] < 0) {
      /* the first line is not echoed: without a real header it is a data
       * row. Only a header name within a typo of the configured one is. */
      uint32_t near = close_name(f, rec.nf, want);
      if (near)
        rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, near,
                           "configured column \"%s\" is not in the header; did you mean \"%.*s\" (field %u)?", want,
                           (int)f[near - 1].len, f[near - 1].p, near);
      else
        rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, 0,
                           "configured column \"%s\" is not in the header (%u fields); if the file has no header "
                           "line, set \"header\": false and name columns by position",
                           want, rec.nf);
    }
  }
  if (!rc && src->header) rc = header_duplicates(src, f, rec.nf, err);
  tsr__free(f);
  if (rc) return rc;
  *end = src->header ? rec.end : pos; /* without a header the first row is data */
  *lines = src->header ? rec.lines : 0;
  return 0;
}

/* --- record ids ----------------------------------------------------------------------------- */
/* A record id as a comparable key: bytes for string and code columns, else
 * the stored number. 0 when the row has no id. */
typedef struct {
  const char *p;
  uint32_t len;
  uint64_t num;
} idkey_t;

static int id_key(const tsr_column *c, uint64_t r, idkey_t *k) {
  k->p = NULL;
  k->len = 0;
  k->num = 0;
  if (c->str_off) {
    k->p = c->str + c->str_off[r];
    k->len = c->str_off[r + 1] - c->str_off[r];
    return k->len > 0;
  }
  switch (c->kind) {
  case TSR_KIND_CODE: k->num = c->code16 ? c->code16[r] : c->code32[r]; return k->num != 0;
  case TSR_KIND_NHS_NUMBER:
  case TSR_KIND_POSTCODE: k->num = c->u64[r]; return k->num != 0;
  case TSR_KIND_INTEGER: k->num = (uint64_t)c->i64[r] ^ (1ull << 63); return c->i64[r] != TSR_INT_NONE;
  case TSR_KIND_DATE: k->num = (uint64_t)(uint32_t)c->i32[r] ^ (1u << 31); return c->i32[r] != TSR_DATE_NONE;
  default: k->num = c->u8 ? c->u8[r] : 0; return 1;
  }
}

/* Total order on keys: numbers by value; strings by length, then bytes.
 * Any total order will do: a strictly increasing run has no repeats. */
static int id_cmp(const idkey_t *a, const idkey_t *b) {
  if (!a->p) return a->num < b->num ? -1 : a->num > b->num;
  if (a->len != b->len) return a->len < b->len ? -1 : 1;
  return memcmp(a->p, b->p, a->len);
}

static int id_eq(const idkey_t *a, const idkey_t *b) {
  return a->p ? a->len == b->len && memcmp(a->p, b->p, a->len) == 0 : a->num == b->num;
}

/* Record ids must be unique within a source: two rows with one id make every
 * later stage guess which is meant (links.csv would hold both, and evaluate
 * refuses it). Most extracts number rows in order, so a single sequential
 * pass proves most files clean; only when the ids are not strictly
 * increasing does a hash table of row numbers find the first repeat. */
static int check_duplicate_ids(const tsr_source_cfg *src, const tsr_store *store, const uint64_t *lines,
                               uint32_t id_field, tsr_error *err) {
  if (store->id_col < 0 || store->n < 2) return 0;
  const tsr_column *c = &store->cols[store->id_col].pub;
  uint64_t n = store->n;
  idkey_t prev, cur;
  int have_prev = id_key(c, 0, &prev), sorted = 1;
  for (uint64_t r = 1; r < n && sorted; r++) {
    if (!id_key(c, r, &cur)) continue; /* no id: nothing to repeat */
    if (have_prev && id_cmp(&prev, &cur) >= 0) sorted = 0;
    prev = cur;
    have_prev = 1;
  }
  if (sorted) return 0;
  if (n >= UINT32_MAX) return 0; /* beyond the table's row numbers; not reachable in practice */
  uint64_t size = 16;
  while (size < n * 2) size <<= 1;
  uint32_t *slot = tsr__calloc((size_t)size, sizeof *slot);
  if (!slot) return tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory checking record ids");
  int rc = 0;
  for (uint64_t r = 0; r < n && !rc; r++) {
    if (!id_key(c, r, &cur)) continue;
    uint64_t h = cur.p ? XXH3_64bits(cur.p, cur.len) : tsr__mix64(cur.num);
    for (uint64_t j = h & (size - 1);; j = (j + 1) & (size - 1)) {
      if (!slot[j]) {
        slot[j] = (uint32_t)r + 1;
        break;
      }
      idkey_t other;
      id_key(c, slot[j] - 1, &other);
      if (id_eq(&other, &cur)) {
        char text[128];
        size_t tl = tsr_column_text(c, r, text, sizeof text);
        rc = tsr_error_set(err, TSR_EPARSE, src->path, lines[r], id_field,
                           "record id \"%.*s\" (column %s) appears twice, at lines %llu and %llu; record ids must be "
                           "unique within a source",
                           (int)(tl > 100 ? 100 : tl), text, src->id_column,
                           (unsigned long long)lines[slot[j] - 1], (unsigned long long)lines[r]);
        break;
      }
    }
  }
  tsr__free(slot);
  return rc;
}

/* --- the driver ---------------------------------------------------------------------------- */
int tsr_ingest_source(const tsr_source_cfg *src, const tsr_ingest_opts *opts_in, tsr_store **out,
                      tsr_ingest_stats *stats_out, tsr_error *err) {
  *out = NULL;
  tsr_error_clear(err);
  tsr_ingest_opts opts;
  if (opts_in)
    opts = *opts_in;
  else
    tsr_ingest_opts_init(&opts);
  if (opts.segment_bytes < 4096) opts.segment_bytes = 4096;
  if (opts.max_record_bytes < 1024) opts.max_record_bytes = 1024;
  int threads = opts.threads > 0 ? opts.threads : omp_get_max_threads();
  double t0 = tsr__now();
  tsr_ingest_stats st;
  memset(&st, 0, sizeof st);

  ictx_t x;
  memset(&x, 0, sizeof x);
  x.src = src;
  x.ncols = src->n_columns;
  x.d.delim = src->delimiter;
  x.d.quote = src->quote;
  x.d.trim = src->trim;
  x.d.max_record = opts.max_record_bytes;
  x.map = tsr__calloc(x.ncols ? x.ncols : 1, sizeof *x.map);

  uint32_t nseg_max = (uint32_t)(threads < 2 ? 4 : threads * 2);
  size_t batch_cap = opts.segment_bytes * nseg_max;
  if (batch_cap < 4 * opts.max_record_bytes) batch_cap = 4 * opts.max_record_bytes;
  char *heap = tsr__malloc(batch_cap + 1), *buf = heap;
  seg_t *segs = NULL;
  if (posix_memalign((void **)&segs, 64, sizeof *segs * (nseg_max + 1)) == 0)
    memset(segs, 0, sizeof *segs * (nseg_max + 1));
  else
    segs = NULL;
  uint8_t *parity = tsr__calloc(nseg_max + 1, 1);
  uint64_t *nl = tsr__calloc(nseg_max + 1, sizeof *nl);
  size_t *bnd = tsr__calloc(nseg_max + 2, sizeof *bnd);
  tsr_store *store = tsr__store_new(src);
  reader_t rd;
  memset(&rd, 0, sizeof rd);
  rd.fd = -1;
  int rc = 0, reader_open_ok = 0;
  if (!x.map || !heap || !segs || !parity || !nl || !bnd || !store)
    rc = tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
  if (!rc) {
    rc = reader_open(&rd, src->path, err);
    reader_open_ok = rc == 0;
  }
  size_t len = 0;
  int eof = 0, first = 1, segs_ready = 0, presized = 0;
  uint64_t line_base = 1;
  char *hdr_scratch = NULL;
  uint64_t *rlines = NULL, rlines_cap = 0; /* line of every stored row */
  tsr__progress prog;
  tsr__progress_start(&prog, src->name, rd.file_bytes ? rd.file_bytes : 1);

  while (!rc) {
    /* fill the batch: a window of the mapping, or read into the buffer */
    double tr = tsr__now();
    if (rd.map) {
      buf = (char *)(uintptr_t)(rd.map + rd.map_pos);
      len = rd.map_len - rd.map_pos < batch_cap ? rd.map_len - rd.map_pos : batch_cap;
      eof = rd.map_pos + len == rd.map_len;
      st.bytes_read = rd.map_pos + len;
    }
    while (!rd.map && len < batch_cap && !eof) {
      int64_t got = reader_read(&rd, buf + len, batch_cap - len, err);
      if (got < 0) {
        rc = (int)got;
        break;
      }
      if (got == 0) eof = 1;
      len += (size_t)got;
      st.bytes_read += (uint64_t)got;
    }
    st.seconds_read += tsr__now() - tr;
    if (rc) break;
    size_t pos0 = 0;
    if (first) {
      first = 0;
      if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) pos0 = 3; /* UTF-8 byte order mark */
      size_t k = pos0;
      while (k < len && (buf[k] == '\n' || buf[k] == '\r' || buf[k] == ' ' || buf[k] == '\t')) k++;
      if (k == len) {
        rc = tsr_error_set(err, TSR_EPARSE, src->path, 1, 1, "the file is empty: expected %s",
                           src->header ? "a header line naming the columns" : "data rows");
        break;
      }
      hdr_scratch = tsr__malloc(len + 1);
      if (!hdr_scratch) {
        rc = tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
        break;
      }
      size_t hend = 0;
      uint32_t hlines = 0;
      rc = read_header(&x, buf, len, pos0, eof, &hend, &hlines, hdr_scratch, err);
      tsr__free(hdr_scratch);
      hdr_scratch = NULL;
      if (rc) break;
      pos0 = hend;
      line_base += hlines;
      x.d.max_fields = x.nfields + 1;
      x.d.expect_fields = x.nfields;
      for (uint32_t k2 = 0; k2 <= nseg_max && !rc; k2++)
        if (seg_init(&segs[k2], &x, opts.max_record_bytes + 16))
          rc = tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
      segs_ready = 1;
      if (rc) break;
    }
    if (pos0 >= len && eof) break;

    /* cut into segments and find true record starts */
    double tp = tsr__now();
    size_t span = len - pos0;
    uint32_t nseg = (uint32_t)(span / opts.segment_bytes);
    if (nseg < 1) nseg = 1;
    if (nseg > nseg_max) nseg = nseg_max;
    for (uint32_t k = 0; k <= nseg; k++) bnd[k] = pos0 + (size_t)((double)span * k / nseg);
    bnd[nseg] = len;
#pragma omp parallel for num_threads(threads) schedule(static) if (nseg > 1)
    for (uint32_t k = 0; k < nseg; k++) tsr__csv_scan(&x.d, buf, bnd[k], bnd[k + 1], &parity[k], &nl[k]);
    uint8_t inq = 0;
    uint64_t lines_before = 0;
    for (uint32_t k = 0; k < nseg; k++) {
      seg_t *s = &segs[k];
      seg_reset(s, x.ncols);
      s->start = bnd[k];
      s->line0 = line_base + lines_before; /* at the nominal start; fixed below */
      s->need_more = inq;                  /* borrowed to carry the quote state */
      inq ^= parity[k];
      lines_before += nl[k];
    }
#pragma omp parallel for num_threads(threads) schedule(static) if (nseg > 1)
    for (uint32_t k = 1; k < nseg; k++) {
      seg_t *s = &segs[k];
      uint64_t skipped;
      s->start = tsr__csv_first_record(&x.d, buf, bnd[k], len, (uint8_t)s->need_more, &skipped);
      s->line0 += skipped;
    }
    segs[0].start = pos0;
    /* starts must not go backwards; if they do, speculation already failed */
    uint32_t used = nseg;
    for (uint32_t k = 1; k < nseg; k++)
      if (segs[k].start < segs[k - 1].start) {
        used = k;
        break;
      }
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (used > 1)
    for (uint32_t k = 0; k < used; k++) {
      seg_t *s = &segs[k];
      s->need_more = 0;
      size_t end = k + 1 < used ? segs[k + 1].start : len;
      parse_segment(&x, s, buf, len, end, eof);
    }
    /* seams: segment k must have stopped where k+1 began */
    uint32_t good = used;
    for (uint32_t k = 0; k + 1 < used; k++)
      if (segs[k].stop != segs[k + 1].start || segs[k].need_more) {
        good = k + 1;
        break;
      }
    if (good < nseg) {
      /* re-parse the rest sequentially from the last trusted stop */
      seg_t *s = &segs[good];
      seg_t *prev = &segs[good - 1];
      seg_reset(s, x.ncols);
      s->start = prev->stop;
      s->line0 = prev->line0 + prev->lines;
      parse_segment(&x, s, buf, len, len, eof);
      used = good + 1;
    }
    st.seconds_parse += tsr__now() - tp;

    /* merge in file order: columns are independent, so they merge in
     * parallel, each taking the segments in order */
    double tm = tsr__now();
    for (uint32_t k = 0; k < used && !rc; k++)
      if (segs[k].oom) rc = tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory while parsing");
    int merge_rc = 0;
    if (!rc) {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
      for (uint32_t c = 0; c < x.ncols; c++) {
        for (uint32_t k = 0; k < used; k++) {
          int r = tsr__col_append(&store->cols[c], &segs[k].cols[c]);
          if (r) {
#pragma omp critical(tsr_ingest_merge)
            if (!merge_rc) merge_rc = r == TSR_ELIMIT ? -(int)c - 1000 : r;
            break;
          }
        }
      }
    }
    if (merge_rc <= -1000)
      rc = tsr_error_set(err, TSR_ELIMIT, src->path, 0, 0, "column %s holds more than 4 GiB of text",
                         src->columns[-merge_rc - 1000].column);
    else if (merge_rc)
      rc = tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory building the store");
    for (uint32_t k = 0; k < used && !rc; k++) {
      seg_t *s = &segs[k];
      if (opts.rejects && s->rejects.len) rc = tsr__outfile_write(&opts.rejects->f, s->rejects.p, s->rejects.len, err);
      uint64_t nrej = 0;
      for (int r = 0; r < TSR_REJECT_COUNT; r++) {
        st.rejects[r] += s->rej[r];
        nrej += s->rej[r];
      }
      if (opts.rejects) opts.rejects->count += nrej;
      st.rows_read += s->rows_read;
      if (!rc && s->rows_stored) {
        if (st.rows_stored + s->rows_stored > rlines_cap) {
          uint64_t cap = rlines_cap ? rlines_cap * 2 : 1 << 16;
          while (cap < st.rows_stored + s->rows_stored) cap *= 2;
          uint64_t *p = tsr__realloc(rlines, (size_t)cap * sizeof *p);
          if (!p) rc = tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
          else {
            rlines = p;
            rlines_cap = cap;
          }
        }
        if (!rc) memcpy(rlines + st.rows_stored, s->rline, (size_t)s->rows_stored * sizeof *rlines);
      }
      st.rows_stored += s->rows_stored;
      st.rows_rejected += nrej;
    }
    /* after the first batch of a plain file, size the store for the whole
     * file: one allocation instead of repeated growth and copies */
    if (!rc && !presized && rd.kind == R_PLAIN && rd.file_bytes > st.bytes_read && st.rows_read > 0) {
      presized = 1;
      double ratio = (double)rd.file_bytes / (double)(st.bytes_read - (len - segs[used - 1].stop));
      for (uint32_t c = 0; c < x.ncols; c++) {
        tsr__col *col = &store->cols[c];
        uint64_t want = (uint64_t)((double)col->n * ratio * 1.02) + 1024;
        if (want > col->n && tsr__col_reserve(col, want - col->n) == 0 && col->str_off)
          tsr__buf_reserve(&col->str, (size_t)((double)col->str.len * ratio * 1.02) - col->str.len + 4096);
      }
    }
    st.seconds_merge += tsr__now() - tm;
    if (rc) break;
    /* progress by bytes of the file (compressed input: bytes of text) */
    tsr__progress_update(&prog, reader_file_pos(&rd, st.bytes_read) + (rd.map ? segs[used - 1].stop : 0));
    seg_t *last = &segs[used - 1];
    size_t stop = last->stop;
    line_base = last->line0 + last->lines;
    if (eof) break; /* at EOF the tokenizer never asks for more: everything parsed */
    if (rd.map) {
      rd.map_pos += stop;
      reader_release(&rd, rd.map_pos);
      continue;
    }
    memmove(buf, buf + stop, len - stop);
    len -= stop;
  }
  tsr__progress_finish(&prog);
  st.bytes_file = rd.file_bytes;
  if (reader_open_ok) reader_close(&rd);
  if (segs_ready)
    for (uint32_t k = 0; k <= nseg_max; k++) seg_free(&segs[k], x.ncols);
  free(segs); /* posix_memalign: the C allocator, not the engine hooks */
  tsr__free(heap);
  tsr__free(parity);
  tsr__free(nl);
  tsr__free(bnd);
  uint32_t id_field = 0; /* 1-based file field of the id column */
  for (uint32_t c = 0; x.map && c < x.ncols; c++)
    if (strcmp(src->columns[c].column, src->id_column) == 0 && x.map[c] >= 0) id_field = (uint32_t)x.map[c] + 1;
  tsr__free(x.map);
  tsr__free(hdr_scratch);

  if (!rc) {
    double tf = tsr__now();
    for (uint32_t c = 0; c < store->ncols && !rc; c++)
      if (tsr__col_finalize(&store->cols[c])) rc = tsr_error_set(err, TSR_ENOMEM, src->path, 0, 0, "out of memory");
    store->n = st.rows_stored;
    if (!rc) rc = check_duplicate_ids(src, store, rlines, id_field, err);
    st.seconds_merge += tsr__now() - tf;
  }
  tsr__free(rlines);
  if (!rc && opts.enforce_reject_limit && st.rows_read > 0 &&
      (double)st.rows_rejected > src->max_reject_share * (double)st.rows_read) {
    rc = tsr_error_set(err, TSR_EREJECTS, src->path, 0, 0,
                       "%llu of %llu rows rejected (%.2f%%), more than max_reject_share allows (%.2f%%); the rows "
                       "and reasons are in rejects.csv",
                       (unsigned long long)st.rows_rejected, (unsigned long long)st.rows_read,
                       100.0 * (double)st.rows_rejected / (double)st.rows_read, 100.0 * src->max_reject_share);
  }
  st.seconds_total = tsr__now() - t0;
  if (stats_out) *stats_out = st;
  if (rc) {
    tsr_store_free(store);
    return rc;
  }
  *out = store;
  return 0;
}
