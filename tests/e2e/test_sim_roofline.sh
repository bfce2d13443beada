#!/usr/bin/env bash
# Roofline engine, live: with a KV cache of 400 tokens, 6 requests of 100 + 60 tokens queue for
# memory (visible in /metrics and in TTFT) and all complete; long prompts take longer to the
# first token.
source "$(dirname "$0")/lib.sh" "$@"

port=$(e2e_free_port)
e2e_start_sim "$port" --preset llama3-8b-h100 --max-num-seqs 8 --kv-capacity-tokens 400 \
  --emit-log "$TMP/emit.jsonl" 2>/dev/null
s=$E2E_SIM_PID
base="http://127.0.0.1:$port"
words() { python3 -c "print(' '.join(['w']*$1))"; }
p100=$(words 100)
# one process fires all 6 requests at once (separate curl processes may start too far apart on a
# busy machine for any queue to form)
python3 - "$port" "$TMP" "$p100" <<'PY' &
import http.client, json, sys, threading
port, tmp, prompt = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = json.dumps({"prompt": prompt, "max_tokens": 60, "ignore_eos": True, "stream": True,
                   "stream_options": {"include_usage": True}})
def one(i):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/v1/completions", body, {"X-Request-Id": "q%d" % i, "Content-Type": "application/json"})
    data = c.getresponse().read()
    open("%s/q%d.txt" % (tmp, i), "wb").write(data)
ts = [threading.Thread(target=one, args=(i,)) for i in range(1, 7)]
for t in ts: t.start()
for t in ts: t.join()
PY
maxwait=0; maxkv=0; maxrun=0
for _ in $(seq 1 100); do
  m=$(curl -s "$base/metrics")
  w=$(awk '/^vllm:num_requests_waiting/{print $2}' <<<"$m"); [ "$w" -gt "$maxwait" ] && maxwait=$w
  r=$(awk '/^vllm:num_requests_running/{print $2}' <<<"$m"); [ "$r" -gt "$maxrun" ] && maxrun=$r
  kv=$(awk '/^vllm:kv_cache_usage_perc/{print $2}' <<<"$m"); maxkv=$(awk -v a="$maxkv" -v b="$kv" 'BEGIN{print (b>a)?b:a}')
  [ "$(ls "$TMP"/q*.txt 2>/dev/null | xargs grep -l DONE 2>/dev/null | wc -l)" = 6 ] && break
  sleep 0.02
done
for j in $(jobs -p); do [ "$j" = "$s" ] || wait "$j" || true; done
check "requests waited ($maxwait waiting at most)" [ "$maxwait" -ge 1 ]
check "for KV, not batch slots: at most $maxrun of max_num_seqs 8 running" [ "$maxrun" -ge 1 -a "$maxrun" -lt 6 ]
check "KV usage reported ($maxkv)" python3 -c "import sys; sys.exit(0 if 0 < $maxkv <= 1 else 1)"
ndone=$(grep -l 'data: \[DONE\]' "$TMP"/q*.txt | wc -l)
check "all 6 completed (KV exhaustion queues, never fails) ($ndone)" [ "$ndone" = 6 ]
check "every usage says 60 tokens" bash -c "for f in $TMP/q*.txt; do grep '^data: {' \$f | tail -1 | sed 's/^data: //' | jq -e '.usage.completion_tokens==60' >/dev/null || exit 1; done"
kill -TERM "$s"; e2e_wait_gone "$s" 10
t1=$(jq -s 'map(.chunk_mono_ns[0]-.arrival_mono_ns) | min' "$TMP/emit.jsonl")
t6=$(jq -s 'map(.chunk_mono_ns[0]-.arrival_mono_ns) | max' "$TMP/emit.jsonl")
check "queued requests have longer TTFTs (min $t1 ns, max $t6 ns)" [ "$t6" -gt $((t1 * 2)) ]

# TTFT grows with prompt length (alone on the engine)
e2e_start_sim 0 --preset llama3-8b-h100 --emit-log "$TMP/len.jsonl" 2>/dev/null; s=$E2E_SIM_PID
port=$E2E_SIM_PORT
for n in 10 2000 6000; do
  words "$n" >"$TMP/p.txt"
  jq -n --rawfile p "$TMP/p.txt" '{prompt:$p, max_tokens:2, ignore_eos:true, stream:true}' \
    | curl -s -N -H "X-Request-Id: len$n" "http://127.0.0.1:$port/v1/completions" -d @- -o /dev/null
done
kill -TERM "$s"; e2e_wait_gone "$s" 10
a=$(jq -s 'map(select(.request_id=="len10"))[0] | .chunk_mono_ns[0]-.arrival_mono_ns' "$TMP/len.jsonl")
b=$(jq -s 'map(select(.request_id=="len2000"))[0] | .chunk_mono_ns[0]-.arrival_mono_ns' "$TMP/len.jsonl")
c=$(jq -s 'map(select(.request_id=="len6000"))[0] | .chunk_mono_ns[0]-.arrival_mono_ns' "$TMP/len.jsonl")
check "TTFT 10 < 2000 < 6000 prompt tokens ($a < $b < $c ns)" [ "$a" -lt "$b" -a "$b" -lt "$c" ]
check "6000-token prefill takes > 150 ms ($c ns)" [ "$c" -gt 150000000 ]
e2e_finish
