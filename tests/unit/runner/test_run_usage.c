/* runner/run_usage: client_usage.json figures and the busy-loop flag. */
#include <math.h>
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
#include <cjson/cJSON.h>

#include "core/wake_calib.h"
#include "runner/run_usage.h"

static struct timeval tv_s(double s)
{
	struct timeval t = {(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6 + 0.5)};
	return t;
}

/* A run of 10 s wall whose loop thread used `loop_s` CPU and the process `self_s`. */
static struct run_usage synthetic(double loop_s, double self_s)
{
	struct run_usage u;
	memset(&u, 0, sizeof u);
	u.start_ns = 1000000000LL;
	u.run_end_ns = u.start_ns + 10000000000LL;
	u.done_ns = u.run_end_ns + 500000000LL;
	u.loop_run_end.ru_utime = tv_s(loop_s * 0.75);
	u.loop_run_end.ru_stime = tv_s(loop_s * 0.25);
	u.self_run_end.ru_utime = tv_s(self_s);
	u.self_done.ru_utime = tv_s(self_s + 0.2);
	u.self_done.ru_maxrss = 12345;
	u.run_end_rss_kb = 6789;
	return u;
}

static cJSON *write_and_read(const struct run_usage *u, uint64_t requests, uint64_t tokens)
{
	char dir[] = "/tmp/vk-usage-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/metrics", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(run_usage_write(u, dir, requests, tokens), 0);
	snprintf(path, sizeof path, "%s/metrics/client_usage.json", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char text[4096];
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	fclose(f);
	remove(path);
	snprintf(path, sizeof path, "%s/metrics", dir);
	rmdir(path);
	rmdir(dir);
	cJSON *j = cJSON_Parse(text);
	assert_non_null(j);
	return j;
}

static double num(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
	assert_non_null(v);
	return v->valuedouble;
}

static void test_figures(void **state)
{
	(void)state;
	struct run_usage u = synthetic(4.0, 5.0);
	assert_true(run_usage_loop_busy(&u) > 0.399 && run_usage_loop_busy(&u) < 0.401);
	cJSON *j = write_and_read(&u, 1000, 64000);
	assert_true(num(j, "run_wall_s") == 10.0);
	assert_true(num(j, "run_cpu_s") == 5.0);
	assert_true(num(j, "run_loop_thread_cpu_s") == 4.0);
	assert_true(num(j, "loop_busy_fraction") == 0.4);
	assert_true(num(j, "run_cpu_us_per_request") == 5000.0);
	assert_true(num(j, "run_cpu_ms_per_1000_output_tokens") == 78.125);
	assert_true(num(j, "outputs_wall_s") == 0.5);
	assert_true(num(j, "outputs_cpu_s") > 0.199 && num(j, "outputs_cpu_s") < 0.201);
	assert_true(num(j, "peak_rss_kb") == 12345);
	assert_true(num(j, "run_end_rss_kb") == 6789);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "client_may_have_limited_load")));
	/* key order is part of the format */
	assert_string_equal(j->child->string, "run_wall_s");
	cJSON_Delete(j);
}

static void test_busy_flag(void **state)
{
	(void)state;
	struct run_usage u = synthetic(9.0, 9.5); /* loop busy 90% of the run */
	cJSON *j = write_and_read(&u, 10, 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "client_may_have_limited_load")));
	assert_true(num(j, "run_cpu_ms_per_1000_output_tokens") == 0.0); /* no tokens: 0, not a division by zero */
	cJSON_Delete(j);
}

/* Polling before dispatches (runtime.dispatch_spin_us) is reported, and left out of the busy
 * fraction and of the per-request and per-token CPU: a spinning loop is not a saturated one. */
static void test_spin_excluded(void **state)
{
	(void)state;
	struct run_usage u = synthetic(9.0, 9.5);
	u.loop_spin_ns = 8000000000LL; /* 8 of the loop's 9 CPU seconds were polling */
	assert_true(run_usage_loop_busy(&u) > 0.099 && run_usage_loop_busy(&u) < 0.101);
	cJSON *j = write_and_read(&u, 1000, 10000);
	assert_true(num(j, "run_loop_spin_s") == 8.0);
	assert_true(num(j, "run_loop_thread_cpu_s") == 9.0);
	assert_true(num(j, "run_cpu_s") == 9.5);
	assert_true(num(j, "loop_busy_fraction") == 0.1);
	assert_true(num(j, "run_cpu_us_per_request") == 1500.0);
	assert_true(num(j, "run_cpu_ms_per_1000_output_tokens") == 150.0);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "client_may_have_limited_load")));
	cJSON_Delete(j);
}

/* The calibrated spin is reported as chosen and measured; an off spin and unmeasured classes are
 * nulls, not zeros; the exact dispatch lateness is written in microseconds. */
static void test_spin_calibration_reported(void **state)
{
	(void)state;
	static struct wake_calib c; /* (large) */
	wake_calib_init(&c, 2000000);
	for (int i = 0; i < 100; i++)
		wake_calib_add(&c, 100000, 30000);
	wake_calib_choose(&c);
	struct run_usage u = synthetic(2.0, 2.5);
	run_usage_set_spin(&u, &c);
	u.lateness_p50_ms = 0.012;
	u.lateness_p99_ms = 0.0875;
	u.lateness_p999_ms = 0.5;
	cJSON *j = write_and_read(&u, 100, 1000);
	assert_true(num(j, "dispatch_spin_max_us") == 2000.0);
	assert_true(num(j, "dispatch_spin_busy_us") == 40.0); /* p99.9 of the naps (30 us) + 10 us */
	/* no long sleep measured yet: the naps' p99.9 stands for theirs (30 + 40 + 10 us) */
	assert_true(num(j, "dispatch_spin_window_us") == 80.0);
	assert_true(num(j, "wake_lateness_short_us_p999") == 30.0);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "wake_lateness_long_us_p999")));
	assert_true(num(j, "wake_samples_short") == 100.0);
	assert_true(num(j, "dispatch_lateness_us_p99") == 87.5);
	assert_true(num(j, "dispatch_lateness_us_p999") == 500.0);
	cJSON_Delete(j);
	run_usage_set_spin(&u, NULL); /* runtime.dispatch_spin_us: 0 */
	u.lateness_p99_ms = NAN;
	j = write_and_read(&u, 100, 1000);
	assert_true(num(j, "dispatch_spin_max_us") == 0.0);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "wake_lateness_short_us_p999")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "dispatch_lateness_us_p99")));
	cJSON_Delete(j);
}

/* Chunk stamps are flagged when at least 0.1% of the reads waited in their socket as long as the
 * run's TBC p90, and only when that is 1 ms or more. */
static void test_late_stamps_flag(void **state)
{
	(void)state;
	struct run_usage u = synthetic(2.0, 2.5);
	u.reads_stamped = 10000;
	u.read_lag_p50_ns = 50000;
	u.read_lag_p99_ns = 7000000; /* 7 ms */
	u.read_lag_max_ns = 30000000;
	u.tbc_p90_s = 0.010;
	u.reads_lagging_tbc = 150; /* 1.5% of the reads waited >= 10 ms */
	assert_true(run_usage_stamps_may_be_late(&u));
	cJSON *j = write_and_read(&u, 100, 1000);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "chunk_stamps_may_be_late")));
	assert_true(num(j, "read_lag_us_p99") == 7000.0);
	assert_true(num(j, "reads_kernel_stamped") == 10000.0);
	assert_true(num(j, "reads_lagging_tbc_p90_share") == 0.015);
	cJSON_Delete(j);
	u.reads_lagging_tbc = 5; /* 0.05%: below the 0.1% that is flagged */
	assert_false(run_usage_stamps_may_be_late(&u));
	j = write_and_read(&u, 100, 1000);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "chunk_stamps_may_be_late")));
	cJSON_Delete(j);
	u.reads_lagging_tbc = 150;
	u.tbc_p90_s = 0.0005; /* chunks sent together by the server: nothing to tell */
	assert_false(run_usage_stamps_may_be_late(&u));
	u.tbc_p90_s = 0.010;
	u.reads_stamped = 0; /* no kernel stamps (TLS, VEEKSHA_RX_STAMPS=0): no lag measured */
	assert_false(run_usage_stamps_may_be_late(&u));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_figures),          cmocka_unit_test(test_busy_flag),
	    cmocka_unit_test(test_spin_excluded),    cmocka_unit_test(test_spin_calibration_reported),
	    cmocka_unit_test(test_late_stamps_flag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
