#ifndef VK_CORE_U64MAP_H
#define VK_CORE_U64MAP_H
/* A hash map from uint64_t keys (request and session ids) to fixed-size values stored in the map:
 * open addressing with linear probing, at most half full, and backward-shift deletion (no
 * tombstones), so a map whose keys come and go (requests in flight, open sessions) stays as small
 * as its peak population and lookups stay short. Growing rehashes into a table twice the size;
 * nothing else allocates. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys;
	unsigned char *vals; /* cap slots of val_bytes each */
	bool *used;
	size_t cap, n; /* cap: 0 or a power of two */
	size_t val_bytes;
};

/* An empty map of values of val_bytes bytes each (> 0). */
void u64map_init(struct u64map *m, size_t val_bytes);
/* Frees the table; the map is then empty and can be used again. */
void u64map_free(struct u64map *m);

/* The value stored for key, or NULL. It stays valid until the next put or del. */
void *u64map_get(const struct u64map *m, uint64_t key);
/* Stores a copy of *val for key, replacing any value it had; returns the stored copy (valid until the
 * next put or del). */
void *u64map_put(struct u64map *m, uint64_t key, const void *val);
/* Removes key; copies its value to *val_out when val_out is not NULL. False when key was absent. */
bool u64map_del(struct u64map *m, uint64_t key, void *val_out);

static inline size_t u64map_len(const struct u64map *m)
{
	return m->n;
}

#endif
