/* The microbenchmarks' reader of request_level_metrics.jsonl takes successful rows only: a failed
 * row ("success": false, docs/OUTPUTS.md) has no latencies and must not enter their statistics; it
 * is counted (n_failed, first_error), so the microbenchmark can fail on it (docs/META.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "meta/mb_rows.h"

static void test_failed_rows_skipped(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/vk_mb_rows_XXXXXX";
	char *parent = mkdtemp(tmpl);
	assert_non_null(parent);
	char p[512];
	snprintf(p, sizeof p, "%s/run1", parent);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/run1/metrics", parent);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/run1/metrics/request_level_metrics.jsonl", parent);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs("{\"request_id\": 0, \"scheduler_dispatched_at\": 0.1, \"client_picked_up_at\": 0.11, "
	      "\"client_completed_at\": 0.2, \"num_delta_prompt_tokens\": 10, \"num_output_tokens\": 4, "
	      "\"is_stream\": true, \"tpot\": 0.01, \"ttfc\": 0.05, \"end_to_end_latency\": 0.09}\n"
	      "{\"request_id\": 1, \"scheduler_dispatched_at\": 0.2, \"client_picked_up_at\": 0.21, "
	      "\"client_completed_at\": 0.22, \"num_delta_prompt_tokens\": 10, \"num_output_tokens\": 0, "
	      "\"is_stream\": true, \"success\": false, \"error_class\": \"http\", \"error_code\": 500, "
	      "\"error_msg\": \"internal error\"}\n",
	      f);
	fclose(f);
	struct mb_rows rows;
	assert_int_equal(mb_rows_load(parent, &rows), 0);
	assert_int_equal(rows.n, 1);
	assert_int_equal(rows.n_failed, 1); /* left out of the statistics, but counted */
	assert_string_equal(rows.first_error, "http 500: internal error");
	assert_int_equal(rows.v[0].request_id, 0);
	assert_true(rows.v[0].ttfc_s == 0.05);
	mb_rows_free(&rows);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "/bin/rm -rf '%s'", parent);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_failed_rows_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
