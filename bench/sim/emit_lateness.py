#!/usr/bin/env python3
"""Emit lateness of a sim-server --emit-log (fixed mode): for every chunk, server write time
(chunk_mono_ns) minus its schedule (chunk_sched_mono_ns = arrival + TTFT + i*ITL). Prints
percentiles in microseconds; exit 1 when p99 exceeds the bound (default 1000 us)."""
import json
import sys

path = sys.argv[1]
bound_us = float(sys.argv[2]) if len(sys.argv) > 2 else 1000.0
lat = []
reqs = 0
for line in open(path):
    r = json.loads(line)
    if r["status"] != 200:
        continue
    reqs += 1
    lat.extend(m - s for m, s in zip(r["chunk_mono_ns"], r["chunk_sched_mono_ns"]))
lat.sort()
n = len(lat)
if not n:
    print("no chunks")
    sys.exit(1)
pct = lambda q: lat[min(n - 1, int(q * (n - 1) + 0.5))] / 1e3
print(f"requests={reqs} chunks={n} lateness_us: min={lat[0]/1e3:.1f} p50={pct(0.5):.1f} p90={pct(0.9):.1f} "
      f"p99={pct(0.99):.1f} p99.9={pct(0.999):.1f} max={lat[-1]/1e3:.1f} early={sum(1 for x in lat if x < 0)}")
sys.exit(0 if pct(0.99) <= bound_us else 1)
