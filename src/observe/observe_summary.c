/* Canonical names, server_metrics.csv, server_summary.json and the reconciliation
 * (docs/OBSERVABILITY.md). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "observe/observe_internal.h"

enum obs_kind { OBS_K_GAUGE, OBS_K_COUNTER, OBS_K_HIST };

struct obs_canon {
	const char *key;
	enum obs_kind kind;
	bool average;                    /* a fraction: average over label sets (engines) instead of summing */
	const char *names[OBS_MAX_RANK]; /* candidates, first found wins: vLLM V1, vLLM V0, SGLang */
};

/* The mapping table of docs/OBSERVABILITY.md. */
static const struct obs_canon obs_canon_table[] = {
    {"running", OBS_K_GAUGE, false, {"vllm:num_requests_running", "sglang:num_running_reqs"}},
    {"waiting", OBS_K_GAUGE, false, {"vllm:num_requests_waiting", "sglang:num_queue_reqs"}},
    {"kv_cache_usage",
     OBS_K_GAUGE,
     true,
     {"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage"}},
    {"prefix_cache_hit_rate_gauge", OBS_K_GAUGE, true, {"vllm:gpu_prefix_cache_hit_rate", "sglang:cache_hit_rate"}},
    {"preemptions", OBS_K_COUNTER, false, {"vllm:num_preemptions_total", "sglang:num_retracted_requests_total"}},
    {"prompt_tokens", OBS_K_COUNTER, false, {"vllm:prompt_tokens_total", "sglang:prompt_tokens_total"}},
    {"generation_tokens", OBS_K_COUNTER, false, {"vllm:generation_tokens_total", "sglang:generation_tokens_total"}},
    {"prefix_cache_hits",
     OBS_K_COUNTER,
     false,
     {"vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total", "sglang:cached_tokens_total"}},
    {"prefix_cache_queries",
     OBS_K_COUNTER,
     false,
     {"vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total", "sglang:prompt_tokens_total"}},
    {"request_success", OBS_K_COUNTER, false, {"vllm:request_success_total", "sglang:num_requests_total"}},
    {"ttft", OBS_K_HIST, false, {"vllm:time_to_first_token_seconds", "sglang:time_to_first_token_seconds"}},
    {"e2e", OBS_K_HIST, false, {"vllm:e2e_request_latency_seconds", "sglang:e2e_request_latency_seconds"}},
    {"queue_time", OBS_K_HIST, false, {"vllm:request_queue_time_seconds", "sglang:queue_time_seconds"}},
    {"itl",
     OBS_K_HIST,
     false,
     {"vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds", "sglang:inter_token_latency_seconds",
      "sglang:time_per_output_token_seconds"}},
};
#define OBS_N_TABLE (sizeof obs_canon_table / sizeof obs_canon_table[0])
_Static_assert(sizeof obs_canon_table / sizeof obs_canon_table[0] <= OBS_N_CANON, "OBS_N_CANON too small");

/* Relative tolerance of the token and request counts in the reconciliation. */
#define OBS_COUNT_TOLERANCE 0.01
/* TTFC vs TTFT: the server's bucket width at the quantile plus max(5 ms, 5% of the client's value). */
#define OBS_TTFT_TOL_ABS_S 0.005
#define OBS_TTFT_TOL_REL 0.05

void obs_canon_init(struct obs_scraper *s)
{
	memset(s->gauges, 0, sizeof s->gauges);
}

int obs_canon_gauge_of(const char *name, int *rank)
{
	for (size_t k = 0; k < OBS_N_TABLE; k++) {
		if (obs_canon_table[k].kind != OBS_K_GAUGE)
			continue;
		for (int r = 0; r < OBS_MAX_RANK && obs_canon_table[k].names[r]; r++)
			if (!strcmp(name, obs_canon_table[k].names[r])) {
				*rank = r;
				return (int)k;
			}
	}
	*rank = 0;
	return -1;
}

void obs_canon_gauges_update(struct obs_scraper *s, int64_t t_ns, double sum[OBS_N_CANON][OBS_MAX_RANK],
                             int cnt[OBS_N_CANON][OBS_MAX_RANK])
{
	for (size_t k = 0; k < OBS_N_TABLE; k++) {
		if (obs_canon_table[k].kind != OBS_K_GAUGE)
			continue;
		for (int r = 0; r < OBS_MAX_RANK; r++) {
			if (!cnt[k][r])
				continue;
			double v = obs_canon_table[k].average ? sum[k][r] / cnt[k][r] : sum[k][r];
			struct obs_gauge_stat *g = &s->gauges[k];
			g->source = obs_canon_table[k].names[r];
			if (!g->n) {
				g->first = g->min = g->max = v;
				g->t_max_ns = t_ns;
			}
			if (v < g->min)
				g->min = v;
			if (v > g->max) {
				g->max = v;
				g->t_max_ns = t_ns;
			}
			g->last = v;
			g->sum += v;
			g->n++;
			break;
		}
	}
}

static int obs_cmp_pair(const void *a, const void *b)
{
	const double *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

double obs_hist_quantile(const double *le, const double *cum, size_t n, double q, double *width_out)
{
	if (width_out)
		*width_out = NAN;
	if (!n)
		return NAN;
	double total = cum[n - 1];
	if (!(total > 0))
		return NAN;
	double rank = q * total;
	size_t i = 0;
	while (i < n && cum[i] < rank)
		i++;
	if (i >= n)
		i = n - 1;
	if (isinf(le[i])) {
		/* beyond the highest finite bound: that bound is all one can say */
		if (width_out)
			*width_out = INFINITY;
		return i ? le[i - 1] : NAN;
	}
	double lo = i ? le[i - 1] : (le[0] > 0 ? 0 : le[0]);
	double below = i ? cum[i - 1] : 0;
	double in = cum[i] - below;
	if (width_out)
		*width_out = le[i] - lo;
	if (!(in > 0))
		return le[i];
	return lo + (le[i] - lo) * (rank - below) / in;
}

/* ------------------------------------------------------------------ canonical values at the end */
struct obs_counter_val {
	const char *source;
	double delta;
};

static bool obs_counter(const struct obs_scraper *s, const char *const *names, struct obs_counter_val *out)
{
	for (int r = 0; r < OBS_MAX_RANK && names[r]; r++) {
		bool found = false;
		double d = 0;
		for (size_t i = 0; i < s->n_series; i++)
			if (!strcmp(s->series[i].name, names[r])) {
				found = true;
				d += s->series[i].delta;
			}
		if (found) {
			out->source = names[r];
			out->delta = d;
			return true;
		}
	}
	return false;
}

struct obs_hist_val {
	const char *source;
	double count, sum;
	double p50, p90, p99, w50, w90, w99;
};

static bool obs_name_is(const char *name, const char *base, const char *suffix)
{
	size_t n = strlen(base);
	return !strncmp(name, base, n) && !strcmp(name + n, suffix);
}

static bool obs_hist(const struct obs_scraper *s, const char *const *names, struct obs_hist_val *out)
{
	for (int r = 0; r < OBS_MAX_RANK && names[r]; r++) {
		size_t nb = 0;
		double *pairs = NULL;
		size_t cap = 0;
		double count = 0, sum = 0;
		bool found = false;
		for (size_t i = 0; i < s->n_series; i++) {
			const struct obs_series *se = &s->series[i];
			if (obs_name_is(se->name, names[r], "_bucket") && !isnan(se->le)) {
				xgrow((void **)&pairs, &cap, 2 * (nb + 1), sizeof *pairs);
				pairs[2 * nb] = se->le;
				pairs[2 * nb + 1] = se->delta;
				nb++;
				found = true;
			} else if (obs_name_is(se->name, names[r], "_count")) {
				count += se->delta;
				found = true;
			} else if (obs_name_is(se->name, names[r], "_sum")) {
				sum += se->delta;
				found = true;
			}
		}
		if (!found) {
			free(pairs);
			continue;
		}
		qsort(pairs, nb, 2 * sizeof *pairs, obs_cmp_pair);
		/* label sets (engines) with the same bounds add up */
		double *le = xcalloc(nb + 1, sizeof *le), *cum = xcalloc(nb + 1, sizeof *cum);
		size_t m = 0;
		for (size_t i = 0; i < nb; i++) {
			if (m && le[m - 1] == pairs[2 * i]) {
				cum[m - 1] += pairs[2 * i + 1];
				continue;
			}
			le[m] = pairs[2 * i];
			cum[m] = pairs[2 * i + 1];
			m++;
		}
		out->source = names[r];
		out->count = count ? count : (m ? cum[m - 1] : 0);
		out->sum = sum;
		out->p50 = obs_hist_quantile(le, cum, m, 0.50, &out->w50);
		out->p90 = obs_hist_quantile(le, cum, m, 0.90, &out->w90);
		out->p99 = obs_hist_quantile(le, cum, m, 0.99, &out->w99);
		free(pairs);
		free(le);
		free(cum);
		return true;
	}
	return false;
}

/* ------------------------------------------------------------------ JSON helpers */
static void obs_num(struct jsonw *w, const char *key, double v)
{
	jsonw_key(w, key);
	if (isfinite(v))
		jsonw_double_round(w, v, 9);
	else
		jsonw_null(w);
}

static double obs_json_num(const cJSON *o, const char *key)
{
	const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static cJSON *obs_read_json(const char *run_dir, const char *name)
{
	char *m = fs_path_join(run_dir, "metrics");
	char *p = fs_path_join(m, name);
	size_t n = 0;
	char *text = fs_read_file(p, &n);
	cJSON *j = text ? cJSON_ParseWithLength(text, n) : NULL;
	free(text);
	free(p);
	free(m);
	return j;
}

/* The client's output tokens of completed requests: client_usage.json (a single-loop run), else the
 * sum over the successful rows of request_level_metrics.jsonl (a merged run has no client_usage.json). */
static double obs_client_output_tokens(const char *run_dir, const cJSON *usage)
{
	double v = obs_json_num(usage, "output_tokens");
	if (isfinite(v))
		return v;
	char *m = fs_path_join(run_dir, "metrics");
	char *p = fs_path_join(m, "request_level_metrics.jsonl");
	FILE *f = fopen(p, "r");
	free(p);
	free(m);
	if (!f)
		return NAN;
	double sum = 0;
	bool any = false;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		cJSON *row = cJSON_ParseWithLength(line, (size_t)n);
		const cJSON *ok = row ? cJSON_GetObjectItemCaseSensitive(row, "success") : NULL;
		double t = obs_json_num(row, "num_output_tokens");
		if (row && !cJSON_IsFalse(ok) && isfinite(t)) {
			sum += t;
			any = true;
		}
		cJSON_Delete(row);
	}
	free(line);
	fclose(f);
	return any ? sum : NAN;
}

struct obs_recon_row {
	const char *key, *label;
	double client, server, diff, tol;
	bool have, flag;
	bool time; /* seconds */
	const char *server_source;
};

static void obs_recon_count(struct obs_recon_row *r, const char *key, const char *label, double client,
                            const struct obs_counter_val *cv, bool have_server)
{
	memset(r, 0, sizeof *r);
	r->key = key;
	r->label = label;
	r->client = client;
	r->server = have_server ? cv->delta : NAN;
	r->server_source = have_server ? cv->source : NULL;
	r->have = isfinite(client) && have_server;
	r->diff = r->have ? client - r->server : NAN;
	r->tol = OBS_COUNT_TOLERANCE;
	if (r->have) {
		double base = fmax(fabs(r->server), fabs(client));
		r->flag = base > 0 && fabs(r->diff) > OBS_COUNT_TOLERANCE * base;
	}
}

static void obs_recon_time(struct obs_recon_row *r, const char *key, const char *label, double client, double server,
                           double width, const char *source)
{
	memset(r, 0, sizeof *r);
	r->key = key;
	r->label = label;
	r->time = true;
	r->client = client;
	r->server = server;
	r->server_source = source;
	r->have = isfinite(client) && isfinite(server);
	r->diff = r->have ? client - server : NAN;
	double w = isfinite(width) ? width : 0;
	r->tol = w + fmax(OBS_TTFT_TOL_ABS_S, OBS_TTFT_TOL_REL * (isfinite(client) ? fabs(client) : 0));
	r->flag = r->have && (!isfinite(width) || fabs(r->diff) > r->tol);
}

/* ------------------------------------------------------------------ CSV */
static void obs_csv_value(struct buf *b, double v)
{
	if (isnan(v))
		buf_puts(b, "NaN");
	else if (isinf(v))
		buf_puts(b, v > 0 ? "+Inf" : "-Inf");
	else {
		char tmp[40];
		size_t n = jsonw_format_double(v, tmp);
		buf_append(b, tmp, n);
	}
}

static void obs_csv_field(struct buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		buf_puts(b, s);
		return;
	}
	buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			buf_putc(b, '"');
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

static int obs_write_csv(const struct obs_scraper *s, const char *path, int64_t run_start_ns)
{
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "t_s,name,labels,value\n");
	for (size_t k = 0; k < s->n_stored; k++) {
		const struct obs_stored *sc = &s->stored[k];
		char t[32];
		snprintf(t, sizeof t, "%.6f", (double)(sc->t_ns - run_start_ns) / 1e9);
		for (size_t i = 0; i < sc->n; i++) {
			const struct obs_point *p = &s->points[sc->off + i];
			const struct obs_series *se = &s->series[p->series];
			buf_puts(&b, t);
			buf_putc(&b, ',');
			obs_csv_field(&b, se->name);
			buf_putc(&b, ',');
			obs_csv_field(&b, se->labels);
			buf_putc(&b, ',');
			obs_csv_value(&b, p->value);
			buf_putc(&b, '\n');
		}
	}
	int rc = fs_write_file_or_log(path, b.data, b.len);
	buf_free(&b);
	return rc;
}

/* ------------------------------------------------------------------ summary */
static const char *obs_engine(const struct obs_scraper *s)
{
	bool v = false, g = false;
	for (size_t i = 0; i < s->n_series; i++) {
		v |= !strncmp(s->series[i].name, "vllm:", 5);
		g |= !strncmp(s->series[i].name, "sglang:", 7);
	}
	return v && g ? "vllm+sglang" : v ? "vllm" : g ? "sglang" : s->n_series ? "unknown" : "none";
}

static void obs_write_raw(struct jsonw *w, const struct obs_scraper *s)
{
	jsonw_key(w, "raw");
	jsonw_obj_begin(w);
	/* gauges and counters per series; histograms and summaries per series without le/quantile */
	jsonw_key(w, "series");
	jsonw_arr_begin(w);
	for (size_t i = 0; i < s->n_series; i++) {
		const struct obs_series *se = &s->series[i];
		bool hist_part =
		    (se->type == PROM_HISTOGRAM || se->type == PROM_SUMMARY) && strcmp(se->name, se->family);
		if (hist_part)
			continue;
		jsonw_obj_begin(w);
		jsonw_key(w, "name");
		jsonw_str(w, se->name);
		jsonw_key(w, "labels");
		jsonw_str(w, se->labels);
		jsonw_key(w, "type");
		jsonw_str(w, prom_type_name(se->type));
		jsonw_key(w, "scrapes");
		jsonw_int(w, (int64_t)se->n);
		if (se->type == PROM_COUNTER) {
			obs_num(w, "delta", se->delta);
		} else {
			obs_num(w, "min", se->min);
			obs_num(w, "mean", se->n ? se->sum / (double)se->n : NAN);
			obs_num(w, "max", se->max);
		}
		obs_num(w, "first", se->first);
		obs_num(w, "last", se->last);
		jsonw_obj_end(w);
	}
	jsonw_arr_end(w);
	jsonw_key(w, "histograms");
	jsonw_arr_begin(w);
	/* one entry per (family, labels without le) */
	for (size_t i = 0; i < s->n_series; i++) {
		const struct obs_series *se = &s->series[i];
		if (se->type != PROM_HISTOGRAM || !obs_name_is(se->name, se->family, "_count"))
			continue;
		size_t nb = 0, cap = 0;
		double *pairs = NULL, sum = NAN;
		for (size_t j = 0; j < s->n_series; j++) {
			const struct obs_series *b = &s->series[j];
			if (strcmp(b->family, se->family) || strcmp(b->series_labels, se->series_labels))
				continue;
			if (obs_name_is(b->name, se->family, "_bucket") && !isnan(b->le)) {
				xgrow((void **)&pairs, &cap, 2 * (nb + 1), sizeof *pairs);
				pairs[2 * nb] = b->le;
				pairs[2 * nb + 1] = b->delta;
				nb++;
			} else if (obs_name_is(b->name, se->family, "_sum")) {
				sum = b->delta;
			}
		}
		qsort(pairs, nb, 2 * sizeof *pairs, obs_cmp_pair);
		double *le = xcalloc(nb + 1, sizeof *le), *cum = xcalloc(nb + 1, sizeof *cum);
		for (size_t j = 0; j < nb; j++) {
			le[j] = pairs[2 * j];
			cum[j] = pairs[2 * j + 1];
		}
		jsonw_obj_begin(w);
		jsonw_key(w, "name");
		jsonw_str(w, se->family);
		jsonw_key(w, "labels");
		jsonw_str(w, se->series_labels);
		obs_num(w, "count", se->delta);
		obs_num(w, "sum", sum);
		obs_num(w, "mean", se->delta > 0 ? sum / se->delta : NAN);
		obs_num(w, "p50", obs_hist_quantile(le, cum, nb, 0.5, NULL));
		obs_num(w, "p90", obs_hist_quantile(le, cum, nb, 0.9, NULL));
		obs_num(w, "p99", obs_hist_quantile(le, cum, nb, 0.99, NULL));
		jsonw_obj_end(w);
		free(pairs);
		free(le);
		free(cum);
	}
	jsonw_arr_end(w);
	jsonw_obj_end(w);
}

static void obs_print(const struct obs_scraper *s, FILE *out, const struct obs_recon_row *rows, size_t n_rows)
{
	fprintf(out, "\nServer metrics (%s): %zu scrapes", s->url, s->scrapes_ok);
	if (s->scrapes_failed)
		fprintf(out, ", %zu failed", s->scrapes_failed);
	fprintf(out, "\n");
	if (!s->scrapes_ok)
		return;
	const struct obs_gauge_stat *g = s->gauges;
	for (size_t k = 0; k < OBS_N_TABLE; k++)
		if (obs_canon_table[k].kind == OBS_K_GAUGE && g[k].n &&
		    strcmp(obs_canon_table[k].key, "prefix_cache_hit_rate_gauge"))
			fprintf(out, "  %-16s min %.4g  mean %.4g  max %.4g\n", obs_canon_table[k].key, g[k].min,
			        g[k].sum / (double)g[k].n, g[k].max);
	fprintf(out, "Reconciliation (client vs server)          client        server    difference\n");
	for (size_t i = 0; i < n_rows; i++) {
		const struct obs_recon_row *r = &rows[i];
		if (!isfinite(r->client) && !isfinite(r->server))
			continue;
		if (r->time)
			fprintf(out, "  %-36s %11.4f s %11.4f s %+10.2f ms  %s\n", r->label, r->client, r->server,
			        r->diff * 1e3,
			        !r->have  ? "n/a"
			        : r->flag ? "MISMATCH"
			                  : "ok");
		else
			fprintf(out, "  %-36s %13.0f %13.0f %+13.0f  %s\n", r->label, r->client, r->server, r->diff,
			        !r->have  ? "n/a"
			        : r->flag ? "MISMATCH"
			                  : "ok");
	}
}

int obs_scraper_write(struct obs_scraper *s, const char *run_dir, int64_t run_start_ns, FILE *console)
{
	char *mdir = fs_path_join(run_dir, "metrics");
	fs_mkdir_p(mdir);
	char *csv = fs_path_join(mdir, "server_metrics.csv");
	char *js = fs_path_join(mdir, "server_summary.json");
	int rc = obs_write_csv(s, csv, run_start_ns) ? -1 : 0;

	/* canonical values */
	struct obs_counter_val cv[OBS_N_CANON];
	struct obs_hist_val hv[OBS_N_CANON];
	bool have[OBS_N_CANON];
	memset(cv, 0, sizeof cv);
	memset(hv, 0, sizeof hv);
	for (size_t k = 0; k < OBS_N_TABLE; k++) {
		const struct obs_canon *c = &obs_canon_table[k];
		have[k] = c->kind == OBS_K_GAUGE     ? s->gauges[k].n > 0
		          : c->kind == OBS_K_COUNTER ? obs_counter(s, c->names, &cv[k])
		                                     : obs_hist(s, c->names, &hv[k]);
	}
	size_t k_gen = 0, k_succ = 0, k_ttft = 0, k_hits = 0, k_q = 0;
	for (size_t k = 0; k < OBS_N_TABLE; k++) {
		const char *key = obs_canon_table[k].key;
		if (!strcmp(key, "generation_tokens"))
			k_gen = k;
		else if (!strcmp(key, "request_success"))
			k_succ = k;
		else if (!strcmp(key, "ttft"))
			k_ttft = k;
		else if (!strcmp(key, "prefix_cache_hits"))
			k_hits = k;
		else if (!strcmp(key, "prefix_cache_queries"))
			k_q = k;
	}

	/* Counters and histograms are increases from the first page with samples to the last one: over
	 * the run only when the baseline (before the first request) and the final scrape (after the last
	 * response) both read one. Otherwise the server's side of the reconciliation is unknown, not a
	 * smaller number to compare with the client's (docs/OBSERVABILITY.md, reconciliation). */
	bool covers_run = s->baseline_ok && s->last_ok;
	char *cover_note = NULL;
	if (!covers_run) {
		struct buf why;
		buf_init(&why);
		if (!s->baseline_ok)
			buf_printf(&why, "the baseline scrape before the run read no samples (%s)",
			           s->baseline_error[0] ? s->baseline_error : "failed");
		if (!s->last_ok)
			buf_printf(&why, "%sthe final scrape after the run read no samples", why.len ? "; " : "");
		cover_note = xasprintf("%s: the server's counters and histograms do not cover the whole run, so "
		                       "the reconciliation has no server side",
		                       why.data);
		buf_free(&why);
	}

	/* the client's side, from the files the evaluator and the runner have just written */
	cJSON *stats = obs_read_json(run_dir, "summary_stats.json");
	cJSON *usage = obs_read_json(run_dir, "client_usage.json");
	struct obs_recon_row rows[5];
	obs_recon_count(&rows[0], "output_tokens", "output tokens vs generation tokens",
	                obs_client_output_tokens(run_dir, usage), &cv[k_gen], have[k_gen] && covers_run);
	obs_recon_count(&rows[1], "completed_requests", "completed requests vs request success",
	                obs_json_num(stats, "Number of Completed Requests"), &cv[k_succ], have[k_succ] && covers_run);
	const struct obs_hist_val *tt = have[k_ttft] && covers_run ? &hv[k_ttft] : NULL;
	obs_recon_time(&rows[2], "ttfc_p50_s", "TTFC p50 vs TTFT p50", obs_json_num(stats, "Time to First Chunk (P50)"),
	               tt ? tt->p50 : NAN, tt ? tt->w50 : NAN, tt ? tt->source : NULL);
	obs_recon_time(&rows[3], "ttfc_p99_s", "TTFC p99 vs TTFT p99", obs_json_num(stats, "Time to First Chunk (P99)"),
	               tt ? tt->p99 : NAN, tt ? tt->w99 : NAN, tt ? tt->source : NULL);
	obs_recon_time(&rows[4], "ttfc_mean_s", "TTFC mean vs TTFT mean",
	               obs_json_num(stats, "Time to First Chunk (Mean)"),
	               tt && tt->count > 0 ? tt->sum / tt->count : NAN, 0, tt ? tt->source : NULL);
	cJSON_Delete(stats);
	cJSON_Delete(usage);

	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 2);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "url");
	jsonw_str(&w, s->url);
	obs_num(&w, "interval_s", s->interval_s);
	jsonw_key(&w, "engine");
	jsonw_str(&w, obs_engine(s));
	jsonw_key(&w, "scrapes_ok");
	jsonw_int(&w, (int64_t)s->scrapes_ok);
	jsonw_key(&w, "scrapes_failed");
	jsonw_int(&w, (int64_t)s->scrapes_failed);
	jsonw_key(&w, "first_error");
	jsonw_str(&w, s->first_error[0] ? s->first_error : NULL);
	jsonw_key(&w, "malformed_lines");
	jsonw_int(&w, (int64_t)s->bad_lines);
	jsonw_key(&w, "invalid_counter_samples");
	jsonw_int(&w, (int64_t)s->invalid_counter_samples);
	jsonw_key(&w, "first_malformed_line");
	jsonw_str(&w, s->parse_error[0] ? s->parse_error : NULL);
	obs_num(&w, "baseline_t_s", s->scrapes_ok ? (double)(s->t_first_ns - run_start_ns) / 1e9 : NAN);
	obs_num(&w, "final_t_s", s->scrapes_ok ? (double)(s->t_last_ns - run_start_ns) / 1e9 : NAN);
	jsonw_key(&w, "baseline_ok");
	jsonw_bool(&w, s->baseline_ok);
	jsonw_key(&w, "final_ok");
	jsonw_bool(&w, s->last_ok);
	jsonw_key(&w, "counters_cover_run");
	jsonw_bool(&w, covers_run);
	jsonw_key(&w, "coverage_note");
	jsonw_str(&w, cover_note);
	jsonw_key(&w, "series");
	jsonw_int(&w, (int64_t)s->n_series);
	jsonw_key(&w, "series_dropped");
	jsonw_int(&w, (int64_t)s->series_dropped);
	jsonw_key(&w, "csv_scrape_stride");
	jsonw_int(&w, (int64_t)s->stride);
	obs_num(&w, "scrape_thread_cpu_s", s->thread_cpu_s);
	obs_num(&w, "scrape_caller_cpu_s", s->caller_cpu_s);
	obs_num(&w, "scrape_wall_s", (double)s->scrape_wall_ns / 1e9);

	jsonw_key(&w, "metrics");
	jsonw_obj_begin(&w);
	for (size_t k = 0; k < OBS_N_TABLE; k++) {
		const struct obs_canon *c = &obs_canon_table[k];
		if (!have[k])
			continue;
		jsonw_key(&w, c->key);
		jsonw_obj_begin(&w);
		jsonw_key(&w, "type");
		jsonw_str(&w, c->kind == OBS_K_GAUGE ? "gauge" : c->kind == OBS_K_COUNTER ? "counter" : "histogram");
		jsonw_key(&w, "source");
		if (c->kind == OBS_K_GAUGE) {
			const struct obs_gauge_stat *g = &s->gauges[k];
			jsonw_str(&w, g->source);
			jsonw_key(&w, "scrapes");
			jsonw_int(&w, (int64_t)g->n);
			obs_num(&w, "min", g->min);
			obs_num(&w, "mean", g->sum / (double)g->n);
			obs_num(&w, "max", g->max);
			obs_num(&w, "first", g->first);
			obs_num(&w, "last", g->last);
			obs_num(&w, "t_max_s", (double)(g->t_max_ns - run_start_ns) / 1e9);
		} else if (c->kind == OBS_K_COUNTER) {
			jsonw_str(&w, cv[k].source);
			obs_num(&w, "delta", cv[k].delta);
			jsonw_key(&w, "covers_run");
			jsonw_bool(&w, covers_run);
		} else {
			const struct obs_hist_val *h = &hv[k];
			jsonw_str(&w, h->source);
			jsonw_key(&w, "covers_run");
			jsonw_bool(&w, covers_run);
			obs_num(&w, "count", h->count);
			obs_num(&w, "sum", h->sum);
			obs_num(&w, "mean", h->count > 0 ? h->sum / h->count : NAN);
			obs_num(&w, "p50", h->p50);
			obs_num(&w, "p90", h->p90);
			obs_num(&w, "p99", h->p99);
			obs_num(&w, "p50_bucket_width", h->w50);
			obs_num(&w, "p99_bucket_width", h->w99);
		}
		jsonw_obj_end(&w);
	}
	if (have[k_hits] && have[k_q]) {
		jsonw_key(&w, "prefix_cache_hit_rate");
		jsonw_obj_begin(&w);
		jsonw_key(&w, "type");
		jsonw_str(&w, "ratio");
		jsonw_key(&w, "source");
		jsonw_str(&w, "prefix_cache_hits / prefix_cache_queries");
		obs_num(&w, "value", cv[k_q].delta > 0 ? cv[k_hits].delta / cv[k_q].delta : NAN);
		jsonw_obj_end(&w);
	}
	jsonw_obj_end(&w);
	jsonw_key(&w, "missing");
	jsonw_arr_begin(&w);
	for (size_t k = 0; k < OBS_N_TABLE; k++)
		if (!have[k])
			jsonw_str(&w, obs_canon_table[k].key);
	jsonw_arr_end(&w);

	jsonw_key(&w, "reconciliation");
	jsonw_obj_begin(&w);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct obs_recon_row *r = &rows[i];
		jsonw_key(&w, r->key);
		jsonw_obj_begin(&w);
		obs_num(&w, "client", r->client);
		obs_num(&w, "server", r->server);
		jsonw_key(&w, "server_source");
		jsonw_str(&w, r->server_source);
		obs_num(&w, r->time ? "difference_s" : "difference", r->diff);
		if (!r->time)
			obs_num(&w, "relative_difference", r->have && r->server != 0 ? r->diff / r->server : NAN);
		obs_num(&w, r->time ? "tolerance_s" : "tolerance_relative", r->tol);
		jsonw_key(&w, "flag");
		jsonw_bool(&w, r->flag);
		jsonw_obj_end(&w);
	}
	jsonw_obj_end(&w);
	obs_write_raw(&w, s);
	jsonw_obj_end(&w);
	buf_putc(&b, '\n');
	if (fs_write_file_or_log(js, b.data, b.len))
		rc = -1;
	buf_free(&b);
	if (console) {
		obs_print(s, console, rows, sizeof rows / sizeof rows[0]);
		if (cover_note && s->scrapes_ok)
			fprintf(console, "  (n/a: %s)\n", cover_note);
	}
	free(cover_note);
	free(csv);
	free(js);
	free(mdir);
	return rc;
}

/* ------------------------------------------------------------------ runner hooks */
char *obs_metrics_url(const struct cfg_benchmark *cfg)
{
	if (cfg->server_metrics.url && *cfg->server_metrics.url)
		return xstrdup(cfg->server_metrics.url);
	const char *base =
	    cfg->client.api_base && *cfg->client.api_base ? cfg->client.api_base : getenv("OPENAI_API_BASE");
	if (!base || !*base)
		return NULL;
	const char *auth = strstr(base, "://");
	if (!auth)
		return NULL;
	auth += 3;
	size_t n = strcspn(auth, "/?#");
	if (!n)
		return NULL;
	return xasprintf("%.*s/metrics", (int)(auth - base + (long)n), base);
}

struct obs_scraper *obs_run_begin(const struct cfg_benchmark *cfg)
{
	if (!cfg->server_metrics.enabled)
		return NULL;
	char *url = obs_metrics_url(cfg);
	if (!url) {
		log_warn("server_metrics: no URL (set server_metrics.url or client.api_base); the server's metrics are "
		         "not scraped");
		return NULL;
	}
	struct obs_scraper_opts o = {
	    .url = url,
	    .interval_s = cfg->server_metrics.interval_s,
	    /* short: a GET must not outlive its interval by much (at least the helper's 100 ms) */
	    .timeout_s = fmin(fmax(cfg->server_metrics.interval_s, 0.1), 2.0),
	    .prefixes = (const char *const *)cfg->server_metrics.prefixes,
	    .n_prefixes = cfg->server_metrics.n_prefixes,
	};
	struct obs_scraper *s = obs_scraper_start(&o);
	free(url);
	return s;
}

int obs_run_end(struct obs_scraper *s, const char *run_dir, int64_t run_start_ns, FILE *console)
{
	if (!s)
		return 0;
	obs_scraper_stop(s);
	int rc = run_dir ? obs_scraper_write(s, run_dir, run_start_ns, console) : 0;
	obs_scraper_free(s);
	return rc;
}
