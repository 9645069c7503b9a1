"""A Parquet file of N rows: an id string column and float64 pred and target, zstd, in row groups
of 1Mi rows as pyarrow writes them.

usage: parquet.py OUT.parquet N SEED
"""
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from _common import commit

path, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(seed)
schema = pa.schema([("id", pa.string()), ("pred", pa.float64()), ("target", pa.float64())])
with pq.ParquetWriter(path + ".tmp", schema, compression="zstd") as w:
    step = 1 << 20
    for start in range(0, n, step):
        m = min(step, n - start)
        t = rng.standard_normal(m)
        p = t + rng.standard_normal(m) * 0.5
        ids = pa.array([f"sample-{i:09d}" for i in range(start, start + m)])
        w.write_table(pa.table({"id": ids, "pred": p, "target": t}, schema=schema))
commit(path)
