#ifndef VK_TOKENIZER_TOK_NFC_H
#define VK_TOKENIZER_TOK_NFC_H
/* Unicode NFC normalization (canonical decomposition, canonical ordering, canonical composition),
 * used for tokenizer.json files whose normalizer is NFC (Qwen). Tables: tok_nfc_data.c. */
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct tok_nfc_ccc {
	uint32_t cp;
	uint8_t ccc;
};
struct tok_nfc_decomp {
	uint32_t cp, a, b; /* b = 0: singleton */
};
struct tok_nfc_comp {
	uint32_t a, b, cp;
};
extern const struct tok_nfc_ccc tok_nfc_ccc_table[];
extern const size_t tok_nfc_ccc_count;
extern const struct tok_nfc_decomp tok_nfc_decomp_table[];
extern const size_t tok_nfc_decomp_count;
extern const struct tok_nfc_comp tok_nfc_comp_table[];
extern const size_t tok_nfc_comp_count;

/* Append the NFC form of valid UTF-8 text s[0..n) to out. */
void tok_nfc(const char *s, size_t n, struct buf *out);
/* True when s is certainly already NFC (no code point >= U+0300): a fast pre-check. */
int tok_nfc_trivial(const char *s, size_t n);
/* Append code point cp (< 0x110000) to out as UTF-8. */
void tok_utf8_append(struct buf *out, uint32_t cp);

#endif
