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

char *rundir_create_timestamped(const char *parent, const char *prefix, const char *strftime_fmt, const char *suffix,
                                char *err, size_t err_len)
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

/* The resolved config as written to config.yml (secrets redacted), and its hash's first 8 hex digits. */
static char *rundir_config_yaml(const struct cfg_benchmark *cfg, size_t *len, char hash[9])
{
	char *yaml = NULL;
	*len = 0;
	FILE *mem = open_memstream(&yaml, len);
	if (!mem)
		return NULL;
	config_benchmark_write_yaml(cfg, mem, 1);
	fclose(mem);
	sha1_hex(yaml, *len, hash, 8);
	return yaml;
}

static int rundir_write_config(const char *dir, const char *yaml, size_t yaml_len, char *err, size_t err_len)
{
	char *path = fs_path_join(dir, "config.yml");
	int r = fs_write_file(path, yaml, yaml_len);
	if (r)
		snprintf(err, err_len, "cannot write %s: %s", path, strerror(-r));
	free(path);
	return r ? -1 : 0;
}

char *rundir_create(const struct cfg_benchmark *cfg, char *err, size_t err_len)
{
	size_t yaml_len = 0;
	char hash[9];
	char *yaml = rundir_config_yaml(cfg, &yaml_len, hash);
	if (!yaml) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	char *suffix = xasprintf("-%s", hash);
	char *dir = rundir_create_timestamped(cfg->output_dir, "", "%d_%m_%Y-%H_%M_%S", suffix, err, err_len);
	free(suffix);
	if (dir && rundir_write_config(dir, yaml, yaml_len, err, err_len) != 0) {
		free(dir);
		dir = NULL;
	}
	free(yaml);
	return dir;
}

int rundir_config_hash(const struct cfg_benchmark *cfg, char hash[9])
{
	size_t yaml_len = 0;
	char *yaml = rundir_config_yaml(cfg, &yaml_len, hash);
	free(yaml);
	return yaml ? 0 : -1;
}

char *rundir_create_shared(const struct cfg_benchmark *cfg, int64_t epoch_ns, char *err, size_t err_len)
{
	char hash[9];
	if (rundir_config_hash(cfg, hash) != 0) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	time_t t = (time_t)(epoch_ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char stamp[64];
	strftime(stamp, sizeof stamp, "%d_%m_%Y-%H_%M_%S", &tm);
	char *dir = xasprintf("%s/%s-%s", cfg->output_dir, stamp, hash);
	int r = fs_mkdir_p(dir);
	if (r) {
		snprintf(err, err_len, "cannot create run directory '%s': %s", dir, strerror(-r));
		free(dir);
		return NULL;
	}
	return dir;
}

char *rundir_create_shard(const struct cfg_benchmark *cfg, const char *run_dir, uint32_t index, uint32_t count,
                          char *err, size_t err_len)
{
	char *dir = xasprintf("%s/shard-%u-of-%u", run_dir, index, count);
	if (mkdir(dir, 0755) != 0) {
		if (errno == EEXIST)
			snprintf(
			    err, err_len,
			    "%s already exists: two processes ran as shard %u of %u (check --shard and the launcher)",
			    dir, index, count);
		else
			snprintf(err, err_len, "cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return NULL;
	}
	size_t yaml_len = 0;
	char hash[9];
	char *yaml = rundir_config_yaml(cfg, &yaml_len, hash);
	int rc = yaml ? rundir_write_config(dir, yaml, yaml_len, err, err_len) : -1;
	free(yaml);
	if (rc) {
		free(dir);
		return NULL;
	}
	return dir;
}
