/* Connections of the simulated server: accept, read (with the kernel receive timestamp), parse
 * requests one at a time (keep-alive, pipelining, 100-continue), write, close. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/ev.h"
#include "core/list.h"
#include "core/xalloc.h"
#include "sim/sim.h"
#include "sim/sim_server.h"

/* ------------------------------------------------------------------ output */
static void sim_conn_want_write(struct sim_conn *c, bool on)
{
	/* only on a change: each ev_fd_set is an epoll_ctl */
	if (c->watch_write == on || c->closed)
		return;
	ev_fd_set(c->w->loop, c->fd, EV_READ | (on ? EV_WRITE : 0), sim_conn_on_fd, c);
	c->watch_write = on;
}

/* Write as much pending output as the socket takes. Returns -1 when the connection died. */
int sim_conn_flush(struct sim_conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			sim_conn_want_write(c, true);
			return 0;
		}
		sim_conn_close(c);
		return -1;
	}
	buf_reset(&c->out);
	c->out_off = 0;
	/* A stream paused for room in the output must hear about it even when this flush (e.g. the one
	 * after a request was handled) and not the writability handler drained the output: keep
	 * watching writability, which fires at once on a writable socket and pumps the stream
	 * (sim_conn_on_fd). */
	sim_conn_want_write(c, c->st && c->st->wait_out);
	if (c->close_after && !c->st) {
		sim_conn_close(c);
		return -1;
	}
	return 0;
}

void sim_put_head(struct sim_conn *c, int status, const char *ctype, bool chunked, size_t content_len,
                  const char *req_id)
{
	struct buf *b = &c->out;
	buf_printf(b, "HTTP/1.1 %d %s\r\nserver: veeksha-sim\r\n", status, sim_http_reason(status));
	if (ctype)
		buf_printf(b, "content-type: %s\r\n", ctype);
	if (chunked)
		buf_puts(b, "transfer-encoding: chunked\r\ncache-control: no-cache\r\n");
	else if (content_len != SIZE_MAX)
		buf_printf(b, "content-length: %zu\r\n", content_len);
	if (req_id && req_id[0])
		buf_printf(b, "x-request-id: %s\r\n", req_id);
	buf_puts(b, c->close_after ? "connection: close\r\n\r\n" : "connection: keep-alive\r\n\r\n");
}

void sim_respond(struct sim_conn *c, int status, const char *ctype, const char *body, size_t len, const char *req_id)
{
	sim_put_head(c, status, ctype, false, len, req_id);
	buf_append(&c->out, body, len);
}

void sim_respond_error(struct sim_conn *c, int status, const char *msg, const char *req_id)
{
	struct buf b;
	buf_init(&b);
	sim_api_error_json(&b, status, msg);
	sim_respond(c, status, "application/json", b.data, b.len, req_id);
	buf_free(&b);
	atomic_fetch_add(&c->w->srv->n_errors, 1);
}

void sim_conn_process(struct sim_conn *c)
{
	c->in_process = true;
	while (!c->closed && !c->st && !c->busy) {
		if (c->close_after)
			break;
		const char *d = c->in.data + c->in_off;
		size_t len = c->in.len - c->in_off;
		if (len == 0)
			break;
		struct sim_http_req h;
		enum sim_http_rc rc = sim_http_parse(d, len, &h);
		if (rc == SIM_HTTP_INCOMPLETE)
			break;
		if (rc < 0) {
			c->close_after = true;
			int st = rc == SIM_HTTP_TOO_LARGE     ? (h.head_len ? 413 : 431)
			         : rc == SIM_HTTP_BAD_VERSION ? 505
			                                      : 400;
			sim_respond_error(c, st, st == 400 ? "malformed HTTP request" : sim_http_reason(st), NULL);
			sim_conn_flush(c);
			break;
		}
		if (h.chunked) {
			c->close_after = true;
			sim_respond_error(c, 411, "chunked request bodies are not supported; send Content-Length",
			                  NULL);
			sim_conn_flush(c);
			break;
		}
		size_t body_len = h.has_content_length ? (size_t)h.content_length : 0;
		if (len < h.head_len + body_len) {
			/* body incomplete; a client waiting for "100 Continue" (curl does above 1 KiB) gets it */
			if (h.expect_continue && !c->sent_continue && h.version_minor >= 1) {
				c->sent_continue = true;
				buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
				sim_conn_flush(c);
			}
			break;
		}
		c->sent_continue = false;
		c->in_off += h.head_len + body_len;
		sim_handle_request(c, &h, d + h.head_len, body_len);
		if (c->closed)
			break;
		if (sim_conn_flush(c) < 0)
			break;
	}
	c->in_process = false;
	if (c->closed)
		return;
	/* compact the input buffer */
	if (c->in_off && c->in_off == c->in.len) {
		buf_reset(&c->in);
		c->in_off = 0;
	} else if (c->in_off > 65536) {
		memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
		c->in.len -= c->in_off;
		c->in.data[c->in.len] = 0;
		c->in_off = 0;
	}
}

/* ------------------------------------------------------------------ connections */
void sim_conn_close(struct sim_conn *c)
{
	if (c->closed)
		return;
	struct sim_worker *w = c->w;
	c->closed = true;
	if (c->st)
		sim_stream_kill(c->st);
	ev_fd_del(w->loop, c->fd);
	close(c->fd);
	list_remove(&w->conns, &c->node);
	list_push_tail(&w->zombie_conns, &c->node);
}

static void sim_conn_readable(struct sim_conn *c)
{
	for (;;) {
		buf_reserve(&c->in, 16384);
		/* recvmsg for the kernel receive timestamp (SO_TIMESTAMPNS, CLOCK_REALTIME) of the bytes */
		struct iovec iov = {.iov_base = c->in.data + c->in.len, .iov_len = c->in.cap - c->in.len - 1};
		union {
			char buf[CMSG_SPACE(sizeof(struct timespec))];
			struct cmsghdr align;
		} ctrl;
		struct msghdr mh = {
		    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf, .msg_controllen = sizeof ctrl.buf};
		ssize_t n = recvmsg(c->fd, &mh, 0);
		if (n > 0) {
			for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
					struct timespec ts;
					memcpy(&ts, CMSG_DATA(cm), sizeof ts);
					c->rx_real_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
				}
			c->in.len += (size_t)n;
			c->in.data[c->in.len] = 0;
			if (c->in.len - c->in_off > SIM_IN_MAX) {
				sim_conn_close(c);
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		/* EOF or error: the client went away; abort whatever it was waiting for */
		if (c->st && !c->st->finished) {
			c->st->fault = c->st->fault ? c->st->fault : "client_disconnect";
			sim_log_write(c->w->srv, c->st, c->st->kind == SIM_API_CHAT ? "chat" : "completions");
		}
		sim_conn_close(c);
		return;
	}
	sim_conn_process(c);
}

/* ev reports hang-ups and errors as EV_READ (the read finds them) */
void sim_conn_on_fd(struct ev_loop *loop, int fd, uint32_t events, void *ctx)
{
	(void)loop;
	(void)fd;
	struct sim_conn *c = ctx;
	if (c->closed)
		return;
	if (events & EV_READ) {
		sim_conn_readable(c);
		if (c->closed)
			return;
	}
	if (events & EV_WRITE) {
		if (sim_conn_flush(c) < 0)
			return;
		if (c->st && sim_conn_pending(c) <= SIM_OUT_HIGH_WATER)
			sim_stream_pump(c->st, clock_mono_ns());
	}
}

/* After a pause for lack of descriptors: watch the listener again (unless draining meanwhile). */
static void sim_relisten(struct ev_loop *loop, void *ctx)
{
	struct sim_worker *w = ctx;
	if (w->lfd >= 0)
		ev_fd_set(loop, w->lfd, w->listen_events, sim_accept, w);
}

void sim_accept(struct ev_loop *loop, int lfd, uint32_t events, void *ctx)
{
	(void)lfd;
	(void)events;
	struct sim_worker *w = ctx;
	struct sim_server *srv = w->srv;
	/* With several workers, take one connection per wake-up: the listener is level-triggered, so
	 * connections left in the backlog wake this or another idle worker (EV_EXCLUSIVE skips busy
	 * ones) instead of all of a burst landing on the first worker woken. */
	bool one_per_wake = srv->n_workers > 1;
	for (;;) {
		int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: stop polling the (level-triggered) listener for a while
				 * instead of spinning on it */
				ev_fd_del(loop, w->lfd);
				ev_timer_at(loop, clock_mono_ns() + 100000000LL, sim_relisten, w);
				if (!w->warned_emfile) {
					w->warned_emfile = true;
					fprintf(stderr, "sim-server: accept: %s; pausing accepts (raise ulimit -n)\n",
					        strerror(errno));
				}
			}
			return; /* EAGAIN, ... */
		}
		if (srv->cfg->refuse_connections) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
		struct sim_conn *c = xcalloc(1, sizeof *c);
		c->fd = fd;
		c->w = w;
		buf_init(&c->in);
		buf_init(&c->out);
		list_push_tail(&w->conns, &c->node);
		if (ev_fd_set(loop, fd, EV_READ, sim_conn_on_fd, c) < 0)
			sim_conn_close(c);
		if (one_per_wake)
			return;
	}
}
