# Shared helpers for end-to-end tests. Usage in a test:
#   source "$(dirname "$0")/lib.sh" "$@"     # sets VEEKSHA, SRC, TMP (removed on exit)
#   e2e_start_sim 0 [sim-server flags...]; port=$E2E_SIM_PORT   # the sim binds a port the kernel picks
#   port=$(e2e_free_port)   # a port for anything else that must be told its port before it starts
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
  local r
  for r in "${E2E_PORT_DIR:-/nonexistent}"/*; do
    [ -d "$r" ] && [ "$(cat "$r/pid" 2>/dev/null)" = "$$" ] && rm -rf "$r"
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

# A free TCP port on 127.0.0.1 for a process that must be given its port (a managed server, the fault
# server). A port found free and closed again is not safe by itself: the kernel hands the same
# numbers to outgoing connections and to other tests asking for port 0 before our process binds it.
# So the port is taken below the kernel's ephemeral range (never used for outgoing connections)
# and reserved for this test run (a directory per port naming our PID, removed at exit; one left by a
# dead test is taken over), then checked free with a bind. The sim-server needs none of this:
# e2e_start_sim 0 lets it bind port 0 and report the port it got.
E2E_PORT_DIR=${TMPDIR:-/tmp}/vk-e2e-ports
e2e_free_port() {
  local lo hi _ port r owner
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
  hi=$((lo - 1)); lo=$((lo > 20000 ? lo - 12000 : 1024))
  mkdir -p "$E2E_PORT_DIR"
  for _ in $(seq 1 200); do
    port=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
    r=$E2E_PORT_DIR/$port
    if ! mkdir "$r" 2>/dev/null; then
      owner=$(cat "$r/pid" 2>/dev/null || true)
      [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null || continue
      rm -rf "$r"; mkdir "$r" 2>/dev/null || continue # a dead test's reservation: take it over
    fi
    echo "$$" >"$r/pid"
    if python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.close()' "$port" 2>/dev/null; then
      echo "$port"
      return 0
    fi
    rm -rf "$r"
  done
  echo "e2e_free_port: no free port in $lo-$hi after 200 tries" >&2
  return 1
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

# Start the simulated server: e2e_start_sim PORT [sim-server flags...]; waits for /health = 200 and
# sets E2E_SIM_PID and E2E_SIM_PORT. PORT 0: the sim binds a port the kernel picks and writes it to
# a --port-file (no window in which another process can take it). It serves the model id
# `sim-model` unless --model is given.
E2E_SIM_N=0
e2e_start_sim() {
  local port=$1; shift
  local model_args=(--model sim-model) port_args=() pf i
  case " $* " in *" --model "*) model_args=();; esac
  if [ "$port" = 0 ]; then
    E2E_SIM_N=$((E2E_SIM_N + 1)); pf=$TMP/sim-port.$E2E_SIM_N
    port_args=(--port-file "$pf")
  fi
  e2e_bg "$VEEKSHA" sim-server --host 127.0.0.1 --port "$port" "${port_args[@]}" "${model_args[@]}" "$@"
  E2E_SIM_PID=$E2E_LAST_PID
  if [ "$port" = 0 ]; then
    for i in $(seq 1 300); do
      [ -s "$pf" ] && break
      kill -0 "$E2E_SIM_PID" 2>/dev/null || { echo "sim-server exited before listening" >&2; return 1; }
      sleep 0.05
    done
    port=$(cat "$pf" 2>/dev/null || true)
    [ -n "$port" ] || { echo "sim-server wrote no port to $pf within 15 s" >&2; return 1; }
  fi
  E2E_SIM_PORT=$port
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
