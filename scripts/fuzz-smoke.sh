#!/usr/bin/env bash
# Runs every libFuzzer target BUILD_DIR/fuzz_<name> (where tests/fuzz/CMakeLists.txt puts them) for SECONDS
# each, seeded from tests/fuzz/corpus/<name>. Fails on a crash, leak or timeout, and when no target is found.
set -euo pipefail
BUILD_DIR=${1:-build-fuzz}
SECONDS_EACH=${2:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$(cd "$BUILD_DIR" 2>/dev/null && pwd || echo "$BUILD_DIR")
# from the source root: fuzz_config's seeds name trace files as tests/data/trace/... (it reads
# no trace file outside that directory)
cd "$ROOT"
shopt -s nullglob
# Known leaks inside system libraries only (see the file).
export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
n=0
for bin in "$BUILD_DIR"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  corpus="$ROOT/tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null || true
  echo "fuzz: $name for ${SECONDS_EACH}s"
  "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work." "$work" >"$work.log" 2>&1 || {
    tail -50 "$work.log"; echo "fuzz: $name FAILED"; exit 1; }
  grep -E "^(Done|#[0-9]+ *DONE)" "$work.log" | tail -1 || true
  rm -rf "$work" "$work.log"
  n=$((n+1))
done
if [ "$n" -eq 0 ]; then
  echo "fuzz: no fuzz_* executables in $BUILD_DIR (configure with CC=clang -DVK_FUZZ=ON)"; exit 1
fi
echo "fuzz: $n targets ran without crashes"
