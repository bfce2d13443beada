#ifndef VK_CLIENT_SSE_H
#define VK_CLIENT_SSE_H
/* Incremental Server-Sent Events parser (WHATWG event-stream rules), fed arbitrary byte splits.
 *
 * - line endings "\n", "\r\n" and "\r" (a "\r\n" split across two feeds counts once);
 * - "field:value" with one optional space after the colon; a line without a colon is a field with
 *   an empty value; lines starting with ':' are comments (keep-alives) and are ignored;
 * - several "data:" lines of one event are joined with "\n";
 * - "event:" sets the event type (truncated to SSE_EVENT_TYPE_MAX-1 bytes); "id" and "retry" are
 *   ignored;
 * - not WHATWG: an "error:" line (llama.cpp's streamed errors) is a data line that makes the event's
 *   type "error";
 * - an event is dispatched on a blank line when it has at least one data line;
 * - one UTF-8 byte order mark at the very start of the stream is skipped.
 * sse_finish() treats the end of the stream as the end of the last line and of the last event (a
 * lenient choice: many servers close right after "data: [DONE]\n").
 *
 * Allocation: the line and data buffers grow to the largest line/event seen and are reused; once
 * warm, feeding does not allocate. Lines that fit entirely in one feed are parsed in place. */
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

#define SSE_EVENT_TYPE_MAX 64
#define SSE_DEFAULT_MAX_EVENT_BYTES ((size_t)64 << 20)

struct sse_event {
	const char *data; /* NUL-terminated (valid during the callback only) */
	size_t data_len;
	const char *type; /* "" when no "event:" field was given */
};

/* Return 0 to continue, non-zero to stop parsing (sse_feed returns that value). */
typedef int (*sse_event_fn)(void *ctx, const struct sse_event *ev);

struct sse_parser {
	sse_event_fn cb;
	void *ctx;
	struct buf line; /* partial line carried between feeds */
	struct buf data; /* data of the event being assembled */
	char type[SSE_EVENT_TYPE_MAX];
	bool has_data;
	bool last_cr;     /* previous byte was '\r': a following '\n' belongs to the same line end */
	bool at_start;    /* no byte consumed yet (byte order mark check) */
	unsigned bom_pos; /* bytes of a byte order mark matched so far */
	int stopped;      /* non-zero: the callback stopped parsing (or the event grew too large) */
	size_t max_event_bytes;
	size_t n_events; /* events dispatched since init/reset */
};

void sse_init(struct sse_parser *p, sse_event_fn cb, void *ctx);
void sse_reset(struct sse_parser *p); /* new stream, same callback; keeps buffers */
void sse_free(struct sse_parser *p);
/* Feed bytes. Returns 0, the callback's non-zero value when it stopped, or -1 when a line or an
 * event exceeds max_event_bytes. Once stopped, further feeds are ignored and return that value. */
int sse_feed(struct sse_parser *p, const char *bytes, size_t len);
/* End of stream: terminates a partial last line and dispatches a pending event. Same returns. */
int sse_finish(struct sse_parser *p);
/* The OpenAI end-of-stream sentinel ("[DONE]", surrounding whitespace ignored). */
bool sse_is_done(const char *data, size_t len);

#endif
