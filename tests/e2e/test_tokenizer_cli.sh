#!/usr/bin/env bash
# veeksha tokenize: encode/count/decode/prompt with the approximation and the tiny tokenizer.json
# fixtures (no network), resolution through a fake HuggingFace cache, error exits, one notice.
source "$(dirname "$0")/lib.sh" "$@"
TINY="$SRC/tests/data/tokenizer/tiny_bytelevel.json"
SP="$SRC/tests/data/tokenizer/tiny_sentencepiece.json"
V=("$VEEKSHA" tokenize)

# approximation (no tokenizer anywhere): exactly one notice on stderr
export HF_HOME="$TMP/hf-empty"
out=$(printf 'The morning fog\n  two   words  \n\n' | "${V[@]}" --count 2>"$TMP/err")
check "approx counts words" test "$out" = "$(printf '3\n2\n0')"
check "approx fallback announced once" test "$(grep -c 'whitespace-word approximation' "$TMP/err")" -eq 1
ids=$(echo "The morning fog" | "${V[@]}" 2>/dev/null)
check "approx encodes to a JSON array of 3 ids" test "$(echo "$ids" | jq length)" -eq 3
check "approx decode joins words" test "$(echo "$ids" | "${V[@]}" --decode 2>/dev/null)" = "The morning fog"
for n in 1 7 100 4096; do
  got=$("${V[@]}" --prompt "$n" --seed 5 2>/dev/null | "${V[@]}" --count 2>/dev/null | awk '{s+=$1} END {print s}')
  check "approx prompt of $n tokens has $n tokens" test "$got" -eq "$n"
done

# tiny byte-level fixture: ids as HuggingFace tokenizers gives them
check "fixture ids" test "$(echo 'Hello world, how are you?' | "${V[@]}" --tokenizer "$TINY")" = "[72,458,111,379,306,44,537,405,555,63]"
check "fixture ids (jsonl input)" test "$(echo '"Hello world, how are you?"' | "${V[@]}" --jsonl --tokenizer "$TINY")" = "[72,458,111,379,306,44,537,405,555,63]"
check "fixture decode" test "$(echo '[72,458,111,379,306,44,537,405,555,63]' | "${V[@]}" --decode --tokenizer "$TINY")" = "Hello world, how are you?"
check "fixture decode --jsonl keeps newlines" test "$(echo '"a\n\tb <|endoftext|>"' | "${V[@]}" --jsonl --tokenizer "$TINY" | "${V[@]}" --decode --jsonl --tokenizer "$TINY")" = '"a\n\tb <|endoftext|>"'
check "sentencepiece fixture round trip" test "$(echo 'Hello  world 你好' | "${V[@]}" --tokenizer "$SP" | "${V[@]}" --decode --tokenizer "$SP")" = "Hello  world 你好"
for n in 20 64 1000; do
  "${V[@]}" --tokenizer "$TINY" --prompt "$n" --suffix $'\n\nGenerate at least 10 tokens.' --seed 3 >"$TMP/p.txt"
  # the prompt may span lines: count the whole text as one JSON string
  got=$(jq -Rs . <"$TMP/p.txt" | sed 's/\\n"$/"/' | "${V[@]}" --jsonl --count --tokenizer "$TINY")
  check "fixture prompt of $n tokens has $n tokens" test "$got" -eq "$n"
done
check "--name" test "$("${V[@]}" --name --tokenizer "$SRC/tests/data/tokenizer/tiny_bytelevel.json")" = "hf:$TINY"

# HuggingFace cache resolution through --model
mkdir -p "$TMP/hf/hub/models--acme--tiny/snapshots/abc123"
cp "$TINY" "$TMP/hf/hub/models--acme--tiny/snapshots/abc123/tokenizer.json"
name=$(HF_HOME="$TMP/hf" "${V[@]}" --name --model acme/tiny 2>"$TMP/err2")
check "HF cache resolves ORG/NAME" test "$name" = "hf:$TMP/hf/hub/models--acme--tiny/snapshots/abc123/tokenizer.json"
check "no notice when a tokenizer is found" test ! -s "$TMP/err2"

# errors
set +e
"${V[@]}" --tokenizer /nonexistent/tokenizer.json </dev/null 2>"$TMP/err3"; rc=$?
check "missing tokenizer file exits 1" test "$rc" -eq 1
check "missing tokenizer file is named" grep -q "/nonexistent/tokenizer.json" "$TMP/err3"
"${V[@]}" --bogus </dev/null 2>/dev/null; rc=$?
check "unknown option exits 2" test "$rc" -eq 2
"${V[@]}" --prompt abc </dev/null >/dev/null 2>&1; rc=$?
check "non-numeric --prompt exits 2" test "$rc" -eq 2
echo 'not json' | "${V[@]}" --decode --tokenizer "$TINY" >/dev/null 2>&1; rc=$?
check "bad --decode input exits 1" test "$rc" -eq 1
echo '[999999]' | "${V[@]}" --decode --tokenizer "$TINY" >/dev/null 2>&1; rc=$?
check "out-of-range id exits 1" test "$rc" -eq 1
set -e
e2e_finish
