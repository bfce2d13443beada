#!/usr/bin/env bash
# SIGTERM mid-run: the run directory must hold every request completed before the signal (checked
# against the simulated server's emit log), a valid summary_stats.json, and the exit code 128+15.
source "$(dirname "$0")/lib.sh" "$@"
e2e_start_sim 0 --mode fixed --ttft-ms 30 --itl-ms 5 --emit-log "$TMP/emit.jsonl"
port=$E2E_SIM_PORT
cat > "$TMP/cfg.yml" <<YML
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
traffic_scheduler: {type: rate, interval_generator: {type: poisson, arrival_rate: 40}}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: fixed, value: 64}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: 40}}}
runtime: {max_sessions: -1, benchmark_timeout: 120, post_timeout_grace_seconds: 0}
YML
e2e_bg "$VEEKSHA" benchmark --config "$TMP/cfg.yml" --output_dir "$TMP/out" --quiet
bpid=$E2E_LAST_PID
# wait (bounded) until some requests have completed: the metrics file grows as they do
for i in $(seq 1 200); do
  f=$(ls "$TMP"/out/*/metrics/request_level_metrics.jsonl 2>/dev/null | head -1 || true)
  [ -n "$f" ] && [ "$(wc -l < "$f")" -ge 20 ] && break
  sleep 0.05
done
t_signal_ns=$(date +%s%N)
kill -TERM "$bpid"
rc=0; wait "$bpid" || rc=$?
check "exit code 143 after SIGTERM (got $rc)" test "$rc" -eq 143
run=$(ls -d "$TMP"/out/*/ | head -1)
rl="$run/metrics/request_level_metrics.jsonl"
check "summary_stats.json is valid JSON" jq -e '."Number of Requests" > 0' "$run/metrics/summary_stats.json"
check "at least 20 rows kept" test "$(wc -l < "$rl")" -ge 20
check "every row is valid JSON" bash -c "jq -c . '$rl' > /dev/null"
# every request whose last chunk the server wrote >= 20 ms before the signal must be recorded
check "every request the server completed before the signal is recorded" python3 - "$TMP/emit.jsonl" "$rl" "$t_signal_ns" <<'PY'
import json, sys
rows = {str(json.loads(l)["request_id"]) for l in open(sys.argv[2])}
t_sig = int(sys.argv[3])
done = set()
for l in open(sys.argv[1]):
    try:
        e = json.loads(l)
    except ValueError:
        continue
    ch = e.get("chunk_real_ns") or []
    if e.get("status") == 200 and len(ch) == e.get("completion_tokens") and ch and ch[-1] < t_sig - 20_000_000:
        done.add(str(e.get("request_id")))
missing = sorted(done - rows)
print("server-completed before signal:", len(done), "recorded:", len(rows), "missing:", missing[:10])
sys.exit(0 if done and not missing else 1)
PY
check "health check results written" test -f "$run/health_check_results.txt"
check "run_status interrupted (signal 15)" \
  jq -e '.run_status == "interrupted" and .run_status_reason == "signal 15"' "$run/metrics/summary_stats.json"
check "an interrupted run does not meet its SLOs" \
  jq -e '.all_slos_met == false and any(.verdict_reasons[]; . == "run interrupted: signal 15")' "$run/metrics/slo_results.json"

# SIGHUP (a closed terminal, a dropped ssh session) stops the run like SIGTERM: outputs written for the
# data measured so far, run_status interrupted, exit 128+1 (before: killed, no summary, no verdict)
e2e_bg "$VEEKSHA" benchmark --config "$TMP/cfg.yml" --output_dir "$TMP/hup" --quiet
bpid=$E2E_LAST_PID
for i in $(seq 1 200); do
  f=$(ls "$TMP"/hup/*/metrics/request_level_metrics.jsonl 2>/dev/null | head -1 || true)
  [ -n "$f" ] && [ "$(wc -l < "$f")" -ge 5 ] && break
  sleep 0.05
done
kill -HUP "$bpid"
rc=0; wait "$bpid" || rc=$?
check "exit code 129 after SIGHUP (got $rc)" test "$rc" -eq 129
run=$(ls -d "$TMP"/hup/*/ | head -1)
check "SIGHUP: run_status interrupted (signal 1), rows kept" \
  jq -e '.run_status == "interrupted" and .run_status_reason == "signal 1" and ."Number of Completed Requests" >= 5' \
  "$run/metrics/summary_stats.json"
check "SIGHUP: the verdict is not met" jq -e '.all_slos_met == false' "$run/metrics/slo_results.json"
# under nohup (SIGHUP ignored) the run goes on: a SIGHUP neither stops nor kills it
e2e_bg nohup "$VEEKSHA" benchmark --config "$TMP/cfg.yml" --output_dir "$TMP/nohup" --quiet > "$TMP/nohup.out" 2>&1
bpid=$E2E_LAST_PID
for i in $(seq 1 200); do
  f=$(ls "$TMP"/nohup/*/metrics/request_level_metrics.jsonl 2>/dev/null | head -1 || true)
  [ -n "$f" ] && [ "$(wc -l < "$f")" -ge 5 ] && break
  sleep 0.05
done
kill -HUP "$bpid"
n0=$(wc -l < "$f")
for i in $(seq 1 100); do [ "$(wc -l < "$f")" -ge $((n0 + 10)) ] && break; sleep 0.05; done
check "nohup: a SIGHUP does not stop the run (rows keep coming, still running)" \
  bash -c "[ \$(wc -l < '$f') -ge $((n0 + 10)) ] && kill -0 $bpid"
kill -TERM "$bpid"
rc=0; wait "$bpid" || rc=$?
check "nohup: stopped by the SIGTERM that followed (exit 143, got $rc)" test "$rc" -eq 143

# A SIGTERM while the run is still being checked (here: GET /v1/models to a server that accepts and
# never answers) ends it with a line saying so and exit 143, and leaves no run directory (before: the
# default action, exit 143 and not a word).
python3 - "$TMP/mute.port" "$TMP/mute.accepted" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16); s.settimeout(0.2)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); __import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
conns, t0 = [], time.time()
while time.time() - t0 < 60:
    try:
        c, _ = s.accept(); conns.append(c); open(sys.argv[2], "a").write("x\n")
    except socket.timeout:
        pass
PY
mute_pid=$!
E2E_PIDS+=("$mute_pid")
for i in $(seq 1 200); do [ -s "$TMP/mute.port" ] && break; sleep 0.05; done
e2e_bg "$VEEKSHA" benchmark --client.api_base "http://127.0.0.1:$(cat "$TMP/mute.port")/v1" \
  --client.model m --output_dir "$TMP/mute" --runtime.max_sessions 2 2> "$TMP/mute.err"
bpid=$E2E_LAST_PID
for i in $(seq 1 200); do [ -s "$TMP/mute.accepted" ] && break; sleep 0.05; done
kill -TERM "$bpid"
rc=0; wait "$bpid" || rc=$?
check "a SIGTERM during the checks: exit 143 (got $rc)" test "$rc" -eq 143
check "... says so" grep -q "stopped by signal 15 (Terminated) before the run started" "$TMP/mute.err"
check "... and makes no run directory" test ! -e "$TMP/mute"
e2e_finish
