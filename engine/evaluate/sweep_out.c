/* The threshold sweep's files (tsr_sweep_write): sweep.json with every
 * figure, and sweep.html, a chart for people in the style of the run's
 * report.html (engine/report/report_html.c): inline CSS and SVG, no scripts,
 * no network. Precision, recall and F1 are drawn against the threshold on a
 * match-weight axis (log2 odds), where 0.99, 0.999 and 0.9999 stand as far
 * apart as they are in evidence; the ticks are labelled in probability. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "report/report.h"
#include "common/common_internal.h"
#include "tessera/evaluate.h"

static const char DESCRIPTION[] =
    "Pairwise precision, recall and F1 of the scored pairs as listed in the pairs file: the pairs are not closed "
    "transitively into clusters, so these are figures of the pair scores, not of the run's links. At threshold t a "
    "pair is predicted when its match_weight >= log2(t / (1 - t)). A true pair that is not in the file (below the "
    "run's floor, or never a candidate) counts as a false negative at every threshold. Pairs with a record that is "
    "not in the truth, or outside the mode, are left out. best is the highest F1 over every distinct weight in the "
    "file.";

static json_t *point_json(const tsr_sweep_point *p) {
  return json_pack("{s:f, s:f, s:I, s:I, s:f, s:f, s:f}", "threshold", p->threshold, "match_weight",
                   isfinite(p->match_weight) ? p->match_weight : (p->match_weight > 0 ? 1e308 : -1e308), "predicted",
                   (json_int_t)p->predicted, "true_positives", (json_int_t)p->true_positives, "precision",
                   p->precision, "recall", p->recall, "f1", p->f1);
}

static json_t *sweep_json(const tsr_sweep *s) {
  json_t *pts = json_array();
  for (size_t i = 0; pts && i < s->npoints; i++) json_array_append_new(pts, point_json(&s->points[i]));
  json_t *o = json_pack(
      "{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:o, s:o, s:o, s:f}",
      "description", DESCRIPTION, "pairs_file", s->pairs_file, "truth", s->truth, "mode",
      tsr_sweep_mode_name(s->mode), "pairs_floor", s->pairs_floor > 0 ? json_real(s->pairs_floor) : json_null(),
      "records_truth", (json_int_t)s->records_truth, "records_other_sources", (json_int_t)s->records_other_sources,
      "true_pairs", (json_int_t)s->true_pairs, "pairs_in_file",
      (json_int_t)s->pairs_in_file, "pairs_judged", (json_int_t)s->pairs_judged, "pairs_not_in_truth",
      (json_int_t)s->pairs_not_in_truth, "pairs_outside_mode", (json_int_t)s->pairs_outside_mode,
      "true_pairs_in_file", (json_int_t)s->true_pairs_in_file, "min_probability", s->min_probability,
      "max_probability", s->max_probability, "sweep", pts ? pts : json_null(), "best", point_json(&s->best), "at",
      s->has_at ? point_json(&s->at) : json_null(), "seconds", s->seconds);
  return o;
}

/* the report page's escaper (report.h): one rule for every page we write */
#define esc tsr__html_esc

static void printf_buf(tsr__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_buf(tsr__buf *b, const char *fmt, ...) {
  char t[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t, sizeof t, fmt, ap);
  va_end(ap);
  if (n > 0) tsr__buf_put(b, t, (size_t)n < sizeof t ? (size_t)n : sizeof t - 1);
}

/* Plot geometry: the axes' box inside the SVG. */
enum { W = 760, H = 380, L = 56, R = 24, T = 16, B = 64 };

typedef struct axis {
  double lo, hi;
} axis;

static double xpos(const axis *a, double w) {
  double v = w < a->lo ? a->lo : w > a->hi ? a->hi : w;
  return L + (v - a->lo) / (a->hi - a->lo) * (W - L - R);
}
static double ypos(double v) { return T + (1.0 - v) * (H - T - B); }

static void line(tsr__buf *b, const tsr_sweep *s, const axis *ax, int which, const char *cls) {
  printf_buf(b, "<polyline class=\"%s\" points=\"", cls);
  for (size_t i = 0; i < s->npoints; i++) {
    const tsr_sweep_point *p = &s->points[i];
    double v = which == 0 ? p->precision : which == 1 ? p->recall : p->f1;
    printf_buf(b, "%s%.1f,%.1f", i ? " " : "", xpos(ax, p->match_weight), ypos(v));
  }
  tsr__buf_puts(b, "\"/>\n");
  for (size_t i = 0; i < s->npoints; i++) {
    const tsr_sweep_point *p = &s->points[i];
    double v = which == 0 ? p->precision : which == 1 ? p->recall : p->f1;
    printf_buf(b, "<circle class=\"%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>t %g: %.6f</title></circle>\n", cls,
               xpos(ax, p->match_weight), ypos(v), p->threshold, v);
  }
}

/* A dashed vertical line at p's weight, labelled at height y (the label
 * turns left of the line in the right half, so it stays inside). */
static void marker(tsr__buf *b, const axis *ax, const tsr_sweep_point *p, const char *cls, const char *label, int y) {
  if (!isfinite(p->match_weight)) return;
  double x = xpos(ax, p->match_weight);
  const int right = x > (L + W - R) / 2.0;
  printf_buf(b, "<line class=\"%s\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", cls, x, T, x, H - B);
  printf_buf(b, "<text x=\"%.1f\" y=\"%d\" class=\"%s\" text-anchor=\"%s\">", x + (right ? -4 : 4), y, cls,
             right ? "end" : "start");
  esc(b, label);
  tsr__buf_puts(b, "</text>\n");
}

static void chart(tsr__buf *b, const tsr_sweep *s) {
  axis ax = {0, 0};
  int first = 1;
  const tsr_sweep_point *extra[2] = {&s->best, s->has_at ? &s->at : NULL};
  for (size_t i = 0; i < s->npoints + 2; i++) {
    const tsr_sweep_point *p = i < s->npoints ? &s->points[i] : extra[i - s->npoints];
    if (!p || !isfinite(p->match_weight)) continue;
    if (first || p->match_weight < ax.lo) ax.lo = p->match_weight;
    if (first || p->match_weight > ax.hi) ax.hi = p->match_weight;
    first = 0;
  }
  if (first || ax.hi - ax.lo < 1) {
    ax.lo -= 0.5;
    ax.hi += 0.5;
  }
  const double pad = (ax.hi - ax.lo) * 0.03;
  ax.lo -= pad;
  ax.hi += pad;
  printf_buf(b, "<svg width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"precision, recall and F1 by threshold\">\n",
             W, H);
  for (int k = 0; k <= 5; k++) { /* y grid */
    double v = k / 5.0;
    printf_buf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", L, ypos(v), W - R, ypos(v));
    printf_buf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n", L - 6, ypos(v) + 4, v);
  }
  for (size_t i = 0; i < s->npoints; i++) { /* x ticks: the thresholds, in probability */
    double x = xpos(&ax, s->points[i].match_weight);
    printf_buf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, T, x, H - B + 4);
    printf_buf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"end\" transform=\"rotate(-45 %.1f %d)\">%g</text>\n", x,
               H - B + 16, x, H - B + 16, s->points[i].threshold);
  }
  printf_buf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">threshold (match probability; spaced by match weight)"
                "</text>\n",
             (L + W - R) / 2, H - 6);
  char lab[96];
  snprintf(lab, sizeof lab, "best F1 %.4f at %.6g", s->best.f1, s->best.threshold);
  marker(b, &ax, &s->best, "best", lab, H - B - 8);
  if (s->has_at) {
    snprintf(lab, sizeof lab, "run threshold %g", s->at.threshold);
    marker(b, &ax, &s->at, "at", lab, H - B - 24);
  }
  line(b, s, &ax, 0, "p");
  line(b, s, &ax, 1, "r");
  line(b, s, &ax, 2, "f");
  if (isfinite(s->best.match_weight))
    printf_buf(b, "<circle class=\"f\" cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill-opacity=\"0.35\"><title>best F1 %.6f at "
                  "%.6g</title></circle>\n",
               xpos(&ax, s->best.match_weight), ypos(s->best.f1), s->best.f1, s->best.threshold);
  tsr__buf_puts(b, "</svg>\n<p><span class=\"key p\">&#9632;</span> precision &nbsp; <span class=\"key r\">&#9632;"
                   "</span> recall &nbsp; <span class=\"key f\">&#9632;</span> F1</p>\n");
}

static void row(tsr__buf *b, const char *label, const tsr_sweep_point *p) {
  printf_buf(b, "<tr><td class=\"l\">%s</td><td>%.6g</td><td>%.3f</td><td>%llu</td><td>%llu</td><td>%.6f</td>"
                "<td>%.6f</td><td>%.6f</td></tr>\n",
             label, p->threshold, p->match_weight, (unsigned long long)p->predicted,
             (unsigned long long)p->true_positives, p->precision, p->recall, p->f1);
}

static void html(tsr__buf *b, const tsr_sweep *s) {
  tsr__buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tessera threshold sweep"
                   "</title>\n<style>body{font:14px system-ui,sans-serif;margin:24px;max-width:1000px;color:#222}"
                   "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;"
                   "text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}svg text{font-size:12px;"
                   "fill:#222}h2{border-bottom:1px solid #ddd;padding-bottom:4px}"
                   ".grid{stroke:#e4e4e4}polyline{fill:none;stroke-width:2}"
                   "polyline.p,circle.p{stroke:#3b6ea5}circle.p,.key.p{fill:#3b6ea5;color:#3b6ea5}"
                   "polyline.r,circle.r{stroke:#d9822b}circle.r,.key.r{fill:#d9822b;color:#d9822b}"
                   "polyline.f,circle.f{stroke:#2e8b57}circle.f,.key.f{fill:#2e8b57;color:#2e8b57}"
                   "line.best{stroke:#2e8b57;stroke-dasharray:4 3}text.best{fill:#2e8b57}"
                   "line.at{stroke:#777;stroke-dasharray:2 3}text.at{fill:#555}"
                   "</style></head><body>\n<h1>Tessera threshold sweep</h1>\n<p>Pairs <code>");
  esc(b, s->pairs_file);
  tsr__buf_puts(b, "</code> against truth <code>");
  esc(b, s->truth);
  printf_buf(b, "</code>, mode <b>%s</b>: %llu true pairs, %llu pairs in the file, %llu judged (%llu true)",
             tsr_sweep_mode_name(s->mode), (unsigned long long)s->true_pairs, (unsigned long long)s->pairs_in_file,
             (unsigned long long)s->pairs_judged, (unsigned long long)s->true_pairs_in_file);
  if (s->pairs_not_in_truth)
    printf_buf(b, ", %llu with a record not in the truth", (unsigned long long)s->pairs_not_in_truth);
  if (s->records_other_sources)
    printf_buf(b, ", %llu truth records of sources the run did not use left out",
               (unsigned long long)s->records_other_sources);
  if (s->pairs_outside_mode) printf_buf(b, ", %llu outside the mode", (unsigned long long)s->pairs_outside_mode);
  if (s->pairs_floor > 0) printf_buf(b, "; the run's floor is %g", s->pairs_floor);
  tsr__buf_puts(b, ".</p>\n<p>");
  esc(b, DESCRIPTION);
  tsr__buf_puts(b, "</p>\n<h2>Precision, recall and F1 by threshold</h2>\n");
  chart(b, s);
  tsr__buf_puts(b, "<table><tr><th class=\"l\"></th><th>threshold</th><th>match weight</th><th>predicted</th>"
                   "<th>true positives</th><th>precision</th><th>recall</th><th>F1</th></tr>\n");
  for (size_t i = 0; i < s->npoints; i++) row(b, "", &s->points[i]);
  row(b, "best F1", &s->best);
  if (s->has_at) row(b, "run threshold", &s->at);
  tsr__buf_puts(b, "</table>\n</body></html>\n");
}

int tsr_sweep_write(const tsr_sweep *s, const char *dir, tsr_error *err) {
  json_t *o = sweep_json(s);
  char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) : NULL;
  json_decref(o);
  if (!text) return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory");
  size_t n = strlen(text);
  tsr__buf b;
  tsr__buf_init(&b, n + 2);
  tsr__buf_put(&b, text, n);
  tsr__buf_putc(&b, '\n');
  free(text);
  int rc = b.oom ? tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory")
                 : tsr__write_file(dir, "sweep.json", b.p, b.len, err);
  if (!rc) {
    b.len = 0;
    html(&b, s);
    rc = b.oom ? tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory")
               : tsr__write_file(dir, "sweep.html", b.p, b.len, err);
  }
  tsr__buf_free(&b);
  return rc;
}
