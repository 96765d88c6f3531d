/* The generator's driver: tsr_generate() checks the options, prepares the
 * run's shared state, and runs the chunks in parallel, copying each chunk's
 * buffers into the seven CSV files in chunk order, then writes the two JSON
 * files. Synthetic GP registrations and hospital episodes with ground truth.
 *
 * DESIGN
 *   patients are numbered 0..N-1 and cut into chunks of TSR__GEN_CHUNK (4096)
 *   patients. A chunk is a pure function of (seed, chunk index, parameters):
 *
 *     chunk c ──► households (family / twins / communal) ──► address history
 *            └──► patients ──► hospital history (CIPS > spells > episodes)
 *                          └──► GP registrations (one per practice period)
 *            rows are corrupted per row (own RNG stream), staged, shuffled
 *            within the chunk, then formatted with ids = c*10^6 + position
 *
 *   files:  gen_people.c  households, addresses, patients
 *           gen_record.c  a record as a source sees it (corruption), staging
 *           gen_gp.c      GP registrations      gen_hes.c  hospital episodes
 *           gen_chunk.c   one chunk: shuffle, ids, truth and opt-out rows
 *           gen_json.c    generate_summary.json and link.json
 *           gen_tables.c  frequency tables      gen_corrupt.c  typo/date/NHS errors
 *           gen_params.c  the parameter catalogue and scenarios
 *
 *   threads: #pragma omp for ordered over chunks; each thread fills its own
 *   buffers, the ordered section reserves each chunk's file offsets in chunk
 *   order, and the copies into the files then run in parallel (pwrite). So
 *   the bytes never depend on the thread count, and memory is a few chunks'
 *   worth whatever N is.
 *
 *   Every record is generated from the patient's true state "as at" the
 *   record's date (address epoch, surname before/after marriage), and then
 *   corrupted; each corruption is counted with the number of records that
 *   could have received it, so realised rates can be checked. */
#include <string.h>

#include <omp.h>

#include "generate/gen_internal.h"

/* --- files -------------------------------------------------------------------------- */
static const char *const k_file[TSR__F_COUNT] = {"gp.csv", "hes_apc.csv", "truth.csv", "truth_spells.csv",
                                                 "truth_patients.csv", "optouts_type1.csv", "optouts_ndoo.csv"};
static const char *const k_header[TSR__F_COUNT] = {
    "record_id,nhs_number,given_name,family_name,date_of_birth,sex,postcode,address_line1,practice_code,"
    "registration_date,deregistration_date\n",
    "epikey,newnhsno,dob,sex,homeadd,procode,lopatid,admidate,epistart,epiend,disdate,epiorder,epistat,admimeth,"
    "admisorc,disdest,dismeth,classpat,diag_4_01,opertn_4_01,given_name,family_name\n",
    "source,record_id,patient_id\n",
    "epikey,spell_id,cips_id\n",
    "patient_id,nhs_number,given_name,birth_family_name,later_family_name,surname_change_date,date_of_birth,sex,"
    "household_id,residence,twin,type1_optout,ndoo_optout,death_date\n",
    "nhs_number\n",
    "nhs_number\n"};

static int ctx_dates(tsr__gen_ctx *g) {
  g->date_lo = tsr__days_from_ymd(1900, 1, 1);
  g->date_hi = tsr__days_from_ymd(2100, 12, 31);
  size_t n = (size_t)(g->date_hi - g->date_lo + 1);
  g->iso = tsr__malloc(n * sizeof *g->iso);
  g->uk = tsr__malloc(n * sizeof *g->uk);
  if (!g->iso || !g->uk) return TSR_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    char t[11];
    tsr__gen_fmt_date(g->date_lo + (int32_t)i, 0, t);
    memcpy(g->iso[i], t, 10);
    tsr__gen_fmt_date(g->date_lo + (int32_t)i, 1, t);
    memcpy(g->uk[i], t, 10);
  }
  return 0;
}

/* The run's shared state; 0 or TSR_ENOMEM. */
static int ctx_init(tsr__gen_ctx *g, const tsr_gen_opts *o, const tsr__gen_tables *t) {
  g->o = o;
  g->t = t;
  tsr__gen_people_init(g);
  tsr__gen_hes_init(g);
  int rc = ctx_dates(g);
  if (!rc) rc = tsr__gen_hes_calibrate(g);
  return rc;
}

static void worker_free(tsr__gen_worker *w) {
  tsr__buf_free(&w->gp.text);
  tsr__buf_free(&w->hes.text);
  tsr__free(w->gp.off);
  tsr__free(w->gp.pat);
  tsr__free(w->gp.spell);
  tsr__free(w->hes.off);
  tsr__free(w->hes.pat);
  tsr__free(w->hes.spell);
  tsr__free(w->spell_first);
  tsr__free(w->spell_cips);
  tsr__free(w->perm);
  tsr__free(w->pos);
  for (int i = 0; i < TSR__F_COUNT; i++) tsr__buf_free(tsr__gen_out(w, i));
  tsr__free(w);
}

/* A thread's worker with its buffers, or NULL. */
static tsr__gen_worker *worker_new(void) {
  tsr__gen_worker *w = tsr__calloc(1, sizeof *w);
  if (!w) return NULL;
  tsr__buf_init(&w->gp.text, (size_t)1 << 20);
  tsr__buf_init(&w->hes.text, (size_t)2 << 20);
  for (int i = 0; i < TSR__F_COUNT; i++) tsr__buf_init(tsr__gen_out(w, i), (size_t)1 << 20);
  return w;
}

int tsr_generate(const tsr_gen_opts *o, tsr_gen_summary *summary, tsr_error *err) {
  tsr_error_clear(err);
  if (!o || !o->out_dir || !o->out_dir[0]) return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "no output folder given");
  if (o->patients < 1 || o->patients > 90000000u)
    return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "patients must be between 1 and 90,000,000 (got %llu)",
                         (unsigned long long)o->patients);
  if (o->period_end <= o->period_start)
    return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "data period end must be after its start");
  if (o->threads < 0) return tsr_error_set(err, TSR_EINVAL, NULL, 0, 0, "threads must be >= 0");
  double t0 = tsr__now();
  TSR_FORWARD_IF_ERROR(tsr__mkdirs(o->out_dir, err));
  tsr__gen_tables tables;
  TSR_FORWARD_IF_ERROR(tsr__gen_tables_load(&tables, o->seed, o->param[TSR__GP_HES_NAMED], err));
  tsr__gen_ctx g;
  memset(&g, 0, sizeof g);
  int rc = ctx_init(&g, o, &tables);
  if (rc) tsr_error_set(err, rc, NULL, 0, 0, "out of memory preparing the generator");

  tsr__outfile files[TSR__F_COUNT];
  for (int i = 0; i < TSR__F_COUNT; i++) files[i].fd = -1;
  for (int i = 0; i < TSR__F_COUNT && !rc; i++) {
    rc = tsr__outfile_open(&files[i], o->out_dir, k_file[i], err);
    if (!rc) rc = tsr__outfile_write(&files[i], k_header[i], strlen(k_header[i]), err);
  }
  tsr_gen_summary sum;
  memset(&sum, 0, sizeof sum);
  uint64_t nchunks = (o->patients + TSR__GEN_CHUNK - 1) / TSR__GEN_CHUNK;
  int threads = tsr__threads(o->threads);
  int failed = rc != 0;
  uint64_t bytes = 0;
  tsr__progress prog;
  tsr__progress_start(&prog, "generate", o->patients);

#pragma omp parallel num_threads(threads) if (!failed)
  {
    tsr__gen_worker *w = worker_new();
    if (!w) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for ordered schedule(dynamic, 1)
    for (uint64_t c = 0; c < nchunks; c++) {
      int f;
#pragma omp atomic read
      f = failed;
      if (w && !f) tsr__gen_chunk(&g, w, c);
#pragma omp ordered
      {
        int bad;
#pragma omp atomic read
        bad = failed;
        if (w && !bad && w->oom) {
          bad = 1;
          tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory generating chunk %llu", (unsigned long long)c);
        }
        if (w && !bad) {
          /* only the file offsets are taken in order; the copying into the
           * files happens below, in parallel */
          for (int i = 0; i < TSR__F_COUNT; i++) {
            w->file_off[i] = tsr__outfile_reserve(&files[i], tsr__gen_out(w, i)->len);
            bytes += tsr__gen_out(w, i)->len;
          }
          uint64_t done = (c + 1) * TSR__GEN_CHUNK;
          tsr__progress_update(&prog, done > o->patients ? o->patients : done);
        }
        if (bad) {
#pragma omp atomic write
          failed = 1;
        }
      }
      int f2;
#pragma omp atomic read
      f2 = failed;
      if (w && !f2) {
        tsr_error werr;
        for (int i = 0; i < TSR__F_COUNT; i++) {
          const tsr__buf *b = tsr__gen_out(w, i);
          if (tsr__outfile_pwrite(&files[i], b->p, b->len, w->file_off[i], &werr) != 0) {
#pragma omp critical(tsr_gen_err)
            {
              if (!failed && err) *err = werr;
#pragma omp atomic write
              failed = 1;
            }
            break;
          }
        }
      }
    }
    if (w) {
#pragma omp critical(tsr_gen_merge)
      {
        for (int i = 0; i < TSR_GEN_MAX_PARAMS; i++) {
          sum.events[i] += w->events[i];
          sum.eligible[i] += w->eligible[i];
        }
        sum.gp_rows += w->n_gp;
        sum.hes_rows += w->n_hes;
        sum.spells += w->n_spells_total;
        sum.cips += w->n_cips;
        sum.households += w->n_households;
        sum.communal_patients += w->n_communal;
        sum.twins += w->n_twins;
        sum.optout_type1 += w->n_opt1;
        sum.optout_ndoo += w->n_opt2;
      }
      worker_free(w);
    }
  }
  tsr__progress_finish(&prog);
  if (failed && !rc) rc = err && err->code ? err->code : TSR_ENOMEM;
  for (int i = 0; i < TSR__F_COUNT; i++) {
    if (!rc)
      rc = tsr__outfile_commit(&files[i], err);
    else
      tsr__outfile_abort(&files[i]);
  }
  sum.patients = o->patients;
  sum.bytes_written = bytes;
  sum.seconds = tsr__now() - t0;
  if (!rc) rc = tsr__gen_write_summary(o, &sum, err);
  if (!rc) rc = tsr__gen_write_link_json(o, err);
  tsr__gen_tables_free(&tables);
  tsr__free(g.iso);
  tsr__free(g.uk);
  if (summary) *summary = sum;
  return rc;
}
