#ifndef VK_METRICS_EVALUATOR_H
#define VK_METRICS_EVALUATOR_H
/* The performance evaluator: turns per-request records into the files of <run>/metrics/
 * (docs/OUTPUTS.md, docs/METRICS.md), the dispatch trace and health_check_results.txt.
 *
 * Single-threaded: every call comes from the runner's loop thread. Sketches stay mergeable
 * (core/sketch.h) for a future multi-worker split. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config/config_types.h"
#include "client/record.h"
#include "workload/request.h"

struct evaluator;

/* The measurement window a replay applied (docs/METRICS.md, Measurement window): named in
 * summary_stats.json ("measurement_window") and the console summary. */
struct eval_window_info {
	double warmup_s, cooldown_s;
	int64_t warmup_requests, cooldown_requests;
	uint64_t excluded_requests; /* dispatched outside the window */
};
/* Client saturation (docs/METRICS.md, Client saturation): the runner reports the share of the run's
 * 250 ms ticks in which its loop was busier than runtime.saturation_busy_fraction; eval_finalize adds
 * the dispatch lateness p99. Saturated when more than EVAL_SATURATION_BUSY_SHARE of the ticks were
 * busy or the lateness p99 exceeds runtime.saturation_lateness_p99_ms (why: the figures). */
#define EVAL_SATURATION_BUSY_SHARE 0.1
bool eval_saturation_decide(double busy_tick_share, double lateness_p99_ms, const struct cfg_runtime *rt, char *why,
                            size_t why_len);
void eval_set_client_load(struct evaluator *e, double busy_tick_share);  /* before eval_finalize */
bool eval_client_saturated(const struct evaluator *e, const char **why); /* after eval_finalize */
/* The exact dispatch lateness (dispatched - intended) of this evaluator's requests, in ms, after
 * eval_finalize; NAN when no request had an intended time. */
void eval_dispatch_lateness_ms(const struct evaluator *e, double *p50, double *p99, double *p999);

/* True when the performance evaluator of cfg has a window; *w receives it (excluded_requests 0). */
bool eval_window_configured(const struct cfg_benchmark *cfg, struct eval_window_info *w);

struct eval_live {
	uint64_t requests;  /* registered (dispatched) */
	uint64_t completed; /* successful, included */
	uint64_t errors;
	uint64_t sessions;             /* seen */
	double ttfc_p50_s, ttfc_p99_s; /* 0 when no data */
	double tbc_p90_s;              /* 0 when no data */
	double output_tokens_per_s;    /* output tokens of completed requests / time since start */
	uint64_t output_tokens;        /* output tokens of completed requests */
};

/* run_dir must exist or be creatable; <run_dir>/metrics (and traces/ when the trace recorder is
 * enabled) are created. bench_start_ns: CLOCK_MONOTONIC start of the benchmark (times in files
 * are relative to it). tokenizer_name may be NULL. Returns NULL on I/O failure (logged). */
struct evaluator *eval_create(const struct cfg_benchmark *cfg, const char *run_dir, int64_t bench_start_ns,
                              const char *tokenizer_name);
/* The same, for a run rebuilt from event logs (veeksha merge, evaluate): request_level_metrics.jsonl
 * and traces/dispatch_trace.jsonl are written at <file>.part and replace the files only at
 * eval_commit_staged, so a replay that stops on a bad log line leaves an earlier run's files as they
 * were (eval_free removes the parts). */
struct evaluator *eval_create_staged(const struct cfg_benchmark *cfg, const char *run_dir, int64_t bench_start_ns,
                                     const char *tokenizer_name);
/* The staged files replace the run's: call once the replay has read every record. 0, or -1 (logged). */
int eval_commit_staged(struct evaluator *e);
/* Move the benchmark's start (files and spills are set up by eval_create before the clock starts,
 * so their set-up does not delay the first dispatch). Call before any request is registered. */
void eval_set_start(struct evaluator *e, int64_t bench_start_ns);
/* A request was dispatched. Also writes the dispatch trace line when the recorder is enabled. */
void eval_register_request(struct evaluator *e, const struct wl_request *req, uint32_t session_total_requests,
                           int64_t intended_ns, int64_t dispatched_ns);
/* A request finished (success or error). included=false: dispatched after the benchmark timeout;
 * not in metrics, counted in "Number of Post-Timeout Requests". The row of an included request
 * is appended to request_level_metrics.jsonl in a batch that eval_tick writes out (below). */
void eval_record_completed(struct evaluator *e, const struct rec_record *rec, bool included);
/* The scheduler cancelled a session; n_requests_dropped of its requests will never be sent. */
void eval_session_cancelled(struct evaluator *e, uint64_t session_id, uint32_t n_requests_dropped);
/* The same at a given time (the event log's time of the call; eval_session_cancelled uses now). */
void eval_session_cancelled_at(struct evaluator *e, uint64_t session_id, uint32_t n_requests_dropped, int64_t now_ns);
#define EVAL_JSONL_FLUSH_NS 50000000LL
/* Periodic: flushes the dispatch trace and the pending rows of request_level_metrics.jsonl once the
 * oldest is EVAL_JSONL_FLUSH_NS old (call it at least that often, so that no row stays unflushed
 * much longer); with stream_metrics, rewrites summary_stats.json and the CSVs every
 * stream_metrics_interval seconds (when something changed). */
void eval_tick(struct evaluator *e, int64_t now_ns);
void eval_live_stats(const struct evaluator *e, struct eval_live *out);
/* How the run ended (summary_stats.json "run_status", docs/FAILURES.md): complete (the workload or the
 * benchmark_timeout ended it), truncated (the session generator, a dispatch or the managed server
 * failed: the workload was not fully measured) or interrupted (a signal). */
enum eval_run_status { EVAL_RUN_COMPLETE = 0, EVAL_RUN_TRUNCATED, EVAL_RUN_INTERRUPTED };
const char *eval_run_status_name(enum eval_run_status status); /* "complete", "truncated", "interrupted" */
/* Set before eval_finalize; reason (may be NULL) says what cut the run short. A truncated or interrupted
 * run never has all_slos_met true. */
void eval_set_run_status(struct evaluator *e, enum eval_run_status status, const char *reason);
/* Before eval_finalize: the window the registered requests were filtered by (eval_replay_set_window). */
void eval_set_window(struct evaluator *e, const struct eval_window_info *w);
/* The window's rule, for every replay (docs/METRICS.md, Measurement window): the request ranked `rank`
 * of n by dispatch time, dispatched at t_s seconds into a run that ended at end_s, is outside w. */
bool eval_window_excludes(const struct eval_window_info *w, size_t rank, size_t n, double t_s, double end_s);
/* Writes every file. Returns 1 if the verdict is met (every SLO, the error-rate objective and a complete
 * run), 0 if not, -1 on I/O error (an output could not be written). */
int eval_finalize(struct evaluator *e, int64_t end_ns);
/* End-of-run table with units (after eval_finalize). */
void eval_print_summary(const struct evaluator *e, FILE *out);
void eval_free(struct evaluator *e);

#endif
