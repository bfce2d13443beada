/* SSE parser: edge cases and every split point of a sample stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "client/sse.h"

#define MAX_EV 32

struct rec {
	int n;
	char data[MAX_EV][128];
	size_t len[MAX_EV];
	char type[MAX_EV][SSE_EVENT_TYPE_MAX];
	int stop_at; /* stop (return 7) when this many events were seen; 0 = never */
};

static int on_event(void *ctx, const struct sse_event *ev)
{
	struct rec *r = ctx;
	assert_true(r->n < MAX_EV);
	assert_true(ev->data_len < sizeof r->data[0]);
	assert_int_equal(strlen(ev->data), ev->data_len); /* NUL-terminated, no embedded NUL here */
	memcpy(r->data[r->n], ev->data, ev->data_len + 1);
	r->len[r->n] = ev->data_len;
	snprintf(r->type[r->n], sizeof r->type[0], "%s", ev->type);
	r->n++;
	if (r->stop_at && r->n == r->stop_at)
		return 7;
	return 0;
}

static const char SAMPLE[] = ": keep-alive\r\n"
                             "data: {\"a\":1}\n\n"
                             "data:{\"b\":2}\r\n\r\n"
                             "event: message\rdata: line1\rdata: line2\r\r"
                             "id: 7\nretry: 100\ndata\n\n"
                             "data: x\n"
                             "\n"
                             ": comment only\n\n"
                             "\r\n"
                             "data:  two spaces\r\n"
                             "unknown: field\r\n\r\n"
                             "data: [DONE]\n\n";

static const char *const WANT[] = {"{\"a\":1}", "{\"b\":2}", "line1\nline2", "", "x", " two spaces", "[DONE]"};
static const char *const WANT_TYPE[] = {"", "", "message", "", "", "", ""};
#define N_WANT 7

static void check_sample(const struct rec *r)
{
	assert_int_equal(r->n, N_WANT);
	for (int i = 0; i < N_WANT; i++) {
		assert_string_equal(r->data[i], WANT[i]);
		assert_int_equal(r->len[i], strlen(WANT[i]));
		assert_string_equal(r->type[i], WANT_TYPE[i]);
	}
}

static void feed_split(struct sse_parser *p, const char *s, size_t n, size_t a, size_t b)
{
	assert_int_equal(sse_feed(p, s, a), 0);
	assert_int_equal(sse_feed(p, s + a, b - a), 0);
	assert_int_equal(sse_feed(p, s + b, n - b), 0);
	assert_int_equal(sse_finish(p), 0);
}

static void test_whole(void **state)
{
	(void)state;
	struct rec r = {0};
	struct sse_parser p;
	sse_init(&p, on_event, &r);
	assert_int_equal(sse_feed(&p, SAMPLE, strlen(SAMPLE)), 0);
	assert_int_equal(sse_finish(&p), 0);
	check_sample(&r);
	assert_int_equal(p.n_events, N_WANT);
	sse_free(&p);
}

static void test_every_split_pair(void **state)
{
	(void)state;
	size_t n = strlen(SAMPLE);
	struct sse_parser p;
	static struct rec r;
	sse_init(&p, on_event, &r);
	for (size_t a = 0; a <= n; a++) {
		for (size_t b = a; b <= n; b++) {
			memset(&r, 0, sizeof r);
			sse_reset(&p);
			feed_split(&p, SAMPLE, n, a, b);
			check_sample(&r);
		}
	}
	sse_free(&p);
}

static void test_byte_by_byte(void **state)
{
	(void)state;
	struct rec r = {0};
	struct sse_parser p;
	sse_init(&p, on_event, &r);
	for (size_t i = 0; SAMPLE[i]; i++)
		assert_int_equal(sse_feed(&p, SAMPLE + i, 1), 0);
	assert_int_equal(sse_feed(&p, "", 0), 0);
	assert_int_equal(sse_finish(&p), 0);
	check_sample(&r);
	sse_free(&p);
}

/* Once buffers are warm, parsing the same stream again does not reallocate. */
static void test_no_realloc_when_warm(void **state)
{
	(void)state;
	struct rec r = {0};
	struct sse_parser p;
	sse_init(&p, on_event, &r);
	for (size_t i = 0; SAMPLE[i]; i++)
		sse_feed(&p, SAMPLE + i, 1);
	sse_finish(&p);
	char *d = p.data.data, *l = p.line.data;
	size_t dc = p.data.cap, lc = p.line.cap;
	for (int round = 0; round < 3; round++) {
		memset(&r, 0, sizeof r);
		sse_reset(&p);
		for (size_t i = 0; SAMPLE[i]; i++)
			sse_feed(&p, SAMPLE + i, 1);
		sse_finish(&p);
		check_sample(&r);
	}
	assert_ptr_equal(p.data.data, d);
	assert_ptr_equal(p.line.data, l);
	assert_int_equal(p.data.cap, dc);
	assert_int_equal(p.line.cap, lc);
	sse_free(&p);
}

static void test_finish_semantics(void **state)
{
	(void)state;
	struct rec r = {0};
	struct sse_parser p;
	sse_init(&p, on_event, &r);
	/* stream closed right after a data line without the blank line */
	assert_int_equal(sse_feed(&p, "data: [DONE]\n", 13), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(sse_finish(&p), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.data[0], "[DONE]");
	/* partial last line */
	memset(&r, 0, sizeof r);
	sse_reset(&p);
	assert_int_equal(sse_feed(&p, "data: tail", 10), 0);
	assert_int_equal(sse_finish(&p), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.data[0], "tail");
	/* nothing pending: no event */
	memset(&r, 0, sizeof r);
	sse_reset(&p);
	assert_int_equal(sse_feed(&p, ": ping\n\nevent: x\n\n", 18), 0);
	assert_int_equal(sse_finish(&p), 0);
	assert_int_equal(r.n, 0);
	/* event type does not leak into the next event */
	memset(&r, 0, sizeof r);
	sse_reset(&p);
	const char *s = "event: a\n\ndata: 1\n\n";
	assert_int_equal(sse_feed(&p, s, strlen(s)), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.type[0], "");
	sse_free(&p);
}

static void test_stop_and_overflow(void **state)
{
	(void)state;
	struct rec r = {0};
	r.stop_at = 2;
	struct sse_parser p;
	sse_init(&p, on_event, &r);
	assert_int_equal(sse_feed(&p, SAMPLE, strlen(SAMPLE)), 7);
	assert_int_equal(r.n, 2);
	assert_int_equal(sse_feed(&p, "data: more\n\n", 12), 7); /* ignored after stop */
	assert_int_equal(sse_finish(&p), 7);
	assert_int_equal(r.n, 2);
	/* overflow: a line longer than the limit */
	memset(&r, 0, sizeof r);
	sse_reset(&p);
	p.max_event_bytes = 16;
	assert_int_equal(sse_feed(&p, "data: 0123456789", 16), 0);
	assert_int_equal(sse_feed(&p, "abcdef", 6), -1);
	assert_int_equal(sse_feed(&p, "\n\n", 2), -1);
	assert_int_equal(r.n, 0);
	/* overflow: an event assembled from many short data lines */
	sse_reset(&p);
	p.max_event_bytes = 16;
	assert_int_equal(sse_feed(&p, "data: 12345\ndata: 12345\ndata: 12345\n\n", 38), -1);
	assert_int_equal(r.n, 0);
	sse_free(&p);
}

static void test_crlf_split_exactly(void **state)
{
	(void)state;
	struct rec r = {0};
	struct sse_parser p;
	sse_init(&p, on_event, &r);
	/* "\r" | "\n" across feeds is one line end; "\r" | "\r" are two */
	assert_int_equal(sse_feed(&p, "data: a\r", 8), 0);
	assert_int_equal(sse_feed(&p, "\ndata: b\r", 9), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(sse_feed(&p, "\r", 1), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.data[0], "a\nb");
	sse_free(&p);
}

/* A leading UTF-8 byte order mark is skipped at every split; a partial one is data. */
static void test_bom(void **state)
{
	(void)state;
	static char with_bom[sizeof SAMPLE + 3];
	memcpy(with_bom, "\xEF\xBB\xBF", 3);
	memcpy(with_bom + 3, SAMPLE, sizeof SAMPLE);
	size_t n = strlen(with_bom);
	struct sse_parser p;
	static struct rec r;
	sse_init(&p, on_event, &r);
	for (size_t a = 0; a <= 8; a++) {
		for (size_t b = a; b <= 8; b++) {
			memset(&r, 0, sizeof r);
			sse_reset(&p);
			feed_split(&p, with_bom, n, a, b);
			check_sample(&r);
		}
	}
	/* a BOM in the middle of the stream is not skipped: that line is an unknown field */
	memset(&r, 0, sizeof r);
	sse_reset(&p);
	const char *mid = "data: 1\n\n\xEF\xBB\xBF"
	                  "data: 2\n\n";
	assert_int_equal(sse_feed(&p, mid, strlen(mid)), 0);
	assert_int_equal(r.n, 1);
	/* a partial mark followed by other bytes is kept as line data (field "\xEFdata": ignored) */
	memset(&r, 0, sizeof r);
	sse_reset(&p);
	assert_int_equal(sse_feed(&p, "\xEF", 1), 0);
	const char *rest = "data: x\n\ndata: y\n\n";
	assert_int_equal(sse_feed(&p, rest, strlen(rest)), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.data[0], "y");
	/* stream ending inside a partial mark */
	memset(&r, 0, sizeof r);
	sse_reset(&p);
	assert_int_equal(sse_feed(&p, "\xEF\xBB", 2), 0);
	assert_int_equal(sse_finish(&p), 0);
	assert_int_equal(r.n, 0);
	sse_free(&p);
}

/* llama.cpp sends its streamed errors as an "error:" field: an event of type "error" with that data */
static void test_error_field(void **state)
{
	(void)state;
	static const char S[] = "data: {\"a\":1}\n\nerror: {\"code\":500,\"message\":\"boom\"}\n\nerrors: x\n\n";
	struct rec r = {0};
	struct sse_parser p;
	sse_init(&p, on_event, &r);
	for (size_t i = 0; S[i]; i++)
		assert_int_equal(sse_feed(&p, S + i, 1), 0);
	assert_int_equal(sse_finish(&p), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.type[0], "");
	assert_string_equal(r.data[1], "{\"code\":500,\"message\":\"boom\"}");
	assert_string_equal(r.type[1], "error");
	sse_free(&p);
}

static void test_is_done(void **state)
{
	(void)state;
	assert_true(sse_is_done("[DONE]", 6));
	assert_true(sse_is_done(" [DONE] ", 8));
	assert_false(sse_is_done("[DONE", 5));
	assert_false(sse_is_done("[DONE]x", 7));
	assert_false(sse_is_done("", 0));
	assert_false(sse_is_done("{\"x\":\"[DONE]\"}", 14));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole),
	    cmocka_unit_test(test_every_split_pair),
	    cmocka_unit_test(test_byte_by_byte),
	    cmocka_unit_test(test_no_realloc_when_warm),
	    cmocka_unit_test(test_finish_semantics),
	    cmocka_unit_test(test_stop_and_overflow),
	    cmocka_unit_test(test_crlf_split_exactly),
	    cmocka_unit_test(test_error_field),
	    cmocka_unit_test(test_is_done),
	    cmocka_unit_test(test_bom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
