/* JSONL outputs written in whole lines (request_level_metrics.jsonl, traces/dispatch_trace.jsonl).
 *
 * A stdio stream writes whatever its buffer holds when the buffer fills, so a full disk leaves a
 * half line at the end of the file, and every later fflush repeats the same warning. Here lines are
 * collected in memory and written with write(); when a write fails (ENOSPC, EFBIG, EIO) the file is
 * cut back to the end of the last complete write, the failure is reported once with its reason, and
 * later lines are counted as dropped instead of written (docs/FAILURES.md, "A full disk"). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "metrics/eval_internal.h"

#define EVAL_LF_WRITE_BYTES ((size_t)1 << 18) /* write out once this much is pending */

int eval_lf_open(struct eval_linefile *f, const char *path, const char *name)
{
	memset(f, 0, sizeof *f);
	f->name = name;
	buf_init(&f->pending);
	f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	return f->fd < 0 ? -1 : 0;
}

int eval_lf_open_staged(struct eval_linefile *f, const char *path, const char *name)
{
	char *part = xasprintf("%s.part", path);
	if (eval_lf_open(f, part, name) != 0) {
		int err = errno;
		free(part);
		errno = err;
		return -1;
	}
	f->path = xstrdup(path);
	f->part = part;
	return 0;
}

int eval_lf_commit(struct eval_linefile *f)
{
	if (f->fd < 0 || !f->part)
		return 0;
	if (rename(f->part, f->path) != 0) {
		log_error("%s: cannot rename %s to %s: %s", f->name, f->part, f->path, strerror(errno));
		return -1;
	}
	free(f->part);
	f->part = NULL;
	return 0;
}

bool eval_lf_is_open(const struct eval_linefile *f)
{
	return f->fd >= 0;
}

static void lf_fail(struct eval_linefile *f, int err)
{
	f->failed = true;
	f->err = err;
	/* undo a partial write: the file ends with the last complete line */
	if (ftruncate(f->fd, (off_t)f->good_bytes) != 0 || lseek(f->fd, (off_t)f->good_bytes, SEEK_SET) < 0)
		log_warn("%s: cannot cut the file back to its last complete line: %s", f->name, strerror(errno));
	f->lines_dropped += f->n_pending;
	log_warn("writing %s failed: %s; it keeps the %" PRId64 " bytes written before, later lines are not written",
	         f->name, strerror(err), f->good_bytes);
	buf_reset(&f->pending);
	f->n_pending = 0;
}

int eval_lf_flush(struct eval_linefile *f)
{
	if (f->fd < 0)
		return 0;
	if (f->failed)
		return -1;
	int err = fs_write_all(f->fd, f->pending.data, f->pending.len, NULL);
	if (err) {
		lf_fail(f, err);
		return -1;
	}
	f->good_bytes += (int64_t)f->pending.len;
	buf_reset(&f->pending);
	f->n_pending = 0;
	return 0;
}

void eval_lf_append(struct eval_linefile *f, const char *line, size_t len)
{
	if (f->fd < 0)
		return;
	if (f->failed) {
		f->lines_dropped++;
		return;
	}
	buf_append(&f->pending, line, len);
	f->n_pending++;
	if (f->pending.len >= EVAL_LF_WRITE_BYTES)
		eval_lf_flush(f);
}

void eval_lf_close(struct eval_linefile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (f->part && unlink(f->part) != 0 && errno != ENOENT)
		log_warn("%s: cannot remove %s: %s", f->name, f->part, strerror(errno));
	free(f->part);
	free(f->path);
	f->part = f->path = NULL;
	buf_free(&f->pending);
}
