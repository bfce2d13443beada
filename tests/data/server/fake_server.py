"""Minimal stand-in engine for server lifecycle tests: GET /health and GET /v1/models only.

Accepts the flags of vLLM (--model), SGLang (--model-path) and Vajra; ignores the rest.
--mode: ok | unhealthy | stubborn | fork (see fake_env/bin/python).
"""
import argparse
import http.server
import json
import signal
import sys

p = argparse.ArgumentParser()
p.add_argument("--model")
p.add_argument("--model-path")
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, default=8000)
p.add_argument("--api-key", default="")
p.add_argument("--mode", default="ok")
args, _rest = p.parse_known_args()
model = args.model or args.model_path


class H(http.server.BaseHTTPRequestHandler):
    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            self._send(503 if args.mode == "unhealthy" else 200, {})
        elif self.path == "/v1/models":
            if args.api_key and self.headers.get("Authorization") != "Bearer " + args.api_key:
                self._send(401, {"error": "bad key"})
            else:
                self._send(200, {"object": "list", "data": [{"id": model, "object": "model"}]})
        else:
            self._send(404, {})

    def log_message(self, fmt, *a):
        sys.stderr.write("fake_server: " + (fmt % a) + "\n")


if args.mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
srv = http.server.HTTPServer((args.host, args.port), H)
sys.stderr.write("fake_server: listening on %s:%d model=%s\n" % (args.host, args.port, model))
sys.stderr.flush()
srv.serve_forever()
