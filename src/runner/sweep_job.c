/* Sweeps as Slurm job arrays: submission, one point per task, and reading their state back
 * (docs/SLURM.md; layout in sweep_job.h). */
#include "runner/sweep_job.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/sha1.h"
#include "core/xalloc.h"
#include "core/num.h"
#include "integrations/wandb.h"
#include "runner/run.h"
#include "runner/rundir.h"
#include "runner/slurm.h"
#include "runner/sweep_summary.h"

static void sweep_job_utc_now(char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Point i's resolved config as its run will write config.yml: output_dir = the sweep dir, secrets
 * redacted. xmalloc'd; *len its length. */
static char *sweep_job_benchmark_yaml(const void *items, size_t i, const char *sweep_dir_abs, size_t *len)
{
	struct cfg_benchmark cfg;
	config_benchmark_copy(&cfg, &((const struct cfg_benchmark *)items)[i]);
	free(cfg.output_dir);
	cfg.output_dir = xstrdup(sweep_dir_abs);
	char *yaml = NULL;
	FILE *mem = open_memstream(&yaml, len);
	if (!mem)
		abort();
	config_benchmark_write_yaml(&cfg, mem, 1);
	fclose(mem);
	config_benchmark_free(&cfg);
	return yaml;
}

/* The manifest and an empty summary exist from the start, like a local sweep's at its end. */
static int sweep_job_benchmark_init(const char *sweep_dir, const void *items, const size_t *idx, size_t n)
{
	const struct cfg_benchmark *b = items;
	struct cfg_benchmark *cfgs = xcalloc(n, sizeof *cfgs);
	const char **no_runs = xcalloc(n, sizeof *no_runs);
	for (size_t k = 0; k < n; k++)
		config_benchmark_copy(&cfgs[k], &b[idx[k]]);
	int rc = sweep_outputs_write(sweep_dir, no_runs, cfgs, n);
	for (size_t k = 0; k < n; k++)
		config_benchmark_free(&cfgs[k]);
	free(cfgs);
	free(no_runs);
	return rc;
}

/* Whether argv[i] is one of the options that only the submitting command has (the tasks must not
 * submit again): 0 no, 1 the option alone (--x=v), 2 the option and its value (--x v). */
static int sweep_job_submit_only_opt(char **argv, int argc, int i)
{
	const char *tok = argv[i];
	if (strncmp(tok, "--", 2) != 0)
		return 0;
	char name[64];
	size_t k = 0;
	const char *p = tok + 2;
	for (; *p && *p != '=' && k + 1 < sizeof name; p++)
		name[k++] = *p == '-' ? '_' : *p;
	name[k] = '\0';
	if (strcmp(name, "launcher") != 0 && strcmp(name, "sbatch_arg") != 0)
		return 0;
	if (*p == '=')
		return 1;
	/* the parser takes the next token as the value unless it starts with -- (config_load.c) */
	return i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0 ? 2 : 1;
}

static int sweep_job_write_json(const char *dir, const char *name, struct buf *b)
{
	char *path = fs_path_join(dir, name);
	int r = fs_write_file(path, b->data, b->len);
	if (r)
		log_error("cannot write %s: %s", path, strerror(-r));
	free(path);
	return r ? -1 : 0;
}

static void sweep_job_json_file(struct buf *b, const char *sweep_dir_abs, const char *cwd, const char *exe, char **argv,
                                int argc, const struct cfg_run_opts *opts, const size_t *idx, char **shas, size_t n,
                                const char *job_id)
{
	buf_reset(b);
	struct jsonw w;
	jsonw_init(&w, b, 2);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "launcher");
	jsonw_str(&w, "slurm");
	jsonw_key(&w, "kind");
	jsonw_str(&w, argc > 0 ? argv[0] : NULL);
	jsonw_key(&w, "slurm_job_id");
	jsonw_str(&w, job_id);
	jsonw_key(&w, "sweep_dir");
	jsonw_str(&w, sweep_dir_abs);
	jsonw_key(&w, "cwd");
	jsonw_str(&w, cwd);
	jsonw_key(&w, "veeksha");
	jsonw_str(&w, exe);
	jsonw_key(&w, "command");
	jsonw_arr_begin(&w);
	for (int i = 0; i < argc; i++) {
		int skip = sweep_job_submit_only_opt(argv, argc, i);
		if (skip) {
			i += skip - 1;
			continue;
		}
		jsonw_str(&w, argv[i]);
	}
	jsonw_arr_end(&w);
	jsonw_key(&w, "sbatch_args");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < opts->n_sbatch_args; i++)
		jsonw_str(&w, opts->sbatch_args[i]);
	jsonw_arr_end(&w);
	char ts[32];
	sweep_job_utc_now(ts, sizeof ts);
	jsonw_key(&w, "submitted_at");
	jsonw_str(&w, ts);
	jsonw_key(&w, "points");
	jsonw_arr_begin(&w);
	for (size_t k = 0; k < n; k++) {
		char rel[64];
		snprintf(rel, sizeof rel, "points/%zu.yml", idx[k]);
		jsonw_obj_begin(&w);
		jsonw_key(&w, "array_task_id");
		jsonw_int(&w, (int64_t)k);
		jsonw_key(&w, "index");
		jsonw_int(&w, (int64_t)idx[k]);
		jsonw_key(&w, "config");
		jsonw_str(&w, rel);
		jsonw_key(&w, "config_sha1");
		jsonw_str(&w, shas[k]);
		jsonw_obj_end(&w);
	}
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	buf_putc(b, '\n');
}

int sweep_job_submit_items(const struct sweep_job_items *it, const size_t *idx, size_t n,
                           const struct cfg_run_opts *opts)
{
	char err[1024];
	char *sweep_dir =
	    rundir_create_timestamped(it->output_dir, "sweep_", "%d:%m:%Y-%H:%M:%S", NULL, err, sizeof err);
	if (!sweep_dir) {
		log_error("%s", err);
		return 1;
	}
	char abs[PATH_MAX], cwd[PATH_MAX], exe[PATH_MAX];
	ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (!realpath(sweep_dir, abs) || !getcwd(cwd, sizeof cwd) || el <= 0) {
		log_error("cannot resolve the sweep directory, the working directory or veeksha's own path: %s",
		          strerror(errno));
		free(sweep_dir);
		return 1;
	}
	exe[el] = '\0';
	int rc = 1;
	char **shas = xcalloc(n, sizeof *shas);
	struct buf b;
	buf_init(&b);
	char *points_dir = fs_path_join(abs, "points");
	char *logs_dir = fs_path_join(abs, "slurm");
	if (fs_mkdir_p(points_dir) || fs_mkdir_p(logs_dir)) {
		log_error("cannot create %s/points or %s/slurm: %s", abs, abs, strerror(errno));
		goto out;
	}
	/* Per point: the config snapshot the task checks itself against, and collect reads. */
	for (size_t k = 0; k < n; k++) {
		size_t len = 0;
		char *yaml = it->yaml(it->items, idx[k], abs, &len);
		char hex[41];
		sha1_hex(yaml, len, hex, 40);
		shas[k] = xstrdup(hex);
		char name[64];
		snprintf(name, sizeof name, "%zu.yml", idx[k]);
		char *path = fs_path_join(points_dir, name);
		int wr = fs_write_file(path, yaml, len);
		if (wr)
			log_error("cannot write %s: %s", path, strerror(-wr));
		free(path);
		free(yaml);
		if (wr)
			goto out;
	}
	if (it->init && it->init(sweep_dir, it->items, idx, n))
		goto out;
	sweep_job_json_file(&b, abs, cwd, exe, opts->argv, opts->argc, opts, idx, shas, n, NULL);
	if (sweep_job_write_json(abs, "sweep_job.json", &b))
		goto out;

	/* The batch script: array task k runs point VK_POINTS[k] from the submitting directory with the
	 * submitting command's arguments (sbatch exports the submitting environment by default). */
	struct buf s;
	buf_init(&s);
	char *q_abs = slurm_shell_quote(abs);
	char *q_cwd = slurm_shell_quote(cwd);
	char *q_exe = slurm_shell_quote(exe);
	buf_printf(&s,
	           "#!/bin/bash\n"
	           "# Written by veeksha %s --launcher slurm (docs/SLURM.md). Task k of the array runs point\n"
	           "# VK_POINTS[k] of the sweep into the sweep directory.\n"
	           "#SBATCH --job-name=veeksha-sweep\n"
	           "#SBATCH --array=0-%zu\n"
	           "#SBATCH --output=%s/slurm/task-%%a.out\n"
	           "#SBATCH --open-mode=append\n"
	           "set -u\n"
	           "VK_POINTS=(",
	           opts->argc > 0 ? opts->argv[0] : "benchmark", n - 1, abs);
	for (size_t k = 0; k < n; k++)
		buf_printf(&s, "%s%zu", k ? " " : "", idx[k]);
	buf_printf(&s, ")\ncd %s || exit 1\nexec %s", q_cwd, q_exe);
	for (int i = 0; i < opts->argc; i++) {
		int skip = sweep_job_submit_only_opt(opts->argv, opts->argc, i);
		if (skip) {
			i += skip - 1;
			continue;
		}
		char *q = slurm_shell_quote(opts->argv[i]);
		buf_printf(&s, " %s", q);
		free(q);
	}
	buf_printf(&s, " --sweep-point \"${VK_POINTS[$SLURM_ARRAY_TASK_ID]}\" --sweep-dir %s\n", q_abs);
	free(q_abs);
	free(q_cwd);
	free(q_exe);
	char *script = fs_path_join(abs, "sweep.sbatch");
	int ws = fs_write_file(script, s.data, s.len);
	buf_free(&s);
	if (ws) {
		log_error("cannot write %s: %s", script, strerror(-ws));
		free(script);
		goto out;
	}
	chmod(script, 0755);

	char job_id[64];
	if (slurm_sbatch(script, opts->sbatch_args, opts->n_sbatch_args, job_id, sizeof job_id, err, sizeof err)) {
		log_error("%s", err);
		log_error("the sweep directory %s is ready; submit it yourself with: sbatch %s", sweep_dir, script);
		free(script);
		goto out;
	}
	free(script);
	sweep_job_json_file(&b, abs, cwd, exe, opts->argv, opts->argc, opts, idx, shas, n, job_id);
	if (sweep_job_write_json(abs, "sweep_job.json", &b))
		goto out;
	printf("sweep of %zu %s submitted as Slurm job array %s (tasks 0-%zu)\n", n, it->what, job_id, n - 1);
	printf("sweep directory: %s\n", sweep_dir);
	printf("  progress: veeksha sweep status %s\n", sweep_dir);
	printf("  results:  veeksha sweep collect %s   (when the job has ended)\n", sweep_dir);
	rc = 0;
out:
	buf_free(&b);
	for (size_t k = 0; k < n; k++)
		free(shas[k]);
	free(shas);
	free(points_dir);
	free(logs_dir);
	free(sweep_dir);
	return rc;
}

int sweep_job_submit(const struct cfg_benchmark *items, const size_t *idx, size_t n, const struct cfg_run_opts *opts)
{
	struct sweep_job_items it = {.what = "runs",
	                             .output_dir = items[idx[0]].output_dir,
	                             .items = items,
	                             .yaml = sweep_job_benchmark_yaml,
	                             .init = sweep_job_benchmark_init};
	return sweep_job_submit_items(&it, idx, n, opts);
}

/* ---- sweep_job.json ---- */

static char *sweep_job_json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;
}

int sweep_job_load(const char *sweep_dir, struct sweep_job *job, char *err, size_t err_len)
{
	memset(job, 0, sizeof *job);
	char *path = fs_path_join(sweep_dir, "sweep_job.json");
	char *text = fs_read_file(path, NULL);
	if (!text) {
		snprintf(
		    err, err_len,
		    "%s: %s (not a sweep submitted with --launcher slurm; a local sweep writes its summary itself)",
		    path, strerror(errno));
		free(path);
		return -1;
	}
	cJSON *j = cJSON_Parse(text);
	free(text);
	const cJSON *pts = j ? cJSON_GetObjectItemCaseSensitive(j, "points") : NULL;
	if (!j || !cJSON_IsArray(pts) || cJSON_GetArraySize(pts) == 0) {
		snprintf(err, err_len, "%s: not a sweep job file (no points)", path);
		cJSON_Delete(j);
		free(path);
		return -1;
	}
	job->launcher = sweep_job_json_str(j, "launcher");
	job->kind = sweep_job_json_str(j, "kind");
	job->job_id = sweep_job_json_str(j, "slurm_job_id");
	job->cwd = sweep_job_json_str(j, "cwd");
	job->n_points = (size_t)cJSON_GetArraySize(pts);
	job->points = xcalloc(job->n_points, sizeof *job->points);
	size_t k = 0;
	const cJSON *p;
	cJSON_ArrayForEach(p, pts)
	{
		const cJSON *ix = cJSON_GetObjectItemCaseSensitive(p, "index");
		struct sweep_job_point *pt = &job->points[k];
		pt->config = sweep_job_json_str(p, "config");
		pt->config_sha1 = sweep_job_json_str(p, "config_sha1");
		if (!cJSON_IsNumber(ix) || ix->valuedouble < 0 || !pt->config || !pt->config_sha1) {
			snprintf(err, err_len, "%s: points[%zu] lacks index, config or config_sha1", path, k);
			job->n_points = k + 1;
			sweep_job_free(job);
			cJSON_Delete(j);
			free(path);
			return -1;
		}
		pt->index = (long)num_f64_to_i64(ix->valuedouble);
		k++;
	}
	cJSON_Delete(j);
	free(path);
	return 0;
}

void sweep_job_free(struct sweep_job *job)
{
	for (size_t k = 0; k < job->n_points; k++) {
		free(job->points[k].config);
		free(job->points[k].config_sha1);
	}
	free(job->points);
	free(job->launcher);
	free(job->kind);
	free(job->job_id);
	free(job->cwd);
	memset(job, 0, sizeof *job);
}

/* ---- one point (an array task) ---- */

/* A TCP port nobody listens on now, from the kernel (0 when it cannot say). */
static int sweep_job_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY), .sin_port = 0};
	socklen_t len = sizeof a;
	int port = 0;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

void sweep_job_server_port(struct cfg_server *server, long index)
{
	/* Array tasks that share a node start at the same moment: with the configured server.port they
	 * would all launch their managed servers on one port and all but one fail. Each takes a port
	 * that is free on its node; config.yml and server.json record the one used (docs/SLURM.md). */
	int port = sweep_job_free_port();
	if (port > 0) {
		log_info("sweep point %ld: managed server on free port %d (config: %lld)", index, port,
		         (long long)server->port);
		server->port = port;
	}
}

static void sweep_job_write_point(const char *sweep_dir, long index, const char *state, const char *run_dir,
                                  int exit_code, const char *started_at)
{
	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 2);
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	char now[32];
	sweep_job_utc_now(now, sizeof now);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "index");
	jsonw_int(&w, index);
	jsonw_key(&w, "state");
	jsonw_str(&w, state);
	jsonw_key(&w, "run_dir");
	if (run_dir) {
		const char *slash = strrchr(run_dir, '/');
		jsonw_str(&w, slash ? slash + 1 : run_dir);
	} else {
		jsonw_null(&w);
	}
	jsonw_key(&w, "exit_code");
	if (exit_code >= 0)
		jsonw_int(&w, exit_code);
	else
		jsonw_null(&w);
	jsonw_key(&w, "host");
	jsonw_str(&w, host);
	jsonw_key(&w, "pid");
	jsonw_int(&w, (int64_t)getpid());
	jsonw_key(&w, "slurm_job_id");
	jsonw_str(&w, getenv("SLURM_JOB_ID"));
	jsonw_key(&w, "slurm_array_job_id");
	jsonw_str(&w, getenv("SLURM_ARRAY_JOB_ID"));
	jsonw_key(&w, "slurm_array_task_id");
	jsonw_str(&w, getenv("SLURM_ARRAY_TASK_ID"));
	jsonw_key(&w, "started_at");
	jsonw_str(&w, started_at);
	jsonw_key(&w, "ended_at");
	jsonw_str(&w, strcmp(state, "running") ? now : NULL);
	jsonw_obj_end(&w);
	buf_putc(&b, '\n');
	char name[64];
	snprintf(name, sizeof name, "points/%ld.json", index);
	sweep_job_write_json(sweep_dir, name, &b);
	buf_free(&b);
}

int sweep_job_point_begin(const struct sweep_job_items *it, size_t n, const struct cfg_run_opts *opts, char *abs,
                          char *started)
{
	long i = (long)opts->sweep_point;
	if (opts->sweep_point >= (int64_t)n) {
		log_error("--sweep-point %lld: the config expands to %zu %s (points 0-%zu)",
		          (long long)opts->sweep_point, n, it->what, n - 1);
		return 2;
	}
	if (!realpath(opts->sweep_dir, abs)) {
		log_error("--sweep-dir %s: %s", opts->sweep_dir, strerror(errno));
		return 2;
	}
	char err[1024];
	struct sweep_job job;
	if (sweep_job_load(abs, &job, err, sizeof err)) {
		log_error("--sweep-dir: %s", err);
		return 2;
	}
	const struct sweep_job_point *pt = NULL;
	for (size_t k = 0; k < job.n_points; k++)
		if (job.points[k].index == i)
			pt = &job.points[k];
	if (!pt) {
		log_error("--sweep-point %ld is not a point of the sweep in %s", i, abs);
		sweep_job_free(&job);
		return 2;
	}
	sweep_job_utc_now(started, 32);
	/* The config may have been edited while the task waited in the queue: run only what was submitted. */
	size_t len = 0;
	char *yaml = it->yaml(it->items, (size_t)i, abs, &len);
	char hex[41];
	sha1_hex(yaml, len, hex, 40);
	free(yaml);
	if (strcmp(hex, pt->config_sha1) != 0) {
		log_error(
		    "sweep point %ld: its config is not the one submitted (sha1 %.12s, submitted %.12s in %s/%s); "
		    "the config files or arguments changed since submission. Submit the sweep again",
		    i, hex, pt->config_sha1, abs, pt->config);
		sweep_job_write_point(abs, i, "failed", NULL, 2, started);
		sweep_job_free(&job);
		return 2;
	}
	sweep_job_free(&job);
	sweep_job_write_point(abs, i, "running", NULL, -1, started);
	log_info("sweep point %ld of %zu into %s", i, n, abs);
	return 0;
}

void sweep_job_point_end(const char *abs, long index, const char *run_dir, int exit_code, const char *started)
{
	sweep_job_write_point(abs, index, exit_code == 0 ? "done" : "failed", run_dir, exit_code, started);
}

int sweep_job_run_point(const struct cfg_benchmark *items, size_t n, const struct cfg_run_opts *opts)
{
	struct sweep_job_items it = {.what = "runs", .items = items, .yaml = sweep_job_benchmark_yaml};
	char abs[PATH_MAX], started[32];
	int rc = sweep_job_point_begin(&it, n, opts, abs, started);
	if (rc)
		return rc;
	long i = (long)opts->sweep_point;
	struct cfg_benchmark cfg;
	config_benchmark_copy(&cfg, &items[i]);
	free(cfg.output_dir);
	cfg.output_dir = xstrdup(abs);
	integ_wandb_sweep_point(&cfg, abs); /* W&B group and tag, as a local sweep (docs/INTEGRATIONS.md) */
	if (cfg.has_server)
		sweep_job_server_port(&cfg.server, i);
	/* A task of a sweep's job array is one whole run, never one shard of a run split across the
	 * array (docs/DISTRIBUTED.md reads SLURM_ARRAY_TASK_ID/COUNT for that). */
	struct cfg_run_opts point_opts = *opts;
	point_opts.shard = "off";
	struct runner_result res;
	runner_run_one(&cfg, &point_opts, NULL, &res);
	sweep_job_point_end(abs, i, res.run_dir, res.exit_code, started);
	if (res.run_dir)
		printf("run directory: %s\n", res.run_dir);
	free(res.run_dir);
	config_benchmark_free(&cfg);
	return res.exit_code;
}

/* ---- status ---- */

const char *sweep_point_state_name(enum sweep_point_state s)
{
	switch (s) {
	case SWEEP_POINT_PENDING:
		return "pending";
	case SWEEP_POINT_RUNNING:
		return "running";
	case SWEEP_POINT_DONE:
		return "done";
	default:
		return "failed";
	}
}

struct sweep_point_status *sweep_job_status(const char *sweep_dir, const struct sweep_job *job, char **squeue_note)
{
	*squeue_note = NULL;
	struct sweep_point_status *st = xcalloc(job->n_points, sizeof *st);
	struct slurm_task_state *tasks = NULL;
	size_t n_tasks = 0;
	enum slurm_query q = SLURM_QUERY_UNAVAILABLE;
	char err[512] = "";
	if (job->job_id) {
		q = slurm_squeue_tasks(job->job_id, &tasks, &n_tasks, err, sizeof err);
		if (q == SLURM_QUERY_UNAVAILABLE)
			*squeue_note =
			    xasprintf("squeue gave no answer (%s); states come from the points' files only", err);
		else if (q == SLURM_QUERY_UNKNOWN_JOB)
			*squeue_note = xasprintf("Slurm no longer knows job %s (it ended)", job->job_id);
	} else {
		*squeue_note = xstrdup("the sweep was never submitted (sweep_job.json has no job id)");
	}
	for (size_t k = 0; k < job->n_points; k++) {
		struct sweep_point_status *s = &st[k];
		s->exit_code = -1;
		const struct slurm_task_state *t = NULL;
		for (size_t m = 0; m < n_tasks; m++)
			if (tasks[m].task_id == (long)k)
				t = &tasks[m];
		if (t)
			snprintf(s->slurm_state, sizeof s->slurm_state, "%s", t->state);
		char name[64];
		snprintf(name, sizeof name, "points/%ld.json", job->points[k].index);
		char *path = fs_path_join(sweep_dir, name);
		char *text = fs_read_file(path, NULL);
		free(path);
		cJSON *rec = text ? cJSON_Parse(text) : NULL;
		free(text);
		const cJSON *state = rec ? cJSON_GetObjectItemCaseSensitive(rec, "state") : NULL;
		const cJSON *rd = rec ? cJSON_GetObjectItemCaseSensitive(rec, "run_dir") : NULL;
		const cJSON *ec = rec ? cJSON_GetObjectItemCaseSensitive(rec, "exit_code") : NULL;
		if (cJSON_IsString(rd) && rd->valuestring[0] && !strchr(rd->valuestring, '/')) {
			s->run_dir = fs_path_join(sweep_dir, rd->valuestring);
			if (!fs_exists(s->run_dir)) {
				s->note = xasprintf("its run directory %s is missing", s->run_dir);
				free(s->run_dir);
				s->run_dir = NULL;
			}
		}
		if (cJSON_IsNumber(ec))
			s->exit_code = ec->valueint; /* (cJSON's saturated int) */
		const char *rs = cJSON_IsString(state) ? state->valuestring : NULL;
		bool task_over = (t && slurm_state_is_final(t->state)) || (!t && q == SLURM_QUERY_UNKNOWN_JOB) ||
		                 (!t && q == SLURM_QUERY_OK);
		if (rs && !strcmp(rs, "done")) {
			s->state = SWEEP_POINT_DONE;
		} else if (rs && !strcmp(rs, "failed")) {
			s->state = SWEEP_POINT_FAILED;
			if (!s->note)
				s->note =
				    xasprintf("exit code %d; see %s/slurm/task-%zu.out", s->exit_code, sweep_dir, k);
		} else if (rs && !strcmp(rs, "running")) {
			if (task_over && q != SLURM_QUERY_UNAVAILABLE) {
				/* killed (time limit, node failure, scancel -9) before it could record its end */
				s->state = SWEEP_POINT_FAILED;
				free(s->note);
				s->note = xasprintf("the task ended (%s) without recording the end of its run; see "
				                    "%s/slurm/task-%zu.out",
				                    t ? t->state : "no longer known to Slurm", sweep_dir, k);
			} else {
				s->state = SWEEP_POINT_RUNNING;
			}
		} else if (t && !slurm_state_is_final(t->state)) {
			s->state = strcmp(t->state, "PENDING") ? SWEEP_POINT_RUNNING : SWEEP_POINT_PENDING;
		} else if (task_over && job->job_id && q != SLURM_QUERY_UNAVAILABLE) {
			s->state = SWEEP_POINT_FAILED;
			free(s->note);
			s->note = xasprintf("the task ended (%s) before its run started; see %s/slurm/task-%zu.out",
			                    t ? t->state : "no longer known to Slurm", sweep_dir, k);
		} else {
			s->state = SWEEP_POINT_PENDING;
		}
		cJSON_Delete(rec);
	}
	free(tasks);
	return st;
}

void sweep_job_status_free(struct sweep_point_status *st, size_t n)
{
	if (!st)
		return;
	for (size_t k = 0; k < n; k++) {
		free(st[k].run_dir);
		free(st[k].note);
	}
	free(st);
}
