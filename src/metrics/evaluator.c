/* Performance evaluator: counters, per-request rows, sketches, request_level_metrics.jsonl,
 * summary_stats.json and the per-series CSVs. Other files: eval_files.c, eval_health.c,
 * eval_plots.c. Definitions: docs/METRICS.md; formats: docs/OUTPUTS.md. */
#include "metrics/evaluator.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "metrics/eval_internal.h"
#include "metrics/pct.h"
#include "core/fsutil.h"
#include "output/plot.h"

#define SKETCH_ALPHA 0.001

const struct eval_series_info eval_series_infos[EVAL_N_SERIES] = {
    [ES_NUM_PROMPT_TOKENS] = {"num_prompt_tokens", "Number of Prompt Tokens", NULL, true},
    [ES_NUM_OUTPUT_TOKENS] = {"num_output_tokens", "Number of Output Tokens", NULL, true},
    [ES_NUM_TOTAL_TOKENS] = {"num_total_tokens", "Number of Total Tokens", NULL, true},
    [ES_TPOT] = {"tpot", "Time per Output Token", "s", false},
    [ES_TTFC] = {"ttfc", "Time to First Chunk", "s", false},
    [ES_TBC] = {"tbc", "Time Between Chunks", "s", false},
    [ES_E2E] = {"end_to_end_latency", "End to End Latency", "s", false},
    [ES_NORM_E2E] = {"normalized_end_to_end_latency", "Normalized End to End Latency", "s/token", false},
    [ES_OUTPUT_THROUGHPUT] = {"output_throughput", "Output Throughput", "tokens/s", false},
    [ES_SESSION_SIZE] = {"session_size", "Requests per Session", NULL, true},
    [ES_SESSION_DURATION] = {"session_duration", "Session Duration", "s", false},
    [ES_SESSION_THINK_TIME] = {"session_think_time", "Intra-session Think Time", "s", false},
    [ES_TTFO] = {"ttfo", "Time to First Output Token", "s", false},
    [ES_REASONING_DURATION] = {"reasoning_duration", "Reasoning Duration", "s", false},
    [ES_NUM_REASONING_TOKENS] = {"num_reasoning_tokens", "Number of Reasoning Tokens", NULL, true},
    [ES_NUM_ANSWER_TOKENS] = {"num_answer_tokens", "Number of Answer Tokens", NULL, true},
};

/* ---- small containers ---- */

void dvec_push(struct dvec *d, double x)
{
	if (d->n == d->cap)
		xgrow((void **)&d->v, &d->cap, d->n + 1, sizeof *d->v);
	d->v[d->n++] = x;
}

void dvec_free(struct dvec *d)
{
	free(d->v);
	memset(d, 0, sizeof *d);
}

/* A pool slot: reuse a freed one or grow. */
static size_t slot_take(void **arr, size_t *cap, size_t **free_list, size_t *n_free, size_t elem)
{
	if (*n_free)
		return (*free_list)[--*n_free];
	size_t idx = *cap;
	size_t new_cap = *cap ? *cap * 2 : 64;
	*arr = xrealloc(*arr, new_cap * elem);
	memset((char *)*arr + idx * elem, 0, (new_cap - idx) * elem); /* unused slots read as free */
	*free_list = xrealloc(*free_list, new_cap * sizeof **free_list);
	/* the new slots beyond idx go on the free list, highest first so idx+1 is taken next */
	for (size_t k = new_cap; k > idx + 1; k--)
		(*free_list)[(*n_free)++] = k - 1;
	*cap = new_cap;
	return idx;
}

/* ---- helpers ---- */

double eval_rel_s(const struct evaluator *e, int64_t t_ns)
{
	int64_t d = t_ns - e->bench_start_ns;
	if (d < 0)
		d = 0;
	return jsonw_py_round((double)d / 1e9, 5);
}

static double ns_to_s(int64_t ns)
{
	return (double)ns / 1e9;
}

/* Open sessions live in a pool; a finished one is written to sessions_sp and its slot reused. */
static struct eval_session *session_get(struct evaluator *e, uint64_t id, bool create)
{
	const size_t *open_idx = u64map_get(&e->open_by_id, id);
	if (open_idx)
		return &e->open[*open_idx];
	if (!create)
		return NULL;
	size_t idx = slot_take((void **)&e->open, &e->cap_open, &e->open_free, &e->n_open_free, sizeof *e->open);
	struct eval_session *s = &e->open[idx];
	memset(s, 0, sizeof *s);
	s->id = id;
	s->live = true;
	u64map_put(&e->open_by_id, id, &idx);
	e->n_sessions++;
	return s;
}

/* A session reached a final state: account it, spill it, free its slot. */
static void session_retire(struct evaluator *e, struct eval_session *s)
{
	e->n_finished_state[s->state]++;
	if (s->first_dispatch_ns) {
		if (!e->fin_first_lo_ns || s->first_dispatch_ns < e->fin_first_lo_ns)
			e->fin_first_lo_ns = s->first_dispatch_ns;
		if (s->first_dispatch_ns > e->fin_first_hi_ns)
			e->fin_first_hi_ns = s->first_dispatch_ns;
	}
	s->live = false;
	spill_push(&e->sessions_sp, s, 1);
	size_t idx;
	if (u64map_del(&e->open_by_id, s->id, &idx))
		e->open_free[e->n_open_free++] = idx;
}

static void session_add_samples(struct evaluator *e, const struct eval_session *s)
{
	if (!s->has_completion)
		return;
	double size = (double)s->observed;
	double dur = ns_to_s(s->last_completion_ns - s->first_dispatch_ns);
	sketch_add(&e->sk[ES_SESSION_SIZE], size);
	spill_push(&e->raw_sp[ES_SESSION_SIZE], &size, 1);
	if (dur >= 0) {
		sketch_add(&e->sk[ES_SESSION_DURATION], dur);
		spill_push(&e->raw_sp[ES_SESSION_DURATION], &dur, 1);
	}
}

static void session_maybe_finalize(struct evaluator *e, struct eval_session *s)
{
	if (s->state != SESS_OPEN || s->total_requests == 0)
		return;
	if ((uint64_t)s->observed + s->dropped < s->total_requests)
		return;
	if (s->cancelled)
		s->state = SESS_CANCELLED;
	else if (s->errors)
		s->state = SESS_ERRORED;
	else
		s->state = SESS_SUCCESS;
	session_add_samples(e, s);
	session_retire(e, s);
}

/* ---- create ---- */

static struct evaluator *eval_create_in(const struct cfg_benchmark *cfg, const char *run_dir, int64_t bench_start_ns,
                                        const char *tokenizer_name, bool staged)
{
	int (*lf_open)(struct eval_linefile *, const char *, const char *) =
	    staged ? eval_lf_open_staged : eval_lf_open;
	struct evaluator *e = xcalloc(1, sizeof *e);
	e->jsonl.fd = e->trace.fd = -1; /* (eval_free may run before they are opened) */
	u64map_init(&e->inflight_by_id, sizeof(size_t));
	u64map_init(&e->open_by_id, sizeof(size_t));
	u64map_init(&e->reg_by_id, sizeof(size_t));
	u64map_init(&e->sess_by_id, sizeof(size_t));
	e->cfg = cfg;
	for (size_t i = 0; cfg && i < cfg->n_evaluators; i++)
		if (cfg->evaluators[i].type == CFG_EVAL_PERFORMANCE) {
			e->ecfg = &cfg->evaluators[i];
			break;
		}
	e->run_dir = xstrdup(run_dir);
	e->metrics_dir = fs_path_join(run_dir, "metrics");
	e->traces_dir = fs_path_join(run_dir, "traces");
	e->tokenizer_name = xstrdup(tokenizer_name);
	e->bench_start_ns = bench_start_ns;
	e->last_stream_ns = bench_start_ns;
	e->slo_all_met = 1;
	buf_init(&e->line);
	for (int i = 0; i < EVAL_N_SERIES; i++)
		sketch_init(&e->sk[i], SKETCH_ALPHA);

	if (fs_mkdir_p(e->metrics_dir) != 0) {
		log_error("cannot create %s: %s", e->metrics_dir, strerror(errno));
		eval_free(e);
		return NULL;
	}
	char *p = fs_path_join(e->metrics_dir, "request_level_metrics.jsonl");
	if (lf_open(&e->jsonl, p, "metrics/request_level_metrics.jsonl") != 0) {
		log_error("cannot open %s: %s", p, strerror(errno));
		free(p);
		eval_free(e);
		return NULL;
	}
	free(p);
	spill_open(&e->rows_sp, e->metrics_dir, "evaluator rows", sizeof(struct eval_row));
	spill_open(&e->regs_sp, e->metrics_dir, "evaluator registrations", sizeof(struct eval_reg));
	spill_open(&e->parents_sp, e->metrics_dir, "evaluator parents", sizeof(uint32_t));
	spill_open(&e->sessions_sp, e->metrics_dir, "evaluator sessions", sizeof(struct eval_session));
	spill_open(&e->tbc_sp, e->metrics_dir, "evaluator gaps", sizeof(double));
	/* raw TBC samples are the gaps in tbc_sp (eval_views_open): no spill of their own */
	for (int i = 0; i < EVAL_N_SERIES; i++)
		if (i != ES_TBC)
			spill_open(&e->raw_sp[i], e->metrics_dir, "evaluator samples", sizeof(double));
	if (cfg && cfg->trace_recorder.enabled) {
		if (fs_mkdir_p(e->traces_dir) != 0) {
			log_error("cannot create %s: %s", e->traces_dir, strerror(errno));
			eval_free(e);
			return NULL;
		}
		p = fs_path_join(e->traces_dir, "dispatch_trace.jsonl");
		if (lf_open(&e->trace, p, "traces/dispatch_trace.jsonl") != 0) {
			log_error("cannot open %s: %s", p, strerror(errno));
			free(p);
			eval_free(e);
			return NULL;
		}
		free(p);
	}
	return e;
}

struct evaluator *eval_create(const struct cfg_benchmark *cfg, const char *run_dir, int64_t bench_start_ns,
                              const char *tokenizer_name)
{
	return eval_create_in(cfg, run_dir, bench_start_ns, tokenizer_name, false);
}

struct evaluator *eval_create_staged(const struct cfg_benchmark *cfg, const char *run_dir, int64_t bench_start_ns,
                                     const char *tokenizer_name)
{
	return eval_create_in(cfg, run_dir, bench_start_ns, tokenizer_name, true);
}

int eval_commit_staged(struct evaluator *e)
{
	int rc = eval_lf_commit(&e->jsonl);
	if (eval_lf_commit(&e->trace) != 0)
		rc = -1;
	return rc;
}

void eval_set_start(struct evaluator *e, int64_t bench_start_ns)
{
	e->bench_start_ns = bench_start_ns;
	e->last_stream_ns = bench_start_ns;
}

/* ---- registration + dispatch trace ---- */

static void trace_write(struct evaluator *e, const struct wl_request *req, uint32_t session_size, int64_t dispatched_ns)
{
	struct buf *b = &e->line;
	buf_reset(b);
	struct jsonw w;
	jsonw_init(&w, b, 0);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "request_id");
	jsonw_int(&w, (int64_t)req->id);
	jsonw_key(&w, "session_id");
	jsonw_int(&w, (int64_t)req->session_id);
	jsonw_key(&w, "session_size");
	jsonw_int(&w, session_size);
	jsonw_key(&w, "dispatched_at");
	jsonw_double(&w, eval_rel_s(e, dispatched_ns));
	jsonw_key(&w, "session_context");
	jsonw_obj_begin(&w);
	jsonw_key(&w, "node_id");
	jsonw_int(&w, req->node_id);
	jsonw_key(&w, "wait_after_ready");
	if (req->n_parents == 0 && req->wait_after_ready_s == 0.0)
		jsonw_int(&w, 0);
	else
		jsonw_double(&w, req->wait_after_ready_s);
	jsonw_key(&w, "parent_nodes");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < req->n_parents; i++)
		jsonw_int(&w, req->parent_nodes[i]);
	jsonw_arr_end(&w);
	jsonw_key(&w, "history_parent");
	if (req->history_parent < 0)
		jsonw_null(&w);
	else
		jsonw_int(&w, req->history_parent);
	jsonw_obj_end(&w);
	if (e->cfg->trace_recorder.include_content) {
		jsonw_key(&w, "channels");
		jsonw_obj_begin(&w);
		jsonw_key(&w, "text");
		jsonw_obj_begin(&w);
		jsonw_key(&w, "input_text");
		jsonw_str(&w, req->prompt_text ? req->prompt_text : "");
		jsonw_key(&w, "target_prompt_tokens");
		jsonw_int(&w, req->target_prompt_tokens);
		jsonw_obj_end(&w);
		jsonw_obj_end(&w);
		jsonw_key(&w, "history");
		jsonw_arr_begin(&w);
		for (size_t i = 0; i < req->n_history; i++) {
			jsonw_obj_begin(&w);
			jsonw_key(&w, "role");
			jsonw_str(&w, req->history[i].role);
			jsonw_key(&w, "content");
			jsonw_str(&w, req->history[i].content);
			jsonw_obj_end(&w);
		}
		jsonw_arr_end(&w);
	}
	jsonw_obj_end(&w);
	buf_putc(b, '\n');
	eval_lf_append(&e->trace, b->data, b->len);
	if (++e->trace_pending >= 100) {
		eval_lf_flush(&e->trace);
		e->trace_pending = 0;
	}
}

void eval_register_request(struct evaluator *e, const struct wl_request *req, uint32_t session_total_requests,
                           int64_t intended_ns, int64_t dispatched_ns)
{
	if (e->log)
		eval_log_register(e, req, session_total_requests, intended_ns, dispatched_ns);
	struct eval_reg r;
	memset(&r, 0, sizeof r);
	r.request_id = req->id;
	r.session_id = req->session_id;
	r.node_id = req->node_id;
	r.session_size = session_total_requests;
	r.wait_after_ready_s = req->wait_after_ready_s;
	r.parents_off = spill_count(&e->parents_sp);
	r.n_parents = (uint32_t)req->n_parents;
	spill_push(&e->parents_sp, req->parent_nodes, req->n_parents);
	r.intended_ns = intended_ns;
	r.dispatched_ns = dispatched_ns;
	spill_push(&e->regs_sp, &r, 1);
	e->n_regs++;
	size_t slot = slot_take((void **)&e->inflight, &e->cap_inflight, &e->inflight_free, &e->n_inflight_free,
	                        sizeof *e->inflight);
	e->inflight[slot] = (struct eval_inflight){req->id, req->node_id, intended_ns, dispatched_ns};
	u64map_put(&e->inflight_by_id, req->id, &slot);

	struct eval_session *s = session_get(e, req->session_id, true);
	if (!s->first_dispatch_ns || dispatched_ns < s->first_dispatch_ns)
		s->first_dispatch_ns = dispatched_ns;
	if (!e->meas_first_dispatch_ns || dispatched_ns < e->meas_first_dispatch_ns)
		e->meas_first_dispatch_ns = dispatched_ns;
	s->total_requests = session_total_requests;
	e->n_requests++;
	e->dirty = true;
	if (eval_lf_is_open(&e->trace))
		trace_write(e, req, session_total_requests, dispatched_ns);
}

/* ---- per-request metrics ---- */

void eval_compute_row(const struct rec_record *rec, struct eval_row *row, struct dvec *gaps);
void eval_compute_row(const struct rec_record *rec, struct eval_row *row, struct dvec *gaps)
{
	memset(row, 0, sizeof *row);
	row->request_id = rec->request_id;
	row->session_id = rec->session_id;
	row->node_id = rec->node_id;
	row->session_total_requests = rec->session_total_requests;
	row->intended_ns = rec->intended_ns;
	row->dispatched_ns = rec->dispatched_ns;
	row->sent_ns = rec->sent_ns;
	row->headers_ns = rec->headers_ns;
	row->completed_ns = rec->completed_ns;
	row->processed_ns = rec->processed_ns;
	row->num_delta_prompt_tokens = rec->num_delta_prompt_tokens;
	row->num_total_prompt_tokens = rec->num_total_prompt_tokens;
	row->target_prompt_tokens = rec->target_prompt_tokens;
	int64_t n = rec->num_output_tokens;
	row->num_output_tokens = n;
	row->requested_output_tokens = rec->requested_output_tokens;
	row->num_total_tokens =
	    (rec->num_total_prompt_tokens ? rec->num_total_prompt_tokens : rec->num_delta_prompt_tokens) + n;
	row->tbc_off = gaps->n;

	double ttfc = 0, e2e = 0;
	bool stream = rec->is_stream;
	if (!stream) {
		if (rec->sent_ns && rec->completed_ns)
			ttfc = e2e = ns_to_s(rec->completed_ns - rec->sent_ns);
	} else if (rec->n_chunks == 0) {
		stream = false; /* no text channel: all zeros */
	} else {
		ttfc = ns_to_s(rec->chunks[0].t_ns - rec->sent_ns);
		e2e = ttfc;
		for (size_t i = 1; i < rec->n_chunks; i++) {
			double g = ns_to_s(rec->chunks[i].t_ns - rec->chunks[i - 1].t_ns);
			dvec_push(gaps, g);
			e2e += g;
		}
	}
	row->n_tbc = gaps->n - row->tbc_off;
	row->is_stream = stream;
	row->ttfc = ttfc;
	row->e2e = e2e;
	row->tpot = n > 1 ? (e2e - ttfc) / (double)(n - 1) : 0.0;
	row->norm_e2e = n > 0 ? e2e / (double)n : 0.0;
	row->output_throughput = e2e > 0 ? (double)n / e2e : 0.0;
	/* itl: decode time spread over the tokens that arrived after the first chunk, when the chunks
	 * carry token counts; otherwise tpot. */
	row->itl = row->tpot;
	if (stream && rec->n_chunks > 1) {
		int64_t after = 0;
		bool known = true;
		for (size_t i = 1; i < rec->n_chunks; i++) {
			if (rec->chunks[i].tokens <= 0)
				known = false;
			after += rec->chunks[i].tokens;
		}
		if (known && after > 0)
			row->itl = (e2e - ttfc) / (double)after;
	}
	/* reasoning (docs/METRICS.md, Reasoning): TTFO is the first answer chunk's time; without
	 * reasoning it is the first chunk's (TTFC), non-streamed it is E2E */
	row->has_reasoning = rec_has_reasoning(rec);
	row->has_ttfo = true;
	row->ttfo = ttfc;
	row->num_reasoning_tokens = row->has_reasoning ? rec->num_reasoning_tokens : 0;
	row->num_answer_tokens = row->has_reasoning ? rec->num_answer_tokens : n;
	if (row->has_reasoning && stream) {
		row->has_ttfo = rec->first_answer_ns != 0;
		row->ttfo = row->has_ttfo ? ns_to_s(rec->first_answer_ns - rec->sent_ns) : 0.0;
	}
	row->has_reasoning_duration = rec->first_reasoning_ns != 0;
	if (row->has_reasoning_duration)
		row->reasoning_duration = ns_to_s(rec->last_reasoning_ns - rec->first_reasoning_ns);
}

static void json_round_or_null(struct jsonw *w, const char *key, bool have, double v)
{
	jsonw_key(w, key);
	if (have)
		jsonw_double_round(w, v, 5);
	else
		jsonw_null(w);
}

static void eval_flush_jsonl(struct evaluator *e)
{
	if (!e->jsonl_pending)
		return;
	e->jsonl_pending = 0;
	eval_lf_flush(&e->jsonl); /* a failure is reported once, by the line file */
}

/* The keys every row of request_level_metrics.jsonl starts with, up to and including "is_stream"
 * (a failed row has these too; docs/OUTPUTS.md). */
static void row_write_leading_keys(struct jsonw *w, const struct eval_row *r)
{
	jsonw_obj_begin(w);
	jsonw_key(w, "request_id");
	jsonw_int(w, (int64_t)r->request_id);
	jsonw_key(w, "session_id");
	jsonw_int(w, (int64_t)r->session_id);
	jsonw_key(w, "session_total_requests");
	jsonw_int(w, r->session_total_requests);
	jsonw_key(w, "scheduler_ready_at");
	jsonw_double(w, r->ready_s);
	jsonw_key(w, "scheduler_dispatched_at");
	jsonw_double(w, r->dispatched_s);
	jsonw_key(w, "client_picked_up_at");
	jsonw_double(w, r->picked_s);
	jsonw_key(w, "client_completed_at");
	jsonw_double(w, r->completed_s);
	jsonw_key(w, "result_processed_at");
	jsonw_double(w, r->processed_s);
	jsonw_key(w, "num_delta_prompt_tokens");
	jsonw_int(w, r->num_delta_prompt_tokens);
	jsonw_key(w, "num_total_prompt_tokens");
	jsonw_int(w, r->num_total_prompt_tokens);
	jsonw_key(w, "target_num_delta_prompt_tokens");
	jsonw_int(w, r->target_prompt_tokens);
	jsonw_key(w, "num_output_tokens");
	jsonw_int(w, r->num_output_tokens);
	jsonw_key(w, "num_requested_output_tokens");
	jsonw_int(w, r->requested_output_tokens);
	jsonw_key(w, "num_total_tokens");
	jsonw_int(w, r->num_total_tokens);
	jsonw_key(w, "is_stream");
	jsonw_bool(w, r->is_stream);
}

/* rows are flushed in batches: here once the oldest unflushed row is EVAL_JSONL_FLUSH_NS old, and
 * from eval_tick (the runner calls it at least that often), at finalize and on signals */
static void row_emit(struct evaluator *e, const struct buf *b)
{
	eval_lf_append(&e->jsonl, b->data, b->len);
	int64_t now = clock_mono_ns();
	if (!e->jsonl_pending++)
		e->jsonl_pending_since_ns = now;
	else if (now - e->jsonl_pending_since_ns >= EVAL_JSONL_FLUSH_NS)
		eval_flush_jsonl(e);
}

static void row_write_jsonl(struct evaluator *e, const struct eval_row *r)
{
	struct buf *b = &e->line;
	buf_reset(b);
	struct jsonw w;
	jsonw_init(&w, b, 0);
	row_write_leading_keys(&w, r);
	jsonw_key(&w, "tpot");
	jsonw_double_round(&w, r->tpot, 5);
	jsonw_key(&w, "ttfc");
	jsonw_double_round(&w, r->ttfc, 5);
	jsonw_key(&w, "end_to_end_latency");
	jsonw_double_round(&w, r->e2e, 5);
	jsonw_key(&w, "normalized_end_to_end_latency");
	jsonw_double_round(&w, r->norm_e2e, 5);
	jsonw_key(&w, "output_throughput");
	jsonw_double_round(&w, r->output_throughput, 5);
	jsonw_key(&w, "tbc");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < r->n_tbc; i++)
		jsonw_double_round(&w, e->tbc_cur.v[i], 5);
	jsonw_arr_end(&w);
	/* ours, after the reference's keys (docs/METRICS.md) */
	json_round_or_null(&w, "dispatch_lateness", r->intended_ns != 0, ns_to_s(r->dispatched_ns - r->intended_ns));
	json_round_or_null(&w, "e2e_from_intended", r->intended_ns != 0 && r->sent_ns != 0,
	                   ns_to_s(r->sent_ns - r->intended_ns) + r->e2e);
	json_round_or_null(&w, "time_to_headers", r->headers_ns != 0 && r->sent_ns != 0,
	                   ns_to_s(r->headers_ns - r->sent_ns));
	jsonw_key(&w, "itl");
	jsonw_double_round(&w, r->itl, 5);
	if (r->has_reasoning) {
		/* only rows with reasoning: other rows stay as they were (TTFO = TTFC there) */
		json_round_or_null(&w, "ttfo", r->has_ttfo, r->ttfo);
		json_round_or_null(&w, "reasoning_duration", r->has_reasoning_duration, r->reasoning_duration);
		jsonw_key(&w, "num_reasoning_tokens");
		jsonw_int(&w, r->num_reasoning_tokens);
		jsonw_key(&w, "num_answer_tokens");
		jsonw_int(&w, r->num_answer_tokens);
	}
	jsonw_obj_end(&w);
	buf_putc(b, '\n');
	row_emit(e, b);
}

/* The class of a failed record; one without a kind (or with an unknown one) is the client's own
 * failure, never "ok". */
static enum rec_error failed_kind(const struct rec_record *rec)
{
	if (rec->error_kind <= REC_OK || rec->error_kind >= REC_ERR_N_KINDS)
		return REC_ERR_CLIENT;
	return rec->error_kind;
}

/* A failed row: the leading keys, then success false and the error (no latency keys). */
static void row_write_failed_jsonl(struct evaluator *e, const struct eval_row *r, const struct rec_record *rec)
{
	struct buf *b = &e->line;
	buf_reset(b);
	struct jsonw w;
	jsonw_init(&w, b, 0);
	row_write_leading_keys(&w, r);
	jsonw_key(&w, "success");
	jsonw_bool(&w, false);
	jsonw_key(&w, "error_class");
	jsonw_str(&w, rec_error_class_name(failed_kind(rec)));
	jsonw_key(&w, "error_code");
	jsonw_int(&w, rec->error_code);
	jsonw_key(&w, "error_msg");
	jsonw_str(&w, rec->error_msg);
	jsonw_obj_end(&w);
	buf_putc(b, '\n');
	row_emit(e, b);
}

static void add_sample(struct evaluator *e, enum eval_series s, double v)
{
	sketch_add(&e->sk[s], v);
	spill_push(&e->raw_sp[s], &v, 1);
}

static void count_error_code(struct evaluator *e, int code)
{
	for (size_t i = 0; i < e->n_errcodes; i++)
		if (e->errcodes[i].code == code) {
			e->errcodes[i].count++;
			return;
		}
	e->errcodes = xrealloc(e->errcodes, (e->n_errcodes + 1) * sizeof *e->errcodes);
	e->errcodes[e->n_errcodes].code = code;
	e->errcodes[e->n_errcodes].count = 1;
	e->n_errcodes++;
}

/* An errored request's class and message (summary_stats.json error_class_freq and top_errors). */
static void count_error(struct evaluator *e, const struct rec_record *rec)
{
	enum rec_error kind = failed_kind(rec);
	e->n_class[kind]++;
	/* the message is the server's text: its control bytes (a CR, a line feed, an escape sequence)
	 * become spaces, so that it cannot erase or forge lines of the console summary, e.g. a last
	 * "All SLOs met: yes" (docs/FAILURES.md, Failed rows and the error summary) */
	char msg[sizeof e->errmsgs[0].msg];
	snprintf(msg, sizeof msg, "%s", rec->error_msg);
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	for (size_t i = 0; i < e->n_errmsgs; i++) {
		struct eval_errmsg *m = &e->errmsgs[i];
		if (m->kind == kind && m->code == rec->error_code && strcmp(m->msg, msg) == 0) {
			m->count++;
			return;
		}
	}
	struct eval_errmsg *m;
	uint64_t inherited = 0;
	if (e->n_errmsgs < EVAL_MAX_ERRMSGS) {
		m = &e->errmsgs[e->n_errmsgs++];
	} else {
		/* full: take over the least frequent slot (see struct eval_errmsg) */
		m = &e->errmsgs[0];
		for (size_t i = 1; i < e->n_errmsgs; i++)
			if (e->errmsgs[i].count < m->count)
				m = &e->errmsgs[i];
		inherited = m->count;
	}
	m->kind = kind;
	m->code = rec->error_code;
	m->count = inherited + 1;
	m->overcount = inherited;
	memcpy(m->msg, msg, sizeof m->msg);
}

struct eval_errmsg *eval_sorted_errors(const struct evaluator *e)
{
	struct eval_errmsg *v = xmalloc((e->n_errmsgs ? e->n_errmsgs : 1) * sizeof *v);
	memcpy(v, e->errmsgs, e->n_errmsgs * sizeof *v);
	for (size_t i = 0; i < e->n_errmsgs; i++) {
		v[i].count -= v[i].overcount;
		v[i].overcount = 0;
	}
	/* insertion sort (at most EVAL_MAX_ERRMSGS entries): stable, so equal counts keep the table's
	 * order */
	for (size_t i = 1; i < e->n_errmsgs; i++) {
		struct eval_errmsg t = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1].count < t.count; j--)
			v[j] = v[j - 1];
		v[j] = t;
	}
	return v;
}

/* The fields a row takes from the registration and the session, and its times relative to the start. */
static void row_fill(struct evaluator *e, struct eval_row *r, const struct eval_inflight *reg,
                     const struct eval_session *s, int64_t processed_ns)
{
	if (reg)
		r->node_id = reg->node_id; /* the registration is authoritative */
	if (!r->dispatched_ns && reg)
		r->dispatched_ns = reg->dispatched_ns;
	if (!r->intended_ns && reg)
		r->intended_ns = reg->intended_ns;
	if (!r->intended_ns)
		r->intended_ns = r->dispatched_ns;
	r->processed_ns = processed_ns;
	if (!r->session_total_requests)
		r->session_total_requests = s->total_requests;
	r->ready_s = eval_rel_s(e, r->intended_ns);
	r->dispatched_s = eval_rel_s(e, r->dispatched_ns);
	r->picked_s = eval_rel_s(e, r->sent_ns);
	r->completed_s = eval_rel_s(e, r->completed_ns);
	r->processed_s = eval_rel_s(e, r->processed_ns);
}

void eval_record_completed(struct evaluator *e, const struct rec_record *rec, bool included)
{
	/* a record without its processing time is processed now (read once: the event log records the
	 * time the rows use) */
	int64_t processed_ns = rec->processed_ns ? rec->processed_ns : clock_mono_ns();
	if (e->log)
		eval_log_completed(e, rec, processed_ns, included);
	struct eval_session *s = session_get(e, rec->session_id, true);
	if (s->total_requests == 0)
		s->total_requests = rec->session_total_requests;
	size_t ri;
	struct eval_inflight reg_copy;
	const struct eval_inflight *reg = NULL;
	if (u64map_del(&e->inflight_by_id, rec->request_id, &ri)) {
		reg_copy = e->inflight[ri];
		reg = &reg_copy;
		e->inflight_free[e->n_inflight_free++] = ri;
	}
	e->dirty = true;
	s->observed++;
	eval_ts_note_end(e, rec, reg, included);

	if (!included) {
		e->n_post_timeout++;
		if (reg && e->n_requests > 0)
			e->n_requests--; /* registered at dispatch, but not part of the measured run */
		session_maybe_finalize(e, s);
		return;
	}
	if (!reg)
		e->n_requests++; /* never registered: still a request */
	int64_t end_ns = rec->completed_ns ? rec->completed_ns : processed_ns;
	if (end_ns > e->meas_last_end_ns)
		e->meas_last_end_ns = end_ns;
	if (!rec->success) {
		if (rec->error_kind == REC_ERR_CANCELLED) {
			e->n_cancelled++;
			if (rec->sent_ns > 0 && rec->completed_ns > rec->sent_ns) {
				/* it was on its way: what it had certainly missed counts (eval_compute_slos) */
				if (e->n_cut == e->cap_cut)
					xgrow((void **)&e->cut, &e->cap_cut, e->n_cut + 1, sizeof *e->cut);
				struct eval_cut *c = &e->cut[e->n_cut++];
				c->age_s = ns_to_s(rec->completed_ns - rec->sent_ns);
				c->first_s = rec->n_chunks ? ns_to_s(rec->chunks[0].t_ns - rec->sent_ns) : NAN;
				c->last_s =
				    rec->n_chunks ? ns_to_s(rec->chunks[rec->n_chunks - 1].t_ns - rec->sent_ns) : NAN;
				c->first_answer_s =
				    rec_has_reasoning(rec)
				        ? (rec->first_answer_ns ? ns_to_s(rec->first_answer_ns - rec->sent_ns) : NAN)
				        : c->first_s;
			}
			s->cancelled = true;
			session_maybe_finalize(e, s);
			return;
		}
		e->n_errored++;
		s->errors++;
		count_error_code(e, rec->error_code);
		count_error(e, rec);
		/* the failed row of request_level_metrics.jsonl (its latencies are not computed: a request
		 * that failed has none; the SLOs count it as infinitely slow, eval_compute_slos) */
		struct eval_row frow;
		e->tbc_cur.n = 0;
		eval_compute_row(rec, &frow, &e->tbc_cur);
		frow.is_stream = rec->is_stream;
		row_fill(e, &frow, reg, s, processed_ns);
		row_write_failed_jsonl(e, &frow, rec);
		session_maybe_finalize(e, s);
		return;
	}

	struct eval_row row;
	struct eval_row *r = &row;
	e->tbc_cur.n = 0;
	eval_compute_row(rec, r, &e->tbc_cur);
	r->tbc_off = e->tbc_total;
	spill_push(&e->tbc_sp, e->tbc_cur.v, e->tbc_cur.n);
	e->tbc_total += e->tbc_cur.n;
	row_fill(e, r, reg, s, processed_ns);
	r->meets_slos = eval_row_meets_slos(e, r, e->tbc_cur.v);
	spill_push(&e->rows_sp, r, 1);
	e->n_rows++;
	e->n_completed++;
	e->output_tokens_total += (uint64_t)(r->num_output_tokens > 0 ? r->num_output_tokens : 0);
	if (r->meets_slos)
		e->n_good++;

	add_sample(e, ES_NUM_PROMPT_TOKENS, (double)r->num_delta_prompt_tokens);
	add_sample(e, ES_NUM_OUTPUT_TOKENS, (double)r->num_output_tokens);
	add_sample(e, ES_NUM_TOTAL_TOKENS, (double)r->num_total_tokens);
	if (r->is_stream) {
		add_sample(e, ES_TPOT, r->tpot);
		/* the raw TBC samples are the gaps already spilled to tbc_sp (only streaming rows have
		 * gaps): the sketch alone here, eval_views_open shares the gaps' map */
		for (size_t i = 0; i < r->n_tbc; i++)
			sketch_add(&e->sk[ES_TBC], e->tbc_cur.v[i]);
	}
	add_sample(e, ES_TTFC, r->ttfc);
	add_sample(e, ES_E2E, r->e2e);
	add_sample(e, ES_NORM_E2E, r->norm_e2e);
	add_sample(e, ES_OUTPUT_THROUGHPUT, r->output_throughput);
	/* the reasoning series take every successful row (written only when some row had reasoning) */
	if (r->has_reasoning)
		e->n_reasoning++;
	if (r->has_ttfo)
		add_sample(e, ES_TTFO, r->ttfo);
	if (r->has_reasoning_duration)
		add_sample(e, ES_REASONING_DURATION, r->reasoning_duration);
	add_sample(e, ES_NUM_REASONING_TOKENS, (double)r->num_reasoning_tokens);
	add_sample(e, ES_NUM_ANSWER_TOKENS, (double)r->num_answer_tokens);

	if (s->has_completion && r->dispatched_ns >= s->last_completion_ns)
		add_sample(e, ES_SESSION_THINK_TIME, ns_to_s(r->dispatched_ns - s->last_completion_ns));
	if (!s->has_completion || r->completed_ns > s->last_completion_ns)
		s->last_completion_ns = r->completed_ns;
	s->has_completion = true;
	s->successes++;

	row_write_jsonl(e, r);
	session_maybe_finalize(e, s);
}

void eval_session_cancelled(struct evaluator *e, uint64_t session_id, uint32_t n_requests_dropped)
{
	eval_session_cancelled_at(e, session_id, n_requests_dropped, clock_mono_ns());
}

void eval_session_cancelled_at(struct evaluator *e, uint64_t session_id, uint32_t n_requests_dropped, int64_t now_ns)
{
	if (e->log)
		eval_log_cancelled(e, session_id, n_requests_dropped, now_ns);
	struct eval_session *s = session_get(e, session_id, true);
	s->cancelled = true;
	s->dropped += n_requests_dropped;
	e->n_dropped += n_requests_dropped;
	e->n_cancelled += n_requests_dropped;
	e->dirty = true;
	session_maybe_finalize(e, s);
}

/* ---- run status, output files ---- */

const char *eval_run_status_name(enum eval_run_status status)
{
	switch (status) {
	case EVAL_RUN_COMPLETE:
		return "complete";
	case EVAL_RUN_TRUNCATED:
		return "truncated";
	case EVAL_RUN_INTERRUPTED:
		return "interrupted";
	}
	return "complete";
}

bool eval_window_configured(const struct cfg_benchmark *cfg, struct eval_window_info *w)
{
	memset(w, 0, sizeof *w);
	for (size_t i = 0; i < cfg->n_evaluators; i++) {
		const struct cfg_evaluator *ev = &cfg->evaluators[i];
		if (ev->type != CFG_EVAL_PERFORMANCE)
			continue;
		w->warmup_s = ev->warmup_seconds;
		w->cooldown_s = ev->cooldown_seconds;
		w->warmup_requests = ev->warmup_requests;
		w->cooldown_requests = ev->cooldown_requests;
		return w->warmup_s > 0 || w->cooldown_s > 0 || w->warmup_requests > 0 || w->cooldown_requests > 0;
	}
	return false;
}

bool eval_window_excludes(const struct eval_window_info *w, size_t rank, size_t n, double t_s, double end_s)
{
	return (int64_t)rank < w->warmup_requests || (int64_t)(n - rank) <= w->cooldown_requests ||
	       (w->warmup_s > 0 && t_s < w->warmup_s) || (w->cooldown_s > 0 && t_s >= end_s - w->cooldown_s);
}

void eval_set_window(struct evaluator *e, const struct eval_window_info *w)
{
	e->window_set = true;
	e->window = *w;
}

void eval_set_run_status(struct evaluator *e, enum eval_run_status status, const char *reason)
{
	e->run_status = status;
	snprintf(e->run_status_reason, sizeof e->run_status_reason, "%s", reason ? reason : "");
	e->dirty = true;
	if (e->log)
		eval_log_status(e);
}

int eval_write_output(struct evaluator *e, const char *name, const struct buf *b)
{
	char *p = fs_path_join(e->metrics_dir, name);
	int r = fs_write_file(p, b->data ? b->data : "", b->len); /* atomic: a reader never sees half a file */
	if (r != 0) {
		/* the periodic rewrites (stream_metrics) report their first failure only; the final write of
		 * each file reports its own */
		if (e->finalized)
			log_error("cannot write %s: %s", p, strerror(-r));
		else if (!e->warned_stream_write)
			log_warn(
			    "cannot write %s: %s (periodic updates of metrics/ are retried quietly until the end of "
			    "the run)",
			    p, strerror(-r));
		if (!e->finalized)
			e->warned_stream_write = true;
	}
	free(p);
	return r == 0 ? 0 : -1;
}

/* ---- summary_stats.json ---- */

static enum eval_session_state session_final_state(const struct eval_session *s)
{
	if (s->cancelled)
		return SESS_CANCELLED;
	if (s->errors)
		return SESS_ERRORED;
	if (s->total_requests && s->observed >= s->total_requests)
		return SESS_SUCCESS;
	return SESS_INCOMPLETE;
}

/* Sessions per state: the finished ones' counters plus the open pool (classified as they would end
 * when at_end). */
static void count_sessions(const struct evaluator *e, uint64_t c[5], bool at_end)
{
	memcpy(c, e->n_finished_state, 5 * sizeof *c);
	for (size_t i = 0; i < e->cap_open; i++) {
		const struct eval_session *s = &e->open[i];
		if (!s->live)
			continue;
		c[at_end ? session_final_state(s) : SESS_OPEN]++;
	}
}

static double session_dispatch_rate(const struct evaluator *e)
{
	if (e->n_sessions <= 1)
		return 0.0;
	int64_t lo = e->fin_first_lo_ns ? e->fin_first_lo_ns : INT64_MAX;
	int64_t hi = e->fin_first_hi_ns ? e->fin_first_hi_ns : INT64_MIN;
	for (size_t i = 0; i < e->cap_open; i++) {
		const struct eval_session *s = &e->open[i];
		int64_t t = s->first_dispatch_ns;
		if (!s->live || !t)
			continue;
		if (t < lo)
			lo = t;
		if (t > hi)
			hi = t;
	}
	if (hi <= lo)
		return 0.0;
	return (double)(e->n_sessions - 1) / ns_to_s(hi - lo);
}

static double q_or_zero(const struct sketch *s, double q)
{
	double v = sketch_quantile(s, q);
	return isnan(v) ? 0.0 : v;
}

static double elapsed_s(const struct evaluator *e)
{
	int64_t end = e->end_ns ? e->end_ns : clock_mono_ns();
	return ns_to_s(end - e->bench_start_ns);
}

/* The time the rates (throughput, goodput) are per: the run, or with a measurement window the span
 * of the measured requests, from the first one's dispatch to the last one's end; the run's edges
 * that the window leaves out are not part of it (docs/METRICS.md, Measurement window). */
static double eval_rate_span_s(const struct evaluator *e)
{
	if (!e->window_set)
		return elapsed_s(e);
	if (!e->meas_first_dispatch_ns || e->meas_last_end_ns <= e->meas_first_dispatch_ns)
		return 0.0;
	return ns_to_s(e->meas_last_end_ns - e->meas_first_dispatch_ns);
}

/* "<display> (Mean)", "(P50)", "(P90)", "(P99)" of a series */
static void summary_series(struct jsonw *w, const struct evaluator *e, int i)
{
	const struct sketch *s = &e->sk[i];
	char k[128];
	/* a series without samples (every request failed, no streaming request) is null, never a
	 * perfect 0 (docs/OUTPUTS.md) */
	bool empty = sketch_count(s) == 0;
	snprintf(k, sizeof k, "%s (Mean)", eval_series_infos[i].display);
	jsonw_key(w, k);
	if (empty)
		jsonw_null(w);
	else
		jsonw_double(w, sketch_mean(s));
	static const double qs[3] = {0.5, 0.9, 0.99};
	static const char *qn[3] = {"P50", "P90", "P99"};
	for (int j = 0; j < 3; j++) {
		snprintf(k, sizeof k, "%s (%s)", eval_series_infos[i].display, qn[j]);
		jsonw_key(w, k);
		if (empty)
			jsonw_null(w);
		else
			jsonw_double(w, q_or_zero(s, qs[j]));
	}
}

int eval_write_summary(struct evaluator *e)
{
	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 2);
	uint64_t sc[5];
	count_sessions(e, sc, e->finalized);
	uint64_t denom_cancel = e->n_requests + e->n_dropped;
	jsonw_obj_begin(&w);
	jsonw_key(&w, "Number of Requests");
	jsonw_int(&w, (int64_t)e->n_requests);
	jsonw_key(&w, "Number of Errored Requests");
	jsonw_int(&w, (int64_t)e->n_errored);
	jsonw_key(&w, "Number of Completed Requests");
	jsonw_int(&w, (int64_t)e->n_completed);
	jsonw_key(&w, "Number of Cancelled Requests");
	jsonw_int(&w, (int64_t)e->n_cancelled);
	jsonw_key(&w, "Error Rate");
	jsonw_double(&w, e->n_requests ? (double)e->n_errored / (double)e->n_requests : 0.0);
	jsonw_key(&w, "Cancellation Rate");
	jsonw_double(&w, denom_cancel ? (double)e->n_cancelled / (double)denom_cancel : 0.0);
	jsonw_key(&w, "Number of Sessions Seen");
	jsonw_double(&w, (double)e->n_sessions);
	jsonw_key(&w, "Successful Sessions");
	jsonw_double(&w, (double)sc[SESS_SUCCESS]);
	jsonw_key(&w, "Errored Sessions");
	jsonw_double(&w, (double)sc[SESS_ERRORED]);
	jsonw_key(&w, "Cancelled Sessions");
	jsonw_double(&w, (double)sc[SESS_CANCELLED]);
	jsonw_key(&w, "Incomplete Sessions");
	jsonw_double(&w, (double)(sc[SESS_INCOMPLETE] + (e->finalized ? 0 : sc[SESS_OPEN])));
	jsonw_key(&w, "Observed Session Dispatch Rate");
	jsonw_double(&w, session_dispatch_rate(e));
	jsonw_key(&w, "error_code_freq");
	jsonw_obj_begin(&w);
	for (size_t i = 0; i < e->n_errcodes; i++) {
		char k[16];
		snprintf(k, sizeof k, "%d", e->errcodes[i].code);
		jsonw_key(&w, k);
		jsonw_int(&w, (int64_t)e->errcodes[i].count);
	}
	jsonw_obj_end(&w);
	/* ours */
	jsonw_key(&w, "Number of Post-Timeout Requests");
	jsonw_int(&w, (int64_t)e->n_post_timeout);
	for (int i = 0; i < EVAL_N_BASE_SERIES; i++)
		summary_series(&w, e, i);
	double el = eval_rate_span_s(e);
	jsonw_key(&w, "Goodput (requests/s)");
	jsonw_double(&w, el > 0 ? (double)e->n_good / el : 0.0);
	jsonw_key(&w, "Goodput Fraction");
	jsonw_double(&w, e->n_completed ? (double)e->n_good / (double)e->n_completed : 0.0);
	jsonw_key(&w, "Output Token Throughput (tokens/s)");
	jsonw_double(&w, el > 0 ? (double)e->output_tokens_total / el : 0.0);
	jsonw_key(&w, "tokenizer");
	jsonw_str(&w, e->tokenizer_name);
	/* failure accounting (docs/FAILURES.md), after the reference's keys */
	jsonw_key(&w, "error_class_freq");
	jsonw_obj_begin(&w);
	for (int k = 0; k < REC_ERR_N_KINDS; k++)
		if (e->n_class[k]) {
			jsonw_key(&w, rec_error_class_name((enum rec_error)k));
			jsonw_int(&w, (int64_t)e->n_class[k]);
		}
	jsonw_obj_end(&w);
	jsonw_key(&w, "top_errors");
	jsonw_arr_begin(&w);
	struct eval_errmsg *top = eval_sorted_errors(e);
	for (size_t i = 0; i < e->n_errmsgs && i < EVAL_TOP_ERRORS; i++) {
		jsonw_obj_begin(&w);
		jsonw_key(&w, "class");
		jsonw_str(&w, rec_error_class_name(top[i].kind));
		jsonw_key(&w, "code");
		jsonw_int(&w, top[i].code);
		jsonw_key(&w, "message");
		jsonw_str(&w, top[i].msg);
		jsonw_key(&w, "count");
		jsonw_int(&w, (int64_t)top[i].count);
		jsonw_obj_end(&w);
	}
	free(top);
	jsonw_arr_end(&w);
	jsonw_key(&w, "run_status");
	/* a periodic rewrite (stream_metrics) is of a run still going: "running", so that the file a
	 * killed run leaves behind does not claim a complete run */
	jsonw_str(&w, e->finalized ? eval_run_status_name(e->run_status) : "running");
	jsonw_key(&w, "run_status_reason");
	jsonw_str(&w, e->run_status_reason);
	eval_write_saturation_keys(e, &w);
	if (e->window_set) {
		jsonw_key(&w, "measurement_window");
		jsonw_obj_begin(&w);
		jsonw_key(&w, "warmup_seconds");
		jsonw_double(&w, e->window.warmup_s);
		jsonw_key(&w, "warmup_requests");
		jsonw_int(&w, e->window.warmup_requests);
		jsonw_key(&w, "cooldown_seconds");
		jsonw_double(&w, e->window.cooldown_s);
		jsonw_key(&w, "cooldown_requests");
		jsonw_int(&w, e->window.cooldown_requests);
		jsonw_key(&w, "excluded_requests");
		jsonw_int(&w, (int64_t)e->window.excluded_requests);
		jsonw_key(&w, "duration_s");
		jsonw_double(&w, eval_rate_span_s(e));
		jsonw_obj_end(&w);
	}
	/* reasoning models: after every other key, only for runs with reasoning (docs/OUTPUTS.md) */
	if (e->n_reasoning) {
		jsonw_key(&w, "Number of Requests with Reasoning");
		jsonw_int(&w, (int64_t)e->n_reasoning);
		for (int i = EVAL_N_BASE_SERIES; i < EVAL_N_SERIES; i++)
			summary_series(&w, e, i);
	}
	jsonw_obj_end(&w);
	int rc = eval_write_output(e, "summary_stats.json", &b);
	buf_free(&b);
	return rc;
}

/* ---- <metric>.csv ---- */

static void csv_value(struct buf *b, double v, bool is_int)
{
	if (isnan(v))
		return; /* pandas writes NaN as an empty field */
	if (is_int && v == floor(v) && fabs(v) < 9e15) {
		buf_printf(b, "%lld", (long long)v);
		return;
	}
	char t[48];
	jsonw_format_double(v, t);
	buf_puts(b, t);
}

/* final: exact order statistics (index floor(q*(n-1)), DDSketch's rank rule applied to the exact
 * samples) with the pandas index column; streaming: the live sketch, without the index column. */
static int write_csv(struct evaluator *e, int series, bool final)
{
	const struct eval_series_info *info = &eval_series_infos[series];
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "%scdf,%s\n", final ? "," : "", info->display);
	const double *sorted = NULL;
	size_t n = 0;
	if (final) {
		n = e->raw[series].n;
		sorted = eval_sorted_series(e, series);
	}
	char qs[48];
	for (int i = 0; i <= 100; i++) {
		double q = i == 100 ? 1.0 : (double)i * 0.01;
		jsonw_format_double(q, qs);
		if (final)
			buf_printf(&b, "%d,", i);
		buf_printf(&b, "%s,", qs);
		if (final)
			csv_value(&b, n ? pct_lower_sorted(sorted, n, q) : NAN, info->is_int);
		else
			csv_value(&b, sketch_quantile(&e->sk[series], q), false);
		buf_putc(&b, '\n');
	}
	char *name = xasprintf("%s.csv", info->key);
	int rc = eval_write_output(e, name, &b);
	free(name);
	buf_free(&b);
	return rc;
}

const double *eval_sorted_series(struct evaluator *e, int s)
{
	size_t n = e->raw[s].n;
	if (!n)
		return NULL;
	if (!e->sorted[s]) {
		e->sorted[s] = xmalloc(n * sizeof *e->sorted[s]);
		pct_sort_copy(e->sorted[s], e->raw[s].v, n);
	}
	return e->sorted[s];
}

void eval_sorted_release(struct evaluator *e, int s)
{
	for (int i = s < 0 ? 0 : s; i < (s < 0 ? EVAL_N_SERIES : s + 1); i++) {
		free(e->sorted[i]);
		e->sorted[i] = NULL;
	}
}

int eval_write_csvs(struct evaluator *e, bool final)
{
	int rc = 0;
	int n = e->n_reasoning ? EVAL_N_SERIES : EVAL_N_BASE_SERIES; /* ttfo.csv, ...: runs with reasoning */
	for (int i = 0; i < n; i++) {
		if (write_csv(e, i, final) != 0)
			rc = -1;
		if (final) {
			eval_plot_series(e, i); /* ttfo.png, ...: runs with reasoning */
			if (i != ES_TBC)
				eval_sorted_release(e, i);
		}
	}
	return rc;
}

/* ---- periodic / live ---- */

void eval_tick(struct evaluator *e, int64_t now_ns)
{
	if (e->finalized)
		return;
	if (e->trace_pending) {
		eval_lf_flush(&e->trace);
		e->trace_pending = 0;
	}
	eval_flush_jsonl(e);
	if (e->log)
		eval_log_flush(e);
	if (!e->ecfg || !e->ecfg->stream_metrics || !e->dirty)
		return;
	double iv = e->ecfg->stream_metrics_interval > 0 ? e->ecfg->stream_metrics_interval : 5.0;
	if (now_ns - e->last_stream_ns < clock_s_to_ns(iv))
		return;
	e->last_stream_ns = now_ns;
	e->dirty = false;
	eval_write_summary(e);
	eval_write_csvs(e, false);
}

void eval_live_stats(const struct evaluator *e, struct eval_live *out)
{
	memset(out, 0, sizeof *out);
	out->requests = e->n_requests;
	out->completed = e->n_completed;
	out->errors = e->n_errored;
	out->sessions = e->n_sessions;
	out->ttfc_p50_s = q_or_zero(&e->sk[ES_TTFC], 0.5);
	out->ttfc_p99_s = q_or_zero(&e->sk[ES_TTFC], 0.99);
	out->tbc_p90_s = q_or_zero(&e->sk[ES_TBC], 0.9);
	double el = elapsed_s(e);
	out->output_tokens_per_s = el > 0 ? (double)e->output_tokens_total / el : 0.0;
	out->output_tokens = e->output_tokens_total;
}

/* ---- finalize ---- */

static void eval_views_drop_pages(struct evaluator *e)
{
	if (e->views_kept)
		return;
	spill_drop_pages(&e->rows_sp);
	spill_drop_pages(&e->regs_sp);
	spill_drop_pages(&e->parents_sp);
	spill_drop_pages(&e->sessions_sp);
	spill_drop_pages(&e->tbc_sp);
	for (int i = 0; i < EVAL_N_SERIES; i++)
		spill_drop_pages(&e->raw_sp[i]);
}

void eval_views_drop(struct evaluator *e)
{
	eval_views_drop_pages(e);
}

void eval_rows_drop_before(const struct evaluator *e, size_t i)
{
	if (!e->rows_sp.map || !i || e->views_kept)
		return; /* heap mode, or small views kept: nothing to drop */
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)e->rows_sp.map;
	uintptr_t z = (uintptr_t)(e->rows + (i < e->n_rows ? i : e->n_rows)) & ~(page - 1);
	if (z > a)
		madvise((void *)a, z - a, MADV_DONTNEED);
}

void eval_views_open(struct evaluator *e)
{
	if (e->views_open)
		return;
	e->views_open = true;
	e->rows = spill_map(&e->rows_sp);
	e->n_rows = spill_count(&e->rows_sp);
	e->regs = spill_map(&e->regs_sp);
	e->n_regs = spill_count(&e->regs_sp);
	e->parents_all = spill_map(&e->parents_sp);
	e->n_parents_all = spill_count(&e->parents_sp);
	e->sessions = spill_map(&e->sessions_sp);
	e->n_sessions = spill_count(&e->sessions_sp);
	e->tbc_all = (struct dview){spill_map(&e->tbc_sp), spill_count(&e->tbc_sp)};
	for (int i = 0; i < EVAL_N_SERIES; i++)
		e->raw[i] =
		    i == ES_TBC ? e->tbc_all : (struct dview){spill_map(&e->raw_sp[i]), spill_count(&e->raw_sp[i])};
	size_t mapped = e->rows_sp.map_len + e->regs_sp.map_len + e->parents_sp.map_len + e->sessions_sp.map_len +
	                e->tbc_sp.map_len;
	for (int i = 0; i < EVAL_N_SERIES; i++)
		mapped += e->raw_sp[i].map_len;
	e->views_kept = mapped < EVAL_VIEWS_KEEP_BYTES;
	for (size_t i = 0; i < e->n_regs; i++)
		u64map_put(&e->reg_by_id, e->regs[i].request_id, &i);
	for (size_t i = 0; i < e->n_sessions; i++)
		u64map_put(&e->sess_by_id, e->sessions[i].id, &i);
}

/* VK_OUTPUT_TIMING=1: each step of eval_finalize prints its CPU and wall time to stderr, to profile
 * the output phase without a profiler (bench/bench.py outputs). */
struct eval_step_clock {
	bool on;
	double cpu_s, user_s, wall_s;
};

/* the process's CPU time, and the user-space part of it in *user_s */
static double eval_self_cpu_s(double *user_s)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	*user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	return *user_s + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void eval_step(struct eval_step_clock *c, const char *done)
{
	if (!c->on)
		return;
	double user = 0, cpu = eval_self_cpu_s(&user), wall = (double)clock_mono_ns() / 1e9;
	if (done) {
		/* the resident set after the step and the process's peak so far: a step that raised the
		 * peak shows in the second */
		long rss_kb = -1, hwm_kb = -1;
		FILE *f = fopen("/proc/self/status", "r");
		char line[256];
		while (f && fgets(line, sizeof line, f)) {
			if (!strncmp(line, "VmRSS:", 6))
				rss_kb = strtol(line + 6, NULL, 10);
			else if (!strncmp(line, "VmHWM:", 6))
				hwm_kb = strtol(line + 6, NULL, 10);
		}
		if (f)
			fclose(f);
		fprintf(stderr,
		        "veeksha outputs: %-22s cpu %.3f s, wall %.3f s, rss %ld MB, peak %ld MB, user %.3f s\n", done,
		        cpu - c->cpu_s, wall - c->wall_s, rss_kb / 1024, hwm_kb / 1024, user - c->user_s);
	}
	c->cpu_s = cpu;
	c->user_s = user;
	c->wall_s = wall;
}

int eval_finalize(struct evaluator *e, int64_t end_ns)
{
	if (e->finalized)
		return e->slo_all_met;
	e->end_ns = end_ns ? end_ns : clock_mono_ns();
	const char *timing = getenv("VK_OUTPUT_TIMING");
	struct eval_step_clock clk = {timing && *timing && strcmp(timing, "0") != 0, 0, 0, 0};
	eval_step(&clk, NULL);
	/* close open sessions (their samples count too) */
	for (size_t i = 0; i < e->cap_open; i++) {
		struct eval_session *s = &e->open[i];
		if (!s->live)
			continue;
		s->state = session_final_state(s);
		session_add_samples(e, s);
		session_retire(e, s);
	}
	e->finalized = true;
	eval_views_open(e);
	eval_step(&clk, "close sessions, views");
	int rc = 0;
	if (e->log && eval_log_end(e) != 0)
		rc = -1; /* (the line file said why) */
	/* a failed line file already said why (once) */
	if (eval_lf_flush(&e->trace) != 0)
		rc = -1;
	e->trace_pending = 0;
	e->jsonl_pending = 0;
	if (eval_lf_flush(&e->jsonl) != 0)
		rc = -1;
	eval_step(&clk, "event log, jsonl flush");
	/* Each writer reads the mapped spills; dropping their pages after each one keeps the
	 * resident set to what one writer needs (the data stays in the page cache). */
	int met = eval_compute_slos(e);
	e->slo_all_met = met;
	eval_check_saturation(e);
	eval_views_drop_pages(e);
	eval_step(&clk, "slos, saturation");
	if (eval_write_summary(e) != 0)
		rc = -1;
	eval_step(&clk, "summary_stats.json");
	if (eval_write_prefill(e) != 0)
		rc = -1;
	eval_views_drop_pages(e);
	eval_step(&clk, "prefill_stats.json");
	/* a series' CDF plot is drawn with its CSV (gnuplot renders the batch later): its sorted copy is
	 * then freed at once, TBC's after throughput_metrics.json, so that one at a time is held */
	eval_plots_begin();
	if (eval_write_csvs(e, true) != 0)
		rc = -1;
	eval_views_drop_pages(e);
	eval_step(&clk, "csvs, CDF plots");
	if (eval_write_throughput(e) != 0)
		rc = -1;
	eval_sorted_release(e, -1);
	eval_step(&clk, "throughput_metrics.json");
	if (eval_write_decode_window(e) != 0)
		rc = -1;
	eval_views_drop_pages(e);
	eval_step(&clk, "decode window");
	eval_write_plots(e);
	eval_views_drop_pages(e);
	eval_step(&clk, "other plots");
	if (eval_write_timeseries(e) != 0)
		rc = -1;
	eval_views_drop_pages(e);
	eval_step(&clk, "timeseries");
	if (eval_write_chrome_trace(e) != 0)
		rc = -1;
	eval_views_drop_pages(e);
	eval_step(&clk, "chrome_trace.json");
	if (clk.on && e->trace_direct_bytes)
		fprintf(
		    stderr,
		    "veeksha outputs: chrome_trace.json: %lld MB with O_DIRECT (the page cache cost %.2f ms per MB)\n",
		    (long long)(e->trace_direct_bytes >> 20), (double)e->trace_cached_ns_per_mb / 1e6);
	if (eval_write_slos(e) != 0)
		rc = -1;
	eval_step(&clk, "slo_results.json");
	if (eval_write_health(e) != 0)
		rc = -1;
	eval_views_drop_pages(e);
	eval_step(&clk, "health checks");
	if (rc != 0)
		return -1;
	return met;
}

/* ---- end-of-run table ---- */

static void print_lat_row(FILE *out, const struct evaluator *e, const char *name, int series)
{
	const struct sketch *s = &e->sk[series];
	if (!sketch_count(s)) {
		fprintf(out, "  %-22s %10s %10s %10s %10s\n", name, "-", "-", "-", "-");
		return;
	}
	fprintf(out, "  %-22s %10.2f %10.2f %10.2f %10.2f\n", name, sketch_mean(s) * 1e3, q_or_zero(s, 0.5) * 1e3,
	        q_or_zero(s, 0.9) * 1e3, q_or_zero(s, 0.99) * 1e3);
}

void eval_print_summary(const struct evaluator *e, FILE *out)
{
	double el = elapsed_s(e);
	fprintf(out, "\n==================== Benchmark summary ====================\n");
	fprintf(out,
	        "  Requests: %" PRIu64 " dispatched, %" PRIu64 " completed, %" PRIu64 " errored, %" PRIu64
	        " cancelled, %" PRIu64 " after timeout\n",
	        e->n_requests, e->n_completed, e->n_errored, e->n_cancelled, e->n_post_timeout);
	uint64_t sc[5];
	count_sessions(e, sc, true);
	fprintf(out,
	        "  Sessions: %zu seen, %" PRIu64 " successful, %" PRIu64 " errored, %" PRIu64 " cancelled, %" PRIu64
	        " incomplete\n",
	        e->n_sessions, sc[SESS_SUCCESS], sc[SESS_ERRORED], sc[SESS_CANCELLED],
	        sc[SESS_INCOMPLETE] + sc[SESS_OPEN]);
	fprintf(out, "  Duration: %.2f s\n", el);
	if (e->window_set)
		fprintf(out,
		        "  Window: warmup %g s / %lld requests, cooldown %g s / %lld requests: %llu requests "
		        "outside it ran but are not in the metrics\n",
		        e->window.warmup_s, (long long)e->window.warmup_requests, e->window.cooldown_s,
		        (long long)e->window.cooldown_requests, (unsigned long long)e->window.excluded_requests);
	double span = eval_rate_span_s(e); /* the run, or the window's measured span */
	fputc('\n', out);
	fprintf(out, "  %-22s %10s %10s %10s %10s\n", "Latency (ms)", "mean", "p50", "p90", "p99");
	print_lat_row(out, e, "TTFC", ES_TTFC);
	if (e->n_reasoning) {
		print_lat_row(out, e, "TTFO (first answer)", ES_TTFO);
		print_lat_row(out, e, "Reasoning duration", ES_REASONING_DURATION);
	}
	print_lat_row(out, e, "TBC", ES_TBC);
	print_lat_row(out, e, "TPOT", ES_TPOT);
	print_lat_row(out, e, "E2E", ES_E2E);
	fprintf(out, "\n  Throughput: %.2f requests/s, %.2f output tokens/s%s\n",
	        span > 0 ? (double)e->n_completed / span : 0.0, span > 0 ? (double)e->output_tokens_total / span : 0.0,
	        e->window_set ? " (over the window's measured span)" : "");
	fprintf(out, "  Goodput:    %.2f requests/s meeting every SLO (%.1f%% of completed)\n",
	        span > 0 ? (double)e->n_good / span : 0.0,
	        e->n_completed ? 100.0 * (double)e->n_good / (double)e->n_completed : 0.0);
	fprintf(out, "  SLOs:\n");
	for (size_t i = 0; i < e->n_slo_results; i++) {
		const struct eval_slo_result *r = &e->slo_results[i];
		const char *name = r->name ? r->name : r->key;
		if (r->not_applicable)
			fprintf(out, "    %-24s observed %10s     threshold %10.2f ms  MET (no request had two %s)\n",
			        name, "n/a", r->threshold * 1e3,
			        r->metric && !strcmp(r->metric, "tpot") ? "streamed tokens" : "chunks");
		else if (r->is_rate && isnan(r->observed))
			fprintf(out, "    %-24s observed %10s     threshold %10.2f %%   MISSED\n", name, "no data",
			        r->threshold * 100.0);
		else if (r->is_rate)
			fprintf(out, "    %-24s observed %10.2f %%   threshold %10.2f %%   %s\n", name,
			        r->observed * 100.0, r->threshold * 100.0, r->met ? "MET" : "MISSED");
		else if (isinf(r->observed))
			fprintf(out, "    %-24s observed %10s     threshold %10.2f ms  MISSED\n", name,
			        r->no_data ? "no data" : "inf", r->threshold * 1e3);
		else
			fprintf(out, "    %-24s observed %10.2f ms  threshold %10.2f ms  %s\n", name, r->observed * 1e3,
			        r->threshold * 1e3, r->met ? "MET" : "MISSED");
	}
	fprintf(out, "  All SLOs met: %s\n", e->slo_all_met == 1 ? "yes" : "no");
	if (e->client_saturated)
		fprintf(out,
		        "  WARNING: the client was saturated: %s. The offered load and the timestamps may be the "
		        "client's, not the server's (docs/METRICS.md, Client saturation)\n",
		        e->saturation_why);
	for (size_t i = 0; i < e->n_verdict_reasons; i++)
		fprintf(out, "    because: %s\n", e->verdict_reasons[i]);
	if (e->run_status != EVAL_RUN_COMPLETE) /* (its reason is among the reasons above) */
		fprintf(out, "  Run status: %s\n", eval_run_status_name(e->run_status));
	if (e->n_errored) {
		/* last, so that the reason of a failed run is what the user sees at the end */
		fprintf(out, "  Top errors (%" PRIu64 " errored requests):\n", e->n_errored);
		struct eval_errmsg *t = eval_sorted_errors(e);
		uint64_t rest = e->n_errored;
		for (size_t i = 0; i < e->n_errmsgs && i < EVAL_TOP_ERRORS; i++) {
			fprintf(out, "    %8" PRIu64 " x %s %d: %s\n", t[i].count, rec_error_class_name(t[i].kind),
			        t[i].code, t[i].msg[0] ? t[i].msg : "(no message)");
			rest -= t[i].count;
		}
		free(t);
		if (rest)
			fprintf(out, "    %8" PRIu64 " x other messages\n", rest);
	}
	fprintf(out, "===========================================================\n");
}

void eval_free(struct evaluator *e)
{
	if (!e)
		return;
	/* this run's PNGs rendered in the background while its other files were written (output/plot.h):
	 * done before the next run starts or the report names them */
	plot_wait_all();
	eval_log_free(e);
	eval_lf_close(&e->jsonl);
	eval_lf_close(&e->trace);
	for (int i = 0; i < EVAL_N_SERIES; i++) {
		sketch_free(&e->sk[i]);
		spill_close(&e->raw_sp[i]);
	}
	spill_close(&e->rows_sp);
	spill_close(&e->regs_sp);
	spill_close(&e->ts_sp);
	spill_close(&e->parents_sp);
	spill_close(&e->sessions_sp);
	spill_close(&e->tbc_sp);
	dvec_free(&e->tbc_cur);
	eval_sorted_release(e, -1);
	free(e->cut);
	free(e->inflight);
	free(e->inflight_free);
	free(e->open);
	free(e->open_free);
	u64map_free(&e->inflight_by_id);
	u64map_free(&e->open_by_id);
	free(e->errcodes);
	for (size_t i = 0; i < e->n_verdict_reasons; i++)
		free(e->verdict_reasons[i]);
	free(e->verdict_reasons);
	for (size_t i = 0; i < e->n_slo_results; i++)
		free(e->slo_results[i].name);
	free(e->slo_results);
	u64map_free(&e->reg_by_id);
	u64map_free(&e->sess_by_id);
	buf_free(&e->line);
	free(e->run_dir);
	free(e->metrics_dir);
	free(e->traces_dir);
	free(e->tokenizer_name);
	free(e);
}
