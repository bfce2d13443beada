#ifndef VK_RUNNER_RUNNER_CLI_H
#define VK_RUNNER_RUNNER_CLI_H
/* The runner's command entry points (argv[0] = the subcommand name; they return the exit code:
 * 0 ok, 1 runtime failure, 2 usage/config error, 3 SLO failure with --fail-on-slo). `veeksha merge`
 * and `veeksha evaluate` are declared in runner/merge.h and runner/evaluate.h. */

int runner_benchmark_main(int argc, char **argv); /* veeksha benchmark */
int sweep_cli_main(int argc, char **argv);        /* veeksha sweep status|collect */

#endif
