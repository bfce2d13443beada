#!/usr/bin/env bash
# What the lm-eval bridge's requests look like on the wire and how answers are scored
# (docs/INTEGRATIONS.md), against a small recording server (Python, 127.0.0.1) and the stand-in
# lm_eval: generate_until -> a streamed chat request with the task's generation kwargs (until ->
# stop, max_gen_toks -> max_tokens, temperature) whose text is scored (the server answers every
# question right: exact_match 1); loglikelihood -> a non-streamed completions request with
# echo, logprobs 1, temperature 0, max_tokens 1 whose returned logprobs are scored (the server
# always prefers "yes": acc 0.5 over alternating gold answers).
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
source "$(dirname "$0")/bridge_lib.sh" # $TMP/env (stand-ins), $TMP/bare, mkenv

cat > server.py <<'PY'
import json, re, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
log = open(sys.argv[2], "a")
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        log.write(json.dumps({"path": self.path, "body": body}) + "\n"); log.flush()
        if self.path.endswith("/chat/completions"):
            q = body["messages"][-1]["content"].rsplit("Q: ", 1)[1]
            m = re.match(r"(say|upper) (\S+)", q)
            ans = m.group(2) if m.group(1) == "say" else m.group(2).upper()
            out = "".join("data: %s\n\n" % json.dumps(e) for e in (
                {"choices": [{"index": 0, "delta": {"content": ans}, "finish_reason": None}]},
                {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})) + "data: [DONE]\n\n"
            data, ctype = out.encode(), "text/event-stream"
        else:
            p = body["prompt"]
            toks, offs, o = [], [], 0
            for t in re.findall(r"\s*\S+", p):
                toks.append(t); offs.append(o); o += len(t)
            lp = [-0.5] * len(toks)
            lp[-1] = -1.0 if toks[-1].strip() == "yes" else -2.0
            top = [{t: v} for t, v in zip(toks, lp)]
            toks.append(" ."); offs.append(o); lp.append(-0.1); top.append({" .": -0.1})
            resp = {"choices": [{"index": 0, "text": p + " .", "finish_reason": "length",
                                 "logprobs": {"tokens": toks, "token_logprobs": lp, "top_logprobs": top,
                                              "text_offset": offs}}],
                    "usage": {"prompt_tokens": len(toks) - 1, "completion_tokens": 1}}
            data, ctype = json.dumps(resp).encode(), "application/json"
        self.send_response(200); self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data))); self.end_headers(); self.wfile.write(data)
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
port=$(e2e_free_port)
e2e_bg python3 server.py "$port" "$TMP/requests.jsonl"
e2e_wait_http "http://127.0.0.1:$port/health" 10

cat > cfg.yml <<YML
client: {type: openai_router, api_base: "http://127.0.0.1:$port/v1", model: m}
traffic_scheduler: {type: rate, interval_generator: {type: fixed, interval: 0.01}}
session_generator: {type: lmeval, tasks: [standin_echo, standin_choice], num_fewshot: 0, env_path: "$TMP/env"}
evaluators: [{type: performance}, {type: accuracy_lmeval, bootstrap_iters: 10}]
runtime: {max_sessions: 8, benchmark_timeout: 60}
YML
rc=0; "$VEEKSHA" benchmark --config cfg.yml --output_dir "$TMP/out" > run.out 2> run.err || rc=$?
check "exit 0" test "$rc" = 0
[ "$rc" = 0 ] || cat run.err
run=$(ls -d "$TMP/out"/*/ | head -1)
check "the requests as lm-eval asks for them" python3 - "$TMP/requests.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
chat = [r["body"] for r in rows if r["path"].endswith("/chat/completions")]
comp = [r["body"] for r in rows if r["path"] == "/v1/completions"]
assert len(chat) == 4 and len(comp) == 8, (len(chat), len(comp))
for b in chat:
    assert b["stream"] is True and b["stop"] == ["\n\n"] and b["temperature"] == 0.0, b
    assert b.get("max_tokens") == 12 or b.get("max_completion_tokens") == 12, b
for b in comp:
    assert b["stream"] is False and b["echo"] is True and b["logprobs"] == 1, b
    assert b["temperature"] == 0 and b["max_tokens"] == 1 and "stream_options" not in b, b
    assert b["prompt"].endswith(" yes") or b["prompt"].endswith(" no"), b
PY
check "scores from the answers and the logprobs" python3 - "$run" <<'PY'
import json, sys
r = json.load(open(sys.argv[1] + "/metrics/lmeval_results.json"))
assert r["results"]["standin_echo"]["exact_match,none"] == 1.0, r["results"]
assert r["results"]["standin_choice"]["acc,none"] == 0.5, r["results"]
assert r["n-samples"]["standin_choice"]["effective"] == 4, r["n-samples"]
PY
e2e_finish
