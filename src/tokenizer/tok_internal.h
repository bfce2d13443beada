#ifndef VK_TOKENIZER_TOK_INTERNAL_H
#define VK_TOKENIZER_TOK_INTERNAL_H
/* Private to src/tokenizer: the layout of struct tok and helpers shared by its files. */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/tokenizer.h"

enum tok_kind { TOK_KIND_APPROX = 0, TOK_KIND_HF = 1 };

/* Open-addressing hash map from a byte string to an int32 (keys point into an arena). */
struct tok_strmap {
	uint32_t *slots; /* index+1 into keys[], 0 = empty */
	size_t mask;
	const char **keys;
	uint32_t *key_lens;
	int32_t *vals;
	size_t n, cap;
};
void tok_strmap_init(struct tok_strmap *m, size_t expect);
void tok_strmap_free(struct tok_strmap *m);
/* Insert (key is not copied: it must outlive the map). Existing key: value replaced. */
void tok_strmap_put(struct tok_strmap *m, const char *key, size_t len, int32_t val);
bool tok_strmap_get(const struct tok_strmap *m, const char *key, size_t len, int32_t *val);
uint64_t tok_hash_bytes(const void *p, size_t n);

/* Prepared packaged corpus for one tokenizer (lazily built, then immutable). */
struct tok_corpus_prep {
	size_t n_lines;
	const char **line; /* points into the embedded corpus */
	uint32_t *line_len;
	/* ids of " " + line (sp_ids) and of line alone (first_ids), flattened */
	int32_t *ids;
	size_t *sp_off, *sp_n; /* per line, offset/count into ids */
	size_t *first_off, *first_n;
};

struct tok_hf; /* tok_hf.c */

struct tok {
	enum tok_kind kind;
	char *name;
	size_t vocab_size;
	struct tok_hf *hf;

	pthread_mutex_t prep_mu;
	bool prep_ready;
	struct tok_corpus_prep prep;
};

/* The embedded corpus (generated at build time from corpus.txt). */
extern const char vk_tok_corpus_text[];
extern const size_t vk_tok_corpus_len;

/* approx kind */
int tok_approx_encode(const char *text, size_t len, struct tok_ids *out);
int tok_approx_decode(const int32_t *ids, size_t n, struct buf *out);
size_t tok_approx_count(const char *text, size_t len);
size_t tok_approx_vocab(void);

/* hf kind (tok_hf.c) */
struct tok_hf *tok_hf_load(const char *file, char *err, size_t err_len);
void tok_hf_free(struct tok_hf *h);
size_t tok_hf_vocab_size(const struct tok_hf *h);
int tok_hf_encode(const struct tok_hf *h, const char *text, size_t len, struct tok_ids *out);
int tok_hf_decode(const struct tok_hf *h, const int32_t *ids, size_t n, struct buf *out);

void tok_ids_push(struct tok_ids *ids, int32_t v);

/* Path of tokenizer.json for `model` (ORG/NAME) in the HuggingFace hub cache (malloc'd), or NULL. */
char *tok_hf_cache_path(const char *model);

#endif
