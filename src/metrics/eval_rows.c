/* Re-evaluating a run from its request rows and dispatch trace (see eval_rows.h). */
#include "metrics/eval_rows.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/xalloc.h"
#include "client/record.h"
#include "metrics/eval_internal.h"

/* One input call to replay: a registration (from the trace, or from a row when there is no trace)
 * or a completion (a row), at its time in the run. */
struct rows_ev {
	double t_s;
	int kind;      /* 0 registration, 1 completion: at one time, registrations first */
	size_t seq;    /* file order breaks the remaining ties */
	cJSON *j;      /* the line (owned by the list) */
	bool from_row; /* a registration made from a row (no trace) */
	size_t line;   /* its line in its file (1-based) */
};

struct rows_list {
	struct rows_ev *v;
	size_t n, cap;
};

static void rows_push(struct rows_list *l, struct rows_ev ev)
{
	xgrow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v);
	l->v[l->n++] = ev;
}

static int rows_cmp(const void *a, const void *b)
{
	const struct rows_ev *x = a, *y = b;
	if (x->t_s != y->t_s)
		return x->t_s < y->t_s ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind - y->kind;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const cJSON *rows_get(const cJSON *j, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(j, key);
}

static double rows_num(const cJSON *j, const char *key, double dflt)
{
	const cJSON *v = rows_get(j, key);
	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int64_t rows_ns(int64_t base_ns, double s)
{
	return base_ns + llround(s * 1e9);
}

/* What a key of a line must hold (docs/METRICS.md, Re-evaluating a run). Times and durations are
 * bounded so that they convert to int64 nanoseconds (1e9 s is 31 years). */
enum rows_kind { ROWS_ID, ROWS_TIME, ROWS_DURATION, ROWS_TOKENS, ROWS_SIZE, ROWS_BOOL, ROWS_STRING };

#define ROWS_MAX_S 1e9
#define ROWS_MAX_INT 9007199254740992.0 /* 2^53: above it a JSON number is no longer an exact integer */

static const char *rows_expected(enum rows_kind kind)
{
	switch (kind) {
	case ROWS_ID:
	case ROWS_TOKENS:
		return "an integer >= 0";
	case ROWS_SIZE:
		return "an integer >= 1";
	case ROWS_TIME:
		return "a number of seconds (|value| <= 1e9)";
	case ROWS_DURATION:
		return "a number of seconds >= 0 and <= 1e9";
	case ROWS_BOOL:
		return "true or false";
	case ROWS_STRING:
		return "a string";
	}
	return "?";
}

static bool rows_value_ok(const cJSON *v, enum rows_kind kind)
{
	if (kind == ROWS_BOOL)
		return cJSON_IsBool(v);
	if (kind == ROWS_STRING)
		return cJSON_IsString(v);
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return false;
	double x = v->valuedouble;
	switch (kind) {
	case ROWS_ID:
	case ROWS_TOKENS:
		return x >= 0 && x <= ROWS_MAX_INT && x == floor(x);
	case ROWS_SIZE:
		return x >= 1 && x <= UINT32_MAX && x == floor(x);
	case ROWS_TIME:
		return fabs(x) <= ROWS_MAX_S;
	case ROWS_DURATION:
		return x >= 0 && x <= ROWS_MAX_S;
	default:
		return false;
	}
}

/* Checks one key: absent is an error when required, null is accepted when nullable. 0, or -1 with
 * why naming the key. */
static int rows_key(const cJSON *j, const char *key, enum rows_kind kind, bool required, bool nullable, char *why,
                    size_t why_len)
{
	const cJSON *v = rows_get(j, key);
	if (!v) {
		if (!required)
			return 0;
		snprintf(why, why_len, "'%s' is missing (expected %s)", key, rows_expected(kind));
		return -1;
	}
	if ((nullable && cJSON_IsNull(v)) || rows_value_ok(v, kind))
		return 0;
	char *got = cJSON_PrintUnformatted(v);
	snprintf(why, why_len, "'%s': expected %s, got %.40s", key, rows_expected(kind), got ? got : "?");
	free(got);
	return -1;
}

/* Whether a line holds what the rebuild reads, with the right types: a wrong or missing value would
 * otherwise count as 0 and change the numbers without a word. 0, or -1 with why. */
static int rows_check(const cJSON *j, int kind, char *why, size_t why_len)
{
	static const char *const ids[] = {"request_id", "session_id"};
	for (size_t i = 0; i < 2; i++)
		if (rows_key(j, ids[i], ROWS_ID, true, false, why, why_len))
			return -1;
	if (kind == 0) /* a dispatch trace line */
		return rows_key(j, "dispatched_at", ROWS_TIME, true, false, why, why_len) ||
		               rows_key(j, "session_size", ROWS_SIZE, false, false, why, why_len)
		           ? -1
		           : 0;
	/* a request row: the keys every row has (successful and failed, ours and the reference's) */
	static const char *const times[] = {"scheduler_ready_at", "scheduler_dispatched_at", "client_picked_up_at",
	                                    "client_completed_at", "result_processed_at"};
	static const char *const tokens[] = {"num_delta_prompt_tokens",        "num_total_prompt_tokens",
	                                     "target_num_delta_prompt_tokens", "num_output_tokens",
	                                     "num_requested_output_tokens",    "num_total_tokens"};
	if (rows_key(j, "session_total_requests", ROWS_SIZE, true, false, why, why_len))
		return -1;
	for (size_t i = 0; i < sizeof times / sizeof *times; i++)
		if (rows_key(j, times[i], ROWS_TIME, true, false, why, why_len))
			return -1;
	for (size_t i = 0; i < sizeof tokens / sizeof *tokens; i++)
		if (rows_key(j, tokens[i], ROWS_TOKENS, true, false, why, why_len))
			return -1;
	if (rows_key(j, "is_stream", ROWS_BOOL, true, false, why, why_len) ||
	    rows_key(j, "success", ROWS_BOOL, false, false, why, why_len))
		return -1;
	if (cJSON_IsFalse(rows_get(j, "success")))
		return rows_key(j, "error_class", ROWS_STRING, false, false, why, why_len) ||
		               rows_key(j, "error_code", ROWS_ID, false, false, why, why_len) ||
		               rows_key(j, "error_msg", ROWS_STRING, false, false, why, why_len)
		           ? -1
		           : 0;
	/* a successful row: its latencies (a streamed answer's first chunk and gaps build its chunks) */
	bool stream = cJSON_IsTrue(rows_get(j, "is_stream"));
	if (rows_key(j, "ttfc", ROWS_DURATION, stream, false, why, why_len) ||
	    rows_key(j, "time_to_headers", ROWS_DURATION, false, false, why, why_len) ||
	    rows_key(j, "ttfo", ROWS_DURATION, false, true, why, why_len) ||
	    rows_key(j, "reasoning_duration", ROWS_DURATION, false, true, why, why_len) ||
	    rows_key(j, "num_reasoning_tokens", ROWS_TOKENS, false, false, why, why_len) ||
	    rows_key(j, "num_answer_tokens", ROWS_TOKENS, false, false, why, why_len))
		return -1;
	const cJSON *tbc = rows_get(j, "tbc");
	if (!tbc && !stream)
		return 0;
	if (!cJSON_IsArray(tbc)) {
		snprintf(why, why_len, "'tbc': %s (expected a list of seconds >= 0)",
		         tbc ? "not a list" : "is missing");
		return -1;
	}
	const cJSON *g;
	int i = 0;
	cJSON_ArrayForEach(g, tbc)
	{
		if (!rows_value_ok(g, ROWS_DURATION)) {
			snprintf(why, why_len, "'tbc'[%d]: expected %s", i, rows_expected(ROWS_DURATION));
			return -1;
		}
		i++;
	}
	return 0;
}

/* Reads a JSONL file into the list; kind 0 (trace) or 1 (rows). A missing file is 1 (not an error
 * for the trace); a line that is not a JSON object, or lacks a key the rebuild reads, or holds one of
 * the wrong type or range, is an error naming file:line and the key. */
static int rows_read(struct rows_list *l, const char *path, int kind, size_t *seq, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0, line_no = 0;
	ssize_t n;
	int rc = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		line_no++;
		if (n == 1 && line[0] == '\n')
			continue;
		cJSON *j = cJSON_ParseWithLength(line, (size_t)n);
		if (!cJSON_IsObject(j) || !cJSON_IsNumber(rows_get(j, "request_id"))) {
			snprintf(err, err_len, "%s:%zu: not a JSON object with a request_id%s", path, line_no,
			         line[n - 1] != '\n'
			             ? " (the last line is cut short: was the run killed while writing it?)"
			             : "");
			cJSON_Delete(j);
			rc = -1;
			break;
		}
		char why[256];
		if (rows_check(j, kind, why, sizeof why)) {
			snprintf(err, err_len, "%s:%zu: %s", path, line_no, why);
			cJSON_Delete(j);
			rc = -1;
			break;
		}
		double t = kind == 0 ? rows_num(j, "dispatched_at", 0) : rows_num(j, "result_processed_at", 0);
		rows_push(l, (struct rows_ev){t, kind, (*seq)++, j, false, line_no});
	}
	free(line);
	fclose(f);
	return rc;
}

static int rows_id_line_cmp(const void *a, const void *b)
{
	const struct rows_ev *x = *(struct rows_ev *const *)a, *y = *(struct rows_ev *const *)b;
	double p = rows_num(x->j, "request_id", 0), q = rows_num(y->j, "request_id", 0);
	if (p != q)
		return p < q ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int rows_by_id_cmp(const void *a, const void *b)
{
	double x = rows_num(*(cJSON *const *)a, "request_id", 0), y = rows_num(*(cJSON *const *)b, "request_id", 0);
	return x < y ? -1 : x > y;
}

/* The row of a request (rows sorted by request_id), or NULL. */
static const cJSON *rows_find(cJSON *const *by_id, size_t n, double id)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		double x = rows_num(by_id[mid], "request_id", 0);
		if (x == id)
			return by_id[mid];
		if (x < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void rows_register(struct evaluator *e, const struct rows_ev *ev, int64_t base_ns, cJSON *const *by_id,
                          size_t n_rows)
{
	const cJSON *j = ev->j;
	struct wl_request q;
	memset(&q, 0, sizeof q);
	q.id = (uint64_t)rows_num(j, "request_id", 0);
	q.session_id = (uint64_t)rows_num(j, "session_id", 0);
	q.history_parent = -1;
	uint32_t size;
	int64_t intended, dispatched;
	uint32_t *parents = NULL;
	struct wl_message *hist = NULL;
	if (ev->from_row) {
		size = (uint32_t)rows_num(j, "session_total_requests", 1);
		intended = rows_ns(base_ns, rows_num(j, "scheduler_ready_at", 0));
		dispatched = rows_ns(base_ns, rows_num(j, "scheduler_dispatched_at", 0));
	} else {
		const cJSON *ctx = rows_get(j, "session_context");
		q.node_id = (uint32_t)rows_num(ctx, "node_id", 0);
		q.wait_after_ready_s = rows_num(ctx, "wait_after_ready", 0);
		const cJSON *hp = rows_get(ctx, "history_parent");
		q.history_parent = cJSON_IsNumber(hp) ? (int32_t)hp->valuedouble : -1;
		const cJSON *par = rows_get(ctx, "parent_nodes");
		q.n_parents = cJSON_IsArray(par) ? (size_t)cJSON_GetArraySize(par) : 0;
		parents = xcalloc(q.n_parents + 1, sizeof *parents);
		for (size_t i = 0; i < q.n_parents; i++) {
			const cJSON *p = cJSON_GetArrayItem(par, (int)i);
			parents[i] = cJSON_IsNumber(p) ? (uint32_t)p->valuedouble : 0;
		}
		q.parent_nodes = parents;
		const cJSON *text = rows_get(rows_get(j, "channels"), "text");
		const cJSON *it = rows_get(text, "input_text");
		q.prompt_text = cJSON_IsString(it) ? it->valuestring : NULL;
		q.target_prompt_tokens = (int64_t)rows_num(text, "target_prompt_tokens", 0);
		const cJSON *h = rows_get(j, "history");
		q.n_history = cJSON_IsArray(h) ? (size_t)cJSON_GetArraySize(h) : 0;
		hist = xcalloc(q.n_history + 1, sizeof *hist);
		for (size_t i = 0; i < q.n_history; i++) {
			const cJSON *m = cJSON_GetArrayItem(h, (int)i);
			const cJSON *role = rows_get(m, "role"), *content = rows_get(m, "content");
			hist[i].role = cJSON_IsString(role) ? role->valuestring : "user";
			hist[i].content = cJSON_IsString(content) ? content->valuestring : "";
		}
		q.history = hist;
		size = (uint32_t)rows_num(j, "session_size", 1);
		/* the trace has one time, the dispatch; the request's row has its ready time too */
		const cJSON *row = rows_find(by_id, n_rows, rows_num(j, "request_id", 0));
		dispatched = rows_ns(base_ns, rows_num(j, "dispatched_at", 0));
		intended = row ? rows_ns(base_ns, rows_num(row, "scheduler_ready_at", 0)) : dispatched;
	}
	eval_register_request(e, &q, size, intended, dispatched);
	free(parents);
	free(hist);
}

static void rows_complete(struct evaluator *e, const struct rows_ev *ev, int64_t base_ns)
{
	const cJSON *j = ev->j;
	struct rec_record r;
	rec_init(&r);
	r.request_id = (uint64_t)rows_num(j, "request_id", 0);
	r.session_id = (uint64_t)rows_num(j, "session_id", 0);
	r.session_total_requests = (uint32_t)rows_num(j, "session_total_requests", 1);
	r.intended_ns = rows_ns(base_ns, rows_num(j, "scheduler_ready_at", 0));
	r.dispatched_ns = rows_ns(base_ns, rows_num(j, "scheduler_dispatched_at", 0));
	r.sent_ns = rows_ns(base_ns, rows_num(j, "client_picked_up_at", 0));
	r.completed_ns = rows_ns(base_ns, rows_num(j, "client_completed_at", 0));
	r.processed_ns = rows_ns(base_ns, rows_num(j, "result_processed_at", 0));
	double tth = rows_num(j, "time_to_headers", NAN);
	if (!isnan(tth))
		r.headers_ns = r.sent_ns + llround(tth * 1e9);
	r.num_delta_prompt_tokens = (int64_t)rows_num(j, "num_delta_prompt_tokens", 0);
	r.num_total_prompt_tokens = (int64_t)rows_num(j, "num_total_prompt_tokens", 0);
	r.target_prompt_tokens = (int64_t)rows_num(j, "target_num_delta_prompt_tokens", 0);
	r.num_output_tokens = (int64_t)rows_num(j, "num_output_tokens", 0);
	r.requested_output_tokens = (int64_t)rows_num(j, "num_requested_output_tokens", 0);
	r.is_stream = cJSON_IsTrue(rows_get(j, "is_stream"));
	if (cJSON_IsNumber(rows_get(j, "num_reasoning_tokens"))) {
		/* a row with reasoning (docs/METRICS.md, Reasoning models): the first chunk was reasoning; its
		 * last one came reasoning_duration later; the answer started at TTFO (null: never) */
		r.num_reasoning_tokens = (int64_t)rows_num(j, "num_reasoning_tokens", 0);
		r.num_answer_tokens = (int64_t)rows_num(j, "num_answer_tokens", 0);
		double ttfo = rows_num(j, "ttfo", NAN), rd = rows_num(j, "reasoning_duration", NAN);
		if (!isnan(rd)) {
			r.first_reasoning_ns = r.sent_ns + llround(rows_num(j, "ttfc", 0) * 1e9);
			r.last_reasoning_ns = r.first_reasoning_ns + llround(rd * 1e9);
		}
		if (!isnan(ttfo))
			r.first_answer_ns = r.sent_ns + llround(ttfo * 1e9);
	}
	if (cJSON_IsFalse(rows_get(j, "success"))) {
		const cJSON *cls = rows_get(j, "error_class"), *msg = rows_get(j, "error_msg");
		enum rec_error kind = REC_ERR_CLIENT;
		for (int k = REC_ERR_HTTP; k < REC_ERR_N_KINDS; k++)
			if (cJSON_IsString(cls) && !strcmp(cls->valuestring, rec_error_class_name((enum rec_error)k)))
				kind = (enum rec_error)k;
		rec_set_error(&r, kind, (int)rows_num(j, "error_code", 0), "%s",
		              cJSON_IsString(msg) ? msg->valuestring : "");
		r.http_status = kind == REC_ERR_HTTP ? r.error_code : 0;
	} else {
		r.success = true;
		r.http_status = 200;
		if (r.is_stream) {
			/* the first chunk at TTFC, then one per gap (the rows keep no per-chunk token counts) */
			int64_t t = r.sent_ns + llround(rows_num(j, "ttfc", 0) * 1e9);
			rec_add_chunk(&r, t, 0);
			const cJSON *tbc = rows_get(j, "tbc"), *g;
			cJSON_ArrayForEach(g, tbc)
			{
				t += llround((cJSON_IsNumber(g) ? g->valuedouble : 0) * 1e9);
				rec_add_chunk(&r, t, 0);
			}
		}
	}
	eval_record_completed(e, &r, true);
	rec_free(&r);
}

/* A request of ours that the benchmark stopped (signal, grace period over) has no row, only its
 * registration in the trace (docs/OUTPUTS.md, request_level_metrics.jsonl): it is replayed as the
 * cancelled record the run had, at the end. */
static void rows_cancelled(struct evaluator *e, const cJSON *reg, int64_t base_ns, int64_t end_ns)
{
	struct rec_record r;
	rec_init(&r);
	r.request_id = (uint64_t)rows_num(reg, "request_id", 0);
	r.session_id = (uint64_t)rows_num(reg, "session_id", 0);
	r.session_total_requests = (uint32_t)rows_num(reg, "session_size", 1);
	r.dispatched_ns = rows_ns(base_ns, rows_num(reg, "dispatched_at", 0));
	r.completed_ns = r.processed_ns = end_ns;
	rec_set_error(&r, REC_ERR_CANCELLED, REC_CODE_CANCELLED, "benchmark stopped");
	eval_record_completed(e, &r, true);
	rec_free(&r);
}

/* Registrations per session in the trace (sorted by session id), for the requests that
 * cancel_session_on_failure dropped: a session's requests that were never dispatched. */
struct rows_sess {
	uint64_t id;
	uint32_t regs;
	bool cancelled;
};

static int rows_sess_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct rows_sess *)a)->id, y = ((const struct rows_sess *)b)->id;
	return x < y ? -1 : x > y;
}

static int rows_t_cmp(const void *a, const void *b)
{
	const struct rows_ev *x = *(struct rows_ev *const *)a, *y = *(struct rows_ev *const *)b;
	if (x->t_s != y->t_s)
		return x->t_s < y->t_s ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The sorted request ids outside the window (docs/METRICS.md, Measurement window). */
static uint64_t *rows_window(const struct rows_list *l, struct eval_window_info *w, size_t *n_out)
{
	struct rows_ev **regs = xcalloc(l->n + 1, sizeof *regs);
	size_t n = 0;
	double end = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].kind == 0)
			regs[n++] = &l->v[i];
		double c = l->v[i].kind == 1 ? rows_num(l->v[i].j, "result_processed_at", l->v[i].t_s) : l->v[i].t_s;
		if (c > end)
			end = c;
	}
	qsort(regs, n, sizeof *regs, rows_t_cmp);
	uint64_t *out = xcalloc(n + 1, sizeof *out);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (eval_window_excludes(w, i, n, regs[i]->t_s, end))
			out[k++] = (uint64_t)rows_num(regs[i]->j, "request_id", 0);
	}
	qsort(out, k, sizeof *out, u64_cmp);
	free(regs);
	w->excluded_requests = k;
	*n_out = k;
	return out;
}

/* A request has one line in each file: a second one (a file written twice into, or edited) would
 * count the request twice. 0, or -1 with err naming both lines. */
static int rows_unique(const struct rows_list *l, int kind, const char *path, char *err, size_t err_len)
{
	struct rows_ev **v = xcalloc(l->n + 1, sizeof *v);
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].kind == kind && !l->v[i].from_row)
			v[n++] = &l->v[i];
	qsort(v, n, sizeof *v, rows_id_line_cmp);
	int rc = 0;
	for (size_t i = 1; i < n && rc == 0; i++) {
		if (rows_num(v[i]->j, "request_id", 0) == rows_num(v[i - 1]->j, "request_id", 0)) {
			snprintf(err, err_len, "%s:%zu: request_id %.0f already on line %zu", path, v[i]->line,
			         rows_num(v[i]->j, "request_id", 0), v[i - 1]->line);
			rc = -1;
		}
	}
	free(v);
	return rc;
}

int eval_rows_replay(struct evaluator *e, const char *run_dir, int64_t base_ns, struct eval_window_info *window,
                     struct eval_rows_stats *st, char *err, size_t err_len)
{
	memset(st, 0, sizeof *st);
	struct rows_list l = {0};
	size_t seq = 0;
	char *trace = xasprintf("%s/traces/dispatch_trace.jsonl", run_dir);
	char *rows = xasprintf("%s/metrics/request_level_metrics.jsonl", run_dir);
	int rc = rows_read(&l, trace, 0, &seq, err, err_len);
	bool have_trace = rc == 0;
	size_t n_trace = l.n;
	if (rc >= 0) {
		rc = rows_read(&l, rows, 1, &seq, err, err_len);
		if (rc == 1) {
			snprintf(err, err_len, "%s: no such file: nothing to evaluate", rows);
			rc = -1;
		}
	}
	if (rc == 0 && have_trace)
		rc = rows_unique(&l, 0, trace, err, err_len);
	if (rc == 0)
		rc = rows_unique(&l, 1, rows, err, err_len);
	if (rc == 0 && !have_trace) {
		/* no dispatch trace: each row registers its own request, at its dispatch */
		for (size_t i = n_trace, n = l.n; i < n; i++)
			rows_push(&l, (struct rows_ev){rows_num(l.v[i].j, "scheduler_dispatched_at", 0), 0, seq++,
			                               l.v[i].j, true, l.v[i].line});
	}
	cJSON **by_id = NULL;
	size_t n_rows = 0;
	if (rc == 0) {
		by_id = xcalloc(l.n + 1, sizeof *by_id);
		for (size_t i = 0; i < l.n; i++)
			if (l.v[i].kind == 1)
				by_id[n_rows++] = l.v[i].j;
		qsort(by_id, n_rows, sizeof *by_id, rows_by_id_cmp);
		qsort(l.v, l.n, sizeof *l.v, rows_cmp);
		uint64_t *out = NULL;
		size_t n_out = 0;
		if (window)
			out = rows_window(&l, window, &n_out);
		/* rows of ours (the Python Veeksha's rows have neither key, and only successful requests):
		 * a registered request without a row was cancelled by the benchmark */
		bool ours = false;
		for (size_t i = 0; i < n_rows && !ours; i++)
			ours = rows_get(by_id[i], "dispatch_lateness") || rows_get(by_id[i], "success");
		struct rows_sess *sess = xcalloc(l.n + 1, sizeof *sess);
		size_t n_sess = 0;
		for (size_t i = 0; i < l.n; i++) {
			/* the run's end: the latest time in the files, whatever the window */
			double c = l.v[i].kind == 1 ? rows_num(l.v[i].j, "client_completed_at", 0) : 0;
			st->end_s = fmax(st->end_s, fmax(c, l.v[i].t_s));
			if (l.v[i].kind == 0 && !l.v[i].from_row)
				sess[n_sess++] =
				    (struct rows_sess){(uint64_t)rows_num(l.v[i].j, "session_id", 0), 1, false};
		}
		qsort(sess, n_sess, sizeof *sess, rows_sess_cmp);
		size_t n_uniq = 0;
		for (size_t i = 0; i < n_sess; i++) {
			if (n_uniq && sess[n_uniq - 1].id == sess[i].id)
				sess[n_uniq - 1].regs++;
			else
				sess[n_uniq++] = sess[i];
		}
		bool cancel_on_failure = ours && e->cfg && e->cfg->traffic_scheduler.cancel_session_on_failure;
		/* from the timeout on, nothing is left to drop: the stop dropped every request not dispatched */
		double stop_s = e->cfg && e->cfg->runtime.benchmark_timeout > 0
		                    ? (double)e->cfg->runtime.benchmark_timeout
		                    : INFINITY;
		for (size_t i = 0; i < l.n; i++) {
			uint64_t id = (uint64_t)rows_num(l.v[i].j, "request_id", 0);
			if (n_out && bsearch(&id, out, n_out, sizeof *out, u64_cmp))
				continue; /* outside the measurement window */
			if (l.v[i].kind == 0) {
				rows_register(e, &l.v[i], base_ns, by_id, n_rows);
				st->registrations++;
				continue;
			}
			rows_complete(e, &l.v[i], base_ns);
			st->rows++;
			if (!cJSON_IsFalse(rows_get(l.v[i].j, "success")))
				continue;
			st->failed_rows++;
			/* cancel_session_on_failure: the session's requests never dispatched were dropped
			 * when this failure was handed over (docs/METRICS.md, Counters) */
			struct rows_sess key = {.id = (uint64_t)rows_num(l.v[i].j, "session_id", 0)};
			struct rows_sess *ss = cancel_on_failure && n_uniq
			                           ? bsearch(&key, sess, n_uniq, sizeof *sess, rows_sess_cmp)
			                           : NULL;
			uint32_t size = (uint32_t)rows_num(l.v[i].j, "session_total_requests", 0);
			if (ss && !ss->cancelled && size > ss->regs &&
			    rows_num(l.v[i].j, "result_processed_at", 0) < stop_s) {
				ss->cancelled = true;
				eval_session_cancelled_at(
				    e, key.id, size - ss->regs,
				    rows_ns(base_ns, rows_num(l.v[i].j, "result_processed_at", 0)));
			}
		}
		if (ours && have_trace) {
			int64_t end_ns = rows_ns(base_ns, st->end_s);
			for (size_t i = 0; i < l.n; i++) {
				uint64_t id = (uint64_t)rows_num(l.v[i].j, "request_id", 0);
				if (l.v[i].kind != 0 || (n_out && bsearch(&id, out, n_out, sizeof *out, u64_cmp)) ||
				    rows_find(by_id, n_rows, (double)id))
					continue;
				rows_cancelled(e, l.v[i].j, base_ns, end_ns);
				st->cancelled++;
			}
		}
		free(sess);
		free(out);
	}
	for (size_t i = 0; i < l.n; i++)
		if (!l.v[i].from_row)
			cJSON_Delete(l.v[i].j);
	free(l.v);
	free(by_id);
	free(trace);
	free(rows);
	return rc < 0 ? -1 : 0;
}
