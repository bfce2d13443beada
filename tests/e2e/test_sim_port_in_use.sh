#!/usr/bin/env bash
# A port belongs to one sim-server (issue 21 item 9, docs/SIM.md "Port"): a second sim-server on a
# port that a first one (with 2 workers) listens on exits non-zero at once with "port N in use", and
# the first keeps serving every request; a stopped sim's port can be bound again at once (its
# connections in TIME_WAIT do not block it); a managed `server: {type: sim}` on a taken port fails
# clearly without sending a request to the process that holds the port, also when the port is taken
# while its engine is still starting.
source "$(dirname "$0")/lib.sh" "$@"
e2e_start_sim 0 --mode zero --workers 2 --emit-log "$TMP/first.jsonl" 2>"$TMP/first.err"
port=$E2E_SIM_PORT
first=$E2E_SIM_PID
# --port 0 --port-file (what e2e_start_sim 0 uses): the file names the port the sim listens on
check "--port 0: a port was reported ($port)" bash -c "[[ '$port' =~ ^[0-9]+$ ]] && [ '$port' -gt 0 ]"
said_port() { # the line follows the workers' start, so it can come after /health answers: bounded wait
  local i
  for i in $(seq 1 100); do grep -q "listening on 127.0.0.1:$port\$" "$TMP/first.err" && return 0; sleep 0.05; done
  return 1
}
check "--port 0: stderr names the same port" said_port
rc=0; timeout 20 "$VEEKSHA" sim-server --host 127.0.0.1 --port 0 --port-file "$TMP/no/such/dir/port" --mode zero \
  2>"$TMP/pf.err" || rc=$?
check "--port-file that cannot be written: exit 1 (rc $rc)" test "$rc" -eq 1
check "... naming the file" grep -q "cannot write --port-file $TMP/no/such/dir/port" "$TMP/pf.err"

rc=0; timeout 20 "$VEEKSHA" sim-server --host 127.0.0.1 --port "$port" --mode zero 2>"$TMP/second.err" || rc=$?
check "second sim-server on the same port exits 1 (rc $rc)" test "$rc" -eq 1
check "second sim-server says the port is in use" grep -q "port $port in use" "$TMP/second.err"
check "second sim-server never said it listens" bash -c "! grep -q listening '$TMP/second.err'"
# also with several workers of its own (the case that used SO_REUSEPORT on every socket)
rc=0; timeout 20 "$VEEKSHA" sim-server --host 127.0.0.1 --port "$port" --mode zero --workers 3 2>"$TMP/third.err" || rc=$?
check "a 3-worker sim-server on the same port exits 1 too (rc $rc)" test "$rc" -eq 1

# the first still serves every request (with two servers on the port some would go elsewhere)
n_ok=0
for i in $(seq 1 20); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "X-Request-Id: p$i" \
    "http://127.0.0.1:$port/v1/completions" -d '{"prompt":"a b","max_tokens":3}' || true)
  [ "$code" = 200 ] && n_ok=$((n_ok + 1))
done
check "first sim-server answered 20 of 20 ($n_ok)" test "$n_ok" -eq 20
kill -TERM "$first"; e2e_wait_gone "$first" 10 || true
rc=0; wait "$first" || rc=$?
check "first sim-server stops cleanly (rc $rc)" test "$rc" -eq 0
check "first sim-server logged all 20 requests" test "$(wc -l < "$TMP/first.jsonl")" -eq 20

# its workers shared the port among themselves: several concurrent connections all served
e2e_start_sim 0 --mode fixed --ttft-ms 20 --itl-ms 2 --workers 2 2>/dev/null
port=$E2E_SIM_PORT
pids=()
for i in $(seq 1 8); do
  curl -s -o "$TMP/c$i.txt" --max-time 10 "http://127.0.0.1:$port/v1/completions" \
    -d '{"prompt":"a","max_tokens":5,"stream":true}' & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
n_done=$(grep -l 'data: \[DONE\]' "$TMP"/c*.txt | wc -l)
check "2 workers: 8 concurrent streams all complete ($n_done)" test "$n_done" -eq 8
kill -TERM "$E2E_SIM_PID"; e2e_wait_gone "$E2E_SIM_PID" 10 || true

# a port freed by a stopped sim-server can be bound again at once, even while the connections it
# closed (server-side TIME_WAIT) linger: SO_REUSEADDR without SO_REUSEPORT (a reserved port below the
# ephemeral range, so that no outgoing connection can take it between the stop and the restart)
port=$(e2e_free_port)
e2e_start_sim "$port" --mode zero 2>/dev/null
exec 3<>"/dev/tcp/127.0.0.1/$port"   # an idle keep-alive connection the sim closes when it stops
printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' >&3
read -r -t 5 status_line <&3 || true   # answered: the sim has accepted the connection
kill -TERM "$E2E_SIM_PID"; e2e_wait_gone "$E2E_SIM_PID" 10 || true
timeout 5 cat <&3 > /dev/null || true   # read to the sim's FIN (unread data would make ours an RST)
exec 3<&-
# /proc/net/tcp: local address 0100007F:PORT (hex), state 06 = TIME_WAIT
tw_pattern=$(printf '0100007F:%04X [0-9A-F:]* 06 ' "$port")
check "restart: the old connection is in TIME_WAIT on the port" \
  bash -c "for i in \$(seq 1 40); do grep -q '$tw_pattern' /proc/net/tcp && exit 0; sleep 0.05; done; exit 1"
rc=0; e2e_start_sim "$port" --mode zero 2>"$TMP/restart.err" || rc=$?
check "restart on the same port at once: serves (rc $rc)" test "$rc" -eq 0
kill -TERM "$E2E_SIM_PID" 2>/dev/null || true; e2e_wait_gone "$E2E_SIM_PID" 10 || true

# a managed sim server whose port is taken (by another sim-server) fails clearly
e2e_start_sim 0 --mode zero --emit-log "$TMP/holder.jsonl" 2>/dev/null
port=$E2E_SIM_PORT
holder=$E2E_SIM_PID
cat > "$TMP/managed.yml" <<YML
server: {type: sim, model: sim-model, host: 127.0.0.1, port: $port, health_check_interval: 0.1, additional_args: {mode: zero}}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: fixed, value: 4}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: 2}}}
runtime: {max_sessions: 3, benchmark_timeout: 20}
YML
rc=0; timeout 60 "$VEEKSHA" benchmark --config "$TMP/managed.yml" --output_dir "$TMP/managed_out" --quiet \
  >"$TMP/managed.out" 2>"$TMP/managed.err" || rc=$?
check "managed sim on a taken port: exit non-zero, not a signal (rc $rc)" test "$rc" -ne 0 -a "$rc" -lt 124
check "managed sim on a taken port: the message names the port and says in use" \
  grep -Eiq "port $port.*in use|$port.*already in use" "$TMP/managed.err"
check "managed sim on a taken port: no request reached the process holding the port" \
  test ! -s "$TMP/holder.jsonl"
kill -TERM "$holder"; e2e_wait_gone "$holder" 10 || true

# a port taken after the managed server's port check, while its engine is still starting (two runs
# on one port, a slow engine): the process answering /health is not the one veeksha started, so the
# run refuses to measure it instead of benchmarking a server it did not launch
port=$(e2e_free_port)
cat > "$TMP/slow_engine.sh" <<SH
#!/bin/bash
# the managed sim, held back until the test says go (bounded: 20 s)
for i in \$(seq 1 400); do [ -e "$TMP/go" ] && break; sleep 0.05; done
exec "$VEEKSHA" "\$@"
SH
chmod +x "$TMP/slow_engine.sh"
sed "s/port: [0-9]*/port: $port/" "$TMP/managed.yml" > "$TMP/race.yml"
# race NAME [ENV=VALUE]: launches the run with its engine held back, lets another sim take the port,
# then lets the engine go; sets rc, thief (the other sim's pid, still running)
race() {
  local name=$1; shift
  rm -f "$TMP/go"
  e2e_bg env VEEKSHA_SELF_EXE="$TMP/slow_engine.sh" "$@" "$VEEKSHA" benchmark --config "$TMP/race.yml" \
    --output_dir "$TMP/${name}_out" >"$TMP/$name.out" 2>"$TMP/$name.err"
  local racer=$E2E_LAST_PID
  check "$name: the managed server was launched (port check passed)" \
    bash -c "for i in \$(seq 1 200); do grep -q 'started sim server' '$TMP/$name.err' && exit 0; sleep 0.05; done; exit 1"
  e2e_start_sim "$port" --mode zero --model sim-model --emit-log "$TMP/${name}_thief.jsonl" 2>/dev/null
  thief=$E2E_SIM_PID
  rc=0
  for i in $(seq 1 200); do kill -0 "$racer" 2>/dev/null || break; sleep 0.05; done
  touch "$TMP/go"
  wait "$racer" || rc=$?
}
race race
check "race: the run fails (rc $rc)" test "$rc" -ne 0 -a "$rc" -lt 124
check "race: it names the process answering on the port" grep -q "answers, but from pid $thief, which veeksha did not start" "$TMP/race.err"
check "race: no request reached that process" test ! -s "$TMP/race_thief.jsonl"
check "race: no verdict written" bash -c "! ls '$TMP'/race_out/*/metrics/summary_stats.json >/dev/null 2>&1"
kill -TERM "$thief"; e2e_wait_gone "$thief" 10 || true
# the check can be turned off (an engine behind a proxy it does not start): said, and not refused
race nocheck VEEKSHA_SERVER_LISTENER_CHECK=0
check "listener check off: a warning says so" grep -q "VEEKSHA_SERVER_LISTENER_CHECK=0: not checking" "$TMP/nocheck.err"
check "listener check off: the start is not refused" bash -c "! grep -q 'which veeksha did not start' '$TMP/nocheck.err'"
kill -TERM "$thief"; e2e_wait_gone "$thief" 10 || true
e2e_finish
