/* Prometheus text exposition parser (format notes in prom_parse.h and docs/OBSERVABILITY.md). */
#include "observe/prom_parse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/xalloc.h"

/* A cursor over one line [p, end). */
struct prom_cur {
	const char *p, *end;
};

static bool prom_is_name_start(char c, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}

static bool prom_is_name_char(char c, bool colon)
{
	return prom_is_name_start(c, colon) || (c >= '0' && c <= '9');
}

static void prom_skip_ws(struct prom_cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* A metric name (colon allowed) or label name; returns its length, 0 when none. */
static size_t prom_take_name(struct prom_cur *c, bool colon)
{
	const char *s = c->p;
	if (c->p >= c->end || !prom_is_name_start(*c->p, colon))
		return 0;
	while (c->p < c->end && prom_is_name_char(*c->p, colon))
		c->p++;
	return (size_t)(c->p - s);
}

/* The next whitespace-delimited token. */
static size_t prom_take_token(struct prom_cur *c, const char **tok)
{
	prom_skip_ws(c);
	*tok = c->p;
	while (c->p < c->end && *c->p != ' ' && *c->p != '\t')
		c->p++;
	return (size_t)(c->p - *tok);
}

/* A float as Prometheus writes it: Go's ParseFloat syntax, which strtod covers, plus the spellings
 * NaN, +Inf, -Inf (strtod accepts those too, case-insensitively). Rejects trailing garbage and hex. */
static bool prom_parse_double(const char *s, size_t n, double *out)
{
	char tmp[64];
	if (n == 0 || n >= sizeof tmp)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	for (size_t i = 0; i < n; i++)
		if (tmp[i] == 'x' || tmp[i] == 'X' || tmp[i] == '(')
			return false;
	char *e = NULL;
	double v = strtod(tmp, &e);
	if (e != tmp + n)
		return false;
	*out = v;
	return true;
}

static bool prom_parse_int64(const char *s, size_t n, int64_t *out)
{
	char tmp[32];
	if (n == 0 || n >= sizeof tmp)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	char *e = NULL;
	long long v = strtoll(tmp, &e, 10);
	if (e != tmp + n)
		return false;
	*out = (int64_t)v;
	return true;
}

static void prom_escape_into(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_puts(b, "\\\\");
		else if (*s == '"')
			buf_puts(b, "\\\"");
		else if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *s);
	}
}

static void prom_labels_text(const struct prom_sample *s, bool skip_le, struct buf *b)
{
	buf_reset(b);
	bool first = true;
	for (size_t i = 0; i < s->n_labels; i++) {
		if (skip_le && (!strcmp(s->labels[i].name, "le") || !strcmp(s->labels[i].name, "quantile")))
			continue;
		if (!first)
			buf_putc(b, ',');
		first = false;
		buf_puts(b, s->labels[i].name);
		buf_puts(b, "=\"");
		prom_escape_into(b, s->labels[i].value);
		buf_putc(b, '"');
	}
}

static void prom_sample_clear(struct prom_sample *s)
{
	free(s->name);
	for (size_t i = 0; i < s->n_labels; i++) {
		free(s->labels[i].name);
		free(s->labels[i].value);
	}
	free(s->labels);
	free(s->labels_text);
	free(s->series_text);
	memset(s, 0, sizeof *s);
}

static void prom_bad(struct prom_page *pg, size_t line_no, const char *what)
{
	if (!pg->n_bad_lines++) {
		pg->first_bad_line = line_no;
		snprintf(pg->first_error, sizeof pg->first_error, "line %zu: %s", line_no, what);
	}
}

/* `{a="x",b="y"}` at c (after the name). Returns NULL or an error. */
static const char *prom_parse_labels(struct prom_cur *c, struct prom_sample *s, struct buf *val)
{
	size_t cap = 0;
	c->p++; /* '{' */
	for (;;) {
		prom_skip_ws(c);
		if (c->p < c->end && *c->p == '}') {
			c->p++;
			return NULL;
		}
		const char *ln = c->p;
		size_t lnl = prom_take_name(c, false);
		if (!lnl)
			return "bad label name";
		prom_skip_ws(c);
		if (c->p >= c->end || *c->p != '=')
			return "expected '=' after a label name";
		c->p++;
		prom_skip_ws(c);
		if (c->p >= c->end || *c->p != '"')
			return "expected '\"' to open a label value";
		c->p++;
		buf_reset(val);
		bool closed = false;
		while (c->p < c->end) {
			char ch = *c->p++;
			if (ch == '"') {
				closed = true;
				break;
			}
			if (ch == '\\') {
				if (c->p >= c->end)
					break;
				char e = *c->p++;
				buf_putc(val, e == 'n' ? '\n' : e);
			} else {
				buf_putc(val, ch);
			}
		}
		if (!closed)
			return "unterminated label value";
		xgrow((void **)&s->labels, &cap, s->n_labels + 1, sizeof *s->labels);
		s->labels[s->n_labels].name = xstrndup(ln, lnl);
		s->labels[s->n_labels].value = xstrndup(val->data ? val->data : "", val->len);
		s->n_labels++;
		prom_skip_ws(c);
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		if (c->p < c->end && *c->p == '}') {
			c->p++;
			return NULL;
		}
		return "expected ',' or '}' after a label value";
	}
}

static const char *prom_parse_sample(struct prom_cur *c, struct prom_sample *s, struct buf *tmp)
{
	const char *nm = c->p;
	size_t nl = prom_take_name(c, true);
	if (!nl)
		return "bad metric name";
	s->name = xstrndup(nm, nl);
	s->le = NAN;
	prom_skip_ws(c);
	if (c->p < c->end && *c->p == '{') {
		const char *e = prom_parse_labels(c, s, tmp);
		if (e)
			return e;
	}
	const char *tok;
	size_t tl = prom_take_token(c, &tok);
	if (!tl)
		return "missing value";
	if (!prom_parse_double(tok, tl, &s->value))
		return "bad value";
	tl = prom_take_token(c, &tok);
	if (tl) {
		if (!prom_parse_int64(tok, tl, &s->timestamp_ms))
			return "bad timestamp";
		s->has_timestamp = true;
		prom_skip_ws(c);
		if (c->p < c->end)
			return "trailing text after the timestamp";
	}
	for (size_t i = 0; i < s->n_labels; i++)
		if (!strcmp(s->labels[i].name, "le") || !strcmp(s->labels[i].name, "quantile")) {
			double v;
			if (!prom_parse_double(s->labels[i].value, strlen(s->labels[i].value), &v))
				return "bad le/quantile value";
			s->le = v;
		}
	prom_labels_text(s, false, tmp);
	s->labels_text = xstrdup(tmp->data ? tmp->data : "");
	prom_labels_text(s, true, tmp);
	s->series_text = xstrdup(tmp->data ? tmp->data : "");
	return NULL;
}

static struct prom_family *prom_family_get(struct prom_page *pg, const char *name, size_t nl)
{
	for (size_t i = pg->n_families; i-- > 0;)
		if (strlen(pg->families[i].name) == nl && !memcmp(pg->families[i].name, name, nl))
			return &pg->families[i];
	xgrow((void **)&pg->families, &pg->cap_families, pg->n_families + 1, sizeof *pg->families);
	struct prom_family *f = &pg->families[pg->n_families++];
	memset(f, 0, sizeof *f);
	f->name = xstrndup(name, nl);
	return f;
}

static enum prom_type prom_type_parse(const char *s, size_t n)
{
	static const struct {
		const char *w;
		enum prom_type t;
	} map[] = {{"counter", PROM_COUNTER}, {"gauge", PROM_GAUGE},     {"histogram", PROM_HISTOGRAM},
	           {"summary", PROM_SUMMARY}, {"untyped", PROM_UNTYPED}, {"unknown", PROM_UNTYPED}};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strlen(map[i].w) == n && !memcmp(map[i].w, s, n))
			return map[i].t;
	return PROM_OTHER;
}

/* `# HELP name text` / `# TYPE name type`; other comments are ignored. */
static const char *prom_parse_comment(struct prom_cur *c, struct prom_page *pg, struct buf *tmp)
{
	c->p++; /* '#' */
	const char *kw;
	size_t kl = prom_take_token(c, &kw);
	bool help = kl == 4 && !memcmp(kw, "HELP", 4), type = kl == 4 && !memcmp(kw, "TYPE", 4);
	if (!help && !type)
		return NULL;
	prom_skip_ws(c);
	const char *nm = c->p;
	size_t nl = prom_take_name(c, true);
	if (!nl)
		return help ? "bad metric name in HELP" : "bad metric name in TYPE";
	if (c->p < c->end && *c->p != ' ' && *c->p != '\t')
		return help ? "bad metric name in HELP" : "bad metric name in TYPE";
	if (type) {
		const char *t;
		size_t tl = prom_take_token(c, &t);
		if (!tl)
			return "TYPE without a type";
		prom_skip_ws(c);
		if (c->p < c->end)
			return "trailing text after the TYPE";
		prom_family_get(pg, nm, nl)->type = prom_type_parse(t, tl);
		return NULL;
	}
	if (c->p < c->end)
		c->p++; /* the one separating blank */
	buf_reset(tmp);
	while (c->p < c->end) {
		char ch = *c->p++;
		if (ch == '\\' && c->p < c->end) {
			char e = *c->p++;
			if (e == 'n')
				buf_putc(tmp, '\n');
			else if (e == '\\')
				buf_putc(tmp, '\\');
			else {
				buf_putc(tmp, '\\');
				buf_putc(tmp, e);
			}
		} else {
			buf_putc(tmp, ch);
		}
	}
	struct prom_family *f = prom_family_get(pg, nm, nl);
	free(f->help);
	f->help = xstrndup(tmp->data ? tmp->data : "", tmp->len);
	return NULL;
}

size_t prom_parse(const char *text, size_t len, struct prom_page *out)
{
	memset(out, 0, sizeof *out);
	struct buf tmp;
	buf_init(&tmp);
	size_t line_no = 0;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		line_no++;
		struct prom_cur c = {p, le};
		if (c.end > c.p && c.end[-1] == '\r')
			c.end--;
		p = nl ? nl + 1 : end;
		prom_skip_ws(&c);
		if (c.p >= c.end)
			continue;
		if (memchr(c.p, 0, (size_t)(c.end - c.p))) {
			prom_bad(out, line_no, "NUL byte in line");
			continue;
		}
		if (*c.p == '#') {
			const char *e = prom_parse_comment(&c, out, &tmp);
			if (e)
				prom_bad(out, line_no, e);
			continue;
		}
		struct prom_sample s;
		memset(&s, 0, sizeof s);
		const char *e = prom_parse_sample(&c, &s, &tmp);
		if (e) {
			prom_sample_clear(&s);
			prom_bad(out, line_no, e);
			continue;
		}
		xgrow((void **)&out->samples, &out->cap_samples, out->n_samples + 1, sizeof *out->samples);
		out->samples[out->n_samples++] = s;
	}
	buf_free(&tmp);
	return out->n_bad_lines;
}

void prom_page_free(struct prom_page *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_samples; i++)
		prom_sample_clear(&p->samples[i]);
	free(p->samples);
	for (size_t i = 0; i < p->n_families; i++) {
		free(p->families[i].name);
		free(p->families[i].help);
	}
	free(p->families);
	memset(p, 0, sizeof *p);
}

const char *prom_type_name(enum prom_type t)
{
	switch (t) {
	case PROM_COUNTER:
		return "counter";
	case PROM_GAUGE:
		return "gauge";
	case PROM_HISTOGRAM:
		return "histogram";
	case PROM_SUMMARY:
		return "summary";
	case PROM_OTHER:
		return "other";
	case PROM_UNTYPED:
	default:
		return "untyped";
	}
}

static const struct prom_family *prom_family_find(const struct prom_page *p, const char *name, size_t nl)
{
	for (size_t i = 0; i < p->n_families; i++)
		if (strlen(p->families[i].name) == nl && !memcmp(p->families[i].name, name, nl))
			return &p->families[i];
	return NULL;
}

const struct prom_family *prom_family_of(const struct prom_page *p, const char *sample_name)
{
	size_t n = strlen(sample_name);
	const struct prom_family *f = prom_family_find(p, sample_name, n);
	if (f)
		return f;
	static const char *const sfx[] = {"_bucket", "_sum", "_count", "_total", "_created", "_info"};
	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		size_t sl = strlen(sfx[i]);
		if (n > sl && !memcmp(sample_name + n - sl, sfx[i], sl) &&
		    (f = prom_family_find(p, sample_name, n - sl)))
			return f;
	}
	return NULL;
}

const char *prom_label_get(const struct prom_sample *s, const char *name)
{
	for (size_t i = 0; i < s->n_labels; i++)
		if (!strcmp(s->labels[i].name, name))
			return s->labels[i].value;
	return NULL;
}
