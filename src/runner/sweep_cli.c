/* veeksha sweep status|collect DIR: a sweep submitted as a Slurm job array (docs/SLURM.md). */
#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "core/xalloc.h"
#include "output/report_html.h"
#include "runner/runner_cli.h"
#include "runner/sweep_job.h"
#include "runner/sweep_summary.h"

static void sweep_cli_usage(FILE *out)
{
	fprintf(out, "usage: veeksha sweep status DIR [--json]\n"
	             "       veeksha sweep collect DIR\n\n"
	             "For a sweep submitted with `veeksha benchmark --launcher slurm` (DIR is its sweep directory):\n"
	             "  status   each point's state (pending, running, done, failed) from the points' files and,\n"
	             "           when squeue answers, the job array's tasks. Exit 0 when every point is done, 1 when\n"
	             "           one failed, 4 while points are pending or running.\n"
	             "  collect  writes sweep_manifest.json, sweep_summary.json and sweep_summary.csv (and\n"
	             "           decode_stats.*) exactly as a local sweep does; a point without results gets an\n"
	             "           empty row. Exit 0 when every point is done, else 1 (the files are still written).\n"
	             "See docs/SLURM.md.\n");
}

static int sweep_cli_exit_code(const struct sweep_point_status *st, size_t n)
{
	int code = 0;
	for (size_t k = 0; k < n; k++) {
		if (st[k].state == SWEEP_POINT_FAILED)
			return 1;
		if (st[k].state != SWEEP_POINT_DONE)
			code = 4;
	}
	return code;
}

/* Whether a point's row carries its run's results: a done point, or one whose complete run only
 * missed its SLOs (exit code 3). A point cancelled, timed out or failed gets an empty row, as the
 * message on stderr says: its run directory holds a partial run (docs/SLURM.md, collect). */
static bool sweep_cli_has_results(const struct sweep_point_status *s)
{
	return s->run_dir && (s->state == SWEEP_POINT_DONE || (s->state == SWEEP_POINT_FAILED && s->exit_code == 3));
}

static void sweep_cli_print_table(const char *dir, const struct sweep_job *job, const struct sweep_point_status *st)
{
	size_t counts[4] = {0};
	for (size_t k = 0; k < job->n_points; k++)
		counts[st[k].state]++;
	printf("sweep %s: Slurm job %s, %zu points: %zu done, %zu running, %zu pending, %zu failed\n", dir,
	       job->job_id ? job->job_id : "(not submitted)", job->n_points, counts[SWEEP_POINT_DONE],
	       counts[SWEEP_POINT_RUNNING], counts[SWEEP_POINT_PENDING], counts[SWEEP_POINT_FAILED]);
	printf("%-5s %-6s %-8s %-12s %s\n", "task", "point", "state", "slurm", "run directory / note");
	for (size_t k = 0; k < job->n_points; k++) {
		printf("%-5zu %-6ld %-8s %-12s %s%s%s\n", k, job->points[k].index, sweep_point_state_name(st[k].state),
		       st[k].slurm_state[0] ? st[k].slurm_state : "-", st[k].run_dir ? st[k].run_dir : "",
		       st[k].run_dir && st[k].note ? "; " : "", st[k].note ? st[k].note : "");
	}
}

static void sweep_cli_print_json(const char *dir, const struct sweep_job *job, const struct sweep_point_status *st,
                                 const char *note)
{
	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 2);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "sweep_dir");
	jsonw_str(&w, dir);
	jsonw_key(&w, "slurm_job_id");
	jsonw_str(&w, job->job_id);
	jsonw_key(&w, "squeue_note");
	jsonw_str(&w, note);
	jsonw_key(&w, "points");
	jsonw_arr_begin(&w);
	for (size_t k = 0; k < job->n_points; k++) {
		jsonw_obj_begin(&w);
		jsonw_key(&w, "array_task_id");
		jsonw_int(&w, (int64_t)k);
		jsonw_key(&w, "index");
		jsonw_int(&w, job->points[k].index);
		jsonw_key(&w, "state");
		jsonw_str(&w, sweep_point_state_name(st[k].state));
		jsonw_key(&w, "slurm_state");
		jsonw_str(&w, st[k].slurm_state[0] ? st[k].slurm_state : NULL);
		jsonw_key(&w, "run_dir");
		jsonw_str(&w, st[k].run_dir);
		jsonw_key(&w, "exit_code");
		if (st[k].exit_code >= 0)
			jsonw_int(&w, st[k].exit_code);
		else
			jsonw_null(&w);
		jsonw_key(&w, "note");
		jsonw_str(&w, st[k].note);
		jsonw_obj_end(&w);
	}
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	printf("%s\n", b.data);
	buf_free(&b);
}

/* The configs of the points, from their snapshots (points/<i>.yml). NULL after a message naming the
 * file that does not load. */
static struct cfg_benchmark *sweep_cli_load_configs(const char *dir, const struct sweep_job *job)
{
	struct cfg_benchmark *cfgs = xcalloc(job->n_points, sizeof *cfgs);
	for (size_t k = 0; k < job->n_points; k++) {
		char *path = fs_path_join(dir, job->points[k].config);
		struct config_benchmark_set set;
		char cerr[2048];
		int r = config_load_benchmark_file(path, &set, cerr, sizeof cerr);
		if (r != CONFIG_OK)
			fprintf(stderr, "%s\n", cerr);
		if (r != CONFIG_OK || set.count != 1) {
			fprintf(stderr, "veeksha sweep collect: %s: point %ld's config snapshot does not load%s\n",
			        path, job->points[k].index, r == CONFIG_OK ? " as one run" : " (message above)");
			if (r == CONFIG_OK)
				config_benchmark_set_free(&set);
			free(path);
			for (size_t j = 0; j < k; j++)
				config_benchmark_free(&cfgs[j]);
			free(cfgs);
			return NULL;
		}
		config_benchmark_copy(&cfgs[k], &set.items[0]);
		config_benchmark_set_free(&set);
		free(path);
	}
	return cfgs;
}

/* A job array of capacity searches: capacity_searches.json/.csv, one row per search (its state, its
 * directory and the best value of its capacity_search_results.json). 0, or -1 when a file could not
 * be written. */
static int sweep_cli_collect_searches(const char *dir, const struct sweep_job *job, const struct sweep_point_status *st)
{
	struct buf js, csv;
	buf_init(&js);
	buf_init(&csv);
	struct jsonw w;
	jsonw_init(&w, &js, 2);
	jsonw_arr_begin(&w);
	buf_puts(&csv, "search_index,search_dir,state,traffic_scheduler_type,searched_knob,best_value,iterations_run,"
	               "best_run_dir\n");
	static const char *const keys[] = {"traffic_scheduler_type", "searched_knob", "best_value", "iterations_run",
	                                   "best_run_dir"};
	for (size_t k = 0; k < job->n_points; k++) {
		char *path =
		    sweep_cli_has_results(&st[k]) ? fs_path_join(st[k].run_dir, "capacity_search_results.json") : NULL;
		char *text = path ? fs_read_file(path, NULL) : NULL;
		cJSON *r = text ? cJSON_Parse(text) : NULL;
		free(text);
		free(path);
		jsonw_obj_begin(&w);
		jsonw_key(&w, "search_index");
		jsonw_int(&w, job->points[k].index);
		jsonw_key(&w, "search_dir");
		jsonw_str(&w, st[k].run_dir);
		jsonw_key(&w, "state");
		jsonw_str(&w, sweep_point_state_name(st[k].state));
		buf_printf(&csv, "%ld,%s,%s", job->points[k].index, st[k].run_dir ? st[k].run_dir : "",
		           sweep_point_state_name(st[k].state));
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
			const cJSON *v = r ? cJSON_GetObjectItemCaseSensitive(r, keys[i]) : NULL;
			jsonw_key(&w, keys[i]);
			buf_putc(&csv, ',');
			if (cJSON_IsString(v)) {
				jsonw_str(&w, v->valuestring);
				buf_puts(&csv, v->valuestring);
			} else if (cJSON_IsNumber(v)) {
				char num[48];
				jsonw_format_double(v->valuedouble, num);
				if (v->valuedouble == (double)(long long)v->valuedouble &&
				    !strcmp(keys[i], "iterations_run"))
					snprintf(num, sizeof num, "%lld", (long long)v->valuedouble);
				jsonw_raw(&w, num);
				buf_puts(&csv, num);
			} else {
				jsonw_null(&w);
			}
		}
		buf_putc(&csv, '\n');
		jsonw_obj_end(&w);
		cJSON_Delete(r);
	}
	jsonw_arr_end(&w);
	buf_putc(&js, '\n');
	int rc = 0;
	char *pj = fs_path_join(dir, "capacity_searches.json");
	char *pc = fs_path_join(dir, "capacity_searches.csv");
	if (fs_write_file(pj, js.data, js.len) || fs_write_file(pc, csv.data, csv.len)) {
		fprintf(stderr, "veeksha sweep collect: cannot write %s or %s\n", pj, pc);
		rc = -1;
	}
	free(pj);
	free(pc);
	buf_free(&js);
	buf_free(&csv);
	return rc;
}

int sweep_cli_main(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	if (sub && (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help"))) {
		sweep_cli_usage(stdout);
		return 0;
	}
	bool json = false;
	const char *dir = NULL;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--json") && sub && !strcmp(sub, "status")) {
			json = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			sweep_cli_usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' || dir) {
			fprintf(stderr, "veeksha sweep %s: unexpected argument '%s'\n", sub, argv[i]);
			sweep_cli_usage(stderr);
			return 2;
		} else {
			dir = argv[i];
		}
	}
	if (!sub || (strcmp(sub, "status") != 0 && strcmp(sub, "collect") != 0) || !dir) {
		fprintf(stderr, "veeksha sweep: %s\n",
		        !sub                                                ? "missing subcommand"
		        : (strcmp(sub, "status") && strcmp(sub, "collect")) ? "unknown subcommand (status or collect)"
		                                                            : "missing the sweep directory");
		sweep_cli_usage(stderr);
		return 2;
	}
	/* DIR/ and DIR name the same sweep; run directories are shown under DIR as given */
	char *d = xstrdup(dir);
	for (size_t n = strlen(d); n > 1 && d[n - 1] == '/'; n--)
		d[n - 1] = '\0';
	char err[1024];
	struct sweep_job job;
	if (sweep_job_load(d, &job, err, sizeof err)) {
		fprintf(stderr, "veeksha sweep %s: %s\n", sub, err);
		free(d);
		return 2;
	}
	char *note = NULL;
	struct sweep_point_status *st = sweep_job_status(d, &job, &note);
	int code = sweep_cli_exit_code(st, job.n_points);
	if (!strcmp(sub, "status")) {
		if (json) {
			sweep_cli_print_json(d, &job, st, note);
		} else {
			sweep_cli_print_table(d, &job, st);
			if (note)
				printf("note: %s\n", note);
		}
	} else if (job.kind && !strcmp(job.kind, "capacity-search")) {
		code = sweep_cli_collect_searches(d, &job, st) ? 1 : 0;
		size_t missing = 0;
		for (size_t k = 0; k < job.n_points; k++) {
			if (sweep_cli_has_results(&st[k])) {
				if (st[k].state != SWEEP_POINT_DONE && code == 0)
					code = 1; /* (its results are there; the exit code still says not done) */
				continue;
			}
			missing++;
			fprintf(stderr, "veeksha sweep collect: search %ld is %s%s%s: its row has no result\n",
			        job.points[k].index, sweep_point_state_name(st[k].state), st[k].note ? " — " : "",
			        st[k].note ? st[k].note : "");
		}
		if (missing && code == 0)
			code = 1;
		printf("sweep directory: %s\n", d);
		printf("collected %zu of %zu capacity searches into %s/capacity_searches.csv\n", job.n_points - missing,
		       job.n_points, d);
	} else {
		code = 0;
		struct cfg_benchmark *cfgs = sweep_cli_load_configs(d, &job);
		if (!cfgs) {
			code = 2;
		} else {
			const char **run_dirs = xcalloc(job.n_points, sizeof *run_dirs);
			for (size_t k = 0; k < job.n_points; k++)
				run_dirs[k] = sweep_cli_has_results(&st[k]) ? st[k].run_dir : NULL;
			if (sweep_outputs_write(d, run_dirs, cfgs, job.n_points) != 0)
				code = 1;
			else if (report_html_write_sweep(d) != 0) /* the sweep's page, as a local sweep writes it */
				code = 1;
			free(run_dirs);
			for (size_t k = 0; k < job.n_points; k++)
				config_benchmark_free(&cfgs[k]);
			free(cfgs);
			size_t missing = 0;
			for (size_t k = 0; k < job.n_points; k++) {
				if (sweep_cli_has_results(&st[k])) {
					if (st[k].state != SWEEP_POINT_DONE) {
						fprintf(
						    stderr,
						    "veeksha sweep collect: point %ld missed its SLOs (exit code 3); "
						    "its row has the results of its complete run\n",
						    job.points[k].index);
						if (code == 0)
							code = 1;
					}
					continue;
				}
				missing++;
				fprintf(stderr, "veeksha sweep collect: point %ld is %s%s%s: its row has no results\n",
				        job.points[k].index, sweep_point_state_name(st[k].state),
				        st[k].note ? " — " : "", st[k].note ? st[k].note : "");
			}
			if (missing && code == 0)
				code = 1;
			if (code != 2) {
				printf("sweep directory: %s\n", d);
				printf("collected %zu of %zu points into %s/sweep_summary.csv\n",
				       job.n_points - missing, job.n_points, d);
			}
		}
	}
	free(note);
	sweep_job_status_free(st, job.n_points);
	sweep_job_free(&job);
	free(d);
	return code;
}
