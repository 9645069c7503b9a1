"""A batch of N float32 256 × 256 images as pred and target NPY files, shape (N, 256, 256),
written 50 samples at a time.

usage: axis.py PRED.npy TARGET.npy N SEED
"""
import sys

import numpy as np

from _common import commit

p_path, t_path, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(seed)
shape = (n, 256, 256)
pm = np.lib.format.open_memmap(p_path + ".tmp", mode="w+", dtype=np.float32, shape=shape)
tm = np.lib.format.open_memmap(t_path + ".tmp", mode="w+", dtype=np.float32, shape=shape)
for s in range(0, n, 50):
    e = min(n, s + 50)
    target = rng.random((e - s, 256, 256), dtype=np.float32) * np.float32(10)
    tm[s:e] = target
    pm[s:e] = target + rng.standard_normal((e - s, 256, 256), dtype=np.float32)
pm.flush()
tm.flush()
del pm, tm
commit(p_path, t_path)
