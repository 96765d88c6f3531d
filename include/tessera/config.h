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

typedef struct tsr_output_cfg {
  int csv;                 /* also write links.csv and patients.csv; default false */
  uint64_t row_group_rows; /* default 1048576 */
  int zstd_level;          /* 0 = uncompressed; default 1 */
  char **match_rates_by;   /* code fields whose values get match-rate tables in the report */
  uint32_t n_match_rates_by;
  int match_rates_set;     /* 0: the key is absent, every code field gets a table */
} tsr_output_cfg;

typedef struct tsr_config {
  char *path;     /* the file it came from */
  char *base_dir; /* its folder */
  tsr_source_cfg *sources;
  uint32_t n_sources;
  tsr_link_cfg link;
  tsr_output_cfg output;
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
