#!/usr/bin/env bash
# Shards (docs/DISTRIBUTED.md):
# 1. a 2-shard rate run (two processes, --shard 0/2 and 1/2, one rendezvous directory) dispatches exactly
#    the requests, sessions and intended times of the unsharded run (--shard 0/1) with the same seed,
#    every session in one shard only, and shard 0 merges both into the run directory; the merged
#    summary is what `veeksha merge` computes again from the same shard directories, byte for byte;
# 2. runtime.num_client_threads: 2 in one process: the same requests and intended times, merged; a
#    SIGTERM reaches both threads (exit 143, shards merged, run interrupted);
# 3. the launcher's environment: srun's SLURM_STEP_NUM_TASKS/SLURM_PROCID pick the shard;
# 4. refusals: a bad --shard, a shard count without a common start, a Kubernetes index without a
#    count (exit 2), a shard that cannot make --start-at (exit 1, says so).
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"

e2e_start_sim 0 --mode fixed --ttft-ms 3 --itl-ms 1
port=$E2E_SIM_PORT
cat > rate.yml <<EOF
seed: 17
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
traffic_scheduler: {type: rate, interval_generator: {type: poisson, arrival_rate: 60}}
session_generator:
  type: synthetic
  session_graph: {type: linear, num_request_generator: {type: uniform, min: 1, max: 3}, request_wait_generator: {type: fixed, interval: 0.01}}
  channels: [{type: text, body_length_generator: {type: uniform, min: 8, max: 40}}]
  output_spec: {text: {output_length_generator: {type: uniform, min: 2, max: 12}}}
runtime: {max_sessions: 48, benchmark_timeout: 60}
EOF

# (request_id, session_id, intended ns) of every dispatch, sorted, from a run's shard event logs. The
# intended time of a session's first request is the schedule's; a later request's is its parent's
# completion plus think time, measured, so only its ids are compared ("-").
schedule() { python3 - "$@" <<'PY'
import json, sys, glob
rows = []
for d in sys.argv[1:]:
    for f in sorted(glob.glob(d + "/shard-*-of-*/metrics/eval_events.jsonl")):
        for line in open(f):
            e = json.loads(line)
            if e.get("ev") == "reg":
                rows.append((e["request_id"], e["session_id"], e["intended"] if e["node_id"] == 0 else "-"))
for r in sorted(rows):
    print(*r)
PY
}
# sessions that appear in more than one shard directory (none expected)
sessions_spanning() { python3 - "$1" <<'PY'
import json, sys, glob, collections
where = collections.defaultdict(set)
for f in glob.glob(sys.argv[1] + "/shard-*-of-*/metrics/eval_events.jsonl"):
    for line in open(f):
        e = json.loads(line)
        if e.get("ev") == "reg":
            where[e["session_id"]].add(f)
print(sum(1 for s in where.values() if len(s) > 1))
PY
}

# 1. unsharded (one shard) and two processes
# (a rendezvous of one shard, which is its own start: it failed with "cannot write .../ready-0-of-1.json")
rc=0; "$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/one" --shard 0/1 --rendezvous "$TMP/rdv_one" \
  --rendezvous-margin-s 0.2 --quiet > one.out 2> one.err || rc=$?
check "one shard: exit 0" test "$rc" -eq 0 || cat one.err
check "one shard: its rendezvous directory has its ready file" \
  test -f "$TMP/rdv_one/ready-0-of-1.json"
one=$(ls -d "$TMP"/one/*/)
check "one shard: shard directory and merged summary" test -f "$one/shard-0-of-1/metrics/eval_events.jsonl" -a -f "$one/metrics/summary_stats.json"

rc0=0; rc1=0
# (the shards ask for different margins: they must still agree on one start, the larger margin's)
"$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/two" --shard 1/2 --rendezvous "$TMP/rdv" \
  --rendezvous-margin-s 1.5 --rendezvous-timeout-s 60 --quiet > s1.out 2> s1.err &
pid1=$!
"$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/two" --shard 0/2 --rendezvous "$TMP/rdv" \
  --rendezvous-margin-s 0.5 --rendezvous-timeout-s 60 --quiet > s0.out 2> s0.err || rc0=$?
wait "$pid1" || rc1=$?
check "two shards: both exit 0" test "$rc0" -eq 0 -a "$rc1" -eq 0 || cat s0.err s1.err
check "two shards: one run directory" test "$(ls -d "$TMP"/two/*/ | wc -l)" -eq 1
two=$(ls -d "$TMP"/two/*/)
check "two shards: both shard directories" test -d "$two/shard-0-of-2" -a -d "$two/shard-1-of-2"
check "two shards: one start although their margins differ" \
  test "$(grep -ho '"start_epoch_ns":[0-9]*' "$two"/shard-*/metrics/eval_events.jsonl | sort -u | wc -l)" -eq 1
schedule "$one" > sched_one.txt
schedule "$two" > sched_two.txt
check "two shards: a schedule was recorded (48 sessions, more requests)" \
  test "$(grep -vc ' -$' sched_one.txt)" -eq 48 -a "$(wc -l < sched_one.txt)" -gt 48
check "two shards: the union of the shards' dispatches is the unsharded schedule" cmp -s sched_one.txt sched_two.txt \
  || diff sched_one.txt sched_two.txt | head
check "two shards: no session spans two shards" test "$(sessions_spanning "$two")" = 0
check "two shards: both shards dispatched" \
  test "$(awk '$2 % 2 == 0' sched_two.txt | wc -l)" -gt 0 -a "$(awk '$2 % 2 == 1' sched_two.txt | wc -l)" -gt 0
check "two shards: shard 0 merged the run" test -f "$two/metrics/summary_stats.json" -a -f "$two/metrics/shards.json"
n_sched=$(wc -l < sched_two.txt)
check "two shards: merged Number of Requests is every dispatch ($n_sched)" \
  jq -e --argjson n "$n_sched" '.["Number of Requests"] == $n' "$two/metrics/summary_stats.json"
rc=0; "$VEEKSHA" merge --quiet --output "$TMP/remerge" "$two" > remerge.out 2> remerge.err || rc=$?
check "merge again: exit 0" test "$rc" -eq 0 || cat remerge.err
for f in summary_stats.json slo_results.json request_level_metrics.jsonl ttfc.csv; do
  check "merge again: $f is byte-identical to the merge shard 0 wrote" cmp -s "$two/metrics/$f" "$TMP/remerge/metrics/$f"
done
check "rendezvous: hello, ready and done of both shards" \
  test "$(ls "$TMP"/rdv | grep -Ec '^(hello|ready|done)-[01]-of-2\.json$')" -eq 6

# 2. two client threads in one process
sed 's/^runtime: {/runtime: {num_client_threads: 2, /' rate.yml > threads.yml
rc=0; "$VEEKSHA" benchmark --config threads.yml --output_dir "$TMP/thr" --quiet > thr.out 2> thr.err || rc=$?
check "threads: exit 0" test "$rc" -eq 0 || cat thr.err
thr=$(ls -d "$TMP"/thr/*/)
schedule "$thr" > sched_thr.txt
check "threads: the same requests and intended times as the unsharded run" cmp -s sched_one.txt sched_thr.txt
check "threads: merged into the run directory" test -f "$thr/metrics/summary_stats.json" -a -f "$thr/metrics/shards.json"
check "threads: two shard directories" test -d "$thr/shard-0-of-2" -a -d "$thr/shard-1-of-2"
# the threads' shards carry the run's one start (the merge refuses shards of different starts)
check "threads: both shards record one start" test "$(grep -ho '"start_epoch_ns":[0-9]*' "$thr"/shard-*/metrics/eval_events.jsonl | sort -u | wc -l)" -eq 1
rc=0; "$VEEKSHA" merge --quiet --no-report --output "$TMP/thr_remerge" "$thr" > /dev/null 2> thr_remerge.err || rc=$?
check "threads: merge again: exit 0" test "$rc" -eq 0 || cat thr_remerge.err

# 2b. a signal reaches every client thread (through the main thread's watch loop): SIGTERM mid-run
# stops both loops, their shards are merged, the run is interrupted (exit 128+15)
sed 's/^runtime: {max_sessions: 48/runtime: {num_client_threads: 2, max_sessions: -1/' rate.yml > thr_sig.yml
e2e_bg "$VEEKSHA" benchmark --config thr_sig.yml --output_dir "$TMP/thrsig" --quiet
bpid=$E2E_LAST_PID
for i in $(seq 1 300); do # bounded: until both shards have recorded requests
  n=$( (cat "$TMP"/thrsig/*/shard-*-of-2/metrics/request_level_metrics.jsonl 2>/dev/null || true) | wc -l)
  [ "$n" -ge 10 ] && break
  sleep 0.05
done
kill -TERM "$bpid"
rc=0; wait "$bpid" || rc=$?
check "threads + SIGTERM: exit 143 (got $rc)" test "$rc" -eq 143
thrsig=$(ls -d "$TMP"/thrsig/*/ | head -1)
check "threads + SIGTERM: both shards merged, run interrupted" \
  jq -e '.run_status == "interrupted" and ."Number of Requests" >= 10' "$thrsig/metrics/summary_stats.json"

# 2c. a shard that fails before its start (here: given a --start-at already past) still says done; shard 0
# merges what it measured into the run directory, truncated, the missing shard named (exit 1)
start_at=$(python3 -c 'import time; print(round(time.time() + 8, 3))')
past=$(python3 -c 'import time; print(round(time.time() - 5, 3))')
rc0=0; rc1=0
"$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/late" --shard 1/2 --rendezvous "$TMP/rdv_late" \
  --start-at "$past" --rendezvous-timeout-s 60 --quiet > l1.out 2> l1.err &
pid1=$!
"$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/late" --shard 0/2 --rendezvous "$TMP/rdv_late" \
  --start-at "$start_at" --rendezvous-timeout-s 60 --quiet > l0.out 2> l0.err || rc0=$?
wait "$pid1" || rc1=$?
check "late shard: it exits 1, saying so (rc $rc1)" test "$rc1" -eq 1 && grep -q "could not make the common start" l1.err
check "late shard: shard 0 exits 1 (rc $rc0)" test "$rc0" -eq 1 || cat l0.err
late=$(ls -d "$TMP"/late/*/ | head -1)
check "late shard: shard 0's requests merged, the run truncated, shard 1 named" \
  jq -e '.run_status == "truncated" and (.run_status_reason | contains("shard 1 of 2 missing")) and ."Number of Requests" > 0' "$late/metrics/summary_stats.json"

# 2d. a shard that fails before it is ready (here: too few open files for its sessions, exit 2) says
# done; the other shard stops waiting at once, naming it, instead of waiting out the rendezvous timeout
cat > conc.yml <<EOF
seed: 17
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
traffic_scheduler: {type: concurrent, target_concurrent_sessions: 200}
session_generator:
  type: synthetic
  session_graph: {type: linear}
  channels: [{type: text, body_length_generator: {type: uniform, min: 8, max: 40}}]
  output_spec: {text: {output_length_generator: {type: uniform, min: 2, max: 12}}}
runtime: {max_sessions: 400, benchmark_timeout: 20}
EOF
rc0=0; rc1=0
(ulimit -n 128; exec "$VEEKSHA" benchmark --config conc.yml --output_dir "$TMP/early" --shard 1/2 \
  --rendezvous "$TMP/rdv_early" --rendezvous-timeout-s 30 --quiet > f1.out 2> f1.err) &
pid1=$!
t0=$(date +%s)
timeout 25 "$VEEKSHA" benchmark --config conc.yml --output_dir "$TMP/early" --shard 0/2 \
  --rendezvous "$TMP/rdv_early" --rendezvous-timeout-s 30 --quiet > f0.out 2> f0.err || rc0=$?
wait "$pid1" || rc1=$?
check "early failure: shard 1 exits 2 (rc $rc1)" test "$rc1" -eq 2 || cat f1.err
check "early failure: shard 0 exits 1 well before the rendezvous timeout (rc $rc0, $(( $(date +%s) - t0 )) s)" test "$rc0" -eq 1
check "early failure: shard 0 names shard 1" grep -q "shard 1 ended (exit code 2) without announcing 'ready'" f0.err || cat f0.err

# 2e. the SLO verdict of a rendezvous run is the merged run's: shard 0's own requests miss the SLO (its
# share of long outputs), the merged run meets it: shard 0 prints "All SLOs met: yes" and must exit 0
# with --fail-on-slo, as must shard 1 (its part is no verdict either)
e2e_start_sim 0 --mode fixed --ttft-ms 5 --itl-ms 10
slo_port=$E2E_SIM_PORT
slo_cfg() { # FILE THRESHOLD_S
  cat > "$1" <<EOF
seed: 11
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$slo_port/v1", model: sim-model}
traffic_scheduler: {type: rate, interval_generator: {type: poisson, arrival_rate: 20}}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: fixed, value: 8}}]
  output_spec: {text: {output_length_generator: {type: uniform, min: 2, max: 200}}}
evaluators: [{type: performance, slos: [{metric: e2e, percentile: 0.5, value: $2}]}]
runtime: {max_sessions: 30, benchmark_timeout: 30}
EOF
}
slo_run() { # CFG NAME: both shards with --fail-on-slo; rc0, rc1
  rc0=0; rc1=0
  "$VEEKSHA" benchmark --config "$1" --output_dir "$TMP/$2" --shard 1/2 --rendezvous "$TMP/rdv_$2" \
    --rendezvous-margin-s 0.5 --rendezvous-timeout-s 60 --fail-on-slo --quiet > "$2.s1" 2>&1 &
  local p1=$!
  "$VEEKSHA" benchmark --config "$1" --output_dir "$TMP/$2" --shard 0/2 --rendezvous "$TMP/rdv_$2" \
    --rendezvous-margin-s 0.5 --rendezvous-timeout-s 60 --fail-on-slo --quiet > "$2.s0" 2>&1 || rc0=$?
  wait "$p1" || rc1=$?
}
slo_cfg slo_probe.yml 100
slo_run slo_probe.yml slo_probe
probe=$(ls -d "$TMP"/slo_probe/*/)
obs() { jq '.results[] | select(.slo_metric_key == "e2e_p50") | .observed_value' "$1/metrics/slo_results.json"; }
own0=$(obs "$probe/shard-0-of-2"); merged=$(obs "$probe")
check "SLO verdict: shard 0's own P50 E2E ($own0 s) is well above the merged one ($merged s)" \
  python3 -c "import sys; sys.exit(0 if $own0 - $merged >= 0.08 else 1)"
slo_cfg slo_mid.yml "$(python3 -c "print(round(($own0 + $merged) / 2, 4))")"
slo_run slo_mid.yml slo_mid
check "SLO verdict: merged run met its SLO" grep -q "All SLOs met: yes" slo_mid.s0
check "SLO verdict: shard 0 exits 0 with --fail-on-slo (rc $rc0)" test "$rc0" -eq 0
check "SLO verdict: shard 1 exits 0 with --fail-on-slo (rc $rc1)" test "$rc1" -eq 0
kill -TERM "$E2E_SIM_PID"; e2e_wait_gone "$E2E_SIM_PID" 10 || true

# 3. srun's environment picks the shard (shard 1 of 2 here; shard 0 is run with --shard)
rc0=0; rc1=0
SLURM_STEP_NUM_TASKS=2 SLURM_PROCID=1 SLURM_JOB_ID=4242 SLURM_STEP_ID=0 \
  "$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/srun" --rendezvous-margin-s 0.5 \
  --rendezvous-timeout-s 60 --quiet > e1.out 2> e1.err &
pid1=$!
SLURM_STEP_NUM_TASKS=2 SLURM_PROCID=0 SLURM_JOB_ID=4242 SLURM_STEP_ID=0 \
  "$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/srun" --rendezvous-margin-s 0.5 \
  --rendezvous-timeout-s 60 --quiet > e0.out 2> e0.err || rc0=$?
wait "$pid1" || rc1=$?
check "srun environment: both exit 0" test "$rc0" -eq 0 -a "$rc1" -eq 0 || cat e0.err e1.err
check "srun environment: rendezvous under output_dir/.rendezvous/slurm-<job>.<step>" \
  test -f "$TMP/srun/.rendezvous/slurm-4242.0/done-1-of-2.json"
srun_dir=$(ls -d "$TMP"/srun/*/ | grep -v rendezvous | head -1)
schedule "$srun_dir" > sched_srun.txt
check "srun environment: the same schedule" cmp -s sched_one.txt sched_srun.txt

# 4. refusals
rc=0; "$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/bad" --shard 2/2 > bad.out 2> bad.err || rc=$?
check "--shard 2/2: exit 2" test "$rc" -eq 2
check "--shard 2/2: says what is expected" grep -q "expected K/N" bad.err
rc=0; "$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/bad" --shard 0/2 > bad2.out 2> bad2.err || rc=$?
check "--shard 0/2 without a start: exit 2" test "$rc" -eq 2
check "--shard 0/2 without a start: names --start-at and --rendezvous" grep -q "start-at.*rendezvous" bad2.err
rc=0; JOB_COMPLETION_INDEX=1 "$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/bad" > bad3.out 2> bad3.err || rc=$?
check "JOB_COMPLETION_INDEX without a count: exit 2" test "$rc" -eq 2
check "JOB_COMPLETION_INDEX without a count: names --shard-count" grep -q "shard-count" bad3.err
# --start-at in milliseconds (date +%s%3N): an error at once, not a start ~235 years ahead (the ns
# wrapped) waited for without end
rc=0; timeout -k 5 20 "$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/bad" --shard 0/2 \
  --start-at "$(date +%s%3N)" > bad4.out 2> bad4.err || rc=$?
check "--start-at in milliseconds: exit 2 (got $rc)" test "$rc" -eq 2
check "--start-at in milliseconds: says seconds, not milliseconds" grep -q "takes UTC epoch seconds" bad4.err
check "refusals leave no run directory" test ! -e "$TMP/bad"
# SIGTERM while a shard waits for a --start-at an hour ahead: it stops at once (exit 143), it does
# not sleep on until the start
ahead=$(( $(date +%s) + 3600 ))
e2e_bg "$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/ahead" --shard 0/2 --start-at "$ahead" \
  > ahead.out 2> ahead.err
apid=$E2E_LAST_PID
for _ in $(seq 1 300); do grep -q "for the common start" ahead.err && break; sleep 0.05; done
check "start an hour ahead: says it waits for the common start" grep -q "waiting .* s for the common start" ahead.err
kill -TERM "$apid" 2>/dev/null || true
for _ in $(seq 1 100); do kill -0 "$apid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$apid" 2>/dev/null; then
  kill -KILL "$apid"; wait "$apid" 2>/dev/null || true; rc=still-running
else
  rc=0; wait "$apid" 2>/dev/null || rc=$?
fi
check "start an hour ahead: SIGTERM ends the wait within 5 s, exit 143 (got $rc)" test "$rc" = 143
past=$(python3 -c 'import time; print(time.time() - 30)')
rc=0; "$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/late" --shard 1/2 --start-at "$past" --quiet > late.out 2> late.err || rc=$?
# (its stderr in the description: this check failed once under load with another message)
check "a start already past: exit 1 (got $rc)" test "$rc" -eq 1
check "a start already past: says the shard missed it (stderr: $(head -c 300 late.err | tr '\n' ' '))" \
  grep -q "could not make the common start" late.err
# a start before this host booted (a monotonic time <= 0): missed too, not taken as "start now"
rc=0; "$VEEKSHA" benchmark --config rate.yml --output_dir "$TMP/late1" --shard 1/2 --start-at 1 --quiet > late1.out 2> late1.err || rc=$?
check "a start before the host booted: exit 1 (got $rc)" test "$rc" -eq 1
check "a start before the host booted: says the shard missed it" grep -q "could not make the common start" late1.err
check "a start before the host booted: no request sent" \
  test -z "$(grep -hs '"ev":"reg"' "$TMP"/late1/*/shard-1-of-2/metrics/eval_events.jsonl)"

e2e_finish
