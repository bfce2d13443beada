# Shared helpers for end-to-end tests. Usage in a test:
#   source "$(dirname "$0")/lib.sh" "$@"     # sets VEEKSHA, SRC, TMP (removed on exit)
#   port=$(e2e_free_port); e2e_start_sim --port "$port" ...; e2e_wait_http "http://127.0.0.1:$port/health" 10
# Every background process started through e2e_bg is killed by PID at exit.
set -euo pipefail
VEEKSHA=$(readlink -f "$1")
SRC=$(readlink -f "$2")
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vk-e2e.XXXXXX")
E2E_PIDS=()
E2E_FAILS=0
E2E_PASSES=0

e2e_cleanup() {
  local pid
  for pid in "${E2E_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${E2E_PIDS[@]:-}"; do
    [ -n "$pid" ] || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "${E2E_KEEP_TMP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap e2e_cleanup EXIT

# Start a command in the background, remember its PID in E2E_LAST_PID.
e2e_bg() {
  "$@" &
  E2E_LAST_PID=$!
  E2E_PIDS+=("$E2E_LAST_PID")
}

# A free TCP port on 127.0.0.1 (asks the kernel).
e2e_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# e2e_wait_http URL SECONDS [EXPECTED_STATUS=200]: poll until the URL answers, bounded.
e2e_wait_http() {
  local url=$1 secs=$2 want=${3:-200} i code
  for i in $(seq 1 $((secs * 20))); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)
    [ "$code" = "$want" ] && return 0
    sleep 0.05
  done
  echo "timeout waiting for $url (last status $code)" >&2
  return 1
}

# e2e_wait_gone PID SECONDS: wait until a process has exited, bounded.
e2e_wait_gone() {
  local pid=$1 secs=$2 i
  for i in $(seq 1 $((secs * 20))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.05
  done
  return 1
}

# Start the simulated server: e2e_start_sim PORT [sim-server flags...]; waits for /health = 200.
# It serves the model id `sim-model` unless --model is given.
e2e_start_sim() {
  local port=$1; shift
  local model_args=(--model sim-model)
  case " $* " in *" --model "*) model_args=();; esac
  e2e_bg "$VEEKSHA" sim-server --host 127.0.0.1 --port "$port" "${model_args[@]}" "$@"
  E2E_SIM_PID=$E2E_LAST_PID
  e2e_wait_http "http://127.0.0.1:$port/health" 15
}

# e2e_single_cfg FILE PORT [key=value ...]: a benchmark config of single-request sessions against
# the sim at 127.0.0.1:PORT. Keys (defaults): traffic ({type: concurrent, target_concurrent_sessions:
# 4, rampup_seconds: 0, cancel_session_on_failure: false}), prompt (16), output (8), sessions (60),
# timeout (60), client (extra client keys, e.g. ", stream: false"), evaluators (a YAML list; none:
# the defaults), trace (true|false, the dispatch trace recorder).
e2e_single_cfg() {
  local file=$1 port=$2; shift 2
  local traffic="{type: concurrent, target_concurrent_sessions: 4, rampup_seconds: 0, cancel_session_on_failure: false}"
  local prompt=16 output=8 sessions=60 timeout=60 client="" evaluators="" trace=""
  local kv
  for kv in "$@"; do
    case $kv in
      traffic=*) traffic=${kv#*=} ;; prompt=*) prompt=${kv#*=} ;; output=*) output=${kv#*=} ;;
      sessions=*) sessions=${kv#*=} ;; timeout=*) timeout=${kv#*=} ;; client=*) client=${kv#*=} ;;
      evaluators=*) evaluators=${kv#*=} ;; trace=*) trace=${kv#*=} ;;
      *) echo "e2e_single_cfg: unknown key in '$kv'" >&2; return 1 ;;
    esac
  done
  {
    echo "client: {type: openai_chat_completions, api_base: \"http://127.0.0.1:$port/v1\", model: sim-model$client}"
    echo "traffic_scheduler: $traffic"
    echo "session_generator:"
    echo "  type: synthetic"
    echo "  session_graph: {type: single_request}"
    echo "  channels: [{type: text, body_length_generator: {type: fixed, value: $prompt}}]"
    echo "  output_spec: {text: {output_length_generator: {type: fixed, value: $output}}}"
    echo "runtime: {max_sessions: $sessions, benchmark_timeout: $timeout}"
    [ -z "$trace" ] || echo "trace_recorder: {enabled: $trace}"
    [ -z "$evaluators" ] || echo "evaluators: $evaluators"
  } > "$file"
}

# Assertions: count passes/fails; e2e_finish prints "N passed, N failed" and sets the exit code.
ok() { E2E_PASSES=$((E2E_PASSES+1)); echo "ok - $*"; }
fail() { E2E_FAILS=$((E2E_FAILS+1)); echo "FAIL - $*"; }
check() { local desc=$1; shift; if "$@"; then ok "$desc"; else fail "$desc"; fi; }
e2e_finish() {
  echo "$E2E_PASSES passed, $E2E_FAILS failed"
  [ "$E2E_FAILS" -eq 0 ]
}
