/* Kernel receive timestamps for the client's sockets (see client_rxstamp.h). */
#undef _FORTIFY_SOURCE /* this file defines recv() itself */
#include "client/client_rxstamp.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/client_pollskip.h"
#include "core/clock.h"

/* what the last successful recv() on this thread read: its socket and the kernel's timestamp of
 * the last packet it drained, moved onto CLOCK_MONOTONIC once (so that every lookup of one read
 * gives the same value); fd -1 = none */
struct rxstamp_last {
	int fd;
	int64_t mono_ns;
};
static _Thread_local struct rxstamp_last rxstamp_tls = {-1, 0};

/* a timestamp older than this is treated as stale (e.g. the wall clock was stepped) */
#define RXSTAMP_MAX_AGE_NS (10LL * 1000000000LL)

static _Atomic int rxstamp_state; /* 0 unknown, 1 on, -1 off (VEEKSHA_RX_STAMPS=0) */

bool client_rxstamp_on(void)
{
	if (!rxstamp_state) {
		const char *e = getenv("VEEKSHA_RX_STAMPS");
		rxstamp_state = e && !strcmp(e, "0") ? -1 : 1;
	}
	return rxstamp_state > 0;
}

void client_rxstamp_enable(int fd)
{
	if (!client_rxstamp_on())
		return;
	int on = 1;
	/* failure only means user-space stamps for this socket */
	(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
}

int client_rxstamp_hold(void)
{
	if (!client_rxstamp_on())
		return -1;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		client_rxstamp_enable(fd);
	return fd;
}

void client_rxstamp_release(int fd)
{
	if (fd >= 0)
		close(fd);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	union {
		char bytes[CMSG_SPACE(sizeof(struct timespec)) * 2];
		struct cmsghdr align;
	} ctl;
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.bytes, .msg_controllen = sizeof ctl.bytes};
	ssize_t n = recvmsg(fd, &m, flags);
	client_pollskip_note_read(fd, n, len, flags); /* (leaves errno alone) */
	if (n <= 0 || (flags & MSG_PEEK))
		return n;
	int saved = errno;
	struct rxstamp_last *last = &rxstamp_tls;
	last->fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof ts);
			/* the kernel stamps with the wall clock: move it by the current offset */
			int64_t real_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
			last->fd = fd;
			last->mono_ns = real_ns - (clock_real_ns() - clock_mono_ns());
		}
	}
	errno = saved;
	return n;
}

int64_t client_rxstamp_last(int fd, int64_t now_ns)
{
	const struct rxstamp_last *last = &rxstamp_tls;
	if (fd < 0 || last->fd != fd)
		return 0;
	int64_t mono = last->mono_ns;
	if (mono > now_ns)
		return now_ns;
	if (now_ns - mono > RXSTAMP_MAX_AGE_NS)
		return 0;
	return mono;
}
