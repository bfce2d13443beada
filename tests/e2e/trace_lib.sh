# Shared by test_trace_replay.sh and test_trace_timing.sh (source after lib.sh; needs $port, $TMP).
# run NAME FLAVOR_YAML TRACE_FILE MAX_SESSIONS [extra flags...]: run a benchmark, set $run.
run_trace() {
  local name=$1 flavor=$2 file=$3 max=$4; shift 4
  cat > "$TMP/$name.yml" <<YML
session_generator:
  type: trace
  trace_file: $file
  wrap_mode: false
  flavor: $flavor
traffic_scheduler:
  type: rate
  interval_generator: {type: fixed, interval: 0.02}
runtime:
  benchmark_timeout: 40
  max_sessions: $max
trace_recorder:
  enabled: true
  include_content: true
YML
  "$VEEKSHA" benchmark --config "$TMP/$name.yml" --client.api_base "http://127.0.0.1:$port/v1" \
    --client.model sim-model --output_dir "$TMP/out-$name" --quiet "$@" > "$TMP/$name.out" 2>&1
  rc=$?
  if grep -Eq 'not implemented|not supported yet' "$TMP/$name.out" && [ "$rc" -ne 0 ]; then
    echo "SKIP: veeksha benchmark does not run trace sessions yet: $(grep -E 'not implemented|not supported yet' "$TMP/$name.out" | head -1)"
    exit 0
  fi
  check "$name: benchmark exits 0" test "$rc" -eq 0 || { cat "$TMP/$name.out"; }
  run=$(ls -d "$TMP/out-$name"/*/ 2>/dev/null | head -1)
  tr="$run/traces/dispatch_trace.jsonl"
  check "$name: dispatch trace written" test -s "$tr"
}

# Every completed request's measured prompt tokens (client tokenizer: the word approximation)
# equal the target the trace generator built the prompt for.
prompt_tokens_match() {
  python3 - "$tr" "$run/metrics/request_level_metrics.jsonl" <<'PY'
import json, sys
target = {t["request_id"]: t["channels"]["text"]["target_prompt_tokens"] for t in map(json.loads, open(sys.argv[1]))}
rows = [json.loads(l) for l in open(sys.argv[2])]
bad = [(r["request_id"], r["num_delta_prompt_tokens"], target.get(r["request_id"])) for r in rows
       if r["num_delta_prompt_tokens"] != target.get(r["request_id"])]
print(f"{len(rows)} requests, mismatches: {bad[:5]}")
sys.exit(1 if bad or not rows else 0)
PY
}

