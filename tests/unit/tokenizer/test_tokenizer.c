/* Unit tests for src/tokenizer: approximation, tokenizer.json fixtures, prompt builder, resolution,
 * thread safety. The Llama 3 property test runs when tests/tokenizer/fetch-tokenizers.sh has
 * filled the cache ($VK_CACHE_DIR/tokenizers, default <source>/.cache/tokenizers). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fsutil.h"
#include "core/rng.h"
#include "tokenizer/tok_nfc.h"
#include "tokenizer/tokenizer.h"

static const char *src_dir(void)
{
	const char *s = getenv("VK_SOURCE_DIR");
	return s ? s : ".";
}

static char *fixture(const char *name)
{
	static char path[4096];
	snprintf(path, sizeof path, "%s/tests/data/tokenizer/%s", src_dir(), name);
	return path;
}

static struct tok *load_or_fail(const char *path)
{
	char err[512] = "";
	struct tok *t = tok_load(path, err, sizeof err);
	if (!t)
		fail_msg("cannot load %s: %s", path, err);
	return t;
}

#ifndef VK_TOK_THREADS_ONLY
static void encode_str(const struct tok *t, const char *s, struct tok_ids *ids)
{
	ids->n = 0;
	assert_int_equal(tok_encode(t, s, strlen(s), ids), 0);
}

static void test_approx_basics(void **state)
{
	(void)state;
	struct tok *t = tok_approx();
	assert_true(tok_is_approx(t));
	assert_string_equal(tok_name(t), "approx-words");
	assert_true(tok_vocab_size(t) > 1000);
	const char *s = "  The morning\tfog \n rolled   xyzzy ";
	assert_int_equal(tok_count(t, s, strlen(s)), 5);
	assert_int_equal(tok_count(t, "", 0), 0);
	assert_int_equal(tok_count(t, " \n\t ", 4), 0);
	struct tok_ids ids = {0};
	encode_str(t, s, &ids);
	assert_int_equal(ids.n, 5);
	for (size_t i = 0; i < ids.n; i++)
		assert_true(ids.v[i] >= 0 && (size_t)ids.v[i] < tok_vocab_size(t));
	struct buf b;
	buf_init(&b);
	assert_int_equal(tok_decode(t, ids.v, 4, &b), 0);
	assert_string_equal(b.data, "The morning fog rolled");
	/* an unknown word decodes to a one-word placeholder, so counts survive a round trip */
	buf_reset(&b);
	assert_int_equal(tok_decode(t, ids.v, ids.n, &b), 0);
	assert_int_equal(tok_count(t, b.data, b.len), 5);
	int32_t bad = -1;
	assert_int_equal(tok_decode(t, &bad, 1, &b), -1);
	tok_free(t); /* no-op on the singleton */
	assert_true(tok_is_approx(tok_approx()));
	buf_free(&b);
	tok_ids_free(&ids);
}

/* Every target 1..max_target (stepping by `step`) must give a prompt of exactly that many tokens. */
static void check_prompts_step(const struct tok *t, int64_t max_target, int64_t step, const char *suffix, uint64_t seed)
{
	struct rng r;
	rng_init(&r, seed);
	struct buf b;
	buf_init(&b);
	size_t s_n = suffix ? tok_count(t, suffix, strlen(suffix)) : 0;
	for (int64_t n = 1; n <= max_target; n += step) {
		buf_reset(&b);
		int rc = tok_prompt_build(t, &r, n, suffix, &b);
		if ((size_t)n < s_n) {
			assert_int_equal(rc, -1);
			continue;
		}
		if (rc != 0)
			fail_msg("%s: no prompt for target %lld", tok_name(t), (long long)n);
		size_t got = tok_count(t, b.data, b.len);
		if (got != (size_t)n)
			fail_msg("%s: target %lld got %zu tokens: [%s]", tok_name(t), (long long)n, got, b.data);
		if (suffix)
			assert_true(b.len >= strlen(suffix) && !strcmp(b.data + b.len - strlen(suffix), suffix));
	}
	buf_free(&b);
}

static void check_prompts(const struct tok *t, int64_t max_target, const char *suffix, uint64_t seed)
{
	check_prompts_step(t, max_target, 1, suffix, seed);
}

static const char SUFFIX[] = "\n\nGenerate at least 128 tokens.";

static void test_approx_prompts(void **state)
{
	(void)state;
	check_prompts(tok_approx(), 4096, NULL, 1);
	check_prompts(tok_approx(), 4096, SUFFIX, 2);
	/* deterministic for a given rng state, different for another */
	struct rng r1, r2, r3;
	rng_init(&r1, 7);
	rng_init(&r2, 7);
	rng_init(&r3, 8);
	struct buf a, b, c;
	buf_init(&a);
	buf_init(&b);
	buf_init(&c);
	assert_int_equal(tok_prompt_build(tok_approx(), &r1, 500, NULL, &a), 0);
	assert_int_equal(tok_prompt_build(tok_approx(), &r2, 500, NULL, &b), 0);
	assert_int_equal(tok_prompt_build(tok_approx(), &r3, 500, NULL, &c), 0);
	assert_string_equal(a.data, b.data);
	assert_true(strcmp(a.data, c.data) != 0);
	/* impossible targets */
	buf_reset(&a);
	assert_int_equal(tok_prompt_build(tok_approx(), &r1, -1, NULL, &a), -1);
	assert_int_equal(tok_prompt_build(tok_approx(), &r1, 2, SUFFIX, &a), -1);
	assert_int_equal(tok_prompt_build(tok_approx(), &r1, 0, NULL, &a), 0);
	assert_int_equal(a.len, 0);
	/* large prompt: longer than the corpus, still exact */
	assert_int_equal(tok_prompt_build(tok_approx(), &r1, 100000, SUFFIX, &a), 0);
	assert_int_equal(tok_count(tok_approx(), a.data, a.len), 100000);
	/* output text */
	buf_reset(&b);
	assert_int_equal(tok_output_text(tok_approx(), &r1, 37, &b), 0);
	assert_int_equal(tok_count(tok_approx(), b.data, b.len), 37);
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
}

static void test_bytelevel_fixture(void **state)
{
	(void)state;
	struct tok *t = load_or_fail(fixture("tiny_bytelevel.json"));
	assert_false(tok_is_approx(t));
	assert_true(strncmp(tok_name(t), "hf:", 3) == 0);
	assert_int_equal(tok_vocab_size(t), 558);
	struct tok_ids ids = {0};
	/* ids from HuggingFace tokenizers 0.23 on the same file */
	encode_str(t, "Hello world, how are you?", &ids);
	static const int32_t want[] = {72, 458, 111, 379, 306, 44, 537, 405, 555, 63};
	assert_int_equal(ids.n, sizeof want / sizeof want[0]);
	assert_memory_equal(ids.v, want, sizeof want);
	/* added tokens are matched before pre-tokenization */
	encode_str(t, "a<|endoftext|>b", &ids);
	assert_int_equal(ids.n, 3);
	assert_int_equal(ids.v[1], 556);
	static const char *const rt[] = {
	    "",
	    " ",
	    "\n\n\n",
	    "  two  spaces\t\ttabs\r\n",
	    "naïve café — “quotes” 你好世界 🎉👩‍👩‍👧",
	    "x = f(1234567, 'a') # comment\n\tif (y) { return z; }",
	    "<|endoftext|><|tiny_sep|> <|endoftext",
	};
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++) {
		encode_str(t, rt[i], &ids);
		buf_reset(&b);
		assert_int_equal(tok_decode(t, ids.v, ids.n, &b), 0);
		assert_int_equal(b.len, strlen(rt[i]));
		assert_memory_equal(b.data ? b.data : "", rt[i], b.len);
		assert_int_equal(tok_count(t, rt[i], strlen(rt[i])), ids.n);
	}
	/* invalid UTF-8 is encoded as U+FFFD, never rejected */
	ids.n = 0;
	assert_int_equal(tok_encode(t, "a\xff\xc0z", 4, &ids), 0);
	assert_true(ids.n >= 2);
	int32_t bad = 100000;
	assert_int_equal(tok_decode(t, &bad, 1, &b), -1);
	buf_free(&b);
	tok_ids_free(&ids);
	tok_free(t);
}

static void test_sentencepiece_fixture(void **state)
{
	(void)state;
	struct tok *t = load_or_fail(fixture("tiny_sentencepiece.json"));
	struct tok_ids ids = {0};
	encode_str(t, "Hello world, how are you?", &ids);
	static const int32_t want[] = {314, 272, 530, 302, 443, 366, 260, 610, 471, 410, 343, 264};
	assert_int_equal(ids.n, sizeof want / sizeof want[0]);
	assert_memory_equal(ids.v, want, sizeof want);
	/* byte fallback for characters outside the vocab, and back */
	static const char *const rt[] = {"Hello world", "  spaces   and\n\nnewlines", "你好 🎉 Ω", "The fog."};
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < sizeof rt / sizeof rt[0]; i++) {
		encode_str(t, rt[i], &ids);
		buf_reset(&b);
		assert_int_equal(tok_decode(t, ids.v, ids.n, &b), 0);
		assert_string_equal(b.data, rt[i]);
	}
	check_prompts(t, 600, SUFFIX, 3);
	buf_free(&b);
	tok_ids_free(&ids);
	tok_free(t);
}

static void test_fixture_prompts(void **state)
{
	(void)state;
	struct tok *t = load_or_fail(fixture("tiny_bytelevel.json"));
	check_prompts(t, 4096, NULL, 11);
	check_prompts_step(t, 2048, 3, SUFFIX, 12);
	tok_free(t);
}

/* GPT-2 style ByteLevel(use_regex, add_prefix_space) and Metaspace fixtures: round trips and prompts */
static void test_more_fixtures(void **state)
{
	(void)state;
	static const char *const files[] = {"tiny_gpt2.json", "tiny_metaspace.json"};
	for (size_t f = 0; f < 2; f++) {
		struct tok *t = load_or_fail(fixture(files[f]));
		struct tok_ids ids = {0};
		struct buf b;
		buf_init(&b);
		encode_str(t, "Hello world, how are you?", &ids);
		assert_true(ids.n > 3);
		assert_int_equal(tok_decode(t, ids.v, ids.n, &b), 0);
		/* both add a leading space when encoding; only the Metaspace decoder drops it again
		 * (the ByteLevel decoder keeps it, as in tokenizers) */
		assert_string_equal(b.data, f == 0 ? " Hello world, how are you?" : "Hello world, how are you?");
		check_prompts(t, 600, NULL, 31 + f);
		check_prompts_step(t, 600, 7, SUFFIX, 41 + f);
		buf_free(&b);
		tok_ids_free(&ids);
		tok_free(t);
	}
}

/* Added tokens with lstrip / rstrip / single_word; expected ids from HuggingFace tokenizers 0.23. */
static void test_added_flags(void **state)
{
	(void)state;
	struct tok *t = load_or_fail(fixture("tiny_added.json"));
	static const struct {
		const char *text;
		int32_t ids[6];
		size_t n;
	} cases[] = {
	    {"a <mask> b", {97, 558, 268}, 3}, /* lstrip eats the space before */
	    {"a  <mask>  b", {97, 558, 32, 268}, 4},
	    {"a <sep>  b", {97, 32, 559, 98}, 4}, /* rstrip eats the spaces after */
	    {"a<sep>\n\nb", {97, 559, 98}, 3},
	    {"  <both>  ", {560}, 1},
	    {"a word b", {97, 32, 561, 268}, 4}, /* single_word: only as a whole word */
	    {"aword b", {97, 119, 275, 100, 268}, 5},
	    {"a wordy", {97, 379, 100, 121}, 4},
	    {"word", {561}, 1},
	};
	struct tok_ids ids = {0};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		encode_str(t, cases[i].text, &ids);
		if (ids.n != cases[i].n || memcmp(ids.v, cases[i].ids, ids.n * sizeof *ids.v) != 0)
			fail_msg("added-token flags: wrong ids for '%s'", cases[i].text);
	}
	tok_ids_free(&ids);
	tok_free(t);
}

static void test_nfc(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	    {"plain ascii", "plain ascii"},
	    {"e\xCC\x81", "\xC3\xA9"},             /* e + acute -> é */
	    {"\xE2\x84\xAB", "\xC3\x85"},          /* ANGSTROM SIGN -> Å (singleton) */
	    {"a\xCC\x82\xCC\xA3", "\xE1\xBA\xAD"}, /* a + circumflex + dot below -> ậ (reordered) */
	    {"\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", "\xEA\xB0\x81"}, /* Hangul jamo L V T -> 각 */
	    {"\xEA\xB0\x80\xE1\x86\xA8", "\xEA\xB0\x81"},             /* LV + T -> LVT */
	    {"\xCC\x81x", "\xCC\x81x"},                               /* leading combining mark stays */
	    {"\xE0\xA5\x98", "\xE0\xA4\x95\xE0\xA4\xBC"},             /* composition exclusion: stays decomposed */
	};
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		buf_reset(&b);
		tok_nfc(cases[i][0], strlen(cases[i][0]), &b);
		assert_string_equal(b.data, cases[i][1]);
	}
	buf_free(&b);
}

static char *cached_path(const char *name)
{
	static char path[4096];
	const char *cache = getenv("VK_CACHE_DIR");
	if (cache && *cache)
		snprintf(path, sizeof path, "%s/tokenizers/%s/package/models/tokenizer.json", cache, name);
	else
		snprintf(path, sizeof path, "%s/.cache/tokenizers/%s/package/models/tokenizer.json", src_dir(), name);
	return access(path, R_OK) == 0 ? path : NULL;
}

static char *llama3_path(void)
{
	return cached_path("llama3");
}

/* The other real tokenizers, on a sample of targets (each load costs seconds). */
static void test_other_real_prompts(void **state)
{
	(void)state;
	static const char *const names[] = {"qwen3", "deepseek_v3", "llama2", "gemma3"};
	int ran = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *p = cached_path(names[i]);
		if (!p)
			continue;
		struct tok *t = load_or_fail(p);
		check_prompts_step(t, 4096, 13, NULL, 51 + i);
		check_prompts_step(t, 4096, 17, SUFFIX, 61 + i);
		tok_free(t);
		ran++;
	}
	if (!ran) {
		printf("SKIP: no real tokenizer cached (run tests/tokenizer/fetch-tokenizers.sh)\n");
		skip();
	}
}

static void test_llama3_prompts(void **state)
{
	(void)state;
	char *p = llama3_path();
	if (!p) {
		printf("SKIP: Llama 3 tokenizer not cached (run tests/tokenizer/fetch-tokenizers.sh)\n");
		skip();
	}
	struct tok *t = load_or_fail(p);
	check_prompts(t, 4096, NULL, 21);
	check_prompts_step(t, 4096, 5, SUFFIX, 22); /* the suffix path on a sample, to bound the run time */
	tok_free(t);
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

/* A file the fast vocab/merges scanner refuses (an id written as 0.0) loads through cJSON instead
 * and must tokenize identically. */
static void test_cjson_fallback(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	char *text = fs_read_file(fixture("tiny_bytelevel.json"), NULL);
	assert_non_null(text);
	buf_puts(&b, text);
	free(text);
	char *hit = strstr(b.data, "\"!\": 33,");
	assert_non_null(hit);
	struct buf v;
	buf_init(&v);
	buf_append(&v, b.data, (size_t)(hit - b.data));
	buf_puts(&v, "\"!\": 33.0,");
	buf_puts(&v, hit + strlen("\"!\": 33,"));
	char path[] = "/tmp/vk-tok-fallback.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, v.data, v.len), (ssize_t)v.len);
	close(fd);
	struct tok *fast = load_or_fail(fixture("tiny_bytelevel.json"));
	struct tok *slow = load_or_fail(path);
	static const char *const texts[] = {"Hello world, how are you?", "!!! 12345 <|endoftext|> 你好", "  x\n\ny"};
	struct tok_ids a = {0}, c = {0};
	for (size_t i = 0; i < 3; i++) {
		encode_str(fast, texts[i], &a);
		encode_str(slow, texts[i], &c);
		assert_int_equal(a.n, c.n);
		assert_memory_equal(a.v, c.v, a.n * sizeof *a.v);
	}
	assert_int_equal(tok_vocab_size(fast), tok_vocab_size(slow));
	tok_ids_free(&a);
	tok_ids_free(&c);
	tok_free(fast);
	tok_free(slow);
	unlink(path);
	buf_free(&b);
	buf_free(&v);
}

static void test_load_errors(void **state)
{
	(void)state;
	char err[512];
	char dir[] = "/tmp/vk-tok-test.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[600];
	assert_null(tok_load("/nonexistent/tokenizer.json", err, sizeof err));
	assert_non_null(strstr(err, "no such file"));
	snprintf(path, sizeof path, "%s/bad.json", dir);
	write_file(path, "{ not json");
	assert_null(tok_load(path, err, sizeof err));
	assert_non_null(strstr(err, "JSON"));
	write_file(path, "{\"model\":{\"type\":\"Unigram\",\"vocab\":{}, \"merges\":[]}}");
	assert_null(tok_load(path, err, sizeof err));
	assert_non_null(strstr(err, "BPE"));
	write_file(
	    path,
	    "{\"normalizer\":{\"type\":\"Lowercase\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}");
	assert_null(tok_load(path, err, sizeof err));
	assert_non_null(strstr(err, "Lowercase"));
	write_file(path,
	           "{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"},\"behavior\":\"Isolated\"},"
	           "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}");
	assert_null(tok_load(path, err, sizeof err));
	assert_non_null(strstr(err, "regex"));
	unlink(path);
	rmdir(dir);
}

/* A file that opens but cannot be read is reported as such (it used to load as empty, "not valid
 * JSON"): /proc/self/mem is a regular file whose first page is unmapped, so read() fails with EIO. */
static void test_load_read_error(void **state)
{
	(void)state;
	char err[512] = "";
	assert_null(tok_load("/proc/self/mem", err, sizeof err));
	assert_non_null(strstr(err, "/proc/self/mem: cannot read: "));
	assert_non_null(strstr(err, strerror(EIO)));
}

static void test_resolve(void **state)
{
	(void)state;
	char dir[] = "/tmp/vk-tok-hf.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char p[1024], cmd[8192];
	snprintf(p, sizeof p, "%s/hub/models--acme--tiny-1b/snapshots/0123abcd", dir);
	snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s/tokenizer.json'", p, fixture("tiny_bytelevel.json"), p);
	assert_int_equal(system(cmd), 0);
	setenv("HF_HOME", dir, 1);
	unsetenv("HF_HUB_CACHE");
	unsetenv("HUGGINGFACE_HUB_CACHE");
	struct tok *t = tok_resolve(NULL, "acme/tiny-1b");
	assert_false(tok_is_approx(t));
	assert_non_null(strstr(tok_name(t), "models--acme--tiny-1b"));
	tok_free(t);
	/* explicit directory wins */
	snprintf(p, sizeof p, "%s/tests/data/tokenizer", src_dir());
	t = tok_resolve(fixture("tiny_sentencepiece.json"), "acme/tiny-1b");
	assert_non_null(strstr(tok_name(t), "tiny_sentencepiece.json"));
	tok_free(t);
	/* fallbacks */
	assert_true(tok_is_approx(tok_resolve(NULL, "acme/other")));
	assert_true(tok_is_approx(tok_resolve("/nonexistent/dir", "acme/tiny-1b")));
	assert_true(tok_is_approx(tok_resolve(NULL, NULL)));
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

#endif

struct thr_arg {
	const struct tok *t[2];
	const char *const *texts;
	size_t n;
	size_t *counts[2];
	int failures;
};

/* Encodes with two tokenizers in turn (each thread's word cache switches between them), builds
 * prompts; every result must equal the single-threaded one. */
static void *thr_main(void *p)
{
	struct thr_arg *a = p;
	struct tok_ids ids = {0};
	struct buf b;
	buf_init(&b);
	struct rng r;
	rng_init(&r, 99);
	for (int rep = 0; rep < 40; rep++) {
		int k = rep % 2;
		for (size_t i = 0; i < a->n; i++) {
			ids.n = 0;
			tok_encode(a->t[k], a->texts[i], strlen(a->texts[i]), &ids);
			if (ids.n != a->counts[k][i])
				a->failures++;
		}
		buf_reset(&b);
		if (tok_prompt_build(a->t[k], &r, 300 + rep, NULL, &b) != 0 ||
		    tok_count(a->t[k], b.data, b.len) != (size_t)(300 + rep))
			a->failures++;
	}
	buf_free(&b);
	tok_ids_free(&ids);
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct tok *t0 = load_or_fail(fixture("tiny_bytelevel.json"));
	struct tok *t1 = load_or_fail(fixture("tiny_sentencepiece.json"));
	static const char *const texts[] = {
	    "The morning fog rolled down from the hills.", "x = 12345 + y;\n\n", "你好世界 🎉 <|endoftext|> end",
	    "   spaced    out   ",
	    "Fishermen untied their boats in silence, listening for the bell that marked the channel."};
	enum { NT = sizeof texts / sizeof texts[0] };
	size_t c0[NT], c1[NT];
	for (size_t i = 0; i < NT; i++) {
		c0[i] = tok_count(t0, texts[i], strlen(texts[i]));
		c1[i] = tok_count(t1, texts[i], strlen(texts[i]));
	}
	pthread_t th[4];
	struct thr_arg args[4];
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thr_arg){.t = {i % 2 ? t1 : t0, i % 2 ? t0 : t1},
		                           .texts = texts,
		                           .n = NT,
		                           .counts = {i % 2 ? c1 : c0, i % 2 ? c0 : c1}};
		assert_int_equal(pthread_create(&th[i], NULL, thr_main, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	tok_free(t0);
	tok_free(t1);
}

int main(void)
{
#ifdef VK_TOK_THREADS_ONLY
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_threads),
	};
#else
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_approx_basics),     cmocka_unit_test(test_approx_prompts),
	    cmocka_unit_test(test_bytelevel_fixture), cmocka_unit_test(test_sentencepiece_fixture),
	    cmocka_unit_test(test_fixture_prompts),   cmocka_unit_test(test_more_fixtures),
	    cmocka_unit_test(test_added_flags),       cmocka_unit_test(test_nfc),
	    cmocka_unit_test(test_llama3_prompts),    cmocka_unit_test(test_other_real_prompts),
	    cmocka_unit_test(test_cjson_fallback),    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_load_read_error),   cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_threads),
	};
#endif
	return cmocka_run_group_tests(tests, NULL, NULL);
}
