#include "output/plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "output/report_internal.h"

extern char **environ;

#define PLOT_TIMEOUT_S 60
#define PLOT_MAX_POINTS 2000

static int plot_state = -1; /* -1 unknown, 0 unavailable, 1 available */

struct plot_job {
	char *gp, *png;
};
static bool batch_on;
static struct plot_job *batch;
static size_t batch_n, batch_cap;

/* gnuplot processes started and not yet waited for (plot_wait_all): each renders its jobs while
 * the other output files are written. */
struct plot_pending {
	pid_t pid;
	struct timespec t0;
	struct plot_job *jobs;
	size_t n;
};
static struct plot_pending *pending;
static size_t pending_n, pending_cap;
static bool pending_atexit;

/* Starts argv with its output to /dev/null; -1 when it cannot be started. */
static pid_t spawn_quiet(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return rc != 0 ? -1 : pid;
}

/* Waits for pid, started at t0, until PLOT_TIMEOUT_S after t0 (then SIGKILL of that pid); its exit
 * status, -1 when killed or failed. */
static int wait_quiet(pid_t pid, struct timespec t0)
{
	struct timespec now;
	for (;;) {
		int st;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (w < 0 && errno != EINTR)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > PLOT_TIMEOUT_S) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		struct timespec d = {0, 5 * 1000 * 1000};
		nanosleep(&d, NULL);
	}
}

/* Runs argv; waits at most PLOT_TIMEOUT_S (then SIGKILL of that pid). Output to /dev/null. */
static int run_quiet(char *const argv[])
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = spawn_quiet(argv);
	return pid < 0 ? -1 : wait_quiet(pid, t0);
}

static void jobs_free(struct plot_job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(jobs[i].gp);
		free(jobs[i].png);
	}
	free(jobs);
}

static void plot_wait_atexit(void)
{
	plot_wait_all();
}

/* One gnuplot process for jobs[0..n) (taken over), left running; rendered synchronously when it
 * cannot be started in the background. */
static void start_jobs(struct plot_job *jobs, size_t n)
{
	char **argv = xcalloc(n + 2, sizeof *argv);
	argv[0] = "gnuplot";
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = jobs[i].gp;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = spawn_quiet(argv);
	free(argv);
	if (pending_n == pending_cap)
		xgrow((void **)&pending, &pending_cap, pending_n + 1, sizeof *pending);
	pending[pending_n++] = (struct plot_pending){pid, t0, jobs, n};
	if (!pending_atexit) {
		/* a process that ends without plot_wait_all still leaves complete PNGs, not orphans */
		atexit(plot_wait_atexit);
		pending_atexit = true;
	}
}

int plot_wait_all(void)
{
	int failed = 0;
	for (size_t k = 0; k < pending_n; k++) {
		struct plot_pending *p = &pending[k];
		bool ok = p->pid >= 0 && wait_quiet(p->pid, p->t0) == 0;
		if (!ok) {
			/* find the failing script(s); keep every good plot */
			for (size_t i = 0; i < p->n; i++) {
				char *one[] = {"gnuplot", p->jobs[i].gp, NULL};
				bool alone_and_ran = p->n == 1 && p->pid >= 0; /* (its own run said so) */
				if (alone_and_ran || run_quiet(one) != 0) {
					log_warn("gnuplot failed on %s (run it by hand to see why)", p->jobs[i].gp);
					unlink(p->jobs[i].png); /* no empty or truncated PNG left behind */
					failed++;
				}
			}
		}
		jobs_free(p->jobs, p->n);
	}
	free(pending);
	pending = NULL;
	pending_n = pending_cap = 0;
	return failed;
}

bool plot_available(void)
{
	if (plot_state >= 0)
		return plot_state == 1;
	const char *no = getenv("VK_NO_PLOTS");
	if (no && *no && strcmp(no, "0") != 0) {
		plot_state = 0;
		log_info("plots disabled (VK_NO_PLOTS set)");
		return false;
	}
	char *argv[] = {"gnuplot", "--version", NULL};
	plot_state = run_quiet(argv) == 0 ? 1 : 0;
	if (!plot_state)
		log_warn(
		    "gnuplot not found: PNG plots are skipped (install gnuplot-nox); all other outputs are written");
	return plot_state == 1;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The rule on positives sorted ascending: numpy's linear p5 and p95, their ratio against 50. */
static enum plot_scale plot_scale_of_positives(const double *pp, size_t pos, bool nonpos)
{
	double r5 = 0.05 * (double)(pos - 1), r95 = 0.95 * (double)(pos - 1);
	size_t l5 = (size_t)r5, l95 = (size_t)r95;
	double p5 = pp[l5] + (pp[l5 + 1 < pos ? l5 + 1 : l5] - pp[l5]) * (r5 - (double)l5);
	double p95 = pp[l95] + (pp[l95 + 1 < pos ? l95 + 1 : l95] - pp[l95]) * (r95 - (double)l95);
	if (p5 <= 0 || p95 / p5 < 50)
		return PLOT_LINEAR;
	return nonpos ? PLOT_SYMLOG : PLOT_LOG;
}

enum plot_scale plot_recommend_scale(const double *v, size_t n)
{
	size_t finite = 0, pos = 0;
	bool outside01 = false, nonpos = false;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i]))
			continue;
		finite++;
		if (v[i] < 0 || v[i] > 1)
			outside01 = true;
		if (v[i] > 0)
			pos++;
		else
			nonpos = true;
	}
	if (finite < 10 || !outside01 || pos == 0)
		return PLOT_LINEAR;
	double *p = xmalloc(pos * sizeof *p);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]) && v[i] > 0)
			p[k++] = v[i];
	qsort(p, pos, sizeof *p, cmp_d);
	enum plot_scale sc = plot_scale_of_positives(p, pos, nonpos);
	free(p);
	return sc;
}

enum plot_scale plot_recommend_scale_sorted(const double *v, size_t n)
{
	if (n == 0 || !isfinite(v[0]) || !isfinite(v[n - 1]))
		return plot_recommend_scale(v, n); /* infinities at the ends: the general rule */
	/* sorted and finite at both ends: every value is finite, the positives are the tail */
	if (n < 10 || (v[0] >= 0 && v[n - 1] <= 1) || !(v[n - 1] > 0))
		return PLOT_LINEAR;
	size_t lo = 0, hi = n; /* the first value > 0 */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] > 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return plot_scale_of_positives(v + lo, n - lo, lo > 0);
}

static double symlog(double x)
{
	return x >= 0 ? log10(1 + x) : -log10(1 - x);
}

/* A number of a .dat file: the shortest text that reads back as v (what %.17g gives back to
 * gnuplot, at a fraction of printf's cost: a box plot writes one line per request), followed by
 * `end` (' ' or '\n'); printf's "nan" / "inf" for the others. */
static void gp_num(struct buf *b, double v, char end)
{
	buf_reserve(b, 48);
	char *o = b->data + b->len;
	size_t n = isfinite(v) ? jsonw_format_double(v, o) : (size_t)snprintf(o, 48, "%.17g", v);
	o[n] = end;
	b->len += n + 1;
	b->data[b->len] = '\0';
}

/* A category index of a .dat file and a space. */
static void gp_index(struct buf *b, size_t c)
{
	buf_reserve(b, 24);
	size_t n = jsonw_format_u64(c, b->data + b->len);
	b->data[b->len + n] = ' ';
	b->len += n + 1;
	b->data[b->len] = '\0';
}

static void gp_escape(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_putc(b, '\\');
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

static void gp_head(struct buf *gp, const char *png_path, const char *title, const char *xlabel, const char *ylabel)
{
	/* reset: one gnuplot process renders a whole batch, and settings of the previous script (a log
	 * axis, a [0:1] range) would otherwise carry over into this one */
	buf_puts(gp, "reset\nset terminal pngcairo size 1000,640 enhanced font \"sans,11\"\nset output ");
	gp_escape(gp, png_path);
	buf_puts(gp, "\nset title ");
	gp_escape(gp, title);
	buf_puts(gp, " noenhanced\nset xlabel ");
	gp_escape(gp, xlabel);
	buf_puts(gp, " noenhanced\nset ylabel ");
	gp_escape(gp, ylabel);
	buf_puts(gp, " noenhanced\nset grid\nset key off\n");
}

static enum plot_result finish(const char *png_path, const char *src_dir, const char *stem, struct buf *dat,
                               struct buf *gp)
{
	enum plot_result res = PLOT_FAILED;
	if (fs_mkdir_p(src_dir) != 0) {
		log_warn("plot: cannot create %s", src_dir);
		goto out;
	}
	char *datp = xasprintf("%s/%s.dat", src_dir, stem);
	char *gpp = xasprintf("%s/%s.gp", src_dir, stem);
	if (fs_write_file_or_log(datp, dat->data ? dat->data : "", dat->len) == 0 &&
	    fs_write_file_or_log(gpp, gp->data, gp->len) == 0) {
		if (!plot_available()) {
			res = PLOT_SKIPPED;
		} else if (batch_on) {
			if (batch_n == batch_cap)
				xgrow((void **)&batch, &batch_cap, batch_n + 1, sizeof *batch);
			batch[batch_n].gp = gpp;
			batch[batch_n].png = xstrdup(png_path);
			batch_n++;
			gpp = NULL;
			res = PLOT_OK;
		} else {
			struct plot_job *one = xmalloc(sizeof *one);
			one->gp = gpp;
			one->png = xstrdup(png_path);
			gpp = NULL;
			start_jobs(one, 1);
			res = PLOT_OK;
		}
	}
	free(datp);
	free(gpp);
out:
	buf_free(dat);
	buf_free(gp);
	return res;
}

/* A metric's plot has its metric's colour, the same in every run and in report.html: the stem is the
 * metric key, possibly with a scale suffix or the violin plot's name (ttfc_violin_plot_log_y). */
static const char *plot_colour(const char *stem)
{
	static const char *suffixes[] = {"_violin_plot_symlog_y", "_violin_plot_log_y", "_violin_plot", "_symlog_x",
	                                 "_log_x"};
	char key[128];
	snprintf(key, sizeof key, "%s", stem);
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		size_t n = strlen(key), m = strlen(suffixes[i]);
		if (n > m && !strcmp(key + n - m, suffixes[i])) {
			key[n - m] = '\0';
			break;
		}
	}
	return rsvg_metric_colour(key);
}

static void datpath(struct buf *gp, const char *src_dir, const char *stem)
{
	char *p = xasprintf("%s/%s.dat", src_dir, stem);
	gp_escape(gp, p);
	free(p);
}

enum plot_result plot_cdf(const char *png_path, const char *src_dir, const char *stem, const char *title,
                          const char *xlabel, const double *sorted, size_t n, enum plot_scale xscale)
{
	struct buf dat, gp;
	buf_init(&dat);
	buf_init(&gp);
	buf_puts(&dat, "# value cdf\n");
	size_t step = n > PLOT_MAX_POINTS ? n / PLOT_MAX_POINTS : 1;
	for (size_t i = 0; i < n; i += step) {
		double x = xscale == PLOT_SYMLOG ? symlog(sorted[i]) : sorted[i];
		gp_num(&dat, x, ' ');
		gp_num(&dat, (double)(i + 1) / (double)n, '\n');
	}
	if (n && (n - 1) % step) {
		double x = xscale == PLOT_SYMLOG ? symlog(sorted[n - 1]) : sorted[n - 1];
		gp_num(&dat, x, ' ');
		buf_puts(&dat, "1\n");
	}
	char xl[256];
	snprintf(xl, sizeof xl, "%s%s", xlabel, xscale == PLOT_SYMLOG ? " (symlog: sign(x)*log10(1+|x|))" : "");
	gp_head(&gp, png_path, title, xl, "CDF");
	buf_puts(&gp, "set yrange [0:1]\n");
	if (xscale == PLOT_LOG)
		buf_puts(&gp, "set logscale x\n");
	if (n == 0) {
		buf_puts(&gp, "set label 1 \"no data\" at graph 0.5, graph 0.5 center\nplot [0:1][0:1] NaN notitle\n");
	} else {
		buf_puts(&gp, "plot ");
		datpath(&gp, src_dir, stem);
		buf_printf(&gp, " using 1:2 with lines lw 2 lc rgb \"%s\"\n", plot_colour(stem));
	}
	return finish(png_path, src_dir, stem, &dat, &gp);
}

enum plot_result plot_boxes(const char *png_path, const char *src_dir, const char *stem, const char *title,
                            const char *xlabel, const char *ylabel, const char *const *labels,
                            const double *const *values, const size_t *counts, size_t n_cats, enum plot_scale yscale)
{
	struct buf dat, gp;
	buf_init(&dat);
	buf_init(&gp);
	buf_puts(&dat, "# category_index value   (labels: see xtics in the .gp)\n");
	for (size_t c = 0; c < n_cats; c++)
		for (size_t i = 0; i < counts[c]; i++) {
			double y = yscale == PLOT_SYMLOG ? symlog(values[c][i]) : values[c][i];
			gp_index(&dat, c);
			gp_num(&dat, y, '\n');
		}
	gp_head(&gp, png_path, title, xlabel, ylabel);
	/* Labels turn only when they would not fit side by side (~7 px per character, 1000 px wide); the y
	 * axis ends at the data (autoscale fix plus 4% room), not at gnuplot's next round tic. */
	size_t maxlab = 0;
	for (size_t c = 0; c < n_cats; c++)
		maxlab = strlen(labels[c]) > maxlab ? strlen(labels[c]) : maxlab;
	bool turn = n_cats && 7.0 * (double)maxlab > 820.0 / (double)n_cats - 8;
	buf_printf(&gp,
	           "set style boxplot outliers pointtype 7\nset pointsize 0.4\n"
	           "set style fill solid 0.35 border -1\n%s\nset boxwidth 0.6\n"
	           "set autoscale yfix\nset offsets 0, 0, graph 0.04, graph 0.04\n",
	           turn ? "set xtics rotate by -30" : "set xtics norotate");
	buf_printf(&gp, "set xrange [-0.5:%.1f]\n", (double)n_cats - 0.5);
	buf_puts(&gp, "set xtics (");
	for (size_t c = 0; c < n_cats; c++) {
		if (c)
			buf_puts(&gp, ", ");
		gp_escape(&gp, labels[c]);
		buf_printf(&gp, " %zu", c);
	}
	buf_puts(&gp, ")\n");
	if (yscale == PLOT_LOG)
		buf_puts(&gp, "set logscale y\n");
	bool any = false;
	for (size_t c = 0; c < n_cats; c++)
		any = any || counts[c] > 0;
	if (!any) {
		buf_puts(&gp, "set label 1 \"no data\" at graph 0.5, graph 0.5 center\nplot [0:1][0:1] NaN notitle\n");
	} else {
		buf_puts(&gp, "plot");
		bool first = true;
		for (size_t c = 0; c < n_cats; c++) {
			if (!counts[c])
				continue;
			buf_puts(&gp, first ? " " : ", \\\n     ");
			first = false;
			datpath(&gp, src_dir, stem);
			buf_printf(&gp, " using (%zu):($1 == %zu ? $2 : NaN) with boxplot lc rgb \"%s\"", c, c,
			           plot_colour(stem));
		}
		buf_putc(&gp, '\n');
	}
	return finish(png_path, src_dir, stem, &dat, &gp);
}

enum plot_result plot_steps_with_spans(const char *png_path, const char *src_dir, const char *stem, const char *title,
                                       const char *xlabel, const char *ylabel, const double *t, const double *y,
                                       size_t n, const double *span_start, const double *span_end, size_t n_spans)
{
	struct buf dat, gp;
	buf_init(&dat);
	buf_init(&gp);
	buf_puts(&dat, "# time active\n");
	for (size_t i = 0; i < n; i++) {
		gp_num(&dat, t[i], ' ');
		gp_num(&dat, y[i], '\n');
	}
	gp_head(&gp, png_path, title, xlabel, ylabel);
	for (size_t k = 0; k < n_spans; k++)
		buf_printf(&gp,
		           "set object %zu rect from %.17g, graph 0 to %.17g, graph 1 behind fc rgb \"#ffd27f\" "
		           "fs solid 0.5 noborder\n",
		           k + 1, span_start[k], span_end[k]);
	if (n == 0) {
		buf_puts(&gp, "set label 1 \"no data\" at graph 0.5, graph 0.5 center\nplot [0:1][0:1] NaN notitle\n");
	} else {
		buf_puts(&gp, "plot ");
		datpath(&gp, src_dir, stem);
		buf_puts(&gp, " using 1:2 with steps lw 2 lc rgb \"#1f77b4\"\n");
	}
	return finish(png_path, src_dir, stem, &dat, &gp);
}

enum plot_result plot_time_panels(const char *png_path, const char *src_dir, const char *stem, const char *title,
                                  const char *xlabel, double x_min, double x_max, const struct plot_panel *panels,
                                  size_t n_panels)
{
	struct buf dat, gp;
	buf_init(&dat);
	buf_init(&gp);
	if (!(x_max > x_min))
		x_max = x_min + 1;
	/* one data block per line (gnuplot's `index`), blocks apart by two blank lines */
	size_t block = 0;
	size_t **index_of = xcalloc(n_panels ? n_panels : 1, sizeof *index_of);
	for (size_t p = 0; p < n_panels; p++) {
		index_of[p] = xcalloc(panels[p].n_lines ? panels[p].n_lines : 1, sizeof **index_of);
		for (size_t l = 0; l < panels[p].n_lines; l++) {
			const struct plot_line *ln = &panels[p].lines[l];
			bool any = false;
			for (size_t i = 0; i < ln->n && !any; i++)
				any = isfinite(ln->x[i]) && isfinite(ln->y[i]);
			index_of[p][l] = SIZE_MAX;
			if (!any)
				continue;
			if (block)
				buf_puts(&dat, "\n\n");
			buf_printf(&dat, "# panel %zu: %s: %s\n", p, panels[p].ylabel, ln->title);
			for (size_t i = 0; i < ln->n; i++) {
				gp_num(&dat, ln->x[i], ' ');
				if (isfinite(ln->y[i]))
					gp_num(&dat, ln->y[i], '\n');
				else
					buf_puts(&dat, "NaN\n");
			}
			index_of[p][l] = block++;
		}
	}
	/* noenhanced: metric names keep their underscores */
	buf_printf(&gp, "reset\nset terminal pngcairo size 1000,%zu noenhanced font \"sans,10\"\nset output ",
	           (size_t)120 + 240 * (n_panels ? n_panels : 1));
	gp_escape(&gp, png_path);
	buf_printf(&gp, "\nset multiplot layout %zu,1 title ", n_panels ? n_panels : 1);
	gp_escape(&gp, title);
	/* fixed margins in screen coordinates: every panel's x axis at the same place */
	buf_printf(&gp,
	           "\nset lmargin at screen 0.09\nset rmargin at screen 0.78\nset grid\n"
	           "set key outside right top vertical Left reverse\nset xrange [%.17g:%.17g]\n",
	           x_min, x_max);
	for (size_t p = 0; p < n_panels; p++) {
		buf_puts(&gp, "set ylabel ");
		gp_escape(&gp, panels[p].ylabel);
		buf_putc(&gp, '\n');
		if (p + 1 == n_panels) {
			buf_puts(&gp, "set xlabel ");
			gp_escape(&gp, xlabel);
			buf_putc(&gp, '\n');
		} else {
			buf_puts(&gp, "unset xlabel\n");
		}
		bool first = true;
		for (size_t l = 0; l < panels[p].n_lines; l++) {
			const struct plot_line *ln = &panels[p].lines[l];
			if (index_of[p][l] == SIZE_MAX)
				continue;
			if (first)
				buf_puts(&gp, "unset label 1\nset yrange [0:*]\nplot ");
			else
				buf_puts(&gp, ", \\\n     ");
			first = false;
			datpath(&gp, src_dir, stem);
			buf_printf(&gp, " index %zu using 1:2 with %s lw 2 title ", index_of[p][l],
			           ln->style == PLOT_STYLE_STEPS         ? "steps"
			           : ln->style == PLOT_STYLE_LINESPOINTS ? "linespoints pt 7 ps 0.5"
			                                                 : "lines");
			gp_escape(&gp, ln->title);
		}
		if (first)
			buf_puts(&gp, "set label 1 \"no data\" at graph 0.5, graph 0.5 center\nset yrange [0:1]\n"
			              "plot NaN notitle\n");
		else
			buf_putc(&gp, '\n');
	}
	buf_puts(&gp, "unset multiplot\n");
	for (size_t p = 0; p < n_panels; p++)
		free(index_of[p]);
	free(index_of);
	return finish(png_path, src_dir, stem, &dat, &gp);
}

void plot_batch_begin(void)
{
	batch_on = true;
	batch_n = 0;
}

void plot_batch_end(void)
{
	batch_on = false;
	if (batch_n)
		start_jobs(batch, batch_n);
	else
		free(batch);
	batch = NULL;
	batch_n = batch_cap = 0;
}
