/* report.html: the run report for people, from the same JSON document as
 * report.json. Self-contained (inline CSS and SVG, no scripts, no network):
 * records linked per rule, match rates by source and by the fields the report
 * covers (report.c: code fields such as provider and practice),
 * cluster sizes, the largest blocks, cluster checks and time per stage;
 * with report.json's "probabilistic" object, its sections too
 * (report_html_prob.c). A banner opens the page with report.json's
 * "notice": identifiable, or redacted (report.c, tessera link --redact). */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "common/common_internal.h"
#include "report/report.h"

static void esc(tsr__buf *b, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
    case '<':
      tsr__buf_puts(b, "&lt;");
      break;
    case '>':
      tsr__buf_puts(b, "&gt;");
      break;
    case '&':
      tsr__buf_puts(b, "&amp;");
      break;
    case '"':
      tsr__buf_puts(b, "&quot;");
      break;
    default:
      tsr__buf_putc(b, *s);
    }
  }
}

void tsr__html_esc(tsr__buf *b, const char *s) { esc(b, s); }

/* The page's formatter (report.h; report_html_prob.c shares it): at most 511 bytes a call. */
#define printf_buf tsr__html_printf
void tsr__html_printf(tsr__buf *b, const char *fmt, ...) {
  char t[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t, sizeof t, fmt, ap);
  va_end(ap);
  if (n > 0) tsr__buf_put(b, t, (size_t)n < sizeof t ? (size_t)n : sizeof t - 1);
}

/* A horizontal bar chart: labels, values, and the text shown after each bar. */
static void bars(tsr__buf *b, const char *title, const char *const *labels, const double *vals, const char *const *notes,
                 size_t n, double max) {
  const int row = 22, lw = 170, bw = 420;
  printf_buf(b, "<h3>");
  esc(b, title);
  printf_buf(b, "</h3>\n<svg width=\"%d\" height=\"%zu\" role=\"img\">\n", lw + bw + 190, n * (size_t)row + 6);
  for (size_t i = 0; i < n; i++) {
    double w = max > 0 ? vals[i] / max * bw : 0;
    int y = (int)i * row + 3;
    printf_buf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", lw - 6, y + 15);
    esc(b, labels[i]);
    printf_buf(b, "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"bar\"/>", lw, y + 2, w, row - 6);
    printf_buf(b, "<text x=\"%.1f\" y=\"%d\">", lw + w + 6, y + 15);
    esc(b, notes[i]);
    printf_buf(b, "</text>\n");
  }
  tsr__buf_puts(b, "</svg>\n");
}

static const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}
static double jnum(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

#define MAXBARS 40

/* The episodes section: spells, CIPS and registrations built on the linked
 * patients, and the data-quality findings (report.json "episodes"). */
static void episodes_html(tsr__buf *b, const json_t *ep) {
  if (!json_is_object(ep)) return;
  tsr__buf_puts(b, "<h2>Episodes, spells and continuous inpatient spells</h2>\n<p>Built on the linked patients from "
                   "source ");
  esc(b, json_string_value(json_object_get(ep, "source")));
  tsr__buf_puts(b, " with the ");
  esc(b, json_string_value(json_object_get(ep, "cips_rule")));
  tsr__buf_puts(b, " CIPS rule.</p>\n<table><tr><th class=\"l\">count</th><th>value</th></tr>\n");
  static const char *const keys[][2] = {{"episodes", "hospital episodes"},
                                        {"finished", "finished episodes"},
                                        {"unfinished", "unfinished episodes (set aside)"},
                                        {"spells", "provider spells"},
                                        {"multi_episode_spells", "spells of two or more episodes"},
                                        {"cips", "continuous inpatient spells"},
                                        {"registrations", "GP registration periods"}};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const json_t *v = json_object_get(ep, keys[i][0]);
    if (!json_is_number(v)) continue;
    printf_buf(b, "<tr><td class=\"l\">%s</td><td>%.0f</td></tr>\n", keys[i][1], json_number_value(v));
  }
  tsr__buf_puts(b, "</table>\n");
  const json_t *dq = json_object_get(ep, "data_quality");
  if (!json_is_object(dq)) return;
  static const char *const dqk[][2] = {{"overlapping_spells", "overlapping spells of one patient"},
                                       {"episodes_after_death", "episodes after an in-hospital death"},
                                       {"admission_date_disagrees", "admission dates that disagree inside a spell"},
                                       {"unfinished_episodes", "unfinished episodes"},
                                       {"spells_without_practice", "spells without a registered practice"},
                                       {"registration_overlaps", "registrations overlapping at two practices"},
                                       {"registration_gaps", "gaps between registrations"},
                                       {"registrations_skipped", "registration rows skipped (no practice or start)"}};
  tsr__buf_puts(b, "<h3>Data quality</h3>\n<table><tr><th class=\"l\">finding</th><th>count</th></tr>\n");
  for (size_t i = 0; i < sizeof dqk / sizeof dqk[0]; i++) {
    const json_t *v = json_object_get(dq, dqk[i][0]);
    if (!json_is_number(v)) continue;
    printf_buf(b, "<tr><td class=\"l\">%s</td><td>%.0f</td></tr>\n", dqk[i][1], json_number_value(v));
  }
  tsr__buf_puts(b, "</table>\n");
}

int tsr__report_html(const json_t *root, const char *dir, tsr_error *err) {
  tsr__buf b;
  tsr__buf_init(&b, 1 << 16);
  tsr__buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tessera run report</title>\n"
                    "<style>body{font:14px system-ui,sans-serif;margin:24px;max-width:1000px;color:#222}"
                    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
                    "th{background:#f3f3f3}td.l,th.l{text-align:left}svg text{font-size:12px;fill:#222}"
                    ".bar{fill:#3b6ea5}h2{border-bottom:1px solid #ddd;padding-bottom:4px}</style>");
  const json_t *prob = json_object_get(root, "probabilistic");
  if (json_is_object(prob)) tsr__buf_puts(&b, tsr__html_prob_css);
  tsr__buf_puts(&b, "</head><body>\n");
  /* The banner: what report.json's "identifiable" and "notice" say, first on
   * the page. A document without the key counts as identifiable. */
  const int redacted = json_is_false(json_object_get(root, "identifiable"));
  printf_buf(&b, "<div id=\"identifiable\" role=\"alert\" style=\"%s;padding:10px 14px;margin:0 0 16px;"
                 "border-radius:4px\"><b>%s</b> ",
             redacted ? "background:#e6f2e6;border:2px solid #4f9a5d"
                      : "background:#fde8e7;border:2px solid #a01a16;color:#5a0d0b",
             redacted ? "Redacted report." : "Identifiable report.");
  esc(&b, json_is_string(json_object_get(root, "notice")) ? jstr(root, "notice") : tsr__report_notice_identifiable);
  tsr__buf_puts(&b, "</div>\n");
  printf_buf(&b, "<h1>Tessera run report</h1>\n<p>Configuration <code>");
  esc(&b, jstr(root, "config"));
  printf_buf(&b, "</code>, mode <b>");
  esc(&b, jstr(root, "mode"));
  printf_buf(&b, "</b>%s", json_is_string(json_object_get(root, "preset")) ? ", preset <b>" : "");
  if (json_is_string(json_object_get(root, "preset"))) {
    esc(&b, jstr(root, "preset"));
    tsr__buf_puts(&b, "</b>");
  }
  printf_buf(&b, ", %d threads, %.2f s, peak RSS %.1f MB. Tessera %s.</p>\n", (int)jnum(root, "threads"),
             jnum(root, "seconds_total"), jnum(root, "peak_rss_bytes") / 1e6, jstr(root, "tessera_version"));

  /* sources */
  json_t *srcs = json_object_get(root, "sources");
  tsr__buf_puts(&b, "<h2>Sources</h2>\n<table><tr><th class=\"l\">source</th><th>rows read</th><th>stored</th>"
                    "<th>rejected</th><th>linked</th><th>linked to another source</th><th>match rate</th></tr>\n");
  size_t i;
  json_t *s;
  json_array_foreach(srcs, i, s) {
    tsr__buf_puts(&b, "<tr><td class=\"l\">");
    esc(&b, jstr(s, "source"));
    printf_buf(&b, "</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.2f%%</td></tr>\n",
               jnum(s, "rows_read"), jnum(s, "rows_stored"), jnum(s, "rows_rejected"), jnum(s, "records_linked"),
               jnum(s, "linked_to_other_source"), 100 * jnum(s, "match_rate"));
  }
  tsr__buf_puts(&b, "</table>\n");

  /* rules */
  json_t *rules = json_object_get(root, "rules");
  {
    const char *labels[MAXBARS], *notes[MAXBARS];
    double vals[MAXBARS], max = 0;
    char nb[MAXBARS][48];
    size_t n = 0;
    json_t *r;
    json_array_foreach(rules, i, r) {
      if (n == MAXBARS) break;
      labels[n] = jstr(r, "rule");
      vals[n] = jnum(r, "records_linked");
      snprintf(nb[n], sizeof nb[n], "%.0f (cumulative %.0f)", vals[n], jnum(r, "records_linked_cumulative"));
      notes[n] = nb[n];
      if (vals[n] > max) max = vals[n];
      n++;
    }
    tsr__buf_puts(&b, "<h2>Rules</h2>\n");
    bars(&b, "Records matched at each step", labels, vals, notes, n, max);
    tsr__buf_puts(&b, "<table><tr><th class=\"l\">rule</th><th class=\"l\">fields</th><th>eligible</th><th>blocks</th>"
                      "<th>pairs linked</th><th>ambiguous blocks</th><th>capped blocks</th><th>seconds</th></tr>\n");
    json_array_foreach(rules, i, r) {
      tsr__buf_puts(&b, "<tr><td class=\"l\">");
      esc(&b, jstr(r, "rule"));
      tsr__buf_puts(&b, "</td><td class=\"l\">");
      size_t k;
      json_t *f;
      json_array_foreach(json_object_get(r, "fields"), k, f) {
        if (k) tsr__buf_puts(&b, ", ");
        esc(&b, json_string_value(f));
      }
      json_t *sec = json_object_get(r, "seconds");
      printf_buf(&b, "</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.2f</td></tr>\n",
                 jnum(r, "eligible_records"), jnum(r, "blocks"), jnum(r, "pairs_linked"), jnum(r, "ambiguous_blocks"),
                 jnum(r, "capped_blocks"), jnum(sec, "keys") + jnum(sec, "partition_and_group") + jnum(sec, "link"));
    }
    tsr__buf_puts(&b, "</table>\n<h3>Largest blocks</h3>\n<table><tr><th class=\"l\">rule</th><th>records</th>"
                      "<th class=\"l\">key</th></tr>\n");
    json_array_foreach(rules, i, r) {
      size_t k;
      json_t *blk;
      json_array_foreach(json_object_get(r, "largest_blocks"), k, blk) {
        if (k == 3) break;
        tsr__buf_puts(&b, "<tr><td class=\"l\">");
        esc(&b, jstr(r, "rule"));
        printf_buf(&b, "</td><td>%.0f%s</td><td class=\"l\">", jnum(blk, "records"),
                   json_is_true(json_object_get(blk, "capped")) ? " (capped)" : "");
        esc(&b, jstr(blk, "key"));
        tsr__buf_puts(&b, "</td></tr>\n");
      }
    }
    tsr__buf_puts(&b, "</table>\n");
  }

  /* match rates by code field (provider, practice, ...): the lowest rates among the busiest */
  tsr__buf_puts(&b, "<h2>Match rates</h2>\n<p>Share of each group's records whose patient also has records in "
                    "another source; the 25 busiest values, lowest rate first.</p>\n");
  json_array_foreach(srcs, i, s) {
    const char *field;
    json_t *rows;
    json_object_foreach(json_object_get(s, "match_rates_by"), field, rows) {
      size_t n = json_array_size(rows) < 25 ? json_array_size(rows) : 25;
      const char *labels[25], *notes[25];
      double vals[25];
      char nb[25][48];
      size_t order[25];
      for (size_t k = 0; k < n; k++) order[k] = k;
      for (size_t a = 1; a < n; a++) /* insertion sort by rate */
        for (size_t c = a; c > 0 && jnum(json_array_get(rows, order[c]), "match_rate") <
                                        jnum(json_array_get(rows, order[c - 1]), "match_rate");
             c--) {
          size_t t = order[c];
          order[c] = order[c - 1];
          order[c - 1] = t;
        }
      for (size_t k = 0; k < n; k++) {
        json_t *row = json_array_get(rows, order[k]);
        labels[k] = json_is_string(json_object_get(row, "value")) ? jstr(row, "value") : "(missing)";
        vals[k] = jnum(row, "match_rate");
        snprintf(nb[k], sizeof nb[k], "%.1f%% of %.0f", 100 * vals[k], jnum(row, "records"));
        notes[k] = nb[k];
      }
      char title[200];
      snprintf(title, sizeof title, "%s by %s", jstr(s, "source"), field);
      bars(&b, title, labels, vals, notes, n, 1.0);
    }
  }

  /* clusters */
  json_t *cl = json_object_get(root, "clusters");
  {
    const char *labels[16], *notes[16];
    double vals[16], max = 0;
    char nb[16][40];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(cl, "size_histogram"), k, v) {
      if (n == 16) break;
      labels[n] = k;
      vals[n] = json_number_value(v);
      snprintf(nb[n], sizeof nb[n], "%.0f", vals[n]);
      notes[n] = nb[n];
      if (vals[n] > max) max = vals[n];
      n++;
    }
    printf_buf(&b, "<h2>Patients</h2>\n<p>%.0f patients; %.0f records linked. %.0f clusters above %.0f records; "
                   "<b>%.0f clusters hold two different valid NHS numbers</b>.</p>\n",
               jnum(cl, "patients"), jnum(cl, "records_linked"), jnum(cl, "oversized"), jnum(cl, "max_cluster_size"),
               jnum(cl, "nhs_conflicts"));
    bars(&b, "Records per patient", labels, vals, notes, n, max);
    json_t *ex = json_object_get(cl, "nhs_conflict_examples");
    if (json_array_size(ex)) {
      tsr__buf_puts(&b, "<table><tr><th>patient_id</th><th>records</th><th class=\"l\">NHS numbers</th></tr>\n");
      json_t *e;
      json_array_foreach(ex, i, e) {
        json_t *nn = json_object_get(e, "nhs_numbers");
        printf_buf(&b, "<tr><td>%.0f</td><td>%.0f</td><td class=\"l\">", jnum(e, "patient_id"), jnum(e, "records"));
        esc(&b, json_string_value(json_array_get(nn, 0)));
        tsr__buf_puts(&b, ", ");
        esc(&b, json_string_value(json_array_get(nn, 1)));
        tsr__buf_puts(&b, "</td></tr>\n");
      }
      tsr__buf_puts(&b, "</table>\n");
    }
  }

  if (json_is_object(prob)) tsr__report_html_prob(&b, prob);
  episodes_html(&b, json_object_get(root, "episodes"));

  /* stages */
  tsr__buf_puts(&b, "<h2>Time and memory</h2>\n<table><tr><th class=\"l\">stage</th><th>seconds</th>"
                    "<th>peak RSS so far (MB)</th></tr>\n");
  json_array_foreach(json_object_get(root, "stages"), i, s) {
    tsr__buf_puts(&b, "<tr><td class=\"l\">");
    esc(&b, jstr(s, "stage"));
    printf_buf(&b, "</td><td>%.2f</td><td>%.0f</td></tr>\n", jnum(s, "seconds"), jnum(s, "peak_rss_bytes") / 1e6);
  }
  tsr__buf_puts(&b, "</table>\n</body></html>\n");
  if (b.oom) {
    tsr__buf_free(&b);
    return tsr_error_set(err, TSR_ENOMEM, NULL, 0, 0, "out of memory writing report.html");
  }
  int rc = tsr__write_file(dir, "report.html", b.p, b.len, err);
  tsr__buf_free(&b);
  return rc;
}
