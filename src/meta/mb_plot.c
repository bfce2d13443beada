#include "meta/mb_plot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/xalloc.h"

static bool mb_plot_have_gnuplot(void)
{
	static int have = -1;
	if (have < 0) {
		have = system("command -v gnuplot >/dev/null 2>&1") == 0;
		if (!have)
			log_warn("gnuplot not found: plots are skipped (install gnuplot-nox); .dat/.gp files are still "
			         "written");
	}
	return have == 1;
}

int mb_plot_lines(const char *png_path, const char *title, const char *xlabel, const char *ylabel, bool log_x,
                  const double *x, size_t n, const struct mb_series *series, size_t n_series)
{
	size_t len = strlen(png_path);
	char *base = len > 4 && !strcmp(png_path + len - 4, ".png") ? xstrndup(png_path, len - 4) : xstrdup(png_path);
	char *dat = xasprintf("%s.dat", base), *gp = xasprintf("%s.gp", base);
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "# x");
	for (size_t s = 0; s < n_series; s++)
		buf_printf(&b, "\t%s", series[s].name);
	buf_putc(&b, '\n');
	for (size_t i = 0; i < n; i++) {
		buf_printf(&b, "%.17g", x[i]);
		for (size_t s = 0; s < n_series; s++)
			buf_printf(&b, "\t%.17g", series[s].y[i]);
		buf_putc(&b, '\n');
	}
	int rc = fs_write_file(dat, b.data, b.len);
	buf_reset(&b);
	buf_printf(&b,
	           "set terminal pngcairo size 900,600 enhanced font 'DejaVu Sans,11'\n"
	           "set output '%s'\nset title '%s'\nset xlabel '%s'\nset ylabel '%s'\nset grid\nset key top left\n%s",
	           png_path, title, xlabel, ylabel, log_x ? "set logscale x 2\n" : "");
	buf_puts(&b, "plot ");
	for (size_t s = 0; s < n_series; s++)
		buf_printf(&b, "%s'%s' using 1:%zu with linespoints lw 2 pt 7 title '%s'", s ? ", " : "", dat, s + 2,
		           series[s].name);
	buf_putc(&b, '\n');
	rc |= fs_write_file(gp, b.data, b.len);
	buf_free(&b);
	int result = rc ? -1 : 0;
	if (!rc && mb_plot_have_gnuplot()) {
		pid_t pid = fork();
		if (pid == 0) {
			execlp("gnuplot", "gnuplot", gp, (char *)NULL);
			_exit(127);
		}
		int status = 0;
		if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			log_warn("gnuplot failed for %s", png_path);
			result = -1;
		}
	} else if (!rc) {
		result = 1;
	}
	free(base);
	free(dat);
	free(gp);
	return result;
}
