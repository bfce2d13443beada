/* Prompt builder: text of exactly N tokens drawn from the packaged corpus.
 *
 * Each corpus line is tokenized once per tokenizer (lazily, under a mutex) both alone and in the
 * context ". " + line, which gives the ids the line has when it follows another line. A prompt is a
 * shuffled sequence of lines joined by single spaces; a token stream position k maps to the text of
 * the full lines before it plus the decoded first r tokens of the next line. We assume counts add
 * up across line joins to get a first guess, then count the real text (body + suffix) and correct k
 * from the difference, re-counting only a short tail of the text; the final text is always counted
 * in full so the result is exact or the function fails. */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "tokenizer/tok_internal.h"

#define CTX_PREFIX "."

struct prep_ctx {
	int32_t *p_ids;
	size_t p_n;
	char *p_text; /* decode(p_ids) */
	size_t p_text_len;
};

static void prep_build(struct tok *t)
{
	struct tok_corpus_prep *p = &t->prep;
	const char *s = vk_tok_corpus_text;
	size_t len = vk_tok_corpus_len, cap_line = 0, cap_len = 0;
	for (size_t i = 0; i < len;) {
		size_t e = i;
		while (e < len && s[e] != '\n')
			e++;
		size_t b = i, z = e;
		while (b < z && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r'))
			b++;
		while (z > b && (s[z - 1] == ' ' || s[z - 1] == '\t' || s[z - 1] == '\r'))
			z--;
		if (z > b) {
			xgrow((void **)&p->line, &cap_line, p->n_lines + 1, sizeof *p->line);
			xgrow((void **)&p->line_len, &cap_len, p->n_lines + 1, sizeof *p->line_len);
			p->line[p->n_lines] = s + b;
			p->line_len[p->n_lines] = (uint32_t)(z - b);
			p->n_lines++;
		}
		i = e + 1;
	}
	p->sp_off = xcalloc(p->n_lines + 1, sizeof *p->sp_off);
	p->sp_n = xcalloc(p->n_lines + 1, sizeof *p->sp_n);
	p->first_off = xcalloc(p->n_lines + 1, sizeof *p->first_off);
	p->first_n = xcalloc(p->n_lines + 1, sizeof *p->first_n);
	struct tok_ids all = {0}, pre = {0}, tmp = {0};
	tok_encode(t, CTX_PREFIX, strlen(CTX_PREFIX), &pre);
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < p->n_lines; i++) {
		p->first_off[i] = all.n;
		tok_encode(t, p->line[i], p->line_len[i], &all);
		p->first_n[i] = all.n - p->first_off[i];
		buf_reset(&b);
		buf_puts(&b, CTX_PREFIX " ");
		buf_append(&b, p->line[i], p->line_len[i]);
		tmp.n = 0;
		tok_encode(t, b.data, b.len, &tmp);
		p->sp_off[i] = all.n;
		if (tmp.n >= pre.n && memcmp(tmp.v, pre.v, pre.n * sizeof *pre.v) == 0) {
			for (size_t k = pre.n; k < tmp.n; k++)
				tok_ids_push(&all, tmp.v[k]);
		} else {
			/* context merged with the line: fall back to " " + line alone */
			buf_reset(&b);
			buf_putc(&b, ' ');
			buf_append(&b, p->line[i], p->line_len[i]);
			tok_encode(t, b.data, b.len, &all);
		}
		p->sp_n[i] = all.n - p->sp_off[i];
	}
	p->ids = all.v;
	tok_ids_free(&pre);
	tok_ids_free(&tmp);
	buf_free(&b);
}

static const struct tok_corpus_prep *prep_get(const struct tok *ct)
{
	struct tok *t = (struct tok *)ct; /* the lazily built part is guarded by prep_mu */
	pthread_mutex_lock(&t->prep_mu);
	if (!t->prep_ready) {
		prep_build(t);
		t->prep_ready = true;
	}
	pthread_mutex_unlock(&t->prep_mu);
	return &t->prep;
}

struct seg {
	uint32_t line;
	bool first;
};

struct pb {
	const struct tok *t;
	const struct tok_corpus_prep *p;
	struct seg *seg;
	size_t *cum; /* cum[j] = tokens before segment j (predicted) */
	size_t n_seg, cap_seg, cap_cum;
	uint32_t *order;
	struct tok_ids scratch_ids;
	struct buf scratch;
	char *p_text;
	size_t p_text_len;
	struct tok_ids p_ids;
};

static const int32_t *seg_ids(const struct pb *b, size_t j, size_t *n)
{
	const struct seg *s = &b->seg[j];
	if (s->first) {
		*n = b->p->first_n[s->line];
		return b->p->ids + b->p->first_off[s->line];
	}
	*n = b->p->sp_n[s->line];
	return b->p->ids + b->p->sp_off[s->line];
}

static void pb_extend(struct pb *b, struct rng *rng, size_t need_tokens)
{
	size_t nl = b->p->n_lines;
	while (b->n_seg == 0 || b->cum[b->n_seg] < need_tokens) {
		/* a fresh shuffle of all lines per pass over the corpus */
		for (size_t i = 0; i < nl; i++)
			b->order[i] = (uint32_t)i;
		for (size_t i = nl; i > 1; i--) {
			size_t k = rng_below(rng, i);
			uint32_t x = b->order[i - 1];
			b->order[i - 1] = b->order[k];
			b->order[k] = x;
		}
		for (size_t i = 0; i < nl; i++) {
			xgrow((void **)&b->seg, &b->cap_seg, b->n_seg + 1, sizeof *b->seg);
			xgrow((void **)&b->cum, &b->cap_cum, b->n_seg + 2, sizeof *b->cum);
			if (b->n_seg == 0)
				b->cum[0] = 0;
			b->seg[b->n_seg].line = b->order[i];
			b->seg[b->n_seg].first = b->n_seg == 0;
			size_t n;
			b->n_seg++;
			seg_ids(b, b->n_seg - 1, &n);
			b->cum[b->n_seg] = b->cum[b->n_seg - 1] + n;
			if (b->cum[b->n_seg] >= need_tokens)
				break;
		}
	}
}

/* Replace the line of segment j with another random line and recompute the predicted positions. */
static void pb_reroll(struct pb *b, struct rng *rng, size_t j)
{
	size_t nl = b->p->n_lines;
	if (nl > 1) {
		uint32_t cur = b->seg[j].line, nw;
		do
			nw = (uint32_t)rng_below(rng, nl);
		while (nw == cur);
		b->seg[j].line = nw;
	}
	for (size_t i = j; i < b->n_seg; i++) {
		size_t n;
		seg_ids(b, i, &n);
		b->cum[i + 1] = b->cum[i] + n;
	}
}

static size_t seg_of(const struct pb *b, size_t k)
{
	/* largest j with cum[j] <= k, j < n_seg */
	size_t lo = 0, hi = b->n_seg - 1;
	while (lo < hi) {
		size_t mid = (lo + hi + 1) / 2;
		if (b->cum[mid] <= k)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static void append_full(const struct pb *b, size_t j, struct buf *out)
{
	if (j > 0)
		buf_putc(out, ' ');
	buf_append(out, b->p->line[b->seg[j].line], b->p->line_len[b->seg[j].line]);
}

/* Text of the first r tokens of segment j. */
static int append_partial(struct pb *b, size_t j, size_t r, struct buf *out)
{
	size_t n;
	const int32_t *ids = seg_ids(b, j, &n);
	if (r == 0)
		return 0;
	if (r >= n) {
		append_full(b, j, out);
		return 0;
	}
	if (tok_is_approx(b->t)) {
		/* words of the line */
		const char *s = b->p->line[b->seg[j].line];
		size_t len = b->p->line_len[b->seg[j].line], words = 0, i = 0;
		if (j > 0)
			buf_putc(out, ' ');
		while (i < len) {
			while (i < len && s[i] == ' ')
				i++;
			if (words == r)
				break;
			while (i < len && s[i] != ' ')
				i++;
			words++;
		}
		while (i > 0 && s[i - 1] == ' ')
			i--;
		buf_append(out, s, i);
		return 0;
	}
	if (b->seg[j].first)
		return tok_decode(b->t, ids, r, out);
	/* decode(prefix ids + ids[:r]) minus decode(prefix ids) */
	b->scratch_ids.n = 0;
	for (size_t i = 0; i < b->p_ids.n; i++)
		tok_ids_push(&b->scratch_ids, b->p_ids.v[i]);
	for (size_t i = 0; i < r; i++)
		tok_ids_push(&b->scratch_ids, ids[i]);
	buf_reset(&b->scratch);
	if (tok_decode(b->t, b->scratch_ids.v, b->scratch_ids.n, &b->scratch) != 0)
		return -1;
	if (b->scratch.len < b->p_text_len || memcmp(b->scratch.data, b->p_text, b->p_text_len) != 0)
		return -1;
	const char *rest = b->scratch.data + b->p_text_len;
	size_t rest_len = b->scratch.len - b->p_text_len;
	if (rest_len == 0 || rest[0] != ' ')
		buf_putc(out, ' ');
	buf_append(out, rest, rest_len);
	return 0;
}

/* Body text for stream position k, from segment `from` on (from = 0: the whole body). */
static int body_text(struct pb *b, size_t k, size_t from, struct buf *out)
{
	size_t j = seg_of(b, k);
	for (size_t i = from; i < j; i++)
		append_full(b, i, out);
	if (from <= j)
		return append_partial(b, j, k - b->cum[j], out);
	return 0;
}

static void append_suffix(struct buf *out, const char *suffix)
{
	if (suffix)
		buf_puts(out, suffix);
}

static void pb_free(struct pb *b)
{
	free(b->seg);
	free(b->cum);
	free(b->order);
	tok_ids_free(&b->scratch_ids);
	tok_ids_free(&b->p_ids);
	buf_free(&b->scratch);
	free(b->p_text);
}

#define TAIL_SEGS 3

int tok_prompt_build(const struct tok *t, struct rng *rng, int64_t target_tokens, const char *suffix, struct buf *out)
{
	if (target_tokens < 0)
		return -1;
	if (!t)
		t = tok_approx();
	size_t T = (size_t)target_tokens;
	size_t s_n = suffix && *suffix ? tok_count(t, suffix, strlen(suffix)) : 0;
	if (T < s_n)
		return -1;
	if (T == 0) {
		return 0;
	}
	const struct tok_corpus_prep *p = prep_get(t);
	if (p->n_lines == 0)
		return -1;
	struct pb b = {.t = t, .p = p};
	b.order = xcalloc(p->n_lines, sizeof *b.order);
	buf_init(&b.scratch);
	tok_encode(t, CTX_PREFIX, strlen(CTX_PREFIX), &b.p_ids);
	tok_decode(t, b.p_ids.v, b.p_ids.n, &b.scratch);
	b.p_text = buf_steal(&b.scratch);
	b.p_text_len = strlen(b.p_text);
	pb_extend(&b, rng, T + 64);

	struct buf text, tail;
	buf_init(&text);
	buf_init(&tail);
	int rc = -1;
	size_t k = T - s_n;
	/* base: exact count of the head (segments before h), or predicted when not yet known */
	size_t h = (size_t)-1;
	long base = 0;
	bool base_exact = false;
	size_t anchor = 0;
	int local = 0;
	for (int attempt = 0; attempt < 200 && rc != 0; attempt++, local++) {
		if (k + 64 > b.cum[b.n_seg])
			pb_extend(&b, rng, k + 128);
		size_t j = seg_of(&b, k);
		if (local >= 14) {
			/* no exact cut near here: replace the line being cut with another one */
			pb_reroll(&b, rng, j);
			h = (size_t)-1;
			local = 0;
			k = anchor;
			continue;
		}
		size_t hh = j > TAIL_SEGS ? j - TAIL_SEGS : 0;
		if (hh != h) {
			h = hh;
			base = (long)b.cum[h]; /* predicted; replaced by an exact count if verification fails */
			base_exact = tok_is_approx(t) || h == 0;
		}
		buf_reset(&tail);
		if (body_text(&b, k, h, &tail) != 0) {
			k++;
			continue;
		}
		append_suffix(&tail, suffix);
		long gl = base + (long)tok_count(t, tail.data, tail.len);
		size_t g = gl < 0 ? 0 : (size_t)gl;
		if (g == T) {
			buf_reset(&text);
			if (body_text(&b, k, 0, &text) != 0) {
				k++;
				continue;
			}
			append_suffix(&text, suffix);
			size_t full = tok_is_approx(t) && base_exact ? g : tok_count(t, text.data, text.len);
			if (full == T) {
				rc = 0;
				break;
			}
			/* head and tail did not add up (joins, a prepended normalizer piece, ...): calibrate
			 * the head's contribution from this exact count; it holds while the head is the same */
			if (!base_exact) {
				base = (long)full - ((long)g - base);
				base_exact = true;
			}
			g = full;
		}
		/* move k by the difference; when stuck, probe neighbours of the best guess */
		long d = (long)T - (long)g;
		if (local < 6) {
			anchor = (size_t)((long)k + d < 0 ? 0 : (long)k + d);
			k = anchor;
			continue;
		}
		static const int probe[] = {1, -1, 2, -2, 3, -3, 4, -4};
		long nk = (long)anchor + probe[(local - 6) % 8];
		k = nk < 0 ? 0 : (size_t)nk;
	}
	if (rc == 0)
		buf_append(out, text.data, text.len);
	else
		log_warn("tokenizer: could not build a prompt of exactly %lld tokens with %s", (long long)target_tokens,
		         tok_name(t));
	buf_free(&text);
	buf_free(&tail);
	pb_free(&b);
	return rc;
}

int tok_output_text(const struct tok *t, struct rng *rng, int64_t n_tokens, struct buf *out)
{
	return tok_prompt_build(t, rng, n_tokens, NULL, out);
}
