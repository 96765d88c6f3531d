/* Person-name standardisation and phonetic codes (DOMAIN.md): Unicode to
 * ASCII upper case, punctuation cleaned, Soundex and NYSIIS. Pure functions;
 * thread-safe; no allocation. */
#ifndef TSR_INGEST_NAMES_H
#define TSR_INGEST_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Unicode -> ASCII upper case (NFKD with combining marks stripped, plus a
 * table for letters with no decomposition: Ł->L, Ø->O, Đ->D, ß->SS, Æ->AE,
 * Œ->OE, Þ->TH, ı->I ...); apostrophes removed (O'Brien -> OBRIEN); every
 * other punctuation or white space becomes one space; other characters
 * (digits, symbols, scripts with no Latin form) are dropped; trimmed.
 * Writes at most cap - 1 bytes plus a NUL; returns the length (0 = nothing
 * left), or -1 if `in` is not valid UTF-8. out must not alias in. */
int tsr__name_standardise(const char *in, size_t len, char *out, size_t cap);

/* American Soundex of a standardised name, spaces ignored. Packed:
 * ((first letter - 'A' + 1) << 9) | d1 << 6 | d2 << 3 | d3; 0 = empty. */
uint16_t tsr__soundex(const char *std, size_t len);
void tsr__soundex_str(uint16_t code, char out[5]);

/* NYSIIS (original algorithm, truncated to 6 letters) of a standardised
 * name, spaces ignored. Packed 5 bits a letter, left-aligned, so equal codes
 * mean equal strings; 0 = empty. */
uint32_t tsr__nysiis(const char *std, size_t len);
void tsr__nysiis_str(uint32_t code, char out[7]);

/* Space-separated parts of a standardised name (hyphenated and
 * double-barrelled surnames are kept whole and as parts). */
uint32_t tsr__name_parts(const char *std, size_t len);
int tsr__name_part(const char *std, size_t len, uint32_t i, uint32_t *off, uint32_t *plen);

#endif
