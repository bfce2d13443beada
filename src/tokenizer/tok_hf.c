/* HuggingFace tokenizer.json: placeholder until the BPE loader lands. */
#include <stdio.h>

#include "tokenizer/tok_internal.h"

struct tok_hf *tok_hf_load(const char *file, char *err, size_t err_len)
{
	snprintf(err, err_len, "%s: tokenizer.json loading is not implemented yet", file);
	return NULL;
}
void tok_hf_free(struct tok_hf *h) { (void)h; }
size_t tok_hf_vocab_size(const struct tok_hf *h) { (void)h; return 0; }
int tok_hf_encode(const struct tok_hf *h, const char *text, size_t len, struct tok_ids *out)
{
	(void)h; (void)text; (void)len; (void)out;
	return -1;
}
int tok_hf_decode(const struct tok_hf *h, const int32_t *ids, size_t n, struct buf *out)
{
	(void)h; (void)ids; (void)n; (void)out;
	return -1;
}
