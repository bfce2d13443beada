/* Small epoll event loop (see ev.h).
 *
 * - fd watchers live in a table indexed by fd; each registration bumps a generation that is carried
 *   in the epoll user data so an event of a deleted (or deleted-and-reused) fd is never delivered to
 *   the wrong watcher within one epoll batch.
 * - timers are slots in a slab, ordered by core/heap on (deadline, seq); one timerfd armed
 *   with TFD_TIMER_ABSTIME at the earliest deadline gives ns resolution. Timer ids encode
 *   (generation << 32 | slot + 1) so cancelling a fired/cancelled id is a harmless no-op.
 * - an eventfd provides thread-safe ev_wake()/ev_stop_async() and ev_async notifications; a
 *   signalfd delivers signals.
 */
#include "core/ev.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/heap.h"
#include "core/list.h"
#include "core/log.h"
#include "core/wake_calib.h"
#include "core/xalloc.h"

enum ev_kind { EV_KIND_NONE = 0, EV_KIND_USER, EV_KIND_TIMERFD, EV_KIND_WAKEFD, EV_KIND_SIGNALFD };

struct ev_fdw {
	enum ev_kind kind;
	bool parked; /* still in the epoll set, no callbacks (ev_fd_park) */
	uint32_t gen;
	uint32_t events;
	ev_fd_cb cb;
	void *ctx;
};

/* A timer's deadline and creation order (ties fire in creation order) are its heap entry's key and
 * seq; the entry's aux is the slot. */
struct ev_timer {
	uint32_t gen;
	int32_t heap_pos; /* -1 = free slot */
	ev_timer_cb cb;
	void *ctx;
	uint32_t next_free;
};

#define EV_NSIG 65

struct ev_loop {
	int epfd;
	int tfd;
	int wakefd;
	int sigfd;
	sigset_t sigmask;
	ev_signal_cb sig_cb[EV_NSIG];
	void *sig_ctx[EV_NSIG];

	struct ev_fdw *fds;
	size_t n_fds;

	struct ev_timer *timers; /* slab */
	size_t cap_timers;
	uint32_t free_head; /* slot + 1; 0 = none */
	struct heap heap;   /* of timer slots */
	uint64_t next_seq;
	int64_t armed_ns; /* deadline the timerfd is armed for; INT64_MAX = disarmed */
	bool use_pwait2;  /* epoll_pwait2 available: timers need no timerfd */

	ev_wake_cb wake_cb;
	void *wake_ctx;
	struct list asyncs; /* of struct ev_async (loop thread only); each has its own pending flag */

	int64_t spin_window_ns; /* fixed window (ev_set_spin_window); 0 = never spin */
	bool spin_auto;         /* the window comes from spin_calib (ev_set_spin_auto) */
	bool spin_poll;         /* auto: poll the whole busy span of old instead of napping (ev_spin_set_poll) */
	struct wake_calib spin_calib;
	int64_t spin_until_ns; /* deadline to stay awake for; 0 = none */
	int64_t spin_total_ns; /* thread CPU of waits that found nothing while staying awake */
	/* a run of polls before a deadline (see ev_poll_run_close): its start's thread CPU, and the wall
	 * time of its polls that found nothing */
	bool poll_run_open;
	int64_t poll_run_cpu0_ns, poll_run_empty_ns;

	atomic_bool stop;
	int64_t now_ns;
};

/* ---- fd table ---- */

static struct ev_fdw *ev_fd_slot(struct ev_loop *loop, int fd)
{
	if ((size_t)fd >= loop->n_fds) {
		size_t n = loop->n_fds ? loop->n_fds : 64;
		while (n <= (size_t)fd)
			n *= 2;
		loop->fds = xrealloc(loop->fds, n * sizeof *loop->fds);
		memset(loop->fds + loop->n_fds, 0, (n - loop->n_fds) * sizeof *loop->fds);
		loop->n_fds = n;
	}
	return &loop->fds[fd];
}

static uint32_t ev_to_epoll(uint32_t events)
{
	uint32_t e = 0;
	if (events & EV_READ)
		e |= EPOLLIN | EPOLLRDHUP;
	if (events & EV_EXCLUSIVE)
		e = (e & ~(uint32_t)EPOLLRDHUP) | EPOLLEXCLUSIVE; /* EINVAL together with EPOLLRDHUP */
	if (events & EV_WRITE)
		e |= EPOLLOUT;
	return e;
}

static int ev_register(struct ev_loop *loop, int fd, enum ev_kind kind, uint32_t events, ev_fd_cb cb, void *ctx)
{
	if (fd < 0)
		return -1;
	struct ev_fdw *w = ev_fd_slot(loop, fd);
	if (w->parked && w->kind == kind && w->events == events) {
		/* parked with the same interest: still registered as it should be */
		w->parked = false;
		w->cb = cb;
		w->ctx = ctx;
		return 0;
	}
	w->parked = false;
	bool existed = w->kind != EV_KIND_NONE;
	if (existed && ((events | w->events) & EV_EXCLUSIVE)) {
		/* EPOLL_CTL_MOD fails with EINVAL on an exclusive registration: re-add it */
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		existed = false;
	}
	struct epoll_event ee = {.events = ev_to_epoll(events)};
	uint32_t gen = existed ? w->gen : w->gen + 1;
	ee.data.u64 = (uint64_t)(uint32_t)fd | ((uint64_t)gen << 32);
	if (epoll_ctl(loop->epfd, existed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ee) < 0) {
		if (existed && errno == ENOENT) {
			/* fd was closed and reused without ev_fd_del: re-add */
			if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ee) < 0)
				return -1;
		} else if (!existed && errno == EEXIST) {
			if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ee) < 0)
				return -1;
		} else {
			return -1;
		}
	}
	w->kind = kind;
	w->gen = gen;
	w->events = events;
	w->cb = cb;
	w->ctx = ctx;
	return 0;
}

int ev_fd_set(struct ev_loop *loop, int fd, uint32_t events, ev_fd_cb cb, void *ctx)
{
	return ev_register(loop, fd, EV_KIND_USER, events, cb, ctx);
}

void ev_fd_del(struct ev_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->n_fds || loop->fds[fd].kind == EV_KIND_NONE)
		return;
	/* may fail with EBADF/ENOENT when the fd was already closed: the kernel removed it then */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->fds[fd].kind = EV_KIND_NONE;
	loop->fds[fd].parked = false;
	loop->fds[fd].cb = NULL;
	loop->fds[fd].ctx = NULL;
}

void ev_fd_park(struct ev_loop *loop, int fd)
{
	if (fd < 0 || (size_t)fd >= loop->n_fds || loop->fds[fd].kind != EV_KIND_USER)
		return;
	loop->fds[fd].parked = true;
}

/* ---- timers ---- */

/* heap_pos of a timer that ev_run_timers took off the heap for the rest of its round */
#define EV_HEAP_DEFERRED (-2)

/* heap_pos follows the timer's heap entry, for ev_timer_cancel */
static void ev_timer_moved(void *ctx, const struct heap_ent *ent, size_t pos)
{
	struct ev_loop *loop = ctx;
	loop->timers[ent->aux].heap_pos = (int32_t)pos;
}

static void ev_slot_free(struct ev_loop *loop, uint32_t slot)
{
	struct ev_timer *t = &loop->timers[slot];
	t->heap_pos = -1;
	t->cb = NULL;
	t->ctx = NULL;
	t->gen++;
	t->next_free = loop->free_head;
	loop->free_head = slot + 1;
}

static void ev_timerfd_arm(struct ev_loop *loop)
{
	const struct heap_ent *top = heap_top(&loop->heap);
	int64_t want = top ? top->key : INT64_MAX;
	if (want == loop->armed_ns)
		return;
	struct itimerspec its;
	memset(&its, 0, sizeof its);
	if (want != INT64_MAX) {
		int64_t d = want < 1 ? 1 : want; /* 0 would disarm */
		its.it_value.tv_sec = d / 1000000000LL;
		its.it_value.tv_nsec = d % 1000000000LL;
	}
	if (timerfd_settime(loop->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_error("ev: timerfd_settime: %s", strerror(errno));
	loop->armed_ns = want;
}

uint64_t ev_timer_at(struct ev_loop *loop, int64_t deadline_ns, ev_timer_cb cb, void *ctx)
{
	uint32_t slot;
	if (loop->free_head) {
		slot = loop->free_head - 1;
		loop->free_head = loop->timers[slot].next_free;
	} else {
		size_t old = loop->cap_timers;
		xgrow((void **)&loop->timers, &loop->cap_timers, old + 1, sizeof *loop->timers);
		for (size_t i = old; i < loop->cap_timers; i++) {
			loop->timers[i].heap_pos = -1;
			loop->timers[i].gen = 1;
		}
		/* thread the extra slots onto the free list (highest first so low slots are used first) */
		for (size_t i = loop->cap_timers; i-- > old + 1;) {
			loop->timers[i].next_free = loop->free_head;
			loop->free_head = (uint32_t)i + 1;
		}
		slot = (uint32_t)old;
	}
	struct ev_timer *t = &loop->timers[slot];
	t->cb = cb;
	t->ctx = ctx;
	heap_push(&loop->heap, deadline_ns, loop->next_seq++, NULL, slot);
	return ((uint64_t)t->gen << 32) | (uint64_t)(slot + 1);
}

void ev_timer_cancel(struct ev_loop *loop, uint64_t id)
{
	if (!id)
		return;
	uint32_t slot = (uint32_t)(id & 0xffffffffu) - 1;
	uint32_t gen = (uint32_t)(id >> 32);
	if (slot >= loop->cap_timers)
		return;
	struct ev_timer *t = &loop->timers[slot];
	if (t->gen != gen)
		return;
	if (t->heap_pos == EV_HEAP_DEFERRED) {
		ev_slot_free(loop, slot); /* set aside by ev_run_timers: just forget it */
		return;
	}
	if (t->heap_pos < 0)
		return;
	heap_remove(&loop->heap, (size_t)t->heap_pos);
	ev_slot_free(loop, slot);
}

int64_t ev_next_timer_ns(const struct ev_loop *loop)
{
	const struct heap_ent *top = heap_top(&loop->heap);
	return top ? top->key : INT64_MAX;
}

/* Run timers due at loop->now_ns that existed before this call. Timers added by callbacks wait for
 * the next iteration, so a callback re-adding a past-due timer cannot starve the loop's fds; and
 * such a new timer is set aside (not left at the heap top), so it cannot hold back the other due
 * timers either (e.g. a dispatch pump re-arming itself at deadline 0 for a long backlog must not
 * delay benchmark_timeout). */
#define EV_DEFER_MAX 64
static void ev_run_timers(struct ev_loop *loop)
{
	uint64_t seq_limit = loop->next_seq;
	struct heap_ent deferred[EV_DEFER_MAX];
	uint32_t deferred_gen[EV_DEFER_MAX];
	size_t n_deferred = 0;
	const struct heap_ent *top;
	while ((top = heap_top(&loop->heap)) && !atomic_load_explicit(&loop->stop, memory_order_relaxed)) {
		uint32_t slot = (uint32_t)top->aux;
		struct ev_timer *t = &loop->timers[slot];
		if (top->key > loop->now_ns)
			break;
		if (top->seq >= seq_limit) {
			if (n_deferred == EV_DEFER_MAX)
				break;
			deferred[n_deferred] = heap_pop(&loop->heap);
			t->heap_pos = EV_HEAP_DEFERRED;
			deferred_gen[n_deferred++] = t->gen;
			continue;
		}
		ev_timer_cb cb = t->cb;
		void *ctx = t->ctx;
		heap_pop(&loop->heap);
		ev_slot_free(loop, slot);
		cb(loop, ctx);
		/* callbacks may have taken more time; keep the cached clock honest */
		loop->now_ns = clock_mono_ns();
	}
	for (size_t i = 0; i < n_deferred; i++) {
		uint32_t slot = (uint32_t)deferred[i].aux;
		if (loop->timers[slot].gen != deferred_gen[i])
			continue; /* cancelled by a callback meanwhile (its slot may already serve a new timer) */
		heap_push(&loop->heap, deferred[i].key, deferred[i].seq, NULL, slot);
	}
}

/* ---- signals ---- */

int ev_signal_watch(struct ev_loop *loop, const int *signals, int n, ev_signal_cb cb, void *ctx)
{
	sigset_t add;
	sigemptyset(&add);
	for (int i = 0; i < n; i++) {
		if (signals[i] <= 0 || signals[i] >= EV_NSIG)
			return -1;
		sigaddset(&add, signals[i]);
		sigaddset(&loop->sigmask, signals[i]);
		loop->sig_cb[signals[i]] = cb;
		loop->sig_ctx[signals[i]] = ctx;
	}
	if (pthread_sigmask(SIG_BLOCK, &add, NULL) != 0)
		return -1;
	int fd = signalfd(loop->sigfd, &loop->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (loop->sigfd < 0) {
		loop->sigfd = fd;
		if (ev_register(loop, fd, EV_KIND_SIGNALFD, EV_READ, NULL, NULL) < 0)
			return -1;
	}
	return 0;
}

static void ev_handle_signals(struct ev_loop *loop)
{
	struct signalfd_siginfo si[8];
	for (;;) {
		ssize_t r = read(loop->sigfd, si, sizeof si);
		if (r <= 0)
			break;
		size_t n = (size_t)r / sizeof si[0];
		for (size_t i = 0; i < n; i++) {
			int signo = (int)si[i].ssi_signo;
			if (signo > 0 && signo < EV_NSIG && loop->sig_cb[signo])
				loop->sig_cb[signo](loop, signo, loop->sig_ctx[signo]);
		}
	}
}

/* ---- wake-ups ---- */

void ev_set_wake_cb(struct ev_loop *loop, ev_wake_cb cb, void *ctx)
{
	loop->wake_cb = cb;
	loop->wake_ctx = ctx;
}

void ev_wake(struct ev_loop *loop)
{
	uint64_t one = 1;
	/* EAGAIN only when the counter is saturated: a wake-up is pending anyway */
	ssize_t r = write(loop->wakefd, &one, sizeof one);
	(void)r;
}

struct ev_async {
	struct ev_loop *loop;
	atomic_bool pending;
	ev_async_cb cb;
	void *ctx;
	struct list_node node; /* in loop->asyncs */
};

struct ev_async *ev_async_add(struct ev_loop *loop, ev_async_cb cb, void *ctx)
{
	struct ev_async *a = xcalloc(1, sizeof *a);
	a->loop = loop;
	atomic_init(&a->pending, false);
	a->cb = cb;
	a->ctx = ctx;
	list_push_tail(&loop->asyncs, &a->node);
	return a;
}

void ev_async_send(struct ev_async *a)
{
	/* only the first send of a batch writes the eventfd; the flag is cleared before the callback
	 * runs, so a send during the callback calls it again */
	if (!atomic_exchange_explicit(&a->pending, true, memory_order_acq_rel))
		ev_wake(a->loop);
}

void ev_async_del(struct ev_loop *loop, struct ev_async *a)
{
	if (!a)
		return;
	list_remove(&loop->asyncs, &a->node);
	free(a);
}

/* After a wake-up: the callback of every async sent since the last one. */
static void ev_run_asyncs(struct ev_loop *loop)
{
	for (struct list_node *n = loop->asyncs.head, *next; n; n = next) {
		struct ev_async *a = LIST_ENTRY(n, struct ev_async, node);
		next = n->next; /* (the callback may delete its own async) */
		if (atomic_exchange_explicit(&a->pending, false, memory_order_acq_rel))
			a->cb(loop, a->ctx);
	}
}

void ev_stop(struct ev_loop *loop)
{
	atomic_store(&loop->stop, true);
}

void ev_stop_async(struct ev_loop *loop)
{
	atomic_store(&loop->stop, true);
	ev_wake(loop);
}

/* ---- lifecycle and dispatch ---- */

struct ev_loop *ev_loop_create(void)
{
	struct ev_loop *loop = xcalloc(1, sizeof *loop);
	loop->epfd = loop->tfd = loop->wakefd = loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	loop->armed_ns = INT64_MAX;
	loop->use_pwait2 = true;
	heap_init(&loop->heap, ev_timer_moved, loop);
	/* wake-ups within ~1 us of the deadline instead of the default 50 us timer slack */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	atomic_init(&loop->stop, false);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (loop->epfd < 0 || loop->tfd < 0 || loop->wakefd < 0 ||
	    ev_register(loop, loop->tfd, EV_KIND_TIMERFD, EV_READ, NULL, NULL) < 0 ||
	    ev_register(loop, loop->wakefd, EV_KIND_WAKEFD, EV_READ, NULL, NULL) < 0) {
		log_error("ev: cannot create event loop: %s", strerror(errno));
		ev_loop_free(loop);
		return NULL;
	}
	loop->now_ns = clock_mono_ns();
	return loop;
}

void ev_loop_free(struct ev_loop *loop)
{
	if (!loop)
		return;
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->tfd >= 0)
		close(loop->tfd);
	if (loop->wakefd >= 0)
		close(loop->wakefd);
	if (loop->sigfd >= 0) {
		close(loop->sigfd);
		/* leave the signals blocked: unblocking would deliver pending ones with default action */
	}
	while (!list_empty(&loop->asyncs))
		ev_async_del(loop, LIST_ENTRY(loop->asyncs.head, struct ev_async, node));
	free(loop->fds);
	free(loop->timers);
	heap_free(&loop->heap);
	free(loop);
}

int64_t ev_now_ns(struct ev_loop *loop)
{
	return loop->now_ns;
}

void ev_set_spin_window(struct ev_loop *loop, int64_t window_ns)
{
	loop->spin_window_ns = window_ns > 0 ? window_ns : 0;
	loop->spin_auto = false;
}

void ev_set_spin_auto(struct ev_loop *loop, int64_t max_ns, int64_t busy_max_ns, uint32_t burst)
{
	wake_calib_init(&loop->spin_calib, max_ns);
	wake_calib_set_busy_cap(&loop->spin_calib, busy_max_ns);
	loop->spin_auto = max_ns > 0;
	loop->spin_window_ns = 0;
	if (loop->spin_auto)
		wake_calib_measure(&loop->spin_calib, burst);
}

const struct wake_calib *ev_spin_calib(const struct ev_loop *loop)
{
	return loop->spin_auto ? &loop->spin_calib : NULL;
}

int64_t ev_spin_window_ns(const struct ev_loop *loop)
{
	return loop->spin_auto ? loop->spin_calib.window_ns : loop->spin_window_ns;
}

void ev_spin_set_poll(struct ev_loop *loop, bool poll)
{
	loop->spin_poll = poll;
}

/* The span polled without napping before a deadline. */
static int64_t ev_spin_busy_ns(const struct ev_loop *loop)
{
	int64_t window_ns = ev_spin_window_ns(loop);
	if (!loop->spin_auto)
		return window_ns;
	if (loop->spin_poll)
		return window_ns < WAKE_CALIB_BUSY_UNKNOWN_NS ? window_ns : WAKE_CALIB_BUSY_UNKNOWN_NS;
	return loop->spin_calib.busy_ns;
}

void ev_spin_until(struct ev_loop *loop, int64_t deadline_ns)
{
	int64_t window_ns = ev_spin_window_ns(loop);
	int64_t busy_ns = ev_spin_busy_ns(loop);
	clock_sleep_until_ns(deadline_ns - window_ns);
	for (int64_t now = clock_mono_ns(); now < deadline_ns - busy_ns; now = clock_mono_ns())
		clock_sleep_until_ns(now + wake_calib_nap_ns(&loop->spin_calib, deadline_ns - busy_ns - now));
	while (clock_mono_ns() < deadline_ns)
		;
}

void ev_spin_before(struct ev_loop *loop, int64_t deadline_ns)
{
	loop->spin_until_ns = deadline_ns;
}

int64_t ev_spin_ns(const struct ev_loop *loop)
{
	return loop->spin_total_ns;
}

/* Shorten the wait for the spin (ev.h): until the window's start before it; inside the window, naps
 * of at most nap_ns until busy_ns before the deadline; 0 (a poll) after that. *staying_awake says
 * whether the wait was shortened for the spin. */
static int64_t ev_spin_timeout(struct ev_loop *loop, int64_t timeout_ns, bool *staying_awake)
{
	*staying_awake = false;
	int64_t window_ns = ev_spin_window_ns(loop);
	if (!window_ns || !loop->spin_until_ns)
		return timeout_ns;
	int64_t now = loop->now_ns;
	if (now >= loop->spin_until_ns) {
		loop->spin_until_ns = 0;
		return timeout_ns;
	}
	int64_t rem_ns = loop->spin_until_ns - now, to_ns;
	int64_t busy_ns = ev_spin_busy_ns(loop);
	if (rem_ns > window_ns)
		to_ns = rem_ns - window_ns;
	else if (rem_ns <= busy_ns)
		to_ns = 0;
	else
		to_ns = wake_calib_nap_ns(&loop->spin_calib, rem_ns - busy_ns);
	if (timeout_ns >= 0 && timeout_ns <= to_ns)
		return timeout_ns;
	*staying_awake = rem_ns <= window_ns;
	return to_ns;
}

#define EV_BATCH 64

/* Wait for events for at most timeout_ns (< 0: forever). Timers are armed lazily here, once per
 * wait, instead of on every ev_timer_at/cancel: epoll_pwait2 takes a nanosecond timeout, so no
 * timerfd_settime syscall is needed at all (the timerfd is the fallback for kernels without
 * epoll_pwait2). */
static int ev_wait(struct ev_loop *loop, struct epoll_event *evs, int64_t timeout_ns, int64_t max_wait_ns)
{
	if (loop->use_pwait2) {
		struct timespec ts, *tp = NULL;
		if (timeout_ns >= 0) {
			ts.tv_sec = (time_t)(timeout_ns / 1000000000LL);
			ts.tv_nsec = (long)(timeout_ns % 1000000000LL);
			tp = &ts;
		}
		int n = epoll_pwait2(loop->epfd, evs, EV_BATCH, tp, NULL);
		if (n >= 0 || errno != ENOSYS)
			return n;
		loop->use_pwait2 = false;
	}
	ev_timerfd_arm(loop);
	int timeout_ms;
	if (timeout_ns == 0)
		timeout_ms = 0;
	else if (max_wait_ns < 0)
		timeout_ms = -1;
	else
		timeout_ms = (int)((max_wait_ns + 999999) / 1000000 > 0x7fffffff ? 0x7fffffff
		                                                                 : (max_wait_ns + 999999) / 1000000);
	return epoll_wait(loop->epfd, evs, EV_BATCH, timeout_ms);
}

/* The spin of a run of polls before a deadline: the wall time of its polls that found nothing, but
 * never more than the thread's CPU over the whole run (a poll during which the thread was
 * descheduled is not spin). Two reads of the thread's CPU clock per run instead of two per poll:
 * on a VM that clock is a system call of a few microseconds, which made each poll several times
 * longer and the dispatch that much later. */
static void ev_poll_run_close(struct ev_loop *loop)
{
	int64_t cpu_ns = clock_thread_cpu_ns() - loop->poll_run_cpu0_ns;
	loop->spin_total_ns += loop->poll_run_empty_ns < cpu_ns ? loop->poll_run_empty_ns : cpu_ns;
	loop->poll_run_open = false;
}

/* The deadline the loop stays awake for (ev_spin_before: a scheduled dispatch), when it falls due
 * while the loop works through a batch of socket events, runs before the rest of the batch: a batch
 * of reads (each can finish a request, whose metrics take tens of microseconds) would otherwise make
 * the dispatch late by the whole batch (docs/CLIENT.md, Dispatch spin). Only that deadline: other
 * timers due at once (a pump after a completion) keep waiting for the end of the batch, which keeps
 * a busy loop's work batched. The clock is read only when the deadline is close. */
#define EV_TIMER_CHECK_NS INT64_C(2000000)
static void ev_run_due_deadline(struct ev_loop *loop)
{
	if (!loop->spin_until_ns || loop->spin_until_ns > loop->now_ns + EV_TIMER_CHECK_NS)
		return;
	loop->now_ns = clock_mono_ns();
	int64_t deadline_ns = loop->spin_until_ns;
	if (deadline_ns > loop->now_ns)
		return;
	const struct heap_ent *top = heap_top(&loop->heap);
	if (top && top->key <= loop->now_ns)
		ev_run_timers(loop);
	/* served (or cancelled): unless a timer set the next one, the rest of the batch reads no clock
	 * and runs no timer */
	if (loop->spin_until_ns == deadline_ns)
		loop->spin_until_ns = 0;
}

int ev_run_once(struct ev_loop *loop, int64_t max_wait_ns)
{
	struct epoll_event evs[EV_BATCH];
	loop->now_ns = clock_mono_ns();
	const struct heap_ent *top = heap_top(&loop->heap);
	int64_t next = top ? top->key : INT64_MAX;
	int64_t timeout_ns;
	if (next <= loop->now_ns)
		timeout_ns = 0; /* due timers (e.g. added by a callback after the last run) */
	else if (next == INT64_MAX)
		timeout_ns = max_wait_ns;
	else
		timeout_ns = max_wait_ns >= 0 && max_wait_ns < next - loop->now_ns ? max_wait_ns : next - loop->now_ns;
	bool spinning;
	int64_t spin_timeout_ns = ev_spin_timeout(loop, timeout_ns, &spinning);
	if (spin_timeout_ns != timeout_ns)
		max_wait_ns = timeout_ns = spin_timeout_ns;
	bool polling = spinning && timeout_ns == 0;
	if (!polling && loop->poll_run_open)
		ev_poll_run_close(loop);
	else if (polling && !loop->poll_run_open) {
		loop->poll_run_open = true;
		loop->poll_run_cpu0_ns = clock_thread_cpu_ns();
		loop->poll_run_empty_ns = 0;
	}
	/* a nap's spin is the thread's CPU in it (on a busy machine the thread may be descheduled
	 * mid-wait, and its wall time would then exceed the loop's CPU); polls: ev_poll_run_close */
	int64_t cpu_before_ns = spinning && !polling ? clock_thread_cpu_ns() : 0;
	int64_t wait_start_ns = loop->now_ns;
	int n = ev_wait(loop, evs, timeout_ns, max_wait_ns);
	loop->now_ns = clock_mono_ns();
	if (polling && n == 0)
		loop->poll_run_empty_ns += loop->now_ns - wait_start_ns;
	else if (spinning && n == 0)
		loop->spin_total_ns += clock_thread_cpu_ns() - cpu_before_ns;
	/* a timed wait that ended by its timeout measures how late this host wakes the thread (only
	 * with epoll_pwait2: the timerfd fallback ends waits by an event, at millisecond grain) */
	if (loop->spin_auto && n == 0 && timeout_ns > 0 && loop->use_pwait2)
		wake_calib_add(&loop->spin_calib, timeout_ns, loop->now_ns - wait_start_ns - timeout_ns);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		log_error("ev: epoll_wait: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		ev_run_due_deadline(loop);
		int fd = (int)(uint32_t)(evs[i].data.u64 & 0xffffffffu);
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		if ((size_t)fd >= loop->n_fds)
			continue;
		struct ev_fdw *w = &loop->fds[fd];
		if (w->kind == EV_KIND_NONE || w->gen != gen)
			continue; /* deleted (or replaced) earlier in this batch */
		switch (w->kind) {
		case EV_KIND_TIMERFD: {
			uint64_t exp;
			ssize_t r = read(loop->tfd, &exp, sizeof exp);
			(void)r;
			break;
		}
		case EV_KIND_WAKEFD: {
			uint64_t cnt;
			ssize_t r = read(loop->wakefd, &cnt, sizeof cnt);
			(void)r;
			if (loop->wake_cb)
				loop->wake_cb(loop, loop->wake_ctx);
			ev_run_asyncs(loop);
			break;
		}
		case EV_KIND_SIGNALFD:
			ev_handle_signals(loop);
			break;
		case EV_KIND_USER: {
			if (w->parked) {
				/* e.g. the peer closed an idle keep-alive connection: stop watching it */
				ev_fd_del(loop, fd);
				break;
			}
			uint32_t e = 0;
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				e |= EV_READ;
			if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
				e |= EV_WRITE;
			e &= w->events ? w->events : e;
			if (!e)
				e = w->events;
			w->cb(loop, fd, e, w->ctx);
			break;
		}
		default:
			break;
		}
		if (atomic_load_explicit(&loop->stop, memory_order_relaxed))
			return 0;
	}
	/* run due timers whether or not the timerfd fired in this batch (cheap heap-top check) */
	top = heap_top(&loop->heap);
	if (top && top->key <= loop->now_ns)
		ev_run_timers(loop);
	if (loop->poll_run_open && loop->now_ns >= loop->spin_until_ns)
		ev_poll_run_close(loop); /* (after the dispatch, not before it) */
	return 0;
}

int ev_run(struct ev_loop *loop)
{
	int rc = 0;
	while (!atomic_load(&loop->stop)) {
		if (ev_run_once(loop, -1) < 0) {
			rc = -1;
			break;
		}
	}
	atomic_store(&loop->stop, false);
	return rc;
}
