/* report.html structure (docs/OUTPUTS.md, report.html): a run directory made here with hostile text
 * in every file the report copies, then the page checked as markup: every element opened is closed
 * in order, text is escaped, each section is present, no network address is referenced, empty
 * series say "no samples", the per-length violins have no empty bin; the same for a sweep and a
 * capacity search; a directory that cannot take the file is an error. The browser test is
 * tests/e2e/test_report_browser.sh. */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "core/fsutil.h"
#include "core/xalloc.h"
#include "output/report_html.h"
#include "output/report_internal.h"

static char tmpdir[64];

static void put(const char *dir, const char *name, const char *text)
{
	char *p = fs_path_join(dir, name);
	assert_int_equal(fs_write_file(p, text, strlen(text)), 0);
	free(p);
}

static char *slurp(const char *dir, const char *name)
{
	char *p = fs_path_join(dir, name);
	char *t = fs_read_file(p, NULL);
	free(p);
	assert_non_null(t);
	return t;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Tag balance: every start tag of a non-void element is closed by the matching end tag, in order;
 * "<x .../>" (SVG) closes itself. Text inside <style> and <title> is skipped as raw text. Returns
 * NULL when balanced, else a description (static). */
static const char *check_balanced(const char *html)
{
	static char why[256];
	static const char *voids[] = {"meta", "br", "hr", "img", "link", "input", NULL};
	char stack[256][16];
	int depth = 0;
	const char *p = html;
	while ((p = strchr(p, '<'))) {
		if (!strncmp(p, "<!", 2)) { /* doctype or comment */
			p = strchr(p, '>');
			if (!p)
				return "unterminated <!";
			continue;
		}
		bool close = p[1] == '/';
		const char *s = p + 1 + close;
		char name[16];
		size_t k = 0;
		while ((isalnum((unsigned char)s[k]) || s[k] == '-') && k < sizeof name - 1) {
			name[k] = (char)tolower((unsigned char)s[k]);
			k++;
		}
		name[k] = '\0';
		if (!k) {
			snprintf(why, sizeof why, "a bare '<' in text at offset %td", p - html);
			return why;
		}
		/* the end of the tag, skipping quoted attribute values */
		const char *e = s + k;
		char q = 0;
		for (; *e && (q || *e != '>'); e++)
			if (q ? *e == q : (*e == '"' || *e == '\''))
				q = q ? 0 : *e;
		if (!*e)
			return "unterminated tag";
		bool self = e[-1] == '/';
		bool is_void = false;
		for (int v = 0; voids[v]; v++)
			is_void = is_void || !strcmp(voids[v], name);
		if (close) {
			if (!depth || strcmp(stack[depth - 1], name) != 0) {
				snprintf(why, sizeof why, "</%s> at offset %td closes <%s>", name, p - html,
				         depth ? stack[depth - 1] : "(nothing)");
				return why;
			}
			depth--;
		} else if (!self && !is_void) {
			if (depth == 256)
				return "too deep";
			snprintf(stack[depth++], sizeof stack[0], "%s", name);
			if (!strcmp(name, "style") || !strcmp(name, "title")) { /* raw text up to its end tag */
				char end[24];
				snprintf(end, sizeof end, "</%s>", name);
				const char *z = strstr(e, end);
				if (!z)
					return "raw-text element not closed";
				e = z - 1;
			}
		}
		p = e + 1;
	}
	if (depth) {
		snprintf(why, sizeof why, "<%s> never closed (%d open)", stack[depth - 1], depth);
		return why;
	}
	return NULL;
}

/* No src= or href= that names a network address (anchors and relative files are fine), no script. */
static void assert_offline(const char *html)
{
	static const char *attrs[] = {"src=\"", "href=\"", "src='", "href='", "url(", NULL};
	for (int a = 0; attrs[a]; a++)
		for (const char *p = html; (p = strstr(p, attrs[a])); p++) {
			const char *v = p + strlen(attrs[a]);
			assert_false(!strncmp(v, "http:", 5) || !strncmp(v, "https:", 6) || !strncmp(v, "//", 2));
		}
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "@import"));
	assert_null(strstr(html, "<link"));
}

#define HOSTILE "<script>alert(\"x\") & 'q'</script>"
#define HOSTILE_JSON "<script>alert(\\\"x\\\") & 'q'</script>"
#define HOSTILE_ESC "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;q&#39;&lt;/script&gt;"

static char *make_run(const char *name, bool full)
{
	char *run = fs_path_join(tmpdir, name);
	char *m = fs_path_join(run, "metrics");
	assert_int_equal(fs_mkdir_p(m), 0);
	put(run, "config.yml", "seed: 42\nname: \"" HOSTILE "\"\n");
	put(run, "server.json",
	    "{\"type\": \"sim\", \"model\": \""
	    "m<1> & \\\"q\\\""
	    "\", \"argv\": [\"veeksha\", \"sim-server\"], "
	    "\"pid\": 12, \"exit_status\": null}");
	/* a series with no samples is null; Python's Infinity in the SLO file */
	put(m, "summary_stats.json",
	    "{\"Number of Requests\": 60, \"Number of Errored Requests\": 3, \"Number of Completed Requests\": 57, "
	    "\"Error Rate\": 0.05, \"error_code_freq\": {\"500\": 3}, \"Time to First Chunk (Mean)\": 0.02, "
	    "\"Time to First Chunk (P50)\": 0.019, \"Time to First Chunk (P90)\": 0.03, \"Time to First Chunk (P99)\": "
	    "0.05, \"Session Duration (Mean)\": null, \"Session Duration (P50)\": null, \"Session Duration (P90)\": "
	    "null, "
	    "\"Session Duration (P99)\": null, \"Goodput (requests/s)\": 3.5, \"tokenizer\": \"approx-words\", "
	    "\"error_class_freq\": {\"http\": 3}, \"top_errors\": [{\"class\": \"http\", \"code\": 500, \"message\": "
	    "\"HTTP 500: " HOSTILE_JSON "\", \"count\": 3}], \"run_status\": \"truncated\", \"run_status_reason\": "
	    "\"session generator failed: trace.csv:5: a < b\"}");
	put(m, "slo_results.json",
	    "{\"all_slos_met\": false, \"verdict_reasons\": [\"P99 TTFC inf s > 0.5 s <because>\"], \"results\": "
	    "[{\"met\": false, \"slo_metric_key\": \"ttfc_p99\", \"observed_value\": Infinity, \"threshold\": 0.5, "
	    "\"percentile\": 0.99, \"metric\": \"ttfc\", \"name\": \"P99 <TTFC>\", \"lower_is_better\": true}, "
	    "{\"met\": false, \"slo_metric_key\": \"error_rate\", \"observed_value\": 0.05, \"threshold\": 0.0, "
	    "\"percentile\": null, \"metric\": \"error_rate\", \"name\": \"Error Rate\", \"lower_is_better\": true}]}");
	if (!full) {
		free(m);
		return run;
	}
	/* ttfc.csv: 101 quantiles spanning 3 decades (log x); session_duration.csv: empty series */
	struct buf csv;
	buf_init(&csv);
	buf_puts(&csv, ",cdf,Time to First Chunk\n");
	for (int i = 0; i <= 100; i++)
		buf_printf(&csv, "%d,%g,%g\n", i, i / 100.0, 0.0001 * pow(1000, i / 100.0));
	put(m, "ttfc.csv", csv.data);
	buf_reset(&csv);
	buf_puts(&csv, ",cdf,Session Duration\n");
	for (int i = 0; i <= 100; i++)
		buf_printf(&csv, "%d,%g,\n", i, i / 100.0);
	put(m, "session_duration.csv", csv.data);
	/* 57 good rows over 30 distinct prompt lengths (one far longer than the rest), 3 failed rows */
	buf_reset(&csv);
	for (int i = 0; i < 57; i++)
		buf_printf(&csv,
		           "{\"request_id\": %d, \"num_delta_prompt_tokens\": %d, \"is_stream\": true, \"tpot\": 0.01, "
		           "\"ttfc\": %g, \"end_to_end_latency\": %g, \"tbc\": [0.01, 0.01]}\n",
		           i, i == 56 ? 100000 : 100 + (i % 30) * 7, 0.01 + 0.001 * i, 0.5 + 0.01 * i);
	for (int i = 0; i < 3; i++)
		buf_printf(&csv,
		           "{\"request_id\": %d, \"num_delta_prompt_tokens\": 5, \"is_stream\": true, \"success\": "
		           "false, \"error_class\": \"http\", \"error_code\": 500, \"error_msg\": \"x\"}\n",
		           100 + i);
	put(m, "request_level_metrics.jsonl", csv.data);
	buf_reset(&csv);
	buf_puts(&csv,
	         "t_start_s,t_end_s,dispatched,completed,errored,cancelled,in_flight,in_flight_mean,output_tokens,"
	         "output_tokens_per_s,ttfc_p50_s,ttfc_p99_s,tbc_p50_s\n");
	for (int i = 0; i < 10; i++)
		buf_printf(&csv, "%d,%d,6,5,0,0,3,2.5,100,100,%s,0.03,0.01\n", i, i + 1, i == 4 ? "" : "0.02");
	put(m, "timeseries.csv", csv.data);
	put(m, "server_summary.json",
	    "{\"url\": \"http://127.0.0.1:1/metrics\", \"engine\": \"vllm\", \"scrapes_ok\": 3, \"scrapes_failed\": 0, "
	    "\"metrics\": {\"running\": {\"type\": \"gauge\", \"source\": \"vllm:num_requests_running\", \"min\": 0, "
	    "\"mean\": 1, \"max\": 2}, \"preemptions\": {\"type\": \"counter\", \"source\": "
	    "\"vllm:num_preemptions_total\", \"delta\": 0}}, \"reconciliation\": {\"output_tokens\": {\"client\": 10, "
	    "\"server\": 12, \"server_source\": \"vllm:generation_tokens_total\", \"flag\": true}, "
	    "\"completed_requests\": {\"client\": 10, \"server\": null, \"flag\": false}}, "
	    "\"coverage_note\": \"the baseline scrape before the run read no samples <x>\"}");
	put(m, "server_metrics.csv",
	    "t_s,name,labels,value\n0.0,vllm:num_requests_running,\"a=\"\"1\"\"\",1\n"
	    "0.0,vllm:num_requests_running,\"a=\"\"2\"\"\",1\n1.0,vllm:num_requests_running,,2\n");
	buf_free(&csv);
	free(m);
	return run;
}

static void test_run_report(void **state)
{
	(void)state;
	char *run = make_run("run_full", true);
	assert_int_equal(report_html_write_run(run), 0);
	char *m = fs_path_join(run, "metrics");
	char *html = slurp(m, "report.html");
	const char *why = check_balanced(html);
	if (why)
		fail_msg("unbalanced: %s", why);
	assert_offline(html);
	assert_non_null(strstr(html, "<!DOCTYPE html>"));
	assert_non_null(strstr(html, "Content-Security-Policy"));
	/* every section, in order */
	static const char *ids[] = {"summary",   "slos",       "errors",         "cdfs",
	                            "by-length", "timeseries", "server-metrics", "provenance"};
	const char *prev = html;
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		char *id = xasprintf("<section id=\"%s\">", ids[i]);
		const char *at = strstr(html, id);
		if (!at || at < prev)
			fail_msg("section %s missing or out of order", ids[i]);
		prev = at;
		free(id);
	}
	/* the hostile text (config.yml, top error message) only escaped */
	assert_null(strstr(html, "<script"));
	assert_true(count(html, HOSTILE_ESC) >= 2);
	assert_non_null(strstr(html, "m&lt;1&gt; &amp; &quot;q&quot;"));
	assert_non_null(strstr(html, "P99 &lt;TTFC&gt;"));
	assert_non_null(strstr(html, "P99 TTFC inf s &gt; 0.5 s &lt;because&gt;")); /* the verdict reason */
	assert_non_null(strstr(html, "run truncated") ? strstr(html, "run truncated") : strstr(html, "truncated"));
	assert_non_null(strstr(html, "a &lt; b"));
	/* errors by class and code */
	assert_non_null(strstr(html, "<th>http</th>"));
	assert_non_null(strstr(html, "<th>500</th>"));
	/* an empty series is "no samples", never 0; the session-duration CDF says so too */
	assert_non_null(strstr(html, "Session Duration"));
	assert_true(count(html, "no samples") >= 5);
	/* TTFC spans 3 decades: log x; every plot titled with its unit */
	assert_non_null(strstr(html, "Time to First Chunk [ms]: CDF"));
	assert_non_null(strstr(html, "(log scale)"));
	/* violins: bins of about equal counts (<= 10), none empty; the lone 100000-token prompt is one bin's end */
	const char *bl = strstr(html, "<section id=\"by-length\">");
	const char *bl_end = strstr(bl, "</section>");
	char *sec = xstrndup(bl, (size_t)(bl_end - bl));
	assert_null(strstr(sec, "n=0"));
	size_t bins = count(sec, "n=");
	assert_true(bins >= 2 * 5 && bins <= 2 * 10); /* two charts */
	assert_non_null(strstr(sec, "100000"));
	free(sec);
	/* the time series (a gap for the empty cell) and the server's gauge (two label sets summed) */
	assert_non_null(strstr(html, "Requests in flight [requests]"));
	assert_non_null(strstr(html, "Server running [vllm:num_requests_running]"));
	assert_non_null(strstr(html, "<span class=\"bad\">differs</span>"));
	/* a row without the server's side is n/a, never ok; the coverage note is shown */
	assert_null(strstr(html, "<span class=\"ok\">ok</span>"));
	assert_non_null(strstr(html, "<span class=\"muted\">n/a</span>"));
	assert_non_null(strstr(html, "read no samples &lt;x&gt;"));
	free(html);
	free(m);
	free(run);
}

static void test_run_report_minimal(void **state)
{
	(void)state;
	/* only summary, SLOs and config: the other sections say what is missing */
	char *run = make_run("run_min", false);
	assert_int_equal(report_html_write_run(run), 0);
	char *m = fs_path_join(run, "metrics");
	char *html = slurp(m, "report.html");
	const char *why = check_balanced(html);
	if (why)
		fail_msg("unbalanced: %s", why);
	assert_offline(html);
	assert_non_null(strstr(html, "No metrics/timeseries.csv"));
	assert_non_null(strstr(html, "No metrics/server_summary.json"));
	assert_non_null(strstr(html, "request_level_metrics.jsonl not available"));
	free(html);
	free(m);
	free(run);
	/* a directory without metrics/ cannot take the file: an error, not a crash */
	char *none = fs_path_join(tmpdir, "no_such_run");
	assert_int_equal(report_html_write_run(none), -1);
	free(none);
}

static void test_escape_and_svg(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	rhtml_escape(&b, "<a href=\"x\">&'</a>");
	assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
	buf_reset(&b);
	/* a chart without a finite point says so; a chart of one point is still balanced */
	double x[2] = {NAN, 1}, y[2] = {1, NAN};
	struct rsvg_series se = {.name = "s<1>", .colour = "#000", .x = x, .y = y, .n = 2};
	struct rsvg_chart c = {.title = "T <ms>", .xlabel = "x", .ylabel = "y", .series = &se, .n_series = 1};
	rsvg_chart(&b, &c);
	assert_non_null(strstr(b.data, "no samples"));
	assert_non_null(strstr(b.data, "T &lt;ms&gt;"));
	assert_null(check_balanced(b.data));
	buf_reset(&b);
	double one[1] = {0.5}, yy[1] = {2};
	se.x = one;
	se.y = yy;
	se.n = 1;
	rsvg_chart(&b, &c);
	assert_null(strstr(b.data, "no samples"));
	assert_null(strstr(b.data, "nan"));
	assert_null(check_balanced(b.data));
	buf_reset(&b);
	/* violins: equal values, one value, and an empty group */
	double same[3] = {1, 1, 1}, lone[1] = {2};
	struct rsvg_group g[3] = {{"a", same, 3}, {"b", lone, 1}, {"c", NULL, 0}};
	rsvg_violins(&b, "V [s]", "x", "y", "#123456", g, 3, true);
	assert_null(strstr(b.data, "nan"));
	assert_null(strstr(b.data, "inf"));
	assert_null(check_balanced(b.data));
	buf_free(&b);
	/* the same metric has the same colour every time */
	assert_string_equal(rsvg_metric_colour("ttfc"), "#1f77b4");
	assert_string_equal(rsvg_metric_colour("some_new_key"), rsvg_metric_colour("some_new_key"));
}

static void test_sweep_and_capacity(void **state)
{
	(void)state;
	char *sw = fs_path_join(tmpdir, "sweep");
	assert_int_equal(fs_mkdir_p(sw), 0);
	struct buf j;
	buf_init(&j);
	buf_puts(&j, "[");
	int k = 0;
	for (int r = 0; r < 3; r++)
		for (int len = 0; len < 2; len++, k++)
			buf_printf(
			    &j,
			    "%s{\"run_index\": %d, \"run_dir\": \"%s/run%d\", \"context_length\": %d, \"traffic\": "
			    "{\"type\": \"rate\", \"arrival_rate\": %d}, \"runtime\": {\"max_sessions\": 10}, "
			    "\"summary_stats\": {\"Number of Requests\": 10, \"Error Rate\": 0.0, \"Time to First "
			    "Chunk "
			    "(P99)\": %g, \"Output Token Throughput (tokens/s)\": %d}, \"all_slos_met\": %s}",
			    k ? "," : "", k, sw, k, 32 << len, 20 << r, 0.01 * (r + 1) * (len + 1), 100 * (r + 1),
			    r == 2 ? "false" : "true");
	buf_puts(&j, "]");
	put(sw, "sweep_summary.json", j.data);
	assert_int_equal(report_html_write_sweep(sw), 0);
	char *html = slurp(sw, "report.html");
	assert_null(check_balanced(html));
	assert_offline(html);
	assert_non_null(strstr(html, "6 runs against arrival rate [sessions/s]"));
	assert_non_null(strstr(html, "p99, context length [tokens] 64")); /* the second key makes groups */
	assert_int_equal(count(html, "metrics/report.html\">#"), 6);      /* relative links to each run */
	assert_non_null(strstr(html, "href=\"run0/metrics/report.html\""));
	free(html);
	/* capacity search: SLO against the probed value with threshold and capacity lines */
	buf_reset(&j);
	buf_printf(
	    &j,
	    "{\"searched_knob\": \"traffic_scheduler.interval_generator.arrival_rate\", \"best_value\": 4.0, "
	    "\"history\": [{\"value\": 2.0, \"all_slos_met\": true, \"run_dir\": null, \"slo_results\": "
	    "[{\"met\": true, \"slo_metric_key\": \"ttfc_p99\", \"observed_value\": 0.1, \"threshold\": 0.5, "
	    "\"metric\": \"ttfc\", \"name\": \"P99 TTFC\"}]}, {\"value\": 8.0, \"all_slos_met\": false, \"run_dir\": "
	    "\"%s/none\", \"slo_results\": [{\"met\": false, \"slo_metric_key\": \"ttfc_p99\", \"observed_value\": "
	    "Infinity, \"threshold\": 0.5, \"metric\": \"ttfc\", \"name\": \"P99 TTFC\"}]}, {\"value\": 4.0, "
	    "\"all_slos_met\": true, \"run_dir\": null, \"slo_results\": null}]}",
	    sw);
	put(sw, "capacity_search_results.json", j.data);
	assert_int_equal(report_html_write_capacity(sw), 0);
	html = slurp(sw, "report.html");
	assert_null(check_balanced(html));
	assert_offline(html);
	assert_non_null(strstr(html, "arrival_rate = 4</span>"));
	assert_non_null(strstr(html, "SLO P99 TTFC [ms]"));
	assert_non_null(strstr(html, ">capacity</text>"));
	assert_non_null(strstr(html, ">threshold</text>"));
	free(html);
	/* no results file: an error naming it */
	char *empty = fs_path_join(tmpdir, "empty");
	assert_int_equal(fs_mkdir_p(empty), 0);
	assert_int_equal(report_html_write_capacity(empty), -1);
	assert_int_equal(report_html_write_sweep(empty), -1);
	free(empty);
	buf_free(&j);
	free(sw);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vk_report_XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_and_svg),
	    cmocka_unit_test(test_run_report),
	    cmocka_unit_test(test_run_report_minimal),
	    cmocka_unit_test(test_sweep_and_capacity),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	free(cmd);
	return rc;
}
