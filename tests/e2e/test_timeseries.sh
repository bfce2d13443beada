#!/usr/bin/env bash
# The client's time series (docs/OBSERVABILITY.md, Time series): against the sim at a known rate
# (a request every 50 ms for 3 s), metrics/timeseries.csv has a row per second whose dispatched
# counts add up to the request count (about 20 in each full second), whose completions and tokens add
# up to the summary's, whose in-flight column follows from the other columns and agrees with the
# request rows; timeseries_interval_s changes the bucket, 0 turns it off, a bad value is a config
# error naming the key; a merged run (num_client_threads: 2) writes it too; with gnuplot installed
# timeseries.png and timeseries_server.png (with the scrape's series) are drawn.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"

e2e_start_sim 0 --mode fixed --ttft-ms 20 --itl-ms 5
port=$E2E_SIM_PORT
cfg() { # cfg FILE [evaluators]
  e2e_single_cfg "$1" "$port" "traffic={type: rate, interval_generator: {type: fixed, interval: 0.05}}" \
    sessions=60 output=16 ${2:+"evaluators=$2"}
}
run() { # run NAME CONFIG: the run directory on stdout
  local rc=0
  "$VEEKSHA" benchmark --config "$2" --output_dir "$TMP/$1" --quiet > "$1.out" 2> "$1.err" || rc=$?
  if [ "$rc" -ne 0 ]; then echo "benchmark $1 exited $rc" >&2; cat "$1.err" >&2; fi
  ls -d "$TMP/$1"/*/ 2>/dev/null | head -1
}

# checks of one run's timeseries.csv against its summary and request rows; prints "ok" or why not
check_series() { python3 - "$1" "$2" <<'PY' || echo "python failed"
import csv, json, sys
d, width = sys.argv[1], float(sys.argv[2])
rows = list(csv.DictReader(open(d + "metrics/timeseries.csv")))
summ = json.load(open(d + "metrics/summary_stats.json"))
reqs = [json.loads(l) for l in open(d + "metrics/request_level_metrics.jsonl")]
want_cols = ("t_start_s,t_end_s,dispatched,completed,errored,cancelled,in_flight,in_flight_mean,"
             "output_tokens,output_tokens_per_s,ttfc_p50_s,ttfc_p99_s,tbc_p50_s").split(",")
def bad(why):
    print(why); sys.exit(0)
if list(rows[0].keys()) != want_cols: bad("columns %s" % list(rows[0].keys()))
n = summ["Number of Requests"]
if sum(int(r["dispatched"]) for r in rows) != n: bad("dispatched does not add up to %d" % n)
if sum(int(r["completed"]) for r in rows) != summ["Number of Completed Requests"]: bad("completed")
if sum(int(r["errored"]) for r in rows) != summ["Number of Errored Requests"]: bad("errored")
if sum(int(r["output_tokens"]) for r in rows) != sum(q.get("num_output_tokens", 0) for q in reqs if q.get("success", True)):
    bad("output tokens do not add up to the request rows'")
prev_if, prev_end = 0, 0
for i, r in enumerate(rows):
    a, b = float(r["t_start_s"]), float(r["t_end_s"])
    if abs(a - i * width) > 1e-6: bad("row %d starts at %s" % (i, a))
    if i + 1 < len(rows) and abs(b - a - width) > 1e-6: bad("row %d is not %g s wide" % (i, width))
    inf = int(r["in_flight"])
    if inf != prev_if - prev_end + int(r["dispatched"]): bad("row %d: in_flight %d does not follow" % (i, inf))
    if float(r["in_flight_mean"]) > inf + 1e-9: bad("row %d: mean in flight above in_flight" % i)
    # from the request rows: dispatched before the bucket's end, not ended before its start (rows
    # with a time within 50 us of an edge are left out: the rows' times are rounded to 10 us)
    iv = [(q["scheduler_dispatched_at"], q["client_completed_at"]) for q in reqs]
    near = any(abs(t - e) < 5e-5 for d0, c0 in iv for t in (d0, c0) for e in (a, b))
    cnt = sum(1 for d0, c0 in iv if d0 < b and c0 >= a)
    if not near and cnt != inf: bad("row %d: in_flight %d, the request rows say %d" % (i, inf, cnt))
    if r["ttfc_p50_s"] and not (float(r["ttfc_p50_s"]) <= float(r["ttfc_p99_s"])): bad("row %d: p50 > p99" % i)
    prev_if, prev_end = inf, int(r["completed"]) + int(r["errored"]) + int(r["cancelled"])
print("ok")
PY
}

cfg base.yml
d=$(run base base.yml)
check "timeseries.csv written (default 1 s)" test -s "${d}metrics/timeseries.csv"
res=$(check_series "$d" 1.0)
check "1 s buckets: sums, in-flight accounting and request rows agree ($res)" test "$res" = ok
full=$(python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(" ".join(r["dispatched"] for r in rows[:-1]))' "${d}metrics/timeseries.csv")
check "each full second has 20 +- 1 dispatches at 20 requests/s ($full)" \
  python3 -c 'import sys; v=[int(x) for x in sys.argv[1:]]; sys.exit(0 if len(v) >= 2 and all(19 <= x <= 21 for x in v) else 1)' $full
check "TTFC p50 in each full bucket near the sim's 20 ms" python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))[:-1]
sys.exit(0 if all(0.019 < float(r["ttfc_p50_s"]) < 0.060 for r in rows) else 1)' "${d}metrics/timeseries.csv"
if command -v gnuplot >/dev/null 2>&1; then
  check "timeseries.png drawn" test -s "${d}metrics/timeseries.png"
  if [ -s "${d}metrics/server_metrics.csv" ]; then
    check "timeseries_server.png drawn (client and server series)" test -s "${d}metrics/timeseries_server.png"
    check "its data has the server's running series" grep -q "server: running" "${d}metrics/plots_src/timeseries_server.dat"
  else
    fail "no server_metrics.csv: the scrape of the sim's /metrics did not run"
  fi
else
  echo "NOTICE: gnuplot is not installed: the PNG checks are skipped (the CSV checks ran)"
fi

cfg half.yml "[{type: performance, timeseries_interval_s: 0.5}]"
d=$(run half half.yml)
res=$(check_series "$d" 0.5)
check "0.5 s buckets: sums and accounting ($res)" test "$res" = ok
n=$(($(wc -l < "${d}metrics/timeseries.csv") - 1))
check "0.5 s buckets: 6 or more rows over the ~3 s run ($n)" test "$n" -ge 6

cfg off.yml "[{type: performance, timeseries_interval_s: 0}]"
d=$(run off off.yml)
check "timeseries_interval_s: 0 writes no time series" test ! -e "${d}metrics/timeseries.csv"
check "... and the run's other files" test -s "${d}metrics/summary_stats.json"

cfg bad.yml "[{type: performance, timeseries_interval_s: -1}]"
rc=0; "$VEEKSHA" benchmark --config bad.yml --output_dir "$TMP/bad" > bad.out 2> bad.err || rc=$?
check "a negative interval: exit 2" test "$rc" -eq 2
check "... naming the key" grep -q "timeseries_interval_s" bad.err

# merged: two client loops, their event logs replayed into one evaluator (docs/MERGE.md)
cfg threads0.yml
sed 's/^runtime: {/runtime: {num_client_threads: 2, /' threads0.yml > threads.yml
d=$(run threads threads.yml)
check "merged run (2 client threads): timeseries.csv in the run directory" test -s "${d}metrics/timeseries.csv"
res=$(check_series "$d" 1.0)
check "merged run: sums, accounting and request rows ($res)" test "$res" = ok
if command -v gnuplot >/dev/null 2>&1; then
  check "merged run: timeseries.png" test -s "${d}metrics/timeseries.png"
  check "merged run: timeseries_server.png" test -s "${d}metrics/timeseries_server.png"
fi
e2e_finish
