#ifndef VK_META_MB_ROWS_H
#define VK_META_MB_ROWS_H
/* Rows of a run's metrics/request_level_metrics.jsonl, as the microbenchmarks need them. */
#include <stddef.h>
#include <stdint.h>

struct mb_row {
	int64_t request_id;
	double dispatched_s, picked_up_s, completed_s;
	double ttfc_s, tpot_s, e2e_s;
	int64_t prompt_tokens, output_tokens, requested_output_tokens, target_prompt_tokens;
	int is_stream;
};

struct mb_rows {
	struct mb_row *v; /* the successful requests */
	size_t n, cap;
	size_t n_failed;       /* failed rows: not in v, but a microbenchmark must not pass over them */
	char first_error[192]; /* "<error_class> <error_code>: <error_msg>" of the first failed row */
	char *run_dir;         /* the benchmark run directory found under the parent */
};

/* The newest run directory (one holding metrics/) directly below parent; xmalloc'd, NULL if none. */
char *mb_newest_run_dir(const char *parent);

/* Finds the (single, newest) run directory under parent_dir and reads its rows: the successful
 * ones into v, the failed ones counted in n_failed. 0 or -1. */
int mb_rows_load(const char *parent_dir, struct mb_rows *out);
void mb_rows_free(struct mb_rows *r);

/* Statistics in seconds over a filtered copy: {mean, median, p99, min, max, count}. */
struct mb_stats {
	double mean, median, p50, p99, min, max;
	size_t count;
};
void mb_stats_of(double *values, size_t n, struct mb_stats *out); /* sorts values */

#endif
