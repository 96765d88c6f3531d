/* The spell, CIPS and registration rules over columnar input
 * (episode_internal.h): DOMAIN.md's "Hospital episodes, spells and
 * continuous inpatient spells", on linked patient ids.
 *
 * DESIGN
 *   1. counting sort of the finished episodes by patient, and of the usable
 *      GP rows likewise (parallel, atomic cursors: the order inside a
 *      patient's slice is then fixed by step 2's sorts, whose keys end in
 *      the row);
 *   2. per patient, in parallel, in thread-local scratch:
 *        episodes sorted by (provider, start, end, order, row);
 *        spells: an episode continues the spell of the previous episode at
 *          the same provider on the same admission date, the same start, or
 *          when the previous discharge method is 8/9 and start == previous
 *          end; spells are contiguous in that order;
 *        spells sorted by (admission date, provider text, first row): the
 *          spell id order of spells.parquet;
 *        CIPS: a spell joins the previous spell's CIPS when the gap from the
 *          previous spell's discharge to this admission is in the rule's
 *          window and the pair is a transfer (see join());
 *        registration periods: (practice, start, end) sorted, merged when
 *          they overlap or touch (start <= end). The end is the
 *          deregistration date, the first day NOT registered, so a move
 *          (deregistered and registered elsewhere on one day) is neither an
 *          overlap nor a gap; a period covers [start, end). The practice of a
 *          spell is the period covering its admission date that started last
 *          (on a tie, the first practice in text order);
 *   3. patients are cut into fixed chunks of CHUNK: a first pass does step 2
 *      and counts each chunk's spells, CIPS and periods (and the data-quality
 *      findings); prefix sums over the chunks give each chunk its place; a
 *      second pass does step 2 again (the slices are sorted by then, so it
 *      is linear) and writes the results. The chunks are fixed and every
 *      output belongs to one chunk, so the result is the same for any thread
 *      count.
 *
 *   Memory is the cost here: every result byte is fresh memory whose first
 *   touch the kernel must zero (about 0.5 s per GB on the test VM), so the
 *   result keeps only what cannot be derived (episode_internal.h) and the
 *   scratch is per thread, sized to the largest patient. */
#include <assert.h>
#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_internal.h"
#include "episode/episode_internal.h"
#include "tessera/store.h"

#define OPEN_END INT32_MAX

/* Episode keys in order: two all-digit keys as numbers (leading zeros
 * aside), otherwise as bytes; < 0, 0, > 0. */
static int key_cmp(tsr_view x, tsr_view y) {
  int dx = x.len > 0, dy = y.len > 0;
  for (uint32_t i = 0; i < x.len && dx; i++) dx = x.ptr[i] >= '0' && x.ptr[i] <= '9';
  for (uint32_t i = 0; i < y.len && dy; i++) dy = y.ptr[i] >= '0' && y.ptr[i] <= '9';
  if (dx && dy) {
    while (x.len > 1 && x.ptr[0] == '0') x.ptr++, x.len--;
    while (y.len > 1 && y.ptr[0] == '0') y.ptr++, y.len--;
    if (x.len != y.len) return x.len < y.len ? -1 : 1;
  }
  uint32_t m = x.len < y.len ? x.len : y.len;
  int c = memcmp(x.ptr, y.ptr, m);
  return c ? c : x.len < y.len ? -1 : x.len > y.len;
}

static int ep_less(const tsr__ep_input *in, uint32_t a, uint32_t b) {
  if (in->provider[a] != in->provider[b]) return in->provider[a] < in->provider[b];
  if (in->epistart[a] != in->epistart[b]) return in->epistart[a] < in->epistart[b];
  if (in->epiend[a] != in->epiend[b]) return in->epiend[a] < in->epiend[b];
  if (in->epiorder[a] != in->epiorder[b]) return in->epiorder[a] < in->epiorder[b];
  if (in->keys) {
    int c = key_cmp(tsr_store_id(in->keys, a), tsr_store_id(in->keys, b));
    if (c) return c < 0;
  }
  return a < b;
}

static int continues(const tsr__ep_input *in, uint32_t prev, uint32_t r) {
  if (in->admidate[r] != TSR_DATE_NONE && in->admidate[r] == in->admidate[prev]) return 1;
  if (in->epistart[r] != TSR_DATE_NONE && in->epistart[r] == in->epistart[prev]) return 1;
  return (in->flags[prev] & TSR__EPF_CONT) && in->epistart[r] != TSR_DATE_NONE && in->epistart[r] == in->epiend[prev];
}

/* Whether spell `first` (its first episode row) joins the CIPS of the spell
 * whose first and last episode rows are pfirst, plast. */
static int join(const tsr__ep_input *in, uint32_t pfirst, uint32_t plast, uint32_t first) {
  int32_t dis = in->disdate[plast], adm = in->admidate[first];
  if (dis == TSR_DATE_NONE || adm == TSR_DATE_NONE) return 0;
  int64_t gap = (int64_t)adm - dis;
  uint16_t pf = in->flags[plast], f = in->flags[first];
  if (in->cips == TSR_CIPS_UKHSA) {
    if ((in->flags[pfirst] | f) & TSR__EPF_REGULAR) return 0;
    return gap >= 0 && gap <= 2 && ((pf & TSR__EPF_U_DEST) || (f & (TSR__EPF_U_SRC | TSR__EPF_TRANSFER)));
  }
  return gap >= 0 && gap <= 3 && ((pf & TSR__EPF_H_DEST) || (f & (TSR__EPF_H_SRC | TSR__EPF_TRANSFER)));
}

static int spell_less(const tsr__ep_input *in, uint32_t fa, uint32_t fb) {
  if (in->admidate[fa] != in->admidate[fb]) return in->admidate[fa] < in->admidate[fb];
  if (in->provider[fa] != in->provider[fb]) return in->provider[fa] < in->provider[fb];
  return fa < fb;
}

static int gp_less(const tsr__ep_input *in, uint32_t a, uint32_t b) {
  if (in->gp_practice[a] != in->gp_practice[b]) return in->gp_practice[a] < in->gp_practice[b];
  if (in->gp_start[a] != in->gp_start[b]) return in->gp_start[a] < in->gp_start[b];
  int32_t ea = in->gp_end[a] == TSR_DATE_NONE ? OPEN_END : in->gp_end[a];
  int32_t eb = in->gp_end[b] == TSR_DATE_NONE ? OPEN_END : in->gp_end[b];
  if (ea != eb) return ea < eb;
  return a < b;
}

void tsr__ep_result_free(tsr__ep_result *r) {
  if (!r) return;
  void *p[] = {r->ep_spell, r->ep_order,   r->sp_first,     r->sp_last, r->sp_cips, r->sp_episodes, r->sp_reg,
               r->ci_first, r->ci_disdate, r->ci_providers, r->rg_row,  r->rg_start, r->rg_end};
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) tsr__free(p[i]);
  memset(r, 0, sizeof *r);
}

#define CHUNK 4096
#define INSERTION_MAX 24

/* Per-thread scratch for one patient, grown to the largest patient seen. */
typedef struct local {
  size_t cap, gcap, tcap;
  uint32_t *tmp;                       /* [tcap] merge sort */
  uint32_t *s_first, *s_last, *s_cips, *s_reg; /* [cap] spells: positions into the patient's slice */
  uint32_t *r_prac, *r_row;            /* [gcap] periods */
  int32_t *r_start, *r_end;
  uint32_t ns, nc, nr;                 /* spells, CIPS, periods of the patient */
  int oom;
} local;

static void local_free(local *L) {
  void *p[] = {L->tmp, L->s_first, L->s_last, L->s_cips, L->s_reg, L->r_prac, L->r_row, L->r_start, L->r_end};
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) tsr__free(p[i]);
  memset(L, 0, sizeof *L);
}

static int grow_u32(uint32_t **p, size_t n) {
  void *q = tsr__realloc(*p, n * sizeof **p);
  if (!q) return -1;
  *p = q;
  return 0;
}
static int grow_i32(int32_t **p, size_t n) {
  void *q = tsr__realloc(*p, n * sizeof **p);
  if (!q) return -1;
  *p = q;
  return 0;
}

static int local_reserve(local *L, size_t ne, size_t ng) {
  if (ne > L->cap) {
    size_t c = L->cap ? L->cap : 64;
    while (c < ne) c *= 2;
    if (grow_u32(&L->s_first, c) || grow_u32(&L->s_last, c) || grow_u32(&L->s_cips, c) || grow_u32(&L->s_reg, c))
      return -1;
    L->cap = c;
  }
  if (ng > L->gcap) {
    size_t c = L->gcap ? L->gcap : 16;
    while (c < ng) c *= 2;
    if (grow_u32(&L->r_prac, c) || grow_u32(&L->r_row, c) || grow_i32(&L->r_start, c) || grow_i32(&L->r_end, c))
      return -1;
    L->gcap = c;
  }
  size_t t = L->cap > L->gcap ? L->cap : L->gcap;
  if (t > L->tcap) {
    if (grow_u32(&L->tmp, t)) return -1;
    L->tcap = t;
  }
  return 0;
}

/* Sorts a[0..n) by less(): insertion sort for short (or already sorted)
 * slices, a merge sort through tmp otherwise. The keys end in the row, so
 * the order is total and any correct sort gives the same result. */
typedef int (*less_fn)(const tsr__ep_input *, uint32_t, uint32_t);

static void sort_rows(const tsr__ep_input *in, uint32_t *a, size_t n, uint32_t *tmp, less_fn less) {
  if (n <= INSERTION_MAX) {
    for (size_t j = 1; j < n; j++) {
      uint32_t v = a[j];
      size_t k = j;
      while (k > 0 && less(in, v, a[k - 1])) {
        a[k] = a[k - 1];
        k--;
      }
      a[k] = v;
    }
    return;
  }
  size_t sorted = 1;
  while (sorted < n && !less(in, a[sorted], a[sorted - 1])) sorted++;
  if (sorted == n) return;
  size_t h = n / 2;
  sort_rows(in, a, h, tmp, less);
  sort_rows(in, a + h, n - h, tmp, less);
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = less(in, a[j], a[i]) ? a[j++] : a[i++];
  while (i < h) tmp[k++] = a[i++];
  while (j < n) tmp[k++] = a[j++];
  memcpy(a, tmp, n * sizeof *a);
}

typedef struct quality {
  uint64_t overlapping, after_death, disagree, no_practice, reg_overlap, reg_gaps, multi;
} quality;

typedef struct scratch {
  uint32_t *off, *goff; /* [P + 2] */
  uint32_t *idx, *gidx; /* finished episodes / usable GP rows, by patient */
} scratch;

static void patient_periods(const tsr__ep_input *in, const scratch *S, local *L, uint64_t p, quality *q) {
  uint32_t g0 = S->goff[p], g1 = S->goff[p + 1];
  uint32_t *gi = S->gidx + g0;
  sort_rows(in, gi, g1 - g0, L->tmp, gp_less);
  uint32_t k = 0;
  for (uint32_t j = 0; j < g1 - g0; j++) {
    uint32_t r = gi[j];
    int32_t s = in->gp_start[r], e = in->gp_end[r] == TSR_DATE_NONE ? OPEN_END : in->gp_end[r];
    if (e < s) e = s; /* an end before the start: an empty period */
    if (k > 0 && L->r_prac[k - 1] == in->gp_practice[r] && s <= L->r_end[k - 1]) {
      if (e > L->r_end[k - 1]) L->r_end[k - 1] = e;
      continue;
    }
    L->r_prac[k] = in->gp_practice[r];
    L->r_row[k] = r;
    L->r_start[k] = s;
    L->r_end[k] = e;
    k++;
  }
  L->nr = k;
  if (!q) return;
  int overlap = 0;
  for (uint32_t a = 0; a < k && !overlap; a++)
    for (uint32_t b = a + 1; b < k; b++)
      if (L->r_prac[a] != L->r_prac[b] && L->r_start[a] < L->r_end[b] && L->r_start[b] < L->r_end[a]) {
        overlap = 1;
        break;
      }
  q->reg_overlap += (uint64_t)overlap;
  /* a gap before period b: some period starts earlier, and every period
   * starting earlier (ties by slot) ends before b starts */
  for (uint32_t b = 0; b < k; b++) {
    int before = 0, covered = 0;
    for (uint32_t a = 0; a < k; a++) {
      if (a == b) continue;
      if (L->r_start[a] < L->r_start[b] || (L->r_start[a] == L->r_start[b] && a < b)) {
        before = 1;
        if (L->r_end[a] >= L->r_start[b]) covered = 1;
      }
    }
    if (before && !covered) q->reg_gaps++;
  }
}

/* Spells of patient p into L (positions into the patient's slice of idx),
 * in spell id order, with their CIPS number and period; q (first pass
 * only) collects the findings. */
static void patient_spells(const tsr__ep_input *in, const scratch *S, local *L, uint64_t p, quality *q) {
  uint32_t e0 = S->off[p], e1 = S->off[p + 1], n = e1 - e0;
  uint32_t *ix = S->idx + e0;
  sort_rows(in, ix, n, L->tmp, ep_less);
  uint32_t ns = 0;
  for (uint32_t j = 0; j < n; j++) {
    if (j > 0 && in->provider[ix[j]] == in->provider[ix[j - 1]] && continues(in, ix[j - 1], ix[j])) {
      L->s_last[ns - 1] = j;
      continue;
    }
    L->s_first[ns] = L->s_last[ns] = j;
    ns++;
  }
  /* spells in id order (insertion: a patient's spells are few and mostly
   * in order already) */
  for (uint32_t j = 1; j < ns; j++) {
    uint32_t f = L->s_first[j], l = L->s_last[j];
    uint32_t k = j;
    while (k > 0 && spell_less(in, ix[f], ix[L->s_first[k - 1]])) {
      L->s_first[k] = L->s_first[k - 1];
      L->s_last[k] = L->s_last[k - 1];
      k--;
    }
    L->s_first[k] = f;
    L->s_last[k] = l;
  }
  L->ns = ns;
  if (q) {
    /* death: the earliest in-hospital death of the patient */
    int32_t death = INT32_MAX;
    for (uint32_t j = 0; j < n; j++) {
      uint32_t r = ix[j];
      if (!(in->flags[r] & TSR__EPF_DIED)) continue;
      int32_t d = in->disdate[r] != TSR_DATE_NONE ? in->disdate[r] : in->epiend[r];
      if (d != TSR_DATE_NONE && d < death) death = d;
    }
    if (death != INT32_MAX)
      for (uint32_t j = 0; j < n; j++)
        if (in->epistart[ix[j]] != TSR_DATE_NONE && in->epistart[ix[j]] > death) q->after_death++;
  }
  uint32_t c = 0;
  int32_t maxdis = TSR_DATE_NONE;
  for (uint32_t k = 0; k < ns; k++) {
    uint32_t f = ix[L->s_first[k]], l = ix[L->s_last[k]];
    if (k > 0 && !join(in, ix[L->s_first[k - 1]], ix[L->s_last[k - 1]], f)) c++;
    L->s_cips[k] = c;
    int32_t adm = in->admidate[f];
    uint32_t best = TSR__EP_NONE;
    if (adm != TSR_DATE_NONE)
      for (uint32_t g = 0; g < L->nr; g++)
        if (L->r_start[g] <= adm && adm < L->r_end[g] && (best == TSR__EP_NONE || L->r_start[g] > L->r_start[best]))
          best = g;
    L->s_reg[k] = best;
    if (!q) continue;
    if (maxdis != TSR_DATE_NONE && adm != TSR_DATE_NONE && adm < maxdis) q->overlapping++;
    if (in->disdate[l] != TSR_DATE_NONE && in->disdate[l] > maxdis) maxdis = in->disdate[l];
    if (L->s_last[k] > L->s_first[k]) q->multi++;
    for (uint32_t j = L->s_first[k] + 1; j <= L->s_last[k]; j++)
      if (in->admidate[ix[j]] != adm) q->disagree++;
    if (in->have_gp && best == TSR__EP_NONE) q->no_practice++;
  }
  L->nc = ns ? c + 1 : 0;
}

/* Writes patient p's spells, CIPS and periods at bases sb, cb, rb. */
static void patient_emit(const tsr__ep_input *in, const scratch *S, const local *L, uint64_t p, uint64_t sb,
                         uint64_t cb, uint64_t rb, tsr__ep_result *R) {
  const uint32_t *ix = S->idx + S->off[p];
  for (uint32_t k = 0; k < L->ns; k++) {
    uint64_t si = sb + k, ci = cb + L->s_cips[k];
    uint32_t f = ix[L->s_first[k]], l = ix[L->s_last[k]];
    R->sp_first[si] = f;
    R->sp_last[si] = l;
    R->sp_cips[si] = (uint32_t)ci;
    R->sp_episodes[si] = L->s_last[k] - L->s_first[k] + 1;
    R->sp_reg[si] = L->s_reg[k] == TSR__EP_NONE ? TSR__EP_NONE : (uint32_t)(rb + L->s_reg[k]);
    for (uint32_t j = L->s_first[k]; j <= L->s_last[k]; j++) {
      R->ep_spell[ix[j]] = (uint32_t)si + 1;
      R->ep_order[ix[j]] = j - L->s_first[k] + 1;
    }
    if (k == 0 || L->s_cips[k - 1] != L->s_cips[k]) {
      R->ci_first[ci] = (uint32_t)si;
      R->ci_disdate[ci] = TSR_DATE_NONE;
      R->ci_providers[ci] = 0;
    }
    if (in->disdate[l] != TSR_DATE_NONE && (R->ci_disdate[ci] == TSR_DATE_NONE || in->disdate[l] > R->ci_disdate[ci]))
      R->ci_disdate[ci] = in->disdate[l];
    int seen = 0;
    for (uint32_t k2 = k; k2-- > 0 && L->s_cips[k2] == L->s_cips[k];)
      if (in->provider[ix[L->s_first[k2]]] == in->provider[f]) seen = 1;
    if (!seen) R->ci_providers[ci]++;
  }
  for (uint32_t g = 0; g < L->nr; g++) {
    uint64_t ri = rb + g;
    R->rg_row[ri] = L->r_row[g];
    R->rg_start[ri] = L->r_start[g];
    R->rg_end[ri] = L->r_end[g] == OPEN_END ? TSR_DATE_NONE : L->r_end[g];
  }
}

#define ALLOC(ptr, count) (((ptr) = tsr__malloc(((count) ? (count) : 1) * sizeof *(ptr))) == NULL)

int tsr__ep_run(const tsr__ep_input *in, tsr__ep_result *R) {
  memset(R, 0, sizeof *R);
  R->in = *in;
  scratch S;
  memset(&S, 0, sizeof S);
  const uint64_t n = in->n, P = in->npatients;
  if (n >= UINT32_MAX || in->ngp >= UINT32_MAX || P >= UINT32_MAX) return TSR_ELIMIT;
  int threads = tsr__threads(in->threads);
  const uint64_t nchunks = (P + CHUNK - 1) / CHUNK;
  uint64_t *cs = NULL, *cc = NULL, *cr = NULL;
  local *TL = NULL;
  int rc = TSR_ENOMEM;
  if (ALLOC(R->ep_spell, n) || ALLOC(R->ep_order, n)) goto done;
  if (!(S.off = tsr__calloc(P + 2, sizeof *S.off)) || !(S.goff = tsr__calloc(P + 2, sizeof *S.goff))) goto done;
  if (!(cs = tsr__calloc(nchunks + 1, sizeof *cs)) || !(cc = tsr__calloc(nchunks + 1, sizeof *cc)) ||
      !(cr = tsr__calloc(nchunks + 1, sizeof *cr)) || !(TL = tsr__calloc((size_t)threads, sizeof *TL)))
    goto done;
  /* 1. counting sorts. Threads take cursors atomically, so the order inside
   * a patient's slice depends on timing; step 2 sorts each slice by keys
   * that end in the row, which makes the result independent of it. */
  uint64_t nf = 0, ngv = 0;
  int64_t sn = (int64_t)n, sg = (int64_t)in->ngp;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : nf)
  for (int64_t i = 0; i < sn; i++) {
    R->ep_spell[i] = R->ep_order[i] = 0;
    if (in->flags[i] & TSR__EPF_FINISHED) {
      assert(in->pid[i] >= 1 && (uint64_t)in->pid[i] <= P);
#pragma omp atomic
      S.off[in->pid[i] + 1]++;
      nf++;
    }
  }
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : ngv)
  for (int64_t i = 0; i < sg; i++)
    if (in->gp_practice[i] && in->gp_start[i] != TSR_DATE_NONE) {
#pragma omp atomic
      S.goff[in->gp_pid[i] + 1]++;
      ngv++;
    }
  R->st.episodes = n;
  R->st.finished = nf;
  R->st.unfinished = n - nf;
  R->st.registrations_skipped = in->ngp - ngv;
  for (uint64_t p = 1; p <= P + 1; p++) {
    S.off[p] += S.off[p - 1];
    S.goff[p] += S.goff[p - 1];
  }
  if (ALLOC(S.idx, nf) || ALLOC(S.gidx, ngv)) goto done;
  /* off[j] is the start of patient j - 1 (0-based), that is of patient id
   * j: the fill cursor of id j */
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < sn; i++)
    if (in->flags[i] & TSR__EPF_FINISHED) {
      uint32_t at;
#pragma omp atomic capture
      at = S.off[in->pid[i]]++;
      S.idx[at] = (uint32_t)i;
    }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < sg; i++)
    if (in->gp_practice[i] && in->gp_start[i] != TSR_DATE_NONE) {
      uint32_t at;
#pragma omp atomic capture
      at = S.goff[in->gp_pid[i]]++;
      S.gidx[at] = (uint32_t)i;
    }
  /* each cursor off[p + 1] ran to the end of patient p, the start of p + 1:
   * off[p] is now the start of patient p (0-based) */
  assert(S.off[P] == nf && S.goff[P] == ngv);
  /* 2. first pass: counts per chunk and the findings */
  int64_t sc = (int64_t)nchunks;
  int oom = 0;
  uint64_t q_ov = 0, q_dead = 0, q_dis = 0, q_nop = 0, q_rov = 0, q_gap = 0, q_multi = 0;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) reduction(+ : q_ov, q_dead, q_dis, q_nop, q_rov, q_gap, q_multi) reduction(| : oom)
  for (int64_t ch = 0; ch < sc; ch++) {
    local *L = &TL[omp_get_thread_num()];
    quality lq = {0, 0, 0, 0, 0, 0, 0};
    uint64_t p1 = (uint64_t)(ch + 1) * CHUNK < P ? (uint64_t)(ch + 1) * CHUNK : P;
    uint64_t ns = 0, nc = 0, nr = 0;
    for (uint64_t p = (uint64_t)ch * CHUNK; p < p1 && !oom; p++) {
      if (local_reserve(L, S.off[p + 1] - S.off[p], S.goff[p + 1] - S.goff[p])) {
        oom = 1;
        break;
      }
      patient_periods(in, &S, L, p, &lq);
      patient_spells(in, &S, L, p, &lq);
      ns += L->ns;
      nc += L->nc;
      nr += L->nr;
    }
    cs[ch + 1] = ns;
    cc[ch + 1] = nc;
    cr[ch + 1] = nr;
    q_ov += lq.overlapping;
    q_dead += lq.after_death;
    q_dis += lq.disagree;
    q_nop += lq.no_practice;
    q_rov += lq.reg_overlap;
    q_gap += lq.reg_gaps;
    q_multi += lq.multi;
  }
  if (oom) goto done;
  for (uint64_t ch = 1; ch <= nchunks; ch++) {
    cs[ch] += cs[ch - 1];
    cc[ch] += cc[ch - 1];
    cr[ch] += cr[ch - 1];
  }
  uint64_t ts = cs[nchunks], tc = cc[nchunks], tr = cr[nchunks];
  R->nspells = ts;
  R->ncips = tc;
  R->nregs = tr;
  if (ALLOC(R->sp_first, ts) || ALLOC(R->sp_last, ts) || ALLOC(R->sp_cips, ts) || ALLOC(R->sp_episodes, ts) ||
      ALLOC(R->sp_reg, ts) || ALLOC(R->ci_first, tc + 1) || ALLOC(R->ci_disdate, tc) || ALLOC(R->ci_providers, tc) ||
      ALLOC(R->rg_row, tr) || ALLOC(R->rg_start, tr) || ALLOC(R->rg_end, tr))
    goto done;
  R->ci_first[tc] = (uint32_t)ts;
  /* 3. second pass: the same per patient (now linear: the slices are
   * sorted), written at the chunk's place */
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) reduction(| : oom)
  for (int64_t ch = 0; ch < sc; ch++) {
    local *L = &TL[omp_get_thread_num()];
    uint64_t sb = cs[ch], cb = cc[ch], rb = cr[ch];
    uint64_t p1 = (uint64_t)(ch + 1) * CHUNK < P ? (uint64_t)(ch + 1) * CHUNK : P;
    for (uint64_t p = (uint64_t)ch * CHUNK; p < p1 && !oom; p++) {
      /* another thread may have had this chunk in the first pass */
      if (local_reserve(L, S.off[p + 1] - S.off[p], S.goff[p + 1] - S.goff[p])) {
        oom = 1;
        break;
      }
      patient_periods(in, &S, L, p, NULL);
      patient_spells(in, &S, L, p, NULL);
      patient_emit(in, &S, L, p, sb, cb, rb, R);
      sb += L->ns;
      cb += L->nc;
      rb += L->nr;
    }
  }
  if (oom) goto done;
  R->st.spells = ts;
  R->st.cips = tc;
  R->st.registrations = tr;
  R->st.multi_episode_spells = q_multi;
  R->st.overlapping_spells = q_ov;
  R->st.episodes_after_death = q_dead;
  R->st.admidate_disagrees = q_dis;
  R->st.spells_without_practice = q_nop;
  R->st.registration_overlaps = q_rov;
  R->st.registration_gaps = q_gap;
  rc = 0;
done:
  if (TL)
    for (int t = 0; t < threads; t++) local_free(&TL[t]);
  tsr__free(TL);
  tsr__free(cs);
  tsr__free(cc);
  tsr__free(cr);
  tsr__free(S.off);
  tsr__free(S.goff);
  tsr__free(S.idx);
  tsr__free(S.gidx);
  return rc;
}
