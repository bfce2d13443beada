/* OpenAI request bodies for the simulated server: parse + validate with cJSON, no side effects. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/jsonw.h"
#include "sim/sim.h"

const char *sim_http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

static const char *sim_api_error_type(int status)
{
	switch (status) {
	case 400:
		return "BadRequestError";
	case 401:
		return "AuthenticationError";
	case 404:
		return "NotFoundError";
	case 405:
		return "MethodNotAllowedError";
	case 503:
		return "ServiceUnavailableError";
	default:
		return status >= 500 ? "InternalServerError" : "BadRequestError";
	}
}

void sim_api_error_json(struct buf *b, int status, const char *message)
{
	struct jsonw w;
	jsonw_init(&w, b, 0);
	jsonw_obj_begin(&w);
	jsonw_key(&w, "error");
	jsonw_obj_begin(&w);
	jsonw_key(&w, "message");
	jsonw_str(&w, message);
	jsonw_key(&w, "type");
	jsonw_str(&w, sim_api_error_type(status));
	jsonw_key(&w, "param");
	jsonw_null(&w);
	jsonw_key(&w, "code");
	jsonw_int(&w, status);
	jsonw_obj_end(&w);
	jsonw_obj_end(&w);
}

#define SIM_API_FAIL(...)                                                                                              \
	do {                                                                                                           \
		snprintf(err, err_len, __VA_ARGS__);                                                                   \
		rc = 400;                                                                                              \
		goto out;                                                                                              \
	} while (0)

/* integer-valued JSON number within [lo, hi] */
static bool sim_api_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out)
{
	if (!cJSON_IsNumber(v))
		return false;
	double d = v->valuedouble;
	if (!isfinite(d) || d != floor(d) || d < (double)lo || d > (double)hi)
		return false;
	*out = (int64_t)d;
	return true;
}

static int64_t sim_api_count_content(const cJSON *content, bool *ok)
{
	if (cJSON_IsNull(content) || !content)
		return 0;
	if (cJSON_IsString(content))
		return sim_tok_count(content->valuestring, strlen(content->valuestring));
	if (!cJSON_IsArray(content)) {
		*ok = false;
		return 0;
	}
	int64_t n = 0;
	const cJSON *blk;
	cJSON_ArrayForEach(blk, content)
	{
		if (!cJSON_IsObject(blk)) {
			*ok = false;
			return 0;
		}
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(blk, "type");
		if (!cJSON_IsString(type)) {
			*ok = false;
			return 0;
		}
		if (strcmp(type->valuestring, "text") != 0)
			continue; /* images/audio are accepted and not counted */
		const cJSON *text = cJSON_GetObjectItemCaseSensitive(blk, "text");
		if (!cJSON_IsString(text)) {
			*ok = false;
			return 0;
		}
		n += sim_tok_count(text->valuestring, strlen(text->valuestring));
	}
	return n;
}

int sim_api_parse(enum sim_api_kind kind, const char *body, size_t len, struct sim_api_req *r, char *err,
                  size_t err_len)
{
	memset(r, 0, sizeof *r);
	r->kind = kind;
	int rc = 0;
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (!root)
		SIM_API_FAIL("Invalid JSON in request body");
	if (!cJSON_IsObject(root))
		SIM_API_FAIL("Request body must be a JSON object");

	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "model");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v))
			SIM_API_FAIL("'model' must be a string");
		snprintf(r->model, sizeof r->model, "%s", v->valuestring);
		if (strlen(v->valuestring) >= sizeof r->model)
			SIM_API_FAIL("'model' is too long");
	}

	if (kind == SIM_API_CHAT) {
		const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
		if (!msgs)
			SIM_API_FAIL("'messages' is required");
		if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0)
			SIM_API_FAIL("'messages' must be a non-empty array");
		const cJSON *m;
		cJSON_ArrayForEach(m, msgs)
		{
			if (!cJSON_IsObject(m))
				SIM_API_FAIL("each message must be an object");
			const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
			if (!cJSON_IsString(role))
				SIM_API_FAIL("each message needs a string 'role'");
			bool ok = true;
			r->prompt_tokens += sim_api_count_content(cJSON_GetObjectItemCaseSensitive(m, "content"), &ok);
			if (!ok)
				SIM_API_FAIL("message 'content' must be a string, null or a list of content parts");
		}
	} else {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "prompt");
		if (!p)
			SIM_API_FAIL("'prompt' is required");
		if (cJSON_IsString(p)) {
			r->prompt_tokens = sim_tok_count(p->valuestring, strlen(p->valuestring));
		} else if (cJSON_IsArray(p) && cJSON_GetArraySize(p) > 0) {
			const cJSON *first = cJSON_GetArrayItem(p, 0);
			if (cJSON_IsString(first) || cJSON_IsArray(first)) {
				if (cJSON_GetArraySize(p) != 1)
					SIM_API_FAIL("only one prompt per request is supported (batch prompts: send "
					             "separate requests)");
				p = first;
			}
			if (cJSON_IsString(p)) {
				r->prompt_tokens = sim_tok_count(p->valuestring, strlen(p->valuestring));
			} else {
				const cJSON *t;
				cJSON_ArrayForEach(t, p)
				{
					int64_t id;
					if (!sim_api_int(t, 0, INT32_MAX, &id))
						SIM_API_FAIL("'prompt' token ids must be non-negative integers");
					r->prompt_tokens++;
				}
			}
		} else {
			SIM_API_FAIL("'prompt' must be a string, a list of token ids or a one-element list");
		}
	}

	v = cJSON_GetObjectItemCaseSensitive(root, "stream");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsBool(v))
			SIM_API_FAIL("'stream' must be a boolean");
		r->stream = cJSON_IsTrue(v);
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsObject(v))
			SIM_API_FAIL("'stream_options' must be an object");
		if (!r->stream)
			SIM_API_FAIL("Stream options can only be defined when `stream=True`.");
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(v, "include_usage");
		if (u && !cJSON_IsNull(u)) {
			if (!cJSON_IsBool(u))
				SIM_API_FAIL("'stream_options.include_usage' must be a boolean");
			r->include_usage = cJSON_IsTrue(u);
		}
		u = cJSON_GetObjectItemCaseSensitive(v, "continuous_usage_stats");
		if (u && !cJSON_IsNull(u)) {
			if (!cJSON_IsBool(u))
				SIM_API_FAIL("'stream_options.continuous_usage_stats' must be a boolean");
			r->continuous_usage = cJSON_IsTrue(u);
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "ignore_eos");
	if (v && !cJSON_IsNull(v)) {
		if (!cJSON_IsBool(v))
			SIM_API_FAIL("'ignore_eos' must be a boolean");
		r->ignore_eos = cJSON_IsTrue(v);
	}
	/* max_completion_tokens wins over the deprecated max_tokens for chat, as in the OpenAI API */
	const char *mt_keys[2] = {"max_completion_tokens", "max_tokens"};
	for (int k = 0; k < 2; k++) {
		v = cJSON_GetObjectItemCaseSensitive(root, mt_keys[k]);
		if (!v || cJSON_IsNull(v))
			continue;
		int64_t x;
		if (!sim_api_int(v, INT64_MIN / 2, INT64_MAX / 2, &x))
			SIM_API_FAIL("'%s' must be an integer", mt_keys[k]);
		if (x < 1)
			SIM_API_FAIL("'%s' must be at least 1, got %lld", mt_keys[k], (long long)x);
		if (!r->has_max_tokens) {
			r->has_max_tokens = true;
			r->max_tokens = x;
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "min_tokens");
	if (v && !cJSON_IsNull(v)) {
		if (!sim_api_int(v, 0, INT64_MAX / 2, &r->min_tokens))
			SIM_API_FAIL("'min_tokens' must be a non-negative integer");
		if (r->has_max_tokens && r->min_tokens > r->max_tokens)
			SIM_API_FAIL("min_tokens must be less than or equal to max_tokens=%lld, got %lld",
			             (long long)r->max_tokens, (long long)r->min_tokens);
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "n");
	if (v && !cJSON_IsNull(v)) {
		int64_t n;
		if (!sim_api_int(v, INT64_MIN / 2, INT64_MAX / 2, &n))
			SIM_API_FAIL("'n' must be an integer");
		if (n != 1)
			SIM_API_FAIL("only n=1 is supported by the simulated server");
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "stop");
	if (v && !cJSON_IsNull(v)) {
		if (cJSON_IsString(v)) {
			if (v->valuestring[0]) {
				snprintf(r->stop[0], sizeof r->stop[0], "%s", v->valuestring);
				r->n_stop = 1;
			}
		} else if (cJSON_IsArray(v)) {
			const cJSON *s;
			cJSON_ArrayForEach(s, v)
			{
				if (!cJSON_IsString(s))
					SIM_API_FAIL("'stop' must be a string or a list of strings");
				if (!s->valuestring[0])
					continue;
				if (r->n_stop == SIM_API_MAX_STOP)
					SIM_API_FAIL("at most %d stop strings are supported", SIM_API_MAX_STOP);
				snprintf(r->stop[r->n_stop++], sizeof r->stop[0], "%s", s->valuestring);
			}
		} else {
			SIM_API_FAIL("'stop' must be a string or a list of strings");
		}
	}
	const char *num_keys[] = {"temperature", "top_p", "presence_penalty", "frequency_penalty"};
	for (size_t k = 0; k < sizeof num_keys / sizeof num_keys[0]; k++) {
		v = cJSON_GetObjectItemCaseSensitive(root, num_keys[k]);
		if (v && !cJSON_IsNull(v) && !cJSON_IsNumber(v))
			SIM_API_FAIL("'%s' must be a number", num_keys[k]);
	}
out:
	cJSON_Delete(root);
	return rc;
}
