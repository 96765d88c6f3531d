/* String similarity: Jaro, Jaro-Winkler, Levenshtein, Damerau-Levenshtein,
 * bit-parallel up to 64 bytes, scalar above. See strsim.h for the conventions
 * and the layout of the pattern masks. */
#include "compare/strsim.h"

#include <assert.h>
#include <string.h>

#include "common/common_internal.h"

#define U8(c) ((unsigned char)(c))

static inline size_t cap_len(size_t n) { return n > TSR__STRSIM_MAX ? TSR__STRSIM_MAX : n; }
static inline size_t min_z(size_t a, size_t b) { return a < b ? a : b; }
static inline size_t max_z(size_t a, size_t b) { return a > b ? a : b; }

/* Jaro's match window: max(la, lb) / 2 - 1, at least 0. */
static inline size_t jaro_bound(size_t la, size_t lb) {
  size_t m = max_z(la, lb) / 2;
  return m ? m - 1 : 0;
}

/* The one formula, in RapidFuzz's order of operations, so that results at a
 * threshold edge (Jaro exactly 0.7, say) round the same way as DuckDB's.
 * t is the number of transposed pairs (half the out-of-order matches). */
static inline double jaro_of(size_t m, size_t t, size_t la, size_t lb) {
  if (m == 0) return 0.0;
  double dm = (double)m;
  return (dm / (double)la + dm / (double)lb + (dm - (double)t) / dm) / 3.0;
}

static inline size_t prefix4(const char *a, size_t la, const char *b, size_t lb) {
  size_t n = min_z(min_z(la, lb), 4), p = 0;
  while (p < n && a[p] == b[p]) p++;
  return p;
}

static inline double winkler(double j, size_t prefix) {
  return j > 0.7 ? j + (double)prefix * 0.1 * (1.0 - j) : j;
}

void tsr__pm_init(tsr__pm64 *p, const char *s, size_t len) {
  assert(len <= 64);
  memset(p->m, 0, sizeof p->m);
  for (size_t i = 0; i < len; i++) p->m[U8(s[i])] |= (uint64_t)1 << i;
  p->s = s;
  p->len = len;
}

/* Bit-parallel Jaro: pm holds a's masks (la <= 64), lb <= 64. */
static double jaro_bits(const uint64_t *pm, const char *a, size_t la, const char *b, size_t lb) {
  if (la == 0 || lb == 0) return 0.0;
  size_t bound = jaro_bound(la, lb);
  /* a's positions [j - bound, j + bound]; starts as [0, bound] */
  uint64_t window = bound >= 63 ? ~(uint64_t)0 : ((uint64_t)1 << (bound + 1)) - 1;
  uint64_t fa = 0, fb = 0; /* matched positions in a and in b */
  for (size_t j = 0; j < lb; j++) {
    uint64_t cand = pm[U8(b[j])] & window & ~fa;
    fa |= cand & (0 - cand); /* the lowest unmatched candidate */
    fb |= (uint64_t)(cand != 0) << j;
    window = j < bound ? (window << 1) | 1 : window << 1;
  }
  size_t m = (size_t)__builtin_popcountll(fa);
  if (m == 0) return 0.0;
  size_t out = 0;
  while (fb) {
    size_t i = (size_t)__builtin_ctzll(fa), j = (size_t)__builtin_ctzll(fb);
    out += a[i] != b[j];
    fa &= fa - 1;
    fb &= fb - 1;
  }
  return jaro_of(m, out / 2, la, lb);
}

/* Masks for a on the stack, touching only the entries a and b use. */
static double jaro_small(const char *a, size_t la, const char *b, size_t lb) {
  uint64_t pm[256];
  for (size_t j = 0; j < lb; j++) pm[U8(b[j])] = 0;
  for (size_t i = 0; i < la; i++) pm[U8(a[i])] = 0;
  for (size_t i = 0; i < la; i++) pm[U8(a[i])] |= (uint64_t)1 << i;
  return jaro_bits(pm, a, la, b, lb);
}

double tsr__jaro_scalar(const char *a, size_t la, const char *b, size_t lb) {
  la = cap_len(la);
  lb = cap_len(lb);
  if (la == 0 || lb == 0) return 0.0;
  size_t bound = jaro_bound(la, lb);
  unsigned char fa[TSR__STRSIM_MAX], fb[TSR__STRSIM_MAX];
  memset(fa, 0, la);
  memset(fb, 0, lb);
  size_t m = 0;
  /* for each byte of b, the first unmatched equal byte of a in the window */
  for (size_t j = 0; j < lb; j++) {
    size_t lo = j > bound ? j - bound : 0, hi = min_z(la, j + bound + 1);
    for (size_t i = lo; i < hi; i++) {
      if (!fa[i] && a[i] == b[j]) {
        fa[i] = fb[j] = 1;
        m++;
        break;
      }
    }
  }
  if (m == 0) return 0.0;
  size_t out = 0, i = 0;
  for (size_t j = 0; j < lb; j++) {
    if (!fb[j]) continue;
    while (!fa[i]) i++;
    out += a[i] != b[j];
    i++;
  }
  return jaro_of(m, out / 2, la, lb);
}

/* Equal strings are common among candidate pairs (a third of realistic name
 * pairs): one memcmp instead of the masks. */
static inline int same(const char *a, size_t la, const char *b, size_t lb) {
  return la == lb && la && memcmp(a, b, la) == 0;
}

double tsr__jaro(const char *a, size_t la, const char *b, size_t lb) {
  if (same(a, la, b, lb)) return 1.0;
  if (la <= 64 && lb <= 64) return jaro_small(a, la, b, lb);
  return tsr__jaro_scalar(a, la, b, lb);
}

double tsr__jaro_winkler(const char *a, size_t la, const char *b, size_t lb) {
  return winkler(tsr__jaro(a, la, b, lb), prefix4(a, la, b, lb));
}

double tsr__jaro_winkler_scalar(const char *a, size_t la, const char *b, size_t lb) {
  return winkler(tsr__jaro_scalar(a, la, b, lb), prefix4(a, la, b, lb));
}

double tsr__jaro_winkler_pm(const tsr__pm64 *p, const char *b, size_t lb) {
  double j = lb <= 64 ? jaro_bits(p->m, p->s, p->len, b, lb) : tsr__jaro_scalar(p->s, p->len, b, lb);
  return winkler(j, prefix4(p->s, p->len, b, lb));
}

double tsr__jw_upper_bound(size_t la, size_t lb) {
  la = cap_len(la);
  lb = cap_len(lb);
  if (la == 0 || lb == 0) return 0.0;
  /* every byte of the shorter matched, none transposed, a full prefix; the
   * same operations as the real score, plus slack for rounding */
  return winkler(jaro_of(min_z(la, lb), 0, la, lb), min_z(min_z(la, lb), 4)) + 1e-12;
}

/* --- Levenshtein ---------------------------------------------------------------- */

/* Hyyro's bit-parallel Levenshtein: pm holds the pattern's masks (m <= 64,
 * m >= 1). Stops with max + 1 once the distance must exceed max. */
static size_t lev_bits(const uint64_t *pm, size_t m, const char *b, size_t lb, size_t max) {
  uint64_t vp = ~(uint64_t)0, vn = 0, last = (uint64_t)1 << (m - 1);
  size_t score = m;
  for (size_t j = 0; j < lb; j++) {
    uint64_t x = pm[U8(b[j])] | vn;
    uint64_t d0 = (((x & vp) + vp) ^ vp) | x;
    uint64_t hp = vn | ~(d0 | vp), hn = vp & d0;
    score += (hp & last) != 0;
    score -= (hn & last) != 0;
    /* the last row's neighbours differ by at most 1 per column */
    if (score > max && score - max > lb - j - 1) return max + 1;
    hp = (hp << 1) | 1;
    hn <<= 1;
    vp = hn | ~(d0 | hp);
    vn = hp & d0;
  }
  return score;
}

size_t tsr__lev_scalar(const char *a, size_t la, const char *b, size_t lb) {
  la = cap_len(la);
  lb = cap_len(lb);
  size_t row[TSR__STRSIM_MAX + 1];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t v = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < v) v = up + 1;
      if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
      row[j] = v;
      diag = up;
    }
  }
  return row[lb];
}

size_t tsr__lev_bounded(const char *a, size_t la, const char *b, size_t lb, size_t max) {
  la = cap_len(la);
  lb = cap_len(lb);
  if (la > lb) { /* the shorter one is the pattern */
    const char *t = a;
    a = b;
    b = t;
    size_t tl = la;
    la = lb;
    lb = tl;
  }
  if (lb - la > max) return max + 1;
  if (la == 0 || same(a, la, b, lb)) return lb - la;
  if (la <= 64) {
    uint64_t pm[256];
    for (size_t j = 0; j < lb; j++) pm[U8(b[j])] = 0;
    for (size_t i = 0; i < la; i++) pm[U8(a[i])] |= (uint64_t)1 << i;
    return lev_bits(pm, la, b, lb, max);
  }
  size_t d = tsr__lev_scalar(a, la, b, lb);
  return d > max ? max + 1 : d;
}

size_t tsr__lev(const char *a, size_t la, const char *b, size_t lb) {
  return tsr__lev_bounded(a, la, b, lb, SIZE_MAX - 1);
}

/* --- Damerau-Levenshtein ---------------------------------------------------------- */

/* Lowrance and Wagner: h is (la + 2) x (lb + 2); da[c] is the last row of a
 * holding byte c so far. */
static size_t dl_table(const char *a, size_t la, const char *b, size_t lb, uint32_t *h) {
  size_t w = lb + 2;
  uint32_t inf = (uint32_t)(la + lb);
  uint32_t da[256];
  for (size_t i = 0; i < la; i++) da[U8(a[i])] = 0;
  for (size_t j = 0; j < lb; j++) da[U8(b[j])] = 0;
  h[0] = inf;
  for (size_t i = 0; i <= la; i++) {
    h[(i + 1) * w] = inf;
    h[(i + 1) * w + 1] = (uint32_t)i;
  }
  for (size_t j = 0; j <= lb; j++) {
    h[j + 1] = inf;
    h[w + j + 1] = (uint32_t)j;
  }
  for (size_t i = 1; i <= la; i++) {
    size_t db = 0;
    for (size_t j = 1; j <= lb; j++) {
      size_t i1 = da[U8(b[j - 1])], j1 = db;
      uint32_t cost = a[i - 1] != b[j - 1];
      if (!cost) db = j;
      uint32_t v = h[i * w + j] + cost;                          /* substitute or match */
      if (h[(i + 1) * w + j] + 1 < v) v = h[(i + 1) * w + j] + 1; /* insert */
      if (h[i * w + j + 1] + 1 < v) v = h[i * w + j + 1] + 1;     /* delete */
      uint32_t tr = h[i1 * w + j1] + (uint32_t)((i - i1 - 1) + 1 + (j - j1 - 1));
      if (tr < v) v = tr; /* transpose, with edits between */
      h[(i + 1) * w + j + 1] = v;
    }
    da[U8(a[i - 1])] = (uint32_t)i;
  }
  return h[(la + 1) * w + lb + 1];
}

size_t tsr__dl(const char *a, size_t la, const char *b, size_t lb) {
  la = cap_len(la);
  lb = cap_len(lb);
  if (la == 0) return lb;
  if (lb == 0) return la;
  size_t cells = (la + 2) * (lb + 2);
  uint32_t stack[66 * 66];
  if (cells <= sizeof stack / sizeof stack[0]) return dl_table(a, la, b, lb, stack);
  uint32_t *h = tsr__malloc(cells * sizeof *h);
  if (!h) return max_z(la, lb); /* out of memory: the trivial upper bound */
  size_t d = dl_table(a, la, b, lb, h);
  tsr__free(h);
  return d;
}

size_t tsr__dl_bounded(const char *a, size_t la, const char *b, size_t lb, size_t max) {
  la = cap_len(la);
  lb = cap_len(lb);
  size_t diff = la > lb ? la - lb : lb - la;
  if (diff > max) return max + 1;
  if (same(a, la, b, lb)) return 0;
  /* bytes of each side the other lacks (as multisets) */
  int32_t cnt[256];
  for (size_t i = 0; i < la; i++) cnt[U8(a[i])] = 0;
  for (size_t j = 0; j < lb; j++) cnt[U8(b[j])] = 0;
  for (size_t i = 0; i < la; i++) cnt[U8(a[i])]++;
  for (size_t j = 0; j < lb; j++) cnt[U8(b[j])]--;
  size_t only_a = 0, only_b = 0;
  for (size_t i = 0; i < la; i++) {
    int32_t *c = &cnt[U8(a[i])];
    if (*c > 0) only_a += (size_t)*c;
    else if (*c < 0) only_b += (size_t)-*c;
    *c = 0; /* count each byte value once */
  }
  for (size_t j = 0; j < lb; j++) {
    int32_t *c = &cnt[U8(b[j])];
    if (*c < 0) only_b += (size_t)-*c;
    *c = 0;
  }
  if (max_z(only_a, only_b) > max) return max + 1;
  /* Levenshtein >= Damerau, and they agree at 0 and 1; a transposition is
   * two Levenshtein edits, so Levenshtein <= 2 * Damerau */
  size_t lev = tsr__lev_bounded(a, la, b, lb, max < SIZE_MAX / 4 ? 2 * max + 1 : SIZE_MAX - 1);
  if (lev <= 1) return lev;
  if (lev > 2 * max) return max + 1;
  size_t d = tsr__dl(a, la, b, lb);
  return d > max ? max + 1 : d;
}
