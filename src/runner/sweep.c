#include "runner/sweep.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "integrations/wandb.h"
#include "core/buf.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "output/report_html.h"
#include "runner/run.h"
#include "runner/rundir.h"
#include "runner/sweep_job.h"
#include "runner/sweep_summary.h"
#include "server/server.h"

struct sweep_group {
	const char *output_dir;
	size_t *idx;
	size_t n;
};

static int sweep_exit_rank(int code)
{
	if (code == 0)
		return 0;
	if (code == 3)
		return 1; /* missed SLOs on a complete run */
	if (code >= 128)
		return 3; /* stopped by a signal */
	return 2;         /* runtime or usage failure */
}

int sweep_exit_worse(int a, int b)
{
	int ra = sweep_exit_rank(a), rb = sweep_exit_rank(b);
	if (ra != rb)
		return ra > rb ? a : b;
	return a > b ? a : b;
}

static int sweep_run_group(const struct cfg_benchmark *items, const size_t *idx, size_t n,
                           const struct cfg_run_opts *opts)
{
	char err[512];
	char *sweep_dir =
	    rundir_create_timestamped(items[idx[0]].output_dir, "sweep_", "%d:%m:%Y-%H:%M:%S", NULL, err, sizeof err);
	if (!sweep_dir) {
		log_error("%s", err);
		return 1;
	}
	log_info("sweep of %zu runs in %s", n, sweep_dir);
	char **run_dirs = xcalloc(n, sizeof *run_dirs);
	struct cfg_benchmark *cfgs = xcalloc(n, sizeof *cfgs);
	int worst = 0;
	struct server_handle *server = NULL;
	char *server_key = NULL;
	for (size_t k = 0; k < n && !runner_signal_pending(); k++) {
		struct cfg_benchmark cfg;
		config_benchmark_copy(&cfg, &items[idx[k]]);
		free(cfg.output_dir);
		cfg.output_dir = xstrdup(sweep_dir);
		integ_wandb_sweep_point(&cfg, sweep_dir); /* W&B group and tag (docs/INTEGRATIONS.md) */
		log_info("sweep: run %zu of %zu", k + 1, n);

		/* Reuse one server across runs whose server: sections are identical. */
		char *key = cfg.has_server ? config_server_canonical_json(&cfg.server) : NULL;
		if (runner_drop_dead_server(&server)) {
			free(server_key);
			server_key = NULL;
		}
		if (server && (!key || !server_key || strcmp(key, server_key) != 0)) {
			server_stop(server);
			server_handle_free(server);
			server = NULL;
			free(server_key);
			server_key = NULL;
		}
		struct runner_result res;
		if (cfg.has_server && !server) {
			/* The first run of a server group launches it inside its own run directory. */
			runner_run_one_keep_server(&cfg, opts, &server, &res);
			if (server) {
				server_key = key;
				key = NULL;
			}
		} else {
			runner_run_one(&cfg, opts, server, &res);
		}
		free(key);
		run_dirs[k] = res.run_dir;
		config_benchmark_copy(&cfgs[k], &cfg);
		if (res.exit_code != 0) {
			log_warn("sweep: run %zu of %zu ended with exit code %d%s", k + 1, n, res.exit_code,
			         res.interrupted ? " (interrupted)" : "");
			worst = sweep_exit_worse(worst, res.exit_code);
		}
		config_benchmark_free(&cfg);
	}
	if (server) {
		server_stop(server);
		server_handle_free(server);
	}
	free(server_key);
	/* A signal stopped the sweep before these runs: their rows keep their own configuration (type,
	 * load, max_sessions, timeout) with empty metrics, not a zeroed one that reads as a rate run
	 * at 0 req/s (docs/META.md, Sweeps). */
	for (size_t k = 0; k < n; k++) {
		if (cfgs[k].output_dir)
			continue;
		config_benchmark_copy(&cfgs[k], &items[idx[k]]);
		free(cfgs[k].output_dir);
		cfgs[k].output_dir = xstrdup(sweep_dir);
	}
	/* a summary that could not be written fails the sweep (the runs' own directories are kept) */
	if (sweep_outputs_write(sweep_dir, (const char *const *)run_dirs, cfgs, n) != 0)
		worst = sweep_exit_worse(worst, 1);
	/* a W&B summary run for the sweep, with the first config's wandb: (docs/INTEGRATIONS.md) */
	integ_wandb_log_summary(&items[idx[0]].wandb, INTEG_WANDB_SWEEP, sweep_dir);
	/* one page for the whole sweep, from sweep_summary.json (docs/OUTPUTS.md, report.html) */
	if (!opts->no_report) {
		if (report_html_write_sweep(sweep_dir) != 0) {
			if (worst == 0)
				worst = 1;
		} else {
			printf("sweep report: %s/report.html\n", sweep_dir);
		}
	}
	printf("sweep directory: %s\n", sweep_dir);
	for (size_t k = 0; k < n; k++) {
		free(run_dirs[k]);
		if (cfgs[k].output_dir)
			config_benchmark_free(&cfgs[k]);
	}
	free(cfgs);
	free(run_dirs);
	free(sweep_dir);
	return worst;
}

int sweep_run(const struct cfg_benchmark *items, size_t n, const struct cfg_run_opts *opts)
{
	if (opts->has_sweep_point)
		return sweep_job_run_point(items, n, opts);
	bool on_slurm = opts->launcher && !strcmp(opts->launcher, "slurm");
	/* Group by output_dir, keeping first-appearance order. */
	struct sweep_group *groups = xcalloc(n, sizeof *groups);
	size_t n_groups = 0;
	for (size_t i = 0; i < n; i++) {
		size_t g;
		for (g = 0; g < n_groups; g++)
			if (!strcmp(groups[g].output_dir, items[i].output_dir))
				break;
		if (g == n_groups) {
			groups[g].output_dir = items[i].output_dir;
			groups[g].idx = xcalloc(n, sizeof(size_t));
			n_groups++;
		}
		groups[g].idx[groups[g].n++] = i;
	}
	int worst = 0;
	for (size_t g = 0; g < n_groups; g++) {
		int r;
		if (on_slurm) {
			/* every group becomes one job array, even a group of one (it still gets a sweep dir) */
			r = sweep_job_submit(items, groups[g].idx, groups[g].n, opts);
		} else if (groups[g].n == 1) {
			struct runner_result res;
			runner_run_one(&items[groups[g].idx[0]], opts, NULL, &res);
			free(res.run_dir);
			r = res.exit_code;
		} else {
			r = sweep_run_group(items, groups[g].idx, groups[g].n, opts);
		}
		worst = sweep_exit_worse(worst, r);
		free(groups[g].idx);
	}
	free(groups);
	return worst;
}
