#!/usr/bin/env bash
# Sizes (issue 21, item 6). SIGTERM while the workload is being prepared: building the prompts of
# a large trace session stops at the next row and the run exits 128+15 promptly, instead of
# finishing (or exhausting memory) first. A prompt length past the limit, or prompts and outputs
# that do not fit the context the server reports, are refused before the first request.
source "$(dirname "$0")/lib.sh" "$@"
e2e_start_sim 0 --mode fixed --ttft-ms 1 --itl-ms 1
port=$E2E_SIM_PORT
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
# the context the server reports (the sim: max_model_len 8192 in GET /v1/models) bounds prompt +
# output when the config gives none: exit 2 before any run directory (unmanaged server) ...
cat > "$TMP/ctx.yml" <<YML
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: fixed, value: 9000}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: 4}}}
runtime: {max_sessions: 1}
YML
rc=0; out=$("$VEEKSHA" benchmark --config "$TMP/ctx.yml" --output_dir "$TMP/out4" 2>&1) || rc=$?
check "reported context: exit 2 (got $rc)" test "$rc" -eq 2
check "reported context: message" grep -q "body_length_generator.value: prompts of up to 9000 tokens and outputs of up to 4 tokens do not fit the model's context of 8192 tokens (max_model_len reported by GET /v1/models)" <<<"$out"
check "reported context: no run directory" test ! -e "$TMP/out4"
# ... and after a managed sim is ready (the server is stopped again)
mport=$(e2e_free_port)
cat > "$TMP/ctx_managed.yml" <<YML
server: {type: sim, model: sim-model, host: 127.0.0.1, port: $mport, startup_timeout: 30}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: fixed, value: 8190}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: 4}}}
runtime: {max_sessions: 1}
YML
rc=0; out=$("$VEEKSHA" benchmark --config "$TMP/ctx_managed.yml" --output_dir "$TMP/out5" 2>&1) || rc=$?
check "managed, reported context: exit 2 (got $rc)" test "$rc" -eq 2
check "managed, reported context: message" grep -q "do not fit the model's context of 8192 tokens" <<<"$out"
check "managed, reported context: server stopped" bash -c "! curl -s -o /dev/null --max-time 1 http://127.0.0.1:$mport/health"
# within the context: runs
sed -i 's/value: 8190/value: 8000/' "$TMP/ctx_managed.yml"
rc=0; "$VEEKSHA" benchmark --config "$TMP/ctx_managed.yml" --output_dir "$TMP/out6" --quiet >/dev/null 2>&1 || rc=$?
check "managed, within the reported context: exit 0 (got $rc)" test "$rc" -eq 0
e2e_finish
