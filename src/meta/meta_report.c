/* veeksha report A B ...: a side-by-side table of the key metrics of runs or sweeps, printed and
 * written as Markdown and CSV (--output PREFIX, default "report": report.md, report.csv).
 * Each argument may be a run directory (has metrics/), an output directory holding runs (the newest
 * run is used) or a sweep directory (every run of the sweep becomes a column). */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "core/xalloc.h"
#include "meta/mb_rows.h"
#include "meta/meta_cli.h"
#include "runner/evaluate.h"
#include "runner/sweep_summary.h"

#define REPORT_MAX_COLS 256

struct report_col {
	char *label;
	char *run_dir;
	cJSON *summary;
	cJSON *throughput;
	cJSON *slo;
	double duration_s;
	double output_tokens;
	bool recomputed; /* the summary was recomputed from the raw records (veeksha evaluate) */
};

/* The columns read so far, and the array. */
static void report_cols_free(struct report_col *cols, size_t n)
{
	for (size_t c = 0; c < n; c++) {
		free(cols[c].label);
		free(cols[c].run_dir);
		cJSON_Delete(cols[c].summary);
		cJSON_Delete(cols[c].throughput);
		cJSON_Delete(cols[c].slo);
	}
	free(cols);
}

static bool report_is_run(const char *dir)
{
	char *p = xasprintf("%s/metrics/summary_stats.json", dir);
	bool r = fs_exists(p);
	free(p);
	return r;
}

static cJSON *report_json(const char *path)
{
	char *t = fs_read_file(path, NULL);
	cJSON *j = t ? cJSON_Parse(t) : NULL;
	free(t);
	return j;
}

static const char *report_base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s && s[1] ? s + 1 : p;
}

static void report_load_rows(struct report_col *c)
{
	/* duration and output tokens for the run's overall output throughput */
	char *p = xasprintf("%s/metrics/request_level_metrics.jsonl", c->run_dir);
	FILE *f = fopen(p, "r");
	free(p);
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	double t0 = INFINITY, t1 = -INFINITY;
	while (getline(&line, &cap, f) > 0) {
		cJSON *o = cJSON_Parse(line);
		if (!o)
			continue;
		if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "success"))) {
			cJSON_Delete(o); /* a failed request's row (docs/OUTPUTS.md): no output to count */
			continue;
		}
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "scheduler_dispatched_at");
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "client_completed_at");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "num_output_tokens");
		if (cJSON_IsNumber(d) && d->valuedouble < t0)
			t0 = d->valuedouble;
		if (cJSON_IsNumber(e) && e->valuedouble > t1)
			t1 = e->valuedouble;
		if (cJSON_IsNumber(n))
			c->output_tokens += n->valuedouble;
		cJSON_Delete(o);
	}
	free(line);
	fclose(f);
	c->duration_s = t1 > t0 ? t1 - t0 : 0;
}

/* 0, or -1 when the run's raw records could not be read (the error named file:line). */
static int report_add_run(struct report_col *cols, size_t *n, const char *run_dir, const char *label)
{
	if (*n >= REPORT_MAX_COLS)
		return 0;
	struct report_col *c = &cols[(*n)++];
	memset(c, 0, sizeof *c);
	c->label = xstrdup(label);
	c->run_dir = xstrdup(run_dir);
	c->summary = sweep_read_metrics_json(run_dir, "summary_stats.json");
	c->throughput = sweep_read_metrics_json(run_dir, "throughput_metrics.json");
	c->slo = sweep_read_metrics_json(run_dir, "slo_results.json");
	report_load_rows(c);
	if (!c->summary || !cJSON_GetObjectItemCaseSensitive(c->summary, "Time to First Chunk (P50)")) {
		/* a summary without the latency keys (the Python Veeksha writes only counters there):
		 * recompute every file from the run's raw records into a scratch directory and read those
		 * (veeksha evaluate; docs/META.md, Reports) */
		char tmpl[] = "/tmp/veeksha-report-XXXXXX";
		char *tmp = mkdtemp(tmpl);
		struct cfg_run_opts opts;
		memset(&opts, 0, sizeof opts);
		opts.quiet = true;
		opts.no_report = true; /* (scratch: only the summary and the SLOs are read) */
		struct runner_result res;
		memset(&res, 0, sizeof res);
		int rc = tmp ? runner_evaluate(run_dir, tmp, 0, NULL, &opts, &res) : 2;
		/* 1 is a run that did not end (its recomputed run_status says so) or an output that failed: the
		 * files written are read; 2 is records that could not be read: no column over them (its run's
		 * own slo_results.json would say "met" over requests nobody could read) */
		cJSON *sum = rc == 2 ? NULL : sweep_read_metrics_json(tmp, "summary_stats.json");
		if (sum) {
			cJSON_Delete(c->summary);
			cJSON_Delete(c->slo);
			c->summary = sum;
			c->slo = sweep_read_metrics_json(tmp, "slo_results.json");
			c->recomputed = true;
		}
		if (tmp) {
			free(res.run_dir);
			fs_rm_rf(tmp);
		}
		if (!sum) {
			fprintf(
			    stderr,
			    "veeksha report: %s: its summary_stats.json has no latency keys and its raw records could "
			    "not be recomputed (above)\n",
			    run_dir);
			return -1;
		}
	}
	return 0;
}

/* A sweep's run directory: the manifest holds it as the sweep wrote it, relative to the directory
 * the sweep ran in when its output_dir was relative. A run lives in the sweep directory, so its name
 * there is tried first (the report can run anywhere, and the sweep directory can move); then the path
 * as written. NULL when neither is a run. */
static char *report_sweep_run(const char *sweep_dir, const char *run_dir)
{
	size_t len = strlen(run_dir);
	while (len > 1 && run_dir[len - 1] == '/')
		len--;
	char *trimmed = xstrndup(run_dir, len);
	char *inside = fs_path_join(sweep_dir, report_base(trimmed));
	free(trimmed);
	if (report_is_run(inside))
		return inside;
	free(inside);
	return report_is_run(run_dir) ? xstrdup(run_dir) : NULL;
}

static int report_add_arg(struct report_col *cols, size_t *n, const char *arg)
{
	if (report_is_run(arg))
		return report_add_run(cols, n, arg, report_base(arg));
	char *manifest = xasprintf("%s/sweep_manifest.json", arg);
	cJSON *m = report_json(manifest);
	free(manifest);
	if (m) {
		const cJSON *runs = cJSON_GetObjectItemCaseSensitive(m, "runs"), *r;
		size_t k = 0;
		int rc = 0;
		cJSON_ArrayForEach(r, runs)
		{
			const cJSON *rd = cJSON_GetObjectItemCaseSensitive(r, "run_dir");
			char *dir = cJSON_IsString(rd) ? report_sweep_run(arg, rd->valuestring) : NULL;
			if (dir) {
				char *label = xasprintf("%s#%zu", report_base(arg), k);
				if (report_add_run(cols, n, dir, label) != 0)
					rc = -1;
				free(label);
			} else {
				fprintf(
				    stderr,
				    "veeksha report: %s: run %zu (%s) has no metrics/summary_stats.json; left out\n",
				    arg, k, cJSON_IsString(rd) ? rd->valuestring : "no run directory");
			}
			free(dir);
			k++;
		}
		cJSON_Delete(m);
		return rc;
	}
	char *newest = mb_newest_run_dir(arg);
	if (newest) {
		int rc = report_add_run(cols, n, newest, arg);
		free(newest);
		return rc;
	}
	fprintf(stderr, "veeksha report: '%s' is not a run directory, a sweep directory or a directory holding runs\n",
	        arg);
	return -1;
}

struct report_metric {
	const char *label;
	const char *key; /* summary_stats.json key, or NULL for computed */
	double scale;    /* e.g. 1000 for s -> ms */
	int kind;        /* 0 summary number, 1 output tok/s overall, 2 all_slos_met, 3 tpot_based_throughput,
	                  * 4 run_status */
};

static const struct report_metric report_metrics[] = {
    {"Requests", "Number of Requests", 1, 0},
    {"Completed", "Number of Completed Requests", 1, 0},
    {"Error rate", "Error Rate", 1, 0},
    {"TTFC p50 (ms)", "Time to First Chunk (P50)", 1000, 0},
    {"TTFC p90 (ms)", "Time to First Chunk (P90)", 1000, 0},
    {"TTFC p99 (ms)", "Time to First Chunk (P99)", 1000, 0},
    {"TBC p50 (ms)", "Time Between Chunks (P50)", 1000, 0},
    {"TBC p99 (ms)", "Time Between Chunks (P99)", 1000, 0},
    {"TPOT p50 (ms)", "Time per Output Token (P50)", 1000, 0},
    {"TPOT p99 (ms)", "Time per Output Token (P99)", 1000, 0},
    {"E2E p50 (s)", "End to End Latency (P50)", 1, 0},
    {"E2E p99 (s)", "End to End Latency (P99)", 1, 0},
    {"Output tokens/s (run)", NULL, 1, 1},
    {"All SLOs met", NULL, 1, 2},
    {"Run status", NULL, 1, 4},
};

static void report_cell(const struct report_col *c, const struct report_metric *m, char *out, size_t len)
{
	snprintf(out, len, "-");
	if (m->kind == 0) {
		const cJSON *v = c->summary ? cJSON_GetObjectItemCaseSensitive(c->summary, m->key) : NULL;
		if (v && cJSON_IsNull(v)) {
			snprintf(out, len, "no samples"); /* a series without samples, not a perfect 0 */
		} else if (v && cJSON_IsNumber(v)) {
			double x = v->valuedouble * m->scale;
			if (x == floor(x) && fabs(x) < 1e12 && m->scale == 1 && strstr(m->label, "rate") == NULL)
				snprintf(out, len, "%.0f", x);
			else
				snprintf(out, len, "%.4g", x);
		}
	} else if (m->kind == 1) {
		if (c->duration_s > 0)
			snprintf(out, len, "%.1f", c->output_tokens / c->duration_s);
	} else if (m->kind == 2) {
		const cJSON *v = c->slo ? cJSON_GetObjectItemCaseSensitive(c->slo, "all_slos_met") : NULL;
		if (v)
			snprintf(out, len, "%s", cJSON_IsTrue(v) ? "yes" : "no");
	} else if (m->kind == 4) {
		/* how the run ended (docs/FAILURES.md, run_status): a summary left by a killed run says
		 * "running", and its numbers are of the part measured before */
		const cJSON *v = c->summary ? cJSON_GetObjectItemCaseSensitive(c->summary, "run_status") : NULL;
		if (cJSON_IsString(v))
			snprintf(out, len, "%s",
			         !strcmp(v->valuestring, "running") ? "did not end (killed?)" : v->valuestring);
	}
}

int meta_report_main(int argc, char **argv)
{
	const char *prefix = "report";
	const char *args[REPORT_MAX_COLS];
	size_t n_args = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: veeksha report [--output PREFIX] DIR [DIR ...]\n"
			       "Compares runs side by side. DIR: a run directory, an output directory holding runs\n"
			       "(its newest run is used) or a sweep directory (each run becomes a column).\n"
			       "Writes PREFIX.md and PREFIX.csv (default prefix: report).\n");
			return 0;
		}
		if (!strcmp(argv[i], "--output") || !strcmp(argv[i], "-o")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "veeksha report: --output needs a value\n");
				return 2;
			}
			prefix = argv[++i];
			continue;
		}
		if (argv[i][0] == '-') {
			fprintf(stderr, "veeksha report: unknown option '%s'\n", argv[i]);
			return 2;
		}
		if (n_args < REPORT_MAX_COLS)
			args[n_args++] = argv[i];
	}
	if (n_args == 0) {
		fprintf(stderr, "usage: veeksha report [--output PREFIX] DIR [DIR ...]\n");
		return 2;
	}
	struct report_col *cols = xcalloc(REPORT_MAX_COLS, sizeof *cols);
	size_t n = 0;
	int rc = 0;
	for (size_t i = 0; i < n_args; i++)
		if (report_add_arg(cols, &n, args[i]) != 0)
			rc = 2;
	if (!rc && n == 0) {
		fprintf(stderr,
		        "veeksha report: no run to report (no run directory with metrics/summary_stats.json)\n");
		rc = 2;
	}
	if (rc) {
		report_cols_free(cols, n); /* (the runs read before the one that failed) */
		return rc;
	}
	size_t nm = sizeof report_metrics / sizeof report_metrics[0];
	struct buf md, csv;
	buf_init(&md);
	buf_init(&csv);
	/* widths for the terminal table */
	size_t w0 = 22, *w = xcalloc(n, sizeof *w);
	for (size_t c = 0; c < n; c++)
		w[c] = strlen(cols[c].label) > 10 ? strlen(cols[c].label) : 10;
	printf("%-*s", (int)w0, "metric");
	buf_puts(&md, "| metric |");
	buf_puts(&csv, "metric");
	for (size_t c = 0; c < n; c++) {
		printf("  %*s", (int)w[c], cols[c].label);
		buf_printf(&md, " %s |", cols[c].label);
		buf_putc(&csv, ',');
		buf_puts(&csv, cols[c].label);
	}
	printf("\n");
	buf_puts(&md, "\n|---|");
	for (size_t c = 0; c < n; c++)
		buf_puts(&md, "---:|");
	buf_putc(&md, '\n');
	buf_putc(&csv, '\n');
	for (size_t m = 0; m < nm; m++) {
		printf("%-*s", (int)w0, report_metrics[m].label);
		buf_printf(&md, "| %s |", report_metrics[m].label);
		buf_printf(&csv, "\"%s\"", report_metrics[m].label);
		for (size_t c = 0; c < n; c++) {
			char cell[64];
			report_cell(&cols[c], &report_metrics[m], cell, sizeof cell);
			printf("  %*s", (int)w[c], cell);
			buf_printf(&md, " %s |", cell);
			buf_printf(&csv, ",%s", strcmp(cell, "-") ? cell : "");
		}
		printf("\n");
		buf_putc(&md, '\n');
		buf_putc(&csv, '\n');
	}
	buf_puts(&md, "\nRuns:\n\n");
	for (size_t c = 0; c < n; c++) {
		buf_printf(&md, "- %s: `%s`%s\n", cols[c].label, cols[c].run_dir,
		           cols[c].recomputed ? " (recomputed from its raw records: its summary has no latency keys)"
		                              : "");
		if (cols[c].recomputed)
			printf("(%s: recomputed from its raw records, as veeksha evaluate does: its summary_stats.json "
			       "has no "
			       "latency keys)\n",
			       cols[c].label);
	}
	char *pmd = xasprintf("%s.md", prefix), *pcsv = xasprintf("%s.csv", prefix);
	if (fs_write_file(pmd, md.data, md.len) != 0 || fs_write_file(pcsv, csv.data, csv.len) != 0) {
		fprintf(stderr, "veeksha report: cannot write %s / %s\n", pmd, pcsv);
		rc = 1;
	} else {
		printf("\nwrote %s and %s\n", pmd, pcsv);
	}
	free(pmd);
	free(pcsv);
	buf_free(&md);
	buf_free(&csv);
	free(w);
	report_cols_free(cols, n);
	return rc;
}
