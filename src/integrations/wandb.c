/* The W&B bridge at the end of a run (docs/INTEGRATIONS.md). */
#include "integrations/wandb.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/buf.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "integrations/bridge.h"

#define WB_SCRIPT "wandb_bridge.py"
/* an upload of the artifact over a slow link; offline mode takes a second or two */
#define WB_TIMEOUT_S 600.0

static void wb_add_str(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

/* The benchmark config as JSON, secrets redacted (what config.yml says). */
static cJSON *wb_config_json(const struct cfg_benchmark *cfg)
{
	char *txt = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&txt, &len);
	if (!f)
		return cJSON_CreateObject();
	config_benchmark_write_json(cfg, f, 1);
	fclose(f);
	cJSON *o = txt ? cJSON_Parse(txt) : NULL;
	free(txt);
	return o ? o : cJSON_CreateObject();
}

/* The message fields every W&B run gets from the wandb: section. */
static void wb_add_target(cJSON *m, const struct cfg_wandb *w, const char *group, const char *run_name, char **tags,
                          size_t n_tags)
{
	wb_add_str(m, "project", w->project);
	wb_add_str(m, "entity", w->entity);
	wb_add_str(m, "group", group);
	wb_add_str(m, "run_name", run_name);
	wb_add_str(m, "mode", w->mode);
	cJSON *arr = cJSON_AddArrayToObject(m, "tags");
	for (size_t i = 0; i < n_tags; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(tags[i]));
}

/* Run the bridge for one message: its "logged" answer's run object (the caller deletes the
 * returned reply), or NULL after one warning that starts with `what`. */
static cJSON *wb_exchange(const struct cfg_wandb *w, const char *what, const cJSON *m, const cJSON **run_out)
{
	char err[1024] = "";
	struct bridge *br = bridge_start("wandb", w->env_path, WB_SCRIPT, NULL, err, sizeof err);
	if (!br) {
		log_warn("%s skipped (the benchmark's files are complete): %s", what, err);
		return NULL;
	}
	int rc = bridge_send(br, m, err, sizeof err);
	cJSON *reply = rc == 0 ? bridge_recv(br, WB_TIMEOUT_S, err, sizeof err) : NULL;
	const cJSON *t = reply ? cJSON_GetObjectItemCaseSensitive(reply, "type") : NULL;
	const cJSON *run = reply ? cJSON_GetObjectItemCaseSensitive(reply, "run") : NULL;
	if (reply && (!cJSON_IsString(t) || strcmp(t->valuestring, "logged") != 0 || !cJSON_IsObject(run))) {
		snprintf(err, sizeof err, "the wandb bridge answered with an unexpected message");
		cJSON_Delete(reply);
		reply = NULL;
	}
	bridge_close(br);
	if (!reply) {
		log_warn("%s failed (the benchmark's files are complete): %s", what, err);
		return NULL;
	}
	*run_out = run;
	return reply;
}

/* "<prefix>-<the directory's name>" (trailing slashes ignored, as the reference's rstrip). */
static char *wb_dir_label(const char *prefix, const char *infix, const char *dir)
{
	size_t end = strlen(dir);
	while (end > 1 && dir[end - 1] == '/')
		end--;
	size_t start = end;
	while (start > 0 && dir[start - 1] != '/')
		start--;
	return xasprintf("%s%s%.*s", prefix, infix, (int)(end - start), dir + start);
}

int integ_wandb_log(const struct cfg_benchmark *cfg, const char *run_dir)
{
	const struct cfg_wandb *w = &cfg->wandb;
	if (!w->enabled || !run_dir)
		return 0;
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "log");
	cJSON_AddNumberToObject(m, "protocol", BRIDGE_PROTOCOL);
	cJSON_AddStringToObject(m, "run_dir", run_dir);
	wb_add_target(m, w, w->group, w->run_name, w->tags, w->n_tags);
	wb_add_str(m, "notes", w->notes);
	cJSON_AddBoolToObject(m, "log_artifacts", w->log_artifacts);
	cJSON_AddItemToObject(m, "config", wb_config_json(cfg));
	const cJSON *run = NULL;
	cJSON *reply = wb_exchange(w, "W&B logging", m, &run);
	cJSON_Delete(m);
	if (!reply)
		return 1;
	/* wandb_run.json: the reference's keys (id, name, entity, project, group, path, url) and mode */
	char *txt = cJSON_Print(run);
	char *path = fs_path_join(run_dir, "wandb_run.json");
	struct buf b;
	buf_init(&b);
	buf_puts(&b, txt);
	buf_putc(&b, '\n');
	int wr = fs_write_file(path, b.data, b.len);
	buf_free(&b);
	cJSON_free(txt);
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(run, "url");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(run, "id");
	if (wr != 0) {
		log_warn("W&B run logged, but %s could not be written", path);
	} else {
		log_info("W&B run %s%s%s (%s)", cJSON_IsString(id) ? id->valuestring : "?",
		         cJSON_IsString(url) ? ": " : "", cJSON_IsString(url) ? url->valuestring : "", path);
	}
	free(path);
	cJSON_Delete(reply);
	return wr != 0;
}

/* Add `tag` unless the list has it already (the reference deduplicates, keeping the order). */
static void wb_tags_add(char ***tags, size_t *n_tags, const char *tag)
{
	for (size_t i = 0; i < *n_tags; i++)
		if (!strcmp((*tags)[i], tag))
			return;
	*tags = xrealloc(*tags, (*n_tags + 1) * sizeof **tags);
	(*tags)[(*n_tags)++] = xstrdup(tag);
}

void integ_wandb_sweep_point(struct cfg_benchmark *cfg, const char *sweep_dir)
{
	struct cfg_wandb *w = &cfg->wandb;
	if (!w->enabled)
		return;
	if (!w->group)
		w->group = wb_dir_label("sweep", "-", sweep_dir);
	wb_tags_add(&w->tags, &w->n_tags, "sweep");
}

void integ_wandb_capsearch_probe(struct cfg_benchmark *cfg, const char *search_dir, int attempt, const char *knob,
                                 const char *value)
{
	struct cfg_wandb *w = &cfg->wandb;
	if (!w->enabled)
		return;
	if (!w->group)
		w->group = wb_dir_label("capsearch", "-", search_dir);
	if (!w->run_name)
		w->run_name = xasprintf("%02d-%s=%s", attempt, knob, value);
	wb_tags_add(&w->tags, &w->n_tags, "capsearch");
}

int integ_wandb_log_summary(const struct cfg_wandb *w, enum integ_wandb_summary kind, const char *dir)
{
	if (!w->enabled || !dir)
		return 0;
	const char *prefix = kind == INTEG_WANDB_SWEEP ? "sweep" : "capsearch";
	char *group = w->group ? xstrdup(w->group) : wb_dir_label(prefix, "-", dir);
	char *name = wb_dir_label(prefix, "-summary-", dir);
	char **tags = NULL;
	size_t n_tags = 0;
	for (size_t i = 0; i < w->n_tags; i++)
		wb_tags_add(&tags, &n_tags, w->tags[i]);
	wb_tags_add(&tags, &n_tags, prefix);
	wb_tags_add(&tags, &n_tags, "summary");

	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "log_summary");
	cJSON_AddNumberToObject(m, "protocol", BRIDGE_PROTOCOL);
	cJSON_AddStringToObject(m, "kind", prefix);
	cJSON_AddStringToObject(m, "dir", dir);
	wb_add_target(m, w, group, name, tags, n_tags);
	const char *what = kind == INTEG_WANDB_SWEEP ? "W&B sweep summary" : "W&B capacity-search summary";
	const cJSON *run = NULL;
	cJSON *reply = wb_exchange(w, what, m, &run);
	cJSON_Delete(m);
	for (size_t i = 0; i < n_tags; i++)
		free(tags[i]);
	free(tags);
	free(group);
	free(name);
	if (!reply)
		return 1;
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(run, "url");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(run, "id");
	log_info("%s run %s%s%s", what, cJSON_IsString(id) ? id->valuestring : "?", cJSON_IsString(url) ? ": " : "",
	         cJSON_IsString(url) ? url->valuestring : "");
	cJSON_Delete(reply);
	return 0;
}
