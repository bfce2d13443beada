/* The simulated server's process: the one listening socket (see sim_listen_socket for why the port
 * is not shared with SO_REUSEPORT), start-up of the worker, engine and emit-log threads, signals and
 * the graceful shutdown. The files of the rest are listed in sim_server.h. */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/ev.h"
#include "core/jsonw.h"
#include "core/xalloc.h"
#include "sim/sim.h"
#include "sim/sim_server.h"

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
void sim_log_write(struct sim_server *srv, struct sim_stream *st, const char *endpoint)
{
	(void)endpoint;
	if (!srv->emit_fp || st->log_wanted)
		return;
	st->log_wanted = true;
	st->end_ns = clock_mono_ns();
}

void *sim_logger_thread(void *arg)
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
		while (list_empty(&srv->log_queue) && !srv->log_stop)
			pthread_cond_wait(&srv->logcv, &srv->logmu);
		struct list_node *n = list_take_all(&srv->log_queue);
		bool stop = srv->log_stop;
		pthread_mutex_unlock(&srv->logmu);
		buf_reset(&b);
		while (n) {
			struct sim_stream *st = LIST_ENTRY(n, struct sim_stream, znode);
			n = n->next;
			sim_log_format(&b, st);
			sim_stream_free(st);
		}
		if (b.len) {
			fwrite(b.data, 1, b.len, srv->emit_fp);
			fflush(srv->emit_fp);
		}
		pthread_mutex_lock(&srv->logmu);
		if (stop && list_empty(&srv->log_queue))
			break;
	}
	pthread_mutex_unlock(&srv->logmu);
	buf_free(&b);
	return NULL;
}

/* ------------------------------------------------------------------ listening socket */
/* The port belongs to this process alone (docs/SIM.md, "Port"). One listening socket, bound
 * WITHOUT SO_REUSEPORT, is shared by all workers: each worker's event loop watches the same
 * descriptor with EV_EXCLUSIVE (EPOLLEXCLUSIVE), so a new connection wakes one idle worker, not all
 * of them. With a SO_REUSEPORT socket per worker (the former design), a second sim-server (or any
 * process of the same user setting SO_REUSEPORT) could bind the same port and silently take a share
 * of the connections; a test-bind before the real binds would still leave a race and would not stop
 * a later process from joining. SO_REUSEADDR only lets a restarted server bind while connections of
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

int sim_server_run(const struct sim_cfg *cfg)
{
	/* the port first: a taken port is the likeliest start-up failure, and nothing is set up yet */
	char err[256] = "";
	int lfd = sim_listen_socket(cfg, err, sizeof err);
	int port = lfd < 0 ? -1 : sim_announce_port(cfg, lfd, err, sizeof err); /* --port 0: the kernel's */
	if (port < 0) {
		fprintf(stderr, "sim-server: %s\n", err);
		if (lfd >= 0)
			close(lfd);
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
	sim_hist_init(srv);

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
		if (sim_worker_init(srv, &srv->workers[i], i) < 0) {
			while (i-- > 0)
				sim_worker_fini(&srv->workers[i]);
			close(lfd);
			if (srv->emit_fp)
				fclose(srv->emit_fp);
			sim_engine_free(srv->engine);
			free(srv->workers);
			free(srv->model_json);
			free(srv);
			return 1;
		}
	if (srv->emit_fp)
		pthread_create(&srv->lth, NULL, sim_logger_thread, srv);
	if (srv->engine) {
		pthread_create(&srv->eth, NULL, sim_engine_thread, srv);
		srv->engine_thread_started = true;
	}
	for (int i = 0; i < srv->n_workers; i++)
		pthread_create(&srv->workers[i].th, NULL, sim_worker_main, &srv->workers[i]);

	fprintf(stderr, "sim-server: listening on %s:%d\n", cfg->host && cfg->host[0] ? cfg->host : "0.0.0.0", port);
	fflush(stderr);

	int sig = 0;
	sigwait(&set, &sig);
	fprintf(stderr, "sim-server: received %s, shutting down (grace %.1f s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
	        cfg->shutdown_grace_s);
	atomic_store(&srv->stopping, 1);
	/* stop listening now, as closing it would (new connections are refused during the grace
	 * period); the descriptor is closed once no worker can be using it */
	shutdown(srv->lfd, SHUT_RDWR);
	for (int i = 0; i < srv->n_workers; i++)
		ev_wake(srv->workers[i].loop); /* the worker sees `stopping` and drains (sim_worker_main) */
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
