/* Python bridge processes: spawn, JSON lines both ways, orderly and disorderly ends
 * (docs/INTEGRATIONS.md). */
#include "integrations/bridge.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/fsutil.h"
#include "core/xalloc.h"
#include "workload/request.h"

extern char **environ;

#ifndef VK_BRIDGE_INSTALL_DIR
#define VK_BRIDGE_INSTALL_DIR ""
#endif
#ifndef VK_BRIDGE_SOURCE_DIR
#define VK_BRIDGE_SOURCE_DIR ""
#endif

struct bridge {
	char what[32];
	char *env;
	pid_t pid;
	int to_fd;   /* the bridge's stdin */
	int from_fd; /* the bridge's stdout */
	struct buf in;
	size_t in_off;
	bool eof;
	int status; /* waitpid status once reaped, else -1 */
};

const char *bridge_env(const struct bridge *b)
{
	return b->env;
}

static char *bridge_try(const char *dir, const char *script)
{
	if (!dir || !*dir)
		return NULL;
	char *p = fs_path_join(dir, script);
	if (access(p, R_OK) == 0)
		return p;
	free(p);
	return NULL;
}

char *bridge_script_path(const char *script, char *err, size_t err_len)
{
	const char *env = getenv("VEEKSHA_BRIDGE_DIR");
	if (env && *env) {
		char *p = bridge_try(env, script);
		if (!p)
			snprintf(err, err_len, "VEEKSHA_BRIDGE_DIR is %s, but it has no readable %s", env, script);
		return p;
	}
	/* an installed binary: <prefix>/bin/veeksha -> <prefix>/share/veeksha/bridges */
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			char *dir = xasprintf("%s/../share/veeksha/bridges", exe);
			char *p = bridge_try(dir, script);
			free(dir);
			if (p)
				return p;
		}
	}
	char *p = bridge_try(VK_BRIDGE_INSTALL_DIR, script);
	if (!p)
		p = bridge_try(VK_BRIDGE_SOURCE_DIR, script);
	if (!p)
		snprintf(
		    err, err_len,
		    "cannot find the bridge script %s (looked in <prefix>/share/veeksha/bridges next to the binary, "
		    "%s and %s; set VEEKSHA_BRIDGE_DIR)",
		    script, *VK_BRIDGE_INSTALL_DIR ? VK_BRIDGE_INSTALL_DIR : "(none)",
		    *VK_BRIDGE_SOURCE_DIR ? VK_BRIDGE_SOURCE_DIR : "(none)");
	return p;
}

static void bridge_reap(struct bridge *b, bool wait)
{
	if (b->pid <= 0 || b->status != -1)
		return;
	int st;
	pid_t r = waitpid(b->pid, &st, wait ? 0 : WNOHANG);
	if (r == b->pid)
		b->status = st;
}

/* Why the bridge is gone, for messages. */
static void bridge_gone(struct bridge *b, char *err, size_t err_len, const char *when)
{
	/* it closed its stdout: give it a moment to exit, so that the status can be told */
	for (int i = 0; i < 200 && b->status == -1; i++) {
		bridge_reap(b, false);
		if (b->status == -1) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	if (b->status != -1 && WIFSIGNALED(b->status))
		snprintf(err, err_len, "the %s bridge (environment %s) was killed by signal %d %s", b->what, b->env,
		         WTERMSIG(b->status), when);
	else if (b->status != -1 && WIFEXITED(b->status))
		snprintf(err, err_len, "the %s bridge (environment %s) exited with status %d %s", b->what, b->env,
		         WEXITSTATUS(b->status), when);
	else
		snprintf(err, err_len, "the %s bridge (environment %s) closed its output %s", b->what, b->env, when);
}

struct bridge *bridge_start(const char *what, const char *env_path, const char *script, cJSON **hello_out, char *err,
                            size_t err_len)
{
	if (hello_out)
		*hello_out = NULL;
	if (!env_path || !*env_path) {
		snprintf(err, err_len,
		         "%s: env_path is not set: give the Python environment where the package is installed", what);
		return NULL;
	}
	struct stat st;
	if (stat(env_path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, err_len,
		         "%s: the environment %s does not exist (env_path must be a Python environment directory)",
		         what, env_path);
		return NULL;
	}
	char *python = fs_path_join(env_path, "bin/python");
	if (access(python, X_OK) != 0) {
		snprintf(err, err_len,
		         "%s: the environment %s has no executable bin/python (is it a virtualenv or conda env?)", what,
		         env_path);
		free(python);
		return NULL;
	}
	char *path = bridge_script_path(script, err, err_len);
	if (!path) {
		free(python);
		return NULL;
	}
	int in_pipe[2], out_pipe[2];
	if (pipe2(in_pipe, O_CLOEXEC) != 0) {
		snprintf(err, err_len, "%s: pipe: %s", what, strerror(errno));
		free(python);
		free(path);
		return NULL;
	}
	if (pipe2(out_pipe, O_CLOEXEC) != 0) {
		snprintf(err, err_len, "%s: pipe: %s", what, strerror(errno));
		close(in_pipe[0]);
		close(in_pipe[1]);
		free(python);
		free(path);
		return NULL;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
	/* -u: unbuffered, so that a line is on the pipe as soon as it is written */
	char *argv[] = {python, (char *)"-u", path, NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, python, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in_pipe[0]);
	close(out_pipe[1]);
	if (rc != 0) {
		snprintf(err, err_len, "%s: cannot start %s: %s", what, python, strerror(rc));
		close(in_pipe[1]);
		close(out_pipe[0]);
		free(python);
		free(path);
		return NULL;
	}
	free(python);
	free(path);
	struct bridge *b = xcalloc(1, sizeof *b);
	snprintf(b->what, sizeof b->what, "%s", what);
	b->env = xstrdup(env_path);
	b->pid = pid;
	b->to_fd = in_pipe[1];
	b->from_fd = out_pipe[0];
	b->status = -1;
	buf_init(&b->in);
	/* the hello: the interpreter starts and imports the library (seconds for lm_eval) */
	cJSON *hello = bridge_recv(b, 120.0, err, err_len);
	if (!hello) {
		bridge_close(b);
		return NULL;
	}
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(hello, "type");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(hello, "protocol");
	if (!cJSON_IsString(t) || strcmp(t->valuestring, "hello") != 0 || !cJSON_IsNumber(p)) {
		snprintf(err, err_len, "the %s bridge (environment %s) did not start with a hello line", what,
		         env_path);
		cJSON_Delete(hello);
		bridge_close(b);
		return NULL;
	}
	if (p->valueint != BRIDGE_PROTOCOL) {
		snprintf(
		    err, err_len,
		    "the %s bridge (environment %s) speaks protocol %d, this veeksha speaks %d: install the bridge of "
		    "this veeksha (docs/INTEGRATIONS.md)",
		    what, env_path, p->valueint, BRIDGE_PROTOCOL);
		cJSON_Delete(hello);
		bridge_close(b);
		return NULL;
	}
	if (hello_out)
		*hello_out = hello;
	else
		cJSON_Delete(hello);
	return b;
}

int bridge_send_text(struct bridge *b, const char *line, size_t len, char *err, size_t err_len)
{
	const char *parts[2] = {line, "\n"};
	size_t lens[2] = {len, 1};
	for (int i = 0; i < 2; i++) {
		size_t off = 0;
		while (off < lens[i]) {
			ssize_t w = write(b->to_fd, parts[i] + off, lens[i] - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				bridge_gone(b, err, err_len, "while veeksha was writing to it");
				return -1;
			}
			off += (size_t)w;
		}
	}
	return 0;
}

int bridge_send(struct bridge *b, const cJSON *msg, char *err, size_t err_len)
{
	char *txt = cJSON_PrintUnformatted(msg);
	if (!txt) {
		snprintf(err, err_len, "%s: out of memory printing a message", b->what);
		return -1;
	}
	int rc = bridge_send_text(b, txt, strlen(txt), err, err_len);
	cJSON_free(txt);
	return rc;
}

/* An {"type": "error"} message as one line. */
static void bridge_error_msg(struct bridge *b, const cJSON *m, char *err, size_t err_len)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(m, "kind");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(m, "message");
	const cJSON *mod = cJSON_GetObjectItemCaseSensitive(m, "module");
	const cJSON *hint = cJSON_GetObjectItemCaseSensitive(m, "hint");
	const char *text = cJSON_IsString(msg) ? msg->valuestring : "(no message)";
	if (cJSON_IsString(kind) && !strcmp(kind->valuestring, "missing_package"))
		snprintf(err, err_len, "%s: the environment %s cannot import %s (%s)%s%s", b->what, b->env,
		         cJSON_IsString(mod) ? mod->valuestring : "?", text, cJSON_IsString(hint) ? ": " : "",
		         cJSON_IsString(hint) ? hint->valuestring : "");
	else
		snprintf(err, err_len, "%s bridge (environment %s): %s", b->what, b->env, text);
}

cJSON *bridge_recv(struct bridge *b, double timeout_s, char *err, size_t err_len)
{
	int64_t deadline = timeout_s > 0 ? clock_mono_ns() + (int64_t)(timeout_s * 1e9) : 0;
	for (;;) {
		/* a complete line already buffered? */
		char *start = b->in.data ? b->in.data + b->in_off : NULL;
		char *nl = start ? memchr(start, '\n', b->in.len - b->in_off) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - start);
			cJSON *m = cJSON_ParseWithLength(start, n);
			if (!m || !cJSON_IsObject(m)) {
				snprintf(err, err_len,
				         "the %s bridge (environment %s) wrote a line that is not a JSON object: %.*s",
				         b->what, b->env, (int)(n < 120 ? n : 120), start);
				cJSON_Delete(m);
				m = NULL;
			}
			b->in_off += n + 1;
			if (b->in_off == b->in.len) {
				buf_reset(&b->in);
				b->in_off = 0;
			} else if (b->in_off > 65536) {
				/* keep the unread part only: a long document list does not pile up */
				memmove(b->in.data, b->in.data + b->in_off, b->in.len - b->in_off);
				b->in.len -= b->in_off;
				b->in_off = 0;
			}
			if (!m)
				return NULL;
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "type");
			if (cJSON_IsString(t) && !strcmp(t->valuestring, "error")) {
				bridge_error_msg(b, m, err, err_len);
				cJSON_Delete(m);
				return NULL;
			}
			return m;
		}
		if (b->eof) {
			bridge_gone(b, err, err_len, "before answering");
			return NULL;
		}
		if (wl_interrupted()) {
			snprintf(err, err_len, "interrupted while waiting for the %s bridge", b->what);
			return NULL;
		}
		int wait_ms = 200;
		if (deadline) {
			int64_t left = deadline - clock_mono_ns();
			if (left <= 0) {
				snprintf(err, err_len, "the %s bridge (environment %s) did not answer within %.0f s",
				         b->what, b->env, timeout_s);
				return NULL;
			}
			if (left / 1000000 < wait_ms)
				wait_ms = (int)(left / 1000000) + 1;
		}
		struct pollfd pfd = {.fd = b->from_fd, .events = POLLIN};
		int r = poll(&pfd, 1, wait_ms);
		if (r < 0 && errno != EINTR) {
			snprintf(err, err_len, "%s bridge: poll: %s", b->what, strerror(errno));
			return NULL;
		}
		if (r <= 0)
			continue;
		buf_reserve(&b->in, 65536);
		ssize_t n = read(b->from_fd, b->in.data + b->in.len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			b->eof = true;
		} else {
			b->in.len += (size_t)n;
			b->in.data[b->in.len] = '\0';
		}
	}
}

int bridge_close(struct bridge *b)
{
	if (!b)
		return -1;
	if (b->to_fd >= 0)
		close(b->to_fd);
	b->to_fd = -1;
	for (int i = 0; i < 500 && b->status == -1; i++) {
		bridge_reap(b, false);
		if (b->status == -1) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	if (b->status == -1 && b->pid > 0) {
		kill(b->pid, SIGKILL);
		bridge_reap(b, true);
	}
	int st = b->status;
	if (b->from_fd >= 0)
		close(b->from_fd);
	buf_free(&b->in);
	free(b->env);
	free(b);
	return st;
}
