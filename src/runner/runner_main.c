/* veeksha benchmark: parse the config (one run or a sweep) and run it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "runner/run.h"
#include "runner/runner_cli.h"
#include "runner/sweep.h"

int runner_benchmark_main(int argc, char **argv)
{
	struct config_benchmark_set set;
	memset(&set, 0, sizeof set);
	char cerr[2048];
	int r = config_parse_benchmark_args(argc, argv, &set, cerr, sizeof cerr);
	if (r == CONFIG_HELP_PRINTED)
		return 0;
	if (r != CONFIG_OK) {
		fprintf(stderr, "%s\n", cerr);
		return CONFIG_EXIT_USAGE;
	}
	if (set.opts.quiet)
		log_set_level(LOG_WARN);
	int code;
	if (set.count == 1) {
		struct runner_result res;
		runner_run_one(&set.items[0], &set.opts, NULL, &res);
		code = res.exit_code;
		free(res.run_dir);
	} else {
		code = sweep_run(set.items, set.count, &set.opts);
	}
	config_benchmark_set_free(&set);
	return code;
}
