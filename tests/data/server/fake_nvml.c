/* Fake libnvidia-ml for tests: the GPU list comes from $FAKE_NVML_GPUS, a comma-separated list of
 * "total_mib:free_mib" entries (e.g. "80000:80000,80000:1000"); empty or unset = 0 GPUs.
 * $FAKE_NVML_FAIL=1 makes nvmlInit_v2 fail (driver missing). Only the five entry points veeksha
 * uses are provided. */
#include <stdlib.h>
#include <string.h>

struct fake_nvml_memory {
	unsigned long long total, free, used;
};

int nvmlInit_v2(void);
int nvmlShutdown(void);
int nvmlDeviceGetCount_v2(unsigned *count);
int nvmlDeviceGetHandleByIndex_v2(unsigned index, void **device);
int nvmlDeviceGetMemoryInfo(void *device, struct fake_nvml_memory *mem);

#define FAKE_MAX 64
static unsigned long long fake_total[FAKE_MAX], fake_free[FAKE_MAX];
static unsigned fake_n;

int nvmlInit_v2(void)
{
	const char *f = getenv("FAKE_NVML_FAIL");
	if (f && !strcmp(f, "1"))
		return 9; /* NVML_ERROR_DRIVER_NOT_LOADED */
	fake_n = 0;
	const char *s = getenv("FAKE_NVML_GPUS");
	while (s && *s && fake_n < FAKE_MAX) {
		char *end;
		unsigned long long t = strtoull(s, &end, 10);
		if (*end != ':')
			return 999;
		unsigned long long fr = strtoull(end + 1, &end, 10);
		fake_total[fake_n] = t * 1024ull * 1024ull;
		fake_free[fake_n] = fr * 1024ull * 1024ull;
		fake_n++;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

int nvmlShutdown(void)
{
	return 0;
}

int nvmlDeviceGetCount_v2(unsigned *count)
{
	*count = fake_n;
	return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned index, void **device)
{
	if (index >= fake_n)
		return 2; /* NVML_ERROR_INVALID_ARGUMENT */
	*device = (void *)(unsigned long)(index + 1);
	return 0;
}

int nvmlDeviceGetMemoryInfo(void *device, struct fake_nvml_memory *mem)
{
	unsigned long i = (unsigned long)device - 1;
	if (i >= fake_n)
		return 2;
	mem->total = fake_total[i];
	mem->free = fake_free[i];
	mem->used = fake_total[i] - fake_free[i];
	return 0;
}
