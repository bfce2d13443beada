/* veeksha: one binary, many subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* Each module declares its commands in its public header (docs/ARCHITECTURE.md, Layers). */
#include "config/config.h"
#include "core/xalloc.h"
#include "meta/meta_cli.h"
#include "runner/evaluate.h"
#include "runner/merge.h"
#include "runner/runner_cli.h"
#include "server/server.h"
#include "sim/sim_cli.h"
#include "tokenizer/tokenizer.h"

static const struct vk_command main_commands[] = {
    {"benchmark", runner_benchmark_main, "run a benchmark from a YAML config and/or flags"},
    {"capacity-search", meta_capacity_search_main, "find the highest load that meets the SLOs"},
    {"microbench", meta_microbench_main, "prefill | decode | stress microbenchmarks"},
    {"sim-server", sim_server_main, "run the built-in simulated inference server"},
    {"config", config_cli_main, "show | describe | export-schema for configurations"},
    {"gpus", server_gpus_main, "list GPUs, their free memory and current leases"},
    {"tokenize", tokenizer_cli_main, "tokenize / count / decode with a tokenizer.json"},
    {"report", meta_report_main, "compare runs or sweeps side by side"},
    {"sweep", sweep_cli_main, "status | collect of a sweep submitted as a Slurm job array"},
    {"merge", runner_merge_main, "merge the shards of a sharded run into one run directory"},
    {"evaluate", runner_evaluate_main, "recompute a run's metrics from its raw records (new SLOs, a window)"},
    {"version", meta_version_main, "print the version and the versions of the libraries"},
};

static void main_usage(FILE *out)
{
	fprintf(out, "usage: veeksha <command> [options]\n\n"
	             "Benchmarks LLM inference servers (vLLM, SGLang, Vajra or the built-in simulator).\n\n"
	             "commands:\n");
	for (size_t i = 0; i < sizeof main_commands / sizeof main_commands[0]; i++)
		fprintf(out, "  %-16s %s\n", main_commands[i].name, main_commands[i].help);
	fprintf(out, "\nRun 'veeksha <command> --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
	/* cJSON allocates through the project's allocator: out of memory is a clear message and an exit,
	 * never a NULL that a cJSON caller does not check */
	cJSON_Hooks hooks = {.malloc_fn = xmalloc, .free_fn = free};
	cJSON_InitHooks(&hooks);
	if (argc < 2) {
		main_usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		main_usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version"))
		return meta_version_main(1, argv + 1);
	/* Hidden: the build generates the installed completions and man pages with these. */
	if (!strcmp(cmd, "completion") || !strcmp(cmd, "man"))
		return meta_docs_main(argc - 1, argv + 1, main_commands,
		                      sizeof main_commands / sizeof main_commands[0]);
	for (size_t i = 0; i < sizeof main_commands / sizeof main_commands[0]; i++)
		if (!strcmp(cmd, main_commands[i].name))
			return main_commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "veeksha: unknown command '%s'\n", cmd);
	main_usage(stderr);
	return 2;
}
