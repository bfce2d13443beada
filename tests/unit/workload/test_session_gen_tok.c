/* Synthetic session generator with the real tokenizer module (the whitespace-word approximation):
 * every prompt has exactly its target token count, with and without shared prefix and suffix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "workload/session_gen.h"

static struct cfg_channel channel;

static void base_cfg(struct cfg_benchmark *c)
{
	memset(c, 0, sizeof *c);
	c->seed = 42;
	struct cfg_session_gen *sg = &c->session_generator;
	sg->type = CFG_SESSION_GEN_SYNTHETIC;
	sg->session_graph.type = CFG_GRAPH_BRANCHING;
	sg->session_graph.inherit_history = true;
	sg->session_graph.single_root = false;
	sg->session_graph.request_wait_generator =
	    (struct cfg_interval_gen){.type = CFG_INTERVAL_POISSON, .arrival_rate = 1.0};
	sg->session_graph.num_layers_generator =
	    (struct cfg_length_gen){.type = CFG_LENGTH_UNIFORM, .min = 2, .max = 5};
	sg->session_graph.layer_width_generator =
	    (struct cfg_length_gen){.type = CFG_LENGTH_UNIFORM, .min = 1, .max = 3};
	sg->session_graph.fan_out_generator = (struct cfg_length_gen){.type = CFG_LENGTH_UNIFORM, .min = 1, .max = 2};
	sg->session_graph.fan_in_generator = (struct cfg_length_gen){.type = CFG_LENGTH_UNIFORM, .min = 1, .max = 2};
	sg->session_graph.connection_dist_generator = (struct cfg_length_gen){.type = CFG_LENGTH_FIXED, .value = 1};
	memset(&channel, 0, sizeof channel);
	channel.type = CFG_CHANNEL_TEXT;
	channel.body_length_generator = (struct cfg_length_gen){.type = CFG_LENGTH_UNIFORM, .min = 5, .max = 400};
	channel.shared_prefix_ratio = 0.4;
	channel.shared_prefix_probability = 0.7;
	sg->channels = &channel;
	sg->n_channels = 1;
	sg->output_spec.has_text = true;
	sg->output_spec.text_output_length = (struct cfg_length_gen){.type = CFG_LENGTH_UNIFORM, .min = 1, .max = 300};
	c->client.use_min_tokens_prompt_fallback = true;
}

static void test_exact_counts(void **state)
{
	(void)state;
	const struct tok *tok = tok_approx();
	assert_non_null(tok);
	struct cfg_benchmark c;
	base_cfg(&c);
	char err[256];
	struct wl_session_gen *g = wl_session_gen_create(&c, tok, err, sizeof err);
	assert_non_null(g);
	size_t n_req = 0, with_suffix = 0;
	for (int k = 0; k < 100; k++) {
		struct wl_session *s;
		int rc = wl_session_gen_next(g, &s);
		if (rc != 0)
			fprintf(stderr, "next: %s\n", wl_session_gen_error(g));
		assert_int_equal(rc, 0);
		for (size_t i = 0; i < s->n_nodes; i++) {
			const struct wl_request *r = &s->requests[i];
			size_t n = tok_count(tok, r->prompt_text, strlen(r->prompt_text));
			assert_int_equal(n, r->target_prompt_tokens);
			with_suffix += strstr(r->prompt_text, "Generate at least") != NULL;
			n_req++;
		}
		wl_session_free(s);
	}
	assert_true(n_req > 100);
	assert_true(with_suffix > n_req / 2);
	wl_session_gen_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
