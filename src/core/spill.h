#ifndef VK_CORE_SPILL_H
#define VK_CORE_SPILL_H
/* Append-only arrays of fixed-size elements kept in an unnamed file instead of the heap.
 *
 * A benchmark keeps every per-request value (rows, gaps, raw samples) for the exact statistics it
 * writes at the end of the run. Holding them on the heap makes the client's memory grow with the
 * number of requests; a spill writes them through a small buffer to an unnamed file (O_TMPFILE in the
 * run directory, removed when closed), so the process stays flat however long the run is. At the end
 * spill_map() maps the whole array back (private, copy-on-write: callers may sort it in place).
 *
 * When the file cannot be created, or a write fails (disk full), the spill says so once and keeps the
 * elements on the heap instead: no element is ever lost. */
#include <stdbool.h>
#include <stddef.h>

struct spill {
	const char *what;        /* name for messages */
	size_t elem_size;        /* bytes per element */
	size_t n;                /* elements appended */
	int fd;                  /* -1: heap mode */
	unsigned char *buf;      /* write buffer (file mode) or all elements (heap mode) */
	size_t buf_len, buf_cap; /* bytes */
	void *map;               /* spill_map() result (file mode) */
	size_t map_len;
};

/* Open an empty spill in dir (NULL: heap mode from the start). Never fails: falls back to the heap. */
void spill_open(struct spill *s, const char *dir, const char *what, size_t elem_size);
/* Append n elements. Must not be called after spill_map(). */
void spill_push(struct spill *s, const void *elems, size_t n);
static inline size_t spill_count(const struct spill *s)
{
	return s->n;
}
/* Every element appended so far as one array of spill_count() elements (NULL when empty). The array
 * is writable and stays valid until spill_close(). */
void *spill_map(struct spill *s);
bool spill_on_disk(const struct spill *s);
/* Let the kernel drop the resident pages of a file-backed map (they are read back from the file on
 * the next access): the array stays valid, but changes made to it are lost. No-op in heap mode. */
void spill_drop_pages(struct spill *s);
/* Release everything; a zeroed, never opened spill may be closed too. */
void spill_close(struct spill *s);

#endif
