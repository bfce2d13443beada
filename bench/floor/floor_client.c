/* floor_client: the least work a streaming client can do per chunk on this machine, as a baseline
 * for the token-ingest and fidelity scenarios (bench/bench.py, "floor"). It is not Veeksha's client.
 *
 * N keep-alive connections to the sim server on 127.0.0.1:PORT, each sending R streaming chat
 * requests one after another, all started at once. Per readiness event it does what any client
 * that stamps chunks must do at least, exactly as veeksha does it: one level-triggered epoll
 * event, one recvmsg() with the kernel's receive timestamp (SO_TIMESTAMPNS), and a byte scan that
 * counts SSE "data: " events. No HTTP parsing beyond that, no JSON, no bookkeeping: what is left is
 * the kernel's share (TCP receive, the ACK each read sends, epoll) plus a few ns per byte.
 *
 *   floor_client PORT CONNS REQS_PER_CONN MAX_TOKENS [CHUNK_LOG]
 *
 * With CHUNK_LOG, every request carries an X-Request-Id and, after the run, one JSON line per
 * request is written there in the format of veeksha's VEEKSHA_CHUNK_LOG ({"request_id": N,
 * "chunk_ns": [...]}, CLOCK_MONOTONIC ns: each event gets the kernel stamp of the read that
 * completed its "data: " prefix), so that bench.py joins it with the sim's emit log exactly as it
 * does veeksha's: the timing fidelity the least possible client reaches on this machine.
 *
 * Prints one JSON line: chunks (SSE events), reads, CPU (user+sys, getrusage) from the first
 * request sent to the last response read, CPU per chunk and per read, the loop's busy fraction
 * (time outside epoll_wait), and how long read bytes had waited in their socket (read time minus
 * kernel stamp, p50/p99): the same read-lag figure veeksha writes to client_usage.json. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct fconn {
	int fd;
	int left;          /* requests still to send */
	int match;         /* bytes of "data: " matched so far */
	int after;         /* 1: the next byte follows "data: " */
	int done;          /* responses finished */
	long long *stamps; /* CHUNK_LOG: chunk stamps, reqs * (max_tokens + 2) per connection */
	int n_stamps[64];  /* per request (REQS_PER_CONN <= 64 with CHUNK_LOG) */
};

static int floor_max_chunks; /* stamps kept per request */

static long long floor_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long floor_real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double floor_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

static char floor_body[256];
static int floor_body_len;
static int floor_with_ids;

/* request number k of connection i has id i * 64 + k */
static void floor_send(struct fconn *c, int conn_index, int reqs)
{
	char req[1024];
	char id[48] = "";
	if (floor_with_ids)
		snprintf(id, sizeof id, "X-Request-Id: %d\r\n", conn_index * 64 + (reqs - c->left));
	int len = snprintf(req, sizeof req,
	                   "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
	                   "application/json\r\nAccept: text/event-stream\r\n%sContent-Length: %d\r\n\r\n%s",
	                   id, floor_body_len, floor_body);
	int off = 0;
	while (off < len) {
		ssize_t n = send(c->fd, req + off, (size_t)(len - off), MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			perror("floor_client: send");
			exit(1);
		}
		off += (int)n;
	}
	c->left--;
}

static int floor_cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: floor_client PORT CONNS REQS_PER_CONN MAX_TOKENS [CHUNK_LOG]\n");
		return 2;
	}
	int port = atoi(argv[1]), nconn = atoi(argv[2]), reqs = atoi(argv[3]), max_tokens = atoi(argv[4]);
	if (port <= 0 || nconn <= 0 || reqs <= 0 || max_tokens <= 0) {
		fprintf(stderr, "floor_client: PORT, CONNS, REQS_PER_CONN and MAX_TOKENS must be > 0\n");
		return 2;
	}
	const char *log_path = argc == 6 ? argv[5] : NULL;
	if (log_path && reqs > 64) {
		fprintf(stderr, "floor_client: at most 64 requests per connection with CHUNK_LOG\n");
		return 2;
	}
	floor_with_ids = log_path != NULL;
	floor_max_chunks = max_tokens + 2;
	floor_body_len = snprintf(floor_body, sizeof floor_body,
	                          "{\"model\":\"sim-model\",\"messages\":[{\"role\":\"user\",\"content\":\"floor\"}],"
	                          "\"stream\":true,\"ignore_eos\":true,\"max_tokens\":%d}",
	                          max_tokens);
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max; /* one descriptor per connection, as veeksha does */
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	struct fconn *cs = calloc((size_t)nconn, sizeof *cs);
	size_t lag_cap = (size_t)nconn * (size_t)reqs * (size_t)(max_tokens + 4);
	long long *lag = malloc(lag_cap * sizeof *lag);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (!cs || !lag || ep < 0) {
		perror("floor_client");
		return 1;
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	for (int i = 0; i < nconn; i++) {
		struct fconn *c = &cs[i];
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0) {
			perror("floor_client: connect");
			return 1;
		}
		int one = 1;
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
		fcntl(c->fd, F_SETFL, O_NONBLOCK);
		c->left = reqs;
		if (log_path && !(c->stamps = malloc((size_t)reqs * (size_t)floor_max_chunks * sizeof *c->stamps))) {
			perror("floor_client");
			return 1;
		}
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	}
	double cpu0 = floor_cpu_s();
	long long t0 = floor_mono_ns();
	for (int i = 0; i < nconn; i++)
		floor_send(&cs[i], i, reqs);
	static char buf[4096]; /* veeksha's receive buffer size from 1,024 streams on */
	struct epoll_event evs[64];
	long long chunks = 0, reads = 0, waited_ns = 0;
	size_t n_lag = 0;
	int active = nconn;
	while (active > 0) {
		long long w0 = floor_mono_ns();
		int n = epoll_wait(ep, evs, 64, 10000);
		waited_ns += floor_mono_ns() - w0;
		if (n == 0) {
			fprintf(stderr, "floor_client: no data for 10 s (%d connections still active)\n", active);
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct fconn *c = evs[i].data.ptr;
			if (c->fd < 0)
				continue;
			struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
			union {
				char b[CMSG_SPACE(sizeof(struct timespec))];
				struct cmsghdr align;
			} ctl;
			struct msghdr m = {
			    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof ctl.b};
			ssize_t r = recvmsg(c->fd, &m, 0);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				fprintf(stderr, "floor_client: connection closed by the server\n");
				return 1;
			}
			reads++;
			struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
			long long stamp_mono_ns = 0;
			if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS && n_lag < lag_cap) {
				struct timespec ts;
				memcpy(&ts, CMSG_DATA(cm), sizeof ts);
				long long real = floor_real_ns();
				long long kernel_real = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
				lag[n_lag++] = real - kernel_real;
				if (log_path)
					stamp_mono_ns = kernel_real - (real - floor_mono_ns());
			}
			static const char pat[] = "data: ";
			for (ssize_t k = 0; k < r; k++) {
				char ch = buf[k];
				if (c->after) {
					c->after = 0;
					if (ch != '[') {
						chunks++;
						int q = c->done; /* the request this event belongs to */
						if (c->stamps && q < reqs && c->n_stamps[q] < floor_max_chunks)
							c->stamps[(size_t)q * (size_t)floor_max_chunks +
							          (size_t)c->n_stamps[q]++] = stamp_mono_ns;
					} else if (++c->done, c->left > 0) {
						floor_send(c, (int)(c - cs), reqs);
					} else {
						epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
						close(c->fd);
						c->fd = -1;
						active--;
						break;
					}
				}
				if (ch == pat[c->match]) {
					if (++c->match == 6) {
						c->match = 0;
						c->after = 1;
					}
				} else {
					c->match = ch == 'd' ? 1 : 0;
				}
			}
		}
	}
	long long wall_ns = floor_mono_ns() - t0;
	double cpu = floor_cpu_s() - cpu0;
	qsort(lag, n_lag, sizeof *lag, floor_cmp);
	double p50 = n_lag ? (double)lag[n_lag / 2] / 1e3 : 0, p99 = n_lag ? (double)lag[n_lag * 99 / 100] / 1e3 : 0;
	printf(
	    "{\"conns\": %d, \"requests\": %lld, \"chunks\": %lld, \"reads\": %lld, \"wall_s\": %.3f, \"cpu_s\": %.3f, "
	    "\"cpu_us_per_chunk\": %.3f, \"cpu_us_per_read\": %.3f, \"busy_fraction\": %.3f, \"read_lag_us_p50\": "
	    "%.1f, "
	    "\"read_lag_us_p99\": %.1f}\n",
	    nconn, (long long)nconn * reqs, chunks, reads, (double)wall_ns / 1e9, cpu,
	    chunks ? cpu * 1e6 / (double)chunks : 0, reads ? cpu * 1e6 / (double)reads : 0,
	    wall_ns ? 1.0 - (double)waited_ns / (double)wall_ns : 0, p50, p99);
	if (log_path) {
		FILE *f = fopen(log_path, "w");
		if (!f) {
			perror(log_path);
			return 1;
		}
		for (int i = 0; i < nconn; i++)
			for (int k = 0; k < reqs; k++) {
				fprintf(f, "{\"request_id\": %d, \"chunk_ns\": [", i * 64 + k);
				for (int j = 0; j < cs[i].n_stamps[k]; j++)
					fprintf(f, j ? ", %lld" : "%lld",
					        cs[i].stamps[(size_t)k * (size_t)floor_max_chunks + (size_t)j]);
				fprintf(f, "]}\n");
			}
		fclose(f);
	}
	for (int i = 0; i < nconn; i++)
		free(cs[i].stamps);
	free(lag);
	free(cs);
	return chunks == (long long)nconn * reqs * max_tokens ? 0 : 1;
}
