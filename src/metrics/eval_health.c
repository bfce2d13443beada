/* health_check_results.txt (docs/METRICS.md, Health checks; docs/OUTPUTS.md), computed from the same rows that
 * request_level_metrics.jsonl holds and the dispatch registrations (the dispatch trace). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "metrics/eval_internal.h"
#include "metrics/pct.h"
#include "core/fsutil.h"

#define HC_LATE_THRESHOLD_S 5.0
#define HC_RATE_THRESHOLD_PCT 15.0
#define HC_LENGTH_THRESHOLD 15.0

static void hc_header(struct buf *b, const char *name, bool passed)
{
	buf_puts(b, "============================================================\n");
	for (const char *p = name; *p; p++)
		buf_putc(b, (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : *p));
	buf_puts(b, "\n============================================================\n");
	buf_printf(b, "Result: %s\n\n", passed ? "PASSED" : "FAILED");
}

static void hc_line(struct buf *b, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void hc_line(struct buf *b, const char *key, const char *fmt, ...)
{
	buf_printf(b, "  %-30s ", key);
	va_list ap;
	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
	buf_putc(b, '\n');
}

/* Min/Mean/Median/P95/P99/Max/Std Dev with a printf format for one value (e.g. "%.4fs"). */
static void hc_stats(struct buf *b, double *v, size_t n, const char *fmt_minmax, const char *fmt_mean)
{
	pct_sort(v, n);
	char t[64];
#define HC_VAL(key, fmt, x)                                                                                            \
	do {                                                                                                           \
		snprintf(t, sizeof t, fmt, (x));                                                                       \
		hc_line(b, key, "%s", t);                                                                              \
	} while (0)
	HC_VAL("Min", fmt_minmax, v[0]);
	HC_VAL("Mean", fmt_mean, pct_mean(v, n));
	HC_VAL("Median", fmt_minmax, pct_median_sorted(v, n));
	HC_VAL("P95", fmt_minmax, pct_linear_sorted(v, n, 0.95));
	HC_VAL("P99", fmt_minmax, pct_linear_sorted(v, n, 0.99));
	HC_VAL("Max", fmt_minmax, v[n - 1]);
	HC_VAL("Std Dev", fmt_mean, pct_std_pop(v, n));
#undef HC_VAL
}

static void hc_stats_dev(struct buf *b, double *v, size_t n)
{
	pct_sort(v, n);
	hc_line(b, "Min Deviation", "%.1f", v[0]);
	hc_line(b, "Mean Deviation", "%.2f", pct_mean(v, n));
	hc_line(b, "Median Deviation", "%.1f", pct_median_sorted(v, n));
	hc_line(b, "P95 Deviation", "%.1f", pct_linear_sorted(v, n, 0.95));
	hc_line(b, "P99 Deviation", "%.1f", pct_linear_sorted(v, n, 0.99));
	hc_line(b, "Max Deviation", "%.1f", v[n - 1]);
	hc_line(b, "Std Dev", "%.2f", pct_std_pop(v, n));
}

/* (session, node) -> row, by binary search over a sorted index (built once per file). */
struct row_key {
	uint64_t session;
	uint32_t node;
	size_t idx;
};

static int cmp_row_key(const void *a, const void *b)
{
	const struct row_key *x = a, *y = b;
	if (x->session != y->session)
		return (x->session > y->session) - (x->session < y->session);
	return (x->node > y->node) - (x->node < y->node);
}

static struct row_key *row_index(const struct evaluator *e)
{
	struct row_key *k = xmalloc((e->n_rows + 1) * sizeof *k);
	for (size_t i = 0; i < e->n_rows; i++) {
		k[i] = (struct row_key){e->rows[i].session_id, e->rows[i].node_id, i};
		eval_rows_scanned(e, i);
	}
	qsort(k, e->n_rows, sizeof *k, cmp_row_key);
	return k;
}

static const struct eval_row *find_row(const struct evaluator *e, const struct row_key *ix, uint64_t session,
                                       uint32_t node)
{
	struct row_key key = {session, node, 0};
	const struct row_key *f = bsearch(&key, ix, e->n_rows, sizeof *ix, cmp_row_key);
	return f ? &e->rows[f->idx] : NULL;
}

static const struct eval_reg *find_reg(const struct evaluator *e, uint64_t request_id)
{
	const size_t *i = u64map_get(&e->reg_by_id, request_id);
	return i ? &e->regs[*i] : NULL;
}

/* 1. intra-session request arrival */
static void hc_intra_session(const struct evaluator *e, struct buf *b)
{
	double *d = xmalloc((e->n_rows + 1) * sizeof *d);
	size_t n = 0, viol = 0;
	bool have_trace = e->n_regs > 0;
	struct row_key *ix = row_index(e);
	for (size_t i = 0; have_trace && i < e->n_rows; i++) {
		const struct eval_row *r = &e->rows[i];
		eval_rows_scanned(e, i);
		const struct eval_reg *g = find_reg(e, r->request_id);
		if (!g || !g->n_parents)
			continue;
		double ready = -INFINITY;
		bool ok = true;
		for (size_t k = 0; k < g->n_parents; k++) {
			const struct eval_row *p = find_row(e, ix, r->session_id, e->parents_all[g->parents_off + k]);
			if (!p) {
				ok = false;
				break;
			}
			if (p->completed_s > ready)
				ready = p->completed_s;
		}
		if (!ok)
			continue;
		ready += g->wait_after_ready_s;
		d[n] = r->dispatched_s - ready;
		if (d[n] > HC_LATE_THRESHOLD_S)
			viol++;
		n++;
	}
	free(ix);
	hc_header(b, "Intra-Session Request Arrival Check", viol == 0);
	buf_puts(b, "Description:\n");
	hc_line(b, "Metric", "Scheduler delay (actual_dispatch - ready_time)");
	hc_line(b, "Ready Time", "Parent requests completion + wait_after_ready (if available)");
	buf_putc(b, '\n');
	if (!have_trace) {
		buf_puts(b, "Note:\n");
		hc_line(b, "Skipped", "no dispatch trace (trace_recorder disabled)");
		buf_puts(b, "\n\n");
		free(d);
		return;
	}
	buf_puts(b, "Deviation Statistics (seconds):\n");
	hc_line(b, "Requests w/ Dependencies", "%zu", n);
	if (n)
		hc_stats(b, d, n, "%.4fs", "%.4fs");
	buf_putc(b, '\n');
	buf_puts(b, "Violation Info:\n");
	hc_line(b, "Late Threshold", "%.1fs (dispatched >%.1fs after ready)", HC_LATE_THRESHOLD_S, HC_LATE_THRESHOLD_S);
	hc_line(b, "Violations", "%zu", viol);
	buf_puts(b, "\n\n");
	free(d);
}

/* 2a. session dispatch rate (rate scheduler); first dispatch of each session, real dispatch times */
static void hc_dispatch_rate(const struct evaluator *e, struct buf *b)
{
	const struct cfg_traffic *tc = &e->cfg->traffic_scheduler;
	double expected = tc->interval_generator.type == CFG_INTERVAL_FIXED
	                      ? (tc->interval_generator.interval > 0 ? 1.0 / tc->interval_generator.interval : 0)
	                      : tc->interval_generator.arrival_rate;
	double *first = xmalloc((e->n_sessions + 1) * sizeof *first);
	size_t n = 0;
	for (size_t i = 0; i < e->n_sessions; i++)
		if (e->sessions[i].first_dispatch_ns)
			first[n++] = eval_rel_s(e, e->sessions[i].first_dispatch_ns);
	pct_sort(first, n);
	if (n < 2 || first[n - 1] <= first[0] || expected <= 0) {
		hc_header(b, "Session Dispatch Rate Check", true);
		buf_puts(b, "Rate Statistics:\n");
		hc_line(b, "Total Sessions", "%zu", n);
		hc_line(b, "Note", "not enough sessions to measure a rate");
		buf_puts(b, "\n\n");
		free(first);
		return;
	}
	double dur = first[n - 1] - first[0];
	double actual = (double)(n - 1) / dur;
	double err = fabs(actual - expected) / expected * 100.0;
	bool pass = err <= HC_RATE_THRESHOLD_PCT;
	hc_header(b, "Session Dispatch Rate Check", pass);
	buf_puts(b, "Rate Statistics:\n");
	hc_line(b, "Total Sessions", "%zu", n);
	hc_line(b, "Measurement Duration", "%.4fs", dur);
	hc_line(b, "Expected Rate", "%.4f sessions/sec", expected);
	hc_line(b, "Actual Rate", "%.4f sessions/sec", actual);
	hc_line(b, "Error", "%.2f%%", err);
	hc_line(b, "Threshold", "%.1f%%", HC_RATE_THRESHOLD_PCT);
	buf_putc(b, '\n');
	double *gaps = xmalloc(n * sizeof *gaps);
	for (size_t i = 1; i < n; i++)
		gaps[i - 1] = first[i] - first[i - 1];
	buf_puts(b, "Inter-Arrival Time Statistics:\n");
	hc_stats(b, gaps, n - 1, "%.4fs", "%.4fs");
	buf_putc(b, '\n');
	if (!pass) {
		buf_puts(b, "Failure Reason:\n");
		hc_line(b, "Result", "FAILED");
		hc_line(b, "Explanation", "Actual rate deviates from expected by > %.1f%%", HC_RATE_THRESHOLD_PCT);
		buf_putc(b, '\n');
	}
	buf_putc(b, '\n');
	free(gaps);
	free(first);
}

/* 2b. session concurrency (concurrent scheduler) */
struct cc_ev {
	double t;
	int d;
};

static int cmp_cc(const void *a, const void *b)
{
	const struct cc_ev *x = a, *y = b;
	if (x->t != y->t)
		return (x->t > y->t) - (x->t < y->t);
	return x->d - y->d; /* ends before starts */
}

static void hc_concurrency(const struct evaluator *e, struct buf *b)
{
	const struct cfg_traffic *tc = &e->cfg->traffic_scheduler;
	int64_t target = tc->target_concurrent_sessions;
	double rampup = (double)tc->rampup_seconds;
	double bench_end = e->end_ns ? (double)(e->end_ns - e->bench_start_ns) / 1e9 : 0;
	struct cc_ev *ev = xmalloc((2 * e->n_sessions + 1) * sizeof *ev);
	size_t nev = 0;
	double *st = xmalloc((e->n_sessions + 1) * sizeof *st), *en = xmalloc((e->n_sessions + 1) * sizeof *en);
	size_t *rows = xcalloc(e->n_sessions + 1, sizeof *rows);
	for (size_t k = 0; k < e->n_rows; k++) {
		const struct eval_row *r = &e->rows[k];
		eval_rows_scanned(e, k);
		const size_t *si_p = u64map_get(&e->sess_by_id, r->session_id);
		if (!si_p)
			continue;
		size_t si = *si_p;
		if (!rows[si] || r->dispatched_s < st[si])
			st[si] = r->dispatched_s;
		if (!rows[si] || r->dispatched_s + r->e2e > en[si])
			en[si] = r->dispatched_s + r->e2e;
		rows[si]++;
	}
	for (size_t i = 0; i < e->n_sessions; i++) {
		if (!rows[i])
			continue;
		double end = en[i];
		/* a session still running at the end counts until then; one that ended (every request
		 * completed, failed or dropped with a cancelled session) has fewer rows than requests
		 * without being active afterwards (docs/OUTPUTS.md, health_check_results.txt) */
		const struct eval_session *s = &e->sessions[i];
		if ((uint64_t)s->observed + s->dropped < s->total_requests && bench_end > end)
			end = bench_end;
		ev[nev++] = (struct cc_ev){st[i], +1};
		ev[nev++] = (struct cc_ev){end, -1};
	}
	free(st);
	free(en);
	free(rows);
	qsort(ev, nev, sizeof *ev, cmp_cc);
	int64_t act = 0, peak = 0, peak_steady = 0;
	size_t viol = 0;
	for (size_t i = 0; i < nev; i++) {
		act += ev[i].d;
		if (act > peak)
			peak = act;
		if (ev[i].t >= rampup && act > peak_steady)
			peak_steady = act;
		if (ev[i].d > 0) {
			int64_t limit =
			    ev[i].t < rampup && rampup > 0 ? (int64_t)((double)target * ev[i].t / rampup) : target;
			if (act > limit)
				viol++;
		}
	}
	hc_header(b, "Session Concurrency Check", viol == 0);
	buf_puts(b, "Configuration:\n");
	hc_line(b, "Target Concurrent Sessions", "%lld", (long long)target);
	hc_line(b, "Ramp-up", "%.1fs", rampup);
	buf_putc(b, '\n');
	buf_puts(b, "Concurrency Statistics:\n");
	hc_line(b, "Sessions", "%zu", nev / 2);
	hc_line(b, "Peak Concurrency", "%lld", (long long)peak);
	hc_line(b, "Peak After Ramp-up", "%lld", (long long)peak_steady);
	hc_line(b, "Violations", "%zu", viol);
	buf_puts(b, "\n\n");
	free(ev);
}

/* 3/4. prompt / output length */
static void hc_length(const struct evaluator *e, struct buf *b, bool output)
{
	double *d = xmalloc((e->n_rows + 1) * sizeof *d);
	size_t n = 0, exact = 0, viol = 0;
	for (size_t i = 0; i < e->n_rows; i++) {
		const struct eval_row *r = &e->rows[i];
		eval_rows_scanned(e, i);
		int64_t actual = output ? r->num_output_tokens : r->num_delta_prompt_tokens;
		int64_t target = output ? r->requested_output_tokens : r->target_prompt_tokens;
		if (target <= 0)
			continue;
		d[n] = (double)(actual - target);
		if (d[n] == 0)
			exact++;
		if (fabs(d[n]) > HC_LENGTH_THRESHOLD)
			viol++;
		n++;
	}
	hc_header(b, output ? "Output Length Check" : "Prompt Length Check", viol == 0);
	buf_puts(b, "Description:\n");
	if (output) {
		hc_line(b, "Metric", "Output Length Deviation (Actual - Requested)");
		hc_line(b, "Target", "num_requested_output_tokens");
	} else {
		hc_line(b, "Metric", "Prompt Length Deviation (Actual - Target)");
		hc_line(b, "Target", "Specified target_prompt_tokens");
	}
	hc_line(b, "Threshold", "<= +/- %.1f", HC_LENGTH_THRESHOLD);
	buf_putc(b, '\n');
	buf_puts(b, "Statistics:\n");
	hc_line(b, "Total Requests Checked", "%zu", n);
	if (n) {
		double pn = 100.0 / (double)n;
		hc_line(b, "Exact Matches", "%zu (%.1f%%)", exact, (double)exact * pn);
		hc_line(b, "Mismatches (All)", "%zu (%.1f%%)", n - exact, (double)(n - exact) * pn);
		hc_line(b, "Violations (> +/-15)", "%zu (%.1f%%)", viol, (double)viol * pn);
		hc_stats_dev(b, d, n);
	}
	buf_puts(b, "\n\n");
	free(d);
}

/* 5. lifecycle delays */
static void hc_lifecycle(const struct evaluator *e, struct buf *b)
{
	size_t n = e->n_rows;
	double *d = xmalloc((n + 1) * sizeof *d);
	hc_header(b, "Lifecycle Timing Delays Check", true);
	const char *titles[3] = {"Ready-to-Dispatch Delay (scheduler_dispatched_at - scheduler_ready_at):",
	                         "Dispatch-to-Pickup Delay (client_picked_up_at - scheduler_dispatched_at):",
	                         "Completion-to-Result-Processing Delay (result_processed_at - client_completed_at):"};
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < n; i++) {
			const struct eval_row *r = &e->rows[i];
			d[i] = k == 0   ? r->dispatched_s - r->ready_s
			       : k == 1 ? r->picked_s - r->dispatched_s
			                : r->processed_s - r->completed_s;
		}
		buf_printf(b, "%s\n", titles[k]);
		hc_line(b, "Count", "%zu", n);
		hc_stats(b, d, n, "%.4fs", "%.4fs");
		buf_putc(b, '\n');
	}
	buf_putc(b, '\n');
	free(d);
}

int eval_write_health(struct evaluator *e)
{
	struct buf b;
	buf_init(&b);
	if (e->n_rows) {
		/* each check's pages of the spills (registrations, sessions, rows) leave the resident set
		 * before the next check allocates its own arrays */
		hc_intra_session(e, &b);
		eval_views_drop(e);
		if (e->cfg && e->cfg->traffic_scheduler.type == CFG_TRAFFIC_CONCURRENT)
			hc_concurrency(e, &b);
		else if (e->cfg && e->cfg->traffic_scheduler.type == CFG_TRAFFIC_RATE)
			hc_dispatch_rate(e, &b);
		eval_views_drop(e);
		hc_length(e, &b, false);
		hc_length(e, &b, true);
		hc_lifecycle(e, &b);
	}
	char *p = fs_path_join(e->run_dir, "health_check_results.txt");
	int rc = fs_write_file_or_log(p, b.data ? b.data : "", b.len);
	free(p);
	buf_free(&b);
	return rc;
}
