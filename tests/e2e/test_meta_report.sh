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
e2e_finish
