#include "meta/mb_rows.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/xalloc.h"
#include "metrics/pct.h"

static double mb_num(const cJSON *o, const char *k)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);
	return j && cJSON_IsNumber(j) ? j->valuedouble : 0.0;
}

char *mb_newest_run_dir(const char *parent)
{
	DIR *d = opendir(parent);
	if (!d)
		return NULL;
	char *best = NULL;
	time_t best_t = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *p = xasprintf("%s/%s/metrics", parent, e->d_name);
		struct stat st;
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) && (!best || st.st_mtime >= best_t)) {
			free(best);
			best = xasprintf("%s/%s", parent, e->d_name);
			best_t = st.st_mtime;
		}
		free(p);
	}
	closedir(d);
	return best;
}

int mb_rows_load(const char *parent_dir, struct mb_rows *out)
{
	memset(out, 0, sizeof *out);
	out->run_dir = mb_newest_run_dir(parent_dir);
	if (!out->run_dir)
		return -1;
	char *path = xasprintf("%s/metrics/request_level_metrics.jsonl", out->run_dir);
	FILE *f = fopen(path, "r");
	free(path);
	if (!f)
		return -1;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		cJSON *o = cJSON_Parse(line);
		if (!o)
			continue;
		if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "success"))) {
			/* a failed request's row (docs/OUTPUTS.md): no latencies, but counted */
			if (out->n_failed++ == 0) {
				const cJSON *cls = cJSON_GetObjectItemCaseSensitive(o, "error_class");
				const cJSON *msg = cJSON_GetObjectItemCaseSensitive(o, "error_msg");
				snprintf(out->first_error, sizeof out->first_error, "%s %lld: %s",
				         cJSON_IsString(cls) ? cls->valuestring : "error",
				         (long long)mb_num(o, "error_code"),
				         cJSON_IsString(msg) ? msg->valuestring : "");
			}
			cJSON_Delete(o);
			continue;
		}
		xgrow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v);
		struct mb_row *r = &out->v[out->n++];
		r->request_id = (int64_t)mb_num(o, "request_id");
		r->dispatched_s = mb_num(o, "scheduler_dispatched_at");
		r->picked_up_s = mb_num(o, "client_picked_up_at");
		r->completed_s = mb_num(o, "client_completed_at");
		r->ttfc_s = mb_num(o, "ttfc");
		r->tpot_s = mb_num(o, "tpot");
		r->e2e_s = mb_num(o, "end_to_end_latency");
		r->prompt_tokens = (int64_t)mb_num(o, "num_delta_prompt_tokens");
		r->output_tokens = (int64_t)mb_num(o, "num_output_tokens");
		r->requested_output_tokens = (int64_t)mb_num(o, "num_requested_output_tokens");
		r->target_prompt_tokens = (int64_t)mb_num(o, "target_num_delta_prompt_tokens");
		r->is_stream = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "is_stream"));
		cJSON_Delete(o);
	}
	free(line);
	fclose(f);
	return 0;
}

void mb_rows_free(struct mb_rows *r)
{
	free(r->v);
	free(r->run_dir);
	memset(r, 0, sizeof *r);
}

void mb_stats_of(double *values, size_t n, struct mb_stats *out)
{
	memset(out, 0, sizeof *out);
	out->count = n;
	if (n == 0)
		return;
	pct_sort(values, n);
	out->mean = pct_mean(values, n);
	out->median = pct_median_sorted(values, n);
	out->p50 = pct_linear_sorted(values, n, 0.5);
	out->p99 = pct_linear_sorted(values, n, 0.99);
	out->min = values[0];
	out->max = values[n - 1];
}
