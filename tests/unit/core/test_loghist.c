/* core/loghist: exact below 8, within 6.25% above, quantiles by rank, never above the maximum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/loghist.h"

static void test_small_values_exact(void **state)
{
	(void)state;
	struct loghist h;
	memset(&h, 0, sizeof h);
	assert_int_equal(loghist_quantile(&h, 0.5), 0); /* empty */
	for (int v = 0; v < 8; v++)
		loghist_add(&h, v);
	assert_int_equal(h.n, 8);
	assert_int_equal(loghist_quantile(&h, 0.0), 0);
	assert_int_equal(loghist_quantile(&h, 0.5), 3); /* rank 4 of 0..7 */
	assert_int_equal(loghist_quantile(&h, 1.0), 7);
	loghist_add(&h, -5); /* counts as 0 */
	assert_int_equal(h.n, 9);
	assert_int_equal(loghist_quantile(&h, 0.0), 0);
}

static void test_relative_error_and_max(void **state)
{
	(void)state;
	/* every single value comes back within 6.25% (and never above itself as the maximum) */
	uint64_t seed = 42;
	for (int i = 0; i < 20000; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		int64_t v = (int64_t)(seed >> (1 + (seed & 31)));
		struct loghist h;
		memset(&h, 0, sizeof h);
		loghist_add(&h, v);
		int64_t q = loghist_quantile(&h, 0.5);
		assert_true(q <= v);
		assert_true((double)(v - q) <= 0.0625 * (double)v + 0.5);
	}
	/* the largest int64_t fits */
	struct loghist big;
	memset(&big, 0, sizeof big);
	loghist_add(&big, INT64_MAX);
	assert_int_equal(big.max, INT64_MAX);
	int64_t top = loghist_quantile(&big, 1.0);
	assert_true(top <= INT64_MAX && (double)(INT64_MAX - top) <= 0.0625 * (double)INT64_MAX);
}

static void test_quantiles_by_rank(void **state)
{
	(void)state;
	struct loghist h;
	memset(&h, 0, sizeof h);
	/* 1,000 values 1..1000 us in ns: p50 ~500 us, p99 ~990 us */
	for (int i = 1; i <= 1000; i++)
		loghist_add(&h, (int64_t)i * 1000);
	int64_t p50 = loghist_quantile(&h, 0.5), p99 = loghist_quantile(&h, 0.99);
	assert_true(p50 >= 470000 && p50 <= 530000);
	assert_true(p99 >= 930000 && p99 <= 1000000);
	assert_int_equal(h.max, 1000000);
	assert_true(loghist_quantile(&h, 1.0) <= h.max);
	/* one outlier moves the maximum, not the p50 */
	loghist_add(&h, 5000000000LL);
	assert_int_equal(h.max, 5000000000LL);
	assert_true(loghist_quantile(&h, 0.5) >= 470000 && loghist_quantile(&h, 0.5) <= 530000);
}

static void test_count_at_least(void **state)
{
	(void)state;
	struct loghist h;
	memset(&h, 0, sizeof h);
	for (int i = 1; i <= 1000; i++)
		loghist_add(&h, (int64_t)i * 1000); /* 1..1000 us */
	assert_int_equal(loghist_count_at_least(&h, 0), 1000);
	assert_int_equal(loghist_count_at_least(&h, 2000000), 0);
	uint64_t n = loghist_count_at_least(&h, 900000); /* ~101 values >= 900 us */
	assert_true(n >= 60 && n <= 140);
	assert_int_equal(loghist_count_at_least(&h, 5), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_values_exact),
		cmocka_unit_test(test_relative_error_and_max),
		cmocka_unit_test(test_quantiles_by_rank),
		cmocka_unit_test(test_count_at_least),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
