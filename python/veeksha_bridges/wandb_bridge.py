"""Veeksha's bridge to Weights & Biases (protocol 1; docs/INTEGRATIONS.md).

Veeksha runs this file at the end of a run as `<wandb.env_path>/bin/python -u wandb_bridge.py`
and talks to it in JSON lines (one JSON object per line; stdin: Veeksha -> bridge, stdout:
bridge -> Veeksha; everything else goes to stderr):

    bridge  -> {"type": "hello", "protocol": 1, "bridge": "wandb", "wandb_version": "..."}
    veeksha -> {"type": "log", "protocol": 1, "run_dir": "...", "project", "entity", "group",
                "run_name", "notes", "mode" (each a string or null), "tags": [...],
                "log_artifacts": bool, "config": {the benchmark config, secrets redacted}}
    bridge  -> {"type": "logged", "run": {"id", "name", "entity", "project", "group", "path",
                "url", "mode"}}
  or, for the summary run of a sweep or a capacity search:
    veeksha -> {"type": "log_summary", "protocol": 1, "kind": "sweep" | "capsearch", "dir": "...",
                "project", "entity", "group", "run_name", "mode", "tags": [...]}
    bridge  -> {"type": "logged", "run": {...}}

Any failure is one {"type": "error", ...} line and exit status 3 (Veeksha warns and goes on).

What is logged (as the reference): wandb.init(project, entity, group, name=run_name or the run
directory's name, tags, notes, dir=run_dir, config, mode); every row of metrics/timeseries.csv
as one step (keys "timeseries/<column>"); the numbers of metrics/summary_stats.json
("summary/<key>"), throughput_metrics.json ("throughput/<key>"), slo_results.json
("slo/all_slos_met") and lmeval_results.json ("lmeval/<task>/<metric>") into the run summary;
with log_artifacts, the run directory's config, metrics and traces files (.yml .yaml .json .jsonl
.csv .png .txt .log) as one artifact of type "veeksha-benchmark"; then run.finish().

A summary run logs the sweep's sweep_summary.csv as the table "sweep_summary_table", or the
search's attempts and SLO details as the tables "capsearch_attempts" and "capsearch_slo_details"
(also written as capacity_search_attempts.csv and capacity_search_slo_details.csv into its
directory), and the directory's result files as an artifact ("veeksha-sweep",
"veeksha-capsearch").

Written against the wandb Python SDK 0.21 public API (wandb.init, Run.log, Run.summary,
Run.log_artifact, Run.finish, wandb.Artifact.add_file, wandb.Table(columns=, data=)); it uses
nothing newer than 0.12.
"""

import csv
import json
import os
import sys

# the shared protocol module sits beside this file (build tree and install alike); no .pyc is
# written next to it (the source tree, or a read-only install)
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from veeksha_protocol import PROTOCOL, claim_stdout, fail, hello, read, run, send  # noqa: E402

_SECRETS = {"api_key", "authorization", "access_token", "token", "secret", "password"}
_EXTS = {".yml", ".yaml", ".json", ".jsonl", ".csv", ".png", ".txt", ".log"}


def scrub(obj):
    if isinstance(obj, dict):
        return {k: ("<redacted>" if isinstance(k, str) and k.lower() in _SECRETS else scrub(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [scrub(v) for v in obj]
    return obj


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        # Veeksha writes Python's JSON (Infinity, NaN), which json.loads reads
        data = json.loads(text)
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def number(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    return None


def summary_values(run_dir):
    out = {}
    m = os.path.join(run_dir, "metrics")
    for name, prefix in (("summary_stats.json", "summary"), ("throughput_metrics.json", "throughput")):
        data = read_json(os.path.join(m, name)) or {}
        for k, v in data.items():
            if number(v) is not None:
                out["%s/%s" % (prefix, k)] = number(v)
    slo = read_json(os.path.join(m, "slo_results.json"))
    if slo and isinstance(slo.get("all_slos_met"), bool):
        out["slo/all_slos_met"] = float(slo["all_slos_met"])
    lm = read_json(os.path.join(m, "lmeval_results.json"))
    if lm:
        for task, metrics in (lm.get("results") or {}).items():
            for k, v in (metrics or {}).items():
                if number(v) is not None:
                    out["lmeval/%s/%s" % (task, k)] = number(v)
    return out


def timeseries_rows(run_dir):
    path = os.path.join(run_dir, "metrics", "timeseries.csv")
    if not os.path.exists(path):
        return []
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            vals = {}
            for k, v in row.items():
                try:
                    vals["timeseries/%s" % k] = float(v)
                except (TypeError, ValueError):
                    pass
            if vals:
                rows.append(vals)
    return rows


def artifact_files(run_dir):
    picked = []
    for rel in ("config.yml", "health_check_results.txt"):
        if os.path.isfile(os.path.join(run_dir, rel)):
            picked.append(rel)
    for sub in ("metrics", "traces"):
        base = os.path.join(run_dir, sub)
        for root, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if d not in ("wandb", ".wandb", "__pycache__")]
            for f in files:
                if os.path.splitext(f)[1].lower() in _EXTS:
                    picked.append(os.path.relpath(os.path.join(root, f), run_dir))
    return sorted(picked)


_SWEEP_FILES = ("sweep_manifest.json", "sweep_summary.json", "sweep_summary.csv", "decode_stats.json",
                "decode_stats.csv")
_CAPSEARCH_FILES = ("config.yml", "capacity_search_results.json", "capacity_search_attempts.csv",
                    "capacity_search_slo_details.csv")
_SLO_DETAIL_COLUMNS = ["attempt", "value", "run_dir", "slo_key", "met", "observed_value", "threshold",
                       "percentile", "metric", "slo_metric_key", "lower_is_better"]


def _slo_key(slo, idx):
    """An SLO's column name: its name (else its metric key), without slashes or runs of blanks."""
    raw = slo.get("name") or slo.get("slo_metric_key") or slo.get("metric") or "slo_%d" % idx
    s = str(raw)
    for ch in ("/", "\\", "\n", "\t"):
        s = s.replace(ch, " ")
    return " ".join(s.split())


def _slos_of(entry):
    """The SLO results of a history entry: Veeksha writes the list, the reference the whole
    slo_results.json object; both are read."""
    slo = entry.get("slo_results")
    if isinstance(slo, dict):
        slo = slo.get("results")
    return [x for x in slo if isinstance(x, dict)] if isinstance(slo, list) else []


def capsearch_tables(history):
    """The attempts (one row each, three columns per SLO) and the SLO details (one row per attempt
    and SLO) of a capacity search's history: (columns, rows) twice."""
    keys = []
    for entry in history:
        if isinstance(entry, dict):
            for i, slo in enumerate(_slos_of(entry)):
                if _slo_key(slo, i) not in keys:
                    keys.append(_slo_key(slo, i))
    cols = ["attempt", "value", "all_slos_met", "run_dir"]
    for k in keys:
        cols += ["%s/observed_value" % k, "%s/threshold" % k, "%s/met" % k]
    attempts, details = [], []
    for n, entry in enumerate((e for e in history if isinstance(e, dict)), start=1):
        row = dict.fromkeys(cols)
        row.update(attempt=n, value=entry.get("value"), all_slos_met=entry.get("all_slos_met"),
                   run_dir=entry.get("run_dir"))
        for i, slo in enumerate(_slos_of(entry)):
            k = _slo_key(slo, i)
            for f in ("observed_value", "threshold", "met"):
                row["%s/%s" % (k, f)] = slo.get(f)
            d = {c: slo.get(c) for c in _SLO_DETAIL_COLUMNS}
            d.update(attempt=n, value=entry.get("value"), run_dir=entry.get("run_dir"), slo_key=k)
            details.append(d)
        attempts.append(row)
    return (cols, attempts), (list(_SLO_DETAIL_COLUMNS), details)


def _write_csv(path, cols, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)


def log_summary(wandb, msg):
    """The summary run of a sweep (its sweep_summary.csv as a table) or of a capacity search (its
    attempts and SLO details as tables, also written as CSV files into the search's directory),
    with the directory's result files as an artifact."""
    kind, d = msg.get("kind"), msg["dir"]
    if kind == "sweep":
        config = {"sweep_dir": d}
    elif kind == "capsearch":
        result = read_json(os.path.join(d, "capacity_search_results.json"))
        if result is None:
            fail("protocol", "%s has no readable capacity_search_results.json" % d)
        config = {"capacity_search_output_dir": d}
        for k in ("searched_knob", "traffic_scheduler_type", "start_value", "max_value", "expansion_factor",
                  "max_iterations", "precision", "best_value"):
            config[k] = result.get(k)
    else:
        fail("protocol", "unknown summary kind %r" % (kind,))
    run = wandb.init(project=msg.get("project"), entity=msg.get("entity"), group=msg.get("group"),
                     name=msg.get("run_name"), tags=list(msg.get("tags") or []) or None, dir=d, config=config,
                     mode=msg.get("mode"))
    try:
        if kind == "sweep":
            path, files, art_name, art_type = os.path.join(d, "sweep_summary.csv"), _SWEEP_FILES, \
                "sweep-summary-files", "veeksha-sweep"
            if os.path.exists(path):
                with open(path, newline="", encoding="utf-8") as f:
                    reader = csv.DictReader(f)
                    rows = list(reader)
                if reader.fieldnames and rows:
                    cols = list(reader.fieldnames)
                    run.log({"sweep_summary_table": wandb.Table(columns=cols, data=[[r.get(c) for c in cols]
                                                                                    for r in rows])})
        else:
            files, art_name, art_type = _CAPSEARCH_FILES, "capsearch-output-files", "veeksha-capsearch"
            history = result.get("history")
            if isinstance(history, list) and history:
                for (cols, rows), key, name in zip(capsearch_tables(history),
                                                   ("capsearch_attempts", "capsearch_slo_details"),
                                                   ("capacity_search_attempts.csv", "capacity_search_slo_details.csv")):
                    if rows:
                        run.log({key: wandb.Table(columns=cols, data=[[r.get(c) for c in cols] for r in rows])})
                        _write_csv(os.path.join(d, name), cols, rows)
        art = wandb.Artifact(name="%s-%s" % (art_name, run.id), type=art_type)
        present = [rel for rel in files if os.path.exists(os.path.join(d, rel))]
        for rel in present:
            art.add_file(os.path.join(d, rel), name=rel)
        if present:
            run.log_artifact(art)
        info = run_info(run, msg)
    finally:
        run.finish()
    send({"type": "logged", "run": info})


def run_info(run, msg):
    info = {k: getattr(run, k, None) for k in ("id", "name", "entity", "project", "group", "path", "url")}
    info = {k: (v if v is None or isinstance(v, (str, int, float, bool)) else str(v)) for k, v in info.items()}
    info["mode"] = msg.get("mode") or "online"
    return info


def main():
    claim_stdout()
    try:
        import wandb
    except ImportError as e:
        fail("missing_package", str(e), module=getattr(e, "name", None) or "wandb",
             hint="install wandb there (bin/python -m pip install wandb)")
    hello("wandb", "wandb_version", getattr(wandb, "__version__", "unknown"))
    msg = read()
    if msg.get("type") == "log_summary" and msg.get("protocol") == PROTOCOL:
        return log_summary(wandb, msg)
    if msg.get("type") != "log" or msg.get("protocol") != PROTOCOL:
        fail("protocol", "expected a log or log_summary message of protocol %d" % PROTOCOL)
    run_dir = msg["run_dir"]
    name = msg.get("run_name") or os.path.basename(run_dir.rstrip("/"))
    config = dict(scrub(msg.get("config") or {}), run_kind="benchmark")
    run = wandb.init(project=msg.get("project"), entity=msg.get("entity"), group=msg.get("group"),
                     name=name, tags=list(msg.get("tags") or []) or None, notes=msg.get("notes"),
                     dir=run_dir, config=config, mode=msg.get("mode"))
    for step, row in enumerate(timeseries_rows(run_dir)):
        run.log(row, step=step)
    run.summary.update(summary_values(run_dir))
    if msg.get("log_artifacts", True):
        files = artifact_files(run_dir)
        if files:
            art = wandb.Artifact(name="benchmark-output-files-%s" % run.id, type="veeksha-benchmark")
            for rel in files:
                art.add_file(os.path.join(run_dir, rel), name=rel)
            run.log_artifact(art)
    info = run_info(run, msg)
    run.finish()
    send({"type": "logged", "run": info})


if __name__ == "__main__":
    run(main)
