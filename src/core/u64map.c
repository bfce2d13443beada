/* uint64_t -> fixed-size value hash map (see u64map.h). */
#include "core/u64map.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xalloc.h"

/* The finaliser of MurmurHash3: ids are often consecutive, and linear probing needs them spread. */
static size_t u64map_home(const struct u64map *m, uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return (size_t)k & (m->cap - 1);
}

static void *u64map_val(const struct u64map *m, size_t i)
{
	return m->vals + i * m->val_bytes;
}

/* Values are ids, indices and pointers: copies of 8 and 16 bytes are inlined moves, not calls. */
static inline void u64map_copy(const struct u64map *m, void *dst, const void *src)
{
	if (m->val_bytes == 8)
		memcpy(dst, src, 8);
	else if (m->val_bytes == 16)
		memcpy(dst, src, 16);
	else
		memcpy(dst, src, m->val_bytes);
}

void u64map_init(struct u64map *m, size_t val_bytes)
{
	memset(m, 0, sizeof *m);
	m->val_bytes = val_bytes;
}

void u64map_free(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	size_t val_bytes = m->val_bytes;
	u64map_init(m, val_bytes);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t u64map_slot(const struct u64map *m, uint64_t key)
{
	size_t mask = m->cap - 1, i = u64map_home(m, key);
	while (m->used[i] && m->keys[i] != key)
		i = (i + 1) & mask;
	return i;
}

void *u64map_get(const struct u64map *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	size_t i = u64map_slot(m, key);
	return m->used[i] ? u64map_val(m, i) : NULL;
}

static void u64map_grow(struct u64map *m)
{
	if (!m->val_bytes) {
		/* a zeroed struct, never given its value size: every value would read back empty */
		log_error("u64map: used without u64map_init");
		abort();
	}
	struct u64map old = *m;
	m->cap = old.cap ? old.cap * 2 : 64;
	m->n = 0;
	m->keys = xcalloc(m->cap, sizeof *m->keys);
	m->vals = xcalloc(m->cap, m->val_bytes);
	m->used = xcalloc(m->cap, sizeof *m->used);
	for (size_t i = 0; i < old.cap; i++)
		if (old.used[i])
			u64map_put(m, old.keys[i], u64map_val(&old, i));
	free(old.keys);
	free(old.vals);
	free(old.used);
}

void *u64map_put(struct u64map *m, uint64_t key, const void *val)
{
	if ((m->n + 1) * 2 > m->cap)
		u64map_grow(m);
	size_t i = u64map_slot(m, key);
	if (!m->used[i]) {
		m->used[i] = true;
		m->keys[i] = key;
		m->n++;
	}
	void *dst = u64map_val(m, i);
	u64map_copy(m, dst, val);
	return dst;
}

bool u64map_del(struct u64map *m, uint64_t key, void *val_out)
{
	if (!m->cap)
		return false;
	size_t mask = m->cap - 1, i = u64map_slot(m, key);
	if (!m->used[i])
		return false;
	if (val_out)
		u64map_copy(m, val_out, u64map_val(m, i));
	/* close the hole: an entry after it moves back unless its home lies cyclically in (hole, j] */
	for (size_t j = (i + 1) & mask; m->used[j]; j = (j + 1) & mask) {
		size_t home = u64map_home(m, m->keys[j]);
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		m->keys[i] = m->keys[j];
		u64map_copy(m, u64map_val(m, i), u64map_val(m, j));
		i = j;
	}
	m->used[i] = false;
	m->n--;
	return true;
}
