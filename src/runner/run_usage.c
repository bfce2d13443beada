/* The client's own resource use during a run (see run_usage.h). */
#include "runner/run_usage.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/wake_calib.h"

static double ru_cpu_s(const struct rusage *r)
{
	return (double)r->ru_utime.tv_sec + (double)r->ru_utime.tv_usec / 1e6 + (double)r->ru_stime.tv_sec +
	       (double)r->ru_stime.tv_usec / 1e6;
}

void run_usage_begin(struct run_usage *u)
{
	memset(u, 0, sizeof *u);
	u->lateness_p50_ms = u->lateness_p99_ms = u->lateness_p999_ms = NAN;
	u->start_ns = clock_mono_ns();
	getrusage(RUSAGE_SELF, &u->self_start);
	getrusage(RUSAGE_THREAD, &u->loop_start);
}

/* Current resident set in KiB (/proc/self/statm), -1 when unknown. */
static int64_t run_usage_rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	long long size = 0, resident = -1;
	/* the kernel's two page counts: they fit a long long */
	if (fscanf(f, "%lld %lld", &size, &resident) != 2) // NOLINT(cert-err34-c)
		resident = -1;
	fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	return resident < 0 || page <= 0 ? -1 : (int64_t)(resident * (page / 1024));
}

void run_usage_run_end(struct run_usage *u)
{
	u->run_end_ns = clock_mono_ns();
	getrusage(RUSAGE_SELF, &u->self_run_end);
	getrusage(RUSAGE_THREAD, &u->loop_run_end);
	u->run_end_rss_kb = run_usage_rss_kb();
}

void run_usage_done(struct run_usage *u)
{
	u->done_ns = clock_mono_ns();
	getrusage(RUSAGE_SELF, &u->self_done);
}

double run_usage_loop_busy(const struct run_usage *u)
{
	double wall = (double)(u->run_end_ns - u->start_ns) / 1e9;
	if (wall <= 0)
		return 0.0;
	double busy = (ru_cpu_s(&u->loop_run_end) - ru_cpu_s(&u->loop_start) - (double)u->loop_spin_ns / 1e9) / wall;
	return busy > 0 ? busy : 0.0;
}

int run_usage_stamps_may_be_late(const struct run_usage *u)
{
	return u->reads_stamped > 0 && u->tbc_p90_s >= RUN_USAGE_STAMP_TBC_MIN_S &&
	       (double)u->reads_lagging_tbc >= RUN_USAGE_STAMP_LATE_SHARE * (double)u->reads_stamped;
}

static void put_num(struct jsonw *w, const char *key, double v)
{
	jsonw_key(w, key);
	jsonw_double_round(w, v, 6);
}

void run_usage_set_spin(struct run_usage *u, const struct wake_calib *c)
{
	u->spin_auto = c != NULL;
	u->spin_max_ns = c ? c->max_ns : 0;
	u->spin_window_ns = c ? c->window_ns : 0;
	u->spin_busy_ns = c ? c->busy_ns : 0;
	u->wake_short_p50_ns = c ? c->p50_ns[WAKE_SHORT] : -1;
	u->wake_short_p999_ns = c ? c->p999_ns[WAKE_SHORT] : -1;
	u->wake_long_p50_ns = c ? c->p50_ns[WAKE_LONG] : -1;
	u->wake_long_p999_ns = c ? c->p999_ns[WAKE_LONG] : -1;
	u->wake_short_samples = c ? c->total[WAKE_SHORT] : 0;
	u->wake_long_samples = c ? c->total[WAKE_LONG] : 0;
}

/* A wake-up lateness in microseconds, or null when nothing was measured. */
static void put_late_us(struct jsonw *w, const char *key, int64_t ns)
{
	jsonw_key(w, key);
	if (ns < 0)
		jsonw_null(w);
	else
		jsonw_double_round(w, (double)ns / 1e3, 3);
}

int run_usage_write(const struct run_usage *u, const char *run_dir, uint64_t requests, uint64_t output_tokens)
{
	double run_wall = (double)(u->run_end_ns - u->start_ns) / 1e9;
	double run_cpu = ru_cpu_s(&u->self_run_end) - ru_cpu_s(&u->self_start);
	double loop_cpu = ru_cpu_s(&u->loop_run_end) - ru_cpu_s(&u->loop_start);
	double spin = (double)u->loop_spin_ns / 1e9;
	/* the work per request, without the polling before dispatches (runtime.dispatch_spin_us) */
	double work_cpu = run_cpu > spin ? run_cpu - spin : 0.0;
	double out_wall = (double)(u->done_ns - u->run_end_ns) / 1e9;
	double out_cpu = ru_cpu_s(&u->self_done) - ru_cpu_s(&u->self_run_end);
	double busy = run_usage_loop_busy(u);

	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 2);
	jsonw_obj_begin(&w);
	put_num(&w, "run_wall_s", run_wall);
	put_num(&w, "run_cpu_s", run_cpu);
	put_num(&w, "run_loop_thread_cpu_s", loop_cpu);
	put_num(&w, "run_loop_spin_s", spin);
	/* the dispatch spin: how late this host woke the loop, and how long it chose to stay awake */
	put_num(&w, "dispatch_spin_max_us", (double)u->spin_max_ns / 1e3);
	put_num(&w, "dispatch_spin_window_us", (double)u->spin_window_ns / 1e3);
	put_num(&w, "dispatch_spin_busy_us", (double)u->spin_busy_ns / 1e3);
	put_late_us(&w, "wake_lateness_short_us_p50", u->spin_auto ? u->wake_short_p50_ns : -1);
	put_late_us(&w, "wake_lateness_short_us_p999", u->spin_auto ? u->wake_short_p999_ns : -1);
	put_late_us(&w, "wake_lateness_long_us_p50", u->spin_auto ? u->wake_long_p50_ns : -1);
	put_late_us(&w, "wake_lateness_long_us_p999", u->spin_auto ? u->wake_long_p999_ns : -1);
	jsonw_key(&w, "wake_samples_short");
	jsonw_int(&w, (int64_t)u->wake_short_samples);
	jsonw_key(&w, "wake_samples_long");
	jsonw_int(&w, (int64_t)u->wake_long_samples);
	put_num(&w, "dispatch_spin_poll_tick_share", u->spin_poll_tick_share);
	/* the dispatch lateness to the ns (the rows round it to 10 us), what the spin is for */
	put_late_us(&w, "dispatch_lateness_us_p50",
	            isnan(u->lateness_p50_ms) ? -1 : (int64_t)(u->lateness_p50_ms * 1e6));
	put_late_us(&w, "dispatch_lateness_us_p99",
	            isnan(u->lateness_p99_ms) ? -1 : (int64_t)(u->lateness_p99_ms * 1e6));
	put_late_us(&w, "dispatch_lateness_us_p999",
	            isnan(u->lateness_p999_ms) ? -1 : (int64_t)(u->lateness_p999_ms * 1e6));
	jsonw_key(&w, "dispatches_prepared_ahead");
	jsonw_int(&w, (int64_t)u->prepared_ahead);
	jsonw_key(&w, "prepared_ahead_replaced");
	jsonw_int(&w, (int64_t)u->ahead_replaced);
	jsonw_key(&w, "read_polls_skipped");
	jsonw_int(&w, (int64_t)u->polls_skipped);
	jsonw_key(&w, "reads_kernel_stamped");
	jsonw_int(&w, (int64_t)u->reads_stamped);
	put_num(&w, "read_lag_us_p50", (double)u->read_lag_p50_ns / 1e3);
	put_num(&w, "read_lag_us_p99", (double)u->read_lag_p99_ns / 1e3);
	put_num(&w, "read_lag_us_max", (double)u->read_lag_max_ns / 1e3);
	put_num(&w, "reads_lagging_tbc_p90_share",
	        u->reads_stamped ? (double)u->reads_lagging_tbc / (double)u->reads_stamped : 0.0);
	jsonw_key(&w, "chunk_stamps_may_be_late");
	jsonw_bool(&w, run_usage_stamps_may_be_late(u));
	put_num(&w, "loop_busy_fraction", busy);
	jsonw_key(&w, "requests");
	jsonw_int(&w, (int64_t)requests);
	jsonw_key(&w, "output_tokens");
	jsonw_int(&w, (int64_t)output_tokens);
	put_num(&w, "run_cpu_us_per_request", requests ? work_cpu * 1e6 / (double)requests : 0.0);
	put_num(&w, "run_cpu_ms_per_1000_output_tokens", output_tokens ? work_cpu * 1e6 / (double)output_tokens : 0.0);
	put_num(&w, "outputs_wall_s", out_wall);
	put_num(&w, "outputs_cpu_s", out_cpu);
	jsonw_key(&w, "run_end_rss_kb");
	jsonw_int(&w, u->run_end_rss_kb);
	jsonw_key(&w, "peak_rss_kb");
	jsonw_int(&w, (int64_t)u->self_done.ru_maxrss);
	jsonw_key(&w, "client_may_have_limited_load");
	jsonw_bool(&w, busy > RUN_USAGE_BUSY_WARN);
	put_num(&w, "busy_tick_share", u->busy_tick_share);
	jsonw_key(&w, "client_saturated");
	jsonw_bool(&w, u->saturated == 1);
	jsonw_obj_end(&w);
	buf_putc(&b, '\n');
	char *metrics = fs_path_join(run_dir, "metrics");
	char *p = fs_path_join(metrics, "client_usage.json");
	int rc = fs_write_file_or_log(p, b.data, b.len);
	free(p);
	free(metrics);
	buf_free(&b);
	if (busy > RUN_USAGE_BUSY_WARN)
		log_warn("the client's event loop was busy %.0f%% of the run (%.2f s CPU in %.2f s): the client may "
		         "have limited the offered load and delayed timestamps; see metrics/client_usage.json",
		         busy * 100.0, loop_cpu - spin, run_wall);
	if (run_usage_stamps_may_be_late(u))
		log_warn(
		    "%.2f%% of the client's reads waited in their socket at least the usual time between chunks "
		    "(TBC p90 %.2f ms; read lag p99 %.2f ms): some chunks were probably read together with the next "
		    "one of "
		    "their stream and carry its arrival time (a TBC of 0, the one before it one gap too long); see "
		    "metrics/client_usage.json (docs/CLIENT.md, Timestamps)",
		    100.0 * (double)u->reads_lagging_tbc / (double)u->reads_stamped, u->tbc_p90_s * 1e3,
		    (double)u->read_lag_p99_ns / 1e6);
	return rc;
}
