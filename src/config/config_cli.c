/* Placeholder until the module lands: announces itself and exits 2. */
#include <stdio.h>

#include "commands.h"

int config_cli_main(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "veeksha: '%s' is not implemented yet\n", argv[0]);
	return 2;
}
