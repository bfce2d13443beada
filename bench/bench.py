#!/usr/bin/env python3
"""Veeksha performance harness (issue 10). Every scenario runs the project's own binary against the
built-in simulated server on 127.0.0.1, bounded in time, and writes bench/out/<scenario>.json.

  bench/bench.py [--veeksha build/veeksha] [--quick] SCENARIO...
  scenarios: rate tokens floor fidelity scale endurance startup components trace scrape all

Client and sim server share the 2-core machine; when 2+ CPUs exist the sim is pinned to CPU 0 and the
client to CPU 1 (taskset), so the client's CPU time is its own."""
import argparse, glob, json, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
PIN = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# VK_BENCH_RT=1: also run the pinned processes with SCHED_FIFO priority 10 (chrt; needs root or
# CAP_SYS_NICE), so that other processes on a shared machine cannot preempt them for a CFS time
# slice (~3-4 ms), which otherwise dominates the dispatch-lateness p99 on a loaded box.
RT = os.environ.get("VK_BENCH_RT") == "1" and shutil.which("chrt") is not None


def pin(cpu, argv):
    if RT:
        argv = ["chrt", "-f", "10"] + argv
    return (["taskset", "-c", str(cpu)] + argv) if PIN else argv


class Sim:
    def __init__(self, veeksha, args, cpu=0):
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix="vk-bench-sim-")
        argv = [veeksha, "sim-server", "--host", "127.0.0.1", "--port", str(self.port), "--model", "sim-model"] + args
        self.proc = subprocess.Popen(pin(cpu, argv), stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.tmp, "sim.log"), "w"))
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as c:
                    c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if b" 200 " in c.recv(200):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop(keep_log=True)
        raise RuntimeError("sim-server did not become healthy (its log: %s)" % os.path.join(self.tmp, "sim.log"))

    def api(self):
        return "http://127.0.0.1:%d/v1" % self.port

    def stop(self, keep_log=False):
        """Stops the sim (callers may stop twice) and removes its directory (the log), unless it is
        kept to say why the sim failed."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not keep_log:
            shutil.rmtree(self.tmp, ignore_errors=True)


def close_point(sim, tmp):
    """The end of a point: stop its sim (which removes its directory) and remove the point's."""
    sim.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def write_cfg(path, api, traffic, prompt, output, max_sessions, timeout, trace=True, extra="", pregenerate=False, threads=1):
    with open(path, "w") as f:
        f.write(f"""client: {{type: openai_chat_completions, api_base: "{api}", model: sim-model, request_timeout: 120}}
traffic_scheduler: {traffic}
session_generator:
  type: synthetic
  session_graph: {{type: single_request}}
  channels: [{{type: text, body_length_generator: {{type: fixed, value: {prompt}}}}}]
  output_spec: {{text: {{output_length_generator: {{type: fixed, value: {output}}}}}}}
runtime: {{max_sessions: {max_sessions}, benchmark_timeout: {timeout}, post_timeout_grace_seconds: 10, pregenerate_sessions: {str(pregenerate).lower()}, num_client_threads: {threads}}}
trace_recorder: {{enabled: {str(trace).lower()}}}
evaluators: [{{type: performance, stream_metrics: false, slos: []}}]
{extra}""")


def run_client(veeksha, cfg, outdir, env=None, cpu=1, sample_rss=False):
    """Runs `veeksha benchmark` under /usr/bin/time -v; returns (rc, cpu_s, peak_rss_kb, rss_samples, run_dir)."""
    timef = os.path.join(outdir, "time.txt")
    argv = ["/usr/bin/time", "-v", "-o", timef] + pin(cpu, [veeksha, "benchmark", "--config", cfg, "--output_dir", outdir, "--quiet"])
    e = dict(os.environ)
    e["VK_NO_PLOTS"] = "1"  # gnuplot children would be counted as client CPU
    e.update(env or {})
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(os.path.join(outdir, "stderr.txt"), "w"), env=e)
    samples = []
    while p.poll() is None:
        if sample_rss:
            try:
                for child in open("/proc/%d/task/%d/children" % (p.pid, p.pid)).read().split():
                    samples.extend(rss_tree(int(child)))
            except OSError:
                pass
        time.sleep(0.2)
    rc = p.wait()
    t = open(timef).read() if os.path.exists(timef) else ""
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", t).group(1)) if t else 0
    sys_ = float(re.search(r"System time \(seconds\): ([\d.]+)", t).group(1)) if t else 0
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) if t else 0
    runs = [os.path.join(outdir, d) for d in os.listdir(outdir) if os.path.isdir(os.path.join(outdir, d, "metrics"))]
    return rc, user + sys_, rss, samples, (runs[0] if runs else None)


def rss_tree(pid):
    out = []
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                out.append((time.time(), int(line.split()[1])))
        for child in open("/proc/%d/task/%d/children" % (pid, pid)).read().split():
            out.extend(rss_tree(int(child)))
    except OSError:
        pass
    return out


def rows(run_dir):
    """Successful rows (a failed row has "success": false and no latencies, docs/OUTPUTS.md)."""
    with open(os.path.join(run_dir, "metrics", "request_level_metrics.jsonl")) as f:
        return [r for r in map(json.loads, f) if r.get("success", True)]


def summary(run_dir):
    return json.load(open(os.path.join(run_dir, "metrics", "summary_stats.json")))


def emit_log(path):
    """The sim's --emit-log records (one JSON object per line; a torn last line is skipped)."""
    out = []
    for l in open(path):
        try:
            out.append(json.loads(l))
        except ValueError:
            continue
    return out


def usage(run_dir):
    """metrics/client_usage.json: the client's CPU during the run (ingest) apart from writing outputs."""
    try:
        return json.load(open(os.path.join(run_dir, "metrics", "client_usage.json")))
    except (OSError, ValueError, TypeError):
        return {}


def pct(v, q):
    v = sorted(v)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def dispatch_times(run_dir):
    with open(os.path.join(run_dir, "traces", "dispatch_trace.jsonl")) as f:
        return sorted(json.loads(l)["dispatched_at"] for l in f)


# ---------------------------------------------------------------- scenario 1
def rate_point(veeksha, rate, output, seconds):
    sim = Sim(veeksha, ["--mode", "zero"])
    tmp = tempfile.mkdtemp(prefix="vk-bench-rate-")
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        n = int(rate * seconds)
        write_cfg(cfg, sim.api(), "{type: rate, interval_generator: {type: poisson, arrival_rate: %s}}" % rate, 128, output, n, seconds + 30)
        rc, cpu, rss, _, run = run_client(veeksha, cfg, tmp)
        if rc != 0 or not run:
            return {"rate": rate, "ok": False, "error": "exit %d" % rc}
        d = dispatch_times(run)
        observed = (len(d) - 1) / (d[-1] - d[0]) if len(d) > 1 else 0
        rr = rows(run)
        late = [r.get("dispatch_lateness") or 0 for r in rr]
        # the schedule's own rate (intended send times): its deviation from `rate` is Poisson
        # sampling noise (~1/sqrt(N)), not client error
        intended = sorted(r["scheduler_dispatched_at"] - (r.get("dispatch_lateness") or 0) for r in rr)
        sched = (len(intended) - 1) / (intended[-1] - intended[0]) if len(intended) > 1 else 0
        s = summary(run)
        res = {"rate": rate, "output_tokens": output, "requests": len(d), "observed_rate": observed,
               "schedule_rate": sched, "sampling_noise_pct": 100 / max(1, len(d)) ** 0.5,
               "rate_error_vs_schedule_pct": abs(observed - sched) / sched * 100 if sched else None,
               "rate_error_pct": abs(observed - rate) / rate * 100, "lateness_p50_ms": pct(late, 0.5) * 1e3,
               "lateness_p99_ms": pct(late, 0.99) * 1e3, "errors": s.get("Number of Errored Requests"),
               "client_cpu_s": cpu, "client_peak_rss_mb": rss / 1024}
        u = usage(run)
        res.update({"run_cpu_s": u.get("run_cpu_s"), "run_loop_spin_s": u.get("run_loop_spin_s"),
                    "run_cpu_us_per_request": u.get("run_cpu_us_per_request"),
                    "loop_busy_fraction": u.get("loop_busy_fraction"), "outputs_cpu_s": u.get("outputs_cpu_s"),
                    "client_usage": u})  # the whole client_usage.json (bench/footprint.py reads the spin keys)
        res["ok"] = res["rate_error_pct"] <= 2 and res["lateness_p99_ms"] < 1 and res["errors"] == 0
        return res
    finally:
        close_point(sim, tmp)


def scenario_rate(veeksha, quick):
    out = {}
    for output, ladder in ((64, [1000, 2000, 3000, 5000, 7500]), (1, [2000, 5000, 10000, 15000])):
        if quick:
            ladder = ladder[:2]
        pts = []
        best = 0
        for r in ladder:
            # >= 20,000 arrivals per point so that Poisson sampling noise (1/sqrt(N)) stays ~0.7%.
            # A shared VM preempts the client now and then for a few ms, which decides a single
            # run's p99; each point is therefore run 3 times (1 in quick mode) and judged by the
            # run with the median lateness p99 (all runs are kept in "runs").
            runs = [rate_point(veeksha, r, output, 3 if quick else max(5, int(20000 / r))) for _ in range(1 if quick else 3)]
            ranked = sorted(runs, key=lambda x: x.get("lateness_p99_ms", float("inf")))
            p = dict(ranked[len(ranked) // 2])
            p["runs"] = runs
            p["runs_lateness_p99_ms"] = [x.get("lateness_p99_ms") for x in runs]
            p["ok"] = p["ok"] and all(x.get("errors") == 0 and x.get("rate_error_pct", 100) <= 2 for x in runs)
            pts.append(p)
            print("  rate %6d req/s, %d-token outputs: observed %.1f (%.2f%% off), lateness p99 %.3f ms (runs: %s), errors %s -> %s" % (
                r, output, p.get("observed_rate", 0), p.get("rate_error_pct", 0), p.get("lateness_p99_ms", 0),
                ", ".join("%.2f" % (x or 0) for x in p["runs_lateness_p99_ms"]), p.get("errors"), "ok" if p["ok"] else "MISS"), flush=True)
            if p["ok"]:
                best = r  # every rung is run: a noisy rung does not hide the ones above it
        out["output_%d" % output] = {"max_rate_meeting_targets": best, "points": pts}
    return out


# ---------------------------------------------------------------- scenario 2
def scenario_tokens(veeksha, quick):
    res = {}
    # (a) 1,000 concurrent sessions x 512 tokens, zero-delay server (coalesced chunks)
    sim = Sim(veeksha, ["--mode", "zero"])
    tmp = tempfile.mkdtemp(prefix="vk-bench-tok-")
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        n = 2000 if not quick else 1000
        write_cfg(cfg, sim.api(), "{type: concurrent, target_concurrent_sessions: 1000, rampup_seconds: 0}", 64, 512, n, 120, trace=False)
        rc, cpu, rss, _, run = run_client(veeksha, cfg, tmp)
        tokens = sum(r["num_output_tokens"] for r in rows(run)) if run else 0
        u = usage(run) if run else {}
        res["a_coalesced"] = {"rc": rc, "requests": n, "tokens": tokens, "client_cpu_s": cpu,
                              "cpu_ms_per_1000_tokens": cpu * 1e3 / (tokens / 1000) if tokens else None,
                              "run_cpu_s": u.get("run_cpu_s"), "outputs_cpu_s": u.get("outputs_cpu_s"),
                              "run_cpu_ms_per_1000_tokens": u["run_cpu_s"] * 1e3 / (tokens / 1000) if tokens and u else None,
                              "loop_busy_fraction": u.get("loop_busy_fraction"),
                              "client_peak_rss_mb": rss / 1024}
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    # (b) 2,000 concurrent streams, ITL 20 ms: each token its own arrival (~100k tokens/s)
    sim = Sim(veeksha, ["--mode", "fixed", "--ttft-ms", "20", "--itl-ms", "20"])
    tmp = tempfile.mkdtemp(prefix="vk-bench-tok-")
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        streams = 2000 if not quick else 500
        write_cfg(cfg, sim.api(), "{type: concurrent, target_concurrent_sessions: %d, rampup_seconds: 0}" % streams, 32, 250, streams * 2, 120, trace=False)
        rc, cpu, rss, _, run = run_client(veeksha, cfg, tmp)
        rr = rows(run) if run else []
        tokens = sum(r["num_output_tokens"] for r in rr)
        chunks = sum(len(r["tbc"]) + 1 for r in rr)
        u = usage(run) if run else {}
        res["b_per_token"] = {"rc": rc, "streams": streams, "tokens": tokens, "chunks": chunks, "client_cpu_s": cpu,
                              "cpu_us_per_token": cpu * 1e6 / tokens if tokens else None, "client_peak_rss_mb": rss / 1024,
                              "run_cpu_s": u.get("run_cpu_s"), "outputs_cpu_s": u.get("outputs_cpu_s"),
                              "run_cpu_us_per_token": u["run_cpu_s"] * 1e6 / tokens if tokens and u else None,
                              "loop_busy_fraction": u.get("loop_busy_fraction"),
                              "tbc_p50_ms": pct([g for r in rr for g in r["tbc"]], 0.5) * 1e3 if rr else None}
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return res


# ---------------------------------------------------------------- scenario 2c: the floor
def floor_point(veeksha, streams, itl_ms, reqs_per_stream=2, tokens=250, ttft_ms=20, join=False):
    """The floor client (bench/floor/floor_client.c: one epoll event, one recvmsg with the kernel's
    receive stamp and a byte scan per read, nothing else) against the same sim settings as
    ours_point: what any client that stamps its chunks pays on this machine. join=True: also its
    timing fidelity, joined with the sim's emit log like veeksha's (fidelity_join)."""
    exe = os.path.join(os.path.dirname(veeksha), "bench", "floor_client")
    tmp = tempfile.mkdtemp(prefix="vk-bench-floor-")
    emit, chunk_log = os.path.join(tmp, "emit.jsonl"), os.path.join(tmp, "chunks.jsonl")
    sim = Sim(veeksha, ["--mode", "fixed", "--ttft-ms", str(ttft_ms), "--itl-ms", str(itl_ms)] + (["--emit-log", emit] if join else []))
    try:
        p = subprocess.run(pin(1, [exe, str(sim.port), str(streams), str(reqs_per_stream), str(tokens)] + ([chunk_log] if join else [])),
                           capture_output=True, text=True, timeout=120)
        sim.stop()
        res = json.loads(p.stdout) if p.stdout.strip() else {}
        res["rc"] = p.returncode
        if join and p.returncode == 0:
            res["fidelity"] = fidelity_join(emit, chunk_log)
        return res
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def ours_point(veeksha, streams, itl_ms, reqs_per_stream=2, tokens=250):
    """veeksha with the floor client's workload: client CPU during the run (client_usage.json) per chunk."""
    sim = Sim(veeksha, ["--mode", "fixed", "--ttft-ms", "20", "--itl-ms", str(itl_ms)])
    tmp = tempfile.mkdtemp(prefix="vk-bench-floor-")
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        write_cfg(cfg, sim.api(), "{type: concurrent, target_concurrent_sessions: %d, rampup_seconds: 0}" % streams, 32, tokens,
                  streams * reqs_per_stream, 120, trace=False)
        rc, cpu, rss, _, run = run_client(veeksha, cfg, tmp)
        rr = rows(run) if run else []
        chunks = sum(len(r["tbc"]) + 1 for r in rr)
        u = usage(run) if run else {}
        return {"rc": rc, "chunks": chunks, "run_cpu_s": u.get("run_cpu_s"),
                "cpu_us_per_chunk": u["run_cpu_s"] * 1e6 / chunks if chunks and u.get("run_cpu_s") else None,
                "busy_fraction": u.get("loop_busy_fraction"), "read_lag_us_p50": u.get("read_lag_us_p50"),
                "read_lag_us_p99": u.get("read_lag_us_p99")}
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def scenario_floor(veeksha, quick):
    """Client CPU per chunk against the floor client, in interleaved pairs (this VM's speed drifts
    by +-20% within minutes, so only figures measured side by side are compared): at 2b's load
    (2,000 streams, ITL 20 ms: the loop saturates, reads carry more than one chunk) and at 1,000
    streams, ITL 20 ms (50k chunks/s: every chunk its own read, the per-chunk cost as such). Then
    the floor alone at the fidelity scenario's 1,000 streams / ITL 10 ms: whether even the least
    possible work per chunk keeps up with 100k chunks/s here."""
    out = {}
    pairs = 1 if quick else 2
    for name, streams, itl in (("saturated_2000_itl20", 2000 if not quick else 500, 20), ("unsaturated_1000_itl20", 1000 if not quick else 200, 20)):
        ours, floor = [], []
        for _ in range(pairs):
            ours.append(ours_point(veeksha, streams, itl))
            floor.append(floor_point(veeksha, streams, itl))
        o = statistics.median([x["cpu_us_per_chunk"] for x in ours if x.get("cpu_us_per_chunk")] or [float("nan")])
        f = statistics.median([x["cpu_us_per_chunk"] for x in floor if x.get("cpu_us_per_chunk")] or [float("nan")])
        out[name] = {"streams": streams, "itl_ms": itl, "ours": ours, "floor": floor, "ours_cpu_us_per_chunk": o,
                     "floor_cpu_us_per_chunk": f, "ratio": o / f if f else None}
        print("  %d streams, ITL %d ms: veeksha %.2f us/chunk, floor %.2f us/chunk (x%.2f), floor reads per chunk %.2f" % (
            streams, itl, o, f, o / f if f else 0,
            statistics.median([x["reads"] / x["chunks"] for x in floor if x.get("chunks")] or [0])), flush=True)
    # the fidelity scenario's workload (TTFT 50 ms, ITL 10 ms, 128 tokens, 2 requests per stream)
    fl = floor_point(veeksha, 1000 if not quick else 200, 10, tokens=128, ttft_ms=50, join=True)
    out["floor_fidelity_1000_itl10"] = fl
    fj = fl.get("fidelity") or {}
    print("  floor alone, %d streams, ITL 10 ms: %.2f us/chunk, busy %.2f, %.2f reads per chunk, read lag p99 %.0f us; "
          "abs(client - server) p50 / p99 / max %.1f / %.1f / %.1f us (sim behind schedule p50 %.0f us)" % (
        fl.get("conns") or 0, fl.get("cpu_us_per_chunk") or 0, fl.get("busy_fraction") or 0, (fl.get("reads") or 0) / (fl.get("chunks") or 1),
        fl.get("read_lag_us_p99") or 0, fj.get("abs_diff_us_p50") or 0, fj.get("abs_diff_us_p99") or 0, fj.get("abs_diff_us_max") or 0,
        fj.get("sim_behind_schedule_us_p50") or 0), flush=True)
    return out


# ---------------------------------------------------------------- scenario 3
def fidelity_join(emit, chunk_log):
    """Joins a client's per-chunk stamps (VEEKSHA_CHUNK_LOG lines: request_id, chunk_ns) with the
    sim's emit log by request id and chunk index: |client - server| per chunk."""
    server, lag = {}, []
    for e in emit_log(emit):
        # sim --emit-log: "chunk_mono_ns" (older logs: "chunks")
        ts = e.get("chunk_mono_ns") or [c["mono_ns"] if isinstance(c, dict) else c for c in e.get("chunks", [])]
        server[str(e.get("request_id"))] = ts
        # how far the sim itself fell behind its schedule (it shares the machine)
        lag.extend((a - b) / 1e3 for a, b in zip(ts, e.get("chunk_sched_mono_ns", [])))
    diffs, first, last = [], None, None
    # with client threads, loop k > 0 writes <chunk_log>.<k> (src/runner/run.c)
    lines = [l for path in [chunk_log] + sorted(glob.glob(glob.escape(chunk_log) + ".*")) for l in open(path)]
    for l in lines:
        c = json.loads(l)
        s = server.get(str(c["request_id"]))
        if not s:
            continue
        for a, b in zip(c["chunk_ns"], s):
            diffs.append(abs(a - b) / 1e3)
        first = min(first or s[0], s[0])
        last = max(last or s[-1], s[-1])
    return {"pairs": len(diffs), "abs_diff_us_p50": pct(diffs, 0.5),
            "abs_diff_us_p99": pct(diffs, 0.99), "abs_diff_us_max": max(diffs) if diffs else None,
            "share_over_200us": sum(1 for d in diffs if d > 200) / len(diffs) if diffs else None,
            "chunks_per_s": len(diffs) / ((last - first) / 1e9) if diffs and last > first else None,
            "sim_behind_schedule_us_p50": pct(lag, 0.5), "sim_behind_schedule_us_p99": pct(lag, 0.99)}


def fidelity_point(veeksha, conc, quick, itl_ms=10):
    tmp = tempfile.mkdtemp(prefix="vk-bench-fid-")
    emit = os.path.join(tmp, "emit.jsonl")
    sim = Sim(veeksha, ["--mode", "fixed", "--ttft-ms", "50", "--itl-ms", str(itl_ms), "--emit-log", emit])
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        write_cfg(cfg, sim.api(), "{type: concurrent, target_concurrent_sessions: %d, rampup_seconds: 0}" % conc, 32, 128, conc * 2, 120, trace=False)
        chunk_log = os.path.join(tmp, "chunks.jsonl")
        rc, cpu, rss, _, run = run_client(veeksha, cfg, tmp, env={"VEEKSHA_CHUNK_LOG": chunk_log})
        sim.stop()
        u = usage(run) if run else {}
        return {"concurrency": conc, "itl_ms": itl_ms, "rc": rc, **fidelity_join(emit, chunk_log),
                "loop_busy_fraction": u.get("loop_busy_fraction"),
                # the client's own check, without the emit log (client_usage.json)
                "read_lag_us_p50": u.get("read_lag_us_p50"), "read_lag_us_p99": u.get("read_lag_us_p99"),
                "reads_lagging_tbc_p90_share": u.get("reads_lagging_tbc_p90_share"),
                "chunk_stamps_may_be_late": u.get("chunk_stamps_may_be_late")}
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def ttfc_added_point(veeksha):
    # client-added TTFC at 64 concurrent sessions against the zero-delay server. Client and sim stamp
    # with the same CLOCK_MONOTONIC, so the client's share of each TTFC is exact: the send path
    # (server arrival - client send) plus the receive path (client first-chunk stamp - server first
    # emit). The raw TTFC also contains the sim's own time to the first token.
    tmp = tempfile.mkdtemp(prefix="vk-bench-ttfc-")
    emit = os.path.join(tmp, "emit.jsonl")
    sim = Sim(veeksha, ["--mode", "zero", "--emit-log", emit])
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        write_cfg(cfg, sim.api(), "{type: concurrent, target_concurrent_sessions: 64, rampup_seconds: 0}", 128, 64, 3000, 120, trace=False)
        chunk_log = os.path.join(tmp, "chunks.jsonl")
        rc, cpu, rss, _, run = run_client(veeksha, cfg, tmp, env={"VEEKSHA_CHUNK_LOG": chunk_log})
        sim.stop()
        t = [r["ttfc"] for r in rows(run)] if run else []
        server = {}
        for e in emit_log(emit):
            if e.get("arrival_mono_ns") and e.get("chunk_mono_ns"):
                server[str(e.get("request_id"))] = (e["arrival_mono_ns"], e["chunk_mono_ns"][0])
        send, recv, tot = [], [], []
        for l in open(chunk_log):
            c = json.loads(l)
            sv = server.get(str(c["request_id"]))
            if not sv or not c["chunk_ns"] or not c.get("sent_ns"):
                continue
            a, b = (sv[0] - c["sent_ns"]) / 1e6, (c["chunk_ns"][0] - sv[1]) / 1e6
            send.append(a)
            recv.append(b)
            tot.append(a + b)
        added = {"rc": rc, "requests": len(t), "ttfc_p50_ms": pct(t, 0.5) * 1e3, "ttfc_p99_ms": pct(t, 0.99) * 1e3,
                 "joined": len(tot), "client_added_p50_ms": pct(tot, 0.5), "client_added_p99_ms": pct(tot, 0.99),
                 "send_path_p50_ms": pct(send, 0.5), "receive_path_p50_ms": pct(recv, 0.5)}
        # the same closed loop's throughput and CPU, for the ratios against the Python peers
        # (their figures were taken at 64 concurrent sessions against a zero-delay server)
        u = usage(run) if run else {}
        tokens = sum(r["num_output_tokens"] for r in rows(run)) if run else 0
        added["requests_per_s"] = len(t) / u["run_wall_s"] if u.get("run_wall_s") else None
        added["run_cpu_ms_per_1000_tokens"] = u["run_cpu_s"] * 1e6 / tokens if tokens and u.get("run_cpu_s") else None
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return added


def scenario_fidelity(veeksha, quick):
    pts = [fidelity_point(veeksha, c, quick) for c in ((100, 1000) if quick else (100, 1000, 5000))]
    if not quick:
        # the same 1,000 streams at half the chunk rate (50k/s): a loop that keeps up
        pts.append(fidelity_point(veeksha, 1000, quick, itl_ms=20))
    for p in pts:
        print("  %5d streams, ITL %d ms: |client - server| p50 %.1f us, p99 %.1f us, max %.1f us over %d chunks (%.0f chunks/s, sim behind schedule p50 %.0f us, loop busy %.2f, read lag p99 %.0f us)" % (
            p["concurrency"], p["itl_ms"], p["abs_diff_us_p50"], p["abs_diff_us_p99"], p["abs_diff_us_max"] or 0, p["pairs"],
            p["chunks_per_s"] or 0, p["sim_behind_schedule_us_p50"] or 0, p["loop_busy_fraction"] or 0, p["read_lag_us_p99"] or 0), flush=True)
    added = ttfc_added_point(veeksha)
    print("  TTFC at 64 sessions (zero-delay server): p50 %.3f ms; client-added p50 %.3f ms, p99 %.3f ms (send %.3f + receive %.3f)" % (
        added["ttfc_p50_ms"], added["client_added_p50_ms"] or 0, added["client_added_p99_ms"] or 0,
        added["send_path_p50_ms"] or 0, added["receive_path_p50_ms"] or 0))
    return {"points": pts, "client_added_ttfc_64": added}


# ---------------------------------------------------------------- scenario 4
def scenario_scale(veeksha, quick):
    streams = 10000 if not quick else 2000
    sim = Sim(veeksha, ["--mode", "fixed", "--ttft-ms", "100", "--itl-ms", "100"])
    tmp = tempfile.mkdtemp(prefix="vk-bench-scale-")
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        write_cfg(cfg, sim.api(), "{type: concurrent, target_concurrent_sessions: %d, rampup_seconds: 0}" % streams, 16, 300, -1, 30 if not quick else 10, trace=False)
        rc, cpu, rss, _, run = run_client(veeksha, cfg, tmp)
        s = summary(run) if run else {}
        u = usage(run) if run else {}
        # peak of the whole process (/usr/bin/time) and the resident set at the end of the run,
        # before the output files are written (client_usage.json)
        return {"streams": streams, "rc": rc, "errors": s.get("Number of Errored Requests"), "requests": s.get("Number of Requests"),
                "completed": s.get("Number of Completed Requests"), "client_peak_rss_mb": rss / 1024, "client_cpu_s": cpu,
                "run_end_rss_mb": (u.get("run_end_rss_kb") or 0) / 1024, "outputs_cpu_s": u.get("outputs_cpu_s")}
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- scenario 5
def scenario_endurance(veeksha, quick):
    total = 1000000 if not quick else 50000
    rate = 10000
    sim = Sim(veeksha, ["--mode", "zero"])
    tmp = tempfile.mkdtemp(prefix="vk-bench-endure-")
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        write_cfg(cfg, sim.api(), "{type: rate, interval_generator: {type: fixed, interval: %s}}" % (1.0 / rate), 16, 4, total, total // rate + 60, trace=False)
        t0 = time.time()
        rc, cpu, rss, samples, run = run_client(veeksha, cfg, tmp, sample_rss=True)
        dur = time.time() - t0
        marks = {}
        s = summary(run) if run else {}
        u = usage(run) if run else {}
        if samples:
            # 10/50/100% of the run itself (client_usage.json's run_wall_s from the first sample);
            # what follows is writing the output files, reported as its own peak
            t_first = samples[0][0]
            span = u.get("run_wall_s") or (samples[-1][0] - t_first)
            for frac in (0.1, 0.5, 1.0):
                tt = t_first + span * frac
                inside = [x for x in samples if x[0] <= t_first + span] or samples
                best = min(inside, key=lambda x: abs(x[0] - tt))
                marks["rss_mb_at_%d_pct" % int(frac * 100)] = best[1] / 1024
            after = [x[1] for x in samples if x[0] > t_first + span]
            marks["rss_mb_peak_writing_outputs"] = max(after) / 1024 if after else None
        if u.get("run_end_rss_kb", -1) > 0:
            # exact: the client's own reading at the end of the run, before the outputs
            marks["rss_mb_at_100_pct"] = u["run_end_rss_kb"] / 1024
            marks["rss_mb_at_100_pct_source"] = "client_usage.json run_end_rss_kb"
        # An open-loop run whose server (or client) falls behind accumulates requests in flight, and
        # with them memory: RSS then measures the backlog, not per-request growth. Say so.
        kept_up = u.get("run_wall_s") is not None and u["run_wall_s"] < (total / rate) * 1.1 + 5
        return {"requests": total, "rate": rate, "rc": rc, "seconds": dur, "completed": s.get("Number of Completed Requests"),
                "errors": s.get("Number of Errored Requests"), "client_peak_rss_mb": rss / 1024,
                "run_wall_s": u.get("run_wall_s"), "kept_up_with_schedule": kept_up,
                "loop_busy_fraction": u.get("loop_busy_fraction"), "outputs_cpu_s": u.get("outputs_cpu_s"), **marks}
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- scenario 6
def scenario_startup(veeksha, quick):
    res = []
    for _ in range(5):
        tmp = tempfile.mkdtemp(prefix="vk-bench-start-")
        emit = os.path.join(tmp, "emit.jsonl")
        sim = Sim(veeksha, ["--mode", "zero", "--emit-log", emit])
        try:
            cfg = os.path.join(tmp, "cfg.yml")
            write_cfg(cfg, sim.api(), "{type: rate, interval_generator: {type: poisson, arrival_rate: 1000}}", 128, 4, 10000, 1,
                      trace=False, pregenerate=True)
            t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            rc, cpu, rss, _, run = run_client(veeksha, cfg, tmp, cpu=1)
            sim.stop()
            first = None
            for e in emit_log(emit):
                a = e.get("arrival_mono_ns") or e.get("arrival_ns")
                if a and (first is None or a < first):
                    first = a
            if first:
                res.append((first - t0) / 1e6)
        finally:
            sim.stop()
            shutil.rmtree(tmp, ignore_errors=True)
    return {"runs_ms": res, "median_ms_to_first_request": statistics.median(res) if res else None,
            "note": "10,000 pre-generated sessions (pregenerate_sessions: true); time from process start to the first request's arrival at the server"}


# ---------------------------------------------------------------- scenario 7
def scenario_components(veeksha, quick):
    exe = os.path.join(os.path.dirname(veeksha), "bench", "bench_components")
    tokdir = os.path.join(ROOT, ".cache", "tokenizers")
    tokjson = ""
    for root, _, files in os.walk(tokdir) if os.path.isdir(tokdir) else []:
        if "tokenizer.json" in files and "llama3" in root:
            tokjson = os.path.join(root, "tokenizer.json")
            break
    runs = []
    for _ in range(3 if quick else 5):
        out = subprocess.run([exe, tokjson, os.path.join(ROOT, "examples", "demo.veeksha.yml")], capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout))
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0] if isinstance(runs[0][k], (int, float))}
    for k in runs[0]:
        if not isinstance(runs[0][k], (int, float)):
            med[k] = runs[0][k]
    return {"median_of_runs": len(runs), **med}


# ---------------------------------------------------------------- scenario 8
def trace_point(veeksha, trace, n, scale):
    """One Mooncake timestamp replay of `trace` (n rows) at `scale`: p99/max |dispatched_at - ts/1000*scale|."""
    sim = Sim(veeksha, ["--mode", "fixed", "--ttft-ms", "5", "--itl-ms", "1"])
    tmp = tempfile.mkdtemp(prefix="vk-bench-trace-")
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        with open(cfg, "w") as f:
            f.write(f"""client: {{type: openai_chat_completions, api_base: "{sim.api()}", model: sim-model, request_timeout: 120}}
session_generator:
  type: trace
  trace_file: {trace}
  wrap_mode: false
  flavor: {{type: mooncake, block_size: 8, replay_timestamps: true, time_scale: {scale}}}
traffic_scheduler: {{type: rate, interval_generator: {{type: fixed, interval: 0.02}}}}
runtime: {{max_sessions: {n}, benchmark_timeout: 120}}
trace_recorder: {{enabled: true}}
evaluators: [{{type: performance, stream_metrics: false, slos: []}}]
""")
        rc, cpu, rss, _, run = run_client(veeksha, cfg, tmp)
        if rc != 0 or not run:
            return {"time_scale": scale, "ok": False, "error": "exit %d" % rc}
        ts = [json.loads(l)["timestamp"] for l in open(trace)]
        with open(os.path.join(run, "traces", "dispatch_trace.jsonl")) as f:
            tr = sorted((json.loads(l) for l in f), key=lambda t: t["session_id"])
        err = [abs(t["dispatched_at"] - ts[i] / 1000.0 * scale) for i, t in enumerate(tr)]
        res = {"time_scale": scale, "requests": len(tr), "dispatch_error_p50_ms": pct(err, 0.5) * 1e3,
               "dispatch_error_p99_ms": pct(err, 0.99) * 1e3, "dispatch_error_max_ms": max(err) * 1e3 if err else None,
               "client_cpu_s": cpu}
        res["ok"] = len(tr) == n and res["dispatch_error_p99_ms"] < 1
        return res
    finally:
        close_point(sim, tmp)


def scenario_trace(veeksha, quick):
    """Trace timestamp replay precision (the sub-millisecond target that tests/e2e/test_trace_timing.sh
    checks only with a functional 50 ms bound): a Mooncake trace with uneven gaps (~100 arrivals/s)
    replayed at time scale 1.0 and 0.5; target p99 dispatch error < 1 ms; median of 3 runs per scale."""
    n = 200 if quick else 1000
    tmp = tempfile.mkdtemp(prefix="vk-bench-tracefile-")
    try:
        trace = os.path.join(tmp, "mooncake.jsonl")
        with open(trace, "w") as f:
            for i in range(n):
                f.write(json.dumps({"timestamp": i * 10 + (i % 3) * 3, "input_length": 16, "output_length": 4,
                                    "hash_ids": [1, 2 + i % 4]}) + "\n")
        out = {}
        for scale in (1.0, 0.5):
            runs = [trace_point(veeksha, trace, n, scale) for _ in range(1 if quick else 3)]
            ranked = sorted(runs, key=lambda x: x.get("dispatch_error_p99_ms", float("inf")))
            p = dict(ranked[len(ranked) // 2])
            p["runs_dispatch_error_p99_ms"] = [x.get("dispatch_error_p99_ms") for x in runs]
            print("  time scale %.1f: dispatch error p99 %.3f ms (runs: %s) -> %s" % (
                scale, p.get("dispatch_error_p99_ms", float("nan")),
                ", ".join("%.3f" % (x or 0) for x in p["runs_dispatch_error_p99_ms"]), "ok" if p.get("ok") else "MISS"), flush=True)
            out["scale_%s" % scale] = p
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- scenario: server-metrics scrape
def scrape_point(veeksha, rate, seconds, enabled, interval_s=1.0):
    """Poisson `rate` req/s (64-token outputs) against the zero-mode sim with the scrape on or off:
    the scrape's CPU (its thread + the baseline and final scrapes) against the client loop's busy
    CPU (loop thread CPU minus the dispatch spin, docs/ARCHITECTURE.md)."""
    sim = Sim(veeksha, ["--mode", "zero"])
    tmp = tempfile.mkdtemp(prefix="vk-bench-scrape-")
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        extra = "server_metrics: {enabled: %s, interval_s: %s}" % (str(enabled).lower(), interval_s)
        write_cfg(cfg, sim.api(), "{type: rate, interval_generator: {type: poisson, arrival_rate: %s}}" % rate, 128, 64,
                  int(rate * seconds), seconds + 30, extra=extra)
        rc, cpu, rss, _, run = run_client(veeksha, cfg, tmp)
        if rc != 0 or not run:
            return {"rate": rate, "enabled": enabled, "ok": False, "error": "exit %d" % rc}
        u = usage(run)
        busy = (u.get("run_loop_thread_cpu_s") or 0) - (u.get("run_loop_spin_s") or 0)
        late = [r.get("dispatch_lateness") or 0 for r in rows(run)]
        res = {"rate": rate, "enabled": enabled, "interval_s": interval_s, "requests": len(late),
               "loop_busy_cpu_s": busy, "loop_busy_fraction": u.get("loop_busy_fraction"), "run_cpu_s": u.get("run_cpu_s"),
               "lateness_p99_ms": pct(late, 0.99) * 1e3, "client_cpu_s": cpu}
        if enabled:
            j = json.load(open(os.path.join(run, "metrics", "server_summary.json")))
            sc = (j.get("scrape_thread_cpu_s") or 0) + (j.get("scrape_caller_cpu_s") or 0)
            res.update({"scrapes": j.get("scrapes_ok"), "scrape_cpu_s": sc, "scrape_wall_s": j.get("scrape_wall_s"),
                        "scrape_share_of_loop_busy": sc / busy if busy > 0 else None,
                        "series": j.get("series")})
        res["ok"] = True
        return res
    finally:
        close_point(sim, tmp)


def recon_point(veeksha):
    """Roofline sim at a load that queues (8 sessions, 4 batch slots, small KV): the reconciliation's
    TTFC p50 - server TTFT p50 on loopback, and the token and request agreement."""
    sim = Sim(veeksha, ["--max-num-seqs", "4", "--kv-capacity-tokens", "600"])
    tmp = tempfile.mkdtemp(prefix="vk-bench-recon-")
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        write_cfg(cfg, sim.api(), "{type: concurrent, target_concurrent_sessions: 8, rampup_seconds: 0}", 100, 16, 64, 60,
                  extra="server_metrics: {interval_s: 0.2}")
        rc, _, _, _, run = run_client(veeksha, cfg, tmp)
        if rc != 0 or not run:
            return {"ok": False, "error": "exit %d" % rc}
        j = json.load(open(os.path.join(run, "metrics", "server_summary.json")))
        r = j["reconciliation"]
        return {"ttfc_minus_ttft_p50_ms": r["ttfc_p50_s"]["difference_s"] * 1e3,
                "ttfc_minus_ttft_p99_ms": r["ttfc_p99_s"]["difference_s"] * 1e3,
                "ttfc_minus_ttft_mean_ms": r["ttfc_mean_s"]["difference_s"] * 1e3,
                "tokens_client": r["output_tokens"]["client"], "tokens_server": r["output_tokens"]["server"],
                "waiting_max": j["metrics"]["waiting"]["max"], "kv_max": j["metrics"]["kv_cache_usage"]["max"],
                "ok": r["output_tokens"]["client"] == r["output_tokens"]["server"] and abs(r["ttfc_p50_s"]["difference_s"]) < 0.002}
    finally:
        close_point(sim, tmp)


def scenario_scrape(veeksha, quick):
    rate, seconds = 5000, (3 if quick else 8)
    out = {"points": []}
    # interleaved on/off pairs: the machine's phase affects both alike
    for _ in range(1 if quick else 3):
        for enabled, interval in ((True, 1.0), (False, 1.0), (True, 0.1)):
            p = scrape_point(veeksha, rate, seconds, enabled, interval)
            out["points"].append(p)
            print("  %d req/s scrape %s (interval %.1f s): loop busy %.3f s CPU, scrape %.4f s CPU (%s of loop busy), lateness p99 %.3f ms" % (
                rate, "on " if enabled else "off", interval, p.get("loop_busy_cpu_s", 0), p.get("scrape_cpu_s", 0),
                "%.3f%%" % (100 * p["scrape_share_of_loop_busy"]) if p.get("scrape_share_of_loop_busy") is not None else "-",
                p.get("lateness_p99_ms", 0)), flush=True)
    shares = [p["scrape_share_of_loop_busy"] for p in out["points"] if p.get("enabled") and p.get("interval_s") == 1.0 and p.get("scrape_share_of_loop_busy") is not None]
    out["scrape_share_of_loop_busy_max_1s"] = max(shares) if shares else None
    out["recon"] = [recon_point(veeksha) for _ in range(1 if quick else 5)]
    for r in out["recon"]:
        print("  roofline, queueing: TTFC p50 - TTFT p50 %.3f ms (p99 %.3f, mean %.3f), tokens %s/%s, waiting max %s, KV max %s" % (
            r.get("ttfc_minus_ttft_p50_ms", float("nan")), r.get("ttfc_minus_ttft_p99_ms", float("nan")),
            r.get("ttfc_minus_ttft_mean_ms", float("nan")), r.get("tokens_client"), r.get("tokens_server"),
            r.get("waiting_max"), r.get("kv_max")), flush=True)
    out["ok"] = bool(shares) and max(shares) < 0.01 and all(r.get("ok") for r in out["recon"])
    return out


# ---------------------------------------------------------------- shards (docs/DISTRIBUTED.md)
THREADS = [1, 2]


def shard_point(veeksha, threads, conc, itl_ms=10):
    """The fidelity workload (TTFT 50 ms, ITL itl_ms, 128 tokens, 2 requests per stream) with `threads`
    client loops. The sim keeps CPU 0; the client gets CPUs 1..threads when the machine has them, else
    every CPU (shared with the sim: what a small machine can show)."""
    tmp = tempfile.mkdtemp(prefix="vk-bench-shard-")
    emit = os.path.join(tmp, "emit.jsonl")
    ncpu = os.cpu_count() or 1
    cpus = "1-%d" % threads if ncpu >= threads + 1 else "0-%d" % (min(threads, ncpu) - 1)
    sim = Sim(veeksha, ["--mode", "fixed", "--ttft-ms", "50", "--itl-ms", str(itl_ms), "--emit-log", emit])
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        write_cfg(cfg, sim.api(), "{type: concurrent, target_concurrent_sessions: %d, rampup_seconds: 0}" % conc, 32, 128,
                  conc * 2, 120, trace=False, threads=threads)
        chunk_log = os.path.join(tmp, "chunks.jsonl")
        rc, cpu, rss, _, run = run_client(veeksha, cfg, tmp, env={"VEEKSHA_CHUNK_LOG": chunk_log}, cpu=cpus)
        sim.stop()
        return {"threads": threads, "client_cpus": cpus, "concurrency": conc, "itl_ms": itl_ms, "rc": rc,
                "client_cpu_s": cpu, **fidelity_join(emit, chunk_log)}
    finally:
        sim.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def scenario_shards(veeksha, quick):
    """Shard scaling: the highest chunk rate at which the client's chunk stamps stay within 200 us
    (p99) of the sim's emits, for each client-thread count; the ratio to one thread."""
    levels = (250, 500, 1000) if quick else (250, 500, 1000, 1500, 2000, 3000)
    out = {"cpus": os.cpu_count(), "points": [], "best_chunks_per_s": {}}
    for t in THREADS:
        best = None
        for conc in levels:
            p = shard_point(veeksha, t, conc)
            out["points"].append(p)
            ok = p["rc"] == 0 and p["abs_diff_us_p99"] is not None and p["abs_diff_us_p99"] < 200
            print("  %d thread(s) on CPUs %s, %5d streams: %.0f chunks/s, |client - server| p99 %.1f us %s" % (
                t, p["client_cpus"], conc, p["chunks_per_s"] or 0, p["abs_diff_us_p99"] or -1, "ok" if ok else "MISS"), flush=True)
            if not ok:
                break
            best = p["chunks_per_s"]
        out["best_chunks_per_s"][str(t)] = best
    b1 = out["best_chunks_per_s"].get("1")
    out["ratio_to_1_thread"] = {k: (v / b1 if v and b1 else None) for k, v in out["best_chunks_per_s"].items()}
    print("  best chunks/s at p99 < 200 us: %s; ratio to 1 thread: %s" % (out["best_chunks_per_s"], out["ratio_to_1_thread"]))
    return out


# ---------------------------------------------------------------- scenario: outputs (issue 17 item 2)
def outputs_point(veeksha, traffic, n, output, plots=True, sample_rss=False):
    """One run: run CPU, output-phase CPU and wall (client_usage.json), whole-process CPU (incl. gnuplot,
    a child), and each output step's CPU (VK_OUTPUT_TIMING=1 on stderr, binaries that have it)."""
    sim = Sim(veeksha, ["--mode", "zero"])
    tmp = tempfile.mkdtemp(prefix="vk-bench-out-")
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        write_cfg(cfg, sim.api(), traffic, 128, output, n, 600)
        env = {"VK_OUTPUT_TIMING": "1", "VK_NO_PLOTS": "0" if plots else "1"}
        rc, cpu, rss, samples, run = run_client(veeksha, cfg, tmp, env=env, sample_rss=sample_rss)
        u = usage(run) if run else {}
        steps = {}
        direct_mb = 0
        for l in open(os.path.join(tmp, "stderr.txt"), errors="replace"):
            m = re.match(r"veeksha outputs: (.+?)\s+cpu ([\d.]+) s, wall ([\d.]+) s", l)
            if m:
                steps[m.group(1)] = float(m.group(2))
            m = re.match(r"veeksha outputs: chrome_trace.json: (\d+) MB with O_DIRECT", l)
            if m:  # the page cache was slow to fill (docs/OUTPUTS.md, Output phase)
                direct_mb = int(m.group(1))
        res = {"rc": rc, "requests": n, "output_tokens": output, "run_cpu_s": u.get("run_cpu_s"),
               "run_loop_spin_s": u.get("run_loop_spin_s"), "outputs_cpu_s": u.get("outputs_cpu_s"),
               "outputs_wall_s": u.get("outputs_wall_s"), "process_cpu_s": cpu, "process_peak_rss_mb": rss / 1024,
               "outputs_share_of_run_cpu": (u["outputs_cpu_s"] / u["run_cpu_s"]) if u.get("run_cpu_s") else None,
               "steps_cpu_s": steps, "trace_direct_mb": direct_mb}
        if sample_rss and samples and u.get("run_wall_s"):
            after = [x[1] for x in samples if x[0] > samples[0][0] + u["run_wall_s"]]
            res["rss_mb_peak_writing_outputs"] = max(after) / 1024 if after else None
            res["run_end_rss_mb"] = (u.get("run_end_rss_kb") or 0) / 1024
        return res
    finally:
        close_point(sim, tmp)


def scenario_outputs(veeksha, quick):
    """The output phase against the run: 48,000 requests with 64-token outputs, (a) 64 concurrent sessions
    (the cheapest run per request, so the hardest ratio) and (b) 4,000 Poisson req/s; the target is
    outputs_cpu_s <= 10% of run_cpu_s. VK_BENCH_BASELINE=<binary>: each point also run with that binary,
    in interleaved pairs (3; 1 with --quick), medians compared. Then 1,000,000 requests at 10,000/s
    with 4-token outputs (not with --quick): the output phase's time and peak RSS."""
    base = os.environ.get("VK_BENCH_BASELINE")
    n = 48000 if not quick else 8000
    pairs = 1 if quick else 3
    arms = {"concurrent_64": "{type: concurrent, target_concurrent_sessions: 64, rampup_seconds: 0}",
            "poisson_4000": "{type: rate, interval_generator: {type: poisson, arrival_rate: 4000}}"}
    out = {"requests": n, "pairs": pairs, "baseline": base}
    keys = ("run_cpu_s", "outputs_cpu_s", "outputs_wall_s", "process_cpu_s", "outputs_share_of_run_cpu")
    for name, traffic in arms.items():
        runs = {"new": [], "base": []}
        for i in range(pairs):
            order = [("new", veeksha), ("base", base)] if i % 2 == 0 else [("base", base), ("new", veeksha)]
            for tag, exe in order:
                if exe:
                    runs[tag].append(outputs_point(exe, traffic, n, 64))
        arm = {"runs": runs}
        for tag in ("new", "base"):
            if runs[tag]:
                arm[tag] = {k: statistics.median([r[k] for r in runs[tag] if r.get(k) is not None] or [0]) for k in keys}
        steps = {}
        for r in runs["new"]:
            for k, v in r["steps_cpu_s"].items():
                steps.setdefault(k, []).append(v)
        arm["new_steps_cpu_s_median"] = {k: statistics.median(v) for k, v in steps.items()}
        out[name] = arm
        for tag in ("new", "base"):
            if tag in arm:
                m = arm[tag]
                print("  %s %-4s: run CPU %.2f s, outputs CPU %.2f s (%.1f%% of the run), outputs wall %.2f s, whole process %.2f CPU-s" % (
                    name, tag, m["run_cpu_s"], m["outputs_cpu_s"], 100 * m["outputs_share_of_run_cpu"], m["outputs_wall_s"], m["process_cpu_s"]), flush=True)
    if not quick:
        big = outputs_point(veeksha, "{type: rate, interval_generator: {type: fixed, interval: 0.0001}}", 1000000, 4, sample_rss=True)
        out["one_million_4_tokens"] = big
        print("  1,000,000 requests: outputs CPU %.2f s, wall %.2f s; RSS at the run's end %.0f MB, peak while writing %.0f MB" % (
            big["outputs_cpu_s"] or 0, big["outputs_wall_s"] or 0, big.get("run_end_rss_mb") or 0, big.get("rss_mb_peak_writing_outputs") or 0), flush=True)
    return out


# ---------------------------------------------------------------- scenario: merge (issue 17 item 2)
def merge_cpu(veeksha, run_dir, out_dir):
    """CPU-s and wall-s of `veeksha merge` of run_dir's shards into out_dir (removed first)."""
    shutil.rmtree(out_dir, ignore_errors=True)
    t0 = time.time()
    p = subprocess.Popen([veeksha, "merge", "--quiet", "--no-report", "--output", out_dir, run_dir],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, VK_NO_PLOTS="1"))
    _, status, ru = os.wait4(p.pid, 0)
    return {"rc": os.waitstatus_to_exitcode(status), "cpu_s": ru.ru_utime + ru.ru_stime, "wall_s": time.time() - t0}


def scenario_merge(veeksha, quick):
    """The merge a threaded run ends with: one run of 48,000 requests (8,000 with --quick), 64-token
    outputs, 2 client threads, then `veeksha merge` of its shards, CPU-s per merge.
    VK_BENCH_BASELINE=<binary>: each merge also with that binary, in interleaved pairs (5; 2 with
    --quick), and the median of the per-pair ratios."""
    base = os.environ.get("VK_BENCH_BASELINE")
    n = 48000 if not quick else 8000
    pairs = 2 if quick else 5
    sim = Sim(veeksha, ["--mode", "zero"])
    tmp = tempfile.mkdtemp(prefix="vk-bench-merge-")
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        write_cfg(cfg, sim.api(), "{type: concurrent, target_concurrent_sessions: 64, rampup_seconds: 0}", 128, 64, n, 600,
                  threads=2)
        rc, _, _, _, run = run_client(veeksha, cfg, tmp, cpu="0-1")  # two loops need two CPUs
        sim.stop()
        shards = sorted(d for d in os.listdir(run) if d.startswith("shard-")) if run else []
        if len(shards) != 2:
            return {"rc": rc, "error": "the run wrote no 2 shard directories (%s)" % run}
        out = {"requests": n, "threads": 2, "pairs": pairs, "baseline": base, "new": [], "base": []}
        for i in range(pairs):
            order = [("new", veeksha), ("base", base)] if i % 2 == 0 else [("base", base), ("new", veeksha)]
            for tag, exe in order:
                if exe:
                    out[tag].append(merge_cpu(exe, run, os.path.join(tmp, "merged-" + tag)))
        for tag in ("new", "base"):
            if out[tag]:
                out[tag + "_cpu_s_median"] = statistics.median(r["cpu_s"] for r in out[tag])
        if base:
            out["ratio_median"] = statistics.median(a["cpu_s"] / b["cpu_s"] for a, b in zip(out["new"], out["base"]))
        print("  merge of %d requests, 2 shards: %.2f CPU-s%s" % (n, out["new_cpu_s_median"], (
            "; baseline %.2f CPU-s; per-pair ratio median x%.2f" % (out["base_cpu_s_median"], out["ratio_median"])) if base else ""), flush=True)
        return out
    finally:
        close_point(sim, tmp)


SCENARIOS = {"rate": scenario_rate, "tokens": scenario_tokens, "floor": scenario_floor, "fidelity": scenario_fidelity, "scale": scenario_scale,
             "endurance": scenario_endurance, "startup": scenario_startup, "components": scenario_components,
             "trace": scenario_trace, "scrape": scenario_scrape, "shards": scenario_shards, "outputs": scenario_outputs, "merge": scenario_merge}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--veeksha", default=os.path.join(ROOT, "build", "veeksha"))
    ap.add_argument("--quick", action="store_true", help="smaller, faster versions (smoke)")
    ap.add_argument("--threads", default="1,2", help="client-thread counts for the shards scenario (e.g. 1,2,4,8)")
    ap.add_argument("scenarios", nargs="*", default=["all"])
    a = ap.parse_args()
    THREADS[:] = [int(x) for x in a.threads.split(",") if x]
    names = list(SCENARIOS) if "all" in a.scenarios else a.scenarios
    os.makedirs(OUT, exist_ok=True)
    for n in names:
        print("== %s" % n, flush=True)
        t0 = time.time()
        r = SCENARIOS[n](os.path.abspath(a.veeksha), a.quick)
        r["_seconds"] = round(time.time() - t0, 1)
        r["_date"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
        r["_pinned"] = PIN
        json.dump(r, open(os.path.join(OUT, n + ".json"), "w"), indent=2)
        print(json.dumps(r, indent=2)[:3000], flush=True)


if __name__ == "__main__":
    main()
