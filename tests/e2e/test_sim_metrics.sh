#!/usr/bin/env bash
# The sim's GET /metrics: every name the server-metrics scrape maps (docs/OBSERVABILITY.md) is
# served with values from the requests it served - vLLM names by default, SGLang's with
# --metrics-names sglang or when launched as `-m sglang.launch_server`; the page parses cleanly
# (histogram buckets cumulative, +Inf bucket = _count).
source "$(dirname "$0")/lib.sh" "$@"

# 5 streamed requests of 12 tokens each, one at a time
load() {
  local base=$1 i
  for i in 1 2 3 4 5; do
    curl -s -X POST "$base/v1/chat/completions" -H 'Content-Type: application/json' \
      -d '{"model":"sim-model","messages":[{"role":"user","content":"a b c d"}],"stream":true,"max_tokens":12,"ignore_eos":true}' >/dev/null
  done
}
value() { awk -v n="$1" '$1 ~ "^"n"({|$)" {s += $2} END {print s + 0}' "$2"; }

e2e_start_sim 0 --rt-priority 0 --max-num-seqs 4 2>/dev/null
port=$E2E_SIM_PORT
base="http://127.0.0.1:$port"
load "$base"
curl -s "$base/metrics" >"$TMP/v.txt"
for m in vllm:num_requests_running vllm:num_requests_waiting vllm:kv_cache_usage_perc vllm:gpu_cache_usage_perc \
  vllm:num_preemptions_total vllm:prompt_tokens_total vllm:generation_tokens_total vllm:request_success_total \
  vllm:time_to_first_token_seconds_bucket vllm:inter_token_latency_seconds_bucket \
  vllm:e2e_request_latency_seconds_bucket vllm:request_queue_time_seconds_bucket; do
  check "vllm names: $m" grep -q "^$m{" "$TMP/v.txt"
done
check "no sglang names by default" bash -c "! grep -q '^sglang:' '$TMP/v.txt'"
check "generation tokens = 5 x 12" [ "$(value vllm:generation_tokens_total "$TMP/v.txt")" = 60 ]
check "request success = 5" [ "$(value vllm:request_success_total "$TMP/v.txt")" = 5 ]
check "TTFT count = 5" [ "$(value vllm:time_to_first_token_seconds_count "$TMP/v.txt")" = 5 ]
check "E2E count = 5" [ "$(value vllm:e2e_request_latency_seconds_count "$TMP/v.txt")" = 5 ]
check "queue-time count = 5" [ "$(value vllm:request_queue_time_seconds_count "$TMP/v.txt")" = 5 ]
check "ITL count = 5 x 11 gaps" [ "$(value vllm:inter_token_latency_seconds_count "$TMP/v.txt")" = 55 ]
check "idle: nothing running or waiting" [ "$(value vllm:num_requests_running "$TMP/v.txt")" = 0 ]
# buckets are cumulative and end at _count
check "TTFT buckets cumulative, +Inf = count" python3 - "$TMP/v.txt" <<'PY'
import sys
prev = -1; inf = None; count = None
for line in open(sys.argv[1]):
    if line.startswith("vllm:time_to_first_token_seconds_bucket"):
        v = float(line.split()[-1]); assert v >= prev, line; prev = v
        if 'le="+Inf"' in line: inf = v
    if line.startswith("vllm:time_to_first_token_seconds_count"):
        count = float(line.split()[-1])
assert inf == count == 5, (inf, count)
PY

e2e_start_sim 0 --rt-priority 0 --metrics-names sglang 2>/dev/null
port2=$E2E_SIM_PORT
load "http://127.0.0.1:$port2"
curl -s "http://127.0.0.1:$port2/metrics" >"$TMP/s.txt"
for m in sglang:num_running_reqs sglang:num_queue_reqs sglang:token_usage sglang:prompt_tokens_total \
  sglang:generation_tokens_total sglang:num_requests_total sglang:num_retracted_requests_total \
  sglang:time_to_first_token_seconds_bucket sglang:inter_token_latency_seconds_bucket \
  sglang:e2e_request_latency_seconds_bucket sglang:queue_time_seconds_bucket; do
  check "sglang names: $m" grep -q "^$m{" "$TMP/s.txt"
done
check "no vllm names as sglang" bash -c "! grep -q '^vllm:' '$TMP/s.txt'"
check "sglang generation tokens = 60" [ "$(value sglang:generation_tokens_total "$TMP/s.txt")" = 60 ]
check "sglang requests = 5" [ "$(value sglang:num_requests_total "$TMP/s.txt")" = 5 ]

# launched the way a managed SGLang server with a fake python launches it
port3=$(e2e_free_port)
e2e_bg "$VEEKSHA" sim-server -m sglang.launch_server --host 127.0.0.1 --port "$port3" --model-path sim-model --rt-priority 0 2>/dev/null
e2e_wait_http "http://127.0.0.1:$port3/health" 15
check "-m sglang.launch_server serves SGLang names" bash -c "curl -s http://127.0.0.1:$port3/metrics | grep -q '^sglang:num_queue_reqs{'"
check "bad --metrics-names is a usage error" bash -c "'$VEEKSHA' sim-server --metrics-names tgi >/dev/null 2>&1; [ \$? = 2 ]"
e2e_finish
