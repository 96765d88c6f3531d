/* One chunk of patients, from households to the seven output buffers: the
 * population is drawn, each patient's hospital and GP records are staged,
 * the staged rows are shuffled within the chunk and written with their ids
 * (chunk * 10^6 + position + 1), and the truth files follow from where each
 * row landed: truth.csv (row to patient), truth_spells.csv (episode to spell
 * and CIPS), truth_patients.csv (true demographics) and the two opt-out
 * lists. The driver (generate.c) copies the buffers into the files in chunk
 * order. */
#include <math.h>
#include <string.h>

#include "generate/gen_internal.h"

static const char *const k_kind_name[4] = {"household", "care_home", "prison", "student_hall"};

/* --- truth and opt-out writers ------------------------------------------------------ */
static void put_truth_patient(const tsr__gen_ctx *g, tsr__gen_worker *w, const tsr__gen_pat *p, uint64_t hh_id) {
  tsr__buf *b = &w->out_tpat;
  const tsr__gen_tables *t = g->t;
  tsr__buf_u64(b, p->pid + 1);
  tsr__buf_putc(b, ',');
  tsr__gen_put_nhs(b, p->nhs, 0);
  tsr__buf_putc(b, ',');
  tsr__buf_puts(b, (p->sex == 1 ? t->male : t->female)[p->given].s);
  tsr__buf_putc(b, ',');
  tsr__buf_puts(b, t->surnames[p->maiden].s);
  tsr__buf_putc(b, ',');
  if (p->surname_change != TSR_DATE_MISSING) tsr__buf_puts(b, t->surnames[p->surname].s);
  tsr__buf_putc(b, ',');
  tsr__gen_put_date_iso(g, b, p->surname_change);
  tsr__buf_putc(b, ',');
  tsr__gen_put_date_iso(g, b, p->dob);
  tsr__buf_putc(b, ',');
  tsr__buf_putc(b, (char)('0' + p->sex));
  tsr__buf_putc(b, ',');
  tsr__buf_u64(b, hh_id);
  assert(p->kind < 4);
  tsr__buf_putc(b, ',');
  tsr__buf_puts(b, k_kind_name[p->kind]);
  tsr__buf_putc(b, ',');
  tsr__buf_putc(b, (char)('0' + p->twin));
  tsr__buf_putc(b, ',');
  tsr__buf_putc(b, (char)('0' + p->type1));
  tsr__buf_putc(b, ',');
  tsr__buf_putc(b, (char)('0' + p->ndoo));
  tsr__buf_putc(b, ',');
  tsr__gen_put_date_iso(g, b, p->death);
  tsr__buf_putc(b, '\n');
}

/* Writes the staged rows of s in a shuffled order with ids in front; returns
 * the position of each staged row in w->pos. */
static void put_optouts(tsr__gen_worker *w, const tsr__gen_pat *p) {
  if (p->type1) {
    tsr__gen_put_nhs(&w->out_opt1, p->nhs, 0);
    tsr__buf_putc(&w->out_opt1, '\n');
    w->n_opt1++;
  }
  if (p->ndoo) {
    tsr__gen_put_nhs(&w->out_opt2, p->nhs, 0);
    tsr__buf_putc(&w->out_opt2, '\n');
    w->n_opt2++;
  }
}

/* --- shuffled emission -------------------------------------------------------------- */
static void emit_shuffled(const tsr__gen_ctx *g, tsr__gen_worker *w, tsr__gen_stage *s, uint64_t chunk,
                          uint64_t stream_tag, tsr__buf *out, const char *src) {
  assert(s->n < TSR__GEN_ID_STRIDE); /* ids of one chunk never reach the next chunk's */
  if (s->n > w->cap_perm) {
    uint32_t cap = s->n * 2;
    if (tsr__gen_resize_u32(&w->perm, cap) || tsr__gen_resize_u32(&w->pos, cap)) {
      w->oom = 1;
      return;
    }
    w->cap_perm = cap;
  }
  for (uint32_t i = 0; i < s->n; i++) w->perm[i] = i;
  tsr__rng r;
  tsr__rng_init(&r, g->o->seed, TSR__S_SHUFFLE, (chunk << 1) | stream_tag);
  for (uint32_t i = s->n; i > 1; i--) {
    uint32_t j = (uint32_t)tsr__rng_below(&r, i);
    uint32_t x = w->perm[i - 1];
    w->perm[i - 1] = w->perm[j];
    w->perm[j] = x;
  }
  /* one reservation, then unchecked copies: this loop touches every row */
  size_t src_len = strlen(src);
  if (tsr__buf_reserve(out, s->text.len + (size_t)s->n * 24u) ||
      tsr__buf_reserve(&w->out_truth, (size_t)s->n * (src_len + 48u))) {
    w->oom = 1;
    return;
  }
  char *op = out->p + out->len, *tp = w->out_truth.p + w->out_truth.len;
  for (uint32_t k = 0; k < s->n; k++) {
    uint32_t i = w->perm[k];
    w->pos[i] = k;
    char id[24];
    size_t idn = tsr__fmt_u64(id, chunk * TSR__GEN_ID_STRIDE + k + 1);
    memcpy(op, id, idn);
    op += idn;
    uint32_t rl = s->off[i + 1] - s->off[i];
    memcpy(op, s->text.p + s->off[i], rl);
    op += rl;
    memcpy(tp, src, src_len);
    tp += src_len;
    memcpy(tp, id, idn);
    tp += idn;
    *tp++ = ',';
    tp += tsr__fmt_u64(tp, w->pat[s->pat[i]].pid + 1);
    *tp++ = '\n';
  }
  out->len = (size_t)(op - out->p);
  w->out_truth.len = (size_t)(tp - w->out_truth.p);
  assert(out->len <= out->cap && w->out_truth.len <= w->out_truth.cap); /* the reservations held */
}

/* --- one chunk ---------------------------------------------------------------------- */

void tsr__gen_chunk(const tsr__gen_ctx *g, tsr__gen_worker *w, uint64_t c) {
  uint64_t first = c * TSR__GEN_CHUNK, end = first + TSR__GEN_CHUNK;
  if (end > g->o->patients) end = g->o->patients;
  w->n_pat = w->n_hh = w->n_spells = 0;
  tsr__gen_stage_reset(&w->gp);
  tsr__gen_stage_reset(&w->hes);
  for (int i = 0; i < TSR__F_COUNT; i++) tsr__gen_out(w, i)->len = 0;

  tsr__rng r;
  tsr__rng_init(&r, g->o->seed, TSR__S_CHUNK, c);
  /* the chunk's quota of communal residents (randomised rounding keeps the
   * share exact on average), in groups placed in pool establishments */
  double want = TSR__GEN_P(g, POP_COMMUNAL) * (double)(end - first);
  uint32_t quota = (uint32_t)want + (tsr__rng_unit(&r) < want - floor(want) ? 1u : 0u);
  while (w->n_pat < quota) {
    uint32_t size = (uint32_t)tsr__rng_range(&r, 5, 40);
    if (size > quota - w->n_pat) size = quota - w->n_pat;
    tsr__gen_communal_group(g, w, first + w->n_pat, size, &r);
  }
  while (first + w->n_pat < end)
    tsr__gen_household(g, w, first + w->n_pat, (uint32_t)(end - first - w->n_pat), &r);
#ifndef NDEBUG
  assert(w->n_pat == end - first && w->n_hh <= w->n_pat);
  for (uint32_t i = 0; i < w->n_pat; i++) assert(w->pat[i].pid == first + i && w->pat[i].hh < w->n_hh);
#endif
  for (uint32_t i = 0; i < w->n_pat; i++) {
    tsr__gen_pat *p = &w->pat[i];
    tsr__gen_patient_attrs(g, p);
    tsr__gen_hes_rows(g, w, i); /* first: an in-hospital death ends the GP registration */
    tsr__gen_gp_rows(g, w, i);
    put_truth_patient(g, w, p, c * TSR__GEN_CHUNK + p->hh + 1);
    put_optouts(w, p);
  }
  if (w->oom) return;
  emit_shuffled(g, w, &w->gp, c, 0, &w->out_gp, "gp,");
  emit_shuffled(g, w, &w->hes, c, 1, &w->out_hes, "hes,");
  if (w->oom) return;
  /* spells: spell_id is the epikey of the spell's first episode, cips_id the
   * spell_id of the CIPS's first spell */
  for (uint32_t k = 0; k < w->hes.n; k++) {
    uint32_t i = w->perm[k];
    uint32_t sp = w->hes.spell[i];
    assert(sp < w->n_spells && w->spell_cips[sp] <= sp && w->spell_first[sp] < w->hes.n);
    uint64_t spell_id = c * TSR__GEN_ID_STRIDE + w->pos[w->spell_first[sp]] + 1;
    uint64_t cips_id = c * TSR__GEN_ID_STRIDE + w->pos[w->spell_first[w->spell_cips[sp]]] + 1;
    tsr__buf_u64(&w->out_spells, c * TSR__GEN_ID_STRIDE + k + 1);
    tsr__buf_putc(&w->out_spells, ',');
    tsr__buf_u64(&w->out_spells, spell_id);
    tsr__buf_putc(&w->out_spells, ',');
    tsr__buf_u64(&w->out_spells, cips_id);
    tsr__buf_putc(&w->out_spells, '\n');
  }
  w->n_gp += w->gp.n;
  w->n_hes += w->hes.n;
  for (int i = 0; i < TSR__F_COUNT; i++)
    if (tsr__gen_out(w, i)->oom) w->oom = 1;
}
