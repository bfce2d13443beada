#ifndef VK_META_CAPSEARCH_ALGO_H
#define VK_META_CAPSEARCH_ALGO_H
/* The capacity-search algorithm (reference §6.1), as pure logic over a probe callback:
 * phase 1 probes start, start·factor, ... (capped at max) until a probe fails; phase 2 binary-searches
 * between the last passing and the first failing value. Differences from the reference: a value is
 * never measured twice (the reference's 1, 2, 4, 3, 4 re-tests 4: here the first failure is excluded
 * from the bisection range) and every probe counts as one iteration. Values are rounded to integers
 * (integer domain, minimum 1) or to `precision` decimals (half to even, like Python's round). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returns 1 = pass, 0 = fail, <0 = abort the search (e.g. interrupted). */
typedef int (*capsearch_probe_fn)(void *ctx, double value);

struct capsearch_params {
	double start_value;
	double max_value;
	double expansion_factor;
	int64_t max_iterations;
	int64_t precision;
	bool integer_domain;
};

#define CAPSEARCH_MAX_HISTORY 256

struct capsearch_result {
	bool found; /* a passing value exists */
	double best_value;
	int64_t iterations_run;
	bool aborted;
	/* max_iterations ran out while values above best_value were still untested (no failure seen
	 * below max_value, or a bisection not finished): best_value is a lower bound of the capacity,
	 * which lies in [best_value, untested_up_to] (docs/META.md) */
	bool budget_exhausted;
	double untested_up_to;
	double values[CAPSEARCH_MAX_HISTORY]; /* probed values in order */
	bool passed[CAPSEARCH_MAX_HISTORY];
	size_t n_history;
};

/* Validates params (max_iterations>0, start>0, factor>1, start<=max); returns -1 with err on bad input. */
int capsearch_run(const struct capsearch_params *p, capsearch_probe_fn probe, void *ctx, struct capsearch_result *out,
                  char *err, size_t err_len);

/* Python round(v, ndigits) (half to even) on the decimal value, used for the search grid. */
double capsearch_round(double v, int64_t precision, bool integer_domain);

#endif
