/* OpenAI request bodies (exact JSON) and response decoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <string.h>

#include "client/openai.h"

static struct cfg_client chat_cfg(void)
{
	struct cfg_client c;
	memset(&c, 0, sizeof c);
	c.type = CFG_CLIENT_CHAT;
	c.model = "m";
	c.address_append_value = "chat/completions";
	c.request_timeout = 300;
	c.additional_sampling_params = "{}";
	c.max_tokens_param = "max_completion_tokens";
	c.ignore_eos = true;
	c.completions_max_tokens_param = "max_tokens";
	c.verify_tls = true;
	c.stream = true;
	c.include_usage = true;
	return c;
}

static struct wl_request mkreq(const char *prompt, int64_t target, struct wl_message *hist, size_t nh)
{
	struct wl_request r;
	memset(&r, 0, sizeof r);
	r.id = 42;
	r.prompt_text = (char *)prompt;
	r.target_output_tokens = target;
	r.history = hist;
	r.n_history = nh;
	r.history_parent = -1;
	return r;
}

static void expect_body(const struct cfg_client *cfg, const struct wl_request *req, bool stream, const char *want)
{
	struct oai_spec s;
	char err[256];
	assert_int_equal(oai_spec_init(&s, cfg, err, sizeof err), 0);
	struct buf b;
	buf_init(&b);
	assert_int_equal(oai_build_body(&s, req, stream, &b, NULL), 0);
	assert_string_equal(b.data, want);
	buf_free(&b);
	oai_spec_free(&s);
}

static void test_chat_body(void **state)
{
	(void)state;
	struct cfg_client c = chat_cfg();
	struct wl_message hist[2] = {{"user", "hi"}, {"assistant", "hello \"there\""}};
	struct wl_request r = mkreq("next?", 16, hist, 2);
	expect_body(&c, &r, true,
	            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\","
	            "\"content\":\"hello \\\"there\\\"\"},{\"role\":\"user\",\"content\":\"next?\"}],\"stream\":true,"
	            "\"ignore_eos\":true,\"max_completion_tokens\":16,\"stream_options\":{\"include_usage\":true}}");
	/* no target: no max tokens; include_usage off; not streaming */
	r = mkreq("p", 0, NULL, 0);
	c.include_usage = false;
	c.ignore_eos = false;
	expect_body(&c, &r, true,
	            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"p\"}],\"stream\":true,"
	            "\"ignore_eos\":false}");
	c.include_usage = true;
	expect_body(&c, &r, false,
	            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"p\"}],\"stream\":false,"
	            "\"ignore_eos\":false}");
}

static void test_chat_min_and_additional(void **state)
{
	(void)state;
	struct cfg_client c = chat_cfg();
	c.min_tokens_param = "min_tokens";
	c.additional_sampling_params = "{\"temperature\":0.5,\"max_completion_tokens\":3,\"top_p\":1}";
	struct wl_request r = mkreq("p", 8, NULL, 0);
	/* max param already present (from additional params) is kept; min added */
	expect_body(&c, &r, true,
	            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"p\"}],\"stream\":true,"
	            "\"ignore_eos\":true,\"temperature\":0.5,\"max_completion_tokens\":3,\"top_p\":1,"
	            "\"min_tokens\":8,\"stream_options\":{\"include_usage\":true}}");
	/* aliases: until -> stop, max_gen_toks -> max param; caller-provided stream_options kept */
	c.min_tokens_param = NULL;
	c.additional_sampling_params = "{\"until\":[\"\\n\"],\"max_gen_toks\":5,\"stream_options\":{\"x\":1}}";
	expect_body(&c, &r, true,
	            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"p\"}],\"stream\":true,"
	            "\"ignore_eos\":true,\"stop\":[\"\\n\"],\"max_completion_tokens\":5,\"stream_options\":{\"x\":1}}");
	/* an existing key is replaced in place (dict.update semantics) */
	c.additional_sampling_params = "{\"ignore_eos\":false}";
	expect_body(&c, &r, false,
	            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"p\"}],\"stream\":false,"
	            "\"ignore_eos\":false,\"max_completion_tokens\":8}");
	/* bad additional params */
	struct oai_spec s;
	char err[256];
	c.additional_sampling_params = "[1,2]";
	assert_int_equal(oai_spec_init(&s, &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "additional_sampling_params"));
	c.additional_sampling_params = "{nope";
	assert_int_equal(oai_spec_init(&s, &c, err, sizeof err), -1);
}

static void test_completions_body(void **state)
{
	(void)state;
	struct cfg_client c = chat_cfg();
	c.type = CFG_CLIENT_COMPLETIONS;
	c.address_append_value = "completions";
	c.max_tokens_param = "max_tokens";
	c.min_tokens_param = "min_tokens"; /* not sent for completions (as the reference) */
	struct wl_message hist[1] = {{"user", "ignored for completions"}};
	struct wl_request r = mkreq("Once upon", 4, hist, 1);
	expect_body(&c, &r, true,
	            "{\"model\":\"m\",\"prompt\":\"Once upon\",\"stream\":true,\"max_tokens\":4,"
	            "\"stream_options\":{\"include_usage\":true}}");
	expect_body(&c, &r, false, "{\"model\":\"m\",\"prompt\":\"Once upon\",\"stream\":false,\"max_tokens\":4}");
	/* max_tokens present in additional params: not overridden even with another param name */
	c.max_tokens_param = "max_new";
	c.additional_sampling_params = "{\"max_tokens\":2}";
	expect_body(&c, &r, false, "{\"model\":\"m\",\"prompt\":\"Once upon\",\"stream\":false,\"max_tokens\":2}");
	assert_string_equal(oai_path(&c, &r), "completions");
	c.address_append_value = "chat/completions";
	assert_string_equal(oai_path(&c, &r), "completions");
	c.address_append_value = "v2/generate";
	assert_string_equal(oai_path(&c, &r), "v2/generate");
}

static void test_router_body(void **state)
{
	(void)state;
	struct cfg_client c = chat_cfg();
	c.type = CFG_CLIENT_ROUTER;
	c.completions_max_tokens_param = "max_tokens";
	struct wl_request r = mkreq("p", 3, NULL, 0);
	r.api_mode = WL_API_CHAT;
	assert_true(oai_is_chat(&c, &r));
	assert_string_equal(oai_path(&c, &r), "chat/completions");
	expect_body(&c, &r, false,
	            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"p\"}],\"stream\":false,"
	            "\"ignore_eos\":true,\"max_completion_tokens\":3}");
	r.api_mode = WL_API_COMPLETIONS;
	assert_false(oai_is_chat(&c, &r));
	assert_string_equal(oai_path(&c, &r), "completions");
	expect_body(&c, &r, false, "{\"model\":\"m\",\"prompt\":\"p\",\"stream\":false,\"max_tokens\":3}");
}

static void test_parse_events(void **state)
{
	(void)state;
	struct oai_event ev;
	const char *s = "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\",\"reasoning_content\":\"hmm\"},"
	                "\"finish_reason\":null}],\"usage\":null}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_false(ev.is_error);
	assert_int_equal(ev.content_len, 2);
	assert_memory_equal(ev.content, "Hi", 2);
	assert_int_equal(ev.reasoning_len, 3);
	assert_null(ev.finish_reason);
	assert_false(ev.has_usage);
	oai_event_clear(&ev);

	s = "{\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":9}}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_null(ev.content);
	assert_true(ev.has_usage);
	assert_int_equal(ev.prompt_tokens, 5);
	assert_int_equal(ev.completion_tokens, 9);
	oai_event_clear(&ev);

	s = "{\"choices\":[{\"text\":\"abc\",\"finish_reason\":\"length\"}]}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_int_equal(ev.content_len, 3);
	assert_string_equal(ev.finish_reason, "length");
	oai_event_clear(&ev);

	s = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"full\"}}]}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_string_equal(ev.content, "full");
	oai_event_clear(&ev);

	s = "{\"error\":{\"message\":\"too long\",\"code\":413}}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_true(ev.is_error);
	assert_int_equal(ev.error_code, 413);
	assert_string_equal(ev.error_msg, "too long");
	oai_event_clear(&ev);

	s = "{\"error\":{\"code\":\"context_length_exceeded\"}}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_true(ev.is_error);
	assert_int_equal(ev.error_code, 400);
	assert_string_equal(ev.error_msg, "Unknown error");
	oai_event_clear(&ev);

	/* a code beyond an int (or no integer) is no code: the default (converting 3.3e16 to an int
	 * was undefined behaviour, found by the fuzz target) */
	const char *huge[] = {"3.3e16", "1e999", "-1e300", "2147483648", "4.5"};
	for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
		char doc[128];
		snprintf(doc, sizeof doc, "{\"error\":{\"message\":\"m\",\"code\":%s}}", huge[i]);
		assert_int_equal(oai_parse(doc, strlen(doc), &ev), OAI_PARSE_OK);
		assert_true(ev.is_error);
		assert_int_equal(ev.error_code, 400);
		oai_event_clear(&ev);
	}
	s = "{\"error\":{\"message\":\"m\",\"code\":2147483647}}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_int_equal(ev.error_code, 2147483647);
	oai_event_clear(&ev);

	s = "{\"object\":\"error\",\"message\":\"bad\",\"code\":422}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_true(ev.is_error);
	assert_int_equal(ev.error_code, 422);
	oai_event_clear(&ev);

	/* reasoning models: the reasoning delta (vLLM/SGLang/DeepSeek `reasoning_content`, gpt-oss
	 * `reasoning`) and usage.completion_tokens_details.reasoning_tokens */
	s = "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"let me see\"},\"finish_reason\":null}]}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_null(ev.content);
	assert_string_equal(ev.reasoning, "let me see");
	assert_int_equal(ev.reasoning_tokens, -1);
	oai_event_clear(&ev);
	s = "{\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":40,"
	    "\"completion_tokens_details\":{\"reasoning_tokens\":32}}}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_int_equal(ev.completion_tokens, 40);
	assert_int_equal(ev.reasoning_tokens, 32);
	oai_event_clear(&ev);
	assert_int_equal(oai_parse_cjson(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_int_equal(ev.reasoning_tokens, 32);
	oai_event_clear(&ev);
	s = "{\"choices\":[],\"usage\":{\"completion_tokens\":9,\"completion_tokens_details\":null}}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_int_equal(ev.reasoning_tokens, -1);
	oai_event_clear(&ev);
	/* non-streamed: message.reasoning_content next to message.content */
	s = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"reasoning_content\":\"hmm\",\"content\":\"42\"}}]}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_string_equal(ev.content, "42");
	assert_string_equal(ev.reasoning, "hmm");
	oai_event_clear(&ev);

	/* one object and nothing after it but whitespace: two joined events are not the first alone */
	s = "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n{\"choices\":[{\"delta\":{\"content\":\"b\"}}]}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_TRAILING);
	s = "{\"choices\":[{\"delta\":{\"content\":\"a\\n\"}}]} x";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_TRAILING);
	s = " {\"choices\":[{\"delta\":{\"content\":\"a\\n\"}}]} \r\n\t";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_string_equal(ev.content, "a\n");
	oai_event_clear(&ev);
	/* an escaped NUL does not end the string: it reads as U+FFFD and the text after it is kept
	 * (an escaped backslash before "u0000" is no escape of a NUL) */
	s = "{\"choices\":[{\"delta\":{\"content\":\"ab\\u0000cd\\\\u0000\"}}],\"x\":\"\\u0000\"}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_int_equal(ev.content_len, 13);
	assert_string_equal(ev.content, "ab\xef\xbf\xbd"
	                                "cd\\u0000");
	oai_event_clear(&ev);
	s = "{\"error\":{\"message\":\"bad \\u0000 byte\",\"code\":400}}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_string_equal(ev.error_msg, "bad \xef\xbf\xbd byte");
	oai_event_clear(&ev);
	assert_int_equal(oai_parse("{nope", 5, &ev), OAI_PARSE_INVALID);
	assert_int_equal(oai_parse("[1]", 3, &ev), OAI_PARSE_INVALID);
	assert_int_equal(oai_parse("", 0, &ev), OAI_PARSE_INVALID);
}

static void test_error_message(void **state)
{
	(void)state;
	char m[64];
	const char *b = "{\"error\":{\"message\":\"internal boom\",\"code\":500}}";
	oai_error_message(b, strlen(b), m, sizeof m);
	assert_string_equal(m, "internal boom");
	b = "{\"detail\":\"Not Found\"}";
	oai_error_message(b, strlen(b), m, sizeof m);
	assert_string_equal(m, "Not Found");
	b = "plain\ntext";
	oai_error_message(b, strlen(b), m, sizeof m);
	assert_string_equal(m, "plain text");
	oai_error_message(NULL, 0, m, sizeof m);
	assert_string_equal(m, "");
	/* the data of an `event: error` */
	int code;
	b = "{\"message\":\"overloaded\",\"code\":503}";
	oai_error_event(b, strlen(b), &code, m, sizeof m);
	assert_int_equal(code, 503);
	assert_string_equal(m, "overloaded");
	b = "{\"error\":{\"message\":\"boom\",\"code\":429}}";
	oai_error_event(b, strlen(b), &code, m, sizeof m);
	assert_int_equal(code, 429);
	assert_string_equal(m, "boom");
	b = "upstream timed out";
	oai_error_event(b, strlen(b), &code, m, sizeof m);
	assert_int_equal(code, 400);
	assert_string_equal(m, "upstream timed out");
	oai_error_event("", 0, &code, m, sizeof m);
	assert_string_equal(m, "error event without a message");
}

static void same_str(const char *a, size_t an, const char *b, size_t bn)
{
	if (!a || !b) {
		assert_true(a == b);
		return;
	}
	assert_int_equal(an, bn);
	assert_memory_equal(a, b, an);
}

/* s parsed by oai_parse (or, with memo, oai_parse_stream) and by cJSON alone: the same result */
static void diff_one_memo(const char *s, size_t n, struct oai_memo *memo)
{
	struct oai_event f, c;
	int rf = memo ? oai_parse_stream(s, n, &f, memo) : oai_parse(s, n, &f);
	int rc = oai_parse_cjson(s, n, &c);
	assert_int_equal(rf, rc);
	if (rf == OAI_PARSE_OK) {
		same_str(f.content, f.content_len, c.content, c.content_len);
		same_str(f.reasoning, f.reasoning_len, c.reasoning, c.reasoning_len);
		same_str(f.tool_text, f.tool_text_len, c.tool_text, c.tool_text_len);
		if (f.finish_reason || c.finish_reason) {
			assert_non_null(f.finish_reason);
			assert_non_null(c.finish_reason);
			assert_string_equal(f.finish_reason, c.finish_reason);
		}
		assert_int_equal(f.choice_index, c.choice_index);
		assert_int_equal(f.more_choices, c.more_choices);
		assert_int_equal(f.has_choices, c.has_choices);
		assert_int_equal(f.has_usage, c.has_usage);
		assert_int_equal(f.prompt_tokens, c.prompt_tokens);
		assert_int_equal(f.completion_tokens, c.completion_tokens);
		assert_int_equal(f.reasoning_tokens, c.reasoning_tokens);
		assert_int_equal(f.is_error, c.is_error);
		assert_int_equal(f.error_code, c.error_code);
		assert_string_equal(f.error_msg, c.error_msg);
		oai_event_clear(&f);
	}
	if (rc == OAI_PARSE_OK)
		oai_event_clear(&c);
}

static void diff_one(const char *s, size_t n)
{
	diff_one_memo(s, n, NULL);
}

/* the cJSON-free fast path extracts exactly what cJSON does, on typical chunks and on mutations */
static void test_fast_path_matches_cjson(void **state)
{
	(void)state;
	const char *docs[] = {
	    "{\"id\":\"c-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{"
	    "\"index\":0,"
	    "\"delta\":{\"role\":\"assistant\",\"content\":\"Hi there\"},\"finish_reason\":null}]}",
	    "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
	    "\"completion_tokens\":64,\"total_tokens\":76}}",
	    "{\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3.5}}",
	    "{\"choices\":[{\"text\":\"abc\",\"finish_reason\":\"length\"}, {\"text\":\"x\"}]}",
	    "{\"choices\":[{\"index\":1,\"delta\":{\"content\":\"second\"},\"index\":0}]}",
	    "{\"choices\":[{\"index\":2.5,\"delta\":{\"content\":\"x\"}}]}",
	    "{\"choices\":[7,{\"index\":0,\"delta\":{\"content\":\"x\"}}]}",
	    "{\"choices\":null,\"choices\":[{\"delta\":{\"content\":\"x\"}}]}",
	    "{\"choices\":{\"delta\":{\"content\":\"x\"}},\"status\":\"ok\"}",
	    "{\"choices\":[{\"delta\":{\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"function\":"
	    "{\"name\":\"get\",\"arguments\":\"\"}}]}}]}",
	    "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\"city\",\"name\":null}}]}}]}",
	    "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"function\":{\"arguments\":\"{\\\"a\\\"\"}}]}}]}",
	    "{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"x\"}},"
	    "{\"function\":{\"name\":\"g\",\"arguments\":\"y\"}}]}}]}",
	    "{\"choices\":[{\"delta\":{\"tool_calls\":5,\"tool_calls\":[{\"function\":{\"name\":\"f\"}}]}}]}",
	    "{\"choices\":[{\"delta\":{\"tool_calls\":[1,{\"function\":{\"name\":\"f\",\"name\":\"g\"},"
	    "\"function\":{\"name\":\"h\"}}]}}]}",
	    "{\"choices\":[{\"delta\":{\"content\":\"a\",\"content\":\"b\",\"reasoning_content\":\"r\"}}]}",
	    "{\"choices\":[{\"delta\":5,\"message\":{\"content\":\"m\",\"reasoning\":\"z\"}}]}",
	    "{\"choices\":[{\"delta\":{\"content\":null},\"text\":\"t\"}]}",
	    "{\"choices\":[{\"delta\":{\"content\":\"esc\\n\\u00e9\"}}]}",
	    "{\"error\":{\"message\":\"bad\",\"code\":429}}",
	    "{\"object\":\"error\",\"message\":\"x\",\"code\":400}",
	    "{\"error\":null,\"choices\":[{\"delta\":{\"content\":\"ok\"}}]}",
	    "{\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":0}}",
	    "{\"usage\":{\"prompt_tokens\":01,\"completion_tokens\":7}}",
	    "{\"usage\":null,\"choices\":[{\"delta\":{\"content\":\"\\u00\"}}]}",
	    "  {\"a\":[1,2,{\"b\":[true,false,null,-0.5e+3]}],\"choices\":[{\"delta\":{\"content\":\"\xc3\xa9\"}}]}  ",
	    "[1,2]",
	    "{\"choices\":[{\"delta\":{\"content\":\"trailing\"}}]} x",
	    "{\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":40,"
	    "\"completion_tokens_details\":{\"reasoning_tokens\":32,\"accepted_prediction_tokens\":0}}}",
	    "{\"usage\":{\"completion_tokens\":4,\"completion_tokens_details\":null,"
	    "\"completion_tokens_details\":{\"reasoning_tokens\":2}}}",
	    "{\"usage\":{\"completion_tokens_details\":{\"reasoning_tokens\":\"x\",\"reasoning_tokens\":3}}}",
	    "{\"choices\":[{\"delta\":{\"reasoning\":\"think\"}}],\"usage\":{\"completion_tokens\":1,"
	    "\"completion_tokens_details\":{\"reasoning_tokens\":1}}}",
	};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
		diff_one(docs[i], strlen(docs[i]));
	/* mutations: truncations and byte replacements of every document */
	uint64_t x = 0x9E3779B97F4A7C15ull;
	const char repl[] = "{}[]\",:\\0123456789-+.eEtrufalsn \t\x01\xc3";
	char m[512];
	for (int it = 0; it < 40000; it++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		const char *d = docs[x % (sizeof docs / sizeof docs[0])];
		size_t n = strlen(d);
		memcpy(m, d, n);
		size_t at = (size_t)(x >> 8) % n;
		if (x & 0x10000)
			n = at; /* truncate */
		else
			m[at] = repl[(x >> 20) % (sizeof repl - 1)];
		diff_one(m, n);
	}
}

/* Strings with one-character escapes (a tool call's JSON arguments, a newline in content) are read
 * by the allocation-free scanner (no cJSON tree), with what cJSON reads; a \u escape is cJSON's. */
static void test_fast_path_escapes(void **state)
{
	(void)state;
	struct oai_event ev;
	const char *s = "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
	                "{\"arguments\":\"{\\\"city\\\": \\\"Paris\\/FR\\\"}\"}}]}}]}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_null(ev.tree);
	assert_null(ev.owned);
	assert_string_equal(ev.tool_text, "{\"city\": \"Paris/FR\"}");
	diff_one(s, strlen(s));
	s = "{\"choices\":[{\"delta\":{\"content\":\"a\\nb\\t\\\\c\\r\\b\\f\"},\"finish_reason\":null}]}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_null(ev.tree);
	assert_string_equal(ev.content, "a\nb\t\\c\r\b\f");
	assert_int_equal(ev.content_len, 9);
	diff_one(s, strlen(s));
	s = "{\"choices\":[{\"delta\":{\"content\":\"\\u00e9\"}}]}";
	assert_int_equal(oai_parse(s, strlen(s), &ev), OAI_PARSE_OK);
	assert_non_null(ev.tree);
	oai_event_clear(&ev);
	s = "{\"choices\":[{\"delta\":{\"content\":\"bad \\x escape\"}}]}";
	diff_one(s, strlen(s));
}

/* a vLLM-style stream: every chunk repeats id, object, created and model before "choices" */
#define STREAM_HEAD "{\"id\":\"chatcmpl-60d5\",\"object\":\"chat.completion.chunk\",\"created\":17,\"model\":\"m\","
#define STREAM_CONTENT(text, finish)                                                                                   \
	STREAM_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" text "\"},\"logprobs\":null,"                \
	            "\"finish_reason\":" finish ",\"stop_reason\":null}]}"
static const char *const stream_chunks[] = {
    STREAM_HEAD "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\" this\"},"
                "\"logprobs\":null,\"finish_reason\":null,\"stop_reason\":null}]}",
    STREAM_CONTENT(" by", "null"),
    STREAM_CONTENT(" the", "null"),
    STREAM_CONTENT("", "null"),
    STREAM_CONTENT(" tab\\t", "null"),
    STREAM_CONTENT(" say \\\"hi\\\"", "null"),
    STREAM_CONTENT(" work", "\"length\""),
    STREAM_HEAD "\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"total_tokens\":5,\"completion_tokens\":3}}",
};

static void memo_fresh(struct oai_memo *memo)
{
	memset(memo, 0, sizeof *memo);
	oai_memo_reset(memo);
}

/* oai_parse_stream reads the chunks after the first from the end of their common head, or as the
 * template of a content-only chunk, with the same results as cJSON */
static void test_stream_memo_hits(void **state)
{
	(void)state;
	struct oai_memo memo;
	memo_fresh(&memo);
	size_t n = sizeof stream_chunks / sizeof stream_chunks[0];
	for (size_t i = 0; i < n; i++)
		diff_one_memo(stream_chunks[i], strlen(stream_chunks[i]), &memo);
	assert_int_equal(memo.len, strlen(STREAM_HEAD));
	assert_true(memo.object_seen);
	/* 0 scanned whole (its "role" makes it no template for the others); 1 from the head's end; 2 and
	 * 3 (empty content) as 1's template; 4 and 5 (one-character escapes, unescaped by the scanner: no
	 * template), 6 (a finish_reason) and 7 (usage) from the head's end */
	assert_int_equal(memo.tpl_hits, 2);
	assert_int_equal(memo.hits, 5);

	/* a chunk of another stream (another id) is read whole and becomes what is remembered */
	const char *other = "{\"id\":\"chatcmpl-7777\",\"object\":\"chat.completion.chunk\",\"created\":17,"
	                    "\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"x\"}}]}";
	const char *other2 = "{\"id\":\"chatcmpl-7777\",\"object\":\"chat.completion.chunk\",\"created\":17,"
	                     "\"model\":\"m\",\"choices\":[{\"delta\":{\"content\":\"yz\"}}]}";
	diff_one_memo(other, strlen(other), &memo);
	assert_int_equal(memo.hits, 5);
	assert_int_equal(memo.tpl_hits, 2);
	assert_memory_equal(memo.bytes, other, memo.len);
	diff_one_memo(other2, strlen(other2), &memo);
	assert_int_equal(memo.tpl_hits, 3);
	/* the first stream's chunks again: its head is no longer remembered */
	diff_one_memo(stream_chunks[2], strlen(stream_chunks[2]), &memo);
	assert_int_equal(memo.hits, 5);
	assert_int_equal(memo.tpl_hits, 3);

	/* the head followed by an error, a second "object", a truncation, an empty object, or the
	 * template's bytes around a string that ends early: what cJSON says */
	memo_fresh(&memo);
	diff_one_memo(stream_chunks[1], strlen(stream_chunks[1]), &memo);
	const char *after[] = {
	    STREAM_HEAD "\"error\":{\"message\":\"overloaded\",\"code\":503}}",
	    STREAM_HEAD "\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"object\":\"error\"}",
	    STREAM_HEAD "\"choices\":[{\"delta\":{\"content\":\"a\"}}]",
	    STREAM_HEAD "\"choices\":[{\"delta\":{\"content\":\"esc\\n\"}}]}",
	    STREAM_HEAD "}",
	    STREAM_CONTENT("a\",\"content\":\"b", "null"),
	    STREAM_CONTENT("a\"},\"x\":{\"y\":\"b", "null"),
	};
	for (size_t i = 0; i < sizeof after / sizeof after[0]; i++)
		diff_one_memo(after[i], strlen(after[i]), &memo);
	/* only the second "object", the escaped content and the two strings ending early are read to the
	 * end by the scanner itself from the head's end; none fits a template */
	assert_int_equal(memo.hits, 4);
	assert_int_equal(memo.tpl_hits, 0);

	/* "object" after "choices": not remembered as seen */
	memo_fresh(&memo);
	const char *late = "{\"id\":\"c\",\"choices\":[],\"object\":\"chat.completion.chunk\"}";
	diff_one_memo(late, strlen(late), &memo);
	assert_false(memo.object_seen);
	const char *late_err = "{\"id\":\"c\",\"choices\":[],\"object\":\"error\",\"message\":\"m\"}";
	diff_one_memo(late_err, strlen(late_err), &memo);

	/* SGLang's chunks (a model path, null reasoning_content and tool_calls, "usage":null) fit too */
	memo_fresh(&memo);
#define SGL_CHUNK(text)                                                                                                \
	"{\"id\":\"4f0c1a2b3c4d4e5f8a9b0c1d2e3f4a5b\",\"object\":\"chat.completion.chunk\",\"created\":1733500000,"    \
	"\"model\":\"/models/Qwen/Qwen2.5-72B-Instruct-AWQ\",\"choices\":[{\"index\":0,\"delta\":{\"role\":null,"      \
	"\"content\":\"" text "\",\"reasoning_content\":null,\"tool_calls\":null},\"logprobs\":null,"                  \
	"\"finish_reason\":null,\"matched_stop\":null}],\"usage\":null}"
	const char *sgl[] = {SGL_CHUNK("One"), SGL_CHUNK(" two"), SGL_CHUNK(" three")};
	for (size_t i = 0; i < 3; i++)
		diff_one_memo(sgl[i], strlen(sgl[i]), &memo);
	assert_int_equal(memo.tpl_hits, 2);
	assert_true(memo.tpl_pre + memo.tpl_suf > 256);

	/* content too long for the event's own storage: not a template reading (cJSON reads it) */
	memo_fresh(&memo);
	diff_one_memo(stream_chunks[1], strlen(stream_chunks[1]), &memo);
	char big[1024];
	int bn = snprintf(big, sizeof big,
	                  "%s\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%0500d\"},"
	                  "\"logprobs\":null,\"finish_reason\":null,\"stop_reason\":null}]}",
	                  STREAM_HEAD, 7);
	diff_one_memo(big, (size_t)bn, &memo);
	assert_int_equal(memo.tpl_hits, 0);
	/* at the edge: 479 bytes and their NUL fill the event's storage, 480 do not */
	for (int len = 479; len <= 480; len++) {
		bn = snprintf(big, sizeof big,
		              "%s\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%0*d\"},"
		              "\"logprobs\":null,\"finish_reason\":null,\"stop_reason\":null}]}",
		              STREAM_HEAD, len, 7);
		diff_one_memo(big, (size_t)bn, &memo);
		assert_int_equal(memo.tpl_hits, 1);
	}
}

/* mutations of a stream's chunk after two chunks that set the memo: always what cJSON says */
static void test_stream_memo_mutations(void **state)
{
	(void)state;
	struct oai_memo memo;
	const char repl[] = "{}[]\",:\\0123456789-+.eEtrufalsn \t\x01\xc3";
	size_t n_chunks = sizeof stream_chunks / sizeof stream_chunks[0];
	uint64_t x = 0x2545F4914F6CDD1Dull, hits = 0, tpl_hits = 0;
	char m[512];
	for (int it = 0; it < 30000; it++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memo_fresh(&memo);
		for (int k = 0; k < 2; k++) {
			const char *c = stream_chunks[(x >> (8 * k)) % n_chunks];
			diff_one_memo(c, strlen(c), &memo);
		}
		const char *d = stream_chunks[(x >> 16) % n_chunks];
		size_t n = strlen(d);
		memcpy(m, d, n);
		size_t at = (size_t)(x >> 24) % n;
		if (x & (1ull << 40))
			n = at; /* truncate */
		else
			m[at] = repl[(x >> 44) % (sizeof repl - 1)];
		diff_one_memo(m, n, &memo);
		hits += memo.hits;
		tpl_hits += memo.tpl_hits;
	}
	assert_true(hits > 0);
	assert_true(tpl_hits > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fast_path_matches_cjson),
	    cmocka_unit_test(test_fast_path_escapes),
	    cmocka_unit_test(test_stream_memo_hits),
	    cmocka_unit_test(test_stream_memo_mutations),
	    cmocka_unit_test(test_chat_body),
	    cmocka_unit_test(test_chat_min_and_additional),
	    cmocka_unit_test(test_completions_body),
	    cmocka_unit_test(test_router_body),
	    cmocka_unit_test(test_parse_events),
	    cmocka_unit_test(test_error_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
