#ifndef VK_CORE_WAKE_CALIB_H
#define VK_CORE_WAKE_CALIB_H
/* How late this host wakes a sleeping thread, and how long the event loop must therefore stay awake
 * before a scheduled dispatch (docs/CLIENT.md, Dispatch spin).
 *
 * The loop sleeps until window_ns before a dispatch, then naps (wake_calib_nap_ns) until busy_ns
 * before it, then polls without sleeping. Every timed wait that ended by its timeout is a sample of
 * the wake-up lateness: short ones (at most 2 x nap_ns) and long ones (sleeps) are kept apart,
 * because on some hosts an idle CPU wakes promptly from a short wait (a guest that polls before it
 * halts) and late, sometimes by milliseconds, from a long one. From the last WAKE_CALIB_RING samples
 * of each, with q the WAKE_CALIB_QUANTILE of a class (p99.9: a p99 leaves one dispatch in a hundred
 * late, which is what a dispatch-lateness p99 then shows):
 *   busy_ns   = short q + WAKE_CALIB_MARGIN_NS              (at most max_ns and busy_cap_ns: 2 x nap_ns
 *                                                            unless set; but 2 ms, at most max_ns, when
 *                                                            short q > WAKE_CALIB_NAP_UNTRUSTED_NS)
 *   window_ns = long q + busy_ns + WAKE_CALIB_MARGIN_NS     (at least busy_ns, at most max_ns)
 * Until there are WAKE_CALIB_MIN_SAMPLES long samples the short q stands for the long one (with the
 * window at max_ns the loop would nap through every gap shorter than max_ns and never measure a
 * sleep); without WAKE_CALIB_MIN_SAMPLES short ones either, the window is max_ns and busy_ns is the
 * fixed 2 ms poll of old (at most max_ns). On a host that wakes on time both
 * come out at tens of microseconds, and so does the CPU spent polling. No allocation; not
 * thread-safe (one per event loop). */
#include <stdbool.h>
#include <stdint.h>

#define WAKE_CALIB_RING 2048
#define WAKE_CALIB_QUANTILE 0.999
#define WAKE_CALIB_MIN_SAMPLES 32
#define WAKE_CALIB_MARGIN_NS INT64_C(10000)
#define WAKE_CALIB_NAP_NS INT64_C(100000)
#define WAKE_CALIB_BUSY_CAP_NAPS 2                  /* busy_ns is at most this many naps (see wake_calib_choose) */
#define WAKE_CALIB_BUSY_UNKNOWN_NS INT64_C(2000000) /* busy_ns before enough naps were measured */
#define WAKE_CALIB_NAP_UNTRUSTED_NS INT64_C(500000) /* naps this late (q): poll busy_unknown instead */

enum wake_class { WAKE_SHORT = 0, WAKE_LONG = 1 };

struct wake_calib {
	int64_t max_ns; /* the cap: runtime.dispatch_spin_us (0: never stay awake) */
	int64_t nap_ns; /* longest nap inside the window */
	int64_t ring_ns[2][WAKE_CALIB_RING];
	uint32_t count[2];             /* samples in the ring (at most WAKE_CALIB_RING) */
	uint32_t next[2];              /* ring position of the next sample */
	uint64_t total[2];             /* samples ever added */
	uint32_t since_choose;         /* samples added since the last wake_calib_choose() */
	uint32_t choices;              /* wake_calib_choose() calls that had samples */
	int64_t p50_ns[2], p999_ns[2]; /* median and WAKE_CALIB_QUANTILE (p99.9) of the ring at the last choice
	                                 (-1: no samples) */
	int64_t window_ns;             /* stay awake (napping) from deadline - window_ns */
	int64_t busy_ns;               /* poll without sleeping from deadline - busy_ns */
	int64_t busy_cap_ns;           /* busy_ns's cap once naps are measured (2 naps unless set) */
};

/* Starts with no samples: window_ns = max_ns, busy_ns = min(max_ns, 2 ms) until samples arrive. */
void wake_calib_init(struct wake_calib *c, int64_t max_ns);
/* The cap of busy_ns once naps are measured: cap_ns (e.g. a maximum the user chose), or 0 for the
 * default of WAKE_CALIB_BUSY_CAP_NAPS naps. */
void wake_calib_set_busy_cap(struct wake_calib *c, int64_t cap_ns);
/* The class of a timed wait of wait_ns. */
enum wake_class wake_calib_class(const struct wake_calib *c, int64_t wait_ns);
/* One timed wait of wait_ns that ended late_ns after its timeout. Re-chooses after every
 * WAKE_CALIB_RING / 4 samples. */
void wake_calib_add(struct wake_calib *c, int64_t wait_ns, int64_t late_ns);
/* Chooses window_ns and busy_ns from the samples now in the rings (rule above). */
void wake_calib_choose(struct wake_calib *c);
/* The next nap inside the window, to_busy_ns before the busy span: half of it, but at least nap_ns
 * (and at most to_busy_ns). Every wake-up costs the thread CPU (~13 us on this project's VM, more
 * than a nap of 100 us spares), so the naps halve the distance instead of stepping by nap_ns; a
 * nap's lateness barely depends on its length (docs/CLIENT.md, Dispatch spin). */
int64_t wake_calib_nap_ns(const struct wake_calib *c, int64_t to_busy_ns);
/* The start-up burst: n short waits of nap_ns on this thread (clock_nanosleep), then a choice. */
void wake_calib_measure(struct wake_calib *c, uint32_t n);
/* Quantile q of v[0..n) (reorders v); -1 when n is 0. */
int64_t wake_calib_quantile(int64_t *v, uint32_t n, double q);

#endif
