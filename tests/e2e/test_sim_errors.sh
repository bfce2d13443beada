#!/usr/bin/env bash
# sim-server error paths: auth (flag and VLLM_API_KEY), 400 bodies, 404/405, context length,
# tokenize/detokenize, metrics, malformed HTTP; the server survives all of it.
source "$(dirname "$0")/lib.sh" "$@"

e2e_start_sim 0 --mode zero --api-key sekret --max-model-len 4096 2>"$TMP/sim.err"
port=$E2E_SIM_PORT
sim=$E2E_SIM_PID
base="http://127.0.0.1:$port"
auth=(-H 'Authorization: Bearer sekret')
chat='{"messages":[{"role":"user","content":"hi"}],"max_tokens":3}'

status() { curl -s -o "$TMP/body.json" -w '%{http_code}' "$@"; }
errshape() { jq -e '.error.message and (.error.code|type=="number") and .error.type' "$TMP/body.json" >/dev/null; }

check "401 without key" [ "$(status "$base/v1/chat/completions" -d "$chat")" = 401 ]
check "401 body is an OpenAI error" errshape
check "401 with wrong key" [ "$(status "$base/v1/chat/completions" -H 'Authorization: Bearer nope' -d "$chat")" = 401 ]
check "401 on /v1/models without key" [ "$(status "$base/v1/models")" = 401 ]
check "200 with key" [ "$(status "$base/v1/chat/completions" "${auth[@]}" -d "$chat")" = 200 ]
check "health needs no key" [ "$(status "$base/health")" = 200 ]
check "metrics need no key" [ "$(status "$base/metrics")" = 200 ]

check "400 malformed JSON" [ "$(status "$base/v1/chat/completions" "${auth[@]}" -d '{"messages": [')" = 400 ]
check "400 body is an OpenAI error with code 400" bash -c "jq -e '.error.code == 400' '$TMP/body.json' >/dev/null"
check "400 missing messages" [ "$(status "$base/v1/chat/completions" "${auth[@]}" -d '{"model":"x"}')" = 400 ]
check "400 wrong type max_tokens" [ "$(status "$base/v1/chat/completions" "${auth[@]}" -d '{"messages":[{"role":"user","content":"a"}],"max_tokens":"3"}')" = 400 ]
check "400 unknown model" [ "$(status "$base/v1/chat/completions" "${auth[@]}" -d '{"model":"nope/model","messages":[{"role":"user","content":"a"}]}')" = 400 ]
check "400 unknown model message" bash -c "jq -r .error.message '$TMP/body.json' | grep -q 'does not exist'"
check "400 prompt+max_tokens beyond max-model-len" [ "$(status "$base/v1/completions" "${auth[@]}" -d '{"prompt":"a b c","max_tokens":4094}')" = 400 ]
check "200 exactly at max-model-len" [ "$(status "$base/v1/completions" "${auth[@]}" -d '{"prompt":"a b c","max_tokens":4093}')" = 200 ]
check "400 n=2" [ "$(status "$base/v1/completions" "${auth[@]}" -d '{"prompt":"a","n":2}')" = 400 ]
check "404 unknown path" [ "$(status "$base/v1/nothing" "${auth[@]}")" = 404 ]
check "404 body is an OpenAI error" errshape
check "405 GET on chat" [ "$(status "$base/v1/chat/completions" "${auth[@]}")" = 405 ]

# natural length: without ignore_eos, bounded by max_tokens, at least min_tokens
curl -s "$base/v1/completions" "${auth[@]}" -d '{"prompt":"x","max_tokens":50,"min_tokens":20}' >"$TMP/nat.json"
n=$(jq .usage.completion_tokens "$TMP/nat.json")
check "natural length within [min_tokens, max_tokens] ($n)" [ "$n" -ge 20 -a "$n" -le 50 ]
fr=$(jq -r '.choices[0].finish_reason' "$TMP/nat.json")
if [ "$n" = 50 ]; then check "finish length at cap" [ "$fr" = length ]; else check "finish stop below cap" [ "$fr" = stop ]; fi

# stop strings end the text before the match
curl -s "$base/v1/completions" "${auth[@]}" -d '{"prompt":"x","max_tokens":40,"ignore_eos":true,"stop":[" the"]}' >"$TMP/stop.json"
txt=$(jq -r '.choices[0].text' "$TMP/stop.json")
if [ "$(jq -r '.choices[0].finish_reason' "$TMP/stop.json")" = stop ]; then
  check "stop string not in text" bash -c "! grep -q ' the' <<<'$txt'"
  check "usage counts the text's words" [ "$(jq .usage.completion_tokens "$TMP/stop.json")" = "$(wc -w <<<"$txt")" ]
else
  check "no stop match means full length" [ "$(jq .usage.completion_tokens "$TMP/stop.json")" = 40 ]
fi

# tokenize / detokenize
curl -s "$base/tokenize" -d '{"prompt":"the model data"}' >"$TMP/tok.json"
check "tokenize count" [ "$(jq .count "$TMP/tok.json")" = 3 ]
check "tokenize max_model_len" [ "$(jq .max_model_len "$TMP/tok.json")" = 4096 ]
ids=$(jq -c .tokens "$TMP/tok.json")
curl -s "$base/detokenize" -d "{\"tokens\":$ids}" >"$TMP/detok.json"
check "detokenize round trip" [ "$(jq -r .prompt "$TMP/detok.json" | xargs)" = "the model data" ]
check "tokenize messages" [ "$(curl -s "$base/tokenize" -d '{"messages":[{"role":"user","content":"a b"},{"role":"user","content":"c"}]}' | jq .count)" = 3 ]
check "400 detokenize bad ids" [ "$(status "$base/detokenize" -d '{"tokens":["x"]}')" = 400 ]

# metrics text
curl -s "$base/metrics" >"$TMP/metrics.txt"
for m in vllm:num_requests_running vllm:num_requests_waiting vllm:gpu_cache_usage_perc vllm:prompt_tokens_total \
         vllm:generation_tokens_total vllm:time_to_first_token_seconds_bucket vllm:time_to_first_token_seconds_count; do
  check "metrics has $m" grep -q "^$m" "$TMP/metrics.txt"
done
gen=$(grep '^vllm:generation_tokens_total' "$TMP/metrics.txt" | awk '{print $2}')
check "generation tokens counted ($gen)" [ "$gen" -ge 64 ]

# malformed HTTP: 400 and the connection closes; server still serves
resp=$(printf 'BLAH\r\n\r\n' | timeout 5 python3 -c '
import socket,sys
s=socket.create_connection(("127.0.0.1",'"$port"'));s.sendall(sys.stdin.buffer.read());s.settimeout(3)
d=b""
while True:
    c=s.recv(4096)
    if not c: break
    d+=c
print(d.split(b"\r\n")[0].decode())')
check "malformed request line -> 400 ($resp)" [ "$resp" = "HTTP/1.1 400 Bad Request" ]
# pipelined keep-alive requests on one connection
resp=$(timeout 5 python3 -c '
import socket
s=socket.create_connection(("127.0.0.1",'"$port"'))
s.sendall(b"GET /health HTTP/1.1\r\nHost: a\r\n\r\nGET /health HTTP/1.1\r\nHost: a\r\n\r\nGET /health HTTP/1.1\r\nConnection: close\r\n\r\n")
s.settimeout(3); d=b""
while True:
    c=s.recv(4096)
    if not c: break
    d+=c
print(d.count(b"HTTP/1.1 200"))')
check "3 pipelined requests answered ($resp)" [ "$resp" = 3 ]
# Expect: 100-continue (curl sends it for bodies above 1 KiB and would wait 1 s without the 100)
python3 -c "print('{\"prompt\":\"' + ' '.join(['w']*3000) + '\",\"max_tokens\":2}')" >"$TMP/big.json"
t=$(curl -s -o /dev/null -w '%{time_total}' "$base/v1/completions" "${auth[@]}" -H 'Expect: 100-continue' -d @"$TMP/big.json")
check "100-continue answered: large body served in < 0.5 s ($t s)" python3 -c "import sys; sys.exit(0 if $t < 0.5 else 1)"
check "server still alive" kill -0 "$sim"
check "health after abuse" [ "$(status "$base/health")" = 200 ]
kill -TERM "$sim"; e2e_wait_gone "$sim" 10; wait "$sim" && rc=0 || rc=$?
check "exit 0 ($rc)" [ "$rc" = 0 ]

# VLLM_API_KEY env fallback
port=$(e2e_free_port)
VLLM_API_KEY=envkey e2e_start_sim "$port" --mode zero 2>/dev/null
check "env key: 401 without" [ "$(status "http://127.0.0.1:$port/v1/models")" = 401 ]
check "env key: 200 with" [ "$(status "http://127.0.0.1:$port/v1/models" -H 'Authorization: Bearer envkey')" = 200 ]
e2e_finish
