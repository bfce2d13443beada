#!/usr/bin/env bash
# End-to-end: Mooncake-style trace with replay_timestamps against the simulated server at time scale
# 1.0 and 0.5: the scheduled arrivals equal timestamp/1000*time_scale exactly, prompts have their
# target token counts, and the p99 dispatch error against the scaled schedule is <= 1 ms (not
# checked in sanitizer builds; it relies on runtime.dispatch_spin_us, whose default is checked to be
# in effect; it must hold in one of up to 4 runs, see below). Registered RUN_SERIAL (name contains
# "timing").
# While `veeksha benchmark` does not support trace sessions yet, prints SKIP and exits 0.
source "$(dirname "$0")/lib.sh" "$@"
DATA="$SRC/tests/data/trace"
port=$(e2e_free_port)
e2e_start_sim "$port" --mode fixed --ttft-ms 5 --itl-ms 1

source "$(dirname "$0")/trace_lib.sh"
set +e
# Mooncake timestamp replay at time scale 1.0 and 0.5: 200 arrivals over ~2 s (uneven gaps)
python3 - "$TMP/mooncake.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(200):
        f.write(json.dumps({"timestamp": i * 10 + (i % 3) * 3, "input_length": 16, "output_length": 4,
                            "hash_ids": [1, 2 + i % 4]}) + "\n")
PY
# p99 of |dispatched_at - timestamp / 1000 * scale| over the trace of the last run ($tr) <= 1 ms
dispatch_p99_within_1ms() { # SCALE
  python3 - "$tr" "$TMP/mooncake.jsonl" "$1" <<'PY'
import json, sys
trace = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda t: t["session_id"])
ts = [json.loads(l)["timestamp"] for l in open(sys.argv[2])]
scale = float(sys.argv[3])
assert len(trace) == len(ts), (len(trace), len(ts))
err = sorted(abs(t["dispatched_at"] - ts[i] / 1000.0 * scale) for i, t in enumerate(trace))
p99 = err[min(len(err) - 1, int(0.99 * len(err)))]
print(f"p99 dispatch error {p99 * 1000:.3f} ms (max {err[-1] * 1000:.3f} ms)")
sys.exit(0 if p99 <= 0.001 else 1)
PY
}
for scale in 1.0 0.5; do
  run_trace "mooncake$scale" "{type: mooncake, block_size: 8, replay_timestamps: true, time_scale: $scale}" \
    "$TMP/mooncake.jsonl" 200
  rl="$run/metrics/request_level_metrics.jsonl"
  check "mooncake x$scale: measured prompt tokens equal the targets" prompt_tokens_match
  check "mooncake x$scale: scheduled arrivals = timestamp / 1000 * time_scale" python3 - "$rl" "$TMP/mooncake.jsonl" "$scale" <<'PY'
import json, sys
rows = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda r: r["session_id"])
ts = [json.loads(l)["timestamp"] for l in open(sys.argv[2])]
scale = float(sys.argv[3])
assert len(rows) == len(ts), (len(rows), len(ts))
worst = max(abs(r["scheduler_ready_at"] - ts[i] / 1000.0 * scale) for i, r in enumerate(rows))
print(f"max |ready_at - scaled timestamp| = {worst * 1000:.3f} ms")
sys.exit(0 if worst <= 2e-5 else 1)
PY
  # The dispatch precision below relies on polling before each dispatch (runtime.dispatch_spin_us,
  # default 2000 us): it must have happened, and be reported apart from the loop's work.
  check "mooncake x$scale: the loop polled before dispatches (run_loop_spin_s > 0, not counted as busy)" \
    jq -e '.run_loop_spin_s > 0 and .run_loop_spin_s <= .run_loop_thread_cpu_s and .loop_busy_fraction < 0.5' \
    "$run/metrics/client_usage.json"
  if [ "${VK_SANITIZER_BUILD:-0}" = 1 ]; then
    echo "SKIP: dispatch accuracy is not checked in sanitizer builds"
    continue
  fi
  # A VM can stop a running vCPU for milliseconds (docs/ARCHITECTURE.md, Dispatch precision), which
  # no client can prevent; 2 late dispatches of 200 decide a run's p99. So the bound must hold in
  # one of up to 4 runs: a client whose dispatches are late fails all of them.
  ok_run=false
  for attempt in 1 2 3 4; do
    if [ "$attempt" -gt 1 ]; then
      echo "(run $attempt of at most 4)"
      run_trace "mooncake$scale-run$attempt" "{type: mooncake, block_size: 8, replay_timestamps: true, time_scale: $scale}" \
        "$TMP/mooncake.jsonl" 200
    fi
    if dispatch_p99_within_1ms "$scale"; then ok_run=true; break; fi
  done
  check "mooncake x$scale: p99 dispatch error vs scaled timestamps <= 1 ms (in one of up to 4 runs)" $ok_run
done
e2e_finish
