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
	s->fd = -1;
	s->path = xstrdup(path);
	s->tmp = xasprintf("%s.tmp", path);
	void *buf = NULL;
	if (posix_memalign(&buf, FS_STREAM_ALIGN_BYTES, FS_STREAM_BLOCK_BYTES + FS_STREAM_SLACK_BYTES) != 0) {
		log_error("cannot write %s: no memory for its %zu MB staging buffer", s->tmp,
		          FS_STREAM_BLOCK_BYTES >> 20);
		goto fail;
	}
	s->buf = buf;
	s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (s->fd < 0) {
		log_error("cannot write %s: %s", s->tmp, strerror(errno));
		goto fail;
	}
	s->reserve = true;
	s->mode = FS_STREAM_CACHED;
	s->window_limit_bytes = FS_STREAM_WINDOW_BYTES;
	s->direct_window_limit_bytes = FS_STREAM_DIRECT_WINDOW_BYTES;
	s->slow_ns_per_mb = FS_STREAM_SLOW_NS_PER_MB;
	s->block_bytes = FS_STREAM_BLOCK_BYTES;
	return 0;
fail:
	free(s->buf);
	free(s->path);
	free(s->tmp);
	s->buf = s->path = s->tmp = NULL;
	return -1;
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

/* Through the page cache: for good (settled, O_DIRECT failed) or until the cache is costly again. */
static void fs_stream_to_cache(struct fs_stream *s, enum fs_stream_mode mode)
{
	/* still O_DIRECT, the unaligned writes to come would fail with a misleading reason */
	if (s->mode == FS_STREAM_DIRECT && !fs_stream_set_direct(s, false) && !s->err)
		s->err = errno;
	s->mode = mode;
}

/* Ends a window of writes that cost window_ns: the ns per MB, and a new window. */
static int64_t fs_stream_window_end(struct fs_stream *s)
{
	int64_t per_mb = (int64_t)((double)s->window_ns * (double)(1 << 20) / (double)s->window_bytes);
	s->window_bytes = 0;
	s->window_ns = 0;
	return per_mb;
}

/* The first `done` staged bytes are in the file: the rest moves to the buffer's start. */
static void fs_stream_consumed(struct fs_stream *s, size_t done)
{
	s->written_bytes += (off_t)done;
	memmove(s->buf, s->buf + done, s->fill - done);
	s->fill -= done;
}

/* The first n staged bytes through the page cache; a cached window's CPU decides whether to go
 * direct. */
static void fs_stream_put_cached(struct fs_stream *s, size_t n)
{
	bool measure = s->mode == FS_STREAM_CACHED;
	int64_t t0 = measure ? clock_thread_cpu_ns() : 0;
	fs_stream_reserve(s, n);
	size_t done = 0;
	s->err = fs_write_all(s->fd, s->buf, n, &done);
	fs_stream_consumed(s, done);
	if (s->err || !measure)
		return;
	s->window_bytes += (off_t)n;
	s->window_ns += clock_thread_cpu_ns() - t0;
	if (s->window_bytes >= s->window_limit_bytes) {
		s->cached_ns_per_mb = fs_stream_window_end(s);
		/* costly, and (once the disk was measured) costlier than waiting on it */
		s->want_direct = s->cached_ns_per_mb > s->slow_ns_per_mb &&
		                 s->cached_ns_per_mb * FS_STREAM_DIRECT_WEIGHT > s->direct_ns_per_mb;
	}
}

/* The first block_bytes staged bytes with O_DIRECT, timed against the page cache's cost. */
static void fs_stream_put_direct(struct fs_stream *s)
{
	fs_stream_reserve(s, s->block_bytes);
	int64_t t0 = clock_mono_ns();
	size_t done = 0;
	int rc = fs_write_all(s->fd, s->buf, s->block_bytes, &done);
	int64_t t1 = clock_mono_ns();
	s->direct_bytes += (off_t)done;
	fs_stream_consumed(s, done);
	if (rc == EINVAL) {
		/* an alignment this device does not take (possibly after a short write): the rest of
		 * the file, this block's remainder first, goes through the cache */
		fs_stream_to_cache(s, FS_STREAM_SETTLED);
		return;
	}
	if (rc) {
		s->err = rc;
		return;
	}
	s->window_bytes += (off_t)done;
	s->window_ns += t1 - t0;
	if (s->window_bytes >= s->direct_window_limit_bytes) {
		s->direct_ns_per_mb = fs_stream_window_end(s);
		/* the disk wrote much more slowly than the page cache took the bytes */
		if (s->direct_ns_per_mb > s->cached_ns_per_mb * FS_STREAM_DIRECT_WEIGHT)
			fs_stream_to_cache(s, FS_STREAM_CACHED);
	}
}

/* Writes what is due: through the cache in pieces of FS_STREAM_PIECE_BYTES, with O_DIRECT in
 * blocks of block_bytes; at the end (final) everything, the part short of a block through the
 * cache. */
static void fs_stream_flush(struct fs_stream *s, bool final)
{
	while (!s->err && s->fill > 0) {
		if (s->mode == FS_STREAM_DIRECT) {
			if (s->fill >= s->block_bytes)
				fs_stream_put_direct(s);
			else if (final)
				fs_stream_to_cache(s, FS_STREAM_SETTLED);
			else
				return;
			continue;
		}
		if (s->want_direct && !final) {
			/* after a costly window, O_DIRECT from the next aligned offset */
			size_t past = (size_t)(s->written_bytes % (off_t)FS_STREAM_ALIGN_BYTES);
			size_t to_align = past ? FS_STREAM_ALIGN_BYTES - past : 0;
			if (s->fill < to_align)
				return;
			if (to_align) {
				fs_stream_put_cached(s, to_align);
				continue;
			}
			s->want_direct = false;
			if (fs_stream_set_direct(s, true))
				s->mode = FS_STREAM_DIRECT;
			else
				fs_stream_to_cache(s, FS_STREAM_SETTLED); /* this filesystem has no O_DIRECT */
			continue;
		}
		if (s->fill < FS_STREAM_PIECE_BYTES && !final)
			return;
		fs_stream_put_cached(s, s->fill);
	}
}

char *fs_stream_space(struct fs_stream *s, size_t n)
{
	/* fill stays below a block between calls, and the buffer holds a block and the slack */
	if (n > FS_STREAM_SLACK_BYTES || s->fill + n > FS_STREAM_BLOCK_BYTES + FS_STREAM_SLACK_BYTES) {
		log_error("fsstream: fs_stream_space(%zu) with %zu bytes staged: more than the buffer holds", n,
		          s->fill);
		abort();
	}
	return s->buf + s->fill;
}

bool fs_stream_advance(struct fs_stream *s, size_t n)
{
	if (s->err) {
		s->fill = 0; /* the stream has failed: nothing more is kept */
		return false;
	}
	s->fill += n;
	if (s->fill >= (s->mode == FS_STREAM_DIRECT ? s->block_bytes : FS_STREAM_PIECE_BYTES))
		fs_stream_flush(s, false);
	return !s->err;
}

bool fs_stream_write(struct fs_stream *s, const void *data, size_t n)
{
	const char *p = data;
	while (n > 0) {
		size_t take = n < FS_STREAM_SLACK_BYTES ? n : FS_STREAM_SLACK_BYTES;
		memcpy(fs_stream_space(s, take), p, take);
		if (!fs_stream_advance(s, take))
			return false;
		p += take;
		n -= take;
	}
	return !s->err;
}

static void fs_stream_free(struct fs_stream *s)
{
	free(s->path);
	free(s->tmp);
	free(s->buf);
	s->path = s->tmp = s->buf = NULL;
	s->fd = -1;
}

int fs_stream_commit(struct fs_stream *s)
{
	fs_stream_flush(s, true); /* the tail, whatever its length, through the cache */
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
