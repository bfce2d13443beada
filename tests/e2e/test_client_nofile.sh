#!/usr/bin/env bash
# A descriptor limit (ulimit -n) too low for the configured load is said plainly (issue 21 item 12):
# a concurrent run that cannot fit is refused before any request (exit 2, needed and available
# numbers, `ulimit -n`); a rate run that outgrows it records connect errors (1001) whose message names
# the limit, never a plain 503. `ulimit -n 64` in a subshell sets the soft and hard limit of the run.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
e2e_start_sim 0 --mode fixed --ttft-ms 5 --itl-ms 20
port=$E2E_SIM_PORT
e2e_single_cfg conc.yml "$port" "traffic={type: concurrent, target_concurrent_sessions: 100, rampup_seconds: 0}" \
  output=50 sessions=100 trace=false
# 1. concurrent: 100 sessions cannot fit in 64 descriptors -> exit 2 before any request
rc=0; (ulimit -n 64; exec "$VEEKSHA" benchmark --config conc.yml --output_dir "$TMP/conc" --quiet) \
  >conc.out 2>conc.err || rc=$?
check "concurrent over the hard limit exits 2" test "$rc" -eq 2
check "names the needed descriptors" grep -q "needs about 148 open files" conc.err
check "names the available descriptors" grep -q "may open only 64" conc.err
check "says how to raise it" grep -q "ulimit -n" conc.err
check "no request was measured" test -z "$(cat "$TMP"/conc/*/metrics/request_level_metrics.jsonl 2>/dev/null)"

# 2. rate: more connections in flight than descriptors -> connect errors naming the limit
e2e_single_cfg rate.yml "$port" "traffic={type: rate, interval_generator: {type: fixed, interval: 0.002}}" \
  output=50 sessions=100 trace=false
rc=0; (ulimit -n 64; exec "$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/rate" --quiet) \
  >rate.out 2>rate.err || rc=$?
check "rate run completes (errors are not a run failure)" test "$rc" -eq 0
check "warns with the available descriptors and ulimit -n" \
  grep -q "this process may open 64 descriptors.*ulimit -n" rate.err
rows=$(ls "$TMP"/rate/*/metrics/request_level_metrics.jsonl)
s=$(ls "$TMP"/rate/*/metrics/summary_stats.json)
check "some requests failed for lack of descriptors" \
  jq -se '[.[] | select(.success == false and .error_class == "connect" and .error_code == 1001)] | length > 0' "$rows"
check "their message names the limit" \
  jq -se '[.[] | select(.success == false) | .error_msg | startswith("Too many open files (this process may open 64 descriptors")] | all' "$rows"
check "no 503 for a client-side failure" jq -e '.error_code_freq | has("503") | not' "$s"
check "every request completed or errored" \
  jq -e '."Number of Errored Requests" + ."Number of Completed Requests" == ."Number of Requests"' "$s"
e2e_finish
