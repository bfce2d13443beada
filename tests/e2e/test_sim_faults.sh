#!/usr/bin/env bash
# sim-server fault injection: --fail-rate, --disconnect-rate, --error-event-rate, --stall-ms,
# --startup-delay-s, --crash-after, --refuse-connections; and --shutdown-grace-s cutting a long stream.
source "$(dirname "$0")/lib.sh" "$@"

body='{"messages":[{"role":"user","content":"a b c"}],"stream":true,"ignore_eos":true,"max_tokens":20}'
stop_sim() { kill -TERM "$1" 2>/dev/null; e2e_wait_gone "$1" 10 || true; }

# --fail-rate 1: every generation request gets a 500 with an error body
e2e_start_sim 0 --mode zero --fail-rate 1 2>/dev/null; port=$E2E_SIM_PORT; s=$E2E_SIM_PID
code=$(curl -s -o "$TMP/f.json" -w '%{http_code}' "http://127.0.0.1:$port/v1/chat/completions" -d "$body")
check "fail-rate 1 -> 500 ($code)" [ "$code" = 500 ]
check "500 body has error.code 500" bash -c "jq -e '.error.code==500' '$TMP/f.json' >/dev/null"
check "health unaffected" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ]
stop_sim "$s"

# --fail-rate 0.5: roughly half, deterministic for a seed and request ids
e2e_start_sim 0 --mode zero --fail-rate 0.5 --seed 7 2>/dev/null; port=$E2E_SIM_PORT; s=$E2E_SIM_PID
codes1=""; for i in $(seq 1 24); do codes1+=$(curl -s -o /dev/null -w '%{http_code} ' -H "X-Request-Id: q$i" "http://127.0.0.1:$port/v1/completions" -d '{"prompt":"a","max_tokens":2}'); done
n500=$(tr ' ' '\n' <<<"$codes1" | grep -c 500 || true)
check "fail-rate 0.5: between 4 and 20 of 24 fail ($n500)" [ "$n500" -ge 4 -a "$n500" -le 20 ]
stop_sim "$s"
e2e_start_sim 0 --mode zero --fail-rate 0.5 --seed 7 2>/dev/null; port=$E2E_SIM_PORT; s=$E2E_SIM_PID
codes2=""; for i in $(seq 1 24); do codes2+=$(curl -s -o /dev/null -w '%{http_code} ' -H "X-Request-Id: q$i" "http://127.0.0.1:$port/v1/completions" -d '{"prompt":"a","max_tokens":2}'); done
check "same seed + request ids -> same failures" [ "$codes1" = "$codes2" ]
stop_sim "$s"

# --disconnect-rate 1: stream cut mid-way (no [DONE], curl reports a transfer error)
e2e_start_sim 0 --mode fixed --ttft-ms 5 --itl-ms 1 --disconnect-rate 1 2>/dev/null; port=$E2E_SIM_PORT; s=$E2E_SIM_PID
set +e; curl -s -N "http://127.0.0.1:$port/v1/chat/completions" -d "$body" >"$TMP/d.txt"; rc=$?; set -e
check "disconnect: curl error ($rc)" [ "$rc" != 0 ]
check "disconnect: no [DONE]" bash -c "! grep -q DONE '$TMP/d.txt'"
nd=$(grep -c '"content"' "$TMP/d.txt" || true)
check "disconnect: some chunks before the cut ($nd)" [ "$nd" -ge 5 -a "$nd" -lt 20 ]
check "server alive after disconnects" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ]
stop_sim "$s"

# --error-event-rate 1: an SSE error event mid-stream, then [DONE]
e2e_start_sim 0 --mode fixed --ttft-ms 5 --itl-ms 1 --error-event-rate 1 2>/dev/null; port=$E2E_SIM_PORT; s=$E2E_SIM_PID
curl -s -N "http://127.0.0.1:$port/v1/chat/completions" -d "$body" >"$TMP/e.txt"
check "error event present" bash -c "grep '^data: {\"error\"' '$TMP/e.txt' | sed 's/^data: //' | jq -e '.error.code==500' >/dev/null"
check "stream still terminated with [DONE]" bash -c "tail -2 '$TMP/e.txt' | grep -q 'data: \[DONE\]'"
ne=$(grep -c '"content"' "$TMP/e.txt" || true)
check "content before the error event ($ne)" [ "$ne" -ge 5 -a "$ne" -lt 20 ]
stop_sim "$s"

# --stall-ms 400: one gap >= 400 ms inside the stream (fixed ITL 1 ms otherwise)
e2e_start_sim 0 --mode fixed --ttft-ms 5 --itl-ms 1 --stall-ms 400 --emit-log "$TMP/stall.jsonl" 2>/dev/null; port=$E2E_SIM_PORT; s=$E2E_SIM_PID
curl -s -N -H 'X-Request-Id: stall-1' "http://127.0.0.1:$port/v1/chat/completions" -d "$body" >"$TMP/s.txt"
check "stalled stream complete" bash -c "grep -q DONE '$TMP/s.txt'"
stop_sim "$s"
maxgap=$(jq '[.chunk_mono_ns as $t | range(1; $t|length) | $t[.] - $t[.-1]] | max' "$TMP/stall.jsonl")
check "largest inter-chunk gap >= 400 ms ($maxgap ns)" [ "$maxgap" -ge 400000000 ]
check "largest gap < 1 s" [ "$maxgap" -lt 1000000000 ]

# --startup-delay-s: 503 first, then 200
port=$(e2e_free_port)
e2e_bg "$VEEKSHA" sim-server --host 127.0.0.1 --port "$port" --mode zero --startup-delay-s 1.5 2>/dev/null; s=$E2E_LAST_PID
e2e_wait_http "http://127.0.0.1:$port/health" 5 503
check "503 while loading" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 503 ]
check "chat 503 while loading" [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/chat/completions" -d "$body")" = 503 ]
check "200 once loaded" e2e_wait_http "http://127.0.0.1:$port/health" 5 200
stop_sim "$s"

# --crash-after 3: exits with non-zero status after 3 generation requests
e2e_start_sim 0 --mode zero --crash-after 3 2>"$TMP/crash.err"; port=$E2E_SIM_PORT; s=$E2E_SIM_PID
for i in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$port/v1/completions" -d '{"prompt":"a","max_tokens":2}' || true; done
if e2e_wait_gone "$s" 5; then
  wait "$s" && rc=0 || rc=$?
  check "crash-after: exit status non-zero ($rc)" [ "$rc" != 0 ]
else
  fail "crash-after: still running"
fi
check "crash-after: says why" grep -q "crash-after 3" "$TMP/crash.err"

# --refuse-connections: every connection is reset
port=$(e2e_free_port)
e2e_bg "$VEEKSHA" sim-server --host 127.0.0.1 --port "$port" --refuse-connections 2>"$TMP/refuse.err"; s=$E2E_LAST_PID
for i in $(seq 1 100); do grep -q listening "$TMP/refuse.err" && break; sleep 0.05; done
set +e; curl -s --max-time 3 -o /dev/null "http://127.0.0.1:$port/health"; rc=$?; set -e
# 52 empty reply, 56 reset while receiving, 55 reset while still sending the request (which one
# depends on when the reset arrives: seen under load), 7 refused
check "refused: curl fails (rc $rc)" [ "$rc" = 52 -o "$rc" = 56 -o "$rc" = 55 -o "$rc" = 7 ]
stop_sim "$s"

# --shutdown-grace-s: a stream longer than the grace is cut, exit status still 0, within the bound
e2e_start_sim 0 --mode fixed --ttft-ms 1 --itl-ms 50 --shutdown-grace-s 0.5 2>/dev/null; port=$E2E_SIM_PORT; s=$E2E_SIM_PID
curl -s -N "http://127.0.0.1:$port/v1/chat/completions" -d '{"messages":[{"role":"user","content":"x"}],"stream":true,"ignore_eos":true,"max_tokens":1000}' >"$TMP/long.txt" 2>/dev/null &
cpid=$!
for i in $(seq 1 100); do [ -s "$TMP/long.txt" ] && break; sleep 0.05; done
t0=$(date +%s%N); kill -TERM "$s"
if e2e_wait_gone "$s" 5; then
  t1=$(date +%s%N); wait "$s" && rc=0 || rc=$?
  check "grace: exit 0 ($rc)" [ "$rc" = 0 ]
  check "grace: exited within 2 s ($(( (t1-t0)/1000000 )) ms)" [ $(( (t1-t0)/1000000 )) -lt 2000 ]
else
  fail "grace: server did not exit"
fi
wait "$cpid" 2>/dev/null || true
check "grace: the long stream was cut" bash -c "! grep -q DONE '$TMP/long.txt'"

# graceful: a short in-flight stream finishes during the grace period
e2e_start_sim 0 --mode fixed --ttft-ms 1 --itl-ms 20 --shutdown-grace-s 5 2>/dev/null; port=$E2E_SIM_PORT; s=$E2E_SIM_PID
curl -s -N "http://127.0.0.1:$port/v1/chat/completions" -d '{"messages":[{"role":"user","content":"x"}],"stream":true,"ignore_eos":true,"max_tokens":25}' >"$TMP/short.txt" 2>/dev/null &
cpid=$!
for i in $(seq 1 100); do [ -s "$TMP/short.txt" ] && break; sleep 0.02; done
kill -TERM "$s"
e2e_wait_gone "$s" 8 || true
wait "$s" && rc=0 || rc=$?
check "graceful: exit 0 ($rc)" [ "$rc" = 0 ]
wait "$cpid" 2>/dev/null || true
check "graceful: in-flight stream completed" grep -q DONE "$TMP/short.txt"
e2e_finish
