/* runner/sweep_job + runner/slurm: a sweep run as a Slurm job array (docs/SLURM.md). Each point's
 * state comes from its points/<i>.json record and, when squeue answers, its array task: a fake squeue
 * on PATH plays the controller (tasks pending, completed, a job Slurm has forgotten, no squeue). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "runner/runner_cli.h"
#include "runner/slurm.h"
#include "runner/sweep_job.h"

static char dir[64];
static char bindir[128];

static void put(const char *rel, const char *text)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* squeue replaced by a script printing `out` (exit 0) or `err` (exit 1) */
static void fake_squeue(const char *out, const char *err)
{
	char p[256];
	snprintf(p, sizeof p, "%s/squeue", bindir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	if (err)
		fprintf(f, "#!/bin/sh\necho '%s' >&2\nexit 1\n", err);
	else
		fprintf(f, "#!/bin/sh\nprintf '%s'\n", out);
	fclose(f);
	chmod(p, 0755);
	setenv("PATH", bindir, 1);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/vk-sweep-job.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(bindir, sizeof bindir, "%s/bin", dir);
	char p[128];
	snprintf(p, sizeof p, "%s/points", dir);
	mkdir(p, 0755);
	mkdir(bindir, 0755);
	snprintf(p, sizeof p, "%s/run-a", dir);
	mkdir(p, 0755);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	setenv("PATH", "/usr/bin:/bin", 1);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_shell_quote(void **state)
{
	(void)state;
	char *q = slurm_shell_quote("it's a 'test' $HOME");
	assert_string_equal(q, "'it'\\''s a '\\''test'\\'' $HOME'");
	free(q);
	q = slurm_shell_quote("");
	assert_string_equal(q, "''");
	free(q);
}

static void test_load_errors(void **state)
{
	(void)state;
	struct sweep_job job;
	char err[512];
	assert_int_equal(sweep_job_load(dir, &job, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a sweep submitted with --launcher slurm"));
	put("sweep_job.json", "{\"points\": []}");
	assert_int_equal(sweep_job_load(dir, &job, err, sizeof err), -1);
	assert_non_null(strstr(err, "no points"));
	put("sweep_job.json", "{\"points\": [{\"index\": 0, \"config\": \"points/0.yml\"}]}");
	assert_int_equal(sweep_job_load(dir, &job, err, sizeof err), -1);
	assert_non_null(strstr(err, "points[0] lacks"));
}

#define JOB_FILE                                                                                                       \
	"{\"launcher\": \"slurm\", \"slurm_job_id\": \"42\", \"cwd\": \"/\", \"points\": ["                            \
	"{\"index\": 0, \"config\": \"points/0.yml\", \"config_sha1\": \"a\"},"                                        \
	"{\"index\": 1, \"config\": \"points/1.yml\", \"config_sha1\": \"b\"},"                                        \
	"{\"index\": 2, \"config\": \"points/2.yml\", \"config_sha1\": \"c\"},"                                        \
	"{\"index\": 3, \"config\": \"points/3.yml\", \"config_sha1\": \"d\"}]}"

static struct sweep_point_status *status_of(struct sweep_job *job, char **note)
{
	char err[512];
	assert_int_equal(sweep_job_load(dir, job, err, sizeof err), 0);
	assert_int_equal(job->n_points, 4);
	assert_string_equal(job->job_id, "42");
	return sweep_job_status(dir, job, note);
}

static void test_status(void **state)
{
	(void)state;
	put("sweep_job.json", JOB_FILE);
	/* 0 done (its run dir exists), 1 running, 2 no record yet, 3 failed */
	put("points/0.json", "{\"index\": 0, \"state\": \"done\", \"run_dir\": \"run-a\", \"exit_code\": 0}");
	put("points/1.json", "{\"index\": 1, \"state\": \"running\", \"run_dir\": null, \"exit_code\": null}");
	put("points/3.json", "{\"index\": 3, \"state\": \"failed\", \"run_dir\": null, \"exit_code\": 1}");
	struct sweep_job job;
	char *note = NULL;

	/* no squeue at all: the files alone */
	setenv("PATH", "/nonexistent", 1);
	struct sweep_point_status *st = status_of(&job, &note);
	assert_int_equal(st[0].state, SWEEP_POINT_DONE);
	assert_non_null(strstr(st[0].run_dir, "/run-a"));
	assert_int_equal(st[1].state, SWEEP_POINT_RUNNING);
	assert_int_equal(st[2].state, SWEEP_POINT_PENDING);
	assert_int_equal(st[3].state, SWEEP_POINT_FAILED);
	assert_int_equal(st[3].exit_code, 1);
	assert_non_null(strstr(note, "squeue gave no answer"));
	free(note);
	sweep_job_status_free(st, job.n_points);
	sweep_job_free(&job);

	/* the controller: task 1 still running, task 2 pending */
	fake_squeue("0|COMPLETED\\n1|RUNNING\\n2|PENDING\\n3|FAILED\\n", NULL);
	st = status_of(&job, &note);
	assert_null(note);
	assert_int_equal(st[1].state, SWEEP_POINT_RUNNING);
	assert_string_equal(st[1].slurm_state, "RUNNING");
	assert_int_equal(st[2].state, SWEEP_POINT_PENDING);
	assert_string_equal(st[3].slurm_state, "FAILED");
	sweep_job_status_free(st, job.n_points);
	sweep_job_free(&job);

	/* task 1 was killed (time limit) before it recorded its end; task 2 ended before starting */
	fake_squeue("0|COMPLETED\\n1|TIMEOUT\\n2|CANCELLED\\n3|FAILED\\n", NULL);
	st = status_of(&job, &note);
	assert_int_equal(st[1].state, SWEEP_POINT_FAILED);
	assert_non_null(strstr(st[1].note, "TIMEOUT"));
	assert_non_null(strstr(st[1].note, "without recording the end"));
	assert_int_equal(st[2].state, SWEEP_POINT_FAILED);
	assert_non_null(strstr(st[2].note, "before its run started"));
	assert_int_equal(st[0].state, SWEEP_POINT_DONE);
	sweep_job_status_free(st, job.n_points);
	sweep_job_free(&job);

	/* Slurm has forgotten the job: unfinished points are failed, finished ones stay */
	fake_squeue(NULL, "slurm_load_jobs error: Invalid job id specified");
	st = status_of(&job, &note);
	assert_non_null(strstr(note, "no longer knows job 42"));
	assert_int_equal(st[0].state, SWEEP_POINT_DONE);
	assert_int_equal(st[1].state, SWEEP_POINT_FAILED);
	assert_int_equal(st[2].state, SWEEP_POINT_FAILED);
	assert_non_null(strstr(st[2].note, "no longer known to Slurm"));
	free(note);
	sweep_job_status_free(st, job.n_points);
	sweep_job_free(&job);

	/* squeue fails for another reason (controller down): files only, nothing declared failed */
	fake_squeue(NULL, "slurm_load_jobs error: Unable to contact slurm controller");
	st = status_of(&job, &note);
	assert_non_null(strstr(note, "Unable to contact"));
	assert_int_equal(st[1].state, SWEEP_POINT_RUNNING);
	assert_int_equal(st[2].state, SWEEP_POINT_PENDING);
	free(note);
	sweep_job_status_free(st, job.n_points);
	sweep_job_free(&job);

	/* a record naming a run directory that is gone */
	put("points/0.json", "{\"index\": 0, \"state\": \"done\", \"run_dir\": \"run-gone\", \"exit_code\": 0}");
	st = status_of(&job, &note);
	assert_null(st[0].run_dir);
	assert_non_null(strstr(st[0].note, "is missing"));
	free(note);
	sweep_job_status_free(st, job.n_points);
	sweep_job_free(&job);
}

/* veeksha sweep collect: a point whose task was cancelled, timed out or failed gets an empty row, as
 * its stderr line says ("its row has no results"); before, the row held the interrupted run's
 * numbers (6 requests of a point scancel'ed after 2 s) like any other. A point that only missed its
 * SLOs (exit code 3: a complete run) keeps its results. */
static void test_collect_rows_of_failed_points(void **state)
{
	(void)state;
	put("sweep_job.json", "{\"launcher\": \"slurm\", \"kind\": \"benchmark\", \"points\": ["
	                      "{\"index\": 0, \"config\": \"points/0.yml\", \"config_sha1\": \"a\"},"
	                      "{\"index\": 1, \"config\": \"points/1.yml\", \"config_sha1\": \"b\"},"
	                      "{\"index\": 2, \"config\": \"points/2.yml\", \"config_sha1\": \"c\"}]}");
	static const char *const runs[] = {"run-a", "run-b", "run-c"};
	static const char *const states[] = {"done", "failed", "failed"};
	static const int codes[] = {0, 143, 3};
	static const int requests[] = {10, 7, 5};
	for (int i = 0; i < 3; i++) {
		char rel[64], text[256];
		snprintf(rel, sizeof rel, "points/%d.yml", i);
		put(rel, "seed: 1\n");
		snprintf(rel, sizeof rel, "points/%d.json", i);
		snprintf(text, sizeof text,
		         "{\"index\": %d, \"state\": \"%s\", \"run_dir\": \"%s\", \"exit_code\": %d}", i, states[i],
		         runs[i], codes[i]);
		put(rel, text);
		char p[256];
		snprintf(p, sizeof p, "%s/%s", dir, runs[i]);
		mkdir(p, 0755);
		snprintf(p, sizeof p, "%s/%s/metrics", dir, runs[i]);
		mkdir(p, 0755);
		snprintf(rel, sizeof rel, "%s/metrics/summary_stats.json", runs[i]);
		snprintf(text, sizeof text, "{\"Number of Requests\": %d, \"run_status\": \"%s\"}", requests[i],
		         i == 1 ? "interrupted" : "complete");
		put(rel, text);
	}
	char *argv[] = {"sweep", "collect", dir, NULL};
	assert_int_equal(sweep_cli_main(3, argv), 1);
	char p[256];
	snprintf(p, sizeof p, "%s/sweep_summary.csv", dir);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	char line[1024];
	assert_non_null(fgets(line, sizeof line, f)); /* header */
	for (int i = 0; i < 3; i++) {
		assert_non_null(fgets(line, sizeof line, f));
		/* num_requests is the 10th column */
		char *c = line;
		for (int k = 0; k < 9; k++) {
			c = strchr(c, ',');
			assert_non_null(c);
			c++;
		}
		if (i == 1)
			assert_true(*c == ','); /* empty */
		else
			assert_int_equal(atoi(c), requests[i]);
	}
	fclose(f);
}

static void test_squeue_parse(void **state)
{
	(void)state;
	fake_squeue("7|RUNNING\\nN/A|RUNNING\\nbad\\n12|COMPLETING\\n", NULL);
	struct slurm_task_state *t = NULL;
	size_t n = 0;
	char err[256];
	assert_int_equal(slurm_squeue_tasks("5", &t, &n, err, sizeof err), SLURM_QUERY_OK);
	assert_int_equal(n, 2);
	assert_int_equal(t[0].task_id, 7);
	assert_string_equal(t[1].state, "COMPLETING");
	assert_false(slurm_state_is_final(t[1].state));
	assert_true(slurm_state_is_final("OUT_OF_MEMORY"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shell_quote),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_status),
	    cmocka_unit_test(test_squeue_parse),
	    cmocka_unit_test(test_collect_rows_of_failed_points),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
