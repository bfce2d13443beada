/* Token accounting for the simulated server.
 *
 * INTERIM: src/tokenizer is not available yet, so this file implements the documented word
 * approximation on its own (one whitespace-separated word = one token). Every caller goes through
 * the sim_tok_* functions, so switching to tok_count()/tok_output_text() is a change to this file
 * only. The server announces the approximation at start-up (see sim_server.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "sim/sim.h"

/* Common English words; with a leading space each is a single token under the Llama-3, Qwen2 and
 * GPT-2 style byte-level BPE vocabularies, and one word under the approximation. */
static const char *const sim_tok_words[] = {
	" the",   " of",    " and",   " to",    " in",    " is",    " that",  " for",   " it",    " as",
	" with",  " on",    " be",    " at",    " by",    " this",  " we",    " are",   " or",    " from",
	" an",    " was",   " not",   " but",   " all",   " can",   " one",   " more",  " has",   " will",
	" they",  " time",  " new",   " some",  " would", " there", " which", " their", " about", " when",
	" model", " data",  " each",  " other", " into",  " most",  " also",  " only",  " first", " these",
	" over",  " many",  " then",  " them",  " two",   " may",   " such",  " like",  " make",  " work",
	" what",  " long",  " very",  " after",
};
#define SIM_TOK_NWORDS ((int32_t)(sizeof sim_tok_words / sizeof sim_tok_words[0]))
#define SIM_TOK_VOCAB 128256

static bool sim_tok_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int64_t sim_tok_count(const char *t, size_t len)
{
	int64_t n = 0;
	bool in = false;
	for (size_t i = 0; i < len; i++) {
		bool sp = sim_tok_space(t[i]);
		if (!sp && !in)
			n++;
		in = !sp;
	}
	return n;
}

static uint64_t sim_tok_fnv(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static int32_t sim_tok_word_id(const char *w, size_t n)
{
	for (int32_t k = 0; k < SIM_TOK_NWORDS; k++) {
		const char *v = sim_tok_words[k] + 1;
		if (strlen(v) == n && memcmp(v, w, n) == 0)
			return k;
	}
	/* "w<id>" round-trips ids outside the word list */
	if (n >= 2 && w[0] == 'w' && n <= 7) {
		int32_t v = 0;
		size_t i = 1;
		for (; i < n && w[i] >= '0' && w[i] <= '9'; i++)
			v = v * 10 + (w[i] - '0');
		if (i == n && v >= SIM_TOK_NWORDS && v < SIM_TOK_VOCAB)
			return v;
	}
	return (int32_t)(SIM_TOK_NWORDS + sim_tok_fnv(w, n) % (uint64_t)(SIM_TOK_VOCAB - SIM_TOK_NWORDS));
}

int sim_tok_encode(const char *t, size_t len, int32_t **ids, size_t *n)
{
	size_t cap = 16, cnt = 0;
	int32_t *v = xmalloc(cap * sizeof *v);
	size_t i = 0;
	while (i < len) {
		while (i < len && sim_tok_space(t[i]))
			i++;
		if (i >= len)
			break;
		size_t s = i;
		while (i < len && !sim_tok_space(t[i]))
			i++;
		if (cnt == cap)
			xgrow((void **)&v, &cap, cnt + 1, sizeof *v);
		v[cnt++] = sim_tok_word_id(t + s, i - s);
	}
	*ids = v;
	*n = cnt;
	return 0;
}

void sim_tok_decode(const int32_t *ids, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		int32_t id = ids[i];
		if (id >= 0 && id < SIM_TOK_NWORDS)
			buf_puts(out, sim_tok_words[id]);
		else
			buf_printf(out, " w%d", (int)id);
	}
}

const char *sim_tok_output_piece(uint64_t seed, int64_t i, size_t *len)
{
	uint64_t x = seed + (uint64_t)i * 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	x ^= x >> 31;
	const char *w = sim_tok_words[x % (uint64_t)SIM_TOK_NWORDS];
	*len = strlen(w);
	return w;
}

const char *sim_tok_name(void)
{
	return "approx-words";
}

int64_t sim_tok_vocab_size(void)
{
	return SIM_TOK_VOCAB;
}
