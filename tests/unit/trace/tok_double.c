/* Test double for the tokenizer API (tokenizer/tokenizer.h), used by the trace unit tests so they
 * do not depend on the real tokenizer: one whitespace-separated word = one token; id k decodes to
 * the word "w<k>"; prompts are words drawn from a small list. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "tokenizer/tokenizer.h"

#define DOUBLE_VOCAB 5000

struct tok {
	int unused;
};
static struct tok the_double;

struct tok *tok_approx(void)
{
	return &the_double;
}
void tok_free(struct tok *t)
{
	(void)t;
}
const char *tok_name(const struct tok *t)
{
	(void)t;
	return "test-double-words";
}
bool tok_is_approx(const struct tok *t)
{
	(void)t;
	return true;
}
size_t tok_vocab_size(const struct tok *t)
{
	(void)t;
	return DOUBLE_VOCAB;
}

void tok_ids_free(struct tok_ids *ids)
{
	free(ids->v);
	ids->v = NULL;
	ids->n = ids->cap = 0;
}

size_t tok_count(const struct tok *t, const char *text, size_t len)
{
	(void)t;
	size_t n = 0;
	bool in = false;
	for (size_t i = 0; i < len; i++) {
		bool sp = isspace((unsigned char)text[i]);
		if (!sp && !in)
			n++;
		in = !sp;
	}
	return n;
}

int tok_encode(const struct tok *t, const char *text, size_t len, struct tok_ids *out)
{
	(void)t;
	size_t i = 0;
	while (i < len) {
		while (i < len && isspace((unsigned char)text[i]))
			i++;
		if (i >= len)
			break;
		unsigned h = 0;
		while (i < len && !isspace((unsigned char)text[i]))
			h = h * 31 + (unsigned char)text[i++];
		xgrow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v);
		out->v[out->n++] = (int32_t)(h % DOUBLE_VOCAB);
	}
	return 0;
}

int tok_decode(const struct tok *t, const int32_t *ids, size_t n, struct buf *out)
{
	(void)t;
	for (size_t i = 0; i < n; i++) {
		if (out->len && out->data[out->len - 1] != ' ')
			buf_putc(out, ' ');
		buf_printf(out, "w%d", ids[i]);
	}
	return 0;
}

static const char *const words[] = {"alpha", "bravo", "charlie", "delta",  "echo", "foxtrot",
                                    "golf",  "hotel", "india",   "juliet", "kilo", "lima"};

int tok_prompt_build(const struct tok *t, struct rng *rng, int64_t target_tokens, const char *suffix, struct buf *out)
{
	int64_t suf = suffix ? (int64_t)tok_count(t, suffix, strlen(suffix)) : 0;
	if (target_tokens < suf || target_tokens < 0)
		return -1;
	for (int64_t i = 0; i < target_tokens - suf; i++) {
		if (i)
			buf_putc(out, ' ');
		buf_puts(out, words[rng_below(rng, sizeof words / sizeof *words)]);
	}
	if (suffix) {
		buf_putc(out, ' ');
		buf_puts(out, suffix);
	}
	return 0;
}
