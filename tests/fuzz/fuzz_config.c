/* libFuzzer target for the YAML configuration loader (src/config) and everything a benchmark
 * builds from a loaded config before its first request.
 * Properties: any input either loads or fails with CONFIG_EXIT_USAGE (never crashes or leaks); a
 * loaded config serialised as config.yml loads again and serialises to the same bytes; and for a
 * loaded config, the constructors the runner calls (session generator, sessions with their
 * prompts, traffic scheduler stepped on a fake clock, server argv, evaluator) either succeed or
 * fail with a reason - no crash, no unchecked NULL. No network and no server: the evaluator writes
 * into one temporary directory; trace and corpus files are read only from tests/data/trace (other
 * paths are skipped); lengths and session sizes are clamped so that one input stays cheap. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/log.h"
#include "metrics/evaluator.h"
#include "server/server.h"
#include "fuzz_tmpdir.h"
#include "tokenizer/tokenizer.h"
#include "traffic/traffic.h"
#include "workload/session_gen.h"

/* the message of the last config call that failed (config.h: the caller's err) */
static char vk_cfg_err[2048];

#define FUZZ_MAX_TOKENS 64  /* prompt and output lengths */
#define FUZZ_MAX_COUNT 6    /* requests, layers, widths, fan-outs of a session graph */
#define FUZZ_MAX_SESSIONS 8 /* sessions built per input */
#define FUZZ_MAX_STEPS 256  /* scheduler steps per input */

static char *fuzz_config_yaml(const struct cfg_benchmark *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		abort();
	config_benchmark_write_yaml(c, f, 0);
	fclose(f);
	return buf;
}

static void fuzz_fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_config: %s%s%s\n", what, detail && *detail ? ": " : "", detail ? detail : "");
	abort();
}

static void clamp_i64(int64_t *v, int64_t hi)
{
	if (*v > hi)
		*v = hi;
}

static void clamp_len(struct cfg_length_gen *g, int64_t hi)
{
	clamp_i64(&g->value, hi);
	clamp_i64(&g->min, hi);
	clamp_i64(&g->max, hi);
	for (size_t i = 0; i < g->n_values; i++)
		clamp_i64(&g->values[i], hi);
	if (g->mean > (double)hi)
		g->mean = (double)hi;
}

/* A path under tests/data/trace (the files a benchmark may read here); others are not opened. */
static int fuzz_allowed_file(const char *path)
{
	if (!path || !*path)
		return 1; /* empty: the generator reports it */
	char real[PATH_MAX], dir[PATH_MAX];
	if (!realpath(path, real))
		return 1; /* missing: the generator reports it */
	if (!realpath(VK_FUZZ_SOURCE_DIR "/tests/data/trace", dir))
		return 0;
	size_t n = strlen(dir);
	return !strncmp(real, dir, n) && real[n] == '/';
}

struct fuzz_source {
	struct wl_session_gen *gen;
	int pulled;
	int failed;
};

static struct wl_session *fuzz_pull(void *ctx)
{
	struct fuzz_source *src = ctx;
	if (!src->gen || src->failed || src->pulled >= FUZZ_MAX_SESSIONS)
		return NULL;
	struct wl_session *s = NULL;
	int rc = wl_session_gen_next(src->gen, &s);
	if (rc < 0) {
		if (s)
			fuzz_fail("session generator failed but returned a session", NULL);
		const char *why = wl_session_gen_error(src->gen);
		if (!why || !*why)
			fuzz_fail("session generator failed without a reason", NULL);
		src->failed = 1;
		return NULL;
	}
	if (rc == 0 && !s)
		fuzz_fail("session generator returned no session and no error", NULL);
	if (rc == 0) {
		if (s->n_nodes == 0)
			fuzz_fail("empty session", NULL);
		for (size_t i = 0; i < s->n_nodes; i++)
			if (!s->requests[i].prompt_text)
				fuzz_fail("request without a prompt", NULL);
		src->pulled++;
	}
	return s;
}

static const char *fuzz_run_dir(void)
{
	return fuzz_tmpdir("vk_fuzz_config");
}

/* Build what runner_run_impl builds before the first request (docs/ARCHITECTURE.md), no network. */
static void fuzz_constructors(const struct cfg_benchmark *loaded)
{
	struct cfg_benchmark cfg;
	config_benchmark_copy(&cfg, loaded);
	struct cfg_session_gen *sg = &cfg.session_generator;
	for (size_t i = 0; i < sg->n_channels; i++)
		clamp_len(&sg->channels[i].body_length_generator, FUZZ_MAX_TOKENS);
	clamp_len(&sg->output_spec.text_output_length, FUZZ_MAX_TOKENS);
	struct cfg_session_graph *gr = &sg->session_graph;
	clamp_len(&gr->num_request_generator, FUZZ_MAX_COUNT);
	clamp_len(&gr->num_layers_generator, FUZZ_MAX_COUNT);
	clamp_len(&gr->layer_width_generator, FUZZ_MAX_COUNT);
	clamp_len(&gr->fan_out_generator, FUZZ_MAX_COUNT);
	clamp_len(&gr->fan_in_generator, FUZZ_MAX_COUNT);
	clamp_len(&gr->connection_dist_generator, FUZZ_MAX_COUNT);
	clamp_i64(&cfg.runtime.max_request_tokens, FUZZ_MAX_TOKENS);
	if (sg->type == CFG_SESSION_GEN_TRACE &&
	    (!fuzz_allowed_file(sg->trace_file) || !fuzz_allowed_file(sg->flavor.corpus_file))) {
		config_benchmark_free(&cfg);
		return;
	}

	char err[1024] = "";
	if (cfg.has_server && server_validate(&cfg.server, err, sizeof err) == 0) {
		char **argv = NULL;
		if (server_build_argv(&cfg.server, NULL, 0, &argv, err, sizeof err) == 0) {
			if (!argv || !argv[0])
				fuzz_fail("server argv empty", NULL);
			server_argv_free(argv);
		} else if (!err[0]) {
			fuzz_fail("server_build_argv failed without a reason", NULL);
		}
	}

	/* the approximate tokenizer: a config's tokenizer path could name any file */
	struct fuzz_source src = {0};
	err[0] = '\0';
	src.gen = wl_session_gen_create(&cfg, tok_approx(), err, sizeof err);
	if (!src.gen && !err[0])
		fuzz_fail("wl_session_gen_create failed without a reason", NULL);
	/* a synthetic generator needs no file: what it refuses, the config must have refused (the
	 * runner would report it only after the config was accepted) */
	if (!src.gen && sg->type == CFG_SESSION_GEN_SYNTHETIC)
		fuzz_fail("a config that loaded has a synthetic generator that cannot be built", err);

	/* every traffic_create refusal must be a config error already (the .inf rate of issue 21
	 * passed validation, made traffic_create return NULL and crashed the run) */
	struct traffic *t = traffic_create(&cfg.traffic_scheduler, (uint64_t)cfg.seed, 0, fuzz_pull, &src);
	if (!t)
		fuzz_fail("a config that loaded has a traffic scheduler that cannot be created", NULL);
	{
		int64_t now = 0;
		uint64_t in_flight[64];
		size_t n_in = 0;
		for (int step = 0; step < FUZZ_MAX_STEPS; step++) {
			int64_t next = traffic_next_event_ns(t);
			if (next == INT64_MAX && n_in == 0)
				break;
			if (next != INT64_MAX && next > now)
				now = next < now + INT64_C(3600000000000) ? next : now + INT64_C(3600000000000);
			int64_t intended;
			struct wl_request *r;
			while (n_in < 64 && (r = traffic_pop_ready(t, now, &intended)) != NULL) {
				if (intended > now)
					fuzz_fail("request popped before its time", NULL);
				in_flight[n_in++] = r->id;
			}
			/* complete the oldest request 1 ms later, every third one as a failure */
			if (n_in) {
				now += 1000000;
				uint64_t id = in_flight[0];
				memmove(in_flight, in_flight + 1, (n_in - 1) * sizeof *in_flight);
				n_in--;
				traffic_on_advance(t, id);
				traffic_on_complete(t, id, now, step % 3 != 0, step % 2 ? "ok" : NULL);
			} else if (next == INT64_MAX) {
				break;
			}
		}
		traffic_stop_dispatch(t);
		while (n_in)
			traffic_on_complete(t, in_flight[--n_in], now, false, NULL);
		traffic_free(t);
	}

	/* the evaluator's set-up (SLOs, windows, files) in a scratch directory */
	struct evaluator *ev = eval_create(&cfg, fuzz_run_dir(), 0, "approx-words");
	if (ev)
		eval_free(ev);

	wl_session_gen_free(src.gen);
	config_benchmark_free(&cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	log_set_level(LOG_QUIET);
	struct config_benchmark_set set;
	int rc =
	    config_load_benchmark_string((const char *)data, size, "fuzz.yml", &set, vk_cfg_err, sizeof vk_cfg_err);
	if (rc != CONFIG_OK) {
		if (rc != CONFIG_EXIT_USAGE || set.count != 0 || !vk_cfg_err[0])
			abort();
		return 0;
	}
	if (set.count == 0)
		abort();
	size_t len1 = 0, len2 = 0;
	char *y1 = fuzz_config_yaml(&set.items[0], &len1);
	struct config_benchmark_set again;
	if (config_load_benchmark_string(y1, len1, "config.yml", &again, vk_cfg_err, sizeof vk_cfg_err) != CONFIG_OK ||
	    again.count != 1) {
		fprintf(stderr, "written config.yml does not load: %s\n%s", vk_cfg_err, y1);
		abort();
	}
	char *y2 = fuzz_config_yaml(&again.items[0], &len2);
	if (len1 != len2 || memcmp(y1, y2, len1) != 0) {
		fprintf(stderr, "config.yml round trip differs:\n%s---\n%s", y1, y2);
		abort();
	}
	free(y1);
	free(y2);
	config_benchmark_set_free(&again);
	/* a sweep's variants differ only in values: the first two cover it */
	for (size_t i = 0; i < set.count && i < 2; i++)
		fuzz_constructors(&set.items[i]);
	config_benchmark_set_free(&set);
	return 0;
}
