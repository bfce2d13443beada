/* `veeksha sim-server`: command line of the simulated inference server (docs/SIM.md).
 * Accepts its own flags plus the launch flags of vLLM, SGLang and Vajra; any other `--flag [value]`
 * is logged and ignored, and a leading `-m <module>` pair is skipped, so a fake `python` can exec it. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "sim/sim.h"
#include "sim/sim_cli.h"

static void sim_main_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: veeksha sim-server [options]\n\n"
	    "An OpenAI-compatible simulated inference server (continuous-batching roofline model).\n"
	    "It is NOT a substitute for measuring a real engine. See docs/SIM.md.\n\n"
	    "server:\n"
	    "  --host H                     listen address (default 127.0.0.1)\n"
	    "  --port P                     listen port (default 8000; 0: a free port the kernel picks)\n"
	    "  --port-file FILE             write the bound port to FILE once listening (with --port 0)\n"
	    "  --model ID                   served model id (also --model-path, --served-model-name);\n"
	    "                               a known id (e.g. meta-llama/Llama-3-8B-Instruct) selects its architecture\n"
	    "  --api-key K                  require 'Authorization: Bearer K' on /v1/* (env VLLM_API_KEY)\n"
	    "  --max-model-len N            context length (also --context-length; default from preset, 8192)\n"
	    "  --workers N                  worker threads sharing one listening socket (default 1)\n"
	    "  --shutdown-grace-s S         on SIGTERM/SIGINT finish in-flight streams for at most S (default 5)\n"
	    "  --seed N                     seed of every random choice (default 0)\n"
	    "  --log-requests               one stderr line per generation request\n"
	    "  --rt-priority N              SCHED_FIFO priority of worker/engine threads (default 1, 0 in zero mode;\n"
	    "                               0 = normal scheduling; falls back with a notice when not permitted)\n"
	    "  --spin-us N                  busy-poll when the next chunk is due within N us (timing benches; burns "
	    "CPU)\n"
	    "  --metrics-names vllm|sglang  metric names on GET /metrics (default vllm; sglang when launched as\n"
	    "                               `-m sglang.launch_server`)\n"
	    "engine model:\n"
	    "  --mode roofline|fixed|zero   timing model (default roofline)\n"
	    "  --preset NAME                model/GPU/TP triple (default llama3-8b-h100; --list-presets)\n"
	    "  --model-arch A  --gpu G  --tp N (--tensor-parallel-size, --tp-size)   override parts of the preset\n"
	    "  --dtype D                    auto|bfloat16|float16 (2 bytes), float32 (4), fp8 (1)\n"
	    "  --max-num-seqs N (256)  --max-num-batched-tokens N (8192)  --block-size N (16)\n"
	    "  --gpu-memory-utilization F (0.9)  --mfu F (0.5)  --mbu F (0.8)  --step-overhead-ms X (1.5)\n"
	    "  --kv-capacity-tokens N       override the derived KV-cache capacity\n"
	    "  --ttft-ms X --itl-ms Y --tokens-per-chunk K   fixed mode timing (defaults 50, 10, 1)\n"
	    "  --output-len-median N (200) --output-len-sigma S (0.6)   natural output length (log-normal)\n"
	    "  --reasoning-tokens N [--reasoning-tokens-max M]   think first: N (uniform N..M) tokens streamed as\n"
	    "                               delta.reasoning_content before the answer, within max_tokens (as vLLM)\n"
	    "  --tokenizer PATH             tokenizer.json (file or directory) for token counts and output text;\n"
	    "                               default: HF cache of --model, else one word = one token\n"
	    "measurement and faults:\n"
	    "  --emit-log FILE              JSONL: per request, server timestamps of arrival/first byte/every chunk\n"
	    "  --fail-rate F                fraction of generation requests answered 500\n"
	    "  --disconnect-rate F          fraction cut mid-stream (connection closed)\n"
	    "  --error-event-rate F         fraction getting an SSE {\"error\":...} event mid-stream\n"
	    "  --stall-ms N [--stall-rate F]  stall N ms mid-stream (fraction F, default 1)\n"
	    "  --startup-delay-s S          /health answers 503 for S seconds\n"
	    "  --crash-after N              exit(1) once N generation requests completed\n"
	    "  --refuse-connections         accept and immediately reset every connection\n"
	    "  --list-presets               print presets, GPUs and architectures, then exit\n");
}

static void sim_main_list(void)
{
	printf("presets:\n");
	for (size_t i = 0; i < sim_preset_count(); i++) {
		const struct sim_preset *p = sim_preset_at(i);
		struct sim_engine_params ep;
		sim_engine_params_default(&ep, sim_arch_find(p->arch), sim_gpu_find(p->gpu), p->tp);
		printf("  %-22s arch=%-12s gpu=%-5s tp=%d max_model_len=%-6d kv_tokens=%-8lld decode_b1_1k=%.2fms "
		       "decode_b64_1k=%.2fms prefill_1k=%.2fms\n",
		       p->name, p->arch, p->gpu, p->tp, p->max_model_len, (long long)sim_kv_capacity_tokens(&ep),
		       1e3 * sim_step_time_s(&ep, 0, 0, 1, 1000), 1e3 * sim_step_time_s(&ep, 0, 0, 64, 64000),
		       1e3 * sim_step_time_s(&ep, 1000, 1000.0 * 1001 / 2, 0, 0));
	}
	printf("gpus:\n");
	for (size_t i = 0; i < sim_gpu_count(); i++) {
		const struct sim_gpu *g = sim_gpu_at(i);
		printf("  %-6s %.0f GiB  %.3g TB/s  %.0f TFLOP/s\n", g->name, g->mem_bytes / (1024.0 * 1024 * 1024),
		       g->hbm_bps / 1e12, g->flops / 1e12);
	}
	printf("architectures:\n");
	for (size_t i = 0; i < sim_arch_count(); i++) {
		const struct sim_arch *a = sim_arch_at(i);
		printf("  %-12s %-40s %.3g B params, %d layers, d_model %d, %d/%d heads, head_dim %d\n", a->name,
		       a->hf_id, a->n_params / 1e9, a->n_layers, a->d_model, a->n_heads, a->n_kv_heads, a->head_dim);
	}
}

static int sim_main_num(const char *flag, const char *v, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(d) || d < lo || d > hi) {
		fprintf(stderr, "sim-server: %s: invalid value '%s' (expected a number in [%g, %g])\n", flag, v, lo,
		        hi);
		return -1;
	}
	*out = d;
	return 0;
}

enum sim_opt_kind { SIM_OPT_STR, SIM_OPT_NUM, SIM_OPT_INT, SIM_OPT_FLAG };

/* With --port 0 the kernel picks the port at bind time, so no other process can take it between
 * choosing and binding (a port found free and then passed in can be). The file is written whole
 * (temporary file, then rename) so that a reader polling for it never sees a partial number. */
int sim_announce_port(const struct sim_cfg *cfg, int lfd, char *err, size_t err_len)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	if (getsockname(lfd, (struct sockaddr *)&sa, &len) != 0) {
		snprintf(err, err_len, "cannot read the listening port: %s", strerror(errno));
		return -1;
	}
	int port = sa.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
	                                    : ntohs(((struct sockaddr_in *)&sa)->sin_port);
	if (!cfg->port_file)
		return port;
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", cfg->port_file);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		snprintf(err, err_len, "cannot write --port-file %s: %s", cfg->port_file, strerror(errno));
		return -1;
	}
	int w = fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || w < 0 || rename(tmp, cfg->port_file) != 0) {
		snprintf(err, err_len, "cannot write --port-file %s: %s", cfg->port_file, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return port;
}

int sim_server_main(int argc, char **argv)
{
	struct sim_cfg cfg;
	memset(&cfg, 0, sizeof cfg);
	const char *host = "127.0.0.1", *model = NULL, *served = NULL, *api_key = NULL, *preset_name = NULL;
	const char *gpu_name = NULL, *arch_name = NULL, *mode = "roofline", *dtype = NULL, *tokenizer = NULL;
	const char *metrics_names = NULL;
	bool as_sglang = false; /* launched as `python -m sglang.launch_server` through a fake interpreter */
	double port = 8000, tp = 0, max_model_len = 0, workers = 1, grace = 5, startup = 0, seed = 0;
	double ttft = 50, itl = 10, tpc = 1, median = 200, sigma = 0.6;
	double reasoning = 0, reasoning_max = -1;
	double max_num_seqs = 256, max_batched = 8192, block = 16, gmu = 0.9, mfu = 0.5, mbu = 0.8, overhead_ms = 1.5;
	double kv_cap = 0, fail = 0, disc = 0, everr = 0, stall_ms = 0, stall_rate = 1, crash = 0;
	bool refuse = false, list = false, log_req = false;
	bool mode_given = false;
	const char *fixed_flag = NULL; /* --ttft-ms or --itl-ms: fixed mode's timing */
	double spin_us = 0, rt_prio = -1;

	struct {
		const char *name;
		enum sim_opt_kind kind;
		void *dst;
		double lo, hi;
	} opts[] = {
	    {"--host", SIM_OPT_STR, &host, 0, 0},
	    {"--port", SIM_OPT_INT, &port, 0, 65535},
	    {"--model", SIM_OPT_STR, &model, 0, 0},
	    {"--model-path", SIM_OPT_STR, &model, 0, 0},
	    {"--served-model-name", SIM_OPT_STR, &served, 0, 0},
	    {"--api-key", SIM_OPT_STR, &api_key, 0, 0},
	    {"--tensor-parallel-size", SIM_OPT_INT, &tp, 1, 1024},
	    {"--tp-size", SIM_OPT_INT, &tp, 1, 1024},
	    {"--tp", SIM_OPT_INT, &tp, 1, 1024},
	    {"--max-model-len", SIM_OPT_INT, &max_model_len, 1, 1e9},
	    {"--context-length", SIM_OPT_INT, &max_model_len, 1, 1e9},
	    {"--dtype", SIM_OPT_STR, &dtype, 0, 0},
	    {"--preset", SIM_OPT_STR, &preset_name, 0, 0},
	    {"--gpu", SIM_OPT_STR, &gpu_name, 0, 0},
	    {"--model-arch", SIM_OPT_STR, &arch_name, 0, 0},
	    {"--mode", SIM_OPT_STR, &mode, 0, 0},
	    {"--ttft-ms", SIM_OPT_NUM, &ttft, 0, 3.6e6},
	    {"--itl-ms", SIM_OPT_NUM, &itl, 0, 3.6e6},
	    {"--tokens-per-chunk", SIM_OPT_INT, &tpc, 1, 1e6},
	    {"--seed", SIM_OPT_INT, &seed, 0, 9.0e15},
	    {"--workers", SIM_OPT_INT, &workers, 1, 256},
	    {"--shutdown-grace-s", SIM_OPT_NUM, &grace, 0, 3600},
	    {"--startup-delay-s", SIM_OPT_NUM, &startup, 0, 3600},
	    {"--emit-log", SIM_OPT_STR, &cfg.emit_log, 0, 0},
	    {"--port-file", SIM_OPT_STR, &cfg.port_file, 0, 0},
	    {"--fail-rate", SIM_OPT_NUM, &fail, 0, 1},
	    {"--disconnect-rate", SIM_OPT_NUM, &disc, 0, 1},
	    {"--error-event-rate", SIM_OPT_NUM, &everr, 0, 1},
	    {"--stall-ms", SIM_OPT_NUM, &stall_ms, 0, 3.6e6},
	    {"--stall-rate", SIM_OPT_NUM, &stall_rate, 0, 1},
	    {"--crash-after", SIM_OPT_INT, &crash, 0, 1e15},
	    {"--refuse-connections", SIM_OPT_FLAG, &refuse, 0, 0},
	    {"--max-num-seqs", SIM_OPT_INT, &max_num_seqs, 1, 1e6},
	    {"--max-num-batched-tokens", SIM_OPT_INT, &max_batched, 1, 1e9},
	    {"--block-size", SIM_OPT_INT, &block, 1, 1e6},
	    {"--gpu-memory-utilization", SIM_OPT_NUM, &gmu, 0.01, 1},
	    {"--mem-fraction-static", SIM_OPT_NUM, &gmu, 0.01, 1},
	    {"--mfu", SIM_OPT_NUM, &mfu, 1e-4, 1},
	    {"--mbu", SIM_OPT_NUM, &mbu, 1e-4, 1},
	    {"--step-overhead-ms", SIM_OPT_NUM, &overhead_ms, 0, 1e4},
	    {"--kv-capacity-tokens", SIM_OPT_INT, &kv_cap, 0, 1e15},
	    {"--output-len-median", SIM_OPT_NUM, &median, 1, 1e9},
	    {"--output-len-sigma", SIM_OPT_NUM, &sigma, 0, 10},
	    {"--reasoning-tokens", SIM_OPT_INT, &reasoning, 0, 1e9},
	    {"--reasoning-tokens-max", SIM_OPT_INT, &reasoning_max, 0, 1e9},
	    {"--tokenizer", SIM_OPT_STR, &tokenizer, 0, 0},
	    {"--metrics-names", SIM_OPT_STR, &metrics_names, 0, 0},
	    {"--list-presets", SIM_OPT_FLAG, &list, 0, 0},
	    {"--log-requests", SIM_OPT_FLAG, &log_req, 0, 0},
	    {"--spin-us", SIM_OPT_NUM, &spin_us, 0, 1e6},
	    {"--rt-priority", SIM_OPT_INT, &rt_prio, 0, 99},
	};
	const size_t n_opts = sizeof opts / sizeof opts[0];

	int i = 1;
	if (i + 1 < argc && !strcmp(argv[i], "-m")) { /* python -m <module> left in by a fake interpreter */
		as_sglang = !strncmp(argv[i + 1], "sglang", 6);
		i += 2;
	}
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			sim_main_usage(stdout);
			return 0;
		}
		if (strncmp(a, "--", 2) != 0 || !a[2]) {
			fprintf(stderr, "sim-server: unexpected argument '%s'\n", a);
			sim_main_usage(stderr);
			return 2;
		}
		const char *eq = strchr(a, '=');
		size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
		size_t k = 0;
		for (; k < n_opts; k++)
			if (strlen(opts[k].name) == nlen && !strncmp(opts[k].name, a, nlen))
				break;
		if (k == n_opts) {
			/* unknown: `--flag`, `--flag=value` or `--flag value` */
			const char *val = eq ? eq + 1 : NULL;
			if (!eq && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
				val = argv[++i];
			fprintf(stderr, "sim-server: ignoring unsupported flag %.*s%s%s\n", (int)nlen, a,
			        val ? " " : "", val ? val : "");
			continue;
		}
		if (opts[k].kind == SIM_OPT_FLAG) {
			if (eq) {
				/* SGLang-style explicit booleans */
				*(bool *)opts[k].dst =
				    strcmp(eq + 1, "False") && strcmp(eq + 1, "false") && strcmp(eq + 1, "0");
			} else {
				*(bool *)opts[k].dst = true;
			}
			continue;
		}
		const char *val = eq ? eq + 1 : NULL;
		if (!val) {
			if (i + 1 >= argc) {
				fprintf(stderr, "sim-server: %s needs a value\n", opts[k].name);
				return 2;
			}
			val = argv[++i];
		}
		if (opts[k].kind == SIM_OPT_STR) {
			*(const char **)opts[k].dst = val;
		} else {
			double d;
			if (sim_main_num(opts[k].name, val, opts[k].lo, opts[k].hi, &d))
				return 2;
			if (opts[k].kind == SIM_OPT_INT && d != floor(d)) {
				fprintf(stderr, "sim-server: %s: expected an integer, got '%s'\n", opts[k].name, val);
				return 2;
			}
			*(double *)opts[k].dst = d;
		}
		if (opts[k].dst == &mode)
			mode_given = true;
		else if (opts[k].dst == &ttft || opts[k].dst == &itl)
			fixed_flag = opts[k].name;
	}
	if (list) {
		sim_main_list();
		return 0;
	}
	if (model && !*model)
		model = NULL; /* `--model ""` from a config without a model */
	if (served && !*served)
		served = NULL;

	/* engine configuration: preset, then model id, then explicit overrides */
	const struct sim_preset *preset = sim_preset_find(preset_name ? preset_name : "llama3-8b-h100");
	if (!preset) {
		fprintf(stderr, "sim-server: unknown --preset '%s' (see --list-presets)\n", preset_name);
		return 2;
	}
	const struct sim_arch *arch = sim_arch_find(preset->arch);
	const struct sim_gpu *gpu = sim_gpu_find(preset->gpu);
	int tp_n = preset->tp;
	if (model && !preset_name && !arch_name) {
		const struct sim_arch *ma = sim_arch_from_model_id(model);
		if (ma) {
			arch = ma;
		} else {
			fprintf(stderr,
			        "sim-server: notice: model '%s' is not a known architecture; simulating %s (use "
			        "--model-arch "
			        "or --preset)\n",
			        model, arch->name);
		}
	}
	if (arch_name) {
		arch = sim_arch_find(arch_name);
		if (!arch) {
			fprintf(stderr, "sim-server: unknown --model-arch '%s' (see --list-presets)\n", arch_name);
			return 2;
		}
	}
	if (gpu_name) {
		gpu = sim_gpu_find(gpu_name);
		if (!gpu) {
			fprintf(stderr, "sim-server: unknown --gpu '%s' (see --list-presets)\n", gpu_name);
			return 2;
		}
	}
	if (tp > 0)
		tp_n = (int)tp;
	sim_engine_params_default(&cfg.engine, arch, gpu, tp_n);
	if (dtype) {
		if (!strcmp(dtype, "float32"))
			cfg.engine.dtype_bytes = 4;
		else if (!strncmp(dtype, "fp8", 3))
			cfg.engine.dtype_bytes = 1;
		else if (strcmp(dtype, "auto") && strcmp(dtype, "bfloat16") && strcmp(dtype, "float16") &&
		         strcmp(dtype, "half"))
			fprintf(stderr, "sim-server: notice: --dtype %s simulated as 2 bytes per value\n", dtype);
	}
	cfg.engine.max_num_seqs = (int)max_num_seqs;
	cfg.engine.max_num_batched_tokens = (int64_t)max_batched;
	cfg.engine.block_size_tokens = (int)block;
	cfg.engine.gpu_memory_utilization = gmu;
	cfg.engine.mfu = mfu;
	cfg.engine.mbu = mbu;
	cfg.engine.overhead_s = overhead_ms / 1e3;
	cfg.engine.kv_capacity_tokens = (int64_t)kv_cap;

	/* --ttft-ms / --itl-ms describe fixed mode's timing: without --mode they select it, with another
	 * mode they are an error (they used to be ignored silently, docs/SIM.md) */
	if (fixed_flag && !mode_given) {
		mode = "fixed";
		fprintf(stderr, "sim-server: %s given: using --mode fixed\n", fixed_flag);
	} else if (fixed_flag && strcmp(mode, "fixed") != 0) {
		fprintf(stderr, "sim-server: %s applies to --mode fixed (got --mode %s)\n", fixed_flag, mode);
		return 2;
	}
	if (!strcmp(mode, "roofline"))
		cfg.mode = SIM_MODE_ROOFLINE;
	else if (!strcmp(mode, "fixed"))
		cfg.mode = SIM_MODE_FIXED;
	else if (!strcmp(mode, "zero"))
		cfg.mode = SIM_MODE_ZERO;
	else {
		fprintf(stderr, "sim-server: --mode must be roofline, fixed or zero (got '%s')\n", mode);
		return 2;
	}
	if (cfg.mode == SIM_MODE_ROOFLINE && sim_kv_capacity_tokens(&cfg.engine) <= 0) {
		fprintf(stderr, "sim-server: the weights of %s (%.1f GB) do not fit on %d x %s; raise --tp\n",
		        arch->name, sim_weight_bytes(&cfg.engine) / 1e9, cfg.engine.tp, gpu->name);
		return 2;
	}

	cfg.host = host;
	cfg.port = (int)port;
	cfg.served_model = served ? served : model ? model : arch->hf_id;
	if (!api_key) {
		const char *env = getenv("VLLM_API_KEY");
		if (env && env[0])
			api_key = env;
	}
	cfg.api_key = api_key && api_key[0] ? api_key : NULL;
	cfg.ttft_ms = ttft;
	cfg.itl_ms = itl;
	cfg.tokens_per_chunk = (int)tpc;
	cfg.seed = (uint64_t)seed;
	cfg.workers = (int)workers;
	cfg.shutdown_grace_s = grace;
	cfg.startup_delay_s = startup;
	cfg.max_model_len = max_model_len > 0 ? (int64_t)max_model_len : preset->max_model_len;
	cfg.fail_rate = fail;
	cfg.disconnect_rate = disc;
	cfg.error_event_rate = everr;
	cfg.stall_ms = stall_ms;
	cfg.stall_rate = stall_rate;
	cfg.crash_after = (int64_t)crash;
	cfg.refuse_connections = refuse;
	cfg.output_len_median = median;
	cfg.output_len_sigma = sigma;
	if (reasoning_max >= 0 && reasoning_max < reasoning) {
		fprintf(stderr, "sim-server: --reasoning-tokens-max %.0f is below --reasoning-tokens %.0f\n",
		        reasoning_max, reasoning);
		return 2;
	}
	cfg.reasoning_tokens_min = (int64_t)reasoning;
	cfg.reasoning_tokens_max = reasoning_max >= 0 ? (int64_t)reasoning_max : (int64_t)reasoning;
	cfg.log_requests = log_req;
	cfg.spin_us = spin_us;
	/* default: SCHED_FIFO 1 where the schedule is the product (roofline, fixed) and CPU use is
	 * bounded by it; never in zero mode, which runs flat out */
	if (metrics_names && strcmp(metrics_names, "vllm") && strcmp(metrics_names, "sglang")) {
		fprintf(stderr, "sim-server: --metrics-names must be vllm or sglang (got '%s')\n", metrics_names);
		return 2;
	}
	cfg.metrics_sglang = metrics_names ? !strcmp(metrics_names, "sglang") : as_sglang;
	cfg.rt_priority = rt_prio >= 0 ? (int)rt_prio : cfg.mode == SIM_MODE_ZERO ? 0 : 1;

	if (sim_tok_init(tokenizer, cfg.served_model) != 0)
		return 2;
	if (sim_tok_is_approx())
		fprintf(stderr,
		        "sim-server: notice: token counts use the word approximation (%s: one whitespace-separated "
		        "word = one token); pass --tokenizer to count with a real tokenizer\n",
		        sim_tok_name());
	else
		fprintf(stderr, "sim-server: tokenizer %s\n", sim_tok_name());
	if (cfg.mode == SIM_MODE_ROOFLINE) {
		const struct sim_engine_params *p = &cfg.engine;
		fprintf(stderr,
		        "sim-server: roofline model: %s on %d x %s, KV capacity %lld tokens, max_num_seqs %d, "
		        "max_num_batched_tokens %lld, decode step at batch 1 ~%.2f ms\n",
		        p->arch.name, p->tp, p->gpu.name, (long long)sim_kv_capacity_tokens(p), p->max_num_seqs,
		        (long long)p->max_num_batched_tokens, 1e3 * sim_step_time_s(p, 0, 0, 1, 1000));
	} else if (cfg.mode == SIM_MODE_FIXED) {
		fprintf(stderr, "sim-server: fixed model: TTFT %.3f ms, ITL %.3f ms, %d token(s) per chunk\n", ttft,
		        itl, cfg.tokens_per_chunk);
	} else {
		fprintf(stderr, "sim-server: zero-delay model\n");
	}
	if (cfg.reasoning_tokens_max > 0)
		fprintf(
		    stderr,
		    "sim-server: reasoning: %lld..%lld tokens streamed as reasoning_content before each chat answer\n",
		    (long long)cfg.reasoning_tokens_min, (long long)cfg.reasoning_tokens_max);
	return sim_server_run(&cfg);
}
