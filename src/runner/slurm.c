/* Slurm client calls for sweeps on a cluster (docs/SLURM.md). */
#include "runner/slurm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/xalloc.h"

extern char **environ;

char *slurm_shell_quote(const char *s)
{
	struct buf b;
	buf_init(&b);
	buf_putc(&b, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			buf_puts(&b, "'\\''");
		else
			buf_putc(&b, *p);
	}
	buf_putc(&b, '\'');
	return buf_steal(&b);
}

#define SLURM_CAPTURE_MAX_BYTES (1u << 20)

int slurm_run_capture(char *const *argv, char **out, char **err_out)
{
	int po[2], pe[2];
	if (out)
		*out = NULL;
	if (err_out)
		*err_out = NULL;
	if (pipe2(po, O_CLOEXEC))
		return -1;
	if (pipe2(pe, O_CLOEXEC)) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	if (rc) {
		close(po[0]);
		close(pe[0]);
		if (err_out)
			*err_out = xasprintf("cannot run %s: %s", argv[0], strerror(rc));
		return -1;
	}
	struct buf bo, be;
	buf_init(&bo);
	buf_init(&be);
	struct pollfd pfd[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
	int open_fds = 2;
	while (open_fds > 0) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < 2; k++) {
			if (pfd[k].fd < 0 || !(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char tmp[4096];
			ssize_t r = read(pfd[k].fd, tmp, sizeof tmp);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(pfd[k].fd);
				pfd[k].fd = -1;
				open_fds--;
				continue;
			}
			struct buf *b = k == 0 ? &bo : &be;
			if (b->len < SLURM_CAPTURE_MAX_BYTES)
				buf_append(b, tmp, (size_t)r);
		}
	}
	for (int k = 0; k < 2; k++)
		if (pfd[k].fd >= 0)
			close(pfd[k].fd);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (out)
		*out = bo.data ? buf_steal(&bo) : xstrdup("");
	if (err_out)
		*err_out = be.data ? buf_steal(&be) : xstrdup("");
	buf_free(&bo);
	buf_free(&be);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void slurm_trim(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

int slurm_sbatch(const char *script, const char *const *extra, size_t n_extra, char *job_id, size_t job_id_len,
                 char *err, size_t err_len)
{
	char **argv = xcalloc(n_extra + 4, sizeof *argv);
	size_t k = 0;
	argv[k++] = "sbatch";
	argv[k++] = "--parsable";
	for (size_t i = 0; i < n_extra; i++)
		argv[k++] = (char *)extra[i];
	argv[k++] = (char *)script;
	argv[k] = NULL;
	char *out = NULL, *eo = NULL;
	int rc = slurm_run_capture(argv, &out, &eo);
	free(argv);
	int ret = -1;
	if (rc < 0) {
		snprintf(err, err_len, "%s (is Slurm's client installed and on PATH?)", eo ? eo : "cannot run sbatch");
	} else if (rc != 0) {
		slurm_trim(eo);
		snprintf(err, err_len, "sbatch failed (exit status %d): %s", rc, eo[0] ? eo : "(no message)");
	} else {
		/* --parsable prints "<job id>[;<cluster>]" */
		slurm_trim(out);
		char *semi = strchr(out, ';');
		if (semi)
			*semi = '\0';
		char *end;
		long id = strtol(out, &end, 10);
		if (end == out || *end || id <= 0) {
			snprintf(err, err_len, "sbatch printed no job id (stdout '%.200s', stderr '%.200s')", out, eo);
		} else {
			snprintf(job_id, job_id_len, "%ld", id);
			ret = 0;
		}
	}
	free(out);
	free(eo);
	return ret;
}

enum slurm_query slurm_squeue_tasks(const char *job_id, struct slurm_task_state **tasks, size_t *n, char *err,
                                    size_t err_len)
{
	*tasks = NULL;
	*n = 0;
	/* -r: one line per array task; --states=all: finished tasks too while the controller remembers
	 * them (MinJobAge, 300 s by default). */
	char *argv[] = {"squeue", "-h", "-r", "--states=all", "-j", (char *)job_id, "-o", "%K|%T", NULL};
	char *out = NULL, *eo = NULL;
	int rc = slurm_run_capture(argv, &out, &eo);
	enum slurm_query q;
	if (rc < 0) {
		snprintf(err, err_len, "%s", eo ? eo : "cannot run squeue");
		q = SLURM_QUERY_UNAVAILABLE;
	} else if (rc != 0) {
		slurm_trim(eo);
		if (strstr(eo, "Invalid job id")) {
			q = SLURM_QUERY_UNKNOWN_JOB;
		} else {
			snprintf(err, err_len, "squeue failed (exit status %d): %s", rc, eo);
			q = SLURM_QUERY_UNAVAILABLE;
		}
	} else {
		size_t cap = 0;
		char *save = NULL;
		for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *bar = strchr(line, '|');
			if (!bar)
				continue;
			*bar = '\0';
			char *end;
			long t = strtol(line, &end, 10);
			if (end == line || *end)
				continue; /* "N/A": not an array task */
			xgrow((void **)tasks, &cap, *n + 1, sizeof **tasks);
			(*tasks)[*n].task_id = t;
			snprintf((*tasks)[*n].state, sizeof(*tasks)[*n].state, "%s", bar + 1);
			slurm_trim((*tasks)[*n].state);
			(*n)++;
		}
		q = *n ? SLURM_QUERY_OK : SLURM_QUERY_UNKNOWN_JOB;
	}
	free(out);
	free(eo);
	return q;
}

int slurm_state_is_final(const char *state)
{
	static const char *const live[] = {"PENDING",   "RUNNING",      "CONFIGURING",  "COMPLETING", "SUSPENDED",
	                                   "REQUEUED",  "REQUEUE_HOLD", "REQUEUE_FED",  "RESIZING",   "SIGNALING",
	                                   "STAGE_OUT", "STOPPED",      "RESV_DEL_HOLD"};
	for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
		if (!strcmp(state, live[i]))
			return 0;
	return 1;
}
