#!/usr/bin/env bash
# Managed servers end to end, with fake engine environments whose bin/python runs `veeksha sim-server`
# with the engine's own flags, on a fake 4-GPU host (fake nvidia-smi on PATH):
#  - the seed's "Comparing servers" command lines (vllm and sglang) and its "Full managed benchmark"
#    example run to completion; server logs exist with the documented names; the client was pointed
#    at the launched server; no process of the server's group survives; the api_key is never written;
#  - kill -9 of veeksha during a managed run leaves no server process behind.
# Added flags only bound the run time and pick free ports (--*-server-port, --runtime-*).
source "$(dirname "$0")/lib.sh" "$@"
export VEEKSHA_BIN="$VEEKSHA"
export PATH="$SRC/tests/data/server/fake_bin:$PATH"
export FAKE_SMI_GPUS="81920:81920,81920:81920,81920:81920,81920:81920"
export VEEKSHA_NVML_LIB=/nonexistent/libnvidia-ml.so.1
export VEEKSHA_GPU_LOCK_DIR="$TMP/gpu-locks"
cd "$TMP"
mkenv() { mkdir -p "$1/bin"; cp "$SRC/tests/data/server/fake_env/bin/python" "$1/bin/python"; chmod +x "$1/bin/python";
          [ -d "$SRC/tests/data/server/fake_env/lib" ] && cp -r "$SRC/tests/data/server/fake_env/lib" "$1/" || true; }
mkenv vllm_env
mkenv sglang_env
cp "$SRC/examples/base_config.yml" base_config.yml

no_group_left() { # $1 = server.json: the server's process group must be empty
  local pid
  pid=$(jq -r '.pid // .server_pid // empty' "$1")
  [ -n "$pid" ] || return 1
  ! pgrep -g "$pid" > /dev/null
}

# --- Comparing servers: vllm then sglang, exactly the seed's flags plus bounds ---
for engine in vllm sglang; do
  case $engine in
    vllm) model=meta-llama/Llama-3.2-1B-Instruct ;;
    sglang) model=meta-llama/Llama-3-8B-Instruct ;;
  esac
  port=$(e2e_free_port)
  rc=0
  "$VEEKSHA" benchmark \
      --benchmark-config-from-file base_config.yml \
      --server-type $engine \
      --$engine-server-env-path ${engine}_env \
      --$engine-server-model $model \
      --output-dir results/$engine \
      --$engine-server-port "$port" --runtime-max-sessions 3 --runtime-benchmark-timeout 40 \
      > "$engine.out" 2> "$engine.err" || rc=$?
  check "$engine: benchmark exits 0 (rc=$rc)" test "$rc" -eq 0
  run=$(ls -d results/$engine/*/ | head -1)
  check "$engine: server log with the documented name" bash -c "ls '$run' | grep -Eq '^server_logs_${engine}_localhost_${port}_[0-9]{8}-[0-9]{6}\.log$'"
  check "$engine: the engine was launched with its own module" grep -q "module=$( [ $engine = vllm ] && echo vllm.entrypoints.openai.api_server || echo sglang.launch_server)" "$run"/server_logs_*.log
  check "$engine: GPUs assigned through CUDA_VISIBLE_DEVICES" grep -q "CUDA_VISIBLE_DEVICES=[0-9]" "$run"/server_logs_*.log
  check "$engine: requests completed against the launched server" jq -e '."Number of Completed Requests" > 0 and ."Number of Errored Requests" == 0' "$run/metrics/summary_stats.json"
  check "$engine: server.json provenance" jq -e ".type == \"$engine\" and (.argv|length) > 3" "$run/server.json"
  check "$engine: no server process left" no_group_left "$run/server.json"
  check "$engine: api key never written" bash -c "! grep -rq 'token-abc123' '$run' '$engine.out'"
done

# --- Full managed benchmark (the seed's YAML as written; env under ~/envs/sglang) ---
export HOME="$TMP/home"
mkenv "$HOME/envs/sglang"
cp "$SRC/examples/managed_benchmark.veeksha.yml" managed_benchmark.veeksha.yml
port=$(e2e_free_port)
rc=0
"$VEEKSHA" benchmark --config managed_benchmark.veeksha.yml --sglang-server-port "$port" \
  --runtime-benchmark-timeout 6 > managed.out 2> managed.err || rc=$?
check "managed example exits 0 (rc=$rc)" test "$rc" -eq 0
run=$(ls -d benchmark_output/*/ | head -1)
check "managed example: sglang log in the run directory" bash -c "ls '$run' | grep -Eq '^server_logs_sglang_localhost_${port}_'"
check "managed example: requests completed" jq -e '."Number of Completed Requests" > 0' "$run/metrics/summary_stats.json"
check "managed example: no server process left" no_group_left "$run/server.json"
check "managed example: config.yml keeps the server section" grep -q "type: sglang" "$run/config.yml"

# --- kill -9 of veeksha leaves no server behind ---
port=$(e2e_free_port)
e2e_bg "$VEEKSHA" benchmark --benchmark-config-from-file base_config.yml --server-type vllm \
  --vllm-server-env-path vllm_env --vllm-server-port "$port" --runtime-benchmark-timeout 60 --output-dir results/killed
vpid=$E2E_LAST_PID
e2e_wait_http "http://localhost:$port/health" 20 || true
spid=$(pgrep -P "$vpid" | head -1 || true)
check "server child running before kill -9" test -n "$spid"
kill -KILL "$vpid"
check "server gone within 5 s of kill -9" e2e_wait_gone "${spid:-999999}" 5
check "no process of the server group left" bash -c "! pgrep -g '${spid:-999999}' > /dev/null"
e2e_finish
