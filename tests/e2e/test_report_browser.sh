#!/usr/bin/env bash
# report.html in a real browser (docs/OUTPUTS.md, report.html): a benchmark against the sim (10% of
# requests fail, so the errors section has rows) writes metrics/report.html; headless Chromium loads
# it from file:// and must log no console message (errors, CSP violations) and the page must make no
# request of its own (Chromium's net log: no URL request from the page's resource loader), its DOM
# must hold every section and the charts; a screenshot is kept under the test's output directory.
# A control page with one console.error and one <img src=http://127.0.0.1:...> proves that both
# checks see what they look for. Why the net log rather than the DevTools protocol: it records every
# request the browser makes, needs no client code, and works with --dump-dom in one process.
# Chromium is Debian's `chromium` (scripts/install-deps.sh); without it the test is skipped (77).
# Also: --no-report writes no report.html; a sweep writes its own page.
source "$(dirname "$0")/lib.sh" "$@"

CHROME=""
for c in chromium chromium-browser google-chrome; do
  if command -v "$c" >/dev/null 2>&1; then CHROME=$(command -v "$c"); break; fi
done
if [ -z "$CHROME" ]; then
  echo "SKIP: no chromium on PATH (Debian package chromium; scripts/install-deps.sh installs it)"
  exit 77
fi

# the screenshot stays after the test (TMP does not): under the build tree's test directory
SHOT_DIR=${VK_TEST_OUTPUT_DIR:-$PWD/test_output}/report_browser
mkdir -p "$SHOT_DIR"

e2e_start_sim 0 --fail-rate 0.1 --seed 5 --mode fixed --ttft-ms 5 --itl-ms 1
port=$E2E_SIM_PORT
cat > "$TMP/cfg.yml" <<YML
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
traffic_scheduler: {type: concurrent, target_concurrent_sessions: 4, rampup_seconds: 0, cancel_session_on_failure: false}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: uniform, min: 20, max: 400}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: 8}}}
runtime: {max_sessions: 80, benchmark_timeout: 60}
evaluators:
  - type: performance
    slos: [{type: constant, name: "P99 TTFC <&>", metric: ttfc, percentile: 0.99, value: 0.5}]
YML
rc=0
"$VEEKSHA" benchmark --config "$TMP/cfg.yml" --output_dir "$TMP/out" > "$TMP/run.out" 2> "$TMP/run.err" || rc=$?
check "benchmark exits 0 (rc $rc)" [ "$rc" = 0 ]
run=$(find "$TMP/out" -mindepth 1 -maxdepth 1 -type d | head -n 1)
report="$run/metrics/report.html"
check "metrics/report.html written" [ -s "$report" ]
check "the run's last line names the report" bash -c "tail -n 1 '$TMP/run.out' | grep -qx 'report: $run/metrics/report.html'"

# Chromium that cannot reach anything but 127.0.0.1: every host name resolves to nothing, so its own
# background requests (update checks) never leave the machine; a private profile in TMP.
chrome() {
  timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --disable-default-apps --disable-extensions --no-pings \
    --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" --user-data-dir="$TMP/profile" \
    --enable-logging=stderr --v=0 "$@"
}
# Requests the page itself made: URL requests of Blink's resource loader (network traffic
# annotation 101845102) in a net log, one URL per line.
page_requests() {
  python3 - "$1" <<'EOF'
import re, sys
text = open(sys.argv[1], errors="replace").read()
for obj in re.findall(r'\{[^{}]*"url":"[^"]*"[^{}]*\}', text):
    if '"traffic_annotation":101845102' in obj:
        print(re.search(r'"url":"([^"]*)"', obj).group(1))
EOF
}
console_lines() { grep -E ':CONSOLE[:(]' "$1" || true; }
has_request() { page_requests "$1" | grep -qF "$2"; }
clean_page() { [ -z "$(console_lines "$1")" ] && [ -z "$(page_requests "$2")" ]; }

# ---- the control page: both checks must see its error and its request ----
cat > "$TMP/control.html" <<EOF
<!DOCTYPE html><html><body><p>control</p><img src="http://127.0.0.1:$port/health">
<script>console.error("vk-control-error")</script></body></html>
EOF
chrome --log-net-log="$TMP/control.netlog" --dump-dom "file://$TMP/control.html" > "$TMP/control.dom" 2> "$TMP/control.err" || true
check "control: the console check sees console.error" grep -q "vk-control-error" "$TMP/control.err"
check "control: the request check sees the page's request to 127.0.0.1:$port" \
  has_request "$TMP/control.netlog" "http://127.0.0.1:$port/health"

# ---- the report ----
rc=0
chrome --log-net-log="$TMP/report.netlog" --dump-dom "file://$report" > "$TMP/report.dom" 2> "$TMP/report.err" || rc=$?
check "chromium rendered the report (rc $rc)" [ "$rc" = 0 ]
check "no console message (errors, CSP violations): $(console_lines "$TMP/report.err" | head -n 3)" \
  test -z "$(console_lines "$TMP/report.err")"
check "the page made no request: $(page_requests "$TMP/report.netlog" | head -n 3)" \
  test -z "$(page_requests "$TMP/report.netlog")"
for id in summary slos errors cdfs by-length timeseries server-metrics provenance; do
  check "the rendered DOM has section #$id" grep -q "<section id=\"$id\">" "$TMP/report.dom"
done
check "the DOM holds the charts (>= 12 svg)" test "$(grep -o '<svg' "$TMP/report.dom" | wc -l)" -ge 12
check "errors by class: http (the sim's 500s)" grep -q '<th>http</th>' "$TMP/report.dom"
check "the SLO's name is escaped" grep -q 'P99 TTFC &lt;&amp;&gt;' "$TMP/report.dom"
# offline by construction, too: no http(s) address in any src/href of the file
check "no http(s) src/href in report.html" bash -c "! grep -Eqi '(src|href)=[\"'\"'\"']?(https?:)?//' '$report'"
rc=0
chrome --hide-scrollbars --window-size=1400,2400 --screenshot="$SHOT_DIR/report.png" "file://$report" \
  > /dev/null 2> "$TMP/shot.err" || rc=$?
check "screenshot saved to $SHOT_DIR/report.png (rc $rc)" [ -s "$SHOT_DIR/report.png" ]
check "PNG signature" bash -c "head -c 8 '$SHOT_DIR/report.png' | od -An -tx1 | tr -d ' \n' | grep -qx 89504e470d0a1a0a"

# ---- --no-report ----
rc=0
"$VEEKSHA" benchmark --config "$TMP/cfg.yml" --output_dir "$TMP/out2" --quiet --no-report > /dev/null 2>&1 || rc=$?
run2=$(find "$TMP/out2" -mindepth 1 -maxdepth 1 -type d | head -n 1)
check "--no-report: exit 0 (rc $rc), summary written, no report.html" \
  bash -c "[ $rc = 0 ] && [ -s '$run2/metrics/summary_stats.json' ] && [ ! -e '$run2/metrics/report.html' ]"
rc=0
"$VEEKSHA" benchmark --config "$TMP/cfg.yml" --no-report=1 > "$TMP/bad.out" 2>&1 || rc=$?
check "--no-report=1: usage error (exit 2, rc $rc)" bash -c "[ $rc = 2 ] && grep -q 'takes no value' '$TMP/bad.out'"

# ---- a sweep's page, rendered too ----
sed -e 's/max_sessions: 80/max_sessions: !expand [20, 40]/' "$TMP/cfg.yml" > "$TMP/sweep.yml"
rc=0
"$VEEKSHA" benchmark --config "$TMP/sweep.yml" --output_dir "$TMP/sw" --quiet > "$TMP/sw.out" 2>&1 || rc=$?
sweep=$(sed -n 's/^sweep directory: //p' "$TMP/sw.out")
check "sweep: exit 0 and report.html (rc $rc)" bash -c "[ $rc = 0 ] && [ -s '$sweep/report.html' ]"
rc=0
chrome --log-net-log="$TMP/sweep.netlog" --dump-dom "file://$sweep/report.html" > "$TMP/sweep.dom" 2> "$TMP/sweep.err" || rc=$?
check "sweep page rendered (rc $rc), no console message, no request" clean_page "$TMP/sweep.err" "$TMP/sweep.netlog"
check "sweep page: 2 runs against max sessions, each linked" \
  bash -c "grep -q '2 runs against max sessions' '$TMP/sweep.dom' && [ \$(grep -o 'metrics/report.html\">#' '$TMP/sweep.dom' | wc -l) = 2 ]"
chrome --hide-scrollbars --window-size=1400,1500 --screenshot="$SHOT_DIR/sweep_report.png" "file://$sweep/report.html" \
  > /dev/null 2>&1 || true
check "sweep screenshot saved" [ -s "$SHOT_DIR/sweep_report.png" ]
e2e_finish
