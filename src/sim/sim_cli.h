#ifndef VK_SIM_SIM_CLI_H
#define VK_SIM_SIM_CLI_H
/* The sim module's public entry point (the rest of sim/ is internal: sim.h). */

/* `veeksha sim-server` (argv[0] = "sim-server"). Returns the exit code. */
int sim_server_main(int argc, char **argv);

#endif
