/* Tiny canned-response HTTP server for client tests (see httpd.h). */
#include "httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef HTTPD_TLS
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#endif

#define HTTPD_MAX_REQ 256
#define HTTPD_MAX_CONN 128

struct httpd {
	int lfd;
	int port;
	atomic_bool stop;
	pthread_t acceptor;
	pthread_mutex_t mu;
	struct httpd_req *reqs;
	size_t n_reqs;
	int n_conns;
	pthread_t conn_threads[HTTPD_MAX_CONN];
	int n_threads;
	void *ssl_ctx; /* SSL_CTX * in TLS mode */
};

struct conn {
	struct httpd *h;
	int fd;
	void *ssl; /* SSL * in TLS mode */
};

static __thread struct conn *cur_conn;

static void ms_sleep(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int send_all(int fd, const char *p, size_t n)
{
#ifdef HTTPD_TLS
	if (cur_conn && cur_conn->ssl) {
		while (n) {
			int w = SSL_write(cur_conn->ssl, p, (int)n);
			if (w <= 0)
				return -1;
			p += w;
			n -= (size_t)w;
		}
		return 0;
	}
#endif
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_str(int fd, const char *s)
{
	return send_all(fd, s, strlen(s));
}

static int send_chunk(int fd, const char *s)
{
	char hdr[32];
	snprintf(hdr, sizeof hdr, "%zx\r\n", strlen(s));
	if (send_str(fd, hdr) || send_str(fd, s) || send_str(fd, "\r\n"))
		return -1;
	return 0;
}

static int send_event(int fd, const char *json)
{
	char b[2048];
	snprintf(b, sizeof b, "data: %s\n\n", json);
	return send_chunk(fd, b);
}

/* Read with a bounded wait: >0 bytes, 0 = closed, -1 = error, -2 = timeout. */
static ssize_t conn_read(struct conn *cn, char *b, size_t n, int timeout_ms)
{
#ifdef HTTPD_TLS
	if (cn->ssl && SSL_pending(cn->ssl) > 0) {
		int r = SSL_read(cn->ssl, b, (int)n);
		return r > 0 ? r : -1;
	}
#endif
	struct pollfd p = {.fd = cn->fd, .events = POLLIN};
	int pr = poll(&p, 1, timeout_ms);
	if (pr == 0)
		return -2;
	if (pr < 0)
		return -1;
#ifdef HTTPD_TLS
	if (cn->ssl) {
		int r = SSL_read(cn->ssl, b, (int)n);
		if (r > 0)
			return r;
		int e = SSL_get_error(cn->ssl, r);
		return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	}
#endif
	return recv(cn->fd, b, n, 0);
}

static const char SSE_HDR[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                              "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n";

static int send_json(int fd, int status, const char *reason, const char *ctype, const char *body)
{
	char hdr[256];
	snprintf(hdr, sizeof hdr, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", status, reason,
	         ctype, strlen(body));
	if (send_str(fd, hdr))
		return -1;
	return send_str(fd, body);
}

/* Returns 1 to keep the connection, 0 to close it normally, -1 to abort (RST). */
static int respond(int fd, const char *scenario, const char *body)
{
	bool usage = strstr(body, "\"include_usage\":true") != NULL;
	if (!strcmp(scenario, "sse_abort")) {
		/* one token, then the server gives up on the request (vLLM's and SGLang's "abort") */
		send_str(fd, SSE_HDR);
		send_event(fd,
		           "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}");
		send_event(fd, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"abort\"}]}");
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "sse_usage_zero") || !strcmp(scenario, "sse_usage_huge")) {
		/* two content events, then a usage that says no token (a billion tokens) was generated */
		send_str(fd, SSE_HDR);
		send_event(fd,
		           "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}");
		send_event(
		    fd, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"},\"finish_reason\":\"stop\"}]}");
		send_event(fd,
		           !strcmp(scenario, "sse_usage_zero")
		               ? "{\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":0}}"
		               : "{\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":1000000000}}");
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "sse") || !strcmp(scenario, "sse_nousage") || !strcmp(scenario, "sse_gap")) {
		if (send_str(fd, SSE_HDR))
			return 0;
		send_event(fd, "{\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},"
		               "\"finish_reason\":null}]}");
		send_event(fd,
		           "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}");
		if (!strcmp(scenario, "sse_gap"))
			ms_sleep(50);
		send_event(fd,
		           "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"},\"finish_reason\":null}]}");
		send_event(fd, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}");
		if (usage && strcmp(scenario, "sse_nousage") != 0)
			send_event(fd, "{\"choices\":[],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":3,"
			               "\"total_tokens\":14}}");
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "sse_reason") || !strcmp(scenario, "sse_reason_nousage")) {
		/* a reasoning model: two reasoning deltas (vLLM's reasoning_content, gpt-oss' reasoning),
		 * a pause, then the answer; usage with completion_tokens_details.reasoning_tokens */
		send_str(fd, SSE_HDR);
		send_event(fd, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
		               "\"finish_reason\":null}]}");
		send_event(fd, "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"one two\"},"
		               "\"finish_reason\":null}]}");
		ms_sleep(20);
		send_event(fd,
		           "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\" three\"},\"finish_reason\":null}]}");
		ms_sleep(30);
		send_event(fd,
		           "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi there\"},\"finish_reason\":null}]}");
		send_event(
		    fd, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\" friend\"},\"finish_reason\":\"stop\"}]}");
		if (usage && !strcmp(scenario, "sse_reason"))
			send_event(fd, "{\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":9,"
			               "\"total_tokens\":13,\"completion_tokens_details\":{\"reasoning_tokens\":5}}}");
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "sse_two_choices")) {
		/* n = 2: each choice streams its own events, told apart by their index */
		send_str(fd, SSE_HDR);
		send_event(fd,
		           "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}");
		send_event(fd, "{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"Bye\"},\"finish_reason\":null}]}");
		send_event(fd, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}");
		send_event(fd, "{\"choices\":[{\"index\":1,\"delta\":{},\"finish_reason\":\"stop\"}]}");
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "json_two_choices")) {
		send_json(fd, 200, "OK", "application/json",
		          "{\"id\":\"c\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
		          "\"content\":\"Hello world\"},\"finish_reason\":\"stop\"},{\"index\":1,\"message\":"
		          "{\"role\":\"assistant\",\"content\":\"Bye\"},\"finish_reason\":\"stop\"}]}");
		return 1;
	}
	if (!strcmp(scenario, "sse_tools")) {
		/* an answer made only of a tool call (OpenAI's stream): the name first, with empty arguments,
		 * then the argument text in pieces (with escapes), finish_reason "tool_calls", no content */
		send_str(fd, SSE_HDR);
		send_event(fd, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,"
		               "\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":"
		               "{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}");
		send_event(fd, "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
		               "{\"arguments\":\"{\\\"city\\\":\"}}]},\"finish_reason\":null}]}");
		send_event(fd, "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
		               "{\"arguments\":\" Paris}\"}}]},\"finish_reason\":null}]}");
		send_event(fd, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}");
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "json_tools")) {
		/* non-streamed: two parallel tool calls, no content */
		send_json(
		    fd, 200, "OK", "application/json",
		    "{\"id\":\"c\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
		    "\"tool_calls\":[{\"id\":\"a\",\"type\":\"function\",\"function\":{\"name\":\"f\","
		    "\"arguments\":\"{\\\"x\\\": 1}\"}},{\"id\":\"b\",\"type\":\"function\",\"function\":"
		    "{\"name\":\"g\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}");
		return 1;
	}
	if (!strcmp(scenario, "sse_bare_error") || !strcmp(scenario, "sse_bare_vllm") ||
	    !strcmp(scenario, "sse_bare_chunk")) {
		/* a 200 event stream whose body is a JSON object without "data:" (an error, pretty-printed
		 * vLLM-style with a [DONE] after it, or a completion chunk) */
		send_str(fd, SSE_HDR);
		if (!strcmp(scenario, "sse_bare_error"))
			send_chunk(fd, "{\"error\":{\"message\":\"model not loaded\",\"code\":503}}\n");
		else if (!strcmp(scenario, "sse_bare_vllm"))
			send_chunk(fd, "{\n  \"object\": \"error\",\n  \"message\": \"max_tokens is too large\",\n"
			               "  \"type\": \"BadRequestError\",\n  \"code\": 400\n}\n\ndata: [DONE]\n\n");
		else
			send_chunk(
			    fd, "{\"choices\":[{\"delta\":{\"content\":\"Hello\"},\"finish_reason\":\"stop\"}]}\n\n");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "sse_nul")) {
		/* content with an escaped NUL in the middle, no usage */
		send_str(fd, SSE_HDR);
		send_event(fd, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"one\\u0000 two three\"},"
		               "\"finish_reason\":\"stop\"}]}");
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "json_nochoices")) {
		/* a 200 JSON answer that is no completion (another route, a proxy's status page) */
		send_json(fd, 200, "OK", "application/json", "{\"status\":\"ok\",\"model\":\"test-model\"}");
		return 1;
	}
	if (!strcmp(scenario, "json_reason")) {
		/* non-streamed: reasoning next to the answer, usage without the reasoning part */
		send_json(fd, 200, "OK", "application/json",
		          "{\"id\":\"c\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
		          "\"reasoning_content\":\"x y z\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}],"
		          "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}");
		return 1;
	}
	if (!strcmp(scenario, "sse_cont")) {
		send_str(fd, SSE_HDR);
		send_event(fd, "{\"choices\":[{\"delta\":{\"content\":\"a b\"}}],\"usage\":{\"prompt_tokens\":4,"
		               "\"completion_tokens\":2}}");
		send_event(fd, "{\"choices\":[{\"delta\":{\"content\":\" c d e\"},\"finish_reason\":\"length\"}],"
		               "\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":5}}");
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "cmpl")) {
		send_str(fd, SSE_HDR);
		send_event(fd, "{\"choices\":[{\"index\":0,\"text\":\"foo\",\"finish_reason\":null}]}");
		send_event(fd, "{\"choices\":[{\"index\":0,\"text\":\" bar\",\"finish_reason\":\"length\"}]}");
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "json")) {
		send_json(fd, 200, "OK", "application/json",
		          "{\"id\":\"c\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
		          "\"content\":\"Hello world\"},\"finish_reason\":\"stop\"}],"
		          "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":7}}");
		return 1;
	}
	if (!strcmp(scenario, "empty")) {
		send_str(fd, SSE_HDR);
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "json_empty")) {
		/* 200 with a well-formed body that carries no content */
		send_json(fd, 200, "OK", "application/json",
		          "{\"id\":\"c\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
		          "\"content\":\"\"},\"finish_reason\":\"stop\"}]}");
		return 1;
	}
	if (!strcmp(scenario, "json_blank")) {
		send_json(fd, 200, "OK", "application/json", "");
		return 1;
	}
	if (!strcmp(scenario, "badchunk")) {
		/* a chunk size that is not hexadecimal */
		send_str(fd, SSE_HDR);
		send_event(fd, "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}");
		send_str(fd, "zz\r\ndata: x\r\n");
		ms_sleep(20);
		return 0;
	}
	if (!strcmp(scenario, "nostatus")) {
		/* no HTTP status line at all */
		send_str(fd, "hello, this is not HTTP\r\n\r\n");
		return 0;
	}
	if (!strcmp(scenario, "endless")) {
		/* content events until the client goes away (bounded: 256 MiB or 20 s) */
		if (send_str(fd, SSE_HDR))
			return 0;
		static const char ev[] = "{\"choices\":[{\"delta\":{\"content\":\"endless endless endless "
		                         "endless endless endless endless endless endless endless\"}}]}";
		struct timespec t0, t;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (size_t sent = 0; sent < ((size_t)256 << 20); sent += sizeof ev) {
			if (send_event(fd, ev))
				break;
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > 20)
				break;
		}
		return 0;
	}
	if (!strcmp(scenario, "http500")) {
		send_json(fd, 500, "Internal Server Error", "application/json",
		          "{\"error\":{\"message\":\"internal boom\",\"type\":\"server_error\",\"code\":500}}");
		return 1;
	}
	if (!strcmp(scenario, "http503cut")) {
		/* error status whose body is cut short by a close */
		send_str(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
		             "Content-Length: 100\r\n\r\noverloaded");
		return 0;
	}
	if (!strcmp(scenario, "http500big")) {
		/* an error status with a 2 MiB body */
		send_str(fd, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
		             "Content-Length: 2097152\r\n\r\n");
		static char junk[65536];
		memset(junk, 'e', sizeof junk);
		for (int i = 0; i < 32; i++)
			if (send_all(fd, junk, sizeof junk))
				break;
		return 0;
	}
	if (!strcmp(scenario, "http404")) {
		send_json(fd, 404, "Not Found", "text/plain", "no such route\n");
		return 1;
	}
	if (!strcmp(scenario, "midstream") || !strcmp(scenario, "midstr_nocode")) {
		send_str(fd, SSE_HDR);
		send_event(fd, "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}");
		if (!strcmp(scenario, "midstream"))
			send_event(fd, "{\"error\":{\"message\":\"engine died\",\"code\":503}}");
		else
			send_event(fd, "{\"error\":{\"message\":\"bad thing\",\"code\":\"oops\"}}");
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "malformed")) {
		send_str(fd, SSE_HDR);
		send_chunk(fd, "data: {not json\n\n");
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "event_error")) {
		/* one token, an SSE event of type error whose data has no "error" member, then [DONE] */
		send_str(fd, SSE_HDR);
		send_event(fd, "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}");
		send_chunk(fd, "event: error\ndata: {\"message\":\"overloaded\",\"code\":503}\n\n");
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "after_done") || !strcmp(scenario, "two_done")) {
		/* a complete answer, [DONE], then another content event (or a second [DONE]) */
		send_str(fd, SSE_HDR);
		send_event(fd, "{\"choices\":[{\"delta\":{\"content\":\"Hello\"},\"finish_reason\":\"stop\"}]}");
		send_event(fd, "[DONE]");
		send_event(fd, !strcmp(scenario, "two_done") ? "[DONE]"
		                                             : "{\"choices\":[{\"delta\":{\"content\":\" world\"}}]}");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "gzip_coded")) {
		/* a body declared gzip-coded, which the client never asked for (it sends no Accept-Encoding) */
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n"
		             "Transfer-Encoding: chunked\r\n\r\n");
		send_event(fd, "{\"choices\":[{\"delta\":{\"content\":\"Hello\"},\"finish_reason\":\"stop\"}]}");
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "llama_error")) {
		/* llama.cpp: one token, then its streamed error as an "error:" field, and the end */
		send_str(fd, SSE_HDR);
		send_event(fd, "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}");
		send_chunk(fd, "error: {\"code\":500,\"message\":\"llama boom\",\"type\":\"server_error\"}\n\n");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "joined")) {
		/* two events without the blank line between them: one event of two data lines */
		send_str(fd, SSE_HDR);
		send_chunk(fd,
		           "data: {\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}\n"
		           "data: {\"choices\":[{\"delta\":{\"content\":\" world\"},\"finish_reason\":\"stop\"}]}\n\n");
		send_event(fd, "[DONE]");
		send_str(fd, "0\r\n\r\n");
		return 1;
	}
	if (!strcmp(scenario, "ndjson")) {
		/* JSON lines instead of SSE: one chunk object per line */
		send_json(fd, 200, "OK", "application/x-ndjson",
		          "{\"choices\":[{\"delta\":{\"content\":\"Hello\"}}]}\n"
		          "{\"choices\":[{\"delta\":{\"content\":\" world\"},\"finish_reason\":\"stop\"}]}\n");
		return 1;
	}
	if (!strcmp(scenario, "reset")) {
		send_str(fd, SSE_HDR);
		send_event(fd, "{\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}");
		ms_sleep(20);
		return -1;
	}
	if (!strcmp(scenario, "eof_empty_finish")) {
		/* close-delimited, every event with finish_reason "" (not null), no [DONE]: cut short */
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
		send_str(fd, "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":\"\"}]}\n\n");
		return 0;
	}
	if (!strcmp(scenario, "eof")) {
		send_str(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
		send_str(fd, "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n");
		return 0;
	}
	if (!strcmp(scenario, "tok") || !strcmp(scenario, "tok_nocount")) {
		/* vLLM-style /tokenize: "count" = bytes of the (unescaped ASCII) "prompt" string */
		const char *p = strstr(body, "\"prompt\":\"");
		size_t n = 0;
		if (p) {
			p += 10;
			while (p[n] && p[n] != '"')
				n++;
		}
		char out[128];
		if (!strcmp(scenario, "tok"))
			snprintf(out, sizeof out, "{\"count\":%zu,\"max_model_len\":8192,\"tokens\":[]}", n);
		else
			snprintf(out, sizeof out, "{\"tokens\":[]}");
		send_json(fd, p ? 200 : 400, p ? "OK" : "Bad Request", "application/json", out);
		return 1;
	}
	if (!strcmp(scenario, "slow")) {
		send_str(fd, SSE_HDR);
		/* wait (bounded) until the client closes */
		for (int i = 0; i < 100; i++) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			if (poll(&p, 1, 100) > 0) {
				char b[256];
				if (recv(fd, b, sizeof b, 0) <= 0)
					break;
			}
		}
		return 0;
	}
	send_json(fd, 400, "Bad Request", "text/plain", "unknown scenario");
	return 1;
}

static void *conn_main(void *arg)
{
	struct conn *cn = arg;
	struct httpd *h = cn->h;
	int fd = cn->fd;
	cur_conn = cn;
	static __thread char buf[65536];
#ifdef HTTPD_TLS
	if (h->ssl_ctx) {
		struct timeval tv = {5, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		cn->ssl = SSL_new(h->ssl_ctx);
		SSL_set_fd(cn->ssl, fd);
		if (SSL_accept(cn->ssl) <= 0)
			goto out; /* e.g. the client rejected our self-signed certificate */
	}
#endif
	size_t len = 0;
	for (int served = 0; served < 64 && !atomic_load(&h->stop);) {
		/* read a request head (bounded wait: 10 s idle) */
		char *end = NULL;
		int idle = 0;
		while (!(end = memmem(buf, len, "\r\n\r\n", 4))) {
			ssize_t r = conn_read(cn, buf + len, sizeof buf - 1 - len, 100);
			if (atomic_load(&h->stop) || ++idle > 100)
				goto out;
			if (r == -2)
				continue;
			if (r <= 0)
				goto out;
			len += (size_t)r;
			if (len >= sizeof buf - 1)
				goto out;
		}
		size_t head_len = (size_t)(end - buf) + 4;
		buf[head_len - 1] = '\0';
		size_t clen = 0;
		for (char *l = buf; l && l < buf + head_len;) {
			if (!strncasecmp(l, "Content-Length:", 15))
				clen = strtoul(l + 15, NULL, 10);
			l = strstr(l, "\r\n");
			if (l)
				l += 2;
		}
		while (len < head_len + clen) {
			ssize_t r = conn_read(cn, buf + len, sizeof buf - 1 - len, 2000);
			if (r <= 0)
				goto out;
			len += (size_t)r;
		}
		struct httpd_req rq;
		memset(&rq, 0, sizeof rq);
		char *sp1 = strchr(buf, ' ');
		char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
		if (sp1 && sp2 && (size_t)(sp2 - sp1 - 1) < sizeof rq.path)
			memcpy(rq.path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
		snprintf(rq.headers, sizeof rq.headers, "%.*s", (int)head_len, buf);
		rq.body_len = clen < sizeof rq.body - 1 ? clen : sizeof rq.body - 1;
		memcpy(rq.body, buf + head_len, rq.body_len);
		pthread_mutex_lock(&h->mu);
		if (h->n_reqs < HTTPD_MAX_REQ)
			h->reqs[h->n_reqs++] = rq;
		pthread_mutex_unlock(&h->mu);
		memmove(buf, buf + head_len + clen, len - head_len - clen);
		len -= head_len + clen;
		char scenario[64] = "";
		const char *p = rq.path[0] == '/' ? rq.path + 1 : rq.path;
		size_t k = strcspn(p, "/");
		snprintf(scenario, sizeof scenario, "%.*s", (int)k, p);
		int keep = respond(fd, scenario, rq.body);
		served++;
		if (keep < 0) {
			struct linger lg = {1, 0};
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			goto out;
		}
		if (keep == 0)
			goto out;
	}
out:
#ifdef HTTPD_TLS
	if (cn->ssl) {
		SSL_shutdown(cn->ssl);
		SSL_free(cn->ssl);
	}
#endif
	close(fd);
	free(cn);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct httpd *h = arg;
	while (!atomic_load(&h->stop)) {
		struct pollfd p = {.fd = h->lfd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(h->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&h->mu);
		bool room = h->n_threads < HTTPD_MAX_CONN;
		if (room)
			h->n_conns++;
		pthread_mutex_unlock(&h->mu);
		if (!room) {
			close(fd);
			continue;
		}
		struct conn *cn = malloc(sizeof *cn);
		cn->h = h;
		cn->fd = fd;
		cn->ssl = NULL;
		pthread_t th;
		if (pthread_create(&th, NULL, conn_main, cn) != 0) {
			close(fd);
			free(cn);
			continue;
		}
		pthread_mutex_lock(&h->mu);
		h->conn_threads[h->n_threads++] = th;
		pthread_mutex_unlock(&h->mu);
	}
	return NULL;
}

static struct httpd *httpd_start_ctx(void *ssl_ctx);

#ifdef HTTPD_TLS
/* A fresh self-signed certificate for CN=localhost (P-256), valid for a day. */
static SSL_CTX *httpd_tls_ctx(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	if (!key || !x)
		return NULL;
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_sign(x, key, EVP_sha256());
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate(ctx, x);
	SSL_CTX_use_PrivateKey(ctx, key);
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

struct httpd *httpd_start_tls(void)
{
	SSL_CTX *ctx = httpd_tls_ctx();
	if (!ctx)
		return NULL;
	struct httpd *h = httpd_start_ctx(ctx);
	if (!h)
		SSL_CTX_free(ctx);
	return h;
}
#endif

struct httpd *httpd_start(void)
{
	return httpd_start_ctx(NULL);
}

static struct httpd *httpd_start_ctx(void *ssl_ctx)
{
	struct httpd *h = calloc(1, sizeof *h);
	h->ssl_ctx = ssl_ctx;
	h->reqs = calloc(HTTPD_MAX_REQ, sizeof *h->reqs);
	pthread_mutex_init(&h->mu, NULL);
	atomic_init(&h->stop, false);
	h->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(h->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(h->lfd, 128) < 0) {
		close(h->lfd);
		free(h->reqs);
		free(h);
		return NULL;
	}
	socklen_t al = sizeof a;
	getsockname(h->lfd, (struct sockaddr *)&a, &al);
	h->port = ntohs(a.sin_port);
	pthread_create(&h->acceptor, NULL, accept_main, h);
	return h;
}

int httpd_port(const struct httpd *h)
{
	return h->port;
}

void httpd_stop(struct httpd *h)
{
	atomic_store(&h->stop, true);
	pthread_join(h->acceptor, NULL);
	for (int i = 0; i < h->n_threads; i++)
		pthread_join(h->conn_threads[i], NULL);
	close(h->lfd);
#ifdef HTTPD_TLS
	if (h->ssl_ctx)
		SSL_CTX_free(h->ssl_ctx);
#endif
	pthread_mutex_destroy(&h->mu);
	free(h->reqs);
	free(h);
}

size_t httpd_n_requests(struct httpd *h)
{
	pthread_mutex_lock(&h->mu);
	size_t n = h->n_reqs;
	pthread_mutex_unlock(&h->mu);
	return n;
}

int httpd_n_connections(struct httpd *h)
{
	pthread_mutex_lock(&h->mu);
	int n = h->n_conns;
	pthread_mutex_unlock(&h->mu);
	return n;
}

int httpd_request(struct httpd *h, size_t i, struct httpd_req *out)
{
	int rc = -1;
	pthread_mutex_lock(&h->mu);
	if (i < h->n_reqs) {
		*out = h->reqs[i];
		rc = 0;
	}
	pthread_mutex_unlock(&h->mu);
	return rc;
}
