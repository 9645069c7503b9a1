"""A CSV file pred,target of N rows, written by polars with 7 decimals (7–9 significant digits).

usage: csv_numeric.py OUT.csv N SEED
"""
import sys

import polars as pl

from _common import commit, residual_chunks

path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path + ".tmp", "wb") as f:
    for i, (p, t) in enumerate(residual_chunks(n, seed)):
        pl.DataFrame({"pred": p, "target": t}).write_csv(f, include_header=(i == 0), float_precision=7)
commit(path)
