#ifndef VK_SIM_SIM_SERVER_H
#define VK_SIM_SIM_SERVER_H
/* The HTTP side of the simulated engine, shared by its files (module-internal):
 *  - sim_server.c:    start-up, the listening socket, signals, shutdown, the emit-log thread;
 *  - sim_worker.c:    worker threads (one event loop each), engine thread, cross-thread queue;
 *  - sim_conn.c:      connections: accept, read, parse, write, close;
 *  - sim_stream.c:    one generation request: its schedule, SSE chunks, faults, emit-log data;
 *  - sim_endpoints.c: request dispatch, the non-generation endpoints, /metrics histograms. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/ev.h"
#include "core/list.h"
#include "sim/sim.h"

#define SIM_OUT_HIGH_WATER (256 * 1024) /* stop producing when this much output is pending */
#define SIM_IN_MAX (SIM_HTTP_MAX_HEAD + SIM_HTTP_MAX_BODY + 4096)

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
	bool wait_out; /* paused at SIM_OUT_HIGH_WATER: only writability resumes it (sim_conn_flush) */
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
	uint64_t timer_id; /* the worker loop's timer that pumps the stream next (0 = none) */
	int64_t timer_ns;  /* its deadline */
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
	struct list_node znode; /* on the worker's zombie list, then the emit-log thread's queue */
};

struct sim_conn {
	int fd;
	struct sim_worker *w;
	struct buf in;
	size_t in_off;
	struct buf out;
	size_t out_off;
	bool watch_write; /* EV_WRITE is set on fd */
	bool closed, close_after, busy, in_process, sent_continue;
	int64_t rx_real_ns; /* kernel receive time of the last bytes read (0 = unknown) */
	struct sim_stream *st;
	struct list_node node; /* on the worker's conns, then (closed) on its zombie_conns */
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
	struct ev_loop *loop;   /* this worker's: connections, stream timers, wake-ups (core/ev.h) */
	int lfd;                /* the server's shared listener, -1 once this worker drains */
	uint32_t listen_events; /* EV_READ, plus EV_EXCLUSIVE when several workers share lfd */
	bool warned_emfile;
	int64_t spin_ns;
	pthread_mutex_t qmu;
	struct sim_evt *q, *q2;
	size_t qn, qcap, q2cap;
	struct list conns; /* open connections (sim_conn.node) */
	/* closed connections and finished streams, freed after the loop iteration that let them go:
	 * later events of the same iteration may still refer to them */
	struct list zombie_conns, zombie_streams;
	bool draining;
	struct buf scratch;
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

struct sim_server {
	const struct sim_cfg *cfg;
	struct sim_worker *workers;
	int n_workers;
	int lfd; /* the one listening socket, shared by every worker's event loop */
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
	struct list log_queue; /* finished streams for the emit log (sim_stream.znode) */
	bool log_stop;
	pthread_t lth;
};

/* Output bytes not yet taken by the socket (inline: checked before every chunk). */
static inline size_t sim_conn_pending(const struct sim_conn *c)
{
	return c->out.len - c->out_off;
}

/* sim_conn.c */
int sim_conn_flush(struct sim_conn *c); /* -1 when the connection died */
void sim_conn_close(struct sim_conn *c);
void sim_conn_process(struct sim_conn *c);
void sim_conn_on_fd(struct ev_loop *loop, int fd, uint32_t events, void *ctx); /* ev_fd_cb */
void sim_accept(struct ev_loop *loop, int fd, uint32_t events, void *ctx);     /* ev_fd_cb, ctx: worker */
void sim_put_head(struct sim_conn *c, int status, const char *ctype, bool chunked, size_t content_len,
                  const char *req_id);
void sim_respond(struct sim_conn *c, int status, const char *ctype, const char *body, size_t len, const char *req_id);
void sim_respond_error(struct sim_conn *c, int status, const char *msg, const char *req_id);

/* sim_stream.c */
void sim_stream_free(struct sim_stream *st);
void sim_stream_kill(struct sim_stream *st);
void sim_stream_pump(struct sim_stream *st, int64_t now);
void sim_stream_record_ttft(struct sim_stream *st, int64_t now);
void sim_stream_record_itl(struct sim_stream *st, int64_t now, int64_t n);
int64_t sim_stream_reasoning_in(const struct sim_stream *st, int64_t sent);
void sim_log_write(struct sim_server *srv, struct sim_stream *st, const char *endpoint);
void sim_handle_generate(struct sim_conn *c, const struct sim_http_req *h, const char *body, size_t blen,
                         enum sim_api_kind kind, const char *req_id, int64_t arrival_ns, int64_t arrival_real_ns);

/* sim_endpoints.c */
void sim_hist_init(struct sim_server *srv);
void sim_handle_request(struct sim_conn *c, const struct sim_http_req *h, const char *body, size_t blen);

/* sim_worker.c */
void sim_thread_realtime(const struct sim_cfg *cfg);
int sim_worker_init(struct sim_server *srv, struct sim_worker *w, int idx); /* 0, or -1 (message printed) */
void sim_worker_fini(struct sim_worker *w);
void *sim_worker_main(void *arg);
void *sim_engine_thread(void *arg);

/* sim_server.c */
void *sim_logger_thread(void *arg);

#endif
