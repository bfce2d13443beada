#ifndef VK_OBSERVE_PROM_PARSE_H
#define VK_OBSERVE_PROM_PARSE_H
/* A parser for the Prometheus text exposition format (version 0.0.4, which vLLM and SGLang serve
 * through prometheus_client; the OpenMetrics `# EOF` / `# UNIT` lines are accepted and ignored).
 * docs/OBSERVABILITY.md describes what the scraper does with the result.
 *
 * Grammar handled, line by line:
 *     # HELP <name> <docstring with \\ and \n escapes>
 *     # TYPE <name> counter|gauge|histogram|summary|untyped   (also gaugehistogram, info, stateset)
 *     # anything else                                           (comment, ignored)
 *     <name>[{<label>="<value>",...[,]}] <value> [<timestamp ms>]
 * Names: [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*; label values escape
 * \\ \" \n (any other escaped character is kept as it is, backslash dropped); values are floats
 * incl. NaN, +Inf, -Inf; timestamps are integers (milliseconds). Blank lines are skipped; CRLF
 * line ends are accepted.
 *
 * A malformed line is skipped and counted (the page's other samples are kept: one odd line from an
 * engine's plugin must not hide the engine's own metrics); the first problem is described with its
 * line number. Histograms and summaries arrive as their _bucket (label le) / quantile / _sum /
 * _count samples; prom_family_of() maps a sample back to its declared family. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum prom_type {
	PROM_UNTYPED = 0,
	PROM_COUNTER,
	PROM_GAUGE,
	PROM_HISTOGRAM,
	PROM_SUMMARY,
	PROM_OTHER, /* gaugehistogram, info, stateset, unknown words */
};

struct prom_label {
	char *name, *value; /* value unescaped */
};

struct prom_sample {
	char *name;
	struct prom_label *labels;
	size_t n_labels;
	/* All labels in page order, re-escaped: `a="x",b="y\"z"` ("" when none). */
	char *labels_text;
	/* The same without `le` (histogram buckets) and `quantile` (summaries): the series a bucket
	 * belongs to. */
	char *series_text;
	double le; /* value of `le` (or `quantile`), NAN when the sample has neither */
	double value;
	bool has_timestamp;
	int64_t timestamp_ms;
};

struct prom_family {
	char *name;
	enum prom_type type;
	char *help; /* unescaped, NULL when no HELP line */
};

struct prom_page {
	struct prom_sample *samples;
	size_t n_samples, cap_samples;
	struct prom_family *families;
	size_t n_families, cap_families;
	size_t n_bad_lines;
	size_t first_bad_line; /* 1-based, 0 when none */
	char first_error[160];
};

/* Parse text[0..len) (need not be NUL-terminated) into *out, which is initialised here. Returns
 * the number of malformed lines (0 = clean). Never fails otherwise; free with prom_page_free. */
size_t prom_parse(const char *text, size_t len, struct prom_page *out);
void prom_page_free(struct prom_page *p);

const char *prom_type_name(enum prom_type t);
/* The family a sample belongs to: the family named exactly like the sample, else (for names ending
 * in _bucket, _sum, _count, _total, _created, _info) the family named without the suffix, else
 * NULL (an untyped sample without TYPE line). */
const struct prom_family *prom_family_of(const struct prom_page *p, const char *sample_name);
/* The label's value or NULL. */
const char *prom_label_get(const struct prom_sample *s, const char *name);

#endif
