#ifndef VK_CORE_FSUTIL_H
#define VK_CORE_FSUTIL_H
/* Small filesystem helpers. */
#include <stdbool.h>
#include <stddef.h>

int fs_mkdir_p(const char *path); /* 0 or -errno (errno set too) */
/* Writes all n bytes to fd, restarting after signals: 0, or the errno of the failure (ENOSPC for a
 * write that took nothing). *done_out (when not NULL) = the bytes that reached the file. */
int fs_write_all(int fd, const void *data, size_t n, size_t *done_out);
int fs_write_file(const char *path, const void *data, size_t len); /* atomic: tmp + rename; 0 or -errno */
/* fs_write_file, logging the error: 0 on success, -1 on failure. */
int fs_write_file_or_log(const char *path, const void *data, size_t len);
/* The whole file, NUL-terminated (xmalloc'd; *len_out = its length without the NUL, when len_out is
 * not NULL). NULL when it cannot be opened or read, with errno saying why (e.g. ENOENT, EISDIR). */
char *fs_read_file(const char *path, size_t *len_out);
/* fs_read_file, stopping with errno EFBIG once more than max_len bytes have been read (a character
 * device such as /dev/zero or a FIFO would otherwise be read until memory runs out). */
char *fs_read_file_max(const char *path, size_t max_len, size_t *len_out);
bool fs_exists(const char *path);
/* Removes path and, for a directory, everything under it (symbolic links are removed, never followed).
 * 0, or -errno of the first failure. */
int fs_rm_rf(const char *path);
char *fs_path_join(const char *a, const char *b); /* xmalloc'd */

#endif
