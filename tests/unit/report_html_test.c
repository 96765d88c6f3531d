/* Unit tests for report.html's probabilistic sections (report_html_prob.c):
 * the fixture tests/data/report_prob.json (a real deterministic report with
 * a hand-made "probabilistic" object) rendered into a scratch folder, each
 * section checked with its numbers and its geometry pinned (worked by hand
 * in the comments); every text value escaped; a document without the
 * object gives the page it gave before (the new sections and their CSS are
 * the only difference); a partial object renders what it has. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common_internal.h"
#include "report/report.h"
#include "test_util.h"

static json_t *fixture(void) {
  const char *src = getenv("TSR_SOURCE_DIR");
  cr_assert_not_null(src, "TSR_SOURCE_DIR not set");
  char p[1024];
  snprintf(p, sizeof p, "%s/tests/data/report_prob.json", src);
  json_error_t je;
  json_t *root = json_load_file(p, 0, &je);
  cr_assert_not_null(root, "%s: %s", p, je.text);
  return root;
}

/* Renders root and returns report.html's text (caller frees). */
static char *render(const json_t *root) {
  char *dir = tsr_test_tmpdir("rhtml");
  cr_assert_not_null(dir);
  tsr_error err = {0};
  int rc = tsr__report_html(root, dir, &err);
  cr_assert_eq(rc, 0, "tsr__report_html: %d %s", rc, err.msg);
  char p[600];
  snprintf(p, sizeof p, "%s/report.html", dir);
  FILE *f = fopen(p, "rb");
  cr_assert_not_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  cr_assert_not_null(s);
  cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = 0;
  fclose(f);
  return s;
}

#define HAS(h, s) cr_expect(strstr((h), (s)) != NULL, "missing: %s", (s))
#define HASNT(h, s) cr_expect(strstr((h), (s)) == NULL, "unexpected: %s", (s))

static size_t count(const char *h, const char *s) {
  size_t n = 0;
  for (const char *p = strstr(h, s); p; p = strstr(p + 1, s)) n++;
  return n;
}

/* The <g>...</g> of the chart row whose <title> starts with title (static buffer). */
static const char *row(const char *h, const char *title) {
  static char out[2048];
  char key[300];
  snprintf(key, sizeof key, "<g><title>%s", title);
  const char *a = strstr(h, key);
  cr_assert_not_null(a, "no chart row %s", title);
  const char *e = strstr(a, "</g>");
  cr_assert_not_null(e);
  size_t n = (size_t)(e - a) < sizeof out - 1 ? (size_t)(e - a) : sizeof out - 1;
  memcpy(out, a, n);
  out[n] = 0;
  return out;
}

/* The text of section id (from its <h3 id="..."> to the next <h3 or the section's end). */
static char *section(const char *h, const char *id) {
  char key[100];
  snprintf(key, sizeof key, "<h3 id=\"%s\">", id);
  const char *a = strstr(h, key);
  cr_assert_not_null(a, "no section %s", id);
  const char *e = strstr(a + 1, "<h3"), *end = strstr(a, "<!-- /probabilistic -->");
  cr_assert_not_null(end);
  if (!e || e > end) e = end;
  char *s = strndup(a, (size_t)(e - a));
  cr_assert_not_null(s);
  return s;
}

Test(report_html, numbers) {
  json_t *root = fixture();
  char *h = render(root);
  HAS(h, "<h2 id=\"probabilistic\">Probabilistic linkage</h2>");
  HAS(h, "trained in this run");
  HAS(h, "match probability 0.95 = match weight 4.25; pairs.parquet keeps pairs with probability &ge; 0.01");
  HAS(h, "1,234,567 in 0.19 s on 2 threads: <b>3.25 M pairs/s per thread</b>");
  HAS(h, "45,678 (records identical on every compared field, scored once)");
  HAS(h, "10,234 to pairs.parquet, 9,012 at or above the threshold");
  HAS(h, "1,000,000 random pairs in 0.40 s</td>");
  HAS(h, "57 iterations over 2 training rules, 123,456 training pairs, 0.01 s");
  HAS(h, "1e-06 (by EM 1e-06; from the deterministic rules not used); prior weight -19.93");
  HAS(h, "1 agreement level learned the block, not the match");
  HASNT(h, "too few observations");
  /* the sections come in this order, before "Time and memory" */
  const char *ids[] = {"prob-weights", "prob-mu", "prob-hist", "prob-waterfall", "prob-em", "prob-sweep", "prob-clusters"};
  const char *last = strstr(h, "<h2 id=\"probabilistic\">");
  for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
    char key[100];
    snprintf(key, sizeof key, "<h3 id=\"%s\">", ids[i]);
    const char *p = strstr(h, key);
    cr_expect(p && p > last, "section %s missing or out of order", ids[i]);
    if (p) last = p;
  }
  cr_expect(strstr(h, "<h2>Time and memory</h2>") > last);
  /* u_enough false, a loaded model, lambda from the rules */
  json_t *p = json_object_get(root, "probabilistic");
  json_object_set_new(p, "u_enough", json_false());
  json_object_set_new(p, "model", json_string("loaded"));
  json_object_set_new(p, "model_path", json_string("/m/<a&b>.json"));
  json_object_set_new(p, "lambda_rules", json_real(2.5e-6));
  free(h);
  h = render(root);
  HAS(h, "some levels have too few observations");
  HAS(h, "loaded from <code>/m/&lt;a&amp;b&gt;.json</code>");
  HAS(h, "from the deterministic rules 2.5e-06)");
  free(h);
  json_decref(root);
}

/* Weight axis: prior -19.93 .. 14.24 -> steps of 5 over [-20, 15]: 540 px / 35 = 15.4286 px a unit from x = 250;
 * zero at 558.57. */
Test(report_html, match_weights) {
  json_t *root = fixture();
  char *h = render(root);
  char *s = section(h, "prob-weights");
  const char *r = row(s, "prior:");
  HAS(r, "<rect x=\"251.1\" y=\"9.0\" width=\"307.5\" height=\"14.0\" class=\"wneg\"/>"); /* 250 + 0.07 * 15.43 */
  HAS(r, ">-19.93</text>");
  r = row(s, "given_name: exact ");
  HAS(r, "match weight +9.81, m 0.9, u 0.001</title>");
  HAS(r, "<rect x=\"558.6\" y=\"49.0\" width=\"151.4\" height=\"14.0\" class=\"wpos\"/>"); /* 9.8138 * 15.43 */
  HAS(r, ">+9.81</text>");
  r = row(s, "nhs: different ");
  HAS(r, "<rect x=\"416.2\" y=\"729.0\" width=\"142.4\" height=\"14.0\" class=\"wneg\"/>"); /* 9.2288 * 15.43 */
  r = row(s, "dob: exact ");
  HAS(r, "(degenerate: u >= m)</title>");
  HAS(r, "class=\"deg\">dob: exact \xe2\x9a\xa0</text>");
  cr_expect_eq(count(s, "class=\"deg\""), 1, "one degenerate label");
  /* one row per enabled level (10 + 5 + 8 + 5 + 4 + 2) and the prior; a group title per comparison */
  cr_expect_eq(count(s, "<g><title>"), 35);
  cr_expect_eq(count(s, "class=\"wpos\"") + count(s, "class=\"wneg\""), 35);
  cr_expect_eq(count(s, "class=\"grp\">"), 7);
  HAS(s, "class=\"grp\">family_name</text>");
  HAS(s, "class=\"sm\">name on given_name, tf</text>");
  HAS(s, "class=\"sm\">date_of_birth on dob</text>");
  /* axis: -20 .. 15 in steps of 5 over 41 rows (6 + 41 * 20 = 826), zero the axis line */
  HAS(s, "<line x1=\"250.0\" y1=\"6.0\" x2=\"250.0\" y2=\"826.0\" class=\"grid\"/>");
  HAS(s, "<line x1=\"558.6\" y1=\"6.0\" x2=\"558.6\" y2=\"826.0\" class=\"axis\"/>");
  HAS(s, "class=\"sm\">15</text>");
  HASNT(s, "class=\"sm\">20</text>");
  free(s);
  /* a level without a weight (null) gets no bar */
  json_t *lv = json_array_get(
      json_object_get(json_array_get(json_object_get(json_object_get(root, "probabilistic"), "comparisons"), 5), "levels"), 0);
  json_object_set_new(lv, "weight", json_null());
  free(h);
  h = render(root);
  s = section(h, "prob-weights");
  r = row(s, "sex: equal ");
  HAS(r, "no weight, m 0.97, u 0.2</title>");
  HASNT(r, "<rect");
  free(s);
  free(h);
  json_decref(root);
}

Test(report_html, m_and_u) {
  json_t *root = fixture();
  char *h = render(root);
  char *s = section(h, "prob-mu");
  HAS(s, "<p class=\"warn\">Degenerate level: dob: exact (m 0.1, u 0.2).</p>");
  HAS(s, "EM learned the block, not the match");
  cr_expect_eq(count(s, "<tr class=\"bad\">"), 1);
  HAS(s, "<tr class=\"bad\"><td class=\"l\">dob</td><td class=\"l\">exact (u &ge; m)</td><td>0.1</td><td>0.2</td>"
         "<td>0.5</td><td>-1.00</td><td>777</td><td class=\"l\"><svg width=\"204\" height=\"16\"><rect x=\"0\" y=\"1\" "
         "width=\"20.0\" height=\"6\" class=\"mbar\"/><rect x=\"0\" y=\"9\" width=\"40.0\" height=\"6\" class=\"ubar\"/>");
  HAS(s, "<tr><td class=\"l\">given_name</td><td class=\"l\">exact</td><td>0.9</td><td>0.001</td><td>900</td>"
         "<td>+9.81</td><td>1,234</td><td class=\"l\"><svg width=\"204\" height=\"16\"><rect x=\"0\" y=\"1\" "
         "width=\"180.0\" height=\"6\" class=\"mbar\"/><rect x=\"0\" y=\"9\" width=\"0.2\" height=\"6\" class=\"ubar\"/>");
  cr_expect_eq(count(s, "class=\"mbar\""), 34);
  free(s);
  /* no degenerate levels: no warning anywhere, no red row */
  json_object_set_new(json_object_get(root, "probabilistic"), "degenerate", json_array());
  free(h);
  h = render(root);
  HASNT(h, "learned the block");
  HASNT(h, "class=\"bad\"");
  HASNT(h, "class=\"deg\"");
  free(h);
  json_decref(root);
}

/* 79 bins of 1 from -40: 800 / 79 = 10.127 px each from x = 56. Largest count 31,622 -> 5 decades;
 * height = (log10 c + log10 2) / 5.30103 * 220: 31,622 -> 199.25, 1,000 -> 137.00, 1 -> 12.49. */
Test(report_html, histogram) {
  json_t *root = fixture();
  char *h = render(root);
  char *s = section(h, "prob-hist");
  HAS(s, "164,412 pairs, 1,024 in bins at or above the threshold.");
  HAS(row(s, "[-15, -14)"),
      "31,622 pairs</title><rect x=\"309.16\" y=\"30.75\" width=\"9.63\" height=\"199.25\" class=\"hlo\"/>");
  HAS(row(s, "[20, 21)"), "1,000 pairs</title><rect x=\"663.59\" y=\"93.00\" width=\"9.63\" height=\"137.00\" class=\"hhi\"/>");
  HAS(row(s, "[38, 39)"), "1 pair</title><rect x=\"845.87\" y=\"217.51\" width=\"9.63\" height=\"12.49\" class=\"hhi\"/>");
  /* the bins either side of the threshold 4.25: [3, 4) below, [4, 5) (centre 4.5) above */
  HAS(row(s, "[3, 4)"), "class=\"hlo\"");
  HAS(row(s, "[4, 5)"), "class=\"hhi\"");
  HASNT(s, "<title>[-40, -39)"); /* empty bins draw nothing */
  cr_expect_eq(count(s, "<g><title>"), 58); /* the bins that hold a pair */
  /* the threshold line at 56 + 44.25 / 79 * 800 */
  HAS(s, "<line x1=\"504.1\" y1=\"10.0\" x2=\"504.1\" y2=\"230.0\" class=\"thr\"/><text x=\"509.1\" y=\"22.0\" "
         "class=\"thrl\">threshold 4.25</text>");
  /* log scale: decade lines 1 .. 100k */
  HAS(s, "class=\"sm\">100k</text>");
  HASNT(s, "class=\"sm\">1M</text>");
  free(s);
  /* a threshold outside the bins: no line */
  json_object_set_new(json_object_get(root, "probabilistic"), "threshold_weight", json_real(50));
  free(h);
  h = render(root);
  s = section(h, "prob-hist");
  HASNT(s, "class=\"thr\"");
  free(s);
  free(h);
  json_decref(root);
}

/* Pair 1: -19.93 + 9.81 - 1.20 (tf) + 5.50 + 6.02 + 4.50 + 0 - 0.60 = 4.10. Axis [-20, 5]: 480 / 25 = 19.2 px a unit. */
Test(report_html, waterfall) {
  json_t *root = fixture();
  char *h = render(root);
  char *s = section(h, "prob-waterfall");
  HAS(s, "<b>gp</b> G&lt;1&gt;&amp;2 &harr; <b>hes_apc</b> H77: match weight <b>4.10</b>, probability <b>0.9449</b>, "
         "below the threshold</p>");
  HASNT(s, "add up to");
  const char *r = row(s, "given_name: exact +9.81, cumulative -10.12");
  HAS(r, "<rect x=\"251.3\" y=\"39.0\" width=\"188.4\" height=\"14.0\" class=\"wpos\"/>");
  r = row(s, "given_name: term frequency -1.20, cumulative -11.32");
  HAS(r, "<rect x=\"416.7\" y=\"59.0\" width=\"23.0\" height=\"14.0\" class=\"wneg\"/>");
  HAS(row(s, "sex: else -0.60, cumulative 4.10"), "class=\"wneg\"");
  HAS(row(s, "family_name: term frequency +0.43, cumulative -5.50"), "class=\"wpos\"");
  HAS(row(s, "final match weight 4.10, probability 0.9449"), "class=\"wfin\"");
  HAS(s, "<line x1=\"715.6\" y1=\"16.0\" x2=\"715.6\" y2=\"196.0\" class=\"thr\"/>"); /* 250 + 24.25 * 19.2 */
  cr_expect_eq(count(s, "term frequency</text>"), 2, "tf rows only where tf != 0");
  cr_expect_eq(count(s, "class=\"wfin\""), 2);
  free(s);
  /* a weight the terms do not add up to is called out */
  json_t *w0 = json_array_get(json_object_get(json_object_get(root, "probabilistic"), "waterfall"), 0);
  json_object_set_new(w0, "weight", json_real(5.0));
  free(h);
  h = render(root);
  s = section(h, "prob-waterfall");
  HAS(s, "The prior and the terms add up to 4.10, not 5.00.");
  HAS(s, "match weight <b>5.00</b>, probability <b>0.9449</b>, at or above the threshold");
  free(s);
  free(h);
  json_decref(root);
}

Test(report_html, em) {
  json_t *root = fixture();
  char *h = render(root);
  char *s = section(h, "prob-em");
  HAS(s, "<b>dob</b>: 60,000 pairs, 20 iterations, converged, &lambda; 0.31; left out dob</div>");
  HAS(s, "<b>postcode &amp; &lt;sex&gt;</b>: 63,456 pairs, 37 iterations, <b style=\"color:#a01a16\">did not "
         "converge</b>, &lambda; 0.27; left out postcode, sex</div>");
  cr_expect_eq(count(s, "<polyline"), 2);
  /* log-likelihood rises from the bottom left (first iteration, lowest) to the top right */
  HAS(s, "points=\"78.0,118.0 90.6,86.8 ");
  HAS(s, " 305.4,8.1 318.0,8.0\"/>");
  HAS(s, "text-anchor=\"middle\" class=\"sm\">20</text>");
  HAS(s, "text-anchor=\"middle\" class=\"sm\">37</text>");
  HAS(s, "class=\"sm\">-90000</text>");
  cr_expect_eq(count(s, "points=\"78.0,118.0 "), 2);
  free(s);
  free(h);
  json_decref(root);
}

/* 20 thresholds 0.05 .. 0.99; lowest value 0.87 (recall at 0.99) -> y from 0.85: 240 px / 0.15. */
Test(report_html, sweep) {
  json_t *root = fixture();
  char *h = render(root);
  char *s = section(h, "prob-sweep");
  HAS(s, "Best F1 <b>0.9755</b> at threshold 0.45 (precision 0.9671, recall 0.9841); this run's threshold is 0.95.");
  cr_expect_eq(count(s, "<polyline"), 3);
  HAS(s, "<tr style=\"font-weight:600\"><td>0.45</td><td>0.9671</td><td>0.9841</td><td>0.9755</td></tr>");
  cr_expect_eq(count(s, "<tr"), 21);
  HAS(s, ">0.85</text>");
  HAS(s, "class=\"thrl\">threshold 0.95</text>");
  /* the recall line ends at (656, 10 + 240 - 0.02 / 0.15 * 240) */
  HAS(s, " 656.0,218.0\"/><text x=\"666\" y=\"40.0\" fill=\"#e0892b\" style=\"fill:#e0892b\">recall</text>");
  free(s);
  /* no sweep: no section */
  json_object_del(json_object_get(root, "probabilistic"), "sweep");
  free(h);
  h = render(root);
  HASNT(h, "prob-sweep");
  HAS(h, "prob-clusters");
  free(h);
  json_decref(root);
}

Test(report_html, clusters) {
  json_t *root = fixture();
  char *h = render(root);
  char *s = section(h, "prob-clusters");
  HAS(s, "<td class=\"l\">edges at or above the threshold</td><td>9,012</td>");
  HAS(s, "<td class=\"l\">accepted (joined two clusters)</td><td>8,123</td>");
  HAS(s, "<td class=\"l\">vetoed (two different valid NHS numbers)</td><td>31</td>");
  HAS(s, "<td class=\"l\">refused by one-to-one</td><td>0</td>");
  HAS(s, "<td class=\"l\">cut when splitting oversize clusters</td><td>2</td>");
  HAS(s, "<td class=\"l\">redundant (both records already in one cluster)</td><td>856</td>");
  HAS(s, "<td class=\"l\">records linked</td><td>7,345</td>");
  HAS(s, "1 cluster above the size limit, with its weakest edge:");
  HAS(s, "<tr><td>17</td><td>612</td><td>4.31</td><td class=\"l\">gp G5 &harr; hes_apc H&lt;9&gt;</td></tr>");
  free(s);
  free(h);
  json_decref(root);
}

/* Every string from the document is escaped: no raw markup from the fixture's ids and rule names. */
Test(report_html, escaped) {
  json_t *root = fixture();
  char *h = render(root);
  HASNT(h, "<sex>");
  HASNT(h, "G<1>");
  HASNT(h, "H<9>");
  HASNT(h, "&2 ");
  json_t *c0 = json_array_get(json_object_get(json_object_get(root, "probabilistic"), "comparisons"), 0);
  json_object_set_new(c0, "name", json_string("a<b>&\"c"));
  json_object_set_new(json_array_get(json_object_get(c0, "levels"), 0), "name", json_string("<lvl>"));
  free(h);
  h = render(root);
  HASNT(h, "a<b>");
  HASNT(h, "<lvl>");
  HAS(h, "a&lt;b&gt;&amp;&quot;c: &lt;lvl&gt;</text>");
  free(h);
  json_decref(root);
}

/* Without the object the page is the one the deterministic report gives: the new CSS and the
 * sections (between their comments) are the only difference. */
Test(report_html, absent) {
  json_t *root = fixture();
  char *with = render(root);
  json_object_del(root, "probabilistic");
  char *without = render(root);
  HASNT(without, "robabilistic");
  HASNT(without, "prob-");
  HASNT(without, ".wpos");
  HAS(without, "</style></head><body>\n");
  /* with minus the CSS and the sections equals without */
  char *css = strstr(with, tsr__html_prob_css);
  cr_assert_not_null(css);
  memmove(css, css + strlen(tsr__html_prob_css), strlen(css + strlen(tsr__html_prob_css)) + 1);
  char *a = strstr(with, "<!-- probabilistic -->\n"), *e = strstr(with, "<!-- /probabilistic -->\n");
  cr_assert(a && e && e > a);
  e += strlen("<!-- /probabilistic -->\n");
  memmove(a, e, strlen(e) + 1);
  cr_expect_str_eq(with, without);
  /* a probabilistic value that is not an object is ignored */
  json_object_set_new(root, "probabilistic", json_null());
  char *nul = render(root);
  cr_expect_str_eq(nul, without);
  free(nul);
  free(with);
  free(without);
  json_decref(root);
}

/* An object with almost nothing in it renders what it has and says what is missing. */
Test(report_html, partial) {
  json_t *root = fixture();
  json_object_set_new(root, "probabilistic", json_pack("{s:f, s:f}", "threshold", 0.9, "threshold_weight", 3.17));
  char *h = render(root);
  HAS(h, "<h2 id=\"probabilistic\">Probabilistic linkage</h2>");
  HAS(h, "match probability 0.9 = match weight 3.17");
  HAS(h, "No histogram of pair weights in report.json.");
  HAS(h, "No EM training in this run.");
  HASNT(h, "prob-waterfall");
  HASNT(h, "prob-sweep");
  HASNT(h, "prob-clusters");
  HASNT(h, "learned the block");
  HAS(h, "<h2>Time and memory</h2>");
  /* an EM rule without log-likelihoods, a sweep of one threshold */
  json_t *p = json_object_get(root, "probabilistic");
  json_object_set_new(p, "em", json_pack("[{s:s, s:i, s:b}]", "rule", "r1", "iterations", 0, "converged", 0));
  json_object_set_new(p, "sweep", json_pack("[{s:f, s:f, s:f, s:f}]", "threshold", 0.9, "precision", 1.0, "recall",
                                            0.5, "f1", 0.6667));
  free(h);
  h = render(root);
  HAS(h, "no log-likelihood recorded");
  HAS(h, "Best F1 <b>0.6667</b> at threshold 0.9 (precision 1.0000, recall 0.5000)");
  free(h);
  json_decref(root);
}

/* The episodes section: counts and data-quality findings from report.json's
 * "episodes" object, escaped; absent object, absent section. */
Test(report_html, episodes) {
  json_t *root = fixture();
  char *h = render(root);
  cr_assert_eq(count(h, "<h2>Episodes"), 0);
  free(h);
  json_t *ep = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}}",
                         "source", "hes<x>", "cips_rule", "ukhsa", "episodes", 2041, "finished", 2031, "unfinished", 10,
                         "spells", 1693, "multi_episode_spells", 233, "cips", 1665, "registrations", 1571,
                         "data_quality", "overlapping_spells", 3, "episodes_after_death", 4, "admission_date_disagrees",
                         36, "unfinished_episodes", 10, "spells_without_practice", 63, "registration_overlaps", 1,
                         "registration_gaps", 7, "registrations_skipped", 0);
  json_object_set_new(root, "episodes", ep);
  h = render(root);
  cr_assert_eq(count(h, "<h2>Episodes, spells and continuous inpatient spells</h2>"), 1);
  cr_expect_eq(count(h, "hes&lt;x&gt;"), 1);
  cr_expect_eq(count(h, "hes<x>"), 0);
  cr_expect_eq(count(h, "<td class=\"l\">provider spells</td><td>1693</td>"), 1);
  cr_expect_eq(count(h, "<td class=\"l\">continuous inpatient spells</td><td>1665</td>"), 1);
  cr_expect_eq(count(h, "<td class=\"l\">episodes after an in-hospital death</td><td>4</td>"), 1);
  cr_expect_eq(count(h, "<td class=\"l\">spells without a registered practice</td><td>63</td>"), 1);
  free(h);
  json_decref(root);
}
