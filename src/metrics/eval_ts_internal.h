#ifndef VK_METRICS_EVAL_TS_INTERNAL_H
#define VK_METRICS_EVAL_TS_INTERNAL_H
/* Plot lines from a time-series table, shared by the client plot (eval_timeseries.c) and the plot
 * with the server's series (eval_ts_server.c). Not a public interface. */
#include <stdbool.h>
#include <stddef.h>

#include "metrics/eval_timeseries.h"
#include "output/plot.h"

/* At most this many buckets (TS_MAX_BUCKETS; tests lower it): more widen the bucket. */
extern size_t eval_ts_max_buckets;

struct ts_line_buf {
	double *x, *y;
	struct plot_line line;
};
/* Column col as steps over the buckets (per_s: divided by each bucket's length). */
void ts_line_steps(const struct ts_table *t, int col, bool per_s, struct ts_line_buf *lb, const char *title);
/* Column col at the buckets' midpoints (percentiles; empty buckets are gaps). */
void ts_line_mid(const struct ts_table *t, int col, struct ts_line_buf *lb, const char *title);
void ts_line_free(struct ts_line_buf *lb);

#endif
