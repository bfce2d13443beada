#ifndef VK_METRICS_RECORD_H
#define VK_METRICS_RECORD_H
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
	int64_t t_ns;    /* arrival of the bytes that completed this content event */
	int32_t tokens;  /* tokens carried (from continuous usage or the tokenizer); 0 = not yet known */
};

enum rec_error {
	REC_OK = 0,
	REC_ERR_HTTP,        /* non-2xx status: error_code = status */
	REC_ERR_CONNECT,     /* connect failure: error_code 503 */
	REC_ERR_TIMEOUT,     /* request_timeout: error_code 408 */
	REC_ERR_RESET,       /* connection reset / closed mid-stream: error_code 520 */
	REC_ERR_STREAM,      /* mid-stream {"error": ...}: error_code from the event or 400 */
	REC_ERR_MALFORMED,   /* malformed response: error_code 520 */
	REC_ERR_CANCELLED    /* stopped by the benchmark (signal or grace expired): error_code 499 */
};

struct rec_record {
	uint64_t request_id;
	uint64_t session_id;
	uint32_t node_id;
	uint32_t session_total_requests;

	int64_t intended_ns;    /* when the schedule said the request should go (ready time) */
	int64_t dispatched_ns;  /* scheduler_dispatched_at: popped from the scheduler */
	int64_t sent_ns;        /* client_picked_up_at: immediately before the request is started (t0) */
	int64_t headers_ns;     /* response headers received */
	int64_t completed_ns;   /* client_completed_at: stream end or error */
	int64_t processed_ns;   /* result_processed_at: handed to the evaluator */

	struct rec_chunk *chunks; /* content events in arrival order */
	size_t n_chunks, cap_chunks;

	int64_t num_delta_prompt_tokens;   /* tokens of the current user message */
	int64_t num_total_prompt_tokens;   /* tokens of every message sent (history + current) */
	int64_t target_prompt_tokens;      /* what the generator aimed for */
	int64_t num_output_tokens;         /* server usage when present, else the tokenizer's count */
	int64_t requested_output_tokens;   /* target_output_tokens of the request (0 = none) */
	bool usage_from_server;            /* num_output_tokens came from `usage` */
	bool is_stream;

	bool success;
	enum rec_error error_kind;
	int error_code;
	char error_msg[256];
	int http_status;

	char *text;          /* generated text (NUL-terminated), owned */
	size_t text_len, text_cap;
};

void rec_init(struct rec_record *r);
void rec_reset(struct rec_record *r);  /* clears fields, keeps allocations */
void rec_free(struct rec_record *r);
void rec_add_chunk(struct rec_record *r, int64_t t_ns, int32_t tokens);
void rec_append_text(struct rec_record *r, const char *s, size_t n);
void rec_set_error(struct rec_record *r, enum rec_error kind, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
