#include "core/fsstream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* rename */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fsutil.h"
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
	s->mode = FS_STREAM_CACHED;
	s->window_limit_bytes = FS_STREAM_WINDOW_BYTES;
	s->slow_ns_per_mb = FS_STREAM_SLOW_NS_PER_MB;
	s->block_bytes = FS_STREAM_BLOCK_BYTES;
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

static bool fs_stream_set_direct(struct fs_stream *s, bool on)
{
	int fl = fcntl(s->fd, F_GETFL);
	return fl >= 0 && fcntl(s->fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT) == 0;
}

/* Writes through the page cache for the rest of the file, starting with what is staged. */
static void fs_stream_settle(struct fs_stream *s)
{
	if (s->mode == FS_STREAM_DIRECT) {
		/* still O_DIRECT, the unaligned writes to come would fail with a misleading reason */
		if (!fs_stream_set_direct(s, false) && !s->err)
			s->err = errno;
		if (s->block_len && !s->err) {
			s->err = fs_write_all(s->fd, s->block, s->block_len, NULL);
			if (!s->err)
				s->written_bytes += (off_t)s->block_len;
		}
	}
	free(s->block);
	s->block = NULL;
	s->block_len = 0;
	s->mode = FS_STREAM_SETTLED;
}

/* Ends a window of writes that cost window_ns: the ns per MB, and a new window. */
static int64_t fs_stream_window_end(struct fs_stream *s)
{
	int64_t per_mb = (int64_t)((double)s->window_ns * (double)(1 << 20) / (double)s->window_bytes);
	s->window_bytes = 0;
	s->window_ns = 0;
	return per_mb;
}

/* After a costly cached window, at an aligned offset: the staging block, and O_DIRECT. */
static void fs_stream_go_direct(struct fs_stream *s)
{
	s->want_direct = false;
	void *block = NULL;
	if (posix_memalign(&block, FS_STREAM_ALIGN_BYTES, s->block_bytes) != 0) {
		fs_stream_settle(s); /* no memory for the staging block */
		return;
	}
	if (!fs_stream_set_direct(s, true)) {
		free(block);
		fs_stream_settle(s); /* this filesystem has no O_DIRECT */
		return;
	}
	s->block = block;
	s->block_len = 0;
	s->mode = FS_STREAM_DIRECT;
}

/* Writes the full staging block with O_DIRECT, timing it against the page cache's cost. */
static void fs_stream_flush_block(struct fs_stream *s)
{
	int64_t t0 = clock_mono_ns();
	size_t done = 0;
	int rc = fs_write_all(s->fd, s->block, s->block_len, &done);
	int64_t t1 = clock_mono_ns();
	s->written_bytes += (off_t)done;
	s->direct_bytes += (off_t)done;
	if (rc == EINVAL) {
		/* an alignment this device does not take (possibly after a short write): what is left of
		 * the block goes through the cache, and the rest of the file too */
		memmove(s->block, s->block + done, s->block_len - done);
		s->block_len -= done;
		fs_stream_settle(s);
		return;
	}
	if (rc) {
		s->err = rc;
		return;
	}
	s->window_bytes += (off_t)done;
	s->window_ns += t1 - t0;
	s->block_len = 0;
	if (s->window_bytes >= s->window_limit_bytes && fs_stream_window_end(s) > s->cached_ns_per_mb)
		fs_stream_settle(s); /* the disk wrote more slowly than the page cache took the bytes */
}

/* Through the page cache; a cached window's CPU decides whether to go direct. */
static void fs_stream_cached(struct fs_stream *s, const char *p, size_t n)
{
	bool measure = s->mode == FS_STREAM_CACHED;
	int64_t t0 = measure ? clock_thread_cpu_ns() : 0;
	s->err = fs_write_all(s->fd, p, n, NULL);
	if (s->err)
		return;
	s->written_bytes += (off_t)n;
	if (!measure)
		return;
	s->window_bytes += (off_t)n;
	s->window_ns += clock_thread_cpu_ns() - t0;
	if (s->window_bytes >= s->window_limit_bytes) {
		s->cached_ns_per_mb = fs_stream_window_end(s);
		s->want_direct = s->cached_ns_per_mb > s->slow_ns_per_mb;
	}
}

bool fs_stream_write(struct fs_stream *s, const void *data, size_t n)
{
	if (s->err)
		return false;
	fs_stream_reserve(s, n);
	const char *p = data;
	while (n > 0 && !s->err) {
		if (s->mode == FS_STREAM_DIRECT) {
			size_t take = s->block_bytes - s->block_len;
			take = take < n ? take : n;
			memcpy(s->block + s->block_len, p, take);
			s->block_len += take;
			p += take;
			n -= take;
			if (s->block_len == s->block_bytes)
				fs_stream_flush_block(s);
			continue;
		}
		/* after a costly window, O_DIRECT starts at the next aligned offset */
		size_t take = n;
		if (s->want_direct) {
			size_t past = (size_t)(s->written_bytes % (off_t)FS_STREAM_ALIGN_BYTES);
			if (!past) {
				fs_stream_go_direct(s);
				continue;
			}
			take = FS_STREAM_ALIGN_BYTES - past < n ? FS_STREAM_ALIGN_BYTES - past : n;
		}
		fs_stream_cached(s, p, take);
		p += take;
		n -= take;
	}
	return !s->err;
}

static void fs_stream_free(struct fs_stream *s)
{
	free(s->path);
	free(s->tmp);
	free(s->block);
	s->path = s->tmp = s->block = NULL;
	s->fd = -1;
}

int fs_stream_commit(struct fs_stream *s)
{
	if (s->mode == FS_STREAM_DIRECT)
		fs_stream_settle(s); /* the staged tail, whatever its length, through the cache */
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
