#include "runner/sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "runner/run.h"
#include "runner/rundir.h"
#include "runner/sweep_summary.h"
#include "server/server.h"

struct sweep_group {
	const char *output_dir;
	size_t *idx;
	size_t n;
};

static void sweep_write_manifest(const char *sweep_dir, char **run_dirs, size_t n)
{
	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 2);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "sweep_dir");
	jsonw_str(&w, sweep_dir);
	jsonw_key(&w, "num_runs");
	jsonw_int(&w, (int64_t)n);
	jsonw_key(&w, "runs");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < n; i++) {
		jsonw_obj_begin(&w);
		jsonw_key(&w, "run_dir");
		jsonw_str(&w, run_dirs[i]);
		char *cfgp = run_dirs[i] ? fs_path_join(run_dirs[i], "config.yml") : NULL;
		char *metrics = run_dirs[i] ? fs_path_join(run_dirs[i], "metrics") : NULL;
		char *prefill = metrics ? fs_path_join(metrics, "prefill_stats.json") : NULL;
		char *dw = metrics ? fs_path_join(metrics, "decode_window_metrics.json") : NULL;
		jsonw_key(&w, "config_path");
		jsonw_str(&w, cfgp);
		jsonw_key(&w, "metrics_dir");
		jsonw_str(&w, metrics);
		jsonw_key(&w, "prefill_stats_path");
		jsonw_str(&w, prefill && fs_exists(prefill) ? prefill : NULL);
		jsonw_key(&w, "decode_window_metrics_path");
		jsonw_str(&w, dw && fs_exists(dw) ? dw : NULL);
		free(cfgp);
		free(metrics);
		free(prefill);
		free(dw);
		jsonw_obj_end(&w);
	}
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	char *path = fs_path_join(sweep_dir, "sweep_manifest.json");
	if (fs_write_file(path, b.data, b.len) != 0)
		log_error("cannot write %s", path);
	free(path);
	buf_free(&b);
}

static int sweep_run_group(const struct cfg_benchmark *items, const size_t *idx, size_t n,
			   const struct cfg_run_opts *opts)
{
	char err[512];
	char *sweep_dir = rundir_create_timestamped(items[idx[0]].output_dir, "sweep_", "%d:%m:%Y-%H:%M:%S", NULL,
						    err, sizeof err);
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
		log_info("sweep: run %zu of %zu", k + 1, n);

		/* Reuse one server across runs whose server: sections are identical. */
		char *key = cfg.has_server ? config_server_canonical_json(&cfg.server) : NULL;
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
			if (worst == 0 || res.exit_code > worst)
				worst = res.exit_code;
		}
		config_benchmark_free(&cfg);
	}
	if (server) {
		server_stop(server);
		server_handle_free(server);
	}
	free(server_key);
	sweep_write_manifest(sweep_dir, run_dirs, n);
	sweep_summary_write(sweep_dir, (const char *const *)run_dirs, cfgs, n);
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
		if (groups[g].n == 1) {
			struct runner_result res;
			runner_run_one(&items[groups[g].idx[0]], opts, NULL, &res);
			free(res.run_dir);
			r = res.exit_code;
		} else {
			r = sweep_run_group(items, groups[g].idx, groups[g].n, opts);
		}
		if (r > worst)
			worst = r;
		free(groups[g].idx);
	}
	free(groups);
	return worst;
}
