#!/usr/bin/env python3
"""huber.dask's numbers (issue 22), side by side in one run, A and B alternating.

    python benches/dask_bench.py --huber target/release/huber [--rounds 5] [--dir DIR]

Needs the package (release build), dask[distributed], pandas and pyarrow. Measures on a
LocalCluster of 2 worker processes:

1. 8 Parquet shards, 10M rows in all: huber.dask.huber_loss over dd.read_parquet columns, against
   Dask's own expression of the Huber mean over the same frame, and the command line over the
   same files (a glob, one process), and Dask's floor: the same graph (8 partitions by
   dd.from_map, one ddf.reduction) with functions that do nothing;
2. per-partition overhead: 1,000 partitions of 1,000 elements, huber.dask against Dask's own
   da.sum(p - t), the difference divided by the partitions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time


# Seconds of quiet before each timed case (not timed).
SETTLE = 0.3


def _nothing(i):
    import pandas as pd

    return pd.DataFrame({"pred": [float(i)]})


def _count(frame):
    return len(frame)


def _total(counts):
    return sum(counts)


def shards(path: str, rows: int, k: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    for i in range(k):
        n = rows // k
        pd.DataFrame({
            "pred": rng.normal(size=n).astype(np.float32),
            "target": rng.normal(size=n).astype(np.float32),
        }).to_parquet(f"{path}/part-{i}.parquet")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--huber", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    import dask.array as da
    import dask.dataframe as dd
    import numpy as np
    from distributed import Client, LocalCluster

    import huber.dask

    path = args.dir or tempfile.mkdtemp(prefix="huber-daskbench-")
    if not os.path.exists(f"{path}/part-0.parquet"):
        shards(path, args.rows, 8)
    client = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None))

    def ours():
        ddf = dd.read_parquet(f"{path}/*.parquet")
        return float(huber.dask.huber_loss(ddf["pred"], ddf["target"]).compute().value)

    def theirs():
        ddf = dd.read_parquet(f"{path}/*.parquet")
        z = (ddf["pred"] - ddf["target"]).abs()
        return float(z.where(z >= 1.0, 0.5 * z * z).where(z < 1.0, z - 0.5).mean().compute())

    def cli():
        out = subprocess.run([args.huber, "-p", f"{path}/*.parquet:pred", "-t", f"{path}/*.parquet:target"],
                             capture_output=True, text=True, check=True)
        import numpy as np

        return float(np.float32(out.stdout))  # float32 results print in float32's shortest form

    def floor():
        # Dask's own cost of the graph huber.dask builds over the 8 files: 8 partitions read
        # by dd.from_map, a ddf.reduction to one value optimized when built (as huber.dask's
        # is), with functions that do nothing.
        ddf = dd.read_parquet(f"{path}/*.parquet")
        parts = dd.from_map(_nothing, range(8), meta=ddf._meta[["pred"]])
        return float(parts.reduction(chunk=_count, combine=_total, aggregate=_total).optimize().compute())

    p = np.random.default_rng(1).normal(size=1_000_000)
    t = np.random.default_rng(2).normal(size=1_000_000)
    pa, ta = da.from_array(p, chunks=1000), da.from_array(t, chunks=1000)

    def ours_small():
        return huber.dask.huber_loss(pa, ta).compute().value

    def theirs_small():
        return float(da.sum(pa - ta).compute())

    cases = {"huber.dask": ours, "Dask's own expression": theirs, "command line (glob)": cli,
             "Dask's floor: the same 9 tasks doing nothing": floor,
             "huber.dask, 1,000 partitions": ours_small, "da.sum(p - t), 1,000 partitions": theirs_small}
    times: dict[str, list[float]] = {k: [] for k in cases}
    # The Parquet trio and the 1,000-partition pair alternate among themselves, in two loops, each
    # warmed just before it (imports in the workers, page cache): the scheduler is still
    # forgetting a thousand tasks for a while after the pair, which would be counted against
    # whatever ran next.
    for group in (list(cases)[:4], list(cases)[4:]):
        for name in group:
            cases[name]()
        for _ in range(args.rounds):
            for name in group:
                # Each case starts on a settled cluster: the workers and the scheduler go on
                # releasing the last case's tasks and frames for a while after it returns, and
                # that would be charged to whichever case ran next.
                time.sleep(SETTLE)
                start = time.perf_counter()
                cases[name]()
                times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"| {args.rows:,} rows in 8 Parquet shards, LocalCluster of 2 processes | median s | huber.dask ÷ this |")
    print("|---|---|---|")
    for k in ("huber.dask", "Dask's own expression", "command line (glob)",
              "Dask's floor: the same 9 tasks doing nothing"):
        print(f"| {k} | {med[k]:.3f} | {med['huber.dask'] / med[k]:.2f} |")
    over = (med["huber.dask, 1,000 partitions"] - med["da.sum(p - t), 1,000 partitions"]) / 1000
    print(f"\n1,000 partitions of 1,000: huber.dask {med['huber.dask, 1,000 partitions']:.3f} s, "
          f"da.sum(p - t) {med['da.sum(p - t), 1,000 partitions']:.3f} s: {over * 1e3:.3f} ms a partition beyond Dask's own")
    print(f"same value: {abs(ours() - theirs()) < 1e-6}, {ours() == cli()}")
    client.close()


if __name__ == "__main__":
    main()
