#ifndef VK_CORE_LOGHIST_H
#define VK_CORE_LOGHIST_H
/* Fixed-size log-linear histogram of non-negative integers (e.g. nanoseconds), for figures that
 * are recorded on a hot path (per read) and summarised once: values below 8 are exact, above that
 * each power of two is split into 8 buckets, so a quantile is within 6.25% of a recorded value
 * (the bucket's midpoint). Insert is O(1) and never allocates; 4 KB per histogram. */
#include <stdint.h>

#define LOGHIST_SUB 8                       /* buckets per power of two */
#define LOGHIST_BUCKETS (62 * LOGHIST_SUB) /* covers every int64_t >= 0 */

struct loghist {
	uint64_t n;
	int64_t max;
	uint64_t counts[LOGHIST_BUCKETS];
};

/* Records v (negative values count as 0). */
void loghist_add(struct loghist *h, int64_t v);
/* The q-quantile (0 <= q <= 1) by rank ceil(q * n): the midpoint of its bucket, never above the
 * maximum recorded; 0 when empty. */
int64_t loghist_quantile(const struct loghist *h, double q);

/* How many recorded values are at least v (to bucket precision: a value in v's bucket counts when
 * the bucket's midpoint is at least v). */
uint64_t loghist_count_at_least(const struct loghist *h, int64_t v);

#endif
