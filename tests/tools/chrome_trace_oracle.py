#!/usr/bin/env python3
"""Recompute chrome_trace.json from request_level_metrics.jsonl the way the reference Veeksha does
(Python floats, json.dumps) and compare it byte for byte with the file veeksha wrote.
usage: chrome_trace_oracle.py RUN_DIR   (exit 0 = identical)"""
import json, os, sys


def expected(rows):
    if not rows:
        return []
    epoch = min(r["scheduler_dispatched_at"] for r in rows)
    events = []
    for i, r in enumerate(rows):
        tid = "R%d / %d / %d\u2192%d" % (i, r["session_id"], r["num_delta_prompt_tokens"], r["num_output_tokens"])
        start = (r["client_picked_up_at"] - epoch) * 1e6
        ttfc = r["ttfc"]
        events.append({"name": "Prefill", "cat": "prefill", "ph": "X", "ts": start, "dur": ttfc * 1e6, "pid": 1,
                       "tid": tid, "args": {"request_id": r["request_id"], "session_id": r["session_id"],
                                            "num_delta_prompt_tokens": r["num_delta_prompt_tokens"],
                                            "num_total_prompt_tokens": r["num_total_prompt_tokens"],
                                            "num_output_tokens": r["num_output_tokens"],
                                            "num_total_tokens": r["num_total_tokens"], "ttfc": ttfc,
                                            "tpot": r["tpot"], "end_to_end_latency": r["end_to_end_latency"],
                                            "output_throughput": r["output_throughput"]}})
        c = start + ttfc * 1e6
        if r["tbc"]:
            for j, g in enumerate(r["tbc"]):
                events.append({"name": "T%d" % (j + 1), "cat": "decode", "ph": "X", "ts": c, "dur": g * 1e6, "pid": 1,
                               "tid": tid, "args": {"token_index": j + 1, "tbc_s": g}})
                c += g * 1e6
        elif r["client_completed_at"] > r["client_picked_up_at"] + ttfc:
            events.append({"name": "Decode", "cat": "decode", "ph": "X", "ts": c,
                           "dur": (r["client_completed_at"] - r["client_picked_up_at"] - ttfc) * 1e6, "pid": 1,
                           "tid": tid, "args": {"num_output_tokens": r["num_output_tokens"]}})
    return events


def main():
    m = os.path.join(sys.argv[1], "metrics")
    rows = [json.loads(l) for l in open(os.path.join(m, "request_level_metrics.jsonl"))]
    rows = [r for r in rows if r.get("success", True)]  # failed rows have no trace events
    want = json.dumps(expected(rows))
    got = open(os.path.join(m, "chrome_trace.json"), encoding="utf-8").read()
    if got == want:
        print("chrome_trace.json identical to the reference computation (%d bytes)" % len(got))
        return 0
    k = next((i for i in range(min(len(got), len(want))) if got[i] != want[i]), min(len(got), len(want)))
    print("chrome_trace.json differs at byte %d:\n  got:  %r\n  want: %r" % (k, got[max(0, k - 80):k + 80], want[max(0, k - 80):k + 80]))
    return 1


if __name__ == "__main__":
    sys.exit(main())
