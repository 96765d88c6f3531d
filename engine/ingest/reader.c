/* The ingest reader (reader.h): plain files by mmap (read() if mapping
 * fails), gzip through zlib's gzread, zstd through the streaming decoder. */
/* madvise(MADV_DONTNEED) is not in POSIX (posix_madvise's DONTNEED is a
 * no-op on Linux), hence the default feature set */
#define _DEFAULT_SOURCE
#include "ingest/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common_internal.h"

static int ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcmp(s + n - m, suf) == 0;
}

int tsr__reader_open(tsr__reader *r, const char *path, tsr_error *err) {
  memset(r, 0, sizeof *r);
  r->fd = -1;
  r->path = path;
  r->kind = ends_with(path, ".gz") ? TSR__READ_GZIP : (ends_with(path, ".zst") || ends_with(path, ".zstd")) ? TSR__READ_ZSTD : TSR__READ_PLAIN;
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
  if (r->kind == TSR__READ_GZIP) {
    r->gz = gzdopen(fd, "rb");
    if (!r->gz) {
      close(fd);
      return tsr_error_set(err, TSR_ENOMEM, path, 0, 0, "cannot start gzip decoder");
    }
    gzbuffer(r->gz, 1u << 20);
    /* zlib would read a file without a gzip header as plain text: a .gz
     * name promises gzip, and a cut-down first byte must not pass */
    if (r->file_bytes > 0 && gzdirect(r->gz)) {
      gzclose(r->gz);
      r->gz = NULL;
      if (r->file_bytes < 10)
        return tsr_error_set(err, TSR_EIO, path, 0, 0, "the gzip file is truncated: %llu bytes, shorter than a header",
                             (unsigned long long)r->file_bytes);
      return tsr_error_set(err, TSR_EIO, path, 0, 0, "is not gzip data (no gzip header), though its name ends in .gz");
    }
    return 0;
  }
  r->fd = fd;
  if (r->kind == TSR__READ_PLAIN && r->file_bytes > 0) {
    void *m = mmap(NULL, (size_t)r->file_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m != MAP_FAILED) { /* else: fall back to read() */
      madvise(m, (size_t)r->file_bytes, MADV_SEQUENTIAL);
      r->map = m;
      r->map_len = (size_t)r->file_bytes;
    }
  }
  if (r->kind == TSR__READ_ZSTD) {
    r->zd = ZSTD_createDCtx();
    r->zin_cap = ZSTD_DStreamInSize() * 16;
    r->zin = tsr__malloc(r->zin_cap);
    if (!r->zd || !r->zin) return tsr_error_set(err, TSR_ENOMEM, path, 0, 0, "cannot start zstd decoder");
  }
  return 0;
}

/* How far into the file on disk reading has got, for progress. */
uint64_t tsr__reader_file_pos(const tsr__reader *r, uint64_t text_bytes) {
  if (r->kind == TSR__READ_GZIP) {
    long off = gzoffset(r->gz);
    return off > 0 ? (uint64_t)off : 0;
  }
  if (r->kind == TSR__READ_ZSTD) return r->zread - (r->zin_len - r->zin_pos);
  return r->map ? r->map_pos : text_bytes;
}

/* Releases mapped pages below `upto` from this process (they stay in the
 * page cache), so RSS does not grow with the file. */
void tsr__reader_release(tsr__reader *r, size_t upto) {
  if (!r->map) return;
  size_t page = (size_t)1 << 21, end = upto & ~(page - 1);
  if (end > r->released) {
    madvise((void *)(uintptr_t)(r->map + r->released), end - r->released, MADV_DONTNEED);
    r->released = end;
  }
}

void tsr__reader_close(tsr__reader *r) {
  if (r->map) munmap((void *)(uintptr_t)r->map, r->map_len);
  if (r->gz) gzclose(r->gz);
  if (r->fd >= 0) close(r->fd);
  if (r->zd) ZSTD_freeDCtx(r->zd);
  tsr__free(r->zin);
  memset(r, 0, sizeof *r);
  r->fd = -1;
}

/* Reads up to n bytes; returns the count (0 = end) or a negative error. */
int64_t tsr__reader_read(tsr__reader *r, char *dst, size_t n, tsr_error *err) {
  if (r->kind == TSR__READ_PLAIN) {
    for (;;) {
      ssize_t got = read(r->fd, dst, n);
      if (got >= 0) return got;
      if (errno != EINTR) return tsr_error_set(err, TSR_EIO, r->path, 0, 0, "read failed: %s", strerror(errno));
    }
  }
  if (r->kind == TSR__READ_GZIP) {
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

