#ifndef VK_CORE_LIST_H
#define VK_CORE_LIST_H
/* An intrusive doubly linked list: the element embeds a struct list_node and LIST_ENTRY gets the
 * element back from it, so putting an element on a list or taking it off never allocates. The list
 * is NULL-terminated at both ends (not circular), so a zeroed struct list is a valid empty list and
 * a list's struct may be moved. A node is on at most one list at a time. */
#include <stdbool.h>
#include <stddef.h>

struct list_node {
	struct list_node *prev, *next;
};

struct list {
	struct list_node *head, *tail;
	size_t n;
};

/* The element of type `type` whose member `member` is *node (node must not be NULL). */
#define LIST_ENTRY(node, type, member) ((type *)(void *)((char *)(node)-offsetof(type, member)))

static inline bool list_empty(const struct list *l)
{
	return l->head == NULL;
}

static inline void list_push_tail(struct list *l, struct list_node *x)
{
	x->next = NULL;
	x->prev = l->tail;
	if (l->tail)
		l->tail->next = x;
	else
		l->head = x;
	l->tail = x;
	l->n++;
}

static inline void list_push_head(struct list *l, struct list_node *x)
{
	x->prev = NULL;
	x->next = l->head;
	if (l->head)
		l->head->prev = x;
	else
		l->tail = x;
	l->head = x;
	l->n++;
}

/* x must be on l. */
static inline void list_remove(struct list *l, struct list_node *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		l->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	else
		l->tail = x->prev;
	x->prev = x->next = NULL;
	l->n--;
}

/* Removes and returns the first node, NULL when l is empty. */
static inline struct list_node *list_pop_head(struct list *l)
{
	struct list_node *x = l->head;
	if (x)
		list_remove(l, x);
	return x;
}

/* Empties l and returns its first node: the nodes stay chained through next, so the caller can walk
 * them while callbacks put new nodes on l. */
static inline struct list_node *list_take_all(struct list *l)
{
	struct list_node *first = l->head;
	l->head = l->tail = NULL;
	l->n = 0;
	return first;
}

#endif
