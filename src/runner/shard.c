/* Shard identity and the rendezvous of a distributed benchmark (docs/DISTRIBUTED.md). */
#include "runner/shard.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/clock.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "core/num.h"
#include "runner/run.h"

#define SHARD_POLL_NS 20000000LL /* 20 ms between looks at the rendezvous directory */

int shard_parse(const char *text, uint32_t *index, uint32_t *count)
{
	if (!text)
		return -1;
	char *end = NULL;
	errno = 0;
	unsigned long k = strtoul(text, &end, 10);
	if (errno || end == text || *end != '/' || text[0] == '-')
		return -1;
	const char *n_text = end + 1;
	unsigned long n = strtoul(n_text, &end, 10);
	if (errno || end == n_text || *end || n_text[0] == '-' || n == 0 || n > 65536 || k >= n)
		return -1;
	*index = (uint32_t)k;
	*count = (uint32_t)n;
	return 0;
}

/* A non-negative integer environment variable: 1 and *v when set and valid, 0 when unset, -1 when bad. */
static int shard_env_u32(const char *name, uint32_t *v, char *err, size_t err_len)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return 0;
	char *end = NULL;
	errno = 0;
	unsigned long x = strtoul(s, &end, 10);
	if (errno || *end || s[0] == '-' || x > 1000000) {
		snprintf(err, err_len, "environment variable %s is '%.64s', not a shard number", name, s);
		return -1;
	}
	*v = (uint32_t)x;
	return 1;
}

/* The launcher's environment: srun (one task per shard), a Slurm job array (one array task per shard),
 * a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, with the count declared). 1 when found. */
static int shard_from_env(const struct cfg_run_opts *opts, struct runner_shard *sh, char *err, size_t err_len)
{
	uint32_t k = 0, n = 0, min = 0, max = 0;
	int a, b;
	/* srun: SLURM_STEP_NUM_TASKS is set for job steps only, so a batch script that runs veeksha
	 * directly (SLURM_NTASKS set, no step) is not mistaken for one shard of several */
	if ((a = shard_env_u32("SLURM_STEP_NUM_TASKS", &n, err, err_len)) < 0 ||
	    (b = shard_env_u32("SLURM_PROCID", &k, err, err_len)) < 0)
		return -1;
	if (a == 1 && b == 1 && n > 1) {
		if (k >= n) {
			snprintf(err, err_len, "SLURM_PROCID=%u is not below SLURM_STEP_NUM_TASKS=%u", k, n);
			return -1;
		}
		sh->index = k;
		sh->count = n;
		sh->source = "srun";
		return 1;
	}
	if ((a = shard_env_u32("SLURM_ARRAY_TASK_COUNT", &n, err, err_len)) < 0 ||
	    (b = shard_env_u32("SLURM_ARRAY_TASK_ID", &k, err, err_len)) < 0 ||
	    shard_env_u32("SLURM_ARRAY_TASK_MIN", &min, err, err_len) < 0)
		return -1;
	int has_max = 0;
	if (a == 1 && b == 1 && n > 1 && (has_max = shard_env_u32("SLURM_ARRAY_TASK_MAX", &max, err, err_len)) < 0)
		return -1;
	if (a == 1 && b == 1 && n > 1) {
		/* --array=1,3,5 or 0-6:2 has gaps: task id - min is then no shard index (3 would be shard 2
		 * of 3, 5 none, shard 1 never run) */
		if (has_max == 1 && (max < min || max - min + 1 != n)) {
			snprintf(
			    err, err_len,
			    "the Slurm job array is not contiguous (SLURM_ARRAY_TASK_MIN=%u, SLURM_ARRAY_TASK_MAX=%u, "
			    "SLURM_ARRAY_TASK_COUNT=%u): a sharded run needs --array=0-%u (a %% throttle is fine)",
			    min, max, n, n - 1);
			return -1;
		}
		if (k < min || k - min >= n) {
			snprintf(
			    err, err_len,
			    "SLURM_ARRAY_TASK_ID=%u is outside SLURM_ARRAY_TASK_MIN=%u + SLURM_ARRAY_TASK_COUNT=%u "
			    "(a sharded run needs a contiguous array, e.g. --array=0-%u)",
			    k, min, n, n - 1);
			return -1;
		}
		sh->index = k - min;
		sh->count = n;
		sh->source = "slurm array";
		return 1;
	}
	if ((b = shard_env_u32("JOB_COMPLETION_INDEX", &k, err, err_len)) < 0)
		return -1;
	if (b == 1) {
		n = opts->shard_count;
		if (n == 0 && shard_env_u32("VEEKSHA_SHARD_COUNT", &n, err, err_len) < 0)
			return -1;
		if (n == 0) {
			snprintf(
			    err, err_len,
			    "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but the number of shards is not: "
			    "pass --shard-count N (the Job's completions) or set VEEKSHA_SHARD_COUNT, or --shard off");
			return -1;
		}
		if (k >= n) {
			snprintf(err, err_len, "JOB_COMPLETION_INDEX=%u is not below the shard count %u", k, n);
			return -1;
		}
		sh->index = k;
		sh->count = n;
		sh->source = "kubernetes";
		return n > 1;
	}
	return 0;
}

/* Under Slurm, shards of one job step (or array) rendezvous in <output_dir>/.rendezvous/<job>. */
static char *shard_default_rendezvous(const char *output_dir)
{
	const char *job = getenv("SLURM_ARRAY_JOB_ID");
	const char *step = NULL;
	if (!job || !*job) {
		job = getenv("SLURM_JOB_ID");
		step = getenv("SLURM_STEP_ID");
	}
	if (!job || !*job)
		return NULL;
	return xasprintf("%s/.rendezvous/slurm-%s%s%s", output_dir && *output_dir ? output_dir : ".", job,
	                 step && *step ? "." : "", step && *step ? step : "");
}

int shard_resolve(const struct cfg_run_opts *opts, const char *output_dir, struct runner_shard *sh, char *err,
                  size_t err_len)
{
	memset(sh, 0, sizeof *sh);
	sh->index = 0;
	sh->count = 1;
	sh->source = "none";
	sh->margin_s = opts->rendezvous_margin_s > 0 ? opts->rendezvous_margin_s : 3.0;
	sh->timeout_s = opts->rendezvous_timeout_s > 0 ? opts->rendezvous_timeout_s : 600.0;
	if (opts->shard && !strcmp(opts->shard, "off"))
		return 0;
	/* a sweep point run by an array task is one whole benchmark, not a shard of one (docs/SLURM.md) */
	if (!opts->shard && opts->has_sweep_point)
		return 0;
	if (opts->shard && strcmp(opts->shard, "auto") != 0) {
		if (shard_parse(opts->shard, &sh->index, &sh->count) != 0) {
			snprintf(err, err_len,
			         "--shard: expected K/N with 0 <= K < N (e.g. 0/2), 'auto' or 'off'; got '%.64s'",
			         opts->shard);
			return -1;
		}
		sh->source = "--shard";
	} else if (shard_from_env(opts, sh, err, err_len) < 0) {
		return -1;
	}
	/* A shard count without a shard index (a Job without completionMode: Indexed sets no
	 * JOB_COMPLETION_INDEX) would run the whole workload in every pod, each a complete run of its
	 * own; a count that contradicts the index's source is no better (docs/DISTRIBUTED.md). */
	uint32_t declared = opts->shard_count;
	const char *declared_by = "--shard-count";
	if (!declared && !strcmp(sh->source, "none")) {
		if (shard_env_u32("VEEKSHA_SHARD_COUNT", &declared, err, err_len) < 0)
			return -1;
		declared_by = "VEEKSHA_SHARD_COUNT";
	}
	if (declared > 1 && !strcmp(sh->source, "none")) {
		snprintf(err, err_len,
		         "%s is %u but no shard index was found (JOB_COMPLETION_INDEX, which a Kubernetes Job sets "
		         "only with completionMode: Indexed, or srun's/sbatch --array's variables): every process "
		         "would run the whole workload; give --shard K/N, fix the Job, or --shard off",
		         declared_by, declared);
		return -1;
	}
	if (declared && strcmp(sh->source, "none") != 0 && declared != sh->count) {
		snprintf(err, err_len, "%s is %u but the shard was found as %u of %u (%s): the counts must agree",
		         declared_by, declared, sh->index, sh->count, sh->source);
		return -1;
	}
	if (opts->start_at_s > 0) {
		sh->start_epoch_ns = (int64_t)(opts->start_at_s * 1e9);
	}
	if (opts->rendezvous && *opts->rendezvous)
		sh->rendezvous_dir = xstrdup(opts->rendezvous);
	else if (sh->count > 1 && !sh->start_epoch_ns && strcmp(sh->source, "--shard") != 0)
		sh->rendezvous_dir = shard_default_rendezvous(output_dir);
	if (sh->count > 1 && !sh->start_epoch_ns && !sh->rendezvous_dir) {
		snprintf(err, err_len,
		         "shard %u of %u (%s) needs a start common to all shards: give --start-at <UTC epoch seconds> "
		         "or --rendezvous DIR (a directory every shard can see)",
		         sh->index, sh->count, sh->source);
		return -1;
	}
	return 0;
}

void shard_free(struct runner_shard *sh)
{
	free(sh->rendezvous_dir);
	sh->rendezvous_dir = NULL;
}

int64_t shard_epoch_to_mono_ns(int64_t epoch_ns)
{
	/* read both clocks close together: the smallest gap of three tries bounds the error */
	int64_t best_gap = INT64_MAX, offset = 0;
	for (int i = 0; i < 3; i++) {
		int64_t m0 = clock_mono_ns();
		int64_t r = clock_real_ns();
		int64_t m1 = clock_mono_ns();
		if (m1 - m0 < best_gap) {
			best_gap = m1 - m0;
			offset = r - (m0 + (m1 - m0) / 2);
		}
	}
	return epoch_ns - offset;
}

static char *shard_file(const struct runner_shard *sh, const char *kind, uint32_t index)
{
	return xasprintf("%s/%s-%u-of-%u.json", sh->rendezvous_dir, kind, index, sh->count);
}

static int shard_write(const struct runner_shard *sh, const char *kind, cJSON *j, bool must_be_new, char *err,
                       size_t err_len)
{
	char *path = shard_file(sh, kind, sh->index);
	int rc = 0;
	if (must_be_new && fs_exists(path)) {
		snprintf(err, err_len,
		         "%s already exists: another shard %u of %u, or an earlier run, used this rendezvous directory "
		         "(use a fresh one per run)",
		         path, sh->index, sh->count);
		rc = -1;
	} else {
		char *text = cJSON_PrintUnformatted(j);
		int r = fs_write_file(path, text, strlen(text));
		if (r) {
			snprintf(err, err_len, "cannot write %s: %s", path, strerror(-r));
			rc = -1;
		}
		cJSON_free(text);
	}
	free(path);
	return rc;
}

/* Reads kind-i-of-N.json; NULL when it does not exist (yet) or does not parse (yet: files are renamed into
 * place, so a partial file is never seen; a bad one is reported by the caller's timeout). */
static cJSON *shard_read(const struct runner_shard *sh, const char *kind, uint32_t index)
{
	char *path = shard_file(sh, kind, index);
	size_t len = 0;
	char *text = fs_read_file(path, &len);
	free(path);
	if (!text)
		return NULL;
	cJSON *j = cJSON_ParseWithLength(text, len);
	free(text);
	return j;
}

static int64_t shard_json_i64(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
	return cJSON_IsNumber(v) ? num_f64_to_i64(v->valuedouble) : 0;
}

static cJSON *shard_announcement(const struct runner_shard *sh)
{
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "index", sh->index);
	cJSON_AddNumberToObject(j, "count", sh->count);
	cJSON_AddStringToObject(j, "host", host);
	cJSON_AddNumberToObject(j, "pid", (double)getpid());
	/* (an epoch in ns needs 61 bits: a JSON double keeps it to ~0.1 µs, plenty for a start time) */
	cJSON_AddNumberToObject(j, "epoch_ns", (double)clock_real_ns());
	return j;
}

/* A shard of another count in the rendezvous directory (hello-K-of-M.json, M != N): the shards were
 * given different counts and would each wait out the timeout for shards that never come. 0, or -1
 * with a message naming the file. */
static int shard_other_count(const struct runner_shard *sh, char *err, size_t err_len)
{
	DIR *d = opendir(sh->rendezvous_dir);
	if (!d)
		return 0;
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		const char *p = de->d_name;
		if (strncmp(p, "hello-", 6) != 0 && strncmp(p, "ready-", 6) != 0)
			continue;
		char *end = NULL;
		unsigned long k = strtoul(p + 6, &end, 10);
		if (end == p + 6 || strncmp(end, "-of-", 4) != 0)
			continue;
		const char *m_text = end + 4;
		unsigned long m = strtoul(m_text, &end, 10);
		if (end == m_text || strcmp(end, ".json") != 0 || m == sh->count)
			continue;
		snprintf(
		    err, err_len,
		    "shard %u of %u: %s/%s is shard %u of %u: the shards were given different counts (--shard K/N, "
		    "--shard-count, the launcher's task count); every shard of a run needs the same N",
		    sh->index, sh->count, sh->rendezvous_dir, de->d_name, (unsigned)k, (unsigned)m);
		rc = -1;
	}
	closedir(d);
	return rc;
}

/* Waits until kind-i-of-N.json exists for every i in [first, last]; NULL-terminated results in out.
 * 0, or -1 on timeout or signal (err names the missing shards), or at once when a missing shard has
 * already written its done file (it failed before getting there: waiting longer cannot help). */
static int shard_wait_files(const struct runner_shard *sh, const char *kind, uint32_t first, uint32_t last,
                            double wait_s, cJSON **out, char *err, size_t err_len)
{
	int64_t deadline = clock_mono_ns() + clock_span_s_to_ns(wait_s);
	bool check_done = strcmp(kind, "done") != 0;
	for (;;) {
		uint32_t missing = 0, first_missing = 0;
		for (uint32_t i = first; i <= last; i++) {
			if (!out[i - first])
				out[i - first] = shard_read(sh, kind, i);
			if (!out[i - first] && missing++ == 0)
				first_missing = i;
			if (!out[i - first] && check_done) {
				cJSON *done = shard_read(sh, "done", i);
				if (done) {
					snprintf(err, err_len,
					         "shard %u of %u: shard %u ended (exit code %lld) without announcing "
					         "'%s': it "
					         "failed before the common start (see its own output; "
					         "%s/done-%u-of-%u.json)",
					         sh->index, sh->count, i, (long long)shard_json_i64(done, "exit_code"),
					         kind, sh->rendezvous_dir, i, sh->count);
					cJSON_Delete(done);
					return -1;
				}
			}
		}
		if (!missing)
			return 0;
		if (check_done && shard_other_count(sh, err, err_len) != 0)
			return -1;
		if (runner_signal_pending()) {
			snprintf(err, err_len, "interrupted while waiting for the other shards in %s",
			         sh->rendezvous_dir);
			return -1;
		}
		if (clock_mono_ns() >= deadline) {
			snprintf(err, err_len,
			         "shard %u of %u: %u shard(s) never announced '%s' in %s within %.0f s (first missing: "
			         "shard %u; "
			         "look for %s-%u-of-%u.json)",
			         sh->index, sh->count, missing, kind, sh->rendezvous_dir, wait_s, first_missing, kind,
			         first_missing, sh->count);
			return -1;
		}
		clock_sleep_until_ns(clock_mono_ns() + SHARD_POLL_NS);
	}
}

static void shard_free_all(cJSON **v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		cJSON_Delete(v[i]);
	free(v);
}

/* The rendezvous directory, made by the first file a shard writes there (hello; ready when a single
 * shard says no hello). */
static int shard_mkdir(const struct runner_shard *sh, char *err, size_t err_len)
{
	int r = fs_mkdir_p(sh->rendezvous_dir);
	if (r)
		snprintf(err, err_len, "cannot create the rendezvous directory %s: %s", sh->rendezvous_dir,
		         strerror(-r));
	return r ? -1 : 0;
}

int shard_hello(struct runner_shard *sh, const char *config_sha, int64_t *run_epoch_ns, char *err, size_t err_len)
{
	if (shard_mkdir(sh, err, err_len))
		return -1;
	cJSON *me = shard_announcement(sh);
	cJSON_AddStringToObject(me, "config_sha", config_sha);
	int rc = shard_write(sh, "hello", me, true, err, err_len);
	cJSON_Delete(me);
	if (rc)
		return -1;
	sh->announced = true;
	cJSON **zero = xcalloc(1, sizeof *zero);
	rc = shard_wait_files(sh, "hello", 0, 0, sh->timeout_s, zero, err, err_len);
	if (rc == 0) {
		const cJSON *sha = cJSON_GetObjectItemCaseSensitive(zero[0], "config_sha");
		if (!cJSON_IsString(sha) || strcmp(sha->valuestring, config_sha) != 0) {
			snprintf(err, err_len,
			         "shard %u of %u: the resolved config differs from shard 0's (config sha %s here, %s "
			         "there): "
			         "every shard must run the same config and flags (except the shard flags)",
			         sh->index, sh->count, config_sha, cJSON_IsString(sha) ? sha->valuestring : "?");
			rc = -1;
		}
		*run_epoch_ns = shard_json_i64(zero[0], "epoch_ns");
	}
	shard_free_all(zero, 1);
	return rc;
}

int shard_ready(const struct runner_shard *sh, int64_t *start_epoch_ns, char *err, size_t err_len)
{
	if (sh->count == 1 && shard_mkdir(sh, err, err_len))
		return -1;
	cJSON *me = shard_announcement(sh);
	cJSON_AddNumberToObject(me, "margin_ns", (double)clock_span_s_to_ns(sh->margin_s));
	int rc = shard_write(sh, "ready", me, true, err, err_len);
	cJSON_Delete(me);
	if (rc)
		return -1;
	cJSON **all = xcalloc(sh->count, sizeof *all);
	rc = shard_wait_files(sh, "ready", 0, sh->count - 1, sh->timeout_s, all, err, err_len);
	if (rc == 0) {
		/* every shard computes the same start from the same files: the latest ready time plus the
		 * largest margin any shard asked for (shards given different --rendezvous-margin-s would
		 * otherwise start their schedules that far apart) */
		int64_t latest = 0, margin_ns = 0;
		for (uint32_t i = 0; i < sh->count; i++) {
			int64_t t = shard_json_i64(all[i], "epoch_ns");
			if (t > latest)
				latest = t;
			int64_t m = shard_json_i64(all[i], "margin_ns");
			if (m > margin_ns)
				margin_ns = m;
		}
		*start_epoch_ns = latest + margin_ns;
	}
	shard_free_all(all, sh->count);
	return rc;
}

int shard_done(struct runner_shard *sh, int exit_code, const char *run_dir, char *err, size_t err_len)
{
	sh->done_said = true;
	cJSON *me = shard_announcement(sh);
	cJSON_AddNumberToObject(me, "exit_code", exit_code);
	cJSON_AddStringToObject(me, "run_dir", run_dir ? run_dir : "");
	int rc = shard_write(sh, "done", me, false, err, err_len);
	cJSON_Delete(me);
	return rc;
}

uint32_t shard_wait_done(const struct runner_shard *sh, double wait_s)
{
	cJSON **all = xcalloc(sh->count, sizeof *all);
	char err[512];
	uint32_t found = 0;
	if (shard_wait_files(sh, "done", 0, sh->count - 1, wait_s, all, err, sizeof err) != 0)
		log_error("%s", err);
	for (uint32_t i = 0; i < sh->count; i++)
		found += all[i] != NULL;
	shard_free_all(all, sh->count);
	return found;
}
