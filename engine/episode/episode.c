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

/* The four files are written at once, one per thread (up to the stage's
 * threads), each by a single-threaded writer: a writer's own parallelism
 * is one column per thread inside a row group, which leaves threads idle
 * on narrow tables, while whole files keep every thread busy. The bytes of
 * each file do not depend on which thread wrote it. */
static void pq_opts(const tsr_episodes *E, tsr_pq_options *po, int threads) {
  const tsr_config *cfg = tsr_linkage_config(E->L);
  tsr_pq_options_init(po);
  po->row_group_rows = cfg->output.row_group_rows;
  po->zstd_level = cfg->output.zstd_level;
  po->threads = threads;
}

/* Column buffers of one batch, from one block (freed at the end). */
typedef struct batch {
  void *mem;
  uint32_t *code[7];
  int64_t *i64[3];
  int32_t *i32[4];
  uint8_t *valid[3], *b;
} batch;

static int batch_init(batch *b) {
  size_t per = 7 * 4 + 3 * 8 + 4 * 4 + 4;
  b->mem = tsr__malloc(per * BATCH);
  if (!b->mem) return TSR_ENOMEM;
  char *p = b->mem;
  for (int k = 0; k < 7; k++, p += 4 * BATCH) b->code[k] = (uint32_t *)(void *)p;
  for (int k = 0; k < 3; k++, p += 8 * BATCH) b->i64[k] = (int64_t *)(void *)p;
  for (int k = 0; k < 4; k++, p += 4 * BATCH) b->i32[k] = (int32_t *)(void *)p;
  for (int k = 0; k < 3; k++, p += BATCH) b->valid[k] = (uint8_t *)p;
  b->b = (uint8_t *)p;
  return 0;
}

/* The dictionary of a code column as views (entry k = code k + 1). */
static tsr_view *dict_views(const tsr_column *c) {
  tsr_view *v = tsr__malloc(((size_t)c->dict_n + 1) * sizeof *v);
  if (v)
    for (uint32_t k = 0; k < c->dict_n; k++) v[k] = code_text(c, k + 1);
  return v;
}

typedef struct file_job {
  const tsr_episodes *E;
  const char *dir;
  int threads;
  tsr_error err;
  int rc;
} file_job;

/* Opens the writer and the batch; on failure sets j->rc. */
static tsr_pq_writer *job_open(file_job *j, const char *name, const tsr_pq_column_def *defs, size_t n, batch *B) {
  tsr_pq_options po;
  pq_opts(j->E, &po, j->threads);
  tsr_pq_writer *w = NULL;
  if ((j->rc = tsr_pq_open(&w, j->dir, name, defs, n, &po, &j->err)) != 0) return NULL;
  if (batch_init(B)) {
    tsr_pq_abort(w);
    j->rc = tsr_error_set(&j->err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    return NULL;
  }
  return w;
}

static void job_close(file_job *j, tsr_pq_writer *w, batch *B, int rc) {
  if (rc)
    tsr_pq_abort(w);
  else
    rc = tsr_pq_close(w, &j->err);
  tsr__free(B->mem);
  j->rc = rc;
}

static void write_episodes(file_job *j) {
  static const tsr_pq_column_def defs[] = {
      {"source", TSR_PQ_STRING, 0, TSR_PQ_ENC_DICT},   {"record_id", TSR_PQ_STRING, 0, TSR_PQ_ENC_PLAIN},
      {"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN}, {"spell_id", TSR_PQ_INT64, 1, TSR_PQ_ENC_PLAIN},
      {"cips_id", TSR_PQ_INT64, 1, TSR_PQ_ENC_PLAIN},  {"spell_order", TSR_PQ_INT32, 1, TSR_PQ_ENC_AUTO},
      {"finished", TSR_PQ_BOOL, 0, TSR_PQ_ENC_PLAIN}};
  const tsr_episodes *E = j->E;
  batch B;
  tsr_pq_writer *w = job_open(j, "episodes.parquet", defs, 7, &B);
  if (!w) return;
  const tsr__ep_result *R = &E->R;
  uint32_t s = (uint32_t)tsr_linkage_config(E->L)->episodes.source;
  const char *src = tsr_linkage_source_name(E->L, s);
  tsr_view srcv = {src, (uint32_t)strlen(src)};
  const int64_t *pids = tsr_linkage_patient_ids(E->L) + tsr_linkage_source_base(E->L, s);
  uint64_t n = tsr_store_rows(E->hes);
  tsr_view *ids = tsr__malloc(BATCH * sizeof *ids);
  int rc = ids ? tsr_pq_set_codes(w, 0, &srcv, 1, &j->err) : tsr_error_set(&j->err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  for (uint64_t r0 = 0; r0 < n && !rc; r0 += BATCH) {
    size_t m = (size_t)(n - r0 < BATCH ? n - r0 : BATCH);
    for (size_t k = 0; k < m; k++) {
      uint64_t r = r0 + k;
      B.code[0][k] = 1;
      ids[k] = tsr_store_id(E->hes, r);
      B.i64[0][k] = pids[r];
      B.i64[1][k] = tsr__ep_spell_id(R, r);
      B.i64[2][k] = tsr__ep_cips_id(R, r);
      B.i32[0][k] = tsr__ep_spell_order(R, r);
      B.valid[0][k] = R->ep_spell[r] != 0;
      B.b[k] = R->ep_spell[r] != 0;
    }
    tsr_pq_col cols[7] = {{B.code[0], NULL},      {ids, NULL},          {B.i64[0], NULL}, {B.i64[1], B.valid[0]},
                          {B.i64[2], B.valid[0]}, {B.i32[0], B.valid[0]}, {B.b, NULL}};
    rc = tsr_pq_write(w, cols, m, &j->err);
  }
  tsr__free(ids);
  job_close(j, w, &B, rc);
}

static void write_spells(file_job *j) {
  static const tsr_pq_column_def defs[] = {
      {"spell_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN}, {"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN},
      {"cips_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN},  {"provider", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO},
      {"admidate", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO},   {"disdate", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO},
      {"admimeth", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO}, {"admisorc", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO},
      {"disdest", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO},  {"dismeth", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO},
      {"episodes", TSR_PQ_INT32, 0, TSR_PQ_ENC_AUTO},  {"los", TSR_PQ_INT32, 1, TSR_PQ_ENC_AUTO},
      {"diag", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO},     {"practice", TSR_PQ_STRING, 1, TSR_PQ_ENC_AUTO}};
  /* code columns: provider, admimeth, admisorc (first episode), disdest, dismeth (last), diag (first) */
  static const tsr_ep_role sroles[6] = {TSR_EP_PROVIDER, TSR_EP_ADMIMETH, TSR_EP_ADMISORC,
                                        TSR_EP_DISDEST,  TSR_EP_DISMETH,  TSR_EP_DIAG};
  static const int from_last[6] = {0, 0, 0, 1, 1, 0};
  static const size_t at[6] = {3, 6, 7, 8, 9, 12};
  const tsr_episodes *E = j->E;
  batch B;
  tsr_pq_writer *w = job_open(j, "spells.parquet", defs, 14, &B);
  if (!w) return;
  const tsr__ep_result *R = &E->R;
  const tsr_column *const *C = E->col;
  tsr_view *dv[7] = {NULL};
  int rc = 0;
  for (int c = 0; c < 7 && !rc; c++) {
    const tsr_column *col = c < 6 ? C[sroles[c]] : E->practice;
    if (!col) { /* no GP source: an all-null practice column */
      rc = tsr_pq_set_codes(w, 13, NULL, 0, &j->err);
      continue;
    }
    if (!(dv[c] = dict_views(col)))
      rc = tsr_error_set(&j->err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
    else
      rc = tsr_pq_set_codes(w, c < 6 ? at[c] : 13, dv[c], col->dict_n, &j->err);
  }
  int32_t *adm = B.i32[0], *dis = B.i32[1], *eps = B.i32[2], *los = B.i32[3];
  int64_t *sid = B.i64[0], *pat = B.i64[1], *cid = B.i64[2];
  uint8_t *vadm = B.valid[0], *vdis = B.valid[1], *vlos = B.valid[2];
  for (uint64_t s0 = 0; s0 < R->nspells && !rc; s0 += BATCH) {
    size_t m = (size_t)(R->nspells - s0 < BATCH ? R->nspells - s0 : BATCH);
    for (size_t k = 0; k < m; k++) {
      uint64_t s = s0 + k;
      uint32_t f = R->sp_first[s], l = R->sp_last[s];
      sid[k] = (int64_t)s + 1;
      pat[k] = tsr__ep_sp_patient(R, s);
      cid[k] = tsr__ep_sp_cips(R, s);
      for (int c = 0; c < 6; c++) B.code[c][k] = code_id(C[sroles[c]], from_last[c] ? l : f);
      adm[k] = C[TSR_EP_ADMIDATE]->i32[f];
      dis[k] = C[TSR_EP_DISDATE]->i32[l];
      vadm[k] = adm[k] != TSR_DATE_NONE;
      vdis[k] = dis[k] != TSR_DATE_NONE;
      eps[k] = (int32_t)R->sp_episodes[s];
      vlos[k] = vadm[k] && vdis[k];
      los[k] = vlos[k] ? dis[k] - adm[k] : 0;
      B.code[6][k] = R->sp_reg[s] != TSR__EP_NONE ? code_id(E->practice, R->rg_row[R->sp_reg[s]]) : 0;
    }
    tsr_pq_col cols[14] = {{sid, NULL},       {pat, NULL},       {cid, NULL},       {B.code[0], NULL}, {adm, vadm},
                           {dis, vdis},       {B.code[1], NULL}, {B.code[2], NULL}, {B.code[3], NULL}, {B.code[4], NULL},
                           {eps, NULL},       {los, vlos},       {B.code[5], NULL}, {B.code[6], NULL}};
    rc = tsr_pq_write(w, cols, m, &j->err);
  }
  /* the writer borrows the dictionaries until it closes */
  job_close(j, w, &B, rc);
  for (int c = 0; c < 7; c++) tsr__free(dv[c]);
}

static void write_cips(file_job *j) {
  static const tsr_pq_column_def defs[] = {
      {"cips_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN}, {"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN},
      {"admidate", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO},  {"disdate", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO},
      {"spells", TSR_PQ_INT32, 0, TSR_PQ_ENC_AUTO},   {"providers", TSR_PQ_INT32, 0, TSR_PQ_ENC_AUTO},
      {"los", TSR_PQ_INT32, 1, TSR_PQ_ENC_AUTO}};
  batch B;
  tsr_pq_writer *w = job_open(j, "cips.parquet", defs, 7, &B);
  if (!w) return;
  const tsr__ep_result *R = &j->E->R;
  int32_t *adm = B.i32[0], *nsp = B.i32[1], *los = B.i32[2];
  int64_t *cid = B.i64[0], *pat = B.i64[1];
  int rc = 0;
  for (uint64_t c0 = 0; c0 < R->ncips && !rc; c0 += BATCH) {
    size_t m = (size_t)(R->ncips - c0 < BATCH ? R->ncips - c0 : BATCH);
    for (size_t k = 0; k < m; k++) {
      uint64_t c = c0 + k;
      cid[k] = (int64_t)c + 1;
      pat[k] = tsr__ep_ci_patient(R, c);
      adm[k] = tsr__ep_ci_admidate(R, c);
      nsp[k] = tsr__ep_ci_spells(R, c);
      B.valid[0][k] = adm[k] != TSR_DATE_NONE;
      B.valid[1][k] = R->ci_disdate[c] != TSR_DATE_NONE;
      B.valid[2][k] = B.valid[0][k] && B.valid[1][k];
      los[k] = B.valid[2][k] ? R->ci_disdate[c] - adm[k] : 0;
    }
    tsr_pq_col cols[7] = {{cid, NULL},
                          {pat, NULL},
                          {adm, B.valid[0]},
                          {R->ci_disdate + c0, B.valid[1]},
                          {nsp, NULL},
                          {R->ci_providers + c0, NULL},
                          {los, B.valid[2]}};
    rc = tsr_pq_write(w, cols, m, &j->err);
  }
  job_close(j, w, &B, rc);
}

static void write_regs(file_job *j) {
  static const tsr_pq_column_def defs[] = {
      {"patient_id", TSR_PQ_INT64, 0, TSR_PQ_ENC_PLAIN}, {"practice", TSR_PQ_STRING, 0, TSR_PQ_ENC_AUTO},
      {"start", TSR_PQ_DATE, 0, TSR_PQ_ENC_AUTO},        {"end", TSR_PQ_DATE, 1, TSR_PQ_ENC_AUTO}};
  const tsr_episodes *E = j->E;
  batch B;
  tsr_pq_writer *w = job_open(j, "registrations.parquet", defs, 4, &B);
  if (!w) return;
  const tsr__ep_result *R = &E->R;
  tsr_view *dv = dict_views(E->practice);
  int rc = dv ? tsr_pq_set_codes(w, 1, dv, E->practice->dict_n, &j->err)
              : tsr_error_set(&j->err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  for (uint64_t g0 = 0; g0 < R->nregs && !rc; g0 += BATCH) {
    size_t m = (size_t)(R->nregs - g0 < BATCH ? R->nregs - g0 : BATCH);
    for (size_t k = 0; k < m; k++) {
      uint64_t g = g0 + k;
      B.code[0][k] = code_id(E->practice, R->rg_row[g]);
      B.i64[0][k] = tsr__ep_rg_patient(R, g);
      B.valid[0][k] = R->rg_end[g] != TSR_DATE_NONE;
    }
    tsr_pq_col cols[4] = {
        {B.i64[0], NULL}, {B.code[0], NULL}, {R->rg_start + g0, NULL}, {R->rg_end + g0, B.valid[0]}};
    rc = tsr_pq_write(w, cols, m, &j->err);
  }
  job_close(j, w, &B, rc);
  tsr__free(dv);
}

int tsr_episodes_write(const tsr_episodes *E, const char *dir, tsr_error *err) {
  void (*const fn[4])(file_job *) = {write_spells, write_episodes, write_cips, write_regs};
  int nj = E->gp ? 4 : 3;
  int threads = tsr__threads(E->threads);
  int outer = threads < nj ? threads : nj;
  file_job job[4];
  for (int k = 0; k < 4; k++) {
    job[k] = (file_job){E, dir, outer > 1 ? 1 : threads, {0}, 0};
  }
  /* the largest file first, so the others share the remaining threads */
#pragma omp parallel for num_threads(outer) schedule(dynamic, 1) if (outer > 1)
  for (int k = 0; k < nj; k++) fn[k](&job[k]);
  for (int k = 0; k < nj; k++)
    if (job[k].rc) {
      if (err) *err = job[k].err;
      return job[k].rc;
    }
  return 0;
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
