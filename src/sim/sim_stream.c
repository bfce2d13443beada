/* One generation request of the simulated server: its token schedule (zero, fixed, roofline), SSE
 * chunks or the JSON body, injected faults, and the data of its emit-log line. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/rng.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/ev.h"
#include "core/list.h"
#include "core/xalloc.h"
#include "sim/sim.h"
#include "sim/sim_server.h"

/* The two helpers of the per-chunk path live here, beside their only callers, so that the compiler
 * can inline them (moving them to other files cost 3 % more instructions per chunk). */

/* n observations of s seconds each (the ITL of n tokens that arrived together counts n times) */
static void sim_hist_observe(struct sim_hist *h, double s, long long n)
{
	if (!(s >= 0))
		s = 0;
	int lo = 0, hi = h->nb; /* first bound >= s (Prometheus buckets are le) */
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (h->le[mid] < s)
			lo = mid + 1;
		else
			hi = mid;
	}
	atomic_fetch_add(&h->b[lo], n);
	atomic_fetch_add(&h->sum_us, (long long)llround(s * 1e6 * (double)n));
	atomic_fetch_add(&h->count, n);
}

/* Append one HTTP/1.1 chunk (or raw bytes when the response is not chunked). */
static void sim_put_chunk(struct sim_conn *c, bool chunked, const char *p, size_t n)
{
	if (chunked) {
		char hdr[24];
		int hl = snprintf(hdr, sizeof hdr, "%zx\r\n", n);
		buf_append(&c->out, hdr, (size_t)hl);
	}
	buf_append(&c->out, p, n);
	if (chunked)
		buf_append(&c->out, "\r\n", 2);
}

/* ------------------------------------------------------------------ emit log */
static void sim_log_chunk(struct sim_stream *st, int64_t sched_ns, int32_t tokens)
{
	if (!st->w->srv->emit_fp)
		return;
	if (st->log_n == st->log_cap) {
		size_t cap = st->log_cap;
		xgrow((void **)&st->log_mono, &cap, st->log_n + 1, sizeof *st->log_mono);
		st->log_real = xrealloc(st->log_real, cap * sizeof *st->log_real);
		st->log_sched = xrealloc(st->log_sched, cap * sizeof *st->log_sched);
		st->log_tok = xrealloc(st->log_tok, cap * sizeof *st->log_tok);
		st->log_cap = cap;
	}
	st->log_mono[st->log_n] = clock_mono_ns();
	st->log_real[st->log_n] = clock_real_ns();
	st->log_sched[st->log_n] = sched_ns;
	st->log_tok[st->log_n] = tokens;
	st->log_n++;
}

/* Reasoning tokens among the first `sent` output tokens, for usage (-1: not reported). */
int64_t sim_stream_reasoning_in(const struct sim_stream *st, int64_t sent)
{
	if (!st->report_reasoning)
		return -1;
	return sent < st->reasoning_tokens ? sent : st->reasoning_tokens;
}

/* ------------------------------------------------------------------ streams */
void sim_stream_free(struct sim_stream *st)
{
	free(st->prefix);
	free(st->log_mono);
	free(st->log_real);
	free(st->log_sched);
	free(st->log_tok);
	free(st);
}

static void sim_stream_on_timer(struct ev_loop *loop, void *ctx)
{
	struct sim_stream *st = ctx;
	st->timer_id = 0;
	sim_stream_pump(st, ev_now_ns(loop));
}

/* Pump the stream at t_ns: one timer of the worker's loop per stream, replaced when the stream's
 * next event moves (sim_stream_kill cancels it, so it never fires for a dead stream). */
static void sim_stream_pump_at(struct sim_stream *st, int64_t t_ns)
{
	if (st->timer_id) {
		if (st->timer_ns == t_ns)
			return;
		ev_timer_cancel(st->w->loop, st->timer_id);
	}
	st->timer_ns = t_ns;
	st->timer_id = ev_timer_at(st->w->loop, t_ns, sim_stream_on_timer, st);
}

/* Detach a stream from its connection and the engine; freed at the end of the loop iteration. */
void sim_stream_kill(struct sim_stream *st)
{
	if (st->dead)
		return;
	struct sim_worker *w = st->w;
	struct sim_server *srv = w->srv;
	st->dead = true;
	ev_timer_cancel(w->loop, st->timer_id);
	st->timer_id = 0;
	if (st->engine_submitted) {
		pthread_mutex_lock(&srv->emu);
		sim_engine_abort(srv->engine, &st->seq);
		pthread_mutex_unlock(&srv->emu);
	}
	if (st->c && st->c->st == st)
		st->c->st = NULL;
	st->c = NULL;
	atomic_fetch_sub(&srv->active_gen, 1);
	list_push_tail(&w->zombie_streams, &st->znode);
}

static void sim_crash_check(struct sim_server *srv, struct sim_conn *c)
{
	long long done = atomic_fetch_add(&srv->n_completed, 1) + 1;
	if (srv->cfg->crash_after > 0 && done >= srv->cfg->crash_after) {
		if (c && !c->closed)
			(void)send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
		fprintf(stderr, "sim-server: --crash-after %lld reached, exiting with status 1\n",
		        (long long)srv->cfg->crash_after);
		_exit(1);
	}
}

static void sim_stream_done(struct sim_stream *st)
{
	struct sim_server *srv = st->w->srv;
	struct sim_conn *c = st->c;
	sim_log_write(srv, st, st->kind == SIM_API_CHAT ? "chat" : "completions");
	if (st->finished && st->status == 200) {
		atomic_fetch_add(&srv->prompt_tokens_total, st->prompt_tokens);
		atomic_fetch_add(&srv->generation_tokens_total, st->sent_tokens);
		if (!strcmp(st->finish_reason, "stop"))
			atomic_fetch_add(&srv->success_stop, 1);
		else
			atomic_fetch_add(&srv->success_length, 1);
		int64_t now = clock_mono_ns();
		sim_hist_observe(&srv->hist[SIM_H_E2E], (double)(now - st->arrival_ns) / 1e9, 1);
		/* queue time: arrival to the start of the engine step that first scheduled it (roofline) */
		int64_t q = st->seq.first_sched_ns - st->arrival_ns;
		if (st->engine_submitted && st->seq.first_sched_ns > 0)
			sim_hist_observe(&srv->hist[SIM_H_QUEUE], (double)(q > 0 ? q : 0) / 1e9, 1);
	}
	sim_stream_kill(st);
	sim_crash_check(srv, c);
	if (c && !c->closed) {
		if (sim_conn_flush(c) == 0 && !c->closed) {
			c->busy = false;
			if (c->close_after || c->w->draining) {
				c->close_after = true;
				if (sim_conn_pending(c) == 0)
					sim_conn_close(c);
			} else if (!c->in_process) {
				sim_conn_process(c); /* pipelined request? */
			}
		}
	}
}

void sim_stream_record_ttft(struct sim_stream *st, int64_t now)
{
	struct sim_server *srv = st->w->srv;
	st->first_token_ns = now;
	st->last_token_ns = now;
	sim_hist_observe(&srv->hist[SIM_H_TTFT], (double)(now - st->arrival_ns) / 1e9, 1);
}

/* n tokens sent at `now` after the previous ones: n inter-token latencies of (now - last) / n */
void sim_stream_record_itl(struct sim_stream *st, int64_t now, int64_t n)
{
	if (n <= 0 || st->last_token_ns == 0)
		return;
	sim_hist_observe(&st->w->srv->hist[SIM_H_ITL], (double)(now - st->last_token_ns) / 1e9 / (double)n, n);
	st->last_token_ns = now;
}

/* reasoning < 0: no completion_tokens_details (a sim without --reasoning-tokens answers as before) */
static void sim_usage_json(struct buf *b, int64_t prompt, int64_t completion, int64_t reasoning)
{
	buf_printf(b, "{\"prompt_tokens\":%lld,\"total_tokens\":%lld,\"completion_tokens\":%lld", (long long)prompt,
	           (long long)(prompt + completion), (long long)completion);
	if (reasoning >= 0)
		buf_printf(b, ",\"completion_tokens_details\":{\"reasoning_tokens\":%lld}", (long long)reasoning);
	buf_putc(b, '}');
}

static void sim_put_pieces(struct buf *b, const struct sim_stream *st, int64_t from, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		size_t len;
		const char *p = sim_tok_output_piece(st->text_seed, from + i, &len);
		buf_append(b, p, len);
	}
}

/* Append one SSE event carrying tokens [sent, sent+n) (n may be 0 for a finish-only event). */
static void sim_stream_put_tokens(struct sim_stream *st, int64_t n, bool last, int64_t sched_ns)
{
	struct sim_conn *c = st->c;
	struct buf *b = &st->w->scratch;
	buf_reset(b);
	buf_puts(b, "data: ");
	buf_puts(b, st->prefix);
	/* the first reasoning_tokens tokens go out as delta.reasoning_content (vLLM's reasoning
	 * parser), the rest as content; a chunk across the boundary carries both */
	int64_t r_n = st->reasoning_tokens - st->sent_tokens;
	r_n = r_n < 0 ? 0 : r_n > n ? n : r_n;
	if (st->kind == SIM_API_CHAT) {
		buf_puts(b, "[{\"index\":0,\"delta\":{");
		if (st->sent_tokens == 0)
			buf_puts(b, "\"role\":\"assistant\",");
		if (r_n > 0) {
			buf_puts(b, "\"reasoning_content\":\"");
			sim_put_pieces(b, st, st->sent_tokens, r_n);
			buf_puts(b, r_n < n ? "\"," : "\"");
		}
		if (r_n < n || n == 0)
			buf_puts(b, "\"content\":\"");
	} else {
		buf_puts(b, "[{\"index\":0,\"text\":\"");
	}
	sim_put_pieces(b, st, st->sent_tokens + r_n, n - r_n);
	if (st->kind == SIM_API_CHAT && r_n == n && n > 0)
		buf_puts(b, "},\"logprobs\":null,\"finish_reason\":");
	else if (st->kind == SIM_API_CHAT)
		buf_puts(b, "\"},\"logprobs\":null,\"finish_reason\":");
	else
		buf_puts(b, "\",\"logprobs\":null,\"finish_reason\":");
	if (last)
		buf_printf(b, "\"%s\"", st->finish_reason);
	else
		buf_puts(b, "null");
	buf_puts(b, ",\"stop_reason\":null}]");
	st->sent_tokens += n;
	if (st->continuous_usage) {
		buf_puts(b, ",\"usage\":");
		sim_usage_json(b, st->prompt_tokens, st->sent_tokens, sim_stream_reasoning_in(st, st->sent_tokens));
	}
	buf_puts(b, "}\n\n");
	sim_put_chunk(c, st->chunked, b->data, b->len);
	sim_log_chunk(st, sched_ns, (int32_t)n);
}

static void sim_stream_finish_stream(struct sim_stream *st)
{
	struct sim_conn *c = st->c;
	struct buf *b = &st->w->scratch;
	if (st->include_usage) {
		buf_reset(b);
		buf_puts(b, "data: ");
		buf_puts(b, st->prefix);
		buf_puts(b, "[],\"usage\":");
		sim_usage_json(b, st->prompt_tokens, st->sent_tokens, sim_stream_reasoning_in(st, st->sent_tokens));
		buf_puts(b, "}\n\n");
		sim_put_chunk(c, st->chunked, b->data, b->len);
	}
	static const char done[] = "data: [DONE]\n\n";
	sim_put_chunk(c, st->chunked, done, sizeof done - 1);
	if (st->chunked)
		buf_append(&c->out, "0\r\n\r\n", 5);
	else
		c->close_after = true;
	st->finished = true;
}

static void sim_stream_finish_json(struct sim_stream *st, int64_t sched_ns)
{
	struct sim_conn *c = st->c;
	struct buf *b = &st->w->scratch;
	buf_reset(b);
	/* prefix ends with "choices": ; replace the chunk object name */
	buf_puts(b, st->prefix);
	int64_t r_n = st->reasoning_tokens < st->text_tokens ? st->reasoning_tokens : st->text_tokens;
	if (st->kind == SIM_API_CHAT) {
		buf_puts(b, "[{\"index\":0,\"message\":{\"role\":\"assistant\",");
		if (r_n > 0) {
			buf_puts(b, "\"reasoning_content\":\"");
			sim_put_pieces(b, st, 0, r_n);
			buf_puts(b, "\",");
		}
		buf_puts(b, "\"content\":\"");
	} else {
		buf_puts(b, "[{\"index\":0,\"text\":\"");
	}
	sim_put_pieces(b, st, r_n, st->text_tokens - r_n);
	buf_puts(b, st->kind == SIM_API_CHAT ? "\"},\"logprobs\":null,\"finish_reason\":\""
	                                     : "\",\"logprobs\":null,\"finish_reason\":\"");
	buf_puts(b, st->finish_reason);
	buf_puts(b, "\",\"stop_reason\":null}],\"usage\":");
	st->sent_tokens = st->text_tokens;
	sim_usage_json(b, st->prompt_tokens, st->sent_tokens, sim_stream_reasoning_in(st, st->sent_tokens));
	buf_puts(b, "}");
	st->first_byte_ns = clock_mono_ns();
	st->first_byte_real_ns = clock_real_ns();
	sim_put_head(c, 200, "application/json", false, b->len, st->req_id);
	buf_append(&c->out, b->data, b->len);
	sim_log_chunk(st, sched_ns, (int32_t)st->text_tokens);
	st->finished = true;
}

static void sim_stream_send_head(struct sim_stream *st)
{
	if (st->head_sent || !st->stream)
		return;
	st->head_sent = true;
	st->first_byte_ns = clock_mono_ns();
	st->first_byte_real_ns = clock_real_ns();
	if (!st->chunked)
		st->c->close_after = true; /* HTTP/1.0: the body ends when the connection closes */
	sim_put_head(st->c, 200, "text/event-stream; charset=utf-8", st->chunked, st->chunked ? 0 : SIZE_MAX,
	             st->req_id);
}

/* Tokens available at `now` in fixed mode (chunk j of K tokens ready at origin + j*K*itl). */
static int64_t sim_fixed_ready(const struct sim_stream *st, const struct sim_cfg *cfg, int64_t now, int64_t *next_ns)
{
	int64_t K = cfg->tokens_per_chunk;
	int64_t period = (int64_t)llround(cfg->itl_ms * 1e6) * K;
	if (now < st->first_chunk_at_ns) {
		*next_ns = st->first_chunk_at_ns;
		return 0;
	}
	int64_t j = period > 0 ? (now - st->first_chunk_at_ns) / period : INT64_MAX / 4;
	int64_t ready = (j + 1) * K;
	if (period <= 0 || ready >= st->gen_tokens) {
		*next_ns = 0;
		return st->gen_tokens;
	}
	*next_ns = st->first_chunk_at_ns + (j + 1) * period;
	return ready;
}

/* Emit whatever is due for a stream. */
void sim_stream_pump(struct sim_stream *st, int64_t now)
{
	struct sim_worker *w = st->w;
	const struct sim_cfg *cfg = w->srv->cfg;
	struct sim_conn *c = st->c;
	if (st->dead || !c || c->closed)
		return;
	st->wait_out = false;
	int64_t K = cfg->tokens_per_chunk;
	int64_t next_ns = 0;
	if (cfg->mode == SIM_MODE_FIXED)
		st->ready_tokens = sim_fixed_ready(st, cfg, now, &next_ns);
	if (st->hold_until_ns > now) {
		sim_stream_pump_at(st, st->hold_until_ns);
		return;
	}
	bool all_ready = cfg->mode == SIM_MODE_ROOFLINE ? st->engine_done : st->ready_tokens >= st->gen_tokens;

	if (!st->stream) {
		if (!all_ready) {
			if (next_ns)
				sim_stream_pump_at(st, next_ns);
			return;
		}
		if (st->disconnect_at >= 0) {
			st->fault = "disconnect";
			sim_log_write(w->srv, st, st->kind == SIM_API_CHAT ? "chat" : "completions");
			sim_conn_close(c);
			return;
		}
		if (st->error_at >= 0) {
			st->fault = "error_event";
			st->status = 500;
			st->first_byte_ns = clock_mono_ns();
			st->first_byte_real_ns = clock_real_ns();
			sim_respond_error(c, 500, "simulated engine error (--error-event-rate)", st->req_id);
			sim_stream_done(st);
			return;
		}
		if (st->first_token_ns == 0)
			sim_stream_record_ttft(st, cfg->mode == SIM_MODE_FIXED ? st->first_chunk_at_ns : now);
		sim_stream_finish_json(st, st->last_event_ns ? st->last_event_ns : now);
		sim_stream_done(st);
		return;
	}

	sim_stream_send_head(st);
	int64_t sched = cfg->mode == SIM_MODE_FIXED ? 0 : (st->last_event_ns ? st->last_event_ns : st->arrival_ns);
	while (st->sent_tokens < st->text_tokens) {
		int64_t avail = st->ready_tokens - st->sent_tokens;
		if (avail <= 0)
			break;
		if (avail < K && !all_ready)
			break;
		if (sim_conn_pending(c) > SIM_OUT_HIGH_WATER) {
			st->wait_out = true;
			if (sim_conn_flush(c) < 0 || sim_conn_pending(c) > 0)
				return; /* resumed when the socket is writable (sim_conn_on_fd) */
			st->wait_out = false;
		}
		int64_t n = avail < K ? avail : K;
		if (st->sent_tokens + n > st->text_tokens)
			n = st->text_tokens - st->sent_tokens;
		/* faults strike at a token index */
		if (st->stall_at >= 0 && !st->stalled && st->sent_tokens >= st->stall_at) {
			st->stalled = true;
			int64_t stall_ns = (int64_t)llround(cfg->stall_ms * 1e6);
			st->hold_until_ns = now + stall_ns;
			if (cfg->mode == SIM_MODE_FIXED)
				st->first_chunk_at_ns += stall_ns;
			st->fault = st->fault ? st->fault : "stall";
			sim_conn_flush(c);
			if (!c->closed)
				sim_stream_pump_at(st, st->hold_until_ns);
			return;
		}
		if (st->disconnect_at >= 0 && st->sent_tokens >= st->disconnect_at) {
			st->fault = "disconnect";
			sim_conn_flush(c);
			sim_log_write(w->srv, st, st->kind == SIM_API_CHAT ? "chat" : "completions");
			sim_conn_close(c);
			return;
		}
		if (st->error_at >= 0 && st->sent_tokens >= st->error_at) {
			static const char ev[] = "data: {\"error\":{\"message\":\"simulated engine error "
			                         "(--error-event-rate)\",\"type\":\"InternalServerError\","
			                         "\"param\":null,\"code\":500}}\n\n";
			static const char done[] = "data: [DONE]\n\n";
			st->fault = "error_event";
			sim_put_chunk(c, st->chunked, ev, sizeof ev - 1);
			sim_log_chunk(st, now, 0);
			sim_put_chunk(c, st->chunked, done, sizeof done - 1);
			if (st->chunked)
				buf_append(&c->out, "0\r\n\r\n", 5);
			else
				c->close_after = true;
			sim_stream_done(st);
			return;
		}
		if (cfg->mode == SIM_MODE_FIXED) {
			int64_t period = (int64_t)llround(cfg->itl_ms * 1e6) * K;
			sched = st->first_chunk_at_ns + (st->sent_tokens / K) * period;
		}
		if (st->first_token_ns == 0) {
			sim_stream_record_ttft(st, now);
			sim_stream_record_itl(st, now, n - 1); /* a first chunk of K tokens: K - 1 gaps of 0 */
		} else {
			sim_stream_record_itl(st, now, n);
		}
		bool last = st->sent_tokens + n >= st->text_tokens && all_ready;
		sim_stream_put_tokens(st, n, last && st->text_tokens == st->gen_tokens, sched);
		if (cfg->mode != SIM_MODE_ZERO && sim_conn_flush(c) < 0)
			return;
	}
	if (st->sent_tokens >= st->text_tokens && all_ready) {
		if (st->text_tokens < st->gen_tokens || st->text_tokens == 0) /* stop string: finish-only event */
			sim_stream_put_tokens(st, 0, true, sched);
		sim_stream_finish_stream(st);
		sim_stream_done(st);
		return;
	}
	if (cfg->mode == SIM_MODE_ZERO && sim_conn_flush(c) < 0)
		return;
	if (next_ns)
		sim_stream_pump_at(st, next_ns);
}

/* ------------------------------------------------------------------ generation requests */
static char *sim_make_prefix(struct sim_server *srv, struct sim_stream *st, bool chunk_obj)
{
	const char *obj;
	if (st->kind == SIM_API_CHAT)
		obj = chunk_obj ? "chat.completion.chunk" : "chat.completion";
	else
		obj = "text_completion";
	return xasprintf("{\"id\":\"%s\",\"object\":\"%s\",\"created\":%lld,\"model\":%s,\"choices\":", st->id, obj,
	                 (long long)st->created_s, srv->model_json);
}

static bool sim_stop_scan(struct sim_stream *st, const struct sim_api_req *r)
{
	/* find the first token whose text completes a stop string; send the tokens before it */
	if (!r->n_stop)
		return false;
	struct buf t;
	buf_init(&t);
	size_t *ends = xmalloc(((size_t)st->gen_tokens + 1) * sizeof *ends);
	for (int64_t i = 0; i < st->gen_tokens; i++) {
		size_t len;
		const char *p = sim_tok_output_piece(st->text_seed, i, &len);
		buf_append(&t, p, len);
		ends[i] = t.len;
	}
	size_t best = SIZE_MAX;
	for (int k = 0; k < r->n_stop; k++) {
		const char *m = strstr(t.data ? t.data : "", r->stop[k]);
		if (m && (size_t)(m - t.data) < best)
			best = (size_t)(m - t.data);
	}
	bool hit = false;
	if (best != SIZE_MAX) {
		int64_t k = 0; /* tokens whose text ends at or before the match start */
		while (k < st->gen_tokens && ends[k] <= best)
			k++;
		st->text_tokens = k;
		st->gen_tokens = k + 1; /* the token containing the stop string is generated, not sent */
		st->finish_reason = "stop";
		hit = true;
	}
	free(ends);
	buf_free(&t);
	return hit;
}

void sim_handle_generate(struct sim_conn *c, const struct sim_http_req *h, const char *body, size_t blen,
                         enum sim_api_kind kind, const char *req_id, int64_t arrival_ns, int64_t arrival_real_ns)
{
	struct sim_worker *w = c->w;
	struct sim_server *srv = w->srv;
	const struct sim_cfg *cfg = srv->cfg;
	struct sim_api_req r;
	char err[512];
	int rc = sim_api_parse(kind, body, blen, &r, err, sizeof err);
	if (rc) {
		sim_respond_error(c, rc, err, req_id);
		return;
	}
	if (r.model[0] && strcmp(r.model, cfg->served_model) != 0) {
		snprintf(err, sizeof err, "The model `%s` does not exist.", r.model);
		sim_respond_error(c, 400, err, req_id);
		return;
	}
	if (r.prompt_tokens >= cfg->max_model_len ||
	    (r.has_max_tokens && r.prompt_tokens + r.max_tokens > cfg->max_model_len)) {
		snprintf(err, sizeof err,
		         "This model's maximum context length is %lld tokens. However, you requested %lld tokens "
		         "(%lld in the messages, %lld in the completion). Please reduce the length of the messages "
		         "or completion.",
		         (long long)cfg->max_model_len,
		         (long long)(r.prompt_tokens + (r.has_max_tokens ? r.max_tokens : 0)),
		         (long long)r.prompt_tokens, (long long)(r.has_max_tokens ? r.max_tokens : 0));
		sim_respond_error(c, 400, err, req_id);
		return;
	}

	struct sim_stream *st = xcalloc(1, sizeof *st);
	st->w = w;
	st->c = c;
	st->kind = kind;
	st->stream = r.stream;
	st->include_usage = r.include_usage;
	st->continuous_usage = r.continuous_usage;
	st->chunked = h->version_minor >= 1;
	st->prompt_tokens = r.prompt_tokens;
	st->arrival_ns = arrival_ns;
	st->arrival_real_ns = arrival_real_ns;
	st->status = 200;
	st->stall_at = st->disconnect_at = st->error_at = -1;
	snprintf(st->req_id, sizeof st->req_id, "%s", req_id);
	atomic_fetch_add(&srv->active_gen, 1);

	/* per-request randomness: a named stream of the seed, keyed by the request id */
	struct rng rg;
	char key[160];
	snprintf(key, sizeof key, "request/%s", req_id);
	rng_stream_init(&rg, cfg->seed, key);
	double u_fail = rng_uniform01(&rg), u_disc = rng_uniform01(&rg), u_err = rng_uniform01(&rg);
	double u_stall = rng_uniform01(&rg);
	double z = rng_normal(&rg);
	st->text_seed = rng_u64(&rg);
	snprintf(st->id, sizeof st->id, "%s-%016llx", kind == SIM_API_CHAT ? "chatcmpl" : "cmpl",
	         (unsigned long long)rng_u64(&rg));
	st->created_s = clock_real_ns() / 1000000000LL;
	/* reasoning: drawn last, and only for a range, so runs without it keep their draws */
	int64_t think = 0;
	if (kind == SIM_API_CHAT && cfg->reasoning_tokens_max > 0) {
		think = cfg->reasoning_tokens_min;
		if (cfg->reasoning_tokens_max > think) {
			think += (int64_t)(rng_uniform01(&rg) * (double)(cfg->reasoning_tokens_max - think + 1));
			if (think > cfg->reasoning_tokens_max)
				think = cfg->reasoning_tokens_max;
		}
		st->report_reasoning = true;
	}

	int64_t limit = cfg->max_model_len - r.prompt_tokens;
	if (r.has_max_tokens && r.max_tokens < limit)
		limit = r.max_tokens;
	if (r.ignore_eos) {
		st->gen_tokens = limit;
		st->finish_reason = "length";
	} else {
		double natural = cfg->output_len_median * exp(cfg->output_len_sigma * z);
		int64_t n = (int64_t)llround(natural);
		if (n < 1)
			n = 1;
		n += think; /* the natural length is the answer's; max_tokens covers both (as vLLM) */
		if (n < r.min_tokens)
			n = r.min_tokens;
		if (n >= limit) {
			n = limit;
			st->finish_reason = "length";
		} else {
			st->finish_reason = "stop";
		}
		st->gen_tokens = n;
	}
	st->text_tokens = st->gen_tokens;
	sim_stop_scan(st, &r);
	st->reasoning_tokens = think < st->text_tokens ? think : st->text_tokens;
	st->prefix = sim_make_prefix(srv, st, r.stream);
	if (srv->emit_fp) {
		/* one slot per chunk (+ finish/error events) up front: no allocation per token */
		size_t cap = (size_t)(st->text_tokens / cfg->tokens_per_chunk) + 3;
		st->log_mono = xmalloc(cap * sizeof *st->log_mono);
		st->log_real = xmalloc(cap * sizeof *st->log_real);
		st->log_sched = xmalloc(cap * sizeof *st->log_sched);
		st->log_tok = xmalloc(cap * sizeof *st->log_tok);
		st->log_cap = cap;
	}

	if (u_fail < cfg->fail_rate) {
		st->status = 500;
		st->fault = "fail";
		st->first_byte_ns = clock_mono_ns();
		st->first_byte_real_ns = clock_real_ns();
		c->st = st;
		sim_respond_error(c, 500, "simulated internal server error (--fail-rate)", req_id);
		sim_stream_done(st);
		return;
	}
	if (u_disc < cfg->disconnect_rate)
		st->disconnect_at = st->text_tokens / 2;
	else if (u_err < cfg->error_event_rate)
		st->error_at = st->text_tokens / 2;
	if (cfg->stall_ms > 0 && u_stall < cfg->stall_rate)
		st->stall_at = st->text_tokens / 2 > 0 ? st->text_tokens / 2 : 0;

	c->st = st;
	c->busy = true;
	if (cfg->log_requests)
		fprintf(stderr, "sim-server: %s %s prompt=%lld gen=%lld stream=%d\n", req_id,
		        kind == SIM_API_CHAT ? "chat" : "completions", (long long)st->prompt_tokens,
		        (long long)st->gen_tokens, st->stream);

	switch (cfg->mode) {
	case SIM_MODE_ZERO:
		st->ready_tokens = st->gen_tokens;
		sim_stream_pump(st, clock_mono_ns());
		break;
	case SIM_MODE_FIXED:
		st->first_chunk_at_ns = arrival_ns + (int64_t)llround(cfg->ttft_ms * 1e6);
		sim_stream_send_head(st);
		sim_conn_flush(c);
		if (!c->closed && !st->dead)
			sim_stream_pump(st, clock_mono_ns());
		break;
	case SIM_MODE_ROOFLINE:
		st->seq.prompt_tokens = st->prompt_tokens;
		st->seq.output_tokens = st->gen_tokens;
		st->seq.user = st;
		sim_stream_send_head(st);
		sim_conn_flush(c);
		if (c->closed || st->dead)
			break;
		pthread_mutex_lock(&srv->emu);
		int src = sim_engine_submit(srv->engine, &st->seq);
		if (src == 0) {
			st->engine_submitted = true;
			pthread_cond_signal(&srv->ecv);
		}
		pthread_mutex_unlock(&srv->emu);
		if (src != 0) {
			/* cannot fit in the KV cache at all */
			if (!st->stream) {
				st->status = 400;
				sim_respond_error(c, 400, "prompt does not fit in the simulated KV cache", req_id);
				sim_stream_done(st);
			} else {
				st->engine_done = true;
				st->gen_tokens = st->text_tokens = 0;
				st->finish_reason = "length";
				sim_stream_pump(st, clock_mono_ns());
			}
		}
		break;
	}
}
