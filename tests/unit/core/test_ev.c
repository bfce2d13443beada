/* Unit tests for the epoll event loop (core/ev.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/ev.h"
#include "core/wake_calib.h"

#define MS 1000000LL

struct order_log {
	int fired[2048];
	int n;
	int64_t fire_ns[2048];
	int64_t deadline_ns[2048];
};

struct tctx {
	struct order_log *log;
	int idx;
};

static void on_order_timer(struct ev_loop *loop, void *ctx)
{
	struct tctx *t = ctx;
	t->log->fired[t->log->n] = t->idx;
	t->log->fire_ns[t->log->n] = ev_now_ns(loop);
	t->log->n++;
}

/* Run the loop until cond() or the bound expires. */
static void run_until(struct ev_loop *loop, const int *counter, int target, int64_t bound_ns)
{
	int64_t end = clock_mono_ns() + bound_ns;
	while (*counter < target && clock_mono_ns() < end)
		assert_int_equal(ev_run_once(loop, 10 * MS), 0);
}

static void test_timer_order(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_create();
	assert_non_null(loop);
	static struct order_log log;
	memset(&log, 0, sizeof log);
	struct tctx c[5];
	int64_t now = clock_mono_ns();
	int64_t dl[5] = {now + 3 * MS, now + 1 * MS, now + 2 * MS, now + 2 * MS, now - 5 * MS};
	for (int i = 0; i < 5; i++) {
		c[i].log = &log;
		c[i].idx = i;
		uint64_t id = ev_timer_at(loop, dl[i], on_order_timer, &c[i]);
		assert_true(id > 0);
	}
	run_until(loop, &log.n, 5, 2000 * MS);
	assert_int_equal(log.n, 5);
	int want[5] = {4, 1, 2, 3, 0}; /* ties (2, 3) in creation order */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(log.fired[i], want[i]);
		/* never early */
		assert_true(log.fire_ns[i] >= dl[want[i]]);
	}
	ev_loop_free(loop);
}

static void test_timer_cancel(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_create();
	static struct order_log log;
	memset(&log, 0, sizeof log);
	struct tctx c[3] = {{&log, 0}, {&log, 1}, {&log, 2}};
	int64_t now = clock_mono_ns();
	uint64_t a = ev_timer_at(loop, now + 1 * MS, on_order_timer, &c[0]);
	uint64_t b = ev_timer_at(loop, now + 2 * MS, on_order_timer, &c[1]);
	uint64_t d = ev_timer_at(loop, now + 3 * MS, on_order_timer, &c[2]);
	assert_true(a != b && b != d);
	ev_timer_cancel(loop, b);
	ev_timer_cancel(loop, b); /* double cancel: no-op */
	ev_timer_cancel(loop, 0);
	run_until(loop, &log.n, 2, 2000 * MS);
	assert_int_equal(log.n, 2);
	assert_int_equal(log.fired[0], 0);
	assert_int_equal(log.fired[1], 2);
	/* cancelling fired ids is harmless and does not hit a reused slot */
	uint64_t e = ev_timer_at(loop, clock_mono_ns() + 1 * MS, on_order_timer, &c[1]);
	ev_timer_cancel(loop, a);
	ev_timer_cancel(loop, d);
	assert_true(e != a && e != d);
	run_until(loop, &log.n, 3, 2000 * MS);
	assert_int_equal(log.n, 3);
	assert_int_equal(log.fired[2], 1);
	/* no more events: a bounded wait returns without firing anything */
	assert_int_equal(ev_run_once(loop, 5 * MS), 0);
	assert_int_equal(log.n, 3);
	ev_loop_free(loop);
}

/* Heap stress: random deadlines and random cancels; survivors fire in deadline order. */
static void test_timer_heap_random(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_create();
	static struct order_log log;
	memset(&log, 0, sizeof log);
	enum { N = 1000 };
	static struct tctx c[N];
	static uint64_t ids[N];
	static int64_t dl[N];
	static int cancelled[N];
	int64_t base = clock_mono_ns() + 2 * MS;
	srand(42);
	for (int i = 0; i < N; i++) {
		c[i].log = &log;
		c[i].idx = i;
		dl[i] = base + (rand() % 20000) * 1000LL; /* within 20 ms */
		ids[i] = ev_timer_at(loop, dl[i], on_order_timer, &c[i]);
	}
	int live = N;
	for (int i = 0; i < N; i += 3) {
		ev_timer_cancel(loop, ids[i]);
		cancelled[i] = 1;
		live--;
	}
	run_until(loop, &log.n, live, 5000 * MS);
	assert_int_equal(log.n, live);
	for (int i = 0; i < log.n; i++) {
		assert_false(cancelled[log.fired[i]]);
		if (i > 0)
			assert_true(dl[log.fired[i - 1]] <= dl[log.fired[i]]);
	}
	ev_loop_free(loop);
}

/* A callback that re-adds a past-due timer must not starve fd events. */
struct starve {
	int rearms;
	int fd_seen;
};

static void on_rearm(struct ev_loop *loop, void *ctx)
{
	struct starve *s = ctx;
	s->rearms++;
	if (s->rearms < 100000 && !s->fd_seen)
		ev_timer_at(loop, 0, on_rearm, s);
}

static void on_starve_fd(struct ev_loop *loop, int fd, uint32_t events, void *ctx)
{
	struct starve *s = ctx;
	char b[8];
	assert_true(events & EV_READ);
	ssize_t r = read(fd, b, sizeof b);
	assert_true(r > 0);
	s->fd_seen = 1;
	ev_fd_del(loop, fd);
}

static void test_timer_no_starvation(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_create();
	struct starve s = {0, 0};
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(ev_fd_set(loop, p[0], EV_READ, on_starve_fd, &s), 0);
	ev_timer_at(loop, 0, on_rearm, &s);
	run_until(loop, &s.fd_seen, 1, 2000 * MS);
	assert_int_equal(s.fd_seen, 1);
	assert_true(s.rearms < 100);
	close(p[0]);
	close(p[1]);
	ev_loop_free(loop);
}

/* A timer that re-adds itself at deadline 0 (a dispatch pump working through a backlog) must not
 * hold back another due timer (benchmark_timeout): the latter fires within the first rounds. */
struct pump_starve {
	struct ev_loop *loop;
	int pumps, other_fired_after_pumps, cancel_victim_fired;
	uint64_t victim;
};

static void on_victim(struct ev_loop *loop, void *ctx)
{
	(void)loop;
	((struct pump_starve *)ctx)->cancel_victim_fired = 1;
}

static void on_pump(struct ev_loop *loop, void *ctx)
{
	struct pump_starve *p = ctx;
	p->pumps++;
	if (p->pumps == 1)
		/* a new past-due timer, set aside for this round, then cancelled (by on_other) */
		p->victim = ev_timer_at(loop, 0, on_victim, p);
	if (p->pumps < 100000 && !p->other_fired_after_pumps)
		ev_timer_at(loop, 0, on_pump, p);
}

static void on_other(struct ev_loop *loop, void *ctx)
{
	struct pump_starve *p = ctx;
	p->other_fired_after_pumps = p->pumps;
	ev_timer_cancel(loop, p->victim);
}

static void test_timer_rearm_does_not_block_others(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_create();
	struct pump_starve p = {0};
	ev_timer_at(loop, 0, on_pump, &p);
	ev_timer_at(loop, clock_mono_ns(), on_other, &p); /* due now, later than the pump's deadline 0 */
	for (int i = 0; i < 1000 && !p.other_fired_after_pumps; i++)
		assert_int_equal(ev_run_once(loop, 1 * MS), 0);
	assert_true(p.other_fired_after_pumps >= 1 && p.other_fired_after_pumps <= 3);
	for (int i = 0; i < 5; i++)
		assert_int_equal(ev_run_once(loop, 1 * MS), 0);
	assert_int_equal(p.cancel_victim_fired, 0); /* cancelled while set aside: never runs */
	ev_loop_free(loop);
}

struct fdctx {
	int reads;
	int writes;
	char last;
};

static void on_fd(struct ev_loop *loop, int fd, uint32_t events, void *ctx)
{
	(void)loop;
	struct fdctx *f = ctx;
	if (events & EV_READ) {
		char b;
		if (read(fd, &b, 1) == 1) {
			f->last = b;
			f->reads++;
		}
	}
	if (events & EV_WRITE)
		f->writes++;
}

static void test_fd_callbacks(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_create();
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct fdctx rf = {0, 0, 0}, wf = {0, 0, 0};
	assert_int_equal(ev_fd_set(loop, p[0], EV_READ, on_fd, &rf), 0);
	assert_int_equal(ev_fd_set(loop, p[1], EV_WRITE, on_fd, &wf), 0);
	run_until(loop, &wf.writes, 1, 1000 * MS);
	assert_true(wf.writes >= 1);
	assert_int_equal(rf.reads, 0);
	/* modify: stop watching writability */
	assert_int_equal(ev_fd_set(loop, p[1], EV_READ, on_fd, &wf), 0);
	int w0 = wf.writes;
	assert_int_equal(write(p[1], "a", 1), 1);
	run_until(loop, &rf.reads, 1, 1000 * MS);
	assert_int_equal(rf.reads, 1);
	assert_int_equal(rf.last, 'a');
	assert_int_equal(wf.writes, w0);
	/* delete: data stays unread, no callback */
	ev_fd_del(loop, p[0]);
	assert_int_equal(write(p[1], "b", 1), 1);
	assert_int_equal(ev_run_once(loop, 5 * MS), 0);
	assert_int_equal(rf.reads, 1);
	ev_fd_del(loop, p[0]); /* double delete: no-op */
	ev_fd_del(loop, p[1]);
	close(p[0]);
	close(p[1]);
	ev_loop_free(loop);
}

/* ev_fd_park: no callbacks while parked; un-parked by ev_fd_set with the same events (data that
 * arrives after that is delivered); an event while parked drops the registration, after which
 * ev_fd_set registers it again. */
static void test_fd_park(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_create();
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct fdctx rf = {0, 0, 0};
	assert_int_equal(ev_fd_set(loop, p[0], EV_READ, on_fd, &rf), 0);
	/* park, then un-park with the same interest: data is delivered */
	ev_fd_park(loop, p[0]);
	assert_int_equal(ev_fd_set(loop, p[0], EV_READ, on_fd, &rf), 0);
	assert_int_equal(write(p[1], "a", 1), 1);
	run_until(loop, &rf.reads, 1, 1000 * MS);
	assert_int_equal(rf.reads, 1);
	/* parked: an arriving byte gives no callback and drops the registration */
	ev_fd_park(loop, p[0]);
	assert_int_equal(write(p[1], "b", 1), 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ev_run_once(loop, 2 * MS), 0);
	assert_int_equal(rf.reads, 1);
	/* watched again (a fresh registration): the pending byte is delivered */
	assert_int_equal(ev_fd_set(loop, p[0], EV_READ, on_fd, &rf), 0);
	run_until(loop, &rf.reads, 2, 1000 * MS);
	assert_int_equal(rf.reads, 2);
	assert_int_equal(rf.last, 'b');
	/* park then delete then close: the number can be reused by a new fd */
	ev_fd_park(loop, p[0]);
	ev_fd_del(loop, p[0]);
	close(p[0]);
	int q[2];
	assert_int_equal(pipe(q), 0);
	struct fdctx qf = {0, 0, 0};
	assert_int_equal(ev_fd_set(loop, q[0], EV_READ, on_fd, &qf), 0);
	assert_int_equal(write(q[1], "c", 1), 1);
	run_until(loop, &qf.reads, 1, 1000 * MS);
	assert_int_equal(qf.reads, 1);
	ev_fd_del(loop, q[0]);
	close(q[0]);
	close(q[1]);
	close(p[1]);
	ev_loop_free(loop);
}

/* Cross-thread wake-ups and async stop. */
struct wakectx {
	struct ev_loop *loop;
	atomic_int wakes;
	atomic_int posted;
};

static void on_wake(struct ev_loop *loop, void *ctx)
{
	struct wakectx *w = ctx;
	atomic_fetch_add(&w->wakes, 1);
	if (atomic_load(&w->posted) >= 3)
		ev_stop(loop);
}

static void *waker_thread(void *arg)
{
	struct wakectx *w = arg;
	for (int i = 0; i < 3; i++) {
		atomic_fetch_add(&w->posted, 1);
		ev_wake(w->loop);
		clock_sleep_until_ns(clock_mono_ns() + 1 * MS);
	}
	return NULL;
}

static void on_safety(struct ev_loop *loop, void *ctx)
{
	*(int *)ctx = 1;
	ev_stop(loop);
}

static void test_wake_from_thread(void **state)
{
	(void)state;
	struct wakectx w;
	w.loop = ev_loop_create();
	atomic_init(&w.wakes, 0);
	atomic_init(&w.posted, 0);
	ev_set_wake_cb(w.loop, on_wake, &w);
	int safety = 0;
	uint64_t sid = ev_timer_at(w.loop, clock_mono_ns() + 5000 * MS, on_safety, &safety);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, waker_thread, &w), 0);
	assert_int_equal(ev_run(w.loop), 0);
	pthread_join(th, NULL);
	assert_int_equal(safety, 0);
	assert_true(atomic_load(&w.wakes) >= 1);
	assert_int_equal(atomic_load(&w.posted), 3);
	ev_timer_cancel(w.loop, sid);
	ev_loop_free(w.loop);
}

/* Two asyncs on one loop: each send from another thread runs its own callback (and only its
 * own), sends coalesce, nothing is lost: the last value a sender published is always seen. */
struct asyncctx {
	struct ev_loop *loop;
	struct ev_async *a[2];
	atomic_int sent[2];
	int seen[2]; /* the loop thread's view of sent[] at its last callback */
	int calls[2];
};

static struct asyncctx *async_ctx;

static void on_async(struct ev_loop *loop, int k)
{
	async_ctx->calls[k]++;
	async_ctx->seen[k] = atomic_load(&async_ctx->sent[k]);
	if (async_ctx->seen[0] == 200 && async_ctx->seen[1] == 200)
		ev_stop(loop);
}
static void on_async0(struct ev_loop *loop, void *ctx)
{
	(void)ctx;
	on_async(loop, 0);
}
static void on_async1(struct ev_loop *loop, void *ctx)
{
	(void)ctx;
	on_async(loop, 1);
}

static void *async_sender(void *arg)
{
	int k = *(int *)arg;
	for (int i = 0; i < 200; i++) {
		atomic_fetch_add(&async_ctx->sent[k], 1);
		ev_async_send(async_ctx->a[k]);
	}
	return NULL;
}

static void test_async_from_threads(void **state)
{
	(void)state;
	static struct asyncctx c;
	memset(&c, 0, sizeof c);
	async_ctx = &c;
	c.loop = ev_loop_create();
	c.a[0] = ev_async_add(c.loop, on_async0, NULL);
	c.a[1] = ev_async_add(c.loop, on_async1, NULL);
	int safety = 0;
	uint64_t sid = ev_timer_at(c.loop, clock_mono_ns() + 5000 * MS, on_safety, &safety);
	pthread_t th[2];
	int ks[2] = {0, 1};
	for (int k = 0; k < 2; k++)
		assert_int_equal(pthread_create(&th[k], NULL, async_sender, &ks[k]), 0);
	assert_int_equal(ev_run(c.loop), 0);
	for (int k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
	assert_int_equal(safety, 0);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(c.seen[k], 200);
		assert_true(c.calls[k] >= 1 && c.calls[k] <= 200);
	}
	ev_timer_cancel(c.loop, sid);
	/* a deleted async is gone; the loop frees the other */
	ev_async_del(c.loop, c.a[0]);
	ev_loop_free(c.loop);
}

static void *stopper_thread(void *arg)
{
	clock_sleep_until_ns(clock_mono_ns() + 2 * MS);
	ev_stop_async(arg);
	return NULL;
}

static void test_stop_async(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_create();
	int safety = 0;
	ev_timer_at(loop, clock_mono_ns() + 5000 * MS, on_safety, &safety);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, stopper_thread, loop), 0);
	int64_t t0 = clock_mono_ns();
	assert_int_equal(ev_run(loop), 0);
	pthread_join(th, NULL);
	assert_int_equal(safety, 0);
	assert_true(clock_mono_ns() - t0 < 4000 * MS);
	/* stop requested before run: run returns at once, then the loop is reusable */
	ev_stop_async(loop);
	assert_int_equal(ev_run(loop), 0);
	ev_loop_free(loop);
}

static void on_sig(struct ev_loop *loop, int signo, void *ctx)
{
	*(int *)ctx = signo;
	ev_stop(loop);
}

static void test_signal(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_create();
	int got = 0;
	int sigs[1] = {SIGUSR1};
	assert_int_equal(ev_signal_watch(loop, sigs, 1, on_sig, &got), 0);
	assert_int_equal(pthread_kill(pthread_self(), SIGUSR1), 0);
	int safety = 0;
	uint64_t sid = ev_timer_at(loop, clock_mono_ns() + 5000 * MS, on_safety, &safety);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(got, SIGUSR1);
	assert_int_equal(safety, 0);
	ev_timer_cancel(loop, sid);
	ev_loop_free(loop);
}

static void test_now_cached(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_create();
	int64_t a = ev_now_ns(loop);
	assert_true(a > 0);
	assert_int_equal(ev_run_once(loop, 1 * MS), 0);
	int64_t b = ev_now_ns(loop);
	assert_true(b >= a + 1 * MS / 2);
	assert_true(b <= clock_mono_ns());
	ev_loop_free(loop);
}

static void on_flag(struct ev_loop *loop, void *ctx)
{
	(void)loop;
	*(int *)ctx = 1;
}

/* One timer 60 ms ahead with ev_spin_before() on it; the loop's window is window_ns. Returns true
 * when the first wait ended before the deadline (it must never end before deadline - window). */
static bool spin_attempt(int64_t window_ns, int64_t *spin_ns, int *polls_out)
{
	struct ev_loop *loop = ev_loop_create();
	assert_non_null(loop);
	ev_set_spin_window(loop, window_ns);
	int fired = 0;
	int64_t cpu0 = clock_thread_cpu_ns();
	int64_t t0 = clock_mono_ns();
	int64_t deadline = t0 + 60 * MS;
	ev_timer_at(loop, deadline, on_flag, &fired);
	ev_spin_before(loop, deadline);
	assert_int_equal(ev_run_once(loop, -1), 0);
	int64_t first = clock_mono_ns();
	assert_true(first >= deadline - window_ns);
	assert_true(!fired || first >= deadline); /* the timer never fires early */
	int polls = 0;
	while (!fired && clock_mono_ns() < t0 + 5000 * MS) {
		assert_int_equal(ev_run_once(loop, -1), 0);
		polls++;
	}
	assert_int_equal(fired, 1);
	assert_true(ev_spin_ns(loop) <= deadline - t0);
	/* the spin is CPU the thread used, never more (a descheduled poll's wall time is not spin) */
	assert_true(ev_spin_ns(loop) <= clock_thread_cpu_ns() - cpu0);
	/* after the deadline the window is over: the next wait sleeps (bounded by 1 ms here) */
	int64_t spun = ev_spin_ns(loop);
	assert_int_equal(ev_run_once(loop, 1 * MS), 0);
	assert_true(ev_spin_ns(loop) == spun);
	*spin_ns = spun;
	*polls_out = polls;
	ev_loop_free(loop);
	return first < deadline;
}

/* With a spin window the loop wakes at deadline - window and then polls without sleeping until
 * the deadline, counting the polling time; without one it sleeps straight to the timer. A thread
 * can be woken late on a loaded machine, so the spin case gets three attempts to wake on time. */
static void test_spin_window(void **state)
{
	(void)state;
	int64_t spun;
	int polls;
	assert_false(spin_attempt(0, &spun, &polls));
	assert_int_equal(polls, 0);
	assert_true(spun == 0);
	bool on_time = false;
	for (int attempt = 0; attempt < 3 && !on_time; attempt++)
		on_time = spin_attempt(30 * MS, &spun, &polls);
	assert_true(on_time);
	assert_true(polls >= 1);
	assert_true(spun > 0);
}

/* A calibrated spin (ev_set_spin_auto): the start-up burst gives short samples; a timed wait of
 * the loop that ends by its timeout adds a sample; the timer still fires on time, never early, and
 * the window in force is within the maximum. */
static void test_spin_auto(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_create();
	assert_non_null(loop);
	ev_set_spin_auto(loop, 2 * MS, 0, 40);
	const struct wake_calib *c = ev_spin_calib(loop);
	assert_non_null(c);
	assert_int_equal(c->total[WAKE_SHORT], 40);
	assert_true(ev_spin_window_ns(loop) > 0 && ev_spin_window_ns(loop) <= 2 * MS);
	int fired = 0;
	int64_t deadline = clock_mono_ns() + 30 * MS;
	ev_timer_at(loop, deadline, on_flag, &fired);
	ev_spin_before(loop, deadline);
	int64_t t0 = clock_mono_ns();
	while (!fired && clock_mono_ns() < t0 + 5000 * MS)
		assert_int_equal(ev_run_once(loop, -1), 0);
	assert_int_equal(fired, 1);
	assert_true(clock_mono_ns() >= deadline);
	/* the sleep up to the window is a long sample; the naps inside it short ones */
	assert_true(c->total[WAKE_LONG] >= 1);
	assert_true(c->total[WAKE_SHORT] >= 40);
	assert_true(ev_spin_window_ns(loop) <= 2 * MS);
	/* 0 turns it off */
	ev_set_spin_auto(loop, 0, 0, 40);
	assert_null(ev_spin_calib(loop));
	assert_int_equal(ev_spin_window_ns(loop), 0);
	ev_loop_free(loop);
}

/* ev_next_timer_ns: the earliest pending deadline, INT64_MAX when none (cancelled and fired timers
 * are not pending). */
static void test_next_timer(void **state)
{
	(void)state;
	struct ev_loop *loop = ev_loop_create();
	assert_true(ev_next_timer_ns(loop) == INT64_MAX);
	static struct order_log log;
	memset(&log, 0, sizeof log);
	struct tctx c[2] = {{&log, 0}, {&log, 1}};
	int64_t now = clock_mono_ns();
	uint64_t late = ev_timer_at(loop, now + 3 * MS, on_order_timer, &c[0]);
	uint64_t soon = ev_timer_at(loop, now + 1 * MS, on_order_timer, &c[1]);
	assert_true(ev_next_timer_ns(loop) == now + 1 * MS);
	ev_timer_cancel(loop, soon);
	assert_true(ev_next_timer_ns(loop) == now + 3 * MS);
	run_until(loop, &log.n, 1, 2000 * MS);
	assert_int_equal(log.n, 1);
	assert_true(ev_next_timer_ns(loop) == INT64_MAX);
	ev_timer_cancel(loop, late); /* fired: no-op */
	ev_loop_free(loop);
}

struct acceptctx {
	int lfd;
	int accepted;
	int tag;
};

static void on_listen(struct ev_loop *loop, int fd, uint32_t events, void *ctx)
{
	(void)loop;
	struct acceptctx *a = ctx;
	assert_int_equal(fd, a->lfd);
	assert_true(events & EV_READ);
	assert_false(events & EV_EXCLUSIVE);
	int c = accept(fd, NULL, NULL);
	if (c >= 0) {
		a->accepted++;
		close(c);
	}
}

static int connect_to(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

/* EV_EXCLUSIVE: one listening socket in two loops (as the sim's workers share theirs). The kernel
 * rejects EPOLLEXCLUSIVE with EPOLLRDHUP and refuses EPOLL_CTL_MOD of an exclusive registration, so
 * both the first set and a second set with another callback context must succeed and deliver. */
static void test_fd_exclusive_shared_listener(void **state)
{
	(void)state;
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(lfd, 16), 0);
	socklen_t sl = sizeof sa;
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	uint16_t port = ntohs(sa.sin_port);

	struct ev_loop *a = ev_loop_create(), *b = ev_loop_create();
	struct acceptctx ca = {lfd, 0, 1}, cb = {lfd, 0, 2}, ca2 = {lfd, 0, 3};
	assert_int_equal(ev_fd_set(a, lfd, EV_READ | EV_EXCLUSIVE, on_listen, &ca), 0);
	assert_int_equal(ev_fd_set(b, lfd, EV_READ | EV_EXCLUSIVE, on_listen, &cb), 0);
	int c1 = connect_to(port);
	run_until(a, &ca.accepted, 1, 2000 * MS);
	assert_int_equal(ca.accepted, 1);
	/* the connection is taken: loop b has nothing to accept */
	assert_int_equal(ev_run_once(b, 5 * MS), 0);
	assert_int_equal(cb.accepted, 0);
	/* set again (another context): removed and re-added, not modified */
	assert_int_equal(ev_fd_set(a, lfd, EV_READ | EV_EXCLUSIVE, on_listen, &ca2), 0);
	int c2 = connect_to(port);
	run_until(a, &ca2.accepted, 1, 2000 * MS);
	assert_int_equal(ca2.accepted, 1);
	assert_int_equal(ca.accepted, 1);
	/* deleted from a: the next connection goes to b */
	ev_fd_del(a, lfd);
	int c3 = connect_to(port);
	run_until(b, &cb.accepted, 1, 2000 * MS);
	assert_int_equal(cb.accepted, 1);
	assert_int_equal(ev_run_once(a, 5 * MS), 0);
	assert_int_equal(ca2.accepted, 1);
	close(c1);
	close(c2);
	close(c3);
	ev_fd_del(b, lfd);
	ev_loop_free(a);
	ev_loop_free(b);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_timer_order),
	    cmocka_unit_test(test_timer_cancel),
	    cmocka_unit_test(test_timer_heap_random),
	    cmocka_unit_test(test_timer_no_starvation),
	    cmocka_unit_test(test_fd_callbacks),
	    cmocka_unit_test(test_wake_from_thread),
	    cmocka_unit_test(test_async_from_threads),
	    cmocka_unit_test(test_stop_async),
	    cmocka_unit_test(test_signal),
	    cmocka_unit_test(test_now_cached),
	    cmocka_unit_test(test_fd_park),
	    cmocka_unit_test(test_timer_rearm_does_not_block_others),
	    cmocka_unit_test(test_spin_window),
	    cmocka_unit_test(test_spin_auto),
	    cmocka_unit_test(test_next_timer),
	    cmocka_unit_test(test_fd_exclusive_shared_listener),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
