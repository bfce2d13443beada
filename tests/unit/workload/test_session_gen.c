/* Synthetic session generator: ids, prompt lengths, shared prefix, min-tokens suffix, determinism.
 * Uses a test double for the prompt builder (one whitespace-separated word = one token), so the
 * test does not depend on the tokenizer module's corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "workload/session_gen.h"

/* Link-time fallbacks in case the tokenizer module does not provide these yet; the tests install
 * their own backend and never call them. */
__attribute__((weak)) int tok_prompt_build(const struct tok *t, struct rng *rng, int64_t target_tokens,
                                           const char *suffix, struct buf *out)
{
	(void)t;
	(void)rng;
	(void)target_tokens;
	(void)suffix;
	(void)out;
	return -1;
}

__attribute__((weak)) size_t tok_count(const struct tok *t, const char *text, size_t len)
{
	(void)t;
	(void)text;
	(void)len;
	return 0;
}

static size_t fake_count(const struct tok *t, const char *text, size_t len)
{
	(void)t;
	size_t n = 0;
	bool in = false;
	for (size_t i = 0; i < len; i++) {
		bool sp = text[i] == ' ' || text[i] == '\n' || text[i] == '\t';
		if (!sp && !in)
			n++;
		in = !sp;
	}
	return n;
}

static const char *WORDS[] = {"alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta"};

static int fake_build(const struct tok *t, struct rng *rng, int64_t target, const char *suffix, struct buf *out)
{
	int64_t st = suffix ? (int64_t)fake_count(t, suffix, strlen(suffix)) : 0;
	if (target < st || target < 1)
		return -1;
	for (int64_t i = 0; i < target - st; i++) {
		if (i)
			buf_putc(out, ' ');
		buf_puts(out, WORDS[rng_below(rng, 8)]);
	}
	if (suffix)
		buf_puts(out, suffix);
	return 0;
}

static const struct wl_text_backend FAKE = {fake_build, fake_count};

static struct cfg_channel channel;

static void base_cfg(struct cfg_benchmark *c)
{
	memset(c, 0, sizeof *c);
	c->seed = 42;
	struct cfg_session_gen *sg = &c->session_generator;
	sg->type = CFG_SESSION_GEN_SYNTHETIC;
	sg->session_graph.type = CFG_GRAPH_LINEAR;
	sg->session_graph.inherit_history = true;
	sg->session_graph.num_request_generator =
	    (struct cfg_length_gen){.type = CFG_LENGTH_UNIFORM, .min = 2, .max = 5};
	sg->session_graph.request_wait_generator =
	    (struct cfg_interval_gen){.type = CFG_INTERVAL_POISSON, .arrival_rate = 1.0};
	memset(&channel, 0, sizeof channel);
	channel.type = CFG_CHANNEL_TEXT;
	channel.body_length_generator = (struct cfg_length_gen){.type = CFG_LENGTH_UNIFORM, .min = 6, .max = 12};
	channel.shared_prefix_probability = 1.0;
	sg->channels = &channel;
	sg->n_channels = 1;
	sg->output_spec.has_text = true;
	sg->output_spec.text_output_length = (struct cfg_length_gen){.type = CFG_LENGTH_UNIFORM, .min = 6, .max = 12};
}

static struct wl_session_gen *mk(const struct cfg_benchmark *c)
{
	char err[256];
	struct wl_session_gen *g = wl_session_gen_create(c, NULL, err, sizeof err);
	if (!g)
		fprintf(stderr, "create: %s\n", err);
	assert_non_null(g);
	wl_session_gen_set_text_backend(g, &FAKE);
	return g;
}

static size_t words(const char *s)
{
	return fake_count(NULL, s, strlen(s));
}

static void test_ids_and_lengths(void **state)
{
	(void)state;
	struct cfg_benchmark c;
	base_cfg(&c);
	struct wl_session_gen *g = mk(&c);
	uint64_t next_req = 0;
	for (uint64_t k = 0; k < 20; k++) {
		struct wl_session *s = NULL;
		assert_int_equal(wl_session_gen_next(g, &s), 0);
		assert_non_null(s);
		assert_int_equal(s->id, k);
		assert_true(s->n_nodes >= 2 && s->n_nodes < 5);
		for (size_t i = 0; i < s->n_nodes; i++) {
			const struct wl_request *r = &s->requests[i];
			assert_int_equal(r->id, next_req++);
			assert_int_equal(r->session_id, k);
			assert_true(r->target_prompt_tokens >= 6 && r->target_prompt_tokens < 12);
			assert_int_equal(words(r->prompt_text), r->target_prompt_tokens);
			assert_true(r->target_output_tokens >= 6 && r->target_output_tokens < 12);
			assert_int_equal(r->api_mode, WL_API_CHAT);
			assert_int_equal(r->n_history, 0);
			assert_false(r->history_prepopulated);
			assert_true(r->arrival_offset_s < 0);
			assert_int_equal(r->history_parent, i == 0 ? -1 : (int32_t)(i - 1));
		}
		wl_session_free(s);
	}
	wl_session_gen_free(g);

	/* no text output spec: no output target */
	c.session_generator.output_spec.has_text = false;
	g = mk(&c);
	struct wl_session *s;
	assert_int_equal(wl_session_gen_next(g, &s), 0);
	assert_int_equal(s->requests[0].target_output_tokens, 0);
	wl_session_free(s);
	wl_session_gen_free(g);
}

/* A signal (the runner's flag) stops session building with "interrupted"; unbounded length draws
 * are clamped to the limit (docs/CONFIG.md, Limits). */
static void test_interrupt_and_clamp(void **state)
{
	(void)state;
	struct cfg_benchmark c;
	base_cfg(&c);
	struct wl_session_gen *g = mk(&c);
	volatile sig_atomic_t flag = 0;
	wl_set_interrupt_flag(&flag);
	struct wl_session *s = NULL;
	assert_int_equal(wl_session_gen_next(g, &s), 0);
	wl_session_free(s);
	flag = 1;
	assert_true(wl_session_gen_next(g, &s) < 0);
	assert_null(s);
	assert_string_equal(wl_session_gen_error(g), "interrupted");
	wl_set_interrupt_flag(NULL);
	wl_session_gen_free(g);

	channel.body_length_generator =
	    (struct cfg_length_gen){.type = CFG_LENGTH_INVERSE_GAUSSIAN, .mean = 1e12, .shape = 1e12};
	c.session_generator.output_spec.text_output_length = channel.body_length_generator;
	c.runtime.max_request_tokens = 50;
	g = mk(&c);
	assert_int_equal(wl_session_gen_next(g, &s), 0);
	for (size_t i = 0; i < s->n_nodes; i++) {
		assert_int_equal(s->requests[i].target_prompt_tokens, 50);
		assert_int_equal(s->requests[i].target_output_tokens, 50);
	}
	wl_session_free(s);
	wl_session_gen_free(g);
}

static void test_shared_prefix(void **state)
{
	(void)state;
	struct cfg_benchmark c;
	base_cfg(&c);
	channel.body_length_generator = (struct cfg_length_gen){.type = CFG_LENGTH_FIXED, .value = 20};
	channel.shared_prefix_ratio = 0.5;
	channel.shared_prefix_probability = 1.0;
	struct wl_session_gen *g = mk(&c);
	char first_prefix[512] = "";
	int differing_bodies = 0;
	char prev_body[512] = "";
	for (int k = 0; k < 10; k++) {
		struct wl_session *s;
		assert_int_equal(wl_session_gen_next(g, &s), 0);
		const char *root = s->requests[0].prompt_text;
		assert_int_equal(words(root), 20);
		/* prefix = the first 10 words, identical in every session */
		const char *p = root;
		for (int w = 0; w < 10; w++) {
			p = strchr(p, ' ');
			assert_non_null(p);
			p++;
		}
		size_t plen = (size_t)(p - root);
		if (k == 0) {
			memcpy(first_prefix, root, plen);
			first_prefix[plen] = 0;
		} else {
			assert_int_equal(strncmp(root, first_prefix, plen), 0);
		}
		differing_bodies += strcmp(p, prev_body) != 0;
		snprintf(prev_body, sizeof prev_body, "%s", p);
		/* non-root requests do not get the prefix */
		for (size_t i = 1; i < s->n_nodes; i++)
			assert_int_equal(words(s->requests[i].prompt_text), 20);
		wl_session_free(s);
	}
	assert_true(differing_bodies >= 9); /* bodies vary, the prefix does not */
	wl_session_gen_free(g);

	/* a prefix of a different length starts with the same text (prefix cache per length, same rng state) */
	channel.body_length_generator = (struct cfg_length_gen){.type = CFG_LENGTH_FIXED, .value = 40};
	g = mk(&c);
	struct wl_session *s;
	assert_int_equal(wl_session_gen_next(g, &s), 0);
	assert_int_equal(words(s->requests[0].prompt_text), 40);
	assert_int_equal(strncmp(s->requests[0].prompt_text, first_prefix, strlen(first_prefix)), 0);
	wl_session_free(s);
	wl_session_gen_free(g);

	/* probability 0: never a prefix */
	channel.body_length_generator = (struct cfg_length_gen){.type = CFG_LENGTH_FIXED, .value = 20};
	channel.shared_prefix_probability = 0.0;
	g = mk(&c);
	int starts_same = 0;
	for (int k = 0; k < 10; k++) {
		assert_int_equal(wl_session_gen_next(g, &s), 0);
		starts_same += strncmp(s->requests[0].prompt_text, first_prefix, strlen(first_prefix)) == 0;
		wl_session_free(s);
	}
	assert_true(starts_same <= 1);
	wl_session_gen_free(g);
}

static void test_min_tokens_suffix(void **state)
{
	(void)state;
	struct cfg_benchmark c;
	base_cfg(&c);
	c.client.use_min_tokens_prompt_fallback = true;
	c.session_generator.output_spec.text_output_length =
	    (struct cfg_length_gen){.type = CFG_LENGTH_FIXED, .value = 7};
	channel.body_length_generator = (struct cfg_length_gen){.type = CFG_LENGTH_FIXED, .value = 10};
	struct wl_session_gen *g = mk(&c);
	struct wl_session *s;
	assert_int_equal(wl_session_gen_next(g, &s), 0);
	const char *want = "\n\nGenerate at least 7 tokens.";
	for (size_t i = 0; i < s->n_nodes; i++) {
		const char *p = s->requests[i].prompt_text;
		assert_true(strlen(p) > strlen(want));
		assert_string_equal(p + strlen(p) - strlen(want), want);
		assert_int_equal(words(p), 10);
		assert_int_equal(s->requests[i].target_prompt_tokens, 10);
	}
	wl_session_free(s);
	wl_session_gen_free(g);

	/* too short for the instruction (4 tokens): dropped, prompt keeps its length */
	channel.body_length_generator = (struct cfg_length_gen){.type = CFG_LENGTH_FIXED, .value = 3};
	g = mk(&c);
	assert_int_equal(wl_session_gen_next(g, &s), 0);
	assert_null(strstr(s->requests[0].prompt_text, "Generate"));
	assert_int_equal(words(s->requests[0].prompt_text), 3);
	wl_session_free(s);
	wl_session_gen_free(g);

	/* fallback disabled: no instruction */
	c.client.use_min_tokens_prompt_fallback = false;
	channel.body_length_generator = (struct cfg_length_gen){.type = CFG_LENGTH_FIXED, .value = 10};
	g = mk(&c);
	assert_int_equal(wl_session_gen_next(g, &s), 0);
	assert_null(strstr(s->requests[0].prompt_text, "Generate"));
	wl_session_free(s);
	wl_session_gen_free(g);
}

static void test_determinism(void **state)
{
	(void)state;
	struct cfg_benchmark c;
	base_cfg(&c);
	channel.shared_prefix_ratio = 0.3;
	channel.shared_prefix_probability = 0.5;
	struct wl_session_gen *a = mk(&c), *b = mk(&c);
	c.seed = 43;
	struct wl_session_gen *d = mk(&c);
	int differ = 0;
	for (int k = 0; k < 20; k++) {
		struct wl_session *x, *y, *z;
		assert_int_equal(wl_session_gen_next(a, &x), 0);
		assert_int_equal(wl_session_gen_next(b, &y), 0);
		assert_int_equal(wl_session_gen_next(d, &z), 0);
		assert_int_equal(x->n_nodes, y->n_nodes);
		for (size_t i = 0; i < x->n_nodes; i++) {
			assert_string_equal(x->requests[i].prompt_text, y->requests[i].prompt_text);
			assert_true(x->requests[i].wait_after_ready_s == y->requests[i].wait_after_ready_s);
			assert_int_equal(x->requests[i].target_output_tokens, y->requests[i].target_output_tokens);
		}
		differ += strcmp(x->requests[0].prompt_text, z->requests[0].prompt_text) != 0;
		wl_session_free(x);
		wl_session_free(y);
		wl_session_free(z);
	}
	assert_true(differ > 15);
	wl_session_gen_free(a);
	wl_session_gen_free(b);
	wl_session_gen_free(d);

	/* stream independence: changing the output length config leaves prompts and graph unchanged */
	base_cfg(&c);
	a = mk(&c);
	c.session_generator.output_spec.text_output_length =
	    (struct cfg_length_gen){.type = CFG_LENGTH_UNIFORM, .min = 100, .max = 2000};
	b = mk(&c);
	for (int k = 0; k < 20; k++) {
		struct wl_session *x, *y;
		assert_int_equal(wl_session_gen_next(a, &x), 0);
		assert_int_equal(wl_session_gen_next(b, &y), 0);
		assert_int_equal(x->n_nodes, y->n_nodes);
		for (size_t i = 0; i < x->n_nodes; i++) {
			assert_string_equal(x->requests[i].prompt_text, y->requests[i].prompt_text);
			assert_true(x->requests[i].wait_after_ready_s == y->requests[i].wait_after_ready_s);
		}
		wl_session_free(x);
		wl_session_free(y);
	}
	wl_session_gen_free(a);
	wl_session_gen_free(b);
}

static void test_unsupported(void **state)
{
	(void)state;
	struct cfg_benchmark c;
	char err[256];
	base_cfg(&c);
	c.session_generator.type = CFG_SESSION_GEN_TRACE;
	/* type: trace goes to the trace generators, which need a trace_file */
	assert_null(wl_session_gen_create(&c, NULL, err, sizeof err));
	assert_non_null(strstr(err, "trace"));
	c.session_generator.type = CFG_SESSION_GEN_LMEVAL;
	assert_null(wl_session_gen_create(&c, NULL, err, sizeof err));
	assert_non_null(strstr(err, "lmeval"));
	assert_non_null(strstr(err, "needs the lm-eval bridge")); /* none registered here */
	base_cfg(&c);
	channel.type = CFG_CHANNEL_IMAGE;
	assert_null(wl_session_gen_create(&c, NULL, err, sizeof err));
	assert_non_null(strstr(err, "text"));
	base_cfg(&c);
	channel.body_length_generator.min = 20; /* min > max */
	assert_null(wl_session_gen_create(&c, NULL, err, sizeof err));
	assert_non_null(strstr(err, "body_length"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ids_and_lengths), cmocka_unit_test(test_interrupt_and_clamp),
	    cmocka_unit_test(test_shared_prefix),   cmocka_unit_test(test_min_tokens_suffix),
	    cmocka_unit_test(test_determinism),     cmocka_unit_test(test_unsupported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
