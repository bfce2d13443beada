#ifndef VK_CORE_CLOCK_H
#define VK_CORE_CLOCK_H
/* Clocks. Everything inside Veeksha is CLOCK_MONOTONIC nanoseconds; one realtime
 * anchor per run converts to wall time for output. Thread-safe. */
#include <math.h>
#include <stdint.h>

int64_t clock_mono_ns(void);
int64_t clock_real_ns(void);
/* CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID); a system call, not for hot paths. */
int64_t clock_thread_cpu_ns(void);
double clock_ns_to_s(int64_t ns);
/* Seconds to ns, rounded half away from zero: exactly llround(s * 1e9), without the library call
 * (the evaluator converts every chunk gap back to its ns, millions per run). For |y| < 2^53 the
 * truncation and the fraction y - trunc(y) are exact, so the comparison with 0.5 decides exactly;
 * larger or non-finite values take llround itself. */
static inline int64_t clock_s_to_ns(double s)
{
	double y = s * 1e9;
	if (!(y > -9007199254740992.0 && y < 9007199254740992.0))
		return (int64_t)llround(y);
	int64_t i = (int64_t)y;
	double f = y - (double)i;
	return i + (f >= 0.5) - (f <= -0.5);
}
/* A configured duration (seconds; a file may say 1e10 or 2^63-1) to ns, held within +/- ~10 years
 * so that now + the result cannot overflow: a longer wait is "never" for any run. */
#define CLOCK_SPAN_MAX_S (3600.0 * 24 * 3650)
static inline int64_t clock_span_s_to_ns(double s)
{
	if (!(s < CLOCK_SPAN_MAX_S))
		s = isnan(s) ? 0.0 : CLOCK_SPAN_MAX_S;
	else if (s < -CLOCK_SPAN_MAX_S)
		s = -CLOCK_SPAN_MAX_S;
	return clock_s_to_ns(s);
}
/* Sleep until an absolute monotonic time (restarts on EINTR). */
void clock_sleep_until_ns(int64_t mono_ns);

#endif
