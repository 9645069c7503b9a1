#!/usr/bin/env python3
"""Runs two huber binaries over the same commands and reports every difference in what they print.

    benches/tools/compare_outputs.py OLD NEW [--data DIR]

The commands: every conformance, analysis, CSV and hostile-file case of fixtures/ (with the
fixture's own arguments), the breakdowns over fixtures/breakdowns and fixtures/columnar, each in
text, JSON, CSV and NPY where it applies, at -j 1, 2 and 7; with --data, also the benchmark files
of benches/benchsuite in that folder. Stdout, stderr and the exit status must match byte for byte.
A refactoring that changes no behaviour passes it; the exit status is 1 on any difference.
"""

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "fixtures")


def manifest(name):
    with open(os.path.join(FIX, name)) as f:
        return json.load(f)


def loss_args(case):
    args = ["-l", case["loss"]]
    if case.get("delta") is not None:
        args += ["-d", repr(case["delta"])]
    if case.get("beta") is not None:
        args += ["-b", repr(case["beta"])]
    return args


def commands(data_dir):
    """(cwd, args, stdin bytes) for every case."""
    out = []
    for case in manifest("conformance/manifest.json") + manifest("analysis/manifest.json"):
        if "pred" not in case or "target" not in case:
            continue
        base = ["-p", case["pred"], "-t", case["target"], *loss_args(case)]
        base += ["-r", case.get("reduction", "mean")]
        if case.get("kind") == "grad":
            base.append("--grad")
        for w in [case.get("weight")] if case.get("weight") else []:
            base += ["-w", w]
        for fmt in ["json", "text"]:
            out.append((ROOT, base + ["-f", fmt], None))
    csv_dir = os.path.join(FIX, "csv")
    for case in manifest("csv/manifest.json"):
        out.append((csv_dir, case["args"], None))
    bad_dir = os.path.join(FIX, "bad", "files")
    for case in manifest("bad/cases.json"):
        stdin = None
        if case.get("stdin"):
            with open(os.path.join(bad_dir, case["stdin"]), "rb") as f:
                stdin = f.read()
        out.append((bad_dir, case["args"], stdin))
    bd = os.path.join(FIX, "breakdowns")
    breakdowns = [
        ["-p", "pred.npy", "-t", "target.npy", "--axis", "1,2"],
        ["-p", "pred.npy", "-t", "target.npy", "--axis", "0", "-d", "0.5,2"],
        ["-p", "pred.npy", "-t", "target.npy", "-w", "weight.npy", "-r", "weighted-mean"],
        ["-p", "pred.npy", "-t", "target.npy", "-w", "weight.npy", "-r", "weighted-mean", "--axis", "-1"],
        ["-p", "pred.npy", "-t", "target.npy", "--by", "labels.npy"],
        ["-p", "pred.npy", "-t", "target.npy", "--top", "5", "-d", "0.5,1"],
        ["-p", "top_nan_pred.npy", "-t", "top_nan_target.npy", "--top", "7"],
        ["-p", "sales.csv:pred", "-t", "sales.csv:target", "--by", "sales.csv:store", "-r", "sum"],
        ["-p", "sales.csv:pred", "-t", "sales.csv:target", "--top", "3"],
        ["-p", "pred.npy", "-t", "target.npy", "-d", "auto"],
        ["-p", "pred.npy", "-t", "target.npy", "--grad", "-r", "mean", "--nan", "omit"],
    ]
    for args in breakdowns:
        for fmt in ["text", "json", "csv"]:
            out.append((bd, args + ["-f", fmt], None))
    col = os.path.join(FIX, "columnar")
    for name in sorted(os.listdir(col)):
        if name.endswith((".parquet", ".arrow", ".arrows", ".feather", ".ipc")):
            for key in ["x", "y"]:
                out.append((col, ["-p", f"{name}:{key}", "-t", f"{name}:y", "-f", "json"], None))
    if data_dir:
        d = data_dir
        for args in [
            ["-p", f"{d}/p.npy", "-t", f"{d}/t.npy", "-f", "json"],
            ["-p", f"{d}/by.csv:pred", "-t", f"{d}/by.csv:target", "--by", f"{d}/by.csv:store", "-f", "json"],
            ["-p", f"{d}/d.csv:pred", "-t", f"{d}/d.csv:target", "-f", "json"],
        ]:
            out.append((ROOT, args, None))
    return out


def run(binary, cwd, args, stdin, threads):
    p = subprocess.run(
        [binary, *args, "-j", str(threads)],
        cwd=cwd,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        timeout=600,
    )
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--data", help="a benchsuite data folder, for the large files too")
    a = ap.parse_args()
    old, new = os.path.abspath(a.old), os.path.abspath(a.new)
    cases = [(c, t) for c in commands(a.data) for t in (1, 2, 7)]

    def compare(item):
        (cwd, args, stdin), threads = item
        # Merge has no -j; the bad cases that run merge are compared without it.
        extra = 0 if args and args[0] == "merge" else threads
        if extra == 0:
            r = [subprocess.run([b, *args], cwd=cwd, input=stdin or b"", capture_output=True, timeout=600) for b in (old, new)]
            ra, rb = [(p.returncode, p.stdout, p.stderr) for p in r]
        else:
            ra, rb = run(old, cwd, args, stdin, threads), run(new, cwd, args, stdin, threads)
        return None if ra == rb else (args, threads, ra, rb)

    with ThreadPoolExecutor(max_workers=2) as pool:
        diffs = [d for d in pool.map(compare, cases) if d]
    for args, threads, ra, rb in diffs[:20]:
        print(f"DIFFERS (-j {threads}): huber {' '.join(args)}")
        print(f"  old: status {ra[0]}, stdout {ra[1][:200]!r}, stderr {ra[2][:200]!r}")
        print(f"  new: status {rb[0]}, stdout {rb[1][:200]!r}, stderr {rb[2][:200]!r}")
    print(f"{len(cases)} runs of each binary, {len(diffs)} differ")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
