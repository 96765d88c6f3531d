/* The release register (register.h): appends under an exclusive file lock,
 * line-by-line verification of the hash chain, and the quarterly
 * publication as CSV and one self-contained HTML page.
 *
 * DESIGN
 *   One pass, check(), reads the file's bytes and checks each line in this
 *   order, stopping at the first failure, so the entry named is the first
 *   bad one and the reason is the most specific:
 *     1. a final newline (else: cut short)     5. sha256 of the entry
 *     2. a JSON object, no duplicate keys      6. seq == line number
 *     3. register keys present, well formed    7. release_id == reference-seq
 *     4. canonical spelling (byte for byte)    8. prev_sha256 == line i-1's
 *   An edited value fails 5 on its own line; a deleted, inserted or moved
 *   line fails 6 where the order first breaks; an entry edited and re-hashed
 *   fails 8 on the line after it. The last entry edited and re-hashed is
 *   caught only against a published head sha256 (docs/register.md).
 *   append, verify and report all go through check(), so a register that
 *   does not verify is never extended and never published. */
#include "extract/register.h"
#include "report/report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/buf.h"
#include "common/common_internal.h"
#include "common/date.h"

#define CANON_FLAGS (JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII)
static const char ZERO_HASH[65] = "0000000000000000000000000000000000000000000000000000000000000000";

/* --- small helpers ------------------------------------------------------------ */

static void sha256_hex(const char *s, size_t n, char hex[65]) {
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)s, (unsigned long long)n);
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < sizeof h; i++) {
    hex[2 * i] = digits[h[i] >> 4];
    hex[2 * i + 1] = digits[h[i] & 15];
  }
  hex[64] = '\0';
}

static int is_hex64(const char *s) {
  if (strlen(s) != 64) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return 0;
  return 1;
}

/* "YYYY-MM-DDTHH:MM:SSZ", a real UTC date and time (no leap second). */
static int time_valid(const char *s) {
  static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
  if (strlen(s) != sizeof pat - 1) return 0;
  for (size_t i = 0; pat[i]; i++)
    if (pat[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pat[i]) return 0;
  int y = atoi(s), mo = atoi(s + 5), d = atoi(s + 8), h = atoi(s + 11), mi = atoi(s + 14), se = atoi(s + 17);
  return y >= 1970 && tsr__ymd_valid(y, mo, d) && h < 24 && mi < 60 && se < 60;
}

static void format_time(int64_t t, char out[21]) {
  int64_t days = t / 86400, sec = t % 86400;
  if (sec < 0) sec += 86400, days--;
  int y, m, d;
  tsr__ymd_from_days((int32_t)days, &y, &m, &d);
  snprintf(out, 21, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(sec / 3600), (int)(sec / 60 % 60),
           (int)(sec % 60));
}

/* Appends to an error's message (cut at its size). */
static void add_msg(tsr_error *err, const char *more) {
  if (!err) return;
  size_t l = strlen(err->msg);
  if (l + 1 < sizeof err->msg) snprintf(err->msg + l, sizeof err->msg - l, "%s", more);
}

/* --- reading and checking ------------------------------------------------------- */

typedef struct reg_state {
  uint64_t n;          /* entries verified */
  char head[65];       /* sha256 of the last verified entry */
  char head_id[160];   /* its release_id, for messages ("" before line 1) */
  json_t *keep;        /* when not NULL: every verified entry is appended */
} reg_state;

/* The whole file, from fd (already locked), into a tsr__malloc'd buffer. */
static int read_all(int fd, const char *path, char **out, size_t *len, tsr_error *err) {
  struct stat sb;
  *out = NULL;
  *len = 0;
  if (fstat(fd, &sb)) return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot stat the register: %s", strerror(errno));
  if (!S_ISREG(sb.st_mode)) return tsr_error_set(err, TSR_EIO, path, 0, 0, "the register is not a regular file");
  size_t n = (size_t)sb.st_size;
  char *b = tsr__malloc(n + 1);
  if (!b) return tsr_error_set(err, TSR_ENOMEM, path, 0, 0, "out of memory reading the register (%zu bytes)", n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, b + got, n - got, (off_t)got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = r < 0 ? errno : 0;
      tsr__free(b);
      return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot read the register: %s", e ? strerror(e) : "file shrank");
    }
    got += (size_t)r;
  }
  b[n] = '\0';
  *out = b;
  *len = n;
  return 0;
}

static int lock_fd(int fd, int how, const char *path, tsr_error *err) {
  while (flock(fd, how)) {
    if (errno == EINTR) continue;
    return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot lock the register: %s", strerror(errno));
  }
  return 0;
}

/* Checks one line (s, n without its newline; cut: there was no newline). */
static int check_line(const char *path, const char *s, size_t n, int cut, uint64_t lineno, reg_state *st,
                      tsr_error *err) {
  char where[256], prev_where[200];
  if (st->n) snprintf(prev_where, sizeof prev_where, "after release_id %s", st->head_id);
  else snprintf(prev_where, sizeof prev_where, "the first entry");
  snprintf(where, sizeof where, "expected seq %" PRIu64 ", %s", lineno, prev_where);
#define BAD(...)                                                                                 \
  do {                                                                                           \
    char what_[400];                                                                             \
    snprintf(what_, sizeof what_, __VA_ARGS__);                                                  \
    json_decref(e);                                                                              \
    return tsr_error_set(err, TSR_EPARSE, path, lineno, 0, "entry (%s): %s", where, what_);     \
  } while (0)
  json_t *e = NULL;
  if (n == 0) BAD("an empty line%s", cut ? "" : " where an entry was expected");
  json_error_t je;
  e = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
  json_t *seqj = json_object_get(e, "seq"), *idj = json_object_get(e, "release_id");
  if (json_is_integer(seqj) && json_is_string(idj))
    snprintf(where, sizeof where, "seq %" JSON_INTEGER_FORMAT ", release_id %.120s", json_integer_value(seqj),
             json_string_value(idj));
  else if (json_is_integer(seqj))
    snprintf(where, sizeof where, "seq %" JSON_INTEGER_FORMAT ", %s", json_integer_value(seqj), prev_where);
  if (cut)
    BAD("the last line has no final newline%s: the register was cut short or a write did not finish",
        e && json_is_object(e) ? "" : " and is not a whole JSON object");
  if (!e) BAD("not JSON: %s (column %d)", je.text, je.column);
  if (!json_is_object(e)) BAD("not a JSON object");

  /* 3. the register's own keys */
  const char *keys[] = {"seq", "release_id", "reference", "time", "prev_sha256", "sha256"};
  for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
    json_t *v = json_object_get(e, keys[k]);
    if (!v) BAD("no \"%s\"", keys[k]);
    if (k == 0 ? !json_is_integer(v) : !json_is_string(v))
      BAD("\"%s\" is not %s", keys[k], k == 0 ? "a whole number" : "a string");
  }
  const char *tm = json_string_value(json_object_get(e, "time"));
  if (!time_valid(tm)) BAD("\"time\" is '%.40s', expected a UTC time such as 2026-07-01T09:30:00Z", tm);
  const char *prev = json_string_value(json_object_get(e, "prev_sha256"));
  const char *own = json_string_value(json_object_get(e, "sha256"));
  if (!is_hex64(prev)) BAD("\"prev_sha256\" is not 64 lower-case hex digits");
  if (!is_hex64(own)) BAD("\"sha256\" is not 64 lower-case hex digits");

  /* 4. canonical spelling */
  char *canon = json_dumps(e, CANON_FLAGS);
  if (!canon) BAD("out of memory");
  int same = strlen(canon) == n && memcmp(canon, s, n) == 0;
  free(canon);
  if (!same)
    BAD("not in canonical form (a byte outside the values changed: whitespace, key order or escaping); each "
        "line must be exactly json_dumps(JSON_SORT_KEYS|JSON_COMPACT|JSON_ENSURE_ASCII)");

  /* 5. its own hash */
  char own_hex[65], got_hex[65];
  memcpy(own_hex, own, 65);
  json_object_del(e, "sha256");
  char *body = json_dumps(e, CANON_FLAGS);
  if (!body) BAD("out of memory");
  sha256_hex(body, strlen(body), got_hex);
  free(body);
  if (strcmp(own_hex, got_hex) != 0)
    BAD("sha256 does not match the entry's content (computed %s): the entry was changed after it was written",
        got_hex);

  /* 6. order */
  json_int_t seq = json_integer_value(seqj);
  if (seq != (json_int_t)lineno)
    BAD("seq %" JSON_INTEGER_FORMAT " on line %" PRIu64 " (%s): %s", seq, lineno, prev_where,
        seq > (json_int_t)lineno   ? "an entry before it was deleted, or the entries were reordered"
        : seq < (json_int_t)lineno ? "an entry was inserted before it, or the entries were reordered"
                                   : "");
  /* 7. release_id */
  char want[200];
  const char *ref = json_string_value(json_object_get(e, "reference"));
  snprintf(want, sizeof want, "%.150s-%06" JSON_INTEGER_FORMAT, ref, seq);
  if (strcmp(want, json_string_value(idj)) != 0)
    BAD("release_id is not reference-seq (expected %s)", want);
  /* 8. the chain */
  const char *want_prev = st->n ? st->head : ZERO_HASH;
  if (strcmp(prev, want_prev) != 0) {
    if (st->n)
      BAD("prev_sha256 does not match the sha256 of line %" PRIu64 " (release_id %s): that entry was changed "
          "and re-hashed, or the chain was rebuilt",
          lineno - 1, st->head_id);
    BAD("prev_sha256 of the first entry is not 64 zeros: entries before it were removed");
  }
#undef BAD
  st->n++;
  memcpy(st->head, own_hex, 65);
  snprintf(st->head_id, sizeof st->head_id, "%s", json_string_value(idj));
  if (st->keep) {
    if (json_array_append_new(st->keep, e)) return tsr_error_set(err, TSR_ENOMEM, path, lineno, 0, "out of memory");
  } else {
    json_decref(e);
  }
  return 0;
}

static int check(const char *path, const char *data, size_t len, reg_state *st, tsr_error *err) {
  st->n = 0;
  memcpy(st->head, ZERO_HASH, 65);
  st->head_id[0] = '\0';
  size_t pos = 0;
  uint64_t lineno = 0;
  while (pos < len) {
    const char *s = data + pos;
    const char *nl = memchr(s, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - s) : len - pos;
    pos += n + (nl ? 1 : 0);
    TSR_FORWARD_IF_ERROR(check_line(path, s, n, nl == NULL, ++lineno, st, err));
  }
  return 0;
}

/* Opens, share-locks, reads and checks the register. */
static int load_checked(const char *path, reg_state *st, tsr_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot open the register: %s", strerror(errno));
  char *data = NULL;
  size_t len = 0;
  int rc = lock_fd(fd, LOCK_SH, path, err);
  if (!rc) rc = read_all(fd, path, &data, &len, err);
  close(fd);
  if (!rc) rc = check(path, data, len, st, err);
  tsr__free(data);
  return rc;
}

int tsr__register_verify_head(const char *path, uint64_t *entries, char head[65], tsr_error *err) {
  reg_state st = {0};
  int rc = load_checked(path, &st, err);
  if (entries) *entries = rc ? 0 : st.n;
  if (head) memcpy(head, rc ? ZERO_HASH : st.head, 65);
  return rc;
}

int tsr__register_verify(const char *path, uint64_t *entries, tsr_error *err) {
  return tsr__register_verify_head(path, entries, NULL, err);
}

/* --- appending ---------------------------------------------------------------------- */

static int has_real(const json_t *v) {
  if (json_is_real(v)) return 1;
  size_t i;
  const char *k;
  json_t *x;
  if (json_is_array(v)) json_array_foreach((json_t *)v, i, x) if (has_real(x)) return 1;
  if (json_is_object(v)) json_object_foreach((json_t *)v, k, x) if (has_real(x)) return 1;
  return 0;
}

static int check_fields(const char *path, const json_t *fields, tsr_error *err) {
  if (!json_is_object(fields)) return tsr_error_set(err, TSR_EINVAL, path, 0, 0, "register entry: fields must be a JSON object");
  static const char *const own[] = {"seq", "release_id", "time", "prev_sha256", "sha256"};
  for (size_t k = 0; k < sizeof own / sizeof *own; k++)
    if (json_object_get(fields, own[k]))
      return tsr_error_set(err, TSR_EINVAL, path, 0, 0, "register entry: \"%s\" is set by the register, not the caller",
                           own[k]);
  const char *ref = json_string_value(json_object_get(fields, "reference"));
  if (!ref || !*ref)
    return tsr_error_set(err, TSR_EINVAL, path, 0, 0, "register entry: \"reference\" must be a non-empty string");
  for (const char *p = ref; *p; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
      return tsr_error_set(err, TSR_EINVAL, path, 0, 0, "register entry: \"reference\" must be printable ASCII");
  const char *k;
  json_t *x;
  json_object_foreach((json_t *)fields, k, x) if (has_real(x)) return tsr_error_set(
      err, TSR_EINVAL, path, 0, 0, "register entry: \"%s\" holds a real number; use whole numbers or strings", k);
  return 0;
}

static int write_all(int fd, const char *s, size_t n) {
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return w < 0 ? errno : EIO;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

/* fsync of the folder holding path, so a new register's name is durable. */
static void sync_parent(const char *path) {
  char dir[1024];
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == path) snprintf(dir, sizeof dir, "/");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0) {
    (void)fsync(d);
    close(d);
  }
}

/* Builds the new entry's line (with its newline) on the state's head. */
static int build_line(const char *path, const json_t *fields, const reg_state *st, int64_t t, char *release_id,
                      size_t cap, char **line, size_t *len, tsr_error *err) {
  const char *ref = json_string_value(json_object_get(fields, "reference"));
  uint64_t seq = st->n + 1;
  int idn = snprintf(release_id, cap, "%s-%06" PRIu64, ref, seq);
  if (idn < 0 || (size_t)idn >= cap)
    return tsr_error_set(err, TSR_ELIMIT, path, 0, 0, "release id of reference '%.200s' is longer than %zu bytes",
                         ref, cap ? cap - 1 : 0);
  char tm[21];
  format_time(t, tm);
  json_t *e = json_deep_copy(fields);
  int bad = !e || json_object_set_new(e, "seq", json_integer((json_int_t)seq)) ||
            json_object_set_new(e, "release_id", json_string(release_id)) ||
            json_object_set_new(e, "time", json_string(tm)) || json_object_set_new(e, "prev_sha256", json_string(st->head));
  char *body = bad ? NULL : json_dumps(e, CANON_FLAGS);
  char hex[65];
  if (body) {
    sha256_hex(body, strlen(body), hex);
    free(body);
    body = json_object_set_new(e, "sha256", json_string(hex)) ? NULL : json_dumps(e, CANON_FLAGS);
  }
  json_decref(e);
  if (!body) return tsr_error_set(err, TSR_ENOMEM, path, 0, 0, "out of memory building a register entry");
  size_t n = strlen(body);
  char *l = tsr__malloc(n + 1);
  if (!l) {
    free(body);
    return tsr_error_set(err, TSR_ENOMEM, path, 0, 0, "out of memory building a register entry");
  }
  memcpy(l, body, n);
  l[n] = '\n';
  free(body);
  *line = l;
  *len = n + 1;
  return 0;
}

int tsr__register_append_at(const char *path, const json_t *fields, int64_t unix_time, char *release_id,
                            size_t cap, tsr_error *err) {
  TSR_FORWARD_IF_ERROR(check_fields(path, fields, err));
  int created = 0;
  int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) created = 1;
    else if (errno == EEXIST) fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
  }
  if (fd < 0) return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot open the register for appending: %s", strerror(errno));
  char *data = NULL, *line = NULL;
  size_t len = 0, n = 0;
  reg_state st = {0};
  int rc = lock_fd(fd, LOCK_EX, path, err);
  if (!rc) rc = read_all(fd, path, &data, &len, err);
  if (!rc) {
    rc = check(path, data, len, &st, err);
    if (rc) add_msg(err, "; nothing appended (run tessera register verify)");
  }
  if (!rc) rc = build_line(path, fields, &st, unix_time, release_id, cap, &line, &n, err);
  if (!rc) {
    int e = write_all(fd, line, n);
    if (!e && fsync(fd)) e = errno;
    if (e) {
      /* leave no half line behind: the next append would refuse the register */
      if (ftruncate(fd, (off_t)len) == 0) (void)fsync(fd);
      rc = tsr_error_set(err, TSR_EIO, path, st.n + 1, 0, "cannot append to the register: %s", strerror(e));
    }
  }
  if (!rc && created) sync_parent(path);
  close(fd); /* releases the lock */
  tsr__free(data);
  tsr__free(line);
  return rc;
}

int tsr__register_append(const char *path, const json_t *fields, char *release_id, size_t cap, tsr_error *err) {
  return tsr__register_append_at(path, fields, (int64_t)time(NULL), release_id, cap, err);
}

/* --- the quarterly report ------------------------------------------------------------- */

int tsr__register_quarter_parse(const char *quarter, int *year, int *q, tsr_error *err) {
  const char *s = quarter ? quarter : "";
  int ok = strlen(s) == 6 && s[4] == 'Q' && s[5] >= '1' && s[5] <= '4';
  for (int i = 0; ok && i < 4; i++) ok = s[i] >= '0' && s[i] <= '9';
  int y = ok ? atoi(s) : 0;
  if (!ok || y < 1970)
    return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0,
                         "quarter '%.40s': expected YYYYQ1 to YYYYQ4 (a year from 1970, e.g. 2026Q3)", s);
  *year = y;
  *q = s[5] - '0';
  return 0;
}

enum { NCOLS = 11 };
static const char *const col_csv[NCOLS] = {"release_id", "release_date", "reference",      "recipient",
                                           "purpose",    "legal_basis",  "data_category",  "datasets",
                                           "opt_outs_applied", "patients", "rows"};
static const char *const col_html[NCOLS] = {"Release id", "Release date",  "Agreement reference", "Recipient",
                                            "Purpose",    "Legal basis",   "Data category",       "Datasets",
                                            "Opt-outs applied", "Patients", "Rows"};

/* A value as text: strings as they are, whole numbers in decimal, true/false
 * as yes/no, missing/null as `none`, anything else as compact JSON. */
static void value_text(tsr__buf *b, const json_t *v, const char *none) {
  if (!v || json_is_null(v)) tsr__buf_puts(b, none);
  else if (json_is_string(v)) tsr__buf_put(b, json_string_value(v), json_string_length(v));
  else if (json_is_integer(v)) {
    json_int_t x = json_integer_value(v);
    if (x < 0) tsr__buf_putc(b, '-');
    tsr__buf_u64(b, x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x);
  } else if (json_is_boolean(v)) tsr__buf_puts(b, json_is_true(v) ? "yes" : "no");
  else {
    char *d = json_dumps(v, CANON_FLAGS | JSON_ENCODE_ANY);
    if (d) tsr__buf_puts(b, d);
    free(d);
  }
}

static void cell_text(tsr__buf *b, const json_t *e, int col) {
  static const char *const key[NCOLS] = {"release_id", "time", "reference", "recipient", "purpose", "legal_basis",
                                         "data_category", "datasets", "opt_outs", "patients", "rows"};
  const json_t *v = json_object_get(e, key[col]);
  if (col == 1) { /* the date of the (verified) time */
    tsr__buf_put(b, json_string_value(v), 10);
  } else if (col == 7 && json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach((json_t *)v, i, x) {
      if (i) tsr__buf_puts(b, "; ");
      value_text(b, x, "");
    }
  } else if (col == 8) {
    if (!json_is_object(v)) {
      tsr__buf_puts(b, "not recorded");
    } else if (!json_is_true(json_object_get(v, "applied"))) {
      tsr__buf_puts(b, "no");
    } else {
      tsr__buf_puts(b, "yes (type 1: ");
      value_text(b, json_object_get(v, "type1_patients"), "?");
      tsr__buf_puts(b, " patients, ");
      value_text(b, json_object_get(v, "type1_records"), "?");
      tsr__buf_puts(b, " records; national: ");
      value_text(b, json_object_get(v, "national_patients"), "?");
      tsr__buf_puts(b, " patients, ");
      value_text(b, json_object_get(v, "national_records"), "?");
      tsr__buf_puts(b, " records)");
    }
  } else {
    value_text(b, v, "");
  }
}

static const char HTML_HEAD[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
    "<title>Release register ";
static const char HTML_CSS[] =
    "</title>\n<style>\n"
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em;color:#1d1d1d;line-height:1.4}\n"
    "h1{font-size:1.5em}table{border-collapse:collapse;font-size:0.9em}\n"
    "th,td{border:1px solid #b8b8b8;padding:0.3em 0.6em;text-align:left;vertical-align:top}\n"
    "th{background:#ececec}td.n{text-align:right;white-space:nowrap}.v{font-family:monospace;font-size:0.9em}\n"
    "</style>\n</head>\n<body>\n";

int tsr__register_report_n(const char *path, const char *quarter, const char *out_dir, uint64_t *releases,
                           uint64_t *entries, tsr_error *err) {
  int year, q;
  TSR_FORWARD_IF_ERROR(tsr__register_quarter_parse(quarter, &year, &q, err));
  reg_state st = {0};
  st.keep = json_array();
  if (!st.keep) return tsr_error_set(err, TSR_ENOMEM, path, 0, 0, "out of memory");
  int rc = load_checked(path, &st, err);
  if (rc) {
    if (rc == TSR_EPARSE) add_msg(err, "; the register does not verify, so no report is written");
    json_decref(st.keep);
    return rc;
  }
  static const char *const first_day[4] = {"01-01", "04-01", "07-01", "10-01"};
  static const char *const last_day[4] = {"03-31", "06-30", "09-30", "12-31"};
  char title[64], from[16], to[16];
  snprintf(title, sizeof title, "%04d Q%d", year, q);
  snprintf(from, sizeof from, "%04d-%s", year, first_day[q - 1]);
  snprintf(to, sizeof to, "%04d-%s", year, last_day[q - 1]);

  tsr__buf csv, html, cell;
  tsr__buf_init(&csv, 4096);
  tsr__buf_init(&html, 8192);
  tsr__buf_init(&cell, 256);
  for (int c = 0; c < NCOLS; c++) {
    if (c) tsr__buf_putc(&csv, ',');
    tsr__buf_puts(&csv, col_csv[c]);
  }
  tsr__buf_putc(&csv, '\n');
  tsr__buf_puts(&html, HTML_HEAD);
  tsr__buf_puts(&html, title);
  tsr__buf_puts(&html, HTML_CSS);
  tsr__buf_puts(&html, "<h1>Release register: ");
  tsr__buf_puts(&html, title);
  tsr__buf_puts(&html, "</h1>\n");

  uint64_t inq = 0;
  size_t i;
  json_t *e;
  tsr__buf rows;
  tsr__buf_init(&rows, 8192);
  json_array_foreach(st.keep, i, e) {
    const char *tm = json_string_value(json_object_get(e, "time")); /* verified: YYYY-MM-DD... */
    int ey = atoi(tm), em = atoi(tm + 5);
    if (ey != year || (em - 1) / 3 + 1 != q) continue;
    inq++;
    tsr__buf_puts(&rows, "<tr>");
    for (int c = 0; c < NCOLS; c++) {
      cell.len = 0;
      cell_text(&cell, e, c);
      if (c) tsr__buf_putc(&csv, ',');
      tsr__buf_csv_field(&csv, cell.p ? cell.p : "", cell.len, ',', TSR__CSV_PEOPLE);
      tsr__buf_puts(&rows, c >= 9 ? "<td class=\"n\">" : "<td>");
      tsr__buf_putc(&cell, '\0');
      tsr__html_esc(&rows, cell.oom ? "" : cell.p);
      tsr__buf_puts(&rows, "</td>");
    }
    tsr__buf_puts(&rows, "</tr>\n");
    tsr__buf_putc(&csv, '\n');
  }
  char line[400];
  snprintf(line, sizeof line,
           "<p>Research extracts released from %s to %s (UTC): %" PRIu64 ". Legal basis and data category "
           "are the spellings of the data-sharing agreement.</p>\n",
           from, to, inq);
  tsr__buf_puts(&html, line);
  snprintf(line, sizeof line, "<p class=\"v\">register verified: %" PRIu64 " entries, head sha256 %s</p>\n", st.n,
           st.head);
  tsr__buf_puts(&html, line);
  if (inq) {
    tsr__buf_puts(&html, "<table>\n<thead><tr>");
    for (int c = 0; c < NCOLS; c++) {
      tsr__buf_puts(&html, "<th>");
      tsr__buf_puts(&html, col_html[c]);
      tsr__buf_puts(&html, "</th>");
    }
    tsr__buf_puts(&html, "</tr></thead>\n<tbody>\n");
    tsr__buf_put(&html, rows.p, rows.len);
    tsr__buf_puts(&html, "</tbody>\n</table>\n");
  } else {
    tsr__buf_puts(&html, "<p>No releases in this quarter.</p>\n");
  }
  tsr__buf_puts(&html, "</body>\n</html>\n");
  json_decref(st.keep);
  tsr__buf_free(&cell);
  tsr__buf_free(&rows);

  char csv_name[64], html_name[64];
  snprintf(csv_name, sizeof csv_name, "release_register_%04dQ%d.csv", year, q);
  snprintf(html_name, sizeof html_name, "release_register_%04dQ%d.html", year, q);
  tsr__outfile fc = {.fd = -1}, fh = {.fd = -1};
  if (csv.oom || html.oom) rc = tsr_error_set(err, TSR_ENOMEM, path, 0, 0, "out of memory writing the report");
  if (!rc) rc = tsr__mkdirs(out_dir, err);
  /* both files staged first, then both renamed: a failure leaves neither half-written */
  if (!rc) rc = tsr__outfile_open(&fc, out_dir, csv_name, err);
  if (!rc) rc = tsr__outfile_open(&fh, out_dir, html_name, err);
  if (!rc) rc = tsr__outfile_write(&fc, csv.p, csv.len, err);
  if (!rc) rc = tsr__outfile_write(&fh, html.p, html.len, err);
  if (!rc) rc = tsr__outfile_commit(&fc, err);
  if (!rc) rc = tsr__outfile_commit(&fh, err);
  if (rc) {
    tsr__outfile_abort(&fc);
    tsr__outfile_abort(&fh);
  }
  tsr__buf_free(&csv);
  tsr__buf_free(&html);
  if (!rc && releases) *releases = inq;
  if (!rc && entries) *entries = st.n;
  return rc;
}

int tsr__register_report(const char *path, const char *quarter, const char *out_dir, tsr_error *err) {
  return tsr__register_report_n(path, quarter, out_dir, NULL, NULL, err);
}
