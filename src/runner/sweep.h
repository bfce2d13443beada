#ifndef VK_RUNNER_SWEEP_H
#define VK_RUNNER_SWEEP_H
/* Sweeps: a config that expands to several runs (!expand, top-level list). Runs are grouped by
 * their output_dir; a group of several runs goes under <output_dir>/sweep_<UTC %d:%m:%Y-%H:%M:%S>/
 * with sweep_manifest.json, sweep_summary.json and sweep_summary.csv (reference §6.3). Runs whose
 * server: sections are identical share one launched server. A failed run is recorded and the
 * sweep continues. With --launcher slurm each group is submitted as one Slurm job array instead, and
 * --sweep-point runs one point of it (runner/sweep_job.h, docs/SLURM.md). */
#include <stddef.h>

#include "config/config_types.h"

int sweep_run(const struct cfg_benchmark *items, size_t n, const struct cfg_run_opts *opts);

/* The exit code of a sweep with runs that exited a and b (docs/META.md, Sweeps): a signal (128+N)
 * before a runtime or usage failure (1, 2), which comes before missed SLOs (3), before 0; the
 * larger code among equals. A truncated run is never reported as only a missed SLO. */
int sweep_exit_worse(int a, int b);

#endif
