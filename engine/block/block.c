/* Block stage: keys, radix partitioning, per-partition grouping. See block.h
 * for the design. */
#include "block/block.h"

#include <assert.h>
#include <omp.h>
#include <string.h>
#include <xxhash.h>

#include "common/common_internal.h"
#include "common/date.h"

void tsr__recset_init(tsr__recset *rs, const tsr_store *const *stores, uint32_t nsrc) {
  memset(rs, 0, sizeof *rs);
  rs->nsrc = nsrc;
  rs->stores = stores;
  for (uint32_t s = 0; s < nsrc; s++) rs->base[s + 1] = rs->base[s] + tsr_store_rows(stores[s]);
  for (uint32_t s = nsrc + 1; s <= TSR_MAX_SOURCES; s++) rs->base[s] = rs->base[nsrc];
  rs->total = rs->base[nsrc];
}

/* --- norm() ------------------------------------------------------------------
 * One normaliser, resumable so the key can hash text of any length through
 * a small stack buffer: a chunk is filled, hashed into the running seed, and
 * the next chunk continues where it stopped. Chunks are cut from the
 * normalised stream, so equal normalised texts give equal keys, whatever
 * their raw spelling; a text that fits one chunk hashes as XXH3_64bits. */
#define NORM_CHUNK 256

typedef struct norm_state {
  size_t pos;   /* next input byte */
  int started;  /* something was written: a space may follow */
  int pending;  /* a space is owed before the next kept byte */
} norm_state;

static size_t norm_fill(const char *s, size_t n, norm_state *ns, char *out, size_t cap) {
  size_t len = 0;
  while (ns->pos < n && len < cap) {
    unsigned char c = (unsigned char)s[ns->pos];
    if (c >= 'a' && c <= 'z') {
      c = (unsigned char)(c - 'a' + 'A');
    } else if (c < 0x80 && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9')) {
      ns->pending = ns->started;
      ns->pos++;
      continue;
    }
    if (ns->pending) {
      out[len++] = ' ';
      ns->pending = 0;
      if (len == cap) break; /* the kept byte goes into the next chunk */
    }
    out[len++] = (char)c;
    ns->started = 1;
    ns->pos++;
  }
  return len;
}

size_t tsr__norm_text(const char *s, size_t n, char *out, size_t cap) {
  norm_state ns = {0, 0, 0};
  size_t len = cap ? norm_fill(s, n, &ns, out, cap - 1) : 0;
  if (cap) out[len] = '\0';
  return len;
}

uint64_t tsr__norm_key(const char *s, size_t n) {
  char buf[NORM_CHUNK];
  norm_state ns = {0, 0, 0};
  uint64_t h = 0;
  size_t total = 0;
  for (;;) {
    size_t len = norm_fill(s, n, &ns, buf, sizeof buf);
    if (!len) break;
    h = XXH3_64bits_withSeed(buf, len, h);
    total += len;
  }
  if (!total) return 0;
  return h ? h : 1;
}

/* One part of a rule, bound to one source's column. */
typedef struct part_src {
  const tsr_column *col;
  tsr_key_fn fn;
  uint64_t *code_hash; /* code columns: the key of each dictionary value (value: XXH3, norm: tsr__norm_key),
                         so codes agree across sources */
} part_src;

static inline uint64_t str_prefix(const tsr_column *c, uint64_t r, uint32_t n) {
  uint32_t a = c->str_off[r], b = c->str_off[r + 1];
  if (b == a) return 0;
  uint32_t len = b - a < n ? b - a : n;
  uint64_t v = 0;
  memcpy(&v, c->str + a, len);
  return v | (uint64_t)len << 56;
}

/* Value of one part for row r, or 0 when missing. */
static inline uint64_t part_value(const part_src *p, uint64_t r) {
  const tsr_column *c = p->col;
  switch (p->fn) {
  case TSR_KEYFN_VALUE:
    switch (c->kind) {
    case TSR_KIND_NHS_NUMBER:
    case TSR_KIND_POSTCODE:
      return c->u64[r];
    case TSR_KIND_DATE:
      return c->i32[r] == TSR_DATE_NONE ? 0 : (uint64_t)(uint32_t)c->i32[r] | 1ull << 40;
    case TSR_KIND_SEX:
      return c->u8[r] == 1 || c->u8[r] == 2 ? c->u8[r] : 0; /* 0 and 9 say nothing */
    case TSR_KIND_GIVEN_NAME:
    case TSR_KIND_FAMILY_NAME:
    case TSR_KIND_LOCAL_ID:
      return c->hash[r];
    case TSR_KIND_CODE: {
      uint32_t id = c->code16 ? c->code16[r] : c->code32[r];
      return p->code_hash[id];
    }
    case TSR_KIND_INTEGER:
      return c->i64[r] == TSR_INT_NONE ? 0 : (uint64_t)c->i64[r] ^ 0x8000000000000001ull;
    default:
      return 0;
    }
  case TSR_KEYFN_SOUNDEX:
    return c->soundex[r];
  case TSR_KEYFN_NYSIIS:
    return c->nysiis[r];
  case TSR_KEYFN_YEAR:
  case TSR_KEYFN_YEAR_MONTH: {
    if (c->i32[r] == TSR_DATE_NONE) return 0;
    int y, m, d;
    tsr__ymd_from_days(c->i32[r], &y, &m, &d);
    return (uint64_t)(uint32_t)y << 8 | (p->fn == TSR_KEYFN_YEAR_MONTH ? (uint64_t)(uint32_t)m : 0) | 1ull << 40;
  }
  case TSR_KEYFN_DISTRICT:
    return tsr_postcode_district(c->u64[r]);
  case TSR_KEYFN_SECTOR:
    return tsr_postcode_sector(c->u64[r]);
  case TSR_KEYFN_INITIAL:
    return str_prefix(c, r, 1);
  case TSR_KEYFN_FIRST3:
    return str_prefix(c, r, 3);
  case TSR_KEYFN_NORM: {
    if (c->kind == TSR_KIND_CODE) return p->code_hash[c->code16 ? c->code16[r] : c->code32[r]];
    uint32_t a = c->str_off[r], b = c->str_off[r + 1];
    return b == a ? 0 : tsr__norm_key(c->str + a, b - a);
  }
  default:
    return 0;
  }
}

int tsr__rule_keys(const tsr__recset *rs, const tsr_rule_cfg *r, uint64_t run_mask, const uint8_t *exclude,
                   uint64_t *keys, int threads, tsr_error *err) {
  threads = tsr__threads(threads);
  for (uint32_t s = 0; s < rs->nsrc; s++) {
    uint64_t lo = rs->base[s], hi = rs->base[s + 1];
    if (!((r->source_mask & run_mask) >> s & 1)) { /* outside the rule or the run: no key */
      memset(keys + lo, 0, (hi - lo) * sizeof *keys);
      continue;
    }
    part_src ps[TSR_MAX_KEY_PARTS];
    memset(ps, 0, sizeof ps);
    int rc = 0;
    for (uint8_t i = 0; i < r->n_parts; i++) {
      ps[i].fn = r->parts[i].fn;
      ps[i].col = tsr_store_field(rs->stores[s], r->parts[i].field);
      if (!ps[i].col) {
        rc = tsr_error_set(err, TSR_ECONFIG, NULL, 0, 0, "rule %s: source %s has no field %s", r->name,
                           tsr_store_source(rs->stores[s]), r->parts[i].field);
        break;
      }
      if (ps[i].col->kind == TSR_KIND_CODE && (ps[i].fn == TSR_KEYFN_VALUE || ps[i].fn == TSR_KEYFN_NORM)) {
        const tsr_column *c = ps[i].col;
        ps[i].code_hash = tsr__malloc(sizeof(uint64_t) * ((size_t)c->dict_n + 1));
        if (!ps[i].code_hash) {
          rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
          break;
        }
        ps[i].code_hash[0] = 0;
        for (uint32_t k = 1; k <= c->dict_n; k++) {
          const char *v = c->dict + c->dict_off[k - 1];
          const size_t vn = c->dict_off[k] - c->dict_off[k - 1];
          if (ps[i].fn == TSR_KEYFN_NORM) {
            ps[i].code_hash[k] = tsr__norm_key(v, vn); /* 0 when nothing is left: missing */
          } else {
            uint64_t h = XXH3_64bits(v, vn);
            ps[i].code_hash[k] = h ? h : 1;
          }
        }
      }
    }
    if (!rc) {
      const uint8_t np = r->n_parts;
      const int64_t n = (int64_t)(hi - lo);
#pragma omp parallel for num_threads(threads) schedule(static)
      for (int64_t i = 0; i < n; i++) {
        uint64_t gid = lo + (uint64_t)i, v[TSR_MAX_KEY_PARTS], key = 0;
        if (!exclude || !exclude[gid]) {
          uint8_t k = 0;
          for (; k < np; k++) {
            v[k] = part_value(&ps[k], (uint64_t)i);
            if (!v[k]) break;
          }
          if (k == np) {
            key = XXH3_64bits(v, np * sizeof(uint64_t));
            key += !key;
          }
        }
        keys[gid] = key;
      }
    }
    for (uint8_t i = 0; i < r->n_parts; i++) tsr__free(ps[i].code_hash);
    if (rc) return rc;
  }
  return 0;
}

void tsr__blocks_free(tsr__blocks *b) {
  tsr__free(b->start);
  tsr__free(b->members);
  tsr__free(b->key);
  memset(b, 0, sizeof *b);
}

/* Open-addressing table for one partition: slot -> local block index + 1. */
typedef struct {
  uint32_t *slot;
  uint64_t cap;
} ptable;

int tsr__group(const uint64_t *keys, uint64_t n, int threads, tsr__blocks *out, tsr_error *err) {
  memset(out, 0, sizeof *out);
  threads = tsr__threads(threads);
  /* partitions of ~16k entries keep each table (8 bytes a slot at load 1/2)
   * inside L2 */
  uint32_t bits = 4;
  while (bits < 12 && ((uint64_t)1 << bits) * 16384 < n) bits++;
  const uint32_t P = 1u << bits, shift = 64 - bits;
  out->partitions = P;
  const int T = threads;
  int rc = TSR_ENOMEM;
  uint64_t *pk = NULL, *pblocks = NULL, *pmembers = NULL;
  uint32_t *pg = NULL, *lgrp = NULL, *gcnt = NULL, *pnloc = NULL;
  uint64_t *hist = tsr__calloc((size_t)T * P, sizeof *hist);
  uint64_t *pstart = tsr__calloc((size_t)P + 1, sizeof *pstart);
  if (!hist || !pstart) goto done;
  /* 1. histogram over each thread's gid range */
#pragma omp parallel num_threads(T)
  {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    uint64_t lo = n * (uint64_t)t / (uint64_t)nt, hi = n * (uint64_t)(t + 1) / (uint64_t)nt;
    uint64_t *h = hist + (size_t)t * P;
    for (uint64_t g = lo; g < hi; g++)
      if (keys[g]) h[keys[g] >> shift]++;
  }
  /* cursors: partition-major, thread-minor, so gid order holds in a partition */
  uint64_t m = 0;
  for (uint32_t p = 0; p < P; p++) {
    pstart[p] = m;
    for (int t = 0; t < T; t++) {
      uint64_t c = hist[(size_t)t * P + p];
      hist[(size_t)t * P + p] = m;
      m += c;
    }
  }
  pstart[P] = m;
  out->eligible = m;
#ifndef NDEBUG
  for (uint32_t p = 0; p < P; p++) assert(pstart[p] <= pstart[p + 1]); /* prefix sums */
#endif
  pk = tsr__malloc(sizeof *pk * (m ? m : 1));
  pg = tsr__malloc(sizeof *pg * (m ? m : 1));
  lgrp = tsr__malloc(sizeof *lgrp * (m ? m : 1)); /* entry -> local block */
  gcnt = tsr__malloc(sizeof *gcnt * (m ? m : 1)); /* local block sizes, at the partition's start */
  pblocks = tsr__calloc((size_t)P + 1, sizeof *pblocks);
  pmembers = tsr__calloc((size_t)P + 1, sizeof *pmembers);
  pnloc = tsr__calloc((size_t)P, sizeof *pnloc);
  if (!pk || !pg || !lgrp || !gcnt || !pblocks || !pmembers || !pnloc) goto done;
  /* 2. scatter */
#pragma omp parallel num_threads(T)
  {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    uint64_t lo = n * (uint64_t)t / (uint64_t)nt, hi = n * (uint64_t)(t + 1) / (uint64_t)nt;
    uint64_t *cur = hist + (size_t)t * P;
    for (uint64_t g = lo; g < hi; g++) {
      uint64_t k = keys[g];
      if (!k) continue;
      uint64_t at = cur[k >> shift]++;
      pk[at] = k;
      pg[at] = (uint32_t)g;
    }
  }
#ifndef NDEBUG
  /* every cursor ended where the next (partition, thread) range starts, and
   * gids ascend inside a partition (the scatter kept their order) */
  for (uint32_t p = 0; p < P; p++) {
    for (int t = 0; t + 1 < T; t++) assert(hist[(size_t)t * P + p] <= hist[(size_t)(t + 1) * P + p]);
    assert(hist[(size_t)(T - 1) * P + p] == pstart[p + 1]);
    for (uint64_t i = pstart[p] + 1; i < pstart[p + 1]; i++) assert(pg[i - 1] < pg[i]);
  }
#endif
  /* 3a. per partition: local blocks in first-seen order, sizes */
  uint64_t maxp = 0;
  for (uint32_t p = 0; p < P; p++)
    if (pstart[p + 1] - pstart[p] > maxp) maxp = pstart[p + 1] - pstart[p];
  int failed = 0;
#pragma omp parallel num_threads(T)
  {
    ptable tb = {0, 0};
    uint64_t cap = 16;
    while (cap < 2 * maxp) cap <<= 1;
    tb.slot = tsr__malloc(sizeof *tb.slot * cap);
    tb.cap = cap;
    if (!tb.slot) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (uint32_t p = 0; p < P; p++) {
      if (!tb.slot) continue;
      uint64_t s = pstart[p], e = pstart[p + 1], ne = e - s;
      if (ne == 0) continue;
      uint64_t c = 16;
      while (c < 2 * ne) c <<= 1;
      memset(tb.slot, 0, sizeof *tb.slot * c);
      const uint64_t mask = c - 1;
      uint32_t nloc = 0;
      for (uint64_t i = s; i < e; i++) {
        uint64_t k = pk[i], h = (k * 0x9E3779B97F4A7C15ull) >> 20;
        for (;;) {
          uint32_t v = tb.slot[h & mask];
          if (!v) {
            tb.slot[h & mask] = ++nloc;
            pk[s + nloc - 1] = pk[i]; /* local block keys packed at the front (i >= nloc - 1) */
            gcnt[s + nloc - 1] = 1;
            lgrp[i] = nloc - 1;
            break;
          }
          if (pk[s + v - 1] == k) {
            gcnt[s + v - 1]++;
            lgrp[i] = v - 1;
            break;
          }
          h++;
        }
      }
      pnloc[p] = nloc;
      uint64_t nb = 0, nm = 0;
      for (uint32_t g = 0; g < nloc; g++)
        if (gcnt[s + g] >= 2) {
          nb++;
          nm += gcnt[s + g];
        }
      pblocks[p] = nb;
      pmembers[p] = nm;
    }
    tsr__free(tb.slot);
  }
  if (failed) goto done;
  /* 3b. global numbering, then members in place */
  uint64_t B = 0, M = 0;
  for (uint32_t p = 0; p < P; p++) {
    uint64_t b = pblocks[p], mm = pmembers[p];
    pblocks[p] = B;
    pmembers[p] = M;
    B += b;
    M += mm;
  }
  out->n = B;
  out->start = tsr__malloc(sizeof *out->start * (B + 1));
  out->members = tsr__malloc(sizeof *out->members * (M ? M : 1));
  out->key = tsr__malloc(sizeof *out->key * (B ? B : 1));
  if (!out->start || !out->members || !out->key) goto done;
  out->start[B] = M;
#pragma omp parallel for num_threads(T) schedule(dynamic, 1)
  for (uint32_t p = 0; p < P; p++) {
    uint64_t s = pstart[p], e = pstart[p + 1];
    uint64_t b = pblocks[p], at = pmembers[p];
    /* gcnt becomes: output cursor for blocks of 2+, UINT32_MAX for singles */
    for (uint32_t g = 0; g < pnloc[p]; g++) {
      if (gcnt[s + g] >= 2) {
        out->start[b] = at;
        out->key[b] = pk[s + g];
        uint32_t sz = gcnt[s + g];
        gcnt[s + g] = (uint32_t)(at - pmembers[p]);
        at += sz;
        b++;
      } else {
        gcnt[s + g] = UINT32_MAX;
      }
    }
    for (uint64_t i = s; i < e; i++) {
      uint32_t c = gcnt[s + lgrp[i]];
      if (c == UINT32_MAX) continue;
      out->members[pmembers[p] + c] = pg[i];
      gcnt[s + lgrp[i]] = c + 1;
    }
  }
#ifndef NDEBUG
  /* CSR: offsets ascend, every block holds 2+ records, in ascending gid
   * order, all with the block's key */
  assert(out->start[0] == 0 && out->start[B] == M);
  for (uint64_t b = 0; b < B; b++) {
    assert(out->start[b] + 2 <= out->start[b + 1]);
    for (uint64_t i = out->start[b]; i < out->start[b + 1]; i++) {
      assert(keys[out->members[i]] == out->key[b]);
      assert(i == out->start[b] || out->members[i - 1] < out->members[i]);
    }
  }
#endif
  rc = 0;
done:
  if (rc) tsr__blocks_free(out);
  tsr__free(hist);
  tsr__free(pstart);
  tsr__free(pk);
  tsr__free(pg);
  tsr__free(lgrp);
  tsr__free(gcnt);
  tsr__free(pblocks);
  tsr__free(pmembers);
  tsr__free(pnloc);
  return rc ? tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory grouping %llu keys", (unsigned long long)n)
            : 0;
}

size_t tsr__key_text(const tsr__recset *rs, const tsr_rule_cfg *r, uint64_t gid, char *buf, size_t cap) {
  if (cap == 0) return 0;
  buf[0] = '\0';
  uint32_t s = tsr__recset_src(rs, gid);
  uint64_t row = gid - rs->base[s];
  size_t len = 0;
  for (uint8_t i = 0; i < r->n_parts && len + 1 < cap; i++) {
    const tsr_column *c = tsr_store_field(rs->stores[s], r->parts[i].field);
    char v[256];
    v[0] = '\0';
    if (c) {
      switch (r->parts[i].fn) {
      case TSR_KEYFN_SOUNDEX:
        tsr_soundex_text(c->soundex[row], v);
        break;
      case TSR_KEYFN_NYSIIS:
        tsr_nysiis_text(c->nysiis[row], v);
        break;
      case TSR_KEYFN_YEAR:
      case TSR_KEYFN_YEAR_MONTH:
        tsr_column_text(c, row, v, sizeof v);
        v[r->parts[i].fn == TSR_KEYFN_YEAR ? 4 : 7] = '\0';
        break;
      case TSR_KEYFN_DISTRICT:
        tsr_postcode_text(tsr_postcode_district(c->u64[row]), v);
        break;
      case TSR_KEYFN_SECTOR:
        tsr_postcode_text(tsr_postcode_sector(c->u64[row]), v);
        break;
      case TSR_KEYFN_INITIAL:
      case TSR_KEYFN_FIRST3:
        tsr_column_text(c, row, v, sizeof v);
        v[r->parts[i].fn == TSR_KEYFN_INITIAL ? 1 : 3] = '\0';
        break;
      case TSR_KEYFN_NORM: {
        char raw[sizeof v];
        size_t n = tsr_column_text(c, row, raw, sizeof raw);
        tsr__norm_text(raw, n < sizeof raw ? n : sizeof raw - 1, v, sizeof v);
        break;
      }
      default:
        tsr_column_text(c, row, v, sizeof v);
      }
    }
    int w = snprintf(buf + len, cap - len, "%s%s=%s", i ? " | " : "", r->parts[i].text, v);
    if (w < 0) break;
    len += (size_t)w;
    if (len >= cap) len = cap - 1;
  }
  return len;
}

/* Pairs of a block (members in gid order, so each source is one run) that
 * the mode allows: within a source, across sources, or both. */
static uint64_t allowed_pairs(const tsr__recset *rs, const uint32_t *m, uint64_t sz, tsr_link_mode mode) {
  const uint64_t all = sz * (sz - 1) / 2;
  if (mode == TSR_MODE_BOTH) return all;
  uint64_t same = 0;
  for (uint64_t i = 0; i < sz;) {
    uint32_t s = tsr__recset_src(rs, m[i]);
    uint64_t j = i + 1;
    while (j < sz && tsr__recset_src(rs, m[j]) == s) j++;
    same += (j - i) * (j - i - 1) / 2;
    i = j;
  }
  return tsr__mode_allows(mode, 1) ? same : all - same;
}

/* One thread's batch: filled pair by pair, handed to the consumer when full. */
static inline void batch_put(tsr__pair_batch *pb, tsr__pair_batch_fn fn, void *ctx, int t, uint32_t a, uint32_t b,
                             uint16_t rule) {
  pb->a[pb->n] = a;
  pb->b[pb->n] = b;
  pb->rule[pb->n] = rule;
  if (++pb->n == TSR__PAIR_BATCH_CAP) {
    fn(ctx, t, pb);
    pb->n = 0;
  }
}

int tsr__block_pairs(const tsr__recset *rs, const tsr_rule_cfg *rules, uint32_t nrules, tsr_link_mode mode,
                     uint64_t source_mask, uint64_t max_block, tsr__pair_batch_fn fn, void *ctx,
                     tsr__rule_pairs *out, int threads, tsr_error *err) {
  return tsr__block_pairs_ex(rs, rules, nrules, mode, source_mask, NULL, max_block, fn, ctx, out, threads, err);
}

int tsr__block_pairs_ex(const tsr__recset *rs, const tsr_rule_cfg *rules, uint32_t nrules, tsr_link_mode mode,
                        uint64_t source_mask, const uint8_t *exclude, uint64_t max_block, tsr__pair_batch_fn fn,
                        void *ctx, tsr__rule_pairs *out, int threads, tsr_error *err) {
  const uint64_t N = rs->total;
  threads = tsr__threads(threads);
  if (nrules > UINT16_MAX) return tsr_error_set(err, TSR_ECONFIG, NULL, 0, 0, "at most 65,535 blocking rules");
  uint64_t **keys = tsr__calloc(nrules ? nrules : 1, sizeof *keys);
  /* one batch per thread, reused across rules; none when counting only */
  tsr__pair_batch **batch = fn ? tsr__calloc((size_t)threads, sizeof *batch) : NULL;
  int rc = 0;
  if (!keys || (fn && !batch)) rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  for (int t = 0; fn && !rc && t < threads; t++)
    if (!(batch[t] = tsr__malloc(sizeof **batch)))
      rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory for %d pair batches", threads);
  for (uint32_t k = 0; k < nrules && !rc; k++) {
    memset(&out[k], 0, sizeof out[k]);
    keys[k] = tsr__malloc(sizeof(uint64_t) * (N ? N : 1));
    if (!keys[k]) {
      rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory for the keys of %u rules", nrules);
      break;
    }
    rc = tsr__rule_keys(rs, &rules[k], source_mask, exclude, keys[k], threads, err);
  }
  for (uint32_t k = 0; k < nrules && !rc; k++) {
    tsr__blocks b;
    if ((rc = tsr__group(keys[k], N, threads, &b, err)) != 0) break;
    tsr__rule_pairs *o = &out[k];
    o->blocks = b.n;
    o->eligible = b.eligible;
    uint64_t pairs = 0, earlier = 0, cb = 0, cp = 0;
    const int64_t nb = (int64_t)b.n;
    const uint16_t rule = (uint16_t)k;
#pragma omp parallel num_threads(threads) reduction(+ : pairs, earlier, cb, cp)
    {
      const int t = omp_get_thread_num();
      tsr__pair_batch *pb = fn ? batch[t] : NULL;
      if (pb) pb->n = 0;
#pragma omp for schedule(dynamic, 64) nowait
      for (int64_t bi = 0; bi < nb; bi++) {
        const uint32_t *m = b.members + b.start[bi];
        const uint64_t sz = b.start[bi + 1] - b.start[bi];
        if (sz > max_block) {
          cb++;
          cp += allowed_pairs(rs, m, sz, mode);
          continue;
        }
        for (uint64_t i = 0; i < sz; i++) {
          uint32_t a = m[i], sa = tsr__recset_src(rs, a);
          for (uint64_t j = i + 1; j < sz; j++) {
            uint32_t c = m[j], sc = tsr__recset_src(rs, c);
            if (!tsr__mode_allows(mode, sa == sc)) continue;
            uint32_t q = 0;
            for (; q < k; q++)
              if (keys[q][a] && keys[q][a] == keys[q][c]) break;
            if (q < k) {
              earlier++;
              continue;
            }
            pairs++;
            if (pb) batch_put(pb, fn, ctx, t, a, c, rule);
          }
        }
      }
      /* the thread's share of this rule is done: hand over the rest */
      if (pb && pb->n) {
        fn(ctx, t, pb);
        pb->n = 0;
      }
    }
    o->pairs = pairs;
    o->earlier = earlier;
    o->capped_blocks = cb;
    o->capped_pairs = cp;
    for (uint64_t bi = 0; bi < b.n; bi++) {
      uint64_t sz = b.start[bi + 1] - b.start[bi];
      if (sz > o->max_block || (sz == o->max_block && b.members[b.start[bi]] < o->max_block_first)) {
        o->max_block = sz;
        o->max_block_first = b.members[b.start[bi]];
      }
    }
    tsr__blocks_free(&b);
  }
  for (uint32_t k = 0; keys && k < nrules; k++) tsr__free(keys[k]);
  tsr__free(keys);
  for (int t = 0; batch && t < threads; t++) tsr__free(batch[t]);
  tsr__free(batch);
  return rc;
}
