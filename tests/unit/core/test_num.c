/* core/num: doubles from outside turned into integers without undefined behaviour. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>

#include <cmocka.h>

#include "core/num.h"

static void test_in_range_truncates(void **state)
{
	(void)state;
	assert_true(num_f64_to_i64(0.0) == 0);
	assert_true(num_f64_to_i64(41.9) == 41);
	assert_true(num_f64_to_i64(-41.9) == -41);
	assert_true(num_f64_to_i64(9007199254740993.0) == 9007199254740992);                /* (the double's value) */
	assert_true(num_f64_to_i64(9223372036854774784.0) == INT64_C(9223372036854774784)); /* largest below 2^63 */
	assert_true(num_f64_to_i64(-9223372036854775808.0) == INT64_MIN);
}

static void test_out_of_range_saturates(void **state)
{
	(void)state;
	assert_true(num_f64_to_i64(9223372036854775808.0) == INT64_MAX);
	assert_true(num_f64_to_i64(1e300) == INT64_MAX);
	assert_true(num_f64_to_i64(INFINITY) == INT64_MAX);
	assert_true(num_f64_to_i64(-1e300) == INT64_MIN);
	assert_true(num_f64_to_i64(-INFINITY) == INT64_MIN);
	assert_true(num_f64_to_i64(NAN) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_range_truncates),
	    cmocka_unit_test(test_out_of_range_saturates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
