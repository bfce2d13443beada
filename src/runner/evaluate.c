/* `veeksha evaluate RUN_DIR`: the files of a run recomputed from its raw records, under its own or a
 * changed configuration (new SLOs, a measurement window), without running anything again
 * (docs/METRICS.md, Re-evaluating a run). A run with event logs (sharded runs, runs with a window) is
 * replayed exactly; any other run, ours or the Python Veeksha's, from its request rows and dispatch
 * trace (eval_rows.h). */
#include "runner/evaluate.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "metrics/eval_log.h"
#include "metrics/eval_rows.h"
#include "metrics/evaluator.h"
#include "output/report_html.h"
#include "runner/merge.h"
#include "runner/rundir.h"
#include "runner/sweep_summary.h"

#define EVALUATE_BASE_NS 1000000000000LL /* any start: the files hold times relative to it */

/* Whether the run keeps event logs: its own metrics/eval_events.jsonl (a shard directory) or shard
 * subdirectories. */
static bool evaluate_has_logs(const char *run_dir)
{
	char *p = xasprintf("%s/metrics/%s", run_dir, EVAL_LOG_FILE);
	bool yes = fs_exists(p);
	free(p);
	if (yes)
		return true;
	DIR *d = opendir(run_dir);
	if (!d)
		return false;
	struct dirent *de;
	while (!yes && (de = readdir(d)) != NULL) {
		if (merge_is_shard_name(de->d_name)) {
			char *q = xasprintf("%s/%s/metrics/%s", run_dir, de->d_name, EVAL_LOG_FILE);
			yes = fs_exists(q);
			free(q);
		}
	}
	closedir(d);
	return yes;
}

/* From the rows: the run's own status and tokenizer name when its summary has them (ours). */
static void evaluate_rows_into(const struct cfg_benchmark *cfg, const char *run_dir, const char *out_dir,
                               const struct cfg_run_opts *opts, struct runner_result *out)
{
	out->exit_code = 1;
	cJSON *sum = sweep_read_metrics_json(run_dir, "summary_stats.json");
	const cJSON *tk = sum ? cJSON_GetObjectItemCaseSensitive(sum, "tokenizer") : NULL;
	struct evaluator *e = eval_create(cfg, out_dir, EVALUATE_BASE_NS, cJSON_IsString(tk) ? tk->valuestring : NULL);
	if (!e) {
		cJSON_Delete(sum);
		return;
	}
	struct eval_window_info win;
	bool windowed = eval_window_configured(cfg, &win);
	struct eval_rows_stats st;
	char err[1024];
	if (eval_rows_replay(e, run_dir, EVALUATE_BASE_NS, windowed ? &win : NULL, &st, err, sizeof err) != 0) {
		log_error("evaluate: %s", err);
		out->exit_code = 2;
		eval_free(e);
		cJSON_Delete(sum);
		return;
	}
	if (windowed)
		eval_set_window(e, &win);
	bool complete = false;
	const cJSON *rs = sum ? cJSON_GetObjectItemCaseSensitive(sum, "run_status") : NULL;
	const cJSON *why = sum ? cJSON_GetObjectItemCaseSensitive(sum, "run_status_reason") : NULL;
	if (!sum) {
		/* every run, ours or the Python Veeksha's, writes it when it ends: without it the run did not
		 * end (killed, out of memory), and what its rows hold is not the workload (docs/FAILURES.md,
		 * run_status) */
		eval_set_run_status(e, EVAL_RUN_TRUNCATED,
		                    "the run did not finish: metrics/summary_stats.json is missing (the process was "
		                    "killed?)");
	} else if (cJSON_IsString(rs) && !strcmp(rs->valuestring, "running")) {
		eval_set_run_status(e, EVAL_RUN_TRUNCATED,
		                    "the run did not finish: metrics/summary_stats.json says running (the process was "
		                    "killed?)");
	} else if (cJSON_IsString(rs) && strcmp(rs->valuestring, "complete") != 0) {
		eval_set_run_status(e,
		                    !strcmp(rs->valuestring, "interrupted") ? EVAL_RUN_INTERRUPTED : EVAL_RUN_TRUNCATED,
		                    cJSON_IsString(why) ? why->valuestring : "");
	} else {
		complete = true; /* "complete", or no run_status at all (the Python Veeksha's summaries) */
	}
	if (!opts->quiet)
		log_info("evaluated %llu request rows (%llu failed) and %llu registrations of %s; times at the rows' "
		         "10 us resolution",
		         (unsigned long long)st.rows, (unsigned long long)st.failed_rows,
		         (unsigned long long)st.registrations, run_dir);
	int slo = eval_finalize(e, EVALUATE_BASE_NS + (int64_t)(st.end_s * 1e9) + 1);
	if (!opts->quiet) {
		eval_print_summary(e, stdout);
		fflush(stdout);
	}
	out->all_slos_met = slo == 1;
	/* as `veeksha merge` (docs/MERGE.md): a run that was not complete is exit 1, not a verdict */
	out->exit_code = slo < 0 || !complete ? 1 : (opts->fail_on_slo && slo == 0) ? 3 : 0;
	eval_free(e);
	cJSON_Delete(sum);
}

int runner_evaluate(const char *run_dir, const char *out_dir, int n_overrides, char **overrides,
                    const struct cfg_run_opts *opts_in, struct runner_result *out)
{
	memset(out, 0, sizeof *out);
	out->exit_code = 2;
	char *cfg_path = xasprintf("%s/config.yml", run_dir);
	if (!fs_exists(cfg_path)) {
		log_error("evaluate: %s: no config.yml: not a run directory", run_dir);
		free(cfg_path);
		return out->exit_code;
	}
	/* the run's configuration with the overrides given (flags as for veeksha benchmark) */
	char **argv = xcalloc((size_t)n_overrides + 4, sizeof *argv);
	int argc = 0;
	argv[argc++] = "evaluate";
	argv[argc++] = "--config";
	argv[argc++] = cfg_path;
	for (int i = 0; i < n_overrides; i++)
		argv[argc++] = overrides[i];
	struct config_benchmark_set set;
	memset(&set, 0, sizeof set);
	char cerr[2048];
	int rc = config_parse_benchmark_args(argc, argv, &set, cerr, sizeof cerr);
	free(argv);
	if (rc == CONFIG_EXIT_USAGE)
		fprintf(stderr, "%s\n", cerr);
	if (rc != CONFIG_OK || set.count != 1) {
		if (rc == CONFIG_OK)
			log_error("evaluate: the configuration expands to %zu runs; give one", set.count);
		if (rc == CONFIG_OK)
			config_benchmark_set_free(&set);
		free(cfg_path);
		return out->exit_code;
	}
	struct cfg_run_opts opts = *opts_in;
	opts.quiet = opts.quiet || set.opts.quiet;
	opts.fail_on_slo = opts.fail_on_slo || set.opts.fail_on_slo;
	char err[1024];
	char *dir = out_dir
	                ? xstrdup(out_dir)
	                : rundir_create_timestamped(run_dir, "evaluated-", "%d_%m_%Y-%H_%M_%S", NULL, err, sizeof err);
	if (!dir || fs_mkdir_p(dir) != 0) {
		log_error("evaluate: cannot create the output directory: %s", dir ? dir : err);
		out->exit_code = 1;
	} else if (evaluate_has_logs(run_dir)) {
		/* exact: the event logs replayed under the new configuration */
		const char *dirs[1] = {run_dir};
		struct runner_result m;
		runner_merge_ex(dirs, 1, dir, &opts, true, &set.items[0], &m);
		*out = m;
		free(out->run_dir);
		if (out->exit_code != 2 && !opts.no_report && report_html_write_run(dir) != 0 && out->exit_code == 0)
			out->exit_code = 1; /* (the report said why) */
	} else {
		FILE *f = NULL;
		char *p = fs_path_join(dir, "config.yml");
		if ((f = fopen(p, "w")) != NULL) {
			config_benchmark_write_yaml(&set.items[0], f, 1);
			fclose(f);
		}
		free(p);
		evaluate_rows_into(&set.items[0], run_dir, dir, &opts, out);
		if (out->exit_code != 2 && !opts.no_report && report_html_write_run(dir) != 0 && out->exit_code == 0)
			out->exit_code = 1;
	}
	if (dir && !opts.quiet)
		log_info("evaluation written to %s", dir);
	out->run_dir = dir;
	config_benchmark_set_free(&set);
	free(cfg_path);
	return out->exit_code;
}

int runner_evaluate_main(int argc, char **argv)
{
	const char *run_dir = NULL, *out_dir = NULL;
	struct cfg_run_opts opts;
	memset(&opts, 0, sizeof opts);
	char **ovr = xcalloc((size_t)argc + 1, sizeof *ovr);
	int n_ovr = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf(
			    "usage: veeksha evaluate RUN_DIR [--output DIR] [--fail-on-slo] [--quiet] [--no-report] "
			    "[--KEY.PATH "
			    "VALUE ...]\n"
			    "Recomputes every metric file of a run from its raw records, with its config.yml changed "
			    "by\n"
			    "the flags given (as for veeksha benchmark, e.g. new SLOs or a measurement window:\n"
			    "--evaluators '[{type: performance, warmup_requests: 10, slos: [...]}]'). Runs with event\n"
			    "logs (sharded, windowed) are replayed exactly; others, including runs of the Python\n"
			    "Veeksha, from metrics/request_level_metrics.jsonl and traces/dispatch_trace.jsonl.\n"
			    "Writes into --output DIR (default: RUN_DIR/evaluated-<UTC time>/). docs/METRICS.md.\n");
			free(ovr);
			return 0;
		}
		if (!strcmp(a, "--output") || !strcmp(a, "-o")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "veeksha evaluate: --output needs a directory\n");
				free(ovr);
				return 2;
			}
			out_dir = argv[++i];
		} else if (!strcmp(a, "--fail-on-slo")) {
			opts.fail_on_slo = true;
		} else if (!strcmp(a, "--quiet")) {
			opts.quiet = true;
		} else if (!strcmp(a, "--no-report")) {
			opts.no_report = true;
		} else if (a[0] == '-' && a[1] == '-') {
			/* a configuration flag and its value (when it has one) */
			ovr[n_ovr++] = argv[i];
			if (!strchr(a, '=') && i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
				ovr[n_ovr++] = argv[++i];
		} else if (!run_dir) {
			run_dir = a;
		} else {
			fprintf(stderr, "veeksha evaluate: one run directory at a time (got '%s' and '%s')\n", run_dir,
			        a);
			free(ovr);
			return 2;
		}
	}
	if (!run_dir) {
		fprintf(stderr, "usage: veeksha evaluate RUN_DIR [--output DIR] [--fail-on-slo] [--quiet] [--KEY.PATH "
		                "VALUE ...]\n");
		free(ovr);
		return 2;
	}
	if (opts.quiet)
		log_set_level(LOG_WARN);
	struct runner_result res;
	int code = runner_evaluate(run_dir, out_dir, n_ovr, ovr, &opts, &res);
	free(res.run_dir);
	free(ovr);
	return code;
}
