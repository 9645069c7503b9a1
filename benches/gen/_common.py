"""Shared by the generators: chunked residual data and atomic NPY writing."""
import os

import numpy as np

CHUNK = 1 << 22  # elements per generated chunk: bounded memory at any size


def residual_chunks(n, seed, dtype=np.float32, chunk=CHUNK):
    """(pred, target) chunks: target ~ N(0, 1), pred = target + N(0, 0.5²) with 1 % outliers
    whose noise is 20× larger, so both branches of the Huber loss are taken."""
    rng = np.random.default_rng(seed)
    half, twenty = dtype(0.5), dtype(20)
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        t = rng.standard_normal(m, dtype=dtype)
        noise = rng.standard_normal(m, dtype=dtype) * half
        noise[rng.random(m) < 0.01] *= twenty
        yield t + noise, t


def npy_writer(path, dtype, shape):
    f = open(path, "wb")
    np.lib.format.write_array_header_1_0(
        f, {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape})
    return f


def commit(*paths):
    """Moves each PATH.tmp to PATH: a file is either complete or absent."""
    for path in paths:
        os.replace(path + ".tmp", path)
