#!/usr/bin/env python3
"""The client's own footprint against a previous binary, in interleaved pairs (issue 17).

    bench/footprint.py --baseline OLD/veeksha [--candidate build/veeksha] [--pairs 3] [--quick]
    bench/footprint.py --baseline-rev REV ...   (builds REV in bench/out/baseline-REV first)
    bench/footprint.py ... --aa                  (the baseline a second time in every pair)

For each pair and each point, the baseline and the candidate run back to back (the order
alternates between pairs), so a drift of this VM's speed hits both alike; every figure is the
median over the pairs, and the ratio is the median of the per-pair ratios.

--aa runs the baseline binary a second time in every pair (the three runs rotate their order) and
prints, next to each candidate/baseline ratio, the same ratio for the baseline against itself and the
range of the per-pair ratios. On this project's VM a p99 from a few thousand dispatches moves by
tens of percent between two runs of one binary, so a candidate's ratio says something only where it
lies outside what the baseline does against itself (bench/RESULTS.md, issue 17).

Points:
  rate R      Poisson arrivals at R req/s, 64-token outputs, zero-delay sim: client cores during
              the run (run_cpu_s / run_wall_s), the part spent staying awake before dispatches
              (run_loop_spin_s), dispatch lateness p50/p99, whole-process CPU.
  tokens      1,000 concurrent sessions x 512 tokens, zero-delay sim: CPU per 1,000 output tokens
              during the run and for the whole process (including writing the outputs).
Writes bench/out/footprint.json. VK_BENCH_RT=1 runs the sim and the client at SCHED_FIFO (see
bench.py), which keeps other work on a shared machine from preempting them.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def rate_run(veeksha, rate, seconds):
    r = bench.rate_point(veeksha, rate, 64, seconds)
    u = r.get("client_usage") or {}
    out = {"ok": r.get("errors") == 0 and "lateness_p99_ms" in r,
           "lateness_p50_ms": r.get("lateness_p50_ms"), "lateness_p99_ms": r.get("lateness_p99_ms"),
           "process_cpu_s": r.get("client_cpu_s"), "run_cpu_s": r.get("run_cpu_s"),
           "spin_cpu_s": r.get("run_loop_spin_s"), "outputs_cpu_s": r.get("outputs_cpu_s"),
           "requests": r.get("requests"),
           # to the ns (the rows round to 10 us); only binaries from issue 17 on write them
           "lateness_p99_us_exact": u.get("dispatch_lateness_us_p99"),
           "lateness_p999_us_exact": u.get("dispatch_lateness_us_p999"),
           "spin_window_us": u.get("dispatch_spin_window_us"), "spin_busy_us": u.get("dispatch_spin_busy_us"),
           "wake_short_p999_us": u.get("wake_lateness_short_us_p999"),
           "wake_long_p999_us": u.get("wake_lateness_long_us_p999")}
    if r.get("run_cpu_s") is not None and u.get("run_wall_s"):
        wall = u["run_wall_s"]
        out["client_cores"] = r["run_cpu_s"] / wall
        out["spin_cores"] = (r.get("run_loop_spin_s") or 0) / wall
    return out


def tokens_run(veeksha, quick):
    sim = bench.Sim(veeksha, ["--mode", "zero"])
    tmp = tempfile.mkdtemp(prefix="vk-bench-fp-")
    try:
        cfg = os.path.join(tmp, "cfg.yml")
        n = 1000 if quick else 2000
        bench.write_cfg(cfg, sim.api(), "{type: concurrent, target_concurrent_sessions: 1000, rampup_seconds: 0}",
                        64, 512, n, 120, trace=False)
        rc, cpu, rss, _, run = bench.run_client(veeksha, cfg, tmp)
        if rc != 0 or not run:
            return {"ok": False, "rc": rc}
        tokens = sum(r["num_output_tokens"] for r in bench.rows(run))
        u = bench.usage(run)
        return {"ok": tokens > 0, "tokens": tokens, "process_cpu_s": cpu,
                "process_cpu_ms_per_1000_tokens": cpu * 1e3 / (tokens / 1000),
                "run_cpu_ms_per_1000_tokens": u["run_cpu_s"] * 1e3 / (tokens / 1000),
                "outputs_cpu_s": u.get("outputs_cpu_s"), "run_cpu_s": u.get("run_cpu_s"),
                "peak_rss_mb": rss / 1024}
    finally:
        bench.close_point(sim, tmp)


def build_rev(rev):
    """Builds revision rev (RelWithDebInfo) in a worktree under bench/out; returns its binary."""
    sha = subprocess.check_output(["git", "-C", bench.ROOT, "rev-parse", "--short", rev], text=True).strip()
    tree = os.path.join(bench.OUT, "baseline-" + sha)
    if not os.path.isdir(tree):
        subprocess.check_call(["git", "-C", bench.ROOT, "worktree", "add", "--detach", tree, sha])
    subprocess.check_call(["cmake", "-S", tree, "-B", os.path.join(tree, "build"), "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
                          stdout=subprocess.DEVNULL)
    subprocess.check_call(["cmake", "--build", os.path.join(tree, "build"), "-j2", "--target", "veeksha"],
                          stdout=subprocess.DEVNULL)
    return os.path.join(tree, "build", "veeksha")


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio_stats(den, num):
    """The median of the per-pair ratios num/den and their [min, max] (None where no pair has both)."""
    ratios = [y / x for x, y in zip(den, num) if x and y is not None]
    return med(ratios), ([min(ratios), max(ratios)] if ratios else None)


def fmt_range(r):
    return " [%.3g-%.3g]" % (r[0], r[1]) if r else ""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", help="the previous binary")
    ap.add_argument("--baseline-rev", help="a git revision to build as the baseline (git worktree + cmake)")
    ap.add_argument("--candidate", default=os.path.join(bench.ROOT, "build", "veeksha"))
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--rates", default="1000,3000,5000")
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--aa", action="store_true", help="also run the baseline against itself (noise floor)")
    a = ap.parse_args()
    if a.baseline_rev:
        a.baseline = build_rev(a.baseline_rev)
    if not a.baseline:
        ap.error("give --baseline BINARY or --baseline-rev REV")
    bins = {"baseline": os.path.abspath(a.baseline), "candidate": os.path.abspath(a.candidate)}
    arms = ["baseline", "candidate"]
    if a.aa:
        bins["baseline_again"] = bins["baseline"]
        arms.append("baseline_again")
    rates = [int(x) for x in a.rates.split(",") if x]
    points = ["rate %d" % r for r in rates] + ["tokens"]
    runs = {p: {who: [] for who in arms} for p in points}
    t0 = time.time()
    for i in range(a.pairs):
        order = arms[i % len(arms):] + arms[:i % len(arms)]
        for p in points:
            for who in order:
                if p == "tokens":
                    r = tokens_run(bins[who], a.quick)
                else:
                    r = rate_run(bins[who], int(p.split()[1]), 3 if a.quick else a.seconds)
                runs[p][who].append(r)
                print("pair %d %-10s %-14s %s" % (i + 1, p, who, json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()})), flush=True)
    summary = {}
    for p in points:
        keys = sorted({k for who in runs[p] for r in runs[p][who] for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
        s = {}
        for k in keys:
            b = [r.get(k) for r in runs[p]["baseline"]]
            c = [r.get(k) for r in runs[p]["candidate"]]
            ratio, ratio_range = ratio_stats(b, c)
            s[k] = {"baseline": med(b), "candidate": med(c), "ratio": ratio, "ratio_range": ratio_range}
            if a.aa:
                aa_ratio, aa_range = ratio_stats(b, [r.get(k) for r in runs[p]["baseline_again"]])
                s[k].update({"aa_ratio": aa_ratio, "aa_range": aa_range})
        summary[p] = s
    out = {"baseline": bins["baseline"], "candidate": bins["candidate"], "pairs": a.pairs, "aa": a.aa,
           "rt": bench.RT, "pinned": bench.PIN, "seconds": round(time.time() - t0, 1),
           "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "summary": summary, "runs": runs}
    os.makedirs(bench.OUT, exist_ok=True)
    json.dump(out, open(os.path.join(bench.OUT, "footprint.json"), "w"), indent=2)
    print("\nmedians of %d interleaved pairs (baseline -> candidate, median per-pair ratio [range]%s)"
          % (a.pairs, "; the baseline against itself" if a.aa else ""))
    for p in points:
        for k, v in summary[p].items():
            if v["baseline"] is None and v["candidate"] is None:
                continue
            line = "  %-10s %-32s %10.4g -> %-10.4g x%-6.3g%s" % (p, k, v["baseline"] or 0, v["candidate"] or 0,
                                                               v["ratio"] or 0, fmt_range(v["ratio_range"]))
            if a.aa:
                line += "   A/A x%-6.3g%s" % (v["aa_ratio"] or 0, fmt_range(v["aa_range"]))
            print(line)


if __name__ == "__main__":
    main()
