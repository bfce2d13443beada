#ifndef VK_OUTPUT_OUTFILE_H
#define VK_OUTPUT_OUTFILE_H
/* Small helpers for writing run-directory files. */
#include <stddef.h>

/* mkdir -p; 0 on success, -1 (errno set) on failure. */
int out_mkdir_p(const char *path);
/* Write data to path via path.tmp + rename, so readers never see a half-written file.
 * 0 on success, -1 on failure (logged). */
int out_write_file_atomic(const char *path, const char *data, size_t len);
/* "<dir>/<name>" (malloc'd). */
char *out_path_join(const char *dir, const char *name);

#endif
