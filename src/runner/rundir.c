#include "runner/rundir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "config/config.h"
#include "core/fsutil.h"
#include "core/sha1.h"
#include "core/xalloc.h"

char *rundir_create_timestamped(const char *parent, const char *prefix, const char *strftime_fmt,
				const char *suffix, char *err, size_t err_len)
{
	int r = fs_mkdir_p(parent);
	if (r) {
		snprintf(err, err_len, "cannot create output directory '%s': %s", parent, strerror(-r));
		return NULL;
	}
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char stamp[64];
	strftime(stamp, sizeof stamp, strftime_fmt, &tm);
	for (int n = 1; n < 1000; n++) {
		char *dir = n == 1 ? xasprintf("%s/%s%s%s", parent, prefix, stamp, suffix ? suffix : "")
				   : xasprintf("%s/%s%s%s-%d", parent, prefix, stamp, suffix ? suffix : "", n);
		if (mkdir(dir, 0755) == 0)
			return dir;
		int e = errno;
		free(dir);
		if (e != EEXIST) {
			snprintf(err, err_len, "cannot create run directory under '%s': %s", parent, strerror(e));
			return NULL;
		}
	}
	snprintf(err, err_len, "too many run directories with the same name under '%s'", parent);
	return NULL;
}

char *rundir_create(const struct cfg_benchmark *cfg, char *err, size_t err_len)
{
	char *yaml = NULL;
	size_t yaml_len = 0;
	FILE *mem = open_memstream(&yaml, &yaml_len);
	if (!mem) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	config_benchmark_write_yaml(cfg, mem, 1);
	fclose(mem);
	char hash[9];
	sha1_hex(yaml, yaml_len, hash, 8);
	char *suffix = xasprintf("-%s", hash);
	char *dir = rundir_create_timestamped(cfg->output_dir, "", "%d_%m_%Y-%H_%M_%S", suffix, err, err_len);
	free(suffix);
	if (dir) {
		char *path = fs_path_join(dir, "config.yml");
		int r = fs_write_file(path, yaml, yaml_len);
		if (r) {
			snprintf(err, err_len, "cannot write %s: %s", path, strerror(-r));
			free(path);
			free(dir);
			free(yaml);
			return NULL;
		}
		free(path);
	}
	free(yaml);
	return dir;
}
