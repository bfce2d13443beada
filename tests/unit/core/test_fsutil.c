/* core/fsutil: the one whole-file reader (and the atomic writer it is paired with); core/fsstream:
 * a large file written in pieces, its blocks reserved ahead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/fsstream.h"
#include "core/fsutil.h"

static char *tmp_dir(void)
{
	char *d = strdup("/tmp/vk-fsutil-XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

/* Bytes come back exactly (NULs included), NUL-terminated, for sizes around the growth steps. */
static void test_read_round_trip(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *p = fs_path_join(dir, "f.bin");
	size_t sizes[] = {0, 1, 4095, 4096, 4097, 300000};
	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		size_t n = sizes[k];
		unsigned char *data = malloc(n + 1);
		for (size_t i = 0; i < n; i++)
			data[i] = (unsigned char)(i * 7 + k);
		assert_int_equal(fs_write_file(p, data, n), 0);
		size_t len = 12345;
		char *got = fs_read_file(p, &len);
		assert_non_null(got);
		assert_int_equal(len, n);
		if (n)
			assert_memory_equal(got, data, n);
		assert_int_equal(got[n], '\0');
		free(got);
		free(data);
	}
	char *got = fs_read_file(p, NULL); /* len_out is optional */
	assert_non_null(got);
	free(got);
	assert_int_equal(fs_rm_rf(dir), 0);
	free(p);
	free(dir);
}

/* Failures are NULL with errno saying why: a caller can report "No such file" or "Is a directory". */
static void test_read_errors(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *missing = fs_path_join(dir, "missing");
	errno = 0;
	assert_null(fs_read_file(missing, NULL));
	assert_int_equal(errno, ENOENT);
	errno = 0;
	assert_null(fs_read_file(dir, NULL)); /* opens, but read() fails */
	assert_int_equal(errno, EISDIR);
	if (geteuid() != 0) { /* root reads anything */
		char *secret = fs_path_join(dir, "secret");
		assert_int_equal(fs_write_file(secret, "x", 1), 0);
		assert_int_equal(chmod(secret, 0), 0);
		errno = 0;
		assert_null(fs_read_file(secret, NULL));
		assert_int_equal(errno, EACCES);
		free(secret);
	}
	assert_int_equal(fs_rm_rf(dir), 0);
	free(missing);
	free(dir);
}

/* A file whose size stat cannot tell (procfs says 0) is still read whole. */
static void test_read_unsized(void **state)
{
	(void)state;
	size_t len = 0;
	char *s = fs_read_file("/proc/self/status", &len);
	assert_non_null(s);
	assert_true(len > 0);
	assert_int_equal(strlen(s), len);
	assert_non_null(strstr(s, "Name:"));
	free(s);
}

/* fs_read_file_max stops past its limit (EFBIG) instead of reading a device without end; a file of
 * exactly the limit is read. */
static void test_read_max(void **state)
{
	(void)state;
	errno = 0;
	assert_null(fs_read_file_max("/dev/zero", 1 << 20, NULL));
	assert_int_equal(errno, EFBIG);
	char *d = tmp_dir();
	char p[256];
	snprintf(p, sizeof p, "%s/f", d);
	assert_int_equal(fs_write_file(p, "0123456789", 10), 0);
	size_t len = 0;
	char *s = fs_read_file_max(p, 10, &len);
	assert_non_null(s);
	assert_int_equal(len, 10);
	free(s);
	errno = 0;
	assert_null(fs_read_file_max(p, 9, NULL));
	assert_int_equal(errno, EFBIG);
	unlink(p);
	rmdir(d);
	free(d);
}

/* fs_write_all says how much reached the file when it stops: a pipe that fills takes part of the
 * bytes (EAGAIN, done = what it took), /dev/full none (ENOSPC, done = 0), a pipe with room all. */
static void test_write_all_partial(void **state)
{
	(void)state;
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(fcntl(pfd[1], F_SETFL, fcntl(pfd[1], F_GETFL) | O_NONBLOCK), 0);
	size_t n = 4 << 20, done = 12345;
	char *b = calloc(1, n);
	assert_int_equal(fs_write_all(pfd[1], b, 100, &done), 0);
	assert_int_equal(done, 100);
	assert_int_equal(fs_write_all(pfd[1], b, n, &done), EAGAIN);
	assert_true(done > 0 && done < n);
	close(pfd[0]);
	close(pfd[1]);
	int full = open("/dev/full", O_WRONLY);
	if (full >= 0) {
		assert_int_equal(fs_write_all(full, b, 10, &done), ENOSPC);
		assert_int_equal(done, 0);
		close(full);
	}
	free(b);
}

/* Pieces come back in order; the file replaces the old one only at commit; what was reserved past
 * the end is given back (the file holds about its own size in blocks, not the 64 MB reserved). */
static void test_stream_round_trip(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *p = fs_path_join(dir, "big.json");
	char *tmp = fs_path_join(dir, "big.json.tmp");
	assert_int_equal(fs_write_file(p, "old", 3), 0);
	struct fs_stream out;
	assert_int_equal(fs_stream_open(&out, p), 0);
	size_t piece = 300000, pieces = 7, total = 0;
	unsigned char *b = malloc(piece);
	for (size_t k = 0; k < pieces; k++) {
		for (size_t i = 0; i < piece; i++)
			b[i] = (unsigned char)(i * 7 + k);
		assert_true(fs_stream_write(&out, b, piece - k)); /* sizes that are not page multiples */
		total += piece - k;
		/* reserved ahead of what is written, unless this filesystem has no fallocate */
		assert_true(!out.reserve || out.reserved_bytes >= out.written_bytes);
	}
	size_t len = 0;
	char *old = fs_read_file(p, &len);
	assert_int_equal(len, 3); /* not replaced before the commit */
	free(old);
	assert_int_equal(fs_stream_commit(&out), 0);
	assert_false(fs_exists(tmp));
	unsigned char *got = (unsigned char *)fs_read_file(p, &len);
	assert_int_equal(len, total);
	size_t at = 0;
	for (size_t k = 0; k < pieces; k++)
		for (size_t i = 0; i < piece - k; i++, at++)
			assert_int_equal(got[at], (unsigned char)(i * 7 + k));
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_true((size_t)st.st_blocks * 512 <= total + (1u << 20));
	free(got);
	free(b);
	assert_int_equal(fs_rm_rf(dir), 0);
	free(tmp);
	free(p);
	free(dir);
}

/* Writes 21 pieces of odd sizes with every cached window "too costly" (threshold 0): past the first
 * 64 KB window the bytes go with O_DIRECT from the staging buffer, starting at an aligned offset.
 * - STAY: the direct windows are made too long to end, so the file ends in direct mode and its
 *   last, partial block goes through the cache at the commit.
 * - BACK: every direct window is made slower than the page cache's (the cache's cost set below
 *   zero, so the switch does not depend on how fast this machine's disk and cache are): the writes
 *   go back through the cache, and stay there although every cached window is costly, since the
 *   disk's cost is then made to look higher still.
 * - AGAIN: as BACK, but once back the disk is made to look fast (its cost set to 0), so the next
 *   costly cached window sends the writes to the disk again.
 * - REFUSED: a block length O_DIRECT refuses (not a multiple of the sector): the same bytes, and
 *   the rest of the file, go through the cache for good.
 * The bytes come back in order and the file has exactly their length; where this filesystem takes
 * O_DIRECT, whole blocks of block_bytes went that way (none when refused). */
enum stream_case { STAY, BACK, AGAIN, REFUSED };

static void stream_direct_case(enum stream_case c)
{
	char *dir = tmp_dir();
	char *p = fs_path_join(dir, "big.json");
	char *probe = fs_path_join(dir, "probe");
	int pfd = open(probe, O_WRONLY | O_CREAT | O_DIRECT, 0644);
	bool direct_ok = pfd >= 0;
	if (pfd >= 0)
		close(pfd);
	size_t block_bytes = c == REFUSED ? FS_STREAM_BLOCK_BYTES - 100 : c == STAY ? FS_STREAM_BLOCK_BYTES : 1 << 20;
	struct fs_stream out;
	assert_int_equal(fs_stream_open(&out, p), 0);
	out.window_limit_bytes = 65536;
	out.direct_window_limit_bytes = c == STAY ? (off_t)1 << 40 : 65536;
	out.slow_ns_per_mb = 0;
	out.block_bytes = block_bytes;
	size_t piece = 1000003, pieces = 21, total = 0;
	off_t direct_when_back = -1; /* direct_bytes when the writes first came back to the cache */
	unsigned char *b = malloc(piece);
	for (size_t k = 0; k < pieces; k++) {
		for (size_t i = 0; i < piece; i++)
			b[i] = (unsigned char)(i * 13 + k * 7);
		assert_true(fs_stream_write(&out, b, piece - k));
		total += piece - k;
		if (c != BACK && c != AGAIN)
			continue;
		if (out.mode == FS_STREAM_DIRECT) {
			out.cached_ns_per_mb = -1; /* any direct window is slower */
		} else if (out.direct_bytes > 0) {
			if (direct_when_back < 0)
				direct_when_back = out.direct_bytes;
			if (c == BACK)
				out.direct_ns_per_mb = INT64_MAX / 4; /* the disk looks slow: costly windows stay */
			else
				out.direct_ns_per_mb = 0; /* the disk looks fast: the next costly window goes there */
		}
	}
	if (c == REFUSED) {
		assert_int_equal(out.direct_bytes, 0);
		assert_int_equal(out.mode, FS_STREAM_SETTLED);
	} else if (direct_ok) {
		assert_true(out.direct_bytes >= (off_t)block_bytes);
		if (c == STAY)
			assert_int_equal(out.mode, FS_STREAM_DIRECT);
		if (c == BACK) {
			assert_int_equal(out.mode, FS_STREAM_CACHED);
			assert_int_equal(out.direct_bytes, direct_when_back); /* none since */
		}
		if (c == AGAIN) {
			assert_true(direct_when_back > 0);
			assert_true(out.direct_bytes > direct_when_back);
		}
	}
	assert_int_equal(out.direct_bytes % (off_t)block_bytes, 0);
	assert_int_equal(fs_stream_commit(&out), 0);
	size_t len = 0;
	unsigned char *got = (unsigned char *)fs_read_file(p, &len);
	assert_int_equal(len, total);
	size_t at = 0;
	for (size_t k = 0; k < pieces; k++)
		for (size_t i = 0; i < piece - k; i++, at++)
			if (got[at] != (unsigned char)(i * 13 + k * 7))
				fail_msg("byte %zu (piece %zu, offset %zu) is wrong", at, k, i);
	free(got);
	free(b);
	assert_int_equal(fs_rm_rf(dir), 0);
	free(probe);
	free(p);
	free(dir);
}

static void test_stream_direct_to_the_end(void **state)
{
	(void)state;
	stream_direct_case(STAY);
}

static void test_stream_direct_and_back(void **state)
{
	(void)state;
	stream_direct_case(BACK);
}

static void test_stream_direct_back_and_again(void **state)
{
	(void)state;
	stream_direct_case(AGAIN);
}

static void test_stream_direct_refused(void **state)
{
	(void)state;
	stream_direct_case(REFUSED);
}

/* A write that fails (here past a file-size limit, as a full disk would) fails the commit, removes
 * the partial file and leaves the previous one as it was; the process is a child, so the limit
 * stays there. A directory that does not exist fails the open. */
static void test_stream_failure_keeps_previous(void **state)
{
	(void)state;
	char *dir = tmp_dir();
	char *p = fs_path_join(dir, "big.json");
	char *tmp = fs_path_join(dir, "big.json.tmp");
	assert_int_equal(fs_write_file(p, "old", 3), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit rl = {.rlim_cur = 100000, .rlim_max = 100000};
		setrlimit(RLIMIT_FSIZE, &rl);
		struct fs_stream out;
		if (fs_stream_open(&out, p) != 0)
			_exit(2);
		static char piece[1 << 19]; /* the first 1 MiB written fails (staged until then) */
		bool ok = true;
		for (int k = 0; k < 8; k++)
			ok = fs_stream_write(&out, piece, sizeof piece) && ok;
		_exit(!ok && fs_stream_commit(&out) == -1 ? 0 : 3);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	size_t len = 0;
	char *s = fs_read_file(p, &len);
	assert_non_null(s);
	assert_string_equal(s, "old");
	assert_false(fs_exists(tmp));
	free(s);
	char *nodir = fs_path_join(dir, "missing/big.json");
	struct fs_stream out;
	assert_int_equal(fs_stream_open(&out, nodir), -1);
	free(nodir);
	assert_int_equal(fs_rm_rf(dir), 0);
	free(tmp);
	free(p);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_round_trip),
	    cmocka_unit_test(test_read_errors),
	    cmocka_unit_test(test_read_unsized),
	    cmocka_unit_test(test_write_all_partial),
	    cmocka_unit_test(test_read_max),
	    cmocka_unit_test(test_stream_round_trip),
	    cmocka_unit_test(test_stream_direct_to_the_end),
	    cmocka_unit_test(test_stream_direct_and_back),
	    cmocka_unit_test(test_stream_direct_back_and_again),
	    cmocka_unit_test(test_stream_direct_refused),
	    cmocka_unit_test(test_stream_failure_keeps_previous),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
