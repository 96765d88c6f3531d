/* The spell, CIPS and registration rules over columnar input
 * (episode_internal.h): DOMAIN.md's "Hospital episodes, spells and
 * continuous inpatient spells", on linked patient ids.
 *
 * DESIGN
 *   1. counting sort of the finished episodes by patient, and of the usable
 *      GP rows likewise (parallel, atomic cursors: the order inside a
 *      patient's slice is then fixed by step 2's sorts, whose keys end in
 *      the row);
 *   2. per patient, in parallel, inside the patient's own slot range:
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
 *   3. prefix sums of spells, CIPS and periods per patient, then a parallel
 *      copy into the final arrays. Work is split by patient and every slot
 *      belongs to one patient, so the result is the same for any thread
 *      count. */
#include <assert.h>
#include <limits.h>
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
  void *p[] = {r->spell_id,   r->cips_id,     r->spell_order, r->sp_patient,   r->sp_cips,      r->sp_first,
               r->sp_last,    r->sp_episodes, r->sp_reg,      r->ci_patient,   r->ci_admidate,  r->ci_disdate,
               r->ci_spells,  r->ci_providers, r->rg_patient, r->rg_row,       r->rg_practice,  r->rg_start,
               r->rg_end};
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) tsr__free(p[i]);
  memset(r, 0, sizeof *r);
}

/* Scratch of one run: slot arrays (see episode_internal.h). */
typedef struct scratch {
  uint64_t *off, *goff;           /* [P + 1] */
  uint32_t *idx, *gidx;           /* finished episodes / usable GP rows, by patient */
  uint32_t *s_first, *s_last, *s_cips, *s_reg; /* [nf] spell slots (positions into idx) */
  uint32_t *r_prac, *r_row;       /* [ngv] period slots */
  int32_t *r_start, *r_end;
  uint32_t *nsp, *nci, *nrg;      /* [P] */
  uint64_t *sbase, *cbase, *rbase; /* [P] */
} scratch;

static void scratch_free(scratch *s) {
  void *p[] = {s->off,   s->goff,    s->idx,   s->gidx,  s->s_first, s->s_last, s->s_cips, s->s_reg,
               s->r_prac, s->r_row,  s->r_start, s->r_end, s->nsp,   s->nci,    s->nrg,    s->sbase,
               s->cbase, s->rbase};
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) tsr__free(p[i]);
}

/* Step 2 for patient p: returns the counts of data-quality findings in q. */
typedef struct quality {
  uint64_t overlapping, after_death, disagree, no_practice, reg_overlap, reg_gaps, multi;
} quality;

static void patient_periods(const tsr__ep_input *in, scratch *S, uint64_t p, quality *q) {
  uint64_t g0 = S->goff[p], g1 = S->goff[p + 1];
  uint32_t *gi = S->gidx;
  for (uint64_t j = g0 + 1; j < g1; j++) {
    uint32_t v = gi[j];
    uint64_t k = j;
    while (k > g0 && gp_less(in, v, gi[k - 1])) {
      gi[k] = gi[k - 1];
      k--;
    }
    gi[k] = v;
  }
  uint32_t k = 0;
  for (uint64_t j = g0; j < g1; j++) {
    uint32_t r = gi[j];
    int32_t s = in->gp_start[r], e = in->gp_end[r] == TSR_DATE_NONE ? OPEN_END : in->gp_end[r];
    if (e < s) e = s; /* an end before the start: an empty period */
    uint64_t t = g0 + k - 1;
    if (k > 0 && S->r_prac[t] == in->gp_practice[r] && s <= S->r_end[t]) {
      if (e > S->r_end[t]) S->r_end[t] = e;
      continue;
    }
    t = g0 + k++;
    S->r_prac[t] = in->gp_practice[r];
    S->r_row[t] = r;
    S->r_start[t] = s;
    S->r_end[t] = e;
  }
  S->nrg[p] = k;
  int overlap = 0;
  for (uint32_t a = 0; a < k && !overlap; a++)
    for (uint32_t b = a + 1; b < k; b++) {
      uint64_t ta = g0 + a, tb = g0 + b;
      if (S->r_prac[ta] != S->r_prac[tb] && S->r_start[ta] < S->r_end[tb] && S->r_start[tb] < S->r_end[ta]) {
        overlap = 1;
        break;
      }
    }
  q->reg_overlap += (uint64_t)overlap;
  /* a gap before period b: some period starts earlier, and every period
   * starting earlier (ties by slot) ends before b starts */
  for (uint32_t b = 0; b < k; b++) {
    uint64_t tb = g0 + b;
    int before = 0, covered = 0;
    for (uint32_t a = 0; a < k; a++) {
      uint64_t ta = g0 + a;
      if (a == b) continue;
      if (S->r_start[ta] < S->r_start[tb] || (S->r_start[ta] == S->r_start[tb] && a < b)) {
        before = 1;
        if (S->r_end[ta] >= S->r_start[tb]) covered = 1;
      }
    }
    if (before && !covered) q->reg_gaps++;
  }
}

static void patient_spells(const tsr__ep_input *in, scratch *S, uint64_t p, quality *q) {
  uint64_t e0 = S->off[p], e1 = S->off[p + 1];
  uint32_t *ix = S->idx;
  for (uint64_t j = e0 + 1; j < e1; j++) {
    uint32_t v = ix[j];
    uint64_t k = j;
    while (k > e0 && ep_less(in, v, ix[k - 1])) {
      ix[k] = ix[k - 1];
      k--;
    }
    ix[k] = v;
  }
  uint32_t ns = 0;
  for (uint64_t j = e0; j < e1; j++) {
    if (j > e0 && in->provider[ix[j]] == in->provider[ix[j - 1]] && continues(in, ix[j - 1], ix[j])) {
      S->s_last[e0 + ns - 1] = (uint32_t)j;
      continue;
    }
    S->s_first[e0 + ns] = S->s_last[e0 + ns] = (uint32_t)j;
    ns++;
  }
  /* spells in id order */
  for (uint64_t j = e0 + 1; j < e0 + ns; j++) {
    uint32_t f = S->s_first[j], l = S->s_last[j];
    uint64_t k = j;
    while (k > e0 && spell_less(in, ix[f], ix[S->s_first[k - 1]])) {
      S->s_first[k] = S->s_first[k - 1];
      S->s_last[k] = S->s_last[k - 1];
      k--;
    }
    S->s_first[k] = f;
    S->s_last[k] = l;
  }
  S->nsp[p] = ns;
  /* death: the earliest in-hospital death of the patient */
  int32_t death = INT32_MAX;
  for (uint64_t j = e0; j < e1; j++) {
    uint32_t r = ix[j];
    if (!(in->flags[r] & TSR__EPF_DIED)) continue;
    int32_t d = in->disdate[r] != TSR_DATE_NONE ? in->disdate[r] : in->epiend[r];
    if (d != TSR_DATE_NONE && d < death) death = d;
  }
  if (death != INT32_MAX)
    for (uint64_t j = e0; j < e1; j++)
      if (in->epistart[ix[j]] != TSR_DATE_NONE && in->epistart[ix[j]] > death) q->after_death++;
  uint32_t c = 0;
  int32_t maxdis = TSR_DATE_NONE;
  uint64_t g0 = S->goff[p];
  for (uint32_t k = 0; k < ns; k++) {
    uint64_t t = e0 + k;
    uint32_t f = ix[S->s_first[t]], l = ix[S->s_last[t]];
    if (k > 0 && !join(in, ix[S->s_first[t - 1]], ix[S->s_last[t - 1]], f)) c++;
    S->s_cips[t] = c;
    int32_t adm = in->admidate[f];
    if (maxdis != TSR_DATE_NONE && adm != TSR_DATE_NONE && adm < maxdis) q->overlapping++;
    if (in->disdate[l] != TSR_DATE_NONE && in->disdate[l] > maxdis) maxdis = in->disdate[l];
    if (S->s_last[t] > S->s_first[t]) q->multi++;
    for (uint32_t j = S->s_first[t] + 1; j <= S->s_last[t]; j++)
      if (in->admidate[ix[j]] != adm) q->disagree++;
    uint32_t best = TSR__EP_NONE;
    if (adm != TSR_DATE_NONE)
      for (uint32_t g = 0; g < S->nrg[p]; g++) {
        uint64_t tg = g0 + g;
        if (S->r_start[tg] <= adm && adm < S->r_end[tg] &&
            (best == TSR__EP_NONE || S->r_start[tg] > S->r_start[g0 + best]))
          best = g;
      }
    S->s_reg[t] = best;
    if (in->have_gp && best == TSR__EP_NONE) q->no_practice++;
  }
  S->nci[p] = ns ? c + 1 : 0;
}

static void patient_copy(const tsr__ep_input *in, const scratch *S, uint64_t p, tsr__ep_result *R) {
  uint64_t e0 = S->off[p], g0 = S->goff[p];
  const uint32_t *ix = S->idx;
  for (uint32_t k = 0; k < S->nsp[p]; k++) {
    uint64_t t = e0 + k, si = S->sbase[p] + k, ci = S->cbase[p] + S->s_cips[t];
    uint32_t f = ix[S->s_first[t]], l = ix[S->s_last[t]];
    R->sp_patient[si] = (int64_t)p + 1;
    R->sp_cips[si] = (int64_t)ci + 1;
    R->sp_first[si] = f;
    R->sp_last[si] = l;
    R->sp_episodes[si] = (int32_t)(S->s_last[t] - S->s_first[t] + 1);
    R->sp_reg[si] = S->s_reg[t] == TSR__EP_NONE ? TSR__EP_NONE : (uint32_t)(S->rbase[p] + S->s_reg[t]);
    for (uint32_t j = S->s_first[t]; j <= S->s_last[t]; j++) {
      R->spell_id[ix[j]] = (int64_t)si + 1;
      R->cips_id[ix[j]] = (int64_t)ci + 1;
      R->spell_order[ix[j]] = (int32_t)(j - S->s_first[t] + 1);
    }
    int first_of_cips = k == 0 || S->s_cips[t - 1] != S->s_cips[t];
    if (first_of_cips) {
      R->ci_patient[ci] = (int64_t)p + 1;
      R->ci_admidate[ci] = in->admidate[f];
      R->ci_disdate[ci] = TSR_DATE_NONE;
      R->ci_spells[ci] = 0;
      R->ci_providers[ci] = 0;
    }
    R->ci_spells[ci]++;
    if (in->disdate[l] != TSR_DATE_NONE && (R->ci_disdate[ci] == TSR_DATE_NONE || in->disdate[l] > R->ci_disdate[ci]))
      R->ci_disdate[ci] = in->disdate[l];
    int seen = 0;
    for (uint32_t k2 = k; k2-- > 0 && S->s_cips[e0 + k2] == S->s_cips[t];)
      if (in->provider[ix[S->s_first[e0 + k2]]] == in->provider[f]) seen = 1;
    if (!seen) R->ci_providers[ci]++;
  }
  for (uint32_t g = 0; g < S->nrg[p]; g++) {
    uint64_t t = g0 + g, ri = S->rbase[p] + g;
    R->rg_patient[ri] = (int64_t)p + 1;
    R->rg_row[ri] = S->r_row[t];
    R->rg_practice[ri] = S->r_prac[t];
    R->rg_start[ri] = S->r_start[t];
    R->rg_end[ri] = S->r_end[t] == OPEN_END ? TSR_DATE_NONE : S->r_end[t];
  }
}

#define ALLOC(ptr, count) (((ptr) = tsr__malloc(((count) ? (count) : 1) * sizeof *(ptr))) == NULL)

int tsr__ep_run(const tsr__ep_input *in, tsr__ep_result *R) {
  memset(R, 0, sizeof *R);
  scratch S;
  memset(&S, 0, sizeof S);
  const uint64_t n = in->n, P = in->npatients;
  int threads = tsr__threads(in->threads);
  int rc = TSR_ENOMEM;
  if (ALLOC(R->spell_id, n) || ALLOC(R->cips_id, n) || ALLOC(R->spell_order, n)) goto done;
  if (!(S.off = tsr__calloc(P + 2, sizeof *S.off)) || !(S.goff = tsr__calloc(P + 2, sizeof *S.goff))) goto done;
  /* 1. counting sorts. Threads take cursors atomically, so the order inside
   * a patient's slice depends on timing; step 2 sorts each slice by keys
   * that end in the row, which makes the result independent of it. */
  uint64_t nf = 0, ngv = 0;
  int64_t sn = (int64_t)n, sg = (int64_t)in->ngp;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : nf)
  for (int64_t i = 0; i < sn; i++) {
    R->spell_id[i] = R->cips_id[i] = 0;
    R->spell_order[i] = 0;
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
  if (ALLOC(S.idx, nf) || ALLOC(S.gidx, ngv) || ALLOC(S.s_first, nf) || ALLOC(S.s_last, nf) || ALLOC(S.s_cips, nf) ||
      ALLOC(S.s_reg, nf) || ALLOC(S.r_prac, ngv) || ALLOC(S.r_row, ngv) || ALLOC(S.r_start, ngv) ||
      ALLOC(S.r_end, ngv) || ALLOC(S.nsp, P) || ALLOC(S.nci, P) || ALLOC(S.nrg, P) || ALLOC(S.sbase, P + 1) ||
      ALLOC(S.cbase, P + 1) || ALLOC(S.rbase, P + 1))
    goto done;
  /* off[j] is the start of patient j - 1 (0-based), that is of patient id
   * j: the fill cursor of id j */
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < sn; i++)
    if (in->flags[i] & TSR__EPF_FINISHED) {
      uint64_t at;
#pragma omp atomic capture
      at = S.off[in->pid[i]]++;
      S.idx[at] = (uint32_t)i;
    }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < sg; i++)
    if (in->gp_practice[i] && in->gp_start[i] != TSR_DATE_NONE) {
      uint64_t at;
#pragma omp atomic capture
      at = S.goff[in->gp_pid[i]]++;
      S.gidx[at] = (uint32_t)i;
    }
  /* each cursor off[p + 1] ran to the end of patient p, the start of p + 1:
   * off[p] is now the start of patient p (0-based) */
  assert(S.off[P] == nf && S.goff[P] == ngv);
  /* 2. per patient */
  int64_t sP = (int64_t)P;
  uint64_t q_ov = 0, q_dead = 0, q_dis = 0, q_nop = 0, q_rov = 0, q_gap = 0, q_multi = 0;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 8192) \
    reduction(+ : q_ov, q_dead, q_dis, q_nop, q_rov, q_gap, q_multi)
  for (int64_t p = 0; p < sP; p++) {
    quality lq = {0, 0, 0, 0, 0, 0, 0};
    patient_periods(in, &S, (uint64_t)p, &lq);
    patient_spells(in, &S, (uint64_t)p, &lq);
    q_ov += lq.overlapping;
    q_dead += lq.after_death;
    q_dis += lq.disagree;
    q_nop += lq.no_practice;
    q_rov += lq.reg_overlap;
    q_gap += lq.reg_gaps;
    q_multi += lq.multi;
  }
  /* 3. prefix sums, then the copy */
  uint64_t ts = 0, tc = 0, tr = 0;
  for (uint64_t p = 0; p < P; p++) {
    S.sbase[p] = ts;
    S.cbase[p] = tc;
    S.rbase[p] = tr;
    ts += S.nsp[p];
    tc += S.nci[p];
    tr += S.nrg[p];
  }
  R->nspells = ts;
  R->ncips = tc;
  R->nregs = tr;
  if (ALLOC(R->sp_patient, ts) || ALLOC(R->sp_cips, ts) || ALLOC(R->sp_first, ts) || ALLOC(R->sp_last, ts) ||
      ALLOC(R->sp_episodes, ts) || ALLOC(R->sp_reg, ts) || ALLOC(R->ci_patient, tc) || ALLOC(R->ci_admidate, tc) ||
      ALLOC(R->ci_disdate, tc) || ALLOC(R->ci_spells, tc) || ALLOC(R->ci_providers, tc) || ALLOC(R->rg_patient, tr) ||
      ALLOC(R->rg_row, tr) || ALLOC(R->rg_practice, tr) || ALLOC(R->rg_start, tr) || ALLOC(R->rg_end, tr))
    goto done;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 8192)
  for (int64_t p = 0; p < sP; p++) patient_copy(in, &S, (uint64_t)p, R);
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
  scratch_free(&S);
  return rc;
}
