/* Prometheus text-format parser: syntax, escapes, special values, bad lines, the recorded pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "observe/prom_parse.h"

static size_t parse(const char *text, struct prom_page *pg)
{
	return prom_parse(text, strlen(text), pg);
}

static void test_counter_gauge_types(void **state)
{
	(void)state;
	struct prom_page pg;
	const char *t = "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.\n"
	                "# TYPE vllm:prompt_tokens_total counter\n"
	                "vllm:prompt_tokens_total{model_name=\"m\"} 7.0\n"
	                "# TYPE vllm:num_requests_running gauge\n"
	                "vllm:num_requests_running 3\n"
	                "untyped_metric 1e3\n";
	assert_int_equal(parse(t, &pg), 0);
	assert_int_equal(pg.n_samples, 3);
	assert_string_equal(pg.samples[0].name, "vllm:prompt_tokens_total");
	assert_true(pg.samples[0].value == 7.0);
	assert_string_equal(pg.samples[0].labels_text, "model_name=\"m\"");
	assert_string_equal(prom_label_get(&pg.samples[0], "model_name"), "m");
	assert_int_equal(prom_family_of(&pg, "vllm:prompt_tokens_total")->type, PROM_COUNTER);
	assert_string_equal(prom_family_of(&pg, "vllm:prompt_tokens_total")->help,
	                    "Number of prefill tokens processed.");
	assert_int_equal(prom_family_of(&pg, "vllm:num_requests_running")->type, PROM_GAUGE);
	assert_null(prom_family_of(&pg, "untyped_metric"));
	assert_true(pg.samples[2].value == 1000.0);
	assert_string_equal(pg.samples[1].labels_text, "");
	assert_false(pg.samples[1].has_timestamp);
	prom_page_free(&pg);
}

static void test_label_escapes(void **state)
{
	(void)state;
	struct prom_page pg;
	const char *t = "m{a=\"x\\\\y\\\"z\\nw\", b = \"\" ,c=\"q\\tr\",} 1\n";
	assert_int_equal(parse(t, &pg), 0);
	assert_int_equal(pg.n_samples, 1);
	const struct prom_sample *s = &pg.samples[0];
	assert_int_equal(s->n_labels, 3);
	assert_string_equal(prom_label_get(s, "a"), "x\\y\"z\nw");
	assert_string_equal(prom_label_get(s, "b"), "");
	assert_string_equal(prom_label_get(s, "c"), "qtr"); /* unknown escape: the character itself */
	/* re-escaped in page order */
	assert_string_equal(s->labels_text, "a=\"x\\\\y\\\"z\\nw\",b=\"\",c=\"qtr\"");
	prom_page_free(&pg);
}

static void test_special_values_and_timestamps(void **state)
{
	(void)state;
	struct prom_page pg;
	const char *t = "a NaN\nb +Inf\nc -Inf 1700000000000\nd -0.5e-3   -12\r\ne 3 \n";
	assert_int_equal(parse(t, &pg), 0);
	assert_int_equal(pg.n_samples, 5);
	assert_true(isnan(pg.samples[0].value));
	assert_true(isinf(pg.samples[1].value) && pg.samples[1].value > 0);
	assert_true(isinf(pg.samples[2].value) && pg.samples[2].value < 0);
	assert_true(pg.samples[2].has_timestamp);
	assert_true(pg.samples[2].timestamp_ms == 1700000000000LL);
	assert_true(pg.samples[3].value == -0.5e-3);
	assert_true(pg.samples[3].timestamp_ms == -12);
	assert_true(pg.samples[4].value == 3);
	prom_page_free(&pg);
}

static void test_histogram_samples(void **state)
{
	(void)state;
	struct prom_page pg;
	const char *t = "# TYPE h histogram\n"
	                "h_bucket{le=\"0.1\",model_name=\"m\"} 1\n"
	                "h_bucket{model_name=\"m\",le=\"+Inf\"} 4\n"
	                "h_sum{model_name=\"m\"} 2.5\n"
	                "h_count{model_name=\"m\"} 4\n"
	                "# TYPE s summary\n"
	                "s{quantile=\"0.99\"} 0.3\n"
	                "s_count 9\n";
	assert_int_equal(parse(t, &pg), 0);
	assert_int_equal(pg.n_samples, 6);
	assert_true(pg.samples[0].le == 0.1);
	assert_true(isinf(pg.samples[1].le));
	assert_string_equal(pg.samples[0].series_text, "model_name=\"m\"");
	assert_string_equal(pg.samples[1].series_text, "model_name=\"m\"");
	assert_true(isnan(pg.samples[2].le));
	for (int i = 0; i < 4; i++)
		assert_int_equal(prom_family_of(&pg, pg.samples[i].name)->type, PROM_HISTOGRAM);
	assert_true(pg.samples[4].le == 0.99);
	assert_int_equal(prom_family_of(&pg, "s_count")->type, PROM_SUMMARY);
	prom_page_free(&pg);
}

static void test_bad_lines_are_skipped(void **state)
{
	(void)state;
	struct prom_page pg;
	const char *t = "good 1\n"
	                "bad{a=\"unterminated} 1\n" /* 2 */
	                "bad2 abc\n"                /* 3 */
	                "bad3\n"                    /* 4 */
	                "bad4 0x10\n"               /* 5 */
	                "9name 1\n"                 /* 6 */
	                "bad5{a=1} 2\n"             /* 7 */
	                "bad6 1 2 3\n"              /* 8 */
	                "# TYPE\n"                  /* 9 */
	                "bad7{a=\"x\" b=\"y\"} 1\n" /* 10 */
	                "# some comment\n"
	                "\n"
	                "good2{x=\"1\"} 2\n";
	assert_int_equal(parse(t, &pg), 9);
	assert_int_equal(pg.n_samples, 2);
	assert_string_equal(pg.samples[0].name, "good");
	assert_string_equal(pg.samples[1].name, "good2");
	assert_int_equal(pg.first_bad_line, 2);
	assert_non_null(strstr(pg.first_error, "line 2"));
	prom_page_free(&pg);
	/* empty and comment-only pages */
	assert_int_equal(prom_parse("", 0, &pg), 0);
	assert_int_equal(pg.n_samples, 0);
	prom_page_free(&pg);
	assert_int_equal(parse("# EOF\n", &pg), 0);
	prom_page_free(&pg);
	/* not NUL-terminated: the parser stops at len */
	const char buf[] = {'a', ' ', '1', '2'};
	assert_int_equal(prom_parse(buf, 3, &pg), 0);
	assert_true(pg.samples[0].value == 1);
	prom_page_free(&pg);
}

static void test_recorded_pages_parse_clean(void **state)
{
	(void)state;
	const char *src = getenv("VK_SOURCE_DIR");
	assert_non_null(src);
	static const char *const pages[] = {"vllm_v1_a.txt", "vllm_v1_b.txt", "vllm_v0_a.txt",
	                                    "vllm_v0_b.txt", "sglang_a.txt",  "sglang_b.txt"};
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/tests/data/prometheus/%s", src, pages[i]);
		size_t n = 0;
		char *text = fs_read_file(path, &n);
		assert_non_null(text);
		struct prom_page pg;
		assert_int_equal(prom_parse(text, n, &pg), 0);
		assert_true(pg.n_samples > 50);
		assert_true(pg.n_families > 10);
		prom_page_free(&pg);
		free(text);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counter_gauge_types),           cmocka_unit_test(test_label_escapes),
	    cmocka_unit_test(test_special_values_and_timestamps), cmocka_unit_test(test_histogram_samples),
	    cmocka_unit_test(test_bad_lines_are_skipped),         cmocka_unit_test(test_recorded_pages_parse_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
