/* `veeksha-sim`: the simulated server alone (same CLI as `veeksha sim-server`), so the sim can be
 * built and tested while other modules of the full binary are in flux. Not installed. */
#include <stdio.h>
#include <string.h>

#include "sim/sim_cli.h"

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "sim-server"))
		return sim_server_main(argc - 1, argv + 1);
	fprintf(stderr, "usage: veeksha-sim sim-server [options]\n");
	return 2;
}
