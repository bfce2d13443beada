/* throughput_metrics.json, prefill_stats.json, chrome_trace.json, slo_results.json,
 * decode_window_metrics.json. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/jsonw.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "metrics/eval_internal.h"
#include "metrics/pct.h"
#include "core/fsstream.h"
#include "core/fsutil.h"

static int write_json_file(struct evaluator *e, const char *name, const struct buf *b)
{
	return eval_write_output(e, name, b);
}

static double r5(double v)
{
	return jsonw_py_round(v, 5);
}

/* ---- throughput_metrics.json ---- */

int eval_write_throughput(struct evaluator *e)
{
	double tpot_tp = 0.0, tbc_tp = 0.0;
	if (e->n_rows) {
		double *t = xmalloc(e->n_rows * sizeof *t);
		for (size_t i = 0; i < e->n_rows; i++) {
			t[i] = e->rows[i].tpot;
			eval_rows_scanned(e, i);
		}
		double m = pct_mean(t, e->n_rows);
		free(t);
		tpot_tp = m != 0.0 ? 1.0 / m : INFINITY;
	}
	if (e->tbc_all.n) {
		double p99 = pct_linear_sorted(eval_sorted_series(e, ES_TBC), e->tbc_all.n, 0.99);
		tbc_tp = p99 != 0.0 ? 1.0 / p99 : INFINITY;
	}
	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 2);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "tpot_based_throughput");
	jsonw_double(&w, tpot_tp);
	jsonw_key(&w, "tbc_based_throughput");
	jsonw_double(&w, tbc_tp);
	jsonw_obj_end(&w);
	int rc = write_json_file(e, "throughput_metrics.json", &b);
	buf_free(&b);
	return rc;
}

/* ---- prefill_stats.json ---- */

struct kv {
	int64_t k;
	double v;
};

static int cmp_kv(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	if (x->k != y->k)
		return (x->k > y->k) - (x->k < y->k);
	return 0;
}

static void stats_obj(struct jsonw *w, double *v, size_t n, bool with_count, bool sorted_already)
{
	if (!sorted_already)
		pct_sort(v, n);
	if (with_count) {
		jsonw_key(w, "count");
		jsonw_int(w, (int64_t)n);
	}
	jsonw_key(w, "mean");
	jsonw_double(w, pct_mean(v, n));
	jsonw_key(w, "median");
	jsonw_double(w, pct_median_sorted(v, n));
	jsonw_key(w, "std");
	jsonw_double(w, pct_std_pop(v, n));
	jsonw_key(w, "min");
	jsonw_double(w, v[0]);
	jsonw_key(w, "max");
	jsonw_double(w, v[n - 1]);
	jsonw_key(w, "p90");
	jsonw_double(w, pct_linear_sorted(v, n, 0.9));
	jsonw_key(w, "p99");
	jsonw_double(w, pct_linear_sorted(v, n, 0.99));
}

int eval_write_prefill(struct evaluator *e)
{
	if (!e->n_rows)
		return 0;
	bool have_target = false;
	for (size_t i = 0; i < e->n_rows && !have_target; i++) {
		if (e->rows[i].target_prompt_tokens > 0)
			have_target = true;
		eval_rows_scanned(e, i);
	}
	struct kv *a = xmalloc(e->n_rows * sizeof *a);
	for (size_t i = 0; i < e->n_rows; i++) {
		a[i].k = have_target ? e->rows[i].target_prompt_tokens : e->rows[i].num_delta_prompt_tokens;
		a[i].v = e->rows[i].ttfc;
		eval_rows_scanned(e, i);
	}
	/* stable grouping: sort by key, keep row order inside a group (values get sorted anyway) */
	qsort(a, e->n_rows, sizeof *a, cmp_kv);
	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 2);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "metric");
	jsonw_str(&w, "ttfc");
	jsonw_key(&w, "group_by");
	jsonw_str(&w, have_target ? "target_num_delta_prompt_tokens" : "num_delta_prompt_tokens");
	jsonw_key(&w, "groups");
	jsonw_obj_begin(&w);
	double *v = xmalloc(e->n_rows * sizeof *v);
	for (size_t i = 0; i < e->n_rows;) {
		size_t j = i;
		while (j < e->n_rows && a[j].k == a[i].k)
			j++;
		for (size_t k = i; k < j; k++)
			v[k - i] = a[k].v;
		char key[32];
		snprintf(key, sizeof key, "%lld", (long long)a[i].k);
		jsonw_key(&w, key);
		jsonw_obj_begin(&w);
		stats_obj(&w, v, j - i, true, false);
		jsonw_obj_end(&w);
		i = j;
	}
	free(v);
	free(a);
	jsonw_obj_end(&w);
	jsonw_obj_end(&w);
	int rc = write_json_file(e, "prefill_stats.json", &b);
	buf_free(&b);
	return rc;
}

/* ---- chrome_trace.json ---- */

/* A request's track name, "R<row> / <session> / <prompt tokens>→<output tokens>", NUL-terminated
 * (out holds 128 bytes: four numbers of at most 20 characters and 10 of text); what
 * snprintf("R%zu / %llu / %lld→%lld") writes, without its format parsing once per row. */
static void ct_tid(char *out, size_t row, uint64_t session, int64_t prompt_tokens, int64_t output_tokens)
{
	char *o = out;
	*o++ = 'R';
	o += jsonw_format_u64(row, o);
	memcpy(o, " / ", 3);
	o += 3;
	o += jsonw_format_u64(session, o);
	memcpy(o, " / ", 3);
	o += 3;
	o += jsonw_format_i64(prompt_tokens, o);
	memcpy(o, "\xe2\x86\x92", 3); /* → */
	o += 3;
	o += jsonw_format_i64(output_tokens, o);
	*o = '\0';
}

/* chrome_trace.json is written as text around its numbers instead of through jsonw (a run with 1M
 * tokens has 1M events; the per-key calls cost more than the numbers), the same bytes as Python's
 * json.dumps of the reference's events (checked by tests/tools/chrome_trace_oracle.py). A gap's two
 * numbers depend only on its value rounded to 5 decimals, which repeats (a server's inter-token gaps
 * cluster; a zero-delay server's are 0): they are formatted once per distinct value in a small
 * direct-mapped cache. */
#define CT_PREFILL "{\"name\": \"Prefill\", \"cat\": \"prefill\", \"ph\": \"X\", \"ts\": "
#define CT_DECODE "{\"name\": \"Decode\", \"cat\": \"decode\", \"ph\": \"X\", \"ts\": "
#define CT_TID ", \"pid\": 1, \"tid\": "
#define CT_T1 ", {\"name\": \"T"
#define CT_T2 "\", \"cat\": \"decode\", \"ph\": \"X\", \"ts\": "
#define CT_DUR ", \"dur\": "
#define CT_T5 ", \"args\": {\"token_index\": "
#define CT_T6 ", \"tbc_s\": "
#define CT_PUT(o, lit) (memcpy((o), (lit), sizeof(lit) - 1), (o) += sizeof(lit) - 1)
#define CT_NUM_MAX 40
#define CT_GAP_SLOTS 1024
/* room for a Prefill or Decode event past its tid: ~300 bytes of text, six integers of at most 20
 * characters, six numbers with the 32 bytes each formatter may use */
#define CT_ROW_MAX 1024

struct ct_gap {
	int64_t m; /* the gap in units of 1e-5 s: round(raw, 5) * 1e5 */
	bool used;
	uint8_t dur_len, tbc_len;
	double g; /* round(raw, 5) */
	char dur[CT_NUM_MAX], tbc[CT_NUM_MAX];
};

static void ct_gap_fill(struct ct_gap *s, double g, double raw)
{
	s->g = g;
	s->dur_len = (uint8_t)jsonw_format_double(g * 1e6, s->dur);
	s->tbc_len = (uint8_t)jsonw_format_round(raw, 5, s->tbc); /* repr(round(raw, 5)) == repr(g) */
}

/* A gap's rounded value and texts, which depend only on m = its value in units of 1e-5 s (one
 * multiplication and rounding per gap, inline; the division and formatting once per distinct m).
 * Values outside jsonw_round_scaled's range, and -0.0, are formatted in `one` each time. */
static const struct ct_gap *ct_gap_text(struct ct_gap *cache, struct ct_gap *one, double raw)
{
	int64_t m;
	if (!jsonw_round_scaled(raw, 5, &m) || (m == 0 && signbit(raw))) {
		ct_gap_fill(one, r5(raw), raw);
		return one;
	}
	uint64_t u = (uint64_t)m;
	struct ct_gap *s = &cache[(u ^ (u >> 10) ^ (u >> 20)) % CT_GAP_SLOTS];
	if (s->used && s->m == m)
		return s;
	s->used = true;
	s->m = m;
	ct_gap_fill(s, m ? (double)m / 1e5 : 0.0, raw); /* jsonw_py_round(raw, 5) */
	return s;
}

/* ", \"<key>\": <integer>" */
static char *ct_int(char *o, const char *key_text, size_t key_len, int64_t v)
{
	memcpy(o, key_text, key_len);
	o += key_len;
	return o + jsonw_format_i64(v, o);
}

#define CT_INT(o, lit, v) ((o) = ct_int((o), (lit), sizeof(lit) - 1, (v)))
#define CT_NUM(o, v) ((o) += jsonw_format_double((v), (o)))
#define CT_R5(o, v) ((o) += jsonw_format_round((v), 5, (o)))

/* A request's first event: its prefill, from pickup for its TTFC, with the request's figures. */
static char *ct_prefill(char *o, bool first, double start_us, double ttfc, const struct buf *tidq,
                        const struct eval_row *r)
{
	if (!first)
		CT_PUT(o, ", ");
	CT_PUT(o, CT_PREFILL);
	CT_NUM(o, start_us);
	CT_PUT(o, CT_DUR);
	CT_NUM(o, ttfc * 1e6);
	CT_PUT(o, CT_TID);
	memcpy(o, tidq->data, tidq->len);
	o += tidq->len;
	CT_INT(o, ", \"args\": {\"request_id\": ", (int64_t)r->request_id);
	CT_INT(o, ", \"session_id\": ", (int64_t)r->session_id);
	CT_INT(o, ", \"num_delta_prompt_tokens\": ", r->num_delta_prompt_tokens);
	CT_INT(o, ", \"num_total_prompt_tokens\": ", r->num_total_prompt_tokens);
	CT_INT(o, ", \"num_output_tokens\": ", r->num_output_tokens);
	CT_INT(o, ", \"num_total_tokens\": ", r->num_total_tokens);
	CT_PUT(o, ", \"ttfc\": ");
	CT_NUM(o, ttfc);
	CT_PUT(o, ", \"tpot\": ");
	CT_R5(o, r->tpot);
	CT_PUT(o, ", \"end_to_end_latency\": ");
	CT_R5(o, r->e2e);
	CT_PUT(o, ", \"output_throughput\": ");
	CT_R5(o, r->output_throughput);
	CT_PUT(o, "}}");
	return o;
}

/* A request without gaps that took longer than its TTFC: one block from the first chunk to the end. */
static char *ct_decode_block(char *o, double c, double dur_us, const struct buf *tidq, int64_t output_tokens)
{
	CT_PUT(o, ", ");
	CT_PUT(o, CT_DECODE);
	CT_NUM(o, c);
	CT_PUT(o, CT_DUR);
	CT_NUM(o, dur_us);
	CT_PUT(o, CT_TID);
	memcpy(o, tidq->data, tidq->len);
	o += tidq->len;
	CT_INT(o, ", \"args\": {\"num_output_tokens\": ", output_tokens);
	CT_PUT(o, "}}");
	return o;
}

/* chrome_trace.json can be large (one event per chunk gap): the events are formatted straight into
 * the stream's staging buffer, FS_STREAM_SLACK_BYTES at a time (core/fsstream: to <path>.tmp with
 * its blocks reserved ahead, through the page cache or with O_DIRECT, renamed at the end). */
struct ct_out {
	struct fs_stream s;
	char *base, *o; /* the space being filled, and where the next event goes */
	bool failed;
};

/* Room for an event of at most `need` bytes at out->o (false once a write has failed). */
static bool ct_room(struct ct_out *out, size_t need)
{
	if ((size_t)(out->o - out->base) + need <= FS_STREAM_SLACK_BYTES)
		return true;
	if (!fs_stream_advance(&out->s, (size_t)(out->o - out->base)))
		out->failed = true;
	out->base = out->o = fs_stream_space(&out->s, FS_STREAM_SLACK_BYTES);
	return !out->failed;
}

int eval_write_chrome_trace(struct evaluator *e)
{
	char *path = fs_path_join(e->metrics_dir, "chrome_trace.json");
	struct ct_out out = {0};
	int rc = fs_stream_open(&out.s, path);
	free(path);
	if (rc != 0)
		return -1;
	out.base = out.o = fs_stream_space(&out.s, FS_STREAM_SLACK_BYTES);
	*out.o++ = '[';
	struct buf tidq;
	buf_init(&tidq);
	struct ct_gap *gaps = xcalloc(CT_GAP_SLOTS, sizeof *gaps), one_gap;
	double last_c = NAN; /* consecutive gaps of 0 share their start */
	char last_c_text[CT_NUM_MAX];
	size_t last_c_len = 0;
	double epoch = INFINITY;
	for (size_t i = 0; i < e->n_rows; i++) {
		if (e->rows[i].dispatched_s < epoch)
			epoch = e->rows[i].dispatched_s;
		eval_rows_scanned(e, i);
	}
	for (size_t i = 0; i < e->n_rows && !out.failed; i++) {
		const struct eval_row *r = &e->rows[i];
		eval_rows_scanned(e, i);
		char tid[128];
		ct_tid(tid, i, r->session_id, r->num_delta_prompt_tokens, r->num_output_tokens);
		buf_reset(&tidq);
		jsonw_escape(&tidq, tid, strlen(tid)); /* with its quotes */
		/* the longest event: a Prefill's text and figures, or a gap's text, tid, two indexes and
		 * three numbers */
		size_t event_max = tidq.len + CT_ROW_MAX;
		double ttfc = r5(r->ttfc);
		double start_us = (r->picked_s - epoch) * 1e6;
		if (!ct_room(&out, event_max))
			break;
		out.o = ct_prefill(out.o, i == 0, start_us, ttfc, &tidq, r);
		double c = start_us + ttfc * 1e6;
		if (r->n_tbc > 0) {
			char idx[24]; /* the gap's number, 1-based, as decimal text counted up in place */
			size_t nidx = 1;
			idx[0] = '0';
			for (size_t j = 0; j < r->n_tbc; j++) {
				for (size_t k = nidx;; k--) {
					if (k == 0) {
						memmove(idx + 1, idx, nidx++);
						idx[0] = '1';
						break;
					}
					if (idx[k - 1] != '9') {
						idx[k - 1]++;
						break;
					}
					idx[k - 1] = '0';
				}
				const struct ct_gap *gs = ct_gap_text(gaps, &one_gap, e->tbc_all.v[r->tbc_off + j]);
				double g = gs->g;
				if (!ct_room(&out, event_max))
					break;
				char *o = out.o;
				CT_PUT(o, CT_T1);
				memcpy(o, idx, nidx);
				o += nidx;
				CT_PUT(o, CT_T2);
				if (c != last_c) {
					last_c = c;
					last_c_len = jsonw_format_double(c, last_c_text);
				}
				memcpy(o, last_c_text, last_c_len);
				o += last_c_len;
				CT_PUT(o, CT_DUR);
				memcpy(o, gs->dur, gs->dur_len);
				o += gs->dur_len;
				CT_PUT(o, CT_TID);
				memcpy(o, tidq.data, tidq.len);
				o += tidq.len;
				CT_PUT(o, CT_T5);
				memcpy(o, idx, nidx);
				o += nidx;
				CT_PUT(o, CT_T6);
				memcpy(o, gs->tbc, gs->tbc_len);
				o += gs->tbc_len;
				*o++ = '}';
				*o++ = '}';
				out.o = o;
				c += g * 1e6;
			}
		} else if (r->completed_s > r->picked_s + ttfc && ct_room(&out, event_max)) {
			out.o = ct_decode_block(out.o, c, (r->completed_s - r->picked_s - ttfc) * 1e6, &tidq,
			                        r->num_output_tokens);
		}
	}
	if (ct_room(&out, 1)) {
		*out.o++ = ']';
		fs_stream_advance(&out.s, (size_t)(out.o - out.base));
	}
	buf_free(&tidq);
	free(gaps);
	e->trace_direct_bytes = (int64_t)out.s.direct_bytes;
	e->trace_cached_ns_per_mb = out.s.cached_ns_per_mb;
	return fs_stream_commit(&out.s); /* on failure the previous chrome_trace.json (if any) is kept */
}

/* ---- SLOs ---- */

static const char *slo_metric_name(enum cfg_slo_metric m)
{
	switch (m) {
	case CFG_SLO_TTFC:
		return "ttfc";
	case CFG_SLO_TBC:
		return "tbc";
	case CFG_SLO_TPOT:
		return "tpot";
	case CFG_SLO_E2E:
		return "e2e";
	case CFG_SLO_TTFO:
		return "ttfo";
	}
	return "?";
}

static bool slo_ok(double v, double thr)
{
	return pct_isclose(v, thr, 1e-9, 1e-12) || v < thr;
}

bool eval_row_meets_slos(const struct evaluator *e, const struct eval_row *r, const double *gaps)
{
	if (!e->ecfg)
		return true;
	for (size_t i = 0; i < e->ecfg->n_slos; i++) {
		const struct cfg_slo *s = &e->ecfg->slos[i];
		double v;
		switch (s->metric) {
		case CFG_SLO_TTFC:
			v = r->ttfc;
			break;
		case CFG_SLO_TPOT:
			if (!eval_row_has_tpot(r))
				continue;
			v = r->tpot;
			break;
		case CFG_SLO_E2E:
			v = r->e2e;
			break;
		case CFG_SLO_TTFO:
			v = r->has_ttfo ? r->ttfo : INFINITY;
			break; /* no answer: never in time */
		case CFG_SLO_TBC:
		default:
			if (!r->n_tbc)
				continue;
			{
				double *g = xmalloc(r->n_tbc * sizeof *g);
				memcpy(g, gaps, r->n_tbc * sizeof *g);
				pct_sort(g, r->n_tbc);
				v = pct_interp_sorted(g, r->n_tbc, s->percentile);
				free(g);
			}
			break;
		}
		if (!slo_ok(v, s->value))
			return false;
	}
	return true;
}

/* "55.0%", or more digits for rates below 0.1% (a 0.01% error rate must not print as 0.0%) */
static void fmt_pct(char *out, size_t n, double rate)
{
	double p = rate * 100.0;
	if (p == 0.0 || p >= 0.1)
		snprintf(out, n, "%.1f%%", p);
	else
		snprintf(out, n, "%.2g%%", p);
}

static void add_reason(struct evaluator *e, char *text)
{
	e->verdict_reasons = xrealloc(e->verdict_reasons, (e->n_verdict_reasons + 1) * sizeof *e->verdict_reasons);
	e->verdict_reasons[e->n_verdict_reasons++] = text;
}

int eval_compute_slos(struct evaluator *e)
{
	for (size_t i = 0; i < e->n_slo_results; i++)
		free(e->slo_results[i].name);
	free(e->slo_results);
	e->slo_results = NULL;
	e->n_slo_results = 0;
	for (size_t i = 0; i < e->n_verdict_reasons; i++)
		free(e->verdict_reasons[i]);
	free(e->verdict_reasons);
	e->verdict_reasons = NULL;
	e->n_verdict_reasons = 0;

	size_t n_slos = e->ecfg ? e->ecfg->n_slos : 0;
	/* the configured SLOs, then the error-rate objective (always: docs/FAILURES.md, The verdict) */
	e->slo_results = xcalloc(n_slos + 1, sizeof *e->slo_results);
	e->n_slo_results = n_slos + 1;
	int all = 1;
	/* values as request_level_metrics.jsonl holds them (rounded to 5 dp); an errored request
	 * delivered nothing in time, so it counts as +inf in the TTFC, TPOT and E2E percentiles */
	size_t n_err = (size_t)e->n_errored;
	size_t cap = (e->n_rows + n_err > e->tbc_all.n ? e->n_rows + n_err : e->tbc_all.n) + e->n_cut;
	double *v = xmalloc((cap ? cap : 1) * sizeof *v);
	for (size_t i = 0; i < n_slos; i++) {
		const struct cfg_slo *s = &e->ecfg->slos[i];
		struct eval_slo_result *res = &e->slo_results[i];
		size_t n = 0;
		/* a request cancelled in flight (signal, grace period over) counts as +inf where it had
		 * already missed the objective when it was cancelled: its first chunk (answer) came later
		 * than the threshold or had not come, and it had waited longer; its E2E was longer; it had
		 * waited longer for its next chunk (docs/FAILURES.md, The verdict). Otherwise (not known
		 * yet, or TPOT: its token count is unknown) it is left out, as before. */
		size_t n_cut = 0;
		for (size_t k = 0; k < e->n_cut; k++) {
			const struct eval_cut *c = &e->cut[k];
			bool missed = false;
			if (s->metric == CFG_SLO_TTFC)
				missed = (isnan(c->first_s) ? c->age_s : c->first_s) > s->value;
			else if (s->metric == CFG_SLO_TTFO)
				missed = (isnan(c->first_answer_s) ? c->age_s : c->first_answer_s) > s->value;
			else if (s->metric == CFG_SLO_E2E)
				missed = c->age_s > s->value;
			else if (s->metric == CFG_SLO_TBC)
				missed = !isnan(c->last_s) && c->age_s - c->last_s > s->value;
			if (missed) {
				v[n++] = INFINITY;
				n_cut++;
			}
		}
		if (s->metric == CFG_SLO_TBC) {
			for (size_t k = 0; k < e->n_rows; k++)
				for (size_t j = 0; j < e->rows[k].n_tbc; j++)
					v[n++] = r5(e->tbc_all.v[e->rows[k].tbc_off + j]);
		} else {
			for (size_t k = 0; k < e->n_rows; k++) {
				const struct eval_row *r = &e->rows[k];
				if (s->metric == CFG_SLO_TPOT && !eval_row_has_tpot(r))
					continue;
				if (s->metric == CFG_SLO_TTFO) /* a request whose answer never started counts as +inf */
					v[n++] = r->has_ttfo ? r5(r->ttfo) : INFINITY;
				else
					v[n++] = r5(s->metric == CFG_SLO_TTFC   ? r->ttfc
					            : s->metric == CFG_SLO_TPOT ? r->tpot
					                                        : r->e2e);
			}
			for (size_t k = 0; k < n_err; k++)
				v[n++] = INFINITY;
		}
		res->metric = slo_metric_name(s->metric);
		snprintf(res->key, sizeof res->key, "%s_p%d", res->metric, (int)nearbyint(s->percentile * 100.0));
		res->name = xstrdup(s->name);
		res->percentile = s->percentile;
		res->threshold = s->value;
		const char *label = res->name ? res->name : res->key;
		if (n == 0 && (s->metric == CFG_SLO_TBC || s->metric == CFG_SLO_TPOT) && e->n_rows > 0) {
			/* requests succeeded, but none delivered two content chunks (TBC) or streamed two
			 * tokens (TPOT): there is no gap to exceed the objective, so it cannot fail */
			res->observed = NAN;
			res->met = true;
			res->not_applicable = true;
		} else if (n == 0) {
			res->observed = INFINITY;
			res->no_data = true;
			res->met = false;
			add_reason(e, xasprintf("%s: no data (no request delivered a value)", label));
		} else {
			pct_sort(v, n);
			res->observed = pct_interp_sorted(v, n, s->percentile);
			res->met = slo_ok(res->observed, s->value);
			if (!res->met && isinf(res->observed) && n_cut == 0)
				add_reason(e, xasprintf("%s inf > %g s (%zu errored requests count as infinitely slow)",
				                        label, s->value, n_err));
			else if (!res->met && isinf(res->observed)) {
				char errs[64] = "";
				if (s->metric != CFG_SLO_TBC && n_err)
					snprintf(errs, sizeof errs, " and the %zu errored requests", n_err);
				add_reason(
				    e,
				    xasprintf("%s inf > %g s (%zu requests cancelled in flight had waited longer than "
				              "%g s; they%s count as infinitely slow)",
				              label, s->value, n_cut, s->value, errs));
			} else if (!res->met)
				add_reason(e, xasprintf("%s %.4g s > %g s", label, res->observed, s->value));
		}
		if (!res->met)
			all = 0;
	}
	free(v);

	struct eval_slo_result *er = &e->slo_results[n_slos];
	er->metric = "error_rate";
	snprintf(er->key, sizeof er->key, "error_rate");
	er->name = xstrdup("Error Rate");
	er->is_rate = true;
	er->percentile = NAN;
	er->threshold = e->ecfg ? e->ecfg->max_error_rate : 0.0;
	if (e->n_completed + e->n_errored == 0) {
		/* no request completed or failed (none dispatched, every one cancelled or outside the
		 * measurement window): nothing was measured, so the objective cannot be met
		 * (docs/FAILURES.md, The verdict); observed is null */
		er->observed = NAN;
		er->met = false;
		all = 0;
		add_reason(e,
		           xasprintf("%s: no data (no request completed or failed; %llu dispatched, %llu cancelled)",
		                     er->name, (unsigned long long)e->n_requests, (unsigned long long)e->n_cancelled));
	} else {
		er->observed = (double)e->n_errored / (double)e->n_requests;
		er->met = er->observed <= er->threshold;
	}
	if (!er->met && !isnan(er->observed)) {
		all = 0;
		char obs[32], thr[32], top[400] = "";
		fmt_pct(obs, sizeof obs, er->observed);
		fmt_pct(thr, sizeof thr, er->threshold);
		struct eval_errmsg *t = eval_sorted_errors(e);
		if (e->n_errmsgs)
			snprintf(top, sizeof top, "; top error: %s %d '%s' x %llu", rec_error_class_name(t[0].kind),
			         t[0].code, t[0].msg, (unsigned long long)t[0].count);
		free(t);
		add_reason(e, xasprintf("error rate %s > %s (%llu of %llu requests failed%s)", obs, thr,
		                        (unsigned long long)e->n_errored, (unsigned long long)e->n_requests, top));
	}

	if (all && e->n_completed == 0) {
		/* every request failed and the objectives tolerate it (max_error_rate 1, no latency SLO):
		 * still no answer was measured, so the run does not pass (docs/FAILURES.md, The verdict) */
		all = 0;
		add_reason(e, xasprintf("no request completed (%llu of %llu failed): no answer was measured",
		                        (unsigned long long)e->n_errored, (unsigned long long)e->n_requests));
	}
	if (e->run_status != EVAL_RUN_COMPLETE) {
		/* the workload was not fully measured: whatever was measured cannot pass */
		all = 0;
		add_reason(e, xasprintf("run %s%s%s", eval_run_status_name(e->run_status),
		                        e->run_status_reason[0] ? ": " : "", e->run_status_reason));
	}
	return all;
}

int eval_write_slos(struct evaluator *e)
{
	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 2);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "all_slos_met");
	jsonw_bool(&w, e->slo_all_met == 1);
	jsonw_key(&w, "verdict_reasons");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < e->n_verdict_reasons; i++)
		jsonw_str(&w, e->verdict_reasons[i]);
	jsonw_arr_end(&w);
	jsonw_key(&w, "results");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < e->n_slo_results; i++) {
		const struct eval_slo_result *r = &e->slo_results[i];
		jsonw_obj_begin(&w);
		jsonw_key(&w, "met");
		jsonw_bool(&w, r->met);
		jsonw_key(&w, "slo_metric_key");
		jsonw_str(&w, r->key);
		jsonw_key(&w, "observed_value");
		if (r->not_applicable || (r->is_rate && isnan(r->observed)))
			jsonw_null(&w);
		else
			jsonw_double(&w, r->observed);
		jsonw_key(&w, "threshold");
		jsonw_double(&w, r->threshold);
		jsonw_key(&w, "percentile");
		if (r->is_rate)
			jsonw_null(&w);
		else
			jsonw_double(&w, r->percentile);
		jsonw_key(&w, "metric");
		jsonw_str(&w, r->metric);
		jsonw_key(&w, "name");
		jsonw_str(&w, r->name);
		jsonw_key(&w, "lower_is_better");
		jsonw_bool(&w, true);
		if (r->not_applicable) {
			jsonw_key(&w, "note");
			jsonw_str(&w, r->metric && !strcmp(r->metric, "tpot")
			                  ? "not applicable: no request streamed two output tokens (non-streamed or "
			                    "one-token answers), so there is no time per output token to measure"
			                  : "not applicable: no request delivered two content chunks (non-streamed or "
			                    "one-chunk answers), so there is no gap to measure");
		}
		jsonw_obj_end(&w);
	}
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	int rc = write_json_file(e, "slo_results.json", &b);
	buf_free(&b);
	return rc;
}
