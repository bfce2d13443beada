/* The scrape thread against a local HTTP endpoint on 127.0.0.1: baseline, periodic and final
 * scrapes, stop; a refused endpoint: failures counted, the caller never blocked for long. Labelled
 * tsan (the thread hands its results over only through pthread_join). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "observe/observe_internal.h"

struct stub {
	int lfd, port;
	const char *body; /* NULL: page */
	size_t body_len;
	atomic_int served;
	atomic_bool stop;
	pthread_t th;
};

static const char page[] = "# TYPE vllm:num_requests_waiting gauge\n"
                           "vllm:num_requests_waiting{model_name=\"m\"} 3\n"
                           "# TYPE vllm:generation_tokens_total counter\n"
                           "vllm:generation_tokens_total{model_name=\"m\"} 10\n";

static void *stub_main(void *arg)
{
	struct stub *st = arg;
	while (!atomic_load(&st->stop)) {
		int fd = accept(st->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		char req[2048];
		size_t n = 0;
		while (n < sizeof req - 1) {
			ssize_t r = read(fd, req + n, sizeof req - 1 - n);
			if (r <= 0)
				break;
			n += (size_t)r;
			req[n] = 0;
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		/* counted before the answer goes out: a scraper that has its answer sees the count (counting
		 * after close() let the test read a count one short, fail, and leave this thread running on
		 * the failed test's stack) */
		atomic_fetch_add(&st->served, 1);
		const char *body = st->body ? st->body : page;
		size_t body_len = st->body ? st->body_len : sizeof page - 1;
		char head[256];
		int hl = snprintf(
		    head, sizeof head,
		    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		    body_len);
		/* (the client may close early: no SIGPIPE) */
		if (send(fd, head, (size_t)hl, MSG_NOSIGNAL) == hl) {
			for (size_t off = 0; off < body_len;) {
				ssize_t w = send(fd, body + off, body_len - off, MSG_NOSIGNAL);
				if (w <= 0)
					break;
				off += (size_t)w;
			}
		}
		close(fd);
	}
	return NULL;
}

static void stub_start_body(struct stub *st, const char *body, size_t body_len)
{
	memset(st, 0, sizeof *st);
	st->body = body;
	st->body_len = body_len;
	st->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(st->lfd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(st->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(st->lfd, 16), 0);
	socklen_t al = sizeof a;
	getsockname(st->lfd, (struct sockaddr *)&a, &al);
	st->port = ntohs(a.sin_port);
	/* accept() wakes up now and then to see the stop flag */
	struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
	setsockopt(st->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	assert_int_equal(pthread_create(&st->th, NULL, stub_main, st), 0);
}

static void stub_start(struct stub *st)
{
	stub_start_body(st, NULL, 0);
}

static void stub_stop(struct stub *st)
{
	atomic_store(&st->stop, true);
	pthread_join(st->th, NULL);
	close(st->lfd);
}

static void test_thread_scrapes_and_stops(void **state)
{
	(void)state;
	struct stub st;
	stub_start(&st);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", st.port);
	const char *const pre[] = {"vllm:"};
	struct obs_scraper_opts o = {.url = url, .interval_s = 0.05, .timeout_s = 2, .prefixes = pre, .n_prefixes = 1};
	struct obs_scraper *s = obs_scraper_start(&o);
	assert_non_null(s);
	assert_true(atomic_load(&st.served) >= 1); /* the baseline is taken before start returns */
	/* wait (bounded) until the thread has scraped a few times */
	int64_t deadline = clock_mono_ns() + 20 * 1000000000LL;
	while (atomic_load(&st.served) < 4 && clock_mono_ns() < deadline)
		usleep(10000);
	assert_true(atomic_load(&st.served) >= 4);
	int64_t t0 = clock_mono_ns();
	obs_scraper_stop(s);
	assert_true(clock_mono_ns() - t0 < 3 * 1000000000LL); /* wakes the thread, does not sleep out an interval */
	int served = atomic_load(&st.served);
	assert_int_equal((int)obs_scraper_scrapes_ok(s), served); /* baseline + thread + final, all ingested */
	assert_int_equal((int)obs_scraper_scrapes_failed(s), 0);
	assert_int_equal(s->gauges[1].n, (size_t)served); /* waiting: one value per scrape */
	assert_true(s->gauges[1].max == 3);
	obs_scraper_stop(s); /* idempotent */
	obs_scraper_free(s);
	assert_int_equal(atomic_load(&st.served), served); /* nothing after stop */
	stub_stop(&st);
}

static void test_thread_refused_endpoint(void **state)
{
	(void)state;
	/* a port nobody listens on: bind one, take its number, close it */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t al = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", ntohs(a.sin_port));
	struct obs_scraper_opts o = {.url = url, .interval_s = 0.05, .timeout_s = 0.5};
	int64_t t0 = clock_mono_ns();
	struct obs_scraper *s = obs_scraper_start(&o);
	assert_true(clock_mono_ns() - t0 < 2 * 1000000000LL);
	/* wait (bounded) until the thread has failed too, not only the baseline */
	int64_t deadline = clock_mono_ns() + 20 * 1000000000LL;
	while (obs_scraper_scrapes_failed(s) < 2 && clock_mono_ns() < deadline)
		usleep(10000);
	obs_scraper_stop(s);
	assert_int_equal((int)obs_scraper_scrapes_ok(s), 0);
	assert_true(obs_scraper_scrapes_failed(s) >= 2);
	obs_scraper_free(s);
}

/* A page past the 4 MiB cap is not read at all: cut at the cap it would have parsed as a whole page,
 * its last number cut short (a different number) and every series after the cut missing. */
static void test_thread_page_too_large(void **state)
{
	(void)state;
	struct buf big;
	buf_init(&big);
	buf_puts(&big, "# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total 1000\n");
	for (int i = 0; big.len <= ((size_t)4 << 20) + 4096; i++)
		buf_printf(&big, "vllm:x{i=\"%d\"} 123456789\n", i);
	struct stub st;
	stub_start_body(&st, big.data, big.len);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", st.port);
	const char *const pre[] = {"vllm:"};
	/* an interval longer than the test: the baseline and the final scrape only */
	struct obs_scraper_opts o = {.url = url, .interval_s = 3600, .timeout_s = 5, .prefixes = pre, .n_prefixes = 1};
	struct obs_scraper *s = obs_scraper_start(&o);
	obs_scraper_stop(s);
	assert_int_equal((int)obs_scraper_scrapes_ok(s), 0);
	assert_int_equal((int)obs_scraper_scrapes_failed(s), 2);
	assert_non_null(strstr(s->first_error, "larger than 4 MiB"));
	assert_int_equal((int)s->n_series, 0);
	obs_scraper_free(s);
	stub_stop(&st);
	buf_free(&big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_thread_scrapes_and_stops),
	    cmocka_unit_test(test_thread_refused_endpoint),
	    cmocka_unit_test(test_thread_page_too_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
