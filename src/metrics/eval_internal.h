#ifndef VK_METRICS_EVAL_INTERNAL_H
#define VK_METRICS_EVAL_INTERNAL_H
/* Evaluator state shared by the evaluator's source files (not a public interface). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/spill.h"
#include "core/u64map.h"
#include "metrics/evaluator.h"
#include "core/sketch.h"

#define EVAL_N_SERIES 16
/* The series every run writes (summary keys, CSVs, plots); the reasoning series after them only for a
 * run in which some request had reasoning (docs/METRICS.md, Reasoning). */
#define EVAL_N_BASE_SERIES 12
enum eval_series {
	ES_NUM_PROMPT_TOKENS = 0,
	ES_NUM_OUTPUT_TOKENS,
	ES_NUM_TOTAL_TOKENS,
	ES_TPOT,
	ES_TTFC,
	ES_TBC,
	ES_E2E,
	ES_NORM_E2E,
	ES_OUTPUT_THROUGHPUT,
	ES_SESSION_SIZE,
	ES_SESSION_DURATION,
	ES_SESSION_THINK_TIME,
	ES_TTFO,                 /* time to first output (answer) token: every successful row */
	ES_REASONING_DURATION,   /* first to last reasoning chunk: rows with reasoning chunks */
	ES_NUM_REASONING_TOKENS, /* every successful row (0 without reasoning) */
	ES_NUM_ANSWER_TOKENS     /* every successful row (= output tokens without reasoning) */
};

struct eval_series_info {
	const char *key;     /* file stem and metric key */
	const char *display; /* display name (CSV header, summary keys) */
	const char *unit;    /* axis unit or NULL */
	bool is_int;         /* integer samples (CSV prints ints) */
};
extern const struct eval_series_info eval_series_infos[EVAL_N_SERIES];

struct dvec {
	double *v;
	size_t n, cap;
};
void dvec_push(struct dvec *d, double x);
void dvec_free(struct dvec *d);
/* A request cancelled in flight, in seconds since it was sent: when it was cancelled, its first
 * chunk and first answer chunk (NAN: none yet) and its last chunk (NAN: none). */
struct eval_cut {
	double age_s, first_s, first_answer_s, last_s;
};
/* A read-only array of doubles (a mapped spill). */
struct dview {
	const double *v;
	size_t n;
};

/* One successful, included request (a line of request_level_metrics.jsonl). */
struct eval_row {
	uint64_t request_id, session_id;
	uint32_t node_id, session_total_requests;
	int64_t intended_ns, dispatched_ns, sent_ns, headers_ns, completed_ns, processed_ns;
	double ready_s, dispatched_s, picked_s, completed_s, processed_s; /* rounded, relative */
	int64_t num_delta_prompt_tokens, num_total_prompt_tokens, target_prompt_tokens;
	int64_t num_output_tokens, requested_output_tokens, num_total_tokens;
	bool is_stream;
	double tpot, ttfc, e2e, norm_e2e, output_throughput; /* raw (unrounded) seconds */
	double itl;                                          /* mean inter-token latency after the first chunk */
	/* reasoning (docs/METRICS.md, Reasoning); without reasoning ttfo = ttfc, answer = output tokens */
	bool has_reasoning, has_ttfo, has_reasoning_duration; /* has_ttfo false: the answer never started */
	double ttfo, reasoning_duration;                      /* raw seconds */
	int64_t num_reasoning_tokens, num_answer_tokens;
	size_t tbc_off, n_tbc; /* raw gaps in e->tbc_all */
	bool meets_slos;
};

/* What completion needs of a registration, kept from dispatch to completion. */
struct eval_inflight {
	uint64_t request_id;
	uint32_t node_id;
	int64_t intended_ns, dispatched_ns;
};

/* Registration of a dispatched request (dispatch trace + health checks). */
struct eval_reg {
	uint64_t request_id, session_id;
	uint32_t node_id, session_size;
	double wait_after_ready_s;
	uint64_t parents_off; /* into e->parents_all */
	uint32_t n_parents;
	int64_t intended_ns, dispatched_ns;
};

enum eval_session_state { SESS_OPEN = 0, SESS_SUCCESS, SESS_ERRORED, SESS_CANCELLED, SESS_INCOMPLETE };

struct eval_session {
	uint64_t id;
	uint32_t total_requests;
	uint32_t observed, errors, successes, dropped;
	int64_t first_dispatch_ns, last_completion_ns;
	bool has_completion, cancelled;
	bool live; /* an open session's pool slot is in use */
	enum eval_session_state state;
};

struct eval_errcode {
	int code;
	uint64_t count;
};

/* A distinct error (class, code, message) and how often it occurred. The table is capped
 * (EVAL_MAX_ERRMSGS): a server that puts a request id in every message must not grow it without
 * bound. When it is full, a new message takes the slot of the least frequent one ("space saving":
 * any message behind more than 1/EVAL_MAX_ERRMSGS of the errors keeps a slot) and inherits its count
 * as `overcount`; count - overcount is how often the message certainly occurred, which is what
 * eval_sorted_errors reports. */
#define EVAL_MAX_ERRMSGS 64
#define EVAL_TOP_ERRORS 5
struct eval_errmsg {
	enum rec_error kind;
	int code;
	uint64_t count, overcount;
	char msg[256];
};

/* A JSONL output (request_level_metrics.jsonl, the dispatch trace) written in whole lines: lines are
 * collected in memory and written with write(); a write that fails part-way is cut back to the last
 * complete line (ftruncate), so the file always parses line by line. After a failure the file takes no
 * further lines (they are counted as dropped) and the failure is reported once, with its reason. */
struct eval_linefile {
	const char *name; /* for messages */
	int fd;           /* -1: not open */
	struct buf pending;
	size_t n_pending;   /* lines in pending */
	int64_t good_bytes; /* file length after the last complete write */
	bool failed;
	int err;                /* errno of the failure */
	uint64_t lines_dropped; /* lines not written because of the failure */
	/* staged (eval_lf_open_staged): written at part, renamed to path by eval_lf_commit; NULL when
	 * written in place */
	char *path, *part;
};
/* 0, or -1 with errno set */
int eval_lf_open(struct eval_linefile *f, const char *path, const char *name);
/* The same, written at <path>.part until eval_lf_commit; closed uncommitted, the part is removed and
 * a file already at path stays as it was. */
int eval_lf_open_staged(struct eval_linefile *f, const char *path, const char *name);
/* A staged file replaces path (a no-op for one written in place, or not open). 0, or -1 (logged). */
int eval_lf_commit(struct eval_linefile *f);
/* line: one whole line, ending in '\n'. Writes out when the pending lines pass 256 KiB. */
void eval_lf_append(struct eval_linefile *f, const char *line, size_t len);
/* Write the pending lines. 0, or -1 if this or an earlier write failed. */
int eval_lf_flush(struct eval_linefile *f);
bool eval_lf_is_open(const struct eval_linefile *f);
void eval_lf_close(struct eval_linefile *f);

struct eval_log;

struct evaluator {
	const struct cfg_benchmark *cfg;
	const struct cfg_evaluator *ecfg; /* performance evaluator config or NULL */
	char *run_dir, *metrics_dir, *traces_dir;
	char *tokenizer_name;
	int64_t bench_start_ns, end_ns, last_stream_ns;
	bool dirty, finalized;
	/* chrome_trace.json's bytes written with O_DIRECT, and what the last cached window cost per MB
	 * (core/fsstream); VK_OUTPUT_TIMING prints them */
	int64_t trace_direct_bytes, trace_cached_ns_per_mb;

	struct sketch sk[EVAL_N_SERIES];

	/* Everything kept per request for the end-of-run statistics goes to spill files (core/spill.h),
	 * so memory stays flat however many requests the run has. eval_finalize maps them back: the
	 * views below (rows, regs, parents_all, sessions, raw, tbc_all, reg_by_id, sess_by_id) are only
	 * valid after eval_views_open(), i.e. in eval_finalize and the writers it calls. During the run,
	 * n_rows / n_regs / n_sessions / tbc_total count what was spilled. */
	struct spill rows_sp, regs_sp, parents_sp, sessions_sp, tbc_sp, raw_sp[EVAL_N_SERIES];
	bool views_open;
	/* the views' pages stay resident between the writers when they are small (below
	 * EVAL_VIEWS_KEEP_BYTES): dropping them cost more than it saved (each writer faulted them back) */
	bool views_kept;
	struct dview raw[EVAL_N_SERIES];
	struct dview tbc_all; /* raw gaps of every row (rows index into it) */
	/* each raw series sorted once at the end (eval_sorted_series) for its CSV, throughput_metrics.json
	 * and its plot, instead of a copy sorted by each of them */
	double *sorted[EVAL_N_SERIES];
	const struct eval_row *rows;
	size_t n_rows;
	const struct eval_reg *regs;
	size_t n_regs;
	const uint32_t *parents_all;
	size_t n_parents_all;
	const struct eval_session *sessions; /* every session (finished ones, in order of finishing) */
	size_t n_sessions;                   /* sessions seen (open + finished) */
	struct u64map reg_by_id;             /* request id -> regs index (views) */
	struct u64map sess_by_id;            /* session id -> sessions index (views) */

	/* during the run */
	struct dvec tbc_cur;            /* gaps of the row being completed */
	size_t tbc_total;               /* gaps spilled so far */
	struct eval_inflight *inflight; /* registrations awaiting their completion */
	size_t cap_inflight, *inflight_free, n_inflight_free;
	struct u64map inflight_by_id; /* request id -> inflight slot */
	struct eval_session *open;    /* open sessions (pool slots; live = in use) */
	size_t cap_open, *open_free, n_open_free;
	struct u64map open_by_id;                 /* session id -> open slot */
	uint64_t n_finished_state[5];             /* finished sessions per state */
	int64_t fin_first_lo_ns, fin_first_hi_ns; /* first dispatch range of finished sessions */

	uint64_t n_requests, n_errored, n_completed, n_cancelled, n_post_timeout, n_dropped;
	/* requests cancelled while in flight (signal, grace period over): how long each had waited, so
	 * that an objective it had certainly missed already counts it (eval_compute_slos) */
	struct eval_cut *cut;
	size_t n_cut, cap_cut;
	uint64_t n_good;      /* completed requests meeting every SLO */
	uint64_t n_reasoning; /* completed requests with reasoning: the reasoning outputs exist when > 0 */
	uint64_t output_tokens_total;
	struct eval_errcode *errcodes;
	size_t n_errcodes;
	uint64_t n_class[REC_ERR_N_KINDS]; /* errored (included) requests per class */
	struct eval_errmsg errmsgs[EVAL_MAX_ERRMSGS];
	size_t n_errmsgs;

	enum eval_run_status run_status;
	char run_status_reason[256];
	bool window_set;
	struct eval_window_info window;
	/* the measured requests' span: earliest dispatch, latest end (completion, failure or
	 * cancellation); with a window, the rates are per second of it (eval_rate_span_s) */
	int64_t meas_first_dispatch_ns, meas_last_end_ns;
	/* client saturation (eval_saturation.c) */
	double busy_tick_share, lateness_p99_ms;
	double lateness_p50_ms, lateness_p999_ms; /* (for client_usage.json) */
	bool client_saturated;
	char saturation_why[256];
	char **verdict_reasons; /* why the verdict failed (slo_results.json, console) */
	size_t n_verdict_reasons;
	bool warned_stream_write; /* a periodic rewrite failed (reported once) */

	struct eval_linefile jsonl;     /* request_level_metrics.jsonl */
	struct eval_linefile trace;     /* traces/dispatch_trace.jsonl (fd -1 when the recorder is off) */
	size_t trace_pending;           /* lines since the last flush */
	size_t jsonl_pending;           /* request_level_metrics.jsonl rows since the last flush */
	int64_t jsonl_pending_since_ns; /* when the oldest unflushed row was written */
	struct buf line;                /* scratch */

	struct eval_log *log; /* the event log (eval_log.c), NULL when not enabled */
	struct spill ts_sp;   /* eval_timeseries.c: how each request ended (opened on first use) */

	int slo_all_met; /* result of the last SLO evaluation */
	struct eval_slo_result *slo_results;
	size_t n_slo_results;
};

struct eval_slo_result {
	char key[64];
	const char *metric;
	char *name;
	double percentile, threshold, observed;
	bool met;
	bool not_applicable; /* a TBC (TPOT) objective over runs whose answers had no gaps (no streamed
	                      * answer of two tokens): met, observed null */
	bool is_rate;        /* the error-rate objective: no percentile */
	bool no_data;        /* no request delivered a value (observed +inf) */
};

/* evaluator.c */
/* Map the spilled per-request data back (idempotent); eval_finalize calls it. */
void eval_views_open(struct evaluator *e);
double eval_rel_s(const struct evaluator *e, int64_t t_ns); /* max(0, t - start) rounded to 5 dp */
int eval_write_summary(struct evaluator *e);
/* <metrics_dir>/name, atomically (tmp + rename); reports a failure with its reason. 0 or -1. */
int eval_write_output(struct evaluator *e, const char *name, const struct buf *b);
/* final: each series' CDF plot too (between eval_plots_begin and eval_write_plots) */
int eval_write_csvs(struct evaluator *e, bool final);
/* raw[s] sorted ascending (raw[s].n values; NULL when empty), computed on first use and kept until
 * eval_sorted_release(e, s) (eval_finalize releases all after the plots) */
const double *eval_sorted_series(struct evaluator *e, int s);
void eval_sorted_release(struct evaluator *e, int s); /* s < 0: every series */
/* eval_files.c */
int eval_write_throughput(struct evaluator *e);
int eval_write_prefill(struct evaluator *e);
int eval_write_chrome_trace(struct evaluator *e);
/* fills slo_results (the configured SLOs, then the error-rate objective) and verdict_reasons; returns
 * 1 when the verdict is met (every objective, and the run was complete) */
int eval_compute_slos(struct evaluator *e);
/* the error table with certain counts (count - overcount, in count; overcount 0), most frequent
 * first, ties in table order; caller frees */
struct eval_errmsg *eval_sorted_errors(const struct evaluator *e);
int eval_write_slos(struct evaluator *e);
/* gaps: the row's r->n_tbc gaps */
bool eval_row_meets_slos(const struct evaluator *e, const struct eval_row *r, const double *gaps);
/* Whether a successful row measured a time per output token: a streamed answer of two tokens or
 * more. A one-token answer has no decode and a non-streamed one arrives whole, so their TPOT of 0 is
 * no measurement and stays out of TPOT objectives (docs/FAILURES.md, The verdict). */
static inline bool eval_row_has_tpot(const struct eval_row *r)
{
	return r->is_stream && r->num_output_tokens > 1;
}
int eval_write_decode_window(struct evaluator *e);
/* eval_window.c */
struct dw_seg {
	double start, end;
};
/* Decode windows; returns the number of selected segments (caller frees *sel). */
size_t eval_decode_windows(const struct evaluator *e, struct dw_seg **sel, size_t *n_candidates, int64_t *threshold,
                           size_t skipped[4], size_t *eligible);
/* eval_health.c */
int eval_write_health(struct evaluator *e);
/* eval_log.c: the event log's lines, one per input call, each called (when e->log) from the call
 * it is named after; processed_ns is the record's processing time as the evaluator uses it */
void eval_log_register(struct evaluator *e, const struct wl_request *req, uint32_t session_size, int64_t intended_ns,
                       int64_t dispatched_ns);
void eval_log_completed(struct evaluator *e, const struct rec_record *rec, int64_t processed_ns, bool included);
void eval_log_cancelled(struct evaluator *e, uint64_t session_id, uint32_t dropped, int64_t now_ns);
void eval_log_status(struct evaluator *e);
int eval_log_end(struct evaluator *e); /* the end record and a flush: 0, or -1 if the file failed */
void eval_log_flush(struct evaluator *e);
void eval_log_free(struct evaluator *e);
/* A sequential scan of the rows drops the pages of the rows it has passed every 64k rows
 * (file-backed map only; they are read back from the page cache if needed again): the resident set
 * of a writer stays its own allocations instead of all the rows (280 bytes each). */
void eval_rows_drop_before(const struct evaluator *e, size_t i);
/* every spill's mapped pages out of the resident set (between writers; core/spill.h), unless the
 * views are small (views_kept) */
void eval_views_drop(struct evaluator *e);
#define EVAL_VIEWS_KEEP_BYTES ((size_t)128 << 20)
static inline void eval_rows_scanned(const struct evaluator *e, size_t i)
{
	if ((i & 0xffff) == 0xffff)
		eval_rows_drop_before(e, i + 1);
}
/* eval_plots.c: eval_plots_begin() opens the run's gnuplot batch, eval_plot_series() writes one
 * series' CDF plot(s) (its .dat/.gp, queued), eval_write_plots() the other plots and starts
 * gnuplot on the batch (output/plot.h: rendered in the background) */
void eval_plots_begin(void);
void eval_plot_series(struct evaluator *e, int s);
void eval_write_plots(struct evaluator *e);
/* eval_timeseries.c (docs/OBSERVABILITY.md, Time series): called from eval_record_completed with
 * the request's registration (NULL: none); writes timeseries.csv and .png at eval_finalize */
void eval_ts_note_end(struct evaluator *e, const struct rec_record *rec, const struct eval_inflight *reg,
                      bool included);
int eval_write_timeseries(struct evaluator *e);

/* eval_saturation.c: the verdict at finalize (registrations mapped), and its summary keys */
struct jsonw;
void eval_check_saturation(struct evaluator *e);
void eval_write_saturation_keys(const struct evaluator *e, struct jsonw *w);

#endif
