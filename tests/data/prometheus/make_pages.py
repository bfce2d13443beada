#!/usr/bin/env python3
"""Writes the /metrics pages used by the scraper tests (docs/OBSERVABILITY.md, Tests).

The pages follow what prometheus_client (which vLLM and SGLang use) prints for the metric names,
types, labels and bucket bounds of each engine's documentation/source: vLLM V1 (0.10-era
PrometheusStatLogger), vLLM V0 (0.6-era), SGLang (TokenizerMetricsCollector and SchedulerMetricsCollector).
Two pages per engine: <engine>_a.txt (start of a run) and <engine>_b.txt (end of it); the
unit test checks the deltas and gauges below. Run from this directory: python3 make_pages.py
"""

TTFT_B = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0]
ITL_B = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0]
REQ_B = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0]
SG_TTFT_B = [0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400]
SG_ITL_B = [0.002, 0.004, 0.006, 0.008, 0.010, 0.015, 0.020, 0.025, 0.030, 0.035, 0.040, 0.060, 0.080, 0.100, 0.200, 0.400]
SG_E2E_B = [0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400, 600, 1200]
SG_Q_B = [0.0, 0.1, 0.2, 0.5, 1, 2, 3, 4, 5, 10, 15, 20, 30, 60]

CREATED = 1765000000.123


def fmt(v):
    return repr(float(v))


def lab(d):
    return "{" + ",".join('%s="%s"' % (k, v) for k, v in d) + "}" if d else ""


class Page:
    def __init__(self, created):
        self.out = []
        self.created = created

    def gauge(self, name, doc, series):
        self.out.append("# HELP %s %s" % (name, doc))
        self.out.append("# TYPE %s gauge" % name)
        for labels, v in series:
            self.out.append("%s%s %s" % (name, lab(labels), fmt(v)))

    def counter(self, name, doc, series):
        self.out.append("# HELP %s_total %s" % (name, doc))
        self.out.append("# TYPE %s_total counter" % name)
        for labels, v in series:
            self.out.append("%s_total%s %s" % (name, lab(labels), fmt(v)))
        if self.created:
            self.out.append("# HELP %s_created %s" % (name, doc))
            self.out.append("# TYPE %s_created gauge" % name)
            for labels, v in series:
                self.out.append("%s_created%s %s" % (name, lab(labels), fmt(CREATED)))

    def hist(self, name, doc, labels, bounds, obs):
        """obs: list of observed values (seconds)"""
        self.out.append("# HELP %s %s" % (name, doc))
        self.out.append("# TYPE %s histogram" % name)
        for b in bounds:
            n = sum(1 for x in obs if x <= b)
            self.out.append("%s_bucket%s %s" % (name, lab(labels + [("le", fmt(b))]), fmt(n)))
        self.out.append("%s_bucket%s %s" % (name, lab(labels + [("le", "+Inf")]), fmt(len(obs))))
        self.out.append("%s_count%s %s" % (name, lab(labels), fmt(len(obs))))
        self.out.append("%s_sum%s %s" % (name, lab(labels), fmt(sum(obs))))
        if self.created:
            self.out.append("# HELP %s_created %s" % (name, doc))
            self.out.append("# TYPE %s_created gauge" % name)
            self.out.append("%s_created%s %s" % (name, lab(labels), fmt(CREATED)))

    def text(self):
        return "\n".join(self.out) + "\n"


def process_metrics(p):
    # what prometheus_client adds on its own: not an engine metric, filtered by the prefixes
    p.out.append("# HELP python_gc_objects_collected_total Objects collected during gc")
    p.out.append("# TYPE python_gc_objects_collected_total counter")
    for g in range(3):
        p.out.append('python_gc_objects_collected_total{generation="%d"} %s' % (g, fmt(1234 * (g + 1))))
    p.out.append("# HELP process_resident_memory_bytes Resident memory size in bytes.")
    p.out.append("# TYPE process_resident_memory_bytes gauge")
    p.out.append("process_resident_memory_bytes 2.1474836e+09")


M = "meta-llama/Llama-3.1-8B-Instruct"


def vllm_v1(end):
    # V1: labels model_name, engine; counters with _created (no PROMETHEUS_MULTIPROC_DIR)
    L = [("model_name", M), ("engine", "0")]
    p = Page(True)
    process_metrics(p)
    p.gauge("vllm:num_requests_running", "Number of requests in model execution batches.", [(L, 12 if end else 3)])
    p.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", [(L, 5 if end else 0)])
    p.gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", [(L, 0.62 if end else 0.05)])
    p.counter("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", [(L, 50000 if end else 10000)])
    p.counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", [(L, 30000 if end else 6000)])
    p.counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.", [(L, 7 if end else 2)])
    p.counter("vllm:prompt_tokens", "Number of prefill tokens processed.", [(L, 50000 if end else 10000)])
    p.counter("vllm:generation_tokens", "Number of generation tokens processed.", [(L, 25000 if end else 5000)])
    p.counter("vllm:request_success", "Count of successfully processed requests.",
              [(L + [("finished_reason", "stop")], 150 if end else 40),
               (L + [("finished_reason", "length")], 50 if end else 10),
               (L + [("finished_reason", "abort")], 0)])
    # 100 requests before the run; the run adds 100 more with TTFT 0.15 s (all in (0.1, 0.25])
    ttft = [0.03] * 100 + ([0.15] * 100 if end else [])
    p.hist("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", L, TTFT_B, ttft)
    itl = [0.02] * 1000 + ([0.03] * 1000 if end else [])
    p.hist("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", L, ITL_B, itl)
    e2e = [1.2] * 100 + ([4.0] * 100 if end else [])
    p.hist("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", L, REQ_B, e2e)
    q = [0.1] * 100 + ([0.4] * 100 if end else [])
    p.hist("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", L, REQ_B, q)
    p.hist("vllm:request_prompt_tokens", "Number of prefill tokens processed.", L, [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000], [250] * (200 if end else 100))
    p.gauge("vllm:cache_config_info", "Information of the LLMEngine CacheConfig",
            [([("block_size", "16"), ("cache_dtype", "auto"), ("enable_prefix_caching", "True"), ("gpu_memory_utilization", "0.9"), ("num_gpu_blocks", "29184")], 1.0)])
    return p.text()


def vllm_v0(end):
    L = [("model_name", M)]
    p = Page(False)  # multiprocess mode: no _created samples
    process_metrics(p)
    p.gauge("vllm:num_requests_running", "Number of requests currently running on GPU.", [(L, 10 if end else 2)])
    p.gauge("vllm:num_requests_swapped", "Number of requests swapped to CPU.", [(L, 0)])
    p.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", [(L, 4 if end else 0)])
    p.gauge("vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage.", [(L, 0.55 if end else 0.04)])
    p.gauge("vllm:cpu_cache_usage_perc", "CPU KV-cache usage. 1 means 100 percent usage.", [(L, 0.0)])
    p.gauge("vllm:gpu_prefix_cache_hit_rate", "GPU prefix cache block hit rate.", [(L, 0.4)])
    p.gauge("vllm:cpu_prefix_cache_hit_rate", "CPU prefix cache block hit rate.", [(L, -1)])
    p.counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.", [(L, 3 if end else 1)])
    p.counter("vllm:prompt_tokens", "Number of prefill tokens processed.", [(L, 40000 if end else 8000)])
    p.counter("vllm:generation_tokens", "Number of generation tokens processed.", [(L, 20000 if end else 4000)])
    p.counter("vllm:request_success", "Count of successfully processed requests.",
              [(L + [("finished_reason", "stop")], 120 if end else 30), (L + [("finished_reason", "length")], 40 if end else 10)])
    ttft = [0.03] * 40 + ([0.6] * 120 if end else [])
    p.hist("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", L, TTFT_B, ttft)
    tpot = [0.02] * 400 + ([0.04] * 1600 if end else [])
    p.hist("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.", L, ITL_B, tpot)
    e2e = [1.2] * 40 + ([3.0] * 120 if end else [])
    p.hist("vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.", L, REQ_B, e2e)
    q = [0.1] * 40 + ([0.9] * 120 if end else [])
    p.hist("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", L, REQ_B, q)
    return p.text()


def sglang(end):
    L = [("model_name", M), ("engine_type", "unified"), ("tp_rank", "0")]
    p = Page(False)
    process_metrics(p)
    p.counter("sglang:prompt_tokens", "Number of prefill tokens processed.", [(L, 64000 if end else 16000)])
    p.counter("sglang:generation_tokens", "Number of generation tokens processed.", [(L, 32000 if end else 8000)])
    p.counter("sglang:cached_tokens", "Number of cached prompt tokens.", [(L, 16000 if end else 4000)])
    p.counter("sglang:num_requests", "Number of requests processed.", [(L, 300 if end else 60)])
    p.counter("sglang:num_aborted_requests", "Number of requests aborted.", [(L, 0)])
    p.counter("sglang:num_retracted_requests", "Total number of retracted requests.", [(L, 9 if end else 4)])
    ttft = [0.15] * 60 + ([0.5] * 240 if end else [])
    p.hist("sglang:time_to_first_token_seconds", "Histogram of time to first token in seconds.", L, SG_TTFT_B, ttft)
    itl = [0.012] * 600 + ([0.018] * 2400 if end else [])
    p.hist("sglang:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", L, SG_ITL_B, itl)
    e2e = [2.5] * 60 + ([5.0] * 240 if end else [])
    p.hist("sglang:e2e_request_latency_seconds", "Histogram of End-to-end request latency in seconds", L, SG_E2E_B, e2e)
    p.gauge("sglang:num_running_reqs", "The number of running requests.", [(L, 40 if end else 8)])
    p.gauge("sglang:num_used_tokens", "The number of used tokens.", [(L, 123859 if end else 9000)])
    p.gauge("sglang:token_usage", "The token usage.", [(L, 0.71 if end else 0.05)])
    p.gauge("sglang:gen_throughput", "The generation throughput (token/s).", [(L, 1650.5)])
    p.gauge("sglang:num_queue_reqs", "The number of requests in the waiting queue.", [(L, 26 if end else 0)])
    p.gauge("sglang:cache_hit_rate", "The prefix cache hit rate.", [(L, 0.25)])
    q = [0.05] * 60 + ([1.5] * 240 if end else [])
    p.hist("sglang:queue_time_seconds", "Histogram of queueing time in seconds.", L, SG_Q_B, q)
    p.hist("sglang:func_latency_seconds", "Function latency in seconds", [("name", "generate_request")], [0.05, 0.075, 0.1125], [0.01] * 10)
    return p.text()


if __name__ == "__main__":
    for name, fn in (("vllm_v1", vllm_v1), ("vllm_v0", vllm_v0), ("sglang", sglang)):
        for tag, end in (("a", False), ("b", True)):
            with open("%s_%s.txt" % (name, tag), "w") as f:
                f.write(fn(end))
