/* veeksha microbench stress: throughput/latency/interactivity across load levels, in manual,
 * range or auto mode (reference §6.2). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "meta/mb_plot.h"
#include "meta/microbench.h"
#include "metrics/pct.h"
#include "runner/run.h"

#define MB_STRESS_MAX_LEVELS 128

int mb_decode_window_stats(const char *json_text, struct mb_stats *out)
{
	memset(out, 0, sizeof *out);
	cJSON *j = cJSON_Parse(json_text);
	if (!j)
		return -1;
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "tbc_in_window_stats");
	int rc = -1;
	if (s) {
		const cJSON *v;
		if ((v = cJSON_GetObjectItemCaseSensitive(s, "count")) && cJSON_IsNumber(v))
			out->count = (size_t)v->valuedouble;
		if ((v = cJSON_GetObjectItemCaseSensitive(s, "mean")) && cJSON_IsNumber(v))
			out->mean = v->valuedouble;
		if ((v = cJSON_GetObjectItemCaseSensitive(s, "median")) && cJSON_IsNumber(v))
			out->median = out->p50 = v->valuedouble;
		if ((v = cJSON_GetObjectItemCaseSensitive(s, "p99")) && cJSON_IsNumber(v))
			out->p99 = v->valuedouble;
		if ((v = cJSON_GetObjectItemCaseSensitive(s, "min")) && cJSON_IsNumber(v))
			out->min = v->valuedouble;
		if ((v = cJSON_GetObjectItemCaseSensitive(s, "max")) && cJSON_IsNumber(v))
			out->max = v->valuedouble;
		rc = 0;
	}
	cJSON_Delete(j);
	return rc;
}

static int mb_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static size_t mb_unique_sorted(int64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, mb_cmp_i64);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (k == 0 || v[i] != v[k - 1])
			v[k++] = v[i];
	return k;
}

size_t mb_stress_manual_levels(const int64_t *in, size_t n, int64_t *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < cap; i++)
		out[k++] = in[i];
	return mb_unique_sorted(out, k);
}

size_t mb_stress_range_levels(int64_t lo, int64_t hi, int64_t points, int64_t *out, size_t cap)
{
	size_t k = 0;
	if (points <= 1) {
		out[k++] = lo;
		return k;
	}
	double a = log((double)lo), b = log((double)hi);
	for (int64_t i = 0; i < points && k < cap; i++) {
		double t = a + (b - a) * (double)i / (double)(points - 1);
		out[k++] = (int64_t)jsonw_py_round(exp(t), 0);
	}
	return mb_unique_sorted(out, k);
}

int64_t mb_stress_max_sessions(const struct cfg_microbench *m, int64_t level)
{
	double est;
	if (m->traffic_mode && !strcmp(m->traffic_mode, "fixed-rate"))
		est = (double)level * (double)m->point_duration * 2.0;
	else
		est = (double)level * (double)m->point_duration * m->max_tokens_per_second_estimate /
		      (double)(m->output_length > 0 ? m->output_length : 1);
	double v = fmax(2.0 * est, 10.0 * (double)level);
	return (int64_t)v;
}

void mb_stress_point_of(const struct mb_rows *rows, double warmup_s, struct mb_stress_point *p)
{
	double first = INFINITY;
	for (size_t i = 0; i < rows->n; i++)
		if (rows->v[i].dispatched_s < first)
			first = rows->v[i].dispatched_s;
	double cutoff = first + warmup_s;
	size_t n = 0;
	double t_end = -INFINITY, in_tok = 0, out_tok = 0;
	double *e2e = xcalloc(rows->n + 1, sizeof *e2e), *ttfc = xcalloc(rows->n + 1, sizeof *ttfc),
	       *tpot = xcalloc(rows->n + 1, sizeof *tpot);
	size_t n_tpot = 0;
	for (size_t i = 0; i < rows->n; i++) {
		const struct mb_row *r = &rows->v[i];
		if (r->completed_s < cutoff)
			continue;
		e2e[n] = r->e2e_s;
		ttfc[n] = r->ttfc_s;
		n++;
		if (r->tpot_s > 0)
			tpot[n_tpot++] = r->tpot_s;
		in_tok += (double)r->prompt_tokens;
		out_tok += (double)r->output_tokens;
		if (r->completed_s > t_end)
			t_end = r->completed_s;
	}
	p->num_requests = n;
	p->num_errored_requests = rows->n_failed;
	double span = n ? t_end - cutoff : 0;
	p->duration_s = span > 0 ? span : 0;
	p->input_throughput_tps = span > 0 ? in_tok / span : 0;
	p->output_throughput_tps = span > 0 ? out_tok / span : 0;
	p->requests_per_s = span > 0 ? (double)n / span : 0;
	if (n) {
		pct_sort(e2e, n);
		pct_sort(ttfc, n);
		p->e2e_p50_s = pct_linear_sorted(e2e, n, 0.5);
		p->e2e_p99_s = pct_linear_sorted(e2e, n, 0.99);
		p->ttfc_p50_s = pct_linear_sorted(ttfc, n, 0.5);
		p->ttfc_p99_s = pct_linear_sorted(ttfc, n, 0.99);
	}
	if (n_tpot) {
		pct_sort(tpot, n_tpot);
		p->tpot_p50_s = pct_linear_sorted(tpot, n_tpot, 0.5);
		p->tpot_p99_s = pct_linear_sorted(tpot, n_tpot, 0.99);
		p->interactivity_p50 = p->tpot_p50_s > 0 ? 1.0 / p->tpot_p50_s : 0;
	}
	free(e2e);
	free(ttfc);
	free(tpot);
}

struct mb_stress_run {
	const struct cfg_run_opts *opts;
	const struct cfg_microbench *m;
	const char *run_dir;
	struct server_handle **server;
	int *fails; /* validation FAILs of the microbenchmark (a level that could not be measured is one) */
	struct mb_stress_point pts[MB_STRESS_MAX_LEVELS];
	size_t n;
};

static struct mb_stress_point *mb_stress_find(struct mb_stress_run *s, int64_t level)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->pts[i].concurrency == level)
			return &s->pts[i];
	return NULL;
}

/* Measures one level (or reuses a resumed c=N directory). NULL when it failed: a level that could
 * not be measured (its run exited non-zero or left no rows) is reported and counted as a FAIL, so
 * the microbenchmark exits 1 instead of presenting the levels before it as the whole curve
 * (docs/META.md, Microbenchmarks); a signal is not counted (the caller exits 128+N). */
static struct mb_stress_point *mb_stress_measure(struct mb_stress_run *s, int64_t level)
{
	struct mb_stress_point *have = mb_stress_find(s, level);
	if (have)
		return have;
	if (runner_signal_pending())
		return NULL;
	if (s->n >= MB_STRESS_MAX_LEVELS) {
		log_error("stress: more than %d levels; level %lld not measured", MB_STRESS_MAX_LEVELS,
		          (long long)level);
		(*s->fails)++;
		return NULL;
	}
	const struct cfg_microbench *m = s->m;
	char *sub = xasprintf("%s/c=%lld", s->run_dir, (long long)level);
	bool resumed = false;
	if (m->resume_dir && *m->resume_dir) {
		char *old = xasprintf("%s/c=%lld", m->resume_dir, (long long)level);
		if (fs_exists(old)) {
			char *abs = realpath(old, NULL);
			if (abs && symlink(abs, sub) == 0) {
				resumed = true;
				printf("stress: c=%lld resumed from %s\n", (long long)level, abs);
			}
			free(abs);
		}
		free(old);
	}
	if (!resumed) {
		struct cfg_benchmark b;
		mb_base_config(m, sub, &b);
		b.session_generator.channels[0].body_length_generator.type = CFG_LENGTH_FIXED;
		b.session_generator.channels[0].body_length_generator.value = m->input_length;
		b.session_generator.output_spec.text_output_length.type = CFG_LENGTH_FIXED;
		b.session_generator.output_spec.text_output_length.value = m->output_length;
		if (m->traffic_mode && !strcmp(m->traffic_mode, "fixed-rate")) {
			b.traffic_scheduler.type = CFG_TRAFFIC_RATE;
			b.traffic_scheduler.interval_generator.type = CFG_INTERVAL_POISSON;
			b.traffic_scheduler.interval_generator.arrival_rate = (double)level;
		} else {
			b.traffic_scheduler.type = CFG_TRAFFIC_CONCURRENT;
			b.traffic_scheduler.target_concurrent_sessions = level;
			b.traffic_scheduler.rampup_seconds = 0;
		}
		b.runtime.benchmark_timeout = m->point_duration;
		b.runtime.post_timeout_grace_seconds = 0;
		b.runtime.num_client_threads = 1; /* (the reference sizes a worker pool; one loop serves any level) */
		b.runtime.max_sessions = mb_stress_max_sessions(m, level);
		b.runtime.pregenerate_sessions = false;
		printf("stress: level %lld (%s) for %lld s\n", (long long)level,
		       m->traffic_mode ? m->traffic_mode : "fixed-clients", (long long)m->point_duration);
		fflush(stdout);
		struct runner_result res;
		runner_drop_dead_server(s->server);
		if (b.has_server && !*s->server)
			runner_run_one_keep_server(&b, s->opts, s->server, &res);
		else
			runner_run_one(&b, s->opts, *s->server, &res);
		config_benchmark_free(&b);
		bool ok = res.run_dir && (res.exit_code == 0);
		if (!ok && !res.interrupted && !runner_signal_pending()) {
			log_error("stress: level %lld could not be measured (its benchmark exited %d%s%s)",
			          (long long)level, res.exit_code, res.run_dir ? "; see " : "",
			          res.run_dir ? res.run_dir : "");
			(*s->fails)++;
		}
		free(res.run_dir);
		if (!ok) {
			free(sub);
			return NULL;
		}
	}
	struct mb_rows rows;
	if (mb_rows_load(sub, &rows) != 0) {
		log_error("stress: level %lld: no request_level_metrics.jsonl under %s", (long long)level, sub);
		(*s->fails)++;
		free(sub);
		return NULL;
	}
	struct mb_stress_point *p = &s->pts[s->n++];
	memset(p, 0, sizeof *p);
	p->concurrency = level;
	mb_stress_point_of(&rows, (double)m->warmup_duration, p);
	snprintf(p->run_dir, sizeof p->run_dir, "%s", rows.run_dir);
	printf(
	    "  c=%-5lld out %.1f tok/s, e2e p50 %.3f s, ttfc p50 %.3f s, tpot p50 %.2f ms, interactivity %.1f tok/s\n",
	    (long long)level, p->output_throughput_tps, p->e2e_p50_s, p->ttfc_p50_s, p->tpot_p50_s * 1e3,
	    p->interactivity_p50);
	/* the level's numbers are over its successful requests only: errored ones fail the
	 * microbenchmark instead of passing unseen (docs/META.md, Microbenchmarks) */
	if (!m->skip_validation) {
		char what[64];
		snprintf(what, sizeof what, "c=%lld", (long long)level);
		mb_check_errored(&rows, what, s->fails);
	}
	mb_rows_free(&rows);
	free(sub);
	return p;
}

static int mb_cmp_point(const void *a, const void *b)
{
	const struct mb_stress_point *x = a, *y = b;
	return x->concurrency < y->concurrency ? -1 : x->concurrency > y->concurrency;
}

static void mb_stress_auto(struct mb_stress_run *s)
{
	const struct cfg_microbench *m = s->m;
	double thr = m->auto_throughput_threshold;
	int64_t c = 1, upper = 1;
	double prev = -1;
	for (int64_t probe = 0; probe < m->auto_max_probes; probe++, c *= 2) {
		struct mb_stress_point *p = mb_stress_measure(s, c);
		if (!p)
			return; /* (counted as a FAIL by mb_stress_measure, or a signal) */
		upper = c;
		if (p->num_errored_requests > 0) {
			printf("stress auto: %zu request(s) failed at c=%lld: stopping probes\n",
			       p->num_errored_requests, (long long)c);
			break;
		}
		if (prev > 0 && (p->output_throughput_tps - prev) / prev < thr) {
			printf("stress auto: throughput gain at c=%lld under %.0f%%: stopping probes\n", (long long)c,
			       thr * 100);
			break;
		}
		prev = p->output_throughput_tps;
	}
	double max_inter = 0;
	for (size_t i = 0; i < s->n; i++)
		max_inter = fmax(max_inter, s->pts[i].interactivity_p50);
	int64_t lower = upper;
	for (size_t i = 0; i < s->n; i++)
		if (s->pts[i].interactivity_p50 >= (1 - thr) * max_inter && s->pts[i].concurrency < lower)
			lower = s->pts[i].concurrency;
	int64_t fill[MB_STRESS_MAX_LEVELS];
	size_t nf = mb_stress_range_levels(lower, upper, m->auto_fill_points, fill, MB_STRESS_MAX_LEVELS);
	for (size_t i = 0; i < nf; i++) {
		bool near = false;
		for (size_t k = 0; k < s->n; k++)
			if (fabs((double)fill[i] - (double)s->pts[k].concurrency) <=
			    0.2 * (double)s->pts[k].concurrency)
				near = true;
		if (!near && !mb_stress_measure(s, fill[i]))
			return;
	}
}

static void mb_stress_plot(const struct mb_stress_run *s, const char *plots)
{
	size_t n = s->n;
	double *x = xcalloc(n, sizeof *x), *cols[12];
	for (int k = 0; k < 12; k++)
		cols[k] = xcalloc(n, sizeof(double));
	for (size_t i = 0; i < n; i++) {
		const struct mb_stress_point *p = &s->pts[i];
		x[i] = (double)p->concurrency;
		cols[0][i] = p->output_throughput_tps;
		cols[1][i] = p->input_throughput_tps;
		cols[2][i] = p->e2e_p50_s;
		cols[3][i] = p->e2e_p99_s;
		cols[4][i] = p->ttfc_p50_s * 1e3;
		cols[5][i] = p->ttfc_p99_s * 1e3;
		cols[6][i] = p->tpot_p50_s * 1e3;
		cols[7][i] = p->tpot_p99_s * 1e3;
		cols[8][i] = p->interactivity_p50;
		cols[9][i] = p->requests_per_s;
	}
	const char *xl = s->m->traffic_mode && !strcmp(s->m->traffic_mode, "fixed-rate") ? "arrival rate (req/s)"
	                                                                                 : "concurrent clients";
	struct {
		const char *file, *title, *ylabel;
		struct mb_series ser[2];
		size_t ns;
	} plots_def[] = {
	    {"output_throughput_vs_load.png", "Output throughput", "tokens/s", {{"output", cols[0]}}, 1},
	    {"input_throughput_vs_load.png", "Input throughput", "tokens/s", {{"input", cols[1]}}, 1},
	    {"e2e_latency_vs_load.png", "End-to-end latency", "seconds", {{"p50", cols[2]}, {"p99", cols[3]}}, 2},
	    {"ttfc_vs_load.png", "Time to first chunk", "ms", {{"p50", cols[4]}, {"p99", cols[5]}}, 2},
	    {"tpot_vs_load.png", "Time per output token", "ms", {{"p50", cols[6]}, {"p99", cols[7]}}, 2},
	    {"interactivity_vs_load.png", "Interactivity (1/TPOT p50)", "tokens/s per user", {{"p50", cols[8]}}, 1},
	    {"request_rate_vs_load.png", "Completed requests", "requests/s", {{"requests/s", cols[9]}}, 1},
	};
	for (size_t k = 0; k < sizeof plots_def / sizeof plots_def[0]; k++) {
		char *png = fs_path_join(plots, plots_def[k].file);
		mb_plot_lines(png, plots_def[k].title, xl, plots_def[k].ylabel, true, x, n, plots_def[k].ser,
		              plots_def[k].ns);
		free(png);
	}
	for (int k = 0; k < 12; k++)
		free(cols[k]);
	free(x);
}

int mb_stress(const struct cfg_run_opts *opts, const struct cfg_microbench *m, const char *run_dir,
              struct server_handle **server, int *fails, int *warns)
{
	(void)warns;
	struct mb_stress_run *s = xcalloc(1, sizeof *s);
	s->opts = opts;
	s->m = m;
	s->run_dir = run_dir;
	s->server = server;
	s->fails = fails;
	int64_t levels[MB_STRESS_MAX_LEVELS];
	size_t nl = 0;
	if (m->stress_mode == CFG_STRESS_MANUAL)
		nl = mb_stress_manual_levels(m->concurrency_levels, m->n_concurrency_levels, levels,
		                             MB_STRESS_MAX_LEVELS);
	else if (m->stress_mode == CFG_STRESS_RANGE)
		nl = mb_stress_range_levels(m->concurrency_min, m->concurrency_max, m->concurrency_points, levels,
		                            MB_STRESS_MAX_LEVELS);
	if (m->validate_only) {
		printf("stress: validate_only: %zu level(s) configured; nothing run\n", nl);
		free(s);
		return 0;
	}
	if (m->stress_mode == CFG_STRESS_AUTO) {
		mb_stress_auto(s);
	} else {
		for (size_t i = 0; i < nl && !runner_signal_pending(); i++)
			mb_stress_measure(s, levels[i]);
	}
	qsort(s->pts, s->n, sizeof s->pts[0], mb_cmp_point);
	struct mb_results res;
	mb_results_begin(&res, "stress",
	                 "concurrency,num_requests,num_errored_requests,duration_s,input_throughput_tps,output_"
	                 "throughput_tps,requests_per_s,"
	                 "e2e_p50_s,e2e_p99_s,ttfc_p50_s,ttfc_p99_s,tpot_p50_s,tpot_p99_s,interactivity_p50,run_dir\n");
	jsonw_key(&res.w, "traffic_mode");
	jsonw_str(&res.w, m->traffic_mode);
	jsonw_key(&res.w, "input_length");
	jsonw_int(&res.w, m->input_length);
	jsonw_key(&res.w, "output_length");
	jsonw_int(&res.w, m->output_length);
	mb_results_list_begin(&res);
	for (size_t i = 0; i < s->n; i++) {
		const struct mb_stress_point *p = &s->pts[i];
		struct {
			const char *k;
			double v;
		} f[] = {{"duration_s", p->duration_s},
		         {"input_throughput_tps", p->input_throughput_tps},
		         {"output_throughput_tps", p->output_throughput_tps},
		         {"requests_per_s", p->requests_per_s},
		         {"e2e_p50_s", p->e2e_p50_s},
		         {"e2e_p99_s", p->e2e_p99_s},
		         {"ttfc_p50_s", p->ttfc_p50_s},
		         {"ttfc_p99_s", p->ttfc_p99_s},
		         {"tpot_p50_s", p->tpot_p50_s},
		         {"tpot_p99_s", p->tpot_p99_s},
		         {"interactivity_p50", p->interactivity_p50}};
		jsonw_obj_begin(&res.w);
		jsonw_key(&res.w, "concurrency");
		jsonw_int(&res.w, p->concurrency);
		jsonw_key(&res.w, "num_requests");
		jsonw_int(&res.w, (int64_t)p->num_requests);
		jsonw_key(&res.w, "num_errored_requests");
		jsonw_int(&res.w, (int64_t)p->num_errored_requests);
		buf_printf(&res.csv, "%lld,%zu,%zu", (long long)p->concurrency, p->num_requests,
		           p->num_errored_requests);
		for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
			jsonw_key(&res.w, f[k].k);
			jsonw_double(&res.w, f[k].v);
			char tmp[48];
			jsonw_format_double(f[k].v, tmp);
			buf_printf(&res.csv, ",%s", tmp);
		}
		jsonw_key(&res.w, "run_dir");
		jsonw_str(&res.w, p->run_dir);
		jsonw_obj_end(&res.w);
		buf_printf(&res.csv, ",%s\n", p->run_dir);
	}
	mb_results_end(&res, run_dir, "stress_results.json", "stress_results.csv");
	if (s->n >= 1) {
		char *plots = fs_path_join(run_dir, "plots");
		fs_mkdir_p(plots);
		mb_stress_plot(s, plots);
		free(plots);
	}
	if (s->n == 0)
		(*fails)++;
	free(s);
	return 0;
}
