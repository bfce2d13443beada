#ifndef VK_WORKLOAD_TRACE_GEN_H
#define VK_WORKLOAD_TRACE_GEN_H
/* Trace replay session generator: `session_generator: {type: trace}` (docs/TRACES.md).
 *
 * Streams the trace from disk (memory bounded by the largest session, not the file), groups rows
 * into sessions (rows of a session must be contiguous: see docs/TRACES.md), builds prompts per
 * flavor and emits linear sessions (edges i-1 -> i) with global increasing session/request ids.
 * Content flavors (untimed_content_multi_turn, sharegpt) pre-populate `history` with the recorded
 * conversation and set `history_prepopulated` so the scheduler sends it (fixes §9). Mooncake with
 * replay_timestamps sets `arrival_offset_s` on every request of a session.
 *
 * Not thread-safe: one generator is driven by one thread. */
#include <stddef.h>

struct cfg_benchmark;
struct tok;
struct wl_session;
struct wl_trace_gen;

/* Open cfg->session_generator.trace_file and prepare the flavor (RAG counts documents in one pass).
 * `tok` must outlive the generator. NULL + message in err on failure (unreadable file, missing
 * required column, bad configuration). */
struct wl_trace_gen *wl_trace_gen_create(const struct cfg_benchmark *cfg, const struct tok *tok, char *err,
                                         size_t err_len);
/* 0: *out is the next session (caller owns it: wl_session_free); 1: trace exhausted (wrap_mode
 * false); < 0: error, message via wl_trace_gen_error (the generator stays failed). */
int wl_trace_gen_next(struct wl_trace_gen *g, struct wl_session **out);
const char *wl_trace_gen_error(const struct wl_trace_gen *g);
void wl_trace_gen_free(struct wl_trace_gen *g);

#endif
