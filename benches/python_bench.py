#!/usr/bin/env python3
"""The Python package's numbers (issue 21), side by side in one run, A and B alternating.

    python benches/python_bench.py --huber target/release/huber [--rounds 5] [--n 50000000]

Run it with a Python that has the package installed in release mode (`pip install .`) and numpy;
torch is measured when it is importable. Prints a Markdown table of medians and ratios:

1. huber_loss(p, t) on two float32 arrays of N elements in memory, against numpy's expression,
   torch.nn.functional.huber_loss on torch.from_numpy tensors, and the command line over the same
   data from NPY files; peak RSS above the two arrays (a child process per measurement);
2. per-call overhead on 4-element arrays, against torch;
3. the streaming Metric fed 1,000 batches of 50k elements, against one call over all of it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import json, resource, sys, time
import numpy as np
kind, n, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
p = np.load(path + "/p.npy", mmap_mode=None)
t = np.load(path + "/t.npy", mmap_mode=None)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if kind == "huber":
    import huber
    v = float(huber.huber_loss(p, t))
elif kind == "numpy":
    z = np.abs(p - t)
    v = float(np.where(z < 1.0, 0.5 * z * z, 1.0 * (z - 0.5 * 1.0)).mean())
elif kind == "torch":
    import torch
    v = float(torch.nn.functional.huber_loss(torch.from_numpy(p), torch.from_numpy(t)))
elif kind == "metric":
    import huber
    m = huber.Metric()
    for i in range(0, n, 50_000):
        m.update(p[i:i + 50_000], t[i:i + 50_000])
    v = float(m.compute())
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "extra_kib": peak - base, "value": v}))
"""

OVERHEAD = r"""
import sys, timeit
import numpy as np
kind = sys.argv[1]
p = np.array([0.5, -1.0, 2.0, 3.0], dtype=np.float32)
t = np.zeros(4, dtype=np.float32)
if kind == "huber":
    import huber
    f = lambda: huber.huber_loss(p, t)
else:
    import torch
    tp, tt = torch.from_numpy(p), torch.from_numpy(t)
    f = lambda: torch.nn.functional.huber_loss(tp, tt)
for _ in range(1000):
    f()
n = 20000
best = min(timeit.repeat(f, number=n, repeat=5)) / n
print(best * 1e6)
"""


def child(kind: str, n: int, path: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, kind, str(n), path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def cli(huber: str, path: str) -> float:
    start = time.perf_counter()
    subprocess.run([huber, "-p", f"{path}/p.npy", "-t", f"{path}/t.npy"], check=True, capture_output=True)
    return time.perf_counter() - start


def has(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode == 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--huber", required=True, help="the command line (release build)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=50_000_000)
    ap.add_argument("--dir", default=None, help="where to write the NPY files (default: a temp dir)")
    args = ap.parse_args()
    import numpy as np

    path = args.dir or tempfile.mkdtemp(prefix="huber-pybench-")
    if not os.path.exists(f"{path}/p.npy"):
        rng = np.random.default_rng(0)
        np.save(f"{path}/p.npy", rng.normal(size=args.n).astype(np.float32))
        np.save(f"{path}/t.npy", rng.normal(size=args.n).astype(np.float32))
    kinds = ["huber", "numpy"] + (["torch"] if has("torch") else [])
    times: dict[str, list[float]] = {k: [] for k in kinds + ["cli", "metric"]}
    extra: dict[str, list[int]] = {k: [] for k in kinds + ["metric"]}
    for _ in range(args.rounds):
        for k in kinds + ["metric"]:
            r = child(k, args.n, path)
            times[k].append(r["seconds"])
            extra[k].append(r["extra_kib"])
        times["cli"].append(cli(args.huber, path))
    med = {k: statistics.median(v) for k, v in times.items() if v}
    print(f"| {args.n:,} float32 elements in memory | median s | huber's time ÷ this | extra peak RSS (MiB) |")
    print("|---|---|---|---|")
    names = {"huber": "huber.huber_loss", "numpy": "numpy expression", "torch": "torch F.huber_loss",
             "cli": "command line (NPY files)", "metric": "huber.Metric, batches of 50k"}
    for k in kinds + ["cli", "metric"]:
        rss = f"{max(extra[k]) / 1024:.1f}" if k in extra else "–"
        print(f"| {names[k]} | {med[k]:.4f} | {med['huber'] / med[k]:.3f} | {rss} |")
    print()
    print(f"huber vs numpy: {med['numpy'] / med['huber']:.1f}× faster"
          + (f"; vs torch: {med['torch'] / med['huber']:.1f}× faster" if "torch" in med else "")
          + f"; huber ÷ command line: {med['huber'] / med['cli']:.2f}; metric ÷ one call: {med['metric'] / med['huber']:.2f}")
    for k in ["huber"] + (["torch"] if "torch" in kinds else []):
        us = [float(subprocess.run([sys.executable, "-c", OVERHEAD, k], capture_output=True, text=True, check=True).stdout) for _ in range(3)]
        print(f"per-call overhead, 4 elements, {k}: {min(us):.2f} µs")


if __name__ == "__main__":
    main()
