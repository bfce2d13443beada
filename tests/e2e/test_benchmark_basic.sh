#!/usr/bin/env bash
# End-to-end: the seed's base config (concurrent sessions, fixed 512/256 tokens, linear sessions with
# history) against the simulated server. Checks the run directory's files, that every dispatched
# request is either completed or errored, that dependencies and history were honoured (from the
# dispatch trace with content) and that token counts match the targets.
source "$(dirname "$0")/lib.sh" "$@"
e2e_start_sim 0 --mode fixed --ttft-ms 20 --itl-ms 1 --emit-log "$TMP/emit.jsonl"
port=$E2E_SIM_PORT

out="$TMP/out"
"$VEEKSHA" benchmark --config "$SRC/tests/e2e/configs/base_concurrent.yml" \
  --client.api_base "http://127.0.0.1:$port/v1" --client.model sim-model \
  --output_dir "$out" --quiet > "$TMP/stdout.txt" 2> "$TMP/stderr.txt"
rc=$?
check "benchmark exits 0" test "$rc" -eq 0
run=$(ls -d "$out"/*/ | head -1)
check "run directory name is <dd_mm_YYYY-HH_MM_SS>-<hash8>" bash -c "basename '$run' | grep -Eq '^[0-9]{2}_[0-9]{2}_[0-9]{4}-[0-9]{2}_[0-9]{2}_[0-9]{2}-[0-9a-f]{8}$'"
for f in config.yml health_check_results.txt metrics/summary_stats.json metrics/request_level_metrics.jsonl \
         metrics/ttfc.csv metrics/tbc.csv metrics/throughput_metrics.json metrics/prefill_stats.json \
         metrics/slo_results.json metrics/chrome_trace.json traces/dispatch_trace.jsonl; do
  check "file $f exists" test -s "$run/$f"
done
s="$run/metrics/summary_stats.json"
n_req=$(jq '."Number of Requests"' "$s")
n_ok=$(jq '."Number of Completed Requests"' "$s")
n_err=$(jq '."Number of Errored Requests"' "$s")
check "requests were dispatched ($n_req)" test "$n_req" -gt 16
check "every request completed or errored ($n_ok + $n_err = $n_req)" test $((n_ok + n_err)) -eq "$n_req"
check "no errors" test "$n_err" -eq 0
check "16 sessions seen" jq -e '."Number of Sessions Seen" == 16' "$s"
check "summary has reference keys in order" bash -c "jq -r 'keys_unsorted[0:4]|join(\",\")' '$s' | grep -qx 'Number of Requests,Number of Errored Requests,Number of Completed Requests,Number of Cancelled Requests'"
rl="$run/metrics/request_level_metrics.jsonl"
check "one metrics row per completed request" test "$(wc -l < "$rl")" -eq "$n_ok"
check "request rows start with the reference keys" bash -c "head -1 '$rl' | jq -r 'keys_unsorted[0:5]|join(\",\")' | grep -qx 'request_id,session_id,session_total_requests,scheduler_ready_at,scheduler_dispatched_at'"
check "output tokens = 256 for every request" bash -c "jq -s 'all(.[]; .num_output_tokens == 256)' '$rl' | grep -qx true"
check "prompt tokens = 512 for every request" bash -c "jq -s 'all(.[]; .num_delta_prompt_tokens == 512)' '$rl' | grep -qx true"
check "255 tbc gaps per request" bash -c "jq -s 'all(.[]; (.tbc|length) == 255)' '$rl' | grep -qx true"
check "chrome_trace.json = the reference's computation from the rows, byte for byte" \
  python3 "$SRC/tests/tools/chrome_trace_oracle.py" "$run"
cu="$run/metrics/client_usage.json"
check "client_usage.json: requests = dispatched requests" jq -e --argjson n "$n_req" '.requests == $n' "$cu"
check "client_usage.json: output tokens = 256 per completed request" jq -e --argjson n "$n_ok" '.output_tokens == 256 * $n' "$cu"
check "client_usage.json: run wall time, CPU and loop-busy fraction are sane" \
  jq -e '.run_wall_s > 0.5 and .run_cpu_s > 0 and .run_loop_thread_cpu_s <= .run_cpu_s + 0.01 and .loop_busy_fraction > 0 and .loop_busy_fraction < 0.8 and (.client_may_have_limited_load | not) and .peak_rss_kb > 1000 and .run_end_rss_kb > 1000 and .run_end_rss_kb <= .peak_rss_kb' "$cu"
tr="$run/traces/dispatch_trace.jsonl"
check "trace has one line per dispatched request" test "$(wc -l < "$tr")" -eq "$n_req"
# Dependencies: a node is dispatched only after its parent completed (+ wait 0.05 s).
check "children dispatched after parent completion + think time" python3 - "$tr" "$rl" <<'PY'
import json, sys
trace = [json.loads(l) for l in open(sys.argv[1])]
rows = {r["request_id"]: r for r in map(json.loads, open(sys.argv[2]))}
by_node = {(t["session_id"], t["session_context"]["node_id"]): t for t in trace}
bad = 0
for t in trace:
    ctx = t["session_context"]
    for p in ctx["parent_nodes"]:
        parent = by_node[(t["session_id"], p)]
        done = rows[parent["request_id"]]["client_completed_at"]
        if t["dispatched_at"] + 1e-4 < done + ctx["wait_after_ready"]:
            bad += 1
sys.exit(1 if bad else 0)
PY
check "history = parent's history + parent's user message + assistant reply" python3 - "$tr" <<'PY'
import json, sys
trace = [json.loads(l) for l in open(sys.argv[1])]
by_node = {(t["session_id"], t["session_context"]["node_id"]): t for t in trace}
ok = True
for t in trace:
    hp = t["session_context"]["history_parent"]
    if hp is None:
        ok &= t["history"] == []
        continue
    parent = by_node[(t["session_id"], hp)]
    h = t["history"]
    ok &= h[:-2] == parent["history"]
    ok &= h[-2] == {"role": "user", "content": parent["channels"]["text"]["input_text"]}
    ok &= h[-1]["role"] == "assistant" and len(h[-1]["content"]) > 0
sys.exit(0 if ok else 1)
PY
check "every request reached the server (emit log has all request ids)" python3 - "$TMP/emit.jsonl" "$tr" <<'PY'
import json, sys
emit = set()
for l in open(sys.argv[1]):
    try:
        emit.add(str(json.loads(l).get("request_id")))
    except Exception:
        pass
trace = {str(json.loads(l)["request_id"]) for l in open(sys.argv[2])}
sys.exit(0 if trace <= emit else 1)
PY
check "summary table printed with units" grep -q "TTFC" "$TMP/stdout.txt"
# One-token answers arrive in one chunk: no gaps, so a request whose stream ended after its first
# chunk gets one "Decode" block in chrome_trace.json instead of T1.. events (the same bytes as the
# reference's computation).
out1="$TMP/out1"
"$VEEKSHA" benchmark --config "$SRC/tests/e2e/configs/base_concurrent.yml" \
  --client.api_base "http://127.0.0.1:$port/v1" --client.model sim-model \
  --session_generator.output_spec.text.output_length_generator.value 1 \
  --output_dir "$out1" --quiet > "$TMP/stdout1.txt" 2> "$TMP/stderr1.txt"
check "one-token run exits 0" test $? -eq 0
run1=$(ls -d "$out1"/*/ | head -1)
check "one-token run: chrome_trace.json has Decode blocks and no T1 events" \
  bash -c "grep -q '\"name\": \"Decode\"' '$run1/metrics/chrome_trace.json' && ! grep -q '\"name\": \"T1\"' '$run1/metrics/chrome_trace.json'"
check "one-token run: chrome_trace.json = the reference's computation, byte for byte" \
  python3 "$SRC/tests/tools/chrome_trace_oracle.py" "$run1"
check "api key absent from config.yml" bash -c "! grep -q 'token-abc123' '$run/config.yml'"
e2e_finish
