/* The evaluator's event log and the exact merge (docs/MERGE.md).
 *
 * A random workload (multi-request sessions with think time and history, streamed and non-streamed
 * answers, HTTP and timeout errors, a cancelled request and a cancelled session, requests after the
 * benchmark timeout) is fed to one evaluator with its event log on: its files are the reference.
 * Then the same event sequence is split at random into K order-preserving parts (K = 1..5, every
 * event to any part), each part fed to its own evaluator logging as shard k of K, and the K logs
 * are merged into a fresh evaluator: every file must be byte-identical to the reference (K = 1 is
 * the replay of one log: the log is lossless). Plus: the merged run status, and the reader's errors. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"
#include "metrics/eval_log.h"
#include "metrics/evaluator.h"

#define MS 1000000LL
#define START (10000 * MS)
#define END (START + 60000 * MS)
#define TIMEOUT_AT (START + 40000 * MS) /* requests dispatched later are post-timeout */

/* ---- a deterministic random workload ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}
static int64_t rnd_in(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

enum wk_kind { WK_REG, WK_DONE, WK_CANCEL };

struct wk_req {
	struct wl_request q;
	uint32_t parents[1];
	struct wl_message hist[2];
	uint32_t session_size;
	struct rec_record rec;
	bool included;
	int64_t intended, dispatched;
};

struct wk_ev {
	enum wk_kind kind;
	int64_t t;
	struct wk_req *r;    /* WK_REG, WK_DONE */
	uint64_t session_id; /* WK_CANCEL */
	uint32_t dropped;
};

struct workload {
	struct wk_req *reqs;
	size_t n_reqs;
	struct wk_ev *evs;
	size_t n_evs;
};

static void wk_push(struct workload *w, struct wk_ev ev)
{
	w->evs[w->n_evs++] = ev;
}

static int cmp_ev(const void *a, const void *b)
{
	const struct wk_ev *x = a, *y = b;
	return x->t < y->t ? -1 : x->t > y->t;
}

static void wk_build(struct workload *w, uint64_t seed)
{
	rng_state = seed * 2654435761ULL + 1;
	size_t n_sessions = 50;
	w->reqs = calloc(n_sessions * 3, sizeof *w->reqs);
	w->evs = calloc(n_sessions * 3 * 2 + n_sessions, sizeof *w->evs);
	w->n_reqs = w->n_evs = 0;
	uint64_t next_id = 0;
	for (uint64_t s = 0; s < n_sessions; s++) {
		bool cancel_session = s == 7; /* its second request is cancelled, the third dropped */
		uint32_t size = cancel_session ? 3 : (uint32_t)rnd_in(1, 3);
		int64_t t = START + (int64_t)s * 900 * MS + rnd_in(0, 800) * MS + rnd_in(0, 999999);
		for (uint32_t k = 0; k < size; k++) {
			struct wk_req *r = &w->reqs[w->n_reqs++];
			struct wl_request *q = &r->q;
			q->id = next_id++;
			q->session_id = s;
			q->node_id = k;
			q->prompt_text = k ? "and then?" : "hello \"world\"\n\xc3\xa9";
			q->target_prompt_tokens = rnd_in(4, 40);
			q->target_output_tokens = rnd_in(1, 12);
			q->wait_after_ready_s = k ? (double)rnd_in(0, 300) / 1000.0 + 1e-9 : 0.0;
			if (k) {
				r->parents[0] = k - 1;
				q->parent_nodes = r->parents;
				q->n_parents = 1;
				q->history_parent = (int32_t)(k - 1);
				r->hist[0] = (struct wl_message){"user", "hello"};
				r->hist[1] = (struct wl_message){"assistant", "hi \\ there"};
				q->history = r->hist;
				q->n_history = 2;
			} else {
				q->history_parent = -1;
			}
			r->session_size = size;
			r->intended = t;
			r->dispatched = t + rnd_in(1000, 3 * MS);
			r->included = r->dispatched < TIMEOUT_AT;
			struct rec_record *c = &r->rec;
			rec_init(c);
			c->request_id = q->id;
			c->session_id = s;
			c->node_id = k;
			c->session_total_requests = size;
			c->intended_ns = r->intended;
			c->dispatched_ns = r->dispatched;
			c->sent_ns = r->dispatched + rnd_in(20000, 200000);
			c->headers_ns = c->sent_ns + rnd_in(1 * MS, 20 * MS);
			c->num_delta_prompt_tokens = q->target_prompt_tokens + rnd_in(-1, 1);
			c->num_total_prompt_tokens = c->num_delta_prompt_tokens + (int64_t)k * 20;
			c->target_prompt_tokens = q->target_prompt_tokens;
			c->requested_output_tokens = q->target_output_tokens;
			c->is_stream = rnd() % 5 != 0;
			c->usage_from_server = rnd() % 2;
			c->http_status = 200;
			int64_t ct = c->headers_ns;
			int64_t n_out = q->target_output_tokens;
			uint64_t fate = rnd() % 10;
			c->success = true;
			if (cancel_session && k == 1) {
				c->success = false;
				rec_set_error(c, REC_ERR_CANCELLED, REC_CODE_CANCELLED, "cancelled by the benchmark");
				n_out = 0;
			} else if (fate == 0) {
				c->http_status = 500;
				rec_set_error(c, REC_ERR_HTTP, 500, "HTTP 500: %s",
				              rnd() % 2 ? "overloaded" : "internal");
				n_out = 0;
			} else if (fate == 1) {
				rec_set_error(c, REC_ERR_TIMEOUT, REC_CODE_TIMEOUT, "request_timeout of 5 s expired");
				rec_add_chunk(c, ct + 2 * MS, 1); /* a partial answer: gaps of a failed row */
				rec_add_chunk(c, ct + 9 * MS, 2);
				n_out = 3;
			} else if (c->is_stream) {
				int64_t left = n_out;
				while (left > 0) {
					int32_t tok = (int32_t)rnd_in(1, left < 3 ? left : 3);
					ct += rnd_in(3 * MS, 30 * MS) + rnd_in(0, 999);
					rec_add_chunk(c, ct, rnd() % 7 ? tok : 0);
					left -= tok;
				}
			} else {
				ct += rnd_in(20 * MS, 200 * MS);
			}
			c->num_output_tokens = n_out;
			if (c->is_stream && c->n_chunks >= 2 && k % 2 == 0) {
				/* a reasoning model (docs/METRICS.md, Reasoning), no extra draws: the first half of
				 * the chunks is reasoning; every third such answer never starts (TTFO null) */
				size_t nr = c->n_chunks / 2;
				bool no_answer = s % 3 == 0;
				c->first_reasoning_ns = c->chunks[0].t_ns;
				c->last_reasoning_ns = c->chunks[no_answer ? c->n_chunks - 1 : nr - 1].t_ns;
				c->first_answer_ns = no_answer ? 0 : c->chunks[nr].t_ns;
				c->num_reasoning_tokens = no_answer ? n_out : n_out / 2;
				c->num_answer_tokens = n_out - c->num_reasoning_tokens;
			}
			c->completed_ns = ct + rnd_in(10000, 2 * MS);
			c->processed_ns = c->completed_ns + rnd_in(1000, 500000);
			wk_push(w, (struct wk_ev){WK_REG, r->dispatched, r, 0, 0});
			wk_push(w, (struct wk_ev){WK_DONE, c->processed_ns, r, 0, 0});
			t = c->processed_ns + (int64_t)(q->wait_after_ready_s * 1e9) + rnd_in(1000, 5 * MS);
			if (cancel_session && k == 1) {
				wk_push(w, (struct wk_ev){WK_CANCEL, c->processed_ns + 7, NULL, s, size - 2});
				break;
			}
		}
	}
	qsort(w->evs, w->n_evs, sizeof *w->evs, cmp_ev);
	for (size_t i = 1; i < w->n_evs; i++)
		assert_true(w->evs[i].t > w->evs[i - 1].t); /* distinct times: the merge's canonical order */
}

static void wk_free(struct workload *w)
{
	for (size_t i = 0; i < w->n_reqs; i++)
		rec_free(&w->reqs[i].rec);
	free(w->reqs);
	free(w->evs);
}

/* ---- evaluators ---- */

static struct cfg_slo slos[4] = {
    {.percentile = 0.99, .name = "P99 TTFC", .metric = CFG_SLO_TTFC, .value = 0.5},
    {.percentile = 0.9, .name = "P90 TBC", .metric = CFG_SLO_TBC, .value = 0.02},
    {.percentile = 0.5, .name = "P50 E2E", .metric = CFG_SLO_E2E, .value = 0.3},
    {.percentile = 0.9, .name = "P90 TTFO", .metric = CFG_SLO_TTFO, .value = 0.05},
};

static void base_cfg(struct cfg_benchmark *cfg, struct cfg_evaluator *ev)
{
	memset(cfg, 0, sizeof *cfg);
	memset(ev, 0, sizeof *ev);
	ev->type = CFG_EVAL_PERFORMANCE;
	ev->slos = slos;
	ev->n_slos = 4;
	ev->stream_metrics_interval = 5.0;
	cfg->evaluators = ev;
	cfg->n_evaluators = 1;
	cfg->trace_recorder.enabled = true;
	cfg->trace_recorder.include_content = true;
	cfg->traffic_scheduler.type = CFG_TRAFFIC_RATE;
	cfg->traffic_scheduler.interval_generator.type = CFG_INTERVAL_POISSON;
	cfg->traffic_scheduler.interval_generator.arrival_rate = 1.1;
	cfg->runtime.benchmark_timeout = 40;
	ev->timeseries_interval_s = 1.0; /* metrics/timeseries.csv is compared too */
}

static char *mkrun(void)
{
	char tmpl[] = "/tmp/vk_merge_test_XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void rm_rf(const char *dir)
{
	if (getenv("VK_TEST_KEEP")) {
		fprintf(stderr, "kept %s\n", dir);
		return;
	}
	char cmd[600];
	snprintf(cmd, sizeof cmd, "/bin/rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static char *log_path(const char *dir)
{
	char *p = malloc(strlen(dir) + 64);
	snprintf(p, strlen(dir) + 64, "%s/metrics/%s", dir, EVAL_LOG_FILE);
	return p;
}

static void feed(struct evaluator *e, const struct wk_ev *ev)
{
	switch (ev->kind) {
	case WK_REG:
		eval_register_request(e, &ev->r->q, ev->r->session_size, ev->r->intended, ev->r->dispatched);
		break;
	case WK_DONE:
		eval_record_completed(e, &ev->r->rec, ev->r->included);
		break;
	case WK_CANCEL:
		eval_session_cancelled_at(e, ev->session_id, ev->dropped, ev->t);
		break;
	}
}

/* One evaluator logging as shard k of n, fed the events whose part[] is k (part NULL: all). */
static void run_shard(const struct cfg_benchmark *cfg, const char *dir, const struct workload *w, const int *part,
                      uint32_t k, uint32_t n, bool finalize)
{
	struct evaluator *e = eval_create(cfg, dir, START, "test-tok");
	assert_non_null(e);
	char err[256];
	char *lp = log_path(dir);
	struct eval_shard_info info = {k, n, "host-a", 1700000000000000000LL + k * 1000};
	assert_int_equal(eval_log_enable(e, lp, &info, err, sizeof err), 0);
	free(lp);
	for (size_t i = 0; i < w->n_evs; i++)
		if (!part || part[i] == (int)k)
			feed(e, &w->evs[i]);
	if (finalize)
		eval_finalize(e, END);
	eval_free(e);
}

static char *slurp_path(const char *p)
{
	FILE *f = fopen(p, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	size_t got = fread(s, 1, (size_t)n, f);
	s[got] = '\0';
	fclose(f);
	return s;
}

/* s with every `from` replaced by `to` (frees s). */
static char *replace_all(char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0;
	for (const char *p = strstr(s, from); p; p = strstr(p + fl, from))
		n++;
	char *r = malloc(strlen(s) + n * (tl > fl ? tl - fl : 0) + 1), *o = r;
	const char *p = s;
	for (const char *q; (q = strstr(p, from)); p = q + fl) {
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		memcpy(o, to, tl);
		o += tl;
	}
	strcpy(o, p);
	free(s);
	return r;
}

/* Every file under want/rel equals got/rel (the event log and PNGs aside); returns files compared. */
static size_t compare_tree(const char *want, const char *got, const char *rel)
{
	char wd[1024];
	snprintf(wd, sizeof wd, "%s%s%s", want, rel[0] ? "/" : "", rel);
	DIR *d = opendir(wd);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, EVAL_LOG_FILE) || strstr(de->d_name, ".png"))
			continue;
		char sub[1024], wp[2048], gp[2048];
		snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		snprintf(wp, sizeof wp, "%s/%s", want, sub);
		snprintf(gp, sizeof gp, "%s/%s", got, sub);
		struct stat st;
		assert_int_equal(stat(wp, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			n += compare_tree(want, got, sub);
			continue;
		}
		char *a = slurp_path(wp), *b = slurp_path(gp);
		if (!b)
			fail_msg("%s: missing in the merged run (%s)", sub, gp);
		a = replace_all(a, want, got); /* gnuplot scripts name their own run directory */
		if (strcmp(a, b) != 0) {
			fprintf(stderr, "---- %s: want\n%.3000s\n---- got\n%.3000s\n", sub, a, b);
			fail_msg("%s differs from the single evaluator's", sub);
		}
		free(a);
		free(b);
		n++;
	}
	closedir(d);
	return n;
}

static char *summary_text(const struct evaluator *e)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	eval_print_summary(e, f);
	fclose(f);
	return out;
}

/* Merge the logs of dirs[0..n) into a fresh evaluator at out; returns its console summary. */
static char *merge_into(const struct cfg_benchmark *cfg, char **dirs, size_t n, const char *out,
                        enum eval_run_status *status, char *reason, size_t reason_len)
{
	const char **paths = calloc(n, sizeof *paths);
	for (size_t i = 0; i < n; i++)
		paths[i] = log_path(dirs[i]);
	char err[512];
	struct eval_replay *rp = eval_replay_open(paths, n, err, sizeof err);
	if (!rp)
		fail_msg("%s", err);
	const int64_t base = (int64_t)1 << 50; /* any start: the files hold relative times */
	struct evaluator *e = eval_create(cfg, out, base, eval_replay_header(rp, 0)->tokenizer);
	assert_non_null(e);
	if (eval_replay_run(rp, e, base, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_true(eval_replay_finish(rp, e, base, EVAL_RUN_COMPLETE, NULL) >= 0);
	char *text = summary_text(e);
	/* the run status as summary_stats.json says it */
	char *p = malloc(strlen(out) + 64);
	sprintf(p, "%s/metrics/summary_stats.json", out);
	char *sum = slurp_path(p);
	free(p);
	assert_non_null(sum);
	*status = strstr(sum, "\"run_status\": \"complete\"")    ? EVAL_RUN_COMPLETE
	          : strstr(sum, "\"run_status\": \"truncated\"") ? EVAL_RUN_TRUNCATED
	                                                         : EVAL_RUN_INTERRUPTED;
	const char *rs = strstr(sum, "\"run_status_reason\": \"");
	assert_non_null(rs);
	rs += strlen("\"run_status_reason\": \"");
	size_t rl = strcspn(rs, "\"");
	snprintf(reason, reason_len, "%.*s", (int)rl, rs);
	free(sum);
	eval_free(e);
	eval_replay_free(rp);
	for (size_t i = 0; i < n; i++)
		free((char *)paths[i]);
	free(paths);
	return text;
}

static void test_merge_of_splits_is_exact(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	for (uint64_t seed = 1; seed <= 2; seed++) {
		struct workload w;
		wk_build(&w, seed);
		/* the reference: one evaluator fed everything (and logging) */
		char *whole = mkrun();
		struct evaluator *e = eval_create(&cfg, whole, START, "test-tok");
		char err[256];
		char *lp = log_path(whole);
		assert_int_equal(eval_log_enable(e, lp, NULL, err, sizeof err), 0);
		free(lp);
		for (size_t i = 0; i < w.n_evs; i++)
			feed(e, &w.evs[i]);
		eval_finalize(e, END);
		char *want_summary = summary_text(e);
		eval_free(e);
		/* the workload has what the merge must get right */
		char *p = malloc(strlen(whole) + 64);
		sprintf(p, "%s/metrics/summary_stats.json", whole);
		char *sum = slurp_path(p);
		free(p);
		assert_non_null(strstr(sum, "\"Number of Post-Timeout Requests\": "));
		assert_null(strstr(sum, "\"Number of Post-Timeout Requests\": 0,"));
		assert_null(strstr(sum, "\"Number of Errored Requests\": 0,"));
		assert_null(strstr(sum, "\"Cancelled Sessions\": 0.0,"));
		free(sum);

		/* K = 1: the replay of the whole log; K = 2..5: random splits */
		for (uint32_t k = 1; k <= 5; k++) {
			for (int rep = 0; rep < (k == 1 ? 1 : 2); rep++) {
				int *part = calloc(w.n_evs, sizeof *part);
				for (size_t i = 0; i < w.n_evs; i++)
					part[i] = (int)(rnd() % k);
				char **dirs = calloc(k, sizeof *dirs);
				for (uint32_t s = 0; s < k; s++) {
					if (k == 1) {
						dirs[s] = strdup(whole); /* its own log */
						continue;
					}
					dirs[s] = mkrun();
					run_shard(&cfg, dirs[s], &w, part, s, k, true);
				}
				char *out = mkrun();
				enum eval_run_status st;
				char reason[256];
				char *got_summary = merge_into(&cfg, dirs, k, out, &st, reason, sizeof reason);
				size_t n_files = compare_tree(whole, out, "");
				assert_true(n_files >= 20); /* metrics files, the dispatch trace, health checks */
				char *ts = malloc(strlen(out) + 64);
				sprintf(ts, "%s/metrics/timeseries.csv", out);
				char *ts_text = slurp_path(ts);
				assert_non_null(ts_text); /* (so compare_tree compared it) */
				free(ts_text);
				free(ts);
				assert_string_equal(got_summary, want_summary);
				assert_int_equal(st, EVAL_RUN_COMPLETE);
				free(got_summary);
				rm_rf(out);
				free(out);
				for (uint32_t s = 0; s < k; s++) {
					if (k > 1)
						rm_rf(dirs[s]);
					free(dirs[s]);
				}
				free(dirs);
				free(part);
			}
		}
		free(want_summary);
		rm_rf(whole);
		free(whole);
		wk_free(&w);
	}
}

/* The measurement window (docs/METRICS.md): a windowed merge of random splits equals one evaluator fed
 * only the requests inside the window (by dispatch rank and time over all shards), told the window. */
static int cmp_dispatch(const void *a, const void *b)
{
	const struct wk_req *x = *(struct wk_req *const *)a, *y = *(struct wk_req *const *)b;
	return x->dispatched < y->dispatched ? -1 : x->dispatched > y->dispatched;
}

static void test_window_of_splits(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	ev.warmup_requests = 5;
	ev.cooldown_requests = 3;
	ev.warmup_seconds = 2.0;  /* sessions start every ~0.9 s: a few more */
	ev.cooldown_seconds = 20; /* the run ends at 60 s, the last dispatch is near 45 s */
	struct workload w;
	wk_build(&w, 3);
	/* which requests are in the window, computed here from the workload */
	struct wk_req **byd = calloc(w.n_reqs, sizeof *byd);
	size_t n_reg = 0;
	for (size_t i = 0; i < w.n_evs; i++)
		if (w.evs[i].kind == WK_REG)
			byd[n_reg++] = w.evs[i].r;
	qsort(byd, n_reg, sizeof *byd, cmp_dispatch);
	bool *out = calloc(w.n_reqs, sizeof *out);
	bool *session_kept = calloc(64, sizeof *session_kept);
	uint64_t excluded = 0;
	for (size_t i = 0; i < n_reg; i++) {
		int64_t t = byd[i]->dispatched - START;
		bool o = i < 5 || n_reg - i <= 3 || t < 2000 * MS || t >= (END - START) - 20000 * MS;
		out[byd[i] - w.reqs] = o;
		excluded += o;
		if (!o)
			session_kept[byd[i]->q.session_id] = true;
	}
	assert_true(excluded > 8 && excluded < n_reg / 2);
	struct eval_window_info win = {2.0, 20.0, 5, 3, excluded};
	char *whole = mkrun();
	struct evaluator *e = eval_create(&cfg, whole, START, "test-tok");
	for (size_t i = 0; i < w.n_evs; i++) {
		const struct wk_ev *x = &w.evs[i];
		if ((x->kind != WK_CANCEL && out[x->r - w.reqs]) ||
		    (x->kind == WK_CANCEL && !session_kept[x->session_id]))
			continue;
		feed(e, x);
	}
	eval_set_window(e, &win);
	eval_finalize(e, END);
	char *want_summary = summary_text(e);
	eval_free(e);
	/* three shards, the window applied by the merge */
	int *part = calloc(w.n_evs, sizeof *part);
	for (size_t i = 0; i < w.n_evs; i++)
		part[i] = (int)(rnd() % 3);
	char *dirs[3];
	for (uint32_t s = 0; s < 3; s++) {
		dirs[s] = mkrun();
		run_shard(&cfg, dirs[s], &w, part, s, 3, true);
	}
	const char *paths[3];
	for (int s = 0; s < 3; s++)
		paths[s] = log_path(dirs[s]);
	char err[512];
	struct eval_replay *rp = eval_replay_open(paths, 3, err, sizeof err);
	assert_non_null(rp);
	char *got = mkrun();
	const int64_t base = (int64_t)1 << 50;
	e = eval_create(&cfg, got, base, "test-tok");
	struct eval_window_info w2;
	assert_true(eval_window_configured(&cfg, &w2));
	assert_int_equal(eval_replay_set_window(rp, &w2, err, sizeof err), 0);
	assert_int_equal(w2.excluded_requests, excluded);
	eval_set_window(e, &w2);
	assert_int_equal(eval_replay_run(rp, e, base, err, sizeof err), 0);
	assert_true(eval_replay_finish(rp, e, base, EVAL_RUN_COMPLETE, NULL) >= 0);
	char *got_summary = summary_text(e);
	assert_true(compare_tree(whole, got, "") >= 20);
	assert_string_equal(got_summary, want_summary);
	char *sp = malloc(strlen(got) + 64);
	sprintf(sp, "%s/metrics/summary_stats.json", got);
	char *sum = slurp_path(sp);
	char want_excl[64];
	snprintf(want_excl, sizeof want_excl, "\"excluded_requests\": %llu", (unsigned long long)excluded);
	const char *mw = strstr(sum, "\"measurement_window\": {");
	assert_non_null(mw); /* the summary names the window */
	assert_non_null(strstr(mw, "\"warmup_requests\": 5,"));
	assert_non_null(strstr(mw, want_excl));
	free(sum);
	free(sp);
	free(got_summary);
	free(want_summary);
	eval_free(e);
	eval_replay_free(rp);
	for (int s = 0; s < 3; s++) {
		free((char *)paths[s]);
		rm_rf(dirs[s]);
		free(dirs[s]);
	}
	rm_rf(got);
	free(got);
	rm_rf(whole);
	free(whole);
	free(part);
	free(out);
	free(session_kept);
	free(byd);
	wk_free(&w);
}

/* The merged run status: the worst shard's, its reason named by shard; a log without its end record
 * (a shard that did not finish) makes the merge truncated. */
static void test_merged_status(void **state)
{
	(void)state;
	struct cfg_benchmark cfg;
	struct cfg_evaluator ev;
	base_cfg(&cfg, &ev);
	struct workload w;
	wk_build(&w, 3);
	int *part = calloc(w.n_evs, sizeof *part);
	for (size_t i = 0; i < w.n_evs; i++)
		part[i] = (int)(i % 3);
	char *dirs[3];
	for (uint32_t s = 0; s < 3; s++)
		dirs[s] = mkrun();
	/* shard 1 interrupted, shard 2 complete: interrupted */
	for (uint32_t s = 0; s < 3; s++) {
		struct evaluator *e = eval_create(&cfg, dirs[s], START, "test-tok");
		char err[256];
		char *lp = log_path(dirs[s]);
		struct eval_shard_info info = {s, 3, NULL, 0};
		assert_int_equal(eval_log_enable(e, lp, &info, err, sizeof err), 0);
		free(lp);
		for (size_t i = 0; i < w.n_evs; i++)
			if (part[i] == (int)s)
				feed(e, &w.evs[i]);
		if (s == 1)
			eval_set_run_status(e, EVAL_RUN_INTERRUPTED, "signal 15");
		eval_finalize(e, END - (int64_t)s * MS);
		eval_free(e);
	}
	char *out = mkrun();
	enum eval_run_status st;
	char reason[256];
	free(merge_into(&cfg, dirs, 3, out, &st, reason, sizeof reason));
	assert_int_equal(st, EVAL_RUN_INTERRUPTED);
	assert_string_equal(reason, "shard 1 of 3: signal 15");
	rm_rf(out);
	free(out);

	/* shard 2 again, killed before its end: truncated, named */
	run_shard(&cfg, dirs[2], &w, part, 2, 3, false);
	out = mkrun();
	free(merge_into(&cfg, dirs, 3, out, &st, reason, sizeof reason));
	assert_int_equal(st, EVAL_RUN_TRUNCATED);
	assert_string_equal(reason, "shard 2 of 3: its event log has no end record (the shard did not finish)");
	rm_rf(out);
	free(out);
	for (int s = 0; s < 3; s++) {
		rm_rf(dirs[s]);
		free(dirs[s]);
	}
	free(part);
	wk_free(&w);
}

/* ---- the reader ---- */

static int read_all(const char *text, char *err, size_t err_len, bool *tail_cut, size_t *n_events)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(f);
	struct eval_log_reader *r = eval_log_reader_open_stream(f, "ev.jsonl", err, err_len);
	int rc = -1;
	*n_events = 0;
	if (r) {
		struct eval_ev ev;
		memset(&ev, 0, sizeof ev);
		while ((rc = eval_log_reader_next(r, &ev)) == 1)
			(*n_events)++;
		if (rc < 0)
			snprintf(err, err_len, "%s", eval_log_reader_error(r));
		*tail_cut = eval_log_reader_tail_cut(r);
		eval_ev_clear(&ev);
		eval_log_reader_close(r);
	}
	fclose(f);
	return rc;
}

#define HDR                                                                                                            \
	"{\"ev\":\"shard\",\"format\":1,\"index\":0,\"count\":1,\"host\":\"h\",\"pid\":1,\"clock\":\"CLOCK_"           \
	"MONOTONIC\","                                                                                                 \
	"\"start_epoch_ns\":5,\"start_realtime_ns\":6,\"veeksha_version\":\"0.1.0\",\"tokenizer\":\"t\"}\n"
#define CANCEL "{\"ev\":\"cancel\",\"t\":5,\"session_id\":1,\"dropped\":2}\n"

static void test_reader_errors(void **state)
{
	(void)state;
	char err[512];
	bool cut;
	size_t n;
	/* nanoseconds since 1970 need more digits than a double has: read exactly */
	const char *big =
	    "{\"ev\":\"shard\",\"format\":1,\"index\":1,\"count\":2,\"host\":\"h \\\"start_epoch_ns\\\":5\","
	    "\"pid\":1,\"clock\":\"c\",\"start_epoch_ns\": 1796596590912805998,"
	    "\"start_realtime_ns\":1796596590912805999,\"veeksha_version\":\"v\",\"tokenizer\":\"t\"}\n";
	FILE *f = fmemopen((void *)big, strlen(big), "r");
	struct eval_log_reader *r = eval_log_reader_open_stream(f, "big", err, sizeof err);
	assert_non_null(r);
	assert_true(eval_log_reader_header(r)->start_epoch_ns == 1796596590912805998LL);
	assert_true(eval_log_reader_header(r)->start_realtime_ns == 1796596590912805999LL);
	assert_string_equal(eval_log_reader_header(r)->host, "h \"start_epoch_ns\":5");
	eval_log_reader_close(r);
	fclose(f);
	assert_int_equal(read_all(HDR CANCEL CANCEL, err, sizeof err, &cut, &n), 0);
	assert_int_equal(n, 2);
	assert_false(cut);
	/* a last line cut short: skipped, reported */
	assert_int_equal(read_all(HDR CANCEL "{\"ev\":\"done\",\"t\":9,\"incl", err, sizeof err, &cut, &n), 0);
	assert_int_equal(n, 1);
	assert_true(cut);
	/* a bad line in the middle names file:line and the key */
	assert_int_equal(read_all(HDR CANCEL "{\"ev\":\"cancel\",\"t\":5,\"session_id\":-1,\"dropped\":2}\n" CANCEL,
	                          err, sizeof err, &cut, &n),
	                 -1);
	assert_non_null(strstr(err, "ev.jsonl:3: key 'session_id'"));
	assert_int_equal(read_all(HDR "not json\n", err, sizeof err, &cut, &n), -1);
	assert_string_equal(err, "ev.jsonl:2: not valid JSON");
	assert_int_equal(
	    read_all(HDR "{\"ev\":\"cancel\",\"t\":1.5,\"session_id\":1,\"dropped\":2}\n", err, sizeof err, &cut, &n),
	    -1);
	assert_non_null(strstr(err, "ev.jsonl:2: key 't': expected an integer"));
	assert_int_equal(read_all(HDR "{\"ev\":\"end\",\"t\":1,\"status\":\"complete\",\"reason\":\"\"}\n" CANCEL, err,
	                          sizeof err, &cut, &n),
	                 -1);
	assert_string_equal(err, "ev.jsonl:3: a line after the end record");
	assert_int_equal(read_all(HDR "{\"ev\":\"nope\",\"t\":1}\n", err, sizeof err, &cut, &n), -1);
	assert_non_null(strstr(err, "ev.jsonl:2: unknown event \"nope\""));
	/* the header */
	assert_int_equal(read_all("", err, sizeof err, &cut, &n), -1);
	assert_non_null(strstr(err, "ev.jsonl:1: no header line"));
	assert_int_equal(read_all(CANCEL, err, sizeof err, &cut, &n), -1);
	assert_non_null(strstr(err, "ev.jsonl:1: the first line is not the shard header"));
	assert_int_equal(read_all("{\"ev\":\"shard\",\"format\":1,\"index\":2,\"count\":2,\"host\":\"h\",\"pid\":1,"
	                          "\"clock\":\"c\",\"start_epoch_ns\":5,\"start_realtime_ns\":6,\"veeksha_version\":"
	                          "\"v\",\"tokenizer\":\"t\"}\n",
	                          err, sizeof err, &cut, &n),
	                 -1);
	assert_non_null(strstr(err, "shard index 2 of count 2 does not exist"));
	assert_int_equal(read_all("{\"ev\":\"shard\",\"format\":2}\n", err, sizeof err, &cut, &n), -1);
	assert_non_null(strstr(err, "event log format 2; this veeksha reads format 1"));
}

int main(void)
{
	setenv("VK_NO_PLOTS", "1", 1);
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_merge_of_splits_is_exact),
	    cmocka_unit_test(test_merged_status),
	    cmocka_unit_test(test_window_of_splits),
	    cmocka_unit_test(test_reader_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
