/* core/u64map: against a reference array under random puts and deletes; churn keeps it small. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/u64map.h"

/* A value wider than a word, as the traffic scheduler stores (session, node). */
struct val {
	void *ptr;
	uint32_t node;
};

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

#define N_KEYS 3000

/* Keys: consecutive ids, multiples of a large power of two (same low bits) and random ones. */
static uint64_t key_of(size_t i)
{
	if (i < 1000)
		return 1000000 + i;
	if (i < 2000)
		return (uint64_t)(i - 1000) << 40;
	return 0x9e3779b97f4a7c15ULL * (i + 1);
}

static void test_u64map_reference(void **state)
{
	(void)state;
	static bool present[N_KEYS];
	static struct val want[N_KEYS];
	struct u64map m;
	u64map_init(&m, sizeof(struct val));
	assert_null(u64map_get(&m, 1));
	assert_false(u64map_del(&m, 1, NULL));
	size_t n = 0;
	for (int step = 0; step < 200000; step++) {
		size_t i = (size_t)(rnd() % N_KEYS);
		uint64_t k = key_of(i);
		unsigned op = (unsigned)(rnd() % 3);
		if (op < 2) {
			struct val v = {.ptr = &present[i], .node = (uint32_t)rnd()};
			struct val *stored = u64map_put(&m, k, &v);
			assert_memory_equal(stored, &v, sizeof v);
			n += !present[i];
			present[i] = true;
			want[i] = v;
		} else {
			struct val out;
			bool had = u64map_del(&m, k, &out);
			assert_int_equal(had, present[i]);
			if (had) {
				assert_ptr_equal(out.ptr, want[i].ptr);
				assert_int_equal(out.node, want[i].node);
				n--;
			}
			present[i] = false;
		}
		assert_int_equal(u64map_len(&m), n);
		if (step % 1009 == 0) {
			for (size_t j = 0; j < N_KEYS; j++) {
				const struct val *got = u64map_get(&m, key_of(j));
				if (!present[j]) {
					assert_null(got);
					continue;
				}
				assert_non_null(got);
				assert_ptr_equal(got->ptr, want[j].ptr);
				assert_int_equal(got->node, want[j].node);
			}
		}
	}
	assert_true(m.cap >= 2 * u64map_len(&m));
	u64map_free(&m);
	assert_int_equal(u64map_len(&m), 0);
	assert_null(u64map_get(&m, key_of(0)));
	/* usable again after free */
	struct val v = {.node = 7};
	u64map_put(&m, 5, &v);
	assert_int_equal(((struct val *)u64map_get(&m, 5))->node, 7);
	u64map_free(&m);
}

/* Requests in flight: ids rise forever while at most 100 are live. Without tombstones the table
 * never grows past what 100 entries need, and every live id is still found. */
static void test_u64map_churn_stays_small(void **state)
{
	(void)state;
	struct u64map m;
	u64map_init(&m, sizeof(size_t));
	for (uint64_t id = 0; id < 1000000; id++) {
		size_t v = (size_t)id * 3;
		u64map_put(&m, id, &v);
		if (id >= 100) {
			size_t out = 0;
			assert_true(u64map_del(&m, id - 100, &out));
			assert_int_equal(out, (size_t)(id - 100) * 3);
		}
	}
	assert_int_equal(u64map_len(&m), 100);
	assert_true(m.cap <= 256);
	for (uint64_t id = 1000000 - 100; id < 1000000; id++)
		assert_int_equal(*(size_t *)u64map_get(&m, id), (size_t)id * 3);
	u64map_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_u64map_reference),
	    cmocka_unit_test(test_u64map_churn_stays_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
