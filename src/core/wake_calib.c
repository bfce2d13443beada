/* Wake-up lateness calibration for the dispatch spin (see wake_calib.h, docs/CLIENT.md). */
#include "core/wake_calib.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"

static int64_t wake_calib_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

void wake_calib_init(struct wake_calib *c, int64_t max_ns)
{
	memset(c, 0, sizeof *c);
	c->max_ns = max_ns > 0 ? max_ns : 0;
	c->nap_ns = WAKE_CALIB_NAP_NS < c->max_ns ? WAKE_CALIB_NAP_NS : c->max_ns;
	for (int k = 0; k < 2; k++)
		c->p50_ns[k] = c->p999_ns[k] = -1;
	c->window_ns = c->max_ns;
	c->busy_ns = wake_calib_min(c->max_ns, WAKE_CALIB_BUSY_UNKNOWN_NS);
	c->busy_cap_ns = WAKE_CALIB_BUSY_CAP_NAPS * c->nap_ns;
}

void wake_calib_set_busy_cap(struct wake_calib *c, int64_t cap_ns)
{
	c->busy_cap_ns = cap_ns > 0 ? cap_ns : WAKE_CALIB_BUSY_CAP_NAPS * c->nap_ns;
}

enum wake_class wake_calib_class(const struct wake_calib *c, int64_t wait_ns)
{
	return wait_ns <= 2 * c->nap_ns ? WAKE_SHORT : WAKE_LONG;
}

void wake_calib_add(struct wake_calib *c, int64_t wait_ns, int64_t late_ns)
{
	if (!c->max_ns)
		return;
	enum wake_class k = wake_calib_class(c, wait_ns);
	c->ring_ns[k][c->next[k]] = late_ns > 0 ? late_ns : 0;
	c->next[k] = (c->next[k] + 1) % WAKE_CALIB_RING;
	if (c->count[k] < WAKE_CALIB_RING)
		c->count[k]++;
	c->total[k]++;
	/* (and at once when the first sleeps are enough to go by) */
	if (++c->since_choose >= WAKE_CALIB_RING / 4 || (k == WAKE_LONG && c->count[k] == WAKE_CALIB_MIN_SAMPLES))
		wake_calib_choose(c);
}

static int wake_calib_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int64_t wake_calib_quantile(int64_t *v, uint32_t n, double q)
{
	if (!n)
		return -1;
	qsort(v, n, sizeof *v, wake_calib_cmp);
	/* nearest rank: the smallest value with at least q of the samples at or below it */
	uint32_t rank = (uint32_t)(q * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	return v[(rank > n ? n : rank) - 1];
}

void wake_calib_choose(struct wake_calib *c)
{
	c->since_choose = 0;
	if (!c->max_ns)
		return;
	int64_t tmp[WAKE_CALIB_RING];
	for (int k = 0; k < 2; k++) {
		memcpy(tmp, c->ring_ns[k], c->count[k] * sizeof tmp[0]);
		c->p999_ns[k] = wake_calib_quantile(tmp, c->count[k], WAKE_CALIB_QUANTILE);
		c->p50_ns[k] = c->count[k] ? tmp[(c->count[k] - 1) / 2] : -1; /* (sorted by the call above) */
	}
	if (c->count[WAKE_SHORT] || c->count[WAKE_LONG])
		c->choices++;
	/* without short samples nothing says how late a nap ends: poll the whole window */
	/* A nap that ends more than twice its length late was not an idle vCPU waking up (the host polls
	 * that long before it deschedules it) but a thread kept off its CPU by other work: polling does
	 * not prevent that, it only takes the CPU from that work (the server, on a shared host), so the
	 * busy span stops at busy_cap_ns. But a host whose naps end WAKE_CALIB_NAP_UNTRUSTED_NS late
	 * (p99.9) no longer wakes them promptly at all (measured here: 1.6 ms, and a trace replay's
	 * dispatch error p99 of 2 ms): then the loop polls the 2 ms of old. */
	if (c->count[WAKE_SHORT] < WAKE_CALIB_MIN_SAMPLES || c->p999_ns[WAKE_SHORT] > WAKE_CALIB_NAP_UNTRUSTED_NS)
		c->busy_ns = wake_calib_min(c->max_ns, WAKE_CALIB_BUSY_UNKNOWN_NS);
	else
		c->busy_ns = wake_calib_min(wake_calib_min(c->max_ns, c->p999_ns[WAKE_SHORT] + WAKE_CALIB_MARGIN_NS),
		                            c->busy_cap_ns);
	/* until sleeps were measured, the naps' tail stands for theirs: the window must be short enough
	 * for the loop to sleep through most gaps, or no sleep is ever measured */
	int k = c->count[WAKE_LONG] >= WAKE_CALIB_MIN_SAMPLES ? WAKE_LONG : WAKE_SHORT;
	if (c->count[k] >= WAKE_CALIB_MIN_SAMPLES) {
		int64_t w = c->p999_ns[k] + c->busy_ns + WAKE_CALIB_MARGIN_NS;
		c->window_ns = wake_calib_min(c->max_ns, w > c->busy_ns ? w : c->busy_ns);
	} else {
		c->window_ns = c->max_ns;
	}
}

int64_t wake_calib_nap_ns(const struct wake_calib *c, int64_t to_busy_ns)
{
	if (to_busy_ns <= c->nap_ns)
		return to_busy_ns > 0 ? to_busy_ns : 0;
	return to_busy_ns / 2 > c->nap_ns ? to_busy_ns / 2 : c->nap_ns;
}

void wake_calib_measure(struct wake_calib *c, uint32_t n)
{
	if (!c->max_ns || !c->nap_ns)
		return;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)c->nap_ns};
	for (uint32_t i = 0; i < n; i++) {
		int64_t t0 = clock_mono_ns();
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		wake_calib_add(c, c->nap_ns, clock_mono_ns() - t0 - c->nap_ns);
	}
	wake_calib_choose(c);
}
