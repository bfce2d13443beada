#!/usr/bin/env bash
# Clock accuracy: against the simulated server in fixed mode (TTFT 50 ms, ITL 10 ms, 64 output
# tokens) at 100 concurrent streams, TTFC p50 must be within 5 ms of 50 ms and TBC p50 within
# 2 ms of 10 ms, every read kernel-stamped and none read more than 1 s late. Functional bounds that
# hold on a busy machine (issue 21 item 15); issue 4's sub-millisecond targets (TTFC p50 within
# 1 ms, TBC p50 within 0.5 ms, reads within the ITL) are measured by `bench/bench.py fidelity`
# (per-chunk client - server p99 < 200 us). Also: libcurl's poll after a short read is answered
# without a syscall (client_pollskip), and not with VEEKSHA_POLL_SKIP=0.
source "$(dirname "$0")/lib.sh" "$@"
e2e_start_sim 0 --mode fixed --ttft-ms 50 --itl-ms 10
port=$E2E_SIM_PORT
cat > "$TMP/cfg.yml" <<YML
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
traffic_scheduler: {type: concurrent, target_concurrent_sessions: 100, rampup_seconds: 0}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: fixed, value: 32}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: 64}}}
runtime: {max_sessions: 400, benchmark_timeout: 60}
trace_recorder: {enabled: false}
evaluators: [{type: performance, stream_metrics: false, slos: []}]
YML
"$VEEKSHA" benchmark --config "$TMP/cfg.yml" --output_dir "$TMP/out" --quiet > "$TMP/stdout.txt"
check "benchmark exits 0" test $? -eq 0
s=$(ls "$TMP"/out/*/metrics/summary_stats.json)
ttfc=$(jq '."Time to First Chunk (P50)"' "$s")
tbc=$(jq '."Time Between Chunks (P50)"' "$s")
echo "TTFC p50 = $ttfc s, TBC p50 = $tbc s"
check "400 requests completed" jq -e '."Number of Completed Requests" == 400' "$s"
# libcurl polls after every short read ("more data?"); client_pollskip answers that one itself
u=$(ls "$TMP"/out/*/metrics/client_usage.json)
check "libcurl's polls after short reads answered without a syscall ($(jq .read_polls_skipped "$u") > 10000 of ~25,600 chunks)" \
  jq -e '.read_polls_skipped > 10000' "$u"
VEEKSHA_POLL_SKIP=0 "$VEEKSHA" benchmark --config "$TMP/cfg.yml" --runtime.max_sessions 100 --output_dir "$TMP/out-noskip" --quiet > /dev/null
check "VEEKSHA_POLL_SKIP=0: exits 0, every poll left to the kernel" \
  jq -e '.read_polls_skipped == 0 and .requests == 100' "$(ls "$TMP"/out-noskip/*/metrics/client_usage.json)"
if [ "${VK_SANITIZER_BUILD:-0}" = 1 ]; then
  echo "SKIP: accuracy bounds are not checked in sanitizer builds (instrumentation slows the client ~3x)"
  e2e_finish; exit $?
fi
check "TTFC p50 within 5 ms of 50 ms ($ttfc)" python3 -c "import sys; sys.exit(0 if abs($ttfc-0.050) <= 0.005 else 1)"
check "TBC p50 within 2 ms of 10 ms ($tbc)" python3 -c "import sys; sys.exit(0 if abs($tbc-0.010) <= 0.002 else 1)"
# every chunk stamped by the kernel at its arrival; a loop that stops reading would show as lag
# (on an idle machine the p99 is below the 10 ms ITL, see bench/RESULTS.md; a busy one preempts)
echo "read lag p99 $(jq .read_lag_us_p99 "$u") us, chunk_stamps_may_be_late $(jq .chunk_stamps_may_be_late "$u")"
check "every read kernel-stamped ($(jq .reads_kernel_stamped "$u") >= 25,600), read lag p99 below 1 s" \
  jq -e '.read_lag_us_p99 < 1000000 and .reads_kernel_stamped >= 25600' "$u"
e2e_finish
