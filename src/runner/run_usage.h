#ifndef VK_RUNNER_RUN_USAGE_H
#define VK_RUNNER_RUN_USAGE_H
/* The client's own resource use, so every run can say whether the client kept up.
 *
 * The runner marks the start of the measured run, its end (traffic drained or stopped) and the end
 * of writing the outputs. run_usage_write() then writes <run_dir>/metrics/client_usage.json (CPU of
 * the event-loop thread and of the whole process during the run, per request and per 1,000 output
 * tokens; CPU and wall time of writing the outputs; peak RSS) and warns when the event-loop thread
 * was busy for more than RUN_USAGE_BUSY_WARN of the run: the offered load and every timestamp then
 * depend on the client, not only on the server. docs/OUTPUTS.md describes the file. */
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#define RUN_USAGE_BUSY_WARN 0.8

struct run_usage {
	int64_t start_ns, run_end_ns, done_ns;
	struct rusage self_start, self_run_end, self_done;
	struct rusage loop_start, loop_run_end;  /* RUSAGE_THREAD of the loop (calling) thread */
	int64_t run_end_rss_kb;                  /* resident set when the run ended (before outputs) */
	int64_t loop_spin_ns;                    /* loop time polling before dispatches (ev_spin_ns) */
	uint64_t polls_skipped;                  /* libcurl polls answered without a syscall (client_pollskip) */
	uint64_t prepared_ahead, ahead_replaced; /* client_ahead_stats */
	uint64_t reads_stamped;                  /* read callbacks with a kernel receive stamp */
	int64_t read_lag_p50_ns, read_lag_p99_ns, read_lag_max_ns; /* client_read_lag */
	double tbc_p90_s;                                          /* the run's TBC p90: the usual gap (0: none) */
	uint64_t reads_lagging_tbc;                                /* stamped reads that waited at least tbc_p90_s */
	double busy_tick_share; /* share of 250 ms ticks with the loop busier than the threshold */
	int saturated;          /* the evaluator's client_saturated: 1 or 0 */
	/* the dispatch spin (run_usage_set_spin; all 0 when it was off) */
	bool spin_auto;
	int64_t spin_max_ns, spin_window_ns, spin_busy_ns;
	int64_t wake_short_p50_ns, wake_short_p999_ns, wake_long_p50_ns, wake_long_p999_ns; /* -1: no samples */
	uint64_t wake_short_samples, wake_long_samples;
	double spin_poll_tick_share; /* ticks in which the loop polled instead of napping */
	double lateness_p50_ms, lateness_p99_ms, lateness_p999_ms; /* exact dispatch lateness; NAN: none */
};

struct wake_calib;
/* Keeps the loop's spin calibration (ev_spin_calib; NULL: the spin was off) for the report. */
void run_usage_set_spin(struct run_usage *u, const struct wake_calib *c);

void run_usage_begin(struct run_usage *u);
void run_usage_run_end(struct run_usage *u);
void run_usage_done(struct run_usage *u);
/* Writes metrics/client_usage.json and warns when the loop was too busy. Returns 0 or -1. */
int run_usage_write(const struct run_usage *u, const char *run_dir, uint64_t requests, uint64_t output_tokens);
/* Whether some chunk stamps may be their successor's arrival: at least RUN_USAGE_STAMP_LATE_SHARE
 * of the stamped reads waited in their socket as long as the run's TBC p90 (only when that is at
 * least RUN_USAGE_STAMP_TBC_MIN_S: below it the server sends chunks together anyway). The p90,
 * not the median: a client far behind reads most chunks in pairs, which makes most TBCs 0 and
 * would hide the very problem. */
#define RUN_USAGE_STAMP_TBC_MIN_S 0.001
#define RUN_USAGE_STAMP_LATE_SHARE 0.001
int run_usage_stamps_may_be_late(const struct run_usage *u);
/* Loop-thread CPU, less the spin before dispatches, / wall time of the run (0 when the run had no
 * duration). */
double run_usage_loop_busy(const struct run_usage *u);

#endif
