#ifndef VK_OBSERVE_OBSERVE_H
#define VK_OBSERVE_OBSERVE_H
/* Server metrics during a benchmark (docs/OBSERVABILITY.md): a thread of its own GETs the server's
 * Prometheus endpoint every interval (never the benchmark loop's thread), keeps the samples whose
 * names match the configured prefixes in memory (bounded: see OBS_MAX_POINTS), and at the end
 * writes metrics/server_metrics.csv, metrics/server_summary.json (canonical keys mapped from vLLM
 * V1/V0 and SGLang names, raw series for everything) and the client-vs-server reconciliation.
 *
 * Typical use (the runner):
 *     struct obs_scraper *scr = obs_run_begin(&cfg);   // NULL when disabled or no URL is known
 *     ... run ...
 *     obs_run_end(scr, run_dir, start_ns, stdout);      // after the evaluator wrote summary_stats.json
 * A missing or failing endpoint is one warning, never a failed run. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config_types.h"

/* Stored (t, series, value) points are capped; past the cap every other stored scrape is dropped
 * and from then on only every 2nd (4th, ...) scrape is stored: the CSV thins out evenly, the
 * summary is unaffected (it is computed online from every scrape). 1 Mi points = 16 MiB. */
#define OBS_MAX_POINTS (1u << 20)
/* Distinct series kept (name + labels); further ones are counted and ignored. */
#define OBS_MAX_SERIES 20000u

struct obs_scraper_opts {
	const char *url;
	double interval_s;
	double timeout_s;            /* per GET */
	const char *const *prefixes; /* sample-name prefixes kept; none = keep every sample */
	size_t n_prefixes;
};

struct obs_scraper;

/* Takes the baseline scrape on the calling thread (bounded by timeout_s), then starts the thread.
 * NULL only when the thread cannot be created (then a warning). */
struct obs_scraper *obs_scraper_start(const struct obs_scraper_opts *o);
/* Stops the thread and takes the final scrape. Idempotent. */
void obs_scraper_stop(struct obs_scraper *s);
/* Feed one page by hand (tests, and the thread's own path): t_ns on CLOCK_MONOTONIC; body NULL
 * = a failed GET described by `failure`. */
void obs_scraper_ingest(struct obs_scraper *s, int64_t t_ns, const char *body, size_t len, const char *failure);
/* Write <run_dir>/metrics/server_metrics.csv and server_summary.json (with the reconciliation
 * against <run_dir>/metrics/summary_stats.json and client_usage.json when present); print the
 * reconciliation table to `console` when not NULL. Returns 0, or -1 when a file could not be
 * written (said on stderr). */
int obs_scraper_write(struct obs_scraper *s, const char *run_dir, int64_t run_start_ns, FILE *console);
void obs_scraper_free(struct obs_scraper *s);

/* Counters for tests and the summary. */
size_t obs_scraper_scrapes_ok(const struct obs_scraper *s);
size_t obs_scraper_scrapes_failed(const struct obs_scraper *s);

/* The endpoint URL: server_metrics.url when set, else scheme://host:port of client.api_base (the
 * managed server's, once the runner filled it in) or of $OPENAI_API_BASE, + /metrics. NULL when
 * none is known. xmalloc'd. */
char *obs_metrics_url(const struct cfg_benchmark *cfg);

/* Runner hooks. begin: NULL when server_metrics.enabled is false or no URL is known. end: stop,
 * write (unless run_dir is NULL: nothing was measured), print, free; NULL is fine. Returns what
 * obs_scraper_write returns (0 for NULL). */
struct obs_scraper *obs_run_begin(const struct cfg_benchmark *cfg);
int obs_run_end(struct obs_scraper *s, const char *run_dir, int64_t run_start_ns, FILE *console);

#endif
