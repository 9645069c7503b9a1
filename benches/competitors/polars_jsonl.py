"""The mean Huber loss (δ = 1) of a JSON Lines file's pred and target fields with polars' read_ndjson.

usage: polars_jsonl.py FILE.jsonl
"""
import sys

import polars as pl

delta = 1.0
df = pl.read_ndjson(sys.argv[1])
d = (pl.col("pred") - pl.col("target")).abs()
print(repr(df.select(pl.when(d < delta).then(0.5 * d * d).otherwise(delta * (d - 0.5 * delta)).mean()).item()))
