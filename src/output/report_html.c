/* metrics/report.html of one run (docs/OUTPUTS.md, report.html), and the helpers shared with the
 * sweep and capacity-search pages (report_sweep.c). The page is built from the run directory's
 * files only, after every other output is written. */
#include "output/report_html.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "core/log.h"
#include "core/jsonw.h"
#include "core/xalloc.h"
#include "output/plot.h"
#include "output/report_internal.h"

/* ---- shared helpers ---- */

void rhtml_escape(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '"':
			buf_puts(b, "&quot;");
			break;
		case '\'':
			buf_puts(b, "&#39;");
			break;
		default:
			buf_putc(b, *s);
		}
	}
}

void rhtml_begin(struct buf *b, const char *title)
{
	/* The CSP forbids every fetch (default-src 'none'); inline styles and data: images only. */
	buf_puts(
	    b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
	       "img-src data:\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	rhtml_escape(b, title);
	buf_puts(
	    b,
	    "</title>\n<style>\n"
	    "body{font-family:system-ui,-apple-system,'Segoe "
	    "UI',sans-serif;margin:0;color:#1d2430;background:#f4f6f9}\n"
	    "header{background:#1d2430;color:#fff;padding:14px 28px}\nheader h1{margin:0;font-size:21px}\n"
	    "header p{margin:4px 0 0;color:#c9d1dc;font-size:13px;word-break:break-all}\n"
	    "nav{padding:8px 28px;background:#e6eaf0;font-size:13px}\nnav a{margin-right:14px;color:#1f4e8c}\n"
	    "main{padding:6px 28px 28px;max-width:1640px}\n"
	    "section{background:#fff;border:1px solid #dde2ea;border-radius:6px;padding:10px 18px 16px;margin:14px 0}\n"
	    "h2{font-size:17px;margin:6px 0 10px}\nh3{font-size:14px;margin:12px 0 6px}\n"
	    "table{border-collapse:collapse;font-size:13px;margin:4px 0 8px}\n"
	    "th,td{border-bottom:1px solid #e3e7ee;padding:3px 10px;text-align:left;vertical-align:top}\n"
	    "th{background:#f0f3f7}\ntd.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
	    ".ok{color:#fff;background:#2e7d32;border-radius:3px;padding:1px 7px;font-weight:600}\n"
	    ".bad{color:#fff;background:#c62828;border-radius:3px;padding:1px 7px;font-weight:600}\n"
	    ".muted{color:#6b7585}\n.note{font-size:13px;color:#4a5465;margin:4px 0 8px}\n"
	    ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:12px}\n"
	    ".grid>div{min-width:0;overflow-x:auto}\n"
	    "svg.chart{box-sizing:border-box;width:100%;height:auto;border:1px solid #e3e7ee;border-radius:4px}\n"
	    "svg.chart text{font-family:system-ui,sans-serif;fill:#1d2430}\n"
	    "svg .ct{font-size:14px;font-weight:600}\nsvg .tk{font-size:11px;fill:#4a5465}\n"
	    "svg .al{font-size:12px}\nsvg .lg{font-size:11.5px}\nsvg .nn{font-size:10px;fill:#6b7585}\n"
	    "svg .rl{font-size:11px;fill:#444}\nsvg .ns{font-size:15px;fill:#6b7585}\n"
	    "svg .grid{stroke:#e6e9ef;stroke-width:1}\nsvg .frame{fill:none;stroke:#9aa3b0;stroke-width:1}\n"
	    "pre{background:#f6f8fa;border:1px solid "
	    "#e3e7ee;padding:10px;font-size:12px;overflow:auto;max-height:520px}\n"
	    "</style>\n</head>\n<body>\n");
}

void rhtml_end(struct buf *b)
{
	buf_puts(b, "<footer class=\"note\" style=\"padding:0 28px 20px\">Written by veeksha from the files of this "
	            "directory. Self-contained: no script, no font and no request.</footer>\n</body>\n</html>\n");
}

void rhtml_num(struct buf *b, double v)
{
	if (isnan(v))
		buf_puts(b, "<span class=\"muted\">no samples</span>");
	else if (isinf(v))
		buf_puts(b, v > 0 ? "inf" : "-inf");
	else
		buf_printf(b, "%.4g", v);
}

double rjson_num(const cJSON *obj, const char *key)
{
	const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

int rhtml_write(const char *path, const struct buf *b)
{
	int rc = fs_write_file(path, b->data, b->len);
	if (rc != 0) {
		log_error("cannot write %s: %s", path, strerror(-rc));
		return -1;
	}
	return 0;
}

/* ---- the run page ---- */

/* The series of docs/METRICS.md: file key, display name (the summary_stats.json prefix), unit. */
static const struct rseries {
	const char *key, *display, *unit;
} rseries_tab[] = {
    {"ttfc", "Time to First Chunk", "s"},
    {"tbc", "Time Between Chunks", "s"},
    {"tpot", "Time per Output Token", "s"},
    {"end_to_end_latency", "End to End Latency", "s"},
    {"normalized_end_to_end_latency", "Normalized End to End Latency", "s/token"},
    {"output_throughput", "Output Throughput", "tokens/s"},
    {"ttfo", "Time to First Output Token", "s"},
    {"reasoning_duration", "Reasoning Duration", "s"},
    {"num_prompt_tokens", "Number of Prompt Tokens", "tokens"},
    {"num_output_tokens", "Number of Output Tokens", "tokens"},
    {"num_total_tokens", "Number of Total Tokens", "tokens"},
    {"num_reasoning_tokens", "Number of Reasoning Tokens", "tokens"},
    {"num_answer_tokens", "Number of Answer Tokens", "tokens"},
    {"session_size", "Requests per Session", "requests"},
    {"session_duration", "Session Duration", "s"},
    {"session_think_time", "Intra-session Think Time", "s"},
};
#define N_RSERIES (sizeof rseries_tab / sizeof rseries_tab[0])

/* Seconds are shown in ms when every value is below 1 s: returns the factor, *unit_out the unit. */
static double time_scale(const char *unit, double max_abs, const char **unit_out)
{
	*unit_out = unit;
	if (!unit)
		return 1;
	if (!strcmp(unit, "s") && max_abs < 1) {
		*unit_out = "ms";
		return 1000;
	}
	if (!strcmp(unit, "s/token") && max_abs < 1) {
		*unit_out = "ms/token";
		return 1000;
	}
	return 1;
}

static void td_num(struct buf *b, double v)
{
	buf_puts(b, "<td class=\"n\">");
	rhtml_num(b, v);
	buf_puts(b, "</td>");
}

static void kv_row(struct buf *b, const char *k, double v, const char *unit)
{
	buf_puts(b, "<tr><th>");
	rhtml_escape(b, k);
	buf_puts(b, "</th>");
	td_num(b, v);
	buf_puts(b, "<td>");
	rhtml_escape(b, unit);
	buf_puts(b, "</td></tr>\n");
}

static const char *base_name(const char *p)
{
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		n--;
	const char *s = p + n;
	while (s > p && s[-1] != '/')
		s--;
	return s;
}

static void sec_header(struct buf *b, const char *run_dir, const cJSON *summary)
{
	buf_puts(b, "<header><h1>Veeksha benchmark report</h1><p>");
	rhtml_escape(b, run_dir);
	buf_puts(b, "</p></header>\n<nav><a href=\"#summary\">Summary</a><a href=\"#slos\">SLOs</a>"
	            "<a href=\"#errors\">Errors</a><a href=\"#cdfs\">Distributions</a><a href=\"#by-length\">By prompt "
	            "length</a><a href=\"#timeseries\">Over time</a><a href=\"#server-metrics\">Server metrics</a>"
	            "<a href=\"#provenance\">Config and server</a></nav>\n<main>\n");
	const cJSON *st = summary ? cJSON_GetObjectItemCaseSensitive(summary, "run_status") : NULL;
	const cJSON *why = summary ? cJSON_GetObjectItemCaseSensitive(summary, "run_status_reason") : NULL;
	if (cJSON_IsString(st) && strcmp(st->valuestring, "complete") != 0) {
		buf_puts(b, "<section><p><span class=\"bad\">run ");
		rhtml_escape(b, st->valuestring);
		buf_puts(b, "</span> ");
		if (cJSON_IsString(why))
			rhtml_escape(b, why->valuestring);
		buf_puts(b, "</p></section>\n");
	}
}

static void sec_summary(struct buf *b, const cJSON *s, const cJSON *thr)
{
	buf_puts(b, "<section id=\"summary\"><h2>Summary</h2>\n");
	if (!s) {
		buf_puts(b, "<p class=\"muted\">metrics/summary_stats.json not available.</p></section>\n");
		return;
	}
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(s, "run_status");
	if (cJSON_IsString(st)) {
		buf_puts(b, "<p class=\"note\">Run status: <b>");
		rhtml_escape(b, st->valuestring);
		buf_puts(b, "</b>");
		const cJSON *tok = cJSON_GetObjectItemCaseSensitive(s, "tokenizer");
		if (cJSON_IsString(tok)) {
			buf_puts(b, " &middot; token counts by ");
			rhtml_escape(b, tok->valuestring);
		}
		const cJSON *win = cJSON_GetObjectItemCaseSensitive(s, "measurement_window");
		if (win) {
			char *w = cJSON_PrintUnformatted(win);
			buf_puts(b, " &middot; measurement window ");
			rhtml_escape(b, w);
			free(w);
		}
		buf_puts(b, "</p>\n");
	}
	buf_puts(b, "<div class=\"grid\"><div><h3>Requests and throughput</h3><table>\n");
	static const struct {
		const char *key, *label, *unit;
		double scale;
	} rows[] = {
	    {"Number of Requests", "Requests", "", 1},
	    {"Number of Completed Requests", "Completed", "", 1},
	    {"Number of Errored Requests", "Errored", "", 1},
	    {"Number of Cancelled Requests", "Cancelled", "", 1},
	    {"Number of Post-Timeout Requests", "After the timeout", "", 1},
	    {"Error Rate", "Error rate", "%", 100},
	    {"Number of Sessions Seen", "Sessions seen", "", 1},
	    {"Successful Sessions", "Successful sessions", "", 1},
	    {"Observed Session Dispatch Rate", "Session dispatch rate", "sessions/s", 1},
	    {"Output Token Throughput (tokens/s)", "Output token throughput", "tokens/s", 1},
	    {"Goodput (requests/s)", "Goodput", "requests/s", 1},
	    {"Goodput Fraction", "Goodput fraction", "% of completed", 100},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		double v = rjson_num(s, rows[i].key);
		if (cJSON_GetObjectItemCaseSensitive(s, rows[i].key))
			kv_row(b, rows[i].label, v * rows[i].scale, rows[i].unit);
	}
	if (thr) {
		kv_row(b, "TPOT-based throughput", rjson_num(thr, "tpot_based_throughput"), "tokens/s");
		kv_row(b, "TBC-based throughput", rjson_num(thr, "tbc_based_throughput"), "tokens/s");
	}
	buf_puts(b, "</table></div>\n<div><h3>Distributions</h3><table>\n<tr><th>metric</th><th>unit</th><th>mean</th>"
	            "<th>p50</th><th>p90</th><th>p99</th></tr>\n");
	for (size_t i = 0; i < N_RSERIES; i++) {
		char k[160];
		snprintf(k, sizeof k, "%s (Mean)", rseries_tab[i].display);
		if (!cJSON_GetObjectItemCaseSensitive(s, k))
			continue;
		static const char *stats[] = {"Mean", "P50", "P90", "P99"};
		double v[4], mx = 0;
		for (int q = 0; q < 4; q++) {
			snprintf(k, sizeof k, "%s (%s)", rseries_tab[i].display, stats[q]);
			v[q] = rjson_num(s, k);
			if (isfinite(v[q]))
				mx = fmax(mx, fabs(v[q]));
		}
		const char *unit;
		double f = time_scale(rseries_tab[i].unit, mx, &unit);
		buf_puts(b, "<tr><th>");
		rhtml_escape(b, rseries_tab[i].display);
		buf_puts(b, "</th><td>");
		rhtml_escape(b, unit);
		buf_puts(b, "</td>");
		for (int q = 0; q < 4; q++)
			td_num(b, v[q] * f);
		buf_puts(b, "</tr>\n");
	}
	buf_puts(b, "</table></div></div></section>\n");
}

static void sec_slos(struct buf *b, const cJSON *slo)
{
	buf_puts(b, "<section id=\"slos\"><h2>SLO verdicts</h2>\n");
	if (!slo) {
		buf_puts(b, "<p class=\"muted\">metrics/slo_results.json not available.</p></section>\n");
		return;
	}
	const cJSON *all = cJSON_GetObjectItemCaseSensitive(slo, "all_slos_met");
	buf_printf(b, "<p>All SLOs met: %s</p>\n",
	           cJSON_IsTrue(all) ? "<span class=\"ok\">yes</span>" : "<span class=\"bad\">no</span>");
	const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(slo, "verdict_reasons");
	if (cJSON_GetArraySize(reasons) > 0) {
		buf_puts(b, "<h3>Why not</h3><ul>\n");
		const cJSON *r;
		cJSON_ArrayForEach(r, reasons)
		{
			buf_puts(b, "<li>");
			rhtml_escape(b, cJSON_IsString(r) ? r->valuestring : "?");
			buf_puts(b, "</li>\n");
		}
		buf_puts(b, "</ul>\n");
	}
	buf_puts(b,
	         "<table>\n<tr><th>objective</th><th>metric</th><th>percentile</th><th>observed</th><th>threshold</th>"
	         "<th>unit</th><th>verdict</th></tr>\n");
	const cJSON *r;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(slo, "results"))
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(r, "name");
		const cJSON *metric = cJSON_GetObjectItemCaseSensitive(r, "metric");
		const char *m = cJSON_IsString(metric) ? metric->valuestring : "";
		double obs = rjson_num(r, "observed_value"), thr = rjson_num(r, "threshold"),
		       pct = rjson_num(r, "percentile");
		bool is_rate = !strcmp(m, "error_rate");
		double f = is_rate ? 100 : 1000;
		buf_puts(b, "<tr><th>");
		rhtml_escape(b, cJSON_IsString(name) ? name->valuestring : m);
		buf_puts(b, "</th><td>");
		rhtml_escape(b, m);
		buf_puts(b, "</td>");
		if (isnan(pct))
			buf_puts(b, "<td></td>");
		else
			buf_printf(b, "<td class=\"n\">p%g</td>", pct * 100);
		if (isnan(obs))
			buf_puts(b, "<td class=\"n\"><span class=\"muted\">no samples</span></td>");
		else
			td_num(b, obs * f);
		td_num(b, thr * f);
		buf_printf(b, "<td>%s</td><td>%s</td></tr>\n", is_rate ? "%" : "ms",
		           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "met"))
		               ? "<span class=\"ok\">MET</span>"
		               : "<span class=\"bad\">NOT MET</span>");
	}
	buf_puts(b, "</table>\n<p class=\"note\">Errored requests count as infinitely slow in the latency percentiles "
	            "(observed inf: no data, or more errors than the percentile tolerates).</p></section>\n");
}

static void sec_errors(struct buf *b, const cJSON *s)
{
	buf_puts(b, "<section id=\"errors\"><h2>Errors by class</h2>\n");
	const cJSON *freq = s ? cJSON_GetObjectItemCaseSensitive(s, "error_class_freq") : NULL;
	if (!freq) {
		buf_puts(b, "<p class=\"muted\">No error accounting in summary_stats.json.</p></section>\n");
		return;
	}
	if (!cJSON_GetArraySize(freq)) {
		buf_puts(b, "<p>No errored requests.</p></section>\n");
		return;
	}
	double total = rjson_num(s, "Number of Requests");
	buf_puts(b,
	         "<div class=\"grid\"><div><table>\n<tr><th>class</th><th>requests</th><th>share of all</th></tr>\n");
	const cJSON *c;
	cJSON_ArrayForEach(c, freq)
	{
		buf_puts(b, "<tr><th>");
		rhtml_escape(b, c->string);
		buf_puts(b, "</th>");
		td_num(b, rjson_num(freq, c->string));
		buf_puts(b, "<td class=\"n\">");
		if (total > 0)
			buf_printf(b, "%.2f%%", 100 * c->valuedouble / total);
		buf_puts(b, "</td></tr>\n");
	}
	buf_puts(b, "</table>\n");
	const cJSON *codes = cJSON_GetObjectItemCaseSensitive(s, "error_code_freq");
	if (cJSON_GetArraySize(codes) > 0) {
		buf_puts(b, "<table>\n<tr><th>error code</th><th>requests</th></tr>\n");
		cJSON_ArrayForEach(c, codes)
		{
			buf_puts(b, "<tr><th>");
			rhtml_escape(b, c->string);
			buf_puts(b, "</th>");
			td_num(b, cJSON_IsNumber(c) ? c->valuedouble : NAN);
			buf_puts(b, "</tr>\n");
		}
		buf_puts(b, "</table>\n");
	}
	buf_puts(b, "</div><div><table>\n<tr><th>class</th><th>code</th><th>message</th><th>count</th></tr>\n");
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(s, "top_errors"))
	{
		const cJSON *cl = cJSON_GetObjectItemCaseSensitive(c, "class");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(c, "message");
		buf_puts(b, "<tr><td>");
		rhtml_escape(b, cJSON_IsString(cl) ? cl->valuestring : "");
		buf_puts(b, "</td>");
		td_num(b, rjson_num(c, "code"));
		buf_puts(b, "<td>");
		rhtml_escape(b, cJSON_IsString(msg) ? msg->valuestring : "");
		buf_puts(b, "</td>");
		td_num(b, rjson_num(c, "count"));
		buf_puts(b, "</tr>\n");
	}
	buf_puts(b, "</table></div></div></section>\n");
}

/* The value column of <metric>.csv (last field of each data row; empty = no sample). */
static size_t read_metric_csv(const char *metrics_dir, const char *key, double **out)
{
	*out = NULL;
	char *name = xasprintf("%s.csv", key);
	char *path = fs_path_join(metrics_dir, name);
	free(name);
	char *text = fs_read_file(path, NULL);
	free(path);
	if (!text)
		return SIZE_MAX;
	size_t n = 0, cap = 0;
	double *v = NULL;
	char *save = NULL;
	bool header = true;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (header) {
			header = false;
			continue;
		}
		char *last = strrchr(line, ',');
		const char *f = last ? last + 1 : line;
		char *end;
		double x = strtod(f, &end);
		if (end == f || !isfinite(x))
			continue;
		if (n == cap)
			xgrow((void **)&v, &cap, n + 1, sizeof *v);
		v[n++] = x;
	}
	free(text);
	*out = v;
	return n;
}

static void sec_cdfs(struct buf *b, const char *metrics_dir)
{
	buf_puts(b, "<section id=\"cdfs\"><h2>Distributions (CDFs)</h2>\n<p class=\"note\">From the percentile files "
	            "&lt;metric&gt;.csv (p0 to p100 in steps of 1). Log x axis when the values span decades "
	            "(p95/p5 &ge; 50).</p>\n<div class=\"grid\">\n");
	int shown = 0;
	for (size_t i = 0; i < N_RSERIES; i++) {
		double *v;
		size_t n = read_metric_csv(metrics_dir, rseries_tab[i].key, &v);
		if (n == SIZE_MAX)
			continue;
		double mx = 0;
		for (size_t k = 0; k < n; k++)
			mx = fmax(mx, fabs(v[k]));
		const char *unit;
		double f = time_scale(rseries_tab[i].unit, mx, &unit);
		double *y = xmalloc((n ? n : 1) * sizeof *y);
		for (size_t k = 0; k < n; k++) {
			v[k] *= f;
			y[k] = n > 1 ? (double)k / (double)(n - 1) : 1;
		}
		char title[200], xl[200];
		snprintf(title, sizeof title, "%s [%s]: CDF", rseries_tab[i].display, unit);
		snprintf(xl, sizeof xl, "%s [%s]", rseries_tab[i].display, unit);
		/* counts (tokens, requests) take whole values: their CDF is a staircase */
		bool counts = !strcmp(unit, "tokens") || !strcmp(unit, "requests");
		struct rsvg_series se = {.colour = rsvg_metric_colour(rseries_tab[i].key),
		                         .x = v,
		                         .y = y,
		                         .n = n,
		                         .style = counts ? RSVG_STEP : RSVG_LINE};
		struct rsvg_chart c = {.title = title,
		                       .xlabel = xl,
		                       .ylabel = "cumulative fraction",
		                       .xlog = plot_recommend_scale(v, n) == PLOT_LOG,
		                       .series = &se,
		                       .n_series = 1};
		buf_puts(b, "<div>");
		rsvg_chart(b, &c);
		buf_puts(b, "</div>\n");
		shown++;
		free(v);
		free(y);
	}
	buf_puts(b, "</div>\n");
	if (!shown)
		buf_puts(b, "<p class=\"muted\">No &lt;metric&gt;.csv files.</p>\n");
	buf_puts(b, "</section>\n");
}

/* ---- per prompt length ---- */

struct lrow {
	double prompt, ttfc, e2e;
};

static int cmp_lrow(const void *a, const void *b)
{
	double x = ((const struct lrow *)a)->prompt, y = ((const struct lrow *)b)->prompt;
	return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The number after "key": in one JSON line (NaN when absent or not a number). The rows are ours
 * (docs/OUTPUTS.md): the keys looked for come before the long tbc list, so this stays cheap. */
static double line_num(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	if (!p)
		return NAN;
	p += strlen(key);
	char *end;
	double v = strtod(p, &end);
	return end == p ? NAN : v;
}

#define LEN_MAX_BINS 10

static void violin_of(struct buf *b, const char *key, const char *display, struct lrow *rows, size_t n,
                      const size_t *bin_start, char **labels, size_t nb, bool e2e)
{
	struct rsvg_group *g = xcalloc(nb, sizeof *g);
	double *all = xmalloc(n * sizeof *all);
	size_t na = 0;
	double mx = 0;
	for (size_t i = 0; i < n; i++) {
		double v = e2e ? rows[i].e2e : rows[i].ttfc;
		if (isfinite(v)) {
			all[na++] = v;
			mx = fmax(mx, fabs(v));
		}
	}
	const char *unit;
	double f = time_scale("s", mx, &unit);
	double *vals = xmalloc((n ? n : 1) * sizeof *vals);
	size_t o = 0;
	for (size_t k = 0; k < nb; k++) {
		g[k].label = labels[k];
		g[k].v = vals + o;
		for (size_t i = bin_start[k]; i < bin_start[k + 1]; i++) {
			double v = e2e ? rows[i].e2e : rows[i].ttfc;
			if (isfinite(v))
				vals[o++] = v * f;
		}
		g[k].n = (size_t)(vals + o - g[k].v);
		qsort((double *)g[k].v, g[k].n, sizeof *vals, cmp_double);
	}
	char title[200], yl[200];
	snprintf(title, sizeof title, "%s [%s] by prompt length", display, unit);
	snprintf(yl, sizeof yl, "%s [%s]", display, unit);
	buf_puts(b, "<div>");
	rsvg_violins(b, title, "prompt length [tokens] (bins of about equal request counts)", yl,
	             rsvg_metric_colour(key), g, nb, plot_recommend_scale(all, na) == PLOT_LOG);
	buf_puts(b, "</div>\n");
	free(vals);
	free(all);
	free(g);
}

static void sec_by_length(struct buf *b, const char *metrics_dir)
{
	buf_puts(b, "<section id=\"by-length\"><h2>Latency by prompt length</h2>\n");
	char *path = fs_path_join(metrics_dir, "request_level_metrics.jsonl");
	FILE *f = fopen(path, "r");
	free(path);
	if (!f) {
		buf_puts(b, "<p class=\"muted\">metrics/request_level_metrics.jsonl not available.</p></section>\n");
		return;
	}
	struct lrow *rows = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	while (getline(&line, &lcap, f) > 0) {
		if (strstr(line, "\"success\": false"))
			continue; /* a failed row has no latency keys */
		struct lrow r = {line_num(line, "\"num_delta_prompt_tokens\": "), line_num(line, "\"ttfc\": "),
		                 line_num(line, "\"end_to_end_latency\": ")};
		if (!isfinite(r.prompt) || (!isfinite(r.ttfc) && !isfinite(r.e2e)))
			continue;
		if (n == cap)
			xgrow((void **)&rows, &cap, n + 1, sizeof *rows);
		rows[n++] = r;
	}
	free(line);
	fclose(f);
	if (!n) {
		buf_puts(b, "<p class=\"muted\">No successful request: no samples.</p></section>\n");
		return;
	}
	qsort(rows, n, sizeof *rows, cmp_lrow);
	size_t distinct = 1;
	for (size_t i = 1; i < n; i++)
		distinct += rows[i].prompt != rows[i - 1].prompt;
	/* A bin per distinct length when there are few, else bins of about equal request counts (a
	 * bin never splits one length): every bin has data, so no part of the axis is empty. */
	size_t *start = xmalloc((LEN_MAX_BINS + 3 + distinct) * sizeof *start);
	size_t nb = 0;
	start[0] = 0;
	size_t target = distinct <= 12 ? 1 : (n + LEN_MAX_BINS - 1) / LEN_MAX_BINS;
	size_t i = 0;
	while (i < n) {
		size_t j = i + (distinct <= 12 ? 1 : target);
		if (j > n)
			j = n;
		while (j < n && rows[j].prompt == rows[j - 1].prompt)
			j++;
		start[nb++] = i;
		i = j;
	}
	start[nb] = n;
	char **labels = xcalloc(nb, sizeof *labels);
	for (size_t k = 0; k < nb; k++) {
		double a = rows[start[k]].prompt, z = rows[start[k + 1] - 1].prompt;
		labels[k] = a == z ? xasprintf("%.0f", a) : xasprintf("%.0f\u2013%.0f", a, z);
	}
	buf_puts(b, "<p class=\"note\">Violins: kernel density of the requests of each prompt-length bin (each "
	            "violin as wide as the others), the quartiles as a bar, the median as a dot, the line from the "
	            "minimum to the maximum.</p>\n<div class=\"grid\">\n");
	violin_of(b, "ttfc", "Time to First Chunk", rows, n, start, labels, nb, false);
	violin_of(b, "end_to_end_latency", "End to End Latency", rows, n, start, labels, nb, true);
	buf_puts(b, "</div></section>\n");
	for (size_t k = 0; k < nb; k++)
		free(labels[k]);
	free(labels);
	free(start);
	free(rows);
}

/* ---- CSV tables (timeseries.csv) ---- */

struct csvt {
	char **names;
	size_t ncol;
	double **col; /* NaN for an empty or non-numeric cell */
	size_t n;
};

static void csvt_free(struct csvt *t)
{
	for (size_t c = 0; c < t->ncol; c++) {
		free(t->names[c]);
		free(t->col[c]);
	}
	free(t->names);
	free(t->col);
}

static int csvt_read(const char *path, struct csvt *t)
{
	memset(t, 0, sizeof *t);
	char *text = fs_read_file(path, NULL);
	if (!text)
		return -1;
	char *save = NULL, *line = strtok_r(text, "\n", &save);
	if (!line) {
		free(text);
		return -1;
	}
	for (char *p = line;; p++) {
		char *q = strchr(p, ',');
		size_t len = q ? (size_t)(q - p) : strlen(p);
		t->names = xrealloc(t->names, (t->ncol + 1) * sizeof *t->names);
		t->names[t->ncol++] = xstrndup(p, len);
		if (!q)
			break;
		p = q;
	}
	t->col = xcalloc(t->ncol, sizeof *t->col);
	size_t cap = 0;
	while ((line = strtok_r(NULL, "\n", &save))) {
		if (t->n == cap) {
			size_t c0 = cap;
			for (size_t c = 0; c < t->ncol; c++) {
				cap = c0;
				xgrow((void **)&t->col[c], &cap, t->n + 1, sizeof **t->col);
			}
		}
		const char *p = line;
		for (size_t c = 0; c < t->ncol; c++) {
			char *end;
			double v = strtod(p, &end);
			t->col[c][t->n] = (end == p || (*end && *end != ',' && *end != '\r')) ? NAN : v;
			const char *q = strchr(p, ',');
			p = q ? q + 1 : p + strlen(p);
		}
		t->n++;
	}
	free(text);
	return 0;
}

static const double *csvt_col(const struct csvt *t, const char *name)
{
	for (size_t c = 0; c < t->ncol; c++)
		if (!strcmp(t->names[c], name))
			return t->col[c];
	return NULL;
}

static void ts_chart(struct buf *b, const struct csvt *t, const double *x, const char *title, const char *ylabel,
                     const char *const *cols, const char *const *colour_keys, const int *dash, size_t ncols,
                     double scale)
{
	struct rsvg_series se[8];
	double *scaled[8] = {0};
	size_t ns = 0;
	for (size_t k = 0; k < ncols && ns < 8; k++) {
		const double *y = csvt_col(t, cols[k]);
		if (!y)
			continue;
		scaled[ns] = xmalloc((t->n ? t->n : 1) * sizeof **scaled);
		for (size_t i = 0; i < t->n; i++)
			scaled[ns][i] = y[i] * scale;
		se[ns] = (struct rsvg_series){.name = cols[k],
		                              .colour = rsvg_metric_colour(colour_keys[k]),
		                              .x = x,
		                              .y = scaled[ns],
		                              .n = t->n,
		                              .style = RSVG_LINE,
		                              .dash = dash[k]};
		ns++;
	}
	if (!ns)
		return;
	struct rsvg_chart c = {.title = title,
	                       .xlabel = "time since the benchmark start [s]",
	                       .ylabel = ylabel,
	                       .y_from_zero = true,
	                       .series = se,
	                       .n_series = ns};
	buf_puts(b, "<div>");
	rsvg_chart(b, &c);
	buf_puts(b, "</div>\n");
	for (size_t k = 0; k < ns; k++)
		free(scaled[k]);
}

static void sec_timeseries(struct buf *b, const char *metrics_dir)
{
	char *path = fs_path_join(metrics_dir, "timeseries.csv");
	struct csvt t;
	int rc = csvt_read(path, &t);
	free(path);
	buf_puts(b, "<section id=\"timeseries\"><h2>Over time (metrics/timeseries.csv)</h2>\n");
	if (rc != 0) {
		buf_puts(b, "<p class=\"muted\">No metrics/timeseries.csv in this run directory.</p></section>\n");
		return;
	}
	buf_puts(b, "<div class=\"grid\">\n");
	const double *t0 = csvt_col(&t, "t_start_s"), *t1 = csvt_col(&t, "t_end_s");
	double *x = xmalloc((t.n ? t.n : 1) * sizeof *x);
	for (size_t i = 0; i < t.n; i++)
		x[i] = t0 && t1 ? (t0[i] + t1[i]) / 2 : (double)i;
	double lat_max = 0;
	static const char *lat[] = {"ttfc_p50_s", "ttfc_p99_s", "tbc_p50_s"};
	for (size_t k = 0; k < 3; k++) {
		const double *y = csvt_col(&t, lat[k]);
		for (size_t i = 0; y && i < t.n; i++)
			if (isfinite(y[i]))
				lat_max = fmax(lat_max, y[i]);
	}
	const char *lu;
	double lf = time_scale("s", lat_max, &lu);
	char lt[80], ly[80];
	{
		const char *c[] = {"dispatched", "completed", "errored", "cancelled"};
		const int d[] = {0, 0, 0, 2};
		ts_chart(b, &t, x, "Requests per interval [requests]", "requests", c, c, d, 4, 1);
	}
	{
		const char *c[] = {"in_flight_mean", "in_flight"};
		const char *k[] = {"in_flight", "in_flight"};
		const int d[] = {0, 1};
		ts_chart(b, &t, x, "Requests in flight [requests]", "requests", c, k, d, 2, 1);
	}
	{
		const char *c[] = {"output_tokens_per_s"};
		const char *k[] = {"output_tokens"};
		const int d[] = {0};
		ts_chart(b, &t, x, "Output token throughput [tokens/s]", "tokens/s", c, k, d, 1, 1);
	}
	{
		const char *c[] = {"ttfc_p50_s", "ttfc_p99_s", "tbc_p50_s"};
		const char *k[] = {"ttfc", "ttfc", "tbc"};
		const int d[] = {0, 1, 0};
		snprintf(lt, sizeof lt, "TTFC and TBC per interval [%s]", lu);
		snprintf(ly, sizeof ly, "latency [%s]", lu);
		ts_chart(b, &t, x, lt, ly, c, k, d, 3, lf);
	}
	buf_puts(b, "</div></section>\n");
	free(x);
	csvt_free(&t);
}

/* ---- server metrics ---- */

/* Samples of one Prometheus name from server_metrics.csv (t_s,name,labels,value), summed over its
 * label sets at each scrape time. */
static size_t server_series(const char *text, const char *name, double **xs, double **ys)
{
	size_t n = 0, cap = 0, nl = strlen(name);
	*xs = *ys = NULL;
	const char *p = strchr(text, '\n'); /* skip the header */
	while (p && *++p) {
		const char *e = strchr(p, '\n');
		const char *c1 = strchr(p, ',');
		if (c1 && (!e || c1 < e) && !strncmp(c1 + 1, name, nl) && c1[1 + nl] == ',') {
			double t = strtod(p, NULL);
			const char *last = e ? e : p + strlen(p);
			while (last > p && last[-1] != ',')
				last--;
			double v = strtod(last, NULL);
			if (n && (*xs)[n - 1] == t) {
				(*ys)[n - 1] += v;
			} else {
				if (n == cap) {
					size_t c = cap;
					xgrow((void **)xs, &c, n + 1, sizeof **xs);
					xgrow((void **)ys, &cap, n + 1, sizeof **ys);
				}
				(*xs)[n] = t;
				(*ys)[n] = v;
				n++;
			}
		}
		p = e;
	}
	return n;
}

static void sec_server(struct buf *b, const char *metrics_dir)
{
	cJSON *s = run_json_read(metrics_dir, "server_summary.json");
	buf_puts(b, "<section id=\"server-metrics\"><h2>Server metrics (metrics/server_summary.json)</h2>\n");
	if (!s) { /* server_metrics off, or a run without the scrape (docs/OBSERVABILITY.md) */
		buf_puts(b, "<p class=\"muted\">No metrics/server_summary.json in this run directory.</p></section>\n");
		return;
	}
	buf_puts(b, "<p class=\"note\">");
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(s, "url"),
	            *eng = cJSON_GetObjectItemCaseSensitive(s, "engine");
	rhtml_escape(b, cJSON_IsString(url) ? url->valuestring : "");
	buf_puts(b, " &middot; engine ");
	rhtml_escape(b, cJSON_IsString(eng) ? eng->valuestring : "unknown");
	buf_printf(b, " &middot; %.0f scrapes, %.0f failed</p>\n", rjson_num(s, "scrapes_ok"),
	           rjson_num(s, "scrapes_failed"));
	const cJSON *fe = cJSON_GetObjectItemCaseSensitive(s, "first_error");
	if (cJSON_IsString(fe)) {
		buf_puts(b, "<p class=\"note\">first error: ");
		rhtml_escape(b, fe->valuestring);
		buf_puts(b, "</p>\n");
	}
	const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(s, "metrics");
	buf_puts(b, "<div class=\"grid\"><div><table>\n<tr><th>metric</th><th>type</th><th>source</th><th>min</th>"
	            "<th>mean</th><th>max</th><th>change</th></tr>\n");
	const cJSON *m;
	cJSON_ArrayForEach(m, metrics)
	{
		const cJSON *ty = cJSON_GetObjectItemCaseSensitive(m, "type"),
		            *src = cJSON_GetObjectItemCaseSensitive(m, "source");
		buf_puts(b, "<tr><th>");
		rhtml_escape(b, m->string);
		buf_puts(b, "</th><td>");
		rhtml_escape(b, cJSON_IsString(ty) ? ty->valuestring : "");
		buf_puts(b, "</td><td>");
		rhtml_escape(b, cJSON_IsString(src) ? src->valuestring : "");
		buf_puts(b, "</td>");
		bool gauge = cJSON_IsString(ty) && !strcmp(ty->valuestring, "gauge");
		bool counter = cJSON_IsString(ty) && !strcmp(ty->valuestring, "counter");
		if (gauge) {
			td_num(b, rjson_num(m, "min"));
			td_num(b, rjson_num(m, "mean"));
			td_num(b, rjson_num(m, "max"));
			buf_puts(b, "<td></td>");
		} else if (counter) {
			buf_puts(b, "<td></td><td></td><td></td>");
			td_num(b, rjson_num(m, "delta"));
		} else {
			buf_puts(b, "<td></td><td></td><td></td><td></td>");
		}
		buf_puts(b, "</tr>\n");
	}
	buf_puts(b, "</table></div>\n<div><h3>Client vs server</h3><table>\n<tr><th>quantity</th><th>client</th>"
	            "<th>server</th><th>server source</th><th>agreement</th></tr>\n");
	const cJSON *r;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(s, "reconciliation"))
	{
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(r, "server_source");
		buf_puts(b, "<tr><th>");
		rhtml_escape(b, r->string);
		buf_puts(b, "</th>");
		td_num(b, rjson_num(r, "client"));
		td_num(b, rjson_num(r, "server"));
		buf_puts(b, "<td>");
		rhtml_escape(b, cJSON_IsString(src) ? src->valuestring : "");
		/* a row without both sides agrees with nothing: n/a, as on the console (docs/OBSERVABILITY.md) */
		bool both = isfinite(rjson_num(r, "client")) && isfinite(rjson_num(r, "server"));
		buf_printf(b, "</td><td>%s</td></tr>\n",
		           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "flag"))
		               ? "<span class=\"bad\">differs</span>"
		           : both ? "<span class=\"ok\">ok</span>"
		                  : "<span class=\"muted\">n/a</span>");
	}
	buf_puts(b, "</table>\n");
	const cJSON *cover = cJSON_GetObjectItemCaseSensitive(s, "coverage_note");
	if (cJSON_IsString(cover)) {
		buf_puts(b, "<p class=\"note\">");
		rhtml_escape(b, cover->valuestring);
		buf_puts(b, "</p>\n");
	}
	buf_puts(b, "</div></div>\n");
	/* the gauges over time */
	char *csvp = fs_path_join(metrics_dir, "server_metrics.csv");
	char *text = fs_read_file(csvp, NULL);
	free(csvp);
	if (text) {
		buf_puts(b, "<div class=\"grid\">\n");
		cJSON_ArrayForEach(m, metrics)
		{
			const cJSON *ty = cJSON_GetObjectItemCaseSensitive(m, "type"),
			            *src = cJSON_GetObjectItemCaseSensitive(m, "source");
			if (!cJSON_IsString(ty) || strcmp(ty->valuestring, "gauge") != 0 || !cJSON_IsString(src))
				continue;
			double *x, *y;
			size_t n = server_series(text, src->valuestring, &x, &y);
			char title[200];
			snprintf(title, sizeof title, "Server %s [%s]", m->string, src->valuestring);
			struct rsvg_series se = {
			    .colour = rsvg_metric_colour(m->string), .x = x, .y = y, .n = n, .style = RSVG_STEP};
			struct rsvg_chart c = {.title = title,
			                       .xlabel = "time since the benchmark start [s]",
			                       .ylabel = m->string,
			                       .y_from_zero = true,
			                       .series = &se,
			                       .n_series = 1};
			buf_puts(b, "<div>");
			rsvg_chart(b, &c);
			buf_puts(b, "</div>\n");
			free(x);
			free(y);
		}
		buf_puts(b, "</div>\n");
		free(text);
	}
	buf_puts(b, "</section>\n");
	cJSON_Delete(s);
}

/* ---- provenance ---- */

static void json_scalar(struct buf *b, const cJSON *v)
{
	if (cJSON_IsString(v)) {
		rhtml_escape(b, v->valuestring);
	} else if (cJSON_IsNull(v)) {
		buf_puts(b, "<span class=\"muted\">null</span>");
	} else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0 && cJSON_IsString(v->child)) {
		const cJSON *e; /* argv: one line, as a shell would show it */
		cJSON_ArrayForEach(e, v)
		{
			rhtml_escape(b, cJSON_IsString(e) ? e->valuestring : "?");
			buf_putc(b, ' ');
		}
	} else {
		char *s = cJSON_PrintUnformatted(v);
		rhtml_escape(b, s);
		free(s);
	}
}

static void kv_json_table(struct buf *b, const cJSON *obj)
{
	buf_puts(b, "<table>\n");
	const cJSON *v;
	cJSON_ArrayForEach(v, obj)
	{
		buf_puts(b, "<tr><th>");
		rhtml_escape(b, v->string);
		buf_puts(b, "</th><td>");
		json_scalar(b, v);
		buf_puts(b, "</td></tr>\n");
	}
	buf_puts(b, "</table>\n");
}

static void sec_provenance(struct buf *b, const char *run_dir, const char *metrics_dir)
{
	buf_puts(b, "<section id=\"provenance\"><h2>Configuration and server</h2>\n<div class=\"grid\"><div>"
	            "<h3>config.yml</h3>\n");
	char *p = fs_path_join(run_dir, "config.yml");
	char *cfg = fs_read_file(p, NULL);
	free(p);
	if (cfg) {
		buf_puts(b, "<pre>");
		rhtml_escape(b, cfg);
		buf_puts(b, "</pre>\n");
		free(cfg);
	} else {
		buf_puts(b, "<p class=\"muted\">config.yml not available.</p>\n");
	}
	buf_puts(b, "</div><div><h3>server.json</h3>\n");
	cJSON *srv = run_json_read(run_dir, "server.json");
	if (srv)
		kv_json_table(b, srv);
	else
		buf_puts(b, "<p class=\"muted\">No server.json: the server was not managed by veeksha.</p>\n");
	cJSON_Delete(srv);
	cJSON *cu = run_json_read(metrics_dir, "client_usage.json");
	if (cu) {
		buf_puts(b, "<h3>Client resource usage (metrics/client_usage.json)</h3>\n");
		kv_json_table(b, cu);
		cJSON_Delete(cu);
	}
	buf_puts(b, "</div></div></section>\n");
}

int report_html_write_run(const char *run_dir)
{
	char *metrics_dir = fs_path_join(run_dir, "metrics");
	cJSON *summary = run_json_read(metrics_dir, "summary_stats.json");
	cJSON *thr = run_json_read(metrics_dir, "throughput_metrics.json");
	cJSON *slo = run_json_read(metrics_dir, "slo_results.json");
	struct buf b;
	buf_init(&b);
	char *title = xasprintf("Veeksha report: %s", base_name(run_dir));
	rhtml_begin(&b, title);
	free(title);
	sec_header(&b, run_dir, summary);
	sec_summary(&b, summary, thr);
	sec_slos(&b, slo);
	sec_errors(&b, summary);
	sec_cdfs(&b, metrics_dir);
	sec_by_length(&b, metrics_dir);
	sec_timeseries(&b, metrics_dir);
	sec_server(&b, metrics_dir);
	sec_provenance(&b, run_dir, metrics_dir);
	buf_puts(&b, "</main>\n");
	rhtml_end(&b);
	char *path = fs_path_join(metrics_dir, "report.html");
	int rc = rhtml_write(path, &b);
	free(path);
	buf_free(&b);
	cJSON_Delete(summary);
	cJSON_Delete(thr);
	cJSON_Delete(slo);
	free(metrics_dir);
	return rc;
}
