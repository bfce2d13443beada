#include "runner/sweep_summary.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/fsutil.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "output/run_json.h"

cJSON *sweep_read_metrics_json(const char *run_dir, const char *name)
{
	if (!run_dir)
		return NULL;
	char *dir = xasprintf("%s/metrics", run_dir);
	cJSON *j = run_json_read(dir, name);
	free(dir);
	return j;
}

/* Context length: the single prefill group, else a fixed body length. -1 = unknown. */
static int64_t sweep_context_length(const struct cfg_benchmark *c, const cJSON *prefill)
{
	const cJSON *groups = prefill ? cJSON_GetObjectItemCaseSensitive(prefill, "groups") : NULL;
	if (groups && cJSON_GetArraySize(groups) == 1)
		return strtoll(groups->child->string, NULL, 10);
	if (c->session_generator.type == CFG_SESSION_GEN_SYNTHETIC && c->session_generator.n_channels > 0 &&
	    c->session_generator.channels[0].body_length_generator.type == CFG_LENGTH_FIXED)
		return c->session_generator.channels[0].body_length_generator.value;
	return -1;
}

static int64_t sweep_batch_size(const struct cfg_benchmark *c)
{
	for (size_t i = 0; i < c->n_evaluators; i++) {
		const struct cfg_evaluator *e = &c->evaluators[i];
		if (e->decode_window_enabled && e->has_decode_window_config &&
		    !e->decode_window_config.min_active_max_observed)
			return e->decode_window_config.min_active_requests;
	}
	if (c->traffic_scheduler.type == CFG_TRAFFIC_CONCURRENT)
		return c->traffic_scheduler.target_concurrent_sessions;
	return -1;
}

static int64_t sweep_output_length(const struct cfg_benchmark *c)
{
	const struct cfg_output_spec *o = &c->session_generator.output_spec;
	if (c->session_generator.type == CFG_SESSION_GEN_SYNTHETIC && o->has_text &&
	    o->text_output_length.type == CFG_LENGTH_FIXED)
		return o->text_output_length.value;
	return -1;
}

static double sweep_arrival_rate(const struct cfg_benchmark *c)
{
	const struct cfg_traffic *t = &c->traffic_scheduler;
	if (t->type != CFG_TRAFFIC_RATE)
		return NAN;
	if (t->interval_generator.type == CFG_INTERVAL_FIXED)
		return t->interval_generator.interval > 0 ? 1.0 / t->interval_generator.interval : NAN;
	return t->interval_generator.arrival_rate;
}

static void sweep_json_opt_int(struct jsonw *w, int64_t v)
{
	if (v < 0)
		jsonw_null(w);
	else
		jsonw_int(w, v);
}

static void sweep_json_value(struct jsonw *w, const cJSON *j)
{
	if (!j) {
		jsonw_null(w);
		return;
	}
	char *s = cJSON_PrintUnformatted(j);
	jsonw_raw(w, s);
	free(s);
}

/* Python str() of a JSON number/bool for the CSV (None -> empty). */
static void sweep_csv_num(struct buf *b, const cJSON *j)
{
	char tmp[48];
	if (!j || cJSON_IsNull(j))
		return;
	if (cJSON_IsBool(j)) {
		buf_puts(b, cJSON_IsTrue(j) ? "True" : "False");
	} else if (cJSON_IsNumber(j)) {
		double v = j->valuedouble;
		jsonw_format_double(v, tmp);
		if (isinf(v))
			buf_puts(b, v > 0 ? "inf" : "-inf");
		else
			buf_puts(b, tmp);
	}
}

static void sweep_csv_int_or_float(struct buf *b, const cJSON *j)
{
	/* Counters are ints in summary_stats.json: print them without ".0". */
	if (j && cJSON_IsNumber(j) && j->valuedouble == floor(j->valuedouble) && fabs(j->valuedouble) < 1e15) {
		buf_printf(b, "%lld", (long long)j->valuedouble);
		return;
	}
	sweep_csv_num(b, j);
}

int sweep_summary_write(const char *sweep_dir, const char *const *run_dirs, const struct cfg_benchmark *cfgs, size_t n)
{
	struct buf js, csv, djs, dcsv;
	buf_init(&js);
	buf_init(&csv);
	buf_init(&djs);
	buf_init(&dcsv);
	struct jsonw w, dw;
	jsonw_init(&w, &js, 2);
	jsonw_init(&dw, &djs, 2);
	jsonw_arr_begin(&w);
	jsonw_obj_begin(&dw);
	buf_puts(&csv, "run_index,run_dir,traffic_type,target_concurrent_sessions,arrival_rate,context_length,"
	               "output_length,max_sessions,benchmark_timeout_s,num_requests,num_completed_requests,error_rate,"
	               "all_slos_met,tpot_based_throughput,tbc_based_throughput\n");
	buf_puts(&dcsv, "key,run_dir,context_length,batch_size,window_start,window_end,window_duration_s,tbc_count,"
	                "tbc_mean,tbc_p99\n");
	bool any_decode = false;
	for (size_t i = 0; i < n; i++) {
		const struct cfg_benchmark *c = &cfgs[i];
		const char *rd = run_dirs[i];
		cJSON *summary = sweep_read_metrics_json(rd, "summary_stats.json");
		cJSON *thr = sweep_read_metrics_json(rd, "throughput_metrics.json");
		cJSON *prefill = sweep_read_metrics_json(rd, "prefill_stats.json");
		cJSON *decode = sweep_read_metrics_json(rd, "decode_window_metrics.json");
		cJSON *slo = sweep_read_metrics_json(rd, "slo_results.json");
		int64_t ctx_len = sweep_context_length(c, prefill);
		int64_t batch = sweep_batch_size(c);
		int64_t out_len = sweep_output_length(c);
		double rate = sweep_arrival_rate(c);
		const cJSON *all_met = slo ? cJSON_GetObjectItemCaseSensitive(slo, "all_slos_met") : NULL;

		jsonw_obj_begin(&w);
		jsonw_key(&w, "run_index");
		jsonw_int(&w, (int64_t)i);
		jsonw_key(&w, "run_dir");
		jsonw_str(&w, rd);
		jsonw_key(&w, "context_length");
		sweep_json_opt_int(&w, ctx_len);
		jsonw_key(&w, "batch_size");
		sweep_json_opt_int(&w, batch);
		jsonw_key(&w, "output_length");
		sweep_json_opt_int(&w, out_len);
		jsonw_key(&w, "traffic");
		jsonw_obj_begin(&w);
		jsonw_key(&w, "type");
		jsonw_str(&w, config_traffic_type_name(c->traffic_scheduler.type));
		if (c->traffic_scheduler.type == CFG_TRAFFIC_CONCURRENT) {
			jsonw_key(&w, "target_concurrent_sessions");
			jsonw_int(&w, c->traffic_scheduler.target_concurrent_sessions);
			jsonw_key(&w, "rampup_seconds");
			jsonw_int(&w, c->traffic_scheduler.rampup_seconds);
		}
		if (!isnan(rate)) {
			jsonw_key(&w, "arrival_rate");
			jsonw_double(&w, rate);
		}
		jsonw_obj_end(&w);
		jsonw_key(&w, "runtime");
		jsonw_obj_begin(&w);
		jsonw_key(&w, "max_sessions");
		jsonw_int(&w, c->runtime.max_sessions);
		jsonw_key(&w, "benchmark_timeout");
		jsonw_int(&w, c->runtime.benchmark_timeout);
		jsonw_obj_end(&w);
		jsonw_key(&w, "summary_stats");
		sweep_json_value(&w, summary);
		jsonw_key(&w, "throughput_metrics");
		sweep_json_value(&w, thr);
		jsonw_key(&w, "prefill_group_stats");
		sweep_json_value(&w, prefill ? cJSON_GetObjectItemCaseSensitive(prefill, "groups") : NULL);
		jsonw_key(&w, "decode_window_stats");
		sweep_json_value(&w, decode ? cJSON_GetObjectItemCaseSensitive(decode, "tbc_in_window_stats") : NULL);
		jsonw_key(&w, "all_slos_met");
		if (all_met)
			jsonw_bool(&w, cJSON_IsTrue(all_met));
		else
			jsonw_null(&w);
		jsonw_key(&w, "slo_results");
		sweep_json_value(&w, slo ? cJSON_GetObjectItemCaseSensitive(slo, "results") : NULL);
		jsonw_obj_end(&w);

		/* CSV row */
		buf_printf(&csv, "%zu,%s,%s,", i, rd ? rd : "", config_traffic_type_name(c->traffic_scheduler.type));
		if (c->traffic_scheduler.type == CFG_TRAFFIC_CONCURRENT)
			buf_printf(&csv, "%lld", (long long)c->traffic_scheduler.target_concurrent_sessions);
		buf_putc(&csv, ',');
		if (!isnan(rate)) {
			char tmp[48];
			jsonw_format_double(rate, tmp);
			buf_puts(&csv, tmp);
		}
		buf_putc(&csv, ',');
		if (ctx_len >= 0)
			buf_printf(&csv, "%lld", (long long)ctx_len);
		buf_putc(&csv, ',');
		if (out_len >= 0)
			buf_printf(&csv, "%lld", (long long)out_len);
		buf_printf(&csv, ",%lld,%lld,", (long long)c->runtime.max_sessions,
		           (long long)c->runtime.benchmark_timeout);
		sweep_csv_int_or_float(&csv, summary ? cJSON_GetObjectItemCaseSensitive(summary, "Number of Requests")
		                                     : NULL);
		buf_putc(&csv, ',');
		sweep_csv_int_or_float(
		    &csv, summary ? cJSON_GetObjectItemCaseSensitive(summary, "Number of Completed Requests") : NULL);
		buf_putc(&csv, ',');
		sweep_csv_num(&csv, summary ? cJSON_GetObjectItemCaseSensitive(summary, "Error Rate") : NULL);
		buf_putc(&csv, ',');
		sweep_csv_num(&csv, all_met);
		buf_putc(&csv, ',');
		sweep_csv_num(&csv, thr ? cJSON_GetObjectItemCaseSensitive(thr, "tpot_based_throughput") : NULL);
		buf_putc(&csv, ',');
		sweep_csv_num(&csv, thr ? cJSON_GetObjectItemCaseSensitive(thr, "tbc_based_throughput") : NULL);
		buf_putc(&csv, '\n');

		/* decode stats */
		const cJSON *win = decode ? cJSON_GetObjectItemCaseSensitive(decode, "window") : NULL;
		const cJSON *tbc = decode ? cJSON_GetObjectItemCaseSensitive(decode, "tbc_in_window_stats") : NULL;
		if (decode && tbc) {
			any_decode = true;
			char *key = xasprintf("%lld_%lld", (long long)ctx_len, (long long)batch);
			jsonw_key(&dw, key);
			jsonw_obj_begin(&dw);
			jsonw_key(&dw, "run_dir");
			jsonw_str(&dw, rd);
			jsonw_key(&dw, "context_length");
			sweep_json_opt_int(&dw, ctx_len);
			jsonw_key(&dw, "batch_size");
			sweep_json_opt_int(&dw, batch);
			const char *wkeys[] = {"start", "end", "duration_s"};
			const char *okeys[] = {"window_start", "window_end", "window_duration_s"};
			for (int k = 0; k < 3; k++) {
				jsonw_key(&dw, okeys[k]);
				sweep_json_value(&dw, win ? cJSON_GetObjectItemCaseSensitive(win, wkeys[k]) : NULL);
			}
			const char *tkeys[] = {"count", "mean", "p99"};
			const char *tokeys[] = {"tbc_count", "tbc_mean", "tbc_p99"};
			for (int k = 0; k < 3; k++) {
				jsonw_key(&dw, tokeys[k]);
				sweep_json_value(&dw, cJSON_GetObjectItemCaseSensitive(tbc, tkeys[k]));
			}
			jsonw_obj_end(&dw);
			buf_printf(&dcsv, "%s,%s,", key, rd ? rd : "");
			if (ctx_len >= 0)
				buf_printf(&dcsv, "%lld", (long long)ctx_len);
			buf_putc(&dcsv, ',');
			if (batch >= 0)
				buf_printf(&dcsv, "%lld", (long long)batch);
			for (int k = 0; k < 3; k++) {
				buf_putc(&dcsv, ',');
				sweep_csv_num(&dcsv, win ? cJSON_GetObjectItemCaseSensitive(win, wkeys[k]) : NULL);
			}
			for (int k = 0; k < 3; k++) {
				buf_putc(&dcsv, ',');
				sweep_csv_num(&dcsv, cJSON_GetObjectItemCaseSensitive(tbc, tkeys[k]));
			}
			buf_putc(&dcsv, '\n');
			free(key);
		}
		cJSON_Delete(summary);
		cJSON_Delete(thr);
		cJSON_Delete(prefill);
		cJSON_Delete(decode);
		cJSON_Delete(slo);
	}
	jsonw_arr_end(&w);
	jsonw_obj_end(&dw);
	int rc = 0;
	struct {
		const char *name;
		struct buf *b;
		bool want;
	} files[] = {{"sweep_summary.json", &js, true},
	             {"sweep_summary.csv", &csv, true},
	             {"decode_stats.json", &djs, any_decode},
	             {"decode_stats.csv", &dcsv, any_decode}};
	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		if (!files[f].want)
			continue;
		char *path = fs_path_join(sweep_dir, files[f].name);
		if (fs_write_file(path, files[f].b->data, files[f].b->len) != 0) {
			log_error("cannot write %s", path);
			rc = -1;
		}
		free(path);
	}
	buf_free(&js);
	buf_free(&csv);
	buf_free(&djs);
	buf_free(&dcsv);
	return rc;
}

static int sweep_write_manifest(const char *sweep_dir, const char *const *run_dirs, size_t n)
{
	struct buf b;
	buf_init(&b);
	struct jsonw w;
	jsonw_init(&w, &b, 2);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "sweep_dir");
	jsonw_str(&w, sweep_dir);
	jsonw_key(&w, "num_runs");
	jsonw_int(&w, (int64_t)n);
	jsonw_key(&w, "runs");
	jsonw_arr_begin(&w);
	for (size_t i = 0; i < n; i++) {
		jsonw_obj_begin(&w);
		jsonw_key(&w, "run_dir");
		jsonw_str(&w, run_dirs[i]);
		char *cfgp = run_dirs[i] ? fs_path_join(run_dirs[i], "config.yml") : NULL;
		char *metrics = run_dirs[i] ? fs_path_join(run_dirs[i], "metrics") : NULL;
		char *prefill = metrics ? fs_path_join(metrics, "prefill_stats.json") : NULL;
		char *dw = metrics ? fs_path_join(metrics, "decode_window_metrics.json") : NULL;
		jsonw_key(&w, "config_path");
		jsonw_str(&w, cfgp);
		jsonw_key(&w, "metrics_dir");
		jsonw_str(&w, metrics);
		jsonw_key(&w, "prefill_stats_path");
		jsonw_str(&w, prefill && fs_exists(prefill) ? prefill : NULL);
		jsonw_key(&w, "decode_window_metrics_path");
		jsonw_str(&w, dw && fs_exists(dw) ? dw : NULL);
		free(cfgp);
		free(metrics);
		free(prefill);
		free(dw);
		jsonw_obj_end(&w);
	}
	jsonw_arr_end(&w);
	jsonw_obj_end(&w);
	char *path = fs_path_join(sweep_dir, "sweep_manifest.json");
	int rc = 0;
	if (fs_write_file(path, b.data, b.len) != 0) {
		log_error("cannot write %s", path);
		rc = -1;
	}
	free(path);
	buf_free(&b);
	return rc;
}

int sweep_outputs_write(const char *sweep_dir, const char *const *run_dirs, const struct cfg_benchmark *cfgs, size_t n)
{
	int rc = sweep_write_manifest(sweep_dir, run_dirs, n);
	if (sweep_summary_write(sweep_dir, run_dirs, cfgs, n) != 0)
		rc = -1;
	return rc;
}
