#ifndef VK_OUTPUT_REPORT_INTERNAL_H
#define VK_OUTPUT_REPORT_INTERNAL_H
/* Shared by the HTML report writers (report_html.c, report_sweep.c) and their SVG charts
 * (report_svg.c). Not a public interface. */
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "output/run_json.h" /* run_json_read */

struct cJSON;

/* ---- HTML text ---- */

/* s with &, <, >, " and ' as entities (NULL writes nothing). Every text from a file goes through it. */
void rhtml_escape(struct buf *b, const char *s);
/* The page head (title escaped, inline CSS) up to and including <body>, and the closing tags. */
void rhtml_begin(struct buf *b, const char *title);
void rhtml_end(struct buf *b);
/* A number as text: %.4g, or "no samples" for NaN/NULL values (docs/OUTPUTS.md: an empty series
 * is null in the JSON files and must not read as 0). */
void rhtml_num(struct buf *b, double v);

/* Number of obj[key] (NaN when absent, null or not a number; obj may be NULL). */
double rjson_num(const struct cJSON *obj, const char *key);

/* Writes <path> atomically; -1 (logged with the reason) on failure. */
int rhtml_write(const char *path, const struct buf *b);

/* ---- charts ---- */

/* A fixed colour per metric key, so that the same metric has the same colour in every report
 * (unknown keys: a colour from a hash of the key, still stable). */
const char *rsvg_metric_colour(const char *key);

enum rsvg_style { RSVG_LINE = 0, RSVG_STEP, RSVG_POINTS, RSVG_LINE_POINTS };

struct rsvg_series {
	const char *name;   /* legend entry; NULL: none */
	const char *colour; /* "#rrggbb" */
	const double *x, *y;
	size_t n; /* a NaN x or y is a gap in the line */
	enum rsvg_style style;
	int dash;        /* 0 solid, 1 dashed, 2 dotted */
	const bool *bad; /* optional, per point: marked with a red ring (e.g. SLOs not met) */
};

/* A reference line: horizontal (y = v) or vertical (x = v), labelled. */
struct rsvg_ref {
	bool vertical;
	double v;
	const char *label;
	const char *colour;
};

struct rsvg_chart {
	const char *title; /* the metric and its unit */
	const char *xlabel, *ylabel;
	bool xlog, ylog;  /* honoured only when every value on that axis is > 0 */
	bool y_from_zero; /* a linear y axis starts at 0 (counts, rates) */
	const struct rsvg_series *series;
	size_t n_series;
	const struct rsvg_ref *refs;
	size_t n_refs;
};

/* An <svg> line/step/point chart with axes fitted to the data (and reference lines). Without a
 * finite point it says "no samples". */
void rsvg_chart(struct buf *out, const struct rsvg_chart *c);

/* One category of a violin chart: v sorted ascending (finite values). */
struct rsvg_group {
	const char *label;
	const double *v;
	size_t n;
};

/* Violins (Gaussian kernel density, each scaled to the same width, cut at the group's min and max)
 * with the quartiles as a box and the median as a dot, one per group, y fitted to the data; log y
 * when ylog and every value > 0. Labels are rotated when they would overlap. */
void rsvg_violins(struct buf *out, const char *title, const char *xlabel, const char *ylabel, const char *colour,
                  const struct rsvg_group *g, size_t n_groups, bool ylog);

/* Linear-interpolated quantile of sorted v (numpy's default); NaN when n == 0. */
double rsvg_quantile(const double *sorted, size_t n, double q);

#endif
