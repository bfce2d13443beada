#ifndef VK_RUNNER_MERGE_H
#define VK_RUNNER_MERGE_H
/* `veeksha merge`: one run directory from the run directories of a sharded run's shards, computed
 * by replaying the shards' event logs (metrics/eval_events.jsonl) into one evaluator, so that every
 * file is exactly what one process evaluating all the records would write (docs/MERGE.md). */
#include <stdbool.h>
#include <stddef.h>

#include "config/config_types.h"
#include "runner/run.h"

/* Each shard_dirs[i] is a shard directory (it holds metrics/eval_events.jsonl) or a directory whose
 * subdirectories named shard-K-of-N are shards. out_dir NULL: the shards' common parent directory.
 * The shards must be 0..N-1 of one N, each once, with identical config.yml files (else exit code 2
 * naming the missing, duplicate or differing shard); allow_partial merges the shards present and
 * marks the run truncated ("shard K of N missing"). Writes config.yml, every evaluator file,
 * metrics/shards.json and prints the console summary and a per-shard table on stdout. Fills out like
 * runner_run_one: exit_code 0, 1 (an output failed, or a shard is missing or did not complete: the
 * merged run is truncated or interrupted), 2 (usage, mismatched shards), 3 (SLOs not met with
 * opts->fail_on_slo); all_slos_met; run_dir (xmalloc'd output directory, NULL before it is known). */
int runner_merge(const char *const *shard_dirs, size_t n_dirs, const char *out_dir, const struct cfg_run_opts *opts,
                 bool allow_partial, struct runner_result *out);

/* runner_merge with the records evaluated under cfg_override (NULL: the shards' own config.yml), which
 * is also what the output's config.yml holds (veeksha evaluate). */
int runner_merge_ex(const char *const *shard_dirs, size_t n_dirs, const char *out_dir, const struct cfg_run_opts *opts,
                    bool allow_partial, const struct cfg_benchmark *cfg_override, struct runner_result *out);

/* `veeksha merge [--output DIR] [--fail-on-slo] [--quiet] [--allow-partial] DIR...` */
int runner_merge_main(int argc, char **argv);

/* Whether name is a shard directory's name, shard-K-of-N (decimal K and N, nothing else). */
bool merge_is_shard_name(const char *name);

#endif
