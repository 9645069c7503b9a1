"""A dataset folder of K Parquet shards holding N rows in all: an id string column and float64
pred and target, zstd, as parquet.py writes one file (part-00000.parquet, ...).

usage: parquet_shards.py OUT_DIR N K SEED
"""
import os
import shutil
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

out, n, k, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(seed)
schema = pa.schema([("id", pa.string()), ("pred", pa.float64()), ("target", pa.float64())])
tmp = out + ".tmp"
shutil.rmtree(tmp, ignore_errors=True)
os.makedirs(tmp)
per = -(-n // k)
for s in range(k):
    first, last = s * per, min(n, (s + 1) * per)
    with pq.ParquetWriter(os.path.join(tmp, f"part-{s:05d}.parquet"), schema, compression="zstd") as w:
        step = 1 << 20
        for start in range(first, last, step):
            m = min(step, last - start)
            t = rng.standard_normal(m)
            p = t + rng.standard_normal(m) * 0.5
            ids = pa.array([f"sample-{i:09d}" for i in range(start, start + m)])
            w.write_table(pa.table({"id": ids, "pred": p, "target": t}, schema=schema))
shutil.rmtree(out, ignore_errors=True)
os.rename(tmp, out)
