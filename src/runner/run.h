#ifndef VK_RUNNER_RUN_H
#define VK_RUNNER_RUN_H
/* One benchmark run: config -> (managed server) -> sessions -> traffic -> client -> evaluator ->
 * run directory. Single-threaded event loop (core/ev.h); the client and scheduler run on it. */
#include <signal.h>
#include <stdbool.h>

#include "config/config_types.h"

struct server_handle;

struct runner_result {
	char *run_dir; /* xmalloc'd; NULL when no run directory was created */
	int exit_code; /* 0 ok, 1 runtime failure, 2 config error, 3 SLOs not met with --fail-on-slo,
	                * 128+signo when stopped by a signal (outputs are still written) */
	bool all_slos_met;
	bool interrupted;
	bool server_failed;
	bool measured; /* the benchmark loop ran: its outputs hold a measurement (false: the managed
	                * server did not start, the config or the run directory failed, ...) */
};

/* Run one benchmark. When cfg->has_server and `server` is NULL, the server is started and stopped
 * here; a non-NULL `server` (sweep reuse) is used as is and left running. */
void runner_run_one(const struct cfg_benchmark *cfg, const struct cfg_run_opts *opts, struct server_handle *server,
                    struct runner_result *out);

/* Like runner_run_one, but a server launched here is left running and returned in *server_out
 * (NULL when none was launched or it died) so that the next runs of a sweep can reuse it. */
void runner_run_one_keep_server(const struct cfg_benchmark *cfg, const struct cfg_run_opts *opts,
                                struct server_handle **server_out, struct runner_result *out);

/* A managed server shared by the runs of a sweep, a capacity search or a microbenchmark that has
 * exited (it crashed or was killed during an earlier run) is of no use to the next run: stop and free
 * it and set *server to NULL, so that the next run launches a new one instead of measuring a dead
 * server (docs/META.md). true when it did (logged). */
bool runner_drop_dead_server(struct server_handle **server);

/* Signal state shared by the runner's phases (server start-up, benchmark loop, sweeps). */
void runner_signals_install(void);
int runner_signal_pending(void); /* the first signal received (0 = none) */
int runner_signal_fd(void);      /* readable when a signal arrived */
extern volatile sig_atomic_t runner_interrupted;

#endif
