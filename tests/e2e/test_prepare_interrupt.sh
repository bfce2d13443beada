#!/usr/bin/env bash
# SIGTERM while the workload is being prepared (issue 21, item 6): building the prompts of a large
# trace session stops at the next row and the run exits 128+15 promptly, instead of finishing
# (or exhausting memory) first. And a prompt length past the limit is refused before any run.
source "$(dirname "$0")/lib.sh" "$@"
port=$(e2e_free_port)
e2e_start_sim "$port" --mode fixed --ttft-ms 1 --itl-ms 1
# one session of 16 rows of 1,000,000 tokens: within the per-session budget (16 x 1048576) and
# several seconds of prompt building
{ echo "session_id,input_length,output_length"; for i in $(seq 1 16); do echo "1,1000000,1"; done; } >"$TMP/trace.csv"
cat > "$TMP/cfg.yml" <<YML
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
session_generator: {type: trace, trace_file: "$TMP/trace.csv", flavor: {type: request_log}}
runtime: {max_sessions: 1}
YML
e2e_bg "$VEEKSHA" benchmark --config "$TMP/cfg.yml" --output_dir "$TMP/out" --quiet
bpid=$E2E_LAST_PID
# the run directory appears just before preparation starts (bounded wait)
for i in $(seq 1 200); do
  ls "$TMP"/out/*/config.yml >/dev/null 2>&1 && break
  sleep 0.05
done
t0=$(date +%s%N)
kill -TERM "$bpid"
rc=0; wait "$bpid" || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "exit code 143 after SIGTERM during preparation (got $rc)" test "$rc" -eq 143
check "exited within 3 s of the signal (took $ms ms)" test "$ms" -lt 3000

# a 2,000,000,000-token prompt is a config error naming the key, before any run directory
cat > "$TMP/big.yml" <<YML
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
session_generator:
  type: synthetic
  channels:
  - type: text
    body_length_generator: {type: fixed, value: 2000000000}
YML
rc=0; out=$("$VEEKSHA" benchmark --config "$TMP/big.yml" --output_dir "$TMP/out2" 2>&1) || rc=$?
check "huge prompt: exit 2 (got $rc)" test "$rc" -eq 2
check "huge prompt: file:line:col and key named" grep -q "big.yml:6:.*session_generator.channels\[0\].body_length_generator.value: 2000000000 exceeds the limit of 1048576" <<<"$out"
check "huge prompt: no run directory" test ! -e "$TMP/out2"

# non-finite rate: exit 2 (it crashed with 139), also as a flag
rc=0; out=$("$VEEKSHA" benchmark --openai-chat-completions-client-api-base "http://127.0.0.1:$port/v1" \
  --traffic_scheduler.interval_generator.arrival_rate 1e999 --output_dir "$TMP/out3" 2>&1) || rc=$?
check "arrival_rate 1e999: exit 2 (got $rc)" test "$rc" -eq 2
check "arrival_rate 1e999: message" grep -q "must be a finite number" <<<"$out"
e2e_finish
