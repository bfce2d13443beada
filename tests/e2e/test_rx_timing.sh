#!/usr/bin/env bash
# Chunk timestamps are arrival times, not read times: with the client's loop overloaded (400
# streams, a chunk every 2 ms each: ~200,000 chunks/s, more than one loop reads on time), the
# client's per-chunk stamps stay close to the simulated server's emit stamps (joined by request id
# and chunk index), while the stamps taken when the bytes are read (VEEKSHA_RX_STAMPS=0) fall far
# behind. Registered RUN_SERIAL (name contains "timing"); the bounds are not checked in sanitizer
# builds.
source "$(dirname "$0")/lib.sh" "$@"
cat > "$TMP/cfg.yml" <<YML
client: {type: openai_chat_completions, model: sim-model}
traffic_scheduler: {type: concurrent, target_concurrent_sessions: 400, rampup_seconds: 0}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: fixed, value: 16}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: 100}}}
runtime: {max_sessions: 400, benchmark_timeout: 60}
trace_recorder: {enabled: false}
YML
# run NAME [ENV...]: a fresh sim with its emit log $TMP/NAME.emit.jsonl, the benchmark, then the
# sim stopped (its log is complete once it has exited)
run() {
  local name=$1; shift
  local port; port=$(e2e_free_port)
  e2e_start_sim "$port" --mode fixed --ttft-ms 20 --itl-ms 2 --emit-log "$TMP/$name.emit.jsonl"
  env VEEKSHA_CHUNK_LOG="$TMP/$name.chunks.jsonl" "$@" "$VEEKSHA" benchmark --config "$TMP/cfg.yml" \
    --client.api_base "http://127.0.0.1:$port/v1" --output_dir "$TMP/out-$name" --quiet > "$TMP/$name.out" 2>&1
  check "$name: benchmark exits 0" test $? -eq 0
  kill -TERM "$E2E_SIM_PID"; e2e_wait_gone "$E2E_SIM_PID" 10
}
# |client - server| per chunk, p50 and p99 in microseconds: prints "p50 p99 pairs"
diffs() { # NAME
  python3 - "$TMP/$1.chunks.jsonl" "$TMP/$1.emit.jsonl" <<'PY'
import json, sys
server = {}
for l in open(sys.argv[2]):
    e = json.loads(l)
    server[str(e["request_id"])] = e["chunk_mono_ns"]
d = []
for l in open(sys.argv[1]):
    c = json.loads(l)
    s = server.get(str(c["request_id"]))
    if s:
        d += [abs(a - b) / 1e3 for a, b in zip(c["chunk_ns"], s)]
d.sort()
print("%.1f %.1f %d" % (d[len(d) // 2], d[int(len(d) * 0.99)], len(d)) if d else "0 0 0")
PY
}
run kernel
read -r k50 k99 kn <<< "$(diffs kernel)"
echo "arrival stamps: |client - server| p50 $k50 us, p99 $k99 us over $kn chunks"
check "arrival stamps: every chunk joined (40,000)" test "$kn" -eq 40000
run read VEEKSHA_RX_STAMPS=0
read -r r50 r99 rn <<< "$(diffs read)"
echo "read-time stamps: |client - server| p50 $r50 us, p99 $r99 us over $rn chunks"
check "read-time stamps: every chunk joined (40,000)" test "$rn" -eq 40000
if [ "${VK_SANITIZER_BUILD:-0}" = 1 ]; then
  echo "SKIP: stamp accuracy is not checked in sanitizer builds"
  e2e_finish; exit $?
fi
check "arrival stamps: p50 within 200 us of the server's emit ($k50 us)" python3 -c "import sys; sys.exit(0 if $k50 < 200 else 1)"
check "read-time stamps lag far more (p50 $r50 us > 3 x $k50 us): the load did delay reading" \
  python3 -c "import sys; sys.exit(0 if $r50 > 3 * $k50 and $r50 > 300 else 1)"
e2e_finish
