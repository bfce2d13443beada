/* Worker threads of the simulated server (one event loop each) and, in roofline mode, the engine
 * thread that runs the continuous-batching steps in real time and queues their tokens to the workers. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/xalloc.h"
#include "sim/sim.h"
#include "sim/sim_server.h"

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

void sim_heap_remove(struct sim_worker *w, struct sim_stream *st)
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

void sim_heap_set(struct sim_worker *w, struct sim_stream *st, int64_t t_ns)
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

static void sim_worker_run_timers(struct sim_worker *w)
{
	int64_t now = clock_mono_ns();
	while (w->heap_n && w->heap[0]->next_ns <= now) {
		struct sim_stream *st = w->heap[0];
		sim_heap_remove(w, st);
		sim_stream_pump(st, now);
	}
}

void *sim_worker_main(void *arg)
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

void sim_worker_init(struct sim_server *srv, struct sim_worker *w, int idx)
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

void sim_worker_fini(struct sim_worker *w)
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
