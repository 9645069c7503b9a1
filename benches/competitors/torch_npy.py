"""The mean Huber loss (δ = 1) of two NPY files with PyTorch's huber_loss.

usage: torch_npy.py PRED.npy TARGET.npy
"""
import sys

import numpy as np
import torch
import torch.nn.functional as F

p = torch.from_numpy(np.load(sys.argv[1]))
t = torch.from_numpy(np.load(sys.argv[2]))
print(repr(F.huber_loss(p, t, reduction="mean", delta=1.0).item()))
