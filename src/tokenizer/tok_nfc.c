/* NFC normalization for the tokenizer (see tok_nfc.h). */
#include "tokenizer/tok_nfc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define SBASE 0xAC00u
#define LBASE 0x1100u
#define VBASE 0x1161u
#define TBASE 0x11A7u
#define LCOUNT 19u
#define VCOUNT 21u
#define TCOUNT 28u
#define NCOUNT (VCOUNT * TCOUNT)
#define SCOUNT (LCOUNT * NCOUNT)

int tok_nfc_trivial(const char *s, size_t n)
{
	/* U+0300 is the first code point that NFC can change; its UTF-8 lead byte is 0xCC */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0xCC)
			return 0;
	return 1;
}

static uint8_t nfc_ccc(uint32_t cp)
{
	if (cp < 0x300)
		return 0;
	size_t lo = 0, hi = tok_nfc_ccc_count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (tok_nfc_ccc_table[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < tok_nfc_ccc_count && tok_nfc_ccc_table[lo].cp == cp ? tok_nfc_ccc_table[lo].ccc : 0;
}

static const struct tok_nfc_decomp *nfc_decomp(uint32_t cp)
{
	size_t lo = 0, hi = tok_nfc_decomp_count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (tok_nfc_decomp_table[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < tok_nfc_decomp_count && tok_nfc_decomp_table[lo].cp == cp ? &tok_nfc_decomp_table[lo] : NULL;
}

static uint32_t nfc_compose(uint32_t a, uint32_t b)
{
	if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE && b < VBASE + VCOUNT)
		return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
	if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 && b > TBASE && b < TBASE + TCOUNT)
		return a + (b - TBASE);
	size_t lo = 0, hi = tok_nfc_comp_count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct tok_nfc_comp *c = &tok_nfc_comp_table[mid];
		if (c->a < a || (c->a == a && c->b < b))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < tok_nfc_comp_count && tok_nfc_comp_table[lo].a == a && tok_nfc_comp_table[lo].b == b)
		return tok_nfc_comp_table[lo].cp;
	return 0;
}

struct cpvec {
	uint32_t *v;
	size_t n, cap;
};

static void cp_push(struct cpvec *c, uint32_t cp)
{
	if (c->n == c->cap)
		xgrow((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v);
	c->v[c->n++] = cp;
}

static void decompose(struct cpvec *c, uint32_t cp)
{
	if (cp >= SBASE && cp < SBASE + SCOUNT) {
		uint32_t s = cp - SBASE;
		cp_push(c, LBASE + s / NCOUNT);
		cp_push(c, VBASE + (s % NCOUNT) / TCOUNT);
		if (s % TCOUNT)
			cp_push(c, TBASE + s % TCOUNT);
		return;
	}
	const struct tok_nfc_decomp *d = cp >= 0xC0 ? nfc_decomp(cp) : NULL;
	if (!d) {
		cp_push(c, cp);
		return;
	}
	decompose(c, d->a);
	if (d->b)
		decompose(c, d->b);
}

static uint32_t utf8_next(const unsigned char *s, size_t n, size_t *i)
{
	unsigned char c = s[*i];
	uint32_t cp;
	size_t l;
	if (c < 0x80) {
		cp = c;
		l = 1;
	} else if (c < 0xE0) {
		cp = c & 0x1F;
		l = 2;
	} else if (c < 0xF0) {
		cp = c & 0x0F;
		l = 3;
	} else {
		cp = c & 0x07;
		l = 4;
	}
	if (*i + l > n)
		l = n - *i;
	for (size_t k = 1; k < l; k++)
		cp = (cp << 6) | (s[*i + k] & 0x3F);
	*i += l;
	return cp;
}

void tok_utf8_append(struct buf *out, uint32_t cp)
{
	char o[4];
	size_t n;
	if (cp < 0x80) {
		o[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xC0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xE0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		o[0] = (char)(0xF0 | (cp >> 18));
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		o[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	buf_append(out, o, n);
}

void tok_nfc(const char *s, size_t n, struct buf *out)
{
	if (tok_nfc_trivial(s, n)) {
		buf_append(out, s, n);
		return;
	}
	struct cpvec c = {0};
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;)
		decompose(&c, utf8_next(u, n, &i));
	/* canonical ordering: stable insertion sort of each run of non-starters by class */
	for (size_t i = 1; i < c.n; i++) {
		uint8_t cc = nfc_ccc(c.v[i]);
		if (cc == 0)
			continue;
		size_t j = i;
		uint32_t x = c.v[i];
		while (j > 0) {
			uint8_t pc = nfc_ccc(c.v[j - 1]);
			if (pc == 0 || pc <= cc)
				break;
			c.v[j] = c.v[j - 1];
			j--;
		}
		c.v[j] = x;
	}
	/* canonical composition */
	if (c.n > 0) {
		size_t starter = 0, w = 1;
		int last = nfc_ccc(c.v[0]) ? 256 : 0;
		bool have_starter = last == 0;
		for (size_t i = 1; i < c.n; i++) {
			uint32_t ch = c.v[i];
			int cc = nfc_ccc(ch);
			uint32_t comp = have_starter && (last < cc || last == 0) ? nfc_compose(c.v[starter], ch) : 0;
			if (comp) {
				c.v[starter] = comp;
				continue;
			}
			if (cc == 0) {
				starter = w;
				have_starter = true;
			}
			last = cc;
			c.v[w++] = ch;
		}
		c.n = w;
	}
	for (size_t i = 0; i < c.n; i++)
		tok_utf8_append(out, c.v[i]);
	free(c.v);
}
