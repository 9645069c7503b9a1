"""The mean Huber loss (δ = 1) of a CSV file's pred and target columns with polars.

usage: polars_csv.py FILE.csv
"""
import sys

import polars as pl

delta = 1.0
df = pl.read_csv(sys.argv[1], columns=["pred", "target"])
d = (pl.col("pred") - pl.col("target")).abs()
print(repr(df.select(pl.when(d < delta).then(0.5 * d * d).otherwise(delta * (d - 0.5 * delta)).mean()).item()))
