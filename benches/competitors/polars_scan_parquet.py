"""The mean Huber loss (δ = 1) of the pred and target columns of Parquet files (a glob) with
polars' lazy scan_parquet.

usage: polars_scan_parquet.py 'DIR/*.parquet'
"""
import sys

import polars as pl

delta = 1.0
d = (pl.col("pred") - pl.col("target")).abs()
huber = pl.when(d < delta).then(0.5 * d * d).otherwise(delta * (d - 0.5 * delta)).mean()
print(repr(pl.scan_parquet(sys.argv[1]).select(huber).collect().item()))
