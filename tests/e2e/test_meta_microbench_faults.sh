#!/usr/bin/env bash
# Microbenchmarks under faults never present a partial or failed measurement as a clean result
# (docs/META.md, Microbenchmarks): a stress level that could not be measured is a FAIL (exit 1)
# in auto mode as in manual mode.
source "$(dirname "$0")/lib.sh" "$@"
e2e_start_sim 0 --mode fixed --ttft-ms 2 --itl-ms 1
port=$E2E_SIM_PORT
api="http://127.0.0.1:$port/v1"

# Auto mode probes 1, 2, 4, ...; under a limit of 60 open files c=16 cannot run (it needs about
# 64, docs/FAILURES.md, Limits: exit 2 before any request). The search must not stop there in
# silence and exit 0 with the levels before it as if the curve were complete.
rc=0
(ulimit -n 60; timeout -k 5 120 "$VEEKSHA" microbench stress --stress-mode auto --api-base "$api" --model sim-model \
  --input-length 16 --output-length 4 --point-duration 1 --warmup-duration 0 --auto-max-probes 6 \
  --auto-fill-points 2 --auto-throughput-threshold 0.000001 --output-dir "$TMP/mb" > "$TMP/auto.txt" 2>&1) || rc=$?
check "stress auto with a level that cannot run exits 1 (got $rc)" test "$rc" -eq 1
check "... names the level" grep -q "level 16 could not be measured" "$TMP/auto.txt"
check "... counts it as a FAIL" grep -q "validation: [1-9][0-9]* FAIL" "$TMP/auto.txt"
check "... keeps the levels measured before" jq -e '[.results[].concurrency] == [1,2,4,8]' \
  "$TMP/mb/stress/latest/stress_results.json"
e2e_finish
