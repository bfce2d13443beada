/* Inline SVG charts of the HTML reports (docs/OUTPUTS.md, report.html). Drawn here rather than by
 * gnuplot's svg terminal so that a report needs no external program, its markup is exactly what
 * the browser test and the structure test check, and colours and axes are the same in every run. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "output/report_internal.h"

#define W 760.0
#define H 330.0
#define ML 72.0 /* left margin: y tick labels and the y label */
#define MR 24.0
#define MT 34.0 /* the title */
#define MB 48.0 /* x tick labels and the x label */
#define LEGEND_H 18.0

const char *rsvg_metric_colour(const char *key)
{
	/* One entry per metric key of docs/METRICS.md; the series of a time series use their metric's
	 * colour with a dash pattern per statistic. */
	static const struct {
		const char *key, *colour;
	} tab[] = {
	    {"ttfc", "#1f77b4"},
	    {"tbc", "#ff7f0e"},
	    {"tpot", "#2ca02c"},
	    {"end_to_end_latency", "#d62728"},
	    {"normalized_end_to_end_latency", "#9467bd"},
	    {"output_throughput", "#8c564b"},
	    {"num_prompt_tokens", "#e377c2"},
	    {"num_output_tokens", "#7f7f7f"},
	    {"num_total_tokens", "#bcbd22"},
	    {"session_size", "#17becf"},
	    {"session_duration", "#393b79"},
	    {"session_think_time", "#637939"},
	    {"ttfo", "#8c6d31"},
	    {"reasoning_duration", "#843c39"},
	    {"num_reasoning_tokens", "#7b4173"},
	    {"num_answer_tokens", "#3182bd"},
	    {"dispatched", "#6b6ecf"},
	    {"completed", "#2ca02c"},
	    {"errored", "#d62728"},
	    {"cancelled", "#7f7f7f"},
	    {"in_flight", "#17becf"},
	    {"output_tokens", "#8c564b"},
	    {"goodput", "#31a354"},
	    {"error_rate", "#d62728"},
	};
	static const char *hashed[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d"};
	if (!key)
		return "#1f77b4";
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (!strcmp(tab[i].key, key))
			return tab[i].colour;
	uint32_t h = 2166136261u; /* FNV-1a: stable across runs and builds */
	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return hashed[h % (sizeof hashed / sizeof hashed[0])];
}

double rsvg_quantile(const double *v, size_t n, double q)
{
	if (!n)
		return NAN;
	double r = q * (double)(n - 1);
	size_t lo = (size_t)r;
	if (lo >= n - 1)
		return v[n - 1];
	return v[lo] + (v[lo + 1] - v[lo]) * (r - (double)lo);
}

/* ---- axes ---- */

struct axis {
	bool log;
	double lo, hi; /* in axis space (log10 when log) */
	double px0, px1;
};

static double ax_t(const struct axis *a, double v)
{
	return a->log ? log10(v) : v;
}

static double ax_px(const struct axis *a, double v)
{
	double t = ax_t(a, v);
	return a->px0 + (t - a->lo) / (a->hi - a->lo) * (a->px1 - a->px0);
}

static double nice_step(double range, int target)
{
	double raw = range / target;
	double mag = pow(10, floor(log10(raw)));
	double f = raw / mag;
	return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/* Fits [min, max] (data space) with a little room; a single value gets a range around it. */
static void ax_fit(struct axis *a, double min, double max, bool from_zero)
{
	if (a->log) {
		double l = log10(min), h = log10(max);
		if (h - l < 1e-9) {
			l -= 0.5;
			h += 0.5;
		}
		double pad = 0.04 * (h - l);
		a->lo = l - pad;
		a->hi = h + pad;
		return;
	}
	if (from_zero && min >= 0)
		min = 0;
	if (max - min <= 0) {
		double d = fabs(max) > 0 ? fabs(max) * 0.1 : 1;
		min = from_zero && min == 0 ? 0 : min - d; /* all zero (no errors): [0, 1], not [-1, 1] */
		max += d;
	}
	double pad = 0.04 * (max - min);
	a->lo = (from_zero && min == 0) ? 0 : min - pad;
	a->hi = max + pad;
}

static void fmt_tick(char *out, size_t n, double v, double step)
{
	if (fabs(v) < step * 1e-6)
		v = 0;
	snprintf(out, n, "%.4g", v);
}

/* Tick positions (data space) into t[], at most cap; returns the count. */
static size_t ax_ticks(const struct axis *a, double *t, size_t cap, double *step_out)
{
	size_t k = 0;
	if (a->log) {
		double span = a->hi - a->lo;
		static const double mult_few[] = {1, 2, 5};
		size_t nm = span > 2.5 ? 1 : 3;
		for (double e = floor(a->lo); e <= ceil(a->hi) && k < cap; e++)
			for (size_t m = 0; m < nm && k < cap; m++) {
				double v = mult_few[m] * pow(10, e);
				double lv = log10(v);
				if (lv >= a->lo - 1e-9 && lv <= a->hi + 1e-9)
					t[k++] = v;
			}
		if (k < 2) { /* less than a factor of two on the axis: plain steps in data space */
			double lo = pow(10, a->lo), hi = pow(10, a->hi), st = nice_step(hi - lo, 4);
			k = 0;
			for (double v = ceil(lo / st) * st; v <= hi && k < cap; v += st)
				t[k++] = v;
			*step_out = st;
			return k;
		}
		*step_out = 0;
		return k;
	}
	double st = nice_step(a->hi - a->lo, 5);
	for (double v = ceil(a->lo / st) * st; v <= a->hi + st * 1e-9 && k < cap; v += st)
		t[k++] = v;
	*step_out = st;
	return k;
}

static void svg_text(struct buf *b, double x, double y, const char *anchor, const char *cls, const char *s)
{
	buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s%s>", x, y, anchor, cls ? " class=\"" : "",
	           cls ? cls : "", cls ? "\"" : "");
	rhtml_escape(b, s);
	buf_puts(b, "</text>");
}

static void svg_open(struct buf *b, const char *title, double h)
{
	buf_printf(b, "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"", W, h);
	rhtml_escape(b, title);
	buf_puts(b, "\"><title>");
	rhtml_escape(b, title);
	buf_puts(b, "</title>");
	buf_printf(b, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>", W, h);
	svg_text(b, W / 2, 20, "middle", "ct", title);
}

static void draw_axes(struct buf *b, const struct axis *x, const struct axis *y, const char *xlabel, const char *ylabel,
                      bool x_ticks)
{
	double t[64], st;
	char lab[48];
	size_t n = ax_ticks(y, t, 64, &st);
	for (size_t i = 0; i < n; i++) {
		double py = ax_px(y, t[i]);
		buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x->px0, py,
		           x->px1, py);
		fmt_tick(lab, sizeof lab, t[i], st);
		svg_text(b, x->px0 - 6, py + 4, "end", "tk", lab);
	}
	if (x_ticks) {
		n = ax_ticks(x, t, 64, &st);
		for (size_t i = 0; i < n; i++) {
			double px = ax_px(x, t[i]);
			buf_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", px,
			           y->px0, px, y->px1);
			fmt_tick(lab, sizeof lab, t[i], st);
			svg_text(b, px, y->px0 + 16, "middle", "tk", lab);
		}
	}
	buf_printf(b, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", x->px0, y->px1,
	           x->px1 - x->px0, y->px0 - y->px1);
	if (xlabel)
		svg_text(b, (x->px0 + x->px1) / 2, H - 8, "middle", "al", xlabel);
	if (ylabel) {
		buf_printf(b, "<g transform=\"translate(16 %.1f) rotate(-90)\">", (y->px0 + y->px1) / 2);
		svg_text(b, 0, 0, "middle", "al", ylabel);
		buf_puts(b, "</g>");
	}
}

static void no_samples(struct buf *b, double h)
{
	svg_text(b, W / 2, h / 2, "middle", "ns", "no samples");
	buf_puts(b, "</svg>\n");
}

static const char *dash_attr(int dash)
{
	return dash == 1 ? " stroke-dasharray=\"7 4\"" : dash == 2 ? " stroke-dasharray=\"2 3\"" : "";
}

void rsvg_chart(struct buf *b, const struct rsvg_chart *c)
{
	/* data ranges; log only when every value on the axis is positive */
	double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
	bool xpos = true, ypos = true;
	size_t legend = 0;
	for (size_t s = 0; s < c->n_series; s++) {
		const struct rsvg_series *se = &c->series[s];
		legend += se->name != NULL;
		for (size_t i = 0; i < se->n; i++) {
			double x = se->x[i], y = se->y[i];
			if (!isfinite(x) || !isfinite(y))
				continue;
			xmin = fmin(xmin, x);
			xmax = fmax(xmax, x);
			ymin = fmin(ymin, y);
			ymax = fmax(ymax, y);
			xpos = xpos && x > 0;
			ypos = ypos && y > 0;
		}
	}
	bool any = xmin <= xmax;
	for (size_t r = 0; r < c->n_refs && any; r++) {
		double v = c->refs[r].v;
		if (!isfinite(v))
			continue;
		if (c->refs[r].vertical) {
			xmin = fmin(xmin, v);
			xmax = fmax(xmax, v);
			xpos = xpos && v > 0;
		} else {
			ymin = fmin(ymin, v);
			ymax = fmax(ymax, v);
			ypos = ypos && v > 0;
		}
	}
	double top = MT + (legend ? LEGEND_H : 0);
	svg_open(b, c->title, H);
	if (!any) {
		no_samples(b, H);
		return;
	}
	struct axis ax = {.log = c->xlog && xpos, .px0 = ML, .px1 = W - MR};
	struct axis ay = {.log = c->ylog && ypos, .px0 = H - MB, .px1 = top};
	ax_fit(&ax, xmin, xmax, false);
	ax_fit(&ay, ymin, ymax, c->y_from_zero);
	char xl[200], yl[200];
	snprintf(xl, sizeof xl, "%s%s", c->xlabel ? c->xlabel : "", ax.log ? " (log scale)" : "");
	snprintf(yl, sizeof yl, "%s%s", c->ylabel ? c->ylabel : "", ay.log ? " (log scale)" : "");
	draw_axes(b, &ax, &ay, xl, yl, true);
	/* legend: one row under the title */
	double lx = ML;
	for (size_t s = 0; s < c->n_series; s++) {
		const struct rsvg_series *se = &c->series[s];
		if (!se->name)
			continue;
		buf_printf(
		    b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.5\"%s/>",
		    lx, MT + 6, lx + 22, MT + 6, se->colour, dash_attr(se->dash));
		svg_text(b, lx + 27, MT + 10, "start", "lg", se->name);
		lx += 40 + 6.5 * (double)strlen(se->name);
	}
	for (size_t r = 0; r < c->n_refs; r++) {
		const struct rsvg_ref *rf = &c->refs[r];
		if (!isfinite(rf->v))
			continue;
		const char *col = rf->colour ? rf->colour : "#444";
		if (rf->vertical) {
			double px = ax_px(&ax, rf->v);
			buf_printf(
			    b,
			    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" "
			    "stroke-dasharray=\"5 4\"/>",
			    px, ay.px0, px, ay.px1, col);
			if (rf->label)
				svg_text(b, px + 4, ay.px1 + 12, "start", "rl", rf->label);
		} else {
			double py = ax_px(&ay, rf->v);
			buf_printf(
			    b,
			    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" "
			    "stroke-dasharray=\"5 4\"/>",
			    ax.px0, py, ax.px1, py, col);
			if (rf->label)
				svg_text(b, ax.px1 - 4, py - 4, "end", "rl", rf->label);
		}
	}
	for (size_t s = 0; s < c->n_series; s++) {
		const struct rsvg_series *se = &c->series[s];
		if (se->style != RSVG_POINTS) {
			buf_printf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s d=\"", se->colour,
			           dash_attr(se->dash));
			bool pen = false;
			double prev_py = 0;
			for (size_t i = 0; i < se->n; i++) {
				double x = se->x[i], y = se->y[i];
				if (!isfinite(x) || !isfinite(y) || (ax.log && x <= 0) || (ay.log && y <= 0)) {
					pen = false;
					continue;
				}
				double px = ax_px(&ax, x), py = ax_px(&ay, y);
				if (!pen)
					buf_printf(b, "M%.1f %.1f", px, py);
				else if (se->style == RSVG_STEP)
					buf_printf(b, "L%.1f %.1fL%.1f %.1f", px, prev_py, px, py);
				else
					buf_printf(b, "L%.1f %.1f", px, py);
				pen = true;
				prev_py = py;
			}
			buf_puts(b, "\"/>");
		}
		if (se->style == RSVG_POINTS || se->style == RSVG_LINE_POINTS || se->bad) {
			for (size_t i = 0; i < se->n; i++) {
				double x = se->x[i], y = se->y[i];
				if (!isfinite(x) || !isfinite(y) || (ax.log && x <= 0) || (ay.log && y <= 0))
					continue;
				double px = ax_px(&ax, x), py = ax_px(&ay, y);
				bool bad = se->bad && se->bad[i];
				buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\"%s/>", px, py,
				           bad ? "4.5" : "3.5", bad ? "#fff" : se->colour,
				           bad ? " stroke=\"#d62728\" stroke-width=\"2.5\"" : "");
			}
		}
	}
	buf_puts(b, "</svg>\n");
}

/* ---- violins ---- */

#define KDE_POINTS 48
#define KDE_MAX_SAMPLES 4000

static double group_t(double v, bool log)
{
	return log ? log10(v) : v;
}

void rsvg_violins(struct buf *b, const char *title, const char *xlabel, const char *ylabel, const char *colour,
                  const struct rsvg_group *g, size_t ng, bool ylog)
{
	double ymin = INFINITY, ymax = -INFINITY;
	size_t maxlab = 0;
	for (size_t k = 0; k < ng; k++) {
		if (g[k].n) {
			ymin = fmin(ymin, g[k].v[0]);
			ymax = fmax(ymax, g[k].v[g[k].n - 1]);
		}
		size_t l = strlen(g[k].label);
		maxlab = l > maxlab ? l : maxlab;
	}
	/* labels that do not fit their slot are turned by 35 degrees, which needs more room below */
	double slot = ng ? (W - ML - MR) / (double)ng : 1;
	bool rotate = 6.2 * (double)maxlab > slot - 6;
	if (rotate)
		maxlab += 10; /* " (n=...)" */
	double mb = rotate ? MB + 6.2 * (double)maxlab * 0.57 + 4 : MB + 12;
	double h = H - MB + mb;
	svg_open(b, title, h);
	if (!(ymin <= ymax)) {
		no_samples(b, h);
		return;
	}
	bool log = ylog && ymin > 0;
	struct axis ax = {.log = false, .px0 = ML, .px1 = W - MR, .lo = 0, .hi = (double)ng};
	struct axis ay = {.log = log, .px0 = h - mb, .px1 = MT};
	ax_fit(&ay, ymin, ymax, false);
	char yl[200];
	snprintf(yl, sizeof yl, "%s%s", ylabel ? ylabel : "", log ? " (log scale)" : "");
	draw_axes(b, &ax, &ay, NULL, yl, false);
	svg_text(b, (ax.px0 + ax.px1) / 2, h - 8, "middle", "al", xlabel);
	double half = 0.42 * slot;
	for (size_t k = 0; k < ng; k++) {
		const struct rsvg_group *gr = &g[k];
		double cx = ML + slot * ((double)k + 0.5);
		/* category label and count under the axis */
		char cnt[48];
		snprintf(cnt, sizeof cnt, "n=%zu", gr->n);
		if (rotate) {
			char *both = xasprintf("%s (%s)", gr->label, cnt);
			buf_printf(b, "<g transform=\"translate(%.1f %.1f) rotate(-35)\">", cx + 4, ay.px0 + 14);
			svg_text(b, 0, 0, "end", "tk", both);
			buf_puts(b, "</g>");
			free(both);
		} else {
			svg_text(b, cx, ay.px0 + 15, "middle", "tk", gr->label);
			svg_text(b, cx, ay.px0 + 28, "middle", "nn", cnt);
		}
		if (!gr->n)
			continue;
		double lo = group_t(gr->v[0], log), hi = group_t(gr->v[gr->n - 1], log);
		/* Silverman's rule of thumb on a strided subsample (the values are sorted, so the stride
		 * keeps the shape) */
		size_t stride = gr->n > KDE_MAX_SAMPLES ? gr->n / KDE_MAX_SAMPLES : 1;
		size_t m = 0;
		double sum = 0, sum2 = 0;
		double *t = xmalloc((gr->n / stride + 1) * sizeof *t);
		for (size_t i = 0; i < gr->n; i += stride) {
			t[m] = group_t(gr->v[i], log);
			sum += t[m];
			sum2 += t[m] * t[m];
			m++;
		}
		double mean = sum / (double)m, var = sum2 / (double)m - mean * mean;
		double sd = var > 0 ? sqrt(var) : 0;
		double iqr = rsvg_quantile(t, m, 0.75) - rsvg_quantile(t, m, 0.25);
		double spread = iqr > 0 ? fmin(sd, iqr / 1.34) : sd;
		double bw = 1.06 * spread * pow((double)m, -0.2);
		if (m >= 2 && hi > lo && bw > 0) {
			double dens[KDE_POINTS], dmax = 0;
			for (int p = 0; p < KDE_POINTS; p++) {
				double yv = lo + (hi - lo) * p / (KDE_POINTS - 1), d = 0;
				for (size_t i = 0; i < m; i++) {
					double z = (yv - t[i]) / bw;
					d += exp(-0.5 * z * z);
				}
				dens[p] = d;
				dmax = fmax(dmax, d);
			}
			buf_printf(b, "<path fill=\"%s\" fill-opacity=\"0.45\" stroke=\"%s\" stroke-width=\"1.2\" d=\"",
			           colour, colour);
			for (int p = 0; p < KDE_POINTS; p++) {
				double yv = lo + (hi - lo) * p / (KDE_POINTS - 1);
				double py = ay.px0 + (yv - ay.lo) / (ay.hi - ay.lo) * (ay.px1 - ay.px0);
				buf_printf(b, "%c%.1f %.1f", p ? 'L' : 'M', cx - half * dens[p] / dmax, py);
			}
			for (int p = KDE_POINTS - 1; p >= 0; p--) {
				double yv = lo + (hi - lo) * p / (KDE_POINTS - 1);
				double py = ay.px0 + (yv - ay.lo) / (ay.hi - ay.lo) * (ay.px1 - ay.px0);
				buf_printf(b, "L%.1f %.1f", cx + half * dens[p] / dmax, py);
			}
			buf_puts(b, "Z\"/>");
		} else {
			/* one value (or all equal): a bar at that value */
			double py = ax_px(&ay, gr->v[0]);
			buf_printf(
			    b,
			    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>",
			    cx - half * 0.6, py, cx + half * 0.6, py, colour);
		}
		free(t);
		/* min-max line, quartile box, median dot (in data space, so log axes place them right) */
		double q1 = rsvg_quantile(gr->v, gr->n, 0.25), q2 = rsvg_quantile(gr->v, gr->n, 0.5),
		       q3 = rsvg_quantile(gr->v, gr->n, 0.75);
		double pmin = ax_px(&ay, gr->v[0]), pmax = ax_px(&ay, gr->v[gr->n - 1]);
		double p1 = ax_px(&ay, q1), p3 = ax_px(&ay, q3), pm = ax_px(&ay, q2);
		buf_printf(b,
		           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\" stroke-width=\"1\"/>",
		           cx, pmin, cx, pmax);
		buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"6\" height=\"%.1f\" fill=\"#333\"/>", cx - 3, p3,
		           fmax(p1 - p3, 1));
		buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#fff\" stroke=\"#333\"/>", cx, pm);
	}
	buf_puts(b, "</svg>\n");
}
