/* server_env_seconds: the tuning variables of server management (docs/SERVERS.md, Environment
 * variables). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/clock.h"
#include "server/server_env.h"
#include "unit/stderr_capture.h"

#define VAR "VEEKSHA_TEST_ENV_SECONDS"

/* server_env_seconds(VAR, dflt) with VAR set to value (NULL: unset); *warned: what it wrote to
 * stderr */
static double seconds_with(const char *value, double dflt, char *warned, size_t cap)
{
	if (value)
		assert_int_equal(setenv(VAR, value, 1), 0);
	else
		assert_int_equal(unsetenv(VAR), 0);
	struct stderr_capture c;
	stderr_capture_begin(&c);
	double got = server_env_seconds(VAR, dflt);
	stderr_capture_end(&c, warned, cap);
	return got;
}

static void test_valid_values(void **state)
{
	(void)state;
	char warned[512];
	assert_true(seconds_with(NULL, 30.0, warned, sizeof warned) == 30.0);
	assert_string_equal(warned, "");
	assert_true(seconds_with("", 30.0, warned, sizeof warned) == 30.0);
	assert_string_equal(warned, "");
	assert_true(seconds_with("0.2", 3.0, warned, sizeof warned) == 0.2);
	assert_string_equal(warned, "");
	assert_true(seconds_with("0", 300.0, warned, sizeof warned) == 0.0);
	assert_string_equal(warned, "");
	/* past the int64 ns range: ~10 years, without a warning (docs/SERVERS.md) */
	assert_true(seconds_with("1e10", 30.0, warned, sizeof warned) == CLOCK_SPAN_MAX_S);
	assert_string_equal(warned, "");
	assert_true(seconds_with("1e300", 30.0, warned, sizeof warned) == CLOCK_SPAN_MAX_S);
	assert_true(seconds_with("86400", 30.0, warned, sizeof warned) == 86400.0);
}

static void test_invalid_values_warn_and_keep_the_default(void **state)
{
	(void)state;
	const char *bad[] = {"3O", "-1", "inf", "nan", "1s"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char warned[512];
		assert_true(seconds_with(bad[i], 30.0, warned, sizeof warned) == 30.0);
		assert_non_null(strstr(warned, VAR));
		char quoted[32];
		snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
		assert_non_null(strstr(warned, quoted));
	}
	unsetenv(VAR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_values),
	    cmocka_unit_test(test_invalid_values_warn_and_keep_the_default),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
