#!/usr/bin/env bash
# The measurement window (docs/METRICS.md, Measurement window): warmup/cooldown requests and seconds
# run but are left out of every metric; the summary names the window; the shard directory keeps every
# request; no window keeps today's layout; a negative value is a config error.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"

e2e_start_sim 0 --mode fixed --ttft-ms 2 --itl-ms 1
port=$E2E_SIM_PORT
run() { # run NAME EVALUATOR_EXTRA [traffic]
  e2e_single_cfg "$1.yml" "$port" sessions=20 output=4 \
    "evaluators=[{type: performance, slos: []$2}]" ${3:+"traffic=$3"}
  local rc=0
  "$VEEKSHA" benchmark --config "$1.yml" --output_dir "$TMP/$1" --quiet > "$1.out" 2> "$1.err" || rc=$?
  check "$1: exit 0" test "$rc" -eq 0 || cat "$1.err"
}
summary() { echo "$(ls -d "$TMP/$1"/*/)metrics/summary_stats.json"; }
rows() { echo "$(ls -d "$TMP/$1"/*/)metrics/request_level_metrics.jsonl"; }

one="{type: concurrent, target_concurrent_sessions: 1, rampup_seconds: 0}"
run warm ", warmup_requests: 5, cooldown_requests: 3" "$one"
check "requests: 12 of 20 in the metrics" jq -e '.["Number of Requests"] == 12' "$(summary warm)"
check "requests: summary names the window" \
  jq -e '.measurement_window | del(.duration_s) == {"warmup_seconds": 0.0, "warmup_requests": 5, "cooldown_seconds": 0.0, "cooldown_requests": 3, "excluded_requests": 8}' "$(summary warm)"
# the rates are per second of the measured span (first measured dispatch to last measured end), not
# of the whole run: here 12 of the 20 requests, one at a time, so the run is ~20/12 of the span
python3 - "$(summary warm)" "$(rows warm)" <<'EOF' && ok "requests: throughput and goodput over the window's span" || fail "requests: throughput and goodput over the window's span"
import json, sys
s = json.load(open(sys.argv[1]))
rows = [json.loads(l) for l in open(sys.argv[2])]
span = max(r["client_completed_at"] for r in rows) - min(r["scheduler_dispatched_at"] for r in rows)
assert abs(s["measurement_window"]["duration_s"] - span) < 3e-5, (s["measurement_window"], span)
tokens = sum(r["num_output_tokens"] for r in rows if r.get("success", True))
got = s["Output Token Throughput (tokens/s)"]
assert abs(got - tokens / span) <= 1e-3 * got, (got, tokens / span)
assert abs(s["Goodput (requests/s)"] - s["Number of Completed Requests"] / span) <= 1e-3 * s["Goodput (requests/s)"], s
EOF
check "requests: the console says the rates are over the window" grep -q "output tokens/s (over the window's measured span)" warm.out
check "requests: rows are requests 5..16 (one at a time: dispatch order is id order)" \
  test "$(jq -s -c 'map(.request_id) | sort' "$(rows warm)")" = "[5,6,7,8,9,10,11,12,13,14,15,16]"
check "requests: the console names the window" grep -q "Window: warmup 0 s / 5 requests, cooldown 0 s / 3 requests: 8 requests" warm.out
check "requests: the shard directory keeps all 20" \
  jq -e '.["Number of Requests"] == 20' "$(ls -d "$TMP"/warm/*/)shard-0-of-1/metrics/summary_stats.json"

run secs ", warmup_seconds: 0.45, cooldown_seconds: 0.25" "{type: rate, interval_generator: {type: fixed, interval: 0.1}}"
n=$(jq '.["Number of Requests"]' "$(summary secs)")
# arrivals at 0, 0.1, ... 1.9 s: warmup drops 0..0.4 (5), cooldown drops those dispatched in the last
# 0.25 s before the end (at least the one at 1.9 s)
check "seconds: warmup and cooldown left out (12-14 of 20 kept, got $n)" test "$n" -ge 12 -a "$n" -le 14
check "seconds: no kept request was dispatched in the warmup" \
  jq -se 'map(.scheduler_dispatched_at) | min >= 0.45' "$(rows secs)"
check "seconds: excluded_requests adds up" jq -e '.measurement_window.excluded_requests + .["Number of Requests"] == 20' "$(summary secs)"

run none ""
check "no window: no measurement_window key, no shard directory" \
  bash -c "! jq -e 'has(\"measurement_window\")' '$(summary none)' >/dev/null && ! ls -d '$TMP'/none/*/shard-* 2>/dev/null"

e2e_single_cfg bad.yml "$port" "evaluators=[{type: performance, warmup_requests: -1}]"
rc=0; "$VEEKSHA" benchmark --config bad.yml --output_dir "$TMP/bad" > bad.out 2> bad.err || rc=$?
check "negative warmup: exit 2 naming the key" bash -c "test $rc -eq 2 && grep -q warmup_requests bad.err"
e2e_finish
