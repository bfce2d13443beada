/* Length generators: fixed, uniform, zipf (YCSB style), inverse_gaussian, fixed_stair. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "workload/generators.h"

static uint64_t lg_mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* zeta(n) = sum_{i=1}^{n-1} i^-theta: the reference's definition (the n-th term is omitted). */
static double lg_zeta(int64_t n, double theta)
{
	double s = 0.0;
	for (int64_t i = 1; i < n; i++)
		s += pow((double)i, -theta);
	return s;
}

double wl_wald_variate(struct rng *r, double mu, double lambda)
{
	/* Michael, Schucany & Haas (1976). */
	double nu = rng_normal(r);
	double y = nu * nu;
	double x =
	    mu + (mu * mu * y) / (2.0 * lambda) - (mu / (2.0 * lambda)) * sqrt(4.0 * mu * lambda * y + mu * mu * y * y);
	double u = rng_uniform01(r);
	if (u <= mu / (mu + x))
		return x;
	return mu * mu / x;
}

int wl_lengthgen_init(struct wl_lengthgen *g, const struct cfg_length_gen *cfg, uint64_t root_seed, const char *stream,
                      char *err, size_t err_len)
{
	memset(g, 0, sizeof *g);
	g->type = cfg->type;
	rng_stream_init(&g->rng, root_seed, stream);
	switch (cfg->type) {
	case CFG_LENGTH_FIXED:
		g->value = cfg->value;
		if (g->value < 0) {
			snprintf(err, err_len, "%s: fixed length value must be >= 0 (got %lld)", stream,
			         (long long)g->value);
			return -1;
		}
		return 0;
	case CFG_LENGTH_UNIFORM:
		g->min = cfg->min;
		g->max = cfg->max;
		if (g->min > g->max || g->min < 0) {
			snprintf(err, err_len, "%s: uniform length needs 0 <= min <= max (got min=%lld max=%lld)",
			         stream, (long long)g->min, (long long)g->max);
			return -1;
		}
		return 0;
	case CFG_LENGTH_ZIPF:
		g->min = cfg->min;
		g->max = cfg->max;
		g->theta = cfg->theta;
		g->scramble = cfg->scramble;
		if (g->min > g->max || g->min < 0) {
			snprintf(err, err_len, "%s: zipf length needs 0 <= min <= max (got min=%lld max=%lld)", stream,
			         (long long)g->min, (long long)g->max);
			return -1;
		}
		if (!(g->theta > 0.0) || !isfinite(g->theta)) {
			snprintf(err, err_len, "%s: zipf theta must be > 0 (got %g)", stream, g->theta);
			return -1;
		}
		g->items = g->max - g->min + 1;
		if (g->items > 100000000) {
			snprintf(err, err_len, "%s: zipf range too large (%lld items; limit 1e8)", stream,
			         (long long)g->items);
			return -1;
		}
		g->zetan = lg_zeta(g->items, g->theta);
		g->alpha = 1.0 / (1.0 - g->theta + 1e-8);
		{
			double zeta2 = lg_zeta(2, g->theta);
			g->eta =
			    (1.0 - pow(2.0 / (double)g->items, 1.0 - g->theta)) / (1.0 - zeta2 / (g->zetan + 1e-8));
		}
		if (g->scramble)
			g->scramble_seed = rng_u64(&g->rng) & 0xffffffffULL;
		return 0;
	case CFG_LENGTH_INVERSE_GAUSSIAN:
		g->mean = cfg->mean;
		g->shape = cfg->shape;
		if (!(g->mean > 0.0) || !(g->shape > 0.0) || !isfinite(g->mean) || !isfinite(g->shape)) {
			snprintf(err, err_len, "%s: inverse_gaussian needs mean > 0 and shape > 0 (got %g, %g)", stream,
			         g->mean, g->shape);
			return -1;
		}
		return 0;
	case CFG_LENGTH_FIXED_STAIR:
		if (cfg->n_values == 0) {
			snprintf(err, err_len, "%s: fixed_stair needs at least one value", stream);
			return -1;
		}
		if (cfg->repeat_each < 1) {
			snprintf(err, err_len, "%s: fixed_stair repeat_each must be >= 1 (got %lld)", stream,
			         (long long)cfg->repeat_each);
			return -1;
		}
		g->values = xmalloc(cfg->n_values * sizeof *g->values);
		memcpy(g->values, cfg->values, cfg->n_values * sizeof *g->values);
		g->n_values = cfg->n_values;
		g->repeat_each = cfg->repeat_each;
		g->wrap = cfg->wrap;
		return 0;
	}
	snprintf(err, err_len, "%s: unknown length generator type %d", stream, (int)cfg->type);
	return -1;
}

static int64_t lg_zipf_next(struct wl_lengthgen *g)
{
	double u = rng_uniform01(&g->rng);
	double uz = u * g->zetan;
	int64_t v;
	if (uz < 1.0)
		v = g->min;
	else if (uz < 1.0 + pow(0.5, g->theta))
		v = g->min + 1;
	else {
		double x = (double)g->items * pow(g->eta * u - g->eta + 1.0, g->alpha);
		if (!isfinite(x) || x < 0)
			x = 0;
		v = g->min + (x >= (double)g->items ? g->items - 1 : (int64_t)x);
	}
	if (v > g->max)
		v = g->max;
	if (v < g->min)
		v = g->min;
	if (g->scramble) {
		uint64_t h = lg_mix64((uint64_t)v ^ lg_mix64(g->scramble_seed));
		v = g->min + (int64_t)(h % (uint64_t)g->items);
	}
	return v;
}

int64_t wl_lengthgen_next(struct wl_lengthgen *g)
{
	switch (g->type) {
	case CFG_LENGTH_FIXED:
		return g->value;
	case CFG_LENGTH_UNIFORM:
		if (g->min == g->max)
			return g->min;
		/* int(uniform(min, max)): max is exclusive. */
		{
			int64_t v = g->min + (int64_t)floor((double)(g->max - g->min) * rng_uniform01(&g->rng));
			return v >= g->max ? g->max - 1 : v;
		}
	case CFG_LENGTH_ZIPF:
		return lg_zipf_next(g);
	case CFG_LENGTH_INVERSE_GAUSSIAN: {
		double x = nearbyint(wl_wald_variate(&g->rng, g->mean, g->shape));
		if (!(x >= 1.0))
			return 1;
		if (x > 9.0e18)
			return INT64_C(9000000000000000000);
		return (int64_t)x;
	}
	case CFG_LENGTH_FIXED_STAIR: {
		int64_t v = g->values[g->stair_idx];
		if (++g->stair_rep >= g->repeat_each) {
			g->stair_rep = 0;
			if (g->stair_idx + 1 < g->n_values)
				g->stair_idx++;
			else if (g->wrap)
				g->stair_idx = 0;
			else
				g->stair_rep = g->repeat_each; /* hold the last value */
		}
		return v;
	}
	}
	return 0;
}

void wl_lengthgen_free(struct wl_lengthgen *g)
{
	free(g->values);
	g->values = NULL;
}
