/* The sim's HTTP request parser and OpenAI body validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sim/sim.h"

static enum sim_http_rc parse(const char *s, struct sim_http_req *r)
{
	return sim_http_parse(s, strlen(s), r);
}

static void test_parse_basic(void **state)
{
	(void)state;
	struct sim_http_req r;
	const char *req = "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n"
	                  "Authorization: Bearer k\r\nX-Request-Id: abc-1\r\nConnection: keep-alive\r\n\r\n{\"a\":1}";
	assert_int_equal(parse(req, &r), SIM_HTTP_OK);
	assert_true(sim_str_eq(r.method, "POST"));
	assert_true(sim_str_eq(r.path, "/v1/chat/completions"));
	assert_true(sim_str_eq(r.target, "/v1/chat/completions?x=1"));
	assert_int_equal(r.version_minor, 1);
	assert_true(r.has_content_length);
	assert_int_equal(r.content_length, 12);
	assert_true(sim_str_eq(r.authorization, "Bearer k"));
	assert_true(sim_str_eq(r.request_id, "abc-1"));
	assert_true(r.conn_keep_alive);
	assert_false(r.conn_close);
	assert_false(r.expect_continue);
	assert_int_equal(parse("POST /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n", &r),
	                 SIM_HTTP_OK);
	assert_true(r.expect_continue);
	assert_int_equal(parse(req, &r), SIM_HTTP_OK);
	assert_int_equal(r.head_len, strstr(req, "{") - req);
}

static void test_parse_incremental(void **state)
{
	(void)state;
	const char *req = "GET /health HTTP/1.0\r\nconnection: Close\r\n\r\n";
	struct sim_http_req r;
	for (size_t n = 0; n < strlen(req); n++)
		assert_int_equal(sim_http_parse(req, n, &r), SIM_HTTP_INCOMPLETE);
	assert_int_equal(parse(req, &r), SIM_HTTP_OK);
	assert_int_equal(r.version_minor, 0);
	assert_true(r.conn_close);
	/* bare LF line endings are tolerated */
	assert_int_equal(parse("GET / HTTP/1.1\nA: b\n\n", &r), SIM_HTTP_OK);
}

static void test_parse_errors(void **state)
{
	(void)state;
	struct sim_http_req r;
	assert_int_equal(parse("GET /x\r\n\r\n", &r), SIM_HTTP_BAD);
	assert_int_equal(parse("GET x HTTP/1.1\r\n\r\n", &r), SIM_HTTP_BAD);
	assert_int_equal(parse("GET /x HTTP/2.0\r\n\r\n", &r), SIM_HTTP_BAD_VERSION);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nNo colon here\r\n\r\n", &r), SIM_HTTP_BAD);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", &r), SIM_HTTP_BAD);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", &r), SIM_HTTP_BAD);
	assert_int_equal(parse("POST /x HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", &r),
	                 SIM_HTTP_BAD);
	assert_int_equal(parse("POST /x HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n", &r), SIM_HTTP_TOO_LARGE);
	assert_int_equal(parse(" GET /x HTTP/1.1\r\n\r\n", &r), SIM_HTTP_BAD);
	assert_int_equal(parse("GET /x HTTP/1.1\r\nA: b\x01\r\n\r\n", &r), SIM_HTTP_BAD);
	char big[SIM_HTTP_MAX_HEAD + 100];
	memset(big, 'a', sizeof big);
	memcpy(big, "GET /x HTTP/1.1\r\nX: ", 20);
	assert_int_equal(sim_http_parse(big, sizeof big, &r), SIM_HTTP_TOO_LARGE);
	assert_int_equal(parse("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r), SIM_HTTP_OK);
	assert_true(r.chunked);
}

static void test_api_chat(void **state)
{
	(void)state;
	struct sim_api_req r;
	char err[256];
	const char *b =
	    "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"a b\"},{\"role\":\"user\",\"content\":"
	    "[{\"type\":\"text\",\"text\":\"c d e\"},{\"type\":\"image_url\",\"image_url\":{}}]}],\"stream\":true,"
	    "\"ignore_eos\":true,\"max_completion_tokens\":7,\"min_tokens\":3,\"stream_options\":{\"include_usage\":"
	    "true},"
	    "\"stop\":[\"x\",\"y\"]}";
	assert_int_equal(sim_api_parse(SIM_API_CHAT, b, strlen(b), &r, err, sizeof err), 0);
	assert_string_equal(r.model, "m");
	assert_int_equal(r.prompt_tokens, 5);
	assert_true(r.stream && r.include_usage && r.ignore_eos && r.has_max_tokens);
	assert_false(r.continuous_usage);
	assert_int_equal(r.max_tokens, 7);
	assert_int_equal(r.min_tokens, 3);
	assert_int_equal(r.n_stop, 2);
}

static void expect_400(enum sim_api_kind k, const char *body)
{
	struct sim_api_req r;
	char err[256] = "";
	assert_int_equal(sim_api_parse(k, body, strlen(body), &r, err, sizeof err), 400);
	assert_true(err[0] != 0);
}

static void test_api_errors(void **state)
{
	(void)state;
	expect_400(SIM_API_CHAT, "{bad json");
	expect_400(SIM_API_CHAT, "[1,2]");
	expect_400(SIM_API_CHAT, "{}");
	expect_400(SIM_API_CHAT, "{\"messages\":[]}");
	expect_400(SIM_API_CHAT, "{\"messages\":\"hi\"}");
	expect_400(SIM_API_CHAT, "{\"messages\":[{\"content\":\"x\"}]}");
	expect_400(SIM_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":5}]}");
	expect_400(SIM_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":\"5\"}");
	expect_400(SIM_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}");
	expect_400(SIM_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":1.5}");
	expect_400(SIM_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":\"yes\"}");
	expect_400(
	    SIM_API_CHAT,
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream_options\":{\"include_usage\":true}}");
	expect_400(SIM_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}");
	expect_400(SIM_API_CHAT,
	           "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":2,\"min_tokens\":3}");
	expect_400(SIM_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"model\":7}");
	expect_400(SIM_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}");
	expect_400(SIM_API_COMPLETIONS, "{\"prompt\":5}");
	expect_400(SIM_API_COMPLETIONS, "{\"prompt\":[\"a\",\"b\"]}");
	expect_400(SIM_API_COMPLETIONS, "{\"prompt\":[1,-2]}");
}

static void test_api_completions_prompts(void **state)
{
	(void)state;
	struct sim_api_req r;
	char err[256];
	const char *b1 = "{\"prompt\":\"one two  three\",\"max_tokens\":3}";
	assert_int_equal(sim_api_parse(SIM_API_COMPLETIONS, b1, strlen(b1), &r, err, sizeof err), 0);
	assert_int_equal(r.prompt_tokens, 3);
	const char *b2 = "{\"prompt\":[1,2,3,4]}";
	assert_int_equal(sim_api_parse(SIM_API_COMPLETIONS, b2, strlen(b2), &r, err, sizeof err), 0);
	assert_int_equal(r.prompt_tokens, 4);
	const char *b3 = "{\"prompt\":[\"a b\"],\"max_tokens\":null}";
	assert_int_equal(sim_api_parse(SIM_API_COMPLETIONS, b3, strlen(b3), &r, err, sizeof err), 0);
	assert_int_equal(r.prompt_tokens, 2);
	assert_false(r.has_max_tokens);
}

static void test_tokens(void **state)
{
	(void)state;
	assert_int_equal(sim_tok_count("", 0), 0);
	assert_int_equal(sim_tok_count("  a  bb\tc\n", 10), 3);
	/* output pieces: deterministic, one word each */
	for (int64_t i = 0; i < 200; i++) {
		size_t n1, n2;
		const char *a = sim_tok_output_piece(42, i, &n1);
		const char *b = sim_tok_output_piece(42, i, &n2);
		assert_ptr_equal(a, b);
		assert_int_equal(sim_tok_count(a, n1), 1);
		assert_true(a[0] == ' ');
	}
	int32_t *ids;
	size_t n;
	sim_tok_encode(" the of  model", 14, &ids, &n);
	assert_int_equal(n, 3);
	struct buf b;
	buf_init(&b);
	sim_tok_decode(ids, n, &b);
	assert_string_equal(b.data, "the of model");
	buf_free(&b);
	free(ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_basic),  cmocka_unit_test(test_parse_incremental),
	    cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_api_chat),
	    cmocka_unit_test(test_api_errors),   cmocka_unit_test(test_api_completions_prompts),
	    cmocka_unit_test(test_tokens),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
