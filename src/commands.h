#ifndef VK_COMMANDS_H
#define VK_COMMANDS_H
#include <stddef.h>
/* Subcommand entry points. Each gets argv with argv[0] = the subcommand name and returns the
 * process exit code (0 ok, 1 runtime failure, 2 usage/config error, 3 SLO failure with --fail-on-slo). */

int runner_benchmark_main(int argc, char **argv);     /* src/runner: veeksha benchmark */
int config_cli_main(int argc, char **argv);           /* src/config: veeksha config ... */
int sim_server_main(int argc, char **argv);           /* src/sim:    veeksha sim-server */
int server_gpus_main(int argc, char **argv);          /* src/server: veeksha gpus */
int tokenizer_cli_main(int argc, char **argv);        /* src/tokenizer: veeksha tokenize */
int meta_capacity_search_main(int argc, char **argv); /* src/meta: veeksha capacity-search */
int meta_microbench_main(int argc, char **argv);      /* src/meta: veeksha microbench prefill|decode|stress */
int meta_report_main(int argc, char **argv);          /* src/meta: veeksha report */
int sweep_cli_main(int argc, char **argv);            /* src/runner: veeksha sweep status|collect */
int runner_merge_main(int argc, char **argv);         /* src/runner: veeksha merge */
int runner_evaluate_main(int argc, char **argv);      /* src/runner: veeksha evaluate */
int meta_version_main(int argc, char **argv);         /* src/meta: veeksha version */

/* A subcommand as main.c lists it; the hidden `veeksha completion|man` (src/meta/meta_docs.c)
 * generate the shell completions and man pages from this list and each command's --help. */
struct vk_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};
int meta_docs_main(int argc, char **argv, const struct vk_command *commands, size_t n_commands);

#endif
