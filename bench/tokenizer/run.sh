#!/usr/bin/env bash
# Tokenizer benchmark: builds bench_tokenizer against an existing build directory's libraries and
# runs it on ~1 MB of English text (the packaged corpus, repeated) for the approximation and, when
# cached (tests/tokenizer/fetch-tokenizers.sh), Llama 3.
# usage: bench/tokenizer/run.sh [BUILD_DIR=build]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
CACHE=${VK_CACHE_DIR:-$ROOT/.cache}/tokenizers
OUT=$(mktemp -d "${TMPDIR:-/tmp}/vk-tokbench.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
cc -O2 -std=c17 -D_GNU_SOURCE -I"$ROOT/src" "$ROOT/bench/tokenizer/bench_tokenizer.c" \
  "$BUILD/src/tokenizer/libvk_tokenizer.a" "$BUILD/src/core/libvk_core.a" \
  -lpcre2-8 -lcjson -lpthread -lm -o "$OUT/bench_tokenizer"
# ~1 MB of English: corpus lines joined by spaces, repeated
for _ in $(seq 1 40); do grep -v '^$' "$ROOT/src/tokenizer/corpus.txt" | tr '\n' ' '; done >"$OUT/english.txt"
grep -m1 'model name' /proc/cpuinfo | sed 's/.*: /cpu: /' || true
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$OUT/bench_tokenizer" - "$OUT/english.txt"
for name in llama3 qwen3 gemma3; do
  f="$CACHE/$name/package/models/tokenizer.json"
  if [ -s "$f" ]; then "$OUT/bench_tokenizer" "$f" "$OUT/english.txt"; else echo "($name not cached: skipped)"; fi
done
