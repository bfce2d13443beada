/* veeksha microbench prefill|decode|stress (reference §6.2): generate benchmark configs from a
 * microbenchmark config, run them (one managed server shared by all points), and write
 * <output_dir>/<type>/<UTC %Y-%m-%d_%H-%M-%S>/ with results JSON/CSV, plots and a `latest` symlink. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "meta/mb_plot.h"
#include "meta/mb_rows.h"
#include "meta/meta_cli.h"
#include "meta/microbench.h"
#include "runner/run.h"
#include "server/server.h"

struct mb_ctx {
	const struct cfg_microbench *m;
	struct cfg_run_opts opts;
	char *run_dir;
	struct server_handle *server;
	int fails, warns;
};

/* ---- config generation ---- */

static void mb_set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v ? xstrdup(v) : NULL;
}

void mb_base_config(const struct cfg_microbench *m, const char *output_dir, struct cfg_benchmark *b)
{
	config_benchmark_defaults(b);
	mb_set_str(&b->output_dir, output_dir);
	b->seed = m->seed;
	struct cfg_session_gen *sg = &b->session_generator;
	sg->type = CFG_SESSION_GEN_SYNTHETIC;
	sg->session_graph.type = CFG_GRAPH_SINGLE_REQUEST;
	sg->output_spec.has_text = true;
	for (size_t i = 0; i < b->n_evaluators; i++) {
		struct cfg_evaluator *e = &b->evaluators[i];
		e->stream_metrics = false;
		for (size_t k = 0; k < e->n_slos; k++)
			free(e->slos[k].name);
		free(e->slos);
		e->slos = NULL;
		e->n_slos = 0;
	}
	b->trace_recorder.enabled = false;
	b->runtime.pregenerate_sessions = true;
	b->runtime.benchmark_timeout = m->benchmark_timeout;
	b->runtime.post_timeout_grace_seconds = -1;
	b->client.type = CFG_CLIENT_CHAT;
	mb_set_str(&b->client.model, m->model);
	mb_set_str(&b->client.api_base, m->api_base);
	mb_set_str(&b->client.api_key, m->api_key);
	b->client.request_timeout = m->request_timeout;
	mb_set_str(&b->client.max_tokens_param, m->max_tokens_param);
	b->client.ignore_eos = m->ignore_eos;
	if (m->has_server) {
		b->has_server = true;
		config_server_copy(&b->server, &m->server);
	}
}

static void mb_fixed_len(struct cfg_length_gen *g, int64_t v)
{
	free(g->values);
	g->values = NULL;
	g->n_values = 0;
	g->type = CFG_LENGTH_FIXED;
	g->value = v;
}

static void mb_concurrent(struct cfg_benchmark *b, int64_t n)
{
	b->traffic_scheduler.type = CFG_TRAFFIC_CONCURRENT;
	b->traffic_scheduler.target_concurrent_sessions = n;
	b->traffic_scheduler.rampup_seconds = 0;
	b->traffic_scheduler.cancel_session_on_failure = false;
}

int64_t mb_decode_output_tokens(int64_t samples, int64_t batch, int64_t input_len, int64_t chunk)
{
	if (batch <= 1)
		return 2 * samples;
	int64_t per = chunk - batch;
	int64_t steps = per > 0 ? (input_len + per - 1) / per : input_len;
	return 2 * (samples + (batch - 1) * steps);
}

/* ---- running ---- */

static char *mb_make_run_dir(const struct cfg_microbench *m, const char *type, char *err, size_t err_len)
{
	char *parent = xasprintf("%s/%s", m->output_dir, type);
	int r = fs_mkdir_p(parent);
	if (r) {
		snprintf(err, err_len, "cannot create %s: %s", parent, strerror(-r));
		free(parent);
		return NULL;
	}
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char stamp[64];
	strftime(stamp, sizeof stamp, "%Y-%m-%d_%H-%M-%S", &tm);
	char *dir = NULL;
	for (int n = 1; n < 100 && !dir; n++) {
		char *d = n == 1 ? xasprintf("%s/%s", parent, stamp) : xasprintf("%s/%s-%d", parent, stamp, n);
		if (!fs_exists(d) && fs_mkdir_p(d) == 0)
			dir = d;
		else
			free(d);
	}
	if (dir) {
		/* atomic replace of <parent>/latest */
		char *tmp = xasprintf("%s/.latest.%d", parent, (int)getpid());
		unlink(tmp);
		const char *slash = strrchr(dir, '/');
		if (symlink(slash ? slash + 1 : dir, tmp) == 0) {
			char *latest = xasprintf("%s/latest", parent);
			if (rename(tmp, latest) != 0)
				unlink(tmp);
			free(latest);
		}
		free(tmp);
	} else {
		snprintf(err, err_len, "cannot create a run directory under %s", parent);
	}
	free(parent);
	return dir;
}

/* Runs one generated config; 0 ok, -1 failed (reason logged). */
static int mb_run(struct mb_ctx *c, struct cfg_benchmark *b)
{
	if (runner_signal_pending())
		return -1;
	struct runner_result res;
	runner_drop_dead_server(&c->server);
	if (b->has_server && !c->server)
		runner_run_one_keep_server(b, &c->opts, &c->server, &res);
	else
		runner_run_one(b, &c->opts, c->server, &res);
	int ok = res.exit_code == 0 && res.run_dir;
	free(res.run_dir);
	return ok ? 0 : -1;
}

static void mb_check(struct mb_ctx *c, const char *level, const char *name, const char *detail)
{
	printf("  [%s] %s%s%s\n", level, name, detail && *detail ? ": " : "", detail ? detail : "");
	if (!strcmp(level, "FAIL"))
		c->fails++;
	else if (!strcmp(level, "WARN"))
		c->warns++;
}

void mb_check_errored(const struct mb_rows *rows, const char *what, int *fails)
{
	size_t total = rows->n + rows->n_failed;
	if (rows->n_failed == 0) {
		printf("  [PASS] no errored requests: %s: %zu requests\n", what, total);
		return;
	}
	printf("  [FAIL] no errored requests: %s: %zu of %zu requests failed (first: %s)\n", what, rows->n_failed,
	       total, rows->first_error);
	(*fails)++;
}

static void mb_write(const char *dir, const char *name, struct buf *b)
{
	char *p = fs_path_join(dir, name);
	if (fs_write_file(p, b->data, b->len) != 0)
		log_error("cannot write %s", p);
	free(p);
}

void mb_results_begin(struct mb_results *r, const char *type, const char *csv_header)
{
	buf_init(&r->js);
	buf_init(&r->csv);
	jsonw_init(&r->w, &r->js, 2);
	jsonw_obj_begin(&r->w);
	jsonw_key(&r->w, "type");
	jsonw_str(&r->w, type);
	buf_puts(&r->csv, csv_header);
}

void mb_results_list_begin(struct mb_results *r)
{
	jsonw_key(&r->w, "results");
	jsonw_arr_begin(&r->w);
}

/* Closes the JSON and writes both files into dir (dir NULL: only frees). */
void mb_results_end(struct mb_results *r, const char *dir, const char *json_name, const char *csv_name)
{
	jsonw_arr_end(&r->w);
	jsonw_obj_end(&r->w);
	if (dir) {
		mb_write(dir, json_name, &r->js);
		mb_write(dir, csv_name, &r->csv);
	}
	buf_free(&r->js);
	buf_free(&r->csv);
}

static void mb_stats_json(struct jsonw *w, const struct mb_stats *s)
{
	jsonw_obj_begin(w);
	jsonw_key(w, "mean");
	jsonw_double(w, s->mean);
	jsonw_key(w, "median");
	jsonw_double(w, s->median);
	jsonw_key(w, "p99");
	jsonw_double(w, s->p99);
	jsonw_key(w, "min");
	jsonw_double(w, s->min);
	jsonw_key(w, "max");
	jsonw_double(w, s->max);
	jsonw_key(w, "count");
	jsonw_int(w, (int64_t)s->count);
	jsonw_obj_end(w);
}

/* ---- prefill ---- */

static int mb_prefill(struct mb_ctx *c)
{
	const struct cfg_microbench *m = c->m;
	struct cfg_benchmark b;
	char *bench_dir = fs_path_join(c->run_dir, "benchmark");
	mb_base_config(m, bench_dir, &b);
	struct cfg_length_gen *body = &b.session_generator.channels[0].body_length_generator;
	free(body->values);
	body->type = CFG_LENGTH_FIXED_STAIR;
	body->values = xcalloc(m->n_input_lengths, sizeof(int64_t));
	memcpy(body->values, m->input_lengths, m->n_input_lengths * sizeof(int64_t));
	body->n_values = m->n_input_lengths;
	body->repeat_each = m->samples_per_length;
	body->wrap = false;
	mb_fixed_len(&b.session_generator.output_spec.text_output_length, m->output_tokens);
	mb_concurrent(&b, 1);
	b.runtime.max_sessions = (int64_t)m->n_input_lengths * m->samples_per_length;
	b.runtime.num_client_threads = 1;
	printf("prefill: %zu input lengths x %lld samples, %lld output token(s)\n", m->n_input_lengths,
	       (long long)m->samples_per_length, (long long)m->output_tokens);
	if (m->validate_only) {
		config_benchmark_free(&b);
		free(bench_dir);
		printf("prefill: validate_only: configuration is valid; nothing run\n");
		return 0;
	}
	int rr = mb_run(c, &b);
	config_benchmark_free(&b);
	struct mb_rows rows;
	if (rr != 0 || mb_rows_load(bench_dir, &rows) != 0) {
		free(bench_dir);
		log_error("prefill: the benchmark did not produce metrics");
		return 1;
	}
	free(bench_dir);

	struct mb_results res;
	mb_results_begin(&res, "prefill", "input_length,mean_ms,p50_ms,p99_ms,min_ms,max_ms,count\n");
	jsonw_key(&res.w, "metric");
	jsonw_str(&res.w, "ttfc");
	mb_results_list_begin(&res);
	size_t nl = m->n_input_lengths;
	double *xs = xcalloc(nl, sizeof *xs), *mean = xcalloc(nl, sizeof *mean), *p50 = xcalloc(nl, sizeof *p50),
	       *p99 = xcalloc(nl, sizeof *p99);
	double *vals = xcalloc(rows.n + 1, sizeof *vals);
	size_t missing = 0;
	for (size_t i = 0; i < nl; i++) {
		size_t n = 0;
		for (size_t k = 0; k < rows.n; k++)
			if (rows.v[k].target_prompt_tokens == m->input_lengths[i])
				vals[n++] = rows.v[k].ttfc_s;
		struct mb_stats s;
		mb_stats_of(vals, n, &s);
		if ((int64_t)n != m->samples_per_length)
			missing++;
		jsonw_obj_begin(&res.w);
		jsonw_key(&res.w, "input_length");
		jsonw_int(&res.w, m->input_lengths[i]);
		jsonw_key(&res.w, "ttfc");
		mb_stats_json(&res.w, &s);
		jsonw_obj_end(&res.w);
		buf_printf(&res.csv, "%lld,%.6f,%.6f,%.6f,%.6f,%.6f,%zu\n", (long long)m->input_lengths[i],
		           s.mean * 1e3, s.p50 * 1e3, s.p99 * 1e3, s.min * 1e3, s.max * 1e3, s.count);
		xs[i] = (double)m->input_lengths[i];
		mean[i] = s.mean * 1e3;
		p50[i] = s.p50 * 1e3;
		p99[i] = s.p99 * 1e3;
		printf("  input %6lld tokens: TTFC mean %8.2f ms  p50 %8.2f ms  p99 %8.2f ms  (n=%zu)\n",
		       (long long)m->input_lengths[i], s.mean * 1e3, s.p50 * 1e3, s.p99 * 1e3, s.count);
	}
	mb_results_end(&res, c->run_dir, "prefill_results.json", "prefill_results.csv");
	if (nl >= 2) {
		char *plots = fs_path_join(c->run_dir, "plots");
		fs_mkdir_p(plots);
		char *png = fs_path_join(plots, "ttfc_vs_input_length.png");
		struct mb_series ser[] = {{"mean", mean}, {"p50", p50}, {"p99", p99}};
		mb_plot_lines(png, "TTFC vs input length", "input length (tokens)", "TTFC (ms)", false, xs, nl, ser, 3);
		free(png);
		free(plots);
	}
	if (!m->skip_validation) {
		printf("prefill validation:\n");
		mb_check(c, rows.n ? "PASS" : "FAIL", "metrics found", NULL);
		char d[128];
		snprintf(d, sizeof d, "%zu rows, expected %lld", rows.n,
		         (long long)(m->samples_per_length * (int64_t)nl));
		mb_check(c, missing == 0 ? "PASS" : "FAIL", "sample count", d);
		mb_check_errored(&rows, "prefill", &c->fails);
		size_t zero = 0, inexact = 0, overlap = 0, disorder = 0;
		for (size_t k = 0; k < rows.n; k++) {
			zero += rows.v[k].output_tokens == 0;
			inexact += rows.v[k].output_tokens != m->output_tokens;
			if (k > 0 && rows.v[k].dispatched_s < rows.v[k - 1].completed_s - 1e-5)
				overlap++;
			if (k > 0 && rows.v[k].target_prompt_tokens < rows.v[k - 1].target_prompt_tokens)
				disorder++;
		}
		snprintf(d, sizeof d, "%zu rows", zero);
		mb_check(c, zero ? "FAIL" : "PASS", "no zero-output rows", d);
		snprintf(d, sizeof d, "%zu rows differ from %lld", inexact, (long long)m->output_tokens);
		mb_check(c, inexact ? "WARN" : "PASS", "exact output tokens", d);
		snprintf(d, sizeof d, "%zu overlapping requests", overlap);
		mb_check(c, overlap ? "WARN" : "PASS", "sequential execution", d);
		snprintf(d, sizeof d, "%zu out of order", disorder);
		mb_check(c, disorder ? "WARN" : "PASS", "stair order", d);
	}
	free(xs);
	free(mean);
	free(p50);
	free(p99);
	free(vals);
	mb_rows_free(&rows);
	return 0;
}

/* ---- decode ---- */

static int mb_decode(struct mb_ctx *c)
{
	const struct cfg_microbench *m = c->m;
	for (size_t i = 0; i < m->n_batch_sizes; i++) {
		if (m->batch_sizes[i] <= 0 || m->batch_sizes[i] >= m->engine_chunk_size) {
			log_error("decode: every batch size must be in 1..engine_chunk_size-1 (%lld)",
			          (long long)m->engine_chunk_size);
			return 2;
		}
	}
	size_t nb = m->n_batch_sizes, nl = m->n_input_lengths;
	double *p50 = xcalloc(nb * nl, sizeof *p50), *p99 = xcalloc(nb * nl, sizeof *p99);
	struct mb_results res;
	mb_results_begin(&res, "decode", "batch_size,input_length,mean_ms,p50_ms,p99_ms,min_ms,max_ms,samples\n");
	jsonw_key(&res.w, "metric");
	jsonw_str(&res.w, "tbt");
	mb_results_list_begin(&res);
	int rc = 0;
	if (!m->skip_validation && !m->validate_only)
		printf("decode validation:\n");
	for (size_t li = 0; li < nl; li++) {
		for (size_t bi = 0; bi < nb; bi++) {
			int64_t bs = m->batch_sizes[bi], il = m->input_lengths[li];
			char *sub = xasprintf("%s/bs=%lld_il=%lld", c->run_dir, (long long)bs, (long long)il);
			struct cfg_benchmark b;
			mb_base_config(m, sub, &b);
			mb_fixed_len(&b.session_generator.channels[0].body_length_generator, il);
			int64_t out = mb_decode_output_tokens(m->samples_per_length, bs, il, m->engine_chunk_size);
			mb_fixed_len(&b.session_generator.output_spec.text_output_length, out);
			b.traffic_scheduler.type = CFG_TRAFFIC_SEQUENTIAL_LAUNCH;
			b.traffic_scheduler.ordering = CFG_ORDERING_DISPATCH;
			b.traffic_scheduler.cancel_session_on_failure = false;
			b.runtime.max_sessions = bs;
			b.runtime.num_client_threads = 1; /* (the reference: bs workers; one loop streams all bs) */
			struct cfg_evaluator *e = &b.evaluators[0];
			e->decode_window_enabled = true;
			e->has_decode_window_config = true;
			e->decode_window_config.min_active_max_observed = true;
			e->decode_window_config.min_active_requests = 1;
			e->decode_window_config.selection_strategy = CFG_WINDOW_ALL;
			e->decode_window_config.anchor_to_client_pickup = true;
			e->decode_window_config.require_streaming = true;
			printf("decode: batch %lld, input %lld tokens, %lld output tokens per request\n", (long long)bs,
			       (long long)il, (long long)out);
			if (m->validate_only) {
				config_benchmark_free(&b);
				free(sub);
				continue;
			}
			int rr = mb_run(c, &b);
			config_benchmark_free(&b);
			struct mb_stats s;
			memset(&s, 0, sizeof s);
			struct mb_rows rows;
			memset(&rows, 0, sizeof rows);
			if (rr == 0 && mb_rows_load(sub, &rows) == 0) {
				char *dwp = xasprintf("%s/metrics/decode_window_metrics.json", rows.run_dir);
				char *text = fs_read_file(dwp, NULL);
				free(dwp);
				if (text)
					mb_decode_window_stats(text, &s);
				free(text);
			} else {
				rc = 1;
			}
			free(sub);
			jsonw_obj_begin(&res.w);
			jsonw_key(&res.w, "batch_size");
			jsonw_int(&res.w, bs);
			jsonw_key(&res.w, "input_length");
			jsonw_int(&res.w, il);
			jsonw_key(&res.w, "tbt");
			mb_stats_json(&res.w, &s);
			jsonw_obj_end(&res.w);
			buf_printf(&res.csv, "%lld,%lld,%.6f,%.6f,%.6f,%.6f,%.6f,%zu\n", (long long)bs, (long long)il,
			           s.mean * 1e3, s.median * 1e3, s.p99 * 1e3, s.min * 1e3, s.max * 1e3, s.count);
			p50[li * nb + bi] = s.median * 1e3;
			p99[li * nb + bi] = s.p99 * 1e3;
			printf("  TBT p50 %.3f ms, p99 %.3f ms over %zu in-window samples\n", s.median * 1e3,
			       s.p99 * 1e3, s.count);
			if (!m->skip_validation) {
				char d[128];
				snprintf(d, sizeof d, "bs=%lld il=%lld: %zu samples", (long long)bs, (long long)il,
				         s.count);
				mb_check(c, s.count ? "PASS" : "FAIL", "decode-window samples", d);
				/* a failed request leaves fewer than bs decoding together: the window's TBT is
				 * not the batch size's (docs/META.md) */
				snprintf(d, sizeof d, "bs=%lld il=%lld", (long long)bs, (long long)il);
				mb_check_errored(&rows, d, &c->fails);
				size_t disorder = 0;
				for (size_t k = 1; k < rows.n; k++) {
					double a = rows.v[k - 1].picked_up_s + rows.v[k - 1].ttfc_s;
					double bb = rows.v[k].picked_up_s + rows.v[k].ttfc_s;
					if (rows.v[k].dispatched_s >= rows.v[k - 1].dispatched_s && bb + 1e-6 < a)
						disorder++;
				}
				snprintf(d, sizeof d, "bs=%lld il=%lld: %zu out of order", (long long)bs, (long long)il,
				         disorder);
				mb_check(c, disorder ? "WARN" : "PASS", "FCFS first-token order", d);
			}
			mb_rows_free(&rows);
		}
	}
	if (!m->validate_only) {
		mb_results_end(&res, c->run_dir, "decode_results.json", "decode_results.csv");
		char *plots = fs_path_join(c->run_dir, "plots");
		fs_mkdir_p(plots);
		double *xs = xcalloc(nb, sizeof *xs);
		for (size_t bi = 0; bi < nb; bi++)
			xs[bi] = (double)m->batch_sizes[bi];
		struct mb_series *s50 = xcalloc(nl, sizeof *s50), *s99 = xcalloc(nl, sizeof *s99);
		char **names = xcalloc(nl, sizeof *names);
		for (size_t li = 0; li < nl; li++) {
			names[li] = xasprintf("input %lld", (long long)m->input_lengths[li]);
			s50[li] = (struct mb_series){names[li], p50 + li * nb};
			s99[li] = (struct mb_series){names[li], p99 + li * nb};
		}
		char *png = fs_path_join(plots, "tbt_p50_vs_batch_size.png");
		mb_plot_lines(png, "TBT p50 vs batch size", "batch size", "TBT p50 (ms)", true, xs, nb, s50, nl);
		free(png);
		png = fs_path_join(plots, "tbt_p99_vs_batch_size.png");
		mb_plot_lines(png, "TBT p99 vs batch size", "batch size", "TBT p99 (ms)", true, xs, nb, s99, nl);
		free(png);
		for (size_t li = 0; li < nl; li++)
			free(names[li]);
		free(names);
		free(s50);
		free(s99);
		free(xs);
		free(plots);
	}
	if (m->validate_only)
		mb_results_end(&res, NULL, NULL, NULL);
	free(p50);
	free(p99);
	return rc;
}

/* ---- dispatch ---- */

static const char *mb_type_name(enum cfg_microbench_type t)
{
	return t == CFG_MICROBENCH_PREFILL ? "prefill" : t == CFG_MICROBENCH_DECODE ? "decode" : "stress";
}

static int mb_one(const struct cfg_microbench *m, const struct cfg_run_opts *opts)
{
	char err[512];
	struct mb_ctx c;
	memset(&c, 0, sizeof c);
	c.m = m;
	c.opts = *opts;
	c.run_dir = mb_make_run_dir(m, mb_type_name(m->type), err, sizeof err);
	if (!c.run_dir) {
		log_error("%s", err);
		return 1;
	}
	printf("==== veeksha microbench %s -> %s ====\n", mb_type_name(m->type), c.run_dir);
	int rc;
	if (m->type == CFG_MICROBENCH_PREFILL)
		rc = mb_prefill(&c);
	else if (m->type == CFG_MICROBENCH_DECODE)
		rc = mb_decode(&c);
	else
		rc = mb_stress(&c.opts, m, c.run_dir, &c.server, &c.fails, &c.warns);
	if (c.server) {
		server_stop(c.server);
		server_handle_free(c.server);
	}
	if (rc == 0 && c.fails > 0) {
		printf("validation: %d FAIL, %d WARN\n", c.fails, c.warns);
		rc = 1;
	} else if (!m->skip_validation && !m->validate_only) {
		printf("validation: %d FAIL, %d WARN\n", c.fails, c.warns);
	}
	if (runner_signal_pending())
		rc = 128 + runner_signal_pending();
	printf("results: %s\n", c.run_dir);
	free(c.run_dir);
	return rc;
}

int meta_microbench_main(int argc, char **argv)
{
	if (argc < 2 || (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		FILE *o = argc < 2 ? stderr : stdout;
		fprintf(o, "usage: veeksha microbench prefill|decode|stress [options]\n"
		           "       veeksha microbench <type> --help   lists the options of a type\n"
		           "stress also takes --stress-mode manual|range|auto (default manual).\n");
		return argc < 2 ? 2 : 0;
	}
	enum cfg_microbench_type type;
	if (!strcmp(argv[1], "prefill"))
		type = CFG_MICROBENCH_PREFILL;
	else if (!strcmp(argv[1], "decode"))
		type = CFG_MICROBENCH_DECODE;
	else if (!strcmp(argv[1], "stress"))
		type = CFG_MICROBENCH_STRESS;
	else {
		fprintf(stderr, "veeksha microbench: unknown type '%s' (prefill, decode, stress)\n", argv[1]);
		return 2;
	}
	struct config_microbench_set set;
	memset(&set, 0, sizeof set);
	char cerr[2048];
	int r = config_parse_microbench_args(type, argc - 1, argv + 1, &set, cerr, sizeof cerr);
	if (r == CONFIG_HELP_PRINTED)
		return 0;
	if (r != CONFIG_OK) {
		fprintf(stderr, "%s\n", cerr);
		return CONFIG_EXIT_USAGE;
	}
	runner_signals_install();
	struct cfg_run_opts opts = {.quiet = true, .fail_on_slo = false};
	int worst = 0;
	for (size_t i = 0; i < set.count && !runner_signal_pending(); i++) {
		int c = mb_one(&set.items[i], &opts);
		if (c > worst)
			worst = c;
	}
	config_microbench_set_free(&set);
	return worst;
}
