#ifndef VK_OUTPUT_PLOT_H
#define VK_OUTPUT_PLOT_H
/* PNG plots drawn by gnuplot (pngcairo) run as a subprocess. Every plot leaves its data (.dat)
 * and script (.gp) in `src_dir` so users can restyle and re-run them (`gnuplot file.gp`).
 * Without gnuplot (or with VK_NO_PLOTS=1 in the environment) nothing is drawn: one warning is
 * logged per process and every call returns PLOT_SKIPPED; plotting never fails a run. */
#include <stdbool.h>
#include <stddef.h>

enum plot_result { PLOT_OK = 0, PLOT_SKIPPED = 1, PLOT_FAILED = -1 };
enum plot_scale { PLOT_LINEAR = 0, PLOT_LOG, PLOT_SYMLOG };

/* true when gnuplot can be run (checked once, warns once when it cannot). */
bool plot_available(void);

/* The reference's axis-scale rule: >= 10 finite values, not all within [0, 1], and
 * p95/p5 of the positive values >= 50 -> log (symlog when any value <= 0); else linear. */
enum plot_scale plot_recommend_scale(const double *v, size_t n);
/* The same for values sorted ascending without NaN (a series sorted for its CSV), from its ends and
 * a binary search instead of a pass over every value. */
enum plot_scale plot_recommend_scale_sorted(const double *v, size_t n);

/* gnuplot runs in the background: a plot_* call writes its .dat/.gp files, starts gnuplot and
 * returns PLOT_OK without waiting, so that PNGs render while the other output files are written.
 * Batch mode: between plot_batch_begin() and plot_batch_end() the plot_* calls only queue their
 * scripts; plot_batch_end() starts one gnuplot process for the queue (saves ~0.1-0.3 s of gnuplot
 * start-up per plot). plot_wait_all() waits for every gnuplot started (at most PLOT_TIMEOUT_S each;
 * a batch that failed is re-run one script at a time to keep the good plots), warns about and
 * removes the PNG of each plot that failed, and returns their number; it also runs at exit. */
void plot_batch_begin(void);
void plot_batch_end(void);
int plot_wait_all(void);

/* CDF line of sorted values (ascending). png_path: output; src_dir/<stem>.dat/.gp are kept. */
enum plot_result plot_cdf(const char *png_path, const char *src_dir, const char *stem, const char *title,
                          const char *xlabel, const double *sorted, size_t n, enum plot_scale xscale);

/* One box (min/quartiles/max + outliers) per category. values[i] has counts[i] samples. */
enum plot_result plot_boxes(const char *png_path, const char *src_dir, const char *stem, const char *title,
                            const char *xlabel, const char *ylabel, const char *const *labels,
                            const double *const *values, const size_t *counts, size_t n_cats, enum plot_scale yscale);

/* Step plot of (t[i], y[i]) with shaded spans [span_start[k], span_end[k]]. */
enum plot_result plot_steps_with_spans(const char *png_path, const char *src_dir, const char *stem, const char *title,
                                       const char *xlabel, const char *ylabel, const double *t, const double *y,
                                       size_t n, const double *span_start, const double *span_end, size_t n_spans);

/* Several panels stacked over one time axis (multiplot; the x ranges and left margins agree so the
 * panels line up). Each line is its own (x, y) series; NaN y values are gaps (no point, the line
 * breaks). A line without a finite point is left out; a panel with none says "no data". */
enum plot_style { PLOT_STYLE_LINES = 0, PLOT_STYLE_STEPS, PLOT_STYLE_LINESPOINTS };
struct plot_line {
	const char *title;
	const double *x, *y;
	size_t n;
	enum plot_style style;
};
struct plot_panel {
	const char *ylabel;
	const struct plot_line *lines;
	size_t n_lines;
};
/* x from x_min to x_max on every panel. */
enum plot_result plot_time_panels(const char *png_path, const char *src_dir, const char *stem, const char *title,
                                  const char *xlabel, double x_min, double x_max, const struct plot_panel *panels,
                                  size_t n_panels);

#endif
