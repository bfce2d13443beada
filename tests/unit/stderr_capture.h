#ifndef VK_TESTS_UNIT_STDERR_CAPTURE_H
#define VK_TESTS_UNIT_STDERR_CAPTURE_H
/* What the code under test writes to stderr (its warnings), caught by a unit test: stderr goes to
 * a temporary file between stderr_capture_begin and stderr_capture_end. Include after <cmocka.h>. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct stderr_capture {
	int saved_fd, log_fd;
	char path[32];
};

static inline void stderr_capture_begin(struct stderr_capture *c)
{
	snprintf(c->path, sizeof c->path, "/tmp/vk-test-stderr-XXXXXX");
	c->log_fd = mkstemp(c->path);
	assert_true(c->log_fd >= 0);
	fflush(stderr);
	c->saved_fd = dup(2);
	assert_true(c->saved_fd >= 0);
	assert_int_equal(dup2(c->log_fd, 2), 2);
}

/* Puts stderr back and copies what was written (at most cap - 1 bytes) to text, NUL-terminated;
 * returns its length. */
static inline size_t stderr_capture_end(struct stderr_capture *c, char *text, size_t cap)
{
	fflush(stderr);
	assert_int_equal(dup2(c->saved_fd, 2), 2);
	close(c->saved_fd);
	ssize_t n = pread(c->log_fd, text, cap - 1, 0);
	close(c->log_fd);
	unlink(c->path);
	text[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

#endif
