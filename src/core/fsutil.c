#include "core/fsutil.h"

#include <errno.h>
#include <stdint.h>
#include <ftw.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/xalloc.h"

int fs_mkdir_p(const char *path)
{
	char *tmp = xstrdup(path);
	size_t n = strlen(tmp);
	for (size_t i = 1; i <= n; i++) {
		if (tmp[i] == '/' || tmp[i] == '\0') {
			char c = tmp[i];
			tmp[i] = '\0';
			if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
				int e = errno;
				free(tmp);
				errno = e;
				return -e;
			}
			tmp[i] = c;
		}
	}
	free(tmp);
	return 0;
}

int fs_write_all(int fd, const void *data, size_t n, size_t *done_out)
{
	const char *p = data;
	size_t done = 0;
	int err = 0;
	while (done < n) {
		ssize_t w = write(fd, p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			err = w < 0 ? errno : ENOSPC;
			break;
		}
		done += (size_t)w;
	}
	if (done_out)
		*done_out = done;
	return err;
}

int fs_write_file(const char *path, const void *data, size_t len)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		return -e;
	}
	int e = fs_write_all(fd, data, len, NULL);
	if (e) {
		close(fd);
		unlink(tmp);
		free(tmp);
		return -e;
	}
	int r = close(fd) == 0 && rename(tmp, path) == 0 ? 0 : -errno;
	if (r)
		unlink(tmp);
	free(tmp);
	if (r)
		errno = -r;
	return r;
}

int fs_write_file_or_log(const char *path, const void *data, size_t len)
{
	int r = fs_write_file(path, data, len);
	if (r == 0)
		return 0;
	log_error("cannot write %s: %s", path, strerror(-r));
	return -1;
}

char *fs_read_file(const char *path, size_t *len_out)
{
	return fs_read_file_max(path, SIZE_MAX - 1, len_out);
}

char *fs_read_file_max(const char *path, size_t max_len, size_t *len_out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	/* a regular file is read into one buffer of its size; pipes and /proc files grow it */
	struct stat st;
	size_t cap = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	size_t len = 0;
	char *data = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			data = xrealloc(data, cap);
		}
		ssize_t r = read(fd, data + len, cap - len - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno; /* e.g. EISDIR, EIO: the caller reports it */
			free(data);
			close(fd);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max_len) { /* /dev/zero, a log given by mistake: never read without end */
			free(data);
			close(fd);
			errno = EFBIG;
			return NULL;
		}
	}
	close(fd);
	data[len] = '\0';
	if (len_out)
		*len_out = len;
	return data;
}

bool fs_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

char *fs_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);
	if (la > 0 && a[la - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

static int fs_rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	int r = type == FTW_DP ? rmdir(path) : unlink(path);
	return r == 0 ? 0 : errno; /* (stops the walk; nftw returns it) */
}

int fs_rm_rf(const char *path)
{
	int r = nftw(path, fs_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return r > 0 ? -r : r < 0 ? -errno : 0;
}
