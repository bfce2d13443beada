/* Trace replay with the real tokenizer module: the whitespace-word approximation (exact prompt
 * token counts) and a tiny byte-level BPE tokenizer.json (valid UTF-8, near-target counts, shared
 * prefixes identical), plus corpus_file loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_types.h"
#include "core/xalloc.h"
#include "tokenizer/tokenizer.h"
#include "workload/request.h"
#include "workload/trace_gen.h"

static char src_dir[4096];

static void cfg_init(struct cfg_benchmark *cfg, const char *path, enum cfg_flavor_type flavor)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->seed = 7;
	struct cfg_session_gen *sg = &cfg->session_generator;
	sg->type = CFG_SESSION_GEN_TRACE;
	sg->trace_file = xstrdup(path);
	sg->wrap_mode = false;
	sg->flavor.type = flavor;
	sg->flavor.corpus_file = xstrdup("");
	sg->flavor.page_size = 4;
	sg->flavor.block_size = 8;
	sg->flavor.num_documents = 10;
	sg->flavor.time_scale = 1.0;
}

static void cfg_done(struct cfg_benchmark *cfg)
{
	free(cfg->session_generator.trace_file);
	free(cfg->session_generator.flavor.corpus_file);
}

static char *data(const char *name)
{
	return xasprintf("%s/tests/data/trace/%s", src_dir, name);
}

static size_t count(const struct tok *t, const char *s)
{
	return tok_count(t, s, strlen(s));
}

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
		if (!n)
			return false;
		for (size_t k = 1; k < n; k++)
			if ((p[k] >> 6) != 2)
				return false;
		p += n;
	}
	return true;
}

/* Collect every session of a trace. */
static size_t all_sessions(const struct cfg_benchmark *cfg, const struct tok *t, struct wl_session **out, size_t max)
{
	char err[1024];
	struct wl_trace_gen *g = wl_trace_gen_create(cfg, t, err, sizeof err);
	if (!g)
		fail_msg("create: %s", err);
	size_t n = 0;
	int rc;
	while (n < max && (rc = wl_trace_gen_next(g, &out[n])) == 0)
		n++;
	if (n < max && rc != 1)
		fail_msg("next: %s", wl_trace_gen_error(g));
	wl_trace_gen_free(g);
	return n;
}

static void free_all(struct wl_session **s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wl_session_free(s[i]);
}

static void test_approx_exact_counts(void **state)
{
	(void)state;
	const struct tok *t = tok_approx();
	struct {
		const char *file;
		enum cfg_flavor_type flavor;
	} cases[] = {
	    {"request_log.csv", CFG_FLAVOR_REQUEST_LOG},
	    {"timed_synthetic.jsonl", CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN},
	    {"shared_prefix.jsonl", CFG_FLAVOR_SHARED_PREFIX},
	    {"mooncake.jsonl", CFG_FLAVOR_MOONCAKE},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		char *path = data(cases[c].file);
		struct cfg_benchmark cfg;
		cfg_init(&cfg, path, cases[c].flavor);
		struct wl_session *s[16];
		size_t n = all_sessions(&cfg, t, s, 16);
		assert_true(n > 0);
		for (size_t i = 0; i < n; i++) {
			for (size_t k = 0; k < s[i]->n_nodes; k++) {
				const struct wl_request *q = &s[i]->requests[k];
				size_t got = count(t, q->prompt_text);
				if ((int64_t)got != q->target_prompt_tokens)
					fail_msg("%s session %zu node %zu: %zu tokens, target %lld", cases[c].file, i,
					         k, got, (long long)q->target_prompt_tokens);
			}
		}
		free_all(s, n);
		cfg_done(&cfg);
		free(path);
	}
}

static void test_bpe_prompts(void **state)
{
	(void)state;
	char *tj = xasprintf("%s/tests/data/tokenizer/tiny_bytelevel.json", src_dir);
	char err[512];
	struct tok *t = tok_load(tj, err, sizeof err);
	if (!t)
		fail_msg("tok_load: %s", err);
	free(tj);
	char *path = data("shared_prefix.jsonl");
	struct cfg_benchmark cfg;
	cfg_init(&cfg, path, CFG_FLAVOR_SHARED_PREFIX);
	struct wl_session *s[8];
	size_t n = all_sessions(&cfg, t, s, 8);
	assert_int_equal(n, 3);
	/* same hash ids => identical text, under a real BPE too */
	assert_string_equal(s[0]->requests[0].prompt_text, s[2]->requests[0].prompt_text);
	assert_string_not_equal(s[0]->requests[0].prompt_text, s[1]->requests[0].prompt_text);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < s[i]->n_nodes; k++) {
			const struct wl_request *q = &s[i]->requests[k];
			assert_true(valid_utf8(q->prompt_text));
			int64_t got = (int64_t)count(t, q->prompt_text);
			/* blocks are exact alone; joins may merge or split a token at each boundary */
			if (got < q->target_prompt_tokens - 2 || got > q->target_prompt_tokens + 2)
				fail_msg("session %zu node %zu: %lld tokens, target %lld", i, k, (long long)got,
				         (long long)q->target_prompt_tokens);
		}
	free_all(s, n);
	cfg_done(&cfg);
	free(path);

	/* random-vocabulary prompts (request_log): valid UTF-8, count corrected towards the target */
	path = data("request_log.csv");
	cfg_init(&cfg, path, CFG_FLAVOR_REQUEST_LOG);
	n = all_sessions(&cfg, t, s, 8);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		const struct wl_request *q = &s[i]->requests[0];
		assert_true(valid_utf8(q->prompt_text));
		int64_t got = (int64_t)count(t, q->prompt_text);
		int64_t tol = q->target_prompt_tokens / 4 + 2;
		if (got < q->target_prompt_tokens - tol || got > q->target_prompt_tokens + tol)
			fail_msg("request_log %zu: %lld tokens, target %lld", i, (long long)got,
			         (long long)q->target_prompt_tokens);
		assert_null(strstr(q->prompt_text, "<|endoftext|>")); /* special tokens avoided */
	}
	free_all(s, n);
	cfg_done(&cfg);
	free(path);
	tok_free(t);
}

static void test_corpus_file(void **state)
{
	(void)state;
	char corpus[] = "/tmp/vk-trace-corpus-XXXXXX";
	int fd = mkstemp(corpus);
	assert_true(fd >= 0);
	FILE *fp = fdopen(fd, "w");
	fputs("zebra yak xylophone walrus\n\nvulture umbrella tiger\n", fp);
	fclose(fp);
	char *path = data("shared_prefix.jsonl");
	struct cfg_benchmark cfg;
	cfg_init(&cfg, path, CFG_FLAVOR_SHARED_PREFIX);
	free(cfg.session_generator.flavor.corpus_file);
	cfg.session_generator.flavor.corpus_file = xstrdup(corpus);
	const struct tok *t = tok_approx();
	struct wl_session *s[8];
	size_t n = all_sessions(&cfg, t, s, 8);
	assert_int_equal(n, 3);
	/* every word of every prompt comes from the corpus file */
	const char *allowed = " zebra yak xylophone walrus vulture umbrella tiger ";
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < s[i]->n_nodes; k++) {
			char *copy = xstrdup(s[i]->requests[k].prompt_text);
			for (char *w = strtok(copy, " \n"); w; w = strtok(NULL, " \n")) {
				char *needle = xasprintf(" %s ", w);
				if (!strstr(allowed, needle))
					fail_msg("word '%s' not from the corpus file", w);
				free(needle);
			}
			assert_int_equal(count(t, s[i]->requests[k].prompt_text),
			                 s[i]->requests[k].target_prompt_tokens);
			free(copy);
		}
	free_all(s, n);

	/* the same corpus under a BPE tokenizer: token windows of the corpus stream */
	char *tj = xasprintf("%s/tests/data/tokenizer/tiny_bytelevel.json", src_dir);
	char err[512];
	struct tok *bpe = tok_load(tj, err, sizeof err);
	free(tj);
	assert_non_null(bpe);
	n = all_sessions(&cfg, bpe, s, 8);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < s[i]->n_nodes; k++) {
			const struct wl_request *q = &s[i]->requests[k];
			assert_true(valid_utf8(q->prompt_text));
			int64_t got = (int64_t)count(bpe, q->prompt_text);
			if (got < q->target_prompt_tokens - 3 || got > q->target_prompt_tokens + 3)
				fail_msg("bpe corpus session %zu node %zu: %lld tokens, target %lld", i, k,
				         (long long)got, (long long)q->target_prompt_tokens);
			/* every piece is part of the corpus file's text (windows may cut words) */
			char *copy = xstrdup(q->prompt_text);
			for (char *w = strtok(copy, " \n"); w; w = strtok(NULL, " \n"))
				if (!strstr(allowed, w))
					fail_msg("piece '%s' not from the corpus file", w);
			free(copy);
		}
	free_all(s, n);
	tok_free(bpe);
	cfg_done(&cfg);
	free(path);
	unlink(corpus);
}

int main(void)
{
	const char *src = getenv("VK_SOURCE_DIR");
	snprintf(src_dir, sizeof src_dir, "%s", src ? src : ".");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_approx_exact_counts),
	    cmocka_unit_test(test_bpe_prompts),
	    cmocka_unit_test(test_corpus_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
