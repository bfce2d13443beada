/* The documented approximation: one whitespace-separated word = one token.
 * Ids: the index of the word in the word list of the packaged corpus (first appearance order), or,
 * for other words, TOK_APPROX_HASHED_BASE + a 20-bit hash of the word. Decoding joins words with
 * single spaces; a hashed id decodes to the placeholder word "w<bucket>". */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/xalloc.h"
#include "tokenizer/tok_internal.h"

#define APPROX_HASH_BUCKETS (1u << 20)

static struct tok_strmap approx_words;
static const char **approx_word;
static uint32_t *approx_word_len;
static size_t approx_n_words;
static pthread_once_t approx_once = PTHREAD_ONCE_INIT;

static inline bool approx_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static void approx_build(void)
{
	const char *s = vk_tok_corpus_text;
	size_t len = vk_tok_corpus_len, cap = 0;
	tok_strmap_init(&approx_words, 8192);
	size_t cap_len = 0;
	for (size_t i = 0; i < len;) {
		while (i < len && approx_space((unsigned char)s[i]))
			i++;
		size_t b = i;
		while (i < len && !approx_space((unsigned char)s[i]))
			i++;
		if (i == b)
			continue;
		int32_t id;
		if (tok_strmap_get(&approx_words, s + b, i - b, &id))
			continue;
		xgrow((void **)&approx_word, &cap, approx_n_words + 1, sizeof *approx_word);
		xgrow((void **)&approx_word_len, &cap_len, approx_n_words + 1, sizeof *approx_word_len);
		approx_word[approx_n_words] = s + b;
		approx_word_len[approx_n_words] = (uint32_t)(i - b);
		tok_strmap_put(&approx_words, s + b, i - b, (int32_t)approx_n_words);
		approx_n_words++;
	}
}

static void approx_init(void)
{
	pthread_once(&approx_once, approx_build);
}

size_t tok_approx_vocab(void)
{
	approx_init();
	return approx_n_words + APPROX_HASH_BUCKETS;
}

size_t tok_approx_count(const char *text, size_t len)
{
	size_t n = 0;
	bool in_word = false;
	for (size_t i = 0; i < len; i++) {
		bool sp = approx_space((unsigned char)text[i]);
		if (!sp && !in_word)
			n++;
		in_word = !sp;
	}
	return n;
}

int tok_approx_encode(const char *text, size_t len, struct tok_ids *out)
{
	approx_init();
	for (size_t i = 0; i < len;) {
		while (i < len && approx_space((unsigned char)text[i]))
			i++;
		size_t b = i;
		while (i < len && !approx_space((unsigned char)text[i]))
			i++;
		if (i == b)
			continue;
		int32_t id;
		if (!tok_strmap_get(&approx_words, text + b, i - b, &id))
			id = (int32_t)(approx_n_words + (tok_hash_bytes(text + b, i - b) & (APPROX_HASH_BUCKETS - 1)));
		tok_ids_push(out, id);
	}
	return 0;
}

int tok_approx_decode(const int32_t *ids, size_t n, struct buf *out)
{
	approx_init();
	for (size_t i = 0; i < n; i++) {
		int32_t id = ids[i];
		if (id < 0 || (size_t)id >= approx_n_words + APPROX_HASH_BUCKETS)
			return -1;
		if (i > 0)
			buf_putc(out, ' ');
		if ((size_t)id < approx_n_words)
			buf_append(out, approx_word[id], approx_word_len[id]);
		else
			buf_printf(out, "w%zu", (size_t)id - approx_n_words);
	}
	return 0;
}
