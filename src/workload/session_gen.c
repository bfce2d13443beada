/* Synthetic session generator with the text channel. */
#include "workload/session_gen.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/xalloc.h"
#include "workload/generators.h"
#include "workload/graph.h"
#include "workload/trace_gen.h"

struct sg_prefix {
	int64_t len_tokens;
	char *text;
};

struct wl_session_gen {
	struct wl_trace_gen *trace; /* session_generator.type: trace (everything else unused) */
	bool lmeval;                /* session_generator.type: lmeval: documents from the lm-eval bridge */
	size_t lmeval_cursor;       /* the next document */
	const struct tok *tok;
	struct wl_text_backend be;
	struct wl_graphgen *graph;
	struct wl_lengthgen body_len;
	bool has_output_text;
	struct wl_lengthgen out_len;
	struct rng corpus_rng;      /* prompt bodies */
	struct rng prefix_decision; /* shared prefix yes/no */
	struct rng prefix_base;     /* copied for every prefix length: prefixes share their start */
	double prefix_ratio, prefix_probability;
	bool min_tokens_fallback;
	bool warned_suffix;
	int64_t max_tokens; /* config_max_request_tokens: inverse_gaussian draws are clamped to it */
	struct sg_prefix *prefixes;
	size_t n_prefixes, cap_prefixes;
	uint64_t next_session_id, next_request_id;
	struct buf tmp, suffix;
	char err[256];
};

/* type: lmeval's documents (registered by the runner; see session_gen.h) */
static struct wl_lmeval_source sg_lmeval;

static int sg_default_build(const struct tok *t, struct rng *rng, int64_t target_tokens, const char *suffix,
                            struct buf *out)
{
	return tok_prompt_build(t, rng, target_tokens, suffix, out);
}

static size_t sg_default_count(const struct tok *t, const char *text, size_t len)
{
	return tok_count(t, text, len);
}

struct wl_session_gen *wl_session_gen_create(const struct cfg_benchmark *cfg, const struct tok *tok, char *err,
                                             size_t err_len)
{
	const struct cfg_session_gen *sc = &cfg->session_generator;
	if (sc->type == CFG_SESSION_GEN_TRACE) {
		struct wl_trace_gen *t = wl_trace_gen_create(cfg, tok, err, err_len);
		if (!t)
			return NULL;
		struct wl_session_gen *g = xcalloc(1, sizeof *g);
		g->trace = t;
		buf_init(&g->tmp);
		buf_init(&g->suffix);
		return g;
	}
	if (sc->type == CFG_SESSION_GEN_LMEVAL) {
		/* the documents come from lm_eval itself, through the bridge (docs/INTEGRATIONS.md); every
		 * client loop's generator shares them */
		if (!sg_lmeval.acquire) {
			snprintf(err, err_len,
			         "session_generator: type: lmeval needs the lm-eval bridge, which this program "
			         "does not include");
			return NULL;
		}
		if (sg_lmeval.acquire(cfg, tok, err, err_len) != 0)
			return NULL;
		struct wl_session_gen *g = xcalloc(1, sizeof *g);
		g->lmeval = true;
		buf_init(&g->tmp);
		buf_init(&g->suffix);
		return g;
	}
	if (sc->type != CFG_SESSION_GEN_SYNTHETIC) {
		snprintf(err, err_len, "session_generator: unknown type %d", (int)sc->type);
		return NULL;
	}
	if (sc->n_channels != 1 || sc->channels[0].type != CFG_CHANNEL_TEXT) {
		snprintf(err, err_len,
		         "session_generator.channels: exactly one channel of type text is supported (got %zu%s)",
		         sc->n_channels,
		         sc->n_channels >= 1 && sc->channels[0].type != CFG_CHANNEL_TEXT ? ", not text" : "");
		return NULL;
	}
	const struct cfg_channel *ch = &sc->channels[0];
	if (!(ch->shared_prefix_ratio >= 0.0 && ch->shared_prefix_ratio <= 1.0)) {
		snprintf(err, err_len, "session_generator.channels[0].shared_prefix_ratio must be in [0, 1] (got %g)",
		         ch->shared_prefix_ratio);
		return NULL;
	}
	if (!(ch->shared_prefix_probability >= 0.0 && ch->shared_prefix_probability <= 1.0)) {
		snprintf(err, err_len,
		         "session_generator.channels[0].shared_prefix_probability must be in [0, 1] (got %g)",
		         ch->shared_prefix_probability);
		return NULL;
	}
	uint64_t seed = (uint64_t)cfg->seed;
	struct wl_session_gen *g = xcalloc(1, sizeof *g);
	g->tok = tok;
	g->be.prompt_build = sg_default_build;
	g->be.count = sg_default_count;
	buf_init(&g->tmp);
	buf_init(&g->suffix);
	g->graph = wl_graphgen_create(&sc->session_graph, seed, err, err_len);
	if (!g->graph)
		goto fail;
	if (wl_lengthgen_init(&g->body_len, &ch->body_length_generator, seed, "channel_text/body_length", err, err_len))
		goto fail;
	g->has_output_text = sc->output_spec.has_text;
	if (g->has_output_text && wl_lengthgen_init(&g->out_len, &sc->output_spec.text_output_length, seed,
	                                            "output_spec/output_length", err, err_len))
		goto fail;
	rng_stream_init(&g->corpus_rng, seed, "channel_text/text_corpus");
	rng_stream_init(&g->prefix_decision, seed, "channel_text/shared_prefix_decision");
	rng_stream_init(&g->prefix_base, seed, "channel_text/shared_prefix");
	g->prefix_ratio = ch->shared_prefix_ratio;
	g->prefix_probability = ch->shared_prefix_probability;
	g->min_tokens_fallback = cfg->client.use_min_tokens_prompt_fallback;
	const char *why;
	g->max_tokens = config_max_request_tokens(cfg, &why);
	return g;
fail:
	wl_session_gen_free(g);
	return NULL;
}

void wl_session_gen_set_lmeval_source(const struct wl_lmeval_source *src)
{
	if (src)
		sg_lmeval = *src;
	else
		memset(&sg_lmeval, 0, sizeof sg_lmeval);
}

void wl_session_gen_set_text_backend(struct wl_session_gen *g, const struct wl_text_backend *b)
{
	g->be = *b;
}

const char *wl_session_gen_error(const struct wl_session_gen *g)
{
	if (g->trace)
		return wl_trace_gen_error(g->trace);
	return g->err;
}

void wl_session_gen_free(struct wl_session_gen *g)
{
	if (!g)
		return;
	if (g->lmeval && sg_lmeval.release)
		sg_lmeval.release();
	wl_trace_gen_free(g->trace);
	wl_graphgen_free(g->graph);
	wl_lengthgen_free(&g->body_len);
	wl_lengthgen_free(&g->out_len);
	for (size_t i = 0; i < g->n_prefixes; i++)
		free(g->prefixes[i].text);
	free(g->prefixes);
	buf_free(&g->tmp);
	buf_free(&g->suffix);
	free(g);
}

/* The shared prefix of a given length, built once. Every length is built from the same rng state,
 * so prefixes of different lengths start with the same text. */
static const char *sg_prefix(struct wl_session_gen *g, int64_t len)
{
	for (size_t i = 0; i < g->n_prefixes; i++)
		if (g->prefixes[i].len_tokens == len)
			return g->prefixes[i].text;
	struct rng r = g->prefix_base;
	struct buf b;
	buf_init(&b);
	if (g->be.prompt_build(g->tok, &r, len, NULL, &b) != 0) {
		buf_free(&b);
		return NULL;
	}
	xgrow((void **)&g->prefixes, &g->cap_prefixes, g->n_prefixes + 1, sizeof *g->prefixes);
	g->prefixes[g->n_prefixes].len_tokens = len;
	g->prefixes[g->n_prefixes].text = buf_steal(&b);
	buf_free(&b);
	return g->prefixes[g->n_prefixes++].text;
}

static int sg_text(struct wl_session_gen *g, struct wl_request *r, bool is_root)
{
	int64_t L = wl_lengthgen_next(&g->body_len);
	if (L < 1)
		L = 1;
	if (L > g->max_tokens) /* only an unbounded distribution gets here; the config checked the rest */
		L = g->max_tokens;
	r->target_prompt_tokens = L;
	int64_t prefix_len = 0;
	if (is_root && g->prefix_ratio > 0.0 && rng_uniform01(&g->prefix_decision) < g->prefix_probability)
		prefix_len = (int64_t)((double)L * g->prefix_ratio);
	int64_t body = L - prefix_len;

	const char *suffix = NULL;
	buf_reset(&g->suffix);
	if (g->min_tokens_fallback && r->target_output_tokens > 0) {
		buf_printf(&g->suffix, WL_MIN_TOKENS_SUFFIX_FMT, (long long)r->target_output_tokens);
		size_t st = g->be.count(g->tok, g->suffix.data, g->suffix.len);
		if ((int64_t)st >= body) {
			if (!g->warned_suffix) {
				log_warn(
				    "prompt of %lld tokens is too short for the min-tokens instruction (%zu tokens); "
				    "dropping the instruction where it does not fit",
				    (long long)body, st);
				g->warned_suffix = true;
			}
		} else {
			suffix = g->suffix.data;
		}
	}
	buf_reset(&g->tmp);
	if (prefix_len > 0) {
		const char *p = sg_prefix(g, prefix_len);
		if (!p) {
			snprintf(g->err, sizeof g->err, "cannot build a shared prefix of %lld tokens",
			         (long long)prefix_len);
			return -1;
		}
		buf_puts(&g->tmp, p);
		if (body > 0)
			buf_putc(&g->tmp, ' ');
	}
	if (body > 0) {
		size_t head = g->tmp.len;
		struct rng saved = g->corpus_rng;
		int64_t want = body;
		for (int attempt = 0;; attempt++) {
			g->tmp.len = head;
			if (g->tmp.data)
				g->tmp.data[head] = 0;
			g->corpus_rng = saved;
			if (g->be.prompt_build(g->tok, &g->corpus_rng, want, suffix, &g->tmp) != 0) {
				snprintf(g->err, sizeof g->err, "cannot build a prompt of %lld tokens%s",
				         (long long)want, suffix ? " with the min-tokens instruction" : "");
				return -1;
			}
			if (head == 0 || attempt == 3)
				break;
			/* prefix + " " + body may merge tokens at the join under BPE: correct the body
			 * length until the whole prompt has exactly L tokens (a few attempts at most) */
			int64_t got = (int64_t)g->be.count(g->tok, g->tmp.data, g->tmp.len);
			if (got == L || want + (L - got) < 1)
				break;
			want += L - got;
		}
	}
	r->prompt_text = xstrndup(g->tmp.data ? g->tmp.data : "", g->tmp.len);
	return 0;
}

int wl_session_gen_next(struct wl_session_gen *g, struct wl_session **out)
{
	*out = NULL;
	if (g->trace) {
		int r = wl_trace_gen_next(g->trace, out);
		if (r < 0)
			log_error("trace: %s", wl_trace_gen_error(g->trace));
		return r;
	}
	if (g->lmeval)
		return sg_lmeval.next(&g->lmeval_cursor, out);
	struct wl_session *s = wl_graphgen_next(g->graph);
	s->id = g->next_session_id;
	for (size_t i = 0; i < s->n_nodes; i++) {
		struct wl_request *r = &s->requests[i];
		if (wl_interrupted()) {
			snprintf(g->err, sizeof g->err, "interrupted");
			wl_session_free(s);
			return -1;
		}
		r->session_id = s->id;
		r->id = g->next_request_id + i;
		r->target_output_tokens = g->has_output_text ? wl_lengthgen_next(&g->out_len) : 0;
		if (r->target_output_tokens < 0)
			r->target_output_tokens = 0;
		if (r->target_output_tokens > g->max_tokens)
			r->target_output_tokens = g->max_tokens;
		if (sg_text(g, r, r->n_parents == 0) != 0) {
			wl_session_free(s);
			return -1;
		}
	}
	g->next_session_id++;
	g->next_request_id += s->n_nodes;
	*out = s;
	return 0;
}
