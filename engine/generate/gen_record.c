/* One record as a source sees it: the patient's true state as at the
 * record's date (address epoch, surname before or after marriage), put
 * through the corruption draws of that source, each counted with the number
 * of records that could have received it so realised rates can be checked.
 * Also the text formatting of dates and postcodes, and the growth of the
 * staging arrays that hold a chunk's rows before they are shuffled. */
#include <stdio.h>
#include <string.h>

#include "generate/gen_internal.h"

/* --- formatting helpers --------------------------------------------------------------- */
void tsr__gen_fmt_date(int32_t days, int uk, char *out) {
  int y, m, d;
  tsr__ymd_from_days(days, &y, &m, &d);
  if (uk)
    snprintf(out, 11, "%02u/%02u/%04u", (unsigned)d % 100u, (unsigned)m % 100u, (unsigned)y % 10000u);
  else
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
}

/* Postcode text into out (>= 9 bytes); returns its length. */
static uint32_t fmt_postcode(const tsr__gen_ctx *g, const tsr__gen_addr *a, char *out, int nospace) {
  const tsr__area *ar = &g->t->areas[a->area];
  uint32_t n = 0;
  memcpy(out, ar->code, ar->code_len);
  n = ar->code_len;
  if (a->district >= 10) out[n++] = (char)('0' + a->district / 10);
  out[n++] = (char)('0' + a->district % 10);
  if (!nospace) out[n++] = ' ';
  out[n++] = (char)('0' + a->sector);
  out[n++] = a->unit[0];
  out[n++] = a->unit[1];
  assert(n <= 9);
  return n;
}

static void lower_ascii(char *s, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (s[i] >= 'A' && s[i] <= 'Z') s[i] = (char)(s[i] + 32);
}

static void upper_ascii_if_ascii(char *s, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if ((unsigned char)s[i] >= 0x80) return; /* leave non-ASCII names as written */
  for (uint32_t i = 0; i < n; i++)
    if (s[i] >= 'a' && s[i] <= 'z') s[i] = (char)(s[i] - 32);
}

static void name_copy(char *dst, uint32_t *len, const char *s, size_t n) {
  if (n > TSR__GEN_NAME_CAP - 2) n = TSR__GEN_NAME_CAP - 2;
  memcpy(dst, s, n);
  dst[n] = '\0';
  *len = (uint32_t)n;
}

void tsr__gen_observe(const tsr__gen_ctx *g, tsr__gen_worker *w, const tsr__gen_pat *p, int32_t when, int src,
                      int named, tsr__rng *r, tsr__gen_demog *o) {
  const tsr__gen_tables *t = g->t;
  const tsr__gen_hh *h = &w->hh[p->hh];
  /* NHS number */
  o->nhs = p->nhs;
  o->nhs_spaced = 0;
  if (tsr__gen_corrupt(w, g, r, src == TSR__SRC_GP ? TSR__GP_E_GP_NHS_MISSING : TSR__GP_E_HES_NHS_MISSING)) {
    o->nhs = 0;
  } else {
    if (tsr__gen_corrupt(w, g, r, src == TSR__SRC_GP ? TSR__GP_E_GP_NHS_INVALID : TSR__GP_E_HES_NHS_INVALID))
      o->nhs = tsr__nhs_mistype(o->nhs, r);
    o->nhs_spaced = tsr__rng_chance(r, TSR__GEN_P(g, F_NHS_SPACED));
  }
  /* names */
  o->given_len = o->family_len = 0;
  o->given[0] = o->family[0] = '\0';
  if (named) {
    int lower = tsr__rng_chance(r, TSR__GEN_P(g, F_LOWERCASE));
    const tsr__name *gn = &(p->sex == 1 ? t->male : t->female)[p->given];
    if (!tsr__gen_corrupt(w, g, r, TSR__GP_E_GIVEN_MISSING)) {
      const char *s = gn->s;
      if (gn->nick_count > 0 && tsr__gen_corrupt(w, g, r, TSR__GP_E_NICKNAME))
        s = t->nicks[gn->nick_first + (int)tsr__rng_below(r, gn->nick_count)];
      name_copy(o->given, &o->given_len, s, s == gn->s ? gn->len : strlen(s));
      if (tsr__gen_corrupt(w, g, r, src == TSR__SRC_GP ? TSR__GP_E_GP_TYPO : TSR__GP_E_HES_TYPO))
        tsr__typo_any(o->given, &o->given_len, TSR__GEN_NAME_CAP, r);
      if (src == TSR__SRC_HES) upper_ascii_if_ascii(o->given, o->given_len);
      if (lower) lower_ascii(o->given, o->given_len);
    }
    if (!tsr__gen_corrupt(w, g, r, TSR__GP_E_FAMILY_MISSING)) {
      uint32_t sn = p->surname;
      if (p->surname_change != TSR_DATE_MISSING) {
        if (when < p->surname_change)
          sn = p->maiden;
        else if (tsr__gen_corrupt(w, g, r, TSR__GP_E_STALE_SURNAME))
          sn = p->maiden;
      }
      name_copy(o->family, &o->family_len, t->surnames[sn].s, t->surnames[sn].len);
      if (tsr__gen_corrupt(w, g, r, src == TSR__SRC_GP ? TSR__GP_E_GP_TYPO : TSR__GP_E_HES_TYPO))
        tsr__typo_any(o->family, &o->family_len, TSR__GEN_NAME_CAP, r);
      if (src == TSR__SRC_HES) upper_ascii_if_ascii(o->family, o->family_len);
      if (lower) lower_ascii(o->family, o->family_len);
    }
    assert(o->given_len < TSR__GEN_NAME_CAP && o->family_len < TSR__GEN_NAME_CAP);
  }
  /* date of birth: one error class at most */
  o->dob = p->dob;
  if (tsr__gen_corrupt(w, g, r, TSR__GP_E_DOB_MISSING))
    o->dob = TSR_DATE_MISSING;
  else if (tsr__gen_corrupt(w, g, r, TSR__GP_E_DOB_JAN1))
    o->dob = tsr__dob_jan1(p->dob);
  else if (p->dob_swapped != p->dob && tsr__gen_corrupt(w, g, r, TSR__GP_E_DOB_SWAP))
    o->dob = p->dob_swapped;
  else if (tsr__gen_corrupt(w, g, r, TSR__GP_E_DOB_DIGIT))
    o->dob = tsr__dob_digit(p->dob, r);
  /* sex */
  o->sex = p->sex;
  if (tsr__gen_corrupt(w, g, r, TSR__GP_E_SEX_UNKNOWN)) o->sex = tsr__rng_chance(r, 0.5) ? 0 : 9;
  /* address as at the record's date; a recent move may not have reached it */
  int e = tsr__gen_epoch_at(h, when);
  if (e > 0 && when - h->start[e] < 365 && tsr__gen_corrupt(w, g, r, TSR__GP_E_STALE_POSTCODE)) e--;
  o->addr = &h->a[e];
  o->postcode_len = 0;
  if (tsr__gen_corrupt(w, g, r,
                       src == TSR__SRC_GP ? TSR__GP_E_GP_POSTCODE_MISSING : TSR__GP_E_HES_POSTCODE_MISSING)) {
    o->addr = NULL;
  } else if (src == TSR__SRC_HES && tsr__gen_corrupt(w, g, r, TSR__GP_E_HES_ZZ99)) {
    static const char *const zz[3] = {"ZZ99 3VZ", "ZZ99 3WZ", "ZZ99 3CZ"};
    const char *z = zz[tsr__rng_below(r, 3)];
    memcpy(o->postcode, z, 8);
    o->postcode_len = 8;
    o->addr = NULL;
  } else {
    o->postcode_len =
        fmt_postcode(g, o->addr, o->postcode, tsr__rng_chance(r, TSR__GEN_P(g, F_POSTCODE_NOSPACE)));
    if (tsr__rng_chance(r, TSR__GEN_P(g, F_LOWERCASE))) lower_ascii(o->postcode, o->postcode_len);
  }
}

/* --- staging ------------------------------------------------------------------------- */
int tsr__gen_resize_u32(uint32_t **p, size_t n) {
  uint32_t *q = tsr__realloc(*p, sizeof **p * n);
  if (!q) return -1;
  *p = q;
  return 0;
}
