#!/usr/bin/env bash
# sim-server accepts the launch argv of vLLM, SGLang and Vajra (as Veeksha's managed servers build
# them), so a fake <env>/bin/python can exec it; unknown flags are logged and ignored.
source "$(dirname "$0")/lib.sh" "$@"

mkdir -p "$TMP/env/bin"
cat >"$TMP/env/bin/python" <<PY
#!/bin/sh
exec "$VEEKSHA" sim-server "\$@"
PY
chmod +x "$TMP/env/bin/python"
PY="$TMP/env/bin/python"

run_env() { # name port args...
  local name=$1 port=$2; shift 2
  e2e_bg "$PY" "$@" 2>"$TMP/$name.err"
  E2E_SIM_PID=$E2E_LAST_PID
  e2e_wait_http "http://127.0.0.1:$port/health" 15
}
stop_sim() { kill -TERM "$1"; e2e_wait_gone "$1" 10; wait "$1" && rc=0 || rc=$?; check "$2: SIGTERM exit 0 ($rc)" [ "$rc" = 0 ]; }

# vLLM
port=$(e2e_free_port)
run_env vllm "$port" -m vllm.entrypoints.openai.api_server --model meta-llama/Llama-3-8B-Instruct --host 127.0.0.1 \
  --port "$port" --api-key k1 --tensor-parallel-size 2 --dtype auto --max-model-len 4096 --enable-prefix-caching \
  --gpu-memory-utilization 0.85 --rope-scaling '{"rope_type":"dynamic","factor":2.0}' --trust-remote-code
s=$E2E_SIM_PID
m=$(curl -s -H 'Authorization: Bearer k1' "http://127.0.0.1:$port/v1/models")
check "vllm: served id" [ "$(jq -r '.data[0].id' <<<"$m")" = meta-llama/Llama-3-8B-Instruct ]
check "vllm: max_model_len" [ "$(jq -r '.data[0].max_model_len' <<<"$m")" = 4096 ]
check "vllm: api key enforced" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/models")" = 401 ]
check "vllm: unknown flags logged" grep -q "ignoring unsupported flag --enable-prefix-caching" "$TMP/vllm.err"
check "vllm: rope-scaling value consumed" grep -q "ignoring unsupported flag --rope-scaling {" "$TMP/vllm.err"
check "vllm: architecture from model id, TP 2" grep -q "llama3-8b on 2 x H100" "$TMP/vllm.err"
out=$(curl -s -H 'Authorization: Bearer k1' "http://127.0.0.1:$port/v1/chat/completions" \
  -d '{"model":"meta-llama/Llama-3-8B-Instruct","messages":[{"role":"user","content":"hi"}],"max_tokens":3,"ignore_eos":true}')
check "vllm: chat works" [ "$(jq .usage.completion_tokens <<<"$out")" = 3 ]
stop_sim "$s" vllm

# SGLang (no api key flag; booleans as "--k False"; lists as one argument)
port=$(e2e_free_port)
run_env sglang "$port" -m sglang.launch_server --model-path Qwen/Qwen2.5-7B-Instruct --host 127.0.0.1 --port "$port" \
  --tensor-parallel-size 2 --dtype auto --context-length 2048 --disable-radix-cache False --cuda-graph-bs "[1, 2, 4]" \
  --tp-size 2
s=$E2E_SIM_PID
m=$(curl -s "http://127.0.0.1:$port/v1/models")
check "sglang: served id" [ "$(jq -r '.data[0].id' <<<"$m")" = Qwen/Qwen2.5-7B-Instruct ]
check "sglang: context length" [ "$(jq -r '.data[0].max_model_len' <<<"$m")" = 2048 ]
check "sglang: qwen architecture" grep -q "qwen2.5-7b on 2 x H100" "$TMP/sglang.err"
check "sglang: 'False' consumed as a value" grep -q "ignoring unsupported flag --disable-radix-cache False" "$TMP/sglang.err"
stop_sim "$s" sglang

# Vajra (repeated list flags)
port=$(e2e_free_port)
run_env vajra "$port" -m vajra_server.server --model some-org/unknown-model --host 127.0.0.1 --port "$port" \
  --tensor-parallel-size 4 --api-key k3 --max-model-len 1024 --replica-ids 0 --replica-ids 1
s=$E2E_SIM_PID
check "vajra: unknown model -> notice" grep -q "not a known architecture" "$TMP/vajra.err"
check "vajra: key" [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer k3' "http://127.0.0.1:$port/v1/models")" = 200 ]
stop_sim "$s" vajra

# --list-presets and --help exit 0; a bad value exits 2
check "--list-presets" bash -c "'$VEEKSHA' sim-server --list-presets | grep -q llama3-70b-h100-tp4"
check "--help" bash -c "'$VEEKSHA' sim-server --help | grep -q -- --emit-log"
set +e; "$VEEKSHA" sim-server --port nope 2>/dev/null; rc=$?; "$VEEKSHA" sim-server --preset nope 2>/dev/null; rc2=$?; set -e
check "bad --port exits 2 ($rc)" [ "$rc" = 2 ]
check "bad --preset exits 2 ($rc2)" [ "$rc2" = 2 ]
set +e; "$VEEKSHA" sim-server --model-arch llama3-70b --gpu L40S 2>"$TMP/nofit.err"; rc=$?; set -e
check "70B on one L40S does not fit: exit 2 ($rc)" [ "$rc" = 2 ]
# Fixed mode's timing flags: without --mode they select fixed mode (they were silently ignored by
# the roofline model); with another mode they are an error.
set +e
timeout -k 2 10 "$VEEKSHA" sim-server --host 127.0.0.1 --port "$(e2e_free_port)" --mode zero --ttft-ms 50 2>"$TMP/modeerr.txt"
rc=$?
set -e
check "--ttft-ms with --mode zero: exit 2 ($rc)" [ "$rc" = 2 ]
check "--ttft-ms with --mode zero: says why" grep -q -- "--ttft-ms applies to --mode fixed (got --mode zero)" "$TMP/modeerr.txt"
port=$(e2e_free_port)
e2e_bg "$VEEKSHA" sim-server --host 127.0.0.1 --port "$port" --model sim-model --ttft-ms 400 --itl-ms 1 2>"$TMP/fixed.err"
s=$E2E_LAST_PID
e2e_wait_http "http://127.0.0.1:$port/health" 15
check "--ttft-ms alone selects fixed mode (notice)" grep -q "using --mode fixed" "$TMP/fixed.err"
t=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/v1/chat/completions" \
  -d '{"model":"sim-model","messages":[{"role":"user","content":"hi"}],"max_tokens":2,"stream":true}')
check "--ttft-ms 400 alone: stream lasts >= 0.4 s (got $t s)" python3 -c "import sys; sys.exit(0 if float('$t') >= 0.39 else 1)"
stop_sim "$s" fixed

e2e_finish
