#ifndef VK_CORE_SKETCH_H
#define VK_CORE_SKETCH_H
/* DDSketch (Masson, Rim, Lee 2019) with a logarithmic mapping and unbounded dense stores.
 *
 * relative accuracy alpha (0.001 for every series): gamma = 1 + 2a/(1-a);
 * key(v) = ceil(ln v / ln gamma); value(key) = gamma^key * 2/(1+gamma).
 * |v| <= DBL_MIN*gamma goes to the zero bucket; negatives go to a mirrored store.
 * quantile(q): rank = q*(count-1), as docs/METRICS.md, Aggregation.
 * Mergeable: sketch_merge(dst, src) adds src's buckets into dst (same alpha required).
 * Not thread-safe; one sketch per thread and merge. No allocation unless a new key range
 * is touched (the store grows geometrically). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sketch_store {
	uint64_t *counts; /* counts[i] is key (offset + i) */
	int32_t offset;
	size_t len;               /* allocated bins */
	int32_t min_key, max_key; /* valid when count > 0 */
	uint64_t count;
};

struct sketch {
	double alpha, gamma, ln_gamma, min_indexable;
	struct sketch_store pos, neg;
	uint64_t zero_count;
	uint64_t count;
	double sum, min, max;
};

void sketch_init(struct sketch *s, double relative_accuracy);
void sketch_free(struct sketch *s);
void sketch_clear(struct sketch *s);
void sketch_add(struct sketch *s, double v);
/* dst += src. Returns false (and does nothing) if the accuracies differ. */
bool sketch_merge(struct sketch *dst, const struct sketch *src);
/* NaN when empty or q outside [0,1]. */
double sketch_quantile(const struct sketch *s, double q);
double sketch_mean(const struct sketch *s); /* exact sum/count; 0 when empty */
/* How many added values are at least v > 0, to the sketch's accuracy (a value counts when its
 * bucket is v's bucket or above). */
uint64_t sketch_count_at_least(const struct sketch *s, double v);
static inline uint64_t sketch_count(const struct sketch *s)
{
	return s->count;
}

#endif
