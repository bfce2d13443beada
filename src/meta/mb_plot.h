#ifndef VK_META_MB_PLOT_H
#define VK_META_MB_PLOT_H
/* Line plots for microbenchmark results: writes <png without .png>.dat and .gp beside the PNG and
 * renders it with gnuplot (pngcairo). Missing gnuplot: one warning, returns 1 (not an error). */
#include <stdbool.h>
#include <stddef.h>

struct mb_series {
	const char *name;
	const double *y;
};

int mb_plot_lines(const char *png_path, const char *title, const char *xlabel, const char *ylabel, bool log_x,
                  const double *x, size_t n, const struct mb_series *series, size_t n_series);

#endif
