/* Append-only file-backed arrays (see spill.h). */
#include "core/spill.h"

#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/log.h"
#include "core/xalloc.h"

#define SPILL_BUF_BYTES ((size_t)64 * 1024)

static int spill_tmpfile(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	/* file systems without O_TMPFILE: a named file, unlinked at once */
	char *path = xasprintf("%s/.veeksha-spill-XXXXXX", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	free(path);
	return fd;
}

/* A full disk makes every spill of the run fall back to memory (an evaluator has about 16): the
 * first says so, the others would only repeat it (docs/FAILURES.md, A full disk). */
static bool spill_first_fallback(void)
{
	static atomic_flag warned = ATOMIC_FLAG_INIT;
	return !atomic_flag_test_and_set(&warned);
}

void spill_open(struct spill *s, const char *dir, const char *what, size_t elem_size)
{
	memset(s, 0, sizeof *s);
	s->what = what;
	s->elem_size = elem_size;
	s->fd = dir ? spill_tmpfile(dir) : -1;
	if (dir && s->fd < 0 && spill_first_fallback())
		log_warn("%s: cannot create a spill file in %s (%s); keeping the values in memory (other spills "
		         "that fall back are not reported)",
		         what, dir, strerror(errno));
	if (s->fd >= 0) {
		s->buf_cap = SPILL_BUF_BYTES;
		s->buf = xmalloc(s->buf_cap);
		memset(s->buf, 0, s->buf_cap); /* fault the pages in now, not on the first appends */
	}
}

bool spill_on_disk(const struct spill *s)
{
	return s->fd >= 0;
}

static size_t spill_bytes(const struct spill *s)
{
	return s->n * s->elem_size;
}

/* Heap mode from now on: read back what reached the file, keep what is still buffered. */
static void spill_to_heap(struct spill *s, const char *why, int err)
{
	size_t total = spill_bytes(s);
	size_t on_file = total - s->buf_len;
	unsigned char *all = xmalloc(total ? total : 1);
	size_t got = 0;
	while (got < on_file) {
		ssize_t r = pread(s->fd, all + got, on_file - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got < on_file) {
		/* cannot happen short of a failing disk: say exactly how much was lost */
		log_error("%s: could not read back %zu bytes of the spill file; those values are lost", s->what,
		          on_file - got);
		memset(all + got, 0, on_file - got);
	}
	memcpy(all + on_file, s->buf, s->buf_len);
	if (spill_first_fallback())
		log_warn("%s: spill file %s (%s); keeping the values in memory (other spills that fall back are "
		         "not reported)",
		         s->what, why, strerror(err));
	free(s->buf);
	close(s->fd);
	s->fd = -1;
	s->buf = all;
	s->buf_len = s->buf_cap = total;
}

static void spill_flush(struct spill *s)
{
	size_t off = 0;
	int err = fs_write_all(s->fd, s->buf, s->buf_len, &off);
	if (err) {
		/* the first off bytes reached the file: account them as on file */
		memmove(s->buf, s->buf + off, s->buf_len - off);
		s->buf_len -= off;
		spill_to_heap(s, "write failed", err);
		return;
	}
	s->buf_len = 0;
}

void spill_push(struct spill *s, const void *elems, size_t n)
{
	if (!n)
		return;
	if (s->map) {
		log_error("%s: append after the spill was mapped (ignored)", s->what);
		return;
	}
	size_t bytes = n * s->elem_size;
	if (s->fd >= 0 && s->buf_len + bytes > s->buf_cap) {
		spill_flush(s);
		if (s->fd >= 0 && bytes > s->buf_cap) {
			/* larger than the buffer: through the buffer in pieces */
			const unsigned char *p = elems;
			size_t per = s->buf_cap / s->elem_size;
			while (n > per) {
				spill_push(s, p, per);
				p += per * s->elem_size;
				n -= per;
			}
			spill_push(s, p, n);
			return;
		}
	}
	if (s->fd < 0 && s->buf_len + bytes > s->buf_cap) {
		size_t cap = s->buf_cap;
		xgrow((void **)&s->buf, &cap, s->buf_len + bytes, 1);
		s->buf_cap = cap;
	}
	memcpy(s->buf + s->buf_len, elems, bytes);
	s->buf_len += bytes;
	s->n += n;
}

void *spill_map(struct spill *s)
{
	if (!s->n)
		return NULL;
	if (s->fd < 0)
		return s->buf;
	if (s->map)
		return s->map;
	spill_flush(s);
	if (s->fd < 0)
		return s->buf;
	size_t len = spill_bytes(s);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, s->fd, 0);
	if (m == MAP_FAILED) {
		spill_to_heap(s, "cannot be mapped", errno);
		return s->buf;
	}
	s->map = m;
	s->map_len = len;
	return m;
}

void spill_drop_pages(struct spill *s)
{
	if (s->map)
		madvise(s->map, s->map_len, MADV_DONTNEED);
}

void spill_close(struct spill *s)
{
	if (!s->elem_size)
		return; /* never opened (zeroed) or already closed */
	if (s->map)
		munmap(s->map, s->map_len);
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	memset(s, 0, sizeof *s);
	s->fd = -1;
}
