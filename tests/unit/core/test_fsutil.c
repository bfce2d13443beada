/* core/fsutil: the one whole-file reader (and the atomic writer it is paired with). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_round_trip),
	    cmocka_unit_test(test_read_errors),
	    cmocka_unit_test(test_read_unsized),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
