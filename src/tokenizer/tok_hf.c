/* HuggingFace tokenizer.json: BPE model (byte-level and SentencePiece-style), normalizers,
 * pre-tokenizers, added tokens and decoders as used by Llama 2/3, Qwen 2/3, DeepSeek V3, Gemma,
 * Mistral and GPT-2 style files. Everything here is immutable after tok_hf_load(); encode and
 * decode use per-call scratch plus a per-thread word cache, so one struct tok_hf serves many
 * threads. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <errno.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "tokenizer/tok_hf_scan.h"
#include "tokenizer/tok_internal.h"
#include "tokenizer/tok_nfc.h"

/* ---------------------------------------------------------------- structures */

enum norm_kind { NORM_PREPEND, NORM_REPLACE, NORM_NFC, NORM_IDENTITY };
struct norm_op {
	enum norm_kind kind;
	char *a, *b; /* prepend: a; replace: a -> b */
	size_t a_len, b_len;
};

enum split_behavior { SB_REMOVED, SB_ISOLATED, SB_MERGED_PREV, SB_MERGED_NEXT, SB_CONTIGUOUS };
enum pre_kind { PRE_SPLIT, PRE_BYTELEVEL, PRE_METASPACE };
struct pre_op {
	enum pre_kind kind;
	pcre2_code *re; /* split (regex or escaped string), bytelevel with use_regex */
	enum split_behavior behavior;
	bool invert;
	bool add_prefix_space; /* bytelevel */
	char repl[8];          /* metaspace replacement (UTF-8) */
	size_t repl_len;
	int prepend_scheme; /* 0 never, 1 first, 2 always */
	bool ms_split;
};

enum dec_kind { DEC_BYTELEVEL, DEC_REPLACE, DEC_BYTEFALLBACK, DEC_FUSE, DEC_STRIP, DEC_METASPACE };
struct dec_op {
	enum dec_kind kind;
	char *a, *b;
	size_t a_len, b_len;
	char strip_c;
	int strip_start, strip_stop;
	char repl[8];
	size_t repl_len;
	bool ms_prepend;
};

struct added_tok {
	const char *s;
	size_t len;
	int32_t id;
	bool lstrip, rstrip, single_word;
};

struct pairmap {
	uint64_t *keys; /* (a << 32 | b) + 1, 0 = empty */
	uint32_t *rank;
	int32_t *merged;
	size_t mask;
};

struct tok_hf {
	uint64_t gen; /* unique per loaded tokenizer: keys the per-thread word cache */
	bool byte_level;
	bool ignore_merges, byte_fallback, fuse_unk;
	int32_t unk_id;
	size_t n_ids;
	char *arena;
	size_t arena_len;
	size_t *tok_off; /* per id: token text (raw bytes in byte-level mode) */
	uint32_t *tok_len;
	bool *is_added;
	struct tok_strmap vocab; /* token text -> id (model vocab) */
	struct pairmap merges;
	int32_t byte_id[256]; /* byte-level: single-byte tokens; SP: <0xXX> tokens (-1: none) */
	int16_t *byte_of_id;  /* SP decode: id -> byte value for <0xXX> tokens, -1 otherwise */

	struct added_tok *added;
	size_t n_added;
	pcre2_code *word_re;          /* \w, for single_word added tokens */
	uint32_t added_first[256][2]; /* [first byte] -> [begin, end) in added (sorted by first byte, len desc) */

	/* SentencePiece-style (not byte-level): characters c such that some token contains c + U+2581.
	 * The text may be cut before any U+2581 whose left neighbour is not one of these without
	 * changing the BPE result (no merge can cross such a cut). */
	bool sp_chunk;
	struct tok_strmap sp_unsafe;

	struct norm_op *norm;
	size_t n_norm;
	struct pre_op *pre;
	size_t n_pre;
	struct dec_op *dec;
	size_t n_dec;
};

/* ---------------------------------------------------------------- GPT-2 byte <-> unicode */

static void bytelevel_map(uint32_t cp_of_byte[256])
{
	int n = 0;
	for (int b = 0; b < 256; b++) {
		bool keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
		cp_of_byte[b] = keep ? (uint32_t)b : (uint32_t)(256 + n++);
	}
}

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0;
		if (c == 0xED && s[1] > 0x9F)
			return 0;
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0;
		if (c == 0xF4 && s[1] > 0x8F)
			return 0;
		return 4;
	}
	return 0;
}

/* Decode one code point from valid UTF-8. */
static uint32_t utf8_cp(const unsigned char *s, size_t *len)
{
	if (s[0] < 0x80) {
		*len = 1;
		return s[0];
	}
	if (s[0] < 0xE0) {
		*len = 2;
		return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
	}
	if (s[0] < 0xF0) {
		*len = 3;
		return ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
	}
	*len = 4;
	return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) |
	       (s[3] & 0x3F);
}

static bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		size_t l = utf8_valid_len(u + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

/* Replace invalid sequences with U+FFFD (one per invalid byte). */
static void utf8_lossy(const char *s, size_t n, struct buf *out)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_valid_len(u + i, n - i);
		if (l) {
			buf_append(out, s + i, l);
			i += l;
		} else {
			buf_append(out, "\xEF\xBF\xBD", 3);
			i++;
		}
	}
}

/* ---------------------------------------------------------------- pair map */

static void pairmap_init(struct pairmap *m, size_t expect)
{
	size_t sz = 16;
	while (sz < expect * 2 + 2)
		sz <<= 1;
	m->keys = xcalloc(sz, sizeof *m->keys);
	m->rank = xcalloc(sz, sizeof *m->rank);
	m->merged = xcalloc(sz, sizeof *m->merged);
	m->mask = sz - 1;
}

static inline size_t pair_hash(uint64_t k)
{
	k ^= k >> 31;
	k *= 0x9e3779b97f4a7c15ull;
	k ^= k >> 29;
	return (size_t)k;
}

static void pairmap_put(struct pairmap *m, int32_t a, int32_t b, uint32_t rank, int32_t merged)
{
	uint64_t k = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
	size_t h = pair_hash(k) & m->mask;
	while (m->keys[h]) {
		if (m->keys[h] == k)
			return; /* first (lowest rank) wins */
		h = (h + 1) & m->mask;
	}
	m->keys[h] = k;
	m->rank[h] = rank;
	m->merged[h] = merged;
}

static inline bool pairmap_get(const struct pairmap *m, int32_t a, int32_t b, uint32_t *rank, int32_t *merged)
{
	uint64_t k = (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
	size_t h = pair_hash(k) & m->mask;
	while (m->keys[h]) {
		if (m->keys[h] == k) {
			*rank = m->rank[h];
			*merged = m->merged[h];
			return true;
		}
		h = (h + 1) & m->mask;
	}
	return false;
}

/* ---------------------------------------------------------------- loading */

struct load_ctx {
	char *err;
	size_t err_len;
	bool failed;
};

static void load_fail(struct load_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void load_fail(struct load_ctx *c, const char *fmt, ...)
{
	if (c->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, c->err_len, fmt, ap);
	va_end(ap);
	c->failed = true;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool jbool(const cJSON *o, const char *key, bool dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v);
	return dflt;
}

static pcre2_code *compile_re(struct load_ctx *c, const char *pat, size_t len)
{
	int ec;
	PCRE2_SIZE eo;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof msg);
		load_fail(c, "pre-tokenizer regex does not compile at offset %zu: %s", (size_t)eo, (char *)msg);
		return NULL;
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if JIT fails */
	return re;
}

static pcre2_code *compile_literal(struct load_ctx *c, const char *s)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "\\Q");
	for (const char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] == 'E')
			buf_puts(&b, "\\E\\\\E\\Q"), p++;
		else
			buf_putc(&b, *p);
	}
	buf_puts(&b, "\\E");
	pcre2_code *re = compile_re(c, b.data, b.len);
	buf_free(&b);
	return re;
}

static const char GPT2_PATTERN[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

static atomic_bool nfc_warned;
static atomic_uint_fast64_t wc_next_gen = 1; /* generation numbers of loaded tokenizers */

static void load_normalizer(struct tok_hf *h, struct load_ctx *c, const cJSON *n)
{
	if (!n || cJSON_IsNull(n))
		return;
	const char *type = jstr(n, "type");
	if (!type) {
		load_fail(c, "normalizer without type");
		return;
	}
	if (!strcmp(type, "Sequence")) {
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(n, "normalizers")) load_normalizer(h, c, e);
		return;
	}
	struct norm_op op = {0};
	if (!strcmp(type, "Prepend")) {
		const char *p = jstr(n, "prepend");
		if (!p) {
			load_fail(c, "Prepend normalizer without prepend");
			return;
		}
		op.kind = NORM_PREPEND;
		op.a = xstrdup(p);
		op.a_len = strlen(p);
	} else if (!strcmp(type, "Replace")) {
		const cJSON *pat = cJSON_GetObjectItemCaseSensitive(n, "pattern");
		const char *s = jstr(pat, "String"), *content = jstr(n, "content");
		if (!s || !content || !*s) {
			load_fail(c, "Replace normalizer: only non-empty String patterns are supported");
			return;
		}
		op.kind = NORM_REPLACE;
		op.a = xstrdup(s);
		op.a_len = strlen(s);
		op.b = xstrdup(content);
		op.b_len = strlen(content);
	} else if (!strcmp(type, "NFC")) {
		op.kind = NORM_NFC;
	} else if (!strcmp(type, "NFKC") || !strcmp(type, "NFD") || !strcmp(type, "NFKD")) {
		bool expected = false;
		if (atomic_compare_exchange_strong(&nfc_warned, &expected, true))
			log_warn("tokenizer: the %s normalizer is not implemented; text is assumed to be already "
			         "normalized (ids can differ for non-normalized input)",
			         type);
		op.kind = NORM_IDENTITY;
	} else {
		load_fail(c, "unsupported normalizer type '%s'", type);
		return;
	}
	h->norm = xrealloc(h->norm, (h->n_norm + 1) * sizeof *h->norm);
	h->norm[h->n_norm++] = op;
}

static int metaspace_scheme(const cJSON *n)
{
	const char *ps = jstr(n, "prepend_scheme");
	if (ps)
		return !strcmp(ps, "always") ? 2 : !strcmp(ps, "first") ? 1 : 0;
	return jbool(n, "add_prefix_space", true) ? 2 : 0;
}

static void metaspace_repl(const cJSON *n, char *out, size_t *len)
{
	const char *r = jstr(n, "replacement");
	if (!r || strlen(r) >= 8)
		r = "\xE2\x96\x81";
	*len = strlen(r);
	memcpy(out, r, *len);
}

static void load_pretok(struct tok_hf *h, struct load_ctx *c, const cJSON *n)
{
	if (!n || cJSON_IsNull(n))
		return;
	const char *type = jstr(n, "type");
	if (!type) {
		load_fail(c, "pre_tokenizer without type");
		return;
	}
	if (!strcmp(type, "Sequence")) {
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(n, "pretokenizers")) load_pretok(h, c, e);
		return;
	}
	struct pre_op op = {0};
	if (!strcmp(type, "Split")) {
		const cJSON *pat = cJSON_GetObjectItemCaseSensitive(n, "pattern");
		const char *rx = jstr(pat, "Regex"), *lit = jstr(pat, "String");
		const char *beh = jstr(n, "behavior");
		op.kind = PRE_SPLIT;
		if (rx)
			op.re = compile_re(c, rx, strlen(rx));
		else if (lit)
			op.re = compile_literal(c, lit);
		else
			load_fail(c, "Split pre-tokenizer without pattern");
		if (!beh || !strcmp(beh, "Isolated"))
			op.behavior = SB_ISOLATED;
		else if (!strcmp(beh, "Removed"))
			op.behavior = SB_REMOVED;
		else if (!strcmp(beh, "MergedWithPrevious"))
			op.behavior = SB_MERGED_PREV;
		else if (!strcmp(beh, "MergedWithNext"))
			op.behavior = SB_MERGED_NEXT;
		else if (!strcmp(beh, "Contiguous"))
			op.behavior = SB_CONTIGUOUS;
		else
			load_fail(c, "unsupported Split behavior '%s'", beh);
		op.invert = jbool(n, "invert", false);
	} else if (!strcmp(type, "ByteLevel")) {
		op.kind = PRE_BYTELEVEL;
		op.add_prefix_space = jbool(n, "add_prefix_space", true);
		if (jbool(n, "use_regex", true))
			op.re = compile_re(c, GPT2_PATTERN, strlen(GPT2_PATTERN));
		op.behavior = SB_ISOLATED;
		h->byte_level = true;
	} else if (!strcmp(type, "Metaspace")) {
		op.kind = PRE_METASPACE;
		metaspace_repl(n, op.repl, &op.repl_len);
		op.prepend_scheme = metaspace_scheme(n);
		op.ms_split = jbool(n, "split", true);
	} else if (!strcmp(type, "Digits")) {
		op.kind = PRE_SPLIT;
		op.re = jbool(n, "individual_digits", false) ? compile_re(c, "\\p{N}", 5) : compile_re(c, "\\p{N}+", 6);
		op.behavior = SB_ISOLATED;
	} else if (!strcmp(type, "Whitespace")) {
		op.kind = PRE_SPLIT;
		op.re = compile_re(c, "\\w+|[^\\w\\s]+", 13);
		op.behavior = SB_ISOLATED;
		op.invert = true; /* matches are kept, gaps (whitespace) removed */
		op.behavior = SB_REMOVED;
	} else if (!strcmp(type, "Punctuation")) {
		/* each punctuation character (Unicode P* or ASCII punctuation) is a delimiter */
		static const char punct[] = "[\\p{P}\\x21-\\x2F\\x3A-\\x40\\x5B-\\x60\\x7B-\\x7E]";
		const char *beh = jstr(n, "behavior");
		op.kind = PRE_SPLIT;
		op.re = compile_re(c, punct, strlen(punct));
		op.behavior = !beh || !strcmp(beh, "Isolated")     ? SB_ISOLATED
		              : !strcmp(beh, "Removed")            ? SB_REMOVED
		              : !strcmp(beh, "MergedWithPrevious") ? SB_MERGED_PREV
		              : !strcmp(beh, "MergedWithNext")     ? SB_MERGED_NEXT
		                                                   : SB_CONTIGUOUS;
	} else if (!strcmp(type, "WhitespaceSplit")) {
		op.kind = PRE_SPLIT;
		op.re = compile_re(c, "\\s+", 3);
		op.behavior = SB_REMOVED;
	} else {
		load_fail(c, "unsupported pre_tokenizer type '%s'", type);
		return;
	}
	h->pre = xrealloc(h->pre, (h->n_pre + 1) * sizeof *h->pre);
	h->pre[h->n_pre++] = op;
}

static void load_decoder(struct tok_hf *h, struct load_ctx *c, const cJSON *n)
{
	if (!n || cJSON_IsNull(n))
		return;
	const char *type = jstr(n, "type");
	if (!type) {
		load_fail(c, "decoder without type");
		return;
	}
	if (!strcmp(type, "Sequence")) {
		const cJSON *e;
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(n, "decoders")) load_decoder(h, c, e);
		return;
	}
	struct dec_op op = {0};
	if (!strcmp(type, "ByteLevel")) {
		op.kind = DEC_BYTELEVEL;
		h->byte_level = true;
	} else if (!strcmp(type, "Replace")) {
		const char *s = jstr(cJSON_GetObjectItemCaseSensitive(n, "pattern"), "String"),
		           *content = jstr(n, "content");
		if (!s || !content || !*s) {
			load_fail(c, "Replace decoder: only non-empty String patterns are supported");
			return;
		}
		op.kind = DEC_REPLACE;
		op.a = xstrdup(s);
		op.a_len = strlen(s);
		op.b = xstrdup(content);
		op.b_len = strlen(content);
	} else if (!strcmp(type, "ByteFallback")) {
		op.kind = DEC_BYTEFALLBACK;
	} else if (!strcmp(type, "Fuse")) {
		op.kind = DEC_FUSE;
	} else if (!strcmp(type, "Strip")) {
		const char *s = jstr(n, "content");
		op.kind = DEC_STRIP;
		op.strip_c = s && strlen(s) == 1 ? s[0] : ' ';
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(n, "start"),
		            *sp = cJSON_GetObjectItemCaseSensitive(n, "stop");
		op.strip_start = cJSON_IsNumber(st) ? st->valueint : 0;
		op.strip_stop = cJSON_IsNumber(sp) ? sp->valueint : 0;
	} else if (!strcmp(type, "Metaspace")) {
		op.kind = DEC_METASPACE;
		metaspace_repl(n, op.repl, &op.repl_len);
		op.ms_prepend = metaspace_scheme(n) != 0;
	} else {
		load_fail(c, "unsupported decoder type '%s'", type);
		return;
	}
	h->dec = xrealloc(h->dec, (h->n_dec + 1) * sizeof *h->dec);
	h->dec[h->n_dec++] = op;
}

static int added_cmp(const void *a, const void *b)
{
	const struct added_tok *x = a, *y = b;
	unsigned char fx = (unsigned char)x->s[0], fy = (unsigned char)y->s[0];
	if (fx != fy)
		return fx < fy ? -1 : 1;
	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The JSON of file: model.vocab and model.merges scanned into raw, cJSON for the rest (*fast), or
 * cJSON for all of it when the scan gives up. NULL, with the error in c, when the file cannot be
 * read or is not JSON. */
static cJSON *load_json(const char *file, struct tok_raw_tables *raw, bool *fast, struct load_ctx *c)
{
	size_t flen = 0;
	char *text = fs_read_file(file, &flen);
	if (!text) {
		load_fail(c, "%s: cannot read: %s", file, strerror(errno));
		return NULL;
	}
	size_t slim_len = 0;
	char *slim = tok_raw_scan(text, flen, raw, &slim_len);
	*fast = slim != NULL;
	cJSON *root = *fast ? cJSON_ParseWithLength(slim, slim_len) : cJSON_ParseWithLength(text, flen);
	free(slim);
	free(text);
	if (!root)
		load_fail(c, "%s: not valid JSON", file);
	return root;
}

/* model: BPE without subword affixes, and its options; the vocab and merges from cJSON when the
 * scan gave up. -1 (error in c) for anything else. */
static int load_model(struct tok_hf *h, struct load_ctx *c, const cJSON *model, struct tok_raw_tables *raw, bool fast,
                      const char *file)
{
	const char *mtype = jstr(model, "type");
	const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
	const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
	if (!model || !cJSON_IsObject(vocab) || !cJSON_IsArray(merges) || (mtype && strcmp(mtype, "BPE"))) {
		load_fail(c, "%s: only BPE models are supported (model.type=%s)", file, mtype ? mtype : "?");
		return -1;
	}
	if (!fast && tok_raw_from_cjson(vocab, merges, raw) != 0) {
		load_fail(c, "%s: bad vocab or merges entry", file);
		return -1;
	}
	const char *cs = jstr(model, "continuing_subword_prefix"), *ew = jstr(model, "end_of_word_suffix");
	if ((cs && *cs) || (ew && *ew)) {
		load_fail(c, "%s: continuing_subword_prefix/end_of_word_suffix are not supported", file);
		return -1;
	}
	h->ignore_merges = jbool(model, "ignore_merges", false);
	h->byte_fallback = jbool(model, "byte_fallback", false);
	h->fuse_unk = jbool(model, "fuse_unk", false);
	return 0;
}

/* Ids run up to the largest of the vocab's and the added tokens': allocates the per-id tables and
 * an arena for every token text, sized up front so that pointers into it stay valid. -1 (error in
 * c) on an id out of range or an added token without id or content. */
static int alloc_ids(struct tok_hf *h, struct load_ctx *c, const struct tok_raw_tables *raw, const cJSON *added,
                     const char *file)
{
	int64_t max_id = -1;
	size_t text_bytes = 0;
	for (size_t i = 0; i < raw->n_v; i++) {
		if (raw->v_id[i] < 0 || raw->v_id[i] > 100000000) {
			load_fail(c, "%s: bad vocab entry", file);
			return -1;
		}
		if (raw->v_id[i] > max_id)
			max_id = raw->v_id[i];
		text_bytes += raw->v_len[i] + 1;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, added)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
		const char *content = jstr(e, "content");
		if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > 1e8 || !content) {
			load_fail(c, "%s: bad added_tokens entry", file);
			return -1;
		}
		if ((int64_t)id->valuedouble > max_id)
			max_id = (int64_t)id->valuedouble;
		text_bytes += strlen(content) + 1;
		h->n_added++;
	}
	h->n_ids = (size_t)(max_id + 1);
	h->tok_off = xcalloc(h->n_ids, sizeof *h->tok_off);
	h->tok_len = xcalloc(h->n_ids, sizeof *h->tok_len);
	h->is_added = xcalloc(h->n_ids, sizeof *h->is_added);
	h->byte_of_id = xmalloc(h->n_ids * sizeof *h->byte_of_id);
	for (size_t i = 0; i < h->n_ids; i++)
		h->byte_of_id[i] = -1;
	h->arena = xmalloc(text_bytes + 1);
	return 0;
}

/* The vocab's token texts into the arena and h->vocab (byte-level: the bytes that the GPT-2
 * alphabet's characters stand for); orig maps each token as the file spells it to its id, for the
 * merges. present[id] marks the ids that have a token. */
static void load_vocab(struct tok_hf *h, const struct tok_raw_tables *raw, bool *present, struct tok_strmap *orig)
{
	/* byte-level reverse map: code point -> byte */
	uint32_t cp_of_byte[256];
	int16_t byte_of_cp[512];
	bytelevel_map(cp_of_byte);
	for (int i = 0; i < 512; i++)
		byte_of_cp[i] = -1;
	for (int b = 0; b < 256; b++)
		byte_of_cp[cp_of_byte[b]] = (int16_t)b;

	tok_strmap_init(orig, raw->n_v);
	tok_strmap_init(&h->vocab, raw->n_v);
	for (size_t vi = 0; vi < raw->n_v; vi++) {
		int32_t id = (int32_t)raw->v_id[vi];
		const char *s = raw->arena.data + raw->v_off[vi];
		size_t sl = raw->v_len[vi];
		tok_strmap_put(orig, s, sl, id);
		char *o = h->arena + h->arena_len;
		size_t ol = 0;
		bool mapped = h->byte_level;
		if (h->byte_level) {
			const unsigned char *u = (const unsigned char *)s;
			for (size_t i = 0; i < sl;) {
				size_t l = utf8_valid_len(u + i, sl - i);
				if (!l) {
					mapped = false;
					break;
				}
				size_t cl;
				uint32_t cp = utf8_cp(u + i, &cl);
				if (cp >= 512 || byte_of_cp[cp] < 0) {
					mapped = false;
					break;
				}
				o[ol++] = (char)byte_of_cp[cp];
				i += l;
			}
		}
		if (!mapped) {
			memcpy(o, s, sl);
			ol = sl;
		}
		o[ol] = 0;
		h->tok_off[id] = h->arena_len;
		h->tok_len[id] = (uint32_t)ol;
		h->arena_len += ol + 1;
		present[id] = true;
	}
	/* vocab map keys point into the arena (stable now: arena was sized up front) */
	for (size_t id = 0; id < h->n_ids; id++)
		if (present[id])
			tok_strmap_put(&h->vocab, h->arena + h->tok_off[id], h->tok_len[id], (int32_t)id);
}

/* byte_id: the token of each byte, a single-byte token (byte-level) or <0xXX> (byte fallback). */
static void load_byte_tokens(struct tok_hf *h)
{
	for (int b = 0; b < 256; b++) {
		int32_t id = -1;
		char k[16];
		if (h->byte_level) {
			k[0] = (char)b;
			if (!tok_strmap_get(&h->vocab, k, 1, &id))
				id = -1;
		} else {
			int kl = snprintf(k, sizeof k, "<0x%02X>", b);
			if (!tok_strmap_get(&h->vocab, k, (size_t)kl, &id))
				id = -1;
			if (id >= 0)
				h->byte_of_id[id] = (int16_t)b;
		}
		h->byte_id[b] = id;
	}
}

/* SentencePiece-style chunking safety: characters that precede U+2581 inside some token. */
static void load_sp_unsafe(struct tok_hf *h, const bool *present)
{
	tok_strmap_init(&h->sp_unsafe, 16);
	if (h->byte_level)
		return;
	h->sp_chunk = true;
	for (size_t id = 0; id < h->n_ids; id++) {
		if (!present[id])
			continue;
		const char *t = h->arena + h->tok_off[id];
		size_t tl = h->tok_len[id];
		for (size_t i = 1; i + 3 <= tl; i++) {
			if (memcmp(t + i, "\xE2\x96\x81", 3) != 0)
				continue;
			size_t l = i - 1;
			while (l > 0 && ((unsigned char)t[l] & 0xC0) == 0x80)
				l--;
			if (i - l == 3 && !memcmp(t + l, "\xE2\x96\x81", 3))
				continue;
			tok_strmap_put(&h->sp_unsafe, t + l, i - l, 1);
		}
	}
}

/* merges: (left id, right id) -> (rank, merged id), ranked in file order; a merge that names a
 * token the vocab lacks is skipped but keeps its rank. */
static void load_merges(struct tok_hf *h, const struct tok_raw_tables *raw, const struct tok_strmap *orig)
{
	pairmap_init(&h->merges, raw->n_m);
	struct buf cat;
	buf_init(&cat);
	uint32_t rank = 0;
	for (size_t mi = 0; mi < raw->n_m; mi++) {
		const char *a = raw->arena.data + raw->m_a[mi], *b = raw->arena.data + raw->m_b[mi];
		size_t al = raw->m_al[mi], bl = raw->m_bl[mi];
		int32_t ia, ib, im;
		buf_reset(&cat);
		buf_append(&cat, a, al);
		buf_append(&cat, b, bl);
		if (tok_strmap_get(orig, a, al, &ia) && tok_strmap_get(orig, b, bl, &ib) &&
		    tok_strmap_get(orig, cat.data, cat.len, &im))
			pairmap_put(&h->merges, ia, ib, rank, im);
		rank++;
	}
	buf_free(&cat);
}

/* added tokens: their text overrides their id's; the non-empty ones are matched in the input before
 * BPE, found through added_first by their first byte (longest first). */
static void load_added(struct tok_hf *h, struct load_ctx *c, const cJSON *added, bool *present)
{
	h->added = xcalloc(h->n_added + 1, sizeof *h->added);
	size_t na = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, added)
	{
		int32_t id = (int32_t)cJSON_GetObjectItemCaseSensitive(e, "id")->valuedouble;
		const char *content = jstr(e, "content");
		size_t cl = strlen(content);
		char *o = h->arena + h->arena_len;
		memcpy(o, content, cl + 1);
		h->tok_off[id] = h->arena_len;
		h->tok_len[id] = (uint32_t)cl;
		h->arena_len += cl + 1;
		h->is_added[id] = true;
		present[id] = true;
		if (cl == 0)
			continue;
		h->added[na].s = o;
		h->added[na].len = cl;
		h->added[na].id = id;
		h->added[na].lstrip = jbool(e, "lstrip", false);
		h->added[na].rstrip = jbool(e, "rstrip", false);
		h->added[na].single_word = jbool(e, "single_word", false);
		na++;
	}
	h->n_added = na;
	h->word_re = compile_re(c, "\\w", 2);
	qsort(h->added, h->n_added, sizeof *h->added, added_cmp);
	for (size_t i = 0; i < h->n_added; i++) {
		unsigned char f = (unsigned char)h->added[i].s[0];
		if (h->added_first[f][1] == 0)
			h->added_first[f][0] = (uint32_t)i;
		h->added_first[f][1] = (uint32_t)i + 1;
	}
}

struct tok_hf *tok_hf_load(const char *file, char *err, size_t err_len)
{
	struct load_ctx c = {.err = err, .err_len = err_len};
	struct tok_raw_tables raw;
	tok_raw_init(&raw);
	bool fast = false;
	cJSON *root = load_json(file, &raw, &fast, &c);
	if (!root) {
		tok_raw_free(&raw);
		return NULL;
	}
	struct tok_hf *h = xcalloc(1, sizeof *h);
	h->unk_id = -1;
	h->gen = atomic_fetch_add(&wc_next_gen, 1);
	bool *present = NULL;
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
	const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
	if (load_model(h, &c, model, &raw, fast, file) < 0)
		goto fail;
	load_normalizer(h, &c, cJSON_GetObjectItemCaseSensitive(root, "normalizer"));
	load_pretok(h, &c, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"));
	load_decoder(h, &c, cJSON_GetObjectItemCaseSensitive(root, "decoder"));
	if (c.failed || alloc_ids(h, &c, &raw, added, file) < 0)
		goto fail;

	present = xcalloc(h->n_ids, 1);
	struct tok_strmap orig;
	load_vocab(h, &raw, present, &orig);
	load_byte_tokens(h);
	load_sp_unsafe(h, present);
	const char *unk = jstr(model, "unk_token");
	if (unk && !tok_strmap_get(&h->vocab, unk, strlen(unk), &h->unk_id))
		h->unk_id = -1;
	load_merges(h, &raw, &orig);
	tok_strmap_free(&orig);
	load_added(h, &c, added, present);
	if (c.failed)
		goto fail;
	if (h->byte_level) {
		for (int b = 0; b < 256; b++)
			if (h->byte_id[b] < 0) {
				load_fail(&c, "%s: byte-level vocab lacks the token for byte 0x%02x", file, b);
				goto fail;
			}
	}
	free(present);
	cJSON_Delete(root);
	tok_raw_free(&raw);
	return h;
fail:
	free(present);
	cJSON_Delete(root);
	tok_raw_free(&raw);
	tok_hf_free(h);
	return NULL;
}

void tok_hf_free(struct tok_hf *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_norm; i++) {
		free(h->norm[i].a);
		free(h->norm[i].b);
	}
	for (size_t i = 0; i < h->n_pre; i++)
		pcre2_code_free(h->pre[i].re);
	for (size_t i = 0; i < h->n_dec; i++) {
		free(h->dec[i].a);
		free(h->dec[i].b);
	}
	free(h->norm);
	free(h->pre);
	free(h->dec);
	free(h->added);
	pcre2_code_free(h->word_re);
	free(h->arena);
	free(h->tok_off);
	free(h->tok_len);
	free(h->is_added);
	free(h->byte_of_id);
	tok_strmap_free(&h->vocab);
	if (h->sp_unsafe.slots)
		tok_strmap_free(&h->sp_unsafe);
	free(h->merges.keys);
	free(h->merges.rank);
	free(h->merges.merged);
	free(h);
}

size_t tok_hf_vocab_size(const struct tok_hf *h)
{
	return h->n_ids;
}

/* ---------------------------------------------------------------- encoding */

struct piece {
	size_t off, len; /* into enc.text */
};

/* Per-thread cache of BPE results per pre-token word. It belongs to one thread (pthread key with
 * a destructor), so nothing mutable is shared between threads; it is keyed by the generation
 * number of the tokenizer that filled it and emptied when another tokenizer uses it or when full. */
struct wc_entry {
	uint64_t hash;
	size_t key_off, ids_off;
	uint32_t key_len, ids_n;
};

#define WC_SLOTS (1u << 16)
#define WC_MAX_ENTRIES (1u << 15)
#define WC_MAX_KEY 64

struct wcache {
	uint64_t gen;
	uint32_t *slot; /* index+1 into e[], 0 = empty */
	struct wc_entry *e;
	size_t n;
	struct buf keys;
	struct tok_ids ids;
};

static pthread_key_t wc_key;
static pthread_once_t wc_once = PTHREAD_ONCE_INIT;

static void wc_destroy(void *p)
{
	struct wcache *c = p;
	if (!c)
		return;
	free(c->slot);
	free(c->e);
	buf_free(&c->keys);
	tok_ids_free(&c->ids);
	free(c);
}

static void wc_key_init(void)
{
	pthread_key_create(&wc_key, wc_destroy);
}

static void wc_reset(struct wcache *c, uint64_t gen)
{
	memset(c->slot, 0, WC_SLOTS * sizeof *c->slot);
	c->n = 0;
	c->keys.len = 0;
	c->ids.n = 0;
	c->gen = gen;
}

static struct wcache *wc_get(uint64_t gen)
{
	pthread_once(&wc_once, wc_key_init);
	struct wcache *c = pthread_getspecific(wc_key);
	if (!c) {
		c = xcalloc(1, sizeof *c);
		c->slot = xcalloc(WC_SLOTS, sizeof *c->slot);
		c->e = xcalloc(WC_MAX_ENTRIES, sizeof *c->e);
		buf_init(&c->keys);
		c->gen = gen;
		if (pthread_setspecific(wc_key, c) != 0) {
			wc_destroy(c);
			return NULL;
		}
	}
	if (c->gen != gen)
		wc_reset(c, gen);
	return c;
}

struct enc {
	const struct tok_hf *h;
	struct buf text; /* normalized segment + strings made by pre-tokenizers */
	struct piece *pc, *pc2;
	size_t n_pc, cap_pc, n_pc2, cap_pc2;
	pcre2_match_data *md;
	/* BPE scratch */
	int32_t *sym;
	uint32_t *srank;
	int32_t *smerged;
	size_t cap_sym;
	/* heap BPE scratch */
	int32_t *prev, *next;
	uint64_t *heap;
	size_t cap_heap, n_heap;
	struct tok_ids *out;
	struct wcache *wc; /* this thread's word cache (NULL: none) */
};

static void pc2_push(struct enc *e, size_t off, size_t len)
{
	if (len == 0)
		return;
	if (e->n_pc2 == e->cap_pc2)
		xgrow((void **)&e->pc2, &e->cap_pc2, e->n_pc2 + 1, sizeof *e->pc2);
	e->pc2[e->n_pc2].off = off;
	e->pc2[e->n_pc2].len = len;
	e->n_pc2++;
}

static void pc_swap(struct enc *e)
{
	struct piece *t = e->pc;
	size_t c = e->cap_pc;
	e->pc = e->pc2;
	e->cap_pc = e->cap_pc2;
	e->n_pc = e->n_pc2;
	e->pc2 = t;
	e->cap_pc2 = c;
	e->n_pc2 = 0;
}

/* spans of one piece: (start, end, is_match) */
struct span {
	size_t s, e;
	bool m;
};

static int split_piece(struct enc *e, const struct pre_op *op, struct piece p, struct span **spans, size_t *n_sp,
                       size_t *cap_sp)
{
	const char *subj = e->text.data + p.off;
	size_t pos = 0, prev = 0;
	*n_sp = 0;
	while (pos <= p.len) {
		int rc = pcre2_match(op->re, (PCRE2_SPTR)subj, p.len, pos, PCRE2_NO_UTF_CHECK, e->md, NULL);
		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0)
			return -1;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
		size_t ms = ov[0], me = ov[1];
		if (me == ms) {
			/* empty match: step one character */
			if (ms >= p.len)
				break;
			pos = ms + 1;
			while (pos < p.len && ((unsigned char)subj[pos] & 0xC0) == 0x80)
				pos++;
			continue;
		}
		xgrow((void **)spans, cap_sp, *n_sp + 2, sizeof **spans);
		if (ms > prev)
			(*spans)[(*n_sp)++] = (struct span){prev, ms, false};
		(*spans)[(*n_sp)++] = (struct span){ms, me, true};
		prev = pos = me;
	}
	xgrow((void **)spans, cap_sp, *n_sp + 1, sizeof **spans);
	if (prev < p.len)
		(*spans)[(*n_sp)++] = (struct span){prev, p.len, false};
	if (op->invert)
		for (size_t i = 0; i < *n_sp; i++)
			(*spans)[i].m = !(*spans)[i].m;
	return 0;
}

static int apply_split(struct enc *e, const struct pre_op *op)
{
	struct span *sp = NULL;
	size_t n_sp = 0, cap_sp = 0;
	e->n_pc2 = 0;
	for (size_t i = 0; i < e->n_pc; i++) {
		struct piece p = e->pc[i];
		if (split_piece(e, op, p, &sp, &n_sp, &cap_sp) != 0) {
			free(sp);
			return -1;
		}
		/* fold spans into output pieces following the behavior */
		size_t out_begin = e->n_pc2;
		bool prev_m = false;
		switch (op->behavior) {
		case SB_REMOVED:
			for (size_t k = 0; k < n_sp; k++)
				if (!sp[k].m)
					pc2_push(e, p.off + sp[k].s, sp[k].e - sp[k].s);
			break;
		case SB_ISOLATED:
			for (size_t k = 0; k < n_sp; k++)
				pc2_push(e, p.off + sp[k].s, sp[k].e - sp[k].s);
			break;
		case SB_MERGED_PREV:
			for (size_t k = 0; k < n_sp; k++) {
				if (sp[k].m && !prev_m && e->n_pc2 > out_begin)
					e->pc2[e->n_pc2 - 1].len = p.off + sp[k].e - e->pc2[e->n_pc2 - 1].off;
				else
					pc2_push(e, p.off + sp[k].s, sp[k].e - sp[k].s);
				prev_m = sp[k].m;
			}
			break;
		case SB_MERGED_NEXT: {
			/* walk backwards, then reverse the produced pieces */
			for (size_t kk = n_sp; kk-- > 0;) {
				if (sp[kk].m && !prev_m && e->n_pc2 > out_begin) {
					struct piece *l = &e->pc2[e->n_pc2 - 1];
					size_t end = l->off + l->len;
					l->off = p.off + sp[kk].s;
					l->len = end - l->off;
				} else {
					pc2_push(e, p.off + sp[kk].s, sp[kk].e - sp[kk].s);
				}
				prev_m = sp[kk].m;
			}
			for (size_t a = out_begin, b = e->n_pc2; b > a + 1; a++, b--) {
				struct piece t = e->pc2[a];
				e->pc2[a] = e->pc2[b - 1];
				e->pc2[b - 1] = t;
			}
			break;
		}
		case SB_CONTIGUOUS:
			for (size_t k = 0; k < n_sp; k++) {
				if (sp[k].m == prev_m && e->n_pc2 > out_begin)
					e->pc2[e->n_pc2 - 1].len = p.off + sp[k].e - e->pc2[e->n_pc2 - 1].off;
				else
					pc2_push(e, p.off + sp[k].s, sp[k].e - sp[k].s);
				prev_m = sp[k].m;
			}
			break;
		}
	}
	free(sp);
	pc_swap(e);
	return 0;
}

static int pretokenize(struct enc *e, bool first_segment)
{
	const struct tok_hf *h = e->h;
	for (size_t oi = 0; oi < h->n_pre; oi++) {
		const struct pre_op *op = &h->pre[oi];
		if (op->kind == PRE_SPLIT) {
			if (apply_split(e, op) != 0)
				return -1;
		} else if (op->kind == PRE_BYTELEVEL) {
			if (op->add_prefix_space) {
				for (size_t i = 0; i < e->n_pc; i++) {
					struct piece *p = &e->pc[i];
					if (e->text.data[p->off] == ' ')
						continue;
					size_t noff = e->text.len;
					buf_reserve(&e->text, p->len + 1);
					buf_putc(&e->text, ' ');
					buf_append(&e->text, e->text.data + p->off, p->len);
					p->off = noff;
					p->len++;
				}
			}
			if (op->re && apply_split(e, op) != 0)
				return -1;
		} else if (op->kind == PRE_METASPACE) {
			for (size_t i = 0; i < e->n_pc; i++) {
				struct piece *p = &e->pc[i];
				size_t noff = e->text.len;
				/* as tokenizers does: spaces are replaced first, then the replacement is prepended
				 * unless the piece already starts with it */
				bool prepend =
				    op->prepend_scheme == 2 || (op->prepend_scheme == 1 && first_segment && i == 0);
				bool starts = p->len > 0 && (e->text.data[p->off] == ' ' ||
				                             (p->len >= op->repl_len &&
				                              !memcmp(e->text.data + p->off, op->repl, op->repl_len)));
				if (prepend && !starts)
					buf_append(&e->text, op->repl, op->repl_len);
				for (size_t k = 0; k < p->len; k++) {
					char ch = e->text.data[p->off + k];
					if (ch == ' ')
						buf_append(&e->text, op->repl, op->repl_len);
					else
						buf_putc(&e->text, ch);
				}
				p->off = noff;
				p->len = e->text.len - noff;
			}
			if (op->ms_split) {
				/* split before each replacement (MergedWithNext) */
				e->n_pc2 = 0;
				for (size_t i = 0; i < e->n_pc; i++) {
					struct piece p = e->pc[i];
					const char *s = e->text.data + p.off;
					size_t start = 0;
					for (size_t k = 0; k + op->repl_len <= p.len; k++) {
						if (k > start && !memcmp(s + k, op->repl, op->repl_len)) {
							pc2_push(e, p.off + start, k - start);
							start = k;
						}
					}
					pc2_push(e, p.off + start, p.len - start);
				}
				pc_swap(e);
			}
		}
	}
	return 0;
}

static void sym_reserve(struct enc *e, size_t n)
{
	if (n <= e->cap_sym)
		return;
	size_t c = e->cap_sym;
	xgrow((void **)&e->sym, &c, n, sizeof *e->sym);
	c = e->cap_sym;
	xgrow((void **)&e->srank, &c, n, sizeof *e->srank);
	c = e->cap_sym;
	xgrow((void **)&e->smerged, &c, n, sizeof *e->smerged);
	c = e->cap_sym;
	xgrow((void **)&e->prev, &c, n, sizeof *e->prev);
	c = e->cap_sym;
	xgrow((void **)&e->next, &c, n, sizeof *e->next);
	e->cap_sym = c;
}

#define NO_RANK UINT32_MAX

static inline uint32_t pair_rank(const struct tok_hf *h, int32_t a, int32_t b, int32_t *merged)
{
	uint32_t r;
	if (pairmap_get(&h->merges, a, b, &r, merged))
		return r;
	return NO_RANK;
}

/* Heap entries: rank << 32 | position (left symbol index): min-heap gives rank, then leftmost.
 * Not core/heap: this one runs in the innermost loop of encoding words longer than 64 symbols
 * (docs/TOKENIZER.md, Thread safety and performance), where 8-byte entries compared as integers in
 * inlined code cost less than core/heap's 32-byte entries and calls (not measured side by side). */
static void bpe_heap_push(struct enc *e, uint64_t v)
{
	if (e->n_heap == e->cap_heap)
		xgrow((void **)&e->heap, &e->cap_heap, e->n_heap + 1, sizeof *e->heap);
	size_t i = e->n_heap++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (e->heap[p] <= v)
			break;
		e->heap[i] = e->heap[p];
		i = p;
	}
	e->heap[i] = v;
}

static uint64_t bpe_heap_pop(struct enc *e)
{
	uint64_t top = e->heap[0], v = e->heap[--e->n_heap];
	size_t i = 0, n = e->n_heap;
	for (;;) {
		size_t l = 2 * i + 1;
		if (l >= n)
			break;
		size_t m = (l + 1 < n && e->heap[l + 1] < e->heap[l]) ? l + 1 : l;
		if (e->heap[m] >= v)
			break;
		e->heap[i] = e->heap[m];
		i = m;
	}
	if (n)
		e->heap[i] = v;
	return top;
}

static void bpe_merge_small(struct enc *e, size_t n)
{
	const struct tok_hf *h = e->h;
	int32_t *s = e->sym;
	uint32_t *r = e->srank;
	int32_t *mg = e->smerged;
	for (size_t i = 0; i + 1 < n; i++)
		r[i] = pair_rank(h, s[i], s[i + 1], &mg[i]);
	while (n > 1) {
		size_t best = 0;
		uint32_t br = NO_RANK;
		for (size_t i = 0; i + 1 < n; i++)
			if (r[i] < br) {
				br = r[i];
				best = i;
			}
		if (br == NO_RANK)
			break;
		s[best] = mg[best];
		memmove(s + best + 1, s + best + 2, (n - best - 2) * sizeof *s);
		memmove(r + best + 1, r + best + 2, (n - best - 2) * sizeof *r);
		memmove(mg + best + 1, mg + best + 2, (n - best - 2) * sizeof *mg);
		n--;
		if (best + 1 < n)
			r[best] = pair_rank(h, s[best], s[best + 1], &mg[best]);
		else
			r[best] = NO_RANK;
		if (best > 0)
			r[best - 1] = pair_rank(h, s[best - 1], s[best], &mg[best - 1]);
	}
	for (size_t i = 0; i < n; i++)
		tok_ids_push(e->out, s[i]);
}

static void bpe_merge_heap(struct enc *e, size_t n)
{
	const struct tok_hf *h = e->h;
	int32_t *s = e->sym, *prev = e->prev, *next = e->next;
	int32_t mg = -1;
	e->n_heap = 0;
	for (size_t i = 0; i < n; i++) {
		prev[i] = (int32_t)i - 1;
		next[i] = i + 1 < n ? (int32_t)i + 1 : -1;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		uint32_t r = pair_rank(h, s[i], s[i + 1], &mg);
		if (r != NO_RANK)
			bpe_heap_push(e, ((uint64_t)r << 32) | i);
	}
	while (e->n_heap) {
		uint64_t top = bpe_heap_pop(e);
		uint32_t r = (uint32_t)(top >> 32);
		int32_t i = (int32_t)(uint32_t)top;
		if (s[i] < 0 || next[i] < 0)
			continue;
		int32_t j = next[i];
		if (pair_rank(h, s[i], s[j], &mg) != r)
			continue; /* stale entry */
		s[i] = mg;
		s[j] = -1;
		next[i] = next[j];
		if (next[j] >= 0)
			prev[next[j]] = i;
		if (prev[i] >= 0) {
			uint32_t r2 = pair_rank(h, s[prev[i]], s[i], &mg);
			if (r2 != NO_RANK)
				bpe_heap_push(e, ((uint64_t)r2 << 32) | (uint32_t)prev[i]);
		}
		if (next[i] >= 0) {
			uint32_t r2 = pair_rank(h, s[i], s[next[i]], &mg);
			if (r2 != NO_RANK)
				bpe_heap_push(e, ((uint64_t)r2 << 32) | (uint32_t)i);
		}
	}
	for (int32_t i = 0; i >= 0; i = next[i])
		tok_ids_push(e->out, s[i]);
}

#define SMALL_BPE 64

static int bpe_word_uncached(struct enc *e, const char *w, size_t len)
{
	const struct tok_hf *h = e->h;
	int32_t id;
	if (h->ignore_merges && tok_strmap_get(&h->vocab, w, len, &id)) {
		tok_ids_push(e->out, id);
		return 0;
	}
	sym_reserve(e, len + 1);
	size_t n = 0;
	if (h->byte_level) {
		for (size_t i = 0; i < len; i++)
			e->sym[n++] = h->byte_id[(unsigned char)w[i]];
	} else {
		const unsigned char *u = (const unsigned char *)w;
		bool prev_unk = false;
		for (size_t i = 0; i < len;) {
			size_t cl = utf8_valid_len(u + i, len - i);
			if (!cl)
				cl = 1;
			if (tok_strmap_get(&h->vocab, w + i, cl, &id)) {
				e->sym[n++] = id;
				prev_unk = false;
			} else {
				bool all = h->byte_fallback;
				for (size_t k = 0; all && k < cl; k++)
					all = h->byte_id[u[i + k]] >= 0;
				if (all) {
					for (size_t k = 0; k < cl; k++)
						e->sym[n++] = h->byte_id[u[i + k]];
					prev_unk = false;
				} else {
					if (h->unk_id < 0)
						return -1;
					if (!(h->fuse_unk && prev_unk))
						e->sym[n++] = h->unk_id;
					prev_unk = true;
				}
			}
			i += cl;
		}
	}
	if (n <= SMALL_BPE)
		bpe_merge_small(e, n);
	else
		bpe_merge_heap(e, n);
	return 0;
}

static int bpe_word(struct enc *e, const char *w, size_t len)
{
	struct wcache *c = e->wc;
	int32_t id;
	if (e->h->ignore_merges && tok_strmap_get(&e->h->vocab, w, len, &id)) {
		tok_ids_push(e->out, id); /* a whole-word hit costs no more than a cache hit */
		return 0;
	}
	if (!c || len > WC_MAX_KEY)
		return bpe_word_uncached(e, w, len);
	uint64_t hv = tok_hash_bytes(w, len);
	size_t i = (size_t)hv & (WC_SLOTS - 1);
	while (c->slot[i]) {
		const struct wc_entry *x = &c->e[c->slot[i] - 1];
		if (x->hash == hv && x->key_len == len && !memcmp(c->keys.data + x->key_off, w, len)) {
			for (uint32_t k = 0; k < x->ids_n; k++)
				tok_ids_push(e->out, c->ids.v[x->ids_off + k]);
			return 0;
		}
		i = (i + 1) & (WC_SLOTS - 1);
	}
	size_t before = e->out->n;
	if (bpe_word_uncached(e, w, len) != 0)
		return -1;
	if (c->n >= WC_MAX_ENTRIES) {
		wc_reset(c, c->gen); /* full: start over */
		i = (size_t)hv & (WC_SLOTS - 1);
	}
	struct wc_entry *x = &c->e[c->n];
	x->hash = hv;
	x->key_off = c->keys.len;
	x->key_len = (uint32_t)len;
	buf_append(&c->keys, w, len);
	x->ids_off = c->ids.n;
	x->ids_n = (uint32_t)(e->out->n - before);
	for (size_t k = before; k < e->out->n; k++)
		tok_ids_push(&c->ids, e->out->v[k]);
	c->slot[i] = (uint32_t)++c->n;
	return 0;
}

#define SP_MARK "\xE2\x96\x81"

/* BPE of one pre-token; SentencePiece-style pieces are first cut at safe U+2581 boundaries. */
static int bpe_piece(struct enc *e, const char *w, size_t len)
{
	const struct tok_hf *h = e->h;
	if (!h->sp_chunk || len < 8)
		return bpe_word(e, w, len);
	size_t start = 0;
	for (size_t i = 1; i + 3 <= len; i++) {
		if (memcmp(w + i, SP_MARK, 3) != 0)
			continue;
		/* left neighbour character */
		size_t l = i - 1;
		while (l > 0 && ((unsigned char)w[l] & 0xC0) == 0x80)
			l--;
		if (i - l == 3 && !memcmp(w + l, SP_MARK, 3))
			continue; /* inside a run of U+2581 */
		int32_t dummy;
		if (tok_strmap_get(&h->sp_unsafe, w + l, i - l, &dummy))
			continue;
		if (i > start && bpe_word(e, w + start, i - start) != 0)
			return -1;
		start = i;
	}
	return bpe_word(e, w + start, len - start);
}

static void normalize(struct enc *e, const char *s, size_t len, struct buf *tmp)
{
	const struct tok_hf *h = e->h;
	buf_reset(&e->text);
	buf_append(&e->text, s, len);
	for (size_t i = 0; i < h->n_norm; i++) {
		const struct norm_op *op = &h->norm[i];
		if (op->kind == NORM_PREPEND) {
			if (e->text.len == 0)
				continue;
			buf_reset(tmp);
			buf_append(tmp, op->a, op->a_len);
			buf_append(tmp, e->text.data, e->text.len);
		} else if (op->kind == NORM_REPLACE) {
			buf_reset(tmp);
			const char *t = e->text.data;
			size_t n = e->text.len;
			for (size_t k = 0; k < n;) {
				if (k + op->a_len <= n && !memcmp(t + k, op->a, op->a_len)) {
					buf_append(tmp, op->b, op->b_len);
					k += op->a_len;
				} else {
					buf_putc(tmp, t[k]);
					k++;
				}
			}
		} else if (op->kind == NORM_NFC) {
			if (tok_nfc_trivial(e->text.data, e->text.len))
				continue;
			buf_reset(tmp);
			tok_nfc(e->text.data, e->text.len, tmp);
		} else {
			continue;
		}
		buf_reset(&e->text);
		buf_append(&e->text, tmp->data, tmp->len);
	}
}

static int encode_segment(struct enc *e, const char *s, size_t len, bool first, struct buf *tmp)
{
	if (len == 0)
		return 0;
	normalize(e, s, len, tmp);
	if (e->text.len == 0)
		return 0;
	e->n_pc = 0;
	if (e->cap_pc == 0)
		xgrow((void **)&e->pc, &e->cap_pc, 16, sizeof *e->pc);
	e->pc[0].off = 0;
	e->pc[0].len = e->text.len;
	e->n_pc = 1;
	if (pretokenize(e, first) != 0)
		return -1;
	for (size_t i = 0; i < e->n_pc; i++)
		if (bpe_piece(e, e->text.data + e->pc[i].off, e->pc[i].len) != 0)
			return -1;
	return 0;
}

/* Unicode White_Space (what Rust's char::is_whitespace tests). */
static bool cp_is_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Is the character at byte offset pos a word character (\w, Unicode)? For single_word tokens. */
static bool is_word_at(const struct tok_hf *h, pcre2_match_data *md, const char *text, size_t len, size_t pos)
{
	return pcre2_match(h->word_re, (PCRE2_SPTR)text, len, pos, PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK, md, NULL) > 0;
}

static bool ends_with_word(const struct tok_hf *h, pcre2_match_data *md, const char *text, size_t len, size_t end)
{
	size_t l = end - 1;
	while (l > 0 && ((unsigned char)text[l] & 0xC0) == 0x80)
		l--;
	return is_word_at(h, md, text, len, l);
}

int tok_hf_encode(const struct tok_hf *h, const char *text, size_t len, struct tok_ids *out)
{
	struct buf lossy, tmp;
	buf_init(&lossy);
	buf_init(&tmp);
	if (!utf8_valid(text, len)) {
		utf8_lossy(text, len, &lossy);
		text = lossy.data;
		len = lossy.len;
	}
	struct enc e = {.h = h, .out = out};
	buf_init(&e.text);
	e.md = pcre2_match_data_create(4, NULL);
	e.wc = wc_get(h->gen);
	int rc = 0;
	size_t seg = 0;
	bool first = true;
	for (size_t i = 0; i < len && rc == 0;) {
		unsigned char f = (unsigned char)text[i];
		const struct added_tok *hit = NULL;
		for (uint32_t k = h->added_first[f][0]; k < h->added_first[f][1]; k++) {
			const struct added_tok *a = &h->added[k];
			if (a->len <= len - i && !memcmp(text + i, a->s, a->len)) {
				hit = a;
				break;
			}
		}
		if (!hit) {
			i++;
			continue;
		}
		size_t start = i, stop = i + hit->len;
		if (hit->single_word && ((start > 0 && ends_with_word(h, e.md, text, len, start)) ||
		                         (stop < len && is_word_at(h, e.md, text, len, stop)))) {
			i = stop; /* not a match; searching resumes after it, as in tokenizers */
			continue;
		}
		if (hit->lstrip) {
			size_t ns = start;
			while (ns > seg) {
				size_t l = ns - 1;
				while (l > 0 && ((unsigned char)text[l] & 0xC0) == 0x80)
					l--;
				size_t cl;
				if (!cp_is_space(utf8_cp((const unsigned char *)text + l, &cl)))
					break;
				ns = l;
			}
			start = ns;
		}
		if (hit->rstrip) {
			while (stop < len) {
				size_t cl;
				if (!cp_is_space(utf8_cp((const unsigned char *)text + stop, &cl)))
					break;
				stop += cl;
			}
		}
		rc = encode_segment(&e, text + seg, start - seg, first, &tmp);
		first = false;
		tok_ids_push(out, hit->id);
		i = stop;
		seg = i;
	}
	if (rc == 0)
		rc = encode_segment(&e, text + seg, len - seg, first, &tmp);
	pcre2_match_data_free(e.md);
	buf_free(&e.text);
	free(e.pc);
	free(e.pc2);
	free(e.sym);
	free(e.srank);
	free(e.smerged);
	free(e.prev);
	free(e.next);
	free(e.heap);
	buf_free(&lossy);
	buf_free(&tmp);
	return rc;
}

/* ---------------------------------------------------------------- decoding */

/* Tokens as (off, len) strings in a buffer; decoders rewrite the list. */
struct dtok {
	size_t off, len;
};

static void replace_into(struct buf *o, const char *s, size_t n, const char *a, size_t al, const char *b, size_t bl)
{
	for (size_t k = 0; k < n;) {
		if (k + al <= n && !memcmp(s + k, a, al)) {
			buf_append(o, b, bl);
			k += al;
		} else {
			buf_putc(o, s[k++]);
		}
	}
}

int tok_hf_decode(const struct tok_hf *h, const int32_t *ids, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] < 0 || (size_t)ids[i] >= h->n_ids)
			return -1;
	bool simple = true; /* byte-level only: token bytes concatenate */
	for (size_t d = 0; d < h->n_dec; d++)
		if (h->dec[d].kind != DEC_BYTELEVEL && h->dec[d].kind != DEC_FUSE)
			simple = false;
	if (simple) {
		for (size_t i = 0; i < n; i++)
			buf_append(out, h->arena + h->tok_off[ids[i]], h->tok_len[ids[i]]);
		return 0;
	}
	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	struct dtok *ta = xcalloc(n + 1, sizeof *ta), *tb = xcalloc(n + 1, sizeof *tb);
	size_t nt = n;
	for (size_t i = 0; i < n; i++) {
		ta[i].off = a.len;
		ta[i].len = h->tok_len[ids[i]];
		buf_append(&a, h->arena + h->tok_off[ids[i]], h->tok_len[ids[i]]);
	}
	for (size_t d = 0; d < h->n_dec; d++) {
		const struct dec_op *op = &h->dec[d];
		size_t nb = 0;
		buf_reset(&b);
		switch (op->kind) {
		case DEC_BYTELEVEL:
			continue;
		case DEC_REPLACE:
		case DEC_METASPACE:
			for (size_t i = 0; i < nt; i++) {
				tb[nb].off = b.len;
				const char *s = a.data + ta[i].off;
				size_t sl = ta[i].len;
				if (op->kind == DEC_REPLACE) {
					replace_into(&b, s, sl, op->a, op->a_len, op->b, op->b_len);
				} else {
					/* tokenizers drops every replacement character of the first token */
					bool drop = i == 0 && op->ms_prepend;
					replace_into(&b, s, sl, op->repl, op->repl_len, " ", drop ? 0 : 1);
				}
				tb[nb].len = b.len - tb[nb].off;
				nb++;
			}
			break;
		case DEC_BYTEFALLBACK:
			for (size_t i = 0; i < nt;) {
				/* a run of <0xXX> tokens becomes its bytes (U+FFFD per byte if not valid UTF-8) */
				size_t j = i;
				size_t start = b.len;
				while (j < nt && ta[j].len == 6 && !memcmp(a.data + ta[j].off, "<0x", 3) &&
				       a.data[ta[j].off + 5] == '>') {
					unsigned v;
					char hex[3] = {a.data[ta[j].off + 3], a.data[ta[j].off + 4], 0};
					char *end;
					v = (unsigned)strtoul(hex, &end, 16);
					if (*end)
						break;
					buf_putc(&b, (char)v);
					j++;
				}
				if (j > i) {
					if (!utf8_valid(b.data + start, b.len - start)) {
						size_t cnt = b.len - start;
						b.len = start;
						for (size_t k = 0; k < cnt; k++)
							buf_append(&b, "\xEF\xBF\xBD", 3);
					}
					tb[nb].off = start;
					tb[nb].len = b.len - start;
					nb++;
					i = j;
					continue;
				}
				tb[nb].off = b.len;
				buf_append(&b, a.data + ta[i].off, ta[i].len);
				tb[nb].len = ta[i].len;
				nb++;
				i++;
			}
			break;
		case DEC_FUSE:
			tb[0].off = 0;
			for (size_t i = 0; i < nt; i++)
				buf_append(&b, a.data + ta[i].off, ta[i].len);
			tb[0].len = b.len;
			nb = nt ? 1 : 0;
			break;
		case DEC_STRIP:
			for (size_t i = 0; i < nt; i++) {
				const char *s = a.data + ta[i].off;
				size_t sl = ta[i].len, st = 0, en = sl;
				for (int k = 0; k < op->strip_start && st < en && s[st] == op->strip_c; k++)
					st++;
				for (int k = 0; k < op->strip_stop && en > st && s[en - 1] == op->strip_c; k++)
					en--;
				tb[nb].off = b.len;
				buf_append(&b, s + st, en - st);
				tb[nb].len = en - st;
				nb++;
			}
			break;
		}
		struct buf t = a;
		a = b;
		b = t;
		struct dtok *tt = ta;
		ta = tb;
		tb = tt;
		nt = nb;
	}
	for (size_t i = 0; i < nt; i++)
		buf_append(out, a.data + ta[i].off, ta[i].len);
	free(ta);
	free(tb);
	buf_free(&a);
	buf_free(&b);
	return 0;
}
