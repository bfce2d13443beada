#!/usr/bin/env python3
"""A small https server for the client's TLS tests (tests/e2e/test_client_tls.sh): answers every
POST with a short OpenAI-style SSE stream, 404 otherwise. Prints its port on stdout once listening.

usage: tls_server.py CERT KEY [CLIENT_CA]   (CLIENT_CA: require a client certificate signed by it)
"""
import http.server
import json
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):
        self.send_error(404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for i, finish in ((0, None), (1, "length")):
            ev = {"id": "t", "object": "chat.completion.chunk",
                  "choices": [{"index": 0, "delta": {"content": "word%d " % i}, "finish_reason": finish}]}
            self.wfile.write(b"data: " + json.dumps(ev).encode() + b"\n\n")
        usage = {"id": "t", "object": "chat.completion.chunk", "choices": [],
                 "usage": {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10}}
        self.wfile.write(b"data: " + json.dumps(usage).encode() + b"\n\ndata: [DONE]\n\n")
        self.wfile.flush()


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    if len(sys.argv) > 3:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(sys.argv[3])
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
