/* Keys and pseudonyms for research extracts (internal): the per-agreement
 * secret key file (generate, load), and HMAC-SHA256 of each patient's stable
 * key under it, whose first 128 bits printed as hex are the patient's
 * pseudonym in that agreement's extract. docs/pseudonyms.md says what the
 * stable key is and why a keyed hash, not a plain or salted one.
 *
 * Thread rules: a loaded tsr__key is read-only and may be shared by any
 * number of threads; tsr__pseudo_hmac starts its own OpenMP threads. */
#ifndef TSR_EXTRACT_PSEUDO_H
#define TSR_EXTRACT_PSEUDO_H

#include <stddef.h>

#include "tessera/common.h"

#define TSR__KEY_BYTES 32
/* Characters of a key file: 64 lower-case hex digits and "\n". */
#define TSR__KEY_FILE_BYTES (2 * TSR__KEY_BYTES + 1)
/* Characters of a printed pseudonym (128 bits), without the NUL. */
#define TSR__PSEUDO_HEX 32

/* A loaded key. Opaque: it holds only the HMAC inner and outer states
 * derived from the key bytes (which are as secret as the key), in
 * sodium_malloc'd memory -- locked out of swap, guard pages on both sides,
 * read-only once built, wiped by tsr__key_free. */
typedef struct tsr__key tsr__key;

/* Writes a new random key (32 bytes from randombytes_buf) to path as 64
 * lower-case hex digits and a newline. The file is created with O_CREAT |
 * O_EXCL | O_NOFOLLOW and mode 0600 whatever the umask, written, fsync'd
 * (and its folder too). An existing path -- file, symlink (dangling or not),
 * anything -- is refused with TSR_EIO; a write that fails removes the file.
 * Returns 0 or a negative TSR_E* with err naming path. Never prints the key. */
int tsr__key_generate(const char *path, tsr_error *err);

/* Loads a key file written by tsr__key_generate into *out (free with
 * tsr__key_free). Refused, with err naming the file and never holding key
 * material: a symlink (O_NOFOLLOW) or anything but a regular file
 * (TSR_ECONFIG), a file whose mode gives group or others any permission
 * (mode & 077; TSR_ECONFIG), anything but exactly 64 hex digits with an
 * optional final "\n" (TSR_EPARSE, with the column of the first bad
 * character, not the character), and files that cannot be read (TSR_EIO).
 * Every temporary copy of the key bytes is wiped before return. */
int tsr__key_load(const char *path, tsr__key **out, tsr_error *err);

/* A key from raw bytes of any length (HMAC's rule: keys longer than 64 bytes
 * are hashed first), for tests against published vectors and for callers
 * that hold a key already. The caller wipes its own copy. */
int tsr__key_from_bytes(const unsigned char *key, size_t len, tsr__key **out, tsr_error *err);

/* Wipes and frees k. NULL allowed. */
void tsr__key_free(tsr__key *k);

/* HMAC-SHA256(key, msgs[i]) for i < n, 32 bytes each into out[32 * i ..].
 * threads: tsr__threads' rule (0 = all cores); the messages are split
 * statically and each result depends on its message only, so out is the
 * same for any thread count. msgs may be NULL when n is 0; a view with
 * len > 0 needs ptr. Returns 0, or TSR_EINVAL for NULL arguments.
 * The result equals libsodium's crypto_auth_hmacsha256 (tests check this);
 * it is computed with OpenSSL libcrypto's SHA-256 when the build has it
 * (TSR_HAVE_LIBCRYPTO: SHA-NI, about 3x faster) and libsodium's otherwise. */
int tsr__pseudo_hmac(const tsr__key *k, const tsr_view *msgs, size_t n, unsigned char *out, int threads,
                     tsr_error *err);

/* The printed pseudonym: the first 16 bytes of mac as 32 lower-case hex
 * digits and a NUL. */
void tsr__pseudo_hex(const unsigned char mac[32], char hex[TSR__PSEUDO_HEX + 1]);

/* Which SHA-256 tsr__pseudo_hmac uses: "openssl" or "libsodium". */
const char *tsr__pseudo_backend(void);

#endif
