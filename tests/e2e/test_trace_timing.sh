#!/usr/bin/env bash
# End-to-end: Mooncake-style trace with replay_timestamps against the simulated server at time scale
# 1.0 and 0.5: the scheduled arrivals equal timestamp/1000*time_scale exactly, prompts have their
# target token counts, the pre-dispatch polling (runtime.dispatch_spin_us) is in effect, and every
# request is dispatched, none early, in order, with a p99 dispatch error <= 250 ms (functional bound,
# passes on a busy machine: 50 ms failed with 94 ms under two CPU hogs; not checked in sanitizer
# builds). The sub-millisecond precision target
# is a bench: `bench/bench.py trace`. Registered RUN_SERIAL (name contains "timing").
# While `veeksha benchmark` does not support trace sessions yet, prints SKIP and exits 0.
source "$(dirname "$0")/lib.sh" "$@"
DATA="$SRC/tests/data/trace"
e2e_start_sim 0 --mode fixed --ttft-ms 5 --itl-ms 1
port=$E2E_SIM_PORT

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
# Dispatch against the scaled schedule, from the dispatch trace of the last run ($tr): every one of
# the 200 requests dispatched, none early, in schedule order (only requests scheduled within the
# bound of each other may swap), and p99 |dispatched_at - timestamp / 1000 * scale| <= 250 ms.
# Generous on purpose (issue 21 item 15): on a busy machine the client is preempted for
# milliseconds; the sub-millisecond target is measured by `bench/bench.py trace` (bench/RESULTS.md).
dispatch_within_bounds() { # SCALE
  python3 - "$tr" "$TMP/mooncake.jsonl" "$1" <<'PY2'
import json, sys
trace = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda t: t["session_id"])
ts = [json.loads(l)["timestamp"] for l in open(sys.argv[2])]
scale, bound = float(sys.argv[3]), 0.250  # functional: a wrong scale or unit is off by seconds
assert len(trace) == len(ts), ("dispatched", len(trace), "of", len(ts))
sched = [t / 1000.0 * scale for t in ts]
disp = [t["dispatched_at"] for t in trace]
early = [(i, sched[i] - d) for i, d in enumerate(disp) if d < sched[i] - 1e-4]  # outputs are rounded to 10 us
assert not early, ("dispatched before the schedule (index, s early)", early[:3])
swaps = [(i, j) for i in range(len(disp)) for j in range(i + 1, len(disp))
         if disp[j] < disp[i] and sched[j] - sched[i] > bound]
assert not swaps, ("dispatched out of schedule order", swaps[:3])
err = sorted(abs(d - sched[i]) for i, d in enumerate(disp))
p99 = err[min(len(err) - 1, int(0.99 * len(err)))]
print(f"p99 dispatch error {p99 * 1000:.3f} ms (max {err[-1] * 1000:.3f} ms; bound {bound * 1000:.0f} ms)")
sys.exit(0 if p99 <= bound else 1)
PY2
}
for scale in 1.0 0.5; do
  run_trace "mooncake$scale" "{type: mooncake, block_size: 8, replay_timestamps: true, time_scale: $scale}" \
    "$TMP/mooncake.jsonl" 200
  rl="$run/metrics/request_level_metrics.jsonl"
  check "mooncake x$scale: measured prompt tokens equal the targets" prompt_tokens_match
  check "mooncake x$scale: scheduled arrivals = timestamp / 1000 * time_scale" python3 - "$rl" "$TMP/mooncake.jsonl" "$scale" <<'PY2'
import json, sys
rows = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda r: r["session_id"])
ts = [json.loads(l)["timestamp"] for l in open(sys.argv[2])]
scale = float(sys.argv[3])
assert len(rows) == len(ts), (len(rows), len(ts))
worst = max(abs(r["scheduler_ready_at"] - ts[i] / 1000.0 * scale) for i, r in enumerate(rows))
print(f"max |ready_at - scaled timestamp| = {worst * 1000:.3f} ms")
sys.exit(0 if worst <= 2e-5 else 1)
PY2
  # The dispatch precision relies on polling before each dispatch (runtime.dispatch_spin_us,
  # default 2000 us): it must have happened, and not be counted as the loop's work.
  u="$run/metrics/client_usage.json"
  echo "client_usage: $(jq -c '{run_loop_spin_s, run_loop_thread_cpu_s, loop_busy_fraction}' "$u")"
  # the spin is thread CPU (not wall time), so it never exceeds the loop's CPU, also on a busy machine
  check "mooncake x$scale: the loop polled before dispatches (0 < run_loop_spin_s <= run_loop_thread_cpu_s, loop_busy_fraction < 0.5)" \
    jq -e '.run_loop_spin_s > 0 and .run_loop_spin_s <= .run_loop_thread_cpu_s and .loop_busy_fraction < 0.5' "$u"
  if [ "${VK_SANITIZER_BUILD:-0}" = 1 ]; then
    echo "SKIP: dispatch timing is not checked in sanitizer builds"
    continue
  fi
  check "mooncake x$scale: all dispatched, none early, in order, p99 dispatch error <= 250 ms" dispatch_within_bounds "$scale"
done
e2e_finish
