#!/usr/bin/env bash
# W&B logging through the bridge (docs/INTEGRATIONS.md), with the stand-in wandb of
# tests/data/standins in a fake environment: a run against the sim with wandb enabled (offline)
# creates a W&B run with the config (api_key redacted), the time series (one step per row of
# metrics/timeseries.csv), the summary metrics and the run directory's files as an artifact, and
# writes wandb_run.json; each point of a sweep is logged in group sweep-<dir> with the tag sweep;
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
e2e_finish
