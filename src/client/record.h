#ifndef VK_CLIENT_RECORD_H
#define VK_CLIENT_RECORD_H
/* The per-request record: everything the client measured about one request. Produced by the
 * client (src/client), consumed by the evaluator (src/metrics) and writers (src/output).
 *
 * All times are CLOCK_MONOTONIC nanoseconds (core/clock.h); 0 = did not happen.
 * Chunk times are taken when the bytes arrive, before any JSON parsing.
 * The record's arrays are owned by the record (record_free). The client reuses records from a
 * pool so the per-chunk path does not allocate once `chunks` has grown. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rec_chunk {
	int64_t t_ns;   /* arrival of the bytes that completed this content event */
	int32_t tokens; /* tokens carried (from continuous usage or the tokenizer); 0 = not yet known */
};

/* Why a request failed (docs/METRICS.md, Failure semantics). Each kind has a class name (written as
 * `error_class` in request_level_metrics.jsonl) and, for failures the client detected itself, an
 * error_code of 1000 or more, which no HTTP status can be: a server's own status or error event keeps
 * its code (REC_ERR_HTTP, REC_ERR_SERVER), everything else uses REC_CODE_*. */
enum rec_error {
	REC_OK = 0,
	REC_ERR_HTTP,      /* "http": non-2xx status; error_code = the status */
	REC_ERR_CONNECT,   /* "connect": could not connect / resolve: REC_CODE_CONNECT */
	REC_ERR_TLS,       /* "tls": TLS handshake or certificate failure: REC_CODE_TLS */
	REC_ERR_TIMEOUT,   /* "timeout": request_timeout expired: REC_CODE_TIMEOUT */
	REC_ERR_RESET,     /* "reset": connection reset / closed before the response ended: REC_CODE_RESET */
	REC_ERR_SERVER,    /* "server_error": an {"error": ...} event or body in a 2xx response; error_code from
	                    * the event, else 400 (as the reference); or an answer ended with finish_reason
	                    * "abort" / "error": REC_CODE_SERVER_ABORT */
	REC_ERR_MALFORMED, /* "stream_protocol": unparseable event/body, HTTP framing error: REC_CODE_PROTOCOL */
	REC_ERR_EMPTY,     /* "empty": asked for N > 0 output tokens, got no content: REC_CODE_EMPTY */
	REC_ERR_TOO_LARGE, /* "too_large": response exceeded client.max_response_bytes: REC_CODE_TOO_LARGE */
	REC_ERR_CLIENT,    /* "client": the client could not build or start the request: REC_CODE_CLIENT */
	REC_ERR_CANCELLED  /* "cancelled": stopped by the benchmark (signal, grace expired): REC_CODE_CANCELLED;
	                    * not an error: counted as cancelled */
};
#define REC_ERR_N_KINDS (REC_ERR_CANCELLED + 1)

/* error_code of client-side failures: outside the HTTP status range (100-599, and any 3-digit code) */
#define REC_CODE_CONNECT 1001
#define REC_CODE_TLS 1002
#define REC_CODE_TIMEOUT 1003
#define REC_CODE_RESET 1004
#define REC_CODE_PROTOCOL 1005
#define REC_CODE_EMPTY 1006
#define REC_CODE_TOO_LARGE 1007
#define REC_CODE_CLIENT 1008
#define REC_CODE_CANCELLED 1009
/* a server's own failure without a code of its own: an answer it ended with finish_reason "abort" or
 * "error" (as an internal server error) */
#define REC_CODE_SERVER_ABORT 500

/* "http", "connect", ... ("ok" for REC_OK); never NULL */
const char *rec_error_class_name(enum rec_error kind);

struct rec_record {
	uint64_t request_id;
	uint64_t session_id;
	uint32_t node_id;
	uint32_t session_total_requests;

	int64_t intended_ns;   /* when the schedule said the request should go (ready time) */
	int64_t dispatched_ns; /* scheduler_dispatched_at: popped from the scheduler */
	int64_t sent_ns;       /* client_picked_up_at: immediately before the request is started (t0) */
	int64_t headers_ns;    /* response headers received */
	int64_t completed_ns;  /* client_completed_at: stream end or error */
	int64_t processed_ns;  /* result_processed_at: handed to the evaluator */

	struct rec_chunk *chunks; /* content events in arrival order */
	size_t n_chunks, cap_chunks;

	int64_t num_delta_prompt_tokens; /* tokens of the current user message */
	int64_t num_total_prompt_tokens; /* tokens of every message sent (history + current) */
	int64_t target_prompt_tokens;    /* what the generator aimed for */
	int64_t num_output_tokens;       /* server usage when present, else the tokenizer's count */
	int64_t requested_output_tokens; /* target_output_tokens of the request (0 = none) */
	bool usage_from_server;          /* num_output_tokens came from `usage` */
	bool is_stream;

	/* Reasoning models (docs/METRICS.md, Reasoning): content events whose delta carries
	 * `reasoning_content` / `reasoning` are reasoning chunks, `content` ones answer chunks (one
	 * event may be both). 0 = no such chunk. chunks[0] stays the first chunk of either kind (TTFC). */
	int64_t first_answer_ns;      /* first answer chunk (time to first output, TTFO) */
	int64_t first_reasoning_ns;   /* first reasoning chunk */
	int64_t last_reasoning_ns;    /* last reasoning chunk */
	int64_t num_reasoning_tokens; /* usage.completion_tokens_details.reasoning_tokens, else the
	                               * tokenizer's count of the reasoning text */
	int64_t num_answer_tokens;    /* completion_tokens - reasoning_tokens, else the tokenizer's count
	                               * of the answer text */

	bool success;
	enum rec_error error_kind;
	int error_code;
	char error_msg[256];
	int http_status;

	char *text; /* generated text (NUL-terminated), owned */
	size_t text_len, text_cap;
};

void rec_init(struct rec_record *r);
void rec_reset(struct rec_record *r); /* clears fields, keeps allocations */
void rec_free(struct rec_record *r);
void rec_add_chunk(struct rec_record *r, int64_t t_ns, int32_t tokens);
void rec_append_text(struct rec_record *r, const char *s, size_t n);
void rec_set_error(struct rec_record *r, enum rec_error kind, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The response carried reasoning: a reasoning chunk, or reasoning tokens reported by the server
 * (models that think without streaming the thoughts). */
static inline bool rec_has_reasoning(const struct rec_record *r)
{
	return r->first_reasoning_ns != 0 || r->num_reasoning_tokens > 0;
}

#endif
