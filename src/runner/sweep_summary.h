#ifndef VK_RUNNER_SWEEP_SUMMARY_H
#define VK_RUNNER_SWEEP_SUMMARY_H
/* sweep_summary.json / sweep_summary.csv / decode_stats.json / decode_stats.csv from the run
 * directories of a sweep (reference §6.3). A NULL run_dir (a run that failed before creating its
 * directory) is recorded with empty metrics. cfgs[i] is the config of run i. */
#include <stddef.h>

#include "config/config_types.h"

struct cJSON;

/* Parsed <run_dir>/metrics/<name> (caller frees with cJSON_Delete); NULL when run_dir is NULL or
 * the file is missing or not JSON. Python's non-finite tokens are read too: Infinity as inf, NaN as
 * null. Shared with the capacity search and `veeksha report`. */
struct cJSON *sweep_read_metrics_json(const char *run_dir, const char *name);

int sweep_summary_write(const char *sweep_dir, const char *const *run_dirs, const struct cfg_benchmark *cfgs, size_t n);

/* Everything a finished sweep writes: sweep_manifest.json plus sweep_summary_write's files. The local
 * sweep and `veeksha sweep collect` (a sweep run as a Slurm job array, docs/SLURM.md) both end here,
 * so their files have the same keys and columns. 0, or -1 when a file could not be written. */
int sweep_outputs_write(const char *sweep_dir, const char *const *run_dirs, const struct cfg_benchmark *cfgs, size_t n);

#endif
