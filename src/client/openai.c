/* OpenAI-compatible request bodies and response decoding (see openai.h). */
#include "client/openai.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/num.h"
#include "core/xalloc.h"

/* The output length an object (sampling params, a request body) asks for: the first of the
 * configured max-tokens params, max_tokens, max_completion_tokens and max_gen_toks that holds a
 * number of at least 1; 0 = none. */
static int64_t oai_max_tokens_of(const cJSON *obj, const struct cfg_client *cfg)
{
	const char *keys[] = {cfg->max_tokens_param, cfg->completions_max_tokens_param, "max_tokens",
	                      "max_completion_tokens", "max_gen_toks"};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		const cJSON *v = keys[i] && *keys[i] ? cJSON_GetObjectItemCaseSensitive(obj, keys[i]) : NULL;
		if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 1e15)
			return (int64_t)v->valuedouble;
	}
	return 0;
}

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
	s->sampling_max_tokens = oai_max_tokens_of(s->sampling, cfg);
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

/* The request's own sampling params (lm-eval generation kwargs), after the configured ones: the
 * request's win key by key (docs/INTEGRATIONS.md). */
static void oai_add_request_sampling(cJSON *body, const struct wl_request *req, const char *max_param)
{
	if (!req->sampling_json)
		return;
	cJSON *rs = cJSON_Parse(req->sampling_json);
	if (cJSON_IsObject(rs))
		oai_add_sampling(body, rs, max_param);
	cJSON_Delete(rs);
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

int oai_build_body(const struct oai_spec *s, const struct wl_request *req, bool stream, struct buf *out,
                   int64_t *max_tokens)
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
			cJSON_AddStringToObject(m, "content", req->history[i].content ? req->history[i].content : "");
			cJSON_AddItemToArray(msgs, m);
		}
		cJSON *u = cJSON_CreateObject();
		cJSON_AddStringToObject(u, "role", "user");
		cJSON_AddStringToObject(u, "content", prompt);
		cJSON_AddItemToArray(msgs, u);
		cJSON_AddBoolToObject(body, "stream", stream);
		cJSON_AddBoolToObject(body, "ignore_eos", cfg->ignore_eos);
		oai_add_sampling(body, s->sampling, cfg->max_tokens_param);
		oai_add_request_sampling(body, req, cfg->max_tokens_param);
		if (req->target_output_tokens > 0) {
			if (cfg->max_tokens_param && *cfg->max_tokens_param && !oai_has(body, cfg->max_tokens_param))
				cJSON_AddNumberToObject(body, cfg->max_tokens_param, (double)req->target_output_tokens);
			if (cfg->min_tokens_param && *cfg->min_tokens_param && !oai_has(body, cfg->min_tokens_param))
				cJSON_AddNumberToObject(body, cfg->min_tokens_param, (double)req->target_output_tokens);
		}
	} else {
		const char *mp =
		    cfg->type == CFG_CLIENT_ROUTER ? cfg->completions_max_tokens_param : cfg->max_tokens_param;
		cJSON_AddStringToObject(body, "prompt", prompt);
		cJSON_AddBoolToObject(body, "stream", stream);
		oai_add_sampling(body, s->sampling, mp);
		oai_add_request_sampling(body, req, mp);
		if (req->target_output_tokens > 0 && mp && *mp && !oai_has(body, "max_tokens") && !oai_has(body, mp))
			cJSON_AddNumberToObject(body, mp, (double)req->target_output_tokens);
	}
	/* a request's own params may turn streaming off (lm-eval loglikelihood, docs/INTEGRATIONS.md) */
	if (stream && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "stream")))
		stream = false;
	if (stream && cfg->include_usage && !oai_has(body, "stream_options")) {
		cJSON *so = cJSON_AddObjectToObject(body, "stream_options");
		cJSON_AddTrueToObject(so, "include_usage");
	}
	if (max_tokens)
		*max_tokens = oai_max_tokens_of(body, cfg);
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
	return num_f64_to_i64(v->valuedouble);
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
		/* (valueint is cJSON's saturated copy: a code beyond an int is not an integer code here) */
		if (cJSON_IsNumber(code) && code->valuedouble == (double)code->valueint)
			ev->error_code = code->valueint;
		else if (cJSON_IsString(code) && code->valuestring) {
			char *end;
			long c = strtol(code->valuestring, &end, 10);
			if (end != code->valuestring && *end == '\0' && c > 0 && c < 1000)
				ev->error_code = (int)c;
		}
	}
	snprintf(ev->error_msg, sizeof ev->error_msg, "%s", msg && *msg ? msg : "Unknown error");
}

/* ---- fast path: the common streaming chunk without cJSON ----
 * A strict, allocation-free scanner for plain documents: it either extracts exactly what the cJSON
 * path would, or declines (OAI_FAST_NO) and the cJSON path decides. It declines on anything it
 * does not fully handle: escapes in strings or keys, control bytes, error objects, usage values
 * other than small non-negative integers, nesting deeper than 32, trailing bytes. */
enum { OAI_FAST_OK = 0, OAI_FAST_NO = 1 };

struct oai_scan {
	const char *p, *end;
};

struct oai_strv {
	bool seen;     /* the key appeared (the first occurrence counts, as in cJSON) */
	bool esc;      /* its raw bytes hold escapes (oai_scan_str_esc) */
	const char *s; /* NULL when that first value is not a string */
	size_t n;
};

/* one element of tool_calls: its function's name and arguments */
struct oai_toolv {
	bool fn_seen;
	struct oai_strv name, args;
};

struct oai_msgv {
	bool seen, is_obj;
	struct oai_strv content, reasoning_content, reasoning;
	bool tools_seen;
	struct oai_toolv tool0; /* tool_calls[0] (a later element with a name or arguments: the cJSON path) */
};

static void oai_ws(struct oai_scan *sc)
{
	while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
		sc->p++;
}

/* First '"', '\\' or control byte (< 0x20) in [q, end), end when there is none: 16 bytes per step
 * where SSE2 is available (every x86-64), else byte by byte. */
static const char *oai_str_stop(const char *q, const char *end)
{
#if defined(__SSE2__)
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), c1f = _mm_set1_epi8(0x1F);
	while (end - q >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)q);
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
		                         _mm_cmpeq_epi8(_mm_min_epu8(x, c1f), x));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		if (mask)
			return q + __builtin_ctz(mask);
		q += 16;
	}
#endif
	for (; q < end; q++) {
		unsigned char c = (unsigned char)*q;
		if (c == '"' || c == '\\' || c < 0x20)
			return q;
	}
	return end;
}

/* at '"': the raw bytes of a string without escapes */
static int oai_scan_str(struct oai_scan *sc, const char **s, size_t *n)
{
	const char *q = oai_str_stop(++sc->p, sc->end);
	if (q >= sc->end || *q != '"')
		return OAI_FAST_NO;
	*s = sc->p;
	*n = (size_t)(q - sc->p);
	sc->p = q + 1;
	return OAI_FAST_OK;
}

/* at '"': the raw bytes of a string that may hold the one-character escapes (\" \\ \/ \b \f \n \r
 * \t; *esc says whether it does); a \u escape or any other is left to the cJSON path */
static inline __attribute__((always_inline)) int oai_scan_str_esc(struct oai_scan *sc, const char **s, size_t *n,
                                                                  bool *esc)
{
	const char *start = ++sc->p, *q = oai_str_stop(start, sc->end);
	bool e = false;
	while (q + 1 < sc->end && *q == '\\') {
		char x = q[1];
		if (x != '"' && x != '\\' && x != '/' && x != 'b' && x != 'f' && x != 'n' && x != 'r' && x != 't')
			return OAI_FAST_NO; /* a \u or an invalid escape */
		e = true;
		q = oai_str_stop(q + 2, sc->end);
	}
	if (q >= sc->end || *q != '"')
		return OAI_FAST_NO; /* a control byte, or the end */
	*s = start;
	*n = (size_t)(q - start);
	*esc = e;
	sc->p = q + 1;
	return OAI_FAST_OK;
}

/* The string s[0..n) read by oai_scan_str_esc, unescaped into o; returns the length written. */
static size_t oai_unescape(char *o, const char *s, size_t n, bool esc)
{
	if (!esc) {
		memcpy(o, s, n);
		return n;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\\') {
			c = s[++i];
			c = c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
		}
		o[k++] = c;
	}
	return k;
}

static int oai_skip(struct oai_scan *sc, int depth);

/* After an object member or array element: ',' (another follows), the closer (done), or malformed. */
enum { OAI_NEXT_MORE, OAI_NEXT_DONE, OAI_NEXT_BAD };
static int oai_next_item(struct oai_scan *sc, char closer)
{
	oai_ws(sc);
	if (sc->p >= sc->end)
		return OAI_NEXT_BAD;
	if (*sc->p == ',') {
		sc->p++;
		return OAI_NEXT_MORE;
	}
	if (*sc->p == closer) {
		sc->p++;
		return OAI_NEXT_DONE;
	}
	return OAI_NEXT_BAD;
}

/* at '[': calls on_elem for each element (its index, the scanner at it; NULL: the element is
 * skipped), up to and including the ']'; on_elem consumes the element */
typedef int (*oai_elem_fn)(struct oai_scan *sc, size_t i, void *ctx, int depth);

static int oai_scan_arr(struct oai_scan *sc, int depth, oai_elem_fn on_elem, void *ctx)
{
	sc->p++;
	oai_ws(sc);
	if (sc->p < sc->end && *sc->p == ']') {
		sc->p++;
		return OAI_FAST_OK;
	}
	for (size_t i = 0;; i++) {
		oai_ws(sc);
		if (sc->p >= sc->end)
			return OAI_FAST_NO;
		if (on_elem ? on_elem(sc, i, ctx, depth + 1) : oai_skip(sc, depth + 1))
			return OAI_FAST_NO;
		int next = oai_next_item(sc, ']');
		if (next != OAI_NEXT_MORE)
			return next == OAI_NEXT_DONE ? OAI_FAST_OK : OAI_FAST_NO;
	}
}

/* at '{': calls on_key for each key with the scanner at its value; on_key consumes the value */
typedef int (*oai_key_fn)(struct oai_scan *sc, const char *k, size_t kn, void *ctx, int depth);

/* the members of an object, from its first (or a later) key up to and including its '}' */
static int oai_scan_members(struct oai_scan *sc, int depth, oai_key_fn on_key, void *ctx)
{
	for (;;) {
		oai_ws(sc);
		if (sc->p >= sc->end || *sc->p != '"')
			return OAI_FAST_NO;
		const char *k;
		size_t kn;
		if (oai_scan_str(sc, &k, &kn))
			return OAI_FAST_NO;
		oai_ws(sc);
		if (sc->p >= sc->end || *sc->p != ':')
			return OAI_FAST_NO;
		sc->p++;
		oai_ws(sc);
		if (sc->p >= sc->end)
			return OAI_FAST_NO;
		if ((on_key ? on_key(sc, k, kn, ctx, depth + 1) : oai_skip(sc, depth + 1)) != OAI_FAST_OK)
			return OAI_FAST_NO;
		int next = oai_next_item(sc, '}');
		if (next != OAI_NEXT_MORE)
			return next == OAI_NEXT_DONE ? OAI_FAST_OK : OAI_FAST_NO;
	}
}

static int oai_scan_obj(struct oai_scan *sc, int depth, oai_key_fn on_key, void *ctx)
{
	if (depth > 32)
		return OAI_FAST_NO;
	sc->p++;
	oai_ws(sc);
	if (sc->p < sc->end && *sc->p == '}') {
		sc->p++;
		return OAI_FAST_OK;
	}
	return oai_scan_members(sc, depth, on_key, ctx);
}

static bool oai_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int oai_skip_num(struct oai_scan *sc)
{
	const char *q = sc->p;
	if (q < sc->end && *q == '-')
		q++;
	if (q >= sc->end || !oai_digit(*q))
		return OAI_FAST_NO;
	if (*q == '0')
		q++;
	else
		while (q < sc->end && oai_digit(*q))
			q++;
	if (q < sc->end && *q == '.') {
		q++;
		if (q >= sc->end || !oai_digit(*q))
			return OAI_FAST_NO;
		while (q < sc->end && oai_digit(*q))
			q++;
	}
	if (q < sc->end && (*q == 'e' || *q == 'E')) {
		q++;
		if (q < sc->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= sc->end || !oai_digit(*q))
			return OAI_FAST_NO;
		while (q < sc->end && oai_digit(*q))
			q++;
	}
	sc->p = q;
	return OAI_FAST_OK;
}

static int oai_lit(struct oai_scan *sc, const char *lit, size_t n)
{
	if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, lit, n) != 0)
		return OAI_FAST_NO;
	sc->p += n;
	return OAI_FAST_OK;
}

static int oai_skip(struct oai_scan *sc, int depth)
{
	if (depth > 32 || sc->p >= sc->end)
		return OAI_FAST_NO;
	switch (*sc->p) {
	case '"': {
		const char *s;
		size_t n;
		bool esc;
		return oai_scan_str_esc(sc, &s, &n, &esc);
	}
	case '{':
		return oai_scan_obj(sc, depth, NULL, NULL);
	case '[':
		return oai_scan_arr(sc, depth, NULL, NULL);
	case 't':
		return oai_lit(sc, "true", 4);
	case 'f':
		return oai_lit(sc, "false", 5);
	case 'n':
		return oai_lit(sc, "null", 4);
	default:
		return oai_skip_num(sc);
	}
}

static bool oai_key_is(const char *k, size_t kn, const char *name)
{
	size_t n = strlen(name);
	return kn == n && memcmp(k, name, n) == 0;
}

/* a string-or-not value for a key whose first occurrence counts */
static int oai_take_str(struct oai_scan *sc, struct oai_strv *v, int depth)
{
	if (v->seen)
		return oai_skip(sc, depth);
	v->seen = true;
	if (*sc->p == '"')
		return oai_scan_str_esc(sc, &v->s, &v->n, &v->esc);
	return oai_skip(sc, depth);
}

static int oai_on_fn_key(struct oai_scan *sc, const char *k, size_t kn, void *ctx, int depth)
{
	struct oai_toolv *t = ctx;
	if (oai_key_is(k, kn, "name"))
		return oai_take_str(sc, &t->name, depth);
	if (oai_key_is(k, kn, "arguments"))
		return oai_take_str(sc, &t->args, depth);
	return oai_skip(sc, depth);
}

static int oai_on_tool_key(struct oai_scan *sc, const char *k, size_t kn, void *ctx, int depth)
{
	struct oai_toolv *t = ctx;
	if (oai_key_is(k, kn, "function") && !t->fn_seen) {
		t->fn_seen = true;
		if (*sc->p != '{')
			return oai_skip(sc, depth);
		return oai_scan_obj(sc, depth, oai_on_fn_key, t);
	}
	return oai_skip(sc, depth);
}

/* tool_calls: the first element's function name and arguments; a later element that has either
 * (parallel tool calls in one delta) is left to the cJSON path, which joins them */
/* tool_calls[i]: the first element's function name and arguments; a later element that has either
 * (parallel tool calls in one delta) is left to the cJSON path, which joins them */
static int oai_on_tool_elem(struct oai_scan *sc, size_t i, void *ctx, int depth)
{
	struct oai_msgv *m = ctx;
	struct oai_toolv later;
	memset(&later, 0, sizeof later);
	struct oai_toolv *t = i == 0 ? &m->tool0 : &later;
	int rc = *sc->p == '{' ? oai_scan_obj(sc, depth, oai_on_tool_key, t) : oai_skip(sc, depth);
	return rc || later.name.s || later.args.s ? OAI_FAST_NO : OAI_FAST_OK;
}

static int oai_take_tools(struct oai_scan *sc, struct oai_msgv *m, int depth)
{
	bool first = !m->tools_seen;
	m->tools_seen = true; /* the first occurrence counts, as in cJSON */
	if (!first || *sc->p != '[')
		return oai_skip(sc, depth);
	return oai_scan_arr(sc, depth, oai_on_tool_elem, m);
}

static int oai_on_msg_key(struct oai_scan *sc, const char *k, size_t kn, void *ctx, int depth)
{
	struct oai_msgv *m = ctx;
	if (oai_key_is(k, kn, "tool_calls"))
		return oai_take_tools(sc, m, depth);
	if (oai_key_is(k, kn, "content"))
		return oai_take_str(sc, &m->content, depth);
	if (oai_key_is(k, kn, "reasoning_content"))
		return oai_take_str(sc, &m->reasoning_content, depth);
	if (oai_key_is(k, kn, "reasoning"))
		return oai_take_str(sc, &m->reasoning, depth);
	return oai_skip(sc, depth);
}

static int oai_take_msg(struct oai_scan *sc, struct oai_msgv *m, int depth)
{
	if (m->seen)
		return oai_skip(sc, depth);
	m->seen = true;
	if (*sc->p != '{')
		return oai_skip(sc, depth);
	m->is_obj = true;
	return oai_scan_obj(sc, depth, oai_on_msg_key, m);
}

struct oai_choicev {
	struct oai_msgv delta, message;
	struct oai_strv text, finish_reason;
	bool index_seen;
	int64_t index; /* -1 = absent or not a number */
};

static int oai_take_int(struct oai_scan *sc, bool *seen, int64_t *out, int depth);

static int oai_on_choice_key(struct oai_scan *sc, const char *k, size_t kn, void *ctx, int depth)
{
	struct oai_choicev *c = ctx;
	if (oai_key_is(k, kn, "delta"))
		return oai_take_msg(sc, &c->delta, depth);
	if (oai_key_is(k, kn, "message"))
		return oai_take_msg(sc, &c->message, depth);
	if (oai_key_is(k, kn, "text"))
		return oai_take_str(sc, &c->text, depth);
	if (oai_key_is(k, kn, "finish_reason"))
		return oai_take_str(sc, &c->finish_reason, depth);
	if (oai_key_is(k, kn, "index"))
		return oai_take_int(sc, &c->index_seen, &c->index, depth);
	return oai_skip(sc, depth);
}

struct oai_usagev {
	bool p_seen, c_seen, d_seen, r_seen;
	int64_t prompt, completion; /* -1 = not a number */
	int64_t reasoning;          /* completion_tokens_details.reasoning_tokens; -1 = absent */
};

/* usage numbers: plain non-negative integers below 1e15 (else the cJSON path decides) */
static int oai_take_int(struct oai_scan *sc, bool *seen, int64_t *out, int depth)
{
	if (*seen)
		return oai_skip(sc, depth);
	*seen = true;
	char c = *sc->p;
	if (c == '-' || oai_digit(c)) {
		const char *q = sc->p;
		int64_t v = 0;
		int nd = 0;
		while (q < sc->end && oai_digit(*q) && nd < 16) {
			v = v * 10 + (*q - '0');
			q++;
			nd++;
		}
		if (nd == 0 || nd > 15 || (nd > 1 && *sc->p == '0') ||
		    (q < sc->end && (*q == '.' || *q == 'e' || *q == 'E' || oai_digit(*q))))
			return OAI_FAST_NO;
		*out = v;
		sc->p = q;
		return OAI_FAST_OK;
	}
	*out = -1;
	return oai_skip(sc, depth);
}

static int oai_on_details_key(struct oai_scan *sc, const char *k, size_t kn, void *ctx, int depth)
{
	struct oai_usagev *u = ctx;
	if (oai_key_is(k, kn, "reasoning_tokens"))
		return oai_take_int(sc, &u->r_seen, &u->reasoning, depth);
	return oai_skip(sc, depth);
}

static int oai_on_usage_key(struct oai_scan *sc, const char *k, size_t kn, void *ctx, int depth)
{
	struct oai_usagev *u = ctx;
	if (oai_key_is(k, kn, "prompt_tokens"))
		return oai_take_int(sc, &u->p_seen, &u->prompt, depth);
	if (oai_key_is(k, kn, "completion_tokens"))
		return oai_take_int(sc, &u->c_seen, &u->completion, depth);
	if (oai_key_is(k, kn, "completion_tokens_details") && !u->d_seen) {
		/* the first occurrence counts, as in cJSON; null or a non-object: no details */
		u->d_seen = true;
		if (*sc->p != '{')
			return oai_skip(sc, depth);
		return oai_scan_obj(sc, depth, oai_on_details_key, u);
	}
	return oai_skip(sc, depth);
}

struct oai_topv {
	bool choices_seen, choices_is_arr, usage_seen, usage_is_obj, object_seen, have_c0, more_choices;
	struct oai_choicev c0;
	struct oai_usagev usage;
	/* where the members that leave no state but object_seen end: at the opening quote of the first
	 * "choices" or "usage" key (NULL: not reached), and object_seen there */
	const char *memo_end;
	bool memo_object_seen;
};

/* choices[i]: the first is choices[0]; the rest are only validated (and say there are more) */
static int oai_on_choice_elem(struct oai_scan *sc, size_t i, void *ctx, int depth)
{
	struct oai_topv *t = ctx;
	if (i == 0 && *sc->p == '{') {
		t->have_c0 = true;
		return oai_scan_obj(sc, depth, oai_on_choice_key, &t->c0);
	}
	if (i > 0)
		t->more_choices = true;
	return oai_skip(sc, depth);
}

static int oai_on_top_key(struct oai_scan *sc, const char *k, size_t kn, void *ctx, int depth)
{
	struct oai_topv *t = ctx;
	if (!t->memo_end && (oai_key_is(k, kn, "choices") || oai_key_is(k, kn, "usage"))) {
		t->memo_end = k - 1;
		t->memo_object_seen = t->object_seen;
	}
	if (oai_key_is(k, kn, "error")) {
		if (*sc->p != 'n')
			return OAI_FAST_NO; /* an error object: the cJSON path */
		return oai_skip(sc, depth);
	}
	if (oai_key_is(k, kn, "object") && !t->object_seen) {
		t->object_seen = true;
		const char *s;
		size_t n;
		if (*sc->p != '"')
			return oai_skip(sc, depth);
		if (oai_scan_str(sc, &s, &n))
			return OAI_FAST_NO;
		return n == 5 && memcmp(s, "error", 5) == 0 ? OAI_FAST_NO : OAI_FAST_OK;
	}
	if (oai_key_is(k, kn, "choices") && !t->choices_seen) {
		t->choices_seen = true;
		if (*sc->p != '[')
			return oai_skip(sc, depth);
		t->choices_is_arr = true;
		return oai_scan_arr(sc, depth, oai_on_choice_elem, t);
	}
	if (oai_key_is(k, kn, "usage") && !t->usage_seen) {
		t->usage_seen = true;
		if (*sc->p != '{')
			return oai_skip(sc, depth);
		t->usage_is_obj = true;
		return oai_scan_obj(sc, depth, oai_on_usage_key, &t->usage);
	}
	return oai_skip(sc, depth);
}

/* an event with nothing in it, before the fast path fills it (no cJSON tree) */
static void oai_event_init(struct oai_event *ev)
{
	ev->tree = NULL;
	ev->content = ev->reasoning = ev->finish_reason = NULL;
	ev->content_len = ev->reasoning_len = 0;
	ev->tool_text = NULL;
	ev->tool_text_len = 0;
	ev->owned = NULL;
	ev->choice_index = -1;
	ev->more_choices = false;
	ev->has_choices = false;
	ev->has_usage = false;
	ev->prompt_tokens = ev->completion_tokens = ev->reasoning_tokens = -1;
	ev->is_error = false;
	ev->error_code = 0;
	ev->error_msg[0] = '\0';
}

/* A chunk that is the template's bytes around another content string without escapes or control
 * bytes: the scanner would read it exactly as it read the template's chunk, whose event was its
 * content alone, so the event is this content alone. */
static bool oai_memo_template(const char *json, size_t len, struct oai_event *ev, struct oai_memo *memo)
{
	size_t pre = memo->tpl_pre, suf = memo->tpl_suf;
	if (!pre || len < pre + suf || memcmp(json, memo->bytes, pre) != 0 ||
	    memcmp(json + len - suf, memo->bytes + pre, suf) != 0)
		return false;
	const char *c = json + pre, *c_end = json + len - suf;
	size_t n = (size_t)(c_end - c);
	if (n + 1 > sizeof ev->inl || oai_str_stop(c, c_end) != c_end)
		return false;
	oai_event_init(ev);
	memcpy(ev->inl, c, n);
	ev->inl[n] = '\0';
	ev->content = ev->inl;
	ev->content_len = n;
	ev->choice_index = memo->tpl_index; /* (its bytes are the template's) */
	ev->has_choices = true;
	memo->tpl_hits++;
	return true;
}

/* The scan of a chunk's top-level members is a function of the bytes it has read: a chunk that
 * begins with bytes an earlier scan read up to a key of its top-level object continues from there,
 * in the state that scan had there (object_seen only: nothing before the first "choices" or
 * "usage" key sets any other). */
static int oai_parse_fast(const char *json, size_t len, struct oai_event *ev, struct oai_memo *memo)
{
	struct oai_scan sc = {json, json + len};
	struct oai_topv t;
	memset(&t, 0, sizeof t);
	t.usage.prompt = t.usage.completion = t.usage.reasoning = -1;
	t.c0.index = -1;
	if (memo && memo->tpl_pre && oai_memo_template(json, len, ev, memo))
		return OAI_FAST_OK;
	bool hit = memo && memo->len && len > memo->len && memcmp(json, memo->bytes, memo->len) == 0;
	if (hit) {
		sc.p = json + memo->len;
		t.object_seen = memo->object_seen;
		t.memo_end = sc.p; /* (already remembered) */
		if (oai_scan_members(&sc, 1, oai_on_top_key, &t))
			return OAI_FAST_NO;
		memo->hits++;
	} else {
		oai_ws(&sc);
		if (sc.p >= sc.end || *sc.p != '{')
			return OAI_FAST_NO;
		if (oai_scan_obj(&sc, 1, oai_on_top_key, &t))
			return OAI_FAST_NO;
	}
	oai_ws(&sc);
	if (sc.p != sc.end)
		return OAI_FAST_NO;
	bool head_is_this = hit; /* memo's head is this chunk's */
	if (memo && !hit && t.memo_end && (size_t)(t.memo_end - json) <= sizeof memo->bytes) {
		memo->len = (uint16_t)(t.memo_end - json);
		memo->object_seen = t.memo_object_seen;
		memcpy(memo->bytes, json, memo->len);
		memo->tpl_pre = memo->tpl_suf = 0; /* (its bytes began with the head replaced) */
		head_is_this = true;
	}
	oai_event_init(ev);
	ev->more_choices = t.more_choices;
	ev->has_choices = t.choices_is_arr;
	const char *content_at = NULL; /* the content string's raw bytes in json */
	size_t content_raw_len = 0;
	bool content_esc = false;
	if (t.have_c0) {
		ev->choice_index = t.c0.index;
		const struct oai_msgv *d = t.c0.delta.is_obj ? &t.c0.delta : t.c0.message.is_obj ? &t.c0.message : NULL;
		/* the strings the event takes (the first of each pair that is a string) */
		const struct oai_strv *cv = NULL, *rv = NULL, *fv = &t.c0.finish_reason;
		if (d) {
			cv = d->content.s ? &d->content : NULL;
			rv = d->reasoning_content.s ? &d->reasoning_content : d->reasoning.s ? &d->reasoning : NULL;
		}
		if (!cv && t.c0.text.s)
			cv = &t.c0.text;
		if (!fv->s)
			fv = NULL;
		content_at = cv ? cv->s : NULL;
		content_raw_len = cv ? cv->n : 0;
		content_esc = cv && cv->esc;
		const struct oai_toolv *tool = d ? &d->tool0 : NULL;
		size_t tool_n = tool ? (tool->name.s ? tool->name.n : 0) + (tool->args.s ? tool->args.n : 0) : 0;
		/* (raw lengths: an escape only shortens a string, and never to nothing) */
		size_t need =
		    (cv ? cv->n + 1 : 0) + (rv ? rv->n + 1 : 0) + (fv ? fv->n + 1 : 0) + (tool_n ? tool_n + 1 : 0);
		if (need > sizeof ev->inl)
			return OAI_FAST_NO;
		char *o = ev->inl;
		if (tool_n) { /* the function's name, then its arguments (docs/CLIENT.md, Responses) */
			size_t k = tool->name.s ? oai_unescape(o, tool->name.s, tool->name.n, tool->name.esc) : 0;
			if (tool->args.s)
				k += oai_unescape(o + k, tool->args.s, tool->args.n, tool->args.esc);
			o[k] = '\0';
			ev->tool_text = o;
			ev->tool_text_len = k;
			o += k + 1;
		}
		if (cv) {
			ev->content_len = oai_unescape(o, cv->s, cv->n, cv->esc);
			o[ev->content_len] = '\0';
			ev->content = o;
			o += ev->content_len + 1;
		}
		if (rv) {
			ev->reasoning_len = oai_unescape(o, rv->s, rv->n, rv->esc);
			o[ev->reasoning_len] = '\0';
			ev->reasoning = o;
			o += ev->reasoning_len + 1;
		}
		if (fv) {
			size_t k = oai_unescape(o, fv->s, fv->n, fv->esc);
			o[k] = '\0';
			ev->finish_reason = o;
		}
	}
	if (t.usage_is_obj) {
		ev->prompt_tokens = t.usage.prompt;
		ev->completion_tokens = t.usage.completion;
		ev->reasoning_tokens = t.usage.reasoning;
		ev->has_usage = ev->completion_tokens >= 0 || ev->prompt_tokens >= 0;
	}
	/* a chunk whose event is its content alone is the stream's template (struct oai_memo) */
	if (head_is_this && content_at && !content_esc && !ev->reasoning && !ev->finish_reason && !t.usage_is_obj &&
	    !ev->tool_text && ev->choice_index <= 0 && !ev->more_choices) {
		size_t pre = (size_t)(content_at - json), suf = len - pre - content_raw_len;
		if (pre >= memo->len && pre + suf <= sizeof memo->bytes) {
			memcpy(memo->bytes + memo->len, json + memo->len, pre - memo->len);
			memcpy(memo->bytes + pre, content_at + content_raw_len, suf);
			memo->tpl_pre = (uint16_t)pre;
			memo->tpl_suf = (uint16_t)suf;
			memo->tpl_index = ev->choice_index;
		}
	}
	return OAI_FAST_OK;
}

int oai_parse(const char *json, size_t len, struct oai_event *ev)
{
	return oai_parse_stream(json, len, ev, NULL);
}

void oai_memo_reset(struct oai_memo *m)
{
	m->len = m->tpl_pre = m->tpl_suf = 0;
	m->object_seen = false;
}

int oai_parse_stream(const char *json, size_t len, struct oai_event *ev, struct oai_memo *memo)
{
	if (oai_parse_fast(json, len, ev, memo) == OAI_FAST_OK)
		return OAI_PARSE_OK;
	return oai_parse_cjson(json, len, ev);
}

/* The text of tool calls (docs/CLIENT.md, Responses): each function's name and arguments, in order;
 * a pointer into the tree when there is one piece, else a joined copy the event owns. */
static void oai_tool_text(const cJSON *calls, struct oai_event *ev)
{
	const char *piece[2] = {NULL, NULL};
	size_t lens[2] = {0, 0}, total = 0, n = 0;
	if (!cJSON_IsArray(calls))
		return;
	const cJSON *call;
	cJSON_ArrayForEach(call, calls)
	{
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
		const char *names[2] = {"name", "arguments"};
		for (int k = 0; k < 2 && cJSON_IsObject(fn); k++) {
			size_t l = 0;
			const char *v = oai_str(fn, names[k], &l);
			if (!v || !l)
				continue;
			if (n < 2) {
				piece[n] = v;
				lens[n] = l;
			}
			n++;
			total += l;
		}
	}
	if (n == 1) {
		ev->tool_text = piece[0];
		ev->tool_text_len = lens[0];
	} else if (n > 1) {
		char *o = ev->owned = xmalloc(total + 1);
		cJSON_ArrayForEach(call, calls)
		{
			const cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
			const char *names[2] = {"name", "arguments"};
			for (int k = 0; k < 2 && cJSON_IsObject(fn); k++) {
				size_t l = 0;
				const char *v = oai_str(fn, names[k], &l);
				if (v && l) {
					memcpy(o, v, l);
					o += l;
				}
			}
		}
		*o = '\0';
		ev->tool_text = ev->owned;
		ev->tool_text_len = total;
	}
}

/* A copy of json whose escaped NULs (\u0000 in a string) read as U+FFFD (\ufffd, the same six
 * bytes): cJSON's strings end at their first NUL, so the text after one was lost from the content
 * and its tokens (docs/CLIENT.md, Responses). NULL when json has none (the common case: one memmem). */
static char *oai_nul_escapes_replaced(const char *json, size_t len)
{
	if (!memmem(json, len, "\\u0000", 6))
		return NULL;
	char *o = xmalloc(len + 1);
	memcpy(o, json, len);
	o[len] = '\0';
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		if (o[i] == '"') {
			in_str = !in_str;
		} else if (in_str && o[i] == '\\' && i + 1 < len) {
			if (o[i + 1] == 'u' && i + 6 <= len && !memcmp(o + i + 2, "0000", 4))
				memcpy(o + i + 2, "fffd", 4);
			i++; /* the escaped character (a quote or a backslash is no delimiter) */
		}
	}
	return o;
}

static int oai_parse_doc(const char *json, size_t len, struct oai_event *ev);

int oai_parse_cjson(const char *json, size_t len, struct oai_event *ev)
{
	char *copy = oai_nul_escapes_replaced(json, len);
	if (!copy)
		return oai_parse_doc(json, len, ev);
	int rc = oai_parse_doc(copy, len, ev); /* (strings are copied into the tree) */
	free(copy);
	return rc;
}

static int oai_parse_doc(const char *json, size_t len, struct oai_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->prompt_tokens = ev->completion_tokens = ev->reasoning_tokens = -1;
	ev->choice_index = -1;
	/* one document and nothing after it but whitespace: cJSON_ParseWithLength alone would read the
	 * first of two joined events and drop the rest (docs/CLIENT.md, Responses) */
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return OAI_PARSE_INVALID;
	}
	while (end && end < json + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (!end || end != json + len) {
		cJSON_Delete(root);
		return OAI_PARSE_TRAILING;
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
	ev->more_choices = c0 && c0->next;
	ev->has_choices = cJSON_IsArray(choices);
	if (cJSON_IsObject(c0)) {
		ev->choice_index = oai_int(c0, "index");
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(c0, "delta");
		if (!cJSON_IsObject(d))
			d = cJSON_GetObjectItemCaseSensitive(c0, "message");
		if (cJSON_IsObject(d)) {
			ev->content = oai_str(d, "content", &ev->content_len);
			ev->reasoning = oai_str(d, "reasoning_content", &ev->reasoning_len);
			if (!ev->reasoning)
				ev->reasoning = oai_str(d, "reasoning", &ev->reasoning_len);
			oai_tool_text(cJSON_GetObjectItemCaseSensitive(d, "tool_calls"), ev);
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
		const cJSON *details = cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens_details");
		if (cJSON_IsObject(details))
			ev->reasoning_tokens = oai_int(details, "reasoning_tokens");
		ev->has_usage = ev->completion_tokens >= 0 || ev->prompt_tokens >= 0;
	}
	return OAI_PARSE_OK;
}

int oai_parse_bare(const char *body, size_t len, struct oai_event *ev)
{
	for (size_t i = 0; i < len; i++) {
		if (i && body[i - 1] != '\n' && body[i - 1] != '\r')
			continue;
		size_t j = i;
		while (j < len && (body[j] == ' ' || body[j] == '\t'))
			j++;
		if (j >= len || body[j] != '{')
			continue;
		const char *end = NULL;
		cJSON *root = cJSON_ParseWithLengthOpts(body + j, len - j, &end, false);
		bool obj = cJSON_IsObject(root) && end;
		cJSON_Delete(root);
		if (obj)
			return oai_parse_cjson(body + j, (size_t)(end - (body + j)), ev);
	}
	return OAI_PARSE_INVALID;
}

void oai_event_clear(struct oai_event *ev)
{
	cJSON_Delete(ev->tree);
	ev->tree = NULL;
	free(ev->owned);
	ev->owned = NULL;
}

void oai_error_message(const char *body, size_t len, char *msg, size_t msg_len)
{
	if (msg_len == 0)
		return;
	msg[0] = '\0';
	struct oai_event ev;
	if (body && len && oai_parse_cjson(body, len, &ev) == OAI_PARSE_OK) {
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

void oai_error_event(const char *data, size_t len, int *code, char *msg, size_t msg_len)
{
	*code = 400;
	struct oai_event ev;
	if (data && len && oai_parse_cjson(data, len, &ev) == OAI_PARSE_OK) {
		if (!ev.is_error) /* no error member: the object itself may carry a code */
			oai_fill_error(ev.tree, &ev);
		*code = ev.error_code;
		oai_event_clear(&ev);
	}
	oai_error_message(data, len, msg, msg_len);
	if (msg_len && !*msg)
		snprintf(msg, msg_len, "error event without a message");
}
