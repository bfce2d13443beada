/* The client's time series (docs/OBSERVABILITY.md, Time series): metrics/timeseries.csv from
 * synthetic records (bucket edges, in-flight accounting both ways, empty buckets, errors, cancelled
 * and post-timeout requests, tokens spread over chunks, exact percentiles, the switch, the bucket
 * cap), the readers of timeseries.csv and server_metrics.csv, and the plot with the server's series. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "core/fsutil.h"
#include "core/log.h"
#include "metrics/eval_timeseries.h"
#include "metrics/eval_ts_internal.h"
#include "metrics/evaluator.h"
#include "output/plot.h"

#define MS 1000000LL
#define START (10000 * MS)

static struct cfg_benchmark cfg;
static struct cfg_evaluator ev;

static void base_cfg(double interval_s)
{
	memset(&cfg, 0, sizeof cfg);
	memset(&ev, 0, sizeof ev);
	ev.type = CFG_EVAL_PERFORMANCE;
	ev.stream_metrics_interval = 5.0;
	ev.timeseries_interval_s = interval_s;
	cfg.evaluators = &ev;
	cfg.n_evaluators = 1;
}

static char *mkrun(void)
{
	char tmpl[] = "/tmp/vk_ts_test_XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void rm_rf(const char *dir)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "/bin/rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static char *slurp(const char *dir, const char *rel)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	size_t n;
	return fs_read_file(p, &n);
}

/* A request: registered at dispatch_ms (relative to START), sent at the same time. */
struct req {
	struct wl_request q;
	struct rec_record rec;
};

static void req_init(struct req *r, uint64_t id, int64_t dispatch_ms)
{
	memset(r, 0, sizeof *r);
	r->q.id = id;
	r->q.session_id = id;
	r->q.history_parent = -1;
	r->q.prompt_text = "hi";
	rec_init(&r->rec);
	r->rec.request_id = id;
	r->rec.session_id = id;
	r->rec.session_total_requests = 1;
	r->rec.dispatched_ns = r->rec.intended_ns = r->rec.sent_ns = START + dispatch_ms * MS;
	r->rec.headers_ns = r->rec.sent_ns;
	r->rec.is_stream = true;
	r->rec.http_status = 200;
	r->rec.success = true;
}

static void reg(struct evaluator *e, struct req *r)
{
	eval_register_request(e, &r->q, 1, r->rec.intended_ns, r->rec.dispatched_ns);
}

static void done(struct evaluator *e, struct req *r, int64_t completed_ms, bool included)
{
	r->rec.completed_ns = START + completed_ms * MS;
	r->rec.processed_ns = r->rec.completed_ns + 1000;
	eval_record_completed(e, &r->rec, included);
	rec_free(&r->rec);
}

/* The worked example of docs/OBSERVABILITY.md (Time series): 1 s buckets, the run ends at 4.5 s. */
static void test_buckets_edges_inflight_errors(void **state)
{
	(void)state;
	base_cfg(1.0);
	char *dir = mkrun();
	struct evaluator *e = eval_create(&cfg, dir, START, "test-tok");
	assert_non_null(e);
	struct req a, b, c, d, x, f;
	/* A: streamed, chunks at 0.2, 0.5, 1.2 s, 6 tokens (2 per chunk) */
	req_init(&a, 1, 0);
	reg(e, &a);
	/* D: dispatched at 0.5 s, never ends (in flight to the end) */
	req_init(&d, 4, 500);
	reg(e, &d);
	rec_add_chunk(&a.rec, START + 200 * MS, 0);
	rec_add_chunk(&a.rec, START + 500 * MS, 0);
	/* B: dispatched on the 1 s edge (bucket 1), not streamed, 5 tokens, ends on the 2 s edge (bucket 2) */
	req_init(&b, 2, 1000);
	b.rec.is_stream = false;
	b.rec.num_output_tokens = 5;
	reg(e, &b);
	rec_add_chunk(&a.rec, START + 1200 * MS, 0);
	a.rec.num_output_tokens = 6;
	done(e, &a, 1200, true);
	/* C: dispatched at 1.5 s, HTTP 500 at 1.6 s */
	req_init(&c, 3, 1500);
	reg(e, &c);
	c.rec.success = false;
	c.rec.http_status = 500;
	rec_set_error(&c.rec, REC_ERR_HTTP, 500, "HTTP 500");
	done(e, &c, 1600, true);
	done(e, &b, 2000, true);
	/* F: dispatched at 2.5 s, ends after the benchmark timeout: not part of the run */
	req_init(&f, 6, 2500);
	reg(e, &f);
	f.rec.num_output_tokens = 3;
	rec_add_chunk(&f.rec, START + 2600 * MS, 0);
	done(e, &f, 3500, false);
	/* E: dispatched at 4.2 s, cancelled at 4.3 s; nothing at all in [3, 4) */
	req_init(&x, 5, 4200);
	reg(e, &x);
	x.rec.success = false;
	rec_set_error(&x.rec, REC_ERR_CANCELLED, REC_CODE_CANCELLED, "cancelled");
	done(e, &x, 4300, true);
	rec_free(&d.rec);
	eval_finalize(e, START + 4500 * MS);
	eval_free(e);

	char *csv = slurp(dir, "metrics/timeseries.csv");
	assert_non_null(csv);
	const char *want = TS_CSV_HEADER
	    "\n"
	    /* A and D dispatched; A's first chunk (TTFC 0.2) and its gap 0.3 s; 4 tokens; mean in flight
	     * A 1.0 + D 0.5 */
	    "0.000000,1.000000,2,0,0,0,2,1.500,4,4.000,0.200000,0.200000,0.300000\n"
	    /* B (on the edge) and C dispatched, A completes (1.2), C errors; in flight A, D, B, C; mean
	     * A 0.2 + D 1 + B 1 + C 0.1; A's last chunk: 2 tokens, gap 0.7 s; no first chunk here */
	    "1.000000,2.000000,2,1,1,0,4,2.300,2,2.000,,,0.700000\n"
	    /* B completes on the 2 s edge (its TTFC 1.0 = its completion); F (post-timeout) counts nowhere */
	    "2.000000,3.000000,0,1,0,0,2,1.000,5,5.000,1.000000,1.000000,\n"
	    /* empty: D still in flight */
	    "3.000000,4.000000,0,0,0,0,1,1.000,0,0.000,,,\n"
	    /* the last bucket ends with the run (0.5 s): E dispatched and cancelled; mean (D 0.5 + E 0.1) / 0.5 */
	    "4.000000,4.500000,1,0,0,1,2,1.200,0,0.000,,,\n";
	assert_string_equal(csv, want);
	free(csv);

	char *gp = slurp(dir, "metrics/plots_src/timeseries.gp");
	assert_non_null(gp);
	assert_non_null(strstr(gp, "set multiplot layout 4,1"));
	free(gp);
	if (getenv("VK_TEST_PLOTS")) {
		plot_wait_all(); /* (gnuplot renders in the background) */
		char *png = slurp(dir, "metrics/timeseries.png");
		assert_non_null(png);
		free(png);
	}

	/* the dispatched column adds up to the summary's request count */
	char *sum = slurp(dir, "metrics/summary_stats.json");
	assert_non_null(strstr(sum, "\"Number of Requests\": 5,"));
	free(sum);

	/* read back */
	csv = slurp(dir, "metrics/timeseries.csv");
	struct ts_table t;
	char err[256];
	assert_int_equal(ts_table_parse(csv, strlen(csv), "timeseries.csv", &t, err, sizeof err), 0);
	assert_int_equal(t.n, 5);
	assert_true(isnan(t.col[TS_TTFC_P50][1]));
	assert_true(fabs(t.col[TS_IN_FLIGHT_MEAN][4] - 1.2) < 1e-9);
	assert_true(fabs(t.col[TS_TBC_P50][1] - 0.7) < 1e-9);
	ts_table_free(&t);
	free(csv);
	rm_rf(dir);
	free(dir);
}

/* Exact (numpy linear) percentiles per bucket; tokens spread over chunks with the remainder first. */
static void test_percentiles_and_tokens(void **state)
{
	(void)state;
	base_cfg(0.5);
	char *dir = mkrun();
	struct evaluator *e = eval_create(&cfg, dir, START, "test-tok");
	/* 100 requests with TTFC 1..100 ms, first chunks all in [0, 0.5) */
	for (int i = 0; i < 100; i++) {
		struct req r;
		req_init(&r, (uint64_t)i, 0);
		reg(e, &r);
		rec_add_chunk(&r.rec, START + (i + 1) * MS, 0);
		r.rec.num_output_tokens = 1;
		done(e, &r, i + 1, true);
	}
	/* 8 tokens over 3 chunks at 0.6, 1.1, 1.2 s: 2 each and the remainder 2 to the first two
	 * chunks: 3 in bucket 1, 3 + 2 in bucket 2 */
	struct req r;
	req_init(&r, 1000, 0);
	reg(e, &r);
	rec_add_chunk(&r.rec, START + 600 * MS, 0);
	rec_add_chunk(&r.rec, START + 1100 * MS, 0);
	rec_add_chunk(&r.rec, START + 1200 * MS, 0);
	r.rec.num_output_tokens = 8;
	done(e, &r, 1200, true);
	eval_finalize(e, START + 1500 * MS);
	eval_free(e);
	char *csv = slurp(dir, "metrics/timeseries.csv");
	struct ts_table t;
	char err[256];
	assert_int_equal(ts_table_parse(csv, strlen(csv), "timeseries.csv", &t, err, sizeof err), 0);
	assert_int_equal(t.n, 3);
	assert_true(fabs(t.col[TS_TTFC_P50][0] - 0.0505) < 1e-9);  /* numpy: 50.5 ms */
	assert_true(fabs(t.col[TS_TTFC_P99][0] - 0.09901) < 1e-9); /* numpy: 99.01 ms */
	assert_true(fabs(t.col[TS_TTFC_P50][1] - 0.6) < 1e-9);     /* the 8-token request's */
	assert_int_equal((int)t.col[TS_OUTPUT_TOKENS][0], 100);
	assert_int_equal((int)t.col[TS_OUTPUT_TOKENS][1], 3);
	assert_int_equal((int)t.col[TS_OUTPUT_TOKENS][2], 5);
	assert_true(fabs(t.col[TS_OUTPUT_TOKENS_PER_S][0] - 200.0) < 1e-9); /* 100 tokens in 0.5 s */
	assert_true(fabs(t.col[TS_TBC_P50][2] - 0.3) < 1e-9);               /* gaps 0.5 and 0.1 end in bucket 2 */
	assert_int_equal((int)t.col[TS_DISPATCHED][0], 101);
	ts_table_free(&t);
	free(csv);
	rm_rf(dir);
	free(dir);
}

/* timeseries_interval_s: 0 writes nothing; too many buckets widen the bucket (and say so). */
static void test_off_and_cap(void **state)
{
	(void)state;
	base_cfg(0.0);
	char *dir = mkrun();
	struct evaluator *e = eval_create(&cfg, dir, START, "test-tok");
	struct req r;
	req_init(&r, 1, 0);
	reg(e, &r);
	rec_add_chunk(&r.rec, START + 10 * MS, 0);
	done(e, &r, 10, true);
	eval_finalize(e, START + 1000 * MS);
	eval_free(e);
	char *csv = slurp(dir, "metrics/timeseries.csv");
	assert_null(csv);
	rm_rf(dir);
	free(dir);

	/* 1 ms buckets over 1.5 s: 1500 rows would be more than the cap (lowered to 1000 here), 2 ms
	 * buckets are used */
	eval_ts_max_buckets = 1000;
	base_cfg(0.001);
	dir = mkrun();
	e = eval_create(&cfg, dir, START, "test-tok");
	req_init(&r, 1, 0);
	reg(e, &r);
	rec_add_chunk(&r.rec, START + 10 * MS, 0);
	done(e, &r, 10, true);
	eval_finalize(e, START + 1500 * MS);
	eval_ts_max_buckets = 1000000;
	eval_free(e);
	csv = slurp(dir, "metrics/timeseries.csv");
	assert_non_null(csv);
	struct ts_table t;
	char err[256];
	assert_int_equal(ts_table_parse(csv, strlen(csv), "timeseries.csv", &t, err, sizeof err), 0);
	assert_int_equal(t.n, 750);
	assert_true(fabs(t.col[TS_T_END][0] - 0.002) < 1e-12);
	assert_int_equal((int)t.col[TS_DISPATCHED][0], 1);
	assert_int_equal((int)t.col[TS_IN_FLIGHT][5], 1); /* [10, 12) ms: it ends at 10 ms */
	assert_int_equal((int)t.col[TS_IN_FLIGHT][6], 0);
	ts_table_free(&t);
	free(csv);
	rm_rf(dir);
	free(dir);
}

static void test_table_parse_errors(void **state)
{
	(void)state;
	struct ts_table t;
	char err[256];
	const char *bad_hdr = "t,x\n";
	assert_int_equal(ts_table_parse(bad_hdr, strlen(bad_hdr), "f.csv", &t, err, sizeof err), -1);
	assert_non_null(strstr(err, "f.csv:1: not a timeseries.csv header"));
	const char *short_row = TS_CSV_HEADER "\n0,1,1,1,0,0,1,1,1,1,,,\n0,1,2\n";
	assert_int_equal(ts_table_parse(short_row, strlen(short_row), "f.csv", &t, err, sizeof err), -1);
	assert_string_equal(err, "f.csv:3: 3 cells, want 13");
	const char *bad_num = TS_CSV_HEADER "\n0,1,x,1,0,0,1,1,1,1,,,\n";
	assert_int_equal(ts_table_parse(bad_num, strlen(bad_num), "f.csv", &t, err, sizeof err), -1);
	assert_string_equal(err, "f.csv:2: cell 3 is not a number");
	const char *empty_count = TS_CSV_HEADER "\n0,1,,1,0,0,1,1,1,1,,,\n";
	assert_int_equal(ts_table_parse(empty_count, strlen(empty_count), "f.csv", &t, err, sizeof err), -1);
	const char *crlf = TS_CSV_HEADER "\r\n0,1,1,1,0,0,1,1.5,1,1,0.1,0.2,\r\n";
	assert_int_equal(ts_table_parse(crlf, strlen(crlf), "f.csv", &t, err, sizeof err), 0);
	assert_int_equal(t.n, 1);
	assert_true(isnan(t.col[TS_TBC_P50][0]));
	assert_true(t.col[TS_TTFC_P99][0] == 0.2);
	ts_table_free(&t);
}

static const char server_csv[] =
    "t_s,name,labels,value\n"
    "-0.001,vllm:num_requests_running,\"model_name=\"\"m\"\",engine=\"\"0\"\"\",0.0\n"
    "-0.001,vllm:num_requests_running,\"model_name=\"\"m\"\",engine=\"\"1\"\"\",1.0\n"
    "-0.001,vllm:kv_cache_usage_perc,\"engine=\"\"0\"\"\",0.2\n"
    "-0.001,vllm:kv_cache_usage_perc,\"engine=\"\"1\"\"\",0.4\n"
    "-0.001,vllm:gpu_cache_usage_perc,,0.9\n" /* the V0 name: not used when the V1 name is there */
    "-0.001,vllm:generation_tokens_total,\"a=\"\"x,y\"\"\",100\n"
    "1.0,vllm:num_requests_running,\"model_name=\"\"m\"\",engine=\"\"0\"\"\",3.0\n"
    "1.0,vllm:num_requests_running,\"model_name=\"\"m\"\",engine=\"\"1\"\"\",4.0\n"
    "1.0,vllm:kv_cache_usage_perc,\"engine=\"\"0\"\"\",0.5\n"
    "1.0,vllm:kv_cache_usage_perc,\"engine=\"\"1\"\"\",0.7\n"
    "1.0,vllm:generation_tokens_total,\"a=\"\"x,y\"\"\",350\n"
    "1.0,vllm:num_requests_waiting,,NaN\n"
    "oops,vllm:num_requests_waiting,,1\n"
    "2.0,vllm:num_requests_waiting,\"unterminated,2\n"
    "2.0,sglang:num_queue_reqs,,7\n"; /* the SGLang name: only when no vLLM one was found */

static void test_server_parse(void **state)
{
	(void)state;
	struct ts_server s;
	char err[256];
	assert_int_equal(ts_server_parse(server_csv, strlen(server_csv), "s.csv", &s, err, sizeof err), 0);
	assert_int_equal(s.rows, 15);
	assert_int_equal(s.rows_skipped, 2);
	assert_int_equal(s.first_bad_line, 14);
	assert_string_equal(s.s[TS_SRV_RUNNING].source, "vllm:num_requests_running");
	assert_int_equal(s.s[TS_SRV_RUNNING].n, 2);
	assert_true(s.s[TS_SRV_RUNNING].t[0] == -0.001 && s.s[TS_SRV_RUNNING].v[0] == 1.0); /* summed */
	assert_true(s.s[TS_SRV_RUNNING].v[1] == 7.0);
	assert_string_equal(s.s[TS_SRV_KV_USAGE].source, "vllm:kv_cache_usage_perc");
	assert_true(fabs(s.s[TS_SRV_KV_USAGE].v[0] - 0.3) < 1e-12); /* averaged */
	assert_true(fabs(s.s[TS_SRV_KV_USAGE].v[1] - 0.6) < 1e-12);
	assert_int_equal(s.s[TS_SRV_GEN_TOKENS].n, 2);
	assert_true(s.s[TS_SRV_GEN_TOKENS].v[1] == 350);
	/* vllm:num_requests_waiting only had a NaN: the SGLang name is the one with data */
	assert_string_equal(s.s[TS_SRV_WAITING].source, "sglang:num_queue_reqs");
	assert_int_equal(s.s[TS_SRV_WAITING].n, 1);
	ts_server_free(&s);

	const char *bad = "time,name\n";
	assert_int_equal(ts_server_parse(bad, strlen(bad), "s.csv", &s, err, sizeof err), -1);
	assert_non_null(strstr(err, "s.csv:1: not a server_metrics.csv header"));
}

static void write_file(const char *dir, const char *rel, const char *text)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	assert_int_equal(fs_write_file(p, text, strlen(text)), 0);
}

static void test_plot_with_server(void **state)
{
	(void)state;
	char *dir = mkrun();
	char m[1024];
	snprintf(m, sizeof m, "%s/metrics", dir);
	assert_int_equal(fs_mkdir_p(m), 0);
	/* no timeseries.csv (the series is off): nothing */
	assert_int_equal(eval_timeseries_plot_with_server(dir), 0);
	write_file(dir, "metrics/timeseries.csv",
	           TS_CSV_HEADER "\n0.000000,1.000000,2,1,0,0,2,1.500,4,4.000,0.200000,0.300000,0.010000\n"
	                         "1.000000,2.000000,1,2,0,0,2,0.700,6,6.000,,,\n");
	/* no server_metrics.csv (no scrape): nothing */
	assert_int_equal(eval_timeseries_plot_with_server(dir), 0);
	/* a scrape of an engine whose names are not mapped: nothing to draw */
	write_file(dir, "metrics/server_metrics.csv", "t_s,name,labels,value\n0.5,other:thing,,1\n");
	assert_int_equal(eval_timeseries_plot_with_server(dir), 0);
	/* a broken timeseries.csv: a warning, no plot */
	write_file(dir, "metrics/server_metrics.csv", server_csv);
	write_file(dir, "metrics/timeseries.csv", "nope\n");
	assert_int_equal(eval_timeseries_plot_with_server(dir), -1);
	write_file(dir, "metrics/timeseries.csv",
	           TS_CSV_HEADER "\n0.000000,1.000000,2,1,0,0,2,1.500,4,4.000,0.200000,0.300000,0.010000\n"
	                         "1.000000,2.000000,1,2,0,0,2,0.700,6,6.000,,,\n");
	assert_int_equal(eval_timeseries_plot_with_server(dir), 1);
	char *gp = slurp(dir, "metrics/plots_src/timeseries_server.gp");
	char *dat = slurp(dir, "metrics/plots_src/timeseries_server.dat");
	assert_non_null(gp);
	assert_non_null(dat);
	assert_non_null(strstr(gp, "set multiplot layout 4,1"));
	assert_non_null(strstr(gp, "\"server: running\""));
	assert_non_null(strstr(gp, "\"KV cache usage [%]\""));
	/* KV usage in percent, the generation counter as a rate: (350 - 100) / 1.001 s */
	assert_non_null(strstr(dat, "\n-0.001 30"));
	assert_non_null(strstr(dat, "-0.001 249.75024975024976\n"));
	if (getenv("VK_TEST_PLOTS") && !getenv("VK_NO_PLOTS")) {
		plot_wait_all(); /* (gnuplot renders in the background) */
		char *png = slurp(dir, "metrics/timeseries_server.png");
		assert_non_null(png); /* (gnuplot is a test dependency where VK_TEST_PLOTS is set) */
		free(png);
	}
	free(gp);
	free(dat);
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	if (!getenv("VK_TEST_PLOTS"))
		setenv("VK_NO_PLOTS", "1", 1); /* no gnuplot child (the _plots variant draws them) */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buckets_edges_inflight_errors),
	    cmocka_unit_test(test_percentiles_and_tokens),
	    cmocka_unit_test(test_off_and_cap),
	    cmocka_unit_test(test_table_parse_errors),
	    cmocka_unit_test(test_server_parse),
	    cmocka_unit_test(test_plot_with_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
