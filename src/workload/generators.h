#ifndef VK_WORKLOAD_GENERATORS_H
#define VK_WORKLOAD_GENERATORS_H
/* Length and interval generators (docs/WORKLOAD.md, Length generators and
 * Interval generators), driven by named rng streams.
 *
 * Every generator owns one `struct rng` seeded with rng_stream_init(root_seed, stream_name), so a
 * generator's numbers depend only on the root seed, its stream name and its own configuration.
 * Pure computation: no I/O, no allocation after init (except fixed_stair's copy of its values). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"
#include "core/rng.h"

struct wl_lengthgen {
	enum cfg_length_type type;
	struct rng rng;
	int64_t value;    /* fixed */
	int64_t min, max; /* uniform, zipf */
	/* fixed_stair */
	int64_t *values;
	size_t n_values;
	int64_t repeat_each;
	bool wrap;
	size_t stair_idx;
	int64_t stair_rep;
	/* zipf (YCSB) */
	double theta, zetan, eta, alpha;
	int64_t items;
	bool scramble;
	uint64_t scramble_seed;
	/* inverse gaussian (Wald) */
	double mean, shape;
};

/* 0 on success; -1 with a message in err for an invalid configuration. */
int wl_lengthgen_init(struct wl_lengthgen *g, const struct cfg_length_gen *cfg, uint64_t root_seed, const char *stream,
                      char *err, size_t err_len);
int64_t wl_lengthgen_next(struct wl_lengthgen *g);
void wl_lengthgen_free(struct wl_lengthgen *g);

struct wl_intervalgen {
	enum cfg_interval_type type;
	struct rng rng;
	double rate;     /* poisson, gamma: events per second */
	double interval; /* fixed: seconds */
	double shape;    /* gamma: 1/cv^2 */
	double scale;    /* gamma: 1/(rate*shape) */
};

int wl_intervalgen_init(struct wl_intervalgen *g, const struct cfg_interval_gen *cfg, uint64_t root_seed,
                        const char *stream, char *err, size_t err_len);
/* Next interval in seconds (>= 0). */
double wl_intervalgen_next_s(struct wl_intervalgen *g);

/* Standard gamma variate with the given shape (> 0), scale 1 (Marsaglia-Tsang). Exposed for tests. */
double wl_gamma_variate(struct rng *r, double shape);
/* Wald (inverse Gaussian) variate with mean mu and shape lambda. */
double wl_wald_variate(struct rng *r, double mu, double lambda);

#endif
