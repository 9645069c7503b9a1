"""A CSV file id,date,pred,target of N rows, as pandas writes an evaluation frame: the id holds a comma
(so it is quoted) and every tenth a doubled quote.

usage: csv_quoted.py OUT.csv N SEED
"""
import sys

import numpy as np
import polars as pl

from _common import commit

path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
CHUNK = 1 << 20
rng = np.random.default_rng(seed)
days = pl.Series(["2024-%02d-%02d" % (1 + k % 12, 1 + k % 28) for k in range(336)])
with open(path + ".tmp", "wb") as f:
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        t = rng.standard_normal(m, dtype=np.float32)
        p = t + rng.standard_normal(m, dtype=np.float32) * np.float32(0.5)
        i = np.arange(start, start + m)
        ids = pl.Series([f'shop "{k}", aisle' if k % 10 == 0 else f"shop {k}, aisle" for k in i])
        pl.DataFrame({"id": ids, "date": days[i % 336], "pred": p, "target": t}).write_csv(
            f, include_header=(start == 0), float_precision=7)
commit(path)
