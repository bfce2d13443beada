#!/usr/bin/env python3
"""Prints the results table from bench/out/*.json and rewrites the figures section of bench/RESULTS.md."""
import json, os, platform, subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")


def load(n):
    p = os.path.join(OUT, n + ".json")
    return json.load(open(p)) if os.path.exists(p) else None


def fmt(v, spec="%.3g"):
    return "-" if v is None else (spec % v if isinstance(v, (int, float)) else str(v))


# Quoted in issue 10 (Python Veeksha and vLLM's `bench serve` client against a zero-delay C mock).
PEER_VEEKSHA_PY = {"max_rate": 126, "cpu_ms_per_1000_tokens": 105, "lateness_p99_ms": 100, "req_per_s_64": 87, "ttfc_added_ms_64": 390}
PEER_VLLM = {"max_rate": 700, "cpu_ms_per_1000_tokens": (7.5, 9), "ttfc_added_ms_64": 100}


def peer_table(r, t, f):
    def x(ours, theirs, higher_better=True):
        if not ours or not theirs:
            return "-"
        return "{:,.0f}x".format(ours / theirs if higher_better else theirs / ours)
    out = ["| measure | veeksha (C) | Python Veeksha | vLLM `bench serve` | ahead of Python Veeksha / vLLM |", "|---|---|---|---|---|"]
    if r:
        best = r["output_64"]["max_rate_meeting_targets"]
        out.append("| highest Poisson rate held, 64-token outputs (req/s) | %s | ~%d | ~%d | %s / %s |" % (
            best, PEER_VEEKSHA_PY["max_rate"], PEER_VLLM["max_rate"], x(best, PEER_VEEKSHA_PY["max_rate"]), x(best, PEER_VLLM["max_rate"])))
        low = min(r["output_64"]["points"], key=lambda p: p["rate"])
        lp = low.get("lateness_p99_ms")
        out.append("| dispatch lateness p99 (ms; ours at %d req/s) | %s | ~%d | - | %s / - |" % (
            low["rate"], fmt(lp), PEER_VEEKSHA_PY["lateness_p99_ms"], x(lp, PEER_VEEKSHA_PY["lateness_p99_ms"], False)))
    c = (f or {}).get("client_added_ttfc_64") or {}
    if c.get("run_cpu_ms_per_1000_tokens"):
        cpu = c["run_cpu_ms_per_1000_tokens"]
        lo, hi = PEER_VLLM["cpu_ms_per_1000_tokens"]
        out.append("| client CPU per 1,000 tokens (ms; ours and vLLM's at 64 concurrent sessions, Python Veeksha's at its highest Poisson rate) | %s | ~%d | %s-%s | %s / %s-%s |" % (
            fmt(cpu), PEER_VEEKSHA_PY["cpu_ms_per_1000_tokens"], lo, hi, x(cpu, PEER_VEEKSHA_PY["cpu_ms_per_1000_tokens"], False),
            x(cpu, lo, False).rstrip("x"), x(cpu, hi, False)))
    if c.get("requests_per_s"):
        out.append("| requests/s at 64 concurrent sessions | %s | ~%d | - | %s / - |" % (
            fmt(c["requests_per_s"], "%.0f"), PEER_VEEKSHA_PY["req_per_s_64"], x(c["requests_per_s"], PEER_VEEKSHA_PY["req_per_s_64"])))
    if c.get("client_added_p50_ms"):
        a = c["client_added_p50_ms"]
        out.append("| client-added TTFC p50 at 64 sessions (ms) | %s | ~%d | ~%d | %s / %s |" % (
            fmt(a), PEER_VEEKSHA_PY["ttfc_added_ms_64"], PEER_VLLM["ttfc_added_ms_64"], x(a, PEER_VEEKSHA_PY["ttfc_added_ms_64"], False),
            x(a, PEER_VLLM["ttfc_added_ms_64"], False)))
    return out if len(out) > 2 else []


def main():
    lines = ["| # | scenario | measured | target | met |", "|---|---|---|---|---|"]
    r = load("rate")
    if r:
        for out, tgt in (("output_64", 5000), ("output_1", 10000)):
            best = r[out]["max_rate_meeting_targets"]
            rungs = ", ".join("%d: %s ms" % (p["rate"], fmt(p.get("lateness_p99_ms"))) for p in r[out]["points"])
            lines.append("| 1 | request rate capacity, %s-token outputs (rate within 2%%, lateness p99 < 1 ms; median of 3 runs per rate: %s) | %s req/s | >= %d req/s | %s |" % (
                out.split("_")[1], rungs, best, tgt, "yes" if best >= tgt else "no"))
    t = load("tokens")
    if t:
        a, b = t["a_coalesced"], t["b_per_token"]
        ra, rb = a.get("run_cpu_ms_per_1000_tokens"), b.get("run_cpu_us_per_token")
        lines.append("| 2a | client CPU per 1,000 tokens (1,000 sessions x 512 tokens, zero-delay): during the run / whole process incl. writing outputs | %s / %s ms | <= 1 ms | %s |" % (
            fmt(ra), fmt(a["cpu_ms_per_1000_tokens"]), "yes" if (ra or 9) <= 1 else "no"))
        lines.append("| 2b | client CPU per token (%d streams, ITL 20 ms): during the run / whole process | %s / %s us | <= 8 us | %s |" % (
            b["streams"], fmt(rb), fmt(b["cpu_us_per_token"]), "yes" if (rb or 99) <= 8 else "no"))
    fl = load("floor")
    if fl:
        for key, what in (("saturated_2000_itl20", "2b's load, ~100k chunks/s"),
                          ("unsaturated_1000_itl20", "~50k chunks/s")):
            x = fl.get(key)
            if x:
                lines.append("| 2c | client CPU per chunk against the floor client (bench/floor: one epoll event + one stamped recvmsg per read, nothing else), %d streams, ITL %d ms (%s); median of %d interleaved pairs | %s us vs floor %s us (x%s) | (info) | |" % (
                    x["streams"], x["itl_ms"], what, len(x["ours"]), fmt(x["ours_cpu_us_per_chunk"]), fmt(x["floor_cpu_us_per_chunk"]), fmt(x["ratio"], "%.2f")))
        x = fl.get("floor_fidelity_1000_itl10")
        if x and x.get("chunks"):
            j = x.get("fidelity") or {}
            lines.append("| 2c | the floor client at scenario 3's load (%d streams, TTFT 50 ms, ITL 10 ms, 128 tokens): abs(client - server) p50 / p99 / max, joined with the sim's emit log like veeksha's (%s us per chunk, loop busy %s, %s reads per chunk) | %s / %s / %s us | (info: what the machine allows) | |" % (
                x.get("conns", 0), fmt(x.get("cpu_us_per_chunk")), fmt(x.get("busy_fraction"), "%.2f"), fmt(x["reads"] / x["chunks"], "%.2f"),
                fmt(j.get("abs_diff_us_p50")), fmt(j.get("abs_diff_us_p99")), fmt(j.get("abs_diff_us_max"))))
    f = load("fidelity")
    if f:
        for p in f["points"]:
            itl = p.get("itl_ms", 10)
            extra = ""
            if p.get("chunks_per_s"):
                extra = " (%s chunks/s; sim behind its schedule p50 %s us; loop busy %s%s)" % (
                    fmt(p["chunks_per_s"], "%.0f"), fmt(p.get("sim_behind_schedule_us_p50"), "%.0f"), fmt(p.get("loop_busy_fraction"), "%.2f"),
                    "; client's read lag p99 %s us" % fmt(p["read_lag_us_p99"], "%.0f") if p.get("read_lag_us_p99") is not None else "")
            lines.append("| 3 | timing fidelity, %d streams, ITL %d ms: abs(client - server) p50 / p99 / max%s | %s / %s / %s us | p99 < 200 us at 1,000 (ITL 10 ms) | %s |" % (
                p["concurrency"], itl, extra, fmt(p["abs_diff_us_p50"]), fmt(p["abs_diff_us_p99"]), fmt(p["abs_diff_us_max"]),
                ("yes" if p["abs_diff_us_p99"] < 200 else "no") if p["concurrency"] == 1000 and itl == 10 else "(info)"))
        c = f["client_added_ttfc_64"]
        ca = c.get("client_added_p50_ms")
        lines.append("| 3 | client-added TTFC, 64 sessions, zero-delay server: p50 (send + receive path; raw TTFC p50) | %s ms (%s) | < 1 ms | %s |" % (
            fmt(ca), fmt(c["ttfc_p50_ms"]), "yes" if ca is not None and ca < 1 else "no"))
    s = load("scale")
    if s:
        lines.append("| 4 | %d concurrent streams (ITL 100 ms): errors, peak RSS | %s errors, %s MB | 0, < 300 MB | %s |" % (
            s["streams"], s["errors"], fmt(s["client_peak_rss_mb"], "%.0f"), "yes" if s["errors"] == 0 and s["client_peak_rss_mb"] < 300 else "no"))
    e = load("endurance")
    if e:
        lines.append("| 5 | %d requests at 10k/s%s: RSS at 10%% / 50%% / 100%% of the run (peak while writing outputs) | %s / %s / %s MB (%s MB) | flat | %s |" % (
            e["requests"], "" if e.get("kept_up_with_schedule", True) else " (fell behind its schedule: RSS includes the backlog)",
            fmt(e.get("rss_mb_at_10_pct"), "%.0f"), fmt(e.get("rss_mb_at_50_pct"), "%.0f"), fmt(e.get("rss_mb_at_100_pct"), "%.0f"),
            fmt(e.get("rss_mb_peak_writing_outputs"), "%.0f"),
            "yes" if e.get("rss_mb_at_100_pct") and e["rss_mb_at_100_pct"] < 1.25 * e["rss_mb_at_10_pct"] + 10 else "no"))
    st = load("startup")
    if st:
        lines.append("| 6 | start-up to first request (10,000 pre-generated sessions), median of %d | %s ms | < 100 ms | %s |" % (
            len(st["runs_ms"]), fmt(st["median_ms_to_first_request"]), "yes" if (st["median_ms_to_first_request"] or 1e9) < 100 else "no"))
    tr = load("trace")
    if tr:
        for k in ("scale_1.0", "scale_0.5"):
            v = tr.get(k) or {}
            lines.append("| 8 | trace timestamp replay at time scale %s: dispatch error p99, median of %d runs | %s ms | < 1 ms | %s |" % (
                k[6:], len(v.get("runs_dispatch_error_p99_ms") or []), fmt(v.get("dispatch_error_p99_ms")), "yes" if v.get("ok") else "no"))
    c = load("components")
    if c:
        for k, v in c.items():
            if not k.startswith("_") and k != "median_of_runs":
                lines.append("| 7 | %s | %s | | |" % (k, fmt(v, "%.4g")))
    peers = peer_table(r, t, f)
    if peers:
        lines += ["", "Against the Python peers: their figures are the ones measured on this kind of machine against a "
                  "zero-delay C mock with the same workloads, quoted by issue 10 (not measured here); ours are this run's.", ""] + peers
    table = "\n".join(lines)
    print(table)
    try:
        cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
    except Exception:
        cpu = platform.processor()
    head = "Machine: %s, %d CPUs, %s. Generated by `bench/run-all` (bench/out/*.json hold every figure).\n\n" % (
        cpu, os.cpu_count(), platform.platform())
    res = os.path.join(ROOT, "bench", "RESULTS.md")
    text = open(res).read() if os.path.exists(res) else "# Benchmark results\n\n<!-- figures -->\n<!-- /figures -->\n"
    start, end = text.find("<!-- figures -->"), text.find("<!-- /figures -->")
    if start >= 0 and end > start:
        text = text[:start] + "<!-- figures -->\n" + head + table + "\n" + text[end:]
        open(res, "w").write(text)


if __name__ == "__main__":
    main()
