/* Whether the client kept up with the load it was asked to offer (docs/METRICS.md, Client saturation):
 * a verdict a user cannot miss, from the loop's busy ticks (measured by the runner) and the dispatch
 * lateness of every registration (measured here). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonw.h"
#include "core/xalloc.h"
#include "metrics/eval_internal.h"
#include "metrics/pct.h"

bool eval_saturation_decide(double busy_tick_share, double lateness_p99_ms, const struct cfg_runtime *rt, char *why,
                            size_t why_len)
{
	bool busy = busy_tick_share > EVAL_SATURATION_BUSY_SHARE;
	bool late = !isnan(lateness_p99_ms) && lateness_p99_ms > rt->saturation_lateness_p99_ms;
	why[0] = '\0';
	if (busy)
		snprintf(why, why_len, "the client loop was busy above %.0f%% in %.0f%% of the run's 250 ms ticks",
		         rt->saturation_busy_fraction * 100.0, busy_tick_share * 100.0);
	if (late) {
		size_t n = strlen(why);
		snprintf(why + n, why_len - n, "%sdispatch lateness p99 %.2f ms > %.2f ms", busy ? "; " : "",
		         lateness_p99_ms, rt->saturation_lateness_p99_ms);
	}
	return busy || late;
}

void eval_set_client_load(struct evaluator *e, double busy_tick_share)
{
	e->busy_tick_share = busy_tick_share;
}

/* At finalize, with the registrations mapped: the lateness p99 and the verdict. */
void eval_check_saturation(struct evaluator *e)
{
	double *late = xcalloc(e->n_regs + 1, sizeof *late);
	size_t n = 0;
	for (size_t i = 0; i < e->n_regs; i++)
		if (e->regs[i].intended_ns && e->regs[i].dispatched_ns)
			late[n++] = (double)(e->regs[i].dispatched_ns - e->regs[i].intended_ns) / 1e6;
	e->lateness_p50_ms = e->lateness_p99_ms = e->lateness_p999_ms = NAN;
	if (n) {
		pct_sort(late, n);
		e->lateness_p50_ms = pct_linear_sorted(late, n, 0.5);
		e->lateness_p99_ms = pct_linear_sorted(late, n, 0.99);
		e->lateness_p999_ms = pct_linear_sorted(late, n, 0.999);
	}
	free(late);
	e->client_saturated = eval_saturation_decide(e->busy_tick_share, e->lateness_p99_ms, &e->cfg->runtime,
	                                             e->saturation_why, sizeof e->saturation_why);
}

void eval_dispatch_lateness_ms(const struct evaluator *e, double *p50, double *p99, double *p999)
{
	*p50 = e->lateness_p50_ms;
	*p99 = e->lateness_p99_ms;
	*p999 = e->lateness_p999_ms;
}

bool eval_client_saturated(const struct evaluator *e, const char **why)
{
	if (why)
		*why = e->saturation_why;
	return e->client_saturated;
}

void eval_write_saturation_keys(const struct evaluator *e, struct jsonw *w)
{
	jsonw_key(w, "client_saturated");
	jsonw_bool(w, e->finalized && e->client_saturated);
	jsonw_key(w, "client_saturation_reason");
	jsonw_str(w, e->finalized ? e->saturation_why : "");
}
