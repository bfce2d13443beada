/* Request dispatch of the simulated server and its endpoints other than generation: health,
 * models, version, tokenize/detokenize, and /metrics with its latency histograms. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "core/jsonw.h"

#include "core/buf.h"
#include "core/clock.h"
#include "core/xalloc.h"
#include "sim/sim.h"
#include "sim/sim_server.h"

/* time to first token (s): 1 ms steps to 300 ms, 10 ms to 1 s, 100 ms to 10 s, then vLLM's 20 .. 2560 s */
static double sim_lat_le[SIM_HIST_MAX];
static int sim_lat_nb;
/* inter-token bounds (s): 0.5 ms steps to 50 ms, 5 ms to 200 ms, then vLLM's 0.25 .. 80 s */
static double sim_itl_le[SIM_HIST_MAX];
static int sim_itl_nb;
/* queue time: a few below vLLM's request-latency bounds, then those */
static const double sim_queue_le[] = {0.001, 0.002, 0.005, 0.01,  0.02,  0.05,  0.1,   0.2,    0.3,   0.5,
                                      0.8,   1.0,   1.5,   2.0,   2.5,   5.0,   10.0,  15.0,   20.0,  30.0,
                                      40.0,  50.0,  60.0,  120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
/* end to end: vLLM's request-latency bounds */
static const double sim_e2e_le[] = {0.3,  0.5,  0.8,  1.0,  1.5,   2.0,   2.5,   5.0,   10.0,   15.0,  20.0,
                                    30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

static int sim_le_steps(double *le, int n, long lo_us, long hi_us, long step_us)
{
	for (long us = lo_us + step_us; us <= hi_us && n < SIM_HIST_MAX; us += step_us)
		le[n++] = (double)us / 1e6;
	return n;
}

static void sim_hist_bounds_init(void)
{
	int n = 0;
	n = sim_le_steps(sim_lat_le, n, 0, 300000, 1000);
	n = sim_le_steps(sim_lat_le, n, 300000, 1000000, 10000);
	n = sim_le_steps(sim_lat_le, n, 1000000, 10000000, 100000);
	static const double tail[] = {20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
	for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++)
		sim_lat_le[n++] = tail[i];
	sim_lat_nb = n;
	n = sim_le_steps(sim_itl_le, 0, 0, 50000, 500);
	n = sim_le_steps(sim_itl_le, n, 50000, 200000, 5000);
	static const double itail[] = {0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
	for (size_t i = 0; i < sizeof itail / sizeof itail[0]; i++)
		sim_itl_le[n++] = itail[i];
	sim_itl_nb = n;
}

void sim_hist_init(struct sim_server *srv)
{
	sim_hist_bounds_init();
	srv->hist[SIM_H_TTFT].le = sim_lat_le;
	srv->hist[SIM_H_TTFT].nb = sim_lat_nb;
	srv->hist[SIM_H_QUEUE].le = sim_queue_le;
	srv->hist[SIM_H_QUEUE].nb = (int)(sizeof sim_queue_le / sizeof sim_queue_le[0]);
	srv->hist[SIM_H_ITL].le = sim_itl_le;
	srv->hist[SIM_H_ITL].nb = sim_itl_nb;
	srv->hist[SIM_H_E2E].le = sim_e2e_le;
	srv->hist[SIM_H_E2E].nb = (int)(sizeof sim_e2e_le / sizeof sim_e2e_le[0]);
}

/* ------------------------------------------------------------------ other endpoints */
static void sim_handle_models(struct sim_conn *c, const char *req_id)
{
	struct sim_server *srv = c->w->srv;
	struct buf b;
	buf_init(&b);
	buf_printf(&b,
	           "{\"object\":\"list\",\"data\":[{\"id\":%s,\"object\":\"model\",\"created\":%lld,\"owned_by\":"
	           "\"veeksha-sim\","
	           "\"root\":%s,\"parent\":null,\"max_model_len\":%lld,\"permission\":[]}]}",
	           srv->model_json, (long long)(srv->start_ns > 0 ? clock_real_ns() / 1000000000LL : 0),
	           srv->model_json, (long long)srv->cfg->max_model_len);
	sim_respond(c, 200, "application/json", b.data, b.len, req_id);
	buf_free(&b);
}

static void sim_handle_tokenize(struct sim_conn *c, const char *body, size_t blen, const char *req_id)
{
	struct sim_server *srv = c->w->srv;
	cJSON *root = cJSON_ParseWithLength(body, blen);
	struct buf text;
	buf_init(&text);
	const char *emsg = NULL;
	if (!root || !cJSON_IsObject(root)) {
		emsg = "Invalid JSON in request body";
	} else {
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "prompt");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "messages");
		if (cJSON_IsString(p)) {
			buf_puts(&text, p->valuestring);
		} else if (cJSON_IsArray(m)) {
			const cJSON *it;
			cJSON_ArrayForEach(it, m)
			{
				const cJSON *ct =
				    cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "content") : NULL;
				if (cJSON_IsString(ct)) {
					buf_puts(&text, ct->valuestring);
					buf_putc(&text, ' ');
				} else if (cJSON_IsArray(ct)) {
					const cJSON *blk;
					cJSON_ArrayForEach(blk, ct)
					{
						const cJSON *tx = cJSON_GetObjectItemCaseSensitive(blk, "text");
						if (cJSON_IsString(tx)) {
							buf_puts(&text, tx->valuestring);
							buf_putc(&text, ' ');
						}
					}
				} else if (ct && !cJSON_IsNull(ct)) {
					emsg = "message 'content' must be a string, null or a list of content parts";
				}
			}
		} else {
			emsg = "'prompt' (string) or 'messages' (list) is required";
		}
	}
	if (emsg) {
		sim_respond_error(c, 400, emsg, req_id);
	} else {
		int32_t *ids;
		size_t n;
		sim_tok_encode(text.data ? text.data : "", text.len, &ids, &n);
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "{\"count\":%zu,\"max_model_len\":%lld,\"tokens\":[", n,
		           (long long)srv->cfg->max_model_len);
		for (size_t i = 0; i < n; i++)
			buf_printf(&b, i ? ",%d" : "%d", (int)ids[i]);
		/* "tokenizer" is ours (vLLM has no such field): a client whose own tokenizer is the same
		 * approximation then has no reason to ask this server for counts */
		buf_puts(&b, "],\"token_strs\":null,\"tokenizer\":");
		jsonw_escape(&b, sim_tok_name(), strlen(sim_tok_name()));
		buf_putc(&b, '}');
		sim_respond(c, 200, "application/json", b.data, b.len, req_id);
		buf_free(&b);
		free(ids);
	}
	buf_free(&text);
	cJSON_Delete(root);
}

static void sim_handle_detokenize(struct sim_conn *c, const char *body, size_t blen, const char *req_id)
{
	cJSON *root = cJSON_ParseWithLength(body, blen);
	const cJSON *t = root && cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "tokens") : NULL;
	if (!cJSON_IsArray(t)) {
		sim_respond_error(
		    c, 400, root ? "'tokens' (list of integers) is required" : "Invalid JSON in request body", req_id);
		cJSON_Delete(root);
		return;
	}
	size_t n = (size_t)cJSON_GetArraySize(t), i = 0;
	int32_t *ids = xcalloc(n + 1, sizeof *ids);
	const cJSON *it;
	bool ok = true;
	cJSON_ArrayForEach(it, t)
	{
		double d = cJSON_IsNumber(it) ? it->valuedouble : -1;
		if (!cJSON_IsNumber(it) || d != floor(d) || d < 0 || d >= (double)sim_tok_vocab_size()) {
			ok = false;
			break;
		}
		ids[i++] = (int32_t)d;
	}
	if (!ok) {
		sim_respond_error(c, 400, "'tokens' must be a list of valid token ids", req_id);
	} else {
		struct buf text, b;
		buf_init(&text);
		buf_init(&b);
		sim_tok_decode(ids, n, &text);
		struct jsonw w;
		jsonw_init(&w, &b, 0);
		jsonw_obj_begin(&w);
		jsonw_key(&w, "prompt");
		jsonw_strn(&w, text.data ? text.data : "", text.len);
		jsonw_obj_end(&w);
		sim_respond(c, 200, "application/json", b.data, b.len, req_id);
		buf_free(&text);
		buf_free(&b);
	}
	free(ids);
	cJSON_Delete(root);
}

static void sim_metric_head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sim_metric_hist(struct buf *b, const char *name, const char *help, const struct sim_hist *h, const char *m)
{
	sim_metric_head(b, name, "histogram", help);
	long long cum = 0;
	for (int i = 0; i <= h->nb; i++) {
		cum += atomic_load(&h->b[i]);
		if (i < h->nb)
			buf_printf(b, "%s_bucket{le=\"%g\",model_name=%s} %lld\n", name, h->le[i], m, cum);
		else
			buf_printf(b, "%s_bucket{le=\"+Inf\",model_name=%s} %lld\n", name, m, cum);
	}
	buf_printf(b, "%s_sum{model_name=%s} %.6f\n", name, m, (double)atomic_load(&h->sum_us) / 1e6);
	buf_printf(b, "%s_count{model_name=%s} %lld\n", name, m, (long long)atomic_load(&h->count));
}

/* GET /metrics: vLLM V1 names (with V0's gpu_cache_usage_perc too), or SGLang's with
 * --metrics-names sglang; every value comes from the engine state or the requests served
 * (docs/SIM.md, HTTP API; the mapping the benchmark reads: docs/OBSERVABILITY.md). */
static void sim_handle_metrics(struct sim_conn *c, const char *req_id)
{
	struct sim_server *srv = c->w->srv;
	long long running, waiting, preempt = 0, used_tokens = 0;
	double kv = 0;
	if (srv->engine) {
		pthread_mutex_lock(&srv->emu);
		running = sim_engine_running(srv->engine);
		waiting = sim_engine_waiting(srv->engine);
		kv = sim_engine_kv_usage(srv->engine);
		preempt = sim_engine_preemptions(srv->engine);
		used_tokens = sim_engine_kv_used_tokens(srv->engine);
		pthread_mutex_unlock(&srv->emu);
	} else {
		running = atomic_load(&srv->active_gen);
		waiting = 0;
	}
	const char *m = srv->model_json;
	long long prompt = atomic_load(&srv->prompt_tokens_total), gen = atomic_load(&srv->generation_tokens_total);
	long long ok_stop = atomic_load(&srv->success_stop), ok_len = atomic_load(&srv->success_length);
	struct buf b;
	buf_init(&b);
	if (srv->cfg->metrics_sglang) {
		sim_metric_head(&b, "sglang:num_running_reqs", "gauge", "The number of running requests.");
		buf_printf(&b, "sglang:num_running_reqs{model_name=%s} %lld\n", m, running);
		sim_metric_head(&b, "sglang:num_queue_reqs", "gauge", "The number of requests in the waiting queue.");
		buf_printf(&b, "sglang:num_queue_reqs{model_name=%s} %lld\n", m, waiting);
		sim_metric_head(&b, "sglang:token_usage", "gauge", "The token usage.");
		buf_printf(&b, "sglang:token_usage{model_name=%s} %.6f\n", m, kv);
		sim_metric_head(&b, "sglang:num_used_tokens", "gauge", "The number of used tokens.");
		buf_printf(&b, "sglang:num_used_tokens{model_name=%s} %lld\n", m, used_tokens);
		sim_metric_head(&b, "sglang:prompt_tokens_total", "counter", "Number of prefill tokens processed.");
		buf_printf(&b, "sglang:prompt_tokens_total{model_name=%s} %lld\n", m, prompt);
		sim_metric_head(&b, "sglang:generation_tokens_total", "counter",
		                "Number of generation tokens processed.");
		buf_printf(&b, "sglang:generation_tokens_total{model_name=%s} %lld\n", m, gen);
		sim_metric_head(&b, "sglang:num_requests_total", "counter", "Number of requests processed.");
		buf_printf(&b, "sglang:num_requests_total{model_name=%s} %lld\n", m, ok_stop + ok_len);
		sim_metric_head(&b, "sglang:num_retracted_requests_total", "counter",
		                "Total number of retracted requests.");
		buf_printf(&b, "sglang:num_retracted_requests_total{model_name=%s} %lld\n", m, preempt);
		sim_metric_hist(&b, "sglang:time_to_first_token_seconds",
		                "Histogram of time to first token in seconds.", &srv->hist[SIM_H_TTFT], m);
		sim_metric_hist(&b, "sglang:inter_token_latency_seconds",
		                "Histogram of inter-token latency in seconds.", &srv->hist[SIM_H_ITL], m);
		sim_metric_hist(&b, "sglang:e2e_request_latency_seconds",
		                "Histogram of End-to-end request latency in seconds", &srv->hist[SIM_H_E2E], m);
		if (srv->engine)
			sim_metric_hist(&b, "sglang:queue_time_seconds", "Histogram of queueing time in seconds.",
			                &srv->hist[SIM_H_QUEUE], m);
	} else {
		sim_metric_head(&b, "vllm:num_requests_running", "gauge",
		                "Number of requests in the model execution batch.");
		buf_printf(&b, "vllm:num_requests_running{model_name=%s} %lld\n", m, running);
		sim_metric_head(&b, "vllm:num_requests_waiting", "gauge",
		                "Number of requests waiting to be processed.");
		buf_printf(&b, "vllm:num_requests_waiting{model_name=%s} %lld\n", m, waiting);
		sim_metric_head(&b, "vllm:gpu_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.");
		buf_printf(&b, "vllm:gpu_cache_usage_perc{model_name=%s} %.6f\n", m, kv);
		sim_metric_head(&b, "vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.");
		buf_printf(&b, "vllm:kv_cache_usage_perc{model_name=%s} %.6f\n", m, kv);
		sim_metric_head(&b, "vllm:num_preemptions_total", "counter",
		                "Cumulative number of preemption from the engine.");
		buf_printf(&b, "vllm:num_preemptions_total{model_name=%s} %lld\n", m, preempt);
		sim_metric_head(&b, "vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.");
		buf_printf(&b, "vllm:prompt_tokens_total{model_name=%s} %lld\n", m, prompt);
		sim_metric_head(&b, "vllm:generation_tokens_total", "counter",
		                "Number of generation tokens processed.");
		buf_printf(&b, "vllm:generation_tokens_total{model_name=%s} %lld\n", m, gen);
		sim_metric_head(&b, "vllm:request_success_total", "counter",
		                "Count of successfully processed requests.");
		buf_printf(&b,
		           "vllm:request_success_total{finished_reason=\"stop\",model_name=%s} %lld\n"
		           "vllm:request_success_total{finished_reason=\"length\",model_name=%s} %lld\n",
		           m, ok_stop, m, ok_len);
		sim_metric_hist(&b, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
		                &srv->hist[SIM_H_TTFT], m);
		sim_metric_hist(&b, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
		                &srv->hist[SIM_H_ITL], m);
		sim_metric_hist(&b, "vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.",
		                &srv->hist[SIM_H_E2E], m);
		if (srv->engine)
			sim_metric_hist(&b, "vllm:request_queue_time_seconds",
			                "Histogram of time spent in WAITING phase for request.",
			                &srv->hist[SIM_H_QUEUE], m);
	}
	sim_metric_head(&b, "sim:requests_arrived_total", "counter", "Requests received by the simulated server.");
	buf_printf(&b, "sim:requests_arrived_total %lld\n", (long long)atomic_load(&srv->n_arrived));
	sim_metric_head(&b, "sim:error_responses_total", "counter", "Error responses sent.");
	buf_printf(&b, "sim:error_responses_total %lld\n", (long long)atomic_load(&srv->n_errors));
	sim_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len, req_id);
	buf_free(&b);
}

/* ------------------------------------------------------------------ request dispatch */
static bool sim_auth_ok(const struct sim_cfg *cfg, const struct sim_http_req *h)
{
	if (!cfg->api_key || !cfg->api_key[0])
		return true;
	size_t kl = strlen(cfg->api_key);
	struct sim_str a = h->authorization;
	if (a.n != 7 + kl || a.n < 7)
		return false;
	struct sim_str scheme = {a.p, 7};
	return sim_str_case_eq(scheme, "bearer ") && memcmp(a.p + 7, cfg->api_key, kl) == 0;
}

static bool sim_path_is(const struct sim_http_req *h, const char *p)
{
	return sim_str_eq(h->path, p);
}

void sim_handle_request(struct sim_conn *c, const struct sim_http_req *h, const char *body, size_t blen)
{
	struct sim_worker *w = c->w;
	struct sim_server *srv = w->srv;
	const struct sim_cfg *cfg = srv->cfg;
	int64_t arrival_ns = clock_mono_ns(), arrival_real_ns = clock_real_ns();
	/* Arrival = when the kernel received the request's last bytes, when known: the worker's own
	 * wake-up latency then neither delays the schedule nor hides in the emit log. */
	if (c->rx_real_ns > 0) {
		int64_t rx_mono = c->rx_real_ns - (arrival_real_ns - arrival_ns);
		if (rx_mono <= arrival_ns && arrival_ns - rx_mono < 1000000000LL) {
			arrival_ns = rx_mono;
			arrival_real_ns = c->rx_real_ns;
		}
	}
	long long n = atomic_fetch_add(&srv->n_arrived, 1) + 1;
	char req_id[128];
	if (h->request_id.n) {
		size_t k = 0;
		for (size_t i = 0; i < h->request_id.n && k + 1 < sizeof req_id; i++) {
			char ch = h->request_id.p[i];
			req_id[k++] = (ch == '"' || ch == '\\' || (unsigned char)ch < 0x20) ? '_' : ch;
		}
		req_id[k] = 0;
	} else {
		snprintf(req_id, sizeof req_id, "sim-%lld", n);
	}
	if (h->conn_close || (h->version_minor == 0 && !h->conn_keep_alive) || w->draining)
		c->close_after = true;

	bool loaded = clock_mono_ns() >= srv->loaded_at_ns;
	bool is_get = sim_str_eq(h->method, "GET");
	bool is_post = sim_str_eq(h->method, "POST");
	if (sim_path_is(h, "/health") || sim_path_is(h, "/ping")) {
		if (!loaded)
			sim_respond_error(c, 503, "model is loading (--startup-delay-s)", req_id);
		else
			sim_respond(c, 200, "application/json", "", 0, req_id);
		return;
	}
	if (sim_path_is(h, "/metrics")) {
		if (!is_get)
			sim_respond_error(c, 405, "Method Not Allowed", req_id);
		else
			sim_handle_metrics(c, req_id);
		return;
	}
	if (!loaded) {
		sim_respond_error(c, 503, "model is loading (--startup-delay-s)", req_id);
		return;
	}
	bool v1 = h->path.n >= 4 && memcmp(h->path.p, "/v1/", 4) == 0;
	if (v1 && !sim_auth_ok(cfg, h)) {
		sim_respond_error(c, 401, "Unauthorized: missing or invalid API key (Authorization: Bearer <key>)",
		                  req_id);
		return;
	}
	if (sim_path_is(h, "/v1/models")) {
		if (!is_get)
			sim_respond_error(c, 405, "Method Not Allowed", req_id);
		else
			sim_handle_models(c, req_id);
		return;
	}
	if (sim_path_is(h, "/version")) {
		static const char v[] = "{\"version\":\"" VK_VERSION "-veeksha-sim\"}";
		sim_respond(c, 200, "application/json", v, sizeof v - 1, req_id);
		return;
	}
	enum sim_api_kind kind;
	if (sim_path_is(h, "/v1/chat/completions"))
		kind = SIM_API_CHAT;
	else if (sim_path_is(h, "/v1/completions"))
		kind = SIM_API_COMPLETIONS;
	else if (sim_path_is(h, "/tokenize") || sim_path_is(h, "/detokenize")) {
		if (!is_post)
			sim_respond_error(c, 405, "Method Not Allowed", req_id);
		else if (sim_path_is(h, "/tokenize"))
			sim_handle_tokenize(c, body, blen, req_id);
		else
			sim_handle_detokenize(c, body, blen, req_id);
		return;
	} else {
		char msg[300];
		snprintf(msg, sizeof msg, "Not Found: %.*s", (int)(h->path.n > 200 ? 200 : h->path.n), h->path.p);
		for (char *p = msg; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\' || (unsigned char)*p >= 0x7f)
				*p = '?';
		sim_respond_error(c, 404, msg, req_id);
		return;
	}
	if (!is_post) {
		sim_respond_error(c, 405, "Method Not Allowed", req_id);
		return;
	}
	sim_handle_generate(c, h, body, blen, kind, req_id, arrival_ns, arrival_real_ns);
}
