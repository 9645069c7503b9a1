"""A JSON Lines file of N rows {"id":…,"store":…,"pred":…,"target":…}, written by polars'
write_ndjson with values rounded to 7 decimals (as csv_numeric.py writes them): about 76 bytes a
row, so 10M rows take about 760 MB.

usage: jsonl.py OUT.jsonl N SEED
"""
import sys

import numpy as np
import polars as pl

from _common import commit, residual_chunks

path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path + ".tmp", "wb") as f:
    start = 0
    for p, t in residual_chunks(n, seed, dtype=np.float64):
        m = len(p)
        ids = np.arange(start, start + m)
        df = pl.DataFrame({
            "id": ids,
            "store": [f"store-{i % 1000:04d}" for i in ids],
            "pred": np.round(p, 7),
            "target": np.round(t, 7),
        })
        f.write(df.write_ndjson().encode())
        start += m
commit(path)
