/* The client's time series (docs/OBSERVABILITY.md, Time series): metrics/timeseries.csv and
 * metrics/timeseries.png.
 *
 * Everything is computed at eval_finalize from what the evaluator keeps anyway (registrations,
 * success rows with their chunk gaps) plus one small record per finished request (struct ts_end:
 * the failed ones are not kept elsewhere), pushed once per request, never per chunk. Bucket i covers
 * [i w, (i+1) w) seconds since the run start. Because a merged run replays the shards' event logs
 * into one evaluator (docs/MERGE.md), its time series is exact too. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/clock.h"
#include "core/xalloc.h"
#include "metrics/eval_internal.h"
#include "metrics/eval_timeseries.h"
#include "metrics/eval_ts_internal.h"
#include "metrics/pct.h"
#include "output/plot.h"

/* More buckets than this widen the bucket (a warning says so): a CSV row and ~100 bytes of memory
 * per bucket; a million is 11 days at 1 s. */
#define TS_MAX_BUCKETS 1000000
size_t eval_ts_max_buckets = TS_MAX_BUCKETS;

enum ts_end_kind { TS_END_OK = 0, TS_END_ERRORED, TS_END_CANCELLED, TS_END_EXCLUDED };

/* How one request ended (appended to e->ts_sp by eval_ts_note_end). */
struct ts_end {
	int64_t dispatched_ns; /* the registration's dispatch time (the record's when it was not registered) */
	int64_t completed_ns;  /* >= dispatched_ns */
	uint32_t kind;         /* enum ts_end_kind */
	uint32_t registered;   /* 1: eval_register_request saw it */
};

static double ts_interval_s(const struct evaluator *e)
{
	return e->ecfg && e->ecfg->timeseries_interval_s > 0 ? e->ecfg->timeseries_interval_s : 0.0;
}

void eval_ts_note_end(struct evaluator *e, const struct rec_record *rec, const struct eval_inflight *reg, bool included)
{
	if (!(ts_interval_s(e) > 0) || e->finalized)
		return;
	if (!e->ts_sp.elem_size) /* (opened on first use: nothing when the series is off) */
		spill_open(&e->ts_sp, e->metrics_dir, "evaluator request ends", sizeof(struct ts_end));
	struct ts_end t;
	memset(&t, 0, sizeof t);
	t.registered = reg != NULL;
	t.dispatched_ns = reg ? reg->dispatched_ns : rec->dispatched_ns;
	t.completed_ns = rec->completed_ns ? rec->completed_ns : rec->processed_ns;
	if (t.completed_ns < t.dispatched_ns)
		t.completed_ns = t.dispatched_ns;
	if (!included)
		t.kind = TS_END_EXCLUDED;
	else if (rec->success)
		t.kind = TS_END_OK;
	else if (rec->error_kind == REC_ERR_CANCELLED)
		t.kind = TS_END_CANCELLED;
	else
		t.kind = TS_END_ERRORED;
	spill_push(&e->ts_sp, &t, 1);
}

/* ---- the buckets ---- */

struct ts_grid {
	int64_t start_ns, w_ns, span_ns;
	size_t nb;
};

static int64_t ts_rel(const struct ts_grid *g, int64_t t_ns)
{
	return t_ns > g->start_ns ? t_ns - g->start_ns : 0;
}

static size_t ts_idx(const struct ts_grid *g, int64_t t_ns)
{
	uint64_t i = (uint64_t)(ts_rel(g, t_ns) / g->w_ns);
	return i < g->nb ? (size_t)i : g->nb - 1;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* A dispatch (sign +1, counted in count[] when not NULL) or an end (-1) at t_ns: adds the part of
 * its bucket after t_ns to partial_ns[] (the bucket's end is the run's end for the last one).
 * Returns the bucket. */
static size_t ts_event(const struct ts_grid *g, int64_t t_ns, int sign, double *count, int64_t *partial_ns)
{
	size_t i = ts_idx(g, t_ns);
	int64_t b = i + 1 == g->nb ? max64(g->span_ns, (int64_t)i * g->w_ns) : (int64_t)(i + 1) * g->w_ns;
	int64_t after = b - ts_rel(g, t_ns);
	partial_ns[i] += sign * (after > 0 ? after : 0);
	if (count)
		count[i] += sign;
	return i;
}

/* When a streamed row's first chunk arrived (non-streamed rows: their completion, as their TTFC). */
static int64_t row_first_ns(const struct eval_row *r)
{
	if (!r->is_stream)
		return r->completed_ns;
	return r->sent_ns + clock_s_to_ns(r->ttfc);
}

static void tbl_alloc(struct ts_table *t, size_t n)
{
	t->n = n;
	for (int c = 0; c < TS_N_COLS; c++)
		t->col[c] = xcalloc(n ? n : 1, sizeof *t->col[c]);
}

void ts_table_free(struct ts_table *t)
{
	for (int c = 0; c < TS_N_COLS; c++) {
		free(t->col[c]);
		t->col[c] = NULL;
	}
	t->n = 0;
}

/* Exact percentiles of each bucket's samples: vals[off[i] .. off[i+1]) (reordered here). */
static void bucket_pcts(double *vals, const size_t *off, size_t nb, double *p50, double *p99)
{
	for (size_t i = 0; i < nb; i++) {
		size_t n = off[i + 1] - off[i];
		double *v = vals + off[i];
		if (!n) {
			p50[i] = NAN;
			if (p99)
				p99[i] = NAN;
			continue;
		}
		if (!p99) {
			p50[i] = pct_linear_select(v, n, 0.5); /* one quantile: no sort (a bucket can hold 1M gaps) */
			continue;
		}
		pct_sort(v, n);
		p50[i] = pct_linear_sorted(v, n, 0.5);
		p99[i] = pct_linear_sorted(v, n, 0.99);
	}
}

/* The table of the run (e's views open). */
static void ts_compute(struct evaluator *e, const struct ts_end *ends, size_t n_ends, struct ts_grid *g,
                       struct ts_table *t)
{
	double w_s = ts_interval_s(e);
	g->start_ns = e->bench_start_ns;
	g->w_ns = clock_s_to_ns(w_s);
	if (g->w_ns < 1)
		g->w_ns = 1;
	/* the series covers the run and every event in it */
	int64_t span = ts_rel(g, e->end_ns);
	for (size_t i = 0; i < e->n_regs; i++)
		span = max64(span, ts_rel(g, e->regs[i].dispatched_ns));
	for (size_t i = 0; i < n_ends; i++)
		span = max64(span, ts_rel(g, ends[i].completed_ns));
	for (size_t i = 0; i < e->n_rows; i++) {
		span = max64(span, ts_rel(g, e->rows[i].completed_ns));
		eval_rows_scanned(e, i);
	}
	g->span_ns = span;
	uint64_t nb = span > 0 ? (uint64_t)((span + g->w_ns - 1) / g->w_ns) : 1;
	uint64_t cap = eval_ts_max_buckets ? eval_ts_max_buckets : 1;
	if (nb > cap) {
		int64_t k = (int64_t)((nb + cap - 1) / cap);
		g->w_ns *= k;
		nb = (uint64_t)((span + g->w_ns - 1) / g->w_ns);
		log_warn(
		    "evaluators[].timeseries_interval_s: %g s buckets over a %.1f s run would be more than %d rows; "
		    "metrics/timeseries.csv uses %g s buckets instead",
		    w_s, (double)span / 1e9, (int)cap, (double)g->w_ns / 1e9);
	}
	g->nb = (size_t)nb;
	size_t n = g->nb;
	tbl_alloc(t, n);

	/* A request is in flight over [dispatch, end) (to the run's end when it never ended). Its time in
	 * a bucket is that of [dispatch, inf) minus that of [end, inf): per event at x (+1 a dispatch, -1
	 * an end), the part of x's bucket after x (partial_ns) and every later bucket whole (the open
	 * count at a bucket's start). Exact, in ns, without matching ends to dispatches. */
	double *disp = t->col[TS_DISPATCHED], *ended = xcalloc(n, sizeof *ended);
	int64_t *partial_ns = xcalloc(n, sizeof *partial_ns);
	for (size_t i = 0; i < e->n_regs; i++)
		ts_event(g, e->regs[i].dispatched_ns, +1, disp, partial_ns);
	for (size_t i = 0; i < n_ends; i++) {
		const struct ts_end *x = &ends[i];
		if (x->kind == TS_END_EXCLUDED) {
			/* not part of the measured run: as if never dispatched (the request count excludes it) */
			if (x->registered)
				ts_event(g, x->dispatched_ns, -1, disp, partial_ns);
			continue;
		}
		if (!x->registered) /* never registered: still a request (the evaluator counts it too) */
			ts_event(g, x->dispatched_ns, +1, disp, partial_ns);
		size_t ci = ts_event(g, x->completed_ns, -1, NULL, partial_ns);
		ended[ci] += 1;
		int col = x->kind == TS_END_OK ? TS_COMPLETED : x->kind == TS_END_ERRORED ? TS_ERRORED : TS_CANCELLED;
		t->col[col][ci] += 1;
	}
	/* in flight in bucket i: dispatched before its end and not ended before its start
	 * = (dispatched up to i) - (ended up to i - 1) */
	double cum_d = 0, cum_e = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t a = (int64_t)i * g->w_ns, b = i + 1 == n ? max64(span, a) : a + g->w_ns;
		double open_at_start = cum_d - cum_e;
		cum_d += disp[i];
		t->col[TS_IN_FLIGHT][i] = cum_d - cum_e;
		cum_e += ended[i];
		/* time-weighted mean: the requests open at the start all along, plus the partial parts */
		t->col[TS_IN_FLIGHT_MEAN][i] =
		    b > a ? open_at_start + (double)partial_ns[i] / (double)(b - a) : t->col[TS_IN_FLIGHT][i];
	}
	free(ended);
	free(partial_ns);

	/* output tokens: a success row's tokens spread over its chunks (evenly, the first chunks taking
	 * the remainder: per-chunk counts are not kept), at the chunk times; a non-streamed answer's at
	 * its completion. The column adds up to the run's output tokens exactly. TTFC by the bucket of
	 * the first chunk, TBC by the bucket of the chunk that ends the gap. */
	size_t *ttfc_off = xcalloc(n + 1, sizeof *ttfc_off), *tbc_off = xcalloc(n + 1, sizeof *tbc_off);
	for (int pass = 0; pass < 2; pass++) {
		double *ttfc_v = NULL, *tbc_v = NULL;
		size_t *ttfc_fill = NULL, *tbc_fill = NULL;
		if (pass == 1) {
			for (size_t i = 0; i < n; i++) {
				ttfc_off[i + 1] += ttfc_off[i];
				tbc_off[i + 1] += tbc_off[i];
			}
			ttfc_v = xmalloc((ttfc_off[n] ? ttfc_off[n] : 1) * sizeof *ttfc_v);
			tbc_v = xmalloc((tbc_off[n] ? tbc_off[n] : 1) * sizeof *tbc_v);
			ttfc_fill = xmalloc(n * sizeof *ttfc_fill);
			tbc_fill = xmalloc(n * sizeof *tbc_fill);
			memcpy(ttfc_fill, ttfc_off, n * sizeof *ttfc_fill);
			memcpy(tbc_fill, tbc_off, n * sizeof *tbc_fill);
		}
		for (size_t i = 0; i < e->n_rows; i++) {
			const struct eval_row *r = &e->rows[i];
			eval_rows_scanned(e, i);
			int64_t tc = row_first_ns(r);
			size_t fi = ts_idx(g, tc);
			if (pass == 0)
				ttfc_off[fi + 1]++;
			else
				ttfc_v[ttfc_fill[fi]++] = r->ttfc;
			int64_t tokens = r->num_output_tokens > 0 ? r->num_output_tokens : 0;
			if (!r->is_stream) {
				if (pass == 1)
					t->col[TS_OUTPUT_TOKENS][ts_idx(g, r->completed_ns)] += (double)tokens;
				continue;
			}
			size_t chunks = r->n_tbc + 1;
			int64_t each = tokens / (int64_t)chunks, extra = tokens % (int64_t)chunks;
			if (pass == 1)
				t->col[TS_OUTPUT_TOKENS][fi] += (double)(each + (extra > 0));
			const double *gaps = e->tbc_all.v + r->tbc_off;
			/* a row's chunk times only grow: its bucket moves forward by comparisons, not one
			 * division per gap (ts_idx's value all the same) */
			size_t ki = fi;
			int64_t next = ki + 1 < g->nb ? (int64_t)(ki + 1) * g->w_ns : INT64_MAX;
			for (size_t k = 0; k < r->n_tbc; k++) {
				int64_t d = clock_s_to_ns(gaps[k]);
				tc += d;
				if (d < 0) {
					ki = ts_idx(g, tc);
					next = ki + 1 < g->nb ? (int64_t)(ki + 1) * g->w_ns : INT64_MAX;
				}
				while (ts_rel(g, tc) >= next) {
					ki++;
					next = ki + 1 < g->nb ? (int64_t)(ki + 1) * g->w_ns : INT64_MAX;
				}
				if (pass == 0) {
					tbc_off[ki + 1]++;
				} else {
					tbc_v[tbc_fill[ki]++] = gaps[k];
					t->col[TS_OUTPUT_TOKENS][ki] += (double)(each + ((int64_t)(k + 1) < extra));
				}
			}
		}
		if (pass == 1) {
			bucket_pcts(ttfc_v, ttfc_off, n, t->col[TS_TTFC_P50], t->col[TS_TTFC_P99]);
			bucket_pcts(tbc_v, tbc_off, n, t->col[TS_TBC_P50], NULL);
			free(ttfc_v);
			free(tbc_v);
			free(ttfc_fill);
			free(tbc_fill);
		}
	}
	free(ttfc_off);
	free(tbc_off);

	for (size_t i = 0; i < n; i++) {
		int64_t a = (int64_t)i * g->w_ns, b = i + 1 == n ? max64(span, a) : a + g->w_ns;
		t->col[TS_T_START][i] = (double)a / 1e9;
		t->col[TS_T_END][i] = (double)b / 1e9;
		/* the last bucket ends with the run: its rate is over its own length */
		t->col[TS_OUTPUT_TOKENS_PER_S][i] = b > a ? t->col[TS_OUTPUT_TOKENS][i] / ((double)(b - a) / 1e9) : 0.0;
	}
}

static void put_cell(struct buf *b, double v, bool last)
{
	if (isfinite(v))
		buf_printf(b, "%.6f", v);
	buf_putc(b, last ? '\n' : ',');
}

static void ts_csv(const struct ts_table *t, struct buf *b)
{
	buf_puts(b, TS_CSV_HEADER "\n");
	for (size_t i = 0; i < t->n; i++) {
		buf_printf(b, "%.6f,%.6f", t->col[TS_T_START][i], t->col[TS_T_END][i]);
		for (int c = TS_DISPATCHED; c <= TS_IN_FLIGHT; c++)
			buf_printf(b, ",%" PRId64, (int64_t)t->col[c][i]);
		buf_printf(b, ",%.3f,%" PRId64, t->col[TS_IN_FLIGHT_MEAN][i], (int64_t)t->col[TS_OUTPUT_TOKENS][i]);
		buf_printf(b, ",%.3f,", t->col[TS_OUTPUT_TOKENS_PER_S][i]);
		put_cell(b, t->col[TS_TTFC_P50][i], false);
		put_cell(b, t->col[TS_TTFC_P99][i], false);
		put_cell(b, t->col[TS_TBC_P50][i], true);
	}
}

/* ---- plots ---- */

void ts_line_steps(const struct ts_table *t, int col, bool per_s, struct ts_line_buf *lb, const char *title)
{
	size_t n = t->n;
	lb->x = xmalloc((n + 1) * sizeof *lb->x);
	lb->y = xmalloc((n + 1) * sizeof *lb->y);
	for (size_t i = 0; i < n; i++) {
		double len = t->col[TS_T_END][i] - t->col[TS_T_START][i];
		double v = t->col[col][i];
		lb->x[i] = t->col[TS_T_START][i];
		lb->y[i] = per_s ? (len > 0 ? v / len : NAN) : v;
	}
	/* the last step ends with the last bucket */
	lb->x[n] = n ? t->col[TS_T_END][n - 1] : 0;
	lb->y[n] = n ? lb->y[n - 1] : NAN;
	lb->line = (struct plot_line){title, lb->x, lb->y, n + 1, PLOT_STYLE_STEPS};
}

void ts_line_mid(const struct ts_table *t, int col, struct ts_line_buf *lb, const char *title)
{
	size_t n = t->n;
	lb->x = xmalloc((n ? n : 1) * sizeof *lb->x);
	lb->y = xmalloc((n ? n : 1) * sizeof *lb->y);
	for (size_t i = 0; i < n; i++) {
		lb->x[i] = (t->col[TS_T_START][i] + t->col[TS_T_END][i]) / 2;
		lb->y[i] = t->col[col][i];
	}
	lb->line = (struct plot_line){title, lb->x, lb->y, n, PLOT_STYLE_LINESPOINTS};
}

void ts_line_free(struct ts_line_buf *lb)
{
	free(lb->x);
	free(lb->y);
	lb->x = lb->y = NULL;
}

static int ts_plot_client(const struct ts_table *t, const char *metrics_dir, double w_s)
{
	struct ts_line_buf rate[3], infl[2], tok, lat[3];
	ts_line_steps(t, TS_DISPATCHED, true, &rate[0], "dispatched/s");
	ts_line_steps(t, TS_COMPLETED, true, &rate[1], "completed/s");
	ts_line_steps(t, TS_ERRORED, true, &rate[2], "errored/s");
	ts_line_steps(t, TS_IN_FLIGHT, false, &infl[0], "in flight at any time");
	ts_line_steps(t, TS_IN_FLIGHT_MEAN, false, &infl[1], "in flight (mean)");
	ts_line_steps(t, TS_OUTPUT_TOKENS_PER_S, false, &tok, "output tokens/s");
	ts_line_mid(t, TS_TTFC_P50, &lat[0], "TTFC p50");
	ts_line_mid(t, TS_TTFC_P99, &lat[1], "TTFC p99");
	ts_line_mid(t, TS_TBC_P50, &lat[2], "TBC p50");
	struct plot_line l_rate[3] = {rate[0].line, rate[1].line, rate[2].line};
	struct plot_line l_lat[3] = {lat[0].line, lat[1].line, lat[2].line};
	struct plot_line l_infl[2] = {infl[0].line, infl[1].line};
	struct plot_panel panels[4] = {
	    {"Requests per second", l_rate, 3},
	    {"Requests in flight", l_infl, 2},
	    {"Output tokens/s", &tok.line, 1},
	    {"Latency [s]", l_lat, 3},
	};
	char *src = fs_path_join(metrics_dir, "plots_src");
	char *png = fs_path_join(metrics_dir, "timeseries.png");
	char title[128];
	snprintf(title, sizeof title, "Client time series (%g s buckets)", w_s);
	double x_max = t->n ? t->col[TS_T_END][t->n - 1] : 1;
	enum plot_result res =
	    plot_time_panels(png, src, "timeseries", title, "Time since benchmark start [s]", 0, x_max, panels, 4);
	free(src);
	free(png);
	for (int i = 0; i < 3; i++) {
		ts_line_free(&rate[i]);
		ts_line_free(&lat[i]);
	}
	ts_line_free(&infl[0]);
	ts_line_free(&infl[1]);
	ts_line_free(&tok);
	return res == PLOT_FAILED ? -1 : 0;
}

int eval_write_timeseries(struct evaluator *e)
{
	if (!(ts_interval_s(e) > 0))
		return 0;
	const struct ts_end *ends = e->ts_sp.elem_size ? spill_map(&e->ts_sp) : NULL;
	size_t n_ends = e->ts_sp.elem_size ? spill_count(&e->ts_sp) : 0;
	struct ts_grid g;
	struct ts_table t;
	ts_compute(e, ends, n_ends, &g, &t);
	struct buf b;
	buf_init(&b);
	ts_csv(&t, &b);
	int rc = eval_write_output(e, "timeseries.csv", &b);
	buf_free(&b);
	ts_plot_client(&t, e->metrics_dir, (double)g.w_ns / 1e9); /* (a failed plot is a warning, never a failed run) */
	ts_table_free(&t);
	return rc;
}
