#!/usr/bin/env bash
# Id-for-id agreement with HuggingFace `tokenizers` (npm, native binding) on 10,000 generated strings
# for each cached real tokenizer (Llama 3, Qwen 3, DeepSeek V3 byte-level; Llama 2, Gemma 3
# SentencePiece-style) and the tiny fixtures (byte-level, GPT-2 style, SentencePiece, Metaspace, added-token flags, Punctuation+Digits+NFC); decode agreement; round trip decode(encode(x)) == x
# for the byte-level ones. Fetching needs the npm registry: when it is unreachable the test prints
# SKIP and exits 0.
source "$(dirname "$0")/lib.sh" "$@"
N=${VK_TOK_ORACLE_N:-10000}
if ! CACHE=$(bash "$SRC/tests/tokenizer/fetch-tokenizers.sh" 2>"$TMP/fetch.err"); then
  rc=$?
  if [ "$rc" = 77 ]; then
    echo "SKIP: tokenizer oracle comparison skipped, npm registry unreachable: $(cat "$TMP/fetch.err")"
    exit 0
  fi
  cat "$TMP/fetch.err"
  fail "fetch-tokenizers.sh failed (exit $rc)"
  e2e_finish
fi
export NODE_PATH="$CACHE/oracle/node_modules"
node "$SRC/tests/tokenizer/gen-strings.js" "$N" 20261127 >"$TMP/in.jsonl"
check "generated $N strings" test "$(wc -l <"$TMP/in.jsonl")" -eq "$N"

run_one() { # name tokenizer.json bytelevel(0/1)
  local name=$1 file=$2 bl=$3
  node "$SRC/tests/tokenizer/oracle.js" "$file" "$TMP/in.jsonl" "$TMP/$name.hf.ids" "$TMP/$name.hf.dec"
  "$VEEKSHA" tokenize --jsonl --tokenizer "$file" <"$TMP/in.jsonl" >"$TMP/$name.vk.ids" 2>"$TMP/$name.err"
  check "$name: ids equal HuggingFace tokenizers on $N strings" \
    node "$SRC/tests/tokenizer/compare.js" "$name ids" "$TMP/in.jsonl" "$TMP/$name.hf.ids" "$TMP/$name.vk.ids"
  "$VEEKSHA" tokenize --decode --jsonl --tokenizer "$file" <"$TMP/$name.vk.ids" >"$TMP/$name.vk.dec" 2>>"$TMP/$name.err"
  check "$name: decode equals HuggingFace decode" \
    node "$SRC/tests/tokenizer/compare.js" "$name decode" "$TMP/in.jsonl" "$TMP/$name.hf.dec" "$TMP/$name.vk.dec"
  if [ "$bl" = 1 ]; then
    check "$name: decode(encode(x)) == x" \
      node "$SRC/tests/tokenizer/compare.js" "$name round-trip" "$TMP/in.jsonl" "$TMP/in.jsonl" "$TMP/$name.vk.dec"
  fi
  # counts agree with the ids (once per kind: the oracle dominates the run time)
  [ "$name" = llama3 ] || [ "$name" = tiny_sentencepiece ] || return 0
  "$VEEKSHA" tokenize --count --jsonl --tokenizer "$file" <"$TMP/in.jsonl" >"$TMP/$name.vk.count" 2>>"$TMP/$name.err"
  check "$name: --count matches the number of ids" \
    cmp -s "$TMP/$name.vk.count" <(node -e 'require("fs").readFileSync(process.argv[1],"utf8").split("\n").filter(l=>l).forEach(l=>console.log(JSON.parse(l).length))' "$TMP/$name.hf.ids")
}

for name in llama3 qwen3 deepseek_v3; do
  run_one "$name" "$CACHE/$name/package/models/tokenizer.json" 1
done
# Qwen's normalizer is NFC: compare on text that is mostly not NFC
node "$SRC/tests/tokenizer/gen-strings.js" 3000 7 --non-nfc >"$TMP/nonnfc.jsonl"
node "$SRC/tests/tokenizer/oracle.js" "$CACHE/qwen3/package/models/tokenizer.json" "$TMP/nonnfc.jsonl" "$TMP/nfc.hf.ids" "$TMP/nfc.hf.dec"
"$VEEKSHA" tokenize --jsonl --tokenizer "$CACHE/qwen3/package/models/tokenizer.json" <"$TMP/nonnfc.jsonl" >"$TMP/nfc.vk.ids"
check "qwen3: ids equal HuggingFace tokenizers on 3000 non-NFC strings (NFC normalizer)" \
  node "$SRC/tests/tokenizer/compare.js" "qwen3 non-NFC ids" "$TMP/nonnfc.jsonl" "$TMP/nfc.hf.ids" "$TMP/nfc.vk.ids"

for name in llama2 gemma3; do
  run_one "$name" "$CACHE/$name/package/models/tokenizer.json" 0
done
run_one tiny_bytelevel "$SRC/tests/data/tokenizer/tiny_bytelevel.json" 1
run_one tiny_sentencepiece "$SRC/tests/data/tokenizer/tiny_sentencepiece.json" 0
run_one tiny_gpt2 "$SRC/tests/data/tokenizer/tiny_gpt2.json" 0
run_one tiny_metaspace "$SRC/tests/data/tokenizer/tiny_metaspace.json" 0
run_one tiny_added "$SRC/tests/data/tokenizer/tiny_added.json" 0
run_one tiny_falcon "$SRC/tests/data/tokenizer/tiny_falcon.json" 0
e2e_finish
