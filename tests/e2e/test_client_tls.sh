#!/usr/bin/env bash
# TLS trust and client certificates (docs/CLIENT.md, TLS): an https server whose certificate a CA
# made here signed is trusted through client.ca_bundle (file or hashed directory), CURL_CA_BUNDLE or
# SSL_CERT_FILE, and not without them (class tls); a server that requires a client certificate
# accepts client.tls_cert/tls_key; a bundle that cannot be read is a config error (exit 2).
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
if ! command -v openssl >/dev/null; then
  echo "SKIP: the openssl tool is not installed (scripts/install-deps.sh installs it)"
  echo "0 passed, 0 failed"
  exit 0
fi

# A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by the CA.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=veeksha test CA" -keyout ca.key -out ca.pem 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout srv.key -out srv.csr 2>/dev/null
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out srv.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=veeksha client" -keyout cli.key -out cli.csr 2>/dev/null
openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out cli.pem 2>/dev/null
mkdir cadir && cp ca.pem cadir/ && openssl rehash cadir 2>/dev/null || c_rehash cadir >/dev/null

start_tls() { # start_tls [CLIENT_CA] -> sets tls_port
  e2e_bg python3 "$SRC/tests/tools/tls_server.py" srv.pem srv.key "$@" > "tls$#.port"
  for _ in $(seq 1 100); do [ -s "tls$#.port" ] && break; sleep 0.05; done
  tls_port=$(head -1 "tls$#.port")
}
start_tls
plain_port=$tls_port
start_tls ca.pem
mtls_port=$tls_port

cfg() { # cfg NAME PORT [extra client keys]
  cat > "$1.yml" <<YML
client: {type: openai_chat_completions, api_base: "https://127.0.0.1:$2/v1", model: tls-model, request_timeout: 10${3:-}}
traffic_scheduler: {type: concurrent, target_concurrent_sessions: 1, rampup_seconds: 0}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: fixed, value: 8}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: 2}}}
runtime: {max_sessions: 2, benchmark_timeout: 30}
trace_recorder: {enabled: false}
YML
}
run() { # run NAME [env...]: benchmark with no CA variables unless given; sets rc and sum
  local name=$1; shift
  rc=0
  env -u CURL_CA_BUNDLE -u REQUESTS_CA_BUNDLE -u SSL_CERT_FILE -u SSL_CERT_DIR "$@" \
    timeout -k 5 60 "$VEEKSHA" benchmark --config "$name.yml" --output_dir "$TMP/out_$name" --quiet \
    > "$name.out" 2> "$name.err" || rc=$?
  sum=$(ls "$TMP"/out_"$name"/*/metrics/summary_stats.json 2>/dev/null | head -1 || true)
}
jqs() { jq -e "$@" >/dev/null; }
completed() { [ -n "$sum" ] && jqs '."Number of Completed Requests" == 2 and ."Number of Errored Requests" == 0' "$sum"; }

cfg untrusted "$plain_port"
run untrusted
check "no CA configured: the requests fail as tls" jqs '.error_class_freq.tls == 2' "$sum"
check "no CA configured: the message names the certificate problem" grep -qi "certificate" "$(dirname "$sum")/request_level_metrics.jsonl"

cfg bundle_file "$plain_port" ", ca_bundle: $TMP/ca.pem"
run bundle_file
check "client.ca_bundle (file): both requests complete (rc $rc)" completed

cfg bundle_dir "$plain_port" ", ca_bundle: $TMP/cadir"
run bundle_dir
check "client.ca_bundle (hashed directory): both requests complete (rc $rc)" completed

cfg env "$plain_port"
run env CURL_CA_BUNDLE="$TMP/ca.pem"
check "CURL_CA_BUNDLE: both requests complete (rc $rc)" completed
run env SSL_CERT_FILE="$TMP/ca.pem"
check "SSL_CERT_FILE: both requests complete (rc $rc)" completed
run env SSL_CERT_FILE="$TMP/nonexistent.pem"
check "SSL_CERT_FILE that does not exist: exit 2 ($rc)" test "$rc" -eq 2
check "... naming the variable" grep -q "SSL_CERT_FILE (environment): cannot read" env.err

cfg mtls_nocert "$mtls_port" ", ca_bundle: $TMP/ca.pem"
run mtls_nocert
check "mutual TLS without a client certificate: requests fail" jqs '."Number of Errored Requests" == 2' "$sum"
cfg mtls "$mtls_port" ", ca_bundle: $TMP/ca.pem, tls_cert: $TMP/cli.pem, tls_key: $TMP/cli.key"
run mtls
check "mutual TLS with client.tls_cert/tls_key: both requests complete (rc $rc)" completed

cfg missing "$plain_port" ", ca_bundle: $TMP/nope.pem"
run missing
check "unreadable client.ca_bundle: exit 2 ($rc)" test "$rc" -eq 2
check "... naming the key" grep -q "client.ca_bundle: cannot read" missing.err
check "... and no run directory" test -z "$(ls "$TMP/out_missing" 2>/dev/null)"
cfg keyonly "$plain_port" ", tls_key: $TMP/cli.key"
run keyonly
check "tls_key without tls_cert: exit 2 ($rc)" test "$rc" -eq 2
e2e_finish
