#!/usr/bin/env bash
# A sweep whose runs share an identical managed server (type: sim) launches it once: exactly one
# server log exists across the sweep's run directories, and every run completed requests.
source "$(dirname "$0")/lib.sh" "$@"
port=$(e2e_free_port)
cat > "$TMP/sweep.yml" <<YML
server: {type: sim, model: sim-model, host: 127.0.0.1, port: $port, health_check_interval: 0.1, additional_args: {mode: fixed, ttft-ms: 5, itl-ms: 1}}
traffic_scheduler:
  type: rate
  interval_generator: {type: poisson, arrival_rate: !expand [20, 40, 80]}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: fixed, value: 16}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: 8}}}
runtime: {max_sessions: 10, benchmark_timeout: 30}
YML
"$VEEKSHA" benchmark --config "$TMP/sweep.yml" --output_dir "$TMP/out" --quiet > "$TMP/stdout.txt" 2> "$TMP/stderr.txt"
check "sweep exits 0" test $? -eq 0
sweep=$(ls -d "$TMP"/out/sweep_*/ | head -1)
check "3 run directories" test "$(find "$sweep" -mindepth 2 -maxdepth 2 -name config.yml | wc -l)" -eq 3
check "one server launch for the whole sweep" test "$(find "$sweep" -name 'server_logs_sim_*.log' | wc -l)" -eq 1
check "started once (stderr)" test "$(grep -c 'started sim server' "$TMP/stderr.txt")" -eq 1
check "every run completed its requests" bash -c "for s in '$sweep'/*/metrics/summary_stats.json; do jq -e '.\"Number of Completed Requests\" == 10' \"\$s\" > /dev/null || exit 1; done"
check "no sim server left on the port" bash -c "! curl -s --max-time 1 http://127.0.0.1:$port/health > /dev/null"
# The shared server crashes in run 2 (the sim exits after 10 answers; 8 per run): run 2 fails
# (exit 1), and run 3 launches a new server and measures all its requests, instead of reusing the
# dead one and losing the run (docs/META.md, Sweeps).
port2=$(e2e_free_port)
sed -e "s/port: $port,/port: $port2,/" -e 's/itl-ms: 1}/itl-ms: 1, crash-after: 10}/' -e 's/max_sessions: 10/max_sessions: 8/' \
  -e 's/arrival_rate: !expand \[20, 40, 80\]/arrival_rate: !expand [20, 21, 22]/' "$TMP/sweep.yml" > "$TMP/crash.yml"
rc=0
timeout -k 5 120 "$VEEKSHA" benchmark --config "$TMP/crash.yml" --output_dir "$TMP/crash" --quiet \
  > /dev/null 2> "$TMP/crash.err" || rc=$?
check "a server crash in run 2 of 3: the sweep exits 1 (got $rc)" test "$rc" -eq 1
csweep=$(ls -d "$TMP"/crash/sweep_*/ | head -1)
check "... run 3 launched a new server" grep -q "this run launches a new one" "$TMP/crash.err"
check "... and completed its 8 requests" jq -e '.[0].summary_stats."Number of Completed Requests" == 8 and .[2].summary_stats."Number of Completed Requests" == 8' "$csweep/sweep_summary.json"
check "no sim server left on the second port" bash -c "! curl -s --max-time 1 http://127.0.0.1:$port2/health > /dev/null"
e2e_finish
