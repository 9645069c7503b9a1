"""The mean Huber loss (δ = 1) of a CSV file's pred and target columns with pandas.

usage: pandas_csv.py FILE.csv
"""
import sys

import numpy as np
import pandas as pd

delta = 1.0
df = pd.read_csv(sys.argv[1], usecols=["pred", "target"])
d = (df["pred"] - df["target"]).abs().to_numpy()
print(repr(float(np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)).mean())))
