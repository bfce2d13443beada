/* The streaming OpenAI-compatible client: libcurl multi_socket_action on a core/ev.h loop.
 * curl.h is included by the client's files only (this one, client_tls.c, client_tokcount.c). See
 * docs/CLIENT.md. */
#include "client/client.h"
#include "client/client_rxstamp.h"
#include "client/client_tls.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/client_tokcount.h"
#include "client/openai.h"
#include "client/sse.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/list.h"
#include "core/log.h"
#include "core/xalloc.h"

#define CLIENT_ERR_BODY_MAX ((size_t)64 << 10) /* kept of a non-2xx body for the message */
/* Buffers of a slot or record that grew beyond this (a huge response) are freed when it is done
 * instead of being kept for the next request (docs/CLIENT.md "Response size cap"). */
#define CLIENT_KEEP_BYTES ((size_t)1 << 20)
#define CLIENT_SMALL_RBUF_STREAMS 1024            /* in flight from which new transfers ... */
#define CLIENT_SMALL_RBUF_BYTES 4096L             /* ... get a receive buffer of this size */
#define CLIENT_TIMEOUT_MAX_S (3600LL * 24 * 3650) /* longer request_timeouts are this */

/* 8 bytes per chunk of every stream in flight: offsets stay below 4 GiB (the text of one response
 * is far smaller; a longer one is clamped, which only merges the last chunks' counts). */
struct client_seg {
	uint32_t text_end;
	uint32_t reasoning_end;
};

#define CLIENT_PREALLOC_CHUNKS_MAX 1024 /* per-stream chunk arrays sized up front up to this */

struct creq {
	struct client *c;
	CURL *easy;
	/* request headers as a curl_slist chain in place (no allocation per request): Content-Type,
	 * Accept, Expect, X-Request-Id, optionally Authorization */
	struct curl_slist hdr[5];
	char idh[48];         /* "X-Request-Id: <id>" */
	const char *cur_url;  /* URL currently set on the easy handle */
	long rbuf_bytes;      /* CURLOPT_BUFFERSIZE currently set (0 = curl's default, 16 KB) */
	struct buf body;      /* request body (curl reads it during the transfer) */
	struct buf raw;       /* non-SSE response body (JSON or error text) */
	struct buf reasoning; /* reasoning_content text */
	struct sse_parser sse;
	struct oai_memo memo;    /* what this stream's chunks repeat (oai_parse_stream) */
	struct client_seg *segs; /* per chunk: end offsets in rec->text and reasoning */
	size_t n_segs, cap_segs;

	const struct wl_request *req;
	struct rec_record *rec;
	bool chat;
	bool headers_seen;
	bool is_sse;
	bool done_seen;   /* "[DONE]" */
	bool finish_seen; /* a finish_reason was received */
	bool deferred;    /* queued while the client was inside curl; not started yet */
	char coding[32];  /* the response's Content-Encoding when not identity ("" = none) */
	long status;
	int fd;          /* the transfer's socket, from the socket callback (-1: not yet) */
	int64_t cb_t_ns; /* arrival time of the bytes being parsed */
	int64_t last_byte_ns;
	int64_t usage_completion; /* -1 = none */
	int64_t max_tokens_sent;  /* the output length the request's body asks for at most, 0 = none */
	int64_t usage_prompt;
	int64_t usage_reasoning; /* usage.completion_tokens_details.reasoning_tokens; -1 = none */
	int64_t cont_last;       /* last cumulative completion_tokens seen on a content event */
	bool cont_usage;         /* usage arrives with content events (continuous usage stats) */

	uint64_t resp_bytes; /* response bytes so far, headers and body (client.max_response_bytes) */
	int sock_errno;      /* errno of a socket() that failed for this transfer (0 = none) */

	char errbuf[CURL_ERROR_SIZE];
	CURLcode res;            /* curl's result, once the transfer is done */
	enum rec_error err_kind; /* REC_OK = none yet */
	int err_code;
	char err_msg[256];

	struct list_node link; /* on one of the client's queues (active, deferred, fin, counting) or free */
};

struct client {
	const struct cfg_client *cfg;
	struct ev_loop *loop;
	int rxstamp_fd; /* keeps the kernel's receive timestamping on (client_rxstamp_hold) */
	const struct tok *tok;
	client_done_fn done;
	client_event_fn event;
	void *ctx;
	struct oai_spec spec;

	CURLM *multi;
	uint64_t timer_id;         /* curl's timeout timer; 0 = none */
	int64_t timer_deadline_ns; /* its deadline */
	uint64_t kick_id;          /* timer starting deferred requests; 0 = none */
	int in_action;             /* > 0 while inside curl_multi_socket_action (curl callbacks) */
	char *url_chat, *url_completions;
	/* the same URLs parsed once (CURLOPT_CURLU); NULL where curl's parser refused them, and then
	 * CURLOPT_URL lets the transfer report it */
	CURLU *uh_chat, *uh_completions;
	char *auth_header; /* NULL when no API key */
	struct curl_slist *resolve;
	size_t pool_size;     /* CURLMOPT_MAXCONNECTS currently set */
	size_t pool_floor;    /* never shrink below (16, or what client_set_pool_size asked) */
	size_t win_peak;      /* most transfers in flight during the current window */
	int64_t win_start_ns; /* start of that window (pool shrink policy) */

	struct list active;      /* in flight (started), oldest first: deadlines in order */
	int64_t timeout_ns;      /* request_timeout (0 = none), enforced here (client_on_timeout) */
	uint64_t max_resp_bytes; /* client.max_response_bytes */
	struct client_tls tls;   /* trusted CAs and client certificate (client_tls.h) */
	uint64_t timeout_id;     /* timer for the oldest transfer's deadline; 0 = none */
	struct list deferred;    /* submitted, to be started from the loop */
	struct list fin;         /* transfers done, record not yet handed over */
	struct list free_slots;  /* recycled slots, most recent first */
	/* the next scheduled request, prepared before it is due (client_prepare_ahead) */
	struct creq *ahead;
	const struct wl_request *ahead_req; /* compared by address and id, never dereferenced */
	uint64_t ahead_id;
	uint64_t ahead_used, ahead_replaced;

	uint64_t timer_fires;   /* statistics (tests: no busy loop on stale timers) */
	struct sketch read_lag; /* read time - kernel receive stamp of the bytes read (ns) */
	char *cancel_why;       /* cancel requested from inside a curl callback: done from the loop */

	/* token counting by the server's /tokenize (client_use_server_count) */
	struct client_tokcount *tc;
	struct list counting; /* records waiting for their counts */
	uint64_t tc_records, tc_failed, tc_cancelled;
	bool tc_warned;
	bool usage_warned;       /* a usage below the content events was reported (client_complete) */
	bool usage_above_warned; /* an impossible usage was reported (client_usage_impossible) */
	uint32_t *tc_w;          /* scratch for the per-chunk split */
	int32_t *tc_out;
	size_t tc_cap;
};

/* ---- global init ---- */

static pthread_once_t client_once = PTHREAD_ONCE_INIT;

static void client_global_init_once(void)
{
	curl_global_init(CURL_GLOBAL_ALL);
	/* a peer closing a keep-alive socket must not kill the process */
	signal(SIGPIPE, SIG_IGN);
}

void client_global_init(void)
{
	pthread_once(&client_once, client_global_init_once);
}

/* ---- small helpers ---- */

/* The client's queues of request slots (core/list through creq.link), typed. */
static struct creq *client_q_slot(struct list_node *x)
{
	return x ? LIST_ENTRY(x, struct creq, link) : NULL;
}

static void client_q_push(struct list *q, struct creq *r)
{
	list_push_tail(q, &r->link);
}

static void client_q_del(struct list *q, struct creq *r)
{
	list_remove(q, &r->link);
}

/* Removes and returns the oldest slot, NULL when empty. */
static struct creq *client_q_pop(struct list *q)
{
	return client_q_slot(list_pop_head(q));
}

/* The request failed: kind, code and a message (long messages are cut, as intended). */
static void client_fail(struct creq *r, enum rec_error kind, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void client_fail(struct creq *r, enum rec_error kind, int code, const char *fmt, ...)
{
	if (r->err_kind != REC_OK)
		return; /* first error wins */
	r->err_kind = kind;
	r->err_code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err_msg, sizeof r->err_msg, fmt, ap);
	va_end(ap);
}

/* ---- response handling (curl callbacks) ---- */

static void client_record_content(struct creq *r, const struct oai_event *ev)
{
	struct rec_record *rec = r->rec;
	/* a tool call's name and argument text is generated output like content (docs/CLIENT.md,
	 * Responses): an answer made of tool calls has its first chunk, chunks and tokens */
	bool has_tool = ev->tool_text && ev->tool_text_len;
	bool has_content = (ev->content && ev->content_len) || has_tool;
	bool has_reasoning = ev->reasoning && ev->reasoning_len;
	int32_t tokens = 0;
	if (ev->has_usage && ev->completion_tokens >= 0) {
		if (has_content || has_reasoning) {
			r->cont_usage = true;
			int64_t d = ev->completion_tokens - r->cont_last;
			tokens = d > 0 ? (int32_t)d : 0;
			r->cont_last = ev->completion_tokens;
		}
	}
	if (!has_content && !has_reasoning)
		return;
	if (has_content) {
		if (ev->content && ev->content_len)
			rec_append_text(rec, ev->content, ev->content_len);
		if (has_tool)
			rec_append_text(rec, ev->tool_text, ev->tool_text_len);
		if (!rec->first_answer_ns)
			rec->first_answer_ns = r->cb_t_ns; /* time to first output (docs/METRICS.md) */
	}
	if (has_reasoning) {
		buf_append(&r->reasoning, ev->reasoning, ev->reasoning_len);
		if (!rec->first_reasoning_ns)
			rec->first_reasoning_ns = r->cb_t_ns;
		rec->last_reasoning_ns = r->cb_t_ns;
	}
	rec_add_chunk(rec, r->cb_t_ns, tokens);
	if (r->n_segs == r->cap_segs)
		xgrow((void **)&r->segs, &r->cap_segs, r->n_segs + 1, sizeof *r->segs);
	r->segs[r->n_segs].text_end = rec->text_len < UINT32_MAX ? (uint32_t)rec->text_len : UINT32_MAX;
	r->segs[r->n_segs].reasoning_end = r->reasoning.len < UINT32_MAX ? (uint32_t)r->reasoning.len : UINT32_MAX;
	r->n_segs++;
	if (rec->n_chunks == 1 && r->c->event)
		r->c->event(r->c->ctx, rec, CLIENT_EVENT_FIRST_CHUNK);
}

static void client_apply_event(struct creq *r, const struct oai_event *ev)
{
	if (ev->has_usage) {
		if (ev->completion_tokens >= 0)
			r->usage_completion = ev->completion_tokens;
		if (ev->prompt_tokens >= 0)
			r->usage_prompt = ev->prompt_tokens;
	}
	if (ev->reasoning_tokens >= 0)
		r->usage_reasoning = ev->reasoning_tokens;
	client_record_content(r, ev);
	/* an empty finish_reason (sent by some servers on every chunk instead of null) ends nothing: a
	 * stream cut after it must not pass as finished (docs/CLIENT.md, Errors) */
	if (ev->finish_reason && ev->finish_reason[0]) {
		r->finish_seen = true;
		/* the server gave up on the request (vLLM, SGLang: "abort"; "error"): what it sent is not an
		 * answer, and the request fails (docs/CLIENT.md, Errors) */
		if (!strcmp(ev->finish_reason, "abort") || !strcmp(ev->finish_reason, "error"))
			client_fail(r, REC_ERR_SERVER, REC_CODE_SERVER_ABORT,
			            "The server ended the answer with finish_reason '%s'", ev->finish_reason);
	}
}

/* An event of a choice other than the first (n > 1 in the request's params, or a server that sends
 * several): its text would be merged into the one answer the client measures, making its tokens,
 * chunks and TBCs wrong, so the request fails (docs/CLIENT.md, Errors). Returns true when it did. */
static bool client_fail_more_choices(struct creq *r, const struct oai_event *ev)
{
	if (ev->choice_index <= 0 && !ev->more_choices)
		return false;
	client_fail(r, REC_ERR_MALFORMED, REC_CODE_PROTOCOL,
	            "Response with more than one choice (%s): the client measures one answer per request "
	            "(\"n\" above 1 in the request's params?)",
	            ev->more_choices ? "several in one object" : "a choice index above 0");
	return true;
}

static int client_on_sse(void *ctx, const struct sse_event *sev)
{
	struct creq *r = ctx;
	if (sse_is_done(sev->data, sev->data_len)) {
		r->done_seen = true;
		return 0;
	}
	if (r->done_seen) {
		/* the server said the stream was over: what follows would be counted into an answer that had
		 * ended (docs/CLIENT.md, Errors) */
		client_fail(r, REC_ERR_MALFORMED, REC_CODE_PROTOCOL, "Stream event after [DONE]: %.100s", sev->data);
		return 1;
	}
	if (sev->type[0] == 'e' && !strcmp(sev->type, "error")) {
		/* `event: error`: the server says the request failed, whatever the data looks like (a
		 * [DONE] after it must not turn what came before into an answer; docs/CLIENT.md, Errors) */
		int code;
		char msg[sizeof r->err_msg];
		oai_error_event(sev->data, sev->data_len, &code, msg, sizeof msg);
		client_fail(r, REC_ERR_SERVER, code, "%s", msg);
		return 1;
	}
	struct oai_event ev;
	int prc = oai_parse_stream(sev->data, sev->data_len, &ev, &r->memo);
	if (prc != OAI_PARSE_OK) {
		client_fail(r, REC_ERR_MALFORMED, REC_CODE_PROTOCOL, "Malformed stream event (%s): %.100s",
		            prc == OAI_PARSE_TRAILING
		                ? "bytes after its JSON object; events without a blank line between them?"
		                : "not a JSON object",
		            sev->data);
		return 1;
	}
	if (ev.is_error) {
		client_fail(r, REC_ERR_SERVER, ev.error_code, "%s", ev.error_msg);
		oai_event_clear(&ev);
		return 1;
	}
	if (client_fail_more_choices(r, &ev)) {
		oai_event_clear(&ev);
		return 1;
	}
	client_apply_event(r, &ev);
	oai_event_clear(&ev);
	return 0;
}

static bool client_status_ok(long status)
{
	return status >= 200 && status < 300;
}

/* Arrival time of the bytes just read for r: the kernel's receive timestamp of the last packet of
 * that read (client_rxstamp.h), else now (no timestamp, or VEEKSHA_RX_STAMPS=0). */
static int64_t client_rx_time(const struct creq *r)
{
	int64_t now = clock_mono_ns();
	int64_t k = client_rxstamp_last(r->fd, now);
	if (k > 0)
		sketch_add(&r->c->read_lag, (double)(now - k));
	int64_t t = k > 0 && k >= r->rec->sent_ns ? k : now;
	/* a stream's stamps never go backwards, also where kernel and clock stamps meet (a read without
	 * a timestamp, e.g. before the kernel switched timestamping on, is stamped after its recv) */
	int64_t floor_ns = r->last_byte_ns > r->rec->headers_ns ? r->last_byte_ns : r->rec->headers_ns;
	return t > floor_ns ? t : floor_ns;
}

static void client_headers_done(struct creq *r)
{
	long status = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 100 && status < 200) {
		r->coding[0] = '\0';
		return; /* interim response (e.g. 100 Continue): the final headers follow */
	}
	r->status = status;
	r->headers_seen = true;
	r->rec->headers_ns = client_rx_time(r);
	r->rec->http_status = (int)status;
	const char *ct = NULL;
	curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
	r->is_sse = ct && strncasecmp(ct, "text/event-stream", 17) == 0;
	if (r->c->event)
		r->c->event(r->c->ctx, r->rec, CLIENT_EVENT_HEADERS);
}

/* client.max_response_bytes exceeded: the transfer is aborted (the callback returns 0). */
static void client_fail_too_large(struct creq *r)
{
	client_fail(r, REC_ERR_TOO_LARGE, REC_CODE_TOO_LARGE,
	            "Response too large: more than %llu bytes (client.max_response_bytes)",
	            (unsigned long long)r->c->max_resp_bytes);
}

/* A Content-Encoding header's value, unless it is empty or "identity". */
static void client_note_coding(struct creq *r, const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (!n || (n == 8 && strncasecmp(v, "identity", 8) == 0))
		return;
	snprintf(r->coding, sizeof r->coding, "%.*s", (int)n, v);
}

static size_t client_header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct creq *r = ud;
	size_t n = size * nmemb;
	/* every response byte counts toward the cap: an endless header block is as hostile as an
	 * endless body */
	r->resp_bytes += n;
	if (r->resp_bytes > r->c->max_resp_bytes) {
		client_fail_too_large(r);
		return 0;
	}
	if (r->headers_seen)
		return n; /* (trailers) */
	if ((n == 2 && ptr[0] == '\r' && ptr[1] == '\n') || (n == 1 && ptr[0] == '\n')) {
		client_headers_done(r);
		if (r->headers_seen && r->coding[0] && client_status_ok(r->status)) {
			/* no Accept-Encoding is sent and curl decodes nothing: the body's bytes are not the
			 * answer (before, they failed as a stream closed early; docs/CLIENT.md, Errors) */
			client_fail(r, REC_ERR_MALFORMED, REC_CODE_PROTOCOL,
			            "Response with Content-Encoding: %s, which the client did not ask for and does "
			            "not decode",
			            r->coding);
			return 0;
		}
	} else if (n > 17 && strncasecmp(ptr, "Content-Encoding:", 17) == 0) {
		client_note_coding(r, ptr + 17, n - 17);
	}
	return n;
}

/* One SSE line or event above the parser's limit (only reachable when client.max_response_bytes is
 * set above it). */
static void client_fail_event_too_large(struct creq *r)
{
	client_fail(r, REC_ERR_TOO_LARGE, REC_CODE_TOO_LARGE,
	            "Response too large: one stream event of more than %zu bytes", r->sse.max_event_bytes);
}

static size_t client_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct creq *r = ud;
	size_t n = size * nmemb;
	/* one timestamp per receive batch, before any parsing: when its bytes arrived */
	int64_t t = client_rx_time(r);
	r->cb_t_ns = t;
	r->last_byte_ns = t;
	r->resp_bytes += n; /* body bytes after chunked decoding; one add and compare per read */
	if (r->resp_bytes > r->c->max_resp_bytes) {
		/* an error status stays the error (client_complete), its endless body is not read on */
		if (!r->headers_seen || client_status_ok(r->status))
			client_fail_too_large(r);
		return 0;
	}
	if (!r->headers_seen)
		client_headers_done(r);
	if (!client_status_ok(r->status)) {
		size_t room = CLIENT_ERR_BODY_MAX > r->raw.len ? CLIENT_ERR_BODY_MAX - r->raw.len : 0;
		buf_append(&r->raw, ptr, n < room ? n : room);
		return n;
	}
	if (r->is_sse) {
		/* until the first content event, the body is kept too: a JSON object sent without "data:"
		 * is no SSE event, and only these bytes show it (client_check_bare_json) */
		if (r->rec->n_chunks == 0 && r->raw.len < CLIENT_ERR_BODY_MAX) {
			size_t room = CLIENT_ERR_BODY_MAX - r->raw.len;
			buf_append(&r->raw, ptr, n < room ? n : room);
		}
		int rc = sse_feed(&r->sse, ptr, n);
		if (rc == -1)
			client_fail_event_too_large(r);
		return rc ? 0 : n; /* 0 aborts the transfer (CURLE_WRITE_ERROR); the error is recorded */
	}
	buf_append(&r->raw, ptr, n); /* bounded by client.max_response_bytes (above) */
	return n;
}

/* ---- completion ---- */

static size_t client_count(const struct client *c, const char *s, size_t n)
{
	if (!s || !n)
		return 0;
	return tok_count(c->tok, s, n);
}

/* The reasoning/answer split needs the tokenizer's counts of both texts: the server gave a
 * completion count but not its reasoning part, and the response carried reasoning text. */
static bool client_split_needs_counts(const struct creq *r)
{
	return r->usage_reasoning < 0 && r->reasoning.len > 0;
}

/* num_reasoning_tokens / num_answer_tokens (docs/METRICS.md, Reasoning): the server's
 * reasoning_tokens with answer = completion_tokens - reasoning_tokens when it sent them, else the
 * tokenizer's counts of each text (answer, reasoning: -1 when not counted, i.e. no reasoning text). */
static void client_split_reasoning(struct creq *r, int64_t answer, int64_t reasoning)
{
	struct rec_record *rec = r->rec;
	if (r->usage_reasoning >= 0 && r->usage_completion >= 0) {
		rec->num_reasoning_tokens = r->usage_reasoning;
		int64_t a = r->usage_completion - r->usage_reasoning;
		rec->num_answer_tokens = a > 0 ? a : 0;
	} else if (reasoning >= 0 && answer >= 0) {
		rec->num_reasoning_tokens = reasoning;
		rec->num_answer_tokens = answer;
	} else {
		rec->num_reasoning_tokens = 0;
		rec->num_answer_tokens = rec->num_output_tokens;
	}
}

static void client_count_tokens(struct creq *r)
{
	struct client *c = r->c;
	struct rec_record *rec = r->rec;
	const struct wl_request *req = r->req;
	const char *p = req->prompt_text ? req->prompt_text : "";
	rec->num_delta_prompt_tokens = (int64_t)client_count(c, p, strlen(p));
	int64_t total = rec->num_delta_prompt_tokens;
	if (r->chat) {
		for (size_t i = 0; i < req->n_history; i++) {
			const char *h = req->history[i].content;
			if (h)
				total += (int64_t)client_count(c, h, strlen(h));
		}
	}
	rec->num_total_prompt_tokens = total;
	/* tokens per chunk where the server did not say: count each chunk's text */
	size_t t0 = 0, r0 = 0;
	for (size_t i = 0; i < r->n_segs && i < rec->n_chunks; i++) {
		size_t t1 = r->segs[i].text_end, r1 = r->segs[i].reasoning_end;
		if (rec->chunks[i].tokens == 0) {
			size_t k =
			    client_count(c, rec->text + t0, t1 - t0) + client_count(c, r->reasoning.data + r0, r1 - r0);
			rec->chunks[i].tokens = (int32_t)(k ? k : 1);
		}
		t0 = t1;
		r0 = r1;
	}
	int64_t answer = -1, reasoning = -1;
	if (r->usage_completion < 0 || client_split_needs_counts(r)) {
		answer = (int64_t)client_count(c, rec->text, rec->text_len);
		reasoning = (int64_t)client_count(c, r->reasoning.data, r->reasoning.len);
	}
	if (r->usage_completion >= 0) {
		rec->num_output_tokens = r->usage_completion;
		rec->usage_from_server = true;
	} else {
		rec->num_output_tokens = answer + reasoning;
		rec->usage_from_server = false;
	}
	client_split_reasoning(r, answer, reasoning);
}

/* ---- counting with the server's /tokenize (docs/CLIENT.md "Token counting") ---- */

static void client_hand_over(struct creq *r);

/* Texts of a job, in this order: prompt, each history message (chat), and, when the response had
 * no usage (or reasoning text without usage's reasoning_tokens), the output text and the reasoning
 * text. */
static void client_count_remote(struct creq *r)
{
	struct client *c = r->c;
	const struct wl_request *req = r->req;
	struct client_tokcount_job *job = client_tokcount_job_new(r);
	const char *p = req->prompt_text ? req->prompt_text : "";
	client_tokcount_job_add(job, p, strlen(p));
	if (r->chat)
		for (size_t i = 0; i < req->n_history; i++) {
			const char *h = req->history[i].content;
			client_tokcount_job_add(job, h, h ? strlen(h) : 0);
		}
	if (r->usage_completion < 0 || client_split_needs_counts(r)) {
		client_tokcount_job_add(job, r->rec->text, r->rec->text_len);
		client_tokcount_job_add(job, r->reasoning.data, r->reasoning.len);
	}
	client_q_push(&c->counting, r);
	client_tokcount_submit(c->tc, job);
}

/* Chunks the server gave no count for share total minus the counted ones, in proportion to the
 * approximation's count of their text (at least 1 each). */
static void client_split_chunks(struct creq *r, int64_t total)
{
	struct client *c = r->c;
	struct rec_record *rec = r->rec;
	size_t n = r->n_segs < rec->n_chunks ? r->n_segs : rec->n_chunks;
	if (n > c->tc_cap) {
		c->tc_w = xrealloc(c->tc_w, n * sizeof *c->tc_w);
		c->tc_out = xrealloc(c->tc_out, n * sizeof *c->tc_out);
		c->tc_cap = n;
	}
	size_t k = 0, t0 = 0, r0 = 0;
	int64_t known = 0;
	for (size_t i = 0; i < n; i++) {
		size_t t1 = r->segs[i].text_end, r1 = r->segs[i].reasoning_end;
		if (rec->chunks[i].tokens == 0)
			c->tc_w[k++] =
			    (uint32_t)((t1 > t0 ? tok_count(tok_approx(), rec->text + t0, t1 - t0) : 0) +
			               (r1 > r0 ? tok_count(tok_approx(), r->reasoning.data + r0, r1 - r0) : 0));
		else
			known += rec->chunks[i].tokens;
		t0 = t1;
		r0 = r1;
	}
	if (!k)
		return;
	client_tokcount_split(c->tc_w, k, total > known ? total - known : 0, c->tc_out);
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (rec->chunks[i].tokens == 0)
			rec->chunks[i].tokens = c->tc_out[k++];
}

static void client_on_counts(void *ctx, void *owner, const int64_t *counts, size_t n, const char *why)
{
	struct client *c = ctx;
	struct creq *r = owner;
	struct rec_record *rec = r->rec;
	const struct wl_request *req = r->req;
	client_q_del(&c->counting, r);
	c->tc_records++;
	bool outputs = r->usage_completion < 0 || client_split_needs_counts(r);
	size_t need = 1 + (r->chat ? req->n_history : 0) + (outputs ? 2 : 0);
	if (!counts || n != need) {
		if (why && strcmp(why, "cancelled") == 0) {
			c->tc_cancelled++;
		} else {
			c->tc_failed++;
			if (!c->tc_warned) {
				c->tc_warned = true;
				log_warn("tokenizer: counting with %s failed (%s); such records are counted with the "
				         "whitespace-word approximation (reported at the end of the run)",
				         client_tokcount_url(c->tc), why ? why : "wrong number of counts");
			}
		}
		client_count_tokens(r);
		client_hand_over(r);
		return;
	}
	size_t k = 0;
	rec->num_delta_prompt_tokens = counts[k++];
	int64_t total = rec->num_delta_prompt_tokens;
	if (r->chat)
		for (size_t i = 0; i < req->n_history; i++)
			total += counts[k++];
	rec->num_total_prompt_tokens = total;
	if (r->usage_completion >= 0) {
		rec->num_output_tokens = r->usage_completion;
		rec->usage_from_server = true;
	} else {
		rec->num_output_tokens = counts[k] + counts[k + 1];
		rec->usage_from_server = false;
	}
	client_split_reasoning(r, outputs ? counts[k] : -1, outputs ? counts[k + 1] : -1);
	client_split_chunks(r, rec->num_output_tokens);
	client_hand_over(r);
}

int client_use_server_count(struct client *c, const char *url, char *err, size_t err_len)
{
	if (c->tc) {
		snprintf(err, err_len, "server counting is already on");
		return -1;
	}
	c->tc = client_tokcount_create(url, c->cfg, c->loop, client_on_counts, c, err, err_len);
	return c->tc ? 0 : -1;
}

void client_server_count_stats(const struct client *c, uint64_t *records, uint64_t *failed, uint64_t *cancelled)
{
	*records = c->tc_records;
	*failed = c->tc_failed;
	*cancelled = c->tc_cancelled;
}

/* curl's message without the elapsed times it embeds (" after 12 ms"), so that equal failures have
 * equal messages and are counted together in the summary's top errors. */
static void client_curl_detail(char *out, size_t out_len, CURLcode res, const char *errbuf)
{
	const char *s = errbuf && *errbuf ? errbuf : curl_easy_strerror(res);
	size_t k = 0;
	while (*s && k + 1 < out_len) {
		if (strncmp(s, " after ", 7) == 0 && s[7] >= '0' && s[7] <= '9') {
			const char *q = s + 7;
			while (*q >= '0' && *q <= '9')
				q++;
			if (strncmp(q, " milliseconds", 13) == 0) {
				s = q + 13;
				continue;
			}
			if (strncmp(q, " ms", 3) == 0 && (q[3] < 'a' || q[3] > 'z')) {
				s = q + 3;
				continue;
			}
		}
		out[k++] = *s++;
	}
	out[k] = '\0';
}

/* The error class, code and message of a transfer that curl ended with res (docs/FAILURES.md). */
static void client_map_curl_error(struct creq *r, CURLcode res, const char *errbuf)
{
	char d[192]; /* client_fail keeps the first 255 bytes of the message */
	client_curl_detail(d, sizeof d, res, errbuf);
	long os_errno = 0;
	if (curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno) != CURLE_OK)
		os_errno = 0;
	int e = r->sock_errno ? r->sock_errno : (int)os_errno;
	if (e == EMFILE || e == ENFILE) {
		/* the benchmark's own limit, not the server's fault: say which limit and how to raise it */
		client_fail(r, REC_ERR_CONNECT, REC_CODE_CONNECT,
		            "Too many open files (this process may open %zu descriptors; raise it with ulimit -n)",
		            client_nofile_limit());
		return;
	}
	switch (res) {
	case CURLE_OPERATION_TIMEDOUT:
		if (!errbuf || !*errbuf) {
			/* the client's own request_timeout timer (client_on_timeout) */
			client_fail(r, REC_ERR_TIMEOUT, REC_CODE_TIMEOUT,
			            "Request timed out after %lld s (client.request_timeout) %s",
			            (long long)(r->c->timeout_ns / 1000000000LL),
			            r->headers_seen ? "before the response ended" : "before any response");
		} else {
			client_fail(r, REC_ERR_TIMEOUT, REC_CODE_TIMEOUT, "Timed out: %s", d);
		}
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		/* curl's text already reads "Could not resolve host: <name>" */
		client_fail(r, REC_ERR_CONNECT, REC_CODE_CONNECT, "%s%s",
		            strncmp(d, "Could not resolve", 17) ? "Could not resolve host: " : "", d);
		break;
	case CURLE_COULDNT_CONNECT: {
		/* the socket's reason first ("Connection refused", "No route to host", ...) */
		char eb[64];
		const char *why = e ? strerror_r(e, eb, sizeof eb) : "Could not connect";
		client_fail(r, REC_ERR_CONNECT, REC_CODE_CONNECT, "%s: %s", why, d);
		break;
	}
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		client_fail(r, REC_ERR_TLS, REC_CODE_TLS, "TLS: %s", d);
		break;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		client_fail(r, REC_ERR_MALFORMED, REC_CODE_PROTOCOL, "Broken HTTP response: %s", d);
		break;
	case CURLE_UNSUPPORTED_PROTOCOL:
		/* a response without a status line is HTTP/0.9 to curl: the server's framing is broken */
		if (strstr(d, "HTTP/0.9")) {
			client_fail(r, REC_ERR_MALFORMED, REC_CODE_PROTOCOL,
			            "Broken HTTP response (no status line): %s", d);
		} else {
			client_fail(r, REC_ERR_CLIENT, REC_CODE_CLIENT, "Could not start the request: %s", d);
		}
		break;
	case CURLE_RECV_ERROR:
		/* curl reports a broken chunked encoding as a receive error */
		if (strstr(d, "chunked-encoding") || strstr(d, "content-encoding")) {
			client_fail(r, REC_ERR_MALFORMED, REC_CODE_PROTOCOL, "Broken HTTP response: %s", d);
			break;
		}
		/* fall through */
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
		client_fail(
		    r, REC_ERR_RESET, REC_CODE_RESET, "%s: %s",
		    r->headers_seen ? "Connection closed mid-response" : "Connection closed before the response", d);
		break;
	case CURLE_GOT_NOTHING:
		client_fail(r, REC_ERR_RESET, REC_CODE_RESET, "Connection closed without a response: %s", d);
		break;
	case CURLE_FILESIZE_EXCEEDED:
		client_fail(r, REC_ERR_TOO_LARGE, REC_CODE_TOO_LARGE, "Response too large: %s", d);
		break;
	case CURLE_OUT_OF_MEMORY:
		/* curl rejects a header line above its own limit this way */
		if (strstr(d, "header")) {
			client_fail(r, REC_ERR_TOO_LARGE, REC_CODE_TOO_LARGE, "Response too large: %s", d);
			break;
		}
		/* fall through */
	case CURLE_URL_MALFORMAT:
	case CURLE_FAILED_INIT:
	case CURLE_BAD_FUNCTION_ARGUMENT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_WRITE_ERROR:
		client_fail(r, REC_ERR_CLIENT, REC_CODE_CLIENT, "Could not run the request: %s", d);
		break;
	default:
		client_fail(r, REC_ERR_RESET, REC_CODE_RESET, "Transfer failed (curl error %d): %s", (int)res, d);
		break;
	}
}

/* An event stream that delivered no content and whose body holds a JSON object at the start of a
 * line, outside any "data:" field (a server that wrote its error, or a chunk, without SSE framing):
 * an error object fails the request as the server's error with its code and message, anything
 * else as stream_protocol (before, it failed as reset "Stream closed before completion", or as
 * empty after a [DONE]; docs/CLIENT.md, Errors). */
static void client_check_bare_json(struct creq *r)
{
	if (r->err_kind != REC_OK || r->rec->n_chunks > 0 || !r->raw.len)
		return;
	struct oai_event ev;
	if (oai_parse_bare(r->raw.data, r->raw.len, &ev) != OAI_PARSE_OK)
		return;
	if (ev.is_error)
		client_fail(r, REC_ERR_SERVER, ev.error_code, "%s", ev.error_msg);
	else
		client_fail(r, REC_ERR_MALFORMED, REC_CODE_PROTOCOL,
		            "Stream without SSE framing (a JSON object not in a data: line): %.100s", r->raw.data);
	oai_event_clear(&ev);
}

static void client_finish_json(struct creq *r)
{
	if (r->raw.len == 0)
		return; /* success without content: 0 output tokens */
	struct oai_event ev;
	int prc = oai_parse(r->raw.data, r->raw.len, &ev);
	if (prc != OAI_PARSE_OK) {
		client_fail(r, REC_ERR_MALFORMED, REC_CODE_PROTOCOL, "Malformed response (%s): %.100s",
		            prc == OAI_PARSE_TRAILING ? "bytes after its JSON object; JSON lines instead of SSE?"
		                                      : "not a JSON object",
		            r->raw.data);
		return;
	}
	if (ev.is_error) {
		client_fail(r, REC_ERR_SERVER, ev.error_code, "%s", ev.error_msg);
	} else if (!ev.has_choices) {
		/* e.g. the answer of another route or of a proxy: no completion, whatever was asked for
		 * (before, a success when the request asked for no output, else empty; docs/CLIENT.md,
		 * Errors) */
		client_fail(r, REC_ERR_MALFORMED, REC_CODE_PROTOCOL,
		            "Response is not a completion (a JSON object without a \"choices\" array): %.100s",
		            r->raw.data);
	} else if (!client_fail_more_choices(r, &ev)) {
		r->cb_t_ns = r->last_byte_ns;
		client_apply_event(r, &ev);
		if (r->req->body_sink) /* lm-eval's logprobs (docs/INTEGRATIONS.md) */
			r->req->body_sink(r->req, r->raw.data, r->raw.len);
	}
	oai_event_clear(&ev);
}

/* A usage.completion_tokens no server could have meant (e.g. 1e9 for a short answer), which would
 * make the output throughput absurd and TPOT near 0: above the max tokens the request allowed, and
 * its visible part (without usage's reasoning tokens, which may be hidden) above the bytes of text
 * received, when every token decodes to at least one byte but a few special ones (slack 16). A
 * server that ignores the max-tokens param but reports its long answer truly is believed
 * (docs/CLIENT.md, Token counting). */
static bool client_usage_impossible(const struct creq *r)
{
	if (r->usage_completion < 0 || r->max_tokens_sent <= 0 || r->usage_completion <= r->max_tokens_sent)
		return false;
	int64_t visible = r->usage_completion - (r->usage_reasoning > 0 ? r->usage_reasoning : 0);
	return visible > (int64_t)(r->rec->text_len + r->reasoning.len) + 16;
}

/* A 2xx response that asked for output (the request's target, else a max-tokens sampling param) and
 * carried none is no answer (docs/FAILURES.md): it must not enter the latency distributions as a
 * zero. Reasoning text counts as content. */
static void client_check_empty(struct creq *r)
{
	const struct rec_record *rec = r->rec;
	int64_t asked =
	    rec->requested_output_tokens > 0 ? rec->requested_output_tokens : r->c->spec.sampling_max_tokens;
	if (r->err_kind != REC_OK || rec->n_chunks > 0 || asked <= 0)
		return;
	client_fail(r, REC_ERR_EMPTY, REC_CODE_EMPTY,
	            "Empty response: asked for %lld output tokens, received no content", (long long)asked);
}

/* A response over the size cap: what it delivered is dropped now (it is not counted, and its
 * buffers are not kept for the next request). */
static void client_drop_content(struct creq *r)
{
	struct rec_record *rec = r->rec;
	free(rec->text);
	rec->text = NULL;
	rec->text_len = rec->text_cap = 0;
	free(rec->chunks);
	rec->chunks = NULL;
	rec->n_chunks = rec->cap_chunks = 0;
	r->n_segs = 0;
	buf_free(&r->reasoning);
	buf_free(&r->raw);
	sse_free(&r->sse);
}

/* A slot keeps its buffers for the next request unless a huge response grew them. */
static void client_trim(struct creq *r)
{
	if (r->raw.cap > CLIENT_KEEP_BYTES)
		buf_free(&r->raw);
	if (r->reasoning.cap > CLIENT_KEEP_BYTES)
		buf_free(&r->reasoning);
	if (r->sse.line.cap > CLIENT_KEEP_BYTES)
		buf_free(&r->sse.line);
	if (r->sse.data.cap > CLIENT_KEEP_BYTES)
		buf_free(&r->sse.data);
	if (r->cap_segs * sizeof *r->segs > CLIENT_KEEP_BYTES) {
		free(r->segs);
		r->segs = NULL;
		r->n_segs = r->cap_segs = 0;
	}
}

static void client_recycle(struct client *c, struct creq *r)
{
	client_trim(r);
	r->req = NULL;
	r->rec = NULL;
	list_push_head(&c->free_slots, &r->link);
}

/* Transfer ended (or was cancelled): fill the record and hand it over. r is already detached
 * from curl and from the in-flight list. */
static void client_complete(struct creq *r, bool transferred, CURLcode res, const char *errbuf)
{
	struct client *c = r->c;
	struct rec_record *rec = r->rec;
	if (!transferred || !rec->completed_ns)
		rec->completed_ns = clock_mono_ns();
	if (transferred && r->err_kind == REC_OK) {
		if (r->headers_seen && !client_status_ok(r->status)) {
			/* an error status wins even when its body was cut short */
			char m[256];
			oai_error_message(r->raw.data, r->raw.len, m, sizeof m);
			if (*m)
				client_fail(r, REC_ERR_HTTP, (int)r->status, "%s", m);
			else
				client_fail(r, REC_ERR_HTTP, (int)r->status, "HTTP %ld", r->status);
		} else if (res != CURLE_OK) {
			client_map_curl_error(r, res, errbuf);
		} else if (r->is_sse) {
			int rc = sse_finish(&r->sse);
			if (rc == -1)
				client_fail_event_too_large(r);
			client_check_bare_json(r);
			if (r->err_kind == REC_OK && !r->done_seen && !r->finish_seen)
				client_fail(r, REC_ERR_RESET, REC_CODE_RESET,
				            "Stream closed before completion (no [DONE] and no finish_reason)");
		} else {
			client_finish_json(r);
		}
		client_check_empty(r);
	}
	if (r->err_kind == REC_ERR_TOO_LARGE)
		client_drop_content(r);
	if (r->usage_completion >= 0 && r->usage_completion < (int64_t)r->n_segs) {
		/* every content event carries at least one token: a usage.completion_tokens below their number
		 * (e.g. 0 for a streamed answer) contradicts what was received and would make TPOT 0; the
		 * output is counted with the tokenizer instead (docs/CLIENT.md, Token counting) */
		if (!c->usage_warned) {
			c->usage_warned = true;
			log_warn("request %llu: the server's usage.completion_tokens (%lld) is below the %zu content "
			         "events it sent; its output is counted with the tokenizer (and so is every such "
			         "response of this run)",
			         (unsigned long long)rec->request_id, (long long)r->usage_completion, r->n_segs);
		}
		r->usage_completion = -1;
	}
	if (client_usage_impossible(r)) {
		if (!c->usage_above_warned) {
			c->usage_above_warned = true;
			log_warn("request %llu: the server's usage.completion_tokens (%lld) is above the %lld output "
			         "tokens the request allowed and above the %zu bytes of text it sent; its output is "
			         "counted with the tokenizer (and so is every such response of this run)",
			         (unsigned long long)rec->request_id, (long long)r->usage_completion,
			         (long long)r->max_tokens_sent, rec->text_len + r->reasoning.len);
		}
		r->usage_completion = -1;
	}
	/* what the server sent when it answered, else what was asked for */
	rec->is_stream = r->headers_seen ? r->is_sse : c->cfg->stream;
	if (transferred && c->tc) {
		client_count_remote(r); /* handed over when the counts arrive (client_on_counts) */
		return;
	}
	client_count_tokens(r);
	client_hand_over(r);
}

/* Final status into the record, then hand it over through done. */
static void client_hand_over(struct creq *r)
{
	struct client *c = r->c;
	struct rec_record *rec = r->rec;
	if (r->err_kind == REC_OK) {
		rec->success = true;
		rec->error_kind = REC_OK;
		rec->error_code = 0;
		rec->error_msg[0] = '\0';
	} else {
		rec_set_error(rec, r->err_kind, r->err_code, "%s", r->err_msg);
	}
	const struct wl_request *req = r->req;
	client_recycle(c, r);
	c->done(c->ctx, rec, req);
}

static void client_want_kick(struct client *c);

static void client_pool_policy(struct client *c);

/* A transfer left curl (done, or timed out here): its record is handed over from the loop after
 * the current batch of socket events, so that chunks of other streams that are already readable
 * get stamped before token counting and the done callback. */
static void client_finished(struct client *c, struct creq *r, CURLcode res, int64_t completed_ns)
{
	client_pool_policy(c);
	r->rec->completed_ns = completed_ns;
	r->res = res;
	client_q_push(&c->fin, r);
	client_want_kick(c);
}

static void client_on_timeout(struct ev_loop *loop, void *ctx);

static void client_arm_timeout(struct client *c)
{
	struct creq *oldest = client_q_slot(c->active.head);
	if (c->timeout_id || !oldest || !c->timeout_ns)
		return;
	c->timeout_id = ev_timer_at(c->loop, oldest->rec->sent_ns + c->timeout_ns, client_on_timeout, c);
}

/* request_timeout. Every transfer has the same timeout and the active list is in start order, so
 * the oldest transfer's deadline is the next one: one timer per client, O(1) per request. (With
 * CURLOPT_TIMEOUT_MS instead, curl keeps a node per transfer in its timer splay tree, which every
 * socket event re-sorts: ~5% of the client's CPU per chunk at 1,000 streams, bench/RESULTS.md.) */
static void client_on_timeout(struct ev_loop *loop, void *ctx)
{
	(void)loop;
	struct client *c = ctx;
	c->timeout_id = 0;
	int64_t now = clock_mono_ns();
	struct creq *r;
	while ((r = client_q_slot(c->active.head)) && r->rec->sent_ns + c->timeout_ns <= now) {
		client_q_del(&c->active, r);
		curl_multi_remove_handle(c->multi, r->easy);
		client_finished(c, r, CURLE_OPERATION_TIMEDOUT, now); /* "Request timed out after ..." */
	}
	client_arm_timeout(c);
}

static void client_check_info(struct client *c)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(c->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		CURL *easy = msg->easy_handle;
		CURLcode res = msg->data.result;
		struct creq *r = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
		curl_multi_remove_handle(c->multi, easy);
		if (!r)
			continue;
		client_q_del(&c->active, r);
		/* a stream that ended normally ended when its last bytes arrived */
		client_finished(c, r, res, res == CURLE_OK && r->last_byte_ns > 0 ? r->last_byte_ns : clock_mono_ns());
	}
}

static void client_action(struct client *c, curl_socket_t s, int flags)
{
	int running = 0;
	c->in_action++;
	CURLMcode mc = curl_multi_socket_action(c->multi, s, flags, &running);
	c->in_action--;
	if (mc != CURLM_OK)
		log_warn("client: curl_multi_socket_action: %s", curl_multi_strerror(mc));
	client_check_info(c);
}

/* ---- curl multi <-> ev loop ---- */

static void client_on_socket(struct ev_loop *loop, int fd, uint32_t events, void *ctx)
{
	(void)loop;
	struct client *c = ctx;
	int flags = 0;
	if (events & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (events & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	client_action(c, fd, flags);
}

static int client_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	(void)socketp;
	struct client *c = userp;
	if (what == CURL_POLL_REMOVE) {
		/* mostly a keep-alive connection going idle between two requests: park it (no epoll_ctl
		 * now nor when the next request watches it again); client_close_socket removes it for
		 * good before curl closes it */
		ev_fd_park(c->loop, s);
		return 0;
	}
	/* the transfer's socket, for its receive timestamps (curl calls this with the transfer's handle
	 * whenever it starts to watch a socket for it, a reused connection included) */
	struct creq *r = NULL;
	if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r) == CURLE_OK && r)
		r->fd = (int)s;
	uint32_t ev = 0;
	if (what & CURL_POLL_IN)
		ev |= EV_READ;
	if (what & CURL_POLL_OUT)
		ev |= EV_WRITE;
	if (ev_fd_set(c->loop, s, ev, client_on_socket, c) < 0)
		log_warn("client: cannot watch socket %d: %s", (int)s, strerror(errno));
	return 0;
}

static void client_on_timer(struct ev_loop *loop, void *ctx)
{
	(void)loop;
	struct client *c = ctx;
	/* this timer has fired: forget it before curl possibly re-arms one (stale-timer busy loop) */
	c->timer_id = 0;
	c->timer_fires++;
	client_action(c, CURL_SOCKET_TIMEOUT, 0);
}

static int client_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	struct client *c = userp;
	/* Re-arming the loop's timer costs a timerfd_settime each time the earliest deadline moves:
	 * keep a pending timer that fires no later than curl asks (an early or unneeded expiry only
	 * makes curl re-check its timeouts and ask again). */
	if (timeout_ms < 0)
		return 0; /* the pending timer, if any, fires once more: harmless */
	int64_t want = clock_mono_ns() + (int64_t)timeout_ms * 1000000LL;
	if (c->timer_id && c->timer_deadline_ns <= want)
		return 0;
	if (c->timer_id)
		ev_timer_cancel(c->loop, c->timer_id);
	c->timer_id = ev_timer_at(c->loop, want, client_on_timer, c);
	c->timer_deadline_ns = want;
	return 0;
}

/* ---- creation ---- */

static bool client_is_ip_literal(const char *h)
{
	if (!h || !*h)
		return false;
	if (strchr(h, ':'))
		return true; /* IPv6 */
	for (const char *p = h; *p; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '.'))
			return false;
	return true;
}

/* Resolve the API host of the parsed URL u once and pin it (CURLOPT_RESOLVE) so that thousands of
 * handles starting at once do not each resolve it (DNS storms). Failure (or no u) just leaves
 * resolution to curl. */
static void client_preresolve(struct client *c, CURLU *u)
{
	char *host = NULL, *port = NULL;
	if (!u || curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	if (client_is_ip_literal(host) || host[0] == '[')
		goto out;
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		goto out;
	struct buf entry;
	buf_init(&entry);
	buf_printf(&entry, "%s:%s:", host, port);
	int n = 0;
	for (struct addrinfo *ai = res; ai && n < 8; ai = ai->ai_next) {
		char ip[NI_MAXHOST];
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, ip, sizeof ip, NULL, 0, NI_NUMERICHOST) != 0)
			continue;
		buf_printf(&entry, ai->ai_family == AF_INET6 ? "%s[%s]" : "%s%s", n ? "," : "", ip);
		n++;
	}
	freeaddrinfo(res);
	if (n)
		c->resolve = curl_slist_append(NULL, entry.data);
	buf_free(&entry);
out:
	curl_free(host);
	curl_free(port);
}

/* A request URL parsed once, as curl parses CURLOPT_URL, so that a transfer only copies it
 * (CURLOPT_CURLU) instead of parsing it again: 4-5 us of every dispatch on this project's VM
 * (bench/RESULTS.md). NULL when curl's parser refuses it. */
static CURLU *client_parse_url(const char *url)
{
	CURLU *u = curl_url();
	if (u && curl_url_set(u, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK)
		return u;
	if (u)
		curl_url_cleanup(u);
	return NULL;
}

static const char *client_env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

struct client *client_create(const struct cfg_client *cfg, struct ev_loop *loop, const struct tok *tok,
                             client_done_fn done, client_event_fn event, void *ctx, char *err, size_t err_len)
{
	client_global_init();
	const char *base = cfg->api_base && *cfg->api_base ? cfg->api_base : client_env("OPENAI_API_BASE");
	if (!base) {
		snprintf(err, err_len, "no API base: set client.api_base or OPENAI_API_BASE");
		return NULL;
	}
	if (!done || !loop || !tok) {
		snprintf(err, err_len, "client_create: loop, tokenizer and done callback are required");
		return NULL;
	}
	struct client *c = xcalloc(1, sizeof *c);
	c->rxstamp_fd = -1;
	sketch_init(&c->read_lag, 0.001);
	c->cfg = cfg;
	c->loop = loop;
	c->tok = tok;
	c->done = done;
	c->event = event;
	c->ctx = ctx;
	/* (clamped to ~10 years so that start + timeout cannot overflow) */
	int64_t timeout_s = cfg->request_timeout < CLIENT_TIMEOUT_MAX_S ? cfg->request_timeout : CLIENT_TIMEOUT_MAX_S;
	c->timeout_ns = timeout_s > 0 ? timeout_s * 1000000000LL : 0;
	/* 0 (a config built without defaults, e.g. in tests) means the documented default */
	c->max_resp_bytes = cfg->max_response_bytes > 0 ? (uint64_t)cfg->max_response_bytes : (uint64_t)64 << 20;
	if (oai_spec_init(&c->spec, cfg, err, err_len) < 0 || client_tls_resolve(cfg, &c->tls, err, err_len) < 0) {
		oai_spec_free(&c->spec);
		free(c);
		return NULL;
	}
	size_t bl = strlen(base);
	const char *slash = bl && base[bl - 1] == '/' ? "" : "/";
	struct wl_request probe;
	memset(&probe, 0, sizeof probe);
	probe.api_mode = WL_API_CHAT;
	c->url_chat = xasprintf("%s%s%s", base, slash, oai_path(cfg, &probe));
	probe.api_mode = WL_API_COMPLETIONS;
	c->url_completions = xasprintf("%s%s%s", base, slash, oai_path(cfg, &probe));
	const char *key = cfg->api_key && *cfg->api_key ? cfg->api_key : client_env("OPENAI_API_KEY");
	if (key)
		c->auth_header = xasprintf("Authorization: Bearer %s", key);
	c->uh_chat = client_parse_url(c->url_chat);
	c->uh_completions = client_parse_url(c->url_completions);
	client_preresolve(c, c->uh_chat);

	c->rxstamp_fd = client_rxstamp_hold();
	c->multi = curl_multi_init();
	if (!c->multi) {
		snprintf(err, err_len, "curl_multi_init failed");
		client_free(c);
		return NULL;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, client_socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, client_timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
	client_set_pool_size(c, 16);
	return c;
}

static void client_pool_set(struct client *c, size_t n)
{
	c->pool_size = n;
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)n);
}

void client_set_pool_size(struct client *c, size_t n)
{
	if (n > c->pool_floor)
		c->pool_floor = n;
	if (n > c->pool_size)
		client_pool_set(c, n);
}

/* The pool grows with the transfers in flight; after a burst it shrinks again to twice the peak of
 * the last second (curl then closes the oldest idle connections as they come back). Without that
 * a transient stall leaves thousands of idle connections that curl walks on every request
 * (connection lookup, handle removal), which made the client fall further behind for good. */
static void client_pool_policy(struct client *c)
{
	int64_t now = clock_mono_ns();
	if (now - c->win_start_ns < 1000000000LL)
		return;
	size_t target = 2 * c->win_peak;
	if (target < c->pool_floor)
		target = c->pool_floor;
	if (target < c->pool_size / 2)
		client_pool_set(c, target);
	c->win_peak = c->active.n;
	c->win_start_ns = now;
}

const char *client_url(const struct client *c, const struct wl_request *req)
{
	return oai_is_chat(c->cfg, req) ? c->url_chat : c->url_completions;
}

/* ---- submission ---- */

static char client_hdr_ctype[] = "Content-Type: application/json";
static char client_hdr_accept_sse[] = "Accept: text/event-stream";
static char client_hdr_accept_json[] = "Accept: application/json";
static char client_hdr_expect[] = "Expect:";

/* Every socket curl closes goes through here: drop it from the loop first (it may be parked, see
 * client_socket_cb), so that a new socket with the same number is registered afresh. */
static int client_close_socket(void *clientp, curl_socket_t s)
{
	struct client *c = clientp;
	ev_fd_del(c->loop, s);
	return close(s);
}

/* A new socket's number may be one that was closed while parked without passing through
 * client_close_socket (should curl ever close one another way): forget any such registration. */
static curl_socket_t client_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	(void)purpose;
	struct creq *r = clientp;
	curl_socket_t s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (s != CURL_SOCKET_BAD) {
		ev_fd_del(r->c->loop, s);
		client_rxstamp_enable(s);
	} else {
		r->sock_errno = errno; /* EMFILE: client_map_curl_error names the descriptor limit */
	}
	return s;
}

/* Options that are the same for every request, set once per easy handle (handles are reused
 * without curl_easy_reset, which would also make curl re-parse CURLOPT_RESOLVE every time). */
static void client_easy_setup(struct client *c, struct creq *r)
{
	const struct cfg_client *cfg = c->cfg;
	CURL *e = r->easy;
	memcpy(r->idh, "X-Request-Id: ", 15);
	struct curl_slist *h = r->hdr;
	h[0].data = client_hdr_ctype;
	h[1].data = cfg->stream ? client_hdr_accept_sse : client_hdr_accept_json;
	h[2].data = client_hdr_expect;
	h[3].data = r->idh;
	h[4].data = c->auth_header;
	for (int i = 0; i < 4; i++)
		h[i].next = &h[i + 1];
	h[3].next = c->auth_header ? &h[4] : NULL;
	h[4].next = NULL;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cfg->verify_tls ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cfg->verify_tls ? 2L : 0L);
	client_tls_apply(e, &c->tls);
	curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 3600L);
	if (c->resolve)
		curl_easy_setopt(e, CURLOPT_RESOLVE, c->resolve);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, client_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, client_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, client_close_socket);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, c);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, client_open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	if (getenv("VK_CURL_VERBOSE"))
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
	r->cur_url = NULL;
}

static struct creq *client_creq_get(struct client *c)
{
	/* A recycled slot keeps its easy handle without curl_easy_reset: the options set once in
	 * client_easy_setup stay; the per-request ones are set again in client_prepare. */
	struct creq *r = client_q_pop(&c->free_slots);
	if (!r) {
		r = xcalloc(1, sizeof *r);
		r->c = c;
		r->easy = curl_easy_init();
		if (!r->easy) {
			free(r);
			return NULL;
		}
		buf_init(&r->body);
		buf_init(&r->raw);
		buf_init(&r->reasoning);
		sse_init(&r->sse, client_on_sse, r);
		client_easy_setup(c, r);
	}
	buf_reset(&r->body);
	buf_reset(&r->raw);
	buf_reset(&r->reasoning);
	sse_reset(&r->sse);
	oai_memo_reset(&r->memo);
	r->n_segs = 0;
	r->headers_seen = r->is_sse = r->done_seen = r->finish_seen = r->deferred = false;
	r->status = 0;
	r->cb_t_ns = r->last_byte_ns = 0;
	r->fd = -1;
	r->usage_completion = r->usage_prompt = r->usage_reasoning = -1;
	r->cont_last = 0;
	r->cont_usage = false;
	r->err_kind = REC_OK;
	r->err_code = 0;
	r->err_msg[0] = '\0';
	r->coding[0] = '\0';
	r->resp_bytes = 0;
	r->sock_errno = 0;
	return r;
}

static void client_creq_destroy(struct creq *r)
{
	if (r->easy)
		curl_easy_cleanup(r->easy);
	buf_free(&r->body);
	buf_free(&r->raw);
	buf_free(&r->reasoning);
	sse_free(&r->sse);
	free(r->segs);
	free(r);
}

static int client_prepare(struct client *c, struct creq *r)
{
	const struct cfg_client *cfg = c->cfg;
	const struct wl_request *req = r->req;
	bool stream = cfg->stream;
	r->chat = oai_is_chat(cfg, req);
	if (oai_build_body(&c->spec, req, stream, &r->body, &r->max_tokens_sent) < 0)
		return -1;
	CURL *e = r->easy;
	/* "X-Request-Id: " + decimal id, written without printf */
	char tmp[24];
	int n = 0;
	unsigned long long id = (unsigned long long)req->id;
	do {
		tmp[n++] = (char)('0' + id % 10);
		id /= 10;
	} while (id);
	char *p = r->idh + 14;
	while (n)
		*p++ = tmp[--n];
	*p = '\0';
	const char *url = client_url(c, req);
	if (url != r->cur_url) {
		CURLU *uh = url == c->url_chat ? c->uh_chat : c->uh_completions;
		if (uh)
			curl_easy_setopt(e, CURLOPT_CURLU, uh);
		else
			curl_easy_setopt(e, CURLOPT_URL, url);
		r->cur_url = url;
	}
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body.data);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
	r->errbuf[0] = '\0';
	return 0;
}

static int client_start(struct client *c, struct creq *r)
{
	size_t n = c->active.n + 1;
	if (n > c->pool_size)
		client_pool_set(c, c->pool_size * 2 > n ? c->pool_size * 2 : n);
	if (n > c->win_peak)
		c->win_peak = n;
	/* curl's receive buffer (16 KB by default, one per easy handle) is most of a stream's memory:
	 * with many streams in flight each read carries a chunk or a few, so a small one does. Few
	 * streams keep the large one (fewer reads for fast, coalesced responses). Changing it frees
	 * the handle's buffer, so only when the wanted size differs. */
	long rbuf = c->active.n >= CLIENT_SMALL_RBUF_STREAMS ? CLIENT_SMALL_RBUF_BYTES : 0;
	if (rbuf != r->rbuf_bytes) {
		curl_easy_setopt(r->easy, CURLOPT_BUFFERSIZE, rbuf ? rbuf : (long)CURL_MAX_WRITE_SIZE);
		r->rbuf_bytes = rbuf;
	}
	r->rec->sent_ns = clock_mono_ns();
	CURLMcode mc = curl_multi_add_handle(c->multi, r->easy);
	if (mc != CURLM_OK) {
		log_warn("client: curl_multi_add_handle: %s", curl_multi_strerror(mc));
		return -1;
	}
	client_q_push(&c->active, r);
	client_arm_timeout(c);
	return 0;
}

/* Hand over finished transfers in completion order. */
static void client_flush_finished(struct client *c)
{
	struct creq *r;
	while ((r = client_q_pop(&c->fin)))
		client_complete(r, true, r->res, r->errbuf);
}

static void client_on_kick(struct ev_loop *loop, void *ctx)
{
	(void)loop;
	struct client *c = ctx;
	c->kick_id = 0;
	client_flush_finished(c);
	if (c->cancel_why) {
		char *why = c->cancel_why;
		c->cancel_why = NULL;
		client_cancel_all(c, why);
		free(why);
	}
	/* start requests submitted from inside curl callbacks */
	struct creq *r;
	while ((r = client_q_pop(&c->deferred))) {
		r->deferred = false;
		if (r->err_kind != REC_OK) {
			client_complete(r, false, CURLE_OK, NULL); /* failed before it could start */
			continue;
		}
		if (client_start(c, r) < 0) {
			client_fail(r, REC_ERR_CLIENT, REC_CODE_CLIENT, "Could not start the transfer");
			client_complete(r, false, CURLE_OK, NULL);
		}
	}
	client_action(c, CURL_SOCKET_TIMEOUT, 0);
}

static void client_want_kick(struct client *c)
{
	if (!c->kick_id)
		c->kick_id = ev_timer_at(c->loop, 0, client_on_kick, c);
}

static void client_defer(struct client *c, struct creq *r)
{
	r->deferred = true;
	client_q_push(&c->deferred, r);
	client_want_kick(c);
}

/* Size the per-chunk arrays (the record's chunks, the segment offsets) for the expected number of
 * chunks once, instead of doubling them while the stream runs (which leaves up to half of each
 * unused: ~8 KB per stream of 300 tokens). Larger outputs still grow on demand. */
static void client_reserve_chunks(struct creq *r, const struct wl_request *req)
{
	size_t want = req->target_output_tokens > 0 ? (size_t)req->target_output_tokens + 2 : 0;
	if (want > CLIENT_PREALLOC_CHUNKS_MAX)
		want = CLIENT_PREALLOC_CHUNKS_MAX;
	struct rec_record *rec = r->rec;
	if (rec->cap_chunks < want) {
		rec->chunks = xrealloc(rec->chunks, want * sizeof *rec->chunks);
		rec->cap_chunks = want;
	}
	if (r->cap_segs < want) {
		r->segs = xrealloc(r->segs, want * sizeof *r->segs);
		r->cap_segs = want;
	}
}

/* A record reused after a huge response does not keep its buffers. */
static void client_trim_record(struct rec_record *rec)
{
	if (rec->text_cap > CLIENT_KEEP_BYTES) {
		free(rec->text);
		rec->text = NULL;
		rec->text_len = rec->text_cap = 0;
	}
	if (rec->cap_chunks * sizeof *rec->chunks > CLIENT_KEEP_BYTES) {
		free(rec->chunks);
		rec->chunks = NULL;
		rec->n_chunks = rec->cap_chunks = 0;
	}
}

/* A scheduled dispatch's stamp is taken before its body is built and its transfer started, so
 * that work delays only a dispatch due right behind it. On a host whose idle CPU runs the next
 * dispatch slowly (docs/CLIENT.md, Dispatch spin) those back-to-back dispatches are most of the
 * lateness tail, so the body of the next scheduled request is built while the loop waits for it. */
/* Whether the slot prepared ahead is req's. The id first: the address is compared only for the
 * request that has that id, never for one that may have been freed since. */
static bool client_ahead_is(const struct client *c, const struct wl_request *req)
{
	return c->ahead && c->ahead_id == req->id && c->ahead_req == req;
}

void client_prepare_ahead(struct client *c, const struct wl_request *req)
{
	if (!c || !req || client_ahead_is(c, req))
		return;
	if (c->ahead) {
		c->ahead_replaced++;
		buf_reset(&c->ahead->body);
	} else {
		c->ahead = client_creq_get(c);
		if (!c->ahead)
			return;
	}
	struct creq *r = c->ahead;
	r->req = req;
	if (client_prepare(c, r) < 0) {
		/* left to client_submit, which reports it */
		c->ahead = NULL;
		client_recycle(c, r);
		return;
	}
	r->req = NULL;
	c->ahead_req = req;
	c->ahead_id = req->id;
}

/* The slot prepared ahead for req, or NULL (none, or prepared for another request). */
static struct creq *client_take_ahead(struct client *c, const struct wl_request *req)
{
	if (!client_ahead_is(c, req))
		return NULL;
	struct creq *r = c->ahead;
	c->ahead = NULL;
	c->ahead_req = NULL;
	c->ahead_used++;
	return r;
}

void client_ahead_stats(const struct client *c, uint64_t *used, uint64_t *replaced)
{
	*used = c->ahead_used;
	*replaced = c->ahead_replaced;
}

int client_submit(struct client *c, const struct wl_request *req, struct rec_record *rec)
{
	if (!c || !req || !rec)
		return -1;
	struct creq *r = client_take_ahead(c, req);
	bool prepared = r != NULL;
	if (!r)
		r = client_creq_get(c);
	if (!r)
		return -1;
	int64_t intended = rec->intended_ns, dispatched = rec->dispatched_ns;
	uint32_t total = rec->session_total_requests;
	client_trim_record(rec);
	rec_reset(rec);
	rec->intended_ns = intended;
	rec->dispatched_ns = dispatched;
	rec->session_total_requests = total;
	rec->request_id = req->id;
	rec->session_id = req->session_id;
	rec->node_id = req->node_id;
	rec->target_prompt_tokens = req->target_prompt_tokens;
	rec->requested_output_tokens = req->target_output_tokens;
	rec->is_stream = c->cfg->stream;
	r->req = req;
	r->rec = rec;
	client_reserve_chunks(r, req);
	if (!prepared && client_prepare(c, r) < 0) {
		/* reported through done, from the loop (never from inside client_submit) */
		client_fail(r, REC_ERR_CLIENT, REC_CODE_CLIENT, "Could not build the request body");
		client_defer(c, r);
		return 0;
	}
	if (c->in_action) {
		/* inside a curl callback (e.g. an event callback submitting the next request): curl does
		 * not allow re-entry, start it from the loop right after */
		client_defer(c, r);
		return 0;
	}
	if (client_start(c, r) < 0) {
		client_fail(r, REC_ERR_CLIENT, REC_CODE_CLIENT, "Could not start the transfer");
		client_defer(c, r);
		return 0;
	}
	/* drive it right away (connect or send on a pooled connection); completions found here are
	 * queued and handed over from the loop (client_check_info asks for a kick only then), never
	 * from inside client_submit */
	client_action(c, CURL_SOCKET_TIMEOUT, 0);
	return 0;
}

size_t client_in_flight(const struct client *c)
{
	return c->active.n + c->deferred.n + c->fin.n + c->counting.n;
}

uint64_t client_timer_fires(const struct client *c)
{
	return c->timer_fires;
}

const struct sketch *client_read_lag(const struct client *c)
{
	return &c->read_lag;
}

/* Cancels the slots of a detached chain (list_take_all); started ones leave curl first. */
static void client_cancel_list(struct client *c, struct list_node *chain, bool started, const char *msg)
{
	for (struct list_node *x = chain; x;) {
		struct list_node *next = x->next;
		struct creq *r = client_q_slot(x);
		if (started)
			curl_multi_remove_handle(c->multi, r->easy);
		x->prev = x->next = NULL;
		r->err_kind = REC_OK;
		client_fail(r, REC_ERR_CANCELLED, REC_CODE_CANCELLED, "%s", msg);
		client_complete(r, false, CURLE_OK, NULL);
		x = next;
	}
}

void client_cancel_all(struct client *c, const char *why)
{
	const char *msg = why && *why ? why : "Cancelled";
	if (c->in_action) {
		/* called from an event callback, i.e. inside curl: curl cannot remove handles now */
		if (!c->cancel_why)
			c->cancel_why = xstrdup(msg);
		client_want_kick(c);
		return;
	}
	/* transfers that already finished keep their real result */
	client_flush_finished(c);
	/* detach everything first: done callbacks may submit new requests */
	struct list_node *started = list_take_all(&c->active);
	struct list_node *waiting = list_take_all(&c->deferred);
	client_cancel_list(c, started, true, msg);
	client_cancel_list(c, waiting, false, msg);
	/* records waiting for server counts: counted ones keep them, the others are counted locally */
	client_tokcount_cancel_all(c->tc);
}

void client_free(struct client *c)
{
	if (!c)
		return;
	if (!list_empty(&c->active) || !list_empty(&c->deferred) || !list_empty(&c->fin) || !list_empty(&c->counting))
		client_cancel_all(c, "Client shut down");
	client_tokcount_free(c->tc);
	free(c->tc_w);
	free(c->tc_out);
	if (c->timer_id)
		ev_timer_cancel(c->loop, c->timer_id);
	if (c->kick_id)
		ev_timer_cancel(c->loop, c->kick_id);
	if (c->timeout_id)
		ev_timer_cancel(c->loop, c->timeout_id);
	if (c->ahead)
		client_creq_destroy(c->ahead);
	struct creq *r;
	while ((r = client_q_pop(&c->free_slots)))
		client_creq_destroy(r);
	if (c->multi)
		curl_multi_cleanup(c->multi); /* closes pooled connections (socket callback removes fds) */
	if (c->timer_id)
		ev_timer_cancel(c->loop, c->timer_id);
	curl_slist_free_all(c->resolve);
	free(c->cancel_why);
	free(c->url_chat);
	free(c->url_completions);
	if (c->uh_chat)
		curl_url_cleanup(c->uh_chat);
	if (c->uh_completions)
		curl_url_cleanup(c->uh_completions);
	free(c->auth_header);
	oai_spec_free(&c->spec);
	client_rxstamp_release(c->rxstamp_fd);
	sketch_free(&c->read_lag);
	free(c);
}

/* ---- file descriptors ---- */

size_t client_nofile_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return SIZE_MAX;
	return (size_t)rl.rlim_cur;
}

int client_raise_nofile(size_t wanted, char *msg, size_t msg_len)
{
	struct rlimit rl;
	if (msg_len)
		msg[0] = '\0';
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
		snprintf(msg, msg_len, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return -1;
	}
	rlim_t target = rl.rlim_max;
	if (target == RLIM_INFINITY)
		target = wanted > (size_t)1 << 20 ? (rlim_t)wanted : (rlim_t)1 << 20;
	if (rl.rlim_cur < target) {
		struct rlimit nl = {.rlim_cur = target, .rlim_max = rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &nl) == 0) {
			rl.rlim_cur = target;
		} else if ((rlim_t)wanted > rl.rlim_cur && (rlim_t)wanted < target) {
			/* e.g. an unlimited hard limit above fs.nr_open: ask for just what is needed */
			nl.rlim_cur = (rlim_t)wanted;
			if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
				rl.rlim_cur = (rlim_t)wanted;
		}
	}
	if ((size_t)rl.rlim_cur < wanted) {
		snprintf(msg, msg_len,
		         "open-file limit: this process may open %llu descriptors (hard limit %llu) but the "
		         "configured load needs about %zu; connections beyond the limit fail as 'Too many open "
		         "files' (error class connect). Raise it with `ulimit -n %zu` (above the hard limit: "
		         "/etc/security/limits.conf or LimitNOFILE) or lower the concurrency",
		         (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max, wanted, wanted);
		return 1;
	}
	return 0;
}
