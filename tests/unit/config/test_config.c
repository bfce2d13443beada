/* Unit tests of the configuration module: defaults, scalar typing, loading, !expand, CLI flags,
 * serialisation, strict errors (every file of tests/data/config/bad/), capacity and microbench. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/config_internal.h"

/* the message of the last config call that failed (config.h: the caller's err) */
static char vk_cfg_err[2048];

static const char *src_dir(void)
{
	const char *s = getenv("VK_SOURCE_DIR");
	return s ? s : ".";
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

static char *to_yaml(const struct cfg_benchmark *c, int redact)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	config_benchmark_write_yaml(c, f, redact);
	fclose(f);
	return buf;
}

static int load_str(const char *yaml, struct config_benchmark_set *set)
{
	return config_load_benchmark_string(yaml, strlen(yaml), "t.yml", set, vk_cfg_err, sizeof vk_cfg_err);
}

static void test_defaults(void **state)
{
	(void)state;
	struct cfg_benchmark c;
	config_benchmark_defaults(&c);
	assert_string_equal(c.output_dir, "benchmark_output");
	assert_int_equal(c.seed, 42);
	assert_int_equal(c.session_generator.type, CFG_SESSION_GEN_SYNTHETIC);
	assert_int_equal(c.session_generator.session_graph.type, CFG_GRAPH_LINEAR);
	assert_int_equal(c.session_generator.session_graph.num_request_generator.min, 6);
	assert_int_equal(c.session_generator.session_graph.num_request_generator.max, 12);
	assert_int_equal(c.session_generator.n_channels, 1);
	assert_true(c.session_generator.output_spec.has_text);
	assert_false(c.session_generator.output_spec.has_image);
	assert_int_equal(c.traffic_scheduler.type, CFG_TRAFFIC_RATE);
	assert_true(c.traffic_scheduler.cancel_session_on_failure);
	assert_true(c.traffic_scheduler.interval_generator.arrival_rate == 1.0);
	assert_int_equal(c.n_evaluators, 1);
	assert_int_equal(c.evaluators[0].n_slos, 2);
	assert_string_equal(c.evaluators[0].slos[0].name, "P99 TTFC");
	assert_true(c.evaluators[0].slos[1].value == 0.05);
	assert_int_equal(c.client.type, CFG_CLIENT_CHAT);
	assert_string_equal(c.client.model, "meta-llama/Meta-Llama-3-8B-Instruct");
	assert_string_equal(c.client.max_tokens_param, "max_completion_tokens");
	assert_string_equal(c.client.additional_sampling_params, "{}");
	assert_null(c.client.api_base);
	assert_int_equal(c.client.request_timeout, 300);
	assert_int_equal(c.runtime.max_sessions, 25);
	assert_int_equal(c.runtime.benchmark_timeout, 300);
	assert_int_equal(c.runtime.post_timeout_grace_seconds, -1);
	assert_int_equal(c.runtime.num_client_threads, 1);
	assert_true(c.trace_recorder.enabled);
	assert_false(c.has_server);
	assert_true(c.wandb.log_artifacts);
	config_benchmark_free(&c);

	struct cfg_server s;
	config_server_defaults(&s, CFG_SERVER_SGLANG);
	assert_int_equal(s.type, CFG_SERVER_SGLANG);
	assert_int_equal(s.port, 8000);
	assert_string_equal(s.api_key, "token-abc123");
	assert_string_equal(s.host, "localhost");
	assert_true(s.health_check_interval == 2.0);
	assert_false(s.has_gpu_ids);
	char *j = config_server_canonical_json(&s);
	assert_non_null(strstr(j, "\"type\": \"sglang\""));
	free(j);
	struct cfg_benchmark tmp;
	config_benchmark_defaults(&tmp);
	cfg_obj_free(&cfg_cls_server, &tmp.server);
	tmp.server = s; /* hand over ownership to be freed with tmp */
	tmp.has_server = true;
	config_benchmark_free(&tmp);
}

static void test_scalars(void **state)
{
	(void)state;
	struct {
		const char *t;
		bool quoted;
		enum sv_kind k;
		int64_t i;
		double d;
		bool b;
	} cases[] = {
	    {"yes", false, SV_BOOL, 0, 0, true},         {"Off", false, SV_BOOL, 0, 0, false},
	    {"ON", false, SV_BOOL, 0, 0, true},          {"true", true, SV_STR, 0, 0, false},
	    {"~", false, SV_NULL, 0, 0, false},          {"null", false, SV_NULL, 0, 0, false},
	    {"", false, SV_NULL, 0, 0, false},           {"0x1F", false, SV_INT, 31, 0, false},
	    {"1_000", false, SV_INT, 1000, 0, false},    {"010", false, SV_INT, 8, 0, false},
	    {"0b101", false, SV_INT, 5, 0, false},       {"1:30", false, SV_INT, 90, 0, false},
	    {"-7", false, SV_INT, -7, 0, false},         {"42", true, SV_STR, 0, 0, false},
	    {"1.5", false, SV_FLOAT, 0, 1.5, false},     {"1e3", false, SV_FLOAT, 0, 1000.0, false},
	    {"1.0e-2", false, SV_FLOAT, 0, 0.01, false}, {"5.", false, SV_FLOAT, 0, 5.0, false},
	    {"y", false, SV_STR, 0, 0, false},           {"abc", false, SV_STR, 0, 0, false},
	    {"1.2.3", false, SV_STR, 0, 0, false},       {"0o10", false, SV_STR, 0, 0, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct sval v;
		cfg_scalar_resolve(cases[i].t, cases[i].quoted, &v);
		if (v.k != cases[i].k)
			fail_msg("'%s': kind %d, expected %d", cases[i].t, v.k, cases[i].k);
		if (v.k == SV_INT)
			assert_int_equal(v.i, cases[i].i);
		if (v.k == SV_FLOAT)
			assert_true(v.d == cases[i].d);
		if (v.k == SV_BOOL)
			assert_int_equal(v.b, cases[i].b);
	}
	struct sval v;
	cfg_scalar_resolve(".inf", false, &v);
	assert_int_equal(v.k, SV_FLOAT);
	assert_true(v.d > 1e308);
	cfg_scalar_resolve("-.inf", false, &v);
	assert_true(v.d < -1e308);
	int64_t n;
	assert_true(cfg_parse_int_text("1_000", &n));
	assert_int_equal(n, 1000);
	assert_false(cfg_parse_int_text("0x10", &n));
	assert_false(cfg_parse_int_text("1.5", &n));
	double d;
	assert_true(cfg_parse_float_text("1e3", &d));
	assert_true(d == 1000.0);
	assert_true(cfg_parse_float_text("inf", &d));
	assert_false(cfg_parse_float_text("abc", &d));
}

static void test_yaml_typing_in_config(void **state)
{
	(void)state;
	struct config_benchmark_set set;
	assert_int_equal(
	    load_str("seed: 0x10\n"
	             "trace_recorder: {enabled: off, include_content: yes}\n"
	             "traffic_scheduler: {type: rate, interval_generator: {type: poisson, arrival_rate: 3}}\n"
	             "runtime: {max_sessions: 1_000}\n"
	             "client: {type: OpenAI_Chat_Completions, model: 1.5, api_key: ~}\n",
	             &set),
	    CONFIG_OK);
	assert_int_equal(set.count, 1);
	struct cfg_benchmark *c = &set.items[0];
	assert_int_equal(c->seed, 16);
	assert_false(c->trace_recorder.enabled);
	assert_true(c->trace_recorder.include_content);
	assert_true(c->traffic_scheduler.interval_generator.arrival_rate == 3.0);
	assert_int_equal(c->runtime.max_sessions, 1000);
	assert_string_equal(c->client.model, "1.5");
	assert_null(c->client.api_key);
	config_benchmark_set_free(&set);
}

/* YAML core tags as PyYAML's SafeLoader reads them: !!int/!!float/!!bool/!!null type a quoted
 * scalar as if plain, !!str makes a plain one a string, !!map/!!seq only on their own kind. */
static void test_core_tags(void **state)
{
	(void)state;
	struct config_benchmark_set set;
	assert_int_equal(load_str("seed: !!int \"5\"\n"
	                          "trace_recorder: {enabled: !!bool \"false\"}\n"
	                          "traffic_scheduler: {type: rate, interval_generator: {type: poisson, "
	                          "arrival_rate: !!float '2.5'}}\n"
	                          "runtime: !!map {max_sessions: 3}\n"
	                          "server: !!null ''\n"
	                          "client: {type: openai_chat_completions, model: !!str 123}\n",
	                          &set),
	                 CONFIG_OK);
	struct cfg_benchmark *c = &set.items[0];
	assert_int_equal(c->seed, 5);
	assert_false(c->trace_recorder.enabled);
	assert_true(c->traffic_scheduler.interval_generator.arrival_rate == 2.5);
	assert_int_equal(c->runtime.max_sessions, 3);
	assert_false(c->has_server);
	assert_string_equal(c->client.model, "123");
	config_benchmark_set_free(&set);
	const char *bad[] = {"runtime: !!seq {max_sessions: 3}\n", "runtime: !!int {max_sessions: 3}\n",
	                     "wandb: {tags: !!map [a]}\n", "seed: !!seq 3\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (load_str(bad[i], &set) == CONFIG_OK) {
			config_benchmark_set_free(&set);
			fail_msg("accepted: %s", bad[i]);
		}
		assert_non_null(strstr(vk_cfg_err, "t.yml:1:"));
		assert_non_null(strstr(vk_cfg_err, "unsupported tag"));
	}
}

static void test_reference_roundtrip(void **state)
{
	(void)state;
	char p[1024];
	snprintf(p, sizeof p, "%s/tests/data/config/ref.veeksha.yml", src_dir());
	struct config_benchmark_set set;
	assert_int_equal(config_load_benchmark_file(p, &set, vk_cfg_err, sizeof vk_cfg_err), CONFIG_OK);
	assert_int_equal(set.count, 1);
	char *y = to_yaml(&set.items[0], 1);
	/* drop our additional client keys; the reference keeps int 10 for a float field */
	char *o = malloc(strlen(y) + 1);
	o[0] = '\0';
	char *save = NULL;
	for (char *line = strtok_r(y, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(line, "  tokenizer: null") || !strcmp(line, "  verify_tls: true") ||
		    !strcmp(line, "  stream: true") || !strcmp(line, "  include_usage: true") ||
		    !strcmp(line, "  max_response_bytes: 67108864") || !strcmp(line, "  ca_bundle: null") ||
		    !strcmp(line, "  tls_cert: null") || !strcmp(line, "  tls_key: null"))
			continue;
		if (!strcmp(line, "  env_path: null")) /* ours: wandb.env_path (docs/INTEGRATIONS.md) */
			continue;
		if (!strcmp(line, "  max_error_rate: 0.0")) /* ours too (docs/FAILURES.md) */
			continue;
		if (!strcmp(line, "  max_concurrency: 0")) /* ours: rate's concurrency cap (docs/WORKLOAD.md) */
			continue;
		if (!strcmp(line, "  timeseries_interval_s: 1.0")) /* ours: the time series (docs/OBSERVABILITY.md) */
			continue;
		if (!strcmp(line, "  saturation_busy_fraction: 0.9") ||
		    !strcmp(line, "  saturation_lateness_p99_ms: 1.0"))
			continue; /* ours: client saturation (docs/METRICS.md) */
		if (!strcmp(line, "  warmup_seconds: 0.0") || !strcmp(line, "  warmup_requests: 0") ||
		    !strcmp(line, "  cooldown_seconds: 0.0") || !strcmp(line, "  cooldown_requests: 0"))
			continue; /* ours: the measurement window (docs/METRICS.md) */
		if (!strcmp(line, "      arrival_rate: 10.0"))
			line = "      arrival_rate: 10";
		if (!strcmp(
		        line,
		        "  num_client_threads: 1")) /* ours: 1 client loop (docs/DISTRIBUTED.md); the reference: 3 */
			line = "  num_client_threads: 3";
		strcat(o, line);
		strcat(o, "\n");
	}
	snprintf(p, sizeof p, "%s/tests/data/config/ref_config.yml", src_dir());
	char *want = slurp(p);
	assert_string_equal(o, want);
	free(want);
	free(o);
	free(y);

	/* copy gives an identical, independent config */
	struct cfg_benchmark cp;
	config_benchmark_copy(&cp, &set.items[0]);
	char *a = to_yaml(&set.items[0], 0);
	config_benchmark_set_free(&set);
	char *b = to_yaml(&cp, 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	config_benchmark_free(&cp);
}

static void test_expand_order(void **state)
{
	(void)state;
	struct config_benchmark_set set;
	assert_int_equal(load_str("seed: !expand [1, 2]\nruntime:\n  max_sessions: !expand [10, 20, 30]\n", &set),
	                 CONFIG_OK);
	assert_int_equal(set.count, 6);
	int64_t want[6][2] = {{1, 10}, {1, 20}, {1, 30}, {2, 10}, {2, 20}, {2, 30}};
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(set.items[i].seed, want[i][0]);
		assert_int_equal(set.items[i].runtime.max_sessions, want[i][1]);
	}
	config_benchmark_set_free(&set);

	/* inside list items, lists of mappings as alternatives, top-level variants */
	assert_int_equal(
	    load_str(
	        "session_generator:\n  type: synthetic\n  channels:\n"
	        "    - type: text\n      body_length_generator: {type: fixed, value: !expand [512, 1024]}\n"
	        "traffic_scheduler: !expand\n  - {type: rate}\n  - {type: concurrent, target_concurrent_sessions: 2}\n",
	        &set),
	    CONFIG_OK);
	assert_int_equal(set.count, 4);
	assert_int_equal(set.items[0].session_generator.channels[0].body_length_generator.value, 512);
	assert_int_equal(set.items[0].traffic_scheduler.type, CFG_TRAFFIC_RATE);
	assert_int_equal(set.items[1].traffic_scheduler.type, CFG_TRAFFIC_CONCURRENT);
	assert_int_equal(set.items[2].session_generator.channels[0].body_length_generator.value, 1024);
	config_benchmark_set_free(&set);

	assert_int_equal(load_str("- {seed: 1}\n- {seed: !expand [2, 3]}\n", &set), CONFIG_OK);
	assert_int_equal(set.count, 3);
	assert_int_equal(set.items[2].seed, 3);
	config_benchmark_set_free(&set);

	/* a plain list on a list field stays literal */
	assert_int_equal(load_str("server: {type: vllm, gpu_ids: [0, 1], tensor_parallel_size: 2}\n", &set), CONFIG_OK);
	assert_int_equal(set.count, 1);
	assert_int_equal(set.items[0].server.n_gpu_ids, 2);
	config_benchmark_set_free(&set);

	/* anchors, aliases and merge keys */
	assert_int_equal(load_str("x-gen: &g {type: uniform, min: 3, max: 4}\n", &set), CONFIG_EXIT_USAGE);
	assert_int_equal(load_str("session_generator:\n  type: synthetic\n  session_graph:\n    type: linear\n"
	                          "    num_request_generator: &g {type: uniform, min: 3, max: 4}\n"
	                          "  output_spec: {text: {output_length_generator: *g}}\n",
	                          &set),
	                 CONFIG_OK);
	assert_int_equal(set.items[0].session_generator.output_spec.text_output_length.min, 3);
	config_benchmark_set_free(&set);
}

static void test_cli_seed_line(void **state)
{
	(void)state;
	char p[1024];
	snprintf(p, sizeof p, "%s/examples/base_config.yml", src_dir());
	char *argv[] = {"benchmark",
	                "--benchmark-config-from-file",
	                p,
	                "--server-type",
	                "vllm",
	                "--vllm-server-env-path",
	                "vllm_env",
	                "--vllm-server-model",
	                "meta-llama/Llama-3.2-1B-Instruct",
	                "--output-dir",
	                "results/vllm",
	                "--quiet",
	                "--fail-on-slo",
	                NULL};
	struct config_benchmark_set set;
	assert_int_equal(config_parse_benchmark_args(13, argv, &set, vk_cfg_err, sizeof vk_cfg_err), CONFIG_OK);
	assert_int_equal(set.count, 1);
	struct cfg_benchmark *c = &set.items[0];
	assert_true(set.opts.quiet);
	assert_true(set.opts.fail_on_slo);
	assert_string_equal(c->output_dir, "results/vllm");
	assert_true(c->has_server);
	assert_int_equal(c->server.type, CFG_SERVER_VLLM);
	assert_string_equal(c->server.env_path, "vllm_env");
	assert_string_equal(c->server.model, "meta-llama/Llama-3.2-1B-Instruct");
	assert_int_equal(c->traffic_scheduler.type, CFG_TRAFFIC_CONCURRENT);
	assert_int_equal(c->traffic_scheduler.target_concurrent_sessions, 8);
	assert_int_equal(c->traffic_scheduler.rampup_seconds, 5);
	assert_int_equal(c->session_generator.channels[0].body_length_generator.type, CFG_LENGTH_FIXED);
	assert_int_equal(c->session_generator.channels[0].body_length_generator.value, 512);
	assert_int_equal(c->session_generator.output_spec.text_output_length.value, 256);
	assert_int_equal(c->runtime.benchmark_timeout, 120);
	char *y = to_yaml(c, 1);
	assert_non_null(strstr(y, "  api_key: '***'\n"));
	assert_non_null(strstr(y, "server:\n  env_path: vllm_env\n"));
	free(y);
	config_benchmark_set_free(&set);

	/* --vllm-server-port alone does not create a server: error */
	char *argv2[] = {"benchmark", "--vllm-server-port", "9000", NULL};
	assert_int_equal(config_parse_benchmark_args(3, argv2, &set, vk_cfg_err, sizeof vk_cfg_err), CONFIG_EXIT_USAGE);
	assert_non_null(strstr(vk_cfg_err, "--vllm-server-port"));
	assert_non_null(strstr(vk_cfg_err, "--server-type vllm"));
	/* dotted form, JSON list flags, booleans */
	char *argv3[] = {"benchmark",
	                 "--traffic_scheduler.interval_generator.arrival_rate",
	                 "20",
	                 "--no-runtime-pregenerate-sessions",
	                 "--trace-recorder-include-content",
	                 "--synthetic-session-generator-channels",
	                 "[{\"type\": \"text\", \"body_length_generator\": {\"type\": \"fixed\", \"value\": 7}}]",
	                 "--client-type",
	                 "openai_router",
	                 "--openai-router-client-completions-max-tokens-param",
	                 "mt",
	                 NULL};
	assert_int_equal(config_parse_benchmark_args(11, argv3, &set, vk_cfg_err, sizeof vk_cfg_err), CONFIG_OK);
	c = &set.items[0];
	assert_true(c->traffic_scheduler.interval_generator.arrival_rate == 20.0);
	assert_true(c->trace_recorder.include_content);
	assert_int_equal(c->session_generator.channels[0].body_length_generator.value, 7);
	assert_int_equal(c->client.type, CFG_CLIENT_ROUTER);
	assert_string_equal(c->client.completions_max_tokens_param, "mt");
	config_benchmark_set_free(&set);
	/* unknown flag with a hint; a flag for another variant */
	char *argv4[] = {"benchmark", "--runtime-max-sesions", "3", NULL};
	assert_int_equal(config_parse_benchmark_args(3, argv4, &set, vk_cfg_err, sizeof vk_cfg_err), CONFIG_EXIT_USAGE);
	assert_non_null(strstr(vk_cfg_err, "did you mean --runtime-max-sessions"));
	char *argv5[] = {"benchmark", "--concurrent-traffic-scheduler-target-concurrent-sessions", "3", NULL};
	assert_int_equal(config_parse_benchmark_args(3, argv5, &set, vk_cfg_err, sizeof vk_cfg_err), CONFIG_EXIT_USAGE);
	assert_non_null(strstr(vk_cfg_err, "but the type is 'rate'"));
}

static void test_bad_files(void **state)
{
	(void)state;
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/tests/data/config/bad", src_dir());
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (!strstr(e->d_name, ".yml"))
			continue;
		char p[2048];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		char *text = slurp(p);
		char lc[64], key[256];
		int off = 0;
		assert_int_equal(sscanf(text, "# expect: %63s %255s %n", lc, key, &off), 2);
		char msg[512];
		snprintf(msg, sizeof msg, "%.*s", (int)strcspn(text + off, "\n"), text + off);
		struct config_benchmark_set set;
		int rc =
		    config_load_benchmark_string(text, strlen(text), e->d_name, &set, vk_cfg_err, sizeof vk_cfg_err);
		if (rc != CONFIG_EXIT_USAGE)
			fail_msg("%s: rc %d", e->d_name, rc);
		char want[512];
		snprintf(want, sizeof want, "%s:%s: error: ", e->d_name, lc);
		const char *err = vk_cfg_err;
		if (strncmp(err, want, strlen(want)) || !strstr(err, msg))
			fail_msg("%s: got '%s', want '%s' ... '%s'", e->d_name, err, want, msg);
		if (strcmp(key, "-")) {
			char k[300];
			snprintf(k, sizeof k, ": %s: ", key);
			if (!strstr(err, k))
				fail_msg("%s: key %s missing in '%s'", e->d_name, key, err);
		}
		free(text);
		n++;
	}
	closedir(d);
	assert_true(n >= 30);
}

static void test_collisions_and_subfiles(void **state)
{
	(void)state;
	char a[] = "/tmp/vk_cfg_a_XXXXXX";
	char b[] = "/tmp/vk_cfg_b_XXXXXX";
	int fa = mkstemp(a), fb = mkstemp(b);
	assert_true(fa >= 0 && fb >= 0);
	const char *ta = "runtime: {max_sessions: 3}\nseed: !expand [1, 2]\n";
	const char *tb = "max_sessions: 4\n";
	assert_int_equal(write(fa, ta, strlen(ta)), (ssize_t)strlen(ta));
	assert_int_equal(write(fb, tb, strlen(tb)), (ssize_t)strlen(tb));
	close(fa);
	close(fb);
	struct config_benchmark_set set;
	char *argv[] = {"benchmark", "--config", a, "--runtime-from-file", b, NULL};
	assert_int_equal(config_parse_benchmark_args(5, argv, &set, vk_cfg_err, sizeof vk_cfg_err), CONFIG_EXIT_USAGE);
	assert_non_null(strstr(vk_cfg_err, "runtime.max_sessions: is also set by"));
	char *argv2[] = {"benchmark", "--runtime-from-file", b, "--config", a, "--runtime-max-sessions", "9", NULL};
	assert_int_equal(config_parse_benchmark_args(7, argv2, &set, vk_cfg_err, sizeof vk_cfg_err), CONFIG_EXIT_USAGE);
	/* CLI beats a single file */
	char *argv3[] = {"benchmark", "--config", a, "--runtime-max-sessions", "9", NULL};
	assert_int_equal(config_parse_benchmark_args(5, argv3, &set, vk_cfg_err, sizeof vk_cfg_err), CONFIG_OK);
	assert_int_equal(set.count, 2);
	assert_int_equal(set.items[1].seed, 2);
	assert_int_equal(set.items[1].runtime.max_sessions, 9);
	config_benchmark_set_free(&set);
	char *argv4[] = {"benchmark", "--runtime-from-file", b, NULL};
	assert_int_equal(config_parse_benchmark_args(3, argv4, &set, vk_cfg_err, sizeof vk_cfg_err), CONFIG_OK);
	assert_int_equal(set.items[0].runtime.max_sessions, 4);
	config_benchmark_set_free(&set);
	unlink(a);
	unlink(b);
}

static void test_capacity_and_microbench(void **state)
{
	(void)state;
	struct config_capacity_set cs;
	char *argv[] = {"capacity-search",
	                "--max-iterations",
	                "5",
	                "--benchmark-config-seed",
	                "3",
	                "--benchmark-config-traffic-scheduler-type",
	                "concurrent",
	                NULL};
	assert_int_equal(config_parse_capacity_args(7, argv, &cs, vk_cfg_err, sizeof vk_cfg_err), CONFIG_OK);
	assert_int_equal(cs.count, 1);
	assert_int_equal(cs.items[0].max_iterations, 5);
	assert_true(cs.items[0].start_value == 1.0);
	assert_string_equal(cs.items[0].output_dir, "capacity_search_output");
	assert_int_equal(cs.items[0].benchmark_config.seed, 3);
	assert_int_equal(cs.items[0].benchmark_config.traffic_scheduler.type, CFG_TRAFFIC_CONCURRENT);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	config_capacity_write_yaml(&cs.items[0], f, 1);
	fclose(f);
	assert_non_null(
	    strstr(buf, "max_iterations: 5\nprecision: 2\nbenchmark_config:\n  output_dir: benchmark_output\n"));
	free(buf);
	config_capacity_set_free(&cs);
	char *argv2[] = {"capacity-search", "--expansion-factor", "1", NULL};
	assert_int_equal(config_parse_capacity_args(3, argv2, &cs, vk_cfg_err, sizeof vk_cfg_err), CONFIG_EXIT_USAGE);
	assert_non_null(strstr(vk_cfg_err, "expansion_factor"));

	struct config_microbench_set ms;
	char *argv3[] = {"prefill", "--input-lengths", "64", "128", "--output-tokens", "2", NULL};
	assert_int_equal(
	    config_parse_microbench_args(CFG_MICROBENCH_PREFILL, 6, argv3, &ms, vk_cfg_err, sizeof vk_cfg_err),
	    CONFIG_OK);
	assert_int_equal(ms.items[0].n_input_lengths, 2);
	assert_int_equal(ms.items[0].input_lengths[1], 128);
	assert_int_equal(ms.items[0].output_tokens, 2);
	assert_string_equal(ms.items[0].api_key, "dummy");
	config_microbench_set_free(&ms);
	char *argv4[] = {"stress", "--stress-mode", "range", "--concurrency-max", "32", "--server-type", "sim", NULL};
	assert_int_equal(
	    config_parse_microbench_args(CFG_MICROBENCH_STRESS, 7, argv4, &ms, vk_cfg_err, sizeof vk_cfg_err),
	    CONFIG_OK);
	assert_int_equal(ms.items[0].stress_mode, CFG_STRESS_RANGE);
	assert_int_equal(ms.items[0].concurrency_max, 32);
	assert_true(ms.items[0].has_server);
	assert_int_equal(ms.items[0].server.type, CFG_SERVER_SIM);
	config_microbench_set_free(&ms);
	char *argv5[] = {"decode", "--batch-sizes", "1", "600", NULL};
	assert_int_equal(
	    config_parse_microbench_args(CFG_MICROBENCH_DECODE, 4, argv5, &ms, vk_cfg_err, sizeof vk_cfg_err),
	    CONFIG_EXIT_USAGE);
	assert_non_null(strstr(vk_cfg_err, "batch_sizes"));
	char *argv6[] = {"stress", "--stress-mode", "range", "--concurrency-levels", "1", NULL};
	assert_int_equal(
	    config_parse_microbench_args(CFG_MICROBENCH_STRESS, 5, argv6, &ms, vk_cfg_err, sizeof vk_cfg_err),
	    CONFIG_EXIT_USAGE);
}

static void test_strings_and_json(void **state)
{
	(void)state;
	struct config_benchmark_set set;
	assert_int_equal(load_str("client:\n  type: openai_chat_completions\n"
	                          "  additional_sampling_params: {temperature: 0.5, stop: [\"a\"]}\n"
	                          "  api_key: sk-secret\n"
	                          "  model: 'yes'\n"
	                          "server:\n  type: sim\n  additional_args: '{\"max-num-seqs\": 64}'\n  env_path: ~\n",
	                          &set),
	                 CONFIG_OK);
	struct cfg_benchmark *c = &set.items[0];
	assert_string_equal(c->client.additional_sampling_params, "{\"temperature\": 0.5, \"stop\": [\"a\"]}");
	assert_string_equal(c->server.additional_args, "{\"max-num-seqs\": 64}");
	assert_null(c->server.env_path);
	char *y = to_yaml(c, 1);
	assert_non_null(strstr(y, "  api_key: '***'\n"));
	assert_null(strstr(y, "sk-secret"));
	assert_non_null(strstr(y, "  model: 'yes'\n"));
	assert_non_null(strstr(y, "  additional_sampling_params_dict:\n    temperature: 0.5\n    stop:\n    - a\n"));
	free(y);
	y = to_yaml(c, 0);
	assert_non_null(strstr(y, "sk-secret"));
	free(y);
	config_benchmark_set_free(&set);
}

/* Single-quoted scalars with several '' escapes (libfyaml 0.7.12 got them wrong; found by
 * fuzz_config): '' is one quote, and config.yml written from them loads back the same. */
static void test_single_quote_escapes(void **state)
{
	(void)state;
	struct config_benchmark_set set;
	assert_int_equal(load_str("client:\n  type: openai_chat_completions\n"
	                          "  model: 'ab''''cd''''''ef'\n"
	                          "  api_base: 'http://h:1/v1'\n"
	                          "  additional_sampling_params: '{\"stop\": [\"it''''s\"]}'\n"
	                          "output_dir: 'a''b'\n",
	                          &set),
	                 CONFIG_OK);
	struct cfg_benchmark *c = &set.items[0];
	assert_string_equal(c->client.model, "ab''cd'''ef");
	assert_string_equal(c->client.api_base, "http://h:1/v1");
	assert_string_equal(c->client.additional_sampling_params, "{\"stop\": [\"it''s\"]}");
	assert_string_equal(c->output_dir, "a'b");
	char *y = to_yaml(c, 0);
	struct config_benchmark_set again;
	assert_int_equal(load_str(y, &again), CONFIG_OK);
	assert_string_equal(again.items[0].client.model, "ab''cd'''ef");
	assert_string_equal(again.items[0].client.additional_sampling_params, "{\"stop\": [\"it''s\"]}");
	free(y);
	config_benchmark_set_free(&again);
	config_benchmark_set_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_scalars),
	    cmocka_unit_test(test_yaml_typing_in_config),
	    cmocka_unit_test(test_reference_roundtrip),
	    cmocka_unit_test(test_expand_order),
	    cmocka_unit_test(test_cli_seed_line),
	    cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_collisions_and_subfiles),
	    cmocka_unit_test(test_capacity_and_microbench),
	    cmocka_unit_test(test_strings_and_json),
	    cmocka_unit_test(test_single_quote_escapes),
	    cmocka_unit_test(test_core_tags),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
