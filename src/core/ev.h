#ifndef VK_CORE_EV_H
#define VK_CORE_EV_H
/* A small epoll event loop: fd watchers, absolute monotonic-ns timers (timerfd, ns resolution),
 * cross-thread wake-ups (eventfd) and signals (signalfd). One loop per thread; a loop's functions
 * must be called from its thread, except ev_wake()/ev_stop_async() which are thread-safe. */
#include <stdbool.h>
#include <stdint.h>

#define EV_READ 0x1u
#define EV_WRITE 0x4u
/* With EV_READ on an fd that several loops watch (one listening socket shared by worker threads):
 * a new event wakes one of the loops waiting for it, not all of them (EPOLLEXCLUSIVE). The kernel
 * refuses to modify such a registration, so setting the fd again removes and re-adds it. */
#define EV_EXCLUSIVE 0x8u

struct ev_loop;
struct wake_calib;
typedef void (*ev_fd_cb)(struct ev_loop *loop, int fd, uint32_t events, void *ctx);
typedef void (*ev_timer_cb)(struct ev_loop *loop, void *ctx);
typedef void (*ev_signal_cb)(struct ev_loop *loop, int signo, void *ctx);
typedef void (*ev_wake_cb)(struct ev_loop *loop, void *ctx);

struct ev_loop *ev_loop_create(void);
void ev_loop_free(struct ev_loop *loop);

/* fd watchers: events is a mask of EV_READ|EV_WRITE. add twice = modify. */
int ev_fd_set(struct ev_loop *loop, int fd, uint32_t events, ev_fd_cb cb, void *ctx);
void ev_fd_del(struct ev_loop *loop, int fd);
/* Stop calling back for fd without an epoll_ctl now: the fd stays in the epoll set, parked. An
 * ev_fd_set with the same events un-parks it without a syscall (a keep-alive socket going idle
 * between requests and back costs nothing); the first event that arrives while parked removes it
 * (one epoll_ctl, no callback). The owner must ev_fd_del a parked fd before closing it. */
void ev_fd_park(struct ev_loop *loop, int fd);

/* Timers fire once at an absolute CLOCK_MONOTONIC deadline. Returns an id > 0. */
uint64_t ev_timer_at(struct ev_loop *loop, int64_t deadline_ns, ev_timer_cb cb, void *ctx);
void ev_timer_cancel(struct ev_loop *loop, uint64_t id);
/* The deadline of the earliest pending timer, INT64_MAX when there is none (e.g. for a loop that
 * stays awake before every timer: ev_spin_before(loop, ev_next_timer_ns(loop)) before each turn). */
int64_t ev_next_timer_ns(const struct ev_loop *loop);

/* Block the given signals in the calling thread and deliver them through the loop. */
int ev_signal_watch(struct ev_loop *loop, const int *signals, int n, ev_signal_cb cb, void *ctx);
/* Cross-thread wake-up: cb runs on the loop's thread after ev_wake(). */
void ev_set_wake_cb(struct ev_loop *loop, ev_wake_cb cb, void *ctx);
void ev_wake(struct ev_loop *loop);
/* Cross-thread notifications, any number per loop, each with its own callback (e.g. a worker
 * thread saying its results are ready). ev_async_add/del on the loop's thread; ev_async_send from
 * any thread while the async exists: cb then runs once on the loop's thread (sends before it runs
 * coalesce; a send during cb runs it again). A callback may delete only its own async. The loop
 * frees what is left in ev_loop_free. */
struct ev_async;
typedef void (*ev_async_cb)(struct ev_loop *loop, void *ctx);
struct ev_async *ev_async_add(struct ev_loop *loop, ev_async_cb cb, void *ctx);
void ev_async_send(struct ev_async *a);
void ev_async_del(struct ev_loop *loop, struct ev_async *a);

/* Keep the thread awake before a deadline that must be met to the microsecond. A thread that
 * sleeps in the kernel can wake late: on a virtual machine an idle vCPU is halted, and waking it
 * has been measured to take 1-11 ms (docs/CLIENT.md, Dispatch spin). With a fixed window set
 * (ev_set_spin_window), the loop polls without sleeping (epoll timeout 0, fd events still handled
 * at once) from deadline - window_ns until the deadline given by the last ev_spin_before().
 * window_ns 0 (the default) turns this off. With ev_set_spin_auto the window is calibrated to this
 * host (core/wake_calib.h): a burst of `burst` short waits now, then every timed wait of the loop;
 * the loop naps through the window (at most max_ns) and polls only its last busy_ns (at most
 * busy_max_ns; 0: two naps). The thread CPU time of waits
 * that found nothing while staying awake adds up in ev_spin_ns(). */
void ev_set_spin_window(struct ev_loop *loop, int64_t window_ns);
void ev_set_spin_auto(struct ev_loop *loop, int64_t max_ns, int64_t busy_max_ns, uint32_t burst);
/* The calibration of an auto spin (NULL otherwise), and the window now in force (0: none). */
const struct wake_calib *ev_spin_calib(const struct ev_loop *loop);
int64_t ev_spin_window_ns(const struct ev_loop *loop);
/* Blocks the thread until deadline_ns the same way (sleep, nap, poll), handling no events: for a
 * start that must be met to the microsecond before the loop runs. */
void ev_spin_until(struct ev_loop *loop, int64_t deadline_ns);
/* With an auto spin: poll = true polls the last 2 ms (at most the window) before each deadline
 * instead of napping, for a loop that is busy most of the time anyway; false: the calibrated span. */
void ev_spin_set_poll(struct ev_loop *loop, bool poll);
void ev_spin_before(struct ev_loop *loop, int64_t deadline_ns);
int64_t ev_spin_ns(const struct ev_loop *loop);

int ev_run(struct ev_loop *loop); /* until ev_stop */
void ev_stop(struct ev_loop *loop);
void ev_stop_async(struct ev_loop *loop);
/* One iteration: wait at most max_wait_ns (-1 = until an event) and dispatch. */
int ev_run_once(struct ev_loop *loop, int64_t max_wait_ns);
int64_t ev_now_ns(struct ev_loop *loop); /* time of the last wake-up (cached) */

#endif
