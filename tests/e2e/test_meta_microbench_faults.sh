#!/usr/bin/env bash
# Microbenchmarks under faults never present a partial or failed measurement as a clean result
# (docs/META.md, Microbenchmarks): a stress level that could not be measured is a FAIL (exit 1)
# in auto mode as in manual mode, and errored requests fail every microbenchmark instead of being
# left out of its statistics unseen.
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

# A server failing a third of the requests (HTTP 500, seeded): stress, decode and prefill exit 1
# with a FAIL naming the failed requests; stress records them per level.
e2e_start_sim 0 --mode fixed --ttft-ms 2 --itl-ms 1 --fail-rate 0.34 --seed 7
api2="http://127.0.0.1:$E2E_SIM_PORT/v1"
rc=0
timeout -k 5 120 "$VEEKSHA" microbench stress --stress-mode manual --concurrency-levels 2 --api-base "$api2" \
  --model sim-model --input-length 16 --output-length 4 --point-duration 1 --warmup-duration 0 \
  --output-dir "$TMP/mbf" > "$TMP/stress_fail.txt" 2>&1 || rc=$?
check "stress with errored requests exits 1 (got $rc)" test "$rc" -eq 1
check "... FAIL names the errored requests" grep -q "\[FAIL\] no errored requests: c=2: [1-9][0-9]* of" "$TMP/stress_fail.txt"
check "... results record them" jq -e '.results[0].num_errored_requests > 0' "$TMP/mbf/stress/latest/stress_results.json"
check "... csv has the column" bash -c "head -1 '$TMP/mbf/stress/latest/stress_results.csv' | grep -q '^concurrency,num_requests,num_errored_requests,'"
# decode and prefill send their requests in a fixed order: a fresh seeded sim for each fails the
# same requests every time (here 1 of 4, and 3 of 12)
e2e_start_sim 0 --mode fixed --ttft-ms 2 --itl-ms 1 --fail-rate 0.34 --seed 7
api2="http://127.0.0.1:$E2E_SIM_PORT/v1"
rc=0
timeout -k 5 120 "$VEEKSHA" microbench decode --api-base "$api2" --model sim-model --batch-sizes 4 \
  --input-lengths 16 --samples-per-length 8 --output-dir "$TMP/mbf" > "$TMP/decode_fail.txt" 2>&1 || rc=$?
check "decode with errored requests exits 1 (got $rc)" test "$rc" -eq 1
check "... FAIL names them" grep -q "\[FAIL\] no errored requests: bs=4 il=16: [1-9][0-9]* of 4" "$TMP/decode_fail.txt"
e2e_start_sim 0 --mode fixed --ttft-ms 2 --itl-ms 1 --fail-rate 0.34 --seed 7
api2="http://127.0.0.1:$E2E_SIM_PORT/v1"
rc=0
timeout -k 5 120 "$VEEKSHA" microbench prefill --api-base "$api2" --model sim-model --input-lengths 16 32 \
  --samples-per-length 6 --output-dir "$TMP/mbf" > "$TMP/prefill_fail.txt" 2>&1 || rc=$?
check "prefill with errored requests exits 1 (got $rc)" test "$rc" -eq 1
check "... FAIL names them" grep -q "\[FAIL\] no errored requests: prefill: [1-9][0-9]* of 12" "$TMP/prefill_fail.txt"
e2e_finish
