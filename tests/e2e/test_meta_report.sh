#!/usr/bin/env bash
# veeksha report on two output directories (the seed's "Comparing servers" shape: results/vllm and
# results/sglang) prints one table covering both and writes Markdown and CSV.
source "$(dirname "$0")/lib.sh" "$@"
e2e_start_sim 0 --mode fixed --ttft-ms 10 --itl-ms 1
port=$E2E_SIM_PORT
for name in vllm sglang; do
  "$VEEKSHA" benchmark --benchmark-config-from-file "$SRC/examples/base_config.yml" \
    --openai-chat-completions-client-api-base "http://127.0.0.1:$port/v1" --openai-chat-completions-client-model sim \
    --runtime-max-sessions 4 --runtime-benchmark-timeout 30 --output-dir "$TMP/results/$name" --quiet > /dev/null
  check "benchmark for $name exits 0" test $? -eq 0
done
cd "$TMP"
"$VEEKSHA" report results/vllm results/sglang --output "$TMP/cmp" > report.txt
check "report exits 0" test $? -eq 0
check "table has both columns" bash -c "head -1 report.txt | grep -q results/vllm && head -1 report.txt | grep -q results/sglang"
check "table has TTFC p99" grep -q "TTFC p99" report.txt
check "markdown written" grep -q "| TTFC p50 (ms) |" "$TMP/cmp.md"
check "csv written with 3 columns" bash -c "head -1 '$TMP/cmp.csv' | awk -F, '{exit (NF==3)?0:1}'"
rc=0; "$VEEKSHA" report "$TMP/nope" 2>/dev/null || rc=$?
check "bad directory exits 2" test "$rc" -eq 2
# A run in which every request failed: its latency series have no samples, which the summary writes
# as null and the report shows as "no samples" (never a perfect 0), and its verdict reads back "no"
# (slo_results.json then holds Infinity, which the report must still parse).
e2e_start_sim 0 --fail-rate 1
port2=$E2E_SIM_PORT
rc=0
"$VEEKSHA" benchmark --benchmark-config-from-file "$SRC/examples/base_config.yml" \
  --openai-chat-completions-client-api-base "http://127.0.0.1:$port2/v1" --openai-chat-completions-client-model sim \
  --runtime-max-sessions 3 --runtime-benchmark-timeout 30 --output-dir "$TMP/results/broken" --quiet > /dev/null 2>&1 || rc=$?
check "all-failed benchmark exits 0 without --fail-on-slo ($rc)" test "$rc" -eq 0
sum=$(ls "$TMP"/results/broken/*/metrics/summary_stats.json | head -1)
check "empty TTFC series is null in summary_stats.json" jq -e '."Time to First Chunk (P50)" == null' "$sum"
"$VEEKSHA" report results/broken --output "$TMP/broken" > broken.txt
check "report says no samples for TTFC" grep -q "^TTFC p50 (ms) .*no samples" broken.txt
check "report reads the failed verdict" grep -q "^All SLOs met .*no" broken.txt
# How each run ended is a row: a summary left by a killed run (stream_metrics rewrites say "running")
# is not shown as a complete run's (before: its numbers, with nothing to tell them apart)
check "a complete run's status" grep -Eq '^Run status +complete +complete$' report.txt
vrun=$(ls -d "$TMP"/results/vllm/*/ | head -1)
mkdir -p "$TMP/killed" && cp -r "$vrun" "$TMP/killed/run"
jq '.run_status = "running"' "$vrun/metrics/summary_stats.json" > "$TMP/killed/run/metrics/summary_stats.json"
rm -f "$TMP/killed/run/metrics/slo_results.json"
"$VEEKSHA" report "$TMP/killed/run" --output "$TMP/killedrep" > killed.txt 2>&1
check "a killed run's status says it did not end" grep -Eq '^Run status +did not end \(killed\?\)$' killed.txt
# A sweep written with a relative output_dir holds relative run directories in its manifest: a report
# run from another directory (or of a moved sweep) finds the runs in the sweep directory (before: an
# empty table, exit 0)
cat > sweep.yml <<YML
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim}
traffic_scheduler: {type: concurrent, target_concurrent_sessions: 2, rampup_seconds: 0}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: fixed, value: 16}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: !expand [4, 6]}}}
runtime: {max_sessions: 3, benchmark_timeout: 30}
YML
rc=0; "$VEEKSHA" benchmark --config sweep.yml --output_dir rel_sweeps --quiet > /dev/null 2>&1 || rc=$?
check "relative sweep exits 0 ($rc)" test "$rc" -eq 0
sw=$(ls -d "$TMP"/rel_sweeps/sweep_*/ | head -1)
check "its manifest holds relative run directories" jq -e '.runs[0].run_dir | startswith("rel_sweeps/")' "$sw/sweep_manifest.json"
mv "$TMP/rel_sweeps" "$TMP/moved_sweeps"
sw=$(ls -d "$TMP"/moved_sweeps/sweep_*/ | head -1)
rc=0; (cd / && "$VEEKSHA" report "$sw" --output "$TMP/swrep") > swrep.txt 2> swrep.err || rc=$?
check "report of a moved sweep from another directory exits 0 ($rc)" test "$rc" -eq 0
check "... with both runs as columns" bash -c "head -1 '$TMP/swrep.csv' | awk -F, '{exit (NF==3)?0:1}'"
check "... and their numbers" grep -Eq '^Requests +3 +3$' swrep.txt
mkdir -p "$TMP/empty_sweep" && echo '{"runs": [{"run_dir": "gone/run"}]}' > "$TMP/empty_sweep/sweep_manifest.json"
rc=0; "$VEEKSHA" report "$TMP/empty_sweep" --output "$TMP/emptyrep" > /dev/null 2> empty.err || rc=$?
check "a sweep none of whose runs exists: exit 2 ($rc)" test "$rc" -eq 2
check "... naming the missing run" grep -q "run 0 (gone/run) has no metrics/summary_stats.json" empty.err
e2e_finish
