#ifndef VK_RUNNER_PROGRESS_H
#define VK_RUNNER_PROGRESS_H
/* The live progress line on stderr: elapsed, sessions, completions, errors, in flight,
 * TTFC p50/p99, output tokens/s. Redrawn in place on a TTY; a plain line every 5 s otherwise;
 * nothing with --quiet. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct eval_live;

struct progress {
	bool quiet;
	bool tty;
	bool drawn;
	int64_t last_plain_ns;
	int64_t max_sessions;
	int64_t timeout_s;
};

void progress_init(struct progress *p, bool quiet, int64_t max_sessions, int64_t timeout_s);
void progress_update(struct progress *p, int64_t elapsed_ns, const struct eval_live *live, size_t in_flight);
void progress_clear(struct progress *p);

#endif
