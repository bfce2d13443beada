#!/usr/bin/env bash
# The verdict is honest (docs/FAILURES.md, "The verdict" and "run_status"):
# 1. half of the requests fail (sim --fail-rate 0.5): --fail-on-slo exits 3, the console summary names
#    the error rate and the top error message, slo_results.json says why, the failed rows are in
#    request_level_metrics.jsonl with class http and code 500, summary_stats.json has top_errors;
# 2. no errors and SLOs met: --fail-on-slo exits 0 and the summary says all SLOs are met;
# 3. a trace with a bad row in the middle: the run is truncated, exits 1, keeps the rows measured
#    before the bad row and does not meet its SLOs;
# 4. the managed server dies during the run: truncated, exit 1;
# 5. max_error_rate outside [0, 1] is a config error (exit 2).
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"

# every line of a JSONL file is a JSON object (no torn or garbage line)
jsonl_parses() { python3 -c 'import json,sys
for n, l in enumerate(open(sys.argv[1]), 1):
    assert l.endswith("\n"), "line %d not terminated" % n
    assert isinstance(json.loads(l), dict), "line %d" % n' "$1"; }

write_cfg() { # write_cfg FILE PORT [extra yaml for the evaluator]
  e2e_single_cfg "$1" "$2" \
    "evaluators=[{type: performance, slos: [{type: constant, metric: ttfc, percentile: 0.9, value: 5.0}]${3:-}}]"
}

# 1. half of the requests fail
e2e_start_sim 0 --mode fixed --ttft-ms 2 --itl-ms 1 --fail-rate 0.5 --seed 11
port=$E2E_SIM_PORT
write_cfg fail.yml "$port"
rc=0; "$VEEKSHA" benchmark --config fail.yml --output_dir "$TMP/fail" --quiet --fail-on-slo > fail.out 2> fail.err || rc=$?
check "errors: --fail-on-slo exits 3" test "$rc" -eq 3 || cat fail.out fail.err
check "errors: summary says the SLOs are not met" grep -q "All SLOs met: no" fail.out
check "errors: summary names the error rate" grep -Eq "because: error rate [0-9.]+% > 0\.0% \([0-9]+ of 60 requests failed; top error: http 500" fail.out
check "errors: summary ends with the top error messages" \
  bash -c "grep -A3 'Top errors (' fail.out | grep -Eq '^ +[0-9]+ x http 500: .+'"
m="$(ls -d "$TMP"/fail/*/)metrics"
check "errors: slo_results.json: all_slos_met false" jq -e '.all_slos_met == false' "$m/slo_results.json"
check "errors: slo_results.json: a reason names the error rate" \
  jq -e 'any(.verdict_reasons[]; startswith("error rate "))' "$m/slo_results.json"
check "errors: slo_results.json: error_rate objective missed" \
  jq -e '.results[] | select(.metric == "error_rate") | .met == false and .threshold == 0 and .observed_value > 0.2' "$m/slo_results.json"
check "errors: slo_results.json: errored requests make the P90 TTFC infinite" \
  python3 -c 'import json,sys; r=[x for x in json.load(open(sys.argv[1]))["results"] if x["metric"]=="ttfc"][0]; sys.exit(0 if r["observed_value"]==float("inf") and not r["met"] else 1)' "$m/slo_results.json"
rl="$m/request_level_metrics.jsonl"
check "errors: request_level_metrics.jsonl parses line by line" jsonl_parses "$rl"
check "errors: every request has a row" \
  bash -c "test \$(wc -l < '$rl') -eq \$(jq '.\"Number of Requests\"' '$m/summary_stats.json')"
check "errors: failed rows have class http, code 500 and a message, no latency keys" \
  jq -s -e '[.[] | select(.success == false)] | length > 0 and all(.[]; .error_class == "http" and .error_code == 500 and (.error_msg | length) > 0 and (has("ttfc") | not))' "$rl"
check "errors: failed rows count = errored requests" \
  bash -c "test \$(jq -s '[.[] | select(.success == false)] | length' '$rl') -eq \$(jq '.\"Number of Errored Requests\"' '$m/summary_stats.json')"
check "errors: successful rows have no success key (unchanged format)" \
  jq -s -e '[.[] | select(has("ttfc"))] | length > 0 and all(.[]; has("success") | not)' "$rl"
check "errors: summary_stats.json: error_class_freq and top_errors" \
  jq -e '.error_class_freq.http == ."Number of Errored Requests" and (.top_errors | length) >= 1 and .top_errors[0].class == "http" and .top_errors[0].code == 500 and .top_errors[0].count > 0 and .run_status == "complete" and .run_status_reason == ""' "$m/summary_stats.json"
# without --fail-on-slo the same run is not a runtime failure
rc=0; "$VEEKSHA" benchmark --config fail.yml --output_dir "$TMP/fail2" --quiet > /dev/null 2>&1 || rc=$?
check "errors: without --fail-on-slo exits 0" test "$rc" -eq 0
# max_error_rate 1.0: the error-rate objective is met (the latency SLO still counts the errors)
write_cfg tolerant.yml "$port" ", max_error_rate: 1.0"
rc=0; "$VEEKSHA" benchmark --config tolerant.yml --output_dir "$TMP/tol" --quiet > tol.out 2>&1 || rc=$?
check "max_error_rate 1.0: the error-rate objective is met" \
  jq -e '.results[] | select(.metric == "error_rate") | .met == true and .threshold == 1.0' "$(ls -d "$TMP"/tol/*/)metrics/slo_results.json"
kill "$E2E_SIM_PID"; e2e_wait_gone "$E2E_SIM_PID" 10 || true

# 2. no errors, SLOs met
e2e_start_sim 0 --mode fixed --ttft-ms 2 --itl-ms 1
port=$E2E_SIM_PORT
write_cfg good.yml "$port"
rc=0; "$VEEKSHA" benchmark --config good.yml --output_dir "$TMP/good" --quiet --fail-on-slo > good.out 2>&1 || rc=$?
check "no errors: --fail-on-slo exits 0" test "$rc" -eq 0 || cat good.out
check "no errors: summary says all SLOs met" grep -q "All SLOs met: yes" good.out
# 2b. non-streamed answers have no gaps between chunks: a TBC objective is not applicable and does
# not fail a run in which every request succeeded
sed -e 's/model: sim-model}/model: sim-model, stream: false}/' \
  -e 's/slos: \[{type: constant, metric: ttfc, percentile: 0.9, value: 5.0}\]/slos: [{type: constant, metric: tbc, percentile: 0.9, value: 0.05}, {type: constant, metric: tpot, percentile: 0.5, value: 0.001}]/' \
  good.yml > nostream.yml
rc=0; "$VEEKSHA" benchmark --config nostream.yml --output_dir "$TMP/nostream" --quiet --fail-on-slo > nostream.out 2>&1 || rc=$?
check "non-streamed, all succeeded: a TBC objective does not fail the run (exit $rc)" test "$rc" -eq 0
check "non-streamed: the TBC result is not applicable (met, observed null, a note)" \
  jq -e '.all_slos_met == true and (.results[0] | .metric == "tbc" and .met == true and .observed_value == null and (.note | test("not applicable")))' \
  "$(ls -d "$TMP"/nostream/*/)metrics/slo_results.json"
check "non-streamed: the console says why" grep -q "n/a .*MET (no request had two chunks)" nostream.out
# a non-streamed answer arrives whole: its TPOT of 0 is no measurement, so a TPOT objective is not
# applicable either (it was met at 0 before)
check "non-streamed: the TPOT result is not applicable (observed null, a note)" \
  jq -e '.results[1] | .metric == "tpot" and .met == true and .observed_value == null and (.note | test("streamed two output tokens"))' \
  "$(ls -d "$TMP"/nostream/*/)metrics/slo_results.json"
check "non-streamed: the console says why for TPOT" grep -q "n/a .*MET (no request had two streamed tokens)" nostream.out
check "no errors: no reasons, no error lines" bash -c "! grep -Eq 'because:|Top errors' good.out"
m="$(ls -d "$TMP"/good/*/)metrics"
check "no errors: slo_results.json met, no reasons" jq -e '.all_slos_met == true and .verdict_reasons == []' "$m/slo_results.json"
check "no errors: summary_stats.json: empty error tables, complete" \
  jq -e '.error_class_freq == {} and .top_errors == [] and .run_status == "complete"' "$m/summary_stats.json"

# 3. a trace with a bad row in the middle: truncated
printf 'num_prefill_tokens,num_decode_tokens,arrival_time\n12,5,0.0\n7,3,0.05\n9,4,0.1\nbad,x,0.15\n8,2,0.2\n' > bad.csv
cat > trunc.yml <<YML
session_generator: {type: trace, trace_file: $TMP/bad.csv, wrap_mode: false, flavor: {type: request_log}}
traffic_scheduler: {type: rate, interval_generator: {type: fixed, interval: 0.02}}
runtime: {benchmark_timeout: 40, max_sessions: 10}
YML
rc=0; "$VEEKSHA" benchmark --config trunc.yml --client.api_base "http://127.0.0.1:$port/v1" --client.model sim-model \
  --output_dir "$TMP/trunc" --quiet > trunc.out 2> trunc.err || rc=$?
check "truncated: exits 1" test "$rc" -eq 1 || cat trunc.out trunc.err
check "truncated: the generator's failure is logged" grep -q "session generator failed" trunc.err
check "truncated: summary says why" grep -q "because: run truncated: session generator failed" trunc.out
m="$(ls -d "$TMP"/trunc/*/)metrics"
check "truncated: run_status truncated with the reason" \
  jq -e '.run_status == "truncated" and (.run_status_reason | test("session generator failed.*bad.csv:5"))' "$m/summary_stats.json"
check "truncated: the three rows before the bad one were measured" \
  bash -c "jq -s -c '[sort_by(.request_id)[] | .num_delta_prompt_tokens]' '$m/request_level_metrics.jsonl' | grep -qx '\[12,7,9\]'"
check "truncated: all_slos_met false with the reason" \
  jq -e '.all_slos_met == false and any(.verdict_reasons[]; startswith("run truncated: session generator failed"))' "$m/slo_results.json"
rc=0; "$VEEKSHA" benchmark --config trunc.yml --client.api_base "http://127.0.0.1:$port/v1" --client.model sim-model \
  --output_dir "$TMP/trunc2" --quiet --fail-on-slo > /dev/null 2>&1 || rc=$?
check "truncated: exits 1 with --fail-on-slo too (a runtime failure, not a missed SLO)" test "$rc" -eq 1

# 4. the managed server dies during the run: truncated, exit 1, rows measured before are kept
kill "$E2E_SIM_PID"; e2e_wait_gone "$E2E_SIM_PID" 10 || true
mport=$(e2e_free_port)
cat > died.yml <<YML
server: {type: sim, model: sim-model, host: 127.0.0.1, port: $mport, health_check_interval: 0.1, additional_args: {mode: fixed, ttft-ms: 2, itl-ms: 1}}
traffic_scheduler: {type: rate, interval_generator: {type: fixed, interval: 0.01}}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: fixed, value: 16}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: 8}}}
runtime: {max_sessions: -1, benchmark_timeout: 60}
YML
e2e_bg "$VEEKSHA" benchmark --config died.yml --output_dir "$TMP/died" --quiet > died.out 2> died.err
bpid=$E2E_LAST_PID
spid=""
for _ in $(seq 1 300); do # bounded: until the server runs and some rows are written
  sj=$(ls "$TMP"/died/*/server.json 2>/dev/null | head -1 || true)
  rl=$(ls "$TMP"/died/*/metrics/request_level_metrics.jsonl 2>/dev/null | head -1 || true)
  if [ -n "$sj" ] && [ -n "$rl" ] && [ "$(wc -l < "$rl")" -ge 5 ]; then
    spid=$(jq -r '.pid // empty' "$sj"); [ -n "$spid" ] && break
  fi
  sleep 0.05
done
check "server died: the managed server was running" test -n "$spid"
[ -n "$spid" ] && kill -KILL "$spid"
e2e_wait_gone "$bpid" 30 || kill -TERM "$bpid"
rc=0; wait "$bpid" || rc=$?
check "server died: exits 1 (got $rc)" test "$rc" -eq 1
m="$(ls -d "$TMP"/died/*/)metrics"
check "server died: run_status truncated with the reason" \
  jq -e '.run_status == "truncated" and (.run_status_reason | test("managed server exited"))' "$m/summary_stats.json"
check "server died: rows measured before are kept" test "$(jq -s '[.[] | select(has("ttfc"))] | length' "$m/request_level_metrics.jsonl")" -ge 5
check "server died: all_slos_met false with the reason" \
  jq -e '.all_slos_met == false and any(.verdict_reasons[]; startswith("run truncated: the managed server exited"))' "$m/slo_results.json"

# 5. max_error_rate out of range: config error
write_cfg range.yml "$port" ", max_error_rate: 1.5"
rc=0; "$VEEKSHA" benchmark --config range.yml --output_dir "$TMP/range" > /dev/null 2> range.err || rc=$?
check "max_error_rate 1.5: exits 2" test "$rc" -eq 2
check "max_error_rate 1.5: the message names the key" grep -q "max_error_rate" range.err
check "max_error_rate 1.5: no run directory" test ! -e "$TMP/range"
e2e_finish
