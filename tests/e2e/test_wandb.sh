#!/usr/bin/env bash
# W&B logging through the bridge (docs/INTEGRATIONS.md), with the stand-in wandb of
# tests/data/standins in a fake environment: a run against the sim with wandb enabled (offline)
# creates a W&B run with the config (api_key redacted), the time series (one step per row of
# metrics/timeseries.csv), the summary metrics and the run directory's files as an artifact, and
# writes wandb_run.json; each point of a sweep is logged in group sweep-<dir> with the tag sweep,
# and the sweep gets a summary run (its sweep_summary.csv as a table, its files as an artifact);
# each probe of a capacity search is logged in group capsearch-<dir> as NN-<knob>=<value> with the
# tag capsearch, and the search gets a summary run (attempts and SLO details as tables and CSVs);
# a missing environment, a missing package, a failing wandb and a bridge that dies while logging
# are one warning each, the benchmark's files complete and its exit code 0.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
source "$(dirname "$0")/bridge_lib.sh" # $TMP/env (stand-ins), $TMP/bare, mkenv

port=$(e2e_free_port)
e2e_start_sim "$port" --mode fixed --ttft-ms 5 --itl-ms 1
cfg() { # cfg FILE ENV [rates]
  e2e_single_cfg "$1" "$port" "traffic={type: rate, interval_generator: {type: fixed, interval: ${3:-0.05}}}" \
    sessions=30 output=8
  cat >> "$1" <<YML
wandb: {enabled: true, project: vk-test, tags: [ci], notes: "a test", mode: offline, log_artifacts: true, env_path: "$2"}
YML
  sed -i 's/model: sim-model}/model: sim-model, api_key: sk-secret}/' "$1"
}

cfg ok.yml "$TMP/env"
rc=0; "$VEEKSHA" benchmark --config ok.yml --output_dir "$TMP/out" > ok.out 2> ok.err || rc=$?
check "logged run: exit 0" test "$rc" = 0
run=$(ls -d "$TMP/out"/*/ | head -1)
check "wandb_run.json: id, offline (no URL), project, name = run directory" python3 - "$run" <<'PY'
import json, os, sys
d = sys.argv[1].rstrip("/")
w = json.load(open(d + "/wandb_run.json"))
assert w["id"] == "standin01" and w["url"] is None and w["mode"] == "offline", w
assert w["project"] == "vk-test" and w["name"] == os.path.basename(d), w
PY
check "what the bridge logged: init args, config, series, summary, artifact" python3 - "$run" <<'PY'
import csv, json, sys
d = sys.argv[1].rstrip("/")
s = json.load(open(d + "/wandb/standin-run.json"))
i = s["init"]
assert i["project"] == "vk-test" and i["tags"] == ["ci"] and i["notes"] == "a test" and i["mode"] == "offline", i
assert i["dir"] == d and i["group"] is None, i
assert "client" in i["config_keys"] and "run_kind" in i["config_keys"] and i["api_key_redacted"], i
rows = list(csv.DictReader(open(d + "/metrics/timeseries.csv")))
assert rows and s["steps"] == len(rows), (s["steps"], len(rows))
summ = json.load(open(d + "/metrics/summary_stats.json"))
assert s["summary"]["summary/Number of Requests"] == summ["Number of Requests"] == 30, s["summary"]
assert "throughput/tpot_based_throughput" in s["summary"], s["summary"].keys()
(a,) = s["artifacts"]
assert a["type"] == "veeksha-benchmark" and a["name"] == "benchmark-output-files-standin01", a
for f in ("config.yml", "metrics/summary_stats.json", "metrics/request_level_metrics.jsonl", "metrics/timeseries.csv"):
    assert f in a["files"], (f, a["files"])
PY
check "the run says where the W&B run is" grep -q "W&B run standin01" ok.err

# --- failures are warnings; the benchmark is complete
for case in bare nowhere fail crash; do
  env="$TMP/env"; extra=()
  [ $case = bare ] && env="$TMP/bare"
  [ $case = nowhere ] && env="$TMP/nowhere"
  cfg $case.yml "$env"
  rc=0
  if [ $case = fail ] || [ $case = crash ]; then
    STANDIN_WANDB_FAIL=$([ $case = fail ] && echo init || echo crash) "$VEEKSHA" benchmark --config $case.yml --output_dir "$TMP/o-$case" > /dev/null 2> $case.err || rc=$?
  else
    "$VEEKSHA" benchmark --config $case.yml --output_dir "$TMP/o-$case" > /dev/null 2> $case.err || rc=$?
  fi
  run=$(ls -d "$TMP/o-$case"/*/ | head -1)
  check "$case: exit 0, timing files complete, no wandb_run.json" \
    test "$rc" = 0 -a -s "$run/metrics/summary_stats.json" -a -s "$run/metrics/report.html" -a ! -e "$run/wandb_run.json"
done
check "missing package: one warning naming the environment and wandb" \
  grep -q "warning: W&B logging skipped.*wandb: the environment $TMP/bare cannot import wandb (No module named 'wandb')" bare.err
check "missing environment: one warning naming it" grep -q "warning: W&B logging skipped.*$TMP/nowhere does not exist" nowhere.err
check "wandb fails: one warning with its message" \
  grep -q "warning: W&B logging failed.*RuntimeError: stand-in wandb: init failed" fail.err
check "the bridge dies while logging: one warning with its status" \
  grep -q "warning: W&B logging failed.*the wandb bridge (environment $TMP/env) exited with status 9" crash.err

# --- a sweep: every point logged, in group sweep-<dir>, tagged sweep
cfg sweep.yml "$TMP/env" "!expand [0.05, 0.04]"
rc=0; "$VEEKSHA" benchmark --config sweep.yml --output_dir "$TMP/sw" > sweep.out 2> sweep.err || rc=$?
check "sweep: exit 0" test "$rc" = 0
sweep=$(ls -d "$TMP"/sw/sweep_*/ | head -1)
check "sweep: each point has wandb_run.json, group sweep-<dir>, tags ci + sweep" python3 - "$sweep" <<'PY'
import glob, json, os, sys
sw = sys.argv[1].rstrip("/")
runs = sorted(glob.glob(sw + "/*/wandb_run.json"))
assert len(runs) == 2, runs
for r in runs:
    w = json.load(open(r))
    assert w["group"] == "sweep-" + os.path.basename(sw), w
    s = json.load(open(os.path.dirname(r) + "/wandb/standin-run.json"))
    assert s["init"]["tags"] == ["ci", "sweep"], s["init"]
PY
check "sweep: a summary run with the sweep_summary.csv table and the sweep files as an artifact" python3 - "$sweep" <<'PY'
import csv, json, os, sys
sw = sys.argv[1].rstrip("/")
base = os.path.basename(sw)
s = json.load(open(sw + "/wandb/standin-run.json"))
i = s["init"]
assert i["name"] == "sweep-summary-" + base and i["group"] == "sweep-" + base, i
assert i["tags"] == ["ci", "sweep", "summary"] and i["dir"] == sw and i["mode"] == "offline", i
assert i["config_keys"] == ["sweep_dir"], i
rows = list(csv.reader(open(sw + "/sweep_summary.csv")))
t = s["tables"]["sweep_summary_table"]
assert t["columns"] == rows[0] and t["data"] == rows[1:] and len(t["data"]) == 2, (t, rows)
(a,) = s["artifacts"]
assert a["name"] == "sweep-summary-files-standin01" and a["type"] == "veeksha-sweep", a
assert a["files"] == ["sweep_manifest.json", "sweep_summary.json", "sweep_summary.csv"], a["files"]
PY
check "sweep: the log says where the summary run is" grep -q "W&B sweep summary run standin01" sweep.err
rc=0; STANDIN_WANDB_FAIL=init "$VEEKSHA" benchmark --config sweep.yml --output_dir "$TMP/swf" > /dev/null 2> sweepf.err || rc=$?
swf=$(ls -d "$TMP"/swf/sweep_*/ | head -1)
check "sweep, wandb fails: exit 0, the sweep's files complete, no summary run" \
  test "$rc" = 0 -a -s "$swf/sweep_summary.csv" -a -s "$swf/sweep_manifest.json" -a ! -e "$swf/wandb"
check "sweep, wandb fails: one warning for the summary run" \
  grep -q "warning: W&B sweep summary failed (the benchmark's files are complete):.*RuntimeError: stand-in wandb: init failed" sweepf.err

# --- a capacity search: every probe in group capsearch-<dir>, named NN-<knob>=<value>, tagged
# capsearch; a summary run with the attempts and SLO details as tables (and CSV files)
e2e_single_cfg capbench.yml "$port" "traffic={type: concurrent, target_concurrent_sessions: 1, rampup_seconds: 0}" \
  sessions=6 timeout=30 \
  "evaluators=[{type: performance, slos: [{type: constant, metric: ttfc, percentile: 0.99, value: 5, name: ttfc_p99}]}]"
echo "wandb: {enabled: true, project: vk-test, tags: [ci], mode: offline, env_path: \"$TMP/env\"}" >> capbench.yml
{
  printf 'output_dir: %s\nstart_value: 1\nmax_value: 2\nexpansion_factor: 2\nmax_iterations: 4\nbenchmark_config:\n' "$TMP/cap"
  sed 's/^/  /' capbench.yml
} > cap.yml
rc=0; "$VEEKSHA" capacity-search --capacity-search-config-from-file cap.yml > cap.out 2> cap.err || rc=$?
check "capacity search: exit 0" test "$rc" = 0
[ "$rc" = 0 ] || cat cap.err
capdir=$(ls -d "$TMP"/cap/*/ | head -1)
check "capacity search: probes named and grouped, summary run with tables, CSVs and artifact" python3 - "$capdir" <<'PY'
import csv, glob, json, os, sys
d = sys.argv[1].rstrip("/")
base = os.path.basename(d)
res = json.load(open(d + "/capacity_search_results.json"))
assert [h["value"] for h in res["history"]] == [1, 2] and res["best_value"] == 2, res
names = []
for h in res["history"]:
    w = json.load(open(h["run_dir"] + "/wandb_run.json"))
    assert w["group"] == "capsearch-" + base, w
    s = json.load(open(h["run_dir"] + "/wandb/standin-run.json"))
    assert s["init"]["tags"] == ["ci", "capsearch"], s["init"]
    names.append(w["name"])
assert names == ["01-target_concurrent_sessions=1", "02-target_concurrent_sessions=2"], names
s = json.load(open(d + "/wandb/standin-run.json"))
i = s["init"]
assert i["name"] == "capsearch-summary-" + base and i["group"] == "capsearch-" + base, i
assert i["tags"] == ["ci", "capsearch", "summary"] and i["dir"] == d, i
assert set(i["config_keys"]) == {"capacity_search_output_dir", "searched_knob", "traffic_scheduler_type",
    "start_value", "max_value", "expansion_factor", "max_iterations", "precision", "best_value"}, i
att = s["tables"]["capsearch_attempts"]
# the configured SLO, then the error-rate SLO every run reports (docs/OUTPUTS.md, slo_results.json)
assert att["columns"] == ["attempt", "value", "all_slos_met", "run_dir", "ttfc_p99/observed_value",
                          "ttfc_p99/threshold", "ttfc_p99/met", "Error Rate/observed_value",
                          "Error Rate/threshold", "Error Rate/met"], att["columns"]
assert [r[:3] for r in att["data"]] == [[1, 1, True], [2, 2, True]], att["data"]
assert all(r[5] == 5 and r[6] is True and 0 < r[4] < 5 for r in att["data"]), att["data"]
det = s["tables"]["capsearch_slo_details"]
assert det["columns"][:5] == ["attempt", "value", "run_dir", "slo_key", "met"] and len(det["data"]) == 4, det
rows = list(csv.DictReader(open(d + "/capacity_search_attempts.csv")))
assert [r["attempt"] for r in rows] == ["1", "2"] and rows[1]["ttfc_p99/met"] == "True", rows
rows = list(csv.DictReader(open(d + "/capacity_search_slo_details.csv")))
assert [r["slo_key"] for r in rows] == ["ttfc_p99", "Error Rate"] * 2 and rows[0]["metric"] == "ttfc", rows
(a,) = s["artifacts"]
assert a["name"] == "capsearch-output-files-standin01" and a["type"] == "veeksha-capsearch", a
assert a["files"] == ["config.yml", "capacity_search_results.json", "capacity_search_attempts.csv",
                      "capacity_search_slo_details.csv"], a["files"]
PY
check "capacity search: the log says where the summary run is" grep -q "W&B capacity-search summary run standin01" cap.err
e2e_finish
