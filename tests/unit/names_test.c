/* Unit tests for name standardisation, Soundex and NYSIIS. Golden values
 * come from the algorithms' standard worked examples. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/names.h"

typedef struct {
  char in[64];
  char want[64]; /* "" with len -1 means invalid UTF-8 */
  int len;
} std_case;

ParameterizedTestParameters(names, standardise) {
  static std_case c[] = {
      {"Zo\xc3\xab", "ZOE", 3},
      {"  o'brien ", "OBRIEN", 6},
      {"O\xe2\x80\x99Neill", "ONEILL", 6}, /* typographic apostrophe */
      {"Smith-Jones", "SMITH JONES", 11},
      {"\xc5\x81ukasz", "LUKASZ", 6},
      {"Jos\xc3\xa9 Mar\xc3\xad" "a", "JOSE MARIA", 10},
      {"M\xc3\x9cLLER", "MULLER", 6},
      {"St. John", "ST JOHN", 7},
      {"Anne--Marie", "ANNE MARIE", 10},
      {"mary\tjane", "MARY JANE", 9},
      {"Mary\xc2\xa0" "Ann", "MARY ANN", 8}, /* no-break space */
      {"Stra\xc3\x9f" "e", "STRASSE", 7},
      {"\xc3\x98stergaard", "OSTERGAARD", 10},
      {"Fran\xc3\xa7ois", "FRANCOIS", 8},
      {"Ni\xc3\xb1o", "NINO", 4},
      {"\xc3\x86thelred", "AETHELRED", 9},
      {"smith2", "SMITH", 5},
      {"---", "", 0},
      {"", "", 0},
      {"   ", "", 0},
      {"de la Cruz", "DE LA CRUZ", 10},
      {"MacDonald", "MACDONALD", 9},
      {"\xef\xac\x81nn", "FINN", 4}, /* fi ligature (compatibility) */
      {"\xe5\xbc\xa0", "", 0},       /* Han character: no Latin form */
      {"\xff", "", -1},
      {"ab\xc3", "", -1},            /* truncated sequence */
      {"\xc0\xaf", "", -1},          /* overlong */
      {"\xed\xa0\x80", "", -1},      /* surrogate */
  };
  return cr_make_param_array(std_case, c, sizeof c / sizeof c[0]);
}

ParameterizedTest(std_case *c, names, standardise) {
  char out[128];
  int n = tsr__name_standardise(c->in, strlen(c->in), out, sizeof out);
  cr_assert_eq(n, c->len, "'%s': length %d, want %d", c->in, n, c->len);
  if (n >= 0) cr_expect_str_eq(out, c->want);
}

Test(names, small_cap_never_overflows) {
  char out[6];
  memset(out, 'x', sizeof out);
  int n = tsr__name_standardise("Bartholomew", 11, out, 5);
  cr_expect_eq(n, 4);
  cr_expect_str_eq(out, "BART");
  cr_expect_eq(out[5], 'x');
}

Test(names, random_bytes_are_safe) {
  srand(7);
  for (int t = 0; t < 10000; t++) {
    char in[64], out[40];
    size_t n = (size_t)(rand() % 64);
    for (size_t i = 0; i < n; i++) in[i] = (char)(rand() & 0xFF);
    memset(out, 0x7F, sizeof out);
    int r = tsr__name_standardise(in, n, out, 32);
    cr_assert(r >= -1 && r < 32);
    for (int i = 32; i < 40; i++) cr_assert_eq(out[i], 0x7F, "wrote past cap");
    if (r <= 0) continue;
    cr_assert(out[0] != ' ' && out[r - 1] != ' ');
    for (int i = 0; i < r; i++) {
      cr_assert((out[i] >= 'A' && out[i] <= 'Z') || out[i] == ' ');
      cr_assert(!(out[i] == ' ' && out[i + 1] == ' '));
    }
  }
}

typedef struct {
  char name[24];
  char code[8];
} code_case;

ParameterizedTestParameters(names, soundex) {
  static code_case c[] = {{"ROBERT", "R163"},    {"RUPERT", "R163"},   {"RUBIN", "R150"},  {"ASHCRAFT", "A261"},
                          {"ASHCROFT", "A261"},  {"TYMCZAK", "T522"},  {"PFISTER", "P236"}, {"HONEYMAN", "H555"},
                          {"LEE", "L000"},       {"SMITH", "S530"},    {"SMYTH", "S530"},  {"WASHINGTON", "W252"},
                          {"JACKSON", "J250"},   {"SMITH JONES", "S532"},
                          /* every letter class in a coded position: D (3), V (1), Q and X (2), L (4), R (6) */
                          {"ADAMS", "A352"},     {"DAVID", "D130"},    {"EVANS", "E152"},  {"SAQUI", "S200"},
                          {"BOXER", "B260"},     {"OLIVER", "O416"},   {"AGUILAR", "A246"}, {"VAUGHAN", "V250"}};
  return cr_make_param_array(code_case, c, sizeof c / sizeof c[0]);
}

ParameterizedTest(code_case *c, names, soundex) {
  char out[5];
  tsr__soundex_str(tsr__soundex(c->name, strlen(c->name)), out);
  cr_expect_str_eq(out, c->code, "%s", c->name);
}

ParameterizedTestParameters(names, nysiis) {
  static code_case c[] = {{"SMITH", "SNAT"},       {"JOHNSON", "JANSAN"}, {"WILLIAMS", "WALAN"}, {"BROWN", "BRAN"},
                          {"KNUTH", "NAT"},        {"MACINTOSH", "MCANT"}, {"SCHMIDT", "SNAD"}, {"PHILLIPS", "FALAP"},
                          {"KELLY", "CALY"},       {"SCHOFIELD", "SAFALD"}, {"EVANS", "EVAN"},   {"HUGHES", "HAG"}};
  return cr_make_param_array(code_case, c, sizeof c / sizeof c[0]);
}

ParameterizedTest(code_case *c, names, nysiis) {
  char out[7];
  tsr__nysiis_str(tsr__nysiis(c->name, strlen(c->name)), out);
  cr_expect_str_eq(out, c->code, "%s", c->name);
}

Test(names, codes_of_empty_names_are_zero) {
  cr_expect_eq(tsr__soundex("", 0), 0);
  cr_expect_eq(tsr__nysiis("   ", 3), 0u);
  /* SMITH and SMITT share a NYSIIS code, as do SMYTH and SMYTHE; JONES has another */
  cr_expect_eq(tsr__nysiis("SMITH", 5), tsr__nysiis("SMITT", 5));
  cr_expect_eq(tsr__nysiis("SMYTH", 5), tsr__nysiis("SMYTHE", 6));
  cr_expect_neq(tsr__nysiis("SMITH", 5), tsr__nysiis("SMYTH", 5));
  cr_expect_neq(tsr__nysiis("SMITH", 5), tsr__nysiis("JONES", 5));
  cr_expect_neq(tsr__nysiis("SMITH", 5), 0u);
}

Test(names, parts) {
  const char *s = "SMITH JONES";
  cr_expect_eq(tsr__name_parts(s, strlen(s)), 2u);
  uint32_t off, len;
  cr_assert_eq(tsr__name_part(s, strlen(s), 1, &off, &len), 0);
  cr_expect(off == 6 && len == 5);
  cr_expect_eq(tsr__name_part(s, strlen(s), 2, &off, &len), -1);
  cr_expect_eq(tsr__name_parts("", 0), 0u);
}
