/* libFuzzer target for the CUDA_VISIBLE_DEVICES reader of the GPU manager (src/server/gpu.c,
 * gpu_visible_parse; docs/SERVERS.md, GPU resource manager). Properties: no crash or leak for any
 * value; it either restricts to non-negative ids, each one written in the value, or refuses with a
 * message naming the variable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/gpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	int *ids = NULL;
	size_t n = 0;
	char err[256] = "";
	int rc = gpu_visible_parse(text, &ids, &n, err, sizeof err);
	if (rc < 0) {
		if (n != 0 || ids || !strstr(err, "CUDA_VISIBLE_DEVICES"))
			abort();
	} else {
		if (rc != 1 || (n > 0 && !ids) || n > size)
			abort();
		for (size_t i = 0; i < n; i++)
			if (ids[i] < 0)
				abort();
	}
	free(ids);
	free(text);
	return 0;
}
