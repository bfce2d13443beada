#ifndef VK_METRICS_EVAL_LOG_H
#define VK_METRICS_EVAL_LOG_H
/* The evaluator's event log and its replay (docs/MERGE.md).
 *
 * The evaluator is driven only by its input calls (eval_register_request, eval_record_completed,
 * eval_session_cancelled, eval_set_run_status, eval_finalize). With the log enabled, each call also
 * appends one JSON line holding everything the evaluator reads from it, losslessly (times as
 * integer nanoseconds relative to the benchmark start, doubles with 17 significant digits), to
 * <shard dir>/metrics/eval_events.jsonl. Replaying a log into a fresh evaluator makes the same
 * calls again and so writes the same files; replaying the logs of N shards merged by time gives
 * the files of one run over all of their records: the merge is exact because it is a replay of
 * raw records, never a combination of summaries. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "metrics/evaluator.h"
#include "client/record.h"
#include "workload/request.h"

#define EVAL_LOG_FORMAT 1
#define EVAL_LOG_FILE "eval_events.jsonl" /* in <run>/metrics/ */

struct eval_shard_info {
	uint32_t index, count;  /* shard index of count (0 of 1: an unsharded run) */
	const char *host;       /* NULL: gethostname() */
	int64_t start_epoch_ns; /* the agreed start (CLOCK_REALTIME ns); 0: none (the measured start is used) */
};

/* Start the event log of e at path (created or truncated) and write its header line. Call after
 * eval_set_start and before the first input call. 0, or -1 with err set. When the log is not enabled
 * every input call pays one branch. */
int eval_log_enable(struct evaluator *e, const char *path, const struct eval_shard_info *info, char *err,
                    size_t err_len);

/* ---- reading ---- */

/* A time that was not recorded (0 in the evaluator's input). */
#define EVAL_LOG_NO_TIME INT64_MIN

struct eval_log_header {
	uint32_t index, count;
	char host[256];
	int64_t pid;
	char clock[32];
	int64_t start_epoch_ns;    /* the start the shard was given (or measured, when none was) */
	int64_t start_realtime_ns; /* this host's CLOCK_REALTIME at its start, as measured */
	char version[64];
	char tokenizer[256];
};

enum eval_ev_kind { EVAL_EV_REG = 1, EVAL_EV_DONE, EVAL_EV_CANCEL, EVAL_EV_STATUS, EVAL_EV_END };

/* One event. Times (t_ns, the registration's times, the record's times and chunk times) are
 * relative to the shard's start; EVAL_LOG_NO_TIME when absent. Strings and arrays are owned by the
 * event (eval_ev_clear). */
struct eval_ev {
	enum eval_ev_kind kind;
	int64_t t_ns;   /* when the call happened (orders the merge) */
	size_t line_no; /* in its file */
	/* EVAL_EV_REG */
	struct wl_request req;
	uint32_t session_size;
	int64_t intended_ns, dispatched_ns;
	/* EVAL_EV_DONE */
	struct rec_record rec;
	bool included;
	/* EVAL_EV_CANCEL */
	uint64_t session_id;
	uint32_t dropped;
	/* EVAL_EV_STATUS, EVAL_EV_END */
	enum eval_run_status status;
	char reason[256];
};
void eval_ev_clear(struct eval_ev *ev);

struct eval_log_reader;
/* Opens the file and reads its header line. NULL with err ("<path>:1: ...") on failure. */
struct eval_log_reader *eval_log_reader_open(const char *path, char *err, size_t err_len);
/* The same over a stream (not closed by the reader); name is used in messages. */
struct eval_log_reader *eval_log_reader_open_stream(FILE *f, const char *name, char *err, size_t err_len);
const struct eval_log_header *eval_log_reader_header(const struct eval_log_reader *r);
/* 1: *ev holds the next event (cleared first); 0: end of file; -1: a bad line
 * (eval_log_reader_error: "<name>:<line>: ..."); errors are sticky. A last line without its newline
 * (a shard killed while writing) is not an event: it is skipped and eval_log_reader_tail_cut says so. */
int eval_log_reader_next(struct eval_log_reader *r, struct eval_ev *ev);
const char *eval_log_reader_error(const struct eval_log_reader *r);
bool eval_log_reader_tail_cut(const struct eval_log_reader *r);
void eval_log_reader_close(struct eval_log_reader *r);

/* ---- replay and merge ---- */

/* What one shard's log held (metrics/shards.json). */
struct eval_replay_stats {
	uint64_t dispatched;                     /* registrations */
	uint64_t completed;                      /* successful, included */
	uint64_t errors;                         /* failed, included, not cancelled */
	uint64_t cancelled;                      /* cancelled requests (records and dropped) */
	uint64_t post_timeout;                   /* records after the benchmark timeout */
	double lateness_p50_ms, lateness_p99_ms; /* dispatched - intended of the registrations; NAN: none */
	bool has_end;                            /* the log ends with the end record (eval_finalize ran) */
	bool tail_cut;                           /* its last line was incomplete and was skipped */
	enum eval_run_status status;             /* the end record's (or the last status event's without one) */
	char reason[256];
	int64_t end_ns; /* relative: the end record's time, else the last event's */
};

struct eval_replay;
/* Open the logs (reading their headers). NULL with err on failure. */
struct eval_replay *eval_replay_open(const char *const *paths, size_t n, char *err, size_t err_len);
size_t eval_replay_count(const struct eval_replay *rp);
const struct eval_log_header *eval_replay_header(const struct eval_replay *rp, size_t i);
/* Replay every event into e (created by the caller with bench start base_ns > 0 and not yet fed):
 * the shards' events merged by time, each shard's own order kept, ties to the lower shard position
 * in paths; shard times are relative to each shard's own start and all starts map to base_ns.
 * Status events are not applied (eval_replay_finish combines them). 0, or -1 with err naming file:line. */
int eval_replay_run(struct eval_replay *rp, struct evaluator *e, int64_t base_ns, char *err, size_t err_len);
const struct eval_replay_stats *eval_replay_stats(const struct eval_replay *rp, size_t i);
/* Set the merged run status and finalize e at the latest shard end (base_ns + max end_ns); returns
 * eval_finalize's result. The status is the worst of the shards' (truncated > interrupted > complete;
 * a log without its end record counts as truncated) and of extra_status (e.g. a missing shard, with
 * extra_reason). The replay of one log without extra_reason keeps its reason as is (the shard's own
 * files again); otherwise each reason is
 * prefixed by "shard K of N: " and the reasons of the shards with the worst status are joined by "; ". */
/* Leave out of the replay the requests outside the measurement window w (docs/METRICS.md, Measurement
 * window): by dispatch time (the first w->warmup_s seconds, the last w->cooldown_s before the latest
 * event) and by dispatch rank over all shards (the first warmup_requests, the last cooldown_requests).
 * Their registrations and records are skipped, and the cancellations of sessions left with no request.
 * Reads the logs once more; sets w->excluded_requests. Call before eval_replay_run. 0, or -1 with err. */
int eval_replay_set_window(struct eval_replay *rp, struct eval_window_info *w, char *err, size_t err_len);
int eval_replay_finish(struct eval_replay *rp, struct evaluator *e, int64_t base_ns, enum eval_run_status extra_status,
                       const char *extra_reason);
void eval_replay_free(struct eval_replay *rp);

#endif
