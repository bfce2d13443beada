/* The HTTP side of the simulated engine: N worker threads (one shared listening socket, one epoll
 * loop each; see sim_listen_socket for why the port is not shared with SO_REUSEPORT),
 * keep-alive connections, chunked SSE streaming, endpoints, fault injection, the emit log, and (in
 * roofline mode) one engine thread that runs the continuous-batching step loop in real time and
 * hands the tokens of each step to the workers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/jsonw.h"
#include "core/rng.h"
#include "core/xalloc.h"
#include "sim/sim.h"

#define SIM_OUT_HIGH_WATER (256 * 1024) /* stop producing when this much output is pending */
#define SIM_IN_MAX (SIM_HTTP_MAX_HEAD + SIM_HTTP_MAX_BODY + 4096)

enum sim_tag { SIM_TAG_LISTEN = 1, SIM_TAG_TIMER, SIM_TAG_WAKE, SIM_TAG_CONN };

struct sim_worker;
struct sim_conn;

struct sim_stream {
	struct sim_seq seq; /* engine view (roofline mode) */
	struct sim_conn *c;
	struct sim_worker *w;
	enum sim_api_kind kind;
	bool stream, include_usage, continuous_usage, chunked;
	int64_t prompt_tokens;
	int64_t gen_tokens;       /* tokens the engine generates (timing) */
	int64_t text_tokens;      /* tokens whose text is sent (= usage completion_tokens) */
	int64_t reasoning_tokens; /* the first ones of text_tokens are reasoning (chat, --reasoning-tokens) */
	bool report_reasoning;    /* usage carries completion_tokens_details.reasoning_tokens */
	int64_t sent_tokens;
	int64_t ready_tokens;
	bool engine_submitted, engine_done, head_sent, finished, dead;
	bool wait_out; /* paused at SIM_OUT_HIGH_WATER: only EPOLLOUT resumes it (sim_conn_flush) */
	const char *finish_reason;
	uint64_t text_seed;
	char *prefix; /* JSON prefix of every chunk up to the choices array */
	char id[48];
	int64_t created_s;
	/* timing */
	int64_t arrival_ns, arrival_real_ns, first_byte_ns, first_byte_real_ns, first_token_ns;
	int64_t last_token_ns;     /* when the last tokens were sent (inter-token latency) */
	int64_t first_chunk_at_ns; /* fixed mode: schedule origin of the first chunk */
	int64_t hold_until_ns;
	int64_t last_event_ns;
	int64_t next_ns;
	size_t heap_idx;
	bool in_heap;
	/* faults: token index at which they strike (-1 none) */
	int64_t stall_at, disconnect_at, error_at;
	bool stalled;
	/* emit log */
	int64_t *log_mono, *log_real, *log_sched;
	int32_t *log_tok;
	size_t log_n, log_cap;
	char req_id[128];
	int status;
	const char *fault;
	bool log_wanted;
	int64_t end_ns;
	struct sim_stream *zombie_next;
};

struct sim_conn {
	int tag; /* SIM_TAG_CONN; first member */
	int fd;
	struct sim_worker *w;
	struct buf in;
	size_t in_off;
	struct buf out;
	size_t out_off;
	bool epollout, closed, close_after, busy, in_process, sent_continue;
	int64_t rx_real_ns; /* kernel receive time of the last bytes read (0 = unknown) */
	struct sim_stream *st;
	struct sim_conn *prev, *next, *zombie_next;
};

struct sim_evt {
	struct sim_stream *st;
	int64_t t_ns;
	bool finished;
};

struct sim_server;

struct sim_worker {
	struct sim_server *srv;
	int idx;
	pthread_t th;
	int epfd, lfd, tfd, efd; /* lfd: the server's shared listener, -1 once this worker drains */
	uint32_t listen_events;  /* EPOLLIN, plus EPOLLEXCLUSIVE when several workers share lfd */
	int tag_listen, tag_timer, tag_wake;
	bool use_pwait2, warned_emfile;
	int64_t relisten_at_ns;
	int64_t spin_ns;
	struct sim_stream **heap;
	size_t heap_n, heap_cap;
	int64_t armed_ns;
	pthread_mutex_t qmu;
	struct sim_evt *q, *q2;
	size_t qn, qcap, q2cap;
	struct sim_conn *conns;
	size_t n_conns;
	struct sim_conn *zombie_conns;
	struct sim_stream *zombie_streams;
	bool draining;
	int64_t drain_deadline_ns;
	struct buf scratch;
	uint64_t n_local;
};

/* Server-side latency histograms of /metrics (docs/SIM.md, HTTP API). The bounds are finer than
 * vLLM's so that quantiles read from the buckets are within about a millisecond where it matters
 * (client-vs-server reconciliation, docs/OBSERVABILITY.md); the observations are the engine's. */
#define SIM_HIST_MAX 512
struct sim_hist {
	const double *le;
	int nb;
	atomic_llong b[SIM_HIST_MAX + 1]; /* per bucket (not cumulative); b[nb] = above the last bound */
	atomic_llong sum_us, count;
};

enum { SIM_H_TTFT = 0, SIM_H_E2E, SIM_H_QUEUE, SIM_H_ITL, SIM_H_N };

/* time to first token (s): 1 ms steps to 300 ms, 10 ms to 1 s, 100 ms to 10 s, then vLLM's 20 .. 2560 s */
static double sim_lat_le[SIM_HIST_MAX];
static int sim_lat_nb;
/* inter-token bounds (s): 0.5 ms steps to 50 ms, 5 ms to 200 ms, then vLLM's 0.25 .. 80 s */
static double sim_itl_le[SIM_HIST_MAX];
static int sim_itl_nb;
/* queue time: a few below vLLM's request-latency bounds, then those */
static const double sim_queue_le[] = {0.001, 0.002, 0.005, 0.01,  0.02,  0.05,  0.1,   0.2,    0.3,   0.5,
                                      0.8,   1.0,   1.5,   2.0,   2.5,   5.0,   10.0,  15.0,   20.0,  30.0,
                                      40.0,  50.0,  60.0,  120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
/* end to end: vLLM's request-latency bounds */
static const double sim_e2e_le[] = {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
                                    30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

static int sim_le_steps(double *le, int n, long lo_us, long hi_us, long step_us)
{
	for (long us = lo_us + step_us; us <= hi_us && n < SIM_HIST_MAX; us += step_us)
		le[n++] = (double)us / 1e6;
	return n;
}

static void sim_hist_bounds_init(void)
{
	int n = 0;
	n = sim_le_steps(sim_lat_le, n, 0, 300000, 1000);
	n = sim_le_steps(sim_lat_le, n, 300000, 1000000, 10000);
	n = sim_le_steps(sim_lat_le, n, 1000000, 10000000, 100000);
	static const double tail[] = {20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
	for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++)
		sim_lat_le[n++] = tail[i];
	sim_lat_nb = n;
	n = sim_le_steps(sim_itl_le, 0, 0, 50000, 500);
	n = sim_le_steps(sim_itl_le, n, 50000, 200000, 5000);
	static const double itail[] = {0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
	for (size_t i = 0; i < sizeof itail / sizeof itail[0]; i++)
		sim_itl_le[n++] = itail[i];
	sim_itl_nb = n;
}

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

struct sim_server {
	const struct sim_cfg *cfg;
	struct sim_worker *workers;
	int n_workers;
	int lfd; /* the one listening socket, shared by every worker's epoll */
	int64_t start_ns, loaded_at_ns;
	atomic_int stopping;
	atomic_llong n_arrived, n_completed;
	atomic_llong active_gen;
	atomic_llong prompt_tokens_total, generation_tokens_total;
	atomic_llong success_stop, success_length, n_errors;
	struct sim_hist hist[SIM_H_N];
	char *model_json; /* escaped served model id, with quotes */
	/* roofline engine */
	struct sim_engine *engine;
	pthread_mutex_t emu;
	pthread_cond_t ecv;
	pthread_t eth;
	bool engine_thread_started, engine_stop;
	/* emit log: finished streams go to the logger thread */
	FILE *emit_fp;
	pthread_mutex_t logmu;
	pthread_cond_t logcv;
	struct sim_stream *log_head, *log_tail;
	bool log_stop;
	pthread_t lth;
};

/* ------------------------------------------------------------------ timer heap */
static void sim_heap_swap(struct sim_worker *w, size_t a, size_t b)
{
	struct sim_stream *t = w->heap[a];
	w->heap[a] = w->heap[b];
	w->heap[b] = t;
	w->heap[a]->heap_idx = a;
	w->heap[b]->heap_idx = b;
}

static void sim_heap_up(struct sim_worker *w, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (w->heap[p]->next_ns <= w->heap[i]->next_ns)
			break;
		sim_heap_swap(w, i, p);
		i = p;
	}
}

static void sim_heap_down(struct sim_worker *w, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < w->heap_n && w->heap[l]->next_ns < w->heap[m]->next_ns)
			m = l;
		if (r < w->heap_n && w->heap[r]->next_ns < w->heap[m]->next_ns)
			m = r;
		if (m == i)
			break;
		sim_heap_swap(w, i, m);
		i = m;
	}
}

static void sim_heap_remove(struct sim_worker *w, struct sim_stream *st)
{
	if (!st->in_heap)
		return;
	size_t i = st->heap_idx;
	st->in_heap = false;
	w->heap_n--;
	if (i != w->heap_n) {
		w->heap[i] = w->heap[w->heap_n];
		w->heap[i]->heap_idx = i;
		sim_heap_down(w, i);
		sim_heap_up(w, i);
	}
}

static void sim_heap_set(struct sim_worker *w, struct sim_stream *st, int64_t t_ns)
{
	if (st->in_heap) {
		st->next_ns = t_ns;
		sim_heap_down(w, st->heap_idx);
		sim_heap_up(w, st->heap_idx);
		return;
	}
	if (w->heap_n == w->heap_cap)
		xgrow((void **)&w->heap, &w->heap_cap, w->heap_n + 1, sizeof *w->heap);
	st->next_ns = t_ns;
	st->heap_idx = w->heap_n;
	st->in_heap = true;
	w->heap[w->heap_n++] = st;
	sim_heap_up(w, st->heap_idx);
}

static void sim_timer_arm(struct sim_worker *w)
{
	int64_t t = w->heap_n ? w->heap[0]->next_ns : 0;
	if (t == w->armed_ns)
		return;
	struct itimerspec its = {0};
	if (t > 0) {
		its.it_value.tv_sec = t / 1000000000LL;
		its.it_value.tv_nsec = t % 1000000000LL;
	}
	timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	w->armed_ns = t;
}

/* ------------------------------------------------------------------ output */
static void sim_conn_close(struct sim_conn *c);
static void sim_thread_realtime(const struct sim_cfg *cfg);
static void sim_stream_pump(struct sim_stream *st, int64_t now);
static void sim_conn_process(struct sim_conn *c);

static void sim_conn_want_write(struct sim_conn *c, bool on)
{
	if (c->epollout == on || c->closed)
		return;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0), .data.ptr = c};
	epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->epollout = on;
}

/* Write as much pending output as the socket takes. Returns -1 when the connection died. */
static int sim_conn_flush(struct sim_conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			sim_conn_want_write(c, true);
			return 0;
		}
		sim_conn_close(c);
		return -1;
	}
	buf_reset(&c->out);
	c->out_off = 0;
	/* A stream paused for room in the output must hear about it even when this flush (e.g. the one
	 * after a request was handled) and not the EPOLLOUT handler drained the output: keep EPOLLOUT,
	 * which fires at once on a writable socket and pumps the stream (sim_conn_event). */
	sim_conn_want_write(c, c->st && c->st->wait_out);
	if (c->close_after && !c->st) {
		sim_conn_close(c);
		return -1;
	}
	return 0;
}

static size_t sim_conn_pending(const struct sim_conn *c)
{
	return c->out.len - c->out_off;
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

static void sim_put_head(struct sim_conn *c, int status, const char *ctype, bool chunked, size_t content_len,
                         const char *req_id)
{
	struct buf *b = &c->out;
	buf_printf(b, "HTTP/1.1 %d %s\r\nserver: veeksha-sim\r\n", status, sim_http_reason(status));
	if (ctype)
		buf_printf(b, "content-type: %s\r\n", ctype);
	if (chunked)
		buf_puts(b, "transfer-encoding: chunked\r\ncache-control: no-cache\r\n");
	else if (content_len != SIZE_MAX)
		buf_printf(b, "content-length: %zu\r\n", content_len);
	if (req_id && req_id[0])
		buf_printf(b, "x-request-id: %s\r\n", req_id);
	buf_puts(b, c->close_after ? "connection: close\r\n\r\n" : "connection: keep-alive\r\n\r\n");
}

static void sim_respond(struct sim_conn *c, int status, const char *ctype, const char *body, size_t len,
                        const char *req_id)
{
	sim_put_head(c, status, ctype, false, len, req_id);
	buf_append(&c->out, body, len);
}

static void sim_respond_error(struct sim_conn *c, int status, const char *msg, const char *req_id)
{
	struct buf b;
	buf_init(&b);
	sim_api_error_json(&b, status, msg);
	sim_respond(c, status, "application/json", b.data, b.len, req_id);
	buf_free(&b);
	atomic_fetch_add(&c->w->srv->n_errors, 1);
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
static int64_t sim_stream_reasoning_in(const struct sim_stream *st, int64_t sent)
{
	if (!st->report_reasoning)
		return -1;
	return sent < st->reasoning_tokens ? sent : st->reasoning_tokens;
}

/* ------------------------------------------------------------------ streams */
static void sim_stream_free(struct sim_stream *st)
{
	free(st->prefix);
	free(st->log_mono);
	free(st->log_real);
	free(st->log_sched);
	free(st->log_tok);
	free(st);
}

static void sim_log_format(struct buf *out, const struct sim_stream *st)
{
	struct buf *b = out;
	const char *endpoint = st->kind == SIM_API_CHAT ? "chat" : "completions";
	struct jsonw w;
	jsonw_init(&w, b, 0);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "request_id");
	jsonw_str(&w, st->req_id);
	jsonw_key(&w, "endpoint");
	jsonw_str(&w, endpoint);
	jsonw_key(&w, "stream");
	jsonw_bool(&w, st->stream);
	jsonw_key(&w, "status");
	jsonw_int(&w, st->status);
	jsonw_key(&w, "fault");
	jsonw_str(&w, st->fault);
	jsonw_key(&w, "arrival_mono_ns");
	jsonw_int(&w, st->arrival_ns);
	jsonw_key(&w, "arrival_real_ns");
	jsonw_int(&w, st->arrival_real_ns);
	jsonw_key(&w, "first_byte_mono_ns");
	jsonw_int(&w, st->first_byte_ns);
	jsonw_key(&w, "first_byte_real_ns");
	jsonw_int(&w, st->first_byte_real_ns);
	jsonw_key(&w, "end_mono_ns");
	jsonw_int(&w, st->end_ns);
	jsonw_key(&w, "prompt_tokens");
	jsonw_int(&w, st->prompt_tokens);
	jsonw_key(&w, "completion_tokens");
	jsonw_int(&w, st->sent_tokens);
	if (st->report_reasoning) {
		jsonw_key(&w, "reasoning_tokens");
		jsonw_int(&w, sim_stream_reasoning_in(st, st->sent_tokens));
	}
	jsonw_key(&w, "finish_reason");
	jsonw_str(&w, st->finished ? st->finish_reason : NULL);
	const char *keys[4] = {"chunk_mono_ns", "chunk_real_ns", "chunk_sched_mono_ns", "chunk_tokens"};
	for (int k = 0; k < 4; k++) {
		jsonw_key(&w, keys[k]);
		jsonw_arr_begin(&w);
		for (size_t i = 0; i < st->log_n; i++)
			jsonw_int(&w, k == 0   ? st->log_mono[i]
			              : k == 1 ? st->log_real[i]
			              : k == 2 ? st->log_sched[i]
			                       : st->log_tok[i]);
		jsonw_arr_end(&w);
	}
	jsonw_obj_end(&w);
	buf_putc(b, '\n');
}

/* Mark a stream for the emit log; the line is formatted and written by the logger thread after the
 * worker is done with the stream, so no formatting or file I/O happens on the worker's clock. */
static void sim_log_write(struct sim_server *srv, struct sim_stream *st, const char *endpoint)
{
	(void)endpoint;
	if (!srv->emit_fp || st->log_wanted)
		return;
	st->log_wanted = true;
	st->end_ns = clock_mono_ns();
}

static void *sim_logger_thread(void *arg)
{
	struct sim_server *srv = arg;
	/* background work: never compete with the workers (which may run with a real-time policy) */
	struct sched_param sp = {.sched_priority = 0};
	pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
	setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
	struct buf b;
	buf_init(&b);
	pthread_mutex_lock(&srv->logmu);
	for (;;) {
		while (!srv->log_head && !srv->log_stop)
			pthread_cond_wait(&srv->logcv, &srv->logmu);
		struct sim_stream *list = srv->log_head;
		srv->log_head = srv->log_tail = NULL;
		bool stop = srv->log_stop;
		pthread_mutex_unlock(&srv->logmu);
		buf_reset(&b);
		while (list) {
			struct sim_stream *st = list;
			list = st->zombie_next;
			sim_log_format(&b, st);
			sim_stream_free(st);
		}
		if (b.len) {
			fwrite(b.data, 1, b.len, srv->emit_fp);
			fflush(srv->emit_fp);
		}
		pthread_mutex_lock(&srv->logmu);
		if (stop && !srv->log_head)
			break;
	}
	pthread_mutex_unlock(&srv->logmu);
	buf_free(&b);
	return NULL;
}

/* Detach a stream from its connection and the engine; freed at the end of the loop iteration. */
static void sim_stream_kill(struct sim_stream *st)
{
	if (st->dead)
		return;
	struct sim_worker *w = st->w;
	struct sim_server *srv = w->srv;
	st->dead = true;
	sim_heap_remove(w, st);
	if (st->engine_submitted) {
		pthread_mutex_lock(&srv->emu);
		sim_engine_abort(srv->engine, &st->seq);
		pthread_mutex_unlock(&srv->emu);
	}
	if (st->c && st->c->st == st)
		st->c->st = NULL;
	st->c = NULL;
	atomic_fetch_sub(&srv->active_gen, 1);
	st->zombie_next = w->zombie_streams;
	w->zombie_streams = st;
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

static void sim_stream_record_ttft(struct sim_stream *st, int64_t now)
{
	struct sim_server *srv = st->w->srv;
	st->first_token_ns = now;
	st->last_token_ns = now;
	sim_hist_observe(&srv->hist[SIM_H_TTFT], (double)(now - st->arrival_ns) / 1e9, 1);
}

/* n tokens sent at `now` after the previous ones: n inter-token latencies of (now - last) / n */
static void sim_stream_record_itl(struct sim_stream *st, int64_t now, int64_t n)
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
static void sim_stream_pump(struct sim_stream *st, int64_t now)
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
		sim_heap_set(w, st, st->hold_until_ns);
		return;
	}
	bool all_ready = cfg->mode == SIM_MODE_ROOFLINE ? st->engine_done : st->ready_tokens >= st->gen_tokens;

	if (!st->stream) {
		if (!all_ready) {
			if (next_ns)
				sim_heap_set(w, st, next_ns);
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
				return; /* resumed from the EPOLLOUT handler */
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
				sim_heap_set(w, st, st->hold_until_ns);
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
		sim_heap_set(w, st, next_ns);
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

static void sim_handle_generate(struct sim_conn *c, const struct sim_http_req *h, const char *body, size_t blen,
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

/* ------------------------------------------------------------------ other endpoints */
static void sim_handle_models(struct sim_conn *c, const char *req_id)
{
	struct sim_server *srv = c->w->srv;
	struct buf b;
	buf_init(&b);
	buf_printf(&b,
	           "{\"object\":\"list\",\"data\":[{\"id\":%s,\"object\":\"model\",\"created\":%lld,\"owned_by\":"
	           "\"veeksha-sim\","
	           "\"root\":%s,\"parent\":null,\"max_model_len\":%lld,\"permission\":[]}]}",
	           srv->model_json, (long long)(srv->start_ns > 0 ? clock_real_ns() / 1000000000LL : 0),
	           srv->model_json, (long long)srv->cfg->max_model_len);
	sim_respond(c, 200, "application/json", b.data, b.len, req_id);
	buf_free(&b);
}

static void sim_handle_tokenize(struct sim_conn *c, const char *body, size_t blen, const char *req_id)
{
	struct sim_server *srv = c->w->srv;
	cJSON *root = cJSON_ParseWithLength(body, blen);
	struct buf text;
	buf_init(&text);
	const char *emsg = NULL;
	if (!root || !cJSON_IsObject(root)) {
		emsg = "Invalid JSON in request body";
	} else {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "prompt");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "messages");
		if (cJSON_IsString(p)) {
			buf_puts(&text, p->valuestring);
		} else if (cJSON_IsArray(m)) {
			const cJSON *it;
			cJSON_ArrayForEach(it, m)
			{
				const cJSON *ct =
				    cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "content") : NULL;
				if (cJSON_IsString(ct)) {
					buf_puts(&text, ct->valuestring);
					buf_putc(&text, ' ');
				} else if (cJSON_IsArray(ct)) {
					const cJSON *blk;
					cJSON_ArrayForEach(blk, ct)
					{
						const cJSON *tx = cJSON_GetObjectItemCaseSensitive(blk, "text");
						if (cJSON_IsString(tx)) {
							buf_puts(&text, tx->valuestring);
							buf_putc(&text, ' ');
						}
					}
				} else if (ct && !cJSON_IsNull(ct)) {
					emsg = "message 'content' must be a string, null or a list of content parts";
				}
			}
		} else {
			emsg = "'prompt' (string) or 'messages' (list) is required";
		}
	}
	if (emsg) {
		sim_respond_error(c, 400, emsg, req_id);
	} else {
		int32_t *ids;
		size_t n;
		sim_tok_encode(text.data ? text.data : "", text.len, &ids, &n);
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "{\"count\":%zu,\"max_model_len\":%lld,\"tokens\":[", n,
		           (long long)srv->cfg->max_model_len);
		for (size_t i = 0; i < n; i++)
			buf_printf(&b, i ? ",%d" : "%d", (int)ids[i]);
		/* "tokenizer" is ours (vLLM has no such field): a client whose own tokenizer is the same
		 * approximation then has no reason to ask this server for counts */
		buf_puts(&b, "],\"token_strs\":null,\"tokenizer\":");
		jsonw_escape(&b, sim_tok_name(), strlen(sim_tok_name()));
		buf_putc(&b, '}');
		sim_respond(c, 200, "application/json", b.data, b.len, req_id);
		buf_free(&b);
		free(ids);
	}
	buf_free(&text);
	cJSON_Delete(root);
}

static void sim_handle_detokenize(struct sim_conn *c, const char *body, size_t blen, const char *req_id)
{
	cJSON *root = cJSON_ParseWithLength(body, blen);
	const cJSON *t = root && cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "tokens") : NULL;
	if (!cJSON_IsArray(t)) {
		sim_respond_error(
		    c, 400, root ? "'tokens' (list of integers) is required" : "Invalid JSON in request body", req_id);
		cJSON_Delete(root);
		return;
	}
	size_t n = (size_t)cJSON_GetArraySize(t), i = 0;
	int32_t *ids = xcalloc(n + 1, sizeof *ids);
	const cJSON *it;
	bool ok = true;
	cJSON_ArrayForEach(it, t)
	{
		double d = cJSON_IsNumber(it) ? it->valuedouble : -1;
		if (!cJSON_IsNumber(it) || d != floor(d) || d < 0 || d >= (double)sim_tok_vocab_size()) {
			ok = false;
			break;
		}
		ids[i++] = (int32_t)d;
	}
	if (!ok) {
		sim_respond_error(c, 400, "'tokens' must be a list of valid token ids", req_id);
	} else {
		struct buf text, b;
		buf_init(&text);
		buf_init(&b);
		sim_tok_decode(ids, n, &text);
		struct jsonw w;
		jsonw_init(&w, &b, 0);
		jsonw_obj_begin(&w);
		jsonw_key(&w, "prompt");
		jsonw_strn(&w, text.data ? text.data : "", text.len);
		jsonw_obj_end(&w);
		sim_respond(c, 200, "application/json", b.data, b.len, req_id);
		buf_free(&text);
		buf_free(&b);
	}
	free(ids);
	cJSON_Delete(root);
}

static void sim_metric_head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sim_metric_hist(struct buf *b, const char *name, const char *help, const struct sim_hist *h, const char *m)
{
	sim_metric_head(b, name, "histogram", help);
	long long cum = 0;
	for (int i = 0; i <= h->nb; i++) {
		cum += atomic_load(&h->b[i]);
		if (i < h->nb)
			buf_printf(b, "%s_bucket{le=\"%g\",model_name=%s} %lld\n", name, h->le[i], m, cum);
		else
			buf_printf(b, "%s_bucket{le=\"+Inf\",model_name=%s} %lld\n", name, m, cum);
	}
	buf_printf(b, "%s_sum{model_name=%s} %.6f\n", name, m, (double)atomic_load(&h->sum_us) / 1e6);
	buf_printf(b, "%s_count{model_name=%s} %lld\n", name, m, (long long)atomic_load(&h->count));
}

/* GET /metrics: vLLM V1 names (with V0's gpu_cache_usage_perc too), or SGLang's with
 * --metrics-names sglang; every value comes from the engine state or the requests served
 * (docs/SIM.md, HTTP API; the mapping the benchmark reads: docs/OBSERVABILITY.md). */
static void sim_handle_metrics(struct sim_conn *c, const char *req_id)
{
	struct sim_server *srv = c->w->srv;
	long long running, waiting, preempt = 0, used_tokens = 0;
	double kv = 0;
	if (srv->engine) {
		pthread_mutex_lock(&srv->emu);
		running = sim_engine_running(srv->engine);
		waiting = sim_engine_waiting(srv->engine);
		kv = sim_engine_kv_usage(srv->engine);
		preempt = sim_engine_preemptions(srv->engine);
		used_tokens = sim_engine_kv_used_tokens(srv->engine);
		pthread_mutex_unlock(&srv->emu);
	} else {
		running = atomic_load(&srv->active_gen);
		waiting = 0;
	}
	const char *m = srv->model_json;
	long long prompt = atomic_load(&srv->prompt_tokens_total), gen = atomic_load(&srv->generation_tokens_total);
	long long ok_stop = atomic_load(&srv->success_stop), ok_len = atomic_load(&srv->success_length);
	struct buf b;
	buf_init(&b);
	if (srv->cfg->metrics_sglang) {
		sim_metric_head(&b, "sglang:num_running_reqs", "gauge", "The number of running requests.");
		buf_printf(&b, "sglang:num_running_reqs{model_name=%s} %lld\n", m, running);
		sim_metric_head(&b, "sglang:num_queue_reqs", "gauge", "The number of requests in the waiting queue.");
		buf_printf(&b, "sglang:num_queue_reqs{model_name=%s} %lld\n", m, waiting);
		sim_metric_head(&b, "sglang:token_usage", "gauge", "The token usage.");
		buf_printf(&b, "sglang:token_usage{model_name=%s} %.6f\n", m, kv);
		sim_metric_head(&b, "sglang:num_used_tokens", "gauge", "The number of used tokens.");
		buf_printf(&b, "sglang:num_used_tokens{model_name=%s} %lld\n", m, used_tokens);
		sim_metric_head(&b, "sglang:prompt_tokens_total", "counter", "Number of prefill tokens processed.");
		buf_printf(&b, "sglang:prompt_tokens_total{model_name=%s} %lld\n", m, prompt);
		sim_metric_head(&b, "sglang:generation_tokens_total", "counter",
		                "Number of generation tokens processed.");
		buf_printf(&b, "sglang:generation_tokens_total{model_name=%s} %lld\n", m, gen);
		sim_metric_head(&b, "sglang:num_requests_total", "counter", "Number of requests processed.");
		buf_printf(&b, "sglang:num_requests_total{model_name=%s} %lld\n", m, ok_stop + ok_len);
		sim_metric_head(&b, "sglang:num_retracted_requests_total", "counter",
		                "Total number of retracted requests.");
		buf_printf(&b, "sglang:num_retracted_requests_total{model_name=%s} %lld\n", m, preempt);
		sim_metric_hist(&b, "sglang:time_to_first_token_seconds",
		                "Histogram of time to first token in seconds.", &srv->hist[SIM_H_TTFT], m);
		sim_metric_hist(&b, "sglang:inter_token_latency_seconds",
		                "Histogram of inter-token latency in seconds.", &srv->hist[SIM_H_ITL], m);
		sim_metric_hist(&b, "sglang:e2e_request_latency_seconds",
		                "Histogram of End-to-end request latency in seconds", &srv->hist[SIM_H_E2E], m);
		if (srv->engine)
			sim_metric_hist(&b, "sglang:queue_time_seconds", "Histogram of queueing time in seconds.",
			                &srv->hist[SIM_H_QUEUE], m);
	} else {
		sim_metric_head(&b, "vllm:num_requests_running", "gauge",
		                "Number of requests in the model execution batch.");
		buf_printf(&b, "vllm:num_requests_running{model_name=%s} %lld\n", m, running);
		sim_metric_head(&b, "vllm:num_requests_waiting", "gauge",
		                "Number of requests waiting to be processed.");
		buf_printf(&b, "vllm:num_requests_waiting{model_name=%s} %lld\n", m, waiting);
		sim_metric_head(&b, "vllm:gpu_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.");
		buf_printf(&b, "vllm:gpu_cache_usage_perc{model_name=%s} %.6f\n", m, kv);
		sim_metric_head(&b, "vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.");
		buf_printf(&b, "vllm:kv_cache_usage_perc{model_name=%s} %.6f\n", m, kv);
		sim_metric_head(&b, "vllm:num_preemptions_total", "counter",
		                "Cumulative number of preemption from the engine.");
		buf_printf(&b, "vllm:num_preemptions_total{model_name=%s} %lld\n", m, preempt);
		sim_metric_head(&b, "vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.");
		buf_printf(&b, "vllm:prompt_tokens_total{model_name=%s} %lld\n", m, prompt);
		sim_metric_head(&b, "vllm:generation_tokens_total", "counter",
		                "Number of generation tokens processed.");
		buf_printf(&b, "vllm:generation_tokens_total{model_name=%s} %lld\n", m, gen);
		sim_metric_head(&b, "vllm:request_success_total", "counter",
		                "Count of successfully processed requests.");
		buf_printf(&b,
		           "vllm:request_success_total{finished_reason=\"stop\",model_name=%s} %lld\n"
		           "vllm:request_success_total{finished_reason=\"length\",model_name=%s} %lld\n",
		           m, ok_stop, m, ok_len);
		sim_metric_hist(&b, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
		                &srv->hist[SIM_H_TTFT], m);
		sim_metric_hist(&b, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
		                &srv->hist[SIM_H_ITL], m);
		sim_metric_hist(&b, "vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.",
		                &srv->hist[SIM_H_E2E], m);
		if (srv->engine)
			sim_metric_hist(&b, "vllm:request_queue_time_seconds",
			                "Histogram of time spent in WAITING phase for request.",
			                &srv->hist[SIM_H_QUEUE], m);
	}
	sim_metric_head(&b, "sim:requests_arrived_total", "counter", "Requests received by the simulated server.");
	buf_printf(&b, "sim:requests_arrived_total %lld\n", (long long)atomic_load(&srv->n_arrived));
	sim_metric_head(&b, "sim:error_responses_total", "counter", "Error responses sent.");
	buf_printf(&b, "sim:error_responses_total %lld\n", (long long)atomic_load(&srv->n_errors));
	sim_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, req_id);
	buf_free(&b);
}

/* ------------------------------------------------------------------ request dispatch */
static bool sim_auth_ok(const struct sim_cfg *cfg, const struct sim_http_req *h)
{
	if (!cfg->api_key || !cfg->api_key[0])
		return true;
	size_t kl = strlen(cfg->api_key);
	struct sim_str a = h->authorization;
	if (a.n != 7 + kl || a.n < 7)
		return false;
	struct sim_str scheme = {a.p, 7};
	return sim_str_case_eq(scheme, "bearer ") && memcmp(a.p + 7, cfg->api_key, kl) == 0;
}

static bool sim_path_is(const struct sim_http_req *h, const char *p)
{
	return sim_str_eq(h->path, p);
}

static void sim_handle_request(struct sim_conn *c, const struct sim_http_req *h, const char *body, size_t blen)
{
	struct sim_worker *w = c->w;
	struct sim_server *srv = w->srv;
	const struct sim_cfg *cfg = srv->cfg;
	int64_t arrival_ns = clock_mono_ns(), arrival_real_ns = clock_real_ns();
	/* Arrival = when the kernel received the request's last bytes, when known: the worker's own
	 * wake-up latency then neither delays the schedule nor hides in the emit log. */
	if (c->rx_real_ns > 0) {
		int64_t rx_mono = c->rx_real_ns - (arrival_real_ns - arrival_ns);
		if (rx_mono <= arrival_ns && arrival_ns - rx_mono < 1000000000LL) {
			arrival_ns = rx_mono;
			arrival_real_ns = c->rx_real_ns;
		}
	}
	long long n = atomic_fetch_add(&srv->n_arrived, 1) + 1;
	char req_id[128];
	if (h->request_id.n) {
		size_t k = 0;
		for (size_t i = 0; i < h->request_id.n && k + 1 < sizeof req_id; i++) {
			char ch = h->request_id.p[i];
			req_id[k++] = (ch == '"' || ch == '\\' || (unsigned char)ch < 0x20) ? '_' : ch;
		}
		req_id[k] = 0;
	} else {
		snprintf(req_id, sizeof req_id, "sim-%lld", n);
	}
	if (h->conn_close || (h->version_minor == 0 && !h->conn_keep_alive) || w->draining)
		c->close_after = true;

	bool loaded = clock_mono_ns() >= srv->loaded_at_ns;
	bool is_get = sim_str_eq(h->method, "GET");
	bool is_post = sim_str_eq(h->method, "POST");
	if (sim_path_is(h, "/health") || sim_path_is(h, "/ping")) {
		if (!loaded)
			sim_respond_error(c, 503, "model is loading (--startup-delay-s)", req_id);
		else
			sim_respond(c, 200, "application/json", "", 0, req_id);
		return;
	}
	if (sim_path_is(h, "/metrics")) {
		if (!is_get)
			sim_respond_error(c, 405, "Method Not Allowed", req_id);
		else
			sim_handle_metrics(c, req_id);
		return;
	}
	if (!loaded) {
		sim_respond_error(c, 503, "model is loading (--startup-delay-s)", req_id);
		return;
	}
	bool v1 = h->path.n >= 4 && memcmp(h->path.p, "/v1/", 4) == 0;
	if (v1 && !sim_auth_ok(cfg, h)) {
		sim_respond_error(c, 401, "Unauthorized: missing or invalid API key (Authorization: Bearer <key>)",
		                  req_id);
		return;
	}
	if (sim_path_is(h, "/v1/models")) {
		if (!is_get)
			sim_respond_error(c, 405, "Method Not Allowed", req_id);
		else
			sim_handle_models(c, req_id);
		return;
	}
	if (sim_path_is(h, "/version")) {
		static const char v[] = "{\"version\":\"" VK_VERSION "-veeksha-sim\"}";
		sim_respond(c, 200, "application/json", v, sizeof v - 1, req_id);
		return;
	}
	enum sim_api_kind kind;
	if (sim_path_is(h, "/v1/chat/completions"))
		kind = SIM_API_CHAT;
	else if (sim_path_is(h, "/v1/completions"))
		kind = SIM_API_COMPLETIONS;
	else if (sim_path_is(h, "/tokenize") || sim_path_is(h, "/detokenize")) {
		if (!is_post)
			sim_respond_error(c, 405, "Method Not Allowed", req_id);
		else if (sim_path_is(h, "/tokenize"))
			sim_handle_tokenize(c, body, blen, req_id);
		else
			sim_handle_detokenize(c, body, blen, req_id);
		return;
	} else {
		char msg[300];
		snprintf(msg, sizeof msg, "Not Found: %.*s", (int)(h->path.n > 200 ? 200 : h->path.n), h->path.p);
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\' || (unsigned char)*p >= 0x7f)
				*p = '?';
		sim_respond_error(c, 404, msg, req_id);
		return;
	}
	if (!is_post) {
		sim_respond_error(c, 405, "Method Not Allowed", req_id);
		return;
	}
	sim_handle_generate(c, h, body, blen, kind, req_id, arrival_ns, arrival_real_ns);
}

/* Parse and serve complete requests from the input buffer, one at a time. */
static void sim_conn_process(struct sim_conn *c)
{
	c->in_process = true;
	while (!c->closed && !c->st && !c->busy) {
		if (c->close_after)
			break;
		const char *d = c->in.data + c->in_off;
		size_t len = c->in.len - c->in_off;
		if (len == 0)
			break;
		struct sim_http_req h;
		enum sim_http_rc rc = sim_http_parse(d, len, &h);
		if (rc == SIM_HTTP_INCOMPLETE)
			break;
		if (rc < 0) {
			c->close_after = true;
			int st = rc == SIM_HTTP_TOO_LARGE     ? (h.head_len ? 413 : 431)
			         : rc == SIM_HTTP_BAD_VERSION ? 505
			                                      : 400;
			sim_respond_error(c, st, st == 400 ? "malformed HTTP request" : sim_http_reason(st), NULL);
			sim_conn_flush(c);
			break;
		}
		if (h.chunked) {
			c->close_after = true;
			sim_respond_error(c, 411, "chunked request bodies are not supported; send Content-Length",
			                  NULL);
			sim_conn_flush(c);
			break;
		}
		size_t body_len = h.has_content_length ? (size_t)h.content_length : 0;
		if (len < h.head_len + body_len) {
			/* body incomplete; a client waiting for "100 Continue" (curl does above 1 KiB) gets it */
			if (h.expect_continue && !c->sent_continue && h.version_minor >= 1) {
				c->sent_continue = true;
				buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
				sim_conn_flush(c);
			}
			break;
		}
		c->sent_continue = false;
		c->in_off += h.head_len + body_len;
		sim_handle_request(c, &h, d + h.head_len, body_len);
		if (c->closed)
			break;
		if (sim_conn_flush(c) < 0)
			break;
	}
	c->in_process = false;
	if (c->closed)
		return;
	/* compact the input buffer */
	if (c->in_off && c->in_off == c->in.len) {
		buf_reset(&c->in);
		c->in_off = 0;
	} else if (c->in_off > 65536) {
		memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in.data[c->in.len] = 0;
		c->in_off = 0;
	}
}

/* ------------------------------------------------------------------ connections */
static void sim_conn_close(struct sim_conn *c)
{
	if (c->closed)
		return;
	struct sim_worker *w = c->w;
	c->closed = true;
	if (c->st)
		sim_stream_kill(c->st);
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->n_conns--;
	c->zombie_next = w->zombie_conns;
	w->zombie_conns = c;
}

static void sim_conn_readable(struct sim_conn *c)
{
	for (;;) {
		buf_reserve(&c->in, 16384);
		/* recvmsg for the kernel receive timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME) of the bytes */
		struct iovec iov = {.iov_base = c->in.data + c->in.len, .iov_len = c->in.cap - c->in.len - 1};
		union {
			char buf[CMSG_SPACE(sizeof(struct timespec))];
			struct cmsghdr align;
		} ctrl;
		struct msghdr mh = {
		    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf, .msg_controllen = sizeof ctrl.buf};
		ssize_t n = recvmsg(c->fd, &mh, 0);
		if (n > 0) {
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
					struct timespec ts;
					memcpy(&ts, CMSG_DATA(cm), sizeof ts);
					c->rx_real_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
				}
			c->in.len += (size_t)n;
			c->in.data[c->in.len] = 0;
			if (c->in.len - c->in_off > SIM_IN_MAX) {
				sim_conn_close(c);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* EOF or error: the client went away; abort whatever it was waiting for */
		if (c->st && !c->st->finished) {
			c->st->fault = c->st->fault ? c->st->fault : "client_disconnect";
			sim_log_write(c->w->srv, c->st, c->st->kind == SIM_API_CHAT ? "chat" : "completions");
		}
		sim_conn_close(c);
		return;
	}
	sim_conn_process(c);
}

static void sim_conn_event(struct sim_conn *c, uint32_t events)
{
	if (c->closed)
		return;
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		sim_conn_readable(c);
		if (c->closed)
			return;
	}
	if (events & EPOLLOUT) {
		if (sim_conn_flush(c) < 0)
			return;
		if (c->st && sim_conn_pending(c) <= SIM_OUT_HIGH_WATER)
			sim_stream_pump(c->st, clock_mono_ns());
	}
}

static void sim_accept(struct sim_worker *w)
{
	struct sim_server *srv = w->srv;
	/* With several workers, take one connection per wake-up: the listener is level-triggered, so
	 * connections left in the backlog wake this or another idle worker (EPOLLEXCLUSIVE skips busy
	 * ones) instead of all of a burst landing on the first worker woken. */
	bool one_per_wake = srv->n_workers > 1;
	for (;;) {
		int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: stop polling the (level-triggered) listener for a while
				 * instead of spinning on it */
				epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->lfd, NULL);
				w->relisten_at_ns = clock_mono_ns() + 100000000LL;
				if (!w->warned_emfile) {
					w->warned_emfile = true;
					fprintf(stderr, "sim-server: accept: %s; pausing accepts (raise ulimit -n)\n",
					        strerror(errno));
				}
			}
			return; /* EAGAIN, ... */
		}
		if (srv->cfg->refuse_connections) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
		struct sim_conn *c = xcalloc(1, sizeof *c);
		c->tag = SIM_TAG_CONN;
		c->fd = fd;
		c->w = w;
		buf_init(&c->in);
		buf_init(&c->out);
		c->next = w->conns;
		if (w->conns)
			w->conns->prev = c;
		w->conns = c;
		w->n_conns++;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			sim_conn_close(c);
		if (one_per_wake)
			return;
	}
}

/* ------------------------------------------------------------------ engine events */
static void sim_worker_drain_queue(struct sim_worker *w)
{
	pthread_mutex_lock(&w->qmu);
	struct sim_evt *q = w->q;
	size_t n = w->qn, cap = w->qcap;
	w->q = w->q2;
	w->qcap = w->q2cap;
	w->qn = 0;
	w->q2 = q;
	w->q2cap = cap;
	pthread_mutex_unlock(&w->qmu);
	for (size_t i = 0; i < n; i++) {
		struct sim_stream *st = q[i].st;
		if (st->dead)
			continue;
		if (st->ready_tokens == 0 && !st->stream && st->first_token_ns == 0)
			sim_stream_record_ttft(st, q[i].t_ns);
		else if (!st->stream)
			sim_stream_record_itl(st, q[i].t_ns, 1); /* nothing is sent before the end: the engine's pace */
		st->ready_tokens++;
		st->last_event_ns = q[i].t_ns;
		if (q[i].finished)
			st->engine_done = true;
	}
	int64_t now = clock_mono_ns();
	for (size_t i = 0; i < n; i++) {
		struct sim_stream *st = q[i].st;
		if (!st->dead)
			sim_stream_pump(st, now);
	}
}

static void sim_worker_reap(struct sim_worker *w)
{
	if (w->zombie_streams) {
		/* drop queued engine events that refer to dead streams */
		pthread_mutex_lock(&w->qmu);
		size_t k = 0;
		for (size_t i = 0; i < w->qn; i++)
			if (!w->q[i].st->dead)
				w->q[k++] = w->q[i];
		w->qn = k;
		pthread_mutex_unlock(&w->qmu);
		struct sim_stream *to_log = NULL, *to_log_tail = NULL;
		while (w->zombie_streams) {
			struct sim_stream *st = w->zombie_streams;
			w->zombie_streams = st->zombie_next;
			if (st->log_wanted) {
				st->zombie_next = NULL;
				if (to_log_tail)
					to_log_tail->zombie_next = st;
				else
					to_log = st;
				to_log_tail = st;
			} else {
				sim_stream_free(st);
			}
		}
		if (to_log) {
			struct sim_server *srv = w->srv;
			pthread_mutex_lock(&srv->logmu);
			if (srv->log_tail)
				srv->log_tail->zombie_next = to_log;
			else
				srv->log_head = to_log;
			srv->log_tail = to_log_tail;
			pthread_cond_signal(&srv->logcv);
			pthread_mutex_unlock(&srv->logmu);
		}
	}
	while (w->zombie_conns) {
		struct sim_conn *c = w->zombie_conns;
		w->zombie_conns = c->zombie_next;
		buf_free(&c->in);
		buf_free(&c->out);
		free(c);
	}
}

static void *sim_engine_thread(void *arg)
{
	struct sim_server *srv = arg;
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	sim_thread_realtime(srv->cfg);
	bool *touched = xcalloc((size_t)srv->n_workers, sizeof *touched);
	pthread_mutex_lock(&srv->emu);
	int64_t t_start = 0;
	while (!srv->engine_stop) {
		struct sim_step step;
		if (!sim_engine_step(srv->engine, &step)) {
			pthread_cond_wait(&srv->ecv, &srv->emu);
			t_start = 0;
			continue;
		}
		int64_t now = clock_mono_ns();
		/* Steps chain on the virtual timeline (a late wake-up is caught up by the next steps, so
		 * the token rate stays right); re-anchor to now after idling or when hopelessly behind. */
		if (t_start == 0 || t_start < now - 200000000)
			t_start = now;
		for (size_t i = 0; i < step.n_admitted; i++)
			if (step.admitted[i] && !step.admitted[i]->first_sched_ns)
				step.admitted[i]->first_sched_ns = t_start;
		int64_t t_end = t_start + (int64_t)llround(step.duration_s * 1e9);
		pthread_mutex_unlock(&srv->emu);
		clock_sleep_until_ns(t_end);
		pthread_mutex_lock(&srv->emu);
		for (size_t i = 0; i < step.n_emit; i++) {
			struct sim_seq *s = step.emit[i].seq;
			if (!s)
				continue;
			struct sim_stream *st = s->user;
			struct sim_worker *w = st->w;
			pthread_mutex_lock(&w->qmu);
			if (w->qn == w->qcap)
				xgrow((void **)&w->q, &w->qcap, w->qn + 1, sizeof *w->q);
			w->q[w->qn++] = (struct sim_evt){.st = st, .t_ns = t_end, .finished = step.emit[i].finished};
			pthread_mutex_unlock(&w->qmu);
			touched[w->idx] = true;
		}
		for (int k = 0; k < srv->n_workers; k++)
			if (touched[k]) {
				uint64_t one = 1;
				touched[k] = false;
				ssize_t r = write(srv->workers[k].efd, &one, sizeof one);
				(void)r;
			}
		t_start = t_end;
	}
	pthread_mutex_unlock(&srv->emu);
	free(touched);
	return NULL;
}

/* ------------------------------------------------------------------ worker loop */
/* The port belongs to this process alone (docs/SIM.md, "Port"). One listening socket, bound
 * WITHOUT SO_REUSEPORT, is shared by all workers: each worker's epoll watches the same descriptor
 * with EPOLLEXCLUSIVE, so a new connection wakes one idle worker, not all of them. With a
 * SO_REUSEPORT socket per worker (the former design), a second sim-server (or any process of the
 * same user setting SO_REUSEPORT) could bind the same port and silently take a share of the
 * connections; a test-bind before the real binds would still leave a race and would not stop a
 * later process from joining. SO_REUSEADDR only lets a restarted server bind while connections of
 * its predecessor are in TIME_WAIT; it never lets two listeners share the port on Linux. */
static int sim_listen_socket(const struct sim_cfg *cfg, char *err, size_t err_len)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res = NULL;
	char port[16];
	snprintf(port, sizeof port, "%d", cfg->port);
	const char *host = cfg->host && cfg->host[0] ? cfg->host : NULL;
	int grc = getaddrinfo(host, port, &hints, &res);
	if (grc) {
		snprintf(err, err_len, "cannot resolve %s: %s", host ? host : "*", gai_strerror(grc));
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0)
			break;
		int e = errno;
		if (e == EADDRINUSE)
			snprintf(err, err_len, "cannot listen on %s:%d: port %d in use (%s)", host ? host : "*",
			         cfg->port, cfg->port, strerror(e));
		else
			snprintf(err, err_len, "cannot listen on %s:%d: %s", host ? host : "*", cfg->port, strerror(e));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static void sim_worker_start_drain(struct sim_worker *w)
{
	if (w->draining)
		return;
	w->draining = true;
	w->drain_deadline_ns = clock_mono_ns() + clock_s_to_ns(w->srv->cfg->shutdown_grace_s);
	if (w->lfd >= 0) {
		/* the listener is shared: sim_server_run shuts it down and closes it */
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->lfd, NULL);
		w->lfd = -1;
	}
	for (struct sim_conn *c = w->conns, *next; c; c = next) {
		next = c->next;
		c->close_after = true;
		if (!c->st && sim_conn_pending(c) == 0)
			sim_conn_close(c);
	}
}

/* Real-time scheduling for the threads whose wake-ups are the schedule (workers, engine). */
static void sim_thread_realtime(const struct sim_cfg *cfg)
{
	static atomic_int warned;
	if (cfg->rt_priority <= 0)
		return;
	struct sched_param sp = {.sched_priority = cfg->rt_priority};
	int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (rc && atomic_fetch_add(&warned, 1) == 0)
		fprintf(stderr,
		        "sim-server: notice: cannot use SCHED_FIFO priority %d (%s); timing runs at normal priority\n",
		        cfg->rt_priority, strerror(rc));
}

static void sim_worker_run_timers(struct sim_worker *w)
{
	int64_t now = clock_mono_ns();
	while (w->heap_n && w->heap[0]->next_ns <= now) {
		struct sim_stream *st = w->heap[0];
		sim_heap_remove(w, st);
		sim_stream_pump(st, now);
	}
}

static void *sim_worker_main(void *arg)
{
	struct sim_worker *w = arg;
	struct sim_server *srv = w->srv;
	struct epoll_event evs[256];
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake timers on time, not up to 50 us late */
	sim_thread_realtime(srv->cfg);
	for (;;) {
		if (atomic_load(&srv->stopping))
			sim_worker_start_drain(w);
		if (w->draining) {
			if (!w->conns)
				break;
			if (clock_mono_ns() >= w->drain_deadline_ns) {
				while (w->conns)
					sim_conn_close(w->conns);
				sim_worker_reap(w);
				break;
			}
		}
		sim_worker_run_timers(w);
		if (w->relisten_at_ns && clock_mono_ns() >= w->relisten_at_ns && w->lfd >= 0) {
			struct epoll_event lev = {.events = w->listen_events, .data.ptr = &w->tag_listen};
			epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->lfd, &lev);
			w->relisten_at_ns = 0;
		}
		int n;
		if (w->use_pwait2) {
			/* ns-resolution timeout straight from the heap: one syscall per wake-up */
			struct timespec ts, *tsp = NULL;
			int64_t d = -1;
			if (w->heap_n) {
				d = w->heap[0]->next_ns - clock_mono_ns();
				if (d < 0)
					d = 0;
				/* --spin-us: poll instead of sleeping when the next chunk is that close */
				if (d > 0 && d <= w->spin_ns)
					d = 0;
			}
			if (w->draining && (d < 0 || d > 50000000))
				d = 50000000;
			if (w->relisten_at_ns && (d < 0 || d > 100000000))
				d = 100000000;
			if (d >= 0) {
				ts.tv_sec = d / 1000000000LL;
				ts.tv_nsec = d % 1000000000LL;
				tsp = &ts;
			}
			n = epoll_pwait2(w->epfd, evs, 256, tsp, NULL);
			if (n < 0 && errno == ENOSYS) {
				w->use_pwait2 = false;
				continue;
			}
		} else {
			sim_timer_arm(w);
			n = epoll_wait(w->epfd, evs, 256, w->draining ? 50 : w->relisten_at_ns ? 100 : -1);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &w->tag_listen) {
				sim_accept(w);
			} else if (p == &w->tag_timer) {
				uint64_t x;
				ssize_t r = read(w->tfd, &x, sizeof x);
				(void)r;
				w->armed_ns = 0;
				sim_worker_run_timers(w);
			} else if (p == &w->tag_wake) {
				uint64_t x;
				ssize_t r = read(w->efd, &x, sizeof x);
				(void)r;
				sim_worker_drain_queue(w);
			} else {
				sim_conn_event(p, evs[i].events);
			}
		}
		sim_worker_reap(w);
	}
	return NULL;
}

static void sim_worker_init(struct sim_server *srv, struct sim_worker *w, int idx)
{
	memset(w, 0, sizeof *w);
	w->srv = srv;
	w->idx = idx;
	w->use_pwait2 = true;
	w->spin_ns = (int64_t)(srv->cfg->spin_us * 1000.0);
	w->lfd = srv->lfd;
	w->listen_events = EPOLLIN | (srv->n_workers > 1 ? EPOLLEXCLUSIVE : 0);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	pthread_mutex_init(&w->qmu, NULL);
	buf_init(&w->scratch);
	struct epoll_event lev = {.events = w->listen_events, .data.ptr = &w->tag_listen};
	epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->lfd, &lev);
	struct epoll_event ev = {.events = EPOLLIN};
	ev.data.ptr = &w->tag_timer;
	epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd, &ev);
	ev.data.ptr = &w->tag_wake;
	epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->efd, &ev);
}

static void sim_worker_fini(struct sim_worker *w)
{
	close(w->epfd);
	close(w->tfd);
	close(w->efd);
	free(w->heap);
	free(w->q);
	free(w->q2);
	buf_free(&w->scratch);
	pthread_mutex_destroy(&w->qmu);
}

int sim_server_run(const struct sim_cfg *cfg)
{
	/* the port first: a taken port is the likeliest start-up failure, and nothing is set up yet */
	char err[256] = "";
	int lfd = sim_listen_socket(cfg, err, sizeof err);
	if (lfd < 0) {
		fprintf(stderr, "sim-server: %s\n", err);
		return 1;
	}
	struct sim_server *srv = xcalloc(1, sizeof *srv);
	srv->cfg = cfg;
	srv->lfd = lfd;
	srv->n_workers = cfg->workers > 0 ? cfg->workers : 1;
	srv->start_ns = clock_mono_ns();
	srv->loaded_at_ns = srv->start_ns + clock_s_to_ns(cfg->startup_delay_s);
	pthread_mutex_init(&srv->emu, NULL);
	pthread_cond_init(&srv->ecv, NULL);
	pthread_mutex_init(&srv->logmu, NULL);
	pthread_cond_init(&srv->logcv, NULL);
	struct buf mj;
	buf_init(&mj);
	jsonw_escape(&mj, cfg->served_model, strlen(cfg->served_model));
	srv->model_json = buf_steal(&mj);
	int rc = 0;

	if (cfg->emit_log) {
		srv->emit_fp = fopen(cfg->emit_log, "w");
		if (!srv->emit_fp) {
			fprintf(stderr, "sim-server: cannot open --emit-log %s: %s\n", cfg->emit_log, strerror(errno));
			close(lfd);
			free(srv->model_json);
			free(srv);
			return 1;
		}
	}
	if (cfg->mode == SIM_MODE_ROOFLINE)
		srv->engine = sim_engine_new(&cfg->engine);
	sim_hist_bounds_init();
	srv->hist[SIM_H_TTFT].le = sim_lat_le;
	srv->hist[SIM_H_TTFT].nb = sim_lat_nb;
	srv->hist[SIM_H_QUEUE].le = sim_queue_le;
	srv->hist[SIM_H_QUEUE].nb = (int)(sizeof sim_queue_le / sizeof sim_queue_le[0]);
	srv->hist[SIM_H_ITL].le = sim_itl_le;
	srv->hist[SIM_H_ITL].nb = sim_itl_nb;
	srv->hist[SIM_H_E2E].le = sim_e2e_le;
	srv->hist[SIM_H_E2E].nb = (int)(sizeof sim_e2e_le / sizeof sim_e2e_le[0]);

	/* many concurrent streams need many descriptors: soft limit up to the hard limit */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	/* signals: blocked in every thread, taken by sigwait in this one */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	srv->workers = xcalloc((size_t)srv->n_workers, sizeof *srv->workers);
	for (int i = 0; i < srv->n_workers; i++)
		sim_worker_init(srv, &srv->workers[i], i);
	if (srv->emit_fp)
		pthread_create(&srv->lth, NULL, sim_logger_thread, srv);
	if (srv->engine) {
		pthread_create(&srv->eth, NULL, sim_engine_thread, srv);
		srv->engine_thread_started = true;
	}
	for (int i = 0; i < srv->n_workers; i++)
		pthread_create(&srv->workers[i].th, NULL, sim_worker_main, &srv->workers[i]);

	fprintf(stderr, "sim-server: listening on %s:%d\n", cfg->host && cfg->host[0] ? cfg->host : "0.0.0.0",
	        cfg->port);
	fflush(stderr);

	int sig = 0;
	sigwait(&set, &sig);
	fprintf(stderr, "sim-server: received %s, shutting down (grace %.1f s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
	        cfg->shutdown_grace_s);
	atomic_store(&srv->stopping, 1);
	/* stop listening now, as closing it would (new connections are refused during the grace
	 * period); the descriptor is closed once no worker can be using it */
	shutdown(srv->lfd, SHUT_RDWR);
	for (int i = 0; i < srv->n_workers; i++) {
		uint64_t one = 1;
		ssize_t r = write(srv->workers[i].efd, &one, sizeof one);
		(void)r;
	}
	for (int i = 0; i < srv->n_workers; i++)
		pthread_join(srv->workers[i].th, NULL);
	if (srv->engine_thread_started) {
		pthread_mutex_lock(&srv->emu);
		srv->engine_stop = true;
		pthread_cond_signal(&srv->ecv);
		pthread_mutex_unlock(&srv->emu);
		pthread_join(srv->eth, NULL);
	}
	for (int i = 0; i < srv->n_workers; i++)
		sim_worker_fini(&srv->workers[i]);
	close(srv->lfd);
	if (srv->emit_fp) {
		pthread_mutex_lock(&srv->logmu);
		srv->log_stop = true;
		pthread_cond_signal(&srv->logcv);
		pthread_mutex_unlock(&srv->logmu);
		pthread_join(srv->lth, NULL);
		fclose(srv->emit_fp);
	}
	sim_engine_free(srv->engine);
	fprintf(stderr, "sim-server: stopped (%lld requests served)\n", (long long)atomic_load(&srv->n_completed));
	free(srv->model_json);
	free(srv->workers);
	free(srv);
	return rc;
}
