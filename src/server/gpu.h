#ifndef VK_SERVER_GPU_H
#define VK_SERVER_GPU_H
/* GPU resource manager: discovery (NVML via dlopen, fallback nvidia-smi) and host-wide leases.
 *
 * A lease is an exclusive flock() on <lock dir>/gpu<index>.lock ($VEEKSHA_GPU_LOCK_DIR, default
 * /tmp/veeksha-gpu-locks). The kernel drops it when the holding process dies, so leases never
 * outlive a crashed or killed veeksha. The lock file's content ("pid=... job=... since=...") is only
 * informational (veeksha gpus). A GPU is free when >= 90% of its memory is free and nobody holds its
 * lease. */
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct gpu_info {
	int index;
	uint64_t total_mib;
	uint64_t free_mib;
};

enum gpu_source { GPU_SOURCE_NONE = 0, GPU_SOURCE_NVML, GPU_SOURCE_NVIDIA_SMI };
const char *gpu_source_name(enum gpu_source s); /* "none", "nvml", "nvidia-smi" */

/* Discover GPUs (sorted by index). Never fails: no driver/tool -> 0 GPUs, source NONE, and a
 * description of why in why (may be NULL). *out is xmalloc'd (NULL when n == 0). */
enum gpu_source gpu_discover(struct gpu_info **out, size_t *n, char *why, size_t why_len);

bool gpu_is_free_mem(const struct gpu_info *g); /* free/total >= 0.90 */

const char *gpu_lock_dir(void);

/* Lease holder of one GPU: 1 leased (pid/job filled when readable), 0 not leased, -1 error. */
int gpu_lease_query(int index, pid_t *pid, char *job, size_t job_len);

struct gpu_lease;

struct gpu_request {
	size_t n;                    /* GPUs wanted (tensor_parallel_size) */
	const int64_t *explicit_ids; /* NULL = auto-assign */
	size_t n_explicit;
	bool contiguous;                    /* require consecutive ids (auto-assign only) */
	const char *job;                    /* shown by `veeksha gpus` */
	double wait_timeout_s;              /* bounded wait for busy GPUs; 0 = one attempt */
	double poll_interval_s;             /* between attempts (default 3 s when <= 0) */
	volatile sig_atomic_t *interrupted; /* may be NULL */
};

/* Acquire leases. On success ids_out (room for req->n) holds the ids, ascending for auto-assign and
 * in the given order for explicit ids. NULL with a clear message in err on failure (no GPUs, too
 * few, no contiguous block, unknown explicit id, wait timed out, interrupted). Waiting is reported
 * once on stderr. */
struct gpu_lease *gpu_acquire(const struct gpu_request *req, int64_t *ids_out, char *err, size_t err_len);
void gpu_release(struct gpu_lease *l); /* NULL is fine */

/* CUDA_VISIBLE_DEVICES of veeksha's own environment limits the GPUs it leases (Slurm sets it for a
 * job's --gres GPUs; docs/SERVERS.md, GPU leasing). gpu_visible_parse reads a value (NULL = unset):
 * 0 no restriction; 1 restricted to ids[0..*n) (may be empty: "" or a leading -1 hide every GPU;
 * like CUDA, a negative entry ends the list); -1 not understood (UUID or MIG entries, garbage), with
 * the reason in err. *ids is xmalloc'd (NULL when *n == 0). */
int gpu_visible_parse(const char *value, int **ids, size_t *n, char *err, size_t err_len);

/* Pure allocation policy (exposed for tests): choose n ids among candidates (ascending, already
 * filtered to usable GPUs). Returns 0 and fills out, or -1 (not enough / no contiguous block). */
int gpu_pick(const int *candidates, size_t n_cand, size_t n, bool contiguous, int *out);

#endif
