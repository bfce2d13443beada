#!/usr/bin/env bash
# A real Slurm (docs/SLURM.md): starts a single-node cluster in this test's temporary directory
# (tests/tools/slurm_cluster.sh: its own munged, slurmctld and slurmd, as root) and runs
#  (b) a 3-point sweep submitted with --launcher slurm as one job array, then `veeksha sweep status`
#      and `veeksha sweep collect`: sweep_summary.csv has the 3 points with their swept rates and the
#      same columns, keys and config values as a local sweep of the same config; --sbatch-arg reaches
#      sbatch; a config edited while the array waits in the queue fails its points loudly, and
#      collect still writes every row;
#  (a) a 2-task `srun` benchmark: the tasks find their shard in SLURM_PROCID/SLURM_NTASKS, meet in a
#      rendezvous directory, and shard 0 merges them into one run directory whose request count is
#      the sum of the shards'.
# Skipped (exit 77, a visible SKIP line) only where Slurm or munge is not installed or we are not root.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
CLUSTER=$TMP/slurm
slurm_stop() { bash "$SRC/tests/tools/slurm_cluster.sh" stop "$CLUSTER" >/dev/null 2>&1 || true; }
trap 'slurm_stop; e2e_cleanup' EXIT

set +e
bash "$SRC/tests/tools/slurm_cluster.sh" start "$CLUSTER" >"$TMP/cluster.out" 2>"$TMP/cluster.err"
rc=$?
set -e
if [ $rc -eq 77 ]; then
  echo "SKIP: no Slurm cluster here: $(cat "$TMP/cluster.err")"
  exit 77
fi
if [ $rc -ne 0 ]; then
  cat "$TMP/cluster.err"
  echo "FAIL - the single-node Slurm cluster did not start (exit $rc)"
  exit 1
fi
export SLURM_CONF=$CLUSTER/slurm.conf
ok "single-node Slurm cluster up ($(sinfo -h -o '%N %T %c CPUs' | head -1))"

e2e_start_sim 0 >"$TMP/sim.log" 2>&1
port=$E2E_SIM_PORT

# A 3-point sweep over the Poisson arrival rate; tiny runs.
cat > sweep.yml <<EOF
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
traffic_scheduler:
  type: rate
  interval_generator: {type: poisson, arrival_rate: !expand [10, 20, 40]}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: fixed, value: 16}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: 8}}}
runtime: {max_sessions: 12, benchmark_timeout: 60}
EOF

jqe() { jq -e "$1" "$2" >/dev/null; }

# wait_sweep DIR SECONDS: until `veeksha sweep status` says no point is pending or running (bounded).
wait_sweep() {
  local dir=$1 secs=$2 i rc
  for i in $(seq 1 $((secs * 4))); do
    set +e
    "$VEEKSHA" sweep status "$dir" >"$TMP/status.out" 2>&1
    rc=$?
    set -e
    [ $rc -ne 4 ] && return 0
    sleep 0.25
  done
  echo "sweep $dir still pending/running after ${secs}s:" >&2
  cat "$TMP/status.out" >&2
  squeue >&2 || true
  return 1
}

# ---- the local sweep: the reference for columns, keys and config values
"$VEEKSHA" benchmark --config sweep.yml --output_dir local --quiet >local.out 2>local.err
LOCAL=$(sed -n 's/^sweep directory: //p' local.out)
check "local sweep wrote its summary" test -s "$LOCAL/sweep_summary.csv"

# ---- (b) the same sweep as a job array
"$VEEKSHA" benchmark --config sweep.yml --output_dir onslurm --quiet --launcher slurm \
  --sbatch-arg=--job-name=vk-e2e-sweep --sbatch-arg=--time=10 >submit.out 2>submit.err
SW=$(sed -n 's/^sweep directory: //p' submit.out)
JOB=$(sed -n 's/^sweep of 3 runs submitted as Slurm job array \([0-9]*\) .*/\1/p' submit.out)
check "submission printed the sweep directory and the job id ($JOB)" test -n "$SW" -a -n "$JOB"
check "the sweep directory has its job file, batch script and 3 config snapshots" \
  test -s "$SW/sweep_job.json" -a -x "$SW/sweep.sbatch" -a -s "$SW/points/0.yml" -a -s "$SW/points/2.yml"
check "sweep_job.json records the job id" test "$(jq -r .slurm_job_id "$SW/sweep_job.json")" = "$JOB"
check "the batch script is one array of 3 tasks" grep -q '^#SBATCH --array=0-2$' "$SW/sweep.sbatch"
check "the tasks re-run the command without --launcher/--sbatch-arg" \
  bash -c "grep '^exec ' '$SW/sweep.sbatch' | grep -q -- '--sweep-point' && ! grep '^exec ' '$SW/sweep.sbatch' | grep -Eq -- '--launcher|--sbatch-arg'"
check "--sbatch-arg reached sbatch (job name)" \
  bash -c "scontrol show job $JOB | grep -q 'JobName=vk-e2e-sweep'"
check "the array's tasks finish (bounded wait)" wait_sweep "$SW" 120
"$VEEKSHA" sweep status "$SW" --json >status.json || true
check "status: every point done, each with a run directory" \
  jqe '(.points | length) == 3 and all(.points[]; .state == "done" and .run_dir != null and .exit_code == 0)' status.json
check "status: squeue saw the tasks complete" jqe 'all(.points[]; .slurm_state == "COMPLETED")' status.json
set +e
"$VEEKSHA" sweep collect "$SW" >collect.out 2>collect.err
rc=$?
set -e
check "collect exits 0 ($rc)" test $rc -eq 0
CSV=$SW/sweep_summary.csv
check "collect writes the sweep's report.html with the 3 points (docs/OUTPUTS.md)" \
  bash -c "grep -q '3 runs against' '$SW/report.html'"
check "sweep_summary.csv has a header and 3 rows" test "$(wc -l <"$CSV")" -eq 4
check "the same columns as the local sweep's" test "$(head -1 "$CSV")" = "$(head -1 "$LOCAL/sweep_summary.csv")"
check "rows carry the swept rates 10, 20, 40 in point order" \
  test "$(tail -n +2 "$CSV" | cut -d, -f5 | paste -sd' ')" = "10.0 20.0 40.0"
# Config-derived columns (type .. timeout) and the request counts equal the local sweep's; the
# measured columns are filled (their values differ run to run).
cfgcols() { tail -n +2 "$1" | cut -d, -f1,3-11; }
check "config columns and request counts equal the local sweep's" test "$(cfgcols "$CSV")" = "$(cfgcols "$LOCAL/sweep_summary.csv")"
check "measured columns are filled" \
  bash -c "tail -n +2 '$CSV' | awk -F, '{ if (\$12 == \"\" || \$13 == \"\" || \$14 == \"\" || \$15 == \"\") exit 1 }'"
check "run_dir column names the points' run directories" \
  bash -c "tail -n +2 '$CSV' | cut -d, -f2 | while read -r d; do test -s \"\$d/metrics/summary_stats.json\" || exit 1; done"
check "sweep_summary.json: the same keys per run as the local sweep's" \
  test "$(jq -S -c 'map(keys)' "$SW/sweep_summary.json")" = "$(jq -S -c 'map(keys)' "$LOCAL/sweep_summary.json")"
check "sweep_manifest.json: the same keys as the local sweep's and 3 run directories" \
  bash -c "test \"\$(jq -S -c '[keys, (.runs|map(keys))]' '$SW/sweep_manifest.json')\" = \"\$(jq -S -c '[keys, (.runs|map(keys))]' '$LOCAL/sweep_manifest.json')\" && jq -e '.num_runs == 3 and all(.runs[]; .run_dir != null)' '$SW/sweep_manifest.json' >/dev/null"
same_cfg=1
for i in 0 1 2; do
  rd=$(jq -r ".[$i].run_dir" "$SW/sweep_summary.json")
  cmp -s "$rd/config.yml" "$SW/points/$i.yml" || same_cfg=0
done
check "each point's config.yml is its submitted snapshot" test $same_cfg -eq 1
check "the points ran as array tasks (their records name job $JOB)" \
  bash -c "for i in 0 1 2; do jq -e '.slurm_array_job_id == \"$JOB\"' '$SW/points/'\$i'.json' >/dev/null || exit 1; done"

# ---- managed servers: the 3 tasks share this node and start together; each launches its own sim
# server (server: section) on a port free on the node, not all on the configured one
sport=$(e2e_free_port)
cat > managed.yml <<EOF
server: {type: sim, model: sim-model, host: 127.0.0.1, port: $sport, health_check_interval: 0.1, additional_args: {mode: fixed, ttft-ms: 5, itl-ms: 1}}
traffic_scheduler: {type: concurrent, target_concurrent_sessions: !expand [1, 2, 4], rampup_seconds: 0}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: fixed, value: 16}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: 8}}}
runtime: {max_sessions: 8, benchmark_timeout: 60}
EOF
"$VEEKSHA" benchmark --config managed.yml --output_dir managed --quiet --launcher slurm >managed.out 2>managed.err
SW3=$(sed -n 's/^sweep directory: //p' managed.out)
check "the managed-server sweep's tasks finish (bounded wait)" wait_sweep "$SW3" 120
set +e
"$VEEKSHA" sweep collect "$SW3" >managed-collect.out 2>managed-collect.err
rc=$?
set -e
check "managed-server sweep: every point done and collected ($rc)" test $rc -eq 0
check "managed-server sweep: rows for concurrency 1, 2, 4" \
  test "$(tail -n +2 "$SW3/sweep_summary.csv" | cut -d, -f4 | paste -sd' ')" = "1 2 4"
check "managed-server sweep: each point launched its own server, on distinct ports" \
  bash -c "test \$(find '$SW3' -name 'server_logs_sim_*.log' | wc -l) -eq 3 && test \$(find '$SW3' -name 'server_logs_sim_*.log' | sed 's/.*_127.0.0.1_\([0-9]*\)_.*/\1/' | sort -u | wc -l) -eq 3"
check "managed-server sweep: every run completed its 8 requests" \
  bash -c "for s in '$SW3'/*/metrics/summary_stats.json; do jq -e '.\"Number of Completed Requests\" == 8' \"\$s\" >/dev/null || exit 1; done"

# ---- capacity searches, one per server configuration, as one array: a sim engine of 2 and one of
# 4 sequences per batch; a TTFC SLO holds up to the batch size (as in test_meta_capacity.sh: ~15 ms
# within the batch; beyond it a request waits for a whole answer of 40 tokens, ~300 ms; so 200 ms).
# The p90, not the p99: at a concurrency past the batch at least a fifth of the requests wait (the
# search probes 3 for a batch of 2, 5 for 4), while two requests stalled by a loaded machine (the
# 20-token, 100 ms p99 version of this failed under two CPU hogs) cannot fail a probe within it.
cat > cap.yml <<EOF
output_dir: capout
start_value: 1
max_value: 8
expansion_factor: 2
max_iterations: 10
benchmark_config:
  server: {type: sim, model: sim-model, host: 127.0.0.1, port: $sport, health_check_interval: 0.1, additional_args: {preset: llama3-8b-h100, max-num-seqs: !expand [2, 4]}}
  traffic_scheduler: {type: concurrent, target_concurrent_sessions: 1, rampup_seconds: 0}
  session_generator:
    type: synthetic
    session_graph: {type: single_request}
    channels: [{type: text, body_length_generator: {type: fixed, value: 16}}]
    output_spec: {text: {output_length_generator: {type: fixed, value: 40}}}
  runtime: {max_sessions: 24, benchmark_timeout: 30}
  evaluators:
    - type: performance
      slos: [{type: constant, metric: ttfc, percentile: 0.9, value: 0.2}]
EOF
"$VEEKSHA" capacity-search --capacity-search-config-from-file cap.yml --quiet --launcher slurm >cap.out 2>cap.err
SW4=$(sed -n 's/^sweep directory: //p' cap.out)
check "2 capacity searches submitted as one array" grep -q '^sweep of 2 capacity searches submitted as Slurm job array' cap.out
check "the searches' tasks finish (bounded wait)" wait_sweep "$SW4" 150
set +e
"$VEEKSHA" sweep collect "$SW4" >cap-collect.out 2>cap-collect.err
rc=$?
set -e
check "collect of the searches exits 0 ($rc)" test $rc -eq 0
check "capacity_searches.csv: best values 2 and 4, one per server configuration" \
  test "$(tail -n +2 "$SW4/capacity_searches.csv" | cut -d, -f3,6 | paste -sd' ')" = "done,2.0 done,4.0"
check "each search has its own results and server log" \
  bash -c "test \$(find '$SW4' -name capacity_search_results.json | wc -l) -eq 2 && test \$(find '$SW4' -name 'server_logs_sim_*.log' | wc -l) -eq 2"

# ---- a config edited while the array waits in the queue: the points refuse to run it
"$VEEKSHA" benchmark --config sweep.yml --output_dir stale --quiet --launcher slurm --sbatch-arg=--hold \
  >stale.out 2>stale.err
SW2=$(sed -n 's/^sweep directory: //p' stale.out)
JOB2=$(jq -r .slurm_job_id "$SW2/sweep_job.json")
set +e
"$VEEKSHA" sweep status "$SW2" >stale-status.out 2>&1
rc=$?
set -e
check "status of a held array: 3 pending, exit 4 ($rc)" \
  bash -c "test $rc -eq 4 && grep -q '0 done, 0 running, 3 pending, 0 failed' stale-status.out"
sed -i 's/max_sessions: 12/max_sessions: 13/' sweep.yml
scontrol release "$JOB2"
check "the edited sweep's tasks end (bounded wait)" wait_sweep "$SW2" 120
set +e
"$VEEKSHA" sweep status "$SW2" >stale-status.out 2>&1
rc_status=$?
"$VEEKSHA" sweep collect "$SW2" >stale-collect.out 2>stale-collect.err
rc_collect=$?
set -e
check "status: 3 failed, exit 1 ($rc_status)" \
  bash -c "test $rc_status -eq 1 && grep -q '0 done, 0 running, 0 pending, 3 failed' stale-status.out"
check "the task log says the config is not the one submitted" \
  grep -q "its config is not the one submitted" "$SW2/slurm/task-0.out"
check "collect exits 1 and names the points without results ($rc_collect)" \
  bash -c "test $rc_collect -eq 1 && grep -q 'point 2 is failed' stale-collect.err"
check "collect still writes every row (empty metrics)" \
  bash -c "test \$(wc -l < '$SW2/sweep_summary.csv') -eq 4 && ! tail -n +2 '$SW2/sweep_summary.csv' | cut -d, -f10 | grep -q ."
sed -i 's/max_sessions: 13/max_sessions: 12/' sweep.yml

# ---- (a) one benchmark as 2 srun tasks: each finds its shard in SLURM_PROCID/SLURM_STEP_NUM_TASKS,
# they meet in the default rendezvous directory under output_dir, shard 0 merges
"$VEEKSHA" benchmark --help >bench-help.txt
if grep -q -- '--shard K/N' bench-help.txt; then
  e2e_single_cfg srun.yml "$port" \
    "traffic={type: rate, interval_generator: {type: poisson, arrival_rate: 20}}" sessions=20
  set +e
  timeout 180 srun -n2 "$VEEKSHA" benchmark --config srun.yml --output_dir srunout --quiet >srun.out 2>srun.err
  rc=$?
  set -e
  check "srun -n2 veeksha benchmark exits 0 ($rc)" test $rc -eq 0
  [ $rc -eq 0 ] || tail -20 srun.err
  RUN=$(find srunout -mindepth 1 -maxdepth 1 -type d ! -name '.*')
  check "one run directory for the two tasks" test "$(printf '%s\n' "$RUN" | grep -c .)" -eq 1
  check "it holds shard-0-of-2 and shard-1-of-2, each with its summary" \
    test -s "$RUN/shard-0-of-2/metrics/summary_stats.json" -a -s "$RUN/shard-1-of-2/metrics/summary_stats.json"
  n0=$(jq '."Number of Requests"' "$RUN/shard-0-of-2/metrics/summary_stats.json")
  n1=$(jq '."Number of Requests"' "$RUN/shard-1-of-2/metrics/summary_stats.json")
  nm=$(jq '."Number of Requests"' "$RUN/metrics/summary_stats.json")
  check "merged request count = the shards' sum ($nm = $n0 + $n1) = max_sessions" \
    test "$nm" -eq $((n0 + n1)) -a "$nm" -eq 20
  check "both shards did work" test "$n0" -gt 0 -a "$n1" -gt 0
  check "merged per-request records: 20 distinct requests" \
    test "$(jq -r '.request_id // .id // empty' "$RUN/metrics/request_level_metrics.jsonl" | sort -u | wc -l)" -eq 20
  check "shards.json: 2 shards from 2 processes" \
    jqe '.count == 2 and (.shards | length) == 2 and (.shards[0].pid != .shards[1].pid)' "$RUN/metrics/shards.json"
  check "one merged summary printed (by shard 0)" test "$(grep -c 'Benchmark summary' srun.out)" -eq 1
else
  echo "SKIP (a): veeksha benchmark has no --shard yet (docs/DISTRIBUTED.md)"
fi

# ---- usage errors
set +e
"$VEEKSHA" benchmark --config sweep.yml --launcher lsf >/dev/null 2>err.txt; rc1=$?
"$VEEKSHA" benchmark --config sweep.yml --sbatch-arg=--hold >/dev/null 2>err2.txt; rc2=$?
"$VEEKSHA" sweep collect "$LOCAL" >/dev/null 2>err3.txt; rc3=$?
sed 's/max-num-seqs: !expand \[2, 4\]/max-num-seqs: 4/' cap.yml >cap1.yml
"$VEEKSHA" capacity-search --capacity-search-config-from-file cap1.yml --launcher slurm >/dev/null 2>err4.txt; rc4=$?
set -e
check "--launcher lsf is a usage error naming the choices" bash -c "test $rc1 -eq 2 && grep -q 'local or slurm' err.txt"
check "--sbatch-arg without --launcher slurm is a usage error" bash -c "test $rc2 -eq 2 && grep -q 'needs --launcher slurm' err2.txt"
check "one capacity search with --launcher slurm is a usage error ($rc4)" bash -c "test $rc4 -eq 2 && grep -q 'this config is one search' err4.txt"
check "collect on a local sweep explains itself (exit 2)" bash -c "test $rc3 -eq 2 && grep -q 'not a sweep submitted with --launcher slurm' err3.txt"

e2e_finish
