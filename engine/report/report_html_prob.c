/* report.html's probabilistic sections, from report.json's "probabilistic"
 * object (docs: PLAN of issue 9; report_html.c calls this only when the
 * object is there, so a run without a probabilistic section gets the same
 * page as before). Inline SVG and CSS like the rest of the page: the
 * numbers of the run (scoring speed, u, EM, lambda), the match weight of
 * every comparison level with the prior (the chart Splink users know), the
 * m and u values with degenerate levels flagged, the histogram of pair
 * weights with the threshold, EM's log-likelihood per training rule, the
 * waterfall of a few pairs near the threshold, the threshold sweep when
 * truth was given, and what clustering did with the edges.
 *
 * DESIGN
 *   Every chart reads the JSON twice: once for its scale (domain of the
 *   values, row count), once to draw, so nothing is allocated. The page
 *   never trusts the document: a missing number reads as 0, a missing
 *   weight (null) is drawn as no bar, every string is escaped, and a
 *   waterfall whose terms do not add up to its weight says so.
 *   Each bar row is a <g> with a <title> (the exact numbers, shown on
 *   hover) and a class for its sign (wpos/wneg), which the tests read. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/common_internal.h"
#include "report/report.h"

#define esc tsr__html_esc
#define pf tsr__html_printf

const char tsr__html_prob_css[] =
    "<style>.wpos{fill:#4f9a5d}.wneg{fill:#c8514b}.wfin{fill:#3b6ea5}.axis{stroke:#888;stroke-width:1}"
    ".grid{stroke:#e6e6e6;stroke-width:1}.band{fill:#f5f5f5}.thr{stroke:#d0302b;stroke-width:2;stroke-dasharray:6 3}"
    ".conn{stroke:#999;stroke-width:1;stroke-dasharray:2 2}.mbar{fill:#3b6ea5}.ubar{fill:#e0892b}"
    ".hlo{fill:#d9a3a0}.hhi{fill:#7fb48a}.ln{fill:none;stroke-width:2}svg text.grp{font-weight:600}"
    "svg text.deg,svg text.thrl{fill:#c0201b}svg text.sm{font-size:11px;fill:#666}tr.bad td{background:#fde3e1;color:#a01a16}"
    "p.warn{color:#a01a16;font-weight:600}.em{display:inline-block;width:340px;margin:0 18px 14px 0;vertical-align:top}.emc{min-height:3.4em}"
    "table.kv td:first-child{text-align:left;background:#fafafa}table.kv td{text-align:left}</style>\n";

static const char *str(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}
static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }
static int has_num(const json_t *o, const char *k) { return json_is_number(json_object_get(o, k)); }

/* A count with thousands separators ("1,234,567") into t (at least 32 bytes). */
static const char *cnt(char *t, double v) {
  char d[32];
  if (!(fabs(v) < 1e18)) v = 0;
  int n = snprintf(d, sizeof d, "%.0f", fabs(v)), o = 0;
  if (v <= -0.5) t[o++] = '-';
  for (int i = 0; i < n; i++) {
    if (i && (n - i) % 3 == 0) t[o++] = ',';
    t[o++] = d[i];
  }
  t[o] = 0;
  return t;
}

/* A step of 1, 2 or 5 times a power of ten giving about `target` ticks over range. */
static double nice_step(double range, int target) {
  if (!(range > 0)) return 1;
  double raw = range / target, p = pow(10, floor(log10(raw))), f = raw / p;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

/* A weight axis: the domain [lo, hi] widened to whole steps, and the pixel span. */
typedef struct axis {
  double lo, hi, step;
  double x0, w; /* pixels */
} axis;

static void axis_fit(axis *a, double lo, double hi, double x0, double w) {
  if (!(hi > lo)) {
    lo -= 1;
    hi += 1;
  }
  a->step = nice_step(hi - lo, 8);
  a->lo = floor(lo / a->step) * a->step;
  a->hi = ceil(hi / a->step) * a->step;
  a->x0 = x0;
  a->w = w;
}
static double ax(const axis *a, double v) { return a->x0 + (v - a->lo) / (a->hi - a->lo) * a->w; }

/* Vertical grid lines with their labels below (at y1 + 14). */
static void axis_draw(tsr__buf *b, const axis *a, double y0, double y1, const char *title) {
  for (double t = a->lo; t <= a->hi + a->step / 2; t += a->step) {
    double x = ax(a, t), v = fabs(t) < a->step / 1e6 ? 0 : t;
    pf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"%s\"/>", x, y0, x, y1, v == 0 ? "axis" : "grid");
    pf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"sm\">%g</text>\n", x, y1 + 14, v);
  }
  if (title) {
    pf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"sm\">", a->x0 + a->w / 2, y1 + 30);
    esc(b, title);
    tsr__buf_puts(b, "</text>\n");
  }
}

/* One horizontal bar from value a to value c on row y (height h). */
static void hbar(tsr__buf *b, const axis *x, double a, double c, double y, double h, const char *cls) {
  double xa = ax(x, a < c ? a : c), xc = ax(x, a < c ? c : a);
  pf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"%s\"/>", xa, y, xc - xa, h, cls);
}

static int is_degenerate(const json_t *prob, const char *cmp, const char *level) {
  size_t i;
  json_t *d;
  json_array_foreach(json_object_get(prob, "degenerate"), i, d) {
    if (!strcmp(str(d, "comparison"), cmp) && !strcmp(str(d, "level"), level)) return 1;
  }
  return 0;
}

/* --- the numbers of the run ------------------------------------------------------------------------------- */
static void kv_start(tsr__buf *b, const char *key) {
  tsr__buf_puts(b, "<tr><td>");
  esc(b, key);
  tsr__buf_puts(b, "</td><td>");
}

static void numbers(tsr__buf *b, const json_t *p) {
  tsr__buf_puts(b, "<table class=\"kv\">\n");
  kv_start(b, "model");
  if (!strcmp(str(p, "model"), "loaded")) {
    tsr__buf_puts(b, "loaded from <code>");
    esc(b, str(p, "model_path"));
    tsr__buf_puts(b, "</code>");
  } else if (*str(p, "model")) {
    esc(b, str(p, "model"));
    tsr__buf_puts(b, " in this run");
  } else {
    tsr__buf_puts(b, "&mdash;");
  }
  tsr__buf_puts(b, "</td></tr>\n");
  kv_start(b, "threshold");
  pf(b, "match probability %.4g = match weight %.2f; pairs.parquet keeps pairs with probability &ge; %.4g</td></tr>\n",
     num(p, "threshold"), num(p, "threshold_weight"), num(p, "pairs_floor"));
  char c1[32], c2[32];
  kv_start(b, "pairs scored");
  pf(b, "%s in %.2f s on %.0f threads: <b>%.2f M pairs/s per thread</b></td></tr>\n", cnt(c1, num(p, "pairs_scored")),
     num(p, "score_seconds"), num(p, "threads"), num(p, "pairs_per_second_per_thread") / 1e6);
  kv_start(b, "pre-collapsed pairs");
  pf(b, "%s (records identical on every compared field, scored once)</td></tr>\n", cnt(c1, num(p, "pairs_precollapsed")));
  kv_start(b, "pairs written");
  pf(b, "%s to pairs.parquet, %s at or above the threshold</td></tr>\n", cnt(c1, num(p, "pairs_written")),
     cnt(c2, num(p, "pairs_above_threshold")));
  kv_start(b, "u pairs");
  pf(b, "%s random pairs in %.2f s%s</td></tr>\n", cnt(c1, num(p, "u_pairs")), num(p, "u_seconds"),
     json_is_false(json_object_get(p, "u_enough"))
         ? "; <b style=\"color:#a01a16\">some levels have too few observations</b>"
         : "");
  kv_start(b, "EM");
  pf(b, "%.0f iterations over %zu training rules, %s training pairs, %.2f s</td></tr>\n", num(p, "em_iterations"),
     json_array_size(json_object_get(p, "em")), cnt(c1, num(p, "train_pairs")), num(p, "em_seconds"));
  kv_start(b, "lambda");
  pf(b, "%.4g (by EM %.4g; from the deterministic rules ", num(p, "lambda"), num(p, "lambda_em"));
  if (has_num(p, "lambda_rules"))
    pf(b, "%.4g", num(p, "lambda_rules"));
  else
    tsr__buf_puts(b, "not used");
  pf(b, "); prior weight %.2f</td></tr>\n</table>\n", num(p, "prior_weight"));
  size_t nd = json_array_size(json_object_get(p, "degenerate"));
  if (nd)
    pf(b, "<p class=\"warn\">%zu agreement level%s learned the block, not the match (u &ge; m): see "
          "<a href=\"#prob-mu\">m and u</a>.</p>\n",
       nd, nd == 1 ? "" : "s");
}

/* --- match weights: one bar per comparison level, and the prior ------------------------------------------- */
#define MW_LW 250
#define MW_CW 540
#define MW_ROW 20

static void weight_row(tsr__buf *b, const axis *x, double y, const char *cmp, const char *level, const json_t *lv,
                       int deg) {
  tsr__buf_puts(b, "<g><title>");
  esc(b, cmp);
  tsr__buf_puts(b, ": ");
  esc(b, level);
  int hw = has_num(lv, "weight");
  double w = num(lv, "weight"), m = num(lv, "m"), u = num(lv, "u");
  if (hw)
    pf(b, " \xe2\x80\x94 match weight %+.2f, m %.4g, u %.4g", w, m, u);
  else
    pf(b, " \xe2\x80\x94 no weight, m %.4g, u %.4g", m, u);
  pf(b, "%s</title><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\"%s>", deg ? " (degenerate: u >= m)" : "", MW_LW - 8,
     y + 14, deg ? " class=\"deg\"" : "");
  esc(b, cmp);
  tsr__buf_puts(b, ": ");
  esc(b, level);
  if (deg) tsr__buf_puts(b, " \xe2\x9a\xa0");
  tsr__buf_puts(b, "</text>");
  if (hw) {
    hbar(b, x, 0, w, y + 3, MW_ROW - 6, w < 0 ? "wneg" : "wpos");
    pf(b, "<text x=\"%d\" y=\"%.1f\">%+.2f</text>", MW_LW + MW_CW + 10, y + 14, w);
  } else {
    pf(b, "<text x=\"%d\" y=\"%.1f\" class=\"sm\">no weight</text>", MW_LW + MW_CW + 10, y + 14);
  }
  tsr__buf_puts(b, "</g>\n");
}

static void match_weights(tsr__buf *b, const json_t *p) {
  json_t *cmps = json_object_get(p, "comparisons"), *c, *lv;
  size_t i, k, rows = 1;
  double lo = num(p, "prior_weight"), hi = lo;
  json_array_foreach(cmps, i, c) {
    rows += 1 + json_array_size(json_object_get(c, "levels"));
    json_array_foreach(json_object_get(c, "levels"), k, lv) {
      if (!has_num(lv, "weight")) continue;
      double w = num(lv, "weight");
      if (w < lo) lo = w;
      if (w > hi) hi = w;
    }
  }
  axis x;
  axis_fit(&x, lo < 0 ? lo : 0, hi > 0 ? hi : 0, MW_LW, MW_CW);
  const double top = 6, h = (double)rows * MW_ROW;
  tsr__buf_puts(b, "<h3 id=\"prob-weights\">Match weights</h3>\n<p>The weight each comparison level adds to a pair's "
                   "match weight (log<sub>2</sub> of m/u): right of zero, evidence for a match; left, against. The "
                   "prior is where every pair starts.</p>\n");
  pf(b, "<svg width=\"%d\" height=\"%.0f\" role=\"img\">\n", MW_LW + MW_CW + 70, top + h + 40);
  /* bands behind every other comparison */
  double y = top + MW_ROW;
  json_array_foreach(cmps, i, c) {
    double gh = (double)(1 + json_array_size(json_object_get(c, "levels"))) * MW_ROW;
    if (i % 2 == 0) pf(b, "<rect x=\"0\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" class=\"band\"/>\n", y, MW_LW + MW_CW + 70, gh);
    y += gh;
  }
  axis_draw(b, &x, top, top + h, "match weight");
  /* the prior */
  double pw = num(p, "prior_weight");
  pf(b, "<g><title>prior: lambda %.4g, match weight %+.2f</title><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" "
        "class=\"grp\">prior (&lambda; %.3g)</text>",
     num(p, "lambda"), pw, MW_LW - 8, top + 14, num(p, "lambda"));
  hbar(b, &x, 0, pw, top + 3, MW_ROW - 6, pw < 0 ? "wneg" : "wpos");
  pf(b, "<text x=\"%d\" y=\"%.1f\">%+.2f</text></g>\n", MW_LW + MW_CW + 10, top + 14, pw);
  y = top + MW_ROW;
  json_array_foreach(cmps, i, c) {
    pf(b, "<text x=\"6\" y=\"%.1f\" class=\"grp\">", y + 14);
    esc(b, str(c, "name"));
    tsr__buf_puts(b, "</text><text x=\"");
    pf(b, "%d\" y=\"%.1f\" text-anchor=\"end\" class=\"sm\">", MW_LW - 8, y + 14);
    esc(b, str(c, "kind"));
    tsr__buf_puts(b, " on ");
    json_t *f;
    json_array_foreach(json_object_get(c, "fields"), k, f) {
      if (k) tsr__buf_puts(b, ", ");
      esc(b, json_string_value(f));
    }
    if (json_is_true(json_object_get(c, "tf"))) tsr__buf_puts(b, ", tf");
    tsr__buf_puts(b, "</text>\n");
    y += MW_ROW;
    json_array_foreach(json_object_get(c, "levels"), k, lv) {
      weight_row(b, &x, y, str(c, "name"), str(lv, "name"), lv, is_degenerate(p, str(c, "name"), str(lv, "name")));
      y += MW_ROW;
    }
  }
  tsr__buf_puts(b, "</svg>\n");
}

/* --- m and u ------------------------------------------------------------------------------------------------ */
static void m_and_u(tsr__buf *b, const json_t *p) {
  json_t *d, *c, *lv;
  size_t i, k;
  tsr__buf_puts(b, "<h3 id=\"prob-mu\">m and u</h3>\n<p>m: the share of true matches at each level; u: the share of "
                   "non-matching pairs (from random pairs). Blue bar m, orange bar u, on a scale of 0 to 1.</p>\n");
  json_t *deg = json_object_get(p, "degenerate");
  if (json_array_size(deg)) {
    pf(b, "<p class=\"warn\">Degenerate level%s: ", json_array_size(deg) == 1 ? "" : "s");
    json_array_foreach(deg, i, d) {
      if (i) tsr__buf_puts(b, "; ");
      esc(b, str(d, "comparison"));
      tsr__buf_puts(b, ": ");
      esc(b, str(d, "level"));
      pf(b, " (m %.4g, u %.4g)", num(d, "m"), num(d, "u"));
    }
    tsr__buf_puts(b, ".</p>\n<p>On these agreement levels u &ge; m: agreeing there is at least as common among "
                     "non-matching pairs as among matches, so the level counts against a match, or not at all. "
                     "EM learned the block, not the match: one blocking rule supplied most of the training pairs, and "
                     "they agree on this field whether they match or not. Train with more rules, leave this comparison "
                     "out of the rule that fixes it, or set m by hand.</p>\n");
  }
  tsr__buf_puts(b, "<table><tr><th class=\"l\">comparison</th><th class=\"l\">level</th><th>m</th><th>u</th>"
                   "<th>m/u</th><th>weight</th><th>pairs</th><th class=\"l\">m and u</th></tr>\n");
  json_array_foreach(json_object_get(p, "comparisons"), i, c) {
    json_array_foreach(json_object_get(c, "levels"), k, lv) {
      int bad = is_degenerate(p, str(c, "name"), str(lv, "name"));
      double m = num(lv, "m"), u = num(lv, "u");
      tsr__buf_puts(b, bad ? "<tr class=\"bad\"><td class=\"l\">" : "<tr><td class=\"l\">");
      esc(b, str(c, "name"));
      tsr__buf_puts(b, "</td><td class=\"l\">");
      esc(b, str(lv, "name"));
      pf(b, "%s</td><td>%.4g</td><td>%.4g</td>", bad ? " (u &ge; m)" : "", m, u);
      if (u > 0)
        pf(b, "<td>%.4g</td>", m / u);
      else
        tsr__buf_puts(b, "<td>&mdash;</td>");
      if (has_num(lv, "weight"))
        pf(b, "<td>%+.2f</td>", num(lv, "weight"));
      else
        tsr__buf_puts(b, "<td>&mdash;</td>");
      double mw = m > 0 ? (m < 1 ? m : 1) * 200 : 0, uw = u > 0 ? (u < 1 ? u : 1) * 200 : 0;
      char c1[32];
      pf(b, "<td>%s</td><td class=\"l\"><svg width=\"204\" height=\"16\"><rect x=\"0\" y=\"1\" width=\"%.1f\" "
            "height=\"6\" class=\"mbar\"/><rect x=\"0\" y=\"9\" width=\"%.1f\" height=\"6\" class=\"ubar\"/></svg></td></tr>\n",
         cnt(c1, num(lv, "pairs")), mw, uw);
    }
  }
  tsr__buf_puts(b, "</table>\n");
}

/* --- the histogram of pair weights, log counts -------------------------------------------------------------- */
#define HI_L 56
#define HI_W 800
#define HI_H 220

static void histogram(tsr__buf *b, const json_t *p) {
  json_t *hg = json_object_get(p, "weight_histogram"), *counts = json_object_get(hg, "counts");
  size_t n = json_array_size(counts), i;
  double lo = num(hg, "lo"), width = num(hg, "width"), tw = num(p, "threshold_weight"), maxc = 0, total = 0,
         above = 0;
  char c1[32], c2[32];
  tsr__buf_puts(b, "<h3 id=\"prob-hist\">Pair weights</h3>\n");
  if (!n || !(width > 0)) {
    tsr__buf_puts(b, "<p>No histogram of pair weights in report.json.</p>\n");
    return;
  }
  for (i = 0; i < n; i++) {
    double c = json_number_value(json_array_get(counts, i));
    if (c > maxc) maxc = c;
    total += c;
    if (lo + ((double)i + 0.5) * width >= tw) above += c;
  }
  pf(b, "<p>Every scored pair by match weight (bins of %g), counts on a log scale; the dashed line is the threshold "
        "(match weight %.2f, probability %.4g). %s pairs, %s in bins at or above the threshold.</p>\n",
     width, tw, num(p, "threshold"), cnt(c1, total), cnt(c2, above));
  /* y: log10(count) from log10(0.5) (so a bin of one pair shows) to the decade above the largest */
  int decades = maxc >= 1 ? (int)ceil(log10(maxc) - 1e-9) : 1;
  if (decades < 1) decades = 1;
  const double base = log10(0.5), top = 10, span = (double)decades - base;
  axis x;
  axis_fit(&x, lo, lo + (double)n * width, HI_L, HI_W);
  x.lo = lo; /* bins start at lo exactly */
  x.hi = lo + (double)n * width;
  pf(b, "<svg width=\"%d\" height=\"%.0f\" role=\"img\">\n", HI_L + HI_W + 20, top + HI_H + 40);
  for (int d = 0; d <= decades; d++) {
    double y = top + HI_H - ((double)d - base) / span * HI_H;
    static const char *const dl[] = {"1", "10", "100", "1k", "10k", "100k", "1M", "10M", "100M", "1G", "10G", "100G"};
    pf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/><text x=\"%d\" y=\"%.1f\" "
          "text-anchor=\"end\" class=\"sm\">%s</text>\n",
       HI_L, y, HI_L + HI_W, y, HI_L - 6, y + 4, d < 12 ? dl[d] : "");
  }
  {
    /* x ticks at whole steps inside the bins' range */
    double st = nice_step(x.hi - x.lo, 10);
    for (double t = ceil(x.lo / st) * st; t <= x.hi + st / 1e6; t += st) {
      double v = fabs(t) < st / 1e6 ? 0 : t;
      pf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" "
            "text-anchor=\"middle\" class=\"sm\">%g</text>\n",
         ax(&x, v), top, ax(&x, v), top + HI_H + 4, v == 0 ? "axis" : "grid", ax(&x, v), top + HI_H + 16, v);
    }
    pf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\" class=\"sm\">match weight</text>\n", HI_L + HI_W / 2,
       top + HI_H + 32);
  }
  double bw = (double)HI_W / (double)n;
  for (i = 0; i < n; i++) {
    double c = json_number_value(json_array_get(counts, i));
    if (!(c > 0)) continue;
    double a = lo + (double)i * width, hgt = (log10(c) - base) / span * HI_H;
    pf(b, "<g><title>[%g, %g): %s pair%s</title><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
          "class=\"%s\"/></g>\n",
       a, a + width, cnt(c1, c), c == 1 ? "" : "s", HI_L + (double)i * bw, top + HI_H - hgt, bw > 2 ? bw - 0.5 : bw, hgt,
       a + width / 2 >= tw ? "hhi" : "hlo");
  }
  pf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"axis\"/>\n", HI_L, top + HI_H, HI_L + HI_W,
     top + HI_H);
  if (tw >= x.lo && tw <= x.hi) {
    double tx = ax(&x, tw);
    pf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"thr\"/><text x=\"%.1f\" y=\"%.1f\" "
          "class=\"thrl\">threshold %.2f</text>\n",
       tx, top, tx, top + HI_H, tx + 5, top + 12, tw);
  }
  tsr__buf_puts(b, "</svg>\n");
}

/* --- EM convergence ----------------------------------------------------------------------------------------- */
#define EM_L 78
#define EM_W 240
#define EM_H 110

static void em_chart(tsr__buf *b, const json_t *e) {
  json_t *ll = json_object_get(e, "loglik"), *f;
  size_t n = json_array_size(ll), i;
  tsr__buf_puts(b, "<div class=\"em\"><div class=\"emc\"><b>");
  esc(b, str(e, "rule"));
  char c1[32];
  pf(b, "</b>: %s pairs, %.0f iterations, %s, &lambda; %.4g", cnt(c1, num(e, "pairs")), num(e, "iterations"),
     json_is_true(json_object_get(e, "converged")) ? "converged" : "<b style=\"color:#a01a16\">did not converge</b>",
     num(e, "lambda"));
  if (json_array_size(json_object_get(e, "left_out"))) {
    tsr__buf_puts(b, "; left out ");
    json_array_foreach(json_object_get(e, "left_out"), i, f) {
      if (i) tsr__buf_puts(b, ", ");
      esc(b, json_string_value(f));
    }
  }
  tsr__buf_puts(b, "</div>\n");
  if (!n) {
    tsr__buf_puts(b, "no log-likelihood recorded</div>\n");
    return;
  }
  double lo = json_number_value(json_array_get(ll, 0)), hi = lo;
  for (i = 1; i < n; i++) {
    double v = json_number_value(json_array_get(ll, i));
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  double ylo = lo, yhi = hi;
  if (!(yhi > ylo)) {
    ylo -= 1;
    yhi += 1;
  }
  const double top = 8;
  pf(b, "<svg width=\"%d\" height=\"%.0f\" role=\"img\">\n", EM_L + EM_W + 12, top + EM_H + 34);
  pf(b, "<rect x=\"%d\" y=\"%.0f\" width=\"%d\" height=\"%d\" fill=\"none\" class=\"axis\"/>\n", EM_L, top, EM_W, EM_H);
  pf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"sm\">%.6g</text><text x=\"%d\" y=\"%.1f\" "
        "text-anchor=\"end\" class=\"sm\">%.6g</text>\n",
     EM_L - 4, top + 9, hi, EM_L - 4, top + EM_H, lo);
  pf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\" class=\"sm\">1</text><text x=\"%d\" y=\"%.1f\" "
        "text-anchor=\"middle\" class=\"sm\">%zu</text><text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\" "
        "class=\"sm\">iteration (log-likelihood)</text>\n",
     EM_L, top + EM_H + 14, EM_L + EM_W, top + EM_H + 14, n, EM_L + EM_W / 2, top + EM_H + 28);
  tsr__buf_puts(b, "<polyline class=\"ln\" stroke=\"#3b6ea5\" points=\"");
  for (i = 0; i < n; i++) {
    double v = json_number_value(json_array_get(ll, i));
    double px = EM_L + (n > 1 ? (double)i / (double)(n - 1) * EM_W : EM_W / 2.0);
    double py = top + EM_H - (v - ylo) / (yhi - ylo) * EM_H;
    pf(b, "%s%.1f,%.1f", i ? " " : "", px, py);
  }
  tsr__buf_puts(b, "\"/>\n</svg></div>\n");
}

static void em(tsr__buf *b, const json_t *p) {
  json_t *ems = json_object_get(p, "em"), *e;
  size_t i;
  tsr__buf_puts(b, "<h3 id=\"prob-em\">EM convergence</h3>\n");
  if (!json_array_size(ems)) {
    tsr__buf_puts(b, "<p>No EM training in this run.</p>\n");
    return;
  }
  tsr__buf_puts(b, "<p>Log-likelihood of the training pairs at each iteration, per training rule.</p>\n<div>\n");
  json_array_foreach(ems, i, e) em_chart(b, e);
  tsr__buf_puts(b, "</div>\n");
}

/* --- waterfalls of pairs near the threshold ----------------------------------------------------------------- */
#define WF_LW 250
#define WF_CW 480
#define WF_ROW 20

/* One step of a waterfall: from cumulative value c to c + d. */
static void wf_row(tsr__buf *b, const axis *x, double y, const char *cmp, const char *what, double c, double d) {
  tsr__buf_puts(b, "<g><title>");
  esc(b, cmp);
  if (what) {
    tsr__buf_puts(b, ": ");
    esc(b, what);
  }
  pf(b, " %+.2f, cumulative %.2f</title><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", d, c + d, WF_LW - 8, y + 14);
  esc(b, cmp);
  if (what) {
    tsr__buf_puts(b, ": ");
    esc(b, what);
  }
  tsr__buf_puts(b, "</text>");
  hbar(b, x, c, c + d, y + 3, WF_ROW - 6, d < 0 ? "wneg" : "wpos");
  pf(b, "<text x=\"%d\" y=\"%.1f\">%+.2f</text><text x=\"%d\" y=\"%.1f\" class=\"sm\">%.2f</text></g>\n",
     WF_LW + WF_CW + 10, y + 14, d, WF_LW + WF_CW + 70, y + 14, c + d);
}

static void waterfall_pair(tsr__buf *b, const json_t *p, const json_t *w) {
  json_t *terms = json_object_get(w, "terms"), *t;
  size_t i, rows = 2;
  double prior = num(w, "prior"), fin = num(w, "weight"), tw = num(p, "threshold_weight"), c = prior;
  double lo = prior < 0 ? prior : 0, hi = prior > 0 ? prior : 0;
  if (fin < lo) lo = fin;
  if (fin > hi) hi = fin;
  if (tw < lo) lo = tw;
  if (tw > hi) hi = tw;
  json_array_foreach(terms, i, t) {
    c += num(t, "weight");
    if (c < lo) lo = c;
    if (c > hi) hi = c;
    rows++;
    if (num(t, "tf") != 0) {
      c += num(t, "tf");
      if (c < lo) lo = c;
      if (c > hi) hi = c;
      rows++;
    }
  }
  tsr__buf_puts(b, "<p><b>");
  esc(b, str(w, "source_a"));
  tsr__buf_puts(b, "</b> ");
  esc(b, str(w, "id_a"));
  tsr__buf_puts(b, " &harr; <b>");
  esc(b, str(w, "source_b"));
  tsr__buf_puts(b, "</b> ");
  esc(b, str(w, "id_b"));
  pf(b, ": match weight <b>%.2f</b>, probability <b>%.4f</b>, %s the threshold", fin, num(w, "probability"),
     fin >= tw ? "at or above" : "below");
  if (fabs(c - fin) > 0.005)
    pf(b, ". <span style=\"color:#a01a16\">The prior and the terms add up to %.2f, not %.2f.</span>", c, fin);
  tsr__buf_puts(b, "</p>\n");
  axis x;
  axis_fit(&x, lo, hi, WF_LW, WF_CW);
  const double top = 16, h = (double)rows * WF_ROW;
  pf(b, "<svg width=\"%d\" height=\"%.0f\" role=\"img\">\n", WF_LW + WF_CW + 120, top + h + 40);
  axis_draw(b, &x, top, top + h, "match weight");
  double y = top;
  wf_row(b, &x, y, "prior", NULL, 0, prior);
  c = prior;
  json_array_foreach(terms, i, t) {
    pf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"conn\"/>", ax(&x, c), y + WF_ROW - 3, ax(&x, c),
       y + WF_ROW + 3);
    y += WF_ROW;
    wf_row(b, &x, y, str(t, "comparison"), str(t, "level"), c, num(t, "weight"));
    c += num(t, "weight");
    if (num(t, "tf") != 0) {
      y += WF_ROW;
      wf_row(b, &x, y, str(t, "comparison"), "term frequency", c, num(t, "tf"));
      c += num(t, "tf");
    }
  }
  y += WF_ROW;
  pf(b, "<g><title>final match weight %.2f, probability %.4f</title><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" "
        "class=\"grp\">match weight</text>",
     fin, num(w, "probability"), WF_LW - 8, y + 14);
  hbar(b, &x, 0, fin, y + 3, WF_ROW - 6, "wfin");
  pf(b, "<text x=\"%d\" y=\"%.1f\" class=\"grp\">%.2f</text><text x=\"%d\" y=\"%.1f\" class=\"sm\">p %.4f</text></g>\n",
     WF_LW + WF_CW + 10, y + 14, fin, WF_LW + WF_CW + 70, y + 14, num(w, "probability"));
  double tx = ax(&x, tw);
  pf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"thr\"/><text x=\"%.1f\" y=\"%.1f\" "
        "text-anchor=\"middle\" class=\"thrl\">threshold %.2f</text>\n",
     tx, top, tx, top + h, tx, top - 4, tw);
  tsr__buf_puts(b, "</svg>\n");
}

static void waterfalls(tsr__buf *b, const json_t *p) {
  json_t *wf = json_object_get(p, "waterfall"), *w;
  size_t i;
  if (!json_array_size(wf)) return;
  tsr__buf_puts(b, "<h3 id=\"prob-waterfall\">Pairs near the threshold</h3>\n<p>How each pair's match weight adds "
                   "up: the prior, then each comparison's weight at the level the pair reached (and its term-frequency "
                   "adjustment), to the final weight.</p>\n");
  json_array_foreach(wf, i, w) waterfall_pair(b, p, w);
}

/* --- the threshold sweep ------------------------------------------------------------------------------------ */
#define SW_L 56
#define SW_W 600
#define SW_H 240

static void sweep(tsr__buf *b, const json_t *p) {
  json_t *sw = json_object_get(p, "sweep"), *r;
  size_t n = json_array_size(sw), i, best = 0;
  if (!n) return;
  double xlo = 0, xhi = 0, ymin = 1;
  static const char *const key[3] = {"precision", "recall", "f1"};
  static const char *const colour[3] = {"#3b6ea5", "#e0892b", "#4f9a5d"};
  json_array_foreach(sw, i, r) {
    double t = num(r, "threshold");
    if (!i || t < xlo) xlo = t;
    if (!i || t > xhi) xhi = t;
    for (int k = 0; k < 3; k++)
      if (num(r, key[k]) < ymin) ymin = num(r, key[k]);
    if (num(r, "f1") > num(json_array_get(sw, best), "f1")) best = i;
  }
  json_t *br = json_array_get(sw, best);
  tsr__buf_puts(b, "<h3 id=\"prob-sweep\">Threshold sweep</h3>\n");
  pf(b, "<p>Precision, recall and F1 of the pairs against the truth at each threshold. Best F1 <b>%.4f</b> at "
        "threshold %.4g (precision %.4f, recall %.4f); this run's threshold is %.4g.</p>\n",
     num(br, "f1"), num(br, "threshold"), num(br, "precision"), num(br, "recall"), num(p, "threshold"));
  double ylo = floor(ymin * 20) / 20;
  if (ylo > 0.95) ylo = 0.95;
  if (ylo < 0) ylo = 0;
  if (!(xhi > xlo)) {
    xlo -= 0.5;
    xhi += 0.5;
  }
  const double top = 10;
  pf(b, "<svg width=\"%d\" height=\"%.0f\" role=\"img\">\n", SW_L + SW_W + 120, top + SW_H + 40);
  double ys = nice_step(1 - ylo, 5);
  for (double v = ylo; v <= 1 + ys / 1e6; v += ys) {
    double y = top + SW_H - (v - ylo) / (1 - ylo) * SW_H;
    pf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" class=\"grid\"/><text x=\"%d\" y=\"%.1f\" "
          "text-anchor=\"end\" class=\"sm\">%.2f</text>\n",
       SW_L, y, SW_L + SW_W, y, SW_L - 6, y + 4, v);
  }
  double xs = nice_step(xhi - xlo, 10);
  for (double t = ceil(xlo / xs - 1e-9) * xs; t <= xhi + xs / 1e6; t += xs) {
    double x = SW_L + (t - xlo) / (xhi - xlo) * SW_W;
    pf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/><text x=\"%.1f\" y=\"%.1f\" "
          "text-anchor=\"middle\" class=\"sm\">%g</text>\n",
       x, top, x, top + SW_H, x, top + SW_H + 16, fabs(t) < xs / 1e6 ? 0 : t);
  }
  pf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\" class=\"sm\">threshold (match probability)</text>\n",
     SW_L + SW_W / 2, top + SW_H + 32);
  for (int k = 0; k < 3; k++) {
    pf(b, "<polyline class=\"ln\" stroke=\"%s\" points=\"", colour[k]);
    json_array_foreach(sw, i, r) {
      double v = num(r, key[k]);
      pf(b, "%s%.1f,%.1f", i ? " " : "", SW_L + (num(r, "threshold") - xlo) / (xhi - xlo) * SW_W,
         top + SW_H - ((v < ylo ? ylo : v) - ylo) / (1 - ylo) * SW_H);
    }
    pf(b, "\"/><text x=\"%d\" y=\"%.1f\" fill=\"%s\" style=\"fill:%s\">%s</text>\n", SW_L + SW_W + 10,
       top + 14 + 16.0 * k, colour[k], colour[k], k == 2 ? "F1" : key[k]);
  }
  double t = num(p, "threshold");
  if (t >= xlo && t <= xhi) {
    double x = SW_L + (t - xlo) / (xhi - xlo) * SW_W;
    pf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"thr\"/><text x=\"%.1f\" y=\"%.1f\" "
          "text-anchor=\"end\" class=\"thrl\">threshold %.4g</text>\n",
       x, top, x, top + SW_H, x - 4, top + SW_H - 6, t);
  }
  tsr__buf_puts(b, "</svg>\n");
  pf(b, "<details><summary>all %zu thresholds</summary>\n<table><tr><th>threshold</th><th>precision</th>"
        "<th>recall</th><th>F1</th></tr>\n",
     n);
  json_array_foreach(sw, i, r) {
    pf(b, "<tr%s><td>%.4g</td><td>%.4f</td><td>%.4f</td><td>%.4f</td></tr>\n", i == best ? " style=\"font-weight:600\"" : "",
       num(r, "threshold"), num(r, "precision"), num(r, "recall"), num(r, "f1"));
  }
  tsr__buf_puts(b, "</table></details>\n");
}

/* --- clusters ----------------------------------------------------------------------------------------------- */
static void clusters(tsr__buf *b, const json_t *p) {
  json_t *cl = json_object_get(p, "clusters"), *o;
  size_t i;
  if (!json_is_object(cl)) return;
  static const char *const rows[][2] = {{"edges", "edges at or above the threshold"},
                                        {"accepted", "accepted (joined two clusters)"},
                                        {"vetoed_nhs", "vetoed (two different valid NHS numbers)"},
                                        {"one_to_one", "refused by one-to-one"},
                                        {"split", "cut when splitting oversize clusters"},
                                        {"redundant", "redundant (both records already in one cluster)"},
                                        {"records_linked", "records linked"}};
  char c1[32], c2[32];
  tsr__buf_puts(b, "<h3 id=\"prob-clusters\">Probabilistic clusters</h3>\n<table>\n");
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
    pf(b, "<tr><td class=\"l\">%s</td><td>%s</td></tr>\n", rows[r][1], cnt(c1, num(cl, rows[r][0])));
  tsr__buf_puts(b, "</table>\n");
  json_t *ov = json_object_get(cl, "oversize");
  if (!json_array_size(ov)) return;
  pf(b, "<p class=\"warn\">%zu cluster%s above the size limit, with %s weakest edge:</p>\n", json_array_size(ov),
     json_array_size(ov) == 1 ? "" : "s", json_array_size(ov) == 1 ? "its" : "their");
  tsr__buf_puts(b, "<table><tr><th>patient_id</th><th>records</th><th>weakest edge weight</th>"
                   "<th class=\"l\">weakest edge</th></tr>\n");
  json_array_foreach(ov, i, o) {
    json_t *wk = json_object_get(o, "weakest");
    pf(b, "<tr><td>%.0f</td><td>%s</td><td>%.2f</td><td class=\"l\">", num(o, "patient_id"), cnt(c2, num(o, "records")),
       num(o, "weakest_weight"));
    esc(b, str(wk, "source_a"));
    tsr__buf_puts(b, " ");
    esc(b, str(wk, "id_a"));
    tsr__buf_puts(b, " &harr; ");
    esc(b, str(wk, "source_b"));
    tsr__buf_puts(b, " ");
    esc(b, str(wk, "id_b"));
    tsr__buf_puts(b, "</td></tr>\n");
  }
  tsr__buf_puts(b, "</table>\n");
}

void tsr__report_html_prob(tsr__buf *b, const json_t *prob) {
  tsr__buf_puts(b, "<!-- probabilistic -->\n<h2 id=\"probabilistic\">Probabilistic linkage</h2>\n");
  numbers(b, prob);
  match_weights(b, prob);
  m_and_u(b, prob);
  histogram(b, prob);
  waterfalls(b, prob);
  em(b, prob);
  sweep(b, prob);
  clusters(b, prob);
  tsr__buf_puts(b, "<!-- /probabilistic -->\n");
}
