#!/usr/bin/env bash
# make demo: launch the built-in simulated server (managed, type: sim), run a short benchmark
# against it and print the summary. Everything stays on 127.0.0.1 and stops by itself.
set -euo pipefail
VEEKSHA=${1:-build/veeksha}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
out=${DEMO_OUTPUT_DIR:-$ROOT/benchmark_output/demo}
echo "demo: managed sim server on 127.0.0.1:$port, results under $out"
exec "$VEEKSHA" benchmark --config "$ROOT/examples/demo.veeksha.yml" \
  --server.port "$port" --output_dir "$out"
