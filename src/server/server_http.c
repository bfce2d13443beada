/* Health probe: blocking libcurl GETs (one handle per probe; probes are seconds apart). */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/xalloc.h"
#include "server/server_internal.h"

static pthread_once_t http_once = PTHREAD_ONCE_INIT;

static void http_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t http_sink(char *p, size_t sz, size_t nm, void *ud)
{
	struct buf *b = ud;
	size_t n = sz * nm;
	if (b && b->len < (4u << 20))
		buf_append(b, p, n);
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
	struct buf b;
	buf_init(&b);
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
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (hdr)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	long code = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	free(auth);
	if (body_out && code)
		*body_out = b.data ? buf_steal(&b) : xstrdup("");
	buf_free(&b);
	return code;
}
