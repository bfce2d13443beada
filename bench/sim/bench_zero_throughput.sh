#!/usr/bin/env bash
# Zero-delay streaming throughput of ONE server thread (pinned to core 0) to a client on core 1.
# Target: >= 150,000 streamed tokens/s.   bench/sim/bench_zero_throughput.sh [BUILD_DIR]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build-sim-rel}
if [ ! -x "$BUILD/veeksha-sim" ]; then
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2 --target veeksha-sim >/dev/null
fi
TMP=$(mktemp -d)
trap 'kill $SIM 2>/dev/null || true; rm -rf "$TMP"' EXIT
cc -O2 -o "$TMP/sim_load" "$SRC/bench/sim/sim_load.c"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
taskset -c 0 "$BUILD/veeksha-sim" sim-server --host 127.0.0.1 --port "$PORT" --mode zero --workers 1 \
  --max-model-len 100000000 2>"$TMP/sim.err" &
SIM=$!
for _ in $(seq 1 100); do grep -q listening "$TMP/sim.err" && break; sleep 0.05; done
echo "# long streams (4 connections x 5 requests x 20000 tokens)"
taskset -c 1 "$TMP/sim_load" "$PORT" 4 5 20000
echo "# many short streams (64 connections x 10 requests x 500 tokens)"
taskset -c 1 "$TMP/sim_load" "$PORT" 64 10 500
echo "# 500 concurrent streams (500 connections x 2 requests x 200 tokens)"
taskset -c 1 "$TMP/sim_load" "$PORT" 500 2 200
kill -TERM $SIM; wait $SIM
