#!/usr/bin/env bash
# sim-server basics: health, models, streaming and non-streaming chat/completions shapes, usage, SIGTERM.
source "$(dirname "$0")/lib.sh" "$@"

e2e_start_sim 0 --mode fixed --ttft-ms 20 --itl-ms 2 --model meta-llama/Llama-3-8B-Instruct 2>"$TMP/sim.err"
port=$E2E_SIM_PORT
sim=$E2E_SIM_PID
base="http://127.0.0.1:$port"

check "listening line on stderr" grep -q "sim-server: listening on 127.0.0.1:$port" "$TMP/sim.err"
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/health")
check "health 200" [ "$code" = 200 ]

curl -s "$base/v1/models" >"$TMP/models.json"
check "models lists the served id" [ "$(jq -r '.data[0].id' "$TMP/models.json")" = "meta-llama/Llama-3-8B-Instruct" ]
check "models object=list" [ "$(jq -r '.object' "$TMP/models.json")" = list ]

# streaming chat, ignore_eos, include_usage
curl -s -N "$base/v1/chat/completions" -H 'Content-Type: application/json' -H 'X-Request-Id: r-1' \
  -d '{"model":"meta-llama/Llama-3-8B-Instruct","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"one two three four"}],"stream":true,"ignore_eos":true,"max_completion_tokens":12,"stream_options":{"include_usage":true}}' \
  >"$TMP/stream.txt"
grep '^data: ' "$TMP/stream.txt" | sed 's/^data: //' | grep -v '^\[DONE\]$' >"$TMP/events.jsonl"
check "stream ends with [DONE]" [ "$(grep '^data: ' "$TMP/stream.txt" | tail -1)" = "data: [DONE]" ]
check "every event is JSON" bash -c "jq -e . '$TMP/events.jsonl' >/dev/null"
nchunks=$(jq -s '[.[] | select((.choices|length)>0) | select(.choices[0].delta.content != null and .choices[0].delta.content != "")] | length' "$TMP/events.jsonl")
check "12 content chunks (got $nchunks)" [ "$nchunks" = 12 ]
text=$(jq -rs '[.[] | select((.choices|length)>0) | .choices[0].delta.content // ""] | join("")' "$TMP/events.jsonl")
words=$(echo "$text" | wc -w)
check "text has 12 words (got $words)" [ "$words" = 12 ]
check "first chunk has role" [ "$(jq -rs '.[0].choices[0].delta.role' "$TMP/events.jsonl")" = assistant ]
check "object is chat.completion.chunk" [ "$(jq -rs '.[0].object' "$TMP/events.jsonl")" = chat.completion.chunk ]
check "finish_reason length on last content chunk" \
  [ "$(jq -rs '[.[] | select((.choices|length)>0)] | last | .choices[0].finish_reason' "$TMP/events.jsonl")" = length ]
usage=$(jq -cs 'last | .usage' "$TMP/events.jsonl")
check "usage chunk: prompt 6, completion 12, total 18 (got $usage)" \
  [ "$usage" = '{"prompt_tokens":6,"total_tokens":18,"completion_tokens":12}' ]
check "usage chunk has empty choices" [ "$(jq -s 'last | .choices | length' "$TMP/events.jsonl")" = 0 ]

# non-streaming chat
curl -s "$base/v1/chat/completions" -d '{"messages":[{"role":"user","content":"hi there"}],"max_tokens":7,"ignore_eos":true}' >"$TMP/chat.json"
check "non-stream object" [ "$(jq -r .object "$TMP/chat.json")" = chat.completion ]
check "non-stream usage" [ "$(jq -c .usage "$TMP/chat.json")" = '{"prompt_tokens":2,"total_tokens":9,"completion_tokens":7}' ]
check "non-stream content has 7 words" [ "$(jq -r '.choices[0].message.content' "$TMP/chat.json" | wc -w)" = 7 ]

# completions, stream and not
curl -s "$base/v1/completions" -d '{"prompt":"a b c d e","max_tokens":4,"ignore_eos":true}' >"$TMP/cmpl.json"
check "completions text 4 words" [ "$(jq -r '.choices[0].text' "$TMP/cmpl.json" | wc -w)" = 4 ]
check "completions usage" [ "$(jq -c .usage "$TMP/cmpl.json")" = '{"prompt_tokens":5,"total_tokens":9,"completion_tokens":4}' ]
curl -s -N "$base/v1/completions" -d '{"prompt":"a b c","max_tokens":5,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}' >"$TMP/cs.txt"
grep '^data: {' "$TMP/cs.txt" | sed 's/^data: //' >"$TMP/cs.jsonl"
check "completions stream object" [ "$(jq -rs '.[0].object' "$TMP/cs.jsonl")" = text_completion ]
check "continuous usage grows per chunk" [ "$(jq -cs '[.[] | select((.choices|length)>0) | .usage.completion_tokens]' "$TMP/cs.jsonl")" = '[1,2,3,4,5]' ]

# SIGTERM: exit 0
kill -TERM "$sim"
if e2e_wait_gone "$sim" 10; then
  wait "$sim" 2>/dev/null && rc=0 || rc=$?
  check "SIGTERM exit status 0 (got $rc)" [ "$rc" = 0 ]
else
  fail "server did not exit after SIGTERM"
fi
e2e_finish
