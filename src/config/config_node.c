/* Arena, node tree, PyYAML-1.1 scalar typing, YAML parsing (libfyaml events), !expand, errors. */
#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"
#include "core/buf.h"
#include "core/xalloc.h"

/* ================= arena ================= */
struct cfg_arena_blk {
	struct cfg_arena_blk *next;
	size_t used, cap;
	max_align_t data[];
};

void *cfg_ar_alloc(struct cfg_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct cfg_arena_blk *b = a->head;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 16384 ? n : 16384;
		b = xmalloc(sizeof *b + cap);
		b->cap = cap;
		b->used = 0;
		b->next = a->head;
		a->head = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *cfg_ar_strndup(struct cfg_arena *a, const char *s, size_t n)
{
	char *d = cfg_ar_alloc(a, n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *cfg_ar_strdup(struct cfg_arena *a, const char *s)
{
	return s ? cfg_ar_strndup(a, s, strlen(s)) : NULL;
}

void cfg_ar_free(struct cfg_arena *a)
{
	struct cfg_arena_blk *b = a->head;
	while (b) {
		struct cfg_arena_blk *n = b->next;
		free(b);
		b = n;
	}
	a->head = NULL;
}

/* ================= errors ================= */
static void cfg_vmessage(struct cfg_diag *d, const char *level, const struct cn_src *src, const char *path,
                         const char *fmt, va_list ap)
{
	char msg[1536];
	vsnprintf(msg, sizeof msg, fmt, ap);
	char line[2048];
	const char *sep = path && path[0] ? ": " : "";
	if (!path)
		path = "";
	if (src && src->file)
		snprintf(line, sizeof line, "%s:%d:%d: %s: %s%s%s", src->file, src->line, src->col, level, path, sep,
		         msg);
	else if (src && src->flag)
		snprintf(line, sizeof line, "veeksha: %s: %s: %s%s%s", level, src->flag, path, sep, msg);
	else
		snprintf(line, sizeof line, "veeksha: %s: %s%s%s", level, path, sep, msg);
	if (!d) { /* warnings */
		fprintf(stderr, "%s\n", line);
		return;
	}
	if (!d->err || !d->err_len)
		return;
	size_t used = strlen(d->err);
	if (used + 1 < d->err_len)
		snprintf(d->err + used, d->err_len - used, "%s%s", used ? "\n" : "", line);
}

void cfg_report(struct cfg_diag *d, const struct cn_src *src, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cfg_vmessage(d, "error", src, path, fmt, ap); /* (d NULL: stderr) */
	va_end(ap);
}

void cfg_warn(const struct cn_src *src, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cfg_vmessage(NULL, "warning", src, path, fmt, ap);
	va_end(ap);
}

static size_t lev(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 1000;
	size_t d[65][65];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			d[i][j] = c;
		}
	return d[la][lb];
}

const char *cfg_did_you_mean(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bd = (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		size_t d = lev(word, cands[i]);
		if (d < bd) {
			bd = d;
			best = cands[i];
		}
	}
	size_t len = strlen(word);
	size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : len / 3 + 1;
	if (best && bd <= limit)
		return best;
	/* substring match helps with long flattened names */
	for (size_t i = 0; i < n; i++)
		if (len >= 4 && strstr(cands[i], word))
			return cands[i];
	return NULL;
}

/* ================= scalars ================= */
static bool in_list(const char *t, const char *const *l)
{
	for (; *l; l++)
		if (!strcmp(t, *l))
			return true;
	return false;
}

static const char *const yaml_nulls[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const yaml_trues[] = {"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", NULL};
static const char *const yaml_falses[] = {"no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", NULL};

/* digits in base with underscores allowed anywhere after the first char (PyYAML) */
static bool parse_digits(const char *s, int base, bool allow_empty, uint64_t *out, bool *ovf)
{
	uint64_t v = 0;
	bool any = false;
	*ovf = false;
	for (; *s; s++) {
		if (*s == '_')
			continue;
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (d >= base)
			return false;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			*ovf = true;
		v = v * (uint64_t)base + (uint64_t)d;
		any = true;
	}
	*out = v;
	return any || allow_empty;
}

static bool yaml_int(const char *t, struct sval *o)
{
	const char *s = t;
	bool neg = false;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!*s)
		return false;
	uint64_t v = 0;
	bool ovf = false;
	if (s[0] == '0' && s[1] == 'b') {
		if (!parse_digits(s + 2, 2, false, &v, &ovf))
			return false;
	} else if (s[0] == '0' && s[1] == 'x') {
		if (!parse_digits(s + 2, 16, false, &v, &ovf))
			return false;
	} else if (s[0] == '0' && s[1]) {
		if (!parse_digits(s + 1, 8, false, &v, &ovf))
			return false;
	} else if (s[0] >= '0' && s[0] <= '9') {
		if (strchr(s, ':')) {
			/* sexagesimal: [1-9][0-9_]*(:[0-5]?[0-9])+ */
			if (s[0] == '0')
				return false;
			char buf[128];
			snprintf(buf, sizeof buf, "%s", s);
			char *save = NULL;
			bool first = true;
			for (char *part = strtok_r(buf, ":", &save); part; part = strtok_r(NULL, ":", &save)) {
				uint64_t pv;
				bool o2;
				if (!parse_digits(part, 10, false, &pv, &o2))
					return false;
				if (!first && (strlen(part) > 2 || pv > 59))
					return false;
				v = v * 60 + pv;
				first = false;
			}
		} else if (!parse_digits(s, 10, false, &v, &ovf)) {
			return false;
		}
	} else {
		return false;
	}
	if (ovf || v > (uint64_t)INT64_MAX + (neg ? 1 : 0)) {
		o->k = SV_FLOAT;
		o->d = neg ? -(double)v : (double)v;
		return true;
	}
	o->k = SV_INT;
	o->i = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

static bool yaml_float(const char *t, struct sval *o)
{
	const char *s = t;
	bool neg = false;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!strcmp(s, ".inf") || !strcmp(s, ".Inf") || !strcmp(s, ".INF")) {
		o->k = SV_FLOAT;
		o->d = neg ? -INFINITY : INFINITY;
		return true;
	}
	if (s == t && (!strcmp(s, ".nan") || !strcmp(s, ".NaN") || !strcmp(s, ".NAN"))) {
		o->k = SV_FLOAT;
		o->d = NAN;
		return true;
	}
	/* (digits[.digits*] | .digits)([eE][-+]?digits)? with '_' between digits; needs '.' or 'e' */
	char buf[128];
	size_t n = 0;
	bool digits = false, dot = false, exp = false;
	if (neg)
		buf[n++] = '-';
	for (const char *p = s; *p; p++) {
		if (n >= sizeof buf - 2)
			return false;
		if (*p >= '0' && *p <= '9') {
			buf[n++] = *p;
			digits = true;
		} else if (*p == '_') {
			if (!digits || exp)
				return false;
		} else if (*p == '.') {
			if (dot || exp)
				return false;
			dot = true;
			buf[n++] = '.';
		} else if ((*p == 'e' || *p == 'E') && digits && !exp) {
			exp = true;
			buf[n++] = 'e';
			if (p[1] == '+' || p[1] == '-')
				buf[n++] = *++p;
			if (!(p[1] >= '0' && p[1] <= '9'))
				return false;
		} else {
			return false;
		}
	}
	if (!digits || (!dot && !exp))
		return false;
	buf[n] = '\0';
	char *end;
	errno = 0;
	double d = strtod(buf, &end);
	if (*end)
		return false;
	o->k = SV_FLOAT;
	o->d = d;
	return true;
}

void cfg_scalar_resolve(const char *text, bool quoted, struct sval *o)
{
	memset(o, 0, sizeof *o);
	o->k = SV_STR;
	if (quoted || !text)
		return;
	if (in_list(text, yaml_nulls)) {
		o->k = SV_NULL;
		return;
	}
	if (in_list(text, yaml_trues)) {
		o->k = SV_BOOL;
		o->b = true;
		return;
	}
	if (in_list(text, yaml_falses)) {
		o->k = SV_BOOL;
		o->b = false;
		return;
	}
	if (strlen(text) > 100)
		return;
	if (yaml_int(text, o))
		return;
	if (yaml_float(text, o))
		return;
	o->k = SV_STR;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	return s;
}

bool cfg_parse_int_text(const char *s, int64_t *out)
{
	s = skip_ws(s);
	bool neg = false;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!(*s >= '0' && *s <= '9'))
		return false;
	uint64_t v = 0;
	char prev = 0;
	for (; *s && *s != ' ' && *s != '\t' && *s != '\n'; s++) {
		if (*s == '_') {
			if (prev == '_' || !(s[1] >= '0' && s[1] <= '9'))
				return false;
			prev = '_';
			continue;
		}
		if (!(*s >= '0' && *s <= '9'))
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		prev = *s;
	}
	if (*skip_ws(s))
		return false;
	if (v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
		return false;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

bool cfg_parse_float_text(const char *s, double *out)
{
	s = skip_ws(s);
	char buf[128];
	size_t n = 0;
	for (const char *p = s; *p && n < sizeof buf - 1; p++) {
		if (*p == '_')
			continue;
		if (*p == 'x' || *p == 'X' || *p == 'p' || *p == 'P')
			return false;
		buf[n++] = *p;
	}
	buf[n] = '\0';
	while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\n'))
		buf[--n] = '\0';
	if (!n)
		return false;
	char *end;
	double d = strtod(buf, &end);
	if (*end || end == buf)
		return false;
	*out = d;
	return true;
}

/* ================= nodes ================= */
struct cnode *cn_new(struct cfg_arena *a, enum cn_kind k, const struct cn_src *src)
{
	struct cnode *n = cfg_ar_alloc(a, sizeof *n);
	n->kind = k;
	if (src)
		n->src = *src;
	return n;
}

struct cnode *cn_scalar(struct cfg_arena *a, const char *text, const struct cn_src *src)
{
	struct cnode *n = cn_new(a, CN_SCALAR, src);
	n->text = cfg_ar_strdup(a, text);
	return n;
}

struct cn_entry *cn_find(const struct cnode *map, const char *key)
{
	if (!map || map->kind != CN_MAP)
		return NULL;
	for (size_t i = 0; i < map->n_ents; i++)
		if (!strcmp(map->ents[i].key, key))
			return &map->ents[i];
	return NULL;
}

/* capacity = next power of two >= n (arrays are re-allocated in the arena when they fill up) */
static size_t pow2cap(size_t n)
{
	size_t c = 4;
	while (c < n)
		c *= 2;
	return c;
}

void cn_map_add(struct cfg_arena *a, struct cnode *map, const char *key, const struct cn_src *ksrc, struct cnode *val)
{
	size_t n = map->n_ents;
	if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
		struct cn_entry *e = cfg_ar_alloc(a, pow2cap(n + 1) * sizeof *e);
		if (n)
			memcpy(e, map->ents, n * sizeof *e);
		map->ents = e;
	}
	map->ents[n].key = key;
	if (ksrc)
		map->ents[n].ksrc = *ksrc;
	map->ents[n].val = val;
	map->n_ents = n + 1;
}

void cn_seq_add(struct cfg_arena *a, struct cnode *seq, struct cnode *item)
{
	size_t n = seq->n_items;
	if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
		struct cnode **v = cfg_ar_alloc(a, pow2cap(n + 1) * sizeof *v);
		if (n)
			memcpy(v, seq->items, n * sizeof *v);
		seq->items = v;
	}
	seq->items[n] = item;
	seq->n_items = n + 1;
}

bool cn_is_null(const struct cnode *n)
{
	if (!n || n->kind != CN_SCALAR)
		return false;
	if (n->cli)
		return !strcmp(n->text, "None") || !strcmp(n->text, "null");
	struct sval v;
	cfg_scalar_resolve(n->text, n->quoted, &v);
	return v.k == SV_NULL;
}

/* ================= YAML parsing ================= */
struct yp_anchor {
	const char *name;
	struct cnode *node;
};

struct yp {
	struct cfg_arena *a;
	struct cfg_diag *d; /* where errors go */
	struct fy_parser *p;
	const char *input; /* the YAML text being parsed */
	size_t input_len;
	struct fy_diag *diag;
	const char *name;
	const char *flag;
	struct yp_anchor *anchors;
	size_t n_anchors, cap_anchors;
	struct cn_src last;
	bool failed;
	int depth;
};

/* A one-line single-quoted scalar, read from the input itself: libfyaml 0.7.12 (Debian 12) returns
 * wrong text (and a wrong end mark) for one with several '' escapes ('ab''''cd' gave "ab'''"
 * instead of "ab''cd"; found by fuzz_config). From the token's start, up to the closing quote,
 * '' is one quote. Sets r->text and returns true; false leaves the scalar to libfyaml (a
 * multi-line one, whose line folding it gets right, or a start mark not at a quote). */
static bool yp_single_quoted(struct yp *y, struct fy_token *tok, struct cnode *r)
{
	const struct fy_mark *m = fy_token_start_mark(tok);
	if (!m || m->input_pos >= y->input_len)
		return false;
	size_t i = m->input_pos;
	if (y->input[i] != '\'' && i > 0 && y->input[i - 1] == '\'')
		i--; /* a start mark at the content rather than at the quote */
	if (y->input[i] != '\'')
		return false;
	const char *p = y->input + i + 1, *end = y->input + y->input_len;
	struct buf b;
	buf_init(&b);
	for (;; p++) {
		if (p >= end || *p == '\n' || *p == '\r') {
			buf_free(&b);
			return false;
		}
		if (*p == '\'') {
			if (p + 1 < end && p[1] == '\'') {
				buf_putc(&b, '\'');
				p++;
				continue;
			}
			break;
		}
		buf_putc(&b, *p);
	}
	r->text = cfg_ar_strndup(y->a, b.data ? b.data : "", b.len);
	buf_free(&b);
	return true;
}

static struct cn_src yp_src(struct yp *y, struct fy_event *e)
{
	const struct fy_mark *m = e ? fy_event_start_mark(e) : NULL;
	if (m && m->line >= 0) {
		y->last.line = m->line + 1;
		y->last.col = m->column + 1;
	}
	struct cn_src s = y->last;
	s.file = y->name;
	s.flag = y->flag;
	return s;
}

/* Where the flow collection ('[' or '{') still open at line:col (1-based) began, for errors such
 * as an unclosed `[1, 2` that the parser notices only lines later. A scan of the text: quoted
 * scalars and comments are skipped; a bracket opens a collection only where a value
 * can start (after ':', '-', ',', '?', another opening bracket, or at the start of a line). 0 when
 * none is open. */
static int yp_open_flow(const struct yp *y, int line, int col, int *open_line, int *open_col, char *open_ch)
{
	enum { YP_FLOW_MAX = 64 };
	int st_line[YP_FLOW_MAX], st_col[YP_FLOW_MAX];
	char st_ch[YP_FLOW_MAX];
	int depth = 0, l = 1, c = 1;
	char prev = '\n'; /* last non-blank character (a newline at a line's start) */
	for (size_t i = 0; i < y->input_len; i++, c++) {
		char ch = y->input[i];
		if (l > line || (l == line && c >= col))
			break;
		if (ch == '\n') {
			l++;
			c = 0;
			prev = '\n';
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r')
			continue;
		if (ch == '#' && (prev == '\n' || i == 0 || y->input[i - 1] == ' ' || y->input[i - 1] == '\t')) {
			while (i + 1 < y->input_len && y->input[i + 1] != '\n')
				i++;
			continue;
		}
		if (ch == '\'' || ch == '"') {
			for (i++, c++; i < y->input_len && y->input[i] != ch; i++, c++) {
				if (y->input[i] == '\n') {
					l++;
					c = 0;
				} else if (ch == '"' && y->input[i] == '\\' && i + 1 < y->input_len) {
					i++;
					c++;
				}
			}
			/* a '' inside a single-quoted scalar closes and reopens it here: the same scan */
			prev = '\'';
			continue;
		}
		bool value_start = prev == '\n' || prev == ':' || prev == '-' || prev == ',' || prev == '?' ||
		                   prev == '[' || prev == '{';
		if ((ch == '[' || ch == '{') && (value_start || depth > 0)) {
			if (depth < YP_FLOW_MAX) {
				st_line[depth] = l;
				st_col[depth] = c;
				st_ch[depth] = ch;
			}
			depth++;
		} else if ((ch == ']' || ch == '}') && depth > 0) {
			depth--;
		}
		prev = ch;
	}
	if (depth <= 0 || depth > YP_FLOW_MAX)
		return 0;
	*open_line = st_line[depth - 1];
	*open_col = st_col[depth - 1];
	*open_ch = st_ch[depth - 1];
	return 1;
}

static void yp_syntax_error(struct yp *y)
{
	if (y->failed)
		return;
	y->failed = true;
	void *it = NULL;
	struct fy_diag_error *er;
	while ((er = fy_diag_errors_iterate(y->diag, &it))) {
		if (er->type < FYET_ERROR)
			continue;
		struct cn_src s = {y->name, er->line, er->column, y->flag};
		if (s.line <= 0)
			s = y->last;
		s.file = y->name;
		s.flag = y->flag;
		int ol, oc;
		char och;
		if (er->msg && strstr(er->msg, "flow") && yp_open_flow(y, s.line, s.col, &ol, &oc, &och) && ol < s.line)
			cfg_report(
			    y->d, &s, "",
			    "YAML syntax error: %s (the flow %s '%c' opened at line %d, column %d is not closed)",
			    er->msg, och == '[' ? "sequence" : "mapping", och, ol, oc);
		else
			cfg_report(y->d, &s, "", "YAML syntax error: %s", er->msg ? er->msg : "invalid YAML");
		return;
	}
	struct cn_src s = y->last;
	s.file = y->name;
	s.flag = y->flag;
	cfg_report(y->d, &s, "", "YAML syntax error");
}

static void yp_error(struct yp *y, const struct cn_src *s, const char *fmt, const char *arg)
{
	if (y->failed)
		return;
	y->failed = true;
	cfg_report(y->d, s, "", fmt, arg);
}

static struct fy_event *yp_next(struct yp *y)
{
	struct fy_event *e = fy_parser_parse(y->p);
	if (!e)
		yp_syntax_error(y);
	return e;
}

static void yp_anchor(struct yp *y, struct fy_token *anchor, struct cnode *n)
{
	if (!anchor)
		return;
	size_t len;
	const char *t = fy_token_get_text(anchor, &len);
	if (!t)
		return;
	xgrow((void **)&y->anchors, &y->cap_anchors, y->n_anchors + 1, sizeof *y->anchors);
	y->anchors[y->n_anchors].name = cfg_ar_strndup(y->a, t, len);
	y->anchors[y->n_anchors].node = n;
	y->n_anchors++;
}

/* tag: 0 none, 1 !expand, 2 !!str, 3 !!int/!!float/!!bool/!!null (the scalar is typed as if plain,
 * even when quoted: PyYAML reads !!int "5" as 5), 4 !!map, 5 !!seq, -1 unsupported */
static int yp_tag(struct fy_token *tag)
{
	if (!tag)
		return 0;
	const char *h = fy_tag_token_handle0(tag);
	const char *s = fy_tag_token_suffix0(tag);
	if (!h || !s)
		return -1;
	if (!strcmp(h, "!") && !strcmp(s, "expand"))
		return 1;
	if (!strcmp(h, "!!")) {
		if (!strcmp(s, "str"))
			return 2;
		if (!strcmp(s, "int") || !strcmp(s, "float") || !strcmp(s, "bool") || !strcmp(s, "null"))
			return 3;
		if (!strcmp(s, "map"))
			return 4;
		if (!strcmp(s, "seq"))
			return 5;
	}
	return -1;
}

static const char *yp_tag_text(struct fy_token *tag)
{
	const char *t = tag ? fy_token_get_text0(tag) : NULL;
	return t ? t : "?";
}

static struct cnode *yp_node(struct yp *y, struct fy_event *e);

/* The keys of a mapping being read, hashed: the duplicate check and the merges look a key up in
 * constant time (a linear search per key made a mapping of 100,000 keys take half a minute). */
struct yp_keyset {
	size_t *slot; /* entry index + 1; 0 = empty */
	size_t cap;   /* a power of two, at least twice the entries */
};

static size_t yp_key_hash(const char *k)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ull;
	return (size_t)h;
}

static struct cn_entry *yp_keyset_find(const struct yp_keyset *ks, const struct cnode *map, const char *key)
{
	if (!ks->cap)
		return NULL;
	for (size_t i = yp_key_hash(key) & (ks->cap - 1);; i = (i + 1) & (ks->cap - 1)) {
		if (!ks->slot[i])
			return NULL;
		struct cn_entry *e = &map->ents[ks->slot[i] - 1];
		if (!strcmp(e->key, key))
			return e;
	}
}

static void yp_keyset_put(struct yp_keyset *ks, const struct cn_entry *ents, size_t idx)
{
	for (size_t i = yp_key_hash(ents[idx].key) & (ks->cap - 1);; i = (i + 1) & (ks->cap - 1))
		if (!ks->slot[i]) {
			ks->slot[i] = idx + 1;
			return;
		}
}

/* cn_map_add, keeping the set (grown to stay at most half full) */
static void yp_map_add(struct yp *y, struct yp_keyset *ks, struct cnode *map, const char *key,
                       const struct cn_src *ksrc, struct cnode *val)
{
	cn_map_add(y->a, map, key, ksrc, val);
	size_t n = map->n_ents;
	if (2 * n > ks->cap) {
		free(ks->slot);
		ks->cap = ks->cap ? 2 * ks->cap : 16;
		ks->slot = xcalloc(ks->cap, sizeof *ks->slot);
		for (size_t i = 0; i + 1 < n; i++)
			yp_keyset_put(ks, map->ents, i);
	}
	yp_keyset_put(ks, map->ents, n - 1);
}

static void yp_merge_into(struct yp *y, struct yp_keyset *ks, struct cnode *map, struct cnode *src,
                          const struct cn_src *at)
{
	if (src->kind == CN_SEQ) {
		for (size_t i = 0; i < src->n_items; i++)
			yp_merge_into(y, ks, map, src->items[i], at);
		return;
	}
	if (src->kind != CN_MAP) {
		yp_error(y, at, "%s", "merge key '<<' needs a mapping or a list of mappings");
		return;
	}
	for (size_t i = 0; i < src->n_ents; i++)
		if (!yp_keyset_find(ks, map, src->ents[i].key))
			yp_map_add(y, ks, map, src->ents[i].key, &src->ents[i].ksrc, src->ents[i].val);
}

static struct cnode *yp_mapping(struct yp *y, struct fy_event *e)
{
	struct cn_src s = yp_src(y, e);
	int tag = yp_tag(e->mapping_start.tag);
	if (tag != 0 && tag != 4) {
		yp_error(y, &s, "unsupported tag '%s' on a mapping (only !expand on lists)",
		         yp_tag_text(e->mapping_start.tag));
		fy_parser_event_free(y->p, e);
		return NULL;
	}
	struct cnode *m = cn_new(y->a, CN_MAP, &s);
	yp_anchor(y, e->mapping_start.anchor, m);
	fy_parser_event_free(y->p, e);
	struct cnode *merges[8];
	size_t n_merges = 0;
	struct yp_keyset set = {0};
	struct cnode *ret = NULL;
	for (;;) {
		struct fy_event *k = yp_next(y);
		if (!k)
			goto done;
		if (k->type == FYET_MAPPING_END) {
			fy_parser_event_free(y->p, k);
			break;
		}
		struct cn_src ks = yp_src(y, k);
		if (k->type != FYET_SCALAR) {
			fy_parser_event_free(y->p, k);
			yp_error(y, &ks, "%s", "complex (non-scalar) mapping keys are not supported");
			goto done;
		}
		size_t len;
		const char *kt = fy_token_get_text(k->scalar.value, &len);
		char *key = cfg_ar_strndup(y->a, kt ? kt : "", kt ? len : 0);
		fy_parser_event_free(y->p, k);
		struct fy_event *v = yp_next(y);
		if (!v)
			goto done;
		struct cnode *val = yp_node(y, v);
		if (!val)
			goto done;
		if (!strcmp(key, "<<")) {
			if (n_merges < 8)
				merges[n_merges++] = val;
			continue;
		}
		if (yp_keyset_find(&set, m, key)) {
			yp_error(y, &ks, "duplicate key '%s'", key);
			goto done;
		}
		yp_map_add(y, &set, m, key, &ks, val);
	}
	for (size_t i = 0; i < n_merges; i++)
		yp_merge_into(y, &set, m, merges[i], &s);
	ret = y->failed ? NULL : m;
done:
	free(set.slot);
	return ret;
}

static struct cnode *yp_sequence(struct yp *y, struct fy_event *e)
{
	struct cn_src s = yp_src(y, e);
	int tag = yp_tag(e->sequence_start.tag);
	if (tag != 0 && tag != 1 && tag != 5) {
		yp_error(y, &s, "unsupported tag '%s' (only !expand is supported)", yp_tag_text(e->sequence_start.tag));
		fy_parser_event_free(y->p, e);
		return NULL;
	}
	struct cnode *q = cn_new(y->a, CN_SEQ, &s);
	q->expand = tag == 1;
	yp_anchor(y, e->sequence_start.anchor, q);
	fy_parser_event_free(y->p, e);
	for (;;) {
		struct fy_event *it = yp_next(y);
		if (!it)
			return NULL;
		if (it->type == FYET_SEQUENCE_END) {
			fy_parser_event_free(y->p, it);
			break;
		}
		struct cnode *item = yp_node(y, it);
		if (!item)
			return NULL;
		cn_seq_add(y->a, q, item);
	}
	return q;
}

static struct cnode *yp_node(struct yp *y, struct fy_event *e)
{
	if (++y->depth > 200) {
		struct cn_src s = yp_src(y, e);
		fy_parser_event_free(y->p, e);
		yp_error(y, &s, "%s", "nesting too deep");
		return NULL;
	}
	struct cnode *r = NULL;
	switch (e->type) {
	case FYET_MAPPING_START:
		r = yp_mapping(y, e);
		break;
	case FYET_SEQUENCE_START:
		r = yp_sequence(y, e);
		break;
	case FYET_SCALAR: {
		struct cn_src s = yp_src(y, e);
		int tag = yp_tag(e->scalar.tag);
		if (tag == 1 || tag == 4 || tag == 5 || tag < 0) {
			yp_error(y, &s, tag == 1 ? "%s" : "unsupported tag '%s'",
			         tag == 1 ? "!expand can only be used with YAML sequences"
			                  : yp_tag_text(e->scalar.tag));
			fy_parser_event_free(y->p, e);
			break;
		}
		enum fy_scalar_style st = fy_token_scalar_style(e->scalar.value);
		r = cn_new(y->a, CN_SCALAR, &s);
		if (!(st == FYSS_SINGLE_QUOTED && yp_single_quoted(y, e->scalar.value, r))) {
			size_t len = 0;
			const char *t = fy_token_get_text(e->scalar.value, &len);
			r->text = cfg_ar_strndup(y->a, t ? t : "", t ? len : 0);
		}
		r->quoted = tag == 2 || (tag != 3 && st != FYSS_PLAIN && st != FYSS_ANY);
		yp_anchor(y, e->scalar.anchor, r);
		fy_parser_event_free(y->p, e);
		break;
	}
	case FYET_ALIAS: {
		struct cn_src s = yp_src(y, e);
		size_t len;
		const char *t = fy_token_get_text(e->alias.anchor, &len);
		char name[256];
		snprintf(name, sizeof name, "%.*s", (int)(t ? len : 0), t ? t : "");
		fy_parser_event_free(y->p, e);
		for (size_t i = y->n_anchors; i-- > 0;)
			if (!strcmp(y->anchors[i].name, name)) {
				r = y->anchors[i].node;
				break;
			}
		if (!r)
			yp_error(y, &s, "unknown alias '*%s'", name);
		break;
	}
	default: {
		struct cn_src s = yp_src(y, e);
		fy_parser_event_free(y->p, e);
		yp_error(y, &s, "%s", "unexpected YAML event");
		break;
	}
	}
	y->depth--;
	return r;
}

/* Position of the first invalid UTF-8 sequence (libfyaml leaks on some of them) or control
 * character (*ctrl: its code point; YAML, like PyYAML, allows tab, LF, CR and NEL only: an ESC or
 * a ^A in a value was kept, invisible in messages), or 0 if valid. */
static size_t utf8_invalid_at(const unsigned char *s, size_t len, int *line, int *col, unsigned *ctrl)
{
	*ctrl = 0;
	*line = 1;
	*col = 1;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
		if (n == 0 || (n == 2 && c < 0xC2) || (n == 4 && c > 0xF4) || i + n > len)
			return i + 1;
		for (size_t k = 1; k < n; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return i + 1;
		if (n == 3) {
			unsigned cp = ((c & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
			if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))
				return i + 1;
		}
		if (n == 4) {
			unsigned cp = ((c & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12) | ((s[i + 2] & 0x3Fu) << 6) |
			              (s[i + 3] & 0x3Fu);
			if (cp < 0x10000 || cp > 0x10FFFF)
				return i + 1;
		}
		if (c == 0)
			return i + 1;
		unsigned cp1 = n == 1 ? c : n == 2 ? ((c & 0x1Fu) << 6) | (s[i + 1] & 0x3Fu) : 0x100;
		if ((cp1 < 0x20 && c != '\t' && c != '\n' && c != '\r') || (cp1 >= 0x7F && cp1 < 0xA0 && cp1 != 0x85)) {
			*ctrl = cp1;
			return i + 1;
		}
		if (c == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
		i += n;
	}
	return 0;
}

/* Aliases make the node tree a graph: a 10-level "billion laughs" document of a few hundred bytes
 * stands for 10^10 nodes, and every later walk (the !expand count, conversion, JSON fields) would
 * visit them one by one. Each node's expanded size and height are computed once (memoised), so the
 * check costs one visit per distinct node; a document larger than CFG_MAX_EXPANDED_NODES or deeper
 * than CFG_MAX_NESTING once expanded is rejected, and so is an alias inside its own anchor (a
 * cycle). docs/CONFIG.md, "Limits". */
#define CFG_MAX_EXPANDED_NODES 100000u
#define CFG_MAX_NESTING 200u

struct cn_expand_check {
	const struct cnode *bad; /* where the limit was crossed */
	const char *why;         /* NULL: the node count */
	bool aliased;            /* some node was reached twice (through an alias) */
};

static size_t cn_sat_add(size_t a, size_t b)
{
	size_t r = a + b;
	return r > CFG_MAX_EXPANDED_NODES + 1 ? CFG_MAX_EXPANDED_NODES + 1 : r;
}

/* Expanded node count of n (saturated at the limit + 1); sets ck->bad on the first violation.
 * depth: levels above n, so the recursion itself never goes deeper than CFG_MAX_NESTING. */
static size_t cn_expand_count(struct cnode *n, size_t depth, struct cn_expand_check *ck)
{
	if (ck->bad)
		return CFG_MAX_EXPANDED_NODES + 1;
	if (n->exp_nodes == SIZE_MAX) {
		ck->bad = n;
		ck->why = "an alias refers to a node that contains it (recursive alias)";
		return CFG_MAX_EXPANDED_NODES + 1;
	}
	if (n->exp_nodes) {
		ck->aliased = true;
		if (depth + n->exp_height > CFG_MAX_NESTING) {
			ck->bad = n;
			ck->why = "nesting too deep once aliases are expanded";
		}
		return n->exp_nodes;
	}
	if (depth + 1 > CFG_MAX_NESTING) {
		ck->bad = n;
		ck->why = "nesting too deep once aliases are expanded";
		return CFG_MAX_EXPANDED_NODES + 1;
	}
	n->exp_nodes = SIZE_MAX;
	size_t count = 1, height = 0;
	size_t nch = n->kind == CN_MAP ? n->n_ents : n->kind == CN_SEQ ? n->n_items : 0;
	for (size_t i = 0; i < nch && !ck->bad; i++) {
		struct cnode *ch = n->kind == CN_MAP ? n->ents[i].val : n->items[i];
		count = cn_sat_add(count, cn_expand_count(ch, depth + 1, ck));
		if (!ck->bad && ch->exp_height > height)
			height = ch->exp_height;
	}
	n->exp_nodes = count;
	n->exp_height = height + 1;
	if (count > CFG_MAX_EXPANDED_NODES && !ck->bad)
		ck->bad = n;
	return count;
}

struct cnode *cfg_yaml_parse(struct cfg_arena *a, const char *text, size_t len, const char *name, const char *flag,
                             struct cfg_diag *d)
{
	int bl, bc;
	unsigned ctrl;
	if (utf8_invalid_at((const unsigned char *)text, len, &bl, &bc, &ctrl)) {
		struct cn_src s = {name, bl, bc, flag};
		if (ctrl)
			cfg_report(d, &s, "",
			           "control character U+%04X in the file (YAML allows tab, LF and CR; write others "
			           "escaped in a double-quoted string)",
			           ctrl);
		else
			cfg_report(d, &s, "", "invalid UTF-8 (or NUL byte) in the file");
		return NULL;
	}
	struct yp y = {.a = a, .d = d, .name = name, .flag = flag};
	y.last.line = 1;
	y.last.col = 1;
	struct fy_diag_cfg dc;
	fy_diag_cfg_default(&dc);
	dc.fp = NULL;
	dc.colorize = false;
	y.diag = fy_diag_create(&dc);
	if (!y.diag) {
		struct cn_src s = {name, 1, 1, flag};
		cfg_report(d, &s, "", "cannot create the YAML parser");
		return NULL;
	}
	fy_diag_set_collect_errors(y.diag, true);
	struct fy_parse_cfg pc = {0};
	pc.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_DEFAULT_VERSION_1_1 | FYPCF_JSON_NONE;
	pc.diag = y.diag;
	y.p = fy_parser_create(&pc);
	if (!y.p) {
		fy_diag_destroy(y.diag);
		struct cn_src s = {name, 1, 1, flag};
		cfg_report(d, &s, "", "cannot create the YAML parser");
		return NULL;
	}
	struct cnode *root = NULL;
	bool have_doc = false;
	y.input = text;
	y.input_len = len;
	if (fy_parser_set_string(y.p, text, len) != 0) {
		yp_syntax_error(&y);
		goto out;
	}
	for (;;) {
		struct fy_event *e = fy_parser_parse(y.p);
		if (!e) {
			if (fy_parser_get_stream_error(y.p))
				yp_syntax_error(&y);
			break;
		}
		enum fy_event_type t = e->type;
		if (t == FYET_STREAM_START || t == FYET_DOCUMENT_END) {
			fy_parser_event_free(y.p, e);
			continue;
		}
		if (t == FYET_STREAM_END) {
			fy_parser_event_free(y.p, e);
			break;
		}
		if (t == FYET_DOCUMENT_START) {
			struct cn_src s = yp_src(&y, e);
			fy_parser_event_free(y.p, e);
			if (have_doc) {
				yp_error(&y, &s, "%s", "multiple YAML documents in one file are not supported");
				break;
			}
			have_doc = true;
			continue;
		}
		root = yp_node(&y, e);
		if (!root)
			break;
	}
	if (!y.failed && fy_parser_get_stream_error(y.p))
		yp_syntax_error(&y);
out:
	fy_parser_destroy(y.p);
	fy_diag_destroy(y.diag);
	free(y.anchors);
	if (y.failed)
		return NULL;
	if (!root || (root->kind == CN_SCALAR && cn_is_null(root))) {
		struct cn_src s = {name, 1, 1, flag};
		root = cn_new(a, CN_MAP, &s);
	}
	if (root->kind == CN_SCALAR) {
		cfg_report(d, &root->src, "", "the configuration must be a mapping or a list of mappings");
		return NULL;
	}
	struct cn_expand_check ck = {0};
	cn_expand_count(root, 0, &ck);
	if (ck.bad) {
		if (ck.why)
			cfg_report(d, &ck.bad->src, "", "%s", ck.why);
		else
			cfg_report(d, &ck.bad->src, "", "%s exceeds %u nodes",
			           ck.aliased ? "alias expansion" : "the document", CFG_MAX_EXPANDED_NODES);
		return NULL;
	}
	return root;
}

/* ================= !expand ================= */
#define EXP_LIMIT 10000u

static size_t sat_mul(size_t a, size_t b)
{
	if (a == 0 || b == 0)
		return 0;
	if (a > (EXP_LIMIT + 1) / b + 1)
		return EXP_LIMIT + 1;
	size_t r = a * b;
	return r > EXP_LIMIT + 1 ? EXP_LIMIT + 1 : r;
}

static size_t sat_add(size_t a, size_t b)
{
	size_t r = a + b;
	return r > EXP_LIMIT + 1 ? EXP_LIMIT + 1 : r;
}

static const struct cnode *exp_empty;

static size_t exp_count(const struct cnode *n, bool *has, int depth)
{
	if (depth > 250)
		return 1;
	size_t c = 1;
	switch (n->kind) {
	case CN_SCALAR:
		return 1;
	case CN_SEQ:
		if (n->expand) {
			*has = true;
			if (n->n_items == 0 && !exp_empty)
				exp_empty = n;
			c = 0;
			for (size_t i = 0; i < n->n_items; i++)
				c = sat_add(c, exp_count(n->items[i], has, depth + 1));
			return c;
		}
		for (size_t i = 0; i < n->n_items; i++)
			c = sat_mul(c, exp_count(n->items[i], has, depth + 1));
		return c;
	case CN_MAP:
		for (size_t i = 0; i < n->n_ents; i++)
			c = sat_mul(c, exp_count(n->ents[i].val, has, depth + 1));
		return c;
	}
	return 1;
}

/* Fill out[0..count) with the alternatives of n (count = exp_count(n)). */
static void exp_all(struct cfg_arena *a, struct cnode *n, struct cnode **out, size_t count)
{
	bool has = false;
	if (n->kind == CN_SCALAR) {
		out[0] = n;
		return;
	}
	size_t c = exp_count(n, &has, 0);
	if (!has) {
		out[0] = n;
		return;
	}
	(void)c;
	if (n->kind == CN_SEQ && n->expand) {
		size_t k = 0;
		for (size_t i = 0; i < n->n_items; i++) {
			bool h2 = false;
			size_t ci = exp_count(n->items[i], &h2, 0);
			exp_all(a, n->items[i], out + k, ci);
			k += ci;
		}
		return;
	}
	size_t nch = n->kind == CN_SEQ ? n->n_items : n->n_ents;
	struct cnode ***alts = cfg_ar_alloc(a, (nch + 1) * sizeof *alts);
	size_t *cnt = cfg_ar_alloc(a, (nch + 1) * sizeof *cnt);
	for (size_t i = 0; i < nch; i++) {
		struct cnode *ch = n->kind == CN_SEQ ? n->items[i] : n->ents[i].val;
		bool h2 = false;
		cnt[i] = exp_count(ch, &h2, 0);
		alts[i] = cfg_ar_alloc(a, cnt[i] * sizeof(struct cnode *));
		exp_all(a, ch, alts[i], cnt[i]);
	}
	for (size_t idx = 0; idx < count; idx++) {
		struct cnode *m = cn_new(a, n->kind, &n->src);
		m->implied = n->implied;
		size_t rem = idx;
		size_t *pick = cfg_ar_alloc(a, (nch + 1) * sizeof *pick);
		for (size_t i = nch; i-- > 0;) {
			pick[i] = rem % cnt[i];
			rem /= cnt[i];
		}
		for (size_t i = 0; i < nch; i++) {
			if (n->kind == CN_SEQ)
				cn_seq_add(a, m, alts[i][pick[i]]);
			else
				cn_map_add(a, m, n->ents[i].key, &n->ents[i].ksrc, alts[i][pick[i]]);
		}
		out[idx] = m;
	}
}

size_t cfg_expand_root(struct cfg_arena *a, struct cnode *root, struct cnode ***out, struct cfg_diag *d)
{
	bool has = false;
	exp_empty = NULL;
	struct cnode **variants;
	size_t n_variants;
	if (root->kind == CN_SEQ) {
		if (root->n_items == 0) {
			cfg_report(d, &root->src, "", "the top-level list of configurations is empty");
			return 0;
		}
		variants = root->items;
		n_variants = root->n_items;
	} else {
		variants = &root;
		n_variants = 1;
	}
	size_t total = 0;
	for (size_t i = 0; i < n_variants; i++) {
		if (variants[i]->kind != CN_MAP) {
			cfg_report(d, &variants[i]->src, "",
			           "each configuration in a top-level list must be a mapping");
			return 0;
		}
		total = sat_add(total, exp_count(variants[i], &has, 0));
	}
	if (exp_empty) {
		cfg_report(d, &exp_empty->src, "", "!expand needs at least one value");
		return 0;
	}
	if (total > EXP_LIMIT) {
		cfg_report(d, &root->src, "", "!expand produces more than %u configurations", EXP_LIMIT);
		return 0;
	}
	if (total == 0) {
		cfg_report(d, &root->src, "", "no configuration to run");
		return 0;
	}
	struct cnode **res = cfg_ar_alloc(a, total * sizeof *res);
	size_t k = 0;
	for (size_t i = 0; i < n_variants; i++) {
		bool h2 = false;
		size_t c = exp_count(variants[i], &h2, 0);
		exp_all(a, variants[i], res + k, c);
		k += c;
	}
	*out = res;
	return total;
}
