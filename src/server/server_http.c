/* Health probe: blocking libcurl GETs (one handle per probe; probes are seconds apart). */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/xalloc.h"
#include "server/server.h"
#include "server/server_internal.h"

static pthread_once_t http_once = PTHREAD_ONCE_INIT;

static void http_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct http_sink_state {
	struct buf b;
	bool too_large; /* the body passed SERVER_HTTP_MAX_BODY_BYTES: the transfer was stopped */
};

static size_t http_sink(char *p, size_t sz, size_t nm, void *ud)
{
	struct http_sink_state *st = ud;
	size_t n = sz * nm;
	/* a body cut at the cap would read as a whole one (a page whose last number is cut short is a
	 * different number): past the cap the transfer stops and the GET fails (docs/OBSERVABILITY.md) */
	if (st->b.len + n > SERVER_HTTP_MAX_BODY_BYTES) {
		st->too_large = true;
		return 0;
	}
	buf_append(&st->b, p, n);
	return n;
}

long server_http_get(const char *url, const char *bearer, double timeout_s, char **body_out)
{
	pthread_once(&http_once, http_global_init);
	if (body_out)
		*body_out = NULL;
	CURL *c = curl_easy_init();
	if (!c)
		return 0;
	struct http_sink_state sink = {.too_large = false};
	buf_init(&sink.b);
	struct curl_slist *hdr = NULL;
	char *auth = NULL;
	if (bearer && *bearer) {
		auth = xasprintf("Authorization: Bearer %s", bearer);
		hdr = curl_slist_append(hdr, auth);
	}
	long ms = (long)(timeout_s * 1000.0);
	if (ms < 100)
		ms = 100;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (hdr)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	long code = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	else if (sink.too_large)
		code = SERVER_HTTP_TOO_LARGE;
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	free(auth);
	if (body_out && code > 0)
		*body_out = sink.b.data ? buf_steal(&sink.b) : xstrdup("");
	buf_free(&sink.b);
	return code;
}

int64_t server_models_context_len(const char *api_base, const char *api_key, const char *model, double timeout_s)
{
	if (!api_base || !*api_base)
		return 0;
	size_t n = strlen(api_base);
	char *url = xasprintf("%.*s/models", (int)(n && api_base[n - 1] == '/' ? n - 1 : n), api_base);
	char *body = NULL;
	long code = server_http_get(url, api_key, timeout_s, &body);
	free(url);
	int64_t ctx = 0;
	cJSON *j = code == 200 && body ? cJSON_Parse(body) : NULL;
	const cJSON *data = j ? cJSON_GetObjectItemCaseSensitive(j, "data") : NULL;
	const cJSON *pick = NULL, *m;
	cJSON_ArrayForEach(m, data)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
		if (model && cJSON_IsString(id) && !strcmp(id->valuestring, model))
			pick = m;
	}
	if (!pick && cJSON_GetArraySize(data) == 1)
		pick = cJSON_GetArrayItem(data, 0);
	const cJSON *len = pick ? cJSON_GetObjectItemCaseSensitive(pick, "max_model_len") : NULL;
	if (cJSON_IsNumber(len) && isfinite(len->valuedouble) && len->valuedouble >= 1 && len->valuedouble < 1e15)
		ctx = (int64_t)len->valuedouble;
	cJSON_Delete(j);
	free(body);
	return ctx;
}
