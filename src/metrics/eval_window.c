/* decode_window_metrics.json: steady-state decode windows (docs/METRICS.md, Decode windows). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonw.h"
#include "core/xalloc.h"
#include "metrics/eval_internal.h"
#include "metrics/pct.h"
#include "core/fsutil.h"

struct dw_ev {
	double t;
	int delta; /* +1 start, -1 end */
};

static int cmp_ev(const void *a, const void *b)
{
	const struct dw_ev *x = a, *y = b;
	if (x->t != y->t)
		return (x->t > y->t) - (x->t < y->t);
	return y->delta - x->delta; /* starts before ends */
}

static double r5(double v)
{
	return jsonw_py_round(v, 5);
}

static void stats_or_null(struct jsonw *w, double *v, size_t n, bool full)
{
	jsonw_key(w, "count");
	jsonw_int(w, (int64_t)n);
	pct_sort(v, n);
	const char *keys_full[] = {"mean", "median", "std", "min", "max", "p90", "p99"};
	const char *keys_short[] = {"mean", "median", "p99"};
	const char **keys = full ? keys_full : keys_short;
	size_t nk = full ? 7 : 3;
	for (size_t i = 0; i < nk; i++) {
		jsonw_key(w, keys[i]);
		if (!n) {
			jsonw_null(w);
			continue;
		}
		const char *k = keys[i];
		double x;
		if (!strcmp(k, "mean"))
			x = pct_mean(v, n);
		else if (!strcmp(k, "median"))
			x = pct_median_sorted(v, n);
		else if (!strcmp(k, "std"))
			x = pct_std_pop(v, n);
		else if (!strcmp(k, "min"))
			x = v[0];
		else if (!strcmp(k, "max"))
			x = v[n - 1];
		else if (!strcmp(k, "p90"))
			x = pct_linear_sorted(v, n, 0.9);
		else
			x = pct_linear_sorted(v, n, 0.99);
		jsonw_double(w, x);
	}
}

/* The time a row's tokens are placed from (docs/METRICS.md, Decode windows): the client's pickup
 * when anchor_to_client_pickup and recorded, else the scheduler's dispatch; false without either. */
static bool window_anchor(const struct cfg_decode_window *dc, const struct eval_row *r, double *anchor)
{
	if (dc->anchor_to_client_pickup && r->sent_ns)
		*anchor = r->picked_s;
	else if (r->dispatched_ns)
		*anchor = r->dispatched_s;
	else
		return false;
	return true;
}

size_t eval_decode_windows(const struct evaluator *e, struct dw_seg **sel, size_t *n_candidates, int64_t *threshold,
                           size_t skipped[4], size_t *eligible)
{
	const struct cfg_decode_window *dc = &e->ecfg->decode_window_config;
	struct cfg_decode_window defaults = {.min_active_max_observed = false,
	                                     .min_active_requests = 1,
	                                     .selection_strategy = CFG_WINDOW_LONGEST,
	                                     .anchor_to_client_pickup = true,
	                                     .require_streaming = true};
	if (!e->ecfg->has_decode_window_config)
		dc = &defaults;
	memset(skipped, 0, 4 * sizeof *skipped);
	*eligible = 0;
	struct dw_ev *ev = xmalloc((e->n_rows * 2 + 1) * sizeof *ev);
	size_t nev = 0;
	for (size_t i = 0; i < e->n_rows; i++) {
		const struct eval_row *r = &e->rows[i];
		if (dc->require_streaming && !r->is_stream) {
			skipped[0]++;
			continue;
		}
		double anchor;
		if (!window_anchor(dc, r, &anchor)) {
			skipped[1]++;
			continue;
		}
		if (r->n_tbc == 0) {
			skipped[2]++;
			continue;
		}
		double t = anchor + r5(r->ttfc), s = t;
		for (size_t j = 0; j < r->n_tbc; j++)
			t += r5(e->tbc_all.v[r->tbc_off + j]);
		if (!(t > s)) {
			skipped[3]++;
			continue;
		}
		(*eligible)++;
		ev[nev++] = (struct dw_ev){s, +1};
		ev[nev++] = (struct dw_ev){t, -1};
	}
	qsort(ev, nev, sizeof *ev, cmp_ev);
	int64_t peak = 0, act = 0;
	for (size_t i = 0; i < nev; i++) {
		act += ev[i].delta;
		if (act > peak)
			peak = act;
	}
	int64_t thr = dc->min_active_max_observed ? peak : dc->min_active_requests;
	if (thr < 1)
		thr = 1;
	*threshold = thr;
	struct dw_seg *segs = xmalloc((nev + 1) * sizeof *segs);
	size_t nseg = 0;
	bool open = false;
	double seg_start = 0;
	act = 0;
	for (size_t i = 0; i < nev; i++) {
		act += ev[i].delta;
		/* the span [ev[i].t, ev[i+1].t] has `act` active requests */
		bool ok = act >= thr && i + 1 < nev;
		if (ok && !open) {
			open = true;
			seg_start = ev[i].t;
		} else if (!ok && open) {
			open = false;
			if (ev[i].t > seg_start)
				segs[nseg++] = (struct dw_seg){seg_start, ev[i].t};
		}
	}
	free(ev);
	*n_candidates = nseg;
	size_t nsel = 0;
	if (nseg) {
		if (dc->selection_strategy == CFG_WINDOW_ALL) {
			nsel = nseg;
		} else {
			size_t best = 0;
			if (dc->selection_strategy == CFG_WINDOW_LONGEST)
				for (size_t i = 1; i < nseg; i++)
					if (segs[i].end - segs[i].start > segs[best].end - segs[best].start)
						best = i;
			segs[0] = segs[best];
			nsel = 1;
		}
	}
	*sel = segs;
	return nsel;
}

/* TBC gaps (rounded, as in the jsonl) whose arrival lies in [start, end]. */
static void window_samples(const struct evaluator *e, const struct cfg_decode_window *dc, double start, double end,
                           struct dvec *out)
{
	for (size_t i = 0; i < e->n_rows; i++) {
		const struct eval_row *r = &e->rows[i];
		if ((dc->require_streaming && !r->is_stream) || r->n_tbc == 0)
			continue;
		double anchor;
		if (!window_anchor(dc, r, &anchor))
			continue;
		double t = anchor + r5(r->ttfc);
		for (size_t j = 0; j < r->n_tbc; j++) {
			double g = r5(e->tbc_all.v[r->tbc_off + j]);
			t += g;
			if (t >= start && t <= end)
				dvec_push(out, g);
		}
	}
}

static const char *sel_name(enum cfg_window_selection s)
{
	return s == CFG_WINDOW_FIRST ? "first" : s == CFG_WINDOW_ALL ? "all" : "longest";
}

int eval_write_decode_window(struct evaluator *e)
{
	if (!e->ecfg || !e->ecfg->decode_window_enabled)
		return 0;
	struct cfg_decode_window defaults = {.min_active_max_observed = false,
	                                     .min_active_requests = 1,
	                                     .selection_strategy = CFG_WINDOW_LONGEST,
	                                     .anchor_to_client_pickup = true,
	                                     .require_streaming = true};
	const struct cfg_decode_window *dc =
	    e->ecfg->has_decode_window_config ? &e->ecfg->decode_window_config : &defaults;
	struct dw_seg *segs;
	size_t ncand, skipped[4], eligible;
	int64_t thr;
	size_t nsel = eval_decode_windows(e, &segs, &ncand, &thr, skipped, &eligible);

	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 2);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "config");
	jsonw_obj_begin(&w);
	jsonw_key(&w, "min_active_requests");
	if (dc->min_active_max_observed)
		jsonw_str(&w, "max_observed");
	else
		jsonw_int(&w, dc->min_active_requests);
	jsonw_key(&w, "resolved_min_active_requests");
	jsonw_int(&w, thr);
	jsonw_key(&w, "selection_strategy");
	jsonw_str(&w, sel_name(dc->selection_strategy));
	jsonw_key(&w, "anchor_to_client_pickup");
	jsonw_bool(&w, dc->anchor_to_client_pickup);
	jsonw_key(&w, "require_streaming");
	jsonw_bool(&w, dc->require_streaming);
	jsonw_obj_end(&w);

	jsonw_key(&w, "eligible_requests");
	jsonw_obj_begin(&w);
	jsonw_key(&w, "total_request_rows");
	jsonw_int(&w, (int64_t)e->n_rows);
	jsonw_key(&w, "eligible");
	jsonw_int(&w, (int64_t)eligible);
	jsonw_key(&w, "skipped");
	jsonw_obj_begin(&w);
	const char *sk[4] = {"non_stream", "missing_anchor", "no_decode_chunks", "empty"};
	for (int i = 0; i < 4; i++) {
		jsonw_key(&w, sk[i]);
		jsonw_int(&w, (int64_t)skipped[i]);
	}
	jsonw_obj_end(&w);
	jsonw_obj_end(&w);

	struct dvec all = {0};
	double total = 0;
	jsonw_key(&w, "windows");
	jsonw_obj_begin(&w);
	jsonw_key(&w, "num_candidate_segments");
	jsonw_int(&w, (int64_t)ncand);
	jsonw_key(&w, "num_selected_segments");
	jsonw_int(&w, (int64_t)nsel);
	for (size_t i = 0; i < nsel; i++)
		total += segs[i].end - segs[i].start;
	jsonw_key(&w, "total_duration_s");
	jsonw_double(&w, total);
	jsonw_key(&w, "per_window");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < nsel; i++) {
		struct dvec one = {0};
		window_samples(e, dc, segs[i].start, segs[i].end, &one);
		for (size_t k = 0; k < one.n; k++)
			dvec_push(&all, one.v[k]);
		jsonw_obj_begin(&w);
		jsonw_key(&w, "window_index");
		jsonw_int(&w, (int64_t)i);
		jsonw_key(&w, "start");
		jsonw_double(&w, segs[i].start);
		jsonw_key(&w, "end");
		jsonw_double(&w, segs[i].end);
		jsonw_key(&w, "duration_s");
		jsonw_double(&w, segs[i].end - segs[i].start);
		pct_sort(one.v, one.n);
		jsonw_key(&w, "tbc_count");
		jsonw_int(&w, (int64_t)one.n);
		jsonw_key(&w, "tbc_mean");
		if (one.n)
			jsonw_double(&w, pct_mean(one.v, one.n));
		else
			jsonw_null(&w);
		jsonw_key(&w, "tbc_median");
		if (one.n)
			jsonw_double(&w, pct_median_sorted(one.v, one.n));
		else
			jsonw_null(&w);
		jsonw_key(&w, "tbc_p99");
		if (one.n)
			jsonw_double(&w, pct_linear_sorted(one.v, one.n, 0.99));
		else
			jsonw_null(&w);
		jsonw_obj_end(&w);
		dvec_free(&one);
	}
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);

	jsonw_key(&w, "tbc_in_window_stats");
	jsonw_obj_begin(&w);
	stats_or_null(&w, all.v, all.n, true);
	jsonw_obj_end(&w);
	jsonw_key(&w, "notes");
	jsonw_arr_begin(&w);
	jsonw_str(&w, "Request decode interval = [anchor + ttfc, anchor + sum(inter-chunk times)]; anchor = "
	              "client_picked_up_at when anchor_to_client_pickup, else scheduler_dispatched_at.");
	jsonw_str(&w, "Windows are maximal spans where at least resolved_min_active_requests requests are "
	              "decoding at once (max_observed = the peak concurrency).");
	jsonw_str(&w, "TBC samples are inter-chunk gaps (after the first chunk) whose arrival time lies inside a "
	              "selected window.");
	jsonw_arr_end(&w);
	if (nsel == 1) {
		jsonw_key(&w, "window");
		jsonw_obj_begin(&w);
		jsonw_key(&w, "start");
		jsonw_double(&w, segs[0].start);
		jsonw_key(&w, "end");
		jsonw_double(&w, segs[0].end);
		jsonw_key(&w, "duration_s");
		jsonw_double(&w, segs[0].end - segs[0].start);
		jsonw_obj_end(&w);
	}
	jsonw_obj_end(&w);
	dvec_free(&all);
	free(segs);
	char *p = fs_path_join(e->metrics_dir, "decode_window_metrics.json");
	int rc = fs_write_file_or_log(p, b.data, b.len);
	free(p);
	buf_free(&b);
	return rc;
}
