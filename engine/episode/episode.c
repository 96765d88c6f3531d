/* The episode stage's public face (tessera/episode.h): reads the linkage's
 * stores by the config's field roles into the columnar input of core.c,
 * runs the rules, and writes episodes.parquet, spells.parquet,
 * cips.parquet and registrations.parquet and report.json's "episodes"
 * object.
 *
 * DESIGN
 *   Code values are compared as text, once per dictionary entry: each code
 *   column's dictionary is turned into a table of flags (TSR__EPF_*) and of
 *   text ranks (so "order by provider" is the provider text's order, not
 *   the order codes were first seen), and every episode then reads its
 *   flags through its code id. Episodes are grouped by the linked patient
 *   id (tsr_linkage_patient_ids), never by NHS number. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_internal.h"
#include "episode/episode_internal.h"
#include "tessera/parquet.h"
#include "tessera/store.h"

struct tsr_episodes {
  const tsr_linkage *L;
  const tsr_store *hes, *gp;
  const tsr_column *col[TSR_EP_ROLE_COUNT];
  const tsr_column *practice;
  tsr_cips_rule cips;
  int threads;
  tsr__ep_result R;
};

/* Is text (len) one of the NUL-separated list's values? */
static int in_list(const char *text, uint32_t len, const char *const *list) {
  for (; *list; list++)
    if (strlen(*list) == len && memcmp(*list, text, len) == 0) return 1;
  return 0;
}

uint16_t tsr__ep_code_flags(tsr_ep_role role, const char *t, uint32_t len) {
  static const char *const fin[] = {"3", NULL};
  static const char *const cont[] = {"8", "9", NULL};
  static const char *const died[] = {"4", NULL};
  static const char *const regular[] = {"3", "4", NULL};
  static const char *const u_dest[] = {"49", "50", "51", "52", "53", "84", NULL};
  static const char *const u_src[] = {"49", "50", "51", "52", "53", "87", NULL};
  static const char *const h_any[] = {"51", "52", "53", NULL};
  static const char *const transfer[] = {"2B", "81", NULL};
  uint16_t f = 0;
  switch (role) {
    case TSR_EP_EPISTAT:
      if (in_list(t, len, fin)) f |= TSR__EPF_FINISHED;
      break;
    case TSR_EP_DISMETH:
      if (in_list(t, len, cont)) f |= TSR__EPF_CONT;
      if (in_list(t, len, died)) f |= TSR__EPF_DIED;
      break;
    case TSR_EP_CLASSPAT:
      if (in_list(t, len, regular)) f |= TSR__EPF_REGULAR;
      break;
    case TSR_EP_DISDEST:
      if (in_list(t, len, u_dest)) f |= TSR__EPF_U_DEST;
      if (in_list(t, len, h_any)) f |= TSR__EPF_H_DEST;
      break;
    case TSR_EP_ADMISORC:
      if (in_list(t, len, u_src)) f |= TSR__EPF_U_SRC;
      if (in_list(t, len, h_any)) f |= TSR__EPF_H_SRC;
      break;
    case TSR_EP_ADMIMETH:
      if (in_list(t, len, transfer)) f |= TSR__EPF_TRANSFER;
      break;
    default:
      break;
  }
  return f;
}

static uint32_t code_id(const tsr_column *c, uint64_t r) { return c->code16 ? c->code16[r] : c->code32[r]; }

static tsr_view code_text(const tsr_column *c, uint32_t id) {
  if (!id) return (tsr_view){NULL, 0};
  return (tsr_view){c->dict + c->dict_off[id - 1], c->dict_off[id] - c->dict_off[id - 1]};
}

typedef struct dict_entry {
  tsr_view v;
  uint32_t id;
} dict_entry;

static int cmp_dict(const void *a, const void *b) {
  tsr_view x = ((const dict_entry *)a)->v, y = ((const dict_entry *)b)->v;
  uint32_t m = x.len < y.len ? x.len : y.len;
  int c = m ? memcmp(x.ptr, y.ptr, m) : 0;
  if (c) return c;
  return x.len < y.len ? -1 : x.len > y.len;
}

/* rank[id] for id 0..dict_n: 0 for missing, else 1 + position in text order
 * (dictionary values are distinct, so the order is total). */
static uint32_t *dict_ranks(const tsr_column *c) {
  uint32_t n = c->dict_n;
  dict_entry *e = tsr__malloc(((size_t)n + 1) * sizeof *e);
  uint32_t *rank = tsr__malloc(((size_t)n + 1) * sizeof *rank);
  if (!e || !rank) {
    tsr__free(e);
    tsr__free(rank);
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) e[i] = (dict_entry){code_text(c, i + 1), i + 1};
  qsort(e, n, sizeof *e, cmp_dict);
  rank[0] = 0;
  for (uint32_t i = 0; i < n; i++) rank[e[i].id] = i + 1;
  tsr__free(e);
  return rank;
}

static int fail_col(tsr_error *err, const char *field) {
  return tsr_error_set(err, TSR_ECONFIG, NULL, 0, 0, "episodes: field \"%s\" is missing from its source's store", field);
}

int tsr_episodes_build(const tsr_linkage *L, int threads, tsr_episodes **out, tsr_error *err) {
  *out = NULL;
  double t0 = tsr__now();
  const tsr_config *cfg = tsr_linkage_config(L);
  const tsr_episodes_cfg *ec = &cfg->episodes;
  TSR_RETURN_IF(!ec->present, err, TSR_ECONFIG, "the config has no \"episodes\" section");
  tsr_episodes *E = tsr__calloc(1, sizeof *E);
  TSR_RETURN_IF(!E, err, TSR_ENOMEM, "out of memory");
  E->L = L;
  E->cips = ec->cips;
  E->threads = threads > 0 ? threads : tsr_linkage_threads(L);
  E->hes = tsr_linkage_store(L, (uint32_t)ec->source);
  int rc = 0;
  for (int r = 0; r < TSR_EP_ROLE_COUNT && !rc; r++)
    if (!(E->col[r] = tsr_store_field(E->hes, ec->role[r]))) rc = fail_col(err, ec->role[r]);
  const tsr_column *gpc[3] = {NULL, NULL, NULL};
  if (!rc && ec->gp_present) {
    E->gp = tsr_linkage_store(L, (uint32_t)ec->gp_source);
    const char *names[3] = {ec->practice, ec->reg_start, ec->reg_end};
    for (int k = 0; k < 3 && !rc; k++)
      if (!(gpc[k] = tsr_store_field(E->gp, names[k]))) rc = fail_col(err, names[k]);
    E->practice = gpc[0];
  }
  if (rc) {
    tsr__free(E);
    return rc;
  }
  const int64_t *pids = tsr_linkage_patient_ids(L);
  uint64_t n = tsr_store_rows(E->hes);
  uint16_t *flags = tsr__malloc((n ? n : 1) * sizeof *flags);
  uint32_t *prov = tsr__malloc((n ? n : 1) * sizeof *prov);
  uint16_t *ftab[TSR_EP_ROLE_COUNT] = {NULL};
  uint32_t *prank = dict_ranks(E->col[TSR_EP_PROVIDER]);
  uint32_t *grank = NULL, *gprac = NULL;
  rc = (!flags || !prov || !prank) ? TSR_ENOMEM : 0;
  static const tsr_ep_role flag_roles[] = {TSR_EP_EPISTAT, TSR_EP_DISMETH, TSR_EP_CLASSPAT,
                                           TSR_EP_DISDEST, TSR_EP_ADMISORC, TSR_EP_ADMIMETH};
  for (size_t k = 0; k < sizeof flag_roles / sizeof flag_roles[0] && !rc; k++) {
    const tsr_column *c = E->col[flag_roles[k]];
    uint16_t *t = tsr__malloc(((size_t)c->dict_n + 1) * sizeof *t);
    if (!t) {
      rc = TSR_ENOMEM;
      break;
    }
    t[0] = 0;
    for (uint32_t id = 1; id <= c->dict_n; id++) {
      tsr_view v = code_text(c, id);
      t[id] = tsr__ep_code_flags(flag_roles[k], v.ptr, v.len);
    }
    ftab[flag_roles[k]] = t;
  }
  if (!rc) {
    int64_t sn = (int64_t)n;
#pragma omp parallel for num_threads(E->threads) schedule(static)
    for (int64_t i = 0; i < sn; i++) {
      uint16_t f = 0;
      for (size_t k = 0; k < sizeof flag_roles / sizeof flag_roles[0]; k++) {
        tsr_ep_role r = flag_roles[k];
        f |= ftab[r][code_id(E->col[r], (uint64_t)i)];
      }
      flags[i] = f;
      prov[i] = prank[code_id(E->col[TSR_EP_PROVIDER], (uint64_t)i)];
    }
  }
  tsr__ep_input in;
  memset(&in, 0, sizeof in);
  uint64_t ngp = E->gp ? tsr_store_rows(E->gp) : 0;
  if (!rc && E->gp) {
    grank = dict_ranks(gpc[0]);
    gprac = tsr__malloc((ngp ? ngp : 1) * sizeof *gprac);
    if (!grank || !gprac) rc = TSR_ENOMEM;
    for (uint64_t i = 0; !rc && i < ngp; i++) gprac[i] = grank[code_id(gpc[0], i)];
  }
  if (!rc) {
    in.n = n;
    in.npatients = tsr_linkage_patients(L);
    in.pid = pids + tsr_linkage_source_base(L, (uint32_t)ec->source);
    in.provider = prov;
    in.admidate = E->col[TSR_EP_ADMIDATE]->i32;
    in.epistart = E->col[TSR_EP_EPISTART]->i32;
    in.epiend = E->col[TSR_EP_EPIEND]->i32;
    in.disdate = E->col[TSR_EP_DISDATE]->i32;
    in.epiorder = E->col[TSR_EP_EPIORDER]->i64;
    in.keys = tsr_linkage_store(L, (uint32_t)ec->source);
    in.flags = flags;
    in.cips = ec->cips;
    in.threads = E->threads;
    if (E->gp) {
      in.have_gp = 1;
      in.ngp = ngp;
      in.gp_pid = pids + tsr_linkage_source_base(L, (uint32_t)ec->gp_source);
      in.gp_practice = gprac;
      in.gp_start = gpc[1]->i32;
      in.gp_end = gpc[2]->i32;
    }
    rc = tsr__ep_run(&in, &E->R);
  }
  tsr__free(flags);
  tsr__free(prov);
  tsr__free(prank);
  tsr__free(grank);
  tsr__free(gprac);
  for (int r = 0; r < TSR_EP_ROLE_COUNT; r++) tsr__free(ftab[r]);
  if (rc) {
    tsr_episodes_free(E);
    return tsr_error_set(err, rc, NULL, 0, 0, "out of memory");
  }
  E->R.st.seconds = tsr__now() - t0;
  *out = E;
  return 0;
}

void tsr_episodes_free(tsr_episodes *E) {
  if (!E) return;
  tsr__ep_result_free(&E->R);
  tsr__free(E);
}

const tsr_episode_stats *tsr_episodes_stats(const tsr_episodes *E) { return &E->R.st; }

/* --- Parquet ---------------------------------------------------------------------- */

#define BATCH 65536

static void pq_opts(const tsr_episodes *E, tsr_pq_options *po) {
  const tsr_config *cfg = tsr_linkage_config(E->L);
  tsr_pq_options_init(po);
  po->row_group_rows = cfg->output.row_group_rows;
  po->zstd_level = cfg->output.zstd_level;
  po->threads = E->threads;
}

/* Column buffers of one batch, from one block (freed at the end). */
typedef struct batch {
  void *mem;
  tsr_view *v[6];
  int64_t *i64[3];
  int32_t *i32[4];
  uint8_t *valid[6], *b;
} batch;

static int batch_init(batch *b) {
  size_t per = 6 * sizeof(tsr_view) + 3 * 8 + 4 * 4 + 7;
  b->mem = tsr__malloc(per * BATCH);
  if (!b->mem) return TSR_ENOMEM;
  char *p = b->mem;
  for (int k = 0; k < 6; k++, p += sizeof(tsr_view) * BATCH) b->v[k] = (tsr_view *)(void *)p;
  for (int k = 0; k < 3; k++, p += 8 * BATCH) b->i64[k] = (int64_t *)(void *)p;
  for (int k = 0; k < 4; k++, p += 4 * BATCH) b->i32[k] = (int32_t *)(void *)p;
  for (int k = 0; k < 6; k++, p += BATCH) b->valid[k] = (uint8_t *)p;
  b->b = (uint8_t *)p;
  return 0;
}

static int write_episodes(const tsr_episodes *E, const char *dir, tsr_error *err, batch *B) {
  static const tsr_pq_column_def defs[] = {
      {"source", TSR_PQ_STRING, 0, TSR_PQ_ENC_DICT},   {"record_id", TSR_PQ_STRING, 0, TSR_PQ_ENC_PLAIN},
      {"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN}, {"spell_id", TSR_PQ_INT64, 1, TSR_PQ_ENC_PLAIN},
      {"cips_id", TSR_PQ_INT64, 1, TSR_PQ_ENC_PLAIN},  {"spell_order", TSR_PQ_INT32, 1, TSR_PQ_ENC_AUTO},
      {"finished", TSR_PQ_BOOL, 0, TSR_PQ_ENC_PLAIN}};
  tsr_pq_options po;
  pq_opts(E, &po);
  tsr_pq_writer *w = NULL;
  TSR_FORWARD_IF_ERROR(tsr_pq_open(&w, dir, "episodes.parquet", defs, 7, &po, err));
  const tsr__ep_result *R = &E->R;
  uint32_t s = (uint32_t)tsr_linkage_config(E->L)->episodes.source;
  const char *src = tsr_linkage_source_name(E->L, s);
  const int64_t *pids = tsr_linkage_patient_ids(E->L) + tsr_linkage_source_base(E->L, s);
  uint64_t n = tsr_store_rows(E->hes);
  for (uint64_t r0 = 0; r0 < n; r0 += BATCH) {
    size_t m = (size_t)(n - r0 < BATCH ? n - r0 : BATCH);
    for (size_t k = 0; k < m; k++) {
      uint64_t r = r0 + k;
      B->v[0][k] = (tsr_view){src, (uint32_t)strlen(src)};
      B->v[1][k] = tsr_store_id(E->hes, r);
      B->i64[0][k] = pids[r];
      B->i64[1][k] = R->spell_id[r];
      B->i64[2][k] = R->cips_id[r];
      B->i32[0][k] = R->spell_order[r];
      B->valid[0][k] = R->spell_id[r] != 0;
      B->b[k] = R->spell_id[r] != 0;
    }
    tsr_pq_col cols[7] = {{B->v[0], NULL},      {B->v[1], NULL},      {B->i64[0], NULL}, {B->i64[1], B->valid[0]},
                          {B->i64[2], B->valid[0]}, {B->i32[0], B->valid[0]}, {B->b, NULL}};
    int rc = tsr_pq_write(w, cols, m, err);
    if (rc) {
      tsr_pq_abort(w);
      return rc;
    }
  }
  return tsr_pq_close(w, err);
}

static int write_spells(const tsr_episodes *E, const char *dir, tsr_error *err, batch *B) {
  static const tsr_pq_column_def defs[] = {
      {"spell_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN}, {"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN},
      {"cips_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN},  {"provider", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO},
      {"admidate", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO},   {"disdate", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO},
      {"admimeth", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO}, {"admisorc", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO},
      {"disdest", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO},  {"dismeth", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO},
      {"episodes", TSR_PQ_INT32, 0, TSR_PQ_ENC_AUTO},  {"los", TSR_PQ_INT32, 1, TSR_PQ_ENC_AUTO},
      {"diag", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO},     {"practice", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO}};
  tsr_pq_options po;
  pq_opts(E, &po);
  tsr_pq_writer *w = NULL;
  TSR_FORWARD_IF_ERROR(tsr_pq_open(&w, dir, "spells.parquet", defs, 14, &po, err));
  const tsr__ep_result *R = &E->R;
  const tsr_column *const *C = E->col;
  /* string columns: provider, admimeth, admisorc (first episode), disdest, dismeth (last), diag (first) */
  static const tsr_ep_role sroles[6] = {TSR_EP_PROVIDER, TSR_EP_ADMIMETH, TSR_EP_ADMISORC,
                                        TSR_EP_DISDEST,  TSR_EP_DISMETH,  TSR_EP_DIAG};
  static const int from_last[6] = {0, 0, 0, 1, 1, 0};
  tsr_view *pv = tsr__malloc(BATCH * sizeof *pv);
  uint8_t *pvalid = tsr__malloc(BATCH);
  if (!pv || !pvalid) {
    tsr__free(pv);
    tsr__free(pvalid);
    tsr_pq_abort(w);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  }
  int32_t *adm = B->i32[0], *dis = B->i32[1], *eps = B->i32[2], *los = B->i32[3];
  int64_t *sid = B->i64[0], *pat = B->i64[1], *cid = B->i64[2];
  uint8_t *vadm = (uint8_t *)tsr__malloc(BATCH * 3);
  if (!vadm) {
    tsr__free(pv);
    tsr__free(pvalid);
    tsr_pq_abort(w);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  }
  uint8_t *vdis = vadm + BATCH, *vlos = vadm + 2 * BATCH;
  int rc = 0;
  for (uint64_t s0 = 0; s0 < R->nspells && !rc; s0 += BATCH) {
    size_t m = (size_t)(R->nspells - s0 < BATCH ? R->nspells - s0 : BATCH);
    for (size_t k = 0; k < m; k++) {
      uint64_t s = s0 + k;
      uint32_t f = R->sp_first[s], l = R->sp_last[s];
      sid[k] = (int64_t)s + 1;
      pat[k] = R->sp_patient[s];
      cid[k] = R->sp_cips[s];
      for (int c = 0; c < 6; c++) {
        const tsr_column *col = C[sroles[c]];
        uint32_t id = code_id(col, from_last[c] ? l : f);
        B->v[c][k] = code_text(col, id);
        B->valid[c][k] = id != 0;
      }
      adm[k] = C[TSR_EP_ADMIDATE]->i32[f];
      dis[k] = C[TSR_EP_DISDATE]->i32[l];
      vadm[k] = adm[k] != TSR_DATE_NONE;
      vdis[k] = dis[k] != TSR_DATE_NONE;
      eps[k] = R->sp_episodes[s];
      vlos[k] = vadm[k] && vdis[k];
      los[k] = vlos[k] ? dis[k] - adm[k] : 0;
      if (R->sp_reg[s] != TSR__EP_NONE) {
        pv[k] = code_text(E->practice, code_id(E->practice, R->rg_row[R->sp_reg[s]]));
        pvalid[k] = 1;
      } else {
        pv[k] = (tsr_view){NULL, 0};
        pvalid[k] = 0;
      }
    }
    tsr_pq_col cols[14] = {{sid, NULL},           {pat, NULL},           {cid, NULL},           {B->v[0], B->valid[0]},
                           {adm, vadm},           {dis, vdis},           {B->v[1], B->valid[1]}, {B->v[2], B->valid[2]},
                           {B->v[3], B->valid[3]}, {B->v[4], B->valid[4]}, {eps, NULL},          {los, vlos},
                           {B->v[5], B->valid[5]}, {pv, pvalid}};
    rc = tsr_pq_write(w, cols, m, err);
  }
  tsr__free(pv);
  tsr__free(pvalid);
  tsr__free(vadm);
  if (rc) {
    tsr_pq_abort(w);
    return rc;
  }
  return tsr_pq_close(w, err);
}

static int write_cips(const tsr_episodes *E, const char *dir, tsr_error *err, batch *B) {
  static const tsr_pq_column_def defs[] = {
      {"cips_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN}, {"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN},
      {"admidate", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO},  {"disdate", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO},
      {"spells", TSR_PQ_INT32, 0, TSR_PQ_ENC_AUTO},   {"providers", TSR_PQ_INT32, 0, TSR_PQ_ENC_AUTO},
      {"los", TSR_PQ_INT32, 1, TSR_PQ_ENC_AUTO}};
  tsr_pq_options po;
  pq_opts(E, &po);
  tsr_pq_writer *w = NULL;
  TSR_FORWARD_IF_ERROR(tsr_pq_open(&w, dir, "cips.parquet", defs, 7, &po, err));
  const tsr__ep_result *R = &E->R;
  int32_t *los = B->i32[0];
  int rc = 0;
  for (uint64_t c0 = 0; c0 < R->ncips && !rc; c0 += BATCH) {
    size_t m = (size_t)(R->ncips - c0 < BATCH ? R->ncips - c0 : BATCH);
    for (size_t k = 0; k < m; k++) {
      uint64_t c = c0 + k;
      B->i64[0][k] = (int64_t)c + 1;
      B->valid[0][k] = R->ci_admidate[c] != TSR_DATE_NONE;
      B->valid[1][k] = R->ci_disdate[c] != TSR_DATE_NONE;
      B->valid[2][k] = B->valid[0][k] && B->valid[1][k];
      los[k] = B->valid[2][k] ? R->ci_disdate[c] - R->ci_admidate[c] : 0;
    }
    tsr_pq_col cols[7] = {{B->i64[0], NULL},
                          {R->ci_patient + c0, NULL},
                          {R->ci_admidate + c0, B->valid[0]},
                          {R->ci_disdate + c0, B->valid[1]},
                          {R->ci_spells + c0, NULL},
                          {R->ci_providers + c0, NULL},
                          {los, B->valid[2]}};
    rc = tsr_pq_write(w, cols, m, err);
  }
  if (rc) {
    tsr_pq_abort(w);
    return rc;
  }
  return tsr_pq_close(w, err);
}

static int write_regs(const tsr_episodes *E, const char *dir, tsr_error *err, batch *B) {
  static const tsr_pq_column_def defs[] = {
      {"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN}, {"practice", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
      {"start", TSR_PQ_DATE, 0, TSR_PQ_ENC_AUTO},        {"end", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO}};
  tsr_pq_options po;
  pq_opts(E, &po);
  tsr_pq_writer *w = NULL;
  TSR_FORWARD_IF_ERROR(tsr_pq_open(&w, dir, "registrations.parquet", defs, 4, &po, err));
  const tsr__ep_result *R = &E->R;
  int rc = 0;
  for (uint64_t g0 = 0; g0 < R->nregs && !rc; g0 += BATCH) {
    size_t m = (size_t)(R->nregs - g0 < BATCH ? R->nregs - g0 : BATCH);
    for (size_t k = 0; k < m; k++) {
      uint64_t g = g0 + k;
      B->v[0][k] = code_text(E->practice, code_id(E->practice, R->rg_row[g]));
      B->valid[0][k] = R->rg_end[g] != TSR_DATE_NONE;
    }
    tsr_pq_col cols[4] = {
        {R->rg_patient + g0, NULL}, {B->v[0], NULL}, {R->rg_start + g0, NULL}, {R->rg_end + g0, B->valid[0]}};
    rc = tsr_pq_write(w, cols, m, err);
  }
  if (rc) {
    tsr_pq_abort(w);
    return rc;
  }
  return tsr_pq_close(w, err);
}

int tsr_episodes_write(const tsr_episodes *E, const char *dir, tsr_error *err) {
  batch B;
  TSR_RETURN_IF(batch_init(&B), err, TSR_ENOMEM, "out of memory");
  int rc = write_episodes(E, dir, err, &B);
  if (!rc) rc = write_spells(E, dir, err, &B);
  if (!rc) rc = write_cips(E, dir, err, &B);
  if (!rc && E->gp) rc = write_regs(E, dir, err, &B);
  tsr__free(B.mem);
  return rc;
}

int tsr_episodes_json(const tsr_episodes *E, json_t **out, tsr_error *err) {
  const tsr_episode_stats *s = &E->R.st;
  json_t *o = json_object(), *q = json_object();
  TSR_RETURN_IF(!o || !q, err, TSR_ENOMEM, "out of memory");
#define SETI(obj, key, v) json_object_set_new(obj, key, json_integer((json_int_t)(v)))
  json_object_set_new(o, "source", json_string(tsr_linkage_source_name(E->L, (uint32_t)tsr_linkage_config(E->L)->episodes.source)));
  json_object_set_new(o, "cips_rule", json_string(tsr_cips_rule_name(E->cips)));
  SETI(o, "episodes", s->episodes);
  SETI(o, "finished", s->finished);
  SETI(o, "unfinished", s->unfinished);
  SETI(o, "spells", s->spells);
  SETI(o, "multi_episode_spells", s->multi_episode_spells);
  SETI(o, "cips", s->cips);
  SETI(o, "registrations", s->registrations);
  SETI(q, "overlapping_spells", s->overlapping_spells);
  SETI(q, "episodes_after_death", s->episodes_after_death);
  SETI(q, "admission_date_disagrees", s->admidate_disagrees);
  SETI(q, "unfinished_episodes", s->unfinished);
  SETI(q, "spells_without_practice", s->spells_without_practice);
  SETI(q, "registration_overlaps", s->registration_overlaps);
  SETI(q, "registration_gaps", s->registration_gaps);
  SETI(q, "registrations_skipped", s->registrations_skipped);
#undef SETI
  json_object_set_new(o, "data_quality", q);
  json_object_set_new(o, "seconds", json_real(s->seconds));
  *out = o;
  return 0;
}
