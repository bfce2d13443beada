#include "core/rng.h"

#include <math.h>
#include <string.h>

static uint64_t rng_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rng_derive_seed(uint64_t root, const char *name)
{
	/* FNV-1a over the name, mixed with the root through splitmix64. */
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	uint64_t x = root ^ rng_splitmix64(&h);
	return rng_splitmix64(&x);
}

void rng_init(struct rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = rng_splitmix64(&x);
}

void rng_stream_init(struct rng *r, uint64_t root, const char *name)
{
	rng_init(r, rng_derive_seed(root, name));
}

static inline uint64_t rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_u64(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rng_rotl(s[3], 45);
	return result;
}

double rng_uniform01(struct rng *r)
{
	return (double)(rng_u64(r) >> 11) * 0x1.0p-53;
}

double rng_uniform_open01(struct rng *r)
{
	double u;
	do {
		u = rng_uniform01(r);
	} while (u == 0.0);
	return u;
}

uint64_t rng_below(struct rng *r, uint64_t n)
{
	uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
	uint64_t x;
	do {
		x = rng_u64(r);
	} while (x >= limit);
	return x % n;
}

double rng_normal(struct rng *r)
{
	/* Box-Muller; one value per call keeps the stream position simple to reason about. */
	double u1 = rng_uniform_open01(r), u2 = rng_uniform01(r);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
