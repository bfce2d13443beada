#!/usr/bin/env bash
# Microbenchmarks against the simulated engine's roofline model: prefill TTFC grows with input
# length; decode TBT grows with batch size; stress auto mode stops probing when throughput gain
# falls under the threshold.
source "$(dirname "$0")/lib.sh" "$@"
e2e_start_sim 0 --preset llama3-8b-h100
port=$E2E_SIM_PORT
api="http://127.0.0.1:$port/v1"
"$VEEKSHA" microbench prefill --api-base "$api" --model sim-model --input-lengths 128 1024 4096 \
  --samples-per-length 3 --output-dir "$TMP/mb" > "$TMP/prefill.txt" 2>&1
check "prefill exits 0" test $? -eq 0
p="$TMP/mb/prefill/latest/prefill_results.json"
check "prefill results + latest symlink" test -f "$p"
check "prefill csv header" bash -c "head -1 '$TMP/mb/prefill/latest/prefill_results.csv' | grep -qx 'input_length,mean_ms,p50_ms,p99_ms,min_ms,max_ms,count'"
check "TTFC grows with input length" jq -e '[.results[].ttfc.mean] as $m | $m[0] < $m[1] and $m[1] < $m[2]' "$p"

"$VEEKSHA" microbench decode --api-base "$api" --model sim-model --batch-sizes 1 16 64 --input-lengths 1024 \
  --samples-per-length 8 --output-dir "$TMP/mb" > "$TMP/decode.txt" 2>&1
check "decode exits 0" test $? -eq 0
d="$TMP/mb/decode/latest/decode_results.json"
check "decode results" test -f "$d"
check "TBT grows with batch size" jq -e '[.results[].tbt.median] as $m | $m[0] < $m[1] and $m[1] < $m[2]' "$d"
check "decode per-point directories" test -d "$TMP/mb/decode/latest/bs=16_il=1024"

# stress against an engine that saturates at 4 sequences: throughput stops growing after c=4
e2e_start_sim 0 --preset llama3-8b-h100 --max-num-seqs 4
port2=$E2E_SIM_PORT
"$VEEKSHA" microbench stress --stress-mode auto --api-base "http://127.0.0.1:$port2/v1" --model sim-model --input-length 64 \
  --output-length 16 --point-duration 3 --warmup-duration 0 --auto-max-probes 6 --auto-fill-points 2 \
  --auto-throughput-threshold 0.05 --output-dir "$TMP/mb" > "$TMP/stress.txt" 2>&1
check "stress exits 0" test $? -eq 0
s="$TMP/mb/stress/latest/stress_results.json"
check "stress results" jq -e '.results|length >= 2' "$s"
check "stress auto stopped before the probe limit" grep -q "stopping probes" "$TMP/stress.txt"
check "stress plots" test -f "$TMP/mb/stress/latest/plots/output_throughput_vs_load.dat"
e2e_finish
