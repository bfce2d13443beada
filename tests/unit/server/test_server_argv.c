/* Exact launch argv per engine and argument kind (docs/SERVERS.md, Launch commands and
 * Differences from the reference). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/server.h"

static struct cfg_server base_cfg(enum cfg_server_type t, const char *extra)
{
	struct cfg_server s;
	memset(&s, 0, sizeof s);
	s.type = t;
	s.model = "meta/test-model";
	s.host = "0.0.0.0";
	s.port = 9001;
	s.api_key = "secret-key";
	s.startup_timeout = 300;
	s.health_check_interval = 2.0;
	s.require_contiguous_gpus = true;
	s.tensor_parallel_size = 1;
	s.dtype = "auto";
	s.additional_args = (char *)(extra ? extra : "{}");
	return s;
}

static void expect_argv(const struct cfg_server *s, const char *const *want)
{
	char **argv = NULL;
	char err[512] = "";
	int rc = server_build_argv(s, NULL, 0, &argv, err, sizeof err);
	if (rc)
		fail_msg("build failed: %s", err);
	size_t i = 0;
	for (; want[i]; i++) {
		if (!argv[i])
			fail_msg("argv too short at %zu (want '%s')", i, want[i]);
		if (strcmp(argv[i], want[i]))
			fail_msg("argv[%zu] = '%s', want '%s'", i, argv[i], want[i]);
	}
	if (argv[i])
		fail_msg("argv too long: extra '%s' at %zu", argv[i], i);
	server_argv_free(argv);
}

static void test_vllm_defaults(void **st)
{
	(void)st;
	struct cfg_server s = base_cfg(CFG_SERVER_VLLM, NULL);
	const char *want[] = {"python",
	                      "-m",
	                      "vllm.entrypoints.openai.api_server",
	                      "--model",
	                      "meta/test-model",
	                      "--host",
	                      "0.0.0.0",
	                      "--port",
	                      "9001",
	                      "--dtype",
	                      "auto",
	                      NULL};
	expect_argv(&s, want);
}

static void test_vllm_advanced(void **st)
{
	(void)st;
	struct cfg_server s =
	    base_cfg(CFG_SERVER_VLLM,
	             "{\"max-num-batched-tokens\": 4096, \"trust-remote-code\": true, \"disable-log-requests\": false,"
	             " \"some_list\": [\"alpha\", \"beta\"], \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0},"
	             " \"gpu-memory-utilization\": 0.9, \"swap\": 1.25, \"big\": 1e3, \"neg\": -3, \"none\": null,"
	             " \"nums\": [1, 2.5], \"cfg\": {\"a\": 1, \"b\": \"x'y\"}}");
	s.tensor_parallel_size = 2;
	s.dtype = "bfloat16";
	s.max_model_len = 8192;
	const char *want[] = {"python",
	                      "-m",
	                      "vllm.entrypoints.openai.api_server",
	                      "--model",
	                      "meta/test-model",
	                      "--host",
	                      "0.0.0.0",
	                      "--port",
	                      "9001",
	                      "--tensor-parallel-size",
	                      "2",
	                      "--dtype",
	                      "bfloat16",
	                      "--max-model-len",
	                      "8192",
	                      "--max-num-batched-tokens",
	                      "4096",
	                      "--trust-remote-code",
	                      "--some_list",
	                      "alpha",
	                      "beta",
	                      "--gpu-memory-utilization",
	                      "0.9",
	                      "--swap",
	                      "1.25",
	                      "--big",
	                      "1000.0",
	                      "--neg",
	                      "-3",
	                      "--nums",
	                      "1",
	                      "2.5",
	                      "--cfg",
	                      "{'a': 1, 'b': \"x'y\"}",
	                      "--rope-scaling",
	                      "{\"type\": \"linear\", \"factor\": 2.0}",
	                      NULL};
	expect_argv(&s, want);
}

static void test_vllm_empty_dtype_and_compact_json(void **st)
{
	(void)st;
	/* a YAML mapping arrives as compact JSON; a JSON string may be spaced: same argv */
	struct cfg_server s =
	    base_cfg(CFG_SERVER_VLLM, "{\"enable_prefix_caching\":true,\"rope_scaling\":{\"factor\":4}}");
	s.dtype = "";
	const char *want[] = {"python",
	                      "-m",
	                      "vllm.entrypoints.openai.api_server",
	                      "--model",
	                      "meta/test-model",
	                      "--host",
	                      "0.0.0.0",
	                      "--port",
	                      "9001",
	                      "--enable_prefix_caching",
	                      "--rope-scaling",
	                      "{\"factor\": 4}",
	                      NULL};
	expect_argv(&s, want);
	s.additional_args = "{ \"enable_prefix_caching\" : true ,\n \"rope_scaling\" : { \"factor\" : 4 } }";
	expect_argv(&s, want);
}

static void test_sglang(void **st)
{
	(void)st;
	struct cfg_server s =
	    base_cfg(CFG_SERVER_SGLANG,
	             "{\"enable-torch-compile\": true, \"disable-radix-cache\": false, \"x\": null,"
	             " \"cuda-graph-bs\": [1, 2, 4], \"names\": [\"a\", \"b\"], \"mem-fraction-static\": 0.85,"
	             " \"chunked-prefill-size\": 2048, \"f\": 2.0}");
	s.tensor_parallel_size = 4;
	s.max_model_len = 8192;
	const char *want[] = {"python",
	                      "-m",
	                      "sglang.launch_server",
	                      "--model-path",
	                      "meta/test-model",
	                      "--host",
	                      "0.0.0.0",
	                      "--port",
	                      "9001",
	                      "--api-key",
	                      "secret-key",
	                      "--tensor-parallel-size",
	                      "4",
	                      "--dtype",
	                      "auto",
	                      "--context-length",
	                      "8192",
	                      "--enable-torch-compile",
	                      "--cuda-graph-bs",
	                      "[1, 2, 4]",
	                      "--names",
	                      "[a, b]",
	                      "--mem-fraction-static",
	                      "0.85",
	                      "--chunked-prefill-size",
	                      "2048",
	                      "--f",
	                      "2.0",
	                      NULL};
	expect_argv(&s, want);
}

static void test_sglang_no_key(void **st)
{
	(void)st;
	struct cfg_server s = base_cfg(CFG_SERVER_SGLANG, NULL);
	s.api_key = "";
	const char *want[] = {"python",
	                      "-m",
	                      "sglang.launch_server",
	                      "--model-path",
	                      "meta/test-model",
	                      "--host",
	                      "0.0.0.0",
	                      "--port",
	                      "9001",
	                      "--dtype",
	                      "auto",
	                      NULL};
	expect_argv(&s, want);
}

static void test_vajra(void **st)
{
	(void)st;
	struct cfg_server s =
	    base_cfg(CFG_SERVER_VAJRA, "{\"pipeline_parallel_size\": 4, \"log_requests\": true, \"quiet\": false,"
	                               " \"multi_value\": [\"foo\", \"bar\"], \"n\": null, \"ratio\": 0.5}");
	s.host = "127.0.0.1";
	s.port = 7777;
	s.api_key = "another-secret";
	s.tensor_parallel_size = 3;
	s.max_model_len = 4096;
	s.dtype = "float16"; /* Vajra takes no dtype */
	const char *want[] = {"python",
	                      "-m",
	                      "vajra_server.server",
	                      "--model",
	                      "meta/test-model",
	                      "--host",
	                      "127.0.0.1",
	                      "--port",
	                      "7777",
	                      "--tensor-parallel-size",
	                      "3",
	                      "--api-key",
	                      "another-secret",
	                      "--max-model-len",
	                      "4096",
	                      "--pipeline_parallel_size",
	                      "4",
	                      "--log_requests",
	                      "--multi_value",
	                      "foo",
	                      "--multi_value",
	                      "bar",
	                      "--ratio",
	                      "0.5",
	                      NULL};
	expect_argv(&s, want);
}

static void test_sim(void **st)
{
	(void)st;
	setenv("VEEKSHA_SELF_EXE", "/opt/vk/veeksha", 1);
	struct cfg_server s =
	    base_cfg(CFG_SERVER_SIM, "{\"preset\": \"llama3-8b-h100\", \"seed\": 7, \"fast\": true, \"slow\": false}");
	s.max_model_len = 4096;
	s.tensor_parallel_size = 2;
	const char *want[] = {"/opt/vk/veeksha",
	                      "sim-server",
	                      "--model",
	                      "meta/test-model",
	                      "--host",
	                      "0.0.0.0",
	                      "--port",
	                      "9001",
	                      "--tensor-parallel-size",
	                      "2",
	                      "--max-model-len",
	                      "4096",
	                      "--preset",
	                      "llama3-8b-h100",
	                      "--seed",
	                      "7",
	                      "--fast",
	                      NULL};
	expect_argv(&s, want);
	unsetenv("VEEKSHA_SELF_EXE");
}

/* vLLM and the sim get the key through VLLM_API_KEY, never on argv (where `ps` shows it); SGLang
 * and Vajra take it only as --api-key. */
static void test_api_key_channel(void **st)
{
	(void)st;
	assert_string_equal(server_api_key_env(CFG_SERVER_VLLM), "VLLM_API_KEY");
	assert_string_equal(server_api_key_env(CFG_SERVER_SIM), "VLLM_API_KEY");
	assert_null(server_api_key_env(CFG_SERVER_SGLANG));
	assert_null(server_api_key_env(CFG_SERVER_VAJRA));
	static const enum cfg_server_type types[] = {CFG_SERVER_VLLM, CFG_SERVER_SIM};
	for (size_t t = 0; t < 2; t++) {
		struct cfg_server s = base_cfg(types[t], NULL);
		char **argv = NULL;
		char err[256];
		assert_int_equal(server_build_argv(&s, NULL, 0, &argv, err, sizeof err), 0);
		for (size_t i = 0; argv[i]; i++) {
			assert_string_not_equal(argv[i], "--api-key");
			assert_null(strstr(argv[i], "secret-key"));
		}
		server_argv_free(argv);
	}
}

static char *make_env(const char *root)
{
	char *bin = NULL;
	if (asprintf(&bin, "%s/bin", root) < 0)
		return NULL;
	mkdir(root, 0755);
	mkdir(bin, 0755);
	char *py = NULL;
	if (asprintf(&py, "%s/python", bin) < 0)
		return NULL;
	FILE *f = fopen(py, "w");
	fputs("#!/bin/sh\nexit 0\n", f);
	fclose(f);
	chmod(py, 0755);
	free(bin);
	return py;
}

static void test_env_path(void **st)
{
	(void)st;
	char tmpl[] = "/tmp/vk-argv-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	char *envdir = NULL;
	assert_true(asprintf(&envdir, "%s/env", tmpl) > 0);
	char *py = make_env(envdir);
	struct cfg_server s = base_cfg(CFG_SERVER_VLLM, NULL);
	s.env_path = envdir;
	char **argv = NULL;
	char err[512];
	assert_int_equal(server_build_argv(&s, NULL, 0, &argv, err, sizeof err), 0);
	assert_string_equal(argv[0], py);
	server_argv_free(argv);
	assert_int_equal(server_validate(&s, err, sizeof err), 0);

	/* ~ expansion */
	const char *old_home = getenv("HOME");
	char *saved = old_home ? strdup(old_home) : NULL;
	setenv("HOME", tmpl, 1);
	s.env_path = "~/env";
	assert_int_equal(server_build_argv(&s, NULL, 0, &argv, err, sizeof err), 0);
	assert_string_equal(argv[0], py);
	server_argv_free(argv);
	assert_int_equal(server_validate(&s, err, sizeof err), 0);

	/* relative path becomes absolute */
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(tmpl), 0);
	s.env_path = "env";
	assert_int_equal(server_build_argv(&s, NULL, 0, &argv, err, sizeof err), 0);
	assert_string_equal(argv[0], py);
	server_argv_free(argv);
	assert_int_equal(chdir(cwd), 0);

	/* missing bin/python: a config error naming the path */
	s.env_path = "~/nope";
	assert_int_equal(server_validate(&s, err, sizeof err), -1);
	assert_non_null(strstr(err, "bin/python"));
	assert_non_null(strstr(err, "~/nope"));
	if (saved) {
		setenv("HOME", saved, 1);
		free(saved);
	}
	unlink(py);
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "rm -rf '%s'", tmpl) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(py);
	free(envdir);
}

static void test_invalid_args(void **st)
{
	(void)st;
	struct cfg_server s = base_cfg(CFG_SERVER_VLLM, "{\"a\": tru}");
	char **argv = NULL;
	char err[512];
	assert_int_equal(server_build_argv(&s, NULL, 0, &argv, err, sizeof err), -1);
	assert_null(argv);
	assert_non_null(strstr(err, "Invalid JSON in additional_args"));
	s.additional_args = "[1, 2]";
	assert_int_equal(server_validate(&s, err, sizeof err), -1);
	assert_non_null(strstr(err, "JSON object"));
	s.additional_args = "{\"x\": 1.2.3}";
	assert_int_equal(server_validate(&s, err, sizeof err), -1);
}

static void test_validate_gpu_ids(void **st)
{
	(void)st;
	struct cfg_server s = base_cfg(CFG_SERVER_SGLANG, NULL);
	int64_t ids[] = {2, 3};
	s.gpu_ids = ids;
	s.n_gpu_ids = 2;
	s.has_gpu_ids = true;
	s.tensor_parallel_size = 1;
	char err[512];
	assert_int_equal(server_validate(&s, err, sizeof err), -1);
	assert_non_null(strstr(err, "tensor_parallel_size"));
	s.tensor_parallel_size = 2;
	assert_int_equal(server_validate(&s, err, sizeof err), 0);
	ids[1] = 2;
	assert_int_equal(server_validate(&s, err, sizeof err), -1);
	assert_non_null(strstr(err, "twice"));
	s.port = 70000;
	ids[1] = 3;
	assert_int_equal(server_validate(&s, err, sizeof err), -1);
}

static void test_diagnose(void **st)
{
	(void)st;
	assert_non_null(strstr(server_diagnose_log("torch.OutOfMemoryError: CUDA out of memory. Tried"), "memory"));
	assert_non_null(strstr(server_diagnose_log("OSError: [Errno 98] Address already in use"), "port"));
	assert_non_null(strstr(server_diagnose_log("huggingface_hub.errors.GatedRepoError: 401"), "gated"));
	assert_non_null(strstr(server_diagnose_log("RuntimeError: No CUDA GPUs are available"), "CUDA"));
	assert_non_null(
	    strstr(server_diagnose_log("api_server.py: error: unrecognized arguments: --foo"), "additional_args"));
	assert_null(server_diagnose_log("INFO all good"));
	assert_null(server_diagnose_log(NULL));
}

static void test_expand_user(void **st)
{
	(void)st;
	setenv("HOME", "/home/u", 1);
	char *p = server_expand_user("~/envs/vllm");
	assert_string_equal(p, "/home/u/envs/vllm");
	free(p);
	p = server_expand_user("~other/x");
	assert_string_equal(p, "~other/x");
	free(p);
	p = server_expand_user("/abs");
	assert_string_equal(p, "/abs");
	free(p);
	assert_null(server_expand_user(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vllm_defaults),
	    cmocka_unit_test(test_vllm_advanced),
	    cmocka_unit_test(test_vllm_empty_dtype_and_compact_json),
	    cmocka_unit_test(test_sglang),
	    cmocka_unit_test(test_sglang_no_key),
	    cmocka_unit_test(test_vajra),
	    cmocka_unit_test(test_sim),
	    cmocka_unit_test(test_api_key_channel),
	    cmocka_unit_test(test_env_path),
	    cmocka_unit_test(test_invalid_args),
	    cmocka_unit_test(test_validate_gpu_ids),
	    cmocka_unit_test(test_diagnose),
	    cmocka_unit_test(test_expand_user),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
