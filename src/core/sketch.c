#include "core/sketch.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static void store_free(struct sketch_store *st)
{
	free(st->counts);
	memset(st, 0, sizeof *st);
}

/* Make key addressable, growing the dense array on the needed side. */
static void store_reserve(struct sketch_store *st, int32_t key)
{
	if (st->len == 0) {
		st->len = 128;
		st->counts = xcalloc(st->len, sizeof *st->counts);
		st->offset = key - 64;
		return;
	}
	int64_t idx = (int64_t)key - st->offset;
	if (idx >= 0 && (size_t)idx < st->len)
		return;
	int64_t lo = st->offset, hi = (int64_t)st->offset + (int64_t)st->len; /* [lo, hi) */
	int64_t nlo = lo, nhi = hi;
	if (key < lo)
		nlo = key - (int64_t)st->len / 2;
	if (key >= hi)
		nhi = (int64_t)key + 1 + (int64_t)st->len / 2;
	size_t nlen = (size_t)(nhi - nlo);
	uint64_t *n = xcalloc(nlen, sizeof *n);
	memcpy(n + (lo - nlo), st->counts, st->len * sizeof *n);
	free(st->counts);
	st->counts = n;
	st->offset = (int32_t)nlo;
	st->len = nlen;
}

static void store_add(struct sketch_store *st, int32_t key, uint64_t n)
{
	store_reserve(st, key);
	st->counts[key - st->offset] += n;
	if (st->count == 0 || key < st->min_key)
		st->min_key = key;
	if (st->count == 0 || key > st->max_key)
		st->max_key = key;
	st->count += n;
}

/* Ascending scan: lower=true -> first key whose cumulative count > rank;
 * lower=false -> first key whose cumulative count >= rank + 1. */
static int32_t store_key_at_rank(const struct sketch_store *st, double rank, bool lower)
{
	uint64_t run = 0;
	for (int32_t k = st->min_key; k <= st->max_key; k++) {
		run += st->counts[k - st->offset];
		if ((lower && (double)run > rank) || (!lower && (double)run >= rank + 1))
			return k;
	}
	return st->max_key;
}

void sketch_init(struct sketch *s, double relative_accuracy)
{
	memset(s, 0, sizeof *s);
	s->alpha = relative_accuracy;
	s->gamma = 1.0 + 2.0 * relative_accuracy / (1.0 - relative_accuracy);
	s->ln_gamma = log(s->gamma);
	s->min_indexable = DBL_MIN * s->gamma;
}

void sketch_free(struct sketch *s)
{
	store_free(&s->pos);
	store_free(&s->neg);
	s->count = s->zero_count = 0;
}

void sketch_clear(struct sketch *s)
{
	double a = s->alpha;
	sketch_free(s);
	sketch_init(s, a);
}

static int32_t sketch_key(const struct sketch *s, double v)
{
	return (int32_t)ceil(log(v) / s->ln_gamma);
}

static double sketch_value(const struct sketch *s, int32_t key)
{
	return pow(s->gamma, (double)key) * (2.0 / (1.0 + s->gamma));
}

void sketch_add(struct sketch *s, double v)
{
	if (isnan(v))
		return;
	if (v > s->min_indexable)
		store_add(&s->pos, sketch_key(s, v), 1);
	else if (v < -s->min_indexable)
		store_add(&s->neg, sketch_key(s, -v), 1);
	else
		s->zero_count++;
	if (s->count == 0 || v < s->min)
		s->min = v;
	if (s->count == 0 || v > s->max)
		s->max = v;
	s->count++;
	s->sum += v;
}

static void store_merge(struct sketch_store *dst, const struct sketch_store *src)
{
	if (src->count == 0)
		return;
	for (int32_t k = src->min_key; k <= src->max_key; k++) {
		uint64_t c = src->counts[k - src->offset];
		if (c)
			store_add(dst, k, c);
	}
}

bool sketch_merge(struct sketch *dst, const struct sketch *src)
{
	if (dst->alpha != src->alpha)
		return false;
	if (src->count == 0)
		return true;
	store_merge(&dst->pos, &src->pos);
	store_merge(&dst->neg, &src->neg);
	dst->zero_count += src->zero_count;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (dst->count == 0 || src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	return true;
}

double sketch_quantile(const struct sketch *s, double q)
{
	if (q < 0 || q > 1 || s->count == 0)
		return NAN;
	double rank = q * (double)(s->count - 1);
	double nneg = (double)s->neg.count;
	if (rank < nneg) {
		double reversed = nneg - rank - 1;
		return -sketch_value(s, store_key_at_rank(&s->neg, reversed, false));
	}
	if (rank < (double)s->zero_count + nneg)
		return 0.0;
	return sketch_value(s, store_key_at_rank(&s->pos, rank - (double)s->zero_count - nneg, true));
}

double sketch_mean(const struct sketch *s)
{
	return s->count ? s->sum / (double)s->count : 0.0;
}

uint64_t sketch_count_at_least(const struct sketch *s, double v)
{
	const struct sketch_store *st = &s->pos;
	if (!(v > s->min_indexable) || st->count == 0)
		return v > 0 ? 0 : s->count - s->neg.count;
	uint64_t n = 0;
	for (int32_t k = sketch_key(s, v) > st->min_key ? sketch_key(s, v) : st->min_key; k <= st->max_key; k++)
		n += st->counts[k - st->offset];
	return n;
}
