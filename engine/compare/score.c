/* Batch scorer: comparison specs, the scorer and its per-thread state, and
 * the comparison-major batch loop (score.h). */
#include "compare/score.h"

#include <string.h>
#include <xxhash.h>

#include "common/common_internal.h"

struct tsr__score_thread {
  tsr__name_memo *memo[TSR__SCORE_MAX_K][3]; /* NAME: [0]; FULLNAME: given, family, cross */
  uint8_t own[TSR__SCORE_MAX_K][3];          /* 0: borrowed from a NAME comparison (freed there) */
  uint8_t sa[TSR__PAIR_BATCH_CAP], sb[TSR__PAIR_BATCH_CAP];
  uint32_t ra[TSR__PAIR_BATCH_CAP], rb[TSR__PAIR_BATCH_CAP];
};

static const uint8_t k_nlev[TSR__CMP_NKINDS] = {
    [TSR__CMP_NAME] = TSR__NAME_NLEVELS,   [TSR__CMP_FULLNAME] = TSR__FULL_NLEVELS,
    [TSR__CMP_DOB] = TSR__DOB_NLEVELS,     [TSR__CMP_POSTCODE] = TSR__PC_NLEVELS,
    [TSR__CMP_NHS] = TSR__NHS_NLEVELS,     [TSR__CMP_SEX] = TSR__EXACT_NLEVELS,
    [TSR__CMP_CODE] = TSR__EXACT_NLEVELS,  [TSR__CMP_LOCAL_ID] = TSR__EXACT_NLEVELS,
    [TSR__CMP_TEXT] = TSR__TEXT_NLEVELS,
};

/* The config's comparison kinds (tessera/config.h) are these, in this order. */
_Static_assert((int)TSR_CMP_KIND_COUNT == (int)TSR__CMP_NKINDS, "config and compare kinds differ");
_Static_assert((int)TSR_CMP_NAME == (int)TSR__CMP_NAME && (int)TSR_CMP_FULL_NAME == (int)TSR__CMP_FULLNAME &&
                   (int)TSR_CMP_DOB == (int)TSR__CMP_DOB && (int)TSR_CMP_POSTCODE == (int)TSR__CMP_POSTCODE &&
                   (int)TSR_CMP_NHS == (int)TSR__CMP_NHS && (int)TSR_CMP_SEX == (int)TSR__CMP_SEX &&
                   (int)TSR_CMP_CODE == (int)TSR__CMP_CODE && (int)TSR_CMP_LOCAL_ID == (int)TSR__CMP_LOCAL_ID &&
                   (int)TSR_CMP_TEXT == (int)TSR__CMP_TEXT,
               "config and compare kinds are in different orders");

uint32_t tsr__cmp_nlevels(tsr__cmp_kind kind) { return (unsigned)kind < TSR__CMP_NKINDS ? k_nlev[kind] : 0; }

void tsr__cmp_spec_init(tsr__cmp_spec *s, tsr__cmp_kind kind) {
  memset(s, 0, sizeof *s);
  s->kind = kind;
  tsr__name_opts_init(&s->name);
  tsr__full_opts_init(&s->full);
  tsr__dob_opts_init(&s->dob);
  s->enabled = ~0u;
}

void tsr__cmp_spec_fields(tsr__cmp_spec *s, const tsr__recset *rs, const char *field, const char *field2) {
  for (uint32_t i = 0; i < rs->nsrc && i < TSR_MAX_SOURCES; i++) {
    s->col[i] = tsr_store_field(rs->stores[i], field);
    if (field2) s->col2[i] = tsr_store_field(rs->stores[i], field2);
  }
}

/* The column kinds a comparison kind reads (col, col2); col2 may be absent. */
static int col_fits(tsr__cmp_kind kind, const tsr_column *c, int second) {
  if (!c) return 1;
  switch (kind) {
  case TSR__CMP_NAME:
    return !second && (c->kind == TSR_KIND_GIVEN_NAME || c->kind == TSR_KIND_FAMILY_NAME);
  case TSR__CMP_FULLNAME:
    return c->kind == (second ? TSR_KIND_FAMILY_NAME : TSR_KIND_GIVEN_NAME);
  case TSR__CMP_DOB: return !second && c->kind == TSR_KIND_DATE;
  case TSR__CMP_POSTCODE: return !second && c->kind == TSR_KIND_POSTCODE;
  case TSR__CMP_NHS: return !second && c->kind == TSR_KIND_NHS_NUMBER;
  case TSR__CMP_SEX: return !second && c->kind == TSR_KIND_SEX;
  case TSR__CMP_CODE: return !second && c->kind == TSR_KIND_CODE;
  case TSR__CMP_LOCAL_ID: return second ? c->kind == TSR_KIND_CODE : c->kind == TSR_KIND_LOCAL_ID;
  case TSR__CMP_TEXT:
    return !second && (c->kind == TSR_KIND_TEXT || c->kind == TSR_KIND_LOCAL_ID || c->kind == TSR_KIND_GIVEN_NAME ||
                       c->kind == TSR_KIND_FAMILY_NAME);
  default: return 0;
  }
}

static uint64_t *code_hashes(const tsr_column *c) {
  uint64_t *h = tsr__malloc(sizeof(uint64_t) * ((size_t)c->dict_n + 1));
  if (!h) return NULL;
  h[0] = 0;
  for (uint32_t id = 1; id <= c->dict_n; id++) {
    uint64_t v = XXH3_64bits(c->dict + c->dict_off[id - 1], c->dict_off[id] - c->dict_off[id - 1]);
    h[id] = v ? v : 1;
  }
  return h;
}

void tsr__scorer_free(tsr__scorer *sc) {
  if (!sc) return;
  for (uint32_t k = 0; k < TSR__SCORE_MAX_K; k++)
    for (uint32_t s = 0; s < TSR_MAX_SOURCES; s++) {
      tsr__free(sc->code_hash[k][s]);
      tsr__free(sc->nhs_ok[k][s]);
      sc->code_hash[k][s] = NULL;
      sc->nhs_ok[k][s] = NULL;
    }
}

int tsr__scorer_init(tsr__scorer *sc, const tsr__recset *rs, const tsr__cmp_spec *specs, uint32_t k,
                     const uint8_t *shift, const uint8_t *bits, tsr_error *err) {
  memset(sc, 0, sizeof *sc);
  TSR_RETURN_IF(k == 0 || k > TSR__SCORE_MAX_K, err, TSR_EINVAL, "%u comparisons: 1 to %d allowed", k,
                TSR__SCORE_MAX_K);
  TSR_RETURN_IF(!shift != !bits, err, TSR_EINVAL, "packing: give both shift and bits, or neither");
  TSR_RETURN_IF(rs->nsrc > TSR_MAX_SOURCES, err, TSR_EINVAL, "%u sources: at most %d", rs->nsrc, TSR_MAX_SOURCES);
  sc->rs = rs;
  sc->k = k;
  uint64_t used = 0;
  uint32_t next = 0;
  for (uint32_t i = 0; i < k; i++) {
    const tsr__cmp_spec *s = &specs[i];
    TSR_RETURN_IF((unsigned)s->kind >= TSR__CMP_NKINDS, err, TSR_EINVAL, "comparison %u: unknown kind %d", i,
                  (int)s->kind);
    for (uint32_t src = 0; src < rs->nsrc; src++) {
      TSR_RETURN_IF(!col_fits(s->kind, s->col[src], 0) || !col_fits(s->kind, s->col2[src], 1), err, TSR_EINVAL,
                    "comparison %u: source \"%s\": a column of the wrong kind for this comparison", i,
                    tsr_store_source(rs->stores[src]));
    }
    sc->cmp[i] = *s;
    uint32_t nl = k_nlev[s->kind], need = 1;
    while ((1u << need) < nl) need++;
    sc->nlev[i] = (uint8_t)nl;
    uint32_t sh = shift ? shift[i] : next, bw = bits ? bits[i] : need;
    TSR_RETURN_IF(bw < need || bw > 16, err, TSR_EINVAL, "comparison %u: %u bits cannot hold its %u levels", i, bw,
                  nl);
    TSR_RETURN_IF(sh + bw > 32, err, TSR_EINVAL, "comparison %u: bits %u..%u pass bit 31", i, sh, sh + bw - 1);
    uint64_t mask = (((uint64_t)1 << bw) - 1) << sh;
    TSR_RETURN_IF(used & mask, err, TSR_EINVAL, "comparison %u: bits %u..%u overlap an earlier comparison", i, sh,
                  sh + bw - 1);
    used |= mask;
    sc->shift[i] = (uint8_t)sh;
    sc->bits[i] = (uint8_t)bw;
    next = sh + bw;
  }
  for (uint32_t i = 0; i < k; i++) {
    const tsr__cmp_spec *s = &sc->cmp[i];
    if (s->kind == TSR__CMP_NHS) {
      for (uint32_t src = 0; src < rs->nsrc; src++) {
        if (!s->col[src]) continue;
        const uint64_t rows = tsr_store_rows(rs->stores[src]);
        uint64_t *ok = tsr__calloc((size_t)(rows / 64 + 1), sizeof(uint64_t));
        if (!ok) {
          tsr__scorer_free(sc);
          return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
        }
        for (uint64_t r = 0; r < rows; r++)
          if (s->col[src]->u64[r] && tsr_nhs_valid(s->col[src]->u64[r])) ok[r >> 6] |= (uint64_t)1 << (r & 63);
        sc->nhs_ok[i][src] = ok;
      }
      continue;
    }
    const tsr_column *const *cols = s->kind == TSR__CMP_CODE ? s->col : s->kind == TSR__CMP_LOCAL_ID ? s->col2 : NULL;
    if (!cols) continue;
    for (uint32_t src = 0; src < rs->nsrc; src++) {
      if (!cols[src]) continue;
      sc->code_hash[i][src] = code_hashes(cols[src]);
      if (!sc->code_hash[i][src]) {
        tsr__scorer_free(sc);
        return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
      }
    }
  }
  return 0;
}

void tsr__score_thread_free(tsr__score_thread *ts) {
  if (!ts) return;
  for (uint32_t k = 0; k < TSR__SCORE_MAX_K; k++)
    for (int j = 0; j < 3; j++)
      if (ts->own[k][j]) tsr__name_memo_free(ts->memo[k][j]);
  tsr__free(ts);
}

static int same_name_opts(const tsr__name_opts *x, const tsr__name_opts *y) {
  return x->enabled == y->enabled && x->jw1 == y->jw1 && x->jw2 == y->jw2 && x->dl1 == y->dl1 && x->dl2 == y->dl2 &&
         x->phonetic == y->phonetic;
}

/* A NAME comparison reading the same columns with the same options, whose
 * memo a full-name comparison can use (a memo answers exactly what the
 * direct function answers for its options); -1 when there is none. */
static int shared_memo(const tsr__scorer *sc, const tsr_column *const *cols, const tsr__name_opts *o) {
  for (uint32_t n = 0; n < sc->k; n++) {
    const tsr__cmp_spec *t = &sc->cmp[n];
    if (t->kind != TSR__CMP_NAME || !same_name_opts(&t->name, o)) continue;
    uint32_t src = 0;
    while (src < sc->rs->nsrc && t->col[src] == cols[src]) src++;
    if (src == sc->rs->nsrc) return (int)n;
  }
  return -1;
}

int tsr__score_thread_create(const tsr__scorer *sc, tsr__score_thread **out) {
  *out = NULL;
  tsr__score_thread *ts = tsr__calloc(1, sizeof *ts);
  if (!ts) return TSR_ENOMEM;
  int rc = 0;
  for (uint32_t k = 0; k < sc->k && !rc; k++)
    if (sc->cmp[k].kind == TSR__CMP_NAME) {
      rc = tsr__name_memo_create(&sc->cmp[k].name, &ts->memo[k][0]);
      ts->own[k][0] = 1;
    }
  for (uint32_t k = 0; k < sc->k && !rc; k++) {
    const tsr__cmp_spec *s = &sc->cmp[k];
    if (s->kind != TSR__CMP_FULLNAME) continue;
    tsr__name_opts so;
    tsr__full_swap_opts(&s->full, &so);
    const tsr__name_opts *opts[3] = {&s->full.given, &s->full.family, &so};
    for (int j = 0; j < 3 && !rc; j++) {
      int n = shared_memo(sc, j == 0 ? s->col : s->col2, opts[j]);
      if (j < 2 && n >= 0) {
        ts->memo[k][j] = ts->memo[n][0];
        continue;
      }
      rc = tsr__name_memo_create(opts[j], &ts->memo[k][j]);
      ts->own[k][j] = 1;
    }
  }
  if (rc) {
    tsr__score_thread_free(ts);
    return rc;
  }
  *out = ts;
  return 0;
}

void tsr__score_thread_stats(const tsr__score_thread *ts, uint32_t k, uint64_t *hits, uint64_t *misses) {
  *hits = *misses = 0;
  if (k >= TSR__SCORE_MAX_K) return;
  for (int j = 0; j < 3; j++) {
    if (!ts->memo[k][j] || !ts->own[k][j]) continue;
    uint64_t h, m;
    tsr__name_memo_stats(ts->memo[k][j], &h, &m);
    *hits += h;
    *misses += m;
  }
}

/* --- one comparison, one pair ----------------------------------------------------- */

static inline void name_val(const tsr_column *c, uint32_t r, tsr__name_val *v) {
  if (!c) {
    memset(v, 0, sizeof *v);
    return;
  }
  uint32_t o = c->str_off[r];
  v->s = c->str + o;
  v->len = c->str_off[r + 1] - o;
  v->hash = c->hash ? c->hash[r] : 0;
  v->soundex = c->soundex ? c->soundex[r] : 0;
  v->nysiis = c->nysiis ? c->nysiis[r] : 0;
}

static inline uint64_t code_of(const uint64_t *h, const tsr_column *c, uint32_t r) {
  if (!h) return 0;
  return h[c->code16 ? c->code16[r] : c->code32[r]];
}

static inline uint32_t exact_u64(uint64_t x, uint64_t y) {
  return !x || !y ? TSR__EXACT_NULL : x == y ? TSR__EXACT_EQUAL : TSR__EXACT_ELSE;
}

static inline uint32_t sex_of(const tsr_column *c, uint32_t r) {
  if (!c) return 0;
  uint32_t v = c->u8[r];
  return v == 9 ? 0 : v;
}

static inline uint32_t local_id_level(const tsr__scorer *sc, uint32_t k, uint32_t sa, uint32_t ra, uint32_t sb,
                                      uint32_t rb) {
  const tsr__cmp_spec *s = &sc->cmp[k];
  const tsr_column *ca = s->col[sa], *cb = s->col[sb];
  if (!ca || !cb) return TSR__EXACT_NULL;
  if (s->col2[sa] || s->col2[sb]) { /* scoped: only within the same scope value */
    uint64_t pa = code_of(sc->code_hash[k][sa], s->col2[sa], ra);
    uint64_t pb = code_of(sc->code_hash[k][sb], s->col2[sb], rb);
    if (!pa || pa != pb) return TSR__EXACT_NULL;
  }
  uint32_t oa = ca->str_off[ra], la = ca->str_off[ra + 1] - oa;
  uint32_t ob = cb->str_off[rb], lb = cb->str_off[rb + 1] - ob;
  if (!la || !lb) return TSR__EXACT_NULL;
  if (ca->hash && cb->hash && ca->hash[ra] != cb->hash[rb]) return TSR__EXACT_ELSE;
  return la == lb && memcmp(ca->str + oa, cb->str + ob, la) == 0 ? TSR__EXACT_EQUAL : TSR__EXACT_ELSE;
}

static inline uint32_t level_of(const tsr__scorer *sc, tsr__score_thread *ts, uint32_t k, uint32_t sa,
                                uint32_t ra, uint32_t sb, uint32_t rb) {
  const tsr__cmp_spec *s = &sc->cmp[k];
  const tsr_column *ca = s->col[sa], *cb = s->col[sb];
  switch (s->kind) {
  case TSR__CMP_NAME: {
    tsr__name_val x, y;
    name_val(ca, ra, &x);
    name_val(cb, rb, &y);
    return tsr__cmp_name_memo(ts->memo[k][0], &x, &y);
  }
  case TSR__CMP_FULLNAME: {
    tsr__name_val ga, fa, gb, fb;
    name_val(ca, ra, &ga);
    name_val(s->col2[sa], ra, &fa);
    name_val(cb, rb, &gb);
    name_val(s->col2[sb], rb, &fb);
    return tsr__cmp_fullname(&ga, &fa, &gb, &fb, &s->full, ts->memo[k][0], ts->memo[k][1], ts->memo[k][2]);
  }
  case TSR__CMP_DOB:
    return tsr__cmp_dob(ca ? ca->i32[ra] : TSR_DATE_NONE, cb ? cb->i32[rb] : TSR_DATE_NONE, &s->dob);
  case TSR__CMP_POSTCODE: return tsr__cmp_postcode(ca ? ca->u64[ra] : 0, cb ? cb->u64[rb] : 0, s->enabled);
  case TSR__CMP_NHS: return tsr__cmp_nhs(ca ? ca->u64[ra] : 0, cb ? cb->u64[rb] : 0, s->enabled);
  case TSR__CMP_SEX: return exact_u64(sex_of(ca, ra), sex_of(cb, rb));
  case TSR__CMP_CODE:
    return exact_u64(code_of(sc->code_hash[k][sa], ca, ra), code_of(sc->code_hash[k][sb], cb, rb));
  case TSR__CMP_LOCAL_ID: return local_id_level(sc, k, sa, ra, sb, rb);
  case TSR__CMP_TEXT: {
    if (!ca || !cb) return TSR__TEXT_NULL;
    uint32_t oa = ca->str_off[ra], ob = cb->str_off[rb];
    return tsr__cmp_text(ca->str + oa, ca->str_off[ra + 1] - oa, cb->str + ob, cb->str_off[rb + 1] - ob, &s->name);
  }
  default: return 0;
  }
}

void tsr__score_pair(const tsr__scorer *sc, tsr__score_thread *ts, uint64_t a, uint64_t b, uint8_t *levels) {
  uint32_t sa = tsr__recset_src(sc->rs, a), sb = tsr__recset_src(sc->rs, b);
  uint32_t ra = (uint32_t)(a - sc->rs->base[sa]), rb = (uint32_t)(b - sc->rs->base[sb]);
  for (uint32_t k = 0; k < sc->k; k++) levels[k] = (uint8_t)level_of(sc, ts, k, sa, ra, sb, rb);
}

uint32_t tsr__score_pack(const tsr__scorer *sc, const uint8_t *levels) {
  uint32_t p = 0;
  for (uint32_t k = 0; k < sc->k; k++) p |= (uint32_t)levels[k] << sc->shift[k];
  return p;
}

/* --- the batch --------------------------------------------------------------------- */

/* gid -> (source, row) for n gids. Two sources (the usual case) need one
 * compare per gid. */
static void locate(const tsr__recset *rs, const uint32_t *gid, uint32_t n, uint8_t *src, uint32_t *row) {
  if (rs->nsrc <= 2) {
    const uint64_t b1 = rs->nsrc == 2 ? rs->base[1] : UINT64_MAX;
    for (uint32_t i = 0; i < n; i++) {
      const uint32_t s = gid[i] >= b1;
      src[i] = (uint8_t)s;
      row[i] = (uint32_t)(gid[i] - (s ? b1 : 0));
    }
    return;
  }
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t s = tsr__recset_src(rs, gid[i]);
    src[i] = (uint8_t)s;
    row[i] = (uint32_t)(gid[i] - rs->base[s]);
  }
}

void tsr__score_batch(const tsr__scorer *sc, tsr__score_thread *ts, const tsr__pair_batch *b,
                      uint32_t *patterns_out) {
  const uint32_t n = b->n;
  locate(sc->rs, b->a, n, ts->sa, ts->ra);
  locate(sc->rs, b->b, n, ts->sb, ts->rb);
  memset(patterns_out, 0, sizeof(uint32_t) * n);
  const uint8_t *sa = ts->sa, *sb = ts->sb;
  const uint32_t *ra = ts->ra, *rb = ts->rb;
  for (uint32_t k = 0; k < sc->k; k++) {
    const tsr__cmp_spec *s = &sc->cmp[k];
    const uint32_t sh = sc->shift[k];
    switch (s->kind) {
    /* the fixed-width kinds get their own loops: no name values to build */
    case TSR__CMP_DOB:
      for (uint32_t i = 0; i < n; i++) {
        const tsr_column *ca = s->col[sa[i]], *cb = s->col[sb[i]];
        uint32_t l = tsr__cmp_dob(ca ? ca->i32[ra[i]] : TSR_DATE_NONE, cb ? cb->i32[rb[i]] : TSR_DATE_NONE, &s->dob);
        patterns_out[i] |= l << sh;
      }
      break;
    case TSR__CMP_POSTCODE:
      for (uint32_t i = 0; i < n; i++) {
        const tsr_column *ca = s->col[sa[i]], *cb = s->col[sb[i]];
        uint32_t l = tsr__cmp_postcode(ca ? ca->u64[ra[i]] : 0, cb ? cb->u64[rb[i]] : 0, s->enabled);
        patterns_out[i] |= l << sh;
      }
      break;
    case TSR__CMP_NHS: {
      const uint32_t en = s->enabled;
      const uint32_t same = en & TSR__LEVEL_BIT(TSR__NHS_EQUAL) ? TSR__NHS_EQUAL : 0;
      const uint32_t diff = en & TSR__LEVEL_BIT(TSR__NHS_DIFFERENT) ? TSR__NHS_DIFFERENT : TSR__NHS_ELSE;
      for (uint32_t i = 0; i < n; i++) {
        const tsr_column *ca = s->col[sa[i]], *cb = s->col[sb[i]];
        const uint64_t x = ca ? ca->u64[ra[i]] : 0, y = cb ? cb->u64[rb[i]] : 0;
        uint32_t l = TSR__NHS_NULL;
        if (x && y) {
          const uint64_t *oka = sc->nhs_ok[k][sa[i]], *okb = sc->nhs_ok[k][sb[i]];
          const int valid = (oka[ra[i] >> 6] >> (ra[i] & 63)) & (okb[rb[i] >> 6] >> (rb[i] & 63)) & 1;
          if (valid && x != y) l = diff;
          else if (valid && same) l = same;
          else l = tsr__cmp_nhs(x, y, en);
        }
        patterns_out[i] |= l << sh;
      }
      break;
    }
    case TSR__CMP_SEX:
      for (uint32_t i = 0; i < n; i++) {
        uint32_t l = exact_u64(sex_of(s->col[sa[i]], ra[i]), sex_of(s->col[sb[i]], rb[i]));
        patterns_out[i] |= l << sh;
      }
      break;
    default:
      for (uint32_t i = 0; i < n; i++) patterns_out[i] |= level_of(sc, ts, k, sa[i], ra[i], sb[i], rb[i]) << sh;
      break;
    }
  }
}
