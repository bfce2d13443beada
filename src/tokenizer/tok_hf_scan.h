#ifndef VK_TOKENIZER_TOK_HF_SCAN_H
#define VK_TOKENIZER_TOK_HF_SCAN_H
/* The vocab and merges of a tokenizer.json, read without building a cJSON tree (tok_hf_scan.c). */
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "core/buf.h"

/* The entries as the file spells them, decoded from JSON into one arena: vocab entry i is the
 * v_len[i] bytes at arena.data + v_off[i] with id v_id[i]; merge i (rank i) joins the m_al[i] bytes
 * at m_a[i] and the m_bl[i] bytes at m_b[i]. */
struct tok_raw_tables {
	struct buf arena; /* decoded strings */
	size_t *v_off;
	uint32_t *v_len;
	int64_t *v_id;
	size_t n_v, cap_v, cap_v2, cap_v3;
	size_t *m_a, *m_b;
	uint32_t *m_al, *m_bl;
	size_t n_m, cap_m1, cap_m2, cap_m3, cap_m4;
};

/* An empty table set. */
void tok_raw_init(struct tok_raw_tables *r);
void tok_raw_free(struct tok_raw_tables *r);
/* Fast path: fills r from model.vocab and model.merges in text and returns a copy of text with both
 * replaced by empty containers, for cJSON to parse the rest (*out_len its length); NULL, with r
 * empty, when anything looks unusual: the caller then reads everything with cJSON. */
char *tok_raw_scan(const char *text, size_t len, struct tok_raw_tables *r, size_t *out_len);
/* Slow path: the same tables from cJSON's model.vocab and model.merges; -1 on a malformed entry. */
int tok_raw_from_cjson(const cJSON *vocab, const cJSON *merges, struct tok_raw_tables *r);

#endif
