#include "core/clock.h"

#include <errno.h>
#include <time.h>

static int64_t clock_read_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t clock_mono_ns(void)
{
	return clock_read_ns(CLOCK_MONOTONIC);
}
int64_t clock_real_ns(void)
{
	return clock_read_ns(CLOCK_REALTIME);
}
int64_t clock_thread_cpu_ns(void)
{
	return clock_read_ns(CLOCK_THREAD_CPUTIME_ID);
}
double clock_ns_to_s(int64_t ns)
{
	return (double)ns / 1e9;
}
void clock_sleep_until_ns(int64_t mono_ns)
{
	struct timespec ts = {.tv_sec = mono_ns / 1000000000LL, .tv_nsec = mono_ns % 1000000000LL};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
	}
}
