#ifndef VK_RUNNER_SWEEP_JOB_H
#define VK_RUNNER_SWEEP_JOB_H
/* A sweep run as a Slurm job array (docs/SLURM.md).
 *
 * `veeksha benchmark --launcher slurm` creates the sweep directory as a local sweep would, and in it:
 *   sweep_job.json       launcher, the job id, the submitting directory and command, and per point its
 *                        index in the expansion, its config snapshot and that snapshot's sha1;
 *   points/<i>.yml       point i's resolved config (secrets redacted; what its config.yml will be);
 *   sweep.sbatch         the batch script: array task k runs point points[k] with
 *                        `veeksha benchmark <same arguments> --sweep-point I --sweep-dir DIR`;
 *   slurm/task-<k>.out   the tasks' stdout and stderr (written by Slurm);
 *   sweep_manifest.json  as a local sweep's, with no run directories yet;
 * and submits it with one `sbatch --array=0-(P-1)`. Each task records its progress in
 * points/<i>.json ({"state": "running"|"done"|"failed", "run_dir": <name in DIR>, "exit_code", host,
 * Slurm ids, times}); `veeksha sweep status|collect DIR` read those files. */
#include <stdbool.h>
#include <stddef.h>

#include "config/config_types.h"

/* What a job array runs: benchmark runs of a sweep, or capacity searches (src/meta/meta_capacity.c). */
struct sweep_job_items {
	const char *what;       /* "runs", "capacity searches": for messages */
	const char *output_dir; /* the sweep directory is created under it (submission only) */
	const void *items;      /* the expansion */
	/* item i's resolved config (secrets redacted) with output_dir = sweep_dir_abs: the snapshot that
	 * points/<i>.yml holds and the task checks itself against. xmalloc'd. */
	char *(*yaml)(const void *items, size_t i, const char *sweep_dir_abs, size_t *len);
	/* files the sweep directory starts with (may be NULL) */
	int (*init)(const char *sweep_dir, const void *items, const size_t *idx, size_t n);
};

/* Submits items idx[0..n) as one job array (layout above). 0, or 1 after a message. */
int sweep_job_submit_items(const struct sweep_job_items *it, const size_t *idx, size_t n,
                           const struct cfg_run_opts *opts);

/* A task's point (--sweep-point of an expansion of n items into --sweep-dir): checks it against the
 * submission, records it running. 0 with the sweep dir's absolute path in abs (PATH_MAX bytes) and
 * the start time in started (32 bytes), or the exit code (2) after a message. */
int sweep_job_point_begin(const struct sweep_job_items *it, size_t n, const struct cfg_run_opts *opts, char *abs,
                          char *started);
/* Records the point's end (done when exit_code is 0, else failed) and its run/search directory. */
void sweep_job_point_end(const char *abs, long index, const char *run_dir, int exit_code, const char *started);
/* A managed server of a task listens on a port free on its node (tasks share nodes). */
void sweep_job_server_port(struct cfg_server *server, long index);

/* --launcher slurm: submit the runs items[idx[0..n)] (one output_dir group) as one job array. */
int sweep_job_submit(const struct cfg_benchmark *items, const size_t *idx, size_t n, const struct cfg_run_opts *opts);

/* --sweep-point I --sweep-dir DIR: run point I of the expansion (items[0..n)) into DIR. The exit code
 * of the run, or 2 when I or DIR is not a point of that sweep or its config changed since submission. */
int sweep_job_run_point(const struct cfg_benchmark *items, size_t n, const struct cfg_run_opts *opts);

/* sweep_job.json, parsed. */
struct sweep_job_point {
	long index;        /* in the expansion (the --sweep-point value) */
	char *config;      /* snapshot path relative to the sweep dir ("points/<i>.yml") */
	char *config_sha1; /* sha1 of the snapshot (hex) */
};
struct sweep_job {
	char *launcher;
	char *kind;   /* the subcommand: "benchmark" or "capacity-search" */
	char *job_id; /* NULL when the submission failed */
	char *cwd;    /* where the sweep was submitted from (the tasks run there) */
	struct sweep_job_point *points;
	size_t n_points;
};
int sweep_job_load(const char *sweep_dir, struct sweep_job *job, char *err, size_t err_len);
void sweep_job_free(struct sweep_job *job);

/* One point's state for status and collect. */
enum sweep_point_state { SWEEP_POINT_PENDING, SWEEP_POINT_RUNNING, SWEEP_POINT_DONE, SWEEP_POINT_FAILED };
struct sweep_point_status {
	enum sweep_point_state state;
	char *run_dir;        /* <sweep_dir>/<name> when the point recorded one, else NULL */
	int exit_code;        /* when recorded, else -1 */
	char slurm_state[32]; /* "" when squeue said nothing about the task */
	char *note;           /* why a point is failed or unknown (NULL when nothing to add) */
};
const char *sweep_point_state_name(enum sweep_point_state s);

/* The status of every point (statuses[k] for job->points[k]), from points/<i>.json and, when squeue
 * answers, the array's tasks. *squeue_note says what squeue contributed (xmalloc'd, may be NULL). */
struct sweep_point_status *sweep_job_status(const char *sweep_dir, const struct sweep_job *job, char **squeue_note);
void sweep_job_status_free(struct sweep_point_status *st, size_t n);

#endif
