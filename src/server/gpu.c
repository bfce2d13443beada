/* GPU discovery (NVML through dlopen, fallback nvidia-smi) and host-wide leases (flock). */
#include "server/gpu.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "server/server_env.h"

extern char **environ;

const char *gpu_source_name(enum gpu_source s)
{
	switch (s) {
	case GPU_SOURCE_NVML:
		return "nvml";
	case GPU_SOURCE_NVIDIA_SMI:
		return "nvidia-smi";
	default:
		return "none";
	}
}

bool gpu_is_free_mem(const struct gpu_info *g)
{
	if (g->total_mib == 0)
		return false;
	return (double)g->free_mib / (double)g->total_mib >= 0.90;
}

/* ---- NVML (hand-declared subset) ---- */
typedef int vk_nvml_return;
typedef void *vk_nvml_device;
struct vk_nvml_memory {
	unsigned long long total, free, used;
};

static int nvml_discover(struct gpu_info **out, size_t *n, char *why, size_t why_len)
{
	const char *lib = getenv("VEEKSHA_NVML_LIB");
	if (!lib || !*lib)
		lib = "libnvidia-ml.so.1";
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, why_len, "NVML: cannot load %s", lib);
		return -1;
	}
	vk_nvml_return (*init)(void) = (vk_nvml_return(*)(void))dlsym(h, "nvmlInit_v2");
	vk_nvml_return (*count)(unsigned *) = (vk_nvml_return(*)(unsigned *))dlsym(h, "nvmlDeviceGetCount_v2");
	vk_nvml_return (*byidx)(unsigned, vk_nvml_device *) =
	    (vk_nvml_return(*)(unsigned, vk_nvml_device *))dlsym(h, "nvmlDeviceGetHandleByIndex_v2");
	vk_nvml_return (*meminfo)(vk_nvml_device, struct vk_nvml_memory *) =
	    (vk_nvml_return(*)(vk_nvml_device, struct vk_nvml_memory *))dlsym(h, "nvmlDeviceGetMemoryInfo");
	vk_nvml_return (*shutdown)(void) = (vk_nvml_return(*)(void))dlsym(h, "nvmlShutdown");
	if (!init || !count || !byidx || !meminfo || !shutdown) {
		snprintf(why, why_len, "NVML: %s lacks the expected symbols", lib);
		dlclose(h);
		return -1;
	}
	int rc = init();
	if (rc != 0) {
		snprintf(why, why_len, "NVML: nvmlInit failed (code %d)", rc);
		dlclose(h);
		return -1;
	}
	unsigned cnt = 0;
	rc = count(&cnt);
	if (rc != 0) {
		snprintf(why, why_len, "NVML: nvmlDeviceGetCount failed (code %d)", rc);
		shutdown();
		dlclose(h);
		return -1;
	}
	struct gpu_info *g = cnt ? xcalloc(cnt, sizeof *g) : NULL;
	size_t k = 0;
	for (unsigned i = 0; i < cnt; i++) {
		vk_nvml_device d = NULL;
		struct vk_nvml_memory m = {0};
		if (byidx(i, &d) != 0 || meminfo(d, &m) != 0)
			continue;
		g[k].index = (int)i;
		g[k].total_mib = m.total / (1024ull * 1024ull);
		g[k].free_mib = m.free / (1024ull * 1024ull);
		k++;
	}
	shutdown();
	dlclose(h);
	*out = g;
	*n = k;
	return 0;
}

/* One line of `nvidia-smi --query-gpu=index,memory.total,memory.free --format=csv,noheader,nounits`:
 * "I, TOTAL, FREE". false unless all three numbers parse and fit (the text comes from another
 * program: strtol/strtoull report an overflow, sscanf would not). */
static bool gpu_parse_smi_line(const char *line, long *idx, unsigned long long *tot, unsigned long long *fr)
{
	char *e;
	errno = 0;
	*idx = strtol(line, &e, 10);
	if (e == line || errno)
		return false;
	for (int i = 0; i < 2; i++) {
		while (isspace((unsigned char)*e))
			e++;
		if (*e++ != ',')
			return false;
		const char *p = e;
		unsigned long long v = strtoull(p, &e, 10);
		if (e == p || errno)
			return false;
		*(i == 0 ? tot : fr) = v;
	}
	return true;
}

/* ---- nvidia-smi fallback ---- */
static int smi_discover(struct gpu_info **out, size_t *n, char *why, size_t why_len)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC)) {
		snprintf(why, why_len, "nvidia-smi: pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	char *argv[] = {"nvidia-smi", "--query-gpu=index,memory.total,memory.free", "--format=csv,noheader,nounits",
	                NULL};
	pid_t pid;
	int rc = posix_spawnp(&pid, "nvidia-smi", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc) {
		close(pfd[0]);
		snprintf(why, why_len, "nvidia-smi: not found on PATH");
		return -1;
	}
	struct buf b;
	buf_init(&b);
	char tmp[4096];
	ssize_t r;
	while ((r = read(pfd[0], tmp, sizeof tmp)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (b.len < (1u << 20))
			buf_append(&b, tmp, (size_t)r);
	}
	close(pfd[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(why, why_len, "nvidia-smi: failed (exit status %d)",
		         WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		buf_free(&b);
		return -1;
	}
	struct gpu_info *g = NULL;
	size_t k = 0, cap = 0;
	char *save = NULL;
	for (char *line = strtok_r(b.data ? b.data : tmp, "\n", &save); line && b.data;
	     line = strtok_r(NULL, "\n", &save)) {
		long idx;
		unsigned long long tot, fr;
		if (!gpu_parse_smi_line(line, &idx, &tot, &fr))
			continue;
		xgrow((void **)&g, &cap, k + 1, sizeof *g);
		g[k].index = (int)idx;
		g[k].total_mib = tot;
		g[k].free_mib = fr;
		k++;
	}
	buf_free(&b);
	*out = g;
	*n = k;
	return 0;
}

static int gpu_cmp(const void *a, const void *b)
{
	return ((const struct gpu_info *)a)->index - ((const struct gpu_info *)b)->index;
}

enum gpu_source gpu_discover(struct gpu_info **out, size_t *n, char *why, size_t why_len)
{
	char w1[256] = "", w2[256] = "";
	*out = NULL;
	*n = 0;
	enum gpu_source src = GPU_SOURCE_NONE;
	if (nvml_discover(out, n, w1, sizeof w1) == 0)
		src = GPU_SOURCE_NVML;
	else if (smi_discover(out, n, w2, sizeof w2) == 0)
		src = GPU_SOURCE_NVIDIA_SMI;
	if (why && why_len) {
		if (src == GPU_SOURCE_NONE)
			snprintf(why, why_len, "%s; %s", w1, w2);
		else
			snprintf(why, why_len, "%zu GPU(s) via %s", *n, gpu_source_name(src));
	}
	if (*n > 1)
		qsort(*out, *n, sizeof **out, gpu_cmp);
	return src;
}

/* ---- visibility (CUDA_VISIBLE_DEVICES) ---- */

int gpu_visible_parse(const char *value, int **ids, size_t *n, char *err, size_t err_len)
{
	*ids = NULL;
	*n = 0;
	if (!value)
		return 0;
	size_t cap = 0;
	const char *p = value;
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p || (*end && *end != ',' && *end != ' ') || v > INT_MAX) {
			snprintf(err, err_len,
			         "CUDA_VISIBLE_DEVICES='%s': only GPU indices are understood by the GPU manager (not "
			         "UUID or MIG names); set indices or unset it and use server.gpu_ids",
			         value);
			free(*ids);
			*ids = NULL;
			*n = 0;
			return -1;
		}
		if (v < 0)
			break; /* CUDA ignores everything from the first invalid index on */
		xgrow((void **)ids, &cap, *n + 1, sizeof **ids);
		(*ids)[(*n)++] = (int)v;
		p = end;
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
	}
	return 1;
}

/* Keep only the GPUs CUDA_VISIBLE_DEVICES lets this process use. 0 ok (desc describes an active
 * restriction, else is empty), -1 an unreadable value (err). */
static int gpu_visible_filter(struct gpu_info *g, size_t *ng, char *desc, size_t desc_len, char *err, size_t err_len)
{
	desc[0] = '\0';
	const char *value = getenv("CUDA_VISIBLE_DEVICES");
	int *vis = NULL;
	size_t nv = 0;
	int rc = gpu_visible_parse(value, &vis, &nv, err, err_len);
	if (rc <= 0)
		return rc;
	size_t k = 0;
	for (size_t j = 0; j < *ng; j++) {
		bool keep = false;
		for (size_t v = 0; v < nv; v++)
			keep |= vis[v] == g[j].index;
		if (keep)
			g[k++] = g[j];
	}
	snprintf(desc, desc_len, "CUDA_VISIBLE_DEVICES='%s' leaves %zu of %zu", value, k, *ng);
	*ng = k;
	free(vis);
	return 0;
}

/* ---- leases ---- */

const char *gpu_lock_dir(void)
{
	const char *d = getenv("VEEKSHA_GPU_LOCK_DIR");
	return d && *d ? d : "/tmp/veeksha-gpu-locks";
}

static int lock_dir_ensure(char *err, size_t err_len)
{
	const char *d = gpu_lock_dir();
	if (mkdir(d, 01777) == 0) {
		chmod(d, 01777); /* umask-proof: shared by every user of the host */
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	snprintf(err, err_len, "cannot create the GPU lock directory %s: %s", d, strerror(errno));
	return -1;
}

static char *lock_path(int index)
{
	return xasprintf("%s/gpu%d.lock", gpu_lock_dir(), index);
}

/* Try to take the lease of one GPU: fd (>= 0) held, -1 busy, -2 error. */
static int lease_try(int index, const char *job)
{
	char *p = lock_path(index);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (fd >= 0)
		(void)fchmod(fd, 0666);
	else
		fd = open(p, O_RDONLY | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return -2;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno;
		close(fd);
		return e == EWOULDBLOCK ? -1 : -2;
	}
	char info[512];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	char ts[32];
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	int n = snprintf(info, sizeof info, "pid=%ld job=%s since=%s\n", (long)getpid(), job ? job : "-", ts);
	if (ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, info, (size_t)n, 0);
	return fd;
}

int gpu_lease_query(int index, pid_t *pid, char *job, size_t job_len)
{
	if (pid)
		*pid = 0;
	if (job && job_len)
		job[0] = '\0';
	char *p = lock_path(index);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	free(p);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);
		return 0;
	}
	char info[512];
	ssize_t r = pread(fd, info, sizeof info - 1, 0);
	close(fd);
	if (r > 0) {
		info[r] = '\0';
		long pv = 0;
		char jb[256] = "";
		/* our own lock-file line (gpu_acquire writes it); a corrupt pid is only shown, never used */
		if (sscanf(info, "pid=%ld job=%255s", &pv, jb) >= 1) { // NOLINT(cert-err34-c)
			if (pid)
				*pid = (pid_t)pv;
			if (job && job_len)
				snprintf(job, job_len, "%s", jb);
		}
	}
	return 1;
}

struct gpu_lease {
	size_t n;
	int *fds;
	int *ids;
};

void gpu_release(struct gpu_lease *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (l->fds[i] >= 0) {
			if (ftruncate(l->fds[i], 0)) {
				/* read-only fd: content stays, the lock is what counts */
			}
			close(l->fds[i]);
		}
	free(l->fds);
	free(l->ids);
	free(l);
}

typedef int (*pick_take_fn)(int id, void *ctx); /* >= 0 token, < 0 failed */
typedef void (*pick_drop_fn)(int token, void *ctx);

/* Walk ascending candidates, taking each; contiguous mode keeps a run of consecutive taken ids and
 * restarts it at gaps or failures. Holds at most n at any time. */
static int pick_walk(const int *cand, size_t n_cand, size_t n, bool contiguous, pick_take_fn take, pick_drop_fn drop,
                     void *ctx, int *out, int *tokens)
{
	size_t have = 0;
	if (n == 0)
		return -1;
	for (size_t i = 0; i < n_cand && have < n; i++) {
		if (contiguous && have > 0 && cand[i] != out[have - 1] + 1) {
			for (size_t j = 0; j < have; j++)
				drop(tokens[j], ctx);
			have = 0;
		}
		int t = take(cand[i], ctx);
		if (t < 0) {
			if (contiguous) {
				for (size_t j = 0; j < have; j++)
					drop(tokens[j], ctx);
				have = 0;
			}
			continue;
		}
		out[have] = cand[i];
		tokens[have] = t;
		have++;
	}
	if (have == n)
		return 0;
	for (size_t j = 0; j < have; j++)
		drop(tokens[j], ctx);
	return -1;
}

static int take_always(int id, void *ctx)
{
	(void)ctx;
	return id;
}

static void drop_none(int token, void *ctx)
{
	(void)token;
	(void)ctx;
}

int gpu_pick(const int *candidates, size_t n_cand, size_t n, bool contiguous, int *out)
{
	int *tok = xcalloc(n ? n : 1, sizeof *tok);
	int rc = pick_walk(candidates, n_cand, n, contiguous, take_always, drop_none, NULL, out, tok);
	free(tok);
	return rc;
}

static int take_lease(int id, void *ctx)
{
	return lease_try(id, (const char *)ctx);
}

static void drop_lease(int token, void *ctx)
{
	(void)ctx;
	if (token >= 0)
		close(token);
}

static void list_ids(struct buf *b, const int *ids, size_t n)
{
	buf_putc(b, '[');
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s%d", i ? ", " : "", ids[i]);
	buf_putc(b, ']');
}

/* One attempt. 0 ok; -1 retryable (busy); -2 permanent failure (message in err). */
static int acquire_once(const struct gpu_request *req, struct gpu_lease *l, char *err, size_t err_len)
{
	struct gpu_info *g = NULL;
	size_t ng = 0;
	char why[600];
	enum gpu_source src = gpu_discover(&g, &ng, why, sizeof why);
	int rc = -1;
	size_t n_host = ng;
	char vis[300];
	if (gpu_visible_filter(g, &ng, vis, sizeof vis, err, err_len)) {
		free(g);
		return -2;
	}
	if (ng == 0 && n_host > 0) {
		snprintf(err, err_len,
		         "no GPU of this host is visible to veeksha: %s GPU(s) (%s; under Slurm, request GPUs "
		         "with --gres=gpu:N)",
		         vis, gpu_source_name(src));
		free(g);
		return -2;
	}
	if (ng == 0) {
		if (src == GPU_SOURCE_NONE)
			snprintf(err, err_len,
			         "no GPUs found on this host (%s). vllm/sglang/vajra servers need GPUs; "
			         "the built-in 'sim' server type needs none",
			         why);
		else
			snprintf(err, err_len,
			         "no GPUs found on this host (%s reports 0 devices). vllm/sglang/vajra servers need "
			         "GPUs; the built-in 'sim' server type needs none",
			         gpu_source_name(src));
		free(g);
		return -2;
	}
	if (req->explicit_ids) {
		for (size_t i = 0; i < req->n_explicit; i++) {
			bool found = false;
			for (size_t j = 0; j < ng; j++)
				found |= g[j].index == req->explicit_ids[i];
			if (!found) {
				struct buf b;
				buf_init(&b);
				for (size_t j = 0; j < ng; j++)
					buf_printf(&b, "%s%d", j ? ", " : "", g[j].index);
				if (vis[0])
					snprintf(err, err_len,
					         "server.gpu_ids: GPU %lld is not visible to veeksha (%s GPU(s): %s, "
					         "via %s)",
					         (long long)req->explicit_ids[i], vis, b.data ? b.data : "",
					         gpu_source_name(src));
				else
					snprintf(
					    err, err_len,
					    "server.gpu_ids: GPU %lld does not exist on this host (GPUs: %s, via %s)",
					    (long long)req->explicit_ids[i], b.data ? b.data : "",
					    gpu_source_name(src));
				buf_free(&b);
				free(g);
				return -2;
			}
		}
		size_t i;
		for (i = 0; i < req->n_explicit; i++) {
			int fd = lease_try((int)req->explicit_ids[i], req->job);
			if (fd < 0) {
				if (fd == -2) {
					snprintf(err, err_len, "cannot open the lease file of GPU %lld in %s: %s",
					         (long long)req->explicit_ids[i], gpu_lock_dir(), strerror(errno));
					rc = -2;
				} else {
					pid_t hp;
					char job[256];
					gpu_lease_query((int)req->explicit_ids[i], &hp, job, sizeof job);
					snprintf(err, err_len,
					         "GPU %lld is leased by another veeksha process (pid %ld, job %s)",
					         (long long)req->explicit_ids[i], (long)hp, job[0] ? job : "?");
				}
				break;
			}
			l->fds[i] = fd;
			l->ids[i] = (int)req->explicit_ids[i];
			for (size_t j = 0; j < ng; j++)
				if (g[j].index == l->ids[i] && !gpu_is_free_mem(&g[j]))
					log_warn("GPU %d has only %llu of %llu MiB free; using it because "
					         "server.gpu_ids names it",
					         g[j].index, (unsigned long long)g[j].free_mib,
					         (unsigned long long)g[j].total_mib);
		}
		if (i == req->n_explicit) {
			free(g);
			return 0;
		}
		for (size_t j = 0; j < i; j++) {
			close(l->fds[j]);
			l->fds[j] = -1;
		}
		free(g);
		return rc;
	}
	if (req->n > ng) {
		if (vis[0])
			snprintf(err, err_len, "the server needs %zu GPUs but only %zu are visible (%s, via %s)",
			         req->n, ng, vis, gpu_source_name(src));
		else
			snprintf(err, err_len, "the server needs %zu GPUs but this host has only %zu (via %s)", req->n,
			         ng, gpu_source_name(src));
		free(g);
		return -2;
	}
	int *cand = xcalloc(ng, sizeof *cand);
	size_t nc = 0;
	for (size_t j = 0; j < ng; j++)
		if (gpu_is_free_mem(&g[j]))
			cand[nc++] = g[j].index;
	/* One allocation at a time on this host: without this, two processes taking per-GPU locks one by
	 * one can split a block between them (A gets 1,2 and leaves B the non-adjacent 0 and 3). The
	 * per-GPU leases stay the source of truth; this lock only serialises the picking. */
	char *alloc_path = xasprintf("%s/alloc.lock", gpu_lock_dir());
	int alloc_fd = open(alloc_path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	free(alloc_path);
	if (alloc_fd >= 0)
		while (flock(alloc_fd, LOCK_EX) != 0 && errno == EINTR) {
		}
	int picked =
	    pick_walk(cand, nc, req->n, req->contiguous, take_lease, drop_lease, (void *)req->job, l->ids, l->fds);
	if (alloc_fd >= 0)
		close(alloc_fd); /* releases the allocation lock */
	if (picked == 0) {
		free(cand);
		free(g);
		return 0;
	}
	/* explain the current state */
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "could not allocate %zu%s GPU(s): %zu on host (via %s)%s%s; free memory (>= 90%%): ", req->n,
	           req->contiguous ? " contiguous" : "", n_host, gpu_source_name(src), vis[0] ? ", " : "", vis);
	list_ids(&b, cand, nc);
	int *leased = xcalloc(ng, sizeof *leased);
	size_t nl = 0;
	for (size_t j = 0; j < ng; j++) {
		pid_t hp;
		char job[256];
		if (gpu_lease_query(g[j].index, &hp, job, sizeof job) == 1) {
			if (!nl)
				buf_puts(&b, "; leased:");
			buf_printf(&b, " %d (pid %ld, job %s)", g[j].index, (long)hp, job[0] ? job : "?");
			leased[nl++] = g[j].index;
		}
	}
	size_t usable = 0;
	for (size_t j = 0; j < nc; j++) {
		bool is_leased = false;
		for (size_t k = 0; k < nl; k++)
			is_leased |= leased[k] == cand[j];
		usable += !is_leased;
	}
	if (req->contiguous && usable >= req->n)
		buf_printf(&b,
		           "; no block of %zu consecutive free GPUs exists (set require_contiguous_gpus: false "
		           "to accept non-contiguous GPUs)",
		           req->n);
	snprintf(err, err_len, "%s", b.data);
	buf_free(&b);
	free(leased);
	free(cand);
	free(g);
	return -1;
}

struct gpu_lease *gpu_acquire(const struct gpu_request *req, int64_t *ids_out, char *err, size_t err_len)
{
	size_t n = req->explicit_ids ? req->n_explicit : req->n;
	if (n == 0) {
		snprintf(err, err_len, "no GPUs requested");
		return NULL;
	}
	if (lock_dir_ensure(err, err_len))
		return NULL;
	struct gpu_lease *l = xcalloc(1, sizeof *l);
	l->n = n;
	l->fds = xmalloc(n * sizeof *l->fds);
	l->ids = xcalloc(n, sizeof *l->ids);
	for (size_t i = 0; i < n; i++)
		l->fds[i] = -1;
	double poll_s =
	    req->poll_interval_s > 0 ? req->poll_interval_s : server_env_seconds("VEEKSHA_GPU_POLL_INTERVAL_S", 3.0);
	int64_t start = clock_mono_ns();
	int64_t deadline = start + clock_s_to_ns(req->wait_timeout_s);
	bool reported = false;
	for (;;) {
		int rc = acquire_once(req, l, err, err_len);
		if (rc == 0)
			break;
		if (rc == -2 || clock_mono_ns() >= deadline) {
			if (rc == -1 && req->wait_timeout_s > 0) {
				size_t m = strlen(err);
				snprintf(err + m, err_len > m ? err_len - m : 0, " (waited %.0f s)",
				         clock_ns_to_s(clock_mono_ns() - start));
			}
			gpu_release(l);
			return NULL;
		}
		if (!reported) {
			log_warn("waiting up to %.0f s for GPUs: %s", req->wait_timeout_s, err);
			reported = true;
		}
		int64_t next = clock_mono_ns() + clock_s_to_ns(poll_s);
		if (next > deadline)
			next = deadline;
		while (clock_mono_ns() < next) {
			if (req->interrupted && *req->interrupted) {
				snprintf(err, err_len, "interrupted while waiting for GPUs");
				gpu_release(l);
				return NULL;
			}
			int64_t step = next - clock_mono_ns();
			if (step > 100000000)
				step = 100000000;
			if (step > 0)
				clock_sleep_until_ns(clock_mono_ns() + step);
		}
	}
	if (reported)
		log_info("got GPUs after waiting %.1f s", clock_ns_to_s(clock_mono_ns() - start));
	for (size_t i = 0; i < n; i++)
		ids_out[i] = l->ids[i];
	return l;
}
