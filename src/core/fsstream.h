#ifndef VK_CORE_FSSTREAM_H
#define VK_CORE_FSSTREAM_H
/* A large file written in pieces (chrome_trace.json: hundreds of MB): it goes to <path>.tmp and
 * replaces <path> only when complete, so a failed write leaves the previous file as it was. The
 * file's blocks are reserved ahead of the writes (fallocate, FS_STREAM_RESERVE_BYTES at a time):
 * on ext4 the kernel then takes each written page without its per-page delayed-allocation work,
 * about 30% less system time for the same bytes (docs/OUTPUTS.md, Output phase). A filesystem
 * without fallocate is written as before. */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FS_STREAM_RESERVE_BYTES ((off_t)64 << 20)

struct fs_stream {
	int fd;
	char *path, *tmp;
	off_t written_bytes, reserved_bytes;
	bool reserve; /* false once fallocate said no */
	int err;      /* the first write error (errno), 0 while none */
};

/* Opens <path>.tmp for writing: 0, or -1 with the error logged (naming the file). */
int fs_stream_open(struct fs_stream *s, const char *path);
/* Appends n bytes; false once any write has failed (later writes are skipped). */
bool fs_stream_write(struct fs_stream *s, const void *data, size_t n);
/* Trims what was reserved past the end, closes and renames over <path>: 0, or -1 with the error
 * logged and <path>.tmp removed. Frees s's memory either way. */
int fs_stream_commit(struct fs_stream *s);

#endif
