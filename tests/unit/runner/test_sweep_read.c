/* runner/sweep_summary: metrics files are read back with Python's non-finite tokens (Infinity, NaN),
 * as slo_results.json carries them when errored requests make a percentile infinite. */
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

#include "runner/sweep_summary.h"

static char run_dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(run_dir, sizeof run_dir, "/tmp/vk-sweep-read.XXXXXX");
	if (!mkdtemp(run_dir))
		return -1;
	char p[128];
	snprintf(p, sizeof p, "%s/metrics", run_dir);
	return mkdir(p, 0755);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", run_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *name, const char *text)
{
	char p[160];
	snprintf(p, sizeof p, "%s/metrics/%s", run_dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_nonfinite_tokens(void **state)
{
	(void)state;
	put("slo_results.json", "{\"all_slos_met\": false, \"results\": [{\"observed_value\": Infinity, "
	                        "\"low\": -Infinity, \"nan\": NaN, \"name\": \"P99 Infinity NaN \\\"Infinity\\\"\"}]}");
	cJSON *j = sweep_read_metrics_json(run_dir, "slo_results.json");
	assert_non_null(j);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "all_slos_met")));
	const cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "results"), 0);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "observed_value");
	assert_true(cJSON_IsNumber(v) && isinf(v->valuedouble) && v->valuedouble > 0);
	v = cJSON_GetObjectItemCaseSensitive(r, "low");
	assert_true(cJSON_IsNumber(v) && isinf(v->valuedouble) && v->valuedouble < 0);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "nan")));
	/* strings are left alone, escaped quotes included */
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(r, "name")->valuestring, "P99 Infinity NaN \"Infinity\"");
	cJSON_Delete(j);
}

static void test_missing_and_broken(void **state)
{
	(void)state;
	assert_null(sweep_read_metrics_json(run_dir, "absent.json"));
	assert_null(sweep_read_metrics_json(NULL, "slo_results.json"));
	put("broken.json", "{\"a\": Infinit}");
	assert_null(sweep_read_metrics_json(run_dir, "broken.json"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nonfinite_tokens),
	    cmocka_unit_test(test_missing_and_broken),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
