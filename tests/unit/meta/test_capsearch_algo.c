#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "meta/capsearch_algo.h"

struct probe_ctx {
	double threshold; /* pass iff value <= threshold */
	int calls;
};

static int probe_threshold(void *ctx, double v)
{
	struct probe_ctx *c = ctx;
	c->calls++;
	return v <= c->threshold + 1e-9 ? 1 : 0;
}

static void assert_no_repeats(const struct capsearch_result *r)
{
	for (size_t i = 0; i < r->n_history; i++)
		for (size_t j = i + 1; j < r->n_history; j++)
			assert_true(r->values[i] != r->values[j]);
}

static void test_integer_search_finds_threshold(void **state)
{
	(void)state;
	struct capsearch_params p = {.start_value = 2,
	                             .max_value = 20,
	                             .expansion_factor = 2,
	                             .max_iterations = 20,
	                             .precision = 2,
	                             .integer_domain = true};
	struct probe_ctx c = {.threshold = 10};
	struct capsearch_result r;
	char err[128];
	assert_int_equal(capsearch_run(&p, probe_threshold, &c, &r, err, sizeof err), 0);
	assert_true(r.found);
	assert_true(r.best_value == 10);
	assert_true(r.iterations_run < 20);
	assert_no_repeats(&r);
}

static void test_float_search_precision(void **state)
{
	(void)state;
	struct capsearch_params p = {.start_value = 1,
	                             .max_value = 100,
	                             .expansion_factor = 2,
	                             .max_iterations = 40,
	                             .precision = 1,
	                             .integer_domain = false};
	struct probe_ctx c = {.threshold = 5.55};
	struct capsearch_result r;
	char err[128];
	assert_int_equal(capsearch_run(&p, probe_threshold, &c, &r, err, sizeof err), 0);
	assert_true(r.found);
	assert_true(r.best_value > 5.49 && r.best_value < 5.51);
	assert_no_repeats(&r);
}

/* Reference example: pass <= 3, start 1, max 5 -> reference probes 1, 2, 4, 3, 4 (5 iterations);
 * we probe 1, 2, 4, 3 and never repeat 4. */
static void test_no_retest_of_first_failure(void **state)
{
	(void)state;
	struct capsearch_params p = {.start_value = 1,
	                             .max_value = 5,
	                             .expansion_factor = 2,
	                             .max_iterations = 20,
	                             .precision = 2,
	                             .integer_domain = true};
	struct probe_ctx c = {.threshold = 3};
	struct capsearch_result r;
	char err[128];
	assert_int_equal(capsearch_run(&p, probe_threshold, &c, &r, err, sizeof err), 0);
	assert_true(r.best_value == 3);
	assert_int_equal(r.n_history, 4);
	assert_true(r.values[0] == 1 && r.values[1] == 2 && r.values[2] == 4 && r.values[3] == 3);
	assert_no_repeats(&r);
}

/* Exhaustive check: for every threshold in range the search equals a scan, with no repeats and no
 * more probes than the reference algorithm would use (phase 1 + bisection inclusive of the failure). */
static void test_matches_exhaustive_scan(void **state)
{
	(void)state;
	for (int thr = 0; thr <= 70; thr++) {
		struct capsearch_params p = {.start_value = 1,
		                             .max_value = 64,
		                             .expansion_factor = 2,
		                             .max_iterations = 30,
		                             .precision = 0,
		                             .integer_domain = true};
		struct probe_ctx c = {.threshold = thr};
		struct capsearch_result r;
		char err[128];
		assert_int_equal(capsearch_run(&p, probe_threshold, &c, &r, err, sizeof err), 0);
		int expect = thr > 64 ? 64 : thr;
		if (expect < 1) {
			assert_false(r.found);
		} else {
			assert_true(r.found);
			assert_int_equal((int)r.best_value, expect);
		}
		assert_no_repeats(&r);
		assert_true(r.iterations_run <= 14);
	}
}

static void test_first_probe_fails(void **state)
{
	(void)state;
	struct capsearch_params p = {.start_value = 4,
	                             .max_value = 64,
	                             .expansion_factor = 2,
	                             .max_iterations = 10,
	                             .precision = 2,
	                             .integer_domain = true};
	struct probe_ctx c = {.threshold = 1};
	struct capsearch_result r;
	char err[128];
	assert_int_equal(capsearch_run(&p, probe_threshold, &c, &r, err, sizeof err), 0);
	assert_false(r.found);
	assert_int_equal(r.iterations_run, 1);
}

static void test_validation(void **state)
{
	(void)state;
	struct capsearch_params p = {
	    .start_value = 0, .max_value = 5, .expansion_factor = 2, .max_iterations = 5, .integer_domain = true};
	struct probe_ctx c = {.threshold = 3};
	struct capsearch_result r;
	char err[256];
	assert_int_equal(capsearch_run(&p, probe_threshold, &c, &r, err, sizeof err), -1);
	p.start_value = 1;
	p.expansion_factor = 1;
	assert_int_equal(capsearch_run(&p, probe_threshold, &c, &r, err, sizeof err), -1);
	assert_int_equal(c.calls, 0);
}

static void test_budget_limits_iterations(void **state)
{
	(void)state;
	struct capsearch_params p = {.start_value = 1,
	                             .max_value = 1000,
	                             .expansion_factor = 2,
	                             .max_iterations = 3,
	                             .precision = 2,
	                             .integer_domain = true};
	struct probe_ctx c = {.threshold = 500};
	struct capsearch_result r;
	char err[128];
	assert_int_equal(capsearch_run(&p, probe_threshold, &c, &r, err, sizeof err), 0);
	assert_int_equal(r.iterations_run, 3);
	assert_true(r.best_value == 4);
	/* 1, 2, 4 passed and nothing failed: 4 is only a lower bound, values up to 1000 untested */
	assert_true(r.budget_exhausted);
	assert_true(r.untested_up_to == 1000);
}

/* A bisection cut by max_iterations: the capacity lies between the best value and the highest
 * untested one; a search that ran to its end, or stopped at max_value, is not marked. */
static void test_budget_marks_open_bracket(void **state)
{
	(void)state;
	struct capsearch_params p = {.start_value = 1,
	                             .max_value = 1000,
	                             .expansion_factor = 2,
	                             .max_iterations = 6,
	                             .precision = 2,
	                             .integer_domain = true};
	struct probe_ctx c = {.threshold = 10};
	struct capsearch_result r;
	char err[128];
	/* 1, 2, 4, 8 pass, 16 fails, 12 fails: (8, 12) still open */
	assert_int_equal(capsearch_run(&p, probe_threshold, &c, &r, err, sizeof err), 0);
	assert_true(r.best_value == 8);
	assert_true(r.budget_exhausted);
	assert_true(r.untested_up_to == 11);
	p.max_iterations = 20;
	c.calls = 0;
	assert_int_equal(capsearch_run(&p, probe_threshold, &c, &r, err, sizeof err), 0);
	assert_true(r.best_value == 10);
	assert_false(r.budget_exhausted);
	p.max_value = 8; /* every probe passes up to max_value: the search is complete */
	assert_int_equal(capsearch_run(&p, probe_threshold, &c, &r, err, sizeof err), 0);
	assert_true(r.best_value == 8);
	assert_false(r.budget_exhausted);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_integer_search_finds_threshold),
	    cmocka_unit_test(test_float_search_precision),
	    cmocka_unit_test(test_no_retest_of_first_failure),
	    cmocka_unit_test(test_matches_exhaustive_scan),
	    cmocka_unit_test(test_first_probe_fails),
	    cmocka_unit_test(test_validation),
	    cmocka_unit_test(test_budget_limits_iterations),
	    cmocka_unit_test(test_budget_marks_open_bracket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
