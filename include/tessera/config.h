/* The run configuration: a JSON file parsed in exactly one place
 * (tsr_config_load) into the typed structs below. Every later stage reads
 * these structs, never the JSON.
 *
 * Errors name the key path, e.g. "sources[1].columns.dob.format", and unknown
 * keys are errors, so a typo never silently falls back to a default.
 * Source paths are resolved relative to the config file's folder.
 * The format is documented in docs/config.md. */
#ifndef TSR_CONFIG_H
#define TSR_CONFIG_H

#include "tessera/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a column holds; decides validation and standardisation (DOMAIN.md). */
#define TSR_FIELD_KIND_LIST(X) \
  X(NHS_NUMBER, "nhs_number")  \
  X(GIVEN_NAME, "given_name")  \
  X(FAMILY_NAME, "family_name") \
  X(DATE, "date")              \
  X(SEX, "sex")                \
  X(POSTCODE, "postcode")      \
  X(LOCAL_ID, "local_id")      \
  X(CODE, "code")              \
  X(TEXT, "text")              \
  X(INTEGER, "integer")

typedef enum tsr_field_kind {
#define TSR__FK_ENUM(id, name) TSR_KIND_##id,
  TSR_FIELD_KIND_LIST(TSR__FK_ENUM)
#undef TSR__FK_ENUM
  TSR_KIND_COUNT
} tsr_field_kind;

TSR_API const char *tsr_field_kind_name(tsr_field_kind k);

/* A date layout compiled from text such as "DD/MM/YYYY": up to 8 parts.
 * A format may end in a time part (" HH:MM:SS", "THH:MM:SS.SSSZ", ...):
 * it is checked when the config is read, then left out of the parts, since
 * a date field keeps the day only; has_time records that it was there. */
typedef struct tsr_date_format {
  char text[48];   /* the format as written */
  uint8_t n;
  uint8_t part[8]; /* 'Y' (4 digits), 'y' (2 digits), 'M', 'D', or a literal byte */
  uint8_t has_time; /* the format ends in a time part (not in part[]) */
} tsr_date_format;

#define TSR_MAX_DATE_FORMATS 4

typedef struct tsr_column_cfg {
  char *column;   /* header name; with header=false, the 1-based position as text */
  char *field;    /* canonical field name shared across sources; default: column */
  tsr_field_kind kind;
  int required;   /* a row whose value is missing or invalid is rejected */
  uint8_t n_formats;
  tsr_date_format formats[TSR_MAX_DATE_FORMATS]; /* dates only; tried in order */
  int32_t min_date, max_date; /* dates only: validity window, days since 1970 */
} tsr_column_cfg;

/* Where a source's records come from. Type 1 opt-outs (DOMAIN.md) remove a
 * patient's GP-derived records from extracts, so extracts must know which
 * sources are GP data. */
typedef enum tsr_source_origin { TSR_ORIGIN_UNSET = 0, TSR_ORIGIN_GP, TSR_ORIGIN_HOSPITAL, TSR_ORIGIN_OTHER } tsr_source_origin;

typedef struct tsr_source_cfg {
  char *name;
  char *path;      /* resolved: absolute, or relative to the working folder */
  char delimiter;  /* default ',' */
  char quote;      /* default '"' */
  int header;      /* default 1 */
  int trim;        /* trim spaces and tabs around unquoted fields; default 1 */
  char **null_tokens; /* values meaning "missing" (after trimming); default {""} */
  uint32_t n_null_tokens;
  char *id_column; /* the column holding the source's own record id */
  tsr_column_cfg *columns;
  uint32_t n_columns;
  double max_reject_share; /* fail the run above this share; default 0.01 */
  char **event_dates;      /* date fields giving "first/last seen"; default: every date field but dob */
  uint32_t n_event_dates;
  tsr_source_origin origin; /* "origin": "gp", "hospital" or "other"; UNSET when absent */
} tsr_source_cfg;

/* A part of a rule's key: a field, or a value derived from it. */
#define TSR_KEY_FN_LIST(X)                                              \
  X(VALUE, "", "the field itself")                                      \
  X(SOUNDEX, "soundex", "Soundex code of a name")                       \
  X(NYSIIS, "nysiis", "NYSIIS code of a name")                          \
  X(YEAR, "year", "year of a date")                                     \
  X(YEAR_MONTH, "year_month", "year and month of a date")               \
  X(DISTRICT, "district", "postcode district (outward code)")           \
  X(SECTOR, "sector", "postcode sector (outward code + first inward digit)") \
  X(INITIAL, "initial", "first letter of a name or text")               \
  X(FIRST3, "first3", "first three letters of a name or text")         \
  X(NORM, "norm", "text normalised: upper case, punctuation and repeated spaces folded")

typedef enum tsr_key_fn {
#define TSR__KF_ENUM(id, name, desc) TSR_KEYFN_##id,
  TSR_KEY_FN_LIST(TSR__KF_ENUM)
#undef TSR__KF_ENUM
  TSR_KEYFN_COUNT
} tsr_key_fn;

TSR_API const char *tsr_key_fn_name(tsr_key_fn f);

#define TSR_MAX_KEY_PARTS 8

typedef struct tsr_key_part {
  char *text;  /* as written: "soundex(family_name)" */
  char *field; /* "family_name" */
  tsr_key_fn fn;
  tsr_field_kind kind; /* the field's kind (the same in every source that has it) */
} tsr_key_part;

/* An exact-agreement rule: a deterministic step, or a blocking rule. */
typedef struct tsr_rule_cfg {
  char *name;
  tsr_key_part parts[TSR_MAX_KEY_PARTS];
  uint8_t n_parts;
  uint64_t source_mask; /* bit i: the rule applies to sources[i] */
  int merge;            /* step-down: a block whose matched records belong to several clusters joins them
                           (instead of being ambiguous); default false */
} tsr_rule_cfg;

typedef enum tsr_link_mode { TSR_MODE_LINK, TSR_MODE_DEDUPE, TSR_MODE_BOTH } tsr_link_mode;
TSR_API const char *tsr_link_mode_name(tsr_link_mode m);

#define TSR_MAX_SOURCES 64

typedef struct tsr_link_cfg {
  int present;           /* the config has a "link" section */
  tsr_link_mode mode;    /* default: link with 2+ sources, dedupe with 1 */
  uint64_t source_mask;  /* sources taking part; default all */
  char *preset;          /* "hesid", "cprd_hes", "names", or NULL for listed rules */
  tsr_rule_cfg *rules;   /* deterministic steps, in order */
  uint32_t n_rules;
  uint32_t max_block_size;   /* blocks with more records are skipped and reported; default 1000 */
  uint32_t max_cluster_size; /* clusters above this are reported; default 500 */
  int one_to_one;            /* link mode, two sources: each record links to at most one of the other */
  int nhs_veto;              /* a block holding two different valid NHS numbers links nothing; default false */
} tsr_link_cfg;

/* --- the probabilistic section (docs/config.md "probabilistic") ---------------- */

/* What a comparison compares, and so which levels it has. The order is the
 * compare stage's (engine/compare/score.h asserts it). */
#define TSR_CMP_KIND_LIST(X)         \
  X(NAME, "name")                    \
  X(FULL_NAME, "full_name")          \
  X(DOB, "date_of_birth")            \
  X(POSTCODE, "postcode")            \
  X(NHS, "nhs_number")               \
  X(SEX, "sex")                      \
  X(CODE, "code")                    \
  X(LOCAL_ID, "local_id")            \
  X(TEXT, "text")

typedef enum tsr_cmp_kind {
#define TSR__CK_ENUM(id, name) TSR_CMP_##id,
  TSR_CMP_KIND_LIST(TSR__CK_ENUM)
#undef TSR__CK_ENUM
  TSR_CMP_KIND_COUNT
} tsr_cmp_kind;

TSR_API const char *tsr_cmp_kind_name(tsr_cmp_kind k);
/* The level names of a kind, in level order: [0] is "null" (either side
 * missing), the last is "else"; *n gets the count (null included). The
 * names are the ones config "levels" lists, model JSON and pairs.parquet
 * use. NULL for an unknown kind. */
TSR_API const char *const *tsr_cmp_level_names(tsr_cmp_kind k, uint32_t *n);

#define TSR_MAX_COMPARISONS 16

typedef struct tsr_cmp_cfg {
  char *name;           /* unique; a column name of pairs.parquet ("gamma_<name>") */
  tsr_cmp_kind kind;
  char *field;          /* the field compared; full_name: the given-name field */
  char *field2;         /* full_name: the family-name field; local_id: the scope (a code field,
                           e.g. provider), or NULL */
  uint32_t enabled;     /* bit l: level l (tsr_cmp_level_names) is used; null and else always set.
                           A record pair falls to the first enabled level it meets */
  double jw1, jw2;      /* name, text: Jaro-Winkler thresholds; default 0.92, 0.88 */
  uint32_t dl1, dl2;    /* name, text: Damerau-Levenshtein bounds; default 1, 2 */
  uint32_t phonetic;    /* name: bit 0 Soundex, bit 1 NYSIIS; default both */
  double swap_jw;       /* full_name: JW threshold of the swapped test; default 0.92 */
  int32_t within_days;  /* date_of_birth; default 30 */
  int32_t within_years; /* date_of_birth; default 1 */
  int tf;               /* term-frequency adjustment of the exact level (name, full_name, postcode,
                           text, code); default false */
  double m_start;       /* EM's starting m of the first agreement level; default 0.9 */
} tsr_cmp_cfg;

typedef struct tsr_prob_cfg {
  int present;                /* the config has a "probabilistic" section */
  tsr_cmp_cfg *cmp;           /* comparisons, in order (pattern order) */
  uint32_t n_cmp;
  tsr_rule_cfg *blocking;     /* candidate pairs, first-rule-wins */
  uint32_t n_blocking;
  tsr_rule_cfg *training;     /* EM's rules (each trains the comparisons it does not fix); default:
                                 the blocking rules */
  uint32_t n_training;
  double threshold;           /* match probability at or above which a pair links; default 0.95 */
  double pairs_floor;         /* pairs.parquet keeps pairs of probability >= this; default 0.01 */
  uint64_t seed;              /* u sample and training sample; default 42 */
  uint64_t u_max_pairs;       /* default 3,000,000 (docs/benchmarks.md: u across seeds and sample sizes) */
  uint64_t u_min_obs;         /* stop the u sample once every level has this many; default 100 */
  uint64_t train_max_pairs;   /* per training rule, a seeded sample of its pairs; default 2,000,000 */
  uint32_t em_max_iter;       /* default 500 */
  double em_tol;              /* default 1e-7 */
  double assumed_recall;      /* 0: lambda by EM; else lambda from deterministic links / this recall */
  double tf_min;              /* smallest value frequency a tf adjustment uses; default 1e-4 */
  uint32_t max_block_size;    /* blocking rules' cap; default: link.max_block_size */
  int join_clusters;          /* an edge may join two clusters the steps built; default true */
  int split_clusters;         /* refuse edges that would pass link.max_cluster_size (so clusters
                                 split at their weakest edges); default false */
} tsr_prob_cfg;

typedef struct tsr_output_cfg {
  int csv;                 /* also write links.csv and patients.csv; default false */
  uint64_t row_group_rows; /* default 1048576 */
  int zstd_level;          /* 0 = uncompressed; default 1 */
  char **match_rates_by;   /* code fields whose values get match-rate tables in the report */
  uint32_t n_match_rates_by;
  int match_rates_set;     /* 0: the key is absent, every code field gets a table */
  int redact;              /* report.json and report.html without record values (tessera link
                              --redact; no config key); default false */
} tsr_output_cfg;

/* --- the episodes section (docs/config.md "episodes") ----------------------------- */

/* Roles of the hospital source's fields: id, JSON key, field kind. */
#define TSR_EP_ROLE_LIST(X)                                  \
  X(PROVIDER, "provider", TSR_KIND_CODE)                     \
  X(ADMIDATE, "admission_date", TSR_KIND_DATE)               \
  X(EPISTART, "episode_start", TSR_KIND_DATE)                \
  X(EPIEND, "episode_end", TSR_KIND_DATE)                    \
  X(DISDATE, "discharge_date", TSR_KIND_DATE)                \
  X(EPIORDER, "episode_order", TSR_KIND_INTEGER)             \
  X(EPISTAT, "episode_status", TSR_KIND_CODE)                \
  X(ADMIMETH, "admission_method", TSR_KIND_CODE)             \
  X(ADMISORC, "admission_source", TSR_KIND_CODE)             \
  X(DISDEST, "discharge_destination", TSR_KIND_CODE)         \
  X(DISMETH, "discharge_method", TSR_KIND_CODE)              \
  X(CLASSPAT, "patient_class", TSR_KIND_CODE)                \
  X(DIAG, "primary_diagnosis", TSR_KIND_CODE)

typedef enum tsr_ep_role {
#define TSR__EPR_ENUM(id, key, kind) TSR_EP_##id,
  TSR_EP_ROLE_LIST(TSR__EPR_ENUM)
#undef TSR__EPR_ENUM
  TSR_EP_ROLE_COUNT
} tsr_ep_role;

/* The two published CIPS rules (DOMAIN.md; docs/config.md). */
typedef enum tsr_cips_rule { TSR_CIPS_UKHSA = 0, TSR_CIPS_HEALTH_FOUNDATION = 1 } tsr_cips_rule;
TSR_API const char *tsr_cips_rule_name(tsr_cips_rule r);

typedef struct tsr_episodes_cfg {
  int present;                     /* the config has an "episodes" section */
  int source;                      /* index of the hospital source */
  char *role[TSR_EP_ROLE_COUNT];   /* canonical field name of each role */
  int gp_present;                  /* "gp" given */
  int gp_source;                   /* index of the GP source */
  char *practice, *reg_start, *reg_end; /* its fields: code, date, date */
  tsr_cips_rule cips;              /* default ukhsa */
} tsr_episodes_cfg;

typedef struct tsr_config {
  char *path;     /* the file it came from */
  char *base_dir; /* its folder */
  tsr_source_cfg *sources;
  uint32_t n_sources;
  tsr_link_cfg link;
  tsr_prob_cfg prob;
  tsr_output_cfg output;
  tsr_episodes_cfg episodes;
} tsr_config;

/* Loads and validates a configuration file. On success *out owns everything
 * (free with tsr_config_free). On failure returns TSR_ECONFIG (or TSR_EIO /
 * TSR_ENOMEM) with err naming the file and the key path; JSON syntax errors
 * carry line and column. Thread-safe (no shared state). */
TSR_API int tsr_config_load(const char *path, tsr_config **out, tsr_error *err);
/* The same from text in memory; base_dir resolves relative source paths and
 * name labels errors. Used by tests and the fuzzer. */
TSR_API int tsr_config_parse(const char *text, size_t len, const char *name, const char *base_dir, tsr_config **out,
                             tsr_error *err);
TSR_API void tsr_config_free(tsr_config *c);

/* Replaces the configured deterministic rules with a named preset
 * ("hesid", "cprd_hes", "names"): each step applies to the sources that have
 * all of its fields; steps no source can run are dropped. TSR_ECONFIG when
 * the name is unknown or no step can run. */
TSR_API int tsr_config_use_preset(tsr_config *c, const char *preset, tsr_error *err);
/* Names of the presets, NULL-terminated. */
TSR_API const char *const *tsr_config_presets(void);

/* Index of a source by name, or -1. */
TSR_API int tsr_config_source_index(const tsr_config *c, const char *name);

#ifdef __cplusplus
}
#endif
#endif
