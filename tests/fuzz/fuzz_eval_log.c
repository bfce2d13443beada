/* libFuzzer target for the evaluator's event-log reader and replay (src/metrics/eval_log.c).
 * The input is a metrics/eval_events.jsonl file.
 * Reader properties: no crash/leak/UB; an error names the input and its line ("fuzz.log:<n>: ") and
 * is sticky; end of input is sticky; every event has a known kind; a DONE event's chunks are within
 * its line; reading the input again gives the same events (count and digest).
 * Replay: a log the reader accepts (at most 64 events) is replayed into an evaluator and finalized
 * without crashing, whatever its times, ids and counts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/log.h"
#include "metrics/eval_log.h"
#include "metrics/evaluator.h"
#include "fuzz_tmpdir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fz_mix(uint64_t h, int64_t v)
{
	return (h ^ (uint64_t)v) * 1099511628211ULL;
}

/* Read everything; returns the last status (0 end, -1 error, -2 no header), the event count and a digest. */
static int fz_read_all(const uint8_t *data, size_t size, size_t *n, uint64_t *digest)
{
	*n = 0;
	*digest = 1469598103934665603ULL;
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return -3;
	char err[512];
	struct eval_log_reader *r = eval_log_reader_open_stream(f, "fuzz.log", err, sizeof err);
	if (!r) {
		if (strncmp(err, "fuzz.log:", 9) != 0)
			abort();
		fclose(f);
		return -2;
	}
	struct eval_ev ev;
	memset(&ev, 0, sizeof ev);
	int rc;
	while ((rc = eval_log_reader_next(r, &ev)) == 1) {
		if (ev.kind < EVAL_EV_REG || ev.kind > EVAL_EV_END || ev.line_no < 2)
			abort();
		if (ev.kind == EVAL_EV_DONE && ev.rec.n_chunks > size)
			abort();
		*digest = fz_mix(fz_mix(fz_mix(*digest, ev.kind), ev.t_ns), (int64_t)ev.rec.n_chunks);
		(*n)++;
	}
	if (rc < 0) {
		if (strncmp(eval_log_reader_error(r), "fuzz.log:", 9) != 0)
			abort();
		if (eval_log_reader_next(r, &ev) != -1)
			abort(); /* errors are sticky */
	} else if (eval_log_reader_next(r, &ev) != 0) {
		abort(); /* end of input is sticky */
	}
	eval_ev_clear(&ev);
	eval_log_reader_close(r);
	fclose(f);
	return rc;
}

/* One run directory for every replay, removed at exit. */
static const char *fz_run_dir(void)
{
	const char *d = fuzz_tmpdir("vk_fuzz_eval_log");
	setenv("VK_NO_PLOTS", "1", 1);
	return d;
}

static void fz_replay(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_eval_log", 0);
	if (fd < 0)
		return;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	const char *paths[1] = {path};
	char err[512];
	struct eval_replay *rp = eval_replay_open(paths, 1, err, sizeof err);
	if (!rp)
		abort(); /* the reader accepted its header */
	static struct cfg_benchmark cfg;
	static struct cfg_evaluator ev;
	ev.type = CFG_EVAL_PERFORMANCE;
	cfg.evaluators = &ev;
	cfg.n_evaluators = 1;
	cfg.trace_recorder.enabled = true;
	cfg.trace_recorder.include_content = true;
	const int64_t base = (int64_t)1 << 50;
	struct evaluator *e = eval_create(&cfg, fz_run_dir(), base, eval_replay_header(rp, 0)->tokenizer);
	if (e) {
		if (eval_replay_run(rp, e, base, err, sizeof err) != 0)
			abort(); /* the reader accepted every line */
		eval_replay_finish(rp, e, base, EVAL_RUN_COMPLETE, NULL);
		eval_free(e);
	}
	eval_replay_free(rp);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_level(LOG_QUIET);
	size_t n1, n2;
	uint64_t d1, d2;
	int rc1 = fz_read_all(data, size, &n1, &d1);
	int rc2 = fz_read_all(data, size, &n2, &d2);
	if (rc1 != rc2 || n1 != n2 || d1 != d2)
		abort();
	if (rc1 == 0 && n1 <= 64)
		fz_replay(data, size);
	return 0;
}
