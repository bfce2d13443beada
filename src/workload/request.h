#ifndef VK_WORKLOAD_REQUEST_H
#define VK_WORKLOAD_REQUEST_H
/* The workload model shared by session generators (src/workload), traffic schedulers
 * (src/traffic) and the client (src/client).
 *
 * A session is a DAG of requests (nodes). Node ids are 0..n_nodes-1 and index `requests`.
 * Ownership: a session owns its requests, their strings and its edges. The traffic scheduler owns
 * sessions handed to it and frees them (wl_session_free) when they are finished. */
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Interruption of long preparation work (prompt building, trace reading): once *flag != 0 (the
 * runner passes its SIGINT/SIGTERM counter), session generators stop at the next request or trace
 * row with the error "interrupted". NULL (the default): never. */
void wl_set_interrupt_flag(volatile sig_atomic_t *flag);
bool wl_interrupted(void);

struct wl_message {
	char *role; /* "user" | "assistant" | "system" */
	char *content;
};

enum wl_api_mode { WL_API_CHAT = 0, WL_API_COMPLETIONS = 1 };

struct wl_request {
	uint64_t id; /* global, increasing in generation order */
	uint64_t session_id;
	uint32_t node_id;
	char *prompt_text;            /* the current user message text */
	int64_t target_prompt_tokens; /* prompt tokens the generator aimed for */
	int64_t target_output_tokens; /* requested output tokens; 0 = no target */
	double wait_after_ready_s;    /* think time after all parents completed */
	uint32_t *parent_nodes;       /* incoming edges' sources, ascending */
	size_t n_parents;
	int32_t history_parent;     /* node whose conversation this one continues; -1 = none */
	struct wl_message *history; /* messages sent before the current user message; set by the
	                             * scheduler at dispatch (or pre-populated by trace replay) */
	size_t n_history;
	bool history_prepopulated; /* trace replay supplied `history`: the scheduler keeps it */
	enum wl_api_mode api_mode;
	double arrival_offset_s; /* trace timestamp replay: absolute offset of this session from
	                          * the run start (seconds), < 0 when unused */
	/* Per-request sampling params (JSON object text, owned; NULL = none): merged over
	 * client.additional_sampling_params, key by key, the request's winning (lm-eval requests,
	 * docs/INTEGRATIONS.md). */
	char *sampling_json;
	/* Called by the client with the whole body of a non-streamed response before the record is
	 * handed over (lm-eval reads its logprobs); NULL = not needed. */
	void (*body_sink)(const struct wl_request *req, const char *body, size_t len);
};

struct wl_edge {
	uint32_t src, dst;
	bool is_history_parent;
};

struct wl_session {
	uint64_t id;
	size_t n_nodes;
	struct wl_request *requests; /* requests[i].node_id == i */
	struct wl_edge *edges;
	size_t n_edges;
};

void wl_message_list_free(struct wl_message *msgs, size_t n);
struct wl_message *wl_message_list_copy(const struct wl_message *msgs, size_t n);
void wl_session_free(struct wl_session *s);

#endif
