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

/* A date layout compiled from text such as "DD/MM/YYYY": up to 8 parts. */
typedef struct tsr_date_format {
  char text[24];
  uint8_t n;
  uint8_t part[8]; /* 'Y' (4 digits), 'y' (2 digits), 'M', 'D', or a literal byte */
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
} tsr_source_cfg;

typedef struct tsr_config {
  char *path;     /* the file it came from */
  char *base_dir; /* its folder */
  tsr_source_cfg *sources;
  uint32_t n_sources;
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

/* Index of a source by name, or -1. */
TSR_API int tsr_config_source_index(const tsr_config *c, const char *name);

#ifdef __cplusplus
}
#endif
#endif
