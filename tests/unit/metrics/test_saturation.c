/* The client-saturation verdict (docs/METRICS.md, Client saturation). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/evaluator.h"

static void test_decide(void **state)
{
	(void)state;
	struct cfg_runtime rt;
	memset(&rt, 0, sizeof rt);
	rt.saturation_busy_fraction = 0.9;
	rt.saturation_lateness_p99_ms = 1.0;
	char why[256];
	/* a few busy ticks and a prompt dispatch: fine */
	assert_false(eval_saturation_decide(0.05, 0.4, &rt, why, sizeof why));
	assert_string_equal(why, "");
	assert_false(eval_saturation_decide(EVAL_SATURATION_BUSY_SHARE, 1.0, &rt, why, sizeof why)); /* at, not above */
	/* no registrations: no lateness to judge */
	assert_false(eval_saturation_decide(0.0, NAN, &rt, why, sizeof why));
	/* busy in more than a tenth of the ticks */
	assert_true(eval_saturation_decide(0.25, 0.4, &rt, why, sizeof why));
	assert_non_null(strstr(why, "busy above 90% in 25% of the run's 250 ms ticks"));
	assert_null(strstr(why, "lateness"));
	/* late dispatches */
	assert_true(eval_saturation_decide(0.0, 3.5, &rt, why, sizeof why));
	assert_string_equal(why, "dispatch lateness p99 3.50 ms > 1.00 ms");
	/* both, both named */
	assert_true(eval_saturation_decide(0.5, 3.5, &rt, why, sizeof why));
	assert_non_null(strstr(why, "ticks; dispatch lateness p99 3.50 ms"));
	/* the thresholds are the configuration's */
	rt.saturation_lateness_p99_ms = 50.0;
	assert_false(eval_saturation_decide(0.0, 3.5, &rt, why, sizeof why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_decide)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
