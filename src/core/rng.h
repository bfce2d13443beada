#ifndef VK_CORE_RNG_H
#define VK_CORE_RNG_H
/* Deterministic random numbers: xoshiro256** seeded by splitmix64.
 * Named streams: rng_stream_init(&r, root_seed, "session_graph/num_request") gives a stream that
 * depends only on the root seed and the name, so changing one component's configuration never
 * shifts another component's numbers. Not thread-safe per instance. */
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

uint64_t rng_derive_seed(uint64_t root, const char *name);
void rng_init(struct rng *r, uint64_t seed);
void rng_stream_init(struct rng *r, uint64_t root, const char *name);
uint64_t rng_u64(struct rng *r);
double rng_uniform01(struct rng *r);           /* [0, 1) with 53 random bits */
double rng_uniform_open01(struct rng *r);      /* (0, 1) */
uint64_t rng_below(struct rng *r, uint64_t n); /* [0, n), unbiased; n > 0 */
double rng_normal(struct rng *r);              /* standard normal */

#endif
