/* A small synthetic run through the public evaluator API; every file is compared with
 * hand-computed expected text (key order, number formats, layouts). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "core/xalloc.h"
#include "metrics/evaluator.h"
#include "output/plot.h"

#define MS 1000000LL
#define START (10000 * MS)

static char *slurp(const char *dir, const char *name)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	size_t got = fread(s, 1, (size_t)n, f);
	s[got] = '\0';
	fclose(f);
	return s;
}

/* The end-of-run console summary as a string (caller frees). */
static char *summary_text(const struct evaluator *e)
{
	char *out = NULL;
	size_t out_len = 0;
	FILE *f = open_memstream(&out, &out_len);
	assert_non_null(f);
	eval_print_summary(e, f);
	fclose(f);
	return out;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void expect_file(const char *dir, const char *name, const char *want)
{
	char *got = slurp(dir, name);
	if (!got)
		fail_msg("missing %s/%s", dir, name);
	if (strcmp(got, want) != 0) {
		fprintf(stderr, "---- %s: got\n%s\n---- want\n%s\n", name, got, want);
		fail_msg("%s differs", name);
	}
	free(got);
}

static char *mkrun(void)
{
	char tmpl[] = "/tmp/vk_metrics_test_XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void rm_rf(const char *dir)
{
	if (getenv("VK_TEST_KEEP")) {
		fprintf(stderr, "kept %s\n", dir);
		return;
	}
	char cmd[600];
	snprintf(cmd, sizeof cmd, "/bin/rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void add_req(struct evaluator *e, uint64_t id, uint64_t sess, uint32_t node, uint32_t total, uint32_t *parents,
                    size_t n_parents, double wait, int64_t intended_ms, int64_t sent_ms, const int64_t *chunks_ms,
                    size_t n_chunks, int64_t out_tokens, int64_t prompt, int64_t total_prompt, bool ok, int code)
{
	struct wl_request q = {0};
	q.id = id;
	q.session_id = sess;
	q.node_id = node;
	q.prompt_text = "hello world";
	q.target_prompt_tokens = prompt;
	q.target_output_tokens = out_tokens;
	q.wait_after_ready_s = wait;
	q.parent_nodes = parents;
	q.n_parents = n_parents;
	q.history_parent = n_parents ? (int32_t)parents[0] : -1;
	eval_register_request(e, &q, total, START + intended_ms * MS, START + intended_ms * MS);
	struct rec_record r;
	rec_init(&r);
	r.request_id = id;
	r.session_id = sess;
	r.node_id = node;
	r.session_total_requests = total;
	r.intended_ns = START + intended_ms * MS;
	r.dispatched_ns = START + intended_ms * MS;
	r.sent_ns = START + sent_ms * MS;
	r.headers_ns = START + (sent_ms + 10) * MS;
	for (size_t i = 0; i < n_chunks; i++)
		rec_add_chunk(&r, START + chunks_ms[i] * MS, 1);
	r.completed_ns = START + ((n_chunks ? chunks_ms[n_chunks - 1] : sent_ms) + 10) * MS;
	r.processed_ns = r.completed_ns + 10 * MS;
	r.num_delta_prompt_tokens = prompt;
	r.num_total_prompt_tokens = total_prompt;
	r.target_prompt_tokens = prompt;
	r.num_output_tokens = out_tokens;
	r.requested_output_tokens = out_tokens;
	r.is_stream = true;
	r.success = ok;
	if (!ok)
		rec_set_error(&r, REC_ERR_HTTP, code, "HTTP %d", code);
	eval_record_completed(e, &r, true);
	rec_free(&r);
}

static struct cfg_slo slos[2] = {
    {.percentile = 0.99, .name = "P99 TTFC", .metric = CFG_SLO_TTFC, .value = 0.5},
    {.percentile = 0.9, .name = "P90 TBC", .metric = CFG_SLO_TBC, .value = 0.15},
};

static void base_cfg(struct cfg_benchmark *cfg, struct cfg_evaluator *ev)
{
	memset(cfg, 0, sizeof *cfg);
	memset(ev, 0, sizeof *ev);
	ev->type = CFG_EVAL_PERFORMANCE;
	ev->slos = slos;
	ev->n_slos = 2;
	ev->stream_metrics = false;
	ev->stream_metrics_interval = 5.0;
	cfg->evaluators = ev;
	cfg->n_evaluators = 1;
	cfg->trace_recorder.enabled = true;
	cfg->trace_recorder.include_content = true;
	cfg->traffic_scheduler.type = CFG_TRAFFIC_RATE;
	cfg->traffic_scheduler.interval_generator.type = CFG_INTERVAL_POISSON;
	cfg->traffic_scheduler.interval_generator.arrival_rate = 4.0;
}

static void test_small_run_files(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	char *dir = mkrun();
	struct evaluator *e = eval_create(&cfg, dir, START, "test-tok");
	assert_non_null(e);
	/* session 0: R0 (ict 0.05, 0.1, 0.1; 3 tokens), R1 after R0 + 0.5 s think time */
	int64_t c0[] = {160, 260, 360};
	add_req(e, 0, 0, 0, 2, NULL, 0, 0, 100, 110, c0, 3, 3, 10, 10, true, 0);
	uint32_t par[] = {0};
	int64_t c1[] = {960, 1060};
	add_req(e, 1, 0, 1, 2, par, 1, 0.5, 870, 880, c1, 2, 2, 12, 25, true, 0);
	/* session 1: one request failing with HTTP 500 */
	add_req(e, 2, 1, 0, 1, NULL, 0, 0, 350, 360, NULL, 0, 0, 8, 8, false, 500);
	/* one error in three requests: the error-rate objective (max_error_rate 0.0) fails the verdict,
	 * and the errored request is an infinite TTFC in the P99 (docs/FAILURES.md, The verdict) */
	int slo = eval_finalize(e, START + 2000 * MS);
	assert_int_equal(slo, 0);

	char mdir[512];
	snprintf(mdir, sizeof mdir, "%s/metrics", dir);
	expect_file(
	    mdir, "request_level_metrics.jsonl",
	    "{\"request_id\": 0, \"session_id\": 0, \"session_total_requests\": 2, \"scheduler_ready_at\": 0.1, "
	    "\"scheduler_dispatched_at\": 0.1, \"client_picked_up_at\": 0.11, \"client_completed_at\": 0.37, "
	    "\"result_processed_at\": 0.38, \"num_delta_prompt_tokens\": 10, \"num_total_prompt_tokens\": 10, "
	    "\"target_num_delta_prompt_tokens\": 10, \"num_output_tokens\": 3, \"num_requested_output_tokens\": 3, "
	    "\"num_total_tokens\": 13, \"is_stream\": true, \"tpot\": 0.1, \"ttfc\": 0.05, "
	    "\"end_to_end_latency\": 0.25, \"normalized_end_to_end_latency\": 0.08333, \"output_throughput\": 12.0, "
	    "\"tbc\": [0.1, 0.1], \"dispatch_lateness\": 0.0, \"e2e_from_intended\": 0.26, "
	    "\"time_to_headers\": 0.01, \"itl\": 0.1}\n"
	    "{\"request_id\": 1, \"session_id\": 0, \"session_total_requests\": 2, \"scheduler_ready_at\": 0.87, "
	    "\"scheduler_dispatched_at\": 0.87, \"client_picked_up_at\": 0.88, \"client_completed_at\": 1.07, "
	    "\"result_processed_at\": 1.08, \"num_delta_prompt_tokens\": 12, \"num_total_prompt_tokens\": 25, "
	    "\"target_num_delta_prompt_tokens\": 12, \"num_output_tokens\": 2, \"num_requested_output_tokens\": 2, "
	    "\"num_total_tokens\": 27, \"is_stream\": true, \"tpot\": 0.1, \"ttfc\": 0.08, "
	    "\"end_to_end_latency\": 0.18, \"normalized_end_to_end_latency\": 0.09, \"output_throughput\": 11.11111, "
	    "\"tbc\": [0.1], \"dispatch_lateness\": 0.0, \"e2e_from_intended\": 0.19, "
	    "\"time_to_headers\": 0.01, \"itl\": 0.1}\n"
	    "{\"request_id\": 2, \"session_id\": 1, \"session_total_requests\": 1, \"scheduler_ready_at\": 0.35, "
	    "\"scheduler_dispatched_at\": 0.35, \"client_picked_up_at\": 0.36, \"client_completed_at\": 0.37, "
	    "\"result_processed_at\": 0.38, \"num_delta_prompt_tokens\": 8, \"num_total_prompt_tokens\": 8, "
	    "\"target_num_delta_prompt_tokens\": 8, \"num_output_tokens\": 0, \"num_requested_output_tokens\": 0, "
	    "\"num_total_tokens\": 8, \"is_stream\": true, \"success\": false, \"error_class\": \"http\", "
	    "\"error_code\": 500, \"error_msg\": \"HTTP 500\"}\n");

	char *sum = slurp(mdir, "summary_stats.json");
	assert_non_null(sum);
	const char *head = "{\n"
	                   "  \"Number of Requests\": 3,\n"
	                   "  \"Number of Errored Requests\": 1,\n"
	                   "  \"Number of Completed Requests\": 2,\n"
	                   "  \"Number of Cancelled Requests\": 0,\n"
	                   "  \"Error Rate\": 0.3333333333333333,\n"
	                   "  \"Cancellation Rate\": 0.0,\n"
	                   "  \"Number of Sessions Seen\": 2.0,\n"
	                   "  \"Successful Sessions\": 1.0,\n"
	                   "  \"Errored Sessions\": 1.0,\n"
	                   "  \"Cancelled Sessions\": 0.0,\n"
	                   "  \"Incomplete Sessions\": 0.0,\n"
	                   "  \"Observed Session Dispatch Rate\": 4.0,\n"
	                   "  \"error_code_freq\": {\n"
	                   "    \"500\": 1\n"
	                   "  },\n"
	                   "  \"Number of Post-Timeout Requests\": 0,\n";
	if (strncmp(sum, head, strlen(head)) != 0) {
		fprintf(stderr, "%s\n", sum);
		fail_msg("summary_stats.json head differs");
	}
	assert_non_null(strstr(sum, "\"Goodput Fraction\": 1.0,\n"));
	assert_non_null(strstr(sum, "\"tokenizer\": \"test-tok\",\n"
	                            "  \"error_class_freq\": {\n    \"http\": 1\n  },\n"
	                            "  \"top_errors\": [\n    {\n      \"class\": \"http\",\n      \"code\": 500,\n"
	                            "      \"message\": \"HTTP 500\",\n      \"count\": 1\n    }\n  ],\n"
	                            "  \"run_status\": \"complete\",\n  \"run_status_reason\": \"\",\n"
	                            "  \"client_saturated\": false,\n  \"client_saturation_reason\": \"\"\n}"));
	free(sum);

	expect_file(mdir, "throughput_metrics.json",
	            "{\n  \"tpot_based_throughput\": 10.0,\n  \"tbc_based_throughput\": 10.0\n}");
	expect_file(
	    mdir, "slo_results.json",
	    "{\n  \"all_slos_met\": false,\n  \"verdict_reasons\": [\n"
	    "    \"P99 TTFC inf > 0.5 s (1 errored requests count as infinitely slow)\",\n"
	    "    \"error rate 33.3% > 0.0% (1 of 3 requests failed; top error: http 500 'HTTP 500' x 1)\"\n  ],\n"
	    "  \"results\": [\n    {\n      \"met\": false,\n"
	    "      \"slo_metric_key\": \"ttfc_p99\",\n      \"observed_value\": Infinity,\n"
	    "      \"threshold\": 0.5,\n      \"percentile\": 0.99,\n      \"metric\": \"ttfc\",\n"
	    "      \"name\": \"P99 TTFC\",\n      \"lower_is_better\": true\n    },\n    {\n"
	    "      \"met\": true,\n      \"slo_metric_key\": \"tbc_p90\",\n      \"observed_value\": 0.1,\n"
	    "      \"threshold\": 0.15,\n      \"percentile\": 0.9,\n      \"metric\": \"tbc\",\n"
	    "      \"name\": \"P90 TBC\",\n      \"lower_is_better\": true\n    },\n    {\n"
	    "      \"met\": false,\n      \"slo_metric_key\": \"error_rate\",\n"
	    "      \"observed_value\": 0.3333333333333333,\n      \"threshold\": 0.0,\n      \"percentile\": null,\n"
	    "      \"metric\": \"error_rate\",\n      \"name\": \"Error Rate\",\n      \"lower_is_better\": true\n"
	    "    }\n  ]\n}");

	/* CSV: pandas index column, 101 rows, exact order statistics; ints for token series */
	char *csv = slurp(mdir, "ttfc.csv");
	assert_non_null(csv);
	assert_true(starts_with(csv, ",cdf,Time to First Chunk\n0,0.0,0.05\n1,0.01,0.05\n"));
	assert_non_null(strstr(csv, "\n35,0.35000000000000003,0.05\n"));
	assert_non_null(strstr(csv, "\n100,1.0,0.08\n"));
	free(csv);
	csv = slurp(mdir, "num_output_tokens.csv");
	assert_true(starts_with(csv, ",cdf,Number of Output Tokens\n0,0.0,2\n"));
	free(csv);
	csv = slurp(mdir, "session_think_time.csv");
	assert_non_null(strstr(csv, "\n50,0.5,0.5\n"));
	free(csv);
	csv = slurp(mdir, "session_duration.csv"); /* last completion 1.07 - first dispatch 0.1 */
	assert_non_null(strstr(csv, "\n0,0.0,0.97\n"));
	free(csv);

	/* dispatch trace */
	expect_file(
	    dir, "traces/dispatch_trace.jsonl",
	    "{\"request_id\": 0, \"session_id\": 0, \"session_size\": 2, \"dispatched_at\": 0.1, \"session_context\": "
	    "{\"node_id\": 0, \"wait_after_ready\": 0, \"parent_nodes\": [], \"history_parent\": null}, \"channels\": "
	    "{\"text\": {\"input_text\": \"hello world\", \"target_prompt_tokens\": 10}}, \"history\": []}\n"
	    "{\"request_id\": 1, \"session_id\": 0, \"session_size\": 2, \"dispatched_at\": 0.87, \"session_context\": "
	    "{\"node_id\": 1, \"wait_after_ready\": 0.5, \"parent_nodes\": [0], \"history_parent\": 0}, \"channels\": "
	    "{\"text\": {\"input_text\": \"hello world\", \"target_prompt_tokens\": 12}}, \"history\": []}\n"
	    "{\"request_id\": 2, \"session_id\": 1, \"session_size\": 1, \"dispatched_at\": 0.35, \"session_context\": "
	    "{\"node_id\": 0, \"wait_after_ready\": 0, \"parent_nodes\": [], \"history_parent\": null}, \"channels\": "
	    "{\"text\": {\"input_text\": \"hello world\", \"target_prompt_tokens\": 8}}, \"history\": []}\n");

	/* chrome trace: epoch = min dispatch (0.1); Prefill at pickup, T1.. at each chunk */
	/* tbc.csv: the exact samples are every gap of the streaming rows (0.1, 0.1, 0.1) */
	char *tc = slurp(mdir, "tbc.csv");
	assert_non_null(strstr(tc, ",cdf,Time Between Chunks\n0,0.0,0.1\n"));
	assert_non_null(strstr(tc, "\n100,1.0,0.1\n"));
	free(tc);
	char *ct = slurp(mdir, "chrome_trace.json");
	assert_non_null(ct);
	const char *want_ct =
	    "[{\"name\": \"Prefill\", \"cat\": \"prefill\", \"ph\": \"X\", \"ts\": 9999.999999999995, "
	    "\"dur\": 50000.0, \"pid\": 1, \"tid\": \"R0 / 0 / 10\\u21923\", \"args\": {\"request_id\": 0, "
	    "\"session_id\": 0, \"num_delta_prompt_tokens\": 10, \"num_total_prompt_tokens\": 10, "
	    "\"num_output_tokens\": 3, \"num_total_tokens\": 13, \"ttfc\": 0.05, \"tpot\": 0.1, "
	    "\"end_to_end_latency\": 0.25, \"output_throughput\": 12.0}}, {\"name\": \"T1\", \"cat\": \"decode\", "
	    "\"ph\": \"X\", \"ts\": 59999.99999999999, \"dur\": 100000.0, \"pid\": 1, \"tid\": \"R0 / 0 / "
	    "10\\u21923\", "
	    "\"args\": {\"token_index\": 1, \"tbc_s\": 0.1}}";
	assert_true(strncmp(ct, want_ct, strlen(want_ct)) == 0 || (fprintf(stderr, "%s\n", ct), 0));
	assert_true(ct[strlen(ct) - 1] == ']');
	free(ct);

	/* prefill stats: one group per target length */
	char *pf = slurp(mdir, "prefill_stats.json");
	assert_non_null(pf);
	const char *want_pf =
	    "{\n  \"metric\": \"ttfc\",\n  \"group_by\": \"target_num_delta_prompt_tokens\",\n  \"groups\": {\n"
	    "    \"10\": {\n      \"count\": 1,\n      \"mean\": 0.05,\n      \"median\": 0.05,\n      \"std\": 0.0,\n";
	assert_true(strncmp(pf, want_pf, strlen(want_pf)) == 0 || (fprintf(stderr, "%s\n", pf), 0));
	assert_non_null(strstr(pf, "    \"12\": {\n"));
	free(pf);

	/* health checks: the five sections in order, the reference's text layout */
	char *hc = slurp(dir, "health_check_results.txt");
	assert_non_null(hc);
	const char *h1 =
	    "============================================================\n"
	    "INTRA-SESSION REQUEST ARRIVAL CHECK\n"
	    "============================================================\n"
	    "Result: PASSED\n"
	    "\n"
	    "Description:\n"
	    "  Metric                         Scheduler delay (actual_dispatch - ready_time)\n"
	    "  Ready Time                     Parent requests completion + wait_after_ready (if available)\n"
	    "\n"
	    "Deviation Statistics (seconds):\n"
	    "  Requests w/ Dependencies       1\n"
	    "  Min                            0.0000s\n";
	assert_true(strncmp(hc, h1, strlen(h1)) == 0 || (fprintf(stderr, "%s\n", hc), 0));
	const char *order[] = {"SESSION DISPATCH RATE CHECK", "PROMPT LENGTH CHECK", "OUTPUT LENGTH CHECK",
	                       "LIFECYCLE TIMING DELAYS CHECK"};
	const char *p = hc;
	for (size_t i = 0; i < 4; i++) {
		p = strstr(p, order[i]);
		assert_non_null(p);
	}
	assert_non_null(strstr(hc, "  Late Threshold                 5.0s (dispatched >5.0s after ready)\n"
	                           "  Violations                     0\n\n\n"));
	assert_non_null(strstr(hc, "  Exact Matches                  2 (100.0%)\n"));
	assert_non_null(strstr(hc, "  Expected Rate                  4.0000 sessions/sec\n"));
	free(hc);

	/* plots: real PNGs with gnuplot, none (but .dat/.gp kept) without it */
	if (getenv("VK_TEST_PLOTS")) {
		plot_wait_all(); /* (gnuplot renders in the background) */
		char *png = slurp(mdir, "ttfc.png"), *gp = slurp(mdir, "plots_src/ttfc.gp");
		assert_non_null(gp);
		assert_non_null(strstr(gp, "set terminal pngcairo"));
		if (plot_available()) {
			assert_non_null(png);
			char p2[600];
			snprintf(p2, sizeof p2, "%s/ttfc.png", mdir);
			FILE *f = fopen(p2, "rb");
			fseek(f, 0, SEEK_END);
			assert_true(ftell(f) > 5000);
			fclose(f);
			char *box = slurp(mdir, "ttfc_violin_plot.png");
			assert_non_null(box);
			free(box);
		} else {
			assert_null(png);
		}
		free(png);
		free(gp);
	}

	eval_free(e);
	rm_rf(dir);
	free(dir);
}

/* The reference's decode-window example: two requests whose decode phases overlap on [0.15, 0.3]
 * -> one window, 3 TBC samples, mean 0.1. */
static void test_decode_window(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	ev.n_slos = 0;
	ev.decode_window_enabled = true;
	ev.has_decode_window_config = true;
	ev.decode_window_config.min_active_max_observed = true;
	ev.decode_window_config.selection_strategy = CFG_WINDOW_LONGEST;
	ev.decode_window_config.anchor_to_client_pickup = true;
	ev.decode_window_config.require_streaming = true;
	char *dir = mkrun();
	struct evaluator *e = eval_create(&cfg, dir, START, NULL);
	int64_t a[] = {100, 200, 300}; /* decode [0.1, 0.3], arrivals 0.2, 0.3 */
	int64_t b[] = {150, 250, 350}; /* decode [0.15, 0.35], arrivals 0.25, 0.35 */
	add_req(e, 0, 0, 0, 1, NULL, 0, 0, 0, 0, a, 3, 3, 10, 10, true, 0);
	add_req(e, 1, 1, 0, 1, NULL, 0, 0, 0, 0, b, 3, 3, 10, 10, true, 0);
	assert_int_equal(eval_finalize(e, START + 1000 * MS), 1);
	char mdir[512];
	snprintf(mdir, sizeof mdir, "%s/metrics", dir);
	char *s = slurp(mdir, "decode_window_metrics.json");
	assert_non_null(s);
	assert_non_null(strstr(s, "\"resolved_min_active_requests\": 2,"));
	assert_non_null(strstr(s, "\"num_selected_segments\": 1,"));
	/* 0.0 + 0.1 + 0.1 + 0.1 in binary floating point, exactly as Python sums it */
	assert_non_null(strstr(s, "\"start\": 0.15,\n        \"end\": 0.30000000000000004,"));
	assert_non_null(strstr(s, "\"tbc_count\": 3,\n        \"tbc_mean\": 0.10000000000000002,"));
	assert_non_null(strstr(s, "\"window\": {\n    \"start\": 0.15,\n    \"end\": 0.30000000000000004,"));
	/* no latency SLOs: slo_results.json still holds the error-rate objective (met: no errors) */
	free(s);
	s = slurp(mdir, "slo_results.json");
	assert_non_null(s);
	assert_non_null(strstr(s, "\"all_slos_met\": true,\n  \"verdict_reasons\": [],\n"));
	assert_non_null(strstr(s, "\"slo_metric_key\": \"error_rate\",\n      \"observed_value\": 0.0,"));
	free(s);
	eval_free(e);
	rm_rf(dir);
	free(dir);
}

/* SLO miss, no data -> Infinity, post-timeout and cancelled accounting. */
static void test_slo_infinity_and_counters(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	struct cfg_slo s2[2] = {
	    {.percentile = 0.5, .name = "P50 TTFC", .metric = CFG_SLO_TTFC, .value = 0.01},
	    {.percentile = 0.5, .name = NULL, .metric = CFG_SLO_E2E, .value = 1.0},
	};
	ev.slos = s2;
	cfg.trace_recorder.enabled = false;
	char *dir = mkrun();
	struct evaluator *e = eval_create(&cfg, dir, START, NULL);
	int64_t a[] = {100, 200};
	add_req(e, 0, 0, 0, 3, NULL, 0, 0, 0, 0, a, 2, 2, 10, 10, true, 0);
	/* request 1 of the session: dispatched after the timeout -> excluded */
	struct rec_record r;
	rec_init(&r);
	r.request_id = 1;
	r.session_id = 0;
	r.success = true;
	r.is_stream = true;
	eval_record_completed(e, &r, false);
	rec_free(&r);
	eval_session_cancelled(e, 0, 1);
	assert_int_equal(eval_finalize(e, START + 1000 * MS), 0);
	char mdir[512];
	snprintf(mdir, sizeof mdir, "%s/metrics", dir);
	char *s = slurp(mdir, "slo_results.json");
	assert_non_null(strstr(s, "\"all_slos_met\": false"));
	assert_non_null(strstr(s, "\"slo_metric_key\": \"ttfc_p50\",\n      \"observed_value\": 0.1,"));
	assert_non_null(strstr(s, "\"slo_metric_key\": \"e2e_p50\""));
	assert_non_null(strstr(s, "\"name\": null"));
	free(s);
	s = slurp(mdir, "summary_stats.json");
	assert_non_null(strstr(s, "\"Number of Requests\": 1,"));
	assert_non_null(strstr(s, "\"Number of Cancelled Requests\": 1,"));
	assert_non_null(strstr(s, "\"Cancellation Rate\": 0.5,"));
	assert_non_null(strstr(s, "\"Cancelled Sessions\": 1.0,"));
	assert_non_null(strstr(s, "\"Number of Post-Timeout Requests\": 1,"));
	assert_non_null(strstr(s, "\"Goodput Fraction\": 0.0,"));
	free(s);
	assert_null(slurp(dir, "traces/dispatch_trace.jsonl"));
	eval_free(e);
	rm_rf(dir);
	free(dir);

	/* no data at all: observed Infinity, empty health check file */
	dir = mkrun();
	e = eval_create(&cfg, dir, START, NULL);
	assert_int_equal(eval_finalize(e, START + 1000 * MS), 0);
	snprintf(mdir, sizeof mdir, "%s/metrics", dir);
	s = slurp(mdir, "slo_results.json");
	assert_non_null(strstr(s, "\"observed_value\": Infinity,"));
	free(s);
	expect_file(dir, "health_check_results.txt", "");
	expect_file(mdir, "chrome_trace.json", "[]");
	expect_file(mdir, "throughput_metrics.json",
	            "{\n  \"tpot_based_throughput\": 0.0,\n  \"tbc_based_throughput\": 0.0\n}");
	assert_null(slurp(mdir, "prefill_stats.json"));
	eval_free(e);
	rm_rf(dir);
	free(dir);
}

/* One successful streamed request with 4 one-token chunks at sent + 100, 110, 120, 130 ms; the first
 * n_reasoning are reasoning chunks (the answer never starts when n_reasoning == 4). */
static void add_reasoning_req(struct evaluator *e, uint64_t id, int n_reasoning)
{
	struct wl_request q = {0};
	q.id = id;
	q.session_id = id;
	q.prompt_text = "hi";
	q.history_parent = -1;
	int64_t sent = START + (int64_t)id * 1000 * MS;
	eval_register_request(e, &q, 1, sent, sent);
	struct rec_record r;
	rec_init(&r);
	r.request_id = id;
	r.session_id = id;
	r.session_total_requests = 1;
	r.intended_ns = r.dispatched_ns = r.sent_ns = sent;
	for (int i = 0; i < 4; i++)
		rec_add_chunk(&r, sent + (100 + 10 * i) * MS, 1);
	if (n_reasoning > 0) {
		r.first_reasoning_ns = r.chunks[0].t_ns;
		r.last_reasoning_ns = r.chunks[n_reasoning - 1].t_ns;
	}
	r.first_answer_ns = n_reasoning < 4 ? r.chunks[n_reasoning].t_ns : 0;
	r.num_output_tokens = 4;
	r.num_reasoning_tokens = n_reasoning;
	r.num_answer_tokens = 4 - n_reasoning;
	r.completed_ns = sent + 140 * MS;
	r.processed_ns = r.completed_ns + MS;
	r.is_stream = true;
	r.success = true;
	eval_record_completed(e, &r, true);
	rec_free(&r);
}

/* Reasoning models (docs/METRICS.md, Reasoning models; docs/OUTPUTS.md): the four keys end the rows
 * of requests with reasoning only, the summary keys, CSVs and console rows exist, a ttfo SLO counts
 * an answer that never started as +inf; a run without reasoning has none of it. */
static void test_reasoning_outputs(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	struct cfg_slo s3[2] = {
	    {.percentile = 0.5, .name = "P50 TTFO", .metric = CFG_SLO_TTFO, .value = 0.125},
	    {.percentile = 1.0, .name = "max TTFO", .metric = CFG_SLO_TTFO, .value = 10.0},
	};
	ev.slos = s3;
	cfg.trace_recorder.enabled = false;
	char *dir = mkrun();
	struct evaluator *e = eval_create(&cfg, dir, START, NULL);
	add_reasoning_req(e, 0, 2); /* TTFO 0.12, reasoning 0.01 s */
	add_reasoning_req(e, 1, 0); /* no reasoning: TTFO = TTFC = 0.1 */
	add_reasoning_req(e, 2, 4); /* thinking only: no TTFO */
	assert_int_equal(eval_finalize(e, START + 5000 * MS), 0);
	char mdir[512];
	snprintf(mdir, sizeof mdir, "%s/metrics", dir);
	char *s = slurp(mdir, "request_level_metrics.jsonl");
	char *l1 = strchr(s, '\n') + 1, *l2 = strchr(l1, '\n') + 1;
	assert_non_null(strstr(s, "\"itl\": 0.01, \"ttfo\": 0.12, \"reasoning_duration\": 0.01, "
	                          "\"num_reasoning_tokens\": 2, \"num_answer_tokens\": 2}\n"));
	assert_true(starts_with(strstr(l1, "\"itl\""), "\"itl\": 0.01}\n")); /* as before */
	assert_true(starts_with(strstr(l2, "\"itl\""), "\"itl\": 0.01, \"ttfo\": null, \"reasoning_duration\": 0.03, "
	                                               "\"num_reasoning_tokens\": 4, \"num_answer_tokens\": 0}\n"));
	free(s);
	s = slurp(mdir, "summary_stats.json");
	char *k = strstr(s, "\"run_status_reason\"");
	assert_non_null(k);
	assert_non_null(
	    strstr(k, "\"Number of Requests with Reasoning\": 2,\n  \"Time to First Output Token (Mean)\": "));
	assert_non_null(strstr(k, "\"Reasoning Duration (P99)\""));
	assert_non_null(strstr(k, "\"Number of Answer Tokens (P99)\""));
	free(s);
	s = slurp(mdir, "ttfo.csv");
	assert_non_null(s);
	assert_non_null(strstr(s, "0,0.0,0.1\n")); /* two samples: 0.1 (no reasoning) and 0.12 */
	assert_non_null(strstr(s, "100,1.0,0.12\n"));
	free(s);
	s = slurp(mdir, "num_reasoning_tokens.csv");
	assert_non_null(strstr(s, "100,1.0,4\n"));
	free(s);
	s = slurp(mdir, "slo_results.json");
	/* P50 over {0.1, 0.12, inf} = 0.12 (met); max = inf (missed) */
	assert_non_null(strstr(s, "\"slo_metric_key\": \"ttfo_p50\",\n      \"observed_value\": 0.12,"));
	assert_non_null(strstr(s, "\"slo_metric_key\": \"ttfo_p100\",\n      \"observed_value\": Infinity,"));
	free(s);
	s = summary_text(e);
	assert_non_null(strstr(s, "TTFO (first answer)"));
	assert_non_null(strstr(s, "Reasoning duration"));
	free(s);
	eval_free(e);
	rm_rf(dir);
	free(dir);

	/* no reasoning in the run: no reasoning keys, files or console rows */
	dir = mkrun();
	e = eval_create(&cfg, dir, START, NULL);
	add_reasoning_req(e, 0, 0);
	eval_finalize(e, START + 5000 * MS);
	snprintf(mdir, sizeof mdir, "%s/metrics", dir);
	s = slurp(mdir, "summary_stats.json");
	assert_null(strstr(s, "Reasoning"));
	assert_null(strstr(s, "First Output"));
	free(s);
	assert_null(slurp(mdir, "ttfo.csv"));
	assert_null(slurp(mdir, "num_answer_tokens.csv"));
	s = summary_text(e);
	assert_null(strstr(s, "TTFO (first answer)")); /* (the SLO lines name TTFO) */
	free(s);
	eval_free(e);
	rm_rf(dir);
	free(dir);
}

/* stream_metrics: summary + CSVs (no index column, live sketch) rewritten every interval */
static void test_stream_metrics_and_summary_table(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	ev.stream_metrics = true;
	ev.stream_metrics_interval = 1.0;
	char *dir = mkrun();
	struct evaluator *e = eval_create(&cfg, dir, START, NULL);
	char mdir[512];
	snprintf(mdir, sizeof mdir, "%s/metrics", dir);
	int64_t a[] = {100, 200};
	add_req(e, 0, 0, 0, 1, NULL, 0, 0, 0, 0, a, 2, 2, 10, 10, true, 0);
	/* rows are written in batches: the row is on disk once eval_tick ran (the runner calls it every
	 * EVAL_JSONL_FLUSH_NS) */
	eval_tick(e, START + 500 * MS);
	char *s = slurp(mdir, "request_level_metrics.jsonl");
	assert_non_null(s);
	assert_non_null(strstr(s, "\"request_id\": 0,"));
	free(s);
	assert_null(slurp(mdir, "summary_stats.json"));
	eval_tick(e, START + 1500 * MS);
	s = slurp(mdir, "summary_stats.json");
	assert_non_null(s);
	assert_non_null(strstr(s, "\"Number of Completed Requests\": 1,"));
	assert_non_null(strstr(s, "\"run_status\": \"running\",")); /* not final yet */
	free(s);
	s = slurp(mdir, "ttfc.csv");
	assert_non_null(s);
	assert_true(starts_with(s, "cdf,Time to First Chunk\n0.0,"));
	free(s);
	struct eval_live live;
	eval_live_stats(e, &live);
	assert_int_equal(live.completed, 1);
	assert_int_equal(live.requests, 1);
	assert_true(fabs(live.ttfc_p50_s - 0.1) <= 0.1 * 0.001 + 1e-12);
	assert_int_equal(eval_finalize(e, START + 2000 * MS), 1);
	s = slurp(mdir, "ttfc.csv");
	assert_true(starts_with(s, ",cdf,Time to First Chunk\n0,0.0,0.1\n"));
	free(s);
	char *out = summary_text(e);
	assert_non_null(strstr(out, "Latency (ms)"));
	assert_non_null(strstr(out, "TTFC"));
	assert_non_null(strstr(out, "100.00")); /* TTFC 0.1 s in ms */
	assert_non_null(strstr(out, "All SLOs met: yes"));
	free(out);
	eval_free(e);
	rm_rf(dir);
	free(dir);
}

/* Session Concurrency Check (concurrent scheduler): overlap above the target fails. */
static void add_err(struct evaluator *e, uint64_t id, enum rec_error kind, int code, const char *msg)
{
	struct wl_request q = {0};
	q.id = id;
	q.session_id = id;
	q.prompt_text = "x";
	q.history_parent = -1;
	eval_register_request(e, &q, 1, START + 10 * MS, START + 10 * MS);
	struct rec_record r;
	rec_init(&r);
	r.request_id = id;
	r.session_id = id;
	r.session_total_requests = 1;
	r.sent_ns = START + 11 * MS;
	r.completed_ns = START + 12 * MS;
	r.is_stream = true;
	r.success = false;
	r.error_kind = kind;
	r.error_code = code;
	snprintf(r.error_msg, sizeof r.error_msg, "%s", msg);
	eval_record_completed(e, &r, true);
	rec_free(&r);
}

/* The error table: top 5 by count (ties in first-seen order), bounded at 64 distinct messages, a
 * failed record without a class counted as "client"; max_error_rate; +inf values in the percentile
 * (an exact rank on a finite value stays finite, docs/METRICS.md). */
static void test_error_table_and_rate(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	struct cfg_slo s1[1] = {{.percentile = 0.5, .name = "P50 TTFC", .metric = CFG_SLO_TTFC, .value = 1.0}};
	ev.slos = s1;
	ev.n_slos = 1;
	ev.max_error_rate = 0.5;
	cfg.trace_recorder.enabled = false;
	char *dir = mkrun();
	struct evaluator *e = eval_create(&cfg, dir, START, NULL);
	int64_t c[] = {150};
	for (uint64_t i = 0; i < 4; i++)
		add_req(e, i, i, 0, 1, NULL, 0, 0, 100, 110, c, 1, 1, 10, 10, true, 0);
	uint64_t id = 100;
	for (int i = 0; i < 70; i++) { /* 70 distinct messages: 64 tracked, 6 beyond the cap */
		char m[32];
		snprintf(m, sizeof m, "err %d", i);
		add_err(e, id++, REC_ERR_HTTP, 500, m);
	}
	for (int i = 0; i < 30; i++)
		add_err(e, id++, REC_ERR_HTTP, 503, "boom");
	add_err(e, id++, REC_OK, 0, "no class");
	assert_int_equal(eval_finalize(e, START + 1000 * MS), 0);
	char mdir[512];
	snprintf(mdir, sizeof mdir, "%s/metrics", dir);
	char *s = slurp(mdir, "summary_stats.json");
	assert_non_null(strstr(s, "\"error_class_freq\": {\n    \"http\": 100,\n    \"client\": 1\n  },"));
	/* boom came after the table was full and still leads with its certain count (30); then the
	 * messages that took over the first slots (err 64.., one each) */
	assert_non_null(
	    strstr(s, "\"top_errors\": [\n    {\n      \"class\": \"http\",\n      \"code\": 503,\n"
	              "      \"message\": \"boom\",\n      \"count\": 30\n    },\n    {\n      \"class\": \"http\",\n"
	              "      \"code\": 500,\n      \"message\": \"err 64\",\n      \"count\": 1\n    },"));
	assert_non_null(strstr(s, "\"message\": \"err 67\",\n      \"count\": 1\n    }\n  ],"));
	free(s);
	s = slurp(mdir, "slo_results.json");
	/* 101 errors of 105: P50 TTFC is inf; the error rate exceeds 0.5 */
	assert_non_null(strstr(s, "\"P50 TTFC inf > 1 s (101 errored requests count as infinitely slow)\""));
	assert_non_null(
	    strstr(s, "\"error rate 96.2% > 50.0% (101 of 105 requests failed; top error: http 503 'boom' x 30)\""));
	assert_non_null(strstr(s, "\"observed_value\": 0.9619047619047619,\n      \"threshold\": 0.5,"));
	free(s);
	/* console: the top 5 and the rest (101 - 34) */
	char *out = summary_text(e);
	assert_non_null(
	    strstr(out, "    Error Rate               observed      96.19 %   threshold      50.00 %   MISSED\n"));
	assert_non_null(strstr(out, "  Top errors (101 errored requests):\n          30 x http 503: boom\n"));
	assert_non_null(strstr(out, "           1 x http 500: err 67\n          67 x other messages\n===="));
	free(out);
	eval_free(e);
	rm_rf(dir);
	free(dir);

	/* 3 successes and 1 error, percentile 2/3: the rank falls exactly on the third value, which is
	 * finite (a plain interpolation would give inf * 0 = NaN); error rate 25% <= 50% */
	dir = mkrun();
	struct cfg_slo s2[1] = {{.percentile = 2.0 / 3.0, .name = "TTFC", .metric = CFG_SLO_TTFC, .value = 1.0}};
	ev.slos = s2;
	e = eval_create(&cfg, dir, START, NULL);
	int64_t c1[] = {150}, c2[] = {160}, c3[] = {170};
	add_req(e, 0, 0, 0, 1, NULL, 0, 0, 100, 110, c1, 1, 1, 10, 10, true, 0);
	add_req(e, 1, 1, 0, 1, NULL, 0, 0, 100, 110, c2, 1, 1, 10, 10, true, 0);
	add_req(e, 2, 2, 0, 1, NULL, 0, 0, 100, 110, c3, 1, 1, 10, 10, true, 0);
	add_err(e, 3, REC_ERR_TIMEOUT, REC_CODE_TIMEOUT, "Request timed out");
	assert_int_equal(eval_finalize(e, START + 1000 * MS), 1);
	snprintf(mdir, sizeof mdir, "%s/metrics", dir);
	s = slurp(mdir, "slo_results.json");
	assert_non_null(strstr(s, "\"all_slos_met\": true,\n  \"verdict_reasons\": [],"));
	assert_non_null(strstr(s, "\"observed_value\": 0.06,"));
	assert_non_null(strstr(s, "\"observed_value\": 0.25,\n      \"threshold\": 0.5,"));
	free(s);
	eval_free(e);
	rm_rf(dir);
	free(dir);
}

/* Every request failed and max_error_rate 1.0 tolerates it, with no latency SLO: the error-rate
 * objective is met, but no answer was measured, so the verdict is not (docs/FAILURES.md). */
static void test_all_failed_tolerated(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	ev.n_slos = 0;
	ev.max_error_rate = 1.0;
	cfg.trace_recorder.enabled = false;
	char *dir = mkrun();
	struct evaluator *e = eval_create(&cfg, dir, START, NULL);
	add_err(e, 0, REC_ERR_HTTP, 500, "internal error");
	add_err(e, 1, REC_ERR_HTTP, 500, "internal error");
	assert_int_equal(eval_finalize(e, START + 1000 * MS), 0);
	char mdir[512];
	snprintf(mdir, sizeof mdir, "%s/metrics", dir);
	char *s = slurp(mdir, "slo_results.json");
	assert_non_null(strstr(s, "\"all_slos_met\": false,\n  \"verdict_reasons\": [\n"
	                          "    \"no request completed (2 of 2 failed): no answer was measured\"\n  ],"));
	assert_non_null(
	    strstr(s, "\"met\": true,\n      \"slo_metric_key\": \"error_rate\",\n      \"observed_value\": 1.0,"));
	free(s);
	eval_free(e);
	rm_rf(dir);
	free(dir);
}

/* A TPOT objective is over answers that measured one: streamed answers of two tokens or more. The
 * TPOT of 0 that a one-token (or non-streamed) answer writes is no measurement, and two of them
 * made a P50 TPOT of 0.1 s met over an answer that took 0.3 s per token (docs/FAILURES.md, The
 * verdict). With no such answer at all the objective is not applicable, as TBC's is. */
static void test_tpot_needs_streamed_tokens(void **state)
{
	(void)state;
	struct cfg_slo tpot_slo = {.percentile = 0.5, .name = "P50 TPOT", .metric = CFG_SLO_TPOT, .value = 0.1};
	for (int with_decode = 0; with_decode <= 1; with_decode++) {
		struct cfg_benchmark cfg;
		struct cfg_evaluator ev;
		base_cfg(&cfg, &ev);
		ev.slos = &tpot_slo;
		ev.n_slos = 1;
		cfg.trace_recorder.enabled = false;
		char *dir = mkrun();
		struct evaluator *e = eval_create(&cfg, dir, START, NULL);
		const int64_t one[] = {100};
		add_req(e, 0, 0, 0, 1, NULL, 0, 0, 0, 0, one, 1, 1, 8, 8, true, 0);
		add_req(e, 1, 1, 0, 1, NULL, 0, 0, 0, 0, one, 1, 1, 8, 8, true, 0);
		if (with_decode) {
			const int64_t three[] = {100, 400, 700}; /* (700 - 100) / 2 = 300 ms per token */
			add_req(e, 2, 2, 0, 1, NULL, 0, 0, 0, 0, three, 3, 3, 8, 8, true, 0);
		}
		assert_int_equal(eval_finalize(e, START + 1000 * MS), with_decode ? 0 : 1);
		char mdir[512];
		snprintf(mdir, sizeof mdir, "%s/metrics", dir);
		char *s = slurp(mdir, "slo_results.json");
		assert_non_null(s);
		char *out = summary_text(e);
		if (with_decode) {
			assert_non_null(strstr(s, "\"all_slos_met\": false,"));
			assert_non_null(strstr(s, "\"P50 TPOT 0.3 s > 0.1 s\""));
			assert_non_null(strstr(out, "  All SLOs met: no\n"));
		} else {
			assert_non_null(strstr(s, "\"all_slos_met\": true,"));
			assert_non_null(
			    strstr(s, "\"slo_metric_key\": \"tpot_p50\",\n      \"observed_value\": null,"));
			assert_non_null(strstr(s, "\"note\": \"not applicable: no request streamed two output tokens"));
			assert_non_null(
			    strstr(out, "n/a     threshold     100.00 ms  MET (no request had two streamed tokens)\n"));
		}
		free(out);
		free(s);
		eval_free(e);
		rm_rf(dir);
		free(dir);
	}
}

/* A server's error message with a CR, an escape sequence and a line feed cannot erase or forge a line
 * of the console summary (a last "All SLOs met: yes" after the real verdict): control bytes become
 * spaces in the error table, the reasons and the console (docs/FAILURES.md). */
static void test_error_message_control_bytes(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	ev.n_slos = 0;
	cfg.trace_recorder.enabled = false;
	char *dir = mkrun();
	struct evaluator *e = eval_create(&cfg, dir, START, NULL);
	add_err(e, 0, REC_ERR_SERVER, 500, "x\r\x1b[2K\n  All SLOs met: yes\x7f");
	add_err(e, 1, REC_ERR_SERVER, 500, "x\r\x1b[2K\n  All SLOs met: yes\x7f");
	assert_int_equal(eval_finalize(e, START + 1000 * MS), 0);
	char *out = summary_text(e);
	assert_null(strstr(out, "\n  All SLOs met: yes")); /* no such line */
	assert_null(strchr(out, '\x1b'));
	assert_null(strchr(out, '\r'));
	assert_non_null(strstr(out, "  All SLOs met: no\n"));
	assert_non_null(strstr(out, "           2 x server_error 500: x  [2K   All SLOs met: yes \n"));
	free(out);
	char mdir[512];
	snprintf(mdir, sizeof mdir, "%s/metrics", dir);
	char *s = slurp(mdir, "summary_stats.json");
	assert_non_null(strstr(s, "\"message\": \"x  [2K   All SLOs met: yes \",\n      \"count\": 2"));
	free(s);
	eval_free(e);
	rm_rf(dir);
	free(dir);
}

/* Only the error-rate objective (slos: []) and no request completed or failed: nothing was
 * measured, so the verdict is not met (docs/FAILURES.md, The verdict) -- with no request at all,
 * and with every request cancelled (the benchmark timeout with post_timeout_grace_seconds 0). */
static void test_error_rate_no_data(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	ev.n_slos = 0;
	cfg.trace_recorder.enabled = false;
	for (int cancelled = 0; cancelled <= 1; cancelled++) {
		char *dir = mkrun();
		struct evaluator *e = eval_create(&cfg, dir, START, NULL);
		if (cancelled)
			for (uint64_t id = 0; id < 2; id++)
				add_err(e, id, REC_ERR_CANCELLED, REC_CODE_CANCELLED, "benchmark timeout");
		assert_int_equal(eval_finalize(e, START + 1000 * MS), 0);
		char mdir[512];
		snprintf(mdir, sizeof mdir, "%s/metrics", dir);
		char *s = slurp(mdir, "slo_results.json");
		assert_non_null(s);
		assert_non_null(strstr(s, "\"all_slos_met\": false,"));
		assert_non_null(strstr(s, cancelled
		                              ? "\"Error Rate: no data (no request completed or failed; 2 dispatched, "
		                                "2 cancelled)\""
		                              : "\"Error Rate: no data (no request completed or failed; 0 dispatched, "
		                                "0 cancelled)\""));
		assert_non_null(strstr(s, "\"met\": false,\n      \"slo_metric_key\": \"error_rate\",\n"
		                          "      \"observed_value\": null,"));
		free(s);
		char *out = summary_text(e);
		assert_non_null(strstr(
		    out, "    Error Rate               observed    no data     threshold       0.00 %   MISSED\n"));
		assert_non_null(strstr(out, "  All SLOs met: no\n"));
		free(out);
		eval_free(e);
		rm_rf(dir);
		free(dir);
	}
}

/* A request cancelled in flight (sent_ms >= 0; -1: never sent) at cancel_ms, with one-token chunks at
 * chunks_ms (sent at START + sent_ms). */
static void add_cut(struct evaluator *e, uint64_t id, int64_t sent_ms, const int64_t *chunks_ms, size_t n_chunks,
                    int64_t cancel_ms)
{
	struct wl_request q = {0};
	q.id = id;
	q.session_id = id;
	q.prompt_text = "x";
	q.history_parent = -1;
	eval_register_request(e, &q, 1, START, START);
	struct rec_record r;
	rec_init(&r);
	r.request_id = id;
	r.session_id = id;
	r.session_total_requests = 1;
	r.sent_ns = sent_ms >= 0 ? START + sent_ms * MS : 0;
	for (size_t i = 0; i < n_chunks; i++)
		rec_add_chunk(&r, START + chunks_ms[i] * MS, 1);
	r.completed_ns = START + cancel_ms * MS;
	r.is_stream = true;
	r.success = false;
	r.error_kind = REC_ERR_CANCELLED;
	r.error_code = REC_CODE_CANCELLED;
	snprintf(r.error_msg, sizeof r.error_msg, "grace period over");
	eval_record_completed(e, &r, true);
	rec_free(&r);
}

/* Requests cancelled in flight at the end of a run (a server that stopped answering, grace period
 * over) count as +inf in an objective they had already missed when cancelled, so that two fast
 * answers and two hung requests do not meet a P99 TTFC of 0.5 s (docs/FAILURES.md, The verdict);
 * where the outcome was not known yet they stay out. */
static void test_cancelled_in_flight(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	struct cfg_slo s4[4] = {
	    {.percentile = 0.99, .name = "P99 TTFC", .metric = CFG_SLO_TTFC, .value = 0.5},
	    {.percentile = 0.9, .name = "P90 TBC", .metric = CFG_SLO_TBC, .value = 0.15},
	    {.percentile = 0.5, .name = "P50 E2E", .metric = CFG_SLO_E2E, .value = 5.0},
	    {.percentile = 0.99, .name = "P99 TTFC 5 s", .metric = CFG_SLO_TTFC, .value = 5.0},
	};
	ev.slos = s4;
	ev.n_slos = 4;
	cfg.trace_recorder.enabled = false;
	char *dir = mkrun();
	struct evaluator *e = eval_create(&cfg, dir, START, NULL);
	int64_t c[] = {50, 60, 70};
	add_req(e, 0, 0, 0, 1, NULL, 0, 0, 0, 0, c, 3, 3, 10, 10, true, 0);
	add_req(e, 1, 1, 0, 1, NULL, 0, 0, 0, 0, c, 3, 3, 10, 10, true, 0);
	add_cut(e, 2, 0, NULL, 0, 2000); /* no first chunk after 2 s */
	int64_t one[] = {100};           /* first chunk at 0.1 s, then nothing for 1.9 s */
	add_cut(e, 3, 0, one, 1, 2000);
	add_cut(e, 4, -1, NULL, 0, 2000); /* never sent: no latency at all */
	assert_int_equal(eval_finalize(e, START + 2000 * MS), 0);
	char mdir[512];
	snprintf(mdir, sizeof mdir, "%s/metrics", dir);
	char *s = slurp(mdir, "slo_results.json");
	assert_non_null(s);
	assert_non_null(strstr(s, "\"all_slos_met\": false,\n  \"verdict_reasons\": [\n"
	                          "    \"P99 TTFC inf > 0.5 s (1 requests cancelled in flight had waited longer than "
	                          "0.5 s; they count as infinitely slow)\",\n"
	                          "    \"P90 TBC inf > 0.15 s (1 requests cancelled in flight had waited longer than "
	                          "0.15 s; they count as infinitely slow)\"\n  ],"));
	/* E2E 5 s and TTFC 5 s: the cancelled requests had not waited that long; the two answers meet them */
	assert_non_null(strstr(s, "\"met\": true,\n      \"slo_metric_key\": \"e2e_p50\","));
	assert_non_null(
	    strstr(s, "\"met\": true,\n      \"slo_metric_key\": \"ttfc_p99\",\n      \"observed_value\": 0.05,"));
	free(s);
	s = slurp(mdir, "summary_stats.json");
	assert_non_null(strstr(s, "\"Number of Cancelled Requests\": 3,"));
	free(s);
	eval_free(e);
	rm_rf(dir);
	free(dir);
}

static void test_concurrency_check(void **state)
{
	(void)state;
	for (int overlap = 0; overlap <= 1; overlap++) {
		struct cfg_benchmark cfg;
		struct cfg_evaluator ev;
		base_cfg(&cfg, &ev);
		ev.n_slos = 0;
		cfg.traffic_scheduler.type = CFG_TRAFFIC_CONCURRENT;
		cfg.traffic_scheduler.target_concurrent_sessions = 1;
		cfg.traffic_scheduler.rampup_seconds = 0;
		char *dir = mkrun();
		struct evaluator *e = eval_create(&cfg, dir, START, NULL);
		int64_t a[] = {200, 300};
		int64_t b_ovl[] = {300, 400}, b_seq[] = {600, 700};
		add_req(e, 0, 0, 0, 1, NULL, 0, 0, 100, 100, a, 2, 2, 10, 10, true, 0);
		if (overlap)
			add_req(e, 1, 1, 0, 1, NULL, 0, 0, 150, 150, b_ovl, 2, 2, 10, 10, true, 0);
		else
			add_req(e, 1, 1, 0, 1, NULL, 0, 0, 500, 500, b_seq, 2, 2, 10, 10, true, 0);
		eval_finalize(e, START + 1000 * MS);
		char *hc = slurp(dir, "health_check_results.txt");
		char *sec = strstr(hc, "SESSION CONCURRENCY CHECK\n");
		assert_non_null(sec);
		assert_non_null(strstr(sec, overlap ? "Result: FAILED" : "Result: PASSED"));
		assert_non_null(strstr(sec, overlap ? "  Peak Concurrency               2\n"
		                                    : "  Peak Concurrency               1\n"));
		assert_null(strstr(hc, "SESSION DISPATCH RATE CHECK"));
		free(hc);
		eval_free(e);
		rm_rf(dir);
		free(dir);
	}
	/* sessions with a failed request: one that finished (its second request failed), one cancelled
	 * after a failure (its third request dropped), then a third session after both ended; target 1.
	 * The two ended sessions have fewer rows than requests but are not active afterwards: no overlap,
	 * while a session left unfinished still counts until the run's end. */
	for (int unfinished = 0; unfinished <= 1; unfinished++) {
		struct cfg_benchmark cfg;
		struct cfg_evaluator ev;
		base_cfg(&cfg, &ev);
		ev.n_slos = 0;
		cfg.traffic_scheduler.type = CFG_TRAFFIC_CONCURRENT;
		cfg.traffic_scheduler.target_concurrent_sessions = 1;
		cfg.traffic_scheduler.rampup_seconds = 0;
		char *dir = mkrun();
		struct evaluator *e = eval_create(&cfg, dir, START, NULL);
		int64_t a[] = {200, 300}, a2[] = {330}, b[] = {420, 440}, b2[] = {470}, c[] = {800, 900};
		uint32_t p0[] = {0};
		add_req(e, 0, 0, 0, 2, NULL, 0, 0, 100, 100, a, 2, 2, 10, 10, true, 0);
		add_req(e, 1, 0, 1, 2, p0, 1, 0, 310, 310, a2, 1, 1, 10, 10, false, 500);
		add_req(e, 2, 1, 0, 3, NULL, 0, 0, 400, 400, b, 2, 2, 10, 10, true, 0);
		add_req(e, 3, 1, 1, 3, p0, 1, 0, 450, 450, b2, 1, 1, 10, 10, false, 500);
		if (!unfinished)
			eval_session_cancelled_at(e, 1, 1, START + 490 * MS);
		add_req(e, 4, 2, 0, 1, NULL, 0, 0, 700, 700, c, 2, 2, 10, 10, true, 0);
		eval_finalize(e, START + 1000 * MS);
		char *hc = slurp(dir, "health_check_results.txt");
		char *sec = strstr(hc, "SESSION CONCURRENCY CHECK\n");
		assert_non_null(sec);
		assert_non_null(strstr(sec, unfinished ? "Result: FAILED" : "Result: PASSED"));
		assert_non_null(strstr(sec, unfinished ? "  Peak Concurrency               2\n"
		                                       : "  Peak Concurrency               1\n"));
		free(hc);
		eval_free(e);
		rm_rf(dir);
		free(dir);
	}
}

/* 10k requests x 64 chunks through the evaluator and every file: bounded time (no quadratic paths) */
static void test_scale(void **state)
{
	(void)state;
	if (getenv("VK_TEST_PLOTS"))
		skip(); /* covered by the plain run; plotting 10k-request series adds nothing here */
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	cfg.trace_recorder.include_content = false;
	ev.decode_window_enabled = true;
	char *dir = mkrun();
	struct evaluator *e = eval_create(&cfg, dir, START, NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int64_t c[64];
	uint32_t par[1] = {0};
	for (int i = 0; i < 10000; i++) {
		int64_t base = i * 5;
		for (int k = 0; k < 64; k++)
			c[k] = base + 30 + k * 2 + (i % 3);
		add_req(e, (uint64_t)i, (uint64_t)(i / 2), (uint32_t)(i % 2), 2, (i % 2) ? par : NULL, (size_t)(i % 2),
		        0, base, base + 1, c, 64, 64, 100 + i % 50, 100 + i % 50, true, 0);
	}
	assert_int_equal(eval_finalize(e, START + 200000 * MS), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "10000 requests: %.2f s\n", el);
	assert_true(el < 45.0); /* ~3 s normally; generous for loaded CI and sanitizers */
	struct eval_live live;
	eval_live_stats(e, &live);
	assert_int_equal(live.completed, 10000);
	eval_free(e);
	rm_rf(dir);
	free(dir);
}

/* Endurance: the evaluator keeps per-request data on spill files, so its heap does not grow with the
 * number of requests (issue 10, scenario 5). Heap in use after 20,000 and after 60,000 completed
 * requests (64 chunks each) must be about the same; on the heap the 40,000 extra rows, registrations,
 * sessions and 2.5M gaps/samples would take more than 20 MB. */
static void test_memory_flat(void **state)
{
	(void)state;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	skip(); /* sanitizers replace malloc: mallinfo2 does not see their heap */
#endif
	if (getenv("VK_TEST_PLOTS"))
		skip();
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	cfg.trace_recorder.enabled = false;
	char *dir = mkrun();
	struct evaluator *e = eval_create(&cfg, dir, START, NULL);
	int64_t c[64];
	size_t heap_at_20k = 0;
	for (int i = 0; i < 60000; i++) {
		int64_t base = i * 5;
		for (int k = 0; k < 64; k++)
			c[k] = base + 30 + k * 2 + (i % 3);
		add_req(e, (uint64_t)i, (uint64_t)i, 0, 1, NULL, 0, 0, base, base + 1, c, 64, 64, 100, 100, true, 0);
		if (i + 1 == 20000)
			heap_at_20k = mallinfo2().uordblks;
	}
	size_t heap_at_60k = mallinfo2().uordblks;
	fprintf(stderr, "evaluator heap: %zu bytes after 20k requests, %zu after 60k\n", heap_at_20k, heap_at_60k);
	assert_true(heap_at_60k < heap_at_20k + (size_t)1024 * 1024);
	assert_int_equal(eval_finalize(e, START + 400000 * MS), 1);
	struct eval_live live;
	eval_live_stats(e, &live);
	assert_int_equal(live.completed, 60000);
	assert_int_equal(live.sessions, 60000);
	eval_free(e);
	/* what the run wrote is complete: 60,000 rows */
	char *p = xasprintf("%s/metrics/request_level_metrics.jsonl", dir);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	size_t lines = 0;
	for (int ch; (ch = fgetc(f)) != EOF;)
		lines += ch == '\n';
	fclose(f);
	free(p);
	assert_int_equal(lines, 60000);
	rm_rf(dir);
	free(dir);
}

/* A staged evaluator (veeksha merge, evaluate) writes its streamed rows at <file>.part: freed before
 * eval_commit_staged, the earlier run's file stays as it was and the part is gone; committed, the new
 * file replaces it. */
static void test_staged_rows(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	char *dir = mkrun();
	char mdir[512], rows[600], part[700];
	snprintf(mdir, sizeof mdir, "%s/metrics", dir);
	snprintf(rows, sizeof rows, "%s/request_level_metrics.jsonl", mdir);
	snprintf(part, sizeof part, "%s.part", rows);
	assert_int_equal(mkdir(mdir, 0755), 0);
	FILE *f = fopen(rows, "w");
	assert_non_null(f);
	fputs("earlier\n", f);
	fclose(f);

	struct evaluator *e = eval_create_staged(&cfg, dir, START, NULL);
	assert_non_null(e);
	int64_t a[] = {100, 200};
	add_req(e, 0, 0, 0, 1, NULL, 0, 0, 0, 0, a, 2, 2, 10, 10, true, 0);
	assert_int_equal(access(part, F_OK), 0);
	eval_free(e); /* a bad log line: never committed */
	assert_int_equal(access(part, F_OK), -1);
	char *s = slurp(mdir, "request_level_metrics.jsonl");
	assert_string_equal(s, "earlier\n");
	free(s);

	e = eval_create_staged(&cfg, dir, START, NULL);
	add_req(e, 0, 0, 0, 1, NULL, 0, 0, 0, 0, a, 2, 2, 10, 10, true, 0);
	assert_int_equal(eval_commit_staged(e), 0);
	assert_int_equal(access(part, F_OK), -1);
	assert_int_equal(eval_finalize(e, START + 1000 * MS), 1);
	eval_free(e);
	s = slurp(mdir, "request_level_metrics.jsonl");
	assert_null(strstr(s, "earlier"));
	assert_non_null(strstr(s, "\"request_id\""));
	free(s);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	if (!getenv("VK_TEST_PLOTS"))
		setenv("VK_NO_PLOTS", "1", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_small_run_files),
	    cmocka_unit_test(test_decode_window),
	    cmocka_unit_test(test_slo_infinity_and_counters),
	    cmocka_unit_test(test_stream_metrics_and_summary_table),
	    cmocka_unit_test(test_reasoning_outputs),
	    cmocka_unit_test(test_error_table_and_rate),
	    cmocka_unit_test(test_error_rate_no_data),
	    cmocka_unit_test(test_error_message_control_bytes),
	    cmocka_unit_test(test_all_failed_tolerated),
	    cmocka_unit_test(test_tpot_needs_streamed_tokens),
	    cmocka_unit_test(test_cancelled_in_flight),
	    cmocka_unit_test(test_concurrency_check),
	    cmocka_unit_test(test_scale),
	    cmocka_unit_test(test_memory_flat),
	    cmocka_unit_test(test_staged_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
