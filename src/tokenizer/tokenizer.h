#ifndef VK_TOKENIZER_H
#define VK_TOKENIZER_H
/* Tokenizers. A `struct tok` is immutable after loading and safe to use from several threads.
 *
 * Kinds:
 *  - HuggingFace tokenizer.json (byte-level BPE, SentencePiece-style BPE): tok_load();
 *  - the documented approximation used when no tokenizer is available: tok_approx(), which
 *    counts whitespace-separated words (one word = one token) and decodes ids as words.
 * tok_resolve() applies the resolution order of docs/TOKENIZER.md and says once, on stderr, when it
 * falls back to the approximation. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/rng.h"

struct tok;

struct tok_ids {
	int32_t *v;
	size_t n, cap;
};
void tok_ids_free(struct tok_ids *ids);

/* Load a tokenizer.json file, or a directory containing one. NULL + message in err on failure. */
struct tok *tok_load(const char *path, char *err, size_t err_len);
/* The whitespace-word approximation (a process-wide singleton; tok_free on it is a no-op). */
struct tok *tok_approx(void);
/* Resolution: explicit path (client.tokenizer) -> HF cache for `model` -> approximation. */
struct tok *tok_resolve(const char *explicit_path, const char *model);
void tok_free(struct tok *t);

const char *tok_name(const struct tok *t); /* e.g. "hf:/path/tokenizer.json" or "approx-words" */
bool tok_is_approx(const struct tok *t);
size_t tok_vocab_size(const struct tok *t);

/* Append the ids of text (no special tokens added) to out. Returns 0 or -1 on error. */
int tok_encode(const struct tok *t, const char *text, size_t len, struct tok_ids *out);
size_t tok_count(const struct tok *t, const char *text, size_t len);
/* Append the text of ids to out (special tokens are decoded, not skipped). */
int tok_decode(const struct tok *t, const int32_t *ids, size_t n, struct buf *out);

/* Prompt builder: append to out a prompt of exactly target_tokens tokens under t, drawn from the
 * packaged corpus with rng, followed by suffix (suffix counts towards the target; may be NULL).
 * Returns 0, or -1 when the target is impossible (e.g. shorter than the suffix). */
int tok_prompt_build(const struct tok *t, struct rng *rng, int64_t target_tokens, const char *suffix, struct buf *out);

/* Text of exactly n tokens for the simulated server's output (deterministic for a given rng state). */
int tok_output_text(const struct tok *t, struct rng *rng, int64_t n_tokens, struct buf *out);

/* `veeksha tokenize` (argv[0] = "tokenize"). Returns the exit code. */
int tokenizer_cli_main(int argc, char **argv);

#endif
