#ifndef VK_WORKLOAD_SESSION_GEN_H
#define VK_WORKLOAD_SESSION_GEN_H
/* Session generators (docs/WORKLOAD.md): `synthetic` (below), `trace` (workload/trace_gen.h) and
 * `lmeval` (one session per lm-eval document, from the bridge: integrations/lmeval.h).
 *
 * Synthetic: a graph from the session graph generator, then for each node (in node-id order) an
 * output target (output_spec.text.output_length_generator) and a text prompt of exactly the target
 * token count built with tok_prompt_build(), optionally starting with a shared prefix and ending
 * with the min-tokens fallback instruction. Session and request ids are global and increasing
 * (both start at 0). Deterministic for a given config seed; each component draws from its own
 * named rng stream (docs/WORKLOAD.md). */
#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"
#include "core/buf.h"
#include "core/rng.h"
#include "tokenizer/tokenizer.h"
#include "workload/request.h"

struct wl_session_gen;

/* NULL + message in err on an invalid or unsupported configuration. `tok` must outlive the
 * generator; cfg is only read during the call. */
struct wl_session_gen *wl_session_gen_create(const struct cfg_benchmark *cfg, const struct tok *tok, char *err,
                                             size_t err_len);
/* 0 = *out is a new session (caller owns it), 1 = exhausted, < 0 = error (see wl_session_gen_error). */
int wl_session_gen_next(struct wl_session_gen *g, struct wl_session **out);
const char *wl_session_gen_error(const struct wl_session_gen *g);
void wl_session_gen_free(struct wl_session_gen *g);

/* Text backend (defaults: tok_prompt_build, tok_count). Tests substitute their own. */
struct wl_text_backend {
	int (*prompt_build)(const struct tok *t, struct rng *rng, int64_t target_tokens, const char *suffix,
	                    struct buf *out);
	size_t (*count)(const struct tok *t, const char *text, size_t len);
};
void wl_session_gen_set_text_backend(struct wl_session_gen *g, const struct wl_text_backend *b);

/* Where `type: lmeval` sessions come from: the lm-eval bridge (integrations/lmeval.h,
 * docs/INTEGRATIONS.md), a module above this one, which the runner registers before it creates
 * generators. Without one, type: lmeval is an error at creation. NULL unregisters. */
struct wl_lmeval_source {
	/* start (or share) the documents of a run: 0, or -1 + err */
	int (*acquire)(const struct cfg_benchmark *cfg, const struct tok *tok, char *err, size_t err_len);
	/* document *cursor as a session, then ++*cursor: 0 = *out, 1 = exhausted. Each generator (one
	 * per client loop) has its own cursor: every loop sees every document in the same order, and
	 * its traffic scheduler keeps its shard's (docs/DISTRIBUTED.md) */
	int (*next)(size_t *cursor, struct wl_session **out);
	void (*release)(void);
};
void wl_session_gen_set_lmeval_source(const struct wl_lmeval_source *src);

/* The min-tokens fallback instruction appended to prompts ("\n\nGenerate at least N tokens."). */
#define WL_MIN_TOKENS_SUFFIX_FMT "\n\nGenerate at least %lld tokens."

#endif
