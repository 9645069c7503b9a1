#!/usr/bin/env python3
"""Two versions of huber.dask against each other and the command line, in one cluster, the three
alternating, each in each place in turn (so that a change's effect is not lost in the machine's drift).

    python benches/dask_ab.py --huber target/release/huber --other OLD.py [--rounds 40] [--dir DIR]

OLD.py is another version of python/huber/dask.py (e.g. `git show REV:python/huber/dask.py`);
it is copied into the installed package as huber._dask_other for the run, so that the worker
processes import it too, and removed after. The data are benches/dask_bench.py's: 8 Parquet shards,
10M rows, read with dd.read_parquet; prints the medians and each version's ratio to the command line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time

SETTLE = 0.3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--huber", required=True)
    ap.add_argument("--other", required=True, help="the other version of huber/dask.py")
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    import huber
    import huber.dask

    from dask_bench import shards

    path = args.dir or tempfile.mkdtemp(prefix="huber-daskbench-")
    if not os.path.exists(f"{path}/part-0.parquet"):
        shards(path, 10_000_000, 8)
    other = os.path.join(os.path.dirname(huber.__file__), "_dask_other.py")
    shutil.copyfile(args.other, other)
    try:
        import huber._dask_other

        client = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None))

        def lazy(module):
            def run():
                ddf = dd.read_parquet(f"{path}/*.parquet")
                return module.huber_loss(ddf["pred"], ddf["target"]).compute()
            return run

        def cli():
            subprocess.run([args.huber, "-p", f"{path}/*.parquet:pred", "-t", f"{path}/*.parquet:target"],
                           capture_output=True, check=True)

        cases = {"huber.dask (this)": lazy(huber.dask), "huber.dask (other)": lazy(huber._dask_other),
                 "command line (glob)": cli}
        assert cases["huber.dask (this)"]() == cases["huber.dask (other)"]()
        for run in cases.values():
            for _ in range(3):
                run()
        times: dict[str, list[float]] = {k: [] for k in cases}
        names = list(cases)
        for r in range(args.rounds):
            # Each case in each place in turn, so that none is always the one after the command
            # line (or after the other version).
            for name in names[r % 3:] + names[:r % 3]:
                run = cases[name]
                time.sleep(SETTLE)
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
        client.close()
    finally:
        os.remove(other)
    med = {k: statistics.median(v) for k, v in times.items()}
    cli_s = med["command line (glob)"]
    print(f"| {args.rounds} rounds, alternating, order rotated | median s | ÷ command line |")
    print("|---|---|---|")
    for k, v in med.items():
        print(f"| {k} | {v:.4f} | {v / cli_s:.2f} |")


if __name__ == "__main__":
    main()
