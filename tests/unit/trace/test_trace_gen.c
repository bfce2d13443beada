/* Trace replay session generator: every flavor and format from tests/data/trace/, wrap, timestamps,
 * shared prefixes, history, errors with file:line, bounded memory on a large trace.
 * Tokenizer: the word-counting test double (tok_double.c), so token counts are exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config/config_types.h"
#include "core/xalloc.h"
#include "tokenizer/tokenizer.h"
#include "workload/request.h"
#include "workload/trace_gen.h"

static char data_dir[4096];

static size_t words(const char *s)
{
	size_t n = 0;
	bool in = false;
	for (; *s; s++) {
		bool sp = isspace((unsigned char)*s);
		if (!sp && !in)
			n++;
		in = !sp;
	}
	return n;
}

struct fixture {
	struct cfg_benchmark cfg;
	struct wl_trace_gen *g;
	char err[1024];
};

static void cfg_init(struct cfg_benchmark *cfg, const char *file, enum cfg_flavor_type flavor, bool wrap)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->seed = 42;
	struct cfg_session_gen *sg = &cfg->session_generator;
	sg->type = CFG_SESSION_GEN_TRACE;
	if (file[0] == '/')
		sg->trace_file = xstrdup(file);
	else
		sg->trace_file = xasprintf("%s/%s", data_dir, file);
	sg->wrap_mode = wrap;
	struct cfg_trace_flavor *f = &sg->flavor;
	f->type = flavor;
	f->corpus_file = xstrdup("/nonexistent/corpus.txt");
	f->page_size = 4;
	f->block_size = 8;
	f->num_documents = 2;
	f->conversation_column = xstrdup("conversations");
	f->role_key = xstrdup("from");
	f->content_key = xstrdup("value");
	f->user_role_value = xstrdup("human");
	f->assistant_role_value = xstrdup("gpt");
	f->replay_timestamps = false;
	f->time_scale = 1.0;
}

static void cfg_done(struct cfg_benchmark *cfg)
{
	struct cfg_session_gen *sg = &cfg->session_generator;
	free(sg->trace_file);
	free(sg->flavor.corpus_file);
	free(sg->flavor.conversation_column);
	free(sg->flavor.role_key);
	free(sg->flavor.content_key);
	free(sg->flavor.user_role_value);
	free(sg->flavor.assistant_role_value);
}

static struct wl_trace_gen *open_gen(struct cfg_benchmark *cfg)
{
	char err[1024];
	struct wl_trace_gen *g = wl_trace_gen_create(cfg, tok_approx(), err, sizeof err);
	if (!g)
		fail_msg("create failed: %s", err);
	return g;
}

static struct wl_session *next_ok(struct wl_trace_gen *g)
{
	struct wl_session *s = NULL;
	int rc = wl_trace_gen_next(g, &s);
	if (rc != 0)
		fail_msg("next returned %d: %s", rc, wl_trace_gen_error(g));
	assert_non_null(s);
	/* invariants of every session: linear graph, ids, parents */
	for (size_t i = 0; i < s->n_nodes; i++) {
		const struct wl_request *q = &s->requests[i];
		assert_int_equal(q->node_id, i);
		assert_int_equal(q->session_id, s->id);
		assert_non_null(q->prompt_text);
		if (i == 0) {
			assert_int_equal(q->n_parents, 0);
			assert_int_equal(q->history_parent, -1);
		} else {
			assert_int_equal(q->n_parents, 1);
			assert_int_equal(q->parent_nodes[0], i - 1);
			assert_int_equal(q->id, s->requests[i - 1].id + 1);
		}
	}
	assert_int_equal(s->n_edges, s->n_nodes ? s->n_nodes - 1 : 0);
	for (size_t e = 0; e < s->n_edges; e++) {
		assert_int_equal(s->edges[e].src, e);
		assert_int_equal(s->edges[e].dst, e + 1);
	}
	return s;
}

static void expect_end(struct wl_trace_gen *g)
{
	struct wl_session *s = NULL;
	assert_int_equal(wl_trace_gen_next(g, &s), 1);
	assert_null(s);
}

/* ---------------------------------------------------------------- request_log */

static void test_request_log_csv(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	cfg_init(&cfg, "request_log.csv", CFG_FLAVOR_REQUEST_LOG, false);
	struct wl_trace_gen *g = open_gen(&cfg);
	const int64_t in[] = {12, 7, 20}, out[] = {5, 3, 9};
	for (int i = 0; i < 3; i++) {
		struct wl_session *s = next_ok(g);
		assert_int_equal(s->id, i);
		assert_int_equal(s->n_nodes, 1);
		const struct wl_request *q = &s->requests[0];
		assert_int_equal(q->id, i);
		assert_int_equal(q->target_prompt_tokens, in[i]);
		assert_int_equal(q->target_output_tokens, out[i]);
		assert_int_equal(words(q->prompt_text), in[i]); /* random vocab ids, exact under the double */
		assert_true(q->arrival_offset_s < 0);
		assert_false(q->history_prepopulated);
		wl_session_free(s);
	}
	expect_end(g);
	expect_end(g);
	wl_trace_gen_free(g);
	cfg_done(&cfg);
}

static void test_request_log_sessions_and_wrap(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	cfg_init(&cfg, "request_log_sessions.jsonl", CFG_FLAVOR_REQUEST_LOG, true);
	struct wl_trace_gen *g = open_gen(&cfg);
	char *first_prompt = NULL;
	uint64_t want_req = 0;
	for (int pass = 0; pass < 2; pass++) {
		struct wl_session *s = next_ok(g);
		assert_int_equal(s->id, pass * 3);
		assert_int_equal(s->n_nodes, 2);
		assert_int_equal(s->requests[0].id, want_req);
		assert_int_equal(s->requests[1].target_prompt_tokens, 6);
		assert_true(s->requests[1].wait_after_ready_s == 0.5);
		assert_true(s->edges[0].is_history_parent);
		assert_int_equal(s->requests[1].history_parent, 0);
		if (pass == 0)
			first_prompt = xstrdup(s->requests[0].prompt_text);
		else
			assert_string_not_equal(first_prompt, s->requests[0].prompt_text); /* fresh prompts */
		want_req += 2;
		wl_session_free(s);
		s = next_ok(g); /* session 11 */
		assert_int_equal(s->n_nodes, 1);
		assert_int_equal(s->requests[0].target_prompt_tokens, 8);
		wl_session_free(s);
		s = next_ok(g); /* row without session_id: its own session */
		assert_int_equal(s->n_nodes, 1);
		assert_int_equal(s->requests[0].target_output_tokens, 1);
		wl_session_free(s);
		want_req += 2;
	}
	free(first_prompt);
	wl_trace_gen_free(g);
	cfg_done(&cfg);
}

/* ---------------------------------------------------------------- timed synthetic */

static void test_timed_synthetic(void **state)
{
	(void)state;
	const char *files[] = {"timed_synthetic.jsonl", "timed_synthetic.csv"};
	for (int f = 0; f < 2; f++) {
		struct cfg_benchmark cfg;
		cfg_init(&cfg, files[f], CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN, false);
		struct wl_trace_gen *g = open_gen(&cfg);
		struct wl_session *s = next_ok(g);
		if (f == 0) {
			/* rows given out of turn order: sorted by turn_idx */
			assert_int_equal(s->n_nodes, 3);
			const int64_t newin[] = {40, 30, 25}, out[] = {10, 7, 4};
			const double wait[] = {0.0, 2.5, 1.0};
			for (int i = 0; i < 3; i++) {
				const struct wl_request *q = &s->requests[i];
				assert_int_equal(q->target_prompt_tokens, newin[i]);
				assert_int_equal(q->target_output_tokens, out[i]);
				assert_true(q->wait_after_ready_s == wait[i]);
				assert_int_equal(words(q->prompt_text), newin[i]);
				assert_false(q->history_prepopulated);
				if (i)
					assert_int_equal(q->history_parent, i - 1);
			}
			assert_true(s->edges[0].is_history_parent && s->edges[1].is_history_parent);
			assert_string_not_equal(s->requests[0].prompt_text, s->requests[1].prompt_text);
		} else {
			assert_int_equal(s->n_nodes, 2);
			assert_int_equal(s->requests[0].target_prompt_tokens, 20);
			assert_int_equal(s->requests[1].target_prompt_tokens, 18);
			assert_int_equal(s->requests[1].target_output_tokens, 6); /* num_decode_tokens renamed */
			assert_true(s->requests[1].wait_after_ready_s == 0.75);
			assert_true(s->requests[0].wait_after_ready_s == 0.0); /* empty CSV field */
		}
		char *p0 = xstrdup(s->requests[0].prompt_text);
		wl_session_free(s);
		s = next_ok(g);
		assert_int_equal(s->id, 1);
		assert_int_equal(s->n_nodes, 1);
		/* sessions get distinct (unique-head) prompts */
		assert_memory_not_equal(p0, s->requests[0].prompt_text, 8);
		free(p0);
		wl_session_free(s);
		expect_end(g);
		wl_trace_gen_free(g);
		cfg_done(&cfg);
	}
}

/* ---------------------------------------------------------------- shared prefix */

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_shared_prefix(void **state)
{
	(void)state;
	char *first_jsonl[3] = {0};
	const char *files[] = {"shared_prefix.jsonl", "shared_prefix.csv"};
	for (int f = 0; f < 2; f++) {
		struct cfg_benchmark cfg;
		cfg_init(&cfg, files[f], CFG_FLAVOR_SHARED_PREFIX, false);
		struct wl_trace_gen *g = open_gen(&cfg);
		struct wl_session *s0 = next_ok(g), *s1 = next_ok(g);
		assert_int_equal(s0->n_nodes, 2);
		const char *a = s0->requests[0].prompt_text, *b = s1->requests[0].prompt_text;
		assert_int_equal(s0->requests[0].target_prompt_tokens, 16); /* 2 blocks of 8 */
		assert_int_equal(words(a), 16);
		assert_int_equal(words(b), 16);
		/* same first hash id (101) => identical first block; second block differs (102 vs 103) */
		size_t common = 0;
		while (a[common] && a[common] == b[common])
			common++;
		struct buf blk;
		buf_init(&blk);
		buf_append(&blk, a, common);
		assert_true(words(blk.data) >= 8);
		assert_string_not_equal(a, b);
		buf_free(&blk);
		/* later turn: corpus text of new_input_length */
		assert_int_equal(s0->requests[1].target_prompt_tokens, 9);
		assert_int_equal(words(s0->requests[1].prompt_text), 9);
		assert_true(s0->requests[1].wait_after_ready_s == 0.2 || f == 1);
		assert_true(s0->edges[0].is_history_parent);
		if (f == 0) {
			struct wl_session *s2 = next_ok(g);
			/* session 2 has the same hash ids as session 0: identical prompt */
			assert_string_equal(s2->requests[0].prompt_text, a);
			first_jsonl[0] = xstrdup(a);
			first_jsonl[1] = xstrdup(b);
			wl_session_free(s2);
		} else {
			/* the same seed and hash ids give the same text across formats */
			assert_string_equal(a, first_jsonl[0]);
			assert_string_equal(b, first_jsonl[1]);
		}
		wl_session_free(s0);
		wl_session_free(s1);
		expect_end(g);
		wl_trace_gen_free(g);
		cfg_done(&cfg);
	}
	free(first_jsonl[0]);
	free(first_jsonl[1]);
}

static void test_shared_prefix_wrap_remaps_hash_ids(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	cfg_init(&cfg, "shared_prefix.jsonl", CFG_FLAVOR_SHARED_PREFIX, true);
	struct wl_trace_gen *g = open_gen(&cfg);
	struct wl_session *pass1[3], *pass2[3];
	for (int i = 0; i < 3; i++)
		pass1[i] = next_ok(g);
	for (int i = 0; i < 3; i++) {
		pass2[i] = next_ok(g);
		assert_int_equal(pass2[i]->id, 3 + i);
	}
	/* the first row's first hash id stays, the others are remapped: the first block is shared
	 * with pass 1, the full prompt is not; sessions 0 and 2 still share their whole prompt */
	const char *a1 = pass1[0]->requests[0].prompt_text, *a2 = pass2[0]->requests[0].prompt_text;
	assert_string_not_equal(a1, a2);
	size_t common = 0;
	while (a1[common] && a1[common] == a2[common])
		common++;
	char *pre = xstrndup(a1, common);
	assert_true(words(pre) >= 8);
	free(pre);
	assert_string_equal(pass2[0]->requests[0].prompt_text, pass2[2]->requests[0].prompt_text);
	for (int i = 0; i < 3; i++) {
		wl_session_free(pass1[i]);
		wl_session_free(pass2[i]);
	}
	wl_trace_gen_free(g);
	cfg_done(&cfg);
}

/* ---------------------------------------------------------------- rag */

static void test_rag(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	cfg_init(&cfg, "rag.csv", CFG_FLAVOR_RAG, false);
	struct wl_trace_gen *g = open_gen(&cfg);
	/* warmup: one session per top document (d1: 3 rows, d2: 2 rows; d3 dropped) */
	struct wl_session *s = next_ok(g);
	assert_string_equal(s->requests[0].prompt_text, "Summarize, briefly: \"doc one\" part A");
	assert_int_equal(s->requests[0].target_prompt_tokens, 6);
	wl_session_free(s);
	s = next_ok(g);
	assert_string_equal(s->requests[0].prompt_text, "Question about doc two");
	wl_session_free(s);
	const char *want[] = {"Summarize, briefly: \"doc one\" part A", "Question about doc two",
	                      "multi\nline prompt for doc one", "second question about doc two",
	                      "third question on doc one"};
	const int64_t out[] = {3, 2, 4, 2, 3};
	for (int i = 0; i < 5; i++) {
		s = next_ok(g);
		assert_int_equal(s->id, 2 + i);
		assert_int_equal(s->n_nodes, 1);
		assert_string_equal(s->requests[0].prompt_text, want[i]);
		assert_int_equal(s->requests[0].target_output_tokens, out[i]);
		wl_session_free(s);
	}
	expect_end(g);
	wl_trace_gen_free(g);
	cfg_done(&cfg);
}

/* ---------------------------------------------------------------- conversations */

static void assert_msg(const struct wl_message *m, const char *role, const char *content)
{
	assert_string_equal(m->role, role);
	assert_string_equal(m->content, content);
}

static void test_untimed_jsonl(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	cfg_init(&cfg, "untimed.jsonl", CFG_FLAVOR_UNTIMED_CONTENT_MULTI_TURN, false);
	struct wl_trace_gen *g = open_gen(&cfg);
	struct wl_session *s = next_ok(g);
	assert_int_equal(s->n_nodes, 2);
	const struct wl_request *q0 = &s->requests[0], *q1 = &s->requests[1];
	assert_string_equal(q0->prompt_text, "hello there");
	assert_true(q0->history_prepopulated && q1->history_prepopulated);
	assert_int_equal(q0->n_history, 1);
	assert_msg(&q0->history[0], "system", "You are terse.");
	assert_int_equal(q0->target_prompt_tokens, 2);
	assert_int_equal(q0->target_output_tokens, 1); /* "hi" */
	assert_string_equal(q1->prompt_text, "how are you today");
	assert_int_equal(q1->n_history, 3);
	assert_msg(&q1->history[0], "system", "You are terse.");
	assert_msg(&q1->history[1], "user", "hello there");
	assert_msg(&q1->history[2], "assistant", "hi");
	assert_int_equal(q1->target_output_tokens, 4); /* "fine thanks for asking" */
	/* recorded history is sent as is: no history-parent edge for the scheduler to rebuild from */
	assert_false(s->edges[0].is_history_parent);
	assert_int_equal(q1->history_parent, -1);
	wl_session_free(s);
	/* conversation given as a JSON string; the trailing user message has no reply */
	s = next_ok(g);
	assert_int_equal(s->n_nodes, 1);
	assert_string_equal(s->requests[0].prompt_text, "one two three");
	assert_int_equal(s->requests[0].n_history, 0);
	assert_int_equal(s->requests[0].target_output_tokens, 2);
	wl_session_free(s);
	expect_end(g);
	wl_trace_gen_free(g);
	cfg_done(&cfg);
}

static void test_untimed_csv(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	cfg_init(&cfg, "untimed.csv", CFG_FLAVOR_UNTIMED_CONTENT_MULTI_TURN, false);
	struct wl_trace_gen *g = open_gen(&cfg);
	struct wl_session *s = next_ok(g);
	assert_int_equal(s->n_nodes, 2);
	assert_string_equal(s->requests[0].prompt_text, "what is 2+2");
	assert_string_equal(s->requests[1].prompt_text, "and 3+3");
	assert_int_equal(s->requests[1].n_history, 2);
	assert_msg(&s->requests[1].history[0], "user", "what is 2+2");
	assert_msg(&s->requests[1].history[1], "assistant", "it is 4");
	assert_int_equal(s->requests[1].target_output_tokens, 1);
	wl_session_free(s);
	expect_end(g);
	wl_trace_gen_free(g);
	cfg_done(&cfg);
}

static void test_sharegpt(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	cfg_init(&cfg, "sharegpt.json", CFG_FLAVOR_SHAREGPT, true);
	struct wl_trace_gen *g = open_gen(&cfg);
	for (int pass = 0; pass < 2; pass++) {
		struct wl_session *s = next_ok(g);
		assert_int_equal(s->id, pass * 2);
		assert_int_equal(s->n_nodes, 2);
		assert_string_equal(s->requests[0].prompt_text, "Tell me a joke");
		assert_int_equal(s->requests[0].n_history, 0);
		assert_string_equal(s->requests[1].prompt_text, "Why?");
		assert_int_equal(s->requests[1].n_history, 2);
		assert_msg(&s->requests[1].history[1], "assistant", "Why did the chicken cross the road");
		assert_int_equal(s->requests[1].target_output_tokens, 6);
		assert_true(s->requests[1].history_prepopulated);
		wl_session_free(s);
		s = next_ok(g); /* user/chatgpt aliases */
		assert_int_equal(s->n_nodes, 1);
		assert_string_equal(s->requests[0].prompt_text, "Translate cat to French");
		assert_int_equal(s->requests[0].target_output_tokens, 1);
		wl_session_free(s);
		/* the empty conversation is skipped (with a warning), not an error */
	}
	wl_trace_gen_free(g);
	cfg_done(&cfg);
}

/* ---------------------------------------------------------------- mooncake */

static void test_mooncake_blocks_and_timestamps(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	cfg_init(&cfg, "mooncake.jsonl", CFG_FLAVOR_MOONCAKE, true);
	cfg.session_generator.flavor.replay_timestamps = true;
	cfg.session_generator.flavor.time_scale = 0.5;
	struct wl_trace_gen *g = open_gen(&cfg);
	struct wl_session *s[8];
	for (int i = 0; i < 8; i++)
		s[i] = next_ok(g);
	const int64_t in[] = {20, 16, 30, 8};
	const double ts_ms[] = {0, 500, 1000, 2500};
	const double period_ms = 2500 + 2500.0 / 3;
	for (int i = 0; i < 8; i++) {
		const struct wl_request *q = &s[i]->requests[0];
		assert_int_equal(q->target_prompt_tokens, in[i % 4]);
		assert_int_equal(words(q->prompt_text), in[i % 4]);
		double want = (ts_ms[i % 4] + (i / 4) * period_ms) / 1000.0 * 0.5;
		if (fabs(q->arrival_offset_s - want) > 1e-9)
			fail_msg("session %d: arrival %.9f, want %.9f", i, q->arrival_offset_s, want);
	}
	/* row 1 (blocks 1,2) is a prefix of row 0 (1,2,3 partial) and row 2 (1,2 + filler) */
	const char *p1 = s[1]->requests[0].prompt_text;
	assert_true(starts_with(s[0]->requests[0].prompt_text, p1));
	assert_true(starts_with(s[2]->requests[0].prompt_text, p1));
	assert_false(starts_with(s[3]->requests[0].prompt_text, p1));
	/* second pass: hash id 1 (the first row's first id) kept, the others remapped */
	const char *p5 = s[5]->requests[0].prompt_text;
	assert_string_not_equal(p1, p5);
	size_t common = 0;
	while (p1[common] && p1[common] == p5[common])
		common++;
	char *pre = xstrndup(p1, common);
	assert_true(words(pre) >= 8);
	free(pre);
	for (int i = 0; i < 8; i++)
		wl_session_free(s[i]);
	wl_trace_gen_free(g);

	/* without replay: no arrival offsets */
	cfg.session_generator.flavor.replay_timestamps = false;
	g = open_gen(&cfg);
	struct wl_session *one = next_ok(g);
	assert_true(one->requests[0].arrival_offset_s < 0);
	wl_session_free(one);
	wl_trace_gen_free(g);
	cfg_done(&cfg);
}

/* ---------------------------------------------------------------- determinism */

static void test_deterministic(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	cfg_init(&cfg, "timed_synthetic.jsonl", CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN, false);
	struct wl_trace_gen *g1 = open_gen(&cfg), *g2 = open_gen(&cfg);
	struct wl_session *a = next_ok(g1), *b = next_ok(g2);
	for (size_t i = 0; i < a->n_nodes; i++)
		assert_string_equal(a->requests[i].prompt_text, b->requests[i].prompt_text);
	wl_session_free(a);
	wl_session_free(b);
	wl_trace_gen_free(g1);
	wl_trace_gen_free(g2);
	cfg.seed = 43;
	g1 = open_gen(&cfg);
	a = next_ok(g1);
	cfg.seed = 42;
	g2 = open_gen(&cfg);
	b = next_ok(g2);
	assert_string_not_equal(a->requests[0].prompt_text, b->requests[0].prompt_text);
	wl_session_free(a);
	wl_session_free(b);
	wl_trace_gen_free(g1);
	wl_trace_gen_free(g2);
	cfg_done(&cfg);
}

/* ---------------------------------------------------------------- errors */

static char *write_tmp(const char *suffix, const char *text)
{
	char *path = xasprintf("/tmp/vk-trace-test-XXXXXX%s", suffix);
	int fd = mkstemps(path, (int)strlen(suffix));
	assert_true(fd >= 0);
	FILE *fp = fdopen(fd, "w");
	fputs(text, fp);
	fclose(fp);
	return path;
}

/* Expect an error (at create when at_create, else on the first next) containing path + needle. */
static void expect_gen_error(const char *suffix, const char *text, enum cfg_flavor_type flavor, int good_sessions,
                             const char *needle)
{
	char *path = write_tmp(suffix, text);
	struct cfg_benchmark cfg;
	cfg_init(&cfg, path, flavor, false);
	char err[1024];
	struct wl_trace_gen *g = wl_trace_gen_create(&cfg, tok_approx(), err, sizeof err);
	const char *msg = err;
	if (g) {
		struct wl_session *s;
		for (int i = 0; i < good_sessions; i++)
			wl_session_free(next_ok(g));
		assert_true(wl_trace_gen_next(g, &s) < 0);
		assert_null(s);
		msg = wl_trace_gen_error(g);
		assert_true(wl_trace_gen_next(g, &s) < 0); /* stays failed */
	}
	char *want = xasprintf("%s%s", path, needle);
	if (!strstr(msg, want))
		fail_msg("error '%s' does not contain '%s'", msg, want);
	free(want);
	wl_trace_gen_free(g);
	cfg_done(&cfg);
	unlink(path);
	free(path);
}

static void test_errors(void **state)
{
	(void)state;
	expect_gen_error(".csv", "session_id,input_length,new_input_length\n1,2,3\n",
	                 CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN, 0, ":1: missing required column 'output_length'");
	expect_gen_error(".jsonl", "{\"input_length\": 3, \"output_length\": 1}\n{\"input_length\": 3}\n",
	                 CFG_FLAVOR_REQUEST_LOG, 1, ":2: key 'output_length': missing required value");
	expect_gen_error(".jsonl", "{\"input_length\": 3, \"output_length\": 1}\n\n{\"input_length\": 3,\n",
	                 CFG_FLAVOR_REQUEST_LOG, 1, ":3:");
	expect_gen_error(".csv", "input_length,output_length\n3,1\n4,many\n", CFG_FLAVOR_REQUEST_LOG, 1,
	                 ":3: column 2 'output_length': expected an integer >= 0 and <= 1048576 (the limit: "
	                 "runtime.max_request_tokens), got \"many\"");
	/* hostile values (issue 21): NaN, negative, huge, fractional: file, line and key named */
	expect_gen_error(".csv", "input_length,output_length\n3,1\nnan,1\n", CFG_FLAVOR_REQUEST_LOG, 1,
	                 ":3: column 1 'input_length': expected an integer >= 1");
	expect_gen_error(".csv", "input_length,output_length\n3,-5\n", CFG_FLAVOR_REQUEST_LOG, 0,
	                 ":2: column 2 'output_length': expected an integer >= 0");
	expect_gen_error(".jsonl", "{\"input_length\": 2000000000, \"output_length\": 1}\n", CFG_FLAVOR_REQUEST_LOG, 0,
	                 ":1: key 'input_length': expected an integer >= 1 and <= 1048576 (the limit: "
	                 "runtime.max_request_tokens), got 2000000000");
	expect_gen_error(".jsonl", "{\"input_length\": 1e300, \"output_length\": 1}\n", CFG_FLAVOR_REQUEST_LOG, 0,
	                 ":1: key 'input_length': expected an integer");
	expect_gen_error(".jsonl", "{\"input_length\": 2.5, \"output_length\": 1}\n", CFG_FLAVOR_REQUEST_LOG, 0,
	                 ":1: key 'input_length': expected an integer");
	/* a number in text is decimal, as a CSV number is: hex or blanks are not read as one */
	expect_gen_error(".csv", "input_length,output_length\n3,1\n0x10,1\n", CFG_FLAVOR_REQUEST_LOG, 1,
	                 ":3: column 1 'input_length': expected an integer >= 1 and <= 1048576 (the limit: "
	                 "runtime.max_request_tokens), got \"0x10\"");
	expect_gen_error(".jsonl", "{\"input_length\": \" 8\", \"output_length\": 1}\n", CFG_FLAVOR_REQUEST_LOG, 0,
	                 ":1: key 'input_length': expected an integer");
	expect_gen_error(".csv", "input_length,output_length\n3,1\n4,1,9\n", CFG_FLAVOR_REQUEST_LOG, 1,
	                 ":3: row has 3 fields but the header has 2 columns");
	expect_gen_error(".jsonl", "{\"input_length\": 0, \"output_length\": 1}\n", CFG_FLAVOR_REQUEST_LOG, 0,
	                 ":1: key 'input_length': expected an integer >= 1 and <= 1048576 (the limit: "
	                 "runtime.max_request_tokens), got 0");
	expect_gen_error(".jsonl",
	                 "{\"session_id\": 1, \"input_length\": 3, \"new_input_length\": 3, \"output_length\": 1}\n"
	                 "{\"session_id\": 2, \"input_length\": 3, \"new_input_length\": 3, \"output_length\": 1}\n"
	                 "{\"session_id\": 1, \"input_length\": 3, \"new_input_length\": 3, \"output_length\": 1}\n",
	                 CFG_FLAVOR_TIMED_SYNTHETIC_MULTI_TURN, 2,
	                 ":3: session_id '1' appears again after other sessions");
	expect_gen_error(".jsonl", "{\"input_length\": 3, \"output_length\": 1, \"hash_ids\": \"1,2\"}\n",
	                 CFG_FLAVOR_MOONCAKE, 0, ":1: key 'hash_ids': expected a JSON list");
	expect_gen_error(".jsonl", "{\"conversations\": [{\"from\": \"robot\", \"value\": \"x\"}]}\n",
	                 CFG_FLAVOR_UNTIMED_CONTENT_MULTI_TURN, 0,
	                 ":1: key 'conversations': message 0 has role 'robot'");
	expect_gen_error(".jsonl", "", CFG_FLAVOR_REQUEST_LOG, 0, ": the trace has no rows");
	expect_gen_error(".json", "[{\"conversations\": []}]", CFG_FLAVOR_SHAREGPT, 0,
	                 ": the trace has no replayable sessions");
	expect_gen_error(".csv", "doc_id,prompt_text,input_length\n", CFG_FLAVOR_RAG, 0,
	                 ":1: missing required column 'output_length'");

	/* unreadable file */
	struct cfg_benchmark cfg;
	cfg_init(&cfg, "/nonexistent/dir/trace.jsonl", CFG_FLAVOR_REQUEST_LOG, false);
	char err[1024];
	assert_null(wl_trace_gen_create(&cfg, tok_approx(), err, sizeof err));
	assert_non_null(strstr(err, "/nonexistent/dir/trace.jsonl: cannot open trace file"));
	cfg_done(&cfg);
	/* empty trace_file setting */
	cfg_init(&cfg, "x", CFG_FLAVOR_REQUEST_LOG, false);
	cfg.session_generator.trace_file[0] = '\0';
	assert_null(wl_trace_gen_create(&cfg, tok_approx(), err, sizeof err));
	assert_non_null(strstr(err, "trace_file"));
	cfg_done(&cfg);
}

/* A managed server's max_model_len is the length limit of trace rows when smaller than
 * runtime.max_request_tokens; a row past it fails naming the file, the line and the limit. */
static void test_length_limit_model_context(void **state)
{
	(void)state;
	char *path = write_tmp(".jsonl", "{\"input_length\": 100, \"output_length\": 10}\n"
	                                 "{\"input_length\": 5000, \"output_length\": 10}\n");
	struct cfg_benchmark cfg;
	cfg_init(&cfg, path, CFG_FLAVOR_REQUEST_LOG, false);
	cfg.has_server = true;
	cfg.server.max_model_len = 4096;
	char err[1024];
	struct wl_trace_gen *g = wl_trace_gen_create(&cfg, tok_approx(), err, sizeof err);
	assert_non_null(g);
	struct wl_session *s;
	wl_session_free(next_ok(g)); /* line 1 is within the limit */
	assert_true(wl_trace_gen_next(g, &s) < 0);
	char *want = xasprintf("%s:2: key 'input_length': expected an integer >= 1 and <= 4096 (the limit: "
	                       "server.max_model_len, the model's context), got 5000",
	                       path);
	if (!strstr(wl_trace_gen_error(g), want))
		fail_msg("error '%s' does not contain '%s'", wl_trace_gen_error(g), want);
	free(want);
	wl_trace_gen_free(g);
	/* runtime.max_request_tokens when there is no server */
	cfg.has_server = false;
	cfg.runtime.max_request_tokens = 1000;
	g = wl_trace_gen_create(&cfg, tok_approx(), err, sizeof err);
	assert_non_null(g);
	wl_session_free(next_ok(g));
	assert_true(wl_trace_gen_next(g, &s) < 0);
	assert_non_null(strstr(wl_trace_gen_error(g), "<= 1000 (the limit: runtime.max_request_tokens), got 5000"));
	wl_trace_gen_free(g);
	/* a small context does not fail a flavor that has no use for block_size / page_size (their
	 * defaults, 512 and 16, are past a context of 8): request_log replays its first row */
	cfg.has_server = true;
	cfg.server.max_model_len = 8;
	cfg.runtime.max_request_tokens = 0;
	cfg.session_generator.flavor.block_size = 512;
	cfg.session_generator.flavor.page_size = 16;
	char *small = write_tmp(".jsonl", "{\"input_length\": 4, \"output_length\": 2}\n");
	free(cfg.session_generator.trace_file);
	cfg.session_generator.trace_file = xstrdup(small);
	g = open_gen(&cfg);
	wl_session_free(next_ok(g));
	wl_trace_gen_free(g);
	/* ... while mooncake, which cuts prompts into blocks, is stopped naming the key */
	cfg.session_generator.flavor.type = CFG_FLAVOR_MOONCAKE;
	g = wl_trace_gen_create(&cfg, tok_approx(), err, sizeof err);
	if (g) {
		assert_true(wl_trace_gen_next(g, &s) < 0);
		assert_non_null(strstr(wl_trace_gen_error(g), "session_generator.flavor.block_size: must be <= 8"));
		wl_trace_gen_free(g);
	} else {
		assert_non_null(strstr(err, "session_generator.flavor.block_size: must be <= 8"));
	}
	unlink(small);
	free(small);
	cfg_done(&cfg);
	unlink(path);
	free(path);
}

/* A session's prompts are bounded (16 x the limit) and a signal stops reading and building. */
static void test_session_budget_and_interrupt(void **state)
{
	(void)state;
	struct buf t;
	buf_init(&t);
	buf_puts(&t, "session_id,input_length,output_length\n");
	for (int i = 0; i < 20; i++)
		buf_puts(&t, "1,100,1\n");
	char *path = write_tmp(".csv", t.data);
	buf_free(&t);
	struct cfg_benchmark cfg;
	cfg_init(&cfg, path, CFG_FLAVOR_REQUEST_LOG, false);
	cfg.runtime.max_request_tokens = 100; /* budget 1600: the 17th row (line 18) crosses it */
	char err[1024];
	struct wl_trace_gen *g = wl_trace_gen_create(&cfg, tok_approx(), err, sizeof err);
	assert_non_null(g);
	struct wl_session *s;
	assert_true(wl_trace_gen_next(g, &s) < 0);
	char *want = xasprintf("%s:18: the session needs more than 1600 prompt tokens", path);
	if (!strstr(wl_trace_gen_error(g), want))
		fail_msg("error '%s' does not contain '%s'", wl_trace_gen_error(g), want);
	free(want);
	wl_trace_gen_free(g);

	cfg.runtime.max_request_tokens = 0; /* the default */
	volatile sig_atomic_t flag = 1;
	wl_set_interrupt_flag(&flag);
	g = wl_trace_gen_create(&cfg, tok_approx(), err, sizeof err);
	assert_non_null(g);
	assert_true(wl_trace_gen_next(g, &s) < 0);
	assert_non_null(strstr(wl_trace_gen_error(g), "interrupted"));
	wl_set_interrupt_flag(NULL);
	wl_trace_gen_free(g);
	cfg_done(&cfg);
	unlink(path);
	free(path);
}

/* Timestamps going backwards are an error (sessions are handed out in arrival order). */
static void test_mooncake_timestamp_order(void **state)
{
	(void)state;
	char *path =
	    write_tmp(".jsonl", "{\"timestamp\": 10, \"input_length\": 2, \"output_length\": 1, \"hash_ids\": [1]}\n"
	                        "{\"timestamp\": 5, \"input_length\": 2, \"output_length\": 1, \"hash_ids\": [1]}\n");
	struct cfg_benchmark cfg;
	cfg_init(&cfg, path, CFG_FLAVOR_MOONCAKE, false);
	cfg.session_generator.flavor.replay_timestamps = true;
	struct wl_trace_gen *g = open_gen(&cfg);
	wl_session_free(next_ok(g));
	struct wl_session *s;
	assert_true(wl_trace_gen_next(g, &s) < 0);
	assert_non_null(strstr(wl_trace_gen_error(g), ":2: key 'timestamp': timestamps must be non-decreasing"));
	wl_trace_gen_free(g);
	cfg_done(&cfg);
	unlink(path);
	free(path);
}

/* ---------------------------------------------------------------- memory */

static long maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A 48 MB trace streams through with a small, bounded resident-set growth. */
static void test_large_trace_streams(void **state)
{
	(void)state;
	char *path = xasprintf("/tmp/vk-trace-big-XXXXXX.jsonl");
	int fd = mkstemps(path, 6);
	assert_true(fd >= 0);
	FILE *fp = fdopen(fd, "w");
	char pad[201];
	memset(pad, 'x', 200);
	pad[200] = '\0';
	const int rows = 200000;
	for (int i = 0; i < rows; i++)
		fprintf(fp, "{\"session_id\": %d, \"input_length\": 2, \"output_length\": 1, \"pad\": \"%s\"}\n", i / 2,
		        pad);
	fclose(fp);
	struct cfg_benchmark cfg;
	cfg_init(&cfg, path, CFG_FLAVOR_REQUEST_LOG, false);
	long before = maxrss_kb();
	struct wl_trace_gen *g = open_gen(&cfg);
	struct wl_session *s;
	int n = 0, rc;
	while ((rc = wl_trace_gen_next(g, &s)) == 0) {
		assert_int_equal(s->n_nodes, 2);
		wl_session_free(s);
		n++;
	}
	assert_int_equal(rc, 1);
	assert_int_equal(n, rows / 2);
	long grown_kb = maxrss_kb() - before;
#if defined(__SANITIZE_ADDRESS__)
	grown_kb = 0; /* the sanitizer's quarantine keeps freed memory resident: not meaningful */
#endif
	print_message("resident set growth while streaming: %ld kB\n", grown_kb);
	if (grown_kb > 24 * 1024)
		fail_msg("resident set grew by %ld kB while streaming a %d-row trace", grown_kb, rows);
	wl_trace_gen_free(g);
	cfg_done(&cfg);
	unlink(path);
	free(path);
}

int main(void)
{
	const char *src = getenv("VK_SOURCE_DIR");
	snprintf(data_dir, sizeof data_dir, "%s/tests/data/trace", src ? src : ".");
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_log_csv),
	    cmocka_unit_test(test_request_log_sessions_and_wrap),
	    cmocka_unit_test(test_timed_synthetic),
	    cmocka_unit_test(test_shared_prefix),
	    cmocka_unit_test(test_shared_prefix_wrap_remaps_hash_ids),
	    cmocka_unit_test(test_rag),
	    cmocka_unit_test(test_untimed_jsonl),
	    cmocka_unit_test(test_untimed_csv),
	    cmocka_unit_test(test_sharegpt),
	    cmocka_unit_test(test_mooncake_blocks_and_timestamps),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_length_limit_model_context),
	    cmocka_unit_test(test_session_budget_and_interrupt),
	    cmocka_unit_test(test_mooncake_timestamp_order),
	    cmocka_unit_test(test_large_trace_streams),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
