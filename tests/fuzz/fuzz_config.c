/* libFuzzer target for the YAML configuration loader (src/config).
 * Property: any input either loads or fails with CONFIG_EXIT_USAGE (never crashes or leaks); a
 * loaded config serialised as config.yml loads again and serialises to the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

static char *fuzz_config_yaml(const struct cfg_benchmark *c, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		abort();
	config_benchmark_write_yaml(c, f, 0);
	fclose(f);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	config_set_diagnostics(NULL);
	struct config_benchmark_set set;
	int rc = config_load_benchmark_string((const char *)data, size, "fuzz.yml", &set);
	if (rc != CONFIG_OK) {
		if (rc != CONFIG_EXIT_USAGE || set.count != 0 || !config_last_error()[0])
			abort();
		return 0;
	}
	if (set.count == 0)
		abort();
	size_t len1 = 0, len2 = 0;
	char *y1 = fuzz_config_yaml(&set.items[0], &len1);
	struct config_benchmark_set again;
	if (config_load_benchmark_string(y1, len1, "config.yml", &again) != CONFIG_OK || again.count != 1) {
		fprintf(stderr, "written config.yml does not load: %s\n%s", config_last_error(), y1);
		abort();
	}
	char *y2 = fuzz_config_yaml(&again.items[0], &len2);
	if (len1 != len2 || memcmp(y1, y2, len1) != 0) {
		fprintf(stderr, "config.yml round trip differs:\n%s---\n%s", y1, y2);
		abort();
	}
	free(y1);
	free(y2);
	config_benchmark_set_free(&again);
	config_benchmark_set_free(&set);
	return 0;
}
