#ifndef VK_RUNNER_RUNDIR_H
#define VK_RUNNER_RUNDIR_H
/* Run directories: <output_dir>/<UTC %d_%m_%Y-%H_%M_%S>-<sha1(config.yml)[:8]>/ with -2, -3 ...
 * suffixes on collision (reference §5.6). config.yml is the resolved config, secrets redacted. */
#include <stdint.h>

#include "config/config_types.h"

/* Creates the directory and writes config.yml into it. Returns the run dir path (xmalloc'd) or
 * NULL with a message in err. */
char *rundir_create(const struct cfg_benchmark *cfg, char *err, size_t err_len);
/* The first 8 hex digits of sha1(config.yml) (the run directory's suffix). 0, or -1 out of memory. */
int rundir_config_hash(const struct cfg_benchmark *cfg, char hash[9]);
/* Sharded runs (docs/DISTRIBUTED.md): <output_dir>/<UTC time of epoch_ns>-<sha1(config.yml)[:8]>/, the same
 * name in every shard that agrees on epoch_ns; an existing directory is used as is (no config.yml: the
 * merge writes it). */
char *rundir_create_shared(const struct cfg_benchmark *cfg, int64_t epoch_ns, char *err, size_t err_len);
/* <run_dir>/shard-<index>-of-<count>/ with its config.yml; an existing one is an error (two shards with
 * one index). */
char *rundir_create_shard(const struct cfg_benchmark *cfg, const char *run_dir, uint32_t index, uint32_t count,
                          char *err, size_t err_len);
/* Create a unique directory named <parent>/<prefix><UTC time in fmt>[-N] (sweeps, capacity search). */
char *rundir_create_timestamped(const char *parent, const char *prefix, const char *strftime_fmt, const char *suffix,
                                char *err, size_t err_len);

#endif
