#!/usr/bin/env bash
# veeksha evaluate and veeksha report over raw records (docs/METRICS.md, Re-evaluating a run):
# 1. a run written by the Python Veeksha (tests/data/reference_run, whose summary has no latency keys):
#    evaluate recomputes every file (its SLO result equals the reference's own), report shows numbers
#    instead of dashes, new SLOs fail with --fail-on-slo (exit 3), a window leaves requests out, and the
#    run directory itself is not touched;
# 2. our own unsharded run: the recomputed summary agrees with the live one (counts exactly, latencies
#    within the rows' 10 us resolution);
# 3. a run with event logs (2 client threads): evaluated exactly (byte-identical summary);
# 4. not a run directory: exit 2.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"

cp -r "$SRC/tests/data/reference_run" py
before=$(find py -type f | sort | xargs sha1sum | sha1sum)
rc=0; "$VEEKSHA" evaluate py --output "$TMP/py_eval" > py.out 2> py.err || rc=$?
check "python run: exit 0" test "$rc" -eq 0 || cat py.err
s="$TMP/py_eval/metrics/summary_stats.json"
check "python run: 22 requests" jq -e '.["Number of Requests"] == 22' "$s"
check "python run: latency keys recomputed" jq -e '.["Time to First Chunk (P50)"] > 0.015 and .["Time to First Chunk (P50)"] < 0.05' "$s"
check "python run: the P99 TTFC SLO result equals the reference's own" \
  test "$(jq -c '.results[0]' "$TMP/py_eval/metrics/slo_results.json")" = "$(jq -c '.results[0]' py/metrics/slo_results.json)"
check "python run: every per-metric CSV written" test -f "$TMP/py_eval/metrics/ttfc.csv" -a -f "$TMP/py_eval/metrics/tbc.csv"
check "python run: report.html written" test -s "$TMP/py_eval/metrics/report.html"
check "python run: the console says where the times come from" grep -q "10 us resolution" py.err
rc=0; "$VEEKSHA" report --output "$TMP/rep" py > rep.out 2> rep.err || rc=$?
check "report of the python run: exit 0" test "$rc" -eq 0 || cat rep.err
check "report of the python run: TTFC p50 is a number, not a dash" grep -Eq '^TTFC p50 \(ms\) +[0-9]' rep.out
check "report of the python run: says it recomputed" grep -q "recomputed from its raw records" rep.out
# report of a python run whose rows cannot be read: exit 2 naming file:line, no table (before: exit 0,
# dashes for every latency and the run's own "All SLOs met: yes")
cp -r "$SRC/tests/data/reference_run" pybad
sed -i '3s/"ttfc": [0-9.]*/"ttfc": "x"/' pybad/metrics/request_level_metrics.jsonl
rc=0; "$VEEKSHA" report --output "$TMP/repbad" pybad > repbad.out 2> repbad.err || rc=$?
check "report of unreadable rows: exit 2 (got $rc)" test "$rc" -eq 2
check "report of unreadable rows: names file:line" grep -q "pybad/metrics/request_level_metrics.jsonl:3: 'ttfc'" repbad.err
check "report of unreadable rows: no table, no verdict" bash -c "! grep -q 'All SLOs met' repbad.out && [ ! -e '$TMP/repbad.md' ]"
rc=0; "$VEEKSHA" evaluate py --output "$TMP/py_slo" --fail-on-slo --quiet \
  --evaluators '[{type: performance, slos: [{type: constant, metric: ttfc, percentile: 0.5, value: 0.001}]}]' \
  > slo.out 2> slo.err || rc=$?
check "new SLO: --fail-on-slo exits 3" test "$rc" -eq 3 || cat slo.err
check "new SLO: slo_results.json has the new objective, not met" \
  jq -e '.all_slos_met == false and .results[0].threshold == 0.001' "$TMP/py_slo/metrics/slo_results.json"
check "new SLO: config.yml of the evaluation holds it" grep -q "value: 0.001" "$TMP/py_slo/config.yml"
rc=0; "$VEEKSHA" evaluate py --output "$TMP/py_win" --quiet --evaluators '[{type: performance, warmup_requests: 5}]' \
  > win.out 2> win.err || rc=$?
check "window on rows: exit 0" test "$rc" -eq 0 || cat win.err
check "window on rows: 17 of 22 requests" \
  jq -e '.["Number of Requests"] == 17 and .measurement_window.excluded_requests == 5' "$TMP/py_win/metrics/summary_stats.json"
after=$(find py -type f | sort | xargs sha1sum | sha1sum)
check "the evaluated run directory is untouched" test "$before" = "$after"

# 2. our own run, no event log
e2e_start_sim 0 --mode fixed --ttft-ms 3 --itl-ms 1
port=$E2E_SIM_PORT
e2e_single_cfg own.yml "$port" sessions=30 trace=true
rc=0; "$VEEKSHA" benchmark --config own.yml --output_dir "$TMP/own" --quiet > own.out 2> own.err || rc=$?
check "own run: exit 0" test "$rc" -eq 0
own=$(ls -d "$TMP"/own/*/)
rc=0; "$VEEKSHA" evaluate "$own" --quiet > ev.out 2> ev.err || rc=$?
check "own run: evaluate exits 0" test "$rc" -eq 0 || cat ev.err
ev=$(ls -d "$own"evaluated-*/ 2>/dev/null | head -1)
check "own run: default output is RUN_DIR/evaluated-<time>/" test -n "$ev" -a -f "${ev}metrics/summary_stats.json"
check "own run: the same counts" \
  test "$(jq -c '[.["Number of Requests"], .["Number of Completed Requests"], .["Number of Errored Requests"]]' "$own/metrics/summary_stats.json")" \
     = "$(jq -c '[.["Number of Requests"], .["Number of Completed Requests"], .["Number of Errored Requests"]]' "${ev}metrics/summary_stats.json")"
# (the live summary's percentiles come from a sketch within 0.1%, the rebuild's from rows rounded to
# 10 us: they agree within 20 us or 0.2%, whichever is larger; a loaded machine makes the values larger)
check "own run: TTFC p50 within 20 us (or 0.2%) of the live run's" \
  python3 -c "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); k='Time to First Chunk (P50)'; sys.exit(0 if abs(a[k]-b[k]) < max(2e-5, 2e-3 * a[k]) else 1)" \
  "$own/metrics/summary_stats.json" "${ev}metrics/summary_stats.json"

# 2a. a run killed before it ended (SIGKILL, out of memory) left rows but no summary_stats.json (or
# one that says running): evaluate says truncated and never meets the SLOs (docs/FAILURES.md)
mkdir -p "$TMP/killed"
cp -r "$own" "$TMP/killed/run"
rm -rf "$TMP/killed/run"/evaluated-* "$TMP/killed/run/metrics/summary_stats.json"
rc=0; "$VEEKSHA" evaluate "$TMP/killed/run" --output "$TMP/killed_eval" --fail-on-slo --quiet > /dev/null 2> ke.err || rc=$?
check "killed run: evaluate --fail-on-slo exits 1, as a truncated run (got $rc)" test "$rc" -eq 1
check "killed run: truncated, the reason names the missing summary" \
  jq -e '.run_status == "truncated" and (.run_status_reason | test("summary_stats.json is missing"))' \
  "$TMP/killed_eval/metrics/summary_stats.json"
check "killed run: all_slos_met false" jq -e '.all_slos_met == false' "$TMP/killed_eval/metrics/slo_results.json"
jq '.run_status = "running"' "$own/metrics/summary_stats.json" > "$TMP/killed/run/metrics/summary_stats.json"
rc=0; "$VEEKSHA" evaluate "$TMP/killed/run" --output "$TMP/killed_eval2" --fail-on-slo --quiet > /dev/null 2>&1 || rc=$?
check "killed run (summary says running): exits 1 (got $rc)" test "$rc" -eq 1
rc=0; "$VEEKSHA" evaluate "$TMP/killed/run" --output "$TMP/killed_eval3" --quiet > /dev/null 2>&1 || rc=$?
check "killed run, without --fail-on-slo: still exits 1 (got $rc)" test "$rc" -eq 1
check "killed run (summary says running): truncated" \
  jq -e '.run_status == "truncated" and (.run_status_reason | test("says running"))' \
  "$TMP/killed_eval2/metrics/summary_stats.json"

# 2a'. hostile rows: a wrong type, a missing key, a negative or huge duration, a fractional token
# count, a duplicated request, a cut-short last line: each is exit 2 naming file:line and the key,
# never numbers in which the bad value counted as 0 (docs/METRICS.md, Re-evaluating a run)
bad_row() { # $1 = case name, $2 = python expression changing row r (line 6); $3 = expected text
  local d="$TMP/bad_$1"
  mkdir -p "$d"; cp -r "$own/metrics" "$own/config.yml" "$d/"; cp -r "$own/traces" "$d/" 2>/dev/null || true
  rm -rf "$d"/evaluated-*
  python3 -c "import json,sys
f=sys.argv[1]; L=open(f).read().splitlines(); r=json.loads(L[5])
$2
L[5]=json.dumps(r); open(f,'w').write('\n'.join(L)+'\n')" "$d/metrics/request_level_metrics.jsonl"
  local rc=0
  "$VEEKSHA" evaluate "$d" --output "$d.eval" --quiet > "$d.out" 2> "$d.err" || rc=$?
  check "bad row $1: exit 2 (got $rc)" test "$rc" -eq 2
  check "bad row $1: names file:line and the key" grep -qF "request_level_metrics.jsonl:6: $3" "$d.err" || cat "$d.err"
  check "bad row $1: no summary written" test ! -e "$d.eval/metrics/summary_stats.json"
}
bad_row ttfc_string "r['ttfc'] = '0.5'" "'ttfc': expected a number"
bad_row ttfc_missing "del r['ttfc']" "'ttfc' is missing"
bad_row ttfc_negative "r['ttfc'] = -5" "'ttfc': expected a number of seconds >= 0"
bad_row ttfc_huge "r['ttfc'] = 1e300" "'ttfc': expected a number of seconds >= 0 and <= 1e9"
bad_row tokens_fraction "r['num_output_tokens'] = 2.5" "'num_output_tokens': expected an integer >= 0"
bad_row completed_missing "del r['client_completed_at']" "'client_completed_at' is missing"
bad_row tbc_string "r['tbc'] = 'x'" "'tbc': not a list"
bad_row success_string "r['success'] = 'yes'" "'success': expected true or false"
bad_row duplicate "r['request_id'] = 0" "request_id 0 already on line 1"
d="$TMP/bad_cut"; mkdir -p "$d"; cp -r "$own/metrics" "$own/config.yml" "$d/"
sz=$(stat -c %s "$d/metrics/request_level_metrics.jsonl"); truncate -s $((sz - 20)) "$d/metrics/request_level_metrics.jsonl"
rc=0; "$VEEKSHA" evaluate "$d" --output "$d.eval" --quiet > /dev/null 2> "$d.err" || rc=$?
check "cut-short last line: exit 2 naming the line, says it was cut (got $rc)" \
  bash -c "[ $rc -eq 2 ] && grep -q 'request_level_metrics.jsonl:30: .*cut short' '$d.err'"

# 2b. a reasoning run (sim thinking first): rows keep TTFO and the reasoning counts
e2e_start_sim 0 --mode fixed --ttft-ms 3 --itl-ms 1 --reasoning-tokens 6
rport=$E2E_SIM_PORT
e2e_single_cfg rsn.yml "$rport" sessions=10 output=12
rc=0; "$VEEKSHA" benchmark --config rsn.yml --output_dir "$TMP/rsn" --quiet > rsn.out 2> rsn.err || rc=$?
rsn=$(ls -d "$TMP"/rsn/*/)
rc=0; "$VEEKSHA" evaluate "$rsn" --output "$TMP/rsn_eval" --quiet > re.out 2> re.err || rc=$?
check "reasoning run: evaluate exits 0" test "$rc" -eq 0 || cat re.err
check "reasoning run: TTFO and reasoning tokens kept (within 20 us or 0.2%)" \
  python3 -c "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); k='Time to First Output Token (P50)'; r='Number of Reasoning Tokens (P50)'; sys.exit(0 if k in a and abs(a[k]-b[k]) < max(2e-5, 2e-3 * a[k]) and abs(a[r] - b[r]) < 1e-9 and abs(a[r] - 6) < 0.1 else 1)" \
  "$rsn/metrics/summary_stats.json" "$TMP/rsn_eval/metrics/summary_stats.json"

# 2c. cancellations, no event log: a failed request drops the rest of its session
# (cancel_session_on_failure) and the timeout with no grace cancels the requests in flight; neither
# has a row, and the rebuild counts them as the run did (docs/METRICS.md, Re-evaluating a run)
e2e_start_sim 0 --mode fixed --ttft-ms 3 --itl-ms 2 --fail-rate 0.2 --seed 5
cport=$E2E_SIM_PORT
cat > cnl.yml <<YML
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$cport/v1", model: sim-model}
traffic_scheduler: {type: rate, interval_generator: {type: fixed, interval: 0.02}, cancel_session_on_failure: true}
session_generator:
  type: synthetic
  session_graph: {type: linear, num_request_generator: {type: uniform, min: 2, max: 5}, request_wait_generator: {type: fixed, interval: 0.001}}
  channels: [{type: text, body_length_generator: {type: fixed, value: 16}}]
  output_spec: {text: {output_length_generator: {type: uniform, min: 20, max: 150}}}
runtime: {max_sessions: 60, benchmark_timeout: 1, post_timeout_grace_seconds: 0}
trace_recorder: {enabled: true}
YML
rc=0; "$VEEKSHA" benchmark --config cnl.yml --output_dir "$TMP/cnl" --quiet > cnl.out 2> cnl.err || rc=$?
check "cancellations: run exits 0 (rc $rc)" test "$rc" -eq 0 || cat cnl.err
cnl=$(ls -d "$TMP"/cnl/*/)
rc=0; "$VEEKSHA" evaluate "$cnl" --output "$TMP/cnl_eval" --quiet > ce.out 2> ce.err || rc=$?
check "cancellations: evaluate exits 0" test "$rc" -eq 0 || cat ce.err
keys='[.["Number of Requests"], .["Number of Completed Requests"], .["Number of Errored Requests"], .["Number of Cancelled Requests"], .["Cancellation Rate"], .["Successful Sessions"], .["Errored Sessions"], .["Cancelled Sessions"], .["Incomplete Sessions"]]'
live=$(jq -c "$keys" "$cnl/metrics/summary_stats.json")
check "cancellations: the run cancelled requests of both kinds ($live)" \
  jq -e '.["Number of Cancelled Requests"] > 0 and .["Cancelled Sessions"] > 0 and .["Number of Errored Requests"] > 0' "$cnl/metrics/summary_stats.json"
check "cancellations: the rebuild has the run's counts ($live)" \
  test "$live" = "$(jq -c "$keys" "$TMP/cnl_eval/metrics/summary_stats.json")"

# 3. event logs: exact
e2e_single_cfg thr.yml "$port" sessions=30
sed -i 's/^runtime: {/runtime: {num_client_threads: 2, /' thr.yml
rc=0; "$VEEKSHA" benchmark --config thr.yml --output_dir "$TMP/thr" --quiet > thr.out 2> thr.err || rc=$?
thr=$(ls -d "$TMP"/thr/*/)
rc=0; "$VEEKSHA" evaluate "$thr" --output "$TMP/thr_eval" --quiet > te.out 2> te.err || rc=$?
check "event logs: exit 0" test "$rc" -eq 0 || cat te.err
check "event logs: summary_stats.json byte-identical to the run's" cmp -s "$thr/metrics/summary_stats.json" "$TMP/thr_eval/metrics/summary_stats.json"
check "event logs: report.html written" test -s "$TMP/thr_eval/metrics/report.html"

# 4. not a run
rc=0; "$VEEKSHA" evaluate "$TMP/nothing" > no.out 2> no.err || rc=$?
check "not a run directory: exit 2" test "$rc" -eq 2
check "not a run directory: says so" grep -q "not a run directory" no.err
e2e_finish
