/* veeksha capacity-search: the highest load (arrival rate or concurrent sessions) at which every
 * SLO is met (reference §6.1, with the improvements of capsearch_algo.h). One managed server is
 * launched once and reused by every attempt. A probe passes when its verdict does (all_slos_met):
 * errored requests count as infinitely slow in the SLOs and the error-rate objective applies
 * (max_error_rate, docs/FAILURES.md), so a server failing requests does not pass. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/sha1.h"
#include "core/xalloc.h"
#include "integrations/wandb.h"
#include "meta/capsearch_algo.h"
#include "meta/meta_cli.h"
#include "output/report_html.h"
#include "runner/run.h"
#include "runner/rundir.h"
#include "runner/sweep_job.h"
#include "runner/sweep_summary.h"
#include "server/server.h"

struct capsearch_ctx {
	const struct cfg_capacity_search *cs;
	const struct cfg_run_opts *opts;
	const char *dir; /* the search's output directory */
	char *runs_dir;
	struct server_handle *server;
	char *run_dirs[CAPSEARCH_MAX_HISTORY];
	cJSON *slo_results[CAPSEARCH_MAX_HISTORY];
	bool slos_met[CAPSEARCH_MAX_HISTORY];
	size_t n;
	char err[512];
};

/* The last part of the searched knob's name (as in capacity_search_results.json's searched_knob). */
static const char *capsearch_short_knob(const struct cfg_traffic *t)
{
	if (t->type == CFG_TRAFFIC_RATE)
		return t->interval_generator.type == CFG_INTERVAL_FIXED ? "interval" : "arrival_rate";
	return "target_concurrent_sessions";
}

/* Patch the searched knob into a copy of the benchmark config. */
static int capsearch_patch(struct cfg_benchmark *b, double value, char *err, size_t err_len)
{
	struct cfg_traffic *t = &b->traffic_scheduler;
	if (t->type == CFG_TRAFFIC_RATE) {
		if (t->interval_generator.type == CFG_INTERVAL_FIXED)
			t->interval_generator.interval = 1.0 / value;
		else
			t->interval_generator.arrival_rate = value;
		return 0;
	}
	if (t->type == CFG_TRAFFIC_CONCURRENT) {
		if (value != floor(value)) {
			snprintf(err, err_len, "concurrent capacity search needs integer values, got %g", value);
			return -1;
		}
		/* The reference also sets rampup_seconds = value, so a short probe at a high concurrency
		 * spends its whole run ramping and never reaches the target; we keep the configured
		 * rampup_seconds (docs/META.md). */
		t->target_concurrent_sessions = (int64_t)value;
		return 0;
	}
	snprintf(err, err_len, "capacity search supports the rate and concurrent traffic schedulers only");
	return -1;
}

static int capsearch_probe(void *vctx, double value)
{
	struct capsearch_ctx *c = vctx;
	if (runner_signal_pending() || c->n >= CAPSEARCH_MAX_HISTORY)
		return -1;
	struct cfg_benchmark b;
	config_benchmark_copy(&b, &c->cs->benchmark_config);
	free(b.output_dir);
	b.output_dir = xstrdup(c->runs_dir);
	if (capsearch_patch(&b, value, c->err, sizeof c->err) != 0) {
		config_benchmark_free(&b);
		return -1;
	}
	printf("capacity-search: probing %s = %g\n",
	       b.traffic_scheduler.type == CFG_TRAFFIC_RATE ? "arrival_rate" : "target_concurrent_sessions", value);
	/* W&B group, run name and tag of a probe (docs/INTEGRATIONS.md) */
	char value_txt[40];
	if (c->cs->benchmark_config.traffic_scheduler.type == CFG_TRAFFIC_CONCURRENT)
		snprintf(value_txt, sizeof value_txt, "%lld", (long long)value);
	else
		jsonw_format_double(value, value_txt);
	integ_wandb_capsearch_probe(&b, c->dir, (int)c->n + 1,
	                            capsearch_short_knob(&c->cs->benchmark_config.traffic_scheduler), value_txt);
	fflush(stdout);
	struct runner_result res;
	runner_drop_dead_server(&c->server); /* a crash during an earlier probe fails that probe only */
	if (b.has_server && !c->server)
		runner_run_one_keep_server(&b, c->opts, &c->server, &res);
	else
		runner_run_one(&b, c->opts, c->server, &res);
	config_benchmark_free(&b);

	size_t k = c->n++;
	c->run_dirs[k] = res.run_dir;
	if (res.exit_code == 2 || (res.exit_code != 0 && !res.run_dir)) {
		snprintf(c->err, sizeof c->err, "benchmark at value %g failed (exit code %d)", value, res.exit_code);
		return -1;
	}
	if (res.interrupted || runner_signal_pending())
		return -1;
	if (res.server_failed && !res.measured) {
		/* the managed server did not start (or never became ready): nothing was measured at this
		 * load, so it is no capacity limit; failing the probe reported "no value met the SLOs"
		 * with exit 0 for a server that never ran (docs/META.md) */
		snprintf(c->err, sizeof c->err,
		         "the benchmark at value %g could not measure (exit code %d: the managed server did not "
		         "start); see %s",
		         value, res.exit_code, res.run_dir ? res.run_dir : "the log above");
		return -1;
	}
	if (res.exit_code == 1 && !res.server_failed) {
		/* the probe measured nothing trustworthy (its run was truncated: a bad trace row, a dispatch
		 * the client could not make; or an output could not be written): that is no capacity limit,
		 * so the search stops instead of reporting one (docs/META.md) */
		cJSON *st = sweep_read_metrics_json(res.run_dir, "summary_stats.json");
		const cJSON *why = st ? cJSON_GetObjectItemCaseSensitive(st, "run_status_reason") : NULL;
		snprintf(c->err, sizeof c->err, "the benchmark at value %g could not measure (exit code 1: %s); see %s",
		         value,
		         cJSON_IsString(why) && *why->valuestring ? why->valuestring : "an output was not written",
		         res.run_dir);
		cJSON_Delete(st);
		return -1;
	}
	cJSON *slo = sweep_read_metrics_json(res.run_dir, "slo_results.json");
	const cJSON *met = slo ? cJSON_GetObjectItemCaseSensitive(slo, "all_slos_met") : NULL;
	bool pass = met && cJSON_IsTrue(met);
	if (res.server_failed)
		pass = false;
	const cJSON *why = slo ? cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(slo, "verdict_reasons"), 0) : NULL;
	if (!pass && cJSON_IsString(why))
		log_info("capacity-search: value %g failed: %s", value, why->valuestring);
	c->slos_met[k] = pass;
	c->slo_results[k] = slo ? cJSON_DetachItemFromObjectCaseSensitive(slo, "results") : NULL;
	cJSON_Delete(slo);
	printf("capacity-search: %g %s\n", value, pass ? "PASSED" : "FAILED");
	return pass ? 1 : 0;
}

static void capsearch_write_results(const char *dir, const struct cfg_capacity_search *cs,
                                    const struct capsearch_result *r, const struct capsearch_ctx *c)
{
	const struct cfg_traffic *t = &cs->benchmark_config.traffic_scheduler;
	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 2);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "traffic_scheduler_type");
	jsonw_str(&w, config_traffic_type_name(t->type));
	jsonw_key(&w, "searched_knob");
	jsonw_str(&w, t->type == CFG_TRAFFIC_RATE ? (t->interval_generator.type == CFG_INTERVAL_FIXED
	                                                 ? "traffic_scheduler.interval_generator.interval"
	                                                 : "traffic_scheduler.interval_generator.arrival_rate")
	                                          : "traffic_scheduler.target_concurrent_sessions");
	jsonw_key(&w, "start_value");
	jsonw_double(&w, cs->start_value);
	jsonw_key(&w, "max_value");
	jsonw_double(&w, cs->max_value);
	jsonw_key(&w, "expansion_factor");
	jsonw_double(&w, cs->expansion_factor);
	jsonw_key(&w, "max_iterations");
	jsonw_int(&w, cs->max_iterations);
	jsonw_key(&w, "precision");
	jsonw_int(&w, cs->precision);
	jsonw_key(&w, "iterations_run");
	jsonw_int(&w, r->iterations_run);
	jsonw_key(&w, "best_value");
	if (r->found) {
		if (t->type == CFG_TRAFFIC_CONCURRENT)
			jsonw_int(&w, (int64_t)r->best_value);
		else
			jsonw_double(&w, r->best_value);
	} else {
		jsonw_null(&w);
	}
	const char *best_dir = NULL;
	for (size_t i = 0; i < r->n_history && i < c->n; i++)
		if (r->found && r->passed[i] && r->values[i] == r->best_value)
			best_dir = c->run_dirs[i];
	jsonw_key(&w, "best_run_dir");
	jsonw_str(&w, best_dir);
	jsonw_key(&w, "history");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < r->n_history && i < c->n; i++) {
		jsonw_obj_begin(&w);
		jsonw_key(&w, "value");
		if (t->type == CFG_TRAFFIC_CONCURRENT)
			jsonw_int(&w, (int64_t)r->values[i]);
		else
			jsonw_double(&w, r->values[i]);
		jsonw_key(&w, "all_slos_met");
		jsonw_bool(&w, r->passed[i]);
		jsonw_key(&w, "run_dir");
		jsonw_str(&w, c->run_dirs[i]);
		jsonw_key(&w, "slo_results");
		if (c->slo_results[i]) {
			char *s = cJSON_PrintUnformatted(c->slo_results[i]);
			jsonw_raw(&w, s);
			free(s);
		} else {
			jsonw_null(&w);
		}
		jsonw_obj_end(&w);
	}
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	char *path = fs_path_join(dir, "capacity_search_results.json");
	if (fs_write_file(path, b.data, b.len) != 0)
		log_error("cannot write %s", path);
	free(path);
	buf_free(&b);
}

/* One search. *dir_out (may be NULL) receives its output directory (xmalloc'd; NULL when none was made). */
static int capsearch_one(const struct cfg_capacity_search *cs, const struct cfg_run_opts *opts, char **dir_out)
{
	if (dir_out)
		*dir_out = NULL;
	char err[512];
	const struct cfg_traffic *t = &cs->benchmark_config.traffic_scheduler;
	if (t->type != CFG_TRAFFIC_RATE && t->type != CFG_TRAFFIC_CONCURRENT) {
		log_error("capacity search supports the rate and concurrent traffic schedulers only");
		return 2;
	}
	size_t has_slos = 0;
	for (size_t i = 0; i < cs->benchmark_config.n_evaluators; i++)
		has_slos += cs->benchmark_config.evaluators[i].n_slos;
	if (!has_slos) {
		log_error("capacity search needs at least one SLO in benchmark_config.evaluators");
		return 2;
	}
	/* <output_dir>/<UTC %d:%m:%Y-%H:%M:%S>-<sha1(config.yml)[:8]>/ */
	char *yaml = NULL;
	size_t yaml_len = 0;
	FILE *mem = open_memstream(&yaml, &yaml_len);
	config_capacity_write_yaml(cs, mem, 1);
	fclose(mem);
	char hash[9];
	sha1_hex(yaml, yaml_len, hash, 8);
	char *suffix = xasprintf("-%s", hash);
	char *dir = rundir_create_timestamped(cs->output_dir, "", "%d:%m:%Y-%H:%M:%S", suffix, err, sizeof err);
	free(suffix);
	if (!dir) {
		free(yaml);
		log_error("%s", err);
		return 1;
	}
	char *cfg_path = fs_path_join(dir, "config.yml");
	fs_write_file(cfg_path, yaml, yaml_len);
	free(cfg_path);
	free(yaml);
	printf("capacity-search: output in %s\n", dir);

	struct capsearch_ctx ctx;
	memset(&ctx, 0, sizeof ctx);
	ctx.cs = cs;
	ctx.opts = opts;
	ctx.dir = dir;
	ctx.runs_dir = fs_path_join(dir, "runs");
	fs_mkdir_p(ctx.runs_dir);
	struct capsearch_params p = {.start_value = cs->start_value,
	                             .max_value = cs->max_value,
	                             .expansion_factor = cs->expansion_factor,
	                             .max_iterations = cs->max_iterations,
	                             .precision = cs->precision,
	                             .integer_domain = t->type == CFG_TRAFFIC_CONCURRENT};
	struct capsearch_result r;
	runner_signals_install();
	int rc = capsearch_run(&p, capsearch_probe, &ctx, &r, err, sizeof err);
	int code = 0;
	if (rc != 0) {
		log_error("%s", err);
		code = 2;
	} else {
		if (r.aborted) {
			if (ctx.err[0])
				log_error("capacity-search: %s", ctx.err);
			code = runner_signal_pending() ? 128 + runner_signal_pending() : 1;
		}
		capsearch_write_results(dir, cs, &r, &ctx);
		/* a W&B summary run for the search (docs/INTEGRATIONS.md) */
		integ_wandb_log_summary(&cs->benchmark_config.wandb, INTEG_WANDB_CAPSEARCH, dir);
		/* one page for the search: each SLO against the probed value (docs/OUTPUTS.md, report.html) */
		if (!opts->no_report) {
			if (report_html_write_capacity(dir) != 0) {
				if (code == 0)
					code = 1;
			} else {
				printf("capacity-search: report %s/report.html\n", dir);
			}
		}
		if (r.aborted && r.found)
			printf("capacity-search: stopped before the search ended (%lld iterations); the best value so "
			       "far, %g, is not the capacity\n",
			       (long long)r.iterations_run, r.best_value);
		else if (r.aborted)
			printf("capacity-search: stopped before the search ended (%lld iterations)\n",
			       (long long)r.iterations_run);
		else if (r.found && r.budget_exhausted)
			printf("capacity-search: best value %g (%lld iterations): max_iterations ran out with values "
			       "up to "
			       "%g untested; the capacity is at least %g, not yet found\n",
			       r.best_value, (long long)r.iterations_run, r.untested_up_to, r.best_value);
		else if (r.found)
			printf("capacity-search: best value %g (%lld iterations)\n", r.best_value,
			       (long long)r.iterations_run);
		else
			printf("capacity-search: no value met the SLOs (%lld iterations)\n",
			       (long long)r.iterations_run);
	}
	if (ctx.server) {
		server_stop(ctx.server);
		server_handle_free(ctx.server);
	}
	for (size_t i = 0; i < ctx.n; i++) {
		free(ctx.run_dirs[i]);
		cJSON_Delete(ctx.slo_results[i]);
	}
	free(ctx.runs_dir);
	if (dir_out)
		*dir_out = dir;
	else
		free(dir);
	return code;
}

/* ---- several searches as one Slurm job array (docs/SLURM.md) ---- */

static char *capsearch_job_yaml(const void *items, size_t i, const char *sweep_dir_abs, size_t *len)
{
	/* a shallow copy: only output_dir differs, and nothing of it is freed */
	struct cfg_capacity_search c = ((const struct cfg_capacity_search *)items)[i];
	c.output_dir = (char *)sweep_dir_abs;
	char *yaml = NULL;
	FILE *mem = open_memstream(&yaml, len);
	if (!mem)
		abort();
	config_capacity_write_yaml(&c, mem, 1);
	fclose(mem);
	return yaml;
}

static int capsearch_submit(const struct config_capacity_set *set)
{
	/* one array per output_dir, like sweeps */
	int worst = 0;
	bool *done = xcalloc(set->count, sizeof *done);
	size_t *idx = xcalloc(set->count, sizeof *idx);
	for (size_t i = 0; i < set->count; i++) {
		if (done[i])
			continue;
		size_t n = 0;
		for (size_t j = i; j < set->count; j++)
			if (!done[j] && !strcmp(set->items[j].output_dir, set->items[i].output_dir)) {
				idx[n++] = j;
				done[j] = true;
			}
		struct sweep_job_items it = {.what = "capacity searches",
		                             .output_dir = set->items[i].output_dir,
		                             .items = set->items,
		                             .yaml = capsearch_job_yaml};
		int r = sweep_job_submit_items(&it, idx, n, &set->opts);
		if (r > worst)
			worst = r;
	}
	free(idx);
	free(done);
	return worst;
}

static int capsearch_point(const struct config_capacity_set *set)
{
	struct sweep_job_items it = {.what = "capacity searches", .items = set->items, .yaml = capsearch_job_yaml};
	char abs[PATH_MAX], started[32];
	int rc = sweep_job_point_begin(&it, set->count, &set->opts, abs, started);
	if (rc)
		return rc;
	long i = (long)set->opts.sweep_point;
	struct cfg_capacity_search cs = set->items[i];
	cs.output_dir = abs;
	if (cs.benchmark_config.has_server)
		sweep_job_server_port(&cs.benchmark_config.server, i);
	/* one whole search per task, never a shard of one (docs/DISTRIBUTED.md) */
	struct cfg_run_opts opts = set->opts;
	opts.shard = "off";
	char *dir = NULL;
	int code = capsearch_one(&cs, &opts, &dir);
	sweep_job_point_end(abs, i, dir, code, started);
	free(dir);
	return code;
}

int meta_capacity_search_main(int argc, char **argv)
{
	struct config_capacity_set set;
	memset(&set, 0, sizeof set);
	char cerr[2048];
	int r = config_parse_capacity_args(argc, argv, &set, cerr, sizeof cerr);
	if (r == CONFIG_HELP_PRINTED)
		return 0;
	if (r != CONFIG_OK) {
		fprintf(stderr, "%s\n", cerr);
		return CONFIG_EXIT_USAGE;
	}
	if (set.opts.quiet)
		log_set_level(LOG_WARN);
	int worst = 0;
	if (set.opts.has_sweep_point || (set.opts.launcher && !strcmp(set.opts.launcher, "slurm"))) {
		worst = set.opts.has_sweep_point ? capsearch_point(&set) : capsearch_submit(&set);
		config_capacity_set_free(&set);
		return worst;
	}
	for (size_t i = 0; i < set.count && !runner_signal_pending(); i++) {
		int c = capsearch_one(&set.items[i], &set.opts, NULL);
		if (c > worst)
			worst = c;
	}
	config_capacity_set_free(&set);
	return worst;
}
