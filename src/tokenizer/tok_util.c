/* Small helpers for the tokenizer: byte-string hash map, id vectors. */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "tokenizer/tok_internal.h"

uint64_t tok_hash_bytes(const void *p, size_t n)
{
	/* FNV-1a over 8-byte words then a final avalanche: fast and good enough for vocab keys. */
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ull ^ (n * 0x9e3779b97f4a7c15ull);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
		s += 8;
		n -= 8;
	}
	while (n--) {
		h = (h ^ *s++) * 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

void tok_strmap_init(struct tok_strmap *m, size_t expect)
{
	size_t sz = 16;
	while (sz < expect * 2 + 2)
		sz <<= 1;
	memset(m, 0, sizeof *m);
	m->slots = xcalloc(sz, sizeof *m->slots);
	m->mask = sz - 1;
}

void tok_strmap_free(struct tok_strmap *m)
{
	free(m->slots);
	free(m->keys);
	free(m->key_lens);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

static void strmap_rehash(struct tok_strmap *m)
{
	size_t sz = (m->mask + 1) * 2;
	free(m->slots);
	m->slots = xcalloc(sz, sizeof *m->slots);
	m->mask = sz - 1;
	for (size_t i = 0; i < m->n; i++) {
		size_t h = tok_hash_bytes(m->keys[i], m->key_lens[i]) & m->mask;
		while (m->slots[h])
			h = (h + 1) & m->mask;
		m->slots[h] = (uint32_t)(i + 1);
	}
}

void tok_strmap_put(struct tok_strmap *m, const char *key, size_t len, int32_t val)
{
	size_t h = tok_hash_bytes(key, len) & m->mask;
	while (m->slots[h]) {
		uint32_t i = m->slots[h] - 1;
		if (m->key_lens[i] == len && memcmp(m->keys[i], key, len) == 0) {
			m->vals[i] = val;
			return;
		}
		h = (h + 1) & m->mask;
	}
	if (m->n == m->cap) {
		size_t c = m->cap;
		xgrow((void **)&m->keys, &c, m->n + 1, sizeof *m->keys);
		c = m->cap;
		xgrow((void **)&m->key_lens, &c, m->n + 1, sizeof *m->key_lens);
		c = m->cap;
		xgrow((void **)&m->vals, &c, m->n + 1, sizeof *m->vals);
		m->cap = c;
	}
	m->keys[m->n] = key;
	m->key_lens[m->n] = (uint32_t)len;
	m->vals[m->n] = val;
	m->slots[h] = (uint32_t)(m->n + 1);
	m->n++;
	if (m->n * 2 > m->mask)
		strmap_rehash(m);
}

bool tok_strmap_get(const struct tok_strmap *m, const char *key, size_t len, int32_t *val)
{
	size_t h = tok_hash_bytes(key, len) & m->mask;
	while (m->slots[h]) {
		uint32_t i = m->slots[h] - 1;
		if (m->key_lens[i] == len && memcmp(m->keys[i], key, len) == 0) {
			*val = m->vals[i];
			return true;
		}
		h = (h + 1) & m->mask;
	}
	return false;
}

void tok_ids_push(struct tok_ids *ids, int32_t v)
{
	if (ids->n == ids->cap)
		xgrow((void **)&ids->v, &ids->cap, ids->n + 1, sizeof *ids->v);
	ids->v[ids->n++] = v;
}

void tok_ids_free(struct tok_ids *ids)
{
	if (!ids)
		return;
	free(ids->v);
	ids->v = NULL;
	ids->n = ids->cap = 0;
}
