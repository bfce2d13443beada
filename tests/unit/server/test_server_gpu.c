/* GPU resource manager: discovery through a fake NVML / fake nvidia-smi, allocation policy, leases
 * across processes. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/gpu.h"

static char lockdir[] = "/tmp/vk-gpu-test-XXXXXX";

static void use_nvml(const char *gpus)
{
	setenv("VEEKSHA_NVML_LIB", FAKE_NVML_PATH, 1);
	unsetenv("FAKE_NVML_FAIL");
	setenv("FAKE_NVML_GPUS", gpus, 1);
}

static int setup(void **st)
{
	(void)st;
	if (!mkdtemp(lockdir))
		return -1;
	setenv("VEEKSHA_GPU_LOCK_DIR", lockdir, 1);
	/* no real nvidia-smi fallback interferes */
	setenv("PATH", "/usr/bin:/bin", 1);
	/* the tests below see every fake GPU unless they set it (a CI job on a GPU node may have it set) */
	unsetenv("CUDA_VISIBLE_DEVICES");
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", lockdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_discover_counts(void **st)
{
	(void)st;
	static const struct {
		const char *spec;
		size_t n, n_free;
	} cases[] = {
	    {"", 0, 0},
	    {"80000:80000", 1, 1},
	    {"80000:80000,80000:1000,80000:72000,80000:71999", 4, 2}, /* 90% boundary: 72000 free, 71999 not */
	    {"81920:81920,81920:81920,81920:100,81920:81920,81920:81920,81920:81920,81920:40000,81920:81920", 8, 6},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		use_nvml(cases[c].spec);
		struct gpu_info *g = NULL;
		size_t n = 99;
		char why[256];
		enum gpu_source src = gpu_discover(&g, &n, why, sizeof why);
		assert_int_equal(src, GPU_SOURCE_NVML);
		assert_int_equal(n, cases[c].n);
		size_t nf = 0;
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(g[i].index, (int)i);
			nf += gpu_is_free_mem(&g[i]);
		}
		assert_int_equal(nf, cases[c].n_free);
		free(g);
	}
}

static void test_discover_fallback_smi(void **st)
{
	(void)st;
	setenv("VEEKSHA_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
	char path[4096];
	snprintf(path, sizeof path, "%s:/usr/bin:/bin", FAKE_SMI_DIR);
	setenv("PATH", path, 1);
	setenv("FAKE_SMI_GPUS", "40000:40000,40000:20000,40000:39000", 1);
	struct gpu_info *g = NULL;
	size_t n = 0;
	char why[256];
	assert_int_equal(gpu_discover(&g, &n, why, sizeof why), GPU_SOURCE_NVIDIA_SMI);
	assert_int_equal(n, 3);
	assert_int_equal(g[1].total_mib, 40000);
	assert_int_equal(g[1].free_mib, 20000);
	assert_false(gpu_is_free_mem(&g[1]));
	assert_true(gpu_is_free_mem(&g[2]));
	free(g);
	/* nvidia-smi failing (no driver) and NVML missing: no GPUs, explained */
	setenv("FAKE_SMI_FAIL", "1", 1);
	assert_int_equal(gpu_discover(&g, &n, why, sizeof why), GPU_SOURCE_NONE);
	assert_int_equal(n, 0);
	assert_non_null(strstr(why, "NVML"));
	assert_non_null(strstr(why, "nvidia-smi"));
	unsetenv("FAKE_SMI_FAIL");
	setenv("PATH", "/usr/bin:/bin", 1);
	assert_int_equal(gpu_discover(&g, &n, why, sizeof why), GPU_SOURCE_NONE);
	assert_non_null(strstr(why, "not found"));
	/* NVML init failure also falls back */
	use_nvml("80000:80000");
	setenv("FAKE_NVML_FAIL", "1", 1);
	assert_int_equal(gpu_discover(&g, &n, why, sizeof why), GPU_SOURCE_NONE);
	unsetenv("FAKE_NVML_FAIL");
}

static void test_pick_policy(void **st)
{
	(void)st;
	int out[8];
	const int a[] = {0, 1, 2, 3};
	assert_int_equal(gpu_pick(a, 4, 2, true, out), 0);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 1);
	const int b[] = {0, 2, 3, 5};
	assert_int_equal(gpu_pick(b, 4, 2, true, out), 0);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 3);
	const int c[] = {0, 2, 4, 6};
	assert_int_equal(gpu_pick(c, 4, 2, true, out), -1); /* never silently non-contiguous */
	assert_int_equal(gpu_pick(c, 4, 2, false, out), 0);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 2);
	assert_int_equal(gpu_pick(c, 4, 5, false, out), -1);
	const int d[] = {1, 2, 3, 4, 6, 7};
	assert_int_equal(gpu_pick(d, 6, 4, true, out), 0);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[3], 4);
	assert_int_equal(gpu_pick(d, 6, 0, true, out), -1);
}

static struct gpu_request req_auto(size_t n, bool contiguous)
{
	struct gpu_request r = {
	    .n = n, .contiguous = contiguous, .job = "unit-test", .wait_timeout_s = 0, .poll_interval_s = 0.05};
	return r;
}

static void test_acquire_auto(void **st)
{
	(void)st;
	use_nvml("80000:80000,80000:1000,80000:80000,80000:80000");
	int64_t ids[4];
	char err[1024];
	struct gpu_request r = req_auto(2, true);
	struct gpu_lease *l = gpu_acquire(&r, ids, err, sizeof err);
	assert_non_null(l);
	assert_int_equal(ids[0], 2);
	assert_int_equal(ids[1], 3);
	pid_t pid;
	char job[64];
	assert_int_equal(gpu_lease_query(2, &pid, job, sizeof job), 1);
	assert_int_equal(pid, getpid());
	assert_string_equal(job, "unit-test");
	assert_int_equal(gpu_lease_query(0, &pid, job, sizeof job), 0);
	/* only GPU 0 remains usable: a second pair fails clearly */
	struct gpu_lease *l2 = gpu_acquire(&r, ids, err, sizeof err);
	assert_null(l2);
	assert_non_null(strstr(err, "could not allocate 2 contiguous"));
	assert_non_null(strstr(err, "leased"));
	r.n = 1;
	l2 = gpu_acquire(&r, ids, err, sizeof err);
	assert_non_null(l2);
	assert_int_equal(ids[0], 0);
	gpu_release(l2);
	gpu_release(l);
	assert_int_equal(gpu_lease_query(2, &pid, job, sizeof job), 0);
	/* more than the host has */
	r.n = 5;
	assert_null(gpu_acquire(&r, ids, err, sizeof err));
	assert_non_null(strstr(err, "only 4"));
}

static void test_no_contiguous_block(void **st)
{
	(void)st;
	use_nvml("80000:80000,80000:1000,80000:80000,80000:1000");
	int64_t ids[2];
	char err[1024];
	struct gpu_request r = req_auto(2, true);
	assert_null(gpu_acquire(&r, ids, err, sizeof err));
	assert_non_null(strstr(err, "consecutive"));
	assert_non_null(strstr(err, "require_contiguous_gpus: false"));
	r.contiguous = false;
	struct gpu_lease *l = gpu_acquire(&r, ids, err, sizeof err);
	assert_non_null(l);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 2);
	gpu_release(l);
}

static void test_no_gpus(void **st)
{
	(void)st;
	use_nvml("");
	int64_t ids[1];
	char err[1024];
	struct gpu_request r = req_auto(1, true);
	assert_null(gpu_acquire(&r, ids, err, sizeof err));
	assert_non_null(strstr(err, "no GPUs"));
	/* even with a long wait configured, no GPUs at all fails at once */
	r.wait_timeout_s = 60;
	time_t t0 = time(NULL);
	assert_null(gpu_acquire(&r, ids, err, sizeof err));
	assert_true(time(NULL) - t0 < 30); /* not the 60 s wait (generous: a loaded machine) */
}

static void test_explicit_ids(void **st)
{
	(void)st;
	use_nvml("80000:80000,80000:80000,80000:80000,80000:80000");
	int64_t want[] = {3, 1};
	int64_t ids[2];
	char err[1024];
	struct gpu_request r = {.n = 2, .explicit_ids = want, .n_explicit = 2, .job = "explicit"};
	struct gpu_lease *l = gpu_acquire(&r, ids, err, sizeof err);
	assert_non_null(l);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[1], 1);
	/* the same ids again: leased */
	assert_null(gpu_acquire(&r, ids, err, sizeof err));
	assert_non_null(strstr(err, "leased"));
	/* auto-assign avoids leased GPUs: 1 and 3 taken, {0, 2} is not contiguous */
	struct gpu_request a = req_auto(2, false);
	struct gpu_lease *l2 = gpu_acquire(&a, ids, err, sizeof err);
	assert_non_null(l2);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 2);
	gpu_release(l2);
	gpu_release(l);
	int64_t bad[] = {7};
	struct gpu_request rb = {.n = 1, .explicit_ids = bad, .n_explicit = 1, .job = "bad"};
	assert_null(gpu_acquire(&rb, ids, err, sizeof err));
	assert_non_null(strstr(err, "GPU 7 does not exist"));
}

static void test_bounded_wait(void **st)
{
	(void)st;
	use_nvml("80000:80000");
	int64_t ids[1];
	char err[1024];
	struct gpu_request r = req_auto(1, true);
	struct gpu_lease *l = gpu_acquire(&r, ids, err, sizeof err);
	assert_non_null(l);
	r.wait_timeout_s = 0.4;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_null(gpu_acquire(&r, ids, err, sizeof err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(el >= 0.35 && el < 10.0); /* waited, and stopped (generous upper bound: a loaded machine) */
	assert_non_null(strstr(err, "waited"));
	/* an interrupt flag stops the wait early */
	volatile sig_atomic_t intr = 1;
	r.wait_timeout_s = 30;
	r.interrupted = &intr;
	assert_null(gpu_acquire(&r, ids, err, sizeof err));
	assert_non_null(strstr(err, "interrupted"));
	gpu_release(l);
}

/* Two processes on a fake 4-GPU host, TP 2: disjoint pairs; a third fails; a killed holder's lease
 * is released by the kernel. */
static void test_cross_process(void **st)
{
	(void)st;
	use_nvml("80000:80000,80000:80000,80000:80000,80000:80000");
	int to_parent[2], to_child[2];
	assert_int_equal(pipe(to_parent), 0);
	assert_int_equal(pipe(to_child), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int64_t ids[2];
		char err[1024];
		struct gpu_request r = req_auto(2, true);
		struct gpu_lease *l = gpu_acquire(&r, ids, err, sizeof err);
		int msg[2] = {l ? (int)ids[0] : -1, l ? (int)ids[1] : -1};
		(void)!write(to_parent[1], msg, sizeof msg);
		char c;
		(void)!read(to_child[0], &c, 1); /* hold until told (or killed) */
		_exit(0);
	}
	int got[2];
	assert_int_equal(read(to_parent[0], got, sizeof got), (ssize_t)sizeof got);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[1], 1);
	int64_t ids[2];
	char err[1024];
	struct gpu_request r = req_auto(2, true);
	struct gpu_lease *l = gpu_acquire(&r, ids, err, sizeof err);
	assert_non_null(l);
	assert_int_equal(ids[0], 2);
	assert_int_equal(ids[1], 3);
	/* third request: nothing left */
	struct gpu_lease *l3 = gpu_acquire(&r, ids, err, sizeof err);
	assert_null(l3);
	pid_t holder;
	char job[64];
	assert_int_equal(gpu_lease_query(0, &holder, job, sizeof job), 1);
	assert_int_equal(holder, child);
	/* kill -9 the holder: the kernel drops its locks */
	kill(child, SIGKILL);
	int stt;
	assert_int_equal(waitpid(child, &stt, 0), child);
	l3 = gpu_acquire(&r, ids, err, sizeof err);
	assert_non_null(l3);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 1);
	gpu_release(l3);
	gpu_release(l);
	close(to_parent[0]);
	close(to_parent[1]);
	close(to_child[0]);
	close(to_child[1]);
}

static void test_visible_parse(void **st)
{
	(void)st;
	static const struct {
		const char *value;
		int rc;
		size_t n;
		int ids[4];
	} cases[] = {
	    {NULL, 0, 0, {0}},
	    {"", 1, 0, {0}},
	    {"0", 1, 1, {0}},
	    {"1,3", 1, 2, {1, 3}},
	    {" 2 , 0 ", 1, 2, {2, 0}},
	    {"0,1,-1,2", 1, 2, {0, 1}},
	    {"-1", 1, 0, {0}},
	    {"GPU-8a1b", -1, 0, {0}},
	    {"MIG-1/2/3", -1, 0, {0}},
	    {"0,x", -1, 0, {0}},
	    {"99999999999999999999", -1, 0, {0}},
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		int *ids = NULL;
		size_t n = 99;
		char err[256] = "";
		assert_int_equal(gpu_visible_parse(cases[c].value, &ids, &n, err, sizeof err), cases[c].rc);
		assert_int_equal(n, cases[c].n);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(ids[i], cases[c].ids[i]);
		if (cases[c].rc < 0)
			assert_non_null(strstr(err, "CUDA_VISIBLE_DEVICES"));
		free(ids);
	}
}

/* A Slurm job with --gres=gpu:2 on a 4-GPU node sees CUDA_VISIBLE_DEVICES=1,3: leases are taken only
 * among those, whatever the rest of the host looks like. */
static void test_visible_devices_lease(void **st)
{
	(void)st;
	use_nvml("80000:80000,80000:80000,80000:80000,80000:80000");
	setenv("CUDA_VISIBLE_DEVICES", "1,3", 1);
	int64_t ids[4];
	char err[1024];
	struct gpu_request r = req_auto(1, true);
	struct gpu_lease *l = gpu_acquire(&r, ids, err, sizeof err);
	assert_non_null(l);
	assert_int_equal(ids[0], 1);
	struct gpu_lease *l2 = gpu_acquire(&r, ids, err, sizeof err);
	assert_non_null(l2);
	assert_int_equal(ids[0], 3);
	/* 0 and 2 are free on the host but not ours */
	struct gpu_lease *l3 = gpu_acquire(&r, ids, err, sizeof err);
	assert_null(l3);
	assert_non_null(strstr(err, "CUDA_VISIBLE_DEVICES='1,3' leaves 2 of 4"));
	gpu_release(l2);
	gpu_release(l);
	/* a block of 2 contiguous does not exist among {1, 3}; non-contiguous does */
	r.n = 2;
	assert_null(gpu_acquire(&r, ids, err, sizeof err));
	r.contiguous = false;
	l = gpu_acquire(&r, ids, err, sizeof err);
	assert_non_null(l);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 3);
	gpu_release(l);
	r.n = 3;
	assert_null(gpu_acquire(&r, ids, err, sizeof err));
	assert_non_null(strstr(err, "only 2 are visible"));
	/* explicit ids outside the visible set */
	int64_t want[] = {2};
	struct gpu_request re = {.n = 1, .explicit_ids = want, .n_explicit = 1, .job = "explicit"};
	assert_null(gpu_acquire(&re, ids, err, sizeof err));
	assert_non_null(strstr(err, "GPU 2 is not visible"));
	/* nothing visible; an unreadable value */
	setenv("CUDA_VISIBLE_DEVICES", "", 1);
	r.n = 1;
	assert_null(gpu_acquire(&r, ids, err, sizeof err));
	assert_non_null(strstr(err, "no GPU of this host is visible"));
	setenv("CUDA_VISIBLE_DEVICES", "GPU-8a1b", 1);
	assert_null(gpu_acquire(&r, ids, err, sizeof err));
	assert_non_null(strstr(err, "only GPU indices"));
	unsetenv("CUDA_VISIBLE_DEVICES");
	l = gpu_acquire(&r, ids, err, sizeof err);
	assert_non_null(l);
	assert_int_equal(ids[0], 0);
	gpu_release(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_discover_counts),       cmocka_unit_test(test_discover_fallback_smi),
	    cmocka_unit_test(test_pick_policy),           cmocka_unit_test(test_acquire_auto),
	    cmocka_unit_test(test_no_contiguous_block),   cmocka_unit_test(test_no_gpus),
	    cmocka_unit_test(test_explicit_ids),          cmocka_unit_test(test_bounded_wait),
	    cmocka_unit_test(test_cross_process),         cmocka_unit_test(test_visible_parse),
	    cmocka_unit_test(test_visible_devices_lease),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
