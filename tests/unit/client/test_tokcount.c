/* Token counting through a server's /tokenize (client_tokcount.c) against the in-test server
 * (httpd.c scenarios tok, tok_nocount, http404, http500, slow): the per-chunk split, the probe, the
 * counting thread's queue, failures, cancellation, and the client's use of it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "client/client_tokcount.h"
#include "core/clock.h"
#include "httpd.h"

#define MS 1000000LL
#define NJ 40

static struct {
	struct httpd *srv;
	struct ev_loop *loop;
	struct cfg_client cfg;
	char base[160];
	char url[200];
	/* job results */
	int delivered[NJ];
	int order[NJ];
	int n_delivered;
	int64_t counts[NJ][4];
	size_t n_counts[NJ];
	bool failed[NJ];
	char why[NJ][200];
	/* client test */
	struct client *cl;
	struct wl_request reqs[4];
	struct rec_record recs[4];
	int n_done;
} T;

static int slot(void *owner)
{
	return (int)((intptr_t)owner - 1);
}

static void on_counts(void *ctx, void *owner, const int64_t *counts, size_t n, const char *why)
{
	(void)ctx;
	int i = slot(owner);
	assert_true(i >= 0 && i < NJ);
	T.delivered[i]++;
	T.order[T.n_delivered++] = i;
	T.n_counts[i] = n;
	T.failed[i] = counts == NULL;
	snprintf(T.why[i], sizeof T.why[i], "%s", why ? why : "");
	for (size_t k = 0; counts && k < n && k < 4; k++)
		T.counts[i][k] = counts[k];
}

static void set_base(const char *path)
{
	snprintf(T.base, sizeof T.base, "http://127.0.0.1:%d/%s", httpd_port(T.srv), path);
	T.cfg.api_base = T.base;
}

static int setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof T);
	unsetenv("OPENAI_API_KEY");
	unsetenv("OPENAI_API_BASE");
	T.srv = httpd_start();
	assert_non_null(T.srv);
	T.loop = ev_loop_create();
	T.cfg.type = CFG_CLIENT_CHAT;
	T.cfg.model = "test-model";
	T.cfg.address_append_value = "chat/completions";
	T.cfg.request_timeout = 5;
	T.cfg.additional_sampling_params = "{}";
	T.cfg.max_tokens_param = "max_completion_tokens";
	T.cfg.completions_max_tokens_param = "max_tokens";
	T.cfg.verify_tls = true;
	T.cfg.stream = true;
	T.cfg.include_usage = true;
	client_global_init();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (T.cl)
		client_free(T.cl);
	ev_loop_free(T.loop);
	httpd_stop(T.srv);
	for (int i = 0; i < 4; i++)
		rec_free(&T.recs[i]);
	return 0;
}

static void run_until(int *counter, int n, int64_t bound_ns)
{
	int64_t end = clock_mono_ns() + bound_ns;
	while (*counter < n && clock_mono_ns() < end)
		assert_int_equal(ev_run_once(T.loop, 20 * MS), 0);
	assert_int_equal(*counter, n);
}

/* ---- split ---- */

static void test_split(void **state)
{
	(void)state;
	int32_t out[8];
	uint32_t w1[] = {1, 1};
	client_tokcount_split(w1, 2, 11, out);
	assert_int_equal(out[0] + out[1], 11);
	assert_int_equal(out[0], 5);
	assert_int_equal(out[1], 6);
	/* proportional to the weights, at least 1 each, exact sum */
	uint32_t w2[] = {0, 10, 30, 0, 60};
	client_tokcount_split(w2, 5, 105, out);
	int64_t sum = 0;
	for (int i = 0; i < 5; i++) {
		assert_true(out[i] >= 1);
		sum += out[i];
	}
	assert_int_equal(sum, 105);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[3], 1);
	assert_int_equal(out[1], 11);
	assert_int_equal(out[2], 31);
	assert_int_equal(out[4], 61);
	/* fewer tokens than chunks: 1 each */
	uint32_t w3[] = {5, 5, 5};
	client_tokcount_split(w3, 3, 2, out);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 1);
	assert_int_equal(out[2], 1);
	/* all-zero weights: even */
	uint32_t w4[] = {0, 0, 0, 0};
	client_tokcount_split(w4, 4, 12, out);
	for (int i = 0; i < 4; i++)
		assert_int_equal(out[i], 3);
	/* large values do not overflow */
	uint32_t w5[] = {UINT32_MAX, UINT32_MAX};
	client_tokcount_split(w5, 2, 2000000000LL, out);
	assert_int_equal((int64_t)out[0] + out[1], 2000000000LL);
}

/* ---- probe ---- */

static void test_probe(void **state)
{
	(void)state;
	char err[512] = "";
	char want[200];
	/* no trailing /v1: {api_base}/tokenize */
	set_base("tok");
	char *url = client_tokcount_probe(&T.cfg, NULL, err, sizeof err);
	snprintf(want, sizeof want, "%s/tokenize", T.base);
	assert_non_null(url);
	assert_string_equal(url, want);
	free(url);
	struct httpd_req rq;
	assert_int_equal(httpd_request(T.srv, 0, &rq), 0);
	assert_non_null(strstr(rq.body, "\"model\":\"test-model\""));
	assert_non_null(strstr(rq.body, "\"add_special_tokens\":false"));
	assert_non_null(strstr(rq.headers, "Content-Type: application/json"));
	/* /v1 stripped first; then {api_base}/tokenize after a 404 */
	set_base("http404/v1/");
	err[0] = '\0';
	url = client_tokcount_probe(&T.cfg, NULL, err, sizeof err);
	assert_null(url);
	snprintf(want, sizeof want, "POST http://127.0.0.1:%d/http404/tokenize: HTTP 404", httpd_port(T.srv));
	assert_non_null(strstr(err, want));
	snprintf(want, sizeof want, "POST http://127.0.0.1:%d/http404/v1/tokenize: HTTP 404", httpd_port(T.srv));
	assert_non_null(strstr(err, want));
	/* an answer without "count" */
	set_base("tok_nocount/v1");
	url = client_tokcount_probe(&T.cfg, NULL, err, sizeof err);
	assert_null(url);
	assert_non_null(strstr(err, "count"));
	/* a 500 at the root is not retried under /v1 */
	size_t before = httpd_n_requests(T.srv);
	set_base("http500/v1");
	url = client_tokcount_probe(&T.cfg, NULL, err, sizeof err);
	assert_null(url);
	assert_int_equal(httpd_n_requests(T.srv), before + 1);
	/* nothing listening */
	T.cfg.api_base = "http://127.0.0.1:1/v1";
	url = client_tokcount_probe(&T.cfg, NULL, err, sizeof err);
	assert_null(url);
	assert_true(strlen(err) > 0);
}

/* ---- the counting thread ---- */

static struct client_tokcount *make_tc(const char *scenario)
{
	snprintf(T.url, sizeof T.url, "http://127.0.0.1:%d/%s/tokenize", httpd_port(T.srv), scenario);
	char err[256] = "";
	struct client_tokcount *tc = client_tokcount_create(T.url, &T.cfg, T.loop, on_counts, NULL, err, sizeof err);
	assert_non_null(tc);
	return tc;
}

static void test_jobs_in_order(void **state)
{
	(void)state;
	struct client_tokcount *tc = make_tc("tok");
	static const char *texts[] = {"a", "hello world", "", "the same text again"};
	for (int i = 0; i < 20; i++) {
		struct client_tokcount_job *job = client_tokcount_job_new((void *)(intptr_t)(i + 1));
		client_tokcount_job_add(job, texts[i % 4], strlen(texts[i % 4]));
		client_tokcount_job_add(job, texts[(i + 1) % 4], strlen(texts[(i + 1) % 4]));
		client_tokcount_job_add(job, NULL, 0);
		client_tokcount_submit(tc, job);
	}
	assert_int_equal(client_tokcount_pending(tc), 20);
	assert_int_equal(T.n_delivered, 0); /* only ever delivered from the loop */
	run_until(&T.n_delivered, 20, 10000 * MS);
	assert_int_equal(client_tokcount_pending(tc), 0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(T.order[i], i);
		assert_int_equal(T.delivered[i], 1);
		assert_false(T.failed[i]);
		assert_int_equal(T.n_counts[i], 3);
		assert_int_equal(T.counts[i][0], (int64_t)strlen(texts[i % 4]));
		assert_int_equal(T.counts[i][1], (int64_t)strlen(texts[(i + 1) % 4]));
		assert_int_equal(T.counts[i][2], 0);
	}
	/* 3 distinct non-empty texts: each sent once, the rest answered from the cache */
	assert_int_equal(client_tokcount_calls(tc), 3);
	assert_int_equal(client_tokcount_cache_hits(tc), 30 - 3);
	assert_int_equal(httpd_n_connections(T.srv), 1); /* keep-alive */
	client_tokcount_free(tc);
}

static void test_failures_and_breaker(void **state)
{
	(void)state;
	struct client_tokcount *tc = make_tc("http500");
	for (int i = 0; i < 5; i++) {
		struct client_tokcount_job *job = client_tokcount_job_new((void *)(intptr_t)(i + 1));
		client_tokcount_job_add(job, "some text", 9);
		client_tokcount_submit(tc, job);
	}
	run_until(&T.n_delivered, 5, 10000 * MS);
	for (int i = 0; i < 5; i++) {
		assert_true(T.failed[i]);
		assert_int_equal(T.delivered[i], 1);
	}
	assert_non_null(strstr(T.why[0], "HTTP 500"));
	/* after 3 consecutive failures the server is not asked any more */
	assert_non_null(strstr(T.why[3], "stopped after 3 consecutive failures"));
	assert_int_equal(client_tokcount_calls(tc), 3);
	client_tokcount_free(tc);
}

static void test_cancel_and_free_bounded(void **state)
{
	(void)state;
	struct client_tokcount *tc = make_tc("slow");
	for (int i = 0; i < 3; i++) {
		struct client_tokcount_job *job = client_tokcount_job_new((void *)(intptr_t)(i + 1));
		client_tokcount_job_add(job, "never answered", 14);
		client_tokcount_submit(tc, job);
	}
	/* let the thread start the first call */
	int64_t end = clock_mono_ns() + 2000 * MS;
	while (httpd_n_requests(T.srv) < 1 && clock_mono_ns() < end)
		ev_run_once(T.loop, 10 * MS);
	assert_int_equal(httpd_n_requests(T.srv), 1);
	client_tokcount_cancel_all(tc);
	assert_int_equal(T.n_delivered, 3);
	assert_int_equal(client_tokcount_pending(tc), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(T.order[i], i);
		assert_true(T.failed[i]);
		assert_string_equal(T.why[i], "cancelled");
	}
	/* a new job after the cancellation still works its way through the queue; free aborts the
	 * call in progress without waiting for its 10 s timeout */
	struct client_tokcount_job *job = client_tokcount_job_new((void *)(intptr_t)4);
	client_tokcount_job_add(job, "x", 1);
	client_tokcount_submit(tc, job);
	int64_t t0 = clock_mono_ns();
	client_tokcount_free(tc);
	assert_true(clock_mono_ns() - t0 < 3000 * MS);
	assert_int_equal(T.n_delivered, 4);
	assert_string_equal(T.why[3], "cancelled");
}

/* ---- the client with server counting ---- */

static void on_done(void *ctx, struct rec_record *rec, const struct wl_request *req)
{
	(void)ctx;
	(void)rec;
	(void)req;
	T.n_done++;
}

static void make_client(const char *scenario, const char *count_scenario)
{
	set_base(scenario);
	char err[256] = "";
	T.cl = client_create(&T.cfg, T.loop, tok_approx(), on_done, NULL, NULL, err, sizeof err);
	assert_non_null(T.cl);
	snprintf(T.url, sizeof T.url, "http://127.0.0.1:%d/%s/tokenize", httpd_port(T.srv), count_scenario);
	assert_int_equal(client_use_server_count(T.cl, T.url, err, sizeof err), 0);
	for (int i = 0; i < 4; i++) {
		rec_init(&T.recs[i]);
		T.reqs[i].id = 10 + (uint64_t)i;
		T.reqs[i].prompt_text = "say hello to the world"; /* 22 bytes, 5 words */
		T.reqs[i].target_output_tokens = 2;
		T.reqs[i].history_parent = -1;
	}
}

static void test_client_counts_with_server(void **state)
{
	(void)state;
	/* no usage in the stream: output counted by the server too */
	T.cfg.include_usage = false;
	make_client("sse_nousage", "tok");
	struct wl_message hist[2] = {{"user", "one two"}, {"assistant", "three"}};
	T.reqs[0].history = hist;
	T.reqs[0].n_history = 2;
	assert_int_equal(client_submit(T.cl, &T.reqs[0], &T.recs[0]), 0);
	run_until(&T.n_done, 1, 5000 * MS);
	struct rec_record *r = &T.recs[0];
	assert_true(r->success);
	assert_string_equal(r->text, "Hello world");
	assert_false(r->usage_from_server);
	assert_int_equal(r->num_delta_prompt_tokens, 22);
	assert_int_equal(r->num_total_prompt_tokens, 22 + 7 + 5);
	assert_int_equal(r->num_output_tokens, 11);
	/* chunks "Hello" and " world" (1 word each) share the server's 11 */
	assert_int_equal(r->n_chunks, 2);
	assert_int_equal(r->chunks[0].tokens, 5);
	assert_int_equal(r->chunks[1].tokens, 6);
	assert_int_equal(client_in_flight(T.cl), 0);
	uint64_t n, failed, cancelled;
	client_server_count_stats(T.cl, &n, &failed, &cancelled);
	assert_int_equal(n, 1);
	assert_int_equal(failed, 0);
}

static void test_client_usage_wins(void **state)
{
	(void)state;
	/* usage in the stream (3 tokens): output is the server's usage, chunks share it; only the
	 * prompt goes to /tokenize */
	make_client("sse", "tok");
	assert_int_equal(client_submit(T.cl, &T.reqs[0], &T.recs[0]), 0);
	run_until(&T.n_done, 1, 5000 * MS);
	struct rec_record *r = &T.recs[0];
	assert_true(r->success);
	assert_true(r->usage_from_server);
	assert_int_equal(r->num_output_tokens, 3);
	assert_int_equal(r->num_delta_prompt_tokens, 22);
	assert_int_equal(r->chunks[0].tokens + r->chunks[1].tokens, 3);
	assert_true(r->chunks[0].tokens >= 1 && r->chunks[1].tokens >= 1);
	size_t n_tok = 0;
	for (size_t i = 0; i < httpd_n_requests(T.srv); i++) {
		struct httpd_req rq;
		assert_int_equal(httpd_request(T.srv, i, &rq), 0);
		if (strstr(rq.path, "/tokenize")) {
			n_tok++;
			assert_non_null(strstr(rq.body, "\"prompt\":\"say hello to the world\""));
		}
	}
	assert_int_equal(n_tok, 1);
}

/* Reasoning models through /tokenize ("count" = bytes here): without usage, the reasoning and the
 * answer text are counted separately; with usage but no reasoning_tokens, the two texts are still
 * sent for the split while the total stays the server's usage. */
static void test_client_counts_reasoning_with_server(void **state)
{
	(void)state;
	T.cfg.include_usage = false;
	make_client("sse_reason_nousage", "tok");
	assert_int_equal(client_submit(T.cl, &T.reqs[0], &T.recs[0]), 0);
	run_until(&T.n_done, 1, 5000 * MS);
	struct rec_record *r = &T.recs[0];
	assert_true(r->success);
	assert_false(r->usage_from_server);
	assert_int_equal(r->num_reasoning_tokens, 13); /* "one two three" */
	assert_int_equal(r->num_answer_tokens, 15);    /* "Hi there friend" */
	assert_int_equal(r->num_output_tokens, 28);
}

static void test_client_reasoning_split_without_details(void **state)
{
	(void)state;
	T.cfg.stream = false;
	make_client("json_reason", "tok");
	assert_int_equal(client_submit(T.cl, &T.reqs[0], &T.recs[0]), 0);
	run_until(&T.n_done, 1, 5000 * MS);
	struct rec_record *r = &T.recs[0];
	assert_true(r->success);
	assert_true(r->usage_from_server);
	assert_int_equal(r->num_output_tokens, 4);    /* usage */
	assert_int_equal(r->num_reasoning_tokens, 5); /* "x y z" */
	assert_int_equal(r->num_answer_tokens, 2);    /* "ok" */
}

static void test_client_count_failure_falls_back(void **state)
{
	(void)state;
	T.cfg.include_usage = false;
	make_client("sse_nousage", "http500");
	assert_int_equal(client_submit(T.cl, &T.reqs[0], &T.recs[0]), 0);
	assert_int_equal(client_submit(T.cl, &T.reqs[1], &T.recs[1]), 0);
	run_until(&T.n_done, 2, 5000 * MS);
	for (int i = 0; i < 2; i++) {
		struct rec_record *r = &T.recs[i];
		assert_true(r->success); /* the record is not lost: counted with the approximation */
		assert_int_equal(r->num_delta_prompt_tokens, 5);
		assert_int_equal(r->num_output_tokens, 2);
		assert_int_equal(r->chunks[0].tokens, 1);
	}
	uint64_t n, failed, cancelled;
	client_server_count_stats(T.cl, &n, &failed, &cancelled);
	assert_int_equal(n, 2);
	assert_int_equal(failed, 2);
	assert_int_equal(cancelled, 0);
}

static void test_client_cancel_while_counting(void **state)
{
	(void)state;
	T.cfg.include_usage = false;
	make_client("sse_nousage", "slow");
	assert_int_equal(client_submit(T.cl, &T.reqs[0], &T.recs[0]), 0);
	assert_int_equal(client_submit(T.cl, &T.reqs[1], &T.recs[1]), 0);
	/* both transfers finish; their counts never come */
	int64_t end = clock_mono_ns() + 5000 * MS;
	int tok_seen = 0;
	while (clock_mono_ns() < end && !tok_seen) {
		ev_run_once(T.loop, 10 * MS);
		for (size_t i = 0; i < httpd_n_requests(T.srv); i++) {
			struct httpd_req rq;
			if (httpd_request(T.srv, i, &rq) == 0 && strstr(rq.path, "/slow/tokenize"))
				tok_seen = 1;
		}
	}
	assert_true(tok_seen);
	end = clock_mono_ns() + 2000 * MS;
	while (clock_mono_ns() < end && !(T.recs[0].completed_ns && T.recs[1].completed_ns))
		ev_run_once(T.loop, 10 * MS);
	assert_true(T.recs[0].completed_ns && T.recs[1].completed_ns);
	for (int i = 0; i < 10; i++) /* the hand-over to counting runs from a zero timer */
		ev_run_once(T.loop, 0);
	assert_int_equal(T.n_done, 0);
	assert_int_equal(client_in_flight(T.cl), 2);
	client_cancel_all(T.cl, "stop");
	assert_int_equal(T.n_done, 2);
	assert_int_equal(client_in_flight(T.cl), 0);
	for (int i = 0; i < 2; i++) {
		assert_true(T.recs[i].success); /* the transfer had finished: its result stands */
		assert_int_equal(T.recs[i].num_output_tokens, 2);
	}
	uint64_t n, failed, cancelled;
	client_server_count_stats(T.cl, &n, &failed, &cancelled);
	assert_int_equal(cancelled, 2);
	assert_int_equal(failed, 0);
	int64_t t0 = clock_mono_ns();
	client_free(T.cl);
	T.cl = NULL;
	assert_true(clock_mono_ns() - t0 < 3000 * MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split),
	    cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_jobs_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failures_and_breaker, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_and_free_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_counts_with_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_usage_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_counts_reasoning_with_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_reasoning_split_without_details, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_count_failure_falls_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_cancel_while_counting, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
