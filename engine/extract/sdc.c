/* Disclosure control for research extracts (sdc.h): small-number
 * suppression of aggregate tables, k-anonymity measurement and the ICD-10
 * chapter of a diagnosis code. docs/design/disclosure.md explains the
 * suppression rules, why they resist subtraction, and their limits.
 *
 * DESIGN (suppression)
 *   The table is extended with its totals into an (nr+1) x (nc+1) grid:
 *
 *          col 0 .. col nc-1 | col nc
 *   row 0    cells ...        | row total      every row and every column
 *   ...                       |                of the grid is one equation:
 *   row nr-1                  |                the cells of the line sum to
 *   ---------------------------+------------   its total entry.
 *   row nr   column totals    | GRAND
 *
 *   Suppressed entries are the edges of a bipartite graph whose nodes are
 *   the grid's rows and columns. Negating the totals makes every line sum
 *   to 0, so the unknowns' freedom (the null space of the line equations)
 *   is exactly the cycle space of that graph: a suppressed entry can be
 *   derived from the shown ones by some linear combination of lines if and
 *   only if its edge is a bridge (lies on no cycle). A line with exactly
 *   one suppressed entry is the simplest bridge; a chain joining two
 *   otherwise safe blocks is another that no single line shows.
 *
 *   1. primary: entries with a count of 1..7 (not national);
 *   2. lines with exactly one suppressed entry, from a FIFO worklist, get
 *      one more: the candidate with the smallest nonzero count, then the one
 *      whose other line already holds a suppression, then the first by
 *      position; zeros only when nothing else is left. To a fixed point.
 *   3. bridges (Tarjan, iterative): the first bridge by position gets the
 *      cheapest path between its ends that avoids it (Dijkstra over the
 *      whole grid; cost of an entry: 0 when already suppressed, else
 *      (is zero, count + 1) compared lexicographically). The path closes a
 *      cycle through the bridge, adds no new bridge, and removes at least
 *      one, so this ends; when no bridge is left no line has one unknown.
 *   National entries (the grand total and entries equal to it by shape)
 *   are never edges. A path always exists: with nr, nc >= 2 every entry is
 *   on a 4-cycle of non-national entries; with one row (column) and two or
 *   more columns (rows), through the other column's (row's) cell and total.
 *
 * DESIGN (k-anonymity)
 *   A 64-bit hash of each record's codes picks one of 4096 buckets (equal
 *   tuples share a bucket); 64 fixed chunks of records are counted and
 *   scattered in parallel into bucket order; each bucket is then sorted by
 *   (hash, codes) and its runs of equal codes are the classes. Chunks and
 *   buckets do not depend on the thread count, and the figures are sums and
 *   minima, so the result is the same for any thread count. */
#include "extract/sdc.h"

#include <assert.h>
#include <omp.h>
#include <string.h>

#include "common/common_internal.h"
#include "common/rng.h"

/* ---------------------------------------------------------------- rounding */

int64_t tsr__sdc_round5(uint64_t n) {
  assert(n <= TSR__SDC_MAX_COUNT);
  return (int64_t)((n + 2) / 5 * 5);
}

/* ---------------------------------------------------------------- totals */

int tsr__sdc_fill_totals(tsr__sdc_table *t, tsr_error *err) {
  uint64_t g = 0;
  for (size_t j = 0; j < t->nc; j++) t->col_tot[j] = 0;
  for (size_t i = 0; i < t->nr; i++) {
    uint64_t r = 0;
    for (size_t j = 0; j < t->nc; j++) {
      uint64_t v = t->cells[i * t->nc + j];
      TSR_RETURN_IF(v > TSR__SDC_MAX_COUNT - r || v > TSR__SDC_MAX_COUNT - t->col_tot[j], err, TSR_ELIMIT,
                    "aggregate table: totals of row %zu / column %zu pass %llu", i + 1, j + 1,
                    (unsigned long long)TSR__SDC_MAX_COUNT);
      r += v;
      t->col_tot[j] += v;
    }
    t->row_tot[i] = r;
    TSR_RETURN_IF(r > TSR__SDC_MAX_COUNT - g, err, TSR_ELIMIT, "aggregate table: grand total passes %llu",
                  (unsigned long long)TSR__SDC_MAX_COUNT);
    g += r;
  }
  t->grand = g;
  return 0;
}

/* ---------------------------------------------------------------- suppression */

enum { ST_SHOWN = 0, ST_PRIMARY = 1, ST_SECONDARY = 2 };

typedef struct {
  size_t nr, nc, H, W; /* grid is H = nr+1 rows by W = nc+1 columns */
  uint64_t *v;         /* H*W values */
  unsigned char *st;   /* H*W states */
  unsigned char *nat;  /* H*W: 1 = national, never suppressed */
  size_t *rcnt, *ccnt; /* suppressed entries per grid row / column */
  uint64_t secondary, secondary_zeros;
} grid;

static void grid_suppress(grid *g, size_t e, unsigned char how) {
  assert(g->st[e] == ST_SHOWN && !g->nat[e]);
  g->st[e] = how;
  g->rcnt[e / g->W]++;
  g->ccnt[e % g->W]++;
  if (how == ST_SECONDARY) {
    g->secondary++;
    if (g->v[e] == 0) g->secondary_zeros++;
  }
}

/* Is a better secondary candidate than b (both unsuppressed, not national)?
 * other_a/other_b: the candidate's other line already holds a suppression. */
static int cand_better(const grid *g, size_t a, int other_a, size_t b, int other_b) {
  uint64_t va = g->v[a], vb = g->v[b];
  if ((va == 0) != (vb == 0)) return va != 0;
  if (va != vb) return va < vb;
  if (other_a != other_b) return other_a;
  return a < b;
}

/* Phase 2 of the DESIGN note: worklist of lines (id < H: grid row; else
 * grid column id - H) with exactly one suppressed entry. */
static int phase_lines(grid *g, tsr_error *err) {
  size_t nl = g->H + g->W, cap = nl + 1, head = 0, tail = 0, len = 0;
  size_t *q = tsr__malloc(cap * sizeof *q);
  TSR_RETURN_IF(!q, err, TSR_ENOMEM, "out of memory (suppression worklist)");
#define PUSH(x)                                                                                    \
  do {                                                                                             \
    q[tail] = (x);                                                                                 \
    tail = (tail + 1) % cap;                                                                       \
    len++;                                                                                         \
  } while (0)
  for (size_t i = 0; i < g->H; i++)
    if (g->rcnt[i] == 1) PUSH(i);
  for (size_t j = 0; j < g->W; j++)
    if (g->ccnt[j] == 1) PUSH(g->H + j);
  while (len > 0) {
    size_t l = q[head];
    head = (head + 1) % cap;
    len--;
    int is_row = l < g->H;
    size_t idx = is_row ? l : l - g->H;
    if ((is_row ? g->rcnt[idx] : g->ccnt[idx]) != 1) continue;
    size_t n = is_row ? g->W : g->H, best = SIZE_MAX;
    int best_other = 0;
    for (size_t k = 0; k < n; k++) {
      size_t e = is_row ? idx * g->W + k : k * g->W + idx;
      if (g->st[e] != ST_SHOWN || g->nat[e]) continue;
      int other = is_row ? g->ccnt[k] > 0 : g->rcnt[k] > 0;
      if (best == SIZE_MAX || cand_better(g, e, other, best, best_other)) best = e, best_other = other;
    }
    /* Never empty (DESIGN: a line with a suppressed entry has another
     * non-national entry). */
    if (best == SIZE_MAX) {
      tsr__free(q);
      return tsr_error_set(err, TSR_EINTERNAL, NULL, 0, 0, "suppression: line %zu has no candidate", l);
    }
    grid_suppress(g, best, ST_SECONDARY);
    /* Each line is queued at most once per time its count becomes 1, and a
     * count only grows, so the queue never holds more than nl + 1. */
    size_t r = best / g->W, c = best % g->W;
    if (g->rcnt[r] == 1) PUSH(r);
    if (g->ccnt[c] == 1) PUSH(g->H + c);
  }
#undef PUSH
  tsr__free(q);
  return 0;
}

/* The first bridge (smallest entry index) of the suppressed graph, or
 * SIZE_MAX. Scratch arrays sized by the caller: off (V+1), adj/adje (2E),
 * disc/low (V), stack nodes/edges/iters (V). */
typedef struct {
  size_t *off, *adj, *adje, *disc, *low, *sv, *se, *si;
} bridge_scratch;

static size_t first_bridge(const grid *g, bridge_scratch *s) {
  size_t V = g->H + g->W, N = g->H * g->W;
  memset(s->off, 0, (V + 1) * sizeof *s->off);
  for (size_t e = 0; e < N; e++)
    if (g->st[e] != ST_SHOWN) s->off[e / g->W + 1]++, s->off[g->H + e % g->W + 1]++;
  for (size_t v = 0; v < V; v++) s->off[v + 1] += s->off[v];
  /* fill using disc as cursors */
  for (size_t v = 0; v < V; v++) s->disc[v] = s->off[v];
  for (size_t e = 0; e < N; e++) {
    if (g->st[e] == ST_SHOWN) continue;
    size_t a = e / g->W, b = g->H + e % g->W;
    s->adj[s->disc[a]] = b, s->adje[s->disc[a]++] = e;
    s->adj[s->disc[b]] = a, s->adje[s->disc[b]++] = e;
  }
  memset(s->disc, 0, V * sizeof *s->disc);
  size_t timer = 0, best = SIZE_MAX;
  for (size_t root = 0; root < V; root++) {
    if (s->disc[root] || s->off[root] == s->off[root + 1]) continue;
    size_t sp = 0;
    s->disc[root] = s->low[root] = ++timer;
    s->sv[sp] = root, s->se[sp] = SIZE_MAX, s->si[sp] = s->off[root], sp++;
    while (sp > 0) {
      size_t v = s->sv[sp - 1];
      if (s->si[sp - 1] < s->off[v + 1]) {
        size_t it = s->si[sp - 1]++;
        size_t w = s->adj[it], e = s->adje[it];
        if (e == s->se[sp - 1]) continue;
        if (s->disc[w]) {
          if (s->disc[w] < s->low[v]) s->low[v] = s->disc[w];
        } else {
          s->disc[w] = s->low[w] = ++timer;
          s->sv[sp] = w, s->se[sp] = e, s->si[sp] = s->off[w], sp++;
        }
      } else {
        sp--;
        if (sp > 0) {
          size_t p = s->sv[sp - 1];
          if (s->low[v] < s->low[p]) s->low[p] = s->low[v];
          if (s->low[v] > s->disc[p] && s->se[sp] < best) best = s->se[sp];
        }
      }
    }
  }
  return best;
}

/* Path costs: (zeros newly suppressed, sum of count + 1 over new ones). */
typedef struct {
  uint64_t z, s;
} pcost;

static int pc_less(pcost a, pcost b) { return a.z != b.z ? a.z < b.z : a.s < b.s; }

typedef struct {
  pcost c;
  size_t node;
} hitem;

static int h_less(hitem a, hitem b) {
  if (pc_less(a.c, b.c)) return 1;
  if (pc_less(b.c, a.c)) return 0;
  return a.node < b.node;
}

static void heap_push(hitem *h, size_t *n, hitem x) {
  size_t i = (*n)++;
  while (i > 0 && h_less(x, h[(i - 1) / 2])) h[i] = h[(i - 1) / 2], i = (i - 1) / 2;
  h[i] = x;
}

static hitem heap_pop(hitem *h, size_t *n) {
  hitem top = h[0], x = h[--*n];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && h_less(h[c + 1], h[c])) c++;
    if (!h_less(h[c], x)) break;
    h[i] = h[c], i = c;
  }
  if (*n > 0) h[i] = x;
  return top;
}

/* Suppresses the cheapest path from bridge entry b's row node to its column
 * node that avoids b. Scratch: dist/done/pred sized V, heap sized H*W+V. */
static int close_bridge(grid *g, size_t b, pcost *dist, unsigned char *done, size_t *pred, hitem *heap,
                        tsr_error *err) {
  size_t V = g->H + g->W, src = b / g->W, dst = g->H + b % g->W, hn = 0;
  for (size_t v = 0; v < V; v++) dist[v].z = dist[v].s = UINT64_MAX, done[v] = 0, pred[v] = SIZE_MAX;
  dist[src].z = dist[src].s = 0;
  heap_push(heap, &hn, (hitem){dist[src], src});
  while (hn > 0) {
    hitem it = heap_pop(heap, &hn);
    size_t u = it.node;
    if (done[u]) continue;
    done[u] = 1;
    if (u == dst) break;
    int is_row = u < g->H;
    size_t n = is_row ? g->W : g->H;
    for (size_t k = 0; k < n; k++) {
      size_t e = is_row ? u * g->W + k : k * g->W + (u - g->H);
      size_t w = is_row ? g->H + k : k;
      if (e == b || g->nat[e] || done[w]) continue;
      pcost c = dist[u];
      if (g->st[e] == ST_SHOWN) {
        if (g->v[e] == 0) c.z++;
        c.s = c.s > UINT64_MAX - 1 - g->v[e] ? UINT64_MAX - 1 : c.s + g->v[e] + 1; /* saturate */
      }
      if (pc_less(c, dist[w])) {
        dist[w] = c, pred[w] = e;
        heap_push(heap, &hn, (hitem){c, w});
      }
    }
  }
  if (!done[dst])
    return tsr_error_set(err, TSR_EINTERNAL, NULL, 0, 0, "suppression: no cycle through entry (%zu, %zu)",
                         b / g->W, b % g->W);
  /* A true bridge has no path of suppressed entries around it, so the path
   * adds at least one entry; if not, the bridge finder is wrong and the loop
   * in phase_bridges would never end. */
  uint64_t before = g->secondary;
  for (size_t v = dst; v != src;) {
    size_t e = pred[v];
    if (g->st[e] == ST_SHOWN) grid_suppress(g, e, ST_SECONDARY);
    v = (v < g->H) ? g->H + e % g->W : e / g->W;
  }
  if (g->secondary == before)
    return tsr_error_set(err, TSR_EINTERNAL, NULL, 0, 0, "suppression: entry (%zu, %zu) is not a bridge",
                         b / g->W, b % g->W);
  return 0;
}

static int phase_bridges(grid *g, tsr_error *err) {
  size_t V = g->H + g->W, N = g->H * g->W;
  bridge_scratch s;
  size_t *block = tsr__malloc((V + 1 + 4 * N + 6 * V) * sizeof(size_t));
  pcost *dist = tsr__malloc(V * sizeof *dist);
  unsigned char *done = tsr__malloc(V);
  hitem *heap = tsr__malloc((N + V) * sizeof *heap);
  int rc = 0;
  if (!block || !dist || !done || !heap) {
    rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory (suppression)");
    goto out;
  }
  s.off = block;
  s.adj = s.off + V + 1;
  s.adje = s.adj + 2 * N;
  s.disc = s.adje + 2 * N;
  s.low = s.disc + V;
  s.sv = s.low + V;
  s.se = s.sv + V;
  s.si = s.se + V;
  size_t *pred = s.si + V;
  for (;;) {
    size_t b = first_bridge(g, &s);
    if (b == SIZE_MAX) break;
    rc = close_bridge(g, b, dist, done, pred, heap, err);
    if (rc < 0) break;
  }
out:
  tsr__free(block);
  tsr__free(dist);
  tsr__free(done);
  tsr__free(heap);
  return rc;
}

void tsr__sdc_shown_free(tsr__sdc_shown *s) {
  if (!s) return;
  tsr__free(s->cells);
  tsr__free(s->row_tot);
  tsr__free(s->col_tot);
  memset(s, 0, sizeof *s);
}

static int check_table(const tsr__sdc_table *t, tsr_error *err) {
  const uint64_t M = TSR__SDC_MAX_COUNT;
  TSR_RETURN_IF((t->nr * t->nc > 0 && !t->cells) || (t->nr > 0 && !t->row_tot) || (t->nc > 0 && !t->col_tot),
                err, TSR_EINVAL, "aggregate table: missing array");
  uint64_t g = 0;
  for (size_t i = 0; i < t->nr; i++) {
    uint64_t r = 0;
    for (size_t j = 0; j < t->nc; j++) {
      uint64_t v = t->cells[i * t->nc + j];
      TSR_RETURN_IF(v > M - r, err, TSR_EINVAL, "aggregate table: row %zu, column %zu: count passes %llu", i + 1,
                    j + 1, (unsigned long long)M);
      r += v;
    }
    TSR_RETURN_IF(r != t->row_tot[i], err, TSR_EINVAL,
                  "aggregate table: row %zu: row total %llu is not the sum of its cells (%llu)", i + 1,
                  (unsigned long long)t->row_tot[i], (unsigned long long)r);
    TSR_RETURN_IF(r > M - g, err, TSR_EINVAL, "aggregate table: grand total passes %llu", (unsigned long long)M);
    g += r;
  }
  for (size_t j = 0; j < t->nc; j++) {
    uint64_t c = 0;
    for (size_t i = 0; i < t->nr; i++) c += t->cells[i * t->nc + j]; /* <= g: no overflow */
    TSR_RETURN_IF(c != t->col_tot[j], err, TSR_EINVAL,
                  "aggregate table: column %zu: column total %llu is not the sum of its cells (%llu)", j + 1,
                  (unsigned long long)t->col_tot[j], (unsigned long long)c);
  }
  TSR_RETURN_IF(g != t->grand, err, TSR_EINVAL,
                "aggregate table: grand total %llu is not the sum of the cells (%llu)", (unsigned long long)t->grand,
                (unsigned long long)g);
  return 0;
}

int tsr__sdc_suppress(const tsr__sdc_table *t, tsr__sdc_shown *out, tsr_error *err) {
  memset(out, 0, sizeof *out);
  size_t nr = t->nr, nc = t->nc;
  TSR_RETURN_IF(nr >= SIZE_MAX / 64 || nc >= SIZE_MAX / 64 || (nc > 0 && nr + 1 > SIZE_MAX / 64 / (nc + 1)), err,
                TSR_ELIMIT, "aggregate table: %zu x %zu is too large", nr, nc);
  TSR_FORWARD_IF_ERROR(check_table(t, err));
  grid g = {.nr = nr, .nc = nc, .H = nr + 1, .W = nc + 1};
  size_t N = g.H * g.W;
  g.v = tsr__malloc(N * sizeof *g.v);
  g.st = tsr__calloc(N, 1);
  g.nat = tsr__calloc(N, 1);
  g.rcnt = tsr__calloc(g.H, sizeof *g.rcnt);
  g.ccnt = tsr__calloc(g.W, sizeof *g.ccnt);
  out->cells = tsr__malloc((nr * nc + 1) * sizeof *out->cells);
  out->row_tot = tsr__malloc((nr + 1) * sizeof *out->row_tot);
  out->col_tot = tsr__malloc((nc + 1) * sizeof *out->col_tot);
  int rc = 0;
  if (!g.v || !g.st || !g.nat || !g.rcnt || !g.ccnt || !out->cells || !out->row_tot || !out->col_tot) {
    rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory (suppression of a %zu x %zu table)", nr, nc);
    goto out;
  }
  for (size_t i = 0; i < nr; i++) {
    for (size_t j = 0; j < nc; j++) g.v[i * g.W + j] = t->cells[i * nc + j];
    g.v[i * g.W + nc] = t->row_tot[i];
  }
  for (size_t j = 0; j < nc; j++) g.v[nr * g.W + j] = t->col_tot[j];
  g.v[nr * g.W + nc] = t->grand;
  /* National: the grand total, and entries equal to it by shape alone. */
  g.nat[nr * g.W + nc] = 1;
  if (nr == 1)
    g.nat[0 * g.W + nc] = 1;
  if (nc == 1)
    g.nat[nr * g.W + 0] = 1;
  if (nr == 1 && nc == 1) g.nat[0] = 1;
  for (size_t e = 0; e < N; e++)
    if (!g.nat[e] && g.v[e] >= 1 && g.v[e] <= 7) grid_suppress(&g, e, ST_PRIMARY);
  uint64_t primary = 0;
  for (size_t e = 0; e < N; e++) primary += g.st[e] == ST_PRIMARY;
  if (primary > 0) {
    rc = phase_lines(&g, err);
    if (rc == 0) rc = phase_bridges(&g, err);
    if (rc < 0) goto out;
  }
#ifndef NDEBUG
  for (size_t i = 0; i < g.H; i++) assert(g.rcnt[i] != 1);
  for (size_t j = 0; j < g.W; j++) assert(g.ccnt[j] != 1);
#endif
  for (size_t i = 0; i < g.H; i++) {
    for (size_t j = 0; j < g.W; j++) {
      size_t e = i * g.W + j;
      int64_t s = g.nat[e] ? (int64_t)g.v[e] : g.st[e] != ST_SHOWN ? -1 : tsr__sdc_round5(g.v[e]);
      if (i < nr && j < nc)
        out->cells[i * nc + j] = s;
      else if (i < nr)
        out->row_tot[i] = s;
      else if (j < nc)
        out->col_tot[j] = s;
      else
        out->grand = s;
    }
  }
  out->primary = primary;
  out->secondary = g.secondary;
  out->secondary_zeros = g.secondary_zeros;
out:
  tsr__free(g.v);
  tsr__free(g.st);
  tsr__free(g.nat);
  tsr__free(g.rcnt);
  tsr__free(g.ccnt);
  return rc;
}

/* ---------------------------------------------------------------- k-anonymity */

#define KA_BUCKET_BITS 12
#define KA_BUCKETS ((size_t)1 << KA_BUCKET_BITS)
#define KA_CHUNKS 64

typedef struct {
  uint64_t h;
  uint32_t i;
} ka_pair;

static uint64_t ka_hash(const uint64_t *const *cols, size_t q, size_t i) {
  uint64_t h = 0x5344432D4B414E4Full; /* arbitrary start */
  for (size_t c = 0; c < q; c++) h = tsr__mix64(h ^ (cols[c][i] + TSR__GOLDEN * (c + 1)));
  return h;
}

static int ka_less(const uint64_t *const *cols, size_t q, ka_pair a, ka_pair b) {
  if (a.h != b.h) return a.h < b.h;
  for (size_t c = 0; c < q; c++)
    if (cols[c][a.i] != cols[c][b.i]) return cols[c][a.i] < cols[c][b.i];
  return 0;
}

static int ka_same(const uint64_t *const *cols, size_t q, ka_pair a, ka_pair b) {
  if (a.h != b.h) return 0;
  for (size_t c = 0; c < q; c++)
    if (cols[c][a.i] != cols[c][b.i]) return 0;
  return 1;
}

/* Stable bottom-up merge sort of a[0..n) by ka_less; tmp holds n. */
static void ka_sort(const uint64_t *const *cols, size_t q, ka_pair *a, ka_pair *tmp, size_t n) {
  const size_t RUN = 16;
  for (size_t s = 0; s < n; s += RUN) {
    size_t e = s + RUN < n ? s + RUN : n;
    for (size_t i = s + 1; i < e; i++) {
      ka_pair x = a[i];
      size_t j = i;
      while (j > s && ka_less(cols, q, x, a[j - 1])) a[j] = a[j - 1], j--;
      a[j] = x;
    }
  }
  ka_pair *src = a, *dst = tmp;
  for (size_t w = RUN; w < n; w *= 2) {
    for (size_t s = 0; s < n; s += 2 * w) {
      size_t m = s + w < n ? s + w : n, e = s + 2 * w < n ? s + 2 * w : n, i = s, j = m, k = s;
      while (i < m && j < e) dst[k++] = ka_less(cols, q, src[j], src[i]) ? src[j++] : src[i++];
      while (i < m) dst[k++] = src[i++];
      while (j < e) dst[k++] = src[j++];
    }
    ka_pair *x = src;
    src = dst, dst = x;
  }
  if (src != a) memcpy(a, src, n * sizeof *a);
}

int tsr__kanon_measure(const uint64_t *const *cols, size_t q, size_t n, uint32_t k, int threads,
                       tsr__kanon *out, tsr_error *err) {
  memset(out, 0, sizeof *out);
  out->records = n;
  if (n == 0) return 0;
  TSR_RETURN_IF(n >= UINT32_MAX, err, TSR_ELIMIT, "k-anonymity: %zu records (at most %u)", n, UINT32_MAX - 1);
  if (q == 0) {
    out->classes = 1, out->smallest = n;
    out->records_below_k = n < k ? n : 0;
    out->share_below_k = (double)out->records_below_k / (double)n;
    return 0;
  }
  int T = tsr__threads(threads);
  uint32_t *hist = tsr__calloc(KA_CHUNKS * KA_BUCKETS, sizeof *hist); /* [chunk][bucket] -> cursor */
  size_t *bstart = tsr__malloc((KA_BUCKETS + 1) * sizeof *bstart);
  ka_pair *pairs = tsr__malloc(n * sizeof *pairs);
  ka_pair *tmp = NULL;
  int rc = 0;
  if (!hist || !bstart || !pairs) {
    rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory (k-anonymity of %zu records)", n);
    goto out;
  }
#pragma omp parallel for num_threads(T) schedule(static)
  for (size_t c = 0; c < KA_CHUNKS; c++) {
    uint32_t *hc = hist + c * KA_BUCKETS;
    for (size_t i = n * c / KA_CHUNKS; i < n * (c + 1) / KA_CHUNKS; i++)
      hc[ka_hash(cols, q, i) >> (64 - KA_BUCKET_BITS)]++;
  }
  /* Exclusive prefix over (bucket, chunk): chunk c's records of bucket b go
   * after every earlier chunk's, so the layout is fixed by n alone. */
  size_t pos = 0, maxb = 0;
  for (size_t b = 0; b < KA_BUCKETS; b++) {
    bstart[b] = pos;
    for (size_t c = 0; c < KA_CHUNKS; c++) {
      uint32_t cnt = hist[c * KA_BUCKETS + b];
      hist[c * KA_BUCKETS + b] = (uint32_t)pos;
      pos += cnt;
    }
    if (pos - bstart[b] > maxb) maxb = pos - bstart[b];
  }
  bstart[KA_BUCKETS] = pos;
  assert(pos == n);
#pragma omp parallel for num_threads(T) schedule(static)
  for (size_t c = 0; c < KA_CHUNKS; c++) {
    uint32_t *hc = hist + c * KA_BUCKETS;
    for (size_t i = n * c / KA_CHUNKS; i < n * (c + 1) / KA_CHUNKS; i++) {
      uint64_t h = ka_hash(cols, q, i);
      pairs[hc[h >> (64 - KA_BUCKET_BITS)]++] = (ka_pair){h, (uint32_t)i};
    }
  }
  tmp = tsr__malloc((size_t)T * maxb * sizeof *tmp);
  if (!tmp) {
    rc = tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory (k-anonymity of %zu records)", n);
    goto out;
  }
  uint64_t classes = 0, below = 0, smallest = UINT64_MAX;
#pragma omp parallel num_threads(T) reduction(+ : classes, below) reduction(min : smallest)
  {
    int tid = omp_get_thread_num();
    ka_pair *mytmp = tmp + (size_t)tid * maxb;
#pragma omp for schedule(dynamic, 16)
    for (size_t b = 0; b < KA_BUCKETS; b++) {
      ka_pair *a = pairs + bstart[b];
      size_t m = bstart[b + 1] - bstart[b];
      ka_sort(cols, q, a, mytmp, m);
      for (size_t s = 0; s < m;) {
        size_t e = s + 1;
        while (e < m && ka_same(cols, q, a[s], a[e])) e++;
        uint64_t sz = e - s;
        classes++;
        if (sz < smallest) smallest = sz;
        if (sz < k) below += sz;
        s = e;
      }
    }
  }
  out->classes = classes;
  out->smallest = smallest;
  out->records_below_k = below;
  out->share_below_k = (double)below / (double)n;
out:
  tsr__free(hist);
  tsr__free(bstart);
  tsr__free(pairs);
  tsr__free(tmp);
  return rc;
}

/* ---------------------------------------------------------------- ICD-10 */

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alnum_up(char c) { return is_digit(c) || (c >= 'A' && c <= 'Z'); }
static char up(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c; }

const char *tsr__icd10_chapter(const char *code, size_t len) {
  if (!code) return NULL;
  char c[5];
  size_t m = 0;
  for (size_t i = 0; i < len; i++) {
    char x = code[i];
    if (x == '.') {
      /* one dot, right after the three-character category, with more after */
      if (i != 3 || m != 3 || i + 1 == len) return NULL;
      continue;
    }
    if (m == 5) return NULL;
    c[m++] = up(x);
  }
  if (m < 3 || !(c[0] >= 'A' && c[0] <= 'Z') || !is_digit(c[1]) || !is_digit(c[2])) return NULL;
  for (size_t i = 3; i < m; i++)
    if (!is_alnum_up(c[i])) return NULL;
  int n = (c[1] - '0') * 10 + (c[2] - '0');
  switch (c[0]) {
  case 'A':
  case 'B': return "I";
  case 'C': return "II";
  case 'D': return n <= 48 ? "II" : n >= 50 && n <= 89 ? "III" : NULL;
  case 'E': return n <= 90 ? "IV" : NULL;
  case 'F': return "V";
  case 'G': return "VI";
  case 'H': return n <= 59 ? "VII" : n <= 95 ? "VIII" : NULL;
  case 'I': return "IX";
  case 'J': return "X";
  case 'K': return "XI";
  case 'L': return "XII";
  case 'M': return "XIII";
  case 'N': return "XIV";
  case 'O': return "XV";
  case 'P': return "XVI";
  case 'Q': return "XVII";
  case 'R': return "XVIII";
  case 'S':
  case 'T': return "XIX";
  case 'V':
  case 'W':
  case 'X':
  case 'Y': return "XX";
  case 'Z': return "XXI";
  case 'U': return "XXII";
  default: return NULL;
  }
}
