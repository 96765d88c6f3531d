/* GP registrations: one gp.csv row per period a patient spends on one
 * practice's list, from the first registration to a move to a practice
 * elsewhere, a death, or the end of the data period. Each row shows the
 * patient as at the end of its period, with the street line that goes with
 * the postcode recorded; rows are staged in w->gp for the chunk's shuffle. */
#include "generate/gen_internal.h"

static void put_address(const tsr__gen_ctx *g, tsr__buf *b, const tsr__gen_addr *a) {
  if (!a) return;
  if (a->communal != TSR__K_ORDINARY) {
    const char *nm = a->communal == TSR__K_CARE_HOME ? g->t->care_homes[a->communal_idx]
                     : a->communal == TSR__K_HALL    ? g->t->halls[a->communal_idx]
                                                     : g->t->prisons[a->communal_idx];
    tsr__buf_puts(b, nm);
    return;
  }
  if (a->flat) {
    /* "Flat 3, 12 High Street" needs quoting: a real RFC 4180 case */
    tsr__buf_puts(b, "\"Flat ");
    tsr__buf_u64(b, a->flat);
    tsr__buf_puts(b, ", ");
    tsr__buf_u64(b, a->number);
    tsr__buf_putc(b, ' ');
    tsr__buf_puts(b, g->t->streets[a->street]);
    tsr__buf_putc(b, '"');
    return;
  }
  tsr__buf_u64(b, a->number);
  tsr__buf_putc(b, ' ');
  tsr__buf_puts(b, g->t->streets[a->street]);
}

/* --- GP registrations ------------------------------------------------------------------ */
void tsr__gen_gp_rows(const tsr__gen_ctx *g, tsr__gen_worker *w, uint32_t pi) {
  const tsr__gen_pat *p = &w->pat[pi];
  const tsr__gen_hh *h = &w->hh[p->hh];
  tsr__rng r;
  tsr__rng_init(&r, g->o->seed, TSR__S_GPROW, p->pid);
  /* registration periods: a new one starts at each epoch whose practice
   * differs; epochs before the first registration are skipped */
  int e0 = tsr__gen_epoch_at(h, p->reg0);
  int32_t reg = p->reg0;
  for (int e = e0; e < h->n;) {
    int f = e + 1;
    while (f < h->n && h->practice[f] == h->practice[e]) f++;
    int32_t dereg = TSR_DATE_MISSING;
    int32_t next_reg = TSR_DATE_MISSING;
    if (f < h->n) {
      next_reg = h->start[f] + (int32_t)tsr__rng_range(&r, 0, 45);
      if (next_reg <= reg) next_reg = reg + 1;
      if (next_reg > g->o->period_end) {
        /* moved, but not yet registered elsewhere by the extract date:
         * still on this practice's list */
        next_reg = TSR_DATE_MISSING;
        f = h->n;
      } else {
        dereg = next_reg;
      }
    }
    if (p->death != TSR_DATE_MISSING && (dereg == TSR_DATE_MISSING || dereg > p->death)) {
      dereg = p->death + (int32_t)tsr__rng_range(&r, 1, 30);
      if (dereg > g->o->period_end) dereg = TSR_DATE_MISSING; /* the death has not reached the list yet */
      f = h->n; /* no later registrations */
    }
    assert(dereg == TSR_DATE_MISSING || dereg > reg); /* a period is never empty */
    int32_t as_at = dereg != TSR_DATE_MISSING ? dereg - 1 : g->o->period_end;
    tsr__gen_demog o;
    tsr__gen_observe(g, w, p, as_at, TSR__SRC_GP, 1, &r, &o);
    tsr__gen_stage *s = &w->gp;
    if (tsr__gen_stage_begin_row(s, pi, 0)) {
      w->oom = 1;
      return;
    }
    tsr__buf *b = &s->text;
    tsr__buf_putc(b, ',');
    if (o.nhs) tsr__gen_put_nhs(b, o.nhs, o.nhs_spaced);
    tsr__buf_putc(b, ',');
    tsr__buf_put(b, o.given, o.given_len);
    tsr__buf_putc(b, ',');
    tsr__buf_put(b, o.family, o.family_len);
    tsr__buf_putc(b, ',');
    tsr__gen_put_date_uk(g, b, o.dob);
    tsr__buf_putc(b, ',');
    if (o.sex == 1 || o.sex == 2) tsr__buf_putc(b, o.sex == 1 ? 'M' : 'F');
    else if (o.sex == 9) tsr__buf_putc(b, 'U'); /* not known (0) is left empty */
    tsr__buf_putc(b, ',');
    tsr__buf_put(b, o.postcode, o.postcode_len);
    tsr__buf_putc(b, ',');
    /* the street address goes with the postcode recorded; a missing postcode
     * keeps the true street line */
    put_address(g, b, o.addr ? o.addr : &h->a[tsr__gen_epoch_at(h, as_at)]);
    tsr__buf_putc(b, ',');
    tsr__buf_put(b, g->t->practice_code[h->practice[e]], 6);
    tsr__buf_putc(b, ',');
    tsr__gen_put_date_uk(g, b, reg);
    tsr__buf_putc(b, ',');
    tsr__gen_put_date_uk(g, b, dereg);
    tsr__buf_putc(b, '\n');
    tsr__gen_stage_end_row(s);
    if (dereg == TSR_DATE_MISSING || f >= h->n) break;
    reg = next_reg;
    e = f;
  }
}
