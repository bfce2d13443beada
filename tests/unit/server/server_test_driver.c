/* Test driver for the managed-server lifecycle (used by tests/e2e/test_server_*.sh):
 *   server_test_driver --type vllm|sglang|vajra|sim --run-dir DIR --port P [--host H] [--env ENV]
 *       [--model M] [--api-key K] [--tp N] [--gpu-ids 0,1] [--no-contiguous] [--timeout S]
 *       [--interval S] [--args JSON] [--hold S]
 * Prints "PID <pid>", "READY <api_base>", "GPUS <ids>", "STOPPED <code> <desc>" lines on stdout.
 * --hold S keeps the server up S seconds (-1: until SIGINT/SIGTERM) before stopping it.
 * Exit: 0 ok, 10 start failed, 11 not ready, 12 stop returned non-zero. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/server.h"

static volatile sig_atomic_t driver_stop;

static void driver_on_signal(int s)
{
	(void)s;
	driver_stop = 1;
}

int main(int argc, char **argv);

int main(int argc, char **argv)
{
	struct cfg_server c;
	memset(&c, 0, sizeof c);
	c.type = CFG_SERVER_VLLM;
	c.model = "meta-llama/Meta-Llama-3-8B-Instruct";
	c.host = "127.0.0.1";
	c.port = 8000;
	c.api_key = "token-abc123";
	c.startup_timeout = 30;
	c.health_check_interval = 0.2;
	c.require_contiguous_gpus = true;
	c.tensor_parallel_size = 1;
	c.dtype = "auto";
	c.additional_args = "{}";
	const char *run_dir = ".";
	double hold = 0;
	int64_t ids[16];
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : "";
		if (!strcmp(a, "--type")) {
			c.type = !strcmp(v, "sglang")  ? CFG_SERVER_SGLANG
			         : !strcmp(v, "vajra") ? CFG_SERVER_VAJRA
			         : !strcmp(v, "sim")   ? CFG_SERVER_SIM
			                               : CFG_SERVER_VLLM;
		} else if (!strcmp(a, "--run-dir")) {
			run_dir = v;
		} else if (!strcmp(a, "--port")) {
			c.port = atoll(v);
		} else if (!strcmp(a, "--host")) {
			c.host = (char *)v;
		} else if (!strcmp(a, "--env")) {
			c.env_path = (char *)v;
		} else if (!strcmp(a, "--model")) {
			c.model = (char *)v;
		} else if (!strcmp(a, "--api-key")) {
			c.api_key = (char *)v;
		} else if (!strcmp(a, "--tp")) {
			c.tensor_parallel_size = atoll(v);
		} else if (!strcmp(a, "--gpu-ids")) {
			char *dup = strdup(v), *save = NULL;
			for (char *t = strtok_r(dup, ",", &save); t && c.n_gpu_ids < 16; t = strtok_r(NULL, ",", &save))
				ids[c.n_gpu_ids++] = atoll(t);
			c.gpu_ids = ids;
			c.has_gpu_ids = true;
			free(dup);
		} else if (!strcmp(a, "--no-contiguous")) {
			c.require_contiguous_gpus = false;
			continue;
		} else if (!strcmp(a, "--timeout")) {
			c.startup_timeout = atoll(v);
		} else if (!strcmp(a, "--interval")) {
			c.health_check_interval = atof(v);
		} else if (!strcmp(a, "--args")) {
			c.additional_args = (char *)v;
		} else if (!strcmp(a, "--hold")) {
			hold = atof(v);
		} else {
			fprintf(stderr, "server_test_driver: unknown option %s\n", a);
			return 2;
		}
		i++;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = driver_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	server_set_interrupt_flag(&driver_stop);
	setvbuf(stdout, NULL, _IOLBF, 0);

	char err[2048];
	struct server_handle *h = server_start(&c, run_dir, err, sizeof err);
	if (!h) {
		printf("START_FAILED %s\n", err);
		return 10;
	}
	printf("PID %ld\n", (long)server_pid(h));
	size_t ng;
	const int64_t *g = server_gpu_ids(h, &ng);
	printf("GPUS");
	for (size_t i = 0; i < ng; i++)
		printf("%s%lld", i ? "," : " ", (long long)g[i]);
	printf("\n");
	if (server_wait_ready(h, &driver_stop, err, sizeof err)) {
		printf("NOT_READY %s\n", err);
		int rc = server_stop(h);
		printf("STOPPED %d %s\n", rc, server_exit_desc(h));
		server_handle_free(h);
		return 11;
	}
	printf("READY %s\n", server_api_base(h));
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!driver_stop) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		if (hold >= 0 && el >= hold)
			break;
		if (!server_is_alive(h)) {
			printf("DIED %s\n", server_exited_unexpectedly(h) ? "unexpectedly" : "?");
			break;
		}
		usleep(20000);
	}
	int rc = server_stop(h);
	printf("STOPPED %d %s\n", rc, server_exit_desc(h));
	server_handle_free(h);
	return rc == 0 || rc == 143 ? 0 : 12;
}
