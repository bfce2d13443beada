#!/usr/bin/env bash
# Tokenizer resolution step 3: with no client.tokenizer and an empty HuggingFace cache, the client
# counts tokens with the server's /tokenize (docs/TOKENIZER.md). Part 1: the sim with a fixture
# tokenizer and include_usage false (no usage in the stream): summary_stats.json names
# server:<url>/tokenize, output counts equal what the sim generated, prompt and history counts equal
# the server's count of their text (and differ from the approximation's). Part 2: a server without
# /tokenize: announced fallback to the approximation.
source "$(dirname "$0")/lib.sh" "$@"
export HF_HUB_CACHE="$TMP/hf-empty" HF_HOME="$TMP/hf-empty" XDG_CACHE_HOME="$TMP/hf-empty"
unset HUGGINGFACE_HUB_CACHE OPENAI_API_BASE OPENAI_API_KEY
mkdir -p "$HF_HUB_CACHE"
fx="$SRC/tests/data/tokenizer/tiny_bytelevel.json"

cat >"$TMP/cfg.yml" <<'EOF'
session_generator:
  type: synthetic
  session_graph:
    type: linear
    num_request_generator: {type: uniform, min: 2, max: 3}
    request_wait_generator: {type: fixed, interval: 0.01}
  channels:
    - type: text
      body_length_generator: {type: fixed, value: 64}
  output_spec:
    text:
      output_length_generator: {type: fixed, value: 40}
traffic_scheduler:
  type: concurrent
  target_concurrent_sessions: 4
  rampup_seconds: 0
runtime:
  benchmark_timeout: 30
  max_sessions: 6
trace_recorder:
  enabled: true
  include_content: true
EOF

# ---- part 1: the sim counts ----
e2e_start_sim 0 --mode fixed --ttft-ms 5 --itl-ms 0.2 --tokenizer "$fx" --emit-log "$TMP/emit.jsonl" 2>"$TMP/sim.err"
port=$E2E_SIM_PORT
sim=$E2E_SIM_PID
base="http://127.0.0.1:$port"
# the sim sends no usage at all when the request does not ask for it
jq -n '{model:"sim-model",messages:[{role:"user",content:"hello there"}],stream:true,max_tokens:8}' \
  | curl -s -N --max-time 10 "$base/v1/chat/completions" -d @- >"$TMP/nousage.sse"
check "sim: a stream without stream_options carries content" grep -q '"content"' "$TMP/nousage.sse"
check "sim: ... and no usage object" bash -c "! grep -q '\"usage\": *{' '$TMP/nousage.sse'"

set +e
timeout 60 "$VEEKSHA" benchmark --config "$TMP/cfg.yml" --client.api_base "$base/v1" --client.model sim-model \
  --client.include_usage false --output_dir "$TMP/out" --quiet >"$TMP/stdout.txt" 2>"$TMP/stderr.txt"
rc=$?
set -e
check "benchmark exits 0 ($rc)" test "$rc" -eq 0
run=$(ls -d "$TMP"/out/*/ | head -1)
s="$run/metrics/summary_stats.json"
rl="$run/metrics/request_level_metrics.jsonl"
tr="$run/traces/dispatch_trace.jsonl"
check "summary names the server tokenizer" jq -e --arg n "server:$base/tokenize" '.tokenizer == $n' "$s"
check "announced: counts from the server, prompt lengths approximate" \
  grep -q "token counts come from the server's tokenizer ($base/tokenize); prompt lengths are approximate" "$TMP/stderr.txt"
check "no failure reported" bash -c "! grep -q 'counted with the whitespace-word approximation instead' '$TMP/stderr.txt'"
n_ok=$(jq '."Number of Completed Requests"' "$s")
check "requests completed ($n_ok), none errored" jq -e '."Number of Completed Requests" >= 12 and ."Number of Errored Requests" == 0' "$s"
check "one metrics row per completed request" test "$(wc -l <"$rl")" -eq "$n_ok"
# Ground truth: what the sim generated (its tokenizer's count), per X-Request-Id.
check "every request is in the sim's emit log" python3 - "$rl" "$TMP/emit.jsonl" <<'PY'
import json, sys, time
rows = [json.loads(l) for l in open(sys.argv[1])]
for _ in range(100):  # the emit log is written by a background thread: bounded wait
    emit = {e["request_id"]: e for e in map(json.loads, open(sys.argv[2]))}
    if all(str(r["request_id"]) in emit for r in rows):
        sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
PY
check "num_output_tokens = the sim's completion_tokens (40) for every request" python3 - "$rl" "$TMP/emit.jsonl" <<'PY'
import json, sys
emit = {e["request_id"]: e for e in map(json.loads, open(sys.argv[2]))}
rows = [json.loads(l) for l in open(sys.argv[1])]
bad = [(r["request_id"], r["num_output_tokens"], emit[str(r["request_id"])]["completion_tokens"]) for r in rows
       if r["num_output_tokens"] != emit[str(r["request_id"])]["completion_tokens"] or r["num_output_tokens"] != 40]
print(bad[:5]) if bad else None
sys.exit(1 if bad else 0)
PY
# Prompt and history counts: the server's count of each text, which the approximation does not give.
python3 - "$rl" "$tr" "$TMP" <<'PY'
import json, sys
rows = {r["request_id"]: r for r in map(json.loads, open(sys.argv[1]))}
with open(sys.argv[3] + "/texts.jsonl", "w") as f, open(sys.argv[3] + "/expect.jsonl", "w") as g, \
     open(sys.argv[3] + "/roles.txt", "w") as rf:
    for t in map(json.loads, open(sys.argv[2])):
        r = rows.get(t["request_id"])
        if not r:
            continue
        texts = [t["channels"]["text"]["input_text"]] + [h["content"] for h in t["history"]]
        for x in texts:
            f.write(json.dumps(x) + "\n")
        rf.write("user\n" + "".join(h["role"] + "\n" for h in t["history"]))
        g.write(json.dumps({"id": t["request_id"], "n": len(texts), "delta": r["num_delta_prompt_tokens"],
                            "total": r["num_total_prompt_tokens"], "target": r["target_num_delta_prompt_tokens"],
                            "assistant": [h["content"] for h in t["history"] if h["role"] == "assistant"]}) + "\n")
PY
: >"$TMP/server_counts.txt"
while IFS= read -r line; do
  curl -s --max-time 5 "$base/tokenize" -d "{\"prompt\": $line}" | jq .count >>"$TMP/server_counts.txt"
done <"$TMP/texts.jsonl"
"$VEEKSHA" tokenize --count --jsonl <"$TMP/texts.jsonl" >"$TMP/approx_counts.txt" 2>/dev/null
check "prompt and history counts = the server's count of their texts" python3 - "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
sc = [int(x) for x in open(d + "/server_counts.txt")]
exp = [json.loads(l) for l in open(d + "/expect.jsonl")]
i, bad, hist = 0, [], 0
for e in exp:
    c = sc[i:i + e["n"]]
    i += e["n"]
    hist += e["n"] - 1
    if e["delta"] != c[0] or e["total"] != sum(c):
        bad.append((e["id"], e["delta"], e["total"], c))
print(bad[:3]) if bad else None
sys.exit(1 if bad or hist == 0 or i != len(sc) else 0)
PY
# (The sim's generated replies happen to be one token per word under this fixture, so only the
# user texts tell the two apart.)
check "... which differ from the approximation's for user texts (prompts were built to 64 words)" python3 - "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
sc = [int(x) for x in open(d + "/server_counts.txt")]
ac = [int(x) for x in open(d + "/approx_counts.txt")]
roles = [x.strip() for x in open(d + "/roles.txt")]
exp = [json.loads(l) for l in open(d + "/expect.jsonl")]
users = [(s, a) for s, a, r in zip(sc, ac, roles) if r == "user"]
ok = len(sc) == len(ac) == len(roles) and len(users) > len(exp) and all(s > a for s, a in users)
ok = ok and all(e["target"] == 64 and e["delta"] != 64 for e in exp)
sys.exit(0 if ok else 1)
PY
kill -TERM "$sim"; e2e_wait_gone "$sim" 10

# ---- part 2: a server without /tokenize ----
port2=$(e2e_free_port)
cat >"$TMP/responder.py" <<'PY'
# Minimal OpenAI-style streaming server: POST /v1/chat/completions only; 404 for anything else.
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self): self.send_error(404)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0)); self.rfile.read(n)
        if self.path != "/v1/chat/completions":
            body = b'{"detail":"Not Found"}'
            self.send_response(404); self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body); return
        out = b""
        for i, w in enumerate(["alpha beta", " gamma", " delta epsilon"]):
            ev = {"id": "x", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]}
            out += b"data: " + json.dumps(ev).encode() + b"\n\n"
        ev = {"id": "x", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        out += b"data: " + json.dumps(ev).encode() + b"\n\ndata: [DONE]\n\n"
        self.send_response(200); self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(out))); self.end_headers(); self.wfile.write(out)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
e2e_bg timeout 120 python3 "$TMP/responder.py" "$port2"
e2e_wait_http "http://127.0.0.1:$port2/health" 15 404
set +e
timeout 60 "$VEEKSHA" benchmark --config "$TMP/cfg.yml" --client.api_base "http://127.0.0.1:$port2/v1" \
  --client.model m --client.include_usage false --runtime.max_sessions 2 --trace_recorder.enabled false \
  --output_dir "$TMP/out2" --quiet >"$TMP/stdout2.txt" 2>"$TMP/stderr2.txt"
rc=$?
set -e
check "no /tokenize: benchmark exits 0 ($rc)" test "$rc" -eq 0
run2=$(ls -d "$TMP"/out2/*/ | head -1)
check "no /tokenize: summary names the approximation" jq -e '.tokenizer == "approx-words"' "$run2/metrics/summary_stats.json"
check "no /tokenize: announced with both URLs tried" \
  grep -q "not counting with the server's /tokenize (POST http://127.0.0.1:$port2/tokenize: HTTP 404.*POST http://127.0.0.1:$port2/v1/tokenize: HTTP 404" "$TMP/stderr2.txt"
check "no /tokenize: output tokens = the approximation's 5 words" \
  bash -c "jq -s -e 'length >= 4 and all(.[]; .num_output_tokens == 5 and .num_delta_prompt_tokens == 64)' '$run2/metrics/request_level_metrics.jsonl' >/dev/null"

# ---- part 3: a sim counting with the approximation itself: no /tokenize calls ----
e2e_start_sim 0 --mode fixed --ttft-ms 5 --itl-ms 0.2 --emit-log "$TMP/emit3.jsonl" 2>"$TMP/sim3.err"
port3=$E2E_SIM_PORT
sim3=$E2E_SIM_PID
check "sim: /tokenize names its tokenizer" bash -c "curl -s --max-time 5 http://127.0.0.1:$port3/tokenize \
  -d '{\"model\":\"sim-model\",\"prompt\":\"a b c\"}' | jq -e '.count == 3 and .tokenizer == \"approx-words\"' >/dev/null"
set +e
timeout 60 "$VEEKSHA" benchmark --config "$TMP/cfg.yml" --client.api_base "http://127.0.0.1:$port3/v1" \
  --client.model sim-model --runtime.max_sessions 2 --output_dir "$TMP/out3" --quiet >"$TMP/stdout3.txt" 2>"$TMP/stderr3.txt"
rc=$?
set -e
check "same approximation: benchmark exits 0 ($rc)" test "$rc" -eq 0
run3=$(ls -d "$TMP"/out3/*/ | head -1)
check "same approximation: summary names the approximation" jq -e '.tokenizer == "approx-words"' "$run3/metrics/summary_stats.json"
check "same approximation: announced" grep -q "the server counts with the same whitespace-word approximation" "$TMP/stderr3.txt"
kill -TERM "$sim3"; e2e_wait_gone "$sim3" 10
check "same approximation: the server's tokenizer was not used for counting" \
  bash -c "! grep -q \"token counts come from the server's tokenizer\" '$TMP/stderr3.txt'"
e2e_finish
