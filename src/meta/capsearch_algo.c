#include "meta/capsearch_algo.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/jsonw.h"

double capsearch_round(double v, int64_t precision, bool integer_domain)
{
	if (integer_domain) {
		double r = jsonw_py_round(v, 0);
		return r < 1 ? 1 : r;
	}
	return jsonw_py_round(v, (int)precision);
}

struct capsearch_state {
	const struct capsearch_params *p;
	capsearch_probe_fn probe;
	void *ctx;
	struct capsearch_result *out;
	double scale;
};

static int64_t capsearch_to_units(const struct capsearch_state *s, double v)
{
	return llround(v * s->scale);
}
static double capsearch_from_units(const struct capsearch_state *s, int64_t u)
{
	return (double)u / s->scale;
}

/* 1 pass, 0 fail, <0 abort */
static int capsearch_eval(struct capsearch_state *s, int64_t units)
{
	struct capsearch_result *o = s->out;
	double v = capsearch_from_units(s, units);
	int r = s->probe(s->ctx, v);
	if (r < 0) {
		o->aborted = true;
		return r;
	}
	if (o->n_history < CAPSEARCH_MAX_HISTORY) {
		o->values[o->n_history] = v;
		o->passed[o->n_history] = r == 1;
		o->n_history++;
	}
	o->iterations_run++;
	return r == 1;
}

int capsearch_run(const struct capsearch_params *p, capsearch_probe_fn probe, void *ctx, struct capsearch_result *out,
                  char *err, size_t err_len)
{
	memset(out, 0, sizeof *out);
	if (p->max_iterations <= 0 || !(p->start_value > 0) || !(p->expansion_factor > 1) ||
	    !(p->start_value <= p->max_value) || p->precision < 0 || p->precision > 9) {
		snprintf(err, err_len,
		         "capacity search needs max_iterations > 0, start_value > 0, expansion_factor > 1, "
		         "start_value <= max_value and 0 <= precision <= 9");
		return -1;
	}
	struct capsearch_state s = {.p = p, .probe = probe, .ctx = ctx, .out = out};
	s.scale = p->integer_domain ? 1.0 : pow(10.0, (double)p->precision);
	int64_t probe_u = capsearch_to_units(&s, capsearch_round(p->start_value, p->precision, p->integer_domain));
	int64_t max_u = capsearch_to_units(&s, capsearch_round(p->max_value, p->precision, p->integer_domain));
	if (probe_u > max_u)
		probe_u = max_u;
	int64_t last_pass = -1, first_fail = -1;

	/* Phase 1: expand until the first failure. */
	while (out->iterations_run < p->max_iterations) {
		int r = capsearch_eval(&s, probe_u);
		if (r < 0)
			break;
		if (r == 0) {
			first_fail = probe_u;
			break;
		}
		last_pass = probe_u;
		if (probe_u >= max_u)
			break;
		double next_v = capsearch_round(capsearch_from_units(&s, probe_u) * p->expansion_factor, p->precision,
		                                p->integer_domain);
		int64_t next_u = capsearch_to_units(&s, next_v);
		if (next_u <= probe_u)
			next_u = probe_u + 1;
		probe_u = next_u < max_u ? next_u : max_u;
	}

	if (!out->aborted && last_pass >= 0 && first_fail < 0 && last_pass < max_u) {
		out->budget_exhausted = true; /* phase 1 ran out of iterations below max_value */
		out->untested_up_to = capsearch_from_units(&s, max_u);
	}
	/* Phase 2: bisect (last_pass, first_fail) exclusive of both known ends. */
	if (!out->aborted && last_pass >= 0 && first_fail >= 0) {
		int64_t lo = last_pass, hi = first_fail - 1;
		while (lo < hi && out->iterations_run < p->max_iterations) {
			int64_t mid = lo + (hi - lo + 1) / 2;
			int r = capsearch_eval(&s, mid);
			if (r < 0)
				break;
			if (r == 1)
				lo = mid;
			else
				hi = mid - 1;
		}
		if (!out->aborted && lo < hi) {
			out->budget_exhausted = true; /* the bisection ran out of iterations */
			out->untested_up_to = capsearch_from_units(&s, hi);
		}
		last_pass = lo;
	}
	if (last_pass >= 0) {
		out->found = true;
		out->best_value = capsearch_from_units(&s, last_pass);
	}
	return 0;
}
