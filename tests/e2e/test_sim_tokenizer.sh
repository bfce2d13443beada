#!/usr/bin/env bash
# --tokenizer: usage counts and streamed text agree with the tokenizer (byte-level and
# SentencePiece-style fixtures): the streamed text re-tokenises to exactly usage.completion_tokens.
source "$(dirname "$0")/lib.sh" "$@"

for fx in tiny_bytelevel tiny_sentencepiece; do
  e2e_start_sim 0 --mode zero --tokenizer "$SRC/tests/data/tokenizer/$fx.json" 2>"$TMP/$fx.err"
  port=$E2E_SIM_PORT
  s=$E2E_SIM_PID
  check "$fx: announced" grep -q "tokenizer hf:" "$TMP/$fx.err"
  base="http://127.0.0.1:$port"
  prompt="The quick brown fox jumps over the lazy dog, again and again."
  pc=$(jq -n --arg p "$prompt" '{prompt:$p}' | curl -s "$base/tokenize" -d @- | jq .count)
  jq -n --arg p "$prompt" '{messages:[{role:"user",content:$p}],stream:true,ignore_eos:true,max_tokens:40,stream_options:{include_usage:true}}' \
    | curl -s -N "$base/v1/chat/completions" -d @- >"$TMP/$fx.sse"
  grep '^data: {' "$TMP/$fx.sse" | sed 's/^data: //' >"$TMP/$fx.jsonl"
  text=$(jq -rjs '[.[] | select((.choices|length)>0) | .choices[0].delta.content // ""] | join("")' "$TMP/$fx.jsonl")
  tc=$(jq -n --arg p "$text" '{prompt:$p}' | curl -s "$base/tokenize" -d @- | jq .count)
  usage=$(jq -s 'last | .usage' "$TMP/$fx.jsonl")
  check "$fx: prompt_tokens = tokenizer count ($pc)" [ "$(jq .prompt_tokens <<<"$usage")" = "$pc" ]
  check "$fx: streamed text re-tokenises to completion_tokens ($tc)" [ "$(jq .completion_tokens <<<"$usage")" = "$tc" ]
  check "$fx: 40 tokens" [ "$tc" = 40 ]
  kill -TERM "$s"; e2e_wait_gone "$s" 10
done
set +e; "$VEEKSHA" sim-server --tokenizer "$TMP/does-not-exist.json" 2>/dev/null; rc=$?; set -e
check "unloadable --tokenizer exits 2 ($rc)" [ "$rc" = 2 ]
e2e_finish
