/* core/wake_calib: given measured wake-ups, the window and busy-poll span chosen for the dispatch
 * spin (docs/CLIENT.md, Dispatch spin). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/wake_calib.h"

#define US INT64_C(1000)

static struct wake_calib calib; /* (large: not on the test's stack) */

static void add_n(struct wake_calib *c, int64_t wait_ns, int64_t late_ns, int n)
{
	for (int i = 0; i < n; i++)
		wake_calib_add(c, wait_ns, late_ns);
}

/* Before any sample the spin is today's fixed one: poll the whole maximum. */
static void test_no_samples_polls_the_maximum(void **state)
{
	(void)state;
	wake_calib_init(&calib, 2000 * US);
	assert_int_equal(calib.window_ns, 2000 * US);
	assert_int_equal(calib.busy_ns, 2000 * US);
	assert_int_equal(calib.nap_ns, WAKE_CALIB_NAP_NS);
	wake_calib_choose(&calib);
	assert_int_equal(calib.window_ns, 2000 * US);
	assert_int_equal(calib.busy_ns, 2000 * US);
	assert_int_equal(calib.p999_ns[WAKE_SHORT], -1);
}

/* A host that wakes on time: a window and a busy span of tens of microseconds. */
static void test_prompt_host_spins_little(void **state)
{
	(void)state;
	wake_calib_init(&calib, 2000 * US);
	add_n(&calib, 100 * US, 5 * US, 600);
	add_n(&calib, 5000 * US, 20 * US, 600);
	wake_calib_choose(&calib);
	assert_int_equal(calib.busy_ns, 5 * US + WAKE_CALIB_MARGIN_NS);
	assert_int_equal(calib.window_ns, 20 * US + calib.busy_ns + WAKE_CALIB_MARGIN_NS);
	assert_int_equal(calib.p50_ns[WAKE_LONG], 20 * US);
}

/* A VM: naps end promptly, sleeps milliseconds late now and then. The busy span follows the naps'
 * tail (its p99.9, not its p99); the window follows the sleeps' tail, capped at the maximum. */
static void test_vm_host_naps_through_the_window(void **state)
{
	(void)state;
	wake_calib_init(&calib, 2000 * US);
	add_n(&calib, 100 * US, 20 * US, 990);
	add_n(&calib, 100 * US, 60 * US, 9);
	add_n(&calib, 100 * US, 150 * US, 1);
	/* 1,000 short samples: the p99.9 (nearest rank 999) is 60 us, the p99 would be 20 us */
	wake_calib_choose(&calib);
	assert_int_equal(calib.p999_ns[WAKE_SHORT], 60 * US);
	assert_int_equal(calib.busy_ns, 60 * US + WAKE_CALIB_MARGIN_NS);
	/* too few long samples: the naps' tail stands for the sleeps' (with the window at the maximum
	 * the loop would never sleep, so no sleep would ever be measured) */
	add_n(&calib, 3000 * US, 4000 * US, WAKE_CALIB_MIN_SAMPLES - 1);
	wake_calib_choose(&calib);
	assert_int_equal(calib.window_ns, 60 * US + calib.busy_ns + WAKE_CALIB_MARGIN_NS);
	/* the 32nd sleep re-chooses at once: the sleeps' p99.9 (4 ms), capped at the maximum */
	add_n(&calib, 3000 * US, 4000 * US, 1);
	assert_int_equal(calib.window_ns, 2000 * US);
	add_n(&calib, 3000 * US, 300 * US, 1000);
	wake_calib_choose(&calib);
	/* the 31 late ones are the top 3% of 1,031: the p99.9 is 4 ms, the window the maximum */
	assert_int_equal(calib.window_ns, 2000 * US);
	add_n(&calib, 3000 * US, 300 * US, WAKE_CALIB_RING);
	wake_calib_choose(&calib);
	/* the ring forgot them: 300 us + busy + margin */
	assert_int_equal(calib.window_ns, 300 * US + calib.busy_ns + WAKE_CALIB_MARGIN_NS);
}

/* Naps that end far more than their length late mean a thread kept off its CPU, which polling
 * does not prevent: the busy span stops at two naps however late they end. */
static void test_busy_capped_at_two_naps(void **state)
{
	(void)state;
	wake_calib_init(&calib, 2000 * US);
	add_n(&calib, 100 * US, 400 * US, 100);
	wake_calib_choose(&calib);
	assert_int_equal(calib.p999_ns[WAKE_SHORT], 400 * US);
	assert_int_equal(calib.busy_ns, WAKE_CALIB_BUSY_CAP_NAPS * WAKE_CALIB_NAP_NS);
	/* a maximum the user chose (runtime.dispatch_spin_us: N) caps it instead */
	wake_calib_set_busy_cap(&calib, 2000 * US);
	wake_calib_choose(&calib);
	assert_int_equal(calib.busy_ns, 400 * US + WAKE_CALIB_MARGIN_NS);
}

/* Inside the window each nap halves the distance to the busy span (a wake-up costs more CPU than a
 * short nap spares), never shorter than nap_ns and never past the busy span. */
static void test_naps_halve_the_distance(void **state)
{
	(void)state;
	wake_calib_init(&calib, 20000 * US);
	assert_int_equal(wake_calib_nap_ns(&calib, 1000 * US), 500 * US);
	assert_int_equal(wake_calib_nap_ns(&calib, 300 * US), 150 * US);
	assert_int_equal(wake_calib_nap_ns(&calib, 150 * US), WAKE_CALIB_NAP_NS);
	assert_int_equal(wake_calib_nap_ns(&calib, 60 * US), 60 * US);
	assert_int_equal(wake_calib_nap_ns(&calib, 0), 0);
	assert_int_equal(wake_calib_nap_ns(&calib, -5 * US), 0);
	/* 1 ms to go, each nap ending 30 us late: 4 naps instead of 10 */
	int naps = 0;
	for (int64_t left = 1000 * US; left > 0; naps++)
		left -= wake_calib_nap_ns(&calib, left) + 30 * US;
	assert_int_equal(naps, 4);
}

/* A host whose naps end more than 0.5 ms late (p99.9) does not wake them promptly at all: the loop
 * polls the 2 ms of old (at most the maximum), and naps again once they are prompt. */
static void test_untrusted_naps_poll_as_before(void **state)
{
	(void)state;
	wake_calib_init(&calib, 20000 * US);
	add_n(&calib, 100 * US, 20 * US, 990);
	add_n(&calib, 100 * US, 1600 * US, 10);
	wake_calib_choose(&calib);
	assert_int_equal(calib.busy_ns, 2000 * US);
	add_n(&calib, 100 * US, 20 * US, WAKE_CALIB_RING);
	wake_calib_choose(&calib);
	assert_int_equal(calib.busy_ns, 20 * US + WAKE_CALIB_MARGIN_NS);
	wake_calib_init(&calib, 1000 * US);
	add_n(&calib, 100 * US, 1600 * US, 100);
	wake_calib_choose(&calib);
	assert_int_equal(calib.busy_ns, 1000 * US);
}

/* The maximum caps both; a maximum below the nap length shortens the nap. */
static void test_maximum_caps(void **state)
{
	(void)state;
	wake_calib_init(&calib, 50 * US);
	assert_int_equal(calib.nap_ns, 50 * US);
	add_n(&calib, 50 * US, 80 * US, 200);
	add_n(&calib, 500 * US, 900 * US, 200);
	wake_calib_choose(&calib);
	assert_int_equal(calib.busy_ns, 50 * US);
	assert_int_equal(calib.window_ns, 50 * US);
}

/* 0 turns the spin off: no samples kept, nothing chosen. */
static void test_zero_is_off(void **state)
{
	(void)state;
	wake_calib_init(&calib, 0);
	add_n(&calib, 100 * US, 10 * US, 100);
	wake_calib_choose(&calib);
	assert_int_equal(calib.window_ns, 0);
	assert_int_equal(calib.busy_ns, 0);
	assert_int_equal(calib.total[WAKE_SHORT], 0);
}

/* The choice follows the samples by itself (every quarter ring), and old samples age out. */
static void test_recalibrates_as_samples_arrive(void **state)
{
	(void)state;
	wake_calib_init(&calib, 2000 * US);
	add_n(&calib, 100 * US, 150 * US, WAKE_CALIB_RING);
	assert_int_equal(calib.busy_ns, 150 * US + WAKE_CALIB_MARGIN_NS);
	add_n(&calib, 100 * US, 10 * US, WAKE_CALIB_RING);
	assert_int_equal(calib.busy_ns, 10 * US + WAKE_CALIB_MARGIN_NS);
	assert_true(calib.choices >= 8);
	/* negative lateness (a clock read before the wait's own) counts as on time */
	add_n(&calib, 100 * US, -5 * US, WAKE_CALIB_RING);
	assert_int_equal(calib.busy_ns, WAKE_CALIB_MARGIN_NS);
}

static void test_class_and_quantile(void **state)
{
	(void)state;
	wake_calib_init(&calib, 2000 * US);
	assert_int_equal(wake_calib_class(&calib, 2 * WAKE_CALIB_NAP_NS), WAKE_SHORT);
	assert_int_equal(wake_calib_class(&calib, 2 * WAKE_CALIB_NAP_NS + 1), WAKE_LONG);
	int64_t v[10] = {9, 1, 8, 2, 7, 3, 6, 4, 5, 10};
	assert_int_equal(wake_calib_quantile(v, 10, 0.5), 5);
	assert_int_equal(wake_calib_quantile(v, 10, 0.9), 9);
	assert_int_equal(wake_calib_quantile(v, 10, 0.999), 10);
	assert_int_equal(wake_calib_quantile(v, 10, 0.0), 1);
	assert_int_equal(wake_calib_quantile(v, 0, 0.5), -1);
}

/* The start-up burst measures real waits on this thread and chooses from them. */
static void test_measure_burst(void **state)
{
	(void)state;
	wake_calib_init(&calib, 2000 * US);
	wake_calib_measure(&calib, WAKE_CALIB_MIN_SAMPLES);
	assert_int_equal(calib.total[WAKE_SHORT], WAKE_CALIB_MIN_SAMPLES);
	assert_true(calib.p50_ns[WAKE_SHORT] >= 0);
	assert_true(calib.busy_ns >= WAKE_CALIB_MARGIN_NS && calib.busy_ns <= 2000 * US);
	/* no long samples yet: the naps' tail stands for theirs */
	assert_int_equal(calib.window_ns, calib.p999_ns[WAKE_SHORT] + calib.busy_ns + WAKE_CALIB_MARGIN_NS > 2000 * US
	                                      ? 2000 * US
	                                      : calib.p999_ns[WAKE_SHORT] + calib.busy_ns + WAKE_CALIB_MARGIN_NS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_samples_polls_the_maximum),
	    cmocka_unit_test(test_prompt_host_spins_little),
	    cmocka_unit_test(test_vm_host_naps_through_the_window),
	    cmocka_unit_test(test_busy_capped_at_two_naps),
	    cmocka_unit_test(test_naps_halve_the_distance),
	    cmocka_unit_test(test_untrusted_naps_poll_as_before),
	    cmocka_unit_test(test_maximum_caps),
	    cmocka_unit_test(test_zero_is_off),
	    cmocka_unit_test(test_recalibrates_as_samples_arrive),
	    cmocka_unit_test(test_class_and_quantile),
	    cmocka_unit_test(test_measure_burst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
