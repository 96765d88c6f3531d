/* Validation and standardisation of single field values by kind (DOMAIN.md):
 * NHS numbers, dates, sex, UK postcodes, integers, UTF-8 checks. Pure
 * functions on a (pointer, length) view; thread-safe; no allocation. */
#ifndef TSR_INGEST_FIELDS_H
#define TSR_INGEST_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "tessera/config.h"

/* Result of standardising one value. */
enum { TSR__V_OK = 0, TSR__V_MISSING = 1, TSR__V_INVALID = 2, TSR__V_PSEUDO = 3 };

/* NHS number: digits with optional spaces or dashes. *out = the number, or 0
 * with TSR__V_INVALID (wrong length, bad check digit, all one digit). */
int tsr__std_nhs(const char *s, size_t n, uint64_t *out);

/* Date by the first matching format; TSR__V_INVALID if none matches, the
 * date is not real (31/02) or lies outside [min, max]. */
int tsr__std_date(const char *s, size_t n, const tsr_date_format *f, uint32_t nf, int32_t min, int32_t max,
                  int32_t *out);

/* Sex: 1/M/MALE -> 1, 2/F/FEMALE -> 2, 9/U/I/UNKNOWN... -> 9 (not specified),
 * 0/X/N -> 0 (not known); case-blind. Anything else is invalid. */
int tsr__std_sex(const char *s, size_t n, uint8_t *out);

/* UK postcode: case and spaces normalised, validated (A9 9AA, A99 9AA,
 * AA9 9AA, AA99 9AA, A9A 9AA, AA9A 9AA, GIR 0AA), packed into 8 bytes
 * (characters without the space, left-aligned, big-endian so numeric order is
 * text order). ZZ99 pseudo-postcodes give TSR__V_PSEUDO and 0. */
int tsr__std_postcode(const char *s, size_t n, uint64_t *out);
/* "LS1 4AP" from a packed postcode; returns the length (0 for 0). */
size_t tsr__postcode_text(uint64_t packed, char out[9]);
/* The outward code (district, "LS1") and sector ("LS1 4") as packed values
 * in the same layout, for blocking and comparison. */
uint64_t tsr__postcode_district(uint64_t packed);
uint64_t tsr__postcode_sector(uint64_t packed);

/* Whole number with optional sign, in int64 range. */
int tsr__std_integer(const char *s, size_t n, int64_t *out);

/* 1 if s[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int tsr__utf8_valid(const char *s, size_t n);

#endif
