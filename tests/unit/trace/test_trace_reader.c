/* Streaming trace readers: JSONL, JSON array, CSV (RFC 4180, JSON-in-CSV, renames), errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workload/trace_reader.h"

static struct wl_trace_reader *mem_reader(const char *text, enum wl_trace_fmt fmt)
{
	return wl_trace_reader_open_mem(text, strlen(text), "t.in", fmt);
}

static double num(const cJSON *row, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);
	assert_non_null(v);
	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static const char *str(const cJSON *row, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(row, key);
	assert_non_null(v);
	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static void test_jsonl_rows_and_lines(void **state)
{
	(void)state;
	struct wl_trace_reader *r =
	    mem_reader("{\"a\": 1}\n\n  \n{\"a\": 2, \"b\": \"x\"}\r\n{\"a\":3}", WL_TRACE_FMT_AUTO);
	assert_int_equal(wl_trace_reader_format(r), WL_TRACE_FMT_JSONL);
	cJSON *row;
	assert_int_equal(wl_trace_reader_next(r, &row), 0);
	assert_int_equal(wl_trace_reader_row_line(r), 1);
	assert_true(num(row, "a") == 1);
	cJSON_Delete(row);
	assert_int_equal(wl_trace_reader_next(r, &row), 0);
	assert_int_equal(wl_trace_reader_row_line(r), 4);
	assert_string_equal(str(row, "b"), "x");
	cJSON_Delete(row);
	assert_int_equal(wl_trace_reader_next(r, &row), 0);
	assert_int_equal(wl_trace_reader_row_line(r), 5);
	assert_true(num(row, "a") == 3);
	cJSON_Delete(row);
	assert_int_equal(wl_trace_reader_next(r, &row), 1);
	/* rewind starts over */
	assert_int_equal(wl_trace_reader_rewind(r), 0);
	assert_int_equal(wl_trace_reader_next(r, &row), 0);
	assert_true(num(row, "a") == 1);
	cJSON_Delete(row);
	wl_trace_reader_close(r);
}

static void expect_error(const char *text, enum wl_trace_fmt fmt, int good_rows, const char *needle)
{
	struct wl_trace_reader *r = mem_reader(text, fmt);
	cJSON *row;
	for (int i = 0; i < good_rows; i++) {
		assert_int_equal(wl_trace_reader_next(r, &row), 0);
		cJSON_Delete(row);
	}
	assert_int_equal(wl_trace_reader_next(r, &row), -1);
	assert_null(row);
	const char *e = wl_trace_reader_error(r);
	if (!strstr(e, needle))
		fail_msg("error '%s' does not contain '%s'", e, needle);
	/* the reader stays failed */
	assert_int_equal(wl_trace_reader_next(r, &row), -1);
	wl_trace_reader_close(r);
}

static void test_jsonl_errors(void **state)
{
	(void)state;
	expect_error("{\"a\": 1}\n{\"a\": 2,, }\n", WL_TRACE_FMT_JSONL, 1, "t.in:2:");
	expect_error("{\"a\": 1}\n{\"a\": 2,, }\n", WL_TRACE_FMT_JSONL, 1, "malformed JSON");
	expect_error("[1, 2]\n", WL_TRACE_FMT_JSONL, 0, "t.in:1: expected a JSON object");
	expect_error("{\"a\": 1} {\"b\": 2}\n", WL_TRACE_FMT_JSONL, 0, "t.in:1: trailing data");
}

static void test_json_array(void **state)
{
	(void)state;
	const char *text = "\xEF\xBB\xBF [\n {\"s\": \"a]}\\\"{\", \"n\": [1, {\"x\": 2}]},\n\n {\"s\": \"b\"}\n]\n";
	struct wl_trace_reader *r = mem_reader(text, WL_TRACE_FMT_AUTO);
	assert_int_equal(wl_trace_reader_format(r), WL_TRACE_FMT_JSON_ARRAY);
	cJSON *row;
	assert_int_equal(wl_trace_reader_next(r, &row), 0);
	assert_string_equal(str(row, "s"), "a]}\"{");
	assert_int_equal(wl_trace_reader_row_line(r), 2);
	cJSON_Delete(row);
	assert_int_equal(wl_trace_reader_next(r, &row), 0);
	assert_string_equal(str(row, "s"), "b");
	assert_int_equal(wl_trace_reader_row_line(r), 4);
	cJSON_Delete(row);
	assert_int_equal(wl_trace_reader_next(r, &row), 1);
	assert_int_equal(wl_trace_reader_next(r, &row), 1);
	wl_trace_reader_close(r);

	expect_error("[{\"a\": 1}, {\"a\": 2}", WL_TRACE_FMT_JSON_ARRAY, 2, "expected ',' or ']'");
	expect_error("[{\"a\": 1},\n {\"a\": ", WL_TRACE_FMT_JSON_ARRAY, 1, "t.in:2:2: unterminated JSON object");
	expect_error("[{\"a\": 1}] x", WL_TRACE_FMT_JSON_ARRAY, 1, "trailing data after the JSON array");
	expect_error("[3]", WL_TRACE_FMT_JSON_ARRAY, 0, "expected a JSON object as array element");
	expect_error("[{\"a\": tru}]", WL_TRACE_FMT_JSON_ARRAY, 0, "t.in:1:");
	/* empty array: no rows */
	r = mem_reader(" [ ] ", WL_TRACE_FMT_AUTO);
	assert_int_equal(wl_trace_reader_next(r, &row), 1);
	wl_trace_reader_close(r);
}

static void test_csv_quoting_and_types(void **state)
{
	(void)state;
	const char *text =
	    "session_id,num_prefill_tokens,num_decode_tokens,text,hash_ids,conv,flag,,empty\r\n"
	    "s1,12,5,\"a, \"\"quoted\"\"\nmulti-line\",\"[1, 2, 3]\",\"[{\"\"from\"\": \"\"human\"\"}]\",true,idx,\r\n"
	    "\r\n"
	    "7,1.5,0,[not json,[],,false,idx,x\n";
	struct wl_trace_reader *r = mem_reader(text, WL_TRACE_FMT_CSV);
	assert_int_equal(wl_trace_reader_read_header(r), 0);
	assert_true(wl_trace_reader_has_column(r, "input_length"));
	assert_true(wl_trace_reader_has_column(r, "output_length"));
	assert_false(wl_trace_reader_has_column(r, "num_prefill_tokens"));
	assert_int_equal(wl_trace_reader_column_index(r, "text"), 4);
	cJSON *row;
	assert_int_equal(wl_trace_reader_next(r, &row), 0);
	assert_int_equal(wl_trace_reader_row_line(r), 2);
	assert_string_equal(str(row, "session_id"), "s1");
	assert_true(num(row, "input_length") == 12);
	assert_true(num(row, "output_length") == 5);
	assert_string_equal(str(row, "text"), "a, \"quoted\"\nmulti-line");
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(row, "hash_ids");
	assert_true(cJSON_IsArray(ids));
	assert_int_equal(cJSON_GetArraySize(ids), 3);
	const cJSON *conv = cJSON_GetObjectItemCaseSensitive(row, "conv");
	assert_true(cJSON_IsArray(conv));
	assert_string_equal(str(cJSON_GetArrayItem(conv, 0), "from"), "human");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "flag")));
	assert_null(cJSON_GetObjectItemCaseSensitive(row, "empty")); /* empty field: absent */
	assert_int_equal(cJSON_GetArraySize(row), 7);                /* unnamed column ignored */
	cJSON_Delete(row);
	assert_int_equal(wl_trace_reader_next(r, &row), 0);
	assert_int_equal(wl_trace_reader_row_line(r), 5);
	assert_true(num(row, "session_id") == 7);
	assert_true(num(row, "input_length") == 1.5);
	assert_string_equal(str(row, "text"), "[not json"); /* not JSON: kept as text */
	assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(row, "hash_ids")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(row, "flag")));
	assert_string_equal(str(row, "empty"), "x");
	cJSON_Delete(row);
	assert_int_equal(wl_trace_reader_next(r, &row), 1);
	wl_trace_reader_close(r);
}

static void test_csv_errors(void **state)
{
	(void)state;
	expect_error("a,b\n1,2\n3\n", WL_TRACE_FMT_CSV, 1, "t.in:3: row has 1 fields but the header has 2 columns");
	expect_error("a,b\n1,2\n3,\"open\n\n", WL_TRACE_FMT_CSV, 1, "t.in:3:3: unterminated quoted field");
	expect_error("a,b\n\"x\"y,2\n", WL_TRACE_FMT_CSV, 0, "t.in:2:4: unexpected character after a closing quote");
	expect_error("a,b,a\n1,2,3\n", WL_TRACE_FMT_CSV, 0, "duplicate column 'a'");
	expect_error("", WL_TRACE_FMT_CSV, 0, "empty CSV file");
	/* header only: no rows, no error */
	struct wl_trace_reader *r = mem_reader("a,b\n", WL_TRACE_FMT_CSV);
	cJSON *row;
	assert_int_equal(wl_trace_reader_next(r, &row), 1);
	wl_trace_reader_close(r);
}

static void test_file_open_errors_and_rewind(void **state)
{
	(void)state;
	char err[256];
	assert_null(wl_trace_reader_open("/nonexistent/trace.csv", WL_TRACE_FMT_AUTO, err, sizeof err));
	assert_non_null(strstr(err, "/nonexistent/trace.csv: cannot open trace file"));

	char path[] = "/tmp/vk-trace-reader-XXXXXX.csv";
	int fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	FILE *fp = fdopen(fd, "w");
	fputs("x,y\n1,2\n3,4\n", fp);
	fclose(fp);
	struct wl_trace_reader *r = wl_trace_reader_open(path, WL_TRACE_FMT_AUTO, err, sizeof err);
	assert_non_null(r);
	assert_int_equal(wl_trace_reader_format(r), WL_TRACE_FMT_CSV);
	for (int pass = 0; pass < 2; pass++) {
		cJSON *row;
		int n = 0;
		while (wl_trace_reader_next(r, &row) == 0) {
			n++;
			assert_true(num(row, "x") == (n == 1 ? 1 : 3));
			cJSON_Delete(row);
		}
		assert_int_equal(n, 2);
		assert_int_equal(wl_trace_reader_rewind(r), 0);
	}
	wl_trace_reader_close(r);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jsonl_rows_and_lines), cmocka_unit_test(test_jsonl_errors),
	    cmocka_unit_test(test_json_array),           cmocka_unit_test(test_csv_quoting_and_types),
	    cmocka_unit_test(test_csv_errors),           cmocka_unit_test(test_file_open_errors_and_rewind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
