"""pred and target NPY files of N elements of DTYPE (float32 or float64), written in chunks.

usage: npy_pair.py PRED.npy TARGET.npy N DTYPE SEED
"""
import sys

import numpy as np

from _common import commit, npy_writer, residual_chunks

p_path, t_path, n, dtype, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), np.dtype(sys.argv[4]).type, int(sys.argv[5])
with npy_writer(p_path + ".tmp", dtype, (n,)) as fp, npy_writer(t_path + ".tmp", dtype, (n,)) as ft:
    for p, t in residual_chunks(n, seed, dtype):
        fp.write(p.tobytes())
        ft.write(t.tobytes())
commit(p_path, t_path)
