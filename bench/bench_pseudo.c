/* Pseudonymisation benchmark: HMAC-SHA256 of N patients' stable keys of the
 * "nhs:" form ("nhs:4474035879", 14 bytes) under one 32-byte key, messages per
 * second at 1 and 2 threads (the target: >= 5M/s on 2 threads). Rows:
 *   engine     tsr__pseudo_hmac (OpenSSL's SHA-256 when the build has
 *              libcrypto, else libsodium's; the backend column says which)
 *   libsodium  crypto_auth_hmacsha256 with the keyed state built once and
 *              copied per message (the best libsodium allows)
 *   evp        (libcrypto builds) EVP_MD_CTX_copy_ex of keyed inner/outer
 *              EVP contexts, the non-deprecated OpenSSL route
 * One warm-up and R timed runs each; every run's MACs are checked against the
 * first libsodium run (so the work cannot be optimised away, and the engine
 * is checked against libsodium on all N messages). CSV on stdout, with the
 * process's CPU seconds beside the wall clock: on a machine shared with other
 * work, messages per CPU second times the threads is what free cores give.
 *
 * usage: bench_pseudo [--messages N] [--runs R] */
#include <omp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(TSR_HAVE_LIBCRYPTO)
#include <openssl/evp.h>
#endif

#include "common/common_internal.h"
#include "extract/pseudo.h"

/* CPU seconds of the whole process (every thread): on a shared machine the
 * wall clock also counts the time other work held the cores. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static unsigned char key[crypto_auth_hmacsha256_KEYBYTES];

static void run_libsodium(const tsr_view *v, size_t n, unsigned char *out, int threads) {
  crypto_auth_hmacsha256_state st0;
  crypto_auth_hmacsha256_init(&st0, key, sizeof key);
#pragma omp parallel for schedule(static) num_threads(threads)
  for (size_t i = 0; i < n; i++) {
    crypto_auth_hmacsha256_state st = st0;
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)v[i].ptr, v[i].len);
    crypto_auth_hmacsha256_final(&st, out + 32 * i);
  }
  sodium_memzero(&st0, sizeof st0);
}

#if defined(TSR_HAVE_LIBCRYPTO)
static int run_evp(const tsr_view *v, size_t n, unsigned char *out, int threads) {
  unsigned char pad[64];
  EVP_MD_CTX *in0 = EVP_MD_CTX_new(), *out0 = EVP_MD_CTX_new();
  if (!in0 || !out0) return -1;
  memset(pad, 0x36, 64);
  for (size_t i = 0; i < sizeof key; i++) pad[i] ^= key[i];
  EVP_DigestInit_ex(in0, EVP_sha256(), NULL);
  EVP_DigestUpdate(in0, pad, 64);
  memset(pad, 0x5c, 64);
  for (size_t i = 0; i < sizeof key; i++) pad[i] ^= key[i];
  EVP_DigestInit_ex(out0, EVP_sha256(), NULL);
  EVP_DigestUpdate(out0, pad, 64);
  sodium_memzero(pad, sizeof pad);
  int bad = 0;
#pragma omp parallel num_threads(threads) reduction(| : bad)
  {
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char ih[32];
    unsigned int len;
    if (!c) bad = 1;
#pragma omp for schedule(static)
    for (size_t i = 0; i < n; i++) {
      if (!c) continue;
      EVP_MD_CTX_copy_ex(c, in0);
      EVP_DigestUpdate(c, v[i].ptr, v[i].len);
      EVP_DigestFinal_ex(c, ih, &len);
      EVP_MD_CTX_copy_ex(c, out0);
      EVP_DigestUpdate(c, ih, 32);
      EVP_DigestFinal_ex(c, out + 32 * i, &len);
    }
    EVP_MD_CTX_free(c);
  }
  EVP_MD_CTX_free(in0);
  EVP_MD_CTX_free(out0);
  return bad ? -1 : 0;
}
#endif

int main(int argc, char **argv) {
  size_t n = 10000000;
  int runs = 3;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--messages") == 0 && i + 1 < argc) n = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_pseudo [--messages N] [--runs R]\n");
      return 2;
    }
  }
  if (sodium_init() < 0 || n == 0 || runs < 1) return 2;
  unsigned char seed[randombytes_SEEDBYTES] = {1};
  randombytes_buf_deterministic(key, sizeof key, seed);
  char(*text)[16] = malloc(n * sizeof *text);
  tsr_view *v = malloc(n * sizeof *v);
  unsigned char *ref = malloc(n * 32), *out = malloc(n * 32);
  if (!text || !v || !ref || !out) return 1;
  for (size_t i = 0; i < n; i++) {
    unsigned long long nhs = (4000000000ull + (unsigned long long)i * 7919ull) % 10000000000ull;
    int w = snprintf(text[i], sizeof text[i], "nhs:%010llu", nhs);
    v[i].ptr = text[i];
    v[i].len = (uint32_t)w;
  }
  run_libsodium(v, n, ref, 1);
  tsr__key *k = NULL;
  tsr_error err;
  if (tsr__key_from_bytes(key, sizeof key, &k, &err)) return 1;
  printf("impl,backend,threads,messages,run,seconds,messages_per_s,cpu_seconds,messages_per_cpu_s\n");
  const char *impls[] = {"engine", "libsodium", "evp"};
  int nimpl = 2;
#if defined(TSR_HAVE_LIBCRYPTO)
  nimpl = 3;
#endif
  int fail = 0;
  for (int t = 1; t <= 2; t++) {
    for (int m = 0; m < nimpl; m++) {
      for (int r = 0; r <= runs; r++) { /* run 0: the warm-up */
        memset(out, 0, n * 32);
        double t0 = tsr__now(), c0 = cpu_now();
        if (m == 0) {
          if (tsr__pseudo_hmac(k, v, n, out, t, &err)) return 1;
        } else if (m == 1) {
          run_libsodium(v, n, out, t);
        } else {
#if defined(TSR_HAVE_LIBCRYPTO)
          if (run_evp(v, n, out, t)) return 1;
#endif
        }
        double s = tsr__now() - t0, cs = cpu_now() - c0;
        if (memcmp(out, ref, n * 32) != 0) {
          fprintf(stderr, "bench_pseudo: %s at %d threads gives other MACs than libsodium\n", impls[m], t);
          fail = 1;
        }
        if (r)
          printf("%s,%s,%d,%zu,%d,%.4f,%.0f,%.4f,%.0f\n", impls[m], m == 0 ? tsr__pseudo_backend() : impls[m], t, n,
                 r, s, (double)n / s, cs, (double)n / cs);
        fflush(stdout);
      }
    }
  }
  tsr__key_free(k);
  free(text);
  free(v);
  free(ref);
  free(out);
  return fail;
}
