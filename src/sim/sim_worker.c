/* Worker threads of the simulated server, each on its own core/ev loop (connections, one timer per
 * stream that waits for its next chunk, wake-ups from the engine thread), and, in roofline mode, the
 * engine thread that runs the continuous-batching steps in real time and queues their tokens to the
 * workers. */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/ev.h"
#include "core/list.h"
#include "core/xalloc.h"
#include "sim/sim.h"
#include "sim/sim_server.h"

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

/* ev_wake from the engine thread (tokens queued) or from sim_server_run (stopping) */
static void sim_worker_on_wake(struct ev_loop *loop, void *ctx)
{
	(void)loop;
	sim_worker_drain_queue(ctx);
}

/* Free what the last loop iteration let go: streams (those wanted in the emit log go to its thread)
 * and connections. */
static void sim_worker_reap(struct sim_worker *w)
{
	struct list_node *n;
	if (!list_empty(&w->zombie_streams)) {
		/* drop queued engine events that refer to dead streams */
		pthread_mutex_lock(&w->qmu);
		size_t k = 0;
		for (size_t i = 0; i < w->qn; i++)
			if (!w->q[i].st->dead)
				w->q[k++] = w->q[i];
		w->qn = k;
		pthread_mutex_unlock(&w->qmu);
		struct list to_log = {0};
		while ((n = list_pop_head(&w->zombie_streams))) {
			struct sim_stream *st = LIST_ENTRY(n, struct sim_stream, znode);
			if (st->log_wanted)
				list_push_tail(&to_log, n);
			else
				sim_stream_free(st);
		}
		if (!list_empty(&to_log)) {
			struct sim_server *srv = w->srv;
			pthread_mutex_lock(&srv->logmu);
			while ((n = list_pop_head(&to_log)))
				list_push_tail(&srv->log_queue, n);
			pthread_cond_signal(&srv->logcv);
			pthread_mutex_unlock(&srv->logmu);
		}
	}
	while ((n = list_pop_head(&w->zombie_conns))) {
		struct sim_conn *c = LIST_ENTRY(n, struct sim_conn, node);
		buf_free(&c->in);
		buf_free(&c->out);
		free(c);
	}
}

void *sim_engine_thread(void *arg)
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
				touched[k] = false;
				ev_wake(srv->workers[k].loop); /* sim_worker_on_wake takes the tokens */
			}
		t_start = t_end;
	}
	pthread_mutex_unlock(&srv->emu);
	free(touched);
	return NULL;
}

/* ------------------------------------------------------------------ worker loop */
/* Shutdown grace over: close what is still open (sim_worker_main then ends). */
static void sim_worker_drain_timeout(struct ev_loop *loop, void *ctx)
{
	(void)loop;
	struct sim_worker *w = ctx;
	struct list_node *n;
	while ((n = w->conns.head))
		sim_conn_close(LIST_ENTRY(n, struct sim_conn, node));
}

static void sim_worker_start_drain(struct sim_worker *w)
{
	if (w->draining)
		return;
	w->draining = true;
	ev_timer_at(w->loop, clock_mono_ns() + clock_s_to_ns(w->srv->cfg->shutdown_grace_s), sim_worker_drain_timeout,
	            w);
	if (w->lfd >= 0) {
		/* the listener is shared: sim_server_run shuts it down and closes it */
		ev_fd_del(w->loop, w->lfd);
		w->lfd = -1;
	}
	for (struct list_node *n = w->conns.head, *next; n; n = next) {
		next = n->next;
		struct sim_conn *c = LIST_ENTRY(n, struct sim_conn, node);
		c->close_after = true;
		if (!c->st && sim_conn_pending(c) == 0)
			sim_conn_close(c);
	}
}

/* Real-time scheduling for the threads whose wake-ups are the schedule (workers, engine). */
void sim_thread_realtime(const struct sim_cfg *cfg)
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

void *sim_worker_main(void *arg)
{
	struct sim_worker *w = arg;
	struct sim_server *srv = w->srv;
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* wake timers on time, not up to 50 us late */
	sim_thread_realtime(srv->cfg);
	for (;;) {
		if (atomic_load(&srv->stopping))
			sim_worker_start_drain(w);
		if (w->draining && list_empty(&w->conns))
			break;
		/* --spin-us: poll instead of sleeping when the next chunk is that close */
		if (w->spin_ns) {
			int64_t next_ns = ev_next_timer_ns(w->loop);
			ev_spin_before(w->loop, next_ns == INT64_MAX ? 0 : next_ns);
		}
		if (ev_run_once(w->loop, -1) < 0)
			break;
		sim_worker_reap(w); /* after the iteration: no event of it refers to what is freed */
	}
	sim_worker_reap(w);
	return NULL;
}

int sim_worker_init(struct sim_server *srv, struct sim_worker *w, int idx)
{
	memset(w, 0, sizeof *w);
	w->srv = srv;
	w->idx = idx;
	w->spin_ns = (int64_t)(srv->cfg->spin_us * 1000.0);
	w->lfd = srv->lfd;
	w->listen_events = EV_READ | (srv->n_workers > 1 ? EV_EXCLUSIVE : 0);
	w->loop = ev_loop_create();
	if (!w->loop) {
		fprintf(stderr, "sim-server: cannot create the event loop of worker %d\n", idx);
		return -1;
	}
	ev_set_spin_window(w->loop, w->spin_ns);
	ev_set_wake_cb(w->loop, sim_worker_on_wake, w);
	if (ev_fd_set(w->loop, w->lfd, w->listen_events, sim_accept, w) < 0) {
		fprintf(stderr, "sim-server: worker %d cannot watch the listening socket\n", idx);
		ev_loop_free(w->loop);
		return -1;
	}
	pthread_mutex_init(&w->qmu, NULL);
	buf_init(&w->scratch);
	return 0;
}

void sim_worker_fini(struct sim_worker *w)
{
	ev_loop_free(w->loop);
	free(w->q);
	free(w->q2);
	buf_free(&w->scratch);
	pthread_mutex_destroy(&w->qmu);
}
