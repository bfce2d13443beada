#include "core/fsstream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"

int fs_stream_open(struct fs_stream *s, const char *path)
{
	memset(s, 0, sizeof *s);
	s->path = xstrdup(path);
	s->tmp = xasprintf("%s.tmp", path);
	s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (s->fd < 0) {
		log_error("cannot write %s: %s", s->tmp, strerror(errno));
		free(s->path);
		free(s->tmp);
		return -1;
	}
	s->reserve = true;
	return 0;
}

/* Reserves the next FS_STREAM_RESERVE_BYTES once the writes reach the end of what is reserved.
 * KEEP_SIZE: the file's size stays what was written, so a reader (or a crash) never sees zeros. */
static void fs_stream_reserve(struct fs_stream *s, size_t n)
{
	while (s->reserve && s->written_bytes + (off_t)n > s->reserved_bytes) {
		if (fallocate(s->fd, FALLOC_FL_KEEP_SIZE, s->reserved_bytes, FS_STREAM_RESERVE_BYTES) != 0) {
			s->reserve = false; /* not supported here, or no room: the writes will say */
			return;
		}
		s->reserved_bytes += FS_STREAM_RESERVE_BYTES;
	}
}

bool fs_stream_write(struct fs_stream *s, const void *data, size_t n)
{
	if (s->err)
		return false;
	fs_stream_reserve(s, n);
	const char *p = data;
	while (n > 0) {
		ssize_t w = write(s->fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			s->err = errno;
			return false;
		}
		p += w;
		n -= (size_t)w;
		s->written_bytes += w;
	}
	return true;
}

static void fs_stream_free(struct fs_stream *s)
{
	free(s->path);
	free(s->tmp);
	s->path = s->tmp = NULL;
	s->fd = -1;
}

int fs_stream_commit(struct fs_stream *s)
{
	int err = s->err;
	/* a truncate to the written size returns the reserved blocks past it */
	if (!err && s->reserved_bytes > s->written_bytes && ftruncate(s->fd, s->written_bytes) != 0)
		err = errno;
	if (close(s->fd) != 0 && !err)
		err = errno;
	if (!err && rename(s->tmp, s->path) != 0)
		err = errno;
	if (err) {
		log_error("cannot write %s: %s", s->path, strerror(err));
		unlink(s->tmp);
	}
	fs_stream_free(s);
	return err ? -1 : 0;
}
