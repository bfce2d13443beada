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

int integ_wandb_log(const struct cfg_benchmark *cfg, const char *run_dir)
{
	const struct cfg_wandb *w = &cfg->wandb;
	if (!w->enabled || !run_dir)
		return 0;
	char err[1024] = "";
	struct bridge *br = bridge_start("wandb", w->env_path, WB_SCRIPT, NULL, err, sizeof err);
	if (!br) {
		log_warn("W&B logging skipped (the benchmark's files are complete): %s", err);
		return 1;
	}
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "log");
	cJSON_AddNumberToObject(m, "protocol", BRIDGE_PROTOCOL);
	cJSON_AddStringToObject(m, "run_dir", run_dir);
	wb_add_str(m, "project", w->project);
	wb_add_str(m, "entity", w->entity);
	wb_add_str(m, "group", w->group);
	wb_add_str(m, "run_name", w->run_name);
	wb_add_str(m, "notes", w->notes);
	wb_add_str(m, "mode", w->mode);
	cJSON *tags = cJSON_AddArrayToObject(m, "tags");
	for (size_t i = 0; i < w->n_tags; i++)
		cJSON_AddItemToArray(tags, cJSON_CreateString(w->tags[i]));
	cJSON_AddBoolToObject(m, "log_artifacts", w->log_artifacts);
	cJSON_AddItemToObject(m, "config", wb_config_json(cfg));
	int rc = bridge_send(br, m, err, sizeof err);
	cJSON_Delete(m);
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
		log_warn("W&B logging failed (the benchmark's files are complete): %s", err);
		return 1;
	}
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

void integ_wandb_sweep_point(struct cfg_benchmark *cfg, const char *sweep_dir)
{
	struct cfg_wandb *w = &cfg->wandb;
	if (!w->enabled)
		return;
	if (!w->group) {
		const char *slash = strrchr(sweep_dir, '/');
		const char *base = slash && slash[1] ? slash + 1 : sweep_dir;
		w->group = xasprintf("sweep-%s", base);
	}
	for (size_t i = 0; i < w->n_tags; i++)
		if (!strcmp(w->tags[i], "sweep"))
			return;
	w->tags = xrealloc(w->tags, (w->n_tags + 1) * sizeof *w->tags);
	w->tags[w->n_tags++] = xstrdup("sweep");
}
