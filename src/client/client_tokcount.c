/* Token counting through the server's /tokenize endpoint on a dedicated thread (see
 * client_tokcount.h and docs/CLIENT.md "Token counting"). */
#include "client/client_tokcount.h"
#include "client/client_tls.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/jsonw.h"
#include "core/log.h"
#include "core/xalloc.h"

#define TC_RESP_MAX ((size_t)64 << 20) /* a /tokenize answer lists every token id */
#define TC_CONNECT_TIMEOUT_MS 2000L
#define TC_CALL_TIMEOUT_MS 10000L
#define TC_PROBE_TIMEOUT_MS 5000L
#define TC_CACHE_SIZE 4096u /* power of two */
#define TC_BREAKER_FAILS 3  /* consecutive failed jobs before remote counting stops */
#define TC_PROBE_TEXT "Veeksha counts tokens with this server's tokenizer."

struct client_tokcount_job {
	struct client_tokcount_job *next;
	void *owner;
	struct buf data; /* the texts, back to back */
	size_t *off, *len;
	int64_t *counts;
	size_t n, cap;
	bool failed;
	bool abandoned; /* cancelled while the thread was counting it: the thread frees it */
	char why[200];
};

struct tc_cache_ent {
	uint64_t hash;
	uint64_t len; /* 0 = empty slot */
	int64_t count;
};

struct client_tokcount {
	char *url;
	char *auth_header;
	char *model;
	struct ev_loop *loop;
	client_tokcount_done_fn done;
	void *ctx;
	struct ev_async *done_async; /* results are ready (the thread sends it) */
	pthread_t thread;
	bool started;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct client_tokcount_job *todo_head, *todo_tail; /* under mu */
	struct client_tokcount_job *done_head, *done_tail; /* under mu */
	struct client_tokcount_job *current;               /* under mu: being counted */
	bool stop;                                         /* under mu */
	atomic_bool abort_call;                            /* makes a call in progress fail now */

	size_t pending; /* loop thread: submitted and not delivered */

	/* counting thread only */
	CURL *easy;
	struct curl_slist *headers;
	struct buf body, resp;
	struct tc_cache_ent *cache;
	int consecutive_fails;
	bool disabled;
	atomic_uint_fast64_t calls, cache_hits;
};

/* ---- one /tokenize call ---- */

static size_t tc_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;
	if (b->len + n > TC_RESP_MAX)
		return 0;
	buf_append(b, ptr, n);
	return n;
}

static int tc_xfer_cb(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	atomic_bool *abort_call = ud;
	return abort_call && atomic_load(abort_call) ? 1 : 0;
}

static void tc_body(struct buf *body, const char *model, const char *text, size_t len)
{
	buf_reset(body);
	buf_puts(body, "{");
	if (model && *model) {
		buf_puts(body, "\"model\":");
		jsonw_escape(body, model, strlen(model));
		buf_puts(body, ",");
	}
	/* our counts never include special tokens (BOS etc.): the same as the local tokenizer */
	buf_puts(body, "\"add_special_tokens\":false,\"prompt\":");
	jsonw_escape(body, text, len);
	buf_puts(body, "}");
}

/* Returns 0 and the count, or -1 with why; *status is the HTTP status (0 when none). */
static int tc_call(CURL *e, const char *url, struct curl_slist *headers, const struct buf *body, struct buf *resp,
                   long timeout_ms, atomic_bool *abort_call, int64_t *count, long *status, char *why, size_t why_len)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	buf_reset(resp);
	*status = 0;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body->data);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, tc_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, tc_xfer_cb);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, abort_call);
	CURLcode res = curl_easy_perform(e);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	if (res != CURLE_OK) {
		snprintf(why, why_len, "%s", *errbuf ? errbuf : curl_easy_strerror(res));
		return -1;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	if (*status != 200) {
		snprintf(why, why_len, "HTTP %ld: %.100s", *status, resp->data ? resp->data : "");
		for (char *p = why; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		return -1;
	}
	cJSON *root = cJSON_ParseWithLength(resp->data ? resp->data : "", resp->len);
	const cJSON *c = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "count") : NULL;
	int rc = -1;
	if (cJSON_IsNumber(c) && c->valuedouble >= 0 && c->valuedouble < 9e15 &&
	    c->valuedouble == (double)(int64_t)c->valuedouble) {
		*count = (int64_t)c->valuedouble;
		rc = 0;
	} else {
		snprintf(why, why_len, "answer has no integer \"count\"");
	}
	cJSON_Delete(root);
	return rc;
}

static void tc_easy_common(CURL *e, const struct cfg_client *cfg)
{
	struct client_tls tls;
	char err[256];
	if (client_tls_resolve(cfg, &tls, err, sizeof err) == 0) /* checked at start (client_create) */
		client_tls_apply(e, &tls);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, TC_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cfg->verify_tls ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cfg->verify_tls ? 2L : 0L);
	if (getenv("VK_CURL_VERBOSE"))
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
}

static struct curl_slist *tc_headers(const char *auth_header)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Expect:");
	if (auth_header)
		h = curl_slist_append(h, auth_header);
	return h;
}

static char *tc_auth_header(const struct cfg_client *cfg)
{
	const char *key = cfg->api_key && *cfg->api_key ? cfg->api_key : getenv("OPENAI_API_KEY");
	return key && *key ? xasprintf("Authorization: Bearer %s", key) : NULL;
}

/* ---- probe ---- */

/* The built-in simulated server names its tokenizer in the /tokenize answer; when that is the
 * approximation the client already has, asking the server would only add load. */
static bool tc_same_approximation(const struct buf *resp)
{
	cJSON *root = cJSON_ParseWithLength(resp->data ? resp->data : "", resp->len);
	const cJSON *t = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "tokenizer") : NULL;
	bool same = cJSON_IsString(t) && strcmp(t->valuestring, "approx-words") == 0;
	cJSON_Delete(root);
	return same;
}

char *client_tokcount_probe(const struct cfg_client *cfg, const char *api_base, char *err, size_t err_len)
{
	if (!api_base)
		api_base = cfg->api_base && *cfg->api_base ? cfg->api_base : getenv("OPENAI_API_BASE");
	if (!api_base || !*api_base) {
		snprintf(err, err_len, "no API base");
		return NULL;
	}
	size_t bl = strlen(api_base);
	while (bl && api_base[bl - 1] == '/')
		bl--;
	size_t rl = bl;
	if (rl >= 3 && memcmp(api_base + rl - 3, "/v1", 3) == 0)
		rl -= 3;
	char *cands[2] = {xasprintf("%.*s/tokenize", (int)rl, api_base), NULL};
	if (rl != bl)
		cands[1] = xasprintf("%.*s/tokenize", (int)bl, api_base);
	CURL *e = curl_easy_init();
	char *auth = tc_auth_header(cfg);
	struct curl_slist *h = tc_headers(auth);
	struct buf body, resp;
	buf_init(&body);
	buf_init(&resp);
	tc_body(&body, cfg->model, TC_PROBE_TEXT, strlen(TC_PROBE_TEXT));
	char *found = NULL;
	struct buf why;
	buf_init(&why);
	if (!e) {
		buf_puts(&why, "curl_easy_init failed");
	} else {
		tc_easy_common(e, cfg);
		for (int i = 0; i < 2 && cands[i] && !found; i++) {
			int64_t count = 0;
			long status = 0;
			char w[256];
			if (tc_call(e, cands[i], h, &body, &resp, TC_PROBE_TIMEOUT_MS, NULL, &count, &status, w,
			            sizeof w) == 0 &&
			    count > 0) {
				if (tc_same_approximation(&resp)) {
					buf_printf(&why,
					           "%sPOST %s: the server counts with the same whitespace-word "
					           "approximation as the client (its answer names \"approx-words\")",
					           why.len ? "; " : "", cands[i]);
					break;
				}
				found = cands[i];
				cands[i] = NULL;
				break;
			}
			if (status == 200 && count == 0)
				snprintf(w, sizeof w, "counted 0 tokens in a non-empty text");
			buf_printf(&why, "%sPOST %s: %s", why.len ? "; " : "", cands[i], w);
			if (status != 404 && status != 405)
				break; /* a server that answers otherwise at the root will not do better under /v1 */
		}
		curl_easy_cleanup(e);
	}
	if (!found)
		snprintf(err, err_len, "%s", why.data ? why.data : "no answer");
	buf_free(&why);
	buf_free(&body);
	buf_free(&resp);
	curl_slist_free_all(h);
	free(auth);
	free(cands[0]);
	free(cands[1]);
	return found;
}

/* ---- counting thread ---- */

static uint64_t tc_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static int tc_count_text(struct client_tokcount *tc, const char *s, size_t n, int64_t *out, char *why, size_t why_len)
{
	if (n == 0) {
		*out = 0;
		return 0;
	}
	uint64_t h = tc_hash(s, n);
	struct tc_cache_ent *ce = &tc->cache[h & (TC_CACHE_SIZE - 1)];
	if (ce->len == n && ce->hash == h) {
		atomic_fetch_add(&tc->cache_hits, 1);
		*out = ce->count;
		return 0;
	}
	tc_body(&tc->body, tc->model, s, n);
	long status = 0;
	atomic_fetch_add(&tc->calls, 1);
	if (tc_call(tc->easy, tc->url, tc->headers, &tc->body, &tc->resp, TC_CALL_TIMEOUT_MS, &tc->abort_call, out,
	            &status, why, why_len) < 0)
		return -1;
	ce->hash = h;
	ce->len = n;
	ce->count = *out;
	return 0;
}

static void tc_run_job(struct client_tokcount *tc, struct client_tokcount_job *job)
{
	if (tc->disabled) {
		job->failed = true;
		snprintf(job->why, sizeof job->why, "server counting stopped after %d consecutive failures",
		         TC_BREAKER_FAILS);
		return;
	}
	for (size_t i = 0; i < job->n; i++) {
		if (tc_count_text(tc, job->data.data + job->off[i], job->len[i], &job->counts[i], job->why,
		                  sizeof job->why) < 0) {
			job->failed = true;
			break;
		}
	}
	if (job->failed) {
		if (++tc->consecutive_fails >= TC_BREAKER_FAILS)
			tc->disabled = true;
	} else {
		tc->consecutive_fails = 0;
	}
}

static void *tc_thread(void *arg)
{
	struct client_tokcount *tc = arg;
	pthread_mutex_lock(&tc->mu);
	for (;;) {
		while (!tc->stop && !tc->todo_head)
			pthread_cond_wait(&tc->cv, &tc->mu);
		if (tc->stop)
			break;
		struct client_tokcount_job *job = tc->todo_head;
		tc->todo_head = job->next;
		if (!tc->todo_head)
			tc->todo_tail = NULL;
		job->next = NULL;
		tc->current = job;
		pthread_mutex_unlock(&tc->mu);

		tc_run_job(tc, job);

		pthread_mutex_lock(&tc->mu);
		tc->current = NULL;
		if (job->abandoned) {
			buf_free(&job->data);
			free(job->off);
			free(job->len);
			free(job->counts);
			free(job);
			continue;
		}
		if (tc->done_tail)
			tc->done_tail->next = job;
		else
			tc->done_head = job;
		tc->done_tail = job;
		ev_async_send(tc->done_async);
	}
	pthread_mutex_unlock(&tc->mu);
	return NULL;
}

/* ---- loop side ---- */

static void tc_job_free(struct client_tokcount_job *job)
{
	buf_free(&job->data);
	free(job->off);
	free(job->len);
	free(job->counts);
	free(job);
}

static void tc_deliver(struct client_tokcount *tc, struct client_tokcount_job *job, bool cancelled)
{
	tc->pending--;
	if (cancelled)
		tc->done(tc->ctx, job->owner, NULL, job->n, "cancelled");
	else
		tc->done(tc->ctx, job->owner, job->failed ? NULL : job->counts, job->n, job->failed ? job->why : NULL);
}

static void tc_on_done(struct ev_loop *loop, void *ctx)
{
	(void)loop;
	struct client_tokcount *tc = ctx;
	pthread_mutex_lock(&tc->mu);
	struct client_tokcount_job *list = tc->done_head;
	tc->done_head = tc->done_tail = NULL;
	pthread_mutex_unlock(&tc->mu);
	while (list) {
		struct client_tokcount_job *job = list;
		list = job->next;
		tc_deliver(tc, job, false);
		tc_job_free(job);
	}
}

struct client_tokcount *client_tokcount_create(const char *url, const struct cfg_client *cfg, struct ev_loop *loop,
                                               client_tokcount_done_fn done, void *ctx, char *err, size_t err_len)
{
	if (!url || !loop || !done) {
		snprintf(err, err_len, "client_tokcount_create: url, loop and done are required");
		return NULL;
	}
	struct client_tokcount *tc = xcalloc(1, sizeof *tc);
	tc->url = xstrdup(url);
	tc->auth_header = tc_auth_header(cfg);
	tc->model = cfg->model && *cfg->model ? xstrdup(cfg->model) : NULL;
	tc->loop = loop;
	tc->done = done;
	tc->ctx = ctx;
	pthread_mutex_init(&tc->mu, NULL);
	pthread_cond_init(&tc->cv, NULL);
	atomic_init(&tc->abort_call, false);
	atomic_init(&tc->calls, 0);
	atomic_init(&tc->cache_hits, 0);
	buf_init(&tc->body);
	buf_init(&tc->resp);
	tc->cache = xcalloc(TC_CACHE_SIZE, sizeof *tc->cache);
	tc->headers = tc_headers(tc->auth_header);
	tc->easy = curl_easy_init();
	if (!tc->easy) {
		snprintf(err, err_len, "curl_easy_init failed");
		goto fail;
	}
	tc_easy_common(tc->easy, cfg);
	tc->done_async = ev_async_add(loop, tc_on_done, tc);
	/* the thread takes no signals (the loop's thread handles them) */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&tc->thread, NULL, tc_thread, tc);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, err_len, "pthread_create: %s", strerror(rc));
		goto fail;
	}
	tc->started = true;
	return tc;
fail:
	client_tokcount_free(tc);
	return NULL;
}

struct client_tokcount_job *client_tokcount_job_new(void *owner)
{
	struct client_tokcount_job *job = xcalloc(1, sizeof *job);
	job->owner = owner;
	buf_init(&job->data);
	return job;
}

void client_tokcount_job_add(struct client_tokcount_job *job, const char *text, size_t len)
{
	if (job->n == job->cap) {
		size_t cap = job->cap ? job->cap * 2 : 8;
		job->off = xrealloc(job->off, cap * sizeof *job->off);
		job->len = xrealloc(job->len, cap * sizeof *job->len);
		job->counts = xrealloc(job->counts, cap * sizeof *job->counts);
		job->cap = cap;
	}
	job->off[job->n] = job->data.len;
	job->len[job->n] = text ? len : 0;
	job->counts[job->n] = 0;
	if (text && len)
		buf_append(&job->data, text, len);
	job->n++;
}

void client_tokcount_submit(struct client_tokcount *tc, struct client_tokcount_job *job)
{
	tc->pending++;
	job->next = NULL;
	pthread_mutex_lock(&tc->mu);
	if (tc->todo_tail)
		tc->todo_tail->next = job;
	else
		tc->todo_head = job;
	tc->todo_tail = job;
	pthread_cond_signal(&tc->cv);
	pthread_mutex_unlock(&tc->mu);
}

size_t client_tokcount_pending(const struct client_tokcount *tc)
{
	return tc ? tc->pending : 0;
}

void client_tokcount_cancel_all(struct client_tokcount *tc)
{
	if (!tc)
		return;
	pthread_mutex_lock(&tc->mu);
	struct client_tokcount_job *fin = tc->done_head, *todo = tc->todo_head, *cur = tc->current;
	if (cur && cur->abandoned)
		cur = NULL; /* already delivered by an earlier cancellation */
	tc->done_head = tc->done_tail = NULL;
	tc->todo_head = tc->todo_tail = NULL;
	void *cur_owner = NULL;
	size_t cur_n = 0;
	if (cur) {
		cur->abandoned = true; /* the thread frees it; only its owner is used here */
		cur_owner = cur->owner;
		cur_n = cur->n;
	}
	pthread_mutex_unlock(&tc->mu);
	/* submission order: finished jobs, the one in progress, then the queued ones */
	while (fin) {
		struct client_tokcount_job *job = fin;
		fin = job->next;
		tc_deliver(tc, job, false);
		tc_job_free(job);
	}
	if (cur) {
		tc->pending--;
		tc->done(tc->ctx, cur_owner, NULL, cur_n, "cancelled");
	}
	while (todo) {
		struct client_tokcount_job *job = todo;
		todo = job->next;
		tc_deliver(tc, job, true);
		tc_job_free(job);
	}
}

void client_tokcount_free(struct client_tokcount *tc)
{
	if (!tc)
		return;
	if (tc->started) {
		client_tokcount_cancel_all(tc);
		pthread_mutex_lock(&tc->mu);
		tc->stop = true;
		atomic_store(&tc->abort_call, true);
		pthread_cond_signal(&tc->cv);
		pthread_mutex_unlock(&tc->mu);
		pthread_join(tc->thread, NULL);
		/* results that arrived after the cancellation belong to abandoned jobs only (freed by the
		 * thread); anything still here was submitted from a done callback during the cancellation */
		struct client_tokcount_job *lists[2] = {tc->done_head, tc->todo_head};
		for (int i = 0; i < 2; i++) {
			while (lists[i]) {
				struct client_tokcount_job *job = lists[i];
				lists[i] = job->next;
				tc_deliver(tc, job, true);
				tc_job_free(job);
			}
		}
	}
	ev_async_del(tc->loop, tc->done_async);
	if (tc->easy)
		curl_easy_cleanup(tc->easy);
	curl_slist_free_all(tc->headers);
	buf_free(&tc->body);
	buf_free(&tc->resp);
	free(tc->cache);
	pthread_cond_destroy(&tc->cv);
	pthread_mutex_destroy(&tc->mu);
	free(tc->url);
	free(tc->auth_header);
	free(tc->model);
	free(tc);
}

const char *client_tokcount_url(const struct client_tokcount *tc)
{
	return tc->url;
}

uint64_t client_tokcount_calls(const struct client_tokcount *tc)
{
	return atomic_load(&tc->calls);
}

uint64_t client_tokcount_cache_hits(const struct client_tokcount *tc)
{
	return atomic_load(&tc->cache_hits);
}

/* ---- per-chunk split ---- */

void client_tokcount_split(const uint32_t *w, size_t n, int64_t total, int32_t *out)
{
	if (n == 0)
		return;
	if (total <= (int64_t)n) {
		for (size_t i = 0; i < n; i++)
			out[i] = 1;
		return;
	}
	uint64_t extra = (uint64_t)(total - (int64_t)n);
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += w[i];
	bool even = sum == 0;
	if (even)
		sum = n;
	/* cumulative rounding: chunk i gets 1 + floor(extra*S_i/sum) - floor(extra*S_{i-1}/sum), where S is
	 * the prefix sum of the weights: proportional within one token, sums to total exactly */
	uint64_t prefix = 0, prev = 0;
	for (size_t i = 0; i < n; i++) {
		prefix += even ? 1 : w[i];
		uint64_t cur = (uint64_t)(((unsigned __int128)extra * prefix) / sum);
		uint64_t k = 1 + (cur - prev);
		out[i] = k > INT32_MAX ? INT32_MAX : (int32_t)k;
		prev = cur;
	}
}
