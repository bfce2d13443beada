/* The benchmark loop. One thread: the traffic scheduler decides what is ready, the client streams
 * it, the evaluator records it. Timers are absolute monotonic deadlines, so a late wake-up never
 * shifts later arrivals (the scheduler computes arrivals from the run start). */
#include "runner/run.h"

#include <errno.h>
#include <malloc.h>
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
#include "core/ev.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "metrics/evaluator.h"
#include "metrics/record.h"
#include "runner/progress.h"
#include "runner/rundir.h"
#include "runner/run_usage.h"
#include "server/server.h"
#include "tokenizer/tokenizer.h"
#include "client/client_tokcount.h"
#include "traffic/traffic.h"
#include "workload/session_gen.h"

#define RUN_TICK_NS 250000000LL              /* progress / liveness tick */
#define RUN_PUMP_BATCH 64                    /* dispatches per pump before yielding to the loop */
#define RUN_PUMP_BUDGET_NS 1000000LL         /* ... or this much time */
#define RUN_SIGNAL_DEFAULT_GRACE_S 5.0       /* wait for in-flight after a signal when grace = -1 */
#define RUN_NOFILE_BASE 48                   /* descriptors a run holds besides its connections (~32) */

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
	bool stopping;       /* no further dispatch */
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
		st->gen_failed = true; /* the generator saw the signal (wl_set_interrupt_flag): interrupted, not truncated */
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
	}
	run_check_done(st);
}

/* One JSONL line per request: {"request_id", "sent_ns", "headers_ns", "chunk_ns": [...]} (CLOCK_MONOTONIC). */
static void run_chunk_log(struct run_state *st, const struct rec_record *rec)
{
	struct buf *b = &st->chunk_buf;
	buf_printf(b, "{\"request_id\": %llu, \"success\": %s, \"sent_ns\": %lld, \"headers_ns\": %lld, \"chunk_ns\": [",
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
	/* Think time and dependants start from the request's completion (the reference's
	 * client_completed_at), not from this hand-over, which can come later (token counting). */
	int64_t completed = rec->completed_ns > 0 && rec->completed_ns <= now ? rec->completed_ns : now;
	traffic_on_complete(st->traffic, req->id, completed, rec->success, rec->text ? rec->text : "");
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
		st->grace_timer = ev_timer_at(st->loop, clock_mono_ns() + clock_s_to_ns(grace_s), run_on_grace_timer, st);
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

static void run_on_signal_fd(struct ev_loop *loop, int fd, uint32_t events, void *ctx)
{
	(void)loop;
	(void)events;
	struct run_state *st = ctx;
	char buf[16];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n <= 0)
		return;
	progress_clear(&st->progress);
	if (!st->signo) {
		st->signo = runner_signal_pending();
		double grace = (double)st->cfg->runtime.post_timeout_grace_seconds;
		if (grace < 0)
			grace = RUN_SIGNAL_DEFAULT_GRACE_S;
		log_warn("signal %d: stopping; waiting up to %.1f s for in-flight requests (signal again to stop now)",
			 st->signo, grace);
		run_begin_stop(st, grace, "interrupted");
	} else {
		log_warn("second signal: cancelling in-flight requests");
		client_cancel_all(st->client, "interrupted");
		run_check_done(st);
	}
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
	eval_tick(st->eval, now);
	struct eval_live live;
	eval_live_stats(st->eval, &live);
	progress_update(&st->progress, now - st->start_ns, &live, client_in_flight(st->client));
	if (st->server && !st->server_died && !server_is_alive(st->server)) {
		st->server_died = true;
		progress_clear(&st->progress);
		log_error("the managed server exited during the benchmark; stopping (see its log in the run directory)");
		if (!st->truncated_why[0])
			snprintf(st->truncated_why, sizeof st->truncated_why, "the managed server exited during the benchmark");
		run_begin_stop(st, 5.0, "server died");
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
static char *run_server_count(const struct cfg_benchmark *cfg, struct client *client, const struct tok *tok)
{
	if (!tok_is_approx(tok) || (cfg->client.tokenizer && *cfg->client.tokenizer))
		return NULL;
	char err[768] = "";
	char *url = client_tokcount_probe(&cfg->client, NULL, err, sizeof err);
	if (!url || client_use_server_count(client, url, err, sizeof err) != 0) {
		log_warn("tokenizer: not counting with the server's /tokenize (%s); token counts use the "
			 "whitespace-word approximation", err);
		free(url);
		return NULL;
	}
	log_warn("tokenizer: token counts come from the server's tokenizer (%s); prompt lengths are approximate "
		 "targets (built with the whitespace-word approximation, see docs/TOKENIZER.md)", url);
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
	malloc_trim(0); /* give the freed heap back to the kernel */
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
			 "client.api_base is not set: set client.api_base (e.g. --openai-chat-completions-client-api-base, or env OPENAI_API_BASE), "
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
	if (cfg->session_generator.type != CFG_SESSION_GEN_SYNTHETIC || (cfg->has_server && cfg->server.max_model_len > 0))
		return 0;
	const char *base = cfg->client.api_base && *cfg->client.api_base ? cfg->client.api_base : getenv("OPENAI_API_BASE");
	const char *key = cfg->client.api_key && *cfg->client.api_key ? cfg->client.api_key : getenv("OPENAI_API_KEY");
	int64_t ctx = server_models_context_len(base, key, cfg->client.model, 2.0);
	const char *bad_key = NULL, *why = NULL;
	if (ctx <= 0 || !(why = config_check_context(cfg, ctx, "max_model_len reported by GET /v1/models", &bad_key)))
		return 0;
	log_error("%s: %s", bad_key, why);
	return -1;
}

static void runner_run_impl(const struct cfg_benchmark *cfg_in, const struct cfg_run_opts *opts,
			    struct server_handle *shared, struct server_handle **keep_out, struct runner_result *out)
{
	memset(out, 0, sizeof *out);
	out->exit_code = 1;
	char err[1024] = "";
	struct cfg_benchmark cfg;
	config_benchmark_copy(&cfg, cfg_in);

	struct run_state st;
	memset(&st, 0, sizeof st);
	st.cfg = &cfg;
	st.opts = opts;

	/* Checks that need no files first: a config error must leave no run directory behind. */
	if (!cfg.has_server && run_resolve_client(&cfg, NULL, err, sizeof err) != 0) {
		log_error("%s", err);
		out->exit_code = 2;
		goto out_cfg;
	}
	if (cfg.has_server && server_validate(&cfg.server, err, sizeof err) != 0) {
		log_error("server: %s", err);
		out->exit_code = 2;
		goto out_cfg;
	}
	struct tok *tok = tok_resolve(cfg.client.tokenizer, cfg.has_server ? cfg.server.model : cfg.client.model);
	st.gen = wl_session_gen_create(&cfg, tok, err, sizeof err);
	if (!st.gen) {
		log_error("%s", err);
		out->exit_code = 2;
		goto out_cfg;
	}
	{
		/* The scheduler is built for real only once the clock starts; a trial build here turns
		 * a configuration it rejects into a usage error before any run directory exists. */
		struct traffic *trial = traffic_create(&cfg.traffic_scheduler, (uint64_t)cfg.seed, 0, run_source, &st);
		if (!trial) {
			log_error("invalid traffic_scheduler configuration (see the message above)");
			out->exit_code = 2;
			goto out_gen;
		}
		traffic_free(trial);
	}
	if (!cfg.has_server && run_check_context(&cfg) != 0) {
		out->exit_code = 2;
		goto out_gen;
	}

	if (cfg.wandb.enabled)
		log_warn("wandb.enabled is set, but Weights & Biases logging is not available in the C Veeksha: "
			 "the wandb section is accepted and ignored (docs/CONFIG.md)");
	out->run_dir = rundir_create(cfg_in, err, sizeof err);
	if (!out->run_dir) {
		log_error("%s", err);
		goto out_gen;
	}
	if (!opts->quiet)
		log_info("run directory: %s", out->run_dir);

	runner_signals_install();
	server_set_interrupt_flag(&runner_interrupted);
	wl_set_interrupt_flag(&runner_interrupted); /* prompt building and trace reading stop on a signal */
	struct server_handle *owned = NULL;
	if (cfg.has_server) {
		if (shared) {
			st.server = shared;
		} else {
			run_forward_tokenizer(&cfg);
			owned = server_start(&cfg.server, out->run_dir, err, sizeof err);
			if (!owned) {
				log_error("failed to launch server: %s", err);
				out->server_failed = true;
				goto out_gen;
			}
			st.server = owned;
			if (server_wait_ready(owned, &runner_interrupted, err, sizeof err) != 0) {
				log_error("server failed to become ready: %s", err);
				out->server_failed = true;
				server_stop(owned);
				server_handle_free(owned);
				owned = NULL;
				if (runner_signal_pending())
					out->exit_code = 128 + runner_signal_pending();
				goto out_gen;
			}
		}
		run_resolve_client(&cfg, st.server, err, sizeof err);
		if (run_check_context(&cfg) != 0) {
			out->exit_code = 2;
			goto out_loop;
		}
	}

	st.loop = ev_loop_create();
	if (st.loop)
		ev_set_spin_window(st.loop, cfg.runtime.dispatch_spin_us * 1000);
	st.client = client_create(&cfg.client, st.loop, tok, run_on_done, run_on_event, &st, err, sizeof err);
	if (!st.client) {
		log_error("%s", err);
		out->exit_code = 2;
		goto out_loop;
	}
	char *count_name = run_server_count(&cfg, st.client, tok);
	{
		size_t want = 1024, need = 0;
		if (cfg.traffic_scheduler.type == CFG_TRAFFIC_CONCURRENT) {
			want += (size_t)cfg.traffic_scheduler.target_concurrent_sessions * 2;
			/* one connection per session, plus what the run itself holds open */
			need = (size_t)cfg.traffic_scheduler.target_concurrent_sessions + RUN_NOFILE_BASE;
		} else {
			want += 16384;
		}
		char msg[512] = "";
		int nofile_rc = client_raise_nofile(want, msg, sizeof msg);
		size_t avail = client_nofile_limit();
		if (avail < need) {
			/* the configured load cannot run: say so before any request (docs/FAILURES.md) */
			log_error("traffic_scheduler.target_concurrent_sessions is %lld: that needs about %zu open files, "
				  "but this process may open only %zu (even after raising its soft limit to the hard "
				  "limit). Raise it with `ulimit -n %zu` (above the hard limit: /etc/security/limits.conf "
				  "or LimitNOFILE) or lower target_concurrent_sessions",
				  (long long)cfg.traffic_scheduler.target_concurrent_sessions, need, avail, want);
			out->exit_code = 2;
			client_free(st.client);
			free(count_name);
			goto out_loop;
		}
		if (nofile_rc != 0 && msg[0])
			log_warn("%s", msg);
	}

	const char *chunk_log = getenv("VEEKSHA_CHUNK_LOG");
	if (chunk_log && *chunk_log) {
		st.chunk_log = fopen(chunk_log, "w");
		if (!st.chunk_log)
			log_warn("cannot open VEEKSHA_CHUNK_LOG file %s: %s", chunk_log, strerror(errno));
		buf_init(&st.chunk_buf);
	}
	/* The generator's first call does one-time set-up (about 1.5 ms: prompt corpus and builders);
	 * done before the clock starts, it does not make the first request late. */
	if (cfg.runtime.max_sessions != 0) {
		st.first_rc = wl_session_gen_next(st.gen, &st.first);
		st.first_ready = true;
	}
	if (runner_signal_pending()) {
		/* interrupted while preparing (a large trace or prompt): nothing was measured */
		log_error("interrupted while preparing the workload (signal %d)", runner_signal_pending());
		out->exit_code = 128 + runner_signal_pending();
		out->interrupted = true;
		client_free(st.client);
		free(count_name);
		goto out_loop;
	}
	/* the evaluator's files are opened before the clock starts (see eval_set_start) */
	st.eval = eval_create(&cfg, out->run_dir, clock_mono_ns(), count_name ? count_name : tok_name(tok));
	if (!st.eval) {
		/* eval_create said why (the run directory's metrics/ cannot be created or written) */
		out->exit_code = 1;
		client_free(st.client);
		free(count_name);
		goto out_loop;
	}
	struct run_usage usage;
	run_usage_begin(&usage);
	st.start_ns = usage.start_ns;
	eval_set_start(st.eval, st.start_ns);
	st.traffic = traffic_create(&cfg.traffic_scheduler, (uint64_t)cfg.seed, st.start_ns, run_source, &st);
	if (!st.traffic) {
		log_error("cannot create the traffic scheduler (see the message above)");
		out->exit_code = 1;
		client_free(st.client);
		eval_free(st.eval);
		free(count_name);
		goto out_loop;
	}
	progress_init(&st.progress, opts->quiet, cfg.runtime.max_sessions, cfg.runtime.benchmark_timeout);

	if (runner_signal_fd() >= 0)
		ev_fd_set(st.loop, runner_signal_fd(), EV_READ, run_on_signal_fd, &st);
	if (cfg.runtime.benchmark_timeout > 0)
		ev_timer_at(st.loop, st.start_ns + clock_s_to_ns((double)cfg.runtime.benchmark_timeout), run_on_timeout,
			    &st);
	ev_timer_at(st.loop, st.start_ns + RUN_TICK_NS, run_on_tick, &st);
	ev_timer_at(st.loop, st.start_ns + EVAL_JSONL_FLUSH_NS, run_on_flush, &st);
	if (runner_signal_pending()) {
		st.signo = runner_signal_pending();
		st.stopping = true;
	}
	run_pump(&st);
	if (!st.stopping || client_in_flight(st.client) > 0)
		ev_run(st.loop);
	if (st.server && !st.server_died && server_exited_unexpectedly(st.server)) {
		/* The run may have drained (every request errored) before a tick noticed the death. */
		st.server_died = true;
		log_error("the managed server exited during the benchmark (see its log in the run directory)");
		if (!st.truncated_why[0])
			snprintf(st.truncated_why, sizeof st.truncated_why, "the managed server exited during the benchmark");
	}

	run_usage_run_end(&usage);
	usage.loop_spin_ns = ev_spin_ns(st.loop);
	usage.polls_skipped = client_pollskip_count(); /* the loop runs on this thread */
	const struct sketch *lag = client_read_lag(st.client);
	usage.reads_stamped = sketch_count(lag);
	if (usage.reads_stamped) {
		usage.read_lag_p50_ns = (int64_t)sketch_quantile(lag, 0.5);
		usage.read_lag_p99_ns = (int64_t)sketch_quantile(lag, 0.99);
		usage.read_lag_max_ns = (int64_t)lag->max;
	}
	{
		struct eval_live live; /* the TBC sketch is complete once traffic has drained */
		eval_live_stats(st.eval, &live);
		usage.tbc_p90_s = live.tbc_p90_s;
		usage.reads_lagging_tbc = sketch_count_at_least(lag, (double)clock_s_to_ns(live.tbc_p90_s));
	}
	int64_t end_ns = usage.run_end_ns;
	progress_clear(&st.progress);
	run_release_client(&st, count_name);
	/* run_status (docs/FAILURES.md): a run cut short is truncated whatever else happened; a signal
	 * that stopped a run that was not cut short makes it interrupted */
	if (st.truncated_why[0])
		eval_set_run_status(st.eval, EVAL_RUN_TRUNCATED, st.truncated_why);
	else if (st.signo) {
		char why[64];
		snprintf(why, sizeof why, "signal %d", st.signo);
		eval_set_run_status(st.eval, EVAL_RUN_INTERRUPTED, why);
	}
	int slo = eval_finalize(st.eval, end_ns);
	run_usage_done(&usage);
	{
		struct eval_live live;
		eval_live_stats(st.eval, &live);
		run_usage_write(&usage, out->run_dir, live.requests, live.output_tokens);
	}
	eval_print_summary(st.eval, stdout);
	fflush(stdout);
	out->all_slos_met = slo == 1;
	out->interrupted = st.signo != 0;
	if (slo < 0)
		out->exit_code = 1;
	else if (st.server_died || st.truncated_why[0])
		out->exit_code = 1; /* truncated: the workload was not fully measured */
	else if (st.signo)
		out->exit_code = 128 + st.signo;
	else if (opts->fail_on_slo && slo == 0)
		out->exit_code = 3;
	else
		out->exit_code = 0;
	if (st.server_died)
		out->server_failed = true;

	if (st.chunk_log) {
		fwrite(st.chunk_buf.data ? st.chunk_buf.data : "", 1, st.chunk_buf.len, st.chunk_log);
		fclose(st.chunk_log);
		buf_free(&st.chunk_buf);
	}
	traffic_free(st.traffic);
	eval_free(st.eval);
	free(count_name);
out_loop:
	run_free_recs(&st);
	if (st.loop)
		ev_loop_free(st.loop);
	if (owned && keep_out && !st.server_died && server_is_alive(owned)) {
		*keep_out = owned;
		owned = NULL;
	}
	if (owned) {
		server_stop(owned);
		server_handle_free(owned);
	}
out_gen:
	if (st.first)
		wl_session_free(st.first);
	wl_session_gen_free(st.gen);
	tok_free(tok);
out_cfg:
	config_benchmark_free(&cfg);
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
