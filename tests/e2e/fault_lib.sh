# Shared by test_fault_suite.sh (source after lib.sh): run a small benchmark against a misbehaving
# server and check what every run must get right (docs/FAILURES.md):
#   fault_run NAME API_BASE [extra YAML lines for the client section...]   sets $run_rc $run_dir
#   fault_check NAME EXPECT_RC CLASSES   CLASSES: "none" (every request succeeds), or
#     "c1|c2" (at least one request errored; every failed row has one of these classes), or
#     "any:c1|c2" (requests may succeed; failed rows, if any, have one of these classes)
# Each run has 3 single-request sessions, 2 at a time, 8 prompt / 4 output tokens, --fail-on-slo.
# Environment knobs: FAULT_MODEL, FAULT_REQUEST_TIMEOUT (2 s), FAULT_SESSIONS (3), FAULT_EVALUATORS
# (an `evaluators:` YAML line; default: the built-in SLOs and max_error_rate 0).

# fault_server binary: from CTest (VK_FAULT_SERVER), else next to the build, else compiled here.
fault_server_bin() {
  local fs=${VK_FAULT_SERVER:-$(dirname "$VEEKSHA")/tests/tools/fault_server}
  if [ ! -x "$fs" ]; then
    fs="$TMP/fault_server"
    cc -O1 -o "$fs" "$SRC/tests/tools/fault_server.c" || return 1
  fi
  echo "$fs"
}

# fault_run NAME API_BASE [client YAML lines...]
fault_run() {
  local name=$1 api=$2; shift 2
  local extra="" line
  for line in "$@"; do extra+="  $line"$'\n'; done
  cat > "$TMP/$name.yml" <<YML
client:
  type: openai_chat_completions
  api_base: "$api"
  model: ${FAULT_MODEL:-fault-model}
  request_timeout: ${FAULT_REQUEST_TIMEOUT:-2}
$extra
traffic_scheduler: {type: concurrent, target_concurrent_sessions: 2, rampup_seconds: 0, cancel_session_on_failure: false}
session_generator:
  type: synthetic
  session_graph: {type: single_request}
  channels: [{type: text, body_length_generator: {type: fixed, value: 8}}]
  output_spec: {text: {output_length_generator: {type: fixed, value: 4}}}
runtime: {max_sessions: ${FAULT_SESSIONS:-3}, benchmark_timeout: 30}
${FAULT_EVALUATORS:-}
YML
  local t0=$(date +%s%N)
  run_rc=0
  timeout -k 5 60 "$VEEKSHA" benchmark --config "$TMP/$name.yml" --output_dir "$TMP/out-$name" --fail-on-slo \
    > "$TMP/$name.out" 2> "$TMP/$name.err" || run_rc=$?
  echo "# $name: exit $run_rc in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
  run_dir=$(ls -d "$TMP/out-$name"/*/ 2>/dev/null | head -1 || true)
}

fault_check() {
  local name=$1 want_rc=$2 classes=$3
  if [ "$run_rc" -ge 124 ]; then
    fail "$name: no crash, no hang (exit $run_rc)"; tail -5 "$TMP/$name.err"
  fi
  check "$name: exit $want_rc (got $run_rc)" test "$run_rc" -eq "$want_rc"
  [ "$run_rc" -eq "$want_rc" ] || tail -3 "$TMP/$name.err"
  if [ -z "$run_dir" ]; then fail "$name: run directory written"; return; fi
  python3 - "$run_dir" "$name" "$classes" "$TMP/$name.out" > "$TMP/$name.check" <<'PY' || true
import json, math, os, sys
run, name, classes, console = sys.argv[1:5]
def res(ok, what):
    print(("ok - " if ok else "FAIL - ") + name + ": " + what)
# every JSON file parses, every JSONL line parses (no torn line)
bad = []
for root, _, files in os.walk(run):
    for f in files:
        p = os.path.join(root, f)
        try:
            if f.endswith(".json"):
                json.load(open(p))
            elif f.endswith(".jsonl"):
                for i, line in enumerate(open(p), 1):
                    json.loads(line)
        except Exception as e:
            bad.append(f"{os.path.relpath(p, run)}: {e}")
res(not bad, "every output JSON / JSONL line parses" + (f" ({bad[:2]})" if bad else ""))
try:
    s = json.load(open(os.path.join(run, "metrics/summary_stats.json")))
    slo = json.load(open(os.path.join(run, "metrics/slo_results.json")))
except Exception as e:
    res(False, f"summary_stats.json and slo_results.json readable ({e})")
    sys.exit(0)
n = s.get("Number of Requests", -1)
done, err, canc = (s.get(k, 0) for k in ("Number of Completed Requests", "Number of Errored Requests",
                                          "Number of Cancelled Requests"))
res(n > 0 and n == done + err + canc, f"dispatched {n} = completed {done} + errored {err} + cancelled {canc}")
rows = [json.loads(l) for l in open(os.path.join(run, "metrics/request_level_metrics.jsonl"))]
failed = [r for r in rows if r.get("success") is False]
res(len(failed) == err, f"{err} errored requests have {len(failed)} failed rows in request_level_metrics.jsonl")
optional = classes.startswith("any:")
allowed = set(classes[4:].split("|")) if optional else set(classes.split("|")) if classes != "none" else set()
if classes == "none":
    res(err == 0 and done == n, f"every request completed ({done} of {n}; errors {s.get('error_class_freq')})")
    res(slo.get("all_slos_met") is True, f"all_slos_met true ({slo.get('verdict_reasons')})")
    res("All SLOs met: yes" in open(console).read(), "console says All SLOs met: yes")
    sys.exit(0)
if not optional:
    res(err > 0, f"requests errored ({err} of {n})")
got = sorted({r.get("error_class") for r in failed})
res(all(r.get("error_class") in allowed for r in failed), f"error classes {got} within {sorted(allowed)}")
res(all(isinstance(r.get("error_msg"), str) and r["error_msg"].strip() for r in failed),
    "every failed row has a non-empty error_msg" + (f" (e.g. {failed[0].get('error_msg')!r})" if failed else ""))
res(all(isinstance(r.get("error_code"), int) for r in failed), "every failed row has an integer error_code")
res(all("ttfc" not in r and "end_to_end_latency" not in r for r in failed), "failed rows carry no latency keys")
freq = s.get("error_class_freq", {})
res(sum(freq.values()) == err if isinstance(freq, dict) else False, f"error_class_freq {freq} sums to {err}")
if err > 0:
    top = s.get("top_errors") or []
    res(bool(top) and top[0].get("message"), f"top_errors names a message ({top[:1]})")
    res(slo.get("all_slos_met") is False, "all_slos_met false when requests errored")
    res(bool(slo.get("verdict_reasons")), f"verdict_reasons given ({(slo.get('verdict_reasons') or [''])[-1][:90]})")
    res("All SLOs met: no" in open(console).read(), "console says All SLOs met: no")
res(s.get("run_status") in ("complete", "truncated", "interrupted"), f"run_status {s.get('run_status')!r}")
PY
  local line
  while IFS= read -r line; do
    case $line in
      "ok - "*) ok "${line#ok - }" ;;
      "FAIL - "*) fail "${line#FAIL - }" ;;
    esac
  done < "$TMP/$name.check"
  [ -s "$TMP/$name.check" ] || fail "$name: checker ran"
}
