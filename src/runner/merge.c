/* veeksha merge: one run directory from a sharded run's shard directories, by replaying their
 * event logs into one evaluator (docs/MERGE.md). */
#include "runner/merge.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "metrics/eval_log.h"
#include "metrics/evaluator.h"
#include "output/report_html.h"

/* Where the merged evaluator's clock starts: every shard's start maps here. Any positive time gives
 * the same files (they hold times relative to the start); 0 would read as "did not happen". */
#define MERGE_BASE_NS ((int64_t)1 << 50)

struct merge_shard {
	char *dir; /* as found */
	char *log; /* <dir>/metrics/eval_events.jsonl */
	struct eval_log_header hdr;
};

struct merge_list {
	struct merge_shard *v;
	size_t n, cap;
};

static void list_add(struct merge_list *l, const char *dir)
{
	if (l->n == l->cap)
		xgrow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v);
	struct merge_shard *s = &l->v[l->n++];
	memset(s, 0, sizeof *s);
	s->dir = xstrdup(dir);
	char *m = fs_path_join(dir, "metrics");
	s->log = fs_path_join(m, EVAL_LOG_FILE);
	free(m);
}

static void list_free(struct merge_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].dir);
		free(l->v[i].log);
	}
	free(l->v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool merge_is_shard_name(const char *name)
{
	if (strncmp(name, "shard-", 6) != 0 || !isdigit((unsigned char)name[6]))
		return false;
	char *e;
	errno = 0;
	(void)strtoul(name + 6, &e, 10);
	if (errno || strncmp(e, "-of-", 4) != 0 || !isdigit((unsigned char)e[4]))
		return false;
	const char *n = e + 4;
	(void)strtoul(n, &e, 10);
	return !errno && *e == '\0';
}

/* A shard directory, or the shard-K-of-N subdirectories of a run directory. 0, or -1 (said why). */
static int expand_dir(struct merge_list *l, const char *dir)
{
	char *m = fs_path_join(dir, "metrics");
	char *p = fs_path_join(m, EVAL_LOG_FILE);
	bool is_shard = fs_exists(p);
	free(m);
	free(p);
	if (is_shard) {
		list_add(l, dir);
		return 0;
	}
	DIR *d = opendir(dir);
	if (!d) {
		log_error("merge: %s: %s", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (merge_is_shard_name(de->d_name)) {
			if (n == cap)
				xgrow((void **)&names, &cap, n + 1, sizeof *names);
			names[n++] = xstrdup(de->d_name);
		}
	closedir(d);
	if (!n) {
		log_error("merge: %s is neither a shard directory (no metrics/%s) nor a directory of shard-K-of-N "
		          "directories",
		          dir, EVAL_LOG_FILE);
		free(names);
		return -1;
	}
	qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		char *sd = fs_path_join(dir, names[i]);
		char *sm = fs_path_join(sd, "metrics");
		char *sl = fs_path_join(sm, EVAL_LOG_FILE);
		/* a shard that never started evaluating has no log: it is one of the missing shards */
		if (fs_exists(sl))
			list_add(l, sd);
		else
			log_warn("merge: %s has no metrics/%s (the shard did not start?): counted as missing", sd,
			         EVAL_LOG_FILE);
		free(sl);
		free(sm);
		free(sd);
		free(names[i]);
	}
	free(names);
	return 0;
}

/* The parent directory of dir (resolved); NULL if it cannot be resolved. */
static char *parent_of(const char *dir)
{
	char real[PATH_MAX];
	if (!realpath(dir, real))
		return NULL;
	return xstrdup(dirname(real));
}

/* The directories a merge created (metrics/, traces/, the run's; NULL: it was there before). */
struct merge_undo {
	char *made[3];
};

/* A merge that read a bad log line leaves nothing behind: the evaluator removes its staged files, and
 * the directories this merge created go, innermost first (rmdir: only while empty). */
static void merge_undo(const struct merge_undo *u, struct evaluator **e)
{
	eval_free(*e);
	*e = NULL;
	for (int i = 0; i < 3; i++)
		if (u->made[i] && rmdir(u->made[i]) != 0 && errno != ENOENT)
			log_warn("merge: cannot remove %s: %s", u->made[i], strerror(errno));
}

static int cmp_shard(const void *a, const void *b)
{
	const struct merge_shard *x = a, *y = b;
	return x->hdr.index < y->hdr.index ? -1 : x->hdr.index > y->hdr.index;
}

/* The first line where two texts differ (1-based). */
static size_t first_diff_line(const char *a, const char *b)
{
	size_t line = 1;
	for (; *a && *a == *b; a++, b++)
		if (*a == '\n')
			line++;
	return line;
}

/* A number of <dir>/metrics/client_usage.json, NAN when there is none. */
static double shard_usage_num(const char *dir, const char *key)
{
	char *m = fs_path_join(dir, "metrics");
	char *p = fs_path_join(m, "client_usage.json");
	free(m);
	size_t len = 0;
	char *text = fs_read_file(p, &len);
	free(p);
	if (!text)
		return NAN;
	double v = NAN;
	cJSON *j = cJSON_ParseWithLength(text, len);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, key);
	if (cJSON_IsNumber(c))
		v = c->valuedouble;
	cJSON_Delete(j);
	free(text);
	return v;
}

static void json_num_or_null(struct jsonw *w, const char *key, double v)
{
	jsonw_key(w, key);
	if (isnan(v))
		jsonw_null(w);
	else
		jsonw_double(w, v);
}

struct merge_out_shard {
	const struct merge_shard *s;
	const struct eval_replay_stats *st;
	double cpu_s;
};

static int write_shards_json(const char *out_dir, const struct merge_out_shard *v, size_t n, uint32_t count,
                             const uint32_t *missing, size_t n_missing, double offset_ms)
{
	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 2);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "count");
	jsonw_int(&w, count);
	jsonw_key(&w, "shards");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < n; i++) {
		const struct eval_replay_stats *st = v[i].st;
		jsonw_obj_begin(&w);
		jsonw_key(&w, "index");
		jsonw_int(&w, v[i].s->hdr.index);
		jsonw_key(&w, "dir");
		jsonw_str(&w, v[i].s->dir);
		jsonw_key(&w, "host");
		jsonw_str(&w, v[i].s->hdr.host);
		jsonw_key(&w, "pid");
		jsonw_int(&w, v[i].s->hdr.pid);
		jsonw_key(&w, "clock");
		jsonw_str(&w, v[i].s->hdr.clock);
		jsonw_key(&w, "start_epoch_ns");
		jsonw_int(&w, v[i].s->hdr.start_epoch_ns);
		jsonw_key(&w, "start_realtime_ns");
		jsonw_int(&w, v[i].s->hdr.start_realtime_ns);
		jsonw_key(&w, "veeksha_version");
		jsonw_str(&w, v[i].s->hdr.version);
		jsonw_key(&w, "requests");
		jsonw_int(&w, (int64_t)st->dispatched);
		jsonw_key(&w, "completed");
		jsonw_int(&w, (int64_t)st->completed);
		jsonw_key(&w, "errors");
		jsonw_int(&w, (int64_t)st->errors);
		jsonw_key(&w, "cancelled");
		jsonw_int(&w, (int64_t)st->cancelled);
		jsonw_key(&w, "post_timeout");
		jsonw_int(&w, (int64_t)st->post_timeout);
		json_num_or_null(&w, "dispatch_lateness_p50_ms", st->lateness_p50_ms);
		json_num_or_null(&w, "dispatch_lateness_p99_ms", st->lateness_p99_ms);
		json_num_or_null(&w, "client_cpu_s", v[i].cpu_s);
		jsonw_key(&w, "run_status");
		jsonw_str(&w, st->has_end ? eval_run_status_name(st->status) : "truncated");
		jsonw_key(&w, "run_status_reason");
		jsonw_str(&w, st->has_end ? st->reason : "the event log has no end record (the shard did not finish)");
		jsonw_key(&w, "event_log_complete");
		jsonw_bool(&w, st->has_end && !st->tail_cut);
		jsonw_obj_end(&w);
	}
	jsonw_arr_end(&w);
	jsonw_key(&w, "missing");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < n_missing; i++)
		jsonw_int(&w, missing[i]);
	jsonw_arr_end(&w);
	jsonw_key(&w, "max_start_offset_ms");
	jsonw_double(&w, offset_ms);
	jsonw_key(&w, "clock_note");
	jsonw_str(&w, "Each shard measures its requests on its own host's CLOCK_MONOTONIC, relative to its own start: "
	              "per-request latencies are unaffected by clock offsets. The merged timeline puts every shard's "
	              "start at 0. max_start_offset_ms is the largest difference between the shards' starts as each "
	              "host's CLOCK_REALTIME read them (start_realtime_ns): how precisely they hit the common start. "
	              "The offset between the hosts' realtime clocks themselves (NTP/PTP error) adds to it and cannot "
	              "be seen from inside; absolute times of different hosts (dispatch and completion times, "
	              "throughput windows) may be shifted against each other by the sum (docs/MERGE.md).");
	jsonw_obj_end(&w);
	buf_putc(&b, '\n');
	char *m = fs_path_join(out_dir, "metrics");
	char *p = fs_path_join(m, "shards.json");
	int rc = fs_write_file(p, b.data, b.len);
	if (rc != 0)
		log_error("cannot write %s: %s", p, strerror(-rc));
	free(m);
	free(p);
	buf_free(&b);
	return rc == 0 ? 0 : -1;
}

static void print_ms(FILE *out, double v)
{
	if (isnan(v))
		fprintf(out, " %9s", "-");
	else
		fprintf(out, " %9.3f", v);
}

static void print_shard_table(FILE *out, const struct merge_out_shard *v, size_t n, uint32_t count,
                              const uint32_t *missing, size_t n_missing, double offset_ms)
{
	fprintf(out, "  Shards (%zu of %u merged; started up to %.3f ms apart by their hosts' realtime clocks):\n", n,
	        count, offset_ms);
	fprintf(out, "    %5s %-20s %9s %9s %9s %9s %9s %s\n", "shard", "host", "requests", "errors", "late p50",
	        "late p99", "cpu s", "status");
	for (size_t i = 0; i < n; i++) {
		const struct eval_replay_stats *st = v[i].st;
		fprintf(out, "    %5u %-20.20s %9" PRIu64 " %9" PRIu64, v[i].s->hdr.index, v[i].s->hdr.host,
		        st->dispatched, st->errors);
		print_ms(out, st->lateness_p50_ms);
		print_ms(out, st->lateness_p99_ms);
		if (isnan(v[i].cpu_s))
			fprintf(out, " %9s", "-");
		else
			fprintf(out, " %9.2f", v[i].cpu_s);
		fprintf(out, " %s\n", st->has_end ? eval_run_status_name(st->status) : "truncated (no end)");
	}
	for (size_t i = 0; i < n_missing; i++)
		fprintf(out, "    %5u %-20s missing\n", missing[i], "-");
	fprintf(out, "    (lateness in ms: dispatched - intended, exact percentiles of each shard's registrations)\n");
}

int runner_merge(const char *const *shard_dirs, size_t n_dirs, const char *out_dir, const struct cfg_run_opts *opts,
                 bool allow_partial, struct runner_result *out)
{
	return runner_merge_ex(shard_dirs, n_dirs, out_dir, opts, allow_partial, NULL, out);
}

int runner_merge_ex(const char *const *shard_dirs, size_t n_dirs, const char *out_dir, const struct cfg_run_opts *opts,
                    bool allow_partial, const struct cfg_benchmark *cfg_override, struct runner_result *out)
{
	memset(out, 0, sizeof *out);
	out->exit_code = 2;
	struct merge_list l = {0};
	char *cfg_text0 = NULL, *outd = NULL;
	size_t cfg_len0 = 0;
	uint32_t *missing = NULL;
	size_t n_missing = 0;
	struct config_benchmark_set set;
	memset(&set, 0, sizeof set);
	bool have_set = false;
	struct eval_replay *rp = NULL;
	struct evaluator *e = NULL;
	struct merge_out_shard *ov = NULL;
	struct merge_undo undo = {0};
	char err[1024];

	if (n_dirs == 0) {
		log_error("merge: no shard directories given");
		goto done;
	}
	for (size_t i = 0; i < n_dirs; i++)
		if (expand_dir(&l, shard_dirs[i]) != 0)
			goto done;
	if (l.n == 0) {
		log_error("merge: no shard has an event log (metrics/%s): nothing to merge", EVAL_LOG_FILE);
		goto done;
	}
	/* headers: one count, each index once */
	for (size_t i = 0; i < l.n; i++) {
		struct eval_log_reader *r = eval_log_reader_open(l.v[i].log, err, sizeof err);
		if (!r) {
			log_error("merge: %s", err);
			goto done;
		}
		l.v[i].hdr = *eval_log_reader_header(r);
		eval_log_reader_close(r);
		if (l.v[i].hdr.count != l.v[0].hdr.count) {
			log_error("merge: %s is shard %u of %u but %s is shard %u of %u: shards of different runs?",
			          l.v[i].dir, l.v[i].hdr.index, l.v[i].hdr.count, l.v[0].dir, l.v[0].hdr.index,
			          l.v[0].hdr.count);
			goto done;
		}
	}
	qsort(l.v, l.n, sizeof *l.v, cmp_shard);
	uint32_t count = l.v[0].hdr.count;
	for (size_t i = 1; i < l.n; i++)
		if (l.v[i].hdr.index == l.v[i - 1].hdr.index) {
			log_error("merge: shard %u of %u appears twice: %s and %s", l.v[i].hdr.index, count,
			          l.v[i - 1].dir, l.v[i].dir);
			goto done;
		}
	/* one run: the shards of a run are given one start (--start-at, the rendezvous, the threads' common
	 * start); shards of two runs of one config would merge into a timeline that never happened */
	for (size_t i = 1; i < l.n; i++)
		if (l.v[i].hdr.start_epoch_ns != l.v[0].hdr.start_epoch_ns) {
			int64_t d = l.v[i].hdr.start_epoch_ns - l.v[0].hdr.start_epoch_ns;
			log_error("merge: %s started at %" PRId64 " ns since 1970 but %s at %" PRId64
			          " (%.3f s apart): shards of different runs (each run gives all its shards one start)",
			          l.v[i].dir, l.v[i].hdr.start_epoch_ns, l.v[0].dir, l.v[0].hdr.start_epoch_ns,
			          (double)d / 1e9);
			goto done;
		}
	missing = xcalloc(count, sizeof *missing);
	for (uint32_t k = 0, j = 0; k < count; k++) {
		if (j < l.n && l.v[j].hdr.index == k)
			j++;
		else
			missing[n_missing++] = k;
	}
	if (n_missing && !allow_partial) {
		struct buf b;
		buf_init(&b);
		for (size_t i = 0; i < n_missing; i++)
			buf_printf(&b, "%s%u", i ? ", " : "", missing[i]);
		log_error(
		    "merge: shard%s %s of %u missing (found %zu of %u; --allow-partial merges the shards present)",
		    n_missing > 1 ? "s" : "", b.data, count, l.n, count);
		buf_free(&b);
		goto done;
	}
	/* one configuration: every shard's config.yml the same */
	for (size_t i = 0; i < l.n; i++) {
		char *p = fs_path_join(l.v[i].dir, "config.yml");
		size_t len = 0;
		char *text = fs_read_file(p, &len);
		if (!text) {
			log_error("merge: cannot read %s: %s", p, strerror(errno));
			free(p);
			goto done;
		}
		if (i == 0) {
			cfg_text0 = text;
			cfg_len0 = len;
		} else {
			bool same = len == cfg_len0 && memcmp(text, cfg_text0, len) == 0;
			if (!same)
				log_error("merge: %s differs from %s/config.yml (first at line %zu): the shards did "
				          "not run the "
				          "same configuration",
				          p, l.v[0].dir, first_diff_line(cfg_text0, text));
			free(text);
			if (!same) {
				free(p);
				goto done;
			}
		}
		free(p);
	}
	{
		char *p = fs_path_join(l.v[0].dir, "config.yml");
		char cerr[2048];
		int rc = config_load_benchmark_file(p, &set, cerr, sizeof cerr);
		free(p);
		if (rc != CONFIG_OK) {
			fprintf(stderr, "%s\n", cerr);
			log_error("merge: the shards' config.yml cannot be loaded (see the message above)");
			goto done;
		}
		have_set = true;
		if (set.count != 1) {
			log_error("merge: %s/config.yml holds %zu configurations; a shard's holds one", l.v[0].dir,
			          set.count);
			goto done;
		}
	}
	/* where to write */
	if (out_dir) {
		outd = xstrdup(out_dir);
	} else {
		for (size_t i = 0; i < l.n; i++) {
			char *p = parent_of(l.v[i].dir);
			if (!p) {
				log_error("merge: %s: %s", l.v[i].dir, strerror(errno));
				goto done;
			}
			if (!outd) {
				outd = p;
				continue;
			}
			bool same = strcmp(p, outd) == 0;
			free(p);
			if (!same) {
				log_error(
				    "merge: the shard directories have different parents (%s and %s); name the merged "
				    "run's directory with --output",
				    l.v[0].dir, l.v[i].dir);
				goto done;
			}
		}
	}
	/* what this merge creates, it removes again when the logs turn out bad (merge_undo) */
	undo.made[0] = fs_path_join(outd, "metrics");
	undo.made[1] = fs_path_join(outd, "traces");
	undo.made[2] = xstrdup(outd);
	for (int i = 0; i < 3; i++)
		if (access(undo.made[i], F_OK) == 0) {
			free(undo.made[i]);
			undo.made[i] = NULL;
		}
	if (fs_mkdir_p(outd) != 0) {
		log_error("merge: cannot create %s: %s", outd, strerror(errno));
		out->exit_code = 1;
		goto done;
	}
	out->exit_code = 1; /* from here on a failure is a runtime one */

	const char **logs = xcalloc(l.n, sizeof *logs);
	for (size_t i = 0; i < l.n; i++)
		logs[i] = l.v[i].log;
	rp = eval_replay_open(logs, l.n, err, sizeof err);
	free(logs);
	if (!rp) {
		log_error("merge: %s", err);
		merge_undo(&undo, &e);
		goto done;
	}
	const struct cfg_benchmark *use = cfg_override ? cfg_override : &set.items[0];
	/* One pass over the logs, and a bad line found in it must not leave a run directory whose files
	 * mix a cut-short replay with an earlier merge's (docs/MERGE.md): the streamed files are staged
	 * until every line has been read, and the rest is written after that. */
	e = eval_create_staged(use, outd, MERGE_BASE_NS, l.v[0].hdr.tokenizer);
	if (!e) {
		merge_undo(&undo, &e);
		goto done; /* (eval_create said why) */
	}
	log_info("merging %zu shard%s of %u into %s", l.n, l.n > 1 ? "s" : "", count, outd);
	struct eval_window_info win;
	if (eval_window_configured(use, &win)) {
		/* warmup/cooldown (docs/METRICS.md, Measurement window): applied here, over all shards at once */
		if (eval_replay_set_window(rp, &win, err, sizeof err) != 0) {
			log_error("merge: %s (nothing was written)", err);
			merge_undo(&undo, &e);
			goto done;
		}
		eval_set_window(e, &win);
	}
	{
		/* client saturation (docs/METRICS.md): the busiest shard's loop; lateness comes from all records */
		double busy = 0;
		for (size_t i = 0; i < l.n; i++) {
			double b = shard_usage_num(l.v[i].dir, "busy_tick_share");
			if (b > busy)
				busy = b;
		}
		eval_set_client_load(e, busy);
	}
	if (eval_replay_run(rp, e, MERGE_BASE_NS, err, sizeof err) != 0) {
		log_error("merge: %s (nothing was written)", err);
		merge_undo(&undo, &e);
		goto done;
	}
	if (eval_commit_staged(e) != 0)
		goto done;
	{
		char *p = fs_path_join(outd, "config.yml");
		char *ovr = NULL;
		size_t ovr_len = 0;
		if (cfg_override) {
			/* the configuration the records are evaluated with (veeksha evaluate: new SLOs, a window) */
			FILE *mem = open_memstream(&ovr, &ovr_len);
			if (mem) {
				config_benchmark_write_yaml(cfg_override, mem, 1);
				fclose(mem);
			}
		}
		int rc = ovr ? fs_write_file(p, ovr, ovr_len) : fs_write_file(p, cfg_text0, cfg_len0);
		free(ovr);
		if (rc != 0) {
			log_error("merge: cannot write %s: %s", p, strerror(-rc));
			free(p);
			goto done;
		}
		free(p);
	}
	char extra[128] = "";
	for (size_t i = 0; i < n_missing; i++) {
		size_t used = strlen(extra);
		snprintf(extra + used, sizeof extra - used, "%sshard %u of %u missing", i ? "; " : "", missing[i],
		         count);
	}
	int met = eval_replay_finish(rp, e, MERGE_BASE_NS, n_missing ? EVAL_RUN_TRUNCATED : EVAL_RUN_COMPLETE,
	                             n_missing ? extra : NULL);

	ov = xcalloc(l.n, sizeof *ov);
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	for (size_t i = 0; i < l.n; i++) {
		ov[i].s = &l.v[i];
		ov[i].st = eval_replay_stats(rp, i);
		ov[i].cpu_s = shard_usage_num(l.v[i].dir, "run_cpu_s");
		if (l.v[i].hdr.start_realtime_ns < lo)
			lo = l.v[i].hdr.start_realtime_ns;
		if (l.v[i].hdr.start_realtime_ns > hi)
			hi = l.v[i].hdr.start_realtime_ns;
	}
	double offset_ms = (double)(hi - lo) / 1e6;
	int wrc = write_shards_json(outd, ov, l.n, count, missing, n_missing, offset_ms);
	eval_print_summary(e, stdout);
	print_shard_table(stdout, ov, l.n, count, missing, n_missing, offset_ms);
	fflush(stdout);

	bool complete = true;
	bool interrupted = false;
	for (size_t i = 0; i < l.n; i++) {
		const struct eval_replay_stats *st = ov[i].st;
		if (!st->has_end || st->status == EVAL_RUN_TRUNCATED)
			complete = false;
		else if (st->status == EVAL_RUN_INTERRUPTED)
			interrupted = true;
	}
	out->all_slos_met = met == 1;
	out->interrupted = interrupted;
	if (met < 0 || wrc != 0 || !complete || n_missing || interrupted)
		out->exit_code = 1; /* an output failed, or the merged run is not a complete measurement */
	else if (opts && opts->fail_on_slo && (met == 0 || (opts->strict_client && eval_client_saturated(e, NULL))))
		out->exit_code = 3;
	else
		out->exit_code = 0;
done:
	for (int i = 0; i < 3; i++)
		free(undo.made[i]);
	if (outd)
		out->run_dir = outd;
	eval_free(e);
	eval_replay_free(rp);
	free(ov);
	free(missing);
	free(cfg_text0);
	if (have_set)
		config_benchmark_set_free(&set);
	list_free(&l);
	return out->exit_code;
}

static void merge_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: veeksha merge [--output DIR] [--fail-on-slo] [--quiet] [--no-report] [--allow-partial] DIR...\n\n"
	    "Merge the shards of a sharded benchmark into one run directory (docs/MERGE.md). Each DIR is a shard\n"
	    "directory (it holds metrics/%s) or a directory of shard-K-of-N directories. Every\n"
	    "file is computed from the shards' raw records, exactly as one process evaluating them all would.\n\n"
	    "  --output DIR      where to write (default: the shard directories' common parent)\n"
	    "  --fail-on-slo     exit 3 when an SLO is not met\n"
	    "  --quiet           no informational messages (the summary is still printed)\n"
	    "  --no-report       do not write metrics/report.html\n"
	    "  --allow-partial   merge the shards present when some are missing (the run is then truncated)\n\n"
	    "Exit codes: 0 merged, complete run; 1 an output failed or a shard did not complete (files are still\n"
	    "written); 2 usage or mismatched shards (count, duplicate or missing index, differing config.yml);\n"
	    "3 SLOs not met with --fail-on-slo.\n",
	    EVAL_LOG_FILE);
}

int runner_merge_main(int argc, char **argv)
{
	const char *out_dir = NULL;
	struct cfg_run_opts opts = {0};
	bool allow_partial = false;
	const char **dirs = xcalloc((size_t)(argc > 0 ? argc : 1), sizeof *dirs);
	size_t n = 0;
	bool opts_done = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (opts_done || a[0] != '-') {
			dirs[n++] = a;
		} else if (!strcmp(a, "--")) {
			opts_done = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			merge_usage(stdout);
			free(dirs);
			return 0;
		} else if (!strcmp(a, "--output") || !strcmp(a, "-o")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "veeksha merge: %s needs a directory\n", a);
				free(dirs);
				return 2;
			}
			out_dir = argv[++i];
		} else if (!strncmp(a, "--output=", 9)) {
			out_dir = a + 9;
		} else if (!strcmp(a, "--fail-on-slo")) {
			opts.fail_on_slo = true;
		} else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			opts.quiet = true;
		} else if (!strcmp(a, "--no-report")) {
			opts.no_report = true;
		} else if (!strcmp(a, "--allow-partial")) {
			allow_partial = true;
		} else {
			fprintf(stderr, "veeksha merge: unknown option '%s'\n", a);
			merge_usage(stderr);
			free(dirs);
			return 2;
		}
	}
	if (!n) {
		fprintf(stderr, "veeksha merge: no shard directories given\n");
		merge_usage(stderr);
		free(dirs);
		return 2;
	}
	if (out_dir && !out_dir[0]) {
		fprintf(stderr, "veeksha merge: --output is empty\n");
		free(dirs);
		return 2;
	}
	if (opts.quiet)
		log_set_level(LOG_WARN);
	struct runner_result res;
	int code = runner_merge(dirs, n, out_dir, &opts, allow_partial, &res);
	/* the merged run's report, last (docs/OUTPUTS.md, report.html) */
	if (res.run_dir && code != 2 && !opts.no_report && report_html_write_run(res.run_dir) != 0 && code == 0)
		code = 1;
	free(res.run_dir);
	free(dirs);
	return code;
}
