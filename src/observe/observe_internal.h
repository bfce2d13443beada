#ifndef VK_OBSERVE_OBSERVE_INTERNAL_H
#define VK_OBSERVE_OBSERVE_INTERNAL_H
/* Module-internal state of the scraper (observe_scrape.c) and the writers (observe_summary.c). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "observe/observe.h"
#include "observe/prom_parse.h"

#define OBS_N_CANON 16 /* canonical keys (observe_summary.c: obs_canon_table) */
#define OBS_MAX_RANK 4 /* candidate names per key */

struct obs_series {
	uint64_t hash;
	char *name, *labels; /* sample name, all labels as text */
	char *series_labels; /* labels without le / quantile */
	char *family;        /* declared family (TYPE line), else the sample name */
	enum prom_type type; /* the family's type */
	double le;           /* le / quantile, NAN otherwise */
	int gauge_canon;     /* canonical gauge key index, -1 */
	int gauge_rank;      /* rank of this name among the key's candidates */
	size_t n;            /* scrapes that had it */
	double first, last, min, max, sum;
	double delta; /* increase since the baseline, counter resets handled */
	/* the delta's reference: the last finite, non-negative sample (a NaN, an infinity or a negative
	 * value is no counter reading: skipped, docs/OBSERVABILITY.md) */
	double last_ok;
	bool has_ok;
	bool in_base; /* first seen on the base page (else born during the run: counts from 0) */
};

struct obs_point {
	uint32_t series;
	double value;
};

struct obs_stored {
	int64_t t_ns;
	size_t off, n; /* points[off .. off+n) */
};

/* Online statistics of a canonical gauge (summed over its label sets, or averaged for fractions). */
struct obs_gauge_stat {
	const char *source; /* the name it was read from (NULL until seen) */
	size_t n;
	double first, last, min, max, sum;
	int64_t t_max_ns;
};

struct obs_scraper {
	char *url;
	double interval_s, timeout_s;
	char **prefixes;
	size_t n_prefixes;
	/* thread */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool running, stop, stopped, final_pending;
	int64_t t_start_ns;
	double thread_cpu_s, caller_cpu_s;
	int64_t scrape_wall_ns;
	/* results */
	_Atomic size_t scrapes_ok, scrapes_failed; /* (atomic: read while the thread scrapes) */
	size_t bad_lines, series_dropped;
	size_t invalid_counter_samples; /* NaN, infinite or negative samples of counters and histograms */
	bool warned, warned_empty;
	/* the counters' increase covers the whole run only when the first GET (the baseline, before the
	 * first request) and the last (the final one, after the last response) each read a page with
	 * samples (docs/OBSERVABILITY.md, counters) */
	bool have_base;   /* a page with samples has been read: later series are born during the run */
	bool baseline_ok; /* the first GET read such a page */
	bool last_ok;     /* the latest GET read such a page */
	char baseline_error[128];
	char first_error[128], parse_error[160];
	int64_t t_first_ns, t_last_ns;
	struct obs_series *series;
	size_t n_series, cap_series;
	uint32_t *map;
	size_t map_cap;
	struct obs_point *points;
	size_t n_points, cap_points;
	struct obs_stored *stored;
	size_t n_stored, cap_stored;
	size_t stride;
	struct obs_gauge_stat gauges[OBS_N_CANON];
};

/* observe_summary.c */
void obs_canon_init(struct obs_scraper *s);
/* Canonical gauge key index of a sample name (and its rank among the key's candidates), or -1. */
int obs_canon_gauge_of(const char *name, int *rank);
void obs_canon_gauges_update(struct obs_scraper *s, int64_t t_ns, double sum[OBS_N_CANON][OBS_MAX_RANK],
                             int cnt[OBS_N_CANON][OBS_MAX_RANK]);

/* Tests: a scraper without thread or URL, fed with obs_scraper_ingest. */
struct obs_scraper *obs_scraper_new_for_test(const char *url, const char *const *prefixes, size_t n);

/* Quantile q of a cumulative histogram given as (le, cumulative count) pairs sorted by le (the last
 * one +Inf), Prometheus histogram_quantile's linear interpolation; *width_out = width of the bucket
 * it fell in. NAN when empty. */
double obs_hist_quantile(const double *le, const double *cum, size_t n, double q, double *width_out);

#endif
