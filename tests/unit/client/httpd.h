#ifndef VK_TEST_HTTPD_H
#define VK_TEST_HTTPD_H
/* A tiny HTTP/1.1 server on 127.0.0.1 for client tests: one thread accepting, one thread per
 * connection (keep-alive), canned responses chosen by the first path segment ("/<scenario>/..."):
 *   sse        200 SSE (chunked): "Hello", " world", finish, usage (when include_usage), [DONE]
 *   sse_nousage  same without any usage chunk
 *   sse_cont   continuous usage: each content event carries cumulative usage (2, then 5 tokens)
 *   sse_gap    "Hello", 50 ms pause, " world"
 *   cmpl       completions stream: choices[0].text "foo", " bar"
 *   json       non-streamed chat JSON response (message.content "Hello world", usage 7)
 *   empty      SSE with only [DONE]
 *   json_empty 200 JSON whose message.content is ""
 *   json_blank 200 JSON with an empty body
 *   badchunk   one event, then a chunk size that is not hexadecimal
 *   nostatus   bytes without an HTTP status line
 *   http500big 500 with a 2 MiB text body
 *   endless    content events until the client closes (bounded: 256 MiB or 20 s)
 *   http500    500 with {"error":{"message":"internal boom","code":500}}
 *   http404    404 text/plain "no such route"
 *   http503cut 503 whose body is cut short by a close
 *   midstream  "Hi" then {"error":{"message":"engine died","code":503}}
 *   midstr_nocode  {"error":{"message":"bad thing","code":"oops"}}
 *   malformed  "data: {not json"
 *   event_error  "Hi", then "event: error" with data {"message":"overloaded","code":503}, [DONE]
 *   after_done "Hello" with finish_reason stop, [DONE], then " world"
 *   two_done   "Hello" with finish_reason stop, [DONE], [DONE]
 *   gzip_coded 200 SSE with "Content-Encoding: gzip" (bytes not actually compressed)
 *   llama_error  "Hi", then llama.cpp's streamed error: an "error: {...}" line (code 500), end
 *   joined     two content events without the blank line between them (one event of two lines)
 *   ndjson     200 application/x-ndjson: two chunk objects, one per line (not SSE)
 *   reset      one event then RST
 *   eof        close-delimited stream ending without [DONE]/finish_reason
 *   eof_empty_finish  the same, its event carrying finish_reason "" (not null)
 *   slow       headers, then nothing until the client goes away (bounded 10 s)
 *   tok        /tokenize: {"count": <bytes of the body's "prompt" string>, ...} (keep-alive)
 *   tok_nocount  /tokenize answer without "count"
 * Every request is recorded (headers + body) for assertions. All loops are bounded. */
#include <stddef.h>

struct httpd;
struct httpd_req {
	char path[256];
	char headers[4096];
	char body[16384];
	size_t body_len;
};

struct httpd *httpd_start(void);
/* TLS variant (built with -DHTTPD_TLS and OpenSSL): a fresh self-signed certificate for localhost. */
struct httpd *httpd_start_tls(void);
int httpd_port(const struct httpd *h);
void httpd_stop(struct httpd *h);
size_t httpd_n_requests(struct httpd *h);
int httpd_n_connections(struct httpd *h);
/* Copy of request i (0-based, arrival order). Returns 0 or -1. */
int httpd_request(struct httpd *h, size_t i, struct httpd_req *out);

#endif
