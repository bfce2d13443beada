/* fault_server: a deliberately misbehaving OpenAI-style streaming server for the fault suite
 * (tests/e2e/test_fault_suite.sh, docs/FAILURES.md "Tests"). It covers what `veeksha sim-server`
 * cannot do: broken SSE, broken HTTP framing, endless or huge responses, resets, stalls and
 * slowloris. Single-threaded poll() loop on 127.0.0.1; a test tool, never installed.
 *
 *   fault_server --port P [--scenario NAME]
 *
 * The scenario of a request is the first path segment when it names one
 * (POST /only_done/v1/chat/completions), else --scenario (default "ok"), so one server can serve
 * every scenario through different client.api_base values. `--port 0` picks a free port. Ready
 * when it prints "fault_server: listening on 127.0.0.1:PORT" on stderr. SIGTERM ends it.
 *
 * Scenarios (all answer 200 unless noted; streams are chunked text/event-stream):
 *   ok               N content events, finish_reason "length", a usage event, [DONE] (baseline)
 *   garbage          lines that are not SSE at all, then a clean end
 *   bad_json         a content event, then events whose data is not JSON, then [DONE]
 *   no_done          content events, no finish_reason, no [DONE], clean end of the body
 *   only_done        just "data: [DONE]"
 *   bad_chunked      one valid chunk, then a chunk-size line that is not hex; connection closed
 *   truncated_chunk  a chunk announcing 1024 bytes that carries 30; connection closed
 *   endless          content events forever (bounded by the client's client.max_response_bytes)
 *   html             200 with Content-Type text/html and an HTML page (not SSE)
 *   big_event        one 10 MiB content event, then finish_reason, usage and [DONE]
 *   reset            head and 3 content events, then a reset (SO_LINGER 0 close)
 *   stall_head       reads the request, never answers (connection kept open)
 *   stall_body       head and one content event, then nothing (connection kept open)
 *   slowloris        the "ok" response trickled one byte every 20 ms
 *   joined_events    the "ok" events written without the blank line between them (one SSE event)
 *   error_type_event one content event, then "event: error" with data {"message":...}, then [DONE]
 *   after_done       the "ok" response with two more content events after its [DONE]
 *   gzip_coded       the "ok" response under "Content-Encoding: gzip" (bytes not compressed)
 *   two_choices      the events of two choices (index 0 and 1, as for n = 2), finish_reason, [DONE]
 *   bare_error       a JSON error object as the body of the event stream, without "data:"
 *   tool_calls       an answer made only of a tool call: its name, then N argument pieces, [DONE]
 *   json_ok          a non-streaming chat.completion with N words of content (baseline, stream: false)
 *   json_empty       a non-streaming chat.completion with empty content and finish_reason "stop"
 * Other paths: GET /health and GET .../models answer 200; any other request (e.g. the client's
 * POST /tokenize probe) gets a 404 at once.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, accept4 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FS_MAX_CONNS 256
#define FS_IN_MAX (1 << 20)
#define FS_BIG_EVENT_BYTES (10 * 1024 * 1024)
#define FS_TRICKLE_MS 20

enum fs_end { FS_END_KEEP, FS_END_CLOSE, FS_END_RESET, FS_END_HANG, FS_END_ENDLESS };

struct fs_conn {
	int fd;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	bool responding;      /* a response is being sent; input is ignored until it ends */
	enum fs_end end;      /* what happens once out is sent */
	bool trickle;         /* slowloris: one byte per FS_TRICKLE_MS */
	int64_t next_send_ms; /* trickle: when the next byte may go */
	uint64_t endless_seq; /* endless: events generated so far */
};

static const char *const fs_scenarios[] = {
    "ok",          "garbage",         "bad_json",         "no_done",    "only_done",
    "bad_chunked", "truncated_chunk", "endless",          "html",       "big_event",
    "reset",       "stall_head",      "stall_body",       "slowloris",  "json_ok",
    "json_empty",  "joined_events",   "error_type_event", "after_done", "gzip_coded",
    "two_choices", "bare_error",      "tool_calls",       NULL};

static int64_t fs_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fs_out_reserve(struct fs_conn *c, size_t more)
{
	if (c->out_len + more <= c->out_cap)
		return;
	size_t cap = c->out_cap ? c->out_cap : 4096;
	while (cap < c->out_len + more)
		cap *= 2;
	char *p = realloc(c->out, cap);
	if (!p) {
		fprintf(stderr, "fault_server: out of memory\n");
		exit(1);
	}
	c->out = p;
	c->out_cap = cap;
}

static void fs_out_put(struct fs_conn *c, const char *d, size_t n)
{
	fs_out_reserve(c, n);
	memcpy(c->out + c->out_len, d, n);
	c->out_len += n;
}

static void fs_out_str(struct fs_conn *c, const char *s)
{
	fs_out_put(c, s, strlen(s));
}

/* One chunk of a chunked body. */
static void fs_chunk(struct fs_conn *c, const char *d, size_t n)
{
	char h[32];
	int hl = snprintf(h, sizeof h, "%zx\r\n", n);
	fs_out_put(c, h, (size_t)hl);
	fs_out_put(c, d, n);
	fs_out_put(c, "\r\n", 2);
}

static void fs_chunk_str(struct fs_conn *c, const char *s)
{
	fs_chunk(c, s, strlen(s));
}

static void fs_sse_head(struct fs_conn *c)
{
	fs_out_str(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
	              "Transfer-Encoding: chunked\r\n\r\n");
}

/* A chat.completion.chunk event carrying `content` (NULL: none) and a finish_reason (NULL: null),
 * ending with the blank line (joined: without it, so that the next event's data line joins it). */
static void fs_event_as(struct fs_conn *c, const char *content, const char *finish, bool joined)
{
	char ev[512];
	if (content)
		snprintf(ev, sizeof ev,
		         "data: {\"id\":\"chatcmpl-fault\",\"object\":\"chat.completion.chunk\",\"created\":0,"
		         "\"model\":\"fault-model\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},"
		         "\"finish_reason\":%s%s%s}]}\n\n",
		         content, finish ? "\"" : "", finish ? finish : "null", finish ? "\"" : "");
	else
		snprintf(
		    ev, sizeof ev,
		    "data: {\"id\":\"chatcmpl-fault\",\"object\":\"chat.completion.chunk\",\"created\":0,"
		    "\"model\":\"fault-model\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"%s\"}]}\n\n",
		    finish ? finish : "stop");
	fs_chunk(c, ev, strlen(ev) - (joined ? 1 : 0));
}

static void fs_event(struct fs_conn *c, const char *content, const char *finish)
{
	fs_event_as(c, content, finish, false);
}

static void fs_usage_event(struct fs_conn *c, long prompt, long completion)
{
	char ev[256];
	snprintf(ev, sizeof ev,
	         "data: {\"id\":\"chatcmpl-fault\",\"object\":\"chat.completion.chunk\",\"created\":0,"
	         "\"model\":\"fault-model\",\"choices\":[],\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,"
	         "\"total_tokens\":%ld}}\n\n",
	         prompt, completion, prompt + completion);
	fs_chunk_str(c, ev);
}

static void fs_end_chunks(struct fs_conn *c)
{
	fs_out_str(c, "0\r\n\r\n");
}

/* The requested output length: max_completion_tokens / max_tokens in the body, else 8. */
static long fs_max_tokens(const char *body)
{
	static const char *const keys[] = {"\"max_completion_tokens\"", "\"max_tokens\"", NULL};
	for (int i = 0; keys[i]; i++) {
		const char *p = strstr(body, keys[i]);
		if (!p)
			continue;
		p = strchr(p + strlen(keys[i]), ':');
		if (!p)
			continue;
		long v = strtol(p + 1, NULL, 10);
		if (v > 0 && v < 100000)
			return v;
	}
	return 8;
}

static void fs_ok_body(struct fs_conn *c, long n)
{
	for (long i = 0; i < n; i++)
		fs_event(c, "tok ", i == n - 1 ? "length" : NULL);
	fs_usage_event(c, 4, n);
	fs_chunk_str(c, "data: [DONE]\n\n");
	fs_end_chunks(c);
}

static void fs_respond(struct fs_conn *c, const char *scenario, const char *body)
{
	long n = fs_max_tokens(body);
	c->responding = true;
	c->end = FS_END_KEEP;
	c->trickle = false;
	if (!strcmp(scenario, "ok") || !strcmp(scenario, "slowloris")) {
		fs_sse_head(c);
		fs_ok_body(c, n);
		if (!strcmp(scenario, "slowloris")) {
			c->trickle = true;
			c->next_send_ms = fs_now_ms();
		}
	} else if (!strcmp(scenario, "joined_events")) {
		fs_sse_head(c);
		for (long i = 0; i < n; i++) /* every event but the last without its blank line */
			fs_event_as(c, "tok ", i == n - 1 ? "length" : NULL, i < n - 1);
		fs_chunk_str(c, "data: [DONE]\n\n");
		fs_end_chunks(c);
	} else if (!strcmp(scenario, "error_type_event")) {
		fs_sse_head(c);
		fs_event(c, "tok ", NULL);
		fs_chunk_str(c, "event: error\ndata: {\"message\":\"fault_server: overloaded\",\"code\":503}\n\n");
		fs_chunk_str(c, "data: [DONE]\n\n");
		fs_end_chunks(c);
	} else if (!strcmp(scenario, "after_done")) {
		fs_sse_head(c);
		for (long i = 0; i < n; i++)
			fs_event(c, "tok ", i == n - 1 ? "length" : NULL);
		fs_chunk_str(c, "data: [DONE]\n\n");
		fs_event(c, "late ", NULL);
		fs_event(c, "late ", NULL);
		fs_end_chunks(c);
	} else if (!strcmp(scenario, "gzip_coded")) {
		fs_out_str(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n"
		              "Transfer-Encoding: chunked\r\n\r\n");
		fs_ok_body(c, n);
	} else if (!strcmp(scenario, "two_choices")) {
		fs_sse_head(c);
		for (long i = 0; i < n; i++)
			for (int k = 0; k < 2; k++) {
				char ev[256];
				snprintf(
				    ev, sizeof ev,
				    "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":%d,\"delta\":"
				    "{\"content\":\"tok \"},\"finish_reason\":%s}]}\n\n",
				    k, i == n - 1 ? "\"length\"" : "null");
				fs_chunk_str(c, ev);
			}
		fs_chunk_str(c, "data: [DONE]\n\n");
		fs_end_chunks(c);
	} else if (!strcmp(scenario, "bare_error")) {
		fs_sse_head(c);
		fs_chunk_str(c, "{\"object\":\"error\",\"message\":\"fault_server: bare error\",\"type\":"
		                "\"BadRequestError\",\"code\":400}\n");
		fs_end_chunks(c);
	} else if (!strcmp(scenario, "tool_calls")) {
		fs_sse_head(c);
		fs_chunk_str(c, "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,"
		                "\"tool_calls\":[{\"index\":0,\"id\":\"call_0\",\"type\":\"function\",\"function\":"
		                "{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n");
		for (long i = 0; i < n; i++)
			fs_chunk_str(c, "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
			                "\"function\":{\"arguments\":\"tok \"}}]},\"finish_reason\":null}]}\n\n");
		fs_chunk_str(c,
		             "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n");
		fs_chunk_str(c, "data: [DONE]\n\n");
		fs_end_chunks(c);
	} else if (!strcmp(scenario, "garbage")) {
		fs_sse_head(c);
		fs_chunk_str(c, "this is not an event stream\n");
		fs_chunk(c, "\x01\x02\xff\xfe garbage \x7f\n", 15);
		fs_chunk_str(c, "{\"choices\": \"not sse\"}\n\n");
		fs_chunk_str(c, "HTTP/1.1 200 OK\n\n");
		fs_end_chunks(c);
	} else if (!strcmp(scenario, "bad_json")) {
		fs_sse_head(c);
		fs_event(c, "tok ", NULL);
		fs_chunk_str(c, "data: {\"choices\":[{\"delta\":{\"content\":\"tok \"\n\n");
		fs_chunk_str(c, "data: this is not json\n\n");
		fs_chunk_str(c, "data: [DONE]\n\n");
		fs_end_chunks(c);
	} else if (!strcmp(scenario, "no_done")) {
		fs_sse_head(c);
		for (long i = 0; i < n / 2 + 1; i++)
			fs_event(c, "tok ", NULL);
		fs_end_chunks(c);
	} else if (!strcmp(scenario, "only_done")) {
		fs_sse_head(c);
		fs_chunk_str(c, "data: [DONE]\n\n");
		fs_end_chunks(c);
	} else if (!strcmp(scenario, "bad_chunked")) {
		fs_sse_head(c);
		fs_event(c, "tok ", NULL);
		fs_out_str(c, "zzzz\r\ndata: {}\r\n");
		c->end = FS_END_CLOSE;
	} else if (!strcmp(scenario, "truncated_chunk")) {
		fs_sse_head(c);
		fs_event(c, "tok ", NULL);
		fs_out_str(c, "400\r\ndata: {\"choices\":[{\"delta\":");
		c->end = FS_END_CLOSE;
	} else if (!strcmp(scenario, "endless")) {
		fs_sse_head(c);
		c->end = FS_END_ENDLESS;
	} else if (!strcmp(scenario, "html")) {
		static const char page[] = "<!DOCTYPE html><html><head><title>Welcome</title></head>"
		                           "<body><h1>It works!</h1><p>This is not an API.</p></body></html>\n";
		char head[256];
		snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %zu\r\n\r\n",
		         sizeof page - 1);
		fs_out_str(c, head);
		fs_out_str(c, page);
	} else if (!strcmp(scenario, "big_event")) {
		fs_sse_head(c);
		static const char pre[] = "data: {\"id\":\"chatcmpl-fault\",\"object\":\"chat.completion.chunk\","
		                          "\"created\":0,\"model\":\"fault-model\",\"choices\":[{\"index\":0,"
		                          "\"delta\":{\"content\":\"";
		static const char post[] = "\"},\"finish_reason\":null}]}\n\n";
		size_t len = sizeof pre - 1 + FS_BIG_EVENT_BYTES + sizeof post - 1;
		char h[32];
		int hl = snprintf(h, sizeof h, "%zx\r\n", len);
		fs_out_put(c, h, (size_t)hl);
		fs_out_put(c, pre, sizeof pre - 1);
		fs_out_reserve(c, FS_BIG_EVENT_BYTES);
		for (size_t i = 0; i < FS_BIG_EVENT_BYTES; i++)
			c->out[c->out_len + i] = (i % 8 == 7) ? ' ' : 'x';
		c->out_len += FS_BIG_EVENT_BYTES;
		fs_out_put(c, post, sizeof post - 1);
		fs_out_put(c, "\r\n", 2);
		fs_event(c, NULL, "length");
		fs_usage_event(c, 4, n);
		fs_chunk_str(c, "data: [DONE]\n\n");
		fs_end_chunks(c);
	} else if (!strcmp(scenario, "reset")) {
		fs_sse_head(c);
		for (int i = 0; i < 3; i++)
			fs_event(c, "tok ", NULL);
		c->end = FS_END_RESET;
	} else if (!strcmp(scenario, "json_ok") || !strcmp(scenario, "json_empty")) {
		bool empty = !strcmp(scenario, "json_empty");
		long words = empty ? 0 : n;
		char *content = malloc((size_t)words * 4 + 1);
		if (!content)
			exit(1);
		for (long i = 0; i < words; i++)
			memcpy(content + i * 4, "tok ", 4);
		content[words * 4] = 0;
		size_t blen = (size_t)words * 4 + 512;
		char *b = malloc(blen);
		if (!b)
			exit(1);
		int bl = snprintf(
		    b, blen,
		    "{\"id\":\"chatcmpl-fault\",\"object\":\"chat.completion\",\"created\":0,\"model\":"
		    "\"fault-model\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
		    "\"%s\"},\"finish_reason\":\"%s\"}],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":%ld,"
		    "\"total_tokens\":%ld}}",
		    content, empty ? "stop" : "length", words, words + 4);
		char head[160];
		snprintf(head, sizeof head,
		         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", bl);
		fs_out_str(c, head);
		fs_out_put(c, b, (size_t)bl);
		free(b);
		free(content);
	} else if (!strcmp(scenario, "stall_head")) {
		c->end = FS_END_HANG;
	} else if (!strcmp(scenario, "stall_body")) {
		fs_sse_head(c);
		fs_event(c, "tok ", NULL);
		c->end = FS_END_HANG;
	} else {
		static const char nf[] =
		    "{\"error\":{\"message\":\"fault_server: no such endpoint or scenario\",\"code\":404}}";
		char head[160];
		snprintf(head, sizeof head,
		         "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		         sizeof nf - 1);
		fs_out_str(c, head);
		fs_out_str(c, nf);
	}
}

/* GET /health and /v1/models answer like a healthy server (a managed-server probe or curl). */
static void fs_respond_plain(struct fs_conn *c, const char *json)
{
	char head[160];
	snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	         strlen(json));
	fs_out_str(c, head);
	fs_out_str(c, json);
	c->responding = true;
	c->end = FS_END_KEEP;
	c->trickle = false;
}

static bool fs_known(const char *name, size_t len)
{
	for (int i = 0; fs_scenarios[i]; i++)
		if (strlen(fs_scenarios[i]) == len && !strncmp(fs_scenarios[i], name, len))
			return true;
	return false;
}

/* Only generation requests get the scenario: .../completions (chat or legacy), before any '?'. */
static bool fs_is_generation(const char *path)
{
	size_t len = strcspn(path, " ?");
	static const char suffix[] = "/completions";
	return len >= sizeof suffix - 1 && !strncmp(path + len - (sizeof suffix - 1), suffix, sizeof suffix - 1);
}

/* A complete request in c->in? Then answer it and drop it from the input. */
static void fs_try_request(struct fs_conn *c, const char *default_scenario)
{
	if (c->responding)
		return;
	char *eoh = memmem(c->in, c->in_len, "\r\n\r\n", 4);
	if (!eoh)
		return;
	size_t head_len = (size_t)(eoh - c->in) + 4;
	size_t body_len = 0;
	for (char *p = c->in; p < eoh;) {
		char *nl = memmem(p, (size_t)(eoh - p), "\r\n", 2);
		char *line_end = nl ? nl : eoh;
		if ((size_t)(line_end - p) > 15 && !strncasecmp(p, "Content-Length:", 15))
			body_len = strtoul(p + 15, NULL, 10);
		p = nl ? nl + 2 : eoh;
	}
	if (c->in_len < head_len + body_len)
		return;
	char *body = malloc(body_len + 1);
	if (!body)
		exit(1);
	memcpy(body, c->in + head_len, body_len);
	body[body_len] = 0;
	/* request line: METHOD SP PATH SP VERSION */
	char scenario[64];
	snprintf(scenario, sizeof scenario, "%s", default_scenario);
	const char *sp = memchr(c->in, ' ', head_len);
	bool is_get = !strncmp(c->in, "GET ", 4);
	const char *path = sp ? sp + 1 : "/";
	if (path[0] == '/') {
		const char *seg = path + 1;
		size_t len = strcspn(seg, "/ ?");
		if (fs_known(seg, len) && len < sizeof scenario) {
			memcpy(scenario, seg, len);
			scenario[len] = 0;
		}
	}
	memmove(c->in, c->in + head_len + body_len, c->in_len - head_len - body_len);
	c->in_len -= head_len + body_len;
	if (is_get && strstr(path, "/health") == path)
		fs_respond_plain(c, "{}");
	else if (is_get && strstr(path, "/models"))
		fs_respond_plain(c, "{\"object\":\"list\",\"data\":[{\"id\":\"fault-model\",\"object\":\"model\"}]}");
	else if (fs_is_generation(path))
		fs_respond(c, scenario, body);
	else /* e.g. the client's POST /tokenize probe: a fast 404, never the scenario */
		fs_respond(c, "not_found", body);
	free(body);
}

static void fs_close(struct fs_conn *c, bool reset)
{
	if (reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	}
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

/* Refill an endless stream's output with a batch of content events. */
static void fs_endless_refill(struct fs_conn *c)
{
	for (int i = 0; i < 64; i++, c->endless_seq++)
		fs_event(c, "endless ", NULL);
}

/* Send what may be sent now. Returns false when the connection was closed. */
static bool fs_write(struct fs_conn *c)
{
	for (;;) {
		if (c->out_off == c->out_len) {
			c->out_off = c->out_len = 0;
			if (!c->responding)
				return true;
			switch (c->end) {
			case FS_END_ENDLESS:
				fs_endless_refill(c);
				break;
			case FS_END_KEEP:
				c->responding = false;
				return true;
			case FS_END_CLOSE:
				fs_close(c, false);
				return false;
			case FS_END_RESET:
				fs_close(c, true);
				return false;
			case FS_END_HANG:
				return true;
			}
		}
		size_t n = c->out_len - c->out_off;
		if (c->trickle) {
			if (fs_now_ms() < c->next_send_ms)
				return true;
			n = 1;
		}
		ssize_t w = send(c->fd, c->out + c->out_off, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			fs_close(c, false);
			return false;
		}
		c->out_off += (size_t)w;
		if (c->trickle) {
			c->next_send_ms = fs_now_ms() + FS_TRICKLE_MS;
			return true;
		}
	}
}

static void fs_usage(void)
{
	fprintf(stderr, "usage: fault_server --port P [--scenario NAME]\nscenarios:");
	for (int i = 0; fs_scenarios[i]; i++)
		fprintf(stderr, " %s", fs_scenarios[i]);
	fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
	int port = -1;
	const char *scenario = "ok";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			port = *end || v < 0 || v > 65535 ? -1 : (int)v;
		} else if (!strcmp(argv[i], "--scenario") && i + 1 < argc)
			scenario = argv[++i];
		else {
			fs_usage();
			return 2;
		}
	}
	if (port < 0 || port > 65535 || !fs_known(scenario, strlen(scenario))) {
		fs_usage();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 128) < 0) {
		fprintf(stderr, "fault_server: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
		return 1;
	}
	socklen_t sl = sizeof sa;
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	fprintf(stderr, "fault_server: listening on 127.0.0.1:%d (default scenario %s)\n", ntohs(sa.sin_port),
	        scenario);
	fflush(stderr);

	static struct fs_conn conns[FS_MAX_CONNS];
	for (int i = 0; i < FS_MAX_CONNS; i++)
		conns[i].fd = -1;
	struct pollfd pfds[FS_MAX_CONNS + 1];
	int idx[FS_MAX_CONNS + 1];
	for (;;) {
		int np = 0, timeout_ms = -1;
		pfds[np] = (struct pollfd){.fd = lfd, .events = POLLIN};
		idx[np++] = -1;
		int64_t now = fs_now_ms();
		for (int i = 0; i < FS_MAX_CONNS; i++) {
			struct fs_conn *c = &conns[i];
			if (c->fd < 0)
				continue;
			short ev = POLLIN;
			bool more = c->out_off < c->out_len || (c->responding && c->end == FS_END_ENDLESS);
			if (more && c->trickle) {
				int64_t d = c->next_send_ms - now;
				int t = d < 0 ? 0 : (int)d;
				if (timeout_ms < 0 || t < timeout_ms)
					timeout_ms = t;
				if (d <= 0)
					ev |= POLLOUT;
			} else if (more) {
				ev |= POLLOUT;
			}
			pfds[np] = (struct pollfd){.fd = c->fd, .events = ev};
			idx[np++] = i;
		}
		int n = poll(pfds, (nfds_t)np, timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("fault_server: poll");
			return 1;
		}
		for (int k = 0; k < np; k++) {
			if (idx[k] < 0) {
				if (!(pfds[k].revents & POLLIN))
					continue;
				for (;;) {
					int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					int slot = -1;
					for (int i = 0; i < FS_MAX_CONNS && slot < 0; i++)
						if (conns[i].fd < 0)
							slot = i;
					if (slot < 0) {
						close(fd);
						continue;
					}
					conns[slot].fd = fd;
				}
				continue;
			}
			struct fs_conn *c = &conns[idx[k]];
			if (c->fd < 0 || c->fd != pfds[k].fd)
				continue;
			if (pfds[k].revents & (POLLIN | POLLHUP | POLLERR)) {
				char buf[65536];
				ssize_t r = recv(c->fd, buf, sizeof buf, 0);
				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
					fs_close(c, false);
					continue;
				}
				if (r > 0) {
					if (c->in_len + (size_t)r > FS_IN_MAX) {
						fs_close(c, false);
						continue;
					}
					char *p = realloc(c->in, c->in_len + (size_t)r + 1);
					if (!p)
						exit(1);
					c->in = p;
					memcpy(c->in + c->in_len, buf, (size_t)r);
					c->in_len += (size_t)r;
					c->in[c->in_len] = 0;
				}
			}
			if (c->in_len)
				fs_try_request(c, scenario);
			if (!fs_write(c))
				continue;
			if (!c->responding && c->in_len)
				fs_try_request(c, scenario);
		}
	}
}
