/* Binary min-heap (see heap.h). Sifting moves a hole instead of swapping, so each level costs one
 * entry copy; the moved callback is told each entry's new place. The sift functions are inline and
 * heap_remove returns nothing: the event loop cancels a timer per request, and a call per sift and
 * a 32-byte return value cost ~15% of a cancel-and-add (callgrind, 1,000 live timers). */
#include "core/heap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

void heap_init(struct heap *h, heap_moved_fn moved, void *moved_ctx)
{
	memset(h, 0, sizeof *h);
	h->moved = moved;
	h->moved_ctx = moved_ctx;
}

void heap_free(struct heap *h)
{
	free(h->ents);
	h->ents = NULL;
	h->n = h->cap = 0;
}

static inline bool heap_less(const struct heap_ent *a, const struct heap_ent *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	return a->seq < b->seq;
}

static inline void heap_place(struct heap *h, size_t pos, const struct heap_ent *e)
{
	h->ents[pos] = *e;
	if (h->moved)
		h->moved(h->moved_ctx, &h->ents[pos], pos);
}

/* Puts e at pos or above it. */
static inline void heap_sift_up(struct heap *h, size_t pos, struct heap_ent e)
{
	while (pos > 0) {
		size_t parent = (pos - 1) / 2;
		if (!heap_less(&e, &h->ents[parent]))
			break;
		heap_place(h, pos, &h->ents[parent]);
		pos = parent;
	}
	heap_place(h, pos, &e);
}

/* Puts e at pos or below it, among the first h->n entries. */
static inline void heap_sift_down(struct heap *h, size_t pos, struct heap_ent e)
{
	size_t n = h->n;
	for (;;) {
		size_t l = 2 * pos + 1, r = l + 1, m = pos;
		const struct heap_ent *best = &e;
		if (l < n && heap_less(&h->ents[l], best)) {
			m = l;
			best = &h->ents[l];
		}
		if (r < n && heap_less(&h->ents[r], best)) {
			m = r;
			best = &h->ents[r];
		}
		if (m == pos)
			break;
		heap_place(h, pos, best);
		pos = m;
	}
	heap_place(h, pos, &e);
}

void heap_push(struct heap *h, int64_t key, uint64_t seq, void *ptr, uint64_t aux)
{
	if (h->n == h->cap)
		xgrow((void **)&h->ents, &h->cap, h->n + 1, sizeof *h->ents);
	struct heap_ent e = {.key = key, .seq = seq, .ptr = ptr, .aux = aux};
	heap_sift_up(h, h->n++, e);
}

/* Puts e, which replaces the entry at pos, where it belongs. */
static inline void heap_fix(struct heap *h, size_t pos, struct heap_ent e)
{
	if (pos > 0 && heap_less(&e, &h->ents[(pos - 1) / 2]))
		heap_sift_up(h, pos, e);
	else
		heap_sift_down(h, pos, e);
}

void heap_remove(struct heap *h, size_t pos)
{
	h->n--;
	if (pos < h->n)
		heap_fix(h, pos, h->ents[h->n]);
}

struct heap_ent heap_pop(struct heap *h)
{
	struct heap_ent top = h->ents[0];
	h->n--;
	if (h->n)
		heap_sift_down(h, 0, h->ents[h->n]);
	return top;
}

void heap_update(struct heap *h, size_t pos, int64_t key, uint64_t seq)
{
	struct heap_ent e = h->ents[pos];
	e.key = key;
	e.seq = seq;
	heap_fix(h, pos, e);
}
