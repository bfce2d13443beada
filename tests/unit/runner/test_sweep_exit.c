/* runner/sweep: the exit code of a sweep is its worst run's, where a run that could not measure
 * (1, 2) or was stopped by a signal is worse than one that missed its SLOs (3): a sweep with a
 * truncated run and a run that missed its SLOs exits 1, not 3 (docs/META.md, Sweeps). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "runner/sweep.h"

static void test_worse_exit(void **state)
{
	(void)state;
	assert_int_equal(sweep_exit_worse(0, 0), 0);
	assert_int_equal(sweep_exit_worse(0, 3), 3);
	/* a truncated run (1) and a run with missed SLOs (3), in either order */
	assert_int_equal(sweep_exit_worse(1, 3), 1);
	assert_int_equal(sweep_exit_worse(3, 1), 1);
	assert_int_equal(sweep_exit_worse(3, 2), 2);
	assert_int_equal(sweep_exit_worse(1, 2), 2);
	/* a signal wins */
	assert_int_equal(sweep_exit_worse(1, 130), 130);
	assert_int_equal(sweep_exit_worse(143, 3), 143);
	assert_int_equal(sweep_exit_worse(130, 143), 143);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_worse_exit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
