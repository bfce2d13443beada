#ifndef VK_RUNNER_SLURM_H
#define VK_RUNNER_SLURM_H
/* The few Slurm client calls a sweep needs (docs/SLURM.md): sbatch to submit a job array, squeue to
 * see its tasks. Both run as child processes found on PATH (never through a shell); SLURM_CONF and
 * the rest of the environment are inherited. */
#include <stddef.h>

/* `s` as one POSIX shell word ('...' with embedded quotes escaped); xmalloc'd. */
char *slurm_shell_quote(const char *s);

/* Runs argv[0] (PATH lookup) with stdin from /dev/null and captures stdout and stderr (up to 1 MiB
 * each; either out pointer may be NULL). Returns the exit status (0-255, 128+signal), or -1 when it
 * could not be started (errno-style reason in *err_out). Captured texts are xmalloc'd. */
int slurm_run_capture(char *const *argv, char **out, char **err_out);

/* sbatch --parsable [extra...] script: 0 with the job id ("123") in job_id, or -1 with sbatch's
 * own message (or why it could not run) in err. */
int slurm_sbatch(const char *script, const char *const *extra, size_t n_extra, char *job_id, size_t job_id_len,
                 char *err, size_t err_len);

/* One array task as squeue reports it. */
struct slurm_task_state {
	long task_id;   /* SLURM_ARRAY_TASK_ID */
	char state[32]; /* PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ... */
};

enum slurm_query {
	SLURM_QUERY_OK = 0,      /* tasks filled */
	SLURM_QUERY_UNKNOWN_JOB, /* squeue ran but no longer knows the job (it ended a while ago) */
	SLURM_QUERY_UNAVAILABLE, /* squeue missing or the controller did not answer (why in err) */
};

/* The array tasks of job_id (every state the controller still remembers). *tasks is xmalloc'd. */
enum slurm_query slurm_squeue_tasks(const char *job_id, struct slurm_task_state **tasks, size_t *n, char *err,
                                    size_t err_len);

/* Whether a squeue state means the task is over (COMPLETED, FAILED, CANCELLED, TIMEOUT, ...). */
int slurm_state_is_final(const char *state);

#endif
