#!/usr/bin/env bash
# The server-metrics scrape during a benchmark (docs/OBSERVABILITY.md):
#  1. against the sim in roofline mode at a load that queues (8 concurrent sessions, 4 batch slots,
#     a small KV cache): server_summary.json shows waiting > 0 and the KV usage rising; the
#     reconciliation has client output tokens = the server's generation-token delta, completed
#     requests = request-success delta, and TTFC p50 - TTFT p50 small (bound generous for a busy
#     2-core VM: 20 ms; the loopback figure is measured in bench/, scenario scrape);
#  2. against a stub endpoint serving recorded vLLM V1, V0 and SGLang pages: every mapped key is read;
#  3. a refused endpoint: one warning, the run succeeds; 4. server_metrics.enabled: false: no files.
source "$(dirname "$0")/lib.sh" "$@"
latest() { ls -td "$1"/*/ | head -1; }

e2e_start_sim 0 --max-num-seqs 4 --kv-capacity-tokens 600 2>/dev/null
port=$E2E_SIM_PORT
e2e_single_cfg "$TMP/q.yml" "$port" \
  "traffic={type: concurrent, target_concurrent_sessions: 8, rampup_seconds: 0}" prompt=100 output=16 sessions=64
echo "server_metrics: {interval_s: 0.2}" >>"$TMP/q.yml"
rc=0
"$VEEKSHA" benchmark --config "$TMP/q.yml" --output_dir "$TMP/q" >"$TMP/q.out" 2>"$TMP/q.err" || rc=$?
check "queued run: exit 0 (rc=$rc)" [ "$rc" = 0 ]
run=$(latest "$TMP/q")
js="$run/metrics/server_summary.json"
check "server_summary.json written" test -s "$js"
check "server_metrics.csv written, long form" bash -c "head -1 '$run/metrics/server_metrics.csv' | grep -qx 't_s,name,labels,value'"
check "csv has the waiting gauge over time" bash -c "[ \$(grep -c '^[0-9.]*,vllm:num_requests_waiting,' '$run/metrics/server_metrics.csv') -ge 3 ]"
jqe() { jq -e "$2" "$1" >/dev/null; }
check "several scrapes, none failed" jqe "$js" '.scrapes_ok >= 3 and .scrapes_failed == 0 and .engine == "vllm"'
check "requests waited (waiting max > 0)" jqe "$js" '.metrics.waiting.max > 0'
check "batch capped at 4 (running max <= 4)" jqe "$js" '.metrics.running.max <= 4 and .metrics.running.max > 0'
check "KV usage rose (max > first)" jqe "$js" '.metrics.kv_cache_usage.max > .metrics.kv_cache_usage.first'
check "tokens: client = server generation delta" \
  jqe "$js" '.reconciliation.output_tokens.client == 1024 and .reconciliation.output_tokens.server == 1024 and .reconciliation.output_tokens.flag == false'
check "requests: client = server success delta" \
  jqe "$js" '.reconciliation.completed_requests.client == 64 and .reconciliation.completed_requests.server == 64'
check "histogram counts cover the run" jqe "$js" '.metrics.ttft.count == 64 and .metrics.e2e.count == 64 and .metrics.queue_time.count == 64 and .metrics.itl.count == 64 * 15'
d=$(jq '.reconciliation.ttfc_p50_s.difference_s' "$js")
echo "TTFC p50 - TTFT p50 = $d s"
check "TTFC p50 - TTFT p50 within [-2 ms, 20 ms] ($d s)" jqe "$js" '.reconciliation.ttfc_p50_s.difference_s > -0.002 and .reconciliation.ttfc_p50_s.difference_s < 0.020'
check "console prints the reconciliation after the summary" grep -q "^Reconciliation (client vs server)" "$TMP/q.out"
check "no warning from the scrape" bash -c "! grep -q server_metrics '$TMP/q.err'"

# 2. recorded pages from a stub endpoint (python's static file server: GET /metrics = the page)
sport=$(e2e_free_port)
mkdir -p "$TMP/stub"
e2e_bg python3 -m http.server --bind 127.0.0.1 --directory "$TMP/stub" "$sport" 2>/dev/null
e2e_single_cfg "$TMP/s.yml" "$port" sessions=4
echo "server_metrics: {interval_s: 0.2, url: \"http://127.0.0.1:$sport/metrics\"}" >>"$TMP/s.yml"
for page in vllm_v1:'["prefix_cache_hit_rate_gauge"]' vllm_v0:'["prefix_cache_hits","prefix_cache_queries"]' sglang:'[]'; do
  name=${page%%:*}; missing=${page#*:}
  cp "$SRC/tests/data/prometheus/${name}_b.txt" "$TMP/stub/metrics"
  e2e_wait_http "http://127.0.0.1:$sport/metrics" 10
  rc=0
  "$VEEKSHA" benchmark --config "$TMP/s.yml" --output_dir "$TMP/s_$name" >/dev/null 2>"$TMP/s_$name.err" || rc=$?
  r=$(latest "$TMP/s_$name")
  check "$name: exit 0 (rc=$rc)" [ "$rc" = 0 ]
  check "$name: every mapped key read (missing: only $missing)" \
    jqe "$r/metrics/server_summary.json" "(.missing | sort) == ($missing | sort) and .scrapes_failed == 0"
  check "$name: gauges read" jqe "$r/metrics/server_summary.json" '.metrics.running.max > 0 and .metrics.waiting.max > 0 and .metrics.kv_cache_usage.max > 0.5'
  check "$name: histograms read (no increase on a static page)" jqe "$r/metrics/server_summary.json" '.metrics.ttft.count == 0 and .metrics.e2e.count == 0 and .metrics.itl.count == 0'
  check "$name: csv only prefixed names" bash -c "! cut -d, -f2 '$r/metrics/server_metrics.csv' | tail -n +2 | grep -qv -e '^vllm:' -e '^sglang:'"
done

# 3. nothing listens there: one warning, a normal run
dead=$(e2e_free_port)
e2e_single_cfg "$TMP/d.yml" "$port" sessions=4
echo "server_metrics: {interval_s: 0.1, url: \"http://127.0.0.1:$dead/metrics\"}" >>"$TMP/d.yml"
rc=0
"$VEEKSHA" benchmark --config "$TMP/d.yml" --output_dir "$TMP/d" >/dev/null 2>"$TMP/d.err" || rc=$?
check "refused endpoint: exit 0 (rc=$rc)" [ "$rc" = 0 ]
check "refused endpoint: exactly one warning" [ "$(grep -c 'server_metrics: GET' "$TMP/d.err")" = 1 ]
r=$(latest "$TMP/d")
check "refused endpoint: summary says so" jqe "$r/metrics/server_summary.json" '.scrapes_ok == 0 and .scrapes_failed >= 2 and .first_error != null'
check "refused endpoint: client metrics intact" jqe "$r/metrics/summary_stats.json" '."Number of Completed Requests" == 4'

# 4. off
e2e_single_cfg "$TMP/o.yml" "$port" sessions=2
echo "server_metrics: {enabled: false}" >>"$TMP/o.yml"
"$VEEKSHA" benchmark --config "$TMP/o.yml" --output_dir "$TMP/o" >/dev/null 2>&1
r=$(latest "$TMP/o")
check "disabled: no server files" bash -c "[ ! -e '$r/metrics/server_summary.json' ] && [ ! -e '$r/metrics/server_metrics.csv' ]"
check "bad interval is a config error" bash -c "'$VEEKSHA' config show --server-metrics-interval-s 0 >/dev/null 2>&1; [ \$? = 2 ]"
e2e_finish
