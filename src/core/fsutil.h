#ifndef VK_CORE_FSUTIL_H
#define VK_CORE_FSUTIL_H
/* Small filesystem helpers. */
#include <stdbool.h>
#include <stddef.h>

int fs_mkdir_p(const char *path);                 /* 0 or -errno */
int fs_write_file(const char *path, const void *data, size_t len); /* atomic: tmp + rename */
char *fs_read_file(const char *path, size_t *len_out); /* NULL on error (errno set) */
bool fs_exists(const char *path);
char *fs_path_join(const char *a, const char *b); /* xmalloc'd */

#endif
