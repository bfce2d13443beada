#!/usr/bin/env bash
# Failure paths of `veeksha benchmark`: config errors (exit 2, no run directory), a server that
# fails requests (errors recorded, run continues), --fail-on-slo (exit 3), no api_base.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
# 1. config error: unknown key -> exit 2 with file:line and key, no run directory
cat > bad.yml <<'YML'
runtime:
  max_sesions: 3
YML
rc=0; "$VEEKSHA" benchmark --config bad.yml --output_dir "$TMP/bad_out" 2> err.txt || rc=$?
check "unknown key exits 2" test "$rc" -eq 2
check "message names file:line and the key" grep -q "bad.yml:2" err.txt
check "message names the key path" grep -q "runtime.max_sesions" err.txt
check "no run directory for a config error" test ! -e "$TMP/bad_out"
# 2. no api_base and no server -> exit 2
rc=0; env -u OPENAI_API_BASE "$VEEKSHA" benchmark --output_dir "$TMP/noapi" 2> err2.txt || rc=$?
check "missing api_base exits 2" test "$rc" -eq 2
check "missing api_base message" grep -q "api_base" err2.txt
check "no run directory without api_base" test ! -e "$TMP/noapi"

# 3. a server failing 30% of requests: errors recorded with their codes, run completes
e2e_start_sim 0 --mode fixed --ttft-ms 5 --itl-ms 1 --fail-rate 0.3 --seed 7
port=$E2E_SIM_PORT
e2e_single_cfg cfg.yml "$port" \
  "evaluators=[{type: performance, slos: [{type: constant, metric: ttfc, percentile: 0.5, value: 0.000001}]}]"
rc=0; "$VEEKSHA" benchmark --config cfg.yml --output_dir "$TMP/out" --quiet > out.txt || rc=$?
check "run with server errors exits 0 (SLOs not met is not a failure)" test "$rc" -eq 0
s=$(ls "$TMP"/out/*/metrics/summary_stats.json)
check "errors counted" jq -e '."Number of Errored Requests" > 5' "$s"
check "every request completed or errored" jq -e '."Number of Errored Requests" + ."Number of Completed Requests" == ."Number of Requests"' "$s"
check "error codes recorded (500)" jq -e '.error_code_freq."500" > 0' "$s"
check "slo not met recorded" jq -e '.all_slos_met == false' "$(dirname "$s")/slo_results.json"
rc=0; "$VEEKSHA" benchmark --config cfg.yml --output_dir "$TMP/out2" --quiet --fail-on-slo > /dev/null || rc=$?
check "--fail-on-slo exits 3 when an SLO is not met" test "$rc" -eq 3
e2e_finish
