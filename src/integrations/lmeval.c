/* lm-evaluation-harness under load: documents in, responses out, scores back
 * (docs/INTEGRATIONS.md). */
#include "integrations/lmeval.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/xalloc.h"
#include "integrations/bridge.h"
#include "integrations/wandb.h"
#include "workload/request.h"

#define LM_SCRIPT "lmeval_bridge.py"
/* Loading tasks may download data sets on first use; scoring with bootstrap resampling of
 * 100,000 iterations takes a while too. Generous, but an unresponsive bridge still ends. */
#define LM_LOAD_TIMEOUT_S 3600.0
#define LM_SCORE_TIMEOUT_S 3600.0

struct lm_req {
	uint32_t doc, index; /* document and request within it (the bridge's numbering) */
	char *prompt;
	char *sampling; /* JSON object text */
	enum wl_api_mode api_mode;
	int64_t target_output_tokens;
	int64_t target_prompt_tokens;
	int64_t context_tokens; /* loglikelihood: tokens of the context part of the prompt, else -1 */
	/* the response */
	bool done, ok;
	char *text;
	char *body; /* non-streamed response body (loglikelihood) */
	char *error;
};

struct lm_doc {
	size_t first_req, n_reqs;
};

struct lm_state {
	pthread_mutex_t mu;
	int refs;
	struct bridge *br;
	struct lm_req *reqs;
	size_t n_reqs;
	struct lm_doc *docs;
	size_t n_docs;
	char *lm_eval_version;
	uint64_t recorded;
};

static struct lm_state lm = {.mu = PTHREAD_MUTEX_INITIALIZER};
/* lm.refs > 0, read without the lock: every finished request of every run asks */
static atomic_bool lm_active;

static void lm_reset(void)
{
	bridge_close(lm.br);
	lm.br = NULL;
	for (size_t i = 0; i < lm.n_reqs; i++) {
		free(lm.reqs[i].prompt);
		free(lm.reqs[i].sampling);
		free(lm.reqs[i].text);
		free(lm.reqs[i].body);
		free(lm.reqs[i].error);
	}
	free(lm.reqs);
	free(lm.docs);
	free(lm.lm_eval_version);
	lm.reqs = NULL;
	lm.docs = NULL;
	lm.lm_eval_version = NULL;
	lm.n_reqs = lm.n_docs = 0;
	lm.recorded = 0;
}

static const char *lm_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* One {"type": "doc"} message into documents and requests. */
static int lm_add_doc(const cJSON *m, const struct tok *tok, char *err, size_t err_len)
{
	const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(m, "requests");
	if (!cJSON_IsArray(reqs) || cJSON_GetArraySize(reqs) == 0) {
		snprintf(err, err_len, "lmeval bridge: document %zu has no requests", lm.n_docs);
		return -1;
	}
	lm.docs = xrealloc(lm.docs, (lm.n_docs + 1) * sizeof *lm.docs);
	struct lm_doc *d = &lm.docs[lm.n_docs];
	d->first_req = lm.n_reqs;
	d->n_reqs = 0;
	const cJSON *r;
	cJSON_ArrayForEach(r, reqs)
	{
		const char *kind = lm_str(r, "kind");
		const char *prompt = lm_str(r, "prompt");
		const char *mode = lm_str(r, "api_mode");
		const cJSON *sp = cJSON_GetObjectItemCaseSensitive(r, "sampling_params");
		if (!kind || !prompt || !mode || !cJSON_IsObject(sp)) {
			snprintf(err, err_len,
			         "lmeval bridge: request %zu of document %zu lacks kind, prompt, api_mode or "
			         "sampling_params",
			         d->n_reqs, lm.n_docs);
			return -1;
		}
		lm.reqs = xrealloc(lm.reqs, (lm.n_reqs + 1) * sizeof *lm.reqs);
		struct lm_req *q = &lm.reqs[lm.n_reqs];
		memset(q, 0, sizeof *q);
		q->doc = (uint32_t)lm.n_docs;
		q->index = (uint32_t)d->n_reqs;
		q->prompt = xstrdup(prompt);
		char *spt = cJSON_PrintUnformatted(sp);
		q->sampling = xstrdup(spt);
		cJSON_free(spt);
		q->api_mode = !strcmp(mode, "completions") ? WL_API_COMPLETIONS : WL_API_CHAT;
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(r, "target_output_tokens");
		/* (a bridge's number is not trusted: out-of-range values are no target) */
		q->target_output_tokens =
		    cJSON_IsNumber(t) && t->valuedouble >= 1 && t->valuedouble <= 1e9 ? (int64_t)t->valuedouble : 0;
		q->target_prompt_tokens = (int64_t)tok_count(tok, prompt, strlen(prompt));
		q->context_tokens = -1;
		const cJSON *cb = cJSON_GetObjectItemCaseSensitive(r, "context_bytes");
		if (cJSON_IsNumber(cb) && cb->valuedouble >= 0 && cb->valuedouble <= (double)strlen(prompt))
			q->context_tokens = (int64_t)tok_count(tok, prompt, (size_t)cb->valuedouble);
		lm.n_reqs++;
		d->n_reqs++;
	}
	lm.n_docs++;
	return 0;
}

/* One message of the loading phase: 0 = more to come, 1 = docs_end (all read), -1 = error. */
static int lm_load_msg(const cJSON *m, const struct tok *tok, char *err, size_t err_len)
{
	const char *type = lm_str(m, "type");
	if (type && !strcmp(type, "doc"))
		return lm_add_doc(m, tok, err, err_len);
	if (type && !strcmp(type, "docs_end")) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(m, "count");
		if (!cJSON_IsNumber(n) || n->valuedouble != (double)lm.n_docs) {
			snprintf(err, err_len,
			         "lmeval bridge: docs_end announced another count than the %zu documents sent",
			         lm.n_docs);
			return -1;
		}
		return 1;
	}
	snprintf(err, err_len, "lmeval bridge: unexpected message type %s while loading documents",
	         type ? type : "(none)");
	return -1;
}

static int lm_load(const struct cfg_benchmark *cfg, const struct tok *tok, char *err, size_t err_len)
{
	const struct cfg_session_gen *sc = &cfg->session_generator;
	cJSON *hello = NULL;
	lm.br = bridge_start("lmeval", sc->env_path, LM_SCRIPT, &hello, err, err_len);
	if (!lm.br)
		return -1;
	const char *v = lm_str(hello, "lm_eval_version");
	lm.lm_eval_version = xstrdup(v ? v : "unknown");
	cJSON_Delete(hello);

	cJSON *load = cJSON_CreateObject();
	cJSON_AddStringToObject(load, "type", "load");
	cJSON_AddNumberToObject(load, "protocol", BRIDGE_PROTOCOL);
	cJSON *tasks = cJSON_AddArrayToObject(load, "tasks");
	for (size_t i = 0; i < sc->n_tasks; i++)
		cJSON_AddItemToArray(tasks, cJSON_CreateString(sc->tasks[i]));
	cJSON_AddNumberToObject(load, "num_fewshot", (double)sc->num_fewshot);
	cJSON_AddNumberToObject(load, "max_sessions", (double)cfg->runtime.max_sessions);
	cJSON_AddNumberToObject(load, "seed", (double)cfg->seed);
	int rc = bridge_send(lm.br, load, err, err_len);
	cJSON_Delete(load);
	if (rc != 0)
		return -1;
	for (;;) {
		cJSON *m = bridge_recv(lm.br, LM_LOAD_TIMEOUT_S, err, err_len);
		if (!m)
			return -1;
		rc = lm_load_msg(m, tok, err, err_len);
		cJSON_Delete(m);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
}

int integ_lmeval_feed(const char *data, size_t len, const struct tok *tok, char *err, size_t err_len)
{
	pthread_mutex_lock(&lm.mu);
	if (lm.refs > 0) {
		pthread_mutex_unlock(&lm.mu);
		snprintf(err, err_len, "an lm-eval run is active");
		return -1;
	}
	int rc = -1;
	snprintf(err, err_len, "no docs_end message");
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		cJSON *m = cJSON_ParseWithLength(p, n);
		p += n + (nl ? 1 : 0);
		if (!cJSON_IsObject(m)) {
			cJSON_Delete(m);
			snprintf(err, err_len, "a line that is not a JSON object");
			break;
		}
		int r = lm_load_msg(m, tok, err, err_len);
		cJSON_Delete(m);
		if (r != 0) {
			rc = r < 0 ? -1 : 0;
			break;
		}
	}
	if (rc == 0) {
		/* the sessions the run would launch */
		lm.refs = 1;
		pthread_mutex_unlock(&lm.mu);
		struct wl_session *s;
		size_t cursor = 0;
		while (integ_lmeval_next(&cursor, &s) == 0)
			wl_session_free(s);
		pthread_mutex_lock(&lm.mu);
		lm.refs = 0;
	}
	lm_reset();
	pthread_mutex_unlock(&lm.mu);
	return rc;
}

int integ_lmeval_acquire(const struct cfg_benchmark *cfg, const struct tok *tok, char *err, size_t err_len)
{
	pthread_mutex_lock(&lm.mu);
	int rc = 0;
	if (lm.refs == 0) {
		rc = lm_load(cfg, tok, err, err_len);
		if (rc != 0)
			lm_reset();
		else
			log_info("lmeval: %zu documents (%zu requests) from %zu task%s, lm_eval %s in %s", lm.n_docs,
			         lm.n_reqs, cfg->session_generator.n_tasks,
			         cfg->session_generator.n_tasks == 1 ? "" : "s", lm.lm_eval_version,
			         cfg->session_generator.env_path);
	}
	if (rc == 0) {
		lm.refs++;
		atomic_store(&lm_active, true);
	}
	pthread_mutex_unlock(&lm.mu);
	return rc;
}

void integ_lmeval_release(void)
{
	pthread_mutex_lock(&lm.mu);
	if (lm.refs > 0 && --lm.refs == 0) {
		atomic_store(&lm_active, false);
		lm_reset();
	}
	pthread_mutex_unlock(&lm.mu);
}

static void lm_body_sink(const struct wl_request *req, const char *body, size_t len)
{
	pthread_mutex_lock(&lm.mu);
	if (req->id < lm.n_reqs && lm.reqs) {
		struct lm_req *q = &lm.reqs[req->id];
		free(q->body);
		q->body = xstrndup(body, len);
	}
	pthread_mutex_unlock(&lm.mu);
}

int integ_lmeval_next(size_t *cursor, struct wl_session **out)
{
	*out = NULL;
	pthread_mutex_lock(&lm.mu);
	if (*cursor >= lm.n_docs) {
		pthread_mutex_unlock(&lm.mu);
		return 1;
	}
	size_t k = (*cursor)++;
	const struct lm_doc *d = &lm.docs[k];
	struct wl_session *s = xcalloc(1, sizeof *s);
	s->id = k;
	s->n_nodes = d->n_reqs;
	s->requests = xcalloc(d->n_reqs, sizeof *s->requests);
	for (size_t i = 0; i < d->n_reqs; i++) {
		const struct lm_req *q = &lm.reqs[d->first_req + i];
		struct wl_request *r = &s->requests[i];
		/* request ids are the global request index: the response finds its request directly */
		r->id = d->first_req + i;
		r->session_id = k;
		r->node_id = (uint32_t)i;
		r->prompt_text = xstrdup(q->prompt);
		r->target_prompt_tokens = q->target_prompt_tokens;
		r->target_output_tokens = q->target_output_tokens;
		r->history_parent = -1;
		r->api_mode = q->api_mode;
		r->arrival_offset_s = -1.0;
		r->sampling_json = xstrdup(q->sampling);
		if (q->api_mode == WL_API_COMPLETIONS)
			r->body_sink = lm_body_sink;
	}
	pthread_mutex_unlock(&lm.mu);
	*out = s;
	return 0;
}

void integ_lmeval_record(uint64_t request_id, bool success, const char *text, size_t text_len, const char *err_msg)
{
	if (!atomic_load_explicit(&lm_active, memory_order_relaxed))
		return; /* no lm-eval run: nothing to keep */
	pthread_mutex_lock(&lm.mu);
	if (lm.refs > 0 && request_id < lm.n_reqs) {
		struct lm_req *q = &lm.reqs[request_id];
		q->done = true;
		q->ok = success;
		free(q->text);
		q->text = success ? xstrndup(text ? text : "", text ? text_len : 0) : NULL;
		free(q->error);
		q->error = success ? NULL : xstrdup(err_msg && *err_msg ? err_msg : "failed");
		lm.recorded++;
	}
	pthread_mutex_unlock(&lm.mu);
}

static int64_t lm_bootstrap_iters(const struct cfg_benchmark *cfg, bool *wanted)
{
	*wanted = false;
	for (size_t i = 0; i < cfg->n_evaluators; i++)
		if (cfg->evaluators[i].type == CFG_EVAL_ACCURACY_LMEVAL) {
			*wanted = true;
			return cfg->evaluators[i].bootstrap_iters;
		}
	return 0;
}

/* Send every response, then the score request; the results object back. */
static cJSON *lm_score(int64_t bootstrap_iters, size_t *answered, char *err, size_t err_len)
{
	*answered = 0;
	for (size_t i = 0; i < lm.n_reqs; i++) {
		const struct lm_req *q = &lm.reqs[i];
		if (!q->done)
			continue; /* never sent or never finished: the bridge leaves its document out */
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "type", "response");
		cJSON_AddNumberToObject(m, "doc", q->doc);
		cJSON_AddNumberToObject(m, "req", q->index);
		cJSON_AddBoolToObject(m, "ok", q->ok);
		if (q->ok) {
			cJSON_AddStringToObject(m, "text", q->text ? q->text : "");
			cJSON *body = q->body ? cJSON_Parse(q->body) : NULL;
			if (body)
				cJSON_AddItemToObject(m, "body", body);
			else
				cJSON_AddNullToObject(m, "body");
			if (q->context_tokens >= 0)
				cJSON_AddNumberToObject(m, "context_tokens", (double)q->context_tokens);
		} else {
			cJSON_AddStringToObject(m, "error", q->error ? q->error : "failed");
		}
		int rc = bridge_send(lm.br, m, err, err_len);
		cJSON_Delete(m);
		if (rc != 0)
			return NULL;
		(*answered)++;
	}
	cJSON *sc = cJSON_CreateObject();
	cJSON_AddStringToObject(sc, "type", "score");
	cJSON_AddNumberToObject(sc, "bootstrap_iters", (double)bootstrap_iters);
	int rc = bridge_send(lm.br, sc, err, err_len);
	cJSON_Delete(sc);
	if (rc != 0)
		return NULL;
	cJSON *m = bridge_recv(lm.br, LM_SCORE_TIMEOUT_S, err, err_len);
	if (!m)
		return NULL;
	const char *type = lm_str(m, "type");
	if (!type || strcmp(type, "results") != 0 || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(m, "results")) ||
	    !lm_str(m, "text")) {
		snprintf(err, err_len, "lmeval bridge: expected a results message, got %s", type ? type : "(no type)");
		cJSON_Delete(m);
		return NULL;
	}
	cJSON *bye = cJSON_CreateObject();
	cJSON_AddStringToObject(bye, "type", "bye");
	char ignored[64];
	bridge_send(lm.br, bye, ignored, sizeof ignored);
	cJSON_Delete(bye);
	return m;
}

/* One line per task on the log: its metrics as the tasks report them. */
static void lm_log_results(const cJSON *results)
{
	const cJSON *task;
	cJSON_ArrayForEach(task, cJSON_GetObjectItemCaseSensitive(results, "results"))
	{
		struct buf b;
		buf_init(&b);
		const cJSON *v;
		cJSON_ArrayForEach(v, task)
		{
			if (cJSON_IsNumber(v) && v->string && !strstr(v->string, "_stderr"))
				buf_printf(&b, " %s=%.4g", v->string, v->valuedouble);
		}
		log_info("lmeval: %s:%s", task->string ? task->string : "?", b.len ? b.data : " (no metric)");
		buf_free(&b);
	}
}

int integ_lmeval_finish(const struct cfg_benchmark *cfg, const char *run_dir)
{
	if (cfg->session_generator.type != CFG_SESSION_GEN_LMEVAL)
		return 0;
	bool wanted;
	int64_t iters = lm_bootstrap_iters(cfg, &wanted);
	if (!wanted)
		return 0; /* lm-eval documents as a workload, without the accuracy evaluator: nothing to score */
	pthread_mutex_lock(&lm.mu);
	if (!lm.br) {
		pthread_mutex_unlock(&lm.mu);
		return 0;
	}
	char err[1024] = "";
	size_t answered = 0;
	cJSON *m = lm_score(iters, &answered, err, sizeof err);
	int rc = 0;
	if (!m) {
		log_error("lmeval: scoring failed, metrics/lmeval_results.json not written (the timing files are "
		          "complete): %s",
		          err);
		rc = 1;
	} else {
		const char *text = lm_str(m, "text");
		char *path = xasprintf("%s/metrics/lmeval_results.json", run_dir);
		struct buf b;
		buf_init(&b);
		buf_puts(&b, text);
		buf_putc(&b, '\n');
		if (fs_write_file_or_log(path, b.data, b.len) != 0)
			rc = 1;
		else
			log_info("lmeval: %zu of %zu requests answered; results in %s", answered, lm.n_reqs, path);
		lm_log_results(cJSON_GetObjectItemCaseSensitive(m, "results"));
		buf_free(&b);
		free(path);
		cJSON_Delete(m);
	}
	/* the bridge has done its work (or failed): it is not asked anything again in this run */
	bridge_close(lm.br);
	lm.br = NULL;
	pthread_mutex_unlock(&lm.mu);
	return rc;
}

int integ_run_end(const struct cfg_benchmark *cfg, const char *run_dir)
{
	int rc = integ_lmeval_finish(cfg, run_dir);
	integ_wandb_log(cfg, run_dir);
	return rc;
}

const struct wl_lmeval_source integ_lmeval_source = {
    .acquire = integ_lmeval_acquire,
    .next = integ_lmeval_next,
    .release = integ_lmeval_release,
};
