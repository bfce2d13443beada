/* The benchmark loop. One thread: the traffic scheduler decides what is ready, the client streams
 * it, the evaluator records it. Timers are absolute monotonic deadlines, so a late wake-up never
 * shifts later arrivals (the scheduler computes arrivals from the run start).
 *
 * With runtime.num_client_threads > 1 or --shard, several such loops run as shards of one workload
 * (docs/DISTRIBUTED.md): each has its own scheduler, client, event loop and evaluator and shares
 * nothing with the others while traffic runs; the process's own thread passes signals on and draws
 * the progress line; at the end the shards' event logs are merged into the run directory. */
#include "runner/run.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "client/client.h"
#include "client/client_pollskip.h"
#include "client/client_tls.h"
#include "config/config.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/fsutil.h"
#include "core/ev.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "integrations/lmeval.h"
#include "metrics/eval_log.h"
#include "metrics/eval_timeseries.h"
#include "metrics/evaluator.h"
#include "observe/observe.h"
#include "output/report_html.h"
#include "client/record.h"
#include "runner/merge.h"
#include "runner/progress.h"
#include "runner/rundir.h"
#include "runner/run_usage.h"
#include "runner/shard.h"
#include "server/server.h"
#include "tokenizer/tokenizer.h"
#include "client/client_tokcount.h"
#include "traffic/traffic.h"
#include "workload/session_gen.h"

#define RUN_TICK_NS 250000000LL            /* progress / liveness tick */
#define RUN_PUMP_BATCH 64                  /* dispatches per pump before yielding to the loop */
#define RUN_PUMP_BUDGET_NS 1000000LL       /* ... or this much time */
#define RUN_SIGNAL_DEFAULT_GRACE_S 5.0     /* wait for in-flight after a signal when grace = -1 */
#define RUN_NOFILE_BASE 48                 /* descriptors a run holds besides its connections (~32) */
#define RUN_START_LATE_MAX_NS 50000000LL   /* a shard ready this long after the common start fails */
#define RUN_THREAD_START_NS 2000000LL      /* client threads start together this long after all are ready */
#define RUN_START_WAIT_STEP_NS 200000000LL /* a wait for the common start checks for signals this often */
#define RUN_SPIN_AUTO_MAX_US 20000         /* runtime.dispatch_spin_us: auto stays awake (napping) at most this long */
#define RUN_SPIN_BURST 64                  /* short waits measured at start-up (~7 ms) */
#define RUN_SPIN_POLL_ON 2000.0            /* dispatches/s in a tick above which the loop polls, not naps */
#define RUN_SPIN_POLL_OFF 1500.0           /* ... until a tick's rate is below this */

struct run_state {
	const struct cfg_benchmark *cfg;
	const struct cfg_run_opts *opts;
	struct ev_loop *loop;
	struct traffic *traffic;
	struct client *client;
	struct evaluator *eval;
	struct wl_session_gen *gen;
	struct server_handle *server;
	struct progress progress;

	int64_t start_ns;
	int64_t sessions_pulled;
	bool gen_failed;
	/* First session, generated before the clock starts (the generator's one-time set-up). */
	bool first_ready;
	int first_rc;
	struct wl_session *first;
	bool stopping; /* no further dispatch */
	bool server_died;
	/* what cut the run short (run_status truncated, docs/FAILURES.md); empty: nothing did */
	char truncated_why[256];
	int signo;
	int64_t stop_reason_timeout;

	uint64_t sched_timer;
	int64_t sched_timer_at;
	uint64_t grace_timer;
	bool pump_pending;
	uint64_t pump_timer;

	FILE *chunk_log; /* VEEKSHA_CHUNK_LOG: raw per-chunk monotonic ns, for timing-fidelity benchmarks */
	struct buf chunk_buf;

	struct rec_record **free_recs; /* record pool: no allocation per request once warm */
	size_t n_free, cap_free;
	uint64_t dispatched;

	/* ---- one loop of several (docs/DISTRIBUTED.md) ---- */
	struct run_group *grp;
	uint32_t shard_g, shard_n; /* global shard index and count (shard_n 1: not sharded) */
	char *dir;                 /* where this loop's evaluator writes: the run dir or its shard dir */
	const struct tok *tok;
	char *count_name; /* tokenizer name when the server counts tokens */
	struct run_usage usage;
	int slo;       /* eval_finalize's result */
	int exit_code; /* this loop's own: 0, 1 runtime failure, 2 usage error */
	pthread_t thread;
	/* cross-thread: the group's thread asks this loop to react (ev_wake) */
	atomic_int wake_signals; /* signals received so far */
	int signals_handled;
	atomic_bool wake_server_died;
	/* client saturation: 250 ms ticks and those with the loop busier than runtime.saturation_busy_fraction */
	int64_t tick_prev_ns, tick_prev_cpu_ns, tick_prev_spin_ns;
	bool spin_poll; /* polling before dispatches instead of napping (run_on_tick) */
	uint64_t tick_prev_dispatched;
	uint64_t ticks_spin_poll; /* ticks that ended with spin_poll set */
	uint64_t ticks, ticks_busy;
	/* published by the loop's tick for the group's progress line */
	pthread_mutex_t live_mu;
	struct eval_live live_pub;
	size_t in_flight_pub;
};

/* The loops of one process: one, or runtime.num_client_threads of them on their own threads. */
struct run_group {
	const struct cfg_benchmark *cfg;
	const struct cfg_run_opts *opts;
	struct server_handle *server;
	struct run_state *loops;
	uint32_t n_loops;
	bool threaded;
	bool sharded; /* loops write shard directories and event logs, merged at the end */
	/* start barrier: every loop prepared, then one start for all */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint32_t n_prepared, n_finished;
	bool go, abort;
	int64_t start_ns;       /* CLOCK_MONOTONIC common start (0: when all are prepared) */
	int64_t start_epoch_ns; /* the same instant in CLOCK_REALTIME, when agreed between processes */
	/* the main thread's watch while the loops run (run_group_watch) */
	struct ev_loop *watch_loop;
	struct ev_async *done_async; /* a loop thread finished */
	struct progress watch_prog;
	bool watch_server_died;
};

static struct rec_record *run_rec_get(struct run_state *st)
{
	if (st->n_free > 0)
		return st->free_recs[--st->n_free];
	struct rec_record *r = xmalloc(sizeof *r);
	rec_init(r);
	return r;
}

static void run_rec_put(struct run_state *st, struct rec_record *r)
{
	rec_reset(r);
	xgrow((void **)&st->free_recs, &st->cap_free, st->n_free + 1, sizeof *st->free_recs);
	st->free_recs[st->n_free++] = r;
}

static struct wl_session *run_source(void *ctx)
{
	struct run_state *st = ctx;
	if (st->stopping || st->gen_failed)
		return NULL;
	int64_t max = st->cfg->runtime.max_sessions;
	if (max >= 0 && st->sessions_pulled >= max)
		return NULL;
	struct wl_session *s = NULL;
	int r;
	if (st->first_ready) {
		st->first_ready = false;
		r = st->first_rc;
		s = st->first;
		st->first = NULL;
	} else {
		r = wl_session_gen_next(st->gen, &s);
	}
	if (r < 0 && runner_signal_pending()) {
		st->gen_failed =
		    true; /* the generator saw the signal (wl_set_interrupt_flag): interrupted, not truncated */
		return NULL;
	}
	if (r != 0) {
		if (r < 0) {
			const char *why = wl_session_gen_error(st->gen); /* (the generator has logged it) */
			log_error("session generator failed; no further sessions");
			st->gen_failed = true;
			if (!st->truncated_why[0])
				snprintf(st->truncated_why, sizeof st->truncated_why, "session generator failed%s%s",
				         why && *why ? ": " : "", why ? why : "");
		}
		return NULL;
	}
	st->sessions_pulled++;
	return s;
}

static void run_check_done(struct run_state *st)
{
	if (client_in_flight(st->client) > 0)
		return;
	if (st->stopping || !traffic_has_pending(st->traffic))
		ev_stop(st->loop);
}

static void run_pump(struct run_state *st);

static void run_on_sched_timer(struct ev_loop *loop, void *ctx)
{
	(void)loop;
	struct run_state *st = ctx;
	st->sched_timer = 0;
	run_pump(st);
}

static void run_on_pump_timer(struct ev_loop *loop, void *ctx)
{
	(void)loop;
	struct run_state *st = ctx;
	st->pump_timer = 0;
	st->pump_pending = false;
	run_pump(st);
}

/* Ask for a pump soon, from contexts where dispatching directly would re-enter the client. */
static void run_request_pump(struct run_state *st)
{
	if (st->pump_pending)
		return;
	st->pump_pending = true;
	st->pump_timer = ev_timer_at(st->loop, 0, run_on_pump_timer, st);
}

static void run_begin_stop(struct run_state *st, double grace_s, const char *why);

static void run_dispatch(struct run_state *st, const struct wl_request *req, int64_t intended_ns)
{
	struct rec_record *rec = run_rec_get(st);
	int64_t now = clock_mono_ns();
	rec->intended_ns = intended_ns;
	rec->dispatched_ns = now;
	rec->session_total_requests = traffic_session_size(st->traffic, req->session_id);
	eval_register_request(st->eval, req, rec->session_total_requests, intended_ns, now);
	st->dispatched++;
	if (client_submit(st->client, req, rec) != 0) {
		/* The client could not take the request at all (no done callback will come): account it as a
		 * failed request and stop, since every further dispatch would fail the same way. */
		rec_set_error(rec, REC_ERR_CLIENT, REC_CODE_CLIENT, "the client could not accept the request");
		rec->request_id = req->id;
		rec->session_id = req->session_id;
		rec->node_id = req->node_id;
		rec->processed_ns = clock_mono_ns();
		eval_record_completed(st->eval, rec, true);
		run_rec_put(st, rec);
		log_error("dispatch of request %llu failed; stopping the run", (unsigned long long)req->id);
		if (!st->truncated_why[0])
			snprintf(st->truncated_why, sizeof st->truncated_why, "dispatch of request %llu failed",
			         (unsigned long long)req->id);
		run_begin_stop(st, (double)st->cfg->runtime.post_timeout_grace_seconds, "dispatch failed");
	}
}

static void run_pump(struct run_state *st)
{
	if (!st->stopping) {
		/* Dispatch what is due, but yield to the loop after a bounded batch: when the client falls
		 * behind (a stall, a burst), dispatching everything overdue in one go would starve the
		 * reading of responses, so connections stay busy, every new request opens another one and
		 * the client never catches up. The rest follows right after the pending socket events. */
		int64_t t0 = clock_mono_ns();
		bool yielded = false;
		for (int n = 0;; n++) {
			int64_t now = clock_mono_ns();
			if (n >= RUN_PUMP_BATCH || now - t0 >= RUN_PUMP_BUDGET_NS) {
				run_request_pump(st); /* (a spare pump finds nothing due: harmless) */
				yielded = true;
				break;
			}
			int64_t intended = 0;
			const struct wl_request *req = traffic_pop_ready(st->traffic, now, &intended);
			if (!req)
				break;
			run_dispatch(st, req, intended);
			if (st->stopping)
				break; /* the dispatch failed and stopped the run */
		}
		int64_t next = traffic_next_event_ns(st->traffic);
		if (yielded) {
			/* the pump timer carries on after the socket events; a schedule timer due now would
			 * run a second pump in the same turn and halve the loop's share for reading */
			if (st->sched_timer) {
				ev_timer_cancel(st->loop, st->sched_timer);
				st->sched_timer = 0;
			}
		} else if (next != INT64_MAX && (st->sched_timer == 0 || next != st->sched_timer_at)) {
			if (st->sched_timer)
				ev_timer_cancel(st->loop, st->sched_timer);
			st->sched_timer = ev_timer_at(st->loop, next, run_on_sched_timer, st);
			st->sched_timer_at = next;
			ev_spin_before(st->loop, next);
		}
		if (!yielded && next != INT64_MAX) {
			/* build the next request's body while waiting for it (docs/CLIENT.md, Dispatch spin) */
			const struct wl_request *ahead = traffic_peek_next(st->traffic);
			if (ahead)
				client_prepare_ahead(st->client, ahead);
		}
	}
	run_check_done(st);
}

/* One JSONL line per request: {"request_id", "sent_ns", "headers_ns", "chunk_ns": [...]} (CLOCK_MONOTONIC). */
static void run_chunk_log(struct run_state *st, const struct rec_record *rec)
{
	struct buf *b = &st->chunk_buf;
	buf_printf(b,
	           "{\"request_id\": %llu, \"success\": %s, \"sent_ns\": %lld, \"headers_ns\": %lld, \"chunk_ns\": [",
	           (unsigned long long)rec->request_id, rec->success ? "true" : "false", (long long)rec->sent_ns,
	           (long long)rec->headers_ns);
	for (size_t i = 0; i < rec->n_chunks; i++)
		buf_printf(b, i ? ", %lld" : "%lld", (long long)rec->chunks[i].t_ns);
	buf_puts(b, "]}\n");
	if (b->len > (1u << 20)) {
		fwrite(b->data, 1, b->len, st->chunk_log);
		buf_reset(b);
	}
}

static void run_on_done(void *ctx, struct rec_record *rec, const struct wl_request *req)
{
	struct run_state *st = ctx;
	int64_t now = clock_mono_ns();
	rec->processed_ns = now;
	if (st->chunk_log)
		run_chunk_log(st, rec);
	eval_record_completed(st->eval, rec, true);
	integ_lmeval_record(req->id, rec->success, rec->text, rec->text_len, rec->error_msg);
	/* Think time and dependants start from the request's completion (the reference's
	 * client_completed_at), not from this hand-over, which can come later (token counting). */
	int64_t completed = rec->completed_ns > 0 && rec->completed_ns <= now ? rec->completed_ns : now;
	uint64_t cancelled_before = traffic_cancelled_requests(st->traffic);
	traffic_on_complete(st->traffic, req->id, completed, rec->success, rec->text ? rec->text : "");
	/* cancel_session_on_failure dropped the rest of the session: the evaluator counts those
	 * requests as cancelled and the session as cancelled (docs/METRICS.md, Counters). Nothing
	 * dropped (the failure was the session's last request) leaves it errored. */
	uint64_t dropped = traffic_cancelled_requests(st->traffic) - cancelled_before;
	if (dropped > 0)
		eval_session_cancelled_at(st->eval, rec->session_id, (uint32_t)dropped, now);
	run_rec_put(st, rec);
	run_request_pump(st);
}

static void run_on_event(void *ctx, struct rec_record *rec, int event)
{
	struct run_state *st = ctx;
	const struct cfg_traffic *t = &st->cfg->traffic_scheduler;
	if (t->type != CFG_TRAFFIC_SEQUENTIAL_LAUNCH)
		return;
	if ((event == CLIENT_EVENT_HEADERS && t->ordering == CFG_ORDERING_DISPATCH) ||
	    (event == CLIENT_EVENT_FIRST_CHUNK && t->ordering == CFG_ORDERING_PREFILL)) {
		traffic_on_advance(st->traffic, rec->request_id);
		run_request_pump(st);
	}
}

static void run_on_grace_timer(struct ev_loop *loop, void *ctx)
{
	(void)loop;
	struct run_state *st = ctx;
	st->grace_timer = 0;
	if (client_in_flight(st->client) > 0) {
		log_warn("grace period over: cancelling %zu in-flight request(s)", client_in_flight(st->client));
		client_cancel_all(st->client, "benchmark stopped");
	}
	run_check_done(st);
}

/* Stop dispatching; wait for in-flight requests up to grace_s (< 0: wait for all). */
static void run_begin_stop(struct run_state *st, double grace_s, const char *why)
{
	if (!st->stopping) {
		st->stopping = true;
		traffic_stop_dispatch(st->traffic);
		if (st->sched_timer) {
			ev_timer_cancel(st->loop, st->sched_timer);
			st->sched_timer = 0;
		}
		size_t n = client_in_flight(st->client);
		if (!st->opts->quiet || n > 0)
			log_info("%s: no new requests; %zu in flight", why, n);
	}
	if (grace_s >= 0) {
		if (st->grace_timer)
			ev_timer_cancel(st->loop, st->grace_timer);
		st->grace_timer =
		    ev_timer_at(st->loop, clock_mono_ns() + clock_span_s_to_ns(grace_s), run_on_grace_timer, st);
	}
	run_check_done(st);
}

static void run_on_timeout(struct ev_loop *loop, void *ctx)
{
	(void)loop;
	struct run_state *st = ctx;
	progress_clear(&st->progress);
	run_begin_stop(st, (double)st->cfg->runtime.post_timeout_grace_seconds, "benchmark_timeout reached");
}

/* A signal reached the process (read from the signal pipe by this loop, or passed on by the group's
 * thread): the first stops dispatching and waits a grace period, a further one cancels at once. */
static void run_on_signal(struct run_state *st, int signo)
{
	progress_clear(&st->progress);
	if (!st->signo) {
		st->signo = signo;
		double grace = (double)st->cfg->runtime.post_timeout_grace_seconds;
		if (grace < 0)
			grace = RUN_SIGNAL_DEFAULT_GRACE_S;
		if (st->shard_g == 0)
			log_warn("signal %d: stopping; waiting up to %.1f s for in-flight requests (signal again to "
			         "stop now)",
			         st->signo, grace);
		run_begin_stop(st, grace, "interrupted");
	} else {
		if (st->shard_g == 0)
			log_warn("second signal: cancelling in-flight requests");
		client_cancel_all(st->client, "interrupted");
		run_check_done(st);
	}
}

static void run_on_signal_fd(struct ev_loop *loop, int fd, uint32_t events, void *ctx)
{
	(void)loop;
	(void)events;
	struct run_state *st = ctx;
	char buf[16];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n <= 0)
		return;
	run_on_signal(st, runner_signal_pending());
}

static void run_server_died(struct run_state *st)
{
	st->server_died = true;
	progress_clear(&st->progress);
	if (st->shard_g == 0)
		log_error(
		    "the managed server exited during the benchmark; stopping (see its log in the run directory)");
	if (!st->truncated_why[0])
		snprintf(st->truncated_why, sizeof st->truncated_why, "the managed server exited during the benchmark");
	run_begin_stop(st, 5.0, "server died");
}

/* Several loops: the group's thread watches signals and the server and wakes each loop. */
static void run_on_wake(struct ev_loop *loop, void *ctx)
{
	(void)loop;
	struct run_state *st = ctx;
	int sigs = atomic_load(&st->wake_signals);
	while (st->signals_handled < sigs) {
		st->signals_handled++;
		run_on_signal(st, runner_signal_pending());
	}
	if (atomic_load(&st->wake_server_died) && !st->server_died)
		run_server_died(st);
}

/* Flushes batched output rows (request_level_metrics.jsonl, dispatch trace) at a bounded age. */
static void run_on_flush(struct ev_loop *loop, void *ctx)
{
	struct run_state *st = ctx;
	int64_t now = clock_mono_ns();
	eval_tick(st->eval, now);
	ev_timer_at(loop, now + EVAL_JSONL_FLUSH_NS, run_on_flush, st);
}

static void run_on_tick(struct ev_loop *loop, void *ctx)
{
	struct run_state *st = ctx;
	int64_t now = clock_mono_ns();
	{
		/* how busy the loop was since the last tick, less the polls before dispatches */
		int64_t cpu = clock_thread_cpu_ns(), spin = ev_spin_ns(loop);
		if (now > st->tick_prev_ns) {
			double busy = (double)(cpu - st->tick_prev_cpu_ns - (spin - st->tick_prev_spin_ns)) /
			              (double)(now - st->tick_prev_ns);
			st->ticks++;
			if (busy > st->cfg->runtime.saturation_busy_fraction)
				st->ticks_busy++;
			/* dispatches less than ~0.5 ms apart leave little to nap through, and every nap's
			 * wake-up costs precision: the loop polls instead (docs/CLIENT.md, Dispatch spin).
			 * (By the rate, not by how busy the loop is: polls that find an event count as
			 * work, so a polling loop would look busy enough to keep polling.) */
			double rate = (double)(st->dispatched - st->tick_prev_dispatched) * 1e9 /
			              (double)(now - st->tick_prev_ns);
			if (!st->spin_poll && rate > RUN_SPIN_POLL_ON)
				st->spin_poll = true;
			else if (st->spin_poll && rate < RUN_SPIN_POLL_OFF)
				st->spin_poll = false;
			ev_spin_set_poll(loop, st->spin_poll);
			st->ticks_spin_poll += st->spin_poll;
		}
		st->tick_prev_ns = now;
		st->tick_prev_dispatched = st->dispatched;
		st->tick_prev_cpu_ns = cpu;
		st->tick_prev_spin_ns = spin;
	}
	eval_tick(st->eval, now);
	struct eval_live live;
	eval_live_stats(st->eval, &live);
	if (st->grp->threaded) {
		/* the group's thread draws the progress line and watches the server */
		pthread_mutex_lock(&st->live_mu);
		st->live_pub = live;
		st->in_flight_pub = client_in_flight(st->client);
		pthread_mutex_unlock(&st->live_mu);
	} else {
		progress_update(&st->progress, now - st->start_ns, &live, client_in_flight(st->client));
		if (st->server && !st->server_died && !server_is_alive(st->server))
			run_server_died(st);
	}
	ev_timer_at(loop, now + RUN_TICK_NS, run_on_tick, st);
}

/* A managed sim server counts tokens with the same tokenizer as the client (client.tokenizer). */
static void run_forward_tokenizer(struct cfg_benchmark *cfg)
{
	if (cfg->server.type != CFG_SERVER_SIM || !cfg->client.tokenizer || !*cfg->client.tokenizer)
		return;
	cJSON *args = cJSON_Parse(cfg->server.additional_args ? cfg->server.additional_args : "{}");
	if (!cJSON_IsObject(args)) {
		cJSON_Delete(args);
		return;
	}
	if (!cJSON_GetObjectItemCaseSensitive(args, "tokenizer"))
		cJSON_AddStringToObject(args, "tokenizer", cfg->client.tokenizer);
	char *text = cJSON_PrintUnformatted(args);
	cJSON_Delete(args);
	if (text) {
		free(cfg->server.additional_args);
		cfg->server.additional_args = xstrdup(text);
		cJSON_free(text);
	}
}

/* Resolution step 3 (docs/TOKENIZER.md): no tokenizer file was found (and none was configured), so
 * ask the server's /tokenize endpoint. Returns the tokenizer name for summary_stats.json
 * ("server:<url>") when the server counts, else NULL. Prompts are still built with tok. */
static char *run_server_count(const struct cfg_benchmark *cfg, struct client *client, const struct tok *tok, bool say)
{
	if (!tok_is_approx(tok) || (cfg->client.tokenizer && *cfg->client.tokenizer))
		return NULL;
	char err[768] = "";
	char *url = client_tokcount_probe(&cfg->client, NULL, err, sizeof err);
	if (!url || client_use_server_count(client, url, err, sizeof err) != 0) {
		if (say)
			log_warn("tokenizer: not counting with the server's /tokenize (%s); token counts use the "
			         "whitespace-word approximation",
			         err);
		free(url);
		return NULL;
	}
	if (say)
		log_warn(
		    "tokenizer: token counts come from the server's tokenizer (%s); prompt lengths are approximate "
		    "targets (built with the whitespace-word approximation, see docs/TOKENIZER.md)",
		    url);
	char *name = xasprintf("server:%s", url);
	free(url);
	return name;
}

/* Records the server could not count were counted with the approximation: say how many. */
static void run_server_count_report(struct client *client, const char *name)
{
	uint64_t records, failed, cancelled;
	client_server_count_stats(client, &records, &failed, &cancelled);
	if (failed || cancelled)
		log_warn("tokenizer: %llu of %llu records were counted with the whitespace-word approximation instead "
		         "of %s (%llu failed /tokenize calls, %llu cancelled while waiting for their counts)",
		         (unsigned long long)(failed + cancelled), (unsigned long long)records, name,
		         (unsigned long long)failed, (unsigned long long)cancelled);
}

static void run_free_recs(struct run_state *st)
{
	for (size_t i = 0; i < st->n_free; i++) {
		rec_free(st->free_recs[i]);
		free(st->free_recs[i]);
	}
	free(st->free_recs);
	st->free_recs = NULL;
	st->n_free = 0;
}

/* Traffic is over: free what only the run needed (curl handles and connections, one receive
 * buffer each; the pool of request records with their chunk and text buffers) before the outputs
 * are written, which map every request's data back in. With 10,000 streams this is ~90 MB less
 * at the process's peak (bench scale scenario). */
static void run_release_client(struct run_state *st, const char *count_name)
{
	if (!st->client)
		return;
	if (count_name)
		run_server_count_report(st->client, count_name);
	client_free(st->client); /* (requests still in flight were cancelled and handed over) */
	st->client = NULL;
	run_free_recs(st);
	xheap_trim(); /* give the freed heap back to the kernel */
}

static int run_resolve_client(struct cfg_benchmark *cfg, struct server_handle *server, char *err, size_t err_len)
{
	if (server) {
		free(cfg->client.api_base);
		cfg->client.api_base = xstrdup(server_api_base(server));
		free(cfg->client.model);
		cfg->client.model = xstrdup(cfg->server.model);
		free(cfg->client.api_key);
		cfg->client.api_key = xstrdup(cfg->server.api_key);
		return 0;
	}
	if (!cfg->client.api_base && !getenv("OPENAI_API_BASE")) {
		snprintf(err, err_len,
		         "client.api_base is not set: set client.api_base (e.g. "
		         "--openai-chat-completions-client-api-base, or env OPENAI_API_BASE), "
		         "or add a server: section to launch one");
		return -1;
	}
	/* the environment's values get the checks the config's get (config_check_*) */
	const char *env_base = cfg->client.api_base && *cfg->client.api_base ? NULL : getenv("OPENAI_API_BASE");
	const char *env_key = cfg->client.api_key && *cfg->client.api_key ? NULL : getenv("OPENAI_API_KEY");
	const char *why;
	if (env_base && (why = config_check_api_base(env_base))) {
		snprintf(err, err_len, "OPENAI_API_BASE (environment): %s (got '%.200s')", why, env_base);
		return -1;
	}
	if (env_key && (why = config_check_api_key(env_key))) {
		snprintf(err, err_len, "OPENAI_API_KEY (environment): %s", why);
		return -1;
	}
	/* CA bundle and client certificate files exist and are readable (docs/CLIENT.md, TLS) */
	struct client_tls tls;
	return client_tls_resolve(&cfg->client, &tls, err, err_len);
}

/* Prompts and outputs must fit the context the server reports (vLLM, the sim: max_model_len in
 * GET /v1/models) when the config gave none (docs/CONFIG.md, Limits). -1 (logged) when not. */
static int run_check_context(const struct cfg_benchmark *cfg)
{
	if (cfg->session_generator.type != CFG_SESSION_GEN_SYNTHETIC ||
	    (cfg->has_server && cfg->server.max_model_len > 0))
		return 0;
	const char *base =
	    cfg->client.api_base && *cfg->client.api_base ? cfg->client.api_base : getenv("OPENAI_API_BASE");
	const char *key = cfg->client.api_key && *cfg->client.api_key ? cfg->client.api_key : getenv("OPENAI_API_KEY");
	int64_t ctx = server_models_context_len(base, key, cfg->client.model, 2.0);
	char bad_key[160], why[512];
	if (ctx <= 0 || config_check_context(cfg, ctx, "max_model_len reported by GET /v1/models", bad_key,
	                                     sizeof bad_key, why, sizeof why) == 0)
		return 0;
	log_error("%s: %s", bad_key, why);
	return -1;
}

/* ---- one loop: prepare, run, finish ---- */

/* What a loop needs before the clock starts (the generator's one-time set-up, the client, the
 * evaluator's files), so that none of it delays the first dispatch. 0, or an exit code (logged). */
static int run_loop_prepare(struct run_state *st, uint32_t loop_index)
{
	const struct cfg_benchmark *cfg = st->cfg;
	char err[1024] = "";
	if (!st->gen) {
		st->gen = wl_session_gen_create(cfg, st->tok, err, sizeof err);
		if (!st->gen) {
			log_error("%s", err);
			return 2;
		}
	}
	st->loop = ev_loop_create();
	if (!st->loop) {
		log_error("cannot create an event loop: %s", strerror(errno));
		return 1;
	}
	/* the dispatch spin, calibrated to this host (docs/CLIENT.md, Dispatch spin) */
	/* auto: nap up to 20 ms, poll at most two naps; N: the user's maximum for both */
	bool spin_auto = cfg->runtime.dispatch_spin_us == CFG_INT_AUTO;
	int64_t spin_max_us = spin_auto ? RUN_SPIN_AUTO_MAX_US : cfg->runtime.dispatch_spin_us;
	ev_set_spin_auto(st->loop, spin_max_us * 1000, spin_auto ? 0 : spin_max_us * 1000, RUN_SPIN_BURST);
	if (st->grp->threaded)
		ev_set_wake_cb(st->loop, run_on_wake, st);
	st->client = client_create(&cfg->client, st->loop, st->tok, run_on_done, run_on_event, st, err, sizeof err);
	if (!st->client) {
		log_error("%s", err);
		return 2;
	}
	st->count_name = run_server_count(cfg, st->client, st->tok, loop_index == 0); /* (said once per process) */
	const char *chunk_log = getenv("VEEKSHA_CHUNK_LOG");
	if (chunk_log && *chunk_log) {
		/* one file per loop: the first as named, the others with their loop number appended */
		char *path = loop_index ? xasprintf("%s.%u", chunk_log, loop_index) : xstrdup(chunk_log);
		st->chunk_log = fopen(path, "w");
		if (!st->chunk_log)
			log_warn("cannot open VEEKSHA_CHUNK_LOG file %s: %s", path, strerror(errno));
		free(path);
		buf_init(&st->chunk_buf);
	}
	/* The generator's first call does one-time set-up (about 1.5 ms: prompt corpus and builders);
	 * done before the clock starts, it does not make the first request late. */
	if (cfg->runtime.max_sessions != 0) {
		st->first_rc = wl_session_gen_next(st->gen, &st->first);
		st->first_ready = true;
	}
	if (runner_signal_pending())
		return 128 + runner_signal_pending();
	/* the evaluator's files are opened before the clock starts (see eval_set_start) */
	st->eval = eval_create(cfg, st->dir, clock_mono_ns(), st->count_name ? st->count_name : tok_name(st->tok));
	if (!st->eval)
		return 1; /* eval_create said why (the run directory's metrics/ cannot be created or written) */
	return 0;
}

/* The measured run of one loop, from the start (start_ns; 0: now) until traffic drained or stopped. */
static int run_loop_run(struct run_state *st, int64_t start_ns, int64_t start_epoch_ns)
{
	const struct cfg_benchmark *cfg = st->cfg;
	/* an agreed start before this host booted is a monotonic time <= 0: still a start it missed */
	if (start_ns > 0 || start_epoch_ns > 0) {
		int64_t late_ns = clock_mono_ns() - start_ns;
		if (late_ns > RUN_START_LATE_MAX_NS) {
			/* a shard that missed the start would shift its part of the schedule: refuse */
			log_error("shard %u of %u could not make the common start: ready %.1f ms after it (raise "
			          "--rendezvous-margin-s, or give --start-at further ahead)",
			          st->shard_g, st->shard_n, (double)late_ns / 1e6);
			snprintf(st->truncated_why, sizeof st->truncated_why, "missed the common start by %.1f ms",
			         (double)late_ns / 1e6);
			return 1;
		}
		/* a start far ahead (--start-at) is waited for in steps, so that SIGINT/SIGTERM stop it */
		if (start_ns - clock_mono_ns() > RUN_START_WAIT_STEP_NS && st->shard_g == 0)
			log_info("waiting %.1f s for the common start", (double)(start_ns - clock_mono_ns()) / 1e9);
		while (start_ns - clock_mono_ns() > RUN_START_WAIT_STEP_NS) {
			if (runner_signal_pending()) {
				log_error("interrupted while waiting for the common start (signal %d)",
				          runner_signal_pending());
				snprintf(st->truncated_why, sizeof st->truncated_why,
				         "interrupted before the common start");
				return 128 + runner_signal_pending();
			}
			clock_sleep_until_ns(clock_mono_ns() + RUN_START_WAIT_STEP_NS / 2);
		}
		/* sleep, nap, then poll the last stretch: a sleeping vCPU can wake milliseconds late
		 * (docs/CLIENT.md, Dispatch spin), and the first arrivals are due at the start itself */
		ev_spin_until(st->loop, start_ns);
	}
	run_usage_begin(&st->usage);
	if (start_ns > 0)
		st->usage.start_ns = start_ns;
	st->start_ns = st->usage.start_ns;
	st->tick_prev_ns = st->start_ns;
	st->tick_prev_cpu_ns = clock_thread_cpu_ns();
	st->tick_prev_spin_ns = 0;
	eval_set_start(st->eval, st->start_ns);
	if (st->grp->sharded) {
		char err[512] = "";
		char *path = xasprintf("%s/metrics/%s", st->dir, EVAL_LOG_FILE);
		struct eval_shard_info info = {
		    .index = st->shard_g, .count = st->shard_n, .host = NULL, .start_epoch_ns = start_epoch_ns};
		int rc = eval_log_enable(st->eval, path, &info, err, sizeof err);
		free(path);
		if (rc != 0) {
			log_error("%s", err);
			return 1;
		}
	}
	st->traffic = traffic_create(&cfg->traffic_scheduler, (uint64_t)cfg->seed, st->start_ns, run_source, st);
	if (!st->traffic) {
		log_error("cannot create the traffic scheduler (see the message above)");
		return 1;
	}
	if (traffic_set_shard(st->traffic, st->shard_g, st->shard_n) != 0) {
		log_error("invalid shard %u of %u", st->shard_g, st->shard_n);
		return 1;
	}
	progress_init(&st->progress, st->opts->quiet || st->grp->threaded, cfg->runtime.max_sessions,
	              cfg->runtime.benchmark_timeout);

	if (!st->grp->threaded && runner_signal_fd() >= 0)
		ev_fd_set(st->loop, runner_signal_fd(), EV_READ, run_on_signal_fd, st);
	if (cfg->runtime.benchmark_timeout > 0)
		ev_timer_at(st->loop, st->start_ns + clock_span_s_to_ns((double)cfg->runtime.benchmark_timeout),
		            run_on_timeout, st);
	ev_timer_at(st->loop, st->start_ns + RUN_TICK_NS, run_on_tick, st);
	ev_timer_at(st->loop, st->start_ns + EVAL_JSONL_FLUSH_NS, run_on_flush, st);
	if (runner_signal_pending()) {
		st->signo = runner_signal_pending();
		st->signals_handled = atomic_load(&st->wake_signals);
		st->stopping = true;
	}
	run_pump(st);
	if (!st->stopping || client_in_flight(st->client) > 0)
		ev_run(st->loop);
	if (!st->grp->threaded && st->server && !st->server_died && server_exited_unexpectedly(st->server)) {
		/* The run may have drained (every request errored) before a tick noticed the death. */
		st->server_died = true;
		log_error("the managed server exited during the benchmark (see its log in the run directory)");
		if (!st->truncated_why[0])
			snprintf(st->truncated_why, sizeof st->truncated_why,
			         "the managed server exited during the benchmark");
	}

	run_usage_run_end(&st->usage);
	st->usage.loop_spin_ns = ev_spin_ns(st->loop);
	run_usage_set_spin(&st->usage, ev_spin_calib(st->loop));
	st->usage.polls_skipped = client_pollskip_count(); /* the loop runs on this thread */
	client_ahead_stats(st->client, &st->usage.prepared_ahead, &st->usage.ahead_replaced);
	const struct sketch *lag = client_read_lag(st->client);
	st->usage.reads_stamped = sketch_count(lag);
	if (st->usage.reads_stamped) {
		st->usage.read_lag_p50_ns = (int64_t)sketch_quantile(lag, 0.5);
		st->usage.read_lag_p99_ns = (int64_t)sketch_quantile(lag, 0.99);
		st->usage.read_lag_max_ns = (int64_t)lag->max;
	}
	{
		struct eval_live live; /* the TBC sketch is complete once traffic has drained */
		eval_live_stats(st->eval, &live);
		st->usage.tbc_p90_s = live.tbc_p90_s;
		st->usage.reads_lagging_tbc = sketch_count_at_least(lag, (double)clock_s_to_ns(live.tbc_p90_s));
	}
	progress_clear(&st->progress);
	run_release_client(st, st->count_name);
	return 0;
}

/* After the run: the run status, every output file of this loop's directory, its exit code. */
static int run_loop_finish(struct run_state *st)
{
	/* run_status (docs/FAILURES.md): a run cut short is truncated whatever else happened; a signal
	 * that stopped a run that was not cut short makes it interrupted */
	if (st->truncated_why[0])
		eval_set_run_status(st->eval, EVAL_RUN_TRUNCATED, st->truncated_why);
	else if (st->signo) {
		char why[64];
		snprintf(why, sizeof why, "signal %d", st->signo);
		eval_set_run_status(st->eval, EVAL_RUN_INTERRUPTED, why);
	}
	st->usage.busy_tick_share = st->ticks ? (double)st->ticks_busy / (double)st->ticks : 0.0;
	st->usage.spin_poll_tick_share = st->ticks ? (double)st->ticks_spin_poll / (double)st->ticks : 0.0;
	eval_set_client_load(st->eval, st->usage.busy_tick_share);
	st->slo = eval_finalize(st->eval, st->usage.run_end_ns);
	st->usage.saturated = eval_client_saturated(st->eval, NULL) ? 1 : 0;
	eval_dispatch_lateness_ms(st->eval, &st->usage.lateness_p50_ms, &st->usage.lateness_p99_ms,
	                          &st->usage.lateness_p999_ms);
	run_usage_done(&st->usage);
	{
		struct eval_live live;
		eval_live_stats(st->eval, &live);
		run_usage_write(&st->usage, st->dir, live.requests, live.output_tokens);
	}
	if (st->chunk_log) {
		fwrite(st->chunk_buf.data ? st->chunk_buf.data : "", 1, st->chunk_buf.len, st->chunk_log);
		fclose(st->chunk_log);
		st->chunk_log = NULL;
		buf_free(&st->chunk_buf);
	}
	if (st->slo < 0 || st->server_died || st->truncated_why[0])
		return 1; /* truncated: the workload was not fully measured */
	if (st->signo)
		return 128 + st->signo;
	if (st->opts->fail_on_slo && (st->slo == 0 || (st->opts->strict_client && st->usage.saturated == 1)))
		return 3;
	return 0;
}

static void run_loop_free(struct run_state *st)
{
	if (st->client)
		client_free(st->client);
	st->client = NULL;
	if (st->traffic)
		traffic_free(st->traffic);
	if (st->eval)
		eval_free(st->eval);
	free(st->count_name);
	run_free_recs(st);
	if (st->chunk_log) {
		fclose(st->chunk_log);
		buf_free(&st->chunk_buf);
	}
	if (st->loop)
		ev_loop_free(st->loop);
	if (st->first)
		wl_session_free(st->first);
	wl_session_gen_free(st->gen);
	free(st->dir);
	pthread_mutex_destroy(&st->live_mu);
}

/* ---- several loops on threads ---- */

/* CPUs this process may run on (its affinity mask), at least 1. */
static uint32_t run_cpus_allowed(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return 1;
	int n = CPU_COUNT(&set);
	return n > 0 ? (uint32_t)n : 1;
}

/* Pins the calling thread to the index-th CPU of the process's affinity mask, so that two loops never
 * take turns on one CPU while another idles (best effort: a failure only costs that). */
static void run_pin_thread(uint32_t index)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return;
	uint32_t seen = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (seen++ == index) {
			cpu_set_t one;
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			pthread_setaffinity_np(pthread_self(), sizeof one, &one);
			return;
		}
	}
}

static void *run_loop_thread(void *arg)
{
	struct run_state *st = arg;
	struct run_group *g = st->grp;
	run_pin_thread((uint32_t)(st - g->loops));
	int rc = run_loop_prepare(st, (uint32_t)(st - g->loops));
	pthread_mutex_lock(&g->mu);
	if (rc != 0) {
		st->exit_code = rc;
		g->abort = true;
	}
	g->n_prepared++;
	pthread_cond_broadcast(&g->cv);
	while (!g->go && !g->abort)
		pthread_cond_wait(&g->cv, &g->mu);
	bool go = g->go && !g->abort;
	int64_t start_ns = g->start_ns, start_epoch_ns = g->start_epoch_ns;
	pthread_mutex_unlock(&g->mu);
	if (go)
		st->exit_code = run_loop_run(st, start_ns, start_epoch_ns);
	pthread_mutex_lock(&g->mu);
	g->n_finished++;
	pthread_mutex_unlock(&g->mu);
	ev_async_send(g->done_async);
	return NULL;
}

/* The group's own thread while the loops run: passes signals and a server death on to every loop and
 * draws one progress line for all of them. */
static bool run_group_all_finished(struct run_group *g)
{
	pthread_mutex_lock(&g->mu);
	bool all_done = g->n_finished == g->n_loops;
	pthread_mutex_unlock(&g->mu);
	return all_done;
}

static void run_watch_on_done(struct ev_loop *loop, void *ctx)
{
	if (run_group_all_finished(ctx))
		ev_stop(loop);
}

/* SIGINT/SIGTERM (runner/signals.c's pipe): each one is passed on to every loop. */
static void run_watch_on_signal(struct ev_loop *loop, int fd, uint32_t events, void *ctx)
{
	(void)loop;
	(void)events;
	struct run_group *g = ctx;
	char buf[16];
	ssize_t r = read(fd, buf, sizeof buf);
	for (ssize_t i = 0; i < r; i++)
		for (uint32_t j = 0; j < g->n_loops; j++) {
			atomic_fetch_add(&g->loops[j].wake_signals, 1);
			if (g->loops[j].loop)
				ev_wake(g->loops[j].loop);
		}
	progress_clear(&g->watch_prog);
}

/* Every tick: a dead managed server stops every loop; one progress line for all loops (counts add
 * up; latency percentiles are the slowest loop's). */
static void run_watch_on_tick(struct ev_loop *loop, void *ctx)
{
	struct run_group *g = ctx;
	if (g->server && !g->watch_server_died && !server_is_alive(g->server)) {
		g->watch_server_died = true;
		progress_clear(&g->watch_prog);
		log_error("the managed server exited during the benchmark; stopping (see its log in the run "
		          "directory)");
		for (uint32_t j = 0; j < g->n_loops; j++) {
			atomic_store(&g->loops[j].wake_server_died, true);
			ev_wake(g->loops[j].loop);
		}
	}
	struct eval_live sum;
	memset(&sum, 0, sizeof sum);
	size_t in_flight = 0;
	for (uint32_t j = 0; j < g->n_loops; j++) {
		struct run_state *st = &g->loops[j];
		pthread_mutex_lock(&st->live_mu);
		struct eval_live l = st->live_pub;
		in_flight += st->in_flight_pub;
		pthread_mutex_unlock(&st->live_mu);
		sum.requests += l.requests;
		sum.completed += l.completed;
		sum.errors += l.errors;
		sum.sessions += l.sessions;
		sum.output_tokens += l.output_tokens;
		sum.output_tokens_per_s += l.output_tokens_per_s;
		sum.ttfc_p50_s = l.ttfc_p50_s > sum.ttfc_p50_s ? l.ttfc_p50_s : sum.ttfc_p50_s;
		sum.ttfc_p99_s = l.ttfc_p99_s > sum.ttfc_p99_s ? l.ttfc_p99_s : sum.ttfc_p99_s;
		sum.tbc_p90_s = l.tbc_p90_s > sum.tbc_p90_s ? l.tbc_p90_s : sum.tbc_p90_s;
	}
	if (g->start_ns > 0)
		progress_update(&g->watch_prog, clock_mono_ns() - g->start_ns, &sum, in_flight);
	ev_timer_at(loop, clock_mono_ns() + RUN_TICK_NS, run_watch_on_tick, g);
}

/* The group's own thread while the loops run (its ev loop was made by run_group_run): passes
 * signals and a server death on to every loop and draws the progress line, until every loop has
 * finished. */
static void run_group_watch(struct run_group *g)
{
	progress_init(&g->watch_prog, g->opts->quiet, g->cfg->runtime.max_sessions, g->cfg->runtime.benchmark_timeout);
	g->watch_server_died = false;
	if (runner_signal_fd() >= 0)
		ev_fd_set(g->watch_loop, runner_signal_fd(), EV_READ, run_watch_on_signal, g);
	ev_timer_at(g->watch_loop, clock_mono_ns() + RUN_TICK_NS, run_watch_on_tick, g);
	if (!run_group_all_finished(g))
		ev_run(g->watch_loop);
	if (runner_signal_fd() >= 0)
		ev_fd_del(g->watch_loop, runner_signal_fd());
	progress_clear(&g->watch_prog);
	if (g->watch_server_died || (g->server && server_exited_unexpectedly(g->server)))
		for (uint32_t j = 0; j < g->n_loops; j++) {
			struct run_state *st = &g->loops[j];
			st->server_died = true;
			if (!st->truncated_why[0])
				snprintf(st->truncated_why, sizeof st->truncated_why,
				         "the managed server exited during the benchmark");
		}
}

/* Runs every loop of the group; the start is start_epoch_ns (another process agreed on it), or now once
 * every loop is prepared. Each loop's exit_code is set. */
static void run_group_run(struct run_group *g, const struct runner_shard *sh, int64_t start_epoch_ns)
{
	if (!g->threaded) {
		struct run_state *st = &g->loops[0];
		st->exit_code = run_loop_prepare(st, 0);
		if (st->exit_code == 0 && sh->rendezvous_dir && !start_epoch_ns) {
			char err[1024];
			if (shard_ready(sh, &start_epoch_ns, err, sizeof err) != 0) {
				log_error("%s", err);
				st->exit_code = runner_signal_pending() ? 128 + runner_signal_pending() : 1;
			}
		}
		if (st->exit_code == 0) {
			int64_t start_ns = start_epoch_ns ? shard_epoch_to_mono_ns(start_epoch_ns) : 0;
			g->start_ns = start_ns;
			st->exit_code = run_loop_run(st, start_ns, start_epoch_ns);
		}
		return;
	}
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->watch_loop = ev_loop_create();
	if (!g->watch_loop) {
		for (uint32_t j = 0; j < g->n_loops; j++)
			g->loops[j].exit_code = 1; /* (ev_loop_create said why) */
		return;
	}
	g->done_async = ev_async_add(g->watch_loop, run_watch_on_done, g);
	uint32_t started = 0;
	for (uint32_t j = 0; j < g->n_loops; j++) {
		if (pthread_create(&g->loops[j].thread, NULL, run_loop_thread, &g->loops[j]) != 0) {
			log_error("cannot start client thread %u: %s", j, strerror(errno));
			pthread_mutex_lock(&g->mu);
			g->abort = true;
			pthread_cond_broadcast(&g->cv);
			pthread_mutex_unlock(&g->mu);
			g->loops[j].exit_code = 1;
			break;
		}
		started++;
	}
	/* every loop prepared: agree on the start (with the other processes when sharded) and go */
	pthread_mutex_lock(&g->mu);
	while (g->n_prepared < started && !g->abort)
		pthread_cond_wait(&g->cv, &g->mu);
	bool ok = !g->abort && started == g->n_loops;
	pthread_mutex_unlock(&g->mu);
	if (ok && sh->rendezvous_dir && !start_epoch_ns) {
		char err[1024];
		if (shard_ready(sh, &start_epoch_ns, err, sizeof err) != 0) {
			log_error("%s", err);
			ok = false;
		}
	}
	pthread_mutex_lock(&g->mu);
	if (ok) {
		/* a common start a little ahead, so that every thread is waiting for it */
		g->start_ns =
		    start_epoch_ns ? shard_epoch_to_mono_ns(start_epoch_ns) : clock_mono_ns() + RUN_THREAD_START_NS;
		/* the threads' shards record one start, the run's identity for the merge (docs/MERGE.md):
		 * without an agreed one, this process's realtime clock at the common start */
		g->start_epoch_ns = start_epoch_ns ? start_epoch_ns : clock_real_ns() + (g->start_ns - clock_mono_ns());
		g->go = true;
	} else {
		g->abort = true;
	}
	pthread_cond_broadcast(&g->cv);
	g->n_finished += g->n_loops - started; /* (threads that never started) */
	pthread_mutex_unlock(&g->mu);
	if (ok)
		run_group_watch(g);
	for (uint32_t j = 0; j < started; j++)
		pthread_join(g->loops[j].thread, NULL);
	ev_loop_free(g->watch_loop); /* (and the async) */
	g->watch_loop = NULL;
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	if (!ok)
		for (uint32_t j = 0; j < g->n_loops; j++)
			if (g->loops[j].exit_code == 0)
				g->loops[j].exit_code = runner_signal_pending() ? 128 + runner_signal_pending() : 1;
}

/* One benchmark from its config to its last file: the state runner_run_impl's steps share. */
struct run_job {
	const struct cfg_run_opts *opts;
	struct runner_result *out;
	struct cfg_benchmark cfg;
	struct runner_shard sh;
	struct run_group grp;
	struct wl_session_gen *gen0; /* built by the checks; handed to loop 0 */
	struct tok *tok;
	uint32_t threads; /* client loops of this process */
	uint32_t shard_n; /* shards of the whole run: processes x threads */
	bool sharded;
	char **shard_dirs;           /* [threads] when sharded */
	struct server_handle *owned; /* the server this run started (not a shared one) */
	char err[1024];
};

/* Checks that need no files: a config error must leave no run directory behind. 0 or 2. */
static int run_job_check(struct run_job *j)
{
	struct cfg_benchmark *cfg = &j->cfg;
	if (shard_resolve(j->opts, cfg->output_dir, &j->sh, j->err, sizeof j->err) != 0) {
		log_error("%s", j->err);
		return 2;
	}
	if (!cfg->has_server && run_resolve_client(cfg, NULL, j->err, sizeof j->err) != 0) {
		log_error("%s", j->err);
		return 2;
	}
	if (cfg->has_server && server_validate(&cfg->server, j->err, sizeof j->err) != 0) {
		log_error("server: %s", j->err);
		return 2;
	}
	j->tok = tok_resolve(cfg->client.tokenizer, cfg->has_server ? cfg->server.model : cfg->client.model);
	wl_session_gen_set_lmeval_source(&integ_lmeval_source); /* lm-eval documents (docs/INTEGRATIONS.md) */
	j->gen0 = wl_session_gen_create(cfg, j->tok, j->err, sizeof j->err);
	if (!j->gen0) {
		log_error("%s", j->err);
		return 2;
	}
	/* The scheduler is built for real only once the clock starts; a trial build here turns a
	 * configuration it rejects into a usage error before any run directory exists. */
	struct run_state trial_st;
	memset(&trial_st, 0, sizeof trial_st);
	struct traffic *trial = traffic_create(&cfg->traffic_scheduler, (uint64_t)cfg->seed, 0, run_source, &trial_st);
	if (!trial) {
		log_error("invalid traffic_scheduler configuration (see the message above)");
		return 2;
	}
	traffic_free(trial);
	if (!cfg->has_server && run_check_context(cfg) != 0)
		return 2;
	return 0;
}

/* Loops of this process and the shards they are (docs/DISTRIBUTED.md): host shard K of N with T
 * threads runs global shards K*T .. K*T+T-1 of N*T. */
static void run_job_layout(struct run_job *j)
{
	const struct cfg_benchmark *cfg = &j->cfg;
	uint32_t threads = cfg->runtime.num_client_threads > 1 ? (uint32_t)cfg->runtime.num_client_threads : 1;
	uint32_t cpus = run_cpus_allowed();
	if (threads > cpus) {
		/* more loops than CPUs would only take turns on them, each late for the others' chunks */
		log_warn("runtime.num_client_threads is %u, but this process may run on %u CPU%s: using %u client "
		         "thread%s (docs/DISTRIBUTED.md)",
		         threads, cpus, cpus == 1 ? "" : "s", cpus, cpus == 1 ? "" : "s");
		threads = cpus;
	}
	j->threads = threads;
	j->shard_n = j->sh.count * threads;
	j->sharded = j->shard_n > 1 || j->opts->shard != NULL;
	if (j->opts->shard && !strcmp(j->opts->shard, "off"))
		j->sharded = j->shard_n > 1;
	struct eval_window_info window;
	if (eval_window_configured(cfg, &window))
		j->sharded = true; /* the window is applied by the merge: the shard directory keeps every request */
}

/* The run directory (shared by the shards of several processes) and this process's shard
 * directories. 0, or -1 with the exit code in out. */
static int run_job_dirs(struct run_job *j)
{
	struct runner_result *out = j->out;
	char sha[9] = ""; /* what every shard must agree on */
	rundir_config_hash(&j->cfg, sha);
	if (j->sh.count > 1 && j->sh.rendezvous_dir) {
		/* every shard names the run directory after shard 0's announcement */
		int64_t run_epoch_ns = 0;
		if (shard_hello(&j->sh, sha, &run_epoch_ns, j->err, sizeof j->err) != 0) {
			log_error("%s", j->err);
			out->exit_code = runner_signal_pending() ? 128 + runner_signal_pending() : 1;
			return -1;
		}
		out->run_dir = rundir_create_shared(&j->cfg, run_epoch_ns, j->err, sizeof j->err);
	} else if (j->sh.count > 1) {
		out->run_dir = rundir_create_shared(&j->cfg, j->sh.start_epoch_ns, j->err, sizeof j->err);
	} else {
		out->run_dir = rundir_create(&j->cfg, j->err, sizeof j->err);
	}
	if (!out->run_dir) {
		log_error("%s", j->err);
		return -1;
	}
	if (!j->opts->quiet)
		log_info("run directory: %s", out->run_dir);
	if (!j->sharded)
		return 0;
	j->shard_dirs = xcalloc(j->threads, sizeof *j->shard_dirs);
	for (uint32_t t = 0; t < j->threads; t++) {
		uint32_t g = j->sh.index * j->threads + t;
		j->shard_dirs[t] = rundir_create_shard(&j->cfg, out->run_dir, g, j->shard_n, j->err, sizeof j->err);
		if (!j->shard_dirs[t]) {
			log_error("%s", j->err);
			return -1;
		}
	}
	if (!j->opts->quiet)
		log_info("shard%s %u%s of %u (%s, %u client thread%s)", j->threads > 1 ? "s" : "",
		         j->sh.index * j->threads, j->threads > 1 ? "+" : "", j->shard_n, j->sh.source, j->threads,
		         j->threads > 1 ? "s" : "");
	return 0;
}

/* The managed server: the shared one, or one started and waited for here. 0; -1 when it failed
 * (nothing to stop); 2 when the client cannot use it (it is stopped with the rest). */
static int run_job_server(struct run_job *j, struct server_handle *shared)
{
	struct cfg_benchmark *cfg = &j->cfg;
	struct runner_result *out = j->out;
	if (!cfg->has_server)
		return 0;
	if (shared) {
		j->grp.server = shared;
	} else {
		run_forward_tokenizer(cfg);
		j->owned = server_start(&cfg->server, out->run_dir, j->err, sizeof j->err);
		if (!j->owned) {
			log_error("failed to launch server: %s", j->err);
			out->server_failed = true;
			return -1;
		}
		j->grp.server = j->owned;
		if (server_wait_ready(j->owned, &runner_interrupted, j->err, sizeof j->err) != 0) {
			log_error("server failed to become ready: %s", j->err);
			out->server_failed = true;
			server_stop(j->owned);
			server_handle_free(j->owned);
			j->owned = NULL;
			if (runner_signal_pending())
				out->exit_code = 128 + runner_signal_pending();
			return -1;
		}
	}
	run_resolve_client(cfg, j->grp.server, j->err, sizeof j->err);
	return run_check_context(cfg) != 0 ? 2 : 0;
}

/* Enough open files for the configured load, or a usage error before any request
 * (docs/FAILURES.md). 0 or 2. */
static int run_job_nofile(const struct run_job *j)
{
	const struct cfg_traffic *ts = &j->cfg.traffic_scheduler;
	size_t want = 1024, need = 0;
	if (ts->type == CFG_TRAFFIC_CONCURRENT) {
		want += (size_t)ts->target_concurrent_sessions * 2;
		/* one connection per session, plus what the run itself holds open */
		need = (size_t)ts->target_concurrent_sessions + RUN_NOFILE_BASE * j->threads;
	} else {
		want += 16384;
	}
	char msg[512] = "";
	int nofile_rc = client_raise_nofile(want, msg, sizeof msg);
	size_t avail = client_nofile_limit();
	if (avail < need) {
		log_error("traffic_scheduler.target_concurrent_sessions is %lld: that needs about %zu open files, "
		          "but this process may open only %zu (even after raising its soft limit to the hard "
		          "limit). Raise it with `ulimit -n %zu` (above the hard limit: /etc/security/limits.conf "
		          "or LimitNOFILE) or lower target_concurrent_sessions",
		          (long long)ts->target_concurrent_sessions, need, avail, want);
		return 2;
	}
	if (nofile_rc != 0 && msg[0])
		log_warn("%s", msg);
	return 0;
}

/* One run_state per loop, loop 0 with the generator the checks built. */
static void run_job_loops(struct run_job *j)
{
	struct run_group *grp = &j->grp;
	grp->n_loops = j->threads;
	grp->threaded = j->threads > 1;
	grp->sharded = j->sharded;
	grp->loops = xcalloc(j->threads, sizeof *grp->loops);
	for (uint32_t t = 0; t < j->threads; t++) {
		struct run_state *st = &grp->loops[t];
		st->cfg = &j->cfg;
		st->opts = j->opts;
		st->grp = grp;
		st->server = grp->server;
		st->tok = j->tok;
		st->shard_g = j->sh.index * j->threads + t;
		st->shard_n = j->shard_n;
		st->dir = xstrdup(j->sharded ? j->shard_dirs[t] : j->out->run_dir);
		pthread_mutex_init(&st->live_mu, NULL);
		atomic_init(&st->wake_signals, 0);
		atomic_init(&st->wake_server_died, false);
	}
	grp->loops[0].gen = j->gen0;
	j->gen0 = NULL;
}

/* Every loop's files; the exit code the most serious of the loops' (a usage error, a runtime
 * failure, a signal, then a missed SLO). *measured: some loop ran its clock. */
static int run_job_finish_loops(struct run_job *j, bool *measured)
{
	int code = 0;
	*measured = false;
	for (uint32_t t = 0; t < j->threads; t++) {
		struct run_state *st = &j->grp.loops[t];
		if (st->eval && st->start_ns > 0) {
			int c = run_loop_finish(st);
			*measured = true;
			if (st->exit_code == 0)
				st->exit_code = c;
		}
		if (st->server_died)
			j->out->server_failed = true;
		if (st->signo)
			j->out->interrupted = true;
		int c = st->exit_code;
		if (c == 2 || (c == 1 && code != 2) || (c > 3 && code != 1 && code != 2) || (c == 3 && code == 0))
			code = c;
	}
	if (!*measured && runner_signal_pending()) {
		log_error("interrupted while preparing the workload (signal %d)", runner_signal_pending());
		j->out->interrupted = true;
		code = 128 + runner_signal_pending();
	}
	return code;
}

/* A shard of several processes: say it is done; shard 0 waits for the others and merges. */
static void run_job_publish_shard(struct run_job *j, int code)
{
	struct runner_result *out = j->out;
	out->exit_code = code;
	for (uint32_t t = 0; t < j->threads; t++) {
		struct eval_live live;
		memset(&live, 0, sizeof live);
		if (j->grp.loops[t].eval)
			eval_live_stats(j->grp.loops[t].eval, &live);
		log_info("shard %u of %u done: %llu requests, %llu errors (%s)", j->grp.loops[t].shard_g, j->shard_n,
		         (unsigned long long)live.requests, (unsigned long long)live.errors, j->grp.loops[t].dir);
	}
	if (!j->sh.rendezvous_dir) {
		if (j->sh.index == 0)
			log_info("merge the shards when all have finished: veeksha merge %s", out->run_dir);
		return;
	}
	if (shard_done(&j->sh, code, out->run_dir, j->err, sizeof j->err) != 0)
		log_error("%s", j->err);
	if (j->sh.index != 0) {
		/* the SLOs are judged on the merged run, by shard 0 (docs/DISTRIBUTED.md): this shard's
		 * part of the requests is no verdict, so it does not fail the job step for it */
		if (code == 3) {
			log_info("shard %u of %u: its own requests miss an SLO; the run's verdict is the merged one, "
			         "shard 0's",
			         j->sh.index, j->sh.count);
			out->exit_code = 0;
		}
		return;
	}
	double wait_s =
	    j->sh.timeout_s + (j->cfg.runtime.benchmark_timeout > 0 ? (double)j->cfg.runtime.benchmark_timeout : 0);
	(void)shard_wait_done(&j->sh, wait_s);
	struct runner_result merged;
	const char *dirs[1] = {out->run_dir};
	/* a shard that never said done, or said done without an event log (it failed before its start),
	 * is missing: the others are merged anyway and the run marked truncated ("shard K of N missing",
	 * exit 1), so nothing measured is lost, as for client threads */
	runner_merge(dirs, 1, out->run_dir, j->opts, true, &merged);
	out->all_slos_met = merged.all_slos_met;
	/* the verdict is the merged run's: shard 0's own requests missing an SLO (3) is not the run's */
	if (code == 0 || code == 3)
		out->exit_code = merged.exit_code;
	free(merged.run_dir);
}

/* The run directory's metrics: loop 0's own, a shard's announcement, or the threads' shards merged. */
static void run_job_publish(struct run_job *j, int code, bool measured)
{
	struct runner_result *out = j->out;
	if (!j->sharded) {
		struct run_state *st = &j->grp.loops[0];
		if (st->eval && st->start_ns > 0) {
			eval_print_summary(st->eval, stdout);
			fflush(stdout);
		}
		out->all_slos_met = st->slo == 1;
		out->exit_code = code;
	} else if (j->sh.count > 1) {
		run_job_publish_shard(j, code);
	} else if (measured) {
		struct runner_result merged;
		/* a loop that failed has no event log: the others are merged anyway, the run marked
		 * truncated ("shard K of N missing"), so nothing measured is lost */
		runner_merge((const char *const *)j->shard_dirs, j->threads, out->run_dir, j->opts, true, &merged);
		out->all_slos_met = merged.all_slos_met;
		out->exit_code = code == 0 || code == 3 ? merged.exit_code : code;
		free(merged.run_dir);
	} else {
		out->exit_code = code;
	}
}

/* report.html last, once every other file (server.json's stop time too) is written; a run that
 * measured nothing has no summary to report (docs/OUTPUTS.md, report.html) */
static void run_job_report(struct run_job *j)
{
	struct runner_result *out = j->out;
	if (!out->run_dir || j->opts->no_report)
		return;
	char *sum = fs_path_join(out->run_dir, "metrics/summary_stats.json");
	if (fs_exists(sum)) {
		if (report_html_write_run(out->run_dir) != 0) {
			if (out->exit_code == 0)
				out->exit_code = 1;
		} else {
			printf("report: %s/metrics/report.html\n", out->run_dir); /* the last line of a run */
			fflush(stdout);
		}
	}
	free(sum);
}

/* The measured part: the loops run, their files, the merge, then what reads the client's files. */
static void run_job_measure(struct run_job *j)
{
	struct runner_result *out = j->out;
	run_job_loops(j);
	/* server metrics (docs/OBSERVABILITY.md): baseline scrape now, before the clock; then its own thread */
	struct obs_scraper *scrape = j->sh.count > 1 && j->sh.index != 0 ? NULL : obs_run_begin(&j->cfg);
	run_group_run(&j->grp, &j->sh, j->sh.start_epoch_ns);
	bool measured;
	int code = run_job_finish_loops(j, &measured);
	out->measured = measured;
	run_job_publish(j, code, measured);
	/* after the client's files (the reconciliation reads them): server_metrics.csv, server_summary.json */
	if (obs_run_end(scrape, measured ? out->run_dir : NULL, j->grp.loops[0].start_ns, stdout) != 0 &&
	    out->exit_code == 0)
		out->exit_code = 1;
	/* the client's time series and the server's on one time axis (docs/OBSERVABILITY.md, Time series):
	 * nothing without both CSVs; a failure is a warning */
	if (measured)
		eval_timeseries_plot_with_server(out->run_dir);
	/* lm-eval's scores, then the W&B log (docs/INTEGRATIONS.md) */
	if (measured && integ_run_end(&j->cfg, out->run_dir) != 0 && out->exit_code == 0)
		out->exit_code = 1;
	for (uint32_t t = 0; t < j->threads; t++)
		run_loop_free(&j->grp.loops[t]);
	free(j->grp.loops);
	j->grp.loops = NULL;
}

static void runner_run_impl(const struct cfg_benchmark *cfg_in, const struct cfg_run_opts *opts,
                            struct server_handle *shared, struct server_handle **keep_out, struct runner_result *out)
{
	memset(out, 0, sizeof *out);
	out->exit_code = 1;
	struct run_job *j = xcalloc(1, sizeof *j);
	j->opts = opts;
	j->out = out;
	config_benchmark_copy(&j->cfg, cfg_in);
	j->grp.cfg = &j->cfg;
	j->grp.opts = opts;

	/* before the checks, which may wait on the server (GET /v1/models) or read a large trace: a
	 * signal there ends the command with a line saying so, not silently (docs/FAILURES.md) */
	runner_signals_install();
	server_set_interrupt_flag(&runner_interrupted);
	wl_set_interrupt_flag(&runner_interrupted); /* prompt building and trace reading stop on a signal */
	int rc = run_job_check(j);
	int sig = runner_signal_pending();
	if (sig) {
		log_warn("stopped by signal %d (%s) before the run started: nothing was measured, no run directory "
		         "was made",
		         sig, strsignal(sig));
		out->exit_code = 128 + sig;
		out->interrupted = true;
	} else if (rc != 0) {
		out->exit_code = rc;
	} else {
		run_job_layout(j);
		if (run_job_dirs(j) == 0 && (rc = run_job_server(j, shared)) >= 0) {
			if (rc == 0)
				rc = run_job_nofile(j);
			if (rc == 0)
				run_job_measure(j);
			else
				out->exit_code = rc;
			if (j->owned && keep_out && !out->server_failed && server_is_alive(j->owned)) {
				*keep_out = j->owned;
				j->owned = NULL;
			}
			if (j->owned) {
				server_stop(j->owned);
				if (out->server_failed) /* it died during the run: how, and its log */
					server_report_death(j->owned);
				server_handle_free(j->owned);
			}
			run_job_report(j);
		}
		/* a shard that failed before its start (its managed server, its run directory, ...) still
		 * says done, so that the other shards stop waiting for it (docs/DISTRIBUTED.md) */
		if (j->sh.announced && !j->sh.done_said &&
		    shard_done(&j->sh, out->exit_code, out->run_dir, j->err, sizeof j->err) != 0)
			log_error("%s", j->err);
	}
	if (j->shard_dirs)
		for (uint32_t t = 0; t < j->threads; t++)
			free(j->shard_dirs[t]);
	free(j->shard_dirs);
	wl_session_gen_free(j->gen0);
	tok_free(j->tok);
	shard_free(&j->sh);
	config_benchmark_free(&j->cfg);
	free(j);
}

void runner_run_one(const struct cfg_benchmark *cfg, const struct cfg_run_opts *opts, struct server_handle *server,
                    struct runner_result *out)
{
	runner_run_impl(cfg, opts, server, NULL, out);
}

void runner_run_one_keep_server(const struct cfg_benchmark *cfg, const struct cfg_run_opts *opts,
                                struct server_handle **server_out, struct runner_result *out)
{
	*server_out = NULL;
	runner_run_impl(cfg, opts, NULL, server_out, out);
}

bool runner_drop_dead_server(struct server_handle **server)
{
	if (!*server || server_is_alive(*server))
		return false;
	log_warn("the managed server shared with the earlier runs has exited (its log is in the run directory of "
	         "the run that launched it); this run launches a new one");
	server_stop(*server);
	server_report_death(*server);
	server_handle_free(*server);
	*server = NULL;
	return true;
}
