/* Counter-based random numbers: every draw is a pure function of
 * (seed, stream, counter), so results never depend on which thread ran what.
 *
 * DESIGN
 *   key = mix(seed, stream, counter)      -- e.g. counter = patient index
 *   a tsr__rng started at key yields a SplitMix64 sequence: state += gamma,
 *   output = mix(state). A unit of work (one patient, one chunk) starts its
 *   own rng from its counter, so the work can be split across threads in any
 *   way. Streams keep independent uses apart (names vs dates ...).
 * Not cryptographic. Header-only; thread-safe as long as each tsr__rng value
 * is used by one thread. */
#ifndef TSR_RNG_H
#define TSR_RNG_H

#include <math.h>
#include <stdint.h>

#define TSR__GOLDEN 0x9E3779B97F4A7C15ull

/* Strong 64-bit finaliser (SplitMix64's). Bijective. */
static inline uint64_t tsr__mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* Hash of a (seed, stream, counter) triple: the counter-based core. */
static inline uint64_t tsr__hash3(uint64_t seed, uint64_t stream, uint64_t counter) {
  uint64_t h = tsr__mix64(seed + TSR__GOLDEN);
  h = tsr__mix64(h ^ (stream * 0xD6E8FEB86659FD93ull + TSR__GOLDEN));
  return tsr__mix64(h ^ (counter * 0xA0761D6478BD642Full + 0x2545F4914F6CDD1Dull));
}

typedef struct tsr__rng {
  uint64_t s;
} tsr__rng;

static inline void tsr__rng_init(tsr__rng *r, uint64_t seed, uint64_t stream, uint64_t counter) {
  r->s = tsr__hash3(seed, stream, counter);
}

static inline uint64_t tsr__rng_u64(tsr__rng *r) {
  r->s += TSR__GOLDEN;
  return tsr__mix64(r->s);
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-shift with rejection). */
static inline uint64_t tsr__rng_below(tsr__rng *r, uint64_t n) {
  uint64_t x = tsr__rng_u64(r);
  __uint128_t m = (__uint128_t)x * n;
  uint64_t l = (uint64_t)m;
  if (l < n) {
    uint64_t t = (0 - n) % n;
    while (l < t) {
      x = tsr__rng_u64(r);
      m = (__uint128_t)x * n;
      l = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double tsr__rng_unit(tsr__rng *r) {
  return (double)(tsr__rng_u64(r) >> 11) * 0x1.0p-53;
}

/* 1 with probability p (p <= 0: never, p >= 1: always). */
static inline int tsr__rng_chance(tsr__rng *r, double p) { return tsr__rng_unit(r) < p; }

/* Uniform integer in [lo, hi], lo <= hi. */
static inline int64_t tsr__rng_range(tsr__rng *r, int64_t lo, int64_t hi) {
  return lo + (int64_t)tsr__rng_below(r, (uint64_t)(hi - lo) + 1u);
}

/* Standard normal (Marsaglia's polar method: no trigonometry; the second
 * value is dropped so the state stays a single counter). */
static inline double tsr__rng_normal(tsr__rng *r) {
  double u, v, s;
  do {
    u = 2.0 * tsr__rng_unit(r) - 1.0;
    v = 2.0 * tsr__rng_unit(r) - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  return u * sqrt(-2.0 * log(s) / s);
}

/* Gamma(shape k, scale 1), Marsaglia-Tsang; k < 1 via the boost k+1, U^(1/k). */
static inline double tsr__rng_gamma(tsr__rng *r, double k) {
  double boost = 1.0;
  if (k < 1.0) {
    double u = tsr__rng_unit(r);
    if (u < 1e-300) u = 1e-300;
    boost = pow(u, 1.0 / k);
    k += 1.0;
  }
  double d = k - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = tsr__rng_normal(r);
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    double u = tsr__rng_unit(r);
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v * boost;
    if (log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v * boost;
  }
}

/* Poisson(lambda): inversion by multiplication for small lambda, normal
 * approximation (rounded, clamped at 0) above 60. */
static inline uint32_t tsr__rng_poisson(tsr__rng *r, double lambda) {
  if (lambda <= 0.0) return 0;
  if (lambda > 60.0) {
    double v = lambda + sqrt(lambda) * tsr__rng_normal(r) + 0.5;
    return v < 0.0 ? 0u : (uint32_t)v;
  }
  double L = exp(-lambda), p = 1.0;
  uint32_t k = 0;
  do {
    k++;
    p *= tsr__rng_unit(r);
  } while (p > L);
  return k - 1;
}

#endif
