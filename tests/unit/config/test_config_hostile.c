/* Unit tests of the configuration module against hostile input (issue 21): non-finite numbers in
 * files and flags, YAML alias bombs and recursive aliases, client URL and API key checks, and the
 * token-length limits. Every rejection must name file:line:column and the key path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config/config.h"

/* the message of the last config call that failed (config.h: the caller's err) */
static char vk_cfg_err[2048];

static int load_str(const char *yaml, struct config_benchmark_set *set)
{
	return config_load_benchmark_string(yaml, strlen(yaml), "t.yml", set, vk_cfg_err, sizeof vk_cfg_err);
}

/* Loads yaml, expects a usage error whose message contains every fragment (NULL-terminated). */
static void expect_error(const char *yaml, ...)
{
	struct config_benchmark_set set;
	int rc = load_str(yaml, &set);
	if (rc == CONFIG_OK)
		config_benchmark_set_free(&set);
	if (rc != CONFIG_EXIT_USAGE)
		fail_msg("expected a usage error for:\n%s", yaml);
	const char *err = vk_cfg_err;
	va_list ap;
	va_start(ap, yaml);
	for (const char *frag; (frag = va_arg(ap, const char *));)
		if (!strstr(err, frag))
			fail_msg("error '%s' lacks '%s' (input:\n%s)", err, frag, yaml);
	va_end(ap);
}

static void expect_ok(const char *yaml)
{
	struct config_benchmark_set set;
	if (load_str(yaml, &set) != CONFIG_OK)
		fail_msg("expected %s to load: %s", yaml, vk_cfg_err);
	config_benchmark_set_free(&set);
}

/* An unclosed flow collection is reported where the parser noticed it and where it was opened
 * (issue 20: "[1, 2" on line 4 used to be reported at line 6 only). Quoted brackets, comments and
 * brackets inside plain scalars do not count as openings. */
static void test_unclosed_flow_names_its_start(void **state)
{
	(void)state;
	expect_error("client:\n  type: openai_chat_completions\nruntime:\n  max_sessions: [1, 2\n"
	             "  benchmark_timeout: 5\nseed: 3\n",
	             "t.yml:6:", "flow sequence '[' opened at line 4, column 17 is not closed", NULL);
	expect_error("client:\n  model: '[x' # [ not this\n  additional_sampling_params: {a: 1\n"
	             "  api_key: k\nseed: 3\n",
	             "flow mapping '{' opened at line 3, column 31 is not closed", NULL);
}

static void test_non_finite_floats(void **state)
{
	(void)state;
	static const char *const vals[] = {".inf", "-.inf", ".nan", ".NaN", "+.Inf", "1e999", "-1e999"};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		char y[512];
		snprintf(y, sizeof y,
		         "traffic_scheduler:\n  type: rate\n  interval_generator:\n    type: poisson\n    "
		         "arrival_rate: %s\n",
		         vals[i]);
		expect_error(y, "t.yml:5:19: error: ", "traffic_scheduler.interval_generator.arrival_rate: ",
		             "must be a finite number", NULL);
	}
	/* the other generator keys named in issue 21, and a float of another section */
	expect_error("traffic_scheduler:\n  type: rate\n  interval_generator:\n    type: fixed\n    interval: .inf\n",
	             "t.yml:5:15:", "traffic_scheduler.interval_generator.interval: ", "finite", NULL);
	expect_error("traffic_scheduler:\n  type: rate\n  interval_generator:\n    type: gamma\n    cv: .nan\n",
	             "t.yml:5:9:", "traffic_scheduler.interval_generator.cv: ", "finite", NULL);
	expect_error(
	    "traffic_scheduler:\n  type: rate\n  interval_generator:\n    type: gamma\n    arrival_rate: .inf\n",
	    "t.yml:5:19:", "traffic_scheduler.interval_generator.arrival_rate: ", NULL);
	expect_error("server:\n  type: vllm\n  health_check_interval: .inf\n",
	             "t.yml:3:26:", "server.health_check_interval: ", "finite", NULL);
	/* large but finite stays a number */
	expect_ok(
	    "traffic_scheduler:\n  type: rate\n  interval_generator:\n    type: poisson\n    arrival_rate: 1e300\n");
	/* inside a JSON field: a mapping's .nan became the invalid text {"b": NaN} and the client's
	 * parameters were dropped; a JSON string's 1e999 became inf */
	expect_error("client:\n  type: openai_chat_completions\n  additional_sampling_params: {a: 1, b: .nan}\n",
	             "t.yml:3:41: error: client.additional_sampling_params: ", "finite", NULL);
	expect_error("server:\n  type: vllm\n  additional_args: {a: [1, {c: -.inf}]}\n",
	             "t.yml:3:32: error: server.additional_args: ", "finite", NULL);
	expect_error("client:\n  type: openai_chat_completions\n  additional_sampling_params: '{\"a\": 1e999}'\n",
	             "t.yml:3:32: error: client.additional_sampling_params: ", "finite", NULL);
	expect_ok(
	    "client:\n  type: openai_chat_completions\n  additional_sampling_params: {t: 0.5, s: [a], y: 1e300}\n");
}

static void test_non_finite_flags(void **state)
{
	(void)state;
	static const char *const vals[] = {"inf", "nan", "-inf", "1e999", ".inf", "Infinity"};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		char *argv[] = {"veeksha", "--traffic_scheduler.interval_generator.arrival_rate", (char *)vals[i]};
		struct config_benchmark_set set;
		int rc = config_parse_benchmark_args(3, argv, &set, vk_cfg_err, sizeof vk_cfg_err);
		if (rc == CONFIG_OK)
			config_benchmark_set_free(&set);
		assert_int_equal(rc, CONFIG_EXIT_USAGE);
		assert_non_null(strstr(vk_cfg_err, "traffic_scheduler.interval_generator.arrival_rate"));
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "Billion laughs": level k is a list of ten aliases of level k-1. */
static char *alias_bomb(int levels, const char *where)
{
	size_t cap = 4096 + (size_t)levels * 128;
	char *y = malloc(cap);
	size_t n =
	    (size_t)snprintf(y, cap, "%s\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n", where);
	for (int k = 1; k <= levels; k++)
		n += (size_t)snprintf(y + n, cap - n,
		                      "  a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", k,
		                      k, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1, k - 1);
	return y;
}

static void test_alias_bombs(void **state)
{
	(void)state;
	/* under an unknown key, and under a JSON field (server.additional_args) that converts its whole
	 * value: both must be rejected by the alias check itself, quickly */
	static const char *const wheres[] = {"bomb:", "server:\n type: vllm\n additional_args:"};
	static const int levels[] = {9, 10, 30};
	for (size_t w = 0; w < 2; w++)
		for (size_t l = 0; l < 3; l++) {
			char *y = alias_bomb(levels[l], wheres[w]);
			double t0 = now_s();
			expect_error(y, "t.yml:", "alias expansion exceeds 100000 nodes", NULL);
			double dt = now_s() - t0;
			if (dt > 2.0)
				fail_msg("a %d-level alias bomb took %.2f s to reject", levels[l], dt);
			free(y);
		}
	/* the error points at the line of the first level that crosses the limit (10^5 -> a4) */
	char *y = alias_bomb(10, "bomb:");
	expect_error(y, "t.yml:6:", NULL);
	free(y);
	/* an alias inside its own anchor is a cycle, not an endless walk */
	expect_error("server:\n  type: vllm\n  additional_args: &x {a: [1, *x]}\n", "t.yml:3:", "recursive alias",
	             NULL);
	/* nesting limits hold through aliases: a chain of anchors each 40 deep */
	char deep[8192];
	size_t n = (size_t)snprintf(deep, sizeof deep, "x0: &d0 ");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(deep + n, sizeof deep - n, "[");
	n += (size_t)snprintf(deep + n, sizeof deep - n, "1");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(deep + n, sizeof deep - n, "]");
	for (int k = 1; k < 8; k++) {
		n += (size_t)snprintf(deep + n, sizeof deep - n, "\nx%d: &d%d ", k, k);
		for (int i = 0; i < 40; i++)
			n += (size_t)snprintf(deep + n, sizeof deep - n, "[");
		n += (size_t)snprintf(deep + n, sizeof deep - n, "*d%d", k - 1);
		for (int i = 0; i < 40; i++)
			n += (size_t)snprintf(deep + n, sizeof deep - n, "]");
	}
	snprintf(deep + n, sizeof deep - n, "\n");
	expect_error(deep, "t.yml:", "nesting too deep once aliases are expanded", NULL);
	/* ordinary aliases still work */
	expect_ok("session_generator:\n  type: synthetic\n  channels:\n  - type: text\n"
	          "    body_length_generator: &len {type: uniform, min: 3, max: 4}\n"
	          "  output_spec:\n    text:\n      output_length_generator: *len\n");
}

static void test_api_base_and_key(void **state)
{
	(void)state;
	static const char *const bad[] = {"not a url",      "file:///etc/passwd",
	                                  "gopher://h/",    "http://",
	                                  "https:///v1",    "http://:8000/v1",
	                                  "http://h:0/",    "http://h:99999/",
	                                  "http://h:80x/",  "http://h /v1",
	                                  "localhost:8000", "http://[::1/v1",
	                                  "http://h:/v1",   "http://h:8000/v1?api-version=1",
	                                  "http://h/v1#f"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char y[512];
		snprintf(y, sizeof y, "client:\n  type: openai_chat_completions\n  api_base: '%s'\n", bad[i]);
		expect_error(y, "t.yml:3:14: error: client.api_base: ", NULL);
	}
	/* the request path is appended: a query or fragment would swallow it */
	expect_error("client:\n  type: openai_chat_completions\n  api_base: 'http://h/v1?x=1'\n",
	             "t.yml:3:14: error: client.api_base: must not have a query (?) or fragment (#)", NULL);
	static const char *const good[] = {
	    "http://localhost:8000/v1", "https://api.example.com/v1", "HTTP://h",
	    "http://user:pw@h:1/x",     "http://[::1]:8000/v1",       "http://127.0.0.1:65535"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char y[512];
		snprintf(y, sizeof y, "client:\n  type: openai_chat_completions\n  api_base: '%s'\n", good[i]);
		expect_ok(y);
		assert_null(config_check_api_base(good[i]));
	}
	/* CR/LF (header injection) and other control characters in keys: the message never echoes the key */
	expect_error("client:\n  type: openai_chat_completions\n  api_key: \"sk-1\\r\\nX-Injected: 1\"\n",
	             "t.yml:3:13: error: client.api_key: ", "control characters", NULL);
	assert_null(strstr(vk_cfg_err, "X-Injected"));
	expect_error("server:\n  type: vllm\n  api_key: \"a\\tb\"\n", "t.yml:3:13: error: server.api_key: ", NULL);
	assert_non_null(config_check_api_key("a\nb"));
	assert_non_null(config_check_api_key("a\x7f"));
	assert_null(config_check_api_key("sk-abc_DEF.123 ok"));
}

/* A key taken from OPENAI_API_KEY is recorded as such in config.yml (redacted), and that file loads. */
static void test_env_key_recorded(void **state)
{
	(void)state;
	struct config_benchmark_set set;
	assert_int_equal(load_str("seed: 1\n", &set), CONFIG_OK);
	setenv("OPENAI_API_KEY", "sk-from-env-123", 1);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	config_benchmark_write_yaml(&set.items[0], f, 1);
	fclose(f);
	assert_non_null(strstr(buf, "  api_key: '*** (from OPENAI_API_KEY)'\n"));
	assert_null(strstr(buf, "sk-from-env-123"));
	struct config_benchmark_set again;
	assert_int_equal(config_load_benchmark_string(buf, len, "config.yml", &again, vk_cfg_err, sizeof vk_cfg_err),
	                 CONFIG_OK);
	config_benchmark_set_free(&again);
	free(buf);
	unsetenv("OPENAI_API_KEY");
	buf = NULL;
	f = open_memstream(&buf, &len);
	config_benchmark_write_yaml(&set.items[0], f, 1);
	fclose(f);
	assert_non_null(strstr(buf, "  api_key: null\n"));
	free(buf);
	config_benchmark_set_free(&set);
}

/* Length generators past the limit are config errors at the key that sets the length. */
static void test_length_limits(void **state)
{
	(void)state;
	const char *body = "session_generator:\n  type: synthetic\n  channels:\n  - type: text\n"
	                   "    body_length_generator:\n";
	char y[1024];
	snprintf(y, sizeof y, "%s      type: fixed\n      value: 2000000000\n", body);
	expect_error(y, "t.yml:7:14: error: session_generator.channels[0].body_length_generator.value: ",
	             "2000000000 exceeds the limit of 1048576 (runtime.max_request_tokens)", NULL);
	snprintf(y, sizeof y, "%s      type: uniform\n      min: 1\n      max: 1048577\n", body);
	expect_error(y, "t.yml:8:12: error: session_generator.channels[0].body_length_generator.max: ", NULL);
	snprintf(y, sizeof y, "%s      type: fixed_stair\n      values: [1, 5000000]\n", body);
	expect_error(y, "t.yml:7:15: error: session_generator.channels[0].body_length_generator.values: ", NULL);
	snprintf(y, sizeof y, "%s      type: inverse_gaussian\n      mean: 2e6\n      shape: 10\n", body);
	expect_error(y, "session_generator.channels[0].body_length_generator.mean: ", "mean 2e+06 exceeds", NULL);
	/* exactly at the limit is fine; the limit is configurable */
	snprintf(y, sizeof y, "%s      type: fixed\n      value: 1048576\n", body);
	expect_ok(y);
	snprintf(y, sizeof y, "runtime:\n  max_request_tokens: 4000000\n%s      type: fixed\n      value: 2000000\n",
	         body);
	expect_ok(y);
	expect_error("runtime:\n  max_request_tokens: 0\n", "t.yml:2:23: error: runtime.max_request_tokens: ", NULL);
	/* output lengths too */
	expect_error(
	    "session_generator:\n  type: synthetic\n  output_spec:\n    text:\n      output_length_generator:\n"
	    "        type: fixed\n        value: 2000000\n",
	    "t.yml:7:16: error: session_generator.output_spec.text.output_length_generator.value: ", NULL);
	/* a managed server's context is the limit when smaller */
	snprintf(y, sizeof y,
	         "server:\n  type: sim\n  max_model_len: 4096\n%s      type: uniform\n      min: 1\n      max: 5000\n",
	         body);
	expect_error(y, "t.yml:11:12: error: session_generator.channels[0].body_length_generator.max: ",
	             "prompts of up to 5000 tokens and outputs of up to 12 tokens do not fit the model's context of "
	             "4096 tokens (server.max_model_len)",
	             NULL);
	/* prompt + output must fit: the output generator is named when the prompt alone fits */
	snprintf(y, sizeof y,
	         "server:\n  type: sim\n  max_model_len: 4096\n%s      type: fixed\n      value: 4000\n"
	         "  output_spec:\n    text:\n      output_length_generator: {type: fixed, value: 100}\n",
	         body);
	expect_error(y, "t.yml:13:53: error: session_generator.output_spec.text.output_length_generator.value: ", NULL);
	snprintf(y, sizeof y,
	         "server:\n  type: sim\n  max_model_len: 4096\n%s      type: fixed\n      value: 4000\n"
	         "  output_spec:\n    text:\n      output_length_generator: {type: fixed, value: 96}\n",
	         body);
	expect_ok(y);
	/* the same rule for a context reported by the server (config_check_context) */
	struct config_benchmark_set set0;
	snprintf(y, sizeof y, "%s      type: fixed\n      value: 9000\n", body);
	assert_int_equal(load_str(y, &set0), CONFIG_OK);
	char bad[160] = "", why[512] = "";
	assert_int_equal(config_check_context(&set0.items[0], 8192, "reported", bad, sizeof bad, why, sizeof why), -1);
	assert_string_equal(bad, "session_generator.channels[0].body_length_generator.value");
	assert_non_null(strstr(why, "do not fit the model's context of 8192 tokens (reported)"));
	assert_int_equal(config_check_context(&set0.items[0], 10000, "reported", bad, sizeof bad, why, sizeof why), 0);
	config_benchmark_set_free(&set0);
	/* a trace flavor's block_size / page_size, where the flavor uses it (docs/TRACES.md) */
	expect_error("session_generator:\n  type: trace\n  trace_file: t.jsonl\n  flavor:\n    type: mooncake\n"
	             "    block_size: 99999999999\n",
	             "t.yml:6:17: error: session_generator.flavor.block_size: ",
	             "99999999999 exceeds the limit of 1048576 (runtime.max_request_tokens)", NULL);
	expect_error(
	    "server: {type: sim, max_model_len: 256}\nsession_generator:\n  type: trace\n  trace_file: t.jsonl\n"
	    "  flavor:\n    type: timed_synthetic_multi_turn\n    page_size: 1000\n",
	    "t.yml:7:16: error: session_generator.flavor.page_size: ",
	    "1000 exceeds the limit of 256 (server.max_model_len", NULL);
	expect_ok("server: {type: sim, max_model_len: 256}\nsession_generator:\n  type: trace\n  trace_file: t.jsonl\n"
	          "  flavor: {type: request_log}\n");
	/* server settings that the launch refused without a file or line are config errors */
	expect_error("server:\n  type: vllm\n  model: ''\n", "t.yml:3:11: error: server.model: must not be empty",
	             NULL);
	expect_error("server:\n  type: vllm\n  host: ''\n", "t.yml:3:10: error: server.host: must not be empty", NULL);
	expect_error("server:\n  type: vllm\n  tensor_parallel_size: 2\n  gpu_ids: [1, 1]\n",
	             "t.yml:4:12: error: server.gpu_ids: GPU 1 listed twice", NULL);
	expect_ok("server:\n  type: vllm\n  tensor_parallel_size: 2\n  gpu_ids: [2, 3]\n");
	expect_ok("server:\n  type: sim\n  gpu_ids: [0, 1]\n"); /* the sim uses no GPU */
	/* max_model_len: 0 was read as null (no limit, no --max-model-len) */
	expect_error("server:\n  type: vllm\n  max_model_len: 0\n",
	             "t.yml:3:18: error: server.max_model_len: must be > 0 or null, got 0", NULL);
	expect_ok("server:\n  type: vllm\n  max_model_len: null\n");
	/* requests per session */
	expect_error("session_generator:\n  type: synthetic\n  session_graph:\n    type: linear\n"
	             "    num_request_generator: {type: fixed, value: 2000000000}\n",
	             "t.yml:5:49: error: session_generator.session_graph.num_request_generator.value: ", NULL);
	expect_error("session_generator:\n  type: synthetic\n  session_graph:\n    type: branching\n"
	             "    num_layers_generator: {type: fixed, value: 1000}\n"
	             "    layer_width_generator: {type: fixed, value: 1000}\n",
	             "session_generator.session_graph.num_layers_generator: ", "requests per session", NULL);
	/* the prompt text of one session: requests x prompt length <= 16 x the limit */
	expect_error("session_generator:\n  type: synthetic\n  session_graph:\n    type: linear\n"
	             "    num_request_generator: {type: fixed, value: 100}\n"
	             "  channels:\n  - type: text\n    body_length_generator: {type: fixed, value: 1000000}\n",
	             "t.yml:8:28: error: session_generator.channels[0].body_length_generator: ",
	             "sessions of up to 100 requests with prompts of up to 1000000 tokens", NULL);
	expect_ok("session_generator:\n  type: synthetic\n  session_graph:\n    type: linear\n"
	          "    num_request_generator: {type: fixed, value: 16}\n"
	          "  channels:\n  - type: text\n    body_length_generator: {type: fixed, value: 1000000}\n");
	/* the same through a flag: the flag is named */
	char *argv[] = {"veeksha", "--session_generator.channels",
	                "[{type: text, body_length_generator: {type: fixed, value: 3000000}}]"};
	struct config_benchmark_set set;
	int rc = config_parse_benchmark_args(3, argv, &set, vk_cfg_err, sizeof vk_cfg_err);
	if (rc == CONFIG_OK)
		config_benchmark_set_free(&set);
	assert_int_equal(rc, CONFIG_EXIT_USAGE);
	assert_non_null(strstr(vk_cfg_err, "exceeds the limit of 1048576"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unclosed_flow_names_its_start),
	    cmocka_unit_test(test_non_finite_floats),
	    cmocka_unit_test(test_non_finite_flags),
	    cmocka_unit_test(test_alias_bombs),
	    cmocka_unit_test(test_api_base_and_key),
	    cmocka_unit_test(test_env_key_recorded),
	    cmocka_unit_test(test_length_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
