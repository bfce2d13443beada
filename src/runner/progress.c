#include "runner/progress.h"

#include <stdio.h>
#include <unistd.h>

#include "metrics/evaluator.h"

#define PROGRESS_PLAIN_EVERY_NS 5000000000LL

void progress_init(struct progress *p, bool quiet, int64_t max_sessions, int64_t timeout_s)
{
	p->quiet = quiet;
	p->tty = isatty(STDERR_FILENO);
	p->drawn = false;
	p->last_plain_ns = 0;
	p->max_sessions = max_sessions;
	p->timeout_s = timeout_s;
}

void progress_update(struct progress *p, int64_t elapsed_ns, const struct eval_live *live, size_t in_flight)
{
	if (p->quiet)
		return;
	if (!p->tty) {
		if (elapsed_ns - p->last_plain_ns < PROGRESS_PLAIN_EVERY_NS)
			return;
		p->last_plain_ns = elapsed_ns;
	}
	char sessions[48];
	if (p->max_sessions > 0)
		snprintf(sessions, sizeof sessions, "%llu/%lld", (unsigned long long)live->sessions,
		         (long long)p->max_sessions);
	else
		snprintf(sessions, sizeof sessions, "%llu", (unsigned long long)live->sessions);
	fprintf(stderr,
	        "%s[%6.1fs] sessions %s | done %llu | errors %llu | in flight %zu | TTFC p50 %.1f ms p99 %.1f ms | "
	        "%.0f tok/s%s",
	        p->tty ? "\r\033[K" : "", (double)elapsed_ns / 1e9, sessions, (unsigned long long)live->completed,
	        (unsigned long long)live->errors, in_flight, live->ttfc_p50_s * 1e3, live->ttfc_p99_s * 1e3,
	        live->output_tokens_per_s, p->tty ? "" : "\n");
	fflush(stderr);
	p->drawn = p->tty;
}

void progress_clear(struct progress *p)
{
	if (p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->drawn = false;
	}
}
