/* core/spill: file-backed append-only arrays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit/stderr_capture.h"

#include "core/spill.h"

struct item {
	uint64_t id;
	double v;
	uint32_t k;
};

static char *mk_dir(void)
{
	char *d = strdup("/tmp/vk-spill-XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

/* Pushes of every size (single, smaller and larger than the write buffer) come back in order. */
static void check_round_trip(const char *dir, bool expect_disk)
{
	struct spill s;
	spill_open(&s, dir, "test", sizeof(struct item));
	assert_int_equal(spill_on_disk(&s), expect_disk);
	assert_null(spill_map(&s)); /* empty */
	struct item batch[9000];
	uint64_t next = 0;
	for (size_t round = 0; round < 60; round++) {
		size_t n = round % 3 == 0 ? 1 : round % 3 == 1 ? 37 : 9000; /* 9000 x 24 B > 64 KiB buffer */
		for (size_t i = 0; i < n; i++, next++)
			batch[i] = (struct item){next, (double)next * 0.5, (uint32_t)(next % 7)};
		spill_push(&s, batch, n);
	}
	assert_int_equal(spill_count(&s), next);
	struct item *all = spill_map(&s);
	assert_non_null(all);
	assert_ptr_equal(spill_map(&s), all); /* idempotent */
	for (uint64_t i = 0; i < next; i++) {
		assert_int_equal(all[i].id, i);
		assert_true(all[i].v == (double)i * 0.5);
		assert_int_equal(all[i].k, i % 7);
	}
	spill_drop_pages(&s); /* pages come back from the file */
	for (uint64_t i = 0; i < next; i += 997)
		assert_int_equal(all[i].id, i);
	assert_int_equal(all[next - 1].id, next - 1);
	all[0].id = 42; /* writable (private copy) */
	assert_int_equal(all[0].id, 42);
	spill_close(&s);
	spill_close(&s); /* twice is harmless */
}

static void test_file_mode(void **state)
{
	(void)state;
	char *d = mk_dir();
	check_round_trip(d, true);
	/* the file was unnamed: nothing is left in the directory */
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "test -z \"$(ls -A %s)\"", d) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	rmdir(d);
	free(d);
}

static void test_heap_mode(void **state)
{
	(void)state;
	check_round_trip(NULL, false);
	/* a directory that does not exist: warns and keeps the values on the heap */
	check_round_trip("/nonexistent/veeksha-spill-dir", false);
}

/* A write that fails (file size limit here, disk full in life) moves the spill to the heap without
 * losing an element. */
static void test_write_failure_keeps_everything(void **state)
{
	(void)state;
	char *d = mk_dir();
	struct rlimit old;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	struct rlimit lim = {200 * 1024, old.rlim_max};
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	struct spill s;
	spill_open(&s, d, "test", sizeof(uint64_t));
	assert_true(spill_on_disk(&s));
	for (uint64_t i = 0; i < 100000; i++) /* 800 kB: past the limit */
		spill_push(&s, &i, 1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_false(spill_on_disk(&s));
	const uint64_t *v = spill_map(&s);
	assert_int_equal(spill_count(&s), 100000);
	for (uint64_t i = 0; i < 100000; i++)
		assert_int_equal(v[i], i);
	spill_close(&s);
	rmdir(d);
	free(d);
}

/* A full disk makes every spill fall back: the first says so, the others stay quiet (an evaluator
 * has about 16 spills; each used to repeat the warning). Runs first: the note is once per process. */
static void test_fallback_warned_once(void **state)
{
	(void)state;
	struct stderr_capture cap;
	stderr_capture_begin(&cap);
	struct spill s[4];
	for (size_t i = 0; i < 4; i++)
		spill_open(&s[i], "/nonexistent/veeksha-spill-dir", "test", sizeof(uint64_t));
	char text[4096];
	size_t n = stderr_capture_end(&cap, text, sizeof text);
	for (size_t i = 0; i < 4; i++) {
		assert_false(spill_on_disk(&s[i]));
		spill_close(&s[i]);
	}
	assert_true(n > 0);
	size_t warnings = 0;
	for (const char *p = text; (p = strstr(p, "keeping the values in memory")); p++)
		warnings++;
	assert_int_equal(warnings, 1);
}

static void test_zeroed_close(void **state)
{
	(void)state;
	/* make sure fd 0 is open, then check a zeroed spill's close leaves it open */
	if (fcntl(0, F_GETFD) == -1)
		assert_int_equal(open("/dev/null", O_RDONLY), 0);
	struct spill s;
	memset(&s, 0, sizeof s);
	spill_close(&s);
	assert_true(fcntl(0, F_GETFD) != -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fallback_warned_once), /* first: the note is once per process */
	    cmocka_unit_test(test_file_mode),
	    cmocka_unit_test(test_heap_mode),
	    cmocka_unit_test(test_write_failure_keeps_everything),
	    cmocka_unit_test(test_zeroed_close),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
