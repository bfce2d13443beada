#!/usr/bin/env bash
# lm-eval under load through the bridge (docs/INTEGRATIONS.md), with the stand-in lm_eval of
# tests/data/standins in a fake environment (bin/python runs python3 with the stand-ins on its
# path): two generate_until tasks against the sim under a rate scheduler write
# metrics/lmeval_results.json with one entry per task beside the usual timing files, max_sessions
# caps the documents round-robin, two client loops send every document once; a missing
# environment, a missing package and an unknown task are one-line errors and exit 2 before any
# traffic; a bridge that dies while scoring, or is killed while traffic runs, costs the results
# file, not the timing files (exit 1, one line naming the status or signal).
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
source "$(dirname "$0")/bridge_lib.sh" # $TMP/env (stand-ins), $TMP/bare, mkenv

e2e_start_sim 0 --mode fixed --ttft-ms 5 --itl-ms 1
port=$E2E_SIM_PORT
cfg() { # cfg FILE ENV TASKS SESSIONS
  cat > "$1" <<YML
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
traffic_scheduler: {type: rate, interval_generator: {type: fixed, interval: 0.02}}
session_generator: {type: lmeval, tasks: $3, num_fewshot: 1, env_path: "$2"}
evaluators: [{type: performance}, {type: accuracy_lmeval, bootstrap_iters: 100}]
runtime: {max_sessions: $4, benchmark_timeout: 60}
YML
}

# --- two tasks under a rate scheduler
cfg two.yml "$TMP/env" "[standin_echo, standin_upper]" 11
rc=0; "$VEEKSHA" benchmark --config two.yml --output_dir "$TMP/out" > two.out 2> two.err || rc=$?
check "two tasks: exit 0" test "$rc" = 0
[ "$rc" = 0 ] || cat two.err
run=$(ls -d "$TMP/out"/*/ | head -1)
check "lmeval_results.json written" test -s "$run/metrics/lmeval_results.json"
check "timing files written" test -s "$run/metrics/summary_stats.json" -a -s "$run/metrics/request_level_metrics.jsonl"
check "results: one entry per task, documents round-robin (6 + 5), all answered" python3 - "$run" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/metrics/lmeval_results.json"))
assert sorted(r["results"]) == ["standin_echo", "standin_upper"], r["results"].keys()
assert r["n-samples"]["standin_echo"] == {"original": 8, "effective": 6}, r["n-samples"]
assert r["n-samples"]["standin_upper"] == {"original": 6, "effective": 5}, r["n-samples"]
for t in r["results"].values():
    assert t["answered,none"] == 1.0, t
    assert "exact_match,none" in t and "answered_stderr,none" in t, t
assert r["n-shot"] == {"standin_echo": 1, "standin_upper": 1}, r["n-shot"]
assert r["veeksha"]["documents"] == 11 and r["veeksha"]["scored_documents"] == 11, r["veeksha"]
s = json.load(open(d + "/metrics/summary_stats.json"))
assert s["Number of Requests"] == 11 and s["Number of Completed Requests"] == 11, s
PY
check "the run says the results per task" grep -q "lmeval: standin_echo: answered,none=1" two.err

# --- two client loops (docs/DISTRIBUTED.md): each walks every document, keeps its shard's; one
# results file for the merged run, every document once
sed 's/benchmark_timeout: 60}/benchmark_timeout: 60, num_client_threads: 2}/' two.yml > threads.yml
rc=0; "$VEEKSHA" benchmark --config threads.yml --output_dir "$TMP/thr" > /dev/null 2> threads.err || rc=$?
run=$(ls -d "$TMP/thr"/*/ | head -1)
check "two client loops: exit 0, every document sent once and scored" python3 - "$run" "$rc" <<'PY'
import json, sys
d, rc = sys.argv[1], sys.argv[2]
assert rc == "0", rc
r = json.load(open(d + "/metrics/lmeval_results.json"))
assert r["veeksha"]["documents"] == 11 and r["veeksha"]["scored_documents"] == 11, r["veeksha"]
s = json.load(open(d + "/metrics/summary_stats.json"))
assert s["Number of Requests"] == 11 and s["Number of Completed Requests"] == 11, s
PY

# --- errors before any traffic: exit 2, one line naming the environment and the import
cfg noenv.yml "$TMP/nowhere" "[standin_echo]" 4
rc=0; "$VEEKSHA" benchmark --config noenv.yml --output_dir "$TMP/o2" > /dev/null 2> noenv.err || rc=$?
check "missing environment: exit 2" test "$rc" = 2
check "missing environment: named" grep -q "environment $TMP/nowhere does not exist" noenv.err
cfg bare.yml "$TMP/bare" "[standin_echo]" 4
rc=0; "$VEEKSHA" benchmark --config bare.yml --output_dir "$TMP/o3" > /dev/null 2> bare.err || rc=$?
check "missing package: exit 2" test "$rc" = 2
check "missing package: one line naming the environment and lm_eval" \
  grep -q "lmeval: the environment $TMP/bare cannot import lm_eval (No module named 'lm_eval')" bare.err
cfg unknown.yml "$TMP/env" "[no_such_task]" 4
rc=0; "$VEEKSHA" benchmark --config unknown.yml --output_dir "$TMP/o4" > /dev/null 2> unknown.err || rc=$?
check "unknown task: exit 2" test "$rc" = 2
check "unknown task: named" grep -q "no_such_task" unknown.err
check "no run directory for these (nothing was sent)" test ! -e "$TMP/o2" -a ! -e "$TMP/o3" -a ! -e "$TMP/o4"
check "--lmeval-session-generator-env-path sets the environment" sh -c \
  "'$VEEKSHA' config show -f json --session-generator-type lmeval --lmeval-session-generator-env-path /x/y | grep -q '\"env_path\": \"/x/y\"'"

# --- the bridge dies while scoring: timing files kept, no results, exit 1, one line
cfg crash.yml "$TMP/env" "[standin_echo]" 4
rc=0; STANDIN_LMEVAL_CRASH=process_results "$VEEKSHA" benchmark --config crash.yml --output_dir "$TMP/o5" \
  > /dev/null 2> crash.err || rc=$?
run=$(ls -d "$TMP/o5"/*/ | head -1)
check "bridge crash: exit 1" test "$rc" = 1
check "bridge crash: said in one line with the status" grep -q "lmeval: scoring failed.*exited with status 9" crash.err
check "bridge crash: timing files kept, no lmeval_results.json" \
  test -s "$run/metrics/summary_stats.json" -a ! -e "$run/metrics/lmeval_results.json"

# --- the bridge is killed while traffic runs: the run goes on, its timing files are complete,
# the scoring fails in one line with the signal (exit 1)
cat > kill.yml <<YML
client: {type: openai_chat_completions, api_base: "http://127.0.0.1:$port/v1", model: sim-model}
traffic_scheduler: {type: rate, interval_generator: {type: fixed, interval: 0.25}}
session_generator: {type: lmeval, tasks: [standin_echo], num_fewshot: 0, env_path: "$TMP/env"}
evaluators: [{type: performance}, {type: accuracy_lmeval, bootstrap_iters: 10}]
runtime: {max_sessions: 8, benchmark_timeout: 60}
YML
"$VEEKSHA" benchmark --config kill.yml --output_dir "$TMP/o6" > /dev/null 2> kill.err &
vk=$!
for _ in $(seq 1 200); do ls -d "$TMP"/o6/*/ > /dev/null 2>&1 && break; sleep 0.05; done
bridge=$(ps -o pid= --ppid "$vk" | tr -d ' ' | head -1)
check "bridge found while the run goes on" test -n "$bridge"
[ -z "$bridge" ] || kill -KILL "$bridge"
rc=0; wait "$vk" || rc=$?
run=$(ls -d "$TMP/o6"/*/ | head -1)
check "bridge killed mid-run: exit 1" test "$rc" = 1
check "bridge killed mid-run: one line with the signal" grep -q "lmeval: scoring failed.*killed by signal 9" kill.err
check "bridge killed mid-run: every request ran, timing files complete, no results" python3 - "$run" <<'PY'
import json, os, sys
d = sys.argv[1]
s = json.load(open(d + "/metrics/summary_stats.json"))
assert s["Number of Requests"] == 8 and s["Number of Completed Requests"] == 8, s
assert not os.path.exists(d + "/metrics/lmeval_results.json")
PY
e2e_finish
