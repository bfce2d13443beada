/* veeksha gpus: list GPUs, their free memory and current leases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/jsonw.h"
#include "server/gpu.h"
#include "server/server.h"

static void gpus_usage(FILE *out)
{
	fprintf(out, "usage: veeksha gpus [--json]\n\n"
	             "Lists the GPUs of this host (NVML, fallback nvidia-smi), their free memory, whether they\n"
	             "count as free for auto-assignment (>= 90%% memory free and not leased) and the veeksha\n"
	             "process holding each lease. Lease lock files live in $VEEKSHA_GPU_LOCK_DIR\n"
	             "(default /tmp/veeksha-gpu-locks).\n");
}

int server_gpus_main(int argc, char **argv)
{
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			gpus_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			fprintf(stderr, "veeksha gpus: unknown option '%s'\n", argv[i]);
			gpus_usage(stderr);
			return 2;
		}
	}
	struct gpu_info *g = NULL;
	size_t n = 0;
	char why[600];
	enum gpu_source src = gpu_discover(&g, &n, why, sizeof why);
	if (json) {
		struct buf b;
		buf_init(&b);
		struct jsonw w;
		jsonw_init(&w, &b, 4);
		jsonw_obj_begin(&w);
		jsonw_key(&w, "source");
		jsonw_str(&w, gpu_source_name(src));
		jsonw_key(&w, "lock_dir");
		jsonw_str(&w, gpu_lock_dir());
		jsonw_key(&w, "gpus");
		jsonw_arr_begin(&w);
		for (size_t i = 0; i < n; i++) {
			pid_t pid;
			char job[256];
			int leased = gpu_lease_query(g[i].index, &pid, job, sizeof job);
			jsonw_obj_begin(&w);
			jsonw_key(&w, "index");
			jsonw_int(&w, g[i].index);
			jsonw_key(&w, "memory_total_mib");
			jsonw_int(&w, (int64_t)g[i].total_mib);
			jsonw_key(&w, "memory_free_mib");
			jsonw_int(&w, (int64_t)g[i].free_mib);
			jsonw_key(&w, "free");
			jsonw_bool(&w, gpu_is_free_mem(&g[i]) && leased != 1);
			jsonw_key(&w, "lease");
			if (leased == 1) {
				jsonw_obj_begin(&w);
				jsonw_key(&w, "pid");
				jsonw_int(&w, pid);
				jsonw_key(&w, "job");
				jsonw_str(&w, job);
				jsonw_obj_end(&w);
			} else {
				jsonw_null(&w);
			}
			jsonw_obj_end(&w);
		}
		jsonw_arr_end(&w);
		jsonw_obj_end(&w);
		printf("%s\n", b.data);
		buf_free(&b);
		free(g);
		return 0;
	}
	if (src == GPU_SOURCE_NONE) {
		printf("no GPUs found (%s)\n", why);
		printf("lease dir: %s\n", gpu_lock_dir());
		return 0;
	}
	printf("%zu GPU(s) via %s; lease dir: %s\n", n, gpu_source_name(src), gpu_lock_dir());
	printf("%-5s %12s %12s %6s  %s\n", "GPU", "total MiB", "free MiB", "free?", "lease");
	for (size_t i = 0; i < n; i++) {
		pid_t pid;
		char job[256];
		int leased = gpu_lease_query(g[i].index, &pid, job, sizeof job);
		char lease[320];
		if (leased == 1)
			snprintf(lease, sizeof lease, "pid %ld job %s", (long)pid, job[0] ? job : "?");
		else
			snprintf(lease, sizeof lease, "-");
		printf("%-5d %12llu %12llu %6s  %s\n", g[i].index, (unsigned long long)g[i].total_mib,
		       (unsigned long long)g[i].free_mib, gpu_is_free_mem(&g[i]) && leased != 1 ? "yes" : "no", lease);
	}
	free(g);
	return 0;
}
