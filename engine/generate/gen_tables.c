/* Loads the generator's frequency tables (datasets/, embedded at build
 * time) into arrays with O(1) weighted sampling, and synthesises the GP
 * practices and hospital providers that give each postcode area its local
 * catchment. Loaded once per run; read-only afterwards, so threads share it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate/gen_internal.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#define TSR__TABLE(sym)                 \
  extern const unsigned char sym[];     \
  extern const size_t sym##_len;
TSR__TABLE(tsr__tbl_names_surnames_csv)
TSR__TABLE(tsr__tbl_names_given_male_csv)
TSR__TABLE(tsr__tbl_names_given_female_csv)
TSR__TABLE(tsr__tbl_names_nicknames_csv)
TSR__TABLE(tsr__tbl_geo_postcode_areas_csv)
TSR__TABLE(tsr__tbl_geo_streets_csv)
TSR__TABLE(tsr__tbl_geo_communal_csv)
TSR__TABLE(tsr__tbl_clinical_icd10_csv)
TSR__TABLE(tsr__tbl_clinical_opcs4_csv)

/* --- A tiny reader for our own tables (no quoting, see PROVENANCE.md) ------ */
typedef struct {
  const char *name;
  const char *p, *end;
  uint32_t line;
  char *f[8];
  int nf;
  tsr__arena *arena;
} tbl_reader;

static int tbl_open(tbl_reader *t, const char *name, const unsigned char *data, size_t len, const char *header,
                    tsr__arena *arena, tsr_error *err);

/* Reads the next row into t->f (arena copies). 1 = row, 0 = end, <0 error. */
static int tbl_next(tbl_reader *t, int want, tsr_error *err) {
  while (t->p < t->end) {
    const char *eol = memchr(t->p, '\n', (size_t)(t->end - t->p));
    if (!eol) eol = t->end;
    const char *s = t->p, *e = eol;
    t->p = eol < t->end ? eol + 1 : t->end;
    t->line++;
    if (e > s && e[-1] == '\r') e--;
    if (e == s) continue;
    t->nf = 0;
    for (;;) {
      const char *c = memchr(s, ',', (size_t)(e - s));
      const char *fe = c ? c : e;
      if (t->nf == 8) break;
      t->f[t->nf] = tsr__arena_strndup(t->arena, s, (size_t)(fe - s));
      if (!t->f[t->nf]) return tsr_error_set(err, TSR_ENOMEM, t->name, t->line, 0, "out of memory");
      t->nf++;
      if (!c) break;
      s = c + 1;
    }
    if (t->nf != want)
      return tsr_error_set(err, TSR_EPARSE, t->name, t->line, 0, "expected %d fields, found %d", want, t->nf);
    for (int i = 0; i < t->nf; i++)
      if (!t->f[i][0]) return tsr_error_set(err, TSR_EPARSE, t->name, t->line, 0, "field %d is empty", i + 1);
    return 1;
  }
  return 0;
}

static int tbl_open(tbl_reader *t, const char *name, const unsigned char *data, size_t len, const char *header,
                    tsr__arena *arena, tsr_error *err) {
  t->name = name;
  t->p = (const char *)data;
  t->end = t->p + len;
  t->line = 0;
  t->arena = arena;
  const char *eol = memchr(t->p, '\n', len);
  size_t hl = eol ? (size_t)(eol - t->p) : len;
  if (hl && t->p[hl - 1] == '\r') hl--;
  if (hl != strlen(header) || memcmp(t->p, header, hl) != 0)
    return tsr_error_set(err, TSR_EPARSE, name, 1, 1, "expected header '%s'", header);
  t->p = eol ? eol + 1 : t->end;
  t->line = 1;
  return 0;
}

static int parse_weight(tbl_reader *t, const char *s, double *out, tsr_error *err) {
  char *end;
  double v = strtod(s, &end);
  if (*end || v <= 0.0) return tsr_error_set(err, TSR_EPARSE, t->name, t->line, 0, "bad weight '%s'", s);
  *out = v;
  return 0;
}

/* --- Vose alias tables --------------------------------------------------------- */
static int alias_build(tsr__alias *a, const double *w, uint32_t n, tsr__arena *arena) {
  a->n = n;
  a->prob = tsr__arena_alloc(arena, sizeof(float) * n, 16);
  a->alias = tsr__arena_alloc(arena, sizeof(uint32_t) * n, 16);
  double *p = tsr__malloc(sizeof(double) * n);
  uint32_t *small = tsr__malloc(sizeof(uint32_t) * n), *large = tsr__malloc(sizeof(uint32_t) * n);
  if (!a->prob || !a->alias || !p || !small || !large) {
    tsr__free(p);
    tsr__free(small);
    tsr__free(large);
    return TSR_ENOMEM;
  }
  double sum = 0;
  for (uint32_t i = 0; i < n; i++) sum += w[i];
  uint32_t ns = 0, nl = 0;
  for (uint32_t i = 0; i < n; i++) {
    p[i] = w[i] * n / sum;
    if (p[i] < 1.0)
      small[ns++] = i;
    else
      large[nl++] = i;
  }
  while (ns && nl) {
    uint32_t s = small[--ns], l = large[--nl];
    a->prob[s] = (float)p[s];
    a->alias[s] = l;
    p[l] = (p[l] + p[s]) - 1.0;
    if (p[l] < 1.0)
      small[ns++] = l;
    else
      large[nl++] = l;
  }
  while (nl) {
    uint32_t l = large[--nl];
    a->prob[l] = 1.0f;
    a->alias[l] = l;
  }
  while (ns) {
    uint32_t s = small[--ns];
    a->prob[s] = 1.0f;
    a->alias[s] = s;
  }
  tsr__free(p);
  tsr__free(small);
  tsr__free(large);
  return 0;
}

uint32_t tsr__alias_draw(const tsr__alias *a, tsr__rng *r) {
  uint64_t x = tsr__rng_u64(r);
  uint32_t i = (uint32_t)(((x >> 32) * a->n) >> 32);
  float u = (float)(x & 0xFFFFFFu) * (1.0f / 16777216.0f);
  return u < a->prob[i] ? i : a->alias[i];
}

/* --- Loaders --------------------------------------------------------------------- */
typedef struct strw_list {
  char **s;
  double *w;
  uint32_t n, cap;
} strw_list;

static int add_rare_surnames(tsr__gen_tables *t, strw_list *l);

static int list_push(strw_list *l, char *s, double w) {
  if (l->n == l->cap) {
    uint32_t cap = l->cap ? l->cap * 2 : 256;
    char **ns = tsr__realloc(l->s, sizeof(char *) * cap);
    if (!ns) return TSR_ENOMEM;
    l->s = ns;
    double *nw = tsr__realloc(l->w, sizeof(double) * cap);
    if (!nw) return TSR_ENOMEM;
    l->w = nw;
    l->cap = cap;
  }
  l->s[l->n] = s;
  l->w[l->n] = w;
  l->n++;
  return 0;
}

static void list_free(strw_list *l) {
  tsr__free(l->s);
  tsr__free(l->w);
  memset(l, 0, sizeof *l);
}

static int load_names(tsr__gen_tables *t, const char *label, const unsigned char *data, size_t len,
                      tsr__name **out, uint32_t *n_out, tsr__alias *alias, int add_rare, tsr_error *err) {
  tbl_reader rd;
  TSR_FORWARD_IF_ERROR(tbl_open(&rd, label, data, len, "name,weight", &t->arena, err));
  strw_list l = {0};
  int rc;
  while ((rc = tbl_next(&rd, 2, err)) == 1) {
    double w = 0;
    if ((rc = parse_weight(&rd, rd.f[1], &w, err)) < 0) break;
    if ((rc = list_push(&l, rd.f[0], w)) < 0) break;
  }
  if (rc == 0 && l.n == 0) rc = tsr_error_set(err, TSR_EPARSE, label, 0, 0, "table is empty");
  if (rc == 0 && add_rare) rc = add_rare_surnames(t, &l);
  if (rc == 0) {
    *out = tsr__arena_alloc(&t->arena, sizeof(tsr__name) * l.n, 8);
    if (!*out) rc = TSR_ENOMEM;
  }
  if (rc == 0) {
    for (uint32_t i = 0; i < l.n; i++) {
      (*out)[i].s = l.s[i];
      (*out)[i].len = (uint16_t)strlen(l.s[i]);
      (*out)[i].nick_first = -1;
      (*out)[i].nick_count = 0;
    }
    *n_out = l.n;
    rc = alias_build(alias, l.w, l.n, &t->arena);
  }
  list_free(&l);
  return rc < 0 ? rc : 0;
}

/* The surname table lists real names with their frequency per 10 million
 * people, but real names below its cut-off still belong to about half the
 * population, spread over hundreds of thousands of rare names. That weight
 * goes to a pool of synthetic rare surnames built from English-looking
 * syllables, deterministic (not seed-dependent), distinct from each other and
 * from the table. The tail is long, as term-frequency adjustment needs.
 *
 * Known slip, kept because fixing it changes every generated file: the walk
 * below multiplies k * 2654435761u in 32 bits, which wraps, so it meets only
 * 38,560 of the 61,200 combinations and the pool holds 38,491 names, not
 * 60,000. Each still carries rest / RARE_SURNAMES, so the rare tail has 43% of
 * the weight instead of 54%, and common names are 1.24x their real shares
 * (Smith 1.56%, not 1.26%). tests/unit/generate_test.c pins these figures. */
#define RARE_SURNAMES 60000
#define SURNAME_SCALE 10000000.0

static const char *const k_onset[] = {"Ab", "Al", "Ash", "Bar", "Bel", "Bir", "Blen", "Bran", "Bur", "Cal", "Car", "Chal",
                                      "Cor", "Cul", "Dal", "Den", "Dor", "Dun", "El", "Fan", "Fel", "Gar", "Gil", "Gor",
                                      "Hal", "Har", "Hen", "Hol", "Kel", "Ken", "Kir", "Lam", "Lan", "Mar", "Mel", "Mor",
                                      "Nor", "Pal", "Pen", "Quen", "Ral", "Ren", "Sal", "Sel", "Tal", "Tan", "Ten", "Ver",
                                      "Wal", "Wen", "Yar"};
static const char *const k_middle[] = {"", "a", "e", "i", "o", "er", "in", "ing", "ter", "ver", "den", "ston"};
static const char *const k_coda[] = {"by", "combe", "dale", "den", "field", "ford", "gate", "ham", "hurst", "ington",
                                     "ley", "lock", "low", "more", "ridge", "sey", "shaw", "stead", "thorpe", "ton",
                                     "well", "wick", "win", "wood", "worth"};
#define N_ONSET (sizeof k_onset / sizeof k_onset[0])
#define N_MIDDLE (sizeof k_middle / sizeof k_middle[0])
#define N_CODA (sizeof k_coda / sizeof k_coda[0])

static int add_rare_surnames(tsr__gen_tables *t, strw_list *l) {
  double covered = 0;
  for (uint32_t i = 0; i < l->n; i++) covered += l->w[i];
  double rest = SURNAME_SCALE - covered;
  if (rest <= 0) return 0;
  /* open-addressing set of names already present */
  uint32_t cap = 1u << 18;
  uint64_t *set = tsr__calloc(cap, sizeof *set);
  if (!set) return TSR_ENOMEM;
  for (uint32_t i = 0; i < l->n; i++) {
    uint64_t h = XXH3_64bits(l->s[i], strlen(l->s[i])) | 1u;
    uint32_t j = (uint32_t)h & (cap - 1);
    while (set[j] && set[j] != h) j = (j + 1) & (cap - 1);
    set[j] = h;
  }
  uint32_t made = 0;
  double w = rest / RARE_SURNAMES;
  int rc = 0;
  for (uint32_t k = 0; made < RARE_SURNAMES && k < N_ONSET * N_MIDDLE * N_CODA * 4 && !rc; k++) {
    /* walk the combinations in a scrambled but fixed order */
    uint32_t x = (uint32_t)((k * 2654435761u) % (uint32_t)(N_ONSET * N_MIDDLE * N_CODA * 4));
    char name[48];
    const char *o = k_onset[x % N_ONSET], *m = k_middle[(x / N_ONSET) % N_MIDDLE], *c = k_coda[(x / (N_ONSET * N_MIDDLE)) % N_CODA];
    uint32_t variant = x / (uint32_t)(N_ONSET * N_MIDDLE * N_CODA); /* 0..3: plain, -e, -s, doubled consonant */
    if (variant == 3) /* Ash-n-ley: a linking consonant */
      snprintf(name, sizeof name, "%sn%s%s", o, m, c);
    else
      snprintf(name, sizeof name, "%s%s%s%s", o, m, c, variant == 1 ? "e" : variant == 2 ? "s" : "");
    uint64_t h = XXH3_64bits(name, strlen(name)) | 1u;
    uint32_t j = (uint32_t)h & (cap - 1);
    while (set[j] && set[j] != h) j = (j + 1) & (cap - 1);
    if (set[j] == h) continue;
    set[j] = h;
    char *copy = tsr__arena_strndup(&t->arena, name, strlen(name));
    if (!copy || list_push(l, copy, w) < 0) rc = TSR_ENOMEM;
    made++;
  }
  tsr__free(set);
  t->n_rare_surnames = made;
  return rc;
}

static int load_strings(tsr__gen_tables *t, const char *label, const unsigned char *data, size_t len,
                        const char *header, const char ***out, uint32_t *n_out, tsr_error *err) {
  tbl_reader rd;
  TSR_FORWARD_IF_ERROR(tbl_open(&rd, label, data, len, header, &t->arena, err));
  strw_list l = {0};
  int rc;
  while ((rc = tbl_next(&rd, 1, err)) == 1)
    if ((rc = list_push(&l, rd.f[0], 1.0)) < 0) break;
  if (rc == 0) {
    *out = tsr__arena_alloc(&t->arena, sizeof(char *) * (l.n ? l.n : 1), 8);
    if (!*out) rc = TSR_ENOMEM;
  }
  if (rc == 0) {
    memcpy((void *)*out, l.s, sizeof(char *) * l.n);
    *n_out = l.n;
  }
  list_free(&l);
  return rc < 0 ? rc : 0;
}

static int load_codes(tsr__gen_tables *t, const char *label, const unsigned char *data, size_t len,
                      tsr__code **out, uint32_t *n_out, tsr__alias *alias, tsr_error *err) {
  tbl_reader rd;
  TSR_FORWARD_IF_ERROR(tbl_open(&rd, label, data, len, "code,description,weight", &t->arena, err));
  strw_list l = {0};
  int rc;
  while ((rc = tbl_next(&rd, 3, err)) == 1) {
    double w = 0;
    if ((rc = parse_weight(&rd, rd.f[2], &w, err)) < 0) break;
    if ((rc = list_push(&l, rd.f[0], w)) < 0) break;
  }
  if (rc == 0 && l.n == 0) rc = tsr_error_set(err, TSR_EPARSE, label, 0, 0, "table is empty");
  if (rc == 0) {
    *out = tsr__arena_alloc(&t->arena, sizeof(tsr__code) * l.n, 8);
    if (!*out) rc = TSR_ENOMEM;
  }
  if (rc == 0) {
    for (uint32_t i = 0; i < l.n; i++) {
      (*out)[i].s = l.s[i];
      (*out)[i].len = (uint8_t)strlen(l.s[i]);
    }
    *n_out = l.n;
    rc = alias_build(alias, l.w, l.n, &t->arena);
  }
  list_free(&l);
  return rc < 0 ? rc : 0;
}

typedef struct {
  const char *formal, *nick;
} nick_pair;

static int nick_cmp(const void *a, const void *b) {
  return strcmp(((const nick_pair *)a)->formal, ((const nick_pair *)b)->formal);
}

static void attach_nicks(tsr__name *names, uint32_t n, const nick_pair *pairs, uint32_t np) {
  for (uint32_t i = 0; i < n; i++) {
    nick_pair key = {names[i].s, NULL};
    const nick_pair *hit = bsearch(&key, pairs, np, sizeof *pairs, nick_cmp);
    if (!hit) continue;
    while (hit > pairs && strcmp(hit[-1].formal, names[i].s) == 0) hit--;
    uint32_t first = (uint32_t)(hit - pairs), c = 0;
    while (first + c < np && strcmp(pairs[first + c].formal, names[i].s) == 0) c++;
    names[i].nick_first = (int16_t)first;
    names[i].nick_count = (uint8_t)(c > 255 ? 255 : c);
  }
}

static int load_nicknames(tsr__gen_tables *t, tsr_error *err) {
  tbl_reader rd;
  TSR_FORWARD_IF_ERROR(tbl_open(&rd, "datasets/names/nicknames.csv", tsr__tbl_names_nicknames_csv,
                                tsr__tbl_names_nicknames_csv_len, "formal,nickname", &t->arena, err));
  nick_pair *pairs = NULL;
  uint32_t n = 0, cap = 0;
  int rc;
  while ((rc = tbl_next(&rd, 2, err)) == 1) {
    if (n == cap) {
      cap = cap ? cap * 2 : 256;
      nick_pair *np = tsr__realloc(pairs, sizeof *pairs * cap);
      if (!np) {
        rc = TSR_ENOMEM;
        break;
      }
      pairs = np;
    }
    pairs[n].formal = rd.f[0];
    pairs[n].nick = rd.f[1];
    n++;
  }
  if (rc == 0 && n > 32767) rc = tsr_error_set(err, TSR_ELIMIT, "datasets/names/nicknames.csv", 0, 0, "too many rows");
  if (rc == 0) {
    qsort(pairs, n, sizeof *pairs, nick_cmp);
    t->nicks = tsr__arena_alloc(&t->arena, sizeof(char *) * (n ? n : 1), 8);
    if (!t->nicks) rc = TSR_ENOMEM;
  }
  if (rc == 0) {
    for (uint32_t i = 0; i < n; i++) t->nicks[i] = pairs[i].nick;
    t->n_nicks = n;
    attach_nicks(t->male, t->n_male, pairs, n);
    attach_nicks(t->female, t->n_female, pairs, n);
  }
  tsr__free(pairs);
  return rc < 0 ? rc : 0;
}

static int load_areas(tsr__gen_tables *t, tsr_error *err) {
  const char *label = "datasets/geo/postcode_areas.csv";
  tbl_reader rd;
  TSR_FORWARD_IF_ERROR(tbl_open(&rd, label, tsr__tbl_geo_postcode_areas_csv, tsr__tbl_geo_postcode_areas_csv_len,
                                "area,post_town,region,population_weight,districts", &t->arena, err));
  uint32_t cap = 256;
  t->areas = tsr__arena_alloc(&t->arena, sizeof(tsr__area) * cap, 8);
  double *w = tsr__malloc(sizeof(double) * cap);
  if (!t->areas || !w) {
    tsr__free(w);
    return TSR_ENOMEM;
  }
  int rc;
  t->n_areas = 0;
  while ((rc = tbl_next(&rd, 5, err)) == 1) {
    if (t->n_areas == cap) {
      rc = tsr_error_set(err, TSR_ELIMIT, label, rd.line, 0, "more than %u areas", cap);
      break;
    }
    tsr__area *a = &t->areas[t->n_areas];
    size_t cl = strlen(rd.f[0]);
    char *endp;
    long nd = strtol(rd.f[4], &endp, 10);
    if (cl < 1 || cl > 2 || *endp || nd < 1 || nd > 99 || strlen(rd.f[2]) != 1) {
      rc = tsr_error_set(err, TSR_EPARSE, label, rd.line, 0, "bad area row");
      break;
    }
    if ((rc = parse_weight(&rd, rd.f[3], &w[t->n_areas], err)) < 0) break;
    a->code = rd.f[0];
    a->code_len = (uint8_t)cl;
    a->region = rd.f[2][0];
    a->districts = (uint16_t)nd;
    t->n_areas++;
  }
  if (rc == 0 && t->n_areas == 0) rc = tsr_error_set(err, TSR_EPARSE, label, 0, 0, "table is empty");
  if (rc == 0) rc = alias_build(&t->a_area, w, t->n_areas, &t->arena);
  /* organisations per area, from population (thousands): one GP practice per
   * ~10k people, one acute provider per ~450k (England's ratios) */
  uint32_t np = 0, nv = 0;
  for (uint32_t i = 0; rc == 0 && i < t->n_areas; i++) {
    tsr__area *a = &t->areas[i];
    uint32_t p = (uint32_t)(w[i] / 10.0 + 0.5), v = (uint32_t)(w[i] / 450.0 + 0.5);
    a->first_practice = np;
    a->n_practices = p ? p : 1;
    a->first_provider = nv;
    a->n_providers = v ? v : 1;
    np += a->n_practices;
    nv += a->n_providers;
  }
  tsr__free(w);
  if (rc < 0) return rc;
  if (nv > 961) return tsr_error_set(err, TSR_ELIMIT, label, 0, 0, "too many providers (%u) for 3-character codes", nv);
  t->n_practices = np;
  t->n_providers = nv;
  t->practice_code = tsr__arena_alloc(&t->arena, sizeof *t->practice_code * np, 8);
  t->practice_area = tsr__arena_alloc(&t->arena, sizeof(uint32_t) * np, 8);
  t->practice_district = tsr__arena_alloc(&t->arena, sizeof(uint16_t) * np, 8);
  t->provider_code = tsr__arena_alloc(&t->arena, sizeof *t->provider_code * nv, 8);
  t->provider_area = tsr__arena_alloc(&t->arena, sizeof(uint32_t) * nv, 8);
  t->provider_named = tsr__arena_alloc(&t->arena, nv, 8);
  if (!t->practice_code || !t->practice_area || !t->practice_district || !t->provider_code || !t->provider_area ||
      !t->provider_named)
    return TSR_ENOMEM;
  uint32_t region_count[128] = {0};
  for (uint32_t i = 0; i < t->n_areas; i++) {
    tsr__area *a = &t->areas[i];
    unsigned char reg = (unsigned char)a->region & 127u;
    for (uint32_t k = 0; k < a->n_practices; k++) {
      uint32_t pi = a->first_practice + k;
      uint32_t num = 10001u + region_count[reg]++;
      snprintf(t->practice_code[pi], sizeof t->practice_code[pi], "%c%05u", a->region, num % 100000u);
      t->practice_area[pi] = i;
      /* practices spread over the districts: a local catchment */
      t->practice_district[pi] = (uint16_t)(1u + (k * a->districts) / a->n_practices);
    }
    for (uint32_t k = 0; k < a->n_providers; k++) t->provider_area[a->first_provider + k] = i;
  }
  static const char alnum[] = "0123456789ABCDEFGHJKLMNPQRTVWXY"; /* 31 symbols */
  for (uint32_t k = 0; k < nv; k++) {
    uint32_t code = (k * 577u + 101u) % 961u; /* 577 is coprime to 961: a bijection */
    t->provider_code[k][0] = 'R';
    t->provider_code[k][1] = alnum[code / 31u];
    t->provider_code[k][2] = alnum[code % 31u];
    t->provider_code[k][3] = '\0';
  }
  return 0;
}

static int load_communal(tsr__gen_tables *t, tsr_error *err) {
  const char *label = "datasets/geo/communal.csv";
  tbl_reader rd;
  TSR_FORWARD_IF_ERROR(tbl_open(&rd, label, tsr__tbl_geo_communal_csv, tsr__tbl_geo_communal_csv_len, "kind,name",
                                &t->arena, err));
  strw_list ch = {0}, pr = {0}, ha = {0};
  int rc;
  while ((rc = tbl_next(&rd, 2, err)) == 1) {
    strw_list *l = strcmp(rd.f[0], "care_home") == 0   ? &ch
                   : strcmp(rd.f[0], "prison") == 0     ? &pr
                   : strcmp(rd.f[0], "student_hall") == 0 ? &ha
                                                          : NULL;
    if (!l) {
      rc = tsr_error_set(err, TSR_EPARSE, label, rd.line, 1, "unknown kind '%s'", rd.f[0]);
      break;
    }
    if ((rc = list_push(l, rd.f[1], 1.0)) < 0) break;
  }
  if (rc == 0 && (!ch.n || !pr.n || !ha.n)) rc = tsr_error_set(err, TSR_EPARSE, label, 0, 0, "a kind has no rows");
  strw_list *ls[3] = {&ch, &pr, &ha};
  const char ***outs[3] = {&t->care_homes, &t->prisons, &t->halls};
  uint32_t *ns[3] = {&t->n_care_homes, &t->n_prisons, &t->n_halls};
  for (int k = 0; k < 3; k++) {
    if (rc == 0) {
      *outs[k] = tsr__arena_alloc(&t->arena, sizeof(char *) * ls[k]->n, 8);
      if (!*outs[k])
        rc = TSR_ENOMEM;
      else {
        memcpy((void *)*outs[k], ls[k]->s, sizeof(char *) * ls[k]->n);
        *ns[k] = ls[k]->n;
      }
    }
    list_free(ls[k]);
  }
  return rc < 0 ? rc : 0;
}

int tsr__gen_tables_load(tsr__gen_tables *t, uint64_t seed, double named_share, tsr_error *err) {
  memset(t, 0, sizeof *t);
  tsr__arena_init(&t->arena, (size_t)1 << 20);
  int rc = load_names(t, "datasets/names/surnames.csv", tsr__tbl_names_surnames_csv,
                      tsr__tbl_names_surnames_csv_len, &t->surnames, &t->n_surnames, &t->a_surname, 1, err);
  if (!rc)
    rc = load_names(t, "datasets/names/given_male.csv", tsr__tbl_names_given_male_csv,
                    tsr__tbl_names_given_male_csv_len, &t->male, &t->n_male, &t->a_male, 0, err);
  if (!rc)
    rc = load_names(t, "datasets/names/given_female.csv", tsr__tbl_names_given_female_csv,
                    tsr__tbl_names_given_female_csv_len, &t->female, &t->n_female, &t->a_female, 0, err);
  if (!rc) rc = load_nicknames(t, err);
  if (!rc) rc = load_areas(t, err);
  if (!rc)
    rc = load_strings(t, "datasets/geo/streets.csv", tsr__tbl_geo_streets_csv, tsr__tbl_geo_streets_csv_len,
                      "street", &t->streets, &t->n_streets, err);
  if (!rc && t->n_streets == 0) rc = tsr_error_set(err, TSR_EPARSE, "datasets/geo/streets.csv", 0, 0, "table is empty");
  if (!rc) rc = load_communal(t, err);
  if (!rc)
    rc = load_codes(t, "datasets/clinical/icd10.csv", tsr__tbl_clinical_icd10_csv, tsr__tbl_clinical_icd10_csv_len,
                    &t->icd, &t->n_icd, &t->a_icd, err);
  if (!rc)
    rc = load_codes(t, "datasets/clinical/opcs4.csv", tsr__tbl_clinical_opcs4_csv, tsr__tbl_clinical_opcs4_csv_len,
                    &t->opcs, &t->n_opcs, &t->a_opcs, err);
  if (!rc)
    for (uint32_t k = 0; k < t->n_icd; k++)
      if (strcmp(t->icd[k].s, "Z511") == 0) t->icd_chemo = k;
  if (!rc) {
    for (uint32_t k = 0; k < t->n_providers; k++) {
      tsr__rng r;
      tsr__rng_init(&r, seed, TSR__S_TABLES, k);
      t->provider_named[k] = (uint8_t)tsr__rng_chance(&r, named_share);
    }
  }
  if (rc == TSR_ENOMEM && err && !err->msg[0]) tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory loading tables");
  if (rc) tsr__gen_tables_free(t);
  return rc;
}

void tsr__gen_tables_free(tsr__gen_tables *t) {
  tsr__arena_free(&t->arena);
  memset(t, 0, sizeof *t);
}
