#ifndef VK_FUZZ_TMPDIR_H
#define VK_FUZZ_TMPDIR_H
/* One scratch directory per fuzzing process, made on first use and removed with what it holds when
 * the process exits (a target that writes run directories leaves nothing in /tmp). */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char fuzz_tmpdir_path[64];

static int fuzz_tmpdir_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void fuzz_tmpdir_cleanup(void)
{
	if (fuzz_tmpdir_path[0])
		nftw(fuzz_tmpdir_path, fuzz_tmpdir_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* prefix: e.g. "vk_fuzz_report"; the directory is /tmp/<prefix>_XXXXXX. Aborts if it cannot be made. */
static inline const char *fuzz_tmpdir(const char *prefix)
{
	if (!fuzz_tmpdir_path[0]) {
		snprintf(fuzz_tmpdir_path, sizeof fuzz_tmpdir_path, "/tmp/%s_XXXXXX", prefix);
		if (!mkdtemp(fuzz_tmpdir_path))
			abort();
		atexit(fuzz_tmpdir_cleanup);
	}
	return fuzz_tmpdir_path;
}
#endif
