/* Trace replay session generator (docs/TRACES.md). */
#include "workload/trace_gen.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_types.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/rng.h"
#include "core/xalloc.h"
#include "tokenizer/tokenizer.h"
#include "workload/request.h"
#include "workload/trace_reader.h"

#define MAX_TURNS 100000
#define MAX_SEEN_SESSIONS ((size_t)2 << 20) /* contiguity check: ids remembered (<= 32 MiB) */
#define N_BLOCK_SLOTS 4096                  /* direct-mapped cache of full hash-id blocks */
#define MAX_CORPUS_BYTES ((size_t)64 << 20)

struct trow {
	cJSON *j;
	uint64_t line;
};

struct u64set {
	uint64_t *keys; /* 0 = empty */
	size_t cap, n;
};

struct doc {
	char *key;
	uint64_t hash;
	int64_t count;
	uint64_t order;
	bool top;
	cJSON *warm_row;
	uint64_t warm_line;
};

struct docmap {
	size_t *slots; /* index+1 into docs; 0 = empty */
	size_t cap;
	struct doc *docs;
	size_t n, cap_docs;
};

struct blk_slot {
	uint64_t id;
	char *text;
};

struct wl_trace_gen {
	const struct tok *tok;
	struct wl_trace_reader *rd;
	enum cfg_flavor_type flavor;
	bool wrap;
	uint64_t seed;
	int64_t page_size, block_size, num_documents;
	int64_t max_len_tokens; /* bound on any length column (config_max_request_tokens) */
	const char *max_len_why;
	char *conv_col, *role_key, *content_key, *user_role, *asst_role;
	bool replay_ts;
	double time_scale;
	const char *required[6];
	size_t n_required;

	uint64_t next_session_id, next_request_id;
	uint64_t epoch;
	uint64_t sessions_in_pass, rows_in_pass, skipped_in_pass, dropped_turns_in_pass;

	cJSON *look;
	uint64_t look_line;
	struct trow *rows;
	size_t n_rows, cap_rows;
	struct buf key, key2;
	struct u64set seen;
	bool seen_full_warned;

	/* rag */
	struct docmap docs;
	size_t *top;
	size_t n_top, warm_next;

	/* hash-id blocks */
	struct blk_slot *blocks;
	uint64_t block_seed;
	bool have_first_hash;
	uint64_t first_hash;

	/* mooncake timestamps */
	bool have_ts;
	double first_ts_ms, last_ts_ms, prev_ts_ms, period_ms;
	uint64_t ts_rows;

	/* user corpus (corpus_file): token ids, or words under the word-approximation tokenizer
	 * (whose ids of unknown words do not decode back to the words) */
	int32_t *corpus_ids;
	size_t n_corpus_ids;
	char *corpus_text_all; /* words, NUL-separated */
	char **corpus_words;
	size_t n_corpus_words;

	struct rng rng_prompt, rng_lineage;
	int32_t *ids;
	size_t cap_ids;
	struct buf tmp;

	bool failed;
	char err[1024];
};

/* ------------------------------------------------------------------ helpers */

static void gfail(struct wl_trace_gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void gfail(struct wl_trace_gen *g, const char *fmt, ...)
{
	if (g->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g->err, sizeof g->err, fmt, ap);
	va_end(ap);
	g->failed = true;
}

static uint64_t mix64(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h ? h : 1;
}

/* "file:line: column N 'key'" (CSV) or "file:line: key 'key'" (JSON) */
static const char *where(struct wl_trace_gen *g, uint64_t line, const char *key, char *out, size_t len)
{
	const char *name = wl_trace_reader_name(g->rd);
	size_t col = wl_trace_reader_column_index(g->rd, key);
	if (col)
		snprintf(out, len, "%s:%llu: column %zu '%s'", name, (unsigned long long)line, col, key);
	else
		snprintf(out, len, "%s:%llu: key '%s'", name, (unsigned long long)line, key);
	return out;
}

static void value_repr(const cJSON *v, char *out, size_t len)
{
	if (!v) {
		snprintf(out, len, "nothing");
		return;
	}
	char *s = cJSON_PrintUnformatted(v);
	if (!s) {
		snprintf(out, len, "?");
		return;
	}
	if (strlen(s) > 60)
		snprintf(out, len, "%.57s...", s);
	else
		snprintf(out, len, "%s", s);
	free(s);
}

static bool is_missing(const cJSON *v)
{
	return !v || cJSON_IsNull(v);
}

/* A row's number for key (a JSON number or a string that is one) into *out: dflt when it is absent
 * or null and not required; at least min, and with `integer` a whole number of at most the length
 * limit (turn_idx: 9e15). -1 (reported, naming the row and key) otherwise. */
static int get_number(struct wl_trace_gen *g, const cJSON *row, uint64_t line, const char *key, bool required,
                      double dflt, double min, bool integer, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);
	char w[300], rep[80];
	if (is_missing(v)) {
		if (required) {
			gfail(g, "%s: missing required value", where(g, line, key, w, sizeof w));
			return -1;
		}
		*out = dflt;
		return 0;
	}
	double d = NAN;
	if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
	} else if (cJSON_IsString(v)) {
		/* a number in a string, as a CSV field is read: "0x10" or " 8" is not one */
		if (!wl_trace_parse_decimal(v->valuestring, &d))
			d = NAN;
	}
	bool is_len = integer && strcmp(key, "turn_idx") != 0;
	double max = !integer ? INFINITY : is_len ? (double)g->max_len_tokens : 9.0e15;
	if (!isfinite(d) || (integer && d != floor(d)) || d < min || d > max) {
		value_repr(v, rep, sizeof rep);
		if (integer)
			gfail(g, "%s: expected an integer >= %.0f and <= %.0f%s%s%s, got %s",
			      where(g, line, key, w, sizeof w), min, max, is_len ? " (the limit: " : "",
			      is_len ? g->max_len_why : "", is_len ? ")" : "", rep);
		else
			gfail(g, "%s: expected a number >= %g, got %s", where(g, line, key, w, sizeof w), min, rep);
		return -1;
	}
	*out = d;
	return 0;
}

static int get_int(struct wl_trace_gen *g, const cJSON *row, uint64_t line, const char *key, bool required,
                   int64_t dflt, int64_t min, int64_t *out)
{
	double d;
	int rc = get_number(g, row, line, key, required, (double)dflt, (double)min, true, &d);
	if (!rc)
		*out = (int64_t)d; /* (a whole number within 9e15, or the small default) */
	return rc;
}

static int get_double(struct wl_trace_gen *g, const cJSON *row, uint64_t line, const char *key, bool required,
                      double dflt, double min, double *out)
{
	return get_number(g, row, line, key, required, dflt, min, false, out);
}

/* Canonical text of a key value (session_id, doc_id): integers without a fraction, strings as is. */
static int key_text(struct wl_trace_gen *g, const cJSON *row, uint64_t line, const char *key, struct buf *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);
	char w[300], rep[80];
	buf_reset(out);
	if (cJSON_IsString(v)) {
		buf_puts(out, v->valuestring);
		return 0;
	}
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
		double d = v->valuedouble;
		if (d == floor(d) && fabs(d) < 1e15)
			buf_printf(out, "%lld", (long long)d);
		else
			buf_printf(out, "%.17g", d);
		return 0;
	}
	if (is_missing(v)) {
		gfail(g, "%s: missing required value", where(g, line, key, w, sizeof w));
		return -1;
	}
	value_repr(v, rep, sizeof rep);
	gfail(g, "%s: expected a number or a string, got %s", where(g, line, key, w, sizeof w), rep);
	return -1;
}

/* Hash id: an integer (exact up to 2^53) or a string (hashed). */
static int hash_id_of(struct wl_trace_gen *g, const cJSON *v, uint64_t line, size_t idx, uint64_t *out)
{
	char w[300], rep[80];
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble) &&
	    fabs(v->valuedouble) < 9.007199254740992e15) {
		*out = (uint64_t)(int64_t)v->valuedouble;
		return 0;
	}
	if (cJSON_IsString(v)) {
		*out = fnv1a(v->valuestring, strlen(v->valuestring));
		return 0;
	}
	value_repr(v, rep, sizeof rep);
	gfail(g, "%s: element %zu: expected an integer hash id, got %s", where(g, line, "hash_ids", w, sizeof w), idx,
	      rep);
	return -1;
}

static const cJSON *get_list(struct wl_trace_gen *g, const cJSON *row, uint64_t line, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);
	char w[300], rep[80];
	if (cJSON_IsArray(v))
		return v;
	if (is_missing(v)) {
		gfail(g, "%s: missing required value", where(g, line, key, w, sizeof w));
		return NULL;
	}
	value_repr(v, rep, sizeof rep);
	gfail(g, "%s: expected a JSON list, got %s", where(g, line, key, w, sizeof w), rep);
	return NULL;
}

static bool u64set_insert(struct u64set *s, uint64_t k)
{
	if (k == 0)
		k = 1;
	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 1024;
		uint64_t *nk = xcalloc(ncap, sizeof *nk);
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->keys[i])
				continue;
			size_t j = mix64(s->keys[i]) & (ncap - 1);
			while (nk[j])
				j = (j + 1) & (ncap - 1);
			nk[j] = s->keys[i];
		}
		free(s->keys);
		s->keys = nk;
		s->cap = ncap;
	}
	size_t j = mix64(k) & (s->cap - 1);
	while (s->keys[j]) {
		if (s->keys[j] == k)
			return false;
		j = (j + 1) & (s->cap - 1);
	}
	s->keys[j] = k;
	s->n++;
	return true;
}

static struct doc *docmap_get(struct docmap *m, const char *key, bool create)
{
	uint64_t h = fnv1a(key, strlen(key));
	if (create && (m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 256;
		size_t *ns = xcalloc(ncap, sizeof *ns);
		for (size_t i = 0; i < m->n; i++) {
			size_t j = mix64(m->docs[i].hash) & (ncap - 1);
			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = i + 1;
		}
		free(m->slots);
		m->slots = ns;
		m->cap = ncap;
	}
	if (!m->cap)
		return NULL;
	size_t j = mix64(h) & (m->cap - 1);
	while (m->slots[j]) {
		struct doc *d = &m->docs[m->slots[j] - 1];
		if (d->hash == h && strcmp(d->key, key) == 0)
			return d;
		j = (j + 1) & (m->cap - 1);
	}
	if (!create)
		return NULL;
	xgrow((void **)&m->docs, &m->cap_docs, m->n + 1, sizeof *m->docs);
	struct doc *d = &m->docs[m->n];
	memset(d, 0, sizeof *d);
	d->key = xstrdup(key);
	d->hash = h;
	d->order = m->n;
	m->slots[j] = ++m->n;
	return d;
}

/* Replace invalid UTF-8 (random token ids can decode to partial sequences) with '?'. */
static void utf8_sanitize(char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		bool ok = len > 0 && i + len <= n && !(c == 0xC0 || c == 0xC1 || c > 0xF4);
		for (size_t k = 1; ok && k < len; k++)
			if (((unsigned char)s[i + k] >> 6) != 2)
				ok = false;
		if (ok && c == 0)
			ok = false;
		if (!ok) {
			s[i] = '?';
			i++;
		} else {
			i += len;
		}
	}
}

/* Append piece to out, with one space between them unless one side already has whitespace. */
static void append_piece(struct buf *out, const char *piece, size_t n)
{
	if (n == 0)
		return;
	if (out->len > 0) {
		char a = out->data[out->len - 1], b = piece[0];
		bool ws_a = a == ' ' || a == '\n' || a == '\t', ws_b = b == ' ' || b == '\n' || b == '\t';
		if (!ws_a && !ws_b)
			buf_putc(out, ' ');
	}
	buf_append(out, piece, n);
}

/* ------------------------------------------------------------------ prompt text */

/* Text of ~n tokens from the corpus: the user's corpus_file if loaded, else the tokenizer's
 * packaged corpus (tok_prompt_build, exact token count). Appends to out. */
static int corpus_text(struct wl_trace_gen *g, struct rng *r, int64_t n, struct buf *out)
{
	if (n <= 0)
		return 0;
	buf_reset(&g->tmp);
	if (g->corpus_words) {
		size_t start = (size_t)rng_below(r, g->n_corpus_words);
		for (int64_t i = 0; i < n; i++) {
			if (i)
				buf_putc(&g->tmp, ' ');
			buf_puts(&g->tmp, g->corpus_words[(start + (size_t)i) % g->n_corpus_words]);
		}
	} else if (g->corpus_ids) {
		size_t start = (size_t)rng_below(r, g->n_corpus_ids);
		xgrow((void **)&g->ids, &g->cap_ids, (size_t)n, sizeof *g->ids);
		for (int64_t i = 0; i < n; i++)
			g->ids[i] = g->corpus_ids[(start + (size_t)i) % g->n_corpus_ids];
		if (tok_decode(g->tok, g->ids, (size_t)n, &g->tmp) != 0) {
			gfail(g, "%s: tokenizer failed to decode corpus tokens", wl_trace_reader_name(g->rd));
			return -1;
		}
		utf8_sanitize(g->tmp.data, g->tmp.len);
	} else if (tok_prompt_build(g->tok, r, n, NULL, &g->tmp) != 0) {
		gfail(g, "%s: cannot build a prompt of %lld tokens from the corpus", wl_trace_reader_name(g->rd),
		      (long long)n);
		return -1;
	}
	append_piece(out, g->tmp.data ? g->tmp.data : "", g->tmp.len);
	return 0;
}

/* Decoded random vocabulary ids, ~n tokens (the reference's request_log prompts). The id count is
 * corrected a few rounds so the text re-tokenises to n tokens where the tokenizer allows. Ids come
 * from the middle of the vocabulary: special and byte tokens sit at its ends in common tokenizers. */
static int random_text(struct wl_trace_gen *g, struct rng *r, int64_t n, struct buf *out)
{
	if (n <= 0)
		return 0;
	size_t v = tok_vocab_size(g->tok);
	if (v == 0) {
		gfail(g, "tokenizer %s has an empty vocabulary", tok_name(g->tok));
		return -1;
	}
	size_t lo = 0, hi = v;
	if (v >= 64) {
		lo = v / 8 < 259 ? v / 8 : 259;
		hi = v - (v / 8 < 1024 ? v / 8 : 1024);
	}
	struct rng start = *r, cur = *r;
	int64_t m = n, best_m = n, best_diff = INT64_MAX;
	for (int iter = 0; iter < 6; iter++) {
		cur = start;
		xgrow((void **)&g->ids, &g->cap_ids, (size_t)m, sizeof *g->ids);
		for (int64_t i = 0; i < m; i++)
			g->ids[i] = (int32_t)(lo + rng_below(&cur, hi - lo));
		buf_reset(&g->tmp);
		if (tok_decode(g->tok, g->ids, (size_t)m, &g->tmp) != 0) {
			gfail(g, "tokenizer %s failed to decode random ids", tok_name(g->tok));
			return -1;
		}
		utf8_sanitize(g->tmp.data, g->tmp.len);
		int64_t c = (int64_t)tok_count(g->tok, g->tmp.data ? g->tmp.data : "", g->tmp.len);
		int64_t diff = c > n ? c - n : n - c;
		if (diff < best_diff) {
			best_diff = diff;
			best_m = m;
		}
		if (diff == 0)
			break;
		m += n - c;
		if (m < 1)
			m = 1;
		if (m > 4 * n + 64)
			m = 4 * n + 64;
	}
	if (m != best_m || best_diff != 0) {
		cur = start;
		m = best_m;
		for (int64_t i = 0; i < m; i++)
			g->ids[i] = (int32_t)(lo + rng_below(&cur, hi - lo));
		buf_reset(&g->tmp);
		if (tok_decode(g->tok, g->ids, (size_t)m, &g->tmp) != 0) {
			gfail(g, "tokenizer %s failed to decode random ids", tok_name(g->tok));
			return -1;
		}
		utf8_sanitize(g->tmp.data, g->tmp.len);
	}
	*r = cur;
	append_piece(out, g->tmp.data ? g->tmp.data : "", g->tmp.len);
	return 0;
}

static void block_rng(struct wl_trace_gen *g, uint64_t id, struct rng *r)
{
	rng_init(r, g->block_seed ^ mix64(id));
}

/* Append the block of hash id `id` (ntok tokens; full blocks are cached) to out. Deterministic per
 * (seed, id, ntok): the same hash ids give the same text in every session. */
static int append_block(struct wl_trace_gen *g, uint64_t id, int64_t ntok, struct buf *out)
{
	struct rng r;
	if (ntok != g->block_size) {
		block_rng(g, id, &r);
		return corpus_text(g, &r, ntok, out);
	}
	struct blk_slot *s = &g->blocks[mix64(id ^ 0x5bd1e995ull) & (N_BLOCK_SLOTS - 1)];
	if (!s->text || s->id != id) {
		struct buf b;
		buf_init(&b);
		block_rng(g, id, &r);
		if (corpus_text(g, &r, ntok, &b) != 0) {
			buf_free(&b);
			return -1;
		}
		free(s->text);
		s->text = b.data ? buf_steal(&b) : xstrdup("");
		s->id = id;
	}
	append_piece(out, s->text, strlen(s->text));
	return 0;
}

static uint64_t epoch_hash(struct wl_trace_gen *g, uint64_t id)
{
	if (g->epoch == 0 || (g->have_first_hash && id == g->first_hash))
		return id;
	return mix64(id ^ mix64(g->epoch * 0xD6E8FEB86659FD93ull));
}

/* ------------------------------------------------------------------ sessions */

static struct wl_session *sess_alloc(struct wl_trace_gen *g, size_t n, bool history_edges)
{
	struct wl_session *s = xcalloc(1, sizeof *s);
	s->id = g->next_session_id++;
	s->n_nodes = n;
	s->requests = xcalloc(n, sizeof *s->requests);
	if (n > 1) {
		s->edges = xcalloc(n - 1, sizeof *s->edges);
		s->n_edges = n - 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct wl_request *q = &s->requests[i];
		q->id = g->next_request_id++;
		q->session_id = s->id;
		q->node_id = (uint32_t)i;
		q->history_parent = history_edges && i > 0 ? (int32_t)(i - 1) : -1;
		if (i > 0) {
			q->parent_nodes = xmalloc(sizeof *q->parent_nodes);
			q->parent_nodes[0] = (uint32_t)(i - 1);
			q->n_parents = 1;
			s->edges[i - 1] = (struct wl_edge){(uint32_t)(i - 1), (uint32_t)i, history_edges};
		}
		q->api_mode = WL_API_CHAT;
		q->arrival_offset_s = -1.0;
	}
	return s;
}

static void set_prompt(struct wl_request *q, struct buf *b)
{
	q->prompt_text = b->data ? buf_steal(b) : xstrdup("");
}

/* The lengths a per-row request of a session trace carries (docs/TRACES.md): input_length (at
 * least in_min), new_input_length (at least newin_min; not read when newin_min < 0), output_length
 * and the optional wait_after_previous_response_s. */
struct row_lengths {
	int64_t in_tokens, new_in_tokens, out_tokens;
	double wait_s;
};

static int read_row_lengths(struct wl_trace_gen *g, const cJSON *row, uint64_t line, int64_t in_min, int64_t newin_min,
                            struct row_lengths *l)
{
	l->new_in_tokens = 0;
	return get_int(g, row, line, "input_length", true, 0, in_min, &l->in_tokens) ||
	       (newin_min >= 0 && get_int(g, row, line, "new_input_length", true, 0, newin_min, &l->new_in_tokens)) ||
	       get_int(g, row, line, "output_length", true, 0, 0, &l->out_tokens) ||
	       get_double(g, row, line, "wait_after_previous_response_s", false, 0.0, 0.0, &l->wait_s);
}

/* A row's request: the prompt built in b, its target lengths and its wait. */
static void fill_request(struct wl_request *q, struct buf *b, int64_t prompt_tokens, const struct row_lengths *l)
{
	set_prompt(q, b);
	q->target_prompt_tokens = prompt_tokens;
	q->target_output_tokens = l->out_tokens;
	q->wait_after_ready_s = l->wait_s;
}

static int check_required(struct wl_trace_gen *g, const cJSON *row, uint64_t line)
{
	char w[300];
	for (size_t i = 0; i < g->n_required; i++) {
		if (is_missing(cJSON_GetObjectItemCaseSensitive(row, g->required[i]))) {
			gfail(g, "%s: missing required value", where(g, line, g->required[i], w, sizeof w));
			return -1;
		}
	}
	return 0;
}

/* Every prompt of a session is built before its first request, so a session's prompt text is
 * bounded like a synthetic session's: 16 x the length limit (docs/CONFIG.md, Limits). Also the
 * point where a signal stops the building (wl_interrupted). */
static int session_budget(struct wl_trace_gen *g, uint64_t line, int64_t *acc, int64_t add)
{
	if (wl_interrupted()) {
		gfail(g, "%s: interrupted while building prompts", wl_trace_reader_name(g->rd));
		return -1;
	}
	*acc += add;
	if (*acc <= 16 * g->max_len_tokens)
		return 0;
	gfail(g, "%s:%llu: the session needs more than %lld prompt tokens (16 x the limit: %s)",
	      wl_trace_reader_name(g->rd), (unsigned long long)line, (long long)(16 * g->max_len_tokens),
	      g->max_len_why);
	return -1;
}

/* A prompt for row i of a session trace into b (empty), and its length in tokens. Each also checks
 * the session's prompt budget (session_budget). */
typedef int (*row_prompt_fn)(struct wl_trace_gen *g, void *ctx, size_t i, const cJSON *row, uint64_t line,
                             const struct row_lengths *l, int64_t *budget, struct buf *b, int64_t *prompt_tokens);

/* One session of a request per row of g->rows, in order: the row's lengths (read_row_lengths with
 * in_min, newin_min) and the prompt row_prompt builds. */
static int build_rows(struct wl_trace_gen *g, int64_t in_min, int64_t newin_min, row_prompt_fn row_prompt, void *ctx,
                      struct wl_session **out)
{
	struct wl_session *s = sess_alloc(g, g->n_rows, true);
	struct buf b;
	buf_init(&b);
	int64_t budget = 0;
	for (size_t i = 0; i < g->n_rows; i++) {
		const cJSON *row = g->rows[i].j;
		uint64_t line = g->rows[i].line;
		struct row_lengths l;
		int64_t prompt_tokens = 0;
		buf_reset(&b);
		if (read_row_lengths(g, row, line, in_min, newin_min, &l) ||
		    row_prompt(g, ctx, i, row, line, &l, &budget, &b, &prompt_tokens))
			goto fail;
		fill_request(&s->requests[i], &b, prompt_tokens, &l);
	}
	buf_free(&b);
	*out = s;
	return 0;
fail:
	buf_free(&b);
	wl_session_free(s);
	return -1;
}

/* request_log: input_length random tokens */
static int request_log_prompt(struct wl_trace_gen *g, void *ctx, size_t i, const cJSON *row, uint64_t line,
                              const struct row_lengths *l, int64_t *budget, struct buf *b, int64_t *prompt_tokens)
{
	(void)ctx;
	(void)i;
	(void)row;
	*prompt_tokens = l->in_tokens;
	return session_budget(g, line, budget, l->in_tokens) || random_text(g, &g->rng_prompt, l->in_tokens, b);
}

static int build_request_log(struct wl_trace_gen *g, struct wl_session **out)
{
	return build_rows(g, 1, -1, request_log_prompt, NULL, out);
}

struct turn_key {
	int64_t turn;
	size_t pos;
};

static int cmp_turn(const void *a, const void *b)
{
	const struct turn_key *x = a, *y = b;
	if (x->turn != y->turn)
		return x->turn < y->turn ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos; /* stable */
}

/* timed: a unique head (page_size random tokens from the session's lineage seed) + corpus body */
static int timed_prompt(struct wl_trace_gen *g, void *ctx, size_t i, const cJSON *row, uint64_t line,
                        const struct row_lengths *l, int64_t *budget, struct buf *b, int64_t *prompt_tokens)
{
	(void)row;
	uint64_t lineage = *(const uint64_t *)ctx;
	int64_t newin = l->new_in_tokens;
	if (session_budget(g, line, budget, newin))
		return -1;
	struct rng r;
	rng_init(&r, mix64(lineage ^ mix64(i + 1)));
	int64_t head = newin < g->page_size ? newin : g->page_size;
	*prompt_tokens = newin;
	return random_text(g, &r, head, b) || corpus_text(g, &r, newin - head, b);
}

static int build_timed(struct wl_trace_gen *g, struct wl_session **out)
{
	/* order by turn_idx when every row has one */
	bool all_turns = true;
	struct turn_key *keys = xmalloc(g->n_rows * sizeof *keys);
	for (size_t i = 0; i < g->n_rows; i++) {
		keys[i].pos = i;
		if (is_missing(cJSON_GetObjectItemCaseSensitive(g->rows[i].j, "turn_idx"))) {
			all_turns = false;
			continue;
		}
		if (get_int(g, g->rows[i].j, g->rows[i].line, "turn_idx", true, 0, 0, &keys[i].turn)) {
			free(keys);
			return -1;
		}
	}
	if (all_turns && g->n_rows > 1) {
		qsort(keys, g->n_rows, sizeof *keys, cmp_turn);
		struct trow *sorted = xmalloc(g->n_rows * sizeof *sorted);
		for (size_t i = 0; i < g->n_rows; i++)
			sorted[i] = g->rows[keys[i].pos];
		memcpy(g->rows, sorted, g->n_rows * sizeof *sorted);
		free(sorted);
	}
	free(keys);
	uint64_t lineage = rng_u64(&g->rng_lineage);
	return build_rows(g, 0, 1, timed_prompt, &lineage, out);
}

/* shared_prefix: the first turn's blocks by hash id, later turns new_input_length corpus tokens */
static int shared_prefix_prompt(struct wl_trace_gen *g, void *ctx, size_t i, const cJSON *row, uint64_t line,
                                const struct row_lengths *l, int64_t *budget, struct buf *b, int64_t *prompt_tokens)
{
	(void)ctx;
	char w[300];
	int64_t newin = l->new_in_tokens;
	if (session_budget(g, line, budget, i == 0 ? l->in_tokens : newin))
		return -1;
	const cJSON *ids = get_list(g, row, line, "hash_ids");
	if (!ids)
		return -1;
	if (i > 0) {
		if (newin < 1) {
			gfail(g, "%s: expected an integer >= 1 for a later turn, got %lld",
			      where(g, line, "new_input_length", w, sizeof w), (long long)newin);
			return -1;
		}
		*prompt_tokens = newin;
		return corpus_text(g, &g->rng_prompt, newin, b);
	}
	size_t n = (size_t)cJSON_GetArraySize(ids);
	if (n == 0 || (int64_t)n > g->max_len_tokens / g->block_size) {
		gfail(g, "%s: the first turn of a session needs between 1 and %lld hash ids (got %zu)",
		      where(g, line, "hash_ids", w, sizeof w), (long long)(g->max_len_tokens / g->block_size), n);
		return -1;
	}
	size_t k = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, ids)
	{
		uint64_t h;
		if (hash_id_of(g, e, line, k, &h))
			return -1;
		if (g->epoch == 0 && !g->have_first_hash) {
			g->have_first_hash = true;
			g->first_hash = h;
		}
		if (append_block(g, epoch_hash(g, h), g->block_size, b))
			return -1;
		k++;
	}
	*prompt_tokens = g->block_size * (int64_t)n;
	return 0;
}

static int build_shared_prefix(struct wl_trace_gen *g, struct wl_session **out)
{
	return build_rows(g, 0, 0, shared_prefix_prompt, NULL, out);
}

static int build_rag_row(struct wl_trace_gen *g, const cJSON *row, uint64_t line, struct wl_session **out)
{
	int64_t in, outl;
	char w[300], rep[80];
	if (get_int(g, row, line, "input_length", true, 0, 0, &in) ||
	    get_int(g, row, line, "output_length", true, 0, 0, &outl))
		return -1;
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(row, "prompt_text");
	struct buf b;
	buf_init(&b);
	if (cJSON_IsString(p)) {
		buf_puts(&b, p->valuestring);
	} else if (cJSON_IsNumber(p)) {
		buf_printf(&b, "%.17g", p->valuedouble);
	} else {
		value_repr(p, rep, sizeof rep);
		gfail(g, "%s: expected text, got %s", where(g, line, "prompt_text", w, sizeof w), rep);
		return -1;
	}
	struct wl_session *s = sess_alloc(g, 1, true);
	set_prompt(&s->requests[0], &b);
	s->requests[0].target_prompt_tokens = in;
	s->requests[0].target_output_tokens = outl;
	*out = s;
	return 0;
}

/* ---- conversations (untimed_content_multi_turn, sharegpt) ---- */

enum role { R_USER, R_ASSISTANT, R_SYSTEM };

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* Message content: a string, or OpenAI-style content blocks ({"type":"text","text":...}). */
static int content_text(const cJSON *c, struct buf *out)
{
	buf_reset(out);
	if (cJSON_IsString(c)) {
		buf_puts(out, c->valuestring);
		return 0;
	}
	if (is_missing(c))
		return 0;
	if (cJSON_IsArray(c)) {
		const cJSON *blk;
		cJSON_ArrayForEach(blk, c)
		{
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(blk, "text");
			if (cJSON_IsString(t)) {
				if (out->len)
					buf_putc(out, '\n');
				buf_puts(out, t->valuestring);
			} else if (!cJSON_IsString(blk)) {
				continue; /* non-text block (image, audio): not replayable as text */
			} else {
				if (out->len)
					buf_putc(out, '\n');
				buf_puts(out, blk->valuestring);
			}
		}
		return 0;
	}
	if (cJSON_IsNumber(c)) {
		buf_printf(out, "%.17g", c->valuedouble);
		return 0;
	}
	return -1;
}

struct turn {
	size_t user_idx, asst_idx; /* indices into the message list */
};

static int build_conversation(struct wl_trace_gen *g, const cJSON *row, uint64_t line, bool sharegpt,
                              struct wl_session **out)
{
	static const char *const user_alias[] = {"human", "user", NULL};
	static const char *const asst_alias[] = {"gpt", "assistant", "chatgpt", "bard", "bing", "model", NULL};
	char w[300], rep[80];
	const char *col = g->conv_col;
	const cJSON *conv = cJSON_GetObjectItemCaseSensitive(row, col);
	cJSON *parsed = NULL;
	if (cJSON_IsString(conv)) {
		parsed = cJSON_Parse(conv->valuestring);
		if (!cJSON_IsArray(parsed)) {
			cJSON_Delete(parsed);
			gfail(g, "%s: the conversation is a string that is not a JSON list",
			      where(g, line, col, w, sizeof w));
			return -1;
		}
		conv = parsed;
	}
	if (!cJSON_IsArray(conv)) {
		if (is_missing(conv)) {
			gfail(g, "%s: missing required value", where(g, line, col, w, sizeof w));
		} else {
			value_repr(conv, rep, sizeof rep);
			gfail(g, "%s: expected a list of messages, got %s", where(g, line, col, w, sizeof w), rep);
		}
		return -1;
	}
	struct wl_message *msgs = NULL;
	size_t n_msgs = 0, cap_msgs = 0;
	struct turn *turns = NULL;
	size_t n_turns = 0, cap_turns = 0;
	struct buf pending, text;
	buf_init(&pending);
	buf_init(&text);
	bool have_pending = false;
	int rc = -1;
	size_t idx = 0;
	const cJSON *m;
	cJSON_ArrayForEach(m, conv)
	{
		const cJSON *rv = cJSON_GetObjectItemCaseSensitive(m, g->role_key);
		const cJSON *cv = cJSON_GetObjectItemCaseSensitive(m, g->content_key);
		if (sharegpt && !rv)
			rv = cJSON_GetObjectItemCaseSensitive(m, "role");
		if (sharegpt && !cv)
			cv = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (!cJSON_IsObject(m) || !cJSON_IsString(rv)) {
			gfail(g, "%s: message %zu has no string '%s' key", where(g, line, col, w, sizeof w), idx,
			      g->role_key);
			goto out;
		}
		enum role role;
		const char *rs = rv->valuestring;
		if (strcmp(rs, g->user_role) == 0 || (sharegpt && in_list(rs, user_alias)))
			role = R_USER;
		else if (strcmp(rs, g->asst_role) == 0 || (sharegpt && in_list(rs, asst_alias)))
			role = R_ASSISTANT;
		else if (strcmp(rs, "system") == 0)
			role = R_SYSTEM;
		else {
			gfail(g, "%s: message %zu has role '%s' (expected '%s', '%s' or 'system')",
			      where(g, line, col, w, sizeof w), idx, rs, g->user_role, g->asst_role);
			goto out;
		}
		if (content_text(cv, &text) != 0) {
			value_repr(cv, rep, sizeof rep);
			gfail(g, "%s: message %zu: content '%s' is not text: %s", where(g, line, col, w, sizeof w), idx,
			      g->content_key, rep);
			goto out;
		}
		const char *t = text.data ? text.data : "";
		if (role == R_USER) {
			if (have_pending)
				buf_puts(&pending, "\n\n");
			buf_puts(&pending, t);
			have_pending = true;
		} else if (role == R_ASSISTANT && have_pending) {
			xgrow((void **)&msgs, &cap_msgs, n_msgs + 2, sizeof *msgs);
			xgrow((void **)&turns, &cap_turns, n_turns + 1, sizeof *turns);
			turns[n_turns++] = (struct turn){n_msgs, n_msgs + 1};
			msgs[n_msgs++] =
			    (struct wl_message){xstrdup("user"), pending.data ? buf_steal(&pending) : xstrdup("")};
			msgs[n_msgs++] = (struct wl_message){xstrdup("assistant"), xstrdup(t)};
			buf_reset(&pending);
			have_pending = false;
			if (n_turns > MAX_TURNS) {
				gfail(g, "%s: more than %d turns in one conversation", where(g, line, col, w, sizeof w),
				      MAX_TURNS);
				goto out;
			}
		} else if (role == R_ASSISTANT && n_turns && turns[n_turns - 1].asst_idx == n_msgs - 1) {
			/* consecutive assistant messages: one reply */
			struct wl_message *a = &msgs[n_msgs - 1];
			char *joined = xasprintf("%s\n\n%s", a->content, t);
			free(a->content);
			a->content = joined;
		} else {
			/* system messages, and assistant messages before any user message, are history */
			xgrow((void **)&msgs, &cap_msgs, n_msgs + 1, sizeof *msgs);
			msgs[n_msgs++] =
			    (struct wl_message){xstrdup(role == R_SYSTEM ? "system" : "assistant"), xstrdup(t)};
		}
		idx++;
	}
	if (have_pending)
		g->dropped_turns_in_pass++; /* a trailing user message has no reply to size the output */
	if (n_turns == 0) {
		rc = 1;
		goto out;
	}
	struct wl_session *s = sess_alloc(g, n_turns, false);
	for (size_t i = 0; i < n_turns; i++) {
		struct wl_request *q = &s->requests[i];
		const struct wl_message *u = &msgs[turns[i].user_idx], *a = &msgs[turns[i].asst_idx];
		q->prompt_text = xstrdup(u->content);
		q->n_history = turns[i].user_idx;
		q->history = wl_message_list_copy(msgs, q->n_history);
		q->history_prepopulated = true;
		q->target_prompt_tokens = (int64_t)tok_count(g->tok, u->content, strlen(u->content));
		int64_t o = (int64_t)tok_count(g->tok, a->content, strlen(a->content));
		q->target_output_tokens = o > 0 ? o : 1;
	}
	*out = s;
	rc = 0;
out:
	wl_message_list_free(msgs, n_msgs);
	free(turns);
	buf_free(&pending);
	buf_free(&text);
	cJSON_Delete(parsed);
	return rc;
}

static int build_mooncake(struct wl_trace_gen *g, const cJSON *row, uint64_t line, struct wl_session **out)
{
	int64_t in, outl;
	double ts = 0;
	char w[300];
	if (get_int(g, row, line, "input_length", true, 0, 1, &in) ||
	    get_int(g, row, line, "output_length", true, 0, 0, &outl) ||
	    get_double(g, row, line, "timestamp", g->replay_ts, 0.0, 0.0, &ts))
		return -1;
	const cJSON *ids = get_list(g, row, line, "hash_ids");
	if (!ids)
		return -1;
	if (g->replay_ts) {
		if (g->ts_rows > 0 && ts < g->prev_ts_ms) {
			gfail(g, "%s: timestamps must be non-decreasing (%.17g after %.17g)",
			      where(g, line, "timestamp", w, sizeof w), ts, g->prev_ts_ms);
			return -1;
		}
		if (g->epoch == 0) {
			if (g->ts_rows == 0)
				g->first_ts_ms = ts;
			g->last_ts_ms = ts;
		}
		g->prev_ts_ms = ts;
		g->ts_rows++;
	}
	struct buf b;
	buf_init(&b);
	int64_t left = in;
	size_t k = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, ids)
	{
		uint64_t h;
		if (hash_id_of(g, e, line, k, &h))
			goto fail;
		if (g->epoch == 0 && !g->have_first_hash) {
			g->have_first_hash = true;
			g->first_hash = h;
		}
		if (left > 0) {
			int64_t take = left < g->block_size ? left : g->block_size;
			if (append_block(g, epoch_hash(g, h), take, &b))
				goto fail;
			left -= take;
		}
		k++;
	}
	if (left > 0 && corpus_text(g, &g->rng_prompt, left, &b)) /* beyond the hashed blocks: unique text */
		goto fail;
	struct wl_session *s = sess_alloc(g, 1, true);
	set_prompt(&s->requests[0], &b);
	s->requests[0].target_prompt_tokens = in;
	s->requests[0].target_output_tokens = outl;
	if (g->replay_ts)
		s->requests[0].arrival_offset_s = (ts + (double)g->epoch * g->period_ms) / 1000.0 * g->time_scale;
	*out = s;
	return 0;
fail:
	buf_free(&b);
	return -1;
}

/* ------------------------------------------------------------------ reading */

static int read_row(struct wl_trace_gen *g, cJSON **row, uint64_t *line)
{
	if (wl_interrupted()) {
		gfail(g, "%s: interrupted while reading the trace", wl_trace_reader_name(g->rd));
		return -1;
	}
	int rc = wl_trace_reader_next(g->rd, row);
	if (rc < 0) {
		gfail(g, "%s", wl_trace_reader_error(g->rd));
		return -1;
	}
	if (rc == 1)
		return 1;
	*line = wl_trace_reader_row_line(g->rd);
	g->rows_in_pass++;
	if (check_required(g, *row, *line)) {
		cJSON_Delete(*row);
		*row = NULL;
		return -1;
	}
	return 0;
}

static void clear_rows(struct wl_trace_gen *g)
{
	for (size_t i = 0; i < g->n_rows; i++)
		cJSON_Delete(g->rows[i].j);
	g->n_rows = 0;
}

static void push_row(struct wl_trace_gen *g, cJSON *j, uint64_t line)
{
	xgrow((void **)&g->rows, &g->cap_rows, g->n_rows + 1, sizeof *g->rows);
	g->rows[g->n_rows++] = (struct trow){j, line};
}

static bool grouped_flavor(const struct wl_trace_gen *g)
{
	return g->flavor == CFG_FLAVOR_REQUEST_LOG || g->flavor == CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN ||
	       g->flavor == CFG_FLAVOR_SHARED_PREFIX;
}

/* Next group of rows into g->rows: 0, 1 (end of pass), -1. */
static int read_group(struct wl_trace_gen *g)
{
	clear_rows(g);
	cJSON *first = g->look;
	uint64_t line = g->look_line;
	g->look = NULL;
	if (!first) {
		int rc = read_row(g, &first, &line);
		if (rc)
			return rc;
	}
	push_row(g, first, line);
	if (!grouped_flavor(g))
		return 0;
	if (g->flavor == CFG_FLAVOR_REQUEST_LOG && is_missing(cJSON_GetObjectItemCaseSensitive(first, "session_id")))
		return 0; /* no session_id: every row is its own session */
	if (key_text(g, first, line, "session_id", &g->key))
		return -1;
	uint64_t first_line = line;
	for (;;) {
		cJSON *row;
		int rc = read_row(g, &row, &line);
		if (rc < 0)
			return -1;
		if (rc == 1)
			break;
		if (g->flavor == CFG_FLAVOR_REQUEST_LOG &&
		    is_missing(cJSON_GetObjectItemCaseSensitive(row, "session_id"))) {
			g->look = row;
			g->look_line = line;
			break;
		}
		if (key_text(g, row, line, "session_id", &g->key2)) {
			cJSON_Delete(row);
			return -1;
		}
		if (strcmp(g->key.data, g->key2.data) != 0) {
			g->look = row;
			g->look_line = line;
			break;
		}
		if (g->n_rows >= MAX_TURNS) {
			cJSON_Delete(row);
			gfail(g, "%s:%llu: session '%s' has more than %d rows", wl_trace_reader_name(g->rd),
			      (unsigned long long)line, g->key.data, MAX_TURNS);
			return -1;
		}
		push_row(g, row, line);
	}
	if (g->epoch == 0 && g->seen.n >= MAX_SEEN_SESSIONS && !g->seen_full_warned) {
		g->seen_full_warned = true;
		log_warn("trace %s: more than %zu sessions; rows of a session reappearing later are no longer detected",
		         wl_trace_reader_name(g->rd), MAX_SEEN_SESSIONS);
	}
	if (g->epoch == 0 && g->seen.n < MAX_SEEN_SESSIONS &&
	    !u64set_insert(&g->seen, fnv1a(g->key.data, g->key.len))) {
		gfail(g,
		      "%s:%llu: session_id '%s' appears again after other sessions; the rows of a session must be "
		      "contiguous (sort the trace by session_id, keeping turn order)",
		      wl_trace_reader_name(g->rd), (unsigned long long)first_line, g->key.data);
		return -1;
	}
	return 0;
}

/* Build a session from g->rows: 0, 1 (row group skipped: filtered or nothing to replay), -1. */
static int build_group(struct wl_trace_gen *g, struct wl_session **out)
{
	const cJSON *row = g->rows[0].j;
	uint64_t line = g->rows[0].line;
	switch (g->flavor) {
	case CFG_FLAVOR_REQUEST_LOG:
		return build_request_log(g, out);
	case CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN:
		return build_timed(g, out);
	case CFG_FLAVOR_SHARED_PREFIX:
		return build_shared_prefix(g, out);
	case CFG_FLAVOR_RAG: {
		if (key_text(g, row, line, "doc_id", &g->key))
			return -1;
		struct doc *d = docmap_get(&g->docs, g->key.data, false);
		if (!d || !d->top)
			return 1;
		return build_rag_row(g, row, line, out);
	}
	case CFG_FLAVOR_UNTIMED_CONTENT_MULTI_TURN:
		return build_conversation(g, row, line, false, out);
	case CFG_FLAVOR_SHAREGPT:
		return build_conversation(g, row, line, true, out);
	case CFG_FLAVOR_MOONCAKE:
		return build_mooncake(g, row, line, out);
	}
	gfail(g, "unknown trace flavor %d", (int)g->flavor);
	return -1;
}

static int end_of_pass(struct wl_trace_gen *g)
{
	const char *name = wl_trace_reader_name(g->rd);
	if (g->skipped_in_pass && g->epoch == 0)
		log_warn(
		    "trace %s: %llu conversation(s) without a complete (user, assistant) exchange were not replayed",
		    name, (unsigned long long)g->skipped_in_pass);
	if (g->dropped_turns_in_pass && g->epoch == 0)
		log_warn("trace %s: %llu trailing user message(s) without a reply were not replayed", name,
		         (unsigned long long)g->dropped_turns_in_pass);
	if (g->sessions_in_pass == 0) {
		if (g->rows_in_pass == 0)
			gfail(g, "%s: the trace has no rows", name);
		else
			gfail(g, "%s: the trace has no replayable sessions (%llu rows read)", name,
			      (unsigned long long)g->rows_in_pass);
		return -1;
	}
	if (g->epoch == 0 && g->replay_ts) {
		double span = g->last_ts_ms - g->first_ts_ms;
		double gap = g->ts_rows > 1 ? span / (double)(g->ts_rows - 1) : 1000.0;
		if (gap <= 0)
			gap = 1000.0;
		g->period_ms = g->last_ts_ms + gap;
		if (g->period_ms <= 0)
			g->period_ms = gap;
	}
	return 0;
}

int wl_trace_gen_next(struct wl_trace_gen *g, struct wl_session **out)
{
	*out = NULL;
	if (g->failed)
		return -1;
	/* rag: one warmup session per selected document first */
	if (g->flavor == CFG_FLAVOR_RAG && g->warm_next < g->n_top) {
		struct doc *d = &g->docs.docs[g->top[g->warm_next++]];
		int rc = build_rag_row(g, d->warm_row, d->warm_line, out);
		cJSON_Delete(d->warm_row);
		d->warm_row = NULL;
		return rc < 0 ? -1 : 0;
	}
	for (;;) {
		int rc = read_group(g);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			if (end_of_pass(g))
				return -1;
			if (!g->wrap)
				return 1;
			if (wl_trace_reader_rewind(g->rd)) {
				gfail(g, "%s", wl_trace_reader_error(g->rd));
				return -1;
			}
			g->epoch++;
			g->sessions_in_pass = g->rows_in_pass = g->skipped_in_pass = g->dropped_turns_in_pass = 0;
			g->ts_rows = 0;
			continue;
		}
		rc = build_group(g, out);
		clear_rows(g);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			g->sessions_in_pass++;
			return 0;
		}
		if (g->flavor != CFG_FLAVOR_RAG)
			g->skipped_in_pass++;
	}
}

const char *wl_trace_gen_error(const struct wl_trace_gen *g)
{
	return g->err;
}

/* ------------------------------------------------------------------ setup */

/* most frequent first; ties in order of first appearance */
static int cmp_doc_idx(const void *pa, const void *pb, void *ctx)
{
	const struct doc *docs = ctx;
	const struct doc *a = &docs[*(const size_t *)pa], *b = &docs[*(const size_t *)pb];
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* RAG: count doc ids (one pass), select the top num_documents, fetch one row per selected doc. */
static int rag_prepare(struct wl_trace_gen *g)
{
	cJSON *row;
	uint64_t line;
	int rc;
	while ((rc = read_row(g, &row, &line)) == 0) {
		if (key_text(g, row, line, "doc_id", &g->key)) {
			cJSON_Delete(row);
			return -1;
		}
		docmap_get(&g->docs, g->key.data, true)->count++;
		cJSON_Delete(row);
	}
	if (rc < 0)
		return -1;
	if (g->docs.n == 0) {
		gfail(g, "%s: the trace has no rows", wl_trace_reader_name(g->rd));
		return -1;
	}
	size_t *idx = xmalloc(g->docs.n * sizeof *idx);
	for (size_t i = 0; i < g->docs.n; i++)
		idx[i] = i;
	qsort_r(idx, g->docs.n, sizeof *idx, cmp_doc_idx, g->docs.docs);
	g->n_top = (size_t)g->num_documents < g->docs.n ? (size_t)g->num_documents : g->docs.n;
	g->top = xmalloc(g->n_top * sizeof *g->top);
	for (size_t i = 0; i < g->n_top; i++) {
		g->top[i] = idx[i];
		g->docs.docs[idx[i]].top = true;
	}
	free(idx);
	if (wl_trace_reader_rewind(g->rd)) {
		gfail(g, "%s", wl_trace_reader_error(g->rd));
		return -1;
	}
	size_t found = 0;
	while (found < g->n_top && (rc = read_row(g, &row, &line)) == 0) {
		if (key_text(g, row, line, "doc_id", &g->key)) {
			cJSON_Delete(row);
			return -1;
		}
		struct doc *d = docmap_get(&g->docs, g->key.data, false);
		if (d && d->top && !d->warm_row) {
			d->warm_row = row;
			d->warm_line = line;
			found++;
		} else {
			cJSON_Delete(row);
		}
	}
	if (rc < 0)
		return -1;
	if (wl_trace_reader_rewind(g->rd)) {
		gfail(g, "%s", wl_trace_reader_error(g->rd));
		return -1;
	}
	g->rows_in_pass = 0;
	return 0;
}

/* corpus_file: token ids of the file's non-empty lines, if the file exists. */
static int load_corpus(struct wl_trace_gen *g, const char *path)
{
	if (!path || !*path)
		return 0;
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		log_info("trace: corpus_file %s not found (%s); prompts use the packaged corpus", path,
		         strerror(errno));
		return 0;
	}
	struct buf all;
	buf_init(&all);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
		buf_append(&all, chunk, n);
		if (all.len > MAX_CORPUS_BYTES) {
			fclose(fp);
			buf_free(&all);
			gfail(g, "%s: corpus_file larger than %zu MiB", path, MAX_CORPUS_BYTES >> 20);
			return -1;
		}
	}
	bool rerr = ferror(fp);
	fclose(fp);
	if (rerr) {
		buf_free(&all);
		gfail(g, "%s: cannot read corpus_file", path);
		return -1;
	}
	if (tok_is_approx(g->tok)) {
		/* one whitespace-separated word = one token: keep the words themselves */
		size_t cap = 0;
		char *save = NULL; /* strtok_r: every client thread loads its own generator at once */
		for (char *w = strtok_r(all.data ? all.data : (char *)"", " \t\r\n\f\v", &save); w;
		     w = strtok_r(NULL, " \t\r\n\f\v", &save)) {
			xgrow((void **)&g->corpus_words, &cap, g->n_corpus_words + 1, sizeof *g->corpus_words);
			g->corpus_words[g->n_corpus_words++] = w;
		}
		if (g->n_corpus_words == 0) {
			free(g->corpus_words);
			g->corpus_words = NULL;
			buf_free(&all);
			log_warn("trace: corpus_file %s has no text; prompts use the packaged corpus", path);
			return 0;
		}
		g->corpus_text_all = all.data; /* the words point into it */
		return 0;
	}
	struct tok_ids ids = {0};
	char *p = all.data;
	while (p && *p) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		bool blank = true;
		for (size_t i = 0; i < len; i++)
			if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
				blank = false;
		if (!blank) {
			if ((ids.n && tok_encode(g->tok, " ", 1, &ids) != 0) || tok_encode(g->tok, p, len, &ids) != 0) {
				buf_free(&all);
				tok_ids_free(&ids);
				gfail(g, "%s: tokenizer failed on corpus_file", path);
				return -1;
			}
		}
		p = nl ? nl + 1 : p + len;
	}
	buf_free(&all);
	if (ids.n == 0) {
		tok_ids_free(&ids);
		log_warn("trace: corpus_file %s has no text; prompts use the packaged corpus", path);
		return 0;
	}
	g->corpus_ids = ids.v;
	g->n_corpus_ids = ids.n;
	return 0;
}

static void add_required(struct wl_trace_gen *g, const char *col)
{
	g->required[g->n_required++] = col;
}

struct wl_trace_gen *wl_trace_gen_create(const struct cfg_benchmark *cfg, const struct tok *tok, char *err,
                                         size_t err_len)
{
	const struct cfg_session_gen *sg = &cfg->session_generator;
	const struct cfg_trace_flavor *f = &sg->flavor;
	if (!tok) {
		snprintf(err, err_len, "trace session generator: no tokenizer");
		return NULL;
	}
	if (!sg->trace_file || !*sg->trace_file) {
		snprintf(err, err_len, "session_generator.trace_file: empty (set the path of the trace file)");
		return NULL;
	}
	struct wl_trace_reader *rd = wl_trace_reader_open(sg->trace_file, WL_TRACE_FMT_AUTO, err, err_len);
	if (!rd)
		return NULL;
	struct wl_trace_gen *g = xcalloc(1, sizeof *g);
	g->rd = rd;
	g->tok = tok;
	g->flavor = f->type;
	g->wrap = sg->wrap_mode;
	g->seed = (uint64_t)cfg->seed;
	g->page_size = f->page_size > 0 ? f->page_size : 16;
	g->block_size = f->block_size > 0 ? f->block_size : 512;
	g->num_documents = f->num_documents > 0 ? f->num_documents : 10;
	g->max_len_tokens = config_max_request_tokens(cfg, &g->max_len_why);
	g->conv_col =
	    xstrdup(f->conversation_column && *f->conversation_column ? f->conversation_column : "conversations");
	g->role_key = xstrdup(f->role_key && *f->role_key ? f->role_key : "from");
	g->content_key = xstrdup(f->content_key && *f->content_key ? f->content_key : "value");
	g->user_role = xstrdup(f->user_role_value && *f->user_role_value ? f->user_role_value : "human");
	g->asst_role = xstrdup(f->assistant_role_value && *f->assistant_role_value ? f->assistant_role_value : "gpt");
	/* (the configuration checks the same at load; each flavor uses one of the two) */
	if (f->type == CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN && g->page_size > g->max_len_tokens)
		gfail(g, "session_generator.flavor.page_size: must be <= %lld", (long long)g->max_len_tokens);
	if ((f->type == CFG_FLAVOR_SHARED_PREFIX || f->type == CFG_FLAVOR_MOONCAKE) &&
	    g->block_size > g->max_len_tokens)
		gfail(g, "session_generator.flavor.block_size: must be <= %lld", (long long)g->max_len_tokens);
	g->replay_ts = f->type == CFG_FLAVOR_MOONCAKE && f->replay_timestamps;
	g->time_scale = f->time_scale > 0 ? f->time_scale : 1.0;
	rng_stream_init(&g->rng_prompt, g->seed, "trace/prompt");
	rng_stream_init(&g->rng_lineage, g->seed, "trace/lineage");
	g->block_seed = rng_derive_seed(g->seed, "trace/hash_block");
	g->blocks = xcalloc(N_BLOCK_SLOTS, sizeof *g->blocks);
	buf_init(&g->key);
	buf_init(&g->key2);
	buf_init(&g->tmp);

	switch (g->flavor) {
	case CFG_FLAVOR_REQUEST_LOG:
		add_required(g, "input_length");
		add_required(g, "output_length");
		break;
	case CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN:
		add_required(g, "session_id");
		add_required(g, "input_length");
		add_required(g, "new_input_length");
		add_required(g, "output_length");
		break;
	case CFG_FLAVOR_SHARED_PREFIX:
		add_required(g, "session_id");
		add_required(g, "input_length");
		add_required(g, "output_length");
		add_required(g, "new_input_length");
		add_required(g, "hash_ids");
		break;
	case CFG_FLAVOR_RAG:
		add_required(g, "doc_id");
		add_required(g, "prompt_text");
		add_required(g, "input_length");
		add_required(g, "output_length");
		break;
	case CFG_FLAVOR_UNTIMED_CONTENT_MULTI_TURN:
	case CFG_FLAVOR_SHAREGPT:
		add_required(g, g->conv_col);
		break;
	case CFG_FLAVOR_MOONCAKE:
		add_required(g, "input_length");
		add_required(g, "output_length");
		add_required(g, "hash_ids");
		if (g->replay_ts)
			add_required(g, "timestamp");
		break;
	default:
		gfail(g, "unknown trace flavor %d", (int)g->flavor);
		break;
	}
	/* CSV: the header must name every required column */
	if (!g->failed && wl_trace_reader_format(rd) == WL_TRACE_FMT_CSV) {
		if (wl_trace_reader_read_header(rd) != 0) {
			gfail(g, "%s", wl_trace_reader_error(rd));
		} else {
			for (size_t i = 0; i < g->n_required; i++) {
				if (wl_trace_reader_has_column(rd, g->required[i]))
					continue;
				struct buf req;
				buf_init(&req);
				for (size_t k = 0; k < g->n_required; k++)
					buf_printf(&req, "%s%s", k ? ", " : "", g->required[k]);
				gfail(g, "%s:1: missing required column '%s' (flavor needs: %s)", sg->trace_file,
				      g->required[i], req.data);
				buf_free(&req);
				break;
			}
		}
	}
	if (!g->failed && (g->flavor == CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN || g->flavor == CFG_FLAVOR_SHARED_PREFIX))
		load_corpus(g, f->corpus_file);
	if (!g->failed && g->flavor == CFG_FLAVOR_RAG)
		rag_prepare(g);
	if (g->failed) {
		snprintf(err, err_len, "%s", g->err);
		wl_trace_gen_free(g);
		return NULL;
	}
	return g;
}

void wl_trace_gen_free(struct wl_trace_gen *g)
{
	if (!g)
		return;
	clear_rows(g);
	free(g->rows);
	cJSON_Delete(g->look);
	wl_trace_reader_close(g->rd);
	free(g->conv_col);
	free(g->role_key);
	free(g->content_key);
	free(g->user_role);
	free(g->asst_role);
	free(g->seen.keys);
	for (size_t i = 0; i < g->docs.n; i++) {
		free(g->docs.docs[i].key);
		cJSON_Delete(g->docs.docs[i].warm_row);
	}
	free(g->docs.docs);
	free(g->docs.slots);
	free(g->top);
	if (g->blocks)
		for (size_t i = 0; i < N_BLOCK_SLOTS; i++)
			free(g->blocks[i].text);
	free(g->blocks);
	free(g->corpus_ids);
	free(g->corpus_words);
	free(g->corpus_text_all);
	free(g->ids);
	buf_free(&g->key);
	buf_free(&g->key2);
	buf_free(&g->tmp);
	free(g);
}
