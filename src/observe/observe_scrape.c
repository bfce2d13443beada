/* The scraper: its own thread, storage of the samples, online statistics (docs/OBSERVABILITY.md). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "observe/observe_internal.h"
#include "server/server.h"

static uint64_t obs_hash(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ull;
	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 1099511628211ull;
	h = (h ^ 0xffu) * 1099511628211ull;
	for (; *b; b++)
		h = (h ^ (unsigned char)*b) * 1099511628211ull;
	return h;
}

static void obs_map_grow(struct obs_scraper *s)
{
	size_t cap = s->map_cap ? s->map_cap * 2 : 1024;
	uint32_t *m = xmalloc(cap * sizeof *m);
	for (size_t i = 0; i < cap; i++)
		m[i] = UINT32_MAX;
	for (size_t i = 0; i < s->n_series; i++) {
		size_t j = (size_t)(s->series[i].hash & (cap - 1));
		while (m[j] != UINT32_MAX)
			j = (j + 1) & (cap - 1);
		m[j] = (uint32_t)i;
	}
	free(s->map);
	s->map = m;
	s->map_cap = cap;
}

/* The series of a sample, created on first sight; NULL past OBS_MAX_SERIES. */
static struct obs_series *obs_series_get(struct obs_scraper *s, const struct prom_page *pg,
                                         const struct prom_sample *sm)
{
	uint64_t h = obs_hash(sm->name, sm->labels_text);
	if (s->map_cap) {
		size_t j = (size_t)(h & (s->map_cap - 1));
		while (s->map[j] != UINT32_MAX) {
			struct obs_series *se = &s->series[s->map[j]];
			if (se->hash == h && !strcmp(se->name, sm->name) && !strcmp(se->labels, sm->labels_text))
				return se;
			j = (j + 1) & (s->map_cap - 1);
		}
	}
	if (s->n_series >= OBS_MAX_SERIES) {
		s->series_dropped++;
		return NULL;
	}
	if ((s->n_series + 1) * 2 > s->map_cap)
		obs_map_grow(s);
	xgrow((void **)&s->series, &s->cap_series, s->n_series + 1, sizeof *s->series);
	struct obs_series *se = &s->series[s->n_series];
	memset(se, 0, sizeof *se);
	se->hash = h;
	se->name = xstrdup(sm->name);
	se->labels = xstrdup(sm->labels_text);
	se->series_labels = xstrdup(sm->series_text);
	se->le = sm->le;
	const struct prom_family *f = prom_family_of(pg, sm->name);
	se->type = f ? f->type : PROM_UNTYPED;
	se->family = xstrdup(f ? f->name : sm->name);
	se->gauge_canon = obs_canon_gauge_of(se->name, &se->gauge_rank);
	size_t j = (size_t)(h & (s->map_cap - 1));
	while (s->map[j] != UINT32_MAX)
		j = (j + 1) & (s->map_cap - 1);
	s->map[j] = (uint32_t)s->n_series;
	s->n_series++;
	return se;
}

static bool obs_prefix_ok(const struct obs_scraper *s, const char *name)
{
	if (!s->n_prefixes)
		return true;
	for (size_t i = 0; i < s->n_prefixes; i++)
		if (!strncmp(name, s->prefixes[i], strlen(s->prefixes[i])))
			return true;
	return false;
}

static bool obs_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !memcmp(s + n - k, suffix, k);
}

/* Thin the stored scrapes: keep every other one (always the first), double the stride. */
static void obs_decimate(struct obs_scraper *s)
{
	size_t w_sc = 0, w_pt = 0;
	for (size_t i = 0; i < s->n_stored; i++) {
		if (i % 2 && i + 1 != s->n_stored)
			continue;
		struct obs_stored *sc = &s->stored[i];
		size_t off = w_pt;
		memmove(&s->points[w_pt], &s->points[sc->off], sc->n * sizeof *s->points);
		w_pt += sc->n;
		s->stored[w_sc] = (struct obs_stored){.t_ns = sc->t_ns, .off = off, .n = sc->n};
		w_sc++;
	}
	s->n_stored = w_sc;
	s->n_points = w_pt;
	s->stride *= 2;
}

void obs_scraper_ingest(struct obs_scraper *s, int64_t t_ns, const char *body, size_t len, const char *failure)
{
	bool first_get = s->scrapes_ok + s->scrapes_failed == 0;
	s->last_ok = false;
	if (!body) {
		if (first_get)
			snprintf(s->baseline_error, sizeof s->baseline_error, "%s", failure ? failure : "failed");
		s->scrapes_failed++;
		if (!s->warned) {
			s->warned = true;
			snprintf(s->first_error, sizeof s->first_error, "%s", failure ? failure : "failed");
			log_warn("server_metrics: GET %s: %s; server-side metrics will be missing or partial "
			         "(the benchmark continues; server_metrics.enabled: false turns the scrape off)",
			         s->url, s->first_error);
		}
		return;
	}
	struct prom_page pg;
	prom_parse(body, len, &pg);
	if (pg.n_bad_lines) {
		s->bad_lines += pg.n_bad_lines;
		if (!s->parse_error[0])
			snprintf(s->parse_error, sizeof s->parse_error, "%s", pg.first_error);
	}
	size_t idx = s->scrapes_ok++;
	/* the counters' base: the first page with samples (a page without any, an HTML error page
	 * served with 200, is no base: every series on the next page would count as born in the run) */
	bool baseline = !s->have_base;
	if (idx == 0)
		s->t_first_ns = t_ns;
	s->t_last_ns = t_ns;
	bool store = idx % s->stride == 0 || s->final_pending;
	size_t off = s->n_points, stored_n = 0;
	double gsum[OBS_N_CANON][OBS_MAX_RANK];
	int gcnt[OBS_N_CANON][OBS_MAX_RANK];
	memset(gcnt, 0, sizeof gcnt);
	memset(gsum, 0, sizeof gsum);
	size_t matched = 0;
	for (size_t i = 0; i < pg.n_samples; i++) {
		const struct prom_sample *sm = &pg.samples[i];
		/* _created: the creation time of a prometheus_client series, not a measurement */
		if (!obs_prefix_ok(s, sm->name) || obs_ends_with(sm->name, "_created"))
			continue;
		struct obs_series *se = obs_series_get(s, &pg, sm);
		if (!se)
			continue;
		matched++;
		double v = sm->value;
		if (!se->n) {
			se->first = se->min = se->max = v;
			se->in_base = baseline;
		}
		/* (a histogram's _sum may fall with negative observations) */
		if (isfinite(v) && (v >= 0 || obs_ends_with(se->name, "_sum"))) {
			if (se->has_ok) {
				double d = v - se->last_ok;
				se->delta += d >= 0 ? d : v; /* a drop is a counter reset (server restart) */
			} else if (!se->in_base) {
				/* a series born during the run (prometheus_client creates labelled series on
				 * first use) started from 0 */
				se->delta = v;
			}
			se->last_ok = v;
			se->has_ok = true;
		} else if (se->type == PROM_COUNTER || se->type == PROM_HISTOGRAM) {
			/* not a reading: the increase is taken around it, from the last good one */
			s->invalid_counter_samples++;
		}
		if (v < se->min)
			se->min = v;
		if (v > se->max)
			se->max = v;
		if (isfinite(v))
			se->sum += v;
		se->last = v;
		se->n++;
		if (se->gauge_canon >= 0 && isfinite(v)) {
			gsum[se->gauge_canon][se->gauge_rank] += v;
			gcnt[se->gauge_canon][se->gauge_rank]++;
		}
		if (store) {
			if (s->n_points == s->cap_points)
				xgrow((void **)&s->points, &s->cap_points, s->n_points + 1, sizeof *s->points);
			s->points[s->n_points++] = (struct obs_point){.series = (uint32_t)(se - s->series), .value = v};
			stored_n++;
		}
	}
	if (matched) {
		s->have_base = true;
		s->last_ok = true;
		if (first_get)
			s->baseline_ok = true;
	} else if (first_get) {
		snprintf(s->baseline_error, sizeof s->baseline_error, "no sample matched the prefixes");
	}
	if (!matched && !s->warned_empty) {
		s->warned_empty = true;
		log_warn("server_metrics: %s answered, but no sample name starts with the configured prefixes "
		         "(server_metrics.prefixes)",
		         s->url);
	}
	obs_canon_gauges_update(s, t_ns, gsum, gcnt);
	if (store) {
		xgrow((void **)&s->stored, &s->cap_stored, s->n_stored + 1, sizeof *s->stored);
		s->stored[s->n_stored++] = (struct obs_stored){.t_ns = t_ns, .off = off, .n = stored_n};
		if (s->n_points > OBS_MAX_POINTS && s->n_stored > 2)
			obs_decimate(s);
	}
	prom_page_free(&pg);
}

static void obs_scrape_once(struct obs_scraper *s)
{
	char *body = NULL;
	int64_t t0 = clock_mono_ns();
	long code = server_http_get(s->url, NULL, s->timeout_s, &body);
	int64_t t1 = clock_mono_ns();
	s->scrape_wall_ns += t1 - t0;
	/* the page describes the server somewhere between request and response */
	int64_t t = t0 + (t1 - t0) / 2;
	if (code == 200 && body) {
		obs_scraper_ingest(s, t, body, strlen(body), NULL);
	} else {
		char why[96];
		if (code == SERVER_HTTP_TOO_LARGE)
			snprintf(why, sizeof why, "the page is larger than %zu MiB (not read)",
			         SERVER_HTTP_MAX_BODY_BYTES >> 20);
		else if (code)
			snprintf(why, sizeof why, "HTTP %ld", code);
		else
			snprintf(why, sizeof why, "connection failed or no answer within %.1f s", s->timeout_s);
		obs_scraper_ingest(s, t, NULL, 0, why);
	}
	free(body);
}

static double obs_thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *obs_thread_main(void *arg)
{
	struct obs_scraper *s = arg;
	double cpu0 = obs_thread_cpu_s();
	int64_t interval_ns = (int64_t)llround(s->interval_s * 1e9);
	int64_t next = s->t_start_ns + interval_ns;
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		struct timespec ts = {.tv_sec = next / 1000000000, .tv_nsec = next % 1000000000};
		int rc = pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		if (s->stop)
			break;
		if (rc != ETIMEDOUT && clock_mono_ns() < next)
			continue; /* spurious wake-up */
		pthread_mutex_unlock(&s->mu);
		obs_scrape_once(s);
		pthread_mutex_lock(&s->mu);
		/* a fixed schedule; a GET slower than the interval skips the ticks it overran */
		int64_t now = clock_mono_ns();
		next += interval_ns;
		if (next <= now)
			next += ((now - next) / interval_ns + 1) * interval_ns;
	}
	pthread_mutex_unlock(&s->mu);
	s->thread_cpu_s = obs_thread_cpu_s() - cpu0;
	return NULL;
}

struct obs_scraper *obs_scraper_start(const struct obs_scraper_opts *o)
{
	struct obs_scraper *s = xcalloc(1, sizeof *s);
	s->url = xstrdup(o->url);
	s->interval_s = o->interval_s > 0 ? o->interval_s : 1.0;
	s->timeout_s = o->timeout_s > 0 ? o->timeout_s : 1.0;
	s->n_prefixes = o->n_prefixes;
	s->prefixes = xcalloc(o->n_prefixes + 1, sizeof *s->prefixes);
	for (size_t i = 0; i < o->n_prefixes; i++)
		s->prefixes[i] = xstrdup(o->prefixes[i]);
	s->stride = 1;
	obs_canon_init(s);
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	/* the baseline: taken before the first request, on the caller's thread */
	double cpu0 = obs_thread_cpu_s();
	s->t_start_ns = clock_mono_ns();
	obs_scrape_once(s);
	s->caller_cpu_s += obs_thread_cpu_s() - cpu0;
	if (pthread_create(&s->th, NULL, obs_thread_main, s) != 0) {
		log_warn("server_metrics: cannot start the scrape thread; server-side metrics hold the baseline only");
		return s;
	}
	s->running = true;
	return s;
}

void obs_scraper_stop(struct obs_scraper *s)
{
	if (!s || s->stopped)
		return;
	s->stopped = true;
	if (s->running) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->th, NULL);
		s->running = false;
	}
	/* the final scrape: after the last response, always stored */
	double cpu0 = obs_thread_cpu_s();
	s->final_pending = true;
	obs_scrape_once(s);
	s->final_pending = false;
	s->caller_cpu_s += obs_thread_cpu_s() - cpu0;
}

size_t obs_scraper_scrapes_ok(const struct obs_scraper *s)
{
	return s ? s->scrapes_ok : 0;
}

size_t obs_scraper_scrapes_failed(const struct obs_scraper *s)
{
	return s ? s->scrapes_failed : 0;
}

struct obs_scraper *obs_scraper_new_for_test(const char *url, const char *const *prefixes, size_t n)
{
	struct obs_scraper *s = xcalloc(1, sizeof *s);
	s->url = xstrdup(url ? url : "test");
	s->interval_s = 1.0;
	s->timeout_s = 1.0;
	s->n_prefixes = n;
	s->prefixes = xcalloc(n + 1, sizeof *s->prefixes);
	for (size_t i = 0; i < n; i++)
		s->prefixes[i] = xstrdup(prefixes[i]);
	s->stride = 1;
	s->stopped = true;
	obs_canon_init(s);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	return s;
}

void obs_scraper_free(struct obs_scraper *s)
{
	if (!s)
		return;
	obs_scraper_stop(s);
	for (size_t i = 0; i < s->n_series; i++) {
		free(s->series[i].name);
		free(s->series[i].labels);
		free(s->series[i].series_labels);
		free(s->series[i].family);
	}
	free(s->series);
	free(s->map);
	free(s->points);
	free(s->stored);
	for (size_t i = 0; i < s->n_prefixes; i++)
		free(s->prefixes[i]);
	free(s->prefixes);
	free(s->url);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}
