/* core/list: order, removal anywhere, and the detached chain of list_take_all. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/list.h"

struct item {
	int id;
	struct list_node link; /* not first: LIST_ENTRY must subtract the offset */
};

/* The ids from head to tail, checked against the tail-to-head walk and the count. */
static void check_list(const struct list *l, const int *want, size_t n)
{
	assert_int_equal(l->n, n);
	assert_int_equal(list_empty(l), n == 0);
	size_t i = 0;
	const struct list_node *before = NULL;
	for (const struct list_node *x = l->head; x; before = x, x = x->next, i++) {
		assert_true(i < n);
		assert_int_equal(LIST_ENTRY(x, const struct item, link)->id, want[i]);
		assert_ptr_equal(x->prev, before);
	}
	assert_ptr_equal(l->tail, before);
	assert_int_equal(i, n);
	for (const struct list_node *x = l->tail; x; x = x->prev)
		assert_int_equal(LIST_ENTRY(x, const struct item, link)->id, want[--i]);
	assert_int_equal(i, 0);
}

static void test_list_push_remove(void **state)
{
	(void)state;
	struct item it[6];
	for (int i = 0; i < 6; i++)
		it[i].id = i;
	struct list l;
	memset(&l, 0, sizeof l);
	check_list(&l, NULL, 0);
	assert_null(list_pop_head(&l));

	list_push_tail(&l, &it[1].link);
	list_push_tail(&l, &it[2].link);
	list_push_head(&l, &it[0].link);
	list_push_tail(&l, &it[3].link);
	check_list(&l, (int[]){0, 1, 2, 3}, 4);

	list_remove(&l, &it[2].link); /* middle */
	check_list(&l, (int[]){0, 1, 3}, 3);
	assert_null(it[2].link.prev);
	assert_null(it[2].link.next);
	list_remove(&l, &it[3].link); /* tail */
	check_list(&l, (int[]){0, 1}, 2);
	list_remove(&l, &it[0].link); /* head */
	check_list(&l, (int[]){1}, 1);
	list_remove(&l, &it[1].link); /* only */
	check_list(&l, NULL, 0);
	assert_null(l.tail);

	/* pop_head is FIFO with push_tail, LIFO with push_head */
	for (int i = 0; i < 3; i++)
		list_push_tail(&l, &it[i].link);
	for (int i = 0; i < 3; i++)
		assert_int_equal(LIST_ENTRY(list_pop_head(&l), struct item, link)->id, i);
	for (int i = 0; i < 3; i++)
		list_push_head(&l, &it[i].link);
	for (int i = 2; i >= 0; i--)
		assert_int_equal(LIST_ENTRY(list_pop_head(&l), struct item, link)->id, i);
	check_list(&l, NULL, 0);
}

/* A taken chain can be walked while new nodes go on the emptied list (the client cancels its
 * in-flight requests this way while done callbacks submit new ones). */
static void test_list_take_all(void **state)
{
	(void)state;
	struct item it[5];
	for (int i = 0; i < 5; i++)
		it[i].id = i;
	struct list l = {0};
	for (int i = 0; i < 3; i++)
		list_push_tail(&l, &it[i].link);
	struct list_node *x = list_take_all(&l);
	check_list(&l, NULL, 0);
	int seen = 0;
	while (x) {
		struct list_node *next = x->next;
		assert_int_equal(LIST_ENTRY(x, struct item, link)->id, seen);
		seen++;
		if (seen <= 2)
			list_push_tail(&l, &it[2 + seen].link); /* a callback queues a new one */
		x = next;
	}
	assert_int_equal(seen, 3);
	check_list(&l, (int[]){3, 4}, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list_push_remove),
	    cmocka_unit_test(test_list_take_all),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
