/* Name comparisons: the one-field level cascade, the given-and-family
 * combination with its swapped level, and the per-thread memo of levels
 * (namecmp.h has the levels and the memo's layout). */
#include "compare/namecmp.h"

#include <string.h>

#include "block/block.h"
#include "common/common_internal.h"
#include "compare/strsim.h"
#include "ingest/names.h"

/* --- predicates -------------------------------------------------------------------- */

static inline int ignorable(char c) { return c == ' ' || c == '-' || c == '\''; }

int tsr__name_eq_std(const char *a, size_t la, const char *b, size_t lb) {
  size_t i = 0, j = 0;
  for (;;) {
    while (i < la && ignorable(a[i])) i++;
    while (j < lb && ignorable(b[j])) j++;
    if (i == la || j == lb) return i == la && j == lb;
    if (a[i++] != b[j++]) return 0;
  }
}

int tsr__name_initial(const char *a, size_t la, const char *b, size_t lb) {
  if (la == 0 || lb == 0 || a[0] != b[0]) return 0;
  return la == 1 || lb == 1;
}

/* 1 if s[off .. off + plen) equals one of t's nt parts. */
static int part_in(const char *s, uint32_t off, uint32_t plen, const char *t, size_t lt, uint32_t nt) {
  for (uint32_t k = 0; k < nt; k++) {
    uint32_t o, l;
    if (tsr__name_part(t, lt, k, &o, &l) != 0) break;
    if (l == plen && memcmp(s + off, t + o, plen) == 0) return 1;
  }
  return 0;
}

int tsr__name_part_eq(const char *a, size_t la, const char *b, size_t lb) {
  /* most names have one part: one memchr each instead of counting parts */
  if (!memchr(a, ' ', la) && !memchr(b, ' ', lb)) return 0;
  uint32_t na = tsr__name_parts(a, la), nb = tsr__name_parts(b, lb);
  if (na < 2 && nb < 2) return 0;
  for (uint32_t k = 0; k < na; k++) {
    uint32_t o, l;
    if (tsr__name_part(a, la, k, &o, &l) != 0) break;
    if (l >= 2 && part_in(a, o, l, b, lb, nb)) return 1;
  }
  return 0;
}

int tsr__name_close(const char *a, size_t la, const char *b, size_t lb, double t) {
  if (la == 0 || lb == 0) return 0;
  if (tsr__name_eq_std(a, la, b, lb)) return 1;
  if (la > lb || (la == lb && memcmp(a, b, la) > 0)) { /* symmetric by construction */
    const char *p = a;
    a = b;
    b = p;
    size_t n = la;
    la = lb;
    lb = n;
  }
  return tsr__jw_upper_bound(la, lb) >= t && tsr__jaro_winkler(a, la, b, lb) >= t;
}

/* --- one field --------------------------------------------------------------------- */

void tsr__name_opts_init(tsr__name_opts *o) {
  o->enabled = ~(uint32_t)0;
  o->jw1 = 0.92;
  o->jw2 = 0.88;
  o->dl1 = 1;
  o->dl2 = 2;
  o->phonetic = TSR__PHON_SOUNDEX | TSR__PHON_NYSIIS;
}

/* A fixed order of the two sides (length, then bytes), so every level is
 * symmetric by construction, whatever the string functions do at the last
 * bit of a double. Returns <0, 0 or >0 as a before, equal to, after b. */
static int order(const tsr__name_val *a, const tsr__name_val *b) {
  if (a->len != b->len) return a->len < b->len ? -1 : 1;
  return memcmp(a->s, b->s, a->len);
}

tsr__name_level tsr__cmp_name(const tsr__name_val *a, const tsr__name_val *b, const tsr__name_opts *o) {
  if (a->len == 0 || b->len == 0) return TSR__NAME_NULL;
  int c = order(a, b);
  if (c > 0) {
    const tsr__name_val *t = a;
    a = b;
    b = t;
  }
  const char *x = a->s, *y = b->s;
  size_t lx = a->len, ly = b->len;
  uint32_t on = o->enabled;
#define ON(l) (on & TSR__LEVEL_BIT(l))
  if (ON(TSR__NAME_EXACT) && c == 0) return TSR__NAME_EXACT;
  if (ON(TSR__NAME_EXACT_STD) && tsr__name_eq_std(x, lx, y, ly)) return TSR__NAME_EXACT_STD;
  if (ON(TSR__NAME_JW1) || ON(TSR__NAME_JW2)) {
    double lowest = ON(TSR__NAME_JW1) ? o->jw1 : o->jw2;
    if (ON(TSR__NAME_JW2) && o->jw2 < lowest) lowest = o->jw2;
    /* the length bound: most unrelated pairs of different lengths stop here */
    if (tsr__jw_upper_bound(lx, ly) >= lowest) {
      double s = tsr__jaro_winkler(x, lx, y, ly);
      if (ON(TSR__NAME_JW1) && s >= o->jw1) return TSR__NAME_JW1;
      if (ON(TSR__NAME_JW2) && s >= o->jw2) return TSR__NAME_JW2;
    }
  }
  if (ON(TSR__NAME_DL1) || ON(TSR__NAME_DL2)) {
    size_t max = ON(TSR__NAME_DL1) ? o->dl1 : o->dl2;
    if (ON(TSR__NAME_DL2) && o->dl2 > max) max = o->dl2;
    size_t d = tsr__dl_bounded(x, lx, y, ly, max);
    if (ON(TSR__NAME_DL1) && d <= o->dl1) return TSR__NAME_DL1;
    if (ON(TSR__NAME_DL2) && d <= o->dl2) return TSR__NAME_DL2;
  }
  if (ON(TSR__NAME_PHONETIC)) {
    int sx = (o->phonetic & TSR__PHON_SOUNDEX) && a->soundex != 0 && a->soundex == b->soundex;
    int ny = (o->phonetic & TSR__PHON_NYSIIS) && a->nysiis != 0 && a->nysiis == b->nysiis;
    if (sx || ny) return TSR__NAME_PHONETIC;
  }
  if (ON(TSR__NAME_INITIAL) && tsr__name_initial(x, lx, y, ly)) return TSR__NAME_INITIAL;
  if (ON(TSR__NAME_PART) && tsr__name_part_eq(x, lx, y, ly)) return TSR__NAME_PART;
#undef ON
  return TSR__NAME_ELSE;
}

/* --- the memo ---------------------------------------------------------------------- */

typedef struct memo_slot {
  uint64_t lo, hi; /* 0, 0: empty (hash 0 is a missing value, never stored) */
  uint32_t level;
} memo_slot;

#define MEMO_SETS ((size_t)1 << TSR__NAME_MEMO_BITS)

struct tsr__name_memo {
  tsr__name_opts o;
  uint64_t hits, misses;
  memo_slot slot[]; /* MEMO_SETS x 2 ways; way 0 the newer */
};

int tsr__name_memo_create(const tsr__name_opts *o, tsr__name_memo **out) {
  *out = NULL;
  tsr__name_memo *m = tsr__calloc(1, sizeof *m + 2 * MEMO_SETS * sizeof(memo_slot));
  if (!m) return TSR_ENOMEM;
  m->o = *o;
  *out = m;
  return 0;
}

void tsr__name_memo_free(tsr__name_memo *m) { tsr__free(m); }

void tsr__name_memo_clear(tsr__name_memo *m) {
  memset(m->slot, 0, 2 * MEMO_SETS * sizeof(memo_slot));
  m->hits = m->misses = 0;
}

void tsr__name_memo_stats(const tsr__name_memo *m, uint64_t *hits, uint64_t *misses) {
  *hits = m->hits;
  *misses = m->misses;
}

tsr__name_level tsr__cmp_name_memo(tsr__name_memo *m, const tsr__name_val *a, const tsr__name_val *b) {
  uint64_t ha = a->hash, hb = b->hash;
  if (a->len == 0 || b->len == 0 || ha == 0 || hb == 0 || ha == hb) return tsr__cmp_name(a, b, &m->o);
  uint64_t lo = ha < hb ? ha : hb, hi = ha < hb ? hb : ha;
  size_t set = (size_t)((lo * 0x9E3779B97F4A7C15ull ^ hi * 0xC2B2AE3D27D4EB4Full) >> (64 - TSR__NAME_MEMO_BITS));
  memo_slot *w = m->slot + 2 * set;
  if (w[0].lo == lo && w[0].hi == hi) {
    m->hits++;
    return (tsr__name_level)w[0].level;
  }
  if (w[1].lo == lo && w[1].hi == hi) {
    m->hits++;
    return (tsr__name_level)w[1].level;
  }
  m->misses++;
  tsr__name_level l = tsr__cmp_name(a, b, &m->o);
  w[1] = w[0];
  w[0].lo = lo;
  w[0].hi = hi;
  w[0].level = (uint32_t)l;
  return l;
}

/* --- given and family -------------------------------------------------------------- */

void tsr__full_opts_init(tsr__full_opts *o) {
  o->enabled = ~(uint32_t)0;
  tsr__name_opts_init(&o->given);
  tsr__name_opts_init(&o->family);
  o->agree_worst = TSR__NAME_PHONETIC;
  o->swap_jw = 0.92;
}

static inline int is_exact(tsr__name_level l) { return l == TSR__NAME_EXACT || l == TSR__NAME_EXACT_STD; }

void tsr__full_swap_opts(const tsr__full_opts *o, tsr__name_opts *out) {
  tsr__name_opts_init(out);
  out->enabled = TSR__LEVEL_BIT(TSR__NAME_EXACT) | TSR__LEVEL_BIT(TSR__NAME_EXACT_STD) | TSR__LEVEL_BIT(TSR__NAME_JW1);
  out->jw1 = out->jw2 = o->swap_jw;
}

/* tsr__name_close(x, y, swap_jw), through the memo when there is one */
static int swap_close(const tsr__name_val *x, const tsr__name_val *y, const tsr__name_opts *so, tsr__name_memo *ms) {
  tsr__name_level l = ms ? tsr__cmp_name_memo(ms, x, y) : tsr__cmp_name(x, y, so);
  return l != TSR__NAME_NULL && l <= TSR__NAME_JW1;
}

tsr__full_level tsr__cmp_fullname(const tsr__name_val *given_a, const tsr__name_val *family_a,
                                  const tsr__name_val *given_b, const tsr__name_val *family_b,
                                  const tsr__full_opts *o, tsr__name_memo *mg, tsr__name_memo *mf,
                                  tsr__name_memo *ms) {
  tsr__name_level lg = mg ? tsr__cmp_name_memo(mg, given_a, given_b) : tsr__cmp_name(given_a, given_b, &o->given);
  tsr__name_level lf =
      mf ? tsr__cmp_name_memo(mf, family_a, family_b) : tsr__cmp_name(family_a, family_b, &o->family);
  if (lg == TSR__NAME_NULL && lf == TSR__NAME_NULL) return TSR__FULL_NULL;
  uint32_t on = o->enabled;
#define ON(l) (on & TSR__LEVEL_BIT(l))
  if (ON(TSR__FULL_EXACT) && is_exact(lg) && is_exact(lf)) return TSR__FULL_EXACT;
  if (ON(TSR__FULL_SWAPPED) && given_a->len && family_a->len && given_b->len && family_b->len) {
    tsr__name_opts so;
    if (!ms) tsr__full_swap_opts(o, &so);
    if (swap_close(given_a, family_b, &so, ms) && swap_close(family_a, given_b, &so, ms)) return TSR__FULL_SWAPPED;
  }
  int ag = lg != TSR__NAME_NULL && lg <= o->agree_worst && lg != TSR__NAME_ELSE;
  int af = lf != TSR__NAME_NULL && lf <= o->agree_worst && lf != TSR__NAME_ELSE;
  if (ON(TSR__FULL_BOTH) && ag && af) return TSR__FULL_BOTH;
  if (ON(TSR__FULL_FAMILY) && af) return TSR__FULL_FAMILY;
  if (ON(TSR__FULL_GIVEN) && ag) return TSR__FULL_GIVEN;
#undef ON
  return TSR__FULL_ELSE;
}

/* --- free text ----------------------------------------------------------------------- */

tsr__text_level tsr__cmp_text(const char *a, size_t la, const char *b, size_t lb, const tsr__name_opts *o) {
  if (!la || !lb) return TSR__TEXT_NULL;
  const uint32_t on = o->enabled;
  if ((on & TSR__LEVEL_BIT(TSR__TEXT_EXACT)) && la == lb && memcmp(a, b, la) == 0) return TSR__TEXT_EXACT;
  char x[TSR__TEXT_MAX + 1], y[TSR__TEXT_MAX + 1];
  size_t nx = tsr__norm_text(a, la, x, sizeof x), ny = tsr__norm_text(b, lb, y, sizeof y);
  if (!nx || !ny) return TSR__TEXT_ELSE; /* punctuation only on a side: present, but nothing to compare */
  const int eq = nx == ny && memcmp(x, y, nx) == 0;
  if (eq && (on & TSR__LEVEL_BIT(TSR__TEXT_EXACT_NORM))) return TSR__TEXT_EXACT_NORM;
  const char *p = x, *q = y;
  size_t np = nx, nq = ny;
  if (np > nq || (np == nq && memcmp(p, q, np) > 0)) { /* one order for both calls */
    p = y, q = x, np = ny, nq = nx;
  }
  if (on & (TSR__LEVEL_BIT(TSR__TEXT_JW1) | TSR__LEVEL_BIT(TSR__TEXT_JW2))) {
    const double lo = (on & TSR__LEVEL_BIT(TSR__TEXT_JW2)) ? o->jw2 : o->jw1;
    if (eq || tsr__jw_upper_bound(np, nq) >= lo) {
      const double jw = eq ? 1.0 : tsr__jaro_winkler(p, np, q, nq);
      if ((on & TSR__LEVEL_BIT(TSR__TEXT_JW1)) && jw >= o->jw1) return TSR__TEXT_JW1;
      if ((on & TSR__LEVEL_BIT(TSR__TEXT_JW2)) && jw >= o->jw2) return TSR__TEXT_JW2;
    }
  }
  if (on & (TSR__LEVEL_BIT(TSR__TEXT_DL1) | TSR__LEVEL_BIT(TSR__TEXT_DL2))) {
    const size_t hi = (on & TSR__LEVEL_BIT(TSR__TEXT_DL2)) ? o->dl2 : o->dl1;
    const size_t d = tsr__dl_bounded(p, np, q, nq, hi);
    if ((on & TSR__LEVEL_BIT(TSR__TEXT_DL1)) && d <= o->dl1) return TSR__TEXT_DL1;
    if ((on & TSR__LEVEL_BIT(TSR__TEXT_DL2)) && d <= o->dl2) return TSR__TEXT_DL2;
  }
  return TSR__TEXT_ELSE;
}
