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
#include "output/plot.h"

static bool expect_no_gnuplot;
static char tmpdir[64];

/* Whether the PNGs must be drawn. Where gnuplot is installed (CI sets VEEKSHA_REQUIRE_GNUPLOT=1 after
 * installing it), its absence is a failure rather than a silent skip of every image check. */
static bool gnuplot_expected(void)
{
	if (expect_no_gnuplot)
		return false;
	const char *req = getenv("VEEKSHA_REQUIRE_GNUPLOT");
	if (req && !strcmp(req, "1") && !plot_available())
		fail_msg("VEEKSHA_REQUIRE_GNUPLOT=1 but gnuplot cannot be run (not on PATH?)");
	return plot_available();
}

static long fsize(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void test_scale_rule(void **state)
{
	(void)state;
	double v[20];
	for (int i = 0; i < 20; i++)
		v[i] = 0.01 * (i + 1);
	assert_int_equal(plot_recommend_scale(v, 20), PLOT_LINEAR); /* all within [0, 1] */
	for (int i = 0; i < 20; i++)
		v[i] = pow(10, i / 4.0); /* 1 .. ~56000: p95/p5 >> 50 */
	assert_int_equal(plot_recommend_scale(v, 20), PLOT_LOG);
	assert_int_equal(plot_recommend_scale(v, 9), PLOT_LINEAR); /* fewer than 10 values */
	v[0] = -1;
	assert_int_equal(plot_recommend_scale(v, 20), PLOT_SYMLOG);
	for (int i = 0; i < 20; i++)
		v[i] = 2 + i; /* p95/p5 < 50 */
	assert_int_equal(plot_recommend_scale(v, 20), PLOT_LINEAR);
}

/* The sorted variant gives the general rule's answer on sorted series of every shape: all in
 * [0, 1], negatives and zeros before the positives (symlog), a narrow or a wide positive tail,
 * infinities at the ends, too few values. */
static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void test_scale_rule_sorted(void **state)
{
	(void)state;
	enum { N = 400 };
	double v[N];
	unsigned seed = 12345;
	int seen[3] = {0, 0, 0};
	for (int round = 0; round < 3000; round++) {
		size_t n = 1 + (size_t)(rand_r(&seed) % N);
		int shape = rand_r(&seed) % 6;
		for (size_t i = 0; i < n; i++) {
			double u = (double)rand_r(&seed) / RAND_MAX;
			switch (shape) {
			case 0:
				v[i] = u;
				break; /* within [0, 1] */
			case 1:
				v[i] = pow(10, 6 * u - 3);
				break; /* wide: log */
			case 2:
				v[i] = u < 0.2 ? -u : (u < 0.3 ? 0 : pow(10, 5 * u));
				break; /* symlog */
			case 3:
				v[i] = 2 + u;
				break; /* narrow */
			case 4:
				v[i] = u < 0.05 ? -INFINITY : (u > 0.95 ? INFINITY : pow(10, 8 * u));
				break;
			default:
				v[i] = -pow(10, 3 * u);
				break; /* no positives */
			}
		}
		qsort(v, n, sizeof *v, cmp_dbl);
		enum plot_scale want = plot_recommend_scale(v, n);
		assert_int_equal(plot_recommend_scale_sorted(v, n), want);
		seen[want]++;
	}
	for (int i = 0; i < 3; i++)
		assert_true(seen[i] > 100); /* every answer came up */
}

static void test_cdf_and_boxes(void **state)
{
	(void)state;
	double v[500];
	for (int i = 0; i < 500; i++)
		v[i] = 0.01 + i * 0.0002;
	char png[256], src[256], p[300];
	snprintf(png, sizeof png, "%s/ttfc.png", tmpdir);
	snprintf(src, sizeof src, "%s/plots_src", tmpdir);
	enum plot_result r =
	    plot_cdf(png, src, "ttfc", "Time to First Chunk", "Time to First Chunk [s]", v, 500, PLOT_LINEAR);
	assert_int_equal(plot_wait_all(), 0); /* gnuplot ran in the background */
	snprintf(p, sizeof p, "%s/ttfc.dat", src);
	assert_true(fsize(p) > 1000);
	snprintf(p, sizeof p, "%s/ttfc.gp", src);
	assert_true(fsize(p) > 50);
	if (expect_no_gnuplot) {
		assert_int_equal(r, PLOT_SKIPPED);
		assert_false(plot_available());
		assert_true(fsize(png) < 0);
	} else if (gnuplot_expected()) {
		assert_int_equal(r, PLOT_OK);
		assert_true(fsize(png) > 5000); /* a real image, not an empty file */
	} else {
		assert_int_equal(r, PLOT_SKIPPED);
	}
	const char *labels[2] = {"10-20", "20-30"};
	const double *vals[2] = {v, v + 250};
	size_t cnt[2] = {250, 250};
	snprintf(png, sizeof png, "%s/box.png", tmpdir);
	r = plot_boxes(png, src, "box", "TTFC by prompt length", "prompt", "ttfc [s]", labels, vals, cnt, 2,
	               PLOT_LINEAR);
	assert_int_equal(plot_wait_all(), 0);
	if (gnuplot_expected()) {
		assert_int_equal(r, PLOT_OK);
		assert_true(fsize(png) > 5000);
	} else {
		assert_int_equal(r, PLOT_SKIPPED);
	}
	/* box.dat: "<category> <value>" per value, in order, each reading back as exactly the value */
	snprintf(p, sizeof p, "%s/box.dat", src);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	char line[128];
	assert_non_null(fgets(line, sizeof line, f)); /* the header comment */
	for (size_t k = 0; k < 500; k++) {
		assert_non_null(fgets(line, sizeof line, f));
		char *end = NULL;
		unsigned long c = strtoul(line, &end, 10);
		assert_int_equal(c, k / 250);
		assert_true(*end == ' ');
		double got = strtod(end + 1, &end);
		if (got != v[k])
			fail_msg("line %zu: %s", k, line);
		assert_true(*end == '\n');
	}
	assert_null(fgets(line, sizeof line, f));
	fclose(f);
	double t[3] = {0.1, 0.15, 0.3}, y[3] = {1, 2, 1}, ss[1] = {0.15}, se[1] = {0.3};
	snprintf(png, sizeof png, "%s/dw.png", tmpdir);
	r = plot_steps_with_spans(png, src, "dw", "windows", "t", "active", t, y, 3, ss, se, 1);
	assert_int_equal(plot_wait_all(), 0);
	if (gnuplot_expected()) {
		assert_int_equal(r, PLOT_OK);
		assert_true(fsize(png) > 3000);
	} else {
		assert_int_equal(r, PLOT_SKIPPED);
	}
}

/* batch: one gnuplot for all; a failing script falls back to per-plot runs, good plots kept */
static void test_batch(void **state)
{
	(void)state;
	if (!gnuplot_expected())
		skip();
	double good[3] = {1, 2, 3}, bad[2] = {NAN, NAN};
	char png1[256], png2[256], src[256];
	snprintf(src, sizeof src, "%s/plots_src", tmpdir);
	snprintf(png1, sizeof png1, "%s/good.png", tmpdir);
	snprintf(png2, sizeof png2, "%s/bad.png", tmpdir);
	plot_batch_begin();
	assert_int_equal(plot_cdf(png1, src, "good", "g", "x", good, 3, PLOT_LINEAR), PLOT_OK);
	assert_int_equal(plot_cdf(png2, src, "bad", "b", "x", bad, 2, PLOT_LINEAR), PLOT_OK); /* queued */
	plot_batch_end();
	assert_int_equal(plot_wait_all(), 1); /* the batch failed, each script run alone: one bad */
	assert_true(fsize(png1) > 3000);
	assert_true(fsize(png2) < 0);
	plot_batch_begin();
	plot_batch_end();
	assert_int_equal(plot_wait_all(), 0); /* empty batch */
	/* plots started in the background: nothing rendered until waited for; a failing single plot
	 * loses its PNG then */
	assert_int_equal(plot_cdf(png2, src, "bad", "b", "x", bad, 2, PLOT_LINEAR), PLOT_OK);
	assert_int_equal(plot_cdf(png1, src, "good", "g", "x", good, 3, PLOT_LINEAR), PLOT_OK);
	assert_int_equal(plot_wait_all(), 1);
	assert_true(fsize(png1) > 3000);
	assert_true(fsize(png2) < 0);
}

static char *gp_text(const char *src, const char *stem)
{
	char p[300];
	snprintf(p, sizeof p, "%s/%s.gp", src, stem);
	char *t = fs_read_file(p, NULL);
	assert_non_null(t);
	return t;
}

/* One gnuplot process renders a batch: every script starts with reset, so a log axis or a [0:1]
 * range of the previous script cannot reach the next (the box plot once inherited a CDF's log x and
 * y range: half its axis empty, y stretched to 1). Box plots end their y axis at the data, turn
 * their labels only when they would overlap; each metric has its own fixed colour. */
static void test_scripts_isolated(void **state)
{
	(void)state;
	double v[40];
	for (int i = 0; i < 40; i++)
		v[i] = 0.001 * (i + 1) * (i + 1);
	char png[256], src[256];
	snprintf(src, sizeof src, "%s/iso_src", tmpdir);
	plot_batch_begin();
	snprintf(png, sizeof png, "%s/ttfc_log_x.png", tmpdir);
	plot_cdf(png, src, "ttfc_log_x", "TTFC [s]: CDF", "TTFC [s]", v, 40, PLOT_LOG);
	snprintf(png, sizeof png, "%s/tbc.png", tmpdir);
	plot_cdf(png, src, "tbc", "TBC [s]: CDF", "TBC [s]", v, 40, PLOT_LINEAR);
	const char *shortl[3] = {"1-9", "10-19", "20-29"};
	const double *vals[3] = {v, v + 10, v + 20};
	size_t cnt[3] = {10, 10, 20};
	snprintf(png, sizeof png, "%s/ttfc_violin_plot.png", tmpdir);
	plot_boxes(png, src, "ttfc_violin_plot", "TTFC [s] by prompt length", "prompt", "TTFC [s]", shortl, vals, cnt,
	           3, PLOT_LINEAR);
	const char *longl[12];
	const double *v12[12];
	size_t c12[12];
	for (int i = 0; i < 12; i++) {
		longl[i] = "100000-199999";
		v12[i] = v;
		c12[i] = 3;
	}
	snprintf(png, sizeof png, "%s/many.png", tmpdir);
	plot_boxes(png, src, "many", "many", "prompt", "TTFC [s]", longl, v12, c12, 12, PLOT_LINEAR);
	plot_batch_end();
	plot_wait_all();
	const char *stems[] = {"ttfc_log_x", "tbc", "ttfc_violin_plot", "many"};
	for (int i = 0; i < 4; i++) {
		char *t = gp_text(src, stems[i]);
		assert_int_equal(strncmp(t, "reset\n", 6), 0);
		free(t);
	}
	char *t = gp_text(src, "ttfc_log_x");
	assert_non_null(strstr(t, "set logscale x"));
	assert_non_null(strstr(t, "#1f77b4")); /* ttfc's colour, as in report.html */
	free(t);
	t = gp_text(src, "tbc");
	assert_non_null(strstr(t, "#ff7f0e"));
	free(t);
	t = gp_text(src, "ttfc_violin_plot");
	assert_non_null(strstr(t, "set autoscale yfix"));
	assert_non_null(strstr(t, "set xtics norotate"));
	assert_non_null(strstr(t, "#1f77b4"));
	free(t);
	t = gp_text(src, "many");
	assert_non_null(strstr(t, "set xtics rotate by -30"));
	free(t);
}

static void test_outfile(void **state)
{
	(void)state;
	char d[256], f[300];
	snprintf(d, sizeof d, "%s/a/b/c", tmpdir);
	assert_int_equal(fs_mkdir_p(d), 0);
	assert_int_equal(fs_mkdir_p(d), 0); /* exists: fine */
	snprintf(f, sizeof f, "%s/x.json", d);
	assert_int_equal(fs_write_file_or_log(f, "{}", 2), 0);
	assert_int_equal(fsize(f), 2);
	snprintf(f, sizeof f, "%s/x.json.tmp", d);
	assert_true(fsize(f) < 0); /* temp file renamed away */
	assert_int_equal(fs_write_file_or_log("/nonexistent-dir/x", "a", 1), -1);
}

int main(int argc, char **argv)
{
	expect_no_gnuplot = argc > 1 && strcmp(argv[1], "--expect-no-gnuplot") == 0;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/vk_plot_test_XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scale_rule),       cmocka_unit_test(test_scale_rule_sorted),
	    cmocka_unit_test(test_cdf_and_boxes),    cmocka_unit_test(test_batch),
	    cmocka_unit_test(test_scripts_isolated), cmocka_unit_test(test_outfile),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "/bin/rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
