/* Log-linear histogram (see loghist.h). */
#include "core/loghist.h"

#include <math.h>

/* bucket of v >= 0: v itself below 8, else 8 per power of two by the 3 bits after the leading 1 */
static int loghist_index(uint64_t v)
{
	if (v < LOGHIST_SUB)
		return (int)v;
	int e = 63 - __builtin_clzll(v); /* >= 3 */
	int sub = (int)((v >> (e - 3)) & (LOGHIST_SUB - 1));
	return (e - 2) * LOGHIST_SUB + sub;
}

/* smallest value of bucket i and the bucket's width */
static void loghist_bounds(int i, uint64_t *lo, uint64_t *width)
{
	if (i < LOGHIST_SUB) {
		*lo = (uint64_t)i;
		*width = 1;
		return;
	}
	int e = i / LOGHIST_SUB + 2;
	uint64_t sub = (uint64_t)(i % LOGHIST_SUB);
	*lo = (LOGHIST_SUB + sub) << (e - 3);
	*width = 1ULL << (e - 3);
}

void loghist_add(struct loghist *h, int64_t v)
{
	if (v < 0)
		v = 0;
	h->counts[loghist_index((uint64_t)v)]++;
	h->n++;
	if (v > h->max)
		h->max = v;
}

int64_t loghist_quantile(const struct loghist *h, double q)
{
	if (!h->n)
		return 0;
	if (q < 0)
		q = 0;
	if (q > 1)
		q = 1;
	uint64_t rank = (uint64_t)ceil(q * (double)h->n);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (int i = 0; i < LOGHIST_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t lo, width;
			loghist_bounds(i, &lo, &width);
			uint64_t mid = lo + width / 2;
			return (int64_t)mid < h->max ? (int64_t)mid : h->max;
		}
	}
	return h->max;
}

uint64_t loghist_count_at_least(const struct loghist *h, int64_t v)
{
	if (v <= 0)
		return h->n;
	int first = loghist_index((uint64_t)v);
	uint64_t lo, width;
	loghist_bounds(first, &lo, &width);
	if (lo + width / 2 < (uint64_t)v)
		first++;
	uint64_t n = 0;
	for (int i = first; i < LOGHIST_BUCKETS; i++)
		n += h->counts[i];
	return n;
}
