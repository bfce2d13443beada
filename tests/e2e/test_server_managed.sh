#!/bin/bash
# Managed benchmarks through `veeksha benchmark` (seed document examples) with fake engine
# environments whose bin/python runs `veeksha sim-server` with the engine's flags:
#  - "Full managed benchmark" (sglang, env_path: ~/envs/sglang) and "Comparing servers" (vllm, sglang)
#    run to completion, the documented log exists, the client talked to the launched server, nothing
#    of the server's group is alive afterwards, the api_key never appears in config.yml, server.json
#    or stdout;
#  - kill -9 of veeksha during a managed run leaves no server process behind;
#  - the server dying mid-benchmark -> errors recorded, outputs written, non-zero exit, message;
#  - SIGINT stops the server cleanly; port already in use -> clear error, non-zero, nothing launched.
# Deviations from the seed text: ports are free ports (not 30000/8000, which may be busy on a shared
# test host) and benchmark_timeout is a few seconds.
source "$(dirname "$0")/lib.sh" "$@"
BUILD=$(dirname "$VEEKSHA")
DATA=$SRC/tests/data/server
if ! "$VEEKSHA" sim-server --help >/dev/null 2>&1; then
  echo "FAIL - veeksha sim-server is not usable"; exit 1
fi
export VEEKSHA_BIN=$VEEKSHA
export VEEKSHA_NVML_LIB=$BUILD/tests/unit/server/libfake_nvml.so
export FAKE_NVML_GPUS=80000:80000,80000:80000
export VEEKSHA_GPU_LOCK_DIR=$TMP/locks
export HOME=$TMP/home
mkdir -p "$HOME/envs"
ln -s "$DATA/fake_env" "$HOME/envs/sglang"
cd "$TMP"
ln -s "$DATA/fake_env" vllm_env
ln -s "$DATA/fake_env" sglang_env

wait_line() {
  local i
  for i in $(seq 1 $(($3 * 20))); do
    grep -Eq "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
jqe() { jq -e "$2" "$1" >/dev/null; }
port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
# check_run RUNDIR TYPE PORT LABEL
check_run() {
  local run=$1 type=$2 port=$3 label=$4 log served done_n pid
  log=$(ls "$run"/server_logs_"${type}"_localhost_"${port}"_*.log 2>/dev/null | head -1)
  check "$label: server log with the documented name" bash -c "[[ '$(basename "${log:-none}")' =~ ^server_logs_${type}_localhost_${port}_[0-9]{8}-[0-9]{6}\.log$ ]]"
  check "$label: server.json" jqe "$run/server.json" ".type==\"$type\" and .exit_status.requested_stop==true"
  done_n=$(jq '."Number of Completed Requests"' "$run/metrics/summary_stats.json" 2>/dev/null || echo 0)
  served=$(grep -o 'stopped ([0-9]* requests served)' "${log:-/dev/null}" | grep -o '[0-9]*' | head -1)
  check "$label: requests completed without errors ($done_n)" jqe "$run/metrics/summary_stats.json" '."Number of Completed Requests" > 0 and ."Error Rate" == 0'
  check "$label: the client talked to the launched server (served ${served:-?} >= completed $done_n)" test "${served:-0}" -ge "$done_n"
  pid=$(jq '.pid' "$run/server.json")
  check "$label: no server process left" bash -c "! kill -0 $pid 2>/dev/null && ! kill -0 -- -$pid 2>/dev/null"
  check "$label: port released" port_free "$port"
}

# ---- seed: Full managed benchmark (managed_benchmark.veeksha.yml)
p1=$(e2e_free_port)
cat > managed_benchmark.veeksha.yml <<YML
# managed_benchmark.veeksha.yml
seed: 42
output_dir: benchmark_output

server:
  type: sglang
  env_path: ~/envs/sglang
  model: meta-llama/Llama-3-8B-Instruct
  host: localhost
  port: $p1
  api_key: sk-managed-e2e-9d2c
  tensor_parallel_size: 1
  max_model_len: 8192
  startup_timeout: 300

client:
  type: openai_chat_completions
  request_timeout: 120
  max_tokens_param: max_tokens
  min_tokens_param: min_tokens

traffic_scheduler:
  type: rate
  interval_generator:
    type: poisson
    arrival_rate: 10.0

session_generator:
  type: synthetic
  session_graph:
    type: linear
    inherit_history: true
  channels:
    - type: text
      body_length_generator:
        type: uniform
        min: 100
        max: 500
  output_spec:
    text:
      output_length_generator:
        type: uniform
        min: 100
        max: 300

runtime:
  benchmark_timeout: 2
  max_sessions: -1

evaluators:
  - type: performance
    target_channels: ["text"]
YML
rc=0
timeout 120 "$VEEKSHA" benchmark --config managed_benchmark.veeksha.yml >full.out 2>full.err || rc=$?
check "full managed benchmark: exit 0 (rc=$rc)" test "$rc" = 0
run=$(ls -d benchmark_output/*/ 2>/dev/null | head -1)
check "full managed benchmark: run directory" test -n "$run"
check_run "${run%/}" sglang "$p1" "full managed"
check "full managed: ~ in env_path expanded" jqe "${run%/}/server.json" ".env_path==\"$DATA/fake_env\""
check "full managed: sglang got --api-key and --context-length" bash -c "grep -q -- '--api-key <redacted> --dtype auto --context-length 8192' ${run%/}/server_logs_*.log"
check "api_key not in config.yml" bash -c "! grep -q sk-managed-e2e-9d2c ${run%/}/config.yml"
check "api_key not in server.json" bash -c "! grep -q sk-managed-e2e-9d2c ${run%/}/server.json"
check "api_key not on stdout/stderr" bash -c "! grep -q sk-managed-e2e-9d2c full.out full.err"

# ---- seed: Comparing servers (base_config.yml + flattened flags)
cat > base_config.yml <<'YML'
# base_config.yml
session_generator:
  type: synthetic
  session_graph:
    type: linear
  channels:
    - type: text
      body_length_generator:
        type: fixed
        value: 512
  output_spec:
    text:
      output_length_generator:
        type: fixed
        value: 256

traffic_scheduler:
  type: concurrent
  target_concurrent_sessions: 8
  rampup_seconds: 5

runtime:
  benchmark_timeout: 120
YML
p2=$(e2e_free_port)
rc=0
timeout 120 "$VEEKSHA" benchmark \
    --benchmark-config-from-file base_config.yml \
    --server-type vllm \
    --vllm-server-env-path vllm_env \
    --vllm-server-model meta-llama/Llama-3.2-1B-Instruct \
    --vllm-server-port "$p2" --runtime-benchmark-timeout 2 --concurrent-traffic-scheduler-rampup-seconds 1 \
    --output-dir results/vllm >vllm.out 2>vllm.err || rc=$?
check "compare vllm: exit 0 (rc=$rc)" test "$rc" = 0
run=$(ls -d results/vllm/*/ 2>/dev/null | head -1)
check_run "${run%/}" vllm "$p2" "compare vllm"
p3=$(e2e_free_port)
rc=0
timeout 120 "$VEEKSHA" benchmark \
    --benchmark-config-from-file base_config.yml \
    --server-type sglang \
    --sglang-server-env-path sglang_env \
    --sglang-server-model meta-llama/Llama-3-8B-Instruct \
    --sglang-server-port "$p3" --runtime-benchmark-timeout 2 --concurrent-traffic-scheduler-rampup-seconds 1 \
    --output-dir results/sglang >sglang.out 2>sglang.err || rc=$?
check "compare sglang: exit 0 (rc=$rc)" test "$rc" = 0
run=$(ls -d results/sglang/*/ 2>/dev/null | head -1)
check_run "${run%/}" sglang "$p3" "compare sglang"

# ---- kill -9 of veeksha during a managed run: nothing survives
p4=$(e2e_free_port)
e2e_bg timeout 120 "$VEEKSHA" benchmark --benchmark-config-from-file base_config.yml --server-type vllm \
  --vllm-server-env-path vllm_env --vllm-server-port "$p4" --vllm-server-health-check-interval 0.2 \
  --runtime-benchmark-timeout 60 --output-dir results/kill9 >kill9.out 2>kill9.err
wrapper=$E2E_LAST_PID
check "kill -9: server ready" wait_line kill9.err 'server ready at' 30
vk=$(pgrep -P "$wrapper" -x veeksha || true)
run=$(ls -d results/kill9/*/ | head -1)
spid=$(jq '.pid' "${run%/}/server.json")
check "kill -9: found veeksha ($vk) and server ($spid)" test -n "$vk" -a -n "$spid"
kill -9 "$vk"
check "kill -9: server process gone" e2e_wait_gone "$spid" 5
check "kill -9: server group gone" bash -c "for i in \$(seq 1 100); do kill -0 -- -$spid 2>/dev/null || exit 0; sleep 0.05; done; exit 1"
check "kill -9: port released" bash -c "for i in \$(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$p4) 2>/dev/null || exit 0; sleep 0.05; done; exit 1"

# ---- SIGINT: the server is shut down cleanly, outputs written
p5=$(e2e_free_port)
e2e_bg "$VEEKSHA" benchmark --benchmark-config-from-file base_config.yml --server-type vllm \
  --vllm-server-env-path vllm_env --vllm-server-port "$p5" --vllm-server-health-check-interval 0.2 \
  --runtime-benchmark-timeout 60 --output-dir results/sigint >sigint.out 2>sigint.err
vk=$E2E_LAST_PID
check "SIGINT: server ready" wait_line sigint.err 'server ready at' 30
kill -INT "$vk"
check "SIGINT: veeksha exits" e2e_wait_gone "$vk" 30
run=$(ls -d results/sigint/*/ | head -1)
spid=$(jq '.pid' "${run%/}/server.json")
check "SIGINT: server stopped on request" jqe "${run%/}/server.json" '.exit_status.requested_stop==true and .stop_time!=null'
check "SIGINT: no server process left" bash -c "! kill -0 $spid 2>/dev/null"

# ---- server killed mid-benchmark: errors recorded, outputs written, non-zero exit with a message
p7=$(e2e_free_port)
e2e_bg "$VEEKSHA" benchmark --benchmark-config-from-file base_config.yml --server-type vllm \
  --vllm-server-env-path vllm_env --vllm-server-port "$p7" --vllm-server-health-check-interval 0.2 \
  --runtime-benchmark-timeout 60 --output-dir results/mid >mid.out 2>mid.err
vk=$E2E_LAST_PID
check "mid-run death: server ready" wait_line mid.err 'server ready at' 30
run=$(ls -d results/mid/*/ | head -1)
spid=$(jq '.pid' "${run%/}/server.json")
kill -9 "$spid"
check "mid-run death: veeksha exits" e2e_wait_gone "$vk" 60
rc=0; wait "$vk" || rc=$?
check "mid-run death: non-zero exit (rc=$rc)" test "$rc" != 0
check "mid-run death: message about the server" grep -qi "server.*\(exited\|died\)" mid.err
check "mid-run death: says how it ended and where its log is" \
  grep -q "the vllm server terminated by SIGKILL during the benchmark; its log: ${run%/}/server_logs_vllm_" mid.err
check "mid-run death: the log's last lines are printed" grep -q "last 50 lines of ${run%/}/server_logs_vllm_" mid.err
check "mid-run death: outputs written" test -s "${run%/}/metrics/summary_stats.json"
check "mid-run death: server.json records the unrequested SIGKILL" jqe "${run%/}/server.json" '.exit_status.signal=="SIGKILL" and .exit_status.requested_stop==false'

# ---- port already in use
p6=$(e2e_free_port)
e2e_bg python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1',$p6)); s.listen(); time.sleep(120)"
blocker=$E2E_LAST_PID
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$p6) 2>/dev/null && break; sleep 0.05; done
rc=0
timeout 60 "$VEEKSHA" benchmark --benchmark-config-from-file base_config.yml --server-type vllm \
  --vllm-server-env-path vllm_env --vllm-server-port "$p6" --runtime-benchmark-timeout 2 \
  --output-dir results/busy >busy.out 2>busy.err || rc=$?
check "port in use: non-zero exit (rc=$rc)" test "$rc" != 0
check "port in use: reference message" grep -q "Port $p6 on host 'localhost' is already in use" busy.err
check "port in use: no server launched" bash -c "! ls results/busy/*/server_logs_* >/dev/null 2>&1"
kill "$blocker" 2>/dev/null || true

e2e_finish
