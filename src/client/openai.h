#ifndef VK_CLIENT_OPENAI_H
#define VK_CLIENT_OPENAI_H
/* OpenAI-compatible request bodies and response decoding (no HTTP here; see client.h).
 *
 * Bodies:
 *  - chat (`openai_chat_completions`, router with api_mode chat):
 *      {"model","messages": history + {"role":"user","content":prompt}, "stream", "ignore_eos"}
 *      + additional_sampling_params (key-by-key, replacing), then when target_output_tokens > 0:
 *      max_tokens_param = target and min_tokens_param = target (each when set and absent),
 *      then "stream_options": {"include_usage": true} when streaming and include_usage.
 *  - completions (`openai_completions`, router with api_mode completions):
 *      {"model","prompt","stream"} + sampling params; the max-tokens param (completions:
 *      max_tokens_param; router: completions_max_tokens_param) = target when target > 0 and neither
 *      "max_tokens" nor the param is present; no ignore_eos/min_tokens (as the reference).
 *  Sampling-param aliases (lm-eval style): "until" -> "stop" (unless "stop" is set),
 *  "max_gen_toks" -> the max-tokens param (unless already set). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"
#include "core/buf.h"
#include "workload/request.h"

struct cJSON;

/* Parsed, validated form of the client config used for every body. */
struct oai_spec {
	const struct cfg_client *cfg;
	struct cJSON *sampling; /* additional_sampling_params parsed (object), owned */
	/* an output length the sampling params ask for on every request (max_tokens,
	 * max_completion_tokens, max_gen_toks or the configured max-tokens params), 0 = none */
	int64_t sampling_max_tokens;
};

int oai_spec_init(struct oai_spec *s, const struct cfg_client *cfg, char *err, size_t err_len);
void oai_spec_free(struct oai_spec *s);

/* Which endpoint a request goes to: true = chat, false = completions. */
bool oai_is_chat(const struct cfg_client *cfg, const struct wl_request *req);
/* Path appended to api_base (with its trailing '/') for this request. */
const char *oai_path(const struct cfg_client *cfg, const struct wl_request *req);
/* Build the JSON body of req into out (appended). stream: request a streamed response. max_tokens
 * (may be NULL): the output length the body asks for at most, 0 = none. */
int oai_build_body(const struct oai_spec *s, const struct wl_request *req, bool stream, struct buf *out,
                   int64_t *max_tokens);

/* One decoded response object (an SSE event or a whole non-streamed JSON response). Pointers point
 * into the parsed tree held in `tree` and stay valid until oai_event_clear(). */
struct oai_event {
	struct cJSON *tree;
	const char *content; /* choices[0].delta.content (chat stream), .message.content (chat
	                      * JSON) or choices[0].text (completions); NULL when absent */
	size_t content_len;
	const char *reasoning; /* delta/message reasoning_content (or "reasoning") */
	size_t reasoning_len;
	/* delta/message tool_calls: each function's name and arguments text joined (generated output,
	 * counted as content; docs/CLIENT.md, Responses); NULL when none */
	const char *tool_text;
	size_t tool_text_len;
	char *owned;               /* storage of a joined tool_text (cJSON path), freed by oai_event_clear */
	const char *finish_reason; /* NULL when absent/null */
	/* choices[0].index (-1 when absent or not a non-negative integer), and whether choices held
	 * more than one element: an answer of more than one choice (n > 1) is not one answer
	 * (docs/CLIENT.md, Responses) */
	int64_t choice_index;
	bool more_choices;
	bool has_choices; /* a "choices" member that is an array (every completion has one) */
	bool has_usage;
	int64_t prompt_tokens;     /* -1 when absent */
	int64_t completion_tokens; /* -1 when absent */
	int64_t reasoning_tokens;  /* usage.completion_tokens_details.reasoning_tokens; -1 when absent */
	bool is_error;
	int error_code; /* error.code when an integer (or a numeric string), else 400 */
	char error_msg[256];
	/* storage of content/reasoning/finish_reason when parsed without cJSON (short chunks) */
	char inl[480];
};

enum oai_parse_rc { OAI_PARSE_OK = 0, OAI_PARSE_INVALID = -1, OAI_PARSE_TRAILING = -2 };
/* Parse one JSON document. Returns OAI_PARSE_INVALID when it is not a JSON object, and
 * OAI_PARSE_TRAILING when a JSON object is followed by more than whitespace (e.g. two SSE events
 * without the blank line between them, joined into one; docs/CLIENT.md, Responses). */
int oai_parse(const char *json, size_t len, struct oai_event *ev);
void oai_event_clear(struct oai_event *ev);
/* The first JSON object that begins a line of body (after spaces or tabs), parsed as oai_parse
 * does, whatever follows it; OAI_PARSE_INVALID when there is none. For a text/event-stream body
 * that holds a JSON object without "data:" (docs/CLIENT.md, Errors). */
int oai_parse_bare(const char *body, size_t len, struct oai_event *ev);

/* What the chunks of one stream repeat, as bytes the allocation-free scanner read in an earlier
 * chunk of the stream (docs/CLIENT.md, Engine):
 * - the head: the top-level members before "choices" or "usage" (id, object, created, model, ...);
 *   a chunk that begins with it is scanned from where it ends;
 * - the template: the last chunk whose event was its content alone (no finish_reason, reasoning
 *   or usage), as the bytes before and after its content string (they begin with the head); a
 *   chunk made of the same bytes around another plain string is that string's event, unscanned. */
#define OAI_MEMO_BYTES 448
struct oai_memo {
	uint16_t len;              /* head bytes; 0 = none */
	uint16_t tpl_pre, tpl_suf; /* template bytes before and after the content (bytes[0..tpl_pre),
	                              bytes[tpl_pre..tpl_pre + tpl_suf)); 0 = no template */
	bool object_seen;          /* the head held the "object" member (the first occurrence counts) */
	int64_t tpl_index;         /* the template's choices[0].index (0, or -1: none) */
	uint64_t hits, tpl_hits;   /* chunks read from the head's end / as the template (kept by reset) */
	char bytes[OAI_MEMO_BYTES];
};
/* Forgets the remembered bytes (a new stream). */
void oai_memo_reset(struct oai_memo *m);
/* oai_parse for one chunk of the stream that memo follows, with the same result: a chunk that fits
 * the template or begins with the head is read as above, and a chunk scanned whole leaves its own
 * in memo. */
int oai_parse_stream(const char *json, size_t len, struct oai_event *ev, struct oai_memo *memo);
/* The same with cJSON only (oai_parse first tries an allocation-free scanner for plain chunks and
 * falls back to this); exposed for the differential test. */
int oai_parse_cjson(const char *json, size_t len, struct oai_event *ev);

/* Extract a human-readable error message from an HTTP error body (JSON error object, "message",
 * "detail", or the body text itself, truncated). */
void oai_error_message(const char *body, size_t len, char *msg, size_t msg_len);
/* The code and message of an SSE event of type "error" (`event: error`), whatever its data: the
 * code of its error object (or of the object itself) when an integer, else 400; the message as
 * oai_error_message reads it, else "error event without a message" (docs/CLIENT.md, Errors). */
void oai_error_event(const char *data, size_t len, int *code, char *msg, size_t msg_len);

#endif
