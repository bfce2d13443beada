#ifndef VK_META_META_CLI_H
#define VK_META_META_CLI_H
/* The meta module's command entry points (argv[0] = the subcommand name; they return the exit
 * code: 0 ok, 1 runtime failure, 2 usage/config error, 3 SLO failure with --fail-on-slo). */
#include <stddef.h>

int meta_capacity_search_main(int argc, char **argv); /* veeksha capacity-search */
int meta_microbench_main(int argc, char **argv);      /* veeksha microbench prefill|decode|stress */
int meta_report_main(int argc, char **argv);          /* veeksha report */
int meta_version_main(int argc, char **argv);         /* veeksha version */

/* A subcommand as main.c lists it; the hidden `veeksha completion|man` (src/meta/meta_docs.c)
 * generate the shell completions and man pages from this list and each command's --help. */
struct vk_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};
int meta_docs_main(int argc, char **argv, const struct vk_command *commands, size_t n_commands);

#endif
