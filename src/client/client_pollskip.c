/* libcurl's poll after a short read or a whole send answered without a syscall (see
 * client_pollskip.h). */
#undef _FORTIFY_SOURCE /* this file defines poll() and send() itself */
#define _GNU_SOURCE 1  /* ppoll */
#include "client/client_pollskip.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* the socket whose last read on this thread was short, or whose last send on this thread took
 * all its bytes, until the next read, send or poll; -1 = none */
static _Thread_local int pollskip_fd = -1;
static _Thread_local unsigned long long pollskip_n;

static _Atomic int pollskip_state; /* 0 unknown, 1 on, -1 off (VEEKSHA_POLL_SKIP=0) */

bool client_pollskip_on(void)
{
	if (!pollskip_state) {
		const char *e = getenv("VEEKSHA_POLL_SKIP");
		pollskip_state = e && !strcmp(e, "0") ? -1 : 1;
	}
	return pollskip_state > 0;
}

void client_pollskip_note_read(int fd, ssize_t got, size_t asked, int flags)
{
	pollskip_fd = got >= 0 && (size_t)got < asked && !(flags & MSG_PEEK) && client_pollskip_on() ? fd : -1;
}

void client_pollskip_note_send(int fd, ssize_t sent, size_t len)
{
	pollskip_fd = sent >= 0 && (size_t)sent == len && len > 0 && client_pollskip_on() ? fd : -1;
}

/* libcurl's send(): the kernel's, then noted (the request it just sent cannot have its answer yet
 * but in a rare instant, and then the loop's epoll reports it at once) */
ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	ssize_t n = sendto(fd, buf, len, flags, NULL, 0);
	int saved = errno;
	client_pollskip_note_send(fd, n, len);
	errno = saved;
	return n;
}

unsigned long long client_pollskip_count(void)
{
	return pollskip_n;
}

/* readiness questions the shortcut may answer: reading only, never writing */
#define POLLSKIP_READ_EVENTS (POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND)

/* glibc declares poll()'s array write-only (__attr_access), so gcc takes reading it for a read
 * of uninitialised memory; poll() reads it by definition */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
int poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	int skip = pollskip_fd;
	pollskip_fd = -1; /* one answer per short read or whole send */
	if (skip >= 0 && nfds == 1 && timeout_ms == 0 && fds[0].fd == skip && fds[0].events &&
	    !(fds[0].events & ~POLLSKIP_READ_EVENTS)) {
		fds[0].revents = 0;
		pollskip_n++;
		return 0;
	}
	if (timeout_ms < 0)
		return ppoll(fds, nfds, NULL, NULL);
	struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long)(timeout_ms % 1000) * 1000000L};
	return ppoll(fds, nfds, &ts, NULL);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
