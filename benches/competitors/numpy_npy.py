"""The mean Huber loss (δ = 1) of two NPY files with numpy, in the files' dtype.

usage: numpy_npy.py PRED.npy TARGET.npy
"""
import sys

import numpy as np

p, t = np.load(sys.argv[1]), np.load(sys.argv[2])
delta, half = p.dtype.type(1.0), p.dtype.type(0.5)
d = np.abs(p - t)
print(repr(float(np.where(d < delta, half * d * d, delta * (d - half * delta)).mean())))
