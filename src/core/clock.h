#ifndef VK_CORE_CLOCK_H
#define VK_CORE_CLOCK_H
/* Clocks. Everything inside Veeksha is CLOCK_MONOTONIC nanoseconds; one realtime
 * anchor per run converts to wall time for output. Thread-safe. */
#include <stdint.h>

int64_t clock_mono_ns(void);
int64_t clock_real_ns(void);
/* CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID); a system call, not for hot paths. */
int64_t clock_thread_cpu_ns(void);
double clock_ns_to_s(int64_t ns);
int64_t clock_s_to_ns(double s);
/* Sleep until an absolute monotonic time (restarts on EINTR). */
void clock_sleep_until_ns(int64_t mono_ns);

#endif
