"""A CSV file key,pred,target with KEYS distinct keys over 2 × KEYS rows (every key at least once,
in shuffled order), for the memory of --by with many groups.

usage: by_keys.py OUT.csv KEYS SEED
"""
import sys

import numpy as np
import polars as pl

from _common import commit

path, k, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(seed)
m = 2 * k
keys = np.concatenate([np.arange(k), rng.integers(0, k, m - k)])
rng.shuffle(keys)
t = rng.standard_normal(m).round(3)
frame = pl.DataFrame({"key": [f"customer-{i:07d}" for i in keys], "pred": (t + rng.standard_normal(m)).round(3),
                      "target": t})
with open(path + ".tmp", "wb") as f:
    frame.write_csv(f)
commit(path)
