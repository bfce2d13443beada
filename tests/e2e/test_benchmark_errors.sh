#!/usr/bin/env bash
# Failure paths of `veeksha benchmark`: config errors (exit 2, no run directory), a server that
# fails requests (errors recorded, run continues), --fail-on-slo (exit 3), no api_base, durations
# past the int64 ns range (no timeout, not an instant one).
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
# 1. config error: unknown key -> exit 2 with file:line and key, no run directory
cat > bad.yml <<'YML'
runtime:
  max_sesions: 3
YML
rc=0; "$VEEKSHA" benchmark --config bad.yml --output_dir "$TMP/bad_out" 2> err.txt || rc=$?
check "unknown key exits 2" test "$rc" -eq 2
check "message names file:line and the key" grep -q "bad.yml:2" err.txt
check "message names the key path" grep -q "runtime.max_sesions" err.txt
check "no run directory for a config error" test ! -e "$TMP/bad_out"
# 2. no api_base and no server -> exit 2
rc=0; env -u OPENAI_API_BASE "$VEEKSHA" benchmark --output_dir "$TMP/noapi" 2> err2.txt || rc=$?
check "missing api_base exits 2" test "$rc" -eq 2
check "missing api_base message" grep -q "api_base" err2.txt
check "no run directory without api_base" test ! -e "$TMP/noapi"

# 3. a server failing 30% of requests: errors recorded with their codes, run completes
e2e_start_sim 0 --mode fixed --ttft-ms 5 --itl-ms 1 --fail-rate 0.3 --seed 7
port=$E2E_SIM_PORT
e2e_single_cfg cfg.yml "$port" \
  "evaluators=[{type: performance, slos: [{type: constant, metric: ttfc, percentile: 0.5, value: 0.000001}]}]"
rc=0; "$VEEKSHA" benchmark --config cfg.yml --output_dir "$TMP/out" --quiet > out.txt || rc=$?
check "run with server errors exits 0 (SLOs not met is not a failure)" test "$rc" -eq 0
s=$(ls "$TMP"/out/*/metrics/summary_stats.json)
check "errors counted" jq -e '."Number of Errored Requests" > 5' "$s"
check "every request completed or errored" jq -e '."Number of Errored Requests" + ."Number of Completed Requests" == ."Number of Requests"' "$s"
check "error codes recorded (500)" jq -e '.error_code_freq."500" > 0' "$s"
check "slo not met recorded" jq -e '.all_slos_met == false' "$(dirname "$s")/slo_results.json"
rc=0; "$VEEKSHA" benchmark --config cfg.yml --output_dir "$TMP/out2" --quiet --fail-on-slo > /dev/null || rc=$?
check "--fail-on-slo exits 3 when an SLO is not met" test "$rc" -eq 3
# 4. cancel_session_on_failure (docs/METRICS.md, Counters): a failed request drops the rest of its
# linear session; those requests are cancelled and the session is cancelled (errored when nothing
# was left to drop), with one client loop and with two (merged through the event logs)
for threads in 1 2; do
  cat > cancel$threads.yml <<YML
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
traffic_scheduler: {type: rate, interval_generator: {type: poisson, arrival_rate: 200}, cancel_session_on_failure: true}
session_generator:
  type: synthetic
  session_graph: {type: linear, num_request_generator: {type: uniform, min: 2, max: 5}, request_wait_generator: {type: fixed, interval: 0.001}}
  channels: [{type: text, body_length_generator: {type: fixed, value: 16}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: 4}}}
runtime: {max_sessions: 40, benchmark_timeout: 60, num_client_threads: $threads}
YML
  rc=0; "$VEEKSHA" benchmark --config cancel$threads.yml --output_dir "$TMP/cancel$threads" --quiet > /dev/null || rc=$?
  check "cancel run ($threads thread(s)) exits 0 (rc $rc)" test "$rc" -eq 0
  run=$(ls -d "$TMP"/cancel$threads/*/)
  python3 - "$run" <<'PY' && ok "cancelled sessions and requests ($threads thread(s)) are the rows' dropped requests" || fail "cancelled sessions and requests ($threads thread(s))"
import json, sys
run = sys.argv[1]
s = json.load(open(f"{run}/metrics/summary_stats.json"))
rows = [json.loads(l) for l in open(f"{run}/metrics/request_level_metrics.jsonl")]
sess = {}
for r in rows:
    sess.setdefault(r["session_id"], []).append(r)
cancelled = errored = dropped = 0
for rs in sess.values():
    failed = [r for r in rs if r.get("success", True) is False]
    left = rs[0]["session_total_requests"] - len(rs)
    assert len(failed) <= 1 and (left == 0 or failed), rs  # only a failure ends a session early
    if failed and left:
        cancelled += 1
        dropped += left
    elif failed:
        errored += 1
assert cancelled > 0, "the sim failed no request before a session's last"
assert s["Number of Requests"] == len(rows), (s["Number of Requests"], len(rows))
assert s["Number of Cancelled Requests"] == dropped, (s["Number of Cancelled Requests"], dropped)
assert s["Cancelled Sessions"] == cancelled and s["Errored Sessions"] == errored, (s["Cancelled Sessions"], cancelled, s["Errored Sessions"], errored)
assert s["Successful Sessions"] == len(sess) - cancelled - errored and s["Incomplete Sessions"] == 0
assert abs(s["Cancellation Rate"] - dropped / (len(rows) + dropped)) < 1e-12, s["Cancellation Rate"]
PY
done

# 5. durations far beyond any run (2^63-1 s; 1e10 s): "never", not a wrapped-around instant that
# stopped the run after its first request, cancelled in-flight requests at once or failed a managed
# server's start-up at once (docs/CONFIG.md, Limits)
e2e_start_sim 0 --mode fixed --ttft-ms 5 --itl-ms 1
port=$E2E_SIM_PORT
huge=9223372036854775807
e2e_single_cfg long.yml "$port" sessions=3 timeout=$huge \
  "traffic={type: concurrent, target_concurrent_sessions: 1, rampup_seconds: 0}"
rc=0; "$VEEKSHA" benchmark --config long.yml --output_dir "$TMP/long" --quiet > /dev/null 2> long.err || rc=$?
s=$(ls "$TMP"/long/*/metrics/summary_stats.json)
check "benchmark_timeout 2^63-1 s: the run ends after its 3 sessions (exit $rc)" test "$rc" -eq 0
check "benchmark_timeout 2^63-1 s: all 3 requests completed" jq -e '."Number of Completed Requests" == 3' "$s"
# a request of ~1.5 s is in flight when the 1 s timeout fires; a grace of 2^63-1 s waits for it
e2e_single_cfg grace.yml "$port" sessions=1 timeout=1 output=1500 \
  "traffic={type: concurrent, target_concurrent_sessions: 1, rampup_seconds: 0}"
rc=0; "$VEEKSHA" benchmark --config grace.yml --runtime.post_timeout_grace_seconds $huge \
  --output_dir "$TMP/grace" --quiet > /dev/null 2> grace.err || rc=$?
s=$(ls "$TMP"/grace/*/metrics/summary_stats.json)
check "grace 2^63-1 s: exit 0 (got $rc)" test "$rc" -eq 0
check "grace 2^63-1 s: the in-flight request completed, none cancelled" \
  jq -e '."Number of Completed Requests" == 1 and ."Number of Cancelled Requests" == 0' "$s"
mport=$(e2e_free_port)
e2e_single_cfg managed.yml 1 sessions=2
sed -i '/^client:/d' managed.yml
echo "server: {type: sim, host: 127.0.0.1, port: $mport, startup_timeout: 10000000000}" >> managed.yml
rc=0; "$VEEKSHA" benchmark --config managed.yml --output_dir "$TMP/managed" --quiet > /dev/null 2> managed.err || rc=$?
check "startup_timeout 1e10 s: the managed sim starts and the run completes (exit $rc)" test "$rc" -eq 0
check "startup_timeout 1e10 s: the server became ready" grep -q "server ready" managed.err
e2e_finish
