#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define assert_near(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

#include "metrics/pct.h"
#include "core/sketch.h"

static uint64_t rs = 0x9e3779b97f4a7c15ULL;
static double urand(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (double)(rs >> 11) / 9007199254740992.0;
}

/* sketch quantile vs the exact order statistic it targets (index floor(q*(n-1))) */
static void check_against_exact(double *v, size_t n, const struct sketch *s)
{
	double *sorted = malloc(n * sizeof *sorted);
	memcpy(sorted, v, n * sizeof *v);
	pct_sort(sorted, n);
	for (int i = 0; i <= 100; i++) {
		double q = i / 100.0;
		double exact = pct_lower_sorted(sorted, n, q);
		double est = sketch_quantile(s, q);
		if (exact == 0.0)
			assert_true(est == 0.0);
		else
			assert_true(fabs(est - exact) <= 0.001 * fabs(exact) * (1 + 1e-9));
	}
	free(sorted);
}

static void test_random_lognormal(void **state)
{
	(void)state;
	size_t n = 20000;
	double *v = malloc(n * sizeof *v);
	struct sketch s;
	sketch_init(&s, 0.001);
	for (size_t i = 0; i < n; i++) {
		double u1 = urand() + 1e-12, u2 = urand();
		double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
		v[i] = exp(-3.0 + 1.5 * z); /* latencies from ~1e-4 to ~10 s */
		sketch_add(&s, v[i]);
	}
	assert_int_equal(sketch_count(&s), n);
	check_against_exact(v, n, &s);
	free(v);
	sketch_free(&s);
}

static void test_negative_and_zero(void **state)
{
	(void)state;
	double v[] = {-5, -1, -0.5, 0, 0, 0.25, 1, 2, 3, 1000};
	size_t n = sizeof v / sizeof *v;
	struct sketch s;
	sketch_init(&s, 0.001);
	for (size_t i = 0; i < n; i++)
		sketch_add(&s, v[i]);
	check_against_exact(v, n, &s);
	assert_true(isnan(sketch_quantile(&s, 1.5)));
	assert_near(sketch_mean(&s), (-5 - 1 - 0.5 + 0.25 + 1 + 2 + 3 + 1000) / 10.0, 1e-12);
	sketch_free(&s);
	sketch_init(&s, 0.001);
	assert_true(isnan(sketch_quantile(&s, 0.5)));
	assert_near(sketch_mean(&s), 0.0, 0);
	sketch_free(&s);
}

static void test_merge(void **state)
{
	(void)state;
	size_t n = 5000;
	double *v = malloc(2 * n * sizeof *v);
	struct sketch a, b, all;
	sketch_init(&a, 0.001);
	sketch_init(&b, 0.001);
	sketch_init(&all, 0.001);
	for (size_t i = 0; i < 2 * n; i++) {
		v[i] = i < n ? 0.001 + urand() * 0.01 : 5 + urand() * 50; /* disjoint key ranges */
		sketch_add(i < n ? &a : &b, v[i]);
		sketch_add(&all, v[i]);
	}
	assert_true(sketch_merge(&a, &b));
	assert_int_equal(sketch_count(&a), 2 * n);
	for (int i = 0; i <= 100; i++)
		assert_near(sketch_quantile(&a, i / 100.0), sketch_quantile(&all, i / 100.0), 0);
	check_against_exact(v, 2 * n, &a);
	struct sketch c;
	sketch_init(&c, 0.01);
	assert_false(sketch_merge(&a, &c));
	sketch_free(&a);
	sketch_free(&b);
	sketch_free(&all);
	sketch_free(&c);
	free(v);
}

static void test_exact_percentiles(void **state)
{
	(void)state;
	double v[] = {1, 2, 3, 4};
	assert_near(pct_linear_sorted(v, 4, 0.5), 2.5, 0);
	assert_near(pct_linear_sorted(v, 4, 0.9), 3.7, 1e-15);
	assert_near(pct_linear_sorted(v, 4, 0.0), 1, 0);
	assert_near(pct_linear_sorted(v, 4, 1.0), 4, 0);
	assert_near(pct_linear_sorted(v, 4, -1), 1, 0);
	assert_near(pct_lower_sorted(v, 4, 0.5), 2, 0);
	assert_near(pct_median_sorted(v, 4), 2.5, 0);
	assert_near(pct_std_pop(v, 4), sqrt(1.25), 1e-15);
	/* reference slo_results.json: P99 of the run's rounded TTFCs */
	double ttfc[] = {0.02184, 0.02195, 0.02209, 0.02214, 0.02214, 0.0222, 0.02223, 0.02227,
	                 0.02232, 0.02239, 0.02239, 0.02249, 0.02249, 0.0225, 0.02254, 0.02296,
	                 0.02298, 0.02371, 0.024,   0.02407, 0.02428, 0.04852};
	assert_true(pct_interp_sorted(ttfc, 22, 0.99) == 0.043429599999999985);
	assert_true(pct_linear_sorted(ttfc, 22, 0.99) == 0.04342959999999998); /* numpy's lerp branch */
	/* isclose rule */
	assert_true(pct_isclose(0.5, 0.5 + 1e-13, 1e-9, 1e-12));
	assert_false(pct_isclose(0.5, 0.5001, 1e-9, 1e-12));
	assert_false(pct_isclose(INFINITY, 0.5, 1e-9, 1e-12));
}

/* count_at_least: values at or above v, to the sketch's accuracy. */
/* pct_linear_select (one quantile by selection, no sort) gives the bits pct_linear_sorted gives after
 * pct_sort, on runs of equal values (zero gaps), ascending, descending and random arrays; the
 * radix sort (n >= 512) sorts */
static void test_select_matches_sort(void **state)
{
	(void)state;
	srand(11);
	for (int it = 0; it < 3000; it++) {
		size_t n = 1 + (size_t)(rand() % 2500);
		double *v = malloc(n * sizeof *v), *a = malloc(n * sizeof *a);
		int mode = it % 4;
		for (size_t i = 0; i < n; i++)
			v[i] = mode == 0   ? (double)(rand() % 3) * 1e-5
			       : mode == 1 ? (double)rand() / RAND_MAX
			       : mode == 2 ? (double)i
			                   : (double)(n - i) * 0.001;
		double q = it % 3 == 0 ? 0.5 : it % 3 == 1 ? 0.99 : (double)rand() / RAND_MAX;
		memcpy(a, v, n * sizeof *a);
		pct_sort(a, n);
		for (size_t i = 1; i < n; i++)
			assert_true(a[i - 1] <= a[i]);
		double want = pct_linear_sorted(a, n, q);
		memcpy(a, v, n * sizeof *a);
		double got = pct_linear_select(a, n, q);
		assert_memory_equal(&got, &want, sizeof got);
		free(v);
		free(a);
	}
}

static void test_count_at_least(void **state)
{
	(void)state;
	struct sketch s;
	sketch_init(&s, 0.001);
	assert_int_equal(sketch_count_at_least(&s, 1.0), 0); /* empty */
	for (int i = 1; i <= 1000; i++)
		sketch_add(&s, (double)i * 1000.0); /* 1..1000 us in ns */
	sketch_add(&s, 0.0);
	sketch_add(&s, -5.0);
	/* a value 0.1% below v may share v's bucket: 899 us and 999 us do */
	uint64_t n = sketch_count_at_least(&s, 900000.0);
	assert_true(n == 101 || n == 102);
	n = sketch_count_at_least(&s, 1000000.0);
	assert_true(n == 1 || n == 2);
	assert_int_equal(sketch_count_at_least(&s, 1000000.0 * 1.01), 0);
	assert_int_equal(sketch_count_at_least(&s, 2000000.0), 0);
	assert_int_equal(sketch_count_at_least(&s, 0.5), 1000);
	assert_int_equal(sketch_count_at_least(&s, 0.0), 1001); /* zero and up, not the negative */
	sketch_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_lognormal),
	    cmocka_unit_test(test_negative_and_zero),
	    cmocka_unit_test(test_merge),
	    cmocka_unit_test(test_exact_percentiles),
	    cmocka_unit_test(test_select_matches_sort),
	    cmocka_unit_test(test_count_at_least),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
