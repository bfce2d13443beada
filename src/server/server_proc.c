/* Managed server lifecycle: launch (own process group, parent-death signal), readiness, shutdown,
 * diagnosis and provenance (server.json). */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "core/xalloc.h"
#include "server/server_env.h"
#include "server/gpu.h"
#include "server/server.h"
#include "server/server_internal.h"

extern char **environ;

#define SERVER_MAX_GROUPS 64
#define SERVER_TAIL_LINES 50

/* Registry for the emergency path: supervisor pid and engine process group per running server. */
static volatile sig_atomic_t server_sups[SERVER_MAX_GROUPS]; /* 0 = free slot */
static volatile sig_atomic_t server_groups[SERVER_MAX_GROUPS];
static volatile sig_atomic_t *server_interrupt_flag;

void server_set_interrupt_flag(volatile sig_atomic_t *flag)
{
	server_interrupt_flag = flag;
}

void server_kill_all_emergency(void)
{
	for (int i = 0; i < SERVER_MAX_GROUPS; i++) {
		pid_t g = (pid_t)server_groups[i];
		pid_t s = (pid_t)server_sups[i];
		if (g > 0)
			kill(-g, SIGKILL);
		if (s > 0)
			kill(s, SIGKILL);
	}
}

static int group_register(pid_t sup, pid_t engine)
{
	for (int i = 0; i < SERVER_MAX_GROUPS; i++)
		if (server_sups[i] == 0) {
			server_groups[i] = (sig_atomic_t)engine;
			server_sups[i] = (sig_atomic_t)sup;
			return i;
		}
	return -1;
}

/* ---- supervisor ----
 * veeksha forks a small supervisor (our code, no exec) which forks the engine into its own process
 * group and waits. The supervisor has PR_SET_PDEATHSIG(SIGUSR1): when veeksha dies (even by
 * SIGKILL) it SIGKILLs the engine's whole process group - including engine workers that a
 * parent-death signal on the engine alone would orphan. The engine has PR_SET_PDEATHSIG(SIGKILL)
 * on the supervisor. Protocol (signals to the supervisor): SIGTERM -> SIGTERM to the engine group;
 * SIGUSR2 -> SIGKILL to the engine group. When the engine exits, the supervisor SIGKILLs what is
 * left of its group, reaps it and exits with the same status (re-raising a fatal signal).
 * Only async-signal-safe calls after fork. */
struct sup_msg {
	int tag; /* 'P' engine pid, 'E' exec errno */
	int val;
};

static void reset_signals(void)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int sg = 1; sg < NSIG; sg++)
		if (sg != SIGKILL && sg != SIGSTOP)
			sigaction(sg, &dfl, NULL);
}

static _Noreturn void supervisor_main(pid_t parent, const char *exe, char **argv, char **envp, int nullfd, int logfd,
                                      int msgfd)
{
	reset_signals();
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGUSR1) != 0 || getppid() != parent)
		_exit(127);
	/* what the engine starts outside its process group comes back to us when its parent dies, and
	 * is killed before we exit (server_orphans.c) */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* Keep only what the engine needs: 0 = /dev/null, 1 and 2 = log, 3 = message pipe (close-on-exec).
	 * Everything else of veeksha (sockets, other servers' GPU lease locks, output files) is closed so
	 * neither the supervisor nor the engine holds it. */
	int m = fcntl(msgfd, F_DUPFD, 10);
	int l = fcntl(logfd, F_DUPFD, 10);
	int nl = fcntl(nullfd, F_DUPFD, 10);
	if (m < 0 || l < 0 || nl < 0 || dup2(nl, 0) < 0 || dup2(l, 1) < 0 || dup2(l, 2) < 0 || dup2(m, 3) < 0)
		_exit(127);
	fcntl(3, F_SETFD, FD_CLOEXEC);
	if (syscall(SYS_close_range, 4u, ~0u, 0u) != 0)
		for (int fd = 4; fd < 65536; fd++)
			close(fd);
	msgfd = 3;
	pid_t me = getpid();
	pid_t eng = fork();
	if (eng == 0) {
		setpgid(0, 0);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != me)
			_exit(127);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(exe, argv, envp);
		struct sup_msg em = {'E', errno};
		(void)!write(msgfd, &em, sizeof em);
		_exit(127);
	}
	if (eng < 0)
		_exit(127);
	setpgid(eng, eng);
	struct sup_msg pm = {'P', (int)eng};
	(void)!write(msgfd, &pm, sizeof pm);
	close(msgfd);
	for (;;) {
		siginfo_t si;
		int sg = sigwaitinfo(&all, &si);
		if (sg == SIGUSR1 || sg == SIGHUP) { /* veeksha died */
			kill(-eng, SIGKILL);
			server_sup_kill_orphans(me);
			_exit(137);
		} else if (sg == SIGTERM || sg == SIGINT) {
			kill(-eng, SIGTERM);
		} else if (sg == SIGUSR2) {
			kill(-eng, SIGKILL);
		}
		for (;;) { /* reparented processes that ended on their own: reaped, the engine left for below */
			siginfo_t zi;
			memset(&zi, 0, sizeof zi);
			if (waitid(P_ALL, 0, &zi, WEXITED | WNOHANG | WNOWAIT) != 0 || zi.si_pid <= 0 ||
			    zi.si_pid == eng)
				break;
			(void)waitpid(zi.si_pid, NULL, 0);
		}
		siginfo_t wi;
		memset(&wi, 0, sizeof wi);
		if (waitid(P_PID, (id_t)eng, &wi, WEXITED | WNOHANG | WNOWAIT) == 0 && wi.si_pid == eng) {
			kill(-eng, SIGKILL); /* leftovers of the engine's group */
			int st = 0;
			while (waitpid(eng, &st, 0) < 0 && errno == EINTR)
				;
			server_sup_kill_orphans(me); /* and of what left the group */
			if (WIFSIGNALED(st)) {
				int ts = WTERMSIG(st);
				struct sigaction dfl;
				memset(&dfl, 0, sizeof dfl);
				dfl.sa_handler = SIG_DFL;
				sigaction(ts, &dfl, NULL);
				sigset_t one;
				sigemptyset(&one);
				sigaddset(&one, ts);
				kill(me, ts);
				sigprocmask(SIG_UNBLOCK, &one, NULL);
				_exit(128 + ts);
			}
			_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 127);
		}
	}
}

struct server_handle {
	enum cfg_server_type type;
	char *host, *model, *api_key, *env_abs, *dtype;
	int64_t port;
	int64_t startup_timeout_s;
	double interval_s;
	char **argv;
	char *exe;
	char *run_dir, *log_path, *json_path;
	char *api_base, *health_url, *models_url;
	int64_t *gpu_ids;
	size_t n_gpus;
	const char *gpu_source;
	struct gpu_lease *lease;
	char *engine_version;
	pid_t pid;        /* supervisor */
	pid_t engine_pid; /* the engine (leader of its own process group) */
	int slot;
	bool exited; /* leader exit observed (zombie kept until reaped) */
	bool reaped;
	bool stop_requested; /* exit observed after server_stop asked for it */
	bool exited_early;
	bool killed;
	int wait_status;
	bool status_known;
	int64_t start_real_ns, ready_real_ns, stop_real_ns;
	int64_t start_mono_ns;
	char exit_desc[160];
};

/* ---- small helpers ---- */

static void iso_time(int64_t real_ns, char *out, size_t n)
{
	if (!real_ns) {
		snprintf(out, n, "null");
		return;
	}
	time_t t = (time_t)(real_ns / 1000000000);
	struct tm tm;
	localtime_r(&t, &tm);
	char b[40];
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%06ld", b, (long)((real_ns % 1000000000) / 1000));
}

static char *find_in_path(const char *name)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	char *dup = xstrdup(path);
	char *save = NULL;
	char *found = NULL;
	for (char *d = strtok_r(dup, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *c = xasprintf("%s/%s", *d ? d : ".", name);
		if (access(c, X_OK) == 0) {
			found = c;
			break;
		}
		free(c);
	}
	free(dup);
	return found;
}

/* 1 when something accepts TCP connections on host:port (the reference's check). */
static int port_in_use(const char *host, int64_t port)
{
	char ps[16];
	snprintf(ps, sizeof ps, "%lld", (long long)port);
	struct addrinfo hints = {0}, *res = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, ps, &hints, &res))
		return 0; /* unresolvable: treated as free */
	int used = 0;
	for (struct addrinfo *a = res; a && !used; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		int rc = connect(fd, a->ai_addr, a->ai_addrlen);
		if (rc == 0) {
			used = 1;
		} else if (errno == EINPROGRESS) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			if (poll(&p, 1, 1000) == 1) {
				int e = 0;
				socklen_t l = sizeof e;
				if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) == 0 && e == 0)
					used = 1;
			}
		}
		close(fd);
	}
	freeaddrinfo(res);
	return used;
}

static char *engine_version(enum cfg_server_type t, const char *env_abs)
{
	if (t == CFG_SERVER_SIM)
		return xstrdup(VK_VERSION);
	if (!env_abs)
		return NULL;
	const char *pkgs[3] = {NULL, NULL, NULL};
	switch (t) {
	case CFG_SERVER_VLLM:
		pkgs[0] = "vllm";
		break;
	case CFG_SERVER_SGLANG:
		pkgs[0] = "sglang";
		break;
	case CFG_SERVER_VAJRA:
		pkgs[0] = "vajra";
		pkgs[1] = "vajra_server";
		break;
	default:
		break;
	}
	for (int i = 0; pkgs[i]; i++) {
		char *pat = xasprintf("%s/lib/python*/site-packages/%s-*.dist-info", env_abs, pkgs[i]);
		glob_t g;
		char *ver = NULL;
		if (glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
			const char *base = strrchr(g.gl_pathv[0], '/');
			base = base ? base + 1 : g.gl_pathv[0];
			const char *v = base + strlen(pkgs[i]) + 1;
			const char *e = strstr(v, ".dist-info");
			if (e && e > v)
				ver = xstrndup(v, (size_t)(e - v));
			globfree(&g);
		}
		free(pat);
		if (ver)
			return ver;
	}
	return NULL;
}

static void write_server_json(struct server_handle *h)
{
	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 4);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "type");
	jsonw_str(&w, server_type_name(h->type));
	jsonw_key(&w, "model");
	jsonw_str(&w, h->model);
	jsonw_key(&w, "host");
	jsonw_str(&w, h->host);
	jsonw_key(&w, "port");
	jsonw_int(&w, h->port);
	jsonw_key(&w, "api_base");
	jsonw_str(&w, h->api_base);
	jsonw_key(&w, "argv");
	jsonw_arr_begin(&w);
	for (size_t i = 0; h->argv && h->argv[i]; i++) {
		bool secret = i > 0 && (!strcmp(h->argv[i - 1], "--api-key") || !strcmp(h->argv[i - 1], "--api_key"));
		if (!secret && h->api_key && *h->api_key && strstr(h->argv[i], h->api_key))
			secret = true;
		jsonw_str(&w, secret ? "***" : h->argv[i]);
	}
	jsonw_arr_end(&w);
	jsonw_key(&w, "executable");
	jsonw_str(&w, h->exe);
	jsonw_key(&w, "env_path");
	jsonw_str(&w, h->env_abs);
	jsonw_key(&w, "engine_version");
	jsonw_str(&w, h->engine_version);
	jsonw_key(&w, "gpu_ids");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < h->n_gpus; i++)
		jsonw_int(&w, h->gpu_ids[i]);
	jsonw_arr_end(&w);
	jsonw_key(&w, "gpu_source");
	jsonw_str(&w, h->gpu_source);
	jsonw_key(&w, "log_file");
	jsonw_str(&w, h->log_path ? strrchr(h->log_path, '/') + 1 : NULL);
	jsonw_key(&w, "pid");
	jsonw_int(&w, h->engine_pid);
	char ts[64];
	const char *names[3] = {"start_time", "ready_time", "stop_time"};
	int64_t vals[3] = {h->start_real_ns, h->ready_real_ns, h->stop_real_ns};
	for (int i = 0; i < 3; i++) {
		jsonw_key(&w, names[i]);
		if (vals[i]) {
			iso_time(vals[i], ts, sizeof ts);
			jsonw_str(&w, ts);
		} else {
			jsonw_null(&w);
		}
	}
	jsonw_key(&w, "startup_duration_s");
	if (h->ready_real_ns)
		jsonw_double_round(&w, clock_ns_to_s(h->ready_real_ns - h->start_real_ns), 3);
	else
		jsonw_null(&w);
	jsonw_key(&w, "exit_status");
	if (h->reaped && h->status_known) {
		jsonw_obj_begin(&w);
		jsonw_key(&w, "code");
		if (WIFEXITED(h->wait_status))
			jsonw_int(&w, WEXITSTATUS(h->wait_status));
		else
			jsonw_null(&w);
		jsonw_key(&w, "signal");
		if (WIFSIGNALED(h->wait_status)) {
			char sn[32];
			snprintf(sn, sizeof sn, "SIG%s",
			         sigabbrev_np(WTERMSIG(h->wait_status)) ? sigabbrev_np(WTERMSIG(h->wait_status)) : "?");
			jsonw_str(&w, sn);
		} else
			jsonw_null(&w);
		jsonw_key(&w, "requested_stop");
		jsonw_bool(&w, h->stop_requested);
		jsonw_key(&w, "description");
		jsonw_str(&w, h->exit_desc);
		jsonw_obj_end(&w);
	} else {
		jsonw_null(&w);
	}
	jsonw_obj_end(&w);
	buf_putc(&b, '\n');
	if (fs_write_file(h->json_path, b.data, b.len))
		log_warn("cannot write %s: %s", h->json_path, strerror(errno));
	buf_free(&b);
}

/* Environment for the child: PATH and CUDA variables replaced; the API key variable of engines
 * that read one (server_api_key_env) set from the config, an inherited one dropped (the config
 * decides which key the server requires, and the client sends that one). */
static char **build_envp(const char *env_abs, const int64_t *gpus, size_t n_gpus, const char *key_env,
                         const char *api_key)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **e = xcalloc(n + 5, sizeof *e);
	size_t k = 0;
	bool have_order = false;
	size_t key_env_len = key_env ? strlen(key_env) : 0;
	for (size_t i = 0; i < n; i++) {
		if (env_abs && !strncmp(environ[i], "PATH=", 5))
			continue;
		if (key_env && !strncmp(environ[i], key_env, key_env_len) && environ[i][key_env_len] == '=')
			continue;
		if (n_gpus && !strncmp(environ[i], "CUDA_VISIBLE_DEVICES=", 21))
			continue;
		if (!strncmp(environ[i], "CUDA_DEVICE_ORDER=", 18))
			have_order = true;
		e[k++] = xstrdup(environ[i]);
	}
	if (env_abs) {
		const char *p = getenv("PATH");
		e[k++] = p ? xasprintf("PATH=%s/bin:%s", env_abs, p) : xasprintf("PATH=%s/bin", env_abs);
	}
	if (n_gpus) {
		struct buf b;
		buf_init(&b);
		buf_puts(&b, "CUDA_VISIBLE_DEVICES=");
		for (size_t i = 0; i < n_gpus; i++)
			buf_printf(&b, "%s%lld", i ? "," : "", (long long)gpus[i]);
		e[k++] = buf_steal(&b);
	}
	/* GPU ids are NVML / nvidia-smi indices (PCI order); make CUDA number them the same way */
	if (!have_order)
		e[k++] = xstrdup("CUDA_DEVICE_ORDER=PCI_BUS_ID");
	if (key_env && api_key && *api_key)
		e[k++] = xasprintf("%s=%s", key_env, api_key);
	e[k] = NULL;
	return e;
}

/* ---- log diagnosis ---- */

static char *read_tail(const char *path, size_t max_bytes)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st)) {
		close(fd);
		return NULL;
	}
	off_t off = st.st_size > (off_t)max_bytes ? st.st_size - (off_t)max_bytes : 0;
	size_t len = (size_t)(st.st_size - off);
	char *b = xmalloc(len + 1);
	ssize_t r = pread(fd, b, len, off);
	close(fd);
	b[r > 0 ? r : 0] = '\0';
	return b;
}

const char *server_diagnose_log(const char *t)
{
	if (!t)
		return NULL;
	static const struct {
		const char *needles[6];
		const char *hint;
	} rules[] = {
	    {{"CUDA out of memory", "OutOfMemoryError", "is less than desired GPU memory utilization",
	      "No available memory for the cache blocks", "Not enough memory", NULL},
	     "the GPU ran out of memory: lower max_model_len, raise tensor_parallel_size, free the GPU, or "
	     "lower gpu_memory_utilization / mem_fraction_static in additional_args"},
	    {{"Address already in use", "address already in use", "error while attempting to bind", NULL},
	     "the server could not bind its port: another process is listening on it; pick another server.port"},
	    {{"gated repo", "GatedRepoError", "Repository Not Found", "RepositoryNotFoundError",
	      "is not a valid model identifier", "401 Client Error"},
	     "the model was not found or is gated: check server.model, and for gated Hugging Face repos accept the "
	     "licence and export HF_TOKEN"},
	    {{"No CUDA GPUs are available", "Found no NVIDIA driver", "CUDA driver initialization failed",
	      "torch.cuda.is_available() is False", "no CUDA-capable device", NULL},
	     "CUDA is not available to the server: check the NVIDIA driver, CUDA_VISIBLE_DEVICES and that the "
	     "environment's torch build has CUDA"},
	    {{"unrecognized arguments", "error: argument", "No such option", "unrecognized option", "unknown option",
	      NULL},
	     "the server rejected an argument: check the names in additional_args for this engine (keys are used "
	     "verbatim, e.g. 'enable-prefix-caching')"},
	    {{"No module named", NULL}, "the engine is not installed in server.env_path (python could not import it)"},
	};
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
		for (int j = 0; j < 6 && rules[i].needles[j]; j++)
			if (strstr(t, rules[i].needles[j]))
				return rules[i].hint;
	return NULL;
}

/* Print the last lines of the log and a hint; returns the hint (or NULL). */
static const char *print_diagnosis(const struct server_handle *h)
{
	char *t = read_tail(h->log_path, 256 * 1024);
	const char *hint = server_diagnose_log(t);
	if (t) {
		size_t len = strlen(t);
		while (len && t[len - 1] == '\n')
			t[--len] = '\0';
		int lines = 0;
		size_t start = len;
		while (start > 0) {
			if (t[start - 1] == '\n' && ++lines >= SERVER_TAIL_LINES)
				break;
			start--;
		}
		fprintf(stderr, "veeksha: ---- last %d lines of %s ----\n", SERVER_TAIL_LINES, h->log_path);
		if (len)
			fprintf(stderr, "%s\n", t + start);
		fprintf(stderr, "veeksha: ---- end of server log ----\n");
	}
	if (hint)
		log_error("hint: %s", hint);
	free(t);
	return hint;
}

void server_report_death(const struct server_handle *h)
{
	if (!h)
		return;
	log_error("the %s server %s during the benchmark; its log: %s", server_type_name(h->type), h->exit_desc,
	          h->log_path);
	(void)print_diagnosis(h);
}

/* ---- process state ---- */

static void set_exit_desc(struct server_handle *h)
{
	if (!h->status_known)
		snprintf(h->exit_desc, sizeof h->exit_desc, "exited (status unknown)");
	else if (WIFEXITED(h->wait_status))
		snprintf(h->exit_desc, sizeof h->exit_desc, "exited with code %d", WEXITSTATUS(h->wait_status));
	else if (WIFSIGNALED(h->wait_status)) {
		const char *ab = sigabbrev_np(WTERMSIG(h->wait_status));
		if (ab)
			snprintf(h->exit_desc, sizeof h->exit_desc, "terminated by SIG%s", ab);
		else
			snprintf(h->exit_desc, sizeof h->exit_desc, "terminated by signal %d",
			         WTERMSIG(h->wait_status));
	}
	if (h->killed)
		strncat(h->exit_desc, " (SIGKILL after the grace period)",
		        sizeof h->exit_desc - strlen(h->exit_desc) - 1);
}

/* Observe the leader without reaping it (a zombie keeps the process group id reserved). */
static bool leader_exited(struct server_handle *h)
{
	if (h->pid <= 0 || h->exited)
		return true;
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)h->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
		if (errno == ECHILD) { /* reaped behind our back (SIGCHLD ignored) */
			h->exited = h->reaped = true;
			h->status_known = false;
			if (!h->stop_requested)
				h->exited_early = true;
			set_exit_desc(h);
			return true;
		}
		return false;
	}
	if (si.si_pid == 0)
		return false;
	h->exited = true;
	if (!h->stop_requested)
		h->exited_early = true;
	return true;
}

static void reap(struct server_handle *h)
{
	if (h->reaped || h->pid <= 0)
		return;
	int st;
	pid_t r;
	while ((r = waitpid(h->pid, &st, 0)) < 0 && errno == EINTR)
		;
	h->reaped = true;
	if (r == h->pid) {
		h->wait_status = st;
		h->status_known = true;
	}
	if (h->slot >= 0) {
		server_sups[h->slot] = 0;
		server_groups[h->slot] = 0;
	}
	h->slot = -1;
	if (!h->stop_real_ns)
		h->stop_real_ns = clock_real_ns();
	set_exit_desc(h);
}

bool server_is_alive(struct server_handle *h)
{
	return h && h->pid > 0 && !leader_exited(h);
}

bool server_exited_unexpectedly(struct server_handle *h)
{
	if (!h)
		return false;
	if (!h->stop_requested)
		(void)leader_exited(h);
	return h->exited_early;
}

const char *server_api_base(const struct server_handle *h)
{
	return h->api_base;
}

const char *server_log_path(const struct server_handle *h)
{
	return h->log_path;
}

pid_t server_pid(const struct server_handle *h)
{
	return h->engine_pid;
}

const int64_t *server_gpu_ids(const struct server_handle *h, size_t *n)
{
	*n = h->n_gpus;
	return h->gpu_ids;
}

const char *server_exit_desc(const struct server_handle *h)
{
	return h->reaped ? h->exit_desc : (h->exited ? "exited (not yet reaped)" : "running");
}

/* ---- start ---- */

static void handle_free_fields(struct server_handle *h)
{
	free(h->host);
	free(h->model);
	free(h->api_key);
	free(h->env_abs);
	free(h->dtype);
	server_argv_free(h->argv);
	free(h->exe);
	free(h->run_dir);
	free(h->log_path);
	free(h->json_path);
	free(h->api_base);
	free(h->health_url);
	free(h->models_url);
	free(h->gpu_ids);
	free(h->engine_version);
	gpu_release(h->lease);
	free(h);
}

static void free_strv(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

struct server_handle *server_start(const struct cfg_server *cfg, const char *run_dir, char *err, size_t err_len)
{
	if (server_validate(cfg, err, err_len))
		return NULL;
	if (port_in_use(cfg->host, cfg->port)) {
		snprintf(err, err_len,
		         "Port %lld on host '%s' is already in use. Stop the existing process or update "
		         "server_config.port to a free port.",
		         (long long)cfg->port, cfg->host);
		return NULL;
	}
	struct server_handle *h = xcalloc(1, sizeof *h);
	h->slot = -1;
	h->type = cfg->type;
	h->host = xstrdup(cfg->host);
	h->model = xstrdup(cfg->model);
	h->api_key = xstrdup(cfg->api_key);
	h->dtype = xstrdup(cfg->dtype);
	h->port = cfg->port;
	h->startup_timeout_s = cfg->startup_timeout;
	h->interval_s = cfg->health_check_interval;
	h->env_abs = server_env_abs(cfg->env_path);
	h->run_dir = xstrdup(run_dir ? run_dir : ".");
	{
		/* IPv6 literals go in brackets in URLs */
		bool v6 = strchr(cfg->host, ':') && cfg->host[0] != '[';
		const char *lb = v6 ? "[" : "", *rb = v6 ? "]" : "";
		h->api_base = xasprintf("http://%s%s%s:%lld/v1", lb, cfg->host, rb, (long long)cfg->port);
		h->health_url = xasprintf("http://%s%s%s:%lld/health", lb, cfg->host, rb, (long long)cfg->port);
		h->models_url = xasprintf("http://%s%s%s:%lld/v1/models", lb, cfg->host, rb, (long long)cfg->port);
	}
	h->json_path = xasprintf("%s/server.json", h->run_dir);
	h->gpu_source = "none";

	if (server_build_argv(cfg, NULL, 0, &h->argv, err, err_len))
		goto fail;
	if (strchr(h->argv[0], '/')) {
		if (access(h->argv[0], X_OK)) {
			snprintf(err, err_len, "cannot execute %s: %s", h->argv[0], strerror(errno));
			goto fail;
		}
		h->exe = xstrdup(h->argv[0]);
	} else {
		h->exe = find_in_path(h->argv[0]);
		if (!h->exe) {
			snprintf(err, err_len,
			         "'%s' not found on PATH (set server.env_path to the engine's environment)",
			         h->argv[0]);
			goto fail;
		}
	}

	/* GPUs */
	if (cfg->type == CFG_SERVER_SIM) {
		if (cfg->has_gpu_ids && cfg->n_gpu_ids) {
			h->n_gpus = cfg->n_gpu_ids;
			h->gpu_ids = xmalloc(h->n_gpus * sizeof *h->gpu_ids);
			memcpy(h->gpu_ids, cfg->gpu_ids, h->n_gpus * sizeof *h->gpu_ids);
			h->gpu_source = "config";
		}
	} else {
		size_t n = cfg->has_gpu_ids ? cfg->n_gpu_ids : (size_t)cfg->tensor_parallel_size;
		h->gpu_ids = xcalloc(n ? n : 1, sizeof *h->gpu_ids);
		char *job = xasprintf("server_%s_%lld_%lld", cfg->host, (long long)cfg->port, (long long)time(NULL));
		struct gpu_request req = {
		    .n = n,
		    .explicit_ids = cfg->has_gpu_ids ? cfg->gpu_ids : NULL,
		    .n_explicit = cfg->has_gpu_ids ? cfg->n_gpu_ids : 0,
		    .contiguous = cfg->require_contiguous_gpus,
		    .job = job,
		    .wait_timeout_s = server_env_seconds("VEEKSHA_GPU_WAIT_TIMEOUT_S", 300.0),
		    .interrupted = server_interrupt_flag,
		};
		char gerr[1024];
		h->lease = gpu_acquire(&req, h->gpu_ids, gerr, sizeof gerr);
		free(job);
		if (!h->lease) {
			snprintf(err, err_len, "Failed to allocate %zu GPUs for server: %s", n, gerr);
			goto fail;
		}
		h->n_gpus = n;
		h->gpu_source = cfg->has_gpu_ids ? "config" : "auto";
	}

	if (fs_mkdir_p(h->run_dir)) {
		snprintf(err, err_len, "cannot create %s: %s", h->run_dir, strerror(errno));
		goto fail;
	}
	{
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		char ts[32];
		strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", &tm);
		h->log_path = xasprintf("%s/server_logs_%s_%s_%lld_%s.log", h->run_dir, server_type_name(cfg->type),
		                        cfg->host, (long long)cfg->port, ts);
	}
	int logfd = open(h->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		snprintf(err, err_len, "cannot open server log %s: %s", h->log_path, strerror(errno));
		goto fail;
	}
	int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int pfd[2];
	if (nullfd < 0 || pipe2(pfd, O_CLOEXEC)) {
		snprintf(err, err_len, "cannot set up the server process: %s", strerror(errno));
		close(logfd);
		if (nullfd >= 0)
			close(nullfd);
		goto fail;
	}
	char **envp = build_envp(h->env_abs, h->gpu_ids, h->n_gpus, server_api_key_env(cfg->type), h->api_key);
	h->engine_version = engine_version(cfg->type, h->env_abs);
	pid_t parent = getpid();
	h->start_real_ns = clock_real_ns();
	h->start_mono_ns = clock_mono_ns();
	pid_t pid = fork();
	if (pid == 0)
		supervisor_main(parent, h->exe, h->argv, envp, nullfd, logfd, pfd[1]);
	int fork_errno = errno;
	close(pfd[1]);
	close(nullfd);
	close(logfd);
	free_strv(envp);
	if (pid < 0) {
		close(pfd[0]);
		snprintf(err, err_len, "fork failed: %s", strerror(fork_errno));
		goto fail;
	}
	setpgid(pid, pid);
	h->pid = pid;
	/* the supervisor reports the engine's pid, then (only if exec fails) an errno; EOF = exec'd */
	struct sup_msg m;
	ssize_t r;
	while ((r = read(pfd[0], &m, sizeof m)) < 0 && errno == EINTR)
		;
	if (r == (ssize_t)sizeof m && m.tag == 'P') {
		h->engine_pid = (pid_t)m.val;
		h->slot = group_register(h->pid, h->engine_pid);
		while ((r = read(pfd[0], &m, sizeof m)) < 0 && errno == EINTR)
			;
	}
	close(pfd[0]);
	if (h->engine_pid <= 0 || (r == (ssize_t)sizeof m && m.tag == 'E')) {
		if (h->engine_pid <= 0)
			snprintf(err, err_len, "cannot start the server process (supervisor failed)");
		else
			snprintf(err, err_len, "cannot execute %s: %s", h->exe, strerror((int)m.val));
		reap(h);
		h->stop_real_ns = clock_real_ns();
		write_server_json(h);
		goto fail;
	}
	fprintf(stderr, "veeksha: started %s server (pid %ld) on %s:%lld; log: %s\n", server_type_name(cfg->type),
	        (long)h->engine_pid, cfg->host, (long long)cfg->port, h->log_path);
	write_server_json(h);
	return h;
fail:
	handle_free_fields(h);
	return NULL;
}

/* ---- readiness ---- */

/* ---- who answers on the port ---- */

/* The inodes of the sockets listening on port (from /proc/net/tcp and tcp6 of our network namespace). */
static size_t listen_inodes(int64_t port, unsigned long *out, size_t cap)
{
	static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	size_t n = 0;
	for (size_t f = 0; f < 2; f++) {
		FILE *fp = fopen(files[f], "re");
		if (!fp)
			continue;
		char line[512];
		if (!fgets(line, sizeof line, fp)) { /* (the header) */
			fclose(fp);
			continue;
		}
		while (fgets(line, sizeof line, fp) && n < cap) {
			/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
			char *field[10], *save = NULL;
			size_t nf = 0;
			for (char *t = strtok_r(line, " \t\n", &save); t && nf < 10; t = strtok_r(NULL, " \t\n", &save))
				field[nf++] = t;
			if (nf < 10)
				continue;
			const char *colon = strrchr(field[1], ':');
			char *end;
			unsigned long st = strtoul(field[3], &end, 16);
			unsigned long inode = strtoul(field[9], &end, 10);
			if (st != 0x0A || !colon || strtol(colon + 1, NULL, 16) != port || inode == 0 || *end)
				continue;
			out[n++] = inode;
		}
		fclose(fp);
	}
	return n;
}

/* The parent of pid (from /proc/<pid>/stat), 0 when unknown. */
static pid_t proc_parent(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *fp = fopen(path, "re");
	if (!fp)
		return 0;
	size_t len = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[len] = '\0';
	const char *rp = strrchr(buf, ')'); /* after the command name, which may hold spaces */
	if (!rp || rp[1] != ' ' || !rp[2] || rp[3] != ' ')
		return 0; /* ") S ppid ..." */
	char *end;
	long ppid = strtol(rp + 4, &end, 10);
	return end != rp + 4 && ppid > 0 && ppid <= INT_MAX ? (pid_t)ppid : 0;
}

/* Whether pid is the engine or one of its descendants. */
static bool proc_is_engine(const struct server_handle *h, pid_t pid)
{
	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		if (pid == h->engine_pid || pid == h->pid)
			return true;
		pid = proc_parent(pid);
	}
	return false;
}

/* Which process listens on the server's port: 1 the engine (or a process it started), 0 another one
 * (*other: its pid, 0 when it cannot be seen, e.g. another user's), -1 unknown (no listener found:
 * /proc unavailable, or another network namespace). A health check that another process answers
 * must not make a run measure a server it did not start (two runs that passed the port check at
 * once, while their engines were still loading: docs/SERVERS.md, Launch procedure). */
static int listener_is_engine(const struct server_handle *h, pid_t *other)
{
	unsigned long inodes[16];
	size_t n = listen_inodes(h->port, inodes, 16);
	*other = 0;
	if (n == 0)
		return -1;
	DIR *proc = opendir("/proc");
	if (!proc)
		return -1;
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(proc))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		char fdp[64];
		snprintf(fdp, sizeof fdp, "/proc/%ld/fd", pid);
		DIR *fds = opendir(fdp);
		if (!fds)
			continue; /* gone, or not ours to read */
		struct dirent *fe;
		while ((fe = readdir(fds))) {
			char lp[320], target[64];
			snprintf(lp, sizeof lp, "%s/%s", fdp, fe->d_name);
			ssize_t tl = readlink(lp, target, sizeof target - 1);
			unsigned long ino = 0;
			if (tl <= 0)
				continue;
			target[tl] = '\0';
			char *ino_end;
			if (strncmp(target, "socket:[", 8) != 0 || (ino = strtoul(target + 8, &ino_end, 10)) == 0 ||
			    *ino_end != ']')
				continue;
			bool listening = false;
			for (size_t i = 0; i < n; i++)
				listening |= inodes[i] == ino;
			if (!listening)
				continue;
			if (proc_is_engine(h, (pid_t)pid)) {
				rc = 1;
				break;
			}
			*other = (pid_t)pid;
		}
		closedir(fds);
	}
	closedir(proc);
	return rc;
}

/* Whether readiness checks who listens on the port (VEEKSHA_SERVER_LISTENER_CHECK, default on; "0"
 * turns it off, with a warning, for an engine whose port a proxy it did not start holds: docs/SERVERS.md,
 * Environment variables). */
static bool server_listener_check_on(const struct server_handle *h)
{
	const char *v = getenv("VEEKSHA_SERVER_LISTENER_CHECK");
	if (!v || strcmp(v, "0") != 0)
		return true;
	log_warn("VEEKSHA_SERVER_LISTENER_CHECK=0: not checking that the process answering on port %lld is the %s "
	         "server this run started",
	         (long long)h->port, server_type_name(h->type));
	return false;
}

/* 1 ready, 0 retry, -1 fatal (err set). */
static int check_models(struct server_handle *h, double timeout_s, char *err, size_t err_len)
{
	char *body = NULL;
	long code = server_http_get(h->models_url, h->api_key, timeout_s, &body);
	int rc = 0;
	if (code == 200) {
		cJSON *j = cJSON_Parse(body ? body : "");
		cJSON *data = j ? cJSON_GetObjectItemCaseSensitive(j, "data") : NULL;
		struct buf ids;
		buf_init(&ids);
		bool found = false;
		const cJSON *m;
		cJSON_ArrayForEach(m, data)
		{
			const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
			if (cJSON_IsString(id)) {
				buf_printf(&ids, "%s'%s'", ids.len ? ", " : "", id->valuestring);
				if (!strcmp(id->valuestring, h->model))
					found = true;
			}
		}
		if (found) {
			rc = 1;
		} else {
			snprintf(err, err_len, "the server at %s serves [%s], not the configured model '%s'",
			         h->api_base, ids.data ? ids.data : "", h->model);
			rc = -1;
		}
		buf_free(&ids);
		cJSON_Delete(j);
	} else if (code == 401 || code == 403) {
		snprintf(err, err_len, "the server rejected the API key on GET /v1/models (HTTP %ld)", code);
		rc = -1;
	} else if (code == 404) {
		log_warn("%s answers 404; cannot confirm the served model", h->models_url);
		rc = 1;
	}
	free(body);
	return rc;
}

int server_wait_ready(struct server_handle *h, volatile sig_atomic_t *interrupted, char *err, size_t err_len)
{
	if (!h || h->pid <= 0) {
		snprintf(err, err_len, "no server process");
		return -1;
	}
	int64_t deadline = h->start_mono_ns + clock_span_s_to_ns((double)h->startup_timeout_s);
	int64_t interval_ns = clock_span_s_to_ns(h->interval_s);
	for (;;) {
		if (interrupted && *interrupted) {
			snprintf(err, err_len, "interrupted while waiting for the server to become ready");
			return -1;
		}
		if (leader_exited(h)) {
			reap(h);
			log_error("the %s server %s during startup", server_type_name(h->type), h->exit_desc);
			const char *hint = print_diagnosis(h);
			snprintf(err, err_len, "server process %s before becoming ready (log: %s)%s%s", h->exit_desc,
			         h->log_path, hint ? "; hint: " : "", hint ? hint : "");
			write_server_json(h);
			return -1;
		}
		int64_t now = clock_mono_ns();
		double remain_s = clock_ns_to_s(deadline - now);
		double probe_s = remain_s < 5.0 ? (remain_s > 0.2 ? remain_s : 0.2) : 5.0;
		if (server_http_get(h->health_url, NULL, probe_s, NULL) == 200) {
			pid_t other = 0;
			if (server_listener_check_on(h) && listener_is_engine(h, &other) == 0) {
				char who[64] = "a process";
				if (other > 0)
					snprintf(who, sizeof who, "pid %d", (int)other);
				snprintf(
				    err, err_len,
				    "port %lld on host '%s' answers, but from %s, which veeksha did not start%s: "
				    "another "
				    "process took the port while the %s server was starting (two runs on one port?); "
				    "refusing to measure it. Stop it or pick another server.port (an engine behind "
				    "a proxy it does not start itself, e.g. docker-proxy: "
				    "VEEKSHA_SERVER_LISTENER_CHECK=0)",
				    (long long)h->port, h->host, who, other > 0 ? "" : " (another user's?)",
				    server_type_name(h->type));
				return -1;
			}
			int m = check_models(h, probe_s, err, err_len);
			if (m == 1) {
				h->ready_real_ns = clock_real_ns();
				fprintf(stderr, "veeksha: server ready at %s after %.1f s\n", h->api_base,
				        clock_ns_to_s(clock_mono_ns() - h->start_mono_ns));
				write_server_json(h);
				return 0;
			}
			if (m < 0)
				return -1;
		}
		int64_t next = now + interval_ns;
		if (next > deadline)
			next = deadline;
		while (clock_mono_ns() < next) {
			if ((interrupted && *interrupted) || leader_exited(h))
				break;
			int64_t step = next - clock_mono_ns();
			if (step > 50000000)
				step = 50000000;
			if (step > 0)
				clock_sleep_until_ns(clock_mono_ns() + step);
		}
		if (clock_mono_ns() >= deadline && !(interrupted && *interrupted) && !leader_exited(h)) {
			log_error("the %s server did not become healthy within %lld s (GET %s)",
			          server_type_name(h->type), (long long)h->startup_timeout_s, h->health_url);
			const char *hint = print_diagnosis(h);
			snprintf(
			    err, err_len, "Server failed to become ready within startup_timeout=%lld s (log: %s)%s%s",
			    (long long)h->startup_timeout_s, h->log_path, hint ? "; hint: " : "", hint ? hint : "");
			return -1;
		}
	}
}

/* ---- stop ---- */

static bool wait_leader(struct server_handle *h, double secs)
{
	int64_t end = clock_mono_ns() + clock_s_to_ns(secs);
	while (!leader_exited(h)) {
		if (clock_mono_ns() >= end)
			return false;
		clock_sleep_until_ns(clock_mono_ns() + 20000000);
	}
	return true;
}

int server_stop(struct server_handle *h)
{
	if (!h || h->pid <= 0)
		return -1;
	if (!h->reaped) {
		if (!leader_exited(h)) {
			h->stop_requested = true;
			kill(h->pid, SIGTERM); /* supervisor: SIGTERM to the engine's group */
			double grace = server_env_seconds("VEEKSHA_SERVER_STOP_GRACE_S", 30.0);
			if (!wait_leader(h, grace)) {
				log_warn("server did not stop within %.0f s of SIGTERM; sending SIGKILL", grace);
				h->killed = true;
				kill(h->pid, SIGUSR2); /* supervisor: SIGKILL to the engine's group */
				if (!wait_leader(h, 10.0)) {
					kill(-h->engine_pid, SIGKILL);
					kill(h->pid, SIGKILL);
					wait_leader(h, 5.0);
				}
			}
		}
		reap(h);
		h->stop_real_ns = clock_real_ns();
	}
	if (h->lease) {
		gpu_release(h->lease);
		h->lease = NULL;
	}
	write_server_json(h);
	if (!h->status_known)
		return 0;
	if (WIFEXITED(h->wait_status))
		return WEXITSTATUS(h->wait_status);
	return 128 + WTERMSIG(h->wait_status);
}

void server_handle_free(struct server_handle *h)
{
	if (!h)
		return;
	if (h->pid > 0 && !h->reaped)
		server_stop(h);
	handle_free_fields(h);
}
