#ifndef VK_METRICS_EVAL_ROWS_H
#define VK_METRICS_EVAL_ROWS_H
/* Re-evaluating a run directory that has no event log (an unsharded run of ours, or a run written by
 * the Python Veeksha) from the records it does keep: metrics/request_level_metrics.jsonl (every
 * request's times at the file's 10 µs resolution, its token counts and its inter-chunk gaps) and, when
 * present, traces/dispatch_trace.jsonl (the session structure of every dispatched request). The records
 * are rebuilt and fed to an evaluator in time order, which then writes every file as usual
 * (docs/METRICS.md, Re-evaluating a run). Exact for everything the rows hold; latencies carry the rows'
 * 5-decimal rounding, and chunk token counts are not kept by the rows (each chunk counts as one token
 * for the inter-token latency). */
#include <stddef.h>
#include <stdint.h>

#include "metrics/evaluator.h"

struct eval_rows_stats {
	uint64_t rows, failed_rows, registrations;
	uint64_t cancelled; /* registered requests of ours without a row: cancelled by the benchmark */
	double end_s;       /* the latest time in the rows (relative to the run start) */
};

/* Feeds e (created with bench start base_ns) from run_dir's rows and dispatch trace. window (NULL:
 * none) leaves out the requests outside it by the rules of eval_replay_set_window (dispatch rank and
 * time; the end is the latest time in the files) and sets window->excluded_requests. 0, or -1 with
 * err naming the file and line. */
int eval_rows_replay(struct evaluator *e, const char *run_dir, int64_t base_ns, struct eval_window_info *window,
                     struct eval_rows_stats *st, char *err, size_t err_len);

#endif
