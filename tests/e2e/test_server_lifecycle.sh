#!/bin/bash
# Managed-server lifecycle through the server module's test driver and a fake engine environment
# (tests/data/server/fake_env/bin/python runs `veeksha sim-server` or, until it is usable, a tiny
# Python stand-in). Covers: launch + readiness + provenance, port in use, crash during startup,
# never healthy (timeout within one interval), SIGKILL escalation, group shutdown, kill -9 of the
# parent, server dying mid-run, bad env_path, api_key redaction.
source "$(dirname "$0")/lib.sh" "$@"
BUILD=$(dirname "$VEEKSHA")
DRIVER=$BUILD/tests/unit/server/server_test_driver
DATA=$SRC/tests/data/server
FAKE_ENV=$DATA/fake_env
[ -x "$DRIVER" ] || { echo "FAIL - test driver not built: $DRIVER"; exit 1; }
export VEEKSHA_NVML_LIB=$BUILD/tests/unit/server/libfake_nvml.so
export FAKE_NVML_GPUS=80000:80000,80000:80000,80000:80000,80000:80000
export VEEKSHA_GPU_LOCK_DIR=$TMP/locks
export VEEKSHA_GPU_WAIT_TIMEOUT_S=5
export VEEKSHA_BIN=$VEEKSHA
KEY=sk-e2e-secret-7f3a
# type sim runs `<veeksha> sim-server`; the Python stand-in when this build's sim-server is not usable
SIM_EXE=$DATA/fake_sim_exe
"$VEEKSHA" sim-server --help >/dev/null 2>&1 && SIM_EXE=$VEEKSHA
MODEL=meta-llama/Llama-3-8B-Instruct

# jqe FILE FILTER: jq -e, quiet
jqe() { jq -e "$2" "$1" >/dev/null; }
# wait_line FILE REGEX SECS: poll until a line matches, bounded.
wait_line() {
  local i
  for i in $(seq 1 $(($3 * 20))); do
    grep -Eq "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
now_ms() { date +%s%3N; }
gone() { ! kill -0 "$1" 2>/dev/null; }

# ---- 1. happy path (vllm flavour), provenance, redaction, clean stop
port=$(e2e_free_port)
run=$TMP/run1
rc=0
"$DRIVER" --type vllm --env "$FAKE_ENV" --model "$MODEL" --api-key "$KEY" --port "$port" --run-dir "$run" \
  --tp 2 --hold 0.3 >"$TMP/out1" 2>"$TMP/err1" 7>"$TMP/leak-canary" || rc=$?
check "vllm: driver exit 0 (rc=$rc)" test "$rc" = 0
check "vllm: ready at api base" grep -q "^READY http://127.0.0.1:$port/v1$" "$TMP/out1"
check "vllm: got 2 contiguous GPUs" grep -q '^GPUS 0,1$' "$TMP/out1"
log=$(ls "$run"/server_logs_vllm_127.0.0.1_"$port"_*.log 2>/dev/null | head -1)
check "vllm: log file has the documented name" bash -c "[[ '$(basename "${log:-none}")' =~ ^server_logs_vllm_127\.0\.0\.1_${port}_[0-9]{8}-[0-9]{6}\.log$ ]]"
check "vllm: engine got CUDA_VISIBLE_DEVICES=0,1 and PATH from env_path" \
  grep -q "CUDA_VISIBLE_DEVICES=0,1 CUDA_DEVICE_ORDER=PCI_BUS_ID PATH0=$FAKE_ENV/bin" "$log"
check "vllm: engine inherits only stdin/stdout/stderr (fd 7 of the parent not leaked)" \
  bash -c "grep -q 'fake python: fds: 0 1 2 ' '$log' && ! grep -q 'fake python: fds: .* 7 ' '$log'"
check "vllm: engine module + flags" grep -q -- "module=vllm.entrypoints.openai.api_server" "$log"
check "vllm: --tensor-parallel-size 2 passed" grep -q -- "--tensor-parallel-size 2" "$log"
check "server.json written" test -s "$run/server.json"
check "server.json: type, gpu ids, engine version" \
  jqe "$run/server.json" '.type=="vllm" and .gpu_ids==[0,1] and .engine_version=="0.0.0+fake" and .exit_status.requested_stop==true and .ready_time!=null and .stop_time!=null'
check "vllm: api key passed in VLLM_API_KEY, not on argv (where ps shows it)" \
  bash -c "grep -q 'fake python: VLLM_API_KEY=<set, ${#KEY} bytes>' '$log' && ! grep -q -- '--api-key' '$log'"
check "server.json: no api key in argv" jqe "$run/server.json" '.argv | index("--api-key") == null'
check "api key absent from server.json" bash -c "! grep -q '$KEY' '$run/server.json'"
check "api key absent from stdout/stderr" bash -c "! grep -q '$KEY' '$TMP/out1' '$TMP/err1'"
spid=$(awk '/^PID/{print $2}' "$TMP/out1")
check "vllm: server process gone after stop" gone "$spid"
check "vllm: server process group gone" bash -c "! kill -0 -- -$spid 2>/dev/null"
check "leases released" bash -c "! flock -n -x $TMP/locks/gpu0.lock true 2>/dev/null; flock -n -x $TMP/locks/gpu0.lock true"

# ---- 2. sglang flavour: --model-path, --context-length, --api-key (deliberate fix)
port=$(e2e_free_port)
rc=0
"$DRIVER" --type sglang --env "$FAKE_ENV" --model "$MODEL" --api-key "$KEY" --port "$port" --run-dir "$TMP/run2" \
  --hold 0 >"$TMP/out2" 2>"$TMP/err2" || rc=$?
check "sglang: ready (rc=$rc)" grep -q "^READY" "$TMP/out2"
log=$(ls "$TMP/run2"/server_logs_sglang_127.0.0.1_"$port"_*.log | head -1)
check "sglang: launch module and --model-path" grep -q -- "module=sglang.launch_server" "$log"
check "sglang: --model-path and --api-key passed" grep -q -- "--model-path $MODEL --host 127.0.0.1 --port $port --api-key <redacted>" "$log"

# ---- 3. port already in use: clear error, nothing launched
port=$(e2e_free_port)
e2e_bg python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1',$port)); s.listen(); time.sleep(120)"
blocker=$E2E_LAST_PID
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
rc=0
"$DRIVER" --type vllm --env "$FAKE_ENV" --port "$port" --run-dir "$TMP/run3" >"$TMP/out3" 2>&1 || rc=$?
check "port in use: start fails (rc=$rc)" test "$rc" = 10
check "port in use: reference message" grep -q "Port $port on host '127.0.0.1' is already in use. Stop the existing process or update server_config.port to a free port." "$TMP/out3"
check "port in use: nothing launched (no log, no server.json)" bash -c "! ls '$TMP/run3'/server_logs_* >/dev/null 2>&1 && [ ! -e '$TMP/run3/server.json' ]"
kill "$blocker" 2>/dev/null || true

# ---- 4. crash during startup: diagnosis, hint, non-zero, log kept
port=$(e2e_free_port)
rc=0
FAKE_ENGINE_MODE=crash "$DRIVER" --type vllm --env "$FAKE_ENV" --port "$port" --run-dir "$TMP/run4" \
  >"$TMP/out4" 2>"$TMP/err4" || rc=$?
check "crash: not ready, non-zero (rc=$rc)" test "$rc" = 11
check "crash: last log lines printed" grep -q "last 50 lines of" "$TMP/err4"
check "crash: log content shown" grep -q "CUDA out of memory" "$TMP/err4"
check "crash: GPU OOM hint" grep -q "hint: the GPU ran out of memory" "$TMP/err4"
check "crash: exit code reported" grep -q "exited with code 1" "$TMP/out4"
check "crash: log kept" bash -c "ls '$TMP/run4'/server_logs_vllm_* >/dev/null"
check "crash: server.json records exit code 1" jqe "$TMP/run4/server.json" '.exit_status.code==1 and .exit_status.requested_stop==false'

# ---- 5. unknown argument: hint
port=$(e2e_free_port)
rc=0
FAKE_ENGINE_MODE=badarg "$DRIVER" --type vllm --env "$FAKE_ENV" --port "$port" --run-dir "$TMP/run5" \
  --args '{"no-such-flag": true}' >"$TMP/out5" 2>"$TMP/err5" || rc=$?
check "bad argument: not ready (rc=$rc)" test "$rc" = 11
check "bad argument: hint names additional_args" grep -q "hint: the server rejected an argument" "$TMP/err5"

# ---- 6. never healthy: timeout honoured within one interval
port=$(e2e_free_port)
rc=0
t0=$(now_ms)
FAKE_ENGINE_MODE=unhealthy "$DRIVER" --type vllm --env "$FAKE_ENV" --port "$port" --run-dir "$TMP/run6" \
  --timeout 2 --interval 0.5 >"$TMP/out6" 2>"$TMP/err6" || rc=$?
el=$(( $(now_ms) - t0 ))
check "unhealthy: not ready (rc=$rc)" test "$rc" = 11
check "unhealthy: timeout message" grep -q "did not become healthy within 2 s" "$TMP/err6"
# 2 s timeout + at most one 0.5 s interval (+ process start/stop slack)
check "unhealthy: gave up after >= 2 s and within one interval (${el} ms)" test "$el" -ge 2000 -a "$el" -lt 4000
spid=$(awk '/^PID/{print $2}' "$TMP/out6")
check "unhealthy: server stopped" gone "$spid"

# ---- 7. server ignoring SIGTERM: SIGKILL after the grace period
port=$(e2e_free_port)
rc=0
FAKE_ENGINE_NO_SIM=1 FAKE_ENGINE_MODE=stubborn VEEKSHA_SERVER_STOP_GRACE_S=1 "$DRIVER" --type vllm --env "$FAKE_ENV" \
  --port "$port" --run-dir "$TMP/run7" --hold 0 >"$TMP/out7" 2>"$TMP/err7" || rc=$?
check "stubborn: ready then stopped" grep -q "^STOPPED 137 terminated by SIGKILL (SIGKILL after the grace period)" "$TMP/out7"
spid=$(awk '/^PID/{print $2}' "$TMP/out7")
check "stubborn: server gone" gone "$spid"

# ---- 8. grandchildren die with the group on stop
port=$(e2e_free_port)
rc=0
FAKE_ENGINE_MODE=fork "$DRIVER" --type vllm --env "$FAKE_ENV" --port "$port" --run-dir "$TMP/run8" \
  --hold 0 >"$TMP/out8" 2>"$TMP/err8" || rc=$?
gc=$(grep -ho 'grandchild pid [0-9]*' "$TMP/run8"/server_logs_* | awk '{print $3}')
check "group stop: grandchild recorded" test -n "$gc"
check "group stop: grandchild gone" e2e_wait_gone "${gc:-1}" 5

# ---- 9. kill -9 of the parent: no server process left behind (also the engine's children)
port=$(e2e_free_port)
FAKE_ENGINE_MODE=fork e2e_bg "$DRIVER" --type vllm --env "$FAKE_ENV" --port "$port" \
  --run-dir "$TMP/run9" --hold -1 >"$TMP/out9" 2>"$TMP/err9"
drv=$E2E_LAST_PID
check "kill -9: server became ready" wait_line "$TMP/out9" '^READY' 20
spid=$(awk '/^PID/{print $2}' "$TMP/out9")
gc=$(grep -ho 'grandchild pid [0-9]*' "$TMP/run9"/server_logs_* | awk '{print $3}')
kill -9 "$drv"
check "kill -9: server process gone" e2e_wait_gone "$spid" 5
check "kill -9: engine child gone" e2e_wait_gone "${gc:-1}" 5
check "kill -9: port free again" bash -c "for i in \$(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null || exit 0; sleep 0.05; done; exit 1"

# ---- 9b. a process the engine started in a new session (outside its group) dies with the server,
# on a normal stop and when the parent is killed (the supervisor is a child subreaper)
for how in stop kill9; do
  port=$(e2e_free_port)
  if [ $how = stop ]; then
    FAKE_ENGINE_MODE=escape "$DRIVER" --type vllm --env "$FAKE_ENV" --port "$port" --run-dir "$TMP/run9$how" \
      --hold 0 >"$TMP/out9$how" 2>"$TMP/err9$how" || true
  else
    FAKE_ENGINE_MODE=escape e2e_bg "$DRIVER" --type vllm --env "$FAKE_ENV" --port "$port" \
      --run-dir "$TMP/run9$how" --hold -1 >"$TMP/out9$how" 2>"$TMP/err9$how"
    drv=$E2E_LAST_PID
    wait_line "$TMP/out9$how" '^READY' 20 || true
    kill -9 "$drv"
  fi
  esc=$(grep -ho 'escaped pid [0-9]*' "$TMP/run9$how"/server_logs_* | awk '{print $3}')
  check "escaped ($how): the engine's process outside its group recorded" test -n "$esc"
  check "escaped ($how): it is gone" e2e_wait_gone "${esc:-1}" 10
  [ -z "$esc" ] || kill "$esc" 2>/dev/null || true # (this test's own leftover, when it failed)
done

# ---- 10. server dies mid-run: noticed as unexpected
port=$(e2e_free_port)
e2e_bg "$DRIVER" --type vllm --env "$FAKE_ENV" --port "$port" --run-dir "$TMP/run10" --hold -1 >"$TMP/out10" 2>"$TMP/err10"
drv=$E2E_LAST_PID
check "mid-run: ready" wait_line "$TMP/out10" '^READY' 20
spid=$(awk '/^PID/{print $2}' "$TMP/out10")
kill -9 "$spid"
check "mid-run: driver notices the death" wait_line "$TMP/out10" '^DIED unexpectedly' 10
check "mid-run: exit reported" wait_line "$TMP/out10" '^STOPPED 137 terminated by SIGKILL' 10
check "mid-run: server.json says unrequested" jqe "$TMP/run10/server.json" '.exit_status.requested_stop==false and .exit_status.signal=="SIGKILL"'

# ---- 11. env_path without bin/python: config error, nothing started
rc=0
"$DRIVER" --type vllm --env "$TMP/no-such-env" --port "$(e2e_free_port)" --run-dir "$TMP/run11" >"$TMP/out11" 2>&1 || rc=$?
check "bad env_path: start fails (rc=$rc)" test "$rc" = 10
check "bad env_path: message names bin/python" grep -q "no-such-env/bin/python does not exist" "$TMP/out11"

# ---- 12. sim type needs no GPU and no env
port=$(e2e_free_port)
rc=0
FAKE_NVML_GPUS="" VEEKSHA_SELF_EXE=$SIM_EXE "$DRIVER" --type sim --model "$MODEL" --port "$port" \
  --run-dir "$TMP/run12" --hold 0 >"$TMP/out12" 2>"$TMP/err12" || rc=$?
check "sim on a GPU-less host: ready (rc=$rc)" grep -q '^READY' "$TMP/out12"
check "sim: no GPUs assigned" grep -q '^GPUS$' "$TMP/out12"
check "sim: log name" bash -c "ls '$TMP/run12'/server_logs_sim_127.0.0.1_${port}_*.log >/dev/null"

# ---- 13. sim type: additional_args reach the sim
port=$(e2e_free_port)
rc=0
VEEKSHA_SELF_EXE=$SIM_EXE "$DRIVER" --type sim --model "$MODEL" --port "$port" --run-dir "$TMP/run13" --hold 0 \
  --args '{"preset": "llama3.2-1b-l40s", "seed": 3, "log-requests": true}' >"$TMP/out13" 2>&1 || rc=$?
check "sim: ready with additional args (rc=$rc)" grep -q '^READY' "$TMP/out13"
check "sim: argv carries them" jqe "$TMP/run13/server.json" '.argv[-5:] == ["--preset", "llama3.2-1b-l40s", "--seed", "3", "--log-requests"]'

e2e_finish
