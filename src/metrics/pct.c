#include "metrics/pct.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Order-preserving map of a double's bits to an unsigned key (negative: all bits flipped;
 * positive: sign bit set). */
static inline uint64_t pct_key(uint64_t u)
{
	return (u >> 63) ? ~u : u | ((uint64_t)1 << 63);
}
static inline uint64_t pct_unkey(uint64_t k)
{
	return (k >> 63) ? k & ~((uint64_t)1 << 63) : ~k;
}

/* 10-bit digits (7 passes): 1,024 scatter targets stay in the caches where 2,048 did not; sorting
 * 3M doubles measured 53 ms against 77 ms with 11 bits (docs/OUTPUTS.md, Output phase). */
#define PCT_RADIX_BITS 10
#define PCT_RADIX_SIZE (1u << PCT_RADIX_BITS)

/* Stable LSD radix sort of the keys (the same order as the stable merge sort qsort uses for
 * distinct values; equal values are identical, except -0.0 vs 0.0 which the caller excludes).
 * The keys are made in v's own storage, so the passes need one scratch array (not two) and the
 * sorted values are unkeyed where they end up (a copy only after an odd number of passes). */
static inline uint64_t pct_ld(const unsigned char *base, size_t i)
{
	uint64_t u;
	memcpy(&u, base + i * sizeof u, sizeof u);
	return u;
}
static inline void pct_st(unsigned char *base, size_t i, uint64_t u)
{
	memcpy(base + i * sizeof u, &u, sizeof u);
}

enum { PCT_PASSES = (64 + PCT_RADIX_BITS - 1) / PCT_RADIX_BITS };

/* Adds `count` keys equal to `key` to every pass's digit counts. */
static inline void pct_count(size_t *hist, uint64_t key, size_t count)
{
	for (unsigned p = 0; p < PCT_PASSES; p++)
		hist[p * PCT_RADIX_SIZE + ((key >> (p * PCT_RADIX_BITS)) & (PCT_RADIX_SIZE - 1))] += count;
}

/* A pass's digit counts turned into each digit's first index; false (the pass is skipped) when
 * every key has the digit of the first key, counted `first_count` times out of n. */
static bool pct_offsets(size_t *cnt, size_t size, size_t first_count, size_t n)
{
	if (first_count == n)
		return false;
	size_t sum = 0;
	for (size_t d = 0; d < size; d++) {
		size_t c = cnt[d];
		cnt[d] = sum;
		sum += c;
	}
	return true;
}

static bool pct_radix_sort(double *v, size_t n)
{
	unsigned char *a = (unsigned char *)v, *b = malloc(n * sizeof(uint64_t));
	size_t *hist = calloc((size_t)PCT_PASSES * PCT_RADIX_SIZE, sizeof *hist);
	if (!b || !hist) {
		free(b);
		free(hist);
		return false;
	}
	/* every pass's digit counts in the one read that makes the keys (the passes only permute); a
	 * run of equal keys (the zero gaps of a fast server) is counted once, since incrementing the
	 * same counters element after element waits on each previous increment: 3M zeros took 18 ms,
	 * now 6 */
	uint64_t run_key = pct_key(pct_ld(a, 0));
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t k = pct_key(pct_ld(a, i));
		pct_st(a, i, k);
		if (k != run_key) {
			pct_count(hist, run_key, run);
			run_key = k;
			run = 0;
		}
		run++;
	}
	pct_count(hist, run_key, run);
	for (unsigned shift = 0; shift < 64; shift += PCT_RADIX_BITS) {
		size_t *cnt = hist + (shift / PCT_RADIX_BITS) * PCT_RADIX_SIZE;
		if (!pct_offsets(cnt, PCT_RADIX_SIZE, cnt[(pct_ld(a, 0) >> shift) & (PCT_RADIX_SIZE - 1)], n))
			continue;
		for (size_t i = 0; i < n; i++) {
			uint64_t k = pct_ld(a, i);
			pct_st(b, cnt[(k >> shift) & (PCT_RADIX_SIZE - 1)]++, k);
		}
		unsigned char *t = a;
		a = b;
		b = t;
	}
	unsigned char *out = (unsigned char *)v;
	for (size_t i = 0; i < n; i++)
		pct_st(out, i, pct_unkey(pct_ld(a, i)));
	free(a == out ? b : a);
	free(hist);
	return true;
}

void pct_sort(double *v, size_t n)
{
	if (n < 2)
		return;
	if (n >= 512) {
		bool plain = true; /* no NaN and no -0.0 (whose order next to 0.0 qsort keeps as given) */
		for (size_t i = 0; i < n && plain; i++)
			plain = !isnan(v[i]) && !(v[i] == 0.0 && signbit(v[i]));
		if (plain && pct_radix_sort(v, n))
			return;
	}
	qsort(v, n, sizeof *v, cmp_double);
}

/* ---- sorting a copy of whole nanoseconds ----
 * Times the evaluator computes are whole nanoseconds in seconds ((double)ns / 1e9, every TBC gap
 * included). Up to 4.29 s such a value is fully described by its nanosecond count in 32 bits, and
 * ns -> ns / 1e9 preserves order (and distinctness: the values are 1e-9 apart, far more than a
 * double's spacing there). So a copy is sorted by 32-bit keys: 3 radix passes over half the
 * bytes instead of 6-7 over 8-byte keys, in the destination's own memory (keys in its first half,
 * the passes ping-ponging with its second half), and expanded back to the same doubles in place.
 * A value that is not such a time (-0.0, NaN, negative, longer, or not a whole ns) is found in the
 * key pass and the copy is sorted the general way. */
#define PCT_NS_DIGIT_BITS 11
#define PCT_NS_DIGITS 3 /* 11 + 11 + 10 bits */
#define PCT_NS_DIGIT_SIZE (1u << PCT_NS_DIGIT_BITS)

static inline uint32_t pct_ld32(const unsigned char *base, size_t i)
{
	uint32_t u;
	memcpy(&u, base + i * sizeof u, sizeof u);
	return u;
}
static inline void pct_st32(unsigned char *base, size_t i, uint32_t u)
{
	memcpy(base + i * sizeof u, &u, sizeof u);
}

/* v's nanosecond count when v == (double)ns / 1e9 with 0 <= ns < 2^32 (and v is not -0.0) */
static inline bool pct_ns_key(double v, uint32_t *key)
{
	const double k = 6755399441055744.0; /* 1.5 * 2^52: adding it rounds to an integer */
	double y = v * 1e9 + k;
	double ns = y - k;
	if (!(ns >= 0 && ns < 4294967296.0) || ns / 1e9 != v || signbit(v))
		return false;
	uint64_t bits;
	memcpy(&bits, &y, sizeof bits); /* k + ns: ns in the low bits */
	*key = (uint32_t)bits;
	return true;
}

static inline void pct_ns_count(size_t *hist, uint32_t key, size_t count)
{
	for (unsigned p = 0; p < PCT_NS_DIGITS; p++)
		hist[p * PCT_NS_DIGIT_SIZE + ((key >> (p * PCT_NS_DIGIT_BITS)) & (PCT_NS_DIGIT_SIZE - 1))] += count;
}

static bool pct_sort_ns_copy(double *dst, const double *src, size_t n)
{
	unsigned char *a = (unsigned char *)dst, *b = a + n * sizeof(uint32_t);
	size_t *hist = calloc((size_t)PCT_NS_DIGITS * PCT_NS_DIGIT_SIZE, sizeof *hist);
	if (!hist)
		return false;
	uint32_t run_key = 0;
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t k;
		if (!pct_ns_key(src[i], &k)) {
			free(hist);
			return false;
		}
		pct_st32(a, i, k);
		if (k != run_key) { /* runs of equal keys counted once, as pct_radix_sort does */
			pct_ns_count(hist, run_key, run);
			run_key = k;
			run = 0;
		}
		run++;
	}
	pct_ns_count(hist, run_key, run);
	for (unsigned p = 0; p < PCT_NS_DIGITS; p++) {
		unsigned shift = p * PCT_NS_DIGIT_BITS;
		size_t *cnt = hist + p * PCT_NS_DIGIT_SIZE;
		if (!pct_offsets(cnt, PCT_NS_DIGIT_SIZE, cnt[(pct_ld32(a, 0) >> shift) & (PCT_NS_DIGIT_SIZE - 1)], n))
			continue;
		for (size_t i = 0; i < n; i++) {
			uint32_t k = pct_ld32(a, i);
			pct_st32(b, cnt[(k >> shift) & (PCT_NS_DIGIT_SIZE - 1)]++, k);
		}
		unsigned char *t = a;
		a = b;
		b = t;
	}
	free(hist);
	/* key i -> double i (8 bytes at 8i). Keys in the first half: from the last, since double i
	 * covers keys 2i and 2i+1, already read; in the second half (at 4n): from the first, since
	 * double i covers keys 2i-n and 2i-n+1, at most i. */
	unsigned char *out = (unsigned char *)dst;
	if (a == out) {
		for (size_t i = n; i-- > 0;) {
			double v = (double)pct_ld32(a, i) / 1e9;
			memcpy(out + i * sizeof v, &v, sizeof v);
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			double v = (double)pct_ld32(a, i) / 1e9;
			memcpy(out + i * sizeof v, &v, sizeof v);
		}
	}
	return true;
}

void pct_sort_copy(double *dst, const double *src, size_t n)
{
	if (n >= 512 && pct_sort_ns_copy(dst, src, n))
		return;
	memcpy(dst, src, n * sizeof *dst);
	pct_sort(dst, n);
}

double pct_linear_sorted(const double *v, size_t n, double q)
{
	if (n == 0)
		return NAN;
	if (q <= 0)
		return v[0];
	if (q >= 1)
		return v[n - 1];
	double rank = q * (double)(n - 1);
	double lo_f = floor(rank);
	size_t lo = (size_t)lo_f;
	size_t hi = lo + 1 < n ? lo + 1 : n - 1;
	double t = rank - lo_f;
	double a = v[lo], b = v[hi];
	double d = b - a;
	if (t >= 0.5)
		return b - d * (1.0 - t);
	return a + d * t;
}

/* Moves the k-th smallest value to v[k], smaller-or-equal ones before it, larger-or-equal after
 * (Hoare partitions around a median of three: runs of equal values, e.g. the zero gaps of a
 * zero-delay server, split evenly). */
static void pct_select(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;
	while (hi > lo) {
		size_t mid = lo + (hi - lo) / 2;
		double a = v[lo], b = v[mid], c = v[hi];
		double pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		size_t i = lo, j = hi;
		for (;;) {
			while (v[i] < pivot)
				i++;
			while (pivot < v[j])
				j--;
			if (i >= j)
				break;
			double t = v[i];
			v[i] = v[j];
			v[j] = t;
			i++;
			j--;
		}
		/* v[lo..j] <= pivot <= v[j+1..hi] */
		if (k <= j)
			hi = j;
		else
			lo = j + 1;
	}
}

double pct_linear_select(double *v, size_t n, double q)
{
	if (n == 0)
		return NAN;
	bool plain = true; /* as pct_sort: NaN and -0.0 take the sorted path */
	for (size_t i = 0; i < n && plain; i++)
		plain = !isnan(v[i]) && !(v[i] == 0.0 && signbit(v[i]));
	if (!plain || n < 64 || q <= 0 || q >= 1) {
		pct_sort(v, n);
		return pct_linear_sorted(v, n, q);
	}
	size_t lo = (size_t)floor(q * (double)(n - 1));
	pct_select(v, n, lo);
	if (lo + 1 < n) {
		/* the next order statistic: the least of what lies above */
		size_t m = lo + 1;
		for (size_t i = lo + 2; i < n; i++)
			if (v[i] < v[m])
				m = i;
		double t = v[lo + 1];
		v[lo + 1] = v[m];
		v[m] = t;
	}
	return pct_linear_sorted(v, n, q); /* reads v[lo] and v[lo + 1] only */
}

double pct_interp_sorted(const double *v, size_t n, double q)
{
	if (n == 0)
		return NAN;
	if (q <= 0)
		return v[0];
	if (q >= 1)
		return v[n - 1];
	double rank = q * (double)(n - 1);
	double lo_f = floor(rank);
	size_t lo = (size_t)lo_f;
	size_t hi = lo + 1 < n ? lo + 1 : n - 1;
	double t = rank - lo_f;
	/* +inf values (errored requests in the SLO percentiles) end the array: a rank that falls on a
	 * finite value stays finite instead of becoming inf * 0 = NaN */
	if (isinf(v[hi]))
		return t > 0 ? v[hi] : v[lo];
	return v[lo] + (v[hi] - v[lo]) * t;
}

double pct_lower_sorted(const double *v, size_t n, double q)
{
	if (n == 0)
		return NAN;
	double rank = q * (double)(n - 1);
	if (rank <= 0)
		return v[0];
	size_t i = (size_t)floor(rank);
	return v[i < n ? i : n - 1];
}

/* numpy uses pairwise summation for float64 reductions; for blocks < 8 elements it is a plain
 * loop, otherwise an 8-way unrolled loop up to 128 elements and recursive halving above. */
static double pairwise_sum(const double *a, size_t n)
{
	if (n < 8) {
		double r = 0.0;
		for (size_t i = 0; i < n; i++)
			r += a[i];
		return r;
	}
	if (n <= 128) {
		double r[8];
		for (int j = 0; j < 8; j++)
			r[j] = a[j];
		size_t i;
		for (i = 8; i < n - (n % 8); i += 8)
			for (int j = 0; j < 8; j++)
				r[j] += a[i + j];
		double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
		for (; i < n; i++)
			res += a[i];
		return res;
	}
	size_t n2 = n / 2;
	n2 -= n2 % 8;
	return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

double pct_mean(const double *v, size_t n)
{
	return n ? pairwise_sum(v, n) / (double)n : 0.0;
}

double pct_std_pop(const double *v, size_t n)
{
	if (n == 0)
		return 0.0;
	double m = pct_mean(v, n);
	double *d = malloc(n * sizeof *d);
	if (!d)
		return NAN;
	for (size_t i = 0; i < n; i++)
		d[i] = (v[i] - m) * (v[i] - m);
	double s = pairwise_sum(d, n) / (double)n;
	free(d);
	return sqrt(s);
}

double pct_median_sorted(const double *v, size_t n)
{
	if (n == 0)
		return NAN;
	if (n % 2)
		return v[n / 2];
	/* numpy.median = mean of the two middle elements */
	return (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

int pct_isclose(double a, double b, double rel_tol, double abs_tol)
{
	if (a == b)
		return 1;
	if (isinf(a) || isinf(b))
		return 0;
	double diff = fabs(b - a);
	return diff <= fabs(rel_tol * b) || diff <= fabs(rel_tol * a) || diff <= abs_tol;
}
