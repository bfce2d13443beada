#!/usr/bin/env bash
# veeksha merge (docs/MERGE.md) against the sim: two shard processes (--shard 0/2, 1/2, one
# --start-at) merged into one run directory; the merge equals the replay of the two event logs
# concatenated in time order as one shard; a merge of one shard equals that shard's own live files;
# the checks (missing, duplicate, differing config.yml, a bad line, a cut last line) fail clearly.
source "$(dirname "$0")/lib.sh" "$@"

bench_help=$("$VEEKSHA" benchmark --help 2>&1 || true)
if ! grep -q -- '--shard ' <<< "$bench_help"; then
  echo "SKIP: this veeksha has no 'benchmark --shard' (the shard runner is not built in)"
  exit 77
fi

e2e_start_sim 0 --fail-rate 0.1 --seed 3
port=$E2E_SIM_PORT

cfg=$TMP/cfg.yml
cat > "$cfg" <<EOF
seed: 7
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
traffic_scheduler: {type: rate, interval_generator: {type: poisson, arrival_rate: 40}, cancel_session_on_failure: false}
session_generator:
  type: synthetic
  session_graph: {type: linear, num_request_generator: {type: uniform, min: 1, max: 3}}
  channels: [{type: text, body_length_generator: {type: uniform, min: 8, max: 40}}]
  output_spec: {text: {output_length_generator: {type: uniform, min: 2, max: 12}}}
runtime: {max_sessions: 40, benchmark_timeout: 60}
trace_recorder: {enabled: true, include_content: true}
output_dir: $TMP/out
EOF

# files a run and a merge must have in common, byte for byte: every evaluator output (PNGs and the
# gnuplot scripts and report.html name their own directory; client_usage.json is the process's own; the server-metrics scrape is the run's, not the evaluator's)
same_files() {
  diff -r -x '*.png' -x '*.gp' -x report.html -x eval_events.jsonl -x shards.json -x client_usage.json -x server_metrics.csv -x server_summary.json -x 'shard-*' "$1" "$2"
}

# ---- two shard processes, one common start ----
start_at=$(python3 -c 'import time; print(round(time.time() + 2, 3))')
"$VEEKSHA" benchmark --config "$cfg" --shard 0/2 --start-at "$start_at" > "$TMP/s0.out" 2>&1 &
p0=$!
"$VEEKSHA" benchmark --config "$cfg" --shard 1/2 --start-at "$start_at" > "$TMP/s1.out" 2>&1 &
p1=$!
rc0=0; rc1=0
wait "$p0" || rc0=$?
wait "$p1" || rc1=$?
# the sim fails 10% of requests: the error-rate objective fails, the shards still exit 0 (no --fail-on-slo)
check "shard 0 exits 0 (rc $rc0)" [ "$rc0" = 0 ]
check "shard 1 exits 0 (rc $rc1)" [ "$rc1" = 0 ]
run=$(find "$TMP/out" -mindepth 1 -maxdepth 1 -type d | head -n 1)
check "one run directory with both shards" [ -d "$run/shard-0-of-2" -a -d "$run/shard-1-of-2" ]
for k in 0 1; do
  check "shard $k has its event log" [ -s "$run/shard-$k-of-2/metrics/eval_events.jsonl" ]
done

rc=0
"$VEEKSHA" merge "$run" > "$TMP/merge.out" 2> "$TMP/merge.err" || rc=$?
check "merge exits 0 (rc $rc: $(tail -n 2 "$TMP/merge.err"))" [ "$rc" = 0 ]
check "merged summary_stats.json" [ -s "$run/metrics/summary_stats.json" ]
check "merged dispatch trace" [ -s "$run/traces/dispatch_trace.jsonl" ]
check "merged report.html (docs/OUTPUTS.md)" [ -s "$run/metrics/report.html" ]
check "merged config.yml is the shards'" cmp -s "$run/config.yml" "$run/shard-0-of-2/config.yml"
check "console summary and shard table" grep -q "Shards (2 of 2 merged" "$TMP/merge.out"
rc=0
"$VEEKSHA" merge --quiet --fail-on-slo --output "$TMP/slo" "$run" > /dev/null 2>&1 || rc=$?
check "--fail-on-slo: the error-rate objective fails against 10% failures, exit 3 (rc $rc)" [ "$rc" = 3 ]

python3 - "$run" <<'EOF' && ok "merged counts are the shards' sums; requests unique" || fail "merged counts"
import json, sys
run = sys.argv[1]
s = json.load(open(f"{run}/metrics/summary_stats.json"))
sh = json.load(open(f"{run}/metrics/shards.json"))
assert [x["index"] for x in sh["shards"]] == [0, 1] and sh["missing"] == [] and sh["count"] == 2, sh
regs = []
for k in (0, 1):
    n = 0
    for line in open(f"{run}/shard-{k}-of-2/metrics/eval_events.jsonl"):
        ev = json.loads(line)
        if ev["ev"] == "reg":
            n += 1
            regs.append(ev["request_id"])
    assert sh["shards"][k]["requests"] == n, (k, n, sh["shards"][k])
    assert sh["shards"][k]["run_status"] == "complete"
    assert sh["shards"][k]["client_cpu_s"] is not None
    assert sh["shards"][k]["dispatch_lateness_p99_ms"] is not None
assert len(regs) == len(set(regs)), "a request dispatched by two shards"
assert s["Number of Requests"] == len(regs), (s["Number of Requests"], len(regs))
assert s["Number of Errored Requests"] == sum(x["errors"] for x in sh["shards"]) > 0
assert s["run_status"] == "complete"
rows = [json.loads(l) for l in open(f"{run}/metrics/request_level_metrics.jsonl")]
assert len(rows) == len(regs) and len({r["request_id"] for r in rows}) == len(rows)
EOF

# ---- the merge == the replay of the concatenated logs (time order, ties to shard 0) ----
mkdir -p "$TMP/cat/shard-0-of-1/metrics"
cp "$run/shard-0-of-2/config.yml" "$TMP/cat/shard-0-of-1/"
python3 - "$run" "$TMP/cat/shard-0-of-1/metrics/eval_events.jsonl" <<'EOF'
import json, sys
run, out = sys.argv[1], sys.argv[2]
evs, header, ends = [], None, []
for k in (0, 1):
    lines = open(f"{run}/shard-{k}-of-2/metrics/eval_events.jsonl").read().splitlines()
    h = json.loads(lines[0])
    header = header or h
    for i, line in enumerate(lines[1:]):
        ev = json.loads(line)
        if ev["ev"] == "end":
            ends.append(ev)
        elif ev["ev"] != "status":
            evs.append((ev["t"], k, i, line))
evs.sort()
header["index"], header["count"] = 0, 1
end = max(ends, key=lambda e: e["t"])
with open(out, "w") as f:
    f.write(json.dumps(header, separators=(",", ":")) + "\n")
    for *_, line in evs:
        f.write(line + "\n")
    f.write(json.dumps(end, separators=(",", ":")) + "\n")
EOF
rc=0
"$VEEKSHA" merge --quiet --output "$TMP/catout" "$TMP/cat/shard-0-of-1" > /dev/null 2> "$TMP/cat.err" || rc=$?
check "merge of the concatenation exits 0 (rc $rc: $(tail -n 2 "$TMP/cat.err"))" [ "$rc" = 0 ]
check "merge of two shards == replay of their concatenated records" same_files "$run" "$TMP/catout"

# ---- one shard: its merge equals its own live files ----
rc=0
"$VEEKSHA" merge --quiet --allow-partial --output "$TMP/one" "$run/shard-1-of-2" > /dev/null 2>&1 || rc=$?
check "one shard of two, --allow-partial: exit 1 (rc $rc)" [ "$rc" = 1 ]
check "... truncated, the missing shard named" grep -q '"run_status_reason": "shard 0 of 2 missing"' "$TMP/one/metrics/summary_stats.json"
"$VEEKSHA" benchmark --config "$cfg" --output-dir "$TMP/out1" --shard 0/1 > "$TMP/one.out" 2>&1 || true
run1=$(find "$TMP/out1" -mindepth 1 -maxdepth 1 -type d | head -n 1)
rc=0
"$VEEKSHA" merge --quiet --no-report --output "$TMP/one1" "$run1/shard-0-of-1" > /dev/null 2>&1 || rc=$?
check "merge of shard 0 of 1 exits 0 (rc $rc)" [ "$rc" = 0 ]
check "merge --no-report: no report.html" [ ! -e "$TMP/one1/metrics/report.html" ]
check "merge of one shard == that shard's live files" same_files "$run1/shard-0-of-1" "$TMP/one1"

# ---- checks ----
expect_fail() { # expect_fail DESC CODE PATTERN -- merge args...
  local desc=$1 code=$2 pat=$3; shift 4
  local rc=0
  "$VEEKSHA" merge --quiet "$@" > "$TMP/x.out" 2> "$TMP/x.err" || rc=$?
  if [ "$rc" = "$code" ] && grep -q -- "$pat" "$TMP/x.err"; then ok "$desc"; else
    fail "$desc (rc $rc, want $code; stderr: $(head -c 400 "$TMP/x.err"))"; fi
}
mkdir -p "$TMP/part"
cp -r "$run/shard-0-of-2" "$TMP/part/"
expect_fail "a missing shard is named" 2 "shard 1 of 2 missing" -- "$TMP/part"
mkdir -p "$TMP/part/shard-1-of-2/metrics"
expect_fail "a shard directory without its log counts as missing" 2 "shard 1 of 2 missing" -- "$TMP/part"
rm -rf "$TMP/part/shard-1-of-2"
expect_fail "a duplicate shard is named" 2 "shard 0 of 2 appears twice" -- "$run/shard-0-of-2" "$run/shard-0-of-2" "$run/shard-1-of-2"
cp -r "$run/shard-1-of-2" "$TMP/part/"
sed -i 's/^seed: 7$/seed: 8/' "$TMP/part/shard-1-of-2/config.yml"
expect_fail "a differing config.yml is named" 2 "shard-1-of-2/config.yml differs from .*(first at line" -- "$TMP/part"
cp "$run/shard-1-of-2/config.yml" "$TMP/part/shard-1-of-2/config.yml"
# shard 1 of a second run of the same config: its header's start is that run's, 9 s later
cp "$run/shard-1-of-2/metrics/eval_events.jsonl" "$TMP/ev.bak"
python3 - "$TMP/part/shard-1-of-2/metrics/eval_events.jsonl" <<'PY'
import re, sys
p = sys.argv[1]
lines = open(p).read().split("\n")
lines[0] = re.sub(r'"start_epoch_ns":(\d+)', lambda m: '"start_epoch_ns":%d' % (int(m.group(1)) + 9 * 10**9), lines[0])
open(p, "w").write("\n".join(lines))
PY
expect_fail "shards of two runs (different starts) are refused" 2 "9.000 s apart): shards of different runs" -- --output "$TMP/mixed" "$TMP/part"
check "... nothing written" [ ! -e "$TMP/mixed" ]
cp "$TMP/ev.bak" "$TMP/part/shard-1-of-2/metrics/eval_events.jsonl"
sed -i '3s/.*/{"ev":"done","t":"x"}/' "$TMP/part/shard-1-of-2/metrics/eval_events.jsonl"
expect_fail "a bad line is named file:line" 1 "shard-1-of-2/metrics/eval_events.jsonl:3: key 't'" -- --output "$TMP/bad" "$TMP/part"
# ... and found before anything is written: a failed re-merge must not leave an earlier merge's
# summary beside emptied request rows
check "... nothing written" [ ! -e "$TMP/bad" ]
# ... and a failed re-merge over an earlier merge leaves that merge's files as they were (one pass
# over the logs: the streamed files are staged until every line has been read)
cp "$TMP/part/shard-1-of-2/metrics/eval_events.jsonl" "$TMP/ev.badline"
cp "$TMP/ev.bak" "$TMP/part/shard-1-of-2/metrics/eval_events.jsonl"
"$VEEKSHA" merge --quiet --output "$TMP/again" "$TMP/part" > /dev/null 2>&1 || true
(cd "$TMP/again" && find . -type f | sort | xargs sha1sum) > "$TMP/again.sums"
cp "$TMP/ev.badline" "$TMP/part/shard-1-of-2/metrics/eval_events.jsonl"
expect_fail "a bad line in a re-merge is named file:line" 1 "shard-1-of-2/metrics/eval_events.jsonl:3: key 't'" -- --output "$TMP/again" "$TMP/part"
check "... the earlier merge's files unchanged, no part left ($(wc -l < "$TMP/again.sums") files)" \
  bash -c "[ \$(wc -l < '$TMP/again.sums') -gt 5 ] && cd '$TMP/again' && diff <(find . -type f | sort | xargs sha1sum) '$TMP/again.sums'"
# a shard killed while writing its last line: the rest merges, the run is truncated
head -c -20 "$TMP/ev.bak" > "$TMP/part/shard-1-of-2/metrics/eval_events.jsonl"
expect_fail "a cut last line: warning, truncated" 1 "is incomplete" -- --output "$TMP/cut" "$TMP/part"
check "... the shard named in the reason" grep -q '"run_status_reason": "shard 1 of 2: its event log has no end record' "$TMP/cut/metrics/summary_stats.json"
expect_fail "not a shard directory" 2 "neither a shard directory" -- "$TMP/cat"/..
expect_fail "an unknown option" 2 "unknown option" -- --frobnicate "$run"
main_help=$("$VEEKSHA" --help)
check "merge is in veeksha --help" grep -q '^  merge ' <<< "$main_help"

e2e_finish
