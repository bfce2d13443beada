#ifndef VK_CORE_HEAP_H
#define VK_CORE_HEAP_H
/* A binary min-heap of entries stored by value in one array: the event loop's timers, the traffic
 * scheduler's ready requests, the simulated server's token streams.
 *
 * Entries are ordered by key, then by seq: a caller that passes an increasing counter as seq gets
 * ties in insertion order. The payload (ptr, aux) is the caller's. A caller that must find an entry
 * again (to remove it or change its key) sets a `moved` callback: it is called with every entry's
 * new position as the entry moves, including where a pushed entry comes to rest; the position is
 * valid until the next push, pop, remove or update. Operations take O(log n) and allocate only when
 * the array grows (geometrically), never per operation. */
#include <stddef.h>
#include <stdint.h>

struct heap_ent {
	int64_t key;
	uint64_t seq;
	void *ptr;
	uint64_t aux;
};

typedef void (*heap_moved_fn)(void *ctx, const struct heap_ent *ent, size_t pos);

struct heap {
	struct heap_ent *ents;
	size_t n, cap;
	heap_moved_fn moved; /* NULL: positions are not reported */
	void *moved_ctx;
};

/* A zeroed struct heap is a valid empty heap without position reports. */
void heap_init(struct heap *h, heap_moved_fn moved, void *moved_ctx);
void heap_free(struct heap *h);

void heap_push(struct heap *h, int64_t key, uint64_t seq, void *ptr, uint64_t aux);
/* The smallest entry, removed; h must not be empty. */
struct heap_ent heap_pop(struct heap *h);
/* Removes the entry at pos (from the moved callback); read h->ents[pos] first to keep it. */
void heap_remove(struct heap *h, size_t pos);
/* Gives the entry at pos a new key and seq and restores the order. */
void heap_update(struct heap *h, size_t pos, int64_t key, uint64_t seq);

/* The smallest entry, or NULL when the heap is empty; valid until the next change. */
static inline const struct heap_ent *heap_top(const struct heap *h)
{
	return h->n ? &h->ents[0] : NULL;
}

static inline size_t heap_len(const struct heap *h)
{
	return h->n;
}

#endif
