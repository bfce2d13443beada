#!/usr/bin/env bash
# Rate with a concurrency cap (traffic_scheduler.max_concurrency, docs/WORKLOAD.md): arrivals every
# ~5 ms, each request ~60 ms, cap 2: never more than 2 requests in flight (from the request rows'
# dispatch and completion times), the requests over the cap show their wait as dispatch_lateness and
# in e2e_from_intended; without the cap more than 2 are in flight; a negative cap is a config error.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"

e2e_start_sim 0 --mode fixed --ttft-ms 10 --itl-ms 5
port=$E2E_SIM_PORT
cfg() { # cfg FILE CAP
  e2e_single_cfg "$1" "$port" \
    "traffic={type: rate, interval_generator: {type: fixed, interval: 0.005}, max_concurrency: $2}" \
    sessions=40 output=10
}
# the most requests in flight at any dispatch: rows whose [dispatched, completed) holds it
max_in_flight() { python3 - "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
iv = [(r["scheduler_dispatched_at"], r["client_completed_at"]) for r in rows]
print(max(sum(1 for d, c in iv if d <= d0 < c) for d0, _ in iv))
PY
}
cfg cap.yml 2
rc=0; "$VEEKSHA" benchmark --config cap.yml --output_dir "$TMP/cap" --quiet > cap.out 2> cap.err || rc=$?
check "cap 2: exit 0" test "$rc" -eq 0 || cat cap.err
rows="$(ls -d "$TMP"/cap/*/)metrics/request_level_metrics.jsonl"
check "cap 2: every request measured" test "$(wc -l < "$rows")" -eq 40
m=$(max_in_flight "$rows")
check "cap 2: never more than 2 in flight (saw $m)" test "$m" -le 2
check "cap 2: the config keeps the cap" grep -q "max_concurrency: 2" "$(ls -d "$TMP"/cap/*/)config.yml"
check "cap 2: requests over the cap show their wait (dispatch_lateness > 100 ms for the last ones)" \
  jq -se 'map(.dispatch_lateness) | max > 0.1' "$rows"
check "cap 2: e2e_from_intended includes the wait" \
  jq -se 'map(select(.dispatch_lateness > 0.1) | .e2e_from_intended > .end_to_end_latency + 0.1) | all' "$rows"

cfg free.yml 0
rc=0; "$VEEKSHA" benchmark --config free.yml --output_dir "$TMP/free" --quiet > free.out 2> free.err || rc=$?
check "no cap: exit 0" test "$rc" -eq 0
m=$(max_in_flight "$(ls -d "$TMP"/free/*/)metrics/request_level_metrics.jsonl")
check "no cap: more than 2 in flight (saw $m)" test "$m" -gt 2

cfg bad.yml -1
rc=0; "$VEEKSHA" benchmark --config bad.yml --output_dir "$TMP/bad" > bad.out 2> bad.err || rc=$?
check "cap -1: exit 2" test "$rc" -eq 2
check "cap -1: names the key" grep -q "max_concurrency" bad.err
e2e_finish
