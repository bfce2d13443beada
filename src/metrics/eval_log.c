/* The evaluator's event log: writing (from the evaluator's input calls), reading, and the replay
 * that merges shards (docs/MERGE.md). */
#include "metrics/eval_log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "metrics/eval_internal.h"
#include "metrics/pct.h"

/* Rows are written out with the evaluator's other line files (eval_tick) or when this many are
 * pending, so a shard killed by SIGKILL loses at most the last tick's events. */
#define EVAL_LOG_FLUSH_LINES 1000

struct eval_log {
	struct eval_linefile lf;
	struct buf line;
	size_t pending;
	bool content; /* the registrations carry the trace recorder's content fields */
	bool ended;   /* the end record is written: nothing may follow it */
};

/* ---- writing ---- */

static void put_i64(struct buf *b, int64_t v)
{
	char t[24];
	size_t i = sizeof t;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		t[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		t[--i] = '-';
	buf_append(b, t + i, sizeof t - i);
}

static void put_key(struct buf *b, const char *key)
{
	buf_putc(b, ',');
	buf_putc(b, '"');
	buf_puts(b, key);
	buf_puts(b, "\":");
}

static void put_int(struct buf *b, const char *key, int64_t v)
{
	put_key(b, key);
	put_i64(b, v);
}

static void put_bool(struct buf *b, const char *key, bool v)
{
	put_key(b, key);
	buf_puts(b, v ? "true" : "false");
}

static void put_str(struct buf *b, const char *key, const char *s)
{
	put_key(b, key);
	if (!s)
		s = "";
	jsonw_escape(b, s, strlen(s));
}

/* A time relative to the start; 0 (did not happen) is null. */
static void put_time(struct buf *b, const struct evaluator *e, const char *key, int64_t t_ns)
{
	put_key(b, key);
	if (!t_ns)
		buf_puts(b, "null");
	else
		put_i64(b, t_ns - e->bench_start_ns);
}

/* 17 significant digits read back as the same double; JSON has no inf/nan, they are strings. */
static void put_double(struct buf *b, const char *key, double v)
{
	put_key(b, key);
	if (isnan(v))
		buf_puts(b, "\"nan\"");
	else if (isinf(v))
		buf_puts(b, v > 0 ? "\"inf\"" : "\"-inf\"");
	else
		buf_printf(b, "%.17g", v);
}

static void log_begin(struct eval_log *l, const char *ev, int64_t t_rel_ns)
{
	buf_reset(&l->line);
	buf_puts(&l->line, "{\"ev\":\"");
	buf_puts(&l->line, ev);
	buf_puts(&l->line, "\",\"t\":");
	put_i64(&l->line, t_rel_ns);
}

static void log_end_line(struct eval_log *l)
{
	if (l->ended)
		return; /* a call after eval_finalize does not change the files either */
	buf_puts(&l->line, "}\n");
	eval_lf_append(&l->lf, l->line.data, l->line.len);
	if (++l->pending >= EVAL_LOG_FLUSH_LINES) {
		eval_lf_flush(&l->lf);
		l->pending = 0;
	}
}

int eval_log_enable(struct evaluator *e, const char *path, const struct eval_shard_info *info, char *err,
                    size_t err_len)
{
	if (e->log) {
		snprintf(err, err_len, "the event log is already enabled");
		return -1;
	}
	if (e->n_regs || e->n_requests || e->n_post_timeout || e->n_sessions) {
		snprintf(err, err_len, "the event log must be enabled before the first request");
		return -1;
	}
	struct eval_shard_info one = {0, 1, NULL, 0};
	if (!info)
		info = &one;
	if (info->count == 0 || info->index >= info->count) {
		snprintf(err, err_len, "shard %u of %u does not exist", info->index, info->count);
		return -1;
	}
	struct eval_log *l = xcalloc(1, sizeof *l);
	if (eval_lf_open(&l->lf, path, "metrics/" EVAL_LOG_FILE) != 0) {
		snprintf(err, err_len, "cannot create %s: %s", path, strerror(errno));
		free(l);
		return -1;
	}
	buf_init(&l->line);
	l->content = e->cfg && e->cfg->trace_recorder.enabled && e->cfg->trace_recorder.include_content;
	char host[256];
	if (info->host)
		snprintf(host, sizeof host, "%s", info->host);
	else if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = '\0';
	/* this host's CLOCK_REALTIME at the start as measured (the agreed start may be given instead) */
	int64_t real = clock_real_ns() - (clock_mono_ns() - e->bench_start_ns);
	int64_t epoch = info->start_epoch_ns ? info->start_epoch_ns : real;
	struct buf *b = &l->line;
	buf_printf(b, "{\"ev\":\"shard\",\"format\":%d", EVAL_LOG_FORMAT);
	put_int(b, "index", info->index);
	put_int(b, "count", info->count);
	put_str(b, "host", host);
	put_int(b, "pid", (int64_t)getpid());
	put_str(b, "clock", "CLOCK_MONOTONIC");
	put_int(b, "start_epoch_ns", epoch);
	put_int(b, "start_realtime_ns", real);
	put_str(b, "veeksha_version", VK_VERSION);
	put_str(b, "tokenizer", e->tokenizer_name);
	buf_puts(b, "}\n");
	eval_lf_append(&l->lf, b->data, b->len);
	if (eval_lf_flush(&l->lf) != 0) {
		snprintf(err, err_len, "cannot write %s: %s", path, strerror(l->lf.err));
		eval_lf_close(&l->lf);
		buf_free(&l->line);
		free(l);
		return -1;
	}
	e->log = l;
	return 0;
}

void eval_log_register(struct evaluator *e, const struct wl_request *req, uint32_t session_size, int64_t intended_ns,
                       int64_t dispatched_ns)
{
	struct eval_log *l = e->log;
	struct buf *b = &l->line;
	log_begin(l, "reg", (dispatched_ns ? dispatched_ns : clock_mono_ns()) - e->bench_start_ns);
	put_int(b, "request_id", (int64_t)req->id);
	put_int(b, "session_id", (int64_t)req->session_id);
	put_int(b, "node_id", req->node_id);
	put_int(b, "session_size", session_size);
	put_time(b, e, "intended", intended_ns);
	put_time(b, e, "dispatched", dispatched_ns);
	put_double(b, "wait_after_ready_s", req->wait_after_ready_s);
	put_key(b, "parents");
	buf_putc(b, '[');
	for (size_t i = 0; i < req->n_parents; i++) {
		if (i)
			buf_putc(b, ',');
		put_i64(b, req->parent_nodes[i]);
	}
	buf_putc(b, ']');
	put_int(b, "history_parent", req->history_parent);
	put_int(b, "target_prompt_tokens", req->target_prompt_tokens);
	put_int(b, "target_output_tokens", req->target_output_tokens);
	if (l->content) {
		put_str(b, "prompt", req->prompt_text);
		put_key(b, "history");
		buf_putc(b, '[');
		for (size_t i = 0; i < req->n_history; i++) {
			buf_puts(b, i ? ",[" : "[");
			const char *role = req->history[i].role ? req->history[i].role : "";
			const char *content = req->history[i].content ? req->history[i].content : "";
			jsonw_escape(b, role, strlen(role));
			buf_putc(b, ',');
			jsonw_escape(b, content, strlen(content));
			buf_putc(b, ']');
		}
		buf_putc(b, ']');
	}
	log_end_line(l);
}

void eval_log_completed(struct evaluator *e, const struct rec_record *rec, int64_t processed_ns, bool included)
{
	struct eval_log *l = e->log;
	struct buf *b = &l->line;
	log_begin(l, "done", processed_ns - e->bench_start_ns);
	put_bool(b, "included", included);
	put_int(b, "request_id", (int64_t)rec->request_id);
	put_int(b, "session_id", (int64_t)rec->session_id);
	put_int(b, "node_id", rec->node_id);
	put_int(b, "session_total_requests", rec->session_total_requests);
	put_time(b, e, "intended", rec->intended_ns);
	put_time(b, e, "dispatched", rec->dispatched_ns);
	put_time(b, e, "sent", rec->sent_ns);
	put_time(b, e, "headers", rec->headers_ns);
	put_time(b, e, "completed", rec->completed_ns);
	put_time(b, e, "processed", processed_ns);
	put_int(b, "num_delta_prompt_tokens", rec->num_delta_prompt_tokens);
	put_int(b, "num_total_prompt_tokens", rec->num_total_prompt_tokens);
	put_int(b, "target_prompt_tokens", rec->target_prompt_tokens);
	put_int(b, "num_output_tokens", rec->num_output_tokens);
	put_int(b, "requested_output_tokens", rec->requested_output_tokens);
	put_bool(b, "usage_from_server", rec->usage_from_server);
	put_bool(b, "is_stream", rec->is_stream);
	put_bool(b, "success", rec->success);
	put_int(b, "http_status", rec->http_status);
	if (!rec->success) {
		put_str(b, "error_class", rec_error_class_name(rec->error_kind));
		put_int(b, "error_code", rec->error_code);
		put_str(b, "error_msg", rec->error_msg);
	}
	/* chunk times: the first relative to the start, each next one as the gap to the one before
	 * (shorter lines; still exact integers) */
	put_key(b, "chunk_t");
	buf_putc(b, '[');
	for (size_t i = 0; i < rec->n_chunks; i++) {
		if (i)
			buf_putc(b, ',');
		put_i64(b, i ? rec->chunks[i].t_ns - rec->chunks[i - 1].t_ns : rec->chunks[0].t_ns - e->bench_start_ns);
	}
	buf_putc(b, ']');
	put_key(b, "chunk_tokens");
	buf_putc(b, '[');
	for (size_t i = 0; i < rec->n_chunks; i++) {
		if (i)
			buf_putc(b, ',');
		put_i64(b, rec->chunks[i].tokens);
	}
	buf_putc(b, ']');
	if (rec_has_reasoning(rec)) {
		/* reasoning models only (docs/METRICS.md, Reasoning): a line without these keys had no
		 * reasoning, its first answer chunk is its first chunk and all its tokens are answer */
		put_time(b, e, "first_answer", rec->first_answer_ns);
		put_time(b, e, "first_reasoning", rec->first_reasoning_ns);
		put_time(b, e, "last_reasoning", rec->last_reasoning_ns);
		put_int(b, "num_reasoning_tokens", rec->num_reasoning_tokens);
		put_int(b, "num_answer_tokens", rec->num_answer_tokens);
	}
	log_end_line(l);
}

void eval_log_cancelled(struct evaluator *e, uint64_t session_id, uint32_t dropped, int64_t now_ns)
{
	struct eval_log *l = e->log;
	log_begin(l, "cancel", now_ns - e->bench_start_ns);
	put_int(&l->line, "session_id", (int64_t)session_id);
	put_int(&l->line, "dropped", dropped);
	log_end_line(l);
}

static void log_status_line(struct evaluator *e, const char *ev, int64_t t_ns)
{
	struct eval_log *l = e->log;
	log_begin(l, ev, t_ns - e->bench_start_ns);
	put_str(&l->line, "status", eval_run_status_name(e->run_status));
	put_str(&l->line, "reason", e->run_status_reason);
	log_end_line(l);
}

void eval_log_status(struct evaluator *e)
{
	log_status_line(e, "status", clock_mono_ns());
}

int eval_log_end(struct evaluator *e)
{
	log_status_line(e, "end", e->end_ns);
	e->log->ended = true;
	e->log->pending = 0;
	return eval_lf_flush(&e->log->lf);
}

void eval_log_flush(struct evaluator *e)
{
	if (!e->log->pending)
		return;
	e->log->pending = 0;
	eval_lf_flush(&e->log->lf);
}

void eval_log_free(struct evaluator *e)
{
	if (!e->log)
		return;
	eval_lf_flush(&e->log->lf);
	eval_lf_close(&e->log->lf);
	buf_free(&e->log->line);
	free(e->log);
	e->log = NULL;
}

/* ---- reading ---- */

struct eval_log_reader {
	FILE *f;
	bool own;
	char *name;
	size_t line_no;
	char *line;
	size_t line_cap;
	struct eval_log_header hdr;
	bool ended; /* the end record was read */
	bool eof;
	bool tail_cut;
	bool failed;
	char err[512];
};

void eval_ev_clear(struct eval_ev *ev)
{
	free(ev->req.prompt_text);
	free(ev->req.parent_nodes);
	/* (the workload module's own free is not linked here: metrics uses its header only) */
	for (size_t i = 0; i < ev->req.n_history; i++) {
		free(ev->req.history[i].role);
		free(ev->req.history[i].content);
	}
	free(ev->req.history);
	rec_free(&ev->rec);
	memset(ev, 0, sizeof *ev);
}

static int rd_fail(struct eval_log_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rd_fail(struct eval_log_reader *r, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(r->err, sizeof r->err, "%s:%zu: %s", r->name, r->line_no, msg);
	r->failed = true;
	return -1;
}

/* The exact integer range of a double: larger values would not read back as written. */
#define EVAL_LOG_MAX_INT 9007199254740992.0

static int rd_int(struct eval_log_reader *r, const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return rd_fail(r, "missing key '%s'", key);
	double d = v->valuedouble;
	if (!cJSON_IsNumber(v) || d != floor(d) || fabs(d) > EVAL_LOG_MAX_INT)
		return rd_fail(r, "key '%s': expected an integer (at most 2^53 in magnitude)", key);
	if (d < (double)lo || d > (double)hi)
		return rd_fail(r, "key '%s': %.17g is out of range [%lld, %lld]", key, d, (long long)lo, (long long)hi);
	*out = (int64_t)d;
	return 0;
}

#define RD_I64 (-(int64_t)EVAL_LOG_MAX_INT), ((int64_t)EVAL_LOG_MAX_INT)
#define RD_U64 0, ((int64_t)EVAL_LOG_MAX_INT)
#define RD_U32 0, ((int64_t)UINT32_MAX)
#define RD_I32 ((int64_t)INT32_MIN), ((int64_t)INT32_MAX)

static int rd_time(struct eval_log_reader *r, const cJSON *o, const char *key, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (v && cJSON_IsNull(v)) {
		*out = EVAL_LOG_NO_TIME;
		return 0;
	}
	return rd_int(r, o, key, RD_I64, out);
}

static int rd_bool(struct eval_log_reader *r, const cJSON *o, const char *key, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return rd_fail(r, "missing key '%s'", key);
	if (!cJSON_IsBool(v))
		return rd_fail(r, "key '%s': expected true or false", key);
	*out = cJSON_IsTrue(v);
	return 0;
}

static int rd_str(struct eval_log_reader *r, const cJSON *o, const char *key, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return rd_fail(r, "missing key '%s'", key);
	if (!cJSON_IsString(v) || !v->valuestring)
		return rd_fail(r, "key '%s': expected a string", key);
	*out = v->valuestring;
	return 0;
}

static int rd_strcpy(struct eval_log_reader *r, const cJSON *o, const char *key, char *dst, size_t cap)
{
	const char *s;
	if (rd_str(r, o, key, &s) != 0)
		return -1;
	if (strlen(s) >= cap)
		return rd_fail(r, "key '%s': longer than %zu bytes", key, cap - 1);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

static int rd_double(struct eval_log_reader *r, const cJSON *o, const char *key, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v)
		return rd_fail(r, "missing key '%s'", key);
	if (cJSON_IsNumber(v)) {
		*out = v->valuedouble;
		return 0;
	}
	if (cJSON_IsString(v) && v->valuestring) {
		if (!strcmp(v->valuestring, "inf")) {
			*out = INFINITY;
			return 0;
		}
		if (!strcmp(v->valuestring, "-inf")) {
			*out = -INFINITY;
			return 0;
		}
		if (!strcmp(v->valuestring, "nan")) {
			*out = NAN;
			return 0;
		}
	}
	return rd_fail(r, "key '%s': expected a number", key);
}

static const cJSON *rd_array(struct eval_log_reader *r, const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!v) {
		rd_fail(r, "missing key '%s'", key);
		return NULL;
	}
	if (!cJSON_IsArray(v)) {
		rd_fail(r, "key '%s': expected an array", key);
		return NULL;
	}
	return v;
}

static int rd_status(struct eval_log_reader *r, const cJSON *o, enum eval_run_status *st, char *reason, size_t cap)
{
	const char *s;
	if (rd_str(r, o, "status", &s) != 0)
		return -1;
	if (!strcmp(s, "complete"))
		*st = EVAL_RUN_COMPLETE;
	else if (!strcmp(s, "truncated"))
		*st = EVAL_RUN_TRUNCATED;
	else if (!strcmp(s, "interrupted"))
		*st = EVAL_RUN_INTERRUPTED;
	else
		return rd_fail(r, "key 'status': '%s' is not complete, truncated or interrupted", s);
	return rd_strcpy(r, o, "reason", reason, cap);
}

static enum rec_error rd_error_kind(const char *name)
{
	for (int k = REC_ERR_HTTP; k < REC_ERR_N_KINDS; k++)
		if (!strcmp(name, rec_error_class_name((enum rec_error)k)))
			return (enum rec_error)k;
	/* (an unknown class is the client's own failure in the evaluator as well) */
	return REC_OK;
}

/* Read one line into r->line (without its newline). 1: a line; 0: end of file. */
static int rd_line(struct eval_log_reader *r)
{
	errno = 0;
	ssize_t n = getline(&r->line, &r->line_cap, r->f);
	if (n < 0) {
		if (errno && ferror(r->f))
			return rd_fail(r, "read error: %s", strerror(errno));
		r->eof = true;
		return 0;
	}
	r->line_no++;
	if (n == 0 || r->line[n - 1] != '\n') {
		/* the last line, cut short: a shard stopped while writing it */
		r->tail_cut = true;
		r->eof = true;
		return 0;
	}
	r->line[n - 1] = '\0';
	if (memchr(r->line, '\0', (size_t)n - 1))
		return rd_fail(r, "a NUL byte inside the line");
	return 1;
}

static cJSON *rd_parse(struct eval_log_reader *r)
{
	cJSON *o = cJSON_Parse(r->line);
	if (!o) {
		rd_fail(r, "not valid JSON");
		return NULL;
	}
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		rd_fail(r, "not a JSON object");
		return NULL;
	}
	return o;
}

/* start_epoch_ns: nanoseconds since 1970 need 61 bits, more than a double holds exactly, so the
 * digits are read from the line itself (the occurrence of the key whose value cJSON read as the same
 * number: a string value cannot fake it beyond the precision of a double). */
static int rd_epoch(struct eval_log_reader *r, const cJSON *o, const char *name, int64_t *out)
{
	char key[64];
	snprintf(key, sizeof key, "\"%s\":", name);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (!v)
		return rd_fail(r, "missing key '%s'", name);
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 9.2e18)
		return rd_fail(r, "key '%s': expected an integer (nanoseconds since 1970)", name);
	*out = (int64_t)v->valuedouble;
	for (const char *p = strstr(r->line, key); p; p = strstr(p + 1, key)) {
		const char *q = p + strlen(key);
		while (*q == ' ')
			q++;
		char *end;
		errno = 0;
		long long x = strtoll(q, &end, 10);
		if (end != q && !errno && (*end == ',' || *end == '}' || *end == ' ') && (double)x == v->valuedouble) {
			*out = x;
			break;
		}
	}
	return 0;
}

static int rd_header(struct eval_log_reader *r)
{
	int rc = rd_line(r);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		r->line_no = r->line_no ? r->line_no : 1;
		return rd_fail(r, "no header line (an empty event log)");
	}
	cJSON *o = rd_parse(r);
	if (!o)
		return -1;
	const char *ev;
	int64_t v, idx, cnt;
	struct eval_log_header *h = &r->hdr;
	if (rd_str(r, o, "ev", &ev) != 0)
		goto bad;
	if (strcmp(ev, "shard") != 0) {
		rd_fail(r, "the first line is not the shard header ({\"ev\":\"shard\", ...}) but \"%s\"", ev);
		goto bad;
	}
	if (rd_int(r, o, "format", RD_I64, &v) != 0)
		goto bad;
	if (v != EVAL_LOG_FORMAT) {
		rd_fail(r, "event log format %lld; this veeksha reads format %d", (long long)v, EVAL_LOG_FORMAT);
		goto bad;
	}
	if (rd_int(r, o, "index", RD_U32, &idx) != 0 || rd_int(r, o, "count", RD_U32, &cnt) != 0)
		goto bad;
	if (cnt < 1 || idx >= cnt) {
		rd_fail(r, "shard index %lld of count %lld does not exist", (long long)idx, (long long)cnt);
		goto bad;
	}
	h->index = (uint32_t)idx;
	h->count = (uint32_t)cnt;
	if (rd_strcpy(r, o, "host", h->host, sizeof h->host) != 0 || rd_int(r, o, "pid", RD_I64, &h->pid) != 0 ||
	    rd_strcpy(r, o, "clock", h->clock, sizeof h->clock) != 0 ||
	    rd_epoch(r, o, "start_epoch_ns", &h->start_epoch_ns) != 0 ||
	    rd_epoch(r, o, "start_realtime_ns", &h->start_realtime_ns) != 0 ||
	    rd_strcpy(r, o, "veeksha_version", h->version, sizeof h->version) != 0 ||
	    rd_strcpy(r, o, "tokenizer", h->tokenizer, sizeof h->tokenizer) != 0)
		goto bad;
	cJSON_Delete(o);
	return 0;
bad:
	cJSON_Delete(o);
	return -1;
}

static struct eval_log_reader *reader_new(FILE *f, bool own, const char *name, char *err, size_t err_len)
{
	struct eval_log_reader *r = xcalloc(1, sizeof *r);
	r->f = f;
	r->own = own;
	r->name = xstrdup(name);
	if (rd_header(r) != 0) {
		snprintf(err, err_len, "%s", r->err);
		eval_log_reader_close(r);
		return NULL;
	}
	return r;
}

struct eval_log_reader *eval_log_reader_open(const char *path, char *err, size_t err_len)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, err_len, "%s: %s", path, strerror(errno));
		return NULL;
	}
	return reader_new(f, true, path, err, err_len);
}

struct eval_log_reader *eval_log_reader_open_stream(FILE *f, const char *name, char *err, size_t err_len)
{
	return reader_new(f, false, name, err, err_len);
}

const struct eval_log_header *eval_log_reader_header(const struct eval_log_reader *r)
{
	return &r->hdr;
}
const char *eval_log_reader_error(const struct eval_log_reader *r)
{
	return r->err;
}
bool eval_log_reader_tail_cut(const struct eval_log_reader *r)
{
	return r->tail_cut;
}

void eval_log_reader_close(struct eval_log_reader *r)
{
	if (!r)
		return;
	if (r->own && r->f)
		fclose(r->f);
	free(r->line);
	free(r->name);
	free(r);
}

static int rd_reg(struct eval_log_reader *r, const cJSON *o, struct eval_ev *ev)
{
	struct wl_request *q = &ev->req;
	int64_t v;
	if (rd_int(r, o, "request_id", RD_U64, &v) != 0)
		return -1;
	q->id = (uint64_t)v;
	if (rd_int(r, o, "session_id", RD_U64, &v) != 0)
		return -1;
	q->session_id = (uint64_t)v;
	if (rd_int(r, o, "node_id", RD_U32, &v) != 0)
		return -1;
	q->node_id = (uint32_t)v;
	if (rd_int(r, o, "session_size", RD_U32, &v) != 0)
		return -1;
	ev->session_size = (uint32_t)v;
	if (rd_time(r, o, "intended", &ev->intended_ns) != 0 || rd_time(r, o, "dispatched", &ev->dispatched_ns) != 0 ||
	    rd_double(r, o, "wait_after_ready_s", &q->wait_after_ready_s) != 0)
		return -1;
	const cJSON *ps = rd_array(r, o, "parents");
	if (!ps)
		return -1;
	int np = cJSON_GetArraySize(ps);
	if (np > 0) {
		q->parent_nodes = xcalloc((size_t)np, sizeof *q->parent_nodes);
		const cJSON *p;
		cJSON_ArrayForEach(p, ps)
		{
			double d = p->valuedouble;
			if (!cJSON_IsNumber(p) || d != floor(d) || d < 0 || d > (double)UINT32_MAX)
				return rd_fail(r, "key 'parents': expected node ids (integers)");
			q->parent_nodes[q->n_parents++] = (uint32_t)d;
		}
	}
	if (rd_int(r, o, "history_parent", RD_I32, &v) != 0)
		return -1;
	q->history_parent = (int32_t)v;
	if (rd_int(r, o, "target_prompt_tokens", RD_I64, &q->target_prompt_tokens) != 0 ||
	    rd_int(r, o, "target_output_tokens", RD_I64, &q->target_output_tokens) != 0)
		return -1;
	const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(o, "prompt");
	if (prompt) {
		const char *s;
		if (rd_str(r, o, "prompt", &s) != 0)
			return -1;
		q->prompt_text = xstrdup(s);
	}
	const cJSON *hist = cJSON_GetObjectItemCaseSensitive(o, "history");
	if (hist) {
		if (!cJSON_IsArray(hist))
			return rd_fail(r, "key 'history': expected an array of [role, content] pairs");
		int nh = cJSON_GetArraySize(hist);
		if (nh > 0)
			q->history = xcalloc((size_t)nh, sizeof *q->history);
		const cJSON *m;
		cJSON_ArrayForEach(m, hist)
		{
			const cJSON *role = cJSON_GetArrayItem(m, 0), *content = cJSON_GetArrayItem(m, 1);
			if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != 2 || !cJSON_IsString(role) ||
			    !cJSON_IsString(content))
				return rd_fail(r, "key 'history': expected an array of [role, content] pairs");
			q->history[q->n_history].role = xstrdup(role->valuestring);
			q->history[q->n_history].content = xstrdup(content->valuestring);
			q->n_history++;
		}
	}
	return 0;
}

static int rd_done(struct eval_log_reader *r, const cJSON *o, struct eval_ev *ev)
{
	struct rec_record *c = &ev->rec;
	int64_t v;
	if (rd_bool(r, o, "included", &ev->included) != 0)
		return -1;
	if (rd_int(r, o, "request_id", RD_U64, &v) != 0)
		return -1;
	c->request_id = (uint64_t)v;
	if (rd_int(r, o, "session_id", RD_U64, &v) != 0)
		return -1;
	c->session_id = (uint64_t)v;
	if (rd_int(r, o, "node_id", RD_U32, &v) != 0)
		return -1;
	c->node_id = (uint32_t)v;
	if (rd_int(r, o, "session_total_requests", RD_U32, &v) != 0)
		return -1;
	c->session_total_requests = (uint32_t)v;
	if (rd_time(r, o, "intended", &c->intended_ns) != 0 || rd_time(r, o, "dispatched", &c->dispatched_ns) != 0 ||
	    rd_time(r, o, "sent", &c->sent_ns) != 0 || rd_time(r, o, "headers", &c->headers_ns) != 0 ||
	    rd_time(r, o, "completed", &c->completed_ns) != 0 || rd_time(r, o, "processed", &c->processed_ns) != 0)
		return -1;
	if (c->processed_ns == EVAL_LOG_NO_TIME)
		return rd_fail(r, "key 'processed': a record always has its processing time");
	if (rd_int(r, o, "num_delta_prompt_tokens", RD_I64, &c->num_delta_prompt_tokens) != 0 ||
	    rd_int(r, o, "num_total_prompt_tokens", RD_I64, &c->num_total_prompt_tokens) != 0 ||
	    rd_int(r, o, "target_prompt_tokens", RD_I64, &c->target_prompt_tokens) != 0 ||
	    rd_int(r, o, "num_output_tokens", RD_I64, &c->num_output_tokens) != 0 ||
	    rd_int(r, o, "requested_output_tokens", RD_I64, &c->requested_output_tokens) != 0 ||
	    rd_bool(r, o, "usage_from_server", &c->usage_from_server) != 0 ||
	    rd_bool(r, o, "is_stream", &c->is_stream) != 0 || rd_bool(r, o, "success", &c->success) != 0)
		return -1;
	if (rd_int(r, o, "http_status", RD_I32, &v) != 0)
		return -1;
	c->http_status = (int)v;
	if (!c->success) {
		const char *cls;
		if (rd_str(r, o, "error_class", &cls) != 0)
			return -1;
		c->error_kind = rd_error_kind(cls);
		if (rd_int(r, o, "error_code", RD_I32, &v) != 0)
			return -1;
		c->error_code = (int)v;
		if (rd_strcpy(r, o, "error_msg", c->error_msg, sizeof c->error_msg) != 0)
			return -1;
	}
	const cJSON *ct = rd_array(r, o, "chunk_t");
	const cJSON *ck = ct ? rd_array(r, o, "chunk_tokens") : NULL;
	if (!ck)
		return -1;
	if (cJSON_GetArraySize(ct) != cJSON_GetArraySize(ck))
		return rd_fail(r, "keys 'chunk_t' and 'chunk_tokens' have different lengths");
	int64_t t = 0;
	const cJSON *tv = ct->child, *kv = ck->child;
	for (size_t i = 0; tv && kv; i++, tv = tv->next, kv = kv->next) {
		double dt = tv->valuedouble, dk = kv->valuedouble;
		if (!cJSON_IsNumber(tv) || dt != floor(dt) || fabs(dt) > EVAL_LOG_MAX_INT)
			return rd_fail(r, "key 'chunk_t': expected integers (nanoseconds)");
		if (!cJSON_IsNumber(kv) || dk != floor(dk) || dk < INT32_MIN || dk > INT32_MAX)
			return rd_fail(r, "key 'chunk_tokens': expected 32-bit integers");
		t = i ? t + (int64_t)dt : (int64_t)dt;
		if (fabs((double)t) > EVAL_LOG_MAX_INT)
			return rd_fail(r, "key 'chunk_t': a chunk time out of range");
		rec_add_chunk(c, t, (int32_t)dk);
	}
	if (cJSON_GetObjectItemCaseSensitive(o, "first_answer")) {
		if (rd_time(r, o, "first_answer", &c->first_answer_ns) != 0 ||
		    rd_time(r, o, "first_reasoning", &c->first_reasoning_ns) != 0 ||
		    rd_time(r, o, "last_reasoning", &c->last_reasoning_ns) != 0 ||
		    rd_int(r, o, "num_reasoning_tokens", RD_I64, &c->num_reasoning_tokens) != 0 ||
		    rd_int(r, o, "num_answer_tokens", RD_I64, &c->num_answer_tokens) != 0)
			return -1;
	} else {
		/* no reasoning: what the client records for such a response */
		c->first_answer_ns = c->n_chunks ? c->chunks[0].t_ns : EVAL_LOG_NO_TIME;
		c->first_reasoning_ns = c->last_reasoning_ns = EVAL_LOG_NO_TIME;
		c->num_reasoning_tokens = 0;
		c->num_answer_tokens = c->num_output_tokens;
	}
	return 0;
}

int eval_log_reader_next(struct eval_log_reader *r, struct eval_ev *ev)
{
	eval_ev_clear(ev);
	if (r->failed)
		return -1;
	if (r->eof)
		return 0;
	int rc = rd_line(r);
	if (rc <= 0)
		return rc;
	if (r->ended)
		return rd_fail(r, "a line after the end record");
	cJSON *o = rd_parse(r);
	if (!o)
		return -1;
	const char *kind;
	ev->line_no = r->line_no;
	if (rd_str(r, o, "ev", &kind) != 0 || rd_int(r, o, "t", RD_I64, &ev->t_ns) != 0)
		goto bad;
	if (!strcmp(kind, "reg")) {
		ev->kind = EVAL_EV_REG;
		if (rd_reg(r, o, ev) != 0)
			goto bad;
	} else if (!strcmp(kind, "done")) {
		ev->kind = EVAL_EV_DONE;
		if (rd_done(r, o, ev) != 0)
			goto bad;
	} else if (!strcmp(kind, "cancel")) {
		int64_t v;
		ev->kind = EVAL_EV_CANCEL;
		if (rd_int(r, o, "session_id", RD_U64, &v) != 0)
			goto bad;
		ev->session_id = (uint64_t)v;
		if (rd_int(r, o, "dropped", RD_U32, &v) != 0)
			goto bad;
		ev->dropped = (uint32_t)v;
	} else if (!strcmp(kind, "status") || !strcmp(kind, "end")) {
		ev->kind = kind[0] == 's' ? EVAL_EV_STATUS : EVAL_EV_END;
		if (rd_status(r, o, &ev->status, ev->reason, sizeof ev->reason) != 0)
			goto bad;
		if (ev->kind == EVAL_EV_END)
			r->ended = true;
	} else if (!strcmp(kind, "shard")) {
		rd_fail(r, "a second shard header");
		goto bad;
	} else {
		rd_fail(r, "unknown event \"%s\" (expected reg, done, cancel, status or end)", kind);
		goto bad;
	}
	cJSON_Delete(o);
	return 1;
bad:
	cJSON_Delete(o);
	eval_ev_clear(ev);
	return -1;
}

/* ---- replay ---- */

struct replay_shard {
	struct eval_log_reader *rd;
	struct eval_ev ev; /* the next event (when has_ev) */
	bool has_ev;
	struct eval_replay_stats st;
	struct dvec lateness_ms;
	bool has_status; /* a status event was seen */
};

struct eval_replay {
	struct replay_shard *sh;
	size_t n;
	char **paths;
	/* the measurement window (eval_replay_set_window): request ids left out, and the sessions that
	 * keep at least one request (both sorted) */
	uint64_t *excluded, *kept_sessions;
	size_t n_excluded, n_kept_sessions;
	bool windowed;
};

struct eval_replay *eval_replay_open(const char *const *paths, size_t n, char *err, size_t err_len)
{
	struct eval_replay *rp = xcalloc(1, sizeof *rp);
	rp->sh = xcalloc(n ? n : 1, sizeof *rp->sh);
	rp->n = n;
	rp->paths = xcalloc(n ? n : 1, sizeof *rp->paths);
	for (size_t i = 0; i < n; i++) {
		rp->paths[i] = xstrdup(paths[i]);
		rp->sh[i].rd = eval_log_reader_open(paths[i], err, err_len);
		if (!rp->sh[i].rd) {
			eval_replay_free(rp);
			return NULL;
		}
		rp->sh[i].st.lateness_p50_ms = rp->sh[i].st.lateness_p99_ms = NAN;
	}
	return rp;
}

size_t eval_replay_count(const struct eval_replay *rp)
{
	return rp->n;
}

const struct eval_log_header *eval_replay_header(const struct eval_replay *rp, size_t i)
{
	return eval_log_reader_header(rp->sh[i].rd);
}

const struct eval_replay_stats *eval_replay_stats(const struct eval_replay *rp, size_t i)
{
	return &rp->sh[i].st;
}

static int replay_advance(struct replay_shard *s, char *err, size_t err_len)
{
	int rc = eval_log_reader_next(s->rd, &s->ev);
	if (rc < 0) {
		snprintf(err, err_len, "%s", eval_log_reader_error(s->rd));
		s->has_ev = false;
		return -1;
	}
	s->has_ev = rc == 1;
	if (!s->has_ev && eval_log_reader_tail_cut(s->rd)) {
		s->st.tail_cut = true;
		log_warn("%s: the last line is incomplete (the shard stopped while writing it); it is ignored",
		         s->rd->name);
	}
	return 0;
}

static int64_t abs_time(int64_t base_ns, int64_t rel_ns)
{
	return rel_ns == EVAL_LOG_NO_TIME ? 0 : base_ns + rel_ns;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool u64_sorted_has(const uint64_t *v, size_t n, uint64_t key)
{
	return n && bsearch(&key, v, n, sizeof *v, u64_cmp) != NULL;
}

struct window_reg {
	int64_t t_ns;
	uint64_t id, session_id;
};

static int window_reg_cmp(const void *a, const void *b)
{
	const struct window_reg *x = a, *y = b;
	if (x->t_ns != y->t_ns)
		return x->t_ns < y->t_ns ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int eval_replay_set_window(struct eval_replay *rp, struct eval_window_info *w, char *err, size_t err_len)
{
	/* a first pass over the logs: every registration's dispatch time, and the run's end */
	struct window_reg *v = NULL;
	size_t n = 0, cap = 0;
	int64_t end_ns = 0;
	int rc = 0;
	for (size_t i = 0; i < rp->n && rc == 0; i++) {
		struct eval_log_reader *r = eval_log_reader_open(rp->paths[i], err, err_len);
		if (!r) {
			rc = -1;
			break;
		}
		struct eval_ev ev;
		memset(&ev, 0, sizeof ev);
		int got;
		while ((got = eval_log_reader_next(r, &ev)) == 1) {
			if (ev.t_ns > end_ns)
				end_ns = ev.t_ns;
			if (ev.kind != EVAL_EV_REG)
				continue;
			xgrow((void **)&v, &cap, n + 1, sizeof *v);
			v[n++] = (struct window_reg){ev.dispatched_ns != EVAL_LOG_NO_TIME ? ev.dispatched_ns : ev.t_ns,
			                             ev.req.id, ev.req.session_id};
		}
		if (got < 0) {
			snprintf(err, err_len, "%s", eval_log_reader_error(r));
			rc = -1;
		}
		eval_ev_clear(&ev);
		eval_log_reader_close(r);
	}
	if (rc == 0) {
		qsort(v, n, sizeof *v, window_reg_cmp);
		rp->excluded = xcalloc(n ? n : 1, sizeof *rp->excluded);
		rp->kept_sessions = xcalloc(n ? n : 1, sizeof *rp->kept_sessions);
		for (size_t i = 0; i < n; i++) {
			bool out = eval_window_excludes(w, i, n, (double)v[i].t_ns / 1e9, (double)end_ns / 1e9);
			if (out)
				rp->excluded[rp->n_excluded++] = v[i].id;
			else
				rp->kept_sessions[rp->n_kept_sessions++] = v[i].session_id;
		}
		qsort(rp->excluded, rp->n_excluded, sizeof *rp->excluded, u64_cmp);
		qsort(rp->kept_sessions, rp->n_kept_sessions, sizeof *rp->kept_sessions, u64_cmp);
		rp->windowed = true;
		w->excluded_requests = rp->n_excluded;
	}
	free(v);
	return rc;
}

static void replay_apply(struct replay_shard *s, struct evaluator *e, int64_t base_ns)
{
	struct eval_ev *ev = &s->ev;
	s->st.end_ns = ev->t_ns;
	switch (ev->kind) {
	case EVAL_EV_REG:
		s->st.dispatched++;
		if (ev->intended_ns != EVAL_LOG_NO_TIME && ev->dispatched_ns != EVAL_LOG_NO_TIME)
			dvec_push(&s->lateness_ms, (double)(ev->dispatched_ns - ev->intended_ns) / 1e6);
		eval_register_request(e, &ev->req, ev->session_size, abs_time(base_ns, ev->intended_ns),
		                      abs_time(base_ns, ev->dispatched_ns));
		break;
	case EVAL_EV_DONE: {
		struct rec_record *c = &ev->rec;
		if (!ev->included)
			s->st.post_timeout++;
		else if (c->success)
			s->st.completed++;
		else if (c->error_kind == REC_ERR_CANCELLED)
			s->st.cancelled++;
		else
			s->st.errors++;
		c->intended_ns = abs_time(base_ns, c->intended_ns);
		c->dispatched_ns = abs_time(base_ns, c->dispatched_ns);
		c->sent_ns = abs_time(base_ns, c->sent_ns);
		c->headers_ns = abs_time(base_ns, c->headers_ns);
		c->completed_ns = abs_time(base_ns, c->completed_ns);
		c->processed_ns = abs_time(base_ns, c->processed_ns);
		c->first_answer_ns = abs_time(base_ns, c->first_answer_ns);
		c->first_reasoning_ns = abs_time(base_ns, c->first_reasoning_ns);
		c->last_reasoning_ns = abs_time(base_ns, c->last_reasoning_ns);
		for (size_t i = 0; i < c->n_chunks; i++)
			c->chunks[i].t_ns += base_ns;
		eval_record_completed(e, c, ev->included);
		break;
	}
	case EVAL_EV_CANCEL:
		s->st.cancelled += ev->dropped;
		eval_session_cancelled_at(e, ev->session_id, ev->dropped, base_ns + ev->t_ns);
		break;
	case EVAL_EV_STATUS:
	case EVAL_EV_END:
		/* combined by eval_replay_finish */
		s->st.status = ev->status;
		snprintf(s->st.reason, sizeof s->st.reason, "%s", ev->reason);
		s->has_status = true;
		if (ev->kind == EVAL_EV_END)
			s->st.has_end = true;
		break;
	}
}

int eval_replay_run(struct eval_replay *rp, struct evaluator *e, int64_t base_ns, char *err, size_t err_len)
{
	for (size_t i = 0; i < rp->n; i++)
		if (replay_advance(&rp->sh[i], err, err_len) != 0)
			return -1;
	for (;;) {
		/* the earliest next event; a tie goes to the shard listed first (a linear scan: a merge has
		 * a few shards, and each event costs far more to evaluate than this) */
		struct replay_shard *best = NULL;
		for (size_t i = 0; i < rp->n; i++) {
			struct replay_shard *s = &rp->sh[i];
			if (s->has_ev && (!best || s->ev.t_ns < best->ev.t_ns))
				best = s;
		}
		if (!best)
			break;
		/* outside the measurement window: the request ran, and is not evaluated */
		const struct eval_ev *ev = &best->ev;
		bool skip =
		    rp->windowed && (((ev->kind == EVAL_EV_REG || ev->kind == EVAL_EV_DONE) &&
		                      u64_sorted_has(rp->excluded, rp->n_excluded,
		                                     ev->kind == EVAL_EV_REG ? ev->req.id : ev->rec.request_id)) ||
		                     (ev->kind == EVAL_EV_CANCEL &&
		                      !u64_sorted_has(rp->kept_sessions, rp->n_kept_sessions, ev->session_id)));
		if (skip)
			best->st.end_ns = ev->t_ns;
		else
			replay_apply(best, e, base_ns);
		if (replay_advance(best, err, err_len) != 0)
			return -1;
	}
	for (size_t i = 0; i < rp->n; i++) {
		struct replay_shard *s = &rp->sh[i];
		if (s->lateness_ms.n) {
			pct_sort(s->lateness_ms.v, s->lateness_ms.n);
			s->st.lateness_p50_ms = pct_linear_sorted(s->lateness_ms.v, s->lateness_ms.n, 0.5);
			s->st.lateness_p99_ms = pct_linear_sorted(s->lateness_ms.v, s->lateness_ms.n, 0.99);
		}
		if (!s->st.has_end && !s->has_status)
			s->st.status = EVAL_RUN_COMPLETE;
	}
	return 0;
}

/* truncated > interrupted > complete */
static int status_rank(enum eval_run_status st)
{
	return st == EVAL_RUN_TRUNCATED ? 2 : st == EVAL_RUN_INTERRUPTED ? 1 : 0;
}

int eval_replay_finish(struct eval_replay *rp, struct evaluator *e, int64_t base_ns, enum eval_run_status extra_status,
                       const char *extra_reason)
{
	int64_t end = 0;
	bool have_end = false;
	int worst = status_rank(extra_status);
	for (size_t i = 0; i < rp->n; i++) {
		const struct eval_replay_stats *st = &rp->sh[i].st;
		if (!have_end || st->end_ns > end)
			end = st->end_ns;
		have_end = true;
		int rank = st->has_end ? status_rank(st->status) : 2;
		if (rank > worst)
			worst = rank;
	}
	enum eval_run_status status = worst == 2   ? EVAL_RUN_TRUNCATED
	                              : worst == 1 ? EVAL_RUN_INTERRUPTED
	                                           : EVAL_RUN_COMPLETE;
	struct buf why;
	buf_init(&why);
	if (rp->n == 1 && !extra_reason) {
		/* a replay of one log: its own reason, so that the files are the shard's own */
		buf_puts(&why, rp->sh[0].st.has_end ? rp->sh[0].st.reason : "the event log has no end record");
	} else {
		for (size_t i = 0; i < rp->n; i++) {
			const struct eval_replay_stats *st = &rp->sh[i].st;
			const struct eval_log_header *h = eval_replay_header(rp, i);
			int rank = st->has_end ? status_rank(st->status) : 2;
			if (rank != worst || worst == 0)
				continue;
			buf_printf(&why, "%sshard %u of %u: %s", why.len ? "; " : "", h->index, h->count,
			           st->has_end ? st->reason
			                       : "its event log has no end record (the shard did not finish)");
		}
		if (extra_reason && status_rank(extra_status) == worst && worst > 0)
			buf_printf(&why, "%s%s", why.len ? "; " : "", extra_reason);
	}
	eval_set_run_status(e, status, why.data ? why.data : "");
	buf_free(&why);
	return eval_finalize(e, base_ns + (have_end ? end : 0));
}

void eval_replay_free(struct eval_replay *rp)
{
	if (!rp)
		return;
	for (size_t i = 0; i < rp->n; i++) {
		eval_ev_clear(&rp->sh[i].ev);
		eval_log_reader_close(rp->sh[i].rd);
		dvec_free(&rp->sh[i].lateness_ms);
	}
	for (size_t i = 0; i < rp->n; i++)
		free(rp->paths ? rp->paths[i] : NULL);
	free(rp->paths);
	free(rp->excluded);
	free(rp->kept_sessions);
	free(rp->sh);
	free(rp);
}
