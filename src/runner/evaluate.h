#ifndef VK_RUNNER_EVALUATE_H
#define VK_RUNNER_EVALUATE_H
/* `veeksha evaluate RUN_DIR`: a run's files recomputed from its raw records under its configuration
 * changed by flags (docs/METRICS.md, Re-evaluating a run). */
#include "config/config_types.h"
#include "runner/run.h"

/* overrides: configuration flags as for veeksha benchmark (e.g. "--evaluators", "[...]"). out_dir NULL:
 * <run_dir>/evaluated-<UTC time>/. Fills out (run_dir: the output directory, xmalloc'd) and returns its
 * exit code: 0, 1 (I/O), 2 (not a run directory, bad flags, unreadable records), 3 (SLOs not met with
 * fail_on_slo). */
int runner_evaluate(const char *run_dir, const char *out_dir, int n_overrides, char **overrides,
                    const struct cfg_run_opts *opts, struct runner_result *out);

int runner_evaluate_main(int argc, char **argv);

#endif
