/* core/clock: clock_s_to_ns rounds exactly as llround(s * 1e9) does, for every value it can meet
 * (the evaluator's time series depends on it to put each chunk back at its exact ns). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "core/clock.h"

static void check(double s)
{
	int64_t want = (int64_t)llround(s * 1e9), got = clock_s_to_ns(s);
	if (want != got)
		fail_msg("clock_s_to_ns(%.17g) = %lld, llround gives %lld", s, (long long)got, (long long)want);
}

/* Ties (exact halves), the largest double below a half, both signs, the 2^52 and 2^53 edges, and
 * values whose product with 1e9 lands next to a half. */
static void test_s_to_ns_edges(void **state)
{
	(void)state;
	double ys[] = {0.0,
	               -0.0,
	               0.5,
	               -0.5,
	               1.5,
	               -1.5,
	               2.5,
	               -2.5,
	               0.49999999999999994,
	               -0.49999999999999994,
	               4503599627370495.5,
	               -4503599627370495.5,
	               4503599627370496.0,
	               9007199254740991.0,
	               9007199254740992.0,
	               -9007199254740992.0,
	               1e17,
	               -1e17,
	               9.2e18};
	for (size_t i = 0; i < sizeof ys / sizeof ys[0]; i++) {
		check(ys[i] / 1e9);
		check(nextafter(ys[i] / 1e9, INFINITY));
		check(nextafter(ys[i] / 1e9, -INFINITY));
	}
	for (int64_t ns = -3000; ns <= 3000; ns++) {
		check((double)ns / 1e9);
		check(((double)ns + 0.5) / 1e9);
	}
}

/* Random bit patterns over the exponents a latency can have (1e-12 s .. 1e9 s), both signs. */
static void test_s_to_ns_random(void **state)
{
	(void)state;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 2000000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		double m = (double)(x >> 11) / 9007199254740992.0; /* [0, 1) */
		double s = ldexp(0.5 + m / 2, (int)(x % 72) - 40) * ((x >> 7) & 1 ? -1 : 1);
		check(s);
	}
}

/* A configured duration past the int64 ns range is held at ~10 years (now + it cannot overflow);
 * ordinary ones convert exactly. */
static void test_span_s_to_ns(void **state)
{
	(void)state;
	const int64_t max_ns = clock_s_to_ns(CLOCK_SPAN_MAX_S);
	assert_true(max_ns > 0 && max_ns < INT64_MAX / 2);
	assert_int_equal(clock_span_s_to_ns(300.0), 300000000000LL);
	assert_int_equal(clock_span_s_to_ns(-1.5), -1500000000LL);
	assert_int_equal(clock_span_s_to_ns(9223372036854775807.0), max_ns);
	assert_int_equal(clock_span_s_to_ns(1e10), max_ns);
	assert_int_equal(clock_span_s_to_ns(INFINITY), max_ns);
	assert_int_equal(clock_span_s_to_ns(-1e300), -max_ns);
	assert_int_equal(clock_span_s_to_ns(NAN), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_s_to_ns_edges),
	    cmocka_unit_test(test_s_to_ns_random),
	    cmocka_unit_test(test_span_s_to_ns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
