/* Shard identity from flags and the launcher's environment (docs/DISTRIBUTED.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"
#include "runner/shard.h"

static const char *const shard_env_names[] = {"SLURM_STEP_NUM_TASKS", "SLURM_PROCID",         "SLURM_ARRAY_TASK_COUNT",
                                              "SLURM_ARRAY_TASK_ID",  "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_JOB_ID",
                                              "SLURM_JOB_ID",         "SLURM_STEP_ID",        "JOB_COMPLETION_INDEX",
                                              "VEEKSHA_SHARD_COUNT",  "SLURM_NTASKS",         "SLURM_ARRAY_TASK_MAX"};

static int clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof shard_env_names / sizeof shard_env_names[0]; i++)
		unsetenv(shard_env_names[i]);
	return 0;
}

static void test_parse(void **state)
{
	(void)state;
	uint32_t k = 9, n = 9;
	assert_int_equal(shard_parse("0/1", &k, &n), 0);
	assert_int_equal(k, 0);
	assert_int_equal(n, 1);
	assert_int_equal(shard_parse("3/4", &k, &n), 0);
	assert_int_equal(k, 3);
	assert_int_equal(n, 4);
	const char *bad[] = {"4/4", "1/0", "-1/2", "1/-2", "1", "/2", "1/", "a/b", "1/2x", "1 /2", "", "0/70000"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(shard_parse(bad[i], &k, &n), -1);
	assert_int_equal(shard_parse(NULL, &k, &n), -1);
}

static void test_flags(void **state)
{
	(void)state;
	struct cfg_run_opts o = {0};
	struct runner_shard sh;
	char err[512];
	/* nothing: not sharded */
	assert_int_equal(shard_resolve(&o, "out", &sh, err, sizeof err), 0);
	assert_int_equal(sh.count, 1);
	assert_null(sh.rendezvous_dir);
	/* --shard needs a common start */
	o.shard = "1/3";
	assert_int_equal(shard_resolve(&o, "out", &sh, err, sizeof err), -1);
	assert_non_null(strstr(err, "--start-at"));
	o.start_at_s = 1800000000.5;
	assert_int_equal(shard_resolve(&o, "out", &sh, err, sizeof err), 0);
	assert_int_equal(sh.index, 1);
	assert_int_equal(sh.count, 3);
	assert_true(sh.start_epoch_ns == INT64_C(1800000000500000000));
	shard_free(&sh);
	o.start_at_s = 0;
	o.rendezvous = "/shared/rdv";
	assert_int_equal(shard_resolve(&o, "out", &sh, err, sizeof err), 0);
	assert_string_equal(sh.rendezvous_dir, "/shared/rdv");
	shard_free(&sh);
	o.shard = "3/3";
	assert_int_equal(shard_resolve(&o, "out", &sh, err, sizeof err), -1);
	assert_non_null(strstr(err, "K/N"));
}

static void test_srun_env(void **state)
{
	(void)state;
	struct cfg_run_opts o = {0};
	struct runner_shard sh;
	char err[512];
	setenv("SLURM_STEP_NUM_TASKS", "4", 1);
	setenv("SLURM_PROCID", "2", 1);
	setenv("SLURM_JOB_ID", "77", 1);
	setenv("SLURM_STEP_ID", "1", 1);
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), 0);
	assert_int_equal(sh.index, 2);
	assert_int_equal(sh.count, 4);
	assert_string_equal(sh.source, "srun");
	assert_string_equal(sh.rendezvous_dir, "/o/.rendezvous/slurm-77.1"); /* one per job step */
	shard_free(&sh);
	/* --shard off wins over the environment; so does an explicit --shard */
	o.shard = "off";
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), 0);
	assert_int_equal(sh.count, 1);
	o.shard = "0/1";
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), 0);
	assert_int_equal(sh.count, 1);
	o.shard = NULL;
	/* a batch script: SLURM_NTASKS without a step is not a shard */
	clear_env(NULL);
	setenv("SLURM_NTASKS", "4", 1);
	setenv("SLURM_PROCID", "0", 1);
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), 0);
	assert_int_equal(sh.count, 1);
	/* a bad value is an error that names the variable */
	clear_env(NULL);
	setenv("SLURM_STEP_NUM_TASKS", "two", 1);
	setenv("SLURM_PROCID", "0", 1);
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), -1);
	assert_non_null(strstr(err, "SLURM_STEP_NUM_TASKS"));
}

static void test_array_and_k8s_env(void **state)
{
	(void)state;
	struct cfg_run_opts o = {0};
	struct runner_shard sh;
	char err[512];
	setenv("SLURM_ARRAY_TASK_COUNT", "3", 1);
	setenv("SLURM_ARRAY_TASK_ID", "6", 1);
	setenv("SLURM_ARRAY_TASK_MIN", "5", 1);
	setenv("SLURM_ARRAY_JOB_ID", "900", 1);
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), 0);
	assert_int_equal(sh.index, 1);
	assert_int_equal(sh.count, 3);
	assert_string_equal(sh.rendezvous_dir, "/o/.rendezvous/slurm-900");
	shard_free(&sh);
	/* an array task of a sweep (--sweep-point) runs one point, not a shard */
	o.has_sweep_point = true;
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), 0);
	assert_int_equal(sh.count, 1);
	o.has_sweep_point = false;
	setenv("SLURM_ARRAY_TASK_ID", "9", 1); /* outside min + count */
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), -1);
	/* an array with gaps (what sbatch sets for --array=1,3,5 and --array=0-6:2): task 3 is not
	 * shard 2 of 3, whichever task asks */
	static const char *const gaps[][4] = {{"1", "3", "5", "3"}, {"1", "3", "5", "1"}, {"0", "4", "6", "2"}};
	for (size_t i = 0; i < 3; i++) {
		setenv("SLURM_ARRAY_TASK_MIN", gaps[i][0], 1);
		setenv("SLURM_ARRAY_TASK_COUNT", gaps[i][1], 1);
		setenv("SLURM_ARRAY_TASK_MAX", gaps[i][2], 1);
		setenv("SLURM_ARRAY_TASK_ID", gaps[i][3], 1);
		assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), -1);
		assert_non_null(strstr(err, "not contiguous"));
	}
	/* contiguous, with MAX set as sbatch sets it */
	setenv("SLURM_ARRAY_TASK_MIN", "5", 1);
	setenv("SLURM_ARRAY_TASK_COUNT", "3", 1);
	setenv("SLURM_ARRAY_TASK_MAX", "7", 1);
	setenv("SLURM_ARRAY_TASK_ID", "7", 1);
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), 0);
	assert_int_equal(sh.index, 2);
	shard_free(&sh);
	clear_env(NULL);
	setenv("JOB_COMPLETION_INDEX", "2", 1);
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), -1);
	assert_non_null(strstr(err, "--shard-count"));
	o.shard_count = 4;
	o.rendezvous = "/mnt/rdv";
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), 0);
	assert_int_equal(sh.index, 2);
	assert_int_equal(sh.count, 4);
	assert_string_equal(sh.source, "kubernetes");
	shard_free(&sh);
	o.shard_count = 0;
	setenv("VEEKSHA_SHARD_COUNT", "2", 1);
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), -1); /* index 2 of 2 */
}

/* A shard count without an index (a Kubernetes Job without completionMode: Indexed sets no
 * JOB_COMPLETION_INDEX) is an error: before, every pod ran the whole workload as a complete run of
 * its own (4 pods: 4 times the load, 4 verdicts). A count that contradicts the index is one too. */
static void test_count_without_index(void **state)
{
	(void)state;
	struct cfg_run_opts o = {0};
	struct runner_shard sh;
	char err[512];
	o.shard_count = 4;
	o.start_at_s = 1800000000;
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), -1);
	assert_non_null(strstr(err, "--shard-count is 4 but no shard index"));
	assert_non_null(strstr(err, "completionMode: Indexed"));
	setenv("VEEKSHA_SHARD_COUNT", "4", 1);
	o.shard_count = 0;
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), -1);
	assert_non_null(strstr(err, "VEEKSHA_SHARD_COUNT is 4"));
	unsetenv("VEEKSHA_SHARD_COUNT");
	/* a count of 1 is one whole run; --shard off is one too */
	o.shard_count = 1;
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), 0);
	assert_int_equal(sh.count, 1);
	shard_free(&sh);
	o.shard_count = 4;
	o.shard = "off";
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), 0);
	shard_free(&sh);
	/* counts that disagree: --shard, srun */
	o.shard = "0/2";
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), -1);
	assert_non_null(strstr(err, "must agree"));
	o.shard = NULL;
	setenv("SLURM_STEP_NUM_TASKS", "2", 1);
	setenv("SLURM_PROCID", "1", 1);
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), -1);
	o.shard_count = 2;
	assert_int_equal(shard_resolve(&o, "/o", &sh, err, sizeof err), 0);
	assert_int_equal(sh.index, 1);
	shard_free(&sh);
}

/* Shards given different counts on one rendezvous directory (--shard 0/2 and --shard 1/3) each
 * waited out the whole timeout for shards that never come (600 s by default), then named a missing
 * shard; now the first one to see the other's file stops at once and names it. */
static void test_rendezvous_other_count(void **state)
{
	(void)state;
	char dir[] = "/tmp/vk-shard-rdv.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char p[128];
	snprintf(p, sizeof p, "%s/hello-0-of-3.json", dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("{\"index\": 0, \"count\": 3, \"epoch_ns\": 1, \"config_sha\": \"abc\"}", f);
	fclose(f);
	struct runner_shard sh = {.index = 1, .count = 2, .source = "--shard", .timeout_s = 20};
	sh.rendezvous_dir = strdup(dir);
	char err[512] = "";
	int64_t epoch = 0;
	int64_t t0 = clock_mono_ns();
	assert_int_equal(shard_hello(&sh, "abc", &epoch, err, sizeof err), -1);
	assert_true(clock_mono_ns() - t0 < INT64_C(10000000000)); /* not the 20 s timeout */
	assert_non_null(strstr(err, "hello-0-of-3.json is shard 0 of 3"));
	assert_non_null(strstr(err, "different counts"));
	shard_free(&sh);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_epoch_to_mono(void **state)
{
	(void)state;
	int64_t real = clock_real_ns(), mono = clock_mono_ns();
	int64_t m = shard_epoch_to_mono_ns(real + INT64_C(5000000000));
	/* five seconds from now on the monotonic clock, within what two clock reads can differ by */
	assert_true(m - (mono + INT64_C(5000000000)) < INT64_C(50000000));
	assert_true(m - (mono + INT64_C(5000000000)) > -INT64_C(50000000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_parse, clear_env),
	    cmocka_unit_test_setup(test_flags, clear_env),
	    cmocka_unit_test_setup(test_srun_env, clear_env),
	    cmocka_unit_test_setup(test_array_and_k8s_env, clear_env),
	    cmocka_unit_test_setup(test_count_without_index, clear_env),
	    cmocka_unit_test_setup(test_rendezvous_other_count, clear_env),
	    cmocka_unit_test_setup(test_epoch_to_mono, clear_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
