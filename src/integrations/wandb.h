#ifndef VK_INTEGRATIONS_WANDB_H
#define VK_INTEGRATIONS_WANDB_H
/* Weights & Biases logging of a finished run (docs/INTEGRATIONS.md): with wandb.enabled, the W&B
 * bridge (python/veeksha_bridges/wandb_bridge.py, run by <wandb.env_path>/bin/python) creates a
 * W&B run, logs the config, the summary metrics, the time series (metrics/timeseries.csv) and,
 * with log_artifacts, the run directory's files as an artifact; Veeksha writes wandb_run.json
 * (run id, URL, ...) into the run directory. Any failure is one warning: the benchmark's files are
 * never touched. */
#include "config/config_types.h"

/* Nothing when wandb.enabled is false. Returns 0 when logged (or disabled), 1 after a warning. */
int integ_wandb_log(const struct cfg_benchmark *cfg, const char *run_dir);
/* A point of a sweep (as the reference): its W&B run goes to group "sweep-<sweep directory name>"
 * (unless wandb.group is set) with the tag "sweep". No-op when wandb.enabled is false. */
void integ_wandb_sweep_point(struct cfg_benchmark *cfg, const char *sweep_dir);
/* A probe of a capacity search (as the reference): group "capsearch-<search directory name>" and
 * run name "<attempt, 2 digits>-<knob>=<value>" unless set, the tag "capsearch". No-op when
 * wandb.enabled is false. */
void integ_wandb_capsearch_probe(struct cfg_benchmark *cfg, const char *search_dir, int attempt, const char *knob,
                                 const char *value);

/* The summary run at the end of a sweep or a capacity search (docs/INTEGRATIONS.md): run
 * "<sweep|capsearch>-summary-<dir name>" in the points' group with the tags + "sweep"/"capsearch"
 * + "summary"; the bridge logs the sweep's sweep_summary.csv, or the search's attempts and SLO
 * details (writing capacity_search_attempts.csv and capacity_search_slo_details.csv into dir),
 * as tables and the directory's result files as an artifact. Nothing when wandb.enabled is
 * false; 0 when logged, 1 after a warning. */
enum integ_wandb_summary { INTEG_WANDB_SWEEP, INTEG_WANDB_CAPSEARCH };
int integ_wandb_log_summary(const struct cfg_wandb *w, enum integ_wandb_summary kind, const char *dir);

#endif
