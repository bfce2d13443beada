/* The scraper's statistics and files: the recorded vLLM V1/V0 and SGLang pages give every mapped
 * key with the expected deltas, gauges and quantiles; the reconciliation flags mismatches; counter
 * resets, late series, failed scrapes. No network: pages are fed with obs_scraper_ingest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fsutil.h"
#include "observe/observe_internal.h"

static const char *const prefixes[] = {"vllm:", "sglang:", "sim:"};

static char *tmpdir(void)
{
	char t[] = "/tmp/vk_obs_XXXXXX";
	assert_non_null(mkdtemp(t));
	char *d = strdup(t);
	char *m = fs_path_join(d, "metrics");
	assert_int_equal(fs_mkdir_p(m), 0);
	free(m);
	return d;
}

static void rm_rf(const char *d)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

static void put(const char *dir, const char *name, const char *text)
{
	char *m = fs_path_join(dir, "metrics");
	char *p = fs_path_join(m, name);
	assert_int_equal(fs_write_file(p, text, strlen(text)), 0);
	free(p);
	free(m);
}

static void ingest_file(struct obs_scraper *s, const char *page, int64_t t_ns)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/tests/data/prometheus/%s", getenv("VK_SOURCE_DIR"), page);
	size_t n = 0;
	char *text = fs_read_file(path, &n);
	assert_non_null(text);
	obs_scraper_ingest(s, t_ns, text, n, NULL);
	free(text);
}

static cJSON *read_summary(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/metrics/server_summary.json", dir);
	size_t n = 0;
	char *text = fs_read_file(path, &n);
	assert_non_null(text);
	cJSON *j = cJSON_Parse(text);
	assert_non_null(j);
	free(text);
	return j;
}

static double num(const cJSON *root, const char *a, const char *b, const char *c)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, a);
	if (b)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	if (c)
		x = cJSON_GetObjectItemCaseSensitive(x, c);
	if (!cJSON_IsNumber(x)) {
		fprintf(stderr, "missing number %s.%s.%s\n", a, b ? b : "", c ? c : "");
		fail();
	}
	return x->valuedouble;
}

static const char *str(const cJSON *root, const char *a, const char *b, const char *c)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, a);
	if (b)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	if (c)
		x = cJSON_GetObjectItemCaseSensitive(x, c);
	return cJSON_IsString(x) ? x->valuestring : NULL;
}

static void check_missing(const cJSON *j, const char *const *expected, size_t n)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "missing");
	assert_int_equal(cJSON_GetArraySize(m), (int)n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(cJSON_GetArrayItem(m, (int)i)->valuestring, expected[i]);
}

/* Two pages 10 s apart, written with a client side that matches (or not). */
static cJSON *run_pages(const char *a, const char *b, const char *stats, const char *usage, const char *jsonl,
                        char **dir_out)
{
	struct obs_scraper *s = obs_scraper_new_for_test("http://127.0.0.1:1/metrics", prefixes, 3);
	int64_t t0 = 1000000000000LL;
	ingest_file(s, a, t0 - 1000000);
	ingest_file(s, b, t0 + 10000000000LL);
	char *dir = tmpdir();
	if (stats)
		put(dir, "summary_stats.json", stats);
	if (usage)
		put(dir, "client_usage.json", usage);
	if (jsonl)
		put(dir, "request_level_metrics.jsonl", jsonl);
	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(obs_scraper_write(s, dir, t0, devnull), 0);
	fclose(devnull);
	obs_scraper_free(s);
	*dir_out = dir;
	return read_summary(dir);
}

static void test_vllm_v1_every_key(void **state)
{
	(void)state;
	char *dir;
	cJSON *j = run_pages("vllm_v1_a.txt", "vllm_v1_b.txt",
	                     "{\"Number of Completed Requests\": 150, \"Time to First Chunk (P50)\": 0.176, "
	                     "\"Time to First Chunk (P99)\": 0.25, \"Time to First Chunk (Mean)\": 0.151}",
	                     "{\"output_tokens\": 20000}", NULL, &dir);
	assert_string_equal(str(j, "engine", NULL, NULL), "vllm");
	static const char *const miss[] = {"prefix_cache_hit_rate_gauge"};
	check_missing(j, miss, 1);
	assert_string_equal(str(j, "metrics", "running", "source"), "vllm:num_requests_running");
	assert_true(num(j, "metrics", "running", "min") == 3 && num(j, "metrics", "running", "max") == 12);
	assert_true(num(j, "metrics", "running", "mean") == 7.5);
	assert_true(num(j, "metrics", "waiting", "max") == 5 && num(j, "metrics", "waiting", "first") == 0);
	assert_string_equal(str(j, "metrics", "kv_cache_usage", "source"), "vllm:kv_cache_usage_perc");
	assert_true(num(j, "metrics", "kv_cache_usage", "first") == 0.05);
	assert_true(num(j, "metrics", "kv_cache_usage", "last") == 0.62);
	assert_true(fabs(num(j, "metrics", "kv_cache_usage", "t_max_s") - 10.0) < 1e-9);
	assert_true(num(j, "metrics", "preemptions", "delta") == 5);
	assert_true(num(j, "metrics", "prompt_tokens", "delta") == 40000);
	assert_true(num(j, "metrics", "generation_tokens", "delta") == 20000);
	assert_true(num(j, "metrics", "prefix_cache_hits", "delta") == 24000);
	assert_true(num(j, "metrics", "prefix_cache_queries", "delta") == 40000);
	assert_true(fabs(num(j, "metrics", "prefix_cache_hit_rate", "value") - 0.6) < 1e-12);
	assert_true(num(j, "metrics", "request_success", "delta") == 150);
	/* 100 TTFTs of 0.15 s in the run, all in the (0.1, 0.25] bucket: interpolated p50 0.175 */
	assert_true(num(j, "metrics", "ttft", "count") == 100);
	assert_true(fabs(num(j, "metrics", "ttft", "mean") - 0.15) < 1e-9);
	assert_true(fabs(num(j, "metrics", "ttft", "p50") - 0.175) < 1e-9);
	assert_true(fabs(num(j, "metrics", "ttft", "p50_bucket_width") - 0.15) < 1e-9);
	assert_true(fabs(num(j, "metrics", "itl", "p50") - 0.0375) < 1e-9);
	assert_string_equal(str(j, "metrics", "itl", "source"), "vllm:inter_token_latency_seconds");
	assert_true(fabs(num(j, "metrics", "e2e", "p50") - 3.75) < 1e-9);
	assert_true(fabs(num(j, "metrics", "queue_time", "mean") - 0.4) < 1e-9);
	/* reconciliation: all within tolerance */
	assert_true(num(j, "reconciliation", "output_tokens", "client") == 20000);
	assert_true(num(j, "reconciliation", "output_tokens", "server") == 20000);
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "reconciliation"), "output_tokens"), "flag")));
	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "reconciliation"), "completed_requests"), "flag")));
	assert_false(cJSON_IsTrue(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "reconciliation"), "ttfc_p50_s"), "flag")));
	assert_true(fabs(num(j, "reconciliation", "ttfc_p50_s", "difference_s") - 0.001) < 1e-9);
	/* the CSV: long form, only the prefixed series, no _created samples, t_s from the run start */
	char path[4096];
	snprintf(path, sizeof path, "%s/metrics/server_metrics.csv", dir);
	char *csv = fs_read_file(path, NULL);
	assert_non_null(csv);
	assert_true(!strncmp(csv, "t_s,name,labels,value\n", 22));
	assert_null(strstr(csv, "python_gc"));
	assert_null(strstr(csv, "_created"));
	assert_non_null(strstr(csv, "\n10.000000,vllm:num_requests_running,\"model_name=\"\"meta-llama/"
	                            "Llama-3.1-8B-Instruct\"\",engine=\"\"0\"\"\",12.0\n"));
	assert_non_null(strstr(csv, "\n-0.001000,vllm:kv_cache_usage_perc,"));
	free(csv);
	cJSON_Delete(j);
	rm_rf(dir);
	free(dir);
}

static void test_vllm_v0_names(void **state)
{
	(void)state;
	char *dir;
	cJSON *j = run_pages("vllm_v0_a.txt", "vllm_v0_b.txt", NULL, NULL, NULL, &dir);
	static const char *const miss[] = {"prefix_cache_hits", "prefix_cache_queries"};
	check_missing(j, miss, 2);
	assert_string_equal(str(j, "metrics", "kv_cache_usage", "source"), "vllm:gpu_cache_usage_perc");
	assert_true(num(j, "metrics", "kv_cache_usage", "max") == 0.55);
	assert_true(num(j, "metrics", "prefix_cache_hit_rate_gauge", "mean") == 0.4);
	assert_string_equal(str(j, "metrics", "itl", "source"), "vllm:time_per_output_token_seconds");
	assert_true(num(j, "metrics", "itl", "count") == 1600);
	assert_true(num(j, "metrics", "running", "max") == 10 && num(j, "metrics", "waiting", "max") == 4);
	assert_true(num(j, "metrics", "preemptions", "delta") == 2);
	assert_true(num(j, "metrics", "prompt_tokens", "delta") == 32000);
	assert_true(num(j, "metrics", "generation_tokens", "delta") == 16000);
	assert_true(num(j, "metrics", "request_success", "delta") == 120);
	assert_true(num(j, "metrics", "ttft", "count") == 120);
	assert_true(num(j, "metrics", "e2e", "count") == 120);
	assert_true(num(j, "metrics", "queue_time", "count") == 120);
	/* no client files: the reconciliation has no client side and flags nothing */
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "reconciliation"), "output_tokens"), "client")));
	cJSON_Delete(j);
	rm_rf(dir);
	free(dir);
}

static void test_sglang_names(void **state)
{
	(void)state;
	char *dir;
	cJSON *j = run_pages("sglang_a.txt", "sglang_b.txt",
	                     "{\"Number of Completed Requests\": 200, \"Time to First Chunk (P50)\": 0.52}",
	                     "{\"output_tokens\": 23000}", NULL, &dir);
	assert_string_equal(str(j, "engine", NULL, NULL), "sglang");
	check_missing(j, NULL, 0);
	assert_string_equal(str(j, "metrics", "running", "source"), "sglang:num_running_reqs");
	assert_true(num(j, "metrics", "running", "max") == 40);
	assert_string_equal(str(j, "metrics", "waiting", "source"), "sglang:num_queue_reqs");
	assert_true(num(j, "metrics", "waiting", "max") == 26);
	assert_string_equal(str(j, "metrics", "kv_cache_usage", "source"), "sglang:token_usage");
	assert_true(num(j, "metrics", "kv_cache_usage", "last") == 0.71);
	assert_true(num(j, "metrics", "prefix_cache_hit_rate_gauge", "mean") == 0.25);
	assert_true(num(j, "metrics", "preemptions", "delta") == 5);
	assert_true(num(j, "metrics", "prompt_tokens", "delta") == 48000);
	assert_true(num(j, "metrics", "generation_tokens", "delta") == 24000);
	assert_true(fabs(num(j, "metrics", "prefix_cache_hit_rate", "value") - 0.25) < 1e-12);
	assert_true(num(j, "metrics", "request_success", "delta") == 240);
	assert_true(num(j, "metrics", "ttft", "count") == 240);
	assert_true(num(j, "metrics", "itl", "count") == 2400);
	assert_true(num(j, "metrics", "e2e", "count") == 240);
	assert_true(num(j, "metrics", "queue_time", "count") == 240);
	/* 23000 vs 24000 tokens (4%) and 200 vs 240 requests: both flagged */
	const cJSON *r = cJSON_GetObjectItem(j, "reconciliation");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "output_tokens"), "flag")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "completed_requests"), "flag")));
	assert_true(num(j, "reconciliation", "output_tokens", "difference") == -1000);
	cJSON_Delete(j);
	rm_rf(dir);
	free(dir);
}

/* A merged run (client threads) has no client_usage.json: the successful rows are summed. */
static void test_client_tokens_from_rows(void **state)
{
	(void)state;
	char *dir;
	cJSON *j = run_pages("vllm_v0_a.txt", "vllm_v0_b.txt", NULL, NULL,
	                     "{\"request_id\": 0, \"num_output_tokens\": 10000, \"success\": true}\n"
	                     "{\"request_id\": 1, \"num_output_tokens\": 6000}\n"
	                     "{\"request_id\": 2, \"num_output_tokens\": 7, \"success\": false}\n",
	                     &dir);
	assert_true(num(j, "reconciliation", "output_tokens", "client") == 16000);
	assert_true(num(j, "reconciliation", "output_tokens", "server") == 16000);
	cJSON_Delete(j);
	rm_rf(dir);
	free(dir);
}

static void test_counter_reset_late_series_failures(void **state)
{
	(void)state;
	struct obs_scraper *s = obs_scraper_new_for_test("http://x/metrics", prefixes, 3);
	const char *pages[] = {
	    "# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total 100\n",
	    "vllm:generation_tokens_total 150\n",
	    "vllm:generation_tokens_total 20\nvllm:request_success_total{finished_reason=\"stop\"} 4\n",
	    "vllm:generation_tokens_total 50\nvllm:request_success_total{finished_reason=\"stop\"} 6\nbroken{ 1\n",
	};
	obs_scraper_ingest(s, 1, NULL, 0, "HTTP 503");
	obs_scraper_ingest(s, 2, NULL, 0, "HTTP 503");
	for (int i = 0; i < 4; i++)
		obs_scraper_ingest(s, 10 + i, pages[i], strlen(pages[i]), NULL);
	assert_int_equal(obs_scraper_scrapes_ok(s), 4);
	assert_int_equal(obs_scraper_scrapes_failed(s), 2);
	char *dir = tmpdir();
	assert_int_equal(obs_scraper_write(s, dir, 0, NULL), 0);
	obs_scraper_free(s);
	cJSON *j = read_summary(dir);
	/* 100 -> 150 (+50) -> 20 (reset: +20) -> 50 (+30) */
	assert_true(num(j, "metrics", "generation_tokens", "delta") == 100);
	/* born after the baseline: counted from 0 */
	assert_true(num(j, "metrics", "request_success", "delta") == 6);
	assert_true(num(j, "scrapes_failed", NULL, NULL) == 2);
	assert_string_equal(str(j, "first_error", NULL, NULL), "HTTP 503");
	assert_true(num(j, "malformed_lines", NULL, NULL) == 1);
	cJSON_Delete(j);
	rm_rf(dir);
	free(dir);
}

/* The counters' increase over the run needs a page with samples before the run and one after it.
 * A baseline that failed, or was an HTML error page served with 200, and a final scrape that failed,
 * leave the server's side of the reconciliation unknown (null, not flagged), never a number made
 * from part of the run: with the HTML baseline every series of the next page would have counted as
 * born in the run (the server's whole history), with the failed one the increase before the first
 * page would have been lost. */
static void recon_partial_case(int kind)
{
	struct obs_scraper *s = obs_scraper_new_for_test("http://x/metrics", prefixes, 3);
	const char *html = "<html><body>502 Bad Gateway</body></html>\n";
	const char *mid = "# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total 5000000\n"
	                  "# TYPE vllm:request_success_total counter\nvllm:request_success_total 90000\n";
	const char *end = "# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total 5000100\n"
	                  "# TYPE vllm:request_success_total counter\nvllm:request_success_total 90010\n";
	if (kind == 0)
		obs_scraper_ingest(s, 1, html, strlen(html), NULL);
	else if (kind == 1)
		obs_scraper_ingest(s, 1, NULL, 0, "connection failed or no answer within 1.0 s");
	else
		obs_scraper_ingest(s, 1, mid, strlen(mid), NULL);
	obs_scraper_ingest(s, 2, mid, strlen(mid), NULL);
	obs_scraper_ingest(s, 3, end, strlen(end), NULL);
	if (kind == 2)
		obs_scraper_ingest(s, 4, NULL, 0, "HTTP 500");
	char *dir = tmpdir();
	put(dir, "summary_stats.json", "{\"Number of Completed Requests\": 10, \"Time to First Chunk (P50)\": 0.1}");
	put(dir, "client_usage.json", "{\"output_tokens\": 100}");
	assert_int_equal(obs_scraper_write(s, dir, 0, NULL), 0);
	obs_scraper_free(s);
	cJSON *j = read_summary(dir);
	const cJSON *rec = cJSON_GetObjectItemCaseSensitive(j, "reconciliation");
	static const char *const rows[] = {"output_tokens", "completed_requests", "ttfc_p50_s"};
	for (size_t i = 0; i < 3; i++) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(rec, rows[i]);
		assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "server")));
		assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r, "flag")));
	}
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "counters_cover_run")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, kind == 2 ? "final_ok" : "baseline_ok")));
	assert_non_null(str(j, "coverage_note", NULL, NULL));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "metrics"), "generation_tokens"),
	    "covers_run")));
	/* the increase that was seen: from the first page with samples, not the server's history */
	assert_true(num(j, "metrics", "generation_tokens", "delta") == 100);
	cJSON_Delete(j);
	rm_rf(dir);
	free(dir);
}

static void test_recon_needs_baseline_and_final(void **state)
{
	(void)state;
	recon_partial_case(0); /* an HTML page as the baseline */
	recon_partial_case(1); /* the baseline GET failed */
	recon_partial_case(2); /* the final GET failed */
	/* both there: the rows have their server side */
	char *dir;
	cJSON *j = run_pages("vllm_v0_a.txt", "vllm_v0_b.txt", NULL, "{\"output_tokens\": 16000}", NULL, &dir);
	assert_true(num(j, "reconciliation", "output_tokens", "server") == 16000);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "counters_cover_run")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "coverage_note")));
	cJSON_Delete(j);
	rm_rf(dir);
	free(dir);
}

/* A NaN, infinite or negative sample of a counter is no reading: the increase is taken around it
 * (100 -> NaN -> 200 -> -5 -> +Inf -> 300 is +200), and the samples are counted. Before, the NaN
 * made the next reading's increase vanish and the negative one was a "reset" adding -5, then 305. */
static void test_counter_invalid_samples(void **state)
{
	(void)state;
	struct obs_scraper *s = obs_scraper_new_for_test("http://x/metrics", prefixes, 3);
	static const char *const v[] = {"100", "NaN", "200", "-5", "+Inf", "300"};
	for (int i = 0; i < 6; i++) {
		char page[256];
		snprintf(page, sizeof page,
		         "# TYPE vllm:generation_tokens_total counter\nvllm:generation_tokens_total %s\n"
		         "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 1\n",
		         v[i]);
		obs_scraper_ingest(s, 1 + i, page, strlen(page), NULL);
	}
	char *dir = tmpdir();
	assert_int_equal(obs_scraper_write(s, dir, 0, NULL), 0);
	obs_scraper_free(s);
	cJSON *j = read_summary(dir);
	assert_true(num(j, "metrics", "generation_tokens", "delta") == 200);
	assert_true(num(j, "invalid_counter_samples", NULL, NULL) == 3);
	cJSON_Delete(j);
	rm_rf(dir);
	free(dir);
}

/* Past OBS_MAX_POINTS the stored scrapes thin out evenly (first and last kept); the summary still
 * sees every scrape. */
static void test_points_bounded(void **state)
{
	(void)state;
	enum { SERIES = 2000, SCRAPES = 700 };
	struct buf page;
	buf_init(&page);
	buf_puts(&page, "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 1\n");
	for (int i = 0; i < SERIES - 1; i++)
		buf_printf(&page, "vllm:x{i=\"%d\"} %d\n", i, i);
	struct obs_scraper *s = obs_scraper_new_for_test("http://x/metrics", prefixes, 3);
	for (int k = 0; k < SCRAPES; k++)
		obs_scraper_ingest(s, (int64_t)k * 1000000000LL, page.data, page.len, NULL);
	assert_true(s->n_points <= OBS_MAX_POINTS + SERIES);
	assert_true(s->stride >= 2);
	assert_true(s->n_stored < SCRAPES);
	assert_true(s->stored[0].t_ns == 0);
	for (size_t i = 1; i < s->n_stored; i++) /* in time order */
		assert_true(s->stored[i].t_ns > s->stored[i - 1].t_ns);
	assert_int_equal(s->gauges[0].n, SCRAPES); /* running: every scrape counted */
	assert_int_equal(obs_scraper_scrapes_ok(s), SCRAPES);
	char *dir = tmpdir();
	assert_int_equal(obs_scraper_write(s, dir, 0, NULL), 0);
	cJSON *j = read_summary(dir);
	assert_true(num(j, "csv_scrape_stride", NULL, NULL) >= 2);
	assert_true(num(j, "metrics", "running", "scrapes") == SCRAPES);
	cJSON_Delete(j);
	obs_scraper_free(s);
	buf_free(&page);
	rm_rf(dir);
	free(dir);
}

static void test_hist_quantile(void **state)
{
	(void)state;
	double le[] = {0.1, 0.25, INFINITY}, cum[] = {0, 100, 100}, w;
	assert_true(fabs(obs_hist_quantile(le, cum, 3, 0.5, &w) - 0.175) < 1e-12);
	assert_true(fabs(w - 0.15) < 1e-12);
	double cum2[] = {10, 10, 20};
	/* past the last finite bound: that bound, with an infinite width */
	assert_true(obs_hist_quantile(le, cum2, 3, 0.99, &w) == 0.25);
	assert_true(isinf(w));
	/* the first bucket interpolates from 0 */
	assert_true(fabs(obs_hist_quantile(le, cum2, 3, 0.25, &w) - 0.05) < 1e-12);
	double zero[] = {0, 0, 0};
	assert_true(isnan(obs_hist_quantile(le, zero, 3, 0.5, &w)));
	assert_true(isnan(obs_hist_quantile(le, cum, 0, 0.5, &w)));
}

static void test_metrics_url(void **state)
{
	(void)state;
	struct cfg_benchmark c;
	memset(&c, 0, sizeof c);
	c.client.api_base = "http://127.0.0.1:8000/v1";
	char *u = obs_metrics_url(&c);
	assert_string_equal(u, "http://127.0.0.1:8000/metrics");
	free(u);
	c.client.api_base = "https://user@host.example:443";
	u = obs_metrics_url(&c);
	assert_string_equal(u, "https://user@host.example:443/metrics");
	free(u);
	c.server_metrics.url = "http://10.0.0.1:9090/custom";
	u = obs_metrics_url(&c);
	assert_string_equal(u, "http://10.0.0.1:9090/custom");
	free(u);
	c.server_metrics.url = NULL;
	c.client.api_base = "no-scheme";
	assert_null(obs_metrics_url(&c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vllm_v1_every_key),
	    cmocka_unit_test(test_vllm_v0_names),
	    cmocka_unit_test(test_sglang_names),
	    cmocka_unit_test(test_client_tokens_from_rows),
	    cmocka_unit_test(test_counter_reset_late_series_failures),
	    cmocka_unit_test(test_recon_needs_baseline_and_final),
	    cmocka_unit_test(test_counter_invalid_samples),
	    cmocka_unit_test(test_points_bounded),
	    cmocka_unit_test(test_hist_quantile),
	    cmocka_unit_test(test_metrics_url),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
