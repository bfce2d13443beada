/* core/heap: order, ties, and the positions reported to the moved callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/heap.h"

/* Items that know where they are in the heap, like the event loop's timers. */
#define N_ITEMS 2000
struct item {
	int64_t key;
	uint64_t seq;
	long pos; /* -1 = not in the heap */
};

static void item_moved(void *ctx, const struct heap_ent *ent, size_t pos)
{
	(void)ctx;
	((struct item *)ent->ptr)->pos = (long)pos;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Every entry's reported position holds that entry, and no child is smaller than its parent. */
static void check_invariants(const struct heap *h, const struct item *items)
{
	for (size_t i = 0; i < h->n; i++) {
		const struct item *it = h->ents[i].ptr;
		assert_int_equal(it->pos, (long)i);
		assert_int_equal(h->ents[i].key, it->key);
		assert_true(it - items >= 0 && it - items < N_ITEMS);
		if (i > 0) {
			const struct heap_ent *p = &h->ents[(i - 1) / 2], *c = &h->ents[i];
			assert_true(p->key < c->key || (p->key == c->key && p->seq < c->seq));
		}
	}
}

/* Pops come out sorted by key, and equal keys in seq (insertion) order. */
static void test_heap_order_and_ties(void **state)
{
	(void)state;
	struct heap h;
	heap_init(&h, NULL, NULL);
	assert_null(heap_top(&h));
	for (uint64_t i = 0; i < 5000; i++)
		heap_push(&h, (int64_t)(rnd() % 50) - 25, i, NULL, i);
	assert_int_equal(heap_len(&h), 5000);
	int64_t last_key = INT64_MIN;
	uint64_t last_seq = 0;
	for (size_t i = 0; i < 5000; i++) {
		const struct heap_ent *top = heap_top(&h);
		assert_non_null(top);
		int64_t top_key = top->key;
		struct heap_ent e = heap_pop(&h);
		assert_int_equal(e.key, top_key);
		assert_int_equal(e.aux, e.seq); /* the payload travels with its entry */
		assert_true(e.key >= last_key);
		if (i > 0 && e.key == last_key)
			assert_true(e.seq > last_seq);
		last_key = e.key;
		last_seq = e.seq;
	}
	assert_int_equal(heap_len(&h), 0);
	assert_null(heap_top(&h));
	heap_free(&h);
}

/* Random pushes, pops, removals by reported position and re-keys, checked against the items. */
static void test_heap_positions(void **state)
{
	(void)state;
	static struct item items[N_ITEMS];
	for (size_t i = 0; i < N_ITEMS; i++)
		items[i].pos = -1;
	struct heap h;
	heap_init(&h, item_moved, NULL);
	uint64_t seq = 0;
	for (int step = 0; step < 60000; step++) {
		struct item *it = &items[rnd() % N_ITEMS];
		unsigned op = (unsigned)(rnd() % 4);
		if (it->pos < 0) {
			it->key = (int64_t)(rnd() % 1000);
			it->seq = seq++;
			heap_push(&h, it->key, it->seq, it, 0);
			assert_true(it->pos >= 0);
		} else if (op == 0) {
			const struct heap_ent *top = heap_top(&h);
			struct item *want = top->ptr;
			struct heap_ent e = heap_pop(&h);
			assert_ptr_equal(e.ptr, want);
			want->pos = -1;
		} else if (op == 1) {
			assert_ptr_equal(h.ents[it->pos].ptr, it);
			heap_remove(&h, (size_t)it->pos);
			it->pos = -1;
		} else {
			it->key = (int64_t)(rnd() % 1000);
			it->seq = seq++;
			heap_update(&h, (size_t)it->pos, it->key, it->seq);
		}
		if (step % 997 == 0)
			check_invariants(&h, items);
	}
	check_invariants(&h, items);
	/* drain: what is left comes out in order and every item is accounted for */
	size_t in_heap = 0;
	for (size_t i = 0; i < N_ITEMS; i++)
		in_heap += items[i].pos >= 0;
	assert_int_equal(heap_len(&h), in_heap);
	int64_t last = INT64_MIN;
	while (heap_len(&h)) {
		struct heap_ent e = heap_pop(&h);
		assert_true(e.key >= last);
		last = e.key;
	}
	heap_free(&h);
}

/* A zeroed heap works, and the last entry can be removed by position. */
static void test_heap_zeroed_and_last(void **state)
{
	(void)state;
	struct heap h;
	memset(&h, 0, sizeof h);
	heap_push(&h, 3, 0, NULL, 30);
	heap_push(&h, 1, 1, NULL, 10);
	heap_push(&h, 2, 2, NULL, 20);
	uint64_t last_aux = h.ents[h.n - 1].aux;
	heap_remove(&h, h.n - 1);
	assert_int_equal(heap_len(&h), 2);
	uint64_t first = heap_pop(&h).aux;
	assert_int_equal(first, 10);
	assert_int_equal(first + heap_pop(&h).aux + last_aux, 60);
	heap_free(&h);
	assert_int_equal(heap_len(&h), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_heap_order_and_ties),
	    cmocka_unit_test(test_heap_positions),
	    cmocka_unit_test(test_heap_zeroed_and_last),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
