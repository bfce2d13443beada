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
e2e_finish
