/* OpenAI-compatible request bodies and response decoding (see openai.h). */
#include "client/openai.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int oai_spec_init(struct oai_spec *s, const struct cfg_client *cfg, char *err, size_t err_len)
{
	memset(s, 0, sizeof *s);
	s->cfg = cfg;
	const char *txt = cfg->additional_sampling_params ? cfg->additional_sampling_params : "{}";
	s->sampling = cJSON_Parse(txt);
	if (!s->sampling || !cJSON_IsObject(s->sampling)) {
		snprintf(err, err_len, "client.additional_sampling_params is not a JSON object: %s", txt);
		cJSON_Delete(s->sampling);
		s->sampling = NULL;
		return -1;
	}
	return 0;
}

void oai_spec_free(struct oai_spec *s)
{
	cJSON_Delete(s->sampling);
	s->sampling = NULL;
}

bool oai_is_chat(const struct cfg_client *cfg, const struct wl_request *req)
{
	switch (cfg->type) {
	case CFG_CLIENT_COMPLETIONS:
		return false;
	case CFG_CLIENT_ROUTER:
		return !req || req->api_mode != WL_API_COMPLETIONS;
	case CFG_CLIENT_CHAT:
	default:
		return true;
	}
}

static bool oai_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *oai_path(const struct cfg_client *cfg, const struct wl_request *req)
{
	const char *a = cfg->address_append_value;
	if (oai_is_chat(cfg, req))
		return a ? a : "chat/completions";
	/* completions endpoint: an address meant for chat is mapped to the completions route */
	if (!a || oai_ends_with(a, "chat/completions"))
		return "completions";
	if (cfg->type == CFG_CLIENT_ROUTER)
		return "completions";
	return a;
}

/* Replace-or-append so that keys keep the position of their first insertion (Python dict.update). */
static void oai_set(cJSON *obj, const char *key, cJSON *val)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, val);
	else
		cJSON_AddItemToObject(obj, key, val);
}

static bool oai_has(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key) != NULL;
}

static void oai_add_sampling(cJSON *body, const cJSON *sampling, const char *max_param)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, sampling)
	{
		if (!it->string)
			continue;
		const char *key = it->string;
		if (strcmp(key, "until") == 0) {
			if (oai_has(sampling, "stop"))
				continue;
			key = "stop";
		} else if (strcmp(key, "max_gen_toks") == 0) {
			if (!max_param || oai_has(sampling, max_param))
				continue;
			key = max_param;
		}
		oai_set(body, key, cJSON_Duplicate(it, true));
	}
}

static int oai_print(cJSON *body, struct buf *out)
{
	char *txt = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (!txt)
		return -1;
	buf_puts(out, txt);
	cJSON_free(txt);
	return 0;
}

int oai_build_body(const struct oai_spec *s, const struct wl_request *req, bool stream, struct buf *out)
{
	const struct cfg_client *cfg = s->cfg;
	const char *model = cfg->model ? cfg->model : "";
	const char *prompt = req->prompt_text ? req->prompt_text : "";
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "model", model);
	if (oai_is_chat(cfg, req)) {
		cJSON *msgs = cJSON_AddArrayToObject(body, "messages");
		for (size_t i = 0; i < req->n_history; i++) {
			cJSON *m = cJSON_CreateObject();
			cJSON_AddStringToObject(m, "role", req->history[i].role ? req->history[i].role : "user");
			cJSON_AddStringToObject(m, "content",
						req->history[i].content ? req->history[i].content : "");
			cJSON_AddItemToArray(msgs, m);
		}
		cJSON *u = cJSON_CreateObject();
		cJSON_AddStringToObject(u, "role", "user");
		cJSON_AddStringToObject(u, "content", prompt);
		cJSON_AddItemToArray(msgs, u);
		cJSON_AddBoolToObject(body, "stream", stream);
		cJSON_AddBoolToObject(body, "ignore_eos", cfg->ignore_eos);
		oai_add_sampling(body, s->sampling, cfg->max_tokens_param);
		if (req->target_output_tokens > 0) {
			if (cfg->max_tokens_param && *cfg->max_tokens_param &&
			    !oai_has(body, cfg->max_tokens_param))
				cJSON_AddNumberToObject(body, cfg->max_tokens_param,
							(double)req->target_output_tokens);
			if (cfg->min_tokens_param && *cfg->min_tokens_param &&
			    !oai_has(body, cfg->min_tokens_param))
				cJSON_AddNumberToObject(body, cfg->min_tokens_param,
							(double)req->target_output_tokens);
		}
	} else {
		const char *mp = cfg->type == CFG_CLIENT_ROUTER ? cfg->completions_max_tokens_param
								: cfg->max_tokens_param;
		cJSON_AddStringToObject(body, "prompt", prompt);
		cJSON_AddBoolToObject(body, "stream", stream);
		oai_add_sampling(body, s->sampling, mp);
		if (req->target_output_tokens > 0 && mp && *mp && !oai_has(body, "max_tokens") &&
		    !oai_has(body, mp))
			cJSON_AddNumberToObject(body, mp, (double)req->target_output_tokens);
	}
	if (stream && cfg->include_usage && !oai_has(body, "stream_options")) {
		cJSON *so = cJSON_AddObjectToObject(body, "stream_options");
		cJSON_AddTrueToObject(so, "include_usage");
	}
	return oai_print(body, out);
}

/* ---- responses ---- */

static const char *oai_str(const cJSON *obj, const char *key, size_t *len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsString(v) || !v->valuestring)
		return NULL;
	*len = strlen(v->valuestring);
	return v->valuestring;
}

static int64_t oai_int(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0)
		return -1;
	return (int64_t)v->valuedouble;
}

static void oai_fill_error(const cJSON *err, struct oai_event *ev)
{
	ev->is_error = true;
	ev->error_code = 400;
	const char *msg = NULL;
	size_t n = 0;
	if (cJSON_IsString(err)) {
		msg = err->valuestring;
	} else if (cJSON_IsObject(err)) {
		msg = oai_str(err, "message", &n);
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");
		if (cJSON_IsNumber(code) && code->valuedouble == (double)(int)code->valuedouble)
			ev->error_code = (int)code->valuedouble;
		else if (cJSON_IsString(code) && code->valuestring) {
			char *end;
			long c = strtol(code->valuestring, &end, 10);
			if (end != code->valuestring && *end == '\0' && c > 0 && c < 1000)
				ev->error_code = (int)c;
		}
	}
	snprintf(ev->error_msg, sizeof ev->error_msg, "%s", msg && *msg ? msg : "Unknown error");
}

int oai_parse(const char *json, size_t len, struct oai_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->prompt_tokens = ev->completion_tokens = -1;
	cJSON *root = cJSON_ParseWithLength(json, len);
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return OAI_PARSE_INVALID;
	}
	ev->tree = root;
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (err && !cJSON_IsNull(err)) {
		oai_fill_error(err, ev);
		return OAI_PARSE_OK;
	}
	/* vLLM-style top-level error object: {"object":"error","message":...,"code":...} */
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "object");
	if (cJSON_IsString(obj) && obj->valuestring && strcmp(obj->valuestring, "error") == 0) {
		oai_fill_error(root, ev);
		return OAI_PARSE_OK;
	}
	const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
	const cJSON *c0 = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
	if (cJSON_IsObject(c0)) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(c0, "delta");
		if (!cJSON_IsObject(d))
			d = cJSON_GetObjectItemCaseSensitive(c0, "message");
		if (cJSON_IsObject(d)) {
			ev->content = oai_str(d, "content", &ev->content_len);
			ev->reasoning = oai_str(d, "reasoning_content", &ev->reasoning_len);
			if (!ev->reasoning)
				ev->reasoning = oai_str(d, "reasoning", &ev->reasoning_len);
		}
		if (!ev->content)
			ev->content = oai_str(c0, "text", &ev->content_len);
		size_t fl;
		ev->finish_reason = oai_str(c0, "finish_reason", &fl);
	}
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(root, "usage");
	if (cJSON_IsObject(usage)) {
		ev->prompt_tokens = oai_int(usage, "prompt_tokens");
		ev->completion_tokens = oai_int(usage, "completion_tokens");
		ev->has_usage = ev->completion_tokens >= 0 || ev->prompt_tokens >= 0;
	}
	return OAI_PARSE_OK;
}

void oai_event_clear(struct oai_event *ev)
{
	cJSON_Delete(ev->tree);
	ev->tree = NULL;
}

void oai_error_message(const char *body, size_t len, char *msg, size_t msg_len)
{
	if (msg_len == 0)
		return;
	msg[0] = '\0';
	struct oai_event ev;
	if (body && len && oai_parse(body, len, &ev) == OAI_PARSE_OK) {
		bool got = false;
		if (ev.is_error && strcmp(ev.error_msg, "Unknown error") != 0) {
			snprintf(msg, msg_len, "%s", ev.error_msg);
			got = true;
		} else {
			size_t n;
			const char *m = oai_str(ev.tree, "message", &n);
			if (!m)
				m = oai_str(ev.tree, "detail", &n);
			if (m) {
				snprintf(msg, msg_len, "%s", m);
				got = true;
			}
		}
		oai_event_clear(&ev);
		if (got)
			return;
	}
	/* plain text: first line-ish, control characters flattened */
	size_t k = 0;
	for (size_t i = 0; body && i < len && k + 1 < msg_len; i++) {
		char ch = body[i];
		msg[k++] = (ch == '\n' || ch == '\r' || ch == '\t') ? ' ' : ch;
	}
	msg[k] = '\0';
}
