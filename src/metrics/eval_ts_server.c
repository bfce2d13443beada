/* The client's time series and the server's on one time axis (docs/OBSERVABILITY.md, Time series):
 * metrics/timeseries_server.png, drawn by the runner after the scrape wrote server_metrics.csv.
 * Both files are read back: the plot needs nothing of the live run, and the two series share their
 * clock (seconds since the run start). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fsutil.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "metrics/eval_timeseries.h"
#include "metrics/eval_ts_internal.h"
#include "output/plot.h"

/* ---- line splitting ---- */

/* The next line of text[*pos .. len) without its "\n" / "\r\n"; false at the end. */
static bool next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *line_len)
{
	if (*pos >= len)
		return false;
	const char *s = text + *pos;
	const char *nl = memchr(s, '\n', len - *pos);
	size_t n = nl ? (size_t)(nl - s) : len - *pos;
	*pos += n + (nl ? 1 : 0);
	if (n && s[n - 1] == '\r')
		n--;
	*line = s;
	*line_len = n;
	return true;
}

/* A whole cell as a number (strtod on a NUL-terminated copy: cells are short); finite_only: no
 * inf or nan (timeseries.csv never has them; server_metrics.csv values may). */
static bool parse_num(const char *s, size_t n, double *out, bool finite_only)
{
	char tmp[64];
	if (n == 0 || n >= sizeof tmp)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *end;
	errno = 0;
	double v = strtod(tmp, &end);
	if (end != tmp + n || (finite_only && !isfinite(v)))
		return false;
	*out = v;
	return true;
}

static void set_err(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
	if (!err || !err_len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

/* ---- timeseries.csv ---- */

int ts_table_parse(const char *text, size_t len, const char *name, struct ts_table *out, char *err, size_t err_len)
{
	memset(out, 0, sizeof *out);
	size_t pos = 0, lineno = 1, cap = 0;
	const char *line;
	size_t ll;
	if (!next_line(text, len, &pos, &line, &ll) || ll != strlen(TS_CSV_HEADER) ||
	    memcmp(line, TS_CSV_HEADER, ll) != 0) {
		set_err(err, err_len, "%s:1: not a timeseries.csv header (want \"%s\")", name, TS_CSV_HEADER);
		return -1;
	}
	while (next_line(text, len, &pos, &line, &ll)) {
		lineno++;
		if (ll == 0)
			continue;
		if (out->n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			for (int c = 0; c < TS_N_COLS; c++)
				out->col[c] = xrealloc(out->col[c], ncap * sizeof *out->col[c]);
			cap = ncap;
		}
		const char *p = line, *end = line + ll;
		for (int c = 0; c < TS_N_COLS; c++) {
			const char *q = memchr(p, ',', (size_t)(end - p));
			if (c + 1 < TS_N_COLS && !q) {
				set_err(err, err_len, "%s:%zu: %d cells, want %d", name, lineno, c + 1, TS_N_COLS);
				goto fail;
			}
			if (c + 1 == TS_N_COLS) {
				if (q) {
					set_err(err, err_len, "%s:%zu: more than %d cells", name, lineno, TS_N_COLS);
					goto fail;
				}
				q = end;
			}
			double v = NAN;
			size_t n = (size_t)(q - p);
			bool may_be_empty = c >= TS_TTFC_P50;
			if (!(n == 0 && may_be_empty) && !parse_num(p, n, &v, true)) {
				set_err(err, err_len, "%s:%zu: cell %d is not a number", name, lineno, c + 1);
				goto fail;
			}
			out->col[c][out->n] = v;
			p = q + 1;
		}
		out->n++;
	}
	return 0;
fail:
	ts_table_free(out);
	return -1;
}

/* ---- server_metrics.csv ---- */

#define TS_SRV_MAX_NAMES 3
/* docs/OBSERVABILITY.md, Name mapping: the first name found is used */
static const char *const srv_names[TS_SRV_N][TS_SRV_MAX_NAMES] = {
    [TS_SRV_RUNNING] = {"vllm:num_requests_running", "sglang:num_running_reqs", NULL},
    [TS_SRV_WAITING] = {"vllm:num_requests_waiting", "sglang:num_queue_reqs", NULL},
    [TS_SRV_KV_USAGE] = {"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc", "sglang:token_usage"},
    [TS_SRV_GEN_TOKENS] = {"vllm:generation_tokens_total", "sglang:generation_tokens_total", NULL},
};

struct tv {
	double t, v;
};
struct tv_vec {
	struct tv *p;
	size_t n, cap;
};

static int cmp_tv(const void *a, const void *b)
{
	const struct tv *x = a, *y = b;
	return (x->t > y->t) - (x->t < y->t);
}

/* Split a data row into t, name, value (labels skipped: every label set is added up). */
static bool split_server_row(const char *line, size_t ll, double *t, const char **nm, size_t *nm_len, double *v)
{
	const char *end = line + ll;
	const char *c1 = memchr(line, ',', ll);
	if (!c1 || !parse_num(line, (size_t)(c1 - line), t, true))
		return false;
	const char *p = c1 + 1;
	const char *c2 = memchr(p, ',', (size_t)(end - p));
	if (!c2)
		return false;
	*nm = p;
	*nm_len = (size_t)(c2 - p);
	p = c2 + 1;
	if (p < end && *p == '"') { /* a quoted labels cell: "" is a quote */
		p++;
		for (;;) {
			const char *qt = memchr(p, '"', (size_t)(end - p));
			if (!qt)
				return false;
			if (qt + 1 < end && qt[1] == '"') {
				p = qt + 2;
				continue;
			}
			p = qt + 1;
			break;
		}
		if (p >= end || *p != ',')
			return false;
	} else {
		const char *c3 = memchr(p, ',', (size_t)(end - p));
		if (!c3)
			return false;
		p = c3;
	}
	p++;
	return parse_num(p, (size_t)(end - p), v, false);
}

int ts_server_parse(const char *text, size_t len, const char *name, struct ts_server *out, char *err, size_t err_len)
{
	memset(out, 0, sizeof *out);
	size_t pos = 0, lineno = 1;
	const char *line;
	size_t ll;
	static const char hdr[] = "t_s,name,labels,value";
	if (!next_line(text, len, &pos, &line, &ll) || ll != strlen(hdr) || memcmp(line, hdr, ll) != 0) {
		set_err(err, err_len, "%s:1: not a server_metrics.csv header (want \"%s\")", name, hdr);
		return -1;
	}
	struct tv_vec got[TS_SRV_N][TS_SRV_MAX_NAMES];
	memset(got, 0, sizeof got);
	while (next_line(text, len, &pos, &line, &ll)) {
		lineno++;
		if (ll == 0)
			continue;
		out->rows++;
		double t, v;
		const char *nm;
		size_t nl;
		if (!split_server_row(line, ll, &t, &nm, &nl, &v) || !isfinite(t)) {
			out->rows_skipped++;
			if (!out->first_bad_line)
				out->first_bad_line = lineno;
			continue;
		}
		if (!isfinite(v))
			continue;
		for (int k = 0; k < TS_SRV_N; k++)
			for (int r = 0; r < TS_SRV_MAX_NAMES && srv_names[k][r]; r++)
				if (strlen(srv_names[k][r]) == nl && !memcmp(srv_names[k][r], nm, nl)) {
					struct tv_vec *g = &got[k][r];
					if (g->n == g->cap)
						xgrow((void **)&g->p, &g->cap, g->n + 1, sizeof *g->p);
					g->p[g->n++] = (struct tv){t, v};
				}
	}
	for (int k = 0; k < TS_SRV_N; k++) {
		int use = -1;
		for (int r = 0; r < TS_SRV_MAX_NAMES && use < 0; r++)
			if (got[k][r].n)
				use = r;
		if (use >= 0) {
			struct tv_vec *g = &got[k][use];
			struct ts_srv_series *s = &out->s[k];
			s->source = srv_names[k][use];
			/* per scrape (one t): the label sets summed, a fraction averaged */
			qsort(g->p, g->n, sizeof *g->p, cmp_tv);
			s->t = xmalloc(g->n * sizeof *s->t);
			s->v = xmalloc(g->n * sizeof *s->v);
			for (size_t i = 0; i < g->n;) {
				size_t j = i;
				double sum = 0;
				for (; j < g->n && g->p[j].t == g->p[i].t; j++)
					sum += g->p[j].v;
				s->t[s->n] = g->p[i].t;
				s->v[s->n] = k == TS_SRV_KV_USAGE ? sum / (double)(j - i) : sum;
				s->n++;
				i = j;
			}
		}
		for (int r = 0; r < TS_SRV_MAX_NAMES; r++)
			free(got[k][r].p);
	}
	return 0;
}

void ts_server_free(struct ts_server *s)
{
	for (int k = 0; k < TS_SRV_N; k++) {
		free(s->s[k].t);
		free(s->s[k].v);
	}
	memset(s, 0, sizeof *s);
}

/* ---- the plot ---- */

static char *read_or_warn(const char *path, size_t *len, bool *missing)
{
	char *text = fs_read_file(path, len);
	*missing = !text && errno == ENOENT;
	if (!text && !*missing)
		log_warn("time series: cannot read %s: %s; metrics/timeseries_server.png is not drawn", path,
		         strerror(errno));
	return text;
}

int eval_timeseries_plot_with_server(const char *run_dir)
{
	char *mdir = fs_path_join(run_dir, "metrics");
	char *cp = fs_path_join(mdir, "timeseries.csv"), *sp = fs_path_join(mdir, "server_metrics.csv");
	size_t clen = 0, slen = 0;
	bool c_missing = false, s_missing = false;
	char *ctext = NULL, *stext = NULL;
	int rc = 0;
	struct ts_table t;
	struct ts_server srv;
	memset(&t, 0, sizeof t);
	memset(&srv, 0, sizeof srv);
	char err[512];
	ctext = read_or_warn(cp, &clen, &c_missing);
	if (!ctext) {
		rc = c_missing ? 0 : -1;
		goto out;
	}
	stext = read_or_warn(sp, &slen, &s_missing);
	if (!stext) {
		rc = s_missing ? 0 : -1;
		goto out;
	}
	if (ts_table_parse(ctext, clen, "metrics/timeseries.csv", &t, err, sizeof err) != 0 ||
	    ts_server_parse(stext, slen, "metrics/server_metrics.csv", &srv, err, sizeof err) != 0) {
		log_warn("time series: %s; metrics/timeseries_server.png is not drawn", err);
		rc = -1;
		goto out;
	}
	if (srv.rows_skipped)
		log_warn(
		    "time series: metrics/server_metrics.csv: %zu of %zu rows did not parse (the first: line %zu); "
		    "they are left out of metrics/timeseries_server.png",
		    srv.rows_skipped, srv.rows, srv.first_bad_line);
	if (!srv.s[TS_SRV_RUNNING].n && !srv.s[TS_SRV_WAITING].n && !srv.s[TS_SRV_KV_USAGE].n) {
		log_info("time series: metrics/server_metrics.csv has no running/waiting/KV-usage series "
		         "(docs/OBSERVABILITY.md, Name mapping): metrics/timeseries_server.png is not drawn");
		rc = 0;
		goto out;
	}

	/* server gauges as sampled (lines through the scrapes), KV usage in percent, the generation
	 * counter as a rate between consecutive scrapes (a drop is a reset: the new value is the increase) */
	const struct ts_srv_series *run = &srv.s[TS_SRV_RUNNING], *wait = &srv.s[TS_SRV_WAITING];
	const struct ts_srv_series *kv = &srv.s[TS_SRV_KV_USAGE], *gen = &srv.s[TS_SRV_GEN_TOKENS];
	double *kv_pct = xmalloc((kv->n ? kv->n : 1) * sizeof *kv_pct);
	for (size_t i = 0; i < kv->n; i++)
		kv_pct[i] = 100.0 * kv->v[i];
	size_t ng = gen->n > 1 ? gen->n : 0;
	double *gx = xmalloc((ng ? ng : 1) * sizeof *gx), *gy = xmalloc((ng ? ng : 1) * sizeof *gy);
	for (size_t i = 1; i < ng; i++) {
		double dv = gen->v[i] - gen->v[i - 1], dt = gen->t[i] - gen->t[i - 1];
		if (dv < 0)
			dv = gen->v[i];
		gx[i - 1] = gen->t[i - 1];
		gy[i - 1] = dt > 0 ? dv / dt : NAN;
	}
	if (ng) {
		gx[ng - 1] = gen->t[ng - 1];
		gy[ng - 1] = gy[ng > 1 ? ng - 2 : 0];
	}

	/* running + waiting where both were scraped together: what the client's mean in flight compares
	 * with (the rest is time in transit and in the server's frontend) */
	size_t nq = run->n == wait->n && run->n && !memcmp(run->t, wait->t, run->n * sizeof *run->t) ? run->n : 0;
	double *qv = xmalloc((nq ? nq : 1) * sizeof *qv);
	for (size_t i = 0; i < nq; i++)
		qv[i] = run->v[i] + wait->v[i];

	struct ts_line_buf infl, tok, p50, p99;
	ts_line_steps(&t, TS_IN_FLIGHT_MEAN, false, &infl, "client: in flight (mean)");
	ts_line_steps(&t, TS_OUTPUT_TOKENS_PER_S, false, &tok, "client");
	ts_line_mid(&t, TS_TTFC_P50, &p50, "client: TTFC p50");
	ts_line_mid(&t, TS_TTFC_P99, &p99, "client: TTFC p99");
	struct plot_line l_req[4] = {
	    infl.line,
	    {"server: running", run->t, run->v, run->n, PLOT_STYLE_LINES},
	    {"server: waiting", wait->t, wait->v, wait->n, PLOT_STYLE_LINES},
	    {"server: running+waiting", run->t, qv, nq, PLOT_STYLE_LINES},
	};
	struct plot_line l_kv = {"server", kv->t, kv_pct, kv->n, PLOT_STYLE_LINES};
	struct plot_line l_tok[2] = {tok.line, {"server (generation tokens)", gx, gy, ng, PLOT_STYLE_STEPS}};
	struct plot_line l_lat[2] = {p50.line, p99.line};
	struct plot_panel panels[4] = {
	    {"Requests", l_req, 4},
	    {"KV cache usage [%]", &l_kv, 1},
	    {"Output tokens/s", l_tok, 2},
	    {"Time to first chunk [s]", l_lat, 2},
	};
	double x_max = t.n ? t.col[TS_T_END][t.n - 1] : 0;
	for (int k = 0; k < TS_SRV_N; k++)
		if (srv.s[k].n && srv.s[k].t[srv.s[k].n - 1] > x_max)
			x_max = srv.s[k].t[srv.s[k].n - 1];
	char *src = fs_path_join(mdir, "plots_src"), *png = fs_path_join(mdir, "timeseries_server.png");
	enum plot_result res = plot_time_panels(png, src, "timeseries_server", "Client and server over the run",
	                                        "Time since benchmark start [s]", 0, x_max, panels, 4);
	rc = res == PLOT_FAILED ? -1 : 1;
	free(src);
	free(png);
	free(kv_pct);
	free(qv);
	free(gx);
	free(gy);
	ts_line_free(&infl);
	ts_line_free(&tok);
	ts_line_free(&p50);
	ts_line_free(&p99);
out:
	ts_table_free(&t);
	ts_server_free(&srv);
	free(ctext);
	free(stext);
	free(cp);
	free(sp);
	free(mdir);
	return rc;
}
