#ifndef VK_CORE_FSSTREAM_H
#define VK_CORE_FSSTREAM_H
/* A large file written in pieces (chrome_trace.json: hundreds of MB): it goes to <path>.tmp and
 * replaces <path> only when complete, so a failed write leaves the previous file as it was.
 *
 * Two things keep the kernel's share of the write small (docs/OUTPUTS.md, Output phase):
 * - The file's blocks are reserved ahead of the writes (fallocate, FS_STREAM_RESERVE_BYTES at a
 *   time): on ext4 the kernel then takes each written page without its per-page delayed-allocation
 *   work, about 30% less system time for the same bytes.
 * - The writes go through the page cache while that is cheap, and bypass it (O_DIRECT, from the
 *   aligned staging buffer the caller formats into) once a window of FS_STREAM_WINDOW_BYTES costs
 *   more than FS_STREAM_SLOW_NS_PER_MB of CPU: on a virtual machine that hands free memory back to
 *   its host, every page the cache takes from that memory is slow to fill (2.4 ms per MB measured
 *   against 0.2). If the disk then writes a window of FS_STREAM_DIRECT_WINDOW_BYTES more than
 *   FS_STREAM_DIRECT_WEIGHT times as slowly as the page cache took the bytes, the writes go back
 *   through the page cache, and to the disk again only if the cache's cost rises above that. A
 *   filesystem without fallocate or O_DIRECT is written as before. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FS_STREAM_RESERVE_BYTES ((off_t)64 << 20)
#define FS_STREAM_WINDOW_BYTES ((off_t)8 << 20)         /* cached writes measured per window */
#define FS_STREAM_DIRECT_WINDOW_BYTES ((off_t)32 << 20) /* direct writes: 4 blocks, one slow block averaged */
#define FS_STREAM_SLOW_NS_PER_MB 1000000                /* 1 ms of CPU per MB through the page cache */
#define FS_STREAM_BLOCK_BYTES ((size_t)8 << 20)         /* one O_DIRECT write */
#define FS_STREAM_PIECE_BYTES ((size_t)1 << 20)         /* one write through the page cache */
#define FS_STREAM_SLACK_BYTES ((size_t)64 << 10)        /* the most fs_stream_space gives at a time */
#define FS_STREAM_ALIGN_BYTES ((size_t)4096)            /* O_DIRECT offsets, lengths and buffers */

/* A wait on the disk counts this many times less than the same time of CPU spent filling the page
 * cache: the cached bytes go to the same disk later anyway (writeback), and the client's CPU is
 * what a benchmark host shares with the server it measures. */
#define FS_STREAM_DIRECT_WEIGHT 2

enum fs_stream_mode {
	FS_STREAM_CACHED, /* through the page cache */
	FS_STREAM_DIRECT, /* O_DIRECT from the staging buffer */
	FS_STREAM_SETTLED /* through the page cache for good: O_DIRECT failed here */
};

struct fs_stream {
	int fd;
	char *path, *tmp;
	/* The staging buffer (aligned for O_DIRECT, block_bytes + FS_STREAM_SLACK_BYTES): callers
	 * format into it (fs_stream_space), so bytes are copied once, by the kernel or the disk. */
	char *buf;
	size_t fill;
	off_t written_bytes, reserved_bytes;
	bool reserve; /* false once fallocate said no */
	int err;      /* the first write error (errno), 0 while none */
	enum fs_stream_mode mode;
	/* the current window: its bytes and what it cost (CPU ns cached, wall ns direct) */
	off_t window_bytes;
	int64_t window_ns;
	int64_t cached_ns_per_mb; /* the last cached window's cost, what direct writes must beat */
	int64_t direct_ns_per_mb; /* the last direct window's, 0 before one */
	bool want_direct;         /* the cache was costly: O_DIRECT from the next aligned offset */
	off_t direct_bytes;       /* written with O_DIRECT (reported, and checked by the tests) */
	/* tests change these to reach the other paths with small files (block_bytes, at most
	 * FS_STREAM_BLOCK_BYTES: a length O_DIRECT refuses) */
	off_t window_limit_bytes, direct_window_limit_bytes;
	int64_t slow_ns_per_mb;
	size_t block_bytes;
};

/* Opens <path>.tmp for writing: 0, or -1 with the error logged (naming the file). */
int fs_stream_open(struct fs_stream *s, const char *path);
/* Where the next n bytes (n <= FS_STREAM_SLACK_BYTES) of the file are to be written; they become
 * part of it with fs_stream_advance. */
char *fs_stream_space(struct fs_stream *s, size_t n);
/* The n bytes written at fs_stream_space's pointer follow what the file has; false once any write
 * has failed (later writes are skipped). */
bool fs_stream_advance(struct fs_stream *s, size_t n);
/* Appends n bytes (a copy through fs_stream_space). */
bool fs_stream_write(struct fs_stream *s, const void *data, size_t n);
/* Writes what is staged, trims what was reserved past the end, closes and renames over <path>: 0,
 * or -1 with the error logged and <path>.tmp removed. Frees s's memory either way. */
int fs_stream_commit(struct fs_stream *s);

#endif
