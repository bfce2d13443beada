#!/usr/bin/env bash
# A sweep over 3 arrival rates x 2 prompt lengths produces 6 run directories under one sweep
# directory with sweep_manifest.json, sweep_summary.json and sweep_summary.csv (reference §6.3).
source "$(dirname "$0")/lib.sh" "$@"
e2e_start_sim 0 --mode fixed --ttft-ms 5 --itl-ms 1
port=$E2E_SIM_PORT
cat > "$TMP/sweep.yml" <<YML
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
traffic_scheduler:
  type: rate
  interval_generator: {type: poisson, arrival_rate: !expand [20, 40, 80]}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels:
    - type: text
      body_length_generator: {type: fixed, value: !expand [32, 64]}
  output_spec: {text: {output_length_generator: {type: fixed, value: 8}}}
runtime: {max_sessions: 10, benchmark_timeout: 30}
YML
"$VEEKSHA" benchmark --config "$TMP/sweep.yml" --output_dir "$TMP/out" --quiet > "$TMP/stdout.txt"
check "sweep exits 0" test $? -eq 0
sweep=$(ls -d "$TMP"/out/sweep_*/ | head -1)
check "one sweep directory" test -n "$sweep"
check "6 run directories" test "$(find "$sweep" -mindepth 2 -maxdepth 2 -name config.yml | wc -l)" -eq 6
check "manifest lists 6 runs" jq -e '.num_runs == 6 and (.runs|length) == 6' "$sweep/sweep_manifest.json"
check "summary has 6 entries with the reference keys" jq -e 'length == 6 and (.[0]|keys_unsorted) == ["run_index","run_dir","context_length","batch_size","output_length","traffic","runtime","summary_stats","throughput_metrics","prefill_group_stats","decode_window_stats","all_slos_met","slo_results"]' "$sweep/sweep_summary.json"
check "csv header is the reference's" bash -c "head -1 '$sweep/sweep_summary.csv' | grep -qx 'run_index,run_dir,traffic_type,target_concurrent_sessions,arrival_rate,context_length,output_length,max_sessions,benchmark_timeout_s,num_requests,num_completed_requests,error_rate,all_slos_met,tpot_based_throughput,tbc_based_throughput'"
check "csv has 6 rows" test "$(tail -n +2 "$sweep/sweep_summary.csv" | wc -l)" -eq 6
# order: first key (arrival_rate) outermost -> rates 20,20,40,40,80,80 and lengths 32,64,32,64,...
check "expansion order (first key outermost)" bash -c "cut -d, -f5,6 '$sweep/sweep_summary.csv' | tail -n +2 | tr '\n' ' ' | grep -q '^20.0,32 20.0,64 40.0,32 40.0,64 80.0,32 80.0,64 $'"
# The exit code is the worst run's, and a run that could not measure is worse than missed SLOs: a
# truncated run (a bad trace row, exit 1) and a run that misses an impossible SLO (exit 3 with
# --fail-on-slo) make the sweep exit 1, not 3 (docs/META.md, Sweeps).
printf 'num_prefill_tokens,num_decode_tokens,arrival_time\n12,5,0.0\nbad,x,0.05\n' > "$TMP/bad.csv"
cat > "$TMP/mixed.yml" <<YML
- client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
  session_generator: {type: trace, trace_file: $TMP/bad.csv, wrap_mode: false, flavor: {type: request_log}}
  runtime: {max_sessions: 5, benchmark_timeout: 30}
- client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
  runtime: {max_sessions: 2, benchmark_timeout: 30}
  evaluators: [{type: performance, slos: [{type: constant, metric: ttfc, percentile: 0.5, value: 0.000001}]}]
YML
rc=0
timeout -k 5 60 "$VEEKSHA" benchmark --config "$TMP/mixed.yml" --output_dir "$TMP/mixed" --fail-on-slo --quiet \
  > /dev/null 2> "$TMP/mixed.err" || rc=$?
check "a truncated run and a missed SLO: the sweep exits 1 (got $rc)" test "$rc" -eq 1
check "... both runs ran (exit codes 1 and 3 logged)" \
  bash -c "grep -q 'run 1 of 2 ended with exit code 1' '$TMP/mixed.err' && grep -q 'run 2 of 2 ended with exit code 3' '$TMP/mixed.err'"
# SIGINT during the first of three runs: the sweep exits 130 and still writes its summary; the
# two runs that never ran keep their own configuration in their rows (concurrent, 2 and 3 sessions,
# max_sessions -1, timeout 30) with empty metrics, never a zeroed config read as "rate, 0.0 req/s"
# (docs/META.md, Sweeps).
cat > "$TMP/int.yml" <<YML
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
traffic_scheduler: {type: concurrent, target_concurrent_sessions: !expand [1, 2, 3], rampup_seconds: 0}
runtime: {max_sessions: -1, benchmark_timeout: 30}
YML
"$VEEKSHA" benchmark --config "$TMP/int.yml" --output_dir "$TMP/int" --quiet > /dev/null 2> "$TMP/int.err" &
int_pid=$!
for _ in $(seq 1 300); do
  compgen -G "$TMP/int/sweep_*/*/metrics" > /dev/null && break
  sleep 0.05
done
kill -INT "$int_pid"
rc=0
for _ in $(seq 1 600); do kill -0 "$int_pid" 2>/dev/null || break; sleep 0.05; done
wait "$int_pid" || rc=$?
check "an interrupted sweep exits 130 (got $rc)" test "$rc" -eq 130
isweep=$(ls -d "$TMP"/int/sweep_*/ | head -1)
check "... writes a row per configured run" test "$(tail -n +2 "$isweep/sweep_summary.csv" | wc -l)" -eq 3
check "... the interrupted run has its metrics and did not meet its SLOs" \
  bash -c "sed -n 2p '$isweep/sweep_summary.csv' | grep -q '^0,[^,]*,concurrent,1,,[^,]*,[^,]*,-1,30,[0-9][0-9]*,[0-9]*,[^,]*,False,'"
check "... the runs never made keep their configuration, with empty metrics" \
  bash -c "sed -n 3,4p '$isweep/sweep_summary.csv' | tr '\n' ' ' | grep -qx '1,,concurrent,2,,[^,]*,[^,]*,-1,30,,,,,, 2,,concurrent,3,,[^,]*,[^,]*,-1,30,,,,,, '"
check "... and in sweep_summary.json" jq -e '[.[1:][] | [.traffic.type, .traffic.target_concurrent_sessions, .runtime.max_sessions, .summary_stats, .all_slos_met]] == [["concurrent",2,-1,null,null],["concurrent",3,-1,null,null]]' "$isweep/sweep_summary.json"
# A sweep whose summary cannot be written fails (exit 1, naming the file), even without the report
# that would read it: here sweep_summary.json is a directory made while the runs go on.
cat > "$TMP/unw.yml" <<YML
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
traffic_scheduler: {type: concurrent, target_concurrent_sessions: !expand [1, 2], rampup_seconds: 0}
runtime: {max_sessions: 60, benchmark_timeout: 30}
YML
"$VEEKSHA" benchmark --config "$TMP/unw.yml" --output_dir "$TMP/unw" --no-report --quiet > /dev/null 2> "$TMP/unw.err" &
unw_pid=$!
for _ in $(seq 1 600); do
  usweep=$(compgen -G "$TMP/unw/sweep_*" | head -1) && break
  sleep 0.01
done
mkdir -p "$usweep/sweep_summary.json"
rc=0
wait "$unw_pid" || rc=$?
check "a sweep whose summary cannot be written exits 1 (got $rc)" test "$rc" -eq 1
check "... and names the file" grep -q "sweep_summary.json" "$TMP/unw.err"
e2e_finish
