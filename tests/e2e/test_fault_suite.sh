#!/usr/bin/env bash
# Fault suite (issue 21 item 13, docs/FAILURES.md "Tests"): `veeksha benchmark` against misbehaving
# servers — tests/tools/fault_server (one scenario per path), a self-signed https server, a closed
# port, and the sim's own fault flags. After each run (3 requests, --fail-on-slo): the exit code
# (3 = SLOs honestly not met, 0 = all fine), dispatched = completed + errored + cancelled, every
# output file parses, each failed row carries the expected error_class and a non-empty error_msg,
# and the verdict is honest (all_slos_met false, verdict_reasons, "All SLOs met: no").
# One case by hand:  FAULT_ONLY=only_done bash tests/e2e/test_fault_suite.sh build/veeksha .
source "$(dirname "$0")/lib.sh" "$@"
source "$(dirname "$0")/fault_lib.sh"
want() { [ -z "${FAULT_ONLY:-}" ] || [ "$FAULT_ONLY" = "$1" ]; }

FS=$(fault_server_bin)
fport=$(e2e_free_port)
e2e_bg "$FS" --port "$fport" 2> "$TMP/fault_server.err"
fs_pid=$E2E_LAST_PID
e2e_wait_http "http://127.0.0.1:$fport/health" 10
fs_base() { echo "http://127.0.0.1:$fport/$1/v1"; }

# scenario  expected exit  expected classes (fault_lib.sh)  [client YAML lines]
cases=(
  "ok               0 none"
  "garbage          3 stream_protocol|empty|reset"
  "bad_json         3 stream_protocol"
  "no_done          3 stream_protocol|reset"
  "only_done        3 empty"
  "bad_chunked      3 stream_protocol|reset"
  "truncated_chunk  3 reset|stream_protocol"
  "endless          3 too_large"
  "html             3 stream_protocol|empty"
  "reset            3 reset"
  "stall_head       3 timeout"
  "stall_body       3 timeout"
  "slowloris        3 timeout"
  "joined_events    3 stream_protocol"
  "error_type_event 3 server_error"
  "after_done       3 stream_protocol"
  "gzip_coded       3 stream_protocol"
  "two_choices      3 stream_protocol"
  "bare_error       3 server_error"
  "tool_calls       0 none"
)
for c in "${cases[@]}"; do
  read -r scen rc classes <<<"$c"
  want "$scen" || continue
  # endless: a 256 KiB response cap instead of the 64 MiB default keeps the case short;
  # stalls: 2 requests at once and a 1 s request_timeout bound the case to ~1 s
  case $scen in
    stall_*|slowloris) export FAULT_SESSIONS=2 FAULT_REQUEST_TIMEOUT=1 ;;
    *) unset FAULT_SESSIONS FAULT_REQUEST_TIMEOUT ;;
  esac
  fault_run "$scen" "$(fs_base "$scen")" "max_response_bytes: 262144"
  unset FAULT_SESSIONS FAULT_REQUEST_TIMEOUT
  fault_check "$scen" "$rc" "$classes"
done

# non-streaming requests (client.stream false): a JSON answer is the baseline, and so is a complete
# SSE stream (the client reads what the server sent, by its Content-Type); an empty answer or an
# HTML page fail. Only a TTFC objective: a non-streamed answer has no time between chunks, and the
# default TBC objective fails with "no data".
ttfc_only="evaluators: [{type: performance, slos: [{type: constant, metric: ttfc, percentile: 0.5, value: 30}]}]"
for c in "json_ok 0 none" "json_empty 3 empty" "ok 0 none" "html 3 stream_protocol|empty"; do
  read -r scen rc classes <<<"$c"
  want "${scen}_nostream" || continue
  FAULT_EVALUATORS=$ttfc_only fault_run "${scen}_nostream" "$(fs_base "$scen")" "stream: false"
  fault_check "${scen}_nostream" "$rc" "$classes"
done

# a 10 MiB event: under the default 64 MiB cap it is a (large) answer; under a 1 MiB cap it fails.
# (Only a TTFC objective: a one-chunk answer has no time between chunks, and the default TBC
# objective fails with "no data".)
if want big_event; then
  FAULT_SESSIONS=2 FAULT_EVALUATORS=$ttfc_only fault_run big_event "$(fs_base big_event)"
  fault_check big_event 0 none
  FAULT_SESSIONS=2 fault_run big_event_capped "$(fs_base big_event)" "max_response_bytes: 1048576"
  fault_check big_event_capped 3 too_large
fi
check "fault_server survived every scenario" kill -0 "$fs_pid"

# nothing listens on the port: connect errors, with the client's own code (>= 1000), not a 503
if want refused; then
  cport=$(e2e_free_port)
  fault_run refused "http://127.0.0.1:$cport/v1"
  fault_check refused 3 connect
  check "refused: the code is the client's own (1001), not an HTTP status" \
    jq -se '[.[] | select(.success == false) | .error_code] | length > 0 and all(. == 1001)' \
    "$run_dir/metrics/request_level_metrics.jsonl"
fi

# https with a self-signed certificate (openssl s_server, when the openssl tool exists)
if want tls; then
  if command -v openssl > /dev/null; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
      -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2> /dev/null
    tport=$(e2e_free_port)
    e2e_bg openssl s_server -quiet -accept "$tport" -cert "$TMP/cert.pem" -key "$TMP/key.pem" -www \
      < /dev/null > /dev/null 2>&1
    for _ in $(seq 1 100); do curl -sk --max-time 1 -o /dev/null "https://127.0.0.1:$tport/" && break; sleep 0.05; done
    fault_run tls "https://127.0.0.1:$tport/v1"
    fault_check tls 3 tls
    check "tls: the message says why (certificate)" grep -qi "certif" "$run_dir/metrics/request_level_metrics.jsonl"
  else
    echo "SKIP: tls case (no openssl tool)"
  fi
fi

# the sim's own fault flags
sim_case() { # NAME EXPECT_RC CLASSES [sim flags...]
  local name=$1 rc=$2 classes=$3; shift 3
  want "$name" || return 0
  local port; port=$(e2e_free_port)
  # not e2e_start_sim: with --refuse-connections or --startup-delay-s /health never answers 200
  e2e_bg "$VEEKSHA" sim-server --host 127.0.0.1 --port "$port" --model sim-model "$@" 2> "$TMP/$name.sim.err"
  E2E_SIM_PID=$E2E_LAST_PID
  for _ in $(seq 1 200); do grep -q listening "$TMP/$name.sim.err" && break; sleep 0.05; done
  FAULT_MODEL=sim-model fault_run "$name" "http://127.0.0.1:$port/v1"
  fault_check "$name" "$rc" "$classes"
  kill -TERM "$E2E_SIM_PID"; e2e_wait_gone "$E2E_SIM_PID" 10 || true
}
sim_case sim_ok 0 none --mode fixed --ttft-ms 5 --itl-ms 1
# seed 1: requests 0-5 get 200 500 500 200 500 500 (decided per X-Request-Id): a mixed run
FAULT_SESSIONS=6 sim_case sim_fail_rate 3 "http" --mode zero --fail-rate 0.5 --seed 1
fail_rate_dir=$run_dir
sim_case sim_disconnect 3 "reset" --mode fixed --ttft-ms 5 --itl-ms 5 --disconnect-rate 1
sim_case sim_error_event 3 "server_error" --mode fixed --ttft-ms 5 --itl-ms 5 --error-event-rate 1
FAULT_SESSIONS=2 FAULT_REQUEST_TIMEOUT=1 sim_case sim_stall 3 "timeout" --mode fixed --ttft-ms 5 --itl-ms 5 --stall-ms 5000
sim_case sim_refuse 3 "connect|reset" --mode zero --refuse-connections
sim_case sim_startup_503 3 "http" --mode zero --startup-delay-s 60
if want sim_fail_rate; then
  # acceptance: the summary names the error rate and the top error message
  check "sim_fail_rate: console names the error rate" grep -qi "error rate" "$TMP/sim_fail_rate.out"
  check "sim_fail_rate: console names the top error message" grep -q "simulated internal server error" "$TMP/sim_fail_rate.out"
  check "sim_fail_rate: error_code 500 with class http" \
    jq -e '.top_errors[0] | .class == "http" and .code == 500' "$fail_rate_dir/metrics/summary_stats.json"
  check "sim_fail_rate: 2 completed, 4 errored (a partly failed run fails its verdict)" \
    jq -e '."Number of Completed Requests" == 2 and ."Number of Errored Requests" == 4' "$fail_rate_dir/metrics/summary_stats.json"
fi
# the server dies after 2 requests: later requests fail to connect; the run ends, accounted
if want sim_crash; then
  e2e_start_sim 0 --mode zero --crash-after 2 2> /dev/null
  port=$E2E_SIM_PORT
  sim_pid=$E2E_SIM_PID
  FAULT_MODEL=sim-model FAULT_SESSIONS=6 fault_run sim_crash "http://127.0.0.1:$port/v1"
  fault_check sim_crash 3 "any:connect|reset"
  check "sim_crash: some requests failed after the crash" \
    jq -e '."Number of Errored Requests" >= 3' "$run_dir/metrics/summary_stats.json"
  check "sim_crash: the sim exited by itself" e2e_wait_gone "$sim_pid" 5
fi
e2e_finish
