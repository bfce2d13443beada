#ifndef VK_METRICS_PCT_H
#define VK_METRICS_PCT_H
/* Exact statistics over arrays of doubles (numpy semantics). */
#include <stddef.h>

/* Sort ascending in place. */
void pct_sort(double *v, size_t n);
/* dst = src sorted ascending (n values each; they may not overlap): pct_sort of a copy, faster for
 * times in whole nanoseconds up to 4.29 s (the evaluator's, TBC gaps included). */
void pct_sort_copy(double *dst, const double *src, size_t n);
/* numpy.percentile(v, q*100) with the default 'linear' method (numpy's lerp, including its
 * b - (b-a)(1-t) branch for t >= 0.5). v sorted ascending, n > 0; q <= 0 -> min, q >= 1 -> max. */
double pct_linear_sorted(const double *v, size_t n, double q);
/* pct_linear_sorted's value without sorting v (reorders v: the order statistics it needs by
 * selection, O(n)); for one quantile of an unsorted array. */
double pct_linear_select(double *v, size_t n, double q);
/* lower + (upper - lower) * frac, the SLO evaluator's own interpolation (no numpy branch);
 * q <= 0 -> min, q >= 1 -> max. v sorted, n > 0; may end in +inf values: a rank between a finite
 * value and +inf is +inf, a rank exactly on a finite value is that value. */
double pct_interp_sorted(const double *v, size_t n, double q);
/* The element at index floor(q*(n-1)) ('lower'; the rank rule DDSketch uses). v sorted, n > 0. */
double pct_lower_sorted(const double *v, size_t n, double q);
double pct_mean(const double *v, size_t n);          /* 0 when n == 0 */
double pct_std_pop(const double *v, size_t n);       /* numpy.std (ddof=0); 0 when n == 0 */
double pct_median_sorted(const double *v, size_t n); /* numpy.median */
/* math.isclose(a, b, rel_tol, abs_tol) */
int pct_isclose(double a, double b, double rel_tol, double abs_tol);

#endif
