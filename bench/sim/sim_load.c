/* sim_load: a small epoll load driver for `veeksha sim-server` benches (the scripts in bench/sim).
 * N keep-alive connections to 127.0.0.1:PORT, each sending R streaming chat requests one after
 * another (connection i starts i*stagger_us later); counts SSE data events (= tokens when
 * --tokens-per-chunk is 1 and usage is off) and prints throughput. Self-contained, no project libs.
 *
 *   sim_load PORT CONNS REQS_PER_CONN MAX_TOKENS [STAGGER_US]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct lconn {
	int fd;
	int left;  /* requests still to send */
	int state; /* matcher state for "data: " */
	int after; /* 1: next byte follows "data: " */
	long long events, done;
	int started;
	int expect_head; /* first bytes of a response not yet checked */
};

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static char req[1024];
static int req_len;

static void send_req(struct lconn *c)
{
	int off = 0;
	while (off < req_len) {
		ssize_t n = send(c->fd, req + off, (size_t)(req_len - off), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			perror("send");
			exit(1);
		}
		off += (int)n;
	}
	c->left--;
	c->expect_head = 1;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: sim_load PORT CONNS REQS_PER_CONN MAX_TOKENS [STAGGER_US]\n");
		return 2;
	}
	int port = atoi(argv[1]), nconn = atoi(argv[2]), reqs = atoi(argv[3]), maxt = atoi(argv[4]);
	long long stagger_ns = argc > 5 ? atoll(argv[5]) * 1000LL : 0;
	char body[256];
	int bl =
	    snprintf(body, sizeof body,
	             "{\"messages\":[{\"role\":\"user\",\"content\":\"bench\"}],\"stream\":true,\"ignore_eos\":true,"
	             "\"max_tokens\":%d}",
	             maxt);
	req_len = snprintf(req, sizeof req,
	                   "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
	                   "Accept: text/event-stream\r\nContent-Length: %d\r\n\r\n%s",
	                   bl, body);
	struct lconn *cs = calloc((size_t)nconn, sizeof *cs);
	int ep = epoll_create1(0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	long long t0 = now_ns();
	int active = 0, next_start = 0;
	static char buf[1 << 18];
	struct epoll_event evs[512];
	long long total_events = 0, total_done = 0, first_ns = 0;
	for (;;) {
		long long now = now_ns();
		while (next_start < nconn && now >= t0 + next_start * stagger_ns) {
			struct lconn *c = &cs[next_start];
			c->fd = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0) {
				perror("connect");
				return 1;
			}
			int one = 1;
			setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
			fcntl(c->fd, F_SETFL, O_NONBLOCK);
			c->left = reqs;
			c->started = 1;
			send_req(c);
			struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
			epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
			active++;
			next_start++;
		}
		if (!active && next_start >= nconn)
			break;
		int timeout = next_start < nconn ? 1 : 1000;
		int n = epoll_wait(ep, evs, 512, timeout);
		for (int i = 0; i < n; i++) {
			struct lconn *c = evs[i].data.ptr;
			for (;;) {
				ssize_t r = recv(c->fd, buf, sizeof buf, 0);
				if (r < 0 && errno == EINTR)
					continue;
				if (r < 0)
					break;
				if (r == 0) {
					fprintf(stderr, "connection closed by server\n");
					return 1;
				}
				if (!first_ns)
					first_ns = now_ns();
				if (c->expect_head) {
					/* the tail of the previous response (chunk terminator) may come first */
					const char *h = memmem(buf, (size_t)r, "HTTP/1.1 ", 9);
					if (h && (size_t)(buf + r - h) >= 12) {
						c->expect_head = 0;
						if (memcmp(h, "HTTP/1.1 200", 12) != 0) {
							fprintf(stderr, "unexpected response: %.*s\n",
							        (int)(buf + r - h > 300 ? 300 : buf + r - h), h);
							return 1;
						}
					} else if (r > 64) {
						fprintf(stderr, "no HTTP status line: %.*s\n", (int)(r > 300 ? 300 : r),
						        buf);
						return 1;
					}
				}
				static const char pat[] = "data: ";
				for (ssize_t k = 0; k < r; k++) {
					char ch = buf[k];
					if (c->after) {
						c->after = 0;
						if (ch == '[') {
							c->done++;
							total_done++;
							if (c->left > 0) {
								send_req(c);
							} else {
								epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
								close(c->fd);
								active--;
								break;
							}
						} else {
							c->events++;
							total_events++;
						}
					}
					if (ch == pat[c->state]) {
						if (++c->state == 6) {
							c->state = 0;
							c->after = 1;
						}
					} else {
						c->state = ch == 'd' ? 1 : 0;
					}
				}
				if (c->left <= 0 && c->done >= reqs)
					break;
			}
		}
	}
	long long t1 = now_ns();
	double secs = (double)(t1 - t0) / 1e9;
	printf(
	    "conns=%d reqs_per_conn=%d max_tokens=%d requests=%lld token_events=%lld wall_s=%.3f tokens_per_s=%.0f\n",
	    nconn, reqs, maxt, total_done, total_events, secs, (double)total_events / secs);
	return total_events == (long long)nconn * reqs * maxt ? 0 : 1;
}
