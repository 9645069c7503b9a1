"""A CSV file store,pred,target of N rows over 1000 stores, some names holding the delimiter and
quotes (written quoted), numbers with 16–17 significant digits as polars and pandas write them.

usage: by_stores.py OUT.csv N SEED
"""
import sys

import numpy as np
import polars as pl

from _common import commit

path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
CHUNK = 1 << 21
rng = np.random.default_rng(seed)
names = np.array([f"store {i:04d}" if i % 7 else f'Store, {i:04d} "x"' for i in range(1000)])
with open(path + ".tmp", "wb") as f:
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        target = rng.standard_normal(m)
        pred = target + rng.standard_normal(m) * 0.5
        pl.DataFrame({"store": names[rng.integers(0, 1000, m)], "pred": pred, "target": target}).write_csv(
            f, include_header=(start == 0))
commit(path)
