/* Keys and pseudonyms (engine/extract/pseudo.h): HMAC-SHA256 against RFC
 * 4231 and against libsodium's crypto_auth_hmacsha256 on random keys and
 * messages, the same output for any thread count, the key file's modes,
 * symlinks and format, keygen's refusal of existing files and its 0600 under
 * umask 0, and no key material in any error. Criterion runs each test in a
 * forked child, so the OpenMP threads of the thread-count test start there,
 * never in the runner. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extract/pseudo.h"
#include "test_util.h"

static size_t unhex(const char *h, unsigned char *out) {
  size_t n = strlen(h) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(h + 2 * i, "%2x", &v);
    out[i] = (unsigned char)v;
  }
  return n;
}

static void tohex(const unsigned char *b, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

/* HMAC of one message under a raw key, through the engine. */
static void engine_hmac(const unsigned char *key, size_t klen, const void *msg, size_t mlen, unsigned char mac[32]) {
  tsr__key *k = NULL;
  tsr_error err;
  cr_assert_eq(tsr__key_from_bytes(key, klen, &k, &err), 0);
  tsr_view v = {msg, (uint32_t)mlen};
  cr_assert_eq(tsr__pseudo_hmac(k, &v, 1, mac, 1, &err), 0);
  tsr__key_free(k);
}

/* libsodium's HMAC-SHA256 for any key length. */
static void sodium_hmac(const unsigned char *key, size_t klen, const void *msg, size_t mlen, unsigned char mac[32]) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key, klen);
  crypto_auth_hmacsha256_update(&st, msg, mlen);
  crypto_auth_hmacsha256_final(&st, mac);
}

/* --- RFC 4231 ------------------------------------------------------------------ */

typedef struct {
  int tc;
  char key_hex[300];
  char data[160]; /* text, or "hex:..." */
  char mac[65];
} rfc_case;

ParameterizedTestParameters(pseudo, rfc4231) {
  static rfc_case cases[] = {
      {1, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {2, "4a656665", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {3, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "hex:dd50",
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {4, "0102030405060708090a0b0c0d0e0f10111213141516171819", "hex:cd50",
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {6, "aa131", "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {7, "aa131",
       "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be "
       "hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  return cr_make_param_array(rfc_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(rfc_case *c, pseudo, rfc4231) {
  cr_assert_geq(sodium_init(), 0);
  unsigned char key[200], data[200], want[32], got[32], ref[32];
  size_t klen, dlen;
  if (strcmp(c->key_hex, "aa131") == 0) { /* test cases 6 and 7: 131 bytes of 0xaa */
    klen = 131;
    memset(key, 0xaa, klen);
  } else {
    klen = unhex(c->key_hex, key);
  }
  if (strncmp(c->data, "hex:", 4) == 0) { /* 50 bytes of one value */
    unsigned v;
    sscanf(c->data + 4, "%2x", &v);
    dlen = 50;
    memset(data, (int)v, dlen);
  } else {
    dlen = strlen(c->data);
    memcpy(data, c->data, dlen);
  }
  unhex(c->mac, want);
  engine_hmac(key, klen, data, dlen, got);
  char gh[65];
  tohex(got, 32, gh);
  cr_assert_str_eq(gh, c->mac, "RFC 4231 test case %d (%s)", c->tc, tsr__pseudo_backend());
  sodium_hmac(key, klen, data, dlen, ref);
  cr_assert_arr_eq(ref, want, 32, "libsodium disagrees with RFC 4231 test case %d", c->tc);
}

/* A pinned pseudonym: key bytes 00..1f (python3 hmac.new(bytes(range(32)),
 * b"nhs:4474035879", "sha256")), and its printed form: the first 128 bits. */
Test(pseudo, pinned_pseudonym) {
  unsigned char key[32], mac[32];
  for (int i = 0; i < 32; i++) key[i] = (unsigned char)i;
  engine_hmac(key, 32, "nhs:4474035879", 14, mac);
  char full[65], p[TSR__PSEUDO_HEX + 1];
  tohex(mac, 32, full);
  cr_assert_str_eq(full, "5218ea40f424027c0b20175bede15ccc086f7f0ccebdfde81592964b5c214d03");
  memset(p, 'x', sizeof p);
  tsr__pseudo_hex(mac, p);
  cr_assert_str_eq(p, "5218ea40f424027c0b20175bede15ccc");
  engine_hmac(key, 32, "rec:gp:GP000001", 15, mac);
  tsr__pseudo_hex(mac, p);
  cr_assert_str_eq(p, "140610e8d7914f1ed604b0453feaeda5");
  unsigned char ff[32];
  memset(ff, 0xff, 32);
  tsr__pseudo_hex(ff, p);
  cr_assert_str_eq(p, "ffffffffffffffffffffffffffffffff");
}

/* --- equality with libsodium ------------------------------------------------------- */

/* Random keys of every length class (empty, short, 32, one block, longer than
 * a block) and messages of 0..300 bytes, block edges included, in one batch
 * per key: every MAC equals crypto_auth_hmacsha256's. */
Test(pseudo, equals_libsodium_random) {
  cr_assert_geq(sodium_init(), 0);
  static const size_t klens[] = {0, 1, 20, 31, 32, 33, 63, 64, 65, 100, 131, 200};
  static const size_t edges[] = {0, 1, 14, 15, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 300};
  enum { NMSG = 400 };
  unsigned char seed[randombytes_SEEDBYTES] = {7};
  static unsigned char pool[NMSG * 301], macs[NMSG * 32];
  tsr_view v[NMSG];
  size_t checked = 0;
  for (size_t ki = 0; ki < sizeof klens / sizeof klens[0]; ki++) {
    unsigned char key[200];
    seed[1] = (unsigned char)ki;
    randombytes_buf_deterministic(key, sizeof key, seed);
    seed[2] = 1;
    randombytes_buf_deterministic(pool, sizeof pool, seed);
    seed[2] = 0;
    for (size_t i = 0; i < NMSG; i++) {
      size_t len = i < sizeof edges / sizeof edges[0] ? edges[i] : pool[i * 301] + (size_t)(pool[i * 301 + 1] % 46);
      v[i].ptr = (const char *)pool + i * 301;
      v[i].len = (uint32_t)len;
    }
    tsr__key *k = NULL;
    tsr_error err;
    cr_assert_eq(tsr__key_from_bytes(klens[ki] ? key : NULL, klens[ki], &k, &err), 0);
    cr_assert_eq(tsr__pseudo_hmac(k, v, NMSG, macs, 1, &err), 0);
    tsr__key_free(k);
    for (size_t i = 0; i < NMSG; i++) {
      unsigned char ref[32];
      sodium_hmac(key, klens[ki], v[i].ptr, v[i].len, ref);
      cr_assert_arr_eq(macs + 32 * i, ref, 32, "key length %zu, message %zu (length %u): differs from libsodium",
                       klens[ki], i, v[i].len);
      checked++;
    }
  }
  cr_assert_eq(checked, 12u * NMSG);
}

/* The patient-key form at scale, with the 32-byte key crypto_auth_hmacsha256
 * takes, and the same MACs at 1, 2, 3 and "all" threads: n is odd and above
 * the size that starts threads, so the shares are uneven. */
Test(pseudo, thread_count_independent) {
  cr_assert_geq(sodium_init(), 0);
  enum { N = 100003 };
  static char text[N][16];
  static tsr_view v[N];
  static unsigned char m1[N * 32], m2[N * 32], m3[N * 32], m0[N * 32];
  for (size_t i = 0; i < N; i++) {
    int w = snprintf(text[i], sizeof text[i], "nhs:%010zu", 4000000000u + i * 7919u);
    v[i].ptr = text[i];
    v[i].len = (uint32_t)w;
  }
  unsigned char key[crypto_auth_hmacsha256_KEYBYTES];
  unsigned char seed[randombytes_SEEDBYTES] = {42};
  randombytes_buf_deterministic(key, sizeof key, seed);
  tsr__key *k = NULL;
  tsr_error err;
  cr_assert_eq(tsr__key_from_bytes(key, sizeof key, &k, &err), 0);
  cr_assert_eq(tsr__pseudo_hmac(k, v, N, m1, 1, &err), 0);
  cr_assert_eq(tsr__pseudo_hmac(k, v, N, m2, 2, &err), 0);
  cr_assert_eq(tsr__pseudo_hmac(k, v, N, m3, 3, &err), 0);
  cr_assert_eq(tsr__pseudo_hmac(k, v, N, m0, 0, &err), 0);
  tsr__key_free(k);
  cr_assert_arr_eq(m1, m2, sizeof m1);
  cr_assert_arr_eq(m1, m3, sizeof m1);
  cr_assert_arr_eq(m1, m0, sizeof m1);
  for (size_t i = 0; i < N; i += 1) {
    unsigned char ref[32];
    crypto_auth_hmacsha256(ref, (const unsigned char *)v[i].ptr, v[i].len, key);
    cr_assert_arr_eq(m2 + 32 * i, ref, 32, "message %zu differs from crypto_auth_hmacsha256", i);
  }
}

Test(pseudo, bad_arguments) {
  unsigned char key[32] = {1}, mac[32];
  tsr__key *k = NULL;
  tsr_error err;
  cr_assert_eq(tsr__key_from_bytes(NULL, 5, &k, &err), TSR_EINVAL);
  cr_assert_eq(tsr__key_from_bytes(key, 32, &k, &err), 0);
  tsr_view bad = {NULL, 3};
  cr_assert_eq(tsr__pseudo_hmac(k, &bad, 1, mac, 1, &err), TSR_EINVAL);
  cr_assert_eq(tsr__pseudo_hmac(k, NULL, 1, mac, 1, &err), TSR_EINVAL);
  cr_assert_eq(tsr__pseudo_hmac(NULL, NULL, 0, NULL, 1, &err), TSR_EINVAL);
  cr_assert_eq(tsr__pseudo_hmac(k, NULL, 0, NULL, 1, &err), 0);
  tsr_view empty = {NULL, 0}; /* the empty message needs no bytes */
  cr_assert_eq(tsr__pseudo_hmac(k, &empty, 1, mac, 1, &err), 0);
  unsigned char ref[32];
  crypto_auth_hmacsha256(ref, (const unsigned char *)"", 0, key);
  cr_assert_arr_eq(mac, ref, 32);
  tsr__key_free(k);
  tsr__key_free(NULL);
  cr_assert_eq(tsr__key_load(NULL, &k, &err), TSR_EINVAL);
  cr_assert_eq(tsr__key_generate("", &err), TSR_EINVAL);
}

/* --- key files -------------------------------------------------------------------------- */

/* Writes text (n bytes) to dir/name with the given mode, exactly. */
static void put_file(const char *path, const char *text, size_t n, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
  cr_assert_eq(write(fd, text, n), (ssize_t)n);
  close(fd);
  cr_assert_eq(chmod(path, mode), 0);
}

static void read_text(const char *path, char *buf, size_t cap, size_t *n) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "%s", path);
  *n = fread(buf, 1, cap, f);
  fclose(f);
}

#define KEY_HEX "00112233445566778899aabbccddeeff0123456789abcdef02468ace13579bdf"

/* No window of 8 characters of the key's hex, in either case, is in the
 * message or the file name of err. */
static void assert_no_key(const tsr_error *err, const char *key_hex) {
  char lower[65], upper[65];
  for (int i = 0; i < 64; i++) {
    lower[i] = (char)(key_hex[i] >= 'A' && key_hex[i] <= 'F' ? key_hex[i] + 32 : key_hex[i]);
    upper[i] = (char)(lower[i] >= 'a' && lower[i] <= 'f' ? lower[i] - 32 : lower[i]);
  }
  lower[64] = upper[64] = '\0';
  char all[1100];
  snprintf(all, sizeof all, "%s | %s", err->file, err->msg);
  for (int i = 0; i + 8 <= 64; i++) {
    char w[9];
    memcpy(w, lower + i, 8);
    w[8] = '\0';
    cr_assert_null(strstr(all, w), "key material '%s' in an error: %s", w, all);
    memcpy(w, upper + i, 8);
    cr_assert_null(strstr(all, w), "key material '%s' in an error: %s", w, all);
  }
}

/* The loaded key makes the same MACs as the raw bytes of KEY_HEX. */
static void assert_is_key_hex(const tsr__key *k, const char *key_hex) {
  unsigned char raw[32], a[32], b[32];
  unhex(key_hex, raw);
  tsr_view v = {"nhs:9434765919", 14};
  tsr_error err;
  cr_assert_eq(tsr__pseudo_hmac(k, &v, 1, a, 1, &err), 0);
  crypto_auth_hmacsha256(b, (const unsigned char *)v.ptr, v.len, raw);
  cr_assert_arr_eq(a, b, 32, "the loaded key is not the file's key");
}

typedef struct {
  unsigned mode;
  int ok;
} mode_case;

ParameterizedTestParameters(pseudo, key_modes) {
  static mode_case cases[] = {{0600, 1}, {0400, 1}, {0700, 1}, {0200, 1}, {0640, 0}, {0604, 0},
                              {0644, 0}, {0660, 0}, {0620, 0}, {0610, 0}, {0602, 0}, {0601, 0},
                              {0606, 0}, {0666, 0}, {0777, 0}};
  return cr_make_param_array(mode_case, cases, sizeof cases / sizeof cases[0]);
}

/* 0600 and tighter load; any group or other bit is refused, naming the
 * file and the mode, and holding no key material. (0200: not readable, but
 * only when not run as root, which reads anything; the test skips the read
 * then.) */
ParameterizedTest(mode_case *c, pseudo, key_modes) {
  char *dir = tsr_test_tmpdir("pseudo");
  char path[300];
  snprintf(path, sizeof path, "%s/agreement.key", dir);
  put_file(path, KEY_HEX "\n", 65, c->mode);
  tsr__key *k = NULL;
  tsr_error err;
  tsr_error_clear(&err);
  int rc = tsr__key_load(path, &k, &err);
  if (c->mode == 0200) {
    if (geteuid() != 0) cr_assert_eq(rc, TSR_EIO, "mode 0200: unreadable");
    tsr__key_free(k);
    return;
  }
  if (c->ok) {
    cr_assert_eq(rc, 0, "mode %04o: %s", c->mode, err.msg);
    cr_assert_not_null(k);
    assert_is_key_hex(k, KEY_HEX);
    tsr__key_free(k);
  } else {
    cr_assert_eq(rc, TSR_ECONFIG, "mode %04o must be refused", c->mode);
    cr_assert_null(k);
    cr_assert_str_eq(err.file, path);
    char want[32];
    snprintf(want, sizeof want, "mode %04o", c->mode);
    cr_assert_not_null(strstr(err.msg, want), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "chmod 600"), "%s", err.msg);
    assert_no_key(&err, KEY_HEX);
  }
}

Test(pseudo, symlink_and_non_regular_refused) {
  char *dir = tsr_test_tmpdir("pseudo");
  char key[300], link[300], dangling[300], fifo[300];
  snprintf(key, sizeof key, "%s/real.key", dir);
  snprintf(link, sizeof link, "%s/link.key", dir);
  snprintf(dangling, sizeof dangling, "%s/dangling.key", dir);
  snprintf(fifo, sizeof fifo, "%s/fifo.key", dir);
  put_file(key, KEY_HEX "\n", 65, 0600);
  cr_assert_eq(symlink(key, link), 0);
  tsr__key *k = NULL;
  tsr_error err;
  cr_assert_eq(tsr__key_load(key, &k, &err), 0, "the target itself loads: %s", err.msg);
  tsr__key_free(k);
  k = NULL;
  tsr_error_clear(&err);
  cr_assert_eq(tsr__key_load(link, &k, &err), TSR_ECONFIG);
  cr_assert_null(k);
  cr_assert_str_eq(err.file, link);
  cr_assert_not_null(strstr(err.msg, "symbolic link"), "%s", err.msg);
  assert_no_key(&err, KEY_HEX);
  cr_assert_eq(symlink("/nonexistent/key", dangling), 0);
  cr_assert_eq(tsr__key_load(dangling, &k, &err), TSR_ECONFIG);
  cr_assert_not_null(strstr(err.msg, "symbolic link"), "%s", err.msg);
  /* a folder and a FIFO (which must not hang the open) */
  cr_assert_eq(tsr__key_load(dir, &k, &err), TSR_ECONFIG);
  cr_assert_not_null(strstr(err.msg, "not a regular file (a folder)"), "%s", err.msg);
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  cr_assert_eq(tsr__key_load(fifo, &k, &err), TSR_ECONFIG);
  cr_assert_not_null(strstr(err.msg, "not a regular file (a FIFO)"), "%s", err.msg);
  snprintf(fifo, sizeof fifo, "%s/missing.key", dir);
  cr_assert_eq(tsr__key_load(fifo, &k, &err), TSR_EIO);
  cr_assert_not_null(strstr(err.msg, "No such file"), "%s", err.msg);
  cr_assert_null(k);
}

/* Inline arrays, no pointers: Criterion may run a test in a new process image,
 * where a pointer into the parent's data would be wild. */
typedef struct {
  char what[48];
  char text[80];
  size_t len; /* 0: strlen(text) */
  int rc;
  uint32_t column; /* expected column of a format error, 0: none */
  char msg[40];
} format_case;

ParameterizedTestParameters(pseudo, key_format) {
  static format_case cases[] = {
      {"exact", KEY_HEX "\n", 0, 0, 0, ""},
      {"no final newline", KEY_HEX, 0, 0, 0, ""},
      {"upper case", "00112233445566778899AABBCCDDEEFF0123456789ABCDEF02468ACE13579BDF\n", 0, 0, 0, ""},
      {"short: 63 digits", "0112233445566778899aabbccddeeff0123456789abcdef02468ace13579bdf\n", 0, TSR_EPARSE, 64,
       "too short: a newline after 63"},
      {"short: 62 digits", "112233445566778899aabbccddeeff0123456789abcdef02468ace13579bdf\n", 0, TSR_EPARSE, 0,
       "found 63 bytes"},
      {"long: 65 digits", KEY_HEX "0\n", 0, TSR_EPARSE, 0, "found 66 bytes"},
      {"long: two newlines", KEY_HEX "\n\n", 0, TSR_EPARSE, 0, "found 66 bytes"},
      {"CRLF", KEY_HEX "\r\n", 0, TSR_EPARSE, 0, "found 66 bytes"},
      {"empty", "", 0, TSR_EPARSE, 0, "found 0 bytes"},
      {"not hex at 17", "0011223344556677g899aabbccddeeff0123456789abcdef02468ace13579bdf\n", 0, TSR_EPARSE, 17,
       "expected a hexadecimal digit"},
      {"not hex at 1", "x011223344556677889 aabbccddeeff0123456789abcdef02468ace13579bdf\n", 0, TSR_EPARSE, 1,
       "expected a hexadecimal digit"},
      {"not hex at 64", "00112233445566778899aabbccddeeff0123456789abcdef02468ace13579bd:\n", 0, TSR_EPARSE, 64,
       "expected a hexadecimal digit"},
      {"space at 20", "0011223344556677889 aabbccddeeff0123456789abcdef02468ace13579bdf\n", 0, TSR_EPARSE, 20,
       "expected a hexadecimal digit"},
      {"'@' and 'G' (next to the hex letters)", "@G112233445566778899aabbccddeeff0123456789abcdef02468ace13579bdf\n",
       0, TSR_EPARSE, 1, "expected a hexadecimal digit"},
      {"'`' at 20", "0011223344556677889`aabbccddeeff0123456789abcdef02468ace13579bdf\n", 0, TSR_EPARSE, 20,
       "expected a hexadecimal digit"},
      {"NUL at 33", "00112233445566778899aabbccddeeff\0" "123456789abcdef02468ace13579bdf\n", 65, TSR_EPARSE, 33,
       "expected a hexadecimal digit"},
      {"no newline but x", KEY_HEX "x", 0, TSR_EPARSE, 65, "expected a newline"},
  };
  return cr_make_param_array(format_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(format_case *c, pseudo, key_format) {
  char *dir = tsr_test_tmpdir("pseudo");
  char path[300];
  snprintf(path, sizeof path, "%s/k.key", dir);
  size_t len = c->len ? c->len : strlen(c->text);
  put_file(path, c->text, len, 0600);
  tsr__key *k = NULL;
  tsr_error err;
  tsr_error_clear(&err);
  int rc = tsr__key_load(path, &k, &err);
  cr_assert_eq(rc, c->rc, "%s: rc %d (%s)", c->what, rc, err.msg);
  if (!c->rc) {
    assert_is_key_hex(k, KEY_HEX);
    tsr__key_free(k);
    return;
  }
  cr_assert_null(k);
  cr_assert_str_eq(err.file, path);
  cr_assert_eq(err.column, c->column, "%s: column %u", c->what, err.column);
  cr_assert_not_null(strstr(err.msg, c->msg), "%s: %s", c->what, err.msg);
  assert_no_key(&err, KEY_HEX);
  /* the bad file's own digits are no more printed than a good one's */
  if (len >= 64) {
    char own[65];
    memcpy(own, c->text, 64);
    own[64] = '\0';
    for (int i = 0; i + 8 <= 64; i++) {
      char w[9];
      memcpy(w, own + i, 8);
      w[8] = '\0';
      if (strlen(w) == 8) cr_assert_null(strstr(err.msg, w), "%s: '%s' in %s", c->what, w, err.msg);
    }
  }
}

/* --- keygen ---------------------------------------------------------------------------- */

static void assert_key_file(const char *path) {
  struct stat st;
  cr_assert_eq(lstat(path, &st), 0);
  cr_assert(S_ISREG(st.st_mode));
  cr_assert_eq(st.st_mode & 07777, 0600, "mode %04o", (unsigned)(st.st_mode & 07777));
  char buf[100];
  size_t n;
  read_text(path, buf, sizeof buf, &n);
  cr_assert_eq(n, 65);
  cr_assert_eq(buf[64], '\n');
  for (int i = 0; i < 64; i++)
    cr_assert((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f'), "character %d", i + 1);
}

Test(pseudo, keygen_0600_under_umask_0_and_loads) {
  char *dir = tsr_test_tmpdir("pseudo");
  char a[300], b[300];
  snprintf(a, sizeof a, "%s/a.key", dir);
  snprintf(b, sizeof b, "%s/b.key", dir);
  umask(0);
  tsr_error err;
  cr_assert_eq(tsr__key_generate(a, &err), 0, "%s", err.msg);
  assert_key_file(a);
  /* a umask that takes the owner's write bit: fchmod puts it back */
  umask(0277);
  cr_assert_eq(tsr__key_generate(b, &err), 0, "%s", err.msg);
  assert_key_file(b);
  umask(022);
  char ta[100], tb[100];
  size_t na, nb;
  read_text(a, ta, sizeof ta, &na);
  read_text(b, tb, sizeof tb, &nb);
  cr_assert_neq(memcmp(ta, tb, 64), 0, "two keys are the same");
  ta[64] = '\0';
  tsr__key *k = NULL;
  cr_assert_eq(tsr__key_load(a, &k, &err), 0, "%s", err.msg);
  assert_is_key_hex(k, ta);
  tsr__key_free(k);
}

Test(pseudo, keygen_refuses_existing) {
  char *dir = tsr_test_tmpdir("pseudo");
  char path[300], link[300], target[300];
  snprintf(path, sizeof path, "%s/old.key", dir);
  put_file(path, KEY_HEX "\n", 65, 0600);
  tsr_error err;
  tsr_error_clear(&err);
  cr_assert_eq(tsr__key_generate(path, &err), TSR_EIO);
  cr_assert_str_eq(err.file, path);
  cr_assert_not_null(strstr(err.msg, "already exists"), "%s", err.msg);
  assert_no_key(&err, KEY_HEX);
  char buf[100];
  size_t n;
  read_text(path, buf, sizeof buf, &n);
  cr_assert_eq(n, 65);
  cr_assert_eq(memcmp(buf, KEY_HEX "\n", 65), 0, "the old key was changed");
  /* a dangling symlink: refused, and nothing is created at its target */
  snprintf(link, sizeof link, "%s/link.key", dir);
  snprintf(target, sizeof target, "%s/target.key", dir);
  cr_assert_eq(symlink(target, link), 0);
  cr_assert_eq(tsr__key_generate(link, &err), TSR_EIO);
  cr_assert_eq(access(target, F_OK), -1, "keygen wrote through a symlink");
  /* a folder that is not there */
  snprintf(link, sizeof link, "%s/no/such.key", dir);
  cr_assert_eq(tsr__key_generate(link, &err), TSR_EIO);
  cr_assert_not_null(strstr(err.msg, "cannot create"), "%s", err.msg);
}
