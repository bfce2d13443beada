#ifndef VK_RUNNER_SHARD_H
#define VK_RUNNER_SHARD_H
/* Which shard of a distributed benchmark this process is, and how the shards agree on one start
 * (docs/DISTRIBUTED.md).
 *
 * A process is host shard K of N (from --shard K/N or the launcher's environment). With
 * runtime.num_client_threads = T it runs T loops, global shards K*T + j of N*T. Every global shard
 * writes <run>/shard-<g>-of-<G>/; the merged results go into <run>/.
 *
 * The rendezvous is a directory on a file system every shard sees. Files, each written atomically:
 *   hello-K-of-N.json  {"index", "count", "host", "pid", "epoch_ns", "config_sha"}: shard K exists; shard 0's
 *                      epoch_ns names the run directory of all shards.
 *   ready-K-of-N.json  shard K has prepared everything (server, workload, connections) at epoch_ns.
 *   done-K-of-N.json   shard K finished: {"exit_code", "run_dir", "shard_dirs": [...]}.
 * The start is the latest ready epoch_ns plus the margin: every shard reads the same files, so every
 * shard computes the same start. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"

struct runner_shard {
	uint32_t index, count;  /* host shard K of N (0 of 1: not sharded across processes) */
	const char *source;     /* "--shard", "srun", "slurm array", "kubernetes", "none" */
	int64_t start_epoch_ns; /* --start-at (0: none) */
	char *rendezvous_dir;   /* xmalloc'd or NULL */
	double margin_s, timeout_s;
	bool announced; /* this process wrote its hello (it owes the others a done file) */
	bool done_said; /* this process wrote its done file */
};

/* Fills *sh from the run options and the environment. -1 with a message on a bad --shard value or an
 * inconsistent environment, or when N > 1 and neither --start-at nor a rendezvous directory is
 * available. */
int shard_resolve(const struct cfg_run_opts *opts, const char *output_dir, struct runner_shard *sh, char *err,
                  size_t err_len);
void shard_free(struct runner_shard *sh);

/* Parses "K/N" (0 <= K < N). 0 or -1. */
int shard_parse(const char *text, uint32_t *index, uint32_t *count);

/* Announces this shard and waits (bounded by timeout_s, and by the signal flag) for shard 0's hello.
 * *run_epoch_ns receives shard 0's hello time. 0, or -1 with a message. */
int shard_hello(struct runner_shard *sh, const char *config_sha, int64_t *run_epoch_ns, char *err, size_t err_len);
/* Says this shard is ready and waits for every shard's ready; *start_epoch_ns is the common start.
 * 0, or -1 with a message (a missing shard names itself; a shard that wrote its done file without
 * being ready, having failed, ends the wait at once). */
int shard_ready(const struct runner_shard *sh, int64_t *start_epoch_ns, char *err, size_t err_len);
/* Records this shard's end (also after a failure before its start: the others stop waiting for it). */
int shard_done(struct runner_shard *sh, int exit_code, const char *run_dir, char *err, size_t err_len);
/* Shard 0: waits (bounded by wait_s) until every shard's done file exists. Returns the number found
 * (count when all). */
uint32_t shard_wait_done(const struct runner_shard *sh, double wait_s);

/* Converts an absolute CLOCK_REALTIME instant to CLOCK_MONOTONIC (this host's clocks, now). */
int64_t shard_epoch_to_mono_ns(int64_t epoch_ns);

#endif
