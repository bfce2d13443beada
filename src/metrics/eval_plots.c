/* PNG plots of a run (gnuplot via output/plot.h): <key>.png CDFs (+ _log_x / _symlog_x),
 * ttfc_violin_plot.png (TTFC by prompt length, box plot), decode_window_plot.png.
 * .dat/.gp files go to metrics/plots_src/. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "metrics/eval_internal.h"
#include "metrics/pct.h"
#include "core/fsutil.h"
#include "output/plot.h"

void eval_plot_series(struct evaluator *e, int s)
{
	char *src = fs_path_join(e->metrics_dir, "plots_src");
	const struct eval_series_info *info = &eval_series_infos[s];
	size_t n = e->raw[s].n;
	const double *v = eval_sorted_series(e, s);
	char xl[160];
	if (info->unit)
		snprintf(xl, sizeof xl, "%s [%s]", info->display, info->unit);
	else
		snprintf(xl, sizeof xl, "%s", info->display);
	char title[200]; /* every plot names its metric and unit */
	snprintf(title, sizeof title, "%s: CDF", xl);
	char *png = xasprintf("%s/%s.png", e->metrics_dir, info->key);
	plot_cdf(png, src, info->key, title, xl, v, n, PLOT_LINEAR);
	free(png);
	enum plot_scale sc = plot_recommend_scale_sorted(v, n);
	if (sc != PLOT_LINEAR) {
		const char *suffix = sc == PLOT_LOG ? "log_x" : "symlog_x";
		char *stem = xasprintf("%s_%s", info->key, suffix);
		png = xasprintf("%s/%s.png", e->metrics_dir, stem);
		plot_cdf(png, src, stem, title, xl, v, n, sc);
		free(png);
		free(stem);
	}
	free(src);
}

#define TTFC_MAX_BINS 10

struct len_ttfc {
	int64_t len;
	double ttfc;
};

static int cmp_len_ttfc(const void *a, const void *b)
{
	int64_t x = ((const struct len_ttfc *)a)->len, y = ((const struct len_ttfc *)b)->len;
	return (x > y) - (x < y);
}

/* TTFC by prompt length: a bin per distinct length when there are at most 12, else at most 10 bins
 * of about equal request counts that never split one length (docs/OUTPUTS.md, Plots). Equal-width
 * bins left most of the axis empty for skewed lengths (traces); these always hold data, and
 * report.html uses the same bins. */
static void plot_ttfc_by_prompt(struct evaluator *e, const char *src)
{
	size_t n = e->n_rows;
	if (!n)
		return;
	struct len_ttfc *r = xmalloc(n * sizeof *r);
	double *all = xmalloc(n * sizeof *all);
	for (size_t i = 0; i < n; i++) {
		r[i].len = e->rows[i].num_delta_prompt_tokens;
		r[i].ttfc = e->rows[i].ttfc;
		eval_rows_scanned(e, i);
		all[i] = r[i].ttfc;
	}
	qsort(r, n, sizeof *r, cmp_len_ttfc);
	size_t distinct = 1;
	for (size_t i = 1; i < n; i++)
		distinct += r[i].len != r[i - 1].len;
	size_t per = distinct <= 12 ? 1 : (n + TTFC_MAX_BINS - 1) / TTFC_MAX_BINS;
	size_t *start = xmalloc((n + 1) * sizeof *start), nb = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i + per < n ? i + per : n;
		while (j < n && r[j].len == r[j - 1].len)
			j++;
		start[nb++] = i;
		i = j;
	}
	start[nb] = n;
	double **vals = xcalloc(nb, sizeof *vals);
	size_t *cnt = xcalloc(nb, sizeof *cnt);
	char **labels = xcalloc(nb, sizeof *labels);
	for (size_t b = 0; b < nb; b++) {
		long long a = (long long)r[start[b]].len, z = (long long)r[start[b + 1] - 1].len;
		labels[b] = a == z ? xasprintf("%lld", a) : xasprintf("%lld-%lld", a, z);
		cnt[b] = start[b + 1] - start[b];
		vals[b] = xmalloc(cnt[b] * sizeof **vals);
		for (size_t i = 0; i < cnt[b]; i++)
			vals[b][i] = r[start[b] + i].ttfc;
	}
	const char *xl =
	    distinct <= 12 ? "Number of Prompt Tokens" : "Number of Prompt Tokens (bins of about equal request counts)";
	char *png = xasprintf("%s/ttfc_violin_plot.png", e->metrics_dir);
	plot_boxes(png, src, "ttfc_violin_plot", "Time to First Chunk [s] by prompt length", xl,
	           "Time to First Chunk [s]", (const char *const *)labels, (const double *const *)vals, cnt, nb,
	           PLOT_LINEAR);
	free(png);
	pct_sort(all, n); /* (the radix sort: the general rule would qsort the positives) */
	enum plot_scale sc = plot_recommend_scale_sorted(all, n);
	if (sc != PLOT_LINEAR) {
		const char *stem = sc == PLOT_LOG ? "ttfc_violin_plot_log_y" : "ttfc_violin_plot_symlog_y";
		png = xasprintf("%s/%s.png", e->metrics_dir, stem);
		plot_boxes(png, src, stem, "Time to First Chunk [s] by prompt length", xl, "Time to First Chunk [s]",
		           (const char *const *)labels, (const double *const *)vals, cnt, nb, sc);
		free(png);
	}
	for (size_t b = 0; b < nb; b++) {
		free(vals[b]);
		free(labels[b]);
	}
	free(vals);
	free(cnt);
	free(labels);
	free(start);
	free(r);
	free(all);
}

struct ev2 {
	double t;
	int d;
};

static int cmp_ev2(const void *a, const void *b)
{
	const struct ev2 *x = a, *y = b;
	if (x->t != y->t)
		return (x->t > y->t) - (x->t < y->t);
	return y->d - x->d;
}

static void plot_decode_window(struct evaluator *e, const char *src)
{
	if (!e->ecfg || !e->ecfg->decode_window_enabled)
		return;
	struct dw_seg *segs;
	size_t ncand, skipped[4], eligible;
	int64_t thr;
	size_t nsel = eval_decode_windows(e, &segs, &ncand, &thr, skipped, &eligible);
	/* active decoding requests over time (same intervals as the window computation) */
	struct ev2 *ev = xmalloc((2 * e->n_rows + 1) * sizeof *ev);
	size_t nev = 0;
	for (size_t i = 0; i < e->n_rows; i++) {
		const struct eval_row *r = &e->rows[i];
		if (!r->n_tbc)
			continue;
		double a = r->sent_ns ? r->picked_s : r->dispatched_s;
		ev[nev++] = (struct ev2){a + r->ttfc, +1};
		ev[nev++] = (struct ev2){a + r->e2e, -1};
	}
	qsort(ev, nev, sizeof *ev, cmp_ev2);
	double *t = xmalloc((nev + 1) * sizeof *t), *y = xmalloc((nev + 1) * sizeof *y);
	int64_t act = 0;
	for (size_t i = 0; i < nev; i++) {
		act += ev[i].d;
		t[i] = ev[i].t;
		y[i] = (double)act;
	}
	double *ss = xmalloc((nsel + 1) * sizeof *ss), *se = xmalloc((nsel + 1) * sizeof *se);
	for (size_t k = 0; k < nsel; k++) {
		ss[k] = segs[k].start;
		se[k] = segs[k].end;
	}
	char *png = xasprintf("%s/decode_window_plot.png", e->metrics_dir);
	plot_steps_with_spans(png, src, "decode_window_plot",
	                      "Active decoding requests [requests] (selected windows shaded)",
	                      "Time since benchmark start [s]", "Active requests [requests]", t, y, nev, ss, se, nsel);
	free(png);
	free(ev);
	free(t);
	free(y);
	free(ss);
	free(se);
	free(segs);
}

void eval_plots_begin(void)
{
	plot_batch_begin();
}

void eval_write_plots(struct evaluator *e)
{
	char *src = fs_path_join(e->metrics_dir, "plots_src");
	plot_ttfc_by_prompt(e, src);
	plot_decode_window(e, src);
	plot_batch_end();
	free(src);
}
