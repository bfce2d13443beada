/* Replays the Python Veeksha's reference run (tests/unit/metrics/data/reference_run, copied from
 * the spec's reference_run/) through the evaluator: registrations from its dispatch trace,
 * records rebuilt from its request_level_metrics.jsonl (times at the 5-dp resolution the file
 * has). Files whose content depends only on those values must come out byte-identical. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "metrics/evaluator.h"

#define START 1000000000000LL

static char *slurp_path(const char *p)
{
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

static char *ref(const char *name)
{
	const char *src = getenv("VK_SOURCE_DIR");
	char p[1024];
	snprintf(p, sizeof p, "%s/tests/unit/metrics/data/reference_run/%s", src ? src : ".", name);
	char *s = slurp_path(p);
	if (!s)
		fail_msg("cannot read %s", p);
	return s;
}

static char *out(const char *dir, const char *name)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	char *s = slurp_path(p);
	if (!s)
		fail_msg("missing %s", p);
	return s;
}

static int64_t ns_at(double s)
{
	return START + llround(s * 1e9);
}

/* The text of one check (from its "=====\nNAME" header to the next header or the end). */
static char *section(const char *text, const char *name)
{
	char head[200];
	snprintf(head, sizeof head, "============================================================\n%s\n", name);
	const char *a = strstr(text, head);
	if (!a)
		return NULL;
	const char *b = strstr(a + strlen(head) + 61, "============================================================\n");
	while (b && strncmp(b + 61, "Result", 6) == 0) /* the closing rule of the header */
		b = strstr(b + 61, "============================================================\n");
	size_t n = b ? (size_t)(b - a) : strlen(a);
	char *s = malloc(n + 1);
	memcpy(s, a, n);
	s[n] = '\0';
	return s;
}

/* Replace the numbers after the derived keys (recomputed from 5-dp inputs) with "X". */
static char *blank_derived(const char *s)
{
	static const char *keys[] = {"\"tpot\": ", "\"end_to_end_latency\": ", "\"output_throughput\": "};
	size_t n = strlen(s);
	char *o = malloc(n + 1), *w = o;
	while (*s) {
		bool hit = false;
		for (size_t k = 0; k < 3; k++) {
			size_t kl = strlen(keys[k]);
			if (strncmp(s, keys[k], kl) == 0) {
				memcpy(w, s, kl);
				w += kl;
				s += kl;
				while (*s && *s != ',' && *s != '}')
					s++;
				*w++ = 'X';
				hit = true;
				break;
			}
		}
		if (!hit)
			*w++ = *s++;
	}
	*w = '\0';
	return o;
}

static void expect_same(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) != 0) {
		size_t i = 0;
		while (got[i] && got[i] == want[i])
			i++;
		size_t from = i > 120 ? i - 120 : 0;
		fprintf(stderr, "%s differs at byte %zu\n--- got:  ...%.240s\n--- want: ...%.240s\n", what, i,
		        got + from, want + from);
		fail_msg("%s differs", what);
	}
}

/* The reference's slo_results.json with what we add (docs/FAILURES.md, The verdict): an empty
 * "verdict_reasons" after "all_slos_met" and the error-rate objective after its results. */
static char *with_verdict_additions(const char *ref_text)
{
	const char *met = "\"all_slos_met\": true,\n";
	const char *reasons = "  \"verdict_reasons\": [],\n";
	const char *tail = "\n  ]\n}";
	const char *rate = ",\n    {\n      \"met\": true,\n      \"slo_metric_key\": \"error_rate\",\n"
	                   "      \"observed_value\": 0.0,\n      \"threshold\": 0.0,\n      \"percentile\": null,\n"
	                   "      \"metric\": \"error_rate\",\n      \"name\": \"Error Rate\",\n"
	                   "      \"lower_is_better\": true\n    }";
	const char *m = strstr(ref_text, met);
	size_t n = strlen(ref_text);
	assert_non_null(m);
	assert_true(n > strlen(tail) && strcmp(ref_text + n - strlen(tail), tail) == 0);
	char *o = malloc(n + strlen(reasons) + strlen(rate) + 1);
	size_t head = (size_t)(m - ref_text) + strlen(met);
	size_t body = n - strlen(tail) - head;
	sprintf(o, "%.*s%s%.*s%s%s", (int)head, ref_text, reasons, (int)body, ref_text + head, rate, tail);
	return o;
}

static void test_replay(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/vk_metrics_replay_XXXXXX";
	char *dir = mkdtemp(tmpl);
	assert_non_null(dir);

	struct cfg_slo slos[2] = {
	    {.percentile = 0.99, .name = "P99 TTFC", .metric = CFG_SLO_TTFC, .value = 0.5},
	    {.percentile = 0.9, .name = "P90 TBC", .metric = CFG_SLO_TBC, .value = 0.05},
	};
	struct cfg_evaluator ev = {0};
	ev.type = CFG_EVAL_PERFORMANCE;
	ev.slos = slos;
	ev.n_slos = 2;
	struct cfg_benchmark cfg = {0};
	cfg.evaluators = &ev;
	cfg.n_evaluators = 1;
	cfg.trace_recorder.enabled = true;
	cfg.trace_recorder.include_content = true;
	cfg.traffic_scheduler.type = CFG_TRAFFIC_RATE;
	cfg.traffic_scheduler.interval_generator.type = CFG_INTERVAL_POISSON;
	cfg.traffic_scheduler.interval_generator.arrival_rate = 4.0;
	struct evaluator *e = eval_create(&cfg, dir, START, "words");
	assert_non_null(e);

	/* registrations, in the trace's order */
	char *trace = ref("dispatch_trace.jsonl");
	for (char *line = strtok(trace, "\n"); line; line = strtok(NULL, "\n")) {
		cJSON *j = cJSON_Parse(line);
		assert_non_null(j);
		cJSON *ctx = cJSON_GetObjectItem(j, "session_context");
		cJSON *text = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "channels"), "text");
		cJSON *hist = cJSON_GetObjectItem(j, "history");
		struct wl_request q = {0};
		q.id = (uint64_t)cJSON_GetObjectItem(j, "request_id")->valuedouble;
		q.session_id = (uint64_t)cJSON_GetObjectItem(j, "session_id")->valuedouble;
		q.node_id = (uint32_t)cJSON_GetObjectItem(ctx, "node_id")->valuedouble;
		q.wait_after_ready_s = cJSON_GetObjectItem(ctx, "wait_after_ready")->valuedouble;
		cJSON *hp = cJSON_GetObjectItem(ctx, "history_parent");
		q.history_parent = cJSON_IsNull(hp) ? -1 : (int32_t)hp->valuedouble;
		cJSON *par = cJSON_GetObjectItem(ctx, "parent_nodes");
		q.n_parents = (size_t)cJSON_GetArraySize(par);
		q.parent_nodes = calloc(q.n_parents + 1, sizeof *q.parent_nodes);
		for (size_t i = 0; i < q.n_parents; i++)
			q.parent_nodes[i] = (uint32_t)cJSON_GetArrayItem(par, (int)i)->valuedouble;
		q.prompt_text = cJSON_GetObjectItem(text, "input_text")->valuestring;
		q.target_prompt_tokens = (int64_t)cJSON_GetObjectItem(text, "target_prompt_tokens")->valuedouble;
		q.n_history = (size_t)cJSON_GetArraySize(hist);
		q.history = calloc(q.n_history + 1, sizeof *q.history);
		for (size_t i = 0; i < q.n_history; i++) {
			cJSON *m = cJSON_GetArrayItem(hist, (int)i);
			q.history[i].role = cJSON_GetObjectItem(m, "role")->valuestring;
			q.history[i].content = cJSON_GetObjectItem(m, "content")->valuestring;
		}
		int64_t t = ns_at(cJSON_GetObjectItem(j, "dispatched_at")->valuedouble);
		eval_register_request(e, &q, (uint32_t)cJSON_GetObjectItem(j, "session_size")->valuedouble, t, t);
		free(q.parent_nodes);
		free(q.history);
		cJSON_Delete(j);
	}
	free(trace);

	/* completions, in the metrics file's order */
	char *rows = ref("request_level_metrics.jsonl");
	double last = 0;
	for (char *line = strtok(rows, "\n"); line; line = strtok(NULL, "\n")) {
		cJSON *j = cJSON_Parse(line);
		assert_non_null(j);
		if (cJSON_IsFalse(cJSON_GetObjectItem(j, "success"))) { /* a failed row: no latencies to replay */
			cJSON_Delete(j);
			continue;
		}
#define D(k) (cJSON_GetObjectItem(j, k)->valuedouble)
		struct rec_record r;
		rec_init(&r);
		r.request_id = (uint64_t)D("request_id");
		r.session_id = (uint64_t)D("session_id");
		r.session_total_requests = (uint32_t)D("session_total_requests");
		r.intended_ns = ns_at(D("scheduler_ready_at"));
		r.dispatched_ns = ns_at(D("scheduler_dispatched_at"));
		r.sent_ns = ns_at(D("client_picked_up_at"));
		r.completed_ns = ns_at(D("client_completed_at"));
		r.processed_ns = ns_at(D("result_processed_at"));
		int64_t t = r.sent_ns + llround(D("ttfc") * 1e9);
		rec_add_chunk(&r, t, 1);
		cJSON *tbc = cJSON_GetObjectItem(j, "tbc");
		for (int i = 0; i < cJSON_GetArraySize(tbc); i++) {
			t += llround(cJSON_GetArrayItem(tbc, i)->valuedouble * 1e9);
			rec_add_chunk(&r, t, 1);
		}
		r.num_delta_prompt_tokens = (int64_t)D("num_delta_prompt_tokens");
		r.num_total_prompt_tokens = (int64_t)D("num_total_prompt_tokens");
		r.target_prompt_tokens = (int64_t)D("target_num_delta_prompt_tokens");
		r.num_output_tokens = (int64_t)D("num_output_tokens");
		r.requested_output_tokens = (int64_t)D("num_requested_output_tokens");
		r.is_stream = true;
		r.success = true;
		if (D("client_completed_at") > last)
			last = D("client_completed_at");
#undef D
		/* node ids come from the registration (the metrics file has none) */
		eval_record_completed(e, &r, true);
		rec_free(&r);
		cJSON_Delete(j);
	}
	free(rows);
	assert_int_equal(eval_finalize(e, ns_at(last + 0.01)), 1);

	char mdir[600];
	snprintf(mdir, sizeof mdir, "%s/metrics", dir);

	/* dispatch trace with content: byte-identical */
	char *a = out(dir, "traces/dispatch_trace.jsonl"), *b = ref("dispatch_trace.jsonl");
	expect_same("dispatch_trace.jsonl", a, b);
	free(a);
	free(b);

	/* SLO results: computed from the rounded per-request values -> byte-identical, plus our additions */
	a = out(mdir, "slo_results.json");
	b = ref("slo_results.json");
	char *bw = with_verdict_additions(b);
	expect_same("slo_results.json", a, bw);
	free(bw);
	free(a);
	free(b);

	/* chrome trace: event shapes, ts/dur arithmetic and formatting -> byte-identical, apart from
	 * the three derived values in the Prefill args */
	a = out(mdir, "chrome_trace.json");
	b = ref("chrome_trace.json");
	char *ba = blank_derived(a), *bb = blank_derived(b);
	expect_same("chrome_trace.json", ba, bb);
	free(ba);
	free(bb);
	free(a);
	free(b);

	/* health checks: every check byte-identical (the reference's rate check, unlike its
	 * summary's "Observed Session Dispatch Rate", already used first-dispatch times) */
	a = out(dir, "health_check_results.txt");
	b = ref("health_check_results.txt");
	const char *same[] = {"INTRA-SESSION REQUEST ARRIVAL CHECK", "SESSION DISPATCH RATE CHECK",
	                      "PROMPT LENGTH CHECK", "OUTPUT LENGTH CHECK", "LIFECYCLE TIMING DELAYS CHECK"};
	for (size_t i = 0; i < 5; i++) {
		char *x = section(a, same[i]), *y = section(b, same[i]);
		assert_non_null(x);
		assert_non_null(y);
		expect_same(same[i], x, y);
		free(x);
		free(y);
	}
	expect_same("health_check_results.txt", a, b);
	free(a);
	free(b);

	/* integer series' CSVs (values independent of the 5-dp rounding): byte-identical */
	const char *csvs[] = {"num_prompt_tokens.csv", "num_output_tokens.csv", "num_total_tokens.csv",
	                      "session_size.csv"};
	for (size_t i = 0; i < 4; i++) {
		a = out(mdir, csvs[i]);
		b = ref(csvs[i]);
		expect_same(csvs[i], a, b);
		free(a);
		free(b);
	}

	/* prefill_stats.json: same groups (keys, order, counts) and keys per group; the values are
	 * exact-TTFC statistics, which differ below the file's 5-dp resolution */
	a = out(mdir, "prefill_stats.json");
	b = ref("prefill_stats.json");
	cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
	cJSON *ga = cJSON_GetObjectItem(ja, "groups"), *gb = cJSON_GetObjectItem(jb, "groups");
	assert_string_equal(cJSON_GetObjectItem(ja, "group_by")->valuestring,
	                    cJSON_GetObjectItem(jb, "group_by")->valuestring);
	assert_int_equal(cJSON_GetArraySize(ga), cJSON_GetArraySize(gb));
	for (cJSON *x = ga->child, *y = gb->child; x && y; x = x->next, y = y->next) {
		assert_string_equal(x->string, y->string);
		assert_int_equal(cJSON_GetObjectItem(x, "count")->valuedouble,
		                 cJSON_GetObjectItem(y, "count")->valuedouble);
		for (cJSON *kx = x->child, *ky = y->child; kx || ky; kx = kx->next, ky = ky->next) {
			assert_true(kx && ky);
			assert_string_equal(kx->string, ky->string);
			assert_true(fabs(kx->valuedouble - ky->valuedouble) <= 2e-5);
		}
	}
	cJSON_Delete(ja);
	cJSON_Delete(jb);
	free(a);
	free(b);

	/* request rows: the reference's keys and values up to the tbc list (the derived floats are
	 * recomputed from 5-dp inputs, so compare only the measured fields) */
	a = out(mdir, "request_level_metrics.jsonl");
	b = ref("request_level_metrics.jsonl");
	char *sa = NULL, *sb = NULL;
	char *la = strtok_r(a, "\n", &sa), *lb = strtok_r(b, "\n", &sb);
	int n = 0;
	for (; la && lb; la = strtok_r(NULL, "\n", &sa), lb = strtok_r(NULL, "\n", &sb), n++) {
		char *ca = strstr(la, "\"tpot\""), *cb = strstr(lb, "\"tpot\"");
		assert_non_null(ca);
		assert_non_null(cb);
		assert_int_equal(ca - la, cb - lb);
		assert_true(strncmp(la, lb, (size_t)(ca - la)) == 0);
		char *ta = strstr(la, "\"tbc\": ["), *tb = strstr(lb, "\"tbc\": [");
		size_t tl = strcspn(tb, "]");
		assert_true(strncmp(ta, tb, tl + 1) == 0);
		assert_non_null(strstr(la, "], \"dispatch_lateness\": 0.0, \"e2e_from_intended\": "));
	}
	assert_null(la);
	assert_null(lb);
	assert_int_equal(n, 22);
	free(a);
	free(b);

	/* summary: reference counters identical except the dispatch rate (real dispatch times) */
	a = out(mdir, "summary_stats.json");
	assert_true(
	    strncmp(
	        a,
	        "{\n  \"Number of Requests\": 22,\n  \"Number of Errored Requests\": 0,\n"
	        "  \"Number of Completed Requests\": 22,\n  \"Number of Cancelled Requests\": 0,\n"
	        "  \"Error Rate\": 0.0,\n  \"Cancellation Rate\": 0.0,\n  \"Number of Sessions Seen\": 8.0,\n"
	        "  \"Successful Sessions\": 8.0,\n  \"Errored Sessions\": 0.0,\n  \"Cancelled Sessions\": 0.0,\n"
	        "  \"Incomplete Sessions\": 0.0,\n  \"Observed Session Dispatch Rate\": ",
	        strlen("{\n  \"Number of Requests\": 22,\n  \"Number of Errored Requests\": 0,\n"
	               "  \"Number of Completed Requests\": 22,\n  \"Number of Cancelled Requests\": 0,\n"
	               "  \"Error Rate\": 0.0,\n  \"Cancellation Rate\": 0.0,\n  \"Number of Sessions Seen\": 8.0,\n"
	               "  \"Successful Sessions\": 8.0,\n  \"Errored Sessions\": 0.0,\n  \"Cancelled Sessions\": 0.0,\n"
	               "  \"Incomplete Sessions\": 0.0,\n  \"Observed Session Dispatch Rate\": ")) == 0);
	free(a);

	eval_free(e);
	if (!getenv("VK_TEST_KEEP")) {
		char cmd[700];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
	} else {
		fprintf(stderr, "kept %s\n", dir);
	}
}

int main(void)
{
	setenv("VK_NO_PLOTS", "1", 1);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
