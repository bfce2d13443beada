/* A scanner for the two large members of a tokenizer.json, model.vocab and model.merges: they hold
 * almost all of the file, and cJSON would allocate a node per entry, so they are scanned here and cut
 * out of the text given to cJSON. Only the JSON that these members use is understood; anything
 * unusual makes the scan give up, and the loader then reads them from cJSON (docs/TOKENIZER.md,
 * Thread safety and performance). */
#include "tokenizer/tok_hf_scan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "tokenizer/tok_nfc.h"

void tok_raw_init(struct tok_raw_tables *r)
{
	memset(r, 0, sizeof *r);
	buf_init(&r->arena);
}

void tok_raw_free(struct tok_raw_tables *r)
{
	buf_free(&r->arena);
	free(r->v_off);
	free(r->v_len);
	free(r->v_id);
	free(r->m_a);
	free(r->m_b);
	free(r->m_al);
	free(r->m_bl);
	memset(r, 0, sizeof *r);
}

static void raw_vocab_push(struct tok_raw_tables *r, size_t off, size_t len, int64_t id)
{
	xgrow((void **)&r->v_off, &r->cap_v, r->n_v + 1, sizeof *r->v_off);
	xgrow((void **)&r->v_len, &r->cap_v2, r->n_v + 1, sizeof *r->v_len);
	xgrow((void **)&r->v_id, &r->cap_v3, r->n_v + 1, sizeof *r->v_id);
	r->v_off[r->n_v] = off;
	r->v_len[r->n_v] = (uint32_t)len;
	r->v_id[r->n_v] = id;
	r->n_v++;
}

static void raw_merge_push(struct tok_raw_tables *r, size_t a, size_t al, size_t b, size_t bl)
{
	xgrow((void **)&r->m_a, &r->cap_m1, r->n_m + 1, sizeof *r->m_a);
	xgrow((void **)&r->m_b, &r->cap_m2, r->n_m + 1, sizeof *r->m_b);
	xgrow((void **)&r->m_al, &r->cap_m3, r->n_m + 1, sizeof *r->m_al);
	xgrow((void **)&r->m_bl, &r->cap_m4, r->n_m + 1, sizeof *r->m_bl);
	r->m_a[r->n_m] = a;
	r->m_al[r->n_m] = (uint32_t)al;
	r->m_b[r->n_m] = b;
	r->m_bl[r->n_m] = (uint32_t)bl;
	r->n_m++;
}

static const char *js_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static int js_hex4(const char *p, const char *e, uint32_t *v)
{
	if (e - p < 4)
		return -1;
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char ch = p[i];
		unsigned d;
		if (ch >= '0' && ch <= '9')
			d = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			d = (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			d = (unsigned)(ch - 'A' + 10);
		else
			return -1;
		*v = (*v << 4) | d;
	}
	return 0;
}

/* Decode the JSON string at p (which must be '"') onto o; NULL on malformed input. Strings with a
 * lone surrogate escape are refused (the cJSON fallback then decides). */
static const char *js_string(const char *p, const char *e, struct buf *o)
{
	if (p >= e || *p != '"')
		return NULL;
	p++;
	for (;;) {
		const char *q = p;
		while (q < e && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
			q++;
		buf_append(o, p, (size_t)(q - p));
		if (q >= e || (unsigned char)*q < 0x20)
			return NULL;
		if (*q == '"')
			return q + 1;
		q++;
		if (q >= e)
			return NULL;
		char ch = *q++;
		switch (ch) {
		case '"':
			buf_putc(o, '"');
			break;
		case '\\':
			buf_putc(o, '\\');
			break;
		case '/':
			buf_putc(o, '/');
			break;
		case 'b':
			buf_putc(o, '\b');
			break;
		case 'f':
			buf_putc(o, '\f');
			break;
		case 'n':
			buf_putc(o, '\n');
			break;
		case 'r':
			buf_putc(o, '\r');
			break;
		case 't':
			buf_putc(o, '\t');
			break;
		case 'u': {
			uint32_t cp;
			if (js_hex4(q, e, &cp))
				return NULL;
			q += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				uint32_t lo;
				if (e - q < 6 || q[0] != '\\' || q[1] != 'u' || js_hex4(q + 2, e, &lo) || lo < 0xDC00 ||
				    lo > 0xDFFF)
					return NULL;
				q += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				return NULL;
			}
			tok_utf8_append(o, cp);
			break;
		}
		default:
			return NULL;
		}
		p = q;
	}
}

/* Skip any JSON value; NULL on malformed input. */
static const char *js_skip(const char *p, const char *e)
{
	p = js_ws(p, e);
	if (p >= e)
		return NULL;
	if (*p == '"') {
		p++;
		while (p < e && *p != '"') {
			if (*p == '\\')
				p++;
			p++;
		}
		return p < e ? p + 1 : NULL;
	}
	if (*p == '{' || *p == '[') {
		int depth = 0;
		while (p < e) {
			char ch = *p;
			if (ch == '"') {
				p = js_skip(p, e);
				if (!p)
					return NULL;
				continue;
			}
			if (ch == '{' || ch == '[')
				depth++;
			else if (ch == '}' || ch == ']') {
				if (--depth == 0)
					return p + 1;
			}
			p++;
		}
		return NULL;
	}
	while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' && *p != '\r' && *p != '\t')
		p++;
	return p;
}

/* In the object at p, the start of the value of member `key` (NULL if absent or malformed). */
static const char *js_member(const char *p, const char *e, const char *key, struct buf *tmp)
{
	p = js_ws(p, e);
	if (p >= e || *p != '{')
		return NULL;
	p = js_ws(p + 1, e);
	while (p < e && *p != '}') {
		buf_reset(tmp);
		p = js_string(p, e, tmp);
		if (!p)
			return NULL;
		p = js_ws(p, e);
		if (p >= e || *p != ':')
			return NULL;
		p = js_ws(p + 1, e);
		if (tmp->len == strlen(key) && !memcmp(tmp->data, key, tmp->len))
			return p;
		p = js_skip(p, e);
		if (!p)
			return NULL;
		p = js_ws(p, e);
		if (p < e && *p == ',')
			p = js_ws(p + 1, e);
	}
	return NULL;
}

static const char *parse_vocab(const char *p, const char *e, struct tok_raw_tables *r)
{
	p = js_ws(p, e);
	if (p >= e || *p != '{')
		return NULL;
	p = js_ws(p + 1, e);
	while (p < e && *p != '}') {
		size_t off = r->arena.len;
		p = js_string(p, e, &r->arena);
		if (!p)
			return NULL;
		size_t len = r->arena.len - off;
		buf_putc(&r->arena, 0);
		p = js_ws(p, e);
		if (p >= e || *p != ':')
			return NULL;
		p = js_ws(p + 1, e);
		int64_t v = 0;
		const char *d = p;
		while (p < e && *p >= '0' && *p <= '9' && v < 100000000)
			v = v * 10 + (*p++ - '0');
		if (p == d || (p < e && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9'))))
			return NULL;
		raw_vocab_push(r, off, len, v);
		p = js_ws(p, e);
		if (p < e && *p == ',')
			p = js_ws(p + 1, e);
	}
	return p < e ? p + 1 : NULL;
}

static const char *parse_merges(const char *p, const char *e, struct tok_raw_tables *r)
{
	p = js_ws(p, e);
	if (p >= e || *p != '[')
		return NULL;
	p = js_ws(p + 1, e);
	while (p < e && *p != ']') {
		size_t a = r->arena.len, al, b, bl;
		if (*p == '"') {
			p = js_string(p, e, &r->arena);
			if (!p)
				return NULL;
			const char *s = r->arena.data + a;
			const char *sp = memchr(s, ' ', r->arena.len - a);
			if (!sp)
				return NULL;
			al = (size_t)(sp - s);
			b = a + al + 1;
			bl = r->arena.len - b;
		} else if (*p == '[') {
			p = js_string(js_ws(p + 1, e), e, &r->arena);
			if (!p)
				return NULL;
			al = r->arena.len - a;
			p = js_ws(p, e);
			if (p >= e || *p != ',')
				return NULL;
			b = r->arena.len;
			p = js_string(js_ws(p + 1, e), e, &r->arena);
			if (!p)
				return NULL;
			bl = r->arena.len - b;
			p = js_ws(p, e);
			if (p >= e || *p != ']')
				return NULL;
			p++;
		} else {
			return NULL;
		}
		raw_merge_push(r, a, al, b, bl);
		p = js_ws(p, e);
		if (p < e && *p == ',')
			p = js_ws(p + 1, e);
	}
	return p < e ? p + 1 : NULL;
}

/* See tok_hf_scan.h. */
char *tok_raw_scan(const char *text, size_t len, struct tok_raw_tables *r, size_t *out_len)
{
	const char *e = text + len;
	struct buf tmp;
	buf_init(&tmp);
	const char *model = js_member(text, e, "model", &tmp);
	const char *vocab = model ? js_member(model, e, "vocab", &tmp) : NULL;
	const char *merges = model ? js_member(model, e, "merges", &tmp) : NULL;
	buf_free(&tmp);
	if (!vocab || !merges || *vocab != '{' || *merges != '[')
		return NULL;
	const char *vend = parse_vocab(vocab, e, r);
	const char *mend = vend ? parse_merges(merges, e, r) : NULL;
	if (!vend || !mend) {
		tok_raw_free(r);
		return NULL;
	}
	/* the two ranges, in text order */
	const char *s1 = vocab, *e1 = vend, *s2 = merges, *e2 = mend;
	const char *r1 = "{}", *r2 = "[]";
	if (s2 < s1) {
		s1 = merges, e1 = mend, s2 = vocab, e2 = vend;
		r1 = "[]", r2 = "{}";
	}
	if (e1 > s2) {
		tok_raw_free(r);
		return NULL;
	}
	struct buf o;
	buf_init(&o);
	buf_append(&o, text, (size_t)(s1 - text));
	buf_puts(&o, r1);
	buf_append(&o, e1, (size_t)(s2 - e1));
	buf_puts(&o, r2);
	buf_append(&o, e2, (size_t)(e - e2));
	*out_len = o.len;
	return buf_steal(&o);
}

/* See tok_hf_scan.h. */
int tok_raw_from_cjson(const cJSON *vocab, const cJSON *merges, struct tok_raw_tables *r)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, vocab)
	{
		if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1e8)
			return -1;
		size_t off = r->arena.len, len = strlen(e->string);
		buf_append(&r->arena, e->string, len + 1);
		raw_vocab_push(r, off, len, (int64_t)e->valuedouble);
	}
	cJSON_ArrayForEach(e, merges)
	{
		size_t a = r->arena.len, al, b, bl;
		if (cJSON_IsString(e)) {
			const char *sp = strchr(e->valuestring, ' ');
			if (!sp)
				return -1;
			buf_puts(&r->arena, e->valuestring);
			al = (size_t)(sp - e->valuestring);
			b = a + al + 1;
			bl = r->arena.len - b;
		} else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 && cJSON_IsString(e->child) &&
		           cJSON_IsString(e->child->next)) {
			buf_puts(&r->arena, e->child->valuestring);
			al = r->arena.len - a;
			b = r->arena.len;
			buf_puts(&r->arena, e->child->next->valuestring);
			bl = r->arena.len - b;
		} else {
			return -1;
		}
		raw_merge_push(r, a, al, b, bl);
	}
	return 0;
}
