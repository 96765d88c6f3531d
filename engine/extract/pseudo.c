/* Keys and pseudonyms (pseudo.h): the key file (new random key, load with
 * its mode and format checked) and HMAC-SHA256 of many short messages at
 * once, the pseudonyms of an extract.
 *
 * DESIGN
 *   HMAC(K, m) = H((K0 ^ opad) || H((K0 ^ ipad) || m)), K0 the key padded to
 *   64 bytes. The two 64-byte prefixes are the same for every message, so
 *   they are hashed once when the key is loaded and only the two SHA-256
 *   states are kept:
 *
 *     sodium_malloc'd, read-only after load           per message (stack)
 *     +--------------------------------------+        c = inner; c += m;
 *     | inner: SHA-256 state after K0^ipad   | --->   ih = final(c)
 *     | outer: SHA-256 state after K0^opad   | --->   c = outer; c += ih;
 *     +--------------------------------------+        mac = final(c)
 *
 *   A message of up to 55 bytes ("nhs:4474035879" is 14) then costs two
 *   SHA-256 compressions. libsodium's SHA-256 is portable C: about 310 ns a
 *   message on the test machine, 6.3M/s on 2 free cores but 1.6-3.4M/s when
 *   other work shares them, against a 5M/s target. OpenSSL libcrypto's uses
 *   the CPU's SHA extensions: about 93 ns, 21.6M/s on 2 free cores
 *   (docs/pseudonyms.md has the figures and the command).
 *   So with TSR_HAVE_LIBCRYPTO (the build links libcrypto) the states are
 *   OpenSSL's SHA256_CTX, through the SHA256_* calls OpenSSL 3 marks
 *   deprecated but keeps. EVP_MD_CTX_copy_ex would also reach the target
 *   (8M messages per CPU second against 10.5M), but EVP keeps its contexts in
 *   OpenSSL's own heap, where sodium_malloc cannot lock or guard them; a
 *   SHA256_CTX is a plain struct that lives where we put it. Without libcrypto
 *   the states are libsodium's HMAC state: the same bytes, slower. Tests check
 *   both builds against crypto_auth_hmacsha256.
 *
 *   The states are as good as the key (anyone holding them can make every
 *   pseudonym), so they live where the key would: sodium_malloc (mlock'd, guard
 *   pages), made read-only, wiped by sodium_free. The raw key bytes, the hex
 *   text and the padded blocks are wiped as soon as the states exist; each
 *   thread wipes its working state when its share of messages is done. */
#if defined(TSR_HAVE_LIBCRYPTO)
/* SHA256_Init/Update/Final: deprecated in OpenSSL 3, present and fastest. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#endif

#include "extract/pseudo.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <omp.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common_internal.h"

enum { BLOCK = 64, MAC = 32 };

struct tsr__key {
#if defined(TSR_HAVE_LIBCRYPTO)
  SHA256_CTX inner, outer;
#else
  crypto_auth_hmacsha256_state st;
#endif
};

/* sodium_malloc puts the block right against its end guard page, so its
 * start is aligned only when its size is a multiple of the alignment. */
#define KEY_ALLOC ((sizeof(struct tsr__key) + 63u) & ~(size_t)63u)

const char *tsr__pseudo_backend(void) {
#if defined(TSR_HAVE_LIBCRYPTO)
  return "openssl";
#else
  return "libsodium";
#endif
}

static int sodium_ready(tsr_error *err) {
  if (sodium_init() < 0) return tsr_error_set(err, TSR_EINTERNAL, NULL, 0, 0, "libsodium failed to initialise");
  return 0;
}

int tsr__key_from_bytes(const unsigned char *key, size_t len, tsr__key **out, tsr_error *err) {
  TSR_RETURN_IF(!out || (!key && len), err, TSR_EINVAL, "tsr__key_from_bytes: NULL argument");
  *out = NULL;
  TSR_FORWARD_IF_ERROR(sodium_ready(err));
  tsr__key *k = sodium_malloc(KEY_ALLOC);
  TSR_RETURN_IF(!k, err, TSR_ENOMEM, "cannot allocate locked memory for a key");
  memset(k, 0, KEY_ALLOC);
#if defined(TSR_HAVE_LIBCRYPTO)
  /* k0: the key, or its hash when longer than a block, zero-padded */
  unsigned char k0[BLOCK], pad[BLOCK];
  memset(k0, 0, sizeof k0);
  if (len > BLOCK) {
    SHA256_CTX h;
    SHA256_Init(&h);
    SHA256_Update(&h, key, len);
    SHA256_Final(k0, &h);
    sodium_memzero(&h, sizeof h);
  } else if (len) {
    memcpy(k0, key, len);
  }
  for (size_t i = 0; i < BLOCK; i++) pad[i] = (unsigned char)(k0[i] ^ 0x36);
  SHA256_Init(&k->inner);
  SHA256_Update(&k->inner, pad, BLOCK);
  for (size_t i = 0; i < BLOCK; i++) pad[i] = (unsigned char)(k0[i] ^ 0x5c);
  SHA256_Init(&k->outer);
  SHA256_Update(&k->outer, pad, BLOCK);
  sodium_memzero(k0, sizeof k0);
  sodium_memzero(pad, sizeof pad);
#else
  /* libsodium hashes a long key and wipes its own pads */
  crypto_auth_hmacsha256_init(&k->st, key, len);
#endif
  sodium_mprotect_readonly(k);
  *out = k;
  return 0;
}

void tsr__key_free(tsr__key *k) {
  if (k) sodium_free(k); /* makes it writable, wipes it, unlocks it */
}

/* The value of one hex digit without a branch on it (a key's digits should
 * not steer the timing), or bad = 1. After libsodium's sodium_hex2bin. */
static unsigned hex_nibble(unsigned char c, unsigned *bad) {
  unsigned num = c ^ 48u;                                     /* '0'..'9' -> 0..9 */
  unsigned num_ok = ((num - 10u) >> 8) & 0xffu;               /* 0xff when num < 10 */
  unsigned alpha = (unsigned)(c & ~32u) - 55u;                /* 'A'..'F', 'a'..'f' -> 10..15 */
  unsigned alpha_ok = (((alpha - 10u) ^ (alpha - 16u)) >> 8) & 0xffu; /* 0xff when 10 <= alpha < 16 */
  *bad = (num_ok | alpha_ok) == 0;
  return ((num_ok & num) | (alpha_ok & alpha)) & 0xfu;
}

int tsr__key_load(const char *path, tsr__key **out, tsr_error *err) {
  TSR_RETURN_IF(!path || !out, err, TSR_EINVAL, "tsr__key_load: NULL argument");
  *out = NULL;
  TSR_FORWARD_IF_ERROR(sodium_ready(err));
  /* O_NOFOLLOW: a symlink is refused, not followed (someone who can swap a
   * link could point us at their key). O_NONBLOCK: a FIFO does not hang the
   * open; it is refused below as not a regular file. */
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ELOOP)
      return tsr_error_set(err, TSR_ECONFIG, path, 0, 0,
                           "the key file is a symbolic link; give the path of the key file itself");
    return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot open the key file: %s", strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot stat the key file: %s", strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return tsr_error_set(err, TSR_ECONFIG, path, 0, 0, "the key file is not a regular file (a %s)",
                         S_ISDIR(st.st_mode) ? "folder" : S_ISFIFO(st.st_mode) ? "FIFO" : "device or socket");
  }
  if (st.st_mode & 077) {
    close(fd);
    return tsr_error_set(err, TSR_ECONFIG, path, 0, 0,
                         "the key file has mode %04o: group or others may use it, so the key may have leaked; a key "
                         "file must be the owner's only (chmod 600 %s), and if others could read it, make a new "
                         "key with tessera keygen",
                         (unsigned)(st.st_mode & 07777), path);
  }
  if (st.st_size != TSR__KEY_FILE_BYTES && st.st_size != TSR__KEY_FILE_BYTES - 1) {
    close(fd);
    return tsr_error_set(err, TSR_EPARSE, path, 0, 0,
                         "expected a key file of 64 hexadecimal digits and a newline (%d bytes), found %lld bytes",
                         TSR__KEY_FILE_BYTES, (long long)st.st_size);
  }
  /* the text is as secret as the key: locked memory, wiped on every path */
  unsigned char *txt = sodium_malloc(TSR__KEY_FILE_BYTES + 1 + TSR__KEY_BYTES);
  if (!txt) {
    close(fd);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "cannot allocate locked memory for a key");
  }
  unsigned char *raw = txt + TSR__KEY_FILE_BYTES + 1;
  size_t got = 0;
  int rc = 0;
  while (got < TSR__KEY_FILE_BYTES + 1) { /* one byte more than fits: a file that grew is seen */
    ssize_t r = read(fd, txt + got, TSR__KEY_FILE_BYTES + 1 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      rc = tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot read the key file: %s", strerror(errno));
      break;
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (!rc && got != (size_t)st.st_size)
    rc = tsr_error_set(err, TSR_EIO, path, 0, 0, "the key file changed while it was read");
  if (!rc) {
    unsigned bad_any = 0;
    size_t first_bad = 0;
    for (size_t i = 0; i < TSR__KEY_BYTES; i++) {
      unsigned b1, b2;
      unsigned hi = hex_nibble(txt[2 * i], &b1), lo = hex_nibble(txt[2 * i + 1], &b2);
      raw[i] = (unsigned char)(hi << 4 | lo);
      if ((b1 | b2) && !bad_any) first_bad = 2 * i + (b1 ? 0 : 1);
      bad_any |= b1 | b2;
    }
    /* the column, never the character: it would be a piece of the key */
    if (bad_any && txt[first_bad] == '\n')
      rc = tsr_error_set(err, TSR_EPARSE, path, 1, (uint32_t)first_bad + 1,
                         "the key is too short: a newline after %zu characters, expected 64 hexadecimal digits",
                         first_bad);
    else if (bad_any)
      rc = tsr_error_set(err, TSR_EPARSE, path, 1, (uint32_t)first_bad + 1,
                         "expected a hexadecimal digit (a key file holds 64 of them and a newline; the character "
                         "found is not shown)");
    else if (got == TSR__KEY_FILE_BYTES && txt[TSR__KEY_FILE_BYTES - 1] != '\n')
      rc = tsr_error_set(err, TSR_EPARSE, path, 1, TSR__KEY_FILE_BYTES,
                         "expected a newline after the 64 hexadecimal digits");
  }
  if (!rc) rc = tsr__key_from_bytes(raw, TSR__KEY_BYTES, out, err);
  sodium_free(txt); /* wipes the text and the raw bytes */
  return rc;
}

/* Removes a half-written key file: only the one this call created. */
static int gen_fail(int fd, const char *path, tsr_error *err, const char *what, int e) {
  if (fd >= 0) close(fd);
  unlink(path);
  return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot write the key file (%s: %s); nothing was kept", what,
                       strerror(e));
}

int tsr__key_generate(const char *path, tsr_error *err) {
  TSR_RETURN_IF(!path || !*path, err, TSR_EINVAL, "tsr__key_generate: no path");
  TSR_FORWARD_IF_ERROR(sodium_ready(err));
  /* 0600 from the start, so the key is never readable by others even for a
   * moment; O_EXCL | O_NOFOLLOW: a new file, never an existing one and never
   * through a symlink (a dangling one included). */
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    if (e == EEXIST)
      return tsr_error_set(err, TSR_EIO, path, 0, 0,
                           "already exists; a key file is never overwritten (the pseudonyms made with a key can only "
                           "be made again with it)");
    return tsr_error_set(err, TSR_EIO, path, 0, 0, "cannot create the key file: %s", strerror(e));
  }
  /* the umask may have narrowed 0600 (to 0400, say): set it exactly */
  if (fchmod(fd, 0600) != 0) return gen_fail(fd, path, err, "fchmod", errno);
  unsigned char *buf = sodium_malloc(TSR__KEY_BYTES + TSR__KEY_FILE_BYTES + 1);
  if (!buf) {
    close(fd);
    unlink(path);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "cannot allocate locked memory for a key");
  }
  unsigned char *raw = buf;
  char *hex = (char *)buf + TSR__KEY_BYTES;
  randombytes_buf(raw, TSR__KEY_BYTES);
  sodium_bin2hex(hex, TSR__KEY_FILE_BYTES, raw, TSR__KEY_BYTES); /* lower case */
  hex[2 * TSR__KEY_BYTES] = '\n';
  size_t done = 0;
  int e = 0;
  while (done < TSR__KEY_FILE_BYTES) {
    ssize_t w = write(fd, hex + done, TSR__KEY_FILE_BYTES - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      e = w < 0 ? errno : EIO;
      break;
    }
    done += (size_t)w;
  }
  sodium_free(buf);
  if (e) return gen_fail(fd, path, err, "write", e);
  if (fsync(fd) != 0) return gen_fail(fd, path, err, "fsync", errno);
  if (close(fd) != 0) return gen_fail(-1, path, err, "close", errno);
  /* the folder's entry too, so a crash cannot lose a key already handed out */
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    int sync_rc = fsync(dfd);
    e = errno;
    close(dfd);
    if (sync_rc != 0 && e != EINVAL) return gen_fail(-1, path, err, "fsync of its folder", e);
  }
  return 0;
}

/* One thread's share: messages lo..hi. The working state and the inner hash
 * are wiped once at the end, not per message. */
static void hmac_range(const tsr__key *k, const tsr_view *msgs, size_t lo, size_t hi, unsigned char *out) {
#if defined(TSR_HAVE_LIBCRYPTO)
  SHA256_CTX c;
  unsigned char ih[MAC];
  for (size_t i = lo; i < hi; i++) {
    c = k->inner;
    SHA256_Update(&c, msgs[i].ptr, msgs[i].len);
    SHA256_Final(ih, &c);
    c = k->outer;
    SHA256_Update(&c, ih, MAC);
    SHA256_Final(out + MAC * i, &c);
  }
  sodium_memzero(ih, sizeof ih);
#else
  crypto_auth_hmacsha256_state c;
  for (size_t i = lo; i < hi; i++) {
    c = k->st;
    crypto_auth_hmacsha256_update(&c, (const unsigned char *)msgs[i].ptr, msgs[i].len);
    crypto_auth_hmacsha256_final(&c, out + MAC * i);
  }
#endif
  sodium_memzero(&c, sizeof c);
}

int tsr__pseudo_hmac(const tsr__key *k, const tsr_view *msgs, size_t n, unsigned char *out, int threads,
                     tsr_error *err) {
  TSR_RETURN_IF(!k || (n && (!msgs || !out)), err, TSR_EINVAL, "tsr__pseudo_hmac: NULL argument");
  for (size_t i = 0; i < n; i++)
    TSR_RETURN_IF(msgs[i].len && !msgs[i].ptr, err, TSR_EINVAL, "tsr__pseudo_hmac: message %zu has no bytes", i);
  if (n == 0) return 0;
  /* a thread costs more than a few thousand messages take */
  int t = n < 8192 ? 1 : tsr__threads(threads);
  if (t <= 1) {
    hmac_range(k, msgs, 0, n, out);
    return 0;
  }
  /* equal contiguous shares: what schedule(static) would give, made explicit
   * so each thread wipes its own state once */
#pragma omp parallel num_threads(t)
  {
    size_t nt = (size_t)omp_get_num_threads(), id = (size_t)omp_get_thread_num();
    size_t lo = n / nt * id + (id < n % nt ? id : n % nt);
    size_t hi = lo + n / nt + (id < n % nt ? 1 : 0);
    hmac_range(k, msgs, lo, hi, out);
  }
  return 0;
}

void tsr__pseudo_hex(const unsigned char mac[32], char hex[TSR__PSEUDO_HEX + 1]) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < TSR__PSEUDO_HEX / 2; i++) {
    hex[2 * i] = digits[mac[i] >> 4];
    hex[2 * i + 1] = digits[mac[i] & 15];
  }
  hex[TSR__PSEUDO_HEX] = '\0';
}
