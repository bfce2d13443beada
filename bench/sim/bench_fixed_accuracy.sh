#!/usr/bin/env bash
# Fixed-mode emit accuracy: TTFT 50 ms, ITL 10 ms, 500 concurrent streams; server-side write time of
# every chunk vs its schedule, from --emit-log. Target: p99 lateness <= 1 ms.
#   bench/sim/bench_fixed_accuracy.sh [BUILD_DIR] [STREAMS] [TOKENS] [WORKERS]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-sim-rel}
STREAMS=${2:-500}
TOKENS=${3:-200}
WORKERS=${4:-1}
if [ ! -x "$BUILD/veeksha-sim" ]; then
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2 --target veeksha-sim >/dev/null
fi
TMP=$(mktemp -d)
trap 'kill $SIM 2>/dev/null || true; rm -rf "$TMP"' EXIT
cc -O2 -o "$TMP/sim_load" "$SRC/bench/sim/sim_load.c"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# SIM_RT=1: run the server with SCHED_FIFO priority 10 (root), as for a ground-truth measurement
${SIM_RT:+chrt -f 10} taskset -c 0 "$BUILD/veeksha-sim" sim-server --host 127.0.0.1 --port "$PORT" --mode fixed --ttft-ms 50 --itl-ms 10 ${SIM_SPIN_US:+--spin-us $SIM_SPIN_US} \
  --workers "$WORKERS" --emit-log "$TMP/emit.jsonl" 2>"$TMP/sim.err" &
SIM=$!
for _ in $(seq 1 100); do grep -q listening "$TMP/sim.err" && break; sleep 0.05; done
# 500 streams opened 20 us apart (10 ms ramp), each TOKENS tokens, run on the other core
taskset -c 1 "$TMP/sim_load" "$PORT" "$STREAMS" 1 "$TOKENS" 20
kill -TERM $SIM; wait $SIM
python3 "$SRC/bench/sim/emit_lateness.py" "$TMP/emit.jsonl" 1000
