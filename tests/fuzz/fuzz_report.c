/* libFuzzer target for report.html's readers (src/output/report_html.c, docs/OUTPUTS.md
 * report.html): the input, split at NUL bytes, becomes a run directory's
 * request_level_metrics.jsonl, timeseries.csv, server_metrics.csv, server_summary.json, ttfc.csv and
 * slo_results.json (a missing part: no file); the report is written and read back.
 * Properties: writing succeeds; sections and SVGs are closed as often as opened; no input text
 * reaches the page unescaped (no "<script"); no coordinate of a chart is NaN or infinite. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "output/report_html.h"
#include "fuzz_tmpdir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* every numeric attribute of the charts: no nan/inf */
static void check_coordinates(const char *html)
{
	static const char *attrs[] = {" x=\"",  " y=\"",  " x1=\"", " y1=\"",    " x2=\"",     " y2=\"",
	                              " cx=\"", " cy=\"", " d=\"",  " width=\"", " height=\"", " transform=\""};
	for (size_t a = 0; a < sizeof attrs / sizeof attrs[0]; a++)
		for (const char *p = html; (p = strstr(p, attrs[a])); p++) {
			const char *v = p + strlen(attrs[a]), *e = strchr(v, '"');
			if (!e)
				abort();
			for (const char *q = v; q + 3 <= e; q++)
				if (!strncmp(q, "nan", 3) || !strncmp(q, "inf", 3))
					abort();
		}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *names[] = {"request_level_metrics.jsonl", "timeseries.csv", "server_metrics.csv",
	                              "server_summary.json",         "ttfc.csv",       "slo_results.json"};
	const char *run_dir = fuzz_tmpdir("vk_fuzz_report");
	char *m = fs_path_join(run_dir, "metrics");
	fs_mkdir_p(m);
	size_t part = 0, start = 0;
	for (size_t i = 0; i <= size && part < sizeof names / sizeof names[0]; i++) {
		if (i < size && data[i] != 0)
			continue;
		char *p = fs_path_join(m, names[part]);
		fs_write_file(p, data + start, i - start);
		free(p);
		part++;
		start = i + 1;
	}
	for (; part < sizeof names / sizeof names[0]; part++) {
		char *p = fs_path_join(m, names[part]);
		unlink(p);
		free(p);
	}
	if (report_html_write_run(run_dir) != 0)
		abort();
	char *rp = fs_path_join(m, "report.html");
	char *html = fs_read_file(rp, NULL);
	if (!html)
		abort();
	if (count(html, "<section") != count(html, "</section>") || count(html, "<svg") != count(html, "</svg>") ||
	    strstr(html, "<script"))
		abort();
	check_coordinates(html);
	free(html);
	free(rp);
	free(m);
	return 0;
}
