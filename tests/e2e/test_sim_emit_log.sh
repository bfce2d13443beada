#!/usr/bin/env bash
# --emit-log ground truth: one JSONL line per request keyed by X-Request-Id, with monotonic and
# realtime stamps of arrival, first byte and every chunk; fixed-mode schedule; roofline ITL;
# several workers; determinism of natural lengths for a seed.
source "$(dirname "$0")/lib.sh" "$@"

e2e_start_sim 0 --mode fixed --ttft-ms 50 --itl-ms 10 --workers 2 --emit-log "$TMP/emit.jsonl" 2>/dev/null
port=$E2E_SIM_PORT
s=$E2E_SIM_PID
for i in $(seq 1 16); do
  curl -s -N -H "X-Request-Id: req-$i" "http://127.0.0.1:$port/v1/chat/completions" \
    -d '{"messages":[{"role":"user","content":"p q r"}],"stream":true,"ignore_eos":true,"max_tokens":30,"stream_options":{"include_usage":true}}' \
    -o "$TMP/out$i.txt" &
done
wait_clients() { local j; for j in $(jobs -p); do [ "$j" = "$s" ] || wait "$j" || true; done; }
wait_clients
kill -TERM "$s"; e2e_wait_gone "$s" 10; wait "$s" || true

check "16 log lines" [ "$(wc -l <"$TMP/emit.jsonl")" = 16 ]
check "request ids from the header" [ "$(jq -r .request_id "$TMP/emit.jsonl" | sort -V | tr '\n' ' ')" = "$(printf 'req-%d ' $(seq 1 16))" ]
check "30 chunks each" bash -c "jq -e '(.chunk_mono_ns|length)==30 and (.chunk_real_ns|length)==30 and (.chunk_tokens|add)==30' '$TMP/emit.jsonl' | grep -vq false"
check "status 200, finish length, usage 30" bash -c "jq -e '.status==200 and .finish_reason==\"length\" and .completion_tokens==30 and .prompt_tokens==3' '$TMP/emit.jsonl' | grep -vq false"
check "arrival <= first byte <= first chunk; chunks increasing" bash -c "jq -e '.arrival_mono_ns <= .first_byte_mono_ns and .first_byte_mono_ns <= .chunk_mono_ns[0] and ([.chunk_mono_ns as \$t | range(1; \$t|length) | \$t[.] > \$t[.-1]] | all)' '$TMP/emit.jsonl' | grep -vq false"
# TTFT ~ 50 ms, chunks on the 10 ms grid (loose bounds: CI machines are shared)
check "TTFT within [50, 60) ms" bash -c "jq -e '(.chunk_mono_ns[0]-.arrival_mono_ns) >= 50000000 and (.chunk_mono_ns[0]-.arrival_mono_ns) < 60000000' '$TMP/emit.jsonl' | grep -vq false"
check "schedule = arrival + 50 ms + i*10 ms" bash -c "jq -e '. as \$r | [range(0;30) | \$r.chunk_sched_mono_ns[.] == \$r.arrival_mono_ns + 50000000 + . * 10000000] | all' '$TMP/emit.jsonl' | grep -vq false"
# (the strict 1 ms p99 figure is a bench on a quiet machine, bench/sim/; here only the median and a
# bound that survives a loaded CI box)
lat=$(jq -s '[.[] | . as $r | range(0;30) | $r.chunk_mono_ns[.] - $r.chunk_sched_mono_ns[.]] | sort | .[(length*0.5|floor)]' "$TMP/emit.jsonl")
check "median emit lateness in [0, 5) ms ($lat ns)" [ "$lat" -ge 0 -a "$lat" -lt 5000000 ]
lmin=$(jq -s '[.[] | . as $r | range(0;30) | $r.chunk_mono_ns[.] - $r.chunk_sched_mono_ns[.]] | min' "$TMP/emit.jsonl")
check "never early ($lmin ns)" [ "$lmin" -ge 0 ]
check "realtime stamps consistent with monotonic" bash -c "jq -e '((.chunk_real_ns[-1]-.chunk_real_ns[0]) - (.chunk_mono_ns[-1]-.chunk_mono_ns[0])) | fabs < 5000000' '$TMP/emit.jsonl' | grep -vq false"
check "client got the same number of content chunks" [ "$(grep -c '"content"' "$TMP/out1.txt")" = 30 ]

# roofline: 8B on H100 decodes at ~7.5 ms per token alone
e2e_start_sim 0 --preset llama3-8b-h100 --emit-log "$TMP/roof.jsonl" 2>/dev/null; s=$E2E_SIM_PID
port=$E2E_SIM_PORT
curl -s -N -H "X-Request-Id: roof-1" "http://127.0.0.1:$port/v1/chat/completions" \
  -d '{"messages":[{"role":"user","content":"p q r"}],"stream":true,"ignore_eos":true,"max_tokens":40}' -o /dev/null
kill -TERM "$s"; e2e_wait_gone "$s" 10; wait "$s" || true
# The model's ITL is the schedule (engine steps chain on a virtual timeline); how late the chunks
# left is checked as above, by the median, so a loaded CI box (or ASan) cannot fail the model check.
itl=$(jq '(.chunk_sched_mono_ns[-1]-.chunk_sched_mono_ns[0])/39' "$TMP/roof.jsonl")
check "roofline ITL (schedule) in [6.5, 9] ms ($itl ns)" bash -c "jq -e '((.chunk_sched_mono_ns[-1]-.chunk_sched_mono_ns[0])/39) as \$i | \$i > 6500000 and \$i < 9000000' '$TMP/roof.jsonl' >/dev/null"
rlat=$(jq '[. as $r | range(0;40) | $r.chunk_mono_ns[.] - $r.chunk_sched_mono_ns[.]] | sort | .[20]' "$TMP/roof.jsonl")
check "roofline chunks: median lateness in [0, 5) ms ($rlat ns)" [ "$rlat" -ge 0 -a "$rlat" -lt 5000000 ]

# natural lengths: deterministic for (seed, request id), different for another seed
lens() { # seed
  local p; p=$(e2e_free_port)
  e2e_start_sim "$p" --mode zero --seed "$1" 2>/dev/null
  local pid=$E2E_SIM_PID i out=""
  for i in $(seq 1 8); do
    out+=$(curl -s -H "X-Request-Id: n$i" "http://127.0.0.1:$p/v1/completions" -d '{"prompt":"a"}' | jq -r '.usage.completion_tokens')" "
  done
  kill -TERM "$pid"; e2e_wait_gone "$pid" 10
  echo "$out"
}
a=$(lens 11); b=$(lens 11); c=$(lens 12)
check "same seed -> same natural lengths ($a)" [ "$a" = "$b" ]
check "other seed -> different lengths ($c)" [ "$a" != "$c" ]
e2e_finish
