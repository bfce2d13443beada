/* report.html of a sweep (from sweep_summary.json) and of a capacity search (from
 * capacity_search_results.json and each probe's run directory): docs/OUTPUTS.md, report.html. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "output/report_html.h"
#include "output/report_internal.h"

/* A link to a run's own report: relative when the run lies under dir (a sweep's runs do), else the
 * absolute path. Never a network address. */
static void run_link(struct buf *b, const char *dir, const char *run_dir, const char *text)
{
	if (!run_dir) {
		buf_puts(b, "<span class=\"muted\">no run directory</span>");
		return;
	}
	size_t n = strlen(dir);
	const char *rel = run_dir;
	if (!strncmp(run_dir, dir, n) && run_dir[n] == '/')
		rel = run_dir + n + 1;
	char *target = xasprintf("%s/metrics/report.html", rel);
	buf_puts(b, "<a href=\"");
	rhtml_escape(b, target);
	buf_puts(b, "\">");
	rhtml_escape(b, text ? text : rel);
	buf_puts(b, "</a>");
	free(target);
}

static const cJSON *path_get(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, a) : NULL;
	return b && v ? cJSON_GetObjectItemCaseSensitive(v, b) : v;
}

static double path_num(const cJSON *o, const char *a, const char *b)
{
	const cJSON *v = path_get(o, a, b);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* One chart of metric values against the swept/probed value; bad[i] marks points whose SLOs failed.
 * Values in seconds are shown in ms when all are below 1 s. */
struct mline {
	const char *name, *colour_key;
	int dash;
	double *y;
};

/* Points may belong to groups (a sweep's second swept key): one line per group and statistic,
 * told apart by the dash pattern (colours stay those of the metric). grp == NULL: one group. */
struct groups {
	const size_t *of; /* per point */
	size_t n;
	char **label;
};

static void metric_chart(struct buf *b, const char *title_base, const char *unit, const char *xlabel, const double *x,
                         size_t n, const bool *bad, struct mline *lines, size_t nl, const struct rsvg_ref *refs,
                         size_t nrefs, bool xlog, const struct groups *gr)
{
	double mx = 0;
	for (size_t l = 0; l < nl; l++)
		for (size_t i = 0; i < n; i++)
			if (isfinite(lines[l].y[i]))
				mx = fmax(mx, fabs(lines[l].y[i]));
	const char *u = unit;
	double f = 1;
	if (unit && !strcmp(unit, "s") && mx < 1) {
		u = "ms";
		f = 1000;
	}
	size_t ng = gr && gr->n > 1 ? gr->n : 1;
	size_t cap = nl * ng;
	struct rsvg_series *se = xcalloc(cap ? cap : 1, sizeof *se);
	double **xs = xcalloc(cap ? cap : 1, sizeof *xs), **ys = xcalloc(cap ? cap : 1, sizeof *ys);
	bool **bs = xcalloc(cap ? cap : 1, sizeof *bs);
	char **names = xcalloc(cap ? cap : 1, sizeof *names);
	size_t ns = 0;
	for (size_t l = 0; l < nl; l++)
		for (size_t g = 0; g < ng; g++) {
			xs[ns] = xmalloc((n ? n : 1) * sizeof **xs);
			ys[ns] = xmalloc((n ? n : 1) * sizeof **ys);
			bs[ns] = xmalloc((n ? n : 1) * sizeof **bs);
			size_t m = 0;
			for (size_t i = 0; i < n; i++) {
				if (ng > 1 && gr->of[i] != g)
					continue;
				xs[ns][m] = x[i];
				ys[ns][m] = lines[l].y[i] * f;
				bs[ns][m] = bad && bad[i];
				m++;
			}
			names[ns] = ng > 1 ? xasprintf("%s, %s", lines[l].name, gr->label[g]) : xstrdup(lines[l].name);
			se[ns] = (struct rsvg_series){.name = names[ns],
			                              .colour = rsvg_metric_colour(lines[l].colour_key),
			                              .x = xs[ns],
			                              .y = ys[ns],
			                              .n = m,
			                              .style = RSVG_LINE_POINTS,
			                              .dash = ng > 1 ? (int)(g % 3) : lines[l].dash,
			                              .bad = bs[ns]};
			ns++;
		}
	struct rsvg_ref rs[8];
	for (size_t r = 0; r < nrefs && r < 8; r++) {
		rs[r] = refs[r];
		if (!rs[r].vertical)
			rs[r].v *= f;
	}
	char title[200], yl[200];
	snprintf(title, sizeof title, "%s [%s]", title_base, u ? u : "");
	snprintf(yl, sizeof yl, "%s [%s]", title_base, u ? u : "");
	struct rsvg_chart c = {.title = title,
	                       .xlabel = xlabel,
	                       .ylabel = yl,
	                       .xlog = xlog,
	                       .y_from_zero = true,
	                       .series = se,
	                       .n_series = ns,
	                       .refs = rs,
	                       .n_refs = nrefs < 8 ? nrefs : 8};
	buf_puts(b, "<div>");
	rsvg_chart(b, &c);
	buf_puts(b, "</div>\n");
	for (size_t k = 0; k < ns; k++) {
		free(xs[k]);
		free(ys[k]);
		free(bs[k]);
		free(names[k]);
	}
	free(xs);
	free(ys);
	free(bs);
	free(names);
	free(se);
}

/* The usual per-run metrics (from a run's summary_stats.json) against x: latency, throughput,
 * error rate. summaries[i] may be NULL (a run without files). */
static void standard_charts(struct buf *b, const char *xlabel, const double *x, size_t n, const bool *bad,
                            cJSON *const *summaries, bool xlog, const struct groups *gr)
{
	bool grouped = gr && gr->n > 1; /* then p99 only, one line per group */
	static const struct {
		const char *title, *unit, *display, *colour_key;
	} lat[] = {
	    {"Time to First Chunk", "s", "Time to First Chunk", "ttfc"},
	    {"Time Between Chunks", "s", "Time Between Chunks", "tbc"},
	    {"End to End Latency", "s", "End to End Latency", "end_to_end_latency"},
	};
	double *y[6];
	for (int k = 0; k < 6; k++)
		y[k] = xmalloc((n ? n : 1) * sizeof **y);
	for (size_t c = 0; c < sizeof lat / sizeof lat[0]; c++) {
		char k50[160], k99[160];
		snprintf(k50, sizeof k50, "%s (P50)", lat[c].display);
		snprintf(k99, sizeof k99, "%s (P99)", lat[c].display);
		for (size_t i = 0; i < n; i++) {
			y[0][i] = rjson_num(summaries[i], k50);
			y[1][i] = rjson_num(summaries[i], k99);
		}
		struct mline ml[] = {{"p99", lat[c].colour_key, 1, y[1]}, {"p50", lat[c].colour_key, 0, y[0]}};
		metric_chart(b, lat[c].title, lat[c].unit, xlabel, x, n, bad, ml, grouped ? 1 : 2, NULL, 0, xlog, gr);
	}
	for (size_t i = 0; i < n; i++) {
		y[0][i] = rjson_num(summaries[i], "Output Token Throughput (tokens/s)");
		y[1][i] = rjson_num(summaries[i], "Goodput (requests/s)");
		y[2][i] = rjson_num(summaries[i], "Error Rate") * 100;
		/* completed requests/s = goodput / (good / completed); undefined when nothing was good */
		double frac = rjson_num(summaries[i], "Goodput Fraction");
		y[3][i] = (isfinite(frac) && frac > 0) ? y[1][i] / frac : NAN;
	}
	struct mline tp[] = {{"output tokens/s", "output_tokens", 0, y[0]}};
	metric_chart(b, "Output token throughput", "tokens/s", xlabel, x, n, bad, tp, 1, NULL, 0, xlog, gr);
	struct mline gp[] = {{"goodput (every SLO met)", "goodput", 0, y[1]}, {"completed", "completed", 1, y[3]}};
	metric_chart(b, "Request throughput", "requests/s", xlabel, x, n, bad, gp, grouped ? 1 : 2, NULL, 0, xlog, gr);
	struct mline er[] = {{"error rate", "error_rate", 0, y[2]}};
	metric_chart(b, "Error rate", "%", xlabel, x, n, bad, er, 1, NULL, 0, xlog, gr);
	for (int k = 0; k < 6; k++)
		free(y[k]);
}

struct sweep_pt {
	double x;
	size_t idx;
};

static int cmp_pt(const void *a, const void *b)
{
	const struct sweep_pt *p = a, *q = b;
	if (p->x != q->x)
		return (p->x > q->x) - (p->x < q->x);
	return (p->idx > q->idx) - (p->idx < q->idx);
}

static bool all_positive(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(v[i] > 0))
			return false;
	return n > 0;
}

/* Log x when the swept values span more than a factor of 20 (1, 2, 4 ... 64 concurrent sessions). */
static bool wants_log(const double *v, size_t n)
{
	double lo = INFINITY, hi = 0;
	for (size_t i = 0; i < n; i++) {
		lo = fmin(lo, v[i]);
		hi = fmax(hi, v[i]);
	}
	return all_positive(v, n) && hi / lo > 20;
}

int report_html_write_sweep(const char *sweep_dir)
{
	cJSON *runs = run_json_read(sweep_dir, "sweep_summary.json");
	if (!cJSON_IsArray(runs)) {
		log_error("sweep report: %s/sweep_summary.json is missing or not a JSON array", sweep_dir);
		cJSON_Delete(runs);
		return -1;
	}
	size_t n = (size_t)cJSON_GetArraySize(runs);
	const cJSON **row = xcalloc(n ? n : 1, sizeof *row);
	size_t k = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, runs) row[k++] = r;
	/* the swept value: the first of these that differs between runs */
	static const struct {
		const char *a, *b, *label;
	} cand[] = {
	    {"traffic", "arrival_rate", "arrival rate [sessions/s]"},
	    {"traffic", "target_concurrent_sessions", "concurrent sessions"},
	    {"context_length", NULL, "context length [tokens]"},
	    {"batch_size", NULL, "batch size [requests]"},
	    {"output_length", NULL, "output length [tokens]"},
	    {"runtime", "max_sessions", "max sessions"},
	    {"runtime", "benchmark_timeout", "benchmark timeout [s]"},
	};
	const char *xlabel = "run index";
	double *x = xmalloc((n ? n : 1) * sizeof *x);
	for (size_t i = 0; i < n; i++)
		x[i] = (double)i;
	/* the first key that differs between runs is the x axis, the second one (if any) makes groups */
	int second = -1;
	bool have_x = false;
	for (size_t c = 0; c < sizeof cand / sizeof cand[0]; c++) {
		bool varies = false, all = true;
		for (size_t i = 0; i < n; i++) {
			double v = path_num(row[i], cand[c].a, cand[c].b);
			all = all && isfinite(v);
			varies = varies || (i && v != path_num(row[0], cand[c].a, cand[c].b));
		}
		if (!all || !varies)
			continue;
		if (have_x) {
			second = (int)c;
			break;
		}
		for (size_t i = 0; i < n; i++)
			x[i] = path_num(row[i], cand[c].a, cand[c].b);
		xlabel = cand[c].label;
		have_x = true;
	}
	struct sweep_pt *pt = xmalloc((n ? n : 1) * sizeof *pt);
	for (size_t i = 0; i < n; i++)
		pt[i] = (struct sweep_pt){x[i], i};
	qsort(pt, n, sizeof *pt, cmp_pt);
	double *xs = xmalloc((n ? n : 1) * sizeof *xs);
	bool *bad = xcalloc(n ? n : 1, sizeof *bad);
	cJSON **sum = xcalloc(n ? n : 1, sizeof *sum);
	for (size_t i = 0; i < n; i++) {
		const cJSON *ri = row[pt[i].idx];
		xs[i] = pt[i].x;
		bad[i] = !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ri, "all_slos_met"));
		sum[i] = (cJSON *)cJSON_GetObjectItemCaseSensitive(ri, "summary_stats");
		if (cJSON_IsNull(sum[i]))
			sum[i] = NULL;
	}
	struct groups gr = {0};
	size_t *gof = xcalloc(n ? n : 1, sizeof *gof);
	double *gval = xmalloc((n ? n : 1) * sizeof *gval);
	if (second >= 0) {
		for (size_t i = 0; i < n; i++) {
			double v = path_num(row[pt[i].idx], cand[second].a, cand[second].b);
			size_t g = 0;
			while (g < gr.n && gval[g] != v)
				g++;
			if (g == gr.n)
				gval[gr.n++] = v;
			gof[i] = g;
		}
		gr.label = xcalloc(gr.n, sizeof *gr.label);
		for (size_t g = 0; g < gr.n; g++)
			gr.label[g] = xasprintf("%s %g", cand[second].label, gval[g]);
		gr.of = gof;
	}
	struct buf b;
	buf_init(&b);
	rhtml_begin(&b, "Veeksha sweep report");
	buf_puts(&b, "<header><h1>Veeksha sweep report</h1><p>");
	rhtml_escape(&b, sweep_dir);
	buf_printf(&b,
	           "</p></header>\n<main>\n<section id=\"sweep\"><h2>%zu runs against %s</h2>\n"
	           "<p class=\"note\">Points ringed in red: a run whose SLOs were not all met (or without "
	           "slo_results.json). Latency: p50 solid, p99 dashed; with a second swept key, p99 only and one "
	           "line per value of that key (solid, dashed, dotted).</p>\n<div class=\"grid\">\n",
	           n, xlabel);
	standard_charts(&b, xlabel, xs, n, bad, sum, wants_log(xs, n), &gr);
	buf_puts(&b, "</div></section>\n<section id=\"runs\"><h2>Runs</h2>\n<table>\n<tr><th>run</th><th>");
	rhtml_escape(&b, xlabel);
	if (second >= 0) {
		buf_puts(&b, "</th><th>");
		rhtml_escape(&b, cand[second].label);
	}
	buf_puts(&b, "</th><th>requests</th><th>error rate [%]</th><th>TTFC p99 [ms]</th><th>TBC p99 [ms]</th>"
	             "<th>E2E p99 [ms]</th><th>output tokens/s</th><th>SLOs</th></tr>\n");
	for (size_t i = 0; i < n; i++) {
		const cJSON *ri = row[pt[i].idx];
		const cJSON *rd = cJSON_GetObjectItemCaseSensitive(ri, "run_dir");
		char idx[32];
		snprintf(idx, sizeof idx, "#%zu", pt[i].idx);
		buf_puts(&b, "<tr><td>");
		run_link(&b, sweep_dir, cJSON_IsString(rd) ? rd->valuestring : NULL, idx);
		buf_puts(&b, "</td><td class=\"n\">");
		rhtml_num(&b, xs[i]);
		if (second >= 0) {
			buf_puts(&b, "</td><td class=\"n\">");
			rhtml_num(&b, gval[gof[i]]);
		}
		buf_puts(&b, "</td><td class=\"n\">");
		rhtml_num(&b, rjson_num(sum[i], "Number of Requests"));
		buf_puts(&b, "</td><td class=\"n\">");
		rhtml_num(&b, rjson_num(sum[i], "Error Rate") * 100);
		static const char *p99[] = {"Time to First Chunk (P99)", "Time Between Chunks (P99)",
		                            "End to End Latency (P99)"};
		for (int q = 0; q < 3; q++) {
			buf_puts(&b, "</td><td class=\"n\">");
			rhtml_num(&b, rjson_num(sum[i], p99[q]) * 1000);
		}
		buf_puts(&b, "</td><td class=\"n\">");
		rhtml_num(&b, rjson_num(sum[i], "Output Token Throughput (tokens/s)"));
		const cJSON *met = cJSON_GetObjectItemCaseSensitive(ri, "all_slos_met");
		buf_printf(&b, "</td><td>%s</td></tr>\n",
		           cJSON_IsTrue(met)    ? "<span class=\"ok\">met</span>"
		           : cJSON_IsFalse(met) ? "<span class=\"bad\">not met</span>"
		                                : "<span class=\"muted\">unknown</span>");
	}
	buf_puts(&b, "</table></section>\n</main>\n");
	rhtml_end(&b);
	char *path = fs_path_join(sweep_dir, "report.html");
	int rc = rhtml_write(path, &b);
	free(path);
	buf_free(&b);
	for (size_t g = 0; g < gr.n; g++)
		free(gr.label[g]);
	free(gr.label);
	free(gof);
	free(gval);
	free(sum);
	free(bad);
	free(xs);
	free(pt);
	free(x);
	free(row);
	cJSON_Delete(runs);
	return rc;
}

int report_html_write_capacity(const char *dir)
{
	cJSON *res = run_json_read(dir, "capacity_search_results.json");
	const cJSON *hist = res ? cJSON_GetObjectItemCaseSensitive(res, "history") : NULL;
	if (!cJSON_IsArray(hist)) {
		log_error("capacity report: %s/capacity_search_results.json is missing or has no history", dir);
		cJSON_Delete(res);
		return -1;
	}
	size_t n = (size_t)cJSON_GetArraySize(hist);
	const cJSON **h = xcalloc(n ? n : 1, sizeof *h);
	size_t k = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, hist) h[k++] = e;
	const cJSON *knob = cJSON_GetObjectItemCaseSensitive(res, "searched_knob");
	const char *xlabel = cJSON_IsString(knob) ? knob->valuestring : "probed value";
	double best = rjson_num(res, "best_value");
	/* probes sorted by value for the lines; the table keeps the probe order */
	struct sweep_pt *pt = xmalloc((n ? n : 1) * sizeof *pt);
	for (size_t i = 0; i < n; i++)
		pt[i] = (struct sweep_pt){rjson_num(h[i], "value"), i};
	qsort(pt, n, sizeof *pt, cmp_pt);
	double *xs = xmalloc((n ? n : 1) * sizeof *xs);
	bool *bad = xcalloc(n ? n : 1, sizeof *bad);
	cJSON **sum = xcalloc(n ? n : 1, sizeof *sum);
	for (size_t i = 0; i < n; i++) {
		const cJSON *hi = h[pt[i].idx];
		xs[i] = pt[i].x;
		bad[i] = !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hi, "all_slos_met"));
		const cJSON *rd = cJSON_GetObjectItemCaseSensitive(hi, "run_dir");
		if (cJSON_IsString(rd)) {
			char *md = fs_path_join(rd->valuestring, "metrics");
			sum[i] = run_json_read(md, "summary_stats.json");
			free(md);
		}
	}
	struct buf b;
	buf_init(&b);
	rhtml_begin(&b, "Veeksha capacity search report");
	buf_puts(&b, "<header><h1>Veeksha capacity search report</h1><p>");
	rhtml_escape(&b, dir);
	buf_puts(&b, "</p></header>\n<main>\n<section id=\"capacity\"><h2>Capacity found</h2>\n<p>");
	if (isfinite(best)) {
		buf_puts(&b, "<span class=\"ok\">");
		rhtml_escape(&b, xlabel);
		buf_printf(&b, " = %.6g</span>: the highest probed value that met every SLO", best);
	} else {
		buf_puts(&b, "<span class=\"bad\">no probed value met the SLOs</span>");
	}
	buf_printf(
	    &b,
	    " (%zu probes).</p>\n<p class=\"note\">Points ringed in red failed an SLO; the dashed vertical "
	    "line is the capacity found, dashed horizontal lines are the thresholds.</p>\n<div class=\"grid\">\n",
	    n);
	struct rsvg_ref cap = {.vertical = true, .v = best, .label = "capacity", .colour = "#2e7d32"};
	/* each SLO: observed against the probed value, with its threshold */
	const cJSON *first = NULL;
	for (size_t i = 0; i < n && !first; i++) {
		const cJSON *sr = cJSON_GetObjectItemCaseSensitive(h[i], "slo_results");
		if (cJSON_GetArraySize(sr) > 0)
			first = sr;
	}
	const cJSON *slo;
	cJSON_ArrayForEach(slo, first)
	{
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(slo, "slo_metric_key");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(slo, "name");
		const cJSON *metric = cJSON_GetObjectItemCaseSensitive(slo, "metric");
		if (!cJSON_IsString(key))
			continue;
		bool rate = !strcmp(key->valuestring, "error_rate");
		double *y = xmalloc((n ? n : 1) * sizeof *y);
		for (size_t i = 0; i < n; i++) {
			y[i] = NAN;
			const cJSON *o;
			cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(h[pt[i].idx], "slo_results"))
			{
				const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "slo_metric_key");
				if (cJSON_IsString(ok) && !strcmp(ok->valuestring, key->valuestring))
					y[i] = rjson_num(o, "observed_value") * (rate ? 100 : 1);
			}
		}
		struct rsvg_ref refs[2] = {cap,
		                           {.vertical = false,
		                            .v = rjson_num(slo, "threshold") * (rate ? 100 : 1),
		                            .label = "threshold",
		                            .colour = "#c62828"}};
		const char *mk = cJSON_IsString(metric) ? metric->valuestring : "";
		struct mline ml = {"observed", !strcmp(mk, "e2e") ? "end_to_end_latency" : mk, 0, y};
		char title[160];
		snprintf(title, sizeof title, "SLO %s", cJSON_IsString(name) ? name->valuestring : key->valuestring);
		metric_chart(&b, title, rate ? "%" : "s", xlabel, xs, n, bad, &ml, 1, refs, 2, false, NULL);
		free(y);
	}
	buf_puts(&b, "</div>\n<h3>Every probe</h3><div class=\"grid\">\n");
	standard_charts(&b, xlabel, xs, n, bad, sum, false, NULL);
	buf_puts(&b, "</div></section>\n<section id=\"probes\"><h2>Probes in search order</h2>\n<table>\n<tr><th>#</th>"
	             "<th>value</th><th>SLOs</th><th>objectives</th><th>run</th></tr>\n");
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "<tr><td class=\"n\">%zu</td><td class=\"n\">", i + 1);
		rhtml_num(&b, rjson_num(h[i], "value"));
		buf_printf(&b, "</td><td>%s</td><td>",
		           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h[i], "all_slos_met"))
		               ? "<span class=\"ok\">met</span>"
		               : "<span class=\"bad\">not met</span>");
		const cJSON *o;
		cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(h[i], "slo_results"))
		{
			const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
			const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "slo_metric_key");
			bool rate = cJSON_IsString(ok) && !strcmp(ok->valuestring, "error_rate");
			rhtml_escape(&b, cJSON_IsString(nm)   ? nm->valuestring
			                 : cJSON_IsString(ok) ? ok->valuestring
			                                      : "?");
			buf_puts(&b, " ");
			rhtml_num(&b, rjson_num(o, "observed_value") * (rate ? 100 : 1000));
			buf_printf(&b, " %s (&le; ", rate ? "%" : "ms");
			rhtml_num(&b, rjson_num(o, "threshold") * (rate ? 100 : 1000));
			buf_printf(&b, ")%s<br>",
			           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "met")) ? "" : " &#10007;");
		}
		buf_puts(&b, "</td><td>");
		const cJSON *rd = cJSON_GetObjectItemCaseSensitive(h[i], "run_dir");
		run_link(&b, dir, cJSON_IsString(rd) ? rd->valuestring : NULL, NULL);
		buf_puts(&b, "</td></tr>\n");
	}
	buf_puts(&b, "</table></section>\n</main>\n");
	rhtml_end(&b);
	char *path = fs_path_join(dir, "report.html");
	int rc = rhtml_write(path, &b);
	free(path);
	buf_free(&b);
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(sum[i]);
	free(sum);
	free(bad);
	free(xs);
	free(pt);
	free(h);
	cJSON_Delete(res);
	return rc;
}
